"""LD annual health checks: contract, quarantine, pseudonyms, corrections, the Dagster asset and the generator.

Small hand-made files in tmp_path for the contract; the generated Rutland extract for the seed figure of section
7.2, read from tests/fixtures/figures.yaml (the mart that reproduces it is tested in tests/test_marts_ehcp.py).
"""

from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import dagster as dg
import pytest
import yaml

from pipeline.generate import calibration as cal
from pipeline.generate.census import SCALES
from pipeline.generate.health_checks import RUTLAND, TEST_RANGE, generate_health_checks, plan, registers
from pipeline.ingest import ExtractError, ingest_source
from pipeline.nhs_number import is_valid_nhs_number
from pipeline.pseudonymise import pseudonym
from pipeline.resources import SendWarehouse
from pipeline.sources.health_checks import health_checks_contract, ld_health_checks

import source_support
from source_support import assert_ingest_metadata, quarantine

KEY = b"test-key-0123456789abcdef"
REPO = Path(__file__).resolve().parent.parent
FIGURES = yaml.safe_load((Path(__file__).parent / "fixtures" / "figures.yaml").read_text())
HEADER = ["nhs_number", "date_of_birth", "financial_year", "health_check_date"]
FILE = "health_checks/ld_health_checks_2022-23.csv"
# NHS England's test numbers (999 ...), valid check digits
NUMBERS = ("9990000182", "9990000247", "9990000336", "9990000425", "9990000514")


def young_person(n: int, **changes) -> dict:
    row = {"nhs_number": NUMBERS[n], "date_of_birth": "14/06/2006", "financial_year": "2022-23",
           "health_check_date": "12/10/2022"}  # fmt: skip
    row.update(changes)
    return row


def write_csv(path: Path, rows: list[dict], header: list[str] = HEADER, encoding: str = "utf-8") -> Path:
    return source_support.write_csv(path, rows, header, encoding)


def ingest(raw: Path, con):
    return ingest_source(con, health_checks_contract(KEY), raw)


def stored(con) -> list[tuple]:
    return con.execute(
        "SELECT person_id, financial_year, birth_month::VARCHAR, health_check_date::VARCHAR FROM raw.ld_health_checks "
        "ORDER BY source_file, source_row"
    ).fetchall()


def test_the_numbers_of_these_tests_are_valid():
    assert all(is_valid_nhs_number(n) for n in NUMBERS)


# ---------- the contract ----------


def test_a_good_file_loads_pseudonymised_with_birth_month_and_the_financial_year(tmp_path, con):
    rows = [
        young_person(0),
        young_person(1, nhs_number="999 000 0247", date_of_birth="2001-01-31", financial_year="2022/23",
                     health_check_date=""),
        young_person(2, date_of_birth="2009-03-31", financial_year="202223", health_check_date="2023-Mar-31 00:00:00"),
    ]  # fmt: skip
    write_csv(tmp_path / FILE, rows)
    [result] = ingest(tmp_path, con)
    assert (result.rows_read, result.rows_loaded, result.rows_quarantined) == (3, 3, 0)
    assert stored(con) == [
        (pseudonym(KEY, NUMBERS[0]), "2022-23", "2006-06-01", "2022-10-12"),
        (pseudonym(KEY, NUMBERS[1]), "2022-23", "2001-01-01", None),
        (pseudonym(KEY, NUMBERS[2]), "2022-23", "2009-03-01", "2023-03-31"),
    ]


def test_no_nhs_number_or_date_of_birth_is_stored(tmp_path, con):
    write_csv(tmp_path / FILE, [young_person(0), young_person(1, nhs_number="999 000 0247")])
    ingest(tmp_path, con)
    text = " ".join(str(v) for row in con.execute("SELECT * FROM raw.ld_health_checks").fetchall() for v in row)
    for number in NUMBERS[:2]:
        assert number not in text and number[:3] + " " + number[3:6] not in text
    assert "2006-06-14" not in text
    columns = [r[0] for r in con.execute("DESCRIBE raw.ld_health_checks").fetchall()]
    assert columns == ["person_id", "financial_year", "birth_month", "health_check_date", "source_file", "source_row"]


