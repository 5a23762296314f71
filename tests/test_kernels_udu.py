"""The compiled UDU/BM completion kernel against its oracle, the numpy reference
(:func:`bmlab.solvers.udu.run_udu` / :func:`~bmlab.solvers.udu.run_bm`, ``backend="numpy"``):
iterates, recorded residuals, projection, clipping, divergence and batching, to 1e-12 relative.
Small instances (JIT compile time counts in ``make test``); no timings."""
import numpy as np
import pytest

from _kernel_cases import (RTOL, batch_case, check_batch, check_projection, inst,  # noqa: F401
                           projection_case, udu_case)
from _kernel_cases import same as _same
from bmlab.factorizations.udu import scaled_init
from bmlab.solvers.kernels import run_udu_batch
from bmlab.solvers.udu import run_bm, run_udu


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("r", [1, 5, 24])
def test_udu_matches_numpy_reference(seed, r):
    P, U0, d0, kw = udu_case(seed, r)
    _same(run_udu(P, U0, d0, **kw), run_udu(P, U0, d0, backend="numba", **kw))


def test_projection_and_clipping_are_active(inst):
    P, rng = inst
    U0, d0, kw = projection_case(P, rng)
    check_projection(run_udu(P, U0, d0, **kw), run_udu(P, U0, d0, backend="numba", **kw))


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
    probs, U0, etas, alphas, rec = batch_case()
    got = run_udu_batch(probs, U0, eta=etas, alpha=alphas, max_iter=30, record=rec)
    shared = run_udu_batch(probs[0], U0, eta=etas, alpha=alphas, max_iter=30, record=rec)
    check_batch(run_udu, probs, U0, etas, alphas, rec, got, shared)


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
