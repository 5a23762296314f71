import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from bmlab.bounds.strict_saddle import (
    C_l, point_quantities, theorem3_bound, theorem3_condition, theorem5_lhs, theorem5_rhs,
    theorem5_condition, theorem6_bound, theorem6_condition, theorem6_threshold)


def test_C_l_values():
    assert C_l(4, 25) == pytest.approx(11 / (4 * 25))
    assert C_l(2, 7) == pytest.approx(0.5)
    with pytest.raises(ValueError):
        C_l(1, 3)


@settings(max_examples=50, deadline=None)
@given(st.floats(0.01, 10), st.floats(0.0, 3), st.floats(0.5, 5), st.floats(0, 0.99),
       st.integers(1, 100))
def test_theorem6_reduces_to_theorem3_at_lambda_zero(D, s, tr, delta, m):
    assert theorem6_bound(D, s, tr, delta, 0.0, 4, m) == pytest.approx(theorem3_bound(D, s, tr, delta))
    # (10) at λ = 0 is (4) with ">=" instead of ">"
    assert theorem6_threshold(D, s, tr, delta, 0.0, 4, m) == pytest.approx(
        2 * (1 + delta) / (1 - delta) * tr * s ** 2)


@settings(max_examples=50, deadline=None)
@given(st.floats(0.01, 10), st.floats(0.0, 3), st.floats(0.5, 5), st.floats(0, 0.99))
def test_condition4_iff_bound5_negative(D, s, tr, delta):
    # (4) holds exactly when bound (5) is negative
    b = theorem3_bound(D, s, tr, delta)
    if abs(b) > 1e-9:
        assert theorem3_condition(D, s, tr, delta) == (b < 0)


@settings(max_examples=50, deadline=None)
@given(st.floats(0.01, 10), st.floats(0.0, 3), st.floats(0.5, 5), st.floats(0, 0.99),
       st.floats(0, 50), st.integers(1, 100))
def test_condition10_implies_bound11_negative(D, s, tr, delta, lam, m):
    # D^2 >= threshold  <=>  bound (11) <= 0 (the bound is the difference of the two sides
    # times 2 [(1-δ)/2 + λ C (1-δ)^{l/2} D^{l-2}] / tr)
    b = theorem6_bound(D, s, tr, delta, lam, 4, m)
    den = (1 - delta) / 2 + lam * C_l(4, m) * (1 - delta) ** 2 * D ** 2
    diff = D ** 2 - theorem6_threshold(D, s, tr, delta, lam, 4, m)
    assert b == pytest.approx(-2 * den * diff / tr, rel=1e-9, abs=1e-9)
    if abs(b) > 1e-9:
        assert theorem6_condition(D, s, tr, delta, lam, 4, m) == (b < 0)


def test_theorem5_sides():
    z = np.array([[1.0], [0.0], [1.0]])
    assert theorem5_lhs(z @ z.T, 1) == pytest.approx(1.0)
    assert theorem5_rhs(8, 0.0) == pytest.approx(1.0)
    assert theorem5_condition(z @ z.T, 1, 18, 0.1)
    assert not theorem5_condition(z @ z.T, 1, 1, 0.0)
    with pytest.raises(ValueError):
        theorem5_rhs(1, 1.0)


def test_point_quantities():
    X = np.array([[3.0, 0.0], [0.0, 2.0], [0.0, 0.0]])
    D, s, tr = point_quantities(X, np.eye(3))
    assert s == pytest.approx(2.0) and tr == 3.0 and D == pytest.approx(math.sqrt(64 + 9 + 1))
