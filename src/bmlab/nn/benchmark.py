"""Training throughput (samples/s) of every UDV-part model, on the CPU and, when one is
present, on the GPU (the device is named).

Run ``python -m bmlab.nn.benchmark`` (``--help`` for the options). It trains each model of
:data:`bmlab.nn.layers.MODELS` for a few epochs on random data of the chosen shape, once as
a single network (the ``train`` loop) and once as a stack of ``--replicas`` seeds
(:class:`~bmlab.nn.layers.FactorEnsemble`, samples counted over all replicas), and prints
one line per (device, model, mode). Nothing is downloaded; no file is written.
"""
from __future__ import annotations

import argparse
import time

import torch

from bmlab.nn.layers import MODELS, FactorEnsemble, FactorNet
from bmlab.nn.training import make_generator, train
from bmlab.validation import check_int


def devices() -> list[torch.device]:
    out = [torch.device("cpu")]
    if torch.cuda.is_available():
        out.append(torch.device("cuda"))
    return out


def device_name(dev: torch.device) -> str:
    if dev.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(dev)})"
    return f"cpu ({torch.get_num_threads()} threads)"


def throughput(model: str, dev: torch.device, *, n: int = 2048, d: int = 64, r: int = 64,
               c: int = 10, epochs: int = 3, batch_size: int = 128, replicas: int = 0) -> float:
    """Samples per second of training ``model`` (``replicas > 0``: a stacked ensemble)."""
    for name, val in (("n", n), ("d", d), ("r", r), ("c", c), ("epochs", epochs),
                      ("batch_size", batch_size)):
        check_int(name, val, lo=1)
    check_int("replicas", replicas, lo=0)
    g = make_generator(0)
    x = torch.rand(n, d, generator=g)
    y = torch.rand(n, c, generator=g)
    if replicas:
        net = FactorEnsemble(d, r, c, model=model,
                             generators=[make_generator(i) for i in range(replicas)])
        gens = [make_generator(100 + i) for i in range(replicas)]
    else:
        net = FactorNet(d, r, c, model=model, generator=make_generator(1))
        gens = make_generator(2)
    train(net, (x[:256], y[:256]), epochs=1, batch_size=batch_size, device=dev,
          generator=gens)                                           # warm-up
    if dev.type == "cuda":
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    train(net, (x, y), epochs=epochs, batch_size=batch_size, device=dev, generator=gens)
    if dev.type == "cuda":
        torch.cuda.synchronize()
    return n * epochs * max(replicas, 1) / (time.perf_counter() - t0)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", nargs="*", default=sorted(MODELS), choices=sorted(MODELS))
    ap.add_argument("--n", type=int, default=2048, help="training samples")
    ap.add_argument("--d", type=int, default=64, help="input features")
    ap.add_argument("--r", type=int, default=64, help="hidden width")
    ap.add_argument("--c", type=int, default=10, help="outputs")
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--replicas", type=int, default=16, help="seeds of the stacked run")
    args = ap.parse_args(argv)
    print(f"{'device':<34} {'model':<18} {'mode':<14} samples/s")
    for dev in devices():
        for m in args.models:
            for reps, mode in ((0, "single"), (args.replicas, f"x{args.replicas} stacked")):
                sps = throughput(m, dev, n=args.n, d=args.d, r=args.r, c=args.c,
                                 epochs=args.epochs, replicas=reps)
                print(f"{device_name(dev):<34} {m:<18} {mode:<14} {sps:,.0f}", flush=True)
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
