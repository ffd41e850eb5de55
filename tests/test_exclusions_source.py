"""Exclusions: contract, quarantine, ledger, pseudonyms, the Dagster asset and the generator's plan.

Small hand-made files in tmp_path for the contract; the generated extracts are checked against their plan here
and against the seed (through the mart) in tests/test_marts_outcomes.py.
"""

from pathlib import Path

import dagster as dg
import pytest
import yaml

from pipeline.generate.exclusions import PLAN, exclusion_rows, generate_exclusions
from pipeline.ingest import ExtractError, ingest_source
from pipeline.pseudonymise import pseudonym as keyed_pseudonym
from pipeline.resources import SendWarehouse
from pipeline.sources.exclusions import exclusions, exclusions_contract
from pipeline.upn import check_letter, is_valid_upn

import source_support
from source_support import QUARANTINE_TEXT, assert_ingest_metadata, quarantine

KEY = b"test-key-0123456789abcdef"
REPO = Path(__file__).resolve().parent.parent
HEADER = ["academic_year", "upn", "exclusion_type", "start_date", "sessions", "reason"]
FILE = "exclusions/exclusions_2021-22.csv"


def upn(serial: int) -> str:
    digits = f"857400015{serial:03d}"
    return check_letter(digits) + digits


def event(n: int, **changes) -> dict:
    row = {"academic_year": "2021/22", "upn": upn(n), "exclusion_type": "suspension", "start_date": "2021-11-08",
           "sessions": "4", "reason": "PD"}  # fmt: skip
    row.update(changes)
    return row


def write_csv(path: Path, rows: list[dict], header: list[str] = HEADER, encoding: str = "utf-8") -> Path:
    return source_support.write_csv(path, rows, header, encoding)


def ingest(raw: Path, con):
    return ingest_source(con, exclusions_contract(KEY), raw)


def pseudonym(value: str) -> int:
    return keyed_pseudonym(KEY, value)


# ---------- the contract ----------


def test_a_good_file_loads_pseudonymised_with_dfe_codes_kept_as_sent(tmp_path, con):
    rows = [
        event(1),
        event(2, academic_year="202122", exclusion_type="Fixed period", start_date="01/09/2021", sessions="2.5",
              reason=""),
        event(3, academic_year="2021-22", exclusion_type="PERM", start_date="2022-Aug-31 00:00:00", sessions="12",
              reason="pa"),
        event(4, exclusion_type="FIXD", sessions="1"),
    ]  # fmt: skip
    write_csv(tmp_path / FILE, rows)
    [result] = ingest(tmp_path, con)
    assert (result.rows_read, result.rows_loaded, result.rows_quarantined) == (4, 4, 0)
    got = con.execute(
        "SELECT pupil_id, time_period, exclusion_type, start_date::VARCHAR, sessions::VARCHAR, reason "
        "FROM raw.exclusions ORDER BY source_row"
    ).fetchall()
    assert got == [
        (pseudonym(upn(1)), 202122, "SUSPENSION", "2021-11-08", "4.0", "PD"),
        (pseudonym(upn(2)), 202122, "FIXED PERIOD", "2021-09-01", "2.5", None),
        (pseudonym(upn(3)), 202122, "PERM", "2022-08-31", "12.0", "PA"),
        (pseudonym(upn(4)), 202122, "FIXD", "2021-11-08", "1.0", "PD"),
    ]


def test_no_upn_or_name_is_stored(tmp_path, con):
    header = [*HEADER, "pupil_name", "dob"]
    write_csv(tmp_path / FILE, [event(1) | {"pupil_name": "Ffion Tregarthen", "dob": "2008-03-14"}], header=header)
    [result] = ingest(tmp_path, con)
    assert result.rows_loaded == 1 and set(result.extra_columns) == {"pupil_name", "dob"}
    columns = {r[0] for r in con.execute("SELECT column_name FROM (DESCRIBE raw.exclusions)").fetchall()}
    assert not columns & {"upn", "dob", "pupil_name"}
    text = " ".join(str(v) for row in con.execute("SELECT * FROM raw.exclusions").fetchall() for v in row)
    for value in (upn(1), upn(1)[1:], "Tregarthen", "2008-03-14"):
        assert value not in text


