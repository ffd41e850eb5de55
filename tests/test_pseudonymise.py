import hashlib
import hmac

import duckdb
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.pseudonymise import hmac_pads, hmac_sql


@settings(max_examples=60, deadline=None)
@given(key=st.binary(min_size=1, max_size=100), message=st.text(min_size=0, max_size=40))
def test_sql_hmac_equals_python_hmac(key, message):
    con = duckdb.connect()
    got = con.execute(f"SELECT {hmac_sql('$m')}", {**hmac_pads(key), "m": message}).fetchone()[0]
    assert got == hmac.new(key, message.encode(), hashlib.sha256).hexdigest()


def test_different_keys_give_different_pseudonyms():
    con = duckdb.connect()
    sql = f"SELECT {hmac_sql('$m')}"
    a = con.execute(sql, {**hmac_pads(b"k" * 20), "m": "A123456789012"}).fetchone()[0]
    b = con.execute(sql, {**hmac_pads(b"j" * 20), "m": "A123456789012"}).fetchone()[0]
    assert a != b


def test_key_not_in_sql_text():
    key = b"super-secret-key-value"
    assert key.hex() not in hmac_sql("upn") and "super" not in hmac_sql("upn")
