"""A sequence of nights gives what one cold build of the final drop zone gives (the nights audit, 30 November 2026).

Each test ingests night after night into one warehouse, then the final raw/ once into a fresh one, and compares the
rows. Small hand-made census files and EHCNA sets (tests/test_census_ingest.py's, tests/test_ehcna_source.py's),
ingested with the real contracts in memory.
"""

import dataclasses
import shutil
from pathlib import Path

import duckdb
import pytest

import pipeline.ingest
from pipeline.ingest import ExtractError, ingest_source
from pipeline.sources.census import census_contract
from pipeline.sources.ehcna import ingest_ehcna

from test_census_ingest import HEADER, KEY, pupil, write_csv
from test_ehcna_source import HEADERS, TABLES, count, good_set, quarantine, write_set
from test_ehcna_source import KEY as EHCNA_KEY
from test_ehcna_source import write_csv as write_csv_with


def ingest(raw: Path, con) -> None:
    ingest_source(con, census_contract(KEY), raw)


def census_rows(con) -> list[tuple]:
    return con.execute(
        "SELECT source_file, source_row, pupil_id, census_date, sen_provision FROM raw.census_pupils ORDER BY ALL"
    ).fetchall()


def cold_build(raw: Path, tmp_path: Path) -> list[tuple]:
    """The final drop zone ingested once into a fresh warehouse."""
    copy = tmp_path / "cold_raw"
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(raw, copy)
    with duckdb.connect() as cold:
        ingest(copy, cold)
        return census_rows(cold)


def test_an_original_edited_after_its_correction_does_not_overrule_the_correction(tmp_path, con):
    raw = tmp_path / "raw"
    original = raw / "census" / "2023_spring.csv"
    write_csv(original, [pupil(1), pupil(2)])
    ingest(raw, con)  # night 1
    write_csv(raw / "census" / "2023_spring (corrected).csv", [pupil(1), pupil(2), pupil(3)])
    ingest(raw, con)  # night 2: the correction replaces the census
    write_csv(original, [pupil(1), pupil(2, sen_provision="N", sen_primary_need="")])
    ingest(raw, con)  # night 3: the original touched up in place (same name, rows changed)
    assert census_rows(con) == cold_build(raw, tmp_path)
    assert {row[0] for row in census_rows(con)} == {"census/2023_spring (corrected).csv"}


def test_a_correction_dated_another_day_of_the_term_replaces_the_original_as_a_rebuild_does(tmp_path, con):
    raw = tmp_path / "raw"
    write_csv(raw / "census" / "2023_spring.csv", [pupil(n, census_date="2023-01-26") for n in (1, 2, 3)])
    write_csv(raw / "census" / "2023_summer.csv", [pupil(n, census_date="2023-05-18") for n in (1, 2)])
    ingest(raw, con)  # night 1
    write_csv(raw / "census" / "2023_spring (corrected).csv", [pupil(n, census_date="2023-01-19") for n in (1, 2)])
    ingest(raw, con)  # night 2: the correction, dated a week earlier, removes pupil 3 from Spring 2023
    assert census_rows(con) == cold_build(raw, tmp_path)
    assert con.execute("SELECT source_file, count(*) FROM raw.census_pupils GROUP BY ALL ORDER BY ALL").fetchall() == [
        ("census/2023_spring (corrected).csv", 2),
        ("census/2023_summer.csv", 2),
    ]


def test_a_file_pseudonymised_under_another_key_is_refused(tmp_path, con):
    raw = tmp_path / "raw"
    write_csv(raw / "census" / "2022_spring.csv", [pupil(1, census_date="2022-01-20")])
    ingest(raw, con)  # night 1
    write_csv(raw / "census" / "2023_spring.csv", [pupil(1)])
    other_key = b"another-key-not-secret-987654"
    with pytest.raises(ExtractError, match="census/2023_spring.csv: not loaded: SEND_PSEUDONYM_KEY") as refused:
        ingest_source(con, census_contract(other_key), raw)  # night 2: the key changed
    assert other_key.decode() not in str(refused.value) and KEY.decode() not in str(refused.value)
    assert {row[0] for row in census_rows(con)} == {"census/2022_spring.csv"}
    ingest(raw, con)  # night 3: the key set back
    assert census_rows(con) == cold_build(raw, tmp_path)


