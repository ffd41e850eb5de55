"""Shared ingest engine: raw extract -> DuckDB, set-based.

A source module (pipeline/sources/<source>.py) declares a Contract: the columns it expects, the rules a row must
satisfy (each a SQL condition that is TRUE when the rule is broken) and the SQL that turns a valid row into a
warehouse row. This module does the rest, the same way for every source:

* reads the file (CSV - comma-separated, double-quoted - in UTF-8 with or without BOM, or Windows-1252, nothing
  guessed; or the one sheet of an XLSX that holds rows) with every value as text, so identifiers keep their
  leading zeros;
* loads the rows that break no rule, quarantines the others in ``raw.quarantine`` with file, row number (the line
  of the file the row starts on), column and rule (never the value: a UPN in an error table is itself a leak);
* records ``raw.file_ledger``: one row per file version (name, sha256, rows read / loaded / quarantined);
  a file already ingested with the same sha256 is skipped, a changed file replaces its earlier rows, a file
  removed from raw/ takes its rows with it (ingest_source);
* does all of it for one file in one transaction, and checks that rows read = loaded + quarantined.

A file that cannot be read at all raises ExtractError naming the file (and row and column where known).
"""

from __future__ import annotations

import codecs
import csv
import mmap
import re
import shutil
import tempfile
from array import array
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path, PurePosixPath

import duckdb
import numpy as np
import pandas as pd

from pipeline.nightly_state import REMOVED, drop_zone_files, file_sha256_and_lines, first_and_more
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
KEY_CHECK_TEXT = "send-pseudonym-key-check"

# Dates as the source contracts accept them: ISO, UK and the COLLECT style, with or without a midnight time.
MACROS = r"""
CREATE OR REPLACE TEMP MACRO send_date(v) AS coalesce(
    try_strptime(v, '%Y-%m-%d')::DATE,
    try_strptime(v, '%Y-%m-%d %H:%M:%S')::DATE,
    try_strptime(v, '%d/%m/%Y')::DATE,
    try_strptime(v, '%d/%m/%Y %H:%M:%S')::DATE,
    try_strptime(v, '%Y-%b-%d %H:%M:%S')::DATE,
    try_strptime(v, '%Y-%b-%d')::DATE
);
CREATE OR REPLACE TEMP MACRO send_bool(v) AS CASE
    WHEN upper(v) IN ('TRUE', 'T', 'Y', 'YES', '1') THEN true
    WHEN upper(v) IN ('FALSE', 'F', 'N', 'NO', '0') THEN false
END;
"""


STAGING = "send_ingest_staging"  # the scratch database attached while a file is ingested
RAW_ROWS = f"{STAGING}._raw_rows"
ROW_LINES = f"{STAGING}._row_lines"  # the file line of each row of RAW_ROWS, in order, when not rowid + 2
STAGING_PREFIX = "send-ingest-"  # its folder's name
IN_MEMORY = ":memory:"
STAGE_ON_DISK_FROM_BYTES = 64 * 2**20  # a smaller file is staged in memory (attach_staging)


class ExtractError(RuntimeError):
    """A raw file that cannot be read at all. The message names the file (and row/column when known)."""


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

    @property
    def columns(self) -> tuple[str, ...]:
        return self.required_columns + self.optional_columns


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


# ---------- rule builders (pure: they return SQL text) ----------


def sql_list(values: Iterable[str]) -> str:
    return ", ".join("'" + v.replace("'", "''") + "'" for v in values)


def required(column: str) -> Rule:
    return Rule(column, "required", f"{column} IS NULL")


def one_of(column: str, codes: Iterable[str], name: str = "code_not_allowed") -> Rule:
    return Rule(column, name, f"{column} IS NOT NULL AND upper({column}) NOT IN ({sql_list(codes)})")


def matches(column: str, pattern: str, name: str) -> Rule:
    return Rule(column, name, f"{column} IS NOT NULL AND NOT regexp_full_match(upper({column}), '{pattern}')")


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


# ---------- file reading ----------


def normalise_header(name: str) -> str:
    return re.sub(r"\s+", "_", str(name).strip().lower())


def physical_column(index: int) -> str:
    """The staged table's name for the file's index-th column (0-based): the header's names are the reader's, not
    DuckDB's, so a quote or a duplicate in the header cannot break the SQL or be renamed behind our back."""
    return f"column{index}"


