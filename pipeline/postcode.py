"""UK postcodes reduced to their district (outward code) at ingest: a full postcode never enters the warehouse.

SQL builders (pure text) for the ingest contracts; the Python twin is for tests and small lookups.
"""

import re

# Outward code (area + district, e.g. LE15, SW1A) then the inward code (sector digit + unit, e.g. 6HA).
POSTCODE_REGEX = "[A-Z]{1,2}[0-9][0-9A-Z]? ?[0-9][A-Z]{2}"


def postcode_district(postcode: str) -> str | None:
    compact = re.sub(r"\s+", "", postcode or "").upper()
    if not re.fullmatch(POSTCODE_REGEX.replace(" ?", ""), compact):
        return None
    return compact[:-3]


def postcode_district_sql(expression: str) -> str:
    """SQL for the district of a postcode expression, NULL when it is not a postcode."""
    compact = f"upper(regexp_replace({expression}, '\\s+', '', 'g'))"
    pattern = POSTCODE_REGEX.replace(" ?", "")
    return f"CASE WHEN regexp_full_match({compact}, '{pattern}') THEN left({compact}, length({compact}) - 3) END"
