"""Secondary suppression (rule 3) and carrying an earlier pattern forward (rule 7).

The search is deterministic and greedy, one pinned cell at a time, in key order:

1. Ask the attacker (``attacker.intervals``) about the first suppressed cell not yet known to be protected.
2. If it is pinned (interval narrower than the protection width), solve one small LP (a MILP with two whole-number
   variables, HiGHS via `scipy.optimize.milp`, its relaxation first: ``solve_with_whole_numbers``) for the cheapest
   set of published cells to suppress with it: two perturbations of the release, one moving the cell up by ``a``
   and one down by ``b`` with ``a + b`` = the protection width, each keeping every equation, every count
   non-negative and every public figure unchanged. Only the cells linked to the pinned one through the release's
   equations are variables of that LP (a change anywhere else costs something and cannot move the cell).
   The cells either perturbation touches are suppressed; both perturbed releases then look the same as the real
   one to the attacker, so the cell's interval becomes at least ``a + b`` wide. Cost per unit of change: 1 + the
   count for a non-empty part (smallest cells first), more for an empty cell, ``total_weight`` times more for a
   total (totals last), ties broken by key order; cells already suppressed are free.
   A cell the informed attacker pins (it knows a primary count is 1 to 5 and any other ``c`` 0 or 6+:
   ``attacker.InformedRequirement``) gets the same LP with every primary cell kept within its range and every
   other cell of ours on its side of "0 or 6+" in both perturbations, and the target moved the informed width
   within its own range; failing that, ``_last_resort``. Each round takes one pinned cell per group of linked
   cells (complements never leave their group, so this is the pattern a round per cell gives).
3. Repeat until no suppressed cell is pinned. Adding suppressions only widens intervals, so a cell found protected
   stays protected; every round adds at least one cell or gives a cell up as unprotectable (pinned by public
   figures alone), so the search ends after at most as many rounds as the release has cells.
"""

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import csr_array, vstack

from pipeline.suppression.attacker import (
    Attacker,
    InformedRequirement,
    Interval,
    PublicAlone,
    attack,
    complement_floors,
    complement_sides,
    connected_groups,
    informed_bounds,
)
from pipeline.suppression.model import CellKey, Constraint, TableSet, describe
from pipeline.suppression.primary import primary_suppression
from pipeline.suppression.rules import (
    CARRIED_FORWARD,
    DEFAULT_RULES,
    HIDDEN,
    SECONDARY,
    SUPPRESSED,
    UNAVAILABLE,
    SuppressionRules,
    complement_floor,
    complement_side,
)

CHANGE_TOLERANCE = 1e-6


@dataclass(frozen=True)
class CarriedPattern:
    """Rule 7: the cells an earlier release of the same period suppressed that this release publishes again
    (``forced``: they must stay suppressed) and those it no longer publishes at all (``dropped``)."""

    forced: frozenset[CellKey]
    dropped: frozenset[CellKey]


def carry_forward(previous: Iterable[CellKey], tables: TableSet) -> CarriedPattern:
    """Which of an earlier pattern's suppressed cells the new release must suppress again: those our tables
    still publish; the rest are dropped."""
    previous = frozenset(tuple(k) for k in previous)
    return CarriedPattern(previous & tables.published, previous - tables.published)


def unsuppressed_since(previous: Iterable[CellKey], suppressed: Iterable[CellKey], tables: TableSet) -> list[CellKey]:
    """The guard of rule 7: cells an earlier release suppressed that this pattern would publish (should be empty)."""
    suppressed = frozenset(suppressed)
    return sorted(k for k in carry_forward(previous, tables).forced if k not in suppressed)


