"""Synthetic EHC needs assessment / SEN2 extract set (Rutland), calibrated to the seed needs assessment.

``generate_ehcna(out_dir, seed)`` writes one file per module into ``out_dir/ehcna/``, as the case-management system
exports them on the extract date (``EXTRACT_DATE`` = 30 June 2023, so "2023" is the year to date):
``person_2023-06-30.csv``, ``request_...``, ``assessment_...``, ``plan_...``, ``annual_review_...`` in the contract of
pipeline/sources/ehcna.py. What the data reproduces exactly, for any seed (the dates move, the counts do not):

* seed 7.1 (figures.yaml ``ehcna_timescales_7_1``), calendar years (annual reviews: academic years), the last to
  the extract date:
  requests received 55 (2021), 58 (2022), 27 (2023); decisions whether to assess (outcome Y or N, counted by
  decision date, so a request received late in one year is decided in the next) 68 / 56 / 28, of which within
  6 weeks (decision date - received date <= 42 days) 67 / 54 / 28; new plans (assessment outcome Y) by issue date
  36 / 50 / 5, of which within 20 weeks (plan start - received date <= 140 days, exceptions included) 15 / 33 / 3;
  annual reviews held by their due date, by academic year of the due date (2020/21, 2021/22, 2022/23 to the
  extract date: the seed counts them by academic year), 89% / 81% / 82%.
* seed 6.3 (``ehcp_demand_6_3``): 62 requests received in 2019; EHC plans maintained (started on or before the
  day and not ceased by it) 198 on 17 January 2019 (SEN2 census day) and 305 on 1 April 2023; primary need of the
  April 2023 cohort ASD 100 (32.8%), SEMH 63 (20.7%), MLD 55 (18.0%), SLCN 22 (7.2%) of 305. (Section 6.3 quotes
  53 and 52 requests for 2021 and 2022 and 34 for 2023 from another extract; table 7.1 is followed.)

How: every request has a *kind* (``REQUESTS_BY_KIND``) that fixes its outcome and the window its dates are drawn
from, so the year each event falls in is decided by the plan, not by chance; dates are random inside the windows.
Plans that predate the request history (converted statements, transfers in) come with historical (``H``) requests
and assessments; their number makes the January 2019 count exact, and the number of plans ceasing between the two
dates makes the April 2023 count exact. Annual reviews fall due on each plan anniversary; the number held in time
per academic year is the one that rounds to the seed percentage.

Children link across sources: the 142 EHCP pupils living in Rutland (home LA 857) in the synthetic Spring 2023
census of the same seed (:func:`pipeline.generate.census.generate_census`) are the holders of plans active on the
census day with the same primary need, with their UPN, date of birth, sex and ethnicity. Every other UPN is
allocated at an establishment number (3000-3999) the census generator never uses, so it links to no census pupil.

Deterministic: one ``numpy.random.default_rng([seed, 71])``; no timestamps.
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from pipeline.generate import calibration as cal
from pipeline.generate.census import generate_census, spring_census_date
from pipeline.upn import make_upns

EXTRACT_DATE = dt.date(2023, 6, 30)
MAINTAINED_AT: dict[dt.date, int] = {dt.date(2019, 1, 17): 198, dt.date(2023, 4, 1): 305}  # seed 6.3
COHORT_DATE = dt.date(2023, 4, 1)
# seed 6.3: ASD 32.8%, SEMH 20.7%, MLD 18.0%, SLCN 7.2% of 305 -> 100, 63, 55, 22; the other needs ("compressed
# due to the low number") are plausible and hold at least the Spring 2023 census EHCP pupils of each need.
PRESENTING_NEED_2023_04: dict[str, int] = {
    "ASD": 100, "SEMH": 63, "MLD": 55, "SLCN": 22, "PD": 12, "SPLD": 12, "SLD": 10, "OTH": 9, "HI": 8, "VI": 6,
    "PMLD": 5, "MSI": 3,
}  # fmt: skip
# seed 7.1 ("% Annual Reviews completed in timescale (academic year)") by academic year as EES codes it: its columns
# 2021, 2022 and 2023 YTD are 2020/21, 2021/22 and 2022/23 to the extract date; earlier years plausible
REVIEWS_IN_TIME_PCT = {201718: 84, 201819: 86, 201920: 80, 202021: 89, 202122: 81, 202223: 82}
FIRST_REVIEW_DUE = dt.date(2018, 1, 1)  # the review module's history starts here
LEGACY_CEASED_BEFORE_2019 = 40  # plausible: historical plans that ended before the January 2019 count
CEASED_APRIL_TO_JUNE_2023 = 4  # plausible: ceased after the April 2023 count, before the extract
MODULES = ("person", "request", "assessment", "plan", "annual_review")
COLUMNS: dict[str, tuple[str, ...]] = {
    "person": ("person_id", "upn", "dob", "sex", "ethnicity", "postcode"),
    "request": ("request_id", "person_id", "received_date", "request_outcome", "request_outcome_date"),
    "assessment": ("assessment_id", "request_id", "assessment_outcome", "assessment_outcome_date", "week20_exception"),
    "plan": ("plan_id", "assessment_id", "start_date", "cease_date", "cease_reason", "primary_need"),
    "annual_review": ("plan_id", "review_date", "due_date"),
}

# ------------------------------------------------------------------------------------------------------------
# Requests by year received and kind. A kind fixes: the request outcome and when it is decided (T1: the year it
# was received; T2: received in December, decided in January/February), and for a request that proceeds to
# assessment (Y) what the assessment leads to:
#   W          request withdrawn before a decision (no assessment)          A        decision not yet made
#   N          decided not to assess within 6 weeks (T1)                   N_late   ... after 43-46 days (T1)
#   N_t2       decided not to assess, T2, within 6 weeks
#   s_in       plan issued the same year within 20 weeks                   s_late   ... the same year, late
#   n_in_t1/2  plan issued the next year within 20 weeks (T1 / T2 request) n_late_t1/2 ... the next year, late
#   noplan_N   decided not to issue a plan                                 noplan_W assessment withdrawn
#   inprog     assessment not yet decided at the extract date (A)
#   issue_pending  decided to issue (Y), plan not yet issued at the extract date (no outcome date)
# 2019 (62) and 2021-2023 are seed figures (6.3, 7.1); 2018 and 2020 are plausible. The derived seed figures are
# checked by _check() at import.
REQUESTS_BY_KIND: dict[int, dict[str, int]] = {
    2018: {"W": 2, "N": 7, "N_late": 3, "N_t2": 1, "s_in": 18, "s_late": 8, "n_in_t1": 2, "n_in_t2": 3,
           "n_late_t1": 7, "noplan_N": 3, "noplan_W": 1},  # 55, plausible
    2019: {"W": 3, "N": 8, "N_late": 4, "N_t2": 1, "s_in": 20, "s_late": 8, "n_in_t1": 2, "n_in_t2": 4,
           "n_late_t1": 7, "noplan_N": 4, "noplan_W": 1},  # 62 (seed 6.3)
    2020: {"W": 2, "N": 4, "N_late": 2, "N_t2": 2, "s_in": 12, "s_late": 6, "n_in_t2": 6, "n_late_t1": 5,
           "n_late_t2": 7, "noplan_N": 3, "noplan_W": 1},  # 50, plausible (15 in December: decided in 2021)
    2021: {"W": 1, "N": 10, "N_late": 1, "s_in": 9, "s_late": 9, "n_in_t1": 7, "n_in_t2": 1, "n_late_t1": 12,
           "noplan_N": 4, "noplan_W": 1},  # 55
    2022: {"W": 1, "N": 9, "N_late": 2, "s_in": 25, "s_late": 5, "n_in_t2": 2, "n_late_t1": 2, "noplan_N": 4,
           "noplan_W": 1, "inprog": 7},  # 58
    2023: {"A": 1, "N": 5, "s_in": 1, "noplan_N": 1, "inprog": 17, "issue_pending": 2},  # 27 to 30 June
}  # fmt: skip
T2_KINDS = ("N_t2", "n_in_t2", "n_late_t2")
DECIDED_KINDS = ("N", "N_late", "N_t2", "s_in", "s_late", "n_in_t1", "n_in_t2", "n_late_t1", "n_late_t2",
                 "noplan_N", "noplan_W", "inprog", "issue_pending")  # fmt: skip
NOT_ASSESSED_KINDS = ("W", "A", "N", "N_late", "N_t2")
PLAN_KINDS = {
    "s_in": (0, True),
    "s_late": (0, False),
    "n_in_t1": (1, True),
    "n_in_t2": (1, True),
    "n_late_t1": (1, False),
    "n_late_t2": (1, False),
}  # kind -> (issue year - received year, in time)

SEXES = ("M", "F")
MALE_SHARE = 0.70  # plausible: about 7 in 10 EHC plans are held by boys
RUTLAND_POSTCODE_DISTRICTS = {"LE15": 0.75, "PE9": 0.20, "LE16": 0.05}
POSTCODE_UNIT_LETTERS = np.array(list("ABDEFGHJLNPQRSTUWXYZ"))
UPN_ALLOCATING_LAS = {857: 0.55, 925: 0.20, 855: 0.15, 940: 0.10}  # where a non-census UPN was allocated


def _check() -> None:
    """The kinds table must yield the seed figures (fails at import, not in a report)."""

    def decided(year: int, *, late: bool | None = None) -> int:
        kinds_t1 = [k for k in DECIDED_KINDS if k not in T2_KINDS and (late is None or (k == "N_late") == late)]
        kinds_t2 = [k for k in T2_KINDS if late is not True]  # T2 decisions are all within 6 weeks
        this, last = REQUESTS_BY_KIND.get(year, {}), REQUESTS_BY_KIND.get(year - 1, {})
        return sum(this.get(k, 0) for k in kinds_t1) + sum(last.get(k, 0) for k in kinds_t2)

    def plans(year: int, in_time: bool | None = None) -> int:
        return sum(
            REQUESTS_BY_KIND.get(year - shift, {}).get(kind, 0)
            for kind, (shift, on_time) in PLAN_KINDS.items()
            if in_time is None or on_time == in_time
        )

    expected = {  # seed 7.1 and 6.3
        "requests": {2019: 62, 2021: 55, 2022: 58, 2023: 27},
        "decisions": {2021: 68, 2022: 56, 2023: 28},
        "decisions_in_time": {2021: 67, 2022: 54, 2023: 28},
        "plans": {2021: 36, 2022: 50, 2023: 5},
        "plans_in_time": {2021: 15, 2022: 33, 2023: 3},
    }
    actual = {
        "requests": {y: sum(REQUESTS_BY_KIND[y].values()) for y in expected["requests"]},
        "decisions": {y: decided(y) for y in expected["decisions"]},
        "decisions_in_time": {y: decided(y, late=False) for y in expected["decisions"]},
        "plans": {y: plans(y) for y in expected["plans"]},
        "plans_in_time": {y: plans(y, True) for y in expected["plans"]},
    }
    if actual != expected:
        raise ValueError(f"REQUESTS_BY_KIND does not give the seed figures: {actual} != {expected}")
    if sum(PRESENTING_NEED_2023_04.values()) != MAINTAINED_AT[COHORT_DATE]:
        raise ValueError("PRESENTING_NEED_2023_04 does not add up to the April 2023 count")


_check()


# ------------------------------------------------------------------------------------------------------------
# Dates as int days since 1970-01-01


def _day(year: int, month: int, day: int) -> int:
    return (dt.date(year, month, day) - dt.date(1970, 1, 1)).days


EXTRACT = (EXTRACT_DATE - dt.date(1970, 1, 1)).days


def _between(rng: np.random.Generator, lo, hi, n: int) -> np.ndarray:
    """``n`` uniform integers in [lo, hi] (inclusive; scalar or length-n bounds)."""
    lo, hi = (np.broadcast_to(np.asarray(b, dtype=np.int64), (n,)) for b in (lo, hi))
    if np.any(hi < lo):
        raise ValueError("empty date window")
    return lo + np.floor(rng.random(lo.shape) * (hi - lo + 1)).astype(np.int64)


def _add_years(days: np.ndarray, years: int) -> np.ndarray:
    """The same calendar day ``years`` later (29 February -> 28 February)."""
    d = np.asarray(days, dtype=np.int64).astype("datetime64[D]")
    month = d.astype("datetime64[M]")
    day_of_month = (d - month.astype("datetime64[D]")).astype(np.int64)
    target = month + np.timedelta64(12 * years, "M")
    length = ((target + np.timedelta64(1, "M")).astype("datetime64[D]") - target.astype("datetime64[D]")).astype(
        np.int64
    )
    return target.astype("datetime64[D]").astype(np.int64) + np.minimum(day_of_month, length - 1)


def _year(days: np.ndarray) -> np.ndarray:
    return np.asarray(days, dtype=np.int64).astype("datetime64[D]").astype("datetime64[Y]").astype(np.int64) + 1970


def _academic_year(days: np.ndarray) -> np.ndarray:
    """The academic year (1 September to 31 August) of each day, coded as EES codes it: 202021 = 2020/21."""
    months = np.asarray(days, dtype=np.int64).astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)
    first = (months - 8) // 12 + 1970  # the year of the month 8 months earlier: September -> January
    return first * 100 + (first + 1) % 100


# ------------------------------------------------------------------------------------------------------------
# Requests, assessments and the plans they lead to


def _requests_of_kind(rng: np.random.Generator, year: int, kind: str, n: int) -> dict[str, np.ndarray]:
    """Dates and outcomes of ``n`` requests of one kind received in ``year``. Missing dates are -1."""
    jan1, dec1, dec31 = _day(year, 1, 1), _day(year, 12, 1), _day(year, 12, 31)
    jan1_next, dec31_next = _day(year + 1, 1, 1), _day(year + 1, 12, 31)
    t1_end = _day(year, 11, 15) if year < EXTRACT_DATE.year else _day(year, 5, 15)
    none = np.full(n, -1, dtype=np.int64)
    out = {
        "received": none.copy(),
        "request_outcome": np.full(n, "Y", dtype=object),
        "request_outcome_date": none.copy(),
        "assessment_outcome": np.full(n, "", dtype=object),
        "assessment_outcome_date": none.copy(),
        "plan_start": none.copy(),
        "late_plan": np.zeros(n, dtype=bool),
    }
    if kind == "W":
        out["received"] = _between(rng, jan1, min(dec31, EXTRACT - 1), n)
        out["request_outcome"][:] = "W"
        return out
    if kind == "A":
        out["received"] = _between(rng, _day(year, 6, 1), EXTRACT, n)
        out["request_outcome"][:] = "A"
        return out
    windows = {  # received-date window of each kind
        "N": (jan1, t1_end), "N_late": (jan1, t1_end), "N_t2": (dec1, dec31), "s_in": (jan1, _day(year, 7, 15)),
        "s_late": (jan1, _day(year, 7, 15)), "n_in_t1": (_day(year, 9, 1), t1_end), "n_in_t2": (dec1, dec31),
        "n_late_t1": (_day(year, 6, 1), t1_end), "n_late_t2": (dec1, dec31), "noplan_N": (jan1, t1_end),
        "noplan_W": (jan1, t1_end), "inprog": (_day(year, 9, 1), t1_end), "issue_pending": (jan1, t1_end),
    }  # fmt: skip
    if year == EXTRACT_DATE.year:  # the year to date: every outcome must fall before the extract date
        windows = {
            "N": (jan1, t1_end), "s_in": (jan1, _day(year, 3, 20)), "noplan_N": (jan1, _day(year, 2, 15)),
            "inprog": (jan1, t1_end), "issue_pending": (jan1, _day(year, 3, 1)),
        }  # fmt: skip
    lo, hi = windows[kind]
    received = _between(rng, lo, hi, n)
    if kind == "N_late":
        lag = _between(rng, 43, 46, n)
    elif kind in T2_KINDS:
        lag = _between(rng, 32, 42, n)
    else:
        lag = _between(rng, 14, 42, n)
    out["received"] = received
    out["request_outcome_date"] = received + lag
    if kind in NOT_ASSESSED_KINDS:
        out["request_outcome"][:] = "N"
        return out
    if kind in PLAN_KINDS:
        shift, in_time = PLAN_KINDS[kind]
        if in_time:
            first = np.maximum(lag + 42, 98)
            if shift:
                first = np.maximum(first, jan1_next - received)
            last = np.minimum(140, EXTRACT - received)
            issue = received + _between(rng, first, last, n)
        elif shift == 0:
            issue = _between(rng, received + 141, np.minimum(received + 260, dec31), n)
        else:
            issue = _between(
                rng,
                np.maximum(received + 141, jan1_next),
                np.minimum(np.minimum(received + 330, dec31_next), EXTRACT),
                n,
            )
        out["assessment_outcome"][:] = "Y"
        out["assessment_outcome_date"] = issue  # SEN2: for Y, the date the plan was issued
        out["plan_start"] = issue
        out["late_plan"][:] = not in_time
        return out
    outcome = {"noplan_N": "N", "noplan_W": "W", "inprog": "A", "issue_pending": "Y"}[kind]
    out["assessment_outcome"][:] = outcome
    if kind == "noplan_N":
        out["assessment_outcome_date"] = received + _between(rng, 90, 130, n)
    return out


def _assessed_requests(rng: np.random.Generator) -> pd.DataFrame:
    parts = []
    for year, kinds in REQUESTS_BY_KIND.items():
        for kind, n in kinds.items():
            part = pd.DataFrame(_requests_of_kind(rng, year, kind, n))
            part["kind"] = kind
            parts.append(part)
    frame = pd.concat(parts, ignore_index=True)
    frame["legacy"] = False
    return frame


def _legacy_requests(rng: np.random.Generator, n_active: int) -> pd.DataFrame:
    """Plans that predate the request history: historical (H) request and assessment, no outcome dates."""
    n = n_active + LEGACY_CEASED_BEFORE_2019
    start = _between(rng, _day(2014, 9, 1), _day(2017, 12, 31), n)
    frame = pd.DataFrame({
        "received": start - _between(rng, 100, 300, n),
        "request_outcome": "H",
        "request_outcome_date": -1,
        "assessment_outcome": "H",
        "assessment_outcome_date": -1,
        "plan_start": start,
        "late_plan": False,
        "kind": "legacy",
        "legacy": True,
    }, index=range(n))  # fmt: skip
    frame["cease"] = -1
    ceased = rng.permutation(n)[:LEGACY_CEASED_BEFORE_2019]
    frame.loc[ceased, "cease"] = _between(rng, start[ceased] + 90, _day(2019, 1, 10), ceased.shape[0])
    return frame


def _cease_plans(rng: np.random.Generator, frame: pd.DataFrame) -> None:
    """Cease plans between the two seed counts so that exactly 305 are maintained on 1 April 2023."""
    first = (min(MAINTAINED_AT) - dt.date(1970, 1, 1)).days
    cohort = (COHORT_DATE - dt.date(1970, 1, 1)).days
    has_plan = frame["plan_start"].to_numpy() >= 0
    start = frame["plan_start"].to_numpy()
    cease = frame["cease"].to_numpy().copy()
    issued_between = int(np.sum(has_plan & (start > first) & (start <= cohort)))
    to_cease = MAINTAINED_AT[min(MAINTAINED_AT)] + issued_between - MAINTAINED_AT[COHORT_DATE]
    candidates = np.flatnonzero(has_plan & (cease < 0) & (start <= _day(2022, 9, 30)))
    if not 0 <= to_cease <= candidates.shape[0]:
        raise ValueError("cannot reach the April 2023 count by ceasing plans")
    weight = np.where(frame["legacy"].to_numpy()[candidates], 3.0, 1.0)  # older plans end more often
    keys = rng.random(candidates.shape[0]) ** (1.0 / weight)  # weighted sampling without replacement
    chosen = candidates[np.argsort(-keys)[:to_cease]]
    cease[chosen] = _between(rng, np.maximum(start[chosen] + 180, first + 1), cohort, chosen.shape[0])
    later = np.flatnonzero(has_plan & (cease < 0) & (start <= _day(2022, 12, 31)))
    later = later[rng.permutation(later.shape[0])[:CEASED_APRIL_TO_JUNE_2023]]
    cease[later] = _between(rng, cohort + 1, EXTRACT - 1, later.shape[0])
    frame["cease"] = cease


def _active_on(frame: pd.DataFrame, day: dt.date) -> np.ndarray:
    d = (day - dt.date(1970, 1, 1)).days
    start, cease = frame["plan_start"].to_numpy(), frame["cease"].to_numpy()
    return (start >= 0) & (start <= d) & ((cease < 0) | (cease > d))


# ------------------------------------------------------------------------------------------------------------
# People


def _census_ehcp_pupils(seed: int) -> pd.DataFrame:
    """EHCP pupils living in Rutland in the Spring 2023 census of this seed (the census generator's own output)."""
    with tempfile.TemporaryDirectory() as tmp:
        [path] = generate_census(Path(tmp), "rutland", seed, [2023])
        census = pd.read_csv(path, dtype=str, keep_default_na=False)
    census = census[
        (census["sen_provision"] == "E")
        & census["enrol_status"].isin(["C", "M"])
        & (census["home_la_code"] == cal.LA_CODE)
    ].copy()
    census["need"] = census["sen_primary_need"].replace({"AUT": "ASD"})
    census["dob_days"] = (pd.to_datetime(census["dob"]) - pd.Timestamp("1970-01-01")).dt.days
    return census.sort_values("upn").reset_index(drop=True)


def _link_census(rng: np.random.Generator, frame: pd.DataFrame, census: pd.DataFrame) -> np.ndarray:
    """For each census pupil the plan row they hold (-1: none fits): same need, active on census day and at the
    extract date, requested at least a year after birth. Feasible sets are nested by date of birth, so dealing
    the youngest pupil first never strands an older one."""
    census_day = (spring_census_date(EXTRACT_DATE.year) - dt.date(1970, 1, 1)).days
    start, cease = frame["plan_start"].to_numpy(), frame["cease"].to_numpy()
    eligible = (start >= 0) & (start <= census_day) & (cease < 0)
    latest_dob = frame["received"].to_numpy() - 365
    taken = np.zeros(len(frame), dtype=bool)
    needs = frame["primary_need"].to_numpy()
    holder = np.full(len(census), -1, dtype=np.int64)
    for i in np.argsort(-census["dob_days"].to_numpy(), kind="stable"):
        options = np.flatnonzero(
            eligible & ~taken & (needs == census["need"].iat[i]) & (latest_dob >= census["dob_days"].iat[i])
        )
        if options.shape[0]:
            holder[i] = options[rng.integers(options.shape[0])]
            taken[holder[i]] = True
    return holder


def _serials(keys: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """1.. within each key, in random order."""
    order = np.lexsort((rng.random(keys.shape[0]), keys))
    sorted_keys = keys[order]
    starts = np.flatnonzero(np.r_[True, sorted_keys[1:] != sorted_keys[:-1]])
    first = np.repeat(starts, np.diff(np.r_[starts, keys.shape[0]]))
    serial = np.empty(keys.shape[0], dtype=np.int64)
    serial[order] = np.arange(keys.shape[0]) - first + 1
    return serial


def _choice(rng: np.random.Generator, weights: dict, n: int) -> np.ndarray:
    values = np.array(list(weights), dtype=object)
    p = np.array(list(weights.values()), dtype=float)
    return values[rng.choice(len(values), size=n, p=p / p.sum())]


def _people(rng: np.random.Generator, frame: pd.DataFrame, census: pd.DataFrame) -> pd.DataFrame:
    n = len(frame)
    anchor = np.where(frame["legacy"].to_numpy(), frame["plan_start"].to_numpy(), frame["received"].to_numpy())
    age_years = np.where(frame["legacy"].to_numpy(), _between(rng, 2, 15, n), _between(rng, 2, 17, n))
    dob = anchor - age_years * 365 - _between(rng, 0, 364, n)
    la = _choice(rng, UPN_ALLOCATING_LAS, n).astype(np.int64)
    estab = 3000 + rng.integers(0, 1000, n)
    alloc_year = np.minimum(_year(dob) + 4, EXTRACT_DATE.year)
    serial = _serials((la * 10_000 + estab) * 100 + alloc_year % 100, rng)
    upn = make_upns(la, estab, alloc_year, serial).astype(object)
    upn[rng.random(n) < 0.06] = ""  # not known (never at school in England, or not recorded)
    people = pd.DataFrame({
        "dob": dob,
        "upn": upn,
        "sex": np.where(rng.random(n) < MALE_SHARE, "M", "F").astype(object),
        "ethnicity": _choice(rng, cal.SEN_ETHNICITY_2023, n),
        "postcode": (
            _choice(rng, RUTLAND_POSTCODE_DISTRICTS, n).astype(str).astype(object) + " "
            + rng.integers(0, 10, n).astype(str).astype(object)
            + POSTCODE_UNIT_LETTERS[rng.integers(0, POSTCODE_UNIT_LETTERS.shape[0], n)].astype(object)
            + POSTCODE_UNIT_LETTERS[rng.integers(0, POSTCODE_UNIT_LETTERS.shape[0], n)].astype(object)
        ),
    })  # fmt: skip
    people.loc[rng.random(n) < 0.02, "postcode"] = ""
    holder = _link_census(rng, frame, census)
    linked = holder >= 0
    rows = holder[linked]
    people.loc[rows, "upn"] = census.loc[linked, "upn"].to_numpy()
    people.loc[rows, "dob"] = census.loc[linked, "dob_days"].to_numpy()
    people.loc[rows, "sex"] = census.loc[linked, "gender"].to_numpy()
    people.loc[rows, "ethnicity"] = census.loc[linked, "ethnicity"].to_numpy()
    return people


def _cease_reasons(rng: np.random.Generator, frame: pd.DataFrame, dob: np.ndarray) -> np.ndarray:
    cease = frame["cease"].to_numpy()
    age = (cease - dob) / 365.25
    adult = _choice(rng, {"1": 0.45, "3": 0.25, "4": 0.2, "9": 0.1}, len(frame))
    child = _choice(rng, {"2": 0.35, "5": 0.35, "7": 0.1, "6": 0.05, "9": 0.15}, len(frame))
    reason = np.where(age >= 19, adult, child).astype(object)
    reason[cease < 0] = ""
    return reason


# ------------------------------------------------------------------------------------------------------------
# Annual reviews


def in_time_count(due: int, pct: int) -> int:
    """The number of ``due`` reviews held in time whose share rounds (half up) to ``pct`` percent, nearest first."""
    for k in sorted(range(due + 1), key=lambda k: abs(k - pct * due / 100)):
        share = 100 * k / due
        if int(share + 0.5) == pct and share % 1 != 0.5:
            return k
    raise ValueError(f"no count of {due} reviews rounds to {pct}%")


def _annual_reviews(rng: np.random.Generator, frame: pd.DataFrame) -> pd.DataFrame:
    start, cease = frame["plan_start"].to_numpy(), frame["cease"].to_numpy()
    rows = np.flatnonzero(start >= 0)
    due_parts, plan_parts = [], []
    for k in range(1, 11):
        due = _add_years(start[rows], k)
        keep = (due >= (FIRST_REVIEW_DUE - dt.date(1970, 1, 1)).days) & (due <= EXTRACT)
        keep &= (cease[rows] < 0) | (due < cease[rows])
        due_parts.append(due[keep])
        plan_parts.append(rows[keep])
    due = np.concatenate(due_parts)
    plan_row = np.concatenate(plan_parts)
    in_time = np.zeros(due.shape[0], dtype=bool)
    years = _academic_year(due)
    for year, pct in REVIEWS_IN_TIME_PCT.items():
        members = np.flatnonzero(years == year)
        if members.shape[0]:
            chosen = rng.permutation(members)[: in_time_count(members.shape[0], pct)]
            in_time[chosen] = True
    review = np.where(in_time, due - _between(rng, 0, 28, due.shape[0]), due + _between(rng, 1, 75, due.shape[0]))
    review[~in_time & (review > EXTRACT)] = -1  # not held yet: late
    return pd.DataFrame({"plan_row": plan_row, "due": due, "review": review})


# ------------------------------------------------------------------------------------------------------------
# Assembly and writing


def _ids(rng: np.random.Generator, prefix: str, n: int, start: int) -> np.ndarray:
    """Record ids numbered in random order, so an id says nothing about the dates."""
    return np.char.add(prefix, (start + rng.permutation(n)).astype(str)).astype(object)


def _date_text(days: np.ndarray) -> np.ndarray:
    days = np.asarray(days, dtype=np.int64)
    text = days.astype("datetime64[D]").astype(str).astype(object)
    text[days < 0] = ""
    return text


def ehcna_frames(seed: int = 2023) -> dict[str, pd.DataFrame]:
    """The five module tables as text (what generate_ehcna writes), one DataFrame per module."""
    rng = np.random.default_rng([seed, 71])
    assessed = _assessed_requests(rng)
    assessed["cease"] = -1
    first = (min(MAINTAINED_AT) - dt.date(1970, 1, 1)).days
    assessed_active = int(np.sum((assessed["plan_start"] >= 0) & (assessed["plan_start"] <= first)))
    legacy = _legacy_requests(rng, MAINTAINED_AT[min(MAINTAINED_AT)] - assessed_active)
    frame = pd.concat([legacy, assessed], ignore_index=True)
    _cease_plans(rng, frame)

    # primary need: the exact bag over the April 2023 cohort, plausible weights elsewhere
    has_plan = frame["plan_start"].to_numpy() >= 0
    cohort = np.flatnonzero(_active_on(frame, COHORT_DATE))
    needs = np.full(len(frame), "", dtype=object)
    needs[has_plan] = _choice(rng, PRESENTING_NEED_2023_04, int(has_plan.sum()))
    bag = np.repeat(np.array(list(PRESENTING_NEED_2023_04), dtype=object), list(PRESENTING_NEED_2023_04.values()))
    needs[cohort] = rng.permutation(bag)
    frame["primary_need"] = needs

    people = _people(rng, frame, _census_ehcp_pupils(seed))
    reasons = _cease_reasons(rng, frame, people["dob"].to_numpy())
    reviews = _annual_reviews(rng, frame)

    n = len(frame)
    person_id = _ids(rng, "P", n, 100001)
    request_id = _ids(rng, "R", n, 200001)
    assessment_id = _ids(rng, "A", n, 300001)
    plan_id = _ids(rng, "EHCP", n, 400001)
    assessed_row = frame["assessment_outcome"].to_numpy() != ""
    late = frame["late_plan"].to_numpy()
    exception = np.where(late & (rng.random(n) < 0.25), "1", "0").astype(object)
    exception[frame["legacy"].to_numpy()] = ""

    tables = {
        "person": pd.DataFrame({
            "person_id": person_id, "upn": people["upn"], "dob": _date_text(people["dob"]), "sex": people["sex"],
            "ethnicity": people["ethnicity"], "postcode": people["postcode"],
        }),
        "request": pd.DataFrame({
            "request_id": request_id, "person_id": person_id, "received_date": _date_text(frame["received"]),
            "request_outcome": frame["request_outcome"],
            "request_outcome_date": _date_text(frame["request_outcome_date"]),
        }),
        "assessment": pd.DataFrame({
            "assessment_id": assessment_id, "request_id": request_id,
            "assessment_outcome": frame["assessment_outcome"],
            "assessment_outcome_date": _date_text(frame["assessment_outcome_date"]), "week20_exception": exception,
        })[assessed_row],
        "plan": pd.DataFrame({
            "plan_id": plan_id, "assessment_id": assessment_id, "start_date": _date_text(frame["plan_start"]),
            "cease_date": _date_text(frame["cease"]), "cease_reason": reasons, "primary_need": frame["primary_need"],
        })[has_plan],
        "annual_review": pd.DataFrame({
            "plan_id": plan_id[reviews["plan_row"].to_numpy()], "review_date": _date_text(reviews["review"]),
            "due_date": _date_text(reviews["due"]),
        }),
    }  # fmt: skip
    sort_keys = {"annual_review": ["plan_id", "due_date"]}
    return {
        module: table.sort_values(sort_keys.get(module, [COLUMNS[module][0]])).reset_index(drop=True)[
            list(COLUMNS[module])
        ]
        for module, table in tables.items()
    }


def generate_ehcna(out_dir: Path, seed: int = 2023) -> list[Path]:
    """Write the EHCNA extract set (one CSV per module) into ``out_dir / "ehcna"``; return the paths."""
    folder = Path(out_dir) / "ehcna"
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for module, table in ehcna_frames(seed).items():
        path = folder / f"{module}_{EXTRACT_DATE.isoformat()}.csv"
        tmp = path.with_name(path.name + ".tmp")
        table.to_csv(tmp, index=False, lineterminator="\n")
        os.replace(tmp, path)
        paths.append(path)
    return paths
