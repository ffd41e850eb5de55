"""Disability register: contract, quarantine, ledger, pseudonyms, the Dagster asset, the generator and the seed.

Small hand-made files in tmp_path for the contract; the generated Rutland register (with the census and the
placements it links to) built through dbt staging for the seed figures of sections 6.7 and 6.8, which are read
from tests/fixtures/figures.yaml and recomputed here with SQL of the test's own.
"""

import shutil
from pathlib import Path

import dagster as dg
import duckdb
import pytest
import yaml

from pipeline.generate.census import generate_census
from pipeline.generate.disability_register import generate_disability_register
from pipeline.generate.placements import generate_placements
from pipeline.ingest import ExtractError, ingest_source
from pipeline.pseudonymise import pseudonym
from pipeline.resources import SendWarehouse
from pipeline.sources.census import census_contract
from pipeline.sources.disability_register import disability_register, disability_register_contract
from pipeline.sources.placements import placements_contract
from pipeline.upn import check_letter

import source_support
from source_support import assert_ingest_metadata, quarantine
from support import dbt

KEY = b"test-key-0123456789abcdef"
REPO = Path(__file__).resolve().parent.parent
FIGURES = yaml.safe_load((Path(__file__).parent / "fixtures" / "figures.yaml").read_text())
HEADER = [
    "register_id", "upn", "snapshot_date", "dob", "gender", "home_postcode", "in_area", "has_ehcp",
    "disability_codes", "aiming_high_positive_activities", "aiming_high_short_breaks", "parent_support",
]  # fmt: skip
FILE = "disability_register/register_2023-03-31.csv"


def upn(serial: int) -> str:
    digits = f"857200122{serial:03d}"
    return check_letter(digits) + digits


def child(n: int, **changes) -> dict:
    row = {
        "register_id": f"{700000 + n}", "upn": upn(n), "snapshot_date": "31/03/2023", "dob": "14/06/2012",
        "gender": "M", "home_postcode": "LE15 6AB", "in_area": "Y", "has_ehcp": "Y", "disability_codes": "AUT;LD",
        "aiming_high_positive_activities": "Y", "aiming_high_short_breaks": "N", "parent_support": "N",
    }  # fmt: skip
    row.update(changes)
    return row


def write_csv(path: Path, rows: list[dict], header: list[str] = HEADER, encoding: str = "utf-8") -> Path:
    return source_support.write_csv(path, rows, header, encoding)


def ingest(raw: Path, con):
    return ingest_source(con, disability_register_contract(KEY), raw)


def stored_text(con, table: str) -> str:
    return " ".join(str(v) for row in con.execute(f"SELECT * FROM {table}").fetchall() for v in row)


# ---------- the contract ----------


def test_a_good_file_loads_pseudonymised_with_birth_month_and_postcode_district(tmp_path, con):
    rows = [
        child(1),
        child(2, dob="2004-11-30", gender="F", in_area="", home_postcode="pe9 3ab", disability_codes="comm, ld|aut"),
        child(3, upn="", in_area="N", home_postcode="", has_ehcp="N", disability_codes="MOB",
              aiming_high_positive_activities="", parent_support="Y"),
    ]  # fmt: skip
    write_csv(tmp_path / FILE, rows)
    [result] = ingest(tmp_path, con)
    assert (result.rows_read, result.rows_loaded, result.rows_quarantined) == (3, 3, 0)
    got = con.execute(
        """
        SELECT register_id, pupil_id, snapshot_date::VARCHAR, birth_month::VARCHAR, gender, home_postcode_district,
               in_area, has_ehcp, disability_codes, aiming_high_positive_activities, aiming_high_short_breaks,
               parent_support
        FROM raw.disability_register ORDER BY source_row
        """
    ).fetchall()

    assert got[0] == (pseudonym(KEY, "700001"), pseudonym(KEY, upn(1)), "2023-03-31", "2012-06-01", "M", "LE15",
                      True, True, ["AUT", "LD"], True, False, False)  # fmt: skip
    # only a postcode: residence not recorded (a district cannot decide it), codes split, sorted, upper-cased
    assert got[1][3:9] == ("2004-11-01", "F", "PE9", None, True, ["AUT", "COMM", "LD"])
    # no UPN: no pupil_id; an empty service flag reads as N
    assert got[2][1] is None and got[2][5:] == (None, False, False, ["MOB"], False, False, True)


