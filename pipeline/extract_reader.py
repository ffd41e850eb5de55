"""Reading a raw extract into DuckDB: the file as read, every value text, each row with its line in the file.

read_raw_rows reads one file into table _raw_rows of a scratch DuckDB database (the staging database), the same way
for every source:

* CSV - comma-separated, double-quoted (RFC 4180), given to DuckDB's reader rather than sniffed - in UTF-8 with or
  without BOM, or Windows-1252 (through a UTF-8 copy; a file mixing the two fails), nothing guessed; the header is
  the first line that is not blank, read by Python's csv module;
* XLSX: the one sheet of the workbook that holds rows, the header on its first non-empty row, cells as stored
  but a percentage or a zero-padded number as shown (4%, not 0.04; 0001234, not 1234), an error cell as its text
  (#N/A); a row with a formula never calculated, a cell a merged range's value is shown in but not stored in, or a
  value right of the header, goes to _structural;
* every value as text, so identifiers keep their leading zeros;
* lines that cannot be split into the header's columns go to temp table _structural (file line, column, rule), to
  be quarantined; every row keeps the line of the file it starts on (blank lines and values over several lines
  counted);
* the staging database is in memory for a small file, else in a folder under DuckDB's temp_directory (it holds raw
  identifiers): drop_staged removes it, and what a killed run left is removed by the next (clear_stale_scratch).

pipeline.ingest maps the header to a source's contract (stage_extract), checks the rows and loads them.
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
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from pipeline.drop_zone import CSV_SUFFIXES, file_sha256_and_lines
from pipeline.settings import STAGING_PREFIX

STAGING = "send_ingest_staging"  # the scratch database attached while a file is ingested
RAW_ROWS = f"{STAGING}._raw_rows"
ROW_LINES = f"{STAGING}._row_lines"  # the file line of each row of RAW_ROWS, in order, when not rowid + 2
IN_MEMORY = ":memory:"
STAGE_ON_DISK_FROM_BYTES = 64 * 2**20  # a smaller file is staged in memory (attach_staging)


class ExtractError(RuntimeError):
    """A raw file that cannot be read at all. The message names the file (and row/column when known)."""


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
# separated by something else fails naming the file (read_raw_rows).
CSV_DIALECT = {"delim": ",", "quote": '"', "escape": '"'}
CSV_FIXED = {"auto_detect": False, "header": True, "comment": "", "null_padding": False, "strict_mode": True}
OTHER_DELIMITERS = (";", "\t", "|")


class HeaderNotCsv(ValueError):
    """The header's record breaks RFC 4180's quoting (text after a closing quote, a quote never closed)."""

    def __init__(self, row: int, reason: str):
        super().__init__(f"row {row} (header) cannot be read as CSV ({reason})")


def csv_header(path: Path, encoding: str) -> tuple[list[str], int]:
    """The header - the first record that is not blank, as Python's csv module splits it (RFC 4180, as DuckDB reads
    the rest, strictly: "year"x is not the name yearx) - and the number of blank lines before it.
    UnicodeDecodeError when it is not in ``encoding``; HeaderNotCsv when its quotes are broken."""
    with open_text(path, encoding) as handle:
        blanks = 0
        try:
            for record in csv.reader(handle, strict=True):
                if record:
                    return record, blanks
                blanks += 1
        except csv.Error as error:
            raise HeaderNotCsv(blanks + 1, str(error)) from None
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
    of council finance systems: a `£` is the tell) through a UTF-8 copy in a temporary folder, unless it holds UTF-8
    characters too (not_utf8_among_utf8: it then fails naming the first row that is not UTF-8). A UTF-16 file (its
    BOM) fails saying so.
    """
    with path.open("rb") as handle:
        if handle.read(2) in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):  # UTF-32 LE too (its BOM starts FF FE)
            raise ExtractError(f"{file_name}: is UTF-16 encoded: save it as CSV UTF-8 (or as XLSX)")
    failure, header, blanks = None, [], 0
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
            if (mixed := not_utf8_among_utf8(path, header)) is not None:
                raise mixed_encoding_error(file_name, *mixed)
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
        elif "invalid state" in str(error) and (stray := stray_carriage_return(path, header)):
            line, column = stray
            where = f"row {line}" + (f", column {column}" if column else "")
            failure = ExtractError(f"{file_name}: {where} holds a carriage return (CR) that does not end its line "
                                   "(in a value that is not quoted, or a line ending CR CR LF): remove it, or quote "
                                   "the value")  # fmt: skip
    except HeaderNotCsv as error:
        failure = ExtractError(f"{file_name}: {error}")
    if failure is not None:
        raise failure  # raised here, not in the except block: DuckDB's message (it quotes a line) is not its context
    return CsvRead(header, encoding, blanks)  # no header: an empty file, which read_raw_rows names