BAD_ROWS = [
    ({"nhs_number": ""}, "nhs_number", "required"),
    ({"nhs_number": "999000018"}, "nhs_number", "nhs_number_not_10_digits"),
    ({"nhs_number": "999-000-0182"}, "nhs_number", "nhs_number_not_10_digits"),
    ({"nhs_number": "485 777 3456"}, "nhs_number", "nhs_number_check_digit_invalid"),  # the check digit is 7
    ({"nhs_number": "1000000010"}, "nhs_number", "nhs_number_check_digit_invalid"),  # no check digit is valid
    ({"date_of_birth": ""}, "date_of_birth", "required"),
    ({"date_of_birth": "31/02/2006"}, "date_of_birth", "not_a_date"),
    ({"financial_year": ""}, "financial_year", "required"),
    ({"financial_year": "2022-24"}, "financial_year", "not_a_financial_year"),
    ({"financial_year": "2022"}, "financial_year", "not_a_financial_year"),
    ({"date_of_birth": "01/04/2009"}, "date_of_birth", "not_aged_14_to_25_on_31_march"),  # 13 on 31 March 2023
    ({"date_of_birth": "31/03/1997"}, "date_of_birth", "not_aged_14_to_25_on_31_march"),  # 26 on 31 March 2023
    ({"date_of_birth": "01/01/2024"}, "date_of_birth", "not_aged_14_to_25_on_31_march"),  # not born yet
    ({"health_check_date": "2022-10-32"}, "health_check_date", "not_a_date"),
    ({"health_check_date": "31/03/2022"}, "health_check_date", "health_check_date_outside_financial_year"),
    ({"health_check_date": "01/04/2023"}, "health_check_date", "health_check_date_outside_financial_year"),
]


@pytest.mark.parametrize(("change", "column", "rule"), BAD_ROWS, ids=[f"{r[2]}-{r[0]}" for r in BAD_ROWS])
def test_a_bad_row_is_quarantined_with_its_rule_never_its_value(tmp_path, con, change, column, rule):
    write_csv(tmp_path / FILE, [young_person(0), young_person(1, **change), young_person(2)])
    [result] = ingest(tmp_path, con)
    assert (result.rows_read, result.rows_loaded, result.rows_quarantined) == (3, 2, 1)
    assert quarantine(con) == [(FILE, 3, column, rule)]
    assert [row[0] for row in stored(con)] == [pseudonym(KEY, NUMBERS[0]), pseudonym(KEY, NUMBERS[2])]


def test_the_age_range_is_14_to_25_on_31_march_inclusive(tmp_path, con):
    rows = [young_person(0, date_of_birth="31/03/2009"), young_person(1, date_of_birth="01/04/1997"),
            young_person(2, date_of_birth="31/03/2008", financial_year="2021-22", health_check_date="")]  # fmt: skip
    write_csv(tmp_path / FILE, rows)
    [result] = ingest(tmp_path, con)
    assert (result.rows_loaded, result.rows_quarantined) == (3, 0)


def test_the_same_person_twice_in_a_year_quarantines_both_rows_but_another_year_is_kept(tmp_path, con):
    rows = [
        young_person(0),
        young_person(0, nhs_number="999 000 0182", health_check_date=""),  # the same number, written with spaces
        young_person(0, financial_year="2021-22", health_check_date="01/04/2021"),
        young_person(1),
    ]
    write_csv(tmp_path / FILE, rows)
    [result] = ingest(tmp_path, con)
    assert (result.rows_loaded, result.rows_quarantined) == (2, 2)
    assert quarantine(con) == [
        (FILE, 2, "nhs_number", "person_repeated_in_financial_year"),
        (FILE, 3, "nhs_number", "person_repeated_in_financial_year"),
    ]
    assert [row[:2] for row in stored(con)] == [(pseudonym(KEY, NUMBERS[0]), "2021-22"),
                                                (pseudonym(KEY, NUMBERS[1]), "2022-23")]  # fmt: skip


def test_a_broken_header_fails_naming_file_and_column_and_loads_nothing(tmp_path, con):
    write_csv(tmp_path / FILE, [young_person(0)], header=[h for h in HEADER if h != "health_check_date"])
    with pytest.raises(
        ExtractError, match=rf"{FILE}: row 1 \(header\) is missing required column\(s\) health_check_date"
    ):
        ingest(tmp_path, con)
    assert con.execute("SELECT count(*) FROM raw.file_ledger").fetchone()[0] == 0
    tables = con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = 'ld_health_checks'")
    assert tables.fetchone()[0] == 0