def test_no_identifier_postcode_name_or_birth_date_is_stored(tmp_path, con):
    header = [*HEADER, "forename", "surname"]
    row = child(1) | {"forename": "Olivia", "surname": "Pemberton-Smythe", "home_postcode": "LE15 6QZ"}
    write_csv(tmp_path / FILE, [row], header=header)
    [result] = ingest(tmp_path, con)
    assert result.rows_loaded == 1 and set(result.extra_columns) == {"forename", "surname"}
    columns = {r[0] for r in con.execute("SELECT column_name FROM (DESCRIBE raw.disability_register)").fetchall()}
    assert not columns & {"upn", "dob", "home_postcode", "forename", "surname", "name", "postcode"}
    text = stored_text(con, "raw.disability_register")
    for value in (upn(1), "700001", "Olivia", "Pemberton", "LE15 6QZ", "LE156QZ", "2012-06-14", "14/06/2012"):
        assert value not in text


BAD_ROWS = [
    ({"register_id": ""}, "register_id", "required"),
    ({"snapshot_date": ""}, "snapshot_date", "required"),
    ({"dob": "31/02/2012"}, "dob", "not_a_date"),
    ({"gender": ""}, "gender", "required"),
    ({"snapshot_date": "30/02/2023"}, "snapshot_date", "not_a_date"),
    ({"upn": ("B" if upn(3)[0] == "A" else "A") + upn(3)[1:]}, "upn", "upn_check_letter_invalid"),
    ({"upn": "A85720012200"}, "upn", "upn_not_13_characters_letter_then_digits"),
    ({"dob": ""}, "dob", "required"),
    ({"dob": "01/04/2023"}, "dob", "dob_after_snapshot_date"),
    ({"gender": "X"}, "gender", "code_not_allowed"),
    ({"home_postcode": "LE15 XX1"}, "home_postcode", "postcode_not_valid"),
    ({"in_area": "maybe"}, "in_area", "not_true_or_false"),
    ({"in_area": "", "home_postcode": ""}, "in_area", "in_area_or_home_postcode_required"),
    ({"has_ehcp": ""}, "has_ehcp", "required"),
    ({"has_ehcp": "pending"}, "has_ehcp", "not_true_or_false"),
    ({"disability_codes": "AUT;WHEELCHAIR"}, "disability_codes", "disability_code_not_allowed"),
    ({"disability_codes": ""}, "disability_codes", "required"),
    ({"disability_codes": " ; | "}, "disability_codes", "required"),
    ({"aiming_high_positive_activities": "weekly"}, "aiming_high_positive_activities", "not_true_or_false"),
    ({"aiming_high_short_breaks": "2"}, "aiming_high_short_breaks", "not_true_or_false"),
    ({"parent_support": "maybe"}, "parent_support", "not_true_or_false"),
]


@pytest.mark.parametrize(("change", "column", "rule"), BAD_ROWS, ids=[f"{r[1]}-{r[2]}" for r in BAD_ROWS])
def test_bad_row_is_quarantined_with_its_rule_never_its_value(tmp_path, con, change, column, rule):
    bad = child(3, **change)
    write_csv(tmp_path / FILE, [child(1), bad, child(4)])
    [result] = ingest(tmp_path, con)
    assert (result.rows_read, result.rows_loaded, result.rows_quarantined) == (3, 2, 1)
    assert result.rows_read == result.rows_loaded + result.rows_quarantined
    assert (FILE, 3, column, rule) in quarantine(con)
    assert {r[1] for r in quarantine(con)} == {3}
    assert con.execute("SELECT count(*) FROM raw.disability_register").fetchone()[0] == 2
    text = stored_text(con, "raw.quarantine")
    assert "2023-03-31" in text  # the file name is there ...
    for value in change.values():
        if len(value.strip()) >= 4:  # ... the value is not (one- or two-character codes occur in any text)
            assert value not in text