def test_a_file_removed_from_raw_takes_its_rows_and_quarantine_with_it(tmp_path, con):
    raw = tmp_path / "raw"
    write_csv(raw / "census" / "2022_spring.csv", [pupil(1, census_date="2022-01-20"), pupil(2, gender="Q")])
    write_csv(raw / "census" / "2023_spring.csv", [pupil(1), pupil(2)])
    ingest(raw, con)  # night 1
    (raw / "census" / "2022_spring.csv").unlink()
    ingest(raw, con)  # night 2: the 2022 census withdrawn
    assert census_rows(con) == cold_build(raw, tmp_path)
    assert con.execute("SELECT count(*) FROM raw.quarantine").fetchone()[0] == 0


def test_a_correction_removed_gives_the_original_back(tmp_path, con):
    raw = tmp_path / "raw"
    write_csv(raw / "census" / "2023_spring.csv", [pupil(1), pupil(2)])
    ingest(raw, con)  # night 1
    write_csv(raw / "census" / "2023_spring (corrected).csv", [pupil(1), pupil(2), pupil(3)])
    ingest(raw, con)  # night 2: the correction replaces the census
    (raw / "census" / "2023_spring (corrected).csv").unlink()
    ingest(raw, con)  # night 3: the correction withdrawn
    assert census_rows(con) == cold_build(raw, tmp_path)
    assert {row[0] for row in census_rows(con)} == {"census/2023_spring.csv"}
    write_csv(raw / "census" / "2023_spring (corrected).csv", [pupil(1), pupil(2), pupil(3)])
    ingest(raw, con)  # night 4: the same correction back
    assert census_rows(con) == cold_build(raw, tmp_path)


def test_a_correction_changed_in_place_to_another_census_gives_the_original_back(tmp_path, con):
    raw = tmp_path / "raw"
    write_csv(raw / "census" / "2023_spring.csv", [pupil(1), pupil(2), pupil(3)])
    ingest(raw, con)  # night 1
    correction = raw / "census" / "2023_v2.csv"  # named for no one census: it may hold another
    write_csv(correction, [pupil(1), pupil(2)])
    ingest(raw, con)  # night 2: the correction replaces the Spring census
    write_csv(correction, [pupil(4, census_date="2023-10-05")])
    ingest(raw, con)  # night 3: the correction's name reused for the Autumn census: Spring is the original's again
    assert census_rows(con) == cold_build(raw, tmp_path)
    assert con.execute("SELECT source_file, count(*) FROM raw.census_pupils GROUP BY ALL ORDER BY ALL").fetchall() == [
        ("census/2023_spring.csv", 3),
        ("census/2023_v2.csv", 1),
    ]


def write_unreadable(path: Path) -> None:
    """A census file without a required column: it fails the night, naming itself."""
    write_csv(path, [pupil(9, census_date="2022-01-20")], header=[h for h in HEADER if h != "gender"])


