"""How a published table's cells enter the suppression model: per count indicator, the additive tables of the
model (``model_parts``: filters with their Total rows, hierarchies, partitions split by a column) and what a reader
knows beyond their sums (``relation_tables``: a Within pair's rest as a hidden cell, SameWhenEqual rows, rule 6's
threshold for a count a mean is over). The published tables are declared in pipeline.published_tables, their EES
format in pipeline.ees; pipeline.publish builds the release's model from these.
"""

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from pipeline.ees import COUNT, MEAN, RULE_6, TOTAL, PublishedTable, SameWhenEqual, Within
from pipeline.suppression.derived import is_number
from pipeline.suppression.model import TOTAL as MODEL_TOTAL
from pipeline.suppression.model import Cell, CellKey, Constraint, Table, TableError, cell_key, describe
from pipeline.suppression.rules import DEFAULT_RULES, SUPPRESSED, SuppressionRules

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


def _mean_thresholds(spec: PublishedTable, parts: Sequence[ModelPart]):
    """(count key, count, True when the mean is shown) for every published mean whose number of children is a
    count of the table: rule 6 shows a mean only over the rules' ``average_min_n`` children or more, so a shown mean
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
    for key, n, shown in _mean_thresholds(spec, parts):
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
