"""Target figures of the synthetic Rutland school census, per Spring census year, in one place.

Every count here is over pupils, i.e. census rows with enrol_status C or M (a subsidiary dual registration, S,
is not a pupil), and SEN needs are after the AUT -> ASD mapping. Sources, as marked on each line:

* ``seed x.y`` -- a figure printed in section x.y of the seed needs assessment (not in this repository;
  transcribed in tests/fixtures/figures.yaml); reproduced exactly at scale "rutland".
* ``roll chosen`` -- the seed prints only a percentage; the roll is chosen so that percentage rounds right.
* ``interpolated`` / ``plausible`` -- not in the seed; chosen between neighbouring years or to look like a
  real small shire authority. Change them freely: no seed figure depends on them.

At scales "county" and "national" the generator scales all of these by the ratio of rolls (same shape).
"""

from __future__ import annotations

LA_CODE = "857"  # Rutland (seed: la.old_la_code)
DEFAULT_YEARS = tuple(range(2015, 2024))  # Spring censuses 2015..2023 (calendar year of the January census)

# ------------------------------------------------------------------------------------------------------------
# 1. Roll, EHCP (E) and SEN support (K) per Spring census (seed 6.2 trend, 6.1 profile, 5.3 child health)
# E/roll and K/roll in the comments are the percentages the seed prints.
TREND: dict[int, dict[str, int]] = {
    # seed 6.2: E 265 (3.5%), K 653 (8.5%); roll chosen: 265/7660 = 3.46%, 653/7660 = 8.52%
    2015: {"roll": 7660, "ehcp": 265, "sen_support": 653},
    # seed 6.2: K 901 (11.5%); roll chosen: 901/7835 = 11.50%; E interpolated (3.2%, falling from 2015)
    2016: {"roll": 7835, "ehcp": 251, "sen_support": 901},
    # interpolated: roll, E (2.9%), K (12.3%, between 11.5% and 13.1%)
    2017: {"roll": 7780, "ehcp": 226, "sen_support": 956},
    # seed 6.2: K 1,011 (13.1%); roll chosen: 1011/7718 = 13.10%; E interpolated (2.5%, the low point)
    2018: {"roll": 7718, "ehcp": 193, "sen_support": 1011},
    # interpolated: roll, E (2.6%), K (12.0%)
    2019: {"roll": 6780, "ehcp": 176, "sen_support": 814},
    # seed 6.2: K 636 (10.9%); roll chosen: 636/5835 = 10.90%; E interpolated (2.7%)
    2020: {"roll": 5835, "ehcp": 158, "sen_support": 636},
    # seed 6.2: E 2.8%; E 162 / roll 5790 = 2.80%; roll and K (10.3%) interpolated
    2021: {"roll": 5790, "ehcp": 162, "sen_support": 596},
    # roll: seed 5.3 (547 minority ethnic = 9.4%, 147 SEMH = 2.5% of pupils): 5820; E+K = 735 (seed 6.1 need
    # table total); the E/K split (165/570) is plausible, not in the seed
    2022: {"roll": 5820, "ehcp": 165, "sen_support": 570},
    # seed 6.1: 805 SEN = 176 E + 629 K, 13.2% of the roll; seed 6.2: E 2.9%, K 10.3% -> roll 6100
    2023: {"roll": 6100, "ehcp": 176, "sen_support": 629},
}

