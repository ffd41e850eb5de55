"""The background import started beside `dbt build` (pipeline/warm_imports.py)."""

import gc
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.report.charts import start_renderer
from pipeline.warm_imports import collector_paused


def run_python(code: str, cwd: Path | None = None) -> str:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=cwd).stdout


def test_the_modules_are_imported_by_the_thread():
    out = run_python(
        "import sys\n"
        "from pipeline.warm_imports import import_in_background\n"
        "assert 'great_expectations' not in sys.modules\n"
        "thread = import_in_background()\n"
        "thread.join()\n"
        "print(thread.name, *(m in sys.modules for m in ('great_expectations', 'dbt.cli.main', 'scipy', 'altair')))\n"
    )
    assert out.split() == ["warm-imports", "True", "True", "True", "True"]


def test_the_definitions_leave_the_publication_and_report_modules_to_the_thread():
    out = run_python(
        "import sys\n"
        "import pipeline.definitions\n"
        "print(any(m in sys.modules for m in ('altair', 'scipy', 'highspy', 'pipeline.publish')))\n"
        "from pipeline.report import build_report\n"  # the package's names still import on first use
        "print('altair' in sys.modules, build_report.__module__)\n"
    )
    assert out.split() == ["False", "True", "pipeline.report.build"]


def test_the_imported_objects_are_frozen_and_the_collector_is_on_again():
    out = run_python(
        "import gc\n"
        "from pipeline.warm_imports import import_in_background\n"
        "before = gc.get_freeze_count()\n"
        "import_in_background(('json.tool',)).join()\n"
        "print(before, gc.get_freeze_count() > before, gc.isenabled())\n"
    )
    assert out.split() == ["0", "True", "True"]


def test_nothing_is_frozen_when_the_modules_are_imported_already():
    out = run_python(
        "import gc, json.tool\n"
        "from pipeline.warm_imports import import_in_background\n"
        "import_in_background(('json.tool',)).join()\n"
        "print(gc.get_freeze_count(), gc.isenabled())\n"
    )
    assert out.split() == ["0", "True"]


def test_a_module_that_fails_to_import_stops_the_thread_quietly():
    out = run_python(
        "import gc, sys\n"
        "from pipeline.warm_imports import import_in_background\n"
        "thread = import_in_background(('no_such_module_here', 'json.tool'))\n"
        "thread.join()\n"
        "print(thread.is_alive(), 'json.tool' in sys.modules, gc.isenabled())\n"
    )
    assert out.split() == ["False", "False", "True"]


def test_an_entry_with_a_function_calls_it_after_the_import(tmp_path):
    (tmp_path / "warm_probe.py").write_text("calls = []\n\ndef start():\n    calls.append('started')\n")
    out = run_python(
        "from pipeline.warm_imports import import_in_background\n"
        "import_in_background(('warm_probe:start',)).join()\n"
        "import warm_probe\n"
        "print(*warm_probe.calls)\n",
        cwd=tmp_path,
    )
    assert out.split() == ["started"]


def test_the_chart_renderer_starts():
    # the warm-up's own chart is valid Vega-Lite (a failure in the thread would go unseen)
    assert start_renderer().lstrip().startswith("<svg")


@pytest.mark.parametrize("enabled", [True, False])
def test_the_block_runs_without_the_collector_then_everything_is_frozen(enabled):
    gc.unfreeze()
    (gc.enable if enabled else gc.disable)()
    try:
        with collector_paused():
            assert not gc.isenabled()
            made = [[] for _ in range(1000)]  # objects the imports would make
        assert gc.get_freeze_count() >= len(made)
        assert gc.isenabled() is enabled  # the collector is left as it was
    finally:
        gc.unfreeze()
        gc.enable()


def test_the_collector_is_on_again_when_the_block_raises():
    gc.unfreeze()
    try:
        with pytest.raises(ImportError), collector_paused():
            import no_such_module_here  # noqa: F401
        assert gc.isenabled()
    finally:
        gc.unfreeze()
        gc.enable()
