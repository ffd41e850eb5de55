"""The Great Expectations suites really fail on bad data (a broken engine or harness must not pass)."""

import copy
import json

import pandas as pd
import pytest

from pipeline.checks.gx import (
    CELL_COLUMN,
    CELL_VALUE,
    EXPECTATIONS_DIR,
    SuiteError,
    cells,
    expand,
    load_suite,
    repeated_expectations,
    run_suite,
    validate,
)
from pipeline.publish import with_date_flag


def totals(mart, independent):
    return pd.DataFrame(
        {"time_period": [202122, 202223], "census_term": ["Spring", "Spring"],
         "mart_total": mart, "independent_total": independent}
    )  # fmt: skip


def test_census_totals_pass_when_they_reconcile():
    result = run_suite("census_totals", totals([735, 805], [735, 805]))
    assert result.success and len(result.outcomes) == 4


def test_census_totals_fail_when_a_mart_loses_pupils():
    result = run_suite("census_totals", totals([735, 629], [735, 805]))
    assert not result.success
    assert [(o.expectation, o.unexpected_count) for o in result.failures] == [
        ("expect_column_pair_values_to_be_equal", 1)
    ]


def test_census_totals_fail_when_a_census_is_missing_from_the_mart():
    frame = totals([735, None], [735, 805]).astype({"mart_total": "Int64"})
    result = run_suite("census_totals", frame)
    assert not result.success
    assert "expect_column_values_to_not_be_null" in {o.expectation for o in result.failures}


def test_census_totals_fail_on_an_empty_mart():
    assert not run_suite("census_totals", totals([735, 805], [735, 805]).iloc[0:0]).success


@pytest.mark.parametrize("bad", ["3", "1", "5", "", None, "NaN", "05", "003", "-3", "3.0", " 3", "00", 3, 176])
def test_published_counts_fail_on_a_small_or_blank_count(bad):
    frame = pd.DataFrame({"need": ["MLD", "SLD", "PD"], "pupils": ["169", bad, "c"]})
    result = run_suite("published_counts", frame, columns={"count_column": ["pupils"]})
    assert not result.success
    # the failure reports how many cells, never which values
    assert "unexpected=" in result.summary() and f"'{bad}'" not in result.summary()


def test_published_counts_pass_on_suppressed_counts():
    frame = pd.DataFrame({"pupils": ["169", "0", "c", "12"], "pupils_fsm": ["c", "x", "z", "low"]})
    result = run_suite("published_counts", frame, columns={"count_column": ["pupils", "pupils_fsm"]})
    assert result.success and len(result.outcomes) == 8


def test_expand_applies_placeholder_per_column():
    spec = [{"type": "a", "kwargs": {"column": "{count_column}"}}, {"type": "b", "kwargs": {"min_value": 1}}]
    assert expand(spec, {"count_column": ["x", "y"]}) == [
        {"type": "a", "kwargs": {"column": "x"}},
        {"type": "a", "kwargs": {"column": "y"}},
        {"type": "b", "kwargs": {"min_value": 1}},
    ]


def ees_check(frame: pd.DataFrame, ees_columns: list[str]):
    """As publication runs the EES suite: over the cells of the EES columns, failures naming their columns."""
    named = with_date_flag(cells(frame, ees_columns))
    return run_suite("published_ees", named, {"ees_column": ees_columns}, (CELL_COLUMN,))


@pytest.mark.parametrize("blank", ["", "  ", None])
def test_published_ees_fails_on_a_blank_filter_or_geography_and_names_the_column(blank):
    good = pd.DataFrame({"time_period": ["202223", "202223"], "primary_need": ["MLD", "Total"], "pupils": ["", "3"]})
    columns = ["time_period", "primary_need"]  # pupils is not an EES column: its blank is not this suite's business
    assert ees_check(good, columns).success
    result = ees_check(good.assign(primary_need=["MLD", blank]), columns)
    assert not result.success
    [failure] = result.failures
    assert failure.where == ("primary_need",) and failure.unexpected_count == 1
    assert "(cell_value in primary_need) unexpected=1" in result.summary()


