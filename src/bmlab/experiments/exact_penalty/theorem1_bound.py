r"""Chapter ``exact-penalty/theorem1-bound``: Theorem 1 of paper 000 on four instance families.

Critical points of the split (5) are found two ways:

* fixed-:math:`\lambda` AM from random asymmetric starts (:func:`.common.critical_point_runs`):
  the limits a monotone method reaches (minima in practice);
* Newton's method on :math:`\nabla F_\lambda = 0` from random starts
  (:func:`.common.newton_critical_points`), which converges to critical points of any index,
  saddles included -- on the two smooth, unconstrained families (sensing, sensing-ridge).

At each, inequality (9) and bound (10) are evaluated. The SDP cross-check compares the best
symmetric factorization with CVXPY's solution of the convex problem over :math:`Z \succeq 0`.

The *saddle audit* (:func:`saddle_audit`, issue 14) repeats the Newton search on several fresh
instances per sensing family: below the bound it collects the strict saddles (which AM, a descent
method, does not reach: every AM limit there is checked to be a local minimum), tests (9) and
(10) at each asymmetric one, and then runs Newton again at
:math:`\lambda_{hi} = ` ``audit_factor`` :math:`\times` the largest bound (10) over every critical
point found on the instance, where Theorem 1 says the critical points of (5) are those of (3).
"""
from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from ...claims import Claim, all_of, at_least, at_most, claim, close, fraction, qualitative
from ...factorizations.asymmetric import kkt_residual, symmetric_kkt_residual
from ...validation import check_int, check_real
from ..base import ExperimentParams
from .common import (THEOREM1_FAMILIES, critical_point_runs, make_theorem1_family,
                     newton_critical_points, sdp_certificate_row, summarize_family,
                     theorem1_excess, certificate_claims, CERT_COLS, SDP_DIST)

__all__ = ["Params", "Result", "run", "claims", "glue_values", "tables", "NEWTON_FAMILIES",
           "THEOREM1_TOL", "QUOTES", "saddle_audit", "AUDIT_SYM_TOL", "AUDIT_RES_TOL"]

NEWTON_FAMILIES = ("sensing", "sensing-ridge")
"""Families on which Newton's method on the gradient applies (smooth, no constraint)."""
THEOREM1_TOL = 1e-6
"""Relative tolerance of (9) and (10) beyond the slack that a point's KKT residual allows: a
claim fails only when an asymmetric point has lambda > b (1 + 1e-6) + slack. At the points where
the bound is attained (lambda = b exactly) the margin is then ~1, not rounding."""
MIN_ASYM = 5
"""Asymmetric critical points a Theorem 1 claim needs before it counts (fewer: fragile)."""
AUDIT_SYM_TOL = 1e-6
"""Saddle audit: a point counts as symmetric when ``||X - Y||_F / max(1, ||X||_F)`` is at most
this (the chapter's asymmetry threshold)."""
AUDIT_RES_TOL = 1e-8
"""Saddle audit: a symmetric point's ``X`` counts as a critical point of (3) when the KKT residual
of (3) is at most this (Newton stops at a gradient norm of 1e-10)."""

QUOTES = {
    "thm1": "we ... derive an explicit lower bound on that guarantees exactness: under mild "
            "assumptions, any above this threshold makes aBMF and sBMF share the same critical "
            "points (Abstract; Theorem 1, bound (10))",
    "ineq9": "For the critical point of (5), a larger makes and closer intuitively. The following "
             "main theorem provides a bound on that guarantees sufficient proximity or exactness. "
             "(Theorem 1, inequality (9))",
    "psd": "Zhu et al. [37, Section 4.1] ... further conjectured that SymHALS may converge to a "
           "critical point of symmetric NMF for any (Remark 2)",
    "same": "If is a critical point of (3), then is a critical point of (5) for any . Hence, the "
            "bound in (10) gives an explicit lower bound on under which aBMF and sBMF share the "
            "same set of critical points. (Section 3.2, after Theorem 1)",
}


