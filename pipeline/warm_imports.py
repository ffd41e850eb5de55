"""Prepare, in a background thread while dbt works in its own process, what the steps after dbt need.

Importing Great Expectations takes ~2 s, and the first step after dbt (the census totals check) needs it; meanwhile
the run's process mostly waits for dbt's output. The imports run in a daemon thread started when `dbt build` is
launched: a later `import great_expectations` in a step waits for it (Python's per-module import locks) and finds
it done. An entry `module:function` also calls a function of the module without arguments (the report's chart
renderer starts its JavaScript engine). Nothing else runs in the thread, and a failure there changes nothing: the
step that needs the module imports it itself and reports the error where it belongs.

The modules' objects (~200 k, long-lived) are imported with the cyclic garbage collector paused and then frozen
(`collector_paused`), as `send-pipeline run` does for its own imports (pipeline/cli.py) and `send-dbt` for dbt's
(pipeline/send_dbt.py): otherwise every later full collection of the run walks them again (~0.25 s of a demo run).
Freezing also keeps whatever else the run holds at that moment out of later collections: a few MB at most, freed at
the end of the process.
"""

import contextlib
import gc
import importlib
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

# Great Expectations for the checks after dbt; dbt's command-line entry point for `dbt docs generate`
# (pipeline/dbt_docs.py), which runs in this process; the publication (its solvers, SciPy and HiGHS) and the report
# (Altair) and its chart renderer, none of which the definitions import (pipeline/release.py, pipeline/report/).
AFTER_DBT = (
    "great_expectations",
    "dbt.cli.main",
    "pipeline.publish",
    "pipeline.report.build",
    "pipeline.report.charts:start_renderer",
)


@contextmanager
def collector_paused() -> Iterator[None]:
    """Run the block with Python's cyclic garbage collector off, then freeze every object there is (gc.freeze: left
    out of all later collections) and put the collector back as it was, also when the block raises.

    For imports: they make hundreds of thousands of long-lived objects (modules, classes, functions) and no garbage
    worth collecting, and each full collection afterwards would walk them all again."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if was_enabled:
            gc.enable()


def import_in_background(modules: tuple[str, ...] = AFTER_DBT) -> threading.Thread:
    """Start a daemon thread importing ``modules`` in order (``module:function``: and calling that); the thread,
    already started. When every module is imported already the thread does nothing (no pause, no freeze, no call).
    """

    def run() -> None:
        if all(entry.partition(":")[0] in sys.modules for entry in modules):
            return
        with collector_paused(), contextlib.suppress(Exception):  # the step that imports it for real raises it
            for entry in modules:
                name, _, function = entry.partition(":")
                module = importlib.import_module(name)
                if function:
                    getattr(module, function)()

    thread = threading.Thread(target=run, name="warm-imports", daemon=True)
    thread.start()
    return thread
