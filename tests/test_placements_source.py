"""Placements: contract, quarantine, ledger, pseudonyms, amounts, the Dagster asset, the generator and the seed.

Small hand-made files in tmp_path for the contract; the generated Rutland extracts (with the census they link to)
built through dbt staging for the seed figures of sections 6.4, 6.5 and 9, which are read from
tests/fixtures/figures.yaml and recomputed here with SQL of the test's own.
"""

import shutil
from decimal import Decimal
from pathlib import Path

import dagster as dg
import duckdb
import numpy as np
import pytest
import yaml

from pipeline.generate.census import generate_census
from pipeline.generate.placements import generate_placements, weighted_pick
from pipeline.ingest import ExtractError, ingest_source
from pipeline.pseudonymise import pseudonym as keyed_pseudonym
from pipeline.resources import SendWarehouse
from pipeline.sources.census import census_contract
from pipeline.sources.placements import placements, placements_contract
from pipeline.upn import check_letter

import source_support
from source_support import assert_ingest_metadata, quarantine
from support import dbt

KEY = b"test-key-0123456789abcdef"
REPO = Path(__file__).resolve().parent.parent
FIGURES = yaml.safe_load((Path(__file__).parent / "fixtures" / "figures.yaml").read_text())
HEADER = [
    "extract_date", "placement_id", "person_id", "upn", "dob", "has_ehcp", "primary_need", "setting_type",
    "in_county", "start_date", "end_date", "annual_cost_gbp",
]  # fmt: skip
FILE = "placements/placements_2022-12-31.csv"


def upn(serial: int) -> str:
    digits = f"857200122{serial:03d}"
    return check_letter(digits) + digits


def placement(n: int, **changes) -> dict:
    row = {
        "extract_date": "2022-12-31", "placement_id": f"PL{100000 + n}", "person_id": f"{200000 + n}",
        "upn": upn(n), "dob": "2010-05-17", "has_ehcp": "Y", "primary_need": "ASD", "setting_type": "INMSS",
        "in_county": "N", "start_date": "2019-09-05", "end_date": "", "annual_cost_gbp": "£45,230.00",
    }  # fmt: skip
    row.update(changes)
    return row


def write_csv(path: Path, rows: list[dict], header: list[str] = HEADER, encoding: str = "utf-8") -> Path:
    return source_support.write_csv(path, rows, header, encoding)


def ingest(raw: Path, con):
    return ingest_source(con, placements_contract(KEY), raw)


def stored_text(con, table: str) -> str:
    return " ".join(str(v) for row in con.execute(f"SELECT * FROM {table}").fetchall() for v in row)


def pseudonym(value: str, key: bytes = KEY) -> int:
    return keyed_pseudonym(key, value)


# ---------- the contract ----------


def test_a_good_file_loads_pseudonymised_with_birth_month(tmp_path, con):
    rows = [
        placement(1),
        placement(2, upn="", has_ehcp="N", primary_need="NSA", setting_type="ap", in_county="y",
                  end_date="2023-07-21", annual_cost_gbp="x"),
        placement(3, has_ehcp="false", primary_need="", setting_type="ERP", annual_cost_gbp=""),
    ]  # fmt: skip
    write_csv(tmp_path / FILE, rows)
    [result] = ingest(tmp_path, con)
    assert (result.rows_read, result.rows_loaded, result.rows_quarantined) == (3, 3, 0)
    got = con.execute(
        """
        SELECT placement_id, person_id, pupil_id, extract_date::VARCHAR, birth_month::VARCHAR, has_ehcp,
               primary_need, setting_type, in_county, start_date::VARCHAR, end_date::VARCHAR, annual_cost_gbp
        FROM raw.placements ORDER BY source_row
        """
    ).fetchall()
    assert got[0] == (pseudonym("PL100001"), pseudonym("200001"), pseudonym(upn(1)), "2022-12-31", "2010-05-01",
                      True, "ASD", "INMSS", False, "2019-09-05", None, Decimal("45230.00"))  # fmt: skip
    assert got[1][2] is None and got[1][5:] == (False, "NSA", "AP", True, "2019-09-05", "2023-07-21", None)
    assert got[2][5:8] == (False, None, "ERP") and got[2][-1] is None


