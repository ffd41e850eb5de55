"""Synthetic school census SEN extracts (Spring census), calibrated to the seed needs assessment.

``generate_census(out_dir, scale, seed, years)`` writes ``out_dir/census/<year>_spring.csv`` per census in the
contract of pipeline/sources/census.py. At scale ``rutland`` the figures of
:mod:`pipeline.generate.calibration` are reproduced exactly (counts over enrol_status C/M rows, needs after
AUT -> ASD); ``county`` (~230,000 pupils) and ``national`` (~9,000,000) have the same shape, scaled.

How the exact figures come out: every attribute is drawn as a *bag* -- an array holding exactly the planned
number of each value -- rather than row by row. Where an attribute should lean on another (boys more often
ASD, EHCP pupils with SLD at the special school, EAL by ethnicity) the bag is dealt by weighted sampling
without replacement (Efraimidis-Spirakis keys), which bends who gets what without changing how many.

What the files look like (for the ingest and the marts):

* one row per pupil with enrol_status ``C``; about 0.5% of pupils are dual registered: their row has ``M``,
  and a second row with ``S`` at another school of the same phase carries the same UPN, SEN fields, dob,
  NC year, FSM and home LA. Every calibrated figure counts C and M rows only.
* from 2023 about a third of ASD primary (and secondary) needs are coded ``AUT``; figures are after AUT->ASD.
* empty (not quoted) sen_primary_need / sen_secondary_need for provision N; NSA only with K; all dates ISO;
  booleans ``true``/``false``; first_language ENG, ENB (~1% of English speakers) or a specific code / OTH
  (never REF/NOT); UPNs are permanent ones (no letter-final temporary UPNs); rows sorted by laestab, NC year.
* SEN pupils of the year groups assessed in 2021/22 (reception, years 2, 6, 11) are at least the seed 8 cohorts
  in Spring 2022 (``calibration.SEN_YEAR_GROUP_FLOOR``): a year group short of its floor takes pupils of the same
  provision from other year groups of the same phase group, so every other planned count holds. Rutland only.
* ``county``: schools in LA 886 (a county-sized authority), homes there or in neighbours; ``national``:
  schools in ~100 English LAs. A year outside 2015..2023 reuses the figures of the nearest calibrated year.

Everything is numpy-vectorised and the CSV is written by DuckDB from integer and categorical columns (the UPN
string is assembled in SQL), so no Python object is made per row. Deterministic: each census draws from
``numpy.random.default_rng([seed, year])`` and the schools from ``default_rng([seed, 0])``; no timestamps.
"""

from __future__ import annotations

import datetime as dt
import math
import os
from dataclasses import dataclass, replace
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from pipeline.generate import calibration as cal
from pipeline.upn import make_upn_parts

COLUMNS = (
    "upn", "laestab", "census_date", "phase", "ncyear_actual", "enrol_status", "dob", "gender", "ethnicity",
    "first_language", "sen_provision", "sen_primary_need", "sen_secondary_need", "fsm_eligible",
    "pupil_premium", "home_la_code",
)  # fmt: skip

SCALES: dict[str, int | None] = {
    "rutland": None,
    "county": 230_000,
    "national": 9_000_000,
}  # pupils per census
DEFAULT_YEARS_BY_SCALE = {
    "rutland": list(cal.DEFAULT_YEARS),
    "county": [2022, 2023],
    "national": [2022, 2023],
}

# Codes (category order fixes the integer codes used below)
PHASES = ("PRIMARY", "SECONDARY", "SPECIAL")
PRIMARY, SECONDARY, SPECIAL = 0, 1, 2
NC_YEARS = ("N1", "N2", "R", *(str(y) for y in range(1, 15)))
NC_AGE = np.array([2, 3, 4, *range(5, 19)])  # age on 31 August before the academic year starts
ENROL = ("C", "M", "S")
GENDERS = ("M", "F")
PROVISIONS = ("N", "K", "E")
N_, K_, E_ = 0, 1, 2
NEEDS = ("SPLD", "MLD", "SLD", "PMLD", "SEMH", "SLCN", "HI", "VI", "MSI", "PD", "ASD", "OTH", "NSA", "AUT")
NEED_INDEX = {code: i for i, code in enumerate(NEEDS)}
ETHNICITIES = (
    "WBRI", "WOTH", "WIRI", "WIRT", "WROM", "MWBC", "MWBA", "MWAS", "MOTH", "AIND", "APKN", "ABAN", "AOTH",
    "BCRB", "BAFR", "BOTH", "CHNE", "OOTH", "REFU", "NOBT",
)  # fmt: skip
ETH_INDEX = {code: i for i, code in enumerate(ETHNICITIES)}
NOT_MINORITY = ("WBRI", "REFU", "NOBT")
LANGUAGES = ("ENG", "ENB", "POL", "LIT", "POR", "TUR", "PNJ", "URD", "GUJ", "BNG", "ARA", "SOM", "OTH")

# ------------------------------------------------------------------------------------------------------------
# How attributes lean on each other (relative weights; they never change a planned count)
NEED_AGE_LEAN = {  # need -> (primary-group weight, secondary-group weight)
    "NSA": (2.0, 0.5), "SLCN": (2.5, 0.5), "SPLD": (0.5, 1.6), "SEMH": (0.8, 1.4), "MLD": (1.0, 1.1),
}  # fmt: skip
MALE_ODDS = {"ASD": 4.0, "SEMH": 2.5, "SLCN": 2.3, "SPLD": 1.6, "MLD": 1.5, "NSA": 1.6, "SLD": 1.5,
             "OTH": 1.3, "PD": 1.2}  # fmt: skip
