"""dbt exposures as Dagster assets, so lineage reaches the consumers (dagster-dbt 0.29 loads models, seeds and
snapshots only). An exposure whose meta names a Dagster asset key (the BI release) is that asset already."""

import json

import dagster as dg

from pipeline.dbt_assets import SendDbtTranslator
from pipeline.dbt_project import dbt_project


def dbt_exposure_specs() -> list[dg.AssetSpec]:
    manifest = json.loads(dbt_project.manifest_path.read_text())
    translator = SendDbtTranslator()
    return [
        dg.AssetSpec(
            key=["exposures", exposure["name"]],
            deps=[translator.get_asset_key(manifest["nodes"][uid]) for uid in exposure["depends_on"]["nodes"]],
            description=exposure.get("description"),
            group_name="exposures",
            kinds={"dbt", exposure["type"]},
            metadata={"dbt_exposure": exposure["unique_id"]},
        )
        for exposure in manifest["exposures"].values()
        if not exposure.get("meta", {}).get("dagster_asset_key")
    ]
