"""What the release publishes: every table (PUBLISHED_TABLES, from the mart it comes from to its filters, indicators
and what a reader knows of its counts) and the figures other publishers already release for cells of ours
(PUBLIC_FIGURES, known to the suppression attacker). The types they are made of, and how a mart becomes its EES
frame, are in pipeline.ees.

A new published table is one PublishedTable here (its mart in dbt_project/models/marts/, and in the exposures of
dbt_project/models/exposures.yml): the release and its dependency on the mart (pipeline/release.py reads this list),
its checks, its suppression model, the EES and Parquet files and every column's description follow from it.
"""

import csv

from pipeline.ees import (
    AMOUNT,
    MEAN,
    PERCENT,
    PROVISION_HINT,
    PROVISION_LABEL,
    PUBLIC,
    Filter,
    Indicator,
    PublicFigures,
    PublishedTable,
    SameWhenEqual,
    Within,
)
from pipeline.settings import seeds_dir

# Child health indicators whose Fingertips period "2020/21" is a financial year (April to March), not an academic
# year: children in relative low income families ("financial year ending 2021" in the seed's table 5.3).
FINANCIAL_YEAR_INDICATORS = ("children_in_poverty",)
FINANCIAL_YEAR_INDICATORS_SQL = ", ".join(f"'{i}'" for i in FINANCIAL_YEAR_INDICATORS)