def test_amounts_as_councils_print_them_and_symbols_read_as_missing_never_zero(tmp_path, con):
    amounts = ["£45,230.50", "12 000", "9999.5", "£0", "0", "c", "X", "z", "", "1 250 000"]
    write_csv(tmp_path / FILE, [placement(i, annual_cost_gbp=a) for i, a in enumerate(amounts, start=1)])
    [result] = ingest(tmp_path, con)
    assert result.rows_loaded == len(amounts)
    got = [r[0] for r in con.execute("SELECT annual_cost_gbp FROM raw.placements ORDER BY source_row").fetchall()]
    assert got == [Decimal("45230.50"), Decimal("12000"), Decimal("9999.50"), 0, 0, None, None, None, None,
                   Decimal("1250000")]  # fmt: skip


def test_no_identifier_name_or_birth_date_is_stored(tmp_path, con):
    header = [*HEADER, "child_name", "home_postcode"]
    row = placement(1) | {"child_name": "Jacob Ashworth-Lyle", "home_postcode": "LE15 6QZ"}
    write_csv(tmp_path / FILE, [row], header=header)
    [result] = ingest(tmp_path, con)
    assert result.rows_loaded == 1 and set(result.extra_columns) == {"child_name", "home_postcode"}
    columns = {r[0] for r in con.execute("SELECT column_name FROM (DESCRIBE raw.placements)").fetchall()}
    assert not columns & {"upn", "dob", "home_postcode", "child_name", "name", "postcode"}
    text = stored_text(con, "raw.placements")
    for value in (upn(1), "PL100001", "200001", "Ashworth", "LE15 6QZ", "LE15", "2010-05-17"):
        assert value not in text


BAD_ROWS = [
    ({"placement_id": ""}, "placement_id", "required"),
    ({"person_id": ""}, "person_id", "required"),
    ({"upn": ("B" if upn(3)[0] == "A" else "A") + upn(3)[1:]}, "upn", "upn_check_letter_invalid"),
    ({"upn": "A85720012200"}, "upn", "upn_not_13_characters_letter_then_digits"),
    ({"extract_date": ""}, "extract_date", "required"),
    ({"extract_date": "31/13/2022"}, "extract_date", "not_a_date"),
    ({"dob": "2023-01-05"}, "dob", "dob_after_extract_date"),
    ({"dob": "17.05.2010"}, "dob", "not_a_date"),
    ({"dob": ""}, "dob", "required"),
    ({"has_ehcp": "maybe"}, "has_ehcp", "not_true_or_false"),
    ({"has_ehcp": ""}, "has_ehcp", "required"),
    ({"primary_need": "DYSLEXIA"}, "primary_need", "code_not_allowed"),
    ({"primary_need": ""}, "primary_need", "required_with_ehcp"),
    ({"primary_need": "NSA"}, "primary_need", "nsa_only_without_ehcp"),
    ({"setting_type": "SPECIAL SCHOOL"}, "setting_type", "setting_type_not_allowed"),
    ({"setting_type": ""}, "setting_type", "required"),
    ({"in_county": "Rutland"}, "in_county", "not_true_or_false"),
    ({"in_county": ""}, "in_county", "required"),
    ({"start_date": ""}, "start_date", "required"),
    ({"start_date": "2019-09-31"}, "start_date", "not_a_date"),
    ({"start_date": "2009-09-05"}, "start_date", "start_date_before_dob"),
    ({"end_date": "2019-09-04"}, "end_date", "end_date_before_start_date"),
    ({"end_date": "soon"}, "end_date", "not_a_date"),
    ({"annual_cost_gbp": "£45,2x0"}, "annual_cost_gbp", "annual_cost_not_an_amount"),
    ({"annual_cost_gbp": "£1.234"}, "annual_cost_gbp", "annual_cost_not_an_amount"),
    ({"annual_cost_gbp": "123456789012345"}, "annual_cost_gbp", "annual_cost_not_an_amount"),
    ({"annual_cost_gbp": "-£4,500.00"}, "annual_cost_gbp", "annual_cost_negative"),
    ({"annual_cost_gbp": "(£4,500.00)"}, "annual_cost_gbp", "annual_cost_negative"),
    # a decimal comma or a mis-grouped number is not read as another amount (12,5 was 125.00; 1,250,50 125050.00)
    ({"annual_cost_gbp": "12,5"}, "annual_cost_gbp", "annual_cost_not_an_amount"),
    ({"annual_cost_gbp": "1,250,50"}, "annual_cost_gbp", "annual_cost_not_an_amount"),
    ({"annual_cost_gbp": "£1,2345.00"}, "annual_cost_gbp", "annual_cost_not_an_amount"),
    ({"annual_cost_gbp": "12 00"}, "annual_cost_gbp", "annual_cost_not_an_amount"),
]