@dataclass(frozen=True)
class SuppressionResult:
    """A release's suppression pattern. ``reasons``: every suppressed cell -> why (``rules.PRIMARY``,
    ``UNIFORM_OUTCOME``, ``CARRIED_FORWARD``, ``SECONDARY``). ``intervals``: the attacker's final interval for
    every suppressed non-public cell. ``unresolved``: suppressed cells no pattern can protect (public figures pin
    them); a release with any is not safe to publish. ``dropped_from_previous``: cells of the earlier pattern that
    this release no longer publishes."""

    reasons: Mapping[CellKey, str]
    intervals: Mapping[CellKey, Interval]
    unresolved: tuple[CellKey, ...]
    dropped_from_previous: tuple[CellKey, ...] = ()

    @property
    def suppressed(self) -> frozenset[CellKey]:
        return frozenset(self.reasons)

    @property
    def safe(self) -> bool:
        return not self.unresolved

    def is_suppressed(self, key: CellKey) -> bool:
        return tuple(key) in self.reasons

    def published(self, key: CellKey, value: int | None) -> str:
        """The published text of one count cell: ``c`` when suppressed, ``x`` when unavailable, else digits."""
        if self.is_suppressed(key):
            return SUPPRESSED
        if value is None:
            return UNAVAILABLE
        return str(int(value))


def _costs(tables: TableSet, keys: tuple[CellKey, ...], rules: SuppressionRules) -> np.ndarray:
    largest_part = max((tables.values[k] for k in keys if k not in tables.totals), default=1) or 1
    costs = np.empty(len(keys))
    for i, key in enumerate(keys):
        value = tables.values[key]
        cost = 1.0 + (value if value > 0 else rules.zero_weight * largest_part)
        if key in tables.totals:
            cost *= rules.total_weight
        costs[i] = cost * (1.0 + 1e-7 * i / max(len(keys), 1))  # ties broken by key order
    return costs


def solve_with_whole_numbers(objective, constraints, bounds, integrality):
    """scipy's milp result for the problem; the LP relaxation's when that already gives whole numbers.

    An optimum of the relaxation whose integer variables are whole numbers is an optimum of the MILP itself (the
    MILP's feasible set lies within the relaxation's). For the protection LPs here it always was (93 of 93 in the
    demo release, which came out cell for cell the same), and an LP solve costs a third of a MILP's (HiGHS's branch
    and bound set-up): ~0.6 s of the demo's publication. Otherwise the MILP is solved.
    """
    relaxed = milp(objective, constraints=constraints, bounds=bounds)
    whole = integrality == 1
    if relaxed.status == 0 and np.allclose(relaxed.x[whole], np.round(relaxed.x[whole]), rtol=0, atol=1e-9):
        return relaxed
    return milp(objective, constraints=constraints, bounds=bounds, integrality=integrality)


