"""The generated Rutland Spring census of one year, in memory, for generators whose pupils must be census pupils.

The exclusions and attainment generators pick their pupils here, so their UPNs, year groups and SEN status are
those ``send-pipeline generate --seed`` writes to ``raw/census/<year>_spring.csv`` (the census is regenerated with
the same seed, scale rutland, that year only; it is deterministic).
"""

from __future__ import annotations

import functools
import tempfile
from pathlib import Path

import pandas as pd

from pipeline.generate.census import generate_census


@functools.lru_cache(maxsize=8)
def _census_frame(seed: int, year: int) -> pd.DataFrame:
    with tempfile.TemporaryDirectory() as tmp:
        [path] = generate_census(Path(tmp), "rutland", seed, years=[year])
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    return frame[frame.enrol_status.isin(["C", "M"])].sort_values("upn").reset_index(drop=True)


def census_pupils(seed: int, year: int) -> pd.DataFrame:
    """Pupils (enrol status C and M, one row each, sorted by UPN) of the generated Spring ``year`` census."""
    return _census_frame(seed, year).copy()
