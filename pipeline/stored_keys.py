"""The cell keys earlier releases stored (publication.suppression_pattern, publication.published_counts), brought
to the form the release now builds, so that rule 7 (an earlier pattern carried forward) and the earlier figures a
reader knows still find their cells when a published table's columns change. Each upgrade runs once: a key already
in the current form is left alone."""

import duckdb

from pipeline.suppression import key_from_text, key_to_text

PUBLICATION_TABLES = ("publication.suppression_pattern", "publication.published_counts")

# Text replaced in every stored key: the caseload's time_identifier before it was EES's own (Academic year on the
# SEN2 census day, April), and dates published with a midnight time.
REPLACED = (
    ("time_identifier=SEN2 census day", "time_identifier=Academic year"),
    ('time_identifier=Month"', 'time_identifier=April"'),
    (' 00:00:00"', '"'),
)
TIMELINESS_MEASURE = "ehcna_events"  # send_ehcna_timeliness's count, before it was published by counted_to


def upgrade_stored_keys(con: duckdb.DuckDBPyConnection) -> None:
    for old, new in REPLACED:
        _replace_in_keys(con, old, new)
    _add_counted_to(con)


def _replace_in_keys(con: duckdb.DuckDBPyConnection, old: str, new: str) -> None:
    """Text ``old`` replaced by ``new`` in every stored key that holds it."""
    for table in PUBLICATION_TABLES:
        con.execute(
            f"UPDATE {table} SET cell_key = replace(cell_key, $old, $new) WHERE contains(cell_key, $old)",
            {"old": old, "new": new},
        )


def with_counted_to(key: tuple[str, ...], counted_to: dict[str, str]) -> tuple[str, ...]:
    """A timeliness key with its year's last counted day: the mart's for that year, else 31 December."""
    [period] = [part.split("=", 1)[1] for part in key[1:] if part.startswith("time_period=")]
    return (key[0], *sorted([*key[1:], f"counted_to={counted_to.get(period, f'{period}-12-31')}"]))


def _add_counted_to(con: duckdb.DuckDBPyConnection) -> None:
    stored = " UNION ALL ".join(f"SELECT cell_key FROM {table}" for table in PUBLICATION_TABLES)
    stale = con.execute(
        f"SELECT DISTINCT cell_key FROM ({stored}) "
        "WHERE starts_with(cell_key, $prefix) AND NOT contains(cell_key, 'counted_to=')",
        {"prefix": f'["{TIMELINESS_MEASURE}"'},
    ).fetchall()
    if not stale:
        return
    counted_to = dict(
        con.execute(
            "SELECT time_period::VARCHAR, strftime(counted_to, '%Y-%m-%d') FROM marts.fct_ehcna_timeliness"
        ).fetchall()
    )
    for (text,) in stale:
        new = key_to_text(with_counted_to(key_from_text(text), counted_to))
        for table in PUBLICATION_TABLES:
            con.execute(f"UPDATE {table} SET cell_key = $new WHERE cell_key = $old", {"new": new, "old": text})


def to_current_la_code(con: duckdb.DuckDBPyConnection, old_la_code: str, new_la_code: str) -> None:
    """Stored keys made under a GSS code DfE's EHC plans release gave the home LA before (its rows for the same old
    code: North Yorkshire 815 was E10000023 until DfE recoded it E06000065) take the code it has now, so the earlier
    pattern and figures still find their cells. Cells name the LA by its GSS code only."""
    former = con.execute(
        "SELECT DISTINCT new_la_code FROM staging.stg_dfe__ehcp_caseload "
        "WHERE geographic_level = 'Local authority' AND old_la_code = $old AND new_la_code <> $new",
        {"old": old_la_code, "new": new_la_code},
    ).fetchall()
    for (code,) in former:
        _replace_in_keys(con, f'"new_la_code={code}"', f'"new_la_code={new_la_code}"')