def test_a_correction_removed_the_night_another_file_fails_gives_the_original_back_the_next_night(tmp_path, con):
    """The files to load again after a removal were known only in the night that removed it: that night failed on
    another file before reaching the original, and the next night (nothing removed) never loaded it again: Spring
    2023 was missing for good (the review of 3 December 2026)."""
    raw = tmp_path / "raw"
    write_csv(raw / "census" / "2022_spring.csv", [pupil(1, census_date="2022-01-20")])
    write_csv(raw / "census" / "2023_spring.csv", [pupil(1), pupil(2), pupil(3)])
    ingest(raw, con)  # night 1
    write_csv(raw / "census" / "2023_spring (corrected).csv", [pupil(1), pupil(2)])
    ingest(raw, con)  # night 2: the correction replaces the census
    (raw / "census" / "2023_spring (corrected).csv").unlink()
    write_unreadable(raw / "census" / "2022_spring.csv")
    with pytest.raises(ExtractError, match="census/2022_spring.csv"):
        ingest(raw, con)  # night 3: the correction withdrawn, and a file before the original cannot be read
    write_csv(raw / "census" / "2022_spring.csv", [pupil(1, census_date="2022-01-20")])
    ingest(raw, con)  # night 4: the file mended; nothing removed tonight
    assert census_rows(con) == cold_build(raw, tmp_path)
    assert con.execute("SELECT source_file, count(*) FROM raw.census_pupils GROUP BY ALL ORDER BY ALL").fetchall() == [
        ("census/2022_spring.csv", 1),
        ("census/2023_spring.csv", 3),
    ]
    assert con.execute("SELECT count(*) FROM raw.reloads_pending").fetchone()[0] == 0


def test_a_correction_changed_in_place_the_night_a_later_file_fails_gives_the_original_back_the_next_night(
    tmp_path, con
):
    raw = tmp_path / "raw"
    write_csv(raw / "census" / "2023_spring.csv", [pupil(1), pupil(2), pupil(3)])
    ingest(raw, con)  # night 1
    correction = raw / "census" / "2023_v2.csv"
    write_csv(correction, [pupil(1), pupil(2)])
    ingest(raw, con)  # night 2: the correction replaces the Spring census
    write_csv(correction, [pupil(4, census_date="2023-10-05")])
    write_unreadable(raw / "census" / "2024_spring.csv")
    with pytest.raises(ExtractError, match="census/2024_spring.csv"):
        ingest(raw, con)  # night 3: the correction now the Autumn census (committed), then a later file fails
    write_csv(raw / "census" / "2024_spring.csv", [pupil(5, census_date="2024-01-18")])
    ingest(raw, con)  # night 4: the later file mended; the correction is unchanged tonight
    assert census_rows(con) == cold_build(raw, tmp_path)
    assert ("census/2023_spring.csv", 3) in con.execute(
        "SELECT source_file, count(*) FROM raw.census_pupils GROUP BY ALL"
    ).fetchall()


def test_a_reload_that_fails_is_done_again_by_the_retry(tmp_path, con, monkeypatch):
    """A transient error (a full disk) while loading the original again after its correction was removed: Dagster's
    retry of the step, the same night, loads it."""
    raw = tmp_path / "raw"
    write_csv(raw / "census" / "2023_spring.csv", [pupil(1), pupil(2), pupil(3)])
    ingest(raw, con)  # night 1
    write_csv(raw / "census" / "2023_spring (corrected).csv", [pupil(1), pupil(2)])
    ingest(raw, con)  # night 2
    (raw / "census" / "2023_spring (corrected).csv").unlink()
    real_ingest_file = pipeline.ingest.ingest_file

    def disk_full_on_reload(con, contract, path, file_name, reload=False):
        if reload:
            raise OSError(28, "No space left on device")
        return real_ingest_file(con, contract, path, file_name, reload=reload)

    monkeypatch.setattr(pipeline.ingest, "ingest_file", disk_full_on_reload)
    with pytest.raises(OSError, match="No space left"):
        ingest(raw, con)  # night 3, first attempt: the removal committed, the reload failed
    monkeypatch.setattr(pipeline.ingest, "ingest_file", real_ingest_file)
    ingest(raw, con)  # night 3, the retry
    assert census_rows(con) == cold_build(raw, tmp_path)
    assert {row[0] for row in census_rows(con)} == {"census/2023_spring.csv"}
    assert len(census_rows(con)) == 3


def ehcna_state(con) -> dict[str, list[tuple]]:
    tables = {t: con.execute(f"SELECT * FROM raw.{t} ORDER BY ALL").fetchall() for t in TABLES}
    return {**tables, "quarantine": quarantine(con)}


