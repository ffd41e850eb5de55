"""Child health snapshot (public indicators by area, OHID Fingertips style): contract, reader and Dagster asset.

Contract: one row per area x indicator x period, files ``raw/child_health/*.csv|xlsx``: the indicators of the
seed's table 5.3 ("The child population in this area") for the local authority, its region and England, as
OHID's Fingertips "Child and maternal health" profile publishes them. Public, aggregate figures: no person
identifiers, nothing is pseudonymised, nothing is suppressed. An area, indicator and period given twice in one file
(in any case) quarantines every row of it (``row_repeated_in_file``).

* ``area_code``: ONS GSS code: a local authority (unitary ``E06``, metropolitan ``E08``, London ``E09``, county
  ``E10``), a region (``E12``) or England (``E92000001``). ``area_name`` (optional) is kept as given.
* ``area_type``: ``LA``, ``Region`` or ``England`` (case-insensitive), and it must agree with the code's prefix.
* ``indicator``: one of :data:`INDICATORS` (the code list, defined here once: label and unit); the unit is the
  indicator's, never the file's.
* ``period``: as Fingertips writes it: a year ``2021``, an academic or financial year ``2021/22``, or a span
  ``2018-2020``.
* ``value``: a number (at most three decimals); a percentage lies in 0..100. ``count`` and ``denominator``
  (optional) are whole numbers (thousands separators allowed), and a denominator is never below its count.

The period key is (indicator, period, area): a corrected or newer extract replaces only the values it delivers
again and keeps the others, whatever the file names.

The LA's two census-derived cells of table 5.3 (pupils from minority ethnic groups, pupils with SEMH needs) are
taken from the warehouse's own school census marts in fct_child_health, not from this extract; an LA row for
them, if a file has one, is loaded but not used.
"""

import dagster as dg

from pipeline.ingest import Contract, Rule, matches, one_of, repeated_in_file, required, sql_list
from pipeline.resources import SendWarehouse
from pipeline.sources.asset_support import ingest_asset, raw_source_asset

COUNT, PERCENT, YEARS = "count", "percent", "years"
# indicator code -> (label as the seed's table words it, unit). Order = the table's row order.
INDICATORS: dict[str, tuple[str, str]] = {
    "live_births": ("Live births", COUNT),
    "children_aged_0_4": ("Children aged 0 to 4 years", PERCENT),
    "children_aged_0_19": ("Children aged 0 to 19 years", PERCENT),
    "children_aged_0_19_projected": ("Children aged 0 to 19 years, projected from 2018", PERCENT),
    "pupils_minority_ethnic": ("School children from minority ethnic groups", PERCENT),
    "pupils_semh": ("School pupils with social, emotional and mental health needs", PERCENT),
    "children_in_poverty": ("Children living in poverty", PERCENT),
    "life_expectancy_boys": ("Life expectancy at birth, boys", YEARS),
    "life_expectancy_girls": ("Life expectancy at birth, girls", YEARS),
}
# The indicators the LA's own school census gives (fct_child_health takes the LA's cells from the census marts).
CENSUS_INDICATORS = ("pupils_minority_ethnic", "pupils_semh")
AREA_TYPES = {"LA": "la", "REGION": "region", "ENGLAND": "england"}
AREA_CODE_PREFIX = {"LA": "E(06|08|09|10)", "REGION": "E12", "ENGLAND": "E92"}  # + 6 digits: 9 characters
ENGLAND_CODE = "E92000001"
PERIOD_REGEX = "(19|20)[0-9]{2}(/[0-9]{2}|-(19|20)[0-9]{2})?"
DECIMAL_REGEX = "-?[0-9]+(\\.[0-9]{1,3})?"

MACROS = f"""
CREATE OR REPLACE TEMP MACRO send_child_health_number(v) AS CASE
    WHEN regexp_full_match(v, '{DECIMAL_REGEX}') THEN TRY_CAST(v AS DECIMAL(12, 3))
END;
CREATE OR REPLACE TEMP MACRO send_child_health_whole(v) AS CASE
    WHEN regexp_full_match(v, '[0-9]{{1,3}}(,[0-9]{{3}})+|[0-9]{{1,10}}') THEN TRY_CAST(replace(v, ',', '') AS BIGINT)
END;
"""


