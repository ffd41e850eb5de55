"""Attainment: contract (results checked per measure), quarantine, ledger, pseudonyms, the Dagster asset and the
generator's helpers and plan.

Small hand-made files in tmp_path for the contract; the generated extract is checked against the seed (through the
mart) in tests/test_marts_outcomes.py.
"""

from decimal import Decimal
from pathlib import Path

import dagster as dg
import numpy as np
import pytest
import yaml

from pipeline.generate.attainment import (
    BINARY_PLAN,
    CENSUS_YEAR,
    YEAR_GROUP,
    attainment_rows,
    fit_cohort,
    generate_attainment,
    mean_as_printed,
    scores_with_mean,
)
from pipeline.generate.linked_census import census_pupils
from pipeline.ingest import ExtractError, ingest_source
from pipeline.pseudonymise import pseudonym as keyed_pseudonym
from pipeline.resources import SendWarehouse
from pipeline.sources.attainment import attainment_contract, attainment_results
from pipeline.upn import check_letter

import source_support
from source_support import QUARANTINE_TEXT, assert_ingest_metadata, quarantine

KEY = b"test-key-0123456789abcdef"
REPO = Path(__file__).resolve().parent.parent
HEADER = ["academic_year", "upn", "key_stage", "measure", "result"]
FILE = "attainment/attainment_2021-22.csv"


def upn(serial: int) -> str:
    digits = f"857200117{serial:03d}"
    return check_letter(digits) + digits


def result(n: int, **changes) -> dict:
    row = {"academic_year": "2021/22", "upn": upn(n), "key_stage": "KS2", "measure": "RWM", "result": "Y"}
    row.update(changes)
    return row


def write_csv(path: Path, rows: list[dict], header: list[str] = HEADER, encoding: str = "utf-8") -> Path:
    return source_support.write_csv(path, rows, header, encoding)


def ingest(raw: Path, con):
    return ingest_source(con, attainment_contract(KEY), raw)


def pseudonym(value: str) -> int:
    return keyed_pseudonym(KEY, value)


# ---------- the contract ----------


def test_a_good_file_loads_each_result_as_its_measure_reads_it(tmp_path, con):
    rows = [
        result(1, key_stage="eyfs", measure="gld", result="N"),
        result(2, key_stage="KS1", measure="READING", result="true"),
        result(3, academic_year="202122"),
        result(4, key_stage="KS4", measure="ATT8", result="43.5"),
        result(4, key_stage="KS4", measure="P8", result="-0.17"),
        result(5, key_stage="KS4", measure="ATT8", result="0"),
        result(5, key_stage="KS4", measure="P8", result="+1.2"),
    ]
    write_csv(tmp_path / FILE, rows)
    [loaded] = ingest(tmp_path, con)
    assert (loaded.rows_read, loaded.rows_loaded, loaded.rows_quarantined) == (7, 7, 0)
    got = con.execute(
        "SELECT pupil_id, time_period, key_stage, measure, met_expected_standard, score::VARCHAR "
        "FROM raw.attainment_results ORDER BY source_row"
    ).fetchall()
    assert got == [
        (pseudonym(upn(1)), 202122, "EYFS", "GLD", False, None),
        (pseudonym(upn(2)), 202122, "KS1", "READING", True, None),
        (pseudonym(upn(3)), 202122, "KS2", "RWM", True, None),
        (pseudonym(upn(4)), 202122, "KS4", "ATT8", None, "43.50"),
        (pseudonym(upn(4)), 202122, "KS4", "P8", None, "-0.17"),
        (pseudonym(upn(5)), 202122, "KS4", "ATT8", None, "0.00"),
        (pseudonym(upn(5)), 202122, "KS4", "P8", None, "1.20"),
    ]


def test_no_upn_or_name_is_stored(tmp_path, con):
    header = [*HEADER, "surname", "candidate_number"]
    write_csv(tmp_path / FILE, [result(1) | {"surname": "Oyelaran-Price", "candidate_number": "4417"}], header=header)
    [loaded] = ingest(tmp_path, con)
    assert loaded.rows_loaded == 1 and set(loaded.extra_columns) == {"surname", "candidate_number"}
    columns = {r[0] for r in con.execute("SELECT column_name FROM (DESCRIBE raw.attainment_results)").fetchall()}
    assert "upn" not in columns and "surname" not in columns
    text = " ".join(str(v) for row in con.execute("SELECT * FROM raw.attainment_results").fetchall() for v in row)
    for value in (upn(1), upn(1)[1:], "Oyelaran", "4417"):
        assert value not in text


