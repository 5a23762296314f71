"""What causes UDV's low-rank bias (paper 001, B.5 and B.6).

B.5: UDV against the same network without constraints ("UDV unconstrained"), a dense
three-layer network UFV, and UV. B.6: UV and UFV with weight decay at several strengths;
the largest strength whose test loss stays within 10% of UDV's is compared with UDV
(the paper's choice for its Fig. SM27). The B.6 strengths are UNKNOWN (spec 001 §5.2); we
use four decades.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from bmlab.experiments.udv_common import Config, RunSummary, run_configs
from bmlab.nn.data import REGRESSION_SETS, load_dataset
from bmlab.nn.layers import huang_width

WD_GRID = (1e-4, 1e-3, 1e-2, 1e-1)


@dataclass
class BiasParams:
    """``lrs``: the Adam LR of each model (UV/UDV from the regression chapter's sweep)."""

    dataset: str = "diabetes"
    optimizer: str = "adam"
    lrs: dict[str, float] = field(default_factory=lambda: {
        "udv": 0.1, "udv-unconstrained": 0.01, "ufv": 0.01, "uv": 0.1})
    wd_models: tuple[str, ...] = ("uv", "ufv")
    wd_grid: tuple[float, ...] = WD_GRID
    within: float = 0.10
    n_seeds: int = 10
    epochs: int = 200
    seed: int = 0

    def __post_init__(self) -> None:
        if self.dataset not in REGRESSION_SETS:
            raise ValueError(f"dataset must be one of {REGRESSION_SETS}, got {self.dataset!r}")
        if "udv" not in self.lrs:
            raise ValueError("lrs must contain the reference model 'udv'")


@dataclass
class BiasResult:
    params: BiasParams
    width: int
    runs: dict[str, RunSummary]            # keyed by Config.key
    selected: dict[str, float]             # wd model -> selected strength (nan: none)

    def run(self, model: str, wd: float = 0.0) -> RunSummary:
        return self.runs[Config(model, self.params.optimizer, self.params.lrs[model], wd).key]


def select_weight_decay(reference: float, runs: list[RunSummary], within: float) -> float:
    """Largest strength whose mean test loss is within ``within`` (relative) of
    ``reference``; ``nan`` if none is."""
    ok = [r.weight_decay for r in runs if np.isfinite(r.mean) and r.mean <= (1 + within) * reference]
    return max(ok) if ok else float("nan")


def run_bias(p: BiasParams, progress=None) -> BiasResult:
    ds = load_dataset(p.dataset)
    width = huang_width(ds.d_in, ds.d_out)
    configs = [Config(m, p.optimizer, lr) for m, lr in p.lrs.items()]
    configs += [Config(m, p.optimizer, p.lrs[m], wd) for m in p.wd_models for wd in p.wd_grid]
    runs = run_configs(ds, configs, n_seeds=p.n_seeds, seed=p.seed, epochs=p.epochs,
                       width=width, progress=progress, prune=None)
    res = BiasResult(p, width, runs, {})
    ref = res.run("udv").mean
    for m in p.wd_models:
        res.selected[m] = select_weight_decay(ref, [res.run(m, wd) for wd in p.wd_grid],
                                              p.within)
    return res
