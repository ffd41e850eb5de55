"""The guard itself: the LP attacker must catch bad patterns, not only bless good ones. Every expected interval
below is worked out by hand in the comments."""

import math

import pytest

from pipeline.suppression import (
    Cell,
    Constraint,
    InconsistentRelease,
    Interval,
    Table,
    TableSet,
    attack,
    cell_key,
    hierarchy_table,
    intervals,
    primary_suppression,
    two_way_table,
    verify,
)
from pipeline.suppression.attacker import Attacker, connected_groups


def k(**filters):
    return cell_key("pupils", filters)


def table_3x3():
    #            P    S   Sp | total
    #   A        3   20   14 |  37
    #   B       12   30    9 |  51
    #   C        8    7   40 |  55
    #   total   23   57   63 | 143
    return TableSet([two_way_table("t", "pupils", "need", ["A", "B", "C"], "phase", ["P", "S", "Sp"],
                                   [[3, 20, 14], [12, 30, 9], [8, 7, 40]])])  # fmt: skip


def test_primary_only_suppression_on_a_table_with_margins_is_reported_unsafe():
    tables = table_3x3()
    pattern = primary_suppression(tables)
    assert list(pattern) == [k(need="A", phase="P")]
    check = verify(tables, pattern)
    # A-P = row total 37 - 20 - 14 = 3 exactly
    assert check.intervals[k(need="A", phase="P")] == Interval(3, 3)
    assert check.pinned == (k(need="A", phase="P"),)
    assert not check.safe


def test_a_row_pair_is_still_pinned_by_the_columns():
    tables = table_3x3()
    pattern = {k(need="A", phase="P"), k(need="A", phase="Sp")}
    check = verify(tables, pattern)
    # each column total pins its cell: P: 23 - 12 - 8 = 3; Sp: 63 - 9 - 40 = 14
    assert check.intervals == {k(need="A", phase="P"): Interval(3, 3), k(need="A", phase="Sp"): Interval(14, 14)}
    assert not check.safe


def test_a_rectangle_gives_the_hand_computed_intervals():
    tables = table_3x3()
    cells = [k(need="A", phase="P"), k(need="A", phase="Sp"), k(need="B", phase="P"), k(need="B", phase="Sp")]
    check = verify(tables, cells)
    # moving t children round the rectangle: A-P + t, A-Sp - t, B-Sp + t, B-P - t, all >= 0:
    # t in [-min(3, 9), min(14, 12)] = [-3, 12]
    assert check.intervals == {
        k(need="A", phase="P"): Interval(0, 15),
        k(need="A", phase="Sp"): Interval(2, 17),
        k(need="B", phase="P"): Interval(0, 15),
        k(need="B", phase="Sp"): Interval(6, 21),
    }
    assert check.safe


def test_two_suppressed_cells_summing_to_two_are_pinned():
    # one row, total published: 1 + 1 + 20 = 22; the two 1s can only be split 0+2, 1+1 or 2+0
    table = two_way_table("t", "pupils", "need", ["A"], "phase", ["P", "S", "Sp"], [[1, 1, 20]])
    tables = TableSet([table])
    pattern = [k(need="A", phase="P"), k(need="A", phase="S"), k(phase="P"), k(phase="S")]
    assert set(primary_suppression(tables)) == set(pattern)
    check = verify(tables, pattern)
    assert check.intervals[k(need="A", phase="P")] == Interval(0, 2)
    assert check.intervals[k(need="A", phase="S")] == Interval(0, 2)
    assert set(check.pinned) == set(pattern)


def test_a_public_total_pins_a_hierarchy():
    # all pupils 1000 is public (DfE); No SEN 900 is published, so SEN = 100 even when we suppress it,
    # and ASD = 100 - 40 - 57 = 3
    ours = hierarchy_table("needs", "pupils", "group", {"SEN": {"ASD": 3, "SLCN": 40, "MLD": 57}, "No SEN": 900})
    dfe = Table("dfe", (Cell(k(), 1000, True),), public=True)
    tables = TableSet([ours, dfe])
    check = verify(tables, [k(group="ASD"), k(group="SEN")])
    assert check.intervals == {k(group="ASD"): Interval(3, 3), k(group="SEN"): Interval(100, 100)}
    assert not check.safe
    # without DfE's figure the same pattern leaves SEN and ASD open upwards
    alone = verify(TableSet([ours]), [k(group="ASD"), k(group="SEN"), k()])
    assert alone.intervals[k(group="ASD")] == Interval(0, math.inf)


def test_the_attacker_works_from_published_figures_alone():
    tables = table_3x3()
    cells = [k(need="A", phase="P"), k(need="A", phase="Sp"), k(need="B", phase="P"), k(need="B", phase="Sp")]
    published = {key: value for key, value in tables.values.items() if key not in cells}
    # the same intervals as with the true values: the suppressed counts never enter the LP
    assert intervals(tables.constraints, published, cells) == verify(tables, cells).intervals
    wrong = dict(published)
    wrong[k(need="A")] = 0  # a row total below what its published part (20) needs
    with pytest.raises(InconsistentRelease) as raised:
        intervals(tables.constraints, wrong, cells)
    assert "20" not in str(raised.value)


def test_published_figures_that_do_not_add_up_are_inconsistent():
    tables = table_3x3()
    published = dict(tables.values)
    published[k()] = 144
    with pytest.raises(InconsistentRelease, match="do not add up"):
        intervals(tables.constraints, published, [])


def test_the_integer_attacker_agrees_on_two_way_tables():
    tables = table_3x3()
    cells = [k(need="A", phase="P"), k(need="A", phase="Sp"), k(need="B", phase="P"), k(need="B", phase="Sp")]
    assert attack(tables, cells, integer=True) == attack(tables, cells)
    assert attack(tables, [k(need="A", phase="P")], integer=True) == {k(need="A", phase="P"): Interval(3, 3)}