def test_published_ees_fails_when_a_required_column_is_missing():
    frame = pd.DataFrame({"time_period": ["202223"], "pupils": ["12"]})  # other columns may be there
    assert ees_check(frame, ["time_period"]).success
    result = ees_check(frame, ["time_period", "la_name"])
    assert not result.success
    [failure] = result.failures
    assert failure.expectation == "expect_column_distinct_values_to_contain_set"
    assert failure.where == ("la_name",) and "(column_name in la_name)" in result.summary()  # the missing column


def test_published_ees_fails_on_a_table_without_rows():
    assert not ees_check(pd.DataFrame({"time_period": []}, dtype=str), ["time_period"]).success


def test_cells_is_one_row_per_cell_of_the_listed_columns_the_frame_has():
    frame = pd.DataFrame({"a": ["1", "2"], "b": ["x", None], "c": ["9", "9"], CELL_VALUE: ["0", "0"]})
    got = cells(frame, ["a", "b", "missing"])
    assert list(got.columns) == [CELL_COLUMN, CELL_VALUE]
    assert list(got.itertuples(index=False, name=None))[:3] == [("a", "1"), ("a", "2"), ("b", "x")]
    assert got.iloc[3][CELL_COLUMN] == "b" and pd.isna(got.iloc[3][CELL_VALUE]) and len(got) == 4
    assert len(cells(frame, ["missing"])) == 0
    assert list(cells(frame, [CELL_VALUE])[CELL_COLUMN]) == [CELL_VALUE, CELL_VALUE]  # a column of that name too


def test_a_suite_with_an_expectation_gx_cannot_load_is_an_error(tmp_path):
    (tmp_path / "typo.json").write_text(
        json.dumps({"name": "typo", "expectations": [{"type": "expect_colum_values_to_be_unique", "kwargs": {}}]})
    )
    with pytest.raises(SuiteError, match="failed to load"):
        load_suite("typo", directory=tmp_path)


def test_a_suite_listing_an_expectation_twice_is_an_error(tmp_path):
    """In the file, or made by a placeholder given the same column twice: GX would validate the copy again."""
    expectation = {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "{count_column}"}}
    other = {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "pct"}}
    (tmp_path / "twice.json").write_text(json.dumps({"name": "twice", "expectations": [expectation, other]}))
    with pytest.raises(SuiteError, match=r'twice\.json: .* more than once: .*"column": "pupils"\}\) x2$'):
        load_suite("twice", {"count_column": ["pupils", "pupils"]}, directory=tmp_path)
    (tmp_path / "same.json").write_text(json.dumps({"name": "same", "expectations": [other, dict(other)]}))
    with pytest.raises(SuiteError, match=r"same\.json: .* more than once"):
        load_suite("same", directory=tmp_path)
    assert len(load_suite("twice", {"count_column": ["pupils"]}, directory=tmp_path).expectations) == 2


def test_repeated_expectations_compare_type_and_every_kwarg():
    one = {"type": "expect_column_values_to_be_in_set", "kwargs": {"column": "a", "value_set": ["1", "2"]}}
    reordered = {"type": one["type"], "kwargs": {"value_set": ["1", "2"], "column": "a"}}
    assert repeated_expectations([one, reordered]) == [
        'expect_column_values_to_be_in_set({"column": "a", "value_set": ["1", "2"]}) x2'
    ]
    assert repeated_expectations([one, {**one, "kwargs": {"column": "a", "value_set": ["1"]}}]) == []
    assert repeated_expectations([one, {**one, "type": "expect_column_values_to_not_be_in_set"}]) == []


def test_a_validation_with_more_results_than_expectations_is_an_error():
    """GX 1.x does not promise one result per expectation: an expectation listed twice whose metric cannot be
    computed (the column is missing) gets two failed results, and its second copy is then validated again: a third.
    The summary would count 3 outcomes of a 2-expectation suite. load_suite refuses such a suite; validate takes any
    suite, so it checks the count too."""
    import great_expectations as gx

    expectation = {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "pupils"}}
    suite = gx.ExpectationSuite(name="twice", expectations=[expectation, copy.deepcopy(expectation)])
    with pytest.raises(SuiteError, match=r"^twice: 2 expectations but 3 results$"):
        validate(pd.DataFrame({"other": [7]}), suite)


