import numpy as np
import pytest

from bmlab.factorizations.udu import bm_grad, scaled_init, udu_grad, udu_matrix
from bmlab.solvers.udu import run_udu
from bmlab.problems.phase_retrieval import (FourierPtychography, GaussianPR, fp_object,
                                            image_signal, load_fp_dataset, load_image,
                                            recover_signal, signal_error)


def test_image_and_signal():
    img = load_image()
    assert img.shape == (16, 16) and img.min() >= 0 and img.max() <= 255
    x = image_signal(img)
    assert x.shape == (256,) and np.isclose(np.linalg.norm(x), 1)
    assert image_signal(img, 2).shape == (64,)


def test_gaussian_pr_operator():
    rng = np.random.default_rng(0)
    x = rng.standard_normal(10)
    P = GaussianPR.make(x, rng=rng)
    assert P.m == 20
    np.testing.assert_allclose(np.linalg.norm(P.A, axis=1), 1.0)
    np.testing.assert_allclose(P.b, P.apply(np.outer(x, x)))
    U = rng.standard_normal((10, 4))
    d = rng.random(4)
    np.testing.assert_allclose(P.forward_factored(U, d), P.apply(udu_matrix(U, d)), atol=1e-12)
    res = rng.standard_normal(P.m)
    np.testing.assert_allclose(P.sym_adjoint_apply(res, U), P.adjoint_dense(res) @ U, atol=1e-12)


def _f(P, U, d=None):
    r = P.forward_factored(U, d) - P.b
    return 0.5 * float(r @ r)


def test_fp_adjoint_and_complex_gradients():
    rng = np.random.default_rng(1)
    P = FourierPtychography.make(fp_object(load_image()[:8, :8], 1), M=4, grid=3,
                                 pupil_radius=1.2, overlap=0.5, rng=rng, noise=0.0)
    assert P.b.shape == (P.K * 16,)
    np.testing.assert_allclose(P.b, P.forward_factored(P.x_true[:, None]), atol=1e-14)
    U = rng.standard_normal((P.n, 3)) + 1j * rng.standard_normal((P.n, 3))
    d = rng.random(3) + 0.1
    res = rng.standard_normal(P.b.size)
    # <U, G U> = sum_k res_k |B_k U|^2 (G Hermitian)
    lhs = np.vdot(U, P.sym_adjoint_apply(res, U))
    rhs = np.sum(res * P.forward_factored(U))
    assert abs(lhs.imag) < 1e-10 and np.isclose(lhs.real, rhs)
    _, gU, gd = udu_grad(P, U, d)
    h = 1e-6
    E = rng.standard_normal(U.shape) + 1j * rng.standard_normal(U.shape)
    fd = (_f(P, U + h * E, d) - _f(P, U - h * E, d)) / (2 * h)
    assert np.isclose(fd, np.vdot(gU, E).real, rtol=1e-5, atol=1e-9)   # Wirtinger convention
    e = rng.standard_normal(3)
    fdd = (_f(P, U, d + h * e) - _f(P, U, d - h * e)) / (2 * h)
    assert np.isclose(fdd, gd @ e, rtol=1e-5, atol=1e-9)
    _, gB = bm_grad(P, U)
    fdb = (_f(P, U + h * E) - _f(P, U - h * E)) / (2 * h)
    assert np.isclose(fdb, np.vdot(gB, E).real, rtol=1e-5, atol=1e-9)
    assert P.lipschitz() > 0


def test_recover_signal_phase():
    rng = np.random.default_rng(2)
    x = rng.standard_normal(6) + 1j * rng.standard_normal(6)
    x /= np.linalg.norm(x)
    U = (x * np.exp(0.7j))[:, None]
    v = recover_signal(U, None, x)
    assert signal_error(v, x) < 1e-12
    assert signal_error(-x, x) < 1e-12


def test_small_pr_run_decreases_residual():
    rng = np.random.default_rng(3)
    x = image_signal(load_image(), 4)
    P = GaussianPR.make(x, rng=rng)
    res = run_udu(P, scaled_init(P.n, P.n, 1.0, rng), eta=1 / P.lipschitz(), max_iter=300,
                  alpha=0.5 * np.linalg.norm(np.sqrt(P.b)))
    assert res.history["residual"][-1] < res.history["residual"][0]


def test_fp_loader(tmp_path):
    rng = np.random.default_rng(4)
    P = FourierPtychography.make(fp_object(load_image()[:8, :8], 1), M=4, grid=3,
                                 pupil_radius=1.2, overlap=0.5, rng=rng, noise=0.0)
    f = tmp_path / "fp.npz"
    np.savez(f, images=P.b.reshape(P.K, 4, 4), shifts=P.shifts, pupil=P.pupil, N=P.N)
    Q = load_fp_dataset(f)
    assert Q.K == P.K and np.isclose(Q.b.mean(), 1.0)
    with pytest.raises(ValueError):
        FourierPtychography.make(np.ones((4, 5)), M=2, rng=rng)
