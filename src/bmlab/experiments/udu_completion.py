r"""Matrix completion with BM and UDU: step-size and initial-scale sweeps (paper 001 §2.2.1,
A.1, A.3; spec 001 §2).

One instance (ground truth, samples, optional noise) and one Gaussian direction
:math:`U_0/\|U_0\|_F` are drawn; every run starts from :math:`\rho\,U_0/\|U_0\|_F` (the same
start for BM and UDU, FOUND-code) and runs ``max_iter`` iterations of GD (BM) or of the
simultaneous projected gradient (3) with :math:`D_0 = I`, :math:`\alpha = 1` (UDU).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pandas as pd

from ..factorizations.udu import log_schedule, run_bm, run_udu, spectrum, udu_matrix
from ..problems.completion import MatrixCompletion, make_completion
from ..sdp.core import numerical_rank

__all__ = ["CompletionParams", "CompletionRun", "CompletionSweep", "run_completion_sweep",
           "numerical_rank_from_spectrum", "blas_single_thread", "plot_sweep"]

METHODS = ("BM", "UDU")


def blas_single_thread():
    """Context manager limiting BLAS to one thread (on a shared 2-core machine a threaded
    100×100 product is 10–100× slower than a single-threaded one)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
        import contextlib
        return contextlib.nullcontext()
    return threadpool_limits(1)


def numerical_rank_from_spectrum(s: np.ndarray, rtol: float = 1e-6) -> int:
    """Number of singular values above ``rtol`` times the largest."""
    s = np.asarray(s)
    return int(np.sum(s > rtol * s[0])) if s.size and s[0] > 0 else 0


@dataclass
class CompletionParams:
    """Parameters (defaults: the paper's, FOUND-code, spec 001 §2)."""

    n: int = 100
    rank: int = 3
    m: int | None = None            # default 3·rank·n = 900
    r: int | None = None            # factorization rank, default n (full)
    noise: float = 0.0              # A.1: 0.01 (std = noise·||b||)
    truth: str = "code"
    etas: tuple[float, ...] = (1e-1, 1e-2, 1e-3)
    rhos: tuple[float, ...] = (1e-2,)
    methods: tuple[str, ...] = METHODS
    max_iter: int = 10 ** 6
    alpha: float = 1.0
    record_points: int = 120
    track_columns: bool = False     # column norms of U and d over the iterations (A.3)
    rank_rtol: float = 1e-6

    def __post_init__(self) -> None:
        bad = [m for m in self.methods if m not in METHODS]
        if bad:
            raise ValueError(f"methods must be among {METHODS}, got {bad}")
        if any(not e > 0 for e in self.etas) or any(not r > 0 for r in self.rhos):
            raise ValueError("etas and rhos must be positive")
        if self.max_iter < 1:
            raise ValueError(f"max_iter must be >= 1, got {self.max_iter!r}")


@dataclass
class CompletionRun:
    """One (method, η, ρ) run."""

    method: str
    eta: float
    rho: float
    status: str
    n_iter: int
    seconds: float
    iters: np.ndarray
    residual: np.ndarray
    spectrum: np.ndarray
    rel_error: float
    rank: int
    x: object
    history: dict = field(repr=False, default_factory=dict)

    @property
    def X(self) -> np.ndarray:
        return udu_matrix(*self.x) if self.method == "UDU" else udu_matrix(self.x)


@dataclass
class CompletionSweep:
    params: CompletionParams
    problem: MatrixCompletion
    runs: list[CompletionRun]

    def get(self, method: str, eta: float, rho: float) -> CompletionRun:
        for run in self.runs:
            if run.method == method and np.isclose(run.eta, eta) and np.isclose(run.rho, rho):
                return run
        raise KeyError((method, eta, rho))

    def frame(self) -> pd.DataFrame:
        rows = []
        for run in self.runs:
            s = run.spectrum
            k = self.params.rank
            rows.append({"method": run.method, "eta": run.eta, "rho": run.rho,
                         "status": run.status, "iterations": run.n_iter,
                         "residual": float(run.residual[-1]), "rel_error": run.rel_error,
                         "rank": run.rank,
                         "sigma_next_rel": float(s[k] / s[0]) if s.size > k else 0.0,
                         "seconds": run.seconds})
        return pd.DataFrame(rows)


