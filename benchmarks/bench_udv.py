"""UDV vs UV layer training throughput (issue 12: "UDV layer >= 0.95x the UV layer's samples/s").

One run, interleaved repeats (ratios stay meaningful on a shared machine), one thread, CPU
time of this process. Rows: the UV layer (no projection), the UDV layer with the fused
projection (``bmlab.nn.layers.FusedProjection`` as an optimizer step hook, what ``train``
uses) and the UDV layer with the previous per-step walk over the modules calling each
``project_()`` (the reference), and the UDV layer with no projection at all (the ceiling
of any projection scheme added to this layer in this loop: what is left is the diagonal
layer itself). Shapes: the diabetes network of the chapters (10-10-1,
batch 128, as one net and as 100 stacked seeds) and a wider block (64-64-10). ``--device
cuda`` times the same on a GPU (a clear error when there is none); ``--quick`` fewer repeats.

``--compiled`` adds an experiment (not what the book runs): a lean training loop (forward,
MSE, backward, Adam, projection; fixed batches, no evaluation) for one net, eager and under
``torch.compile`` (inductor; on the CPU it writes and builds C++ with the system compiler,
about 30 s for both models when inductor's on-disk cache is cold), UV against UDV. It asks
whether compiling closes the gap that the eager step's per-op dispatch leaves; the eager row
of the same loop is its baseline. ``--parts`` times UDV's extra parts one by one (forward and
backward, the third Adam tensor, the projection) and a hand-written autograd ``Function``.

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


def _lean_job(model, shape, epochs, device, compiled):
    """One net trained by a lean loop (fixed mini-batches of 128, no shuffling, no evaluation,
    Adam in torch's default implementation, then the fused projection), eager or under
    ``torch.compile`` (forward + MSE loss, and Adam + projection, each compiled; backward runs
    the compiled backward graph). The eager lean loop is the baseline of the compiled one:
    the same work, so their difference is what compiling does. Returns (run, samples,
    seconds of the first call: compiling, or inductor's on-disk cache when warm)."""
    d, r, c, n = shape
    g = make_generator(0)
    x, y = torch.rand(n, d, generator=g).to(device), torch.rand(n, c, generator=g).to(device)
    net = FactorNet(d, r, c, model=model, generator=make_generator(1)).to(device)
    params = list(net.parameters())
    opt = torch.optim.Adam(params, lr=1e-3)
    plan = FusedProjection(net)

    def loss_of(xb, yb):
        return torch.nn.functional.mse_loss(net(xb), yb)

    def update():
        opt.step()
        if len(plan):
            plan()

    if compiled:
        loss_of, update = torch.compile(loss_of), torch.compile(update)
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
    run()
    return run, n * epochs, time.perf_counter() - t0


def _compiled_rows(device, reps, cases) -> list:
    rows = []
    clock = time.perf_counter if device.type == "cuda" else time.process_time
    for label, shape, replicas, epochs in cases:
        if replicas:
            continue
        jobs, first = {}, {}
        for name, model, compiled in (("UV eager", "uv", False), ("UDV eager", "udv", False),
                                      ("UV compiled", "uv", True),
                                      ("UDV compiled", "udv", True)):
            jobs[name], samples, first[name] = _lean_job(model, shape, epochs, device, compiled)
        t = _rounds(jobs, reps, clock)
        sps = {k: samples / statistics.median(v) for k, v in t.items()}

        def ratio(a, b):
            r = [u / v for u, v in zip(t[a], t[b])]
            q1, _, q3 = statistics.quantiles(r, n=4)
            return f"{statistics.median(r):.3f} [{q1:.2f}-{q3:.2f}]"
        for mode in ("eager", "compiled"):
            rows.append({"case": f"{label}, lean loop, {mode}", "device": device.type,
                         "UV samples/s": f"{sps[f'UV {mode}']:,.0f}",
                         "UDV samples/s": f"{sps[f'UDV {mode}']:,.0f}",
                         "UDV/UV": ratio(f"UV {mode}", f"UDV {mode}"),
                         "first call s (compiling or cached)":
                             f"UV {first[f'UV {mode}']:.1f}, UDV {first[f'UDV {mode}']:.1f}",
                         "target": ">= 0.95"})
    return rows


def _parts_rows(reps) -> list:
    """Where UDV's extra time per step goes, one part at a time (CPU, best of ``reps``
    repeats of 2000 calls, microseconds per call): forward + MSE + backward of the stock layer
    and of a hand-written ``torch.autograd.Function`` (the same gradients), fused Adam with
    the two (UV) or three (UDV) tensors, and the fused projection alone."""
    from torch.nn import functional as F

    class UDVFn(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x, ut, w, v):
            vw = v * w
            h = F.linear(x, ut)
            ctx.save_for_backward(x, ut, w, v, vw, h)
            return F.linear(h, vw)

        @staticmethod
        def backward(ctx, g):
            x, ut, w, v, vw, h = ctx.saved_tensors
            gvw = g.t().mm(h)
            gut = g.mm(vw).t().mm(x)
            return None, gut, (gvw * v).sum(0), gvw * w

    class UVFn(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x, ut, v):
            h = F.linear(x, ut)
            ctx.save_for_backward(x, ut, v, h)
            return F.linear(h, v)

        @staticmethod
        def backward(ctx, g):
            x, ut, v, h = ctx.saved_tensors
            return None, g.mm(v).t().mm(x), g.t().mm(h)

    def best(fn, calls=2000):
        for _ in range(100):
            fn()
        out = []
        for _ in range(reps):
            t0 = time.process_time()
            for _ in range(calls):
                fn()
            out.append((time.process_time() - t0) / calls * 1e6)
        return min(out)

    rows = []
    for d, r, c in ((10, 10, 1), (64, 64, 10)):
        uv = FactorNet(d, r, c, model="uv", generator=make_generator(1))
        udv = FactorNet(d, r, c, model="udv", generator=make_generator(1))
        g = make_generator(0)
        x, y = torch.rand(128, d, generator=g), torch.rand(128, c, generator=g)

        def step(net, f):
            ps = list(net.parameters())

            def go():
                for p in ps:
                    p.grad = None
                F.mse_loss(f(), y).backward()
            return go
        u1, v1 = uv.fc1.weight, uv.fc2.weight
        u2, w2, v2 = udv.fc1.weight, udv.diag.weight, udv.fc2.weight
        t = {"fwd+bwd UV": best(step(uv, lambda: uv(x))),
             "fwd+bwd UDV": best(step(udv, lambda: udv(x))),
             "fwd+bwd UV Function": best(step(uv, lambda: UVFn.apply(x, u1, v1))),
             "fwd+bwd UDV Function": best(step(udv, lambda: UDVFn.apply(x, u2, w2, v2)))}
        for net, name in ((uv, "UV"), (udv, "UDV")):
            for p in net.parameters():
                p.grad = torch.zeros_like(p)
            opt = torch.optim.Adam(net.parameters(), lr=1e-3, fused=True)
            t[f"fused Adam {name}"] = best(opt.step)
        t["projection UDV"] = best(FusedProjection(udv))
        rows.append({"shape": f"{d}-{r}-{c}", **{k: f"{v:.1f}" for k, v in t.items()}})
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--compiled", action="store_true",
                    help="also time a lean loop, eager and under torch.compile (compiles C++)")
    ap.add_argument("--parts", action="store_true",
                    help="also time UDV's extra parts one by one (CPU)")
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
              f"Experiment: a lean training loop, eager and under torch.compile (samples/s, "
              f"medians of {reps} interleaved rounds after the first call; not what the book "
              "runs)")
    if args.parts:
        table(_parts_rows(3 if args.quick else 7),
              "UDV's extra parts, one at a time (CPU, µs per call, best of repeats of 2000 "
              "calls, batch 128)")
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
