"""Benchmark: the SDP solver of each completion baseline, chosen by measurement (issue 14).

The two convex baselines of the implicit-bias chapters on the chapters' instances
(:func:`bmlab.problems.completion.make_completion`, rank 3, m = 9n, the FOUND-code ground
truth, drawn from the chapters' generator ``Chapter.rng(1)`` at seed 0, i.e.
``default_rng([0, 1])``; SCS's iteration count depends strongly on the instance): trace minimisation on the noiseless instance (``completion-step-size``) and PSD least
squares on the noisy one (noise 0.01, ``completion-noisy``), each with Clarabel (defaults) and
SCS with the chapters' settings (eps 1e-9 / 1e-10, at most 2·10⁵ iterations). For every n it
prints wall time, status (``optimal (inaccurate)`` shown as such), objective, iterations,
‖Z − M*‖_F/‖M*‖_F and, for the least-squares baseline, the dual certificate of the solver's
answer (:func:`bmlab.sdp.certificate`, λ_min(S)/scale and the verdict). A solver that needs
more than ``--limit`` CPU seconds (default 60: "practical") at one n is not run at larger n
(say ``--no-skip`` to run it anyway). Never asserts.

    nice -n 10 .venv/bin/python benchmarks/bench_sdp.py [--sizes 30 50 100 150] [--quick]
    nice -n 10 .venv/bin/python benchmarks/bench_sdp.py --phaselift

``--phaselift`` measures the PhaseLift baselines (trace and least squares) on the
phase-retrieval chapter's seed instance instead (n = 64, m = 128).

One BLAS thread (``_timing``); wall time and the CPU time of the process (all its threads):
on a shared machine the CPU time is the fairer of the two (it is what an idle machine's wall
time would be for these single-threaded solvers), so the practical limit applies to it.
"""
from __future__ import annotations

import argparse
import time

import _timing  # noqa: F401  (sets one BLAS thread before numpy loads)
import numpy as np

from bmlab.problems.completion import make_completion
from bmlab.problems.phase_retrieval import GaussianPR, image_signal, load_image
from bmlab.sdp import certificate
from bmlab.sdp.completion import psd_least_squares, trace_min_completion
from bmlab.sdp.phaselift import phaselift_ls, phaselift_trace
from bmlab.sdp.core import relative_error

SCS_OPTS = {"trace minimisation": {"eps": 1e-9, "max_iters": 200_000},
            "PSD least squares": {"eps": 1e-10, "max_iters": 200_000}}
BASELINES = {"trace minimisation": (trace_min_completion, 0.0),
             "PSD least squares": (psd_least_squares, 0.01)}
#: PhaseLift on the implicit-bias chapter's seed instances (image averaged down by 2: n = 64,
#: m = 2n), SCS with the chapter's settings.
PR_SCS_OPTS = {"eps": 1e-8, "max_iters": 100_000}
PR_BASELINES = {"PhaseLift trace": phaselift_trace, "PhaseLift least squares": phaselift_ls}


def _factor(Z: np.ndarray) -> np.ndarray:
    w, V = np.linalg.eigh(0.5 * (Z + Z.T))
    keep = w > 0
    return V[:, keep] * np.sqrt(w[keep])


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[30, 50, 100, 150])
    ap.add_argument("--solvers", nargs="+", default=["CLARABEL", "SCS"])
    ap.add_argument("--baselines", nargs="+", default=list(BASELINES), choices=list(BASELINES))
    ap.add_argument("--limit", type=float, default=60.0, help="practical limit in seconds")
    ap.add_argument("--no-skip", action="store_true")
    ap.add_argument("--quick", action="store_true", help="n = 30 only")
    ap.add_argument("--phaselift", action="store_true",
                    help="PhaseLift (n = 64, m = 128) instead of completion")
    ap.add_argument("--pr-baselines", nargs="+", default=list(PR_BASELINES),
                    choices=list(PR_BASELINES))
    a = ap.parse_args(argv)
    if a.phaselift:
        return phaselift(a)
    sizes = [30] if a.quick else a.sizes
    too_slow: dict = {}
    rows = []
    for n in sizes:
        for name in a.baselines:
            fn, noise = BASELINES[name]
            # the chapters' instance: seed 0, Chapter.rng(1) = default_rng([0, 1]), rank 3
            P = make_completion(n, 3, 9 * n, rng=np.random.default_rng([0, 1]), noise=noise)
            for solver in a.solvers:
                key = (name, solver)
                row = {"baseline": name, "n": n, "m": P.m, "solver": solver}
                if key in too_slow and not a.no_skip:
                    row.update({"status": f"skipped (> {a.limit:g} CPU s at n = {too_slow[key]})"})
                    rows.append(row)
                    print(row, flush=True)
                    continue
                opts = SCS_OPTS[name] if solver == "SCS" else {}
                t0, c0 = time.perf_counter(), time.process_time()
                res = fn(P, solver=solver, **opts)
                wall, cpu = time.perf_counter() - t0, time.process_time() - c0
                row.update({"wall [s]": f"{wall:.1f}", "cpu [s]": f"{cpu:.1f}", "status": res.status_label,
                            "objective": f"{res.objective:.6e}", "iterations": res.num_iters})
                if res.ok and res.Z is not None:
                    row["‖Z−M*‖/‖M*‖"] = f"{relative_error(res.Z, P.X_true):.2e}"
                    if name == "PSD least squares":
                        cert = certificate(P, _factor(res.Z), tol=1e-6)
                        row["cert λ_min/scale"] = f"{cert.lambda_min / cert.scale:.1e}"
                        row["cert verdict"] = cert.verdict
                if cpu > a.limit:
                    too_slow.setdefault(key, n)
                rows.append(row)
                print(row, flush=True)
    keys = list(dict.fromkeys(k for r in rows for k in r))
    rows = [{k: r.get(k, "") for k in keys} for r in rows]
    _timing.table(rows, f"Completion SDP baselines, Clarabel vs SCS (rank 3, m = 9n; practical: ≤ {a.limit:g} CPU s)")
    for (name, solver), n in sorted(too_slow.items()):
        print(f"{name}, {solver}: stops being practical at n = {n} (> {a.limit:g} CPU s)")


def phaselift(a) -> None:
    x = image_signal(load_image(), 2)
    P = GaussianPR.make(x, rng=np.random.default_rng(0))
    X_true = np.outer(x, x)
    rows = []
    for name in a.pr_baselines:
        fn = PR_BASELINES[name]
        for solver in a.solvers:
            t0, c0 = time.perf_counter(), time.process_time()
            res = fn(P, solver=solver, **(PR_SCS_OPTS if solver == "SCS" else {}))
            wall, cpu = time.perf_counter() - t0, time.process_time() - c0
            row = {"baseline": name, "n": P.n, "m": P.m, "solver": solver,
                   "wall [s]": f"{wall:.1f}", "cpu [s]": f"{cpu:.1f}", "status": res.status_label,
                   "objective": f"{res.objective:.6e}", "iterations": res.num_iters,
                   "‖Z−xxᵀ‖/‖xxᵀ‖": f"{relative_error(res.Z, X_true):.2e}" if res.ok else "",
                   "cert verdict": certificate(P, _factor(res.Z), tol=1e-6).verdict
                   if res.ok and name.endswith("squares") else ""}
            rows.append(row)
            print(row, flush=True)
    _timing.table(rows, "PhaseLift baselines (real Gaussian, the chapter's seed instance), "
                        "Clarabel vs SCS")


if __name__ == "__main__":
    main()
