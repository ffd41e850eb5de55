"""Shared ingest engine: raw extract -> DuckDB, set-based.

A source module (pipeline/sources/<source>.py) declares a Contract: the columns it expects, the rules a row must
satisfy (each a SQL condition that is TRUE when the rule is broken) and the SQL that turns a valid row into a
warehouse row. This module does the rest, the same way for every source:

* has the file read by pipeline.extract_reader (CSV or XLSX, every value as text, each row with the line of the
  file it starts on) and matches its header to the contract's columns (stage_extract: view ``_extract``);
* loads the rows that break no rule, quarantines the others in ``raw.quarantine`` with file, row number (the line
  of the file the row starts on), column and rule (never the value: a UPN in an error table is itself a leak);
* records ``raw.file_ledger``: one row per file version (name, sha256, rows read / loaded / quarantined);
  a file already ingested with the same sha256 is skipped, a changed file replaces its earlier rows, a file
  removed from raw/ takes its rows with it (ingest_source);
* does all of it for one file in one transaction, and checks that rows read = loaded + quarantined.

A file that cannot be read at all raises ExtractError naming the file (and row and column where known).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import duckdb

from pipeline.drop_zone import drop_zone_files, file_sha256_and_lines, first_and_more
from pipeline.extract_reader import (
    RAW_ROWS,
    ExtractError,
    clear_stale_scratch,
    column_letters,
    drop_staged,
    normalise_header,
    physical_column,
    read_raw_rows,
    staging_path,
)
from pipeline.nightly_state import REMOVED
from pipeline.pseudonymise import PSEUDONYM_HEX_DIGITS, hmac_sql

LEDGER_DDL = """
CREATE TABLE IF NOT EXISTS raw.file_ledger (
    source VARCHAR NOT NULL,
    file_name VARCHAR NOT NULL,
    sha256 VARCHAR NOT NULL,
    rows_read BIGINT NOT NULL,
    rows_loaded BIGINT NOT NULL,
    rows_quarantined BIGINT NOT NULL,
    extra_columns VARCHAR[],
    superseded_files VARCHAR[],
    ingested_at TIMESTAMP NOT NULL DEFAULT current_timestamp
)
"""
QUARANTINE_DDL = """
CREATE TABLE IF NOT EXISTS raw.quarantine (
    source VARCHAR NOT NULL,
    file_name VARCHAR NOT NULL,
    file_sha256 VARCHAR NOT NULL,
    row_number BIGINT NOT NULL,
    column_name VARCHAR NOT NULL,
    rule VARCHAR NOT NULL,
    recorded_at TIMESTAMP NOT NULL DEFAULT current_timestamp
)
"""

# The pseudonym of a fixed text under the key the warehouse's pseudonyms were made with (its first pseudonymised file
# stores it): a file pseudonymised under another key would link to nothing already loaded (ingest_file refuses it).
KEY_CHECK_DDL = "CREATE TABLE IF NOT EXISTS raw.pseudonym_key_check (key_check UHUGEINT NOT NULL)"
# The rule (Contract.period_column) each raw table's periods were last settled by: when a contract's rule changes
# (the census's, from the census date to its term, 1 December 2026), files loaded under the old one may share a
# period the new one gives one file; they are loaded again once (ingest_source, files_sharing_a_period).
PERIOD_RULES_DDL = """
CREATE TABLE IF NOT EXISTS raw.period_rules (
    target_table VARCHAR NOT NULL,
    period_column VARCHAR NOT NULL,
    recorded_at TIMESTAMP NOT NULL DEFAULT current_timestamp
)
"""
# A set of files loaded together whose load has started and not finished (the EHCNA modules, parents first: a child
# module is checked against the parents' rows as they now are only in the run that loaded a parent, so a run stopped
# between modules must load the whole set again the next time; pipeline/sources/ehcna.py).
SETS_IN_PROGRESS_DDL = """
CREATE TABLE IF NOT EXISTS raw.sets_in_progress (
    source VARCHAR NOT NULL,
    started_at TIMESTAMP NOT NULL DEFAULT current_timestamp
)
"""
# Files to load again because a file that had replaced their periods was removed from raw/, or changed in place to
# other periods (gave them back): recorded in the transaction that removes (or loads) that file and cleared in the one
# that loads each again, so a night stopped or failed in between leaves them to its retry or the next night (known
# only in that moment, they were lost for good: the original's period missing from every later release).
RELOADS_PENDING_DDL = """
CREATE TABLE IF NOT EXISTS raw.reloads_pending (
    source VARCHAR NOT NULL,
    file_name VARCHAR NOT NULL,
    recorded_at TIMESTAMP NOT NULL DEFAULT current_timestamp
)
"""
KEY_CHECK_TEXT = "send-pseudonym-key-check"
# A file this large is named in the log before its ingest starts (~1.5 s for 64 MB of census; a national census of
# 800 MB takes ~19 s), so a long step says what it is working on; every file is logged when it is done.
ANNOUNCE_FROM_BYTES = 64 * 2**20

# Dates as the source contracts accept them: ISO, UK and the COLLECT style, with or without a midnight time, the year
# in four digits: strptime's %Y takes fewer (19/01/23 was 19 January of the year 23, loaded as such), so each form is
# tried only on text whose year is four digits (GLOB: ISO and COLLECT start with it, UK ends with it, before a time).
# Booleans: true for the first five words, false for the last five, NULL for any other text (list_position is NULL
# for a value not in the list, and for NULL). The same as CASE WHEN upper(v) IN (<true words>) THEN true WHEN
# upper(v) IN (<false words>) THEN false END, but a function of one column, which DuckDB evaluates once per distinct
# value of a dictionary-compressed column (tests/test_rule_sql.py): on a national census (9 M rows, one thread) the two
# not_true_or_false rules cost ~0.03 s of CPU each instead of ~0.15 s, and the load's two send_bool ~0.05 s instead
# of ~0.25 s.
MACROS = r"""
CREATE OR REPLACE TEMP MACRO send_date(v) AS CASE
    WHEN v GLOB '[0-9][0-9][0-9][0-9]-*' THEN coalesce(
        try_strptime(v, '%Y-%m-%d')::DATE,
        try_strptime(v, '%Y-%m-%d %H:%M:%S')::DATE,
        try_strptime(v, '%Y-%b-%d %H:%M:%S')::DATE,
        try_strptime(v, '%Y-%b-%d')::DATE)
    WHEN v GLOB '*/[0-9][0-9][0-9][0-9]' OR v GLOB '*/[0-9][0-9][0-9][0-9] *' THEN coalesce(
        try_strptime(v, '%d/%m/%Y')::DATE,
        try_strptime(v, '%d/%m/%Y %H:%M:%S')::DATE)
