import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from bmlab.factorizations.udu import bm_grad, project_udu, scaled_init, spectrum, udu_grad, udu_matrix
from bmlab.solvers.base import log_schedule
from bmlab.solvers.udu import run_bm, run_udu
from bmlab.problems.completion import make_completion


def _f(P, U, d=None):
    r = P.forward_factored(U, d) - P.b
    return 0.5 * float(r @ r)


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_gradients_match_finite_differences(seed):
    rng = np.random.default_rng(seed)
    P = make_completion(8, 2, 20, rng=rng)
    U = rng.standard_normal((8, 4))
    d = rng.random(4) + 0.1
    _, gU, gd = udu_grad(P, U, d)
    _, gB = bm_grad(P, U)
    h = 1e-6
    E = rng.standard_normal(U.shape)
    e = rng.standard_normal(4)
    fdU = (_f(P, U + h * E, d) - _f(P, U - h * E, d)) / (2 * h)
    fdd = (_f(P, U, d + h * e) - _f(P, U, d - h * e)) / (2 * h)
    fdB = (_f(P, U + h * E) - _f(P, U - h * E)) / (2 * h)
    assert np.isclose(fdU, np.sum(gU * E), rtol=1e-5, atol=1e-7)
    assert np.isclose(fdd, gd @ e, rtol=1e-5, atol=1e-7)
    assert np.isclose(fdB, np.sum(gB * E), rtol=1e-5, atol=1e-7)


def test_projection():
    U = np.full((3, 2), 2.0)
    d = np.array([-1.0, 2.0])
    Up, dp = project_udu(U, d, 1.0)
    assert np.isclose(np.linalg.norm(Up), 1.0)
    np.testing.assert_array_equal(dp, [0.0, 2.0])
    Up, _ = project_udu(0.1 * U, d, 1.0)
    np.testing.assert_array_equal(Up, 0.1 * U)


def test_init_scale_and_spectrum():
    rng = np.random.default_rng(0)
    U = scaled_init(10, 10, 1e-3, rng)
    assert np.isclose(np.linalg.norm(U), 1e-3)
    d = rng.random(10)
    np.testing.assert_allclose(spectrum(U, d), np.linalg.eigvalsh(udu_matrix(U, d))[::-1],
                               atol=1e-15)


def test_log_schedule():
    s = log_schedule(1000, 50)
    assert s[0] == 0 and s[-1] == 1000 and np.all(np.diff(s) > 0)


def test_small_completion_udu_exact_rank():
    rng = np.random.default_rng(0)
    P = make_completion(20, 2, 120, rng=rng)
    U0 = scaled_init(20, 20, 1e-2, rng)
    r = run_udu(P, U0, eta=0.1, max_iter=3000)
    b = run_bm(P, U0, eta=0.1, max_iter=3000)
    assert r.status == "max_iter" and b.status == "max_iter"
    s = spectrum(*r.x)
    assert np.sum(s > 1e-6 * s[0]) == 2
    assert np.linalg.norm(r.x[0]) <= 1 + 1e-12 and np.all(r.x[1] >= 0)
    assert r.history["residual"][-1] < 1e-6 * r.history["residual"][0]
    assert b.history["residual"][-1] < 1e-3 * b.history["residual"][0]
    assert list(r.history["iter"][:2]) == [0, 1]


def test_validation_and_divergence():
    rng = np.random.default_rng(0)
    P = make_completion(10, 2, 40, rng=rng)
    with pytest.raises(ValueError, match="alpha"):
        run_udu(P, scaled_init(10, 10, 1.0, rng), eta=0.1, max_iter=2, alpha=0)
    with pytest.raises(ValueError, match="rho"):
        scaled_init(3, 3, 0.0, rng)
    b = run_bm(P, scaled_init(10, 10, 100.0, rng), eta=10.0, max_iter=200)
    assert b.status == "diverged"


def test_run_result_has_fun_and_wall_time():
    rng = np.random.default_rng(3)
    prob = make_completion(20, 2, rng=rng)
    U0 = scaled_init(20, 3, 1e-3, rng)
    res = run_bm(prob, U0, eta=0.2, max_iter=50)
    r = prob.forward_factored(res.x) - prob.b
    assert res.fun == pytest.approx(0.5 * float(r @ r), rel=1e-12)
    assert res.wall_time >= 0 and res.nit == res.n_iter == 50
