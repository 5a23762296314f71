r"""Chapter ``exact-penalty/toy-dynamic-penalty``: toy 4.2 of paper 000,
:math:`\min_{x\ge0}\tfrac12(x^2 - m)^2`, where every penalty is exact and the question is how
fast AM gets to :math:`\sqrt m` under each penalty rule.

AMadp (Li et al.'s rule (7)) is run in two readings:

* **max-type** (spec 000 §3, the reading consistent with the seed's description of (7), which
  "heuristically satisfies" the exactness condition and "can keep :math:`\gamma` far below the
  scale of :math:`m, x^2, y^2`"): :math:`\lambda_{k+1} = \max\{\lambda_k, \tfrac12(\|X^kY^{k\top}\|_2
  - \lambda_{\min}(M))\}` with :math:`M = m` here;
* **geometric** (the contrast): :math:`\lambda_{k+1} = \rho\lambda_k`.

The max-type rule is run from a pre-registered set of initial penalties :data:`ADP_LAM0S`;
the "very small" ones are those at most the paper's example value :math:`10^{-3}`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from ...claims import Claim, all_of, at_least, at_most, claim, compare, fraction, qualitative
from ...factorizations.penalty import (AccuracyPenalty, AdaptivePenalty, AlgorithmDependentPenalty,
                                       ExactPenalty)
from ...problems.scalar_toys import ShiftedSquareToy, as_factor
from ...solvers.alternating import alternating_minimization
from ...validation import check_int, check_real
from ..base import ExperimentParams
from .common import POINT_CERT_COLS, point_certificate, snmf_adp_target
from .toys import fixed_lambda_sweep, is_exact, strategy_table

__all__ = ["Params", "Result", "run", "claims", "glue_values", "tables", "snmf_adp_target",
           "ADP_LAM0S", "VERY_SMALL", "WRONG_TOL", "COMPARE_STARTS", "QUOTES"]

ADP_LAM0S = (1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0)
"""Initial penalties of the max-type AMadp runs (pre-registered)."""
VERY_SMALL = 1e-3
"""The paper's example of "a very small initial" penalty: the very small set is lam0 <= this."""
WRONG_TOL = 1e-2
"""A run ends at a *wrong point* when, after the sweep budget, max(|x - sqrt m|, |y - sqrt m|)
>= WRONG_TOL * sqrt(m) (1 % of the solution: well above a slow but correct run, well below the
frozen points (m / y0, y0))."""
SMALL_GAMMA = 1e-2
HUGE_LAM = 1e4
HUGE_BUDGET = 2000
"""The huge-penalty run of toy42.huge_lambda_crawls: lambda = HUGE_LAM with a budget of
HUGE_BUDGET sweeps in both profiles (the claim's verdict depends on the budget, so it is fixed)."""
""""Far below the scale of m": the final penalty is at most SMALL_GAMMA * m."""
CERT_TOL = 1e-6
"""Relative tolerance of the dual certificate of toy42.certificate (pre-registered)."""
COMPARE_STARTS = ((0.5, 0.2), (0.2, 0.5), (1.5, 0.3), (0.3, 2.0), (2.0, 1.0), (0.1, 0.8),
                  (3.0, 0.5), (0.7, 0.05))
"""Starts of the AMour-vs-AMpca comparison (pre-registered; the first is the chapter's)."""

QUOTES = {
    "fig2": "Figure 2 shows that AMour converges correctly and is faster than AMpca.",
    "wrong": "Although AMagd and AMadp converge in the plotted metrics, they do not recover the "
             "correct solution under this setup.",
    "adp": "AMadp: the adaptive rule (7) gives ... With a very small initial value, this update "
           "can keep far below the scale of , , and , which can lead to an incorrect limiting "
           "behavior.",
    "tiny": "If , then the updates may behave approximately as ... so the iteration may fail to "
            "move toward the correct solution.",
    "huge": "Conversely, if , then the contraction factors are smaller than one but close to one, "
            "which may make the convergence unnecessarily slow.",
}