def _case_sql(expression: str, mapping: dict[str, str]) -> str:
    whens = " ".join(f"WHEN {sql_list([k])} THEN {sql_list([v])}" for k, v in mapping.items())
    return f"CASE {expression} {whens} END"


def _area_code_agrees_sql() -> str:
    whens = " ".join(
        f"WHEN {sql_list([area_type])} THEN regexp_full_match(upper(area_code), '{prefix}[0-9]{{6}}')"
        for area_type, prefix in AREA_CODE_PREFIX.items()
    )
    return f"CASE upper(area_type) {whens} END"


def child_health_rules() -> tuple[Rule, ...]:
    percent_indicators = [code.upper() for code, (_, unit) in INDICATORS.items() if unit == PERCENT]
    return (
        required("area_code"),
        matches("area_code", "E[0-9]{8}", "area_code_not_gss"),
        required("area_type"),
        one_of("area_type", AREA_TYPES, name="area_type_not_la_region_or_england"),
        Rule("area_code", "area_code_not_of_area_type",
             f"regexp_full_match(upper(area_code), 'E[0-9]{{8}}') AND upper(area_type) IN ({sql_list(AREA_TYPES)}) "
             f"AND NOT ({_area_code_agrees_sql()})"),
        Rule("area_code", "england_code_not_e92000001",
             f"upper(area_type) = 'ENGLAND' AND upper(area_code) <> '{ENGLAND_CODE}'"),
        required("indicator"),
        one_of("indicator", (code.upper() for code in INDICATORS), name="indicator_not_recognised"),
        required("period"),
        matches("period", PERIOD_REGEX, "period_not_year_or_span"),
        required("value"),
        Rule("value", "value_not_a_number", "value IS NOT NULL AND send_child_health_number(value) IS NULL"),
        Rule("value", "percentage_not_0_to_100",
             f"upper(indicator) IN ({sql_list(percent_indicators)}) "
             "AND NOT send_child_health_number(value) BETWEEN 0 AND 100"),
        Rule("count", "count_not_a_whole_number", "count IS NOT NULL AND send_child_health_whole(count) IS NULL"),
        Rule("denominator", "denominator_not_a_whole_number",
             "denominator IS NOT NULL AND send_child_health_whole(denominator) IS NULL"),
        Rule("denominator", "denominator_below_count",
             "send_child_health_whole(denominator) < send_child_health_whole(count)"),
        repeated_in_file("indicator", ("upper(area_code)", "lower(indicator)", "period")),
    )  # fmt: skip


LOAD_SELECT = f"""
    upper(area_code) AS area_code,
    area_name,
    {_case_sql("upper(area_type)", AREA_TYPES)} AS geographic_level,
    lower(indicator) AS indicator,
    {_case_sql("lower(indicator)", {code: label for code, (label, _) in INDICATORS.items()})} AS indicator_label,
    {_case_sql("lower(indicator)", {code: unit for code, (_, unit) in INDICATORS.items()})} AS unit,
    {_case_sql("lower(indicator)", {code: str(i) for i, code in enumerate(INDICATORS, start=1)})}::INTEGER
        AS display_order,
    period,
    send_child_health_number(value) AS value,
    send_child_health_whole(count) AS count,
    send_child_health_whole(denominator) AS denominator
"""

PERIOD_COLUMN = "(indicator || '/' || period || '/' || area_code)"


def child_health_contract() -> Contract:
    return Contract(
        source="child_health",
        target_table="raw.child_health_indicators",
        file_glob="*",
        required_columns=("area_code", "area_type", "indicator", "period", "value"),
        optional_columns=("area_name", "count", "denominator"),
        rules=child_health_rules(),
        load_select=LOAD_SELECT,
        period_column=PERIOD_COLUMN,
        macros=MACROS,
    )


@raw_source_asset(
    "child_health_indicators",
    "child_health",
    "Child health snapshot: public indicators (births, child population, poverty, life expectancy, pupils) for "
    "the LA, its region and England, loaded from raw/child_health; bad rows go to raw.quarantine.",
)
def child_health_indicators(context: dg.AssetExecutionContext, warehouse: SendWarehouse) -> dg.MaterializeResult:
    return ingest_asset(context, warehouse, child_health_contract)
