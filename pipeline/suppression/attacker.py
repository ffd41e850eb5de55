"""The attacker: how far can each suppressed cell be pinned down from everything published?

For every suppressed cell the attacker minimises and maximises that cell's count by linear programming (HiGHS,
through its own Python bindings `highspy`) subject to every published cell and public figure fixed at its value,
every additivity equation of the whole release, and non-negativity. Because counts are whole numbers the attacker also
rounds the bounds inwards (ceil of the minimum, floor of the maximum). The cell is protected when the interval is
at least ``protection_width`` wide. Singletons (two suppressed cells summing to 2) and hierarchies fall out of the
same LP: nothing is special-cased.

On the LP bound: the LP interval contains the interval of every whole-number solution, so it can only be wider
than what an attacker who also uses integrality gets. For the release's tables (2-D tables with margins,
hierarchies, and chains of them) the constraint matrix is totally unimodular and the data are whole numbers, so
the LP optimum is already a whole number and both intervals coincide. For linked tables of three or more
dimensions they can differ: ``integer=True`` solves the exact integer problem (HiGHS's MIP solver) instead.

The informed attacker (``informed_bounds``, ``InformedRequirement``) also knows the published rules and which
``c`` they made: a primary count is 1 to 5 (bounds on those cells), and any other suppressed cell is 0 or 6+, as
the rule would have made a count of 1 to 5 primary (``zero_or_at_least``: not convex, so each such cell is a
semi-integer variable of a MILP, and the groups of cells with one are solved as MILPs). Rule 3 against it:
``rules.informed_width``. ``verify`` first asks the LP that keeps every complement on the side of "0 or 6+" its
true count is on (``rules.complement_side``: an interval inside the informed reader's, so wide enough there means
wide enough) and solves the MILP only for a cell that LP finds too narrow.

The equations fall apart into connected groups of unknowns (cells linked by shared equations); each group is one
HiGHS model, kept while the attacker asks about its cells, so each further bound starts from the last basis.
"""

import copy
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import highspy
import numpy as np
from scipy.sparse import csr_array

from pipeline.suppression.model import CellKey, Constraint, TableSet, describe
from pipeline.suppression.primary import primary_suppression
from pipeline.suppression.rules import (
    DEFAULT_RULES,
    SuppressionRules,
    complement_floor,
    complement_side,
    prior_range,
    required_width,
)

TOLERANCE = 1e-6
# HiGHS caps the upper bound of a semi-continuous or semi-integer variable at 1e5 (kMaxSemiVariableUpper) and then
# answers "infeasible" for a count above it: a cell whose maximum is above this is modelled as 0 or more.
SEMI_VARIABLE_CEILING = 1e5


class InconsistentRelease(ValueError):
    """The published figures admit no solution at all (names the equation, never a count)."""


@dataclass(frozen=True)
class Interval:
    """What the attacker can tell about one suppressed cell: low <= count <= high (high may be ``math.inf``)."""

    low: float
    high: float

    @property
    def width(self) -> float:
        return self.high - self.low

    def protects(self, width: float) -> bool:
        return self.width >= width - TOLERANCE


@dataclass(frozen=True)
class _System:
    """The attacker's equations over the unknown cells only: A x = b, x >= 0 (published cells substituted)."""

    unknown: tuple[CellKey, ...]
    rows: tuple[tuple[dict[int, float], float, CellKey], ...]  # (coefficients by unknown index, rhs, total key)


def _system(constraints: Sequence[Constraint], known: Mapping[CellKey, float], unknown: Iterable[CellKey]) -> _System:
    unknown = tuple(sorted(set(unknown)))
    index = {key: i for i, key in enumerate(unknown)}
    for key in unknown:
        if key in known:
            raise ValueError(f"cell {describe(key)} is both published and suppressed")
    rows = []
    for constraint in constraints:
        coefficients: dict[int, float] = {}
        rhs = 0.0
        for key, sign in ((constraint.total, 1.0), *((part, -1.0) for part in constraint.parts)):
            if key in index:
                coefficients[index[key]] = coefficients.get(index[key], 0.0) + sign
            elif key in known:
                rhs -= sign * float(known[key])
            else:
                raise ValueError(f"constraint for total {describe(constraint.total)} names cell {describe(key)}, "
                                 "which is neither published nor suppressed")  # fmt: skip
        if coefficients:
            rows.append((coefficients, rhs, constraint.total))
        elif abs(rhs) > TOLERANCE * max(1.0, abs(rhs)):
            raise InconsistentRelease(f"published parts of total {describe(constraint.total)} do not add up to it")
    return _System(unknown, tuple(rows))


