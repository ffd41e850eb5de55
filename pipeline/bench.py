"""`send-pipeline bench`: the nightly pipeline against bare DuckDB and pandas on the same synthetic extracts.

``run_bench(scale, out_dir)`` generates the extracts at a scale (timed on its own), then measures, each as a fresh
process with its wall time, CPU time and peak memory:

(a) ``send-pipeline run`` on a new warehouse (ingest + dbt build + checks + suppression + publication), cold,
    after the deploy step ``python -m pipeline.dbt_project`` (``dbt parse`` when the project changed; timed apart);
(b) ``python -m pipeline.bench_baselines.duckdb_census_marts``: the census marts with bare DuckDB;
(c) ``python -m pipeline.bench_baselines.pandas_census_marts``: the same with pandas;
(d) ``send-pipeline run`` again with no new files;
(e) ``python -m pipeline.bench_baselines.duckdb_required_census_marts``: bare DuckDB doing only the row work the
    project's rules require (HMAC pseudonyms, the registrations and the per-pupil rows written to disk), not a
    target of the issue: a/e is what the pipeline's checks, dbt, publication and orchestration cost at a scale.

It checks that (a), (d), (b), (c) and (e) computed the same marts.fct_send_primary_need and marts.fct_send_provision
(every row, every column), prints a table with the ratios a/b, a/c, d/a and a/e, where the pipeline's time went
(Dagster steps from the run's event log, dbt nodes from its log) and the issue's targets, and writes everything as
JSON to ``out_dir/<scale>-<UTC timestamp>.json`` with the machine it ran on.

Memory is measured two ways, both from the standard library: ``peak_rss_bytes`` is the highest sum of resident
memory over the process and all its descendants (dbt runs as a child of the Dagster run), sampled from /proc every
``POLL_SECONDS``; ``max_rss_bytes`` is the kernel's exact high-water mark of the largest single process of the
tree (``ru_maxrss`` from ``os.wait4``). The targets use the first: it is what the machine has to hold.

The raw extracts, warehouse and Dagster instance of a bench live in a work folder (default
``out_dir/work-<scale>``, removed afterwards unless ``keep_work``). The pipeline runs use the dbt project of
``SEND_DBT_PROJECT_DIR`` (default: the repository's), a fresh ``DAGSTER_HOME`` with the repository's instance
settings, ``SEND_PSEUDONYM_KEY`` from the environment or a random one for the bench, and ``SEND_LA_CODE`` from the
environment (default 857: at every scale the generator writes Rutland's extracts for the sources other than the
census and the LD health checks, so the home LA stays Rutland). A bench interrupted (Ctrl-C, SIGTERM) kills the
process it is measuring.

This module imports only the standard library at the top, so the baselines can use its helpers without loading
anything they would then be charged for.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import re
import secrets
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from pipeline.settings import REPO_ROOT, dbt_project_dir, seeds_dir

SCALES = ("rutland", "county", "national")
POLL_SECONDS = 0.05
WORK_MARKER = ".send-bench-work"  # a work folder is only ever deleted when it carries this marker
GIB = 1024**3
MIB = 1024**2

# The census marts as dbt builds them (dbt_project/models/marts/census): the columns computed from the census files,
# in order, the first three the key. The marts also carry the home LA's geography (int_home_la_geography) and
# shares and England figures derived from these counts or seeds; those are not compared.
MART_COLUMNS: dict[str, tuple[str, ...]] = {
    "fct_send_primary_need": (
        "time_period", "census_term", "primary_need", "primary_need_label", "display_order", "pupils",
    ),
    "fct_send_provision": (
        "time_period", "census_term", "sen_provision", "sen_provision_label", "pupils", "pupils_pupil_premium",
        "pupils_fsm",
    ),
}  # fmt: skip
MART_KEY_COLUMNS = 3

# Issue 8's targets (2 cores, 24 GiB). Each: (name, what, measured value key, comparison, limit).
TARGETS: dict[str, tuple[tuple[str, str, str, str, float], ...]] = {
    "national": (
        ("pipeline_vs_duckdb", "full pipeline wall time / bare DuckDB", "ratio_a_b", "<=", 1.5),
        ("pipeline_vs_pandas", "full pipeline wall time / pandas (faster than pandas)", "ratio_a_c", "<", 1.0),
        ("pipeline_peak_rss_gib", "full pipeline peak RSS, GiB", "pipeline_peak_rss_gib", "<=", 3.0),
    ),
    "rutland": (
        ("pipeline_cold_seconds", "full pipeline cold, wall seconds", "pipeline_cold_seconds", "<=", 20.0),
        ("no_change_vs_full", "no-change run / full run, wall time", "ratio_d_a", "<=", 0.25),
    ),
}


# (measurement label, baseline name): python -m pipeline.bench_baselines.<name>_census_marts, in the order they run
BASELINES = (("b_duckdb", "duckdb"), ("c_pandas", "pandas"), ("e_duckdb_required", "duckdb_required"))


class BenchError(RuntimeError):
    """The bench could not measure something (a step failed) or the implementations disagree."""


# ---------------------------------------------------------------------------------------------------------------
# Shared with the baselines: where the census files and code lists are, and the marts document they all write.


def census_csv_files(raw_dir: Path) -> list[Path]:
    """The census CSVs of a drop zone, in the order the ingest reads them (pipeline.ingest.source_files: by name
    without extension, then extension; hidden files skipped). Not imported from there: the baselines import this
    module, and pipeline.ingest would bring pandas into the bare DuckDB baseline's time."""
    folder = Path(raw_dir) / "census"
    files = (
        p for p in folder.glob("*") if p.is_file() and p.suffix.lower() == ".csv" and not p.name.startswith((".", "~$"))
    )
    return sorted(files, key=lambda p: (p.stem, p.suffix))


