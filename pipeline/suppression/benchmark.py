"""Time the suppression of a synthetic release: ``python -m pipeline.suppression.benchmark [rows] [columns]``.

A sparse rows x columns table with its margins (counts drawn like the needs assessment's: many empty and small
cells), suppressed and then verified by the attacker. Timing belongs here, not in the tests.
"""

import sys
import time

import numpy as np

from pipeline.suppression.attacker import verify
from pipeline.suppression.model import TableSet, two_way_table
from pipeline.suppression.rules import PRIMARY_REASONS, SECONDARY
from pipeline.suppression.secondary import suppress


def sparse_counts(rows: int, columns: int, seed: int) -> list[list[int]]:
    rng = np.random.default_rng([seed, rows, columns])
    counts = rng.negative_binomial(1, 0.08, size=(rows, columns))
    counts[rng.random((rows, columns)) < 0.25] = 0
    return counts.tolist()


def run(rows: int = 20, columns: int = 10, seed: int = 0) -> dict[str, float]:
    table = two_way_table(
        "benchmark", "pupils", "row", [f"r{i:02d}" for i in range(rows)], "column",
        [f"c{j:02d}" for j in range(columns)], sparse_counts(rows, columns, seed),
    )  # fmt: skip
    tables = TableSet([table])
    start = time.perf_counter()
    result = suppress(tables)
    suppressed_at = time.perf_counter()
    check = verify(tables, result.suppressed)
    verified_at = time.perf_counter()
    if not check.safe or not result.safe:
        raise SystemExit("benchmark release is not safe")
    return {
        "cells": len(tables.keys),
        "primary": sum(1 for r in result.reasons.values() if r in PRIMARY_REASONS),
        "secondary": sum(1 for r in result.reasons.values() if r == SECONDARY),
        "suppress_seconds": suppressed_at - start,
        "verify_seconds": verified_at - suppressed_at,
    }


def main(argv: list[str] | None = None) -> None:
    args = [int(a) for a in (sys.argv[1:] if argv is None else argv)]
    rows, columns = (args + [20, 10][len(args) :])[:2]
    for seed in range(3):
        figures = run(rows, columns, seed)
        print(
            f"{rows}x{columns}+margins seed {seed}: {figures['cells']:.0f} cells, {figures['primary']:.0f} primary, "
            f"{figures['secondary']:.0f} secondary; suppress {figures['suppress_seconds']:.2f} s, "
            f"verify {figures['verify_seconds']:.2f} s"
        )


if __name__ == "__main__":
    main()
