r"""Chapter ``exact-penalty/corollary1-start-bounds``: Corollary 1 of paper 000 on sNMF instances.

For each instance (PSD and indefinite :math:`M`, :math:`\|M\|_2 = 1`) and a symmetric start
:math:`X^0 = Y^0`: bounds (11), (12) and Zhu et al.'s at the start; AM with
:math:`\lambda = 1.01\times(12)` and Theorem 1's value (10) at its limit; the empirical threshold
over a grid :math:`\lambda = c\cdot(12)` on both sides of (12) (:math:`c` up to ~4); the claim
that the threshold lies below (12) also requires the search to find one (some run below (12)
ending asymmetric), otherwise it is untested; the decreasing-penalty variant; and the SDP
(doubly non-negative relaxation) cross-check.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from ...bounds.exact_penalty import (corollary1_bound11, corollary1_bound12, theorem1_bound,
                                     zhu_bound)
from ...claims import Claim, all_of, at_least, at_most, claim, close, fraction
from ...factorizations.penalty import StartBoundPenalty
from ...problems.snmf import SymmetricNMF, random_indefinite_nonneg, random_psd_nonneg
from ...solvers.alternating import alternating_minimization
from ...validation import check_int, check_real
from ..base import ExperimentParams
from .common import CERT_COLS, SDP_DIST, certificate_claims, sdp_certificate_row

__all__ = ["Params", "Result", "run", "claims", "glue_values", "tables", "QUOTES", "ASYM_TOL"]

ASYM_TOL = 1e-6
"""A limit is asymmetric when ||X - Y||_F > ASYM_TOL max(1, ||X||_F)."""
MARGIN = 1.01
"""The fixed penalty is MARGIN x (12)."""

QUOTES = {
    "cor1": "Corollary 1 is a more directly usable counterpart of Theorem 1, replacing the "
            "critical-point-dependent threshold by a computable conservative bound based on the "
            "initialization. (Corollary 1, bounds (11), (12))",
    "decreasing": "The same corollary also motivates decreasing penalty sequences in practice: if "
                  "is used to initialize iteration , then the right-hand side of (11) or (12) "
                  "decreases as the objective value decreases along the trajectory.",
    "zhu": "This is tighter than the bound in [37] (see Theorem 2 therein).",
}


@dataclass(frozen=True)
class Params(ExperimentParams):
    start_scale: float = 0.3
    max_iter: int = 3000
    sizes: tuple = ((8, 2),)
    grid_lo: float = -2.0
    grid_hi: float = 0.6
    grid_points: int = 7
    PRESETS: ClassVar[dict[str, dict[str, Any]]] = {
        "quick": {"max_iter": 3000, "sizes": ((8, 2), (12, 3)), "grid_lo": -2.0, "grid_points": 12},
        "paper": {"max_iter": 10000, "sizes": ((8, 2), (12, 3), (20, 3)), "grid_lo": -3.0,
                  "grid_points": 12},
    }

    def validate(self) -> None:
        check_real("start_scale", self.start_scale, lo=0, lo_open=True)
        check_int("max_iter", self.max_iter, lo=1)
        check_real("grid_lo", self.grid_lo, hi=0, hi_open=True)
        check_real("grid_hi", self.grid_hi, lo=0, lo_open=True, hi=2)
        check_int("grid_points", self.grid_points, lo=3)
        if not self.sizes:
            raise ValueError("sizes must list at least one (n, r)")
        for n, r in self.sizes:
            check_int("n", n, lo=2)
            check_int("r", r, lo=1, hi=n)
        if np.any(np.isclose(self.grid, 1.0, rtol=1e-3)):
            raise ValueError("the grid of c must not contain c = 1 (the bound itself)")

    @property
    def grid(self) -> np.ndarray:
        """Multiples c of bound (12): both sides of 1."""
        return np.logspace(self.grid_lo, self.grid_hi, self.grid_points)


@dataclass
class Result:
    params: Params
    table: pd.DataFrame           # one row per instance
    grid_runs: pd.DataFrame       # one row per (instance, c)
    sdp: pd.DataFrame
    decreasing: dict = field(default_factory=dict, repr=False)   # first size: kind -> runs
    timings: dict = field(default_factory=dict)


def _is_asym(X, Y) -> bool:
    return bool(np.linalg.norm(X - Y) > ASYM_TOL * max(1.0, np.linalg.norm(X)))


def _instance(prob, X0, grid, max_iter: int, name: str, timings: dict) -> tuple[dict, list, dict]:
    Z0 = X0 @ X0.T
    f0 = prob.f(Z0)
    b12 = corollary1_bound12(f0, 0.0, prob.L, mu=prob.reg.mu)
    b11 = corollary1_bound11(prob.grad_f(Z0), f0, 0.0, prob.L, mu=prob.reg.mu)
    t0 = time.perf_counter()
    fixed = alternating_minimization(prob, X0, X0, penalty=MARGIN * b12, max_iter=max_iter, tol=1e-9)
    timings[f"am_fixed_{name}"] = time.perf_counter() - t0
    Xf, Yf = fixed.x
    runs = []
    t0 = time.perf_counter()
    for c in grid:
        res = alternating_minimization(prob, X0, X0, penalty=c * b12, max_iter=max_iter, tol=1e-9,
                                       record_every=max_iter)
        X, Y = res.x
        runs.append({"instance": name, "c": float(c), "lam": float(c * b12), "status": res.status,
                     "asym": res.status == "converged" and _is_asym(X, Y), "sweeps": res.n_iter})
    timings[f"am_grid_{name}"] = time.perf_counter() - t0
    asym = [r["lam"] for r in runs if r["asym"]]
    dec = alternating_minimization(prob, X0, X0, penalty=StartBoundPenalty(MARGIN), lam0=MARGIN * b12,
                                   max_iter=max_iter, tol=1e-9)
    Xd, Yd = dec.x
    s = np.linalg.svd(prob.M, compute_uv=False)
    row = {"bound (11)": b11, "bound (12)": b12, "Zhu et al.": zhu_bound(prob.M, X0),
           "(||M||_2 - sigma_n(M))/2": 0.5 * (s[0] - s[-1]),
           "AM status": fixed.status, "AM sweeps": fixed.n_iter,
           "final |X-Y| (rel)": float(np.linalg.norm(Xf - Yf)) / max(1.0, float(np.linalg.norm(Xf))),
           "bound (10) at limit": theorem1_bound(prob.grad_f(Xf @ Yf.T), prob.reg.mu),
           "empirical threshold": max(asym) if asym else 0.0,
           "decreasing: status": dec.status, "decreasing: sweeps": dec.n_iter,
           "decreasing: final lambda": float(dec.history["lam"][-1]),
           "decreasing: max increase": float(np.max(np.diff(dec.history["lam"]), initial=0.0)),
           "decreasing: final |X-Y| (rel)":
               float(np.linalg.norm(Xd - Yd)) / max(1.0, float(np.linalg.norm(Xd)))}
    return row, runs, {"fixed": fixed, "decreasing": dec}


def run(params: Params, rng: np.random.Generator) -> Result:
    """The chapter's experiment: compute the results for ``params`` (a diverged run is an outcome, not an exception)."""
    from ...sdp.penalty import split_problem_sdp

    p = params
    rows, grid_runs, sdp_rows, dec, timings = [], [], [], {}, {}
    seeds = rng.spawn(4 * len(p.sizes))
    for i, (nn, rr) in enumerate(p.sizes):
        for j, (kind, make) in enumerate([("psd", lambda g: random_psd_nonneg(nn, rr, g)),
                                          ("indefinite", lambda g: random_indefinite_nonneg(nn, g))]):
            prob = SymmetricNMF(make(seeds[4 * i + 2 * j]), rr)
            X0 = p.start_scale * seeds[4 * i + 2 * j + 1].uniform(size=(nn, rr))
            name = f"{kind} n={nn} r={rr}"
            row, runs, res = _instance(prob, X0, p.grid, p.max_iter, name, timings)
            rows.append({"instance": name, "lambda_min(M)": prob.lambda_min, **row})
            grid_runs += runs
            if i == 0:
                dec[kind] = res
            sdp = split_problem_sdp(prob, solver="CLARABEL")
            srow = sdp_certificate_row(prob, *res["fixed"].x, sdp)
            timings[f"sdp_{name}"] = float(srow.pop("SDP time [s]"))
            srow.pop("AM time [s]")
            sdp_rows.append({"instance": name, **srow})
    return Result(p, pd.DataFrame(rows), pd.DataFrame(grid_runs), pd.DataFrame(sdp_rows), dec, timings)


