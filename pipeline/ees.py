"""DfE explore-education-statistics (EES) open-data format: what each published table is, and how a mart becomes
a tidy EES frame with its `Total` rows and its `.meta.csv` (no Dagster, no warehouse: in-memory DuckDB only to run a
table's `query` over the mart's frame).

A published table is declared once, in PUBLISHED_TABLES: the mart it comes from, its additive filters (each
gets a `Total` row, the true sum of the others), its non-additive `by` columns, and its indicators: counts of
children (suppressed), money, other publishers' figures, percentages (rule 5, computed once the counts are
suppressed: `percent_texts`) and averages (rule 6). A count's `measure` names the population counted, so two tables
publishing the same population share cells (the suppression attacker sees them as one); `model_filters`,
`model_constants` and `split_hierarchies` tie further cells together. PUBLIC_FIGURES lists what DfE already
publishes for cells of ours (the attacker knows it).
"""

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations

import duckdb
import pandas as pd

from pipeline.settings import REPO_ROOT
from pipeline.suppression.derived import decimal_text, is_number, rate_text, suppress_average, suppress_rate
from pipeline.suppression.model import TOTAL as MODEL_TOTAL
from pipeline.suppression.model import Cell, CellKey, Constraint, Table, TableError, cell_key, describe
from pipeline.suppression.rules import DEFAULT_RULES, LOW, NOT_APPLICABLE, SUPPRESSED, UNAVAILABLE, SuppressionRules

TOTAL = "Total"
GEOGRAPHY_COLUMNS = (
    "time_period", "time_identifier", "geographic_level", "country_code", "country_name", "region_code",
    "region_name", "new_la_code", "old_la_code", "la_name",
)  # fmt: skip
ENGLAND = {"country_code": "E92000001", "country_name": "England"}
# The time identifiers EES accepts (DfE's data screener, eesyscreener): a table's time_period has 4 digits (2023) for
# a calendar or reporting year, a month or a week, 6 (202223) for an academic, financial or tax year or a term.
EES_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
              "November", "December")  # fmt: skip
EES_FOUR_DIGIT_TIME_IDENTIFIERS = ("Calendar year", "Reporting year", *EES_MONTHS, *(f"Week {n}" for n in range(1, 53)))
EES_SIX_DIGIT_TIME_IDENTIFIERS = (
    "Academic year", "Financial year", "Tax year",
    "Autumn term", "Spring term", "Summer term", "Autumn and spring term",
    *(f"Financial year Q{n}" for n in range(1, 5)), "Part 1 (April to September)", "Part 2 (October to March)",
)  # fmt: skip
EES_TIME_IDENTIFIERS = (*EES_FOUR_DIGIT_TIME_IDENTIFIERS, *EES_SIX_DIGIT_TIME_IDENTIFIERS)


@dataclass(frozen=True)
class Filter:
    column: str  # the mart's column, also the EES column name
    label: str  # human label in the meta file
    hint: str = ""
    # For the suppression model only: what this filter's `Total` row counts when it is not everybody (the
    # provision table's Total is all pupils with SEN, "SEN"), and parents made of children ({"SEN": ("E", "K")}),
    # so the same population published in two tables is one cell.
    total_key: str | None = None
    hierarchy: tuple[tuple[str, tuple[str, ...]], ...] = ()

    def __post_init__(self) -> None:
        # A renamed Total must still be the sum of its parts, or the attacker would lose that equation.
        if self.total_key and self.total_key not in dict(self.hierarchy):
            raise ValueError(f"filter {self.column}: total_key {self.total_key!r} needs a hierarchy defining it")


COUNT, AMOUNT, PUBLIC, PERCENT, MEAN = "count", "amount", "public", "percent", "mean"
# Child health indicators whose Fingertips period "2020/21" is a financial year (April to March), not an academic
# year: children in relative low income families ("financial year ending 2021" in the seed's table 5.3).
FINANCIAL_YEAR_INDICATORS = ("children_in_poverty",)
FINANCIAL_YEAR_INDICATORS_SQL = ", ".join(f"'{i}'" for i in FINANCIAL_YEAR_INDICATORS)
RULE_6 = "rule 6 threshold"  # the model's key of the number of children a mean needs (a public constant)
NUMERIC_KINDS = (COUNT, AMOUNT, PUBLIC)  # summed into filter Total rows