@dataclass(frozen=True)
class Params(ExperimentParams):
    n: int = 8
    r: int = 2
    mu: float = 0.2
    n_starts: int = 2
    n_instances: int = 1
    n_lams: int = 6
    max_iter: int = 2000
    newton_starts: int = 4
    newton_lams: int = 4
    lam_sdp: float = 0.5
    audit_instances: int = 2
    audit_starts: int = 3
    audit_lams: int = 2
    audit_factor: float = 2.0
    PRESETS: ClassVar[dict[str, dict[str, Any]]] = {
        "quick": {"n_starts": 2, "n_instances": 1, "n_lams": 6, "max_iter": 2000,
                  "newton_starts": 4, "newton_lams": 4,
                  "audit_instances": 2, "audit_starts": 3, "audit_lams": 2},
        "paper": {"n_starts": 5, "n_instances": 2, "n_lams": 13, "max_iter": 4000,
                  "newton_starts": 10, "newton_lams": 7,
                  "audit_instances": 5, "audit_starts": 6, "audit_lams": 3},
    }

    def validate(self) -> None:
        check_int("n", self.n, lo=2)
        check_int("r", self.r, lo=1, hi=self.n - 1)
        check_real("mu", self.mu, lo=0, lo_open=True)
        check_int("n_starts", self.n_starts, lo=1)
        check_int("n_instances", self.n_instances, lo=1)
        check_int("n_lams", self.n_lams, lo=2)
        check_int("max_iter", self.max_iter, lo=1)
        check_int("newton_starts", self.newton_starts, lo=1)
        check_int("newton_lams", self.newton_lams, lo=2)
        check_real("lam_sdp", self.lam_sdp, lo=0, lo_open=True)
        check_int("audit_instances", self.audit_instances, lo=1)
        check_int("audit_starts", self.audit_starts, lo=1)
        check_int("audit_lams", self.audit_lams, lo=1)
        check_real("audit_factor", self.audit_factor, lo=1, lo_open=True)

    @property
    def lams(self) -> np.ndarray:
        return np.logspace(-2, 0, self.n_lams)

    @property
    def newton_lam_grid(self) -> np.ndarray:
        return np.logspace(-2, 0, self.newton_lams)

    @property
    def audit_lam_grid(self) -> np.ndarray:
        """Penalties of the audit's search below the bound (where asymmetric saddles exist)."""
        return np.logspace(-2, -0.5, self.audit_lams)


@dataclass
class Result:
    params: Params
    am: pd.DataFrame          # every AM run, with columns family, instance
    summary: pd.DataFrame     # per family and instance (summarize_family)
    newton: pd.DataFrame      # every Newton run, with columns family, instance
    sdp: pd.DataFrame
    timings: dict = field(default_factory=dict)
    audit: pd.DataFrame | None = None   # saddle_audit: one row per critical point

    def first_instance_runs(self) -> dict:
        a = self.am[self.am["instance"] == 0]
        return {f: a[a["family"] == f].drop(columns=["family", "instance"]) for f in THEOREM1_FAMILIES}


def run(params: Params, rng: np.random.Generator) -> Result:
    """The chapter's experiment: compute the results for ``params`` (a diverged run is an outcome, not an exception)."""
    p = params
    seeds = {(i, k, j): s for (i, k, j), s in zip(
        [(i, k, j) for i in range(len(THEOREM1_FAMILIES)) for k in range(p.n_instances)
         for j in range(3)], rng.spawn(3 * len(THEOREM1_FAMILIES) * p.n_instances))}
    am, newton, rows, timings = [], [], [], {}
    for i, fam in enumerate(THEOREM1_FAMILIES):
        for k in range(p.n_instances):
            prob = make_theorem1_family(fam, seeds[i, k, 0], n=p.n, r=p.r, mu=p.mu)
            df = critical_point_runs(prob, p.lams, p.n_starts, seeds[i, k, 1], max_iter=p.max_iter)
            timings[f"am_{fam}_{k}"] = float(df.pop("time").sum())
            am.append(df.assign(family=fam, instance=k))
            rows.append({"family": fam, "instance": k, **summarize_family(df)})
            if fam in NEWTON_FAMILIES:
                t0 = time.perf_counter()
                nw = newton_critical_points(prob, p.newton_lam_grid, p.newton_starts, seeds[i, k, 2])
                timings[f"newton_{fam}_{k}"] = time.perf_counter() - t0
                newton.append(nw.assign(family=fam, instance=k))
    sdp, sdp_times = _sdp_rows(p, rng)
    timings.update(sdp_times)
    t0 = time.perf_counter()
    audit = saddle_audit(p, rng.spawn(1)[0])
    timings["saddle_audit"] = time.perf_counter() - t0
    return Result(p, pd.concat(am, ignore_index=True), pd.DataFrame(rows),
                  pd.concat(newton, ignore_index=True), sdp, timings, audit)


