"""pipeline.ees and pipeline.published_tables: the published tables, Total rows and the rule-5 percentages (pure
pandas)."""

import os
import re
import shutil
import subprocess
import sys
from dataclasses import replace

import pandas as pd
import pytest

from pipeline.ees import (
    MEAN,
    PERCENT,
    PUBLIC,
    Filter,
    Indicator,
    PublishedTable,
    Within,
    column_descriptions,
    ees_frame,
    indicator_description,
    percent_texts,
    with_totals,
)
from pipeline.published_model import model_parts, relation_tables
from pipeline.published_tables import PUBLISHED_TABLES
from pipeline.settings import REPO_ROOT
from pipeline.suppression.model import TableError
from pipeline.suppression.rules import SuppressionRules

GEOGRAPHY = {"region_code": "E12000004", "region_name": "East Midlands", "new_la_code": "E06000017",
             "old_la_code": "857", "la_name": "Rutland"}  # fmt: skip


def need_table(**changes) -> PublishedTable:
    spec = dict(
        name="t", mart="m", title="t", time_identifier="Spring term",
        filters=(Filter("need", "Need"),),
        indicators=(
            Indicator("pupils", "Pupils", "pupils"),
            Indicator("pct", "Percent", kind=PERCENT, numerator="pupils", of_total="need"),
        ),
    )  # fmt: skip
    return PublishedTable(**{**spec, **changes})


def test_percent_of_the_filter_total_is_exact_before_suppression_and_rule_5_after():
    spec = need_table()
    mart = pd.DataFrame({"time_period": [2023] * 3, "need": ["A", "B", "C"], "pupils": [3, 40, 57]})
    exact = ees_frame(spec, mart, GEOGRAPHY)
    assert list(exact["pct"]) == ["3.0", "40.0", "57.0", "100.0"]
    published = exact.assign(pupils=["c", "c", "57", "100"])
    assert percent_texts(spec, exact, published) == {"pct": ["c", "c", "57.0", "100.0"]}


def test_a_percent_of_a_suppressed_total_is_suppressed_though_its_count_is_shown():
    """Rule 5 reads the denominator of a share of the filter's total: the Total row. With the Total hidden, a shown
    part's percentage would give the Total back (40 / 40.0%), and the hidden part by subtraction."""
    spec = need_table()
    mart = pd.DataFrame({"time_period": [2023] * 3, "need": ["A", "B", "C"], "pupils": [40, 57, 3]})
    exact = ees_frame(spec, mart, GEOGRAPHY)
    published = exact.assign(pupils=["40", "57", "c", "c"])
    assert percent_texts(spec, exact, published) == {"pct": ["c", "c", "c", "c"]}


def test_percent_over_fewer_than_ten_children_is_suppressed_even_with_published_counts():
    spec = need_table()
    mart = pd.DataFrame({"time_period": [2023, 2023], "need": ["A", "B"], "pupils": [0, 9]})
    exact = ees_frame(spec, mart, GEOGRAPHY)
    assert percent_texts(spec, exact, exact) == {"pct": ["c", "c", "c"]}


def test_a_published_numerator_over_a_suppressed_denominator_is_suppressed():
    spec = need_table(indicators=(
        Indicator("pupils", "Pupils", "pupils"), Indicator("fsm", "FSM", "fsm"),
        Indicator("pct", "Percent", kind=PERCENT, numerator="fsm", denominator="pupils"),
    ))  # fmt: skip
    mart = pd.DataFrame({"time_period": [2023, 2023], "need": ["A", "B"], "pupils": [20, 30], "fsm": [10, 12]})
    exact = ees_frame(spec, mart, GEOGRAPHY)
    published = exact.assign(pupils=["c", "30", "50"])
    assert percent_texts(spec, exact, published) == {"pct": ["c", "40.0", "44.0"]}


def test_public_figures_are_summed_into_totals_and_their_percentages_never_suppressed():
    spec = need_table(indicators=(
        Indicator("england", "England", kind=PUBLIC),
        Indicator("pct", "Percent", kind=PERCENT, numerator="england", of_total="need"),
    ))  # fmt: skip
    mart = pd.DataFrame({"time_period": [2023, 2023, 2022], "need": ["A", "B", "A"], "england": [3, 5, None]})
    exact = ees_frame(spec, mart, GEOGRAPHY)
    rows = exact.set_index(["time_period", "need"])
    assert rows.loc[("2023", "Total"), "england"] == "8" and rows.loc[("2022", "Total"), "england"] == "x"
    assert percent_texts(spec, exact, exact)["pct"] == list(exact["pct"])
    assert rows.loc[("2023", "A"), "pct"] == "37.5" and rows.loc[("2022", "A"), "pct"] == "x"