def _csv_error(file_name: str, error: Exception) -> ExtractError:
    # DuckDB quotes the offending line in its message ("Original Line: ..."): keep the line number, drop values.
    message = str(error)
    line = re.search(r"[Ll]ine:?\s*(\d+)", message)
    where = f" at row {line.group(1)}" if line else ""
    kind = message.splitlines()[0].split(":", 1)[0] if message else type(error).__name__
    return ExtractError(f"{file_name}: cannot be read as CSV{where} ({kind})")


def _latin1_fallback(error: UnicodeDecodeError) -> tuple[str, int]:
    """The five bytes Windows-1252 leaves undefined read as Latin-1, so no byte is ever dropped."""
    return error.object[error.start : error.end].decode("latin-1"), error.end


codecs.register_error("send_cp1252_latin1", _latin1_fallback)
UTF8, CP1252 = "utf-8-sig", "cp1252"  # how a CSV is decoded (utf-8-sig: a BOM is not part of the first name)


def open_text(path: Path, encoding: str):
    """The file as text in ``encoding`` (UTF8 or CP1252), line endings as they are (csv module's newline='')."""
    errors = "send_cp1252_latin1" if encoding == CP1252 else "strict"
    return path.open(encoding=encoding, errors=errors, newline="")


def transcode_cp1252(path: Path, folder: Path) -> Path:
    """A UTF-8 copy of a Windows-1252 file (streamed, so a large file is never held in memory)."""
    target = folder / (path.name + ".utf8")
    with open_text(path, CP1252) as source, target.open("w", encoding="utf-8", newline="") as out:
        shutil.copyfileobj(source, out, 1 << 20)
    return target


# CSV as RFC 4180 has it: comma-separated, double quotes, a quote inside quotes doubled. Given, not sniffed: DuckDB's
# dialect sniffer cost ~15 ms of the ~20 ms it takes to read a small extract (~0.5 s of the demo's 37 files), and it
# guessed more than the dialect: a first line starting `#` made it skip comment lines (rows lost unseen). Nothing is
# guessed: the header is read by Python's csv module, every column is text, no line is a comment or skipped. A file
# separated by something else fails naming the file (stage_extract).
CSV_DIALECT = {"delim": ",", "quote": '"', "escape": '"'}
CSV_FIXED = {"auto_detect": False, "header": True, "comment": "", "null_padding": False, "strict_mode": True}
OTHER_DELIMITERS = (";", "\t", "|")


def csv_header(path: Path, encoding: str) -> tuple[list[str], int]:
    """The header - the first record that is not blank, as Python's csv module splits it (RFC 4180, as DuckDB reads
    the rest) - and the number of blank lines before it. UnicodeDecodeError when it is not in ``encoding``."""
    with open_text(path, encoding) as handle:
        blanks = 0
        for record in csv.reader(handle):
            if record:
                return record, blanks
            blanks += 1
    return [], blanks


def _load_csv(con: duckdb.DuckDBPyConnection, path: Path, width: int, skip: int) -> int:
    """CREATE tables _raw_rows (staging) / _raw_rejects (temp) from a UTF-8 CSV; returns the encoding rejects."""
    for table in (RAW_ROWS, "_raw_rejects", "_raw_reject_scans"):
        con.execute(f"DROP TABLE IF EXISTS {table}")
    columns = {physical_column(i): "VARCHAR" for i in range(width)}
    options = {**CSV_DIALECT, **CSV_FIXED, "skip": skip, "columns": columns}
    con.execute(
        f"""
        CREATE TABLE {RAW_ROWS} AS
        SELECT * FROM read_csv($path, encoding = 'utf-8', {", ".join(f"{k} = ${k}" for k in options)},
                               store_rejects = true, rejects_table = '_raw_rejects', rejects_scan = '_raw_reject_scans')
        """,
        {"path": str(path), **options},
    )
    return con.execute(
        "SELECT count(*) FROM _raw_rejects WHERE lower(error_type::VARCHAR) LIKE '%encoding%'"
    ).fetchone()[0]


@dataclass(frozen=True)
class CsvRead:
    header: list[str]
    encoding: str  # UTF8 or CP1252
    blank_before_header: int


