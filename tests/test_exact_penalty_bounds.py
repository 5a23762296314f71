"""Bounds of paper 000 (Theorem 1, inequality (9), rule quantities)."""
import numpy as np
import pytest

from bmlab.bounds.exact_penalty import (hu_kwok_bound, inequality9, rayleigh_quantity, sym,
                                        theorem1_bound)
from bmlab.problems.scalar_toys import ShiftedSquareToy, as_factor


def test_theorem1_bound():
    G = np.array([[1.0, 3.0], [-1.0, 2.0]])  # sym = [[1,1],[1,2]]
    lmax = np.linalg.eigvalsh(sym(G))[-1]
    assert theorem1_bound(G) == pytest.approx(0.5 * lmax)
    assert theorem1_bound(G, mu=2.0) == pytest.approx(0.5 * lmax - 0.5)
    assert theorem1_bound(1.0) == pytest.approx(0.5)


def test_rayleigh_below_conservative():
    rng = np.random.default_rng(0)
    for _ in range(20):
        G = rng.normal(size=(4, 4))
        D = rng.normal(size=(4, 2))
        assert rayleigh_quantity(G, D) <= theorem1_bound(G) + 1e-12
    with pytest.raises(ValueError):
        rayleigh_quantity(G, np.zeros((4, 2)))


def test_inequality9_at_spurious_point():
    q = ShiftedSquareToy(-1.0)
    lam = 0.2
    u = q.spurious_u(lam)
    s = inequality9(q, as_factor(u), as_factor(-u), lam)
    assert s["lhs"] <= s["mid"] + 1e-12 <= s["rhs"] + 2e-12
    assert s["D_norm"] == pytest.approx(2 * u)


def test_hu_kwok():
    assert hu_kwok_bound(3.0, 1.0) == 0.5
    assert hu_kwok_bound(1.0, 3.0) == 0.0


def test_corollary1_bounds():
    from bmlab.bounds.exact_penalty import corollary1_bound11, corollary1_bound12, zhu_bound
    rng = np.random.default_rng(0)
    M = rng.uniform(size=(5, 5)); M = M + M.T
    X0 = rng.uniform(size=(5, 2))
    e = np.linalg.norm(M - X0 @ X0.T)
    f0 = 0.5 * e ** 2
    # X0 = Y0: (12) is ||M - X0 X0^T||_F / 2
    assert corollary1_bound12(f0, 0.0, 1.0) == pytest.approx(0.5 * e)
    # the bound solves 4 lam^2 = 2 L (f + lam d^2 / 2)
    lam = corollary1_bound12(f0, 0.7, 2.0)
    assert 4 * lam ** 2 == pytest.approx(2 * 2.0 * (f0 + 0.5 * lam * 0.49))
    # mu > 0 lowers it
    assert corollary1_bound12(f0, 0.7, 1.0, mu=0.5) < corollary1_bound12(f0, 0.7, 1.0)
    G0 = X0 @ X0.T - M
    b11 = corollary1_bound11(G0, f0, 0.0, 1.0)
    assert b11 == pytest.approx(0.5 * np.linalg.eigvalsh(G0)[-1] + e, rel=1e-9)
    assert zhu_bound(M, X0) > 0
