import hashlib
import hmac

import duckdb
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.pseudonymise import hmac_pads, hmac_sql, pseudonym


@settings(max_examples=60, deadline=None)
@given(key=st.binary(min_size=1, max_size=100), message=st.text(min_size=0, max_size=40))
def test_sql_pseudonym_is_the_first_128_bits_of_the_python_hmac(key, message):
    con = duckdb.connect()
    got = con.execute(f"SELECT {hmac_sql('$m')}", {**hmac_pads(key), "m": message}).fetchone()[0]
    digest = hmac.new(key, message.encode(), hashlib.sha256).digest()
    assert got == int.from_bytes(digest[:16], "big") == pseudonym(key, message)


def test_pseudonyms_are_stored_as_16_byte_integers():
    con = duckdb.connect()
    con.execute(f"CREATE TABLE t AS SELECT {hmac_sql('$m')} AS pupil_id", {**hmac_pads(b"k" * 20), "m": "A1"})
    assert con.execute("SELECT data_type FROM information_schema.columns WHERE table_name = 't'").fetchone() == (
        "UHUGEINT",
    )


def test_different_keys_give_different_pseudonyms():
    con = duckdb.connect()
    sql = f"SELECT {hmac_sql('$m')}"
    a = con.execute(sql, {**hmac_pads(b"k" * 20), "m": "A123456789012"}).fetchone()[0]
    b = con.execute(sql, {**hmac_pads(b"j" * 20), "m": "A123456789012"}).fetchone()[0]
    assert a != b


def test_key_not_in_sql_text():
    key = b"super-secret-key-value"
    assert key.hex() not in hmac_sql("upn") and "super" not in hmac_sql("upn")
