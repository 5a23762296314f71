r"""Chapter ``implicit-bias/phase-retrieval-synthetic``: paper 001, A.2.1 (Figures SM2, SM3).

A 16×16 grey image :math:`x_\natural` (ours, ``data/inputs/implicit-bias``) observed through
:math:`m = 2n` Gaussian quadratic measurements; BM and UDU with :math:`r = n` from the same
:math:`U_0`, step :math:`1/L`, :math:`\alpha = \tfrac12\|\sqrt y\|_2` (FOUND-code).

* the **main run** (the profile's image size and budget) gives the figures;
* the **seed study** -- ``seeds`` independent instances (sensing matrix and start) of the 8×8
  image, ``seed_max_iter`` iterations, the same in both profiles -- decides the claims by a
  paired sign test (one instance cannot decide a comparison between methods);
* PhaseLift (CVXPY/SCS) on the first seed's instance is the convex cross-check;
* the **recorded run** -- the main instance of the paper profile at the paper's 10⁶
  iterations, run once outside the book build (about 70 CPU minutes per method) and shipped in
  ``data/inputs/implicit-bias/pr-main-1e6.json`` with its provenance -- is shown beside the
  book's own runs (:func:`recorded_run`, :func:`record_main_run`; ``python -m
  bmlab.experiments.implicit_bias.phase_retrieval_synthetic --help`` regenerates it). It
  decides no claim: the build cannot re-verify it, but it checks that its own main run retraces
  the recorded one (:func:`recorded_glue`).
"""
from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from ...claims import Claim, at_most, claim, qualitative
from ...sweep import sweep
from ...validation import check_int
from ..base import ExperimentParams
from .common import (budget_line, certificate_row, certified_claim, check_backend, sdp_status,
                     sign_test)
from .pr_common import PRRun, QUOTE_PR_SYNTH, run_pr_pair

__all__ = ["Params", "Result", "run", "claims", "table", "seed_table", "phaselift_table",
           "certificate_table", "glue_values", "snapshots", "main_instance", "record_main_run",
           "recorded_run", "recorded_runs", "recorded_signal", "recorded_table",
           "recorded_glue", "recorded_shown", "RECORDED_FILE"]


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


def snapshots(max_iter: int, *, fine: bool = False) -> tuple:
    """Iterations at which a run keeps its image: the powers of ten from 10 below
    ``max_iter`` and ``max_iter``; ``fine`` adds 3·10⁴ and 3·10⁵ (the recorded run: 3·10⁴ is
    the paper profile's budget)."""
    ks = (10, 100, 1000, 10_000, 100_000) + ((30_000, 300_000) if fine else ())
    return tuple(sorted(k for k in ks if k < max_iter)) + (max_iter,)


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

    from ...problems.phase_retrieval import image_signal, load_image
    from ...sdp.phaselift import phaselift_ls

    p = params
    img = load_image()
    x, P, streams = main_instance(p, rng, img=img)
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


def main_instance(params: Params, rng: np.random.Generator, *, img=None):
    """``(x, problem, streams)`` of the main run of :func:`run`: ``rng`` spawns the streams
    (main problem, main start, then a problem and a start per seed-study instance) and the
    problem is drawn from the first."""
    from ...problems.phase_retrieval import GaussianPR, image_signal, load_image

    streams = rng.spawn(2 + 2 * params.seeds)
    x = image_signal(load_image() if img is None else img, params.downsample)
    return x, GaussianPR.make(x, rng=streams[0]), streams


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


# --------------------------------------------------------------------------- recorded run
#: The recorded run at the paper's budget, in ``data/inputs/implicit-bias``.
RECORDED_FILE = "pr-main-1e6.json"
#: The key of the chapter's stream (``ch.rng(MAIN_STREAM)``) that :func:`run` is given.
MAIN_STREAM = 1
#: Largest relative difference of the error and residual curves at which this build's main
#: run counts as retracing the recorded one (fixed before the comparison was first made; the
#: same instance and start agree to rounding, another instance or start differs at O(1)).
RETRACE_RTOL = 1e-6
_RUN_FIELDS = {"status": str, "n_iter": int, "seconds": (int, float), "iters": list,
               "residual": list, "error": list, "rank": int, "spectrum": list,
               "snapshots": dict}
