r"""Chapter "Gradient flow in closed form" (``book/asymmetric-gd/gradient-flow.md``).

The closed form of the symmetric flow (DERIVED, spec 002 §2; :mod:`.flow`) against
``solve_ivp``, its one-shot and chunked evaluations, GD with small steps against it, and the
time to accuracy :math:`\delta` behind the paper's tightness remark (scalar ODE, exactly and
over-parametrised matrix flows).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ...bounds.gd_asymmetric import scalar_flow_s
from ...claims import Claim, all_of, at_least, at_most, between, claim, close, qualitative
from ...validation import check_int, check_real
from ..base import ExperimentParams
from .common import check_grid, check_sigmas
from .flow import (closed_form_S, flow_S_chunked, flow_S_ivp, gd_symmetric_S,
                   scalar_flow_ivp, time_to_delta)

__all__ = ["Params", "Result", "run", "claims", "glue_values"]

CASES = ("rank = r", "rank < r")


@dataclass(frozen=True)
class Params(ExperimentParams):
    """Size of :math:`\\Sigma` and :math:`X`, the spectrum, start scales, horizon and grids."""

    n: int = 6
    r: int = 3
    spectrum: tuple = (3.0, 2.0, 1.0)
    x0_scale: float = 0.01
    x0_scale_over: float = 0.3
    t_end: float = 50.0
    a0: float = 1e-3
    etas: tuple = (0.04, 0.02, 0.01, 0.005)
    n_t: int = 101
    scalar_sigmas: tuple = (0.5, 1.0, 2.0)
    delta_exps: tuple = tuple(range(2, 13))
    delta_over_exps: tuple = tuple(range(2, 8))
    delta_tail_exps: tuple = (13, 14, 15, 16)

    PRESETS = {"quick": {"etas": (0.04, 0.02, 0.01, 0.005), "n_t": 101,
                         "delta_over_exps": tuple(range(2, 8))},
               "paper": {"etas": (0.08, 0.04, 0.02, 0.01, 0.005, 0.0025, 0.00125), "n_t": 501,
                         "delta_over_exps": tuple(range(2, 10))}}

    def validate(self) -> None:
        object.__setattr__(self, "spectrum", check_sigmas("spectrum", self.spectrum))
        check_int("r", self.r, lo=1)
        if len(self.spectrum) != self.r:
            raise ValueError(f"spectrum must have r = {self.r} values (the exactly parametrised "
                             f"case), got {len(self.spectrum)}")
        check_int("n", self.n, lo=self.r + 1)
        for name in ("x0_scale", "x0_scale_over", "t_end", "a0"):
            check_real(name, getattr(self, name), lo=0, lo_open=True)
        check_int("n_t", self.n_t, lo=10)
        etas = check_grid("etas", self.etas, lo=0, min_size=3)
        object.__setattr__(self, "etas", tuple(sorted(etas, reverse=True)))
        check_grid("scalar_sigmas", self.scalar_sigmas, lo=0, min_size=1)
        tail = check_grid("delta_tail_exps", self.delta_tail_exps, lo=0, min_size=3)
        object.__setattr__(self, "delta_tail_exps", tuple(sorted(int(v) for v in tail)))
        for name in ("delta_exps", "delta_over_exps"):
            vals = check_grid(name, getattr(self, name), lo=0, min_size=5)
            object.__setattr__(self, name, tuple(sorted(int(v) for v in vals)))

    @property
    def deltas(self) -> np.ndarray:
        return 10.0 ** -np.asarray(self.delta_exps, float)

    @property
    def deltas_over(self) -> np.ndarray:
        return 10.0 ** -np.asarray(self.delta_over_exps, float)


@dataclass
class Result:
    """``errs``: per case (t, chunked error, one-shot error) against ``solve_ivp``; ``gd_err``:
    per case (etas, max error of GD against the flow over t <= 20); ``summary``: one row per
    case; ``times_scalar``: per sigma (deltas, T) of the scalar ODE; ``scalar_err``: the scalar
    formula against ``solve_ivp``; ``T_a``/``T_b``: time to f <= delta of the exactly and
    over-parametrised matrix flows."""

    params: Params
    errs: dict
    gd_err: dict
    summary: pd.DataFrame
    times_scalar: dict
    scalar_err: list
    scalar_slopes: list
    T_a: np.ndarray
    T_b: np.ndarray
    T_tail: np.ndarray | None = None

    @property
    def coef_a(self) -> float:
        """sigma_d dT/d ln(1/delta) of the exactly parametrised flow (delta <= 1e-5)."""
        d = self.params.deltas
        with np.errstate(all="ignore"):
            return float(self.params.spectrum[-1] * np.polyfit(np.log(1 / d[3:]), self.T_a[3:], 1)[0])

    @property
    def coef_tail(self) -> float:
        """sigma_d dT/d ln(1/delta) of the exactly parametrised flow on the deep tail
        (``delta_tail_exps``; NaN when not run)."""
        if self.T_tail is None:
            return float("nan")
        d = 10.0 ** -np.asarray(self.params.delta_tail_exps, float)
        with np.errstate(all="ignore"):
            return float(self.params.spectrum[-1] * np.polyfit(np.log(1 / d), self.T_tail, 1)[0])

    @property
    def slope_b(self) -> float:
        """Log–log slope of T against 1/delta in the over-parametrised case."""
        d = self.params.deltas_over
        with np.errstate(all="ignore"):
            return float(np.polyfit(np.log(1 / d[2:]), np.log(self.T_b[2:]), 1)[0])


def _cases(params: Params, rng: np.random.Generator) -> dict:
    p = params
    W = np.linalg.qr(rng.standard_normal((p.n, p.n)))[0]
    lam_a = np.zeros(p.n)
    lam_a[:p.r] = p.spectrum
    lam_b = lam_a.copy()
    lam_b[p.r - 1] = 0.0
    out = {}
    for lab, lam, sc in [(CASES[0], lam_a, p.x0_scale), (CASES[1], lam_b, p.x0_scale_over)]:
        out[lab] = ((W * lam) @ W.T, sc * rng.standard_normal((p.n, p.r)))
    return out


def _gd_error(Sigma, X0, eta: float, times) -> float:
    """Largest entrywise difference between S of GD at step k = round(t/eta) and the flow at
    the same time k*eta (not at t: for a step that does not divide the grid, the two differ)."""
    steps = np.unique(np.rint(np.asarray(times) / eta))
    tg = steps * eta
    return float(np.abs(gd_symmetric_S(Sigma, X0, eta, tg)
                        - flow_S_chunked(Sigma, X0 @ X0.T, tg)).max())


def run(params: Params, rng: np.random.Generator) -> Result:
    """Closed form against ``solve_ivp`` and GD; times to accuracy delta."""
    p = params
    cases = _cases(p, rng)
    ts = np.linspace(0, p.t_end, p.n_t)
    s1 = p.spectrum[0]
    errs, gd_err, summary = {}, {}, []
    etas = np.array(p.etas)
    for lab, (Sigma, X0) in cases.items():
        S0 = X0 @ X0.T
        cf = flow_S_chunked(Sigma, S0, ts)
        iv = flow_S_ivp(Sigma, S0, ts)
        with np.errstate(all="ignore"):     # the one-shot formula overflows: that is the point
            one = np.array([closed_form_S(Sigma, S0, t) for t in ts])
            e_one = np.nan_to_num(np.abs(one - iv).max(axis=(1, 2)), nan=np.inf)
        e_ch = np.abs(cf - iv).max(axis=(1, 2))
        errs[lab] = (ts, e_ch, e_one)
        gd_err[lab] = (etas, np.array([_gd_error(Sigma, X0, e, ts[ts <= 20.0]) for e in etas]))
        bad = np.flatnonzero(e_one > 1e-6)
        summary.append({"case": lab, "max |closed - ivp|": e_ch.max(),
                        "max |one-shot - ivp|": float(min(e_one.max(), 1e300)),
                        "sigma_1 t where one-shot error > 1e-6":
                            s1 * ts[bad[0]] if bad.size else np.nan,
                        "GD error slope in eta (3 smallest)":
                            np.polyfit(np.log(etas[-3:]), np.log(gd_err[lab][1][-3:]), 1)[0]})
    times_scalar, scalar_err, scalar_slopes = {}, [], []
    for s in p.scalar_sigmas:
        sol, T = scalar_flow_ivp(s, p.a0, p.deltas, 40.0 / s)
        times_scalar[s] = (p.deltas, T)
        tt = np.linspace(0, 40.0 / s, 400)
        scalar_err.append(float(np.abs(sol.sol(tt)[0] ** 2 - scalar_flow_s(tt, s, p.a0)).max()))
        scalar_slopes.append(float(s * np.polyfit(np.log(1 / p.deltas), T, 1)[0]))
    Sa, Xa = cases[CASES[0]]
    T_a = time_to_delta(Sa, Xa @ Xa.T, p.deltas, 60.0, dt=0.01)
    T_tail = time_to_delta(Sa, Xa @ Xa.T, 10.0 ** -np.asarray(p.delta_tail_exps, float), 60.0,
                           dt=0.01)
    Sb, Xb = cases[CASES[1]]
    T_b = time_to_delta(Sb, Xb @ Xb.T, p.deltas_over, 1.5 / np.sqrt(p.deltas_over.min()), dt=0.5)
    return Result(p, errs, gd_err, pd.DataFrame(summary), times_scalar, scalar_err,
                  scalar_slopes, T_a, T_b, T_tail)


def claims(result: Result) -> list[Claim]:
    """The chapter's pre-registered claims (thresholds identical in both profiles)."""
    S = result.summary
    e_cf = float(S["max |closed - ivp|"].max())
    gd_slopes = S["GD error slope in eta (3 smallest)"].to_numpy(float)
    coef_a = result.coef_a
    n_reached = int(np.isfinite(result.T_a).sum())
    reached = n_reached == result.T_a.size
    return [
        claim("agd5.closed_form_matches_ivp",
              f"The chunked closed form S(t) matches solve_ivp to 1e-8 for t in "
              f"[0, {result.params.t_end:g}] (both cases)",
              at_most(e_cf, 1e-8), kind="check"),
        claim("agd5.one_shot_unstable",
              "Our own one-shot evaluation of the closed form loses accuracy (error > 1e-6) "
              "within the horizon in both cases, which is why the chapter evaluates it in chunks "
              "(a numerical self-check of our code, not a statement of the paper)",
              all_of(at_least(S["max |one-shot - ivp|"].to_numpy(float), 1e-6),
                     at_most(e_cf, 1e-8)), kind="check"),
        claim("agd5.gd_tends_to_flow",
              "GD with step eta follows the flow with error O(eta) as eta -> 0 (log-log slope over "
              "the three smallest step sizes within 0.1 of 1; Euler's first order)",
              close(gd_slopes, 1.0, 0.1), kind="check"),
        claim("agd5.scalar_formula",
              "The paper's scalar formula s_t matches a solve_ivp solution of a' = (sigma - a^2) a "
              "to 1e-9", at_most(float(max(result.scalar_err)), 1e-9), kind="check"),
        claim("agd5.scalar_time_theta",
              "Time to |sigma - a^2| <= delta is Theta(sigma^-1 ln(sigma/delta)): measured "
              "sigma dT/d ln(1/delta) = 1/2 within 1e-2 for each sigma (the constant of the "
              "paper's formula). A check: it follows exactly from the closed form s_t already "
              "checked (agd5.scalar_formula)",
              close(np.asarray(result.scalar_slopes), 0.5, 1e-2), kind="check",
              quote="\"to achieve a δ optimal solution, i.e. |σ_d − a²| ≤ δ, ... Hence "
              "T = Θ(1/σ_d ln(σ_d/δ)) is necessary.\"",
              reason="relabelled from paper: an algebraic consequence of the scalar closed form, "
              "so it cannot fail once agd5.scalar_formula holds"),
        claim("agd5.matrix_time_bound",
              "Symmetric special case (U = V = X, exactly parametrised flow, one start): f <= "
              "delta is reached at every delta of the grid and sigma_d dT/d ln(1/delta) is at "
              "most 1, the coefficient of Corollary 1.2 with constant 1. A check: the "
              "linearisation bounds the coefficient by 1/2",
              all_of(qualitative(bool(reached), ours=f"{n_reached}/{result.T_a.size} deltas",
                                 margin=1.0 if reached else -1.0),
                     at_most(coef_a, 1.0, scale=1.0)), kind="check",
              quote="Corollary 1.2: \"there exists T = O(1/σ_d ln(dσ_d/ε) + 1/σ_d ln(σ_d/δ)), "
              "such that ... for all t ≥ T, we have f(U_t, V_t) ≤ δ\"",
              reason="relabelled from paper: Corollary 1.2 concerns the asymmetric flow from "
              "Gaussian (U_0, V_0); this is the symmetric flow from one start, whose coefficient "
              "cannot exceed 1/2, and the delta levels of one trajectory are not samples"),
        claim("agd5.matrix_time_log",
              "Exactly parametrised matrix flow: sigma_d dT/d ln(1/delta) for f <= delta lies in "
              "[1/4, 1/2] (range from the linearisation, DERIVED here)",
              between(coef_a, 0.25, 0.5), kind="extension", exploratory=True,
              reason="the range was derived beside the measured coefficient (as in "
              "agd2.delta_coefficient), not before it; on the fit range delta <= 1e-5 it is "
              "pre-asymptotic (the coefficient tends to 1/2, agd5.matrix_time_tail)"),
        claim("agd5.matrix_time_tail",
              "Exactly parametrised matrix flow: the coefficient tends to 1/2 (the slowest "
              "linearised mode) as delta -> 0: on the deep tail delta = 1e-13..1e-16 "
              "sigma_d dT/d ln(1/delta) is within 0.02 of 1/2",
              close(result.coef_tail, 0.5, 0.02), kind="extension", exploratory=True,
              reason="the limit 1/2 follows from the linearisation (the referee's prediction), "
              "but the tail range and the tolerance 0.02 were fixed after a trial run on three "
              "seeds had shown the local coefficient reaching 0.500 below delta = 1e-10"),
        claim("agd5.overparam_polynomial",
              "Outside the theorem (r > rank Sigma) the time to f <= delta grows like "
              "delta^(-1/2) (log-log slope within 0.05 of 1/2; kernel eigenvalues decay like "
              "1/(2t), DERIVED)",
              close(result.slope_b, 0.5, 0.05), kind="extension"),
    ]