def test_the_attacker_knows_counts_are_whole_numbers():
    # x + y = 1 and x - y = 0 have only the fractional solution x = y = 0.5: the LP interval [0.5, 0.5] rounds
    # to nothing and no whole-number solution exists, so both attackers refuse the figures
    constraints = [Constraint(("s",), (("x",), ("y",))), Constraint(("x",), (("y",),))]
    for integer in (False, True):
        with pytest.raises(InconsistentRelease):
            intervals(constraints, {("s",): 1}, [("x",), ("y",)], integer=integer)
    # with s = 2 the LP's only point x = y = 1 is whole: both attackers pin x
    for integer in (False, True):
        assert intervals(constraints, {("s",): 2}, [("x",), ("y",)], integer=integer)[("x",)] == Interval(1, 1)
    # a suppressed cell in no equation at all is unbounded
    assert intervals([], {}, [("z",)]) == {("z",): Interval(0, math.inf)}


def test_verify_catches_a_published_small_count():
    tables = table_3x3()
    check = verify(tables, [])
    assert check.unsuppressed_primary == (k(need="A", phase="P"),)
    assert not check.safe
    with pytest.raises(ValueError, match="not a cell"):
        verify(tables, [k(need="Z")])


def test_public_cells_are_known_not_targets():
    ours = hierarchy_table("needs", "pupils", "group", {"A": 3, "B": 1})
    dfe = Table("dfe", (Cell(k(), 4, True),), public=True)
    found = attack(TableSet([ours, dfe]), [k(group="A"), k(group="B"), k()])
    # the public total 4 bounds both parts: A in [0, 4], B in [0, 4]; the total itself is known, not attacked
    assert found == {k(group="A"): Interval(0, 4), k(group="B"): Interval(0, 4)}


def test_a_kept_model_gives_each_cell_its_own_interval_in_any_order():
    # the rectangle above plus a second, unlinked table: one HiGHS model per group, re-solved warm from cell to
    # cell, must give every cell the interval a model built for that cell alone gives
    tables = TableSet([
        *table_3x3().tables,
        two_way_table("u", "plans", "sex", ["F", "M"], "age", ["P", "S"], [[4, 10], [7, 2]]),
    ])  # fmt: skip
    plans = [cell_key("plans", {"sex": sex, "age": age}) for sex in "FM" for age in "PS"]
    cells = [k(need="A", phase="P"), k(need="A", phase="Sp"), k(need="B", phase="P"), k(need="B", phase="Sp"), *plans]
    known = {key: value for key, value in tables.values.items() if key not in cells}
    alone = {key: intervals(tables.constraints, known, cells, targets=[key])[key] for key in cells}
    attacker = Attacker(tables.constraints, known, cells)
    for order in (cells, cells[::-1], cells[::2] + cells[1::2]):
        assert {key: attacker.interval(key) for key in order} == alone
    assert alone[k(need="B", phase="Sp")] == Interval(6, 21)  # worked out by hand above
    # F-P 4 + t, F-S 10 - t, M-P 7 - t, M-S 2 + t, all >= 0: t in [-2, 7], so M-S in [0, 9]
    assert alone[plans[3]] == Interval(0, 9)


def test_connected_groups_link_variables_through_shared_rows():
    # rows {0, 1} and {1, 2} link 0-1-2; row {4} is alone with 4; variable 3 is in no row
    groups = connected_groups(5, [[0, 1], [4], [1, 2]])
    assert groups == [([0, 1, 2], [0, 2]), ([3], []), ([4], [1])]


def test_a_total_free_above_is_unbounded_and_a_negative_part_is_inconsistent():
    # total = a + b with a = 10 published and total, b suppressed: total is at least 10 and has no upper bound
    total, a, b = ("total",), ("a",), ("b",)
    constraints = [Constraint(total, (a, b))]
    for integer in (False, True):
        assert intervals(constraints, {a: 10}, [total, b], integer=integer) == {
            total: Interval(10, math.inf),
            b: Interval(0, math.inf),
        }
    # total = 5 published: b would have to be -5
    with pytest.raises(InconsistentRelease, match="no count"):
        intervals(constraints, {total: 5, a: 10}, [b])


def test_a_solver_that_stops_before_an_answer_fails_the_attack_rather_than_guess(monkeypatch):
    """HiGHS stopped by a limit (here a time limit of 0 s) has no optimum, and no proof there is none: the attacker
    raises, after solving once more from scratch, instead of reading "no answer" as unbounded or infeasible.

    The code sets no limit of its own: the test gives every HiGHS model the attacker builds a time limit of 0 s (a
    subclass of the binding it constructs); the solver and its status are real."""
    import highspy

    from pipeline.suppression import attacker as attacker_module

    class HighsWithNoTime(highspy._Highs):
        def __init__(self):
            super().__init__()
            self.setOptionValue("time_limit", 0.0)

    monkeypatch.setattr(attacker_module.highspy, "_Highs", HighsWithNoTime)
    tables = table_3x3()
    cells = [k(need="A", phase="P"), k(need="A", phase="Sp"), k(need="B", phase="P"), k(need="B", phase="Sp")]
    known = {key: value for key, value in tables.values.items() if key not in cells}
    with pytest.raises(RuntimeError, match=r"^the solver did not finish \(Time limit reached\)$"):
        intervals(tables.constraints, known, cells)
    monkeypatch.undo()
    assert intervals(tables.constraints, known, cells)[k(need="B", phase="Sp")] == Interval(6, 21)