def test_a_register_id_given_twice_quarantines_both_rows(tmp_path, con):
    write_csv(tmp_path / FILE, [child(1), child(2, register_id="700001"), child(3)])
    [result] = ingest(tmp_path, con)
    assert (result.rows_loaded, result.rows_quarantined) == (1, 2)
    assert [r[1:] for r in quarantine(con)] == [
        (2, "register_id", "register_id_repeated_in_file"),
        (3, "register_id", "register_id_repeated_in_file"),
    ]


def test_the_singular_disability_code_header_is_accepted(tmp_path, con):
    header = [h if h != "disability_codes" else "Disability Code" for h in HEADER]
    rows = [{(k if k != "disability_codes" else "Disability Code"): v for k, v in child(1).items()}]
    write_csv(tmp_path / FILE, rows, header=header)
    [result] = ingest(tmp_path, con)
    assert result.rows_loaded == 1
    assert con.execute("SELECT disability_codes FROM raw.disability_register").fetchone()[0] == ["AUT", "LD"]


def test_a_file_with_both_code_columns_loads_a_row_only_when_they_agree(tmp_path, con):
    """The load read disability_codes and dropped a different disability_code without a trace."""
    header = [*HEADER, "disability_code"]
    rows = [child(1, disability_code="ld; aut"), child(2, disability_code="AUT"), child(3, disability_code="")]
    write_csv(tmp_path / FILE, rows, header=header)
    [result] = ingest(tmp_path, con)
    assert (result.rows_loaded, result.rows_quarantined) == (2, 1)
    assert [r[1:] for r in quarantine(con)] == [(3, "disability_code", "disability_code_differs_from_disability_codes")]


def test_a_broken_header_fails_naming_file_and_column_and_loads_nothing(tmp_path, con):
    write_csv(tmp_path / FILE, [child(1)], header=[h for h in HEADER if h != "has_ehcp"])
    with pytest.raises(ExtractError, match=rf"{FILE}: row 1 \(header\) is missing required column\(s\) has_ehcp"):
        ingest(tmp_path, con)
    assert con.execute("SELECT count(*) FROM raw.file_ledger").fetchone()[0] == 0
    tables = con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = 'disability_register'")
    assert tables.fetchone()[0] == 0


def test_cp1252_export_with_council_headers_and_uk_dates(tmp_path, con):
    header = [h.upper().replace("_", " ") for h in HEADER] + ["Worker Notes"]
    rows = [
        {h.upper().replace("_", " "): v for h, v in child(n, dob=d).items()} | {"Worker Notes": "Zoë's café £10"}
        for n, d in [(1, "14/06/2012"), (2, "2012-06-14"), (3, "2012-Jun-14 00:00:00")]
    ]
    path = write_csv(tmp_path / FILE, rows, header=header, encoding="cp1252")
    assert "ë".encode("cp1252") in path.read_bytes()
    [result] = ingest(tmp_path, con)
    assert (result.rows_loaded, result.rows_quarantined) == (3, 0)
    assert result.extra_columns == ("worker_notes",)
    months = con.execute("SELECT DISTINCT birth_month::VARCHAR FROM raw.disability_register").fetchall()
    assert months == [("2012-06-01",)]


