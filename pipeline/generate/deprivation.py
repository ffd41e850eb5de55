"""A SYNTHETIC extract of the English Indices of Deprivation district ranks for the East Midlands.

``generate_deprivation(out_dir, seed)`` writes ``out_dir/deprivation/iod_district_ranks_east_midlands_SYNTHETIC.csv``
in the contract of pipeline/sources/deprivation.py: one row per East Midlands local authority district (2019
boundaries, real GSS codes and names) for the 2010, 2015 and 2019 editions.

What is real and what is not:

* Rutland's ranks are the seed's (tests/fixtures/figures.yaml ``deprivation_5_2``, seed section 5.2, quoting MHCLG's
  indices): 293 in 2010, 291 in 2015, 303 of 317 in 2019, 1 = most deprived.
* The number of districts ranked is the real one of each edition: 317 in 2019, 326 in 2010 and 2015 (the seed
  gives only 2019's).
* EVERY OTHER DISTRICT'S RANK IS SYNTHETIC. The published file (MHCLG, "File 10: local authority district
  summaries", Open Government Licence v3.0) could not be obtained here, so the other 39 districts get distinct
  random ranks, drawn so that in 2019 exactly three districts of the region rank above Rutland: Rutland is then
  the 4th least deprived district in the East Midlands, as the seed says. They are not the real ranks and must
  not be quoted. A council replaces this file with the published extract (same columns) in its drop zone.

Deterministic: each edition draws from ``numpy.random.default_rng([seed, year])``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

REGION_CODE = "E12000004"  # East Midlands
HOME_LA = "E06000017"  # Rutland
# Seed 5.2: Rutland's rank by edition; the real number of districts each edition ranks.
HOME_RANK = {2010: 293, 2015: 291, 2019: 303}
DISTRICTS_RANKED = {2010: 326, 2015: 326, 2019: 317}
# Seed 5.2: "Rutland is the 4th least deprived local authority area in the East Midlands" (2019): three above it.
LESS_DEPRIVED_THAN_HOME = {2010: 5, 2015: 5, 2019: 3}  # 2010, 2015: synthetic, not seed figures
FILE_NAME = "iod_district_ranks_east_midlands_SYNTHETIC.csv"

# The 40 local authority districts of the East Midlands (2019 boundaries; Northamptonshire's seven districts
# became two unitary authorities in 2021), ONS GSS codes.
EAST_MIDLANDS_DISTRICTS: dict[str, str] = {
    "E06000015": "Derby", "E06000016": "Leicester", "E06000017": "Rutland", "E06000018": "Nottingham",
    "E07000032": "Amber Valley", "E07000033": "Bolsover", "E07000034": "Chesterfield",
    "E07000035": "Derbyshire Dales", "E07000036": "Erewash", "E07000037": "High Peak",
    "E07000038": "North East Derbyshire", "E07000039": "South Derbyshire",
    "E07000129": "Blaby", "E07000130": "Charnwood", "E07000131": "Harborough", "E07000132": "Hinckley and Bosworth",
    "E07000133": "Melton", "E07000134": "North West Leicestershire", "E07000135": "Oadby and Wigston",
    "E07000136": "Boston", "E07000137": "East Lindsey", "E07000138": "Lincoln", "E07000139": "North Kesteven",
    "E07000140": "South Holland", "E07000141": "South Kesteven", "E07000142": "West Lindsey",
    "E07000150": "Corby", "E07000151": "Daventry", "E07000152": "East Northamptonshire", "E07000153": "Kettering",
    "E07000154": "Northampton", "E07000155": "South Northamptonshire", "E07000156": "Wellingborough",
    "E07000170": "Ashfield", "E07000171": "Bassetlaw", "E07000172": "Broxtowe", "E07000173": "Gedling",
    "E07000174": "Mansfield", "E07000175": "Newark and Sherwood", "E07000176": "Rushcliffe",
}  # fmt: skip


def synthetic_ranks(year: int, seed: int = 2023) -> dict[str, int]:
    """Distinct ranks (1 = most deprived) of every district in one edition: Rutland's from the seed, the others
    random, with exactly LESS_DEPRIVED_THAN_HOME[year] districts ranked above (less deprived than) Rutland."""
    rng = np.random.default_rng([seed, year])
    home, ranked, above = HOME_RANK[year], DISTRICTS_RANKED[year], LESS_DEPRIVED_THAN_HOME[year]
    others = [code for code in EAST_MIDLANDS_DISTRICTS if code != HOME_LA]
    less_deprived = rng.choice(np.arange(home + 1, ranked + 1), size=above, replace=False)
    more_deprived = rng.choice(np.arange(1, home), size=len(others) - above, replace=False)
    ranks = rng.permutation(np.concatenate([less_deprived, more_deprived]))
    return {HOME_LA: home, **{code: int(rank) for code, rank in zip(others, ranks, strict=True)}}


def generate_deprivation(out_dir: Path, seed: int = 2023) -> list[Path]:
    """Write the synthetic extract under ``out_dir/deprivation``; returns its path."""
    folder = Path(out_dir) / "deprivation"
    folder.mkdir(parents=True, exist_ok=True)
    rows = [
        {
            "year": year,
            "la_code": code,
            "la_name": EAST_MIDLANDS_DISTRICTS[code],
            "region_code": REGION_CODE,
            "rank": rank,
            "districts_ranked": DISTRICTS_RANKED[year],
        }
        for year in sorted(HOME_RANK)
        for code, rank in synthetic_ranks(year, seed).items()
    ]
    path = folder / FILE_NAME
    pd.DataFrame(rows).to_csv(path, index=False, lineterminator="\n")
    return [path]