# ------------------------------------------------------------------------------------------------------------
# 2. Primary need by provision (after AUT -> ASD). NSA only ever with K.
# Spring 2022: the totals E + K per need are seed 6.1 ("primary type of need", January 2022):
# MLD 169, SLCN 94, SEMH 147, SPLD 139, OTH 16, ASD 76, PD 12, HI 9, NSA 57 and the small needs below = 735
# (the release suppresses those: the table is the seed's, a public document, but the docs never quote them).
# The E/K split is plausible (ASD and SEMH large among EHCPs, NSA all K).
NEEDS_2022: dict[str, dict[str, int]] = {
    "E": {"ASD": 52, "SEMH": 32, "SLCN": 24, "MLD": 22, "SPLD": 8, "PD": 8, "SLD": 5, "OTH": 5, "HI": 4,
          "VI": 3, "MSI": 2, "PMLD": 0, "NSA": 0},  # = 165
    "K": {"MLD": 147, "SPLD": 131, "SEMH": 115, "SLCN": 70, "NSA": 57, "ASD": 24, "OTH": 11, "HI": 5, "VI": 5,
          "PD": 4, "MSI": 1, "SLD": 0, "PMLD": 0},  # = 570
}  # fmt: skip
# Spring 2023: plausible split of the seed's 176 E / 629 K (seed 6.3 presenting need of EHCPs, April 2023:
# ASD 32.8%, SEMH 20.7%, MLD 18.0%, SLCN 7.2% -- the E column follows that shape).
NEEDS_2023: dict[str, dict[str, int]] = {
    "E": {"ASD": 57, "SEMH": 36, "MLD": 30, "SLCN": 16, "PD": 8, "SPLD": 7, "SLD": 6, "OTH": 6, "HI": 5,
          "VI": 3, "MSI": 1, "PMLD": 1, "NSA": 0},  # = 176
    "K": {"MLD": 158, "SPLD": 140, "SEMH": 130, "SLCN": 82, "NSA": 58, "ASD": 32, "OTH": 14, "PD": 5, "HI": 5,
          "VI": 4, "MSI": 1, "SLD": 0, "PMLD": 0},  # = 629
}  # fmt: skip
# Other years: the 2022 split (years up to 2021) or the 2023 split (2024 on), apportioned to that year's E, K.
# Share of ASD pupils whose return codes the need AUT (newer CBDS code; ingest maps AUT -> ASD), from 2023 on.
AUT_SHARE_FROM_2023 = 1 / 3  # plausible ("about a third")
AUT_FIRST_YEAR = 2023

# ------------------------------------------------------------------------------------------------------------
# 3. Spring 2023 SEN profile (seed 6.1 and 6.4), exact
# Residence of SEN pupils by NC-year group (N1..6 = primary, 7..14 = secondary) and provision:
# (living in Rutland = home_la_code 857, out of county) -- seed 6.4 table.
RESIDENCE_2023: dict[tuple[str, str], tuple[int, int]] = {
    ("E", "primary"): (79, 11),
    ("E", "secondary"): (63, 23),
    ("K", "primary"): (302, 44),
    ("K", "secondary"): (145, 138),
}
SEN_MALE_2023 = 531  # seed 6.1: 66% male / 34% female of 805 -> 531 M, 274 F
SEN_PUPIL_PREMIUM_2023 = {"E": 68, "K": 229}  # seed 6.1 table (total 297 = 36.9%)
SEN_FSM_2023 = {"E": 37, "K": 135}  # seed 6.1 table (total 172 = 17%); FSM pupils are a subset of PP pupils
NON_SEN_FSM_2023 = 545  # seed 6.1: non-SEN pupils on FSM "average 10.3%": 545 / 5295 = 10.29%
NON_SEN_PUPIL_PREMIUM_2023 = 790  # plausible (PP > FSM: Ever-6 FSM, looked-after, service children)
SEN_NOT_ENGLISH_2023 = 26  # seed 6.1: 26 SEN pupils (3.2%) whose first language is not English (not ENG/ENB)
# SEN pupils by ethnicity -- seed 6.1: WBRI 723 (89.8%), WOTH 2.2% (18), MOTH 1.6% (13), any other code <= 6.
# The split of the remaining 51 across the other codes is plausible.
SEN_ETHNICITY_2023: dict[str, int] = {  # = 805
    "WBRI": 723, "WOTH": 18, "MOTH": 13, "MWBC": 6, "MWAS": 5, "NOBT": 5, "MWBA": 4, "AIND": 4, "AOTH": 4,
    "REFU": 4, "BAFR": 3, "CHNE": 3, "OOTH": 3, "WIRI": 2, "APKN": 2, "BCRB": 2, "BOTH": 1, "ABAN": 1,
    "WROM": 1, "WIRT": 1,
}  # fmt: skip
# Other years: these 2023 shares (residence cells within provision, male share, PP/FSM rates by provision,
# ethnicity and not-English shares) apportioned to that year's totals -- interpolated, not seed figures.