@pytest.mark.parametrize(("change", "column", "rule"), BAD_ROWS, ids=[f"{r[1]}-{r[2]}" for r in BAD_ROWS])
def test_bad_row_is_quarantined_with_its_rule_never_its_value(tmp_path, con, change, column, rule):
    bad = placement(3, **change)
    write_csv(tmp_path / FILE, [placement(1), bad, placement(4)])
    [result] = ingest(tmp_path, con)
    assert (result.rows_read, result.rows_loaded, result.rows_quarantined) == (3, 2, 1)
    assert result.rows_read == result.rows_loaded + result.rows_quarantined
    assert (FILE, 3, column, rule) in quarantine(con)
    assert {r[1] for r in quarantine(con)} == {3}
    assert con.execute("SELECT count(*) FROM raw.placements").fetchone()[0] == 2
    text = stored_text(con, "raw.quarantine")
    assert "2022-12-31" in text  # the file name is there ...
    for value in change.values():
        if len(value.strip()) >= 4:  # ... the value is not (one- or two-character codes occur in any text)
            assert value not in text


def test_a_placement_id_given_twice_quarantines_both_rows(tmp_path, con):
    write_csv(tmp_path / FILE, [placement(1), placement(2), placement(3, placement_id="PL100002")])
    [result] = ingest(tmp_path, con)
    assert (result.rows_loaded, result.rows_quarantined) == (1, 2)
    assert [r[1:] for r in quarantine(con)] == [
        (3, "placement_id", "placement_id_repeated_in_extract"),
        (4, "placement_id", "placement_id_repeated_in_extract"),
    ]


def test_a_broken_header_fails_naming_file_and_column_and_loads_nothing(tmp_path, con):
    write_csv(tmp_path / FILE, [placement(1)], header=[h for h in HEADER if h != "setting_type"])
    with pytest.raises(ExtractError, match=rf"{FILE}: row 1 \(header\) is missing required column\(s\) setting_type"):
        ingest(tmp_path, con)
    assert con.execute("SELECT count(*) FROM raw.file_ledger").fetchone()[0] == 0
    tables = con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = 'placements'")
    assert tables.fetchone()[0] == 0


def test_a_file_without_its_end_date_column_fails_rather_than_every_placement_reading_as_open(tmp_path, con):
    """end_date was optional: a file naming it placement_end_date loaded every placement open (end_date NULL), the
    column only listed among the extra ones. Its values may be empty; the column must be there."""
    header = [h if h != "end_date" else "placement_end_date" for h in HEADER]
    rows = [{h if h != "end_date" else "placement_end_date": v for h, v in placement(1).items()}]
    write_csv(tmp_path / FILE, rows, header=header)
    with pytest.raises(ExtractError, match=rf"{FILE}: row 1 \(header\) is missing required column\(s\) end_date"):
        ingest(tmp_path, con)
    assert con.execute("SELECT count(*) FROM raw.file_ledger").fetchone()[0] == 0


def test_cp1252_export_with_pound_signs_and_council_headers(tmp_path, con):
    header = [h.replace("_", " ").title() for h in HEADER] + ["Case Worker"]
    rows = [
        {h.replace("_", " ").title(): v for h, v in placement(n, start_date=d).items()} | {"Case Worker": "Zoë"}
        for n, d in [(1, "2019-09-05"), (2, "05/09/2019"), (3, "2019-Sep-05 00:00:00")]
    ]
    path = write_csv(tmp_path / FILE, rows, header=header, encoding="cp1252")
    assert b"\xa3" in path.read_bytes()  # the Windows-1252 pound sign
    [result] = ingest(tmp_path, con)
    assert (result.rows_loaded, result.rows_quarantined) == (3, 0) and result.extra_columns == ("case_worker",)
    got = con.execute("SELECT DISTINCT start_date::VARCHAR, annual_cost_gbp FROM raw.placements").fetchall()
    assert got == [("2019-09-05", Decimal("45230.00"))]


