"""`send-dbt`: dbt's own command line (`dbt.cli.main:cli`, as the `dbt` script runs it), with dbt's modules kept out
of Python's cyclic garbage collector.

dagster-dbt runs every `dbt build` as a subprocess of this executable (pipeline/dbt_project.py, `dbt_executable`).
dbt imports ~1.5 s of modules, then makes its objects in small steps for each of the project's ~300 nodes; with the
collector's defaults the process spent ~2 s in it during a demo build (measured with gc.callbacks): its full passes
walked the imported modules again and again. Here the imports run with the collector off and are then frozen
(gc.freeze: never walked again), and the youngest generation is collected every 10,000 allocations instead of 700:
~0.5 s in all. dbt's own behaviour, arguments and exit code are unchanged.
"""

import gc
import sys

from pipeline.warm_imports import collector_paused

YOUNG_THRESHOLD = 10_000


def main() -> None:
    with collector_paused():
        from dbt.cli.main import cli
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)
    sys.exit(cli())


if __name__ == "__main__":
    main()