@dataclass(frozen=True)
class Params(ExperimentParams):
    m: float = 1.0
    x0: float = 0.5
    y0: float = 0.2
    lam0_small: float = 1e-3
    eps: float = 0.5
    rho: float = 1.05
    pca_cap: float = 1e4
    max_iter: int = 2000
    n_grid: int = 21
    PRESETS: ClassVar[dict[str, dict[str, Any]]] = {
        "quick": {"max_iter": 2000, "n_grid": 21},
        "paper": {"max_iter": 5000, "n_grid": 61},
    }

    def validate(self) -> None:
        check_real("m", self.m, lo=0, lo_open=True)
        check_real("x0", self.x0, lo=0, lo_open=True)
        check_real("y0", self.y0, lo=0, lo_open=True)
        if self.x0 == self.y0:
            raise ValueError("x0 and y0 must differ (AMpca's first penalty is 1/|x0 - y0|)")
        check_real("lam0_small", self.lam0_small, lo=0, lo_open=True)
        check_real("eps", self.eps, lo=0, lo_open=True)
        check_real("rho", self.rho, lo=1, lo_open=True)
        check_real("pca_cap", self.pca_cap, lo=0, lo_open=True)
        check_int("max_iter", self.max_iter, lo=10)
        check_int("n_grid", self.n_grid, lo=3)

    def rules(self, x0: float | None = None, y0: float | None = None) -> dict:
        """``{name: (rule, lam0)}``: AMagd, AMadp (max-type), AMadp (geometric), AMpca, AMour."""
        x0, y0 = (self.x0, self.y0) if x0 is None else (x0, y0)
        lam_large = 1.0 / abs(x0 - y0)
        return {
            "AMagd": (AlgorithmDependentPenalty(), self.lam0_small),
            "AMadp": (AdaptivePenalty(rho=1.0, target=snmf_adp_target), self.lam0_small),
            "AMadp (geometric)": (AdaptivePenalty(rho=self.rho), self.lam0_small),
            "AMpca": (AccuracyPenalty(lam_max=self.pca_cap), lam_large),
            "AMour": (ExactPenalty(eps=self.eps), lam_large),
        }


@dataclass
class Result:
    params: Params
    x_star: float
    strategies: pd.DataFrame
    adp: pd.DataFrame             # one row per (reading, lam0)
    comparison: pd.DataFrame      # AMour vs AMpca over COMPARE_STARTS
    sweep: pd.DataFrame           # fixed-lambda grid
    runs: dict = field(default_factory=dict, repr=False)
    huge: dict = field(default_factory=dict)   # fixed lambda = HUGE_LAM, HUGE_BUDGET sweeps
    certs: pd.DataFrame = field(default_factory=pd.DataFrame)  # certificates of final points


def _am(toy, x0, y0, rule, lam0, p: Params):
    return alternating_minimization(toy, as_factor(x0), as_factor(y0), penalty=rule, lam0=lam0,
                                    max_iter=p.max_iter, tol=1e-10, blowup=1e100)


def _error(res, x_star: float) -> float:
    X, Y = res.x
    return max(abs(float(X[0, 0]) - x_star), abs(float(Y[0, 0]) - x_star))


def _sweeps_to(res, x_star: float, cap: int, tol: float = 1e-6) -> int:
    """Sweeps a run took to end within ``tol`` of the solution; ``cap`` (budget + 1) if never."""
    return int(res.n_iter) if _error(res, x_star) <= tol else cap


