r"""Chapter "The two stages of the proof, measured" (``book/asymmetric-gd/two-stages.md``).

Every block quantity of the proof of Theorem 3.1 and stage two (:math:`A, B, J, K, P, Q`,
spec 002 §3–6), recorded at every GD step by :class:`.common.BlockTracker`, against the
theorem's reference lines (universal constant :math:`c` taken per seed as the smallest that
makes the initialization event hold, :math:`e_b = 2c`, every other constant 1).

The :math:`\kappa` sweep (issue 14): the stage-two time :math:`T_2 = T_0 - T_1` against the
condition number :math:`\kappa` of the target at fixed :math:`\sigma_d`, beside the
:math:`\ln\kappa/(\eta\sigma_d)` of the proof (eq. (18)); seeds batched through the compiled
kernel :func:`bmlab.solvers.kernels_gd.run_asym_gd_batch` with the stage trackers evaluated on
per-step snapshots (:func:`.common.batched_stage_times`).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ...bounds.gd_asymmetric import (p_lower_bound, stage_one_bounds, stage_two_envelope,
                                     t0_stage_one)
from ...claims import Claim, all_of, at_least, at_most, between, claim, close, fraction
from ...validation import check_int, check_real
from ..base import ExperimentParams
from .common import (SeedSweepParams, batched_stage_times, check_grid, check_sigmas,
                     gaussian_init, geometric_sigmas, make_instance, rng_family, rounding_check,
                     tracked_runs)

__all__ = ["Params", "Result", "run", "claims", "glue_values", "RTOL", "kappa_sweep",
           "kappa_table", "kappa_slopes", "t2_bound"]

QUICK_KAPPAS = (1.0, 3.0, 10.0, 30.0, 100.0)
PAPER_KAPPAS = (1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0)
SLOPE_FACTOR = 2.0
"""Pre-registered agreement of the kappa sweep: the fitted slope of T2 in ln(kappa) within this
factor of the predicted one (and hence positive)."""

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
    kappas: tuple = QUICK_KAPPAS          # kappa sweep (sigma_d = sigmas[-1], d = len(sigmas))
    kappa_eta: float = 0.003              # eta sigma_1 <= 0.3 < 1/3 up to kappa = 100
    kappa_seeds: int = 6
    kappa_budget: float = 1.5             # steps: this many times T0 of Theorem 3.1 (constant 1)

    PRESETS = {"quick": {"n_seeds": 3, "kappas": QUICK_KAPPAS, "kappa_seeds": 6},
               "paper": {"n_seeds": 20, "kappas": PAPER_KAPPAS, "kappa_seeds": 20}}

    def validate(self) -> None:
        object.__setattr__(self, "sigmas", check_sigmas("sigmas", self.sigmas))
        d = len(self.sigmas)
        check_int("m", self.m, lo=d + 1)
        check_int("n", self.n, lo=d + 1)
        check_real("eps", self.eps, lo=0, lo_open=True)
        check_real("eta", self.eta, lo=0, lo_open=True)
        check_int("n_iter", self.n_iter, lo=10)
        check_int("n_seeds", self.n_seeds, lo=1)
        object.__setattr__(self, "kappas", check_grid("kappas", self.kappas, lo=1,
                                                      lo_open=False, min_size=3))
        check_real("kappa_eta", self.kappa_eta, lo=0, lo_open=True)
        check_int("kappa_seeds", self.kappa_seeds, lo=2)
        check_real("kappa_budget", self.kappa_budget, lo=1)
        if self.kappa_eta * self.sigmas[-1] * max(self.kappas) > 1 / 3:
            raise ValueError(f"kappa_eta = {self.kappa_eta!r} is too large for kappa up to "
                             f"{max(self.kappas)!r}: the proof needs eta sigma_1 <= 1/3")

    @property
    def kappa_iter(self) -> int:
        """Steps of every run of the kappa sweep."""
        T0 = float(t0_stage_one(self.kappa_eta, self.eps, self.sigmas[-1], self.d))
        return int(np.ceil(self.kappa_budget * T0))

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
    kappa: pd.DataFrame = field(default_factory=pd.DataFrame)

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
    rng_for = rng_family(rng)
    runs = tracked_runs(sp, range(p.n_seeds), rng_for, p.n_iter, every=1)
    result = Result(p, runs, pd.DataFrame())
    result.summary = pd.DataFrame([_seed_row(result, r) for r in runs])
    result.kappa = kappa_sweep(p, rng_for)
    return result


# ---------------------------------------------------------------------------------------------
# the kappa sweep (issue 14): T2 against ln(kappa) at fixed sigma_d
# ---------------------------------------------------------------------------------------------

KAPPA_KEY = 7       # the kappa sweep's random streams: rng_for(KAPPA_KEY, seed)


def t2_bound(kappa, eta: float, sigma_d: float):
    r""":math:`T_2` of eq. (18) with constant 1: the steps after :math:`T_1` for
    :math:`(1-\eta\sigma_d/2)^{2t}\,\kappa\sigma_d \le \sigma_d/4` (:math:`\sigma_1(P_{T_1})`
    bounded by :math:`\sigma_1 = \kappa\sigma_d`, the additive :math:`O(\varepsilon^2)` term
    dropped): :math:`\ln(4\kappa)/(-2\ln(1-\eta\sigma_d/2))`, slope
    :math:`1/(-2\ln(1-\eta\sigma_d/2))\approx 1/(\eta\sigma_d)` in :math:`\ln\kappa`."""
    return np.log(4 * np.asarray(kappa, float)) / (-2 * np.log1p(-eta * sigma_d / 2))


def kappa_sweep(p: Params, rng_for) -> pd.DataFrame:
    """One row per (kappa, seed): T1, T0, T2 = T0 - T1, ||P_T1|| and the bound of eq. (18).
    Per seed the singular vectors and the unit Gaussian draws of the start are shared by every
    kappa (common random numbers); sigma_i geometric from kappa sigma_d down to sigma_d."""
    sd, d = p.sigmas[-1], p.d
    rows = []
    for kap in p.kappas:
        insts, x0s = [], []
        for s in range(p.kappa_seeds):
            rng = rng_for(KAPPA_KEY, s)
            insts.append(make_instance(p.m, p.n, geometric_sigmas(d, sd, kap), rng))
            x0s.append(gaussian_init(p.m, p.n, d, p.eps, rng))
        out = batched_stage_times(insts, x0s, eta=p.kappa_eta, max_iter=p.kappa_iter)
        rows += [{"kappa": kap, "seed": s, **o} for s, o in enumerate(out)]
    df = pd.DataFrame(rows)
    return df.assign(T2_bound=t2_bound(df["kappa"], p.kappa_eta, sd))


def kappa_slopes(result: Result, level: float = 0.95) -> dict:
    """Per seed the least-squares slope of T2 (iterations) in ln(kappa); mean, t confidence
    interval over seeds, beside the predicted slope of eq. (18) (constant 1)."""
    from scipy import stats

    p, K = result.params, result.kappa
    per_seed = []
    for _, g in K.groupby("seed"):
        ok = np.isfinite(g["T2"].to_numpy(float))
        per_seed.append(np.polyfit(np.log(g["kappa"].to_numpy(float)[ok]),
                                   g["T2"].to_numpy(float)[ok], 1)[0] if ok.sum() >= 2 else np.nan)
    v = np.asarray(per_seed)
    v = v[np.isfinite(v)]
    k = v.size
    mean = float(v.mean()) if k else np.nan
    half = float(stats.t.ppf(0.5 + level / 2, k - 1) * v.std(ddof=1) / np.sqrt(k)) if k > 1 else np.nan
    pred = float(t2_bound(np.e, p.kappa_eta, p.sigmas[-1]) - t2_bound(1.0, p.kappa_eta, p.sigmas[-1]))
    return {"predicted": pred, "measured": mean, "ci_low": mean - half, "ci_high": mean + half,
            "seeds": k, "ratio": mean / pred}


def kappa_table(result: Result) -> pd.DataFrame:
    """Per kappa: medians over seeds of T1, T2, eta sigma_d T2 and ||P_T1||/sigma_d, the range
    of T2, and the bound of eq. (18) (constant 1)."""
    p, K = result.params, result.kappa
    sd = p.sigmas[-1]
    g = K.assign(eT2=K["T2"] * p.kappa_eta * sd, PT1=K["P_T1"] / sd).groupby("kappa")
    return pd.DataFrame({"median T1": g["T1"].median(), "median T2": g["T2"].median(),
                         "min T2": g["T2"].min(), "max T2": g["T2"].max(),
                         "T2 bound (18)": g["T2_bound"].first(),
                         "median eta sigma_d T2": g["eT2"].median(),
                         "median ||P_T1||/sigma_d": g["PT1"].median()}).reset_index()


def kappa_shown(result: Result) -> pd.DataFrame:
    """The per-kappa table with four significant digits."""
    t = kappa_table(result)
    return t.assign(**{c: t[c].map("{:.4g}".format) for c in t.columns if c != "kappa"})


def kappa_slope_shown(result: Result) -> pd.DataFrame:
    """The slope of T2 in ln(kappa), predicted (eq. (18), constant 1) beside measured, in
    iterations and in units of 1/(eta sigma_d)."""
    sl, p = kappa_slopes(result), result.params
    u = p.kappa_eta * p.sigmas[-1]
    rows = [{"unit": "iterations", "predicted (18)": sl["predicted"], "measured": sl["measured"],
             "ci_low": sl["ci_low"], "ci_high": sl["ci_high"]},
            {"unit": "1/(eta sigma_d)", "predicted (18)": sl["predicted"] * u,
             "measured": sl["measured"] * u, "ci_low": sl["ci_low"] * u,
             "ci_high": sl["ci_high"] * u}]
    t = pd.DataFrame(rows)
    t = t.assign(**{c: t[c].map("{:.4g}".format) for c in t.columns if c != "unit"})
    return t.assign(seeds=sl["seeds"])


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
    ] + (kappa_claims(result) if len(result.kappa) else [])


QUOTE_T2 = ("\"σ_1(P_{t+T_1}) ≤ (1 − ησ_d/2)^{2t} σ_1(P_{T_1}) + O(e_b^2 ε^2 (m+n) dκ). (18) "
            "Inequality (18) shows that we only need at most T_2 := O(1/(ησ_d) ln κ) iterations "
            "after T_1 to make σ_1(P_t) ≤ σ_d/4\"")
FLAT_BAND = 0.1
"""Half-width, in units of eq. (18)'s slope, of the band around 0 for agd3.kappa_T2_flat."""
T2_LOGISTIC = float(np.log(3.0) / 2)
"""eta sigma_d T2 of the scalar logistic flow s' = 2 s (sigma_d - s) from s = sigma_d/2 (the end
of the warm-up) to s = 3 sigma_d/4 (||P|| = sigma_d/4): ln(3)/2."""