def test_data_docs_keep_every_run_of_a_check_passed_or_failed_and_prune_old_runs(tmp_path, monkeypatch):
    from pipeline.checks import gx as gx_module

    monkeypatch.setattr(gx_module, "KEEP_DOCS_RUNS", 2)
    frame = pd.DataFrame({"pupils": ["0", "3", "c"]})
    failed = gx_module.run_suite("published_counts", frame, columns={"count_column": ["pupils"]})
    passed = gx_module.run_suite("published_counts", frame.iloc[[0, 2]], columns={"count_column": ["pupils"]})
    assert not failed.success and passed.success
    rendered = {}
    for run in ("run-1", "run-2", "run-3"):
        index = gx_module.write_data_docs(tmp_path, run, [("send_primary_need", failed), ("send_trend", passed)])
        rendered[run] = {p: p.stat().st_mtime_ns for p in (index.parent / "validations").rglob(f"{run}/*/*.html")}
    html = index.read_text()
    assert index.is_relative_to(tmp_path) and "published_counts" in html and "run-3" in html and "run-2" in html
    assert "run-1" not in html  # pruned: only the last two runs stay
    pages = list((index.parent / "validations").rglob("*.html"))
    assert {p.stem for p in pages} == {"send_primary_need", "send_trend"} and len(pages) == 4
    assert not any(p.exists() for p in rendered["run-1"])  # its pages went with its results
    assert not list(index.parent.rglob("run-1"))  # and their folders: none left behind, one a night
    # run-2's pages were rendered by run-2 only: run-3 rendered its own pages and the index
    assert len(rendered["run-2"]) == 2 and all(p.stat().st_mtime_ns == t for p, t in rendered["run-2"].items())


def test_reconciliation_frames_count_staging_once_for_every_mart():
    import duckdb

    from pipeline.checks.census_totals import reconciliation_frames

    con = duckdb.connect()
    con.execute("CREATE SCHEMA staging; CREATE SCHEMA marts")
    # Spring 2023: pupils a (E), b (K, registered twice: counted once), c (N), d (K, subsidiary only: not counted)
    con.execute(
        """
        CREATE TABLE staging.stg_census__pupils AS SELECT *, '8572001' AS laestab, 'census/x.csv' AS source_file,
            row_number() OVER () + 1 AS source_row FROM (VALUES
            ('a', DATE '2023-01-19', 'C', 'E'), ('b', DATE '2023-01-19', 'C', 'K'),
            ('b', DATE '2023-01-19', 'M', 'K'), ('c', DATE '2023-01-19', 'C', 'N'),
            ('d', DATE '2023-01-19', 'S', 'K'), ('a', DATE '2022-10-06', 'C', 'E')
        ) AS t(pupil_id, census_date, enrol_status, sen_provision)
        """
    )
    spring = "SELECT 202223 AS time_period, 'Spring' AS census_term"
    con.execute(f"CREATE TABLE marts.fct_send_primary_need AS {spring}, 2 AS pupils")
    con.execute(f"CREATE TABLE marts.fct_send_provision AS {spring}, 1 AS pupils")
    # the marts holding N pupils too: theirs are left out; characteristics by group (sex adds up, age_group not)
    con.execute(
        f"""CREATE TABLE marts.fct_send_characteristics AS SELECT * FROM ({spring}) CROSS JOIN (VALUES
            ('sex', 'E', 1), ('sex', 'K', 1), ('sex', 'N', 1), ('sex', 'SEN', 2), ('sex', 'Total', 3),
            ('age_group', 'E', 1), ('age_group', 'K', 0), ('age_group', 'N', 2)
        ) AS t(characteristic_group, sen_provision, pupils)"""
    )
    con.execute(
        f"CREATE TABLE marts.fct_school_residence AS SELECT * FROM ({spring}) CROSS JOIN (VALUES "
        "('E', 1), ('K', 1), ('N', 1)) AS t(sen_provision, pupils)"
    )
    con.execute(  # the Spring censuses only: the Autumn census is not missing from it
        f"CREATE TABLE marts.fct_send_trend AS SELECT * FROM ({spring}) CROSS JOIN (VALUES "
        "('E', 1), ('K', 1), ('SEN', 2)) AS t(sen_provision, pupils)"
    )
    frames = reconciliation_frames(con)
    rows = {mart: frame.astype(object).where(frame.notna(), None).values.tolist() for mart, frame in frames.items()}
    assert set(rows) == {"fct_send_primary_need", "fct_send_provision", "fct_send_characteristics",
                         "fct_school_residence", "fct_send_trend"}  # fmt: skip
    assert rows["fct_send_primary_need"] == [
        [202223, "Autumn", None, None, 1],
        [202223, "Spring", "primary_need", 2, 2],
    ]
    assert rows["fct_send_provision"] == [[202223, "Autumn", None, None, 1], [202223, "Spring", "sen_provision", 1, 2]]
    assert rows["fct_send_characteristics"][1:] == [
        [202223, "Spring", "age_group", 1, 2],
        [202223, "Spring", "sex", 2, 2],
    ]
    assert rows["fct_school_residence"][1:] == [[202223, "Spring", "phase, residence", 2, 2]]
    assert rows["fct_send_trend"] == [[202223, "Spring", "sen_provision", 2, 2]]
    assert not run_suite("census_totals", frames["fct_send_provision"]).success
    assert not run_suite("census_totals", frames["fct_send_characteristics"].iloc[1:]).success  # age_group: 1 of 2
    assert run_suite("census_totals", frames["fct_send_trend"]).success
    assert con.execute("SELECT count(*) FROM duckdb_tables() WHERE temporary").fetchone()[0] == 0  # cleaned up


