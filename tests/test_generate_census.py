"""Synthetic census generator (pipeline/generate/census.py) at scale "rutland".

Every seed figure is recomputed here from the CSV rows with pandas and compared with the number as the seed
prints it, read from tests/fixtures/figures.yaml (the seed transcribed; deliberately not imported from
calibration.py, which the generator is calibrated with). The rolls are the generator's own choice, not the seed's:
they are checked through the percentages the seed prints.
"""

import datetime as dt
import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from pipeline.generate import census_plan, generate_census
from pipeline.generate.attainment import cohorts_beyond_census_floor
from pipeline.generate.calibration import SEN_YEAR_GROUP_FLOOR
from pipeline.generate.census import NC_YEARS, _meet_year_group_floors, apportion
from pipeline.upn import is_valid_upn

HEADER = (
    "upn,laestab,census_date,phase,ncyear_actual,enrol_status,dob,gender,ethnicity,first_language,"
    "sen_provision,sen_primary_need,sen_secondary_need,fsm_eligible,pupil_premium,home_la_code"
)
FIGURES = yaml.safe_load((Path(__file__).parent / "fixtures" / "figures.yaml").read_text())
PROFILE_2023 = FIGURES["send_profile_6_1"]
PRIMARY_YEARS = ("N1", "N2", "R", "1", "2", "3", "4", "5", "6")
NC_AGE = {"N1": 2, "N2": 3, "R": 4, **{str(y): 4 + y for y in range(1, 15)}}  # age on 31 August
NEEDS = {"SPLD", "MLD", "SLD", "PMLD", "SEMH", "SLCN", "HI", "VI", "MSI", "PD", "ASD", "AUT", "OTH", "NSA"}
ETHNICITIES = {
    "WBRI", "WOTH", "WIRI", "WIRT", "WROM", "MWBC", "MWBA", "MWAS", "MOTH", "AIND", "APKN", "ABAN", "AOTH",
    "BCRB", "BAFR", "BOTH", "CHNE", "OOTH", "REFU", "NOBT",
}  # fmt: skip
YEARS = range(2015, 2024)


