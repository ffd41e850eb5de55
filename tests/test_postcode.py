import duckdb
import pytest

from pipeline.postcode import postcode_district, postcode_district_sql


@pytest.mark.parametrize(
    ("postcode", "district"),
    [("LE15 6HA", "LE15"), ("le156ha", "LE15"), ("SW1A 1AA", "SW1A"), ("PE9  2AB", "PE9"), ("M1 1AE", "M1"),
     ("not a postcode", None), ("", None), ("LE15", None)],
)  # fmt: skip
def test_district_in_python_and_sql(postcode, district):
    assert postcode_district(postcode) == district
    got = duckdb.connect().execute(f"SELECT {postcode_district_sql('$p')}", {"p": postcode}).fetchone()[0]
    assert got == district