def run(params: Params, rng: np.random.Generator | None = None) -> Result:
    """Run the chapter (deterministic: ``rng`` is accepted and unused)."""
    p = params
    toy = ShiftedSquareToy(m=p.m, nonneg=True)
    xs = toy.x_star
    runs = {name: _am(toy, p.x0, p.y0, rule, lam0, p) for name, (rule, lam0) in p.rules().items()}
    table = strategy_table(runs, toy)
    table["sweeps to 1e-6 of x*"] = [_sweeps_to(runs[k], xs, p.max_iter + 1) for k in table["method"]]
    table["error"] = [_error(runs[k], xs) for k in table["method"]]
    rows = []
    for reading, rule in [("max-type", AdaptivePenalty(rho=1.0, target=snmf_adp_target)),
                          ("geometric", AdaptivePenalty(rho=p.rho))]:
        for lam0 in ADP_LAM0S:
            res = _am(toy, p.x0, p.y0, rule, lam0, p)
            X, Y = res.x
            rows.append({"reading": reading, "lambda_0": lam0, "status": res.status,
                         "sweeps": res.n_iter, "x": float(X[0, 0]), "y": float(Y[0, 0]),
                         "error": _error(res, xs), "lambda_final": float(res.history["lam"][-1]),
                         "reaches x*": is_exact(res, toy)})
    comp, certs = [], []
    for name, r in runs.items():
        X, Y = r.x
        certs.append({"run": name, "x0": p.x0, "y0": p.y0, "status": r.status,
                      "x": float(X[0, 0]), "y": float(Y[0, 0]), **point_certificate(toy, X, Y)})
    for x0, y0 in COMPARE_STARTS:
        rules = p.rules(x0, y0)
        r_our = _am(toy, x0, y0, *rules["AMour"], p)
        r_pca = _am(toy, x0, y0, *rules["AMpca"], p)
        X, Y = r_our.x
        certs.append({"run": "AMour (comparison)", "x0": x0, "y0": y0, "status": r_our.status,
                      "x": float(X[0, 0]), "y": float(Y[0, 0]), **point_certificate(toy, X, Y)})
        comp.append({"x0": x0, "y0": y0,
                     "AMour sweeps": _sweeps_to(r_our, xs, p.max_iter + 1),
                     "AMpca sweeps": _sweeps_to(r_pca, xs, p.max_iter + 1),
                     "AMour error": _error(r_our, xs), "AMpca error": _error(r_pca, xs)})
    sweep = fixed_lambda_sweep(toy, np.logspace(-6, 4, p.n_grid), x0=p.x0, y0=p.y0,
                               max_iter=p.max_iter)
    hg = fixed_lambda_sweep(toy, [HUGE_LAM], x0=p.x0, y0=p.y0, max_iter=HUGE_BUDGET).iloc[0]
    huge = {k: (v.item() if hasattr(v, "item") else v) for k, v in hg.items()}
    return Result(p, xs, table, pd.DataFrame(rows), pd.DataFrame(comp), sweep, runs, huge,
                  pd.DataFrame(certs))


def tables(result: Result) -> dict[str, pd.DataFrame]:
    t = result.strategies.drop(columns="message")
    a = result.adp
    return {"tab-tdp-strategies": t.assign(**{c: t[c].map("{:.4g}".format) for c in
                                              ["lambda_0", "x_final", "y_final", "|x-y|",
                                               "lambda_final", "error"]}),
            "tab-tdp-adp": a.assign(**{c: a[c].map("{:.4g}".format) for c in
                                       ["lambda_0", "x", "y", "error", "lambda_final"]}),
            "tab-tdp-compare": result.comparison.assign(**{
                c: result.comparison[c].map("{:.2e}".format) for c in ["AMour error", "AMpca error"]}),
            "tab-tdp-certificate": result.certs.drop(columns="cert infeasibility").assign(**{
                c: result.certs[c].map("{:.3g}".format) for c in ["x", "y", *POINT_CERT_COLS[:2]]})}


