import re

import pandas as pd
import pytest

from pipeline.suppression import (
    Cell,
    Constraint,
    Table,
    TableError,
    TableSet,
    cell_key,
    hierarchy_table,
    publish_frame,
    suppress,
    table_from_frame,
    two_way_table,
)
from pipeline.suppression.attacker import Attacker, intervals
from pipeline.suppression.derived import suppress_average
from pipeline.suppression.rules import SuppressionRules


def test_cell_key_sorts_filters_and_leaves_totals_out():
    assert cell_key("pupils", {"phase": "Primary", "need": "ASD"}) == ("pupils", "need=ASD", "phase=Primary")
    assert cell_key("pupils", {"phase": "Total", "need": "ASD"}) == ("pupils", "need=ASD")
    assert cell_key("pupils", {"phase": "Total"}) == ("pupils",)
    with pytest.raises(TableError):
        cell_key("pupils", {"a=b": "x"})


def test_two_way_table_has_true_margins():
    table = two_way_table("t", "pupils", "need", ["A", "B"], "phase", ["P", "S", "X"], [[3, 20, 0], [12, 30, 9]])
    values = {cell.key: cell.value for cell in table.cells}
    assert values[("pupils", "need=A")] == 23
    assert values[("pupils", "need=B")] == 51
    assert values[("pupils", "phase=P")] == 15
    assert values[("pupils", "phase=S")] == 50
    assert values[("pupils", "phase=X")] == 9
    assert values[("pupils",)] == 74
    assert len(table.cells) == 2 * 3 + 2 + 3 + 1
    assert {c.key for c in table.cells if c.is_total} == {
        ("pupils", "need=A"), ("pupils", "need=B"), ("pupils", "phase=P"), ("pupils", "phase=S"),
        ("pupils", "phase=X"), ("pupils",),
    }  # fmt: skip
    assert len(table.constraints) == 2 + 3 + 2
    TableSet([table])  # consistent


def test_fixed_filters_are_part_of_every_key():
    table = two_way_table("t", "pupils", "need", ["A"], "phase", ["P"], [[7]], by={"time_period": "202223"})
    assert {cell.key for cell in table.cells} == {
        ("pupils", "need=A", "phase=P", "time_period=202223"), ("pupils", "need=A", "time_period=202223"),
        ("pupils", "phase=P", "time_period=202223"), ("pupils", "time_period=202223"),
    }  # fmt: skip
    tree = hierarchy_table("h", "pupils", "need", {"A": 1, "B": 2}, by={"phase": "P"})
    assert {cell.key for cell in tree.cells} == {("pupils", "need=A", "phase=P"), ("pupils", "need=B", "phase=P"),
                                                 ("pupils", "phase=P")}  # fmt: skip
    with pytest.raises(TableError):
        two_way_table("t", "pupils", "need", ["A"], "phase", ["P"], [[7]], by={"need": "A"})
    with pytest.raises(TableError):
        hierarchy_table("h", "pupils", "need", {"A": 1}, by={"need": "A"})


def test_hierarchy_table_sums_inner_nodes():
    table = hierarchy_table("h", "pupils", "group", {"SEN": {"ASD": 3, "SLCN": 40}, "No SEN": 900})
    values = {cell.key: cell.value for cell in table.cells}
    assert values[("pupils", "group=SEN")] == 43
    assert values[("pupils",)] == 943
    assert Constraint(("pupils",), (("pupils", "group=SEN"), ("pupils", "group=No SEN"))) in table.constraints
    with pytest.raises(TableError):
        hierarchy_table("h", "pupils", "group", {"A": {"A": 1}})


def test_parts_that_do_not_add_up_are_rejected_without_the_counts():
    table = Table(
        "broken",
        (Cell(("pupils",), 10, True), Cell(("pupils", "need=ASD"), 3), Cell(("pupils", "need=MLD"), 4)),
        (Constraint(("pupils",), (("pupils", "need=ASD"), ("pupils", "need=MLD"))),),
    )
    with pytest.raises(TableError) as raised:
        TableSet([table])
    message = str(raised.value)
    assert "broken" in message and "pupils" in message
    assert not any(digit in message for digit in "0123456789")


def test_a_cell_with_two_counts_is_rejected():
    first = Table("a", (Cell(("pupils",), 10),))
    second = Table("b", (Cell(("pupils",), 11),))
    with pytest.raises(TableError, match="'a' and 'b'"):
        TableSet([first, second])
    assert TableSet([first, Table("b", (Cell(("pupils",), 10),))]).values == {("pupils",): 10}


@pytest.mark.parametrize("value", [-1, 2.5, float("nan"), None, True])
def test_a_count_is_a_whole_number_of_at_least_zero(value):
    with pytest.raises(TableError):
        Cell(("pupils",), value)


