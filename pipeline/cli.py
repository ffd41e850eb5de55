"""`send-pipeline`: generate synthetic extracts, run the nightly pipeline, or both (demo)."""

import argparse
import contextlib
import csv
import gc
import os
import secrets
import sys
import tempfile
import time
from pathlib import Path

from dotenv import load_dotenv

from pipeline.settings import Settings, SettingsError, load_settings, pseudonym_key

SCALES = ("rutland", "county", "national")
LOCAL_ENV_FILE = Path(".env")
NOTHING_CHANGED = "nothing changed since the current release was built (extracts, ingest ledger, code): run skipped"


def ensure_local_key(env_file: Path = LOCAL_ENV_FILE) -> None:
    """For local demos only: put a random SEND_PSEUDONYM_KEY in .env (git-ignored) unless one is set."""
    if os.environ.get("SEND_PSEUDONYM_KEY"):
        return
    load_dotenv(env_file, override=False)
    if os.environ.get("SEND_PSEUDONYM_KEY"):
        return
    key = secrets.token_urlsafe(48)
    with env_file.open("a") as handle:
        handle.write(f"SEND_PSEUDONYM_KEY={key}\n")
    env_file.chmod(0o600)
    os.environ["SEND_PSEUDONYM_KEY"] = key
    print(f"created a local pseudonymisation key in {env_file.resolve()} (git-ignored; keep it secret)")


def cmd_generate(args: argparse.Namespace) -> int:
    from pipeline.generate import generate_all

    started = time.perf_counter()
    paths = generate_all(Path(args.out), scale=args.scale, seed=args.seed, years=args.years)
    for path in paths:
        print(f"wrote {path}")
    print(f"wrote {len(paths)} extract(s) (census at scale {args.scale}) in {time.perf_counter() - started:.1f}s")
    return 0


def materialized(result, key: list[str]) -> bool:
    return any(
        e.event_specific_data.materialization.asset_key.path == key for e in result.get_asset_materialization_events()
    )


def _summarise(result, settings: Settings) -> int:
    ok = result.success
    for event in result.get_asset_materialization_events():
        materialization = event.event_specific_data.materialization
        if materialization.asset_key.path == ["raw", "census_pupils"]:
            meta = {k: v.value for k, v in materialization.metadata.items()}
            print(
                f"census: {meta['files']} file(s), {meta['files_loaded']} loaded, {meta['files_unchanged']} "
                f"unchanged; rows quarantined {meta['rows_quarantined']} (reasons in raw.quarantine; rows "
                "loaded per file in raw.file_ledger)"
            )
        public = materialization.metadata.get("public_figures")
        if materialization.asset_key.path == ["published", "send_reporting"] and public is not None:
            # what the disclosure check took as already public; a figure that differs from ours is left out
            for used in public.value.values():
                differ = used["cells_disagreeing"]
                print(
                    f"public figures: {used['source']}: {used['cells_known']} cell(s) known to the disclosure check"
                    + (f", {differ} differ from this release's count (not the same population: left out)" if differ
                       else "")
                )  # fmt: skip
    from dagster import AssetCheckSeverity

    evaluations = result.get_asset_check_evaluations()
    # A check of severity warn (dbt tests configured `severity: warn`) does not stop publication: a warning.
    warned = [e for e in evaluations if not e.passed and e.severity == AssetCheckSeverity.WARN]
    failed = [e for e in evaluations if not e.passed and e.severity != AssetCheckSeverity.WARN]
    print(f"checks: {len(evaluations) - len(failed) - len(warned)} passed, {len(failed)} failed, {len(warned)} warned")
    for evaluation in warned:
        print(f"  WARNING {evaluation.asset_key.to_user_string()} :: {evaluation.check_name}")
    for evaluation in failed:
        print(f"  FAILED {evaluation.asset_key.to_user_string()} :: {evaluation.check_name}")
    for event in result.all_events:
        if event.is_step_failure:
            error = event.step_failure_data.error
            print(f"  step {event.step_key} failed: {error.message.strip().splitlines()[0] if error else ''}")
    published = materialized(result, ["published", "send_reporting"])
    print(f"internal warehouse: {settings.duckdb_path}")
    if published:
        print(f"published release:  {settings.reporting_path}")
        print(f"EES files, Parquet: {settings.published_dir / 'ees'}, {settings.published_dir / 'parquet'}")
    if materialized(result, ["published", "report"]):
        print(f"report:             {settings.published_dir / 'report' / 'index.html'}")
    if materialized(result, ["docs", "dbt_docs"]):
        print(f"dbt docs:           {settings.warehouse_dir / 'docs' / 'static_index.html'}")
    if not published:
        print(f"NOT published; the previous release (if any) is untouched: {settings.reporting_path}")
    return 0 if ok and not failed and published else 1


