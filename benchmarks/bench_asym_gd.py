"""Benchmark: one GD step on Ye & Du's asymmetric factorization at the chapter's size
(m = 20, n = 15, d = 3) — the compiled batched kernel
(:func:`bmlab.solvers.kernels_gd.run_asym_gd_batch`, in-loop snapshots instead of a per-step
callback) against the simplest numpy loop and the package's numpy path (the shared loop
``gradient_descent`` as the chapters call it, with and without the chapters' per-step ``BlockTracker`` callback), in
the same run. Prints a table; never asserts (issue 12 target: ≤ 2 µs per run per iteration,
batched, with stage tracking).

    .venv/bin/python benchmarks/bench_asym_gd.py [--quick]
"""
from __future__ import annotations

import argparse

import _timing  # noqa: F401  (sets one BLAS thread before numpy loads)
import numpy as np

from bmlab.experiments.asymmetric_gd.common import BlockTracker, make_instance
from bmlab.problems.factorization import AsymmetricFactorization
from bmlab.solvers.gd import gradient_descent
from bmlab.solvers.kernels_gd import run_asym_gd_batch


def simplest_loop(S, U, V, eta, T):
    for _ in range(T):
        R = U @ V.T - S
        U, V = U - eta * (R @ V), V - eta * (R.T @ U)
    return U, V


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    a = ap.parse_args(argv)
    rng = np.random.default_rng(0)
    m, n, d, B = 20, 15, 3, 20
    T = 500 if a.quick else 2000
    insts = [make_instance(m, n, [3.0, 2.0, 1.0], rng) for _ in range(B)]
    S = np.stack([inst.Sigma for inst in insts])
    U0 = 1e-3 * rng.standard_normal((B, m, d))
    V0 = 1e-3 * rng.standard_normal((B, n, d))
    eta = 0.01
    prob = AsymmetricFactorization(S[0])
    obj = lambda x: prob.loss(x) / prob.f0  # noqa: E731
    snap = np.unique(np.r_[0:T:10, T])    # stage tracking: a snapshot every 10 iterations

    run_asym_gd_batch(S[:1], U0[:1], V0[:1], eta=eta, max_iter=2, snapshot=[0, 1])  # compile

    def tracked():      # as the chapters run it: the tracker observes the start, then every step
        tr = BlockTracker(insts[0], every=10, eta=eta)
        tr.observe(0, (U0[0], V0[0]))
        gradient_descent(prob.grad, (U0[0], V0[0]), step=eta, max_iter=T, objective=obj,
                         record_every=10, callback=tr)

    t = _timing.median_times({
        "simple": lambda: simplest_loop(S[0], U0[0], V0[0], eta, T),
        "ref": lambda: gradient_descent(prob.grad, (U0[0], V0[0]), step=eta, max_iter=T,
                                        objective=obj, record_every=10),
        "tracked": tracked,
        "one": lambda: run_asym_gd_batch(S[:1], U0[:1], V0[:1], eta=eta, max_iter=T,
                                         record_every=10, snapshot=snap),
        "batch": lambda: run_asym_gd_batch(S, U0, V0, eta=eta, max_iter=T, record_every=10,
                                           snapshot=snap),
    }, repeats=5)
    t_simple, t_ref, t_trk, t_one = (t[k] / T for k in ("simple", "ref", "tracked", "one"))
    t_bat = t["batch"] / (T * B)
    us = lambda t: f"{t * 1e6:.2f}"  # noqa: E731
    rows = [("simplest numpy loop", t_simple), ("bmlab numpy (gradient_descent)", t_ref),
            ("bmlab numpy + chapters' BlockTracker (every 10)", t_trk),
            ("kernel, 1 run, snapshots every 10", t_one),
            (f"kernel, batch of {B} seeds, snapshots every 10", t_bat)]
    _timing.table([{"implementation": name, "µs/iter/run": us(t),
                    "vs simplest loop": f"{t_simple / t:.1f}×"} for name, t in rows],
                  f"Ye & Du GD step, m = {m}, n = {n}, d = {d} ({T} iterations)")


if __name__ == "__main__":
    main()
