"""The benchmark at Rutland scale as a smoke test (no timing assertions: timing belongs in the bench itself).

One bench per module: generate, pipeline cold, bare DuckDB, pandas, DuckDB doing the required row work, pipeline
again with no new files. The tests check that it ran and wrote its JSON, that the implementations agree on the
census marts (and that the baselines reproduce the seed figures on their own), and that the agreement check and the
measurements fail when they should.
"""

import csv
import importlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from pipeline.bench import (
    BASELINES,
    MART_COLUMNS,
    WORK_MARKER,
    BenchError,
    _require_success,
    compare_marts,
    dbt_node_timings,
    evaluate_targets,
    marts_document,
    measure,
    pipeline_marts,
    read_marts_document,
    run_bench,
    step_stage,
)
from pipeline.settings import seeds_dir

FIGURES = yaml.safe_load((Path(__file__).parent / "fixtures" / "figures.yaml").read_text())
KEY = "test-key-not-secret-0123456789"
BASELINE_NAMES = [name for _, name in BASELINES]


@pytest.fixture(scope="module")
def bench(tmp_path_factory) -> dict:
    out_dir = tmp_path_factory.mktemp("bench")
    result = run_bench("rutland", out_dir, keep_work=True, key=KEY, log=None)
    result["out_dir"] = out_dir
    return result


@pytest.fixture(scope="module")
def work_dir(bench) -> Path:
    return Path(bench["work_dir"])


def test_bench_writes_its_json_under_the_output_folder(bench):
    path = Path(bench["json_path"])
    assert path.parent == bench["out_dir"]
    assert re.fullmatch(r"rutland-\d{8}T\d{6}Z\.json", path.name)
    written = json.loads(path.read_text())
    assert written["scale"] == "rutland"
    assert written["agreement"] == bench["agreement"]


def test_json_has_the_machine_and_every_measurement(bench):
    written = json.loads(Path(bench["json_path"]).read_text())
    machine = written["machine"]
    for field in ("cores", "ram_bytes", "python", "duckdb", "cpu_model"):
        assert field in machine
    assert machine["cores"] >= 1 and machine["ram_bytes"] > 0
    assert machine["python"] == ".".join(str(v) for v in sys.version_info[:3])
    measurements = written["measurements"]
    assert set(measurements) == {
        "a_pipeline_cold", "b_duckdb", "c_pandas", "d_pipeline_no_change", "e_duckdb_required",
    }  # fmt: skip
    for m in [written["generate"], written["dbt_parse"], *measurements.values()]:
        assert m["returncode"] == 0
        assert m["wall_seconds"] > 0
        assert m["peak_rss_bytes"] >= m["max_rss_bytes"] > 10 * 1024**2  # a Python process holds > 10 MiB
        assert m["user_seconds"] + m["system_seconds"] > 0


def test_ratios_are_those_of_the_measured_wall_times(bench):
    m = bench["measurements"]
    a, b, c, d = (m[k]["wall_seconds"] for k in ("a_pipeline_cold", "b_duckdb", "c_pandas", "d_pipeline_no_change"))
    assert bench["ratios"]["ratio_a_b"] == pytest.approx(a / b, abs=1e-3)
    assert bench["ratios"]["ratio_a_c"] == pytest.approx(a / c, abs=1e-3)
    assert bench["ratios"]["ratio_d_a"] == pytest.approx(d / a, abs=1e-3)
    assert bench["ratios"]["ratio_a_e"] == pytest.approx(a / m["e_duckdb_required"]["wall_seconds"], abs=1e-3)
    assert {t["target"] for t in bench["targets"]} == {"pipeline_cold_seconds", "no_change_vs_full"}


