r"""Phase retrieval with BM and UDU (paper 001, A.2.1 synthetic Gaussian; §2.2.2 Fourier
ptychography, simulated). Both models start from the same :math:`U_0` (Gaussian, real or
complex, :math:`\|U_0\|_F = 1`), :math:`D_0 = I`, step :math:`1/L`, and are compared at equal
iterations by the error of the top singular vector of :math:`X` (global phase removed) and by the
spectrum of :math:`X`.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from ..factorizations.udu import log_schedule, run_bm, run_udu, scaled_init, spectrum
from ..problems.phase_retrieval import recover_signal, signal_error
from .udu_completion import blas_single_thread, numerical_rank_from_spectrum

__all__ = ["PRRun", "run_pr_pair", "plot_pr"]


@dataclass
class PRRun:
    method: str
    status: str
    n_iter: int
    seconds: float
    iters: np.ndarray
    residual: np.ndarray
    error: np.ndarray             # signal error at the recorded iterations
    snapshots: dict               # iteration -> recovered signal
    spectrum: np.ndarray
    rank: int
    x: object = field(repr=False, default=None)

    @property
    def final_error(self) -> float:
        return float(self.error[-1])


def run_pr_pair(problem, *, r: int, max_iter: int, rng: np.random.Generator,
                eta: float | None = None, alpha: float | None = None,
                snapshots: tuple[int, ...] = (), record_points: int = 60,
                complex_: bool = False, rank_rtol: float = 1e-6) -> dict[str, PRRun]:
    r"""Run BM and UDU on ``problem`` from the same start; ``eta`` defaults to
    :math:`1/L` (``problem.lipschitz()``) and ``alpha`` to :math:`\tfrac12\|\sqrt y\|_2`
    (FOUND-code for A.2.1)."""
    x = problem.x_true
    eta = 1.0 / problem.lipschitz() if eta is None else float(eta)
    alpha = 0.5 * float(np.linalg.norm(np.sqrt(np.maximum(problem.b, 0)))) if alpha is None else alpha
    U0 = scaled_init(problem.n, r, 1.0, rng, complex_=complex_)
    record = np.union1d(log_schedule(max_iter, record_points), np.asarray(snapshots, dtype=int))
    record = record[record <= max_iter]
    out = {}
    with blas_single_thread():
        for method in ("BM", "UDU"):
            snaps: dict[int, np.ndarray] = {}

            def err(z, method=method, snaps=snaps, k=[0]):
                v = recover_signal(z, None, x) if method == "BM" else recover_signal(z[0], z[1], x)
                return signal_error(v, x)

            def snap(k, z, method=method, snaps=snaps):
                if k in snapshots:
                    snaps[k] = recover_signal(z, None, x) if method == "BM" \
                        else recover_signal(z[0], z[1], x)

            t0 = time.perf_counter()
            if method == "BM":
                res = run_bm(problem, U0, eta=eta, max_iter=max_iter, record=record,
                             trackers={"error": err}, callback=snap)
                spec = spectrum(res.x)
            else:
                res = run_udu(problem, U0, eta=eta, max_iter=max_iter, alpha=alpha,
                              record=record, trackers={"error": err}, callback=snap)
                spec = spectrum(*res.x)
            out[method] = PRRun(method=method, status=res.status, n_iter=res.n_iter,
                                seconds=time.perf_counter() - t0, iters=res.history["iter"],
                                residual=res.history["residual"], error=res.history["error"],
                                snapshots=snaps, spectrum=spec,
                                rank=numerical_rank_from_spectrum(spec, rank_rtol), x=res.x)
    out["eta"], out["alpha"] = eta, alpha
    return out


def plot_pr(runs: dict, *, floor: float = 1e-20):
    """Three panels: signal error and objective residual against iterations, spectra."""
    import matplotlib.pyplot as plt

    from ..plotting import color

    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    for m in ("BM", "UDU"):
        run = runs[m]
        keep = run.iters >= 1
        axes[0].plot(run.iters[keep], run.error[keep], color=color(m), label=m)
        axes[1].plot(run.iters[keep], np.maximum(run.residual[keep], floor), color=color(m), label=m)
        s = np.maximum(run.spectrum, floor)
        axes[2].semilogy(np.arange(1, s.size + 1), s, "o-", ms=2.5, lw=1, color=color(m),
                         label=f"{m} (rank {run.rank})")
    axes[0].set(xscale="log", yscale="log", xlabel="iteration t",
                ylabel=r"$\min_{|c|=1}\|c\,\hat x_t - x_\natural\|/\|x_\natural\|$",
                title="error of the top singular vector")
    axes[1].set(xscale="log", yscale="log", xlabel="iteration t",
                ylabel=r"$\|\mathcal{A}(X_t) - y\|^2$", title="objective residual")
    axes[2].set(xlabel="index i", ylabel=r"$\sigma_i(X)$", title="singular values of the final X")
    for ax in axes:
        ax.legend()
    fig.tight_layout()
    return fig
