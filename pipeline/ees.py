"""DfE explore-education-statistics (EES) open-data format: what a published table is made of, how a mart becomes
a tidy EES frame with its `Total` rows and its `.meta.csv`, and what each published column means (no Dagster, no
warehouse: in-memory DuckDB only to run a table's `query` over the mart's frame). The tables themselves are
declared in pipeline.published_tables; how their cells enter the suppression model is pipeline.published_model.

A PublishedTable names the mart it comes from, its additive filters (each gets a `Total` row, the true sum of the
others), its non-additive `by` columns, and its indicators: counts of children (suppressed), money, other
publishers' figures, percentages (rule 5, computed once the counts are suppressed: `percent_texts`) and averages
(rule 6). A count's `measure` names the population counted, so two tables publishing the same population share
cells (the suppression attacker sees them as one); `model_filters`, `model_constants` and `split_hierarchies` tie
further cells together (pipeline.published_model). PublicFigures are what another publisher already releases for
cells of ours (the attacker knows them).
"""

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations

import duckdb
import pandas as pd

from pipeline.suppression.derived import decimal_text, rate_text, suppress_average, suppress_rate
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


# The SEN provision codes every table that breaks pupils down by them uses (a filter, or a `by` column).
PROVISION_LABEL, PROVISION_HINT = "SEN provision", "E = EHC plan, K = SEN support, N = no SEN"

COUNT, AMOUNT, PUBLIC, PERCENT, MEAN = "count", "amount", "public", "percent", "mean"
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
    given, only those columns, the others left blank on Total rows). A Total is missing when any of its parts is:
    the sum of the parts present would publish an understated whole as if it were known."""
    summed = list(summed or counts)
    frame = frame[[*by, *filters, *counts]].copy()
    for column in filters:
        frame[column] = frame[column].astype(str)
    parts = [frame]
    for size in range(1, len(filters) + 1):
        for totalled in combinations(filters, size):
            kept = [c for c in filters if c not in totalled]
            grouped = frame.groupby([*by, *kept], dropna=False, sort=True)[summed]
            whole = grouped.count().eq(grouped.size(), axis=0)  # every part of the Total is known
            sums = grouped.sum().where(whole).reset_index()
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
        rows = whole_rows(spec, exact, indicator.of_total)
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


def whole_rows(spec: PublishedTable, exact: pd.DataFrame, of_total: str) -> pd.Index:
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
    "sen_provision": (PROVISION_LABEL, PROVISION_HINT),
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
    "counted_to": ("Counted to", "YYYY-MM-DD: 31 December, or the extract date for the year still running"),
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
