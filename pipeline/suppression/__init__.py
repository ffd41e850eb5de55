"""Disclosure control for published tables (pure Python: no Dagster, no DuckDB).

A release is a ``TableSet`` of additive tables (``model``); ``suppress`` applies the primary rule (rules 2 and 4),
carries an earlier pattern forward (rule 7) and adds LP-verified secondary suppressions (rule 3); ``verify`` is the
attacker guard over any pattern; ``derived`` handles rates, averages and published symbols (rules 5, 6 and 8);
``summary`` gives the per-table summary and storable pattern records; ``differences`` ties a count to the figures
earlier releases showed for it with another value or to another day; ``frames`` is the pandas edge. The attacker,
the secondary search, the summary and the pandas edge are imported on first use of one of their names (PEP 562).
"""

import importlib

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

# Imported on first use: the solvers' modules (SciPy, HiGHS: ~0.2 s) and the pandas edge. The Dagster definitions
# import pipeline.published_tables and pipeline.ees, which need only the rules and the table model above.
_LAZY = {
    **dict.fromkeys(("InconsistentRelease", "Interval", "Verification", "attack", "intervals", "verify"), "attacker"),
    **dict.fromkeys(
        (
            "CarriedPattern",
            "SuppressionResult",
            "carry_forward",
            "secondary_suppression",
            "suppress",
            "unsuppressed_since",
        ),
        "secondary",
    ),
    **dict.fromkeys(
        (
            "EARLIER_RELEASES",
            "TableSummary",
            "earlier_release_table",
            "key_from_text",
            "key_to_text",
            "keys_from_records",
            "pattern_records",
            "pattern_summary",
            "published_count_records",
            "summary_records",
        ),
        "summary",
    ),
    **dict.fromkeys(("publish_frame", "table_from_frame"), "frames"),
}

__all__ = [
    "CARRIED_FORWARD",
    "DEFAULT_RULES",
    "EARLIER_RELEASES",
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
    "earlier_release_table",
    "hierarchy_table",
    "intervals",
    "key_from_text",
    "key_to_text",
    "keys_from_records",
    "pattern_records",
    "pattern_summary",
    "primary_suppression",
    "publish_frame",
    "published_count_records",
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
    if name in _LAZY:
        return getattr(importlib.import_module(f"pipeline.suppression.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
