"""Import Great Expectations in a background thread while dbt works in its own process.

Importing Great Expectations takes ~2 s, and the first step after dbt (the census totals check) needs it; meanwhile
the run's process mostly waits for dbt's output. The import runs in a daemon thread started when `dbt build` is
launched: a later `import great_expectations` in a step waits for it (Python's per-module import locks) and finds
it done. Nothing else runs in the thread, and a failure there changes nothing: the step that needs the module
imports it itself and reports the error where it belongs.
"""

import importlib
import threading

AFTER_DBT = ("great_expectations",)


def import_in_background(modules: tuple[str, ...] = AFTER_DBT) -> threading.Thread:
    """Start a daemon thread importing ``modules`` in order; the thread, already started."""

    def run() -> None:
        for name in modules:
            try:
                importlib.import_module(name)
            except Exception:  # noqa: BLE001 - the step that imports it for real raises it
                return

    thread = threading.Thread(target=run, name="warm-imports", daemon=True)
    thread.start()
    return thread
