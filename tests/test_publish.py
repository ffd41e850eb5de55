"""Publication: EES layout, primary + secondary suppression checked by an attacker, the pattern carried forward,
atomic swap; a failed check leaves the previous release byte-identical."""

import csv
import hashlib
import json
import re
import shutil
import signal
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from scipy.optimize import linprog

from pipeline import publish as publish_module
from pipeline import stop_signals
from pipeline.publish import PublicationError, check_frames, publish
from pipeline.suppression import SuppressionResult

PUBLISHED_TABLES_ALL = publish_module.PUBLISHED_TABLES
CENSUS_TABLES = ("send_primary_need", "send_provision", "send_school_residence", "send_characteristics", "send_trend")
NEEDS = ["MLD", "SLCN", "SEMH", "SPLD", "OTH", "ASD", "PD", "HI", "VI", "SLD", "MSI", "PMLD", "NSA"]
JANUARY_2022 = [169, 94, 147, 139, 16, 76, 12, 9, 8, 5, 3, 0, 57]  # the seed's table
HOME_LA = {"new_la_code": "E06000017", "old_la_code": "857", "la_name": "Rutland", "region_code": "E12000004",
           "region_name": "East Midlands"}  # fmt: skip


def internal_warehouse(path: Path, needs=JANUARY_2022, fsm=(37, 135)):
    """A send.duckdb with every mart the release publishes, small but shaped as dbt builds them."""
    con = duckdb.connect(str(path))
    con.execute("CREATE SCHEMA marts; CREATE SCHEMA staging; CREATE SCHEMA intermediate")
    spring = {"census_term": "Spring"}
    england = [20_000 * (i + 1) for i in range(len(NEEDS))]
    need = pd.DataFrame({"time_period": 202122, **spring, **HOME_LA, "primary_need": NEEDS, "pupils": needs,
                         "england_pupils": england, "england_sen_pupils": sum(england) + 21})  # fmt: skip
    provision = pd.DataFrame(
        {"time_period": 202223, **spring, "sen_provision": ["E", "K"], "pupils": [176, 629],
         "pupils_pupil_premium": [68, 229], "pupils_fsm": list(fsm)}
    )  # fmt: skip
    residence = pd.DataFrame(
        [(202223, "Spring", phase, provision, where, pupils) for phase, provision, where, pupils in [
            ("Primary", "E", "Resident", 79), ("Primary", "E", "Out of county", 11),
            ("Primary", "K", "Resident", 302), ("Primary", "K", "Out of county", 44),
            ("Primary", "N", "Resident", 2900), ("Primary", "N", "Out of county", 300),
            ("Secondary", "E", "Resident", 63), ("Secondary", "E", "Out of county", 23),
            ("Secondary", "K", "Resident", 145), ("Secondary", "K", "Out of county", 138),
            ("Secondary", "N", "Resident", 1700), ("Secondary", "N", "Out of county", 395)]],
        columns=["time_period", "census_term", "phase", "sen_provision", "residence", "pupils"],
    )  # fmt: skip
    characteristics = pd.DataFrame(
        [(202223, "Spring", provision, "sex", sex, pupils) for provision, sex, pupils in [
            ("E", "M", 120), ("E", "F", 56), ("K", "M", 411), ("K", "F", 218), ("N", "M", 2600), ("N", "F", 2695)]],
        columns=["time_period", "census_term", "sen_provision", "characteristic_group", "characteristic", "pupils"],
    )  # fmt: skip
    trend = pd.DataFrame(
        {"time_period": [202223, 202223, 202223], **spring, "sen_provision": ["E", "K", "SEN"],
         "pupils": [176, 629, 805], "roll": 6100, "england_pct_of_pupils_published": None}
    )  # fmt: skip
    la = pd.DataFrame(
        {"time_period": [202223], "geographic_level": ["Local authority"], "region_code": ["E12000004"],
         "region_name": ["East Midlands"], "new_la_code": ["E06000017"], "old_la_code": ["857"], "la_name": ["Rutland"]}
    )  # fmt: skip
    tables = {
        "marts.fct_send_primary_need": need, "marts.fct_send_provision": provision,
        "marts.fct_school_residence": residence, "marts.fct_send_characteristics": characteristics,
        "marts.fct_send_trend": trend, "staging.stg_dfe__ehcp_caseload": la,
        "intermediate.int_home_la_geography": pd.DataFrame([HOME_LA]),
    }  # fmt: skip
    for name, frame in tables.items():
        con.register("_frame", frame)
        con.execute(f"CREATE TABLE {name} AS SELECT * FROM _frame")
        con.unregister("_frame")
    return con


@pytest.fixture(autouse=True)
def census_tables_only(monkeypatch):
    """These tests build the census marts by hand; the other tables are published in the end-to-end test."""
    census = tuple(t for t in publish_module.PUBLISHED_TABLES if t.name in CENSUS_TABLES)
    monkeypatch.setattr(publish_module, "PUBLISHED_TABLES", census)


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def read_ees(folder: Path, table: str) -> list[dict]:
    with (folder / "ees" / f"{table}.csv").open(newline="") as handle:
        return list(csv.DictReader(handle))


def test_release_in_ees_format_is_suppressed_and_readable_read_only(tmp_path):
    release = publish(internal_warehouse(tmp_path / "send.duckdb"), tmp_path / "published", "857")
    with duckdb.connect(str(release.path), read_only=True) as reader:
        needs = dict(reader.execute("SELECT primary_need, pupils FROM reporting.send_primary_need").fetchall())
        release_row = reader.execute("SELECT release_id, suppression_summary FROM reporting.release").fetchone()
        ids = reader.execute("SELECT DISTINCT release_id FROM reporting.send_provision").fetchall()
    assert needs["MSI"] == "c" and needs["SLD"] == "c" and needs["PMLD"] == "0" and needs["Total"] == "735"
    assert needs["MLD"] == "169" and needs["MISSING"] == "0"  # England's pupils without a recorded need
    assert sum(v == "c" for v in needs.values()) >= 2
    assert release_row[0] == release.release_id and ids == [(release.release_id,)]
    summary = {row["table"]: row for row in json.loads(release_row[1])}
    assert summary["send_primary_need.pupils"]["suppressed"] == sum(v == "c" for v in needs.values())
    assert {name for row in summary.values() for name in row} == {"table", "cells", "suppressed"}  # never why
    rows = read_ees(tmp_path / "published", "send_primary_need")
    assert list(rows[0])[:10] == [
        "time_period", "time_identifier", "geographic_level", "country_code", "country_name", "region_code",
        "region_name", "new_la_code", "old_la_code", "la_name",
    ]  # fmt: skip
    assert rows[-1]["primary_need"] == "Total" and rows[0]["time_identifier"] == "Spring term"
    meta = (tmp_path / "published" / "ees" / "send_primary_need.meta.csv").read_text()
    assert "primary_need,Filter" in meta and "pupils,Indicator" in meta
    assert (tmp_path / "published").is_symlink()
    parquet = tmp_path / "published" / "parquet" / "send_provision.parquet"
    with duckdb.connect() as reader:  # each row says its release, as the DuckDB tables do
        assert reader.execute(f"SELECT DISTINCT release_id FROM '{parquet}'").fetchall() == [(release.release_id,)]
    assert not list((tmp_path / "releases").glob(".building-*"))