SPECIAL_SCHOOL_LEAN = {"PMLD": 60.0, "SLD": 40.0, "MSI": 10.0, "ASD": 4.0, "PD": 2.0, "SEMH": 1.5}
PUPIL_PREMIUM_LEAN = {"SEMH": 1.8, "MLD": 1.5, "NSA": 1.2, "ASD": 0.8, "SPLD": 0.8}
SECONDARY_NEED_WEIGHTS = {"SLCN": 3, "SEMH": 3, "MLD": 2, "SPLD": 2, "ASD": 1.5, "OTH": 1, "PD": 0.7,
                          "HI": 0.3, "VI": 0.3, "SLD": 0.2, "MSI": 0.05, "PMLD": 0.05}  # fmt: skip
NOT_ENGLISH_LEAN = {  # odds that a pupil of this ethnicity has a first language other than English
    "WBRI": 0.003, "WIRI": 0.05, "WIRT": 0.3, "WROM": 3, "WOTH": 3, "MWBC": 0.1, "MWBA": 0.4, "MWAS": 0.4,
    "MOTH": 0.6, "AIND": 2, "APKN": 2, "ABAN": 2, "AOTH": 2.5, "BCRB": 0.1, "BAFR": 2, "BOTH": 1.5,
    "CHNE": 2.5, "OOTH": 2.5, "REFU": 0.3, "NOBT": 0.3,
}  # fmt: skip
# first language of pupils whose first language is not English, by ethnicity (default: _LANG_OTHER)
LANGUAGE_BY_ETHNICITY = {
    "WOTH": {"POL": 5, "LIT": 2, "POR": 1.5, "TUR": 0.5, "OTH": 3},
    "WROM": {"POL": 1, "OTH": 4},
    "WIRT": {"OTH": 1},
    "AIND": {"PNJ": 3, "GUJ": 3, "URD": 0.5, "OTH": 2},
    "APKN": {"URD": 5, "PNJ": 3, "OTH": 1},
    "ABAN": {"BNG": 8, "OTH": 1},
    "AOTH": {"OTH": 3, "ARA": 1, "URD": 1, "PNJ": 1},
    "BAFR": {"SOM": 2, "OTH": 4, "ARA": 1, "POR": 0.5},
    "BOTH": {"OTH": 3, "SOM": 1},
    "OOTH": {"ARA": 4, "TUR": 1, "OTH": 3},
}
_LANG_OTHER = {"OTH": 3, "POL": 1, "ARA": 0.5, "POR": 0.5}

# ------------------------------------------------------------------------------------------------------------
# Schools
# Rutland: 20 primaries (2xxx; size weights, nursery class), 3 secondaries (4xxx), 1 special school (7xxx).
RUTLAND_PRIMARIES = (  # (establishment number, relative size, has a nursery class)
    (2001, 420, True), (2003, 90, False), (2006, 210, True), (2011, 60, False), (2014, 180, False),
    (2019, 105, False), (2022, 320, True), (2027, 75, False), (2031, 150, False), (2036, 45, False),
    (2040, 210, True), (2044, 95, False), (2049, 130, False), (2053, 400, True), (2058, 70, False),
    (2062, 200, True), (2067, 110, False), (2071, 85, False), (2076, 240, True), (2080, 140, False),
)  # fmt: skip
RUTLAND_SECONDARIES = ((4000, 1100), (4001, 950), (4002, 800))
RUTLAND_SPECIALS = ((7000, 1),)
# county: one county-sized LA (Kent is about this size) and where its out-of-county pupils live
COUNTY_LA_CODE = "886"
COUNTY_OUT_OF_COUNTY_HOME_LA = {"887": 40, "845": 20, "936": 15, "305": 10, "303": 10, "938": 5}
# national: old LA codes of English authorities (a plausible spread; every school of the scale lies in one)
NATIONAL_LA_CODES = (
    "202", "203", "204", "205", "206", "207", "208", "209", "210", "211", "212", "213", "301", "302", "303",
    "304", "305", "306", "307", "308", "309", "310", "311", "312", "313", "314", "315", "316", "317", "318",
    "319", "320", "330", "331", "332", "333", "334", "335", "336", "340", "341", "342", "343", "344", "350",
    "351", "352", "353", "354", "355", "356", "357", "358", "359", "370", "371", "372", "373", "380", "381",
    "382", "383", "384", "390", "391", "392", "393", "394", "800", "801", "802", "803", "821", "822", "823",
    "825", "826", "830", "831", "845", "846", "855", "856", "857", "873", "874", "881", "886", "887", "891",
    "892", "925", "926", "935", "936", "937", "938", "940", "941",
)  # fmt: skip
MEAN_SCHOOL_SIZE = {PRIMARY: 280, SECONDARY: 950, SPECIAL: 110}  # pupils, for the scaled school lists


@dataclass(frozen=True)
class Schools:
    la: np.ndarray  # int, old LA code
    estab: np.ndarray  # int, 4-digit establishment number
    phase: np.ndarray  # int8, index into PHASES
    weight: np.ndarray  # float, relative size within its phase
    nursery: np.ndarray  # bool, has a nursery class (takes N1/N2 pupils)

    def of_phase(self, phase: int, nursery_only: bool = False) -> np.ndarray:
        mask = self.phase == phase
        if nursery_only:
            mask &= self.nursery
        return np.flatnonzero(mask)


