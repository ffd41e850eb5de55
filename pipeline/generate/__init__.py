"""Synthetic raw extracts for the demo and the benchmarks (see census.py)."""

from pipeline.generate.census import census_plan, generate_census, spring_census_date

__all__ = ["census_plan", "generate_census", "spring_census_date"]
