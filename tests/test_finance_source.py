"""Finance / high needs: contract, money parsing, quarantine, ledger, generator and the dbt staging model.

Small hand-made files in tmp_path; expected amounts are written literally below (the pence as a person reads
them), and the seed figures come from tests/fixtures/figures.yaml.
"""

import subprocess
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import dagster as dg
import duckdb
import pytest
import yaml

from pipeline.generate.finance import generate_finance
from pipeline.ingest import ExtractError, ingest_source
from pipeline.resources import SendWarehouse
from pipeline.sources.finance import CATEGORIES, S251_LINES, finance_contract, finance_high_needs

import source_support
from source_support import assert_ingest_metadata, quarantine
from support import dbt, dbt_statuses, dbt_test_failures

FIGURES = yaml.safe_load((Path(__file__).parent / "fixtures" / "figures.yaml").read_text())
HEADER = ["financial_year", "line_code", "line_label", "category", "amount_gbp"]
FILE = "finance/2022-23.csv"


def line(**changes) -> dict:
    row = {
        "financial_year": "2022-23",
        "line_code": "1.2.1",
        "line_label": "Top-up funding - maintained schools",
        "category": "top-up maintained",
        "amount_gbp": "£1,234.56",
    }
    row.update(changes)
    return row


def write_csv(path: Path, rows: list[dict], header: list[str] = HEADER, encoding: str = "utf-8") -> Path:
    return source_support.write_csv(path, rows, header, encoding)


def ingest(raw: Path, con):
    return ingest_source(con, finance_contract(), raw)


def amounts(con) -> list[tuple]:
    return con.execute(
        "SELECT amount_gbp, amount_symbol FROM raw.finance_high_needs ORDER BY source_file, source_row"
    ).fetchall()


# ---------- a good file ----------

WRITTEN_AMOUNTS = [  # as a finance export writes them -> the pounds and pence they mean
    ("£1,234,567.89", Decimal("1234567.89")),
    ("(£45,210.50)", Decimal("-45210.50")),
    ("-£12.05", Decimal("-12.05")),
    ("£-3", Decimal("-3.00")),
    ("1234.5", Decimal("1234.50")),
    ("£ 0.10", Decimal("0.10")),
    ("( 7 )", Decimal("-7.00")),
    ("1 234 567.89", Decimal("1234567.89")),
    ("£9,999,999,999,999,999.99", Decimal("9999999999999999.99")),
]


def test_a_good_file_loads_every_written_form_exact_to_the_penny(tmp_path, con):
    rows = [line(amount_gbp=text, category=CATEGORIES[i]) for i, (text, _) in enumerate(WRITTEN_AMOUNTS)]
    write_csv(tmp_path / FILE, rows)
    [result] = ingest(tmp_path, con)
    assert (result.rows_read, result.rows_loaded, result.rows_quarantined) == (len(WRITTEN_AMOUNTS),) * 2 + (0,)
    assert amounts(con) == [(expected, None) for _, expected in WRITTEN_AMOUNTS]
    assert all(type(amount) is Decimal for amount, _ in amounts(con))
    column_type = con.execute(
        "SELECT column_type FROM (DESCRIBE raw.finance_high_needs) WHERE column_name = 'amount_gbp'"
    ).fetchone()[0]
    assert column_type == "DECIMAL(18,2)"
    stored = con.execute("SELECT DISTINCT financial_year, line_code FROM raw.finance_high_needs").fetchall()
    assert stored == [("2022-23", "1.2.1")]


def test_sums_are_exact_where_a_float_would_drift(tmp_path, con):
    # 0.1 + 0.2 is not 0.3 in binary floating point; 252 10p amounts are not exactly £25.20 either.
    keys = [(code, category) for code in S251_LINES for category in CATEGORIES if code != "1.2.8"]
    assert 0.1 + 0.2 != 0.3 and sum([0.1] * len(keys)) != len(keys) / 10
    rows = [line(amount_gbp="£0.10", line_code=code, category=category) for code, category in keys]
    rows += [line(amount_gbp="£0.20", line_code="1.2.8", category="inclusion support")]
    write_csv(tmp_path / FILE, rows)
    [result] = ingest(tmp_path, con)
    assert result.rows_loaded == len(rows) == 13 * 18 + 1
    total, tenpences = con.execute(
        "SELECT sum(amount_gbp), sum(amount_gbp) FILTER (WHERE line_code <> '1.2.8') FROM raw.finance_high_needs"
    ).fetchone()
    assert tenpences == Decimal("23.40") and total == Decimal("23.60")