def test_a_pupil_registered_twice_counts_by_the_registration_the_marts_keep():
    """Two C/M registrations of a pupil in one census: the pupil counts by the first by enrol status (C before M),
    laestab, source file and row (int_census_pupils_profiled's rule), not as SEN when either is E or K. One pupil a
    census (the Spring of a year), so each census's total shows which registration counted."""
    import duckdb

    from pipeline.checks.census_totals import INDEPENDENT_SEN_TOTALS

    con = duckdb.connect()
    con.execute("CREATE SCHEMA staging")
    # census year: the two registrations (enrol_status, laestab, source_file, source_row, provision), first one first
    cases = {
        2016: [("C", "8572001", "census/a.csv", 2, "N"), ("C", "8572001", "census/a.csv", 3, "K")],  # same school
        2017: [("C", "8572001", "census/a.csv", 2, "K"), ("C", "8572001", "census/a.csv", 3, "N")],
        2018: [("C", "8572002", "census/a.csv", 3, "N"), ("M", "8572001", "census/a.csv", 2, "E")],
        2019: [("C", "8572001", "census/a.csv", 3, "E"), ("C", "8572002", "census/a.csv", 2, "N")],
        2020: [("C", "8572001", "census/a.csv", 3, "N"), ("C", "8572001", "census/b.csv", 2, "K")],
    }
    # inserted last first: the table's order is not the rule's
    rows = [(year, *registration) for year, registrations in cases.items() for registration in reversed(registrations)]
    con.execute(
        "CREATE TABLE staging.stg_census__pupils (pupil_id VARCHAR, census_date DATE, enrol_status VARCHAR, "
        "laestab VARCHAR, source_file VARCHAR, source_row BIGINT, sen_provision VARCHAR)"
    )
    con.executemany("INSERT INTO staging.stg_census__pupils VALUES ('pupil', make_date(?, 1, 21), ?, ?, ?, ?, ?)", rows)
    counted = con.execute(f"SELECT time_period, independent_total FROM ({INDEPENDENT_SEN_TOTALS}) ORDER BY 1")
    first_is_sen = [int(registrations[0][-1] in ("E", "K")) for registrations in cases.values()]
    assert counted.fetchall() == [((y - 1) * 100 + y % 100, sen) for y, sen in zip(cases, first_is_sen, strict=True)]
    assert first_is_sen == [0, 1, 0, 1, 0]  # N before K in a file, and K before N, both counted by the first


