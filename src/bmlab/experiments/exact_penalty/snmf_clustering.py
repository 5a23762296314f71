r"""Symmetric NMF clustering of scikit-learn's bundled digits (offline) with the exact-penalty
split, against scikit-learn's NMF and spectral clustering (paper 000, application)."""
from __future__ import annotations

import time

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment

from ...bounds.exact_penalty import corollary1_bound12
from ...problems.snmf import SymmetricNMF
from ...solvers.alternating import ExactPenalty, FixedPenalty, alternating_minimization

__all__ = ["clustering_accuracy", "kuang_start", "run_clustering"]


def clustering_accuracy(labels, pred) -> float:
    """Accuracy after the best one-to-one matching of clusters to classes (Hungarian)."""
    labels, pred = np.asarray(labels), np.asarray(pred)
    cls, clu = np.unique(labels), np.unique(pred)
    C = np.zeros((len(clu), len(cls)))
    for i, c in enumerate(clu):
        for j, k in enumerate(cls):
            C[i, j] = np.sum((pred == c) & (labels == k))
    ri, ci = linear_sum_assignment(-C)
    return float(C[ri, ci].sum() / len(labels))


def kuang_start(M: np.ndarray, r: int, rng: np.random.Generator) -> np.ndarray:
    r"""The usual sNMF start :math:`X^0 = 2\sqrt{\bar m / r}\,U`, :math:`U` uniform on [0, 1],
    :math:`\bar m` the mean entry of :math:`M` (Kuang et al.)."""
    return 2.0 * np.sqrt(M.mean() / r) * rng.uniform(size=(M.shape[0], r))


def run_clustering(M: np.ndarray, labels, r: int, rng: np.random.Generator, *, n_starts: int = 3,
                   max_iter: int = 2000, tol: float = 1e-6, eps: float = 0.01,
                   exact_am: bool = False) -> pd.DataFrame:
    r"""One row per (method, start): clustering accuracy, NMI, objective
    :math:`\tfrac12\|M - XY^\top\|_F^2` (NMF: :math:`\tfrac12\|M - WH\|_F^2`), wall time,
    status, iterations and final relative :math:`\|X - Y\|_F`.

    Methods: HAM with rule (17) (AMour), HAM with the fixed start bound 1.01 × (12), AM with
    rule (17) if ``exact_am``, scikit-learn's ``NMF`` on :math:`M` and ``SpectralClustering``
    with :math:`M` as precomputed affinity. The tolerance is relative to :math:`\|M\|_F`.
    """
    from sklearn.cluster import SpectralClustering
    from sklearn.decomposition import NMF
    from sklearn.metrics import normalized_mutual_info_score

    prob = SymmetricNMF(M, r)
    scale = float(np.linalg.norm(M))
    rows = []
    for s in range(n_starts):
        X0 = kuang_start(M, r, rng)
        b12 = corollary1_bound12(prob.f(X0 @ X0.T), 0.0, 1.0)
        runs = [("HAM AMour", ExactPenalty(eps=eps), "columns"),
                ("HAM fixed (12)", FixedPenalty(1.01 * b12), "columns")]
        if exact_am:
            runs.append(("AM AMour", ExactPenalty(eps=eps), "exact"))
        for name, rule, block in runs:
            t0 = time.perf_counter()
            res = alternating_minimization(prob, X0, X0, penalty=rule, lam0=1.01 * b12, max_iter=max_iter,
                                           tol=tol * scale, block=block, record_every=10)
            wall = time.perf_counter() - t0
            X, Y = res.x
            pred = np.argmax(X, axis=1)
            rows.append({"method": name, "start": s, "accuracy": clustering_accuracy(labels, pred),
                         "NMI": normalized_mutual_info_score(labels, pred),
                         "objective": prob.f(X @ Y.T), "time [s]": wall, "status": res.status,
                         "iterations": res.n_iter,
                         "|X-Y| (rel)": float(np.linalg.norm(X - Y) / max(1.0, np.linalg.norm(X))),
                         "X": X})
        seed = int(rng.integers(2**31))
        t0 = time.perf_counter()
        nmf = NMF(n_components=r, init="random", random_state=seed, max_iter=max_iter, tol=1e-6)
        W = nmf.fit_transform(M)
        wall = time.perf_counter() - t0
        pred = np.argmax(W, axis=1)
        R = M - W @ nmf.components_
        rows.append({"method": "sklearn NMF", "start": s, "accuracy": clustering_accuracy(labels, pred),
                     "NMI": normalized_mutual_info_score(labels, pred), "objective": 0.5 * float(np.vdot(R, R)),
                     "time [s]": wall, "status": "converged" if nmf.n_iter_ < max_iter else "max_iter",
                     "iterations": nmf.n_iter_, "|X-Y| (rel)": np.nan, "X": None})
        t0 = time.perf_counter()
        pred = SpectralClustering(n_clusters=r, affinity="precomputed", random_state=seed).fit_predict(M)
        wall = time.perf_counter() - t0
        rows.append({"method": "spectral", "start": s, "accuracy": clustering_accuracy(labels, pred),
                     "NMI": normalized_mutual_info_score(labels, pred), "objective": np.nan,
                     "time [s]": wall, "status": "n/a", "iterations": np.nan, "|X-Y| (rel)": np.nan,
                     "X": None})
    return pd.DataFrame(rows)
