"""What a reader who kept an earlier release can subtract: the difference between a count and the figures earlier
releases showed for the same children at another time.

- A count to a day (``counted_to=<day>``: send_ehcna_timeliness, send_annual_reviews count the year still running
  to the extract date) is counted to a later day when the extract moves on: 31 requests to 30 September less 27 to
  30 June is 4 requests in July to September, a count no table shows.
- A count shown before with another value (a corrected extract, a financial year still running without a
  ``counted_to``): 42 pupils now less 40 before is 2 pupils the correction added.

Each such difference is a hidden cell of the model, tied to the two figures (``larger = smaller + difference``) and
protected like any small count; the earlier figure is a public cell (a reader may have kept it). A count to another
day is tied even when the two are equal: a count to a later day is at least the earlier one, which a reader knows.
The same cell shown before with the value it has now is ``summary.earlier_release_table``'s.
"""

from collections.abc import Iterable, Mapping

from pipeline.suppression.model import Cell, CellKey, Constraint, Table, TableSet

COUNTED_TO = "counted_to="  # the filter of a count up to a day: the cumulative counts of a period
EARLIER_FIGURES = "public:earlier releases, other figures"
DIFFERENCES = "hidden:differences from earlier releases"


def counted_to(key: CellKey) -> tuple[str, CellKey] | None:
    """The day a cumulative count is counted to and its key without that filter, or None for another count."""
    days = [part for part in key[1:] if part.startswith(COUNTED_TO)]
    if len(days) != 1:
        return None
    return days[0].removeprefix(COUNTED_TO), tuple(part for part in key if part != days[0])


def _key(measure: str, filters: Iterable[str]) -> CellKey:
    return (measure, *sorted(filters))


def _same_children(tables: TableSet, key: CellKey, periods: Mapping[CellKey, CellKey]) -> CellKey | None:
    """The cell of this release that counts what an earlier release's ``key`` counted: the same cell, or the same
    period counted to another day. None for a public cell of this release (known already) or no such cell."""
    if key in tables.values:
        return key if key in tables.published and key not in tables.public else None
    found = counted_to(key)
    return periods.get(found[1]) if found is not None else None


def difference_tables(tables: TableSet, earlier: Mapping[CellKey, Iterable[int]]) -> tuple[Table, Table] | None:
    """The figures earlier releases showed for what this release counts, other than its count now (a public
    table, each figure its own cell: ``shown=<n>`` tells apart the figures one cell was shown with), and the
    differences between them and this release's counts (a hidden table, each with its constraint). None when
    there is none."""
    periods: dict[CellKey, CellKey] = {}
    for key in tables.published_keys:
        if key not in tables.public and (found := counted_to(key)) is not None:
            periods[found[1]] = key
    shown: list[Cell] = []
    differences: list[Cell] = []
    constraints: list[Constraint] = []
    for key, values in sorted(earlier.items()):
        now = _same_children(tables, key, periods)
        if now is None:
            continue
        count = tables.values[now]
        since = "the same cell" if key == now else counted_to(key)[0]  # another key: the same period to a day
        for n, value in enumerate(sorted(set(values))):
            if key == now and value == count:
                continue  # the figure shown before is this one (earlier_release_table)
            old = _key(key[0], (*key[1:], f"shown={n}"))
            difference = _key(now[0], (*now[1:], f"shown={n}", f"difference_from={since}"))
            larger, smaller = (now, old) if count >= value else (old, now)
            shown.append(Cell(old, value))
            differences.append(Cell(difference, abs(count - value)))
            constraints.append(Constraint(larger, (smaller, difference), outcome=False))
    if not differences:
        return None
    return (
        Table(EARLIER_FIGURES, tuple(shown), public=True),
        Table(DIFFERENCES, tuple(differences), tuple(constraints), hidden=True),
    )