def test_financial_year_forms_and_categories_are_normalised(tmp_path, con):
    rows = [
        line(financial_year="2022/23", category="TOP-UP MAINTAINED"),
        line(financial_year="2022-2023", category="Out-Of-County"),
        line(financial_year="202223", category="sen support service"),
    ]
    write_csv(tmp_path / FILE, rows)
    ingest(tmp_path, con)
    stored = con.execute("SELECT financial_year, category FROM raw.finance_high_needs ORDER BY source_row").fetchall()
    assert stored == [
        ("2022-23", "top-up maintained"),
        ("2022-23", "out-of-county"),
        ("2022-23", "SEN support service"),
    ]


def test_symbols_c_x_z_are_missing_never_zero(tmp_path, con):
    rows = [
        line(amount_gbp="c", line_code="1.2.6", category="hospital education"),
        line(amount_gbp="X", line_code="1.2.9", category="schools in financial difficulty"),
        line(amount_gbp="z", line_code="1.2.12", category="carbon reduction"),
        line(amount_gbp="£100.00"),
    ]
    write_csv(tmp_path / FILE, rows)
    [result] = ingest(tmp_path, con)
    assert result.rows_loaded == 4
    assert amounts(con) == [(None, "c"), (None, "x"), (None, "z"), (Decimal("100.00"), None)]
    zero_or_missing = con.execute(
        "SELECT count(*) FILTER (WHERE amount_gbp = 0), count(*) FILTER (WHERE amount_gbp IS NULL), "
        "sum(amount_gbp), avg(amount_gbp) FROM raw.finance_high_needs"
    ).fetchone()
    # three missing amounts, none of them zero: the mean is over the one reported amount, not over four
    assert zero_or_missing == (0, 3, Decimal("100.00"), 100.0)


# ---------- bad rows ----------

BAD_ROWS = [
    ({"amount_gbp": "£1,2x4"}, "amount_gbp", "amount_not_pounds_or_symbol"),
    ({"amount_gbp": "£1,23"}, "amount_gbp", "amount_not_pounds_or_symbol"),
    ({"amount_gbp": "1 2345"}, "amount_gbp", "amount_not_pounds_or_symbol"),
    ({"amount_gbp": "1,234 567"}, "amount_gbp", "amount_not_pounds_or_symbol"),
    ({"amount_gbp": "1.234"}, "amount_gbp", "amount_not_pounds_or_symbol"),
    ({"amount_gbp": "(-£5)"}, "amount_gbp", "amount_not_pounds_or_symbol"),
    ({"amount_gbp": "£99,999,999,999,999,999.00"}, "amount_gbp", "amount_not_pounds_or_symbol"),
    ({"amount_gbp": "low"}, "amount_gbp", "amount_not_pounds_or_symbol"),
    ({"amount_gbp": ""}, "amount_gbp", "required"),
    ({"line_code": "1.2.14"}, "line_code", "unknown_s251_line"),
    ({"line_code": "1.1.1"}, "line_code", "unknown_s251_line"),
    ({"financial_year": "2022-24"}, "financial_year", "not_a_financial_year"),
    ({"financial_year": "22/23"}, "financial_year", "not_a_financial_year"),
    ({"financial_year": "2022"}, "financial_year", "not_a_financial_year"),
    ({"category": "biscuits"}, "category", "category_not_recognised"),
    ({"category": ""}, "category", "required"),
    ({"financial_year": ""}, "financial_year", "required"),
    ({"line_code": ""}, "line_code", "required"),
]


