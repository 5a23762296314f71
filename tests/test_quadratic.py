"""Quadratic matrix sensing split problem: derivatives and exact block solves."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bmlab.factorizations.asymmetric import (penalized_grad, penalized_hessian, penalized_value,
                                             symmetric_grad, symmetric_value)
from bmlab.problems.quadratic import QuadraticSensing, sensing_instance


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 10_000), lam=st.floats(0.01, 3), mu=st.sampled_from([0.0, 0.7]))
def test_derivatives_match_finite_differences(seed, lam, mu):
    rng = np.random.default_rng(seed)
    p, _ = sensing_instance(4, 2, 20, rng, mu=mu)
    X, Y = rng.normal(size=(4, 2)), rng.normal(size=(4, 2))
    h = 1e-6
    N = 8
    H = penalized_hessian(p, X, Y, lam)
    g0 = np.concatenate([a.ravel() for a in penalized_grad(p, X, Y, lam)])
    for i in rng.choice(2 * N, 4, replace=False):
        e = np.zeros(2 * N)
        e[i] = h
        dX, dY = e[:N].reshape(4, 2), e[N:].reshape(4, 2)
        fd = (penalized_value(p, X + dX, Y + dY, lam) - penalized_value(p, X - dX, Y - dY, lam)) / (2 * h)
        assert np.isclose(g0[i], fd, rtol=1e-5, atol=1e-6)
        gp = np.concatenate([a.ravel() for a in penalized_grad(p, X + dX, Y + dY, lam)])
        gm = np.concatenate([a.ravel() for a in penalized_grad(p, X - dX, Y - dY, lam)])
        assert np.allclose(H[:, i], (gp - gm) / (2 * h), atol=1e-5)
    # symmetric objective
    U = rng.normal(size=(4, 2))
    fd = (symmetric_value(p, X + h * U) - symmetric_value(p, X - h * U)) / (2 * h)
    assert np.isclose(np.vdot(symmetric_grad(p, X), U), fd, rtol=1e-5, atol=1e-6)


def test_block_argmin_zero_gradient():
    rng = np.random.default_rng(3)
    p, _ = sensing_instance(5, 2, 30, rng, mu=0.3)
    W = rng.normal(size=(5, 2))
    X = p.block_argmin(W, 0.4)
    assert np.linalg.norm(penalized_grad(p, X, W, 0.4)[0]) < 1e-10


def test_validation():
    with pytest.raises(ValueError):
        QuadraticSensing(np.zeros((3, 2, 3)), np.zeros(3), 1)
    with pytest.raises(ValueError):
        QuadraticSensing(np.zeros((3, 2, 2)), np.zeros(2), 1)
    with pytest.raises(ValueError):
        QuadraticSensing(np.zeros((3, 2, 2)), np.zeros(3), 1, mu=-1)
