r"""Chapter ``implicit-bias/fixed-points``: paper 001, §2.3, Lemma 1 and Proposition 1.

Three instances on one noiseless rank-3 completion problem (spec 001 §4):

* **full** -- UDU with :math:`r = n` from :math:`\rho = 10^{-2}`, :math:`D_0 = I`; its limit
  interpolates, so :math:`G \approx 0` there and Lemma 1 (a), (c) hold almost trivially;
* **deficient** -- UDU with :math:`r = 2` below the true rank: its fixed point is a BM stationary
  point with :math:`G \ne 0` (a negative eigenvalue remains), where (a), (c) and
  :math:`G\tilde U = 0` are non-trivial;
* **dormant** -- case (d) made to arise: the deficient fixed point with one extra column
  :math:`v` at :math:`d = 0` (``U`` rescaled so that :math:`\|U\|_F = \alpha` and :math:`X` is
  unchanged), :math:`v` the eigenvector of :math:`G_s` for its largest eigenvalue
  (:math:`v^\top Gv > 0`) or for its smallest (:math:`v^\top Gv < 0`), each followed by
  ``dormant_iter`` more iterations of (3).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from ...claims import Claim, all_of, at_least, at_most, claim, qualitative
from ...validation import check_int, check_real
from ..base import ExperimentParams
from .common import blas_single_thread, budget_line

__all__ = ["Params", "Result", "run", "claims", "table", "glue_values", "certificate_table",
           "QUOTES"]

TRUE_RANK = 3
FP_TOL = 1e-5     # fixed-point residual of a converged run
TOL = 1e-4        # Lemma 1 quantities: 10·FP_TOL/η at η = 0.1
CERT_FP_TOL = 1e-8
"""The full point is certified only after it has been run on (chunks of ``CERT_CHUNK``
iterations, at most ``CERT_MAX_CHUNKS``) to fixed-point residual ≤ CERT_FP_TOL, so that the
certificate's verdict (tol 1e-6) is not decided by where the budget stops the run."""
CERT_CHUNK = 10_000
CERT_MAX_CHUNKS = 20
G_MIN = 1e-2      # "G is not small": ‖G_s‖₂ at least 100·TOL
QUOTES = {
    "lemma": "Lemma 1 (Fixed-point characterization). ... (a) If [‖Û‖_F ≤ α], then "
             "[d_i ∇f u_i = 0] for all i. ... (c) If [d_i > 0], then [u_iᵀ∇f u_i = 0]. (d) If "
             "[d_i = 0], then [u_iᵀ∇f u_i ≥ 0]. (§2.3)",
    "prop": "Proposition 1 (Exclusion of spurious fixed points). There are no fixed points of the "
            "algorithm in (3) such that [‖Û‖_F > α]. As a consequence, all valid fixed points "
            "satisfy [∇f(UDUᵀ)UD = 0], and the fixed point structure coincides with that of BM "
            "factorization (after the change of variables [Ũ = UD^½]). (§2.3)",
    "path": "Specifically, U tends to grow along specific directions while the rescaling induced "
            "by projection onto the bounded constraint shrinks other coordinates. (A.3)",
    "negative": "These expressions show that both [u_i] and [d_i] tend to grow in the directions "
                "aligned with the negative eigenvectors of [∇f], even though, by Lemma 1, no "
                "fixed point with [u_iᵀ∇f u_i < 0] is possible unless [u_i = 0]. (§2.3)",
}


@dataclass(frozen=True)
class Params(ExperimentParams):
    n: int = 40
    max_iter: int = 20_000
    eta: float = 0.1
    alpha: float = 1.0
    rho: float = 1e-2
    deficient_rank: int = 2
    dormant_scale: float = 0.1       # ‖v‖ of the dormant column
    dormant_iter: int = 10_000
    PRESETS: ClassVar[dict[str, dict[str, Any]]] = {
        "quick": {"n": 40, "max_iter": 20_000},
        "paper": {"n": 100, "max_iter": 100_000},
    }

    def validate(self) -> None:
        check_int("n", self.n, lo=8)
        check_int("max_iter", self.max_iter, lo=1)
        check_real("eta", self.eta, lo=0, lo_open=True)
        check_real("alpha", self.alpha, lo=0, lo_open=True)
        check_real("rho", self.rho, lo=0, lo_open=True)
        check_int("deficient_rank", self.deficient_rank, lo=1, hi=TRUE_RANK - 1)
        check_real("dormant_scale", self.dormant_scale, lo=0, hi=1, lo_open=True, hi_open=True)
        check_int("dormant_iter", self.dormant_iter, lo=1)