def sha256(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    out = tmp_path_factory.mktemp("raw")
    paths = generate_census(out)
    return out, paths


@pytest.fixture(scope="module")
def frames(generated):
    _, paths = generated
    return {int(p.name[:4]): pd.read_csv(p, dtype=str, keep_default_na=False) for p in paths}


def pupils(df):
    """Rows that are pupils: enrol_status C or M (S is a subsidiary registration)."""
    return df[df.enrol_status.isin(["C", "M"])]


def sen(df):
    p = pupils(df)
    return p[p.sen_provision != "N"]


def need(df):
    return df.sen_primary_need.replace("AUT", "ASD")


def pct(part, whole):
    return round(100 * part / whole, 1)


# ------------------------------------------------------------------------------------------------------------
# Files, determinism


def test_one_file_per_spring_census(generated):
    out, paths = generated
    assert [p.name for p in paths] == [f"{y}_spring.csv" for y in YEARS]
    assert all(p.parent == out / "census" and p.exists() for p in paths)
    for p in paths:
        assert p.read_text().splitlines()[0] == HEADER


def test_same_seed_same_bytes_different_seed_different(generated, tmp_path):
    _, paths = generated
    again = generate_census(tmp_path / "a", seed=2023, years=[2022, 2023])
    assert [sha256(p) for p in again] == [sha256(p) for p in paths if p.name[:4] in ("2022", "2023")]
    other = generate_census(tmp_path / "b", seed=7, years=[2022, 2023])
    assert all(sha256(a) != sha256(b) for a, b in zip(again, other, strict=True))


def test_unknown_scale_rejected(tmp_path):
    with pytest.raises(ValueError, match="^unknown scale 'galaxy': expected one of rutland, county, national$"):
        generate_census(tmp_path, scale="galaxy")
    assert not (tmp_path / "census").exists()


def test_apportion_keeps_seed_figures_and_refuses_a_split_it_cannot_make():
    assert apportion({"a": 3, "b": 5}, 8) == {"a": 3, "b": 5}  # integer weights summing to the total: unchanged
    assert apportion({"a": 1, "b": 1, "c": 1}, 4) == {"a": 2, "b": 1, "c": 1}  # ties to the earlier key
    assert apportion({"a": 0, "b": 0}, 0) == {"a": 0, "b": 0}
    for weights, total in (({"a": 1, "b": 2}, -1), ({"a": 0, "b": 0}, 3), ({}, 1)):
        with pytest.raises(ValueError, match="^cannot apportion$"):
            apportion(weights, total)


@pytest.mark.parametrize(
    ("year", "date"), [(2015, "2015-01-15"), (2020, "2020-01-16"), (2022, "2022-01-20"), (2023, "2023-01-19")]
)
def test_census_date_is_third_thursday_of_january(frames, year, date):
    assert set(frames[year].census_date) == {date}
    assert dt.date.fromisoformat(date).weekday() == 3


# ------------------------------------------------------------------------------------------------------------
# Spring 2023 (seed 6.1, 6.2, 6.4)


def test_2023_roll_and_provision(frames):
    p = pupils(frames[2023])
    counts = p.sen_provision.value_counts()
    assert (counts["E"], counts["K"]) == (PROFILE_2023["ehcp"], PROFILE_2023["sen_support"])
    assert counts["E"] + counts["K"] == PROFILE_2023["send_pupils"]
    assert pct(counts["E"] + counts["K"], len(p)) == PROFILE_2023["send_pct_of_roll"]


def test_2023_pupil_premium_and_fsm(frames):
    p = pupils(frames[2023])
    s = sen(frames[2023])
    pp = s[s.pupil_premium == "true"].sen_provision.value_counts()
    fsm = s[s.fsm_eligible == "true"].sen_provision.value_counts()
    seed_pp, seed_fsm = PROFILE_2023["pupil_premium"], PROFILE_2023["fsm"]
    assert (pp["E"], pp["K"], pp.sum()) == (seed_pp["ehcp"], seed_pp["sen_support"], seed_pp["total"])
    assert (fsm["E"], fsm["K"], fsm.sum()) == (seed_fsm["ehcp"], seed_fsm["sen_support"], seed_fsm["total"])
    assert pct(pp.sum(), len(s)) == PROFILE_2023["send_with_pupil_premium_pct"]  # (its FSM 17% is not 172 of 805)
    non_sen = p[p.sen_provision == "N"]
    assert pct((non_sen.fsm_eligible == "true").sum(), len(non_sen)) == PROFILE_2023["non_send_fsm_pct"]
    # FSM pupils are pupil premium pupils
    assert not ((p.fsm_eligible == "true") & (p.pupil_premium == "false")).any()


def test_2023_sen_by_sex(frames):
    counts = sen(frames[2023]).gender.value_counts()
    assert counts.sum() == PROFILE_2023["send_pupils"]
    assert round(100 * counts["M"] / counts.sum()) == PROFILE_2023["male_pct"]
    assert round(100 * counts["F"] / counts.sum()) == PROFILE_2023["female_pct"]


def test_2023_residence_table(frames):
    s = sen(frames[2023])
    group = s.ncyear_actual.isin(PRIMARY_YEARS).map({True: "primary", False: "secondary"})
    resident = s.home_la_code == "857"
    table = pd.crosstab([group, s.sen_provision], resident).reindex(columns=[True, False])  # Rutland, out of county
    seed = FIGURES["placements_6_4"]["residence_spring_2023"]  # [living in Rutland, out of county]
    for phase in ("primary", "secondary"):
        for provision, name in (("E", "ehcp"), ("K", "sen_support")):
            assert table.loc[(phase, provision)].tolist() == seed[phase][name], (phase, provision)
    assert round(100 * (group == "primary").mean()) == PROFILE_2023["primary_age_pct"]
    assert round(100 * (group == "secondary").mean()) == PROFILE_2023["secondary_age_pct"]


def test_2023_sen_ethnicity(frames):
    counts = sen(frames[2023]).ethnicity.value_counts()
    assert counts["WBRI"] == PROFILE_2023["white_british"]
    assert pct(counts["WOTH"], counts.sum()) == PROFILE_2023["white_other_pct"]
    assert pct(counts["MOTH"], counts.sum()) == PROFILE_2023["mixed_other_pct"]
    assert counts.drop(["WBRI", "WOTH", "MOTH"]).max() <= PROFILE_2023["other_groups_max"]


def test_2023_sen_first_language_not_english(frames):
    s = sen(frames[2023])
    assert (~s.first_language.isin(["ENG", "ENB"])).sum() == PROFILE_2023["first_language_not_english"]


def test_2023_needs_plausible_and_aut_coded(frames):
    s = sen(frames[2023])
    ehcp_needs = need(s[s.sen_provision == "E"]).value_counts()
    assert ehcp_needs.index[0] == "ASD"  # the largest need among EHCPs
    assert {"SEMH", "MLD", "SLCN"} <= set(ehcp_needs.index[:5])
    asd = need(s) == "ASD"
    aut = s.sen_primary_need == "AUT"
    assert 0.25 <= aut.sum() / asd.sum() <= 0.4  # about a third of ASD pupils coded AUT in 2023
    for year in range(2015, 2023):
        assert not (frames[year].sen_primary_need == "AUT").any()


# ------------------------------------------------------------------------------------------------------------
# Spring 2022 (seed 6.1 need table, 5.3 child health)


def test_2022_primary_need_table(frames):
    s = sen(frames[2022])
    counts = need(s).value_counts().to_dict()
    seed = FIGURES["primary_need_6_1"]
    expected = {code: figures[0] for code, figures in seed.items() if code not in ("time_period", "missing", "total")}
    assert counts == {code: n for code, n in expected.items() if n}  # a need of 0 (PMLD): absent
    assert len(s) == seed["total"][0]
    assert (s.sen_primary_need == "NSA").sum() == (s[s.sen_provision == "K"].sen_primary_need == "NSA").sum()


def test_2022_roll_and_minority_ethnic(frames):
    p = pupils(frames[2022])
    health = FIGURES["child_health_5_3"]
    minority = ~p.ethnicity.isin(["WBRI", "REFU", "NOBT"])
    assert minority.sum() == health["pupils_minority_ethnic_2022"][0]
    assert pct(minority.sum(), len(p)) == health["pupils_minority_ethnic_2022_pct"][0]
    semh = (need(sen(frames[2022])) == "SEMH").sum()
    assert semh == health["pupils_semh_2022"][0]
    assert pct(semh, len(p)) == health["pupils_semh_2022_pct"][0]


# Seed 8 (attainment 2021/22) cohorts by SEN status, drawn from the Spring 2022 census: (provision, NC year) -> the
# pupils the census must hold at least. EYFS EHCP 6 and KS2 47 / 23 are printed in the seed; EYFS SEN support 19
# (6 of 19 = 31.6%), KS1 41 / 7 and KS4 40 / 13 are the smallest cohorts whose percentages round to the seed's.
ASSESSED_2022 = {("K", "R"): 19, ("E", "R"): 6, ("K", "2"): 41, ("E", "2"): 7, ("K", "6"): 47, ("E", "6"): 23,
                 ("K", "11"): 40, ("E", "11"): 13}  # fmt: skip


def year_group_counts(df) -> dict[tuple[str, str], int]:
    s = sen(df)
    return s.groupby(["sen_provision", "ncyear_actual"]).size().to_dict()


@pytest.mark.parametrize("seed", [2023, 7])
def test_2022_holds_the_sen_cohorts_assessed_in_2021_22(frames, tmp_path, seed):
    df = frames[2022] if seed == 2023 else pd.read_csv(
        generate_census(tmp_path, seed=seed, years=[2022])[0], dtype=str, keep_default_na=False
    )  # fmt: skip
    counts = year_group_counts(df)
    short = {cell: counts.get(cell, 0) for cell, n in ASSESSED_2022.items() if counts.get(cell, 0) < n}
    assert not short


def test_2022_year_groups_move_within_their_phase_group_only(frames):
    """The top-up keeps SEN pupils per provision, phase group and residence as planned."""
    for year in (2021, 2022):
        s = sen(frames[year])
        group = s.ncyear_actual.isin(PRIMARY_YEARS).map({True: "primary", False: "secondary"})
        got = pd.crosstab([s.sen_provision, group], s.home_la_code != "857")
        planned = census_plan(year).residence
        assert {cell: tuple(got.loc[cell]) for cell in planned} == planned


def test_attainment_plan_fits_the_census_floor_and_a_short_floor_is_named():
    assert cohorts_beyond_census_floor(SEN_YEAR_GROUP_FLOOR[2022]) == []
    short = {**SEN_YEAR_GROUP_FLOOR[2022], ("E", "6"): 10}
    del short[("K", "R")]
    assert cohorts_beyond_census_floor(short) == [
        "EYFS K: planned cohort 19, census floor 0",
        "KS2 E: planned cohort 23, census floor 10",
    ]


def test_year_group_floor_takes_pupils_of_the_same_provision_and_group_only():
    y = {code: NC_YEARS.index(code) for code in ("R", "3", "4", "6", "9", "11")}
    # 12 E pupils: 1 in R, 3 in year 3, 4 in year 4, 2 in year 6 (primary); 2 in year 9 (secondary); 6 K in year 4
    ncyear = np.array([y["R"]] + [y["3"]] * 3 + [y["4"]] * 4 + [y["6"]] * 2 + [y["9"]] * 2 + [y["4"]] * 6)
    provision = np.array([2] * 12 + [1] * 6)  # E = 2, K = 1
    group = np.array([0] * 10 + [1] * 2 + [0] * 6)
    rng = np.random.default_rng(1)
    out = _meet_year_group_floors(rng, ncyear, provision, group, {("E", "R"): 1, ("E", "6"): 6})
    assert (out[provision == 2] == y["6"]).sum() == 6  # 4 moved in
    assert (out[provision == 2] == y["R"]).sum() == 1  # a floored cell gives no pupils
    assert (out[10:12] == y["9"]).all() and (out[12:] == y["4"]).all()  # other group, other provision untouched
    moved = ncyear != out
    assert set(ncyear[moved]) <= {y["3"], y["4"]} and (out[moved] == y["6"]).all()
    # year 6 can reach 10 E pupils from the 8 other primary E pupils, not 11 (that would take a secondary E
    # pupil or a K pupil)
    assert (_meet_year_group_floors(rng, ncyear, provision, group, {("E", "6"): 10})[:10] == y["6"]).all()
    with pytest.raises(ValueError, match="too few E pupils"):
        _meet_year_group_floors(rng, ncyear, provision, group, {("E", "6"): 11})


def test_a_census_without_a_floor_draws_nothing_more():
    ncyear, provision, group = np.array([3, 4]), np.array([2, 2]), np.array([0, 0])
    rng = np.random.default_rng(5)
    assert (_meet_year_group_floors(rng, ncyear, provision, group, {}) == ncyear).all()
    assert rng.random() == np.random.default_rng(5).random()  # the stream is where it was: other years unchanged


# ------------------------------------------------------------------------------------------------------------
# Trend (seed 6.2)


TREND = FIGURES["ehcp_sen_support_trend_6_2"]


@pytest.mark.parametrize("year", sorted(set(TREND["ehcp"]) | set(TREND["sen_support"])))
def test_trend(frames, year):
    """Each printed count and share of the roll of seed 6.2 (a year prints some of them only)."""
    p = pupils(frames[year])
    for provision, name in (("E", "ehcp"), ("K", "sen_support")):
        printed = TREND[name].get(year, {})
        n = (p.sen_provision == provision).sum()
        if "pupils" in printed:
            assert n == printed["pupils"], (name, year)
        if "pct" in printed:
            assert pct(n, len(p)) == printed["pct"], (name, year)


# ------------------------------------------------------------------------------------------------------------
# Contract and consistency, every year


@pytest.mark.parametrize("year", YEARS)
def test_rows_follow_the_contract(frames, year):
    df = frames[year]
    assert df.upn.map(is_valid_upn).all()
    assert pupils(df).upn.is_unique
    assert df.laestab.str.fullmatch(r"857\d{4}").all()
    phase_by_estab = df.laestab.str[3].map({"2": "PRIMARY", "4": "SECONDARY", "7": "SPECIAL"})
    assert (df.phase == phase_by_estab).all()
    assert set(df.enrol_status) == {"C", "M", "S"}
    assert set(df.gender) == {"M", "F"}
    assert set(df.ethnicity) <= ETHNICITIES
    assert df.first_language.str.fullmatch(r"[A-Z]{3}").all()
    assert set(df.sen_provision) == {"N", "K", "E"}
    assert set(df.fsm_eligible) == {"true", "false"} and set(df.pupil_premium) == {"true", "false"}
    assert df.home_la_code.str.fullmatch(r"\d{3}").all()
    # primary need given iff provision is K or E; NSA only with K; secondary need differs from primary
    assert ((df.sen_primary_need == "") == (df.sen_provision == "N")).all()
    assert set(df.sen_primary_need) - {""} <= NEEDS and set(df.sen_secondary_need) - {""} <= NEEDS
    assert not ((df.sen_primary_need == "NSA") & (df.sen_provision != "K")).any()
    assert not ((df.sen_secondary_need != "") & (df.sen_provision == "N")).any()
    second = df.sen_secondary_need.replace("AUT", "ASD")
    assert not ((second != "") & (need(df) == second)).any()
    # post-16 pupils only in secondary or special schools; nursery/primary-age pupils not in secondaries
    assert not (df.ncyear_actual.isin(["12", "13", "14"]) & (df.phase == "PRIMARY")).any()
    assert not (df.ncyear_actual.isin(PRIMARY_YEARS) & (df.phase == "SECONDARY")).any()


@pytest.mark.parametrize("year", YEARS)
def test_ncyear_matches_date_of_birth(frames, year):
    df = frames[year]
    dob = pd.to_datetime(df.dob, format="%Y-%m-%d")
    # age on 31 August before the academic year of the census (which starts in September of year - 1)
    age = (year - 1) - dob.dt.year - (dob.dt.month >= 9).astype(int)
    assert (age == df.ncyear_actual.map(NC_AGE)).all()
    # N1 pupils in a Spring census are those already 3 by the start of the spring term
    n1 = df.ncyear_actual == "N1"
    assert n1.any() and (dob[n1] <= pd.Timestamp(year - 4, 12, 31)).all()


@pytest.mark.parametrize("year", YEARS)
def test_dual_registrations(frames, year):
    df = frames[year]
    main = df[df.enrol_status == "M"].set_index("upn")
    sub = df[df.enrol_status == "S"].set_index("upn")
    assert len(sub) > 0
    assert abs(len(sub) - 0.005 * len(pupils(df))) <= 2  # about 0.5% of pupils
    assert sorted(sub.index) == sorted(main.index)  # every S row has its M row, and vice versa
    main = main.loc[sub.index]
    same = ["sen_provision", "sen_primary_need", "sen_secondary_need", "dob", "gender", "ncyear_actual"]
    assert (main[same] == sub[same]).all().all()
    assert (main.laestab != sub.laestab).all()


def test_whole_roll_is_realistic(frames):
    for year in YEARS:
        p = pupils(frames[year])
        male = (p.gender == "M").mean()
        fsm = (p.fsm_eligible == "true").mean()
        pp = (p.pupil_premium == "true").mean()
        wbri = (p.ethnicity == "WBRI").mean()
        assert 0.49 <= male <= 0.53
        assert 0.10 <= fsm <= 0.15 and pp > fsm
        assert 0.80 <= wbri <= 0.93
        assert (p.home_la_code == "857").mean() > 0.6
        assert (p.first_language == "ENG").mean() > 0.9
