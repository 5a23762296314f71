import numpy as np
import pytest

from bmlab.landscape import dedup_critical_points, eigen_slice_2d, hessian_extremes
from bmlab.solvers.newton import newton_refine
from bmlab.problems.sensing import gaussian_sensing, HighOrderLoss, yalcin_instance, yalcin_n3_spurious


def test_newton_finds_the_closed_form_spurious_point():
    P = yalcin_instance(3, 0.3, 0.0)
    res = newton_refine(P, np.array([[0.8], [0.05], [-0.9]]), tol=1e-12)
    assert res.status == "converged" and res.history["grad_norm"][-1] < 1e-12
    x, _, _ = yalcin_n3_spurious(0.3)
    np.testing.assert_allclose(res.x, x, atol=1e-10)


def test_newton_rank_deficient_hessian_rank2():
    rng = np.random.default_rng(0)
    Z = rng.standard_normal((4, 2))
    P = HighOrderLoss(gaussian_sensing(4, 30, rng), Z @ Z.T, lam=0.5, scale=1 / 30)
    res = newton_refine(P, Z + 1e-2 * rng.standard_normal((4, 2)), tol=1e-10)
    assert res.status == "converged"
    assert np.linalg.norm(res.x @ res.x.T - Z @ Z.T) < 1e-8


def test_newton_bad_tol():
    with pytest.raises(ValueError):
        newton_refine(yalcin_instance(3), np.ones((3, 1)), tol=0)


def test_dedup_up_to_sign_and_rotation():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((4, 2))
    Q, _ = np.linalg.qr(rng.standard_normal((2, 2)))
    Y = rng.standard_normal((4, 2))
    out = dedup_critical_points([X, -X, X @ Q, Y, X + 1e-9])
    assert [c for _, c in out] == [4, 1]
    np.testing.assert_array_equal(out[0][0], X)


def test_dense_and_lanczos_extremes_agree():
    P = yalcin_instance(21, 0.1, 5.0)
    X = np.random.default_rng(2).standard_normal((21, 1))
    lo, hi = hessian_extremes(P, X)
    lo2, hi2 = hessian_extremes(P, X, method="lanczos")
    assert abs(lo - lo2) < 1e-7 * max(1, abs(lo)) and abs(hi - hi2) < 1e-7 * hi
    with pytest.raises(ValueError):
        hessian_extremes(P, X, method="qr")


def test_eigen_slice_2d_corners():
    P = yalcin_instance(5, 0.3, 0.5)
    X0 = np.zeros((5, 1))
    d1, d2 = np.zeros((5, 1)), np.zeros((5, 1))
    d1[:3], d2[3:] = P.Z[:3], P.Z[3:]
    E = eigen_slice_2d(P, X0, d1, d2, np.array([0.0, 1.0]), np.array([0.0, 1.0]))
    assert E.shape == (2, 2)
    assert E[1, 1] == pytest.approx(hessian_extremes(P, P.Z)[0])
    assert E[0, 0] == pytest.approx(hessian_extremes(P, X0)[0])
    with pytest.raises(ValueError):
        eigen_slice_2d(P, X0, d1, np.zeros((4, 1)), [0.0], [0.0])


def test_enumerate_finds_global_zero_and_spurious():
    from bmlab.landscape import enumerate_critical_points
    P = yalcin_instance(3, 0.3, 0.0)
    pts = enumerate_critical_points(P, (3, 1), np.random.default_rng(0), n_starts=40)
    Ds = sorted(np.linalg.norm(p.X @ p.X.T - P.M_star) for p in pts)
    assert Ds[0] < 1e-8  # the ground truth
    assert any(np.allclose(p.X, 0) for p in pts)
    assert all(p.grad_norm < 1e-9 for p in pts)
    x, lmin, _ = yalcin_n3_spurious(0.3)
    assert any(np.allclose(p.X @ p.X.T, x @ x.T, atol=1e-8) and abs(p.lam_min - lmin) < 1e-8
               for p in pts)
    with pytest.raises(ValueError):
        enumerate_critical_points(P, (3, 1), np.random.default_rng(0), n_starts=-1)


def test_newton_result_fun_and_callback():
    prob = yalcin_instance(4, eps=0.3)
    seen = []
    res = newton_refine(prob, 0.8 * np.ones((4, 1)), callback=lambda k, X: seen.append(k))
    assert res.status == "converged"
    assert seen == list(range(1, res.n_iter + 1))
    assert res.fun == prob.value(res.x) and res.wall_time >= 0
