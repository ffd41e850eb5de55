"""The EHCP, placements, disability register, wider services, EHCNA timeliness, LD health checks and high needs spend
marts (issue 4; 7.2).

One pipeline run for the module: the generated Rutland extracts of every source these marts read (EHCNA / SEN2,
placements, disability register, LD health checks, finance, and the real DfE release for the geography) are
materialized through
their Dagster assets into a tmp warehouse, then `dbt build` builds the marts and runs their dbt tests. Each mart
is checked against the seed figures in tests/fixtures/figures.yaml, and each mart is rebuilt from a copy of the
warehouse in which one raw row was changed, to show the figure moves with the data (nothing is a constant).
"""

import datetime as dt
import itertools
import shutil
from decimal import Decimal
from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd
import pytest
import yaml

from pipeline.generate.dfe import copy_dfe_release
from pipeline.generate.disability_register import generate_disability_register
from pipeline.generate.ehcna import generate_ehcna
from pipeline.generate.finance import FINANCIAL_YEARS, generate_finance, year_amounts
from pipeline.generate.health_checks import generate_health_checks
from pipeline.generate.placements import generate_placements
from pipeline.resources import SendWarehouse
from pipeline.sources.dfe import dfe_ehcp_2025
from pipeline.sources.disability_register import disability_register
from pipeline.sources.ehcna import ehcna_extracts
from pipeline.sources.finance import finance_high_needs
from pipeline.sources.health_checks import ld_health_checks
from pipeline.sources.placements import placements

from support import dbt, dbt_statuses, dbt_test_failures