def test_a_file_that_cannot_be_read_fails_naming_file_row_and_column(tmp_path, con):
    path = write_csv(tmp_path / FILE, [young_person(n) for n in range(5)])
    lines = path.read_text().splitlines()
    lines[3] = lines[3].replace(",14/06/2006,", ',"14/06/2006,', 1)  # row 4: a quote opened and never closed
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(ExtractError, match=rf"{FILE}: row 4, column date_of_birth: a quoted value is not closed"):
        ingest(tmp_path, con)
    assert con.execute("SELECT count(*) FROM raw.file_ledger").fetchone()[0] == 0
    semicolons = tmp_path / "other" / FILE
    semicolons.parent.mkdir(parents=True)
    semicolons.write_text("nhs_number;date_of_birth;financial_year;health_check_date\n9990000182;14/06/2006;2022-23;\n")
    with pytest.raises(ExtractError, match=rf"{FILE}: row 1 \(header\) is not separated by commas"):
        ingest(tmp_path / "other", con)


def test_xlsx_in_the_same_layout(tmp_path, con):
    import datetime as dt

    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(HEADER)
    sheet.append([NUMBERS[0], dt.datetime(2006, 6, 14), "2022-23", dt.datetime(2022, 10, 12)])
    sheet.append([NUMBERS[1], dt.datetime(2012, 6, 14), "2022-23", None])
    path = tmp_path / "health_checks" / "ld_health_checks_2022-23.xlsx"
    path.parent.mkdir(parents=True)
    book.save(path)
    [result] = ingest(tmp_path, con)
    assert (result.rows_loaded, result.rows_quarantined) == (1, 1)
    assert quarantine(con) == [
        ("health_checks/ld_health_checks_2022-23.xlsx", 3, "date_of_birth", "not_aged_14_to_25_on_31_march")
    ]
    assert stored(con) == [(pseudonym(KEY, NUMBERS[0]), "2022-23", "2006-06-01", "2022-10-12")]


def test_a_corrected_extract_replaces_its_financial_year_only(tmp_path, con):
    earlier = "health_checks/ld_health_checks_2021-22.csv"
    write_csv(tmp_path / FILE, [young_person(0), young_person(1)])
    write_csv(tmp_path / earlier, [young_person(0, financial_year="2021-22", health_check_date="")])
    ingest(tmp_path, con)
    corrected = "health_checks/ld_health_checks_2022-23_corrected.csv"
    write_csv(tmp_path / corrected, [young_person(0), young_person(1), young_person(2, financial_year="2022/23")])
    results = {r.file_name: r for r in ingest(tmp_path, con)}
    assert results[corrected].superseded_files == (FILE,)
    counts = con.execute(
        "SELECT financial_year, source_file, count(*) FROM raw.ld_health_checks GROUP BY ALL ORDER BY 1"
    ).fetchall()
    assert counts == [("2021-22", earlier, 1), ("2022-23", corrected, 3)]


# ---------- the Dagster asset ----------


def test_asset_loads_the_folder_and_fails_on_an_empty_one(tmp_path, monkeypatch):
    monkeypatch.setenv("SEND_PSEUDONYM_KEY", KEY.decode())
    write_csv(tmp_path / "raw" / FILE, [young_person(0), young_person(1), young_person(2, nhs_number="9990000337")])
    warehouse = SendWarehouse(raw_dir=str(tmp_path / "raw"), warehouse_dir=str(tmp_path / "warehouse"))
    result = dg.materialize([ld_health_checks], resources={"warehouse": warehouse})
    assert result.success
    [materialization] = [e.event_specific_data.materialization for e in result.get_asset_materialization_events()]
    assert materialization.asset_key == dg.AssetKey(["raw", "ld_health_checks"])
    meta = {k: v.value for k, v in materialization.metadata.items()}
    assert_ingest_metadata(meta, quarantined=1)

    empty = SendWarehouse(raw_dir=str(tmp_path / "nothing"), warehouse_dir=str(tmp_path / "warehouse2"))
    with pytest.raises(dg.Failure, match="no health_checks extracts"):
        dg.materialize([ld_health_checks], resources={"warehouse": empty})