def test_xlsx_first_sheet_header_on_first_non_empty_row(tmp_path, con):
    import datetime as dt

    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append([None])
    sheet.append(HEADER)
    good = placement(1)
    typed = {"person_id": 200001, "dob": dt.datetime(2010, 5, 17), "annual_cost_gbp": 45230.5}
    sheet.append([typed.get(h, good[h]) for h in HEADER])
    sheet.append(list(placement(2, in_county="perhaps").values()))
    path = tmp_path / "placements" / "placements_2022-12-31.xlsx"
    path.parent.mkdir(parents=True)
    book.save(path)
    [result] = ingest(tmp_path, con)
    assert (result.rows_read, result.rows_loaded, result.rows_quarantined) == (2, 1, 1)
    assert ("placements/placements_2022-12-31.xlsx", 4, "in_county", "not_true_or_false") in quarantine(con)
    row = con.execute("SELECT person_id, birth_month::VARCHAR, annual_cost_gbp FROM raw.placements").fetchone()
    assert row == (pseudonym("200001"), "2010-05-01", Decimal("45230.50"))


def test_the_same_file_dropped_again_is_skipped(tmp_path, con):
    write_csv(tmp_path / FILE, [placement(1), placement(2), placement(3, setting_type="SCHOOL")])
    first = ingest(tmp_path, con)
    second = ingest(tmp_path, con)
    assert [r.status for r in first] == ["loaded"] and [r.status for r in second] == ["unchanged"]
    assert con.execute("SELECT count(*) FROM raw.placements").fetchone()[0] == 2
    assert con.execute("SELECT count(*) FROM raw.quarantine").fetchone()[0] == 1
    assert con.execute("SELECT count(*) FROM raw.file_ledger").fetchone()[0] == 1


def test_a_corrected_extract_for_the_same_date_replaces_the_earlier_one(tmp_path, con):
    earlier = "placements/placements_2021-12-31.csv"
    write_csv(tmp_path / FILE, [placement(1), placement(2, setting_type="SCHOOL")])
    write_csv(tmp_path / earlier, [placement(1, extract_date="2021-12-31")])
    ingest(tmp_path, con)
    corrected = "placements/placements_2022-12-31_resent.csv"
    write_csv(tmp_path / corrected, [placement(1), placement(2), placement(3)])
    results = {r.file_name: r for r in ingest(tmp_path, con)}
    assert results[corrected].superseded_files == (FILE,)
    counts = con.execute(
        "SELECT extract_date::VARCHAR, source_file, count(*) FROM raw.placements GROUP BY ALL ORDER BY 1"
    ).fetchall()
    assert counts == [("2021-12-31", earlier, 1), ("2022-12-31", corrected, 3)]
    # the same file name corrected in place replaces its own rows and quarantine
    write_csv(tmp_path / earlier, [placement(1, extract_date="2021-12-31"), placement(5, extract_date="2021-12-31")])
    [again] = [r for r in ingest(tmp_path, con) if r.file_name == earlier]
    assert again.status == "loaded" and again.rows_loaded == 2
    assert con.execute("SELECT count(*) FROM raw.placements").fetchone()[0] == 5


def test_the_same_upn_gets_the_census_pseudonym(tmp_path, con):
    census_row = {
        "upn": upn(7), "laestab": "8572001", "census_date": "2023-01-19", "phase": "PRIMARY", "ncyear_actual": "6",
        "enrol_status": "C", "dob": "2010-05-17", "gender": "M", "sen_provision": "E", "sen_primary_need": "ASD",
        "fsm_eligible": "false", "pupil_premium": "false", "home_la_code": "857",
    }  # fmt: skip
    write_csv(tmp_path / "census" / "2023_spring.csv", [census_row], header=list(census_row))
    write_csv(tmp_path / FILE, [placement(7, upn=f" {upn(7).lower()} "), placement(8)])
    ingest_source(con, census_contract(KEY), tmp_path)
    ingest(tmp_path, con)
    linked = con.execute("SELECT count(*) FROM raw.placements JOIN raw.census_pupils USING (pupil_id)").fetchone()[0]
    assert linked == 1
    assert con.execute("SELECT pupil_id FROM raw.census_pupils").fetchone()[0] == pseudonym(upn(7))
    with duckdb.connect() as other:
        ingest_source(other, placements_contract(b"another-key-0123456789"), tmp_path)
        moved = other.execute("SELECT pupil_id FROM raw.placements ORDER BY source_row").fetchone()[0]
    assert moved != pseudonym(upn(7))


# ---------- the Dagster asset ----------


