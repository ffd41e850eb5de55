"""Indices of Deprivation district ranks: contract, quarantine, corrections, the asset and the synthetic generator.

Small hand-made files in tmp_path; the seed figures come from tests/fixtures/figures.yaml.
"""

from pathlib import Path

import dagster as dg
import pytest
import yaml

from pipeline.generate.deprivation import DISTRICTS_RANKED, EAST_MIDLANDS_DISTRICTS, generate_deprivation
from pipeline.ingest import ExtractError, ingest_source
from pipeline.resources import SendWarehouse
from pipeline.sources.deprivation import deprivation_contract, deprivation_ranks

import source_support

FIGURES = yaml.safe_load((Path(__file__).parent / "fixtures" / "figures.yaml").read_text())
LA = FIGURES["la"]  # Rutland: new_la_code E06000017, old_la_code 857
SEED = FIGURES["deprivation_5_2"]
HEADER = ["year", "la_code", "la_name", "region_code", "rank", "districts_ranked"]
FILE = "deprivation/iod_ranks.csv"


def district_row(**changes) -> dict:
    row = {"year": "2019", "la_code": LA["new_la_code"], "la_name": "Rutland", "region_code": "E12000004",
           "rank": str(SEED["rank_2019"]), "districts_ranked": str(SEED["of"])}  # fmt: skip
    row.update(changes)
    return row


def write_csv(path: Path, rows: list[dict], header: list[str] = HEADER, encoding: str = "utf-8") -> Path:
    return source_support.write_csv(path, rows, header, encoding)


def ingest(raw: Path, con):
    return ingest_source(con, deprivation_contract(), raw)


def stored(con) -> list[tuple]:
    return con.execute(
        "SELECT year, new_la_code, old_la_code, region_code, rank, districts_ranked FROM raw.deprivation_ranks "
        "ORDER BY source_file, source_row"
    ).fetchall()


def test_a_good_file_loads_both_code_forms(tmp_path, con):
    rows = [
        district_row(),
        district_row(year="2015", la_code=LA["old_la_code"], rank=str(SEED["rank_2015"]), districts_ranked="326"),
        district_row(la_code="e07000131", la_name="Harborough", region_code="e12000004", rank="310"),  # a district
        district_row(la_code="E07000131", la_name="", region_code="", rank="1", year="2010", districts_ranked="326"),
    ]
    write_csv(tmp_path / FILE, rows)
    [result] = ingest(tmp_path, con)
    assert (result.rows_read, result.rows_loaded, result.rows_quarantined) == (4, 4, 0)
    rutland = (LA["new_la_code"], LA["old_la_code"], "E12000004")
    assert stored(con) == [
        (2019, *rutland, SEED["rank_2019"], SEED["of"]),
        (2015, *rutland, SEED["rank_2015"], 326),
        (2019, "E07000131", None, "E12000004", 310, SEED["of"]),
        (2010, "E07000131", None, None, 1, 326),
    ]


BAD_ROWS = [
    ({"year": "19"}, "year", "year_not_yyyy"),
    ({"year": ""}, "year", "required"),
    ({"la_code": "E0600001"}, "la_code", "la_code_not_ons_or_dfe_code"),
    ({"la_code": "999"}, "la_code", "old_la_code_unknown"),
    ({"la_code": ""}, "la_code", "required"),
    ({"region_code": "E10000018"}, "region_code", "region_code_not_e12"),
    ({"rank": "0"}, "rank", "rank_not_a_positive_whole_number"),
    ({"rank": "30.5"}, "rank", "rank_not_a_positive_whole_number"),
    ({"rank": ""}, "rank", "required"),
    ({"rank": "318"}, "rank", "rank_above_districts_ranked"),
    ({"districts_ranked": "-317"}, "districts_ranked", "districts_ranked_not_a_positive_whole_number"),
    ({"districts_ranked": ""}, "districts_ranked", "required"),
]


@pytest.mark.parametrize(("change", "column", "rule"), BAD_ROWS, ids=[f"{r[2]}-{r[0]}" for r in BAD_ROWS])
def test_a_bad_row_is_quarantined_with_its_rule(tmp_path, con, change, column, rule):
    rows = [district_row(), district_row(**{"la_code": "E07000131", **change}), district_row(la_code="E07000176")]
    write_csv(tmp_path / FILE, rows)
    [result] = ingest(tmp_path, con)
    assert (result.rows_read, result.rows_loaded, result.rows_quarantined) == (3, 2, 1)
    quarantined = con.execute("SELECT file_name, row_number, column_name, rule FROM raw.quarantine").fetchall()
    assert quarantined == [(FILE, 3, column, rule)]
    assert [row[1] for row in stored(con)] == [LA["new_la_code"], "E07000176"]


def test_a_broken_header_fails_naming_file_and_column_and_loads_nothing(tmp_path, con):
    header = ["year", "la_code", "imd_rank_of_average_rank", "districts_ranked"]
    write_csv(tmp_path / FILE, [{**district_row(), "imd_rank_of_average_rank": "303"}], header=header)
    with pytest.raises(ExtractError, match=r"deprivation/iod_ranks.csv: row 1 \(header\) is missing .*rank"):
        ingest(tmp_path, con)
    assert con.execute("SELECT count(*) FROM raw.file_ledger").fetchone()[0] == 0


