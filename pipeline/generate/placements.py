"""Synthetic placements extracts from a council's case-management system, calibrated to the seed.

``generate_placements(out_dir, seed)`` writes ``out_dir/placements/placements_<extract date>.csv`` for the
extract dates 2021-12-31 and 2022-12-31, in the contract of :mod:`pipeline.sources.placements`: one row per
placement open at any time in the 12 months up to the extract date. An extract therefore holds the placements
current on its date and those that ended during the year before it (a child who moved to secondary school in
September appears twice in the December extract: the ended primary placement and the current one).

Seed figures reproduced exactly, counting distinct children with an EHC plan whose placement is current at
the extract date (start_date <= extract_date, end_date empty or >= extract_date):

* 6.4 -- in an out-of-county special school (setting LA_SPECIAL or INMSS, in_county N): 54 at 2021-12-31 and
  67 at 2022-12-31; in enhanced resourced / designated special provision (ERP): 50 at 2022-12-31;
* 6.5 -- aged 16-25 at 2022-12-31 (completed years from the birth month): 93, of whom 85 in post-16 college
  (FE_COLLEGE, SPI) or alternative provision (AP) and 8 in apprenticeships or residential provision;
* 9 -- out-of-county special schools hold 20% of the children with an EHC plan (67 of 335).

Who the children are (the shape is plausible, the counts above are exact):

* ``census`` -- every Rutland-resident EHCP pupil of the generated Spring 2023 census who is under 16 at
  December 2022, with the census UPN, date of birth, gender and primary need, so the sources link. The census
  is regenerated in memory with the same seed (scale rutland, 2023 only), so these are the UPNs that
  ``send-pipeline generate --seed`` writes. Placement: the LA special school for the special school's pupils,
  ERP for 50 mainstream pupils, mainstream for the others; all in county.
* ``ooc_special`` -- 67 children in out-of-county special schools at December 2022: 50 placed before December
  2021, 17 placed during 2022 (most moving from an in-county school);
* ``post16`` -- 93 young people aged 16-25; four of the 16-year-olds left an out-of-county special school for
  college in July 2022 (so 50 + 4 = 54 out of county at December 2021);
* ``other`` -- the rest of the 335: out-of-county mainstream schools (Stamford, Leicestershire villages), early
  years, alternative provision, elective home education, other arrangements;
* ``leaver`` -- EHCP children and young people placed at December 2021 whose placement ended in 2022 (plan
  ceased, moved away); ``sen_support`` -- a few placements of children without an EHC plan (AP, ERP
  assessment places, one emergency independent placement).

has_ehcp is per row: whether the plan existed during that placement. About a third of the ended placements
that came before a child's current one were without a plan (the plan came with the move), so the EHCP count
grows from December 2021 to December 2022, as the seed describes.

Known limit: the census's few resident EHCP pupils who are 16 or over at December 2022 (school sixth forms,
Year 11 pupils born September to December 2006) have no placement row, because the seed counts every EHCP young
person aged 16-25 as in college, AP, an apprenticeship or residential provision.

Deterministic: ``numpy.random.default_rng([seed, 64])``, and ``[seed, 64, 1]`` for ids and UPNs. The data set
is a few hundred rows, so it is built child by child for clarity (the census it links to is vectorised).
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from pipeline.generate.calibration import LA_CODE
from pipeline.generate.census import apportion, generate_census
from pipeline.upn import make_upns

EXTRACT_DATES = (dt.date(2021, 12, 31), dt.date(2022, 12, 31))
LATEST = EXTRACT_DATES[-1]
HEADER = (
    "extract_date", "placement_id", "person_id", "upn", "dob", "has_ehcp", "primary_need", "setting_type",
    "in_county", "start_date", "end_date", "annual_cost_gbp",
)  # fmt: skip

# ---- seed figures (children with an EHC plan, current at the extract date) ----------------------------------
OUT_OF_COUNTY_SPECIAL = {EXTRACT_DATES[0]: 54, EXTRACT_DATES[1]: 67}  # seed 6.4
ERP_2022 = 50  # seed 6.4: designated special provision / enhanced resourced provision
POST16_SETTINGS_2022 = {"FE_COLLEGE": 57, "SPI": 10, "AP": 18, "APPRENTICESHIP": 5, "RESIDENTIAL": 3}  # seed 6.5
POST16_COLLEGE_OR_AP = ("FE_COLLEGE", "SPI", "AP")  # 57 + 10 + 18 = 85 of 93 (91%)
EHCP_2022 = 335  # seed 9: 67 / 335 = 20.0% in out-of-county special schools

# ---- plausible shape (change freely: no seed figure depends on these beyond the asserts in _check) -----------
OOC_SPECIAL_CONTINUING = 50  # of the 67 at December 2022, already placed at December 2021
OOC_SPECIAL_TO_COLLEGE = OUT_OF_COUNTY_SPECIAL[EXTRACT_DATES[0]] - OOC_SPECIAL_CONTINUING  # 4 left for college
OOC_SPECIAL_MOVED_IN = 4  # of the 17 placed in 2022, new to the area (no earlier placement here)
OOC_SPECIAL_LA_SPECIAL = 30  # of the 67, another LA's maintained special school; the rest independent (INMSS)
OOC_SPECIAL_AGE_WEIGHTS = {6: 2, 7: 3, 8: 4, 9: 5, 10: 6, 11: 7, 12: 8, 13: 8, 14: 8, 15: 7}
POST16_AGES_2022 = {16: 24, 17: 21, 18: 16, 19: 11, 20: 8, 21: 5, 22: 3, 23: 2, 24: 2, 25: 1}  # = 93
POST16_IN_COUNTY = {"FE_COLLEGE": 0.15, "SPI": 0.0, "AP": 0.7, "APPRENTICESHIP": 0.6, "RESIDENTIAL": 0.0}
OTHER_SETTINGS = {"MAINSTREAM": 0.55, "EARLY_YEARS": 0.15, "AP": 0.10, "EHE": 0.10, "OTHER": 0.10}
LEAVERS_POST16, LEAVERS_SCHOOL = 9, 3
PLAN_ISSUED_AT_MOVE = 0.35  # of children whose previous placement ended recently: the plan came with the move
SEN_SUPPORT_PLACEMENTS = (  # (setting, in county, youngest, oldest)
    ("AP", True, 11, 15), ("AP", True, 11, 15), ("AP", True, 12, 15), ("AP", True, 13, 15), ("AP", True, 14, 15),
    ("AP", True, 16, 16), ("AP", True, 17, 17), ("ERP", True, 5, 10), ("ERP", True, 5, 10), ("ERP", True, 6, 10),
    ("ERP", True, 7, 10), ("ERP", True, 8, 10), ("INMSS", False, 12, 12), ("MAINSTREAM", False, 6, 14),
    ("MAINSTREAM", False, 6, 14), ("EHE", True, 8, 14),
)  # fmt: skip
EHCP_NEEDS = {"ASD": 34, "SEMH": 22, "MLD": 10, "SLCN": 9, "SLD": 7, "PD": 5, "PMLD": 2, "HI": 3, "VI": 2,
              "MSI": 1, "SPLD": 2, "OTH": 3}  # fmt: skip
SEN_SUPPORT_NEEDS = {"SEMH": 30, "MLD": 20, "SPLD": 12, "SLCN": 12, "ASD": 10, "NSA": 8, "OTH": 3}
ERP_NEED_LEAN = {"ASD": 3, "AUT": 3, "SLCN": 3, "HI": 3, "MLD": 2, "PD": 2, "VI": 2}
AUT_SHARE = 1 / 3  # ASD recorded with the newer code AUT, as in the census
NEIGHBOUR_LAS = (925, 855, 874, 928, 856)  # where children placed out of county had their UPN allocated
UPN_SERIALS = range(1, 500)  # this generator's UPN serials; the register generator uses 500..999
PERSON_IDS = (100_000, 700_000)  # case-management person ids of this cohort; the register uses 700000+
COSTS = {  # (setting, in county) -> annual cost range in GBP; None: not applicable (z)
    ("EARLY_YEARS", True): (2_000, 6_000), ("EARLY_YEARS", False): (2_000, 6_000),
    ("MAINSTREAM", True): (3_000, 9_000), ("MAINSTREAM", False): (4_000, 10_000),
    ("ERP", True): (9_000, 14_000), ("ERP", False): (10_000, 15_000),
    ("LA_SPECIAL", True): (17_000, 24_000), ("LA_SPECIAL", False): (19_000, 32_000),
    ("INMSS", True): (38_000, 95_000), ("INMSS", False): (38_000, 95_000),
    ("AP", True): (14_000, 26_000), ("AP", False): (16_000, 28_000),
    ("FE_COLLEGE", True): (4_000, 12_000), ("FE_COLLEGE", False): (4_000, 12_000),
    ("SPI", True): (28_000, 60_000), ("SPI", False): (28_000, 60_000),
    ("RESIDENTIAL", True): (85_000, 160_000), ("RESIDENTIAL", False): (85_000, 160_000),
    ("OTHER", True): (1_000, 15_000), ("OTHER", False): (1_000, 15_000),
    ("APPRENTICESHIP", True): None, ("APPRENTICESHIP", False): None, ("EHE", True): None, ("EHE", False): None,
}  # fmt: skip


@dataclass
class _Cohort:
    rng: np.random.Generator
    persons: list[dict] = field(default_factory=list)
    placements: list[dict] = field(default_factory=list)

    def person(self, group: str, dob: dt.date, gender: str, has_ehcp: bool, need: str, upn: str | None = None,
               wants_upn: bool = False) -> int:  # fmt: skip
        key = len(self.persons)
        self.persons.append(
            {"key": key, "group": group, "dob": dob, "gender": gender, "has_ehcp": has_ehcp, "primary_need": need,
             "upn": upn, "wants_upn": wants_upn and upn is None}
        )  # fmt: skip
        return key

    def place(self, key: int, setting: str, in_county: bool, start: dt.date, end: dt.date | None = None,
              has_ehcp: bool | None = None) -> None:  # fmt: skip
        """One placement; ``has_ehcp`` (default: the child's) is whether the plan existed during it."""
        if end is not None and end < start:
            raise ValueError("a placement cannot end before it starts")
        plan = self.persons[key]["has_ehcp"] if has_ehcp is None else has_ehcp
        self.placements.append(
            {"key": key, "setting_type": setting, "in_county": in_county, "start_date": start, "end_date": end,
             "has_ehcp": plan, "annual_cost_gbp": _cost(self.rng, setting, in_county)}
        )  # fmt: skip


# ------------------------------------------------------------------------------------------------------------
# Public API


def generate_placements(out_dir: Path, seed: int = 2023) -> list[Path]:
    """Write one placements extract per date of EXTRACT_DATES into ``out_dir / "placements"``; return the paths."""
    persons, placements = placement_cohort(seed)
    folder = Path(out_dir) / "placements"
    folder.mkdir(parents=True, exist_ok=True)
    rows = placements.merge(persons.drop(columns="has_ehcp"), on="person_id", how="left", validate="many_to_one")
    paths = []
    for extract_date in EXTRACT_DATES:
        path = folder / f"placements_{extract_date.isoformat()}.csv"
        _write_csv(path, extract_rows(rows, extract_date), extract_date)
        paths.append(path)
    return paths


def extract_rows(rows: pd.DataFrame, extract_date: dt.date) -> pd.DataFrame:
    """Placements open at any time in the 12 months up to ``extract_date`` (started by then, not ended before)."""
    window_start = _add_years(extract_date, -1) + dt.timedelta(days=1)
    started = rows.start_date <= extract_date
    not_ended = rows.end_date.map(lambda d: is_missing(d) or d >= window_start).astype(bool)
    return rows[started & not_ended].sort_values("placement_id")


@functools.lru_cache(maxsize=4)
def _cached_cohort(seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    cohort = _build(seed)
    persons = pd.DataFrame(cohort.persons)
    placements = pd.DataFrame(cohort.placements)
    rng = np.random.default_rng([seed, 64, 1])
    ids = rng.choice(np.arange(*PERSON_IDS), size=len(persons), replace=False)
    persons["person_id"] = [str(i) for i in ids]
    _allocate_upns(rng, persons)
    placements = placements.merge(persons[["key", "person_id"]], on="key").drop(columns="key")
    placements = placements.sort_values(["start_date", "person_id", "setting_type"], kind="stable")
    placements.insert(0, "placement_id", [f"PL{100001 + i}" for i in range(len(placements))])
    persons = persons.drop(columns=["key", "wants_upn"])
    _check(persons, placements)
    return persons, placements.reset_index(drop=True)


def placement_cohort(seed: int = 2023) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The children and their placements (all dates), before they are cut into extracts.

    ``persons``: person_id, upn (None when not recorded), dob, gender, has_ehcp, primary_need, group.
    ``placements``: placement_id, person_id, setting_type, in_county, start_date, end_date (None: open),
    has_ehcp (the plan existed during the placement), annual_cost_gbp (as the extract prints it).
    The disability register generator draws its EHCP children from here, so both describe the same children.
    """
    persons, placements = _cached_cohort(seed)
    return persons.copy(), placements.copy()


# ------------------------------------------------------------------------------------------------------------
# Building the cohort


def _build(seed: int) -> _Cohort:
    rng = np.random.default_rng([seed, 64])
    cohort = _Cohort(rng)
    n_census = _census_children(cohort, seed)
    _ooc_special_children(cohort)
    _post16_young_people(cohort)
    _other_children(cohort, EHCP_2022 - n_census - OUT_OF_COUNTY_SPECIAL[LATEST] - sum(POST16_AGES_2022.values()))
    _leavers(cohort)
    _sen_support(cohort)
    return cohort


def _census_children(cohort: _Cohort, seed: int) -> int:
    """Resident EHCP pupils of the Spring 2023 census under 16 at December 2022, placed in county."""
    rng = cohort.rng
    census = census_pupils_2023(seed)
    ehcp = census[(census.sen_provision == "E") & (census.home_la_code == LA_CODE)].sort_values("upn")
    dobs = [dt.date.fromisoformat(d) for d in ehcp.dob]
    young = np.array([age_at(d, LATEST) < 16 for d in dobs])
    ehcp = ehcp[young]
    dobs = [d for d, keep in zip(dobs, young, strict=True) if keep]
    mainstream = np.flatnonzero(ehcp.phase.to_numpy() != "SPECIAL")
    lean = np.array([ERP_NEED_LEAN.get(n, 1.0) for n in ehcp.sen_primary_need.to_numpy()[mainstream]])
    erp = set(mainstream[weighted_pick(rng, lean, ERP_2022)].tolist())
    for i, (pupil, dob) in enumerate(zip(ehcp.itertuples(), dobs, strict=True)):
        entry = reception_year(dob)
        if pupil.phase == "SPECIAL":
            setting = "LA_SPECIAL"
            start_year = 2022 if entry >= 2022 else entry + int(rng.integers(0, 2022 - entry + 1))
        else:
            setting = "ERP" if i in erp else "MAINSTREAM"
            start_year = entry + 7 if 2022 - entry >= 7 else min(entry, 2022)
        key = cohort.person("census", dob, pupil.gender, True, pupil.sen_primary_need, upn=pupil.upn)
        start = _september(start_year)
        _previous_placement(cohort, key, dob, start, in_county=True)
        cohort.place(key, setting, True, start)
    return len(ehcp)


def _ooc_special_children(cohort: _Cohort) -> None:
    """67 children in out-of-county special schools at December 2022; 50 of them already there a year before."""
    rng = cohort.rng
    total = OUT_OF_COUNTY_SPECIAL[LATEST]
    settings = rng.permutation(["LA_SPECIAL"] * OOC_SPECIAL_LA_SPECIAL + ["INMSS"] * (total - OOC_SPECIAL_LA_SPECIAL))
    moved_in = set(rng.choice(total - OOC_SPECIAL_CONTINUING, OOC_SPECIAL_MOVED_IN, replace=False).tolist())
    ages = _draw(rng, OOC_SPECIAL_AGE_WEIGHTS, total)
    for i in range(total):
        dob = birth_date_for_age(rng, int(ages[i]), LATEST)
        key = cohort.person(
            "ooc_special", dob, _gender(rng), True, _need(rng, EHCP_NEEDS), wants_upn=rng.random() < 0.95
        )
        entry = _september(reception_year(dob))
        if i < OOC_SPECIAL_CONTINUING:  # placed before December 2021
            start = _random_date(rng, max(entry, dt.date(2016, 9, 1)), dt.date(2021, 11, 30))
        else:  # placed during 2022
            start = _random_date(rng, dt.date(2022, 1, 4), dt.date(2022, 11, 30))
        if i < OOC_SPECIAL_CONTINUING or (i - OOC_SPECIAL_CONTINUING) not in moved_in:
            before = str(rng.choice(["MAINSTREAM", "MAINSTREAM", "MAINSTREAM", "ERP", "LA_SPECIAL"]))
            _previous_placement(cohort, key, dob, start, in_county=True, setting=before)
        cohort.place(key, str(settings[i]), False, start)


def _post16_young_people(cohort: _Cohort) -> None:
    """93 young people aged 16-25 at December 2022: college, AP, apprenticeships, residential provision."""
    rng = cohort.rng
    ages = np.repeat(list(POST16_AGES_2022), list(POST16_AGES_2022.values()))
    settings = rng.permutation(np.repeat(list(POST16_SETTINGS_2022), list(POST16_SETTINGS_2022.values())))
    sixteen = np.flatnonzero((ages == 16) & (settings != "APPRENTICESHIP"))
    from_ooc_special = set(rng.choice(sixteen, OOC_SPECIAL_TO_COLLEGE, replace=False).tolist())
    for i, (age, setting) in enumerate(zip(ages, settings, strict=True)):
        setting = str(setting)
        # 16-year-olds left Year 11 in July 2022: born January to August 2006
        dob = birth_date_for_age(rng, int(age), LATEST, months=range(4, 12) if age == 16 else range(12))
        key = cohort.person("post16", dob, _gender(rng), True, _need(rng, EHCP_NEEDS), wants_upn=rng.random() < 0.8)
        college_year = reception_year(dob) + 12  # the September after Year 11
        in_county = bool(rng.random() < POST16_IN_COUNTY[setting])
        if setting == "APPRENTICESHIP":
            start = _random_date(rng, max(_september(college_year), dt.date(2020, 9, 1)), dt.date(2022, 11, 30))
        else:
            start = _september(int(rng.integers(max(college_year, 2019), 2023)))
        if start > EXTRACT_DATES[0]:
            if college_year == 2022:  # straight from school
                if i in from_ooc_special:
                    school, school_in_county = str(rng.choice(["LA_SPECIAL", "INMSS"])), False
                    school_start = _september(int(rng.integers(2017, 2021)))
                else:
                    school = str(rng.choice(["MAINSTREAM", "MAINSTREAM", "LA_SPECIAL", "ERP"]))
                    school_in_county, school_start = True, _september(college_year - 5)
                cohort.place(key, school, school_in_county, school_start, dt.date(2022, 7, 22))
            else:  # changed college or course
                earlier = _september(max(college_year, int(rng.integers(2018, 2022))))
                end = dt.date(2022, 7, 15) if start.month == 9 else start - dt.timedelta(days=1)
                if earlier < end:
                    cohort.place(key, "FE_COLLEGE", bool(rng.random() < 0.2), earlier, end)
        cohort.place(key, setting, in_county, start)


def _other_children(cohort: _Cohort, count: int) -> None:
    """The rest of the children with an EHC plan at December 2022 (under 16, not in a special school)."""
    if count < 10:
        raise ValueError(f"the census leaves {count} children for the other settings; the plan needs at least 10")
    rng = cohort.rng
    split = apportion(OTHER_SETTINGS, count)
    for setting, n in split.items():
        for _ in range(n):
            if setting == "EARLY_YEARS":
                dob = _random_date(rng, dt.date(2018, 9, 1), dt.date(2020, 10, 31))
                key = cohort.person("other", dob, _gender(rng), True, _need(rng, EHCP_NEEDS))
                start = _random_date(rng, max(_add_years(dob, 2), dt.date(2021, 6, 1)), dt.date(2022, 11, 30))
                cohort.place(key, setting, bool(rng.random() < 0.85), start)
                continue
            youngest = 11 if setting == "AP" else 5
            dob = birth_date_for_age(rng, int(rng.integers(youngest, 16)), LATEST, months=range(4, 12))
            key = cohort.person("other", dob, _gender(rng), True, _need(rng, EHCP_NEEDS), wants_upn=rng.random() < 0.9)
            entry = reception_year(dob)
            if setting == "MAINSTREAM":  # a school over the border, from reception or Year 7
                in_county = False
                start = _september(entry + 7 if 2022 - entry >= 7 else entry)
            else:
                in_county = setting != "OTHER" or bool(rng.random() < 0.5)
                start = _random_date(rng, max(_september(entry), dt.date(2020, 1, 6)), dt.date(2022, 11, 30))
            _previous_placement(cohort, key, dob, start, in_county=setting != "MAINSTREAM")
            cohort.place(key, setting, in_county, start)


def _leavers(cohort: _Cohort) -> None:
    """Placed at December 2021, gone by December 2022 (plan ceased at the end of a course, or moved away)."""
    rng = cohort.rng
    for _ in range(LEAVERS_POST16):
        dob = birth_date_for_age(rng, int(rng.integers(18, 26)), EXTRACT_DATES[0])
        key = cohort.person("leaver", dob, _gender(rng), True, _need(rng, EHCP_NEEDS), wants_upn=rng.random() < 0.6)
        setting = str(rng.choice(["FE_COLLEGE", "FE_COLLEGE", "SPI", "APPRENTICESHIP"]))
        start = _september(int(rng.integers(max(reception_year(dob) + 12, 2019), 2022)))
        end = _random_date(rng, dt.date(2022, 6, 1), dt.date(2022, 7, 31))
        cohort.place(key, setting, bool(rng.random() < 0.3), start, end)
    for _ in range(LEAVERS_SCHOOL):
        dob = birth_date_for_age(rng, int(rng.integers(6, 15)), EXTRACT_DATES[0], months=range(4, 12))
        key = cohort.person("leaver", dob, _gender(rng), True, _need(rng, EHCP_NEEDS), wants_upn=True)
        start = _september(reception_year(dob))
        end = _random_date(rng, dt.date(2022, 2, 1), dt.date(2022, 8, 31))
        cohort.place(key, "MAINSTREAM", bool(rng.random() < 0.7), start, end)


def _sen_support(cohort: _Cohort) -> None:
    """A few placements of children without an EHC plan (they count in none of the EHCP figures)."""
    rng = cohort.rng
    for setting, in_county, youngest, oldest in SEN_SUPPORT_PLACEMENTS:
        dob = birth_date_for_age(rng, int(rng.integers(youngest, oldest + 1)), LATEST)
        need = _need(rng, SEN_SUPPORT_NEEDS) if rng.random() < 0.7 else ""
        key = cohort.person("sen_support", dob, _gender(rng), False, need, wants_upn=rng.random() < 0.9)
        start = _random_date(rng, max(_add_years(dob, 4), dt.date(2021, 3, 1)), dt.date(2022, 11, 30))
        cohort.place(key, setting, in_county, start)


def _previous_placement(cohort: _Cohort, key: int, dob: dt.date, start: dt.date, in_county: bool,
                        setting: str = "MAINSTREAM") -> None:  # fmt: skip
    """The placement before ``start``, when it ended recently enough to appear in an extract."""
    entry = _september(reception_year(dob))
    if start <= entry:  # starting school: an early years place before it, from age 3
        if start.year < 2022 or age_at(dob, start) < 4:
            return
        setting, begin = "EARLY_YEARS", max(_add_years(dob, 3), _september(start.year - 1))
    else:  # the school before: the secondary school when the child was already in one, else from reception
        secondary = _september(reception_year(dob) + 7)
        begin = secondary if start > secondary else entry
    end = dt.date(start.year, 7, 22) if start.month == 9 and start.day <= 10 else start - dt.timedelta(days=1)
    if end >= dt.date(2021, 1, 1) and begin < end:  # anything older is in no extract
        planned = cohort.rng.random() >= PLAN_ISSUED_AT_MOVE
        cohort.place(key, setting, in_county, begin, end, has_ehcp=cohort.persons[key]["has_ehcp"] and planned)


# ------------------------------------------------------------------------------------------------------------
# Helpers


@functools.lru_cache(maxsize=4)
def _census_frame(seed: int) -> pd.DataFrame:
    with tempfile.TemporaryDirectory() as tmp:
        [path] = generate_census(Path(tmp), "rutland", seed, years=[2023])
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    return frame[frame.enrol_status.isin(["C", "M"])].reset_index(drop=True)


def census_pupils_2023(seed: int) -> pd.DataFrame:
    """Pupils (C and M rows) of the generated Rutland Spring 2023 census for ``seed``."""
    return _census_frame(seed).copy()


def _allocate_upns(rng: np.random.Generator, persons: pd.DataFrame) -> None:
    """UPNs for the children not in the census: allocated by a school of a neighbouring LA at reception."""
    wanted = np.flatnonzero(persons.wants_upn.to_numpy())
    if len(wanted) > len(UPN_SERIALS):
        raise ValueError("more generated UPNs than serials")
    entry = np.array([reception_year(d) for d in persons.dob.to_numpy()[wanted]])
    upns = make_upns(
        rng.choice(NEIGHBOUR_LAS, len(wanted)), rng.integers(2000, 3000, len(wanted)), entry,
        np.array(UPN_SERIALS[: len(wanted)]),
    )  # fmt: skip
    column = persons.upn.astype(object).to_numpy().copy()
    column[wanted] = upns.astype(object)
    persons["upn"] = column


def _check(persons: pd.DataFrame, placements: pd.DataFrame) -> None:
    """The plan reproduces the seed figures (fails at generation, not in a report)."""
    rows = placements.merge(persons.drop(columns="has_ehcp"), on="person_id")
    problems = []
    for extract_date in EXTRACT_DATES:
        current = rows[
            (rows.start_date <= extract_date)
            & rows.end_date.map(lambda d, x=extract_date: is_missing(d) or d >= x).astype(bool)
            & rows.has_ehcp
        ]
        if current.person_id.duplicated().any():
            problems.append(f"{extract_date}: a child with two current placements")
        ooc = current[current.setting_type.isin(["LA_SPECIAL", "INMSS"]) & ~current.in_county]
        if ooc.person_id.nunique() != OUT_OF_COUNTY_SPECIAL[extract_date]:
            problems.append(f"{extract_date}: {ooc.person_id.nunique()} in out-of-county special schools")
        if extract_date == LATEST:
            ages = current.dob.map(lambda d: age_at(d, LATEST))
            post16 = current[(ages >= 16) & (ages <= 25)]
            college = post16[post16.setting_type.isin(POST16_COLLEGE_OR_AP)]
            checks = {
                "EHCP": (current.person_id.nunique(), EHCP_2022),
                "ERP": ((current.setting_type == "ERP").sum(), ERP_2022),
                "16-25": (len(post16), sum(POST16_AGES_2022.values())),
                "college/AP": (len(college), sum(POST16_SETTINGS_2022[s] for s in POST16_COLLEGE_OR_AP)),
                "over 25": ((ages > 25).sum(), 0),
            }
            problems += [f"{name}: {got} != {want}" for name, (got, want) in checks.items() if got != want]
    if persons.upn.dropna().duplicated().any():
        problems.append("a UPN given to two children")
    if problems:
        raise AssertionError("placements plan does not reproduce the seed: " + "; ".join(problems))


def _write_csv(path: Path, rows: pd.DataFrame, extract_date: dt.date) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(HEADER)
        for r in rows.itertuples():
            writer.writerow(
                [
                    extract_date.isoformat(), r.placement_id, r.person_id, "" if is_missing(r.upn) else r.upn,
                    r.dob.isoformat(), "Y" if r.has_ehcp else "N", r.primary_need, r.setting_type,
                    "Y" if r.in_county else "N", r.start_date.isoformat(),
                    "" if is_missing(r.end_date) else r.end_date.isoformat(), r.annual_cost_gbp,
                ]
            )  # fmt: skip
    os.replace(tmp, path)


def _cost(rng: np.random.Generator, setting: str, in_county: bool) -> str:
    """The annual cost as a case system prints it: £ and thousands separators; x not available, z n/a."""
    span = COSTS[(setting, in_county)]
    if span is None:
        return "z"
    draw = rng.random()
    if draw < 0.06:
        return "x"
    if setting in ("MAINSTREAM", "EARLY_YEARS") and draw < 0.3:
        return ""
    amount = round(float(rng.uniform(*span)), -1)
    return f"£{amount:,.2f}" if draw < 0.9 else f"{amount:.2f}"


def is_missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value))


def weighted_pick(rng: np.random.Generator, weights: np.ndarray, count: int) -> np.ndarray:
    """Exactly ``count`` positions, without replacement, leaning on ``weights`` (Efraimidis-Spirakis keys)."""
    weights = np.asarray(weights, dtype=float)
    if not 0 <= count <= weights.shape[0]:
        raise ValueError(f"cannot pick {count} of {weights.shape[0]}")
    keys = np.log(rng.random(weights.shape[0])) / np.maximum(weights, 1e-12)
    return np.sort(np.argsort(-keys, kind="stable")[:count])


def _draw(rng: np.random.Generator, weights: dict, n: int) -> np.ndarray:
    keys = list(weights)
    p = np.array([weights[k] for k in keys], dtype=float)
    return np.array(keys)[rng.choice(len(keys), size=n, p=p / p.sum())]


def _need(rng: np.random.Generator, weights: dict[str, float]) -> str:
    need = str(_draw(rng, weights, 1)[0])
    return "AUT" if need == "ASD" and rng.random() < AUT_SHARE else need


def _gender(rng: np.random.Generator) -> str:
    return "M" if rng.random() < 0.68 else "F"


def age_at(birth: dt.date, at: dt.date) -> int:
    """Completed years at ``at`` counted from the birth month (the warehouse keeps the month only)."""
    return ((at.year * 12 + at.month) - (birth.year * 12 + birth.month)) // 12


def birth_date_for_age(rng: np.random.Generator, age: int, at: dt.date, months: range = range(12)) -> dt.date:
    """A date of birth whose month gives ``age`` at ``at``; ``months`` picks how many months before ``at``'s
    month (within the year of age) the birthday falls, e.g. range(4, 12) keeps August-born and older at December.
    """
    index = at.year * 12 + at.month - 1 - 12 * age - int(rng.choice(list(months)))
    year, month = divmod(index, 12)
    first = dt.date(year, month + 1, 1)
    days = (_add_months(first, 1) - first).days
    return first + dt.timedelta(days=int(rng.integers(0, days)))


def reception_year(dob: dt.date) -> int:
    """Year of the September the child starts reception (the school year after the 4th birthday)."""
    return dob.year + 4 + (dob.month >= 9)


def _september(year: int) -> dt.date:
    return dt.date(year, 9, 5)


def _random_date(rng: np.random.Generator, low: dt.date, high: dt.date) -> dt.date:
    if high < low:
        raise ValueError(f"empty date range {low}..{high}")
    return low + dt.timedelta(days=int(rng.integers(0, (high - low).days + 1)))


def _add_months(day: dt.date, months: int) -> dt.date:
    year, month = divmod(day.year * 12 + day.month - 1 + months, 12)
    return dt.date(year, month + 1, 1)


def _add_years(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)