def test_the_pipeline_breakdown_names_each_stage(bench):
    cold = bench["pipeline_breakdown"]["a_pipeline_cold"]
    stages, steps = cold["dagster"]["stages"], cold["dagster"]["steps"]
    assert {"ingest", "dbt", "checks", "publish"} <= set(stages)
    assert sum(stages.values()) == pytest.approx(sum(steps.values()), abs=0.01)
    assert steps["raw__census_pupils"] > 0 and steps["send_dbt_models"] > 0
    assert stages["publish"] == steps["publish_release"] > 0  # the release and its report, one step
    # the checks stage is the steps that only evaluate asset checks; a source named for health checks is an ingest
    check_steps = cold["dagster"]["check_steps"]
    assert "census_totals_checks" in check_steps and "raw__ld_health_checks" not in check_steps
    assert stages["checks"] == pytest.approx(sum(steps[key] for key in check_steps), abs=0.01)
    assert stages["ingest"] >= steps["raw__ld_health_checks"] + steps["raw__census_pupils"] > 0
    assert cold["startup_seconds"] > 0 and cold["job_seconds"] > 0
    assert cold["dbt"]["by_kind"]["model"]["count"] >= 3  # staging, intermediate and the two marts at least
    assert cold["dbt"]["by_kind"]["test"]["count"] > 0


def test_the_second_run_found_nothing_changed_and_skipped(bench, work_dir):
    """(d) is a no-change run: the drop zone matches the ledger and the build record, so it stops before Dagster."""
    from pipeline.cli import NOTHING_CHANGED

    cold = (work_dir / "logs" / "pipeline_cold.out").read_text()
    again = (work_dir / "logs" / "pipeline_no_change.out").read_text()
    files = len(list((work_dir / "raw" / "census").glob("*.csv")))
    assert f"census: {files} file(s), {files} loaded, 0 unchanged" in cold
    assert NOTHING_CHANGED in again and "running the nightly job" not in again
    assert bench["pipeline_breakdown"]["d_pipeline_no_change"] == {"skipped": True}


def test_the_implementations_agree(bench, work_dir):
    agreement = bench["agreement"]
    assert agreement["implementations"] == [
        "pipeline_cold", "pipeline_no_change", "duckdb", "pandas", "duckdb_required",
    ]  # fmt: skip
    assert agreement["ok"] and agreement["differences"] == []
    pipeline = pipeline_marts(work_dir / "warehouse" / "send.duckdb")
    for name in BASELINE_NAMES:
        baseline = read_marts_document(work_dir / "results" / f"{name}.json")
        assert baseline["marts"] == pipeline["marts"]
        assert len(baseline["marts"]["fct_send_primary_need"]["rows"]) == 9 * 13  # 9 censuses x 13 needs


@pytest.mark.parametrize("name", BASELINE_NAMES)
def test_each_baseline_reproduces_the_seed_on_its_own(work_dir, name):
    marts = read_marts_document(work_dir / "results" / f"{name}.json")["marts"]
    need = {
        row[2]: row[5]
        for row in marts["fct_send_primary_need"]["rows"]
        if row[0] == FIGURES["primary_need_6_1"]["time_period"] and row[1] == "Spring"
    }
    seed = FIGURES["primary_need_6_1"]
    assert need == {k: v[0] for k, v in seed.items() if k not in ("time_period", "missing", "total")}
    assert sum(need.values()) == seed["total"][0]
    profile = FIGURES["send_profile_6_1"]
    provision = {
        row[2]: tuple(row[4:])
        for row in marts["fct_send_provision"]["rows"]
        if row[0] == profile["time_period"] and row[1] == "Spring"
    }
    assert provision["E"] == (profile["ehcp"], profile["pupil_premium"]["ehcp"], profile["fsm"]["ehcp"])
    assert provision["K"] == (
        profile["sen_support"],
        profile["pupil_premium"]["sen_support"],
        profile["fsm"]["sen_support"],
    )


def test_agreement_check_fails_when_one_result_is_altered(work_dir):
    pipeline = pipeline_marts(work_dir / "warehouse" / "send.duckdb")
    pandas = read_marts_document(work_dir / "results" / "pandas.json")
    assert compare_marts([pipeline, pandas]) == []

    altered = json.loads(json.dumps(pandas))
    row = altered["marts"]["fct_send_provision"]["rows"][0]
    row[5] += 1  # pupils_pupil_premium of one census and provision
    differences = compare_marts([pipeline, altered])
    assert len(differences) == 1
    assert differences[0].startswith(f"fct_send_provision ({row[0]}, '{row[1]}', '{row[2]}') pupils_pupil_premium:")
    assert f"pandas={row[5]}" in differences[0] and f"pipeline={row[5] - 1}" in differences[0]

    missing = json.loads(json.dumps(pandas))
    dropped = missing["marts"]["fct_send_primary_need"]["rows"].pop()
    differences = compare_marts([pipeline, missing])
    assert differences == [f"fct_send_primary_need {tuple(dropped[:3])}: row only in pipeline"]

    relabelled = json.loads(json.dumps(pandas))
    relabelled["marts"]["fct_send_primary_need"]["rows"][0][3] = "something else"
    assert len(compare_marts([pipeline, relabelled])) == 1