END;
CREATE OR REPLACE TEMP MACRO send_bool(v) AS
    list_position(['TRUE', 'T', 'Y', 'YES', '1', 'FALSE', 'F', 'N', 'NO', '0'], upper(v)) <= 5;
"""


class PseudonymKeyChanged(ExtractError):
    """SEND_PSEUDONYM_KEY is not the key the warehouse's pseudonyms were made with (the message never shows a key)."""


@dataclass(frozen=True)
class Rule:
    """A row-level rule. ``broken_when`` is SQL over the trimmed text columns, TRUE when the row breaks it."""

    column: str
    name: str
    broken_when: str

    @property
    def broken(self) -> str:
        """``broken_when`` as SQL that is TRUE or FALSE, never NULL (a rule over an empty value is not broken)."""
        return f"coalesce(({self.broken_when}), false)"


@dataclass(frozen=True)
class Derived:
    """A contract column a file may give in another form: when the file has every column of ``from_columns``, a
    row without a value of ``column`` takes ``sql`` (text over the row's trimmed text columns, e.g. FSM eligibility
    from the FSM start and end dates). The header then needs ``column`` or those columns."""

    column: str
    from_columns: tuple[str, ...]
    sql: str


@dataclass(frozen=True)
class Contract:
    source: str
    target_table: str  # e.g. raw.census_pupils
    file_glob: str  # relative to the source folder
    required_columns: tuple[str, ...]
    optional_columns: tuple[str, ...]
    rules: tuple[Rule, ...]
    # SELECT list turning a valid row of _extract into a warehouse row (may bind $hmac_ipad / $hmac_opad).
    load_select: str
    params: Mapping[str, object] = field(default_factory=dict)
    # A corrected extract for the same period replaces the earlier one even under another file name:
    # period_column is the SQL over the target table's columns that identifies a row's period.
    period_column: str | None = None
    # SQL run before the rules (e.g. CREATE OR REPLACE TEMP MACRO ...) for helpers this source alone needs.
    macros: str = ""
    # True for files published to a fixed layout (DfE statistics): a column the contract does not name is an
    # error naming the file and the column, not an extra column to ignore.
    strict_columns: bool = False
    # Required columns a file may give in another form (Derived): their from_columns are optional columns.
    derived: tuple[Derived, ...] = ()
    # A regular expression matched (re.match) against the file's name without its folder: each named group is a
    # text column every row of the file gets, for the rules and load_select (EHCNA's extract date). A file whose
    # name does not match fails naming it.
    name_pattern: str | None = None

    @property
    def columns(self) -> tuple[str, ...]:
        return self.required_columns + self.optional_columns

    @property
    def name_columns(self) -> tuple[str, ...]:
        """The columns the file's name gives (name_pattern's named groups)."""
        return tuple(re.compile(self.name_pattern).groupindex) if self.name_pattern else ()


def name_values(contract: Contract, file_name: str) -> dict[str, str]:
    """The values of contract.name_columns the file's name gives; ExtractError naming the file when it gives none."""
    if not contract.name_pattern:
        return {}
    found = re.match(contract.name_pattern, PurePosixPath(file_name).name)
    if found is None or None in found.groupdict().values():
        raise ExtractError(
            f"{file_name}: its name gives no {', '.join(contract.name_columns)} (names must match "
            f"{contract.name_pattern})"
        )
    return found.groupdict()


@dataclass(frozen=True)
class FileResult:
    file_name: str
    sha256: str
    status: str  # loaded | unchanged
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    extra_columns: tuple[str, ...] = ()
    superseded_files: tuple[str, ...] = ()
    # later files (in source_files' order) holding periods of this one: its rows for those periods are not kept
    periods_kept_by: tuple[str, ...] = ()


# ---------- rule builders (pure: they return SQL text) ----------


def sql_list(values: Iterable[str]) -> str:
    return ", ".join("'" + v.replace("'", "''") + "'" for v in values)


