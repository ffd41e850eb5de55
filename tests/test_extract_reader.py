"""Reading a CSV or XLSX extract (pipeline/extract_reader.py): files as councils' tools write them, read whole or
failing with an error naming the file, the row and the column (never a value). Census files, as in
test_census_ingest."""

import codecs

import pytest

from pipeline.extract_reader import is_percent_format, percent_text
from pipeline.ingest import ExtractError

from source_support import quarantine
from test_census_ingest import HEADER, csv_lines, ingest, loaded_rows, pupil, upn, write_lines


def failure_of(tmp_path, con) -> str:
    with pytest.raises(ExtractError) as failure:
        ingest(tmp_path, con)
    assert failure.value.__context__ is None and failure.value.__cause__ is None  # no line of the file as context
    assert con.execute("SELECT count(*) FROM raw.file_ledger").fetchone() == (0,)
    return str(failure.value)


# ---------- encodings ----------


def test_a_utf8_file_with_a_windows_1252_byte_fails_naming_its_row_and_column_not_read_as_mojibake(tmp_path, con):
    """A `£` pasted from a Windows-1252 file into a UTF-8 one: read whole as Windows-1252, every UTF-8 character
    would load as mojibake ('–' -> 'â€“'); read as UTF-8, the byte cannot be. Neither is right."""
    lines = csv_lines([pupil(n) | {"notes": "Top-up – maintained"} for n in range(1, 6)], [*HEADER, "notes"])
    path = write_lines(tmp_path, lines)
    data = path.read_bytes().split(b"\n")
    data[3] = data[3].replace("Top-up –".encode(), b"\xa35", 1)  # row 4: '£5' in Windows-1252
    path.write_bytes(b"\n".join(data))
    message = failure_of(tmp_path, con)
    assert "2023_spring.csv: row 4, column notes is not UTF-8, while other rows hold UTF-8 characters" in message
    assert "save the file in one encoding" in message and upn(3) not in message


def test_a_windows_1252_header_over_utf8_rows_fails_naming_the_header(tmp_path, con):
    lines = csv_lines([pupil(1) | {"cost £": "café"}], [*HEADER, "cost £"])
    path = write_lines(tmp_path, lines)
    path.write_bytes(path.read_bytes().replace("cost £".encode(), "cost £".encode("cp1252")))
    assert "row 1 (header), column cost_£ is not UTF-8" in failure_of(tmp_path, con)


def test_a_windows_1252_file_without_utf8_is_still_read_as_windows_1252(tmp_path, con):
    lines = csv_lines([pupil(n) | {"notes": "£5 – “quoted”"} for n in (1, 2)], [*HEADER, "notes"])
    path = tmp_path / "census" / "2023_spring.csv"
    path.parent.mkdir(parents=True)
    path.write_bytes(("\n".join(lines) + "\n").encode("cp1252"))
    [result] = ingest(tmp_path, con)
    assert (result.rows_loaded, result.rows_quarantined) == (2, 0)


def test_a_windows_1252_capital_before_a_curly_quote_is_not_taken_for_utf8(tmp_path, con):
    """'É’' in Windows-1252 is C9 92, a valid 2-byte UTF-8 sequence: such a file was refused as mixing encodings."""
    lines = csv_lines([pupil(n) | {"notes": "CAFÉ’S NURSERY £12"} for n in (1, 2)], [*HEADER, "notes"])
    path = tmp_path / "census" / "2023_spring.csv"
    path.parent.mkdir(parents=True)
    path.write_bytes(("\n".join(lines) + "\n").encode("cp1252"))
    [result] = ingest(tmp_path, con)
    assert (result.rows_loaded, result.rows_quarantined) == (2, 0)


@pytest.mark.parametrize("bom", [codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE], ids=["le", "be"])
def test_a_utf16_file_fails_saying_so_not_that_its_columns_are_missing(tmp_path, con, bom):
    path = tmp_path / "census" / "2023_spring.csv"
    path.parent.mkdir(parents=True)
    text = "\r\n".join(csv_lines([pupil(1)])) + "\r\n"
    path.write_bytes(bom + text.encode("utf-16-le" if bom == codecs.BOM_UTF16_LE else "utf-16-be"))
    message = failure_of(tmp_path, con)
    assert message == "census/2023_spring.csv: is UTF-16 encoded: save it as CSV UTF-8 (or as XLSX)"


# ---------- line endings ----------


@pytest.mark.parametrize(
    ("ending", "broken", "column"),
    [("\n", lambda line: line.replace(",ENG,", ",EN\rG,"), "first_language"), ("\r\n", lambda line: line + "\r", None)],
    ids=["cr-in-a-value", "cr-cr-lf"],
)
def test_a_stray_carriage_return_fails_naming_its_row(tmp_path, con, ending, broken, column):
    lines = csv_lines([pupil(n) for n in range(1, 7)])
    lines[5] = broken(lines[5])  # row 6
    write_lines(tmp_path, lines, ending=ending)
    message = failure_of(tmp_path, con)
    assert "2023_spring.csv: row 6" + (f", column {column}" if column else "") in message
    assert "holds a carriage return (CR) that does not end its line" in message and upn(5) not in message