@dataclass(frozen=True)
class Indicator:
    column: str
    label: str
    measure: str = ""  # for counts: the population counted (shared name = shared cells across tables)
    # count: children or events of this LA, suppressed; amount: money (GBP, exact to the penny), not about
    # individual children; public: a figure somebody else already publishes (ONS, DfE), shown as published;
    # percent: 100 x numerator / denominator of this table's indicators, `c` by rule 5 once the counts are
    # suppressed; mean: an average from the mart, `c` by rule 6 when based on fewer than 8 children.
    kind: str = COUNT
    symbol_column: str = ""  # mart column holding the EES symbol where the value is missing (c, x, z)
    numerator: str = ""  # percent: the count (or public) indicator counted
    denominator: str = ""  # percent: the indicator that is the whole (default: the numerator's own column)
    of_total: str = ""  # percent: the whole is in this filter's `Total` row (else in the same row)
    n_column: str = ""  # mean: the mart column giving the number of children the mean is based on
    # For the suppression model only: fixed filters that make this count the same population as another table's
    # cells (pupils with SEN eligible for FSM = the characteristics table's fsm = Eligible pupils).
    model_filters: tuple[tuple[str, str], ...] = ()
    additive: bool = True  # public: summed into filter Total rows (False: a rate or score, `x` on Total rows)
    dp_column: str = ""  # mean / public: mart column giving each row's decimal places (tables without filters)
    dp: int = 0  # decimal places published (percent and mean: 1 unless set)
    unit: str = ""  # EES indicator_unit of a public figure (% for a percentage its publisher gives); £ and % else

    def __post_init__(self) -> None:
        if self.kind == PERCENT and not self.numerator:
            raise ValueError(f"percent indicator {self.column} needs a numerator")
        if self.kind == MEAN and not self.n_column:
            raise ValueError(f"mean indicator {self.column} needs n_column (rule 6 counts the children)")
        if self.kind in (PERCENT, MEAN) and not self.dp:
            object.__setattr__(self, "dp", 1)


@dataclass(frozen=True)
class Within:
    """For the suppression model: every child counted in ``part`` is also counted in ``whole`` (a pupil with a
    Progress 8 score has an Attainment 8 score; a child suspended and permanently excluded was permanently
    excluded). The rest, whole - part, is a count of children a reader forms by subtraction: a hidden cell of the
    model, protected when small, and rule 2's outcome breakdown of a small whole. ``column``: whole and part are
    values of this `by` column (measure ATT8 and P8; rows matched on the rest), in every count indicator; else they
    are two count indicators of the same rows."""

    whole: str
    part: str
    column: str = ""


@dataclass(frozen=True)
class SameWhenEqual:
    """For the suppression model: rows with every filter at its Total that differ only in this `by` column count
    the same children when their counts are equal (a key stage's cohort, assessed in each subject): a reader takes
    one for the other, so the model ties them (when they differ they are not the same children)."""

    column: str


@dataclass(frozen=True)
class PublishedTable:
    name: str  # reporting.<name> and ees/<name>.csv
    mart: str  # marts.<mart>
    title: str
    time_identifier: str  # EES time identifier; "{census_term} term" takes the mart's census_term
    filters: tuple[Filter, ...]
    indicators: tuple[Indicator, ...]
    by: tuple[str, ...] = ()  # non-additive columns that only separate cells (besides time_period)
    # SQL over the mart (as `mart`) giving the table's rows when the mart's own layout is not it (its own total
    # rows dropped, overlapping categories made disjoint, a time_period derived): SELECT ... FROM mart ...
    query: str = ""
    # A table of several partitions (characteristic_group: sex, ethnicity, ...): in the suppression model each
    # partition is its own additive filter named after the group (renamed where another table uses that name).
    split_by: str | None = None
    split_filter: str | None = None
    split_names: tuple[tuple[str, str], ...] = ()
    # Filters fixed for every cell of the table, for the model's keys only: the primary-need table counts pupils
    # with sen_provision = SEN, so its Total is the provision table's SEN cell.
    model_constants: tuple[tuple[str, str], ...] = ()
    # Partitions whose values are sums of another partition's: (parent group, child group, parent -> children).
    split_hierarchies: tuple[tuple[str, str, tuple[tuple[str, tuple[str, ...]], ...]], ...] = ()
    # What a reader knows of the counts beyond their sums (relation_tables): Within and SameWhenEqual.
    relations: tuple[Within | SameWhenEqual, ...] = ()
    # What the codes of a `by` column mean in this table (the column's description and its .meta.csv filter_hint),
    # where BY_LABELS has none for every table (measure is DfE's names in one table, attainment measures in another).
    by_hints: tuple[tuple[str, str], ...] = ()

    @property
    def filter_columns(self) -> list[str]:
        return [f.column for f in self.filters]

    @property
    def count_columns(self) -> list[str]:
        return [i.column for i in self.indicators if i.kind == COUNT]

    @property
    def indicator_columns(self) -> list[str]:
        return [i.column for i in self.indicators]

    @property
    def summed_columns(self) -> list[str]:
        return [i.column for i in self.indicators if i.kind in NUMERIC_KINDS and i.additive]

    @property
    def percent_indicators(self) -> list[Indicator]:
        return [i for i in self.indicators if i.kind == PERCENT]

    @property
    def percent_columns(self) -> list[str]:
        return [i.column for i in self.percent_indicators]

    def __post_init__(self) -> None:
        kinds = {i.column: i.kind for i in self.indicators}
        for i in self.percent_indicators:
            for column in (i.numerator, i.denominator or i.numerator):
                if kinds.get(column) not in (COUNT, PUBLIC):
                    raise ValueError(f"{self.name}.{i.column}: {column} is not a count or public indicator")
            if i.of_total and i.of_total not in self.filter_columns:
                raise ValueError(f"{self.name}.{i.column}: of_total {i.of_total} is not a filter of the table")
            if kinds[i.numerator] != kinds[i.denominator or i.numerator]:
                raise ValueError(f"{self.name}.{i.column}: numerator and denominator must be of one kind")
        if self.filters and any(i.kind in (AMOUNT, MEAN) or i.symbol_column or i.dp_column for i in self.indicators):
            raise ValueError(f"{self.name}: money, means and symbol columns have no filter totals; use `by` columns")

    @property
    def key_columns(self) -> list[str]:
        """The columns that separate cells, in EES order."""
        return [*GEOGRAPHY_COLUMNS, *self.by, *self.filter_columns]


