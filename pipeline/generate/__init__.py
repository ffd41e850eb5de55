"""Synthetic raw extracts for the demo and the benchmarks, one module per source, and the real DfE release."""

from pathlib import Path

from pipeline.generate.attainment import generate_attainment
from pipeline.generate.census import census_plan, generate_census, spring_census_date
from pipeline.generate.child_health import generate_child_health
from pipeline.generate.deprivation import generate_deprivation
from pipeline.generate.dfe import copy_dfe_release
from pipeline.generate.disability_register import generate_disability_register
from pipeline.generate.ehcna import generate_ehcna
from pipeline.generate.exclusions import generate_exclusions
from pipeline.generate.finance import generate_finance
from pipeline.generate.health_checks import generate_health_checks
from pipeline.generate.placements import generate_placements
from pipeline.generate.population import generate_population

__all__ = ["census_plan", "generate_all", "generate_census", "spring_census_date"]


def generate_all(out_dir: Path, scale: str = "rutland", seed: int = 2023, years: list[int] | None = None) -> list[Path]:
    """Every source's extracts into the drop zone out_dir/<source>/.

    The census follows the scale, and so do the LD health checks (scaled by the census's ratio of rolls: they link
    to no other source); the other sources are Rutland's at every scale (they link to the Rutland census of the
    same seed and are small), and the DfE release is the real one.
    """
    paths = generate_census(out_dir, scale=scale, seed=seed, years=years)
    paths += generate_disability_register(out_dir, seed=seed)
    paths += generate_placements(out_dir, seed=seed)
    paths += generate_ehcna(out_dir, seed=seed)
    paths += generate_finance(out_dir, seed=seed)
    paths += generate_population(out_dir, seed=seed)
    paths += generate_exclusions(out_dir, seed=seed)
    paths += generate_attainment(out_dir, seed=seed)
    paths += generate_deprivation(out_dir, seed=seed)
    paths += generate_child_health(out_dir, seed=seed)
    paths += generate_health_checks(out_dir, scale=scale, seed=seed)
    paths += copy_dfe_release(out_dir)
    return paths
