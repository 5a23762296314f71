import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from bmlab.problems.sensing import (
    DenseSensing, HighOrderLoss, WeightedEntrywiseSensing, alternating_start, gaussian_sensing,
    yalcin_instance, yalcin_n3_spurious, yalcin_truth_spectrum, yalcin_weights)


def _problem(kind, n, r, lam, l, seed):
    rng = np.random.default_rng(seed)
    Z = rng.standard_normal((n, r))
    if kind == "gaussian":
        op = gaussian_sensing(n, 7, rng, symmetric=False)
        scale = 1 / 7
    else:
        op = WeightedEntrywiseSensing(rng.uniform(0.2, 1.0, (n, n)))
        scale = 1.0
    return HighOrderLoss(op, Z @ Z.T, lam=lam, l=l, scale=scale, Z=Z), rng


cases = st.tuples(st.sampled_from(["gaussian", "weighted"]), st.integers(2, 4), st.integers(1, 2),
                  st.sampled_from([0.0, 0.5, 3.0]), st.sampled_from([2, 3, 4, 6]),
                  st.integers(0, 10_000))


@settings(max_examples=30, deadline=None)
@given(cases)
def test_gradient_matches_finite_differences(case):
    kind, n, r, lam, l, seed = case
    P, rng = _problem(kind, n, r, lam, l, seed)
    X = 0.7 * rng.standard_normal((n, r))
    U = rng.standard_normal((n, r))
    h = 1e-6
    fd = (P.value(X + h * U) - P.value(X - h * U)) / (2 * h)
    an = np.sum(P.grad(X) * U)
    assert abs(fd - an) <= 1e-6 * max(1.0, abs(an))


@settings(max_examples=30, deadline=None)
@given(cases)
def test_hessian_and_hvp_match_finite_differences(case):
    kind, n, r, lam, l, seed = case
    P, rng = _problem(kind, n, r, lam, l, seed)
    X = 0.7 * rng.standard_normal((n, r))
    U = rng.standard_normal((n, r))
    h = 1e-6
    fd = (P.grad(X + h * U) - P.grad(X - h * U)) / (2 * h)
    hv = P.hvp(X, U)
    H = P.hessian(X)
    scale = max(1.0, np.abs(hv).max())
    np.testing.assert_allclose(hv, fd, atol=1e-5 * scale)
    np.testing.assert_allclose((H @ U.ravel()).reshape(n, r), hv, atol=1e-10 * scale)
    # the quadratic form of Lemma 2 / spec 003 §2.2
    r_ = P.residuals(X)
    A = P.op.matrices()
    d1 = np.einsum("ijk,jk->i", A, U @ X.T + X @ U.T)
    d2 = np.einsum("ijk,jk->i", A, 2 * U @ U.T)
    q = P.scale * np.sum((1 + lam * (l - 1) * r_ ** (l - 2)) * d1 ** 2
                         + (r_ + lam * r_ ** (l - 1)) * d2)
    assert abs(U.ravel() @ H @ U.ravel() - q) <= 1e-9 * max(1.0, abs(q))


def test_weighted_operator_agrees_with_dense_matrices():
    rng = np.random.default_rng(0)
    a = rng.uniform(0.1, 1, (4, 4))
    W = WeightedEntrywiseSensing(a)
    D = DenseSensing(W.matrices())
    M = rng.standard_normal((4, 4))
    X = rng.standard_normal((4, 2))
    y = rng.standard_normal(16)
    np.testing.assert_allclose(W.apply(M), D.apply(M))
    np.testing.assert_allclose(W.adjoint(y), D.adjoint(y))
    np.testing.assert_allclose(W.jacobian(X), D.jacobian(X))
    np.testing.assert_allclose(W.apply(M), (a * M).ravel())


def test_objective_is_the_authors_entrywise_formula():
    P = yalcin_instance(5, 0.3, lam=2.0)
    X = np.random.default_rng(1).standard_normal((5, 1))
    R = P.op.weights * (X @ X.T - P.M_star)
    assert math.isclose(P.value(X), np.sum(R ** 2) / 2 + 2.0 * np.sum(R ** 4) / 4, rel_tol=1e-12)
    assert P.value(P.Z) == 0.0 and np.all(P.grad(P.Z) == 0)


def test_yalcin_weights_and_instance():
    a = yalcin_weights(5, 0.3)
    # 1-based: ones on the diagonal and at (k, 2k), (2k, k)
    ones = {(i, i) for i in range(5)} | {(0, 1), (1, 0), (1, 3), (3, 1)}
    for i in range(5):
        for j in range(5):
            assert a[i, j] == (1.0 if (i, j) in ones else 0.3)
    P = yalcin_instance(7)
    np.testing.assert_array_equal(P.Z[:, 0], [1, 0, 1, 0, 1, 0, 1])
    assert np.trace(P.M_star) == 4
    np.testing.assert_array_equal(alternating_start(7)[:, 0], [1, 0, -1, 0, 1, 0, -1])


