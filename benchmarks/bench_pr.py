"""Benchmark: one iteration of update (3) on Gaussian phase retrieval (A.2.1: m = 2n, r = n) —
the batched kernel (:func:`bmlab.solvers.kernels_pr.run_pr_batch`, runs stacked into one GEMM)
against the simplest numpy loop and ``run_udu(backend="numpy")``, in the same run. Prints a
table; never asserts.

    .venv/bin/python benchmarks/bench_pr.py [--quick]
"""
from __future__ import annotations

import argparse

import _timing  # noqa: F401  (sets one BLAS thread before numpy loads)
import numpy as np

from bmlab.factorizations.udu import scaled_init
from bmlab.problems.phase_retrieval import GaussianPR
from bmlab.solvers.kernels_pr import run_pr_batch
from bmlab.solvers.udu import run_udu


def simplest_loop(P, U, d, eta, alpha, T):
    A, b = P.A, P.b
    for _ in range(T):
        Z = A.T @ U
        res = (Z ** 2) @ d - b
        GU = A @ (res[:, None] * Z)
        gd = np.einsum("ij,ij->j", U, GU)
        U = U - eta * 2.0 * GU * d
        nrm = np.linalg.norm(U)
        if nrm > alpha:
            U = U * (alpha / nrm)
        d = np.maximum(d - eta * gd, 0.0)
    return U, d


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    a = ap.parse_args(argv)
    rng = np.random.default_rng(0)
    B = 8
    rows = []
    for n, T in ([(64, 50)] if a.quick else [(64, 100), (256, 10)]):
        x = rng.standard_normal(n)
        P = GaussianPR.make(x / np.linalg.norm(x), rng=rng)
        U0 = np.stack([scaled_init(n, n, 1.0, rng) for _ in range(B)])
        eta, alpha, rec = 0.1, 2.0, np.array([0])
        run_pr_batch(P, U0[:1], eta=eta, max_iter=1)
        t = _timing.median_times({
            "simple": lambda: simplest_loop(P, U0[0], np.ones(n), eta, alpha, T),
            "ref": lambda: run_udu(P, U0[0], eta=eta, alpha=alpha, max_iter=T, record=rec),
            "batch": lambda: run_pr_batch(P, U0, eta=eta, alpha=alpha, max_iter=T, record=rec),
        }, repeats=5)
        t_s, t_r, t_b = t["simple"] / T, t["ref"] / T, t["batch"] / (T * B)
        rows.append({"n = r": n, "m": P.m, "simplest loop µs": f"{t_s * 1e6:.0f}",
                     "run_udu numpy µs": f"{t_r * 1e6:.0f}", f"batch of {B} µs/run": f"{t_b * 1e6:.0f}",
                     "batch vs simplest": f"{t_s / t_b:.1f}×"})
    _timing.table(rows, "Phase retrieval (Gaussian, UDU), per iteration per run")


if __name__ == "__main__":
    main()