BAD_ROWS = [
    ({"academic_year": ""}, "academic_year", "required"),
    ({"academic_year": "2021/23"}, "academic_year", "not_an_academic_year"),
    ({"academic_year": "Year 2021"}, "academic_year", "not_an_academic_year"),
    ({"upn": ""}, "upn", "required"),
    ({"upn": ("B" if upn(3)[0] == "A" else "A") + upn(3)[1:]}, "upn", "upn_check_letter_invalid"),
    ({"upn": "A85740001500"}, "upn", "upn_not_13_characters_letter_then_digits"),
    ({"exclusion_type": ""}, "exclusion_type", "required"),
    ({"exclusion_type": "managed move"}, "exclusion_type", "code_not_allowed"),
    ({"start_date": ""}, "start_date", "required"),
    ({"start_date": "8th November"}, "start_date", "not_a_date"),
    ({"start_date": "2022-09-05"}, "start_date", "start_date_outside_academic_year"),
    ({"start_date": "2021-08-31"}, "start_date", "start_date_outside_academic_year"),
    ({"sessions": ""}, "sessions", "required"),
    ({"sessions": "two"}, "sessions", "sessions_not_a_number"),
    ({"sessions": "0"}, "sessions", "sessions_not_positive"),
    ({"sessions": "-4"}, "sessions", "sessions_not_positive"),
    ({"sessions": "2.25"}, "sessions", "sessions_not_whole_or_half"),
    ({"sessions": "2.001"}, "sessions", "sessions_not_whole_or_half"),  # not rounded to 2 and loaded
    ({"sessions": "0.504"}, "sessions", "sessions_not_whole_or_half"),
    ({"exclusion_type": "PERM", "sessions": "10.5"}, "sessions", "permanent_exclusion_sessions_not_whole"),
    ({"sessions": "91"}, "sessions", "suspension_over_45_school_days"),
    ({"reason": "ZZ"}, "reason", "code_not_allowed"),
]


@pytest.mark.parametrize(
    ("change", "column", "rule"), BAD_ROWS, ids=[f"{r[1]}-{r[2]}-{i}" for i, r in enumerate(BAD_ROWS)]
)
def test_bad_row_is_quarantined_with_its_rule_never_its_value(tmp_path, con, change, column, rule):
    write_csv(tmp_path / FILE, [event(1), event(3, **change), event(4)])
    [result] = ingest(tmp_path, con)
    assert (result.rows_read, result.rows_loaded, result.rows_quarantined) == (3, 2, 1)
    assert (FILE, 3, column, rule) in quarantine(con)
    assert {r[1] for r in quarantine(con)} == {3}
    assert con.execute("SELECT count(*) FROM raw.exclusions").fetchone()[0] == 2
    text = " ".join(str(v) for row in con.execute(QUARANTINE_TEXT).fetchall() for v in row)
    for value in change.values():
        if len(value.strip()) >= 4:
            assert value not in text


def test_the_same_event_twice_quarantines_both_rows_but_a_permanent_exclusion_that_day_is_kept(tmp_path, con):
    rows = [event(1), event(2), event(2, start_date="08/11/2021", sessions="2"),
            event(1, exclusion_type="permanent", sessions="10")]  # fmt: skip
    write_csv(tmp_path / FILE, rows)
    [result] = ingest(tmp_path, con)
    assert (result.rows_loaded, result.rows_quarantined) == (2, 2)
    assert [r[1:] for r in quarantine(con)] == [
        (3, "upn", "exclusion_repeated_in_extract"),
        (4, "upn", "exclusion_repeated_in_extract"),
    ]