def test_xlsx_first_sheet_header_on_first_non_empty_row(tmp_path, con):
    import datetime as dt

    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append([])
    sheet.append(HEADER)
    good = child(1)
    sheet.append([700001 if h == "register_id" else dt.datetime(2023, 3, 31) if h == "snapshot_date" else good[h]
                  for h in HEADER])  # fmt: skip
    sheet.append(list(child(2, gender="Z").values()))
    path = tmp_path / "disability_register" / "register_2023-03-31.xlsx"
    path.parent.mkdir(parents=True)
    book.save(path)
    [result] = ingest(tmp_path, con)
    assert (result.rows_read, result.rows_loaded, result.rows_quarantined) == (2, 1, 1)
    assert ("disability_register/register_2023-03-31.xlsx", 4, "gender", "code_not_allowed") in quarantine(con)
    row = con.execute("SELECT register_id, snapshot_date::VARCHAR FROM raw.disability_register").fetchone()
    assert row == (pseudonym(KEY, "700001"), "2023-03-31")


def test_the_same_file_dropped_again_is_skipped(tmp_path, con):
    write_csv(tmp_path / FILE, [child(1), child(2), child(3, gender="Q")])
    first = ingest(tmp_path, con)
    second = ingest(tmp_path, con)
    assert [r.status for r in first] == ["loaded"] and [r.status for r in second] == ["unchanged"]
    assert con.execute("SELECT count(*) FROM raw.disability_register").fetchone()[0] == 2
    assert con.execute("SELECT count(*) FROM raw.quarantine").fetchone()[0] == 1
    assert con.execute("SELECT count(*) FROM raw.file_ledger").fetchone()[0] == 1


def test_a_corrected_file_for_the_same_snapshot_replaces_the_earlier_one(tmp_path, con):
    write_csv(tmp_path / FILE, [child(1), child(2, gender="Q")])
    write_csv(tmp_path / "disability_register" / "register_2022-03-31.csv", [child(1, snapshot_date="31/03/2022")])
    ingest(tmp_path, con)
    corrected = "disability_register/register_2023-03-31_corrected.csv"
    write_csv(tmp_path / corrected, [child(1), child(2), child(3)])
    results = {r.file_name: r for r in ingest(tmp_path, con)}
    assert results[corrected].superseded_files == (FILE,)
    counts = con.execute(
        "SELECT snapshot_date::VARCHAR, source_file, count(*) FROM raw.disability_register GROUP BY ALL ORDER BY 1"
    ).fetchall()
    assert counts == [
        ("2022-03-31", "disability_register/register_2022-03-31.csv", 1),
        ("2023-03-31", corrected, 3),
    ]


def test_the_same_upn_gets_the_census_pseudonym(tmp_path, con):
    census_row = {
        "upn": upn(7), "laestab": "8572001", "census_date": "2023-01-19", "phase": "PRIMARY", "ncyear_actual": "5",
        "enrol_status": "C", "dob": "2012-06-14", "gender": "M", "sen_provision": "E", "sen_primary_need": "ASD",
        "fsm_eligible": "false", "pupil_premium": "false", "home_la_code": "857",
    }  # fmt: skip
    write_csv(tmp_path / "census" / "2023_spring.csv", [census_row], header=list(census_row))
    write_csv(tmp_path / FILE, [child(7, upn=upn(7).lower()), child(8)])
    ingest_source(con, census_contract(KEY), tmp_path)
    ingest(tmp_path, con)
    linked = con.execute(
        "SELECT count(*) FROM raw.disability_register r JOIN raw.census_pupils c USING (pupil_id)"
    ).fetchone()[0]
    assert linked == 1
    with duckdb.connect() as other:
        ingest_source(other, disability_register_contract(b"another-key-0123456789"), tmp_path)
        moved = other.execute("SELECT pupil_id FROM raw.disability_register ORDER BY source_row").fetchone()[0]
    assert moved != con.execute("SELECT pupil_id FROM raw.census_pupils").fetchone()[0]


# ---------- the Dagster asset ----------