def saddle_audit(p: Params, rng: np.random.Generator) -> pd.DataFrame:
    r"""Theorem 1 at critical points that AM does not reach, on ``p.audit_instances`` fresh
    instances of each sensing family (:data:`NEWTON_FAMILIES`).

    Per instance, three searches (column ``phase``):

    * ``newton-below``: Newton on :math:`\nabla F_\lambda = 0` from ``p.audit_starts`` random
      starts at each :math:`\lambda` of :attr:`Params.audit_lam_grid` (saddles included);
    * ``am-below``: one fixed-:math:`\lambda` AM run per :math:`\lambda` of the same grid, with the
      smallest Hessian eigenvalue of :math:`F_\lambda` at its limit (``hess_min``);
    * ``newton-above``: Newton from ``p.audit_starts`` random starts at
      :math:`\lambda_{hi}` = ``p.audit_factor`` :math:`\times b_{max}`, :math:`b_{max}` the largest
      bound (10) over every converged point of the two searches below (when :math:`b_{max}` is
      below the smallest grid :math:`\lambda`, e.g. negative, that :math:`\lambda` stands in).

    Every row carries the columns of :func:`.common.newton_critical_points` / ``critical_point_runs``
    plus ``gap_rel`` :math:`= \|X - Y\|_F / \max(1, \|X\|_F)`, ``sym_res`` (KKT residual of (3) at
    :math:`(X + Y)/2`), ``res_hi`` (KKT residual of (5) at :math:`\lambda_{hi}`), ``lam_hi`` and
    ``b_max``; Newton rows also ``n_neg_sym`` (negative curvature of (3) at a symmetric point)."""
    from ...factorizations.asymmetric import penalized_hessian

    rows = []
    for fam in NEWTON_FAMILIES:
        for k, g in enumerate(rng.spawn(p.audit_instances)):
            s = g.spawn(4)
            prob = make_theorem1_family(fam, s[0], n=p.n, r=p.r, mu=p.mu)
            lo = newton_critical_points(prob, p.audit_lam_grid, p.audit_starts, s[1], keep=True)
            am = critical_point_runs(prob, p.audit_lam_grid, 1, s[2], max_iter=p.max_iter,
                                     keep=True).drop(columns=["time", "h_mid"])
            am["hess_min"] = [float(np.linalg.eigvalsh(penalized_hessian(prob, X, Y, lam))[0])
                              for (X, Y), lam in zip(am["XY"], am["lam"])]
            conv = pd.concat([lo, am])
            conv = conv[conv["status"] == "converged"]
            b_max = float(conv["bound"].max()) if len(conv) else float("nan")
            # b_max <= 0 (every lambda > 0 is above the bound): the smallest grid lambda stands in
            lam_hi = p.audit_factor * max(b_max if np.isfinite(b_max) else 0.5,
                                          float(p.audit_lam_grid.min()))
            hi = newton_critical_points(prob, [lam_hi], p.audit_starts, s[3], keep=True)
            for phase, df in (("newton-below", lo), ("am-below", am), ("newton-above", hi)):
                XY = df.pop("XY")
                df["gap_rel"] = [float(np.linalg.norm(X - Y)) / max(1.0, float(np.linalg.norm(X)))
                                 for X, Y in XY]
                df["sym_res"] = [symmetric_kkt_residual(prob, 0.5 * (X + Y)) for X, Y in XY]
                df["res_hi"] = [kkt_residual(prob, X, Y, lam_hi) for X, Y in XY]
                rows.append(df.assign(family=fam, instance=k, phase=phase, lam_hi=lam_hi,
                                      b_max=b_max))
    return pd.concat(rows, ignore_index=True)


def _sdp_rows(p: Params, rng: np.random.Generator) -> tuple[pd.DataFrame, dict]:
    from ...problems.quadratic import QuadraticSensing
    from ...sdp.penalty import split_problem_sdp

    rows, times = [], {}
    cases = [(fam, p.r) for fam in THEOREM1_FAMILIES] + [("sensing", p.n), ("sensing-ridge", p.n)]
    seeds = rng.spawn(2 * len(cases))
    for j, (fam, rr) in enumerate(cases):
        prob = make_theorem1_family(fam, seeds[2 * j], n=p.n, r=p.r, mu=p.mu)
        if rr != p.r:
            prob = QuadraticSensing(prob.A, prob.b, rr, mu=prob.reg.mu)
        # the certificate is for the symmetric problem (3): require a converged symmetric limit.
        # (3) does not depend on lambda, so where lam_sdp leaves only asymmetric limits (below the
        # bound), AM reruns at 4x and 16x lam_sdp; a case with none is kept, flagged, and left out
        # of the certificate claims (referee finding 12)
        am_time, g = 0.0, [seeds[2 * j + 1], *seeds[2 * j + 1].spawn(2)]
        for lam, gk in zip(p.lam_sdp * np.array([1.0, 4.0, 16.0]), g):
            df = critical_point_runs(prob, [lam], p.n_starts if rr == p.r else 1, gk,
                                     max_iter=min(p.max_iter, 1000), keep=True)
            am_time += float(df["time"].sum())
            c = df[(df["status"] == "converged") & ~df["asym"]]
            if len(c):
                break
        sym = bool(len(c))
        c = c if sym else df   # no converged symmetric limit: report the best run, flagged
        best = c.loc[c["h_mid"].idxmin()]
        sdp = split_problem_sdp(prob, solver="CLARABEL")
        row = sdp_certificate_row(prob, *best["XY"], sdp)
        times[f"sdp_{fam}_r{rr}_cvxpy"] = float(row.pop("SDP time [s]"))
        row.pop("AM time [s]")
        times[f"sdp_{fam}_r{rr}_am"] = am_time
        rows.append({"family": fam, **row, "r": rr, "AM lambda": float(lam),
                     "symmetric limit": sym})
    return pd.DataFrame(rows), times


