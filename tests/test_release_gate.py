"""The release step publishes only from assets whose blocking checks passed on their latest materialization.

A blocking check stops its downstream steps within the run that evaluates it; the release materialized on its own
(the UI's Materialize, `dagster asset materialize --select published/...`) would have published marts whose
census reconciliation (gx_census_totals) or error-severity dbt test had failed. The step now reads the latest
evaluations from the Dagster instance first. Evaluations here are reported to a real (temporary) instance.
"""

import dagster as dg
import pytest

from pipeline.definitions import defs
from pipeline.release import RELEASE_KEY, RELEASE_SOURCES, REPORT_KEY, unpassed_blocking_checks

from support import checks_passed_instance

GRAPH = defs.resolve_asset_graph()
CENSUS_TOTALS = dg.AssetCheckKey(dg.AssetKey(["marts", "fct_send_primary_need"]), "gx_census_totals")


def blocking_checks() -> list[dg.AssetCheckKey]:
    return [key for key in GRAPH.get_check_keys_for_assets(set(RELEASE_SOURCES)) if GRAPH.get_check_spec(key).blocking]


def materialize(instance, asset_key):
    instance.report_runless_asset_event(dg.AssetMaterialization(asset_key))


def evaluate(instance, key, passed=True, severity=dg.AssetCheckSeverity.ERROR):
    instance.report_runless_asset_event(
        dg.AssetCheckEvaluation(asset_key=key.asset_key, check_name=key.name, passed=passed, severity=severity)
    )


@pytest.fixture
def instance():
    """Every asset the release reads materialized, then every blocking check on them passed."""
    with checks_passed_instance() as instance:
        yield instance


def test_the_blocking_checks_read_are_the_census_totals_and_the_error_severity_dbt_tests():
    keys = blocking_checks()
    assert CENSUS_TOTALS in keys
    assert any(GRAPH.get_check_spec(key).metadata.get("dagster_dbt/unique_id") for key in keys)  # dbt tests
    assert all(key.asset_key in RELEASE_SOURCES for key in keys)


def test_passed_checks_on_the_latest_materializations_let_the_release_publish(instance):
    assert unpassed_blocking_checks(instance, GRAPH, RELEASE_SOURCES) == []
    evaluate(instance, CENSUS_TOTALS, passed=False, severity=dg.AssetCheckSeverity.WARN)  # a warning blocks nothing
    assert unpassed_blocking_checks(instance, GRAPH, RELEASE_SOURCES) == []


def test_a_failed_a_stale_or_a_missing_evaluation_is_named(instance):
    evaluate(instance, CENSUS_TOTALS, passed=False)
    dbt_test = next(key for key in blocking_checks() if key.asset_key == dg.AssetKey(["marts", "fct_ehcp_caseload"]))
    materialize(instance, dbt_test.asset_key)  # dbt replaced the mart; its test has not passed since
    stale = [
        f"{key.name} on marts/fct_ehcp_caseload: not evaluated since the asset's latest materialization (run )"
        for key in sorted(blocking_checks(), key=lambda key: key.name)
        if key.asset_key == dbt_test.asset_key
    ]
    assert unpassed_blocking_checks(instance, GRAPH, RELEASE_SOURCES) == [
        *stale,
        "gx_census_totals on marts/fct_send_primary_need: failed (run reported outside a run)",
    ]
    with dg.instance_for_test() as empty:
        assert "gx_census_totals on marts/fct_send_primary_need: no completed evaluation" in unpassed_blocking_checks(
            empty, GRAPH, RELEASE_SOURCES
        )


def test_the_release_materialized_alone_after_a_failed_reconciliation_publishes_nothing(
    instance, tmp_path, monkeypatch
):
    """As an operator would after reading "select its asset and Materialize": the step fails before it opens
    anything, naming the check and the mart, and the last release stays live."""
    monkeypatch.setenv("SEND_WAREHOUSE_DIR", str(tmp_path / "warehouse"))
    monkeypatch.setenv("SEND_RAW_DIR", str(tmp_path / "raw"))
    evaluate(instance, CENSUS_TOTALS, passed=False)
    result = defs.resolve_implicit_global_asset_job_def().execute_in_process(
        instance=instance, asset_selection=[RELEASE_KEY, REPORT_KEY], raise_on_error=False
    )
    assert not result.success
    [failure] = [event for event in result.all_events if event.is_step_failure]
    message = failure.step_failure_data.user_failure_data.description
    assert message.startswith("nothing published, the last release stays live: 1 blocking check(s)")
    assert "gx_census_totals on marts/fct_send_primary_need: failed" in message
    assert not (tmp_path / "warehouse" / "published").exists()
