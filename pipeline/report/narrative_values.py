"""The figures analyst-written narrative may quote, read from a published release: name -> formatted text.

``narrative_values(con)`` takes a DuckDB connection to the published reporting database
(``warehouse/published/send_reporting.duckdb``, schema ``reporting``) and returns the mapping that
:func:`pipeline.report.analyst_narrative.load_narrative` fills ``{{ name }}`` placeholders from. Every value is a
published cell, formatted for prose: a whole number with thousands separators (``1,234``); a suppressed cell stays
``c`` (and ``x``, ``z``, ``low`` stay as published), so narrative can never show a number the release withholds.

Names (``<YYYY>`` is the calendar year of the census or reference date; a name exists only when the release holds
its cell):

* ``la.name``, ``release.id``
* ``send.pupils_<YYYY>``, ``send.ehcp_<YYYY>``, ``send.sen_support_<YYYY>``: pupils with SEN (EHC plan + SEN
  support), with an EHC plan, on SEN support at the Spring school census of that year (table send_provision)
* ``ehcp.total_<YYYY>``: EHC plans maintained on the SEN2 census day in January of that year;
  ``ehcp.total_april_<YYYY>``: on 1 April of that year (table send_ehcp_caseload, all needs)
* ``population.total_<YYYY>``, ``population.aged_0_19_<YYYY>``, ``population.aged_0_25_<YYYY>``: ONS mid-year
  estimates, both sexes (table send_population)
"""

from dataclasses import dataclass

import duckdb

SYMBOLS = ("c", "x", "z", "low")
# The school census is taken every term; the needs assessment, as DfE's "Special educational needs in England",
# reports the Spring (January) census: of a table published by census term, the report and its narrative read only
# these rows (a release publishes every census term its extracts hold).
REPORTED_CENSUS_TERM = "Spring term"
SPRING_CENSUS = f"time_identifier = '{REPORTED_CENSUS_TERM}'"


@dataclass(frozen=True)
class ValueSpec:
    name: str  # e.g. "send.ehcp_{year}"
    table: str
    column: str
    where: str  # SQL over the table's text columns


VALUE_SPECS: tuple[ValueSpec, ...] = (
    ValueSpec("send.pupils_{year}", "send_provision", "pupils", f"sen_provision = 'Total' AND {SPRING_CENSUS}"),
    ValueSpec("send.ehcp_{year}", "send_provision", "pupils", f"sen_provision = 'E' AND {SPRING_CENSUS}"),
    ValueSpec("send.sen_support_{year}", "send_provision", "pupils", f"sen_provision = 'K' AND {SPRING_CENSUS}"),
    ValueSpec("ehcp.total_{year}", "send_ehcp_caseload", "ehcps_maintained",
              "primary_need = 'Total' AND time_identifier = 'Academic year'"),
    ValueSpec("ehcp.total_april_{year}", "send_ehcp_caseload", "ehcps_maintained",
              "primary_need = 'Total' AND time_identifier = 'April'"),
    ValueSpec("population.total_{year}", "send_population", "population", "sex = 'Total' AND age_band = 'All ages'"),
    ValueSpec("population.aged_0_19_{year}", "send_population", "population", "sex = 'Total' AND age_band = '0-19'"),
    ValueSpec("population.aged_0_25_{year}", "send_population", "population", "sex = 'Total' AND age_band = '0-25'"),
)  # fmt: skip


def calendar_year(time_period: str) -> int:
    """The calendar year a period falls in for prose: 202223 (Spring 2023 census, January 2023) -> 2023."""
    text = str(time_period)
    return int(text[:4]) + 1 if len(text) == 6 else int(text[:4])


def format_cell(cell: object) -> str:
    """A published cell as prose shows it: 1234 -> '1,234'; symbols (c, x, z, low) and other text unchanged."""
    text = str(cell).strip()
    if text in SYMBOLS:
        return text
    try:
        return f"{int(text):,}"
    except ValueError:
        return text


def published_tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    rows = con.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = 'reporting'").fetchall()
    return {row[0] for row in rows}


def narrative_values(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """Every name the narrative may use -> its formatted published cell (see the module docstring)."""
    tables = published_tables(con)
    values: dict[str, str] = {}
    if "release" in tables:
        values["release.id"] = str(con.execute("SELECT release_id FROM reporting.release").fetchone()[0])
    if "send_provision" in tables:
        row = con.execute("SELECT la_name FROM reporting.send_provision WHERE la_name IS NOT NULL LIMIT 1").fetchone()
        if row:
            values["la.name"] = str(row[0])
    for spec in VALUE_SPECS:
        if spec.table not in tables:
            continue
        rows = con.execute(
            f"SELECT time_period, {spec.column} FROM reporting.{spec.table} WHERE {spec.where} ORDER BY time_period"
        ).fetchall()
        for time_period, cell in rows:
            values[spec.name.format(year=calendar_year(time_period))] = format_cell(cell)
    return values
