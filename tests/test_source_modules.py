"""A source is a module of pipeline/sources/ with its ingest asset (README: Adding a source): each is in the code
location and reads a folder the check before a run knows."""

import importlib
import pkgutil

import dagster as dg

import pipeline.sources
from pipeline.drop_zone import SOURCE_FOLDERS


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
