"""Disclosure control for published tables (pure Python: no Dagster, no DuckDB).

A release is a ``TableSet`` of additive tables (``model``); ``suppress`` applies the primary rule (rules 2 and 4),
carries an earlier pattern forward (rule 7) and adds LP-verified secondary suppressions (rule 3); ``verify`` is the
attacker guard over any pattern; ``derived`` handles rates, averages and published symbols (rules 5, 6 and 8);
``summary`` gives the per-table summary and storable pattern records; ``frames`` is the pandas edge (imported on
first use of ``table_from_frame`` / ``publish_frame``, so the library itself needs no pandas).
"""

from pipeline.suppression.attacker import InconsistentRelease, Interval, Verification, attack, intervals, verify
from pipeline.suppression.derived import bad_published_values, suppress_average, suppress_rate
from pipeline.suppression.model import (
    TOTAL,
    Cell,
    CellKey,
    Constraint,
    Table,
    TableError,
    TableSet,
    cell_key,
    hierarchy_table,
    two_way_table,
)
from pipeline.suppression.primary import primary_suppression, suppress_count, suppress_counts
from pipeline.suppression.rules import (
    CARRIED_FORWARD,
    DEFAULT_RULES,
    PRIMARY,
    SECONDARY,
    SYMBOLS,
    UNIFORM_OUTCOME,
    SuppressionRules,
)
from pipeline.suppression.secondary import (
    CarriedPattern,
    SuppressionResult,
    carry_forward,
    secondary_suppression,
    suppress,
    unsuppressed_since,
)
from pipeline.suppression.summary import (
    TableSummary,
    key_from_text,
    key_to_text,
    keys_from_records,
    pattern_records,
    pattern_summary,
    summary_records,
)

__all__ = [
    "CARRIED_FORWARD",
    "DEFAULT_RULES",
    "PRIMARY",
    "SECONDARY",
    "SYMBOLS",
    "TOTAL",
    "UNIFORM_OUTCOME",
    "CarriedPattern",
    "Cell",
    "CellKey",
    "Constraint",
    "InconsistentRelease",
    "Interval",
    "SuppressionResult",
    "SuppressionRules",
    "Table",
    "TableError",
    "TableSet",
    "TableSummary",
    "Verification",
    "attack",
    "bad_published_values",
    "carry_forward",
    "cell_key",
    "hierarchy_table",
    "intervals",
    "key_from_text",
    "key_to_text",
    "keys_from_records",
    "pattern_records",
    "pattern_summary",
    "primary_suppression",
    "publish_frame",
    "secondary_suppression",
    "summary_records",
    "suppress",
    "suppress_average",
    "suppress_count",
    "suppress_counts",
    "suppress_rate",
    "table_from_frame",
    "two_way_table",
    "unsuppressed_since",
    "verify",
]


def __getattr__(name: str):
    if name in ("publish_frame", "table_from_frame"):
        from pipeline.suppression import frames

        return getattr(frames, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