_SETTING_FIELDS = {"seed": int, "downsample": int, "max_iter": int, "n": int, "m": int,
                   "eta": float, "alpha": float, "backend": str}
_PROVENANCE_FIELDS = ("command", "commit", "date", "machine")
_MODULE = "bmlab.experiments.implicit_bias.phase_retrieval_synthetic"


def record_main_run(params: Params, rng: np.random.Generator, method: str) -> dict:
    """One method of :func:`run`'s main run (the same instance and start for the same
    ``params`` and ``rng``), for ``params.max_iter`` iterations, as the JSON-ready record of
    the recorded-run file (:data:`RECORDED_FILE`): status, iterations, the error and
    residual at the recorded iterations, the spectrum and rank of the final ``X``, and the
    recovered image at ``snapshots(max_iter, fine=True)``."""
    if method not in ("BM", "UDU"):
        raise ValueError(f"method must be 'BM' or 'UDU', got {method!r}")
    x, P, streams = main_instance(params, rng)
    snaps = snapshots(params.max_iter, fine=True)
    runs = run_pr_pair(P, r=P.n, max_iter=params.max_iter, rng=streams[1], snapshots=snaps,
                       backend=params.backend, device=params.device, methods=(method,))
    r = runs[method]
    return {"method": method, "n": P.n, "m": P.m, "eta": float(runs["eta"]),
            "alpha": float(runs["alpha"]), "status": r.status, "n_iter": int(r.n_iter),
            "seconds": float(r.seconds), "iters": [int(k) for k in r.iters],
            "residual": [float(v) for v in r.residual], "error": [float(v) for v in r.error],
            "rank": int(r.rank), "spectrum": [float(v) for v in r.spectrum],
            "snapshots": {str(k): [float(a) for a in v] for k, v in sorted(r.snapshots.items())}}


def _bad(path, what: str) -> ValueError:
    return ValueError(f"{path}: {what}. The file is the recorded run of the phase-retrieval "
                      "chapter; restore it from git (git checkout -- <file>) or regenerate it "
                      f"(python -m {_MODULE} --help)")


def _typed(part: dict, fields: dict, where: str, path) -> None:
    for f, typ in fields.items():
        v = part.get(f)
        if not isinstance(v, typ) or isinstance(v, bool):
            raise _bad(path, f"{where}.{f} missing or not {getattr(typ, '__name__', typ)}")


def _floats(values, where: str, path, n: int | None = None) -> np.ndarray:
    try:
        a = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise _bad(path, f"{where} must be a list of numbers") from None
    if a.ndim != 1 or (n is not None and a.size != n):
        raise _bad(path, f"{where} must be a list of {n if n is not None else 'some'} numbers")
    if not np.all(np.isfinite(a)):
        raise _bad(path, f"{where}: non-finite values")
    return a