# ------------------------------------------------------------------------------------------------------------
# 3b. SEN pupils of the year groups assessed in 2021/22 (seed 8), Spring 2022
# The attainment extract (pipeline/generate/attainment.py) draws each cohort of seed 8 from the Spring 2022 census
# pupils of that NC year and provision, so the census holds at least this many: (provision, NC year) -> pupils.
# Seed 8 gives the EYFS EHCP cohort (6) and the KS2 cohorts (47 K, 23 E); the others are the smallest cohorts whose
# percentages round to the seed's (EYFS K 6 of 19 = 31.6%; KS1 K 41, E 7; KS4 pupils with an Attainment 8 score
# K 40, E 13). Year groups are not otherwise calibrated: no seed figure counts pupils by NC year, only by phase
# group (6.4 residence, primary N1..6 / secondary 7..14), so pupils are moved between year groups of one group.
# Scale "rutland" only: the other sources, attainment among them, are Rutland's at every scale (not scaled).
SEN_YEAR_GROUP_FLOOR: dict[int, dict[tuple[str, str], int]] = {
    2022: {("K", "R"): 19, ("E", "R"): 6, ("K", "2"): 41, ("E", "2"): 7, ("K", "6"): 47, ("E", "6"): 23,
           ("K", "11"): 40, ("E", "11"): 13},
}  # fmt: skip

# ------------------------------------------------------------------------------------------------------------
# 4. Whole-roll figures
# Pupils (all, not just SEN) from minority ethnic groups = ethnicity not in (WBRI, REFU, NOBT):
# 2022 is seed 5.3 (547 = 9.4%); the other years are plausible rates (a slow rise, as in most shires).
MINORITY_ETHNIC: dict[int, int | float] = {
    2015: 0.078, 2016: 0.080, 2017: 0.082, 2018: 0.085, 2019: 0.088, 2020: 0.090, 2021: 0.092,
    2022: 547,  # seed 5.3: exact count
    2023: 0.096,
}  # fmt: skip


# ------------------------------------------------------------------------------------------------------------
# 5. Shape of everything not calibrated (plausible, used in every year and, scaled, at county/national scale)
MALE_SHARE = 0.51  # of the whole roll (so non-SEN pupils are a little under half male)
PRIMARY_GROUP_SHARE = 0.53  # of the roll in NC years N1..6 (Rutland has a large 15-18 population)
NON_SEN_OUT_OF_COUNTY = {"primary": 0.10, "secondary": 0.38}  # Stamford and Leicestershire villages
NON_SEN_NOT_ENGLISH = 0.040  # share of non-SEN pupils whose first language is not English
ENB_SHARE = 0.01  # of English speakers recorded ENB ("not known but believed to be English")
REFU_SHARE, NOBT_SHARE = 0.012, 0.008  # of the roll: refused / not obtained (not "minority ethnic")
EHCP_SPECIAL_SCHOOL_SHARE = 0.30  # of EHCP pupils on roll at the special school
DUAL_REGISTRATION_SHARE = 0.005  # of pupils with a second, subsidiary (S) registration at another school
SECONDARY_NEED_SHARE = 0.15  # of SEN pupils with a secondary need recorded

