"""Synthetic extracts of the learning disability annual health checks of young people aged 14 to 25.

``generate_health_checks(out_dir, scale, seed)`` writes ``out_dir/health_checks/ld_health_checks_<yyyy-yy>.csv``, one
file per financial year 2020-21, 2021-22 and 2022-23, in the contract of :mod:`pipeline.sources.health_checks`: one
row per young person aged 14 to 25 (on 31 March) on a GP learning disability register, with the date of their annual
health check in the year, or empty when they had none.

Seed figure reproduced exactly at scale ``rutland``: 7.2 "Performance of health assessments for CYP with LD - 80%"
(figures.yaml ``ehcna_timescales_7_1.health_assessments_ld_pct``), as 48 of the 60 young people on a register in
2022-23 (18 of 22 aged 14 to 17, 30 of 38 aged 18 to 25). The earlier years are plausible, not seed figures: fewer
checks in 2020-21, when the pandemic stopped many, then a recovery (63.5% and 73.2%). ``county`` and ``national``
scale every count by the census's ratio of rolls (``pipeline.generate.census.SCALES`` over Rutland's 2023 roll);
the percentages stay about the same.

What the files look like: NHS numbers from NHS England's test range (``999 ...``, never issued to a patient) with
valid check digits, about one in ten written with spaces (``999 123 4567``); UK dates (dd/mm/yyyy); the financial
year as ``2022-23``; rows in NHS number order. A young person stays on the register from year to year (a year
older), until they turn 26 or leave it (moved away, came off the register); young people joining fill each age band
to its planned count.

Deterministic: ``numpy.random.default_rng([seed, 72])`` (seed section 7.2); the other sources' generators draw from
their own streams, so adding this source changed none of their files.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from pipeline.generate import calibration as cal
from pipeline.generate.census import SCALES
from pipeline.nhs_number import make_nhs_numbers, spaced

# Seed 7.2 (2022-23) and plausible earlier years, Rutland: financial year (its first year) -> age band on 31 March ->
# (young people on a GP learning disability register, of whom had their annual health check in the year).
RUTLAND: dict[int, dict[str, tuple[int, int]]] = {
    2020: {"14 to 17": (19, 11), "18 to 25": (33, 22)},
    2021: {"14 to 17": (21, 15), "18 to 25": (35, 26)},
    2022: {"14 to 17": (22, 18), "18 to 25": (38, 30)},  # 48 of 60 = 80% (seed 7.2)
}
AGE_BANDS = {"14 to 17": (14, 17), "18 to 25": (18, 25)}  # age in completed years on 31 March
LEAVE_SHARE = 0.05  # of the young people still in the age range, the share who leave the register in a year
SPACED_SHARE = 0.1  # NHS numbers written in three groups
TEST_RANGE = 999_000_000  # first nine digits of NHS England's test numbers: 999 000 000 .. 999 999 999
COLUMNS = ("nhs_number", "date_of_birth", "financial_year", "health_check_date")


def financial_year(start: int) -> str:
    return f"{start}-{(start + 1) % 100:02d}"


def plan(scale: str = "rutland") -> dict[int, dict[str, tuple[int, int]]]:
    """The planned counts at a scale: Rutland's, or Rutland's times the census's ratio of rolls, rounded."""
    if scale not in SCALES:
        raise ValueError(f"unknown scale {scale!r}: expected one of {', '.join(SCALES)}")
    target = SCALES[scale]
    if target is None:
        return RUTLAND
    factor = target / cal.TREND[max(cal.TREND)]["roll"]
    return {
        year: {band: (round(people * factor), round(checked * factor)) for band, (people, checked) in bands.items()}
        for year, bands in RUTLAND.items()
    }


def _age_on_31_march(dob: np.ndarray, year: int) -> np.ndarray:
    """Age in completed years on 31 March ``year``: whole years of months from the month of birth to March (the
    month's last day, so the day of birth never matters)."""
    months = (year * 12 + 2) - dob.astype("datetime64[M]").astype(np.int64) - 1970 * 12
    return months // 12


