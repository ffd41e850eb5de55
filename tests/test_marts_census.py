"""Census and population marts (needs assessment 5.1, 6.1, 6.2, 6.4): each reproduces its seed figures from the
generated Rutland extracts, and the same check fails once one source row changes.

One warehouse per module: the Rutland census (2015-2023) and population extracts are generated and ingested with
the real contracts, with DfE's caseload file (the home LA's geography, int_home_la_geography, comes from it), and
built with `dbt build` (the marts and everything upstream, their dbt tests included). A copy then has a few raw
rows changed - each mart's change chosen so that it touches that mart's seed figures only - and the marts are
rebuilt with `dbt run`. Expected figures come from tests/fixtures/figures.yaml or, for percentages
the seed prints but figures.yaml does not transcribe, from the seed text written literally below.
"""

import csv
import json
import os
import shutil
import subprocess
from pathlib import Path

import duckdb
import pytest
import yaml

from pipeline.generate.census import generate_census
from pipeline.generate.dfe import copy_dfe_release
from pipeline.generate.population import generate_population
from pipeline.ingest import ingest_source
from pipeline.settings import REPO_ROOT
from pipeline.sources.census import census_contract
from pipeline.sources.dfe import DFE_FILES_BY_STEM, dfe_contract
from pipeline.sources.la_codes import NEW_TO_OLD_LA_CODE
from pipeline.sources.population import population_contract

from support import dbt, dbt_statuses, dbt_test_failures

FIGURES = yaml.safe_load((Path(__file__).parent / "fixtures" / "figures.yaml").read_text())
LA = FIGURES["la"]  # Rutland: E06000017 / 857, East Midlands
PROJECT = Path(os.environ.get("SEND_DBT_PROJECT_DIR", str(REPO_ROOT / "dbt_project")))
SEEDS = PROJECT / "seeds"
KEY = b"test-key-not-secret-0123456789"
MARTS = (
    "fct_population",
    "fct_send_characteristics",
    "fct_send_primary_need",
    "fct_send_provision",
    "fct_send_trend",
    "fct_school_residence",
)
PRIMARY_NC_YEARS = ("E1", "E2", "N1", "N2", "R", "1", "2", "3", "4", "5", "6")  # seed 6.4: primary = N1..6
SPRING_2022, SPRING_2023 = 202122, 202223


def run_dbt(db: Path, work: Path, command: str, *select: str, **env: str) -> subprocess.CompletedProcess:
    la_code = env.pop("SEND_LA_CODE", LA["old_la_code"])
    return dbt(db, work, command, "--select", *select, "--indirect-selection", "cautious", la_code=la_code, **env)


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("marts_census")
    generate_census(root / "raw", "rutland", 2023)
    generate_population(root / "raw", 2023)
    copy_dfe_release(root / "raw")
    db = root / "send.duckdb"
    with duckdb.connect(str(db)) as con:
        results = ingest_source(con, census_contract(KEY), root / "raw")
        results += ingest_source(con, population_contract(), root / "raw")
        results += ingest_source(con, dfe_contract(DFE_FILES_BY_STEM["caseload"]), root / "raw")
    assert results and all(r.rows_quarantined == 0 for r in results)
    build = run_dbt(db, root, "build", *(f"+{mart}" for mart in MARTS))
    assert build.returncode == 0, build.stdout[-4000:]
    statuses = dbt_statuses(root)
    assert {f"model.send_warehouse.{mart}" for mart in MARTS} <= set(statuses)
    nodes = json.loads((root / "target" / "manifest.json").read_text())["nodes"]
    marts = {f"model.send_warehouse.{mart}" for mart in MARTS}
    mart_tests = {uid for uid, node in nodes.items() if node.get("attached_node") in marts}
    assert mart_tests and mart_tests <= set(statuses)  # the marts' own tests ran too
    assert set(statuses.values()) <= {"pass", "success"}
    return db


@pytest.fixture
def marts(built):
    con = duckdb.connect(str(built), read_only=True)
    yield con
    con.close()


# ---------- the seed checks: each returns what disagrees with the seed (empty = the mart reproduces it) ----------


def population_problems(con) -> list[str]:
    seed = FIGURES["population_5_1"]
    got = {
        (band, sex): population
        for band, sex, population in con.execute(
            "SELECT age_band, sex, population FROM marts.fct_population WHERE year = $year", {"year": seed["year"]}
        ).fetchall()
    }
    expected = {
        ("All ages", "Total"): seed["total"],
        ("All ages", "M"): seed["male"],
        ("All ages", "F"): seed["female"],
        ("0-19", "Total"): seed["aged_0_19"],
        ("0-4", "Total"): seed["aged_0_4"],
        ("5-19", "Total"): seed["aged_5_19"],
    }
    return [f"{key}: {got.get(key)} != {value}" for key, value in expected.items() if got.get(key) != value]


