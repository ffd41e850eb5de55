"""pyproject.toml declares every package the project imports: one that only arrives as another package's dependency
(python-dotenv, Jinja2, MarkupSafe, SQLAlchemy came with Dagster and dbt) goes when that package stops needing it."""

import ast
import sys
import tomllib
from importlib.metadata import packages_distributions

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from pipeline.settings import REPO_ROOT


def imported_top_level(folder) -> set[str]:
    names = set()
    for path in folder.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    return names - set(sys.stdlib_module_names) - {"pipeline", "__future__"}


def declared(*groups: list[str]) -> set[str]:
    return {canonicalize_name(Requirement(r).name) for group in groups for r in group}


def undeclared(modules: set[str], packages: set[str]) -> list[str]:
    """The modules that no declared distribution provides (a module nothing installed provides counts as its own
    name: a local helper module of the tests, conftest's siblings)."""
    providers = packages_distributions()
    return sorted(m for m in modules if m in providers and not {canonicalize_name(d) for d in providers[m]} & packages)


def test_every_package_the_pipeline_imports_is_a_dependency():
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    assert undeclared(imported_top_level(REPO_ROOT / "pipeline"), declared(project["dependencies"])) == []


def test_every_package_the_tests_import_is_a_dependency_or_a_dev_one():
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    packages = declared(project["dependencies"], project["optional-dependencies"]["dev"])
    assert undeclared(imported_top_level(REPO_ROOT / "tests"), packages) == []


def test_a_package_imported_but_not_declared_is_named():
    assert undeclared({"jinja2", "pandas"}, {"pandas"}) == ["jinja2"]