def test_a_percentage_without_its_denominator_is_x_not_a_number():
    """A public figure missing for a year (DfE had not published it) leaves its share unavailable (x)."""
    spec = need_table(indicators=(
        Indicator("eng", "England", kind=PUBLIC), Indicator("all", "All pupils", kind=PUBLIC),
        Indicator("pct", "Percent", kind=PERCENT, numerator="eng", denominator="all"),
    ))  # fmt: skip
    mart = pd.DataFrame({"time_period": [2022, 2022, 2023, 2023], "need": ["A", "B"] * 2, "eng": [3, 4, 3, 4],
                         "all": [None, None, 10, 20]})  # fmt: skip
    exact = ees_frame(spec, mart, GEOGRAPHY)
    assert list(exact["pct"]) == ["x", "x", "x", "30.0", "20.0", "23.3"]
    assert percent_texts(spec, exact, exact) == {"pct": list(exact["pct"])}


def test_totals_leave_non_additive_columns_blank():
    frame = pd.DataFrame({"p": [1, 1], "f": ["a", "b"], "n": [2, 3], "s": ["x", "y"]})
    totals = with_totals(frame, ["f"], ["p"], ["n", "s"], summed=["n"])
    assert totals.iloc[-1]["n"] == 5 and pd.isna(totals.iloc[-1]["s"])