def characteristics_problems(con) -> list[str]:
    seed = FIGURES["send_profile_6_1"]
    rows = con.execute(
        """SELECT sen_provision, characteristic_group, characteristic, pupils, pupils_in_provision, pct_of_provision
           FROM marts.fct_send_characteristics WHERE time_period = $tp AND census_term = 'Spring'""",
        {"tp": seed["time_period"]},
    ).fetchall()
    cell = {(p, g, c): (n, of, pct) for p, g, c, n, of, pct in rows}
    problems = []

    def expect(key, what, got, want):
        if got != want:
            problems.append(f"{key} {what}: {got} != {want}")

    sen = seed["send_pupils"]
    expect("SEN", "pupils", cell[("SEN", "sex", "M")][1], sen)
    expect("E", "pupils", cell[("E", "sex", "M")][1], seed["ehcp"])
    expect("K", "pupils", cell[("K", "sex", "M")][1], seed["sen_support"])
    # seed 6.1 bullets: "66% male and 34% female", "54% ... aged 0-11 (primary) and 46% 12-17"
    expect("SEN male", "pct", round(cell[("SEN", "sex", "M")][2]), seed["male_pct"])
    expect("SEN female", "pct", round(cell[("SEN", "sex", "F")][2]), seed["female_pct"])
    expect("SEN primary", "pct", round(cell[("SEN", "age_group", "Primary")][2]), seed["primary_age_pct"])
    expect("SEN secondary", "pct", round(cell[("SEN", "age_group", "Secondary")][2]), seed["secondary_age_pct"])
    # "723 (89.8%) ... White British. The next biggest category is White Other (2.2%) then Mixed Other (1.6%).
    # No other ethnic groups have more than 6 children."
    expect("SEN WBRI", "pupils", cell[("SEN", "ethnicity", "WBRI")][0], seed["white_british"])
    expect("SEN WBRI", "pct", round(cell[("SEN", "ethnicity", "WBRI")][2], 1), 89.8)
    expect("SEN WOTH", "pct", round(cell[("SEN", "ethnicity", "WOTH")][2], 1), seed["white_other_pct"])
    expect("SEN MOTH", "pct", round(cell[("SEN", "ethnicity", "MOTH")][2], 1), seed["mixed_other_pct"])
    others = [n for (p, g, c), (n, _, _) in cell.items() if p == "SEN" and g == "ethnicity" and c not in
              ("WBRI", "WOTH", "MOTH")]  # fmt: skip
    expect("SEN other ethnicities", "max pupils", max(others) <= seed["other_groups_max"], True)
    # "26 children with SEND (3.2%) do not speak English as a first language"
    language = cell[("SEN", "first_language", "Other than English")]
    expect("SEN not English", "pupils", language[0], seed["first_language_not_english"])
    expect("SEN not English", "pct", round(language[2], 1), 3.2)
    # "Of those with SEND 36.9% were in receipt of Pupil Premium (297 children)"
    for group, figures_key in (("E", "ehcp"), ("K", "sen_support"), ("SEN", "total")):
        expect(f"{group} pupil premium", "pupils", cell[(group, "pupil_premium", "Yes")][0],
               seed["pupil_premium"][figures_key])  # fmt: skip
        expect(f"{group} FSM", "pupils", cell[(group, "fsm", "Eligible")][0], seed["fsm"][figures_key])
    expect("SEN pupil premium", "pct", round(cell[("SEN", "pupil_premium", "Yes")][2], 1),
           seed["send_with_pupil_premium_pct"])  # fmt: skip
    # "children without SEND ... averages 10.3%" on FSM
    expect("N FSM", "pct", round(cell[("N", "fsm", "Eligible")][2], 1), seed["non_send_fsm_pct"])
    # the seed prints 17% for SEN pupils on FSM; its counts give 172 / 805: the mart follows the counts
    expect("SEN FSM", "pct", cell[("SEN", "fsm", "Eligible")][2], 100 * seed["fsm"]["total"] / sen)
    return problems


def primary_need_problems(con) -> list[str]:
    seed = FIGURES["primary_need_6_1"]
    rows = con.execute(
        """SELECT primary_need, pupils, sen_pupils, pct_of_sen_pupils, england_pupils, england_sen_pupils,
                  england_pct_of_sen_pupils
           FROM marts.fct_send_primary_need WHERE time_period = $tp AND census_term = 'Spring'""",
        {"tp": seed["time_period"]},
    ).fetchall()
    got = {need: rest for need, *rest in rows}
    needs = {need: counts for need, counts in seed.items() if need not in ("time_period", "missing", "total")}
    problems = [f"needs {sorted(got)} != {sorted(needs)}"] if set(got) != set(needs) else []
    rutland_total, england_total = seed["total"]
    for need, (rutland, england) in needs.items():
        pupils, sen_pupils, pct, england_pupils, england_sen_pupils, england_pct = got.get(need, (None,) * 6)
        want = (rutland, rutland_total, 100 * rutland / rutland_total, england, england_total,
                100 * england / england_total)  # fmt: skip
        if (pupils, sen_pupils, pct, england_pupils, england_sen_pupils, england_pct) != pytest.approx(want):
            problems.append(f"{need}: {got.get(need)} != {want}")
    return problems