def _plain(value: object) -> object:
    """A JSON-ready scalar: numpy/pandas scalars to Python, missing values to None."""
    if value is None:
        return None
    if hasattr(value, "item") and not isinstance(value, str | bytes):
        value = value.item()
    if isinstance(value, float):
        if value != value:  # NaN
            return None
        if value.is_integer():
            return int(value)
    return value


def _sort_key(row: Sequence[object]) -> tuple:
    return tuple((v is None, str(type(v).__name__), v if v is not None else 0) for v in row)


def marts_document(implementation: str, primary_need_rows: Sequence, provision_rows: Sequence) -> dict:
    """Both census marts as ``{"implementation", "marts": {mart: {"columns", "rows"}}}``, rows sorted."""
    marts = {}
    for mart, rows in (("fct_send_primary_need", primary_need_rows), ("fct_send_provision", provision_rows)):
        columns = MART_COLUMNS[mart]
        plain = [[_plain(v) for v in row] for row in rows]
        for row in plain:
            if len(row) != len(columns):
                raise ValueError(f"{implementation}: {mart} row has {len(row)} values, expected {len(columns)}")
        marts[mart] = {"columns": list(columns), "rows": sorted(plain, key=_sort_key)}
    return {"implementation": implementation, "marts": marts}


def write_marts_document(document: Mapping, path: Path) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(document, indent=1))
    os.replace(tmp, path)


def read_marts_document(path: Path) -> dict:
    return json.loads(Path(path).read_text())


def baseline_main(
    implementation: str,
    module: str,
    description: str | None,
    census_marts: Callable[[Path, Path], tuple[dict, int]],
    argv: list[str] | None = None,
) -> int:
    """The command line of a baseline (``python -m <module> --raw-dir RAW --out result.json``): compute both marts
    with ``census_marts(raw_dir, seeds_dir)`` -> (marts document, pupil rows), time it and write the document."""
    import argparse

    parser = argparse.ArgumentParser(prog=f"python -m {module}", description=description)
    parser.add_argument("--raw-dir", required=True, type=Path, help="drop zone holding census/*.csv")
    parser.add_argument("--out", required=True, type=Path, help="JSON file to write the marts to")
    parser.add_argument("--seeds-dir", type=Path, default=None, help="dbt seeds folder with the code lists")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    document, pupils = census_marts(args.raw_dir, args.seeds_dir or seeds_dir())
    document["pupil_rows"] = pupils
    document["seconds"] = round(time.perf_counter() - started, 3)
    write_marts_document(document, args.out)
    print(
        f"{implementation} baseline: {pupils} pupil rows, marts in {document['seconds']}s -> {args.out}",
        file=sys.stderr,
    )
    return 0


def pipeline_marts(duckdb_path: Path, implementation: str = "pipeline") -> dict:
    """The pipeline's internal marts (exact counts) from send.duckdb, opened read-only."""
    import duckdb

    con = duckdb.connect(str(duckdb_path), read_only=True)
    try:
        rows = {
            mart: con.execute(f"SELECT {', '.join(columns)} FROM marts.{mart}").fetchall()
            for mart, columns in MART_COLUMNS.items()
        }
    finally:
        con.close()
    return marts_document(implementation, rows["fct_send_primary_need"], rows["fct_send_provision"])


def compare_marts(documents: Sequence[Mapping]) -> list[str]:
    """Every difference between the marts documents, each against the first; empty when all agree.

    A difference names the mart, the implementations, and the key (census and code) and column where they
    differ: aggregate counts only, never a pupil-level value.
    """
    if len(documents) < 2:
        raise ValueError("need at least two implementations to compare")
    reference = documents[0]
    ref_name = reference["implementation"]
    differences = []
    for other in documents[1:]:
        name = other["implementation"]
        for mart, columns in MART_COLUMNS.items():
            mine, theirs = reference["marts"].get(mart), other["marts"].get(mart)
            if mine is None or theirs is None:
                missing = ref_name if mine is None else name
                differences.append(f"{mart}: {missing} has no result")
                continue
            if list(mine["columns"]) != list(columns) or list(theirs["columns"]) != list(columns):
                differences.append(f"{mart}: columns differ ({ref_name} {mine['columns']}, {name} {theirs['columns']})")
                continue
            by_key_ref = _rows_by_key(mine["rows"])
            by_key_other = _rows_by_key(theirs["rows"])
            for rows, by_key, who in ((mine["rows"], by_key_ref, ref_name), (theirs["rows"], by_key_other, name)):
                if len(rows) != len(by_key):
                    differences.append(f"{mart}: {who} has {len(rows) - len(by_key)} duplicate key row(s)")
            for key in sorted(by_key_ref.keys() | by_key_other.keys(), key=_sort_key):
                a, b = by_key_ref.get(key), by_key_other.get(key)
                if a is None or b is None:
                    differences.append(f"{mart} {key}: row only in {ref_name if b is None else name}")
                    continue
                for column, va, vb in zip(columns[MART_KEY_COLUMNS:], a, b, strict=True):
                    if va != vb:
                        differences.append(f"{mart} {key} {column}: {ref_name}={va!r} {name}={vb!r}")
    return differences


