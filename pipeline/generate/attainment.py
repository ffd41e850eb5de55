"""Synthetic pupil-level key stage results (Rutland, 2021/22), calibrated to the seed needs assessment, section 8.

``generate_attainment(out_dir, seed)`` writes ``out_dir/attainment/attainment_2021-22.csv`` in the contract of
:mod:`pipeline.sources.attainment`: one row per pupil x key stage x measure, ``academic_year`` ``2021/22``.

Who: pupils of the generated Spring 2022 census of the same seed (:mod:`pipeline.generate.linked_census`) in the
year group that sits the assessment - reception (EYFS), year 2 (KS1), year 6 (KS2), year 11 (KS4) - with their
census SEN status: the marts join the results to that census, so the SEN status is the census's, not a column
here. A few pupils who joined a school after the census (UPNs allocated at establishments 5000-5999, which no other
generator uses) have results too; they are in no census, so the marts count them as no SEN.

What the seed's figures (figures.yaml ``attainment_8``, 2022) become, as counts (PLAN):

* EYFS good level of development: SEN support 6 of 19 (31.6%), EHC plan 2 of 6;
* KS1 expected standard, SEN support (41 pupils): reading 12, writing 9, maths 18 (29.3 / 22.0 / 43.9%); EHC plan
  (7 pupils): 1, 1, 2 (14.3 / 14.3 / 28.6%);
* KS2 reading, writing and maths combined: SEN support 9 of 47 (19.1%; the seed prints 19.0), EHC plan 1 of 23;
* KS4 average Attainment 8 score (a score out of 90, not a percentage): SEN support 43.3 over 40 pupils, EHC plan
  28.7 over 13; average Progress 8 score 0.21 over 37 and -0.17 over 12 (pupils without a KS2 baseline have no
  Progress 8 score).

A planned cohort can only be as large as the census's pupils of that year group and SEN status. The census
generator holds at least every planned cohort in Spring 2022, whatever the seed (calibration
``SEN_YEAR_GROUP_FLOOR``; checked against the plans here at import, ``cohorts_beyond_census_floor``), so the
seed's figures come out exactly. As a guard, ``attainment_plan(seed)`` still fits each cohort to the census it is
given: where the census holds fewer (``fit_cohort``), the cohort is every such pupil and the number meeting the
standard is the one whose percentage is nearest the seed's, and the cell is returned as shrunk (the module prints
nothing). Pupils without SEN: about 97% of the year group have a result, at rates like England's pupils without
SEN (NON_SEN_*); a plausible shape, not seed figures.

Results meeting the standard lean on one latent attainment per pupil, so a KS1 pupil who meets writing usually
meets reading too; scores are drawn around the planned mean and then nudged, one step at a time, until their total
gives exactly the planned mean when rounded (Attainment 8 in steps of 0.5, Progress 8 in steps of 0.01).

Deterministic: ``numpy.random.default_rng([seed, 81])``.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import numpy as np
import pandas as pd

from pipeline.generate.calibration import LA_CODE, SEN_YEAR_GROUP_FLOOR
from pipeline.generate.linked_census import census_pupils
from pipeline.upn import make_upns

ACADEMIC_YEAR = "2021/22"
CENSUS_YEAR = 2022  # the Spring census of academic year 2021/22
HEADER = ("academic_year", "upn", "key_stage", "measure", "result")
YEAR_GROUP = {"EYFS": "R", "KS1": "2", "KS2": "6", "KS4": "11"}

# ---- seed figures (section 8, 2022), as counts: (key stage, measure) -> provision -> (cohort, pupils meeting) ----
BINARY_PLAN: dict[tuple[str, str], dict[str, tuple[int, int]]] = {
    ("EYFS", "GLD"): {"K": (19, 6), "E": (6, 2)},
    ("KS1", "READING"): {"K": (41, 12), "E": (7, 1)},
    ("KS1", "WRITING"): {"K": (41, 9), "E": (7, 1)},
    ("KS1", "MATHS"): {"K": (41, 18), "E": (7, 2)},
    ("KS2", "RWM"): {"K": (47, 9), "E": (23, 1)},
}
# KS4: measure -> provision -> (pupils with a score, mean score as the seed prints it)
SCORE_PLAN: dict[str, dict[str, tuple[int, str]]] = {
    "ATT8": {"K": (40, "43.3"), "E": (13, "28.7")},
    "P8": {"K": (37, "0.21"), "E": (12, "-0.17")},
}
SCORE_STEP = {"ATT8": Decimal("0.5"), "P8": Decimal("0.01")}
SCORE_BOUNDS = {"ATT8": (Decimal(0), Decimal(90)), "P8": (Decimal("-5"), Decimal("5"))}
SCORE_SPREAD = {"ATT8": {"K": 11.0, "E": 12.0, "N": 14.0}, "P8": {"K": 1.0, "E": 1.2, "N": 1.05}}

# ---- plausible shape (no seed figure depends on these) -------------------------------------------------------
NON_SEN_WITH_RESULT = 0.97
NON_SEN_MET = {("EYFS", "GLD"): 0.72, ("KS1", "READING"): 0.75, ("KS1", "WRITING"): 0.69,
               ("KS1", "MATHS"): 0.76, ("KS2", "RWM"): 0.69}  # fmt: skip
NON_SEN_MEAN = {"ATT8": "51.6", "P8": "0.12"}
NO_KS2_BASELINE_NON_SEN = 0.04  # share of KS4 pupils with Attainment 8 but no Progress 8 score
JOINED_AFTER_CENSUS = {"EYFS": 2, "KS1": 2, "KS2": 2, "KS4": 3}  # results of pupils in no census, no SEN
UPN_ESTABS = (5000, 6000)


@dataclass(frozen=True)
class Cell:
    """One planned cell after fitting: the cohort and, for a binary measure, the pupils meeting the standard."""

    cohort: int
    met: int | None = None
    mean: Decimal | None = None


def fit_cohort(cohort: int, met: int, available: int) -> tuple[int, int]:
    """(cohort, met) as planned when ``available`` pupils suffice; otherwise every available pupil, and the number
    meeting the standard whose share is nearest the planned share (ties to the smaller)."""
    if available >= cohort:
        return cohort, met
    best = min(range(available + 1), key=lambda m: (abs(m * cohort - met * available), m))
    return available, best


def cohorts_beyond_census_floor(floor: dict[tuple[str, str], int]) -> list[str]:
    """Planned SEN cohorts larger than the census's floor for their (provision, NC year), described; [] if none."""
    planned = [
        (stage, provision, cohort) for (stage, _), by in BINARY_PLAN.items() for provision, (cohort, _) in by.items()
    ]
    planned += [("KS4", provision, cohort) for by in SCORE_PLAN.values() for provision, (cohort, _) in by.items()]
    problems = []
    for stage, provision, cohort in planned:
        held = floor.get((provision, YEAR_GROUP[stage]), 0)
        if cohort > held:
            problems.append(f"{stage} {provision}: planned cohort {cohort}, census floor {held}")
    return sorted(set(problems))


