r"""Chapter "The two stages of the proof, measured" (``book/asymmetric-gd/two-stages.md``).

Every block quantity of the proof of Theorem 3.1 and stage two (:math:`A, B, J, K, P, Q`,
spec 002 §3–6), recorded at every GD step by :class:`.common.BlockTracker`, against the
theorem's reference lines (universal constant :math:`c` taken per seed as the smallest that
makes the initialization event hold, :math:`e_b = 2c`, every other constant 1).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ...bounds.gd_asymmetric import (p_lower_bound, stage_one_bounds, stage_two_envelope,
                                     t0_stage_one)
from ...claims import Claim, all_of, at_least, at_most, claim
from ...validation import check_int, check_real
from ..base import ExperimentParams
from .common import SeedSweepParams, check_sigmas, rng_family, rounding_check, tracked_runs

__all__ = ["Params", "Result", "run", "claims", "glue_values", "RTOL"]

RTOL = 1e-12
"""Rounding allowance (relative) of the inequality checks."""


@dataclass(frozen=True)
class Params(ExperimentParams):
    """Instance, GD settings, steps per run and number of seeds (every step is recorded)."""

    m: int = 20
    n: int = 15
    sigmas: tuple = (3.0, 2.0, 1.0)
    eps: float = 1e-3
    eta: float = 0.01
    n_iter: int = 3000
    n_seeds: int = 3

    PRESETS = {"quick": {"n_seeds": 3}, "paper": {"n_seeds": 20}}

    def validate(self) -> None:
        object.__setattr__(self, "sigmas", check_sigmas("sigmas", self.sigmas))
        d = len(self.sigmas)
        check_int("m", self.m, lo=d + 1)
        check_int("n", self.n, lo=d + 1)
        check_real("eps", self.eps, lo=0, lo_open=True)
        check_real("eta", self.eta, lo=0, lo_open=True)
        check_int("n_iter", self.n_iter, lo=10)
        check_int("n_seeds", self.n_seeds, lo=1)

    @property
    def d(self) -> int:
        return len(self.sigmas)

    @property
    def kappa(self) -> float:
        return self.sigmas[0] / self.sigmas[-1]


@dataclass
class Result:
    """``runs``: per seed the tracker frame (``frame``), the constant ``c`` and ``T1``/``T0``;
    ``summary``: one row per seed with the measured quantities and their bounds."""

    params: Params
    runs: list
    summary: pd.DataFrame

    def bounds(self, c: float) -> dict:
        p = self.params
        return stage_one_bounds(p.eps, p.sigmas[0], p.sigmas[-1], p.d, p.m, p.n, c)

    def p_low(self, c: float) -> float:
        p = self.params
        return p_lower_bound(p.eps, p.m, p.n, p.d, p.kappa, c)

    @property
    def T0_pred(self) -> float:
        p = self.params
        return float(t0_stage_one(p.eta, p.eps, p.sigmas[-1], p.d))


def _rel_increase(v: np.ndarray) -> float:
    """Largest one-record relative increase of a positive series (negative: always decreases)."""
    v = np.asarray(v, float)
    return float(np.max(np.diff(v) / v[:-1]))


def _seed_row(result: Result, r: dict) -> dict:
    p = result.params
    s1, sd = p.sigmas[0], p.sigmas[-1]
    df, c, T0 = r["frame"], r["c"], r["T0"]
    b, low = result.bounds(c), result.p_low(c)
    one = df[df["iter"] <= T0] if np.isfinite(T0) else df
    one = one[one["iter"] >= 1]          # t = 0 is tight by the choice of c (not tested)
    two = df[df["iter"] >= T0] if np.isfinite(T0) else df.iloc[:0]
    slack1 = min(float((one["sd_A"] / b["sd_A_low"] - 1).min()),
                 float((1 - one["AA_over_Sigma"] / 2).min()),
                 float((1 - one["B_F"] / b["B_F"]).min()),
                 float((1 - one["J_op"] / b["J_op"]).min()),
                 float((1 - one["K_op"] / b["K_op"]).min()))
    if len(two):
        env = stage_two_envelope(two["iter"] - T0, p.eta, sd)
        slack2 = min(float((1 - two["Delta"] / env).min()),
                     float((two["min_sd_UV"] / np.sqrt(sd / 2) - 1).min()),
                     float((1 - two["B_F"] / (sd / np.sqrt(s1))).min()))
    else:
        slack2 = -1.0
    # stage one (t <= T0), where the paper states it and sigma_d(A) still moves; after T0 it sits
    # at its limit while J, K decay, and its steps are rounding
    a = (df[df["iter"] <= T0] if np.isfinite(T0) else df)["sd_A"].to_numpy()
    Bv = df["B_F"].to_numpy()
    return {"seed": r["seed"], "c": c, "T1": r["T1"], "T0": T0,
            "T0 (Thm 3.1, const. 1)": result.T0_pred,
            "min lam_min(P)": float(df["lam_min_P"].min()), "bound (17)": low,
            "stage-one slack": slack1, "stage-two slack": slack2,
            "max ||J|| step increase": _rel_increase(df["J_op"]),
            "max ||K|| step increase": _rel_increase(df["K_op"]),
            "max sigma_d(A) step decrease": float(np.max(-np.diff(a) / a[:-1])),
            "max ||U||^2, ||V||^2 / (3 sigma_1)":
                float(max(df["U_op2"].max(), df["V_op2"].max()) / (3 * s1)),
            "max ||B|| step increase": _rel_increase(Bv), "||B_end||/||B_0||": float(Bv[-1] / Bv[0]),
            "max ||JV^T||^2 share": float((df["JV2"] / (2 * df["loss"])).max()),
            "max split error": float(df["split_err"].max())}


def run(params: Params, rng: np.random.Generator) -> Result:
    """GD with a :class:`.common.BlockTracker` (every step) on ``params.n_seeds`` seeds."""
    p = params
    sp = SeedSweepParams(m=p.m, n=p.n, sigmas=p.sigmas, eps=p.eps, eta=p.eta)
    runs = tracked_runs(sp, range(p.n_seeds), rng_family(rng), p.n_iter, every=1)
    result = Result(p, runs, pd.DataFrame())
    result.summary = pd.DataFrame([_seed_row(result, r) for r in runs])
    return result


def claims(result: Result) -> list[Claim]:
    """The chapter's pre-registered claims (thresholds identical in both profiles)."""
    S = result.summary
    lam_slack = ((S["min lam_min(P)"] - S["bound (17)"]) / S["bound (17)"].abs()).to_numpy()
    jk_inc = float(max(S["max ||J|| step increase"].max(), S["max ||K|| step increase"].max()))
    return [
        claim("agd3.lam_min_P_above_bound",
              "lambda_min(P_t) stays above the lower bound (17), -e_b^2 eps^2 (m+n) d kappa with "
              "e_b = 2c and constant 1, on every seed and step (slack relative to the bound)",
              at_least(lam_slack, 0.0, scale=1.0), kind="check",
              quote="\"λ_d(P_t) ≥ −O(e_b^2 ε^2 (m+n) d κ). (17)\"",
              reason="relabelled from paper: at eta = 0.01 P barely overshoots (lambda_min ~ "
              "-1e-11 against a bound ~ -1e-2), nine orders of slack, so the bound cannot fail "
              "in this regime"),
        claim("agd3.stage_one_invariants",
              "For 1 <= t <= T0 on every seed: eps^2/(c^2 d) I <= A A^T <= 2 Sigma, ||B||_F <= "
              "2cd eps, ||J|| <= c eps sqrt(max(m', d)), ||K|| <= c eps sqrt(max(n', d)) (Theorem "
              "3.1; c is the smallest constant of the initialization event, so some bounds are "
              "tight at t = 0 by construction and t = 0 is left out: slack relative to the bound, "
              f"margin in units of the rounding allowance {RTOL:g})",
              rounding_check(float(S["stage-one slack"].min()), RTOL), kind="paper",
              quote="Theorem 3.1: \"∀t ≤ T0, ε²/(c²d) I ⪯ A_t A_t^T ⪯ 2Σ; ‖B_t‖_F ≤ 2cdε; ... "
              "‖J_t‖_op ≤ cε√max{m', d}, ‖K_t‖_op ≤ cε√max{n', d}\""),
        claim("agd3.T0_within_prediction",
              "Stage one ends (sigma_d(A) >= sqrt(sigma_d/2), ||P|| <= sigma_d/4) within "
              "T0 = ln(d sigma_d / eps^2) / (eta sigma_d) steps (constant 1) on every seed",
              at_most(S["T0"].to_numpy(float), result.T0_pred), kind="paper",
              quote="Theorem 3.1: \"there exists T0 = O(1/(ησ_d) ln(dσ_d/ε²)) such that ... "
              "σ_d(A_{T0}) ≥ √(σ_d/2); σ_1(P_{T0}) ≤ σ_d/4\""),
        claim("agd3.stage_two_conditions",
              "For t >= T0 on every seed: Delta_t below the envelope (1 - eta sigma_d/2)^t "
              "2 sigma_d/5, min(sigma_d(U), sigma_d(V)) >= sqrt(sigma_d/2), ||B||_F <= "
              "sigma_d/sqrt(sigma_1) (smallest slack relative to each bound)",
              at_least(S["stage-two slack"].to_numpy(float), 0.0, scale=1.0), kind="paper",
              quote="§3.3: \"(1) ‖B‖_F = O(σ_d/√σ_1); (2) Δ_t := ‖Σ − U_{T0+t}V_{T0+t}^T‖_op ≤ "
              "(1 − ησ_d/2)^t (2/5)σ_d; (3) σ_d(U), σ_d(V) ≥ √(σ_d/2)\""),
        claim("agd3.J_K_nonincreasing",
              f"||J_t|| and ||K_t|| never increase from one step to the next (relative increase "
              f"<= {RTOL:g}, a rounding allowance), on every seed",
              rounding_check(-jk_inc, RTOL), kind="check",
              quote="\"if we choose η ≤ 1/(3σ_1) ... it follows that the operator norms of J and "
              "K are monotonically decreasing in this stage\"",
              reason="relabelled from paper: J^+ = J(I - eta V^T V) with 0 <= eta V^T V <= I "
              "(agd3.gram_bounded) gives ||J^+|| <= ||J|| algebraically (likewise K)"),
        claim("agd3.gram_bounded",
              "0 <= U^T U + J^T J <= 3 sigma_1 I and 0 <= V^T V + K^T K <= 3 sigma_1 I at every "
              "step of every seed (the largest eigenvalues are ||U||^2 and ||V||^2)",
              at_most(S["max ||U||^2, ||V||^2 / (3 sigma_1)"].to_numpy(float), 1.0), kind="check",
              quote="\"one can inductively proved that 0 ⪯ V_t^T V_t + K_t^T K_t ⪯ 3σ_1 I and "
              "0 ⪯ U_t^T U_t + J_t^T J_t ⪯ 3σ_1 I\"",
              reason="relabelled from paper: the maximum is reached at the balanced limit, where "
              "||U||^2 = sigma_1, so the ratio is 1/3 by construction"),
        claim("agd3.sd_A_monotone",
              f"In stage one (t <= T0) sigma_d(A_t) never decreases from one step to the next "
              f"(relative decrease <= {RTOL:g}; after T0 it sits at its limit while J, K decay "
              "and its steps are rounding): stronger than the paper's 'almost monotonically "
              "increasing'",
              rounding_check(-float(S["max sigma_d(A) step decrease"].max()), RTOL), kind="paper",
              reason="restricted to stage one after the referee's reading: over the whole run "
              "the worst step (a 1e-15 decrease) lay in the plateau after T0 and was rounding",
              exploratory=True,
              quote="\"1. The smallest singular value of A is almost monotonically increasing\""),
        claim("agd3.B_almost_decreasing",
              "||B_t||_F is 'almost monotonically decreasing': it never grows by more than 1% in "
              "one step and ends below its start, on every seed",
              all_of(at_most(S["max ||B|| step increase"].to_numpy(float), 0.01),
                     at_most(S["||B_end||/||B_0||"].to_numpy(float), 1.0)), kind="paper",
              quote="\"2. The norms of B, J, K are almost monotonically decreasing\"",
              reason="the end-to-start part was '100x below' before the referee's reading: "
              "||B_end||/||B_0|| scales like eps (the limit's imbalance is set by the drift, the "
              "start's by eps), so 100x was a property of eps = 1e-3, not of the paper's "
              "statement; 'ends below its start' is what 'decreasing' asks"),
        claim("agd3.residual_split",
              "||Sigma - U V^T||_F^2 = ||P||^2 + ||Q||^2 + ||UK^T||^2 + ||JV^T||^2 + ||JK^T||^2 "
              "along every run (error <= 1e-12 ||Sigma||_F^2; an identity, DERIVED spec 002 §4)",
              at_most(float(S["max split error"].max()), 1e-12), kind="check"),
        claim("agd3.JV_term_not_negligible",
              "The ||JV^T||^2 term missing from the paper's stage-two summary reaches at least 10% "
              "of the residual on every seed",
              at_least(S["max ||JV^T||^2 share"].to_numpy(float), 0.1), kind="extension"),
    ]


def glue_values(result: Result) -> dict:
    """The numbers the chapter's prose cites."""
    p, S, r0 = result.params, result.summary, result.runs[0]
    return {"n_seeds": p.n_seeds, "c0": r0["c"], "T1_0": r0["T1"], "T0_0": r0["T0"],
            "T0_pred": result.T0_pred, "T0_min": float(S["T0"].min()), "T0_max": float(S["T0"].max()),
            "lam_min": float(S["min lam_min(P)"].min()), "lam_bound": float(S["bound (17)"].max()),
            "B_inc": float(S["max ||B|| step increase"].max()),
            "B_drop": float(S["||B_end||/||B_0||"].max()),
            "jv_min": float(S["max ||JV^T||^2 share"].min()),
            "jv_max": float(S["max ||JV^T||^2 share"].max()),
            "split_max": float(S["max split error"].max()),
            "B_plateau": float(r0["frame"]["B_F"].iloc[-1]),
            "gram_max": float(S["max ||U||^2, ||V||^2 / (3 sigma_1)"].max())}


def summary_shown(result: Result) -> pd.DataFrame:
    """The per-seed table with three significant digits."""
    S = result.summary
    return S.assign(**{k: S[k].map("{:.3g}".format) for k in S.columns if k != "seed"})