def run_completion_sweep(params: CompletionParams, rng: np.random.Generator, *,
                         problem: MatrixCompletion | None = None,
                         progress: Callable[[str], None] | None = None) -> CompletionSweep:
    """Run every (method, η, ρ) of ``params`` on one instance (drawn from ``rng`` unless
    ``problem`` is given)."""
    p = params
    if problem is None:
        problem = make_completion(p.n, p.rank, p.m, rng=rng, noise=p.noise, truth=p.truth)
    n = problem.n
    r = p.r or n
    direction = rng.standard_normal((n, r))
    direction /= np.linalg.norm(direction)
    record = log_schedule(p.max_iter, p.record_points)
    runs = []
    with blas_single_thread():
        for rho in p.rhos:
            for eta in p.etas:
                for method in p.methods:
                    if progress is not None:
                        progress(f"{method} eta={eta:g} rho={rho:g}")
                    U0 = rho * direction
                    t0 = time.perf_counter()
                    if method == "BM":
                        trk = {"col_norms": lambda U: np.linalg.norm(U, axis=0)} \
                            if p.track_columns else {}
                        res = run_bm(problem, U0, eta=eta, max_iter=p.max_iter, record=record,
                                     trackers=trk)
                        spec = spectrum(res.x)
                    else:
                        trk = {"col_norms": lambda x: np.linalg.norm(x[0], axis=0),
                               "d": lambda x: x[1].copy()} if p.track_columns else {}
                        res = run_udu(problem, U0, eta=eta, max_iter=p.max_iter,
                                      alpha=p.alpha, record=record, trackers=trk)
                        spec = spectrum(*res.x)
                    secs = time.perf_counter() - t0
                    run = CompletionRun(
                        method=method, eta=eta, rho=rho, status=res.status, n_iter=res.n_iter,
                        seconds=secs, iters=res.history["iter"], residual=res.history["residual"],
                        spectrum=spec, rel_error=float("nan"),
                        rank=numerical_rank_from_spectrum(spec, p.rank_rtol), x=res.x,
                        history=res.history)
                    if problem.X_true is not None:
                        run.rel_error = problem.relative_error(run.X)
                    runs.append(run)
    return CompletionSweep(params=p, problem=problem, runs=runs)


def check_rank(Z: np.ndarray, rtol: float = 1e-6) -> int:
    """Numerical rank of a matrix (alias of :func:`bmlab.sdp.core.numerical_rank`)."""
    return numerical_rank(Z, rtol)


def plot_sweep(sweep: CompletionSweep, *, vary: str, fstar: float = 0.0,
               floor: float = 1e-20, title: str = ""):
    r"""Figure of a sweep: top row objective residual :math:`\|\mathcal A(X_t) - b\|^2 - f^\star`
    against iterations (log–log), bottom row singular values of the final :math:`X`
    (log scale, clipped below at ``floor``); left BM, right UDU; one colour per value of
    ``vary`` (``"eta"`` or ``"rho"``)."""
    import matplotlib.pyplot as plt

    from ..plotting import CYCLE

    if vary not in ("eta", "rho"):
        raise ValueError(f"vary must be 'eta' or 'rho', got {vary!r}")
    sym = {"eta": "η", "rho": "ρ"}[vary]
    values = sorted({getattr(r, vary) for r in sweep.runs}, reverse=True)
    fig, axes = plt.subplots(2, 2, figsize=(11, 7.5), sharey="row")
    for j, method in enumerate(("BM", "UDU")):
        for i, v in enumerate(values):
            runs = [r for r in sweep.runs if r.method == method and np.isclose(getattr(r, vary), v)]
            for run in runs:
                it = run.iters
                keep = it >= 1
                y = np.maximum(run.residual[keep] - fstar, floor)
                axes[0, j].plot(it[keep], y, color=CYCLE[i % len(CYCLE)], label=f"{sym} = {v:g}")
                s = np.maximum(run.spectrum, floor)
                axes[1, j].semilogy(np.arange(1, s.size + 1), s, "o-", ms=2.5, lw=1,
                                    color=CYCLE[i % len(CYCLE)],
                                    label=f"{sym} = {v:g} (rank {run.rank})")
        axes[0, j].set(xscale="log", yscale="log", xlabel="iteration t",
                       title=f"{method}: objective residual")
        axes[1, j].axhline(sweep.params.rank_rtol * max(r.spectrum[0] for r in sweep.runs),
                           color="grey", ls=":", lw=1)
        axes[1, j].set(xlabel="index i", title=f"{method}: singular values of X after "
                       f"{sweep.params.max_iter:,} iterations")
        axes[0, j].legend()
        axes[1, j].legend(title="numerical rank at rtol 1e-6")
    axes[0, 0].set_ylabel(r"$\|\mathcal{A}(X_t)-b\|^2 - f^\star$" if fstar
                          else r"$\|\mathcal{A}(X_t)-b\|^2$")
    axes[1, 0].set_ylabel(r"$\sigma_i(X)$")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig
