r"""Chapter ``implicit-bias/phase-retrieval-synthetic``: paper 001, A.2.1 (Figures SM2, SM3).

A 16×16 grey image :math:`x_\natural` (ours, ``data/inputs/implicit-bias``) observed through
:math:`m = 2n` Gaussian quadratic measurements; BM and UDU with :math:`r = n` from the same
:math:`U_0`, step :math:`1/L`, :math:`\alpha = \tfrac12\|\sqrt y\|_2` (FOUND-code).

* the **main run** (the profile's image size and budget) gives the figures;
* the **seed study** -- ``seeds`` independent instances (sensing matrix and start) of the 8×8
  image, ``seed_max_iter`` iterations, the same in both profiles -- decides the claims by a
  paired sign test (one instance cannot decide a comparison between methods);
* PhaseLift (CVXPY/SCS) on the first seed's instance is the convex cross-check.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from ...claims import Claim, at_most, claim, qualitative
from ...sweep import sweep
from ...validation import check_int
from ..base import ExperimentParams
from .common import (budget_line, certificate_row, certified_claim, check_backend, sdp_status,
                     sign_test)
from .pr_common import QUOTE_PR_SYNTH, run_pr_pair

__all__ = ["Params", "Result", "run", "claims", "table", "seed_table", "phaselift_table",
           "certificate_table", "glue_values", "snapshots"]


@dataclass(frozen=True)
class Params(ExperimentParams):
    downsample: int = 2
    max_iter: int = 3_000
    seeds: int = 8
    seed_downsample: int = 2
    seed_max_iter: int = 3_000
    sdp_eps: float = 1e-8
    sdp_max_iters: int = 100_000
    backend: str = "numba"           # "numba": batched kernel (kernels_pr); "numpy": the oracle;
    #                                  "torch": the same batched iteration in torch, on device
    device: str = "cpu"              # "cuda[:k]" with backend="torch": the paper's 10⁶ on a GPU
    PRESETS: ClassVar[dict[str, dict[str, Any]]] = {
        # the paper runs 10⁶ iterations; one iteration of the BM/UDU pair costs 7.6 ms of CPU at
        # n = 256 and 0.24 ms at n = 64 (batched kernel, 1 core, measured), so 10⁶ would take
        # ~2 h: the paper profile runs the largest budget that keeps the chapter within ~8 min
        # on one core (main 3·10⁴ ≈ 230 s, seed study 8 × 10⁵ ≈ 190 s)
        "quick": {"downsample": 2, "max_iter": 3_000, "seed_max_iter": 3_000},
        "paper": {"downsample": 1, "max_iter": 30_000, "seed_max_iter": 100_000},
    }

    def validate(self) -> None:
        check_int("downsample", self.downsample, lo=1)
        if 16 % self.downsample:
            raise ValueError(f"downsample must divide 16, got {self.downsample}")
        check_int("max_iter", self.max_iter, lo=1)
        check_int("seeds", self.seeds, lo=6)
        check_int("seed_downsample", self.seed_downsample, lo=1)
        check_int("seed_max_iter", self.seed_max_iter, lo=1)
        check_backend(self.backend, self.device)


def snapshots(max_iter: int) -> tuple:
    return tuple(k for k in (10, 100, 1000, 10_000, 100_000) if k < max_iter) + (max_iter,)


@dataclass
class Result:
    params: Params
    x: np.ndarray
    problem: Any
    runs: dict               # the main pair (run_pr_pair output)
    seed_runs: list          # one run_pr_pair output per seed
    seed_problems: list
    sdp: Any
    timings: dict


def run(params: Params, rng: np.random.Generator) -> Result:
    """``rng`` is split into independent streams: main problem, main start, then a problem and
    a start per seed."""
    import time

    from ...problems.phase_retrieval import GaussianPR, image_signal, load_image
    from ...sdp.phaselift import phaselift_ls

    p = params
    streams = rng.spawn(2 + 2 * p.seeds)
    img = load_image()
    x = image_signal(img, p.downsample)
    P = GaussianPR.make(x, rng=streams[0])
    t0 = time.perf_counter()
    runs = run_pr_pair(P, r=P.n, max_iter=p.max_iter, rng=streams[1],
                       snapshots=snapshots(p.max_iter), backend=p.backend, device=p.device)
    timings = {"main": time.perf_counter() - t0}
    xs = image_signal(img, p.seed_downsample)
    t0 = time.perf_counter()
    # independent instances: one task each, carrying its own streams (identical results
    # serially or on a Dask cluster, bmlab.sweep)
    tasks = [(xs, streams[2 + 2 * k], streams[3 + 2 * k], p.seed_max_iter, p.backend,
              p.device) for k in range(p.seeds)]
    out = sweep(_seed_task, tasks, desc="PR seed study", progress=False)
    seed_problems, seed_runs = [o[0] for o in out], [o[1] for o in out]
    timings["seeds"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    sdp = phaselift_ls(seed_problems[0], solver="SCS", eps=p.sdp_eps, max_iters=p.sdp_max_iters)
    timings["phaselift"] = time.perf_counter() - t0
    return Result(p, x, P, runs, seed_runs, seed_problems, sdp, timings)


def _seed_task(task):
    """One instance of the seed study: (signal, problem stream, start stream, budget, backend,
    device) -> (problem, run_pr_pair output)."""
    from ...problems.phase_retrieval import GaussianPR

    xs, rng_problem, rng_start, max_iter, backend, device = task
    P = GaussianPR.make(xs, rng=rng_problem)
    return P, run_pr_pair(P, r=P.n, max_iter=max_iter, rng=rng_start, backend=backend,
                          device=device)


def table(result: Result) -> pd.DataFrame:
    r = result.runs
    return pd.DataFrame([{"method": m, "final error": r[m].final_error, "rank (1e-6)": r[m].rank,
                          "σ₂/σ₁": r[m].spectrum[1] / r[m].spectrum[0],
                          "residual": r[m].residual[-1]} for m in ("BM", "UDU")])


def seed_table(result: Result) -> pd.DataFrame:
    rows = []
    for k, r in enumerate(result.seed_runs):
        rows.append({"seed": k, "BM error": r["BM"].final_error, "UDU error": r["UDU"].final_error,
                     "BM rank (1e-6)": r["BM"].rank, "UDU rank (1e-6)": r["UDU"].rank})
    return pd.DataFrame(rows)


def phaselift_table(result: Result) -> pd.DataFrame:
    from ...problems.phase_retrieval import signal_error
    from ...factorizations.spectral import numerical_rank

    xs, sdp, small = result.seed_problems[0].x_true, result.sdp, result.seed_runs[0]
    rows = []
    if sdp.ok:
        w, V = np.linalg.eigh(sdp.Z)
        rows.append({"method": f"PhaseLift (SCS, {sdp_status(sdp)})",
                     "error": signal_error(V[:, -1], xs),
                     "rank (1e-3)": numerical_rank(sdp.Z, 1e-3)})
    for m in ("BM", "UDU"):
        s = small[m].spectrum
        rows.append({"method": f"{m} ({small[m].n_iter:,} it.)", "error": small[m].final_error,
                     "rank (1e-3)": int(np.sum(s > 1e-3 * s[0]))})
    return pd.DataFrame(rows)


def certificate_table(result: Result) -> pd.DataFrame:
    r"""Dual certificate (PhaseLift least squares :math:`\min_{Z\succeq0}\tfrac12\sum_i
    (a_i^\top Za_i - y_i)^2`, :func:`bmlab.sdp.certificate`, tol 1e-6) of BM and UDU on the
    main instance (certificate alone: no SDP at n = 256) and on the first seed's instance, with
    the objective gap to PhaseLift and the distance from its solution there."""
    from ...factorizations.udu import udu_matrix
    from ...sdp.core import relative_error

    sdp = result.sdp
    rows = []
    for where, P, runs in (("main", result.problem, result.runs),
                           ("seed 0", result.seed_problems[0], result.seed_runs[0])):
        for m in ("BM", "UDU"):
            x = runs[m].x
            X = udu_matrix(x) if m == "BM" else udu_matrix(*x)
            small = where == "seed 0" and sdp.ok
            f = 0.5 * float(runs[m].residual[-1])
            rows.append(certificate_row(
                {"instance": f"{where} (n = {P.n})", "method": m}, P, x,
                {"f(X) − f_sdp": f - _lift_objective(P, sdp.Z) if small else float("nan"),
                 "‖X−Z_sdp‖/‖Z_sdp‖": relative_error(X, sdp.Z) if small else float("nan")}))
    return pd.DataFrame(rows)


def _lift_objective(P, Z) -> float:
    r = np.einsum("im,in,nm->m", P.A, Z, P.A) - P.b
    return 0.5 * float(r @ r)


def glue_values(result: Result) -> dict:
    p, r, P = result.params, result.runs, result.problem
    lift = phaselift_table(result)
    ok = bool(result.sdp.ok)
    st = seed_table(result)
    return {"n": P.n, "m": P.m, "max_iter": f"{p.max_iter:,}", "eta": r["eta"], "alpha": r["alpha"],
            "budget": budget_line(p.max_iter), "err_bm": r["BM"].final_error,
            "err_udu": r["UDU"].final_error, "rank_bm": r["BM"].rank, "rank_udu": r["UDU"].rank,
            "lift_err": float(lift.iloc[0]["error"]) if ok else float("nan"),
            "lift_rank": int(lift.iloc[0]["rank (1e-3)"]) if ok else -1,
            "seeds": p.seeds, "seed_max_iter": f"{p.seed_max_iter:,}",
            "seed_wins": int(np.sum(st["UDU error"] < st["BM error"])),
            "seed_err_bm": float(st["BM error"].median()),
            "seed_err_udu": float(st["UDU error"].median()),
            "cert_main": ", ".join(f"{m} {v}" for m, v in certificate_table(result)
                                   [["method", "verdict"]].itertuples(index=False, name=None))}


def claims(result: Result) -> list[Claim]:
    """The chapter's pre-registered claims, decided from ``result`` alone (see :mod:`bmlab.claims`)."""
    p, st = result.params, seed_table(result)
    setting = (f"{p.seeds} independent instances of the 8×8 image (n = 64, m = 128, own sensing "
               f"matrix and start each), {p.seed_max_iter:,} iterations, paired sign test, "
               "α = 0.05 (margin: instances that would have to change, / instances)")
    return [
        claim("ib.pr.udu_lower_rank",
              "UDU's solution has lower numerical rank (rtol 1e-6) than BM's at equal iterations: "
              + setting,
              sign_test(st["UDU rank (1e-6)"], st["BM rank (1e-6)"], better="lower",
                        min_samples=6), kind="paper", quote=QUOTE_PR_SYNTH),
        claim("ib.pr.udu_better_image",
              "UDU's phase-retrieval error (top singular vector, sign matched) is below BM's at "
              "equal iterations: " + setting + ". Decided at this profile's budget "
              f"({p.seed_max_iter:,} iterations per instance; the paper profile runs 10⁵, not "
              "the paper's 10⁶)",
              sign_test(st["UDU error"], st["BM error"], better="lower", min_samples=6),
              kind="paper", quote=QUOTE_PR_SYNTH, exploratory=True,
              expected="holds" if p.seed_max_iter >= 100_000 else "fails",
              reason="exploratory: the expectation at the paper profile's budget was set after "
                     "that run had been seen (referee finding 5/11). "
                     "Budget-dependent (both outcomes seen). Inconclusive at the cut budget, not "
                     "a non-reproduction: this expectation "
                     "was set when the seed study ran the 8×8 image for 3000 iterations in both "
                     "profiles (the paper: the 16×16 image for 10⁶). There, over 8 instances, "
                     "UDU's error is below BM's on about half of them (median 0.57 against 0.54) "
                     "and neither method has recovered the image (errors 0.4–0.7): two "
                     "unconverged estimates are compared, and with the radius ½‖√y‖ UDU's D "
                     "grows slowly, which may favour BM at a short budget (untested). The paper "
                     "profile now runs the seed study 33× longer (10⁵ iterations, the largest "
                     "that fits its time budget; 10⁶ does not) and decided (2026-12-01): UDU's "
                     "error is below BM's on 8 of 8 instances (median 0.031 against 0.40; UDU "
                     "recovers the image, BM does not), so the expectation at that budget was "
                     "set to holds after the run had been seen"),
        _cert_claim(result),
        _dist_claim(result),
        claim("ib.pr.phaselift_solved",
              "Cross-check: SCS solves PhaseLift on the first seed's instance (status optimal)",
              qualitative(bool(result.sdp.ok), ours=result.sdp.status), kind="check"),
    ]