# A non-ASCII character decoded from valid UTF-8 (not the lone surrogates U+DC80-U+DCFF, which the surrogateescape
# error handler makes of the bytes that are not UTF-8). Only what a Windows-1252 file all but never holds by chance
# counts: a 3- or 4-byte sequence (a pasted "–", "’", "€": E2 xx xx) or a 2-byte one led by C2 or C3 (U+0080-U+00FF:
# "é" is C3 A9; "Ã©" and "Â£" are mojibake in Windows-1252 text). A capital accented letter followed by a curly quote
# ("É’": C9 92) is a valid 2-byte sequence (U+0100-U+07FF) that a real Windows-1252 file holds: not taken as UTF-8.
_UTF8_CHARACTER = re.compile("[\u0080-\u00ff\u0800-\udc7f\udd00-\U0010ffff]")
_NOT_UTF8_BYTE = re.compile("[\udc80-\udcff]")


def not_utf8_among_utf8(path: Path, header: list[str]) -> tuple[int, str | None] | None:
    """The row (file line) and column (header name, None when not found) of the first byte that is not UTF-8, when
    the file also holds UTF-8 beyond ASCII (a valid multi-byte sequence, a BOM): a UTF-8 file with a Windows-1252
    byte pasted in, which read whole as Windows-1252 would turn every UTF-8 character into mojibake ('–' -> 'â€“').
    None for a file with no UTF-8 beyond ASCII (Windows-1252) or no byte that is not UTF-8.

    Only for a file that is not valid UTF-8 (the Windows-1252 fallback): one more streamed pass over it.
    """
    decoder = codecs.getincrementaldecoder("utf-8")(errors="surrogateescape")
    first_bad, utf8_seen, fed = None, False, 0
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            text_starts_at = fed - len(decoder.getstate()[0])  # the bytes held back from the chunk before
            fed += len(chunk)
            text = decoder.decode(chunk)
            if first_bad is None and (bad := _NOT_UTF8_BYTE.search(text)):
                first_bad = text_starts_at + len(text[: bad.start()].encode("utf-8", "surrogateescape"))
            utf8_seen = utf8_seen or _UTF8_CHARACTER.search(text) is not None
            if first_bad is not None and utf8_seen:
                break
        else:
            text = decoder.decode(b"", final=True)
            if first_bad is None and (bad := _NOT_UTF8_BYTE.search(text)):
                first_bad = fed - len(text.encode("utf-8", "surrogateescape")) + bad.start()
    if first_bad is None or not utf8_seen:
        return None
    line, line_so_far = 1, b""
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(min(1 << 20, first_bad - handle.tell())), b""):
            line += chunk.count(b"\n")
            line_so_far = line_so_far + chunk if b"\n" not in chunk else chunk[chunk.rfind(b"\n") + 1 :]
    return line, column_at(line_so_far, header)


