"""What a reader who kept an earlier release can subtract (pipeline/suppression/differences.py): the release counted
to 30 June from the one counted to 30 September, a figure from its corrected value."""

import pytest

from pipeline.suppression import TableSet, hierarchy_table, suppress, verify
from pipeline.suppression.differences import DIFFERENCES, EARLIER_FIGURES, counted_to, difference_tables

JUNE, SEPTEMBER = "counted_to=2023-06-30", "counted_to=2023-09-30"


def decisions(day: str, within: int, later: int):
    """One year's decisions whether to assess, counted to ``day``: within 6 weeks, later, and their total."""
    by = {"counted_to": day.removeprefix("counted_to="), "time_period": "2023"}
    counts = {"Within 6 weeks": within, "Later": later}
    return hierarchy_table(f"decisions {day}", "events", "timeliness", counts, by=by)


def key(day: str, timeliness: str | None = None):
    return ("events", day, "time_period=2023", *([f"timeliness={timeliness}"] if timeliness else []))


def difference(day: str, since: str, timeliness: str | None = None, n: int = 0):
    """The key of the difference between this release's cell and figure ``n`` an earlier release showed."""
    return ("events", *sorted((*key(day, timeliness)[1:], f"shown={n}", f"difference_from={since}")))


def shown(day: str, within: int, later: int) -> dict:
    """What a release counted to ``day`` showed, as publish.earlier_published_counts gives it."""
    return {key(day, "Within 6 weeks"): {within}, key(day, "Later"): {later}, key(day): {within + later}}


def test_counted_to_splits_off_the_day():
    assert counted_to(key(JUNE, "Later")) == ("2023-06-30", ("events", "time_period=2023", "timeliness=Later"))
    assert counted_to(("pupils", "time_period=2023")) is None
    assert counted_to(("pupils", JUNE, SEPTEMBER)) is None  # two days: not one count to a day


def test_each_earlier_figure_is_tied_to_this_release_by_its_difference():
    tables = TableSet([decisions(SEPTEMBER, 20, 8)])
    public, hidden = difference_tables(tables, shown(JUNE, 18, 8))
    assert public.name == EARLIER_FIGURES and public.public
    assert hidden.name == DIFFERENCES and hidden.hidden and hidden.protected
    assert {cell.key: cell.value for cell in hidden.cells} == {
        difference(SEPTEMBER, "2023-06-30", "Within 6 weeks"): 2,
        difference(SEPTEMBER, "2023-06-30", "Later"): 0,  # equal, still tied: September's count is at least June's
        difference(SEPTEMBER, "2023-06-30"): 2,
    }
    for constraint in hidden.constraints:  # September's count = June's figure + the difference
        assert constraint.total in tables.published and not constraint.outcome
    TableSet([*tables.tables, public, hidden])  # every constraint adds up (TableSet checks it)


def test_a_figure_shown_with_two_values_gives_two_differences():
    tables = TableSet([decisions(SEPTEMBER, 20, 8)])
    earlier = {key(JUNE): {25, 26}}  # a corrected June extract: both figures are out
    public, hidden = difference_tables(tables, earlier)
    assert sorted(cell.value for cell in public.cells) == [25, 26]
    assert sorted(cell.value for cell in hidden.cells) == [2, 3]


def test_a_corrected_figure_of_the_same_cell_is_tied_by_its_difference():
    tables = TableSet([decisions(JUNE, 18, 8)])
    earlier = {key(JUNE, "Later"): {8}, key(JUNE): {24, 26}, key(JUNE, "Within 6 weeks"): {16, 18}}
    public, hidden = difference_tables(tables, earlier)
    # 8 and 26 (Later, the total) are the figures shown now: earlier_release_table's, not differences
    assert {cell.key: cell.value for cell in hidden.cells} == {
        difference(JUNE, "the same cell"): 2,
        difference(JUNE, "the same cell", "Within 6 weeks"): 2,
    }
    larger = {c.total for c in hidden.constraints}
    assert larger == {key(JUNE), key(JUNE, "Within 6 weeks")}  # both grew since: 26 = 24 + 2, 18 = 16 + 2


def test_a_smaller_count_now_is_the_smaller_side():
    tables = TableSet([decisions(JUNE, 18, 8)])  # an older extract put back, or a correction that removed events
    public, hidden = difference_tables(tables, shown(SEPTEMBER, 20, 8))
    by_total = {c.total: c.parts for c in hidden.constraints}
    assert key(JUNE) in by_total[("events", SEPTEMBER, "shown=0", "time_period=2023")]
    assert {cell.value for cell in hidden.cells} == {0, 2}


def test_no_difference_for_another_period_or_a_public_cell():
    tables = TableSet([decisions(SEPTEMBER, 20, 8)])
    assert difference_tables(tables, {("events", JUNE, "time_period=2022"): {5}}) is None
    assert difference_tables(tables, {key(SEPTEMBER): {28}}) is None  # the figure it has now
    dfe = hierarchy_table("public:dfe", "events", "timeliness", {"Within 6 weeks": 20, "Later": 8},
                          by={"counted_to": "2023-09-30", "time_period": "2023"}, public=True)  # fmt: skip
    with_dfe = TableSet([*tables.tables, dfe])
    assert difference_tables(with_dfe, {key(SEPTEMBER): {27}, key(JUNE): {26}}) is None  # known anyway


@pytest.mark.parametrize("modelled", [True, False], ids=["with differences", "without (fails)"])
def test_a_small_difference_is_protected(modelled):
    """September's 20 and 8 decisions are not small, but with June's 18 and 8 kept, 2 decisions in July to
    September, both within 6 weeks, are. Without the differences nothing is suppressed and the reader subtracts."""
    tables = TableSet([decisions(SEPTEMBER, 20, 8)])
    earlier = shown(JUNE, 18, 8)
    with_differences = TableSet([*tables.tables, *difference_tables(tables, earlier)])
    result = suppress(with_differences if modelled else tables)
    # the reader's attack: everything shown now, and every figure June showed
    attack = verify(with_differences, set(result.suppressed) & with_differences.published)
    step = difference(SEPTEMBER, "2023-06-30")
    if modelled:
        assert key(SEPTEMBER) in result.suppressed and result.safe and attack.safe
        assert attack.intervals[step].width >= 3
    else:
        assert not result.suppressed
        assert not attack.safe and step in attack.pinned


@pytest.mark.parametrize("modelled", [True, False], ids=["with differences", "without (fails)"])
def test_a_correction_that_adds_two_events_is_protected(modelled):
    tables = TableSet([decisions(JUNE, 20, 8)])
    earlier = shown(JUNE, 18, 8)  # the first June extract missed two decisions, both within 6 weeks
    with_differences = TableSet([*tables.tables, *difference_tables(tables, earlier)])
    result = suppress(with_differences if modelled else tables)
    attack = verify(with_differences, set(result.suppressed) & with_differences.published)
    assert attack.safe == modelled
    if not modelled:
        assert difference(JUNE, "the same cell") in attack.pinned