def _rows_by_key(rows: Sequence[Sequence]) -> dict[tuple, tuple]:
    return {tuple(row[:MART_KEY_COLUMNS]): tuple(row[MART_KEY_COLUMNS:]) for row in rows}


# ---------------------------------------------------------------------------------------------------------------
# Measuring a fresh process


@dataclass
class Measurement:
    name: str
    command: list[str]
    returncode: int
    wall_seconds: float
    user_seconds: float | None  # None when the process was killed before it could report
    system_seconds: float | None
    peak_rss_bytes: int  # highest sampled sum over the process tree
    max_rss_bytes: int | None  # kernel high-water mark of the largest single process (ru_maxrss)
    samples: int
    load_average_before: float
    load_average_after: float
    started_at: float  # time.time() just before the process started
    ended_at: float
    stdout_path: str
    stderr_path: str
    rss_limit_exceeded: bool = False

    def summary(self) -> dict:
        data = asdict(self)
        data["peak_rss_mib"] = round(self.peak_rss_bytes / MIB, 1)
        data["max_rss_mib"] = None if self.max_rss_bytes is None else round(self.max_rss_bytes / MIB, 1)
        return data


_PAGE_SIZE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def _children(pid: int) -> list[int]:
    """Direct children of a process, from /proc/<pid>/task/<tid>/children (empty when it has gone)."""
    found: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return found
    for tid in tasks:
        try:
            with open(f"/proc/{pid}/task/{tid}/children") as handle:
                found.extend(int(c) for c in handle.read().split())
        except OSError:
            continue
    return found


def _rss_bytes(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/statm") as handle:
            return int(handle.read().split()[1]) * _PAGE_SIZE
    except (OSError, IndexError, ValueError):
        return 0


def process_tree_rss(root: int) -> int:
    """Resident memory of a process and all its descendants, in bytes (0 when /proc is not available)."""
    total, stack, seen = 0, [root], set()
    while stack:
        pid = stack.pop()
        if pid in seen:
            continue
        seen.add(pid)
        total += _rss_bytes(pid)
        stack.extend(_children(pid))
    return total


def _kill_tree(root: int) -> None:
    """SIGKILL a process and its descendants."""
    pids, stack = [], [root]
    while stack:
        pid = stack.pop()
        pids.append(pid)
        stack.extend(_children(pid))
    for pid in reversed(pids):
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)


# The measured command runs under this small launcher (a fresh Python of a few MiB), which reports the command's own
# resource usage from getrusage(RUSAGE_CHILDREN). Measured from the bench process instead, ru_maxrss would start at
# the bench's own size: a forked child's high-water mark includes the parent memory it was copied from.
_LAUNCHER = """
import json, resource, subprocess, sys, time
started = time.perf_counter()
code = subprocess.call(sys.argv[2:])
wall = time.perf_counter() - started
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
with open(sys.argv[1], "w") as handle:
    json.dump({"returncode": code, "wall": wall, "maxrss_kb": usage.ru_maxrss, "user": usage.ru_utime,
               "system": usage.ru_stime}, handle)
sys.exit(code if code >= 0 else 128 - code)
"""


