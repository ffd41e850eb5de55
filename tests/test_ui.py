"""Lineage as analysts meet it: `dagster-webserver` on a free localhost port after one real nightly run, checked
through Dagster's GraphQL API and in headless Chromium (Debian's /usr/bin/chromium driven by Playwright).

Raw source assets feed the dbt staging models, which feed the intermediate model, the marts (with their GX and dbt
checks) and the published release — one unbroken graph. Screenshots go under the test's tmp_path."""

import json
import os
import re
import urllib.parse
from pathlib import Path

import pytest

from ui_support import (
    ASSET_NODES_QUERY,
    dangling_dependencies,
    dependency_map,
    downstream_of,
    expected_dbt_checks,
    graphql,
    missing_edges,
    on_paths,
    pipeline_with_instance,
    start_webserver,
    upstream_of,
)

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 2560, "height": 2560}  # big enough that the graph renders full asset cards, not minimal ones
UI_TIMEOUT_MS = 120_000  # a loaded 2-core machine: the first page compiles GraphQL queries and lays out the graph

RAW_CENSUS = "raw/census_pupils"
RELEASE = "published/send_reporting"
CENSUS_CHAIN = [
    RAW_CENSUS,
    "staging/stg_census__pupils",
    "intermediate/int_census_pupils_profiled",
    "marts/fct_send_primary_need",
    RELEASE,
]
# One raw asset of each of the other sources (see dbt_project/models/staging/*/_*__sources.yml).
OTHER_SOURCES_RAW = [
    "raw/disability_register",
    "raw/placements",
    "raw/ehcna_requests",
    "raw/finance_high_needs",
    "raw/population_estimates",
    "raw/dfe_ehcp_caseload",
]
GX_CHECK = ("marts/fct_send_provision", "gx_census_totals")


# --- the pure graph helpers catch a broken lineage ----------------------------------------------------------------

TOY = {"raw/a": set(), "staging/a": {"raw/a"}, "marts/m": {"staging/a"}, "raw/b": set(), "published/r": {"marts/m"}}


def test_missing_edges_names_the_broken_link():
    assert missing_edges(TOY, ["raw/a", "staging/a", "marts/m", "published/r"]) == []
    broken = {**TOY, "marts/m": set()}
    assert missing_edges(broken, ["raw/a", "staging/a", "marts/m", "published/r"]) == ["staging/a -> marts/m"]


def test_on_paths_is_empty_when_nothing_connects_source_and_target():
    assert on_paths(TOY, "raw/a", "published/r") == {"raw/a", "staging/a", "marts/m", "published/r"}
    assert on_paths(TOY, "raw/b", "published/r") == set()
    assert on_paths({**TOY, "marts/m": set()}, "raw/a", "published/r") == set()


def test_dangling_dependency_is_reported():
    assert dangling_dependencies(TOY) == {}
    # a dbt source without meta.dagster.asset_key shows up as a key that no asset defines
    assert dangling_dependencies({**TOY, "staging/a": {"census/census_pupils"}}) == {
        "staging/a": {"census/census_pupils"}
    }


def test_expected_dbt_checks_follow_models_and_source_keys():
    manifest = {
        "sources": {"source.p.census.census_pupils": {"config": {"meta": {"dagster": {"asset_key": ["raw", "c"]}}}}},
        "nodes": {
            "model.p.stg_c": {"resource_type": "model", "name": "stg_c"},
            "test.p.not_null_stg_c_x": {
                "resource_type": "test",
                "name": "not_null_stg_c_x",
                "attached_node": "model.p.stg_c",
                "depends_on": {"nodes": ["model.p.stg_c"]},
            },
            "test.p.source_not_null_c_y": {
                "resource_type": "test",
                "name": "source_not_null_c_y",
                "attached_node": None,
                "depends_on": {"nodes": ["source.p.census.census_pupils"]},
            },
        },
    }
    assert expected_dbt_checks(manifest, ["raw/c", "staging/stg_c"]) == {
        "staging/stg_c": {"not_null_stg_c_x"},
        "raw/c": {"source_not_null_c_y"},
    }


# --- the real webserver -------------------------------------------------------------------------------------------


def browser_unavailable(reason: str):
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason}: CI must run the browser test (.ci/run installs Debian chromium with apt-get)")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser():
    """Headless Debian Chromium through Playwright (never `playwright install`). Module-scoped and requested first
    by the browser test so a machine without Chromium skips (or, in CI, fails) before the pipeline runs."""
    if not CHROMIUM.exists():
        browser_unavailable(f"{CHROMIUM} is missing")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        browser_unavailable("the playwright Python package is not installed")
    playwright = sync_playwright().start()
    try:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()
    finally:
        playwright.stop()