def test_constraints_must_name_known_distinct_cells():
    with pytest.raises(TableError, match="unknown cell"):
        TableSet([Table("a", (Cell(("t",), 1),), (Constraint(("t",), (("p",),)),))])
    with pytest.raises(TableError, match="repeats"):
        Constraint(("t",), (("p",), ("p",)))
    with pytest.raises(TableError, match="^two tables of a release share a name$"):
        TableSet([Table("a", ()), Table("a", ())])


def test_order_of_tables_and_cells_does_not_matter():
    one = two_way_table("one", "pupils", "need", ["A", "B"], "phase", ["P", "S"], [[3, 20], [12, 30]])
    two = hierarchy_table("two", "staff", "role", {"x": 4, "y": 9})
    reordered = Table("one", tuple(reversed(one.cells)), tuple(reversed(one.constraints)))
    forward, backward = TableSet([one, two]), TableSet([two, reordered])
    assert forward.keys == backward.keys
    assert forward.constraints == backward.constraints
    assert forward.values == backward.values


def ees_frame() -> pd.DataFrame:
    """An EES-style mart: provision (EHCP and SEN support within SEN) x phase, totals spelled Total."""
    counts = {("EHCP", "Primary"): 3, ("EHCP", "Secondary"): 20, ("SEN support", "Primary"): 40,
              ("SEN support", "Secondary"): 37, ("No SEN", "Primary"): 500, ("No SEN", "Secondary"): 400}  # fmt: skip
    rows = []
    for phase in ("Primary", "Secondary"):
        for provision in ("EHCP", "SEN support", "No SEN"):
            rows.append((provision, phase, counts[provision, phase]))
        rows.append(("SEN", phase, counts["EHCP", phase] + counts["SEN support", phase]))
        rows.append(("Total", phase, sum(counts[p, phase] for p in ("EHCP", "SEN support", "No SEN"))))
    for provision in ("EHCP", "SEN support", "No SEN"):
        rows.append((provision, "Total", counts[provision, "Primary"] + counts[provision, "Secondary"]))
    rows.append(("SEN", "Total", 3 + 20 + 40 + 37))
    rows.append(("Total", "Total", 1000))
    frame = pd.DataFrame(rows, columns=["sen_provision", "phase", "pupils"])
    frame.insert(0, "time_period", "202223")
    return frame


HIERARCHY = {"sen_provision": {"SEN": ["EHCP", "SEN support"]}}


def test_table_from_frame_derives_totals_and_hierarchy():
    table = table_from_frame(
        "provision", ees_frame(), count="pupils", filters=["sen_provision", "phase"], by=["time_period"],
        hierarchies=HIERARCHY,
    )  # fmt: skip
    tables = TableSet([table])  # every derived equation holds on the true counts
    tp = "time_period=202223"

    def key(**filters):
        return cell_key("pupils", {"time_period": "202223", **filters})

    constraints = {(c.total, c.parts) for c in tables.constraints}
    # Total provision = SEN + No SEN (EHCP and SEN support sit under SEN), per phase and overall
    primary_parts = [key(phase="Primary", sen_provision="SEN"), key(phase="Primary", sen_provision="No SEN")]
    assert (key(phase="Primary"), tuple(sorted(primary_parts))) in constraints
    assert (key(sen_provision="SEN"), tuple(sorted([key(sen_provision="EHCP"), key(sen_provision="SEN support")]))) in (
        constraints
    )
    assert (key(), tuple(sorted([key(phase="Primary"), key(phase="Secondary")]))) in constraints
    # for each of the 3 phase values: Total and SEN over provision; for each of the 5 provision values: Total over phase
    assert len(constraints) == 3 * 2 + 5
    assert all(tp in k for k in tables.keys)
    assert key(phase="Primary", sen_provision="SEN") in tables.totals
    assert key(phase="Primary", sen_provision="EHCP") not in tables.totals


def test_table_from_frame_without_the_parent_row_puts_children_under_total():
    frame = ees_frame()
    frame = frame[frame["sen_provision"] != "SEN"]
    tables = TableSet([table_from_frame("p", frame, count="pupils", filters=["sen_provision", "phase"],
                                        by=["time_period"], hierarchies=HIERARCHY)])  # fmt: skip
    grand = cell_key("pupils", {"time_period": "202223"})
    parts = {c.parts for c in tables.constraints if c.total == grand}
    assert tuple(sorted(cell_key("pupils", {"time_period": "202223", "sen_provision": p})
                        for p in ("EHCP", "SEN support", "No SEN"))) in parts  # fmt: skip


