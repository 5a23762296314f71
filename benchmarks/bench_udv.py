"""UDV vs UV layer training throughput (issue 12: "UDV layer >= 0.95x the UV layer's samples/s").

One run, interleaved repeats (ratios stay meaningful on a shared machine), one thread, CPU
time of this process. Rows: the UV layer (no projection), the UDV layer with the fused
projection (``bmlab.nn.layers.FusedProjection`` as an optimizer step hook, what ``train``
uses) and the UDV layer with the previous per-step walk over the modules calling each
``project_()`` (the reference), and the UDV layer with no projection at all (the ceiling
of any projection scheme: what is left is the diagonal layer itself). Shapes: the diabetes network of the chapters (10-10-1,
batch 128, as one net and as 100 stacked seeds) and a wider block (64-64-10). ``--device
cuda`` times the same on a GPU (a clear error when there is none); ``--quick`` fewer repeats.

Ratios are taken per round (each round runs every row once, in alternating order) and
reported as the median with the interquartile range of the rounds, ``0.97 [0.93-1.01]``:
on a loaded machine the spread says how far one figure can be trusted. The load average at
the start is printed with the table.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _timing import table  # noqa: E402

import torch  # noqa: E402

from bmlab.nn.layers import FactorEnsemble, FactorNet  # noqa: E402
from bmlab.nn.training import make_generator, project_all_, train  # noqa: E402
from bmlab.solvers.kernels_torch import resolve_device  # noqa: E402


def _job(model, shape, replicas, epochs, device, mode):
    d, r, c, n = shape
    g = make_generator(0)
    x, y = torch.rand(n, d, generator=g), torch.rand(n, c, generator=g)
    if replicas:
        net = FactorEnsemble(d, r, c, model=model, generators=[make_generator(i) for i in range(replicas)])
        gens = [make_generator(100 + i) for i in range(replicas)]
    else:
        net = FactorNet(d, r, c, model=model, generator=make_generator(1))
        gens = make_generator(2)

    def run():
        kw = dict(epochs=epochs, batch_size=128, cosine=False, device=device,
                  generator=gens if replicas else make_generator(2))
        if mode == "none":     # the ceiling: UDV's layers without any projection
            train(net, (x, y), project=False, **kw)
        elif mode == "walk":   # the reference: project_() of every module after each step
            orig = torch.optim.Adam.step

            def step(self, *a, **k):
                out = orig(self, *a, **k)
                project_all_(net)
                return out
            torch.optim.Adam.step = step
            try:
                train(net, (x, y), project=False, **kw)
            finally:
                torch.optim.Adam.step = orig
        else:
            train(net, (x, y), **kw)
        if device.type == "cuda":
            torch.cuda.synchronize()
    return run, n * epochs * max(replicas, 1)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args(argv)
    device = resolve_device(args.device)
    torch.set_num_threads(1)
    reps = 5 if args.quick else 15
    cases = [("diabetes 10-10-1, one net", (10, 10, 1, 2048), 0, 3),
             ("diabetes 10-10-1, 100 stacked seeds", (10, 10, 1, 2048), 100, 3),
             ("64-64-10, one net", (64, 64, 10, 2048), 0, 3)]
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    rows = []
    for label, shape, replicas, epochs in cases:
        jobs, samples = {}, 0
        for name, model, mode in (("UV", "uv", "fused"), ("UDV fused", "udv", "fused"),
                                  ("UDV walk", "udv", "walk"), ("UDV no proj", "udv", "none")):
            jobs[name], samples = _job(model, shape, replicas, epochs, device, mode)
        t = _rounds(jobs, reps, time.perf_counter if device.type == "cuda" else time.process_time)
        sps = {k: samples / statistics.median(v) for k, v in t.items()}

        def ratio(name):       # per-round samples/s ratio to UV: median [quartiles]
            r = [u / v for u, v in zip(t["UV"], t[name])]
            q1, _, q3 = statistics.quantiles(r, n=4)
            return f"{statistics.median(r):.3f} [{q1:.2f}-{q3:.2f}]"
        rows.append({"case": label, "device": device.type,
                     "UV samples/s": f"{sps['UV']:,.0f}",
                     "UDV fused": f"{sps['UDV fused']:,.0f}",
                     "UDV walk (ref)": f"{sps['UDV walk']:,.0f}",
                     "fused/UV": ratio("UDV fused"),
                     "walk/UV": ratio("UDV walk"),
                     "no-proj/UV": ratio("UDV no proj"),
                     "target": ">= 0.95"})
    table(rows, f"UDV layer training vs UV (samples/s, medians of {reps} interleaved rounds; "
                f"ratios per round: median [quartiles]; 1 thread, CPU time; "
                f"load average {load:.1f} on {os.cpu_count()} cores)")
    return 0


def _rounds(jobs: dict, repeats: int, clock) -> dict:
    """Time (``clock``: process CPU time on the CPU, wall time on CUDA) of every job per
    round, the jobs interleaved (order reversed every other round), after one warm-up call
    each."""
    for fn in jobs.values():
        fn()
    ts = {name: [] for name in jobs}
    names = list(jobs)
    for i in range(repeats):
        for name in (names if i % 2 == 0 else names[::-1]):
            t0 = clock()
            jobs[name]()
            ts[name].append(clock() - t0)
    return ts


if __name__ == "__main__":
    raise SystemExit(main())