def column_at(line_before: bytes, header: list[str]) -> str | None:
    """The column (header name) a byte of a line is in, given the line up to it: that part split as CSV (right for a
    row on one line; in a value over several lines it may name another column, or none)."""
    csv.field_size_limit(2**31 - 1)
    fields = next(csv.reader([line_before.decode(CP1252, "send_cp1252_latin1") + "x"]), [""])
    index = len(fields) - 1
    names = [normalise_header(h) or physical_column(i) for i, h in enumerate(header)]
    return names[index] if index < len(names) else None


def mixed_encoding_error(file_name: str, line: int, column: str | None) -> ExtractError:
    where = f"row {line}" + (" (header)" if line == 1 else "") + (f", column {column}" if column else "")
    return ExtractError(
        f"{file_name}: {where} is not UTF-8, while other rows hold UTF-8 characters: the file mixes two encodings "
        "(a value pasted from another file?), so neither reads it right: save the file in one encoding (CSV UTF-8)"
    )


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


def stray_carriage_return(path: Path, header: list[str]) -> tuple[int, str | None] | None:
    """The row (file line) and column of the first carriage return that is not followed by a line feed (a CR in a
    value that is not quoted, a line ending CR CR LF), or None. For the error message only (a CR in a quoted value
    is allowed)."""
    if path.stat().st_size == 0:
        return None
    with path.open("rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
        stray = re.search(rb"\r(?!\n)", data)
        if stray is None:
            return None
        line_start = data.rfind(b"\n", 0, stray.start()) + 1
        return data[: stray.start()].count(b"\n") + 1, column_at(data[line_start : stray.start()], header)


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


def rows_inside_a_value(con: duckdb.DuckDBPyConnection, width: int) -> tuple[int, int] | None:
    """The first staged row (rowid) and column whose value has line breaks and at least a whole row's commas (width -
    1) for each: the lines between an opened quote and one closed rows later, read as one value of a record with the
    header's width, which nothing would reject (the rows inside it neither loaded nor quarantined). A note over
    several lines has far fewer commas. Asked only of a file with a record over several lines (number_csv_rows)."""
    if width < 2:
        return None
    lf = "chr(10)"
    swallows = [
        f"(strpos({c}, {lf}) > 0 AND length({c}) - length(replace({c}, ',', '')) "
        f">= (length({c}) - length(replace({c}, {lf}, ''))) * {width - 1})"
        for c in map(physical_column, range(width))
    ]
    found = con.execute(
        f"SELECT rowid, list_position([{', '.join(swallows)}], true) - 1 FROM {RAW_ROWS} "
        f"WHERE {' OR '.join(swallows)} ORDER BY rowid LIMIT 1"
    ).fetchone()
    return (found[0], found[1]) if found else None


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
    broken_name = next((i for i, name in enumerate(read.header) if "\n" in name or "\r" in name), None)
    if rows == 0 and starts and broken_name is not None:
        # DuckDB (strict mode) reads no row of a CRLF file whose header has a line break in a quoted name
        raise ExtractError(
            f"{file_name}: row {read.blank_before_header + 1} (header), column {names[broken_name]}: its name holds a "
            "line break, which the reader cannot take in a file whose lines end CRLF: remove the line break"
        )
    if len(starts) != rows or set(reject_starts) != rejected:
        raise ExtractError(
            f"{file_name}: its rows cannot be numbered: DuckDB's reader and Python's csv module split it into "
            "different rows: check its quotes and line endings"  # no counts: a run log is read more widely
        )
    if swallowing := rows_inside_a_value(con, len(read.header)):
        rowid, column = swallowing
        raise ExtractError(
            f"{file_name}: row {starts[rowid]}, column {names[column]}: a quoted value runs over several lines holding "
            "as many commas as whole rows would (a quote opened in this row and closed rows later reads the rows "
            "between as one value): fix its quotes, or take the line breaks out of the value"
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


# A cell of a worksheet's XML (any namespace prefix): its attributes, and its content when it has any.
_XLSX_CELL = re.compile(rb"<(?:\w+:)?c\s([^>]*?)(?:/>|>(.*?)</(?:\w+:)?c>)", re.S)
# What calamine reads as an empty cell when it is not: a formula (<f>), an error cell (t="e").
_XLSX_FORMULA = rb"<(?:\w+:)?f[\s>/]"
_XLSX_MARK = re.compile(_XLSX_FORMULA + rb"|\st=\"e\"")


def column_letters(index: int) -> str:
    """A sheet column's letters from its 0-based index (0 -> A, 26 -> AA)."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


def _column_index(letters: bytes) -> int:
    index = 0
    for letter in letters:
        index = index * 26 + letter - ord("A") + 1
    return index - 1


def _sheet_part(archive, index: int) -> str:
    """The name in the XLSX archive of the XML of the workbook's index-th sheet (workbook order, as calamine's)."""
    from xml.etree import ElementTree

    relationship = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
    sheets = ElementTree.fromstring(archive.read("xl/workbook.xml")).iter()
    ids = [e.get(relationship) for e in sheets if e.tag.rsplit("}", 1)[-1] == "sheet"]
    targets = {
        e.get("Id"): e.get("Target") for e in ElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels")).iter()
    }
    target = targets[ids[index]]
    return target.lstrip("/") if target.startswith("/") else "xl/" + target


# A row or cell start tag of a worksheet's XML, and a cell start tag without its (optional) r attribute.
_XLSX_ROW_OR_CELL_TAG = re.compile(rb"<((?:\w+:)?(?:row|c))(?=[\s>/])([^>]*)>")
_XLSX_CELL_WITHOUT_REFERENCE = re.compile(rb"<(?:\w+:)?c(?=[\s>/])(?![^>]*\br=)")
_XLSX_REFERENCE = re.compile(rb'\br="([A-Z]*)([0-9]*)"')


def with_cell_references(sheet_xml: bytes) -> bytes:
    """A worksheet's XML with every cell's reference (r="B7") written in. The standard lets a writer leave rows' and
    cells' r out: a row then follows the row before it, a cell the cell before it in its row (calamine reads them
    there). The sheet is returned as it is when every cell has its reference (as Excel and openpyxl write them)."""
    if _XLSX_CELL_WITHOUT_REFERENCE.search(sheet_xml) is None:
        return sheet_xml
    parts, written, row, column = [], 0, 0, -1
    for tag in _XLSX_ROW_OR_CELL_TAG.finditer(sheet_xml):
        name, reference = tag.group(1), _XLSX_REFERENCE.search(tag.group(2))
        if not name.endswith(b"c"):  # a row
            row, column = (int(reference.group(2)) if reference and reference.group(2) else row + 1), -1
            continue
        if reference is not None:
            column = _column_index(reference.group(1)) if reference.group(1) else column + 1
            row = int(reference.group(2)) if reference.group(2) else row
            continue
        column += 1
        parts += [sheet_xml[written : tag.end(1)], f' r="{column_letters(column)}{row}"'.encode()]
        written = tag.end(1)
    return b"".join([*parts, sheet_xml[written:]])


_FULL_CALC_ON_LOAD = re.compile(rb'<(?:\w+:)?calcPr\s[^>]*\bfullCalcOnLoad="(?:1|true)"')


def recalculated_on_open(workbook_xml: bytes) -> bool:
    """True when the workbook asks to be calculated when it is opened (calcPr fullCalcOnLoad): a script wrote it
    (xlsxwriter, openpyxl) and its formulas' stored results are placeholders (xlsxwriter stores 0), not results.
    Excel calculates such a workbook as it opens it and saves it without the flag."""
    return _FULL_CALC_ON_LOAD.search(workbook_xml) is not None


def xlsx_unread_cells(path: Path, index: int) -> tuple[dict[tuple[int, int], str], set[tuple[int, int]]]:
    """What calamine reads as an empty cell of the workbook's index-th sheet when the cell is not empty, by (sheet
    row, 0-based column): error cells (a failed VLOOKUP's #N/A, #REF!, ...) with their text, which the contract's
    rules then judge as they would the text in a CSV, and formulas with no calculated value (as a script writes
    them: Excel never opened the file; in a workbook to be calculated on opening, every formula: its stored result
    is a placeholder), which cannot be read. The sheet's XML is searched for formulas and error
    cells (C speed), and only the cells found are parsed."""
    import zipfile
    from xml.sax.saxutils import unescape

    errors: dict[tuple[int, int], str] = {}
    uncalculated: set[tuple[int, int]] = set()
    with zipfile.ZipFile(path) as archive:
        data = with_cell_references(archive.read(_sheet_part(archive, index)))
        placeholders = recalculated_on_open(archive.read("xl/workbook.xml"))
    end = 0
    for mark in _XLSX_MARK.finditer(data):
        if mark.start() < end:
            continue  # in the cell just parsed
        cell = _XLSX_CELL.match(data, data.rfind(b"<", 0, mark.start()))  # the tag the mark is in, or follows
        if cell is None:
            continue  # a <f...> not in a cell (no such thing in a worksheet), or an attribute t="e" of another tag
        end = cell.end()
        attributes, content = cell.group(1), cell.group(2) or b""
        reference = re.search(rb'\br="([A-Z]+)([0-9]+)"', attributes)
        kind = re.search(rb'\bt="(\w+)"', attributes)
        value = re.search(rb"<(?:\w+:)?v>(.*?)</(?:\w+:)?v>", content, re.S)
        kind = kind.group(1) if kind else b"n"
        if reference is None:
            raise ExtractError("a formula or error cell without its reference")  # named by the caller
        at = (int(reference.group(2)), _column_index(reference.group(1)))
        if kind == b"e":
            errors[at] = unescape(value.group(1).decode()) if value else "#ERROR"
        elif re.search(_XLSX_FORMULA, content) and (
            placeholders or (kind != b"str" and not (value and value.group(1)))
        ):
            uncalculated.add(at)  # t="str" with an empty value: a formula whose result is the empty text
    return errors, uncalculated


# Number formats under which a cell's stored number is not what it shows, read as shown (shown_text): a percentage
# (Excel's built-in 0% and 0.00%, ids 9 and 10, or a custom format code with a % sign that is neither quoted text,
# '0" %"', nor an escaped character, \\%), and zeros padding a whole number to a width (0000000: an id 0001234 is
# stored as 1234).
PERCENT = "%"
BUILTIN_FORMATS = {9: PERCENT, 10: PERCENT}
_QUOTED_IN_FORMAT = re.compile(r'"[^"]*"|\\.')


def shown_format(format_code: str) -> str | None:
    """PERCENT when an Excel number format code shows a number as a percentage (multiplied by 100, a % sign); the
    code itself when it pads a whole number with zeros (0000000); None when the number reads as it is stored."""
    unquoted = _QUOTED_IN_FORMAT.sub("", format_code)
    if "%" in unquoted:
        return PERCENT
    return format_code if re.fullmatch("00+", format_code) else None


def _shown_styles(archive) -> dict[int, str]:
    """The cell styles (indexes of styles.xml's cellXfs, a cell's s attribute) whose number format shows a number as
    something else than it is stored (shown_format), with that format."""
    from xml.etree import ElementTree

    try:
        styles = ElementTree.fromstring(archive.read("xl/styles.xml"))
    except KeyError:  # a workbook without styles: every cell in the General format
        return {}
    elements = {}
    for element in styles.iter():
        elements.setdefault(element.tag.rsplit("}", 1)[-1], []).append(element)
    formats = dict(BUILTIN_FORMATS)
    for number_format in elements.get("numFmt", []):
        formats[int(number_format.get("numFmtId"))] = shown_format(number_format.get("formatCode") or "")
    cell_formats = next(iter(elements.get("cellXfs", [])), None)
    if cell_formats is None:
        return {}
    xfs = [e for e in cell_formats if e.tag.endswith("xf")]
    shown = {i: formats.get(int(xf.get("numFmtId", 0))) for i, xf in enumerate(xfs)}
    return {i: code for i, code in shown.items() if code}


def xlsx_shown_cells(path: Path, index: int) -> dict[tuple[int, int], str]:
    """The number cells of the workbook's index-th sheet whose format shows them otherwise than stored, by (sheet
    row, 0-based column), with the format (shown_format): calamine reads the number stored (0.04 for a cell showing
    4%, 1234 for one showing 0001234)."""
    import zipfile

    with zipfile.ZipFile(path) as archive:
        styles = _shown_styles(archive)
        if not styles:
            return {}
        data = with_cell_references(archive.read(_sheet_part(archive, index)))
    alternatives = b"|".join(str(s).encode() for s in sorted(styles))
    cells = {}
    for cell in re.finditer(rb'<(?:\w+:)?c\s([^>]*?\bs="(' + alternatives + rb')"[^>]*?)/?>', data):
        kind = re.search(rb'\bt="(\w+)"', cell.group(1))
        reference = re.search(rb'\br="([A-Z]+)([0-9]+)"', cell.group(1))
        if reference is not None and (kind is None or kind.group(1) == b"n"):
            cells[(int(reference.group(2)), _column_index(reference.group(1)))] = styles[int(cell.group(2))]
    return cells


def shown_text(value: float, number_format: str) -> str | None:
    """A number as a cell of ``number_format`` (shown_format) shows it: a percentage to every decimal stored (0.04 ->
    '4%'), a whole number padded with zeros (1234 under 0000000 -> '0001234'); None for a number that is not whole
    under a zero-padding format (it shows rounded: the number stored is read)."""
    if number_format == PERCENT:
        shown = Decimal(repr(value)) * 100
        return f"{shown.normalize():f}%" if shown else "0%"
    if float(value).is_integer():
        whole = int(value)
        return ("-" if whole < 0 else "") + str(abs(whole)).zfill(len(number_format))
    return None


def merged_away_cells(ranges, rows: list[list]) -> set[tuple[int, int]]:
    """The cells a merged range covers besides its first (top-left) one, where that one holds a value, by (sheet row,
    0-based column): the workbook shows the first cell's value across the range but stores it once, so every other
    cell reads as empty. ``ranges``: calamine's merged_cell_ranges (0-based (row, column) corners); ``rows``: the
    sheet's cells as text."""
    covered = set()
    for (top, left), (bottom, right) in ranges or ():
        if top < len(rows) and left < len(rows[top]) and rows[top][left] is not None:
            covered |= {(r + 1, c) for r in range(top, bottom + 1) for c in range(left, right + 1)} - {(top + 1, left)}
    return covered