def recorded_run(path: str | Path | None = None) -> dict:
    """The recorded run (default ``data/inputs/implicit-bias/``:data:`RECORDED_FILE`),
    validated: ``setting`` (seed, downsample, max_iter, n, m, eta, alpha, backend),
    ``provenance`` (command, commit, date, machine; more where known) and ``runs`` with one
    record of :func:`record_main_run` per method. Besides the types it checks what the
    chapter relies on: n is the image's size at that downsampling and m = 2n; the recorded
    iterations start at 0, increase and end at ``n_iter``; both methods start from the same
    error and residual; the rank is the spectrum's at rtol 1e-6; both keep images at the same
    recorded iterations, and each image's error is the recorded one. ``FileNotFoundError`` or
    ``ValueError`` naming the file and how to restore it otherwise."""
    from ... import paths
    from ...factorizations.spectral import numerical_rank
    from ...problems.phase_retrieval import image_signal, load_image, signal_error

    path = Path(path) if path is not None else paths.inputs_dir() / "implicit-bias" / RECORDED_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: the recorded run of the phase-retrieval chapter is "
                                "missing; restore it from git or regenerate it "
                                f"(python -m {_MODULE} --help)") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise _bad(path, f"not valid JSON ({e})") from None
    if not isinstance(data, dict):
        raise _bad(path, "the top level must be an object")
    for key, fields in (("setting", _SETTING_FIELDS),
                        ("provenance", dict.fromkeys(_PROVENANCE_FIELDS, str))):
        if not isinstance(data.get(key), dict):
            raise _bad(path, f"no {key!r} object")
        _typed(data[key], fields, key, path)
    st = data["setting"]
    if not 1 <= st["downsample"] <= 16 or 16 % st["downsample"]:
        raise _bad(path, "setting.downsample must divide 16")
    x = image_signal(load_image(), st["downsample"])
    n = x.size
    if st["n"] != n or st["m"] != 2 * n:
        raise _bad(path, f"setting.n and setting.m must be {n} and {2 * n} (the image at "
                         f"downsample {st['downsample']}, m = 2n)")
    runs = data.get("runs")
    if not isinstance(runs, dict) or sorted(runs) != ["BM", "UDU"] or \
            not all(isinstance(r, dict) for r in runs.values()):
        raise _bad(path, "'runs' must hold exactly the objects 'BM' and 'UDU'")
    for m, r in runs.items():
        where = f"runs.{m}"
        _typed(r, _RUN_FIELDS, where, path)
        its = r["iters"]
        if not all(isinstance(k, int) and not isinstance(k, bool) for k in its):
            raise _bad(path, f"{where}.iters must be integers")
        if len(its) < 2 or its[0] != 0 or its != sorted(set(its)) or its[-1] != r["n_iter"]:
            raise _bad(path, f"{where}.iters must start at 0, increase and end at n_iter")
        if r["status"] == "max_iter" and r["n_iter"] != st["max_iter"]:
            raise _bad(path, f"{where}: status max_iter but n_iter != setting.max_iter")
        err = _floats(r["error"], f"{where}.error", path, len(its))
        _floats(r["residual"], f"{where}.residual", path, len(its))
        spec = _floats(r["spectrum"], f"{where}.spectrum", path, n)
        if not (np.isfinite(r["seconds"]) and r["seconds"] >= 0):
            raise _bad(path, f"{where}.seconds must be a finite number >= 0")
        if spec.min() < 0 or spec.max() <= 0 or \
                r["rank"] != numerical_rank(spec, 1e-6, spectrum=True):
            raise _bad(path, f"{where}: the spectrum must be >= 0 and its rank at rtol 1e-6 "
                             "must be the recorded rank")
        if not r["snapshots"]:
            raise _bad(path, f"{where}.snapshots is empty")
        for key, v in r["snapshots"].items():
            if not (key.isascii() and key.isdigit()) or int(key) not in its:
                raise _bad(path, f"{where}.snapshots[{key!r}]: the key must be a recorded "
                                 "iteration")
            img = _floats(v, f"{where}.snapshots[{key!r}]", path, n)
            e = err[its.index(int(key))]
            try:
                e_img = signal_error(img, x)
            except ValueError as exc:           # e.g. an all-zero image
                raise _bad(path, f"{where}.snapshots[{key!r}]: {exc}") from None
            if not np.isclose(e_img, e, rtol=1e-9, atol=1e-12):
                raise _bad(path, f"{where}.snapshots[{key!r}]: the image's error is not the "
                                 f"recorded error {e:.6g} at that iteration")
    bm, udu = runs["BM"], runs["UDU"]
    if sorted(bm["snapshots"]) != sorted(udu["snapshots"]):
        raise _bad(path, "BM and UDU must keep images at the same iterations")
    if not (np.isclose(bm["error"][0], udu["error"][0], rtol=1e-12)
            and np.isclose(bm["residual"][0], udu["residual"][0], rtol=1e-12)):
        raise _bad(path, "BM and UDU must start from the same point (error and residual at "
                         "iteration 0)")
    return data


