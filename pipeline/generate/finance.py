"""Synthetic high needs spending (S251 outturn) for Rutland, calibrated to the seed needs assessment.

``generate_finance(out_dir, seed)`` writes ``out_dir/finance/<yyyy-yy>_s251_high_needs.csv`` for the financial
years 2019-20 .. 2022-23 in the contract of pipeline/sources/finance.py, encoded Windows-1252 as a
council's finance system exports it, amounts written the way such exports do: ``£1,234,567.89``, refunds and
income in brackets (``(£45,210.00)``; the 2021-22 file uses a minus sign instead).

Seed figures (tests/fixtures/figures.yaml ``expenditure_9``; seed section 9): high needs spending of £4.1m in
2019-20 rising to £5.4m in 2022-23, "an increase in excess of 30%". Each year's total (the sum of every reported
amount, income included) is drawn within +-0.3% of :data:`TOTAL_GBP_M`, so it rounds to the seed figure to
£0.1m and the rise stays above 30%; the pence are then dealt to the rows so they add up to that total exactly.
Out-of-county placements (top-ups paid to other authorities' special schools, line 1.2.1, and independent
special schools out of county, line 1.2.3) are the largest category and grow fastest ("a high proportion ... out
of County special provisions which is driving overall expenditure").

Lines that were not reported carry an EES symbol instead of an amount, never a zero: hospital education is
``c`` (confidential: one or two children) in 2019-20 and 2021-22, schools in financial difficulty ``x`` (not
available) in 2019-20 and 2020-21, PFI/BSF and the retired carbon reduction allowances ``z`` (not applicable).

Deterministic: each year draws from ``numpy.random.default_rng([seed, start_year])``.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from pipeline.sources.finance import S251_LINES

FINANCIAL_YEARS = ("2019-20", "2020-21", "2021-22", "2022-23")
# Total high needs spend per year in £m: 2019-20 and 2022-23 are the seed's; the years between are plausible.
TOTAL_GBP_M = {"2019-20": 4.1, "2020-21": 4.4, "2021-22": 4.9, "2022-23": 5.4}
TOTAL_JITTER = 0.003  # the drawn total stays within +-0.3% of TOTAL_GBP_M (rounds to it; the rise stays > 30%)

# (line, category, share of the year's spend in 2019-20, share in 2022-23); a share may be negative (income).
PLAN: tuple[tuple[str, str, float, float], ...] = (
    ("1.0.2", "place funding", 0.12, 0.10),
    ("1.2.1", "top-up maintained", 0.13, 0.11),
    ("1.2.1", "out-of-county", 0.08, 0.09),
    ("1.2.1", "inter-authority recoupment", -0.02, -0.02),
    ("1.2.2", "top-up academies", 0.14, 0.12),
    ("1.2.2", "top-up further education", 0.05, 0.06),
    ("1.2.3", "independent/non-maintained", 0.06, 0.05),
    ("1.2.3", "out-of-county", 0.24, 0.30),
    ("1.2.4", "mainstream targeted funding", 0.02, 0.02),
    ("1.2.5", "SEN support service", 0.07, 0.06),
    ("1.2.6", "hospital education", 0.01, 0.01),
    ("1.2.7", "alternative provision", 0.04, 0.03),
    ("1.2.8", "inclusion support", 0.03, 0.03),
    ("1.2.9", "schools in financial difficulty", 0.005, 0.005),
    ("1.2.10", "PFI/BSF", 0.0, 0.0),
    ("1.2.11", "direct payments", 0.01, 0.01),
    ("1.2.12", "carbon reduction", 0.0, 0.0),
    ("1.2.13", "therapies", 0.02, 0.02),
)
# (line, category) -> {financial year: symbol} for the amounts that were not reported
SYMBOLS: dict[tuple[str, str], dict[str, str]] = {
    ("1.2.6", "hospital education"): {"2019-20": "c", "2021-22": "c"},
    ("1.2.9", "schools in financial difficulty"): {"2019-20": "x", "2020-21": "x"},
    ("1.2.10", "PFI/BSF"): dict.fromkeys(FINANCIAL_YEARS, "z"),
    ("1.2.12", "carbon reduction"): dict.fromkeys(FINANCIAL_YEARS, "z"),
}
MINUS_SIGN_YEARS = ("2021-22",)  # negative amounts written -£1,234.00 (other years: in brackets)
COLUMNS = ("financial_year", "line_code", "line_label", "category", "amount_gbp")


def format_gbp(pence: int, brackets: bool = True) -> str:
    """``£1,234.56`` for pence; a negative amount in brackets or with a minus sign."""
    text = f"£{abs(pence) // 100:,}.{abs(pence) % 100:02d}"
    if pence >= 0:
        return text
    return f"({text})" if brackets else f"-{text}"


def year_amounts(financial_year: str, seed: int = 2023) -> dict[tuple[str, str], int | str]:
    """Pence (or a symbol) for each (line, category) of one financial year; the pence add up to the total."""
    start = int(financial_year[:4])
    rng = np.random.default_rng([seed, start])
    step = (start - 2019) / 3  # 0 in 2019-20 .. 1 in 2022-23
    total_pence = round(TOTAL_GBP_M[financial_year] * 1e8 * (1 + rng.uniform(-TOTAL_JITTER, TOTAL_JITTER)))
    keys = [(line, category) for line, category, _, _ in PLAN]
    share = np.array([first + (last - first) * step for _, _, first, last in PLAN])
    share *= 1 + rng.normal(0, 0.04, len(PLAN))  # every line wobbles a little from year to year
    reported = np.array(
        [financial_year not in SYMBOLS.get(key, {}) and s != 0 for key, s in zip(keys, share, strict=True)]
    )
    share = np.where(reported, share, 0.0)
    pence = np.rint(total_pence * share / share.sum()).astype(np.int64)
    largest = int(np.argmax(pence))
    pence[largest] += total_pence - int(pence.sum())  # the rounding pence land on the largest line
    amounts: dict[tuple[str, str], int | str] = {}
    for i, key in enumerate(keys):
        amounts[key] = int(pence[i]) if reported[i] else SYMBOLS[key][financial_year]
    return amounts


def generate_finance(out_dir: Path, seed: int = 2023) -> list[Path]:
    """Write one Windows-1252 CSV per financial year under ``out_dir/finance``; returns the paths."""
    folder = Path(out_dir) / "finance"
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for financial_year in FINANCIAL_YEARS:
        amounts = year_amounts(financial_year, seed)
        brackets = financial_year not in MINUS_SIGN_YEARS
        path = folder / f"{financial_year}_s251_high_needs.csv"
        with path.open("w", newline="", encoding="cp1252") as handle:
            writer = csv.writer(handle, lineterminator="\r\n")
            writer.writerow(COLUMNS)
            for (line, category), amount in amounts.items():
                text = amount if isinstance(amount, str) else format_gbp(amount, brackets)
                writer.writerow((financial_year, line, S251_LINES[line], category, text))
        paths.append(path)
    return paths