def test_asset_loads_the_folder_and_fails_on_an_empty_one(tmp_path, monkeypatch):
    monkeypatch.setenv("SEND_PSEUDONYM_KEY", KEY.decode())
    write_csv(tmp_path / "raw" / FILE, [child(1), child(2), child(3, gender="Q")])
    warehouse = SendWarehouse(raw_dir=str(tmp_path / "raw"), warehouse_dir=str(tmp_path / "warehouse"))
    result = dg.materialize([disability_register], resources={"warehouse": warehouse})
    assert result.success
    [event] = result.get_asset_materialization_events()
    materialization = event.event_specific_data.materialization
    assert materialization.asset_key == dg.AssetKey(["raw", "disability_register"])
    meta = {k: v.value for k, v in materialization.metadata.items()}
    assert_ingest_metadata(meta, quarantined=1)

    empty = SendWarehouse(raw_dir=str(tmp_path / "nothing"), warehouse_dir=str(tmp_path / "warehouse2"))
    with pytest.raises(dg.Failure, match="no disability_register extracts in"):
        dg.materialize([disability_register], resources={"warehouse": empty})


def test_dbt_source_carries_the_asset_key():
    folder = REPO / "dbt_project" / "models" / "staging" / "disability_register"
    [source] = yaml.safe_load((folder / "_disability_register__sources.yml").read_text())["sources"]
    [table] = source["tables"]
    assert (source["schema"], table["name"]) == ("raw", "disability_register")
    assert table["meta"]["dagster"]["asset_key"] == list(disability_register.key.path)


# ---------- the generator, through dbt staging, against the seed ----------


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Path:
    raw = tmp_path_factory.mktemp("raw")
    generate_census(raw, "rutland", 2023, years=[2023])
    generate_placements(raw, seed=2023)
    generate_disability_register(raw, seed=2023)
    return raw


