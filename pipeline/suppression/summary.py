"""The pattern summary (cells suppressed per table, and why, internally; for `reporting.release` only how many) and
the pattern as storable records (for rule 7: the next release of the same period carries it forward)."""

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from pipeline.suppression.model import Cell, CellKey, Table, TableSet
from pipeline.suppression.rules import CARRIED_FORWARD, PRIMARY_REASONS, SECONDARY
from pipeline.suppression.secondary import SuppressionResult

EARLIER_RELEASES = "public:earlier releases"  # the public table of figures our own earlier releases published


@dataclass(frozen=True)
class TableSummary:
    table: str
    cells: int  # count cells the table publishes
    suppressed: int  # all of them shown as `c`
    primary: int  # rules 2/4: count 1-5, or a small group all with one outcome
    secondary: int  # rule 3: complementary suppressions
    carried_forward: int  # rule 7: suppressed only because an earlier release of the period suppressed them
    unresolved: int  # suppressed cells the attacker still pins (the release must not be published)


def pattern_summary(tables: TableSet, result: SuppressionResult) -> tuple[TableSummary, ...]:
    """One row per table we publish (public and hidden tables left out), in the order the tables were given. A cell
    shared by two tables counts in both."""
    unresolved = set(result.unresolved)
    rows = []
    for table in tables.tables:
        if table.public or table.hidden:
            continue
        keys = table.keys
        reasons = [result.reasons[k] for k in keys if k in result.reasons]
        rows.append(
            TableSummary(
                table=table.name,
                cells=len(keys),
                suppressed=len(reasons),
                primary=sum(1 for r in reasons if r in PRIMARY_REASONS),
                secondary=sum(1 for r in reasons if r == SECONDARY),
                carried_forward=sum(1 for r in reasons if r == CARRIED_FORWARD),
                unresolved=sum(1 for k in keys if k in unresolved),
            )
        )
    return tuple(rows)


PUBLISHED_SUMMARY = ("table", "cells", "suppressed")


def summary_records(tables: TableSet, result: SuppressionResult) -> list[dict[str, object]]:
    """The summary a release publishes (``reporting.release``, the release's Dagster metadata): per table, its
    count cells and how many are ``c``, which any reader can count. Never why: a reader told that a table's every
    ``c`` is primary knows each is 1 to 5, and with the table's totals can narrow them (the disclosure audit's
    case). The reasons stay in the internal warehouse (``pattern_records``)."""
    return [{name: getattr(row, name) for name in PUBLISHED_SUMMARY} for row in pattern_summary(tables, result)]


def key_to_text(key: CellKey) -> str:
    """A cell key as one text value (JSON array) for storage; ``key_from_text`` reverses it."""
    return json.dumps(list(key), ensure_ascii=False)


def key_from_text(text: str) -> CellKey:
    parts = json.loads(text)
    if not isinstance(parts, list) or not parts or not all(isinstance(p, str) for p in parts):
        raise ValueError("a stored cell key is a non-empty JSON array of text")
    return tuple(parts)


def pattern_records(tables: TableSet, result: SuppressionResult) -> list[dict[str, str]]:
    """The pattern to store in the warehouse, one record per (table, suppressed cell): table, cell_key (text),
    reason. Holds keys (measure and category labels) only, never a count."""
    records = []
    for table in tables.tables:
        if table.public or table.hidden:  # a hidden cell is never published: nothing to carry forward
            continue
        for key in table.keys:
            if key in result.reasons:
                records.append({"table": table.name, "cell_key": key_to_text(key), "reason": result.reasons[key]})
    return records


def published_count_records(
    tables: TableSet, result: SuppressionResult, earlier: Mapping[CellKey, Iterable[int]] | None = None
) -> list[dict[str, object]]:
    """Every count cell of our tables the release shows as a number, to store in the warehouse: cell_key (text)
    and value. A reader may keep any release, so a later release's attacker knows them (``earlier_release_table``).
    With ``earlier`` (figures already stored), only the figures not shown before."""
    earlier = earlier or {}
    return [
        {"cell_key": key_to_text(key), "value": int(tables.values[key])}
        for key in tables.published_keys
        if key not in result.reasons and tables.values[key] not in set(earlier.get(key, ()))
    ]


def earlier_release_table(tables: TableSet, earlier: Mapping[CellKey, Iterable[int]]) -> Table | None:
    """The cells earlier releases showed as a number with the value they hold now, as a public table of the model
    (a figure once published stays known: a later pattern cannot protect a cell by hiding it). A value that has
    changed since (a corrected extract) is another figure, left out. None when there is none."""
    cells = tuple(
        Cell(key, tables.values[key])
        for key in tables.published_keys
        if key not in tables.public and tables.values[key] in set(earlier.get(key, ()))
    )
    return Table(EARLIER_RELEASES, cells, public=True) if cells else None


def keys_from_records(records: Iterable[Mapping[str, str]]) -> frozenset[CellKey]:
    """The suppressed cells of a stored pattern (``pattern_records``), to pass as ``suppress(previous=...)``."""
    return frozenset(key_from_text(record["cell_key"]) for record in records)