def connected_groups(count: int, rows: Sequence[Iterable[int]]) -> list[tuple[list[int], list[int]]]:
    """Connected groups of ``count`` variables linked by shared rows (each row: the variables it names), as
    (variables, row numbers) in order of each group's first variable; a variable in no row is a group alone."""
    parent = list(range(count))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for row in rows:
        first, *rest = row
        for other in rest:
            a, b = find(first), find(other)
            if a != b:
                parent[max(a, b)] = min(a, b)
    variables: dict[int, list[int]] = {}
    for i in range(count):
        variables.setdefault(find(i), []).append(i)
    row_ids: dict[int, list[int]] = {}
    for r, row in enumerate(rows):
        row_ids.setdefault(find(next(iter(row))), []).append(r)
    return [(variables[root], row_ids.get(root, [])) for root in sorted(variables)]


def _components(system: _System) -> list[tuple[list[int], list[int]]]:
    """Connected groups of unknowns (by shared equations): each target's LP needs only its own group."""
    return connected_groups(len(system.unknown), [coefficients for coefficients, _, _ in system.rows])


FINAL_STATUSES = (
    highspy.HighsModelStatus.kOptimal,
    highspy.HighsModelStatus.kInfeasible,
    highspy.HighsModelStatus.kUnbounded,
    highspy.HighsModelStatus.kUnboundedOrInfeasible,
)


class _GroupModel:
    """One connected group's equations (A x = b, x >= 0) as a HiGHS model, kept for every cell of the group: each
    bound only changes the objective, so HiGHS starts from the previous optimum's basis instead of from scratch."""

    def __init__(
        self,
        a_eq: csr_array,
        b_eq: np.ndarray,
        integer: bool,
        lower: np.ndarray,
        upper: np.ndarray,
        semi: np.ndarray | None = None,
    ) -> None:
        """``semi``: which variables are semi-integer (0, or ``lower`` to ``upper``); the model is then a MILP."""
        rows, columns = a_eq.shape
        lp = highspy.HighsLp()
        lp.num_col_, lp.num_row_ = columns, rows
        lp.col_cost_ = np.zeros(columns)
        lp.col_lower_ = lower
        lp.col_upper_ = np.where(np.isinf(upper), highspy.kHighsInf, upper)
        lp.row_lower_ = lp.row_upper_ = b_eq
        lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
        lp.a_matrix_.start_ = a_eq.indptr
        lp.a_matrix_.index_ = a_eq.indices
        lp.a_matrix_.value_ = a_eq.data
        if semi is not None and semi.any():
            lp.integrality_ = [highspy.HighsVarType.kSemiInteger if s else highspy.HighsVarType.kInteger for s in semi]
        elif integer:
            lp.integrality_ = [highspy.HighsVarType.kInteger] * columns
        # The bare binding: highspy.Highs() switches on callbacks in its constructor, which prints HiGHS's banner
        # on stdout before output can be turned off (ERGO-Code/HiGHS#2749); the release's logs stay quiet.
        self.highs = highspy._Highs()
        self.highs.setOptionValue("output_flag", False)
        self.highs.passModel(lp)
        self.costed: int | None = None

    def bound(self, variable: int, sense) -> tuple[str, float]:
        """("optimal", value), "infeasible" or "unbounded" for min or max (``sense``) of one variable."""
        if self.costed != variable:
            if self.costed is not None:
                self.highs.changeColCost(self.costed, 0.0)
            self.highs.changeColCost(variable, 1.0)
            self.costed = variable
        return self._run(sense)

    def most(self, variables: Sequence[int]) -> tuple[str, float]:
        """As ``bound``, for the maximum of the sum of ``variables``."""
        if self.costed is not None:
            self.highs.changeColCost(self.costed, 0.0)
            self.costed = None
        columns = np.asarray(variables, dtype=np.int32)
        self.highs.changeColsCost(len(columns), columns, np.ones(len(columns)))
        try:
            return self._run(highspy.ObjSense.kMaximize)
        finally:
            self.highs.changeColsCost(len(columns), columns, np.zeros(len(columns)))

    def _run(self, sense) -> tuple[str, float]:
        self.highs.changeObjectiveSense(sense)
        self.highs.run()
        status = self.highs.getModelStatus()
        if status not in FINAL_STATUSES:
            # HiGHS can end a re-solve from the previous optimum with status Unknown (seen on a relaxation whose
            # presolve finds it infeasible or unbounded): solve once more from scratch before giving up.
            self.highs.clearSolver()
            self.highs.run()
            status = self.highs.getModelStatus()
        if status == highspy.HighsModelStatus.kOptimal:
            return "optimal", self.highs.getInfo().objective_function_value
        if status == highspy.HighsModelStatus.kInfeasible:
            return "infeasible", math.nan
        if status in (highspy.HighsModelStatus.kUnbounded, highspy.HighsModelStatus.kUnboundedOrInfeasible):
            return "unbounded", math.nan
        raise RuntimeError(f"the solver did not finish ({self.highs.modelStatusToString(status)})")


