"""The table model: a release is a set of linear tables over counts of distinct children.

A cell is one count, named by a key: a tuple of text, by convention ``(measure, "filter=value", ...)`` with the
filters sorted and every filter at its total left out (see ``cell_key``), so that the same population published in
two tables is one cell with one key, and therefore one variable for the attacker. A table is its cells plus its
additivity constraints (``total = sum(parts)``). A *public* table holds figures somebody else has already published
(DfE's unsuppressed local-authority totals): the attacker knows them, so they need no protection and are never
used as complementary suppressions; one that also sits in a table of ours still follows the primary rule there.
Constraints may name cells of any table of the set, which is how a public total is tied to our parts. A *hidden*
table holds counts of ours that are never published but that a reader can form from published ones, such as the
pupils with an Attainment 8 score and no Progress 8 score (every pupil with the second has the first): its cells are
always unknown to the attacker, and a small one is protected like any small count.
"""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

CellKey = tuple[str, ...]
TOTAL = "Total"


class TableError(ValueError):
    """A table or release that is not a consistent set of additive tables (names keys, never counts)."""


def cell_key(measure: str, filters: Mapping[str, str] | None = None, total_label: str = TOTAL) -> CellKey:
    """The key of a cell: the measure, then ``filter=value`` for each filter not at its total, sorted."""
    parts = []
    for name, value in (filters or {}).items():
        if "=" in name:
            raise TableError(f"filter name {name!r} cannot contain '='")
        if value != total_label:
            parts.append(f"{name}={value}")
    return (measure, *sorted(parts))


def describe(key: CellKey) -> str:
    """A key as text for messages (keys hold measure and category labels only, never a count)."""
    return " | ".join(key)


@dataclass(frozen=True)
class Cell:
    key: CellKey
    value: int
    is_total: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "key", tuple(self.key))
        if not self.key or not all(isinstance(part, str) for part in self.key):
            raise TableError("a cell key is a non-empty tuple of text")
        try:
            whole = int(self.value)
            ok = not isinstance(self.value, bool) and whole == self.value and whole >= 0
        except (TypeError, ValueError, OverflowError):
            ok = False
        if not ok:
            raise TableError(f"cell {describe(self.key)}: a count must be a whole number of at least 0")
        object.__setattr__(self, "value", whole)


@dataclass(frozen=True)
class Constraint:
    """``total = sum(parts)``. ``outcome``: the parts split the total's children by an outcome (rule 2's
    uniform-outcome check applies); set False for a breakdown whose 100% says nothing about the children."""

    total: CellKey
    parts: tuple[CellKey, ...]
    outcome: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "total", tuple(self.total))
        parts = tuple(sorted(tuple(p) for p in self.parts))
        if not parts:
            raise TableError(f"constraint for total {describe(self.total)} has no parts")
        if len(set(parts)) != len(parts) or self.total in parts:
            raise TableError(f"constraint for total {describe(self.total)} repeats a cell")
        object.__setattr__(self, "parts", parts)

    @property
    def cells(self) -> tuple[CellKey, ...]:
        return (self.total, *self.parts)


@dataclass(frozen=True)
class Table:
    name: str
    cells: tuple[Cell, ...]
    constraints: tuple[Constraint, ...] = ()
    public: bool = False
    hidden: bool = False  # cells never published (see the module docstring)
    # hidden cells that are not counts of children (how far a count is above a threshold the reader knows it
    # passes): unknown to the attacker like any hidden cell, never protected themselves
    protected: bool = True

    def __post_init__(self) -> None:
        if not self.name:
            raise TableError("a table needs a name")
        if self.public and self.hidden:
            raise TableError(f"table {self.name!r}: a public table cannot be hidden")
        if not self.protected and not self.hidden:
            raise TableError(f"table {self.name!r}: only a hidden table's cells can go unprotected")
        object.__setattr__(self, "cells", tuple(self.cells))
        object.__setattr__(self, "constraints", tuple(self.constraints))
        seen: set[CellKey] = set()
        for cell in self.cells:
            if cell.key in seen:
                raise TableError(f"table {self.name!r}: cell {describe(cell.key)} appears twice")
            seen.add(cell.key)

    @property
    def keys(self) -> tuple[CellKey, ...]:
        return tuple(cell.key for cell in self.cells)


