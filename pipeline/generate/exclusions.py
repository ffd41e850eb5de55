"""Synthetic suspensions and permanent exclusions (Rutland), calibrated to the seed needs assessment, section 6.6.

``generate_exclusions(out_dir, seed)`` writes one extract per academic year into ``out_dir/exclusions/`` in the
contract of :mod:`pipeline.sources.exclusions`: ``exclusions_2020-21.csv`` as an older system exports it (DfE's
codes FIXD / PERM, academic year ``202021``) and ``exclusions_2021-22.csv`` (``suspension`` / ``permanent``,
``2021/22``). One row per suspension or permanent exclusion.

Seed 6.6 (figures.yaml ``exclusions_6_6``), academic year 2021/22, children with SEND (EHC plan or SEN support in
the Spring 2022 census): 51 suspended, 1 of whom was later permanently excluded, and 3 more permanently excluded
without a suspension that year. PLAN holds them per SEN status, with children without SEN beside them (plausible:
about as many again, as in England, where pupils with SEN are about half of the pupils suspended).

Who: pupils of the generated Spring census of the academic year, same seed (:mod:`pipeline.generate.linked_census`):
the census of January 2022 for 2021/22, of January 2021 for 2020/21, with their census SEN status - the marts take
SEN status from that census, not from this extract. Secondary pupils and pupils with SEMH needs are the likeliest
to be suspended (weights below). A few suspended pupils joined a school after the census (UPNs allocated at
establishments 5000-5999, used by no other generator): they are in no census, so the marts count them as no SEN.

Events: suspensions per child 1 + Poisson (more for pupils with an EHC plan), on school days of the academic year
in date order; a child suspended and then permanently excluded has the exclusion after the last suspension.
Sessions (half-days) lost: mostly 2-10, a lunchtime suspension 1, a few halves; a permanent exclusion 6-20 whole
sessions (until the local authority's provision starts). Reasons: DfE codes, persistent disruption the commonest.

Deterministic: ``numpy.random.default_rng([seed, 66, year])``.
"""

from __future__ import annotations

import csv
import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from pipeline.generate.calibration import LA_CODE
from pipeline.generate.census import spring_census_date
from pipeline.generate.linked_census import census_pupils
from pipeline.upn import make_upns

HEADER = ("academic_year", "upn", "exclusion_type", "start_date", "sessions", "reason")


@dataclass(frozen=True)
class Children:
    """Children of one SEN status in one academic year, by what happened to them."""

    suspended_only: int  # suspended, not permanently excluded
    suspended_then_permanent: int  # suspended, later permanently excluded the same year
    permanent_only: int  # permanently excluded, no suspension that year


@dataclass(frozen=True)
class YearPlan:
    census_year: int  # the Spring census of the academic year
    academic_year: str  # as the extract writes it
    codes: tuple[str, str]  # how the extract writes (suspension, permanent)
    children: dict[str, Children]  # E, K, N
    joined_after_census: int  # suspended children in no census (no SEN in the marts)


PLAN: dict[str, YearPlan] = {
    "2020-21": YearPlan(2021, "202021", ("FIXD", "PERM"), {
        "E": Children(9, 0, 0), "K": Children(27, 0, 1), "N": Children(40, 0, 1)}, 1),
    # seed 6.6: SEND suspended 13 + 37 + 1 = 51; of whom later permanently excluded 1; permanent only 1 + 2 = 3
    "2021-22": YearPlan(2022, "2021/22", ("suspension", "permanent"), {
        "E": Children(13, 0, 1), "K": Children(37, 1, 2), "N": Children(56, 1, 1)}, 2),
}  # fmt: skip

# ---- plausible shape (no seed figure depends on these) -------------------------------------------------------
EXTRA_SUSPENSIONS = {"E": 1.3, "K": 0.9, "N": 0.5}  # Poisson mean of suspensions after the first
YEAR_GROUP_WEIGHT = {"R": 0.05, "1": 0.1, "2": 0.15, "3": 0.2, "4": 0.25, "5": 0.3, "6": 0.4, "7": 0.9, "8": 1.3,
                     "9": 1.5, "10": 1.5, "11": 1.1, "12": 0.15, "13": 0.1}  # fmt: skip
NEED_WEIGHT = {"SEMH": 5.0, "ASD": 1.6, "MLD": 1.3, "SLCN": 1.2, "SPLD": 1.0, "NSA": 1.0}  # others 0.6
SUSPENSION_SESSIONS = {"2": 0.40, "4": 0.20, "6": 0.14, "10": 0.10, "1": 0.08, "3": 0.04, "8": 0.03, "2.5": 0.01}
SUSPENSION_REASONS = {"PD": 30, "VA": 15, "PP": 12, "VP": 10, "PA": 6, "DA": 4, "DM": 4, "OW": 3, "BU": 3,
                      "MT": 3, "RA": 2, "SM": 2, "TH": 2, "LG": 1, "DS": 1, "": 2}  # fmt: skip
PERMANENT_REASONS = {"PD": 4, "PA": 3, "DA": 2, "OW": 2, "PP": 1}
UPN_ESTABS = (5000, 6000)


def generate_exclusions(out_dir: Path, seed: int = 2023) -> list[Path]:
    """Write one extract per academic year of PLAN into ``out_dir / "exclusions"``; return the paths."""
    folder = Path(out_dir) / "exclusions"
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for label in PLAN:
        rows = exclusion_rows(seed, label)
        path = folder / f"exclusions_{label}.csv"
        tmp = path.with_name(path.name + ".tmp")
        with tmp.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(HEADER)
            writer.writerows(rows[list(HEADER)].itertuples(index=False, name=None))
        os.replace(tmp, path)
        paths.append(path)
    return paths