def _read_csv(con: duckdb.DuckDBPyConnection, path: Path, file_name: str) -> CsvRead:
    """Read into _raw_rows (all text, file order; staging database) and _raw_rejects (structurally broken lines).

    UTF-8 (with or without BOM) first; a file that is not valid UTF-8 is read as Windows-1252 (the usual export
    of council finance systems: a `£` is the tell) through a UTF-8 copy in a temporary folder.
    """
    failure = None
    encoding = UTF8
    try:
        try:
            header, blanks = csv_header(path, UTF8)
        except UnicodeDecodeError:  # in the header itself
            encoding = CP1252
        if encoding == UTF8 and header and _load_csv(con, path, len(header), blanks) > 0:
            encoding = CP1252  # a byte further down is not UTF-8
        if encoding == CP1252:
            header, blanks = csv_header(path, CP1252)
            if header:
                # beside the staging database (a run killed here leaves it for the next ingest to remove)
                scratch = tempfile.TemporaryDirectory(prefix=f"{STAGING_PREFIX}cp1252-", dir=scratch_parent(con))
                with scratch as folder:
                    _load_csv(con, transcode_cp1252(path, Path(folder)), len(header), blanks)
    except duckdb.Error as error:
        failure = _csv_error(file_name, error)
        if "invalid state" in str(error) and (line := mixed_line_ending(path)):
            failure = ExtractError(f"{file_name}: row {line} ends its line differently from the rows before it "
                                   "(CRLF and LF mixed): save the file with one kind of line ending")  # fmt: skip
    except csv.Error as error:
        failure = ExtractError(f"{file_name}: row 1 (header) cannot be read as CSV ({error})")
    if failure is not None:
        raise failure  # raised here, not in the except block: DuckDB's message (it quotes a line) is not its context
    return CsvRead(header, encoding, blanks)  # no header: an empty file, which stage_extract names