def attainment_plan(seed: int = 2023) -> tuple[dict, list[str]]:
    """The plan fitted to the census of ``seed``: {(key stage, measure, provision): Cell}, and the shrunk cells."""
    census = census_pupils(seed, CENSUS_YEAR)
    plan: dict[tuple[str, str, str], Cell] = {}
    shrunk = []
    for (stage, measure), by_provision in BINARY_PLAN.items():
        for provision, (cohort, met) in by_provision.items():
            available = _year_group(census, stage, provision).shape[0]
            fitted = fit_cohort(cohort, met, available)
            if fitted != (cohort, met):
                shrunk.append(f"{stage} {measure} {provision}: planned {met} of {cohort}, census holds {available}")
            plan[(stage, measure, provision)] = Cell(fitted[0], met=fitted[1])
    for measure, by_provision in SCORE_PLAN.items():
        for provision, (cohort, mean) in by_provision.items():
            available = _year_group(census, "KS4", provision).shape[0]
            if available < cohort:
                shrunk.append(f"KS4 {measure} {provision}: planned {cohort} pupils, census holds {available}")
            plan[("KS4", measure, provision)] = Cell(min(cohort, available), mean=Decimal(mean))
    return plan, shrunk


def generate_attainment(out_dir: Path, seed: int = 2023) -> list[Path]:
    """Write the 2021/22 results extract into ``out_dir / "attainment"``; return its path in a list."""
    rows = attainment_rows(seed)
    folder = Path(out_dir) / "attainment"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"attainment_{ACADEMIC_YEAR.replace('/', '-')}.csv"
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(HEADER)
        writer.writerows(rows[list(HEADER)].itertuples(index=False, name=None))
    os.replace(tmp, path)
    return [path]


