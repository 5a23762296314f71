"""Benchmark: one iteration of update (3) (UDUᵀ projected GD) on matrix completion — the
compiled batched kernel (:func:`bmlab.solvers.kernels.run_udu_batch`) against the simplest
numpy loop and the package's numpy reference (``run_udu(backend="numpy")``), in the same run.
Prints tables; never asserts (issue 12: targets ≤ 15 µs per run per iteration at n = 100,
r = 100, m = 900, ≥ 8× the simplest loop; ≤ 1.0 ns/(m·r) at n = 10⁴, flat in n).

    .venv/bin/python benchmarks/bench_udu_completion.py [--quick] [--before REV]

``--before REV`` adds the kernel as it was at git revision ``REV``
(``src/bmlab/solvers/kernels.py`` there), timed interleaved with the current one in the same
run: a before/after ratio that a change of machine load hits alike.
"""
from __future__ import annotations

import argparse
import copy

import _timing  # noqa: F401  (sets one BLAS thread before numpy loads)
import numpy as np

from bmlab.factorizations.udu import scaled_init
from bmlab.problems.completion import make_completion
from bmlab.solvers.kernels import run_udu_batch
from bmlab.solvers.udu import run_udu


def simplest_loop(P, U, d, eta, alpha, T):
    """The simplest numpy loop: dense X, sampled residual, dense gradient."""
    rows, cols, b, n = P.rows, P.cols, P.b, P.n
    G = np.zeros((n, n))
    for _ in range(T):
        res = ((U * d) @ U.T)[rows, cols] - b
        G[rows, cols] = res
        GU = 0.5 * (G @ U + G.T @ U)
        gd = np.einsum("ij,ij->j", U, GU)
        U = U - eta * 2.0 * GU * d
        nrm = np.linalg.norm(U)
        if nrm > alpha:
            U = U * (alpha / nrm)
        d = np.maximum(d - eta * gd, 0.0)
    return U, d


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer iterations and sizes")
    ap.add_argument("--before", metavar="REV", help="also time the kernel of git revision REV")
    a = ap.parse_args(argv)
    old = None
    if a.before:
        old = _timing.module_at(a.before, "src/bmlab/solvers/kernels.py",
                                "bmlab.solvers._kernels_before").run_udu_batch
    rng = np.random.default_rng(0)
    T = 50 if a.quick else 200
    B = 8 if a.quick else 20

    # ---- the paper's instance: n = 100, r = n = 100, m = 900 -------------------------------
    P = make_completion(100, 3, rng=rng)
    U0 = np.stack([scaled_init(100, 100, 0.5, rng) for _ in range(B)])
    d0 = np.ones(100)
    eta = 0.05
    run_udu_batch(P, U0[:1], eta=eta, max_iter=2)  # compile / load the cache
    if old:
        old(P, U0[:1], eta=eta, max_iter=2)
    rec = np.array([0])
    Pg = copy.copy(P)
    Pg.forward_mode = "gather"                     # the O(mr) row-gather forward of the reference
    grid = dict(eta=np.linspace(0.01, 0.05, B), alpha=np.linspace(0.5, 2, B))
    fns = {
        "simple": lambda: simplest_loop(P, U0[0], d0, eta, 1.0, T),
        "ref": lambda: run_udu(P, U0[0], eta=eta, max_iter=T, record=rec),
        "gather": lambda: run_udu(Pg, U0[0], eta=eta, max_iter=T // 4, record=rec),
        "one": lambda: run_udu_batch(P, U0[:1], eta=eta, max_iter=T, record=rec),
        "batch": lambda: run_udu_batch(P, U0, max_iter=T, record=rec, **grid),
    }
    if old:
        fns["old one"] = lambda: old(P, U0[:1], eta=eta, max_iter=T, record=rec)
        fns["old batch"] = lambda: old(P, U0, max_iter=T, record=rec, **grid)
    t = _timing.median_times(fns, repeats=7)
    t_simple, t_ref, t_gat = t["simple"] / T, t["ref"] / T, t["gather"] / (T // 4)
    t_one, t_bat = t["one"] / T, t["batch"] / (T * B)
    us = lambda t: f"{t * 1e6:.1f}"  # noqa: E731
    before = []
    if old:
        t_o1, t_ob = t["old one"] / T, t["old batch"] / (T * B)
        before = [
            {"implementation": f"kernel at {a.before}, 1 run", "µs/iter/run": us(t_o1),
             "speed-up": f"{t_simple / t_o1:.1f}"},
            {"implementation": f"kernel at {a.before}, batch of {B}", "µs/iter/run": us(t_ob),
             "speed-up": f"{t_simple / t_ob:.1f}"}]
    _timing.table(before + [
        {"implementation": "simplest numpy loop (dense)", "µs/iter/run": us(t_simple), "speed-up": "1.0"},
        {"implementation": "bmlab numpy reference (run_udu)", "µs/iter/run": us(t_ref),
         "speed-up": f"{t_simple / t_ref:.1f}"},
        {"implementation": "bmlab numpy reference, forward_mode='gather'", "µs/iter/run": us(t_gat),
         "speed-up": f"{t_simple / t_gat:.1f}"},
        {"implementation": "kernel, 1 run", "µs/iter/run": us(t_one), "speed-up": f"{t_simple / t_one:.1f}"},
        {"implementation": f"kernel, batch of {B} (η, ρ grid)", "µs/iter/run": us(t_bat),
         "speed-up": f"{t_simple / t_bat:.1f}"},
    ], f"UDU completion step, n = 100, r = 100, m = 900 ({T} iterations, median of repeats)")

    # ---- scaling in n: cost per m·r (per iteration: the difference of two run lengths, so
    # the one-off set-up — validation, sorting the samples — cancels) ------------------------
    rows = []
    r = 30
    for n in ([100, 1000] if a.quick else [100, 1000, 10_000]):
        m = 900 if n == 100 else int(round(8.3 * n * np.log(n) * (1 if n < 10_000 else 1.087)))
        P = make_completion(n, 3, min(m, n * n), rng=rng)
        m = P.m
        U = scaled_init(n, r, 0.5, rng)[None]
        T1 = max(4, min(T, int(2e7 / (m * r))))

        def per_iter(fs, T1=T1):
            # the two run lengths of every implementation interleaved (a change of load
            # hits them all alike)
            t = _timing.median_times({(k, L): (lambda f=f, L=L: f(L * T1))
                                      for k, f in fs.items() for L in (2, 1)}, repeats=5)
            return {k: (t[k, 2] - t[k, 1]) / T1 for k in fs}

        fs = {"k": lambda t: run_udu_batch(P, U, eta=0.01, max_iter=t, record=rec),
              "r": lambda t: run_udu(P, U[0], eta=0.01, max_iter=t, record=rec)}
        if old:
            fs["o"] = lambda t: old(P, U, eta=0.01, max_iter=t, record=rec)
        tt = per_iter(fs)
        t_k, t_r = tt["k"], tt["r"]
        row = {"n": n, "m": m, "r": r, "numpy ref ns/(m·r)": f"{t_r / (m * r) * 1e9:.2f}",
               "kernel ns/(m·r)": f"{t_k / (m * r) * 1e9:.2f}", "speed-up": f"{t_r / t_k:.1f}"}
        if old:
            row[f"kernel at {a.before} ns/(m·r)"] = f"{tt['o'] / (m * r) * 1e9:.2f}"
        rows.append(row)
    _timing.table(rows, "Scaling in n (r = 30, m ≈ 8.3 n ln n, 8.3·10⁵ at n = 10⁴; per iteration)")

if __name__ == "__main__":
    main()