class _Protector:
    """The complementary-suppression LP for one pinned cell (see the module docstring), over the cells linked to it
    by the release's equations: a perturbation of any other cell costs something and cannot move the target."""

    def __init__(self, tables: TableSet, rules: SuppressionRules) -> None:
        self.tables = tables
        self.width = rules.protection_width
        self.keys = tables.private_keys
        self.index = {k: i for i, k in enumerate(self.keys)}
        self.costs = _costs(tables, self.keys, rules)
        self.values = np.array([tables.values[k] for k in self.keys], dtype=float)
        self.rows = []
        for constraint in tables.constraints:
            row = {}
            for key, sign in ((constraint.total, 1.0), *((p, -1.0) for p in constraint.parts)):
                if key in self.index:
                    row[self.index[key]] = sign
            if row:
                self.rows.append(row)
        self.groups = connected_groups(len(self.keys), self.rows)
        self.group_of = {v: g for g, (variables, _) in enumerate(self.groups) for v in variables}

    def group_of_key(self, key: CellKey) -> int:
        """The group of cells linked to ``key`` by the release's equations (a complement never leaves it)."""
        return self.group_of[self.index[key]]

    def group_keys(self, key: CellKey) -> list[CellKey]:
        """Every cell of ``key``'s group: hidden together they leave ``key`` what the rules alone leave it."""
        return [self.keys[cell] for cell in self.groups[self.group_of_key(key)][0]]

    def complements(
        self,
        target: CellKey,
        suppressed: frozenset[CellKey],
        bounds: Mapping[CellKey, tuple[float, float]] | None = None,
        width: float | None = None,
        jump_from: float | None = None,
    ) -> list[CellKey] | None:
        """The published cells to suppress so ``target`` is protected, or None when no pattern can protect it.

        ``bounds``: the range the informed attacker knows for some suppressed cells (rules.prior_range); both
        perturbed releases keep those cells within it, so that attacker cannot tell them from the real one either,
        and the target moves ``width`` (default the protection width) within its own range. ``jump_from``: an empty
        cell that ``bounds`` holds at 0 may instead move to from ``jump_from`` to ``jump_from + width`` in either
        perturbation (a whole-number choice per cell and perturbation: the informed reader knows a complement is 0
        or 6+, so an empty complement can only be told from 6 or more)."""
        bounds = bounds or {}
        width = self.width if width is None else width
        cells, row_ids = self.groups[self.group_of[self.index[target]]]
        local = {cell: i for i, cell in enumerate(cells)}
        n = len(cells)
        t = local[self.index[target]]
        # variables: up_plus[n], up_minus[n], down_plus[n], down_minus[n], a, b
        size = 4 * n + 2
        a_var, b_var = 4 * n, 4 * n + 1
        data, row_index, col_index = [], [], []
        row_count = 0
        for direction in (0, 1):
            plus, minus = 2 * n * direction, 2 * n * direction + n
            for row_id in row_ids:
                for cell, sign in self.rows[row_id].items():
                    data += [sign, -sign]
                    row_index += [row_count, row_count]
                    col_index += [plus + local[cell], minus + local[cell]]
                row_count += 1
        # up: y_t = a ; down: y_t = -b ; a + b = width
        data += [1.0, -1.0, -1.0]
        row_index += [row_count] * 3
        col_index += [t, n + t, a_var]
        data += [1.0, -1.0, 1.0]
        row_index += [row_count + 1] * 3
        col_index += [2 * n + t, 3 * n + t, b_var]
        data += [1.0, 1.0]
        row_index += [row_count + 2] * 2
        col_index += [a_var, b_var]
        rhs = np.zeros(row_count + 3)
        rhs[-1] = width
        matrix = csr_array((data, (row_index, col_index)), shape=(row_count + 3, size))

        keys = [self.keys[cell] for cell in cells]
        values = self.values[cells]
        free = np.array([k in suppressed for k in keys])
        unit_cost = np.where(free, 0.0, self.costs[cells])
        objective = np.concatenate([unit_cost, unit_cost, unit_cost, unit_cost, [0.0, 0.0]])
        floor = np.array([bounds.get(k, (0.0, np.inf))[0] for k in keys])
        ceiling = np.array([bounds.get(k, (0.0, np.inf))[1] for k in keys])
        rise, fall = ceiling - values, values - floor  # how far each cell may move up and down (inf: no ceiling)
        upper = np.concatenate([rise, fall, rise, fall, [min(width, rise[t]), min(width, fall[t])]])
        integrality = np.zeros(size)
        integrality[[a_var, b_var]] = 1
        row_lower = row_upper = rhs
        if jump_from is not None and (jumpers := np.flatnonzero((values == 0) & (ceiling == 0))).size:
            # per jumper and perturbation a 0/1 choice z: z * jump_from <= rise <= z * (jump_from + width)
            count = jumpers.size
            rise[jumpers] = jump_from + width
            upper = np.concatenate([rise, fall, rise, fall, upper[-2:], np.ones(2 * count)])
            objective = np.concatenate([objective, np.zeros(2 * count)])
            integrality = np.concatenate([integrality, np.ones(2 * count)])
            choice_rows = []
            for direction in (0, 1):
                for j, cell in enumerate(jumpers):
                    z = size + direction * count + j
                    choice_rows.append(({2 * n * direction + cell: 1.0, z: -jump_from}, 0.0, np.inf))
                    choice_rows.append(({2 * n * direction + cell: 1.0, z: -(jump_from + width)}, -np.inf, 0.0))
            size += 2 * count
            data, row_index, col_index = [], [], []
            for r, (coefficients, _, _) in enumerate(choice_rows):
                data += list(coefficients.values())
                row_index += [r] * len(coefficients)
                col_index += list(coefficients)
            choices = csr_array((data, (row_index, col_index)), shape=(len(choice_rows), size))
            matrix = vstack([csr_array((matrix.data, matrix.indices, matrix.indptr), shape=(matrix.shape[0], size)),
                             choices], format="csr")  # fmt: skip
            row_lower = np.concatenate([rhs, [low for _, low, _ in choice_rows]])
            row_upper = np.concatenate([rhs, [high for _, _, high in choice_rows]])
        result = solve_with_whole_numbers(
            objective, LinearConstraint(matrix, row_lower, row_upper), Bounds(np.zeros(size), upper), integrality
        )
        if result.status != 0:
            return None
        x = result.x
        change = x[:n] + x[n : 2 * n] + x[2 * n : 3 * n] + x[3 * n : 4 * n]
        return [keys[i] for i in range(n) if change[i] > CHANGE_TOLERANCE and not free[i]]


