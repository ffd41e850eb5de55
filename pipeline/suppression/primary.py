"""Primary suppression: a count of 1 to 5 children is published as the EES symbol `c`.

Secondary suppression (so a suppressed cell cannot be recovered from totals) is not built yet (issue 5).
"""

from collections.abc import Iterable

import pandas as pd

SUPPRESSED = "c"
SMALLEST_SAFE_COUNT = 6


def suppress_count(value: int | None) -> str:
    """One count cell as published text: 0 and 6+ as digits, 1-5 as `c`, missing as `x` (unavailable)."""
    if value is None or pd.isna(value):
        return "x"
    count = int(value)
    if count < 0:
        raise ValueError("a count of children cannot be negative")
    return SUPPRESSED if 0 < count < SMALLEST_SAFE_COUNT else str(count)


def suppress_counts(frame: pd.DataFrame, count_columns: Iterable[str]) -> pd.DataFrame:
    """A copy of the frame with every count column as published text."""
    published = frame.copy()
    for column in count_columns:
        published[column] = [suppress_count(v) for v in frame[column].tolist()]
    return published
