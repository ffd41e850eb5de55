"""The pattern summary per table and the stored pattern that the next release carries forward."""

import pytest

from pipeline.suppression import (
    CARRIED_FORWARD,
    PRIMARY,
    SECONDARY,
    Cell,
    Table,
    TableSet,
    cell_key,
    hierarchy_table,
    key_from_text,
    key_to_text,
    keys_from_records,
    pattern_records,
    pattern_summary,
    summary_records,
    suppress,
    two_way_table,
)


def k(**filters):
    return cell_key("pupils", filters)


def release():
    #   need x phase:  A: 3, 50, 7 / B: 60, 70, 80 / C: 8, 90, 100  (grand total 468)
    by_phase = two_way_table("by_phase", "pupils", "need", ["A", "B", "C"], "phase", ["P", "S", "Sp"],
                             [[3, 50, 7], [60, 70, 80], [8, 90, 100]])  # fmt: skip
    # the same need totals again (A 60, B 210, C 198), shared cells, plus DfE's public grand total
    by_need = hierarchy_table("by_need", "pupils", "need", {"A": 60, "B": 210, "C": 198})
    dfe = Table("dfe", (Cell(k(), 468, True),), public=True)
    return TableSet([by_phase, by_need, dfe])


def test_summary_counts_primary_and_secondary_per_table():
    tables = release()
    result = suppress(tables)
    # the 3 in A-P is the only primary cell; its complements sit inside by_phase (cheaper than totals)
    assert result.reasons[k(need="A", phase="P")] == PRIMARY
    by_phase, by_need = pattern_summary(tables, result)
    expected_secondary = sum(1 for key, r in result.reasons.items() if r == SECONDARY and "by_phase" in
                             tables.tables_of[key])  # fmt: skip
    # 9 inner cells + 3 row totals + 3 column totals + the grand total (public too, but we publish it as well)
    assert (by_phase.table, by_phase.cells, by_phase.primary) == ("by_phase", 16, 1)
    assert by_phase.secondary == expected_secondary >= 3
    assert by_phase.suppressed == by_phase.primary + by_phase.secondary + by_phase.carried_forward
    # by_need publishes A, B, C (shared with by_phase's row totals) and the grand total
    assert (by_need.table, by_need.cells) == ("by_need", 4)
    assert k() not in result.reasons  # public: never a complement
    assert by_need.suppressed == sum(1 for n in "ABC" if k(need=n) in result.reasons)
    # what a release publishes: how many cells are `c`, never why (all primary would tell each is 1 to 5)
    published = summary_records(tables, result)
    assert published == [{"table": "by_phase", "cells": 16, "suppressed": by_phase.suppressed},
                         {"table": "by_need", "cells": 4, "suppressed": by_need.suppressed}]  # fmt: skip


def test_summary_counts_carried_forward_cells():
    tables = release()
    result = suppress(tables, previous=[k(need="B", phase="S")])
    by_phase = pattern_summary(tables, result)[0]
    assert result.reasons[k(need="B", phase="S")] == CARRIED_FORWARD
    assert by_phase.carried_forward == 1


def test_records_round_trip_and_carry_the_pattern_forward():
    tables = release()
    first = suppress(tables)
    records = pattern_records(tables, first)
    assert {r["reason"] for r in records} <= {PRIMARY, SECONDARY}
    assert keys_from_records(records) == first.suppressed
    # records hold keys and reasons only: no count of the release appears in them
    counts = {str(v) for v in tables.values.values()}
    assert not any(part in counts for r in records for part in key_from_text(r["cell_key"]))
    again = suppress(tables, previous=keys_from_records(records))
    assert again.suppressed == first.suppressed  # the same data and the old pattern: nothing to add
    # primary cells keep their reason; the rest are now there because the earlier release suppressed them
    assert {key: r for key, r in again.reasons.items() if r == PRIMARY} == {
        key: r for key, r in first.reasons.items() if r == PRIMARY
    }
    assert {r for r in again.reasons.values() if r != PRIMARY} == {CARRIED_FORWARD}


@pytest.mark.parametrize("key", [("pupils",), ("pupils", "need=A", "phase=Sp"), ('a "quoted" | label', "ü")])
def test_key_text_round_trip(key):
    assert key_from_text(key_to_text(key)) == key


@pytest.mark.parametrize("text", ["[]", "[1]", '"x"', "{}"])
def test_key_from_text_rejects_non_keys(text):
    with pytest.raises(ValueError, match="^a stored cell key is a non-empty JSON array of text$"):
        key_from_text(text)