@dataclass(frozen=True)
class CensusPlan:
    """Planned counts of one census (pupils = C/M rows). Built by :func:`census_plan`."""

    year: int
    roll: int
    provision: dict[str, int]  # N, K, E
    residence: dict[tuple[str, str], tuple[int, int]]  # (K|E, primary|secondary) -> (resident, out of county)
    needs: dict[str, dict[str, int]]  # K|E -> need -> pupils (ASD includes AUT)
    sen_male: int
    male: int
    pupil_premium: dict[str, int]  # N, K, E
    fsm: dict[str, int]  # N, K, E (subset of pupil premium)
    sen_ethnicity: dict[str, int]
    minority_ethnic: int  # all pupils, ethnicity not WBRI/REFU/NOBT
    refu: int
    nobt: int
    sen_not_english: int
    non_sen_not_english: int
    primary_group: int  # pupils in NC years N1..6
    special_school: int  # EHCP pupils on roll at a special school
    dual_registered: int  # pupils with an extra S row
    year_group_floor: dict[tuple[str, str], int]  # (K|E, NC year) -> at least this many pupils


# ------------------------------------------------------------------------------------------------------------
# Public API


def spring_census_date(year: int) -> dt.date:
    """Spring census day: the third Thursday of January of ``year``."""
    first = dt.date(year, 1, 1)
    first_thursday = 1 + (3 - first.weekday()) % 7
    return dt.date(year, 1, first_thursday + 14)


def generate_census(
    out_dir: Path, scale: str = "rutland", seed: int = 2023, years: list[int] | None = None
) -> list[Path]:
    """Write one synthetic Spring census CSV per year into ``out_dir / "census"``; return the paths."""
    if scale not in SCALES:
        raise ValueError(f"unknown scale {scale!r}: expected one of {', '.join(SCALES)}")
    years = list(DEFAULT_YEARS_BY_SCALE[scale] if years is None else years)
    census_dir = Path(out_dir) / "census"
    census_dir.mkdir(parents=True, exist_ok=True)
    schools = _schools(scale, seed)
    paths = []
    for year in years:
        plan = census_plan(year, scale)
        rng = np.random.default_rng([seed, year])
        frame = _census_frame(plan, schools, scale, rng)
        path = census_dir / f"{year}_spring.csv"
        _write_csv(frame, path, spring_census_date(year))
        paths.append(path)
    return paths


def census_plan(year: int, scale: str = "rutland") -> CensusPlan:
    """The planned counts of one census: exact calibration at ``rutland``, scaled to the roll elsewhere."""
    plan = _rutland_plan(year)
    target = SCALES[scale]
    return plan if target is None else _scale_plan(plan, target)


# ------------------------------------------------------------------------------------------------------------
# Planning (counts only)


def apportion(weights: dict[str, float], total: int) -> dict[str, int]:
    """Split ``total`` in proportion to ``weights`` (largest remainder; ties to the earlier key).

    Integer weights that already sum to ``total`` come back unchanged, which keeps seed figures exact.
    """
    keys = list(weights)
    w = np.array([float(weights[k]) for k in keys])
    if total < 0 or (total > 0 and w.sum() <= 0):
        raise ValueError("cannot apportion")
    if total == 0:
        return dict.fromkeys(keys, 0)
    quota = w / w.sum() * total
    base = np.floor(quota + 1e-9).astype(int)
    short = total - int(base.sum())
    order = sorted(range(len(keys)), key=lambda i: (-(quota[i] - base[i]), i))
    for i in order[:short]:
        base[i] += 1
    return {k: int(v) for k, v in zip(keys, base, strict=True)}


def _nearest(year: int, table: dict) -> int:
    return min(table, key=lambda y: (abs(y - year), -y))


def _rutland_plan(year: int) -> CensusPlan:
    trend = cal.TREND[_nearest(year, cal.TREND)]
    roll, ehcp, support = trend["roll"], trend["ehcp"], trend["sen_support"]
    sen = ehcp + support
    non_sen = roll - sen
    totals = {"E": ehcp, "K": support}

    if year == 2023:
        residence = dict(cal.RESIDENCE_2023)
    else:
        residence = {}
        for prov in ("E", "K"):
            cells = {
                f"{group}|{res}": cal.RESIDENCE_2023[(prov, group)][res]
                for group in ("primary", "secondary")
                for res in (0, 1)
            }
            split = apportion(cells, totals[prov])
            for group in ("primary", "secondary"):
                residence[(prov, group)] = (split[f"{group}|0"], split[f"{group}|1"])

    if year == 2022:
        needs = {p: dict(cal.NEEDS_2022[p]) for p in ("E", "K")}
    elif year == 2023:
        needs = {p: dict(cal.NEEDS_2023[p]) for p in ("E", "K")}
    else:
        shape = cal.NEEDS_2022 if year < 2022 else cal.NEEDS_2023
        needs = {p: apportion(shape[p], totals[p]) for p in ("E", "K")}

    sen_2023 = sum(cal.SEN_ETHNICITY_2023.values())
    non_sen_2023 = cal.TREND[2023]["roll"] - sen_2023

    def rate(count: int, of: int, total: int) -> int:
        return round(count / of * total)

    minority = cal.MINORITY_ETHNIC[_nearest(year, cal.MINORITY_ETHNIC)]
    return CensusPlan(
        year=year,
        roll=roll,
        provision={"N": non_sen, "K": support, "E": ehcp},
        residence=residence,
        needs=needs,
        sen_male=rate(cal.SEN_MALE_2023, sen_2023, sen),
        male=round(cal.MALE_SHARE * roll),
        pupil_premium={
            "E": rate(cal.SEN_PUPIL_PREMIUM_2023["E"], cal.TREND[2023]["ehcp"], ehcp),
            "K": rate(cal.SEN_PUPIL_PREMIUM_2023["K"], cal.TREND[2023]["sen_support"], support),
            "N": rate(cal.NON_SEN_PUPIL_PREMIUM_2023, non_sen_2023, non_sen),
        },
        fsm={
            "E": rate(cal.SEN_FSM_2023["E"], cal.TREND[2023]["ehcp"], ehcp),
            "K": rate(cal.SEN_FSM_2023["K"], cal.TREND[2023]["sen_support"], support),
            "N": rate(cal.NON_SEN_FSM_2023, non_sen_2023, non_sen),
        },
        sen_ethnicity=apportion(cal.SEN_ETHNICITY_2023, sen),
        minority_ethnic=minority if isinstance(minority, int) else round(minority * roll),
        refu=round(cal.REFU_SHARE * roll),
        nobt=round(cal.NOBT_SHARE * roll),
        sen_not_english=rate(cal.SEN_NOT_ENGLISH_2023, sen_2023, sen),
        non_sen_not_english=round(cal.NON_SEN_NOT_ENGLISH * non_sen),
        primary_group=round(cal.PRIMARY_GROUP_SHARE * roll),
        special_school=round(cal.EHCP_SPECIAL_SCHOOL_SHARE * ehcp),
        dual_registered=round(cal.DUAL_REGISTRATION_SHARE * roll),
        year_group_floor=dict(cal.SEN_YEAR_GROUP_FLOOR.get(year, {})),
    )


