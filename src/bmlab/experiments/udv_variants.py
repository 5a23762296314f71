"""UDV variants (paper 001, B.2) and ReLU networks (B.4).

B.2: UDV, UDV-s (free-sign diagonal), UDV-v1 (per-unit norm constraints), UDV-v2 (per-unit,
free sign), with UV as the baseline, on the regression tasks. B.4: UV-ReLU, ReLU with
Frobenius constraints, UDV-ReLU and UDV-ReLU-s on a regression task (diabetes, for HPART)
and a classification task (digits pixels, for the paper's MNIST; hidden width
round(2/3 d) as the paper's MNIST heads, FOUND-code).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from bmlab.experiments.udv_common import Config, RunSummary, run_configs
from bmlab.nn.data import Dataset, load_dataset
from bmlab.nn.layers import huang_width

VARIANTS = ("udv", "udv-s", "udv-v1", "udv-v2", "uv")
RELU_MODELS = ("uv-relu", "relu-constrained", "udv-relu", "udv-relu-s")


@dataclass
class VariantsParams:
    """``configs``: per dataset, the (model, optimizer, lr) triples to train."""

    datasets: tuple[str, ...] = ("diabetes", "digits-completion", "digits")
    models: dict[str, tuple[str, ...]] = field(default_factory=lambda: {
        "diabetes": VARIANTS + RELU_MODELS, "digits-completion": VARIANTS,
        "digits": RELU_MODELS + ("udv", "uv")})
    optimizer: str = "adam"
    lrs: dict[str, float] = field(default_factory=dict)   # "dataset/model" -> lr
    default_lr: float = 0.01
    n_seeds: int = 10
    epochs: dict[str, int] = field(default_factory=lambda: {
        "diabetes": 200, "digits-completion": 200, "digits": 70})
    seed: int = 0


@dataclass
class VariantsResult:
    params: VariantsParams
    widths: dict[str, int]
    runs: dict[str, dict[str, RunSummary]]     # dataset -> model -> run


def _flat(ds: Dataset) -> Dataset:
    n_tr, n_te = ds.x_train.shape[0], ds.x_test.shape[0]
    return Dataset(ds.name, ds.task, ds.x_train.reshape(n_tr, -1), ds.y_train,
                   ds.x_test.reshape(n_te, -1), ds.y_test, ds.description, ds.meta)


def width_for(ds: Dataset) -> int:
    """Huang's rule for regression, round(2/3 d) for classification (the MNIST heads)."""
    return round(2 * ds.d_in / 3) if ds.task == "classification" else huang_width(ds.d_in, ds.d_out)


def run_variants(p: VariantsParams, progress=None) -> VariantsResult:
    runs, widths = {}, {}
    for name in p.datasets:
        ds = _flat(load_dataset(name))
        widths[name] = width = width_for(ds)
        cfgs = [Config(m, p.optimizer, p.lrs.get(f"{name}/{m}", p.default_lr))
                for m in p.models[name]]
        average_last = 3 if ds.task == "classification" else 20
        out = run_configs(ds, cfgs, n_seeds=p.n_seeds, seed=p.seed, epochs=p.epochs[name],
                          width=width, progress=progress, average_last=average_last,
                          prune=None)
        runs[name] = {c.model: out[c.key] for c in cfgs}
    return VariantsResult(p, widths, runs)
