"""Counts to a later day of the same period: what a reader who kept an earlier release can subtract.

A published count ``counted_to=<day>`` counts the events of its period up to that day (send_ehcna_timeliness,
send_annual_reviews: "2023 to 30 June"). When the extract moves on, the same period is counted to a later day, and
a reader who kept the earlier release subtracts: 31 requests to 30 September less 27 to 30 June is 4 requests in
July to September, a small count no table shows. Each such difference is a hidden cell of the model, tied to the
two counts (``later = earlier + increment``) and protected like any small count; the earlier figure is a public
cell (a reader may have it). Only a difference of at least 0 is a count of events: a smaller later figure (a
corrected extract) is not modelled, as a corrected figure of the same cell is not (``summary.earlier_release_table``).
"""

from collections.abc import Iterable, Mapping

from pipeline.suppression.model import Cell, CellKey, Constraint, Table, TableSet

COUNTED_TO = "counted_to="  # the filter of a count up to a day: the cumulative counts of a period
EARLIER_COUNTS_TO = "public:earlier releases, counted to another day"
INCREMENTS = "hidden:increments between days counted to"


def counted_to(key: CellKey) -> tuple[str, CellKey] | None:
    """The day a cumulative count is counted to and its key without that filter, or None for another count."""
    days = [part for part in key[1:] if part.startswith(COUNTED_TO)]
    if len(days) != 1:
        return None
    return days[0].removeprefix(COUNTED_TO), tuple(part for part in key if part != days[0])


def _key(measure: str, filters: Iterable[str]) -> CellKey:
    return (measure, *sorted(filters))


def increment_tables(tables: TableSet, earlier: Mapping[CellKey, Iterable[int]]) -> tuple[Table, Table] | None:
    """The figures earlier releases showed for a period this release counts to another day (a public table,
    each figure its own cell: ``shown=<n>`` tells apart the figures one cell was shown with), and the increments
    between them and this release's counts (a hidden table, each with its constraint). None when there is none."""
    current: dict[CellKey, CellKey] = {}
    for key in tables.published_keys:
        if (found := counted_to(key)) is not None:
            current[found[1]] = key
    shown: list[Cell] = []
    increments: list[Cell] = []
    constraints: list[Constraint] = []
    for key, values in sorted(earlier.items()):
        found = counted_to(key)
        if found is None or key in tables.values or found[1] not in current:
            continue  # not a cumulative count, a cell of this release (earlier_release_table), or another period
        day, rest = found
        now = current[rest]
        [now_day] = (part.removeprefix(COUNTED_TO) for part in now[1:] if part.startswith(COUNTED_TO))
        for n, value in enumerate(sorted(set(values))):
            old = _key(key[0], (*key[1:], f"shown={n}"))
            first, last = sorted((day, now_day))
            step = _key(rest[0], (*rest[1:], f"counted_from={first}", f"{COUNTED_TO}{last}", f"shown={n}"))
            if now_day > day:
                later, before, difference = now, old, tables.values[now] - value
            else:  # this release counts to an earlier day than a release before it (an older extract put back)
                later, before, difference = old, now, value - tables.values[now]
            if difference < 0:
                continue
            shown.append(Cell(old, value))
            increments.append(Cell(step, difference))
            constraints.append(Constraint(later, (before, step), outcome=False))
    if not increments:
        return None
    return (
        Table(EARLIER_COUNTS_TO, tuple(shown), public=True),
        Table(INCREMENTS, tuple(increments), tuple(constraints), hidden=True),
    )
