"""Run the Great Expectations suites of expectations/ on pandas DataFrames, and keep their Data Docs.

GX validates frames pulled from DuckDB (its SQL engine returns empty results on DuckDB). Results carry counts
and expectation names only, never the unexpected values themselves: a failing suppression check must not copy
the very counts it caught into a log. The one exception is a suite run over ``cells`` with ``index_columns``: its
results name the columns the unexpected cells are in (and those cells, which such a suite only finds when they are
blank).

Every validation of a run is stored in a file Data Context under ``warehouse/quality/`` and its Data Docs rebuilt
there (``warehouse/quality/gx/uncommitted/data_docs/local_site/index.html``). That folder is internal: Data Docs
can show observed values, so it is never under ``published/``. The last ``KEEP_DOCS_RUNS`` runs are kept.
"""

import copy
import json
import os
import re
import shutil
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import pandas as pd

from pipeline.settings import REPO_ROOT

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

EXPECTATIONS_DIR = REPO_ROOT / "expectations"
PLACEHOLDER = re.compile(r"^\{(\w+)\}$")  # "{count_column}": the suite applies once per such column
QUALITY_DIR = "quality"  # under the warehouse folder, beside (never inside) published/
KEEP_DOCS_RUNS = 10


class SuiteError(RuntimeError):
    """A suite file that does not load completely (GX would silently skip a bad expectation)."""


CELL_COLUMN, CELL_VALUE = "column_name", "cell_value"  # the two columns of cells()


@dataclass(frozen=True)
class Outcome:
    expectation: str
    column: str | None
    success: bool
    unexpected_count: int | None
    # with index_columns: their values on the (first 20) unexpected rows; for a set the column must contain: what of
    # it the column lacks
    where: tuple[str, ...] = ()


@dataclass(frozen=True)
class SuiteResult:
    suite: str
    success: bool
    outcomes: tuple[Outcome, ...]
    validation: Any = field(default=None, compare=False, repr=False)  # the GX result, for Data Docs

    @property
    def failures(self) -> tuple[Outcome, ...]:
        return tuple(o for o in self.outcomes if not o.success)

    def summary(self) -> str:
        if self.success:
            return f"{self.suite}: all {len(self.outcomes)} expectations met"
        failed = "; ".join(
            f"{o.expectation}({o.column or ''}{' in ' + ', '.join(o.where) if o.where else ''}) "
            f"unexpected={o.unexpected_count}"
            for o in self.failures
        )
        return f"{self.suite}: {len(self.failures)} of {len(self.outcomes)} expectations failed: {failed}"


def _list_placeholder(value: Any) -> str | None:
    """The placeholder name of a kwarg value ["{ees_column}"] (a list of one placeholder), else None."""
    if isinstance(value, list) and len(value) == 1 and isinstance(value[0], str):
        match = PLACEHOLDER.match(value[0])
        return match.group(1) if match else None
    return None


def expand(expectations: list[dict], columns: dict[str, list[str]]) -> list[dict]:
    """Apply every expectation whose kwargs name a placeholder ("{count_column}") once per column listed for it;
    fill a list placeholder (["{ees_column}"]) with all those columns at once; keep the others once."""
    expanded = []
    for expectation in expectations:
        lists = {k: name for k, v in expectation["kwargs"].items() if (name := _list_placeholder(v))}
        if lists:
            item = copy.deepcopy(expectation)
            item["kwargs"].update({k: list(columns.get(name, [])) for k, name in lists.items()})
            expanded.append(item)
            continue
        placeholders = {
            m.group(1) for v in expectation["kwargs"].values() if isinstance(v, str) and (m := PLACEHOLDER.match(v))
        }
        if not placeholders:
            expanded.append(expectation)
            continue
        if len(placeholders) > 1:
            raise SuiteError(f"{expectation['type']}: one placeholder per expectation, got {sorted(placeholders)}")
        [name] = placeholders
        for column in columns.get(name, []):
            item = copy.deepcopy(expectation)
            item["kwargs"] = {k: (column if v == f"{{{name}}}" else v) for k, v in item["kwargs"].items()}
            expanded.append(item)
    return expanded


def load_suite(name: str, columns: dict[str, list[str]] | None = None, directory: Path = EXPECTATIONS_DIR):
    import great_expectations as gx

    path = directory / f"{name}.json"
    spec = json.loads(path.read_text())
    wanted = expand(spec["expectations"], columns or {})
    if repeated := repeated_expectations(wanted):
        raise SuiteError(f"{path}: expectation(s) listed more than once: {'; '.join(repeated)}")
    suite = gx.ExpectationSuite(name=spec["name"], expectations=wanted, meta=spec.get("meta"))
    if len(suite.expectations) != len(wanted):
        raise SuiteError(f"{path}: {len(wanted) - len(suite.expectations)} expectation(s) failed to load")
    return suite


def repeated_expectations(expectations: list[dict]) -> list[str]:
    """Each expectation (type and kwargs) listed more than once, as "type(kwargs)": GX validates such a copy again
    and reports more results than the suite has expectations (see ``validate``), so a suite must not hold one."""
    keys = Counter(json.dumps({"type": e["type"], "kwargs": e.get("kwargs", {})}, sort_keys=True) for e in expectations)
    return [
        f"{spec['type']}({json.dumps(spec['kwargs'], sort_keys=True)}) x{n}"
        for key, n in keys.items()
        if n > 1 and (spec := json.loads(key))
    ]


@cache
def _batch_definition():
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    asset = context.data_sources.add_pandas("send_warehouse").add_dataframe_asset("frame")
    return asset.add_batch_definition_whole_dataframe("whole_frame")


