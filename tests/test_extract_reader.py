"""Reading a CSV or XLSX extract (pipeline/extract_reader.py): files as councils' tools write them, read whole or
failing with an error naming the file, the row and the column (never a value). Census files, as in
test_census_ingest."""

import codecs

import pytest

from pipeline.extract_reader import (
    column_letters,
    merged_away_cells,
    recalculated_on_open,
    shown_format,
    shown_text,
    with_cell_references,
)
from pipeline.ingest import ExtractError, ingest_source

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


@pytest.mark.parametrize("blank_lines", [0, 2])
def test_a_header_with_text_after_a_closing_quote_fails_naming_its_row(tmp_path, con, blank_lines):
    """Python's csv module read "upn"x as the name upnx, DuckDB rejected the line, and the file failed as 'its rows
    cannot be numbered', naming no row."""
    lines = csv_lines([pupil(1)])
    lines[0] = lines[0].replace("upn", '"upn"x', 1)
    write_lines(tmp_path, [""] * blank_lines + lines)
    message = failure_of(tmp_path, con)
    assert f"2023_spring.csv: row {blank_lines + 1} (header) cannot be read as CSV (',' expected after '\"')" in message


def census_workbook(tmp_path, rows: list[list], header: list[str] = HEADER):
    from test_census_ingest import workbook_with_sheets

    return workbook_with_sheets(tmp_path / "census" / "2023_spring.xlsx", {"Pupils": [header, *rows]})


def leave_out_references(path) -> None:
    """Rewrite a workbook's first sheet as some writers save it: without the r attribute of a row that follows the
    row before it, or of a cell that follows the cell before it (the standard makes r optional)."""
    import re
    import zipfile

    with zipfile.ZipFile(path) as archive:
        parts = {name: archive.read(name) for name in archive.namelist()}
    row, column = 0, -1

    def left_out(tag: re.Match) -> bytes:
        nonlocal row, column
        if tag.group(1) == b"row":
            follows, row, column = int(tag.group(3)) == row + 1, int(tag.group(3)), -1
        else:
            number = 0
            for letter in tag.group(2):
                number = number * 26 + letter - ord("A") + 1
            follows, column = number - 1 == column + 1, number - 1
        return b"<" + tag.group(1) + (b"" if follows else b' r="' + tag.group(2) + tag.group(3) + b'"')

    sheet = parts["xl/worksheets/sheet1.xml"]
    parts["xl/worksheets/sheet1.xml"] = re.sub(rb'<(row|c) r="([A-Z]*)([0-9]+)"', left_out, sheet)
    assert parts["xl/worksheets/sheet1.xml"].count(b' r="') < sheet.count(b' r="') / 2  # most left out
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in parts.items():
            archive.writestr(name, data)


@pytest.mark.parametrize("references", ["written", "left out"])
def test_an_xlsx_error_cell_is_read_as_its_text_so_the_contract_quarantines_it_not_as_an_empty_value(
    tmp_path, con, references
):
    """A failed VLOOKUP's #N/A (saved by Excel as an error cell) was read as empty: an optional column silently NULL,
    pupil_premium silently false. As its text, the contract's rules judge it as they would in a CSV. A sheet whose
    cells do not name their references (optional in the standard) failed naming no row or column."""
    rows = [list(pupil(1).values()), list(pupil(2, ethnicity="#N/A", pupil_premium="#N/A").values())]
    path = census_workbook(tmp_path, rows)  # openpyxl writes '#N/A' as an error cell (t="e")
    if references == "left out":
        leave_out_references(path)
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


def with_formula_results(path, results: dict[str, str], recalculate_on_open: bool) -> None:
    """Rewrite an openpyxl workbook as another writer would have saved it: each formula cell (by reference) with a
    stored result, and calcPr's fullCalcOnLoad flag on or off (openpyxl sets it; Excel saves without it)."""
    import re
    import zipfile

    with zipfile.ZipFile(path) as archive:
        parts = {name: archive.read(name) for name in archive.namelist()}
    for reference, result in results.items():
        cell = rf'(<c r="{reference}"[^>]*>)(<f>.*?</f>)(<v\s*/>|<v></v>)?(</c>)'.encode()
        parts["xl/worksheets/sheet1.xml"], found = re.subn(
            cell, rb"\1\2<v>" + result.encode() + rb"</v>\4", parts["xl/worksheets/sheet1.xml"]
        )
        assert found == 1
    workbook = re.sub(rb'\s*fullCalcOnLoad="1"', b"", parts["xl/workbook.xml"])
    if recalculate_on_open:
        workbook = workbook.replace(b"<calcPr ", b'<calcPr fullCalcOnLoad="1" ')
    parts["xl/workbook.xml"] = workbook
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in parts.items():
            archive.writestr(name, data)