def glue_values(result: Result) -> dict:
    p, runs = result.params, result.runs
    out = {"n_iter": p.max_iter, "x0": p.x0, "y0": p.y0, "m": p.m}
    keys = {"AMagd": "AMagd", "AMadp": "AMadp", "AMadp (geometric)": "AMadp_geo", "AMpca": "AMpca",
            "AMour": "AMour"}
    for name, key in keys.items():
        X, Y = runs[name].x
        out.update({f"x_{key}": float(X[0, 0]), f"y_{key}": float(Y[0, 0]),
                    f"sw_{key}": int(runs[name].n_iter),
                    f"lamf_{key}": float(runs[name].history["lam"][-1])})
    out["err_AMadp"] = _error(runs["AMadp"], result.x_star)
    a = result.adp
    mx = a[a["reading"] == "max-type"]
    small = mx[mx["lambda_0"] <= VERY_SMALL]
    out.update(adp_n_small=len(small), adp_n_wrong=int((small["error"] >= WRONG_TOL * result.x_star).sum()),
               adp_lamf_max=float(small["lambda_final"].max()),
               geo_lamf_min=float(a.loc[a["reading"] == "geometric", "lambda_final"].min()),
               adp_wrong_tol=WRONG_TOL)
    c = result.comparison
    out.update(cmp_n=len(c), cmp_our_med=float(c["AMour sweeps"].median()),
               cmp_pca_med=float(c["AMpca sweeps"].median()))
    sw = result.sweep
    tiny, huge = sw.iloc[0], sw.iloc[-1]
    good = sw[sw["exact"]]
    out.update(tiny_x=float(tiny["x"]), tiny_y=float(tiny["y"]), huge_x=float(huge["x"]),
               lam_tiny=float(tiny["lam"]), lam_huge=float(huge["lam"]),
               good_lo=float(good["lam"].min()), good_hi=float(good["lam"].max()),
               best_lam=float(sw.loc[sw["sweeps"].idxmin(), "lam"]), best_sweeps=int(sw["sweeps"].min()))
    cc = result.certs
    out.update(cert_n=len(cc), cert_n_certified=int((cc["verdict"] == "certified").sum()))
    return out