def independent_attack(
    rows: list[dict], filter_column: str, count: str, group_by: tuple[str, ...] = ("time_period", "time_identifier")
) -> dict[str, tuple[float, float]]:
    """An attacker written apart from the library: within each group, Total = sum of the other rows; every
    published figure fixed; every `c` (the Total too, when it is `c`) at least 0. Min and max of each `c` by linear
    programming (an unbounded maximum is infinite)."""
    found = {}
    for period in sorted({tuple(r[c] for c in group_by) for r in rows}):
        group = [r for r in rows if tuple(r[c] for c in group_by) == period]
        hidden = [r for r in group if r[count] == "c"]
        if not hidden:
            continue
        known = sum(int(r[count]) for r in group if r[count] != "c" and r[filter_column] != "Total")
        total = next(r for r in group if r[filter_column] == "Total")
        # sum(hidden parts) - (hidden total) = published total - published parts
        a_eq = np.array([[-1.0 if r[filter_column] == "Total" else 1.0 for r in hidden]])
        b_eq = [(0 if total[count] == "c" else int(total[count])) - known]
        for i, row in enumerate(hidden):
            objective = np.zeros(len(hidden))
            objective[i] = 1
            low = linprog(objective, A_eq=a_eq, b_eq=b_eq, bounds=(0, None), method="highs").fun
            top = linprog(-objective, A_eq=a_eq, b_eq=b_eq, bounds=(0, None), method="highs")
            high = np.inf if top.status == 3 else -top.fun
            found[f"{' '.join(period)} {row[filter_column]}"] = (low, high)
    return found


def test_an_independent_attacker_on_the_published_files_recovers_no_suppressed_cell(tmp_path):
    publish(internal_warehouse(tmp_path / "send.duckdb"), tmp_path / "published", "857")
    found = independent_attack(read_ees(tmp_path / "published", "send_primary_need"), "primary_need", "pupils")
    assert found  # there is something to attack
    assert all(high - low >= 5 for low, high in found.values()), found


def test_the_attacker_itself_sees_primary_only_suppression_as_unsafe(tmp_path):
    rows = [
        {"time_period": "202122", "time_identifier": "Spring term", "primary_need": n, "pupils": v}
        for n, v in [("MLD", "169"), ("MSI", "c"), ("Total", "172")]
    ]
    [(low, high)] = independent_attack(rows, "primary_need", "pupils").values()
    assert (low, high) == (3, 3)


def second_warehouse_without_history(monkeypatch) -> None:
    """A test that publishes a second hand-built warehouse beside the first one's release, to stand for new data:
    the refusal of a warehouse without the earlier releases' history (refuse_without_history) is off."""
    monkeypatch.setattr(publish_module, "refuse_without_history", lambda con, published: None)


def test_a_pattern_the_attacker_can_break_blocks_publication(tmp_path, monkeypatch):
    second_warehouse_without_history(monkeypatch)
    published = tmp_path / "published"
    first = publish(internal_warehouse(tmp_path / "a.duckdb"), published, "857")
    before = sha(first.path)
    real_suppress = publish_module.suppress

    def primary_only(tables, previous=(), **options):
        result = real_suppress(tables, previous=previous, **options)
        kept = {k: r for k, r in result.reasons.items() if r != "secondary"}
        return type(result)(reasons=kept, intervals={}, unresolved=(), dropped_from_previous=())

    monkeypatch.setattr(publish_module, "suppress", primary_only)
    one_small_need = [*JANUARY_2022[:9], 7, 3, 0, 57]  # SLD 7, MSI 3: MSI alone is recoverable from the total
    with pytest.raises(PublicationError, match="attacker"):
        publish(internal_warehouse(tmp_path / "b.duckdb", needs=one_small_need), published, "857")
    assert sha(first.path) == before
    assert not list((tmp_path / "releases").glob(".building-*"))


def test_a_public_figure_that_leaves_suppressed_cells_narrow_holds_them_to_what_it_leaves(tmp_path, monkeypatch):
    """DfE publishes the SEN total, 4, of two small needs (SLD 1, MSI 3): each is 0 to 4 whatever we hide. No pattern
    of ours can do better, so the release is held to that (it was blocked, every night, for DfE's figure)."""
    from pipeline.suppression.model import Cell, Table

    needs = [0] * len(NEEDS)
    needs[NEEDS.index("SLD")], needs[NEEDS.index("MSI")] = 1, 3
    internal = internal_warehouse(tmp_path / "b.duckdb", needs=needs)
    exact = publish_module.exact_frames(internal, publish_module.home_geography(internal, "857"))
    tables = publish_module.release_tables(publish_module.release_parts(exact))
    sen_total = ("pupils", "new_la_code=E06000017", "sen_provision=SEN", "time_identifier=Spring term",
                 "time_period=202122")  # fmt: skip
    assert tables.values[sen_total] == 4  # the cell of our release that DfE's figure is
    dfe = Table("public:dfe", (Cell(sen_total, 4, True),), public=True)
    monkeypatch.setattr(publish_module, "public_tables", lambda *args: ([dfe], {}))
    publish(internal, tmp_path / "published", "857")
    shown = {r["primary_need"]: r["pupils"] for r in read_ees(tmp_path / "published", "send_primary_need")}
    assert shown["SLD"] == shown["MSI"] == "c"
    guarded = publish_module.suppress_release(exact, frozenset(), public=[dfe]).result.intervals
    widths = {part: interval.width for key, interval in guarded.items() for part in key if "primary_need=" in part}
    assert widths["primary_need=SLD"] == widths["primary_need=MSI"] == 4


def test_a_cell_no_pattern_protects_blocks_publication(tmp_path, monkeypatch):
    """The guard in suppress_release: a cell the search leaves unresolved stops the release, naming it."""
    second_warehouse_without_history(monkeypatch)
    published = tmp_path / "published"
    first = publish(internal_warehouse(tmp_path / "a.duckdb"), published, "857")
    before = sha(first.path)
    real_suppress = publish_module.suppress

    def unresolved(tables, previous=(), **options):
        result = real_suppress(tables, previous=previous, **options)
        return type(result)(reasons=result.reasons, intervals={}, unresolved=tuple(sorted(result.reasons))[:2],
                            dropped_from_previous=())  # fmt: skip

    monkeypatch.setattr(publish_module, "suppress", unresolved)
    with pytest.raises(PublicationError, match=r"^2 suppressed cell\(s\) cannot be protected: "):
        publish(internal_warehouse(tmp_path / "b.duckdb"), published, "857")
    assert sha(first.path) == before
    assert not list((tmp_path / "releases").glob(".building-*"))


def test_the_release_carries_the_intervals_of_the_guards_attacker(tmp_path):
    from pipeline.suppression import verify

    internal = internal_warehouse(tmp_path / "a.duckdb")
    exact = publish_module.exact_frames(internal, publish_module.home_geography(internal, "857"))
    release = publish_module.suppress_release(exact, frozenset())
    assert release.result.intervals  # the small needs are suppressed
    assert release.result.intervals == verify(release.tables, release.result.suppressed).intervals


def test_a_broken_suppressor_is_caught_by_the_gx_suite_before_the_swap(tmp_path, monkeypatch):
    second_warehouse_without_history(monkeypatch)
    published = tmp_path / "published"
    first = publish(internal_warehouse(tmp_path / "a.duckdb"), published, "857")
    before = sha(first.path)

    monkeypatch.setattr(SuppressionResult, "published", lambda self, key, value: str(value))
    with pytest.raises(PublicationError, match="published_counts"):
        publish(internal_warehouse(tmp_path / "b.duckdb"), published, "857")
    assert sha(first.path) == before


class CommitFails:
    """send.duckdb's connection whose COMMIT fails, as it does when the disk is full or the process dies there."""

    def __init__(self, con):
        self._con = con

    def execute(self, sql, *args, **kwargs):
        if sql.strip().upper() == "COMMIT":
            raise duckdb.IOException("IO Error: No space left on device")
        return self._con.execute(sql, *args, **kwargs)

    def __getattr__(self, name):
        return getattr(self._con, name)


def test_a_release_is_never_live_without_its_pattern_and_figures_stored(tmp_path):
    """The next release's attacker knows only what publication.* holds: a release live with its pattern and
    figures rolled back would let a later release show a cell it hid, or count on hiding a figure it showed."""
    internal = internal_warehouse(tmp_path / "send.duckdb")
    published = tmp_path / "published"
    first = publish(internal, published, "857")
    with pytest.raises(duckdb.IOException):
        publish(CommitFails(internal), published, "857")
    live = published.resolve().name
    stored = {r[0] for r in internal.execute("SELECT DISTINCT release_id FROM publication.published_counts").fetchall()}
    assert live in stored, f"live release {live} has no stored figures (stored: {sorted(stored)})"
    assert live == first.release_id