def kappa_claims(result: Result) -> list[Claim]:
    """The claims of the kappa sweep (issue 14)."""
    p, K = result.params, result.kappa
    sd, u = p.sigmas[-1], p.kappa_eta * p.sigmas[-1]
    sl = kappa_slopes(result)
    reached = K["T0"].notna().to_numpy(bool)
    by_seed = K.assign(ok=reached).groupby("seed")["ok"].all().to_numpy(bool)
    T2 = K["T2"].to_numpy(float)
    proto = f"kappa sweep: GD eta = {p.kappa_eta:g}, {p.kappa_seeds} seeds per kappa, batched kernel"
    return [
        claim("agd3.kappa_T2_within_bound",
              "Every run of the kappa sweep reaches T0 within its budget, and on every run the "
              "stage-two time T2 = T0 - T1 is at most ln(4 kappa)/(-2 ln(1 - eta sigma_d/2)), "
              "eq. (18) with sigma_1(P_T1) <= sigma_1 = kappa sigma_d and constant 1 (the "
              "additive O(eps^2) term dropped); samples are seeds. This tests little: it is the "
              "constant-1 version of an O-bound (any larger constant only loosens it), and T2 "
              "sits far below it, so it mainly checks that T0 is reached; the dependence on "
              "kappa is tested by agd3.kappa_T2_flat",
              all_of(fraction(int(by_seed.sum()), int(by_seed.size), at_least=1.0,
                              min_samples=2),
                     at_least((K["T2_bound"].to_numpy(float) - T2) / K["T2_bound"].to_numpy(float),
                              0.0, scale=1.0)),
              kind="paper", quote=QUOTE_T2, protocol=proto),
        claim("agd3.kappa_T2_slope",
              f"T2 grows like ln(kappa)/(eta sigma_d), read as a prediction of the dependence: the "
              f"mean over seeds of the per-seed least-squares slope of T2 in ln(kappa) lies within "
              f"a factor {SLOPE_FACTOR:g} of the slope of eq. (18) with constant 1, "
              f"1/(-2 ln(1 - eta sigma_d/2)) ~ 1/(eta sigma_d) (so it is positive); kappa over "
              f"at least two decades at fixed sigma_d",
              between(sl["ratio"], 1 / SLOPE_FACTOR, SLOPE_FACTOR), kind="extension",
              quote=QUOTE_T2, protocol=proto, expected="fails",
              reason="expected before the first run from the dynamics, and measured so: from a "
              "small start the directions with larger sigma_i grow at rate ~sigma_i and are "
              "fitted before the sigma_d-direction, so at T1 ||P|| ~ sigma_d/2 whatever kappa "
              "(agd3.kappa_P_T1_free) and T2 ~ ln(3)/(2 eta sigma_d), the logistic flow from "
              "sigma_d/2 to 3 sigma_d/4 (agd3.kappa_T2_logistic). The ln(kappa) of T2 comes from "
              "bounding sigma_1(P_T1) by sigma_1 = kappa sigma_d, a worst case GD from a small "
              "Gaussian start does not reach: T2 stays below the bound "
              "(agd3.kappa_T2_within_bound), so the O-bound holds, but the dependence it "
              "states is not seen. Relabelled paper -> extension after the referee's reading: "
              "the paper states an upper bound ('at most T2 := O(...)'), not a predicted slope; "
              "the pre-registered test is kept as it was"),
        claim("agd3.kappa_T2_flat",
              f"T2 is flat in kappa from small Gaussian starts (the ln kappa of eq. (18) is a "
              f"worst case): both ends of the 95% t-interval over seeds of the mean per-seed "
              f"slope of T2 in ln(kappa) lie within +-{FLAT_BAND:g} of the slope of eq. (18) "
              f"with constant 1 (a band around 0; 'the interval contains 0' alone is decided by "
              f"rounding when every seed's slope is exactly 0)",
              all_of(between(sl["ci_low"] / sl["predicted"], -FLAT_BAND, FLAT_BAND),
                     between(sl["ci_high"] / sl["predicted"], -FLAT_BAND, FLAT_BAND)),
              kind="extension", protocol=proto, exploratory=True,
              reason="set after the slope's outcome was known (agd3.kappa_T2_slope fails with "
              "a slope ~0), on the referee's reading that the paper's ln kappa is an upper bound; "
              "the band 0.1 was chosen after seeing the interval (-1.5e-4, 9.2e-5) in these units "
              "in the paper profile"),
        claim("agd3.kappa_P_T1_free",
              "At the end of the warm-up ||P_T1|| <= sigma_d on every run, for kappa up to "
              f"{max(p.kappas):g}. T1 is defined by sigma_d(A) >= sqrt(sigma_d/2), so the "
              "sigma_d-direction of P is about sigma_d/2 at T1 by definition; what this tests is "
              "that the other directions (sigma_i up to kappa sigma_d) have been fitted first, "
              "so that the proof's bound sigma_1(P_T1) <= kappa sigma_d is not approached",
              at_most(K["P_T1"].to_numpy(float) / sd, 1.0, scale=1.0), kind="extension",
              protocol=proto, exploratory=True,
              reason="the mechanism (the sigma_d-direction is the last to be fitted, P ~ "
              "sigma_d/2 at T1) was derived before the first run; the level sigma_d was written "
              "down after a prototype run of the quick grid had been seen"),
        claim("agd3.kappa_T2_logistic",
              "On every run eta sigma_d T2 is within 0.05 of ln(3)/2, the scalar logistic flow "
              "s' = 2 s (sigma_d - s) from sigma_d/2 to 3 sigma_d/4, whatever kappa",
              close(T2 * u, T2_LOGISTIC, 0.05), kind="extension", protocol=proto,
              exploratory=True,
              reason="ln(3)/2 was derived before the first run; the tolerance 0.05 was set "
              "after a prototype run of the quick grid (eta sigma_d T2 in [0.546, 0.549])"),
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
            "gram_max": float(S["max ||U||^2, ||V||^2 / (3 sigma_1)"].max()),
            "n_iter": p.n_iter, **(kappa_glue(result) if len(result.kappa) else {})}


