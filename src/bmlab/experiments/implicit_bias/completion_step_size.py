r"""Chapter ``implicit-bias/completion-step-size``: paper 001, §2.2.1, Figure 1 (left).

BM and UDU on one noiseless rank-3 completion instance for the step sizes of the profile at
:math:`\rho = 10^{-2}`; two more BM runs at :math:`\eta = 10^{-2}` from :math:`\rho = 1` and
:math:`\rho = 10^{-4}` give the scale against which "no clear correlation" with the step size is
judged; the trace-minimisation SDP (CVXPY/SCS) is the convex cross-check.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from ...claims import Claim, all_of, at_most, claim, qualitative
from ...validation import check_int, check_real
from ..base import ExperimentParams
from .common import (check_backend, QUOTE_STEP, CompletionParams, CompletionSweep, budget_line,
                     certificate_rows, certified_claim, log_monotone, rank_above, rank_equals,
                     run_completion_sweep, sdp_status)

__all__ = ["Params", "Result", "run", "claims", "table", "sdp_table", "certificate_table"]

TRUE_RANK = 3
MIN_ETA = 1e-2
"""ib.mc.step.udu_rank covers η ≥ MIN_ETA; smaller η has its own (exploratory) claim."""


@dataclass(frozen=True)
class Params(ExperimentParams):
    """Settings (FOUND-code: rank 3, m = 9n, r = n, D₀ = I, α = 1; ρ fixed at 1e-2)."""

    n: int = 50
    max_iter: int = 10_000
    etas: tuple = (1e-1, 1e-2)
    rho: float = 1e-2
    contrast_rhos: tuple = (1.0, 1e-4)   # BM at η = 1e-2: the scale of the ρ-effect
    sdp_solver: str = "SCS"
    sdp_eps: float = 1e-9            # SCS only
    sdp_max_iters: int = 200_000     # SCS only
    backend: str = "numba"           # "numba": batched compiled kernel; "numpy": the oracle loop;
    #                                  "torch": the same batched iteration in torch, on device
    device: str = "cpu"              # "cuda[:k]" with backend="torch" (a GPU, asked for)
    PRESETS: ClassVar[dict[str, dict[str, Any]]] = {
        # SCS solves n = 50 in 0.1 s (optimal); at n = 100 it hits its 2·10⁵-iteration cap
        # (optimal_inaccurate, ~280 s) while Clarabel solves it in ~30 s (issue 14, measured)
        "quick": {"n": 50, "max_iter": 10_000, "etas": (1e-1, 1e-2), "sdp_solver": "SCS"},
        "paper": {"n": 100, "max_iter": 10 ** 6, "etas": (1e-1, 1e-2, 1e-3),
                  "sdp_solver": "CLARABEL"},
    }

    def validate(self) -> None:
        check_int("n", self.n, lo=8)
        check_int("max_iter", self.max_iter, lo=1)
        check_real("rho", self.rho, lo=0, lo_open=True)
        if len(self.etas) < 2 or any(not e > 0 for e in self.etas):
            raise ValueError(f"etas must be at least two positive step sizes, got {self.etas!r}")
        if 1e-2 not in self.etas:
            raise ValueError("etas must contain 1e-2 (the cell shared with the ρ contrast)")
        if any(not r > 0 for r in self.contrast_rhos) or len(self.contrast_rhos) < 1:
            raise ValueError(f"contrast_rhos must be positive, got {self.contrast_rhos!r}")
        if self.sdp_solver not in ("SCS", "CLARABEL"):
            raise ValueError(f"sdp_solver must be 'SCS' or 'CLARABEL', got {self.sdp_solver!r}")
        check_backend(self.backend, self.device)


@dataclass
class Result:
    params: Params
    sweep: CompletionSweep          # BM and UDU at every η, ρ = params.rho
    contrast: CompletionSweep       # BM at η = 1e-2 from the contrast ρ values
    sdp: Any                        # SDPResult of the trace minimisation
    timings: dict


def run(params: Params, rng: np.random.Generator) -> Result:
    """The sweep, the ρ contrast (same instance and direction) and the SDP."""
    import time

    from ...sdp.completion import trace_min_completion

    p = params
    sweep = run_completion_sweep(CompletionParams(n=p.n, etas=tuple(p.etas), rhos=(p.rho,),
                                                  max_iter=p.max_iter, backend=p.backend, device=p.device), rng)
    contrast = run_completion_sweep(
        CompletionParams(n=p.n, etas=(1e-2,), rhos=tuple(p.contrast_rhos), methods=("BM",),
                         max_iter=p.max_iter, backend=p.backend, device=p.device), np.random.default_rng(0),
        problem=sweep.problem, direction=sweep.direction)
    t0 = time.perf_counter()
    opts = {"eps": p.sdp_eps, "max_iters": p.sdp_max_iters} if p.sdp_solver == "SCS" else {}
    sdp = trace_min_completion(sweep.problem, solver=p.sdp_solver, **opts)
    return Result(p, sweep, contrast, sdp, {"sweep": sweep.seconds(),
                                            "contrast": contrast.seconds(),
                                            "sdp": time.perf_counter() - t0})


def table(result: Result) -> pd.DataFrame:
    t = result.sweep.frame()
    return t[["method", "eta", "residual", "rel_error", "rank", "sigma_next_rel"]].rename(
        columns={"eta": "η", "residual": "‖A(X)−b‖²", "rel_error": "‖X−X♮‖/‖X♮‖",
                 "rank": "rank (1e-6)", "sigma_next_rel": "σ₄/σ₁"})


def _sdp_numbers(result: Result) -> dict:
    from ...factorizations.spectral import numerical_rank
    from ...sdp.core import relative_error

    P, sdp = result.sweep.problem, result.sdp
    ok = bool(sdp.ok)
    return {"ok": ok, "status": sdp.status, "label": sdp_status(sdp),
            "optimal": sdp.status == "optimal",
            "err": relative_error(sdp.Z, P.X_true) if ok else float("nan"),
            "rank6": numerical_rank(sdp.Z, 1e-6) if ok else -1,
            "rank3": numerical_rank(sdp.Z, 1e-3) if ok else -1,
            "trace": float(np.trace(sdp.Z)) if ok else float("nan"),
            "trace_true": float(np.trace(P.X_true)),
            "feas": float(np.abs(P.apply(sdp.Z) - P.b).max()) if ok else float("inf")}


def sdp_table(result: Result) -> pd.DataFrame:
    """The convex baseline beside BM and UDU at η = 1e-2."""
    from ...factorizations.spectral import numerical_rank

    s = _sdp_numbers(result)
    rows = [{"method": f"SDP (trace min, {result.params.sdp_solver})", "status": s["label"],
             "‖X−X♮‖/‖X♮‖": s["err"],
             "rank (1e-6)": s["rank6"], "rank (1e-3)": s["rank3"]}]
    for method in ("BM", "UDU"):
        run_ = result.sweep.get(method, 1e-2, result.params.rho)
        rows.append({"method": f"{method} (η = 0.01)", "status": run_.status,
                     "‖X−X♮‖/‖X♮‖": run_.rel_error, "rank (1e-6)": run_.rank,
                     "rank (1e-3)": numerical_rank(run_.X, 1e-3)})
    return pd.DataFrame(rows)


def certificate_table(result: Result) -> pd.DataFrame:
    """Certificate of every run of the sweep (PSD least squares), its trace gap to the SDP and
    its distance from the SDP's solution (trace minimisation)."""
    sw = result.sweep
    t = pd.DataFrame(certificate_rows(sw.problem, sw.runs, sdp=result.sdp, objective="trace"))
    t["‖X−X♮‖/‖X♮‖"] = [r.rel_error for r in sw.runs]
    return t.drop(columns=["ρ"]).rename(columns={"objective gap": "(tr X − tr Z_sdp)/tr Z_sdp"})


