"""Publication: suppressed, identifier-free, atomic; a failed check leaves the previous release byte-identical."""

import hashlib

import duckdb
import pandas as pd
import pytest

from pipeline import publish as publish_module
from pipeline.publish import PublicationError, publish


def internal_warehouse(path, pupils=(169, 3, 0), extra_column=None):
    con = duckdb.connect(str(path))
    con.execute("CREATE SCHEMA marts")
    need = pd.DataFrame(
        {
            "time_period": 202122,
            "census_term": "Spring",
            "primary_need": ["MLD", "MSI", "PMLD"],
            "pupils": pupils,
        }
    )
    if extra_column:
        need[extra_column] = "secret"
    provision = pd.DataFrame(
        {"time_period": 202223, "census_term": "Spring", "sen_provision": ["E", "K"], "pupils": [176, 629],
         "pupils_pupil_premium": [68, 229], "pupils_fsm": [4, 135]}
    )  # fmt: skip
    con.register("need_frame", need)
    con.execute("CREATE TABLE marts.fct_send_primary_need AS SELECT * FROM need_frame")
    con.register("provision_frame", provision)
    con.execute("CREATE TABLE marts.fct_send_provision AS SELECT * FROM provision_frame")
    return con


def sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_release_is_suppressed_and_readable_read_only(tmp_path):
    release = publish(internal_warehouse(tmp_path / "send.duckdb"), tmp_path / "published")
    with duckdb.connect(str(release.path), read_only=True) as reader:
        needs = dict(reader.execute("SELECT primary_need, pupils FROM reporting.fct_send_primary_need").fetchall())
        fsm = dict(reader.execute("SELECT sen_provision, pupils_fsm FROM reporting.fct_send_provision").fetchall())
        release_id = reader.execute("SELECT release_id FROM reporting.release").fetchone()[0]
    assert needs == {"MLD": "169", "MSI": "c", "PMLD": "0"}
    assert fsm == {"E": "c", "K": "135"}
    assert release_id == release.release_id
    assert not list((tmp_path / "releases").glob(".building-*"))
    assert (tmp_path / "published").is_symlink()
    assert (tmp_path / "published" / "parquet" / "fct_send_provision.parquet").exists()


def test_identifier_column_blocks_publication_and_keeps_previous_release(tmp_path):
    published = tmp_path / "published"
    first = publish(internal_warehouse(tmp_path / "a.duckdb"), published)
    before = sha(first.path)
    with pytest.raises(PublicationError, match="identifier column.*pupil_id"):
        publish(internal_warehouse(tmp_path / "b.duckdb", extra_column="pupil_id"), published)
    assert sha(first.path) == before


def test_a_broken_suppressor_is_caught_before_the_swap(tmp_path, monkeypatch):
    published = tmp_path / "published"
    first = publish(internal_warehouse(tmp_path / "a.duckdb"), published)
    before = sha(first.path)

    def no_suppression(frame, columns):
        out = frame.copy()
        for column in columns:
            out[column] = out[column].astype(str)
        return out

    monkeypatch.setattr(publish_module, "suppress_counts", no_suppression)
    with pytest.raises(PublicationError, match="published_counts"):
        publish(internal_warehouse(tmp_path / "b.duckdb", pupils=(169, 4, 0)), published)
    assert sha(first.path) == before
    assert not list((tmp_path / "releases").glob(".building-*"))


def test_an_abandoned_build_folder_is_cleared_and_old_releases_pruned(tmp_path):
    published = tmp_path / "published"
    (tmp_path / "releases" / ".building-crashed").mkdir(parents=True)
    (tmp_path / "releases" / ".building-crashed" / "send_reporting.duckdb").write_bytes(b"half")
    ids = [publish(internal_warehouse(tmp_path / f"{i}.duckdb"), published).release_id for i in range(5)]
    assert sorted(p.name for p in (tmp_path / "releases").iterdir()) == ids[-3:]
    assert published.resolve().name == ids[-1]


def test_a_published_folder_from_an_older_layout_is_replaced_by_the_link(tmp_path):
    published = tmp_path / "published"
    published.mkdir()
    (published / "send_reporting.duckdb").write_bytes(b"old layout")
    release = publish(internal_warehouse(tmp_path / "a.duckdb"), published)
    assert published.is_symlink() and published.resolve().name == release.release_id
