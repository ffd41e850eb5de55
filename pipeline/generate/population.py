"""Synthetic ONS mid-year population estimates for Rutland, calibrated to the seed needs assessment.

``generate_population(out_dir, seed)`` writes ``out_dir/population/mid_<year>_rutland.csv`` for 2020, 2021 and
2022 in the contract of pipeline/sources/population.py: one row per single year of age (0..90, 90 = 90 and over)
and sex. The 2020 and 2021 files look like ONS's own long-format download (GSS code ``E06000017``, an extra
``la_name`` column, sex coded ``1``/``2``); the 2022 file is a council's re-keyed copy (old LA code ``857``, sex
``M``/``F``), so the demo exercises both forms the contract accepts.

Seed figures (tests/fixtures/figures.yaml ``population_5_1``; seed section 5.1), reproduced exactly for mid-2021:
total 41,381 = 21,304 male + 20,077 female; 1,637 aged 0-4 and 7,339 aged 5-19 (8,976 aged 0-19). The shape
follows the seed's description: a spike at 15-18, more pronounced for males (the boarding schools at Oakham and
Uppingham), and a markedly smaller population aged 19-24 (young people leaving after school). 2020 and 2022 are
plausible neighbours, not seed figures.

How the exact figures come out: the targets fix, for each sex, the people in the bands 0-4, 5-19 and 20-90 (a
2 x 3 table whose margins are the seed's), and each of those six counts is dealt over its single years of age in
proportion to an age profile with a little noise, by largest remainder, so every band adds up exactly.
Deterministic: each year draws from ``numpy.random.default_rng([seed, year])``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

AGES = np.arange(91)  # 90 = 90 and over
BANDS = ((0, 4), (5, 19), (20, 90))
# total, male, aged 0-4, aged 5-19 (both sexes). 2021: seed 5.1; 2020 and 2022: plausible.
TARGETS: dict[int, dict[str, int]] = {
    2020: {"total": 40865, "male": 21025, "aged_0_4": 1668, "aged_5_19": 7296},
    2021: {"total": 41381, "male": 21304, "aged_0_4": 1637, "aged_5_19": 7339},
    2022: {"total": 41849, "male": 21551, "aged_0_4": 1603, "aged_5_19": 7371},
}
YEARS = tuple(TARGETS)
GSS_CODE, OLD_LA_CODE, LA_NAME = "E06000017", "857", "Rutland"
ONS_STYLE_YEARS = (2020, 2021)  # GSS code, sex 1/2, la_name column; other years: old LA code, sex M/F

# Relative number of people at each age: (first age, last age, male weights, female weights), each weight pair
# running linearly from the first age to the last. Boarding schools: 15-18, mostly boys; the military base and
# the prison add men of working age; 19-24 is the dip after school; more women than men from about 70.
_PROFILE: tuple[tuple[int, int, tuple[float, float], tuple[float, float]], ...] = (
    (0, 4, (168, 174), (160, 166)),
    (5, 14, (214, 236), (208, 228)),
    (15, 18, (400, 400), (300, 300)),
    (19, 19, (200, 200), (160, 160)),
    (20, 24, (175, 175), (140, 140)),
    (25, 29, (195, 205), (175, 185)),
    (30, 44, (215, 250), (205, 245)),
    (45, 59, (315, 325), (310, 320)),
    (60, 69, (305, 295), (310, 300)),
    (70, 79, (285, 225), (295, 245)),
    (80, 84, (170, 130), (200, 150)),
    (85, 89, (100, 60), (130, 80)),
    (90, 90, (150, 150), (260, 260)),
)


def age_profile() -> tuple[np.ndarray, np.ndarray]:
    """Relative male and female weights for ages 0..90 (before noise)."""
    male, female = np.zeros(len(AGES)), np.zeros(len(AGES))
    for first, last, (m0, m1), (f0, f1) in _PROFILE:
        span = np.linspace(0.0, 1.0, last - first + 1)
        male[first : last + 1] = m0 + (m1 - m0) * span
        female[first : last + 1] = f0 + (f1 - f0) * span
    return male, female


def apportion(total: int, weights: np.ndarray) -> np.ndarray:
    """Integers proportional to weights that add up to total exactly (largest remainder)."""
    exact = total * weights / weights.sum()
    counts = np.floor(exact).astype(np.int64)
    short = total - int(counts.sum())
    counts[np.argsort(-(exact - counts), kind="stable")[:short]] += 1
    return counts


def year_counts(year: int, seed: int = 2023) -> tuple[np.ndarray, np.ndarray]:
    """People by single year of age (0..90) for males and females in one mid-year."""
    target = TARGETS[year]
    rng = np.random.default_rng([seed, year])
    male_w, female_w = (w * (1 + rng.normal(0, 0.03, len(AGES))) for w in age_profile())
    band_totals = (target["aged_0_4"], target["aged_5_19"], target["total"] - target["aged_0_4"] - target["aged_5_19"])
    male, female = np.zeros(len(AGES), np.int64), np.zeros(len(AGES), np.int64)
    males_so_far = 0
    for i, ((first, last), band_total) in enumerate(zip(BANDS, band_totals, strict=True)):
        ages = slice(first, last + 1)
        if i < len(BANDS) - 1:
            band_male = round(band_total * male_w[ages].sum() / (male_w[ages].sum() + female_w[ages].sum()))
        else:  # the last band takes whatever makes the male total exact
            band_male = target["male"] - males_so_far
        males_so_far += band_male
        male[ages] = apportion(band_male, male_w[ages])
        female[ages] = apportion(band_total - band_male, female_w[ages])
    return male, female


def generate_population(out_dir: Path, seed: int = 2023) -> list[Path]:
    """Write one CSV per mid-year under ``out_dir/population``; returns the paths."""
    folder = Path(out_dir) / "population"
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for year in YEARS:
        male, female = year_counts(year, seed)
        ons_style = year in ONS_STYLE_YEARS
        frame = pd.DataFrame(
            {
                "year": year,
                "la_code": GSS_CODE if ons_style else OLD_LA_CODE,
                "age": np.concatenate([AGES, AGES]),
                "sex": np.repeat(["1", "2"] if ons_style else ["M", "F"], len(AGES)),
                "population": np.concatenate([male, female]),
            }
        )
        if ons_style:
            frame.insert(2, "la_name", LA_NAME)
        path = folder / f"mid_{year}_rutland.csv"
        frame.to_csv(path, index=False, lineterminator="\n")
        paths.append(path)
    return paths