def _read_xlsx(con: duckdb.DuckDBPyConnection, path: Path, file_name: str) -> tuple[list[str], int]:
    """Read the workbook's sheet of rows into _raw_rows (_row_number = its row in the sheet); returns the header and
    its row.

    An extract has its rows on one sheet: a workbook with rows on more than one (a hidden draft sheet first, a second
    batch of pupils on sheet 2) fails naming the sheets, rather than one of them being read and the others dropped.
    Cells are read as stored, except a number in a percentage format or padded with zeros: as shown (a cell
    showing 4.0% is '4%', not 0.04, which a contract would take for 0.04 %; one showing 0001234 is '0001234', not the
    id 1234: xlsx_shown_cells); an error cell as its text
    (#N/A); a row with a formula that has no calculated value, with a cell of a merged range that the range's value
    is shown in but not stored in, or with a value in a column to the right of the header's last name, goes to
    _structural (xlsx_formula_not_calculated, xlsx_merged_cell, xlsx_too_many_columns), to be quarantined.
    """
    from python_calamine import CalamineWorkbook

    try:
        workbook = CalamineWorkbook.from_path(str(path))
        sheets = [(i, name, _sheet_rows(workbook, i)) for i, name in enumerate(workbook.sheet_names)]
    except Exception as error:  # calamine raises its own error types for corrupt workbooks
        failure = ExtractError(f"{file_name}: cannot be read as XLSX ({type(error).__name__})")
    else:
        failure = None
    if failure is not None:
        raise failure  # raised outside the except block: calamine's message may quote a cell
    try:
        unread = {i: xlsx_unread_cells(path, i) for i, _, _ in sheets}
    except Exception as error:  # a workbook calamine reads but whose XML is not as the standard has it
        failure = ExtractError(f"{file_name}: its formulas and error cells cannot be read ({type(error).__name__})")
    if failure is not None:
        raise failure
    filled = [
        (i, name, rows)
        for i, name, rows in sheets
        if any(_cell_text(v) for row in rows for v in row) or unread[i][0] or unread[i][1]
    ]
    if not filled:
        raise ExtractError(f"{file_name}: the workbook has no rows (every sheet is empty)")
    if len(filled) > 1:
        names = ", ".join(repr(name) for _, name, _ in filled)
        raise ExtractError(f"{file_name}: sheets {names} all hold rows: an extract has its rows on one sheet (move "
                           "them to one, or delete the others)")  # fmt: skip
    index, _, stored = filled[0]
    errors, uncalculated = unread[index]
    try:
        shown = xlsx_shown_cells(path, index)
        merged_ranges = workbook.get_sheet_by_index(index).merged_cell_ranges
    except Exception as error:  # styles or cells not as the standard has them
        failure = ExtractError(f"{file_name}: its number formats cannot be read ({type(error).__name__})")
    if failure is not None:
        raise failure
    width = max((len(row) for row in stored), default=0)
    rows = [[_cell_text(v) for v in row] + [None] * (width - len(row)) for row in stored]
    for (row, column), number_format in shown.items():
        value = stored[row - 1][column] if row <= len(stored) and column < len(stored[row - 1]) else None
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            rows[row - 1][column] = shown_text(value, number_format) or rows[row - 1][column]
    for (row, column), text in errors.items():
        if row <= len(rows) and column < width:
            rows[row - 1][column] = text
    marked = {row for row, _ in uncalculated}
    header_at = next((i for i, row in enumerate(rows) if any(row) or i + 1 in marked), None)
    if header_at is None:  # calamine read no cell of the sheet: it holds only formulas never calculated
        if not uncalculated:
            raise ExtractError(f"{file_name}: the workbook has no rows (every sheet is empty)")
        row, column = min(uncalculated)
        raise ExtractError(f"{file_name}: row {row}, column {column_letters(column)}: a formula with no calculated "
                           "value: open the workbook in Excel and save it")  # fmt: skip
    named = [i for i, name in enumerate(rows[header_at]) if name]
    header = [name or "" for name in rows[header_at][: named[-1] + 1]] if named else []
    if header_at + 1 in marked:
        column = min(c for r, c in uncalculated if r == header_at + 1)
        raise ExtractError(f"{file_name}: row {header_at + 1} (header), column {column_letters(column)}: a formula "
                           "with no calculated value: open the workbook in Excel and save it")  # fmt: skip

    def named(column: int) -> str:
        return normalise_header(header[column]) if column < len(header) and header[column] else column_letters(column)

    merged = {(r, c) for r, c in merged_away_cells(merged_ranges, rows) if r > header_at + 1 and c < width}
    structural = [(r, named(c), "xlsx_formula_not_calculated") for r, c in uncalculated if r > header_at + 1]
    structural += [(r, named(c), "xlsx_merged_cell") for r, c in merged]
    marked |= {r for r, _ in merged}
    body = []
    for number, cells in enumerate(rows[header_at + 1 :], start=header_at + 2):
        beyond = [c for c in range(len(header), width) if cells[c] is not None]
        structural += [(number, column_letters(c), "xlsx_too_many_columns") for c in beyond]
        if number not in marked and not beyond and any(cells):
            body.append((number, cells[: len(header)]))
    if structural:
        con.executemany("INSERT INTO _structural VALUES (?, ?, ?)", sorted(set(structural)))
    columns = [physical_column(i) for i in range(len(header))]
    frame = pd.DataFrame([cells for _, cells in body], columns=columns, dtype="object")
    frame.insert(0, "_row_number", [n for n, _ in body])
    con.execute(f"DROP TABLE IF EXISTS {RAW_ROWS}")
    con.register("_xlsx_frame", frame)
    casts = ", ".join(f"CAST({c} AS VARCHAR) AS {c}" for c in columns)
    con.execute(f"CREATE TABLE {RAW_ROWS} AS SELECT _row_number, {casts} FROM _xlsx_frame")
    con.unregister("_xlsx_frame")
    return header, header_at + 1


