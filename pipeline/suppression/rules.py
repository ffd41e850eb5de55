"""The disclosure-control rules of the release (issue 5), configurable, with the published defaults."""

import math
from dataclasses import dataclass

# Rule 8: the only symbols a published cell may carry besides a number (DfE EES): suppressed, unavailable,
# not applicable, rounds to zero. Never blank, never NaN.
SUPPRESSED = "c"
UNAVAILABLE = "x"
NOT_APPLICABLE = "z"
LOW = "low"
SYMBOLS: tuple[str, ...] = (SUPPRESSED, UNAVAILABLE, NOT_APPLICABLE, LOW)


@dataclass(frozen=True)
class SuppressionRules:
    """Thresholds of rules 2-6 and the weights of the secondary search.

    - ``max_suppressed_count``: rule 2/4, a count (total or not) from 1 to this is ``c``.
    - ``uniform_group_below``: rule 2, a group of fewer children than this who all share one outcome has every
      outcome cell ``c`` (the 100% one and the 0% ones).
    - ``protection_width``: rule 3, the attacker's interval for every suppressed cell must be at least this wide.
    - ``informed_width``: rule 3 against an attacker who also knows which cells the primary rule suppressed (a
      primary count is then known to be 1 to 5): its interval for such a cell must be at least this wide, or the
      whole range when that is narrower. 3: it may rule out one of the five values a small count can take, not two
      (two small cells summing to 5 are each 1 to 4 whatever else is published).
    - ``rate_min_denominator``: rule 5, a percentage or rate over fewer children than this is ``c``.
    - ``average_min_n``: rule 6, a mean or median of fewer children than this is ``c``.
    - ``zero_weight`` / ``total_weight``: the secondary search's cost of a complementary suppression is 1 + its
      count for a non-empty non-total cell (smallest first); an empty cell costs ``zero_weight`` times the largest
      non-total count (non-empty cells before empty ones); a total costs ``total_weight`` times as much as the
      same count would as a part (totals last).
    """

    max_suppressed_count: int = 5
    uniform_group_below: int = 10
    protection_width: int = 5
    informed_width: int = 3
    rate_min_denominator: int = 10
    average_min_n: int = 8
    total_weight: float = 10.0
    zero_weight: float = 2.0

    def __post_init__(self) -> None:
        for name in ("max_suppressed_count", "uniform_group_below", "protection_width", "informed_width",
                     "rate_min_denominator", "average_min_n"):  # fmt: skip
            if getattr(self, name) < 0:
                raise ValueError(f"SuppressionRules.{name} cannot be negative")
        if self.total_weight < 1 or self.zero_weight < 0:
            raise ValueError("SuppressionRules.total_weight must be >= 1 and zero_weight >= 0")


DEFAULT_RULES = SuppressionRules()

# Why a cell is suppressed (stored with the pattern; the summary counts primary / secondary per table).
PRIMARY = "primary"  # rule 2/4: a count (total or not) from 1 to max_suppressed_count
UNIFORM_OUTCOME = "uniform_outcome"  # rule 2: a group under uniform_group_below children all with one outcome
CARRIED_FORWARD = "carried_forward"  # rule 7: suppressed by an earlier release of the same period
SECONDARY = "secondary"  # rule 3: a complementary suppression so no suppressed cell can be pinned down
HIDDEN = "hidden"  # a count of a hidden table (never published) that is not small: unknown, needs no protection
PRIMARY_REASONS = frozenset({PRIMARY, UNIFORM_OUTCOME})


def prior_range(reason: str, rules: SuppressionRules = DEFAULT_RULES) -> tuple[float, float]:
    """What the published rules alone tell a reader who knows why a cell is ``c`` (the informed attacker: the rules
    are public, and which cells they suppress can often be worked out, e.g. from a pattern's minimality): a primary
    count is 1 to ``max_suppressed_count``; a part of a small group sharing one outcome is 0 to
    ``uniform_group_below - 1``; any other suppressed cell is 0 or more here (that it is 0 or 6+ is not a range:
    ``complement_floor``)."""
    if reason == PRIMARY:
        return 1.0, float(rules.max_suppressed_count)
    if reason == UNIFORM_OUTCOME:
        return 0.0, float(rules.uniform_group_below - 1)
    return 0.0, math.inf


def complement_floor(rules: SuppressionRules = DEFAULT_RULES) -> float:
    """The smallest non-zero count of a suppressed cell the primary rule did not suppress (a complement, or a cell
    carried forward): the rule would have made a count of 1 to ``max_suppressed_count`` a primary cell, so a reader
    who knows why each ``c`` is ``c`` knows such a cell is 0 or at least this."""
    return float(rules.max_suppressed_count + 1)


def complement_side(count: float, rules: SuppressionRules = DEFAULT_RULES) -> tuple[float, float]:
    """The side of "0, or ``complement_floor`` or more" that a complement's true count is on, as a range. Keeping
    every complement on its own side is the convex part of what the informed reader knows (not all of it: the
    reader cannot tell 0 from 6+), so an interval found within it is never wider than the reader's."""
    return (0.0, 0.0) if count == 0 else (complement_floor(rules), math.inf)


def required_width(prior: tuple[float, float], rules: SuppressionRules = DEFAULT_RULES) -> float:
    """How wide the informed attacker's interval for a cell of range ``prior`` must be: ``informed_width``, or the
    whole range when that is narrower."""
    low, high = prior
    return min(float(rules.informed_width), high - low)
