import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from bmlab.problems.factorization import (AsymmetricFactorization, low_rank_matrix,
                                          truncated_svd_optimum)


def _instance(seed, m=7, n=5, d=2, balance=0.0):
    rng = np.random.default_rng(seed)
    Sigma, _, _ = low_rank_matrix(m, n, [2.0, 0.5][:d] if d <= 2 else np.linspace(2, 0.5, d), rng)
    prob = AsymmetricFactorization(Sigma, balance=balance)
    x = (rng.standard_normal((m, d)), rng.standard_normal((n, d)))
    dx = (rng.standard_normal((m, d)), rng.standard_normal((n, d)))
    return prob, x, dx


def _shift(x, dx, h):
    return tuple(a + h * b for a, b in zip(x, dx))


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), balance=st.sampled_from([0.0, 0.125, 1.0]))
def test_gradient_matches_finite_differences(seed, balance):
    prob, x, dx = _instance(seed, balance=balance)
    h = 1e-6
    fd = (prob.value(_shift(x, dx, h)) - prob.value(_shift(x, dx, -h))) / (2 * h)
    g = prob.grad(x)
    an = sum(np.vdot(gi, di) for gi, di in zip(g, dx))
    assert abs(fd - an) <= 1e-6 * max(1.0, abs(an))


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), balance=st.sampled_from([0.0, 0.125, 1.0]))
def test_hessvec_matches_finite_differences(seed, balance):
    prob, x, dx = _instance(seed, balance=balance)
    h = 1e-6
    gp, gm = prob.grad(_shift(x, dx, h)), prob.grad(_shift(x, dx, -h))
    hv = prob.hess_vec(x, dx)
    for a, b, c in zip(gp, gm, hv):
        np.testing.assert_allclose((a - b) / (2 * h), c, rtol=1e-5, atol=1e-6)


def test_hessvec_is_symmetric():
    prob, x, dx = _instance(3, balance=0.125)
    rng = np.random.default_rng(9)
    dy = (rng.standard_normal(x[0].shape), rng.standard_normal(x[1].shape))
    a = sum(np.vdot(p, q) for p, q in zip(prob.hess_vec(x, dx), dy))
    b = sum(np.vdot(p, q) for p, q in zip(prob.hess_vec(x, dy), dx))
    assert abs(a - b) <= 1e-10 * max(1, abs(a))


def test_gradient_step_is_papers_gd():
    prob, (U, V), _ = _instance(1)
    eta = 0.01
    gU, gV = prob.grad((U, V))
    R = prob.Sigma - U @ V.T
    np.testing.assert_allclose(U - eta * gU, U + eta * R @ V)       # eq. (2)
    np.testing.assert_allclose(V - eta * gV, V + eta * R.T @ U)     # eq. (3)


def test_low_rank_matrix_and_optimum():
    rng = np.random.default_rng(0)
    Sigma, Phi, Psi = low_rank_matrix(6, 4, [3.0, 1.0], rng)
    np.testing.assert_allclose(Phi.T @ Phi, np.eye(6), atol=1e-12)
    np.testing.assert_allclose(np.linalg.svd(Sigma, compute_uv=False), [3, 1, 0, 0], atol=1e-12)
    D = Phi.T @ Sigma @ Psi
    np.testing.assert_allclose(D[:2, :2], np.diag([3.0, 1.0]), atol=1e-12)
    U, V, f_star = truncated_svd_optimum(Sigma, 2)
    prob = AsymmetricFactorization(Sigma)
    assert prob.loss((U, V)) < 1e-28 and f_star < 1e-28
    np.testing.assert_allclose(U.T @ U, V.T @ V, atol=1e-12)       # balanced
    # Eckart-Young with a smaller width
    U1, V1, f1 = truncated_svd_optimum(Sigma, 1)
    assert abs(prob.loss((U1, V1)) - 0.5) < 1e-12 and abs(f1 - 0.5) < 1e-12
    assert prob.optimum()[2] < 1e-28


def test_relative_loss_and_imbalance():
    prob, x, _ = _instance(2)
    zero = (np.zeros_like(x[0]), np.zeros_like(x[1]))
    assert prob.relative_loss(zero) == pytest.approx(1.0)
    D = prob.imbalance(x)
    np.testing.assert_allclose(D, x[0].T @ x[0] - x[1].T @ x[1])


@pytest.mark.parametrize("bad", [dict(balance=-1.0), dict(balance=np.nan)])
def test_bad_parameters(bad):
    with pytest.raises(ValueError, match="balance"):
        AsymmetricFactorization(np.eye(3), **bad)


def test_bad_iterates_and_instances():
    prob = AsymmetricFactorization(np.ones((3, 2)))
    with pytest.raises(TypeError):
        prob.grad(np.zeros((3, 1)))
    with pytest.raises(ValueError, match="U must be"):
        prob.grad((np.zeros((2, 1)), np.zeros((2, 1))))
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError):
        low_rank_matrix(3, 2, [1, 1, 1], rng)
    with pytest.raises(ValueError):
        low_rank_matrix(3, 2, [1, -1], rng)
    with pytest.raises(TypeError):
        low_rank_matrix(3, 2, [1], 0)
