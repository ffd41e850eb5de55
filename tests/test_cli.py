"""The `send-pipeline` console script: main()'s exit code, and the interpreter left to exit without its final
garbage collection (gc.freeze, ~1.5 s after a nightly run)."""

import gc
import tomllib
from types import SimpleNamespace

import pytest

from pipeline import cli
from pipeline.settings import REPO_ROOT, load_settings


def test_the_console_script_is_run():
    scripts = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["send-pipeline"] == "pipeline.cli:run"


@pytest.mark.parametrize("code", [0, 1, 2])
def test_run_exits_with_the_code_of_main_and_freezes_the_heap(monkeypatch, code):
    monkeypatch.setattr(cli, "main", lambda: code)
    gc.unfreeze()
    try:
        with pytest.raises(SystemExit) as exited:
            cli.run()
        assert exited.value.code == code
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()


# ---------- what `send-pipeline run` tells the user (README: Commands, Configuration) ----------


class _Event:
    def __init__(self, path):
        self.event_specific_data = SimpleNamespace(
            materialization=SimpleNamespace(asset_key=SimpleNamespace(path=path), metadata={})
        )


def _result(*materialized: list[str], evaluations=()):
    return SimpleNamespace(
        success=True,
        all_events=[],
        get_asset_materialization_events=lambda: [_Event(path) for path in materialized],
        get_asset_check_evaluations=lambda: list(evaluations),
    )


def test_a_published_run_whose_docs_failed_does_not_say_not_published(capsys):
    settings = load_settings({})
    cli._summarise(_result(["published", "send_reporting"], ["published", "report"]), settings)
    out = capsys.readouterr().out
    assert "published release:" in out
    assert "NOT published" not in out


def test_a_run_that_did_not_publish_says_so_even_when_the_docs_were_built(capsys):
    settings = load_settings({})
    code = cli._summarise(_result(["docs", "dbt_docs"]), settings)
    assert code == 1
    assert "NOT published" in capsys.readouterr().out


def test_the_run_says_how_many_public_figures_agreed_and_how_many_were_left_out(capsys):
    """DfE's SEN2 figures for the home LA are known to the attacker only where they equal our count; when they all
    differ (the wrong SEND_LA_CODE, an extract covering another population) the disclosure check has none of them.
    That was only in the release's Dagster metadata; the run's own output says it."""
    published = _result(["published", "send_reporting"])
    event = published.get_asset_materialization_events()[0]
    figures = {
        "dfe_sen2_ehc_plans": {"source": "DfE SEN2", "cells_known": 0, "cells_disagreeing": 5},
        "earlier_releases": {"source": "earlier releases", "cells_known": 12, "cells_disagreeing": 0},
    }
    event.event_specific_data.materialization.metadata["public_figures"] = SimpleNamespace(value=figures)
    published.get_asset_materialization_events = lambda: [event]
    assert cli._summarise(published, load_settings({})) == 0
    out = capsys.readouterr().out
    said = "public figures: DfE SEN2: 0 cell(s) known to the disclosure check, 5 differ from this release's count"
    assert said in out
    assert "public figures: earlier releases: 12 cell(s) known to the disclosure check" in out


def test_a_failed_check_of_severity_warn_is_a_warning_not_a_failed_run(capsys):
    """A dbt test of severity warn (e.g. the EHCNA relationships) does not stop publication: the run succeeded."""
    import dagster as dg

    def check(name, passed, severity):
        return dg.AssetCheckEvaluation(dg.AssetKey(["staging", "m"]), name, passed=passed, severity=severity)

    evaluations = [
        check("orphans", False, dg.AssetCheckSeverity.WARN),
        check("unique", True, dg.AssetCheckSeverity.ERROR),
    ]
    published = _result(["published", "send_reporting"], evaluations=evaluations)
    assert cli._summarise(published, load_settings({})) == 0
    out = capsys.readouterr().out
    assert "checks: 1 passed, 0 failed, 1 warned" in out and "WARNING staging/m :: orphans" in out
    evaluations.append(check("not_null", False, dg.AssetCheckSeverity.ERROR))
    assert cli._summarise(published, load_settings({})) == 1
    assert "FAILED staging/m :: not_null" in capsys.readouterr().out