def test_asset_loads_the_folder_and_fails_on_an_empty_one(tmp_path, monkeypatch):
    monkeypatch.setenv("SEND_PSEUDONYM_KEY", KEY.decode())
    write_csv(tmp_path / "raw" / FILE, [placement(1), placement(2), placement(3, in_county="?")])
    warehouse = SendWarehouse(raw_dir=str(tmp_path / "raw"), warehouse_dir=str(tmp_path / "warehouse"))
    result = dg.materialize([placements], resources={"warehouse": warehouse})
    assert result.success
    [event] = result.get_asset_materialization_events()
    materialization = event.event_specific_data.materialization
    assert materialization.asset_key == dg.AssetKey(["raw", "placements"])
    meta = {k: v.value for k, v in materialization.metadata.items()}
    assert_ingest_metadata(meta, quarantined=1)

    empty = SendWarehouse(raw_dir=str(tmp_path / "nothing"), warehouse_dir=str(tmp_path / "warehouse2"))
    with pytest.raises(dg.Failure, match="no placements extracts"):
        dg.materialize([placements], resources={"warehouse": empty})


def test_dbt_source_carries_the_asset_key():
    folder = REPO / "dbt_project" / "models" / "staging" / "placements"
    [source] = yaml.safe_load((folder / "_placements__sources.yml").read_text())["sources"]
    [table] = source["tables"]
    assert (source["schema"], table["name"]) == ("raw", "placements")
    assert table["meta"]["dagster"]["asset_key"] == list(placements.key.path)


# ---------- the generator, through dbt staging, against the seed ----------


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Path:
    raw = tmp_path_factory.mktemp("raw")
    generate_census(raw, "rutland", 2023, years=[2023])
    generate_placements(raw, seed=2023)
    return raw