def mixed_line_ending(path: Path) -> int | None:
    """The first line whose ending (CRLF or LF) differs from the first line's, or None."""
    if path.stat().st_size == 0:
        return None
    with path.open("rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
        first = data.find(b"\n")
        if first < 0:
            return None
        crlf = first > 0 and data[first - 1] == ord("\r")
        other = re.search(rb"(?<!\r)\n" if crlf else rb"\r\n", data)
        return data[: other.start()].count(b"\n") + 1 if other else None


def csv_record_lines(path: Path, encoding: str, rejected: set[int]) -> tuple[array, dict[int, int]]:
    """The line each row of the file starts on, as Python's csv module splits the file: the rows DuckDB read, in
    order, and for each line DuckDB rejected (numbered as DuckDB numbers them: records and blank lines, the header
    one) the line it starts on. Needed only when a record spans lines or a line is blank (number_csv_rows)."""
    csv.field_size_limit(2**31 - 1)  # a value of any length (DuckDB rejects one over its maximum line size)
    rows, rejects, ended, header_seen = array("q"), {}, 0, False
    with open_text(path, encoding) as handle:
        reader = csv.reader(handle)
        for item, record in enumerate(reader, start=1):
            start, ended = ended + 1, reader.line_num
            if not record:
                continue
            if not header_seen:
                header_seen = True
            elif item in rejected:
                rejects[item] = start
            else:
                rows.append(start)
    return rows, rejects


def csv_row_number_sql(structural_rejects: int) -> str:
    """SQL for the file line of a row of _raw_rows (header = line 1) when every line of the file is one record.

    With no rejected lines the k-th row (rowid k - 1) is on line k + 1; otherwise each rejected line before a row
    shifts it by one (a correlated count over _reject_thresholds, ~10 s on a 9-million-row file, so only then).
    """
    if structural_rejects == 0:
        return "_raw_rows.rowid + 2"
    return (
        "_raw_rows.rowid + 2 + (SELECT count(*) FROM _reject_thresholds t "
        "WHERE t.first_ordinal_after <= _raw_rows.rowid + 1)"
    )


def number_csv_rows(
    con: duckdb.DuckDBPyConnection, path: Path, file_name: str, read: CsvRead, lines: int
) -> tuple[str, str]:
    """Fill _structural with the rejected lines (file line, column, reason) and return the SQL of each staged row's
    file line (header = line 1) and what _raw_rows must be joined with for it ("" when nothing).

    When the file has exactly one line per record (the header, each row, each rejected line: ``lines`` counts the
    file's lines), DuckDB's numbering is the file's. Otherwise (a blank line, a quoted value over several lines)
    Python's csv module numbers the records again, and the two readers must agree on them; a rejected record over
    several lines (a quote opened and not closed swallows the lines after it) fails the file naming its row.
    """
    names = [normalise_header(h) or physical_column(i) for i, h in enumerate(read.header)]
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE _rejected AS
        SELECT line AS reader_line,
               coalesce(list_extract($names, TRY_CAST(regexp_extract(column_name, '^column(\\d+)$', 1) AS INTEGER)
                                              + 1), '*') AS column_name,
               'csv_' || regexp_replace(lower(error_type::VARCHAR), '[^a-z0-9]+', '_', 'g') AS rule,
               position(E'\\n' IN trim(csv_line, E'\\r\\n')) > 0 AS spans_lines
        FROM _raw_rejects
        """,
        {"names": names},
    )
    rows = con.execute(f"SELECT count(*) FROM {RAW_ROWS}").fetchone()[0]
    rejected = {r[0] for r in con.execute("SELECT DISTINCT reader_line FROM _rejected").fetchall()}
    if read.blank_before_header == 0 and lines == 1 + rows + len(rejected):
        con.execute("INSERT INTO _structural SELECT DISTINCT reader_line, column_name, rule FROM _rejected")
        con.execute(
            """
            CREATE OR REPLACE TEMP TABLE _reject_thresholds AS
            SELECT row_number - row_number() OVER (ORDER BY row_number) AS first_ordinal_after
            FROM (SELECT DISTINCT row_number FROM _structural)
            """
        )
        return csv_row_number_sql(len(rejected)), ""
    try:
        starts, reject_starts = csv_record_lines(path, read.encoding, rejected)
    except csv.Error as error:
        raise ExtractError(f"{file_name}: cannot be split into rows ({error})") from None
    if len(starts) != rows or set(reject_starts) != rejected:
        raise ExtractError(
            f"{file_name}: its rows cannot be numbered: DuckDB read {rows} rows and {len(rejected)} broken lines, "
            f"Python's csv module {len(starts) + len(reject_starts)} rows: check its quotes and line endings"
        )
    con.execute("CREATE OR REPLACE TEMP TABLE _reject_lines (reader_line BIGINT, line BIGINT)")
    if reject_starts:
        con.executemany("INSERT INTO _reject_lines VALUES (?, ?)", list(reject_starts.items()))
    swallowed = con.execute(
        "SELECT l.line, r.column_name FROM _rejected r JOIN _reject_lines l USING (reader_line) "
        "WHERE r.spans_lines ORDER BY 1 LIMIT 1"
    ).fetchone()
    if swallowed:
        raise ExtractError(
            f"{file_name}: row {swallowed[0]}, column {swallowed[1]}: a quoted value is not closed where its row "
            "ends, so the lines after it cannot be told apart: fix its quotes"
        )
    con.execute(
        "INSERT INTO _structural SELECT DISTINCT l.line, r.column_name, r.rule "
        "FROM _rejected r JOIN _reject_lines l USING (reader_line)"
    )
    con.register("_row_line_frame", pd.DataFrame({"line": np.frombuffer(starts, dtype=np.int64)}))
    con.execute(f"CREATE OR REPLACE TABLE {ROW_LINES} AS SELECT line FROM _row_line_frame")
    con.unregister("_row_line_frame")
    return "_row_lines.line", f" POSITIONAL JOIN {ROW_LINES} AS _row_lines"


def _cell_text(value: object) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _sheet_rows(workbook, index: int) -> list[list]:
    return workbook.get_sheet_by_index(index).to_python(skip_empty_area=False)


def _read_xlsx(con: duckdb.DuckDBPyConnection, path: Path, file_name: str) -> list[str]:
    """Read the workbook's sheet of rows into _raw_rows (_row_number = its row in the sheet); returns the header.

    An extract has its rows on one sheet: a workbook with rows on more than one (a hidden draft sheet first, a second
    batch of pupils on sheet 2) fails naming the sheets, rather than one of them being read and the others dropped.
    """
    from python_calamine import CalamineWorkbook

    try:
        workbook = CalamineWorkbook.from_path(str(path))
        sheets = [(name, _sheet_rows(workbook, i)) for i, name in enumerate(workbook.sheet_names)]
    except Exception as error:  # calamine raises its own error types for corrupt workbooks
        failure = ExtractError(f"{file_name}: cannot be read as XLSX ({type(error).__name__})")
    else:
        failure = None
    if failure is not None:
        raise failure  # raised outside the except block: calamine's message may quote a cell
    filled = [(name, rows) for name, rows in sheets if any(_cell_text(v) for row in rows for v in row)]
    if not filled:
        raise ExtractError(f"{file_name}: the workbook has no rows (every sheet is empty)")
    if len(filled) > 1:
        names = ", ".join(repr(name) for name, _ in filled)
        raise ExtractError(f"{file_name}: sheets {names} all hold rows: an extract has its rows on one sheet (move "
                           "them to one, or delete the others)")  # fmt: skip
    rows = filled[0][1]
    header_at = next(i for i, row in enumerate(rows) if any(_cell_text(v) for v in row))
    header = [_cell_text(v) or "" for v in rows[header_at]]
    body = [
        (header_at + 2 + i, [_cell_text(v) for v in row])
        for i, row in enumerate(rows[header_at + 1 :])
        if any(_cell_text(v) for v in row)
    ]
    columns = [physical_column(i) for i in range(len(header))]
    frame = pd.DataFrame([cells for _, cells in body], columns=columns, dtype="object")
    frame.insert(0, "_row_number", [n for n, _ in body])
    con.execute(f"DROP TABLE IF EXISTS {RAW_ROWS}")
    con.register("_xlsx_frame", frame)
    casts = ", ".join(f"CAST({c} AS VARCHAR) AS {c}" for c in columns)
    con.execute(f"CREATE TABLE {RAW_ROWS} AS SELECT _row_number, {casts} FROM _xlsx_frame")
    con.unregister("_xlsx_frame")
    return header


NO_FAILURES = '_row_number BIGINT, _failures STRUCT("column" VARCHAR, "rule" VARCHAR)[]'  # _failed, no row broken
STAGED_TABLES = ("_failed", "_new_periods", "_structural", "_reject_thresholds", "_rejected", "_reject_lines",
                 "_raw_rejects", "_raw_reject_scans")  # fmt: skip


def _staging_path(con: duckdb.DuckDBPyConnection) -> str | None:
    """The staging database's file while it is attached (IN_MEMORY for one in memory), else None."""
    row = con.execute(
        "SELECT coalesce(path, $memory) FROM duckdb_databases() WHERE database_name = $n",
        {"n": STAGING, "memory": IN_MEMORY},
    ).fetchone()
    return row[0] if row else None


def attach_staging(con: duckdb.DuckDBPyConnection, on_disk: bool = True) -> None:
    """Attach a scratch database for the file as read: in a new folder under DuckDB's temp_directory, or in memory.

    On disk, a table in a database file, not a TEMP table: DuckDB compresses it as it writes (low-cardinality text
    becomes dictionaries), and the contract checks and the load then run per distinct value. Measured on a 9 M-row
    census: staging +2.6 s, checks -2.8 s, load -3.8 s. The folder is removed by drop_staged; it holds raw
    identifiers while a file is being ingested, like DuckDB's own spill files beside it. A small file is staged in
    memory (stage_extract): no file to create, write and remove (~10 ms a file: ~0.3 s of the demo's ingest).
    """
    if _staging_path(con) is not None:
        return
    if not on_disk:
        con.execute(f"ATTACH '{IN_MEMORY}' AS {STAGING}")
        return
    folder = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=scratch_parent(con)))
    con.execute(f"ATTACH $path AS {STAGING}", {"path": str(folder / "staging.duckdb")})