def test_an_expectation_with_two_placeholders_is_an_error():
    spec = [{"type": "t", "kwargs": {"column_A": "{count_column}", "column_B": "{percent_column}"}}]
    with pytest.raises(SuiteError, match=r"one placeholder per expectation, got \['count_column', 'percent_column'\]"):
        expand(spec, {"count_column": ["a"], "percent_column": ["b"]})


def test_expand_fills_a_list_placeholder_with_every_column_once():
    spec = [{"type": "t", "kwargs": {"column_set": ["{ees_column}"], "exact_match": False}}]
    assert expand(spec, {"ees_column": ["time_period", "la_name"]}) == [
        {"type": "t", "kwargs": {"column_set": ["time_period", "la_name"], "exact_match": False}}
    ]
    assert spec[0]["kwargs"]["column_set"] == ["{ees_column}"]  # the suite itself is left as it was


# ---------- every expectation of every suite: a case where it fails ----------

EES = {"ees_column": ["t.time_identifier", "t.reference_date"], "ees_time_identifier": ["April", "Academic year"]}


def ees_cells(time_identifier="April", reference_date="2023-04-01"):
    """The cells of one published row as publication validates them (named <table>.<column>)."""
    frame = pd.DataFrame({"time_identifier": [time_identifier], "reference_date": [reference_date]})
    named = cells(frame, ["time_identifier", "reference_date"])
    return with_date_flag(named.assign(**{CELL_COLUMN: "t." + named[CELL_COLUMN]}))


# (suite, expectation, its column in the suite file, the data that breaks it, placeholder columns, index columns)
BREAKING = [
    ("census_totals", "expect_table_row_count_to_be_between", None, totals([735, 805], [735, 805]).iloc[0:0], {}, ()),
    ("census_totals", "expect_column_values_to_not_be_null", "mart_total",
     totals([735, None], [735, 805]).astype({"mart_total": "Int64"}), {}, ()),
    ("census_totals", "expect_column_values_to_not_be_null", "independent_total",
     totals([735, 805], [735, None]).astype({"independent_total": "Int64"}), {}, ()),
    ("census_totals", "expect_column_pair_values_to_be_equal", "mart_total", totals([735, 804], [735, 805]), {}, ()),
    ("published_counts", "expect_column_values_to_not_be_null", "{count_column}",
     pd.DataFrame({"pupils": ["12", None]}), {"count_column": ["pupils"]}, ()),
    ("published_counts", "expect_column_values_to_be_of_type", "{count_column}",
     pd.DataFrame({"pupils": ["12", 4]}), {"count_column": ["pupils"]}, ()),
    ("published_counts", "expect_column_values_to_not_be_in_set", "{count_column}",
     pd.DataFrame({"pupils": ["12", "4"]}), {"count_column": ["pupils"]}, ()),
    ("published_counts", "expect_column_values_to_match_regex", "{count_column}",
     pd.DataFrame({"pupils": ["12", "1,204"]}), {"count_column": ["pupils"]}, ()),
    ("published_counts", "expect_column_values_to_not_be_null", "{percent_column}",
     pd.DataFrame({"pct": ["12.5", None]}), {"percent_column": ["pct"]}, ()),
    ("published_counts", "expect_column_values_to_be_of_type", "{percent_column}",
     pd.DataFrame({"pct": ["12.5", 12.5]}), {"percent_column": ["pct"]}, ()),
    ("published_counts", "expect_column_values_to_match_regex", "{percent_column}",
     pd.DataFrame({"pct": ["12.5", "100.1"]}), {"percent_column": ["pct"]}, ()),
    ("published_ees", "expect_column_distinct_values_to_contain_set", "column_name",
     ees_cells().iloc[[0]], EES, (CELL_COLUMN,)),
    ("published_ees", "expect_column_values_to_not_be_null", "cell_value", ees_cells(reference_date=None), EES,
     (CELL_COLUMN,)),
    ("published_ees", "expect_column_values_to_not_match_regex", "cell_value", ees_cells(reference_date=" "), EES,
     (CELL_COLUMN,)),
    ("published_ees", "expect_column_values_to_be_in_set", "cell_value", ees_cells(time_identifier="Month"), EES,
     (CELL_COLUMN,)),
    ("published_ees", "expect_column_values_to_match_regex", "cell_value", ees_cells(reference_date="01/04/2023"),
     EES, (CELL_COLUMN,)),
    ("published_ees", "expect_table_row_count_to_be_between", None, ees_cells().iloc[0:0], EES, (CELL_COLUMN,)),
    ("published_rates", "expect_column_values_to_be_of_type", "rule_5",
     pd.DataFrame({CELL_COLUMN: ["t.pct", "t.pct"], CELL_VALUE: ["c", "c"], "rule_5": [True, "yes"]}), {}, ()),
    ("published_rates", "expect_column_values_to_match_regex", "cell_value",
     pd.DataFrame({CELL_COLUMN: ["t.pct", "t.pct"], CELL_VALUE: ["c", "12.5"], "rule_5": [True, True]}), {}, ()),
    ("published_matches_marts", "expect_column_values_to_not_be_null", "exact",
     pd.DataFrame({"published": [176, 629], "exact": [176, None]}).astype({"exact": "Int64"}), {}, ()),
    ("published_matches_marts", "expect_column_pair_values_to_be_equal", "published",
     pd.DataFrame({"published": [176, 630], "exact": [176, 629]}), {}, ()),
]  # fmt: skip


