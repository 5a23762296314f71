"""The compiled UDU/BM completion kernel against its oracle, the numpy reference
(:func:`bmlab.solvers.udu.run_udu` / :func:`~bmlab.solvers.udu.run_bm`, ``backend="numpy"``):
iterates, recorded residuals, projection, clipping, divergence and batching, to 1e-12 relative.
Small instances (JIT compile time counts in ``make test``); no timings."""
import numpy as np
import pytest

from bmlab.factorizations.udu import scaled_init
from bmlab.problems.completion import make_completion
from bmlab.solvers.kernels import run_udu_batch
from bmlab.solvers.udu import run_bm, run_udu

RTOL = 1e-12


def _rel(a, b):
    a, b = np.asarray(a), np.asarray(b)
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(a)), 1e-300))


def _same(ref, got, bm=False):
    assert got.status == ref.status and got.n_iter == ref.n_iter, (ref.message, got.message)
    assert got.message == ref.message
    assert list(got.history) == list(ref.history)
    np.testing.assert_array_equal(got.history["iter"], ref.history["iter"])
    for key in ("residual", "grad_norm_final"):
        np.testing.assert_allclose(got.history[key], ref.history[key], rtol=RTOL, atol=0)
    if bm:
        assert _rel(ref.x, got.x) <= RTOL
    else:
        assert _rel(ref.x[0], got.x[0]) <= RTOL
        assert _rel(ref.x[1], got.x[1]) <= RTOL or np.array_equal(ref.x[1], got.x[1])
    assert got.fun == pytest.approx(ref.fun, rel=RTOL)


@pytest.fixture(scope="module")
def inst():
    rng = np.random.default_rng(12)
    P = make_completion(24, 2, rng=rng)
    return P, rng


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("r", [1, 5, 24])
def test_udu_matches_numpy_reference(seed, r):
    rng = np.random.default_rng(seed)
    P = make_completion(20, 2, rng=rng, noise=0.01 * seed)
    U0 = scaled_init(20, r, 0.3 + 0.2 * seed, rng)
    d0 = rng.uniform(0.5, 1.5, r)
    kw = dict(eta=0.1, max_iter=60, alpha=0.8, record=np.arange(0, 61, 7))
    _same(run_udu(P, U0, d0, **kw), run_udu(P, U0, d0, backend="numba", **kw))


def test_projection_and_clipping_are_active(inst):
    P, rng = inst
    U0 = scaled_init(P.n, 6, 2.0, rng)              # outside the ball: the projection binds
    d0 = np.array([1.0, 0.5, 0.02, 0.01, 1.0, 0.003])
    kw = dict(eta=0.2, max_iter=40, alpha=0.7, record=np.arange(41))
    ref = run_udu(P, U0, d0, **kw)
    got = run_udu(P, U0, d0, backend="numba", **kw)
    _same(ref, got)
    assert np.linalg.norm(got.x[0]) == pytest.approx(0.7, rel=1e-12)
    assert np.any(got.x[1] == 0.0) and np.array_equal(got.x[1] == 0.0, ref.x[1] == 0.0)


def test_bm_matches_numpy_reference(inst):
    P, rng = inst
    U0 = scaled_init(P.n, 3, 0.5, rng)
    kw = dict(eta=0.05, max_iter=50)                # default log-spaced record schedule
    _same(run_bm(P, U0, **kw), run_bm(P, U0, backend="numba", **kw), bm=True)


@pytest.mark.parametrize("eta", [50.0, 1e4])
def test_divergence_is_detected_at_the_same_iteration(inst, eta):
    P, rng = inst
    U0 = scaled_init(P.n, 4, 3.0, rng)
    ref = run_bm(P, U0, eta=eta, max_iter=200, record=np.arange(201))
    got = run_bm(P, U0, eta=eta, max_iter=200, record=np.arange(201), backend="numba")
    assert ref.status == "diverged"
    assert got.status == ref.status and got.n_iter == ref.n_iter and got.message == ref.message
    np.testing.assert_array_equal(got.history["iter"], ref.history["iter"])
    np.testing.assert_allclose(got.history["grad_norm_final"], ref.history["grad_norm_final"], rtol=RTOL)
    assert np.all(np.isfinite(got.x))


def test_batch_grid_and_per_run_problems():
    rng = np.random.default_rng(5)
    probs = [make_completion(16, 2, rng=rng) for _ in range(3)]
    U0 = np.stack([scaled_init(16, 4, rho, rng) for rho in (0.2, 0.6, 1.5)])
    etas, alphas = np.array([0.02, 0.1, 0.3]), np.array([1.0, 0.5, 2.0])
    rec = np.array([0, 3, 10, 29])
    got = run_udu_batch(probs, U0, eta=etas, alpha=alphas, max_iter=30, record=rec)
    shared = run_udu_batch(probs[0], U0, eta=etas, alpha=alphas, max_iter=30, record=rec)
    for q in range(3):
        _same(run_udu(probs[q], U0[q], eta=etas[q], alpha=alphas[q], max_iter=30, record=rec), got[q])
        _same(run_udu(probs[0], U0[q], eta=etas[q], alpha=alphas[q], max_iter=30, record=rec),
              shared[q])


def test_zero_iterations_and_input_left_untouched(inst):
    P, rng = inst
    U0 = scaled_init(P.n, 3, 0.5, rng)
    keep = U0.copy()
    _same(run_udu(P, U0, eta=0.1, max_iter=0), run_udu(P, U0, eta=0.1, max_iter=0, backend="numba"))
    np.testing.assert_array_equal(U0, keep)


def test_errors(inst):
    P, rng = inst
    U0 = scaled_init(P.n, 3, 0.5, rng)
    with pytest.raises(ValueError, match="backend"):
        run_udu(P, U0, eta=0.1, max_iter=3, backend="cuda")
    with pytest.raises(ValueError, match="trackers or callback"):
        run_udu(P, U0, eta=0.1, max_iter=3, backend="numba", callback=lambda k, x: None)
    with pytest.raises(TypeError, match="real"):
        run_udu_batch(P, U0 + 0j, eta=0.1, max_iter=3)
    with pytest.raises(ValueError, match="one per run"):
        run_udu_batch([P, P], np.stack([U0] * 3), eta=0.1, max_iter=3)
    with pytest.raises(ValueError):
        run_udu_batch(P, U0, eta=[0.1, 0.2], max_iter=3)
    with pytest.raises(TypeError, match="MatrixCompletion"):
        run_udu_batch(object(), U0, eta=0.1, max_iter=3)