def test_table_from_frame_names_row_and_column_never_the_value():
    frame = ees_frame()
    frame["pupils"] = frame["pupils"].astype(float)
    frame.loc[4, "pupils"] = 2.5
    with pytest.raises(TableError) as raised:
        table_from_frame("p", frame, count="pupils", filters=["sen_provision", "phase"], by=["time_period"])
    assert "row 4" in str(raised.value) and "'pupils'" in str(raised.value) and "2.5" not in str(raised.value)
    frame = ees_frame()
    frame.loc[1, "phase"] = None
    with pytest.raises(TableError, match="row 1, column 'phase'"):
        table_from_frame("p", frame, count="pupils", filters=["sen_provision", "phase"])
    with pytest.raises(TableError, match="repeats the filters of row 0"):
        table_from_frame("p", pd.concat([ees_frame().head(1)] * 2), count="pupils", filters=["sen_provision", "phase"])
    with pytest.raises(TableError, match="'la_code' is missing"):
        table_from_frame("p", ees_frame(), count="pupils", filters=["phase"], by=["la_code"])


def test_publish_frame_shows_the_pattern_as_text():
    frame = ees_frame()
    spec = {"count": "pupils", "filters": ["sen_provision", "phase"], "by": ["time_period"]}
    tables = TableSet([table_from_frame("provision", frame, hierarchies=HIERARCHY, **spec)])
    result = suppress(tables)
    published = publish_frame(frame, result, **spec)
    assert published["pupils"].map(type).eq(str).all()
    ehcp_primary = (published["sen_provision"] == "EHCP") & (published["phase"] == "Primary")
    assert published.loc[ehcp_primary, "pupils"].tolist() == ["c"]
    assert not set(published["pupils"]) & {"1", "2", "3", "4", "5", "", "nan"}
    shown = published["pupils"] != "c"
    assert published.loc[shown, "pupils"].astype(int).tolist() == frame.loc[shown, "pupils"].tolist()
    assert (published["pupils"] == "c").sum() == len(result.reasons)


@pytest.mark.parametrize(
    ("build", "error", "message"),
    [
        (lambda: Cell((), 1), TableError, "a cell key is a non-empty tuple of text"),
        (lambda: Cell(("pupils", 3), 1), TableError, "a cell key is a non-empty tuple of text"),
        (lambda: Constraint(("t",), ()), TableError, "has no parts"),
        (lambda: Table("", ()), TableError, "a table needs a name"),
        (lambda: Table("t", (), public=True, hidden=True), TableError, "a public table cannot be hidden"),
        (lambda: Table("t", (Cell(("a",), 1), Cell(("a",), 1))), TableError, "cell a appears twice"),
        (lambda: TableSet([Table("a", (Cell(("k",), 1),)), Table("h", (Cell(("k",), 1),), hidden=True)]), TableError,
         "cell k is in a hidden table and also published"),
        (lambda: two_way_table("t", "pupils", "need", ["A", "B"], "phase", ["P"], [[1]]), TableError,
         "counts are not 2 rows of 1 columns"),
        (lambda: two_way_table("t", "pupils", "need", ["A", "A"], "phase", ["P"], [[1], [2]]), TableError,
         "repeated row or column label"),
        (lambda: hierarchy_table("h", "pupils", "need", {"SEN": {}}), TableError, "an inner node has no children"),
        (lambda: table_from_frame("t", pd.DataFrame({"year": ["Total"], "need": ["A"], "pupils": [3]}), count="pupils",
                                  filters=["need"], by=["year"]), TableError, "column 'year': a 'by' column cannot"),
        (lambda: TableSet([]).table("missing"), KeyError, "missing"),
        (lambda: SuppressionRules(protection_width=-1), ValueError, "protection_width cannot be negative"),
        (lambda: SuppressionRules(total_weight=0.5), ValueError, "total_weight must be >= 1"),
        (lambda: suppress_average(12.5, -1), ValueError, "a count of children cannot be negative"),
        (lambda: intervals([], {("a",): 1}, [("a",)]), ValueError, "cell a is both published and suppressed"),
        (lambda: intervals([Constraint(("t",), (("a",), ("b",)))], {("t",): 3}, [("a",)]), ValueError,
         "names cell b, which is neither published nor suppressed"),
        (lambda: intervals([], {}, [("a",)], targets=[("b",)]), ValueError, "a target cell is not among the unknown"),
        (lambda: intervals([], {}, [("a",)], targets=[("a",), ("b",)]), ValueError,
         "a target cell is not among the unknown"),
        (lambda: Attacker([], {}, [("a",)]).interval(("b",)), ValueError, "a target cell is not among the unknown"),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)  # fmt: skip
def test_a_model_that_is_not_a_release_is_refused_naming_what_is_wrong(build, error, message):
    with pytest.raises(error, match=re.escape(message)):
        build()