def recorded_runs(recorded: dict) -> dict[str, PRRun]:
    """The recorded run's methods as :class:`~.pr_common.PRRun` (for the chapter's plots;
    ``x`` is not kept)."""
    out = {}
    for m, r in recorded["runs"].items():
        out[m] = PRRun(method=m, status=r["status"], n_iter=r["n_iter"], seconds=r["seconds"],
                       iters=np.asarray(r["iters"], dtype=int),
                       residual=np.asarray(r["residual"], dtype=float),
                       error=np.asarray(r["error"], dtype=float),
                       snapshots={int(k): np.asarray(v, dtype=float)
                                  for k, v in r["snapshots"].items()},
                       spectrum=np.asarray(r["spectrum"], dtype=float), rank=r["rank"])
    return out


def recorded_signal(recorded: dict) -> np.ndarray:
    """The image signal of the recorded run's setting."""
    from ...problems.phase_retrieval import image_signal, load_image

    return image_signal(load_image(), recorded["setting"]["downsample"])


def recorded_shown(recorded: dict) -> tuple[int, ...]:
    """The iterations whose images the chapter shows for the recorded run: from 10⁴ on, with
    the last."""
    its = sorted({int(k) for r in recorded["runs"].values() for k in r["snapshots"]})
    return tuple(k for k in its if k >= 10_000) or tuple(its[-1:])


def _at(run: PRRun, k: int) -> float:
    hit = np.flatnonzero(run.iters == k)
    return float(run.error[hit[0]]) if hit.size else float("nan")


def recorded_table(recorded: dict) -> pd.DataFrame:
    """Error of the recorded run at 10⁴, 3·10⁴ (the paper profile's budget), 10⁵, 3·10⁵ and
    at its end, with the final rank (rtol 1e-6), σ₂/σ₁, residual and CPU time."""
    rows = []
    for m, run in recorded_runs(recorded).items():
        row = {"method": m}
        for k in (10_000, 30_000, 100_000, 300_000):
            row[f"error at {k:,}"] = _at(run, k)
        row[f"error at {run.n_iter:,}"] = float(run.error[-1])
        row.update({"rank (1e-6)": run.rank, "σ₂/σ₁": float(run.spectrum[1] / run.spectrum[0]),
                    "residual": float(run.residual[-1]), "minutes (one core)": run.seconds / 60})
        rows.append(row)
    return pd.DataFrame(rows)


