r"""Algorithm comparison for paper 000 (spec 000 §3): AM and HAM under the penalty rules, and the
nADMM baseline, on sNMF instances."""
from __future__ import annotations

import time

import numpy as np
import pandas as pd

from ...bounds.exact_penalty import corollary1_bound12
from ...factorizations.asymmetric import symmetric_kkt_residual, symmetric_value
from ...solvers.alternating import (AccuracyPenalty, AdaptivePenalty, AlgorithmDependentPenalty,
                                   ExactPenalty, FixedPenalty, alternating_minimization,
                                   nonconvex_admm)

__all__ = ["rule_set", "compare_algorithms"]


def rule_set(lam_start: float, *, lam0_small: float = 1e-3, eps: float = 0.01, rho: float = 1.05,
             pca_cap: float = 1e4) -> dict:
    """``{label: (rule, lam0)}``: fixed (12), AMagd, AMadp, AMpca, AMour (aggressive and
    conservative); ``lam_start`` is the fixed penalty and the first one of AMpca/AMour."""
    return {
        "fixed (12)": (FixedPenalty(lam_start), None),
        "AMagd": (AlgorithmDependentPenalty(), lam0_small),
        "AMadp": (AdaptivePenalty(rho=rho), lam0_small),
        "AMpca": (AccuracyPenalty(lam_max=pca_cap), lam_start),
        "AMour": (ExactPenalty(eps=eps), lam_start),
        "AMour (cons.)": (ExactPenalty(eps=eps, mode="conservative"), lam_start),
    }


def compare_algorithms(problem, X0, *, rhos=(0.01, 0.1, 1.0, 10.0), max_iter: int = 2000,
                       tol: float = 1e-8, eps: float = 0.01) -> tuple[pd.DataFrame, dict]:
    r"""Run AM and HAM under every rule of :func:`rule_set` and nADMM for each ``rho``, all from
    :math:`X^0 = Y^0`. Returns a table (one row per run) and ``{label: SolverResult}``.
    ``h - h_best`` compares the symmetric objective at :math:`(X + Y)/2` with the best of all
    runs; ``min decrease margin`` is Theorem 2's sufficient-decrease margin (minimum over
    sweeps)."""
    b12 = corollary1_bound12(problem.f(X0 @ X0.T), 0.0, problem.L, mu=problem.reg.mu)
    rows, results = [], {}
    for label, (rule, lam0) in rule_set(1.01 * b12, eps=eps).items():
        for block, bname in [("exact", "AM"), ("columns", "HAM")]:
            t0 = time.perf_counter()
            res = alternating_minimization(problem, X0, X0, penalty=rule, lam0=lam0, max_iter=max_iter,
                                           tol=tol, block=block, check_decrease=True)
            wall = time.perf_counter() - t0
            results[f"{bname} {label}"] = res
            rows.append({"method": bname, "rule": label, "status": res.status, "iterations": res.n_iter,
                         "time [s]": wall, "final lambda": float(res.history["lam"][-1]),
                         "min decrease margin": float(np.nanmin(res.history["decrease_margin"][1:]))
                         if res.n_iter else np.nan, "res": res})
    for rho in rhos:
        t0 = time.perf_counter()
        res = nonconvex_admm(problem, X0, X0, rho=rho, max_iter=max_iter, tol=tol)
        wall = time.perf_counter() - t0
        results[f"nADMM rho={rho:g}"] = res
        rows.append({"method": "nADMM", "rule": f"rho={rho:g}", "status": res.status,
                     "iterations": res.n_iter, "time [s]": wall, "final lambda": rho,
                     "min decrease margin": np.nan, "res": res})
    for row in rows:
        X, Y = row.pop("res").x
        W = 0.5 * (X + Y)
        row["final |X-Y| (rel)"] = float(np.linalg.norm(X - Y)) / max(1.0, float(np.linalg.norm(X)))
        row["h"] = symmetric_value(problem, W)
        row["KKT (3)"] = symmetric_kkt_residual(problem, W)
    df = pd.DataFrame(rows)
    df["h - h_best"] = df["h"] - df["h"].min()
    return df, results