def test_a_stop_signal_whose_exception_was_dropped_stops_publication_before_the_commit(tmp_path):
    """SIGTERM during the build, its exception swallowed by native code (CI, 3 December: the run published and
    exited 0): the build finishes, but nothing is committed or swapped in, and the last release stays live."""
    internal = internal_warehouse(tmp_path / "send.duckdb")
    published = tmp_path / "published"
    first = publish(internal, published, "857")
    stored = internal.execute("SELECT count(*) FROM publication.suppression_pattern").fetchone()

    def dropped(signum, frame):  # a library that caught the handler's exception and went on
        pass

    previous = signal.signal(signal.SIGTERM, dropped)
    try:
        with stop_signals.watching():
            signal.raise_signal(signal.SIGTERM)
            with pytest.raises(stop_signals.StopRequested):
                publish(internal, published, "857")
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert published.resolve().name == first.release_id
    assert internal.execute("SELECT count(*) FROM publication.suppression_pattern").fetchone() == stored
    assert [p.name for p in (tmp_path / "releases").iterdir()] == [first.release_id]


def test_no_suppressed_figure_is_stored_as_one_the_release_showed(tmp_path):
    """publication.published_counts is what the next release's attacker treats as already public: a suppressed
    cell's true value stored there would let the next release count it as known and stop protecting it."""
    internal = internal_warehouse(tmp_path / "send.duckdb")
    release = publish(internal, tmp_path / "published", "857")
    hidden = {r[0] for r in internal.execute(
        "SELECT cell_key FROM publication.suppression_pattern WHERE release_id = $r", {"r": release.release_id}
    ).fetchall()}  # fmt: skip
    shown = {r[0] for r in internal.execute(
        "SELECT cell_key FROM publication.published_counts WHERE release_id = $r", {"r": release.release_id}
    ).fetchall()}  # fmt: skip
    assert hidden and shown and hidden.isdisjoint(shown), sorted(hidden & shown)[:5]
    assert [r["pupils"] for r in read_ees(tmp_path / "published", "send_primary_need") if r["pupils"] == "c"]


def test_a_later_release_never_unsuppresses_a_cell_of_the_same_period(tmp_path):
    internal = internal_warehouse(tmp_path / "send.duckdb")
    publish(internal, tmp_path / "published", "857")
    replace_needs(internal, [*JANUARY_2022[:10], 7, 0, 57])  # MSI 3 -> 7 in a corrected extract
    second = publish(internal, tmp_path / "published", "857")
    with duckdb.connect(str(second.path), read_only=True) as reader:
        msi = reader.execute("SELECT pupils FROM reporting.send_primary_need WHERE primary_need = 'MSI'").fetchone()
    assert msi == ("c",)
    stored = internal.execute(
        "SELECT reason FROM publication.suppression_pattern WHERE release_id = $r AND cell_key LIKE '%MSI%'",
        {"r": second.release_id},
    ).fetchall()
    assert stored == [("carried_forward",)]


def replace_needs(internal: duckdb.DuckDBPyConnection, needs: list[int]) -> None:
    """A corrected primary-need extract for the same census."""
    internal.execute("DELETE FROM marts.fct_send_primary_need")
    frame = pd.DataFrame({"time_period": 202122, "census_term": "Spring", **HOME_LA, "primary_need": NEEDS,
                          "pupils": needs})  # fmt: skip
    internal.register("_corrected", frame)
    internal.execute("INSERT INTO marts.fct_send_primary_need BY NAME SELECT * FROM _corrected")
    internal.unregister("_corrected")


def test_a_cell_hidden_by_the_last_release_stays_hidden_in_the_next(tmp_path):
    """Rule 7 carries the last release's pattern forward, not the first's: ASD shown as 76, corrected to 2 (hidden),
    corrected again to 80, stays hidden; showing 80 beside the second release's other figures would be a new
    reading of the same census."""
    internal = internal_warehouse(tmp_path / "send.duckdb")
    shown = []
    for asd in (76, 2, 80):
        replace_needs(internal, [asd if need == "ASD" else n for need, n in zip(NEEDS, JANUARY_2022, strict=True)])
        release = publish(internal, tmp_path / "published", "857")
        with duckdb.connect(str(release.path), read_only=True) as reader:
            asd = "SELECT pupils FROM reporting.send_primary_need WHERE primary_need = 'ASD'"
            shown += reader.execute(asd).fetchone()
    assert shown == ["76", "c", "c"]


def test_a_pattern_that_drops_a_cell_the_last_release_hid_blocks_publication(tmp_path, monkeypatch):
    """The guard of rule 7 in suppress_release: a suppressor that ignores the earlier pattern stops the release."""
    from pipeline.suppression import suppress as real_suppress

    internal = internal_warehouse(tmp_path / "send.duckdb")
    publish(internal, tmp_path / "published", "857")
    replace_needs(internal, [*JANUARY_2022[:10], 7, 0, 57])  # MSI 3 -> 7: hidden before, may not be shown now
    ignoring_previous = lambda tables, previous, **options: real_suppress(tables, **options)  # noqa: E731
    monkeypatch.setattr(publish_module, "suppress", ignoring_previous)
    with pytest.raises(PublicationError, match=r"cell\(s\) an earlier release hid would be shown \(rule 7\): pupils"):
        publish(internal, tmp_path / "published", "857")


@pytest.mark.parametrize(
    "column",
    ["upn", "UPN", "pupil_id", "person_id", "register_id", "child_dob", "date_of_birth", "home_postcode", "surname",
     "forename"],
)  # fmt: skip
def test_identifier_columns_block_publication(column):
    """The census's UPN, the register's person and register ids, a date of birth, a postcode or a name: any column
    named as one stops the release, whichever extract it came from."""
    frame = pd.DataFrame({"time_period": ["202223"], column: ["abc"], "pupils": ["12"]})
    with pytest.raises(PublicationError, match=f"identifier column.*{column}"):
        check_frames({"send_primary_need": frame})


def test_abandoned_builds_are_cleared_and_old_releases_pruned(tmp_path):
    published = tmp_path / "published"
    (tmp_path / "releases" / ".building-crashed").mkdir(parents=True)
    internal = internal_warehouse(tmp_path / "a.duckdb")
    ids = [publish(internal, published, "857").release_id for _ in range(5)]
    assert sorted(p.name for p in (tmp_path / "releases").iterdir()) == ids[-3:]
    assert published.resolve().name == ids[-1]


def test_a_published_folder_from_an_older_layout_is_replaced_by_the_link(tmp_path):
    published = tmp_path / "published"
    published.mkdir()
    (published / "send_reporting.duckdb").write_bytes(b"old layout")
    release = publish(internal_warehouse(tmp_path / "a.duckdb"), published, "857")
    assert published.is_symlink() and published.resolve().name == release.release_id


def test_an_unknown_home_la_is_an_error(tmp_path):
    with pytest.raises(PublicationError, match="LA 999"):
        publish(internal_warehouse(tmp_path / "a.duckdb"), tmp_path / "published", "999")


def test_a_published_number_that_differs_from_its_mart_blocks_publication(tmp_path, monkeypatch):
    second_warehouse_without_history(monkeypatch)
    published = tmp_path / "published"
    first = publish(internal_warehouse(tmp_path / "a.duckdb"), published, "857")
    before = sha(first.path)
    real = SuppressionResult.published

    def off_by_one_total(self, key, value):
        text = real(self, key, value)
        return str(int(text) + 1) if text.isdigit() and int(text) > 700 else text

    monkeypatch.setattr(SuppressionResult, "published", off_by_one_total)
    with pytest.raises(PublicationError, match="published_matches_marts"):
        publish(internal_warehouse(tmp_path / "b.duckdb"), published, "857")
    assert sha(first.path) == before