class Attacker:
    """The attacker's equations for one set of published figures, built once; the interval of any unknown cell on
    demand (each LP needs only the connected group of unknowns the cell is in, built the first time it is asked).

    ``bounds``: what the attacker knows of some unknown cells besides the equations (the informed attacker: the
    range the rules give a cell they suppress, ``rules.prior_range``); any other unknown cell is 0 or more.
    ``zero_or_at_least``: cells known to be 0 or at least the given count (the informed attacker's complements:
    ``rules.complement_floor``); a group with one is solved as a MILP."""

    def __init__(
        self,
        constraints: Sequence[Constraint],
        known: Mapping[CellKey, float],
        unknown: Iterable[CellKey],
        *,
        integer: bool = False,
        bounds: Mapping[CellKey, tuple[float, float]] | None = None,
        zero_or_at_least: Mapping[CellKey, float] | None = None,
    ) -> None:
        self.system = _system(constraints, known, unknown)
        self.integer = integer
        self._position = {key: v for v, key in enumerate(self.system.unknown)}
        self._groups = _components(self.system)
        self._group_of = {v: g for g, (variables, _) in enumerate(self._groups) for v in variables}
        self._set_bounds(bounds, zero_or_at_least)

    def _set_bounds(
        self, bounds: Mapping[CellKey, tuple[float, float]] | None, zero_or_at_least: Mapping[CellKey, float] | None
    ) -> None:
        bounds, zero_or_at_least = bounds or {}, zero_or_at_least or {}
        self._bounds = [bounds.get(key, (0.0, math.inf)) for key in self.system.unknown]
        self._semi_floor = [zero_or_at_least.get(key, 0.0) for key in self.system.unknown]
        self._models: dict[int, tuple[_GroupModel, dict[int, int]]] = {}

    def with_bounds(
        self,
        bounds: Mapping[CellKey, tuple[float, float]],
        zero_or_at_least: Mapping[CellKey, float] | None = None,
    ) -> "Attacker":
        """The same equations with other knowledge (the informed attacker beside the plain one): the equations and
        their groups are shared, not built again (half of the secondary search's time was building them)."""
        other = copy.copy(self)
        other._set_bounds(bounds, zero_or_at_least)
        return other

    def _group_model(self, group: int) -> tuple[_GroupModel, dict[int, int]]:
        if group not in self._models:
            variables, row_ids = self._groups[group]
            local = {v: i for i, v in enumerate(variables)}
            data, row_index, col_index = [], [], []
            for r, row_id in enumerate(row_ids):
                for v, coefficient in self.system.rows[row_id][0].items():
                    data.append(coefficient)
                    row_index.append(r)
                    col_index.append(local[v])
            a_eq = csr_array((data, (row_index, col_index)), shape=(len(row_ids), len(variables)))
            b_eq = np.array([self.system.rows[row_id][1] for row_id in row_ids])
            lower = np.array([self._bounds[v][0] for v in variables], dtype=float)
            upper = np.array([self._bounds[v][1] for v in variables], dtype=float)
            floors = np.array([self._semi_floor[v] for v in variables], dtype=float)
            semi = floors > 0
            if semi.any():
                # a semi-integer variable needs a finite upper bound: the most the relaxation (0 or more) allows
                # (of them all together first: one LP, enough when it is within HiGHS's limit; else one per cell)
                relaxed = _GroupModel(a_eq, b_eq, False, lower, upper)
                together = relaxed.most(np.flatnonzero(semi))
                for i in np.flatnonzero(semi):
                    status, most = together
                    if not (status == "optimal" and most <= SEMI_VARIABLE_CEILING):
                        status, most = relaxed.most([i])
                    if status == "optimal" and most <= SEMI_VARIABLE_CEILING:
                        lower[i], upper[i] = floors[i], max(math.floor(most + TOLERANCE), floors[i])
                    else:  # unbounded, above HiGHS's limit, or no solution (which the MILP then reports)
                        semi[i] = False
            model = _GroupModel(a_eq, b_eq, self.integer, lower, upper, semi)
            self._models[group] = (model, local)
        return self._models[group]

    def interval(self, key: CellKey) -> Interval:
        v = self._position.get(tuple(key))
        if v is None:
            raise ValueError("a target cell is not among the unknown cells")
        group = self._group_of[v]
        floor, ceiling = self._bounds[v]
        if not self._groups[group][1]:  # in no equation: anything its bounds allow
            return Interval(floor, ceiling)
        model, local = self._group_model(group)
        status, low = model.bound(local[v], highspy.ObjSense.kMinimize)
        if status != "optimal":  # x >= 0 bounds the minimum below: no optimum means no solution
            raise InconsistentRelease(f"no count for suppressed cell {describe(key)} fits the published figures")
        status, high = model.bound(local[v], highspy.ObjSense.kMaximize)
        if status != "optimal":  # the minimum exists, so the problem is feasible: the maximum is unbounded
            high = math.inf
        low = max(math.ceil(low - TOLERANCE), floor)
        high = math.floor(high + TOLERANCE) if math.isfinite(high) else high
        if low > high:
            raise InconsistentRelease(f"no whole count for suppressed cell {describe(key)} fits the published figures")
        return Interval(float(low), float(high))


