r"""Chapter ``implicit-bias/completion-noisy``: paper 001, A.1, Figure SM1 (and §2.2.1).

Both sweeps of Figure 1 on one noisy instance, :math:`b = \mathcal A(X_\natural) + w`,
:math:`w \sim \mathcal N(0, \sigma^2 I)`, :math:`\sigma = 0.01\|\mathcal A(X_\natural)\|_2`
(FOUND-code); :math:`f^\star = \min_{X\succeq0}\|\mathcal A(X) - b\|^2` from CVXPY/SCS.

The rank claims are stated for the runs with :math:`\eta \ge 10^{-2}`: at :math:`\eta = 10^{-3}`
(paper profile only) the budget covers :math:`\eta T = 50` against the paper's
:math:`10^{-3}\cdot10^6 = 1000`, before UDU switches on its third column (at
:math:`\eta T \approx 100`–:math:`400`, chapter rank-revealing); that run has its own claim.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from ...claims import Claim, at_least, at_most, between, claim, monotone, qualitative
from ...validation import check_int, check_real
from ..base import ExperimentParams
from .common import (check_backend, QUOTE_NOISY, CompletionParams, CompletionSweep, budget_line,
                     certificate_rows, certified_claim, log_monotone, no_values_in_gap,
                     rank_above, run_completion_sweep, sdp_status)

__all__ = ["Params", "Result", "run", "claims", "table", "glue_values", "certificate_table"]

TRUE_RANK = 3
MIN_ETA = 1e-2
"""The rank claims cover the runs with η ≥ MIN_ETA (see the module docstring)."""
PAPER_BUDGET = 10 ** 6
"""The paper's iterations per run: some outcomes differ between the cut (quick) budget and this
one (UDU is not at a stationary point of its own problem after 2·10⁴ iterations)."""
SOLVED_RTOL = 1e-2
"""A run "has reached a solution" when its residual is within 1 % of f* above f*."""
ETA0 = RHO0 = 1e-2
"""The cell shared by the two sweeps (FOUND-code)."""


@dataclass(frozen=True)
class Params(ExperimentParams):
    """Settings (FOUND-code: noise std 0.01·‖A(X♮)‖, the η and ρ of the authors' scripts)."""

    n: int = 50
    max_iter: int = 20_000
    noise: float = 0.01
    etas: tuple = (1e-1, 1e-2)
    rhos: tuple = (1.0, 1e-1, 1e-2, 1e-3, 1e-4)
    sdp_solver: str = "SCS"
    sdp_eps: float = 1e-10           # SCS only
    sdp_max_iters: int = 200_000     # SCS only
    ref_n: int = 50                 # the size at which ib.mc.noisy.udu_truly_low_rank is judged
    ref_max_iter: int = 20_000      # (the same in both profiles, see claims())
    backend: str = "numba"           # "numba": batched compiled kernel; "numpy": the oracle loop;
    #                                  "torch": the same batched iteration in torch, on device
    device: str = "cpu"              # "cuda[:k]" with backend="torch" (a GPU, asked for)
    PRESETS: ClassVar[dict[str, dict[str, Any]]] = {
        # SCS: n = 50 in 0.2 s; at n = 100 it hits its iteration cap (optimal_inaccurate,
        # ~250 s) where Clarabel solves to optimality in ~35 s (issue 14, measured)
        "quick": {"n": 50, "max_iter": 20_000, "etas": (1e-1, 1e-2), "sdp_solver": "SCS"},
        "paper": {"n": 100, "max_iter": 10 ** 6, "etas": (1e-1, 1e-2, 1e-3),
                  "sdp_solver": "CLARABEL"},
    }

    def validate(self) -> None:
        check_int("n", self.n, lo=8)
        check_int("max_iter", self.max_iter, lo=1)
        check_real("noise", self.noise, lo=0, lo_open=True)
        if ETA0 not in self.etas or RHO0 not in self.rhos:
            raise ValueError("etas and rhos must contain the shared cell 1e-2")
        if any(not e > 0 for e in self.etas) or any(not r > 0 for r in self.rhos):
            raise ValueError("etas and rhos must be positive")
        if len(self.rhos) < 3:
            raise ValueError("rhos needs at least three scales (a trend over ρ)")
        if self.sdp_solver not in ("SCS", "CLARABEL"):
            raise ValueError(f"sdp_solver must be 'SCS' or 'CLARABEL', got {self.sdp_solver!r}")
        check_backend(self.backend, self.device)
        check_int("ref_n", self.ref_n, lo=8)
        check_int("ref_max_iter", self.ref_max_iter, lo=1)

    @property
    def is_reference(self) -> bool:
        """True when the main sweep has the reference size (quick profile)."""
        return self.n == self.ref_n and self.max_iter == self.ref_max_iter


@dataclass
class Result:
    params: Params
    step: CompletionSweep          # every η at ρ = 1e-2
    init: CompletionSweep          # every ρ at η = 1e-2 (the shared cell taken from ``step``)
    fstar: float
    sdp_rank: int
    noise_energy: float
    timings: dict
    reference: list | None = None  # UDU runs (η ≥ 1e-2) at the reference size, if not the main
    sdp: Any = None                # the PSD least-squares SDPResult


def run(params: Params, rng_problem: np.random.Generator,
        rng_start: np.random.Generator) -> Result:
    """One noisy instance (``rng_problem``), one start direction (``rng_start``); the
    reference-size runs (paper profile) use copies of the same generators."""
    import copy
    import time

    from ...problems.completion import make_completion
    from ...sdp.completion import psd_least_squares
    from ...factorizations.spectral import numerical_rank

    p = params
    rng_problem_ref, rng_start_ref = copy.deepcopy(rng_problem), copy.deepcopy(rng_start)
    P = make_completion(p.n, TRUE_RANK, rng=rng_problem, noise=p.noise)
    t0 = time.perf_counter()
    opts = {"eps": p.sdp_eps, "max_iters": p.sdp_max_iters} if p.sdp_solver == "SCS" else {}
    sdp = psd_least_squares(P, solver=p.sdp_solver, **opts)
    t_sdp = time.perf_counter() - t0
    step = run_completion_sweep(CompletionParams(n=p.n, etas=tuple(p.etas), rhos=(RHO0,),
                                                 max_iter=p.max_iter, backend=p.backend, device=p.device),
                                rng_start, problem=P)
    rest = run_completion_sweep(
        CompletionParams(n=p.n, etas=(ETA0,), rhos=tuple(r for r in p.rhos if r != RHO0),
                         max_iter=p.max_iter, backend=p.backend, device=p.device), rng_start, problem=P,
        direction=step.direction)
    init = CompletionSweep(params=rest.params, problem=P, direction=step.direction,
                           runs=rest.runs + [r for r in step.runs if r.eta == ETA0])
    timings = {"sdp": t_sdp, "step": step.seconds(), "init": rest.seconds()}
    reference = None
    if not p.is_reference:
        reference = _reference_runs(p, rng_problem_ref, rng_start_ref)
        timings["reference"] = float(sum(r.seconds for r in reference))
    return Result(p, step, init, float(sdp.extra.get("residual_sq", np.nan)),
                  numerical_rank(sdp.Z, 1e-6) if sdp.ok else -1,
                  float(np.linalg.norm(P.b - P.b_clean) ** 2), timings, reference, sdp)


def _reference_runs(p: Params, rng_problem, rng_start) -> list:
    """UDU at every (η ≥ 1e-2, ρ) cell of the two sweeps, at the reference size."""
    from ...problems.completion import make_completion

    P = make_completion(p.ref_n, TRUE_RANK, rng=rng_problem, noise=p.noise)
    etas = tuple(e for e in p.etas if e >= MIN_ETA)
    step = run_completion_sweep(CompletionParams(n=p.ref_n, etas=etas, rhos=(RHO0,),
                                                 methods=("UDU",), max_iter=p.ref_max_iter,
                                                 backend=p.backend, device=p.device),
                                rng_start, problem=P)
    rest = run_completion_sweep(
        CompletionParams(n=p.ref_n, etas=(ETA0,), rhos=tuple(r for r in p.rhos if r != RHO0),
                         methods=("UDU",), max_iter=p.ref_max_iter, backend=p.backend, device=p.device),
        rng_start, problem=P, direction=step.direction)
    return step.runs + rest.runs


MAIN_ETAS = (1e-1, 1e-2)


def _band_counts(runs) -> list:
    """Relative singular values in (1e-12, 1e-6] per run."""
    out = []
    for r in runs:
        q = np.asarray(r.spectrum) / r.spectrum[0] if r.spectrum[0] > 0 else np.zeros(1)
        out.append(int(np.sum((q > 1e-12) & (q <= 1e-6))))
    return out


def _all_runs(result: Result):
    return result.step.runs + [r for r in result.init.runs if r.eta != ETA0 or r.rho != RHO0]


def table(result: Result) -> pd.DataFrame:
    t = pd.concat([result.step.frame(), result.init.frame()], ignore_index=True)
    t = t.drop_duplicates(subset=["method", "eta", "rho"]).reset_index(drop=True)
    t["residual − f*"] = t.residual - result.fstar
    return t[["method", "eta", "rho", "residual − f*", "rel_error", "rank", "sigma_next_rel"]
             ].rename(columns={"eta": "η", "rho": "ρ", "rel_error": "‖X−X♮‖/‖X♮‖",
                               "rank": "rank (1e-6)", "sigma_next_rel": "σ₄/σ₁"})


def certificate_table(result: Result) -> pd.DataFrame:
    """Dual certificate of every run for the PSD least-squares problem (the one the SDP solves),
    the objective gap (‖A(X)−b‖² − f*)/f*, the distance from the SDP's solution over the whole
    matrix and on the samples Ω (where the convex optimum is unique)."""
    runs = _all_runs(result)
    P, sdp = result.step.problem, result.sdp
    t = pd.DataFrame(certificate_rows(P, runs, sdp=sdp, objective="residual",
                                      fstar=result.fstar))
    ok = sdp is not None and bool(sdp.ok)
    t["‖P_Ω(X−Z_sdp)‖/‖P_Ω(Z_sdp)‖"] = [_omega_dist(P, r.X, sdp.Z) if ok else float("nan")
                                        for r in runs]
    return t.rename(columns={"objective gap": "(‖A(X)−b‖² − f*)/f*"})


def _omega_dist(P, X, Z) -> float:
    zo = Z[P.rows, P.cols]
    return float(np.linalg.norm(X[P.rows, P.cols] - zo) / np.linalg.norm(zo))


def glue_values(result: Result) -> dict:
    p = result.params
    runs = _all_runs(result)
    return {"n": p.n, "m": result.step.problem.m, "max_iter": f"{p.max_iter:,}",
            "budget": budget_line(p.max_iter, p.etas), "fstar": result.fstar,
            "noise_norm": result.noise_energy, "sdp_rank": result.sdp_rank,
            "udu_ranks": ", ".join(str(r.rank) for r in runs if r.method == "UDU"),
            "bm_ranks": ", ".join(str(r.rank) for r in runs if r.method == "BM"),
            "sdp_solver": p.sdp_solver,
            "sdp_status": sdp_status(result.sdp) if result.sdp is not None else "not run",
            "cert_verdicts": ", ".join(f"{m} {v}" for m, v in
                                       certificate_table(result)[["method", "verdict"]]
                                       .itertuples(index=False, name=None))}


def claims(result: Result) -> list[Claim]:
    """The chapter's pre-registered claims, decided from ``result`` alone (see :mod:`bmlab.claims`)."""
    runs = _all_runs(result)
    main = [r for r in runs if r.eta >= MIN_ETA]
    udu = [r for r in main if r.method == "UDU"]
    bm = [r for r in main if r.method == "BM"]
    scope = "every run with η ≥ 1e-2"
    ref = udu if result.reference is None else result.reference
    out = [
        claim("ib.mc.noisy.udu_truly_low_rank",
              "With noise, UDU's solutions are truly low-rank: no singular value of X lies "
              "between 1e-12·σ₁ and 1e-6·σ₁ (the numerical rank does not depend on the threshold, "
              "the rest of the spectrum is at rounding level) in every run with η ≥ 1e-2, judged "
              f"at n = {result.params.ref_n} after {result.params.ref_max_iter:,} iterations in "
              "both profiles (ours: count of values in that band per run)",
              no_values_in_gap([r.spectrum for r in ref]), kind="paper", quote=QUOTE_NOISY,
              exploratory=True,
              reason="the size and budget at which it is judged (n = 50, 2·10⁴ iterations in both "
                     "profiles) were chosen after the paper-size run (n = 100, 5·10⁴) had failed "
                     "(kept as ib.mc.noisy.udu_truly_low_rank_main in the paper profile); and the "
                     "UDU runs it judges are not at a solution of the problem "
                     "(ib.mc.noisy.udu_at_solution): their residual exceeds f* by about 0.08, "
                     "BM's by 1e-5–2e-3"),
        claim("ib.mc.noisy.udu_at_solution",
              "UDU's noisy runs have reached a solution of the PSD least-squares problem: "
              f"‖A(X)−b‖² − f* ≤ {SOLVED_RTOL:g}·f* in every run with η ≥ 1e-2 (a precondition "
              "for reading their rank as that of 'UDU's solutions'; ours: excess per run)",
              at_most([float(r.residual[-1]) - result.fstar for r in udu],
                      SOLVED_RTOL * result.fstar, scale=SOLVED_RTOL * result.fstar),
              kind="paper", quote=QUOTE_NOISY, expected="fails",
              reason="added after the referee pointed at the residual table: every UDU run stalls "
                     "about 0.08 above f* at both η (the run at η = 0.1, the longest in ηT = 2000, "
                     "has rank 5), BM's runs are 1e-5–2e-3 above it. UDU's low-rank X here is a "
                     "low-rank stationary point with excess residual, not a minimiser of the "
                     "convex problem (whose SDP solution has numerical rank "
                     f"{result.sdp_rank}). This expectation was set for the cut budget "
                     "(2·10⁴–5·10⁴ iterations); the paper profile now runs the paper's 10⁶ "
                     "(ηT = 10⁴ at η = 1e-2) and decided (2026-12-01): still fails — UDU's "
                     "excess falls to 6e-3–8e-3 at η = 1e-2 (about 1.2–1.5·f*; 5e-5 at η = 0.1), "
                     "BM's to 2e-7; the certificate refutes every UDU run "
                     "(ib.mc.noisy.udu_certified)"),
        claim("ib.mc.noisy.udu_low_rank",
              f"With noise, UDU's numerical rank (rtol 1e-6) lies between 3 and 10 ({scope})",
              between([r.rank for r in udu], TRUE_RANK - 0.5, 10.5), kind="paper",
              quote=QUOTE_NOISY, exploratory=True,
              reason="'slightly higher rank' is not quantified in the paper; the band 3–10 is "
                     "ours and was set with the results in view (issue 10). The pre-registered "
                     "reading is ib.mc.noisy.udu_truly_low_rank; the band contains 3, so it does "
                     "not test 'higher' (ib.mc.noisy.udu_higher_rank does)"),
        claim("ib.mc.noisy.udu_higher_rank",
              "With noise, UDU's rank is 'slightly higher' than the true rank 3: median numerical "
              f"rank (rtol 1e-6) over the runs with η ≥ 1e-2 above 3 (ours: median; margin: "
              "distance of the median from 3.5, in ranks). The outcome depends on the budget: "
              "it fails at the quick profile's cut budget and holds at the paper's 10⁶ "
              "iterations (both seen). The ranks are those of stalled points that the dual "
              "certificate refutes (ib.mc.noisy.udu_certified): ranks of non-minimisers of the "
              "convex problem, not of its solutions",
              at_least(float(np.median([r.rank for r in udu])), TRUE_RANK + 0.5, scale=1.0),
              kind="paper", quote=QUOTE_NOISY, exploratory=True,
              expected="holds" if result.params.max_iter >= PAPER_BUDGET else "fails",
              reason="exploratory: the paper-profile expectation was set after that run had been "
                     "seen (referee finding 5). Added after the referee's reading (the 3–10 band never tested 'higher'), "
                     "pre-registered as fails from the quick profile, where UDU's ranks are 5 at "
                     "η = 0.1 and 3 at every ρ at η = 1e-2 (median 3) after 2·10⁴ iterations. "
                     "At the paper's 10⁶ (paper profile, 2026-12-01) the ranks are 10 and 8 at "
                     "every ρ (median 8): it holds there, and the expectation of that profile "
                     "was set to holds after that run had been seen. Neither set of runs is at a "
                     "minimiser of the convex problem (ib.mc.noisy.udu_at_solution)"),
        claim("ib.mc.noisy.bm_approx",
              f"With noise, BM's solutions are only approximately low-rank ({scope}): more than 3 "
              "singular values above 1e-6·σ₁", rank_above([r.spectrum for r in bm], TRUE_RANK),
              kind="paper", quote=QUOTE_NOISY),
        claim("ib.mc.noisy.udu_slightly_higher",
              "'Slightly' higher: the median numerical rank (rtol 1e-6) of UDU's runs with "
              f"η ≥ 1e-2 is at most 2·r* = {2 * TRUE_RANK} (ours: median; margin: distance from "
              f"{2 * TRUE_RANK}.5, in ranks) — the upper half of 'slightly higher', beside "
              "ib.mc.noisy.udu_higher_rank. The ranks are those of stalled points that the "
              "certificate refutes (ib.mc.noisy.udu_certified), not of minimisers",
              at_most(float(np.median([r.rank for r in udu])), 2 * TRUE_RANK + 0.5, scale=1.0),
              kind="paper", quote=QUOTE_NOISY, exploratory=True,
              expected="fails" if result.params.max_iter >= PAPER_BUDGET else "holds",
              reason="exploratory: the bound 2·r* was chosen after both profiles had been seen "
                     "(referee finding 5): quick median 3 (holds, but then 'higher' fails), "
                     "paper profile at 10⁶ iterations median 8 (ranks 10 at η = 0.1 and 8 at "
                     "η = 1e-2), so it fails there: at the paper's budget UDU's rank is higher, "
                     "but not 'slightly' by this reading"),
    ]
    pairs = [(u, b) for u in runs if u.method == "UDU" for b in runs
             if b.method == "BM" and b.eta == u.eta and b.rho == u.rho]
    lower = sum(u.rank < b.rank for u, b in pairs)
    need = len(pairs)
    out.append(claim(
        "ib.mc.noisy.udu_below_bm",
        "With noise, on one instance from one start direction (samples = 1, no seeds), UDU's "
        "numerical rank is below BM's in every (η, ρ) cell of both sweeps. "
        "Descriptive, not a statistical test: the cells share one instance and one start "
        "direction, so they are correlated and count as one sample (ours: cells where UDU's "
        "rank is lower / cells; margin: cells that would have to change, / cells)",
        qualitative(lower >= need, ours=f"{lower}/{len(pairs)}",
                    margin=((lower - need + 1) if lower >= need else (lower - need)) / len(pairs),
                    samples=1, min_samples=1), kind="paper", quote=QUOTE_NOISY))
    bmi = sorted((r for r in result.init.runs if r.method == "BM"), key=lambda r: -r.rho)
    out.append(claim(
        "ib.mc.noisy.bm_decay_init",
        "With noise, BM's spectral decay is influenced by initialisation as in the noiseless "
        "case: σ₄/σ₁ decreases strictly as ρ shrinks (log10 values, ρ descending, η = 1e-2)",
        log_monotone([r.spectrum[TRUE_RANK] / r.spectrum[0] for r in bmi], increasing=False),
        kind="paper", quote=QUOTE_NOISY, expected="fails",
        reason="set for the cut budget (the earlier reason — σ₄ carries fitted noise of the same "
               "size for every ρ — was never tested): BM had not converged at small ρ in the "
               "quick profile (residual − f* 2.3e-3 at ρ = 1e-4 against 2.9e-4 at ρ = 1; "
               "ηT = 200). The paper profile now runs the paper's 10⁶ iterations (ηT = 10⁴) "
               "and decided (2026-12-01): still not monotone although every BM run is within "
               "2e-7 of f* (σ₄/σ₁ = 0.216, 0.201, 0.212, 0.224, 0.243 for ρ = 1 … 1e-4), so "
               "the budget is not the cause on this instance; not reproduced, cause not "
               "established"))
    out.append(claim(
        "ib.mc.noisy.bm_rank_init",
        "With noise, BM's numerical rank (rtol 1e-6) decreases strictly as ρ shrinks (η = 1e-2)",
        monotone([float(r.rank) for r in bmi], increasing=False), kind="paper",
        quote=QUOTE_NOISY, exploratory=True,
        reason="added after σ₄/σ₁ (ib.mc.noisy.bm_decay_init, kept) turned out flat in the paper "
               "profile: the measure of 'spectral decay' was chosen after seeing the results. "
               "Integer ranks (quick: 44, 33, 25, 19, 17, smallest step 2), and the smaller ρ are "
               "the least converged runs (see bm_decay_init), so the trend may partly be a "
               "budget effect: BM's rank falls as its small singular values are still growing"))
    if result.reference is not None:
        out.append(claim(
            "ib.mc.noisy.udu_truly_low_rank_main",
            "The same at this profile's size: no singular value of UDU's X in (1e-12, 1e-6]·σ₁ "
            f"in every run with η ≥ 1e-2 (n = {result.params.n}, "
            f"{result.params.max_iter:,} iterations)", no_values_in_gap([r.spectrum for r in udu]),
            kind="paper", quote=QUOTE_NOISY, exploratory=True,
            expected="holds" if result.params.max_iter >= PAPER_BUDGET else "fails",
            reason="exploratory: the paper-profile expectation was set after that run had been "
                   "seen (referee finding 5); the runs judged are stalled points the "
                   "certificate refutes (ib.mc.noisy.udu_certified). "
                   "Pre-registered as fails for the cut budget (5·10⁴ iterations); at the "
                   "paper's 10⁶ (2026-12-01) it holds, with no value in the band in any run, "
                   "and the expectation at that budget was set to holds after the run had been "
                   "seen. At the cut budget, as far as the stored numbers showed: at this size "
                   f"({budget_line(result.params.max_iter, MAIN_ETAS)}) the values in the band "
                   "per run are " + ", ".join(str(c) for c in _band_counts(udu)) + " and the "
                   "UDU residuals are still above f* (ib.mc.noisy.udu_at_solution); that the "
                   "values in the band belong to columns still switching on or dying is our "
                   "reading, not measured here (see the chapter's figure of σ_i over t)"))
    cert = certificate_table(result)
    cu = cert[(cert.method == "UDU") & (cert["η"] >= MIN_ETA)]
    out.append(certified_claim(
        "ib.mc.noisy.udu_certified",
        "UDU's noisy runs (η ≥ 1e-2) are certified global minimisers of the PSD least-squares "
        "problem min_{Z⪰0} ½‖P_Ω(Z) − b‖² by the dual certificate (bmlab.sdp.certificate, "
        "tol 1e-6: λ_min(S) ≥ −tol·scale and ‖SX‖/‖X‖ ≤ tol·scale, S = ∇f(X)); "
        + budget_line(result.params.max_iter, sorted({float(e) for e in cu["η"]})), cu,
        expected="fails",
        reason="pre-registered with ib.mc.noisy.udu_at_solution (the same question, decided by "
               "the dual matrix instead of f*): in the quick profile every UDU run stalls about "
               "0.08 above f*; whether the paper's 10⁶ iterations leave that point was not seen "
               "when this was written"))
    ok = result.sdp is not None and bool(result.sdp.ok)
    dist = float(cu["‖P_Ω(X−Z_sdp)‖/‖P_Ω(Z_sdp)‖"].max()) if ok else float("inf")
    out.append(claim(
        "ib.mc.noisy.udu_fit_is_sdp",
        "UDU's fit on the samples is the convex optimum's: ‖P_Ω(UDUᵀ − Z_sdp)‖/‖P_Ω(Z_sdp)‖ ≤ 1e-3 "
        "for every UDU run with η ≥ 1e-2 (pre-registered tolerance; on Ω the PSD least-squares "
        "optimum is unique, off Ω it is not, so the whole-matrix distance is shown, not "
        f"asserted; Z_sdp from {result.params.sdp_solver}; ours: the largest)",
        at_most(dist, 1e-3, scale=1e-3), kind="extension", expected="fails",
        reason="same expectation as ib.mc.noisy.udu_at_solution, for the same reason"))
    small = [r for r in runs if r.method == "UDU" and r.eta < MIN_ETA]
    if small:
        out.append(claim(
            "ib.mc.noisy.udu_rank_small_eta",
            "At η = 1e-3, UDU's solution also has at least the true rank 3 (numerical rank, rtol "
            "1e-6) after the budget of this profile. Decided by one run (one instance, one "
            "start, samples = 1) — an observation, not a test across seeds; the point is a "
            "stalled one, not a certified minimiser",
            rank_above([r.spectrum for r in small], TRUE_RANK - 1), kind="paper",
            quote=QUOTE_NOISY, exploratory=True,
            expected="holds" if result.params.max_iter >= PAPER_BUDGET else "fails",
            reason="exploratory: the paper-profile expectation was set after that run had been "
                   "seen, and one run decides it (referee finding 5). "
                   "Pre-registered as fails for the cut budget (5·10⁴ iterations, ηT = 50, "
                   "before UDU switches its third column on at ηT ≈ 100–400, chapter "
                   "rank-revealing); at " + budget_line(result.params.max_iter,
                                                       [r.eta for r in small]) +
                   " it holds (rank 4 on 2026-12-01; this run: " +
                   ", ".join(str(r.rank) for r in small) + "), and the expectation at the "
                   "paper's budget was set to holds after that run had been seen"))
    return out