@dataclass
class Result:
    params: Params
    reports: dict          # instance -> FixedPointReport at its last iterate
    residuals: dict        # instance -> final ‖A(X) − b‖²
    path_iters: np.ndarray
    path_u_hat: np.ndarray  # ‖Û_t‖_F along the full run
    converse: dict         # residual of the mapped BM point, its bound, BM gradient
    dormant: dict          # "v⁺"/"v⁻" -> dict(quad0, iters, residual, d_dormant, weight_frac, report)
    timings: dict
    problem: Any = None    # the completion instance (for the certificates)
    points: dict | None = None   # instance -> factor (U, d) or U (BM) at the last iterate
    full_polish: dict | None = None  # extra iterations and fixed-point residual of the certified full point


def _G_matrix(P, U, d) -> np.ndarray:
    res = P.forward_factored(U, d) - P.b
    return P.sym_adjoint_apply(res, np.eye(P.n))


def _dormant(P, U, d, v, p: Params) -> dict:
    from ...solvers.udu import run_udu
    from ...fixed_points import check_fixed_point

    t = p.dormant_scale
    s = np.sqrt(1.0 - t ** 2) * p.alpha / np.linalg.norm(U)
    Ua = np.c_[U * s, t * p.alpha * v]
    da = np.r_[d / s ** 2, 0.0]
    G = _G_matrix(P, Ua, da)
    quad0 = float(v @ G @ v / np.linalg.norm(G, 2))
    start = check_fixed_point(P, Ua, da, eta=p.eta, alpha=p.alpha)
    out = run_udu(P, Ua, da, eta=p.eta, max_iter=p.dormant_iter, alpha=p.alpha,
                  trackers={"d_dormant": lambda x: x[1][-1]})
    Uk, dk = out.x
    w = dk * np.linalg.norm(Uk, axis=0) ** 2
    return {"quad0": quad0, "start_fp": start.fixed_point_residual, "iters": out.history["iter"],
            "x": (Uk, dk),
            "residual": out.history["residual"], "d_dormant": out.history["d_dormant"],
            "weight_frac": float(w[-1] / w.max()) if w.max() > 0 else 0.0,
            "report": check_fixed_point(P, Uk, dk, eta=p.eta, alpha=p.alpha)}


