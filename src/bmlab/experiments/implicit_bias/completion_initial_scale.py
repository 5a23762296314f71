r"""Chapter ``implicit-bias/completion-initial-scale``: paper 001, §2.2.1, Figure 1 (right).

BM and UDU on the noiseless instance of the step-size chapter at :math:`\eta = 10^{-2}`, from
:math:`\rho\,U_0/\|U_0\|_F` for the initial scales of the profile (one fixed direction).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from ...claims import Claim, claim
from ...validation import check_int, check_real
from ..base import ExperimentParams
from .common import (check_backend, QUOTE_BM_APPROX, QUOTE_INIT, CompletionParams, CompletionSweep,
                     budget_line, certificate_rows, certified_claim, log_monotone,
                     rank_above, rank_equals, run_completion_sweep)

__all__ = ["Params", "Result", "run", "claims", "table", "glue_values", "certificate_table"]

TRUE_RANK = 3
BM_APPROX_MIN_RHO = 1e-2
"""``ib.mc.init.bm_approx`` is stated for ρ ≥ 1e-2: by Gunasekar et al.'s conjecture BM tends to
the minimum nuclear-norm solution as ρ → 0, so at the smallest scales its spectrum may fall
below any fixed threshold."""


@dataclass(frozen=True)
class Params(ExperimentParams):
    """Settings (FOUND-code: η fixed at 1e-2; the ρ jobs of the authors' scripts)."""

    n: int = 50
    max_iter: int = 10_000
    eta: float = 1e-2
    rhos: tuple = (1.0, 1e-2, 1e-4)
    backend: str = "numba"           # "numba": batched compiled kernel; "numpy": the oracle loop;
    #                                  "torch": the same batched iteration in torch, on device
    device: str = "cpu"              # "cuda[:k]" with backend="torch" (a GPU, asked for)
    PRESETS: ClassVar[dict[str, dict[str, Any]]] = {
        "quick": {"n": 50, "max_iter": 10_000, "rhos": (1.0, 1e-2, 1e-4)},
        "paper": {"n": 100, "max_iter": 10 ** 6, "rhos": (1.0, 1e-1, 1e-2, 1e-3, 1e-4)},
    }

    def validate(self) -> None:
        check_int("n", self.n, lo=8)
        check_int("max_iter", self.max_iter, lo=1)
        check_real("eta", self.eta, lo=0, lo_open=True)
        if len(self.rhos) < 2 or any(not r > 0 for r in self.rhos):
            raise ValueError(f"rhos must be at least two positive scales, got {self.rhos!r}")
        if not any(r >= BM_APPROX_MIN_RHO for r in self.rhos):
            raise ValueError(f"rhos must contain a scale ≥ {BM_APPROX_MIN_RHO:g}")
        check_backend(self.backend, self.device)


@dataclass
class Result:
    params: Params
    sweep: CompletionSweep
    timings: dict


def run(params: Params, rng: np.random.Generator) -> Result:
    """The chapter's experiment: compute the results for ``params`` (a diverged run is an outcome, not an exception)."""
    p = params
    sweep = run_completion_sweep(CompletionParams(n=p.n, etas=(p.eta,), rhos=tuple(p.rhos),
                                                  max_iter=p.max_iter, backend=p.backend, device=p.device), rng)
    return Result(p, sweep, {"sweep": sweep.seconds()})


def table(result: Result) -> pd.DataFrame:
    t = result.sweep.frame()
    return t[["method", "rho", "residual", "rel_error", "rank", "sigma_next_rel"]].rename(
        columns={"rho": "ρ", "residual": "‖A(X)−b‖²", "rel_error": "‖X−X♮‖/‖X♮‖",
                 "rank": "rank (1e-6)", "sigma_next_rel": "σ₄/σ₁"})


def certificate_table(result: Result) -> pd.DataFrame:
    """Dual certificate (PSD least squares, :func:`bmlab.sdp.certificate`) of every run; this
    chapter has no SDP solve (the step-size chapter has the convex baseline)."""
    sw = result.sweep
    t = pd.DataFrame(certificate_rows(sw.problem, sw.runs))
    return t[["method", "ρ", "λ_min(S)", "‖SX‖/‖X‖", "verdict"]]


def _runs(result: Result, method: str):
    return sorted((r for r in result.sweep.runs if r.method == method), key=lambda r: -r.rho)


def glue_values(result: Result) -> dict:
    p = result.params
    bm, udu = _runs(result, "BM"), _runs(result, "UDU")
    q = [r.spectrum[TRUE_RANK] / r.spectrum[0] for r in bm]
    return {"n": p.n, "m": result.sweep.problem.m, "max_iter": f"{p.max_iter:,}", "eta": p.eta,
            "budget": budget_line(p.max_iter, (p.eta,)), "bm_decay_max": float(q[0]),
            "bm_decay_min": float(q[-1]), "udu_err_max": float(max(r.rel_error for r in udu))}


def claims(result: Result) -> list[Claim]:
    """The chapter's pre-registered claims, decided from ``result`` alone (see :mod:`bmlab.claims`)."""
    p = result.params
    bm, udu = _runs(result, "BM"), _runs(result, "UDU")
    large = [r for r in bm if r.rho >= BM_APPROX_MIN_RHO]
    return [
        claim("ib.mc.init.udu_rank",
              f"UDU's numerical rank (rtol 1e-6) equals the true rank 3 for every ρ tried "
              f"{list(p.rhos)}", rank_equals([r.spectrum for r in udu], TRUE_RANK),
              kind="paper", quote=QUOTE_INIT, exploratory=True,
              reason="exploratory because an earlier, cut paper-profile budget (10⁵ iterations, "
                     "ηT = 1000) was raised after a shorter run had been seen to leave UDU at "
                     "rank 2 at small ρ, so that verdict depended on when the third column "
                     "switches on. The paper profile now runs the paper's 10⁶ iterations "
                     "(ηT = 10⁴), well past the switch-on (roughly 4·10⁴ iterations at n = 100, "
                     "later for smaller ρ); the new run decides"),
        claim("ib.mc.init.bm_approx",
              "BM's solutions are only approximately low-rank at the larger initial scales: more "
              f"than 3 singular values above 1e-6·σ₁ for every ρ ≥ {BM_APPROX_MIN_RHO:g} (below "
              "that, Gunasekar et al.'s ρ → 0 limit allows BM to approach exact low rank)",
              rank_above([r.spectrum for r in large], TRUE_RANK), kind="paper",
              quote=QUOTE_BM_APPROX),
        claim("ib.mc.init.bm_decay_sharpens",
              "BM's spectral decay sharpens as ρ shrinks: σ₄/σ₁ decreases strictly from the "
              "largest to the smallest ρ (log10 values, ρ descending)",
              log_monotone([r.spectrum[TRUE_RANK] / r.spectrum[0] for r in bm],
                           increasing=False), kind="paper", quote=QUOTE_INIT),
        _cert_claim(result),
    ]


def _cert_claim(result: Result) -> Claim:
    sw = result.sweep
    u = pd.DataFrame(certificate_rows(sw.problem, [r for r in sw.runs if r.method == "UDU"]))
    return certified_claim(
        "ib.mc.init.udu_certified",
        "Interpolation certificate: UDU's run at every ρ is certified as a global minimiser of "
        "the PSD least-squares problem min_{Z⪰0} ½‖P_Ω(Z) − b‖² by the dual certificate "
        "(bmlab.sdp.certificate, tol 1e-6: λ_min(S) ≥ −tol·scale and ‖SX‖/‖X‖ ≤ tol·scale, "
        "S = ∇f(X); ours: verdict per ρ; margin: decades from the nearer test). The data are "
        "noiseless, so f* = 0 and any interpolating PSD X is certified: this asserts that UDU "
        "has converged to an interpolant at every initial scale, not that it found the "
        "trace-minimal completion; " + budget_line(result.params.max_iter, (result.params.eta,)),
        u, exploratory=True,
        expected="holds" if result.params.max_iter >= 10 ** 6 else "fails",
        reason="expectation from the dynamics: on noiseless data a UDU run that has reached its "
               "rank-3 limit interpolates (S → 0), so it is certified at the paper's 10⁶ "
               "iterations (ηT = 10⁴); at the quick profile's cut budget (10⁴ iterations, "
               "ηT = 100) UDU has not converged (residual 0.11–0.15, error to X♮ 0.27–0.29) "
               "and cannot be certified, as in the step-size chapter at the same budget "
               "(ib.mc.step.udu_certified). Exploratory because both verdicts were known when "
               "this claim was written (referee finding 7): the paper profile's certificate "
               "table (2026-12-01) showed every UDU run certified (λ_min(S) ≈ −1e-13), and the "
               "quick expectation was set after its first run had shown every UDU run refuted")