def _scale_plan(plan: CensusPlan, target: int) -> CensusPlan:
    f = target / plan.roll
    ehcp, support = round(plan.provision["E"] * f), round(plan.provision["K"] * f)
    totals = {"E": ehcp, "K": support}
    residence = {}
    for prov in ("E", "K"):
        cells = {f"{g}|{r}": plan.residence[(prov, g)][r] for g in ("primary", "secondary") for r in (0, 1)}
        split = apportion(cells, totals[prov])
        for g in ("primary", "secondary"):
            residence[(prov, g)] = (split[f"{g}|0"], split[f"{g}|1"])
    sen = ehcp + support

    def s(x: int) -> int:
        return round(x * f)

    return replace(
        plan,
        roll=target,
        provision={"N": target - sen, "K": support, "E": ehcp},
        residence=residence,
        needs={p: apportion(plan.needs[p], totals[p]) for p in ("E", "K")},
        sen_male=s(plan.sen_male),
        male=s(plan.male),
        pupil_premium={p: s(v) for p, v in plan.pupil_premium.items()},
        fsm={p: s(v) for p, v in plan.fsm.items()},
        sen_ethnicity=apportion(plan.sen_ethnicity, sen),
        minority_ethnic=s(plan.minority_ethnic),
        refu=s(plan.refu),
        nobt=s(plan.nobt),
        sen_not_english=s(plan.sen_not_english),
        non_sen_not_english=s(plan.non_sen_not_english),
        primary_group=s(plan.primary_group),
        special_school=s(plan.special_school),
        dual_registered=s(plan.dual_registered),
        year_group_floor={},  # Rutland's assessed cohorts, for its attainment extract: no shape to scale
    )


# ------------------------------------------------------------------------------------------------------------
# Schools


def _schools(scale: str, seed: int) -> Schools:
    if scale == "rutland":
        rows = [(857, e, PRIMARY, w, n) for e, w, n in RUTLAND_PRIMARIES]
        rows += [(857, e, SECONDARY, w, False) for e, w in RUTLAND_SECONDARIES]
        rows += [(857, e, SPECIAL, w, False) for e, w in RUTLAND_SPECIALS]
        la, estab, phase, weight, nursery = zip(*rows, strict=True)
        return Schools(
            np.array(la),
            np.array(estab),
            np.array(phase, dtype=np.int8),
            np.array(weight, float),
            np.array(nursery),
        )
    rng = np.random.default_rng([seed, 0])
    target = SCALES[scale]
    assert target is not None
    la_codes = [COUNTY_LA_CODE] if scale == "county" else list(NATIONAL_LA_CODES)
    sizes = np.ones(1) if scale == "county" else rng.lognormal(0.0, 0.5, len(la_codes))
    la_weight = {c: float(w) for c, w in zip(la_codes, sizes, strict=True)}
    primary_pupils = target * cal.PRIMARY_GROUP_SHARE
    trend = cal.TREND[2023]
    special_pupils = target * trend["ehcp"] / trend["roll"] * cal.EHCP_SPECIAL_SCHOOL_SHARE
    phase_pupils = {PRIMARY: primary_pupils, SECONDARY: target - primary_pupils, SPECIAL: special_pupils}
    la, estab, phase = [], [], []
    for ph, pupils in phase_pupils.items():
        per_la = apportion(la_weight, max(1, math.ceil(pupils / MEAN_SCHOOL_SIZE[ph])))
        first = {PRIMARY: 2001, SECONDARY: 4001, SPECIAL: 7001}[ph]
        for code, count in per_la.items():
            if count > 999:
                raise ValueError(f"LA {code}: over 999 schools of one phase")
            la += [int(code)] * count
            estab += range(first, first + count)
            phase += [ph] * count
    n = len(la)
    return Schools(
        la=np.array(la),
        estab=np.array(estab),
        phase=np.array(phase, dtype=np.int8),
        weight=rng.lognormal(0.0, 0.45, n),
        nursery=rng.random(n) < 0.4,
    )


# ------------------------------------------------------------------------------------------------------------
# Drawing helpers


