"""Shared helpers of the kernel benchmarks: one BLAS thread, median of repeats, a table."""
from __future__ import annotations

import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import statistics  # noqa: E402
import time  # noqa: E402


def median_time(fn, repeats: int = 7, warmup: int = 1) -> float:
    """Median wall time (s) of ``fn()`` over ``repeats`` calls after ``warmup`` calls."""
    for _ in range(warmup):
        fn()
    ts = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts)


def table(rows: list[dict], title: str) -> None:
    """Print ``rows`` (dicts with the same keys) as an aligned text table."""
    keys = list(rows[0])
    cells = [[str(r[k]) for k in keys] for r in rows]
    width = [max(len(k), *(len(c[i]) for c in cells)) for i, k in enumerate(keys)]
    print(f"\n{title}")
    print("  ".join(k.rjust(w) for k, w in zip(keys, width)))
    for c in cells:
        print("  ".join(v.rjust(w) for v, w in zip(c, width)))