def cells(frame: pd.DataFrame, columns: Iterable[str]) -> pd.DataFrame:
    """The listed columns that ``frame`` has, as one row per cell: (column_name, cell_value).

    A suite over cells checks every cell of many columns with one expectation instead of one per column (GX costs
    ~3 ms an expectation: the EES checks of a release were 552 of its 637 expectations). A listed column the frame
    lacks has no cells: check with expect_column_distinct_values_to_contain_set on column_name.
    """
    present = [c for c in columns if c in frame.columns]
    if not present:
        return pd.DataFrame({CELL_COLUMN: pd.Series(dtype=object), CELL_VALUE: pd.Series(dtype=object)})
    return pd.DataFrame(
        {
            CELL_COLUMN: [c for c in present for _ in range(len(frame))],
            CELL_VALUE: pd.concat([frame[c].astype(object) for c in present], ignore_index=True),
        }
    )


def _where(config, result: dict, index_columns: tuple[str, ...]) -> tuple[str, ...]:
    if config.type == "expect_column_distinct_values_to_contain_set":
        # the suite's own values the column lacks (constants of the suite, never data): e.g. the missing columns
        missing = result.get("partial_missing_list")
        if missing is None:  # BASIC results report only what the column has
            missing = set(config.kwargs["value_set"]) - set(result.get("observed_value") or [])
        return tuple(sorted(str(v) for v in missing))
    rows = result.get("partial_unexpected_index_list") or []
    return tuple(sorted({str(row[c]) for row in rows if isinstance(row, dict) for c in index_columns if c in row}))


def validate(frame: pd.DataFrame, suite, index_columns: tuple[str, ...] = ()) -> SuiteResult:
    """Validate; with ``index_columns`` a failed expectation also says which values of them its rows have (those of
    the first 20 unexpected rows GX reports: e.g. the columns of the blank cells)."""
    batch = _batch_definition().get_batch(batch_parameters={"dataframe": frame})
    result_format = {"result_format": "BASIC", "partial_unexpected_count": 0}
    if index_columns:
        result_format = {
            "result_format": "SUMMARY",
            "unexpected_index_column_names": list(index_columns),
            "partial_unexpected_count": 20,
        }
    result = batch.validate(suite, result_format=result_format)
    outcomes = tuple(
        Outcome(
            expectation=r.expectation_config.type,
            column=r.expectation_config.kwargs.get("column") or r.expectation_config.kwargs.get("column_A"),
            success=bool(r.success),
            unexpected_count=(r.result or {}).get("unexpected_count"),
            where=() if r.success else _where(r.expectation_config, r.result or {}, index_columns),
        )
        for r in result.results
    )
    if len(outcomes) != len(suite.expectations):
        raise SuiteError(f"{suite.name}: {len(suite.expectations)} expectations but {len(outcomes)} results")
    return SuiteResult(suite.name, bool(result.success) and all(o.success for o in outcomes), outcomes, result)


def run_suite(
    name: str,
    frame: pd.DataFrame,
    columns: dict[str, list[str]] | None = None,
    index_columns: tuple[str, ...] = (),
) -> SuiteResult:
    """Validate a frame with a suite; `columns` fills its placeholders, e.g. {"count_column": ["pupils"]}."""
    return validate(frame, load_suite(name, columns), index_columns)


def write_data_docs(quality_dir: Path, run_name: str, results: Iterable[tuple[str, SuiteResult]]) -> Path:
    """Store each (validated table, result) of one run in the file Data Context under quality_dir, drop runs
    beyond the last KEEP_DOCS_RUNS (their results and pages), render this run's pages and the index, and return
    the site's index.html. Earlier runs' pages are rendered once, by their own run: re-rendering every kept run
    each night cost ~0.15 s per run kept for the demo's 43 results."""
    import great_expectations as gx
    from great_expectations.core.run_identifier import RunIdentifier
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier,
        ValidationResultIdentifier,
    )

    quality_dir.mkdir(parents=True, exist_ok=True)
    context = gx.get_context(mode="file", project_root_dir=str(quality_dir))
    run = RunIdentifier(run_name=run_name, run_time=datetime.now(UTC))
    stored = []
    for table, result in results:
        if result.validation is None:
            continue
        key = ValidationResultIdentifier(ExpectationSuiteIdentifier(result.suite), run, batch_identifier=table)
        context.validation_results_store.set(key, result.validation)
        stored.append(key)
    root = Path(context.root_directory) / "uncommitted"
    site = root / "data_docs" / "local_site"
    prune_runs(root / "validations", KEEP_DOCS_RUNS)
    drop_unkept_pages(site / "validations", root / "validations")
    context.build_data_docs(resource_identifiers=stored)
    return site / "index.html"


def drop_unkept_pages(pages: Path, validations: Path) -> None:
    """Remove the rendered pages' folders (pages/<suite>/<run name>/) of runs no longer in the store (validations/):
    GX's build removes their pages but leaves the folders, one more a night."""
    for run in (p for p in pages.glob("*/*") if p.is_dir()):
        if not (validations / run.relative_to(pages)).is_dir():
            shutil.rmtree(run, ignore_errors=True)


def prune_runs(validations: Path, keep: int) -> None:
    """Keep the newest `keep` run folders (validations/<suite>/<run name>/) of every suite."""
    for suite in (p for p in validations.glob("*") if p.is_dir()):
        runs = sorted((p for p in suite.iterdir() if p.is_dir()), key=lambda p: p.stat().st_mtime)
        for old in runs[:-keep]:
            shutil.rmtree(old, ignore_errors=True)
