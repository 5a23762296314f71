"""Regression with UV and UDV networks (paper 001 §3.1, Table 1 / Fig. 4; spec 001 §5.5).

For each dataset: the hidden width of Huang's rule, the four optimizers, for each
(model, optimizer) the best LR of the grid (selected on separate tuning seeds, or given),
then ``n_seeds`` fresh seeds at that LR: test loss averaged over the last epochs, spectra of
the hidden layer, and the test loss of the SVD-pruned network at every width r, r-1, ..., 1.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from bmlab.experiments.udv_common import RunSummary, better, tune_and_run
from bmlab.nn.data import REGRESSION_SETS, load_dataset
from bmlab.nn.layers import huang_width
from bmlab.nn.training import OPTIMIZERS

#: The regression LR grid (INFERRED in spec 001 §5.5: six values in [1e-4, 3]).
LR_GRID = (1e-4, 1e-3, 1e-2, 1e-1, 1.0, 3.0)


@dataclass
class RegressionParams:
    """Parameters of :func:`run_regression`.

    ``lrs`` maps ``"model/optimizer"`` to a fixed LR; pairs missing from it are tuned over
    ``lr_grid`` with ``n_tune_seeds`` seeds (the quick profile passes the LRs the paper
    profile selected, so it runs no sweep).
    """

    dataset: str = "diabetes"
    models: tuple[str, ...] = ("uv", "udv")
    optimizers: tuple[str, ...] = OPTIMIZERS
    lr_grid: tuple[float, ...] = LR_GRID
    lrs: dict[str, float] = field(default_factory=dict)
    n_tune_seeds: int = 3
    n_seeds: int = 10
    epochs: int = 200
    batch_size: int = 128
    average_last: int = 20
    seed: int = 0

    def __post_init__(self) -> None:
        if self.dataset not in REGRESSION_SETS:
            raise ValueError(f"dataset must be one of {REGRESSION_SETS}, got {self.dataset!r}")
        bad = [o for o in self.optimizers if o not in OPTIMIZERS]
        if bad:
            raise ValueError(f"optimizers must be among {OPTIMIZERS}, got {bad}")


@dataclass
class RegressionResult:
    params: RegressionParams
    d_in: int
    width: int
    d_out: int
    runs: dict[tuple[str, str], RunSummary]
    sweep: pd.DataFrame

    def best(self, model: str) -> RunSummary:
        """The run of ``model`` with the best mean test loss over the optimizers."""
        is_better = better("regression")
        best = None
        for (m, _), r in self.runs.items():
            if m == model and (best is None or is_better(r.mean, best.mean)):
                best = r
        return best


def run_regression(p: RegressionParams, progress=None) -> RegressionResult:
    """Run the experiment; ``progress(msg)`` is called before each training run."""
    ds = load_dataset(p.dataset)
    width = huang_width(ds.d_in, ds.d_out)
    common = dict(epochs=p.epochs, width=width, seed=p.seed, batch_size=p.batch_size,
                  average_last=p.average_last)
    runs, sweeps = tune_and_run(ds, p.models, p.optimizers, lrs=p.lrs, lr_grid=p.lr_grid,
                                n_tune_seeds=p.n_tune_seeds, n_seeds=p.n_seeds, prune="all",
                                progress=progress, label=p.dataset, **common)
    return RegressionResult(p, ds.d_in, width, ds.d_out, runs, sweeps)
