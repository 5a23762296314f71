"""UDV vs UV layer training throughput (issue 12: "UDV layer >= 0.95x the UV layer's samples/s").

One run, interleaved repeats (ratios stay meaningful on a shared machine), one thread, CPU
time of this process. Rows: the UV layer (no projection), the UDV layer with the fused
projection (``bmlab.nn.layers.FusedProjection`` as an optimizer step hook, what ``train``
uses) and the UDV layer with the previous per-step walk over the modules calling each
``project_()`` (the reference), and the UDV layer with no projection at all (the ceiling
of any projection scheme: what is left is the diagonal layer itself). Shapes: the diabetes network of the chapters (10-10-1,
batch 128, as one net and as 100 stacked seeds) and a wider block (64-64-10). ``--device
cuda`` times the same on a GPU (a clear error when there is none); ``--quick`` fewer repeats.

``--compiled`` adds an experiment (not what the book runs): the same training step (forward,
MSE, backward, Adam, projection) for one net with ``torch.compile`` (inductor; on the CPU it
writes and builds C++ with the system compiler, tens of seconds per model and shape, printed),
UV against UDV. It asks whether a compiled step closes the gap that the eager step's
per-op dispatch leaves (the "no-proj/UV" column is the eager ceiling).

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

from bmlab.nn.layers import FactorEnsemble, FactorNet, FusedProjection  # noqa: E402
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


def _compiled_job(model, shape, epochs, device):
    """One net trained by a ``torch.compile`` d step (forward + MSE loss, and Adam + the
    fused projection, each compiled; backward runs the compiled backward graph); fixed
    mini-batches of 128. Returns (run, samples, compile seconds)."""
    d, r, c, n = shape
    g = make_generator(0)
    x, y = torch.rand(n, d, generator=g).to(device), torch.rand(n, c, generator=g).to(device)
    net = FactorNet(d, r, c, model=model, generator=make_generator(1)).to(device)
    params = list(net.parameters())
    opt = torch.optim.Adam(params, lr=1e-3)
    plan = FusedProjection(net)

    @torch.compile
    def loss_of(xb, yb):
        return torch.nn.functional.mse_loss(net(xb), yb)

    @torch.compile
    def update():
        opt.step()
        if len(plan):
            plan._project()

    batches = [(x[i:i + 128], y[i:i + 128]) for i in range(0, n, 128)]

    def run():
        for _ in range(epochs):
            for xb, yb in batches:
                for p in params:
                    p.grad = None
                loss_of(xb, yb).backward()
                with torch.no_grad():
                    update()
        if device.type == "cuda":
            torch.cuda.synchronize()
    t0 = time.perf_counter()
    run()                                   # compiles (the rounds' warm-up call then is cheap)
    return run, n * epochs, time.perf_counter() - t0


def _compiled_rows(device, reps, cases) -> list:
    rows = []
    for label, shape, replicas, epochs in cases:
        if replicas:
            continue
        jobs, compile_s = {}, {}
        for name, model in (("UV", "uv"), ("UDV", "udv")):
            jobs[name], samples, compile_s[name] = _compiled_job(model, shape, epochs, device)
        t = _rounds(jobs, reps, time.perf_counter if device.type == "cuda" else time.process_time)
        sps = {k: samples / statistics.median(v) for k, v in t.items()}
        r = [u / v for u, v in zip(t["UV"], t["UDV"])]
        q1, _, q3 = statistics.quantiles(r, n=4)
        rows.append({"case": label + ", torch.compile", "device": device.type,
                     "UV samples/s": f"{sps['UV']:,.0f}", "UDV samples/s": f"{sps['UDV']:,.0f}",
                     "UDV/UV": f"{statistics.median(r):.3f} [{q1:.2f}-{q3:.2f}]",
                     "first call (compile) s": f"UV {compile_s['UV']:.0f}, UDV {compile_s['UDV']:.0f}",
                     "target": ">= 0.95"})
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--compiled", action="store_true",
                    help="also time a torch.compile'd step (an experiment; compiles C++)")
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
    if args.compiled:
        table(_compiled_rows(device, reps, cases),
              f"Experiment: the whole step under torch.compile (samples/s, medians of {reps} "
              "interleaved rounds, after the compiling first call; not what the book runs)")
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