@pytest.mark.parametrize(("change", "column", "rule"), BAD_ROWS, ids=[f"{r[2]}-{r[0]}" for r in BAD_ROWS])
def test_bad_row_is_quarantined_with_its_rule(tmp_path, con, change, column, rule):
    bad = line(**{"line_code": "1.2.3", "category": "independent/non-maintained", **change})  # another key
    write_csv(tmp_path / FILE, [line(), bad, line(line_code="1.2.2", category="top-up academies")])
    [result] = ingest(tmp_path, con)
    assert (result.rows_read, result.rows_loaded, result.rows_quarantined) == (3, 2, 1)
    assert result.rows_read == result.rows_loaded + result.rows_quarantined
    assert quarantine(con) == [(FILE, 3, column, rule)]
    assert con.execute("SELECT list(source_row ORDER BY source_row) FROM raw.finance_high_needs").fetchone()[0] == [
        2,
        4,
    ]
    # the quarantine names the problem, never the value
    stored = " ".join(v for row in con.execute("SELECT column_name, rule FROM raw.quarantine").fetchall() for v in row)
    value = next(iter(change.values()))
    assert not value or value not in stored


def test_a_line_and_category_given_twice_for_a_year_quarantines_every_row_of_it(tmp_path, con):
    """Which of two amounts for one line, category and year is right cannot be told, and loading both counts the
    money twice (dbt's unique test then failed the whole build): the year and the category written two ways are one
    key."""
    rows = [
        line(amount_gbp="£10.00"),
        line(amount_gbp="£20.00", line_code="1.2.5", category="SEN support service"),
        line(financial_year="2022/23", category="TOP-UP MAINTAINED", amount_gbp="£11.00"),
        line(financial_year="2021-22", amount_gbp="£12.00"),  # another year: another key
    ]
    write_csv(tmp_path / FILE, rows)
    [result] = ingest(tmp_path, con)
    assert (result.rows_read, result.rows_loaded, result.rows_quarantined) == (4, 2, 2)
    assert quarantine(con) == [
        (FILE, 2, "category", "row_repeated_in_file"),
        (FILE, 4, "category", "row_repeated_in_file"),
    ]
    assert amounts(con) == [(Decimal("20.00"), None), (Decimal("12.00"), None)]


def test_a_broken_header_fails_naming_file_and_column_and_loads_nothing(tmp_path, con):
    header = [*HEADER[:-1], "amount"]  # amount_gbp misspelt
    write_csv(tmp_path / FILE, [{**line(), "amount": "£5.00"}], header=header)
    with pytest.raises(ExtractError, match=r"finance/2022-23.csv: row 1 \(header\) is missing .*amount_gbp"):
        ingest(tmp_path, con)
    assert con.execute("SELECT count(*) FROM raw.file_ledger").fetchone()[0] == 0
    tables = con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'finance_high_needs'").fetchone()
    assert tables == (0,)


# ---------- encodings and file types ----------


def test_a_windows_1252_file_with_pound_signs_loads(tmp_path, con):
    header = ["Financial Year", "LINE_CODE", "Line Label ", "Category", "Amount GBP", "Cost Centre Notes"]
    rows = [
        dict(zip(header, [*line(amount_gbp=text, category=category).values(), "Café budget £"], strict=True))
        for text, category in zip(("£1,234.56", "(£2,000.00)", "£0.01"), CATEGORIES, strict=False)
    ]
    path = write_csv(tmp_path / FILE, rows, header=header, encoding="cp1252")
    assert b"\xa3" in path.read_bytes()  # the Windows-1252 pound sign, not UTF-8's C2 A3
    with pytest.raises(UnicodeDecodeError):
        path.read_bytes().decode("utf-8")
    [result] = ingest(tmp_path, con)
    assert (result.rows_loaded, result.rows_quarantined) == (3, 0)
    assert result.extra_columns == ("cost_centre_notes",)
    assert [a for a, _ in amounts(con)] == [Decimal("1234.56"), Decimal("-2000.00"), Decimal("0.01")]