def test_a_broken_header_fails_naming_file_and_column_and_loads_nothing(tmp_path, con):
    write_csv(tmp_path / FILE, [event(1)], header=[h for h in HEADER if h != "sessions"])
    with pytest.raises(ExtractError, match=rf"{FILE}: row 1 \(header\) is missing required column\(s\) sessions"):
        ingest(tmp_path, con)
    assert con.execute("SELECT count(*) FROM raw.file_ledger").fetchone()[0] == 0
    tables = con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = 'exclusions'")
    assert tables.fetchone()[0] == 0


def test_xlsx_in_the_same_layout(tmp_path, con):
    import datetime as dt

    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(HEADER)
    sheet.append(["2021/22", upn(1), "Suspension", dt.datetime(2021, 11, 8), 2.5, "PD"])
    sheet.append(["2021/22", upn(2), "Suspension", dt.datetime(2021, 11, 8), "lots", "PD"])
    path = tmp_path / "exclusions" / "exclusions_2021-22.xlsx"
    path.parent.mkdir(parents=True)
    book.save(path)
    [result] = ingest(tmp_path, con)
    assert (result.rows_loaded, result.rows_quarantined) == (1, 1)
    assert ("exclusions/exclusions_2021-22.xlsx", 3, "sessions", "sessions_not_a_number") in quarantine(con)
    assert con.execute("SELECT start_date::VARCHAR, sessions::VARCHAR FROM raw.exclusions").fetchone() == (
        "2021-11-08",
        "2.5",
    )


def test_the_same_file_dropped_again_is_skipped(tmp_path, con):
    write_csv(tmp_path / FILE, [event(1), event(2), event(3, reason="??")])
    first = ingest(tmp_path, con)
    second = ingest(tmp_path, con)
    assert [r.status for r in first] == ["loaded"] and [r.status for r in second] == ["unchanged"]
    assert con.execute("SELECT count(*) FROM raw.exclusions").fetchone()[0] == 2
    assert con.execute("SELECT count(*) FROM raw.quarantine").fetchone()[0] == 1
    assert con.execute("SELECT count(*) FROM raw.file_ledger").fetchone()[0] == 1


def test_a_corrected_extract_replaces_its_academic_year_only(tmp_path, con):
    earlier = "exclusions/exclusions_2020-21.csv"
    write_csv(tmp_path / FILE, [event(1), event(2)])
    write_csv(tmp_path / earlier, [event(1, academic_year="202021", start_date="2021-03-15")])
    ingest(tmp_path, con)
    corrected = "exclusions/exclusions_2021-22_corrected.csv"
    write_csv(tmp_path / corrected, [event(1), event(2), event(3, academic_year="202122")])
    results = {r.file_name: r for r in ingest(tmp_path, con)}
    assert results[corrected].superseded_files == (FILE,)
    counts = con.execute(
        "SELECT time_period, source_file, count(*) FROM raw.exclusions GROUP BY ALL ORDER BY 1"
    ).fetchall()
    assert counts == [(202021, earlier, 1), (202122, corrected, 3)]


# ---------- the Dagster asset ----------


def test_asset_loads_the_folder_and_fails_on_an_empty_one(tmp_path, monkeypatch):
    monkeypatch.setenv("SEND_PSEUDONYM_KEY", KEY.decode())
    write_csv(tmp_path / "raw" / FILE, [event(1), event(2), event(3, sessions="x")])
    warehouse = SendWarehouse(raw_dir=str(tmp_path / "raw"), warehouse_dir=str(tmp_path / "warehouse"))
    result = dg.materialize([exclusions], resources={"warehouse": warehouse})
    assert result.success
    [materialization] = [e.event_specific_data.materialization for e in result.get_asset_materialization_events()]
    assert materialization.asset_key == dg.AssetKey(["raw", "exclusions"])
    meta = {k: v.value for k, v in materialization.metadata.items()}
    assert_ingest_metadata(meta, quarantined=1)

    empty = SendWarehouse(raw_dir=str(tmp_path / "nothing"), warehouse_dir=str(tmp_path / "warehouse2"))
    with pytest.raises(dg.Failure, match="no exclusions extracts"):
        dg.materialize([exclusions], resources={"warehouse": empty})


