"""Where the dbt project is, and how its manifest gets made (no Dagster assets here, so the CLI can prepare
the manifest before the asset definitions that read it are imported).

`dbt parse` (~5 s) runs only when the manifest is missing or was parsed from other files: the manifest's key - the
dbt project version of pipeline.nightly_state (its files and SEND_LA_CODE) - is kept beside it in target/.
"""

import os
import sys
from pathlib import Path

from dagster_dbt import DbtProject

from pipeline.settings import load_settings


def dbt_executable() -> str:
    """The dbt beside this interpreter: a venv's scripts are not on PATH unless the venv is activated."""
    candidate = Path(sys.executable).with_name("dbt")
    return str(candidate) if candidate.exists() else "dbt"


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


def manifest_is_current(manifest_path: Path, key: str) -> bool:
    """The manifest exists and was parsed from the project version ``key``."""
    stamp = manifest_path.with_name(MANIFEST_KEY)
    return manifest_path.exists() and stamp.exists() and stamp.read_text().strip() == key


def prepare_dbt_project(force: bool = False) -> Path:
    """Run `dbt parse` unless the manifest is current, so the manifest Dagster loads matches the SQL on disk.

    Returns the manifest path.
    """
    from pipeline.nightly_state import dbt_project_version

    settings = load_settings()
    settings.export_for_dbt()
    key = dbt_project_version(settings.dbt_project_dir, settings.la_code)
    if not force and manifest_is_current(dbt_project.manifest_path, key):
        return dbt_project.manifest_path
    put_dbt_on_path()
    dbt_project.preparer.prepare(dbt_project)
    dbt_project.manifest_path.with_name(MANIFEST_KEY).write_text(key + "\n")
    return dbt_project.manifest_path


if __name__ == "__main__":  # the deploy step: `python -m pipeline.dbt_project` (the bench runs it before timing)
    print(prepare_dbt_project())
