r"""Rank-revealing dynamics of UDU (paper 001, A.3, Figures SM5–SM10).

Helpers that read the column norms :math:`\|u_i\|`, the diagonal :math:`d_i` (and BM's column
norms) recorded by :func:`bmlab.experiments.implicit_bias.common.run_completion_sweep` with
``track_columns=True``.
"""
from __future__ import annotations

import numpy as np

__all__ = ["surviving_columns", "column_orthogonality", "switch_on_times"]


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
