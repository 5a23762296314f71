r"""Baselines for the weighted instances of paper 003: the convex relaxation, and rank
over-parametrisation against the high-order loss (chapter ``high-order-losses/baselines``).

Local search is plain GD (:func:`bmlab.solvers.gd.gradient_descent`) with a fixed budget of
iterations for every method ("equal compute" in iterations; one iteration of rank ``r`` costs
:math:`O(n^2 r)` flops on the entry-wise operator). A run *succeeds* when
:math:`\|XX^\top - M^*\|_F \le` ``success_tol`` :math:`\cdot\|M^*\|_F` at the end.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..problems.sensing import yalcin_instance
from ..sdp.core import numerical_rank, relative_error
from ..sdp.sensing import sensing_sdp
from ..solvers.gd import gradient_descent


def sdp_table(ns, eps: float, *, solver: str = "CLARABEL") -> pd.DataFrame:
    """Both convex baselines on the weighted instance for every ``n``."""
    rows = []
    for n in ns:
        P = yalcin_instance(int(n), eps)
        for form in ("least_squares", "min_trace"):
            res = sensing_sdp(P.op, P.b, form=form, solver=solver)
            rows.append({"n": int(n), "form": form, "status": res.status,
                         "rel_error": relative_error(res.Z, P.M_star) if res.Z is not None else np.nan,
                         "rank": numerical_rank(res.Z) if res.Z is not None else -1,
                         "solve_time": res.solve_time, "iterations": res.num_iters})
    return pd.DataFrame(rows)


@dataclass
class LocalSearchParams:
    n: int = 7
    eps: float = 0.3
    step: float = 0.02
    max_iter: int = 3000
    init_scale: float = 0.5
    success_tol: float = 1e-2
    runs: int = 20


def local_search(p: LocalSearchParams, r: int, lam: float, rng: np.random.Generator) -> pd.DataFrame:
    """``p.runs`` GD runs of rank ``r`` on :math:`f^4_\\lambda` from :math:`X_0 = s G`
    (:math:`G` standard Gaussian, :math:`s` = ``init_scale``)."""
    P = yalcin_instance(p.n, p.eps, lam)
    nrm = float(np.linalg.norm(P.M_star))
    rows = []
    for k in range(p.runs):
        X0 = p.init_scale * rng.standard_normal((p.n, r))
        res = gradient_descent(P.grad, X0, step=p.step, max_iter=p.max_iter, tol=1e-12)
        D = P.distance(res.x) if res.status != "diverged" else np.inf
        rows.append({"r": r, "lam": lam, "run": k, "status": res.status, "D": D,
                     "success": bool(D <= p.success_tol * nrm)})
    return pd.DataFrame(rows)


def zhang_rank_bound(delta: float, r_star: int = 1) -> float:
    r"""Rank over-parametrisation guarantee recalled on the slides (Zhang 2022): every
    second-order point is global when :math:`r > r^*[(1+\delta)/(1-\delta) - 1]^2/4`."""
    return r_star * ((1 + delta) / (1 - delta) - 1) ** 2 / 4