def intervals(
    constraints: Sequence[Constraint],
    known: Mapping[CellKey, float],
    unknown: Iterable[CellKey],
    *,
    integer: bool = False,
    targets: Iterable[CellKey] | None = None,
    bounds: Mapping[CellKey, tuple[float, float]] | None = None,
) -> dict[CellKey, Interval]:
    """The attacker's interval for every unknown (suppressed) cell, in key order (only for ``targets``, when given).

    ``known``: every cell whose count the attacker sees (published by us, or public elsewhere). Works from
    published figures alone (no true values are needed), so it also runs as an independent check over the
    published files. Raises ``InconsistentRelease`` when the published figures admit no solution, ``ValueError``
    (from ``Attacker.interval``) for a target that is not an unknown cell.
    """
    attacker = Attacker(constraints, known, unknown, integer=integer, bounds=bounds)
    wanted = set(attacker.system.unknown) if targets is None else {tuple(k) for k in targets}
    return {key: attacker.interval(key) for key in sorted(wanted)}


def release_attacker(
    tables: TableSet,
    suppressed: Iterable[CellKey],
    *,
    integer: bool = False,
    bounds: Mapping[CellKey, tuple[float, float]] | None = None,
) -> Attacker:
    """The attacker of a release: it knows every cell of the release (published by us or public) but the
    suppressed cells that are not public and the hidden cells, and never sees a suppressed count (``bounds``: what
    it knows of some suppressed cells besides, see Attacker)."""
    suppressed = set(suppressed) | tables.hidden
    unknown_keys = [k for k in tables.keys if k in suppressed and k not in tables.public]
    unknown_set = set(unknown_keys)
    known = {k: v for k, v in tables.values.items() if k not in unknown_set}
    return Attacker(tables.constraints, known, unknown_keys, integer=integer, bounds=bounds)


def attack(
    tables: TableSet,
    suppressed: Iterable[CellKey],
    *,
    integer: bool = False,
    bounds: Mapping[CellKey, tuple[float, float]] | None = None,
) -> dict[CellKey, Interval]:
    """The attacker's interval (``release_attacker``) for every suppressed cell of the release that is not public."""
    attacker = release_attacker(tables, suppressed, integer=integer, bounds=bounds)
    return {key: attacker.interval(key) for key in attacker.system.unknown}


def informed_bounds(
    tables: TableSet, suppressed: Iterable[CellKey], rules: SuppressionRules = DEFAULT_RULES
) -> dict[CellKey, tuple[float, float]]:
    """The informed attacker's knowledge: for each suppressed cell the primary rule suppresses, the range the rule
    gives it (a primary count is 1 to 5), as if the reader knew why each ``c`` is ``c`` (and a hidden small count
    as if the reader knew it was small)."""
    suppressed = set(suppressed) | tables.hidden
    return {k: prior_range(r, rules) for k, r in primary_suppression(tables, rules).items() if k in suppressed}