def _ethnic_groups() -> tuple[tuple[str, tuple[str, ...]], ...]:
    """Ethnic group -> its ethnicity codes, from the dbt seed the census marts group by."""
    with (REPO_ROOT / "dbt_project" / "seeds" / "ethnicity_groups.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    groups: dict[str, list[str]] = {}
    for row in rows:
        groups.setdefault(row["ethnic_group"], []).append(row["ethnicity"])
    return tuple((group, tuple(codes)) for group, codes in sorted(groups.items()))


ETHNIC_GROUPS = _ethnic_groups()


def _attainment_measures() -> str:
    """`GLD: Good level of development, ...` from the dbt seed the attainment mart takes its measures from."""
    with (REPO_ROOT / "dbt_project" / "seeds" / "attainment_measures.csv").open(newline="") as handle:
        return "; ".join(f"{row['measure']}: {row['measure_label']}" for row in csv.DictReader(handle))


ATTAINMENT_MEASURES = (("measure", _attainment_measures()),)
SEN_PARTS = (("SEN", ("E", "K")),)
PROVISION_EK = Filter("sen_provision", "SEN provision", "E = EHC plan, K = SEN support", "SEN", SEN_PARTS)
PROVISION_EKN = Filter("sen_provision", "SEN provision", "E = EHC plan, K = SEN support, N = no SEN", None, SEN_PARTS)

NOT_THE_LAS_FIGURE = "geographic_level = 'Local authority' AND exception_note IS NOT NULL"


def iso_date(column: str) -> str:
    """SQL of a date column as published text, `2023-04-01`: a table's query runs over the mart as pandas read it,
    where a DATE has become a timestamp that would print with a midnight time."""
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
        indicators=(Indicator("pupils", "Pupils with SEN", "pupils"),),
        query="SELECT * FROM mart WHERE sen_provision IN ('E', 'K')",
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
        title="EHC needs assessments: requests, decisions within 6 weeks, plans within 20 weeks, annual reviews, by "
        "calendar year (the latest to the extract's date)",
        time_identifier="Calendar year",
        by=("counted_to", "stage"),
        filters=(
            Filter(
                "timeliness",
                "Within the statutory time",
                "Within 6 weeks or Later (decisions), Within 20 weeks or Later (plans), In time or Late (annual "
                "reviews), Not timed (requests); Total = all in the year",
            ),
        ),
        indicators=(
            Indicator("events", "Requests, decisions, plans or reviews", "ehcna_events"),
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
                UNION ALL SELECT time_period, counted_to, 'Annual reviews due', 'In time',
                       annual_reviews_in_time FROM mart
                UNION ALL SELECT time_period, counted_to, 'Annual reviews due', 'Late',
                       annual_reviews_due - annual_reviews_in_time FROM mart
            )
            SELECT time_period, {iso_date("counted_to")}, stage, timeliness, events FROM stages
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
        by_hints=ATTAINMENT_MEASURES,
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
        by_hints=ATTAINMENT_MEASURES,
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


@dataclass(frozen=True)
class PublicFigures:
    """Counts another publisher already releases, unsuppressed, for the same population as cells of one of our
    tables (DfE's local-authority rows of the SEN2 return). The attacker knows them, so the suppression pattern
    must protect every `c` with them known (rule 3)."""

    name: str
    table: str  # the published table whose cells they are
    source: str
    # SQL over the internal warehouse, parameter $la_code: the table's `match` columns and `value`
    query: str
    match: tuple[str, ...]


_DFE_NEEDS = ", ".join(f"number_{code}" for code in ("asd", "hi", "mld", "msi", "oth", "pd", "pmld", "semh", "slcn",
                                                     "sld", "spld", "vi"))  # fmt: skip
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
)


