r"""Helpers for the scalar toys of paper 000 §4 (spec 000 §4, §5), shared by the toy chapters
and Corollary 2.

* :func:`run_strategies`: the four penalty strategies (AMagd, AMadp, AMpca, AMour) from one
  start, on any scalar toy; :func:`strategy_table` summarises the outcomes.
* :func:`fixed_lambda_sweep`: AM with a fixed penalty over a grid of :math:`\lambda`.
* :func:`bisect_threshold`: the empirical exactness threshold, by bisection on the outcome
  "AM ends at the symmetric solution" (:func:`is_exact`).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ...factorizations.penalty import (AccuracyPenalty, AdaptivePenalty, AlgorithmDependentPenalty,
                                       ExactPenalty)
from ...problems.scalar_toys import as_factor
from ...solvers.alternating import alternating_minimization
from ...solvers.base import SolverResult

__all__ = [
    "StrategyParams", "run_strategies", "strategy_table", "is_exact", "fixed_lambda_sweep",
    "Threshold", "bisect_threshold",
    "STRATEGIES",
]

STRATEGIES = ("AMagd", "AMadp", "AMpca", "AMour")


@dataclass
class StrategyParams:
    r"""Settings of the strategy comparison (RECON: the paper's values are not recovered).

    Attributes
    ----------
    x0, y0 : float
        Common start (spec 000 §4 simulates :math:`x^0 = 1, y^0 = -2`).
    lam0_small : float
        First penalty of AMagd and AMadp (the paper: "a very small initial" value).
    lam0_large : float
        First penalty of AMpca and AMour; ``0`` means the AMpca value
        :math:`1/|x^0 - y^0|` (the rule applied to the start).
    eps : float
        Margin :math:`\varepsilon` of AMour, rule (17)/(21).
    rho : float
        Growth factor of AMadp.
    agd_margin : float
        Margin added to the Hu–Kwok value :math:`\tfrac14(L - \sigma)_+` by AMagd.
    pca_cap : float
        Cap :math:`\lambda_{\max}` of AMpca.
    max_iter, tol, blowup
        Passed to :func:`~bmlab.solvers.alternating.alternating_minimization`.
    """

    x0: float = 1.0
    y0: float = -2.0
    lam0_small: float = 1e-3
    lam0_large: float = 0.0
    eps: float = 0.1
    rho: float = 1.05
    agd_margin: float = 0.0
    pca_cap: float = 1e16
    max_iter: int = 500
    tol: float = 1e-10
    blowup: float = 1e100

    def rules(self):
        """``{name: (rule, lam0)}`` for the four strategies."""
        lam_large = self.lam0_large or 1.0 / abs(self.x0 - self.y0)
        return {
            "AMagd": (AlgorithmDependentPenalty(margin=self.agd_margin), self.lam0_small),
            "AMadp": (AdaptivePenalty(rho=self.rho), self.lam0_small),
            "AMpca": (AccuracyPenalty(lam_max=self.pca_cap), lam_large),
            "AMour": (ExactPenalty(eps=self.eps), lam_large),
        }


def run_strategies(problem, params: StrategyParams, *, check_decrease: bool = False
                   ) -> dict[str, SolverResult]:
    """Run AM under each of the four strategies from ``(params.x0, params.y0)``."""
    out = {}
    for name, (rule, lam0) in params.rules().items():
        out[name] = alternating_minimization(
            problem, as_factor(params.x0), as_factor(params.y0), penalty=rule, lam0=lam0,
            max_iter=params.max_iter, tol=params.tol, blowup=params.blowup,
            check_decrease=check_decrease)
    return out


def is_exact(result: SolverResult, problem, *, atol: float = 1e-6) -> bool:
    r"""True when the run converged to the symmetric solution: status ``converged``,
    :math:`|x - x^\star| \le` ``atol`` and :math:`|y - x^\star| \le` ``atol``."""
    if result.status != "converged":
        return False
    X, Y = result.x
    return bool(abs(X[0, 0] - problem.x_star) <= atol and abs(Y[0, 0] - problem.x_star) <= atol)


def strategy_table(results: dict[str, SolverResult], problem) -> pd.DataFrame:
    """One row per strategy: status, sweeps, final iterate, gap, penalty, exactness."""
    rows = []
    for name, res in results.items():
        X, Y = res.x
        rows.append({
            "method": name,
            "lambda_0": res.history["lam"][0],
            "status": res.status,
            "sweeps": res.n_iter,
            "x_final": float(X[0, 0]),
            "y_final": float(Y[0, 0]),
            "|x-y|": abs(float(X[0, 0] - Y[0, 0])),
            "lambda_final": res.history["lam"][-1],
            "reaches x*": is_exact(res, problem),
            "message": res.message,
        })
    return pd.DataFrame(rows)


def fixed_lambda_sweep(problem, lams, *, x0: float, y0: float, max_iter: int, tol: float = 1e-10,
                       blowup: float = 1e100) -> pd.DataFrame:
    """AM with a fixed penalty for each ``lam`` in ``lams``; one row per run."""
    rows = []
    for lam in np.asarray(lams, dtype=float):
        res = alternating_minimization(problem, as_factor(x0), as_factor(y0), penalty=float(lam),
                                       max_iter=max_iter, tol=tol, blowup=blowup,
                                       record_every=max(1, max_iter // 100))
        X, Y = res.x
        rows.append({"lam": lam, "status": res.status, "sweeps": res.n_iter,
                     "x": float(X[0, 0]), "y": float(Y[0, 0]),
                     "gap": abs(float(X[0, 0] - Y[0, 0])), "exact": is_exact(res, problem)})
    return pd.DataFrame(rows)


@dataclass
class Threshold:
    """Result of :func:`bisect_threshold`.

    ``threshold`` is the midpoint of the final bracket ``[lo, hi]`` (``lo`` not exact, ``hi``
    exact); ``runs`` lists ``(lam, exact, status, sweeps)`` of every evaluation.
    """

    threshold: float
    lo: float
    hi: float
    runs: list = field(default_factory=list)

    @property
    def n_runs(self) -> int:
        return len(self.runs)


def bisect_threshold(problem, lo: float, hi: float, *, x0: float, y0: float, max_iter: int,
                     tol: float = 1e-10, rtol: float = 1e-5, blowup: float = 1e100) -> Threshold:
    r"""Bisection on the outcome "AM with fixed :math:`\lambda` ends at the symmetric solution".

    ``lo`` must give a non-exact run and ``hi`` an exact one (checked; ``ValueError``
    otherwise). Stops when ``hi - lo <= rtol * hi``. A finite ``max_iter`` biases the threshold
    upwards: runs just above the true threshold contract too slowly to reach ``tol``.
    """
    if not 0 < lo < hi:
        raise ValueError(f"need 0 < lo < hi, got lo={lo!r}, hi={hi!r}")
    runs = []

    def outcome(lam):
        res = alternating_minimization(problem, as_factor(x0), as_factor(y0), penalty=lam,
                                       max_iter=max_iter, tol=tol, blowup=blowup,
                                       record_every=max(1, max_iter // 100))
        ok = is_exact(res, problem)
        runs.append((lam, ok, res.status, res.n_iter))
        return ok

    if outcome(lo):
        raise ValueError(f"lo={lo:g} already gives an exact run; lower it")
    if not outcome(hi):
        raise ValueError(f"hi={hi:g} does not give an exact run; raise it or max_iter")
    while hi - lo > rtol * hi:
        mid = 0.5 * (lo + hi)
        if outcome(mid):
            hi = mid
        else:
            lo = mid
    return Threshold(threshold=0.5 * (lo + hi), lo=lo, hi=hi, runs=runs)


# ---------------------------------------------------------------------------------------------
# figures
# ---------------------------------------------------------------------------------------------