def _deal(rng: np.random.Generator, counts, weights: np.ndarray, strata: np.ndarray) -> np.ndarray:
    """Give each row one of K categories so that category k goes to exactly ``counts[k]`` rows.

    ``weights[s, k]`` is how strongly rows of stratum ``strata[row] = s`` attract category k (weighted
    sampling without replacement, Efraimidis-Spirakis keys). Returns the category index per row.
    """
    n = strata.shape[0]
    counts = np.asarray(counts, dtype=np.int64)
    if counts.sum() != n:
        raise ValueError(f"counts sum to {counts.sum()}, rows {n}")
    out = np.full(n, -1, dtype=np.int64)
    remaining = np.arange(n)
    order = np.argsort(-counts, kind="stable")  # the largest category takes whatever is left
    for k in order[:0:-1]:  # smallest first
        c = int(counts[k])
        if c == 0:
            continue
        w = np.maximum(weights[strata[remaining], k], 1e-12)
        keys = np.log(rng.random(remaining.shape[0])) / w
        pick = np.argpartition(-keys, c - 1)[:c] if c < remaining.shape[0] else np.arange(c)
        out[remaining[pick]] = k
        keep = np.ones(remaining.shape[0], dtype=bool)
        keep[pick] = False
        remaining = remaining[keep]
    out[remaining] = order[0]
    return out


def _choose(rng: np.random.Generator, count: int, weights: np.ndarray | int) -> np.ndarray:
    """Exactly ``count`` row positions, drawn without replacement with probability leaning on ``weights``.

    ``weights`` may be a row count instead of an array: a uniform draw.
    """
    n = weights if isinstance(weights, int) else weights.shape[0]
    if not 0 <= count <= n:
        raise ValueError(f"cannot choose {count} of {n} rows")
    if count == 0:
        return np.zeros(0, dtype=np.int64)
    if count == n:
        return np.arange(n)
    if isinstance(weights, int):
        return np.sort(rng.choice(n, size=count, replace=False, shuffle=False))
    keys = np.log(rng.random(n)) / np.maximum(weights, 1e-12)
    return np.sort(np.argpartition(-keys, count - 1)[:count])


def _bag(rng: np.random.Generator, counts: dict[str, int], index: dict[str, int]) -> np.ndarray:
    """Shuffled array holding exactly counts[code] times index[code]."""
    codes = np.repeat([index[c] for c in counts], [counts[c] for c in counts])
    return rng.permutation(codes)


def _categorical(rng: np.random.Generator, table: np.ndarray, strata: np.ndarray) -> np.ndarray:
    """One draw per row from the row-normalised distribution ``table[strata[row]]``."""
    cdf = np.cumsum(table / table.sum(axis=1, keepdims=True), axis=1)
    u = rng.random(strata.shape[0])
    last = table.shape[1] - 1
    if table.shape[0] == 1:
        return np.minimum(np.searchsorted(cdf[0], u, side="right"), last)
    order = np.argsort(strata, kind="stable")
    bounds = np.searchsorted(strata[order], np.arange(table.shape[0] + 1))
    out = np.empty(strata.shape[0], dtype=np.int64)
    for s in range(table.shape[0]):
        rows = order[bounds[s] : bounds[s + 1]]
        out[rows] = np.searchsorted(cdf[s], u[rows], side="right")
    return np.minimum(out, last)


def _weights_row(mapping: dict[str, float], codes: tuple[str, ...], default: float = 1.0) -> np.ndarray:
    return np.array([float(mapping.get(c, default)) for c in codes])


# ------------------------------------------------------------------------------------------------------------
# One census