@pytest.mark.parametrize("recalculate_on_open", [True, False])
def test_a_formulas_stored_result_is_read_unless_the_workbook_is_to_be_calculated_on_opening(
    tmp_path, con, recalculate_on_open
):
    """xlsxwriter stores 0 as every formula's result and flags the workbook to be calculated when it is opened: the
    placeholder loaded (an amount of 0, pupil_premium false). Such a workbook's formulas are not calculated; a stored
    result in a workbook Excel saved (no flag) is the formula's value."""
    rows = [list(pupil(n).values()) for n in (1, 2, 3)]
    rows[1][HEADER.index("pupil_premium")] = '=IF(TRUE,"Y","N")'
    path = census_workbook(tmp_path, rows)
    with_formula_results(path, {f"{column_letters(HEADER.index('pupil_premium'))}3": "0"}, recalculate_on_open)
    [result] = ingest(tmp_path, con)
    if recalculate_on_open:
        assert (result.rows_read, result.rows_loaded, result.rows_quarantined) == (3, 2, 1)
        assert [r[1:] for r in quarantine(con)] == [(3, "pupil_premium", "xlsx_formula_not_calculated")]
    else:
        assert (result.rows_read, result.rows_loaded, result.rows_quarantined) == (3, 3, 0)
        premium = con.execute("SELECT pupil_premium FROM raw.census_pupils WHERE source_row = 3").fetchone()
        assert premium == (False,)  # the stored 0, read as Excel computed it


def test_a_value_merged_over_several_rows_quarantines_the_rows_it_is_shown_in_but_not_stored_in(tmp_path, con):
    """A merged cell stores its value in its first cell only: the rows below read an empty value (an optional
    column silently NULL, a flag silently false). Those rows are quarantined naming the column; an empty merged
    range hides nothing."""
    import openpyxl

    rows = [list(pupil(n).values()) for n in (1, 2, 3, 4, 5)]
    path = census_workbook(tmp_path, rows)
    book = openpyxl.load_workbook(path)
    ethnicity = column_letters(HEADER.index("ethnicity"))
    book.active.merge_cells(f"{ethnicity}2:{ethnicity}4")  # rows 2-4 show row 2's ethnicity
    book.active[f"{ethnicity}5"] = None
    book.active.merge_cells(f"{ethnicity}5:{ethnicity}6")  # nothing shown: rows 5 and 6 have no ethnicity
    book.save(path)
    [result] = ingest(tmp_path, con)
    assert (result.rows_read, result.rows_loaded, result.rows_quarantined) == (5, 3, 2)
    assert [r[1:] for r in quarantine(con)] == [
        (3, "ethnicity", "xlsx_merged_cell"),
        (4, "ethnicity", "xlsx_merged_cell"),
    ]
    assert loaded_rows(con) == [2, 5, 6]


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
    ("format_code", "shown"),
    [("0%", "%"), ("0.0%", "%"), ("#,##0.00%;[Red]-#,##0.00%", "%"), ('0" %"', None), ("0\\%", None),
     ("0000000", "0000000"), ("00", "00"), ("0", None), ("#,##0", None), ('"ID"0000', None),
     ("General", None), ("£#,##0.00", None), ("dd/mm/yyyy", None)],
)  # fmt: skip
def test_a_number_format_shows_a_number_otherwise_than_stored_when_a_percentage_or_zero_padded(format_code, shown):
    assert shown_format(format_code) == shown


@pytest.mark.parametrize(
    ("stored", "number_format", "shown"),
    [(0.04, "%", "4%"), (0.123, "%", "12.3%"), (1.0, "%", "100%"), (0, "%", "0%"), (-0.05, "%", "-5%"),
     (1e-07, "%", "0.00001%"), (12, "%", "1200%"), (1234, "0000000", "0001234"), (1234.0, "0000000", "0001234"),
     (-12, "0000", "-0012"), (12345678, "0000", "12345678"), (12.5, "0000", None)],
)  # fmt: skip
def test_a_number_reads_as_its_format_shows_it(stored, number_format, shown):
    assert shown_text(stored, number_format) == shown