def scratch_parent(con: duckdb.DuckDBPyConnection, create: bool = True) -> Path | None:
    """Where a file's rows as read may be written while it is ingested (the staging database, the UTF-8 copy of a
    Windows-1252 file): the warehouse's DuckDB temp_directory (internal, beside send.duckdb), or the system's temp
    folder for a warehouse in memory (DuckDB's temp_directory is then a relative '.tmp')."""
    spill, warehouse_on_disk = con.execute(
        "SELECT current_setting('temp_directory'), "
        "(SELECT path IS NOT NULL FROM duckdb_databases() WHERE database_name = current_database())"
    ).fetchone()
    if not (spill and warehouse_on_disk):
        return None
    parent = Path(spill)
    if create:
        parent.mkdir(parents=True, exist_ok=True)
    return parent


def clear_stale_scratch(con: duckdb.DuckDBPyConnection) -> None:
    """Remove what a run killed mid-file left under scratch_parent (its folders hold raw identifiers). Safe, as
    this connection holds send.duckdb's write lock, so no other process is ingesting into this warehouse (its temp
    directory is its own)."""
    parent = scratch_parent(con, create=False)
    if parent is not None:
        for stale in parent.glob(f"{STAGING_PREFIX}*"):
            shutil.rmtree(stale, ignore_errors=True)