def check_run_settings(settings: Settings) -> None:
    """What a run needs before Dagster starts; else a SettingsError naming the variable (one line, exit 2)."""
    if not settings.raw_dir.is_dir():
        raise SettingsError(
            f"SEND_RAW_DIR: no folder {settings.raw_dir} (the drop zone, raw/<source>/...): run from the project "
            "folder or set SEND_RAW_DIR"
        )
    from pipeline.drop_zone import unread_extracts, unread_message

    if unread := unread_extracts(settings.raw_dir):
        raise SettingsError(f"SEND_RAW_DIR: {unread_message(unread)}")
    if not (settings.dbt_project_dir / "dbt_project.yml").is_file():
        raise SettingsError(f"SEND_DBT_PROJECT_DIR: no dbt_project.yml in {settings.dbt_project_dir}")
    seed = settings.seeds_dir / "la_geography.csv"
    if seed.is_file():
        with seed.open(newline="") as handle:
            authorities = {row["old_la_code"]: row for row in csv.DictReader(handle)}
        if settings.la_code not in authorities:
            raise SettingsError(f"SEND_LA_CODE {settings.la_code} is no local authority's old code in {seed}")
        # The seed keeps abolished authorities (their last DfE period is before the release's latest) so that old
        # census home LA codes keep a name; none of them can be the home LA of a needs assessment now.
        home, latest = authorities[settings.la_code], max(int(r["dfe_last_time_period"]) for r in authorities.values())
        if int(home["dfe_last_time_period"]) < latest:
            last = home["dfe_last_time_period"]
            raise SettingsError(
                f"SEND_LA_CODE {settings.la_code} is {home['la_name']}, which no longer exists (DfE's last figures "
                f"for it are for {last[:4]}/{last[4:]}): set the code of the authority that replaced it"
            )
    pseudonym_key()
    try:  # the run writes the warehouse, its state and the release there: a read-only mount fails now, not mid-run
        settings.warehouse_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=settings.warehouse_dir):
            pass
    except OSError as error:
        raise SettingsError(
            f"SEND_WAREHOUSE_DIR: cannot write in {settings.warehouse_dir} ({error.strerror or type(error).__name__})"
        ) from None


RUN_LOCK = Path("state") / "run.lock"  # under the warehouse folder


