"""The background import started beside `dbt build` (pipeline/warm_imports.py)."""

import subprocess
import sys


def run_python(code: str) -> str:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout


def test_the_modules_are_imported_by_the_thread():
    out = run_python(
        "import sys\n"
        "from pipeline.warm_imports import import_in_background\n"
        "assert 'great_expectations' not in sys.modules\n"
        "thread = import_in_background()\n"
        "thread.join()\n"
        "print(thread.name, 'great_expectations' in sys.modules)\n"
    )
    assert out.split() == ["warm-imports", "True"]


def test_a_module_that_fails_to_import_stops_the_thread_quietly():
    out = run_python(
        "import sys\n"
        "from pipeline.warm_imports import import_in_background\n"
        "thread = import_in_background(('no_such_module_here', 'json.tool'))\n"
        "thread.join()\n"
        "print(thread.is_alive(), 'json.tool' in sys.modules)\n"
    )
    assert out.split() == ["False", "False"]
