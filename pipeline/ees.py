"""DfE explore-education-statistics (EES) open-data format: what each published table is, and how a mart becomes
a tidy EES frame with its `Total` rows and its `.meta.csv` (pure: pandas only, no DuckDB, no Dagster).

A published table is declared once, in PUBLISHED_TABLES: the mart it comes from, its additive filters (each
gets a `Total` row, the true sum of the others), its non-additive `by` columns, and its count indicators. The
indicator's `measure` names the population counted, so two tables publishing the same population share cells
(the suppression attacker sees them as one).
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import combinations

import pandas as pd

TOTAL = "Total"
GEOGRAPHY_COLUMNS = (
    "time_period", "time_identifier", "geographic_level", "country_code", "country_name", "region_code",
    "region_name", "new_la_code", "old_la_code", "la_name",
)  # fmt: skip
ENGLAND = {"country_code": "E92000001", "country_name": "England"}


@dataclass(frozen=True)
class Filter:
    column: str  # the mart's column, also the EES column name
    label: str  # human label in the meta file
    hint: str = ""


@dataclass(frozen=True)
class Indicator:
    column: str  # a count of distinct children in the mart
    label: str
    measure: str  # the population counted (shared name = shared cells across tables)


@dataclass(frozen=True)
class PublishedTable:
    name: str  # reporting.<name> and ees/<name>.csv
    mart: str  # marts.<mart>
    title: str
    time_identifier: str  # EES time identifier; "{census_term} term" takes the mart's census_term
    filters: tuple[Filter, ...]
    indicators: tuple[Indicator, ...]
    by: tuple[str, ...] = ()  # non-additive columns that only separate cells (besides time_period)
    drop: tuple[str, ...] = field(default=())  # mart columns not published (labels, ordering)

    @property
    def filter_columns(self) -> list[str]:
        return [f.column for f in self.filters]

    @property
    def count_columns(self) -> list[str]:
        return [i.column for i in self.indicators]

    @property
    def key_columns(self) -> list[str]:
        """The columns that separate cells, in EES order."""
        return [*GEOGRAPHY_COLUMNS, *self.by, *self.filter_columns]


PUBLISHED_TABLES: tuple[PublishedTable, ...] = (
    PublishedTable(
        name="send_primary_need",
        mart="fct_send_primary_need",
        title="Pupils with SEN (EHC plan or SEN support) by primary type of need",
        time_identifier="{census_term} term",
        filters=(Filter("primary_need", "Primary type of need", "CBDS SEN type code"),),
        indicators=(Indicator("pupils", "Pupils with SEN", "sen_pupils"),),
    ),
    PublishedTable(
        name="send_provision",
        mart="fct_send_provision",
        title="Pupils with an EHC plan or on SEN support, with pupil premium and free school meals",
        time_identifier="{census_term} term",
        filters=(Filter("sen_provision", "SEN provision", "E = EHC plan, K = SEN support"),),
        indicators=(
            Indicator("pupils", "Pupils with SEN", "sen_pupils"),
            Indicator("pupils_pupil_premium", "Pupils with SEN attracting pupil premium", "sen_pupils_pp"),
            Indicator("pupils_fsm", "Pupils with SEN eligible for free school meals", "sen_pupils_fsm"),
        ),
    ),
)


def with_totals(frame: pd.DataFrame, filters: Sequence[str], by: Sequence[str], counts: Sequence[str]) -> pd.DataFrame:
    """The frame plus a `Total` row for every combination of additive filters (each count summed)."""
    frame = frame[[*by, *filters, *counts]].copy()
    for column in filters:
        frame[column] = frame[column].astype(str)
    parts = [frame]
    for size in range(1, len(filters) + 1):
        for totalled in combinations(filters, size):
            kept = [c for c in filters if c not in totalled]
            summed = frame.groupby([*by, *kept], dropna=False, sort=True)[list(counts)].sum().reset_index()
            for column in totalled:
                summed[column] = TOTAL
            parts.append(summed)
    return pd.concat(parts, ignore_index=True)[[*by, *filters, *counts]]


def ees_frame(spec: PublishedTable, mart: pd.DataFrame, geography: dict[str, str]) -> pd.DataFrame:
    """Exact counts in EES layout: time and geography columns, filters with `Total` rows, count indicators."""
    by = ["time_period", *(["census_term"] if "census_term" in mart.columns else []), *spec.by]
    frame = with_totals(mart, spec.filter_columns, by, spec.count_columns)
    frame["time_period"] = frame["time_period"].astype(str)
    frame["time_identifier"] = [spec.time_identifier.format(**row) for row in frame[by].to_dict("records")]
    for column, value in {"geographic_level": "Local authority", **ENGLAND, **geography}.items():
        frame[column] = value
    ordered = [*GEOGRAPHY_COLUMNS, *spec.by, *spec.filter_columns, *spec.count_columns]
    order = [*GEOGRAPHY_COLUMNS, *spec.by, *spec.filter_columns]
    return frame[ordered].sort_values(order, key=_total_last, ignore_index=True)


def _total_last(column: pd.Series) -> pd.Series:
    """Sort key: values in order, a filter's `Total` after them."""
    return column.map(lambda value: (value == TOTAL, value))


def meta_frame(spec: PublishedTable) -> pd.DataFrame:
    """The EES `.meta.csv`: one row per filter and indicator."""
    rows = [
        {"col_name": f.column, "col_type": "Filter", "label": f.label, "indicator_grouping": "", "indicator_unit": "",
         "indicator_dp": "", "filter_hint": f.hint, "filter_grouping_column": ""}
        for f in spec.filters
    ] + [
        {"col_name": i.column, "col_type": "Indicator", "label": i.label, "indicator_grouping": "",
         "indicator_unit": "", "indicator_dp": "0", "filter_hint": "", "filter_grouping_column": ""}
        for i in spec.indicators
    ]  # fmt: skip
    return pd.DataFrame(rows)