def required(column: str) -> Rule:
    return Rule(column, "required", f"{column} IS NULL")


# A code column's rule and a simple pattern's are written as functions of the one column (list_position, GLOB), not
# as IN or a regular expression: DuckDB evaluates such a function once per distinct value of a dictionary-compressed
# column (a large file's staged rows are), IN and regexp_full_match once per row. The same rows break them
# (tests/test_rule_sql.py, against the IN and regexp_full_match versions on random and every one-character text).
# Measured on a national census (9 M rows, one thread, each rule in the contract's yes/no question): its 8 code rules
# ~0.25 s of CPU together instead of ~1.3 s, its three patterns of 3 to 7 characters ~0.1 s instead of ~0.9 s.


def one_of(column: str, codes: Iterable[str], name: str = "code_not_allowed") -> Rule:
    # list_position is NULL for a value not in the list (the list holds no NULL)
    return Rule(column, name, f"{column} IS NOT NULL AND list_position([{sql_list(codes)}], upper({column})) IS NULL")


_GLOB_ATOM = re.compile(r"([A-Za-z0-9]|\[(?:[A-Za-z0-9](?:-[A-Za-z0-9])?)+\])(?:\{([0-9]+)(?:,([0-9]+))?\})?")
_MAX_GLOBS = 4


def regex_as_globs(pattern: str) -> tuple[str, ...] | None:
    """GLOB patterns that together match exactly the texts regexp_full_match(text, pattern) matches, for a pattern
    made of ASCII letters and digits and bracketed classes of them (ranges allowed), each optionally repeated {n} or
    {m,n} (e.g. ``[0-9]{7}``, ``E1[23][0-9]{6}``, ``[A-Z]{3,4}``); None for any other pattern.

    Each atom matches one character in both, and only an ASCII one, so the two agree on any text (GLOB compares a
    character outside ASCII, byte by byte or whole, with ASCII characters only: it matches no atom, as in the regular
    expression). tests/test_rule_sql.py compares them for every pattern a contract gives and every code point.
    """
    globs = [""]
    position = 0
    while position < len(pattern):
        atom = _GLOB_ATOM.match(pattern, position)
        if atom is None:
            return None
        text, low, high = atom.group(1), atom.group(2), atom.group(3)
        fewest = int(low) if low is not None else 1
        most = int(high) if high is not None else fewest
        ranges = re.findall(r"(.)-(.)", text)
        if fewest > most or any(a > b for a, b in ranges):
            return None
        globs = [g + text * n for g in globs for n in range(fewest, most + 1)]
        if len(globs) > _MAX_GLOBS:
            return None
        position = atom.end()
    return tuple(globs)


def matches(column: str, pattern: str, name: str) -> Rule:
    """Broken when the upper-cased value does not match the regular expression ``pattern`` in full."""
    text = f"upper({column})"
    globs = regex_as_globs(pattern)
    test = " OR ".join(f"{text} GLOB '{g}'" for g in globs) if globs else f"regexp_full_match({text}, '{pattern}')"
    return Rule(column, name, f"{column} IS NOT NULL AND NOT ({test})")


def repeated_in_file(column: str, keys: Sequence[str]) -> Rule:
    """Every row of a key given more than once in one file is quarantined (row_repeated_in_file): which is right
    cannot be told, and loading both would count it twice. ``keys``: SQL of the key as the load writes it (written
    two ways, 857 and E06000017, it is one key); a row whose key does not read is left to its own rules."""
    present = " AND ".join(f"({key}) IS NOT NULL" for key in keys)
    return Rule(column, "row_repeated_in_file", f"{present} AND count(*) OVER (PARTITION BY {', '.join(keys)}) > 1")


def is_date(column: str) -> Rule:
    return Rule(column, "not_a_date", f"{column} IS NOT NULL AND send_date({column}) IS NULL")


def is_bool(column: str) -> Rule:
    return Rule(column, "not_true_or_false", f"{column} IS NOT NULL AND send_bool({column}) IS NULL")


def broken_sql(rules: Sequence[Rule]) -> str:
    """TRUE for a row that breaks at least one of the rules."""
    return " OR ".join(r.broken for r in rules) or "false"


def failures_sql(rules: Sequence[Rule]) -> str:
    """One list per row of the rules it breaks, as {column, rule} structs (empty list: the row is valid)."""
    items = ", ".join(f"CASE WHEN {r.broken} THEN {{'column': '{r.column}', 'rule': '{r.name}'}} END" for r in rules)
    return f"list_filter([{items}], lambda x: x IS NOT NULL)"


# ---------- the file as the contract names its columns (read by pipeline.extract_reader) ----------


UNNAMED_VALUE = "value_in_column_without_name"


@dataclass(frozen=True)
class Staged:
    """What stage_extract found in a file's header besides the contract's columns."""

    extra_columns: tuple[str, ...]  # named columns the contract does not read (kept out, listed in the ledger)
    # a rule per column whose header cell is empty: a row with a value there is quarantined (UNNAMED_VALUE, the
    # column by its letter), as no contract column can say what the value is
    unnamed_rules: tuple[Rule, ...] = ()