def _ethnic_groups() -> tuple[tuple[str, tuple[str, ...]], ...]:
    """Ethnic group -> its ethnicity codes, from the dbt seed the census marts group by."""
    with (seeds_dir() / "ethnicity_groups.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    groups: dict[str, list[str]] = {}
    for row in rows:
        groups.setdefault(row["ethnic_group"], []).append(row["ethnicity"])
    return tuple((group, tuple(codes)) for group, codes in sorted(groups.items()))


ETHNIC_GROUPS = _ethnic_groups()


def _attainment_measures(measure_type: str) -> tuple[tuple[str, str], ...]:
    """The `measure` hint of an attainment table, `GLD: Good level of development; ...`, from the dbt seed the
    attainment mart takes its measures from (percent_meeting_standard or average_score)."""
    with (seeds_dir() / "attainment_measures.csv").open(newline="") as handle:
        rows = [row for row in csv.DictReader(handle) if row["measure_type"] == measure_type]
    return (("measure", "; ".join(f"{row['measure']}: {row['measure_label']}" for row in rows)),)


SEN_PARTS = (("SEN", ("E", "K")),)
PROVISION_EK = Filter("sen_provision", PROVISION_LABEL, "E = EHC plan, K = SEN support", "SEN", SEN_PARTS)
PROVISION_EKN = Filter("sen_provision", PROVISION_LABEL, PROVISION_HINT, None, SEN_PARTS)

NOT_THE_LAS_FIGURE = "geographic_level = 'Local authority' AND exception_note IS NOT NULL"


# The published date columns (text YYYY-MM-DD): the release's EES check (expectations/published_ees.json) checks
# the cells of these and of any column named *_date.
DATE_COLUMNS = ("counted_to", "extract_date", "reference_date")


def iso_date(column: str) -> str:
    """SQL of a date column as published text, `2023-04-01`: a table's query runs over the mart as pandas read it,
    where a DATE has become a timestamp that would print with a midnight time. The column must be one of
    DATE_COLUMNS, so the release's checks know it is a date."""
    if column not in DATE_COLUMNS:
        raise ValueError(f"{column}: a published date column must be listed in DATE_COLUMNS (its cells are checked)")
    return f"strftime({column}, '%Y-%m-%d') AS {column}"


PUBLISHED_TABLES: tuple[PublishedTable, ...] = (
    PublishedTable(
        name="send_primary_need",
        mart="fct_send_primary_need",
        title="Pupils with SEN (EHC plan or SEN support) by primary type of need",
        time_identifier="{census_term} term",
        filters=(
            Filter(
                "primary_need",
                "Primary type of need",
                "CBDS SEN type code; MISSING = no need recorded: DfE's England pupils only, 0 for the LA",
            ),
        ),
        indicators=(
            Indicator("pupils", "Pupils with SEN", "pupils"),
            Indicator(
                "pct_of_sen_pupils",
                "Percentage of pupils with SEN",
                kind=PERCENT,
                numerator="pupils",
                of_total="primary_need",
            ),
            # England's figures for the same census as DfE publishes them ("x" for a census the seed lacks).
            Indicator("england_pupils", "Pupils with SEN in England (DfE)", kind=PUBLIC),
            Indicator(
                "england_pct_of_sen_pupils",
                "Percentage of pupils with SEN in England (DfE)",
                kind=PERCENT,
                numerator="england_pupils",
                of_total="primary_need",
            ),
        ),  # fmt: skip
        model_constants=(("sen_provision", "SEN"),),
        # DfE's pupils whose primary need is not recorded (the seed's "Missing": 21 in England in January 2022), so
        # England's Total is DfE's total; every pupil of ours with SEN has a need (the census contract): ours is 0.
        query="""
            SELECT * FROM mart
            UNION ALL BY NAME
            SELECT time_period, census_term, any_value(new_la_code) AS new_la_code,
                   any_value(old_la_code) AS old_la_code, any_value(la_name) AS la_name,
                   any_value(region_code) AS region_code, any_value(region_name) AS region_name,
                   'MISSING' AS primary_need, 0 AS pupils,
                   max(england_sen_pupils) - sum(england_pupils) AS england_pupils
            FROM mart GROUP BY time_period, census_term
            HAVING max(england_sen_pupils) > sum(england_pupils)
            ORDER BY ALL
        """,
    ),
    PublishedTable(
        name="send_provision",
        mart="fct_send_provision",
        title="Pupils with an EHC plan or on SEN support, with pupil premium and free school meals",
        time_identifier="{census_term} term",
        filters=(PROVISION_EK,),
        indicators=(
            Indicator("pupils", "Pupils with SEN", "pupils"),
            # The same pupils as send_characteristics' pupil_premium = Yes and fsm = Eligible cells: one cell each.
            Indicator(
                "pupils_pupil_premium",
                "Pupils with SEN attracting pupil premium",
                "pupils",
                model_filters=(("pupil_premium", "Yes"),),
            ),
            Indicator(
                "pupils_fsm",
                "Pupils with SEN eligible for free school meals",
                "pupils",
                model_filters=(("fsm", "Eligible"),),
            ),
            Indicator(
                "pct_pupil_premium",
                "Percentage attracting pupil premium",
                kind=PERCENT,
                numerator="pupils_pupil_premium",
                denominator="pupils",
            ),
            Indicator(
                "pct_fsm",
                "Percentage eligible for free school meals",
                kind=PERCENT,
                numerator="pupils_fsm",
                denominator="pupils",
            ),
        ),  # fmt: skip
    ),
    PublishedTable(
        name="send_school_residence",
        mart="fct_school_residence",
        title="Pupils by phase, SEN provision and whether they live in the local authority",
        time_identifier="{census_term} term",
        filters=(
            Filter(
                "phase",
                "Phase (by national curriculum year)",
                "Primary = up to year 6, Secondary = year 7 and over, Not followed = NC year X",
            ),
            PROVISION_EKN,
            Filter("residence", "Residence", "Resident = home in the local authority"),
        ),
        indicators=(Indicator("pupils", "Pupils", "pupils"),),
    ),
    PublishedTable(
        name="send_characteristics",
        mart="fct_send_characteristics",
        title="Pupils by SEN provision and characteristic (sex, age group by phase, ethnicity, first language, FSM, "
        "pupil premium)",
        time_identifier="{census_term} term",
        by=("characteristic_group",),
        filters=(PROVISION_EKN, Filter("characteristic", "Characteristic", "value within the characteristic group")),
        indicators=(Indicator("pupils", "Pupils", "pupils"),),
        # residence is published in send_school_residence. An ethnic group is the sum of its ethnicities: in the
        # model both partitions are one filter, groups parents of their codes.
        query="SELECT * FROM mart WHERE sen_provision IN ('E', 'K', 'N') AND characteristic_group <> 'residence'",
        split_by="characteristic_group",
        split_filter="characteristic",
        split_names=(("age_group", "phase"),),
        split_hierarchies=(("ethnic_group", "ethnicity", ETHNIC_GROUPS),),
    ),
    PublishedTable(
        name="send_trend",
        mart="fct_send_trend",
        title="Pupils with an EHC plan or on SEN support, Spring census each year",
        time_identifier="{census_term} term",
        filters=(PROVISION_EK,),
        indicators=(
            Indicator("pupils", "Pupils with SEN", "pupils"),
            # DfE's own rounded percentages (the seed's 4.0% and 12.6% for January 2022): DfE's counts behind them
            # are not held, so the SEN Total row is x (adding two rounded percentages is not DfE's figure).
            Indicator(
                "england_pct_of_pupils",
                "Percentage of all pupils in England (DfE, as published)",
                kind=PUBLIC,
                additive=False,
                dp=1,
                unit="%",
            ),
        ),
        query="SELECT * EXCLUDE (england_pct_of_pupils_published), "
        "england_pct_of_pupils_published AS england_pct_of_pupils FROM mart WHERE sen_provision IN ('E', 'K')",
    ),
    PublishedTable(
        name="send_disability_register",
        mart="fct_disability_register",
        title="Children on the disability register by age band, and how many have an EHC plan (March snapshot)",
        time_identifier="Calendar year",
        filters=(
            Filter(
                "age_band",
                "Age band / residence",
                "0-18, 19-25 and over 25: living in the area; out of area and residence not recorded: all ages",
            ),
        ),
        indicators=(
            Indicator("children", "Children on the register", "register_children"),
            Indicator("children_with_ehcp", "Children on the register with an EHC plan", "register_children_ehcp"),
        ),
        query="SELECT year(snapshot_date) AS time_period, age_band, children, children_with_ehcp FROM mart "
        "WHERE age_band <> 'Total'",
    ),
    PublishedTable(
        name="send_wider_services",
        mart="fct_wider_services",
        title="Children using Aiming High services in the year to the snapshot (April to March)",
        time_identifier="Financial year",
        # Published as disjoint groups (the mart's overlapping ones would let a reader subtract): positive
        # activities only, short breaks only, both; Total = children using either.
        filters=(Filter("aiming_high_use", "Aiming High use", "disjoint: only one, or both"),),
        indicators=(
            Indicator("children", "Children", "aiming_high_children"),
            Indicator("children_with_ehcp", "Children with an EHC plan", "aiming_high_children_ehcp"),
        ),
        query="""
            WITH s AS (SELECT year(period_start) * 100 + (year(period_end) % 100) AS time_period, service,
                              children, children_with_ehcp FROM mart),
            p AS (PIVOT s ON service USING first(children) AS n, first(children_with_ehcp) AS e GROUP BY time_period)
            SELECT time_period, 'Positive activities only' AS aiming_high_use,
                   positive_activities_n - positive_activities_and_short_breaks_n AS children,
                   positive_activities_e - positive_activities_and_short_breaks_e AS children_with_ehcp FROM p
            UNION ALL SELECT time_period, 'Short breaks only',
                   short_breaks_n - positive_activities_and_short_breaks_n,
                   short_breaks_e - positive_activities_and_short_breaks_e FROM p
            UNION ALL SELECT time_period, 'Both', positive_activities_and_short_breaks_n,
                   positive_activities_and_short_breaks_e FROM p
        """,
    ),
    PublishedTable(
        name="send_parent_carer_support",
        mart="fct_wider_services",
        title="Parent/carers supported by Aiming High in the year to the snapshot",
        time_identifier="Financial year",
        filters=(),
        indicators=(Indicator("parent_carers", "Parent/carers supported", "parent_carers"),),
        query="SELECT year(period_start) * 100 + (year(period_end) % 100) AS time_period, children AS parent_carers "
        "FROM mart WHERE service = 'parent_carer_support'",
    ),
    PublishedTable(
        name="send_ehcna_timeliness",
        mart="fct_ehcna_timeliness",
        title="EHC needs assessments: requests, decisions within 6 weeks, plans within 20 weeks, by calendar year (the "
        "latest to the extract's date)",
        time_identifier="Calendar year",
        by=("counted_to", "stage"),
        filters=(
            Filter(
                "timeliness",
                "Within the statutory time",
                "Within 6 weeks or Later (decisions), Within 20 weeks or Later (plans), Not timed (requests); "
                "Total = all in the year",
            ),
        ),
        indicators=(
            Indicator("events", "Requests, decisions or plans", "ehcna_events"),
            Indicator(
                "pct_of_stage",
                "Percentage of the stage's total",
                kind=PERCENT,
                numerator="events",
                of_total="timeliness",
            ),
        ),  # fmt: skip
        query=f"""
            WITH stages AS (
                SELECT time_period, counted_to, 'Requests received' AS stage, 'Not timed' AS timeliness,
                       requests_received AS events FROM mart
                UNION ALL SELECT time_period, counted_to, 'Decisions whether to assess', 'Within 6 weeks',
                       decisions_within_6_weeks FROM mart
                UNION ALL SELECT time_period, counted_to, 'Decisions whether to assess', 'Later',
                       decisions - decisions_within_6_weeks FROM mart
                UNION ALL SELECT time_period, counted_to, 'EHC plans issued', 'Within 20 weeks',
                       plans_within_20_weeks FROM mart
                UNION ALL SELECT time_period, counted_to, 'EHC plans issued', 'Later',
                       new_plans_issued - plans_within_20_weeks FROM mart
            )
            SELECT time_period, {iso_date("counted_to")}, stage, timeliness, events FROM stages
        """,
    ),
    PublishedTable(
        name="send_annual_reviews",
        mart="fct_ehcp_annual_reviews",
        title="Annual reviews of EHC plans due, and whether they were held in time, by academic year (the latest to "
        "the extract's date)",
        time_identifier="Academic year",
        by=("counted_to",),
        by_hints=(("counted_to", "YYYY-MM-DD: 31 August, or the extract date for the academic year still running"),),
        filters=(
            Filter(
                "timeliness",
                "Held in time",
                "In time (held on or before the due date) or Late (held after it, or not held by the extract date); "
                "Total = all due in the academic year",
            ),
        ),
        indicators=(
            Indicator("reviews", "Annual reviews due", "annual_reviews"),
            Indicator(
                "pct_of_due",
                "Percentage of the reviews due",
                kind=PERCENT,
                numerator="reviews",
                of_total="timeliness",
            ),
        ),
        query=f"""
            SELECT time_period, {iso_date("counted_to")}, 'In time' AS timeliness, annual_reviews_in_time AS reviews
            FROM mart
            UNION ALL
            SELECT time_period, {iso_date("counted_to")}, 'Late', annual_reviews_due - annual_reviews_in_time FROM mart
        """,
    ),
    PublishedTable(
        name="send_ld_health_checks",
        mart="fct_ld_health_checks",
        title="Young people aged 14 to 25 on a GP learning disability register, and whether they had their annual "
        "health check in the financial year",
        time_identifier="Financial year",
        filters=(
            Filter("age_band", "Age band", "age in completed years on 31 March, the last day of the financial year"),
            Filter(
                "health_check",
                "Annual health check",
                "Had a health check or No health check in the financial year",
            ),
        ),
        indicators=(
            Indicator("young_people", "Young people on a GP learning disability register", "ld_register_young_people"),
            Indicator(
                "pct_of_age_band",
                "Percentage of the age band's young people on the register",
                kind=PERCENT,
                numerator="young_people",
                of_total="health_check",
            ),
        ),  # fmt: skip
        query="""
            SELECT time_period, age_band, 'Had a health check' AS health_check, health_checks_done AS young_people
            FROM mart WHERE age_band <> 'Total'
            UNION ALL
            SELECT time_period, age_band, 'No health check', people_on_register - health_checks_done
            FROM mart WHERE age_band <> 'Total'
        """,
    ),
    PublishedTable(
        name="send_ehcp_caseload",
        mart="fct_ehcp_caseload",
        title="EHC plans maintained by the LA, by primary need: January each year (SEN2 day) and 1 April each year",
        time_identifier="{time_identifier}",  # the mart's: Academic year (SEN2 census day, as DfE's), April
        by=("reference_date",),
        # every plan names its need (no MISSING or NSA here, unlike the census's pupils with SEN)
        filters=(
            Filter(
                "primary_need",
                "Primary type of need",
                "CBDS SEN type code, AUT recoded to ASD; a plan always names one",
            ),
        ),
        indicators=(Indicator("ehcps_maintained", "EHC plans maintained", "ehcps_maintained"),),
        query=f"SELECT time_period, time_identifier, {iso_date('reference_date')}, primary_need, "
        "ehcps_maintained FROM mart WHERE primary_need <> 'Total' AND (period_type = 'SEN2 census day' "
        "OR (period_type = 'Month' AND month(reference_date) = 4))",
    ),
    PublishedTable(
        name="send_placements",
        mart="fct_placements",
        title="Children in placements by setting, in or out of county, age group and EHC plan (extract date)",
        time_identifier="Calendar year",
        # No totals are published (a child can hold two placements at once, so settings do not add up to
        # children): each cell stands alone and only the primary rule applies. Costs are not published.
        by=("extract_date", "has_ehcp", "setting_type", "in_county", "age_group"),
        filters=(),
        indicators=(Indicator("children", "Children", "placement_children"),),
        query=f"SELECT year(extract_date) AS time_period, {iso_date('extract_date')}, "
        "has_ehcp::VARCHAR AS has_ehcp, setting_type, in_county::VARCHAR AS in_county, age_group, children FROM mart",
    ),
    PublishedTable(
        name="send_high_needs_spend",
        mart="fct_high_needs_spend",
        title="High needs expenditure by S251 line and category (GBP)",
        time_identifier="Financial year",
        by=("line_code", "category"),
        filters=(),
        indicators=(Indicator("amount_gbp", "Expenditure (GBP)", kind=AMOUNT, symbol_column="amount_symbol"),),
        query="SELECT time_period, line_code, category, amount_gbp, amount_symbol FROM mart",
    ),
    PublishedTable(
        name="send_population",
        mart="fct_population",
        title="Population of the LA by age band and sex (ONS mid-year estimates)",
        time_identifier="Calendar year",
        by=("age_band", "sex"),
        filters=(),
        indicators=(Indicator("population", "Population (ONS)", kind=PUBLIC),),
        query="SELECT year AS time_period, age_band, sex, population FROM mart",
    ),
    PublishedTable(
        name="send_benchmark_ehcp",
        mart="fct_benchmark_ehcp",
        title="EHC plans: the LA, its statistical neighbours, its region and England (DfE, as published)",
        time_identifier="{time_identifier}",
        by=("geography_role", "measure"),
        by_hints=(
            (
                "measure",
                "DfE's indicator names: ehcplans: EHC plans maintained in January; requests_received_in_year: "
                "requests for an EHC needs assessment; new_ehc_plans: EHC plans made for the first time; "
                "plans_issued_den, plans_issued_within_20_weeks: new plans issued, and within 20 weeks, exceptions "
                "included; plans_issued_den_ex, plans_issued_20_weeks_ex: the same, exceptions excluded",
            ),
        ),
        filters=(),
        indicators=(
            Indicator(
                "value",
                "Value as DfE publishes it; x where DfE's footnote says an LA's row carries another geography's "
                "figure (new EHC plans 2022: every Yorkshire and The Humber LA row holds the regional total)",
                kind=PUBLIC,
                symbol_column="value_symbol",
            ),
        ),
        # An LA row whose figure DfE's footnote says is not the LA's (the mart's exception_note) is not shown as the
        # LA's: a reader comparing neighbours would take North Yorkshire's 2022 new plans to be 6,078.
        query="SELECT time_period, time_identifier, geographic_level, country_code, country_name, region_code, "
        "region_name, new_la_code, old_la_code, la_name, geography_role, measure, "
        f"CASE WHEN {NOT_THE_LAS_FIGURE} THEN NULL ELSE value END AS value, "
        f"CASE WHEN {NOT_THE_LAS_FIGURE} THEN 'x' ELSE value_symbol END AS value_symbol FROM mart",
    ),
    PublishedTable(
        name="send_exclusions",
        mart="fct_send_exclusions",
        title="Children with SEN suspended or permanently excluded, by SEN provision (academic year)",
        time_identifier="Academic year",
        filters=(PROVISION_EK,),  # Total = children with SEN (SEND), as the assessment counts them
        indicators=(
            Indicator("children_suspended", "Children suspended at least once", "children_suspended"),
            Indicator(
                "children_permanently_excluded", "Children permanently excluded", "children_permanently_excluded"
            ),
            Indicator(
                "children_suspended_and_permanently_excluded",
                "Children suspended and later permanently excluded",
                "children_suspended_and_permanently_excluded",
            ),
            Indicator("suspensions", "Suspensions", "suspensions"),
        ),  # fmt: skip
        query="SELECT * FROM mart WHERE sen_provision IN ('E', 'K')",
        relations=(
            Within("children_permanently_excluded", "children_suspended_and_permanently_excluded"),
            Within("children_suspended", "children_suspended_and_permanently_excluded"),
        ),
    ),
    PublishedTable(
        name="send_attainment_standard",
        mart="fct_send_attainment",
        title="Pupils meeting the expected standard (EYFS good level of development, KS1, KS2) by SEN provision",
        time_identifier="Academic year",
        # No Total across SEN provision: the cohorts are tiny, and a provision total would force the SEN support
        # cells to be suppressed as complements of the EHC plan ones.
        by=("key_stage", "measure", "sen_provision"),
        by_hints=_attainment_measures("percent_meeting_standard"),
        filters=(Filter("outcome", "Outcome", "Met / Not met the expected standard; Total = pupils with a result"),),
        indicators=(
            Indicator("pupils", "Pupils", "attainment_pupils"),
            Indicator(
                "pct_of_pupils",
                "Percentage of the pupils with a result",
                kind=PERCENT,
                numerator="pupils",
                of_total="outcome",
            ),
            Indicator(
                "england_pct",
                "England: percentage meeting the expected standard (DfE)",
                kind=PUBLIC,
                additive=False,
                dp=1,
                unit="%",
            ),
        ),  # fmt: skip
        relations=(SameWhenEqual("measure"),),  # KS1's cohort is assessed in reading, writing and maths
        query="""
            SELECT time_period, key_stage, measure, sen_provision, 'Met' AS outcome, pupils_meeting_standard AS pupils,
                   england_value AS england_pct
            FROM mart WHERE measure_type = 'percent_meeting_standard'
            UNION ALL
            SELECT time_period, key_stage, measure, sen_provision, 'Not met',
                   pupils_with_result - pupils_meeting_standard, NULL
            FROM mart WHERE measure_type = 'percent_meeting_standard'
        """,
    ),
    PublishedTable(
        name="send_attainment_scores",
        mart="fct_send_attainment",
        title="Key stage 4: average Attainment 8 score (0-90) and average Progress 8 score by SEN provision",
        time_identifier="Academic year",
        by=("key_stage", "measure", "sen_provision"),
        by_hints=_attainment_measures("average_score"),
        filters=(),
        indicators=(
            Indicator("pupils_with_score", "Pupils with a score", "attainment_pupils_with_score"),
            Indicator(
                "average_score", "Average score", kind=MEAN, n_column="pupils_with_score", dp_column="score_dp", dp=2
            ),
            Indicator(
                "england_average",
                "England: average score (DfE)",
                kind=PUBLIC,
                additive=False,
                dp_column="score_dp",
                dp=2,
            ),
        ),  # fmt: skip
        query="SELECT time_period, key_stage, measure, sen_provision, pupils_with_score, average_score, "
        "england_value AS england_average, CASE measure WHEN 'P8' THEN 2 ELSE 1 END AS score_dp FROM mart "
        "WHERE measure_type = 'average_score'",
        relations=(Within("ATT8", "P8", column="measure"),),  # Progress 8 needs Attainment 8 and a KS2 baseline
    ),
    PublishedTable(
        name="send_deprivation",
        mart="fct_deprivation",
        title="Indices of Deprivation: the LA's rank among districts (1 = most deprived) and its place in its region",
        time_identifier="Calendar year",
        filters=(),
        indicators=(
            Indicator("rank", "Rank of average rank (1 = most deprived)", kind=PUBLIC),
            Indicator("districts_ranked", "Districts ranked", kind=PUBLIC),
            Indicator("rank_in_region_least_deprived", "Place in the region, from the least deprived", kind=PUBLIC),
            Indicator("districts_in_region", "Districts in the region", kind=PUBLIC),
        ),
        # One row per edition of the extract: a county council is not a district, so the extract ranks its districts
        # and not the county; its row then says x (not available) for the LA's rank and place, rather than no row.
        query="""
            SELECT editions.year AS time_period, home.rank, editions.districts_ranked,
                   home.rank_in_region_least_deprived, home.districts_in_region
            FROM (SELECT year, max(districts_ranked) AS districts_ranked FROM mart GROUP BY year) AS editions
            LEFT JOIN (SELECT * FROM mart WHERE is_home_la) AS home USING (year)
            ORDER BY time_period
        """,
    ),
    PublishedTable(
        name="send_child_health",
        mart="fct_child_health",
        title="Child health snapshot: the LA, its region and England (public indicators as their publishers give them)",
        time_identifier="{time_identifier}",
        by=("period", "indicator"),
        filters=(),
        indicators=(
            Indicator(
                "value", "Value (count, percentage or years)", kind=PUBLIC, additive=False, dp_column="value_dp", dp=1
            ),
            Indicator("count", "Count behind the percentage", kind=PUBLIC, additive=False),
            Indicator("denominator", "Denominator of the percentage", kind=PUBLIC, additive=False),
        ),  # fmt: skip
        # The LA's census-derived cells (minority ethnic pupils, SEMH) are published in the census tables, under
        # their suppression; here only the public extract's figures.
        query=f"""
            SELECT coalesce(time_period::VARCHAR, right(period, 4)) AS time_period,
                   CASE WHEN period LIKE '%/%' AND indicator IN ({FINANCIAL_YEAR_INDICATORS_SQL})
                        THEN 'Financial year'
                        WHEN period LIKE '%/%' THEN 'Academic year' ELSE 'Calendar year' END AS time_identifier,
                   CASE geographic_level WHEN 'la' THEN 'Local authority' WHEN 'region' THEN 'Regional'
                        ELSE 'National' END AS geographic_level,
                   'E92000001' AS country_code, 'England' AS country_name,
                   CASE WHEN geographic_level <> 'england' THEN region_code END AS region_code,
                   CASE WHEN geographic_level <> 'england' THEN region_name END AS region_name,
                   CASE WHEN geographic_level = 'la' THEN new_la_code END AS new_la_code,
                   CASE WHEN geographic_level = 'la' THEN old_la_code END AS old_la_code,
                   CASE WHEN geographic_level = 'la' THEN la_name END AS la_name,
                   period, indicator, value, count, denominator, CASE unit WHEN 'count' THEN 0 ELSE 1 END AS value_dp
            FROM mart WHERE source = 'child health extract'
        """,
    ),
)


_DFE_NEEDS = ", ".join(f"number_{code}" for code in ("asd", "hi", "mld", "msi", "oth", "pd", "pmld", "semh", "slcn",
                                                     "sld", "spld", "vi"))  # fmt: skip


def _dfe_timeliness_figure(
    name: str, what: str, stage: str, timeliness: str, staging: str, breakdown: str, measure: str
) -> PublicFigures:
    """One DfE measure of the LA by calendar year as one cell (stage, timeliness) of our timeliness table."""
    return PublicFigures(
        name=name,
        table="send_ehcna_timeliness",
        source=f"DfE, Education, health and care plans (SEN2): the local authority's {what}, by calendar year",
        query=f"""
            SELECT time_period::VARCHAR AS time_period, '{stage}' AS stage, '{timeliness}' AS timeliness,
                   {measure} AS value
            FROM staging.{staging}
            WHERE geographic_level = 'Local authority' AND old_la_code = $la_code
              AND breakdown_topic = '{breakdown}' AND {measure} IS NOT NULL
        """,
        match=("time_period", "stage", "timeliness"),
    )


PUBLIC_FIGURES: tuple[PublicFigures, ...] = (
    PublicFigures(
        name="dfe_sen2_ehc_plans",
        table="send_ehcp_caseload",
        source="DfE, Education, health and care plans (SEN2): the local authority's EHC plans and their primary needs",
        query=f"""
            SELECT time_period::VARCHAR AS time_period, time_identifier,
                   'Total' AS primary_need, ehcplans AS value
            FROM staging.stg_dfe__ehcp_caseload
            WHERE geographic_level = 'Local authority' AND old_la_code = $la_code
              AND breakdown_topic = 'All EHC plans' AND ehcplans IS NOT NULL
            UNION ALL
            SELECT time_period::VARCHAR, time_identifier, upper(replace(need, 'number_', '')), value
            FROM (UNPIVOT (SELECT time_period, time_identifier, {_DFE_NEEDS}
                           FROM staging.stg_dfe__ehcp_sen_needs_all_plans
                           WHERE geographic_level = 'Local authority' AND old_la_code = $la_code
                             AND breakdown = 'All EHC plans')
                  ON COLUMNS('number_') INTO NAME need VALUE value)
            WHERE value IS NOT NULL
        """,
        match=("time_period", "time_identifier", "primary_need"),
    ),
    # DfE's LA rows of the same SEN2 return count the same requests and plans by calendar year (the release's own
    # benchmark table republishes them): our timeliness table's cells with them known, one entry per DfE file (a
    # file not loaded adds nothing and leaves the others). A year our extract counts to
    # a date before 31 December (year to date) disagrees with DfE's whole year and is left out, counted.
    _dfe_timeliness_figure(
        "dfe_sen2_requests",
        "requests for an EHC needs assessment",
        "Requests received",
        "Not timed",
        "stg_dfe__ehcp_requests",
        "All requests for EHC needs assessments",
        "requests_received_in_year",
    ),  # fmt: skip
    PublicFigures(
        name="dfe_sen2_plans_issued",
        table="send_ehcna_timeliness",
        source="DfE, Education, health and care plans (SEN2): the local authority's new EHC plans issued, and those "
        "issued within 20 weeks (exceptions included), by calendar year",
        query="""
            SELECT time_period::VARCHAR AS time_period, 'EHC plans issued' AS stage, timeliness, value
            FROM (UNPIVOT (SELECT time_period, plans_issued_den AS "Total",
                                  plans_issued_within_20_weeks AS "Within 20 weeks"
                           FROM staging.stg_dfe__ehcp_timeliness_20_week
                           WHERE geographic_level = 'Local authority' AND old_la_code = $la_code
                             AND breakdown_topic = 'All EHC plans issued')
                  ON "Total", "Within 20 weeks" INTO NAME timeliness VALUE value)
            WHERE value IS NOT NULL
        """,
        match=("time_period", "stage", "timeliness"),
    ),
    _dfe_timeliness_figure(
        "dfe_sen2_new_plans",
        "new EHC plans",
        "EHC plans issued",
        "Total",
        "stg_dfe__ehcp_newplans",
        "New EHC plans",
        "new_ehc_plans",
    ),  # fmt: skip
)


def public_figures_relations() -> tuple[str, ...]:
    """The warehouse relations ("schema.table") the PUBLIC_FIGURES queries read, as DuckDB's parser finds them: the
    release step's gate (pipeline/release.py) checks their assets as it checks the marts. DuckDB lists no tables of a
    statement with a parameter, so $la_code is replaced by NULL first (the same tables are read); it quotes a name
    that is a keyword, and the quotes are taken off."""
    import duckdb

    return tuple(
        sorted(
            {
                relation.replace('"', "")
                for figures in PUBLIC_FIGURES
                for relation in duckdb.get_table_names(figures.query.replace("$la_code", "NULL"), qualified=True)
            }
        )
    )
