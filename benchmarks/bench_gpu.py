"""Benchmark: the batched kernels on the CPU and on a GPU, side by side (issue 12, item 5) —
matrix completion (the numba kernel :func:`bmlab.solvers.kernels.run_udu_batch`) and
Gaussian phase retrieval (the batched numpy kernel :func:`bmlab.solvers.kernels_pr.run_pr_batch`),
each against the same iteration in torch on the CPU and in torch on CUDA
(``backend="torch", device=...``, :mod:`bmlab.solvers.kernels_torch`), per run per
iteration, in the same run. Where torch sees
no CUDA device the GPU column says so (nothing falls back silently). Prints a table; never
asserts.

    .venv/bin/python benchmarks/bench_gpu.py [--quick]

CPU columns are CPU time of this process (one thread; :mod:`_timing`); the CUDA column is
wall time with the device synchronised (the kernel copies its results back to the host at the
end of every call, which synchronises).
"""
from __future__ import annotations

import argparse
import statistics
import time

import _timing
import numpy as np

from bmlab.factorizations.udu import scaled_init
from bmlab.problems.completion import make_completion
from bmlab.problems.phase_retrieval import GaussianPR
from bmlab.solvers.kernels import run_udu_batch
from bmlab.solvers.kernels_pr import run_pr_batch
from bmlab.solvers.kernels_torch import cuda_available


def _wall(fn, repeats):
    fn()
    ts = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer iterations and sizes")
    a = ap.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    cuda = cuda_available()
    gpu_name = torch.cuda.get_device_name(0) if cuda else None
    cases = [(100, 100, 900, 20), (1000, 30, None, 8)]
    if not a.quick:
        cases.append((10_000, 30, None, 4))
    rows = []
    rec = np.array([0])
    for n, r, m, B in cases:
        m = m or int(round(8.3 * n * np.log(n) * (1 if n < 10_000 else 1.087)))
        P = make_completion(n, 3, min(m, n * n), rng=rng)
        U0 = np.stack([scaled_init(n, r, 0.5, rng) for _ in range(B)])
        grid = dict(eta=np.linspace(0.001, 0.01, B), alpha=np.linspace(0.5, 2.0, B))
        T = max(4, min(100 if not a.quick else 20, int(3e7 / (P.m * r * B))))
        run_udu_batch(P, U0[:1], max_iter=2, eta=0.01)              # compile / load the cache
        reps = 3 if a.quick else 5
        nb = lambda t: run_udu_batch(P, U0, max_iter=t, record=rec, **grid)  # noqa: E731
        tc = lambda t: run_udu_batch(P, U0, max_iter=t, record=rec,  # noqa: E731
                                     backend="torch", device="cpu", **grid)
        # per iteration: the difference of two run lengths (the set-up — sorting the samples,
        # building the index, moving data to the device — cancels), interleaved
        t = _timing.median_times({"nb2": lambda: nb(2 * T), "nb": lambda: nb(T),
                                  "tc2": lambda: tc(2 * T), "tc": lambda: tc(T)}, repeats=reps)
        per = lambda t2, t1, T=T: (t2 - t1) / (T * B)  # noqa: E731
        p_nb, p_tc = per(t["nb2"], t["nb"]), per(t["tc2"], t["tc"])
        row = {"n": n, "r": r, "m": P.m, "runs": B,
               "numba CPU µs/iter/run": f"{p_nb * 1e6:.1f}",
               "torch CPU µs/iter/run": f"{p_tc * 1e6:.1f}"}
        if cuda:
            Tg = T * 10
            gp = lambda t: run_udu_batch(P, U0, max_iter=t, record=rec,  # noqa: E731
                                         backend="torch", device="cuda", **grid)
            p_gpu = (_wall(lambda: gp(2 * Tg), reps) - _wall(lambda: gp(Tg), reps)) / (Tg * B)
            row["torch CUDA µs/iter/run"] = f"{p_gpu * 1e6:.2f}"
            row["CUDA vs numba"] = f"{p_nb / p_gpu:.1f}×"
        else:
            row["torch CUDA µs/iter/run"] = "no CUDA on this machine"
        rows.append(row)
    where = f" ({gpu_name})" if cuda else " (torch sees no CUDA device here)"
    _timing.table(rows, "UDU completion, batched (η, ρ) grid, per run per iteration — CPU vs GPU"
                  + where)

    # ---- phase retrieval (A.2.1: Gaussian, m = 2n, r = n): two products with A per iteration
    rows = []
    for n in ([64] if a.quick else [64, 256]):
        x = rng.standard_normal(n)
        P = GaussianPR.make(x / np.linalg.norm(x), rng=rng)
        B = 8
        U0 = np.stack([scaled_init(n, n, 1.0, rng) for _ in range(B)])
        T = 10 if n > 100 else 50
        reps = 3
        kw = dict(eta=np.linspace(0.02, 0.1, B), alpha=2.0, record=rec)
        npy = lambda t: run_pr_batch(P, U0, max_iter=t, **kw)  # noqa: E731
        tc = lambda t: run_pr_batch(P, U0, max_iter=t, backend="torch", device="cpu",  # noqa: E731
                                    **kw)
        t = _timing.median_times({"np2": lambda: npy(2 * T), "np": lambda: npy(T),
                                  "tc2": lambda: tc(2 * T), "tc": lambda: tc(T)}, repeats=reps)
        p_np, p_tc = ((t[k + "2"] - t[k]) / (T * B) for k in ("np", "tc"))
        row = {"n = r": n, "m": P.m, "runs": B, "numpy CPU µs/iter/run": f"{p_np * 1e6:.0f}",
               "torch CPU µs/iter/run": f"{p_tc * 1e6:.0f}"}
        if cuda:
            Tg = T * 10
            gp = lambda t: run_pr_batch(P, U0, max_iter=t, backend="torch",  # noqa: E731
                                        device="cuda", **kw)
            p_gpu = (_wall(lambda: gp(2 * Tg), reps) - _wall(lambda: gp(Tg), reps)) / (Tg * B)
            row["torch CUDA µs/iter/run"] = f"{p_gpu * 1e6:.2f}"
            row["CUDA vs numpy"] = f"{p_np / p_gpu:.1f}×"
        else:
            row["torch CUDA µs/iter/run"] = "no CUDA on this machine"
        rows.append(row)
    _timing.table(rows, "Gaussian phase retrieval, UDU, batch of 8, per run per iteration — "
                  "CPU vs GPU" + where)


if __name__ == "__main__":
    main()
