r"""Chapter "Far critical points are strict saddles (Theorem 3)"
(``book/high-order-losses/strict-saddles.md``).

Critical points of small rescaled instances (:mod:`bmlab.experiments.high_order_losses.common`) are enumerated by Newton
refinement from random starts, and condition (4) and bound (5) of Theorem 3 are evaluated at
each. The bound is tested separately at :math:`X = 0` (always critical, always satisfying (4))
and at the critical points away from :math:`X = 0`, where the claim states how many such
points it needs.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ...claims import Claim, at_least, claim, qualitative
from ...validation import check_int
from ..base import ExperimentParams
from .common import InstanceSpec, n_orbits, survey

__all__ = ["Params", "Result", "run", "claims", "glue_values", "summary_table",
           "bound_slack", "QUOTE3"]

QUOTE3 = ("Theorem 3: \"if it satisfies the inequality ‖X̂X̂ᵀ − M*‖²_F > 2(1+δ)/(1−δ) tr(M*) "
          "σ_r(X̂)² (4), then X̂ is not a second-order critical point and is a strict saddle "
          "point with ∇²f(X̂) having a strictly negative eigenvalue not larger than "
          "2(1+δ)σ_r(X̂)² − ‖X̂X̂ᵀ − M*‖²_F(1−δ)/tr(M*) (5)\"")

SPECS_ALL = (InstanceSpec("weighted", 5, 0.3), InstanceSpec("weighted", 7, 0.3),
             InstanceSpec("weighted", 5, 0.8), InstanceSpec("gaussian", 5, m=60, key=1),
             InstanceSpec("gaussian", 5, m=300, key=2), InstanceSpec("gaussian", 4, m=100, key=3))
ZERO_TOL = 1e-9
"""A critical point with σ_r below this is X = 0."""


@dataclass(frozen=True)
class Params(ExperimentParams):
    """``specs``: the instances; ``n_starts``: Newton starts per instance; ``min_far``: how
    many critical points away from X = 0 satisfying (4) the far-point claim needs."""

    specs: tuple = (SPECS_ALL[0], SPECS_ALL[2], SPECS_ALL[3])
    n_starts: int = 30
    min_far: int = 3

    PRESETS = {"quick": {"n_starts": 30, "specs": (SPECS_ALL[0], SPECS_ALL[2], SPECS_ALL[3])},
               "paper": {"n_starts": 200, "specs": SPECS_ALL}}

    def validate(self) -> None:
        if not self.specs or not all(isinstance(s, InstanceSpec) for s in self.specs):
            raise ValueError("specs must be a non-empty tuple of InstanceSpec")
        object.__setattr__(self, "specs", tuple(self.specs))
        check_int("n_starts", self.n_starts, lo=1)
        check_int("min_far", self.min_far, lo=1)


def bound_slack(df: pd.DataFrame, bound: str) -> np.ndarray:
    """(bound − λmin) divided by the absolute value of the bound, per row: ≥ 0 where the
    eigenvalue bound holds."""
    b = df[bound].to_numpy()
    return (b - df.lam_min.to_numpy()) / np.maximum(np.abs(b), 1e-300)


@dataclass
class Result:
    """``points``: every critical point found (columns of :func:`.common.critical_points`,
    plus ``far`` (σ_r > 0) and ``x`` = right side of (4) over D²: (4) holds iff x < 1)."""

    params: Params
    points: pd.DataFrame

    @property
    def cond4(self) -> pd.DataFrame:
        return self.points[self.points.cond4]

    @property
    def far4(self) -> pd.DataFrame:
        """Critical points away from X = 0 satisfying (4)."""
        return self.points[self.points.cond4 & self.points.far]

    @property
    def zero(self) -> pd.DataFrame:
        return self.points[~self.points.far]

    @property
    def spurious(self) -> pd.DataFrame:
        return self.points[self.points.type == "spurious min"]


def run(params: Params, rng_factory) -> Result:
    """Enumerate and evaluate; ``rng_factory(key)`` gives the generator of each draw."""
    df = survey(params.specs, [0.0], rng_factory, n_starts=params.n_starts)
    df["far"] = df.sigma_r > ZERO_TOL
    df["x"] = np.where(df.D > 0, 2 * (1 + df.delta) / (1 - df.delta) * df.tr * df.sigma_r ** 2
                       / np.maximum(df.D, 1e-300) ** 2, np.inf)
    return Result(params, df)


def claims(result: Result) -> list[Claim]:
    """Pre-registered claims (identical thresholds in both profiles)."""
    p = result.params
    far, zero, sp = result.far4, result.zero, result.spurious
    s_far, s_zero = bound_slack(far, "bound5"), bound_slack(zero, "bound5")
    m_far = float(s_far.min()) if len(far) else -1.0
    n_far, n_sp = n_orbits(far), n_orbits(sp)
    return [
        claim("hol.thm3.bound_far",
              f"At every enumerated critical point X̂ ≠ 0 satisfying (4), λmin(∇²f(X̂)) ≤ bound "
              f"(5); samples: the {n_far} distinct points modulo each instance's symmetry "
              f"(support permutations, sign; {len(far)} images found), at least {p.min_far} "
              "needed (margin: smallest (bound − λmin)/|bound|)",
              qualitative(bool(len(far)) and m_far >= 0, ours=m_far,
                          margin=m_far if m_far != 0 else None, samples=n_far,
                          min_samples=p.min_far, relation="λmin ≤ bound (5) at every far point"),
              kind="paper", quote=QUOTE3),
        claim("hol.thm3.bound_at_zero",
              "At X = 0 of every instance, λmin(∇²f(0)) ≤ bound (5) = −(1−δ)‖M*‖²_F/tr(M*) "
              "(margin: smallest (bound − λmin)/|bound|). An identity, not a test of Theorem 3: "
              "λmin(∇²f(0)) = −2λmax(A*A(M*)) ≤ −2‖A(M*)‖²/tr(M*) ≤ −2(1−δ)‖M*‖²_F/tr(M*) = "
              "2·bound (5) for every valid δ, so the slack is at least 1 by construction",
              at_least(s_zero, 0.0, scale=1.0), kind="check"),
        claim("hol.thm3.no_far_spurious",
              "No spurious local minimum found satisfies (4): each has x = 2(1+δ)/(1−δ) tr(M*) "
              "σ_r² / D² ≥ 1 (margin (x − 1)/x); samples: the "
              f"{n_sp} distinct spurious minima modulo each instance's symmetry ({len(sp)} "
              "images found), at least one needed",
              qualitative(bool(len(sp)) and bool((sp.x >= 1).all()),
                          ours=float(sp.x.min()) if len(sp) else None,
                          margin=float((sp.x.min() - 1) / sp.x.min()) if len(sp) else None,
                          samples=n_sp, min_samples=1,
                          relation="x ≥ 1 at every spurious minimum"),
              kind="paper", quote=QUOTE3),
    ]


def summary_table(result: Result) -> pd.DataFrame:
    df = result.points
    t = df.groupby("instance", sort=False).agg(
        δ=("delta", "first"), points=("D", "size"),
        strict_saddles=("type", lambda s: int((s == "strict saddle").sum())),
        spurious_minima=("type", lambda s: int((s == "spurious min").sum())),
        satisfy_4=("cond4", "sum"),
        satisfy_4_away_from_0=("cond4", lambda s: int((s & df.loc[s.index, "far"]).sum())),
        max_residual=("grad_norm", "max")).reset_index()
    t["δ"] = t["δ"].round(3)
    return t


def glue_values(result: Result) -> dict:
    df, c4, sp = result.points, result.cond4, result.spurious
    e03 = df[df.instance.str.contains("ε=0.3")]
    far = result.far4
    return {"n_starts": result.params.n_starts, "n4": int(len(c4)), "n_points": int(len(df)),
            "n4_far": int(len(far)), "n4_far_orbits": n_orbits(far),
            "n_spurious_orbits": n_orbits(sp),
            "slack": float((c4.bound5 - c4.lam_min).min()),
            "slack_far_rel": float(bound_slack(far, "bound5").min()) if len(far) else float("nan"),
            "n_spurious": int(len(sp)), "eps03_cond4": int(e03.cond4.sum()),
            "eps03_saddles": int((e03.type == "strict saddle").sum()),
            "sp_xmin": float(sp.x.min()) if len(sp) else float("nan")}