def test_means_follow_rule_6():
    spec = PublishedTable(
        name="t", mart="m", title="t", time_identifier="Academic year", filters=(), by=("group",),
        indicators=(Indicator("n", "Pupils", "n"), Indicator("mean", "Mean", kind=MEAN, n_column="n")),
    )  # fmt: skip
    mart = pd.DataFrame({"time_period": [2022, 2022], "group": ["a", "b"], "n": [7, 8], "mean": [43.25, 28.71]})
    assert list(ees_frame(spec, mart, GEOGRAPHY)["mean"]) == ["c", "28.7"]


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"indicators": (Indicator("p", "P", kind=PERCENT, numerator="nothing"),)}, "not a count"),
        (
            {
                "indicators": (
                    Indicator("n", "N", "n"),
                    Indicator("p", "P", kind=PERCENT, numerator="n", of_total="phase"),
                )
            },
            "not a filter",
        ),  # fmt: skip
        ({"indicators": (Indicator("m", "M", kind=MEAN, n_column="n"),)}, "no filter totals"),
    ],
)
def test_a_declaration_that_cannot_be_published_is_refused(changes, message):
    with pytest.raises(ValueError, match=message):
        need_table(**changes)


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: Filter("provision", "Provision", total_key="SEN"), "total_key 'SEN' needs a hierarchy defining it"),
        (lambda: Indicator("p", "P", kind=PERCENT), "percent indicator p needs a numerator"),
        (lambda: Indicator("m", "M", kind=MEAN), "mean indicator m needs n_column"),
        (lambda: need_table(indicators=(Indicator("pupils", "Pupils", "pupils"), Indicator("e", "E", kind=PUBLIC),
                                        Indicator("p", "P", kind=PERCENT, numerator="pupils", denominator="e"))),
         "t.p: numerator and denominator must be of one kind"),
    ],
    ids=["total_key-without-hierarchy", "percent-without-numerator", "mean-without-n", "percent-of-two-kinds"],
)  # fmt: skip
def test_an_indicator_or_filter_that_cannot_be_published_is_refused(build, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        build()


def test_a_non_additive_public_figure_is_not_summed_into_totals_and_keeps_its_decimals():
    spec = need_table(indicators=(
        Indicator("pupils", "Pupils", "pupils"),
        Indicator("england_pct", "England %", kind=PUBLIC, additive=False, dp=1),
    ))  # fmt: skip
    mart = pd.DataFrame({"time_period": [2022, 2022], "need": ["A", "B"], "pupils": [10, 20], "england_pct": [3.65, 7]})
    frame = ees_frame(spec, mart, GEOGRAPHY)
    assert list(frame["england_pct"]) == ["3.7", "7.0", "x"] and list(frame["pupils"]) == [10, 20, 30]


def test_means_and_public_scores_take_their_decimal_places_from_the_row():
    spec = PublishedTable(
        name="t", mart="m", title="t", time_identifier="Academic year", filters=(), by=("measure",),
        indicators=(Indicator("n", "Pupils", "n"), Indicator("mean", "Mean", kind=MEAN, n_column="n", dp_column="dp"),
                    Indicator("england", "England", kind=PUBLIC, additive=False, dp_column="dp")),
    )  # fmt: skip
    mart = pd.DataFrame({"time_period": [2022, 2022], "measure": ["ATT8", "P8"], "n": [40, 37],
                         "mean": [43.3, 0.205], "england": [34.8, -0.47], "dp": [1, 2]})  # fmt: skip
    frame = ees_frame(spec, mart, GEOGRAPHY)
    assert list(frame["mean"]) == ["43.3", "0.21"] and list(frame["england"]) == ["34.8", "-0.47"]


@pytest.mark.parametrize("spec", PUBLISHED_TABLES, ids=lambda spec: spec.name)
def test_every_column_of_every_published_table_is_described(spec):
    described = column_descriptions(spec)
    columns = [*spec.key_columns, *spec.indicator_columns, "release_id"]
    assert [c for c in columns if not described.get(c)] == []
    for indicator in spec.indicators:
        assert described[indicator.column].startswith(indicator.label + ": ")


def test_a_description_gives_the_filters_hint_and_the_rules_thresholds():
    described = column_descriptions(need_table(filters=(Filter("need", "Need", "CBDS code"),), by=("phase",)))
    assert described["need"] == "Need (CBDS code); Total = all of them together"
    assert "never summed" in described["phase"]
    assert "1 to 5" in described["pupils"] and "fewer than 10 children" in described["pct"]
    stricter = SuppressionRules(max_suppressed_count=9, uniform_group_below=12, rate_min_denominator=20,
                                average_min_n=11)  # fmt: skip
    count = indicator_description(Indicator("pupils", "Pupils"), stricter)
    assert count.startswith("Pupils: ") and "1 to 9" in count and "fewer than 12 children" in count
    percent = Indicator("pct", "Percent", kind=PERCENT, numerator="pupils", dp=2)
    assert "2 decimal places" in indicator_description(percent) and "fewer than 20 children" in indicator_description(
        percent, stricter
    )
    assert "fewer than 11 children" in indicator_description(Indicator("m", "M", kind=MEAN, n_column="n"), stricter)


def test_a_percentage_of_public_figures_is_described_as_not_suppressed():
    described = column_descriptions(need_table(indicators=(
        Indicator("pupils", "Pupils", "pupils"),
        Indicator("england", "England", kind=PUBLIC),
        Indicator("pct", "Percent", kind=PERCENT, numerator="pupils", of_total="need"),
        Indicator("england_pct", "England percent", kind=PERCENT, numerator="england", of_total="need"),
    )))  # fmt: skip
    assert "not suppressed" in described["england_pct"] and "fewer than 10" not in described["england_pct"]
    assert "not suppressed" not in described["pct"] and "fewer than 10" in described["pct"]


def test_an_la_row_dfes_footnote_says_is_not_the_las_figure_is_published_as_x():
    """newplans 2022: every Yorkshire and The Humber LA row carries the regional total (the mart's exception_note);
    the region's own row is right, and so are the LA's other measures."""
    spec = next(t for t in PUBLISHED_TABLES if t.name == "send_benchmark_ehcp")
    place = {"time_identifier": "Calendar year", "country_code": "E92000001", "country_name": "England",
             "region_code": "E12000003", "region_name": "Yorkshire and The Humber"}  # fmt: skip
    rows = [
        ("Local authority", "North Yorkshire", "new_ehc_plans", 6078, "footnote 4"),
        ("Local authority", "North Yorkshire", "requests_received_in_year", 971, None),
        ("Regional", None, "new_ehc_plans", 6078, "footnote 4"),
    ]
    mart = pd.DataFrame(
        [{**place, "time_period": 2022, "geographic_level": level, "new_la_code": "E06000065" if la else None,
          "old_la_code": "815" if la else None, "la_name": la, "geography_role": "statistical_neighbour",
          "measure": measure, "value": value, "value_symbol": None, "exception_note": note}
         for level, la, measure, value, note in rows]
    )  # fmt: skip
    frame = ees_frame(spec, mart, GEOGRAPHY)
    shown = {
        (level, measure): value for level, measure, value in frame[["geographic_level", "measure", "value"]].values
    }
    assert shown == {
        ("Local authority", "new_ehc_plans"): "x",
        ("Local authority", "requests_received_in_year"): "971",
        ("Regional", "new_ehc_plans"): "6078",
    }


def test_titles_promise_only_what_the_tables_hold():
    """The title is the table's description in send_reporting.duckdb: the caseload's query keeps 1 April of every
    year (not only 2023); the trend publishes no school roll (that is send_school_residence's Total)."""
    specs = {spec.name: spec for spec in PUBLISHED_TABLES}
    caseload = specs["send_ehcp_caseload"]
    assert "month(reference_date) = 4)" in caseload.query
    assert "April each year" in caseload.title and "April 2023" not in caseload.title
    trend = specs["send_trend"]
    assert not any("roll" in column for column in trend.indicator_columns)
    assert "roll" not in trend.title


def test_the_trend_publishes_englands_shares_as_dfe_gives_them_and_no_sum_of_them():
    """England's 4.0% (EHC plan) and 12.6% (SEN support) of January 2022 are DfE's rounded figures: published as
    they are, with the percent unit; the SEN Total is x (4.0 + 12.6 is not DfE's figure), and a census without
    DfE's figure is x. The mart's own SEN rows are not published (the filter's Total is the sum)."""
    from pipeline.ees import meta_frame

    [spec] = [t for t in PUBLISHED_TABLES if t.name == "send_trend"]
    mart = pd.DataFrame({"time_period": [202122] * 3 + [202223] * 3, "census_term": "Spring",
                         "sen_provision": ["E", "K", "SEN"] * 2, "pupils": [165, 570, 735, 176, 629, 805],
                         "england_pct_of_pupils_published": [4.0, 12.6, None, None, None, None]})  # fmt: skip
    frame = ees_frame(spec, mart, GEOGRAPHY)
    shown = {(str(t), p): (str(n), e) for t, p, n, e in
             frame[["time_period", "sen_provision", "pupils", "england_pct_of_pupils"]].values}  # fmt: skip
    assert shown == {
        ("202122", "E"): ("165", "4.0"), ("202122", "K"): ("570", "12.6"), ("202122", "Total"): ("735", "x"),
        ("202223", "E"): ("176", "x"), ("202223", "K"): ("629", "x"), ("202223", "Total"): ("805", "x"),
    }  # fmt: skip
    units = dict(meta_frame(spec)[["col_name", "indicator_unit"]].values.tolist())
    assert units["england_pct_of_pupils"] == "%"


def _parts(name: str, mart: pd.DataFrame):
    spec = next(t for t in PUBLISHED_TABLES if t.name == name)
    return spec, model_parts(spec, ees_frame(spec, mart, GEOGRAPHY))


def test_progress_8_pupils_are_within_attainment_8_pupils_and_the_rest_is_a_hidden_cell():
    mart = pd.DataFrame({"time_period": 202223, "key_stage": "KS4", "measure": ["ATT8", "P8", "ATT8", "P8"],
                         "sen_provision": ["E", "E", "K", "K"], "pupils_with_score": [13, 12, 40, 37],
                         "average_score": [28.7, -0.17, 35.1, -0.5], "england_value": [14.2, -1.1, 33.3, -0.45],
                         "score_dp": [1, 2, 1, 2], "measure_type": "average_score"})  # fmt: skip
    spec, parts = _parts("send_attainment_scores", mart)
    table, *_ = relation_tables(spec, parts)
    assert table.hidden and sorted(c.value for c in table.cells) == [1, 3]
    rest = next(c.key for c in table.cells if c.value == 1)
    assert "measure=ATT8 without P8" in rest and "sen_provision=E" in rest
    tied = {(c.total, c.parts) for c in table.constraints}
    keys = [key for model_part in parts for key in model_part.keys(model_part.frame)]
    whole, part = (next(k for k in keys if f"measure={m}" in k and "sen_provision=E" in k) for m in ("ATT8", "P8"))
    assert (whole, tuple(sorted((part, rest)))) in tied
    # more pupils with Progress 8 than with Attainment 8 cannot be: an error naming the cells, not the counts
    mart.loc[1, "pupils_with_score"] = 14
    with pytest.raises(TableError, match="counts more children than"):
        relation_tables(*_parts("send_attainment_scores", mart))


def test_a_relation_naming_a_column_that_is_not_a_count_is_refused():
    exclusions = pd.DataFrame({"time_period": 202021, "sen_provision": ["E", "K"], "children_suspended": [9, 27],
                               "children_permanently_excluded": [0, 1], "suspensions": [20, 60],
                               "children_suspended_and_permanently_excluded": [0, 0]})  # fmt: skip
    spec, parts = _parts("send_exclusions", exclusions)
    typo = replace(spec, relations=(Within("children_suspend", "children_suspended_and_permanently_excluded"),))
    with pytest.raises(TableError, match="relation .*children_suspend'.* names a column that is not a count"):
        relation_tables(typo, parts)


def test_children_suspended_and_excluded_are_within_both_and_a_cohort_assessed_in_each_subject_is_one():
    exclusions = pd.DataFrame({"time_period": 202021, "sen_provision": ["E", "K"], "children_suspended": [9, 27],
                               "children_permanently_excluded": [0, 1], "suspensions": [20, 60],
                               "children_suspended_and_permanently_excluded": [0, 0]})  # fmt: skip
    [table] = relation_tables(*_parts("send_exclusions", exclusions))
    # per provision and SEN (the Total), permanently excluded and suspended each hold the suspended-and-excluded
    assert len(table.constraints) == 6 and {c.value for c in table.cells} == {0, 1, 9, 27, 36}
    ks1 = pd.DataFrame({"time_period": 202122, "key_stage": "KS1", "measure": ["READING", "WRITING", "MATHS"] * 2,
                        "sen_provision": ["E"] * 3 + ["K"] * 3, "measure_type": "percent_meeting_standard",
                        "pupils_with_result": [7, 7, 7, 41, 41, 40], "pupils_meeting_standard": [1, 1, 2, 20, 18, 21],
                        "england_value": 50.0})  # fmt: skip
    [table] = relation_tables(*_parts("send_attainment_standard", ks1))
    # E: reading = writing = maths (7); K: reading = writing (41), maths (40) is not the same children
    assert table.hidden and not table.cells and len(table.constraints) == 3
    assert all(not c.outcome and len(c.parts) == 1 for c in table.constraints)


def test_a_shown_or_suppressed_mean_tells_how_many_children_it_is_over():
    """Rule 6: a mean is shown over 8 children or more. Shown, its count is at least 8; `c`, at most 7: whether the
    count itself is shown or not, the model knows it (a hidden slack over a public threshold)."""
    mart = pd.DataFrame({"time_period": 202223, "key_stage": "KS4", "measure": ["ATT8", "P8"], "sen_provision": "E",
                         "pupils_with_score": [13, 6], "average_score": [28.7, -0.17], "england_value": [14.2, -1.1],
                         "score_dp": [1, 2], "measure_type": "average_score"})  # fmt: skip
    tables = relation_tables(*_parts("send_attainment_scores", mart))
    slacks = next(t for t in tables if t.name.endswith("rule 6"))
    public = next(t for t in tables if t.public)
    assert slacks.hidden and not slacks.protected and {c.value for c in public.cells} == {7, 8}
    seven, eight = sorted(public.keys, key=lambda k: k[1])
    shown, hidden = sorted(slacks.constraints, key=lambda c: c.total == seven)
    assert eight in shown.parts and "measure=ATT8" in shown.total  # 13 = 8 + 5
    assert hidden.total == seven and any("measure=P8" in k for k in hidden.parts)  # 7 = 6 + 1
    assert sorted(c.value for c in slacks.cells) == [1, 5]


def test_every_symbol_a_percentage_is_published_with_is_in_its_description():
    """England's percentage of a census DfE has no figures for is published as x (send_primary_need): a reader of
    the column's description must find what x means there."""
    spec = need_table(indicators=(
        Indicator("pupils", "Pupils", "pupils"),
        Indicator("england", "England", kind=PUBLIC),
        Indicator("pct", "Percent", kind=PERCENT, numerator="pupils", of_total="need"),
        Indicator("england_pct", "England percent", kind=PERCENT, numerator="england", of_total="need"),
    ))  # fmt: skip
    mart = pd.DataFrame({"time_period": [2022, 2022, 2023, 2023], "census_term": "Spring", "need": ["A", "B"] * 2,
                         "pupils": [30, 0, 0, 0], "england": [100.0, 50.0, None, None]})  # fmt: skip
    frame = ees_frame(spec, mart, GEOGRAPHY)
    described = column_descriptions(spec)
    for column in ("pct", "england_pct"):
        symbols = {text for text in frame[column] if not text[0].isdigit()}
        assert symbols, column
        for symbol in symbols:
            assert f"{symbol} when" in described[column], (column, symbol)


def test_the_setting_type_description_names_every_setting_code_the_placements_contract_accepts():
    from pipeline.ees import BY_LABELS
    from pipeline.sources.placements import SETTING_TYPES

    assert [code for code in SETTING_TYPES if code not in BY_LABELS["setting_type"][1]] == []


def test_deprivation_has_a_row_per_edition_with_x_where_the_extract_does_not_rank_the_la():
    """A county council (Leicestershire) is not a district: a district extract has no row for it. The table was
    then empty, and an empty table blocks the release, so no county council could publish. Each edition now has
    its row, the LA's rank and place x (not available)."""
    [spec] = [t for t in PUBLISHED_TABLES if t.name == "send_deprivation"]
    districts = pd.DataFrame(
        {"year": [2019, 2019, 2015], "rank": [161, 270, 150], "districts_ranked": [317, 317, 326],
         "rank_in_region_least_deprived": [20, 5, 19], "districts_in_region": [40, 40, 40],
         "is_home_la": [False, False, False]}
    )  # fmt: skip
    county = ees_frame(spec, districts, GEOGRAPHY)
    assert county[["time_period", "rank", "districts_ranked", "rank_in_region_least_deprived"]].values.tolist() == [
        ["2015", "x", "326", "x"],
        ["2019", "x", "317", "x"],
    ]
    unitary = ees_frame(spec, districts.assign(is_home_la=[False, True, False]), GEOGRAPHY)
    assert unitary[["time_period", "rank", "rank_in_region_least_deprived"]].values.tolist() == [
        ["2015", "x", "x"],
        ["2019", "270", "5"],
    ]


def test_a_percentage_another_publisher_gives_has_the_percent_unit_in_the_meta_file():
    from pipeline.ees import meta_frame

    [spec] = [t for t in PUBLISHED_TABLES if t.name == "send_attainment_standard"]
    units = dict(meta_frame(spec)[["col_name", "indicator_unit"]].values.tolist())
    assert units["england_pct"] == "%" and units["pct_of_pupils"] == "%" and units["pupils"] == ""


def test_each_attainment_table_explains_the_measures_it_holds_and_no_other():
    from pipeline.ees import by_label

    hints = {t.name: by_label(t, "measure")[1] for t in PUBLISHED_TABLES if t.name.startswith("send_attainment")}
    assert "GLD: Good level of development" in hints["send_attainment_standard"]
    assert "ATT8" not in hints["send_attainment_standard"]
    assert (
        "P8: Average Progress 8 score" in hints["send_attainment_scores"]
        and "GLD" not in hints["send_attainment_scores"]
    )


def test_the_published_tables_and_the_report_read_the_seeds_of_the_dbt_project_built(tmp_path):
    """SEND_DBT_PROJECT_DIR names the dbt project the pipeline builds: the published tables' hints and the report's
    code lists come from its seeds (pipeline.settings.seeds_dir), as its marts do, not from the repository's."""
    seeds = tmp_path / "dbt_project" / "seeds"
    shutil.copytree(REPO_ROOT / "dbt_project" / "seeds", seeds)
    with (seeds / "ethnicity_groups.csv").open("a") as handle:
        handle.write("ZZZZ,Zed group\n")
    code = (
        "from pipeline.published_tables import ETHNIC_GROUPS\n"
        "from pipeline.report.facts import seed_rows\n"
        "print(*dict(ETHNIC_GROUPS)['Zed group'], seed_rows('ethnicity_groups')[-1]['ethnicity'])\n"
    )
    env = {**os.environ, "SEND_DBT_PROJECT_DIR": str(tmp_path / "dbt_project")}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env).stdout
    assert out.split() == ["ZZZZ", "ZZZZ"]


def test_a_total_with_a_part_missing_is_missing_not_the_sum_of_the_rest():
    """DfE's England figure for one need missing: the all-needs Total is unknown (x), not the other needs' sum."""
    spec = need_table(indicators=(Indicator("eng", "England", kind=PUBLIC),))
    mart = pd.DataFrame({"time_period": [2022, 2022, 2023, 2023], "need": ["A", "B"] * 2, "eng": [3, None, 3, 4]})
    exact = ees_frame(spec, mart, GEOGRAPHY)
    assert list(exact["eng"]) == ["3", "x", "x", "3", "4", "7"]
