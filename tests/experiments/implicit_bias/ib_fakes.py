"""Synthetic results for the claims tests of the implicit-bias chapters (no experiment run)."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from bmlab.experiments.implicit_bias.common import CompletionSweep


def spectrum(rank: int, n: int = 20, tail: float = 1e-20, decay: float | None = None):
    """Singular values: ``rank`` values in [1, 0.5], then ``tail`` (or a geometric decay from
    1e-2 by ``decay`` per index, an 'approximately low-rank' spectrum)."""
    s = np.empty(n)
    s[:rank] = np.linspace(1.0, 0.5, rank)
    if decay is None:
        s[rank:] = tail
    else:
        s[rank:] = 1e-2 * decay ** np.arange(n - rank)
    return s


def run(method, eta, rho, s, residual=1e-3):
    from bmlab.factorizations.spectral import numerical_rank

    return SimpleNamespace(method=method, eta=eta, rho=rho, spectrum=np.asarray(s),
                           residual=np.array([1.0, residual]), rank=numerical_rank(np.asarray(s, dtype=float), spectrum=True),
                           rel_error=0.1, status="max_iter", seconds=0.0)


def sweep(runs, problem=None):
    return CompletionSweep(params=None, problem=problem, runs=list(runs))


def attach_factors(runs, problem, *, optimal: bool = True):
    """Give fake runs a factor on ``problem`` (for the certificates): the exact factor of the
    noiseless ground truth (a global minimiser of PSD least squares: certified) or a zero
    factor (S = −A*(b), not PSD: refuted)."""
    w, V = np.linalg.eigh(problem.X_true)
    k = int(np.sum(w > 1e-12 * w.max()))
    F = V[:, -k:] * np.sqrt(w[-k:]) if optimal else np.zeros((problem.n, k))
    for r in runs:
        r.x = F.copy() if r.method == "BM" else (F.copy(), np.ones(k))
        r.X = F @ F.T
    return runs