def public_frame(spec: PublishedTable, exact: pd.DataFrame, figures: pd.DataFrame, match: Sequence[str]):
    """The public figures as rows of the table's exact frame (count = the public figure), and how many of them
    disagree with our own count of the same cell (those are not the same population: left out, counted)."""
    [count] = spec.count_columns
    figures = figures.astype({c: str for c in match})
    merged = exact.astype({c: str for c in match}).merge(figures, on=list(match), how="inner", validate="one_to_one")
    agree = merged[merged[count].astype("int64") == merged["value"].astype("int64")]
    frame = agree.drop(columns=["value"]).reset_index(drop=True)
    return frame, len(merged) - len(agree)


def with_totals(
    frame: pd.DataFrame, filters: Sequence[str], by: Sequence[str], counts: Sequence[str], summed: Sequence[str] = ()
) -> pd.DataFrame:
    """The frame plus a `Total` row for every combination of additive filters (each count summed; with `summed`
    given, only those columns, the others left blank on Total rows)."""
    summed = list(summed or counts)
    frame = frame[[*by, *filters, *counts]].copy()
    for column in filters:
        frame[column] = frame[column].astype(str)
    parts = [frame]
    for size in range(1, len(filters) + 1):
        for totalled in combinations(filters, size):
            kept = [c for c in filters if c not in totalled]
            sums = frame.groupby([*by, *kept], dropna=False, sort=True)[summed].sum(min_count=1).reset_index()
            for column in totalled:
                sums[column] = TOTAL
            parts.append(sums)
    return pd.concat(parts, ignore_index=True)[[*by, *filters, *counts]]


def indicator_text(value: object, symbol: object, kind: str, dp: int = 0) -> str:
    """A non-count indicator as published text: the value (money to the penny, others at dp places, halves up),
    else its symbol, else `x`."""
    if value is None or pd.isna(value):
        return str(symbol) if isinstance(symbol, str) and symbol else "x"
    return decimal_text(value, 2 if kind == AMOUNT else dp)


def _row_dps(indicator: Indicator, rows: pd.DataFrame) -> list[int]:
    if indicator.dp_column:
        return [int(dp) for dp in rows[indicator.dp_column]]
    return [indicator.dp] * len(rows)


def ees_frame(spec: PublishedTable, mart: pd.DataFrame, geography: dict[str, str]) -> pd.DataFrame:
    """Exact counts in EES layout: time and geography columns, filters with `Total` rows, indicators (money,
    public figures, means and percentages as published text; percentages unsuppressed until `percent_texts` is
    given the suppressed counts)."""
    if spec.query:
        mart = duckdb.sql(spec.query).df()
    # Geography comes from the mart where it has it (benchmarks across LAs), else it is the home LA's.
    from_mart = [c for c in GEOGRAPHY_COLUMNS[1:] if c in mart.columns]
    by = ["time_period", *(c for c in ("census_term", "period_type") if c in mart.columns), *from_mart, *spec.by]
    for indicator in spec.indicators:
        if indicator.kind == MEAN:
            triples = zip(mart[indicator.column], mart[indicator.n_column], _row_dps(indicator, mart), strict=True)
            mart[indicator.column] = [suppress_average(v, n, dp=dp) for v, n, dp in triples]
        if indicator.kind == PERCENT:
            mart[indicator.column] = ""
    frame = with_totals(mart, spec.filter_columns, by, spec.indicator_columns, summed=spec.summed_columns)
    for indicator in spec.indicators:
        if indicator.kind in (AMOUNT, PUBLIC):
            # Symbols only exist where there are no filter totals, so the rows are the mart's own.
            symbols = mart[indicator.symbol_column] if indicator.symbol_column else [None] * len(frame)
            dps = _row_dps(indicator, mart) if indicator.dp_column else [indicator.dp] * len(frame)
            rows = zip(frame[indicator.column], symbols, dps, strict=True)
            frame[indicator.column] = [indicator_text(v, s, indicator.kind, dp) for v, s, dp in rows]
    frame["time_period"] = frame["time_period"].astype(str)
    if "time_identifier" not in from_mart:
        frame["time_identifier"] = [spec.time_identifier.format(**row) for row in frame[by].to_dict("records")]
    for column, value in {"geographic_level": "Local authority", **ENGLAND, **geography}.items():
        if column not in from_mart:
            frame[column] = value
    ordered = [*GEOGRAPHY_COLUMNS, *spec.by, *spec.filter_columns, *spec.indicator_columns]
    order = [*GEOGRAPHY_COLUMNS, *spec.by, *spec.filter_columns]
    frame = frame[ordered].sort_values(order, key=_total_last, ignore_index=True)
    for column, texts in percent_texts(spec, frame).items():
        frame[column] = texts
    return frame