def test_dbt_source_carries_the_asset_key():
    folder = REPO / "dbt_project" / "models" / "staging" / "health_checks"
    [source] = yaml.safe_load((folder / "_health_checks__sources.yml").read_text())["sources"]
    [table] = source["tables"]
    assert (source["schema"], table["name"]) == ("raw", "ld_health_checks")
    assert table["meta"]["dagster"]["asset_key"] == list(ld_health_checks.key.path)


# ---------- the generator ----------


def pct(done: int, everyone: int) -> int:
    return int((Decimal(100 * done) / everyone).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def test_the_rutland_plan_gives_the_seed_figure_7_2():
    done = sum(checked for _, checked in RUTLAND[2022].values())
    everyone = sum(people for people, _ in RUTLAND[2022].values())
    assert pct(done, everyone) == FIGURES["ehcna_timescales_7_1"]["health_assessments_ld_pct"]


def test_generator_is_deterministic_and_its_files_load_without_quarantine(tmp_path, con):
    paths = generate_health_checks(tmp_path / "a", seed=2023)
    assert [p.name for p in paths] == [f"ld_health_checks_{y}-{(y + 1) % 100:02d}.csv" for y in (2020, 2021, 2022)]
    again = generate_health_checks(tmp_path / "b", seed=2023)
    assert [p.read_bytes() for p in again] == [p.read_bytes() for p in paths]
    results = ingest(tmp_path / "a", con)
    assert [(r.rows_loaded, r.rows_quarantined) for r in results] == [
        (sum(people for people, _ in bands.values()), 0) for _, bands in sorted(RUTLAND.items())
    ]
    counted = con.execute(
        "SELECT financial_year, count(*), count(health_check_date) FROM raw.ld_health_checks GROUP BY 1 ORDER BY 1"
    ).fetchall()
    expected = [(f"{y}-{(y + 1) % 100:02d}", sum(p for p, _ in bands.values()), sum(c for _, c in bands.values()))
                for y, bands in sorted(RUTLAND.items())]  # fmt: skip
    assert counted == expected
    _, everyone, done = counted[-1]
    assert pct(done, everyone) == FIGURES["ehcna_timescales_7_1"]["health_assessments_ld_pct"]


def test_generated_rows_look_like_an_icb_extract(tmp_path):
    [*_, latest] = generate_health_checks(tmp_path, seed=2023)
    lines = latest.read_text().splitlines()
    assert lines[0] == ",".join(HEADER)
    numbers = [line.split(",")[0] for line in lines[1:]]
    assert all(is_valid_nhs_number(n) and n.replace(" ", "").startswith("999") for n in numbers)
    assert 0 < sum(" " in n for n in numbers) < len(numbers) / 2  # a few written in three groups
    assert sum(line.endswith(",") for line in lines[1:]) == sum(p - c for p, c in RUTLAND[2022].values())


def test_young_people_stay_on_the_register_a_year_older_and_fill_each_band():
    years = registers("rutland", 2023)
    for start, register in years.items():
        for band, (people, checked) in RUTLAND[start].items():
            rows = register[register.age_band == band]
            assert (len(rows), rows.health_check_date.notna().sum()) == (people, checked)
        assert register.nhs_number.is_unique and (register.nhs_number // 10**7 == TEST_RANGE // 10**6).all()
    stayed = set(years[2021].nhs_number) & set(years[2022].nhs_number)
    assert len(stayed) > len(years[2022]) / 2


@pytest.mark.parametrize("scale", ["county", "national"])
def test_county_and_national_scale_the_counts_by_the_census_roll(scale):
    factor = SCALES[scale] / cal.TREND[max(cal.TREND)]["roll"]
    scaled = plan(scale)
    for start, bands in RUTLAND.items():
        for band, (people, checked) in bands.items():
            assert scaled[start][band] == (round(people * factor), round(checked * factor))
    latest = scaled[2022].values()
    assert pct(sum(c for _, c in latest), sum(p for p, _ in latest)) == pct(48, 60)
    assert [len(r) for r in registers(scale).values()] == [sum(p for p, _ in b.values()) for b in scaled.values()]


def test_an_unknown_scale_has_no_plan():
    with pytest.raises(ValueError, match="^unknown scale 'galaxy': expected one of rutland, county, national$"):
        plan("galaxy")
