"""Baseline (c) of `send-pipeline bench`: the census marts with pandas, straight from the raw census CSVs.

    python -m pipeline.bench_baselines.pandas_census_marts --raw-dir RAW --out result.json

The same logic as the bare DuckDB baseline and dbt_project/models (see
:mod:`pipeline.bench_baselines.duckdb_census_marts`), written the way a pandas user would: read only the columns
needed, low-cardinality codes as categoricals, de-duplicate with ``duplicated``/``sort_values`` only where a
pupil has more than one counted row, ``groupby`` and merge onto the grid of censuses x codes.
"""

import sys
from pathlib import Path

import numpy as np
import pandas as pd

from pipeline.bench import baseline_main, census_csv_files, marts_document

USECOLS = (
    "upn", "laestab", "census_date", "enrol_status", "sen_provision", "sen_primary_need", "fsm_eligible",
    "pupil_premium",
)  # fmt: skip
DTYPES = {
    "upn": "str",
    "laestab": "category",
    "census_date": "category",
    "enrol_status": "category",
    "sen_provision": "category",
    "sen_primary_need": "category",
    "fsm_eligible": "category",
    "pupil_premium": "category",
}
TRUE_TEXT = {"TRUE", "T", "Y", "YES", "1"}
DATE_FORMATS = ("%Y-%m-%d", "%Y-%m-%d %H:%M:%S", "%d/%m/%Y", "%d/%m/%Y %H:%M:%S", "%Y-%b-%d %H:%M:%S", "%Y-%b-%d")


def parse_date(text: str) -> pd.Timestamp:
    for fmt in DATE_FORMATS:
        try:
            return pd.to_datetime(text, format=fmt)
        except (ValueError, TypeError):
            continue
    return pd.NaT


def recoded(column: pd.Series, recode: dict[str, str]) -> pd.Categorical:
    """Upper-case (and recode) a categorical's categories, merging those that become equal; rows untouched."""
    old = column.cat.categories.astype(str)
    new = pd.Index([recode.get(c.upper(), c.upper()) for c in old])
    categories = new.unique()
    codes = column.cat.codes.to_numpy()
    mapping = categories.get_indexer(new)
    return pd.Categorical.from_codes(np.where(codes >= 0, mapping[codes], -1), categories=categories)


def as_bool(column: pd.Series) -> np.ndarray:
    truthy = np.asarray([str(c).upper() in TRUE_TEXT for c in column.cat.categories] + [False])
    return truthy[column.cat.codes.to_numpy()]  # code -1 (empty) picks the trailing False


def read_census(path: Path, file_index: int) -> pd.DataFrame:
    frame = pd.read_csv(path, usecols=list(USECOLS), dtype=DTYPES, keep_default_na=False, na_values=[""])
    frame["upn"] = frame["upn"].str.upper()
    frame["enrol_status"] = recoded(frame["enrol_status"], {})
    frame["sen_provision"] = recoded(frame["sen_provision"], {"S": "E"})
    frame["sen_primary_need"] = recoded(frame["sen_primary_need"], {"AUT": "ASD"})
    frame["fsm_eligible"] = as_bool(frame["fsm_eligible"])
    frame["pupil_premium"] = as_bool(frame["pupil_premium"])
    dates = [parse_date(str(c)) for c in frame["census_date"].cat.categories] + [pd.NaT]
    frame["census_date"] = pd.DatetimeIndex(dates)[frame["census_date"].cat.codes.to_numpy()]
    frame["file_index"] = np.int16(file_index)  # files in name order: the ingest's order
    return frame