def attainment_rows(seed: int = 2023) -> pd.DataFrame:
    """Every row of the extract (columns HEADER plus provision, the census SEN status used to plan it)."""
    rng = np.random.default_rng([seed, 81])
    census = census_pupils(seed, CENSUS_YEAR)
    plan, _ = attainment_plan(seed)
    parts = []
    for stage in YEAR_GROUP:
        for provision in ("E", "K", "N"):
            pupils = _year_group(census, stage, provision).upn.to_numpy()
            parts.append(_stage_results(rng, stage, provision, pupils, plan))
        parts.append(_stage_results(rng, stage, "N", _joined_after_census(rng, stage), plan, everyone=True))
    rows = pd.concat(parts, ignore_index=True)
    rows.insert(0, "academic_year", ACADEMIC_YEAR)
    rows = rows.sort_values(["key_stage", "upn", "measure"], kind="stable").reset_index(drop=True)
    _check(rows, plan)
    return rows


# ------------------------------------------------------------------------------------------------------------


def _year_group(census: pd.DataFrame, stage: str, provision: str) -> pd.DataFrame:
    return census[(census.ncyear_actual == YEAR_GROUP[stage]) & (census.sen_provision == provision)]


def _measures(stage: str) -> list[str]:
    if stage == "KS4":
        return list(SCORE_PLAN)
    return [measure for (s, measure) in BINARY_PLAN if s == stage]


def _stage_results(rng, stage: str, provision: str, pupils: np.ndarray, plan: dict, everyone: bool = False):
    """Rows for one year group and SEN status: who has a result, who meets the standard or what they score."""
    if everyone:
        cohort_size = pupils.shape[0]
    elif provision == "N":
        cohort_size = round(NON_SEN_WITH_RESULT * pupils.shape[0])
    else:
        cohort_size = plan[(stage, _measures(stage)[0], provision)].cohort
    cohort = np.sort(rng.choice(pupils, cohort_size, replace=False)) if cohort_size else pupils[:0]
    ability = rng.standard_normal(cohort.shape[0])
    rows = []
    if stage == "KS4":
        att8 = _scores(rng, "ATT8", provision, ability, plan, cohort.shape[0], everyone)
        rows.append(pd.DataFrame({"upn": cohort, "measure": "ATT8", "result": [_text(s) for s in att8]}))
        with_baseline = _p8_pupils(rng, provision, cohort.shape[0], plan, everyone)
        p8_ability = 0.6 * ability[with_baseline] + 0.8 * rng.standard_normal(with_baseline.shape[0])
        p8 = _scores(rng, "P8", provision, p8_ability, plan, with_baseline.shape[0], everyone)
        rows.append(pd.DataFrame({"upn": cohort[with_baseline], "measure": "P8", "result": [_text(s) for s in p8]}))
    else:
        for measure in _measures(stage):
            if provision != "N" and not everyone:
                met = plan[(stage, measure, provision)].met
            else:
                met = round(NON_SEN_MET[(stage, measure)] * cohort.shape[0])
            keys = ability + 0.7 * rng.standard_normal(cohort.shape[0])
            meets = np.zeros(cohort.shape[0], dtype=bool)
            meets[np.argsort(-keys, kind="stable")[:met]] = True
            rows.append(pd.DataFrame({"upn": cohort, "measure": measure, "result": np.where(meets, "Y", "N")}))
    frame = pd.concat(rows, ignore_index=True)
    frame.insert(1, "key_stage", stage)
    frame["provision"] = "not in census" if everyone else provision
    return frame


def _p8_pupils(rng, provision: str, n_att8: int, plan: dict, everyone: bool) -> np.ndarray:
    if provision == "N" or everyone:
        size = n_att8 - round(NO_KS2_BASELINE_NON_SEN * n_att8)
    else:
        size = min(plan[("KS4", "P8", provision)].cohort, n_att8)
    return np.sort(rng.choice(n_att8, size, replace=False))


def _scores(rng, measure: str, provision: str, ability: np.ndarray, plan: dict, n: int, everyone: bool):
    group = "N" if everyone else provision
    if group == "N":  # a plausible mean, not a seed figure: drawn, not nudged
        units = np.rint(
            (float(NON_SEN_MEAN[measure]) + SCORE_SPREAD[measure]["N"] * ability[:n]) / float(SCORE_STEP[measure])
        )
        low, high = (int(b / SCORE_STEP[measure]) for b in SCORE_BOUNDS[measure])
        return [Decimal(int(u)) * SCORE_STEP[measure] for u in np.clip(units, low, high)]
    target = plan[("KS4", measure, provision)].mean
    return scores_with_mean(ability[:n], target, SCORE_SPREAD[measure][group], SCORE_STEP[measure],
                            SCORE_BOUNDS[measure], rng)  # fmt: skip


