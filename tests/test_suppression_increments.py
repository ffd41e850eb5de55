"""Counts to a later day of the same period (pipeline/suppression/increments.py): a reader who kept the release
counted to 30 June subtracts it from the one counted to 30 September."""

import pytest

from pipeline.suppression import TableSet, hierarchy_table, suppress, verify
from pipeline.suppression.increments import EARLIER_COUNTS_TO, INCREMENTS, counted_to, increment_tables

JUNE, SEPTEMBER = "counted_to=2023-06-30", "counted_to=2023-09-30"


def decisions(day: str, within: int, later: int):
    """One year's decisions whether to assess, counted to ``day``: within 6 weeks, later, and their total."""
    by = {"counted_to": day.removeprefix("counted_to="), "time_period": "2023"}
    counts = {"Within 6 weeks": within, "Later": later}
    return hierarchy_table(f"decisions {day}", "events", "timeliness", counts, by=by)


def key(day: str, timeliness: str | None = None):
    return ("events", day, "time_period=2023", *([f"timeliness={timeliness}"] if timeliness else []))


def shown(day: str, within: int, later: int) -> dict:
    """What a release counted to ``day`` showed, as publish.earlier_published_counts gives it."""
    return {key(day, "Within 6 weeks"): {within}, key(day, "Later"): {later}, key(day): {within + later}}


def test_counted_to_splits_off_the_day():
    assert counted_to(key(JUNE, "Later")) == ("2023-06-30", ("events", "time_period=2023", "timeliness=Later"))
    assert counted_to(("pupils", "time_period=2023")) is None
    assert counted_to(("pupils", JUNE, SEPTEMBER)) is None  # two days: not one count to a day


def test_each_earlier_figure_is_tied_to_this_release_by_its_increment():
    tables = TableSet([decisions(SEPTEMBER, 20, 8)])
    public, hidden = increment_tables(tables, shown(JUNE, 18, 8))
    assert public.name == EARLIER_COUNTS_TO and public.public
    assert hidden.name == INCREMENTS and hidden.hidden and hidden.protected
    steps = {cell.key: cell.value for cell in hidden.cells}
    assert steps == {
        ("events", "counted_from=2023-06-30", SEPTEMBER, "shown=0", "time_period=2023", "timeliness=Within 6 weeks"): 2,
        ("events", "counted_from=2023-06-30", SEPTEMBER, "shown=0", "time_period=2023", "timeliness=Later"): 0,
        ("events", "counted_from=2023-06-30", SEPTEMBER, "shown=0", "time_period=2023"): 2,
    }
    for constraint in hidden.constraints:  # September's count = June's figure + the increment
        assert constraint.total in tables.published and not constraint.outcome
    TableSet([*tables.tables, public, hidden])  # every constraint adds up (TableSet checks it)


def test_a_figure_shown_with_two_values_gives_two_increments():
    tables = TableSet([decisions(SEPTEMBER, 20, 8)])
    earlier = {key(JUNE): {25, 26}}  # a corrected June extract: both figures are out
    public, hidden = increment_tables(tables, earlier)
    assert sorted(cell.value for cell in public.cells) == [25, 26]
    assert sorted(cell.value for cell in hidden.cells) == [2, 3]


def test_no_increment_for_a_smaller_later_count_another_period_or_a_cell_of_this_release():
    tables = TableSet([decisions(SEPTEMBER, 20, 8)])
    assert increment_tables(tables, {key(JUNE): {30}}) is None  # 28 < 30: a correction, not a count of events
    other_year = {("events", JUNE, "time_period=2022"): {5}}
    assert increment_tables(tables, other_year) is None
    assert increment_tables(tables, {key(SEPTEMBER): {28}}) is None  # the same cell: earlier_release_table's


def test_an_older_extract_put_back_is_the_earlier_count():
    tables = TableSet([decisions(JUNE, 18, 8)])
    public, hidden = increment_tables(tables, shown(SEPTEMBER, 20, 8))
    by_total = {c.total: c.parts for c in hidden.constraints}
    assert key(JUNE) in by_total[("events", SEPTEMBER, "shown=0", "time_period=2023")]
    assert {cell.value for cell in hidden.cells} == {0, 2}


@pytest.mark.parametrize("modelled", [True, False], ids=["with increments", "without (fails)"])
def test_a_small_increment_is_protected(modelled):
    """September's 20 and 8 decisions are not small, but with June's 18 and 8 kept, 2 decisions in July to
    September, both within 6 weeks, are. Without the increments nothing is suppressed and the reader subtracts."""
    tables = TableSet([decisions(SEPTEMBER, 20, 8)])
    earlier = shown(JUNE, 18, 8)
    with_increments = TableSet([*tables.tables, *increment_tables(tables, earlier)])
    result = suppress(with_increments if modelled else tables)
    # the reader's attack: everything shown now, and every figure June showed
    attack = verify(with_increments, set(result.suppressed) & with_increments.published)
    step = ("events", "counted_from=2023-06-30", SEPTEMBER, "shown=0", "time_period=2023")
    if modelled:
        assert key(SEPTEMBER) in result.suppressed and result.safe and attack.safe
        assert attack.intervals[step].width >= 3
    else:
        assert not result.suppressed
        assert not attack.safe and step in attack.pinned
