"""Rules 5, 6 and 8: percentages and rates, means and medians, published symbols. Cases from the seed figures."""

import math
from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from pipeline.suppression import (
    SYMBOLS,
    SuppressionRules,
    TableSet,
    bad_published_values,
    cell_key,
    hierarchy_table,
    suppress,
    suppress_average,
    suppress_rate,
)

FIGURES = yaml.safe_load((Path(__file__).parent / "fixtures" / "figures.yaml").read_text())


def test_a_percentage_times_its_published_denominator_gives_the_child_back():
    # KS2: 23 pupils with an EHCP, 4% of them at the expected standard (the seed prints both)
    cohort = FIGURES["attainment_8"]["ks2_cohort"]["ehcp"]
    printed_pct = FIGURES["attainment_8"]["ks2_rwm_expected_pct"]["ehcp"][0]
    children = round(printed_pct / 100 * cohort)
    assert children == 1  # the attack: anyone with the cohort size recovers the count from the percentage
    assert suppress_rate(children, cohort, numerator_suppressed=True) == "c"
    # the same percentage with a numerator that may be shown is published
    assert suppress_rate(12, cohort, numerator_suppressed=False) == f"{12 / cohort * 100:.1f}"


def test_a_rate_of_a_secondary_suppressed_numerator_is_suppressed():
    # B (10) is a complementary suppression for A (3): its rate would give it back with the published total 53
    tables = TableSet([hierarchy_table("h", "pupils", "need", {"A": 3, "B": 10, "C": 40})])
    result = suppress(tables)
    b, total = cell_key("pupils", {"need": "B"}), cell_key("pupils")
    assert result.is_suppressed(b) and not result.is_suppressed(total)
    published = suppress_rate(10, 53, numerator_suppressed=result.is_suppressed(b),
                              denominator_suppressed=result.is_suppressed(total))  # fmt: skip
    assert published == "c"


def test_small_denominators_are_suppressed():
    within, plans = FIGURES["ehcna_timescales_7_1"]["plans_within_20_weeks"][2023]  # 3 of 5 plans in 2023
    assert plans < 10
    assert suppress_rate(within, plans, numerator_suppressed=False) == "c"
    assert suppress_rate(0, 9, numerator_suppressed=False) == "c"
    assert suppress_rate(0, 0, numerator_suppressed=False) == "c"
    within, plans = FIGURES["ehcna_timescales_7_1"]["plans_within_20_weeks"][2022]  # 33 of 50
    assert suppress_rate(within, plans, numerator_suppressed=False) == "66.0"
    assert suppress_rate(7, 10, numerator_suppressed=False) == "70.0"
    assert suppress_rate(7, 12, numerator_suppressed=False, rules=SuppressionRules(rate_min_denominator=20)) == "c"


def test_a_suppressed_denominator_suppresses_the_rate():
    # 12 published, denominator c, 40% would give 30 back
    assert suppress_rate(12, 30, numerator_suppressed=False, denominator_suppressed=True) == "c"


def test_rate_symbols_and_rounding():
    assert suppress_rate(None, 30, numerator_suppressed=False) == "x"
    assert suppress_rate(6, None, numerator_suppressed=False) == "x"
    assert suppress_rate(6, 1_000_000, numerator_suppressed=False) == "low"  # 0.0006% rounds to zero
    assert suppress_rate(6, 1_000_000, numerator_suppressed=False, per=10_000, dp=2) == "0.06"
    assert suppress_rate(0, 30, numerator_suppressed=False) == "0.0"
    with pytest.raises(ValueError):
        suppress_rate(-1, 30, numerator_suppressed=False)


def test_a_mean_of_six_children_is_suppressed():
    cohort = FIGURES["attainment_8"]["eyfs_ehcp_cohort"]  # 6 children with an EHCP in the EYFS cohort
    assert cohort == 6
    assert suppress_average(12.5, cohort) == "c"
    assert suppress_average(12.5, 7) == "c"
    assert suppress_average(12.5, 8) == "12.5"
    assert suppress_average(19.25, 40, dp=2) == "19.25"
    assert suppress_average(None, 40) == "x"
    assert suppress_average(float("nan"), 40) == "x"
    assert suppress_average(3.0, 0) == "c"
    assert suppress_average(12.5, 9, rules=SuppressionRules(average_min_n=10)) == "c"


@given(
    st.one_of(st.none(), st.integers(0, 500)),
    st.one_of(st.none(), st.integers(0, 500)),
    st.booleans(),
    st.booleans(),
)
def test_rates_are_always_a_number_or_a_symbol(numerator, denominator, num_c, den_c):
    text = suppress_rate(numerator, denominator, numerator_suppressed=num_c, denominator_suppressed=den_c)
    assert text in SYMBOLS or math.isfinite(float(text))
    if numerator is not None and denominator is not None and (num_c or den_c or denominator < 10):
        assert text == "c"


def test_bad_published_values_flags_positions_only():
    values = ["0", "12", "c", "x", "z", "low", "3", "", "nan", None, float("nan"), "n/a", "7.5", " 9", "06", "-2"]
    bad = bad_published_values(values)
    assert bad == [6, 7, 8, 9, 10, 11, 12, 13, 14, 15]
    assert bad_published_values(["12.5", "low", "3"], counts=False) == []
    assert bad_published_values(["6"], rules=SuppressionRules(max_suppressed_count=6)) == [0]
