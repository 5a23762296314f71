r"""Rank-revealing dynamics of UDU (paper 001, A.3, Figures SM5–SM10).

Helpers that read the column norms :math:`\|u_i\|`, the diagonal :math:`d_i` (and BM's column
norms) recorded by :func:`bmlab.experiments.udu_completion.run_completion_sweep` with
``track_columns=True``.
"""
from __future__ import annotations

import numpy as np

__all__ = ["surviving_columns", "column_orthogonality", "switch_on_times", "plot_columns"]


def surviving_columns(U: np.ndarray, d: np.ndarray | None = None, rtol: float = 1e-6) -> np.ndarray:
    r"""Indices of the columns of :math:`\tilde U = UD^{1/2}` with norm above ``rtol`` times the
    largest (the columns that carry :math:`X = \tilde U\tilde U^\top`)."""
    Ut = U if d is None else U * np.sqrt(np.maximum(d, 0))
    c = np.linalg.norm(Ut, axis=0)
    return np.flatnonzero(c > rtol * c.max())


def column_orthogonality(U: np.ndarray, cols: np.ndarray) -> float:
    r""":math:`\max_{i\ne j}|\cos\angle(u_i, u_j)|` over the columns ``cols`` (0: orthogonal)."""
    if len(cols) < 2:
        return 0.0
    V = U[:, cols]
    V = V / np.linalg.norm(V, axis=0)
    C = np.abs(V.T @ V)
    np.fill_diagonal(C, 0.0)
    return float(C.max())


def switch_on_times(iters: np.ndarray, weights: np.ndarray, cols: np.ndarray,
                    frac: float = 0.5) -> np.ndarray:
    r"""For each column in ``cols``, the first recorded iteration at which its weight (e.g.
    :math:`d_i\|u_i\|^2`, the eigenvalue it carries) reaches ``frac`` of its final value."""
    out = []
    for c in cols:
        w = weights[:, c]
        hit = np.flatnonzero(w >= frac * w[-1])
        out.append(iters[hit[0]] if hit.size else np.nan)
    return np.asarray(out, dtype=float)


def plot_columns(run_udu, run_bm, *, k_highlight: int = 6, floor: float = 1e-20, title: str = ""):
    """Three panels: UDU column norms, UDU diagonal entries, BM column norms over iterations
    (log–log); the ``k_highlight`` largest final columns in colour, the others in grey."""
    import matplotlib.pyplot as plt

    from ..plotting import CYCLE

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