# Minority ethnic codes among non-SEN pupils (relative weights)
NON_SEN_MINORITY_WEIGHTS: dict[str, float] = {
    "WOTH": 30, "MWBC": 10, "MOTH": 10, "MWAS": 8, "AIND": 6, "MWBA": 5, "AOTH": 5, "BAFR": 5, "OOTH": 5,
    "APKN": 3, "WIRI": 3, "CHNE": 3, "BCRB": 2, "ABAN": 1.5, "BOTH": 1, "WROM": 0.5, "WIRT": 0.3,
}  # fmt: skip

# NC-year weights within each group (N1 pupils are only those already 3 by the census, hence small)
NCYEAR_WEIGHTS: dict[str, dict[str, float]] = {
    "N_primary": {"N1": 0.03, "N2": 0.45, "R": 1, "1": 1, "2": 1, "3": 1, "4": 1, "5": 1, "6": 1},
    "N_secondary": {"7": 1, "8": 1, "9": 1, "10": 1, "11": 1, "12": 0.6, "13": 0.55, "14": 0.01},
    "SEN_primary": {"N1": 0.02, "N2": 0.2, "R": 0.45, "1": 0.7, "2": 0.9, "3": 1.0, "4": 1.1, "5": 1.15,
                    "6": 1.15},
    "K_secondary": {"7": 1.15, "8": 1.1, "9": 1.05, "10": 1.0, "11": 0.95, "12": 0.3, "13": 0.25, "14": 0.02},
    "E_secondary": {"7": 1.0, "8": 1.0, "9": 1.0, "10": 1.0, "11": 1.0, "12": 0.6, "13": 0.5, "14": 0.35},
}  # fmt: skip

# Home LA of pupils living out of county (old LA codes, relative weights). Northamptonshire (928) split into
# North (940) and West (941) Northamptonshire in April 2021.
OUT_OF_COUNTY_HOME_LA: dict[str, float] = {"925": 50, "855": 22, "928": 16, "874": 8, "856": 2, "873": 2}
NORTHAMPTONSHIRE_SPLIT = {"year": 2022, "old": "928", "new": {"940": 0.8, "941": 0.2}}  # from Spring 2022


def _check() -> None:
    """The hand-written tables must add up to the seed totals (fails at import, not in a report)."""
    problems = []
    for year, needs in ((2022, NEEDS_2022), (2023, NEEDS_2023)):
        for prov, key in (("E", "ehcp"), ("K", "sen_support")):
            if sum(needs[prov].values()) != TREND[year][key]:
                problems.append(f"NEEDS_{year}[{prov}] does not add up to TREND[{year}][{key}]")
        if needs["E"]["NSA"]:
            problems.append(f"NEEDS_{year}: NSA with an EHCP")
    for prov, key in (("E", "ehcp"), ("K", "sen_support")):
        if sum(sum(RESIDENCE_2023[(prov, g)]) for g in ("primary", "secondary")) != TREND[2023][key]:
            problems.append(f"RESIDENCE_2023[{prov}] does not add up to TREND[2023][{key}]")
    for year, floors in SEN_YEAR_GROUP_FLOOR.items():
        for prov, key in (("E", "ehcp"), ("K", "sen_support")):
            if sum(n for (p, _), n in floors.items() if p == prov) > TREND[year][key]:
                problems.append(f"SEN_YEAR_GROUP_FLOOR[{year}][{prov}] adds up to more than TREND[{year}][{key}]")
    if sum(SEN_ETHNICITY_2023.values()) != TREND[2023]["ehcp"] + TREND[2023]["sen_support"]:
        problems.append("SEN_ETHNICITY_2023 does not add up to the 2023 SEN pupils")
    if any(SEN_FSM_2023[p] > SEN_PUPIL_PREMIUM_2023[p] for p in ("E", "K")) or (
        NON_SEN_FSM_2023 > NON_SEN_PUPIL_PREMIUM_2023
    ):
        problems.append("FSM pupils must be a subset of pupil premium pupils")
    if problems:
        raise ValueError("; ".join(problems))


_check()