def provision_problems(con) -> list[str]:
    seed = FIGURES["send_profile_6_1"]
    got = {
        provision: counts
        for provision, *counts in con.execute(
            """SELECT sen_provision, pupils, pupils_pupil_premium, pupils_fsm FROM marts.fct_send_provision
               WHERE time_period = $tp AND census_term = 'Spring'""",
            {"tp": seed["time_period"]},
        ).fetchall()
    }
    expected = {
        "E": [seed["ehcp"], seed["pupil_premium"]["ehcp"], seed["fsm"]["ehcp"]],
        "K": [seed["sen_support"], seed["pupil_premium"]["sen_support"], seed["fsm"]["sen_support"]],
    }
    return [f"{p}: {got.get(p)} != {want}" for p, want in expected.items() if got.get(p) != want]


def trend_problems(con) -> list[str]:
    seed = FIGURES["ehcp_sen_support_trend_6_2"]
    got = {
        (year, provision): (pupils, pct, england)
        for year, provision, pupils, pct, england in con.execute(
            """SELECT census_year, sen_provision, pupils, pct_of_roll, england_pct_of_pupils_published
               FROM marts.fct_send_trend"""
        ).fetchall()
    }
    problems = []
    for provision, key in (("E", "ehcp"), ("K", "sen_support")):
        for year, figures in seed[key].items():
            pupils, pct, _ = got.get((year, provision), (None, None, None))
            if "pupils" in figures and pupils != figures["pupils"]:
                problems.append(f"{provision} {year} pupils: {pupils} != {figures['pupils']}")
            if pct is None or round(pct, 1) != figures["pct"]:
                problems.append(f"{provision} {year} % of roll: {pct} does not round to {figures['pct']}")
        england = got.get((2022, provision), (None, None, None))[2]
        if england != seed["england_2022"][f"{key}_pct"]:
            problems.append(f"{provision} England 2022: {england} != {seed['england_2022'][f'{key}_pct']}")
    # seed 6.1: "As of the spring school census 2023 13.2% (805 children) of the school population have SEND"
    profile = FIGURES["send_profile_6_1"]
    pupils, pct, _ = got.get((2023, "SEN"), (None, None, None))
    if pupils != profile["send_pupils"] or pct is None or round(pct, 1) != profile["send_pct_of_roll"]:
        problems.append(f"SEN 2023: {pupils}, {pct}")
    return problems


# seed 6.4, the table's bracketed percentages (figures.yaml has the counts only)
RESIDENCE_PCT = {
    ("Primary", "E"): (87.8, 12.2),
    ("Secondary", "E"): (73.3, 26.7),
    ("Primary", "K"): (87.3, 12.7),
    ("Secondary", "K"): (51.2, 48.8),
}


def residence_problems(con) -> list[str]:
    seed = FIGURES["placements_6_4"]["residence_spring_2023"]
    got = {
        (phase, provision, residence): (pupils, pct)
        for phase, provision, residence, pupils, pct in con.execute(
            """SELECT phase, sen_provision, residence, pupils, pct_of_phase_provision FROM marts.fct_school_residence
               WHERE time_period = $tp AND census_term = 'Spring'""",
            {"tp": SPRING_2023},
        ).fetchall()
    }
    problems = []
    for phase, by_provision in seed.items():
        for key, counts in by_provision.items():
            provision = "E" if key == "ehcp" else "K"
            cells = (
                got.get((phase.title(), provision, "Resident")),
                got.get((phase.title(), provision, "Out of county")),
            )
            if [c[0] if c else None for c in cells] != counts:
                problems.append(f"{phase} {provision}: {cells} != {counts}")
            elif [round(c[1], 1) for c in cells] != list(RESIDENCE_PCT[(phase.title(), provision)]):
                problems.append(f"{phase} {provision} %: {cells}")
    return problems


CHECKS = {
    "fct_population": population_problems,
    "fct_send_characteristics": characteristics_problems,
    "fct_send_primary_need": primary_need_problems,
    "fct_send_provision": provision_problems,
    "fct_send_trend": trend_problems,
    "fct_school_residence": residence_problems,
}


@pytest.mark.parametrize("mart", MARTS)
def test_mart_reproduces_its_seed_figures(marts, mart):
    assert CHECKS[mart](marts) == []


