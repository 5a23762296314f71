"""Figures of the implicit-bias chapters (paper 001, the UDUᵀ part)."""
from __future__ import annotations

import numpy as np

from ...plotting import CYCLE, color

__all__ = ["plot_sweep", "plot_columns", "plot_pr", "plot_pr_images", "plot_fp_images",
           "plot_norm_constraint", "plot_dormant"]


def plot_sweep(sweep, *, vary: str, fstar: float = 0.0,
               floor: float = 1e-20, title: str = ""):
    r"""Figure of a sweep: top row objective residual :math:`\|\mathcal A(X_t) - b\|^2 - f^\star`
    against iterations (log–log), bottom row singular values of the final :math:`X`
    (log scale, clipped below at ``floor``); left BM, right UDU; one colour per value of
    ``vary`` (``"eta"`` or ``"rho"``)."""
    import matplotlib.pyplot as plt

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


def plot_columns(run_udu, run_bm, *, k_highlight: int = 6, floor: float = 1e-20, title: str = ""):
    """Three panels: UDU column norms, UDU diagonal entries, BM column norms over iterations
    (log–log); the ``k_highlight`` largest final columns in colour, the others in grey."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2), sharex=True)
    panels = [(run_udu.history["col_norms"], r"$\|u_i\|_2$", "UDU: column norms of U (SM5)"),
              (run_udu.history["d"], r"$d_i$", "UDU: diagonal entries of D (SM6)"),
              (run_bm.history["col_norms"], r"$\|u_i\|_2$", "BM: column norms of U (SM7)")]
    for ax, (H, ylab, ttl), it in zip(axes, panels, (run_udu.iters, run_udu.iters, run_bm.iters)):
        keep = it >= 1
        final = H[-1]
        order = np.argsort(final)[::-1]
        for i in order[k_highlight:]:
            ax.plot(it[keep], np.maximum(H[keep, i], floor), color="0.75", lw=0.6)
        for j, i in enumerate(order[:k_highlight]):
            ax.plot(it[keep], np.maximum(H[keep, i], floor), color=CYCLE[j % len(CYCLE)], lw=1.6,
                    label=f"column {i}")
        ax.set(xscale="log", yscale="log", xlabel="iteration t", ylabel=ylab, title=ttl)
        ax.legend(fontsize="x-small", title=f"{k_highlight} largest at the end")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_pr(runs: dict, *, floor: float = 1e-20):
    """Three panels: signal error and objective residual against iterations, spectra."""
    import matplotlib.pyplot as plt

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


def _no_ticks(axes):
    for ax in np.ravel(axes):
        ax.set_xticks([])
        ax.set_yticks([])
        ax.grid(False)


def plot_pr_images(x: np.ndarray, runs: dict, snaps):
    """Ground truth and the BM (top) / UDU (bottom) images at the snapshot iterations
    (paper Fig. SM3); grey levels rescaled per panel."""
    import matplotlib.pyplot as plt

    from ...problems.phase_retrieval import signal_error

    side = int(round(np.sqrt(x.size)))
    as_img = lambda v: v.reshape(side, side, order="F")  # noqa: E731
    fig, axes = plt.subplots(2, len(snaps) + 1, figsize=(2.1 * (len(snaps) + 1), 5.2))
    for i, m in enumerate(("BM", "UDU")):
        axes[i, 0].imshow(as_img(x), cmap="gray")
        axes[i, 0].set_title("ground truth" if i == 0 else "")
        for j, k in enumerate(snaps):
            v = runs[m].snapshots[k]
            axes[i, j + 1].imshow(as_img(v), cmap="gray")
            axes[i, j + 1].set_title(f"{m}, t = {k:,}\nerr {signal_error(v, x):.2f}",
                                     fontsize="small")
    _no_ticks(axes)
    fig.tight_layout(h_pad=2.0)
    return fig


def plot_fp_images(x: np.ndarray, runs: dict, snaps, N: int):
    """Amplitude (grey) and phase (colour) of the truth and of the BM / UDU reconstructions at
    the snapshot iterations (paper Fig. SM4)."""
    import matplotlib.pyplot as plt

    from ...problems.phase_retrieval import signal_error

    img = lambda v: v.reshape(N, N)  # noqa: E731
    cols = len(snaps) + 1
    fig, axes = plt.subplots(4, cols, figsize=(2.3 * cols, 9.6))
    for i, m in enumerate(("BM", "UDU")):
        panels = [(x, "ground truth")] + [(runs[m].snapshots[k], f"{m}, t = {k:,}")
                                          for k in snaps]
        for j, (v, ttl) in enumerate(panels):
            axes[2 * i, j].imshow(np.abs(img(v)), cmap="gray")
            axes[2 * i + 1, j].imshow(np.angle(img(v)), cmap="twilight", vmin=-np.pi,
                                      vmax=np.pi)
            axes[2 * i, j].set_title(ttl if j == 0 else f"{ttl}\nerr {signal_error(v, x):.2f}",
                                     fontsize="small")
        axes[2 * i, 0].set_ylabel(f"{m}: amplitude")
        axes[2 * i + 1, 0].set_ylabel(f"{m}: phase")
    _no_ticks(axes)
    fig.tight_layout(h_pad=1.5)
    return fig


def plot_norm_constraint(iters: np.ndarray, u_hat_norm: np.ndarray, alpha: float,
                         label: str = "noiseless, r = n"):
    r""":math:`\|\hat U_t\|_F` along a UDU run against the radius :math:`\alpha`."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    keep = iters >= 1
    ax.plot(iters[keep], u_hat_norm[keep], color=color("UDU"), label=label)
    ax.axhline(alpha, color="grey", ls=":", lw=1, label=f"α = {alpha:g}")
    ax.set(xscale="log", xlabel="iteration t", ylabel=r"$\|\hat U_t\|_F$",
           title="Norm of the pre-projection iterate: active early, inactive at the end")
    ax.legend()
    return fig


def plot_dormant(runs: dict):
    """Objective residual and the dormant column's :math:`d_i` along the runs started from a
    rank-2 fixed point with one extra column at :math:`d_i = 0` (fixed-points chapter)."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for i, (key, run) in enumerate(runs.items()):
        it = run["iters"]
        keep = it >= 1
        axes[0].plot(it[keep], np.maximum(run["residual"][keep], 1e-30), color=CYCLE[i],
                     label=key)
        axes[1].plot(it[keep], np.maximum(run["d_dormant"][keep], 1e-30), color=CYCLE[i],
                     label=key)
    axes[0].set(xscale="log", yscale="log", xlabel="iteration t",
                ylabel=r"$\|\mathcal{A}(X_t) - b\|^2$", title="objective residual")
    axes[1].set(xscale="log", yscale="log", xlabel="iteration t", ylabel=r"$d_i$ (drawn ≥ 1e-30)",
                title="the dormant column's diagonal entry")
    for ax in axes:
        ax.legend()
    fig.tight_layout()
    return fig