@contextlib.contextmanager
def _terminate_as_interrupt():
    """While measuring, SIGTERM raises KeyboardInterrupt, so the measured process tree is killed too."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(_signum, _frame):
        raise KeyboardInterrupt("SIGTERM")

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def measure(
    name: str,
    command: Sequence[str],
    *,
    env: Mapping[str, str],
    cwd: Path,
    log_dir: Path,
    rss_limit_bytes: int | None = None,
) -> Measurement:
    """Run ``command`` as a fresh process; its output goes to ``log_dir/<name>.out|.err``.

    Wall time, CPU time and ``max_rss_bytes`` are those of the command and the descendants it waited for (from
    the launcher); ``peak_rss_bytes`` is the highest sampled sum over the command's process tree (the launcher
    excluded). With ``rss_limit_bytes``, the tree is killed as soon as its resident memory exceeds the limit (a
    national run must not take a shared machine down); the measurement then has ``rss_limit_exceeded`` set.
    """
    log_dir.mkdir(parents=True, exist_ok=True)
    out_path, err_path = log_dir / f"{name}.out", log_dir / f"{name}.err"
    usage_path = log_dir / f"{name}.usage.json"
    usage_path.unlink(missing_ok=True)
    load_before = os.getloadavg()[0]
    launched = [sys.executable, "-c", _LAUNCHER, str(usage_path), *(str(c) for c in command)]
    with out_path.open("wb") as out, err_path.open("wb") as err, _terminate_as_interrupt():
        started_at = time.time()
        started = time.perf_counter()
        process = subprocess.Popen(launched, env=dict(env), cwd=cwd, stdout=out, stderr=err)
        peak, samples, exceeded = 0, 0, False
        try:
            while True:
                pid, status, _usage = os.wait4(process.pid, os.WNOHANG)
                if pid:
                    break
                peak = max(peak, process_tree_rss(process.pid) - _rss_bytes(process.pid))
                samples += 1
                if rss_limit_bytes and peak > rss_limit_bytes and not exceeded:
                    exceeded = True
                    _kill_tree(process.pid)
                time.sleep(POLL_SECONDS)
        except BaseException:  # interrupted (Ctrl-C, SIGTERM): the measured processes must not outlive the bench
            _kill_tree(process.pid)
            process.wait()
            raise
        wall = time.perf_counter() - started
        ended_at = time.time()
    process.returncode = os.waitstatus_to_exitcode(status)
    try:
        usage = json.loads(usage_path.read_text())
    except (OSError, ValueError):  # killed before the launcher could report: what the bench saw
        usage = {"returncode": process.returncode, "wall": wall, "maxrss_kb": None, "user": None, "system": None}
    max_rss = None if usage["maxrss_kb"] is None else int(usage["maxrss_kb"]) * 1024  # kilobytes on Linux
    return Measurement(
        name=name,
        command=[str(c) for c in command],
        returncode=int(usage["returncode"]),
        wall_seconds=round(usage["wall"], 3),
        user_seconds=None if usage["user"] is None else round(usage["user"], 3),
        system_seconds=None if usage["system"] is None else round(usage["system"], 3),
        peak_rss_bytes=max(peak, max_rss or 0),
        max_rss_bytes=max_rss,
        samples=samples,
        load_average_before=round(load_before, 2),
        load_average_after=round(os.getloadavg()[0], 2),
        started_at=started_at,
        ended_at=ended_at,
        stdout_path=str(out_path),
        stderr_path=str(err_path),
        rss_limit_exceeded=exceeded,
    )


def _tail(path: str, lines: int = 25) -> str:
    try:
        return "\n".join(Path(path).read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def _require_success(measurement: Measurement) -> None:
    if measurement.rss_limit_exceeded:
        raise BenchError(
            f"{measurement.name} was stopped: its processes held more than the memory limit "
            f"(peak {measurement.peak_rss_bytes / GIB:.1f} GiB after {measurement.wall_seconds:.0f}s)"
        )
    if measurement.returncode != 0:
        raise BenchError(
            f"{measurement.name} exited with {measurement.returncode}; last lines of its output:\n"
            f"{_tail(measurement.stdout_path)}\n{_tail(measurement.stderr_path)}"
        )


# ---------------------------------------------------------------------------------------------------------------
# The machine


def machine_info() -> dict:
    import duckdb

    info = {
        "cores": os.cpu_count(),
        "cores_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "ram_bytes": None,
        "ram_gib": None,
        "cpu_model": None,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "duckdb": duckdb.__version__,
    }
    try:
        meminfo = Path("/proc/meminfo").read_text()
        kb = int(re.search(r"^MemTotal:\s+(\d+) kB", meminfo, re.M).group(1))
        info["ram_bytes"] = kb * 1024
        info["ram_gib"] = round(kb * 1024 / GIB, 1)
    except (OSError, AttributeError):
        pass
    try:
        model = re.search(r"^model name\s*:\s*(.+)$", Path("/proc/cpuinfo").read_text(), re.M)
        info["cpu_model"] = model.group(1).strip() if model else None
    except OSError:
        pass
    for package in ("pandas", "numpy", "dagster", "dbt-core", "dbt-duckdb"):
        try:
            from importlib.metadata import version

            info[package] = version(package)
        except Exception:  # noqa: BLE001 - a missing package is reported as None
            info[package] = None
    return info


def code_version() -> dict:
    """The code measured: its folder and, when it is a git checkout, the commit and whether files were changed."""
    info: dict = {"dir": str(REPO_ROOT), "git_commit": None, "git_changed_files": None}
    try:
        commit = subprocess.run(["git", "-C", str(REPO_ROOT), "rev-parse", "HEAD"], capture_output=True, text=True)
        if commit.returncode == 0:
            info["git_commit"] = commit.stdout.strip()
            status = subprocess.run(
                ["git", "-C", str(REPO_ROOT), "status", "--porcelain", "--untracked-files=no"],
                capture_output=True,
                text=True,
            )
            info["git_changed_files"] = len(status.stdout.splitlines()) if status.returncode == 0 else None
    except OSError:
        pass
    return info


# ---------------------------------------------------------------------------------------------------------------
# Where the pipeline's time went


def step_stage(step_key: str, checks_only: bool = False) -> str:
    """ingest | dbt | docs | checks | publish for a step of the nightly job: by the step's name, and checks for a step
    that evaluated asset checks and materialized nothing (``checks_only``). Not by "check" in the name: the ingest of
    the LD health checks source is raw__ld_health_checks."""
    if "docs" in step_key:
        return "docs"
    if "dbt" in step_key:
        return "dbt"
    if checks_only:
        return "checks"
    if step_key.startswith("publish"):  # publish_release: the release and its report
        return "publish"
    return "ingest"


def dagster_run_timings(dagster_home: Path) -> dict:
    """Step timings of the newest run in a Dagster instance, from its event log."""
    import dagster as dg

    # the instance's event log storage finds its files under $DAGSTER_HOME (pipeline/event_log_storage.py)
    previous = os.environ.get("DAGSTER_HOME")
    os.environ["DAGSTER_HOME"] = str(dagster_home)
    try:
        with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
            records = instance.get_run_records(limit=1)
            if not records:
                return {}
            run = records[0].dagster_run
            entries = instance.all_logs(run.run_id)
    finally:
        if previous is None:
            os.environ.pop("DAGSTER_HOME")
        else:
            os.environ["DAGSTER_HOME"] = previous
    started: dict[str, float] = {}
    steps: dict[str, float] = {}
    finished: set[str] = set()
    run_start = run_end = None
    checks = 0
    evaluating: set[str] = set()  # steps that evaluated an asset check
    materializing: set[str] = set()  # steps that materialized an asset
    for entry in entries:
        event = entry.dagster_event
        if event is None:
            continue
        kind = event.event_type_value
        if kind == "PIPELINE_START" or kind == "RUN_START":
            run_start = entry.timestamp
        elif kind in ("PIPELINE_SUCCESS", "PIPELINE_FAILURE", "RUN_SUCCESS", "RUN_FAILURE"):
            run_end = entry.timestamp
        elif kind == "STEP_START":
            started[entry.step_key] = entry.timestamp
        elif kind in ("STEP_SUCCESS", "STEP_FAILURE") and entry.step_key in started:
            steps[entry.step_key] = round(entry.timestamp - started[entry.step_key], 3)
            finished.add(entry.step_key)
        elif kind == "ASSET_CHECK_EVALUATION":
            checks += 1
            evaluating.add(entry.step_key)
        elif kind == "ASSET_MATERIALIZATION":
            materializing.add(entry.step_key)
    check_steps = sorted(evaluating - materializing)
    stages: dict[str, float] = {}
    for key, seconds in steps.items():
        stage = step_stage(key, key in check_steps)
        stages[stage] = round(stages.get(stage, 0.0) + seconds, 3)
    return {
        "run_id": run.run_id,
        "status": run.status.value,
        "run_start": run_start,
        "run_end": run_end,
        "job_seconds": round(run_end - run_start, 3) if run_start and run_end else None,
        "steps": dict(sorted(steps.items(), key=lambda kv: -kv[1])),
        "stages": stages,
        "unfinished_steps": {k: t for k, t in started.items() if k not in finished},  # step -> start timestamp
        "asset_check_evaluations": checks,
        "check_steps": check_steps,  # steps that only evaluated asset checks (the checks stage)
    }


_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_DBT_NODE = re.compile(r"^\s*\d+ of \d+ (OK|PASS|WARN|FAIL|ERROR|SKIP)\b(.*?)[\s.]*\[[^\]]*?\bin ([\d.]+)s\]\s*$")


def dbt_node_timings(log_path: Path, top: int = 8) -> dict:
    """Per-node times from a dbt log (the `N of M OK created ... [OK in 1.23s]` lines): totals by kind, slowest."""
    try:
        text = _ANSI.sub("", Path(log_path).read_text(errors="replace"))
    except OSError:
        return {}
    nodes = []
    for line in text.splitlines():
        match = _DBT_NODE.match(line)
        if not match:
            continue
        status, description, seconds = match.group(1), match.group(2).strip(), float(match.group(3))
        if "seed file" in description:
            kind = "seed"
        elif " model " in f" {description} ":
            kind = "model"
        else:
            kind = "test"
        nodes.append({"node": description.split()[-1] if description else "?", "kind": kind, "status": status,
                      "seconds": seconds})  # fmt: skip
    by_kind: dict[str, dict] = {}
    for node in nodes:
        slot = by_kind.setdefault(node["kind"], {"count": 0, "seconds": 0.0})
        slot["count"] += 1
        slot["seconds"] = round(slot["seconds"] + node["seconds"], 3)
    finished = re.search(r"Finished running .*? in .*?\(([\d.]+)s\)", text)
    started = re.findall(r"^\s*(\d+) of \d+ START (.*?)[\s.]*\[RUN\]\s*$", text, re.M)
    running = started[-1][1].split()[-1] if started and len(nodes) < int(started[-1][0]) else None
    return {
        "nodes": len(nodes),
        "node_seconds": round(sum(n["seconds"] for n in nodes), 3),
        "dbt_reported_seconds": float(finished.group(1)) if finished else None,
        "by_kind": by_kind,
        "slowest": sorted(nodes, key=lambda n: -n["seconds"])[:top],
        "running_when_log_ended": None if finished else running,
    }


RUN_SKIPPED = "run skipped"  # what `send-pipeline run` prints when nothing changed (pipeline.cli.NOTHING_CHANGED)


def run_was_skipped(measurement: Measurement) -> bool:
    """The run found nothing changed since the current release was built and stopped before Dagster started."""
    try:
        return measurement.returncode == 0 and RUN_SKIPPED in Path(measurement.stdout_path).read_text(errors="replace")
    except OSError:
        return False


def pipeline_breakdown(measurement: Measurement, dagster_home: Path, dbt_log: Path) -> dict:
    """Process start-up (imports, definitions, run planning) / Dagster steps / shutdown, and dbt's nodes."""
    try:
        run = dagster_run_timings(dagster_home)
    except Exception as error:  # noqa: BLE001 - timings are diagnostics; the bench itself must not fail on them
        run = {"error": f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"}
    breakdown = {"dagster": run, "dbt": dbt_node_timings(dbt_log)}
    if run.get("unfinished_steps"):  # still running when the process ended (failed or stopped)
        run["unfinished_steps"] = {k: round(measurement.ended_at - t, 3) for k, t in run["unfinished_steps"].items()}
        for key, seconds in run["unfinished_steps"].items():
            stage = step_stage(key, key in run["check_steps"])
            run["stages"][stage] = round(run["stages"].get(stage, 0.0) + seconds, 3)
    if run.get("run_start") and not run.get("run_end"):
        breakdown["startup_seconds"] = round(run["run_start"] - measurement.started_at, 3)
    if run.get("run_start") and run.get("run_end"):
        breakdown["startup_seconds"] = round(run["run_start"] - measurement.started_at, 3)
        breakdown["job_seconds"] = run["job_seconds"]
        breakdown["shutdown_seconds"] = round(measurement.ended_at - run["run_end"], 3)
    return breakdown


# ---------------------------------------------------------------------------------------------------------------
# The bench


def _prepare_work_dir(work_dir: Path) -> None:
    if work_dir.exists():
        if not (work_dir / WORK_MARKER).exists():
            raise BenchError(f"{work_dir} exists and is not a bench work folder (no {WORK_MARKER}); not touching it")
        shutil.rmtree(work_dir)
    work_dir.mkdir(parents=True)
    (work_dir / WORK_MARKER).write_text("created by send-pipeline bench; deleted by the next bench\n")


def bench_environment(work_dir: Path, key: str | None = None) -> dict[str, str]:
    """os.environ for the measured processes, pointed at the work folder's raw/, warehouse/ and Dagster home."""
    dagster_home = work_dir / "dagster_home"
    dagster_home.mkdir(parents=True, exist_ok=True)
    instance_settings = REPO_ROOT / "dagster_home" / "dagster.yaml"
    if instance_settings.exists():
        shutil.copy(instance_settings, dagster_home / "dagster.yaml")
    env = {k: v for k, v in os.environ.items() if k not in ("SEND_DUCKDB_PATH", "DAGSTER_HOME")}
    env.update(
        SEND_RAW_DIR=str(work_dir / "raw"),
        SEND_WAREHOUSE_DIR=str(work_dir / "warehouse"),
        SEND_PSEUDONYM_KEY=key or os.environ.get("SEND_PSEUDONYM_KEY") or secrets.token_urlsafe(48),
        DAGSTER_HOME=str(dagster_home),
    )
    env.setdefault("DAGSTER_DISABLE_TELEMETRY", "1")
    env.setdefault("GX_ANALYTICS_ENABLED", "false")
    return env


def _ratio(a: float, b: float) -> float | None:
    return round(a / b, 3) if b else None


def evaluate_targets(scale: str, values: Mapping[str, float | None]) -> list[dict]:
    results = []
    for name, what, key, op, limit in TARGETS.get(scale, ()):
        value = values.get(key)
        met = None if value is None else (value <= limit if op == "<=" else value < limit)
        results.append({"target": name, "what": what, "value": value, "op": op, "limit": limit, "met": met})
    return results


def run_bench(
    scale: str,
    out_dir: Path,
    *,
    seed: int = 2023,
    years: list[int] | None = None,
    work_dir: Path | None = None,
    keep_work: bool = False,
    key: str | None = None,
    rss_limit_gib: float | None = None,
    log: Callable[[str], None] | None = print,
) -> dict:
    """Generate at ``scale``, measure (a) pipeline cold, (b) bare DuckDB, (c) pandas, (d) pipeline no-change and
    (e) DuckDB doing the required row work.

    Returns the result (also written to ``out_dir/<scale>-<timestamp>.json``, path in ``result["json_path"]``).
    A step that fails (or is stopped at ``rss_limit_gib``) is recorded with what it did until then, the other
    steps still run ((d) only after a successful (a)), and BenchError is raised once the JSON is written; so is
    BenchError when the implementations' marts differ. A failed generation raises at once.
    """
    if scale not in SCALES:
        raise ValueError(f"unknown scale {scale!r}: expected one of {', '.join(SCALES)}")
    say = log or (lambda _message: None)
    out_dir = Path(out_dir).resolve()
    work_dir = Path(work_dir).resolve() if work_dir else out_dir / f"work-{scale}"
    _prepare_work_dir(work_dir)
    env = bench_environment(work_dir, key)
    raw_dir, warehouse_dir = Path(env["SEND_RAW_DIR"]), Path(env["SEND_WAREHOUSE_DIR"])
    logs, results_dir = work_dir / "logs", work_dir / "results"
    dagster_home, dbt_log = work_dir / "dagster_home", warehouse_dir / "logs" / "last_run_dbt.log"
    python = sys.executable
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    failures: list[str] = []

    def step(name: str, command: list[str]) -> Measurement:
        say(f"bench {scale}: {name} ...")
        limit = int(rss_limit_gib * GIB) if rss_limit_gib else None
        measurement = measure(name, command, env=env, cwd=work_dir, log_dir=logs, rss_limit_bytes=limit)
        rss = measurement.peak_rss_bytes / MIB
        state = "FAILED" if measurement.returncode != 0 else "done"
        say(f"bench {scale}: {name} {state} in {measurement.wall_seconds:.1f}s, peak RSS {rss:.0f} MiB")
        try:
            _require_success(measurement)
        except BenchError as error:
            failures.append(str(error))
        return measurement

    generate_cmd = [python, "-m", "pipeline.cli", "generate", "--scale", scale, "--seed", str(seed),
                    "--out", str(raw_dir)]  # fmt: skip
    if years:
        generate_cmd += ["--years", *(str(y) for y in years)]
    generate = step("generate", generate_cmd)
    if failures:
        raise BenchError(failures[0])
    census_files = census_csv_files(raw_dir)
    # A deployment parses the dbt project once when the code changes (as dagster-dbt's deploy step does), not in
    # the night's run: timed here on its own, so (a) is the same for a fresh checkout and a deployed one.
    dbt_parse = step("dbt_parse", [python, "-m", "pipeline.dbt_project"])

    run_cmd = [python, "-m", "pipeline.cli", "run"]
    documents: list[dict] = []
    measured: dict[str, Measurement] = {}
    breakdowns: dict[str, dict] = {}

    measured["a_pipeline_cold"] = cold = step("pipeline_cold", run_cmd)
    breakdowns["a_pipeline_cold"] = pipeline_breakdown(cold, dagster_home, dbt_log)
    if cold.returncode == 0:
        documents.append(pipeline_marts(warehouse_dir / "send.duckdb", "pipeline_cold"))

    seeds = str(seeds_dir(env))
    for label, name in BASELINES:
        out = results_dir / f"{name}.json"
        measured[label] = step(
            name,
            [python, "-m", f"pipeline.bench_baselines.{name}_census_marts", "--raw-dir", str(raw_dir), "--out",
             str(out), "--seeds-dir", seeds],
        )  # fmt: skip
        if measured[label].returncode == 0:
            documents.append(read_marts_document(out))

    if cold.returncode == 0:
        measured["d_pipeline_no_change"] = again = step("pipeline_no_change", run_cmd)
        if run_was_skipped(again):  # nothing changed: no Dagster run, no dbt (the newest run is the cold one)
            breakdowns["d_pipeline_no_change"] = {"skipped": True}
        else:
            breakdowns["d_pipeline_no_change"] = pipeline_breakdown(again, dagster_home, dbt_log)
        if again.returncode == 0:
            documents.insert(1, pipeline_marts(warehouse_dir / "send.duckdb", "pipeline_no_change"))

    differences = compare_marts(documents) if len(documents) >= 2 else []
    duckdb_file = warehouse_dir / "send.duckdb"
    ratios = bench_ratios(measured)
    target_values = {**ratios}
    if cold.returncode == 0:
        target_values["pipeline_peak_rss_gib"] = round(cold.peak_rss_bytes / GIB, 3)
        target_values["pipeline_cold_seconds"] = cold.wall_seconds
    elif cold.rss_limit_exceeded:  # stopped above the limit: the peak is at least that
        target_values["pipeline_peak_rss_gib"] = round(cold.peak_rss_bytes / GIB, 3)
    result = {
        "scale": scale,
        "seed": seed,
        "timestamp": stamp,
        "machine": machine_info(),
        "data": {
            "census_files": len(census_files),
            "census_bytes": sum(p.stat().st_size for p in census_files),
            "raw_bytes": sum(p.stat().st_size for p in raw_dir.rglob("*") if p.is_file()),
            "pupil_rows_counted": next((doc.get("pupil_rows") for doc in documents if "pupil_rows" in doc), None),
        },
        "warehouse_bytes": duckdb_file.stat().st_size if duckdb_file.exists() else None,
        "code": code_version(),
        "la_code": env.get("SEND_LA_CODE", "857"),
        "dbt_project_dir": str(dbt_project_dir(env)),
        "rss_limit_gib": rss_limit_gib,
        "generate": generate.summary(),
        "dbt_parse": dbt_parse.summary(),
        "measurements": {label: m.summary() for label, m in measured.items()},
        "ratios": ratios,
        "pipeline_breakdown": breakdowns,
        "agreement": {
            "implementations": [doc["implementation"] for doc in documents],
            "ok": (not differences) if len(documents) >= 2 else None,
            "differences": differences[:50],
            "differences_total": len(differences),
        },
        "failures": failures,
        "targets": evaluate_targets(scale, target_values),
        "work_dir": str(work_dir) if keep_work else None,
    }
    json_path = out_dir / f"{scale}-{stamp}.json"
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(result, indent=2))
    result["json_path"] = str(json_path)
    say(format_report(result))
    say(f"bench results: {json_path}")
    if not keep_work:
        shutil.rmtree(work_dir, ignore_errors=True)
    if failures:
        raise BenchError("; ".join(failures))
    if differences:
        raise BenchError(
            f"the implementations' census marts differ ({len(differences)} difference(s)); first: {differences[0]}"
        )
    return result