def test_a_windows_1252_file_with_an_en_dash_in_a_label_loads(tmp_path, con):
    write_csv(tmp_path / FILE, [line(line_label="Top-up funding – maintained schools")], encoding="cp1252")
    ingest(tmp_path, con)
    assert con.execute("SELECT line_label FROM raw.finance_high_needs").fetchall() == [
        ("Top-up funding – maintained schools",)
    ]


def test_an_xlsx_with_numeric_and_text_amounts_loads(tmp_path, con):
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append([])  # the header is on the first non-empty row
    sheet.append(HEADER)
    sheet.append(list(line(amount_gbp=1234.56).values()))  # a number cell
    sheet.append(list(line(amount_gbp=-45210.5, category="inter-authority recoupment").values()))
    sheet.append(list(line(amount_gbp=1000, line_code="1.2.2", category="top-up academies").values()))
    sheet.append(list(line(amount_gbp="£2,000.00", line_code="1.2.5", category="SEN support service").values()))
    sheet.append(list(line(amount_gbp="c", line_code="1.2.6", category="hospital education").values()))
    sheet.append(list(line(amount_gbp="£1,2x4", line_code="1.2.7", category="alternative provision").values()))
    (tmp_path / "finance").mkdir()
    book.save(tmp_path / "finance" / "2022-23.xlsx")
    [result] = ingest(tmp_path, con)
    assert (result.rows_read, result.rows_loaded, result.rows_quarantined) == (6, 5, 1)
    assert quarantine(con) == [("finance/2022-23.xlsx", 8, "amount_gbp", "amount_not_pounds_or_symbol")]
    assert amounts(con) == [
        (Decimal("1234.56"), None),
        (Decimal("-45210.50"), None),
        (Decimal("1000.00"), None),
        (Decimal("2000.00"), None),
        (None, "c"),
    ]


# ---------- re-drops and corrections ----------


def test_re_dropping_the_same_file_is_skipped(tmp_path, con):
    write_csv(tmp_path / FILE, [line(), line(amount_gbp="£1,2x4", category="other")])
    first = ingest(tmp_path, con)
    second = ingest(tmp_path, con)
    assert [r.status for r in first] == ["loaded"] and [r.status for r in second] == ["unchanged"]
    counts = con.execute(
        "SELECT (SELECT count(*) FROM raw.finance_high_needs), (SELECT count(*) FROM raw.quarantine), "
        "(SELECT count(*) FROM raw.file_ledger)"
    ).fetchone()
    assert counts == (1, 1, 1)


def test_a_corrected_file_for_the_same_year_replaces_the_earlier_one(tmp_path, con):
    write_csv(tmp_path / "finance" / "2021-22.csv", [line(financial_year="2021-22", amount_gbp="£10.00")])
    write_csv(tmp_path / FILE, [line(amount_gbp="£20.00"), line(line_code="1.2.5", category="SEN support service")])
    ingest(tmp_path, con)
    # the correction arrives under another name and writes the year another way
    write_csv(tmp_path / "finance" / "2022-23_revised.csv", [line(financial_year="2022/23", amount_gbp="£25.50")])
    results = {r.file_name: r for r in ingest(tmp_path, con)}
    assert results["finance/2022-23_revised.csv"].superseded_files == (FILE,)
    stored = con.execute(
        "SELECT financial_year, amount_gbp, source_file FROM raw.finance_high_needs ORDER BY financial_year"
    ).fetchall()
    assert stored == [
        ("2021-22", Decimal("10.00"), "finance/2021-22.csv"),
        ("2022-23", Decimal("25.50"), "finance/2022-23_revised.csv"),
    ]


def test_a_correction_named_to_sort_before_the_original_is_not_kept_and_the_log_says_so(tmp_path, con):
    """The later name keeps a period (as a rebuild from raw/ would): a correction whose name sorts first (a space sorts
    before '_') loaded, then lost its rows to the original without a word. The run log now names the original."""
    original = "finance/2022-23_s251_high_needs.csv"
    write_csv(tmp_path / original, [line(amount_gbp="£20.00")])
    ingest(tmp_path, con)
    write_csv(tmp_path / "finance" / "2022-23 corrected.csv", [line(amount_gbp="£25.50")])
    said = []
    results = {r.file_name: r for r in ingest_source(con, finance_contract(), tmp_path, log=said.append)}
    assert results["finance/2022-23 corrected.csv"].periods_kept_by == (original,)
    assert con.execute("SELECT amount_gbp, source_file FROM raw.finance_high_needs").fetchall() == [
        (Decimal("20.00"), original)
    ]
    [message] = [m for m in said if m.startswith("[1/2] finance/2022-23 corrected.csv: loaded")]
    assert f"NOT kept: its rows for the period(s) that {original} also hold(s)" in message