def test_every_mart_carries_the_home_la_geography(marts):
    for mart in MARTS:
        geography = marts.execute(
            f"SELECT DISTINCT new_la_code, old_la_code, la_name, region_code, region_name FROM marts.{mart}"
        ).fetchall()
        assert geography == [(LA["new_la_code"], LA["old_la_code"], LA["name"], LA["region_code"], LA["region"])]


def test_published_marts_keep_their_contract_columns(marts):
    """A GX check and the publication read these columns: they must survive the move into marts/census."""
    contract = {
        "fct_send_primary_need": {"time_period", "census_term", "primary_need", "pupils"},
        "fct_send_provision": {"time_period", "census_term", "sen_provision", "pupils", "pupils_pupil_premium",
                               "pupils_fsm"},
    }  # fmt: skip
    for mart, columns in contract.items():
        names = {row[0] for row in marts.execute(f"DESCRIBE marts.{mart}").fetchall()}
        assert columns <= names, mart


def test_percentages_are_unrounded_doubles_computed_from_the_marts_counts(marts):
    ratios = {
        "fct_population": ("pct_of_all_ages", "population", "population_all_ages"),
        "fct_send_characteristics": ("pct_of_provision", "pupils", "pupils_in_provision"),
        "fct_send_primary_need": ("pct_of_sen_pupils", "pupils", "sen_pupils"),
        "fct_send_trend": ("pct_of_roll", "pupils", "roll"),
        "fct_school_residence": ("pct_of_phase_provision", "pupils", "pupils_in_phase_provision"),
    }
    for mart, (pct, count, of) in ratios.items():
        types = dict((row[0], row[1]) for row in marts.execute(f"DESCRIBE marts.{mart}").fetchall())
        assert types[pct] == "DOUBLE", mart
        rows = marts.execute(f"SELECT {pct}, {count}, {of} FROM marts.{mart}").fetchall()
        assert rows
        for value, numerator, denominator in rows:
            assert value == (pytest.approx(100 * numerator / denominator) if denominator else None), mart


def test_characteristic_values_add_up_to_their_provision_group(marts):
    """Within a census, provision group and characteristic, the values partition the group's pupils; and the
    groups SEN = E + K, Total = E + K + N."""
    unbalanced = marts.execute(
        """SELECT time_period, sen_provision, characteristic_group FROM marts.fct_send_characteristics
           GROUP BY ALL HAVING sum(pupils) <> any_value(pupils_in_provision)"""
    ).fetchall()
    assert unbalanced == []
    groups = marts.execute(
        """SELECT time_period,
                  max(pupils_in_provision) FILTER (WHERE sen_provision = 'SEN'),
                  max(pupils_in_provision) FILTER (WHERE sen_provision IN ('E')) +
                  max(pupils_in_provision) FILTER (WHERE sen_provision IN ('K')),
                  max(pupils_in_provision) FILTER (WHERE sen_provision = 'Total'),
                  max(pupils_in_provision) FILTER (WHERE sen_provision = 'SEN') +
                  max(pupils_in_provision) FILTER (WHERE sen_provision = 'N')
           FROM marts.fct_send_characteristics GROUP BY time_period"""
    ).fetchall()
    assert len(groups) == 9
    assert all(sen == e_plus_k and total == sen_plus_n for _, sen, e_plus_k, total, sen_plus_n in groups)


# ---------- one source row changes: the same checks fail, and the figure moves by exactly that row ----------


def pick_row(con, where: str) -> tuple[str, int]:
    """One single-registration census row (a C row: no M/S twin to keep in step) matching `where`."""
    row = con.execute(
        f"""SELECT source_file, source_row FROM raw.census_pupils
            WHERE enrol_status = 'C' AND {where} ORDER BY source_file, source_row LIMIT 1"""
    ).fetchone()
    assert row is not None, where
    return row


ROW = "source_file = $file AND source_row = $row"


def update_row(con, row: tuple[str, int], assignments: str) -> None:
    con.execute(
        f"UPDATE raw.census_pupils SET {assignments} WHERE {ROW}",
        {"file": row[0], "row": row[1]},
    )


