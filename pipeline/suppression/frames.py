"""The pandas edge: a tidy EES-style frame (filter columns with totals spelled ``Total``, one count column) as a
table of the model, and the suppression pattern applied back to the frame as published text.

Cells are keyed by ``model.cell_key(measure, {column: value})``: two frames that publish the same population
under the same measure name and the same filter values share their cells (and the attacker sees it once).
"""

from collections.abc import Mapping, Sequence

import pandas as pd

from pipeline.suppression.model import TOTAL, Cell, CellKey, Constraint, Table, TableError, cell_key
from pipeline.suppression.secondary import SuppressionResult

Hierarchy = Mapping[str, Sequence[str]]  # parent value -> its child values, within one filter


def _text(frame_name: str, row: int, column: str, value: object) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        raise TableError(f"table {frame_name!r}: row {row}, column {column!r}: a filter value is missing")
    return str(value)


def _keys(
    name: str, frame: pd.DataFrame, by: Sequence[str], filters: Sequence[str], measure: str, total_label: str
) -> list[CellKey]:
    keys = []
    for row, values in enumerate(frame[[*by, *filters]].itertuples(index=False, name=None)):
        labels = {
            column: _text(name, row, column, value) for column, value in zip([*by, *filters], values, strict=True)
        }
        for column in by:
            if labels[column] == total_label:
                raise TableError(f"table {name!r}: row {row}, column {column!r}: a 'by' column cannot hold a total")
        keys.append(cell_key(measure, labels, total_label))
    return keys


def table_from_frame(
    name: str,
    frame: pd.DataFrame,
    *,
    count: str,
    filters: Sequence[str],
    by: Sequence[str] = (),
    measure: str | None = None,
    hierarchies: Mapping[str, Hierarchy] | None = None,
    total_label: str = TOTAL,
    public: bool = False,
) -> Table:
    """A table of the model from a tidy frame with one row per cell.

    ``filters``: additive filter columns, whose ``Total`` rows are the true sums of the other values (with the
    other filters fixed). ``by``: non-additive columns (time_period, la_code) that only separate cells.
    ``hierarchies``: nested values within a filter, e.g. ``{"sen_provision": {"SEN": ["EHCP", "SEN support"]}}``:
    a parent row is the sum of its children, and ``Total`` the sum of the top values (an absent value counts 0).
    ``measure``: the population counted (default: the count column's name).
    """
    hierarchies = hierarchies or {}
    measure = measure or count
    missing = [c for c in (*by, *filters, count) if c not in frame.columns]
    if missing:
        raise TableError(f"table {name!r}: column {missing[0]!r} is missing")
    keys = _keys(name, frame, by, filters, measure, total_label)
    cells = []
    seen: dict[CellKey, int] = {}
    for row, (key, value) in enumerate(zip(keys, frame[count].tolist(), strict=True)):
        if key in seen:
            raise TableError(f"table {name!r}: row {row} repeats the filters of row {seen[key]}")
        seen[key] = row
        try:
            whole = int(value)
            ok = whole == value and whole >= 0 and not isinstance(value, bool)
        except (TypeError, ValueError, OverflowError):
            ok = False
        if not ok:
            raise TableError(f"table {name!r}: row {row}, column {count!r}: not a whole count of at least 0")
        cells.append((key, whole))

    labels = frame[[*by, *filters]].astype(str).to_numpy().tolist()
    columns = [*by, *filters]
    groups: dict[tuple[str, tuple[str, ...]], dict[str, CellKey]] = {}
    for key, row_labels in zip(keys, labels, strict=True):
        for position, column in enumerate(columns):
            if column in filters:
                other = tuple(row_labels[:position] + row_labels[position + 1 :])
                groups.setdefault((column, other), {})[row_labels[position]] = key

    def expand(column: str, wanted: Sequence[str], present: Mapping[str, CellKey]) -> list[CellKey]:
        parts = []
        for value in wanted:
            if value in present:
                parts.append(present[value])
            elif value in hierarchies.get(column, {}):
                parts += expand(column, hierarchies[column][value], present)
        return parts

    constraints = []
    total_keys = set()
    for (column, _), present in sorted(groups.items()):
        tree = hierarchies.get(column, {})
        children = {child for kids in tree.values() for child in kids}
        if total_label in present:
            tops = sorted(v for v in present if v != total_label and v not in children)
            tops += sorted(p for p in tree if p not in present and p not in children)
            parts = expand(column, tops, present)
            if parts:
                constraints.append(Constraint(present[total_label], tuple(parts)))
                total_keys.add(present[total_label])
        for parent in sorted(tree):
            if parent in present:
                parts = expand(column, tree[parent], present)
                if parts:
                    constraints.append(Constraint(present[parent], tuple(parts)))
                    total_keys.add(present[parent])
    return Table(name, tuple(Cell(k, v, k in total_keys) for k, v in cells), tuple(constraints), public)


def publish_frame(
    frame: pd.DataFrame,
    result: SuppressionResult,
    *,
    count: str,
    filters: Sequence[str],
    by: Sequence[str] = (),
    measure: str | None = None,
    total_label: str = TOTAL,
    name: str = "frame",
) -> pd.DataFrame:
    """A copy of the frame with the count column as published text: ``c`` where the pattern suppresses the
    cell, ``x`` where the count is missing, else the count's digits (rule 8: never blank, never NaN)."""
    keys = _keys(name, frame, by, filters, measure or count, total_label)
    published = frame.copy()
    texts = []
    for key, value in zip(keys, frame[count].tolist(), strict=True):
        missing = value is None or (isinstance(value, float) and pd.isna(value))
        texts.append(result.published(key, None if missing else value))
    published[count] = texts
    return published
