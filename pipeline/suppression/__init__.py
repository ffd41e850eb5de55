"""Disclosure control for published tables (pure Python: no Dagster, no DuckDB)."""