def _sdp_split(sdp: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    tight = sdp[(sdp["rank Z_sdp"] <= sdp["r"]) & (sdp["family"] != "snmf-indefinite")]
    return tight, sdp.drop(tight.index)


def tables(result: Result) -> dict[str, pd.DataFrame]:
    s = result.summary
    cols = ["family", "instance", "n_runs", "n_conv", "n_asym", "thm1_violations",
            "ineq9_violations", "lam_emp", "bound_sup", "ratio_sup", "max_lam_over_b"]
    fmt = {c: "{:.4g}".format for c in ["lam_emp", "bound_sup", "ratio_sup", "max_lam_over_b"]}
    nw = result.newton
    conv = nw[nw["status"] == "converged"]
    ex = theorem1_excess(nw).join(nw[["family", "n_neg"]])
    newton = pd.DataFrame([{
        "family": fam, "Newton runs": int((nw["family"] == fam).sum()),
        "converged": int((conv["family"] == fam).sum()),
        "asymmetric": int((ex["family"] == fam).sum()),
        "asymmetric saddles": int(((ex["family"] == fam) & (ex["n_neg"] > 0)).sum()),
        "min lambda / b": float(ex.loc[ex["family"] == fam, "ratio"].min()),
        "max lambda / b": float(ex.loc[ex["family"] == fam, "ratio"].max()),
        "Theorem 1 violations": int(((ex["family"] == fam) & (ex["excess10"] > THEOREM1_TOL)).sum()),
    } for fam in NEWTON_FAMILIES])
    sd = result.sdp
    sfmt = {c: "{:.3g}".format for c in ["SDP objective", "factorized objective", "objective gap",
                                         SDP_DIST, CERT_COLS[0], CERT_COLS[1], "cert scale",
                                         "cert infeasibility"]}
    extra = {"tab-t1-audit": audit_table(result)} if result.audit is not None else {}
    return {**extra, "tab-theorem1": s[cols].assign(**{c: s[c].map(f) for c, f in fmt.items()}),
            "tab-t1-newton": newton.assign(**{c: newton[c].map("{:.4g}".format)
                                              for c in ["min lambda / b", "max lambda / b"]}),
            "tab-t1-sdp": sd.assign(**{c: sd[c].map(f) for c, f in sfmt.items()})}


def glue_values(result: Result) -> dict:
    s, p = result.summary, result.params
    am_ex = theorem1_excess(result.am)
    nw = result.newton
    nw_ex = theorem1_excess(nw).join(nw[["n_neg"]])
    out = {"n_runs_total": int(s["n_runs"].sum()), "n_conv_total": int(s["n_conv"].sum()),
           "n_asym_total": int(s["n_asym"].sum()), "n_st": p.n_starts, "n_inst": p.n_instances,
           "n_lams": p.n_lams, "viol": int((am_ex["excess10"] > THEOREM1_TOL).sum()),
           "iviol": int((am_ex["excess9"] > THEOREM1_TOL).sum()),
           "nw_runs": len(nw), "nw_conv": int((nw["status"] == "converged").sum()),
           "nw_asym": len(nw_ex), "nw_saddles": int((nw_ex["n_neg"] > 0).sum()),
           "nw_viol": int((nw_ex["excess10"] > THEOREM1_TOL).sum()),
           "nw_iviol": int((nw_ex["excess9"] > THEOREM1_TOL).sum()),
           "nw_min_ratio": float(nw_ex["ratio"].min()) if len(nw_ex) else float("nan"),
           "nw_starts": p.newton_starts, "nw_lams": p.newton_lams}
    for fam in THEOREM1_FAMILIES:
        f = s[s["family"] == fam]
        key = fam.replace("-", "_")
        out[f"ratio_{key}"] = float(np.nanmax(f["ratio_sup"])) if f["ratio_sup"].notna().any() else 0.0
    for fam, key in [("sensing", "sensing"), ("sensing-ridge", "sensing_ridge"),
                     ("snmf-indefinite", "snmf_ind")]:
        out[f"tight_{key}"] = float(s.loc[s["family"] == fam, "max_lam_over_b"].max())
    tight, loose = _sdp_split(result.sdp)
    out.update(n_tight=len(tight), tight_gap=float(tight["objective gap"].abs().max()),
               loose_gap_min=float(loose["objective gap"].min()) if len(loose) else float("nan"),
               cert_tight=int((tight[CERT_COLS[2]] == "certified").sum()),
               cert_loose=int((loose[CERT_COLS[2]] != "certified").sum()), n_loose=len(loose),
               tight_dist=float(tight[SDP_DIST].max()) if len(tight) else float("nan"),
               loose_dist_min=float(loose[SDP_DIST].min()) if len(loose) else float("nan"),
               n_sdp_inacc=int((result.sdp["SDP status"] == "optimal_inaccurate").sum()))
    if "symmetric limit" in result.sdp.columns:
        out.update(n_sdp_rerun=int((result.sdp["AM lambda"] > p.lam_sdp).sum()),
                   n_sdp_nosym=int((~result.sdp["symmetric limit"].astype(bool)).sum()))
    if result.audit is not None:
        out.update(audit_glue(result))
    return out


def _units(ex: pd.DataFrame, df: pd.DataFrame) -> pd.DataFrame:
    """Add ``units10`` = (lambda - b) / s and ``units9`` = (lhs - mid) / slack to
    :func:`theorem1_excess`'s table (see :func:`_theorem1_claims`)."""
    a = df.loc[ex.index]
    s = a["slack_tol9"] / (2 * a["gap"] ** 2)
    return ex.assign(units10=(a["lam"] - a["bound"]) / s,
                     units9=(a["lhs9"] - a["mid9"]) / a["slack_tol9"])


def _theorem1_claims(prefix: str, ex: pd.DataFrame, where: str) -> list[Claim]:
    """(10) and (9) tested against the residual's slack alone (no extra tolerance): the statistic
    is the excess over the bound in units of that slack, ``(lambda - b) / s`` and
    ``(lhs - mid) / slack`` (<= 1 holds); the sensing points sit at lambda = b, so this is the
    honest scale of their margin."""
    n = len(ex)
    u10 = float(ex["units10"].max()) if n else float("inf")
    u9 = float(ex["units9"].max()) if n else float("inf")
    c10 = dataclasses.replace(at_most(u10, 1.0, scale=1.0), samples=n, min_samples=MIN_ASYM)
    c9 = dataclasses.replace(at_most(u9, 1.0, scale=1.0), samples=n, min_samples=MIN_ASYM)
    return [
        claim(f"{prefix}.no_asymmetric_above_bound",
              f"At every asymmetric critical point {where}, lambda <= bound (10) evaluated at it up "
              "to the slack s its KKT residual allows, (lambda - b) / s <= 1 (s = 10 res (1 + "
              "||D||) / (2 ||D||^2), a first-order bound with a safety factor 10; no further "
              "tolerance). A check, not a test of the paper: at an exact critical point "
              "(2 lambda + mu/2)||D||^2 = <grad f, D D^T> <= lambda_max ||D||^2, so lambda <= b "
              "holds algebraically (the proof of Theorem 1); this verifies our critical points, "
              "bound and residual slack against that identity",
              c10, kind="check"),
        claim(f"{prefix}.inequality9",
              f"At every asymmetric critical point {where}, the left inequality of (9), "
              "(2 lambda + mu/2)||D||^2 + (sigma/2)||A||^2 <= <grad f(Z), D D^T>, holds up to the "
              "residual's slack alone ((lhs - mid) / slack <= 1). The form of (9) is reconstructed "
              "in spec 000 (DERIVED), not read from the seed. A check: at an exact critical point "
              "the inequality follows algebraically from the first-order conditions",
              c9, kind="check"),
    ]


def claims(result: Result) -> list[Claim]:
    """The chapter's pre-registered claims, decided from ``result`` alone (see :mod:`bmlab.claims`)."""
    s = result.summary
    am_ex = _units(theorem1_excess(result.am), result.am)
    nw = result.newton
    nw_ex = _units(theorem1_excess(nw), nw).join(nw[["n_neg"]])
    out = _theorem1_claims("thm1", am_ex, "reached by AM")
    out += _theorem1_claims("thm1.newton", nw_ex, "found by Newton's method on the gradient "
                            "(saddles included; sensing families)")
    conv = result.am[result.am["status"] == "converged"]
    rq = ((conv["mid9"] - conv["rhs9"]) / np.maximum(np.abs(conv["rhs9"]), 1e-300)).max()
    out.append(claim("thm1.rayleigh",
                     "The right inequality of (9), <grad f, D D^T> <= lambda_max(sym grad f) ||D||^2, "
                     "holds at every AM limit (a Rayleigh-quotient identity, true for any D)",
                     at_most(float(rq), 1e-9, scale=1e-9), kind="check"))
    n_saddle = int((nw_ex["n_neg"] > 0).sum())
    out.append(claim("thm1.newton.asymmetric_saddles",
                     "Newton's method finds at least 5 asymmetric critical points that are strict "
                     "saddles (a Hessian eigenvalue below -1e-6), so Theorem 1 is tested beyond the "
                     "minima AM reaches",
                     at_least(n_saddle, MIN_ASYM - 0.5, scale=max(len(nw), 1)), kind="extension"))
    out.append(claim("thm1.newton.not_attained_at_saddles",
                     "At some asymmetric saddle found by Newton the bound is far from attained: "
                     "lambda / b <= 0.9 (on the sensing families AM's limits attain it)",
                     at_most(float(nw_ex.loc[nw_ex["n_neg"] > 0, "ratio"].min())
                             if n_saddle else float("inf"), 0.9, scale=1.0),
                     kind="extension", exploratory=True,
                     reason="stated after a prototype Newton run had shown lambda / b between 0.05 "
                            "and 0.5 at asymmetric saddles"))
    for fam in THEOREM1_FAMILIES:
        f = s[s["family"] == fam]
        out.append(claim(f"thm1.{fam}.ratio_le_1",
                         f"{fam}: empirical threshold / sup of (10) over the limits found <= 1 on every "
                         "instance (implied by thm1.no_asymmetric_above_bound: the threshold is the "
                         "lambda of an asymmetric limit, whose bound is <= the sup)",
                         at_most(f["ratio_sup"].fillna(0).to_numpy(), 1.0 + 1e-6, scale=1.0),
                         kind="check"))
    for fam in ("sensing", "sensing-ridge"):
        r = am_ex.loc[result.am.loc[am_ex.index, "family"] == fam, "ratio"]
        out.append(claim(f"thm1.{fam}.attained",
                         f"{fam}: at every asymmetric critical point AM reaches, lambda = bound (10) "
                         "(to 1e-6): the bound is attained (our finding; the paper shows tightness on "
                         "toy 4.1 only)",
                         close(r.to_numpy() if len(r) else [np.inf], 1.0, tol=1e-6),
                         kind="extension"))
    out += _audit_claims(result)
    tight, loose = _sdp_split(result.sdp)
    out.append(claim("thm1.sdp_tight",
                     "Where an SDP solution has rank <= r (sNMF with PSD M; sensing with r = n), the "
                     "best symmetric factorization is within 1e-4 (relative) of the SDP optimum",
                     all_of(at_least(len(tight), 2.5, scale=len(result.sdp)),
                            close(tight["objective gap"].abs().to_numpy() if len(tight) else [np.inf],
                                  0.0, tol=1e-4)),
                     kind="extension"))
    out.append(claim("thm1.sdp_lower_bound",
                     "Where the SDP rank exceeds r, the factorized objective stays above the SDP "
                     "optimum (a relaxation is a lower bound: a solver self-check)",
                     at_least(loose["objective gap"].to_numpy() if len(loose) else [0.0], -1e-6,
                              scale=1e-6) if len(loose) else qualitative(True, ours="no case"),
                     kind="check"))
    sd = result.sdp
    has_sym = sd["symmetric limit"] if "symmetric limit" in sd.columns else pd.Series(True, sd.index)
    st, sl = _sdp_split(sd[has_sym.astype(bool)])
    n_out = int((~has_sym.astype(bool)).sum())
    out += certificate_claims("thm1", st, sl, "Theorem 1 families (SDP cross-check; the best "
                              "converged symmetric AM limit of each case, AM rerun at 4x / 16x "
                              f"lam_sdp where lam_sdp gives none; {n_out} case(s) without a "
                              "symmetric limit left out)", min_tight=3,
                              **_paper_tight_expectation(result.params))
    return out


def _paper_tight_expectation(p) -> dict:
    """``thm1.certificate_tight`` in the paper profile: expected to fail, set after its first
    paper run (so exploratory), on the sample floor alone."""
    if p.profile != "paper":
        return {}
    return {"tight_expected": "fails", "tight_exploratory": True, "tight_reason": (
        "Set after the first paper-profile run (2026-12-01), hence exploratory: there only 2 "
        "cases are tight with a symmetric AM limit (snmf-psd r = 2, sensing-ridge r = 8), below "
        "the pre-registered floor of 3; both are certified (lambda_min(S)/scale >= -1.0e-9, "
        "||SX||/||X||/scale <= 3.4e-10). The third tight case (sensing, r = 8, rank Z_sdp = 4) "
        "has no symmetric AM limit even at 16 x lam_sdp and is left out, as the statement "
        "says. The floor is kept, not lowered: the check fails on sample count, not on a "
        "certificate")}


AUDIT_PROTOCOL = ("saddle audit: Newton on grad F = 0 from random starts (sensing families, "
                  "fresh instances), below the bound and at audit_factor x the largest bound found")


def _audit_parts(audit: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The audit's converged points, split by phase (asymmetric saddles below the bound apart)."""
    c = audit[audit["status"] == "converged"]
    lo = c[c["phase"] == "newton-below"]
    return {"below": lo, "am": c[c["phase"] == "am-below"], "above": c[c["phase"] == "newton-above"],
            "asym_saddles": lo[lo["asym"] & (lo["n_neg"] > 0)],
            "all_above": audit[audit["phase"] == "newton-above"]}


def _audit_claims(result: Result) -> list[Claim]:
    """Claims of the saddle audit (see :func:`saddle_audit`)."""
    a = result.audit
    if a is None or not len(a):
        return []
    parts = _audit_parts(a)
    lo, am, hi, sad = parts["below"], parts["am"], parts["above"], parts["asym_saddles"]
    per_inst = lo.assign(s=lo["n_neg"] > 0).groupby(["family", "instance"])["s"].sum()
    per_inst = per_inst.reindex(a.groupby(["family", "instance"]).size().index, fill_value=0)
    n_inst = len(per_inst)
    ex = _units(theorem1_excess(sad), sad)
    n = len(ex)
    u10 = float(ex["units10"].max()) if n else float("inf")
    u9 = float(ex["units9"].max()) if n else float("inf")
    where = (f"every asymmetric strict saddle that Newton finds below the bound ({n_inst} fresh "
             "sensing / sensing-ridge instances)")
    out = [
        claim("thm1.audit.am_misses_saddles",
              f"Saddle audit: on each of the {n_inst} audited instances Newton's method on the "
              "gradient finds at least one strict saddle of F_lambda (a Hessian eigenvalue below "
              "-1e-6) below the bound, while every converged AM limit there is a local minimum "
              "(smallest Hessian eigenvalue >= -1e-6): the audited saddles are critical points "
              "that AM does not reach",
              all_of(at_least(per_inst.to_numpy(), 0.5, scale=1.0),
                     dataclasses.replace(at_least(am["hess_min"].to_numpy() if len(am) else
                                                  [-np.inf], -1e-6, scale=1e-6),
                                         samples=len(am), min_samples=MIN_ASYM)),
              kind="extension", protocol=AUDIT_PROTOCOL),
        claim("thm1.audit.bound10_at_saddles",
              f"Saddle audit: at {where}, lambda <= bound (10) at the point up to the slack s its "
              "KKT residual allows, (lambda - b) / s <= 1 (as thm1.no_asymmetric_above_bound: an "
              "algebraic identity at an exact critical point, so a check of the audit's points)",
              dataclasses.replace(at_most(u10, 1.0, scale=1.0), samples=n, min_samples=MIN_ASYM),
              kind="check", protocol=AUDIT_PROTOCOL),
        claim("thm1.audit.inequality9_at_saddles",
              f"Saddle audit: at {where}, the left inequality of (9) holds up to the residual's "
              "slack ((lhs - mid) / slack <= 1). On these families (sigma = 0, symmetric "
              "measurements) it is an equality at an exact critical point, so the test is of the "
              "reconstructed (9) to the residual's precision; the form of (9) is reconstructed "
              "in spec 000 (DERIVED), not read from the seed; a check, as thm1.inequality9",
              dataclasses.replace(at_most(u9, 1.0, scale=1.0), samples=n, min_samples=MIN_ASYM),
              kind="check", protocol=AUDIT_PROTOCOL),
    ]
    stat = np.maximum(hi["gap_rel"] / AUDIT_SYM_TOL, hi["sym_res"] / AUDIT_RES_TOL)
    # Theorem 1 is contradicted only by a point that is not a symmetric critical point of (3)
    # (stat > 1) AND lies above its own bound (10) beyond the residual's slack (units10 > 1);
    # an asymmetric point with b(point) >= lambda_hi only shows that b_max underestimates the sup
    u_hi = pd.Series(np.inf, index=hi.index)
    hx = _units(theorem1_excess(hi), hi) if len(hi) else None
    if hx is not None and len(hx):
        u_hi.loc[hx.index] = hx["units10"].fillna(np.inf)   # undefined: counts against
    contra = np.minimum(stat, u_hi)
    out.append(claim(
        "thm1.audit.theorem1_above_bound",
        f"Saddle audit: at lambda_hi = {result.params.audit_factor:g} x the largest bound (10) found "
        "on the instance, no critical point Newton's method finds from random starts contradicts "
        "Theorem 1: each is either symmetric (||X - Y|| / max(1, ||X||) <= 1e-6) with X a critical "
        "point of (3) (KKT residual of (3) <= 1e-8), or asymmetric with lambda_hi <= bound (10) at "
        "that point up to its residual's slack (which would only show that the estimated b_max is "
        "below the supremum); statistic min(max of the two symmetric ratios, (lambda - b) / s) "
        "<= 1, and at least half of the starts converge. The asymmetric alternative holds by the "
        "identity behind thm1.no_asymmetric_above_bound, so the test's content is the symmetric "
        "points' criticality for (3); thm1.audit.same_critical_points_above_bound is the stronger "
        "extension",
        all_of(dataclasses.replace(at_most(contra.to_numpy() if len(hi) else [np.inf], 1.0,
                                           scale=1.0),
                                   samples=len(hi), min_samples=MIN_ASYM),
               fraction(len(hi), max(len(parts["all_above"]), 1), at_least=0.5)),
        kind="paper", quote=QUOTES["same"], protocol=AUDIT_PROTOCOL, exploratory=True,
        reason="relation set after the audit's results were known (referee finding 4): the "
               "pre-registered thm1.audit.same_critical_points_above_bound also fails on an "
               "asymmetric point with b(point) >= lambda_hi, which does not contradict Theorem 1; "
               "that form is kept as the extension"))
    out.append(claim(
        "thm1.audit.same_critical_points_above_bound",
        f"Saddle audit: at lambda_hi = {result.params.audit_factor:g} x the largest bound (10) over "
        "every critical point found on the instance (Newton and AM below; an estimate of the "
        "supremum over all critical points), every critical point Newton's method finds from random "
        "starts is symmetric (||X - Y|| / max(1, ||X||) <= 1e-6) and X is a critical point of (3) "
        "(KKT residual of (3) <= 1e-8): max of the two ratios to their tolerances <= 1, and at "
        "least half of the starts converge. Stronger than Theorem 1 (it also fails on an "
        "asymmetric point with b(point) >= lambda_hi, i.e. when b_max underestimates the "
        "supremum of (10)): our extension; the paper's statement is thm1.audit.theorem1_above_bound",
        all_of(dataclasses.replace(at_most(stat.to_numpy() if len(hi) else [np.inf], 1.0, scale=1.0),
                                   samples=len(hi), min_samples=MIN_ASYM),
               fraction(len(hi), max(len(parts["all_above"]), 1), at_least=0.5)),
        kind="extension", protocol=AUDIT_PROTOCOL))
    hs = hi[hi["n_neg"] > 0]
    out.append(claim(
        "thm1.audit.saddles_above_are_symmetric_saddles",
        "Saddle audit: above the bound Newton still finds strict saddles (at least 5), and each is "
        "a strict saddle of the symmetric problem (3) (negative curvature along symmetric "
        "directions (V, V)). Algebra: F is invariant under swapping X and Y, so at X = Y the "
        "Hessian splits into symmetric and antisymmetric directions, and the antisymmetric block "
        "is positive definite when lambda > b",
        all_of(at_least(len(hs), MIN_ASYM - 0.5, scale=max(len(hi), 1)),
               at_least(hs["n_neg_sym"].to_numpy() if len(hs) else [0], 0.5, scale=1.0)),
        kind="check", protocol=AUDIT_PROTOCOL))
    sym_lo = lo[~lo["asym"]]
    out.append(claim(
        "thm1.audit.symmetric_points_persist",
        "Saddle audit: every symmetric critical point Newton finds below the bound is still a "
        "critical point of (5) at lambda_hi (KKT residual <= 1e-8): the penalty's gradient "
        "vanishes at X = Y (the paper's 'critical point of (5) for any lambda')",
        dataclasses.replace(at_most(sym_lo["res_hi"].to_numpy() if len(sym_lo) else [np.inf],
                                    AUDIT_RES_TOL, scale=AUDIT_RES_TOL),
                            samples=len(sym_lo), min_samples=3),
        kind="check", protocol=AUDIT_PROTOCOL))
    return out


def audit_table(result: Result) -> pd.DataFrame:
    """Per audited instance: the penalties, what Newton and AM found below the bound, and what
    Newton found above it (:func:`saddle_audit`)."""
    a = result.audit
    rows = []
    for (fam, k), d in a.groupby(["family", "instance"], sort=False):
        c = d[d["status"] == "converged"]
        lo, am, hi = (c[c["phase"] == ph] for ph in ("newton-below", "am-below", "newton-above"))
        sad = lo[lo["asym"] & (lo["n_neg"] > 0)]
        rows.append({
            "family": fam, "instance": int(k), "b_max": float(d["b_max"].iloc[0]),
            "lambda_hi": float(d["lam_hi"].iloc[0]),
            "below: Newton points": len(lo), "below: saddles": int((lo["n_neg"] > 0).sum()),
            "below: asymmetric saddles": len(sad),
            "max lambda/b at asym. saddles": float((sad["lam"] / sad["bound"]).max())
            if len(sad) else float("nan"),
            "AM limits": len(am),
            "min Hessian eig. at AM limits": float(am["hess_min"].min()) if len(am) else float("nan"),
            "above: Newton points": f"{len(hi)}/{int((d['phase'] == 'newton-above').sum())}",
            "above: asymmetric": int(hi["asym"].sum()),
            "above: saddles (of (3))": f"{int((hi['n_neg'] > 0).sum())} "
                                       f"({int((hi['n_neg_sym'] > 0).sum())})",
            "above: max ||X-Y||/max(1,||X||)": float(hi["gap_rel"].max()) if len(hi) else float("nan"),
            "above: max residual of (3)": float(hi["sym_res"].max()) if len(hi) else float("nan"),
        })
    df = pd.DataFrame(rows)
    fl = [c for c in df.columns if df[c].dtype.kind == "f"]
    return df.assign(**{c: df[c].map("{:.3g}".format) for c in fl})


def audit_glue(result: Result) -> dict:
    """Numbers of the saddle-audit section."""
    a = result.audit
    parts = _audit_parts(a)
    lo, hi, sad, am = parts["below"], parts["above"], parts["asym_saddles"], parts["am"]
    return {"au_inst": int(a.groupby(["family", "instance"]).ngroups),
            "au_per_fam": result.params.audit_instances, "au_starts": result.params.audit_starts,
            "au_lams": result.params.audit_lams, "au_factor": result.params.audit_factor,
            "au_lo_pts": len(lo), "au_lo_saddles": int((lo["n_neg"] > 0).sum()),
            "au_asym_saddles": len(sad),
            "au_max_ratio": float((sad["lam"] / sad["bound"]).max()) if len(sad) else float("nan"),
            "au_am": len(am), "au_am_hmin": float(am["hess_min"].min()) if len(am) else float("nan"),
            "au_hi_pts": len(hi), "au_hi_runs": len(parts["all_above"]),
            "au_hi_asym": int(hi["asym"].sum()), "au_hi_saddles": int((hi["n_neg"] > 0).sum()),
            "au_hi_gap": float(hi["gap_rel"].max()) if len(hi) else float("nan"),
            "au_hi_res": float(hi["sym_res"].max()) if len(hi) else float("nan")}