def run(params: Params, rng_problem: np.random.Generator, rng_start: np.random.Generator,
        rng_deficient: np.random.Generator) -> Result:
    """The chapter's experiment: compute the results for ``params`` (a diverged run is an outcome, not an exception)."""
    import time

    from ...factorizations.udu import scaled_init
    from ...solvers.udu import run_bm, run_udu
    from ...fixed_points import bm_stationarity, bm_to_udu, check_fixed_point
    from ...problems.completion import make_completion

    p = params
    P = make_completion(p.n, TRUE_RANK, rng=rng_problem)
    U0 = scaled_init(p.n, p.n, p.rho, rng_start)
    track = {"U_hat_norm": lambda x: check_fixed_point(P, x[0], x[1], eta=p.eta,
                                                       alpha=p.alpha).norm_U_hat}
    timings = {}
    with blas_single_thread():
        t0 = time.perf_counter()
        full = run_udu(P, U0, eta=p.eta, max_iter=p.max_iter, alpha=p.alpha, trackers=track)
        bm = run_bm(P, U0, eta=p.eta, max_iter=p.max_iter)
        timings["full"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        U2 = scaled_init(p.n, p.deficient_rank, p.rho, rng_deficient)
        deficient = run_udu(P, U2, eta=p.eta, max_iter=p.max_iter, alpha=p.alpha)
        timings["deficient"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        Ud, dd = deficient.x
        w, V = np.linalg.eigh(_G_matrix(P, Ud, dd))
        dormant = {"v⁺": _dormant(P, Ud, dd, V[:, -1], p), "v⁻": _dormant(P, Ud, dd, V[:, 0], p)}
        timings["dormant"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        xf, extra = full.x, 0
        rf = check_fixed_point(P, *xf, eta=p.eta, alpha=p.alpha).fixed_point_residual
        while rf > CERT_FP_TOL and extra < CERT_MAX_CHUNKS * CERT_CHUNK:
            xf = run_udu(P, *xf, eta=p.eta, max_iter=CERT_CHUNK, alpha=p.alpha).x
            extra += CERT_CHUNK
            rf = check_fixed_point(P, *xf, eta=p.eta, alpha=p.alpha).fixed_point_residual
        timings["full_polish"] = time.perf_counter() - t0
    reports = {"full": check_fixed_point(P, *full.x, eta=p.eta, alpha=p.alpha),
               "deficient": check_fixed_point(P, Ud, dd, eta=p.eta, alpha=p.alpha)}
    Ub, db = bm_to_udu(bm.x, alpha=p.alpha)
    gamma, g = np.linalg.norm(bm.x) / p.alpha, bm_stationarity(P, bm.x)
    converse = {"residual": check_fixed_point(P, Ub, db, eta=p.eta,
                                              alpha=p.alpha).fixed_point_residual,
                # nonexpansive projections: at most the size of the step
                "bound": p.eta * g * (gamma + np.linalg.norm(bm.x) / (2 * gamma ** 2)),
                "bm_grad": g}
    return Result(p, reports, {"full": float(full.history["residual"][-1]),
                               "deficient": float(deficient.history["residual"][-1])},
                  full.history["iter"], full.history["U_hat_norm"], converse, dormant, timings,
                  problem=P, full_polish={"extra_iter": extra, "fp_residual": float(rf)},
                  points={"full": xf, "deficient": deficient.x, "BM": bm.x,
                                     "dormant v⁺": dormant["v⁺"]["x"],
                                     "dormant v⁻": dormant["v⁻"]["x"]})


def table(result: Result) -> pd.DataFrame:
    """Every statement of Lemma 1 / Proposition 1 at the final iterates."""
    a = result.params.alpha
    rows = {}
    for key, rep in list(result.reports.items()) + [("dormant v⁺", result.dormant["v⁺"]["report"])]:
        rows[key] = {"final residual ‖A(X)−b‖²": result.residuals.get(key, np.nan),
                     "fixed-point residual": rep.fixed_point_residual,
                     "‖Û‖_F − α": rep.norm_U_hat - a, "case (a) max‖d_i G_s u_i‖": rep.case_a,
                     "case (c) max|u_iᵀGu_i|, d_i>0": rep.case_c,
                     "case (d) min u_iᵀGu_i, d_i=0": rep.case_d, "#d_i>0": rep.n_active,
                     "#d_i=0": rep.n_zero, "‖G_s‖₂": rep.scale, "BM grad at UD^½": rep.bm_grad}
    df = pd.DataFrame(rows)
    return df.reset_index().rename(columns={"index": "quantity"})


def certificate_table(result: Result) -> pd.DataFrame:
    r"""Dual certificate (:func:`bmlab.sdp.certificate`, PSD least squares
    :math:`\min_{Z\succeq0}\tfrac12\|P_\Omega(Z)-b\|^2`, tol 1e-6) of every final point: which
    fixed points are global minimisers of the convex problem and which are spurious."""
    from ...sdp import certificate

    rows = []
    for key, x in (result.points or {}).items():
        c = certificate(result.problem, x)
        rows.append({"point": key, "λ_min(S)": c.lambda_min, "‖SX‖/‖X‖": c.residual,
                     "scale": c.scale, "verdict": c.verdict})
    return pd.DataFrame(rows, columns=["point", "λ_min(S)", "‖SX‖/‖X‖", "scale", "verdict"])


def glue_values(result: Result) -> dict:
    p, r = result.params, result.reports
    dm = result.dormant["v⁻"]
    return {"n": p.n, "max_iter": f"{p.max_iter:,}", "budget": budget_line(p.max_iter, (p.eta,), paper="no experiment for Lemma 1; Figure 1 runs "
                                 "1,000,000"),
            "ca": max(x.case_a for x in r.values()), "cc": max(x.case_c for x in r.values()),
            "bg": max(x.bm_grad for x in r.values()),
            "gap": max(x.norm_U_hat for x in r.values()) - p.alpha,
            "n_zero": int(r["full"].n_zero), "g_def": r["deficient"].scale,
            "quad_plus": result.dormant["v⁺"]["quad0"], "quad_minus": dm["quad0"],
            "dormant_iter": f"{p.dormant_iter:,}", "dormant_weight": dm["weight_frac"],
            "dormant_drop": float(dm["residual"][-1] / dm["residual"][0]),
            "case_d": result.dormant["v⁺"]["report"].case_d,
            "polish_iter": f"{(result.full_polish or {}).get('extra_iter', 0):,}",
            "polish_fp": float((result.full_polish or {}).get("fp_residual", float("nan"))),
            "cert_verdicts": ", ".join(f"{k}: {v}" for k, v in certificate_table(result)
                                       [["point", "verdict"]].itertuples(index=False, name=None))}


def _certificate_claims(result: Result) -> list[Claim]:
    if not result.points:
        return []
    from .common import cert_margin

    t = certificate_table(result).set_index("point")
    full, dfc = t.loc[["full"]], t.loc["deficient"]
    lam = float(dfc["λ_min(S)"])
    return [
        claim("ib.fp.full_certified",
              "The full (r = n) UDU fixed point is a global minimiser of the convex PSD "
              "least-squares problem: certified by the dual certificate (bmlab.sdp.certificate, "
              "tol 1e-6: λ_min(S) ≥ −tol·scale and ‖SX‖/‖X‖ ≤ tol·scale, S = ∇f(X)), at the "
              f"full run continued until its fixed-point residual is ≤ {CERT_FP_TOL:g} (chunks "
              f"of {CERT_CHUNK:,} iterations, at most {CERT_MAX_CHUNKS}), so that the stopping "
              "rule does not decide the verdict; one point (samples = 1)",
              qualitative(bool(full.verdict.iloc[0] == "certified"), ours=str(full.verdict.iloc[0]),
                          margin=cert_margin(full), samples=1, min_samples=1),
              kind="extension",
              reason="expected to hold in both profiles. History: an earlier version judged the "
                     "point where the 2·10⁴-iteration quick budget stopped and was set to fails "
                     "there after a 1.25× miss of the complementarity test had been seen "
                     "(referee finding 8); the run is now continued to fixed-point residual "
                     "≤ 1e-8 before the certificate is computed (quick: one extra chunk; the "
                     "paper profile reaches 1e-19 within its 10⁵ iterations, not yet run with "
                     "this change)"),
        claim("ib.fp.deficient_refuted",
              "The rank-deficient (r = 2) fixed point is spurious for the convex problem: the "
              "certificate refutes it, λ_min(S) < −1e-6·scale (a descent direction vvᵀ exists, "
              "the negative eigenvalue of G that Lemma 1 leaves at a BM stationary point)",
              at_most(lam, -1e-6 * float(dfc["scale"]), scale=1e-6 * float(dfc["scale"])),
              kind="check"),
    ]


def claims(result: Result) -> list[Claim]:
    """The chapter's pre-registered claims, decided from ``result`` alone (see :mod:`bmlab.claims`)."""
    p, reps = result.params, list(result.reports.values())
    both = "at the full (r = n) and the rank-deficient (r = 2, G ≠ 0) fixed points"
    out = [
        claim("ib.fp.converged",
              f"Both UDU runs have reached a fixed point of (3): fixed-point residual ≤ {FP_TOL:g}"
              " (a precondition of the Lemma 1 checks)",
              at_most([r.fixed_point_residual for r in reps], FP_TOL, scale=FP_TOL),
              kind="check"),
        claim("ib.fp.inactive",
              f"Proposition 1 at the converged points: c = ‖Û‖_F/α − 1 ≤ {FP_TOL:g} (the "
              f"fixed-point tolerance), {both}. A check, not a reproduction: the verdict comes from "
              "the tolerance alone — a point may sit on the sphere to rounding (c ≈ +1e-14, "
              "technically active: the deficient point in both profiles, the full one at the "
              "paper size), and c ≤ 1e-5 cannot tell case (b) with a small c from case (a)",
              at_most([r.norm_U_hat / p.alpha - 1 for r in reps], FP_TOL, scale=FP_TOL),
              kind="check"),
    ]
    peak = float(np.max(result.path_u_hat))
    out.append(claim(
        "ib.fp.active_on_path",
        "The projection is active along the path of the full run (‖Û_t‖_F > α at some recorded "
        "t) although not at its limit",
        at_least(peak, p.alpha, scale=p.alpha), kind="paper", quote=QUOTES["path"]))
    implied = ("A check, not a reproduction: with TOL = 10·FP_TOL/η, fixed_points.py bounds "
               "this quantity by the fixed-point residual/η, so it follows from ib.fp.converged")
    out.append(claim(
        "ib.fp.case_a", f"Lemma 1(a): max_i ‖d_i G_s u_i‖ ≤ {TOL:g} {both}. " + implied,
        at_most([r.case_a for r in reps], TOL, scale=TOL), kind="check"))
    out.append(claim(
        "ib.fp.case_c", f"Lemma 1(c): |u_iᵀ G u_i| ≤ {TOL:g} for every i with d_i > 0, {both}. "
        + implied, at_most([r.case_c for r in reps], TOL, scale=TOL), kind="check"))
    out.append(claim(
        "ib.fp.bm_stationary",
        f"Proposition 1: Ũ = UD^½ is a BM stationary point, ‖2G_sŨ‖_F ≤ {TOL:g}, {both}. A "
        "check at this level: near a converged fixed point it is of the size of the "
        "fixed-point residual/η (the non-trivial content is ib.fp.deficient_stationary)",
        at_most([r.bm_grad for r in reps], TOL, scale=TOL), kind="check"))
    dref = result.reports["deficient"]
    out.append(claim(
        "ib.fp.deficient_stationary",
        "Proposition 1 where it says something: at the rank-deficient fixed point (r = 2 below "
        f"the true rank, so G ≠ 0) ‖G_s‖₂ ≥ {G_MIN:g} (G is of order one, the point does not "
        f"interpolate) while Ũ = UD^½ is BM-stationary, ‖2G_sŨ‖_F ≤ {TOL:g}: the surviving "
        "columns lie in the null space of a non-zero G (ours: [‖G_s‖₂, ‖2G_sŨ‖_F])",
        all_of(at_least(dref.scale, G_MIN, scale=G_MIN), at_most(dref.bm_grad, TOL, scale=TOL)),
        kind="paper", quote=QUOTES["prop"]))
    plus = result.dormant["v⁺"]
    rep = plus["report"]
    out.append(claim(
        "ib.fp.case_d",
        "Lemma 1(d) where case (d) arises: the rank-deficient fixed point with an extra column at "
        f"d = 0 along the top eigenvector of G_s, after {p.dormant_iter:,} more iterations, is "
        f"still a fixed point (residual ≤ {FP_TOL:g}) with that d_i = 0 and u_iᵀGu_i ≥ −{TOL:g}. "
        "A check, true by construction: v is chosen with vᵀGv > 0 and d = 0, so the step on u "
        "(2ηG_sud) vanishes and d̂ = −ηvᵀGv < 0 is clipped back to 0",
        all_of(at_most(rep.fixed_point_residual, FP_TOL, scale=FP_TOL),
               at_least(rep.n_zero, 0.5, scale=1.0),
               at_least(rep.case_d if rep.n_zero else -1.0, -TOL, scale=TOL)),
        kind="check"))
    minus = result.dormant["v⁻"]
    drop = float(minus["residual"][-1] / minus["residual"][0])
    out.append(claim(
        "ib.fp.case_d_excludes",
        "Lemma 1(c, d) exclude a fixed point with d_i = 0 and u_iᵀGu_i < 0: started there (the "
        "extra column along the bottom eigenvector of G_s), the iteration switches the column on "
        f"— after {p.dormant_iter:,} iterations it carries at least 1 % of the largest weight "
        "d_i‖u_i‖² and the residual ‖A(X)−b‖² has at least halved (ours: [weight fraction, "
        "residual ratio])",
        all_of(at_least(minus["weight_frac"], 1e-2, scale=1e-2), at_most(drop, 0.5, scale=0.5)),
        kind="paper", quote=QUOTES["negative"]))
    c = result.converse
    out.append(claim(
        "ib.fp.converse",
        "Converse map of Proposition 1: the final BM iterate Ũ (gradient norm g) mapped to "
        "(Ũ/γ, γ²I), γ = ‖Ũ‖_F/α, has UDU fixed-point residual at most η·g·(γ + ‖Ũ‖_F/(2γ²)). "
        "A check: the bound follows from the non-expansive projections whatever the run gives",
        at_most(c["residual"], c["bound"] * (1 + 1e-9) + 1e-15), kind="check"))
    out.extend(_certificate_claims(result))
    return out
