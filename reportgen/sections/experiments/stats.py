"""The statistics of METRICS.md §5 in plain Python, from the counts the SQL returns.

Nothing here touches a database: each function takes a few integers (successes and
sessions per arm) and returns numbers, so the tests check them against independent
derivations. The normal distribution comes from ``math.erfc`` (exact in the far tail,
where ``1 - cdf`` would round to 0) and ``statistics.NormalDist`` (its inverse); the
chi-square survival function is the regularized upper incomplete gamma function,
evaluated by its series or its continued fraction (Numerical Recipes §6.2). scipy would
give the same numbers, but the report would then carry a 100 MB dependency for five
formulas.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist

Z_95 = 1.959964
"""The two-sided 95% normal quantile METRICS.md §8 fixes for the Wald interval."""
SRM_P_THRESHOLD = 0.001
"""A sample-ratio-mismatch p-value below this flags the split as broken (§5)."""
POWER = 0.8
"""The power at which the sessions needed to detect an observed effect are computed."""

_GAMMA_EPSILON = 1e-15
_GAMMA_MAX_STEPS = 10_000
_TINY = 1e-300


@dataclass(frozen=True)
class Comparison:
    """One rate of one variant against control."""

    diff: float
    """Treatment rate minus control rate (a fraction)."""
    lift: float | None
    """diff / control rate; None when the control rate is 0."""
    p_value: float | None
    """Two-sided pooled two-proportion z-test; None when the pooled SE is 0."""
    ci_low: float
    ci_high: float
    """The 95% Wald interval of diff, with the unpooled SE."""


def compare_rates(control_hits: int, control_sessions: int, hits: int, sessions: int) -> Comparison:
    """Compare a variant's rate (hits / sessions) with control's; both arms have sessions."""
    control_rate = control_hits / control_sessions
    rate = hits / sessions
    diff = rate - control_rate
    pooled = (control_hits + hits) / (control_sessions + sessions)
    pooled_se = math.sqrt(pooled * (1 - pooled) * (1 / control_sessions + 1 / sessions))
    p_value = None if pooled_se == 0 else two_sided_p(diff / pooled_se)
    se = math.sqrt(
        control_rate * (1 - control_rate) / control_sessions + rate * (1 - rate) / sessions
    )
    return Comparison(
        diff=diff,
        lift=None if control_rate == 0 else diff / control_rate,
        p_value=p_value,
        ci_low=diff - Z_95 * se,
        ci_high=diff + Z_95 * se,
    )


def two_sided_p(z: float) -> float:
    """Return P(|Z| >= |z|) for a standard normal Z."""
    return math.erfc(abs(z) / math.sqrt(2))


def holm(p_values: Sequence[float | None]) -> list[float | None]:
    """Return Holm's step-down adjusted p-values, in the given order (None stays None).

    The m non-null values are sorted ascending; the i-th (from 1) becomes
    ``max over j <= i of min(1, (m - j + 1) * p_j)``.
    """
    known = sorted((p, index) for index, p in enumerate(p_values) if p is not None)
    adjusted: list[float | None] = [None] * len(p_values)
    running = 0.0
    for rank, (p, index) in enumerate(known):
        running = max(running, min(1.0, (len(known) - rank) * p))
        adjusted[index] = running
    return adjusted


def srm_p_value(sessions: Sequence[int]) -> float | None:
    """Return the chi-square p-value of session counts against an equal split.

    None with fewer than two arms or no sessions (there is no split to test).
    """
    total = sum(sessions)
    if len(sessions) < 2 or total == 0:
        return None
    expected = total / len(sessions)
    statistic = sum((count - expected) ** 2 / expected for count in sessions)
    return chi_square_sf(statistic, len(sessions) - 1)


def chi_square_sf(statistic: float, degrees: int) -> float:
    """Return P(X >= statistic) for X chi-square with ``degrees`` degrees of freedom."""
    if degrees < 1:
        raise ValueError(f"degrees of freedom must be at least 1, got {degrees}")
    if statistic <= 0:
        return 1.0
    return upper_gamma_regularized(degrees / 2, statistic / 2)


def upper_gamma_regularized(a: float, x: float) -> float:
    """Return Q(a, x) = Γ(a, x) / Γ(a), the regularized upper incomplete gamma function."""
    if x <= 0:
        return 1.0
    log_front = a * math.log(x) - x - math.lgamma(a)
    if x < a + 1:
        # Series for P(a, x); Q = 1 - P is not small here, so nothing cancels.
        term = total = 1 / a
        denominator = a
        for _ in range(_GAMMA_MAX_STEPS):
            denominator += 1
            term *= x / denominator
            total += term
            if abs(term) < abs(total) * _GAMMA_EPSILON:
                break
        return max(0.0, 1 - total * math.exp(log_front))
    # Continued fraction for Q(a, x), by the modified Lentz method.
    b = x + 1 - a
    c = 1 / _TINY
    d = 1 / b
    h = d
    for step in range(1, _GAMMA_MAX_STEPS):
        an = -step * (step - a)
        b += 2
        d = an * d + b
        d = _TINY if abs(d) < _TINY else d
        c = b + an / c
        c = _TINY if abs(c) < _TINY else c
        d = 1 / d
        delta = d * c
        h *= delta
        if abs(delta - 1) < _GAMMA_EPSILON:
            break
    return math.exp(log_front) * h


def sessions_per_arm(
    control_rate: float, rate: float, alpha: float, power: float = POWER
) -> int | None:
    """Return the sessions each arm needs for a two-sided test at ``alpha`` to detect the
    difference between two rates with probability ``power`` (normal approximation).

    ``n = (z(1 - alpha/2) + z(power))² (p1(1-p1) + p2(1-p2)) / (p2 - p1)²``, rounded up;
    None when the rates are equal (no effect to detect).
    """
    diff = rate - control_rate
    if diff == 0:
        return None
    normal = NormalDist()
    z_sum = normal.inv_cdf(1 - alpha / 2) + normal.inv_cdf(power)
    variance = control_rate * (1 - control_rate) + rate * (1 - rate)
    return max(1, math.ceil(z_sum**2 * variance / diff**2))
