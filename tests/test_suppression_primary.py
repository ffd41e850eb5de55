import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline.suppression.primary import suppress_count, suppress_counts


@pytest.mark.parametrize(("count", "published"), [(0, "0"), (1, "c"), (5, "c"), (6, "6"), (805, "805"), (None, "x")])
def test_suppress_count(count, published):
    assert suppress_count(count) == published


def test_negative_count_is_an_error():
    with pytest.raises(ValueError):
        suppress_count(-1)


@given(st.lists(st.integers(min_value=0, max_value=10_000), min_size=1, max_size=50))
def test_no_published_count_is_between_1_and_5(counts):
    published = suppress_counts(pd.DataFrame({"pupils": counts, "label": "x"}), ["pupils"])
    assert not set(published["pupils"]) & {"1", "2", "3", "4", "5"}
    kept = [int(v) for v in published["pupils"] if v != "c"]
    assert kept == [c for c in counts if c == 0 or c >= 6]