def hold_run_lock(warehouse_dir: Path):
    """One `send-pipeline run` per warehouse at a time: a second one waited on DuckDB's lock, failed after ~30 s and
    then forgot the first run's build record. Returns the lock file, held until it is closed or the process ends
    (killed too: the kernel releases it); SettingsError naming the holder when another run holds it."""
    import fcntl

    path = warehouse_dir / RUN_LOCK
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = path.open("a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "a process"
        handle.close()
        raise SettingsError(
            f"SEND_WAREHOUSE_DIR: another send-pipeline run ({holder}) is running on {warehouse_dir}: run again "
            "when it has finished"
        ) from None
    handle.seek(0)
    handle.truncate()
    handle.write(f"pid {os.getpid()}")
    handle.flush()
    return handle


def dagster_instance():
    """The Dagster instance of DAGSTER_HOME (the daemon's, in production), else an ephemeral one."""
    import dagster as dg

    return dg.DagsterInstance.get() if os.environ.get("DAGSTER_HOME") else dg.DagsterInstance.ephemeral()


def check_no_run_in_progress(instance, warehouse_dir: Path) -> None:
    """Mark failed the runs of killed `send-pipeline run`s (their DuckDB writer slots freed; every one of
    ``warehouse_dir``, whose run lock this process holds), then SettingsError naming each run of the instance still in
    progress (launched by the daemon: this run would wait on its lock)."""
    from pipeline.abandoned_runs import release_abandoned_runs, runs_in_progress
    from pipeline.drop_zone import first_and_more

    for run_id in release_abandoned_runs(instance, warehouse_dir):
        print(f"run {run_id} had been killed mid-run: marked failed, its DuckDB writer slot freed")
    if busy := runs_in_progress(instance):
        raise SettingsError(
            f"DAGSTER_HOME: run {first_and_more(busy)} is in progress in this Dagster instance: run again when it has "
            "finished, or terminate it in the Dagster UI"
        )


def warehouse_in_use(settings: Settings, holder: str) -> SettingsError:
    """send.duckdb is open in another process (``holder``, DuckDB's words): raises check_no_run_in_progress'
    error naming the runs in progress in the Dagster instance of DAGSTER_HOME if there are any (Dagster is imported
    for that only), else returns the error naming the process."""
    if os.environ.get("DAGSTER_HOME"):  # an ephemeral instance has no run but this one's
        check_no_run_in_progress(dagster_instance(), settings.warehouse_dir)
    return SettingsError(
        f"SEND_WAREHOUSE_DIR: {settings.duckdb_path} is open in another process ({holder}; a run of the Dagster daemon "
        "is named when DAGSTER_HOME is the daemon's; BI tools read the published release, not this file): run again "
        "when it has finished with it"
    )


def cmd_run(args: argparse.Namespace) -> int:
    load_dotenv(LOCAL_ENV_FILE, override=False)
    settings = load_settings()
    check_run_settings(settings)
    lock = hold_run_lock(settings.warehouse_dir)  # noqa: F841 - held for the whole run
    settings.export_for_dbt()
    print(f"raw extracts: {settings.raw_dir}")
    # Before Dagster and dbt are imported (seconds): a night with nothing new costs a hash check.
    from pipeline.nightly_state import LedgerLocked, describe, forget_build, nightly_reasons, raise_if_locked

    try:
        reasons = ["--force"] if args.force else nightly_reasons(settings, stop_when_locked=True)
        if reasons:  # a run writes send.duckdb: a process reading it (not only one writing it) stops it
            raise_if_locked(settings.duckdb_path, to_write=True)
    except LedgerLocked as locked:  # another process has send.duckdb open: name it, not DuckDB's lock
        raise warehouse_in_use(settings, locked.holder) from None
    if not reasons:
        print(NOTHING_CHANGED)
        print(f"published release:  {settings.reporting_path}")
        if (settings.published_dir / "report" / "index.html").exists():
            print(f"report:             {settings.published_dir / 'report' / 'index.html'}")
        return 0
    print(f"running because: {describe(reasons)}")
    from pipeline.warm_imports import collector_paused

    # Dagster, dbt and the definitions: ~500 k long-lived objects, eight full collections (1.2 s) of a demo run
    # walked them again before they were frozen.
    with collector_paused():
        from pipeline.dbt_project import prepare_dbt_project

        prepare_dbt_project()
        from pipeline.definitions import defs

    from pipeline.abandoned_runs import run_tags

    instance = dagster_instance()
    check_no_run_in_progress(instance, settings.warehouse_dir)
    job = defs.resolve_job_def("nightly")
    started = time.perf_counter()
    # dbt's own log lines go to a file (Dagster re-emits them on stdout); progress goes to stderr.
    log_path = settings.warehouse_dir / "logs" / "last_run_dbt.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    print(f"running the nightly job (dbt log: {log_path}) ...", flush=True)
    with log_path.open("w") as dbt_log, contextlib.redirect_stdout(dbt_log):
        result = job.execute_in_process(
            instance=instance,
            raise_on_error=False,
            tags=run_tags(settings.warehouse_dir),
            run_config={"loggers": {"console": {"config": {"log_level": args.log_level}}}},
        )
    code = _summarise(result, settings)
    if code != 0:
        forget_build(settings.warehouse_dir)  # e.g. published but a later step failed: tomorrow runs again
    print(f"run {'succeeded' if code == 0 else 'FAILED'} in {time.perf_counter() - started:.1f}s")
    return code


def cmd_report(args: argparse.Namespace) -> int:
    load_dotenv(LOCAL_ENV_FILE, override=False)
    settings = load_settings()
    from pipeline.report import ReportDataError, ReportError, build_report

    try:
        path = build_report(settings.published_dir)
    except (ReportError, ReportDataError) as error:
        print(f"send-pipeline: {error}", file=sys.stderr)
        return 1
    print(f"report: {settings.published_dir / 'report' / 'index.html'} (release folder {path.parent.parent.name})")
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from pipeline.bench import BenchError, run_bench

    settings = load_settings()
    try:
        result = run_bench(
            args.scale, settings.warehouse_dir / "bench", seed=args.seed, rss_limit_gib=args.rss_limit_gib
        )
    except BenchError as error:
        print(f"send-pipeline bench: {error}", file=sys.stderr)
        return 1
    return 0 if result else 1  # run_bench prints its own report


def cmd_demo(args: argparse.Namespace) -> int:
    load_dotenv(LOCAL_ENV_FILE, override=False)  # as `run` does, so the extracts go where the run reads them
    ensure_local_key()
    settings = load_settings()
    args.out = str(settings.raw_dir)
    cmd_generate(args)
    code = cmd_run(args)
    print(demo_epilogue(os.environ.get("DAGSTER_HOME")))
    return code


def demo_epilogue(dagster_home: str | None) -> str:
    """How to open the Dagster UI on the demo: on the instance that holds its run (make demo's dagster_home/), or
    on dagster_home/ (one DuckDB writer, one run at a time: without it the UI's runs have no limits) when the run
    was in a throwaway instance."""
    if dagster_home:
        return (
            f"\nDemo finished. Its run, materializations and checks are in the Dagster instance {dagster_home}: open "
            f"them and the lineage with: DAGSTER_HOME={dagster_home} .venv/bin/dagster dev -m pipeline.definitions"
        )
    return (
        "\nDemo finished (its run was in a throwaway Dagster instance: DAGSTER_HOME was not set). Open the lineage "
        "with: DAGSTER_HOME=$PWD/dagster_home .venv/bin/dagster dev -m pipeline.definitions"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="send-pipeline", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    def add_generate_args(p: argparse.ArgumentParser) -> None:
        p.add_argument("--scale", choices=SCALES, default="rutland")
        p.add_argument("--seed", type=int, default=2023)
        p.add_argument("--years", type=int, nargs="*", default=None, help="census years (default: all for the scale)")

    generate = sub.add_parser("generate", help="write synthetic raw extracts")
    add_generate_args(generate)
    generate.add_argument("--out", default="raw", help="drop zone to write into (default raw/)")
    generate.set_defaults(func=cmd_generate)

    run = sub.add_parser("run", help="run the nightly pipeline once (SEND_RAW_DIR -> SEND_WAREHOUSE_DIR)")
    run.add_argument("--log-level", default="INFO", choices=("DEBUG", "INFO", "WARNING", "ERROR"))
    run.add_argument("--force", action="store_true", help="run even when nothing changed since the last release")
    run.set_defaults(func=cmd_run)

    report = sub.add_parser("report", help="rebuild the needs-assessment report from the current published release")
    report.set_defaults(func=cmd_report)

    bench = sub.add_parser("bench", help="time the pipeline against bare DuckDB and pandas (JSON in warehouse/bench/)")
    bench.add_argument("--scale", choices=SCALES, default="rutland")
    bench.add_argument("--seed", type=int, default=2023)
    bench.add_argument("--rss-limit-gib", type=float, default=None, help="stop a measured step above this memory")
    bench.set_defaults(func=cmd_bench)

    demo = sub.add_parser("demo", help="generate extracts into SEND_RAW_DIR (Rutland-like unless --scale), then run")
    add_generate_args(demo)
    demo.add_argument("--log-level", default="INFO", choices=("DEBUG", "INFO", "WARNING", "ERROR"))
    demo.add_argument("--force", action="store_true", help="run even when nothing changed since the last release")
    demo.set_defaults(func=cmd_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except SettingsError as error:
        print(f"send-pipeline: {error}", file=sys.stderr)
        return 2


def run() -> None:
    """The `send-pipeline` command: main(), then exit with its code."""
    code = main()
    # The command is done: its files and connections are closed (context managers). Without this, the interpreter's
    # final garbage collection walks every object Dagster, dbt and GX left behind: ~1.5 s after a nightly run.
    # Frozen objects are left to the process exit instead.
    gc.freeze()
    sys.exit(code)


if __name__ == "__main__":
    run()
