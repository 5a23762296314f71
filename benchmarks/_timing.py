"""Shared helpers of the kernel benchmarks: one BLAS thread, median of repeats, a table.

Times are the *CPU time of this process* (:func:`time.process_time`), not wall time: on a
shared machine a call longer than a scheduler time slice would otherwise count the time other
processes hold the core (with one BLAS thread and no other threads, CPU time equals wall time
on an idle machine)."""
from __future__ import annotations

import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import importlib.util  # noqa: E402
import pathlib  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402


_clock = time.process_time


def median_time(fn, repeats: int = 7, warmup: int = 1) -> float:
    """Median wall time (s) of ``fn()`` over ``repeats`` calls after ``warmup`` calls."""
    for _ in range(warmup):
        fn()
    ts = []
    for _ in range(repeats):
        t0 = _clock()
        fn()
        ts.append(_clock() - t0)
    return statistics.median(ts)


def median_times(fns: dict, repeats: int = 7, warmup: int = 1) -> dict:
    """Median wall time (s) of each ``fns[name]()``, the calls *interleaved* (one of each per
    round), so that a change of machine load during the benchmark hits every entry alike and
    the ratios of one run stay meaningful on a shared machine."""
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    ts = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            t0 = _clock()
            fn()
            ts[name].append(_clock() - t0)
    return {name: statistics.median(v) for name, v in ts.items()}


def table(rows: list[dict], title: str) -> None:
    """Print ``rows`` (dicts with the same keys) as an aligned text table."""
    keys = list(rows[0])
    cells = [[str(r[k]) for k in keys] for r in rows]
    width = [max(len(k), *(len(c[i]) for c in cells)) for i, k in enumerate(keys)]
    print(f"\n{title}")
    print("  ".join(k.rjust(w) for k, w in zip(keys, width)))
    for c in cells:
        print("  ".join(v.rjust(w) for v, w in zip(c, width)))


def module_at(rev: str, path: str, name: str):
    """The module ``path`` (a file of the package under ``src/``, e.g.
    ``"src/bmlab/solvers/kernels.py"``) as it was at git revision ``rev``, imported beside the
    current one as ``name`` (e.g. ``"bmlab.solvers._kernels_before"``: same package, so its
    relative imports resolve), for a before/after comparison timed in the same run. Its
    compiled code is cached in a temporary folder, not in the working tree."""
    root = pathlib.Path(__file__).resolve().parent.parent
    src = subprocess.run(["git", "show", f"{rev}:{path}"], cwd=root, check=True,
                         capture_output=True, text=True).stdout
    folder = pathlib.Path(tempfile.mkdtemp(prefix="bench_before_"))
    file = folder / (name.rsplit(".", 1)[-1] + ".py")
    file.write_text(src)
    spec = importlib.util.spec_from_file_location(name, file)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod          # numba rebuilds a cached function's module by its name
    spec.loader.exec_module(mod)
    return mod
