"""Child health snapshot: contract, quarantine, corrections, the asset and the generator of the seed's figures.

Small hand-made files in tmp_path; the seed figures come from tests/fixtures/figures.yaml.
"""

from pathlib import Path

import dagster as dg
import pytest
import yaml

from pipeline.generate.child_health import generate_child_health
from pipeline.ingest import ExtractError, ingest_source
from pipeline.resources import SendWarehouse
from pipeline.sources.child_health import CENSUS_INDICATORS, child_health_contract, child_health_indicators

import source_support
from source_support import CHILD_HEALTH_SEED_CELLS, assert_ingest_metadata

FIGURES = yaml.safe_load((Path(__file__).parent / "fixtures" / "figures.yaml").read_text())
LA = FIGURES["la"]  # Rutland: new_la_code E06000017
SEED = FIGURES["child_health_5_3"]  # [LA, region, England]
HEADER = ["area_code", "area_name", "area_type", "indicator", "period", "value", "count", "denominator"]
FILE = "child_health/snapshot.csv"
AREAS = {"la": LA["new_la_code"], "region": "E12000004", "england": "E92000001"}


def indicator_row(**changes) -> dict:
    row = {"area_code": LA["new_la_code"], "area_name": "Rutland", "area_type": "LA", "indicator": "children_aged_0_4",
           "period": "2021", "value": "4.0", "count": "1,600", "denominator": ""}  # fmt: skip
    row.update(changes)
    return row


def write_csv(path: Path, rows: list[dict], header: list[str] = HEADER, encoding: str = "utf-8") -> Path:
    return source_support.write_csv(path, rows, header, encoding)


def ingest(raw: Path, con):
    return ingest_source(con, child_health_contract(), raw)


def stored(con) -> list[tuple]:
    return con.execute(
        "SELECT area_code, geographic_level, indicator, unit, period, value::DOUBLE, count, denominator "
        "FROM raw.child_health_indicators ORDER BY source_file, source_row"
    ).fetchall()


def test_a_good_file_loads_with_the_indicators_unit(tmp_path, con):
    rows = [
        indicator_row(),
        indicator_row(area_code="e12000004", area_type="region", indicator="Live_Births", value="47860", count=""),
        indicator_row(area_code="E92000001", area_type="England", indicator="life_expectancy_girls",
                      period="2018-2020", value="83.1", count=""),
        indicator_row(area_code="E92000001", area_type="ENGLAND", indicator="pupils_semh", period="2021/22",
                      value="3.0", count="250272", denominator="8342400"),
    ]  # fmt: skip
    write_csv(tmp_path / FILE, rows)
    [result] = ingest(tmp_path, con)
    assert (result.rows_read, result.rows_loaded, result.rows_quarantined) == (4, 4, 0)
    assert stored(con) == [
        (LA["new_la_code"], "la", "children_aged_0_4", "percent", "2021", 4.0, 1600, None),
        ("E12000004", "region", "live_births", "count", "2021", 47860.0, None, None),
        ("E92000001", "england", "life_expectancy_girls", "years", "2018-2020", 83.1, None, None),
        ("E92000001", "england", "pupils_semh", "percent", "2021/22", 3.0, 250272, 8342400),
    ]


# One LA of each kind DfE lists (la_geography): unitary E06, metropolitan district E08, London borough E09 and
# county council E10 (Leicestershire: a county's rows were quarantined as area_code_not_of_area_type).
LA_KINDS = {"E06000017": "Rutland", "E08000035": "Leeds", "E09000028": "Southwark", "E10000018": "Leicestershire"}


@pytest.mark.parametrize("area_code", LA_KINDS)
def test_an_la_row_of_every_kind_of_english_la_loads(tmp_path, con, area_code):
    write_csv(tmp_path / FILE, [indicator_row(area_code=area_code, area_name=LA_KINDS[area_code])])
    [result] = ingest(tmp_path, con)
    assert (result.rows_read, result.rows_loaded, result.rows_quarantined) == (1, 1, 0)
    assert [row[:2] for row in stored(con)] == [(area_code, "la")]


BAD_ROWS = [
    ({"area_code": "E0600001"}, "area_code", "area_code_not_gss"),
    ({"area_code": ""}, "area_code", "required"),
    ({"area_type": "district"}, "area_type", "area_type_not_la_region_or_england"),
    ({"area_type": "Region"}, "area_code", "area_code_not_of_area_type"),  # an LA's code on a region row
    ({"area_type": "England", "area_code": "E92000002"}, "area_code", "england_code_not_e92000001"),
    ({"indicator": "obesity_reception"}, "indicator", "indicator_not_recognised"),
    ({"period": "21/22"}, "period", "period_not_year_or_span"),
    ({"period": "2018 - 20"}, "period", "period_not_year_or_span"),
    ({"value": "4.0%"}, "value", "value_not_a_number"),
    ({"value": ""}, "value", "required"),
    ({"value": "104.0"}, "value", "percentage_not_0_to_100"),
    ({"count": "1600.5"}, "count", "count_not_a_whole_number"),
    ({"denominator": "many"}, "denominator", "denominator_not_a_whole_number"),
    ({"denominator": "1000"}, "denominator", "denominator_below_count"),
    ({"area_type": ""}, "area_type", "required"),
    ({"indicator": ""}, "indicator", "required"),
    ({"period": ""}, "period", "required"),
]


