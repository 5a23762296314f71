"""The batched phase-retrieval kernel against its oracle, :func:`bmlab.solvers.udu.run_udu` /
``run_bm`` (numpy): real Gaussian PR and a complex sensing matrix, projection, clipping,
divergence and batching, to 1e-12 relative — for the numpy kernel and its torch twin
(``backend="torch"`` on the CPU; CUDA where there is one). Small instances; no timings."""
from dataclasses import dataclass
from functools import partial

import numpy as np
import pytest
import torch

from bmlab.factorizations.udu import scaled_init
from bmlab.problems.phase_retrieval import GaussianPR
from bmlab.solvers.kernels_pr import run_pr_batch
from bmlab.solvers.udu import run_bm, run_udu

RTOL = 1e-12
BACKENDS = [("numpy", None), ("torch", "cpu")] + ([("torch", "cuda")] if torch.cuda.is_available() else [])


@pytest.fixture(params=BACKENDS, ids=lambda b: "-".join(x for x in b if x))
def pr(request):
    """``run_pr_batch`` with one backend/device."""
    backend, device = request.param
    if backend == "torch":
        before = torch.get_num_threads()
        torch.set_num_threads(1)          # tiny instances: intra-op threads only spin-wait
        yield partial(run_pr_batch, backend=backend, device=device)
        torch.set_num_threads(before)
    else:
        yield partial(run_pr_batch, backend=backend)


@dataclass
class ComplexPR:
    """y_i = |a_i^H x|^2 with complex a_i: the measurement protocol, restated for the oracle."""

    A: np.ndarray
    b: np.ndarray

    @property
    def n(self):
        return self.A.shape[0]

    def forward_factored(self, U, d=None):
        Z = np.abs(self.A.conj().T @ U) ** 2
        return Z.sum(axis=1) if d is None else Z @ d

    def sym_adjoint_apply(self, res, U):
        return self.A @ (res[:, None] * (self.A.conj().T @ U))


def _rel(a, b):
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(a)), 1e-300))


def _same(ref, got, bm=False):
    assert (got.status, got.n_iter, got.message) == (ref.status, ref.n_iter, ref.message)
    np.testing.assert_array_equal(got.history["iter"], ref.history["iter"])
    for key in ("residual", "grad_norm_final"):
        np.testing.assert_allclose(got.history[key], ref.history[key], rtol=RTOL, atol=0)
    xr, xg = (ref.x, got.x) if bm else (ref.x[0], got.x[0])
    assert _rel(xr, xg) <= RTOL
    if not bm:
        assert _rel(ref.x[1], got.x[1]) <= RTOL


def _gaussian(n=12, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(n)
    return GaussianPR.make(x / np.linalg.norm(x), rng=rng), rng


def _complex(n=10, m=30, seed=0):
    rng = np.random.default_rng(seed)
    A = (rng.standard_normal((n, m)) + 1j * rng.standard_normal((n, m))) / np.sqrt(2 * n)
    x = rng.standard_normal(n) + 1j * rng.standard_normal(n)
    x /= np.linalg.norm(x)
    return ComplexPR(A, np.abs(A.conj().T @ x) ** 2), rng


@pytest.mark.parametrize("make", [_gaussian, _complex])
def test_udu_batch_matches_oracle(make, pr):
    P, rng = make()
    cplx = np.iscomplexobj(P.A)
    U0 = np.stack([scaled_init(P.n, 4, rho, rng, complex_=cplx) for rho in (0.3, 0.9, 2.0)])
    etas, alphas = np.array([0.05, 0.2, 0.1]), np.array([1.0, 1.5, 0.8])
    rec = np.arange(0, 81, 9)
    got = pr(P, U0, eta=etas, alpha=alphas, max_iter=80, record=rec)
    for q in range(3):
        _same(run_udu(P, U0[q], eta=etas[q], alpha=alphas[q], max_iter=80, record=rec), got[q])
    one = pr(P, U0[2], eta=0.1, alpha=0.8, max_iter=1)[0]     # ||U0|| = 2 > 0.8
    assert np.linalg.norm(one.x[0]) == pytest.approx(0.8, rel=1e-12)   # the projection binds


@pytest.mark.parametrize("make", [_gaussian, _complex])
def test_bm_matches_oracle(make, pr):
    P, rng = make(seed=1)
    U0 = scaled_init(P.n, 2, 0.5, rng, complex_=np.iscomplexobj(P.A))
    _same(run_bm(P, U0, eta=0.1, max_iter=60), pr(P, U0, eta=0.1, max_iter=60, bm=True)[0],
          bm=True)


def test_clipping(pr):
    P, rng = _gaussian(seed=2)
    U0 = scaled_init(P.n, 3, 3.0, rng)          # X far above the data: d is pushed below 0
    d0 = np.array([1.0, 1e-3, 0.5])
    for T in (1, 40):
        ref = run_udu(P, U0, d0, eta=1.0, alpha=3.0, max_iter=T, record=np.arange(T + 1))
        got = pr(P, U0, d0, eta=1.0, alpha=3.0, max_iter=T, record=np.arange(T + 1))[0]
        _same(ref, got)
    one = pr(P, U0, d0, eta=1.0, alpha=3.0, max_iter=1)[0]
    assert np.any(one.x[1] == 0.0)                      # clipped at the first step


def test_divergence_in_a_batch_leaves_the_other_runs_alone(pr):
    P, rng = _gaussian(seed=3)
    U0 = np.stack([scaled_init(P.n, 2, 0.5, rng), scaled_init(P.n, 2, 5.0, rng)])
    etas = np.array([0.1, 50.0])
    got = pr(P, U0, eta=etas, max_iter=300, record=np.arange(301), bm=True)
    ref = [run_bm(P, U0[q], eta=etas[q], max_iter=300, record=np.arange(301)) for q in range(2)]
    assert ref[1].status == "diverged" and ref[0].status == "max_iter"
    _same(ref[0], got[0], bm=True)
    assert (got[1].status, got[1].n_iter, got[1].message) == (ref[1].status, ref[1].n_iter, ref[1].message)
    np.testing.assert_array_equal(got[1].history["iter"], ref[1].history["iter"])
    assert np.all(np.isfinite(got[1].x))


def test_errors():
    P, rng = _gaussian()
    with pytest.raises(TypeError, match="sensing matrix"):
        run_pr_batch(object(), np.ones((3, 2)), eta=0.1, max_iter=2)
    with pytest.raises(ValueError, match="rows"):
        run_pr_batch(P, np.ones((P.n + 1, 2)), eta=0.1, max_iter=2)
    with pytest.raises(ValueError, match="backend"):
        run_pr_batch(P, np.ones((P.n, 2)), eta=0.1, max_iter=2, backend="jax")
    with pytest.raises(ValueError, match='backend="torch"'):
        run_pr_batch(P, np.ones((P.n, 2)), eta=0.1, max_iter=2, device="cuda")
    if not torch.cuda.is_available():
        with pytest.raises(RuntimeError, match="no CUDA device"):
            run_pr_batch(P, np.ones((P.n, 2)), eta=0.1, max_iter=2, backend="torch",
                         device="cuda")