def stage_extract(
    con: duckdb.DuckDBPyConnection, path: Path, file_name: str, contract: Contract, lines: int | None = None
) -> Staged:
    """Create temp view _extract(_row_number, <contract columns>, <name columns>) of trimmed text over table
    _raw_rows (the file as read by read_raw_rows, in the staging database), plus _structural rejects. A view, not a
    table: the contract checks and the load read it, and a 9 M-row census is not written a second time (~3 s a file
    at national scale).
    ``lines``: the file's line count, when the caller has counted it (file_sha256_and_lines).

    Returns the extra column names found in the file (kept out of the warehouse, reported in the ledger) and a rule
    for each column without a name (its values are in the view as _unnamed_<index>).
    """
    from_name = name_values(contract, file_name)  # before the file is read: a name that gives nothing fails at once
    header, header_row, row_number_sql, joined = read_raw_rows(con, path, file_name, lines)

    by_name: dict[str, str] = {}
    twice = []
    unnamed = []
    for i, name in enumerate(header):
        key = normalise_header(name)
        if not key:
            unnamed.append(i)  # nothing the contract can ask for: a value there is quarantined, not dropped
            continue
        if key in by_name:
            twice.append(key)
            continue
        by_name[key] = physical_column(i)
    # Errors name the contract's columns only: a file without its header row has a pupil's values in row 1.
    if contract_twice := [key for key in twice if key in contract.columns]:
        raise ExtractError(f"{file_name}: column {contract_twice[0]!r} appears twice in the header")
    derived = [d for d in contract.derived if all(c in by_name for c in d.from_columns)]
    given = set(by_name) | {d.column for d in derived}
    if missing := [c for c in contract.required_columns if c not in given]:
        alternatives = {d.column: d.from_columns for d in contract.derived}
        named = [f"{c} (or {', '.join(alternatives[c])})" if c in alternatives else c for c in missing]
        raise ExtractError(f"{file_name}: row {header_row} (header) is missing required column(s) {', '.join(named)}")
    unexpected = sorted(k for k in by_name if k not in contract.columns)
    if contract.strict_columns and unexpected:
        raise ExtractError(f"{file_name}: row {header_row} (header) has unexpected column(s) {', '.join(unexpected)}")
    selected = ", ".join(
        [
            f"nullif(trim({by_name[c]}), '') AS {c}" if c in by_name else f"NULL::VARCHAR AS {c}"
            for c in contract.columns
        ]
        + [f"{sql_list([value])}::VARCHAR AS {c}" for c, value in from_name.items()]
        + [f"nullif(trim({physical_column(i)}), '') AS _unnamed_{i}" for i in unnamed]
    )
    select = f"SELECT {row_number_sql} AS _row_number, {selected} FROM {RAW_ROWS} AS _raw_rows{joined}"
    if derived:
        replaced = ", ".join(f"coalesce({d.column}, {d.sql}) AS {d.column}" for d in derived)
        select = f"SELECT * REPLACE ({replaced}) FROM ({select})"
    con.execute(f"CREATE OR REPLACE TEMP VIEW _extract AS {select}")
    rules = tuple(Rule(column_letters(i), UNNAMED_VALUE, f"_unnamed_{i} IS NOT NULL") for i in unnamed)
    return Staged(tuple(unexpected), rules)


# ---------- the transaction per file ----------


NO_FAILURES = '_row_number BIGINT, _failures STRUCT("column" VARCHAR, "rule" VARCHAR)[]'  # _failed, no row broken


def empty_load_sql(contract: Contract) -> str:
    """A zero-row SELECT of what the contract loads (its load_select over text NULLs, plus the source columns): the
    target table's columns and types without a file. Bind contract.params; the contract's macros must exist."""
    columns = ", ".join(f"NULL::VARCHAR AS {c}" for c in contract.columns + contract.name_columns)
    return (
        f"SELECT {contract.load_select}, ''::VARCHAR AS source_file, 0::BIGINT AS source_row "
        f"FROM (SELECT {columns}) WHERE false"
    )


def ensure_target_table(con: duckdb.DuckDBPyConnection, contract: Contract) -> None:
    """Create the contract's (empty) warehouse table if it is not there yet."""
    sql = f"CREATE TABLE IF NOT EXISTS {contract.target_table} AS {empty_load_sql(contract)}"
    con.execute(sql, dict(contract.params))