@dataclass(frozen=True)
class TableSet:
    """Every table of one release, plus the public tables the attacker also knows. Order-independent: keys and
    constraints are kept sorted, so the same tables given in any order give the same suppression pattern."""

    tables: tuple[Table, ...]
    values: Mapping[CellKey, int] = field(init=False, repr=False)
    keys: tuple[CellKey, ...] = field(init=False, repr=False)
    public: frozenset[CellKey] = field(init=False, repr=False)
    totals: frozenset[CellKey] = field(init=False, repr=False)
    constraints: tuple[Constraint, ...] = field(init=False, repr=False)
    tables_of: Mapping[CellKey, tuple[str, ...]] = field(init=False, repr=False)
    published: frozenset[CellKey] = field(init=False, repr=False)
    hidden: frozenset[CellKey] = field(init=False, repr=False)
    unprotected: frozenset[CellKey] = field(init=False, repr=False)  # hidden cells that are not counts of children

    def __init__(self, tables: Iterable[Table]) -> None:
        tables = tuple(tables)
        names = [t.name for t in tables]
        if len(set(names)) != len(names):
            raise TableError("two tables of a release share a name")
        values: dict[CellKey, int] = {}
        owner: dict[CellKey, str] = {}
        tables_of: dict[CellKey, list[str]] = {}
        public: set[CellKey] = set()
        published: set[CellKey] = set()
        hidden: set[CellKey] = set()
        unprotected: set[CellKey] = set()
        totals: set[CellKey] = set()
        for table in tables:
            for cell in table.cells:
                if cell.key in values and values[cell.key] != cell.value:
                    raise TableError(
                        f"cell {describe(cell.key)} has different counts in tables {owner[cell.key]!r} and "
                        f"{table.name!r}"
                    )
                values.setdefault(cell.key, cell.value)
                owner.setdefault(cell.key, table.name)
                tables_of.setdefault(cell.key, []).append(table.name)
                (public if table.public else hidden if table.hidden else published).add(cell.key)
                if not table.protected:
                    unprotected.add(cell.key)
                if cell.is_total:
                    totals.add(cell.key)
        constraints: dict[tuple, Constraint] = {}
        for table in tables:
            for constraint in table.constraints:
                for key in constraint.cells:
                    if key not in values:
                        raise TableError(f"table {table.name!r}: constraint names unknown cell {describe(key)}")
                if values[constraint.total] != sum(values[p] for p in constraint.parts):
                    raise TableError(
                        f"table {table.name!r}: the parts of total {describe(constraint.total)} do not add up to it"
                    )
                signature = (constraint.total, constraint.parts)
                if signature in constraints:
                    # the same equation from two tables: one row; the uniform-outcome check if either asks for it
                    outcome = constraints[signature].outcome or constraint.outcome
                    constraint = Constraint(constraint.total, constraint.parts, outcome)
                constraints[signature] = constraint
                totals.add(constraint.total)
        object.__setattr__(self, "tables", tables)
        object.__setattr__(self, "values", dict(sorted(values.items())))
        object.__setattr__(self, "keys", tuple(sorted(values)))
        object.__setattr__(self, "public", frozenset(public))
        if both := sorted(hidden & (published | public)):
            raise TableError(f"cell {describe(both[0])} is in a hidden table and also published")
        object.__setattr__(self, "published", frozenset(published))
        object.__setattr__(self, "hidden", frozenset(hidden))
        object.__setattr__(self, "unprotected", frozenset(unprotected))
        object.__setattr__(self, "totals", frozenset(totals))
        object.__setattr__(self, "constraints", tuple(constraints[s] for s in sorted(constraints)))
        object.__setattr__(self, "tables_of", {k: tuple(v) for k, v in sorted(tables_of.items())})

    @property
    def published_keys(self) -> tuple[CellKey, ...]:
        """Every cell of our (non-public) tables: what we publish, where the primary rule applies."""
        return tuple(k for k in self.keys if k in self.published)

    @property
    def private_keys(self) -> tuple[CellKey, ...]:
        """The cells of ours that are not public elsewhere, hidden ones included: the attacker's unknowns when
        suppressed (hidden ones always), and with the hidden ones left out, the only cells a complementary
        suppression can use (hiding a public figure protects nothing)."""
        return tuple(k for k in self.keys if (k in self.published or k in self.hidden) and k not in self.public)

    def table(self, name: str) -> Table:
        for table in self.tables:
            if table.name == name:
                return table
        raise KeyError(name)