def recorded_glue(recorded: dict, result: Result, seed: int) -> dict:
    """Values for the chapter's text about the recorded run, and the check that this build's
    main run retraces it (``rec_verdict``: ``"retraces"``, ``"does not retrace"`` or ``"not
    compared"``; ``rec_check``: the sentence). Compared only where the setting is the recorded
    one (image size, root seed, backend): the error and the residual of both methods at every
    iteration both runs recorded, against :data:`RETRACE_RTOL` (relative)."""
    st, prov = recorded["setting"], recorded["provenance"]
    runs = recorded_runs(recorded)
    p = result.params
    mine = (p.downsample, seed, p.backend)
    theirs = (st["downsample"], st["seed"], st["backend"])
    e_bm, e_udu = float(runs["BM"].error[-1]), float(runs["UDU"].error[-1])
    out = {"rec_iter": f"{st['max_iter']:,}", "rec_n": st["n"], "rec_m": st["m"],
           "rec_err_bm": e_bm, "rec_err_udu": e_udu,
           "rec_rank_bm": runs["BM"].rank, "rec_rank_udu": runs["UDU"].rank,
           "rec_minutes": f"{runs['BM'].seconds / 60:.0f} and {runs['UDU'].seconds / 60:.0f}",
           "rec_commit": prov["commit"][:7], "rec_date": prov["date"],
           "rec_machine": prov["machine"], "rec_command": prov["command"]}
    if mine != theirs:
        names = ("downsample", "seed", "backend")
        diff = ", ".join(f"{k} {a!r} here, {b!r} recorded" for k, a, b in zip(names, mine, theirs)
                         if a != b)
        out.update(rec_verdict="not compared",
                   rec_check=f"this build's main run is not the recorded one ({diff}), so the "
                             "two are not compared")
        return out
    worst, counts, top = 0.0, [], 0
    for m in ("BM", "UDU"):
        a, b = result.runs[m], runs[m]
        ks, i, j = np.intersect1d(a.iters, b.iters, return_indices=True)
        counts.append(int(np.sum(ks >= 100)))
        top = max(top, int(ks.max()) if ks.size else 0)
        for mine_v, rec_v in ((a.error[i], b.error[j]), (a.residual[i], b.residual[j])):
            d = np.abs(np.asarray(mine_v) - rec_v) / np.maximum(np.abs(rec_v), 1e-300)
            worst = max(worst, float(np.max(d))) if d.size and np.all(np.isfinite(d)) \
                else float("inf")
    ok = worst <= RETRACE_RTOL
    out["rec_verdict"] = "retraces" if ok else "does not retrace"
    out["rec_check"] = (
        f"this build's main run {'retraces' if ok else 'does NOT retrace'} the recorded one: "
        f"at the iterations both recorded ({counts[0]} for BM and {counts[1]} for UDU from "
        f"100 on, up to {top:,}), errors and residuals differ by at most {worst:.1e} "
        f"(relative; the criterion, fixed in advance, is {RETRACE_RTOL:.0e})")
    return out


def _provenance() -> dict:
    """Where and from what this process runs: commit (and whether the tree was dirty),
    CPU model, numpy and its BLAS."""
    import platform
    import subprocess

    from ... import paths

    def git(*args):
        return subprocess.run(["git", *args], capture_output=True, text=True,
                              cwd=paths.repo_root()).stdout.strip()
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    blas = "unknown"
    with contextlib.suppress(Exception):
        from threadpoolctl import threadpool_info

        blas = "; ".join(f"{i.get('internal_api')} {i.get('version')} "
                         f"{i.get('architecture', '')} ({i.get('num_threads')} threads)"
                         for i in threadpool_info() if i.get("user_api") == "blas")
    return {"commit": git("rev-parse", "HEAD") or "unknown",
            "dirty": bool(git("status", "--porcelain", "--untracked-files=no")),
            "cpu": cpu, "python": platform.python_version(), "numpy": np.__version__,
            "blas": blas}