BAD_ROWS = [
    ({"academic_year": ""}, "academic_year", "required"),
    ({"academic_year": "2022/21"}, "academic_year", "not_an_academic_year"),
    ({"upn": ""}, "upn", "required"),
    ({"upn": ("B" if upn(3)[0] == "A" else "A") + upn(3)[1:]}, "upn", "upn_check_letter_invalid"),
    ({"upn": "857200117003"}, "upn", "upn_not_13_characters_letter_then_digits"),
    ({"key_stage": ""}, "key_stage", "required"),
    ({"key_stage": "KS3"}, "key_stage", "code_not_allowed"),
    ({"measure": ""}, "measure", "required"),
    ({"measure": "SPAG"}, "measure", "code_not_allowed"),
    ({"measure": "GLD"}, "measure", "measure_not_of_key_stage"),
    ({"key_stage": "KS1", "measure": "ATT8", "result": "40"}, "measure", "measure_not_of_key_stage"),
    ({"result": ""}, "result", "required"),
    ({"result": "met"}, "result", "result_not_y_or_n"),
    ({"result": "105"}, "result", "result_not_y_or_n"),
    ({"key_stage": "KS4", "measure": "ATT8", "result": "Y"}, "result", "result_not_a_score"),
    ({"key_stage": "KS4", "measure": "ATT8", "result": "43.333"}, "result", "result_not_a_score"),
    ({"key_stage": "KS4", "measure": "ATT8", "result": "-1"}, "result", "attainment8_outside_0_to_90"),
    ({"key_stage": "KS4", "measure": "ATT8", "result": "90.5"}, "result", "attainment8_outside_0_to_90"),
    ({"key_stage": "KS4", "measure": "P8", "result": "-12.40"}, "result", "progress8_outside_minus_10_to_10"),
    ({"key_stage": "KS4", "measure": "P8", "result": "10.01"}, "result", "progress8_outside_minus_10_to_10"),
    ({"key_stage": "KS4", "measure": "P8", "result": "100"}, "result", "result_not_a_score"),
]


@pytest.mark.parametrize(
    ("change", "column", "rule"), BAD_ROWS, ids=[f"{r[1]}-{r[2]}-{i}" for i, r in enumerate(BAD_ROWS)]
)
def test_bad_row_is_quarantined_with_its_rule_never_its_value(tmp_path, con, change, column, rule):
    write_csv(tmp_path / FILE, [result(1), result(3, **change), result(4)])
    [loaded] = ingest(tmp_path, con)
    assert (loaded.rows_read, loaded.rows_loaded, loaded.rows_quarantined) == (3, 2, 1)
    assert (FILE, 3, column, rule) in quarantine(con)
    assert {r[1] for r in quarantine(con)} == {3}
    assert con.execute("SELECT count(*) FROM raw.attainment_results").fetchone()[0] == 2
    text = " ".join(str(v) for row in con.execute(QUARANTINE_TEXT).fetchall() for v in row)
    for value in change.values():
        if len(value.strip()) >= 4:
            assert value not in text


def test_a_result_given_twice_quarantines_both_rows(tmp_path, con):
    rows = [result(1), result(2), result(2, result="N"), result(2, key_stage="KS1", measure="MATHS")]
    write_csv(tmp_path / FILE, rows)
    [loaded] = ingest(tmp_path, con)
    assert (loaded.rows_loaded, loaded.rows_quarantined) == (2, 2)
    assert [r[1:] for r in quarantine(con)] == [
        (3, "measure", "result_repeated_in_extract"),
        (4, "measure", "result_repeated_in_extract"),
    ]


def test_a_result_given_twice_with_its_year_written_two_ways_quarantines_both_rows(tmp_path, con):
    """2021/22 and 202122 are one academic year once loaded: the rule compared the text, and both loaded."""
    rows = [result(1), result(2, academic_year="2021/22"), result(2, academic_year="202122", result="N")]
    write_csv(tmp_path / FILE, rows)
    [loaded] = ingest(tmp_path, con)
    assert (loaded.rows_loaded, loaded.rows_quarantined) == (1, 2)
    assert [r[1:] for r in quarantine(con)] == [
        (3, "measure", "result_repeated_in_extract"),
        (4, "measure", "result_repeated_in_extract"),
    ]