def _births(rng: np.random.Generator, n: int, year_end: int, low: int, high: int) -> np.ndarray:
    """n dates of birth of young people aged ``low`` to ``high`` on 31 March ``year_end``."""
    first = np.datetime64(f"{year_end - high - 1}-04-01")
    last = np.datetime64(f"{year_end - low}-03-31")
    days = (last - first).astype(np.int64) + 1
    return first + rng.integers(0, days, n).astype("timedelta64[D]")


def registers(scale: str = "rutland", seed: int = 2023) -> dict[int, pd.DataFrame]:
    """Financial year -> its register: person (index into the NHS numbers), dob, age band, health check date (NaT
    when none)."""
    rng = np.random.default_rng([seed, 72])
    counts = plan(scale)
    people = sum(n for bands in counts.values() for n, _ in bands.values())  # enough numbers for every newcomer
    numbers, valid = make_nhs_numbers(TEST_RANGE + rng.permutation(1_000_000))
    numbers = numbers[valid][:people]
    pool_person = np.empty(0, dtype=np.int64)
    pool_dob = np.empty(0, dtype="datetime64[D]")
    newcomers = 0
    out = {}
    for start, bands in sorted(counts.items()):
        stays = rng.random(len(pool_person)) >= LEAVE_SHARE
        age = _age_on_31_march(pool_dob, start + 1)
        frames = []
        for band, (people_in_band, checked) in bands.items():
            low, high = AGE_BANDS[band]
            members = np.flatnonzero(stays & (age >= low) & (age <= high))
            if len(members) > people_in_band:
                members = np.sort(rng.choice(members, people_in_band, replace=False))
            joining = people_in_band - len(members)
            person = np.concatenate([pool_person[members], np.arange(newcomers, newcomers + joining)])
            dob = np.concatenate([pool_dob[members], _births(rng, joining, start + 1, low, high)])
            newcomers += joining
            check = np.full(people_in_band, np.datetime64("NaT"), dtype="datetime64[D]")
            done = rng.choice(people_in_band, checked, replace=False)
            check[done] = np.datetime64(f"{start}-04-01") + rng.integers(0, 365, checked).astype("timedelta64[D]")
            frames.append(pd.DataFrame({"person": person, "dob": dob, "age_band": band, "health_check_date": check}))
        register = pd.concat(frames, ignore_index=True)
        out[start] = register
        pool_person, pool_dob = register["person"].to_numpy(), register["dob"].to_numpy().astype("datetime64[D]")
    if newcomers > len(numbers):
        raise ValueError("not enough NHS test numbers for the planned registers")
    return {start: register.assign(nhs_number=numbers[register["person"]]) for start, register in out.items()}


def generate_health_checks(out_dir: Path, scale: str = "rutland", seed: int = 2023) -> list[Path]:
    """Write one extract per financial year into ``out_dir / "health_checks"``; return the paths."""
    folder = Path(out_dir) / "health_checks"
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng([seed, 72, 1])  # how the files are written, apart from who is on them
    paths = []
    for start, register in registers(scale, seed).items():
        register = register.sort_values("nhs_number", kind="stable")
        number = pd.Series(register["nhs_number"].to_numpy()).astype(str).str.zfill(10)
        with_spaces = rng.random(len(number)) < SPACED_SHARE
        number[with_spaces] = [spaced(n) for n in number[with_spaces]]
        checked = pd.Series(register["health_check_date"].to_numpy())
        frame = pd.DataFrame(
            {
                "nhs_number": number,
                "date_of_birth": pd.Series(register["dob"].to_numpy()).dt.strftime("%d/%m/%Y"),
                "financial_year": financial_year(start),
                "health_check_date": checked.dt.strftime("%d/%m/%Y").fillna(""),
            }
        )
        path = folder / f"ld_health_checks_{financial_year(start)}.csv"
        tmp = path.with_name(path.name + ".tmp")
        frame.to_csv(tmp, index=False, lineterminator="\n", columns=list(COLUMNS))
        os.replace(tmp, path)
        paths.append(path)
    return paths