def test_a_later_parent_extract_rechecks_the_children_as_a_rebuild_would(tmp_path, con):
    raw = tmp_path / "raw"
    write_set(raw, good_set())
    ingest_ehcna(con, raw, EHCNA_KEY)  # night 1
    people = good_set()["person"]
    write_csv_with(raw / "ehcna" / "person_2023-07-31.csv", people[:2], HEADERS["person"])
    ingest_ehcna(con, raw, EHCNA_KEY)  # night 2: a later person extract without P3 (its requests R3, R4 stay)
    copy = tmp_path / "cold_raw"
    shutil.copytree(raw, copy)
    with duckdb.connect() as cold:
        ingest_ehcna(cold, copy, EHCNA_KEY)
        assert ehcna_state(con) == ehcna_state(cold)
    assert {rule for _, _, _, rule in quarantine(con)} == {"person_not_in_person_module"}
    write_csv_with(raw / "ehcna" / "person_2023-08-31.csv", people, HEADERS["person"])
    ingest_ehcna(con, raw, EHCNA_KEY)  # night 3: P3 back, so are its requests
    assert quarantine(con) == [] and count(con, "ehcna_requests") == 4


def test_an_extract_in_a_subfolder_of_its_source_fails_naming_it(tmp_path, con):
    """raw/census/2024/2024_spring.csv was read by no source: the run said it ran because the file was new, then
    published without it, and ran again every night for it. A file the ingest would never load fails the source,
    as a misnamed EHCNA module does, naming the file and what to do."""
    raw = tmp_path / "raw"
    write_csv(raw / "census" / "2023_spring.csv", [pupil(1)])
    write_csv(raw / "census" / "2024" / "2024_spring.csv", [pupil(2, census_date="2024-01-18")])
    (raw / "census" / ".sync").mkdir()
    (raw / "census" / ".sync" / "state.db").write_text("a sync tool's own file, hidden")
    with pytest.raises(ExtractError, match=r"census/2024/2024_spring\.csv.*subfolder"):
        ingest(raw, con)
    assert not con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'census_pupils'").fetchone()[0]
    (raw / "census" / "2024" / "2024_spring.csv").rename(raw / "census" / "2024_spring.csv")
    ingest(raw, con)
    assert {row[0] for row in census_rows(con)} == {"census/2023_spring.csv", "census/2024_spring.csv"}


def test_a_warehouse_loaded_under_the_census_date_rule_gives_each_term_to_one_file_once(tmp_path, con):
    """Before 1 December 2026 a census file replaced its census date, not its term: an original and its correction
    dated two days of one term were both kept (a pupil the correction removed still counted). The next night under
    the term rule loads the files sharing a term again, once; a rebuild from raw/ holds the same."""
    raw = tmp_path / "raw"
    write_csv(raw / "census" / "2023_spring.csv", [pupil(n, census_date="2023-01-26") for n in (1, 2, 3)])
    write_csv(raw / "census" / "2023_spring (corrected).csv", [pupil(1), pupil(2)])
    old_rule = dataclasses.replace(census_contract(KEY), period_column="census_date")
    ingest_source(con, old_rule, raw)  # the previous version's night
    con.execute("DELETE FROM raw.period_rules")  # a warehouse from before the rules were recorded
    assert {row[0] for row in census_rows(con)} == {"census/2023_spring.csv", "census/2023_spring (corrected).csv"}
    results = ingest_source(con, census_contract(KEY), raw)
    assert [r.status for r in results] == ["loaded", "loaded"]
    assert census_rows(con) == cold_build(raw, tmp_path)
    assert {row[0] for row in census_rows(con)} == {"census/2023_spring (corrected).csv"}
    again = ingest_source(con, census_contract(KEY), raw)  # the rule recorded: nothing to settle again
    assert [r.status for r in again] == ["unchanged", "unchanged"]
