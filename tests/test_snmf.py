"""sNMF split problem: gradient/Hessian vs finite differences, exact block solves, HAM."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import nnls

from bmlab.factorizations.asymmetric import (kkt_residual, penalized_grad, penalized_hessvec,
                                             penalized_value)
from bmlab.problems.snmf import (SymmetricNMF, digits_similarity, nnls_gram,
                                 random_indefinite_nonneg, random_psd_nonneg)
from bmlab.solvers.alternating import alternating_minimization


def _problem(seed, n=6, r=2):
    rng = np.random.default_rng(seed)
    return SymmetricNMF(random_indefinite_nonneg(n, rng), r), rng


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), lam=st.floats(0.01, 3))
def test_grad_and_hessvec_match_finite_differences(seed, lam):
    p, rng = _problem(seed)
    X, Y = rng.uniform(size=(6, 2)), rng.uniform(size=(6, 2))
    U, V = rng.normal(size=(6, 2)), rng.normal(size=(6, 2))
    h = 1e-6
    gx, gy = penalized_grad(p, X, Y, lam)
    fd = (penalized_value(p, X + h * U, Y + h * V, lam) - penalized_value(p, X - h * U, Y - h * V, lam)) / (2 * h)
    assert np.isclose(np.vdot(gx, U) + np.vdot(gy, V), fd, rtol=1e-6, atol=1e-6)
    hx, hy = penalized_hessvec(p, X, Y, lam, U, V)
    gp = penalized_grad(p, X + h * U, Y + h * V, lam)
    gm = penalized_grad(p, X - h * U, Y - h * V, lam)
    assert np.allclose(hx, (gp[0] - gm[0]) / (2 * h), atol=1e-5)
    assert np.allclose(hy, (gp[1] - gm[1]) / (2 * h), atol=1e-5)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), lam=st.floats(0.01, 3))
def test_block_argmin_is_kkt(seed, lam):
    p, rng = _problem(seed)
    W = rng.uniform(size=(6, 2))
    X = p.block_argmin(W, lam)
    gx, _ = penalized_grad(p, X, W, lam)
    assert np.all(X >= 0)
    assert np.linalg.norm(X - np.maximum(X - gx, 0)) < 1e-10


@pytest.mark.parametrize("r", [1, 3, 5, 8])
def test_nnls_gram_matches_scipy(r):
    rng = np.random.default_rng(r)
    G = rng.normal(size=(r + 2, r))
    Q = G.T @ G + 0.05 * np.eye(r)
    B = rng.normal(size=(50, r))
    X = nnls_gram(Q, B)
    L = np.linalg.cholesky(Q).T
    ref = np.array([nnls(L, np.linalg.solve(L.T, b))[0] for b in B])
    assert np.allclose(X, ref, atol=1e-9)


def test_column_sweep_decreases_and_converges():
    rng = np.random.default_rng(0)
    p = SymmetricNMF(random_psd_nonneg(12, 2, rng), 2)
    X0, Y0 = rng.uniform(size=(12, 2)), rng.uniform(size=(12, 2))
    res = alternating_minimization(p, X0, Y0, penalty=0.2, block="columns", max_iter=3000,
                                   tol=1e-9, check_decrease=True)
    assert res.status == "converged"
    assert np.nanmin(res.history["decrease_margin"][1:]) >= -1e-12
    X, Y = res.x
    assert kkt_residual(p, X, Y, 0.2) <= 1e-9


def test_validation():
    with pytest.raises(ValueError, match="symmetric"):
        SymmetricNMF(np.arange(4.0).reshape(2, 2), 1)
    with pytest.raises(ValueError, match="r must"):
        SymmetricNMF(np.eye(2), 0)


def test_digits_similarity_is_symmetric_nonneg():
    M, labels = digits_similarity(5, classes=(0, 1, 2))
    assert M.shape == (15, 15) and np.allclose(M, M.T) and np.all(M >= 0)
    assert sorted(set(labels)) == [0, 1, 2]