def percent_texts(spec: PublishedTable, exact: pd.DataFrame, published: pd.DataFrame | None = None) -> dict:
    """Each percentage indicator of the table as published text, from the exact frame's counts.

    With ``published`` (the same rows, counts as published text) rule 5 applies: ``c`` when the numerator or the
    denominator is suppressed or the denominator is under ten children. Without it (or for other publishers'
    figures) the exact percentage. ``z`` when the whole is 0, ``x`` when either figure is unavailable.
    """
    kinds = {i.column: i.kind for i in spec.indicators}
    out = {}
    for indicator in spec.percent_indicators:
        whole_column = indicator.denominator or indicator.numerator
        rows = _whole_rows(spec, exact, indicator.of_total)
        shown = exact if published is None else published
        numerator = pd.to_numeric(exact[indicator.numerator], errors="coerce")
        whole = pd.to_numeric(exact[whole_column], errors="coerce").reindex(rows).to_numpy()
        shown_whole = shown[whole_column].reindex(rows).to_numpy()
        suppressing = published is not None and kinds[indicator.numerator] == COUNT
        out[indicator.column] = [
            _percent_text(n, d, indicator.dp, suppressing, str(sn), str(sd))
            for n, d, sn, sd in zip(numerator, whole, shown[indicator.numerator], shown_whole, strict=True)
        ]
    return out


def _whole_rows(spec: PublishedTable, exact: pd.DataFrame, of_total: str) -> pd.Index:
    """For every row, the index of the row holding its whole: itself, or its `Total` row of filter of_total."""
    if not of_total:
        return exact.index
    others = [c for c in [*GEOGRAPHY_COLUMNS, *spec.by, *spec.filter_columns] if c != of_total]
    is_total = exact[of_total] == TOTAL
    totals = exact.loc[is_total, others].astype(str).assign(_whole_row=exact.index[is_total])
    matched = exact[others].astype(str).merge(totals, how="left", on=others, validate="many_to_one")
    return pd.Index(matched["_whole_row"])


def _percent_text(numerator, whole, dp: int, suppressing: bool, shown_numerator: str, shown_whole: str) -> str:
    if pd.isna(numerator) or pd.isna(whole):
        return UNAVAILABLE
    if suppressing:
        return suppress_rate(
            int(numerator),
            int(whole),
            numerator_suppressed=shown_numerator == SUPPRESSED,
            denominator_suppressed=shown_whole == SUPPRESSED,
            dp=dp,
        )
    return NOT_APPLICABLE if whole == 0 else rate_text(numerator, whole, dp=dp)


def _total_last(column: pd.Series) -> pd.Series:
    """Sort key: values in order, a filter's `Total` after them."""
    return column.map(lambda value: (value == TOTAL, value))


CELL_BY = ("time_period", "time_identifier", "new_la_code")  # separate cells, never add up


@dataclass(frozen=True)
class ModelPart:
    """One additive table of the suppression model, cut from a published table for one indicator."""

    name: str
    frame: pd.DataFrame  # keeps the published frame's index, so the pattern maps back to its rows
    filters: list[str]
    by: list[str]
    hierarchies: dict[str, dict[str, tuple[str, ...]]]
    measure: str
    count: str
    aliases: pd.DataFrame | None = None  # published rows that are cells of `frame` under another label

    def keys(self, frame: pd.DataFrame | None = None) -> list[CellKey]:
        frame = self.frame if frame is None else frame
        columns = [*self.by, *self.filters]
        return [cell_key(self.measure, dict(zip(columns, row, strict=True)))
                for row in frame[columns].astype(str).itertuples(index=False, name=None)]  # fmt: skip


def model_parts(spec: PublishedTable, frame: pd.DataFrame) -> list[ModelPart]:
    """The published table as tables of the suppression model: per indicator, per partition (split_by).

    A partition whose values are sums of another's (ethnic group = its ethnicities: `split_hierarchies`) joins
    that partition as parent values of the same filter; its `Total` rows, the same cells as the child partition's,
    become `aliases` (published with the same text)."""
    frame = frame.copy()
    for f in spec.filters:
        if f.total_key:
            frame[f.column] = frame[f.column].replace({TOTAL: f.total_key})
    hierarchies = {f.column: dict(f.hierarchy) for f in spec.filters if f.hierarchy}
    for column, value in spec.model_constants:
        frame[column] = value
    by = [*CELL_BY, *(c for c in spec.by if c != spec.split_by), *(c for c, _ in spec.model_constants)]
    partitions = [(spec.name, frame, spec.filter_columns, hierarchies, frame.iloc[:0])]
    if spec.split_by:
        partitions = _split_partitions(spec, frame, hierarchies)
    parts = []
    for table, part, filters, part_hierarchies, aliases in partitions:
        for i in spec.indicators:
            if i.kind != COUNT:
                continue
            constants = dict(i.model_filters)
            parts.append(ModelPart(
                f"{table}.{i.column}", part.assign(**constants), filters, [*by, *constants], part_hierarchies,
                i.measure, i.column, aliases.assign(**constants),
            ))  # fmt: skip
    return parts