def test_a_corrected_file_replaces_only_its_edition(tmp_path, con):
    write_csv(tmp_path / "deprivation" / "a_all_editions.csv",
              [district_row(year="2010", rank="293", districts_ranked="326"), district_row(rank="300")])  # fmt: skip
    ingest(tmp_path, con)
    write_csv(tmp_path / "deprivation" / "b_2019_corrected.csv", [district_row()])
    results = {r.file_name: r for r in ingest(tmp_path, con)}
    assert results["deprivation/b_2019_corrected.csv"].superseded_files == ("deprivation/a_all_editions.csv",)
    rows = con.execute("SELECT year, rank, source_file FROM raw.deprivation_ranks ORDER BY year").fetchall()
    assert rows == [
        (2010, 293, "deprivation/a_all_editions.csv"),
        (2019, SEED["rank_2019"], "deprivation/b_2019_corrected.csv"),
    ]


def test_files_of_one_edition_for_different_areas_sit_side_by_side(tmp_path, con):
    """A file per region of one edition: the later took every row of the earlier out (the edition was the period),
    leaving them neither loaded nor quarantined. A correction replaces only the areas it gives again, written either
    way (857 is E06000017)."""
    write_csv(tmp_path / "deprivation" / "iod_2019_east_midlands.csv",
              [district_row(rank="300"), district_row(la_code="E06000015", la_name="Derby", rank="50")])  # fmt: skip
    write_csv(tmp_path / "deprivation" / "iod_2019_west_midlands.csv",
              [district_row(la_code="E08000025", la_name="Birmingham", region_code="E12000005", rank="7")])  # fmt: skip
    ingest(tmp_path, con)
    write_csv(tmp_path / "deprivation" / "iod_2019_z_rutland_corrected.csv", [district_row(la_code="857")])
    results = {r.file_name: r for r in ingest(tmp_path, con)}
    assert results["deprivation/iod_2019_z_rutland_corrected.csv"].superseded_files == (
        "deprivation/iod_2019_east_midlands.csv",  # its Rutland row
    )
    rows = con.execute("SELECT new_la_code, rank, source_file FROM raw.deprivation_ranks ORDER BY 1").fetchall()
    assert rows == [
        ("E06000015", 50, "deprivation/iod_2019_east_midlands.csv"),
        ("E06000017", SEED["rank_2019"], "deprivation/iod_2019_z_rutland_corrected.csv"),
        ("E08000025", 7, "deprivation/iod_2019_west_midlands.csv"),
    ]


def test_the_asset_loads_the_drop_zone_and_fails_on_an_empty_one(tmp_path):
    write_csv(tmp_path / "raw" / FILE, [district_row(), district_row(year="2015", rank="x")])
    warehouse = SendWarehouse(raw_dir=str(tmp_path / "raw"), warehouse_dir=str(tmp_path / "warehouse"))
    result = dg.materialize([deprivation_ranks], resources={"warehouse": warehouse})
    [event] = result.get_asset_materialization_events()
    assert event.asset_key == dg.AssetKey(["raw", "deprivation_ranks"])
    meta = {k: v.value for k, v in event.materialization.metadata.items()}
    source_support.assert_ingest_metadata(meta, quarantined=1)
    empty = SendWarehouse(raw_dir=str(tmp_path / "empty"), warehouse_dir=str(tmp_path / "warehouse"))
    failed = dg.materialize([deprivation_ranks], resources={"warehouse": empty}, raise_on_error=False)
    assert not failed.success


def test_the_synthetic_extract_keeps_the_seed_figures_and_loads_clean(tmp_path, con):
    [path] = generate_deprivation(tmp_path)
    assert "SYNTHETIC" in path.name  # never mistaken for the published file
    [result] = ingest(tmp_path, con)
    assert result.rows_quarantined == 0 and result.rows_loaded == 3 * len(EAST_MIDLANDS_DISTRICTS)
    ranks = {(year, code): (rank, of) for year, code, _, _, rank, of in stored(con)}
    home = LA["new_la_code"]
    assert ranks[(2019, home)] == (SEED["rank_2019"], SEED["of"])
    assert ranks[(2015, home)][0] == SEED["rank_2015"] and ranks[(2010, home)][0] == SEED["rank_2010"]
    for year, of in DISTRICTS_RANKED.items():
        year_ranks = [rank for (y, _), (rank, _) in ranks.items() if y == year]
        assert len(set(year_ranks)) == len(year_ranks) and max(year_ranks) <= of
    less_deprived = sum(rank > SEED["rank_2019"] for (y, _), (rank, _) in ranks.items() if y == 2019)
    assert less_deprived + 1 == SEED["place_in_region_least_deprived"]
    again = generate_deprivation(tmp_path / "again")
    assert again[0].read_bytes() == path.read_bytes()