def test_agreement_check_fails_when_a_baseline_reads_a_changed_extract(work_dir, tmp_path):
    """One pupil's provision changed in a copy of the 2023 extract: the DuckDB baseline now disagrees."""
    raw = tmp_path / "raw"
    (raw / "census").mkdir(parents=True)
    for path in sorted((work_dir / "raw" / "census").glob("*.csv")):
        rows = list(csv.DictReader(path.open(newline="")))
        if path.name.startswith("2023"):
            pupil = next(r for r in rows if r["sen_provision"] == "K" and r["enrol_status"] == "C")
            pupil["sen_provision"] = "E"
        with (raw / "census" / path.name).open("w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
    out = tmp_path / "duckdb.json"
    baseline = [sys.executable, "-m", "pipeline.bench_baselines.duckdb_census_marts"]
    done = subprocess.run([*baseline, "--raw-dir", str(raw), "--out", str(out)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    pipeline = pipeline_marts(work_dir / "warehouse" / "send.duckdb")
    differences = compare_marts([pipeline, read_marts_document(out)])
    assert any(d.startswith("fct_send_provision (202223, 'Spring', 'E') pupils:") for d in differences)
    assert any(d.startswith("fct_send_provision (202223, 'Spring', 'K') pupils:") for d in differences)


CENSUS_HEADER = [
    "upn", "laestab", "census_date", "phase", "ncyear_actual", "enrol_status", "dob", "gender", "ethnicity",
    "first_language", "sen_provision", "sen_primary_need", "sen_secondary_need", "fsm_eligible", "pupil_premium",
    "home_la_code",
]  # fmt: skip


def census_row(upn, laestab, date, enrol, provision, need, fsm, pp):
    return [upn, laestab, date, "PRIMARY", "3", enrol, "2015-05-03", "M", "WBRI", "ENG", provision, need, "", fsm,
            pp, "857"]  # fmt: skip


def write_census(path: Path, rows: list[list[str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(CENSUS_HEADER)
        writer.writerows(rows)


@pytest.fixture
def small_census(tmp_path) -> Path:
    """Seven pupils over two censuses, each exercising one rule of the marts (counted by hand below)."""
    raw = tmp_path / "raw"
    jan23 = "2023-01-19"
    write_census(raw / "census" / "2023_spring.csv", [
        census_row("A857200122001", "8572001", jan23, "C", "K", "MLD", "true", "true"),
        census_row("A857200122002", "8572001", jan23, "M", "E", "AUT", "false", "true"),  # AUT counts as ASD
        census_row("A857200122002", "8572002", jan23, "S", "K", "SLCN", "false", "false"),  # S: not a second pupil
        census_row("A857200122003", "8572001", "19/01/2023", "C", "S", "PD", "true", "false"),  # legacy S is E
        census_row("A857200122004", "8572001", jan23, "C", "N", "", "false", "false"),
        census_row("A857200122005", "8572001", jan23, "M", "K", "SPLD", "false", "false"),
        census_row("A857200122005", "8572002", jan23, "C", "K", "SEMH", "true", "true"),  # C before M: SEMH
        census_row("a857200122006", "8572001", jan23, "c", "k", "mld", "N", "0"),  # codes in lower case
    ])  # fmt: skip
    write_census(raw / "census" / "2022_spring.csv", [
        census_row("A857200122001", "8572001", "2022-01-20", "C", "K", "MLD", "true", "true"),
        census_row("A857200122007", "8572001", "2022-01-20", "C", "E", "HI", "true", "true"),
    ])  # fmt: skip
    write_census(raw / "census" / "2022_spring_v2.csv", [  # a corrected 2022 extract: replaces the first
        census_row("A857200122001", "8572001", "2022-01-20", "C", "K", "OTH", "false", "false"),
    ])  # fmt: skip
    return raw


@pytest.mark.parametrize("name", BASELINE_NAMES)
def test_each_baseline_applies_the_rules_of_the_marts(small_census, tmp_path, name):
    out = tmp_path / f"{name}.json"
    baseline = [sys.executable, "-m", f"pipeline.bench_baselines.{name}_census_marts", "--raw-dir", str(small_census)]
    env = {**os.environ, "SEND_PSEUDONYM_KEY": KEY}
    done = subprocess.run([*baseline, "--out", str(out)], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    marts = read_marts_document(out)["marts"]
    needs = {(r[0], r[2]): r[5] for r in marts["fct_send_primary_need"]["rows"]}
    assert len(needs) == 2 * 13  # both censuses x every need of the seed
    assert {k: v for k, v in needs.items() if v} == {
        (202223, "MLD"): 2, (202223, "ASD"): 1, (202223, "PD"): 1, (202223, "SEMH"): 1, (202122, "OTH"): 1,
    }  # fmt: skip
    provision = {(r[0], r[2]): tuple(r[4:]) for r in marts["fct_send_provision"]["rows"]}
    assert provision == {
        (202223, "E"): (2, 1, 1),  # pupils, pupil premium, FSM
        (202223, "K"): (3, 2, 2),
        (202122, "E"): (0, 0, 0),
        (202122, "K"): (1, 0, 0),
    }
    assert all(r[1] == "Spring" for r in marts["fct_send_provision"]["rows"])


def test_a_pipeline_stopped_at_the_memory_limit_is_recorded_and_fails_the_bench(tmp_path):
    """The baselines still run, (d) does not, the JSON says what happened, and the bench raises."""
    with pytest.raises(BenchError, match="pipeline_cold was stopped"):
        run_bench("rutland", tmp_path, key=KEY, rss_limit_gib=0.35, log=None)
    written = json.loads(next(tmp_path.glob("rutland-*.json")).read_text())
    m = written["measurements"]
    assert m["a_pipeline_cold"]["rss_limit_exceeded"] and m["a_pipeline_cold"]["peak_rss_bytes"] > 0.35 * 1024**3
    assert all(m[label]["returncode"] == 0 for label, _ in BASELINES)
    assert "d_pipeline_no_change" not in m
    assert written["agreement"]["implementations"] == BASELINE_NAMES and written["agreement"]["ok"]
    assert written["ratios"]["ratio_a_b"] is None
    assert [t["met"] for t in written["targets"]] == [None, None]
    assert not (tmp_path / "work-rutland").exists()  # work folder removed (keep_work=False)


def test_compare_marts_flags_duplicate_keys_and_other_columns(work_dir):
    pipeline = pipeline_marts(work_dir / "warehouse" / "send.duckdb")
    doubled = json.loads(json.dumps(pipeline))
    doubled["implementation"] = "doubled"
    doubled["marts"]["fct_send_provision"]["rows"].append(doubled["marts"]["fct_send_provision"]["rows"][0])
    assert compare_marts([pipeline, doubled]) == ["fct_send_provision: doubled has 1 duplicate key row(s)"]
    renamed = json.loads(json.dumps(pipeline))
    renamed["implementation"] = "renamed"
    renamed["marts"]["fct_send_primary_need"]["columns"][-1] = "children"
    assert len(compare_marts([pipeline, renamed])) == 1
    assert MART_COLUMNS["fct_send_primary_need"][-1] == "pupils"


def test_a_marts_document_refuses_a_row_of_another_width():
    """A baseline whose SELECT lost or gained a column would otherwise be compared column by column out of step."""
    width = len(MART_COLUMNS["fct_send_provision"])
    assert marts_document("duckdb", [], [["x"] * width])["marts"]["fct_send_provision"]["rows"] == [["x"] * width]
    with pytest.raises(ValueError, match=f"^duckdb: fct_send_provision row has {width - 1} values, expected {width}$"):
        marts_document("duckdb", [], [["x"] * (width - 1)])


def test_compare_marts_refuses_fewer_than_two_implementations():
    """One result agrees with nothing: an empty list of differences would read as agreement."""
    only = marts_document("pipeline", [], [])
    for documents in ([only], []):
        with pytest.raises(ValueError, match="^need at least two implementations to compare$"):
            compare_marts(documents)
    assert compare_marts([only, {**only, "implementation": "pandas"}]) == []


@pytest.mark.parametrize("name", BASELINE_NAMES)
def test_each_baseline_refuses_a_drop_zone_without_census_csv_files(tmp_path, monkeypatch, name):
    """No census CSV (a hidden one and other files are not extracts): the baseline stops rather than count nobody."""
    monkeypatch.setenv("SEND_PSEUDONYM_KEY", KEY)  # so the required-work baseline would get as far as reading
    baseline = importlib.import_module(f"pipeline.bench_baselines.{name}_census_marts")
    census = tmp_path / "raw" / "census"
    census.mkdir(parents=True)
    (census / ".2023_spring.csv").write_text(",".join(CENSUS_HEADER) + "\n")  # hidden: not an extract
    (census / "2023_spring.txt").write_text(",".join(CENSUS_HEADER) + "\n")
    (census / "2022_spring.csv").mkdir()
    for raw in (tmp_path / "raw", tmp_path / "nowhere"):  # a census folder without CSV files; no folder at all
        with pytest.raises(SystemExit, match=f"^no census CSV files in {re.escape(str(raw / 'census'))}$"):
            baseline.census_marts(raw, seeds_dir())


def test_measure_counts_the_memory_of_grandchildren(tmp_path):
    """The peak RSS is over the process tree: a grandchild holding 300 MiB shows in it."""
    grandchild = "b = b'\\x01' * (300 * 1024 * 1024); import time; time.sleep(1.0)"
    child = f"import subprocess, sys; subprocess.run([sys.executable, '-c', {grandchild!r}], check=True)"
    m = measure("tree", [sys.executable, "-c", child], env={"PATH": "/usr/bin:/bin"}, cwd=tmp_path, log_dir=tmp_path)
    assert m.returncode == 0
    assert m.peak_rss_bytes > 300 * 1024**2
    assert m.max_rss_bytes > 300 * 1024**2  # ru_maxrss of the largest process (the grandchild, waited for)
    small = measure("small", [sys.executable, "-c", "pass"], env={}, cwd=tmp_path, log_dir=tmp_path)
    assert small.peak_rss_bytes < 200 * 1024**2


def test_an_interrupted_bench_leaves_no_measured_process_behind(tmp_path):
    """SIGTERM to the bench while it measures: the measured process and its child are killed with it."""
    pids = tmp_path / "pids"
    child = (
        "import os, subprocess, sys, time; "
        "p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']); "
        f"open({str(pids)!r}, 'w').write(f'{{os.getpid()}} {{p.pid}}'); time.sleep(60)"
    )
    bench = (
        "import sys; from pathlib import Path; from pipeline.bench import measure; "
        f"measure('sleeper', [sys.executable, '-c', {child!r}], env={{}}, cwd=Path({str(tmp_path)!r}), "
        f"log_dir=Path({str(tmp_path)!r}))"
    )
    runner = subprocess.Popen([sys.executable, "-c", bench])
    deadline = time.monotonic() + 30
    while not (pids.exists() and len(pids.read_text().split()) == 2) and time.monotonic() < deadline:
        time.sleep(0.1)
    measured = [int(p) for p in pids.read_text().split()]
    assert all(Path(f"/proc/{pid}").exists() for pid in measured)
    runner.send_signal(signal.SIGTERM)
    assert runner.wait(timeout=30) != 0
    time.sleep(0.5)
    alive = [pid for pid in measured if Path(f"/proc/{pid}").exists() and "Z" not in _state(pid)]
    assert alive == []


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return "Z"


def test_a_failing_step_fails_the_bench_with_its_output(tmp_path):
    m = measure(
        "broken",
        [sys.executable, "-c", "import sys; print('step output'); sys.exit(3)"],
        env={},
        cwd=tmp_path,
        log_dir=tmp_path,
    )
    assert m.returncode == 3
    with pytest.raises(BenchError, match=r"broken exited with 3(.|\n)*step output"):
        _require_success(m)


def test_bench_refuses_to_clear_a_folder_it_did_not_create(tmp_path):
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "keep.txt").write_text("mine")
    with pytest.raises(BenchError, match="not a bench work folder"):
        run_bench("rutland", tmp_path / "out", work_dir=precious, log=None)
    assert (precious / "keep.txt").read_text() == "mine"
    assert not (precious / WORK_MARKER).exists()


def test_bench_rejects_an_unknown_scale(tmp_path):
    with pytest.raises(ValueError, match="unknown scale"):
        run_bench("galaxy", tmp_path, log=None)


def test_a_step_is_in_the_checks_stage_by_what_it_did_not_by_its_name():
    assert step_stage("raw__ld_health_checks") == "ingest"  # materializes the LD health checks' raw table
    assert step_stage("census_totals_checks", checks_only=True) == "checks"
    assert step_stage("send_dbt_models", checks_only=False) == "dbt"  # dbt's tests are checks of its own step
    assert step_stage("publish_release") == "publish"
    assert step_stage("docs__dbt_docs") == "docs"


def test_dbt_node_timings_read_dbt_log_lines(tmp_path):
    log = tmp_path / "dbt.log"
    log.write_text(
        "Running with dbt=1.11\n"
        "1 of 4 START sql view model staging.stg_x ............ [RUN]\n"
        "1 of 4 OK created sql view model staging.stg_x ....... [\x1b[32mOK\x1b[0m in 0.50s]\n"
        "2 of 4 OK loaded seed file reference.codes ........... [\x1b[32mINSERT 13\x1b[0m in 0.25s]\n"
        "3 of 4 OK created sql table model marts.fct_send_a_very_long_model_name_without_dots [OK in 2.00s]\n"
        "4 of 4 FAIL 1 not_null_fct_x_pupils .................. [\x1b[31mFAIL 1\x1b[0m in 0.10s]\n"
        "Finished running 1 seed, 2 models, 1 data test in 0 hours 0 minutes and 3.00 seconds (3.00s).\n"
    )
    timings = dbt_node_timings(log)
    assert timings["nodes"] == 4
    assert timings["by_kind"] == {
        "model": {"count": 2, "seconds": 2.5},
        "seed": {"count": 1, "seconds": 0.25},
        "test": {"count": 1, "seconds": 0.1},
    }
    assert timings["slowest"][0]["node"] == "marts.fct_send_a_very_long_model_name_without_dots"
    assert timings["dbt_reported_seconds"] == 3.0


def test_targets_are_judged_against_the_issue_limits():
    national = {t["target"]: t["met"] for t in evaluate_targets(
        "national", {"ratio_a_b": 1.6, "ratio_a_c": 0.9, "pipeline_peak_rss_gib": 2.5}
    )}  # fmt: skip
    assert national == {"pipeline_vs_duckdb": False, "pipeline_vs_pandas": True, "pipeline_peak_rss_gib": True}
    rutland = {t["target"]: t["met"] for t in evaluate_targets(
        "rutland", {"pipeline_cold_seconds": 19.0, "ratio_d_a": 0.3}
    )}  # fmt: skip
    assert rutland == {"pipeline_cold_seconds": True, "no_change_vs_full": False}
    assert evaluate_targets("county", {}) == []


def test_the_required_work_baseline_pseudonymises_and_keeps_its_rows_on_disk(small_census, tmp_path, monkeypatch):
    import duckdb

    from pipeline.bench_baselines import duckdb_required_census_marts as required
    from pipeline.pseudonymise import pseudonym

    monkeypatch.setenv("SEND_PSEUDONYM_KEY", KEY)
    _, pupils = required.census_marts(small_census, seeds_dir(), tmp_path)
    with duckdb.connect(str(tmp_path / required.DATABASE), read_only=True) as con:
        stored = {r[0] for r in con.execute("SELECT pupil FROM registrations").fetchall()}
        assert con.execute("SELECT count(*) FROM pupils").fetchone()[0] == pupils == 7  # 2022: the corrected file
    upns = {f"A85720012200{i}" for i in range(1, 8)}
    assert stored == {pseudonym(KEY.encode(), upn) for upn in upns}  # keyed pseudonyms, no UPN