def _labelled(part: ModelPart) -> list[tuple[dict[str, str], CellKey, int]]:
    """Each row of a model part: its labels (by and filter columns), its cell key and its count."""
    columns = [*part.by, *part.filters]
    rows = part.frame[columns].astype(str).to_dict("records")
    return list(zip(rows, part.keys(), (int(v) for v in part.frame[part.count]), strict=True))


def _within(spec: PublishedTable, relation: Within, parts: Sequence[ModelPart]):
    """(whole key, part key, the rest's key, whole count, part count) for every row pair the relation ties."""
    if relation.column:
        for part in parts:
            rows = _labelled(part)
            others = [c for c in (*part.by, *part.filters) if c != relation.column]
            wholes = {tuple(labels[c] for c in others): (labels, key, n) for labels, key, n in rows
                      if labels[relation.column] == relation.whole}  # fmt: skip
            for labels, key, n in rows:
                match = wholes.get(tuple(labels[c] for c in others))
                if labels[relation.column] == relation.part and match:
                    whole_labels, whole_key, whole_n = match
                    rest = {**whole_labels, relation.column: f"{relation.whole} without {relation.part}"}
                    yield whole_key, key, cell_key(part.measure, rest), whole_n, n
        return
    by_partition: dict[str, dict[str, ModelPart]] = {}
    for part in parts:
        by_partition.setdefault(part.name.rsplit(".", 1)[0], {})[part.count] = part
    for indicators in by_partition.values():
        whole, counted = indicators.get(relation.whole), indicators.get(relation.part)
        if whole is None or counted is None:
            raise TableError(f"table {spec.name!r}: relation {relation} names a column that is not a count")
        for (labels, whole_key, whole_n), (_, key, n) in zip(_labelled(whole), _labelled(counted), strict=True):
            rest = cell_key(f"{whole.measure} without {counted.measure}", labels)
            yield whole_key, key, rest, whole_n, n


def _same_when_equal(spec: PublishedTable, relation: SameWhenEqual, parts: Sequence[ModelPart]):
    """(first key, other key) for every two Total rows the relation ties (equal counts, same other labels)."""
    totals = {f.column: f.total_key or MODEL_TOTAL for f in spec.filters}
    for part in parts:
        groups: dict[tuple, list[CellKey]] = {}
        for labels, key, n in _labelled(part):
            if all(labels[c] == totals.get(c, MODEL_TOTAL) for c in part.filters):
                other = tuple(v for c, v in sorted(labels.items()) if c != relation.column)
                groups.setdefault((other, n), []).append(key)
        for keys in groups.values():
            first, *rest = sorted(keys)
            for key in rest:
                yield first, key


def _mean_thresholds(spec: PublishedTable, parts: Sequence[ModelPart], rules: SuppressionRules):
    """(count key, count, True when the mean is shown) for every published mean whose number of children is a
    count of the table: rule 6 shows a mean only over ``rules.average_min_n`` children or more, so a shown mean
    tells a reader its count is at least that, and a ``c`` mean that it is less, whether the count is shown or not."""
    for indicator in spec.indicators:
        if indicator.kind != MEAN:
            continue
        for part in parts:
            if part.count != indicator.n_column:
                continue
            for (_, key, n), text in zip(_labelled(part), part.frame[indicator.column], strict=True):
                if text == SUPPRESSED or is_number(str(text)):
                    yield key, n, text != SUPPRESSED