class _Started(Exception):
    """Raised where the run would start preparing dbt and Dagster."""


@pytest.fixture
def run_env(tmp_path, monkeypatch):
    """A drop zone, an empty warehouse and a key; the run stops where it would start dbt and Dagster."""
    (tmp_path / "raw").mkdir()
    monkeypatch.chdir(tmp_path)  # no .env here
    monkeypatch.setenv("SEND_RAW_DIR", str(tmp_path / "raw"))
    monkeypatch.setenv("SEND_WAREHOUSE_DIR", str(tmp_path / "warehouse"))
    monkeypatch.setenv("SEND_PSEUDONYM_KEY", "test-key-not-secret-0123456789")
    for name in ("SEND_LA_CODE", "SEND_DBT_PROJECT_DIR"):
        monkeypatch.delenv(name, raising=False)

    def started(*_args, **_kwargs):
        raise _Started

    monkeypatch.setattr("pipeline.dbt_project.prepare_dbt_project", started)
    return tmp_path


def test_run_starts_with_a_valid_environment(run_env):
    with pytest.raises(_Started):
        cli.main(["run"])


@pytest.mark.parametrize(
    ("variable", "value", "named"),
    [
        ("SEND_RAW_DIR", "no_such_folder", "SEND_RAW_DIR"),
        ("SEND_PSEUDONYM_KEY", "", "SEND_PSEUDONYM_KEY"),
        ("SEND_DBT_PROJECT_DIR", "no_such_project", "SEND_DBT_PROJECT_DIR"),
        ("SEND_LA_CODE", "999", "SEND_LA_CODE"),
        ("SEND_LA_CODE", "E06000017", "SEND_LA_CODE must be a 3-digit old LA code"),
    ],
)
def test_run_fails_at_once_naming_an_invalid_setting(run_env, monkeypatch, capsys, variable, value, named):
    """Before Dagster starts: one line naming the variable and exit 2, not a failed step per source or a traceback."""
    monkeypatch.setenv(variable, str(run_env / value) if value.startswith("no_such") else value)
    assert cli.main(["run"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("send-pipeline: ") and named in err


@pytest.mark.parametrize(("code", "said"), [("928", "Northamptonshire"), ("909", "Cumbria"), ("835", "Dorset")])
def test_run_fails_at_once_for_an_authority_that_no_longer_exists(run_env, monkeypatch, capsys, code, said):
    """Northamptonshire (928, split in 2021) and Cumbria (909, split in 2023) are in la_geography so that old census
    home LA codes keep a name; as the home LA they built a release for an authority that no longer exists, with
    DfE's figures stopping at its last year and (928) no statistical neighbours, without a word."""
    monkeypatch.setenv("SEND_LA_CODE", code)
    assert cli.main(["run"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("send-pipeline: SEND_LA_CODE") and said in err and "no longer exists" in err


@pytest.mark.parametrize("code", ["940", "941", "942", "943", "838", "855", "908", "210"])
def test_run_starts_for_a_current_authority_successors_of_splits_included(run_env, monkeypatch, code):
    monkeypatch.setenv("SEND_LA_CODE", code)
    with pytest.raises(_Started):
        cli.main(["run"])


def test_run_fails_at_once_when_the_warehouse_folder_cannot_be_written(run_env, monkeypatch, capsys):
    """An unwritable SEND_WAREHOUSE_DIR (a read-only mount, a path under a file) gave a Python traceback and exit 1,
    the code of a failed check; it is a setting that is wrong: one line naming the variable, exit 2."""
    (run_env / "a_file").write_text("not a folder")
    monkeypatch.setenv("SEND_WAREHOUSE_DIR", str(run_env / "a_file" / "warehouse"))
    assert cli.main(["run"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("send-pipeline: SEND_WAREHOUSE_DIR") and "a_file" in err


@pytest.mark.parametrize("stray", ["Census/2024_spring.csv", "school_transport/routes.csv", "2024_spring.csv"])
def test_run_fails_at_once_naming_an_extract_no_source_would_read(run_env, capsys, stray):
    """A folder named with another case, a folder no source has, a file at the top of raw/: no source reads them,
    so a run would publish without them and say nothing (input lost without a word)."""
    (run_env / "raw" / "census").mkdir()
    (run_env / "raw" / "README.md").write_text("not an extract\n")
    (run_env / "raw" / ".2025_spring.csv").write_text("a copy in progress under a hidden name\n")
    (run_env / "raw" / stray).parent.mkdir(parents=True, exist_ok=True)
    (run_env / "raw" / stray).write_text("upn\n")
    assert cli.main(["run"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"send-pipeline: SEND_RAW_DIR: {stray} is in no source's folder")
    (run_env / "raw" / stray).unlink()
    with pytest.raises(_Started):  # README.md and hidden files are not extracts
        cli.main(["run"])


@pytest.mark.parametrize(
    "stray",
    ["dfe/ehcp_2025/caseload (1).csv", "dfe/ehcp_2025/Caseload.CSV", "dfe/ehcp_2026/caseload.csv", "dfe/caseload.csv"],
)
def test_run_fails_at_once_naming_a_dfe_file_no_contract_reads(run_env, capsys, stray):
    """DfE's release is read by its published names only: a corrected download, another case, the next release's
    folder or the top of dfe/ would be lost without a word."""
    (run_env / "raw" / "dfe" / "ehcp_2025").mkdir(parents=True)
    (run_env / "raw" / "dfe" / "ehcp_2025" / "caseload.csv").write_text("time_period\n")
    (run_env / "raw" / stray).parent.mkdir(parents=True, exist_ok=True)
    (run_env / "raw" / stray).write_text("time_period\n")
    assert cli.main(["run"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"send-pipeline: SEND_RAW_DIR: {stray}: no file of DfE's EHC plans release ehcp_2025")
    (run_env / "raw" / stray).unlink()
    with pytest.raises(_Started):
        cli.main(["run"])


@pytest.mark.parametrize(
    ("stray", "said"),
    [("ehcna/requests_2023-06-30.csv", "matches no EHCNA module (file names start person_*, request_*"),
     ("ehcna/request_latest.csv", "its name gives no extract date: name the module's files request_<YYYY-MM-DD>"),
     ("ehcna/request_2023-02-30.csv", "its name gives no extract date: name the module's files request_<YYYY-MM-DD>")],
)  # fmt: skip
def test_run_fails_at_once_naming_an_ehcna_file_no_module_reads(run_env, capsys, stray, said):
    """The EHCNA set takes its extract date from each file's name: a misnamed file failed the EHCNA asset only once
    the run had started (Dagster and dbt loaded, the other sources ingested). The run now stops before it starts,
    naming it and the name it must have."""
    (run_env / "raw" / "ehcna").mkdir()
    (run_env / "raw" / "ehcna" / "request_2023-06-30.csv").write_text("request_id\n")
    (run_env / "raw" / stray).write_text("request_id\n")
    assert cli.main(["run"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"send-pipeline: SEND_RAW_DIR: {stray}: {said}")
    (run_env / "raw" / stray).unlink()
    with pytest.raises(_Started):
        cli.main(["run"])


def test_a_second_run_on_the_same_warehouse_stops_at_once_naming_the_first(run_env, capsys):
    """Two `send-pipeline run`s on one warehouse: the second waited on DuckDB's lock, failed after ~30 s and then
    forgot the first run's build record. It now stops before it starts (exit 2), and runs once the first is done."""
    first = cli.hold_run_lock(run_env / "warehouse")
    assert cli.main(["run"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("send-pipeline: SEND_WAREHOUSE_DIR: another send-pipeline run (pid ") and "running" in err
    first.close()
    with pytest.raises(_Started):
        cli.main(["run"])


def test_a_run_stops_at_once_while_a_run_the_daemon_launched_is_in_progress(run_env, monkeypatch, capsys):
    """The run lock covers `send-pipeline run` only: one started while the 02:00 schedule's run was going waited on
    that run's DuckDB lock. It now stops before it starts (exit 2), naming the run, and runs once that run has
    ended."""
    import shutil

    import dagster as dg

    home = run_env / "dagster_home"
    home.mkdir()
    shutil.copy(REPO_ROOT / "dagster_home" / "dagster.yaml", home)
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    monkeypatch.setattr("pipeline.dbt_project.prepare_dbt_project", lambda: None)

    def started(*_args, **_kwargs):
        raise _Started

    monkeypatch.setattr(dg.JobDefinition, "execute_in_process", started)
    with dg.DagsterInstance.get() as instance:
        run = instance.add_run(
            dg.DagsterRun(
                job_name="nightly", status=dg.DagsterRunStatus.STARTED, tags={"dagster/schedule_name": "nightly_at_two"}
            )
        )
        assert cli.main(["run", "--force"]) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"send-pipeline: DAGSTER_HOME: run {run.run_id} (schedule nightly_at_two) is in progress")
        instance.report_run_failed(instance.get_run_by_id(run.run_id), "ended")
    with pytest.raises(_Started):
        cli.main(["run", "--force"])


def test_report_without_a_published_release_says_where_it_looked_and_exits_1(run_env, capsys):
    assert cli.main(["report"]) == 1
    looked = (run_env / "warehouse" / "published").resolve() / "send_reporting.duckdb"
    assert capsys.readouterr().err == f"send-pipeline: no published release at {looked}: run the pipeline first\n"


def test_bench_refusing_a_folder_it_did_not_make_says_why_and_exits_1(run_env, capsys):
    work = run_env / "warehouse" / "bench" / "work-rutland"
    work.mkdir(parents=True)
    (work / "keep.txt").write_text("not the bench's")
    assert cli.main(["bench"]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"send-pipeline bench: {work} exists and is not a bench work folder") and err.count("\n") == 1
    assert (work / "keep.txt").read_text() == "not the bench's"


def test_env_example_documents_every_setting_the_settings_module_reads():
    """.env.example documents the settings: each variable pipeline/settings.py reads (SEND_DUCKDB_PATH is set by it
    for dbt, not by a user), and nothing it does not read; the README's Configuration table names them too."""
    import re

    read = set(re.findall(r'env\.get\("(SEND_\w+)"', (REPO_ROOT / "pipeline" / "settings.py").read_text()))
    example = set(re.findall(r"^#? ?(SEND_\w+)=", (REPO_ROOT / ".env.example").read_text(), re.MULTILINE))
    readme = set(re.findall(r"^\| `(SEND_\w+)` \|", (REPO_ROOT / "README.md").read_text(), re.MULTILINE))
    assert len(read) >= 6
    assert example == read
    assert readme == read


def test_the_demo_generates_into_the_drop_zone_of_env_when_the_key_is_already_set(tmp_path, monkeypatch):
    """`run` reads .env whatever the environment holds; the demo's generate step must read the same folders."""
    drop_zone = tmp_path / "elsewhere"
    (tmp_path / ".env").write_text(f"SEND_RAW_DIR={drop_zone}\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SEND_PSEUDONYM_KEY", "k" * 48)
    monkeypatch.delenv("SEND_RAW_DIR", raising=False)
    generated, ran = [], []
    monkeypatch.setattr(cli, "cmd_generate", lambda args: generated.append(args.out) or 0)
    monkeypatch.setattr(cli, "cmd_run", lambda args: ran.append(str(load_settings().raw_dir)) or 0)
    assert cli.cmd_demo(SimpleNamespace()) == 0
    assert generated == ran == [str(drop_zone)]


def test_the_demo_says_which_dagster_instance_holds_its_run():
    kept = cli.demo_epilogue("/srv/send/dagster_home")
    assert "DAGSTER_HOME=/srv/send/dagster_home .venv/bin/dagster dev -m pipeline.definitions" in kept
    assert "throwaway" not in kept
    throwaway = cli.demo_epilogue(None)
    assert "throwaway Dagster instance" in throwaway and "DAGSTER_HOME=$PWD/dagster_home" in throwaway
