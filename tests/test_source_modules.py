"""A source is a module of pipeline/sources/ with its ingest asset (README: Adding a source): each is in the code
location and reads a folder the check before a run knows."""

import importlib
import pkgutil

import dagster as dg
import pytest

import pipeline.sources
from pipeline.drop_zone import SOURCE_FOLDERS

from source_support import quarantine


def source_assets(package=pipeline.sources) -> dict[str, list[dg.AssetsDefinition]]:
    """module name -> the assets it defines, for every module of the package that defines one."""
    found = {}
    for module_info in pkgutil.iter_modules(package.__path__):
        module = importlib.import_module(f"{package.__name__}.{module_info.name}")
        assets = [v for v in vars(module).values() if isinstance(v, dg.AssetsDefinition)]
        if assets:
            found[module_info.name] = assets
    return found


def test_every_source_module_is_a_drop_zone_folder_and_its_asset_is_in_the_code_location():
    from pipeline.definitions import defs

    by_module = source_assets()
    assert sorted(by_module) == sorted(SOURCE_FOLDERS)
    in_location = {id(asset) for asset in defs.assets}
    assert [asset.key for assets in by_module.values() for asset in assets if id(asset) not in in_location] == []
    assert all(key.path[0] == "raw" for assets in by_module.values() for asset in assets for key in asset.keys)


def test_a_source_module_missing_from_the_code_location_or_the_folders_is_found(tmp_path, monkeypatch):
    package = tmp_path / "fake_sources"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "transport.py").write_text(
        "import dagster as dg\n\n@dg.asset(key=['raw', 'transport_journeys'])\ndef transport_journeys():\n    pass\n"
    )
    (package / "helpers.py").write_text("X = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    found = source_assets(importlib.import_module("fake_sources"))
    assert list(found) == ["transport"] and "transport" not in SOURCE_FOLDERS


# ---------- a key given twice in one file (the aggregate sources; finance's is dbt's unique test) ----------

REPEATED_KEYS = [
    # (source, header, the key written one way, the same key written another way, the column named)
    ("population", "year,la_code,la_name,age,sex,population", "2022,857,Rutland,0,M,154",
     "2022,E06000017,Rutland,0,1,150", "age"),
    ("population", "year,la_code,la_name,age,sex,population", "2022,857,Rutland,90,F,154",
     "2022,857,Rutland,90+,F,150", "age"),
    ("child_health", "area_code,area_name,area_type,indicator,period,value,count,denominator",
     "E06000017,Rutland,LA,live_births,2021,274,,", "e06000017,Rutland,LA,LIVE_BIRTHS,2021,270,,", "indicator"),
    ("deprivation", "year,la_code,la_name,region_code,rank,districts_ranked",
     "2019,E06000017,Rutland,E12000004,293,317", "2019,857,Rutland,E12000004,290,317", "la_code"),
]  # fmt: skip


@pytest.mark.parametrize(("source", "header", "one_way", "another_way", "column"), REPEATED_KEYS)
def test_a_key_given_twice_in_one_file_quarantines_both_rows(tmp_path, con, source, header, one_way, another_way,
                                                              column):  # fmt: skip
    """Both rows loaded, written two ways or not, and the build failed later on dbt's unique test (or counted twice).
    Like the row-level sources, every row of a repeated key is quarantined: which is right cannot be told."""
    from pipeline.ingest import ingest_source

    module = importlib.import_module(f"pipeline.sources.{source}")
    contract = getattr(module, f"{source}_contract")()
    name = {"population": "mid_2022_rutland.csv", "child_health": "child_health_snapshot_2023-03.csv",
            "deprivation": "iod_district_ranks.csv"}[source]  # fmt: skip
    path = tmp_path / source / name
    path.parent.mkdir()
    path.write_text("\n".join([header, one_way, another_way]) + "\n", encoding="utf-8")
    [result] = ingest_source(con, contract, tmp_path)
    assert (result.rows_read, result.rows_loaded, result.rows_quarantined) == (2, 0, 2)
    assert quarantine(con) == [(f"{source}/{name}", 2, column, "row_repeated_in_file"),
                               (f"{source}/{name}", 3, column, "row_repeated_in_file")]  # fmt: skip