REPO = Path(__file__).resolve().parent.parent
FIGURES = yaml.safe_load((Path(__file__).parent / "fixtures" / "figures.yaml").read_text())
KEY = "test-key-not-secret-0123456789"
MARTS = (
    "fct_ehcp_caseload",
    "fct_placements",
    "fct_wider_services",
    "fct_disability_register",
    "fct_ehcna_timeliness",
    "fct_ehcp_annual_reviews",
    "fct_ld_health_checks",
    "fct_high_needs_spend",
)
GEOGRAPHY = ("new_la_code", "old_la_code", "la_name")


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """Generate, ingest through the source assets, `dbt build` the marts (and their tests); the warehouse path."""
    root = tmp_path_factory.mktemp("marts_ehcp")
    raw = root / "raw"
    generate_ehcna(raw, 2023)
    generate_placements(raw, 2023)
    generate_disability_register(raw, 2023)
    generate_finance(raw, 2023)
    generate_health_checks(raw, seed=2023)
    copy_dfe_release(raw)
    warehouse = SendWarehouse(raw_dir=str(raw), warehouse_dir=str(root / "warehouse"), la_code="857")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SEND_PSEUDONYM_KEY", KEY)
        result = dg.materialize(
            [ehcna_extracts, placements, disability_register, finance_high_needs, ld_health_checks, dfe_ehcp_2025],
            resources={"warehouse": warehouse},
        )
    assert result.success
    path = root / "warehouse" / "send.duckdb"
    with duckdb.connect(str(path), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM raw.quarantine").fetchone()[0] == 0
    selection = [f"+{mart}" for mart in MARTS]
    build = dbt(path, root, "build", "--select", *selection, "--indirect-selection", "cautious")
    assert build.returncode == 0, build.stdout[-4000:] + build.stderr[-2000:]
    return path


@pytest.fixture
def marts(built):
    con = duckdb.connect(str(built), read_only=True)
    yield con
    con.close()


# One raw row changed per mart (each touches a different row, so no change moves another mart's figure); the
# copy of the warehouse holding all of them is rebuilt once and each mart's test checks its own figure moved.
CHANGES = {
    "fct_ehcp_caseload": """
        UPDATE raw.ehcna_plans SET primary_need = 'SEMH'
        WHERE plan_id = (
            SELECT min(plan_id) FROM raw.ehcna_plans
            WHERE primary_need IN ('ASD', 'AUT') AND start_date <= DATE '2023-04-01'
              AND (cease_date IS NULL OR cease_date > DATE '2023-04-01'))
        RETURNING 1
    """,
    "fct_ehcna_timeliness": """
        UPDATE raw.ehcna_requests SET request_outcome_date = received_date + 60
        WHERE request_id = (
            SELECT min(request_id) FROM raw.ehcna_requests
            WHERE request_outcome IN ('Y', 'N') AND received_date BETWEEN DATE '2022-01-01' AND DATE '2022-10-01'
              AND request_outcome_date - received_date <= 42)
        RETURNING 1
    """,
    # an annual review of 2021/22 held on its due date, held a day late: only 2021/22's in-time count moves
    "fct_ehcp_annual_reviews": """
        UPDATE raw.ehcna_annual_reviews SET review_date = due_date + 1
        WHERE (plan_id, due_date) = (
            SELECT (plan_id, due_date) FROM raw.ehcna_annual_reviews
            WHERE due_date BETWEEN DATE '2021-09-01' AND DATE '2022-08-31' AND review_date <= due_date
            ORDER BY plan_id, due_date LIMIT 1)
        RETURNING 1
    """,
    "fct_placements": """
        UPDATE raw.placements SET in_county = true
        WHERE extract_date = DATE '2022-12-31' AND placement_id = (
            SELECT min(placement_id) FROM raw.placements
            WHERE extract_date = DATE '2022-12-31' AND has_ehcp AND NOT in_county
              AND setting_type IN ('LA_SPECIAL', 'INMSS') AND start_date <= extract_date
              AND (end_date IS NULL OR end_date >= extract_date))
        RETURNING 1
    """,
    "fct_wider_services": """
        UPDATE raw.disability_register SET aiming_high_short_breaks = false
        WHERE snapshot_date = DATE '2023-03-31' AND register_id = (
            SELECT min(register_id) FROM raw.disability_register
            WHERE snapshot_date = DATE '2023-03-31' AND aiming_high_short_breaks AND has_ehcp
              AND NOT aiming_high_positive_activities)
        RETURNING 1
    """,
    # a child aged 0-18 living in the area (read from staging), who used no service: only 6.8 moves
    "fct_disability_register": """
        UPDATE raw.disability_register SET has_ehcp = false
        WHERE snapshot_date = DATE '2023-03-31' AND register_id = (
            SELECT min(register_id) FROM staging.stg_disability_register__children
            WHERE snapshot_date = DATE '2023-03-31' AND residence = 'in_area' AND age_band = '0-18' AND has_ehcp
              AND NOT (aiming_high_positive_activities OR aiming_high_short_breaks OR parent_support))
        RETURNING 1
    """,
    # a young person aged 18 to 25 (read from staging) whose 2022-23 health check is taken off
    "fct_ld_health_checks": """
        UPDATE raw.ld_health_checks SET health_check_date = NULL
        WHERE financial_year = '2022-23' AND person_id = (
            SELECT min(person_id) FROM staging.stg_health_checks__young_people
            WHERE financial_year = '2022-23' AND age_band = '18 to 25' AND had_health_check)
        RETURNING 1
    """,
    "fct_high_needs_spend": """
        UPDATE raw.finance_high_needs SET amount_gbp = amount_gbp + 1000.01
        WHERE financial_year = '2022-23' AND line_code = '1.2.3' AND category = 'out-of-county'
        RETURNING 1
    """,
}


@pytest.fixture(scope="module")
def changed(built, tmp_path_factory):
    """A copy of the warehouse with one raw row of each mart's sources changed, and the marts rebuilt."""
    tmp = tmp_path_factory.mktemp("changed")
    copy = tmp / "send.duckdb"
    shutil.copyfile(built, copy)
    with duckdb.connect(str(copy)) as con:
        for mart, sql in CHANGES.items():
            assert len(con.execute(sql).fetchall()) == 1, mart
    run = dbt(copy, tmp, "run", "--select", *MARTS)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    con = duckdb.connect(str(copy), read_only=True)
    yield con
    con.close()


def rows(con, sql: str, params: dict | None = None) -> list[tuple]:
    return con.execute(sql, params or {}).fetchall()


# ---------- 6.3 EHCP demand: fct_ehcp_caseload ----------


def caseload_april_2023(con) -> dict[str, tuple[int, float]]:
    return {
        need: (count, pct)
        for need, count, pct in rows(
            con,
            "SELECT primary_need, ehcps_maintained, ehcps_maintained_pct FROM marts.fct_ehcp_caseload "
            "WHERE period_type = 'Month' AND period_start = DATE '2023-04-01'",
        )
    }


def test_caseload_reproduces_the_seed_6_3(marts):
    seed = FIGURES["ehcp_demand_6_3"]
    [(census_day, january_2019, time_period)] = rows(
        marts,
        "SELECT reference_date, ehcps_maintained, time_period FROM marts.fct_ehcp_caseload "
        "WHERE period_type = 'SEN2 census day' AND primary_need = 'Total' "
        "AND reference_date BETWEEN DATE '2019-01-01' AND DATE '2019-01-31'",
    )
    # the SEN2 census day: the third Thursday of January, coded as DfE codes the January 2019 caseload
    assert census_day.weekday() == 3 and 15 <= census_day.day <= 21 and time_period == 201819
    assert january_2019 == seed["ehcps_maintained"]["2019-01"]

    april = caseload_april_2023(marts)
    assert april["Total"][0] == seed["ehcps_maintained"]["2023-04"]
    assert sum(count for need, (count, _) in april.items() if need != "Total") == april["Total"][0]
    for need, printed in seed["presenting_need_pct_2023_04"].items():
        count, pct = april[need]
        assert pct == pytest.approx(100 * count / april["Total"][0])  # from the counts, unrounded
        assert round(pct, 1) == printed

    requests = dict(
        rows(
            marts,
            "SELECT time_period, requests_received FROM marts.fct_ehcp_caseload "
            "WHERE period_type = 'Calendar year' AND primary_need = 'Total'",
        )
    )
    assert requests[2019] == seed["requests_by_year_section_6_3"][2019]
    # 6.3's 53 (2021), 52 (2022) and 34 (2023 to date) come from another extract than table 7.1; the data (and so
    # the mart) follows table 7.1
    assert {year: requests[year] for year in (2021, 2022, 2023)} == FIGURES["ehcna_timescales_7_1"]["requests"]
    monthly_2019 = rows(
        marts,
        "SELECT sum(requests_received) FROM marts.fct_ehcp_caseload "
        "WHERE period_type = 'Month' AND time_period = 2019 AND primary_need = 'Total'",
    )[0][0]
    assert monthly_2019 == requests[2019]
    assert rows(
        marts,
        "SELECT count(*) FROM marts.fct_ehcp_caseload WHERE primary_need <> 'Total' AND requests_received IS NOT NULL",
    ) == [(0,)]


def test_caseload_needs_add_up_to_the_total_in_every_period(marts):
    broken = rows(
        marts,
        """
        SELECT period_type, period_start FROM marts.fct_ehcp_caseload
        GROUP BY ALL
        HAVING sum(ehcps_maintained) FILTER (WHERE primary_need <> 'Total')
            <> sum(ehcps_maintained) FILTER (WHERE primary_need = 'Total')
        """,
    )
    assert broken == []
    incomplete = rows(
        marts,
        "SELECT DISTINCT period_type, time_period FROM marts.fct_ehcp_caseload "
        "WHERE NOT is_complete_period AND period_type = 'Calendar year'",
    )
    assert incomplete == [("Calendar year", 2023)]  # the extract of 30 June 2023: 2023 is the year to date


def test_caseload_moves_when_a_plan_changes_need(marts, changed):
    before = {need: count for need, (count, _) in caseload_april_2023(marts).items()}
    after = caseload_april_2023(changed)
    assert after["ASD"][0] == before["ASD"] - 1 and after["SEMH"][0] == before["SEMH"] + 1
    assert after["Total"][0] == before["Total"]
    assert round(after["ASD"][1], 1) != FIGURES["ehcp_demand_6_3"]["presenting_need_pct_2023_04"]["ASD"]


# ---------- 7.1 statutory timescales: fct_ehcna_timeliness ----------

TIMELINESS = """
    SELECT time_period, requests_received, decisions_within_6_weeks, decisions, decisions_within_6_weeks_pct,
           plans_within_20_weeks, new_plans_issued, plans_within_20_weeks_pct,
           plans_within_20_weeks_excluding_exceptions, new_plans_issued_excluding_exceptions, is_complete_period
    FROM marts.fct_ehcna_timeliness
"""
ANNUAL_REVIEWS = """
    SELECT time_period, annual_reviews_in_time, annual_reviews_due, annual_reviews_in_time_pct, is_complete_period,
           period_start, period_end, counted_to
    FROM marts.fct_ehcp_annual_reviews
"""
# the seed's columns 2021, 2022 and 2023 YTD; its annual reviews row is "(academic year)": the academic year ending
# in the column's year, the last to the extract date
SEED_ACADEMIC_YEAR = {2021: 202021, 2022: 202122, 2023: 202223}


def timeliness(con) -> dict[int, tuple]:
    return {row[0]: row[1:] for row in rows(con, TIMELINESS)}


def test_timeliness_reproduces_the_seed_7_1(marts):
    seed = FIGURES["ehcna_timescales_7_1"]
    got = timeliness(marts)
    for year in (2021, 2022, 2023):
        (requests, d_in, d_all, d_pct, p_in, p_all, p_pct, px_in, px_all, complete) = got[year]
        assert requests == seed["requests"][year]
        assert [d_in, d_all] == seed["decisions_within_6_weeks"][year]
        assert [p_in, p_all] == seed["plans_within_20_weeks"][year]
        # percentages follow the counts (the seed prints 32% for 2022's 33/50, which is 66%)
        assert d_pct == pytest.approx(100 * d_in / d_all) and p_pct == pytest.approx(100 * p_in / p_all)
        assert px_all <= p_all and px_in <= p_in  # excluding exceptions leaves plans out, never adds
        assert complete == (year < 2023)
    assert round(got[2022][6]) == 66


def annual_reviews(con) -> dict[int, tuple]:
    return {row[0]: row[1:] for row in rows(con, ANNUAL_REVIEWS)}


def test_annual_reviews_reproduce_the_seed_7_1_by_academic_year(marts):
    seed = FIGURES["ehcna_timescales_7_1"]["annual_reviews_in_time_pct"]
    got = annual_reviews(marts)
    for column, academic_year in SEED_ACADEMIC_YEAR.items():
        in_time, due, pct, complete, start, end, counted_to = got[academic_year]
        assert round(pct) == seed[column] and pct == pytest.approx(100 * in_time / due)
        first = academic_year // 100
        assert (start, end) == (dt.date(first, 9, 1), dt.date(first + 1, 8, 31))
        assert complete == (academic_year < 202223) and counted_to == min(end, dt.date(2023, 6, 30))
    # the calendar years hold other figures: counted by calendar year, the seed's percentages are not reproduced
    by_calendar_year = rows(marts, """
        SELECT extract(year FROM due_date), round(100 * avg(CASE WHEN held_in_time THEN 1 ELSE 0 END))
        FROM intermediate.int_ehcna_annual_reviews_timed WHERE due_date <= DATE '2023-06-30' GROUP BY 1
    """)  # fmt: skip
    assert [dict(by_calendar_year)[year] for year in seed] != list(seed.values())


def test_annual_reviews_move_when_a_review_is_late(marts, changed):
    before, after = annual_reviews(marts), annual_reviews(changed)
    assert after[202122][0] == before[202122][0] - 1 and after[202122][1] == before[202122][1]
    assert {y: v for y, v in after.items() if y != 202122} == {y: v for y, v in before.items() if y != 202122}


def test_timeliness_moves_when_a_decision_is_late(changed):
    seed = FIGURES["ehcna_timescales_7_1"]
    after = timeliness(changed)
    assert after[2022][1:3] == (
        seed["decisions_within_6_weeks"][2022][0] - 1,
        seed["decisions_within_6_weeks"][2022][1],
    )
    assert list(after[2021][1:3]) == seed["decisions_within_6_weeks"][2021]
    assert {year: after[year][0] for year in seed["requests"]} == seed["requests"]


# ---------- 6.4-6.5 placements and post 16: fct_placements ----------

OUT_OF_COUNTY_SPECIAL = """
    SELECT extract_date, sum(children), sum(pct_of_children)
    FROM marts.fct_placements
    WHERE has_ehcp AND setting_group = 'special_school' AND NOT in_county
    GROUP BY extract_date
"""


def test_placements_reproduce_the_seed_6_4_and_6_5(marts):
    seed = FIGURES["placements_6_4"]
    ooc = {day.strftime("%Y-%m"): (children, pct) for day, children, pct in rows(marts, OUT_OF_COUNTY_SPECIAL)}
    assert {month: children for month, (children, _) in ooc.items()} == seed["out_of_county_special_ehcp"]
    # section 9: "a high proportion (20%) of children with EHCPs are placed in out of county special provisions"
    assert round(ooc["2022-12"][1]) == FIGURES["expenditure_9"]["ehcp_out_of_county_special_pct"]
    erp = rows(
        marts,
        "SELECT sum(children) FROM marts.fct_placements "
        "WHERE has_ehcp AND setting_type = 'ERP' AND extract_date = DATE '2022-12-31'",
    )[0][0]
    assert erp == seed["designated_special_or_erp_ehcp"]

    post16 = FIGURES["post16_6_5"]
    destinations = dict(
        rows(
            marts,
            "SELECT post16_destination, sum(children) FROM marts.fct_placements "
            "WHERE has_ehcp AND age_group = '16-25' AND extract_date = DATE '2022-12-31' GROUP BY 1",
        )
    )
    assert sum(destinations.values()) == post16["ehcp_aged_16_25"]
    assert destinations["college_or_alternative_provision"] == post16["in_college_or_alternative"]
    assert round(100 * post16["in_college_or_alternative"] / post16["ehcp_aged_16_25"]) == 91  # as printed

    totals = rows(
        marts,
        "SELECT extract_date, has_ehcp, sum(children), min(children_all_settings), max(children_all_settings), "
        "sum(pct_of_children) FROM marts.fct_placements GROUP BY ALL",
    )
    for _, _, children, low, high, pct in totals:
        assert children == low == high and pct == pytest.approx(100)


def test_placements_move_when_a_placement_comes_back_into_county(changed):
    seed = FIGURES["placements_6_4"]["out_of_county_special_ehcp"]
    after = {day.strftime("%Y-%m"): children for day, children, _ in rows(changed, OUT_OF_COUNTY_SPECIAL)}
    assert after == {"2021-12": seed["2021-12"], "2022-12": seed["2022-12"] - 1}


# ---------- 6.7 wider services: fct_wider_services ----------


def services_2023(con) -> dict[str, tuple[int, int]]:
    return {
        service: (children, with_ehcp)
        for service, children, with_ehcp, start, end in rows(
            con,
            "SELECT service, children, children_with_ehcp, period_start, period_end FROM marts.fct_wider_services "
            "WHERE snapshot_date = DATE '2023-03-31'",
        )
        if (start, end) == (dt.date(2022, 4, 1), dt.date(2023, 3, 31))  # "April 22 - March 23"
    }


def test_wider_services_reproduce_the_seed_6_7(marts):
    seed = FIGURES["wider_services_6_7"]
    got = services_2023(marts)
    assert got["positive_activities"][0] == seed["positive_activities"]
    assert got["short_breaks"] == (seed["short_breaks"], seed["short_breaks_with_ehcp"])
    assert got["positive_activities_and_short_breaks"][0] == seed["both_services"]
    assert got["aiming_high_any"][0] == seed["distinct_children"]
    assert seed["positive_activities"] + seed["short_breaks"] - seed["both_services"] == seed["distinct_children"]
    assert got["parent_carer_support"][0] == seed["parent_carers_supported"]
    pct = rows(
        marts,
        "SELECT pct_with_ehcp FROM marts.fct_wider_services "
        "WHERE snapshot_date = DATE '2023-03-31' AND service = 'short_breaks'",
    )[0][0]
    assert pct == pytest.approx(100 * seed["short_breaks_with_ehcp"] / seed["short_breaks"])


def test_wider_services_move_when_a_short_break_is_taken_off(changed):
    seed = FIGURES["wider_services_6_7"]
    after = services_2023(changed)
    assert after["short_breaks"] == (seed["short_breaks"] - 1, seed["short_breaks_with_ehcp"] - 1)
    assert after["aiming_high_any"][0] == seed["distinct_children"] - 1
    assert after["positive_activities"][0] == seed["positive_activities"]
    assert after["parent_carer_support"][0] == seed["parent_carers_supported"]


# ---------- 6.8 disability register: fct_disability_register ----------

BANDS = {"aged_0_18": "0-18", "aged_19_25": "19-25", "out_of_area": "out of area", "total": "Total"}


def register_2023(con) -> dict[str, list[int]]:
    return {
        band: [children, with_ehcp]
        for band, children, with_ehcp in rows(
            con,
            "SELECT age_band, children, children_with_ehcp FROM marts.fct_disability_register "
            "WHERE snapshot_date = DATE '2023-03-31'",
        )
    }


def test_disability_register_reproduces_the_seed_6_8(marts):
    seed = FIGURES["disability_register_6_8"]
    got = register_2023(marts)
    assert {key: got[band] for key, band in BANDS.items()} == seed
    assert [sum(v[i] for band, v in got.items() if band != "Total") for i in (0, 1)] == got["Total"]
    pct = dict(
        rows(
            marts,
            "SELECT age_band, pct_with_ehcp FROM marts.fct_disability_register WHERE snapshot_date = DATE '2023-03-31'",
        )
    )
    assert pct["0-18"] == pytest.approx(100 * seed["aged_0_18"][1] / seed["aged_0_18"][0])


def test_disability_register_moves_when_a_plan_is_taken_off(changed):
    seed = FIGURES["disability_register_6_8"]
    after = register_2023(changed)
    assert after["0-18"] == [seed["aged_0_18"][0], seed["aged_0_18"][1] - 1]
    assert after["Total"] == [seed["total"][0], seed["total"][1] - 1]
    assert after["19-25"] == seed["aged_19_25"]


# ---------- 7.2 health assessments: fct_ld_health_checks ----------


def health_checks(con) -> dict[tuple[str, str], tuple[int, int, float]]:
    return {
        (year, band): (people, done, pct)
        for year, band, people, done, pct in rows(
            con,
            "SELECT financial_year, age_band, people_on_register, health_checks_done, pct_health_checks_done "
            "FROM marts.fct_ld_health_checks",
        )
    }


def test_ld_health_checks_reproduce_the_seed_7_2(marts):
    got = health_checks(marts)
    people, done, pct = got[("2022-23", "Total")]
    assert int(Decimal(pct).quantize(Decimal(1))) == FIGURES["ehcna_timescales_7_1"]["health_assessments_ld_pct"]
    assert pct == pytest.approx(100 * done / people)
    years = sorted({year for year, _ in got})
    assert years == ["2020-21", "2021-22", "2022-23"]
    for year in years:
        bands = [got[(year, band)] for band in ("14 to 17", "18 to 25")]
        assert got[(year, "Total")][:2] == tuple(sum(b[i] for b in bands) for i in (0, 1))
        assert all(d <= p for p, d, _ in bands)
    assert rows(marts, "SELECT DISTINCT time_period, time_identifier FROM marts.fct_ld_health_checks "
                       "WHERE financial_year = '2022-23'") == [(202223, "Financial year")]  # fmt: skip


def test_ld_health_checks_move_when_a_check_is_taken_off(marts, changed):
    before, after = health_checks(marts), health_checks(changed)
    for band in ("18 to 25", "Total"):
        people, done, _ = before[("2022-23", band)]
        assert after[("2022-23", band)][:2] == (people, done - 1)
    assert after[("2022-23", "14 to 17")] == before[("2022-23", "14 to 17")]
    assert round(after[("2022-23", "Total")][2]) != FIGURES["ehcna_timescales_7_1"]["health_assessments_ld_pct"]


def test_ld_health_checks_dbt_tests_fail_on_a_total_that_does_not_add_up_or_more_checks_than_people(built, tmp_path):
    copy = tmp_path / "send.duckdb"
    shutil.copyfile(built, copy)
    with duckdb.connect(str(copy)) as con:
        con.execute("UPDATE marts.fct_ld_health_checks SET people_on_register = people_on_register + 1 "
                    "WHERE financial_year = '2022-23' AND age_band = 'Total'")  # fmt: skip
    first = dbt(copy, tmp_path, "test", "--select", "fct_ld_health_checks")
    assert first.returncode != 0
    assert set(dbt_test_failures(copy, tmp_path)) == {"fct_ld_health_checks_total_is_sum_of_age_bands"}
    with duckdb.connect(str(copy)) as con:
        con.execute("UPDATE marts.fct_ld_health_checks SET people_on_register = people_on_register - 1 "
                    "WHERE financial_year = '2022-23' AND age_band = 'Total'")  # fmt: skip
        # one check more than the band's young people, added to the Total too (which still adds up)
        [(extra,)] = rows(con, "SELECT people_on_register - health_checks_done + 1 FROM marts.fct_ld_health_checks "
                               "WHERE financial_year = '2021-22' AND age_band = '14 to 17'")  # fmt: skip
        con.execute(
            "UPDATE marts.fct_ld_health_checks SET health_checks_done = health_checks_done + $extra "
            "WHERE financial_year = '2021-22' AND age_band IN ('14 to 17', 'Total')",
            {"extra": extra},
        )
    second = dbt(copy, tmp_path, "test", "--select", "fct_ld_health_checks")
    assert second.returncode != 0
    assert set(dbt_test_failures(copy, tmp_path)) == {"fct_ld_health_checks_done_at_most_on_register"}
    assert "pass" in dbt_statuses(tmp_path, "test").values()


# ---------- 9 high needs spend: fct_high_needs_spend ----------

YEAR_TOTALS = """
    SELECT financial_year, amount_gbp, amounts_not_reported, share_of_year_pct, growth_gbp, growth_pct
    FROM marts.fct_high_needs_spend WHERE line_code = 'Total' AND category = 'Total'
"""


def test_high_needs_spend_reproduces_the_seed_9(marts):
    seed = FIGURES["expenditure_9"]["high_needs_spend_gbp_m"]
    totals = {year: rest for year, *rest in rows(marts, YEAR_TOTALS)}
    assert list(totals) == list(FINANCIAL_YEARS)
    for year, (amount, not_reported, share, _, _) in totals.items():
        assert isinstance(amount, Decimal)  # exact money, never float
        # the generator's own pence (an independent reading of the same extract), reported amounts only
        generated = year_amounts(year, 2023)
        pence = [v for v in generated.values() if not isinstance(v, str)]
        assert amount == Decimal(sum(pence)) / 100
        assert not_reported == sum(isinstance(v, str) for v in generated.values())
        assert share == pytest.approx(100)
    assert {year: round(float(totals[year][0]) / 1e6, 1) for year in seed} == seed
    assert 100 * (totals["2022-23"][0] / totals["2019-20"][0] - 1) > 30  # "an increase in excess of 30%"
    assert totals["2019-20"][3] is None  # no previous year in the extract


def test_high_needs_spend_growth_compares_like_for_like(marts):
    """Hospital education is `c` in 2021-22 and reported in 2022-23: the year totals' difference counts it in one
    year only. The growth compares the amounts both years reported (the generator's own pence)."""
    totals = {year: rest for year, *rest in rows(marts, YEAR_TOTALS)}
    for previous, year in itertools.pairwise(FINANCIAL_YEARS):
        this_pence, previous_pence = year_amounts(year, 2023), year_amounts(previous, 2023)
        both = [k for k, v in this_pence.items() if not isinstance(v, str) and not isinstance(previous_pence[k], str)]
        growth = Decimal(sum(this_pence[k] - previous_pence[k] for k in both)) / 100
        assert totals[year][3] == growth  # exact
        assert totals[year][4] == pytest.approx(100 * float(growth) / (sum(previous_pence[k] for k in both) / 100))
    # the case that needs it: the totals' plain difference would count hospital education in one year only
    assert totals["2022-23"][3] != totals["2022-23"][0] - totals["2021-22"][0]


def test_high_needs_spend_keeps_symbols_and_never_counts_them_as_zero(marts):
    symbols = rows(
        marts,
        "SELECT financial_year, line_code, category, amount_gbp, amount_symbol FROM marts.fct_high_needs_spend "
        "WHERE amount_symbol IS NOT NULL OR amount_gbp = 0",
    )
    assert symbols and all(amount is None and symbol in ("c", "x", "z") for *_, amount, symbol in symbols)
    expected = {
        (year, line, category): value
        for year in FINANCIAL_YEARS
        for (line, category), value in year_amounts(year, 2023).items()
        if isinstance(value, str)
    }
    details = {(y, line, cat): symbol for y, line, cat, _, symbol in symbols if "Total" not in (line, cat)}
    assert details == expected
    # a line reported in no year keeps its symbol on the line total too (PFI/BSF is z throughout)
    assert {symbol for y, line, cat, _, symbol in symbols if (line, cat) == ("1.2.10", "Total")} == {"z"}
    shares = rows(
        marts,
        "SELECT financial_year, sum(share_of_year_pct) FROM marts.fct_high_needs_spend "
        "WHERE line_code <> 'Total' AND category <> 'Total' GROUP BY 1",
    )
    assert all(total == pytest.approx(100) for _, total in shares)


def test_high_needs_spend_moves_with_one_amount(marts, changed):
    before = {year: rest for year, *rest in rows(marts, YEAR_TOTALS)}
    after = {year: rest for year, *rest in rows(changed, YEAR_TOTALS)}
    assert after["2022-23"][0] == before["2022-23"][0] + Decimal("1000.01")
    assert after["2022-23"][3] == before["2022-23"][3] + Decimal("1000.01")
    assert after["2021-22"] == before["2021-22"]


# ---------- geography and documentation ----------


def test_every_mart_carries_the_home_la_from_configuration(marts):
    caseload = pd.read_csv(REPO / "reference" / "dfe_ehcp_2025" / "caseload.csv", dtype=str, encoding="utf-8-sig")
    published = caseload[caseload.old_la_code == "857"][list(GEOGRAPHY)].drop_duplicates()
    assert len(published) == 1
    expected = tuple(published.iloc[0])
    for mart in MARTS:
        assert rows(marts, f"SELECT DISTINCT {', '.join(GEOGRAPHY)} FROM marts.{mart}") == [expected], mart


def test_another_la_code_changes_the_geography_and_an_unknown_one_fails_the_checks(built, tmp_path):
    copy = tmp_path / "send.duckdb"
    shutil.copyfile(built, copy)
    other = dbt(copy, tmp_path, "run", "--select", "int_home_la_geography", "fct_disability_register", la_code="855")
    assert other.returncode == 0, other.stdout[-3000:]
    with duckdb.connect(str(copy), read_only=True) as con:
        geography = rows(con, "SELECT DISTINCT old_la_code, la_name FROM marts.fct_disability_register")
    caseload = pd.read_csv(REPO / "reference" / "dfe_ehcp_2025" / "caseload.csv", dtype=str, encoding="utf-8-sig")
    names = caseload[caseload.old_la_code == "855"].sort_values("time_period").la_name
    assert geography == [("855", names.iloc[-1])]

    unknown = dbt(copy, tmp_path, "build", "--select", "int_home_la_geography", la_code="999")
    assert unknown.returncode != 0
    assert dbt_test_failures(copy, tmp_path) == {
        "not_null_int_home_la_geography": {"new_la_code", "la_name", "region_code", "region_name"}
    }


def test_every_column_of_the_marts_and_intermediates_is_described(marts):
    documented = {}
    for yml in (
        REPO / "dbt_project" / "models" / "marts" / "ehcp" / "_marts_ehcp__models.yml",
        REPO / "dbt_project" / "models" / "intermediate" / "ehcp" / "_int_ehcp__models.yml",
        REPO / "dbt_project" / "models" / "intermediate" / "geography" / "_int_geography__models.yml",
    ):
        for model in yaml.safe_load(yml.read_text())["models"]:
            assert model.get("description", "").strip(), model["name"]
            assert all(c.get("description", "").strip() for c in model["columns"]), model["name"]
            documented[model["name"]] = [c["name"] for c in model["columns"]]
    assert set(MARTS) | {"int_home_la_geography", "int_ehcp_reporting_periods"} == set(documented)
    for name, columns in documented.items():
        schema = "marts" if name.startswith("fct_") else "intermediate"
        actual = [r[0] for r in rows(marts, f"DESCRIBE {schema}.{name}")]
        assert actual == columns, name
        assert actual[:3] == list(GEOGRAPHY) or name == "int_ehcp_reporting_periods"