def constraints_by_cell(constraints: Sequence[Constraint]) -> dict[CellKey, list[int]]:
    """For every cell, the positions of the constraints that name it (as total or part), in order."""
    found: dict[CellKey, list[int]] = defaultdict(list)
    for i, constraint in enumerate(constraints):
        for key in constraint.cells:
            found[key].append(i)
    return found


def _last_resort(
    key: CellKey,
    interval: Interval,
    width: float,
    pattern: set[CellKey],
    protector: _Protector,
    requirement: InformedRequirement,
    moves: Mapping[CellKey, tuple[float, float]],
    informed_attacker: Attacker,
    rules: SuppressionRules,
) -> list[CellKey]:
    """A primary cell the informed attacker's sided LP pins (``interval``) and no perturbation keeping every
    complement on its side protects at the relaxed requirement (``width``): the complements that protect it, [] when
    it already is. Tried in turn: empty cells may jump to 6+ (a MILP; reaching the relaxed requirement so meets the
    exact one); the exact requirement (a MILP over the cell's whole group) may be lower, met as it is or with jumps;
    the exact informed attacker may not pin it; else the cell's whole group is hidden, which leaves it as wide as the
    rules alone do (never needed in the demo release)."""
    floor = complement_floor(rules)
    complements = protector.complements(key, frozenset(pattern), moves, width, floor)
    if complements:
        return complements
    exact = requirement.width(key, interval)
    if interval.protects(exact):
        return []
    if exact < width and (complements := protector.complements(key, frozenset(pattern), moves, exact, floor)):
        return complements
    if informed_attacker.interval(key).protects(exact):
        return []
    return [cell for cell in protector.group_keys(key) if cell not in pattern]