def glue_values(result: Result) -> dict:
    """The numbers the chapter's prose cites."""
    p, S = result.params, result.summary
    gd_slopes = S["GD error slope in eta (3 smallest)"].to_numpy(float)
    one_bad = S["sigma_1 t where one-shot error > 1e-6"].to_numpy(float)
    return {"n_etas": len(p.etas), "x0_scale": p.x0_scale, "x0_scale_over": p.x0_scale_over,
            "e_cf": float(S["max |closed - ivp|"].max()), "t_end": p.t_end,
            "one_bad_min": float(np.nanmin(one_bad)) if np.isfinite(one_bad).any() else np.nan,
            "gd_slope_a": float(gd_slopes[0]), "gd_slope_b": float(gd_slopes[1]),
            "scalar_err": float(max(result.scalar_err)),
            "scalar_slope_min": float(min(result.scalar_slopes)),
            "scalar_slope_max": float(max(result.scalar_slopes)),
            "coef_a": result.coef_a, "coef_tail": result.coef_tail, "slope_b": result.slope_b}


def figure_inputs(result: Result) -> tuple:
    """The arguments of :func:`.plots.plot_flow`."""
    p = result.params
    return (result.errs, result.gd_err, result.times_scalar,
            (float(p.spectrum[-1]), p.deltas, result.T_a), (p.deltas_over, result.T_b))
