"""The torch completion kernel (``run_udu_batch(..., backend="torch")``,
:mod:`bmlab.solvers.kernels_torch`) against its oracle, the numpy reference
(:func:`bmlab.solvers.udu.run_udu` / :func:`~bmlab.solvers.udu.run_bm`): iterates, recorded
residuals, projection, clipping, divergence (per run, inside a batch) and per-run problems, to
1e-12 relative, on the CPU; the CUDA device where there is one. The device flag never falls
back silently. No timings."""
import numpy as np
import pytest
import torch

from _kernel_cases import (RTOL, batch_case, check_batch, check_projection, inst,  # noqa: F401
                           projection_case, udu_case)
from _kernel_cases import same as _same
from bmlab.factorizations.udu import scaled_init
from bmlab.solvers.kernels import run_udu_batch
from bmlab.solvers.kernels_torch import cuda_available, resolve_device, run_udu_batch_torch
from bmlab.solvers.udu import run_bm, run_udu

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


@pytest.fixture(scope="module", autouse=True)
def _one_torch_thread():
    """Tiny instances: torch's intra-op threads only add spin-waiting on a shared machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("method", ["gather", "csr"])
@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("r", [1, 5, 24])
def test_udu_matches_numpy_reference(seed, r, method, device):
    P, U0, d0, kw = udu_case(seed, r)
    got = run_udu_batch_torch(P, U0, d0, device=device, method=method, **kw)[0]
    _same(run_udu(P, U0, d0, **kw), got)


def test_default_backend_call_matches_numpy_reference(inst):
    P, rng = inst
    U0 = scaled_init(P.n, 4, 0.5, rng)
    kw = dict(eta=0.1, max_iter=30, alpha=0.9, record=np.arange(0, 31, 3))
    _same(run_udu(P, U0, **kw), run_udu_batch(P, U0, backend="torch", **kw)[0])


@pytest.mark.parametrize("method", ["gather", "csr"])
def test_projection_and_clipping_are_active(inst, method):
    P, _ = inst
    U0, d0, kw = projection_case(P, np.random.default_rng(0))   # own stream: order-free
    check_projection(run_udu(P, U0, d0, **kw),
                     run_udu_batch_torch(P, U0, d0, method=method, **kw)[0])


def test_bm_matches_numpy_reference(inst):
    P, rng = inst
    U0 = scaled_init(P.n, 3, 0.5, rng)
    kw = dict(eta=0.05, max_iter=50)                # default log-spaced record schedule
    _same(run_bm(P, U0, **kw), run_udu_batch_torch(P, U0, bm=True, **kw)[0], bm=True)


@pytest.mark.parametrize("method", ["gather", "csr"])
def test_divergence_stops_each_run_at_the_reference_iteration(inst, method):
    """A batch where runs diverge at different iterations (and one does not): each stops
    where the numpy reference stops, the others go on."""
    P, rng = inst
    U0 = np.stack([scaled_init(P.n, 4, 3.0, rng) for _ in range(3)])
    etas = np.array([50.0, 1e4, 1e-3])
    rec = np.arange(201)
    got = run_udu_batch_torch(P, U0, eta=etas, max_iter=60, record=rec, bm=True, method=method)
    statuses = []
    for q in range(3):
        ref = run_bm(P, U0[q], eta=etas[q], max_iter=60, record=rec)
        statuses.append(ref.status)
        g = got[q]
        assert g.status == ref.status and g.n_iter == ref.n_iter and g.message == ref.message
        np.testing.assert_array_equal(g.history["iter"], ref.history["iter"])
        np.testing.assert_allclose(g.history["grad_norm_final"], ref.history["grad_norm_final"],
                                   rtol=RTOL)
        if ref.status != "diverged":
            _same(ref, g, bm=True)
        assert np.all(np.isfinite(g.x))
    assert statuses.count("diverged") == 2 and got[0].n_iter != got[2].n_iter


@pytest.mark.parametrize("method", ["gather", "csr"])
def test_batch_grid_and_per_run_problems(method):
    probs, U0, etas, alphas, rec = batch_case()
    kw = dict(eta=etas, alpha=alphas, max_iter=30, record=rec, method=method)
    got = run_udu_batch_torch(probs, U0, **kw)
    shared = run_udu_batch_torch(probs[0], U0, **kw)
    check_batch(run_udu, probs, U0, etas, alphas, rec, got, shared)


def test_agrees_with_numba_kernel_and_leaves_input_untouched(inst):
    P, rng = inst
    U0 = scaled_init(P.n, 3, 0.5, rng)
    keep = U0.copy()
    kw = dict(eta=0.1, max_iter=25, record=np.arange(26))
    _same(run_udu_batch(P, U0, **kw)[0], run_udu_batch_torch(P, U0, **kw)[0])
    _same(run_udu(P, U0, eta=0.1, max_iter=0), run_udu_batch_torch(P, U0, eta=0.1, max_iter=0)[0])
    np.testing.assert_array_equal(U0, keep)


def test_device_flag_never_falls_back():
    assert resolve_device(None).type == "cpu"
    assert resolve_device("cpu").type == "cpu"
    with pytest.raises(ValueError, match="device"):
        resolve_device("tpu")
    with pytest.raises(TypeError, match="device"):
        resolve_device(3)
    if not cuda_available():
        with pytest.raises(RuntimeError, match="no CUDA device"):
            resolve_device("cuda")
    else:
        with pytest.raises(RuntimeError, match="CUDA device"):
            resolve_device(f"cuda:{torch.cuda.device_count()}")


def test_backend_and_device_errors(inst):
    P, rng = inst
    U0 = scaled_init(P.n, 3, 0.5, rng)
    with pytest.raises(ValueError, match="backend"):
        run_udu_batch(P, U0, eta=0.1, max_iter=3, backend="jax")
    with pytest.raises(ValueError, match='backend="torch"'):
        run_udu_batch(P, U0, eta=0.1, max_iter=3, device="cuda")
    if not cuda_available():
        with pytest.raises(RuntimeError, match="no CUDA device"):
            run_udu_batch(P, U0, eta=0.1, max_iter=3, backend="torch", device="cuda")
    with pytest.raises(TypeError, match="real"):
        run_udu_batch_torch(P, U0 + 0j, eta=0.1, max_iter=3)
    with pytest.raises(TypeError, match="MatrixCompletion"):
        run_udu_batch_torch(object(), U0, eta=0.1, max_iter=3)
    with pytest.raises(ValueError, match="method"):
        run_udu_batch_torch(P, U0, eta=0.1, max_iter=3, method="dense")


def test_overflow_stop_matches_numba_kernel(inst):
    """The iterate-overflow stop (status 1, ``blowup``), which the numpy reference reaches only
    at float overflow: the torch kernel stops where the numba kernel does, per run."""
    P, rng = inst
    U0 = np.stack([scaled_init(P.n, 4, 3.0, rng) for _ in range(3)])
    kw = dict(eta=np.array([50.0, 5.0, 1e-3]), max_iter=100, record=np.arange(101), bm=True,
              blowup=1e3)
    ref = run_udu_batch(P, U0, **kw)
    got = run_udu_batch_torch(P, U0, **kw)
    assert [g.status for g in ref].count("diverged") >= 1
    assert any("overflowed" in g.message for g in ref)
    for a, b in zip(ref, got):
        _same(a, b, bm=True)