@pytest.mark.parametrize("n", [3, 4, 5, 6, 7, 9])
@pytest.mark.parametrize("lam", [0.0, 0.5, 50.0])
def test_truth_spectrum_closed_form(n, lam):
    """Spec 003 §4.4: the spectrum at X* does not depend on λ and has a closed form."""
    P = yalcin_instance(n, 0.3, lam)
    ev = P.hessian_eigvals(P.Z)
    lmin, lmax = yalcin_truth_spectrum(n, 0.3)
    assert abs(ev[0] - lmin) < 1e-12 and abs(ev[-1] - lmax) < 1e-12


def test_n3_spurious_point_closed_form():
    x, lmin, lmax = yalcin_n3_spurious(0.3)
    P = yalcin_instance(3, 0.3, 0.0)
    assert np.linalg.norm(P.grad(x)) < 1e-14
    ev = P.hessian_eigvals(x)
    assert abs(ev[0] - lmin) < 1e-12 and abs(ev[-1] - lmax) < 1e-12
    assert (lmin, lmax) == pytest.approx((1.82, 3.64))


@pytest.mark.parametrize("kwargs,exc", [
    ({"l": 1}, ValueError), ({"lam": -1.0}, ValueError), ({"scale": 0.0}, ValueError),
    ({"M_star": np.eye(3)}, ValueError), ({"op": "A"}, TypeError)])
def test_bad_parameters(kwargs, exc):
    base = dict(op=WeightedEntrywiseSensing(np.ones((2, 2))), M_star=np.eye(2))
    with pytest.raises(exc):
        HighOrderLoss(**(base | kwargs))


def test_bad_operator_inputs():
    with pytest.raises(ValueError):
        DenseSensing(np.zeros((3, 2, 4)))
    with pytest.raises(ValueError):
        WeightedEntrywiseSensing(np.ones((2, 3)))
    with pytest.raises(ValueError):
        yalcin_weights(3, 0.0)
    with pytest.raises(TypeError):
        gaussian_sensing(3, 4, rng=0)


def test_gaussian_sensing_is_seeded_and_symmetric():
    A1 = gaussian_sensing(5, 20, np.random.default_rng(3)).A
    A2 = gaussian_sensing(5, 20, np.random.default_rng(3)).A
    np.testing.assert_array_equal(A1, A2)
    np.testing.assert_allclose(A1, A1.transpose(0, 2, 1))


# --- RIP ---------------------------------------------------------------------------------------
from bmlab.problems.sensing import rip_delta, rip_ratio_range, weighted_rip_delta  # noqa: E402


@pytest.mark.parametrize("eps", [0.1, 0.3, 0.8])
def test_weighted_rip_search_finds_exact_constant(eps):
    op = WeightedEntrywiseSensing(yalcin_weights(5, eps))
    est = rip_ratio_range(op, 2, np.random.default_rng(0), restarts=3)
    assert not est.exact
    assert abs(est.delta - weighted_rip_delta(eps)) < 1e-10
    # exact for rank >= n: spectrum over all symmetric matrices is also [eps^2, 1]
    full = rip_ratio_range(op, 5)
    assert full.exact and abs(full.delta - weighted_rip_delta(eps)) < 1e-12


def test_rip_search_is_a_lower_bound_and_scale_makes_it_symmetric():
    rng = np.random.default_rng(1)
    op = gaussian_sensing(4, 30, rng)
    exact = rip_ratio_range(op, 4)
    est = rip_ratio_range(op, 2, rng, restarts=3)
    assert exact.lo - 1e-12 <= est.lo and est.hi <= exact.hi + 1e-12
    assert est.delta <= exact.delta + 1e-12
    # after rescaling the ratio range is [1 - delta, 1 + delta]
    sc = rip_ratio_range(op.scaled(exact.scale), 4)
    assert sc.lo == pytest.approx(1 - exact.delta) and sc.hi == pytest.approx(1 + exact.delta)
    # brute force: random symmetric rank-2 matrices never leave the range
    for _ in range(200):
        u = rng.standard_normal((4, 2))
        M = u @ np.diag(rng.standard_normal(2)) @ u.T
        q = np.sum(op.apply(M) ** 2) / np.sum(M ** 2)
        assert exact.lo - 1e-12 <= q <= exact.hi + 1e-12


def test_rip_bad_inputs():
    op = WeightedEntrywiseSensing(np.ones((3, 3)))
    with pytest.raises(ValueError):
        rip_ratio_range(op, 0)
    with pytest.raises(ValueError, match="rng"):
        rip_ratio_range(op, 2)
    with pytest.raises(ValueError):
        rip_delta(2.0, 1.0)