def claims(result: Result) -> list[Claim]:
    """The chapter's pre-registered claims, decided from ``result`` alone (see :mod:`bmlab.claims`)."""
    t = result.strategies.set_index("method")
    xs, m, p = result.x_star, result.params.m, result.params
    wrong = WRONG_TOL * xs
    out = [claim("toy42.AMour_exact", "AMour converges (KKT residual <= 1e-10) to x = y = sqrt(m), "
                 "to within 1e-6",
                 all_of(qualitative(t.loc["AMour", "status"] == "converged",
                                    ours=str(t.loc["AMour", "status"]), relation="converged"),
                        at_most(float(t.loc["AMour", "error"]), 1e-6, scale=1e-6)),
                 kind="paper", quote=QUOTES["fig2"])]
    c = result.comparison
    cap = p.max_iter + 1
    n_our = int((c["AMour sweeps"] < cap).sum())
    n_pca = int((c["AMpca sweeps"] < cap).sum())
    out.append(claim("toy42.AMour_faster_than_AMpca",
                     f"AMour reaches sqrt(m) (to 1e-6) within the budget from every one of the "
                     f"{len(c)} pre-registered starts, and from more starts than AMpca (uncensored "
                     "counts: a sweep-count comparison is censored because AMpca runs end at the "
                     "budget)",
                     all_of(fraction(n_our, len(c), at_least=1.0, min_samples=6),
                            at_least(n_our - n_pca, 0.5, scale=len(c))),
                     kind="paper", quote=QUOTES["fig2"]))
    out.append(claim("toy42.AMour_faster_than_AMpca_signtest",
                     f"AMour reaches sqrt(m) (to 1e-6) in fewer sweeps than AMpca, over "
                     f"{len(c)} pre-registered starts (sign test, alpha = 0.05; a run that never "
                     "gets there counts as budget + 1)",
                     compare(c["AMour sweeps"], c["AMpca sweeps"], better="lower", min_samples=6),
                     kind="paper", quote=QUOTES["fig2"], exploratory=True,
                     reason="the original pre-registered form, kept beside toy42.AMour_faster_than_"
                            "AMpca: every AMpca run ends at the budget, so the sign test measures "
                            "censoring, and the start (2.0, 1.0) has y0 = sqrt(m)"))
    agd_err = float(t.loc["AMagd", "error"])
    out.append(claim("toy42.AMagd_wrong_limit",
                     "AMagd settles (status converged) at a point at least 1e-2 sqrt(m) away from "
                     "sqrt(m): a property of the reconstructed rule (8), whose gamma = (L - sigma)_+ "
                     "/ 4 is identically 0 on a scalar toy, so AM freezes at (m / y0, y0) after two "
                     "sweeps by algebra (a self-check of that reading, not a reproduction)",
                     all_of(qualitative(t.loc["AMagd", "status"] == "converged",
                                        ours=str(t.loc["AMagd", "status"]), relation="converged"),
                            at_least(agd_err, wrong, scale=wrong)),
                     kind="check"))
    a = result.adp
    mx, geo = a[a["reading"] == "max-type"], a[a["reading"] == "geometric"]
    small = mx[mx["lambda_0"] <= VERY_SMALL]
    adp_err = float(t.loc["AMadp", "error"])
    out.append(claim("toy42.AMadp_wrong_limit",
                     f"AMadp (max-type reading of rule (7)) from the chapter's very small "
                     f"lambda_0 = {p.lam0_small:g} ends, after the sweep budget, at least "
                     f"{WRONG_TOL:g} sqrt(m) away from sqrt(m)",
                     at_least(adp_err, wrong, scale=wrong),
                     kind="paper", quote=QUOTES["wrong"], protocol="AMadp max-type",
                     expected="fails",
                     reason="the max-type rule does keep lambda at lambda_0 = 1e-3 (claim "
                            "toy42.AMadp_keeps_lambda_small), but on this toy every lambda > 0 "
                            "is exact and AM with lambda = 1e-3 still moves to sqrt(m), slowly "
                            "(error ~3e-4 after 2000 sweeps, converged after ~4400): a wrong "
                            "limit appears only from lambda_0 <= 1e-4 "
                            "(toy42.AMadp_wrong_limit_some_lambda0); the paper's lambda_0 is not "
                            "recovered"))
    n_wrong = int((small["error"] >= wrong).sum())
    n_wrong_conv = int(((small["error"] >= wrong) & (small["status"] == "converged")).sum())
    lam0s = ", ".join(f"{v:g}" for v in ADP_LAM0S if v <= VERY_SMALL)
    out.append(claim("toy42.AMadp_wrong_limit_some_lambda0",
                     f"AMadp (max-type) from at least one very small lambda_0 of the pre-registered "
                     f"set {{{lam0s}}} converges (KKT residual <= 1e-10: a limit, not a run stopped "
                     f"by the budget) to a point at least {WRONG_TOL:g} sqrt(m) away from sqrt(m)",
                     fraction(n_wrong_conv, len(small), at_least=1 / len(small), min_samples=4),
                     kind="paper", quote=QUOTES["adp"], protocol="AMadp max-type",
                     exploratory=True, expected="fails",
                     reason="a rescue of toy42.AMadp_wrong_limit, stated after that claim had failed; "
                            "the runs from lambda_0 <= 1e-4 that end far from sqrt(m) stop at the "
                            "sweep budget (status max_iter), still moving: every lambda > 0 is exact "
                            "on this toy, so they creep towards sqrt(m) at a rate ~lambda_0 and no "
                            "incorrect limit appears"))
    out.append(claim("toy42.AMadp_far_at_budget_some_lambda0",
                     f"AMadp (max-type) from at least one very small lambda_0 of {{{lam0s}}} ends, "
                     f"after the budget, at least {WRONG_TOL:g} sqrt(m) away from sqrt(m)",
                     fraction(n_wrong, len(small), at_least=1 / len(small), min_samples=4),
                     kind="extension", protocol="AMadp max-type", exploratory=True,
                     reason="the earlier form of toy42.AMadp_wrong_limit_some_lambda0, kept: it "
                            "counts runs stopped by the budget, so it depends on the budget (2000 "
                            "sweeps quick, 5000 paper) and describes slow progress, not a limit"))
    out.append(claim("toy42.AMadp_keeps_lambda_small",
                     f"AMadp (max-type) keeps lambda far below the scale of m: final lambda <= "
                     f"{SMALL_GAMMA:g} m for every very small lambda_0 (by construction from the "
                     "chosen start: max{lambda_k, (xy - m)/2} stays at lambda_0 while xy <= m + "
                     "2 lambda_0, and the start has xy = 0.1 < m; a self-check of the rule)",
                     at_most(small["lambda_final"].to_numpy(), SMALL_GAMMA * m, scale=SMALL_GAMMA * m),
                     kind="check", protocol="AMadp max-type"))
    g_small = geo[geo["lambda_0"] <= VERY_SMALL]
    out.append(claim("toy42.AMadp_geometric_wrong_limit",
                     f"AMadp with geometric growth (rho = {p.rho:g}) from some very small lambda_0 "
                     f"ends at least {WRONG_TOL:g} sqrt(m) away from sqrt(m)",
                     fraction(int((g_small["error"] >= wrong).sum()), len(g_small),
                              at_least=1 / len(g_small), min_samples=4),
                     kind="paper", quote=QUOTES["wrong"], protocol="AMadp geometric",
                     expected="fails",
                     reason="geometric growth cannot keep lambda small: it reaches the scale of m "
                            "(about 0.28) within a few hundred sweeps from every lambda_0, and AM "
                            "then converges to sqrt(m); the seed's description of rule (7) "
                            "(heuristically satisfying the exactness condition, keeping lambda far "
                            "below the scale of m) does not fit this reading, which the chapter "
                            "keeps only as a contrast"))
    sw = result.sweep
    tiny = sw.iloc[0]
    out.append(claim("toy42.tiny_lambda_stalls",
                     "With a tiny fixed penalty (1e-6) AM freezes near (m/y0, y0): |xy - m| <= 1e-3 "
                     "but |x - y| >= 1",
                     all_of(at_most(abs(float(tiny["x"] * tiny["y"]) - m), 1e-3, scale=1e-3),
                            at_least(float(tiny["gap"]), 1.0, scale=1.0)),
                     kind="paper", quote=QUOTES["tiny"]))
    hg = result.huge
    out.append(claim("toy42.huge_lambda_crawls",
                     f"With a huge fixed penalty ({HUGE_LAM:g}) AM keeps |x - y| <= 1e-3 but is still "
                     f"at least 0.1 away from sqrt(m) after {HUGE_BUDGET} sweeps (a budget fixed in "
                     "both profiles)",
                     all_of(qualitative(hg.get("status") == "max_iter", ours=str(hg.get("status")),
                                        relation="budget exhausted"),
                            at_most(float(hg.get("gap", np.inf)), 1e-3, scale=1e-3),
                            at_least(abs(float(hg.get("x", xs)) - xs), 0.1, scale=0.1)),
                     kind="paper", quote=QUOTES["huge"]))
    our = result.certs[result.certs["run"] == "AMour (comparison)"]
    tol = CERT_TOL
    out.append(claim("toy42.certificate",
                     f"The dual certificate of the lifted convex problem min_{{z >= 0}} (z - m)^2 / 2 "
                     f"(S = xy - m) certifies AMour's final point from each of the {len(our)} "
                     f"pre-registered starts: lambda_min(S) >= -{tol:g} scale, ||SX||/||X|| <= "
                     f"{tol:g} scale and verdict 'certified' (AMour converges to x = y = sqrt(m), "
                     "the global optimum, with KKT residual <= 1e-10)",
                     all_of(at_least(our[POINT_CERT_COLS[0]].to_numpy(), -tol, scale=tol),
                            at_most(our[POINT_CERT_COLS[1]].to_numpy(), tol, scale=tol),
                            fraction(int((our["verdict"] == "certified").sum()), len(our),
                                     at_least=1.0, min_samples=6)),
                     kind="check", protocol="AMour"))
    return out
