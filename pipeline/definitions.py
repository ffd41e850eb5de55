"""The Dagster code location: `dagster dev -m pipeline.definitions`."""

import dagster as dg

from pipeline.checks.census_totals import census_totals_checks
from pipeline.dbt_assets import dbt_resource, send_dbt_models
from pipeline.dbt_docs import dbt_docs
from pipeline.release import publish_release
from pipeline.resources import SendWarehouse
from pipeline.schedules import nightly_job, nightly_schedule
from pipeline.sensors import raw_drop_zone_sensor
from pipeline.sources.attainment import attainment_results
from pipeline.sources.census import census_pupils
from pipeline.sources.child_health import child_health_indicators
from pipeline.sources.deprivation import deprivation_ranks
from pipeline.sources.dfe import dfe_ehcp_2025
from pipeline.sources.disability_register import disability_register
from pipeline.sources.ehcna import ehcna_extracts
from pipeline.sources.exclusions import exclusions
from pipeline.sources.finance import finance_high_needs
from pipeline.sources.health_checks import ld_health_checks
from pipeline.sources.placements import placements
from pipeline.sources.population import population_estimates

defs = dg.Definitions(
    assets=[
        census_pupils,
        disability_register,
        placements,
        ehcna_extracts,
        finance_high_needs,
        population_estimates,
        exclusions,
        attainment_results,
        deprivation_ranks,
        child_health_indicators,
        ld_health_checks,
        dfe_ehcp_2025,
        send_dbt_models,
        dbt_docs,
        publish_release,
    ],
    asset_checks=[census_totals_checks],
    jobs=[nightly_job],
    schedules=[nightly_schedule],
    sensors=[raw_drop_zone_sensor],
    resources={"warehouse": SendWarehouse(), "dbt": dbt_resource},
)
