"""Where the dbt project is, and how its manifest gets made (no Dagster assets here, so the CLI can prepare
the manifest before the asset definitions that read it are imported).

`dbt parse` (~5 s) runs only when the manifest is missing or was parsed from other inputs: the manifest's key - the
dbt project version of pipeline.nightly_state (its files and SEND_LA_CODE), the project's folder and the profile
(the DuckDB file and its memory limit) - is kept beside it in target/. The profile is in the key because dbt's own
parse cache (target/partial_parse.msgpack, which every `dbt build` of dagster-dbt starts from) is only valid for the
profile it was made with: otherwise each nightly build would parse the whole project again (~4 s). The parse is a
plain `dbt parse`: dagster-dbt's preparer also marks the seeds as changed in that cache (for a cache built on
another machine), which made every build re-parse them (~1 s); this one is always made in place.
"""

import fcntl
import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from dagster_dbt import DbtProject

from pipeline.settings import load_settings


def dbt_executable() -> str:
    """The dbt beside this interpreter (a venv's scripts are not on PATH unless the venv is activated): this
    project's `send-dbt` (pipeline/send_dbt.py: dbt with less garbage collection) when installed, else `dbt`."""
    for name in ("send-dbt", "dbt"):
        candidate = Path(sys.executable).with_name(name)
        if candidate.exists():
            return str(candidate)
    return "dbt"


def put_dbt_on_path() -> None:
    """dagster-dbt's project preparer looks for `dbt` on PATH; make it find the one of this interpreter."""
    scripts = str(Path(sys.executable).parent)
    if scripts not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = scripts + os.pathsep + os.environ.get("PATH", "")


def _project() -> DbtProject:
    project_dir = load_settings().dbt_project_dir
    return DbtProject(project_dir=project_dir, profiles_dir=project_dir)


dbt_project = _project()
put_dbt_on_path()


MANIFEST_KEY = "send_manifest_key.txt"
PARSE_LOCK = ".send_parse.lock"
PROFILE_VARIABLES = ("SEND_DUCKDB_PATH", "SEND_DUCKDB_MEMORY_LIMIT")  # what profiles.yml reads (with SEND_LA_CODE)


def manifest_is_current(manifest_path: Path, key: str) -> bool:
    """The manifest exists and was parsed from the project version ``key``."""
    stamp = manifest_path.with_name(MANIFEST_KEY)
    return manifest_path.exists() and stamp.exists() and stamp.read_text().strip() == key


def manifest_key(project_version: str, project_dir: Path, environ: Mapping[str, str]) -> str:
    """What a parse depends on: the project version, where the project is, and the profile's inputs."""
    profile = "|".join(f"{name}={environ.get(name, '')}" for name in PROFILE_VARIABLES)
    return f"{project_version}|{Path(project_dir).resolve()}|{profile}"


def prepare_dbt_project(force: bool = False) -> Path:
    """Run `dbt parse` unless the manifest is current, so the manifest Dagster loads matches the SQL on disk and
    dbt's parse cache matches the profile the nightly build runs with.

    Returns the manifest path.
    """
    from pipeline.nightly_state import dbt_project_version

    settings = load_settings()
    settings.export_for_dbt()
    key = manifest_key(dbt_project_version(settings.dbt_project_dir, settings.la_code), dbt_project.project_dir,
                       os.environ)  # fmt: skip
    target = dbt_project.manifest_path.parent
    target.mkdir(parents=True, exist_ok=True)
    # The webserver and the daemon load the definitions at the same time: one parses, the other waits for it and
    # then finds the manifest current, instead of two dbt processes writing target/ at once.
    with (target / PARSE_LOCK).open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not force and manifest_is_current(dbt_project.manifest_path, key):
            return dbt_project.manifest_path
        parsed = subprocess.run(
            [dbt_executable(), "parse", "--quiet", "--no-use-colors", "--project-dir", str(dbt_project.project_dir),
             "--profiles-dir", str(dbt_project.profiles_dir), "--target-path", str(target)],
            cwd=dbt_project.project_dir, capture_output=True, text=True,
        )  # fmt: skip
        if parsed.returncode != 0:
            output = parsed.stdout[-4000:] + parsed.stderr
            raise RuntimeError(f"dbt parse failed in {dbt_project.project_dir}:\n{output}")
        dbt_project.manifest_path.with_name(MANIFEST_KEY).write_text(key + "\n")
    return dbt_project.manifest_path


if __name__ == "__main__":  # the deploy step: `python -m pipeline.dbt_project` (the bench runs it before timing)
    print(prepare_dbt_project())