def drop_staged(con: duckdb.DuckDBPyConnection) -> None:
    """Drop what stage_extract and ingest_file leave in the connection: the _extract view, the temp tables and the
    staging database (detached, its folder deleted)."""
    con.execute("DROP VIEW IF EXISTS _extract")
    for table in STAGED_TABLES:
        con.execute(f"DROP TABLE IF EXISTS {table}")
    attached = _staging_path(con)
    if attached is not None:
        con.execute(f"DETACH {STAGING}")
        if attached != IN_MEMORY:
            shutil.rmtree(Path(attached).parent, ignore_errors=True)


def stage_extract(
    con: duckdb.DuckDBPyConnection, path: Path, file_name: str, contract: Contract, lines: int | None = None
) -> tuple[str, ...]:
    """Create temp view _extract(_row_number, <contract columns>) of trimmed text over table _raw_rows (the file as
    read, in the staging database), plus _structural rejects. A view, not a table: the contract checks and the load
    read it, and a 9 M-row census is not written a second time (~3 s a file at national scale). ``lines``: the
    file's line count, when the caller has counted it (file_sha256_and_lines).

    Returns the extra column names found in the file (kept out of the warehouse, reported in the ledger).
    """
    con.execute("DROP TABLE IF EXISTS _raw_rejects; DROP TABLE IF EXISTS _raw_reject_scans")
    if _staging_path(con) is None:
        clear_stale_scratch(con)
    attach_staging(con, on_disk=path.stat().st_size >= STAGE_ON_DISK_FROM_BYTES)
    con.execute("CREATE OR REPLACE TEMP TABLE _structural (row_number BIGINT, column_name VARCHAR, rule VARCHAR)")
    suffix = path.suffix.lower()
    if suffix == ".xlsx":
        header = _read_xlsx(con, path, file_name)
        row_number_sql, joined = "_row_number", ""
    elif suffix in (".csv", ".txt"):
        read = _read_csv(con, path, file_name)
        header = read.header
        if not header:
            raise ExtractError(f"{file_name}: the file is empty (no header row)")
        if len(header) == 1 and (other := next((d for d in OTHER_DELIMITERS if d in header[0]), None)):
            raise ExtractError(f"{file_name}: row 1 (header) is not separated by commas (it holds {other!r}): "
                               "export it as CSV with commas, or as XLSX")  # fmt: skip
        if lines is None:
            lines = file_sha256_and_lines(path)[1]
        # Lines DuckDB could not split into the header's columns are quarantined, not loaded; every row keeps its
        # line in the file.
        row_number_sql, joined = number_csv_rows(con, path, file_name, read, lines)
    else:
        raise ExtractError(f"{file_name}: unsupported file type {suffix!r} (expected .csv or .xlsx)")

    by_name: dict[str, str] = {}
    twice = []
    for i, name in enumerate(header):
        key = normalise_header(name)
        if not key:
            continue  # a column without a name: nothing the contract can ask for
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
        raise ExtractError(f"{file_name}: row 1 (header) is missing required column(s) {', '.join(named)}")
    unexpected = sorted(k for k in by_name if k not in contract.columns)
    if contract.strict_columns and unexpected:
        raise ExtractError(f"{file_name}: row 1 (header) has unexpected column(s) {', '.join(unexpected)}")
    selected = ", ".join(
        f"nullif(trim({by_name[c]}), '') AS {c}" if c in by_name else f"NULL::VARCHAR AS {c}" for c in contract.columns
    )
    select = f"SELECT {row_number_sql} AS _row_number, {selected} FROM {RAW_ROWS} AS _raw_rows{joined}"
    if derived:
        replaced = ", ".join(f"coalesce({d.column}, {d.sql}) AS {d.column}" for d in derived)
        select = f"SELECT * REPLACE ({replaced}) FROM ({select})"
    con.execute(f"CREATE OR REPLACE TEMP VIEW _extract AS {select}")
    return tuple(unexpected)


