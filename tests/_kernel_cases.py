"""Shared oracle helpers and instances of the completion-kernel tests
(``tests/test_kernels_udu.py``: numba; ``tests/test_kernels_torch.py``: torch): the 1e-12
comparison of two :class:`~bmlab.solvers.base.SolverResult` and the small random instances
both test files run against the numpy reference."""
import numpy as np
import pytest

from bmlab.factorizations.udu import scaled_init
from bmlab.problems.completion import make_completion

RTOL = 1e-12


def rel(a, b):
    """Largest entry-wise difference relative to the largest entry of ``a``."""
    a, b = np.asarray(a), np.asarray(b)
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(a)), 1e-300))


def same(ref, got, bm=False):
    """``got`` is ``ref`` to rounding: status, iteration count, message and record schedule
    exactly; residuals, gradient norm, iterate and objective to :data:`RTOL` relative (a
    clipped diagonal entry exactly 0 in both)."""
    assert got.status == ref.status and got.n_iter == ref.n_iter, (ref.message, got.message)
    assert got.message == ref.message
    assert list(got.history) == list(ref.history)
    np.testing.assert_array_equal(got.history["iter"], ref.history["iter"])
    for key in ("residual", "grad_norm_final"):
        np.testing.assert_allclose(got.history[key], ref.history[key], rtol=RTOL, atol=0)
    if bm:
        assert rel(ref.x, got.x) <= RTOL
    else:
        assert rel(ref.x[0], got.x[0]) <= RTOL
        assert rel(ref.x[1], got.x[1]) <= RTOL or np.array_equal(ref.x[1], got.x[1])
    assert got.fun == pytest.approx(ref.fun, rel=RTOL)


@pytest.fixture(scope="module")
def inst():
    """A 24 × 24 rank-2 completion instance and the generator that made it (module scope)."""
    rng = np.random.default_rng(12)
    P = make_completion(24, 2, rng=rng)
    return P, rng


def udu_case(seed, r):
    """``(P, U0, d0, kw)``: a 20 × 20 rank-2 instance (noise 0.01·seed), a start of rank
    ``r`` and the run's keywords (60 iterations, record every 7th)."""
    rng = np.random.default_rng(seed)
    P = make_completion(20, 2, rng=rng, noise=0.01 * seed)
    U0 = scaled_init(20, r, 0.3 + 0.2 * seed, rng)
    d0 = rng.uniform(0.5, 1.5, r)
    kw = dict(eta=0.1, max_iter=60, alpha=0.8, record=np.arange(0, 61, 7))
    return P, U0, d0, kw


def projection_case(P, rng):
    """``(U0, d0, kw)``: a start outside the ball (the projection binds) and a diagonal with
    small entries (the clipping at 0 binds)."""
    U0 = scaled_init(P.n, 6, 2.0, rng)
    d0 = np.array([1.0, 0.5, 0.02, 0.01, 1.0, 0.003])
    kw = dict(eta=0.2, max_iter=40, alpha=0.7, record=np.arange(41))
    return U0, d0, kw


def batch_case():
    """``(probs, U0, etas, alphas, rec)``: three 16 × 16 problems and a 3-run (η, ρ) grid."""
    rng = np.random.default_rng(5)
    probs = [make_completion(16, 2, rng=rng) for _ in range(3)]
    U0 = np.stack([scaled_init(16, 4, rho, rng) for rho in (0.2, 0.6, 1.5)])
    etas, alphas = np.array([0.02, 0.1, 0.3]), np.array([1.0, 0.5, 2.0])
    return probs, U0, etas, alphas, np.array([0, 3, 10, 29])


def check_projection(ref, got, alpha=0.7):
    """The projection and the clipping were active, as in the reference."""
    same(ref, got)
    assert np.linalg.norm(got.x[0]) == pytest.approx(alpha, rel=1e-12)
    assert np.any(got.x[1] == 0.0) and np.array_equal(got.x[1] == 0.0, ref.x[1] == 0.0)


def check_batch(run_udu, probs, U0, etas, alphas, rec, got, shared):
    """Each run of the per-problem batch ``got`` and of the shared-problem batch ``shared``
    equals its own numpy reference run."""
    for q in range(len(U0)):
        kw = dict(eta=etas[q], alpha=alphas[q], max_iter=30, record=rec)
        same(run_udu(probs[q], U0[q], **kw), got[q])
        same(run_udu(probs[0], U0[q], **kw), shared[q])