@pytest.fixture(scope="module")
def mutated(built, tmp_path_factory):
    """A copy of the warehouse with one raw row changed per mart, the marts rebuilt (upstream models are views)."""
    work = tmp_path_factory.mktemp("marts_census_mutated")
    db = work / "send.duckdb"
    shutil.copy(built, db)
    primary = f"ncyear_actual IN ({', '.join(repr(y) for y in PRIMARY_NC_YEARS)})"
    with duckdb.connect(str(db)) as con:
        # 6.1 need table, January 2022: one SEN pupil's primary need MLD -> SLCN
        update_row(con, pick_row(con, "year(census_date) = 2022 AND sen_primary_need = 'MLD'"),
                   "sen_primary_need = 'SLCN'")  # fmt: skip
        # 6.1 provision table, January 2023: a primary-age SEN support pupil with pupil premium and FSM gets a plan
        update_row(
            con,
            pick_row(con, f"year(census_date) = 2023 AND sen_provision = 'K' AND sen_primary_need <> 'NSA' "
                          f"AND pupil_premium AND fsm_eligible AND {primary}"),
            "sen_provision = 'E'",
        )  # fmt: skip
        # 6.1 bullets, January 2023: one SEN boy recorded as a girl
        update_row(con, pick_row(con, "year(census_date) = 2023 AND sen_provision = 'E' AND gender = 'M'"),
                   "gender = 'F'")  # fmt: skip
        # 6.2 trend, January 2015: one pupil without SEN put on SEN support
        update_row(con, pick_row(con, "year(census_date) = 2015 AND sen_provision = 'N'"),
                   "sen_provision = 'K', sen_primary_need = 'MLD'")  # fmt: skip
        # 6.4 residence, January 2023: a secondary-age SEN support pupil living in Rutland moves to Lincolnshire
        update_row(
            con,
            pick_row(con, f"year(census_date) = 2023 AND sen_provision = 'K' AND home_la_code = '{LA['old_la_code']}'"
                          f" AND NOT {primary}"),
            "home_la_code = '925'",
        )  # fmt: skip
        # 5.1 population, mid-2021: 100 more 16-year-old boys
        con.execute(
            "UPDATE raw.population_estimates SET population = population + 100 WHERE year = 2021 AND age = 16 "
            "AND sex = 'M' AND old_la_code = $la",
            {"la": LA["old_la_code"]},
        )
    rebuilt = run_dbt(db, work, "run", *(f"+{mart}" for mart in MARTS))  # the census intermediates are tables
    assert rebuilt.returncode == 0, rebuilt.stdout[-4000:]
    con = duckdb.connect(str(db), read_only=True)
    yield con
    con.close()


def test_population_moves_with_a_source_row(mutated):
    assert population_problems(mutated)
    seed = FIGURES["population_5_1"]
    got = dict(
        ((band, sex), (population, pct))
        for band, sex, population, pct in mutated.execute(
            "SELECT age_band, sex, population, pct_of_all_ages FROM marts.fct_population WHERE year = 2021"
        ).fetchall()
    )
    assert got[("All ages", "M")][0] == seed["male"] + 100
    assert got[("All ages", "F")][0] == seed["female"]
    share = 100 * (seed["aged_0_19"] + 100) / (seed["total"] + 100)
    assert got[("0-19", "Total")] == (seed["aged_0_19"] + 100, pytest.approx(share))
    assert got[("5-19", "Total")][0] == seed["aged_5_19"] + 100
    assert got[("0-4", "Total")][0] == seed["aged_0_4"]


def test_characteristics_move_with_a_source_row(marts, mutated):
    assert characteristics_problems(mutated)
    seed = FIGURES["send_profile_6_1"]
    boys = """SELECT pupils, pct_of_provision FROM marts.fct_send_characteristics WHERE time_period = $tp
              AND sen_provision = 'SEN' AND characteristic_group = 'sex' AND characteristic = 'M'"""
    before = marts.execute(boys, {"tp": SPRING_2023}).fetchone()[0]  # 66% of 805 (test_mart_reproduces_...)
    got = mutated.execute(boys, {"tp": SPRING_2023}).fetchone()
    assert got == (before - 1, pytest.approx(100 * (before - 1) / seed["send_pupils"]))


def test_primary_need_moves_with_a_source_row(mutated):
    assert primary_need_problems(mutated)
    seed = FIGURES["primary_need_6_1"]
    got = dict(
        (need, (pupils, pct))
        for need, pupils, pct in mutated.execute(
            """SELECT primary_need, pupils, pct_of_sen_pupils FROM marts.fct_send_primary_need
               WHERE time_period = $tp AND primary_need IN ('MLD', 'SLCN')""",
            {"tp": SPRING_2022},
        ).fetchall()
    )
    total = seed["total"][0]
    assert got["MLD"] == (seed["MLD"][0] - 1, pytest.approx(100 * (seed["MLD"][0] - 1) / total))
    assert got["SLCN"] == (seed["SLCN"][0] + 1, pytest.approx(100 * (seed["SLCN"][0] + 1) / total))


def test_provision_moves_with_a_source_row(mutated):
    assert provision_problems(mutated)
    seed = FIGURES["send_profile_6_1"]
    got = dict(
        (provision, tuple(counts))
        for provision, *counts in mutated.execute(
            """SELECT sen_provision, pupils, pupils_pupil_premium, pupils_fsm FROM marts.fct_send_provision
               WHERE time_period = $tp""",
            {"tp": SPRING_2023},
        ).fetchall()
    )
    assert got["E"] == (seed["ehcp"] + 1, seed["pupil_premium"]["ehcp"] + 1, seed["fsm"]["ehcp"] + 1)
    assert got["K"] == (
        seed["sen_support"] - 1,
        seed["pupil_premium"]["sen_support"] - 1,
        seed["fsm"]["sen_support"] - 1,
    )