def complement_floors(
    tables: TableSet,
    unknown: Iterable[CellKey],
    bounds: Mapping[CellKey, tuple[float, float]],
    rules: SuppressionRules = DEFAULT_RULES,
) -> dict[CellKey, float]:
    """The rest of the informed attacker's knowledge: every unknown cell the primary rule did not suppress
    (``bounds`` holds those it did) is 0 or ``rules.complement_floor`` or more (``Attacker``'s zero_or_at_least);
    not a hidden cell, which is never published whatever its count."""
    floor = complement_floor(rules)
    return {k: floor for k in unknown if k not in bounds and k not in tables.hidden}


def complement_sides(
    tables: TableSet, floors: Mapping[CellKey, float], rules: SuppressionRules = DEFAULT_RULES
) -> dict[CellKey, tuple[float, float]]:
    """Each complement kept on the side of "0 or 6+" its true count is on (``rules.complement_side``): bounds for
    an LP whose interval lies within the informed attacker's (enough to show a cell protected, not pinned)."""
    return {k: complement_side(tables.values[k], rules) for k in floors}


class InformedRequirement:
    """How wide the informed attacker's interval for a primary cell must be: ``rules.informed_width``, or what the
    rules alone leave when that is narrower. Three small counts under a small total (an ethnic group of 4 children
    with an EHC plan, in three ethnicities) are each 1 to 3 to a reader who knows the rule, whatever else is
    published: no pattern can do better, so the release may not be held to more. "The rules alone" is the
    informed attacker facing a release with every cell of ours hidden (public figures still known; each cell the
    primary rule does not suppress then 0 or 6+), asked only about a cell narrower than ``informed_width`` (its
    models span a whole group of linked cells)."""

    def __init__(
        self, tables: TableSet, bounds: Mapping[CellKey, tuple[float, float]], rules: SuppressionRules
    ) -> None:
        self.tables, self.bounds, self.rules = tables, bounds, rules
        self._relaxed: Attacker | None = None  # the rules alone with every complement 0 or more (an LP)
        self._alone: Attacker | None = None  # the rules alone, exact (a MILP per group)
        self._widths: dict[tuple[CellKey, bool], float] = {}  # the rules alone do not change between questions

    def _alone_width(self, key: CellKey, exact: bool) -> float:
        if self._relaxed is None:
            private = self.tables.private_keys
            known = {k: self.tables.values[k] for k in self.tables.public}
            bounds = informed_bounds(self.tables, private, self.rules)
            self._relaxed = Attacker(self.tables.constraints, known, private, bounds=bounds)
            self._alone = self._relaxed.with_bounds(bounds, complement_floors(self.tables, private, bounds, self.rules))
        if (key, exact) not in self._widths:
            alone = self._alone if exact else self._relaxed
            self._widths[key, exact] = min(required_width(self.bounds[key], self.rules), alone.interval(key).width)
        return self._widths[key, exact]

    def relaxed_width(self, key: CellKey, interval: Interval) -> float:
        """``width`` with the rules alone taken from the LP that lets a complement be anything from 0 (no MILP):
        never less than ``width``, and equal to it whenever an informed perturbation as wide exists (the exact
        informed interval is then at least as wide, and it is never wider than the rules alone leave it)."""
        wanted = required_width(self.bounds[key], self.rules)
        return wanted if interval.protects(wanted) else self._alone_width(key, exact=False)

    def width(self, key: CellKey, interval: Interval) -> float:
        """The width ``interval`` (the informed attacker's for ``key``) must have. An interval as wide as the
        relaxed requirement is wide enough, and the MILP of the rules alone is then not solved."""
        relaxed = self.relaxed_width(key, interval)
        return relaxed if interval.protects(relaxed) else self._alone_width(key, exact=True)