def kappa_glue(result: Result) -> dict:
    """The numbers the kappa section cites."""
    p, K, sl = result.params, result.kappa, kappa_slopes(result)
    u = p.kappa_eta * p.sigmas[-1]
    return {"kappa_min": min(p.kappas), "kappa_max": max(p.kappas), "kappa_n": len(p.kappas),
            "kappa_eta": p.kappa_eta, "kappa_seeds": p.kappa_seeds, "kappa_iter": p.kappa_iter,
            "kappa_runs": len(K), "kappa_sigma_d": p.sigmas[-1],
            "slope_pred": sl["predicted"], "slope_meas": sl["measured"],
            "slope_lo": sl["ci_low"], "slope_hi": sl["ci_high"],
            "slope_pred_u": sl["predicted"] * u, "slope_meas_u": sl["measured"] * u,
            "eT2_min": float((K["T2"] * u).min()), "eT2_max": float((K["T2"] * u).max()),
            "T2_min": float(K["T2"].min()), "T2_max": float(K["T2"].max()),
            "T2_logistic": T2_LOGISTIC,
            "PT1_max": float((K["P_T1"] / p.sigmas[-1]).max()),
            "T2_bound_lo": float(K["T2_bound"].min()), "T2_bound_hi": float(K["T2_bound"].max())}


def summary_shown(result: Result) -> pd.DataFrame:
    """The per-seed table with three significant digits."""
    S = result.summary
    return S.assign(**{k: S[k].map("{:.3g}".format) for k in S.columns if k != "seed"})