@pytest.mark.parametrize(("change", "column", "rule"), BAD_ROWS, ids=[f"{r[2]}-{r[0]}" for r in BAD_ROWS])
def test_a_bad_row_is_quarantined_with_its_rule(tmp_path, con, change, column, rule):
    rows = [indicator_row(), indicator_row(**{"period": "2020", **change}), indicator_row(period="2019")]
    write_csv(tmp_path / FILE, rows)
    [result] = ingest(tmp_path, con)
    assert (result.rows_read, result.rows_loaded, result.rows_quarantined) == (3, 2, 1)
    quarantined = con.execute("SELECT file_name, row_number, column_name, rule FROM raw.quarantine").fetchall()
    assert quarantined == [(FILE, 3, column, rule)]
    assert [row[4] for row in stored(con)] == ["2021", "2019"]


def test_a_workbook_percentage_cell_is_read_as_shown_and_quarantined_not_loaded_a_hundred_times_too_small(
    tmp_path, con
):
    """A cell typed 4% in Excel stores 0.04; read as stored it passed every rule and loaded as 0.04 %. Read as shown
    (4%), it is quarantined as a CSV's 4.0% is; a number in another format (General, or a quoted "%" text) loads."""
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(HEADER)
    formats = {2: "0.0%", 3: "General", 4: '0.0" %"', 5: "0.00%"}
    for row, period in zip(formats, ("2021", "2020", "2019", "2018"), strict=True):
        sheet.append([*indicator_row(period=period, count=None).values()][:5] + [{2: 0.04, 5: 0.5}.get(row, 4.0)])
        sheet.cell(row=row, column=6).number_format = formats[row]
    (tmp_path / "child_health").mkdir()
    book.save(tmp_path / "child_health" / "snapshot.xlsx")
    [result] = ingest(tmp_path, con)
    assert (result.rows_read, result.rows_loaded, result.rows_quarantined) == (4, 2, 2)
    quarantined = con.execute("SELECT row_number, column_name, rule FROM raw.quarantine ORDER BY 1").fetchall()
    assert quarantined == [(2, "value", "value_not_a_number"), (5, "value", "value_not_a_number")]
    assert [(row[4], row[5]) for row in stored(con)] == [("2020", 4.0), ("2019", 4.0)]


def test_a_broken_header_fails_naming_file_and_column_and_loads_nothing(tmp_path, con):
    header = ["area_code", "area_type", "indicator", "time_period", "value"]  # Fingertips' API name for period
    write_csv(tmp_path / FILE, [{**indicator_row(), "time_period": "2021"}], header=header)
    with pytest.raises(ExtractError, match=r"child_health/snapshot.csv: row 1 \(header\) is missing .*period"):
        ingest(tmp_path, con)
    assert con.execute("SELECT count(*) FROM raw.file_ledger").fetchone()[0] == 0


def test_a_corrected_file_replaces_only_the_values_it_delivers_again(tmp_path, con):
    write_csv(tmp_path / "child_health" / "a_march.csv",
              [indicator_row(value="4.1"), indicator_row(indicator="live_births", value="274", count="")])  # fmt: skip
    ingest(tmp_path, con)
    write_csv(tmp_path / "child_health" / "b_corrected.csv", [indicator_row()])
    results = {r.file_name: r for r in ingest(tmp_path, con)}
    assert results["child_health/b_corrected.csv"].superseded_files == ("child_health/a_march.csv",)
    rows = con.execute(
        "SELECT indicator, value::DOUBLE, source_file FROM raw.child_health_indicators ORDER BY indicator"
    ).fetchall()
    assert rows == [
        ("children_aged_0_4", 4.0, "child_health/b_corrected.csv"),
        ("live_births", 274.0, "child_health/a_march.csv"),
    ]


def test_the_asset_loads_the_drop_zone_and_fails_on_an_empty_one(tmp_path):
    write_csv(tmp_path / "raw" / FILE, [indicator_row(), indicator_row(period="2020", value="-")])
    warehouse = SendWarehouse(raw_dir=str(tmp_path / "raw"), warehouse_dir=str(tmp_path / "warehouse"))
    result = dg.materialize([child_health_indicators], resources={"warehouse": warehouse})
    [event] = result.get_asset_materialization_events()
    assert event.asset_key == dg.AssetKey(["raw", "child_health_indicators"])
    meta = {k: v.value for k, v in event.materialization.metadata.items()}
    assert_ingest_metadata(meta, quarantined=1)
    empty = SendWarehouse(raw_dir=str(tmp_path / "empty"), warehouse_dir=str(tmp_path / "warehouse"))
    failed = dg.materialize([child_health_indicators], resources={"warehouse": empty}, raise_on_error=False)
    assert not failed.success


def test_the_generated_snapshot_holds_the_seed_figures_but_not_the_las_census_cells(tmp_path, con):
    generate_child_health(tmp_path)
    [result] = ingest(tmp_path, con)
    assert result.rows_quarantined == 0
    cells = {
        (area, indicator, period): (value, count) for area, _, indicator, _, period, value, count, _ in stored(con)
    }
    assert set(CHILD_HEALTH_SEED_CELLS) == set(SEED)  # every figure of the seed's table is checked
    for key, (indicator, period, is_count) in CHILD_HEALTH_SEED_CELLS.items():
        for level, figure in zip(("la", "region", "england"), SEED[key], strict=True):
            cell = cells.get((AREAS[level], indicator, period))
            if level == "la" and indicator in CENSUS_INDICATORS:
                assert cell is None, key  # the LA's own census gives these (fct_child_health)
                continue
            assert cell is not None, (key, level)
            assert (cell[1] if is_count else cell[0]) == pytest.approx(figure), (key, level)