# ---------- the transaction per file ----------


def empty_load_sql(contract: Contract) -> str:
    """A zero-row SELECT of what the contract loads (its load_select over text NULLs, plus the source columns): the
    target table's columns and types without a file. Bind contract.params; the contract's macros must exist."""
    columns = ", ".join(f"NULL::VARCHAR AS {c}" for c in contract.columns)
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


def replace_periods(con: duckdb.DuckDBPyConnection, contract: Contract, file_name: str) -> tuple[str, ...]:
    """A corrected extract under a new name: delete the rows of files that come before this one in source_files'
    order for the periods this file has just loaded; this file's rows for a period a file after it holds go instead
    (an original changed in place after its correction was loaded does not overrule the correction: a rebuild
    would load the correction last).

    Only rows for the shared periods go; the other periods stay. Returns the earlier files that lost rows.
    """
    if not contract.period_column:
        return ()
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
    return tuple(earlier)


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
        extra = stage_extract(con, path, file_name, contract, lines)
        con.execute("BEGIN TRANSACTION")
        in_transaction = True
        # Only the rows that break a rule are kept with their failures (few); the load reads the file's rows
        # again, less those. Materialising every row with its failures cost ~5 s a file at national scale. A file
        # with no broken row (most nights) is found so by a yes/no question, which stops at the first broken row
        # and costs DuckDB less to plan than the lists of failures (~10 ms of ~25 ms for a small census file). The
        # flag is computed in a projection and filtered after it: a rule may use a window function (a duplicate key).
        flagged = f"SELECT {broken_sql(contract.rules)} AS _broken FROM _extract"
        if con.execute(f"SELECT EXISTS (SELECT 1 FROM ({flagged}) WHERE _broken)").fetchone()[0]:
            con.execute(
                f"CREATE OR REPLACE TEMP TABLE _failed AS SELECT _row_number, _failures "
                f"FROM (SELECT _row_number, {failures_sql(contract.rules)} AS _failures FROM _extract) "
                "WHERE len(_failures) > 0"
            )
        else:
            con.execute(f"CREATE OR REPLACE TEMP TABLE _failed ({NO_FAILURES})")
        meta = {"source": contract.source, "file_name": file_name, "sha256": sha256}
        ensure_target_table(con, contract)
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
            raise RuntimeError(
                f"{file_name}: {rows_file} rows read, {rows_failed} quarantined, {rows_loaded} loaded "
                f"but {stored} stored"
            )
        superseded = replace_periods(con, contract, file_name)
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
    return FileResult(file_name, sha256, "loaded", rows_read, rows_loaded, rows_quarantined, extra, superseded)


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
    if _staging_path(con) is None:  # what a run killed mid-file left (raw identifiers): gone even on a night
        clear_stale_scratch(con)  # with no file to load
    upgraded = upgrade_pseudonyms(con, contract)
    if upgraded and log:
        log(f"{contract.target_table}: pseudonym column(s) {', '.join(upgraded)} converted to 128-bit integers")
    results = []
    files = source_files(raw_dir, contract.source, contract.file_glob)
    names = [str(path.relative_to(raw_dir)) for path in files]
    removed = remove_gone_files(con, contract, set(names))
    reload = set(names) if reload_all else lost_rows(con, contract) if removed else set()
    if removed and log:
        log(f"removed from raw/, their rows deleted: {', '.join(removed)}")
    for i, (path, file_name) in enumerate(zip(files, names, strict=True), start=1):
        result = ingest_file(con, contract, path, file_name, reload=file_name in reload)
        if log:
            log(
                f"[{i}/{len(files)}] {file_name}: {result.status}, read {result.rows_read}, "
                f"loaded {result.rows_loaded}, quarantined {result.rows_quarantined}"
                + (f", extra columns ignored: {', '.join(result.extra_columns)}" if result.extra_columns else "")
                + (f", replaces {', '.join(result.superseded_files)}" if result.superseded_files else "")
            )
        results.append(result)
    return results