@pytest.fixture(scope="module")
def staged(generated, tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("dbt")
    warehouse = tmp / "send.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        for contract in (census_contract(KEY), placements_contract(KEY)):
            results = ingest_source(con, contract, generated)
            assert all(r.rows_quarantined == 0 for r in results), results
    built = dbt(warehouse, tmp, "build", "--select", "+stg_placements__placements", "+stg_census__pupils")
    assert built.returncode == 0, built.stdout[-4000:] + built.stderr[-2000:]
    return warehouse


@pytest.fixture
def warehouse(staged):
    con = duckdb.connect(str(staged), read_only=True)
    yield con
    con.close()


# Children with an EHC plan whose placement is open on the extract date; age from the birth month.
CURRENT_EHCP = """
    SELECT *, date_diff('month', birth_month, extract_date) // 12 AS age
    FROM staging.stg_placements__placements
    WHERE has_ehcp AND start_date <= extract_date AND (end_date IS NULL OR end_date >= extract_date)
"""


def test_generator_writes_one_extract_per_date_deterministically(generated, tmp_path):
    folder = generated / "placements"
    names = sorted(p.name for p in folder.iterdir())
    assert names == ["placements_2021-12-31.csv", "placements_2022-12-31.csv"]
    assert (folder / names[0]).read_text().splitlines()[0] == ",".join(HEADER)
    again = generate_placements(tmp_path / "a", seed=2023)
    assert [p.read_bytes() for p in again] == [(folder / n).read_bytes() for n in names]
    other = generate_placements(tmp_path / "b", seed=7)
    assert other[1].read_bytes() != (folder / names[1]).read_bytes()


def test_out_of_county_special_schools_and_erp_match_the_seed(warehouse):
    seed = FIGURES["placements_6_4"]
    rows = warehouse.execute(
        f"""
        SELECT extract_date::VARCHAR,
               count(DISTINCT person_id) FILTER (WHERE setting_type IN ('LA_SPECIAL', 'INMSS') AND NOT in_county),
               count(DISTINCT person_id) FILTER (WHERE setting_type = 'ERP')
        FROM ({CURRENT_EHCP}) GROUP BY 1 ORDER BY 1
        """
    ).fetchall()
    expected = {f"{month}-31": count for month, count in seed["out_of_county_special_ehcp"].items()}
    assert {date: ooc for date, ooc, _ in rows} == expected
    assert dict((date, erp) for date, _, erp in rows)["2022-12-31"] == seed["designated_special_or_erp_ehcp"]


def test_post16_december_2022_matches_the_seed(warehouse):
    seed = FIGURES["post16_6_5"]
    aged, college = warehouse.execute(
        f"""
        SELECT count(DISTINCT person_id) FILTER (WHERE age BETWEEN 16 AND 25),
               count(DISTINCT person_id) FILTER (WHERE age BETWEEN 16 AND 25
                                                 AND setting_type IN ('FE_COLLEGE', 'SPI', 'AP'))
        FROM ({CURRENT_EHCP}) WHERE extract_date = DATE '2022-12-31'
        """
    ).fetchone()
    assert (aged, college) == (seed["ehcp_aged_16_25"], seed["in_college_or_alternative"])
    assert round(100 * college / aged) == 91  # as the seed prints it


def test_share_placed_in_out_of_county_special_schools_matches_the_seed(warehouse):
    ooc, ehcp = warehouse.execute(
        f"""
        SELECT count(DISTINCT person_id) FILTER (WHERE setting_type IN ('LA_SPECIAL', 'INMSS') AND NOT in_county),
               count(DISTINCT person_id)
        FROM ({CURRENT_EHCP}) WHERE extract_date = DATE '2022-12-31'
        """
    ).fetchone()
    assert round(100 * ooc / ehcp) == FIGURES["expenditure_9"]["ehcp_out_of_county_special_pct"]


def test_staging_status_age_and_groups_agree_with_the_tests_own_reading(warehouse):
    mismatches = warehouse.execute(
        """
        SELECT count(*) FILTER (WHERE is_current <> (start_date <= extract_date
                                                     AND (end_date IS NULL OR end_date >= extract_date))),
               count(*) FILTER (WHERE age_at_extract <> date_diff('month', birth_month, extract_date) // 12),
               count(*) FILTER (WHERE (setting_group = 'special_school') <> (setting_type IN ('LA_SPECIAL', 'INMSS'))),
               count(*) FILTER (WHERE (setting_group IN ('college', 'alternative_provision'))
                                      <> (setting_type IN ('FE_COLLEGE', 'SPI', 'AP'))),
               count(*) FILTER (WHERE primary_need = 'AUT')
        FROM staging.stg_placements__placements
        """
    ).fetchone()
    assert mismatches == (0, 0, 0, 0, 0)
    # both kinds of row are there: the current placements and the ones that ended in the year before
    kinds = warehouse.execute("SELECT DISTINCT is_current FROM staging.stg_placements__placements").fetchall()
    assert sorted(kinds) == [(False,), (True,)]


def test_generated_children_link_to_the_census(warehouse):
    linked = warehouse.execute(
        f"""
        SELECT count(DISTINCT pupil_id) FROM ({CURRENT_EHCP})
        WHERE extract_date = DATE '2022-12-31'
          AND pupil_id IN (SELECT pupil_id FROM staging.stg_census__pupils WHERE sen_provision = 'E')
        """
    ).fetchone()[0]
    assert linked >= 100  # the census's resident EHCP pupils under 16 carry their UPN into the placements


def test_dbt_tests_fail_on_a_repeated_placement_and_an_unknown_setting(staged, tmp_path):
    broken = tmp_path / "broken.duckdb"
    shutil.copy(staged, broken)
    with duckdb.connect(str(broken)) as con:
        con.execute("INSERT INTO raw.placements SELECT * FROM raw.placements LIMIT 1")
        con.execute("UPDATE raw.placements SET setting_type = 'HOSPITAL' WHERE source_row = 5")
    result = dbt(broken, tmp_path, "test", "--select", "stg_placements__placements")
    assert result.returncode != 0
    failed = [line for line in result.stdout.splitlines() if " FAIL " in line]
    assert any("unique_combination_stg_placements__placements" in line for line in failed), failed
    assert any("accepted_values_stg_placements__placements_setting_type" in line for line in failed), failed
    assert len(failed) == 2, failed


def test_weighted_pick_takes_exactly_the_count_asked_and_refuses_more_than_there_are():
    rng = np.random.default_rng(1)
    assert weighted_pick(rng, np.array([1.0, 0.0, 5.0]), 3).tolist() == [0, 1, 2]
    assert weighted_pick(rng, np.array([1.0, 0.0, 5.0]), 0).tolist() == []
    with pytest.raises(ValueError, match="^cannot pick 4 of 3$"):
        weighted_pick(rng, np.array([1.0, 0.0, 5.0]), 4)
    with pytest.raises(ValueError, match="^cannot pick -1 of 3$"):
        weighted_pick(rng, np.ones(3), -1)