def scores_with_mean(ability: np.ndarray, target: Decimal, spread: float, step: Decimal,
                     bounds: tuple[Decimal, Decimal], rng: np.random.Generator) -> list[Decimal]:  # fmt: skip
    """Scores (multiples of ``step`` within ``bounds``) whose mean rounds to ``target`` at its own decimals.

    Drawn as target + spread x ability, then single steps are added to or taken from random pupils (never past
    a bound) until the total is the multiple of ``step`` nearest target x n.
    """
    n = ability.shape[0]
    if n == 0:
        return []
    low, high = (int(b / step) for b in bounds)
    units = np.clip(np.rint((float(target) + spread * ability) / float(step)), low, high).astype(np.int64)
    goal = _total_units(target, n, step, low * n, high * n)
    while (gap := goal - int(units.sum())) != 0:
        movable = np.flatnonzero(units < high) if gap > 0 else np.flatnonzero(units > low)
        chosen = rng.choice(movable, min(abs(gap), movable.shape[0]), replace=False)
        units[chosen] += 1 if gap > 0 else -1
    return [Decimal(int(u)) * step for u in units]


def _total_units(target: Decimal, n: int, step: Decimal, lowest: int, highest: int) -> int:
    """The total (in steps) nearest target x n whose mean, rounded as printed, is the target."""
    decimals = -target.as_tuple().exponent
    exact = target * n / step
    near = sorted(range(int(exact) - 2, int(exact) + 3), key=lambda units: (abs(units - exact), units))
    for units in near:
        if lowest <= units <= highest and mean_as_printed([units * step / n], decimals) == target:
            return units
    raise ValueError(f"a mean of {target} is out of reach for {n} scores in steps of {step} within the bounds")


def _text(score: Decimal) -> str:
    return f"{score.normalize():f}" if score != 0 else "0"


def _joined_after_census(rng, stage: str) -> np.ndarray:
    """UPNs of pupils who joined a school after the Spring census (so in no census), allocated at reception."""
    n = JOINED_AFTER_CENSUS[stage]
    reception = CENSUS_YEAR - 1 - int(YEAR_GROUP[stage].replace("R", "0"))  # September they started reception
    serials = rng.choice(1000, n, replace=False)
    return make_upns(int(LA_CODE), rng.integers(*UPN_ESTABS, n), reception, serials)


def mean_as_printed(scores, decimals: int) -> Decimal:
    """The mean of ``scores`` rounded half up to ``decimals`` places, as a published table prints it."""
    values = [Decimal(str(s)) for s in scores]
    return (sum(values) / len(values)).quantize(Decimal(1).scaleb(-decimals), ROUND_HALF_UP)


def _check(rows: pd.DataFrame, plan: dict) -> None:
    """The rows reproduce the fitted plan (fails at generation, not in a report)."""
    problems = []
    for (stage, measure, provision), cell in plan.items():
        got = rows[(rows.key_stage == stage) & (rows.measure == measure) & (rows.provision == provision)]
        if len(got) != cell.cohort:
            problems.append(f"{stage} {measure} {provision}: cohort {len(got)} != {cell.cohort}")
        if cell.met is not None and int((got.result == "Y").sum()) != cell.met:
            problems.append(f"{stage} {measure} {provision}: {(got.result == 'Y').sum()} met != {cell.met}")
        if cell.mean is not None and mean_as_printed(got.result, -cell.mean.as_tuple().exponent) != cell.mean:
            problems.append(f"{stage} {measure} {provision}: mean != {cell.mean}")
    if rows.duplicated(["upn", "key_stage", "measure"]).any():
        problems.append("a pupil with two results for one measure")
    if problems:
        raise AssertionError("attainment plan does not reproduce the seed: " + "; ".join(problems))


def _check_census_floor() -> None:
    """Every planned cohort fits in the census floor of its year group (fails at import, not in a report)."""
    if problems := cohorts_beyond_census_floor(SEN_YEAR_GROUP_FLOOR.get(CENSUS_YEAR, {})):
        raise ValueError("calibration.SEN_YEAR_GROUP_FLOOR is short of the attainment plan: " + "; ".join(problems))


_check_census_floor()