def glue_values(result: Result) -> dict:
    p, s = result.params, _sdp_numbers(result)
    udu = result.sweep.get("UDU", 1e-2, p.rho)
    cert = certificate_table(result)
    main = cert[(cert.method == "UDU") & np.isclose(cert["η"], 1e-2)].iloc[0]
    return {"n": p.n, "m": result.sweep.problem.m, "max_iter": f"{p.max_iter:,}", "rho": p.rho,
            "budget": budget_line(p.max_iter, p.etas), "bm_spread": _spreads(result)[0],
            "rho_spread": _spreads(result)[1], "sdp_err": s["err"], "sdp_rank3": s["rank3"],
            "tr_sdp": s["trace"], "tr_true": s["trace_true"], "udu_err": udu.rel_error,
            "sdp_verdict": "recovers" if s["err"] < 1e-3 else "does not recover",
            "sdp_solver": p.sdp_solver, "sdp_status": s["label"],
            "udu_sdp_dist": float(main["‖X−Z_sdp‖/‖Z_sdp‖"]),
            "udu_cert": str(main["verdict"]), "udu_cert_lam": float(main["λ_min(S)"]),
            "udu_cert_res": float(main["‖SX‖/‖X‖"])}


def _spreads(result: Result) -> tuple[float, float, float, float]:
    """BM's σ₄/σ₁: max/min ratio over η and over ρ (with ρ = params.rho at η = 1e-2), and
    the decades of η and of ρ they span."""
    k = TRUE_RANK
    bm = [r for r in result.sweep.runs if r.method == "BM"]
    q_eta = np.array([r.spectrum[k] / r.spectrum[0] for r in bm])
    rho_runs = list(result.contrast.runs) + [result.sweep.get("BM", 1e-2, result.params.rho)]
    q_rho = np.array([r.spectrum[k] / r.spectrum[0] for r in rho_runs])
    etas = np.array([r.eta for r in bm])
    rhos = np.array([r.rho for r in rho_runs])
    return (float(q_eta.max() / q_eta.min()), float(q_rho.max() / q_rho.min()),
            float(np.log10(etas.max() / etas.min())), float(np.log10(rhos.max() / rhos.min())))