def _census_frame(plan: CensusPlan, schools: Schools, scale: str, rng: np.random.Generator) -> pd.DataFrame:
    """All rows of one census as integer/categorical columns (see _write_csv for the text form)."""
    year = plan.year
    academic_start = year - 1  # the Spring census falls in the academic year starting September year-1
    n_sen = plan.provision["E"] + plan.provision["K"]
    roll = plan.roll

    # --- provision, NC-year group (0 primary, 1 secondary), residence -------------------------------------
    prov_parts, group_parts, out_parts = [], [], []
    for prov, code in (("E", E_), ("K", K_)):
        for g, group in enumerate(("primary", "secondary")):
            resident, away = plan.residence[(prov, group)]
            prov_parts.append(np.full(resident + away, code, dtype=np.int8))
            group_parts.append(np.full(resident + away, g, dtype=np.int8))
            out_parts.append(np.repeat([False, True], [resident, away]))
    sen_primary = sum(sum(plan.residence[(p, "primary")]) for p in ("E", "K"))
    non_sen = plan.provision["N"]
    n_primary = plan.primary_group - sen_primary
    if not 0 <= n_primary <= non_sen:
        raise ValueError("planned primary-group roll is smaller than its SEN pupils")
    for g, size in ((0, n_primary), (1, non_sen - n_primary)):
        away = round(cal.NON_SEN_OUT_OF_COUNTY["primary" if g == 0 else "secondary"] * size)
        prov_parts.append(np.full(size, N_, dtype=np.int8))
        group_parts.append(np.full(size, g, dtype=np.int8))
        out_parts.append(rng.permutation(np.repeat([False, True], [size - away, away])))
    provision = np.concatenate(prov_parts)
    group = np.concatenate(group_parts)
    out_of_area = np.concatenate(out_parts)
    sen_idx = np.arange(n_sen)  # SEN pupils come first, E then K
    is_e = provision == E_

    # --- primary need (SEN), leaning on age group ----------------------------------------------------------
    need1 = np.full(roll, -1, dtype=np.int64)
    lean = np.ones((2, len(NEEDS)))
    for code, (pri, sec) in NEED_AGE_LEAN.items():
        lean[:, NEED_INDEX[code]] = (pri, sec)
    for prov, code in (("E", E_), ("K", K_)):
        rows = np.flatnonzero(provision == code)
        counts = np.zeros(len(NEEDS), dtype=np.int64)
        for need, c in plan.needs[prov].items():
            counts[NEED_INDEX[need]] = c
        need1[rows] = _deal(rng, counts, lean, group[rows].astype(np.int64))

    # --- gender ---------------------------------------------------------------------------------------------
    male = np.zeros(roll, dtype=bool)
    odds = _weights_row(MALE_ODDS, NEEDS)
    male[_choose(rng, plan.sen_male, odds[need1[sen_idx]])] = True
    non_sen_male = plan.male - plan.sen_male
    male[n_sen:] = rng.permutation(np.repeat([True, False], [non_sen_male, non_sen - non_sen_male]))

    # --- special school (EHCP pupils only) ------------------------------------------------------------------
    e_rows = np.flatnonzero(is_e)
    special = np.zeros(roll, dtype=bool)
    special_lean = _weights_row(SPECIAL_SCHOOL_LEAN, NEEDS, 0.5)[need1[e_rows]]
    special[e_rows[_choose(rng, plan.special_school, special_lean)]] = True

    # --- NC year and date of birth --------------------------------------------------------------------------
    strata_names = ("N_primary", "N_secondary", "SEN_primary", "K_secondary", "E_secondary")
    table = np.array([[cal.NCYEAR_WEIGHTS[s].get(y, 0.0) for y in NC_YEARS] for s in strata_names])
    stratum = np.where(provision == N_, group, np.where(group == 0, 2, np.where(is_e, 4, 3)))
    ncyear = _categorical(rng, table, stratum)
    ncyear = _meet_year_group_floors(rng, ncyear, provision, group, plan.year_group_floor)
    age = NC_AGE[ncyear]
    cohort_start = _sept1_days(academic_start - NC_AGE - 1)  # per NC year: 1 Sept starting the birth cohort
    cohort_days = _sept1_days(academic_start - NC_AGE) - cohort_start
    cohort_days[0] = 122  # N1 in Spring: only those already 3 (born September to December)
    dob = cohort_start[ncyear] + np.floor(rng.random(roll) * cohort_days[ncyear]).astype(np.int64)

    # --- pupil premium and FSM (FSM pupils are a subset of PP pupils) ---------------------------------------
    pp = np.zeros(roll, dtype=bool)
    fsm = np.zeros(roll, dtype=bool)
    pp_lean = _weights_row(PUPIL_PREMIUM_LEAN, NEEDS)
    for prov, code in (("E", E_), ("K", K_), ("N", N_)):
        rows = np.flatnonzero(provision == code)
        w = pp_lean[need1[rows]] if code != N_ else rows.shape[0]
        chosen = rows[_choose(rng, plan.pupil_premium[prov], w)]
        pp[chosen] = True
        fsm[chosen[_choose(rng, plan.fsm[prov], chosen.shape[0])]] = True

    # --- ethnicity ------------------------------------------------------------------------------------------
    ethnicity = np.empty(roll, dtype=np.int64)
    ethnicity[:n_sen] = _bag(rng, plan.sen_ethnicity, ETH_INDEX)
    sen_minority = sum(c for code, c in plan.sen_ethnicity.items() if code not in NOT_MINORITY)
    non_sen_eth = apportion(cal.NON_SEN_MINORITY_WEIGHTS, plan.minority_ethnic - sen_minority)
    non_sen_eth["REFU"] = max(0, plan.refu - plan.sen_ethnicity.get("REFU", 0))
    non_sen_eth["NOBT"] = max(0, plan.nobt - plan.sen_ethnicity.get("NOBT", 0))
    non_sen_eth["WBRI"] = non_sen - sum(non_sen_eth.values())
    if min(non_sen_eth.values()) < 0:
        raise ValueError("planned ethnicity counts do not fit the non-SEN roll")
    ethnicity[n_sen:] = _bag(rng, non_sen_eth, ETH_INDEX)

    # --- first language -------------------------------------------------------------------------------------
    language = np.zeros(roll, dtype=np.int64)  # ENG
    eal_lean = _weights_row(NOT_ENGLISH_LEAN, ETHNICITIES)
    not_english = np.concatenate([
        _choose(rng, plan.sen_not_english, eal_lean[ethnicity[:n_sen]]),
        n_sen + _choose(rng, plan.non_sen_not_english, eal_lean[ethnicity[n_sen:]]),
    ])  # fmt: skip
    lang_table = np.array([_weights_row(LANGUAGE_BY_ETHNICITY.get(e, _LANG_OTHER), LANGUAGES[2:], 0.0)
                           for e in ETHNICITIES])  # fmt: skip
    language[not_english] = 2 + _categorical(rng, lang_table, ethnicity[not_english])
    english = np.flatnonzero(language == 0)
    language[english[_choose(rng, round(cal.ENB_SHARE * english.shape[0]), english.shape[0])]] = 1

    # --- secondary need -------------------------------------------------------------------------------------
    need2 = np.full(roll, -1, dtype=np.int64)
    candidates = sen_idx[need1[sen_idx] != NEED_INDEX["NSA"]]
    n_second = round(cal.SECONDARY_NEED_SHARE * candidates.shape[0])
    with_second = candidates[_choose(rng, n_second, candidates.shape[0])]
    second_table = _weights_row(SECONDARY_NEED_WEIGHTS, NEEDS, 0.0)[None, :]
    draw = _categorical(rng, second_table, np.zeros(with_second.shape[0], dtype=np.int64))
    for _ in range(50):  # redraw where it repeats the primary need
        clash = draw == need1[with_second]
        if not clash.any():
            break
        draw[clash] = _categorical(rng, second_table, np.zeros(int(clash.sum()), dtype=np.int64))
    need2[with_second] = np.where(draw == need1[with_second], -1, draw)

    # --- newer returns code autism AUT (ingest maps AUT -> ASD) ---------------------------------------------
    if year >= cal.AUT_FIRST_YEAR:
        for need in (need1, need2):
            asd = np.flatnonzero(need == NEED_INDEX["ASD"])
            n_aut = round(cal.AUT_SHARE_FROM_2023 * asd.shape[0])
            need[asd[_choose(rng, n_aut, asd.shape[0])]] = NEED_INDEX["AUT"]

    # --- school ---------------------------------------------------------------------------------------------
    school = np.empty(roll, dtype=np.int64)
    nursery_pupil = ncyear <= 1
    for mask, phase, nursery_only in (
        (special, SPECIAL, False),
        (~special & (group == 0) & nursery_pupil, PRIMARY, True),
        (~special & (group == 0) & ~nursery_pupil, PRIMARY, False),
        (~special & (group == 1), SECONDARY, False),
    ):
        rows = np.flatnonzero(mask)
        ids = schools.of_phase(phase, nursery_only)
        school[rows] = ids[_categorical(rng, schools.weight[ids][None, :], np.zeros(rows.shape[0], np.int64))]
    school_la = schools.la[school]

    # --- home LA --------------------------------------------------------------------------------------------
    home_la = school_la.copy()
    away_rows = np.flatnonzero(out_of_area)
    home_la[away_rows] = _out_of_area_la(rng, scale, year, school_la[away_rows])

    # --- UPN: allocated where the pupil first joined a school, in the year they joined nursery or reception
    alloc_year = np.minimum(academic_start - age + 4, academic_start)
    first_primary = rng.random(roll) < 0.85  # still at the school that allocated it (primary/special pupils)
    alloc_la = school_la.copy()
    alloc_estab = schools.estab[school].copy()
    elsewhere = (schools.phase[school] == SECONDARY) | ~first_primary
    # allocated at another primary of the same LA (a school move, or before secondary transfer) ...
    prim_ids = schools.of_phase(PRIMARY)
    prim_ids = prim_ids[np.argsort(schools.la[prim_ids], kind="stable")]
    lo = np.searchsorted(schools.la[prim_ids], schools.la, side="left")  # per school: its LA's primaries
    hi = np.searchsorted(schools.la[prim_ids], schools.la, side="right")
    rows = np.flatnonzero(elsewhere)
    s_lo, s_hi = lo[school[rows]], hi[school[rows]]
    alloc_estab[rows] = schools.estab[
        prim_ids[s_lo + np.floor(rng.random(rows.shape[0]) * (s_hi - s_lo)).astype(np.int64)]
    ]
    # ... or, for half the pupils living out of county, at a primary in their home LA
    moved_in = np.flatnonzero(elsewhere & out_of_area & (rng.random(roll) < 0.5))
    alloc_la[moved_in] = home_la[moved_in]
    alloc_estab[moved_in] = 2001 + np.floor(rng.random(moved_in.shape[0]) * 400).astype(np.int64)
    serial = _serials(rng, alloc_la, alloc_estab, alloc_year)
    upn_check, upn_number = make_upn_parts(alloc_la, alloc_estab, alloc_year, serial)

    # --- dual registrations: main (M) row here, subsidiary (S) row at another school of the same phase ------
    enrol = np.zeros(roll, dtype=np.int64)  # C
    dual_ok = np.flatnonzero(~special & ~nursery_pupil)
    dual = dual_ok[_choose(rng, plan.dual_registered, dual_ok.shape[0])]
    enrol[dual] = 1  # M
    other_school = _other_school(rng, schools, school[dual])

    rows = np.concatenate([np.arange(roll), dual])
    school_all = np.concatenate([school, other_school])
    enrol_all = np.concatenate([enrol, np.full(dual.shape[0], 2)])  # S
    laestab = schools.la[school_all] * 10_000 + schools.estab[school_all]
    # sort like an extract: by school, then NC year (pupils in random order within a year group)
    block = (laestab.astype(np.int64) << 5) | ncyear[rows]  # < 2**29
    perm = np.argsort((block << 30) | rng.integers(0, 1 << 30, rows.shape[0]))
    rows, laestab, enrol_all, school_all = rows[perm], laestab[perm], enrol_all[perm], school_all[perm]

    def cat(codes: np.ndarray, categories: tuple[str, ...]) -> pd.Categorical:
        return pd.Categorical.from_codes(codes.astype(np.int8), categories=list(categories))

    return pd.DataFrame({
        "upn_check": upn_check[rows],
        "upn_number": upn_number[rows],
        "laestab": laestab.astype(np.int32),
        "phase": cat(schools.phase[school_all], PHASES),
        "ncyear_actual": cat(ncyear[rows], NC_YEARS),
        "enrol_status": cat(enrol_all, ENROL),
        "dob": dob[rows].astype(np.int32),
        "gender": cat(np.where(male[rows], 0, 1), GENDERS),
        "ethnicity": cat(ethnicity[rows], ETHNICITIES),
        "first_language": cat(language[rows], LANGUAGES),
        "sen_provision": cat(provision[rows], PROVISIONS),
        "sen_primary_need": cat(need1[rows], NEEDS),
        "sen_secondary_need": cat(need2[rows], NEEDS),
        "fsm_eligible": fsm[rows],
        "pupil_premium": pp[rows],
        "home_la_code": home_la[rows].astype(np.int16),
    })  # fmt: skip


