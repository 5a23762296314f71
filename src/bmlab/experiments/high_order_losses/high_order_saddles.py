r"""Chapter "A global condition, and saddles of the high-order loss (Theorems 5 and 6)"
(``book/high-order-losses/high-order-saddles.md``).

Theorem 5: condition (7) on the book's instances, and GD on an instance built to satisfy it.
Theorem 6: critical points of :math:`f^4_\lambda` enumerated by Newton for several
:math:`\lambda` (:mod:`bmlab.experiments.high_order_losses.common`), condition (10) and bound (11) at each -- at :math:`X = 0` and,
separately, at the critical points away from it (small :math:`\lambda` are included because
(10) certifies points :math:`\hat X \ne 0` only while :math:`\lambda D^{l-2}` is small) -- and the
negative curvature at :math:`X = 0` against :math:`\lambda`.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ...bounds.strict_saddle import theorem5_lhs, theorem5_rhs
from ...claims import Claim, all_of, at_least, at_most, claim, fraction, monotone, qualitative
from ...problems.sensing import gaussian_sensing, rip_ratio_range, weighted_rip_delta
from ...validation import check_int, check_real
from ..base import ExperimentParams
from .common import (InstanceSpec, check_floats, curvature_at_zero, make_instance, n_orbits,
                     survey, theorem5_check, theorem5_delta_max)
from .strict_saddles import ZERO_TOL, bound_slack

__all__ = ["Params", "Result", "run", "claims", "glue_values", "theorem5_table", "thm6_table",
           "multiplier", "region_table", "certified_counts", "REGION_LAMS"]

QUOTE5 = ("Theorem 5: \"Assume that its ground truth solution M* satisfies the following "
          "inequality (7) ... Then, every second-order critical point X̂ of (1) satisfies "
          "X̂X̂ᵀ = M*\"")
QUOTE6 = ("Theorem 6: \"Given a first-order critical point X̂ of (8), if (10) then X̂ is a strict "
          "saddle point with ∇²f(X̂) having a strictly negative eigenvalue not larger than "
          "(11)\"")

QUOTE_OVERPARAM = ("\"Where in comparison to (10) the multiplicative factor to tr(M*)σ²_r(X̂) becomes "
                   "[...] which is on the order of magnitude of O(l(√m/2)^l((1+δ)/(1−δ))^(l/2)). "
                   "This means that by utilizing a high-order loss, we can recover some of the "
                   "desirable properties of an over-parametrized technique.\"")
REGION_LAMS = (0.0, 0.01, 0.1, 1.0, 10.0, 100.0)
"""λ grid of the certified-region curves (the same in both profiles)."""

SPECS_ALL = (InstanceSpec("weighted", 5, 0.3), InstanceSpec("weighted", 5, 0.8),
             InstanceSpec("gaussian", 5, m=60, key=1), InstanceSpec("gaussian", 4, m=100, key=3))


@dataclass(frozen=True)
class Params(ExperimentParams):
    """``specs``/``lams``/``n_starts``: the Theorem 6 survey; ``curv_points``: log-spaced λ in
    [1e-2, 1e2] (plus 0) for the curvature at X = 0; ``min_far``: critical points X̂ ≠ 0 with
    λ > 0 satisfying (10) the far-point claim needs; Theorem 5's instance (``n5``, ``eps5``,
    ``r5``) and its ``gd_runs`` GD runs (``gd_tol``: the distance counted as reaching M*)."""

    specs: tuple = (SPECS_ALL[0], SPECS_ALL[1])
    lams: tuple = (0.0, 0.01, 0.03)
    n_starts: int = 30
    curv_points: int = 9
    min_far: int = 3
    n5: int = 20
    eps5: float = 0.9
    r5: int = 16
    gd_runs: int = 3
    gd_tol: float = 1e-2

    PRESETS = {"quick": {"n_starts": 30, "gd_runs": 3, "curv_points": 9,
                         "lams": (0.0, 0.01, 0.03, 0.5), "specs": (SPECS_ALL[0], SPECS_ALL[1])},
               "paper": {"n_starts": 150, "gd_runs": 5, "curv_points": 33,
                         "lams": (0.0, 0.01, 0.03, 0.5, 5.0, 50.0), "specs": SPECS_ALL}}

    def validate(self) -> None:
        if not self.specs or not all(isinstance(s, InstanceSpec) for s in self.specs):
            raise ValueError("specs must be a non-empty tuple of InstanceSpec")
        object.__setattr__(self, "specs", tuple(self.specs))
        object.__setattr__(self, "lams", check_floats("lams", self.lams, lo=0))
        check_int("n_starts", self.n_starts, lo=1)
        check_int("curv_points", self.curv_points, lo=2)
        check_int("min_far", self.min_far, lo=1)
        check_int("n5", self.n5, lo=2)
        check_real("eps5", self.eps5, lo=0, lo_open=True, hi=1)
        check_int("r5", self.r5, lo=1, hi=self.n5)
        check_int("gd_runs", self.gd_runs, lo=1)
        check_real("gd_tol", self.gd_tol, lo=0, lo_open=True)

    @property
    def curv_grid(self) -> np.ndarray:
        return np.r_[0.0, np.logspace(-2, 2, self.curv_points)]


@dataclass
class Result:
    """``t5``: condition (7) on the instances; ``gd5``: GD on the instance satisfying it;
    ``points``: critical points of f^4_λ for every (instance, λ), with ``far``;
    ``curvature``: per instance label, λmin at X = 0 and bound (11) along ``curv_grid``."""

    params: Params
    t5: pd.DataFrame
    gd5: pd.DataFrame
    points: pd.DataFrame
    curvature: dict
    deltas: dict
    region: pd.DataFrame | None = None
    geometry: dict | None = None

    @property
    def c10(self) -> pd.DataFrame:
        return self.points[self.points.cond10]

    @property
    def far10(self) -> pd.DataFrame:
        """Critical points X̂ ≠ 0 of f^4_λ with λ > 0 satisfying (10)."""
        p = self.points
        return p[p.cond10 & p.far & (p.lam > 0)]

    @property
    def zero(self) -> pd.DataFrame:
        return self.points[~self.points.far]


def theorem5_table(rng_factory, p: Params) -> pd.DataFrame:
    """Condition (7) on the weighted instances of the table and the landscape figure, three
    draws of the perturbed-GD instance (n = 5, r = r* = 3, m = 20), and the over-parametrized
    weighted instance (``n5``, ``eps5``, ``r5``) built to satisfy it."""
    rows = []
    for eps, lab in [(0.3, "table (weighted, ε = 0.3)"), (0.1, "landscape (weighted, ε = 0.1)")]:
        z = np.zeros((5, 1))
        z[::2] = 1
        d = weighted_rip_delta(eps)
        rows.append({"instance": lab, "r*": 1, "r": 1, "δ": d,
                     "lhs (7)": theorem5_lhs(z @ z.T, 1), "rhs (7)": theorem5_rhs(1, d)})
    for k in range(3):
        g = rng_factory(50 + k)
        op = gaussian_sensing(5, 20, g)
        Z = g.standard_normal((5, 3))
        d = rip_ratio_range(op, 6).delta
        rows.append({"instance": f"perturbed GD (Gaussian n=5, m=20) #{k}", "r*": 3, "r": 3,
                     "δ": d, "lhs (7)": theorem5_lhs(Z @ Z.T, 3), "rhs (7)": theorem5_rhs(3, d)})
    d5 = weighted_rip_delta(p.eps5)
    z = np.zeros((p.n5, 1))
    z[::2] = 1
    rows.append({"instance": f"weighted n={p.n5}, ε={p.eps5}, over-parametrized", "r*": 1,
                 "r": p.r5, "δ": d5, "lhs (7)": theorem5_lhs(z @ z.T, 1),
                 "rhs (7)": theorem5_rhs(p.r5, d5)})
    t5 = pd.DataFrame(rows)
    t5["(7) holds"] = t5["lhs (7)"] <= t5["rhs (7)"]
    return t5


def run(params: Params, rng_factory) -> Result:
    """Everything the chapter shows; ``rng_factory(key)`` gives the generator of each draw."""
    p = params
    t5 = theorem5_table(rng_factory, p)
    gd5 = theorem5_check(p.n5, p.eps5, p.r5, rng_factory(60), runs=p.gd_runs)
    df = survey(p.specs, p.lams, rng_factory, n_starts=p.n_starts)
    df["far"] = df.sigma_r > ZERO_TOL
    curv, deltas, geom = {}, {}, {}
    for spec in p.specs:
        inst = make_instance(spec, rng_factory)
        curv[spec.label] = curvature_at_zero(inst, p.curv_grid)
        deltas[spec.label] = (inst.delta, inst.m)
        M = inst.problem.M_star
        geom[spec.label] = (float(np.trace(M)), float(np.linalg.norm(M)))
    region = region_table(deltas, geom, REGION_LAMS)
    return Result(p, t5, gd5, df, curv, deltas, region, geom)


def claims(result: Result) -> list[Claim]:
    """Pre-registered claims (identical thresholds in both profiles)."""
    p = result.params
    D = result.gd5.D.to_numpy()
    far, zero = result.far10, result.zero
    s_far = bound_slack(far, "bound11")
    m_far = float(s_far.min()) if len(far) else -1.0
    curv = list(result.curvature.values())
    d5 = weighted_rip_delta(p.eps5)
    lam_txt = ", ".join(f"{l:g}" for l in p.lams if l > 0)
    far_lams = ", ".join(f"{l:g}" for l in sorted(set(far.lam))) if len(far) else "none"
    n_far = n_orbits(far)
    zero_pos = zero[zero.lam > 0]
    extra = region_claims(result) if result.region is not None else []
    return extra + [
        claim("hol.thm5.conclusion",
              f"On an instance satisfying (7) (weighted n={p.n5}, ε={p.eps5:g}, r={p.r5}; "
              f"δ = {d5:.3f}), GD from each of {len(D)} random starts (at least 3 needed) ends "
              f"within ‖XXᵀ − M*‖_F ≤ {p.gd_tol:g} after its iteration budget",
              all_of(at_most(D, p.gd_tol), fraction(int((D <= p.gd_tol).sum()), len(D),
                                                    at_least=1.0, min_samples=3)),
              kind="extension", exploratory=True,
              reason=f"not a test of Theorem 5: δ = {d5:.3f} is below 1/5 (Bhojanapalli et al.) "
                     "and 1/2 (Zhang 2019), so a benign landscape is guaranteed whether or not "
                     "Theorem 5 is true; and the runs stop at their iteration budget without "
                     "converging (over-parametrized GD is sublinear), so the tolerance "
                     f"{p.gd_tol:g} was chosen knowing where GD stopped (D ≈ 4e-3)"),
        claim("hol.thm6.bound_far",
              "At every enumerated critical point X̂ ≠ 0 of f^4_λ with λ > 0 satisfying (10), "
              f"λmin(∇²f^4_λ(X̂)) ≤ bound (11); such points were found only at λ ∈ "
              f"{{{far_lams}}} (of the λ surveyed: {lam_txt}), where (11) is weaker than (5), "
              f"so this tests the bound, not an amplification; samples: the {n_far} distinct "
              f"points modulo each instance's symmetry (support permutations, sign; {len(far)} "
              f"images found), at least {p.min_far} needed (margin: smallest (bound − λmin)/"
              "|bound|)",
              qualitative(bool(len(far)) and m_far >= 0, ours=m_far,
                          margin=m_far if m_far != 0 else None, samples=n_far,
                          min_samples=p.min_far, relation="λmin ≤ bound (11) at every far point"),
              kind="paper", quote=QUOTE6),
        claim("hol.thm6.bound_at_zero",
              "At the critical point X = 0 of every instance and every λ > 0 surveyed ((10) holds "
              "there since σ_r = 0), λmin(∇²f^4_λ(0)) ≤ bound (11) (margin: smallest (bound − "
              "λmin)/|bound|; λ = 0 is left out: there (11) is (5) and the inequality is an "
              "identity, see hol.thm3.bound_at_zero, while C(4) = 11/(4m) in the λ-term is not "
              "covered by that argument)",
              at_least(bound_slack(zero_pos, "bound11"), 0.0, scale=1.0), kind="paper",
              quote=QUOTE6),
        claim("hol.thm6.amplification",
              f"At the saddle X = 0 of every instance, λmin(∇²f^4_λ) decreases strictly (more "
              f"negative curvature) along {len(p.curv_grid)} λ in [0, 100] and stays below "
              "bound (11) there (margins: smallest decrease relative to the largest |λmin|; "
              "smallest (bound − λmin)/|bound|). Our reading, close to certain: at X = 0, "
              "λmin(λ) is concave in λ, so a strict decrease reduces to the sign of its slope "
              "at λ = 0",
              all_of(*[monotone(c.lam_min.to_numpy(), increasing=False) for c in curv],
                     *[at_least(bound_slack(c, "bound11"), 0.0, scale=1.0) for c in curv]),
              kind="extension"),
    ]


def multiplier(u, delta: float, m: int, l: int = 4):
    r"""The multiplier :math:`K(u)` of :math:`\operatorname{tr}(M^*)\sigma_r^2` in condition
    (10) as a function of :math:`u = \lambda D^{l-2}`:
    :math:`K(u) = \frac{(1+\delta) + u(l-1)(1+\delta)^{l/2}}{(1-\delta)/2 + uC(l)(1-\delta)^{l/2}}`,
    from :math:`K(0) = 2(1+\delta)/(1-\delta)` (Theorem 3) to
    :math:`K(\infty) = (l-1)(1+\delta)^{l/2}/(C(l)(1-\delta)^{l/2})`. A Möbius function of
    :math:`u`, hence monotone: increasing iff :math:`K(\infty) > K(0)`, i.e. (for
    :math:`l = 4`) iff :math:`\tfrac{6m}{11}\tfrac{1+\delta}{1-\delta} > 1`."""
    from ...bounds.strict_saddle import C_l
    u = np.asarray(u, dtype=float)
    num = (1 + delta) + u * (l - 1) * (1 + delta) ** (l / 2)
    den = (1 - delta) / 2 + u * C_l(l, m) * (1 - delta) ** (l / 2)
    return num / den


def k_infinity(delta: float, m: int, l: int = 4) -> float:
    """K(∞) of :func:`multiplier`."""
    from ...bounds.strict_saddle import C_l
    return float((l - 1) * (1 + delta) ** (l / 2) / (C_l(l, m) * (1 - delta) ** (l / 2)))


def slides_order(delta: float, m: int, l: int = 4) -> float:
    r"""The slides' order-of-magnitude estimate of the multiplier,
    :math:`l(\sqrt m/2)^l((1+\delta)/(1-\delta))^{l/2}`."""
    return float(l * (np.sqrt(m) / 2) ** l * ((1 + delta) / (1 - delta)) ** (l / 2))


def region_area(delta: float, m: int, tr: float, D_max: float, lam: float, l: int = 4,
                n_grid: int = 4001) -> float:
    r"""Area of the region of the :math:`(D, \sigma_r^2)` plane, :math:`0\le D\le D_{\max}`,
    where condition (10) holds: :math:`\int_0^{D_{\max}} D^2/(t\,K(\lambda D^{l-2}))\,dD`
    (at each :math:`D` the certified :math:`\sigma_r^2` run from 0 to
    :math:`D^2/(tK)`), by the trapezoid rule."""
    D = np.linspace(0.0, D_max, n_grid)
    return float(np.trapezoid(D ** 2 / (tr * multiplier(lam * D ** (l - 2), delta, m, l)), D))


def region_table(deltas: dict, geom: dict, lams) -> pd.DataFrame:
    """Certified-region area against λ per instance, relative to λ = 0 (``D_max`` = ‖M*‖_F,
    the distance of the farthest critical point X = 0), with the multipliers of the
    comparison: Theorem 3's K(0), the lifted technique's (1+δ)/(1−δ) (area ratio 2), the
    amplification threshold K(∞) (bound (11) below bound (5) iff D²/(tσ_r²) > K(∞)), the
    slides' order estimate, and Zhang's sufficient rank r > r*[(1+δ)/(1−δ) − 1]²/4."""
    rows = []
    for label, (delta, m) in deltas.items():
        tr, nrm = geom[label]
        a0 = region_area(delta, m, tr, nrm, 0.0)
        for lam in lams:
            rows.append({"instance": label, "δ": delta, "m": m, "λ": float(lam),
                         "area_rel": region_area(delta, m, tr, nrm, float(lam)) / a0,
                         "K_lam_at_Dmax": float(multiplier(lam * nrm ** 2, delta, m)),
                         "K0": float(multiplier(0.0, delta, m)),
                         "K_lift": (1 + delta) / (1 - delta), "K_inf": k_infinity(delta, m),
                         "slides_order": slides_order(delta, m),
                         "zhang_rank": ((1 + delta) / (1 - delta) - 1) ** 2 / 4})
    return pd.DataFrame(rows)


def certified_counts(result: "Result") -> pd.DataFrame:
    """Distinct critical points X̂ ≠ 0 (modulo symmetry) that are not global, and how many of
    them condition (10) certifies, per instance and λ of the survey."""
    p = result.points
    far = p[p.far & (p.type != "global")]
    rows = []
    for (inst, lam), g in far.groupby(["instance", "lam"], sort=False):
        rows.append({"instance": inst, "λ": float(lam), "far_points": n_orbits(g),
                     "certified_10": n_orbits(g[g.cond10]), "certified_4": n_orbits(g[g.cond4])})
    return pd.DataFrame(rows)


def region_claims(result: Result) -> list[Claim]:
    """Claims of the certified-region section (issue 14)."""
    reg = result.region
    lams = sorted(set(reg["λ"]))
    checks, ratios = [], []
    for label, g in reg.groupby("instance", sort=False):
        a = g.sort_values("λ").area_rel.to_numpy()
        checks.append(monotone(a, increasing=False))
        ratios.append(f"{label}: {a[-1]:.3f}")
    cnt = certified_counts(result)
    lam0, lam1 = min(result.params.lams), max(result.params.lams)
    c0 = int(cnt[cnt["λ"] == lam0].certified_10.sum()) if len(cnt) else 0
    c1 = int(cnt[cnt["λ"] == lam1].certified_10.sum()) if len(cnt) else 0
    return [
        claim("hol.thm6.region_vs_lam",
              "The region where condition (10) certifies a strict saddle — in the (D, σ_r²) "
              "plane, 0 ≤ D ≤ ‖M*‖_F, σ_r² ≤ D²/(tr(M*) K(λD^(l−2))) — shrinks strictly as λ "
              f"grows over the {len(lams)} values λ ∈ {{{', '.join(f'{l:g}' for l in lams)}}} on "
              f"every instance (area relative to λ = 0 at λ = {lams[-1]:g}: {'; '.join(ratios)}). "
              "It does not grow: K is a Möbius function of λD^(l−2), rising from "
              "2(1+δ)/(1−δ) to K(∞) = (l−1)(1+δ)^(l/2)/(C(l)(1−δ)^(l/2)), and K(∞)/K(0) = "
              "(6m/11)(1+δ)/(1−δ) > 1 for l = 4 and every m ≥ 2; so issue 14's reading that the "
              "certified region grows with λ is refuted by the algebra of (10) (margin: "
              "smallest decrease relative to the area at λ = 0)",
              all_of(*checks), kind="check",
              protocol="trapezoid rule on 4001 points of D; λ grid fixed in code"),
        claim("hol.thm6.certified_points_vs_lam",
              "Among the enumerated critical points X̂ ≠ 0 that are not global (distinct modulo "
              "each instance's symmetry, summed over the instances), condition (10) certifies "
              f"no more at the largest surveyed λ = {lam1:g} than at λ = {lam0:g} (ours: {c1} "
              f"against {c0}; margin: (count at λ = {lam0:g} + ½ − count at λ = {lam1:g}) over "
              "the larger count, so a tie holds by half a point)",
              at_most(c1, c0 + 0.5, scale=max(c0, c1, 1)), kind="extension",
              protocol="Newton enumeration of the critical points at each λ (the survey of "
                        "this chapter); counts modulo symmetry"),
    ]


def thm6_table(result: Result) -> pd.DataFrame:
    df = result.points
    t = df.groupby(["instance", "lam"], sort=False).agg(
        δ=("delta", "first"), points=("D", "size"),
        spurious_minima=("type", lambda s: int((s == "spurious min").sum())),
        satisfy_4=("cond4", "sum"), satisfy_10=("cond10", "sum"),
        satisfy_10_away_from_0=("cond10", lambda s: int((s & df.loc[s.index, "far"]).sum())),
        max_residual=("grad_norm", "max")).reset_index().rename(columns={"lam": "λ"})
    t["δ"] = t["δ"].round(3)
    return t


def glue_values(result: Result) -> dict:
    p, t5, c10, far = result.params, result.t5, result.c10, result.far10
    paper_inst = t5.iloc[:-1]
    return {"rmin_half": int(np.ceil(8 / ((1.5) ** 0.5 * 0.5 ** 3.5) ** 2)),
            "dmax_r16": theorem5_delta_max(1.0, 16), "dmax_r64": theorem5_delta_max(1.0, 64),
            "d5": weighted_rip_delta(p.eps5), "n_paper_inst": len(paper_inst),
            "n_paper_hold": int(paper_inst["(7) holds"].sum()),
            "thm5_Dmax": float(result.gd5.D.max()), "n_starts": p.n_starts,
            "n10": len(c10), "n_all": len(result.points),
            "slack11": float((c10.bound11 - c10.lam_min).min()),
            "n10_nonzero_pos": len(far), "n10_far_orbits": n_orbits(far),
            "slack11_far_rel": float(bound_slack(far, "bound11").min()) if len(far) else float("nan"),
            "far_lam_max": float(far.lam.max()) if len(far) else 0.0,
            **(region_glue(result) if result.region is not None else {})}


def region_glue(result: Result) -> dict:
    """Numbers of the certified-region section."""
    reg = result.region
    top = reg[reg["λ"] == reg["λ"].max()]
    cnt = certified_counts(result)
    lam0, lam1 = min(result.params.lams), max(result.params.lams)
    ms = sorted(set(int(m) for m in reg.m))
    return {"region_min": float(top.area_rel.min()), "region_max": float(top.area_rel.max()),
            "region_lam_top": float(reg["λ"].max()),
            "kinf_over_k0_min": float((reg.K_inf / reg.K0).min()),
            "kinf_over_k0_max": float((reg.K_inf / reg.K0).max()),
            "order_ratio_min": float((reg.K_inf / reg.slides_order).min()),
            "order_ratio_max": float((reg.K_inf / reg.slides_order).max()),
            "region_ms": ", ".join(map(str, ms)),
            "zhang_min": float(reg.zhang_rank.min()), "zhang_max": float(reg.zhang_rank.max()),
            "cert_lam0": int(cnt[cnt["λ"] == lam0].certified_10.sum()) if len(cnt) else 0,
            "cert_lam1": int(cnt[cnt["λ"] == lam1].certified_10.sum()) if len(cnt) else 0,
            "far_lam0": int(cnt[cnt["λ"] == lam0].far_points.sum()) if len(cnt) else 0,
            "far_lam1": int(cnt[cnt["λ"] == lam1].far_points.sum()) if len(cnt) else 0,
            "lam_survey_max": float(lam1)}