def bench_ratios(measured: Mapping[str, Measurement]) -> dict[str, float | None]:
    """a/b, a/c, d/a, a/e of wall time (and a/b, a/c of peak RSS), None where a side did not complete."""

    def ok(label: str) -> Measurement | None:
        m = measured.get(label)
        return m if m is not None and m.returncode == 0 else None

    a, b, c, d, e = (
        ok(k) for k in ("a_pipeline_cold", "b_duckdb", "c_pandas", "d_pipeline_no_change", "e_duckdb_required")
    )

    def ratio(x: Measurement | None, y: Measurement | None, field: str) -> float | None:
        return _ratio(getattr(x, field), getattr(y, field)) if x and y else None

    return {
        "ratio_a_b": ratio(a, b, "wall_seconds"),
        "ratio_a_c": ratio(a, c, "wall_seconds"),
        "ratio_d_a": ratio(d, a, "wall_seconds"),
        "ratio_a_e": ratio(a, e, "wall_seconds"),
        "rss_ratio_a_b": ratio(a, b, "peak_rss_bytes"),
        "rss_ratio_a_c": ratio(a, c, "peak_rss_bytes"),
    }


# ---------------------------------------------------------------------------------------------------------------
# The printed report


def format_report(result: Mapping) -> str:
    m = result["measurements"]
    rows = [("generate", result["generate"]), ("dbt parse (deploy)", result.get("dbt_parse"))] + [
        (label, m.get(key))
        for label, key in (
            ("(a) pipeline cold", "a_pipeline_cold"),
            ("(b) bare DuckDB", "b_duckdb"),
            ("(c) pandas", "c_pandas"),
            ("(d) pipeline no-change", "d_pipeline_no_change"),
            ("(e) DuckDB required work", "e_duckdb_required"),
        )
    ]
    machine = result["machine"]
    lines = [
        f"send-pipeline bench --scale {result['scale']}  ({result['data']['census_files']} census file(s), "
        f"{result['data']['census_bytes'] / MIB:.0f} MiB; {machine['cores']} cores, {machine['ram_gib']} GiB RAM, "
        f"Python {machine['python']}, DuckDB {machine['duckdb']})",
        f"{'':24} {'wall s':>9} {'cpu s':>9} {'peak RSS MiB':>13} {'max 1-proc MiB':>15} {'load':>6}",
    ]
    for label, s in rows:
        if s is None:
            lines.append(f"{label:24} {'not run':>9}")
            continue
        state = "" if s["returncode"] == 0 else ("  STOPPED at the memory limit" if s["rss_limit_exceeded"] else
                                                 f"  FAILED (exit {s['returncode']})")  # fmt: skip
        cpu = None if s["user_seconds"] is None else s["user_seconds"] + s["system_seconds"]
        lines.append(
            f"{label:24} {s['wall_seconds']:9.2f} {_fmt(cpu):>9} {s['peak_rss_mib']:13.0f} "
            f"{_fmt(s['max_rss_mib'], 0):>15} {s['load_average_before']:6.2f}{state}"
        )
    r = result["ratios"]
    lines.append(
        f"ratios (wall): a/b {_fmt(r['ratio_a_b'])}  a/c {_fmt(r['ratio_a_c'])}  d/a {_fmt(r['ratio_d_a'])}  "
        f"a/e {_fmt(r.get('ratio_a_e'))}   "
        f"(peak RSS: a/b {_fmt(r['rss_ratio_a_b'])}  a/c {_fmt(r['rss_ratio_a_c'])})"
    )
    for label, key in (("(a) cold", "a_pipeline_cold"), ("(d) no-change", "d_pipeline_no_change")):
        breakdown = result["pipeline_breakdown"].get(key)
        if not breakdown:
            continue
        if breakdown.get("skipped"):
            lines.append(f"{label}: skipped before Dagster started (nothing changed since the release was built)")
            continue
        dagster = breakdown.get("dagster", {})
        stages = ", ".join(f"{k} {v:.1f}s" for k, v in dagster.get("stages", {}).items())
        if "startup_seconds" in breakdown:
            shutdown = breakdown.get("shutdown_seconds")
            lines.append(
                f"{label}: start-up {breakdown['startup_seconds']:.1f}s (imports, definitions, run planning), {stages}"
                + (f", shutdown {shutdown:.1f}s" if shutdown is not None else "")
            )
        if dagster.get("unfinished_steps"):
            lines.append(f"    unfinished when it ended: {', '.join(dagster['unfinished_steps'])}")
        dbt = breakdown.get("dbt") or {}
        if dbt.get("nodes"):
            kinds = ", ".join(f"{k} {v['count']}: {v['seconds']:.1f}s" for k, v in dbt["by_kind"].items())
            slow = ", ".join(f"{n['node']} {n['seconds']:.1f}s" for n in dbt["slowest"][:3])
            lines.append(f"    dbt nodes {kinds}; slowest {slow}")
            if dbt.get("running_when_log_ended"):
                lines.append(f"    dbt was running {dbt['running_when_log_ended']} when it ended")
    agreement = result["agreement"]
    verdict = {True: "yes", False: f"NO, {agreement['differences_total']} difference(s)", None: "not compared"}
    lines.append(f"marts agree ({', '.join(agreement['implementations'])}): {verdict[agreement['ok']]}")
    for target in result["targets"]:
        state = "n/a" if target["met"] is None else ("met" if target["met"] else "NOT met")
        lines.append(f"target {target['what']}: {_fmt(target['value'])} {target['op']} {target['limit']}: {state}")
    for failure in result.get("failures", []):
        lines.append(f"FAILED: {failure.splitlines()[0]}")
    return "\n".join(lines)


def _fmt(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"