def test_trend_moves_with_a_source_row(mutated):
    assert trend_problems(mutated)
    seed = FIGURES["ehcp_sen_support_trend_6_2"]["sen_support"][2015]
    pupils, roll, pct = mutated.execute(
        "SELECT pupils, roll, pct_of_roll FROM marts.fct_send_trend WHERE census_year = 2015 AND sen_provision = 'K'"
    ).fetchone()
    assert pupils == seed["pupils"] + 1
    assert pct == pytest.approx(100 * pupils / roll)


def test_residence_moves_with_a_source_row(mutated):
    assert residence_problems(mutated)
    resident, out_of_county = FIGURES["placements_6_4"]["residence_spring_2023"]["secondary"]["sen_support"]
    got = dict(
        mutated.execute(
            """SELECT residence, pupils FROM marts.fct_school_residence
               WHERE time_period = $tp AND phase = 'Secondary' AND sen_provision = 'K'""",
            {"tp": SPRING_2023},
        ).fetchall()
    )
    assert got == {"Resident": resident - 1, "Out of county": out_of_county + 1}


# ---------- the home LA is configuration, not a literal ----------


def test_another_home_la_renames_the_geography_and_recounts_residence(built, tmp_path):
    """SEND_LA_CODE=925 (Lincolnshire, where many pupils of Rutland's schools live): the geography columns follow
    and 'Resident' now means living in Lincolnshire."""
    db = tmp_path / "send.duckdb"
    shutil.copy(built, db)
    rebuilt = run_dbt(db, tmp_path, "run", "int_home_la_geography", "int_census_pupils_profiled",
                      "fct_school_residence", SEND_LA_CODE="925")  # fmt: skip
    assert rebuilt.returncode == 0, rebuilt.stdout[-4000:]
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute(
            "SELECT DISTINCT new_la_code, old_la_code, la_name FROM marts.fct_school_residence"
        ).fetchall() == [("E10000019", "925", "Lincolnshire")]
        got = dict(
            ((phase, residence), pupils)
            for phase, residence, pupils in con.execute(
                """SELECT phase, residence, sum(pupils) FROM marts.fct_school_residence
                   WHERE time_period = $tp AND sen_provision IN ('E', 'K') GROUP BY ALL""",
                {"tp": SPRING_2023},
            ).fetchall()
        )
        # counted straight from the raw rows, without the dbt models
        primary = f"ncyear_actual IN ({', '.join(repr(y) for y in PRIMARY_NC_YEARS)})"
        in_lincolnshire = dict(
            con.execute(
                f"""SELECT CASE WHEN {primary} THEN 'Primary' ELSE 'Secondary' END, count(DISTINCT pupil_id)
                    FROM raw.census_pupils WHERE year(census_date) = 2023 AND enrol_status IN ('C', 'M')
                    AND sen_provision IN ('E', 'K') AND home_la_code = '925' GROUP BY ALL"""
            ).fetchall()
        )
    assert in_lincolnshire and all(in_lincolnshire.values())
    assert {phase: got[(phase, "Resident")] for phase in in_lincolnshire} == in_lincolnshire
    seed = FIGURES["placements_6_4"]["residence_spring_2023"]
    sen = {phase: sum(sum(counts) for counts in seed[phase.lower()].values()) for phase in ("Primary", "Secondary")}
    assert {phase: got[(phase, "Resident")] + got[(phase, "Out of county")] for phase in sen} == sen