def concat_frames(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """pd.concat keeping categoricals categorical (their categories made the same first)."""
    for column in frames[0].columns:
        if isinstance(frames[0][column].dtype, pd.CategoricalDtype):
            union = pd.Index([]).append([f[column].cat.categories.astype(object) for f in frames]).unique()
            for frame in frames:
                frame[column] = frame[column].cat.set_categories(union)
    return pd.concat(frames, ignore_index=True)


def deduplicated_pupils(files: list[Path]) -> pd.DataFrame:
    pupils = concat_frames([read_census(path, i) for i, path in enumerate(files)])
    # a later extract of the same census replaces the earlier one
    latest = pupils.groupby("census_date")["file_index"].transform("max")
    pupils = pupils[(pupils["file_index"] == latest) & pupils["enrol_status"].isin(["C", "M"])].copy()
    year, month = pupils["census_date"].dt.year, pupils["census_date"].dt.month
    pupils["time_period"] = np.where(month >= 9, year * 100 + (year + 1) % 100, (year - 1) * 100 + year % 100)
    pupils["census_term"] = np.select(
        [month.isin([1, 2]), month.isin([5, 6]), month.isin([9, 10, 11])], ["Spring", "Summer", "Autumn"], None
    )
    keys = ["time_period", "census_term", "upn"]
    repeated = pupils.duplicated(keys, keep=False)
    if repeated.any():  # a pupil with two counted rows in one census: the first by enrol status, laestab, file
        first = (
            pupils[repeated]
            .astype({"laestab": str, "enrol_status": str})
            .sort_values(["enrol_status", "laestab", "file_index"], kind="stable")
            .drop_duplicates(keys, keep="first")
        )
        pupils = pd.concat([pupils[~repeated], pupils.loc[first.index]])
    return pupils


def census_marts(raw_dir: Path, seeds_dir: Path) -> tuple[dict, int]:
    files = census_csv_files(raw_dir)
    if not files:
        raise SystemExit(f"no census CSV files in {raw_dir / 'census'}")
    pupils = deduplicated_pupils(files)
    censuses = pupils[["time_period", "census_term"]].drop_duplicates()
    sen = pupils[pupils["sen_provision"].isin(["E", "K"])]

    need_codes = pd.read_csv(seeds_dir / "sen_primary_need_codes.csv", dtype=str, keep_default_na=False)
    need_counts = (
        sen.groupby(["time_period", "census_term", "sen_primary_need"], observed=True)
        .size()
        .rename("pupils")
        .reset_index()
        .rename(columns={"sen_primary_need": "primary_need"})
    )
    need_counts["primary_need"] = need_counts["primary_need"].astype(str)
    primary_need = censuses.merge(need_codes, how="cross").merge(
        need_counts, on=["time_period", "census_term", "primary_need"], how="left"
    )
    primary_need["pupils"] = primary_need["pupils"].fillna(0).astype(int)
    primary_need["display_order"] = primary_need["display_order"].astype(int)

    provision_codes = pd.read_csv(seeds_dir / "sen_provision_codes.csv", dtype=str, keep_default_na=False)
    provision_counts = (
        sen.groupby(["time_period", "census_term", "sen_provision"], observed=True)
        .agg(pupils=("upn", "size"), pupils_pupil_premium=("pupil_premium", "sum"), pupils_fsm=("fsm_eligible", "sum"))
        .reset_index()
    )
    provision_counts["sen_provision"] = provision_counts["sen_provision"].astype(str)
    provision = censuses.merge(provision_codes, how="cross").merge(
        provision_counts, on=["time_period", "census_term", "sen_provision"], how="left"
    )
    for column in ("pupils", "pupils_pupil_premium", "pupils_fsm"):
        provision[column] = provision[column].fillna(0).astype(int)

    document = marts_document(
        "pandas",
        primary_need[["time_period", "census_term", "primary_need", "primary_need_label", "display_order", "pupils"]]
        .astype(object)
        .itertuples(index=False, name=None),
        provision[["time_period", "census_term", "sen_provision", "sen_provision_label", "pupils",
                   "pupils_pupil_premium", "pupils_fsm"]]
        .astype(object)
        .itertuples(index=False, name=None),
    )  # fmt: skip
    return document, len(pupils)


def main(argv: list[str] | None = None) -> int:
    return baseline_main("pandas", "pipeline.bench_baselines.pandas_census_marts", __doc__, census_marts, argv)


if __name__ == "__main__":
    sys.exit(main())