@pytest.fixture(scope="module")
def staged(generated, tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("dbt")
    warehouse = tmp / "send.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        for contract in (census_contract(KEY), placements_contract(KEY), disability_register_contract(KEY)):
            results = ingest_source(con, contract, generated)
            assert all(r.rows_quarantined == 0 for r in results), results
    built = dbt(warehouse, tmp, "build", "--select", "+stg_disability_register__children", "+stg_census__pupils")
    assert built.returncode == 0, built.stdout[-4000:] + built.stderr[-2000:]
    return warehouse


@pytest.fixture
def warehouse(staged):
    con = duckdb.connect(str(staged), read_only=True)
    yield con
    con.close()


def test_generator_writes_one_file_per_snapshot_deterministically(generated, tmp_path):
    folder = generated / "disability_register"
    names = sorted(p.name for p in folder.iterdir())
    assert names == ["register_2022-03-31.csv", "register_2023-03-31.csv"]
    assert (folder / names[0]).read_text().splitlines()[0] == ",".join(HEADER)
    again = generate_disability_register(tmp_path / "a", seed=2023)
    assert [p.read_bytes() for p in again] == [(folder / n).read_bytes() for n in names]
    other = generate_disability_register(tmp_path / "b", seed=7)
    assert other[1].read_bytes() != (folder / names[1]).read_bytes()


def test_register_march_2023_matches_the_seed(warehouse):
    seed = FIGURES["disability_register_6_8"]
    counts = warehouse.execute(
        """
        WITH r AS (
            SELECT *, date_diff('month', birth_month, snapshot_date) // 12 AS age
            FROM staging.stg_disability_register__children WHERE snapshot_date = DATE '2023-03-31'
        )
        SELECT [count(*) FILTER (WHERE in_area AND age BETWEEN 0 AND 18),
                count(*) FILTER (WHERE in_area AND age BETWEEN 0 AND 18 AND has_ehcp)],
               [count(*) FILTER (WHERE in_area AND age BETWEEN 19 AND 25),
                count(*) FILTER (WHERE in_area AND age BETWEEN 19 AND 25 AND has_ehcp)],
               [count(*) FILTER (WHERE NOT in_area), count(*) FILTER (WHERE NOT in_area AND has_ehcp)],
               [count(*), count(*) FILTER (WHERE has_ehcp)],
               count(*) FILTER (WHERE in_area IS NULL OR age > 25)
        FROM r
        """
    ).fetchone()
    assert list(counts[:4]) == [seed["aged_0_18"], seed["aged_19_25"], seed["out_of_area"], seed["total"]]
    assert counts[4] == 0
    # the staging model's own bands give the same table
    bands = dict(
        warehouse.execute(
            """
            SELECT CASE WHEN residence = 'out_of_area' THEN 'out_of_area' ELSE 'aged_' || replace(age_band, '-', '_')
                   END, [count(*), count(*) FILTER (WHERE has_ehcp)]
            FROM staging.stg_disability_register__children WHERE snapshot_date = DATE '2023-03-31' GROUP BY 1
            """
        ).fetchall()
    )
    assert bands == {k: seed[k] for k in ("aged_0_18", "aged_19_25", "out_of_area")}


def test_aiming_high_april_2022_to_march_2023_matches_the_seed(warehouse):
    seed = FIGURES["wider_services_6_7"]
    row = warehouse.execute(
        """
        SELECT min(service_year_start)::VARCHAR, max(service_year_end)::VARCHAR,
               count(*) FILTER (WHERE aiming_high_positive_activities),
               count(*) FILTER (WHERE aiming_high_short_breaks),
               count(*) FILTER (WHERE aiming_high_short_breaks AND has_ehcp),
               count(DISTINCT register_id) FILTER (WHERE aiming_high_positive_activities OR aiming_high_short_breaks),
               count(*) FILTER (WHERE aiming_high_positive_activities AND aiming_high_short_breaks),
               count(*) FILTER (WHERE parent_support)
        FROM staging.stg_disability_register__children WHERE snapshot_date = DATE '2023-03-31'
        """
    ).fetchone()
    assert row[:2] == ("2022-04-01", "2023-03-31")
    assert list(row[2:]) == [
        seed["positive_activities"], seed["short_breaks"], seed["short_breaks_with_ehcp"],
        seed["distinct_children"], seed["both_services"], seed["parent_carers_supported"],
    ]  # fmt: skip


def test_the_earlier_snapshot_is_kept_apart(warehouse):
    snapshots = warehouse.execute(
        "SELECT snapshot_date::VARCHAR, count(*) FROM staging.stg_disability_register__children GROUP BY 1 ORDER BY 1"
    ).fetchall()
    assert [s for s, _ in snapshots] == ["2022-03-31", "2023-03-31"]
    assert snapshots[1][1] == FIGURES["disability_register_6_8"]["total"][0] != snapshots[0][1]


def test_generated_children_link_to_census_and_placements(warehouse):
    census, placements, ehcp = warehouse.execute(
        """
        SELECT count(*) FILTER (WHERE pupil_id IN (SELECT pupil_id FROM staging.stg_census__pupils)),
               count(*) FILTER (WHERE has_ehcp AND register_id IN (SELECT person_id FROM raw.placements)),
               count(*) FILTER (WHERE has_ehcp)
        FROM staging.stg_disability_register__children WHERE snapshot_date = DATE '2023-03-31'
        """
    ).fetchone()
    assert census >= 100  # EHCP and SEN support pupils of the census carry their UPN onto the register
    assert placements == ehcp  # every EHCP child on the register is a child of the placements extracts


def test_dbt_tests_fail_on_a_repeated_child_and_an_unknown_gender(staged, tmp_path):
    broken = tmp_path / "broken.duckdb"
    shutil.copy(staged, broken)
    with duckdb.connect(str(broken)) as con:
        con.execute("INSERT INTO raw.disability_register SELECT * FROM raw.disability_register LIMIT 1")
        con.execute("UPDATE raw.disability_register SET gender = 'X' WHERE source_row = 5")
    result = dbt(broken, tmp_path, "test", "--select", "stg_disability_register__children")
    assert result.returncode != 0
    failed = [line for line in result.stdout.splitlines() if " FAIL " in line]
    assert any("unique_combination_stg_disability_register" in line for line in failed), failed
    assert any("accepted_values_stg_disability_register__children_gender" in line for line in failed), failed
    assert len(failed) == 2, failed