def test_a_broken_header_fails_naming_file_and_column_and_loads_nothing(tmp_path, con):
    write_csv(tmp_path / FILE, [result(1)], header=[h for h in HEADER if h != "measure"])
    with pytest.raises(ExtractError, match=rf"{FILE}: row 1 \(header\) is missing required column\(s\) measure"):
        ingest(tmp_path, con)
    assert con.execute("SELECT count(*) FROM raw.file_ledger").fetchone()[0] == 0
    tables = con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = 'attainment_results'")
    assert tables.fetchone()[0] == 0


def test_xlsx_with_numeric_scores(tmp_path, con):
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(HEADER)
    sheet.append(["2021/22", upn(1), "KS4", "ATT8", 51.5])
    sheet.append(["2021/22", upn(1), "KS4", "P8", 0.25])
    sheet.append(["2021/22", upn(2), "KS4", "ATT8", 91])
    path = tmp_path / "attainment" / "attainment_2021-22.xlsx"
    path.parent.mkdir(parents=True)
    book.save(path)
    [loaded] = ingest(tmp_path, con)
    assert (loaded.rows_loaded, loaded.rows_quarantined) == (2, 1)
    assert ("attainment/attainment_2021-22.xlsx", 4, "result", "attainment8_outside_0_to_90") in quarantine(con)
    scores = con.execute("SELECT score::VARCHAR FROM raw.attainment_results ORDER BY source_row").fetchall()
    assert scores == [("51.50",), ("0.25",)]


def test_the_same_file_dropped_again_is_skipped(tmp_path, con):
    write_csv(tmp_path / FILE, [result(1), result(2), result(3, result="maybe")])
    first = ingest(tmp_path, con)
    second = ingest(tmp_path, con)
    assert [r.status for r in first] == ["loaded"] and [r.status for r in second] == ["unchanged"]
    assert con.execute("SELECT count(*) FROM raw.attainment_results").fetchone()[0] == 2
    assert con.execute("SELECT count(*) FROM raw.quarantine").fetchone()[0] == 1
    assert con.execute("SELECT count(*) FROM raw.file_ledger").fetchone()[0] == 1


def test_a_corrected_extract_replaces_its_academic_year_only(tmp_path, con):
    earlier = "attainment/attainment_2018-19.csv"
    write_csv(tmp_path / FILE, [result(1), result(2)])
    write_csv(tmp_path / earlier, [result(1, academic_year="2018/19")])
    ingest(tmp_path, con)
    corrected = "attainment/attainment_2021-22_amended.csv"
    write_csv(tmp_path / corrected, [result(1, result="N"), result(2), result(3)])
    results = {r.file_name: r for r in ingest(tmp_path, con)}
    assert results[corrected].superseded_files == (FILE,)
    counts = con.execute(
        "SELECT time_period, source_file, count(*), count(*) FILTER (WHERE met_expected_standard) "
        "FROM raw.attainment_results GROUP BY ALL ORDER BY 1"
    ).fetchall()
    assert counts == [(201819, earlier, 1, 1), (202122, corrected, 3, 2)]


# ---------- the Dagster asset ----------


def test_asset_loads_the_folder_and_fails_on_an_empty_one(tmp_path, monkeypatch):
    monkeypatch.setenv("SEND_PSEUDONYM_KEY", KEY.decode())
    write_csv(tmp_path / "raw" / FILE, [result(1), result(2), result(3, measure="P8")])
    warehouse = SendWarehouse(raw_dir=str(tmp_path / "raw"), warehouse_dir=str(tmp_path / "warehouse"))
    outcome = dg.materialize([attainment_results], resources={"warehouse": warehouse})
    assert outcome.success
    [materialization] = [e.event_specific_data.materialization for e in outcome.get_asset_materialization_events()]
    assert materialization.asset_key == dg.AssetKey(["raw", "attainment_results"])
    meta = {k: v.value for k, v in materialization.metadata.items()}
    assert_ingest_metadata(meta, quarantined=1)

    empty = SendWarehouse(raw_dir=str(tmp_path / "nothing"), warehouse_dir=str(tmp_path / "warehouse2"))
    with pytest.raises(dg.Failure, match="no attainment extracts"):
        dg.materialize([attainment_results], resources={"warehouse": empty})


