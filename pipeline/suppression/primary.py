"""Primary suppression (rules 2 and 4): a count of 1 to 5 children, totals included, is published as `c`, and so
is every cell of a group of fewer than 10 children who all share one outcome.

`suppress_count` / `suppress_counts` apply the count rule to single values and frames; `primary_suppression`
applies the full primary rule to a release's tables. Secondary suppression (so a suppressed cell cannot be
recovered from totals) is in `pipeline.suppression.secondary`.
"""

from collections.abc import Iterable
from typing import TYPE_CHECKING

from pipeline.suppression.model import CellKey, TableSet
from pipeline.suppression.rules import DEFAULT_RULES, PRIMARY, SUPPRESSED, UNIFORM_OUTCOME, SuppressionRules

if TYPE_CHECKING:  # pandas only at this edge, imported when a frame is suppressed
    import pandas as pd

SMALLEST_SAFE_COUNT = 6


def suppress_count(value: int | None) -> str:
    """One count cell as published text: 0 and 6+ as digits, 1-5 as `c`, missing as `x` (unavailable)."""
    import pandas as pd

    if value is None or pd.isna(value):
        return "x"
    count = int(value)
    if count < 0:
        raise ValueError("a count of children cannot be negative")
    return SUPPRESSED if 0 < count < SMALLEST_SAFE_COUNT else str(count)


def suppress_counts(frame: "pd.DataFrame", count_columns: Iterable[str]) -> "pd.DataFrame":
    """A copy of the frame with every count column as published text."""
    published = frame.copy()
    for column in count_columns:
        published[column] = [suppress_count(v) for v in frame[column].tolist()]
    return published


def primary_suppression(tables: TableSet, rules: SuppressionRules = DEFAULT_RULES) -> dict[CellKey, str]:
    """The cells of our tables that rules 2 and 4 suppress, with their reason, in key order. A cell that is also
    public elsewhere is still shown as ``c`` in our tables (the attacker knows it anyway; it needs no protection).

    - every count from 1 to ``rules.max_suppressed_count``, totals included (``primary``; a small hidden count
      too: it is never shown, but it must be protected from being worked out);
    - every part of an outcome breakdown whose total is a group of 1 to ``uniform_group_below - 1`` children who
      all fall in one part (that part is 100%, the others 0%): all its parts (``uniform_outcome``, also for the part
      the count rule suppresses: the parts must not be told apart by their reasons).
    """
    reasons: dict[CellKey, str] = {}
    for key in tables.keys:
        ours = key in tables.published or (key in tables.hidden and key not in tables.unprotected)
        if ours and 0 < tables.values[key] <= rules.max_suppressed_count:
            reasons[key] = PRIMARY
    for constraint in tables.constraints:
        group = tables.values[constraint.total]
        if not constraint.outcome or len(constraint.parts) < 2 or not 0 < group < rules.uniform_group_below:
            continue
        if sum(1 for part in constraint.parts if tables.values[part] > 0) == 1:
            for part in constraint.parts:
                if part in tables.published:
                    # every part, the one holding the group included (a small count too): a reader told that one
                    # part is a small count and the others are not would know which outcome the group shares
                    reasons[part] = UNIFORM_OUTCOME
    return dict(sorted(reasons.items()))