def relation_tables(spec: PublishedTable, parts: Sequence[ModelPart], rules: SuppressionRules = DEFAULT_RULES):
    """What a reader knows of the table's counts beyond their sums, as tables of the model: its relations
    (``spec.relations``: the rest of each Within pair a hidden cell with whole = part + rest, equal SameWhenEqual
    rows one equation each), and rule 6's threshold for every count a mean is shown or suppressed over (count =
    threshold + a hidden, unprotected slack, or threshold - 1 = count + slack, the thresholds a public table)."""
    cells: dict[CellKey, int] = {}
    constraints = []
    for relation in spec.relations:
        if isinstance(relation, Within):
            for whole_key, key, rest, whole_n, n in _within(spec, relation, parts):
                if n > whole_n:
                    raise TableError(f"table {spec.name!r}: {describe(key)} counts more children than "
                                     f"{describe(whole_key)}, which holds them all")  # fmt: skip
                cells[rest] = whole_n - n
                constraints.append(Constraint(whole_key, (key, rest)))
        else:
            constraints += [Constraint(first, (key,), outcome=False) for first, key in
                            _same_when_equal(spec, relation, parts)]  # fmt: skip
    tables = []
    if constraints:
        tables.append(Table(f"{spec.name}.relations", tuple(Cell(k, v) for k, v in cells.items()),
                            tuple(constraints), hidden=True))  # fmt: skip
    floor = rules.average_min_n
    thresholds = {shown: (RULE_6, f"n={floor if shown else floor - 1}") for shown in (True, False)}
    slacks, ties, used = [], [], {}
    for key, n, shown in _mean_thresholds(spec, parts, rules):
        threshold = thresholds[shown]
        used[threshold] = floor if shown else floor - 1
        slack = (f"{key[0]} {'above' if shown else 'below'} {RULE_6}", *key[1:])
        slacks.append(Cell(slack, n - used[threshold] if shown else used[threshold] - n))
        ties.append(Constraint(key, (threshold, slack), outcome=False) if shown else
                    Constraint(threshold, (key, slack), outcome=False))  # fmt: skip
    if ties:
        tables.append(Table(f"{spec.name}.rule 6", tuple(slacks), tuple(ties), hidden=True, protected=False))
        tables.append(Table(f"public:{spec.name}.rule 6", tuple(Cell(k, v) for k, v in used.items()), public=True))
    return tables


def _split_partitions(spec: PublishedTable, frame: pd.DataFrame, hierarchies: dict) -> list[tuple]:
    renames = dict(spec.split_names)
    parents = {child: (parent, mapping) for parent, child, mapping in spec.split_hierarchies}
    merged = {parent for parent, _, _ in spec.split_hierarchies}
    partitions = []
    for group in sorted(frame[spec.split_by].unique()):
        if group in merged:
            continue
        name = renames.get(group, group)
        part = frame[frame[spec.split_by] == group]
        aliases = part.iloc[:0]
        part_hierarchies = hierarchies
        if group in parents:
            parent, mapping = parents[group]
            parent_rows = frame[frame[spec.split_by] == parent]
            is_total = parent_rows[spec.split_filter] == TOTAL
            part = pd.concat([part, parent_rows[~is_total]])
            aliases = parent_rows[is_total].rename(columns={spec.split_filter: name})
            part_hierarchies = {**hierarchies, name: dict(mapping)}
        part = part.rename(columns={spec.split_filter: name})
        filters = [name if c == spec.split_filter else c for c in spec.filter_columns]
        partitions.append((f"{spec.name}.{group}", part, filters, part_hierarchies, aliases))
    return partitions


def meta_frame(spec: PublishedTable) -> pd.DataFrame:
    """The EES `.meta.csv`: one row per filter and indicator."""
    rows = [
        {"col_name": column, "col_type": "Filter", "label": label, "indicator_grouping": "", "indicator_unit": "",
         "indicator_dp": "", "filter_hint": hint, "filter_grouping_column": ""}
        for column, label, hint in [*((b, *by_label(spec, b)) for b in spec.by),
                                    *((f.column, f.label, f.hint) for f in spec.filters)]
    ] + [
        {"col_name": i.column, "col_type": "Indicator", "label": i.label, "indicator_grouping": "",
         "indicator_unit": "", "indicator_dp": "0", "filter_hint": "", "filter_grouping_column": ""}
        for i in spec.indicators
    ]  # fmt: skip
    for row, indicator in zip(rows[len(rows) - len(spec.indicators) :], spec.indicators, strict=True):
        row["indicator_unit"] = {AMOUNT: "£", PERCENT: "%"}.get(indicator.kind, indicator.unit)
        row["indicator_dp"] = "2" if indicator.kind == AMOUNT else str(indicator.dp)
    return pd.DataFrame(rows)


GEOGRAPHY_DESCRIPTIONS = {
    "time_period": "EES time period: 202223 = the year 2022/23 (academic or financial: see time_identifier), "
    "2023 = calendar year 2023",
    "time_identifier": "EES time identifier: Spring term (the January census), Academic year, Calendar year, "
    "Financial year, or a month (April)",
    "geographic_level": "EES geographic level: Local authority, Regional or National",
    "country_code": "ONS country code (E92000001 = England)",
    "country_name": "Country name",
    "region_code": "ONS region code (empty on national rows)",
    "region_name": "Region name (empty on national rows)",
    "new_la_code": "ONS local authority code, e.g. E06000017 (empty above local authority level)",
    "old_la_code": "DfE three-digit local authority number, e.g. 857 (empty above local authority level)",
    "la_name": "Local authority name (empty above local authority level)",
}
RELEASE_ID_DESCRIPTION = "The release this row belongs to (reporting.release): a reader can check it saw one release"