def claims(result: Result) -> list[Claim]:
    """The claims of the chapter."""
    p, sw = result.params, result.sweep
    udu_all = [r for r in sw.runs if r.method == "UDU"]
    udu = [r for r in udu_all if r.eta >= MIN_ETA]
    small = [r for r in udu_all if r.eta < MIN_ETA]
    bm = [r for r in sw.runs if r.method == "BM"]
    out = [
        claim("ib.mc.step.udu_rank",
              "UDU's numerical rank (rtol 1e-6) equals the true rank 3 for every η ≥ 1e-2 tried "
              f"{[e for e in p.etas if e >= MIN_ETA]} (η = 1e-3, paper profile only, is claimed "
              "apart: its budget covers ηT = 200, inside the switch-on window ηT ≈ 100–400 of "
              "UDU's third column — the same rule as the noisy chapter)",
              rank_equals([r.spectrum for r in udu], TRUE_RANK), kind="paper", quote=QUOTE_STEP),
        claim("ib.mc.step.bm_approx",
              "BM's solutions are only approximately low-rank: more than 3 singular values above "
              "1e-6·σ₁ for every η", rank_above([r.spectrum for r in bm], TRUE_RANK),
              kind="paper", quote=QUOTE_STEP),
    ]
    if small:
        out.append(claim(
            "ib.mc.step.udu_rank_small_eta",
            "At η = 1e-3 UDU's numerical rank (rtol 1e-6) also equals 3 after this profile's "
            "budget (" + budget_line(p.max_iter, [r.eta for r in small]) + ")",
            rank_equals([r.spectrum for r in small], TRUE_RANK), kind="paper", quote=QUOTE_STEP,
            exploratory=True,
            reason="claimed apart because an earlier, cut paper-profile budget was raised "
                   "(10⁵ → 2·10⁵ iterations, ηT = 200) after 10⁵ had left this run at rank 2, "
                   "inside the switch-on window ηT ≈ 100–400 (chapter rank-revealing). The paper "
                   "profile now runs the paper's 10⁶ iterations (ηT = 1000, past that window), "
                   "so its outcome no longer hangs on the switch-on time; it stays exploratory "
                   "because of that history"))
    s_eta, s_rho, dec_eta, dec_rho = _spreads(result)
    out.append(claim(
        "ib.mc.step.no_correlation",
        "No clear correlation between step size and BM's spectral decay: σ₄/σ₁ of BM varies by "
        "less than a factor 10 across η (ours: max/min ratio)",
        at_most(s_eta, 10.0), kind="paper", quote=QUOTE_STEP, exploratory=True,
        reason="the factor-10 band is ours and was chosen with the results in view; the "
               "relation judged against the ρ-effect is ib.mc.step.no_correlation_vs_rho"))
    per_eta = np.log10(s_eta) / dec_eta
    per_rho = np.log10(s_rho) / dec_rho
    out.append(claim(
        "ib.mc.step.no_correlation_vs_rho",
        "No clear correlation between step size and BM's spectral decay, judged against the "
        "effect the paper does call clear (the initial scale ρ): BM's σ₄/σ₁ changes by fewer "
        "decades per decade of η (over the η of the sweep) than per decade of ρ (over "
        f"ρ ∈ {sorted({*p.contrast_rhos, p.rho}, reverse=True)} at η = 1e-2, same instance "
        "and direction); ours: [decades per decade of η, of ρ]. Not pre-registered: this "
        "relation was introduced after earlier runs had been seen (its margin is large either "
        "way)",
        at_most(per_eta, per_rho), kind="paper", quote=QUOTE_STEP))
    order = [r for r in sorted(sw.runs, key=lambda r: -r.eta)]
    checks = [log_monotone([r.residual[-1] for r in order if r.method == m], increasing=True)
              for m in ("BM", "UDU")]
    out.append(claim(
        "ib.mc.step.smaller_slower",
        "A smaller step slows convergence: the final residual ‖A(X_T)−b‖² after the same number "
        "of iterations increases strictly as η decreases, for both models (log10 residuals, "
        "η descending)", all_of(*checks), kind="paper", quote=QUOTE_STEP))
    s = _sdp_numbers(result)
    out.append(claim(
        "ib.mc.step.sdp_solved",
        f"Cross-check: {p.sdp_solver} solves the trace-minimisation SDP (status optimal, not "
        "optimal_inaccurate; max |X_Ω − b| ≤ 1e-5) and its trace is at most tr X♮ + 1e-5 (X♮ is "
        "feasible, so this only checks the solver)",
        all_of(qualitative(s["optimal"], ours=s["status"]), at_most(s["feas"], 1e-5, scale=1e-5),
               at_most(s["trace"], s["trace_true"] + 1e-5, scale=1e-5)), kind="check"))
    cert = certificate_table(result)
    cu = cert[(cert.method == "UDU") & (cert["η"] >= MIN_ETA)]
    out.append(certified_claim(
        "ib.mc.step.udu_certified",
        "Interpolation certificate: UDU's solutions (every η ≥ 1e-2) are certified global "
        "minimisers of the convex PSD least-squares problem min_{Z⪰0} ½‖P_Ω(Z) − b‖² by the "
        "dual certificate (bmlab.sdp.certificate, tol 1e-6: λ_min(S) ≥ −tol·scale and "
        "‖SX‖/‖X‖ ≤ tol·scale, S = ∇f(X)). With noiseless data f* = 0, so every PSD X that "
        "interpolates the observed entries is certified: this tests that UDU interpolates, "
        "not that it finds the trace-minimisation (nuclear-norm) solution, whose dual "
        f"certificate is different (ib.mc.step.udu_is_sdp); {budget_line(p.max_iter, list(cu['η']))}",
        cu, expected="fails" if p.max_iter < 10 ** 6 else "holds",
        reason=("at the cut budget of this profile UDU has not reached a solution (residual "
                "1e-2–1e-1 in the quick table, ηT ≤ 1000), so the certificate cannot hold; the "
                "expectation at the paper's 10⁶ iterations (holds) was written before that run"
                if p.max_iter < 10 ** 6 else
                "written before the 10⁶-iteration run: at ηT ≥ 10⁴ UDU is expected to "
                "interpolate, S → 0")))
    dist = float(cert[(cert.method == "UDU") & np.isclose(cert["η"], 1e-2)]
                 ["‖X−Z_sdp‖/‖Z_sdp‖"].iloc[0])
    out.append(claim(
        "ib.mc.step.udu_is_sdp",
        "UDU's solution at η = 1e-2 is the trace-minimisation (nuclear-norm) solution: "
        "‖UDUᵀ − Z_sdp‖_F/‖Z_sdp‖_F ≤ 1e-3 (pre-registered tolerance; Z_sdp from "
        f"{p.sdp_solver}). Expected to fail in both profiles: in the quick profile UDU is not "
        "converged; at the paper's size the trace-minimisation optimum of this instance misses "
        "X♮ (issue 14: by 1.3e-2 at m = 9n, known before this claim was written), while UDU is "
        "biased to low rank, not low trace. Not run on an instance where the SDP recovers X♮ "
        "(another draw, seed 0, had Clarabel within 1.2e-7 of X♮; a second SDP solve at "
        "n = 100 is beyond this chapter's budget)", at_most(dist, 1e-3, scale=1e-3),
        kind="extension", expected="fails",
        reason="expected to fail in both profiles for different, stated reasons: in the quick "
               "profile UDU is not converged (relative error to X♮ 0.27 after ηT = 100); at "
               "n ≥ 100, m = 9n issue 14 measured the trace-minimisation optimum missing X♮ by "
               "1.3e-2 (known before this claim was written), while UDU's bias is toward low "
               "rank, not low trace; on an instance where the SDP does recover X♮ and UDU "
               "converges, the claim would hold"))
    return out