def test_a_pupil_registered_twice_in_a_census_counts_once_by_the_registration_rules(built, tmp_path):
    """C before M, then the lower laestab, then the file; a pupil registered once is kept as it is."""
    db = tmp_path / "send.duckdb"
    shutil.copy(built, db)
    model = "intermediate.int_census_pupils_profiled"
    with duckdb.connect(str(db)) as con:
        before = con.execute(f"SELECT * EXCLUDE (built_at, term_fingerprint) FROM {model} ORDER BY ALL").fetchall()
        first, second = (r[0] for r in con.execute(
            "SELECT pupil_id FROM raw.census_pupils WHERE census_date = '2023-01-19' AND enrol_status = 'C' "
            "ORDER BY pupil_id LIMIT 2"
        ).fetchall())  # fmt: skip
        # rows the census extract of one LA would not have, written past the contract: a second registration as
        # main dual (M) for the first pupil; two more single registrations, at other schools, for the second
        con.execute(
            """INSERT INTO raw.census_pupils
               SELECT * REPLACE ('M' AS enrol_status, '0000001' AS laestab) FROM raw.census_pupils
               WHERE pupil_id = $first AND census_date = '2023-01-19'
               UNION ALL
               SELECT * REPLACE ('9999999' AS laestab, 'z.csv' AS source_file) FROM raw.census_pupils
               WHERE pupil_id = $second AND census_date = '2023-01-19'
               UNION ALL
               SELECT * REPLACE ('0000002' AS laestab, 'z.csv' AS source_file, 'X' AS ncyear_actual)
               FROM raw.census_pupils WHERE pupil_id = $second AND census_date = '2023-01-19'""",
            {"first": first, "second": second},
        )
    rebuilt = dbt(db, tmp_path, "build", "--select", "int_census_pupils_profiled", "--full-refresh")
    assert rebuilt.returncode == 0, rebuilt.stdout[-3000:]  # its unique (term, pupil) test passes
    with duckdb.connect(str(db), read_only=True) as con:
        after = con.execute(f"SELECT * EXCLUDE (built_at, term_fingerprint) FROM {model} ORDER BY ALL").fetchall()
        kept = dict(con.execute(
            f"SELECT pupil_id, school_la_code || ' ' || age_group FROM {model} "
            "WHERE time_period = 202223 AND pupil_id IN ($first, $second)", {"first": first, "second": second}
        ).fetchall())  # fmt: skip
    # the model keeps the school's LA (first three digits of laestab) and the age group (NC year X: Not followed)
    assert not kept[first].startswith("000 ")  # the single registration, not the added main dual one at 0000001
    assert kept[second] == "000 Not followed"  # the lowest laestab (0000002, NC year X) of its three C registrations
    changed = set(before) ^ set(after)  # the second pupil's row before and after; no other row moved
    assert len(changed) == 2 and all(second in row for row in changed)


def test_a_pupil_registered_twice_at_one_school_counts_by_the_earlier_row_in_the_marts_and_the_gx_check(
    built, marts, tmp_path
):
    """Two C registrations at the same school in one file tie on enrol_status, laestab and file: the earlier row
    counts (source_row, the last key), in the marts and in the blocking GX census_totals check alike, so the release
    is not blocked. One pupil without SEN gets a later SEN support row, one on SEN support a later row without SEN."""
    from pipeline.checks.census_totals import reconciliation_frames
    from pipeline.checks.gx import run_suite

    db = tmp_path / "send.duckdb"
    shutil.copy(built, db)
    with duckdb.connect(str(db)) as con:
        not_sen = pick_row(con, "year(census_date) = 2023 AND sen_provision = 'N'")
        on_support = pick_row(con, "year(census_date) = 2023 AND sen_provision = 'K' AND sen_primary_need <> 'NSA'")
        for (file, row), later in (
            (not_sen, "'K' AS sen_provision, 'MLD'"),
            (on_support, "'N' AS sen_provision, NULL"),
        ):
            key = {"file": file, "row": row}
            con.execute(
                f"""INSERT INTO raw.census_pupils
                    SELECT * REPLACE ({later} AS sen_primary_need,
                        (SELECT max(source_row) + 1 FROM raw.census_pupils WHERE source_file = $file) AS source_row)
                    FROM raw.census_pupils WHERE {ROW}""",
                key,
            )
            # the earlier row moved after the later one in the table: a table's order is no rule
            con.execute(f"CREATE OR REPLACE TEMP TABLE earlier AS SELECT * FROM raw.census_pupils WHERE {ROW}", key)
            con.execute(f"DELETE FROM raw.census_pupils WHERE {ROW}", key)
            con.execute("INSERT INTO raw.census_pupils SELECT * FROM earlier")
    rebuilt = run_dbt(
        db, tmp_path, "build", "int_census_pupils_profiled", "fct_send_provision", "fct_send_primary_need"
    )
    assert rebuilt.returncode == 0, rebuilt.stdout[-4000:]
    with duckdb.connect(str(db), read_only=True) as con:
        # each pupil's provision in the earlier row, then the provision the model kept, then its registrations
        kept = [
            con.execute(
                """SELECT earlier.sen_provision, kept.sen_provision,
                          (SELECT count(*) FROM raw.census_pupils AS r WHERE r.pupil_id = earlier.pupil_id
                           AND r.census_date = earlier.census_date)
                   FROM raw.census_pupils AS earlier JOIN intermediate.int_census_pupils_profiled AS kept
                       ON kept.pupil_id = earlier.pupil_id AND kept.time_period = $tp AND kept.census_term = 'Spring'
                   WHERE earlier.source_file = $file AND earlier.source_row = $row""",
                {"file": file, "row": row, "tp": SPRING_2023},
            ).fetchall()
            for file, row in (not_sen, on_support)
        ]
        frames = reconciliation_frames(con)
        sen = "SELECT sum(pupils) FROM marts.fct_send_provision WHERE time_period = $tp"
        assert con.execute(sen, {"tp": SPRING_2023}).fetchone() == marts.execute(sen, {"tp": SPRING_2023}).fetchone()
    assert kept == [[("N", "N", 2)], [("K", "K", 2)]]  # the earlier row of each of the two registrations
    for mart, frame in frames.items():
        assert (frame["mart_total"] == frame["independent_total"]).all(), (mart, frame)
        assert run_suite("census_totals", frame).success, mart


