r"""Chapter ``exact-penalty/setting-biconvexity``: Proposition 1 of paper 000 on four instance
families -- block and joint Hessian spectra of :math:`F_\lambda` at random points, and the lifting
of critical points of (3) to critical points of (5) for every :math:`\lambda`.

Every claim of this chapter checks an identity (the block Hessian is the Hessian of a convex
function plus :math:`(\lambda + \mu/2)I`; :math:`\nabla_X F_\lambda(X, X) = \tfrac12\nabla h(X)`),
so they are ``check`` claims, except that the joint Hessian is indefinite, which is a finding
(``extension``).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from ...claims import Claim, all_of, at_least, claim, close
from ...validation import check_int, check_real
from ..base import ExperimentParams
from .common import FAMILIES, biconvexity_check, lifting_check, make_family, symmetric_critical_point

__all__ = ["Params", "Result", "run", "claims", "glue_values", "tables", "BLOCK_TOL", "JOINT_TOL"]

BLOCK_TOL = 1e-9
"""Rounding allowance of the block-Hessian check (absolute, eigenvalues of size ~1)."""
JOINT_TOL = 1e-10
"""A joint Hessian counts as indefinite when its smallest eigenvalue is below ``-JOINT_TOL``."""


@dataclass(frozen=True)
class Params(ExperimentParams):
    n: int = 8
    r: int = 2
    mu: float = 0.5
    n_points: int = 8
    n_lams: int = 6
    PRESETS: ClassVar[dict[str, dict[str, Any]]] = {
        "quick": {"n_points": 8, "n_lams": 6},
        "paper": {"n_points": 60, "n_lams": 11},
    }

    def validate(self) -> None:
        check_int("n", self.n, lo=2)
        check_int("r", self.r, lo=1, hi=self.n)
        check_real("mu", self.mu, lo=0, lo_open=True)
        check_int("n_points", self.n_points, lo=2)
        check_int("n_lams", self.n_lams, lo=2)

    @property
    def lams(self) -> np.ndarray:
        return np.logspace(-3, 2, self.n_lams)


@dataclass
class Result:
    params: Params
    checks: dict
    lifts: dict
    gd: dict                      # family -> {"status", "iterations"}
    summary: pd.DataFrame = field(default=None)


def run(params: Params, rng: np.random.Generator) -> Result:
    """Draw one instance per family, check the Hessians at random points and lift a critical
    point of (3) found by (projected) gradient descent."""
    seeds = rng.spawn(3 * len(FAMILIES))
    checks, lifts, gd = {}, {}, {}
    for i, fam in enumerate(FAMILIES):
        prob = make_family(fam, seeds[3 * i], n=params.n, r=params.r, mu=params.mu)
        checks[fam] = biconvexity_check(prob, params.lams, params.n_points, seeds[3 * i + 1])
        res = symmetric_critical_point(prob, seeds[3 * i + 2])
        gd[fam] = {"status": res.status, "iterations": res.n_iter}
        lifts[fam] = lifting_check(prob, res.x, params.lams)
    return Result(params, checks, lifts, gd, summarize(checks, lifts, gd))


def summarize(checks: dict, lifts: dict, gd: dict) -> pd.DataFrame:
    rows = []
    for fam, d in checks.items():
        rows.append({"family": fam, "points": len(d),
                     "min block eig - (lam + mu/2)":
                         float((np.minimum(d["lmin_XX"], d["lmin_YY"]) - d["lam"] - d["mu"] / 2).min()),
                     "points with joint eig < 0": int((d["lmin_joint"] < -JOINT_TOL).sum()),
                     "share with joint eig < 0": float((d["lmin_joint"] < -JOINT_TOL).mean()),
                     "max |F(X,X) - h(X)|": float(d["lift_err"].max()),
                     "GD status": gd[fam]["status"], "GD iterations": gd[fam]["iterations"],
                     "KKT (3) at X*": float(lifts[fam]["kkt_sym"].iloc[0]),
                     "max KKT (5) at (X*,X*)": float(lifts[fam]["kkt_split"].max())})
    return pd.DataFrame(rows)


def tables(result: Result) -> dict[str, pd.DataFrame]:
    s = result.summary
    return {"tab-biconvexity": s.assign(**{c: s[c].map("{:.2e}".format) for c in
            ["min block eig - (lam + mu/2)", "max |F(X,X) - h(X)|", "KKT (3) at X*",
             "max KKT (5) at (X*,X*)"]})}


def glue_values(result: Result) -> dict:
    s, lams = result.summary, result.params.lams
    return {"n_pts": result.params.n_points, "n_lams": len(lams), "lam_lo": float(lams[0]),
            "lam_hi": float(lams[-1]), "min_margin": float(s["min block eig - (lam + mu/2)"].min()),
            "min_joint_share": float(s["share with joint eig < 0"].min()),
            "max_lift": float(s["max |F(X,X) - h(X)|"].max()),
            "max_kkt5": float(s["max KKT (5) at (X*,X*)"].max())}


def claims(result: Result) -> list[Claim]:
    """The chapter's pre-registered claims, decided from ``result`` alone (see :mod:`bmlab.claims`)."""
    s = result.summary
    n_per = int(s["points"].min())
    conv = int(sum(v["status"] == "converged" for v in result.gd.values()))
    return [
        claim("setting.block_strongly_convex",
              "Proposition 1: each block Hessian of F_lambda has smallest eigenvalue >= lambda + mu/2 "
              "(to a rounding allowance of 1e-9) at every random point of every family; an identity "
              "of the Hessian code (the penalty adds lambda I to a convex block)",
              at_least(s["min block eig - (lam + mu/2)"].to_numpy(), -BLOCK_TOL, scale=BLOCK_TOL),
              kind="check"),
        claim("setting.not_jointly_convex",
              "F_lambda is biconvex but not jointly convex: in every family the joint Hessian is "
              "indefinite (smallest eigenvalue < -1e-10) at one random point at least",
              at_least(s["points with joint eig < 0"].to_numpy(), 0.5, scale=n_per),
              kind="extension"),
        claim("setting.lift_identity", "F_lambda(X, X) = h(X) (weight 1/2 on each copy of g): an "
              "algebraic identity, checked to 1e-10",
              close(float(s["max |F(X,X) - h(X)|"].max()), 0.0, tol=1e-10), kind="check"),
        claim("setting.symmetric_points_lift",
              "A critical point X* of (3) found by gradient descent (every family converged) gives "
              "(X*, X*) with KKT residual of (5) <= 1e-9 for every lambda on the grid (the identity "
              "grad_X F(X, X) = grad h(X)/2)",
              all_of(at_least(conv, len(result.gd) - 0.5, scale=len(result.gd)),
                     close(float(s["max KKT (5) at (X*,X*)"].max()), 0.0, tol=1e-9)),
              kind="check"),
    ]