# ---------- the Dagster asset ----------


def test_the_asset_loads_the_drop_zone_and_fails_on_an_empty_one(tmp_path):
    write_csv(tmp_path / "raw" / FILE, [line(), line(line_code="1.2.99")])
    warehouse = SendWarehouse(raw_dir=str(tmp_path / "raw"), warehouse_dir=str(tmp_path / "warehouse"))
    result = dg.materialize([finance_high_needs], resources={"warehouse": warehouse})
    assert result.success
    [event] = result.get_asset_materialization_events()
    assert event.asset_key == dg.AssetKey(["raw", "finance_high_needs"])
    meta = {k: v.value for k, v in event.materialization.metadata.items()}
    assert_ingest_metadata(meta, quarantined=1)

    empty = SendWarehouse(raw_dir=str(tmp_path / "empty"), warehouse_dir=str(tmp_path / "warehouse"))
    failed = dg.materialize([finance_high_needs], resources={"warehouse": empty}, raise_on_error=False)
    assert not failed.success
    [failure] = [e for e in failed.all_events if e.is_step_failure]
    assert "no finance extracts" in failure.step_failure_data.error.message


# ---------- the generator and the dbt staging model ----------


def run_dbt(db: Path, work: Path, select: str, command: str = "build") -> subprocess.CompletedProcess:
    return dbt(db, work, command, "--select", select)


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> tuple[Path, duckdb.DuckDBPyConnection]:
    root = tmp_path_factory.mktemp("finance")
    paths = generate_finance(root / "raw")
    db = root / "send.duckdb"
    with duckdb.connect(str(db)) as con:
        results = ingest_source(con, finance_contract(), root / "raw")
    assert [r.rows_quarantined for r in results] == [0] * len(paths)
    built = run_dbt(db, root, "+stg_finance__high_needs")
    assert built.returncode == 0, built.stdout[-3000:]
    assert set(dbt_statuses(root, "test").values()) == {"pass"}
    con = duckdb.connect(str(db), read_only=True)
    yield root, con
    con.close()


def spend_by_year(con, table: str = "staging.stg_finance__high_needs") -> dict[str, Decimal]:
    return dict(con.execute(f"SELECT financial_year, sum(amount_gbp) FROM {table} GROUP BY 1 ORDER BY 1").fetchall())


def test_generated_high_needs_spend_matches_the_seed(generated):
    _, con = generated
    spend = spend_by_year(con)
    assert list(spend) == ["2019-20", "2020-21", "2021-22", "2022-23"]
    seed = FIGURES["expenditure_9"]["high_needs_spend_gbp_m"]
    for year, millions in seed.items():
        assert (spend[year] / 1_000_000).quantize(Decimal("0.1"), ROUND_HALF_UP) == Decimal(str(millions))
    # seed 9: "an increase in excess of 30%"
    assert spend["2022-23"] / spend["2019-20"] > Decimal("1.30")
    time_periods = con.execute("SELECT DISTINCT time_period FROM staging.stg_finance__high_needs ORDER BY 1").fetchall()
    assert [t for (t,) in time_periods] == [201920, 202021, 202122, 202223]


