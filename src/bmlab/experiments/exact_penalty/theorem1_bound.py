r"""Theorem 1 of paper 000 on instance families: critical points from random starts, inequality
(9) and bound (10) at each, and the empirical exactness threshold (spec 000 §2).

A *run* is fixed-:math:`\lambda` AM (:func:`bmlab.solvers.alternating.alternating_minimization`)
from an independent random pair :math:`(X^0, Y^0)`; a converged run ends at a critical point of
(5) (KKT residual below ``tol``). At each limit we record

* ``asym``: whether :math:`\|X - Y\|_F > 10^{-6}\max(1, \|X\|_F)`;
* ``bound``: :math:`b = \tfrac12\lambda_{\max}(\operatorname{sym}\nabla f(XY^\top)) - \mu/4`, bound
  (10) at that point; Theorem 1 says an asymmetric limit has :math:`\lambda \le b`;
* the sides of (9) and their slack.
"""
from __future__ import annotations

import time

import numpy as np
import pandas as pd

from ..bounds.exact_penalty import inequality9, theorem1_bound
from ..factorizations.asymmetric import kkt_residual, symmetric_value
from ..problems.quadratic import sensing_instance
from ..problems.snmf import SymmetricNMF, random_indefinite_nonneg, random_psd_nonneg
from ..solvers.alternating import alternating_minimization
from .exact_penalty_theory import random_point

__all__ = ["THEOREM1_FAMILIES", "make_theorem1_family", "critical_point_runs", "summarize_family",
           "plot_theorem1", "asym_threshold"]

#: Families of the Theorem 1 chapter.
THEOREM1_FAMILIES = ("snmf-psd", "snmf-indefinite", "sensing", "sensing-ridge")


def make_theorem1_family(name: str, rng: np.random.Generator, *, n: int = 8, r: int = 2,
                         mu: float = 0.2):
    r"""An instance of a Theorem 1 family. The sensing families measure an *indefinite* truth
    :math:`M^* = u_1u_1^\top - u_2u_2^\top` (plus a PSD part of rank :math:`r - 1`) with
    :math:`m = 4n^2` measurements, so that asymmetric critical points exist for small
    :math:`\lambda` (with a PSD truth they are rare)."""
    if name == "snmf-psd":
        return SymmetricNMF(random_psd_nonneg(n, r, rng), r)
    if name == "snmf-indefinite":
        return SymmetricNMF(random_indefinite_nonneg(n, rng), r)
    if name in ("sensing", "sensing-ridge"):
        signs = np.r_[np.ones(r), -1.0]
        return sensing_instance(n, r, 4 * n * n, rng, r_true=r + 1, signs=signs,
                                mu=mu if name == "sensing-ridge" else 0.0)[0]
    raise ValueError(f"family must be one of {THEOREM1_FAMILIES}, got {name!r}")


def critical_point_runs(problem, lams, n_starts: int, rng: np.random.Generator, *,
                        max_iter: int = 5000, tol: float = 1e-9, block: str = "exact",
                        keep: bool = False) -> pd.DataFrame:
    """Run fixed-lambda AM from ``n_starts`` random asymmetric starts for each ``lam``; one row
    per run (see the module docstring). ``keep=True`` adds the limit ``(X, Y)`` in column ``XY``."""
    rows = []
    mu = problem.reg.mu
    for lam in np.asarray(lams, dtype=float):
        for s in range(n_starts):
            X0, Y0 = random_point(problem, rng), random_point(problem, rng)
            t0 = time.perf_counter()
            res = alternating_minimization(problem, X0, Y0, penalty=float(lam), max_iter=max_iter,
                                           tol=tol, block=block, record_every=max_iter)
            wall = time.perf_counter() - t0
            X, Y = res.x
            G = problem.grad_f(X @ Y.T)
            ineq = inequality9(problem, X, Y, lam)
            dn = ineq["D_norm"]
            res_norm = kkt_residual(problem, X, Y, lam)
            row = {
                "lam": lam, "start": s, "status": res.status, "sweeps": res.n_iter, "time": wall,
                "residual": res_norm, "gap": dn,
                "asym": bool(dn > 1e-6 * max(1.0, np.linalg.norm(X))),
                "bound": theorem1_bound(G, mu),
                "lhs9": ineq["lhs"], "mid9": ineq["mid"], "rhs9": ineq["rhs"],
                # inequality (9) holds at exact critical points; allow the residual's effect
                "slack_tol9": 10 * res_norm * (1 + dn) + 1e-10,
                "h_mid": symmetric_value(problem, 0.5 * (X + Y)),
            }
            if keep:
                row["XY"] = (X, Y)
            rows.append(row)
    return pd.DataFrame(rows)


def asym_threshold(df: pd.DataFrame) -> float:
    """Largest lambda at which a converged run ended asymmetric (0 if none)."""
    a = df[(df["status"] == "converged") & df["asym"]]
    return float(a["lam"].max()) if len(a) else 0.0


def summarize_family(df: pd.DataFrame) -> dict:
    r"""Theorem 1 bookkeeping over the converged runs of one instance:

    ``n_conv``, ``n_asym``; ``thm1_violations`` (asymmetric limits with :math:`\lambda > b`
    beyond the slack that the KKT residual allows, ``slack_tol9`` / (2 ``gap``:sup:`2`));
    ``ineq9_violations``; ``lam_emp`` the empirical threshold (:func:`asym_threshold`);
    ``bound_cert`` the largest :math:`b` among asymmetric limits at ``lam_emp``;
    ``bound_sup`` the largest :math:`b` over all converged limits;
    ``ratio_cert = lam_emp / bound_cert`` and ``ratio_sup = lam_emp / bound_sup`` (both
    :math:`\le 1` by Theorem 1; nan/0 when no asymmetric limit was found);
    ``max_lam_over_b`` the largest :math:`\lambda / b` over asymmetric limits (1 when (10) is
    attained).
    """
    c = df[df["status"] == "converged"]
    a = c[c["asym"]]
    # at an approximate critical point (KKT residual res) inequality (9) holds up to the slack
    # ``slack_tol9``; divided by 2 ||D||^2 it is the matching slack on lambda <= b
    viol = a[a["lam"] > a["bound"] + a["slack_tol9"] / (2 * a["gap"] ** 2)]
    tol = c["slack_tol9"]
    iv = c[(c["lhs9"] > c["mid9"] + tol) | (c["mid9"] > c["rhs9"] + tol)]
    lam_emp = asym_threshold(df)
    at = a[a["lam"] == lam_emp]
    bound_cert = float(at["bound"].max()) if len(at) else float("nan")
    bound_sup = float(c["bound"].max()) if len(c) else float("nan")
    return {
        "n_runs": len(df), "n_conv": len(c), "n_asym": len(a),
        "thm1_violations": len(viol), "ineq9_violations": len(iv),
        "lam_emp": lam_emp, "bound_cert": bound_cert, "bound_sup": bound_sup,
        "ratio_cert": lam_emp / bound_cert if len(at) else float("nan"),
        "max_lam_over_b": float((a["lam"] / a["bound"]).max()) if len(a) else float("nan"),
        "ratio_sup": lam_emp / bound_sup if bound_sup > 0 else float("nan"),
    }