def exclusion_rows(seed: int, label: str) -> pd.DataFrame:
    """The rows of one academic year's extract (HEADER plus provision, the census SEN status used to plan it)."""
    plan = PLAN[label]
    rng = np.random.default_rng([seed, 66, plan.census_year])
    census = census_pupils(seed, plan.census_year)
    first_day, last_day = dt.date(plan.census_year - 1, 9, 6), dt.date(plan.census_year, 7, 20)
    days = school_days(first_day, last_day)
    events = []
    for provision, children in plan.children.items():
        pool = census[census.sen_provision == provision]
        chosen = _pick(rng, pool, children.suspended_only + children.suspended_then_permanent + children.permanent_only)
        kinds = ["suspended_only"] * children.suspended_only + ["then_permanent"] * children.suspended_then_permanent
        kinds += ["permanent_only"] * children.permanent_only
        for upn, kind in zip(chosen, rng.permutation(kinds), strict=True):
            events += _child_events(rng, upn, str(kind), provision, days, plan.codes)
    for upn in _joined_after_census(rng, plan):
        events += _child_events(rng, upn, "suspended_only", "not in census", days[days > _census_day(plan)],
                                plan.codes)  # fmt: skip
    rows = pd.DataFrame(events)
    rows.insert(0, "academic_year", plan.academic_year)
    rows = rows.sort_values(["start_date", "upn", "exclusion_type"], kind="stable").reset_index(drop=True)
    rows["start_date"] = rows.start_date.map(lambda d: d.isoformat())
    _check(rows, plan)
    return rows


def school_days(first: dt.date, last: dt.date) -> np.ndarray:
    """Weekdays from ``first`` to ``last`` outside the Christmas and Easter holidays (approximate), as dates."""
    days = pd.bdate_range(first, last)
    holiday = ((days.month == 12) & (days.day >= 20)) | ((days.month == 1) & (days.day <= 3))
    holiday |= (days.month == 4) & (days.day <= 14)
    return np.array([d.date() for d in days[~holiday]])


def _census_day(plan: YearPlan) -> dt.date:
    return spring_census_date(plan.census_year)


def _pick(rng: np.random.Generator, pool: pd.DataFrame, count: int) -> np.ndarray:
    """``count`` UPNs of ``pool`` without replacement, leaning on year group and primary need."""
    weights = pool.ncyear_actual.map(YEAR_GROUP_WEIGHT).fillna(0.0).to_numpy(dtype=float, copy=True)
    weights *= pool.sen_primary_need.replace({"AUT": "ASD"}).map(NEED_WEIGHT).fillna(0.6).to_numpy(dtype=float)
    if count > np.count_nonzero(weights):
        raise ValueError(f"the census holds {np.count_nonzero(weights)} pupils to choose {count} from")
    keys = np.log(rng.random(weights.shape[0])) / np.maximum(weights, 1e-12)
    return pool.upn.to_numpy()[np.sort(np.argsort(-keys, kind="stable")[:count])]


def _draw(rng: np.random.Generator, weights: dict[str, float]) -> str:
    keys = list(weights)
    p = np.array([weights[k] for k in keys], dtype=float)
    return keys[int(rng.choice(len(keys), p=p / p.sum()))]


def _child_events(rng, upn: str, kind: str, provision: str, days: np.ndarray, codes: tuple[str, str]) -> list[dict]:
    """One child's suspensions (in date order, at most 45 school days in all) and permanent exclusion."""
    suspension, permanent = codes
    n_suspensions = 0 if kind == "permanent_only" else 1 + int(rng.poisson(EXTRA_SUSPENSIONS.get(provision, 0.5)))
    n_days = n_suspensions + (kind != "suspended_only")
    starts = np.sort(rng.choice(days, n_days, replace=False))
    events = []
    total = 0.0
    for start in starts[:n_suspensions]:
        sessions = _draw(rng, SUSPENSION_SESSIONS)
        if total + float(sessions) > 90:
            break
        total += float(sessions)
        events.append({"upn": upn, "exclusion_type": suspension, "start_date": start, "sessions": sessions,
                       "reason": _draw(rng, SUSPENSION_REASONS), "provision": provision})  # fmt: skip
    if kind != "suspended_only":
        events.append({"upn": upn, "exclusion_type": permanent, "start_date": starts[-1],
                       "sessions": str(int(rng.integers(6, 21))), "reason": _draw(rng, PERMANENT_REASONS),
                       "provision": provision})  # fmt: skip
    return events


def _joined_after_census(rng: np.random.Generator, plan: YearPlan) -> np.ndarray:
    n = plan.joined_after_census
    allocated = rng.integers(plan.census_year - 12, plan.census_year - 5, n)  # secondary-age pupils
    return make_upns(int(LA_CODE), rng.integers(*UPN_ESTABS, n), allocated, rng.choice(1000, n, replace=False))


def _check(rows: pd.DataFrame, plan: YearPlan) -> None:
    """The rows reproduce the plan's children per SEN status (fails at generation, not in a report)."""
    suspension, permanent = plan.codes
    problems = []
    for provision, children in plan.children.items():
        mine = rows[rows.provision == provision]
        suspended = set(mine.upn[mine.exclusion_type == suspension])
        excluded = set(mine.upn[mine.exclusion_type == permanent])
        got = Children(len(suspended - excluded), len(suspended & excluded), len(excluded - suspended))
        if got != children:
            problems.append(f"{provision}: {got} != {children}")
    if rows.duplicated(["upn", "start_date", "exclusion_type"]).any():
        problems.append("one child with two events of one type on one day")
    if problems:
        raise AssertionError(
            f"exclusions plan {plan.academic_year} does not reproduce the seed: " + "; ".join(problems)
        )