def test_asset_fails_without_retries_naming_the_file_and_column_or_the_missing_key(tmp_path, monkeypatch):
    """ingest_asset's wrappers (pipeline/sources/asset_support.py): a file the contract cannot read and a missing
    pseudonym key are dg.Failure that no retry can fix, with the error's own message and no child's value."""
    rows = [event(1), event(2)]
    write_csv(tmp_path / "raw" / FILE, rows, header=[c for c in HEADER if c != "sessions"])
    warehouse = SendWarehouse(raw_dir=str(tmp_path / "raw"), warehouse_dir=str(tmp_path / "warehouse"))
    monkeypatch.setenv("SEND_PSEUDONYM_KEY", KEY.decode())
    with pytest.raises(dg.Failure) as unreadable:
        dg.materialize([exclusions], resources={"warehouse": warehouse})
    assert unreadable.value.description == f"{FILE}: row 1 (header) is missing required column(s) sessions"
    assert unreadable.value.allow_retries is False

    monkeypatch.delenv("SEND_PSEUDONYM_KEY")
    with pytest.raises(dg.Failure) as no_key:
        dg.materialize([exclusions], resources={"warehouse": warehouse})
    assert no_key.value.description.startswith("SEND_PSEUDONYM_KEY is not set or shorter than 16 bytes")
    assert no_key.value.allow_retries is False
    for failure in (unreadable.value, no_key.value):
        assert not any(row["upn"] in failure.description for row in rows)


def test_dbt_source_carries_the_asset_key():
    folder = REPO / "dbt_project" / "models" / "staging" / "exclusions"
    [source] = yaml.safe_load((folder / "_exclusions__sources.yml").read_text())["sources"]
    [table] = source["tables"]
    assert (source["schema"], table["name"]) == ("raw", "exclusions")
    assert table["meta"]["dagster"]["asset_key"] == list(exclusions.key.path)


# ---------- the generator ----------


def test_generator_is_deterministic_and_its_files_load_without_quarantine(tmp_path, con):
    paths = generate_exclusions(tmp_path / "a", seed=2023)
    assert [p.name for p in paths] == [f"exclusions_{label}.csv" for label in PLAN]
    again = generate_exclusions(tmp_path / "b", seed=2023)
    assert [p.read_bytes() for p in again] == [p.read_bytes() for p in paths]
    results = ingest(tmp_path / "a", con)
    assert all(r.rows_quarantined == 0 for r in results) and sum(r.rows_loaded for r in results) > 100


@pytest.mark.parametrize("label", list(PLAN))
def test_generated_children_follow_the_plan_and_carry_valid_upns(label):
    rows = exclusion_rows(2023, label)
    plan = PLAN[label]
    suspension, permanent = plan.codes
    for provision, children in plan.children.items():
        mine = rows[rows.provision == provision]
        suspended, excluded = (
            set(mine.upn[mine.exclusion_type == suspension]),
            set(mine.upn[mine.exclusion_type == permanent]),
        )
        assert len(suspended - excluded) == children.suspended_only
        assert len(suspended & excluded) == children.suspended_then_permanent
        assert len(excluded - suspended) == children.permanent_only
    assert rows.upn.map(is_valid_upn).all()
    # a child suspended and then permanently excluded: the exclusion comes after the last suspension
    for upn_, events in rows.groupby("upn"):
        if {suspension, permanent} <= set(events.exclusion_type):
            assert (
                events[events.exclusion_type == permanent].start_date.min()
                > events[events.exclusion_type == suspension].start_date.max()
            ), upn_
