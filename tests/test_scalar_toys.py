"""Scalar toys of paper 000 §4: closed forms, gradients/Hessians against finite differences."""
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bmlab.factorizations.asymmetric import kkt_residual, penalized_grad, penalized_hessian, penalized_value
from bmlab.problems.base import UnboundedSubproblem
from bmlab.problems.scalar_toys import LinearToy, ShiftedSquareToy, as_factor

coord = st.floats(-3, 3, allow_nan=False)
lams = st.floats(0.05, 5)
TOYS = [LinearToy(1.0), LinearToy(2.5), ShiftedSquareToy(-1.0), ShiftedSquareToy(2.0)]


def _fd_grad(p, x, y, lam, h=1e-6):
    F = lambda a, b: penalized_value(p, as_factor(a), as_factor(b), lam)  # noqa: E731
    return ((F(x + h, y) - F(x - h, y)) / (2 * h), (F(x, y + h) - F(x, y - h)) / (2 * h))


@settings(max_examples=40, deadline=None)
@given(x=coord, y=coord, lam=lams, i=st.integers(0, len(TOYS) - 1))
def test_gradient_matches_finite_differences(x, y, lam, i):
    p = TOYS[i]
    gx, gy = penalized_grad(p, as_factor(x), as_factor(y), lam)
    fx, fy = _fd_grad(p, x, y, lam)
    scale = 1 + abs(fx) + abs(fy)
    assert abs(gx[0, 0] - fx) <= 1e-6 * scale
    assert abs(gy[0, 0] - fy) <= 1e-6 * scale


@settings(max_examples=40, deadline=None)
@given(x=coord, y=coord, lam=lams, i=st.integers(0, len(TOYS) - 1))
def test_hessian_matches_finite_differences(x, y, lam, i):
    p = TOYS[i]
    H = penalized_hessian(p, as_factor(x), as_factor(y), lam)
    h = 1e-6
    cols = []
    for dx, dy in [(h, 0), (0, h)]:
        gp = penalized_grad(p, as_factor(x + dx), as_factor(y + dy), lam)
        gm = penalized_grad(p, as_factor(x - dx), as_factor(y - dy), lam)
        cols.append([(gp[0] - gm[0])[0, 0] / (2 * h), (gp[1] - gm[1])[0, 0] / (2 * h)])
    H_fd = np.array(cols).T
    assert np.allclose(H, H_fd, atol=1e-5 * (1 + np.abs(H_fd).max()))


def test_linear_toy_hessian_closed_form():
    # F = c xy + lam/2 (x-y)^2 has Hessian [[lam, c - lam], [c - lam, lam]]
    H = penalized_hessian(LinearToy(1.5), as_factor(0.3), as_factor(-1.0), 0.7)
    assert np.allclose(H, [[0.7, 0.8], [0.8, 0.7]])


@settings(max_examples=40, deadline=None)
@given(w=coord, lam=lams, i=st.integers(0, len(TOYS) - 1))
def test_block_argmin_is_stationary(w, lam, i):
    p = TOYS[i]
    W = as_factor(w)
    X = p.block_argmin(W, lam)
    gx, _ = penalized_grad(p, X, W, lam)
    assert abs(gx[0, 0]) <= 1e-9 * (1 + abs(w) ** 3)
    # and Y-block by symmetry
    _, gy = penalized_grad(p, W, p.block_argmin(W, lam), lam)
    assert abs(gy[0, 0]) <= 1e-9 * (1 + abs(w) ** 3)


def test_am_map_of_linear_toy():
    p = LinearToy(1.0)
    assert p.block_argmin(as_factor(2.0), 0.25)[0, 0] == pytest.approx((1 - 4) * 2.0)
    with pytest.raises(UnboundedSubproblem):
        p.block_argmin(as_factor(1.0), 0.0)
    assert p.block_argmin(as_factor(0.0), 0.0)[0, 0] == 0.0


def test_nonneg_toy_projects():
    p = ShiftedSquareToy(2.0, nonneg=True)
    assert p.block_argmin(as_factor(-1.0), 0.5)[0, 0] == 0.0
    assert p.x_star == pytest.approx(math.sqrt(2.0))
    assert kkt_residual(p, as_factor(math.sqrt(2)), as_factor(math.sqrt(2)), 0.3) < 1e-12


def test_bounds_and_spurious_pair():
    assert LinearToy(3.0).theorem1_bound() == pytest.approx(1.5)
    q = ShiftedSquareToy(-1.0)
    assert q.theorem1_bound() == pytest.approx(0.5)
    u = q.spurious_u(0.2)
    assert u ** 2 == pytest.approx(0.6)
    assert kkt_residual(q, as_factor(u), as_factor(-u), 0.2) < 1e-12
    assert math.isnan(q.spurious_u(0.6))


@pytest.mark.parametrize("bad, exc", [(0, ValueError), (-1.0, ValueError), (float("inf"), ValueError),
                                      ("a", TypeError)])
def test_linear_toy_validates_c(bad, exc):
    with pytest.raises(exc, match="c must be"):
        LinearToy(bad)


def test_as_factor_rejects_vectors():
    with pytest.raises(ValueError):
        as_factor([1.0, 2.0])