def ensure_raw_schema(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("CREATE SCHEMA IF NOT EXISTS raw")
    con.execute(LEDGER_DDL)
    con.execute(QUARANTINE_DDL)
    con.execute(KEY_CHECK_DDL)
    con.execute(PERIOD_RULES_DDL)
    con.execute(SETS_IN_PROGRESS_DDL)
    con.execute(RELOADS_PENDING_DDL)


def already_ingested(con: duckdb.DuckDBPyConnection, source: str, file_name: str, sha256: str) -> bool:
    row = con.execute(
        """
        SELECT sha256 FROM raw.file_ledger WHERE source = $source AND file_name = $file_name
        ORDER BY ingested_at DESC LIMIT 1
        """,
        {"source": source, "file_name": file_name},
    ).fetchone()
    return row is not None and row[0] == sha256


def ingest_order(file_name: str | Path) -> tuple[str, str]:
    """Where a file comes in source_files' order (its name without the extension, then the extension)."""
    path = Path(file_name)
    return path.stem, path.suffix


def replace_periods(
    con: duckdb.DuckDBPyConnection, contract: Contract, file_name: str
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """A corrected extract under a new name: delete the rows of files that come before this one in source_files'
    order for the periods this file has just loaded; this file's rows for a period a file after it holds go instead
    (an original changed in place after its correction was loaded does not overrule the correction: a rebuild
    would load the correction last).

    Only rows for the shared periods go; the other periods stay. Returns the earlier files that lost rows, and the
    later files that keep periods of this one (its rows for them gone: said in the run log, never silently).
    """
    if not contract.period_column:
        return (), ()
    table, period = contract.target_table, contract.period_column
    holders = con.execute(
        f"""
        SELECT source_file, list(DISTINCT {period}) FROM {table}
        WHERE source_file <> $file_name
          AND {period} IN (SELECT {period} FROM {table} WHERE source_file = $file_name)
        GROUP BY source_file ORDER BY source_file
        """,
        {"file_name": file_name},
    ).fetchall()
    this = ingest_order(file_name)
    earlier = [name for name, _ in holders if ingest_order(name) < this]
    later = tuple(name for name, _ in holders if ingest_order(name) > this)
    later_periods = sorted({p for name, periods in holders if ingest_order(name) > this for p in periods})
    if later_periods:
        con.execute(
            f"DELETE FROM {table} WHERE source_file = $file_name AND {period} IN (SELECT unnest($periods))",
            {"file_name": file_name, "periods": later_periods},
        )
    if earlier:
        con.execute(
            f"""
            DELETE FROM {table} WHERE list_contains($earlier, source_file)
              AND {period} IN (SELECT {period} FROM {table} WHERE source_file = $file_name)
            """,
            {"file_name": file_name, "earlier": earlier},
        )
    return tuple(earlier), later


def in_ledger(con: duckdb.DuckDBPyConnection, contract: Contract, file_name: str) -> bool:
    """Whether a version of the file was recorded before (a new file holds no rows: no table scan for it)."""
    return (
        con.execute(
            "SELECT 1 FROM raw.file_ledger WHERE source = $source AND file_name = $file_name LIMIT 1",
            {"source": contract.source, "file_name": file_name},
        ).fetchone()
        is not None
    )


def period_rule_changed(con: duckdb.DuckDBPyConnection, contract: Contract) -> bool:
    """Whether the target table's periods were last settled by another rule than the contract's (or by none
    recorded: a warehouse from before raw.period_rules)."""
    stored = con.execute(
        "SELECT arg_max(period_column, recorded_at) FROM raw.period_rules WHERE target_table = $table",
        {"table": contract.target_table},
    ).fetchone()[0]
    return bool(contract.period_column) and stored != contract.period_column


def record_period_rule(con: duckdb.DuckDBPyConnection, contract: Contract) -> None:
    con.execute(
        "INSERT INTO raw.period_rules (target_table, period_column) VALUES ($table, $rule)",
        {"table": contract.target_table, "rule": contract.period_column},
    )


def files_sharing_a_period(con: duckdb.DuckDBPyConnection, contract: Contract) -> set[str]:
    """Files whose rows share a period (contract.period_column) with another file's: none once every file was loaded
    under the rule (replace_periods gives each period to one file), so only what an older rule left."""
    period, table = contract.period_column, contract.target_table
    schema, name = table.split(".")
    exists = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE schema_name = $schema AND table_name = $name",
        {"schema": schema, "name": name},
    ).fetchone()[0]
    if not exists:  # nothing loaded yet
        return set()
    rows = con.execute(
        f"""
        SELECT DISTINCT unnest(files) FROM (
            SELECT list(DISTINCT source_file) AS files FROM {table} WHERE {period} IS NOT NULL
            GROUP BY {period} HAVING count(DISTINCT source_file) > 1
        )
        """
    ).fetchall()
    return {row[0] for row in rows}


def periods_held(
    con: duckdb.DuckDBPyConnection, contract: Contract, file_name: str | None, among: list | None = None
) -> list:
    """The periods (contract.period_column) the rows of one file hold, or (file_name None) of any file, restricted
    to ``among`` when given; [] for a contract without periods."""
    if not contract.period_column:
        return []
    period, params = contract.period_column, {}
    conditions = [f"{period} IS NOT NULL"]
    if file_name is not None:
        conditions.append("source_file = $file_name")
        params["file_name"] = file_name
    if among is not None:
        conditions.append(f"{period} IN (SELECT unnest($among))")
        params["among"] = among
    where = " AND ".join(conditions)
    rows = con.execute(f"SELECT DISTINCT {period} FROM {contract.target_table} WHERE {where}", params).fetchall()
    return [row[0] for row in rows]


def key_check(con: duckdb.DuckDBPyConnection, contract: Contract) -> tuple[int | None, int | None]:
    """(the key check of the contract's key, the one stored), both None for a contract that pseudonymises nothing."""
    if "hmac_ipad" not in contract.params:
        return None, None
    pads = {name: contract.params[name] for name in ("hmac_ipad", "hmac_opad")}
    this = con.execute(f"SELECT {hmac_sql('$text')}", {**pads, "text": KEY_CHECK_TEXT}).fetchone()[0]
    con.execute(KEY_CHECK_DDL)
    stored = con.execute("SELECT min(key_check) FROM raw.pseudonym_key_check").fetchone()[0]
    return this, stored


def ingest_file(
    con: duckdb.DuckDBPyConnection, contract: Contract, path: Path, file_name: str, reload: bool = False
) -> FileResult:
    """Load one file in one transaction (skipped when this version is in the ledger, unless ``reload``)."""
    try:
        sha256, lines = file_sha256_and_lines(path)
    except OSError as error:  # no permission, or gone: not transient, and never a traceback
        raise ExtractError(f"{file_name}: cannot be read ({error.strerror or type(error).__name__})") from None
    if not reload and already_ingested(con, contract.source, file_name, sha256):
        return FileResult(file_name, sha256, "unchanged")
    this_key, stored_key = key_check(con, contract)
    if stored_key is not None and this_key != stored_key:
        raise PseudonymKeyChanged(
            f"{file_name}: not loaded: SEND_PSEUDONYM_KEY is not the key this warehouse's pseudonyms were made with, "
            "so its rows would link to no row already loaded. Set the warehouse's key again, or build a new "
            "warehouse from raw/ with the new key (every file pseudonymised again)"
        )
    con.execute(MACROS)
    if contract.macros:
        con.execute(contract.macros)
    in_transaction = False
    try:
        # Staged outside the transaction: temp tables are private to this connection, and rowid (the file
        # order) is only sequential in a committed table.
        staged = stage_extract(con, path, file_name, contract, lines)
        extra, rules = staged.extra_columns, contract.rules + staged.unnamed_rules
        con.execute("BEGIN TRANSACTION")
        in_transaction = True
        # Only the rows that break a rule are kept with their failures (few); the load reads the file's rows
        # again, less those. Materialising every row with its failures cost ~5 s a file at national scale. A file
        # with no broken row (most nights) is found so by a yes/no question, which stops at the first broken row
        # and costs DuckDB less to plan than the lists of failures (~10 ms of ~25 ms for a small census file). The
        # flag is computed in a projection and filtered after it: a rule may use a window function (a duplicate key).
        flagged = f"SELECT {broken_sql(rules)} AS _broken FROM _extract"
        if con.execute(f"SELECT EXISTS (SELECT 1 FROM ({flagged}) WHERE _broken)").fetchone()[0]:
            con.execute(
                f"CREATE OR REPLACE TEMP TABLE _failed AS SELECT _row_number, _failures "
                f"FROM (SELECT _row_number, {failures_sql(rules)} AS _failures FROM _extract) "
                "WHERE len(_failures) > 0"
            )
        else:
            con.execute(f"CREATE OR REPLACE TEMP TABLE _failed ({NO_FAILURES})")
        meta = {"source": contract.source, "file_name": file_name, "sha256": sha256}
        ensure_target_table(con, contract)
        held_before = periods_held(con, contract, file_name) if in_ledger(con, contract, file_name) else []
        con.execute(f"DELETE FROM {contract.target_table} WHERE source_file = $file_name", {"file_name": file_name})
        con.execute(
            "DELETE FROM raw.quarantine WHERE source = $source AND file_name = $file_name",
            {"source": contract.source, "file_name": file_name},
        )
        con.execute(
            """
            INSERT INTO raw.quarantine (source, file_name, file_sha256, row_number, column_name, rule)
            SELECT $source, $file_name, $sha256, _row_number, f.column, f.rule
            FROM (SELECT _row_number, unnest(_failures) AS f FROM _failed)
            UNION ALL
            SELECT $source, $file_name, $sha256, row_number, column_name, rule FROM _structural
            """,
            meta,
        )
        rows_loaded = con.execute(
            f"""
            INSERT INTO {contract.target_table}
            SELECT {contract.load_select}, $file_name, _row_number FROM _extract ANTI JOIN _failed USING (_row_number)
            """,
            {**contract.params, "file_name": file_name},
        ).fetchone()[0]
        rows_file = con.execute(f"SELECT count(*) FROM {RAW_ROWS}").fetchone()[0]
        rows_failed = con.execute("SELECT count(*) FROM _failed").fetchone()[0]
        rows_structural = con.execute("SELECT count(DISTINCT row_number) FROM _structural").fetchone()[0]
        rows_quarantined = rows_failed + rows_structural
        rows_read = rows_file + rows_structural
        stored = con.execute(
            f"SELECT count(*) FROM {contract.target_table} WHERE source_file = $file_name",
            {"file_name": file_name},
        ).fetchone()[0]
        # The no-silent-loss invariant, checked inside the transaction: every row of the file is stored or failed.
        if stored != rows_loaded or rows_loaded + rows_failed != rows_file:
            raise RuntimeError(  # no counts: a run log is read more widely than the ledger (ingest_metadata)
                f"{file_name}: the rows stored, loaded and quarantined do not add up to the rows read: nothing loaded"
            )
        superseded, kept_by = replace_periods(con, contract, file_name)
        gave_back = bool(held_before) and len(periods_held(con, contract, None, among=held_before)) < len(held_before)
        con.execute(
            "DELETE FROM raw.reloads_pending WHERE source = $source AND file_name = $file_name",
            {"source": contract.source, "file_name": file_name},
        )
        if gave_back:  # the files before this one that hold fewer rows than they loaded: loaded again (ingest_source)
            earlier = {n for n in lost_rows(con, contract) if ingest_order(n) < ingest_order(file_name)}
            record_reloads(con, contract, earlier)
        con.execute(
            """
            INSERT INTO raw.file_ledger (source, file_name, sha256, rows_read, rows_loaded, rows_quarantined,
                                         extra_columns, superseded_files)
            VALUES ($source, $file_name, $sha256, $read, $loaded, $quarantined, $extra, $superseded)
            """,
            {
                **meta,
                "read": rows_read,
                "loaded": rows_loaded,
                "quarantined": rows_quarantined,
                "extra": list(extra),
                "superseded": list(superseded),
            },  # fmt: skip
        )
        if this_key is not None and stored_key is None:
            con.execute("INSERT INTO raw.pseudonym_key_check VALUES ($check)", {"check": this_key})
        con.execute("COMMIT")
    except BaseException:
        if in_transaction:
            con.execute("ROLLBACK")
        raise
    finally:
        drop_staged(con)
    return FileResult(file_name, sha256, "loaded", rows_read, rows_loaded, rows_quarantined, extra, superseded, kept_by)


def upgrade_pseudonyms(con: duckdb.DuckDBPyConnection, contract: Contract) -> tuple[str, ...]:
    """Pseudonym columns an earlier version stored as 64 hex characters, converted in place to the 128-bit integer
    this version loads (the same HMAC's first 32 hex digits), so a pupil keeps linking across the upgrade.

    Runs before any file of the source, changed or not: a table left as text would join no other. Returns the
    columns converted (none once done).
    """
    table_schema, table_name = contract.target_table.split(".")
    stored = dict(
        con.execute(
            "SELECT column_name, data_type FROM duckdb_columns() WHERE schema_name = $s AND table_name = $t",
            {"s": table_schema, "t": table_name},
        ).fetchall()
    )
    if not stored:
        return ()
    con.execute(MACROS)
    if contract.macros:
        con.execute(contract.macros)
    con.execute(f"CREATE OR REPLACE TEMP TABLE _loaded_types AS {empty_load_sql(contract)}", dict(contract.params))
    loaded = dict(con.execute("SELECT column_name, column_type FROM (DESCRIBE _loaded_types)").fetchall())
    con.execute("DROP TABLE _loaded_types")
    upgraded = tuple(c for c, kind in loaded.items() if kind == "UHUGEINT" and stored.get(c) == "VARCHAR")
    for column in upgraded:
        con.execute(
            f"ALTER TABLE {contract.target_table} ALTER {column} SET DATA TYPE UHUGEINT "
            f"USING CAST('0x' || substr({column}, 1, {PSEUDONYM_HEX_DIGITS}) AS UHUGEINT)"
        )
    return upgraded


def source_files(raw_dir: Path, source: str, glob: str) -> list[Path]:
    """The source's files in the order they are ingested (a later file's rows replace an earlier one's for the same
    period): by name without its extension, then extension, so a name that extends another comes after it
    (``2023_spring (corrected).csv`` and ``2023_spring-v2.csv`` after ``2023_spring.csv``; by whole name, the
    space and the hyphen sort before the dot and the original would win a rebuild)."""
    folder = raw_dir / source
    files = (p for p in folder.glob(glob) if p.is_file() and not p.name.startswith((".", "~$")))
    return sorted(files, key=ingest_order)


def nested_files(raw_dir: Path, source: str, glob: str) -> list[str]:
    """Files in a subfolder of raw/<source>/ when the source reads only the folder itself (its glob names no
    subfolder): such a file would never be loaded (hidden files and folders, and editors' lock files, left out)."""
    folder = raw_dir / source
    if "/" in glob:
        return []
    return [str(path.relative_to(raw_dir)) for path in drop_zone_files(folder) if path.parent != folder]


def contract_ledger(con: duckdb.DuckDBPyConnection, contract: Contract) -> dict[str, tuple[str, int]]:
    """The contract's files in the ledger: file name -> (sha256 of the last version recorded, its rows loaded)."""
    rows = con.execute(
        "SELECT file_name, arg_max(sha256, ingested_at), arg_max(rows_loaded, ingested_at) FROM raw.file_ledger "
        "WHERE source = $source GROUP BY file_name",
        {"source": contract.source},
    ).fetchall()
    folder = PurePosixPath(contract.source)
    return {
        name: (sha256, loaded)
        for name, sha256, loaded in rows
        if PurePosixPath(name).is_relative_to(folder)
        and PurePosixPath(name).relative_to(folder).match(contract.file_glob)
    }


def remove_gone_files(con: duckdb.DuckDBPyConnection, contract: Contract, present: set[str]) -> tuple[str, ...]:
    """Files the ledger holds for the contract that are no longer in raw/: their rows and quarantine deleted and the
    ledger's version REMOVED recorded, each in one transaction, as a build from raw/ would not have them."""
    gone = sorted(
        n for n, (sha256, _) in contract_ledger(con, contract).items() if sha256 != REMOVED and n not in present
    )
    for file_name in gone:
        ensure_target_table(con, contract)
        con.execute("BEGIN TRANSACTION")
        try:
            meta = {"source": contract.source, "file_name": file_name}
            con.execute(f"DELETE FROM {contract.target_table} WHERE source_file = $file_name", {"file_name": file_name})
            con.execute("DELETE FROM raw.quarantine WHERE source = $source AND file_name = $file_name", meta)
            con.execute("DELETE FROM raw.reloads_pending WHERE source = $source AND file_name = $file_name", meta)
            record_reloads(con, contract, lost_rows(con, contract) & present)  # what it had replaced is theirs again
            con.execute(
                "INSERT INTO raw.file_ledger (source, file_name, sha256, rows_read, rows_loaded, rows_quarantined) "
                f"VALUES ($source, $file_name, '{REMOVED}', 0, 0, 0)",
                meta,
            )
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
    return tuple(gone)


def lost_rows(con: duckdb.DuckDBPyConnection, contract: Contract) -> set[str]:
    """The contract's files holding fewer rows than they loaded (a later file's periods replaced them)."""
    ensure_target_table(con, contract)
    stored = dict(
        con.execute(f"SELECT source_file, count(*) FROM {contract.target_table} GROUP BY source_file").fetchall()
    )
    return {n for n, (sha256, loaded) in contract_ledger(con, contract).items() if stored.get(n, 0) < loaded}


def record_reloads(con: duckdb.DuckDBPyConnection, contract: Contract, file_names: set[str]) -> None:
    """Record files to load again (raw.reloads_pending), each once, in the caller's transaction."""
    if file_names:
        con.execute(
            """
            INSERT INTO raw.reloads_pending (source, file_name)
            SELECT $source, name FROM unnest($names) AS t(name)
            WHERE name NOT IN (SELECT file_name FROM raw.reloads_pending WHERE source = $source)
            """,
            {"source": contract.source, "names": sorted(file_names)},
        )


def reloads_pending(con: duckdb.DuckDBPyConnection, contract: Contract) -> set[str]:
    """The contract's files recorded to load again and not loaded since (record_reloads)."""
    pending = con.execute(
        "SELECT DISTINCT file_name FROM raw.reloads_pending WHERE source = $source", {"source": contract.source}
    ).fetchall()
    return {name for (name,) in pending} & contract_ledger(con, contract).keys()


def ingest_source(
    con: duckdb.DuckDBPyConnection, contract: Contract, raw_dir: Path, log=None, reload_all: bool = False
) -> list[FileResult]:
    """Ingest every file of one source in source_files' order. Returns one FileResult per file.

    A file removed from raw/ since it was loaded takes its rows with it; the files whose rows it had replaced (or
    any other file's had) are then loaded again, so the source holds what a build from raw/ as it is would hold.
    ``reload_all``: every file is loaded again, unchanged or not (its rules read other tables that changed).
    """
    if nested := nested_files(raw_dir, contract.source, contract.file_glob):
        raise ExtractError(
            f"{first_and_more(nested)}: in a subfolder of {contract.source}/, which is never read: move it into "
            f"{contract.source}/ itself (or out of raw/)"
        )
    ensure_raw_schema(con)
    if staging_path(con) is None:  # what a run killed mid-file left (raw identifiers): gone even on a night
        clear_stale_scratch(con)  # with no file to load
    upgraded = upgrade_pseudonyms(con, contract)
    if upgraded and log:
        log(f"{contract.target_table}: pseudonym column(s) {', '.join(upgraded)} converted to 128-bit integers")
    results = []
    files = source_files(raw_dir, contract.source, contract.file_glob)
    names = [str(path.relative_to(raw_dir)) for path in files]
    removed = remove_gone_files(con, contract, set(names))
    reload = set(names) if reload_all else reloads_pending(con, contract)  # a removal's, this night's or a failed one's
    rule_changed = period_rule_changed(con, contract)
    if rule_changed and (sharing := files_sharing_a_period(con, contract) & set(names)):
        reload |= sharing  # loaded again in order: each period ends with one file, as a rebuild leaves it
        if log:
            log(f"{contract.target_table}: periods settled by a new rule: loaded again {', '.join(sorted(sharing))}")
    if removed and log:
        log(f"removed from raw/, their rows deleted: {', '.join(removed)}")
    for i, (path, file_name) in enumerate(zip(files, names, strict=True), start=1):
        which = f"[{i}/{len(files)}] {file_name}"
        if log and (size := path.stat().st_size) >= ANNOUNCE_FROM_BYTES:  # seconds to minutes: say which file
            log(f"{which}: {size / 2**20:,.0f} MiB, hashing and (if new) checking and loading")
        result = ingest_file(con, contract, path, file_name, reload=file_name in reload)
        if log:
            # never the rows read or loaded: a run log is read more widely than the ledger (ingest_metadata)
            log(
                f"{which}: {result.status}, rows quarantined {result.rows_quarantined}"
                + (f", extra columns ignored: {', '.join(result.extra_columns)}" if result.extra_columns else "")
                + (f", replaces {', '.join(result.superseded_files)}" if result.superseded_files else "")
                + (
                    f"; NOT kept: its rows for the period(s) that {', '.join(result.periods_kept_by)} also hold(s), "
                    "as the later file in name order keeps a period (name a correction so that it sorts after the "
                    "file it corrects)"
                    if result.periods_kept_by
                    else ""
                )
            )
        results.append(result)
    if again := reloads_pending(con, contract):
        # a file changed in place to other periods gave back periods an earlier file had lost to it: the files before
        # it (in this order) holding fewer rows than they loaded, recorded as it loaded, are loaded again (each keeps
        # what a later file does not replace); a file after it lost nothing to it
        for i, (path, file_name) in enumerate(zip(files, names, strict=True)):
            if file_name in again:
                results[i] = ingest_file(con, contract, path, file_name, reload=True)
                if log:
                    log(f"{file_name}: loaded again, a later file no longer holds its period(s)")
    if rule_changed:
        record_period_rule(con, contract)
    return results