def suite_column(kwargs: dict) -> str | None:
    return kwargs.get("column") or kwargs.get("column_A")


def test_every_expectation_of_every_suite_has_a_case_that_breaks_it():
    in_files = {
        (path.stem, e["type"], suite_column(e["kwargs"]))
        for path in EXPECTATIONS_DIR.glob("*.json")
        for e in json.loads(path.read_text())["expectations"]
    }
    cases = [(suite, expectation, column) for suite, expectation, column, *_ in BREAKING]
    assert len(in_files) == 21 and sorted(cases) == sorted(in_files)


@pytest.mark.parametrize(
    ("suite", "expectation", "column", "frame", "columns", "index"),
    BREAKING,
    ids=[f"{b[0]}-{b[1].removeprefix('expect_')}-{b[2]}" for b in BREAKING],
)
def test_each_expectation_fails_on_the_data_that_breaks_it(suite, expectation, column, frame, columns, index):
    good = {
        "census_totals": lambda: totals([735, 805], [735, 805]),
        "published_counts": lambda: pd.DataFrame({"pupils": ["12", "c"], "pct": ["12.5", "c"]}),
        "published_ees": lambda: ees_cells(),
        "published_matches_marts": lambda: pd.DataFrame({"published": [176, 629], "exact": [176, 629]}),
        "published_rates": lambda: pd.DataFrame(
            {CELL_COLUMN: ["t.pct"] * 2, CELL_VALUE: ["c", "12.5"], "rule_5": [True, False]}
        ),  # fmt: skip
    }[suite]()
    assert run_suite(suite, good, columns, index).success
    result = run_suite(suite, frame, columns, index)
    assert not result.success
    filled = columns.get(column.strip("{}"), [column])[0] if column and column.startswith("{") else column
    assert (expectation, filled) in {(o.expectation, o.column) for o in result.failures}, result.summary()


def test_the_count_suite_refuses_exactly_the_counts_the_suppression_rules_hide():
    """The gate's list of counts never published as numbers is written in the suite's JSON; the suppression's
    rule 2 is DEFAULT_RULES.max_suppressed_count: a change to one without the other would publish what the rules hide
    (or refuse what they show)."""
    from pipeline.suppression.rules import DEFAULT_RULES

    suite = json.loads((EXPECTATIONS_DIR / "published_counts.json").read_text())
    [refused] = [
        e["kwargs"]["value_set"] for e in suite["expectations"] if e["type"] == "expect_column_values_to_not_be_in_set"
    ]
    assert refused == [str(n) for n in range(1, DEFAULT_RULES.max_suppressed_count + 1)]
