"""The academic year of a pupil-level outcome extract (exclusions, attainment): SQL helpers shared by those sources.

A school's management information system writes the academic year as ``2021/22``, DfE's explore-education-statistics
files as ``202122`` (their time_period); both are accepted, and ``2021-22``. The two years must follow each other.
The warehouse keeps the DfE form, an integer (``time_period`` 202122), which is also the period a corrected
extract replaces. Pure: these functions return SQL text.
"""

ACADEMIC_YEAR_PATTERN = "([0-9]{4})[/-]?([0-9]{2})"

MACROS = rf"""
CREATE OR REPLACE TEMP MACRO outcome_time_period(v) AS CASE
    WHEN regexp_full_match(v, '{ACADEMIC_YEAR_PATTERN}')
        AND (try_cast(regexp_extract(v, '{ACADEMIC_YEAR_PATTERN}', 1) AS INTEGER) + 1) % 100
            = try_cast(regexp_extract(v, '{ACADEMIC_YEAR_PATTERN}', 2) AS INTEGER)
    THEN try_cast(regexp_extract(v, '{ACADEMIC_YEAR_PATTERN}', 1) AS INTEGER) * 100
        + try_cast(regexp_extract(v, '{ACADEMIC_YEAR_PATTERN}', 2) AS INTEGER)
END;
CREATE OR REPLACE TEMP MACRO outcome_year_start(v) AS make_date(outcome_time_period(v) // 100, 9, 1);
CREATE OR REPLACE TEMP MACRO outcome_year_end(v) AS make_date(outcome_time_period(v) // 100 + 1, 8, 31);
"""


def academic_year_broken(column: str = "academic_year") -> str:
    """SQL, TRUE when the column is given but is not an academic year such as 2021/22 or 202122."""
    return f"{column} IS NOT NULL AND outcome_time_period({column}) IS NULL"


def outside_academic_year(date_sql: str, column: str = "academic_year") -> str:
    """SQL, TRUE when the date falls outside 1 September .. 31 August of the row's academic year."""
    return (
        f"outcome_time_period({column}) IS NOT NULL AND {date_sql} IS NOT NULL "
        f"AND ({date_sql} < outcome_year_start({column}) OR {date_sql} > outcome_year_end({column}))"
    )