def tables(result: Result) -> dict[str, pd.DataFrame]:
    out = {}
    for name, df in [("tab-c1", result.table), ("tab-c1-sdp", result.sdp)]:
        num = [c for c in df.columns if df[c].dtype.kind == "f"]
        out[name] = df.assign(**{c: df[c].map("{:.3g}".format) for c in num})
    return out


def glue_values(result: Result) -> dict:
    T, S, g = result.table, result.sdp, result.grid_runs
    b12 = T["bound (12)"]
    dec_conv = (T["decreasing: status"] == "converged") & (T["decreasing: final |X-Y| (rel)"] <= ASYM_TOL)
    above = g[g["c"] > 1]
    return {"dec_n_conv": int(dec_conv.sum()), "dec_n": len(T),
            "dec_psd_lam": float(T.loc[T["instance"].str.startswith("psd"), "decreasing: final lambda"].min()),
            "ratio12_zhu_max": float((b12 / T["Zhu et al."]).max()),
            "ratio11_12_min": float((T["bound (11)"] / b12).min()),
            "emp_over_12_max": float((T["empirical threshold"] / b12).max()),
            "t1_over_12_max": float((T["bound (10) at limit"] / b12).max()),
            "dec_ratio_max": float((T["decreasing: final lambda"] / b12).max()),
            "dec_ratio_min": float((T["decreasing: final lambda"] / b12).min()),
            "ind_gap_min": float(S.loc[~S["instance"].str.startswith("psd"), "objective gap"].min()),
            "c1_n_psd": int(S["instance"].str.startswith("psd").sum()),
            "c1_cert_psd": int((S.loc[S["instance"].str.startswith("psd"), CERT_COLS[2]]
                                == "certified").sum()),
            "c1_dist_psd": float(S.loc[S["instance"].str.startswith("psd"), SDP_DIST].max()),
            "c1_dist_ind": float(S.loc[~S["instance"].str.startswith("psd"), SDP_DIST].min()),
            "c1_ind_verdicts": ", ".join(sorted(set(S.loc[~S["instance"].str.startswith("psd"),
                                                          CERT_COLS[2]]))),
            "c1_n_inacc": int((S["SDP status"] == "optimal_inaccurate").sum()),
            "c1_n_max": int(max(n for n, _ in result.params.sizes)),
            "c_max": float(result.params.grid.max()), "n_above": len(above),
            "n_above_conv": int((above["status"] == "converged").sum()),
            "n_above_asym": int(above["asym"].sum()), "n_grid": len(result.params.grid)}