STAGED_TABLES = ("_failed", "_structural", "_reject_thresholds", "_rejected", "_reject_lines",
                 "_raw_rejects", "_raw_reject_scans")  # fmt: skip


def staging_path(con: duckdb.DuckDBPyConnection) -> str | None:
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
    memory (read_raw_rows): no file to create, write and remove (~10 ms a file: ~0.3 s of the demo's ingest).
    """
    if staging_path(con) is not None:
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
    """Drop what read_raw_rows and pipeline.ingest (stage_extract, ingest_file) leave in the connection: the _extract
    view, the temp tables and the staging database (detached, its folder deleted)."""
    con.execute("DROP VIEW IF EXISTS _extract")
    for table in STAGED_TABLES:
        con.execute(f"DROP TABLE IF EXISTS {table}")
    attached = staging_path(con)
    if attached is not None:
        con.execute(f"DETACH {STAGING}")
        if attached != IN_MEMORY:
            shutil.rmtree(Path(attached).parent, ignore_errors=True)


def read_raw_rows(
    con: duckdb.DuckDBPyConnection, path: Path, file_name: str, lines: int | None = None
) -> tuple[list[str], int, str, str]:
    """Read the file into table _raw_rows (the staging database, attached here) and its structurally broken lines
    into _structural. Returns the header, the header's row (line of a CSV, row of a sheet, after any blank ones),
    the SQL of each row's file line (header = line 1 of a CSV) and what _raw_rows must be joined with for it ("" when
    nothing). ``lines``: the file's line count, when the caller has counted it
    (file_sha256_and_lines)."""
    con.execute("DROP TABLE IF EXISTS _raw_rejects; DROP TABLE IF EXISTS _raw_reject_scans")
    if staging_path(con) is None:
        clear_stale_scratch(con)
    attach_staging(con, on_disk=path.stat().st_size >= STAGE_ON_DISK_FROM_BYTES)
    con.execute("CREATE OR REPLACE TEMP TABLE _structural (row_number BIGINT, column_name VARCHAR, rule VARCHAR)")
    suffix = path.suffix.lower()
    if suffix == ".xlsx":
        header, header_row = _read_xlsx(con, path, file_name)
        row_number_sql, joined = "_row_number", ""
    elif suffix in CSV_SUFFIXES:
        read = _read_csv(con, path, file_name)
        header, header_row = read.header, read.blank_before_header + 1
        if not header:
            raise ExtractError(f"{file_name}: the file is empty (no header row)")
        if len(header) == 1 and (other := next((d for d in OTHER_DELIMITERS if d in header[0]), None)):
            raise ExtractError(f"{file_name}: row {header_row} (header) is not separated by commas (it holds "
                               f"{other!r}): export it as CSV with commas, or as XLSX")  # fmt: skip
        if lines is None:
            lines = file_sha256_and_lines(path)[1]
        # Lines DuckDB could not split into the header's columns are quarantined, not loaded; every row keeps its
        # line in the file.
        row_number_sql, joined = number_csv_rows(con, path, file_name, read, lines)
    else:
        raise ExtractError(f"{file_name}: unsupported file type {suffix!r} (expected .csv or .xlsx)")
    return header, header_row, row_number_sql, joined