def test_percentages_follow_rule_5_once_the_counts_are_suppressed(tmp_path):
    """A percentage is `c` when its count is `c` (else count = percentage x published total gives it back); the
    England comparison is DfE's own and published in full; the shares of published counts are exact."""
    publish(internal_warehouse(tmp_path / "send.duckdb", fsm=(3, 135)), tmp_path / "published", "857")
    need = read_ees(tmp_path / "published", "send_primary_need")
    total = next(r for r in need if r["primary_need"] == "Total")
    suppressed = [r for r in need if r["pupils"] == "c"]
    assert suppressed and all(r["pct_of_sen_pupils"] == "c" for r in suppressed)
    for row in need:
        if row["pupils"] != "c":
            assert row["pct_of_sen_pupils"] == f"{100 * int(row['pupils']) / int(total['pupils']):.1f}"
        england = 100 * int(row["england_pupils"]) / int(total["england_pupils"])
        assert row["england_pct_of_sen_pupils"] == (f"{england:.1f}" if round(england, 1) else "low")
    provision = {r["sen_provision"]: r for r in read_ees(tmp_path / "published", "send_provision")}
    assert provision["E"]["pupils_fsm"] == "c" and provision["E"]["pct_fsm"] == "c"
    assert provision["K"]["pupils_fsm"] == "c" and provision["K"]["pct_fsm"] == "c"  # secondary: E + K = Total
    assert provision["K"]["pct_pupil_premium"] == f"{100 * 229 / 629:.1f}"
    meta = (tmp_path / "published" / "ees" / "send_provision.meta.csv").read_text()
    assert "pct_fsm,Indicator,Percentage eligible for free school meals,,%,1" in meta


RUTLAND_SPRING_2023 = {
    "time_period": ["202223"], "time_identifier": ["Spring term"], "geographic_level": ["Local authority"],
    "country_code": ["E92000001"], "country_name": ["England"], "region_code": ["E12000004"],
    "region_name": ["East Midlands"], "new_la_code": ["E06000017"], "old_la_code": ["857"], "la_name": ["Rutland"],
}  # fmt: skip


def provision_frame(**changes) -> pd.DataFrame:
    """One published row of send_provision, as EES has it."""
    return pd.DataFrame({
        **RUTLAND_SPRING_2023, "sen_provision": ["E"], "pupils": ["176"], "pupils_pupil_premium": ["68"],
        "pupils_fsm": ["37"], "pct_pupil_premium": ["38.6"], "pct_fsm": ["21.0"],
    }).assign(**changes)  # fmt: skip


def primary_need_frame(**changes) -> pd.DataFrame:
    """One published row of send_primary_need, as EES has it."""
    return pd.DataFrame({
        **RUTLAND_SPRING_2023, "primary_need": ["MLD"], "pupils": ["57"], "pct_of_sen_pupils": ["24.1"],
        "england_pupils": ["330000"], "england_pct_of_sen_pupils": ["21.6"],
    }).assign(**changes)  # fmt: skip


def test_a_percentage_outside_0_to_100_blocks_the_release():
    check_frames({"send_provision": provision_frame()})
    with pytest.raises(PublicationError, match="pct_fsm"):
        check_frames({"send_provision": provision_frame(pct_fsm="121.0")})


def test_a_passing_release_is_validated_once_per_kind_of_cell():
    checked = check_frames({"send_provision": provision_frame(), "send_primary_need": primary_need_frame()})
    assert [name for name, _ in checked] == [
        "release_count_cells", "release_percentage_cells", "release_percentage_rule_5", "release_ees_cells"
    ]  # fmt: skip
    assert all(result.success for _, result in checked)


def test_a_failed_count_names_its_table_and_column_not_its_value():
    frames = {"send_provision": provision_frame(), "send_primary_need": primary_need_frame(pupils="3")}
    with pytest.raises(PublicationError) as failed:
        check_frames(frames)
    message = str(failed.value)
    assert "send_primary_need: published_counts" in message and "(pupils)" in message
    assert "send_provision:" not in message and "'3'" not in message
    assert {name for name, _ in failed.value.checks} >= {"release_count_cells", "send_primary_need", "send_provision"}


@pytest.mark.parametrize(
    ("table", "column", "value"),
    [("send_primary_need", "pupils", 3), ("send_primary_need", "pupils", np.int64(57)),
     ("send_primary_need", "pct_of_sen_pupils", 24.1)],
)  # fmt: skip
def test_a_count_or_percentage_published_as_a_number_not_text_blocks_the_release(table, column, value):
    """Published figures are text (rule 8): a count 3 stored as a number passed the checks of its text (not "1" to
    "5", a whole number), unsuppressed. The failure names the table and column, never the value."""
    frames = {"send_provision": provision_frame(), "send_primary_need": primary_need_frame(**{column: value})}
    with pytest.raises(PublicationError) as failed:
        check_frames(frames)
    message = str(failed.value)
    assert f"{table}: published_counts" in message and f"expect_column_values_to_be_of_type({column})" in message
    assert str(value) not in message and "send_provision:" not in message


def need_with_total(pupils: str, pct: str, total: str = "176", total_pct: str = "100.0") -> pd.DataFrame:
    """Two published rows of send_primary_need: a need and the Total its percentage is of."""
    return pd.concat(
        [primary_need_frame(pupils=pupils, pct_of_sen_pupils=pct),
         primary_need_frame(primary_need="Total", pupils=total, pct_of_sen_pupils=total_pct, england_pupils="1527000",
                            england_pct_of_sen_pupils="100.0")],
        ignore_index=True,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("frames", "column"),
    [({"send_provision": provision_frame(pupils_fsm="c")}, "send_provision.pct_fsm"),
     ({"send_provision": provision_frame(pupils="c", pupils_fsm="c", pct_fsm="c")}, "send_provision.pct_pupil_premium"),
     ({"send_primary_need": need_with_total("c", "24.1")}, "send_primary_need.pct_of_sen_pupils"),
     ({"send_primary_need": need_with_total("57", "24.1", total="c", total_pct="c")},
      "send_primary_need.pct_of_sen_pupils"),
     ({"send_primary_need": need_with_total("6", "75.0", total="8", total_pct="c")},  # of 8 children: too few
      "send_primary_need.pct_of_sen_pupils")],
)  # fmt: skip
def test_a_percentage_shown_beside_a_suppressed_count_or_whole_blocks_the_release(frames, column):
    """Rule 5: a percentage of a `c` count gives the count back (percentage x whole), one of a `c` whole gives the
    whole back (count / percentage). The failure says how many cells and where, never the percentage."""
    with pytest.raises(PublicationError) as failed:
        check_frames(frames)
    message = str(failed.value)
    assert (
        f"{column}: 1 percentage(s) shown beside a suppressed count or whole, or of too few children (rule 5)"
        in message
    )
    assert not {"21.0", "38.6", "24.1", "75.0"} & set(re.findall(r"\d+\.\d", message))
    # the GX suite that blocked it, in the Data Docs: how many cells, never which values
    [rule_5] = [result for name, result in failed.value.checks if name == "release_percentage_rule_5"]
    assert not rule_5.success and [o.unexpected_count for o in rule_5.failures] == [1]
    assert not {"21.0", "38.6", "24.1", "75.0"} & set(
        re.findall(r"\d+\.\d", json.dumps(rule_5.validation.to_json_dict()))
    )


def test_a_release_suppressed_as_rule_5_says_passes_the_gate():
    frames = {
        "send_provision": provision_frame(pupils_fsm="c", pct_fsm="c"),
        "send_primary_need": need_with_total("c", "c"),
    }
    assert all(result.success for _, result in check_frames(frames))
    frames = {"send_primary_need": need_with_total("57", "c", total="c", total_pct="c")}
    assert all(result.success for _, result in check_frames(frames))


def test_a_blank_ees_cell_or_an_empty_table_is_named_by_table_and_column():
    frames = {"send_provision": provision_frame(sen_provision=" "), "send_primary_need": primary_need_frame()}
    with pytest.raises(PublicationError, match=r"cell_value in send_provision\.sen_provision\) unexpected=1"):
        check_frames(frames)
    frames = {"send_provision": provision_frame(), "send_primary_need": primary_need_frame().iloc[0:0]}
    with pytest.raises(
        PublicationError, match=r"column_name in send_primary_need\.country_code, .*\.time_period\)"
    ) as e:
        check_frames(frames)
    assert "send_provision." not in str(e.value)  # the table with rows has every cell