@pytest.fixture(scope="module")
def dagster_ui(tmp_path_factory):
    """One generated Rutland drop zone, one `send-pipeline run` on a persistent instance, one webserver."""
    root = tmp_path_factory.mktemp("ui")
    env = pipeline_with_instance(root)
    server = start_webserver(env, root)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def asset_nodes(dagster_ui) -> list[dict]:
    nodes = graphql(dagster_ui.base_url, ASSET_NODES_QUERY)["assetNodes"]
    assert nodes, dagster_ui.diagnostics()
    return nodes


def checks_of(node: dict) -> list[dict]:
    checks = node["assetChecksOrError"]
    assert checks["__typename"] == "AssetChecks", f"{node['assetKey']['path']}: {checks}"
    return checks["checks"]


def by_key(asset_nodes: list[dict]) -> dict[str, dict]:
    return {"/".join(node["assetKey"]["path"]): node for node in asset_nodes}


def test_graphql_census_lineage_runs_from_raw_file_to_published_release(asset_nodes):
    deps = dependency_map(asset_nodes)
    assert missing_edges(deps, CENSUS_CHAIN) == []
    assert RAW_CENSUS in upstream_of(deps, RELEASE)


def test_graphql_every_source_reaches_a_staging_model_and_nothing_dangles(asset_nodes):
    deps = dependency_map(asset_nodes)
    assert dangling_dependencies(deps) == {}
    raw_keys = {key for key in deps if key.startswith("raw/")}
    assert set(OTHER_SOURCES_RAW) <= raw_keys
    not_staged = {raw for raw in raw_keys if not any(k.startswith("staging/") for k in downstream_of(deps, raw))}
    assert not_staged == set()
    for raw in OTHER_SOURCES_RAW:
        feeds = {key for key, parents in deps.items() if raw in parents}
        assert any(key.startswith("staging/") for key in feeds), f"{raw} feeds no staging model directly: {feeds}"


def test_graphql_the_run_is_recorded_for_every_asset_and_check(asset_nodes):
    nightly = [node for node in asset_nodes if "nightly" in node["jobNames"]]
    assert {"/".join(node["assetKey"]["path"]) for node in nightly} == set(by_key(asset_nodes))
    assert [n["assetKey"]["path"] for n in nightly if not n["assetMaterializations"]] == []
    unpassed = [
        ("/".join(node["assetKey"]["path"]), check["name"], check["executionForLatestMaterialization"])
        for node in asset_nodes
        for check in checks_of(node)
        if (check["executionForLatestMaterialization"] or {}).get("status") != "SUCCEEDED"
    ]
    assert unpassed == []


def test_graphql_gx_check_is_a_blocking_check_on_the_provision_mart(asset_nodes):
    mart, check_name = GX_CHECK
    checks = {check["name"]: check for check in checks_of(by_key(asset_nodes)[mart])}
    assert check_name in checks, sorted(checks)
    assert checks[check_name]["blocking"] is True


def test_graphql_the_release_suites_are_checks_of_the_release(asset_nodes):
    names = {check["name"] for check in checks_of(by_key(asset_nodes)[RELEASE])}
    assert {"gx_published_counts", "gx_published_rates", "gx_published_ees", "gx_published_matches_marts"} <= names


def test_graphql_every_dbt_test_is_an_asset_check_on_its_asset(dagster_ui, asset_nodes):
    # the manifest the webserver loaded: dbt's own account of its tests and the models they test
    project = Path(dagster_ui.env["SEND_DBT_PROJECT_DIR"])
    manifest = json.loads((project / "target" / "manifest.json").read_text())
    nodes = by_key(asset_nodes)
    expected = expected_dbt_checks(manifest, nodes)
    assert {key.split("/")[0] for key in expected} >= {"raw", "staging", "intermediate", "marts"}
    actual = {key: {check["name"] for check in checks_of(node)} for key, node in nodes.items()}
    missing = {key: names - actual.get(key, set()) for key, names in expected.items() if names - actual.get(key, set())}
    assert missing == {}


# --- in the browser -----------------------------------------------------------------------------------------------


@pytest.fixture
def page(browser, dagster_ui):
    context = browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(UI_TIMEOUT_MS)
    try:
        yield context.new_page()
    finally:
        context.close()


def dismiss_community_dialog(page, base_url: str) -> None:
    """On a fresh DAGSTER_HOME the UI opens "Join the Dagster community" over the page about a second after load;
    the API says beforehand whether it will (shouldShowNux). Skip it, as a new user would."""
    if not graphql(base_url, "{ shouldShowNux }")["shouldShowNux"]:
        return
    dialog = page.get_by_role("dialog").filter(has_text="Join the Dagster community")
    dialog.get_by_role("button", name="Skip").click()
    dialog.wait_for(state="detached")