def two_way_table(
    name: str,
    measure: str,
    row_filter: str,
    rows: Sequence[str],
    column_filter: str,
    columns: Sequence[str],
    counts: Sequence[Sequence[int]],
    *,
    by: Mapping[str, str] | None = None,
    public: bool = False,
) -> Table:
    """A rows x columns table with its true row totals, column totals and grand total (rule 4). ``by``: fixed
    filters of the whole table (e.g. ``{"phase": "Primary"}``), part of every key."""
    if len(counts) != len(rows) or any(len(line) != len(columns) for line in counts):
        raise TableError(f"table {name!r}: counts are not {len(rows)} rows of {len(columns)} columns")
    if len(set(rows)) != len(rows) or len(set(columns)) != len(columns):
        raise TableError(f"table {name!r}: repeated row or column label")
    if row_filter == column_filter or {row_filter, column_filter} & set(by or {}):
        raise TableError(f"table {name!r}: the row, column and fixed filters must differ")

    def key(row: str | None = None, column: str | None = None) -> CellKey:
        filters = dict(by or {})
        if row is not None:
            filters[row_filter] = row
        if column is not None:
            filters[column_filter] = column
        return cell_key(measure, filters)

    cells = [Cell(key(r, c), counts[i][j]) for i, r in enumerate(rows) for j, c in enumerate(columns)]
    cells += [Cell(key(r), sum(counts[i]), True) for i, r in enumerate(rows)]
    cells += [Cell(key(None, c), sum(line[j] for line in counts), True) for j, c in enumerate(columns)]
    cells.append(Cell(key(), sum(sum(line) for line in counts), True))
    constraints = [Constraint(key(r), tuple(key(r, c) for c in columns)) for r in rows]
    constraints += [Constraint(key(None, c), tuple(key(r, c) for r in rows)) for c in columns]
    constraints.append(Constraint(key(), tuple(key(r) for r in rows)))
    constraints.append(Constraint(key(), tuple(key(None, c) for c in columns)))
    return Table(name, tuple(cells), tuple(constraints), public)


HierarchyNode = int | Mapping[str, "HierarchyNode"]


def hierarchy_table(
    name: str,
    measure: str,
    filter_name: str,
    tree: Mapping[str, HierarchyNode],
    *,
    by: Mapping[str, str] | None = None,
    public: bool = False,
) -> Table:
    """A hierarchy under one filter, e.g. ``{"SEN": {"ASD": 3, "SLCN": 40}, "No SEN": 900}``: leaves are counts,
    every inner node and the ``Total`` (the root) is the true sum of its children. ``by``: fixed filters of the
    whole table, part of every key."""
    if filter_name in (by or {}):
        raise TableError(f"table {name!r}: the hierarchy's filter is also a fixed filter")
    cells: list[Cell] = []
    constraints: list[Constraint] = []
    labels: set[str] = set()

    def add(label: str | None, node: HierarchyNode) -> int:
        key = cell_key(measure, {**(by or {}), **({filter_name: label} if label is not None else {})})
        if label is not None:
            if label in labels or label == TOTAL:
                raise TableError(f"table {name!r}: label {label!r} is repeated or reserved")
            labels.add(label)
        if isinstance(node, Mapping):
            if not node:
                raise TableError(f"table {name!r}: an inner node has no children")
            value = sum(add(child, sub) for child, sub in node.items())
            children = tuple(cell_key(measure, {**(by or {}), filter_name: child}) for child in node)
            constraints.append(Constraint(key, children))
            cells.append(Cell(key, value, True))
            return value
        cells.append(Cell(key, node))
        return node

    add(None, tree)
    return Table(name, tuple(cells), tuple(constraints), public)