def test_the_release_names_the_home_la_as_int_home_la_geography_does(tmp_path):
    """The release's geography columns are the row of the dbt model every mart's geography comes from (DfE's latest
    row for the LA, else the la_geography seed's: tests/test_home_la_geography.py), never a query of DfE's rows of
    its own, so one release cannot name the LA two ways; a code that model cannot name stops the release."""
    con = internal_warehouse(tmp_path / "send.duckdb")
    renamed = {"new_la_code": "E06000099", "la_name": "Rutland County"}
    con.execute("UPDATE intermediate.int_home_la_geography SET new_la_code = $new_la_code, la_name = $la_name", renamed)
    assert publish_module.home_geography(con, "857") == {**HOME_LA, **renamed}  # DfE's staging rows say Rutland
    with pytest.raises(PublicationError, match=r"^LA 925 is not in the DfE release nor in the la_geography seed: "):
        publish_module.home_geography(con, "925")  # no row for the code
    con.execute("UPDATE intermediate.int_home_la_geography SET new_la_code = NULL, la_name = NULL")
    with pytest.raises(PublicationError, match=r"^LA 857 is not in the DfE release nor in the la_geography seed: "):
        publish_module.home_geography(con, "857")  # the model's row for a code neither knows


def caseload_warehouse(path: Path, dfe_needs: dict[str, int], dfe_total: int):
    """send.duckdb with the EHC plan caseload mart and DfE's LA rows (SEN2) for the same January."""
    con = internal_warehouse(path)
    ours = {"MLD": 40, "SEMH": 30, "HI": 20, "VI": 4, "MSI": 3}
    caseload = pd.DataFrame({"time_period": 202223, "period_type": "SEN2 census day",
                             "time_identifier": "Academic year", "reference_date": "2023-01-19",
                             "primary_need": [*ours, "Total"], "ehcps_maintained": [*ours.values(), 97]})  # fmt: skip
    con.register("_c", caseload)
    con.execute(
        "CREATE TABLE marts.fct_ehcp_caseload AS SELECT * REPLACE (reference_date::DATE AS reference_date) FROM _c"
    )
    con.execute("ALTER TABLE staging.stg_dfe__ehcp_caseload ADD COLUMN time_identifier VARCHAR DEFAULT 'Academic year'")
    con.execute("ALTER TABLE staging.stg_dfe__ehcp_caseload ADD COLUMN breakdown_topic VARCHAR DEFAULT 'All EHC plans'")
    con.execute(f"ALTER TABLE staging.stg_dfe__ehcp_caseload ADD COLUMN ehcplans INTEGER DEFAULT {dfe_total}")
    codes = ("asd", "hi", "mld", "msi", "oth", "pd", "pmld", "semh", "slcn", "sld", "spld", "vi")
    needs = ", ".join(f"{dfe_needs.get(c.upper(), 'NULL')}::INTEGER AS number_{c}" for c in codes)
    con.execute(f"""CREATE TABLE staging.stg_dfe__ehcp_sen_needs_all_plans AS SELECT 202223 AS time_period,
                    'Academic year' AS time_identifier, 'Local authority' AS geographic_level,
                    '857' AS old_la_code, 'All EHC plans' AS breakdown,
                    {needs}""")
    return con


def test_dfe_public_la_figures_are_known_to_the_attacker_and_the_pattern_protects_against_them(tmp_path, monkeypatch):
    """DfE publishes the LA's VI count (4) unsuppressed: with MSI and VI our only `c`, MSI = Total - the rest would
    be pinned. The release must suppress a further cell; a figure that disagrees with ours is left out, counted."""
    second_warehouse_without_history(monkeypatch)
    caseload = next(t for t in publish_module.PUBLIC_FIGURES if t.table == "send_ehcp_caseload")
    spec = next(t for t in PUBLISHED_TABLES_ALL if t.name == "send_ehcp_caseload")
    monkeypatch.setattr(publish_module, "PUBLISHED_TABLES", (spec,))
    without = publish(caseload_warehouse(tmp_path / "a.duckdb", {}, 0), tmp_path / "a", "857")
    shown = {r["primary_need"]: r["ehcps_maintained"] for r in read_ees(tmp_path / "a", "send_ehcp_caseload")}
    assert sorted(k for k, v in shown.items() if v == "c") == ["MSI", "VI"]
    assert without.public_figures[caseload.name]["cells_known"] == 0

    release = publish(caseload_warehouse(tmp_path / "b.duckdb", {"VI": 4, "MLD": 41}, 97), tmp_path / "b", "857")
    shown = {r["primary_need"]: r["ehcps_maintained"] for r in read_ees(tmp_path / "b", "send_ehcp_caseload")}
    hidden = [k for k, v in shown.items() if v == "c"]
    assert len(hidden) >= 3 and {"MSI", "VI"} <= set(hidden)
    assert release.public_figures[caseload.name] == {"source": caseload.source, "cells_known": 2,
                                                     "cells_disagreeing": 1}  # fmt: skip
    # The independent attacker, who also reads DfE's VI = 4, pins nothing.
    rows = [{**r, "ehcps_maintained": "4" if r["primary_need"] == "VI" else r["ehcps_maintained"]}
            for r in read_ees(tmp_path / "b", "send_ehcp_caseload")]  # fmt: skip
    found = independent_attack(rows, "primary_need", "ehcps_maintained")
    assert found and all(high - low >= 5 for low, high in found.values()), found


def timeliness_warehouse(path: Path, dfe_issued: int | None, dfe_within_20_weeks: int | None):
    """send.duckdb with the EHCNA timeliness mart for 2022 (plans issued: 3 within 20 weeks, 4 later, of 7) and DfE's
    LA row (SEN2) for the same calendar year: plans issued and those within 20 weeks (None: DfE shows neither)."""
    con = internal_warehouse(path)
    mart = pd.DataFrame({"time_period": [2022], "counted_to": ["2022-12-31"], "requests_received": [40],
                         "decisions": [30], "decisions_within_6_weeks": [24], "new_plans_issued": [7],
                         "plans_within_20_weeks": [3]})  # fmt: skip
    con.register("_t", mart)
    con.execute("CREATE TABLE marts.fct_ehcna_timeliness AS SELECT * REPLACE (counted_to::DATE AS counted_to) FROM _t")
    issued, within = ("NULL" if n is None else n for n in (dfe_issued, dfe_within_20_weeks))
    con.execute(f"""CREATE TABLE staging.stg_dfe__ehcp_timeliness_20_week AS SELECT 2022 AS time_period,
                    'Local authority' AS geographic_level, '857' AS old_la_code,
                    'All EHC plans issued' AS breakdown_topic, {issued}::INTEGER AS plans_issued_den,
                    {within}::INTEGER AS plans_issued_within_20_weeks""")
    return con