def _cert_claim(result: Result) -> Claim:
    t = certificate_table(result)
    u = t[t.method == "UDU"]
    return certified_claim(
        "ib.pr.udu_certified",
        "Interpolation certificate: UDU's solutions (main instance and first seed's instance) "
        "are certified global minimisers of PhaseLift least squares "
        "min_{Z⪰0} ½Σ(a_iᵀZa_i − y_i)² by the dual certificate (bmlab.sdp.certificate, tol "
        "1e-6; S = Σ r_i a_i a_iᵀ). The measurements are noiseless, so f* = 0 and every PSD "
        "Z that fits all m measurements is certified: this tests that UDU fits the data, not "
        "that it recovers the image or PhaseLift's trace-minimal solution "
        "(ib.pr.udu_is_phaselift)", u,
        expected="fails",
        reason="neither method has recovered the image at the cut budgets (errors 0.4–0.7 in the "
               "quick profile), so neither is expected to be at a minimiser; the paper profile's "
               "3·10⁴ (main) and 10⁵ (seeds) iterations, not the paper's 10⁶, were not expected "
               "to change that when "
               "this was written")


def _dist_claim(result: Result) -> Claim:
    t = certificate_table(result)
    d = float(t[(t.method == "UDU") & t.instance.str.startswith("seed")]["‖X−Z_sdp‖/‖Z_sdp‖"]
              .iloc[0])
    return claim(
        "ib.pr.udu_is_phaselift",
        "UDU's solution on the first seed's instance (n = 64, m = 128) is PhaseLift's: "
        "‖UDUᵀ − Z_sdp‖_F/‖Z_sdp‖_F ≤ 1e-3 (pre-registered tolerance)",
        at_most(d if np.isfinite(d) else np.inf, 1e-3, scale=1e-3), kind="extension",
        expected="fails",
        reason="at m = 2n PhaseLift is below its recovery regime (its stored solution has rank "
               "above 1), so its least-squares minimiser is not unique and need not be the "
               "factorized run's; and the runs are not converged (ib.pr.udu_certified)")
