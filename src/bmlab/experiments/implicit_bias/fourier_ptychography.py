r"""Chapter ``implicit-bias/fourier-ptychography``: paper 001, §2.2.2 and A.2.2 (Figures 2, SM4),
on a **simulated** Fourier-ptychography system (the blood-cell data are not available here).

* the **main run** (the profile's object size, illumination grid, rank and budget) gives the
  figures;
* the **seed study** -- ``seeds`` independent draws of the measurement noise and of the random
  complex start on the 16×16 object (3×3 illuminations, r = 8, ``seed_max_iter`` iterations),
  the same in both profiles -- decides the claims by paired sign tests. In the quick profile
  the main run has the seed-study setting and is its first seed.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from ...claims import Claim, claim, fraction
from ...validation import check_int, check_real
from ..base import ExperimentParams
from .common import budget_line, certificate_row, certified_claim, sign_test
from .pr_common import QUOTE_FP, run_pr_pair

__all__ = ["Params", "Result", "run", "claims", "table", "seed_table", "glue_values",
           "certificate_table", "snapshots"]

CONSTRUCT_TOL = 0.1
"""'Successfully constructs': error of the top singular vector at most 10 %."""
QUOTE_FP_COMPARE = ("The UDU factorization successfully constructs the image, whereas BM produces a "
                    "heavily corrupted reconstruction. (§2.2.2, Fig. 2)")
RANK_ONE_RTOL = 1e-3
"""'Effectively rank-1': σ₂ ≤ 1e-3·σ₁."""


@dataclass(frozen=True)
class Params(ExperimentParams):
    upsample: int = 1
    rank: int = 8
    max_iter: int = 1_000
    grid: int = 3
    noise: float = 0.01
    seeds: int = 8
    seed_upsample: int = 1
    seed_rank: int = 8
    seed_grid: int = 3
    seed_max_iter: int = 1_000
    PRESETS: ClassVar[dict[str, dict[str, Any]]] = {
        "quick": {"upsample": 1, "rank": 8, "max_iter": 1_000, "grid": 3},
        "paper": {"upsample": 2, "rank": 16, "max_iter": 2_000, "grid": 5},
    }

    def validate(self) -> None:
        for name in ("upsample", "seed_upsample", "rank", "seed_rank", "grid", "seed_grid",
                     "max_iter", "seed_max_iter"):
            check_int(name, getattr(self, name), lo=1)
        check_int("seeds", self.seeds, lo=6)
        check_real("noise", self.noise, lo=0)

    @property
    def main_is_seed(self) -> bool:
        return (self.upsample, self.rank, self.grid, self.max_iter) == (
            self.seed_upsample, self.seed_rank, self.seed_grid, self.seed_max_iter)


def snapshots(max_iter: int) -> tuple:
    return tuple(k for k in (10, 100, 1000) if k < max_iter) + (max_iter,)


@dataclass
class Result:
    params: Params
    problem: Any
    runs: dict
    seed_runs: list
    timings: dict


def _pair(upsample, grid, rank, max_iter, noise, rng_problem, rng_start, snaps=()):
    from ...problems.phase_retrieval import FourierPtychography, fp_object, load_image

    obj = fp_object(load_image(), upsample)
    P = FourierPtychography.make(obj, M=8 * upsample, grid=grid, noise=noise, rng=rng_problem)
    return P, run_pr_pair(P, r=rank, max_iter=max_iter, rng=rng_start, snapshots=snaps,
                          complex_=True)


def run(params: Params, rng: np.random.Generator) -> Result:
    """``rng`` is split into a (noise, start) pair of streams per seed; the main run uses the
    first pair."""
    import time

    p = params
    streams = rng.spawn(2 * p.seeds)
    t0 = time.perf_counter()
    P, runs = _pair(p.upsample, p.grid, p.rank, p.max_iter, p.noise, streams[0], streams[1],
                    snapshots(p.max_iter))
    timings = {"main": time.perf_counter() - t0}
    t0 = time.perf_counter()
    seed_runs = [runs] if p.main_is_seed else []
    for k in range(len(seed_runs), p.seeds):
        seed_runs.append(_pair(p.seed_upsample, p.seed_grid, p.seed_rank, p.seed_max_iter,
                               p.noise, streams[2 * k], streams[2 * k + 1])[1])
    timings["seeds"] = time.perf_counter() - t0
    return Result(p, P, runs, seed_runs, timings)


def _q(run) -> float:
    return float(run.spectrum[1] / run.spectrum[0])


def table(result: Result) -> pd.DataFrame:
    r = result.runs
    return pd.DataFrame([{"method": m, "final error": r[m].final_error, "rank (1e-6)": r[m].rank,
                          "σ₂/σ₁": _q(r[m]), "residual": r[m].residual[-1]}
                         for m in ("BM", "UDU")])


def seed_table(result: Result) -> pd.DataFrame:
    return pd.DataFrame([{"seed": k, "BM error": r["BM"].final_error,
                          "UDU error": r["UDU"].final_error, "BM σ₂/σ₁": _q(r["BM"]),
                          "UDU σ₂/σ₁": _q(r["UDU"])} for k, r in enumerate(result.seed_runs)])


def certificate_table(result: Result) -> pd.DataFrame:
    r"""Dual certificate of the main run's BM and UDU points (:func:`bmlab.sdp.certificate`,
    complex PhaseLift least squares :math:`\min_{Z\succeq0}\tfrac12\|\mathcal A(Z)-b\|^2` over
    Hermitian :math:`Z`, tol 1e-6). No SDP is solved in this chapter (CVXPY is not practical at
    these sizes); the certificate alone."""
    cached = getattr(result, "_cert_table", None)   # one eigenproblem per point (seconds each)
    if cached is not None:
        return cached.copy()
    result._cert_table = pd.DataFrame([certificate_row({"method": m}, result.problem,
                                                       result.runs[m].x)
                                       for m in ("BM", "UDU")])
    return result._cert_table.copy()


def glue_values(result: Result) -> dict:
    p, P, r = result.params, result.problem, result.runs
    st = seed_table(result)
    return {"N": P.N, "n": P.n, "K": P.K, "M": 8 * p.upsample, "m": P.b.size, "r": p.rank,
            "max_iter": f"{p.max_iter:,}", "budget": budget_line(p.max_iter, paper="T UNKNOWN"),
            "err_bm": r["BM"].final_error, "err_udu": r["UDU"].final_error,
            "q_bm": _q(r["BM"]), "q_udu": _q(r["UDU"]), "seeds": p.seeds,
            "seed_max_iter": f"{p.seed_max_iter:,}",
            "seed_wins": int(np.sum(st["UDU error"] < st["BM error"])),
            "seed_q_udu": float(st["UDU σ₂/σ₁"].median()),
            "seed_q_bm": float(st["BM σ₂/σ₁"].median()),
            "cert_verdicts": ", ".join(f"{m} {v}" for m, v in certificate_table(result)
                                       [["method", "verdict"]].itertuples(index=False, name=None))}


def claims(result: Result) -> list[Claim]:
    """The chapter's pre-registered claims, decided from ``result`` alone (see :mod:`bmlab.claims`)."""
    p, st = result.params, seed_table(result)
    setting = (f"{p.seeds} independent draws of noise and random start on one simulated 16×16 "
               f"object (3×3 illuminations, r = {p.seed_rank}, {p.seed_max_iter:,} iterations) — "
               "the scope is the start and the noise, not the object —, paired sign test, "
               "α = 0.05 (margin: seeds that would have to change, / seeds)")
    n_rank_one = int(np.sum(st["UDU σ₂/σ₁"] <= RANK_ONE_RTOL))
    n_good = int(np.sum(st["UDU error"] <= CONSTRUCT_TOL))
    return [
        claim("ib.fp.udu_better",
              "UDU reconstructs the FP object better than BM from the same random start at equal "
              "iterations (error of the top singular vector, global phase removed): " + setting +
              ". Tests only the comparison in the quote; whether UDU 'successfully constructs' "
              "the image is ib.fp.udu_constructs",
              sign_test(st["UDU error"], st["BM error"], better="lower", min_samples=6),
              kind="paper", quote=QUOTE_FP_COMPARE),
        claim("ib.fp.udu_constructs",
              f"UDU 'successfully constructs the image': error ≤ {CONSTRUCT_TOL:g} in at least "
              "half of the seeds: " + setting,
              fraction(n_good, len(st), at_least=0.5, min_samples=6), kind="paper",
              quote=QUOTE_FP, expected="fails",
              reason="added after review, with the errors in view (UDU's error about 0.36 in the "
                     "quick profile): UDU is better than BM but far from a faithful "
                     "reconstruction at our budget on our simulated system; the paper's T, r, η, "
                     "α are UNKNOWN and its data are real measurements"),
        claim("ib.fp.udu_rank_one",
              "UDU's spectrum is closer to rank one than BM's, whose spectrum decays slowly "
              "(smaller σ₂/σ₁): " + setting,
              sign_test(st["UDU σ₂/σ₁"], st["BM σ₂/σ₁"], better="lower", min_samples=6),
              kind="paper", quote=QUOTE_FP),
        claim("ib.fp.udu_effectively_rank_one",
              f"UDU effectively converges to a rank-1 solution: σ₂/σ₁ ≤ {RANK_ONE_RTOL:g} in at "
              "least half of the seeds: " + setting,
              fraction(n_rank_one, len(st), at_least=0.5, min_samples=6), kind="paper",
              quote=QUOTE_FP, expected="fails",
              reason="UDU's σ₂/σ₁ sits in a narrow band (about 0.044–0.051 over the 8 seeds of "
                     "the quick profile), which looks like a systematic floor rather than an "
                     "unfinished run; the cause is untested here. Candidates: our 1 % "
                     "measurement noise (fitted by a second component), the partial coverage of "
                     "the object's spectrum by 3×3 illuminations (directions the data do not "
                     "determine), and the budget. The paper's T, r, η and α are UNKNOWN and its "
                     "data are real blood-cell measurements"),
    ] + ([_cert_claim(result)] if result.problem is not None else [])


def _cert_claim(result: Result) -> Claim:
    u = certificate_table(result)
    u = u[u.method == "UDU"]
    return certified_claim(
        "ib.fp.udu_certified",
        "UDU's main run is a global minimiser of complex PhaseLift least squares "
        "min_{Z⪰0} ½‖A(Z) − b‖² (Hermitian Z) by the dual certificate (bmlab.sdp.certificate, "
        "tol 1e-6: λ_min(S) ≥ −tol·scale and ‖SX‖/‖X‖ ≤ tol·scale; ours: verdict; margin: "
        "decades from the nearer test). One run (samples = 1)", u,
        expected="fails", exploratory=True,
        reason="expectation from the physics: the measurements carry 1 % noise, so the convex "
               "least-squares minimiser fits part of the noise with further components, while "
               "UDU settles on a nearly rank-one point (σ₂/σ₁ ≈ 0.05) within a finite budget: "
               "a descent direction vvᴴ should remain (refuted) in both profiles. Exploratory "
               "because the quick profile's verdict (refuted, λ_min(S) = −4e-5 against "
               "tol·scale = 1.5e-7) was already known when this claim was written (referee "
               "finding 7); the paper profile's verdict has not been seen")