def test_dfe_public_requests_and_plans_issued_are_known_to_the_attacker(tmp_path, monkeypatch):
    """Plans issued 2022: 3 within 20 weeks and 4 later are both `c`, their total 7 shown. DfE publishing the LA's
    plans within 20 weeks (3) unsuppressed would let a reader take the 4 later from our total: the release hides the
    total too. With DfE's total (7) shown as well, DfE alone gives the later 4 away: nothing of ours can protect
    them, and nothing more is hidden for them (PublicAlone)."""
    figures = next(t for t in publish_module.PUBLIC_FIGURES if t.name == "dfe_sen2_plans_issued")
    spec = next(t for t in PUBLISHED_TABLES_ALL if t.name == "send_ehcna_timeliness")
    monkeypatch.setattr(publish_module, "PUBLISHED_TABLES", (spec,))

    def plans(folder: Path) -> dict[str, str]:
        rows = read_ees(folder, "send_ehcna_timeliness")
        return {r["timeliness"]: r["events"] for r in rows if r["stage"] == "EHC plans issued"}

    releases = {}
    for name, dfe in {"total": (7, None), "within": (None, 3), "both": (7, 3), "other": (None, 2)}.items():
        folder = tmp_path / name / "published"  # each its own releases/ (a fourth release would prune the first)
        releases[name] = publish(timeliness_warehouse(tmp_path / f"{name}.duckdb", *dfe), folder, "857")
    assert plans(tmp_path / "total" / "published") == {"Within 20 weeks": "c", "Later": "c", "Total": "7"}
    assert plans(tmp_path / "within" / "published") == {"Within 20 weeks": "c", "Later": "c", "Total": "c"}
    assert plans(tmp_path / "both" / "published") == {"Within 20 weeks": "c", "Later": "c", "Total": "7"}
    # DfE's 2 is not our population (ours is 3): left out, counted
    assert plans(tmp_path / "other" / "published") == {"Within 20 weeks": "c", "Later": "c", "Total": "7"}
    known = {name: release.public_figures[figures.name] for name, release in releases.items()}
    assert known == {
        "total": {"source": figures.source, "cells_known": 1, "cells_disagreeing": 0},
        "within": {"source": figures.source, "cells_known": 1, "cells_disagreeing": 0},
        "both": {"source": figures.source, "cells_known": 2, "cells_disagreeing": 0},
        "other": {"source": figures.source, "cells_known": 0, "cells_disagreeing": 1},
    }


def test_keys_stored_before_the_caseload_took_ees_time_identifiers_still_carry_the_pattern_forward(
    tmp_path, monkeypatch
):
    """Releases before this one stored the caseload's cells as `SEN2 census day` and dates with a midnight time. Rule
    7 must still find them: VI (4, suppressed) corrected to 9 stays `c`, carried forward."""
    spec = next(t for t in PUBLISHED_TABLES_ALL if t.name == "send_ehcp_caseload")
    monkeypatch.setattr(publish_module, "PUBLISHED_TABLES", (spec,))
    internal = caseload_warehouse(tmp_path / "send.duckdb", {}, 0)
    publish(internal, tmp_path / "published", "857")
    for table in ("suppression_pattern", "published_counts"):
        internal.execute(f"""UPDATE publication.{table} SET cell_key = replace(replace(cell_key,
                             'time_identifier=Academic year', 'time_identifier=SEN2 census day'),
                             'reference_date=2023-01-19', 'reference_date=2023-01-19 00:00:00')""")
    assert internal.execute("SELECT count(*) FROM publication.suppression_pattern "
                            "WHERE contains(cell_key, 'SEN2 census day')").fetchone()[0] >= 2  # fmt: skip
    internal.execute("UPDATE marts.fct_ehcp_caseload SET ehcps_maintained = ehcps_maintained + 5 "
                     "WHERE primary_need IN ('VI', 'Total')")  # fmt: skip
    second = publish(internal, tmp_path / "published", "857")
    shown = {r["primary_need"]: r["ehcps_maintained"] for r in read_ees(tmp_path / "published", "send_ehcp_caseload")}
    assert shown["VI"] == "c"
    reason = internal.execute(
        "SELECT reason FROM publication.suppression_pattern WHERE release_id = $r AND contains(cell_key, 'need=VI')",
        {"r": second.release_id},
    ).fetchall()
    assert reason == [("carried_forward",)]
    old = internal.execute("SELECT count(*) FROM publication.published_counts WHERE contains(cell_key, '00:00:00') "
                           "OR contains(cell_key, 'SEN2 census day')").fetchone()  # fmt: skip
    assert old == (0,)


def test_a_time_identifier_ees_does_not_know_or_a_date_with_a_time_blocks_the_release(monkeypatch):
    spec = next(t for t in PUBLISHED_TABLES_ALL if t.name == "send_ehcp_caseload")
    monkeypatch.setattr(publish_module, "PUBLISHED_TABLES", (spec,))

    def caseload(**changes):
        return pd.DataFrame({
            **RUTLAND_SPRING_2023, "time_period": ["2023"], "time_identifier": ["April"],
            "reference_date": ["2023-04-01"], "primary_need": ["ASD"], "ehcps_maintained": ["100"],
        }).assign(**changes)  # fmt: skip

    assert all(result.success for _, result in check_frames({"send_ehcp_caseload": caseload()}))
    with pytest.raises(PublicationError, match=r"be_in_set\(cell_value in send_ehcp_caseload\.time_identifier\)"):
        check_frames({"send_ehcp_caseload": caseload(time_identifier="Month")})
    with pytest.raises(PublicationError, match=r"match_regex\(cell_value in send_ehcp_caseload\.reference_date\)"):
        check_frames({"send_ehcp_caseload": caseload(reference_date="2023-04-01 00:00:00")})


def test_every_published_date_is_checked_whatever_its_name(monkeypatch):
    """counted_to is a date not named *_date: DATE_COLUMNS makes the EES check read it as one."""
    spec = next(t for t in PUBLISHED_TABLES_ALL if t.name == "send_ehcna_timeliness")
    monkeypatch.setattr(publish_module, "PUBLISHED_TABLES", (spec,))

    def timeliness(**changes):
        return pd.DataFrame({
            **RUTLAND_SPRING_2023, "time_period": ["2023"], "time_identifier": ["Calendar year"],
            "counted_to": ["2023-06-30"], "stage": ["EHC plans issued"], "timeliness": ["Within 20 weeks"],
            "events": ["40"], "pct_of_stage": ["80.0"],
        }).assign(**changes)  # fmt: skip

    assert all(result.success for _, result in check_frames({"send_ehcna_timeliness": timeliness()}))
    with pytest.raises(PublicationError, match=r"match_regex\(cell_value in send_ehcna_timeliness\.counted_to\)"):
        check_frames({"send_ehcna_timeliness": timeliness(counted_to="2023-06-30 00:00:00")})


def test_with_date_flag_marks_the_listed_date_columns_and_any_named_date():
    named = pd.DataFrame({"column_name": ["a.counted_to", "b.extract_date", "c.snapshot_date", "d.stage", "e.date"],
                          "cell_value": ["x"] * 5})  # fmt: skip
    assert list(publish_module.with_date_flag(named)["date_column"]) == [True, True, True, False, False]


def test_a_date_column_is_published_only_when_listed_as_one():
    from pipeline.published_tables import DATE_COLUMNS, iso_date

    assert iso_date("counted_to") == "strftime(counted_to, '%Y-%m-%d') AS counted_to" and "counted_to" in DATE_COLUMNS
    with pytest.raises(ValueError, match="^decided_on: a published date column must be listed in DATE_COLUMNS"):
        iso_date("decided_on")


def publish_ethnicities(tmp_path: Path, monkeypatch, codes: dict[str, dict[str, int]]) -> None:
    """send_characteristics alone, published from pupils by provision and ethnicity code (``codes``), with the
    ethnic groups White (WBRI, WIRI) and Mixed (MWBC, MOTH) the sums of their codes."""
    spec = next(t for t in PUBLISHED_TABLES_ALL if t.name == "send_characteristics")
    monkeypatch.setattr(publish_module, "PUBLISHED_TABLES", (spec,))
    con = internal_warehouse(tmp_path / "send.duckdb")
    rows = []
    for provision, counts in codes.items():
        rows += [(provision, "ethnicity", code, n) for code, n in counts.items()]
        rows += [(provision, "ethnic_group", "White", counts["WBRI"] + counts["WIRI"]),
                 (provision, "ethnic_group", "Mixed", counts["MWBC"] + counts["MOTH"])]  # fmt: skip
    frame = pd.DataFrame(rows, columns=["sen_provision", "characteristic_group", "characteristic", "pupils"])
    con.execute("DELETE FROM marts.fct_send_characteristics")
    con.register("_e", frame.assign(time_period=202223, census_term="Spring"))
    con.execute("INSERT INTO marts.fct_send_characteristics BY NAME SELECT * FROM _e")
    publish(con, tmp_path / "published", "857")