def test_an_unknown_home_la_fails_the_build_instead_of_emptying_the_marts(built, tmp_path):
    db = tmp_path / "send.duckdb"
    shutil.copy(built, db)
    failed = run_dbt(db, tmp_path, "build", "int_home_la_geography", SEND_LA_CODE="999")
    assert failed.returncode != 0
    statuses = dbt_statuses(tmp_path)
    assert statuses["model.send_warehouse.int_home_la_geography"] == "success"
    failures = dbt_test_failures(db, tmp_path)
    assert failures["not_null_int_home_la_geography"] == {"la_name", "new_la_code", "region_code", "region_name"}


# ---------- the seeds ----------


def read_seed(name: str) -> list[dict]:
    with (SEEDS / f"{name}.csv").open(newline="") as handle:
        return list(csv.DictReader(handle))


def test_la_geography_is_dfe_latest_row_per_authority():
    """Every LA of DfE's EHC plans release, named and coded as in the latest time period it appears in."""
    latest: dict[str, dict] = {}
    with (REPO_ROOT / "reference" / "dfe_ehcp_2025" / "caseload.csv").open(encoding="utf-8-sig", newline="") as f:
        for row in csv.DictReader(f):
            code = row["old_la_code"]
            if row["geographic_level"] == "Local authority" and (
                code not in latest or int(row["time_period"]) > int(latest[code]["time_period"])
            ):
                latest[code] = row
    expected = {
        code: {
            "new_la_code": r["new_la_code"], "old_la_code": code, "la_name": r["la_name"],
            "region_code": r["region_code"], "region_name": r["region_name"], "dfe_last_time_period": r["time_period"],
        }
        for code, r in latest.items()
    }  # fmt: skip
    seed = {row["old_la_code"]: row for row in read_seed("la_geography")}
    assert seed == expected
    home = seed[LA["old_la_code"]]
    assert (home["new_la_code"], home["la_name"], home["region_code"]) == (
        LA["new_la_code"],
        LA["name"],
        LA["region_code"],
    )


def test_la_geography_agrees_with_the_population_source_codes():
    """The ONS population source maps every GSS code DfE uses (current or since replaced) to the same old code."""
    rows = read_seed("la_geography")
    assert len(rows) > 150
    assert {row["old_la_code"]: NEW_TO_OLD_LA_CODE.get(row["new_la_code"]) for row in rows} == {
        row["old_la_code"]: row["old_la_code"] for row in rows
    }


def test_england_comparators_are_the_seed_england_column():
    seed = FIGURES["primary_need_6_1"]
    rows = read_seed("england_send_comparators")
    needs = {r["breakdown"]: int(r["pupils"]) for r in rows if r["breakdown_topic"] == "Primary need"}
    expected = {("MISSING" if need == "missing" else need): counts[1] for need, counts in seed.items()
                if need not in ("time_period", "total")}  # fmt: skip
    assert needs == expected
    assert sum(needs.values()) == seed["total"][1]
    assert {r["time_period"] for r in rows} == {str(seed["time_period"])}
    published = {
        r["breakdown"]: float(r["pct_of_pupils_published"]) for r in rows if r["breakdown_topic"] == "SEN provision"
    }
    england = FIGURES["ehcp_sen_support_trend_6_2"]["england_2022"]
    assert published == {"E": england["ehcp_pct"], "K": england["sen_support_pct"]}


def test_every_column_is_described_for_bi(marts):
    """dbt docs is what a BI analyst reads: every column of every census model and seed has a description, in the
    order the table has its columns."""
    documented = {}
    for path in ("models/marts/census/_marts_census__models.yml", "models/intermediate/census/_int_census__models.yml",
                 "seeds/_seeds_census.yml"):  # fmt: skip
        spec = yaml.safe_load((PROJECT / path).read_text())
        for node in spec.get("models", []) + spec.get("seeds", []):
            assert node["description"].strip(), node["name"]
            assert all(column["description"].strip() for column in node["columns"]), node["name"]
            documented[node["name"]] = [column["name"] for column in node["columns"]]
    assert set(MARTS) <= set(documented)
    for name, columns in documented.items():
        schema = marts.execute("SELECT table_schema FROM information_schema.tables WHERE table_name = $n", {"n": name})
        actual = [row[0] for row in marts.execute(f"DESCRIBE {schema.fetchone()[0]}.{name}").fetchall()]
        assert actual == columns, name