def _main(argv=None) -> int:
    """Regenerate the recorded run (``--help``)."""
    import argparse
    import datetime

    from ... import paths
    from ...chapter import chapter_rng

    ap = argparse.ArgumentParser(
        prog=f"python -m {_MODULE}",
        description="Record the main run of the phase-retrieval chapter at the paper's budget "
                    "(one method per call, so BM and UDU can run on two cores at once), then "
                    "merge the two records into the recorded-run file.")
    sub = ap.add_subparsers(dest="cmd", required=True)
    one = sub.add_parser("record", help="run one method; write its record (JSON)")
    one.add_argument("method", choices=("BM", "UDU"))
    one.add_argument("--out", required=True, type=Path)
    one.add_argument("--max-iter", type=int, default=10 ** 6)
    one.add_argument("--seed", type=int, default=0, help="the chapter's root seed")
    one.add_argument("--backend", default="numba", choices=("numba", "numpy", "torch"))
    one.add_argument("--device", default="cpu")
    mrg = sub.add_parser("merge", help="merge the BM and UDU records into the recorded-run file")
    mrg.add_argument("bm", type=Path)
    mrg.add_argument("udu", type=Path)
    mrg.add_argument("--out", type=Path, default=None,
                     help=f"default: data/inputs/implicit-bias/{RECORDED_FILE}")
    mrg.add_argument("--machine", required=True, help="where it ran, in words")
    mrg.add_argument("--note", default="", help="anything else a reader should know")
    a = ap.parse_args(argv)
    now = lambda: datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")  # noqa: E731
    if a.cmd == "record":
        params = Params.for_profile("paper", max_iter=a.max_iter, backend=a.backend,
                                    device=a.device)
        prov = dict(_provenance(), started=now())
        rec = record_main_run(params, chapter_rng(a.seed, MAIN_STREAM), a.method)
        rec["setting"] = {"seed": a.seed, "downsample": params.downsample,
                          "max_iter": params.max_iter, "backend": params.backend,
                          "device": params.device}
        rec["provenance"] = dict(prov, finished=now())
        tmp = a.out.with_name(a.out.name + ".tmp")
        tmp.write_text(json.dumps(rec), encoding="utf-8")
        tmp.replace(a.out)
        print(f"{a.method}: {rec['n_iter']:,} iterations, error {rec['error'][-1]:.4g}, "
              f"{rec['seconds'] / 60:.1f} min -> {a.out}")
        return 0
    try:
        recs = [json.loads(f.read_text(encoding="utf-8")) for f in (a.bm, a.udu)]
    except (OSError, ValueError) as e:
        raise SystemExit(f"merge: cannot read the records ({e})") from None
    if [r.get("method") for r in recs] != ["BM", "UDU"] or \
            recs[0].get("setting") != recs[1].get("setting"):
        raise SystemExit("merge: give the BM record, then the UDU record, of the same setting")
    p0, p1 = recs[0].get("provenance", {}), recs[1].get("provenance", {})
    if p0.get("commit") != p1.get("commit"):
        raise SystemExit("merge: the two records come from different commits")
    st = recs[0]["setting"]
    setting = dict(st, n=recs[0]["n"], m=recs[0]["m"], eta=recs[0]["eta"],
                   alpha=recs[0]["alpha"])
    keep = ("status", "n_iter", "seconds", "iters", "residual", "error", "rank", "spectrum",
            "snapshots")
    flags = f"--max-iter {st['max_iter']} --seed {st['seed']} --backend {st['backend']} " \
            f"--device {st.get('device', 'cpu')}"
    command = (f"python -m {_MODULE} record BM {flags} --out BM.json & "
               f"python -m {_MODULE} record UDU {flags} --out UDU.json; wait; "
               f"python -m {_MODULE} merge BM.json UDU.json --machine ...")
    out = {"what": "The main run of implicit-bias/phase-retrieval-synthetic (the paper "
                   "profile's instance and start) at the paper's budget, recorded once "
                   "outside the book build.",
           "setting": setting,
           "provenance": {"command": command, "commit": p0.get("commit", "unknown"),
                          "dirty": bool(p0.get("dirty") or p1.get("dirty")),
                          "date": str(p0.get("started", now()))[:10],
                          "started": {"BM": p0.get("started"), "UDU": p1.get("started")},
                          "finished": {"BM": p0.get("finished"), "UDU": p1.get("finished")},
                          "machine": a.machine, "cpu": p0.get("cpu"),
                          "python": p0.get("python"), "numpy": p0.get("numpy"),
                          "blas": p0.get("blas"), "note": a.note},
           "runs": {r["method"]: {k: r[k] for k in keep} for r in recs}}
    dest = a.out or paths.inputs_dir() / "implicit-bias" / RECORDED_FILE
    tmp = dest.with_name(dest.name + ".tmp")
    tmp.write_text(json.dumps(out, indent=1) + "\n", encoding="utf-8")
    try:
        recorded_run(tmp)           # it passes its own validation before it replaces anything
    except ValueError:
        tmp.unlink()
        raise
    tmp.replace(dest)
    print(f"wrote {dest}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(_main())