def test_an_ethnic_group_total_cannot_give_back_a_suppressed_ethnicity(tmp_path, monkeypatch):
    """White = WBRI + WIRI. With WIRI (3) suppressed and MOTH its complement in the ethnicity partition alone,
    a published White group and WBRI would give WIRI back: the model knows groups are sums of their codes."""
    codes = {"E": {"WBRI": 100, "WIRI": 3, "MWBC": 20, "MOTH": 8}, "N": {"WBRI": 900, "WIRI": 40, "MWBC": 100,
                                                                        "MOTH": 60}}  # fmt: skip
    publish_ethnicities(tmp_path, monkeypatch, codes)
    shown = {(r["sen_provision"], r["characteristic"]): r["pupils"]
             for r in read_ees(tmp_path / "published", "send_characteristics")}  # fmt: skip
    assert shown[("E", "WIRI")] == "c"
    for provision in ("E", "N", "Total"):
        for group, members in {"White": ("WBRI", "WIRI"), "Mixed": ("MWBC", "MOTH")}.items():
            hidden = [m for m in members if shown[(provision, m)] == "c"]
            assert len(hidden) != 1 or shown[(provision, group)] == "c", (provision, group, shown)


def test_an_ethnic_group_total_is_published_as_its_ethnicity_total_suppressed_with_it(tmp_path, monkeypatch):
    """The ethnic_group rows' Total is the same cell as the ethnicity rows' Total (every pupil has one code and one
    group): it shows the same text, so an EHC plan total of 5 hidden under ethnicity is not shown under ethnic_group."""
    codes = {"E": {"WBRI": 2, "WIRI": 1, "MWBC": 1, "MOTH": 1}, "N": {"WBRI": 900, "WIRI": 40, "MWBC": 100,
                                                                    "MOTH": 60}}  # fmt: skip
    publish_ethnicities(tmp_path, monkeypatch, codes)
    totals = {
        (r["sen_provision"], r["characteristic_group"]): r["pupils"]
        for r in read_ees(tmp_path / "published", "send_characteristics")
        if r["characteristic"] == "Total"
    }
    assert totals[("E", "ethnicity")] == "c"
    for provision in ("E", "N", "Total"):
        assert totals[(provision, "ethnic_group")] == totals[(provision, "ethnicity")], (provision, totals)


def test_every_table_and_column_of_the_release_carries_its_description(tmp_path):
    release = publish(internal_warehouse(tmp_path / "send.duckdb"), tmp_path / "published", "857")
    with duckdb.connect(str(release.path), read_only=True) as reader:
        tables = reader.execute("SELECT table_name, comment FROM duckdb_tables() WHERE schema_name = 'reporting'")
        tables = dict(tables.fetchall())
        columns = reader.execute(
            "SELECT table_name, column_name, comment FROM duckdb_columns() WHERE schema_name = 'reporting'"
        ).fetchall()
    assert set(tables) == {*CENSUS_TABLES, "release"} and all(tables.values())
    assert len(columns) > 60 and [(t, c) for t, c, text in columns if not text] == []
    described = {(t, c): text for t, c, text in columns}
    assert described["send_provision", "pct_fsm"].startswith("Percentage eligible for free school meals: ")
    assert "E = EHC plan" in described["send_provision", "sen_provision"]


def test_a_published_column_without_a_description_is_an_error_naming_it(tmp_path):
    with duckdb.connect() as out:
        out.execute("CREATE SCHEMA reporting; CREATE TABLE reporting.t (time_period VARCHAR, mystery VARCHAR)")
        with pytest.raises(ValueError, match=r"reporting\.t: no description for column\(s\) mystery"):
            publish_module.comment_on(out, "t", "T", {"time_period": "the period"})


def test_a_description_with_quotes_is_stored_as_written():
    with duckdb.connect() as out:
        out.execute("CREATE SCHEMA reporting; CREATE TABLE reporting.t (la_name VARCHAR)")
        publish_module.comment_on(out, "t", "Children's 'table'", {"la_name": "The LA's name; -- not SQL"})
        stored = out.execute("SELECT comment FROM duckdb_columns() WHERE table_name = 't'").fetchone()[0]
        title = out.execute("SELECT comment FROM duckdb_tables() WHERE table_name = 't'").fetchone()[0]
    assert (title, stored) == ("Children's 'table'", "The LA's name; -- not SQL")


def test_englands_total_by_primary_need_is_dfes_total_its_unrecorded_needs_included(tmp_path):
    release = publish(internal_warehouse(tmp_path / "send.duckdb"), tmp_path / "published", "857")
    with duckdb.connect(str(release.path), read_only=True) as reader:
        england = dict(
            reader.execute("SELECT primary_need, england_pupils FROM reporting.send_primary_need").fetchall()
        )
    total = sum(20_000 * (i + 1) for i in range(len(NEEDS))) + 21
    assert england["MISSING"] == "21" and england["Total"] == str(total)
    assert sum(int(v) for need, v in england.items() if need != "Total") == total


def published_under_weaker_rules(internal, folder: Path, monkeypatch) -> dict[str, str]:
    """A first release published under weaker rules (no informed attacker): its primary need counts as shown."""
    from pipeline.suppression import SuppressionRules
    from pipeline.suppression import suppress as real_suppress
    from pipeline.suppression import verify as real_verify

    weaker = SuppressionRules(informed_width=0)
    with monkeypatch.context() as patch:
        patch.setattr(publish_module, "suppress", lambda tables, **options: real_suppress(tables, weaker, **options))
        patch.setattr(publish_module, "verify", lambda tables, suppressed: real_verify(tables, suppressed, weaker))
        publish(internal, folder, "857")
    return {r["primary_need"]: r["pupils"] for r in read_ees(folder, "send_primary_need")}


def test_figures_an_earlier_release_showed_stay_known_to_the_attacker(tmp_path, monkeypatch):
    """A first release under weaker rules (no informed attacker) shows every need but SLD (5) and MSI (3). A reader
    keeps it. The next release, under the project's rules, cannot protect MSI by hiding VI or HI now: their
    figures are already out, so the attacker knows them and the search does not count on hiding them."""
    internal = internal_warehouse(tmp_path / "send.duckdb")
    first = published_under_weaker_rules(internal, tmp_path / "first", monkeypatch)
    assert sorted(n for n, v in first.items() if v == "c") == ["MSI", "SLD"] and first["VI"] == "8"

    second = publish(internal, tmp_path / "second", "857")
    shown = {r["primary_need"]: r["pupils"] for r in read_ees(tmp_path / "second", "send_primary_need")}
    assert shown == first  # hiding a figure the first release showed would protect nothing
    assert second.public_figures["public:earlier releases"]["cells_known"] > 0
    stored = internal.execute(
        "SELECT count(*) FILTER (release_id = $r), count(*) FROM publication.published_counts", {"r": second.release_id}
    ).fetchone()
    assert stored[0] == 0 and stored[1] > 0  # every figure it shows was stored with the first release
    # without the first release in mind, the search hides one more need (the informed attacker's complement)
    # (its own folder: beside the releases above, a warehouse without their history is refused)
    fresh = publish(internal_warehouse(tmp_path / "fresh.duckdb"), tmp_path / "new" / "published", "857")
    alone = {r["primary_need"]: r["pupils"] for r in read_ees(tmp_path / "new" / "published", "send_primary_need")}
    assert sum(v == "c" for v in alone.values()) > 2 and fresh.public_figures["public:earlier releases"] == {
        "source": "this project's earlier releases", "cells_known": 0, "cells_disagreeing": 0}  # fmt: skip


def test_a_correction_that_adds_two_pupils_cannot_be_subtracted_from_the_figure_shown_before(tmp_path):
    """The first release shows 169 pupils with MLD; a corrected census adds two. Shown as 171, a reader who kept the
    first release would know two pupils with MLD were added (pipeline/suppression/differences.py)."""
    internal = internal_warehouse(tmp_path / "send.duckdb")
    first = publish(internal, tmp_path / "first", "857")
    internal.execute("UPDATE marts.fct_send_primary_need SET pupils = pupils + 2 WHERE primary_need = 'MLD'")
    second = publish(internal, tmp_path / "second", "857")
    before, after = (
        {r["primary_need"]: r["pupils"] for r in read_ees(folder, "send_primary_need")}
        for folder in (tmp_path / "first", tmp_path / "second")
    )
    assert before["MLD"] == "169" and after["MLD"] == "c"
    both = [need for need in before if before[need].isdigit() and after[need].isdigit()]
    assert both and all(abs(int(after[n]) - int(before[n])) not in range(1, 6) for n in both)
    assert second.public_figures["public:earlier releases, other figures"]["cells_known"] >= 2  # MLD and Total
    assert first.release_id != second.release_id