def test_out_of_county_placements_are_the_largest_and_growing_share(generated):
    _, con = generated
    shares = con.execute(
        """
        SELECT financial_year, category, sum(amount_gbp) / sum(sum(amount_gbp)) OVER (PARTITION BY financial_year)
        FROM staging.stg_finance__high_needs GROUP BY 1, 2
        QUALIFY row_number() OVER (PARTITION BY financial_year ORDER BY sum(amount_gbp) DESC NULLS LAST) = 1
        ORDER BY 1
        """
    ).fetchall()
    assert [category for _, category, _ in shares] == ["out-of-county"] * 4
    assert shares[0][2] > Decimal("0.25") and shares[-1][2] > shares[0][2]
    lines = con.execute(
        "SELECT list(DISTINCT line_code ORDER BY line_code) FROM staging.stg_finance__high_needs "
        "WHERE category = 'out-of-county'"
    ).fetchone()[0]
    assert len(lines) >= 2  # placements in other authorities' special schools and independent ones


def test_generated_unreported_lines_carry_symbols_not_zeros(generated):
    _, con = generated
    rows = con.execute(
        "SELECT financial_year, amount_symbol, amount_gbp FROM staging.stg_finance__high_needs "
        "WHERE amount_symbol IS NOT NULL OR amount_gbp = 0"
    ).fetchall()
    assert {symbol for _, symbol, _ in rows} == {"c", "x", "z"}
    assert all(amount is None for _, _, amount in rows)
    assert {year for year, symbol, _ in rows if symbol in ("c", "x")} >= {"2019-20"}


def test_generated_files_are_windows_1252_with_pound_signs_and_deterministic(generated, tmp_path):
    root, _ = generated
    first = sorted((root / "raw" / "finance").iterdir())
    again = generate_finance(tmp_path / "again")
    assert [p.name for p in first] == [p.name for p in again]
    assert all(a.read_bytes() == b.read_bytes() for a, b in zip(first, again, strict=True))
    assert all(b"\xa3" in p.read_bytes() for p in first)
    other = generate_finance(tmp_path / "other", seed=7)
    assert any(a.read_bytes() != b.read_bytes() for a, b in zip(first, other, strict=True))
    with duckdb.connect() as con:
        ingest_source(con, finance_contract(), tmp_path / "other")
        spend = spend_by_year(con, "raw.finance_high_needs")
    seed = FIGURES["expenditure_9"]["high_needs_spend_gbp_m"]
    for year, millions in seed.items():  # another seed, other pennies, the same seed figures
        assert (spend[year] / 1_000_000).quantize(Decimal("0.1"), ROUND_HALF_UP) == Decimal(str(millions))


def test_dbt_tests_of_the_staging_model_fail_on_bad_rows(tmp_path):
    write_csv(tmp_path / "raw" / FILE, [line(), line(line_code="1.2.5", category="SEN support service")])
    db = tmp_path / "send.duckdb"
    with duckdb.connect(str(db)) as con:
        ingest_source(con, finance_contract(), tmp_path / "raw")
        # rows the contract never lets in, written past it: what the dbt tests are there to catch
        con.execute(
            """
            INSERT INTO raw.finance_high_needs VALUES
                ('2022-23', '1.2.1', NULL, 'top-up maintained', 1.00, NULL, 'x.csv', 1),  -- duplicate key
                ('2022-23', '1.2.7', NULL, 'alternative provision', NULL, NULL, 'x.csv', 2),  -- neither
                ('2022-23', '1.2.8', NULL, 'inclusion support', 5.00, 'q', 'x.csv', 3),  -- unknown symbol
                (NULL, '1.2.9', NULL, 'other', 5.00, NULL, 'x.csv', 4)  -- no year
            """
        )
    assert run_dbt(db, tmp_path, "+stg_finance__high_needs", "run").returncode == 0
    tested = run_dbt(db, tmp_path, "+stg_finance__high_needs", "test")  # every test, none skipped
    assert tested.returncode != 0
    failures = dbt_test_failures(db, tmp_path)
    failed = {name.split("__high_needs_")[-1] for name in failures}
    assert failed >= {
        "financial_year__line_code__category",  # unique_combination
        "amount_gbp",  # not_null where amount_symbol is null
        "amount_symbol",  # not_null where amount_gbp is null
        "amount_symbol__c__x__z",  # accepted_values
    }, failed
    assert failures["not_null_stg_finance__high_needs"] == {"financial_year", "time_period"}  # derived from the year