def _meet_year_group_floors(
    rng: np.random.Generator,
    ncyear: np.ndarray,
    provision: np.ndarray,
    group: np.ndarray,
    floor: dict[tuple[str, str], int],
) -> np.ndarray:
    """NC years (indices into NC_YEARS) with at least ``floor[(provision, NC year)]`` pupils in each cell.

    A cell short of its floor takes pupils of the same provision and the same group (primary N1..6 or secondary
    7..14) from year groups without a floor, drawn uniformly; so every planned count -- provision, residence by
    group, need, sex, ... -- stays as it was. Draws nothing when no cell is short.
    """
    ncyear = ncyear.copy()
    code = {"E": E_, "K": K_}
    for (prov, year), at_least in floor.items():
        target = NC_YEARS.index(year)
        in_cell = (provision == code[prov]) & (ncyear == target)
        short = at_least - int(in_cell.sum())
        if short <= 0:
            continue
        floored = [NC_YEARS.index(y) for (p, y) in floor if p == prov]
        same_group = group == (0 if target <= NC_YEARS.index("6") else 1)
        donors = np.flatnonzero((provision == code[prov]) & same_group & ~np.isin(ncyear, floored))
        if donors.shape[0] < short:
            raise ValueError(f"too few {prov} pupils in other year groups to bring NC year {year} to {at_least}")
        ncyear[donors[_choose(rng, short, donors.shape[0])]] = target
    return ncyear