def graph_nodes(page):
    return page.locator("svg foreignObject")


def shown_names(page) -> set[str]:
    """Full names of the asset and group nodes the graph renders (cards carry them in data-tooltip)."""
    return set(graph_nodes(page).locator("[data-tooltip]").evaluate_all("els => els.map(e => e.dataset.tooltip)"))


def expand_all_groups(page) -> None:
    """The graph's settings menu (bottom right) toggles "Expand all groups" / "Collapse all groups"."""
    page.get_by_role("button").filter(has=page.locator('[aria-label="settings"]')).last.click()
    toggle = page.get_by_role("menuitem", name=re.compile("(Expand|Collapse) all groups"))
    if "Expand all groups" in toggle.inner_text():
        toggle.click()
    page.keyboard.press("Escape")  # the menu stays open after a click; close it so it does not cover the graph
    toggle.wait_for(state="detached")


def zoom_until_cards_show_full_names(page, name: str) -> None:
    """Zoomed far out, the graph draws minimal nodes with middle-truncated names; zoom in until full cards show."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    card = graph_nodes(page).locator(f'[data-tooltip="{name}"]').first
    for _ in range(8):
        try:
            card.wait_for(timeout=3_000)
            return
        except PlaywrightTimeout:
            page.get_by_role("button").filter(has=page.locator('[aria-label="zoom_in"]')).click()
    card.wait_for(timeout=10_000)


def test_lineage_in_the_browser(browser, dagster_ui, page, asset_nodes, tmp_path):
    base = dagster_ui.base_url
    nodes = by_key(asset_nodes)
    deps = dependency_map(asset_nodes)

    # 1. The global lineage page: one collapsed box per asset group, with its asset count ("17 assets" while
    # statuses load, then per-status counts; every asset is materialized, so the count is the same number).
    page.goto(f"{base}/asset-groups")
    dismiss_community_dialog(page, base)
    groups: dict[str, int] = {}
    for node in asset_nodes:
        groups[node["groupName"]] = groups.get(node["groupName"], 0) + 1
    graph_nodes(page).locator('[data-tooltip="published"]').first.wait_for()
    overview = tmp_path / "asset_groups.png"
    page.screenshot(path=str(overview))
    print(f"screenshot: {overview}")
    assert shown_names(page) == set(groups)
    for group, count in groups.items():
        box = graph_nodes(page).filter(has=page.locator(f'[data-tooltip="{group}"]'))
        assert re.search(rf"(?<!\d){count}(?!\d)", box.first.text_content()), (group, box.first.text_content())

    # 2. The same page filtered to every asset on a path from the census drop zone to the release: the UI's own
    # selection engine keeps only connected assets, so seeing both ends (and the layers between) shows the edges.
    selection = f'key:"{RAW_CENSUS}"+ and +key:"{RELEASE}"'
    page.goto(f"{base}/asset-groups~{urllib.parse.quote(selection, safe='')}/")
    graph_nodes(page).locator('[data-tooltip="published"]').first.wait_for()
    expand_all_groups(page)
    graph_nodes(page).filter(has_text="send_reporting").first.wait_for()
    zoom_until_cards_show_full_names(page, "send_reporting")
    lineage = tmp_path / "lineage.png"
    page.screenshot(path=str(lineage))
    print(f"screenshot: {lineage}")

    path_keys = on_paths(deps, RAW_CENSUS, RELEASE)
    assert set(CENSUS_CHAIN) <= path_keys
    expected = {key.split("/")[-1] for key in path_keys} | {nodes[key]["groupName"] for key in path_keys}
    assert shown_names(page) == expected
    assert {"census_pupils", "stg_census__pupils", "int_census_pupils_profiled", "fct_send_primary_need"} <= (
        shown_names(page)
    )

    # The mart's card reports its checks (GX + dbt tests), all passed, as many as the API lists.
    mart, check_name = GX_CHECK
    n_checks = len(checks_of(nodes[mart]))
    card = graph_nodes(page).filter(has=page.locator(f'[data-tooltip="{mart.split("/")[-1]}"]')).first
    card.get_by_text("Passed").first.wait_for(timeout=60_000)  # the card loads its check summary after drawing
    assert f"{n_checks} / {n_checks} Passed" in card.text_content()

    # 3. The GX check on its asset's Checks tab: blocking, passed in the run.
    page.goto(f"{base}/assets/{mart}?view=checks&checkDetail={check_name}")
    page.get_by_text("This is a blocking asset check.").wait_for()
    page.get_by_text("Passed", exact=True).first.wait_for()
    checks_shot = tmp_path / "gx_check.png"
    page.screenshot(path=str(checks_shot))
    print(f"screenshot: {checks_shot}")
    detail = page.locator("body").inner_text()
    assert check_name in detail and "Passed" in detail