def test_dbt_source_carries_the_asset_key():
    folder = REPO / "dbt_project" / "models" / "staging" / "attainment"
    [source] = yaml.safe_load((folder / "_attainment__sources.yml").read_text())["sources"]
    [table] = source["tables"]
    assert (source["schema"], table["name"]) == ("raw", "attainment_results")
    assert table["meta"]["dagster"]["asset_key"] == list(attainment_results.key.path)


# ---------- the generator's helpers ----------


def test_fit_cohort_keeps_the_plan_when_the_census_holds_enough_pupils():
    assert fit_cohort(19, 6, 19) == (19, 6)
    assert fit_cohort(19, 6, 400) == (19, 6)


def test_fit_cohort_takes_every_pupil_and_the_nearest_share_when_it_does_not():
    assert fit_cohort(19, 6, 18) == (18, 6)  # 33.3% is nearer 31.6% than 27.8%
    assert fit_cohort(6, 2, 4) == (4, 1)  # 25% and 50%: 25% is nearer a third
    assert fit_cohort(23, 1, 10) == (10, 0)  # 0% is nearer 4.3% than 10%
    assert fit_cohort(4, 2, 0) == (0, 0)


@pytest.mark.parametrize(
    ("target", "n", "step", "bounds"),
    [
        ("43.3", 40, "0.5", ("0", "90")),
        ("28.7", 13, "0.5", ("0", "90")),
        ("0.21", 37, "0.01", ("-5", "5")),
        ("-0.17", 12, "0.01", ("-5", "5")),
        ("89.8", 3, "0.5", ("0", "90")),
    ],
)
def test_scores_have_exactly_the_planned_mean_when_rounded(target, n, step, bounds):
    rng = np.random.default_rng(5)
    scores = scores_with_mean(rng.standard_normal(n), Decimal(target), 12.0, Decimal(step),
                              (Decimal(bounds[0]), Decimal(bounds[1])), rng)  # fmt: skip
    assert len(scores) == n
    assert all(Decimal(bounds[0]) <= s <= Decimal(bounds[1]) and s % Decimal(step) == 0 for s in scores)
    assert mean_as_printed(scores, -Decimal(target).as_tuple().exponent) == Decimal(target)


@pytest.mark.parametrize("target", ["91", "89.9"])  # beyond the bounds; 89.8333 or 90 from three half-points
def test_a_mean_out_of_reach_is_refused(target):
    with pytest.raises(ValueError, match="out of reach"):
        scores_with_mean(np.zeros(3), Decimal(target), 1.0, Decimal("0.5"), (Decimal(0), Decimal(90)),
                         np.random.default_rng(1))  # fmt: skip


def test_mean_as_printed_rounds_half_up():
    assert mean_as_printed(["0.5", "0.0"], 1) == Decimal("0.3")
    assert mean_as_printed(["-0.175", "-0.175"], 2) == Decimal("-0.18")


# ---------- the generator ----------


def test_generator_is_deterministic_and_its_file_loads_without_quarantine(tmp_path, con):
    [path] = generate_attainment(tmp_path / "a", seed=2023)
    [again] = generate_attainment(tmp_path / "b", seed=2023)
    assert path.name == "attainment_2021-22.csv" and path.read_bytes() == again.read_bytes()
    assert path.read_text().splitlines()[0] == ",".join(HEADER)
    [loaded] = ingest(tmp_path / "a", con)
    assert loaded.rows_quarantined == 0 and loaded.rows_loaded > 2000


def test_generated_pupils_are_census_pupils_of_the_right_year_group_and_sen_status():
    rows = attainment_rows(2023)
    census = census_pupils(2023, CENSUS_YEAR).set_index("upn")
    in_census = rows[rows.provision != "not in census"]
    assert in_census.upn.isin(census.index).all()
    assert (census.loc[in_census.upn, "ncyear_actual"].to_numpy() == in_census.key_stage.map(YEAR_GROUP)).all()
    assert (census.loc[in_census.upn, "sen_provision"].to_numpy() == in_census.provision).all()
    assert not rows[rows.provision == "not in census"].upn.isin(census.index).any()
    # KS1: the same pupils have a reading, a writing and a maths result
    ks1 = rows[rows.key_stage == "KS1"].groupby("upn").measure.nunique()
    assert (ks1 == len([m for (stage, m) in BINARY_PLAN if stage == "KS1"])).all()
    # Progress 8 only for pupils with an Attainment 8 score
    ks4 = rows[rows.key_stage == "KS4"]
    assert set(ks4.upn[ks4.measure == "P8"]) <= set(ks4.upn[ks4.measure == "ATT8"])