def test_a_release_from_a_warehouse_without_the_history_of_the_releases_before_it_is_refused(tmp_path):
    """A rebuilt send.duckdb (make clean, a new pseudonym key) has no record of what the releases in releases/ hid
    or showed: a red team's finding (3 December 2026): its release showed a count of requests they hid, and a
    reader subtracted. The release is refused, naming the folder, and the live release stays."""
    published = tmp_path / "published"
    first = publish(internal_warehouse(tmp_path / "send.duckdb"), published, "857")
    rebuilt = internal_warehouse(tmp_path / "rebuilt.duckdb")
    with pytest.raises(PublicationError, match=r"releases holds 1 release\(s\) published before.*no record"):
        publish(rebuilt, published, "857")
    assert published.resolve().name == first.release_id
    shutil.move(tmp_path / "releases", tmp_path / "an earlier series")  # a new series, deliberately
    published.unlink()
    assert publish(rebuilt, published, "857").release_id != first.release_id


def test_a_recoded_home_la_keeps_what_its_earlier_releases_showed(tmp_path, monkeypatch):
    """DfE gives the LA a new GSS code (North Yorkshire, Somerset in 2023): the figures the first release showed
    under the old code stay known, as test_figures_an_earlier_release_showed_stay_known_to_the_attacker's do."""
    internal = internal_warehouse(tmp_path / "send.duckdb")
    first = published_under_weaker_rules(internal, tmp_path / "first", monkeypatch)
    coded = internal.execute(
        "SELECT schema_name, table_name FROM duckdb_columns() WHERE column_name = 'new_la_code' "
        "AND schema_name IN ('marts', 'intermediate')"
    ).fetchall()
    for schema, table in coded:  # the marts' geography, as dbt rebuilds it from the recoded DfE release
        internal.execute(f"UPDATE {schema}.{table} SET new_la_code = 'E06000099'")
    internal.execute(
        "INSERT INTO staging.stg_dfe__ehcp_caseload SELECT * REPLACE (202324 AS time_period, 'E06000099' AS "
        "new_la_code) FROM staging.stg_dfe__ehcp_caseload WHERE old_la_code = '857'"
    )
    publish(internal, tmp_path / "second", "857")
    second = read_ees(tmp_path / "second", "send_primary_need")
    assert {r["new_la_code"] for r in second} == {"E06000099"}
    assert {r["primary_need"]: r["pupils"] for r in second} == first  # hiding VI or HI now would protect nothing


def test_a_bi_tool_cannot_open_the_release_read_write_and_lock_out_other_readers(tmp_path):
    """The DuckDB command line opens a file read-write unless told otherwise, and a read-write connection keeps every
    other process out of the file until it closes. The release file has no write permission, so such a tool is
    refused and opens it read-only. Root ignores permissions through its capabilities CAP_DAC_OVERRIDE and
    CAP_DAC_READ_SEARCH: when the suite runs as root, as CI does, the reader runs without them (setpriv), as an
    analyst's account would."""
    import os
    import shutil
    import stat
    import subprocess
    import sys

    release = publish(internal_warehouse(tmp_path / "send.duckdb"), tmp_path / "published", "857")
    assert stat.S_IMODE(release.path.resolve().stat().st_mode) == 0o444
    reader = (
        "import duckdb, sys\n"
        "try:\n    duckdb.connect(sys.argv[1])\n    print('read-write')\n"
        "except duckdb.IOException as error:\n"
        "    print('refused' if 'Permission denied' in str(error) else error)\n"
        "with duckdb.connect(sys.argv[1], read_only=True) as con:\n"
        "    print(con.execute('SELECT count(*) FROM reporting.release').fetchone()[0])\n"
    )
    command = [sys.executable, "-c", reader, str(release.path)]
    if os.geteuid() == 0:
        if not shutil.which("setpriv"):
            pytest.skip("root without setpriv: cannot drop the capabilities that ignore file permissions")
        command = ["setpriv", "--bounding-set=-dac_override,-dac_read_search", *command]
    seen = subprocess.run(command, capture_output=True, text=True)
    assert seen.stdout.split() == ["refused", "1"], seen.stderr


def materialize_release(tmp_path, monkeypatch, raise_on_error: bool = False):
    """Materialize the release asset over a hand-built internal warehouse."""
    import dagster as dg

    from pipeline.release import publish_release
    from pipeline.report.build import BuiltReport
    from pipeline.resources import SendWarehouse

    from support import checks_passed_instance

    warehouse = tmp_path / "warehouse"
    warehouse.mkdir(parents=True)
    internal_warehouse(warehouse / "send.duckdb").close()
    monkeypatch.setenv("SEND_PSEUDONYM_KEY", "test-key-not-secret-0123456789")
    # the hand-built release has too few tables for a report (tests/test_report.py publishes a whole one)
    monkeypatch.setattr(
        "pipeline.report.build.build_release_report",
        lambda folder: BuiltReport(folder / "report" / "index.html", folder.name, 0, 0, 0, None),
    )
    with checks_passed_instance() as instance:  # the marts it reads passed their blocking checks
        return dg.materialize(
            [publish_release],
            resources={"warehouse": SendWarehouse(raw_dir=str(tmp_path), warehouse_dir=str(warehouse), la_code="857")},
            raise_on_error=raise_on_error,
            instance=instance,
        )


def release_check_results(tmp_path, monkeypatch) -> dict[str, bool]:
    """The release asset's check results, by name (materialize_release)."""
    result = materialize_release(tmp_path, monkeypatch)
    return {e.check_name: e.passed for e in result.get_asset_check_evaluations()}


def test_the_release_suites_are_asset_checks_of_the_release(tmp_path, monkeypatch):
    """Each GX result is a Dagster asset check. The release's three suites ran inside its step and
    showed only in its metadata; the UI now lists them as checks of published/send_reporting, passed or failed."""
    assert release_check_results(tmp_path / "good", monkeypatch) == {
        "gx_published_counts": True,
        "gx_published_rates": True,
        "gx_published_ees": True,
        "gx_published_matches_marts": True,
    }
    monkeypatch.setattr(SuppressionResult, "published", lambda self, key, value: str(value))  # suppresses nothing
    failed = release_check_results(tmp_path / "broken", monkeypatch)
    assert failed["gx_published_counts"] is False  # rule 5 has nothing to say when nothing is `c`
    assert not (tmp_path / "broken" / "warehouse" / "published").exists()  # not swapped in


def test_a_release_that_fails_a_check_fails_its_step_without_retries_naming_the_check(tmp_path, monkeypatch):
    """publish_release turns a PublicationError into a dg.Failure that no retry can fix, with the error's message:
    which suite failed and how many rows, never a cell's value."""
    import dagster as dg

    monkeypatch.setattr(SuppressionResult, "published", lambda self, key, value: str(value))  # suppresses nothing
    with pytest.raises(dg.Failure) as failed:
        materialize_release(tmp_path, monkeypatch, raise_on_error=True)
    assert failed.value.allow_retries is False
    prefix, failures = failed.value.description.split(": ", 1)
    assert prefix == "release not published, previous release left in place"
    # each failed suite by table, suite, expectation, column and number of rows: no other word, hence no value
    part = r"[a-z_]+: published_counts: \d+ of \d+ expectations failed: expect_[a-z_]+\([a-z_]+\) unexpected=\d+"
    assert re.fullmatch(rf"{part}( \| {part})*", failures), failures
    assert "send_primary_need: published_counts: " in failures
