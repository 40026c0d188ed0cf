"""The §5 statistics against values derived here, by hand or with scipy (not the code's)."""

from __future__ import annotations

import math

import pytest
from scipy import stats as sp

from reportgen.sections.experiments.stats import (
    Z_95,
    chi_square_sf,
    compare_rates,
    holm,
    sessions_per_arm,
    srm_p_value,
    upper_gamma_regularized,
)


def test_z_test_and_wald_interval_by_hand():
    # Control 10/40 = 0.25, variant 20/40 = 0.5. Pooled p = 30/80 = 0.375;
    # pooled SE = sqrt(0.375 * 0.625 * (1/40 + 1/40)) = sqrt(0.01171875) = 0.108253...;
    # z = 0.25 / 0.108253 = 2.309401; two-sided p = 0.020921.
    # Unpooled SE = sqrt(0.25*0.75/40 + 0.5*0.5/40) = sqrt(0.0109375) = 0.104583...
    found = compare_rates(10, 40, 20, 40)
    assert found.diff == pytest.approx(0.25)
    assert found.lift == pytest.approx(1.0)
    assert found.p_value == pytest.approx(2 * sp.norm.sf(0.25 / math.sqrt(0.01171875)))
    assert found.p_value == pytest.approx(0.020921, abs=1e-6)
    assert found.ci_low == pytest.approx(0.25 - 1.959964 * math.sqrt(0.0109375))
    assert found.ci_high == pytest.approx(0.25 + 1.959964 * math.sqrt(0.0109375))
    assert Z_95 == 1.959964


def test_z_test_matches_scipy_chi_square_without_continuity_correction():
    # The pooled two-proportion z-test is the 2x2 chi-square test: z² = chi².
    table = [[123, 1000 - 123], [151, 1000 - 151]]
    _chi2, p, _, _ = sp.chi2_contingency(table, correction=False)
    assert compare_rates(123, 1000, 151, 1000).p_value == pytest.approx(p, rel=1e-12)


def test_a_zero_control_rate_has_no_lift_but_a_test():
    found = compare_rates(0, 40, 3, 40)
    assert found.lift is None
    assert found.diff == pytest.approx(0.075)
    # pooled 3/80: SE = sqrt(0.0375 * 0.9625 / 20); z = 0.075 / SE.
    se = math.sqrt(0.0375 * 0.9625 / 20)
    assert found.p_value == pytest.approx(2 * sp.norm.sf(0.075 / se))
    # Unpooled SE only from the variant: sqrt(0.075 * 0.925 / 40).
    assert found.ci_low == pytest.approx(0.075 - Z_95 * math.sqrt(0.075 * 0.925 / 40))


def test_a_pooled_se_of_zero_has_no_p_value():
    for hits in (0, 30):  # nobody, or everybody, in both arms
        found = compare_rates(hits, 30, hits, 30)
        assert found.p_value is None
        assert (found.diff, found.ci_low, found.ci_high) == (0, 0, 0)
    assert compare_rates(0, 30, 0, 30).lift is None
    assert compare_rates(30, 30, 30, 30).lift == 0


def test_far_tail_p_values_do_not_round_to_zero():
    found = compare_rates(100, 10_000, 400, 10_000)
    assert 0 < found.p_value < 1e-30
    assert found.p_value == pytest.approx(
        2 * sp.norm.sf(abs(0.03) / math.sqrt(0.025 * 0.975 * 2 / 10_000)), rel=1e-9
    )


def test_holm_by_hand():
    # Sorted: 0.005 (x4 = 0.02), 0.01 (x3 = 0.03), 0.03 (x2 = 0.06), 0.04 (x1 -> 0.06,
    # the running maximum). None stays None and is not counted in m.
    assert holm([0.01, 0.04, None, 0.03, 0.005]) == pytest.approx([0.03, 0.06, None, 0.06, 0.02])
    assert holm([0.9, 0.8]) == [1.0, 1.0]  # capped at 1
    assert holm([]) == []
    assert holm([None]) == [None]


@pytest.mark.parametrize(
    ("statistic", "degrees"),
    [
        (0.5, 1),
        (3.84, 1),
        (16, 1),
        (80, 1),
        (200, 1),
        (10, 2),
        (5, 3),
        (0.01, 4),
        (30, 10),
        (1000, 5),
    ],
)
def test_chi_square_survival_matches_scipy(statistic, degrees):
    assert chi_square_sf(statistic, degrees) == pytest.approx(
        sp.chi2.sf(statistic, degrees), rel=1e-10
    )


def test_chi_square_of_one_degree_is_the_normal_tail():
    # Q(1/2, x/2) = erfc(sqrt(x/2)): the series and the continued fraction both agree.
    for x in (0.3, 1.0, 2.9, 3.1, 12.0):
        assert upper_gamma_regularized(0.5, x / 2) == pytest.approx(math.erfc(math.sqrt(x / 2)))
    assert chi_square_sf(0, 1) == 1.0


def test_srm_against_an_equal_split():
    # 70 / 30: expected 50 each, chi² = 400/50 + 400/50 = 16, one degree: p = 6.33e-5.
    assert srm_p_value([70, 30]) == pytest.approx(sp.chisquare([70, 30]).pvalue)
    assert srm_p_value([70, 30]) == pytest.approx(math.erfc(math.sqrt(8)))
    assert srm_p_value([30, 30, 30]) == 1.0
    assert srm_p_value([40, 30, 20]) == pytest.approx(sp.chisquare([40, 30, 20]).pvalue)
    assert srm_p_value([12]) is None  # one arm: no split to test


def test_sessions_needed_at_80_percent_power():
    # n = (z_0.975 + z_0.8)² (p1 q1 + p2 q2) / (p2 - p1)², rounded up.
    z = sp.norm.ppf(0.975) + sp.norm.ppf(0.8)
    expected = math.ceil(z**2 * (0.1 * 0.9 + 0.12 * 0.88) / 0.02**2)
    assert sessions_per_arm(0.1, 0.12, 0.05) == expected == 3839
    assert sessions_per_arm(0.1, 0.1, 0.05) is None
    z01 = sp.norm.ppf(0.995) + sp.norm.ppf(0.8)
    assert sessions_per_arm(0.1, 0.12, 0.01) == math.ceil(
        z01**2 * (0.1 * 0.9 + 0.12 * 0.88) / 0.02**2
    )
