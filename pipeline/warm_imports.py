"""Prepare, in a background thread while dbt works in its own process, what the steps after dbt need.

Importing Great Expectations takes ~2 s, and the first step after dbt (the census totals check) needs it; meanwhile
the run's process mostly waits for dbt's output. The imports run in a daemon thread started when `dbt build` is
launched: a later `import great_expectations` in a step waits for it (Python's per-module import locks) and finds
it done. An entry `module:function` also calls a function of the module without arguments (the report's chart
renderer starts its JavaScript engine). Nothing else runs in the thread, and a failure there changes nothing: the
step that needs the module imports it itself and reports the error where it belongs.

The modules' objects (~200 k, long-lived) are imported with the cyclic garbage collector paused and then frozen
(gc.freeze), as `send-pipeline run` does for its own imports (pipeline/cli.py): otherwise every later full
collection of the run walks them again (~0.25 s of a demo run).
"""

import gc
import importlib
import sys
import threading

# Great Expectations for the checks after dbt; dbt's command-line entry point for `dbt docs generate`
# (pipeline/docs.py), which runs in this process; the report's chart renderer.
AFTER_DBT = ("great_expectations", "dbt.cli.main", "pipeline.report.charts:start_renderer")


def import_in_background(modules: tuple[str, ...] = AFTER_DBT) -> threading.Thread:
    """Start a daemon thread importing ``modules`` in order (``module:function``: and calling that); the thread,
    already started. When every module is imported already the thread does nothing (no pause, no freeze, no call).
    """

    def run() -> None:
        if all(entry.partition(":")[0] in sys.modules for entry in modules):
            return
        was_enabled = gc.isenabled()
        gc.disable()
        try:
            for entry in modules:
                name, _, function = entry.partition(":")
                module = importlib.import_module(name)
                if function:
                    getattr(module, function)()
        except Exception:  # noqa: BLE001, S110 - the step that imports it for real raises it
            pass
        finally:
            gc.freeze()
            if was_enabled:
                gc.enable()

    thread = threading.Thread(target=run, name="warm-imports", daemon=True)
    thread.start()
    return thread