class PublicAlone:
    """How wide the figures others publish (``tables.public``: DfE's for the same population, our earlier releases'
    shown counts) leave a cell of ours on their own, every cell of ours unknown. No pattern of ours can make a cell
    wider than that, so the plain attacker's requirement is ``rules.protection_width`` or that width, whichever is
    less: DfE's plans issued and those issued within 20 weeks already give the later ones away; a public total of 4
    leaves its parts 0 to 4 whatever we hide. Without this, such a cell could never be protected and blocked every
    release. (The informed requirement already allows for them: ``InformedRequirement``'s rules alone know the public
    figures.) Solved only for a cell the plain attacker finds narrower than the protection width, and only when a
    figure is public.

    What our own release says is left out: the equations of unprotected hidden cells (rule 6's slacks, which tie a
    count to the threshold its mean's being shown or `c` reveals) are our release's signal, not another publisher's
    figure."""

    def __init__(self, tables: TableSet, rules: SuppressionRules) -> None:
        self.tables, self.rules = tables, rules
        self._constraints = [c for c in tables.constraints if not tables.unprotected.intersection(c.cells)]
        self._public = any(key in tables.public for c in self._constraints for key in c.cells)
        self._attacker: Attacker | None = None
        self._widths: dict[CellKey, float] = {}

    def width(self, key: CellKey) -> float:
        if not self._public:
            return self.rules.protection_width
        if key not in self._widths:
            if self._attacker is None:
                known = {k: self.tables.values[k] for k in self.tables.public}
                self._attacker = Attacker(self._constraints, known, self.tables.private_keys)
            alone = self._attacker.interval(key).width
            self._widths[key] = min(self.rules.protection_width, alone)
        return self._widths[key]

    def protects(self, key: CellKey, interval: Interval) -> bool:
        """The plain attacker's ``interval`` for ``key`` is wide enough."""
        return interval.protects(self.rules.protection_width) or interval.protects(self.width(key))


@dataclass(frozen=True)
class Verification:
    """The guard over a whole pattern: rule 2/4 (every primary cell suppressed) and rule 3 (no cell pinned, by an
    attacker who knows only the published figures nor by one who also knows why each cell is suppressed)."""

    intervals: Mapping[CellKey, Interval]
    pinned: tuple[CellKey, ...]  # suppressed cells either attacker pins (see verify)
    unsuppressed_primary: tuple[CellKey, ...]  # cells the primary rule suppresses that the pattern publishes

    @property
    def safe(self) -> bool:
        return not self.pinned and not self.unsuppressed_primary


def verify(
    tables: TableSet, suppressed: Iterable[CellKey], rules: SuppressionRules = DEFAULT_RULES, *, integer: bool = False
) -> Verification:
    """Check a suppression pattern against the whole release: is every primary cell suppressed, is every
    suppressed cell's attacker interval at least ``rules.protection_width`` wide (or as wide as the figures others
    publish alone leave it: ``PublicAlone``), and does the informed attacker
    (who also knows which cells the primary rule suppresses: ``informed_bounds``, and so that every other
    suppressed cell is 0 or 6+: ``complement_floors``) leave every such cell an interval at least
    ``rules.informed_width`` wide, or as wide as the rules alone leave it (``InformedRequirement``)?"""
    suppressed = frozenset(suppressed) | tables.hidden
    unknown = [k for k in suppressed if k not in tables.values]
    if unknown:
        raise ValueError(f"suppressed cell {describe(sorted(unknown)[0])} is not a cell of the release")
    attacker = release_attacker(tables, suppressed, integer=integer)
    found = {key: attacker.interval(key) for key in attacker.system.unknown}
    bounds = informed_bounds(tables, suppressed, rules)
    floors = complement_floors(tables, attacker.system.unknown, bounds, rules)
    # the same equations, built once: the LP with every complement on its own side, then the exact MILP
    sided = attacker.with_bounds({**bounds, **complement_sides(tables, floors, rules)})
    informed = attacker.with_bounds(bounds, zero_or_at_least=floors)
    requirement = InformedRequirement(tables, bounds, rules)
    public_alone = PublicAlone(tables, rules)

    def informed_pins(key: CellKey) -> bool:
        interval = sided.interval(key)
        if interval.protects(requirement.relaxed_width(key, interval)):
            return False
        interval = informed.interval(key)
        return not interval.protects(requirement.width(key, interval))

    pinned = tuple(
        k
        for k, interval in found.items()
        if not (k in tables.hidden and k not in bounds)  # a hidden count that is not small needs no protection
        and (not public_alone.protects(k, interval) or (k in bounds and informed_pins(k)))
    )
    missing = tuple(k for k in primary_suppression(tables, rules) if k not in suppressed)
    return Verification(found, pinned, missing)