@pytest.mark.parametrize("references", ["written", "left out"])
def test_an_id_padded_with_zeros_by_its_cells_format_keeps_them(tmp_path, con, references):
    """An id typed 0001234 in a cell formatted 0000000 is stored as the number 1234: read as stored, it was
    pseudonymised as '1234', so the child no longer linked to the same id sent as text ('0001234') elsewhere. Cells
    without their references (optional in the standard) were read as stored."""
    import openpyxl

    from pipeline.pseudonymise import pseudonym
    from pipeline.sources.placements import placements_contract

    header = ["extract_date", "placement_id", "person_id", "upn", "dob", "has_ehcp", "primary_need", "setting_type",
              "in_county", "start_date", "end_date", "annual_cost_gbp"]  # fmt: skip
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(header)
    sheet.append(["2023-03-31", 1234, "0005678", None, "2010-01-01", "Y", "ASD", "MAINSTREAM", "Y", "2019-09-01",
                  None, None])  # fmt: skip
    sheet["B2"].number_format = "0000000"
    (tmp_path / "placements").mkdir()
    book.save(tmp_path / "placements" / "2023-03-31.xlsx")
    if references == "left out":
        leave_out_references(tmp_path / "placements" / "2023-03-31.xlsx")
    key = b"test-key-0123456789abcdef"
    [result] = ingest_source(con, placements_contract(key), tmp_path)
    assert (result.rows_loaded, result.rows_quarantined) == (1, 0)
    ids = con.execute("SELECT placement_id, person_id FROM raw.placements").fetchone()
    assert ids == (pseudonym(key, "0001234"), pseudonym(key, "0005678"))


def test_merged_away_cells_are_the_cells_of_a_range_with_a_value_besides_its_first():
    rows = [["a", None, None], [None, None, None], ["b", None, None]]
    ranges = [((0, 0), (1, 1)), ((2, 1), (2, 2)), ((2, 0), (2, 0))]  # a 2x2 with a value, an empty one, a single
    assert merged_away_cells(ranges, rows) == {(1, 1), (2, 0), (2, 1)}
    assert merged_away_cells(None, rows) == set()


@pytest.mark.parametrize(
    ("workbook_xml", "flagged"),
    [(b'<workbook><calcPr calcId="124519" fullCalcOnLoad="1"/></workbook>', True),
     (b'<x:workbook><x:calcPr fullCalcOnLoad="true"/></x:workbook>', True),
     (b'<workbook><calcPr calcId="191029"/></workbook>', False),
     (b'<workbook><calcPr fullCalcOnLoad="0"/></workbook>', False),
     (b"<workbook/>", False)],
)  # fmt: skip
def test_a_workbook_is_to_be_recalculated_on_opening_only_when_calc_pr_says_so(workbook_xml, flagged):
    assert recalculated_on_open(workbook_xml) is flagged


@pytest.mark.parametrize(
    ("sheet", "referenced"),
    [(b'<row><c t="e"><v>#N/A</v></c><c/><c><f>1</f></c></row>'
      b'<row r="5"><c/><c r="D5"/><c s="2"/></row><row><c/></row>',
      b'<row><c r="A1" t="e"><v>#N/A</v></c><c r="B1"/><c r="C1"><f>1</f></c></row>'
      b'<row r="5"><c r="A5"/><c r="D5"/><c r="E5" s="2"/></row><row><c r="A6"/></row>'),
     (b'<x:row r="2"><x:c r="Z2"/><x:c>1</x:c></x:row><x:cols><x:col min="1"/></x:cols>',
      b'<x:row r="2"><x:c r="Z2"/><x:c r="AA2">1</x:c></x:row><x:cols><x:col min="1"/></x:cols>'),
     (b'<row r="1"><c r="A1"/><c r="C1"/></row>', b'<row r="1"><c r="A1"/><c r="C1"/></row>')],
)  # fmt: skip
def test_a_cell_without_its_reference_is_where_it_follows_the_cell_before_it(sheet, referenced):
    assert with_cell_references(sheet) == referenced