# ---------- XLSX cells ----------


def census_workbook(tmp_path, rows: list[list], header: list[str] = HEADER):
    from test_census_ingest import workbook_with_sheets

    return workbook_with_sheets(tmp_path / "census" / "2023_spring.xlsx", {"Pupils": [header, *rows]})


def test_an_xlsx_error_cell_is_read_as_its_text_so_the_contract_quarantines_it_not_as_an_empty_value(tmp_path, con):
    """A failed VLOOKUP's #N/A (saved by Excel as an error cell) was read as empty: an optional column silently NULL,
    pupil_premium silently false. As its text, the contract's rules judge it as they would in a CSV."""
    rows = [list(pupil(1).values()), list(pupil(2, ethnicity="#N/A", pupil_premium="#N/A").values())]
    census_workbook(tmp_path, rows)  # openpyxl writes '#N/A' as an error cell (t="e")
    [result] = ingest(tmp_path, con)
    assert (result.rows_read, result.rows_loaded, result.rows_quarantined) == (2, 1, 1)
    assert [r[1:] for r in quarantine(con)] == [(3, "ethnicity", "code_not_allowed"),
                                                (3, "pupil_premium", "not_true_or_false")]  # fmt: skip
    assert loaded_rows(con) == [2]


def test_an_xlsx_formula_without_a_calculated_value_is_quarantined_naming_its_column(tmp_path, con):
    """A formula written by a script (never calculated by Excel) has no stored value: it was read as empty."""
    rows = [list(pupil(n).values()) for n in (1, 2, 3)]
    rows[1][HEADER.index("ethnicity")] = '=VLOOKUP("x",Z1:Z2,1,FALSE)'
    census_workbook(tmp_path, rows)
    [result] = ingest(tmp_path, con)
    assert (result.rows_read, result.rows_loaded, result.rows_quarantined) == (3, 2, 1)
    assert [r[1:] for r in quarantine(con)] == [(3, "ethnicity", "xlsx_formula_not_calculated")]
    assert loaded_rows(con) == [2, 4]


def test_a_sheet_of_formulas_never_calculated_fails_naming_the_first(tmp_path, con):
    """calamine reads no cell of such a sheet: it failed with a bare StopIteration (a traceback, no file named)."""
    census_workbook(tmp_path, [], header=["=1+1", "=2+2"])
    message = failure_of(tmp_path, con)
    assert "2023_spring.xlsx: row 1, column A: a formula with no calculated value" in message


def test_an_xlsx_value_in_a_column_without_a_header_is_quarantined_as_a_csv_row_too_long_is(tmp_path, con):
    rows = [list(pupil(n).values()) for n in (1, 2, 3)]
    rows[2] += ["", upn(9)]  # column R: past the header's last column (P)
    census_workbook(tmp_path, rows)
    [result] = ingest(tmp_path, con)
    assert (result.rows_read, result.rows_loaded, result.rows_quarantined) == (3, 2, 1)
    assert [r[1:] for r in quarantine(con)] == [(4, "R", "xlsx_too_many_columns")]
    assert loaded_rows(con) == [2, 3]


def test_a_header_name_over_two_lines_in_a_crlf_file_fails_naming_the_header_and_its_column(tmp_path, con):
    """Excel writes a header cell with Alt+Enter as "Notes<LF>(free text)" in a CRLF file; DuckDB read no row of it,
    and the file failed as 'its rows cannot be numbered'."""
    lines = csv_lines([pupil(n) | {"notes": "x"} for n in (1, 2, 3)], [*HEADER, "notes"])
    lines[0] = lines[0].replace(",notes", ',"Notes\n(free text)"')
    write_lines(tmp_path, lines, ending="\r\n")
    message = failure_of(tmp_path, con)
    assert "2023_spring.csv: row 1 (header), column notes_(free_text): its name holds a line break" in message


@pytest.mark.parametrize(
    ("format_code", "percent"),
    [("0%", True), ("0.0%", True), ("#,##0.00%;[Red]-#,##0.00%", True), ('0" %"', False), ("0\\%", False),
     ("General", False), ("£#,##0.00", False), ("dd/mm/yyyy", False)],
)  # fmt: skip
def test_a_number_format_is_a_percentage_when_it_has_a_percent_sign_that_is_not_quoted_text(format_code, percent):
    assert is_percent_format(format_code) is percent


@pytest.mark.parametrize(
    ("stored", "shown"),
    [(0.04, "4%"), (0.123, "12.3%"), (1.0, "100%"), (0, "0%"), (-0.05, "-5%"), (1e-07, "0.00001%"), (12, "1200%")],
)
def test_a_percentage_cell_reads_as_shown_to_every_decimal_stored(stored, shown):
    assert percent_text(stored) == shown
