"""The child health snapshot extract for Rutland, the East Midlands and England: the seed's public figures.

``generate_child_health(out_dir)`` writes ``out_dir/child_health/child_health_snapshot_2023-03.csv`` in the
contract of pipeline/sources/child_health.py: one row per area x indicator x period, the figures of the seed's
table 5.3 (OHID's child health profile, published March 2023; tests/fixtures/figures.yaml ``child_health_5_3``).
These are published figures, not synthetic ones, so there is nothing to draw: the seed argument is accepted for a
uniform generator signature and ignored.

The LA's pupils from minority ethnic groups and pupils with SEMH needs are NOT written: fct_child_health takes
those two cells from the warehouse's own school census (547 and 147 pupils in January 2022 in the generated
census). Their region and England figures are written. Counts the seed prints rounded (population to the
nearest hundred) are written as printed; no denominator is written (the seed gives none).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

AREAS = (  # (area_code, area_name, area_type)
    ("E06000017", "Rutland", "LA"),
    ("E12000004", "East Midlands region", "Region"),
    ("E92000001", "England", "England"),
)
FILE_NAME = "child_health_snapshot_2023-03.csv"
# indicator -> (period, values LA / region / England, counts LA / region / England); None = not in the extract.
SNAPSHOT: dict[str, tuple[str, tuple, tuple]] = {
    "live_births": ("2021", (274, 47860, 595948), (None, None, None)),
    "children_aged_0_4": ("2021", (4.0, 5.2, 5.4), (1600, 251600, 3058200)),
    "children_aged_0_19": ("2021", (21.7, 22.7, 23.1), (9000, 1109300, 13040500)),
    "children_aged_0_19_projected": ("2031", (21.1, 22.3, 22.5), (9300, 1164800, 13357000)),
    "pupils_minority_ethnic": ("2021/22", (None, 27.8, 35.0), (None, 195083, 2835124)),
    "pupils_semh": ("2021/22", (None, 2.9, 3.0), (None, 20861, 250272)),
    "children_in_poverty": ("2020/21", (8.5, 16.1, 18.5), (None, None, None)),
    "life_expectancy_boys": ("2018-2020", (83.2, 79.2, 79.4), (None, None, None)),
    "life_expectancy_girls": ("2018-2020", (85.0, 82.7, 83.1), (None, None, None)),
}


def snapshot_rows() -> list[dict]:
    rows = []
    for indicator, (period, values, counts) in SNAPSHOT.items():
        for (code, name, area_type), value, count in zip(AREAS, values, counts, strict=True):
            if value is None:
                continue
            rows.append(
                {
                    "area_code": code,
                    "area_name": name,
                    "area_type": area_type,
                    "indicator": indicator,
                    "period": period,
                    "value": f"{value:.1f}" if isinstance(value, float) else str(value),
                    "count": "" if count is None else str(count),
                    "denominator": "",
                }
            )
    return rows


def generate_child_health(out_dir: Path, seed: int = 2023) -> list[Path]:
    """Write the snapshot under ``out_dir/child_health``; returns its path."""
    folder = Path(out_dir) / "child_health"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / FILE_NAME
    pd.DataFrame(snapshot_rows()).to_csv(path, index=False, lineterminator="\n")
    return [path]