def secondary_suppression(
    tables: TableSet, suppressed: Iterable[CellKey], rules: SuppressionRules = DEFAULT_RULES
) -> tuple[list[CellKey], list[CellKey]]:
    """Complementary suppressions for a pattern: (cells added, in the order added; cells no pattern can protect)."""
    pattern = {tuple(k) for k in suppressed}
    strangers = sorted(k for k in pattern if k not in tables.published and k not in tables.hidden)
    if strangers:
        raise ValueError(f"suppressed cell {describe(strangers[0])} is not a cell of our tables")
    pattern -= tables.public  # already known: nothing to protect
    pattern |= tables.hidden  # never published: always unknown
    bounds = informed_bounds(tables, pattern, rules)  # primary cells: the range the rules give them
    requirement = InformedRequirement(tables, bounds, rules)
    public_alone = PublicAlone(tables, rules)
    # the informed protection LP keeps primary cells in their range and every other cell of ours on its side of
    # "0 or 6+" (it may become a complement, which the informed reader knows is 0 or 6+)
    sides = {
        k: complement_side(tables.values[k], rules)
        for k in tables.private_keys
        if k not in bounds and k not in tables.hidden
    }
    informed_moves = {**sides, **bounds}
    protector = _Protector(tables, rules)
    protected: set[CellKey] = set()
    unresolved: set[CellKey] = set()
    added: list[CellKey] = []
    known = {k: v for k, v in tables.values.items() if k not in pattern}
    constraints_of = constraints_by_cell(tables.constraints)
    constraints = tables.constraints  # the first round's attacker checks every equation of the published figures
    while True:
        attacker = Attacker(constraints, known, sorted(pattern))  # the equations of this pattern, once
        floors = complement_floors(tables, pattern, bounds, rules)
        sided_attacker = attacker.with_bounds({**bounds, **complement_sides(tables, floors, rules)})
        informed_attacker = None  # the exact one (a MILP per group), only for a cell no sided perturbation protects
        # Several targets a round, one per group of linked cells: complements of one group's target cannot move
        # another group's cells, so the pattern is the one a round per target gives (~3x fewer rounds in the demo).
        # A cell of a group that got complements this round waits for the next round's attacker.
        changed: set[int] = set()
        for key in sorted(pattern - protected - unresolved):
            group = protector.group_of_key(key)
            if group in changed:
                continue
            if key in tables.hidden and key not in bounds:  # a hidden count that is not small: nothing to protect
                protected.add(key)
                continue
            if not public_alone.protects(key, attacker.interval(key)):
                complements = protector.complements(key, frozenset(pattern), width=public_alone.width(key))
                if not complements:
                    unresolved.add(key)
                    continue
            elif key not in bounds:
                protected.add(key)
                continue
            else:
                interval = sided_attacker.interval(key)
                width = requirement.relaxed_width(key, interval)
                if interval.protects(width):
                    protected.add(key)
                    continue
                complements = protector.complements(key, frozenset(pattern), informed_moves, width)
                if not complements:
                    if informed_attacker is None:
                        informed_attacker = attacker.with_bounds(bounds, zero_or_at_least=floors)
                    complements = _last_resort(key, interval, width, pattern, protector, requirement,
                                               informed_moves, informed_attacker, rules)  # fmt: skip
                    protected.add(key)
                    if not complements:
                        continue
            changed.add(group)
            for complement in complements:
                pattern.add(complement)
                added.append(complement)
                known.pop(complement, None)
        if not changed:
            return added, sorted(unresolved)
        # Later rounds need only the equations with a suppressed cell: the others hold published cells alone, were
        # checked in the first round and tell the attacker nothing (the pattern only grows). ~60 % of the demo's.
        constraints = [tables.constraints[i] for i in sorted({i for key in pattern for i in constraints_of[key]})]


def suppress(
    tables: TableSet,
    rules: SuppressionRules = DEFAULT_RULES,
    *,
    previous: Iterable[CellKey] = (),
    with_intervals: bool = True,
) -> SuppressionResult:
    """The release's full pattern: primary (rules 2, 4), the earlier pattern carried forward (rule 7), then the
    secondary search (rule 3), with the attacker's final interval for every suppressed cell (none with
    ``with_intervals=False``, for a caller that runs the attacker over the pattern itself, as ``verify`` does)."""
    reasons = primary_suppression(tables, rules)
    carried = carry_forward(previous, tables)
    for key in sorted(carried.forced):
        reasons.setdefault(key, CARRIED_FORWARD)
    added, unresolved = secondary_suppression(tables, reasons, rules)
    for key in added:
        reasons[key] = SECONDARY
    for key in tables.hidden:
        reasons.setdefault(key, HIDDEN)
    reasons = dict(sorted(reasons.items()))
    return SuppressionResult(
        reasons=reasons,
        intervals=attack(tables, reasons) if with_intervals else {},
        unresolved=tuple(unresolved),
        dropped_from_previous=tuple(sorted(carried.dropped)),
    )