def claims(result: Result) -> list[Claim]:
    """The chapter's pre-registered claims, decided from ``result`` alone (see :mod:`bmlab.claims`)."""
    T, g = result.table, result.grid_runs
    n = len(T)
    sym_ok = (T["AM status"] == "converged") & (T["final |X-Y| (rel)"] <= ASYM_TOL)
    above = g[(g["c"] > 1) & (g["status"] == "converged")]
    n_asym_above = int(above["asym"].sum())
    c_above = at_most(n_asym_above, 0.5, scale=max(len(above), 1))
    c_above = replace(c_above, samples=len(above), min_samples=2 * n)
    n_pos_thr = int((T["empirical threshold"] > 0).sum())
    dec_ok = (T["decreasing: status"] == "converged") & (T["decreasing: final |X-Y| (rel)"] <= ASYM_TOL)
    zhu_gap = (T["Zhu et al."] - T["bound (12)"]).to_numpy()
    dec_ratio = (T["decreasing: final lambda"] / (MARGIN * T["bound (12)"])).to_numpy()
    S = result.sdp
    psd = S[S["instance"].str.startswith("psd")]
    return [
        claim("cor1.exact_above_12",
              "AM from X0 = Y0 with lambda = 1.01 x bound (12) converges (KKT residual <= 1e-9) to a "
              "symmetric point (relative |X - Y| <= 1e-6) on every instance (discriminating only "
              "on instances where some c below (12) gives an asymmetric limit; see "
              "cor1.bounds_valid)",
              fraction(int(sym_ok.sum()), n, at_least=1.0, min_samples=2),
              kind="paper", quote=QUOTES["cor1"]),
        claim("cor1.bounds_valid",
              "The empirical threshold, searched on a grid lambda = c x bound (12) on both sides of "
              f"(12) (c up to {result.params.grid.max():.2g}), is positive on at least one instance "
              "(some run below (12) ends at an asymmetric limit, so the search can locate it) and "
              "no converged run with c > 1 ends asymmetric (threshold <= (12))",
              all_of(c_above, at_least(n_pos_thr, 0.5, scale=n)),
              kind="paper", quote=QUOTES["cor1"]),
        claim("cor1.no_asymmetric_above_12",
              "No AM run from X0 = Y0 with lambda = c x bound (12), c > 1 on a grid up to "
              f"{result.params.grid.max():.2g}, ends (converged) at an asymmetric point",
              c_above, kind="paper", quote=QUOTES["cor1"], exploratory=True,
              reason="the earlier form of cor1.bounds_valid, kept for the record: on its own it "
                     "cannot fail on instances where no run at any c ends asymmetric (the n = 8 "
                     "ones); the quick profile gained the n = 12 instances so that the search has "
                     "power in both profiles"),
        claim("cor1.12_below_zhu",
              "Zhu et al.'s bound minus bound (12) equals (||M||_2 - sigma_n(M))/2 >= 0 (closed form, "
              "to 1e-9 relative): (12) is never above Zhu et al.'s bound, by algebra",
              all_of(close(zhu_gap, T["(||M||_2 - sigma_n(M))/2"].to_numpy(), tol=1e-9, relative=True),
                     at_least(zhu_gap, 0.0, scale=1.0)),
              kind="check"),
        claim("cor1.11_above_12",
              "Bound (11) is at least bound (12) for sNMF from X0 = Y0 (lambda_max(-R) >= -||R||_F, "
              "by algebra): (11) adds nothing to the validity test",
              at_least((T["bound (11)"] - T["bound (12)"]).to_numpy(), 0.0, scale=1.0),
              kind="check"),
        claim("cor1.decreasing_shrinks",
              "Recomputing (12) from the current iterate gives a penalty that ends below where it "
              "started (final / initial <= 1) on every instance: (12) is monotone in the objective "
              "and AM decreases it, so a self-check",
              at_most(dec_ratio, 1.0, scale=1.0), kind="check"),
        claim("cor1.decreasing_converges_symmetric",
              "The decreasing-penalty variant (12 recomputed from the current iterate) still "
              "converges (KKT residual <= 1e-9 within the budget) to a symmetric point (relative "
              "|X - Y| <= 1e-6) on every instance",
              fraction(int(dec_ok.sum()), n, at_least=1.0, min_samples=2),
              kind="paper", quote=QUOTES["decreasing"], expected="fails",
              reason="on the PSD instance the decreasing run hits the sweep budget still "
                     "asymmetric (relative |X - Y| ~ 8.5e-3 in the quick profile) with the penalty "
                     "shrunk to ~2e-5: the shrinking penalty slows the pull towards X = Y"),
        claim("cor1.sdp_psd_tight",
              "sNMF with PSD M: the AM limit at 1.01 x (12) matches the DNN SDP optimum within 1e-4 "
              "(relative)",
              close(psd["objective gap"].abs().to_numpy(), 0.0, tol=1e-4), kind="extension"),
        *certificate_claims("cor1", psd[psd["rank Z_sdp"] <= psd["r"]],
                            S[~S["instance"].str.startswith("psd")],
                            "Corollary 1 instances (AM limit at 1.01 x (12) vs the DNN SDP)",
                            min_tight=len(result.params.sizes)),
    ]