BY_LABELS: dict[str, tuple[str, str]] = {  # the `by` columns whose name alone does not say what they hold: label, hint
    "sen_provision": (PROVISION_EKN.label, PROVISION_EKN.hint),
    "has_ehcp": ("Has an EHC plan", "true / false"),
    "in_county": ("Placed in the county", "true / false"),
    "characteristic_group": (
        "Characteristic group",
        "sex, age_group: the phase, ethnicity, ethnic_group, first_language, fsm, pupil_premium",
    ),
    "line_code": ("S251 line code", ""),
    "geography_role": (
        "Geography role",
        "home_la: the LA itself, statistical_neighbour, region: the LA's region, england",
    ),
    "setting_type": (
        "Setting type",
        "EARLY_YEARS, MAINSTREAM, ERP: enhanced resourced provision or SEN unit, LA_SPECIAL: maintained special "
        "school or special academy, INMSS: independent or non-maintained special school, AP: alternative provision "
        "or PRU, FE_COLLEGE, SPI: specialist post-16 institution, APPRENTICESHIP, RESIDENTIAL, EHE: elective home "
        "education, OTHER",
    ),
    "counted_to": ("Counted to", "YYYY-MM-DD: 31 December, or the extract's latest date for the year still running"),
}


def by_label(spec: PublishedTable, column: str) -> tuple[str, str]:
    """A `by` column's label and hint: the table's own hint first (by_hints), then BY_LABELS, then its name."""
    label, hint = BY_LABELS.get(column, (column.replace("_", " ").capitalize(), ""))
    return label, dict(spec.by_hints).get(column, hint)


def indicator_description(
    indicator: Indicator, rules: SuppressionRules = DEFAULT_RULES, public_percent: bool = False
) -> str:
    """How the indicator is written, its symbols and suppression included (``public_percent``: a percentage of
    figures its publisher publishes, never suppressed)."""
    if indicator.dp_column:
        places = "decimal places per row, as the measure is published, halves up"
    else:
        places = f"{indicator.dp} decimal place{'s' if indicator.dp != 1 else ''}, halves up"
    small = f"the whole is fewer than {rules.rate_min_denominator} children"
    how = {
        COUNT: f"a whole number as text, or {SUPPRESSED} (suppressed: 1 to {rules.max_suppressed_count}, one of a "
        f"group of fewer than {rules.uniform_group_below} children all with one outcome, or hidden so that such a "
        f"count cannot be worked out from the others), {UNAVAILABLE} (not available) or {NOT_APPLICABLE} (not "
        "applicable)",
        AMOUNT: f"pounds to the penny as text (money, not about individual children: not suppressed), or a symbol "
        f"({UNAVAILABLE}: not available)",
        PUBLIC: "as its publisher (DfE, ONS) publishes it, as text"
        + (f" ({places})" if indicator.dp or indicator.dp_column else "")
        + f", not suppressed; {UNAVAILABLE} where not available",
        PERCENT: f"a percentage as text ({places}; {LOW} when not zero but rounding to it), "
        + ("of public figures, not suppressed" if public_percent else
           f"{SUPPRESSED} when its count or its whole is {SUPPRESSED} or {small}")
        + f"; {NOT_APPLICABLE} when the whole is 0; {UNAVAILABLE} when a figure it is computed from is not available",
        MEAN: f"an average as text ({places}), or {SUPPRESSED} when it is based on fewer than "
        f"{rules.average_min_n} children",
    }[indicator.kind]  # fmt: skip
    return f"{indicator.label}: {how}"


def column_descriptions(spec: PublishedTable) -> dict[str, str]:
    """What each column of the published table means, for BI readers (COMMENT ON COLUMN in send_reporting)."""
    described = dict(GEOGRAPHY_DESCRIPTIONS)
    for column in spec.by:
        label, hint = by_label(spec, column)
        described[column] = f"{label}{f' ({hint})' if hint else ''}: separates rows, never summed"
    for f in spec.filters:
        described[f.column] = f"{f.label}{f' ({f.hint})' if f.hint else ''}; {TOTAL} = all of them together"
    kinds = {i.column: i.kind for i in spec.indicators}
    for i in spec.indicators:
        described[i.column] = indicator_description(i, public_percent=kinds.get(i.numerator) == PUBLIC)
    described["release_id"] = RELEASE_ID_DESCRIPTION
    return described