def _sept1_days(years: np.ndarray) -> np.ndarray:
    """Days since 1970-01-01 of 1 September of each year."""
    months = (np.asarray(years, dtype=np.int64) - 1970) * 12 + 8
    return months.astype("datetime64[M]").astype("datetime64[D]").astype(np.int64)


def _out_of_area_la(rng: np.random.Generator, scale: str, year: int, school_la: np.ndarray) -> np.ndarray:
    """Home LA codes of pupils living outside the LA of their school."""
    n = school_la.shape[0]
    if scale == "national":
        codes = np.array(sorted(int(c) for c in NATIONAL_LA_CODES))
        own = np.searchsorted(codes, school_la)
        step = 1 + np.floor(rng.random(n) * (codes.shape[0] - 1)).astype(np.int64)
        return codes[(own + step) % codes.shape[0]]
    weights = dict(COUNTY_OUT_OF_COUNTY_HOME_LA if scale == "county" else cal.OUT_OF_COUNTY_HOME_LA)
    split = cal.NORTHAMPTONSHIRE_SPLIT
    if scale == "rutland" and year >= split["year"] and split["old"] in weights:
        old = weights.pop(split["old"])
        for code, share in split["new"].items():
            weights[code] = old * share
    codes = np.array([int(c) for c in weights])
    table = np.array([list(weights.values())])
    return codes[_categorical(rng, table, np.zeros(n, dtype=np.int64))]


def _serials(rng: np.random.Generator, la: np.ndarray, estab: np.ndarray, year: np.ndarray) -> np.ndarray:
    """UPN serial 1..999, unique within (allocating LA, establishment, year of allocation)."""
    key = (la.astype(np.int64) * 10_000 + estab) * 100 + (year % 100)  # < 2**30
    order = np.argsort((key << 24) | rng.integers(0, 1 << 24, key.shape[0]))  # random order within a key
    sorted_key = key[order]
    starts = np.flatnonzero(np.r_[True, sorted_key[1:] != sorted_key[:-1]])
    group_start = np.repeat(starts, np.diff(np.r_[starts, key.shape[0]]))
    serial = np.empty(key.shape[0], dtype=np.int64)
    serial[order] = np.arange(key.shape[0]) - group_start + 1
    if serial.max(initial=0) > 999:
        raise ValueError("more than 999 UPNs allocated by one school in one year")
    return serial


def _other_school(rng: np.random.Generator, schools: Schools, school: np.ndarray) -> np.ndarray:
    """A different school of the same LA and phase for each given school (subsidiary registrations)."""
    key = schools.la.astype(np.int64) * 10 + schools.phase
    order = np.argsort(key, kind="stable")
    sorted_key = key[order]
    k = key[school]
    lo = np.searchsorted(sorted_key, k, side="left")
    size = np.searchsorted(sorted_key, k, side="right") - lo
    position = np.argsort(order)[school] - lo  # this school's position within its block
    step = 1 + np.floor(rng.random(school.shape[0]) * np.maximum(size - 1, 1)).astype(np.int64)
    other = order[lo + (position + step) % size]
    if np.any(other == school):
        raise ValueError("a dual registration needs at least two schools of the phase in the LA")
    return other


# ------------------------------------------------------------------------------------------------------------
# Writing


def _write_csv(frame: pd.DataFrame, path: Path, census_date: dt.date) -> None:
    """CSV via DuckDB: header as COLUMNS, ISO dates, true/false, empty for no need; atomic replace."""
    tmp = path.with_name(path.name + ".tmp")
    con = duckdb.connect()
    try:
        con.execute("SET enable_progress_bar = false")
        con.register("census_frame", frame)
        con.execute(f"""
            COPY (
                SELECT
                    chr(upn_check) || lpad(CAST(upn_number AS VARCHAR), 12, '0') AS upn,
                    CAST(laestab AS VARCHAR) AS laestab,
                    DATE '{census_date.isoformat()}' AS census_date,
                    phase, ncyear_actual, enrol_status,
                    DATE '1970-01-01' + dob AS dob,
                    gender, ethnicity, first_language, sen_provision, sen_primary_need, sen_secondary_need,
                    fsm_eligible, pupil_premium,
                    lpad(CAST(home_la_code AS VARCHAR), 3, '0') AS home_la_code
                FROM census_frame
            ) TO '{tmp.as_posix()}' (FORMAT CSV, HEADER, DELIMITER ',')
        """)  # fmt: skip
    finally:
        con.close()
    os.replace(tmp, path)
