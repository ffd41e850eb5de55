"""Where the dbt project is, and how its manifest gets made (no Dagster assets here, so the CLI can prepare
the manifest before the asset definitions that read it are imported)."""

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


def prepare_dbt_project() -> Path:
    """Run `dbt parse` so the manifest Dagster loads matches the SQL on disk. Returns the manifest path."""
    load_settings().export_for_dbt()
    put_dbt_on_path()
    dbt_project.preparer.prepare(dbt_project)
    return dbt_project.manifest_path
