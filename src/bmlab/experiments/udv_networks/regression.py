"""Chapter ``udv-networks/regression``: UV and UDV networks for regression (paper 001 §3.1,
Table 1 / Fig. 4; spec 001 §5.5).

For each dataset: the hidden width of Huang's rule, the four optimizers, for each
(model, optimizer) the best LR of the grid (selected on separate tuning seeds, or given),
then ``n_seeds`` fresh seeds at that LR: test loss averaged over the last epochs, spectra of
the hidden layer, and the test loss of the SVD-pruned network at every width r, r-1, ..., 1.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from bmlab.claims import Claim, all_of, at_most, claim, compare, fraction
from bmlab.nn.data import REGRESSION_SETS, load_dataset
from bmlab.nn.layers import huang_width
from bmlab.nn.training import OPTIMIZER_LABELS, OPTIMIZERS, PROTOCOLS
from bmlab.validation import check_int

from ..base import ExperimentParams
from .common import (AUTHORS, PROTOCOL, STEP_MATCHED, PruneComparison, RunSummary, better,
                     curve_changes, fit_parity, pm, prune_comparison, rank_gap_check, run_seeds,
                     tune_and_run)

__all__ = ["Params", "Result", "DatasetResult", "run", "run_dataset", "run_authors", "claims",
           "LR_GRID", "SELECTED_LRS", "QUOTES", "best_table", "glue_values", "protocol_table",
           "AUTHORS_TASK"]

#: The regression LR grid (INFERRED in spec 001 §5.5: six values in [1e-4, 3]).
LR_GRID = (1e-4, 1e-3, 1e-2, 1e-1, 1.0, 3.0)
DATASETS = ("diabetes", "digits-completion")
#: LRs fixed from a paper-profile LR sweep run while the chapter was written (that run's
#: ledger is not kept; the paper profile re-tunes over :data:`LR_GRID` every time, and its
#: table shows the LRs it selects). The quick profile reuses these.
SELECTED_LRS = {
    "diabetes": {"uv/adam": 0.1, "udv/adam": 0.1, "uv/nadam": 0.1, "udv/nadam": 0.01,
                 "uv/sgd": 0.1, "udv/sgd": 1.0, "uv/sgd-momentum": 0.1,
                 "udv/sgd-momentum": 1.0},
    "digits-completion": {"uv/adam": 1e-3, "udv/adam": 0.1, "uv/nadam": 1e-3,
                          "udv/nadam": 0.01, "uv/sgd": 3.0, "udv/sgd": 3.0,
                          "uv/sgd-momentum": 1.0, "udv/sgd-momentum": 1.0},
}
#: Which of the authors' tasks each substitute stands for (their budget: epochs x seeds).
AUTHORS_TASK = {"diabetes": "house-prices", "digits-completion": "nyc-taxi"}
COMPARABLE = 0.05     # "comparable" test loss: best UDV within 5% of best UV (our bar)
PRUNE_KEEP = 0.01     # "without sacrificing performance": relative change at most 1%
PRUNE_MARGIN = 0.01   # "outperform UV": UV's relative loss increase exceeds UDV's by > 1%

QUOTES = {
    "rank": "the UDV framework matches the predictive accuracy of UV while exhibiting a clear "
            "implicit bias toward low-rank solutions, as reflected in the faster spectral "
            "decay. Figure 4 presents similar results for the HPART regression task.",
    "comparable": "The findings are consistent, as UDV induces a strong low-rank bias while "
                  "maintaining predictive performance comparable to UV.",
    "prune": "The UDV-based models maintain high accuracy even under aggressive pruning and "
             "consistently outperform the UV baseline at comparable compression levels.",
}


@dataclass(frozen=True)
class Params(ExperimentParams):
    """Settings of the chapter. ``lrs[dataset]["model/optimizer"]`` fixes an LR; pairs
    missing from it are tuned over ``lr_grid`` with ``n_tune_seeds`` seeds."""

    datasets: tuple = DATASETS
    models: tuple = ("uv", "udv")
    optimizers: tuple = OPTIMIZERS
    lr_grid: tuple = LR_GRID
    lrs: dict = field(default_factory=dict)
    n_tune_seeds: int = 3
    n_seeds: dict = field(default_factory=lambda: {"diabetes": 100, "digits-completion": 20})
    epochs: dict = field(default_factory=lambda: {"diabetes": 200, "digits-completion": 200})
    batch_size: int = 128
    average_last: int = 20
    seed: int = 0
    #: The authors' protocol (Adam at a constant 1e-4, projection after steps only, their
    #: split and loss averaging): seeds and epochs per dataset. Their budgets: 1000 x 200
    #: (house prices, for diabetes) and 100 x 50 (NYC taxi, for digits-completion).
    authors: bool = True
    authors_seeds: dict = field(default_factory=lambda: {"diabetes": 1000,
                                                         "digits-completion": 100})
    authors_epochs: dict = field(default_factory=lambda: {"diabetes": 200,
                                                          "digits-completion": 50})
    #: The authors' protocol for the authors' number of Adam *steps* (their house prices:
    #: 200 epochs x 10 batches of 128 = 2000 steps; diabetes has 3 batches an epoch, so 667
    #: epochs), same seeds as ``authors_seeds``. Datasets missing here are not step-matched
    #: (NYC taxi's step count is not known to us).
    authors_step_epochs: dict = field(default_factory=lambda: {"diabetes": 667})
    PRESETS: ClassVar[dict[str, dict[str, Any]]] = {
        "quick": {"lrs": SELECTED_LRS, "n_seeds": {"diabetes": 8, "digits-completion": 8},
                  "epochs": {"diabetes": 100, "digits-completion": 60},
                  "authors_seeds": {"diabetes": 16, "digits-completion": 8}},
        "paper": {"lrs": {}, "n_seeds": {"diabetes": 100, "digits-completion": 20},
                  "epochs": {"diabetes": 200, "digits-completion": 200},
                  "authors_seeds": {"diabetes": 1000, "digits-completion": 100}},
    }

    def validate(self) -> None:
        bad = [d for d in self.datasets if d not in REGRESSION_SETS]
        if bad or not self.datasets:
            raise ValueError(f"datasets must be among {REGRESSION_SETS}, got {self.datasets!r}")
        bad = [o for o in self.optimizers if o not in OPTIMIZERS]
        if bad or not self.optimizers:
            raise ValueError(f"optimizers must be among {OPTIMIZERS}, got {bad}")
        for d in self.datasets:
            if d not in self.n_seeds or d not in self.epochs:
                raise ValueError(f"n_seeds and epochs need an entry for dataset {d!r}")
            check_int(f"n_seeds[{d!r}]", self.n_seeds[d], lo=1)
            check_int(f"epochs[{d!r}]", self.epochs[d], lo=1)
        if self.authors:
            for d in self.datasets:
                if d not in self.authors_seeds or d not in self.authors_epochs:
                    raise ValueError(f"authors_seeds and authors_epochs need an entry for {d!r}")
                check_int(f"authors_seeds[{d!r}]", self.authors_seeds[d], lo=1)
                check_int(f"authors_epochs[{d!r}]", self.authors_epochs[d], lo=1)
            for d, e in self.authors_step_epochs.items():
                if d not in self.authors_seeds:
                    raise ValueError(f"authors_step_epochs: {d!r} needs authors_seeds")
                check_int(f"authors_step_epochs[{d!r}]", e, lo=1)
        check_int("n_tune_seeds", self.n_tune_seeds, lo=1)
        check_int("batch_size", self.batch_size, lo=1)
        check_int("average_last", self.average_last, lo=1)
        check_int("seed", self.seed, lo=0)


@dataclass
class DatasetResult:
    """One dataset: network shape, the runs keyed by (model, optimizer), the LR sweep."""

    name: str
    d_in: int
    width: int
    d_out: int
    runs: dict[tuple[str, str], RunSummary]
    sweep: pd.DataFrame

    def best(self, model: str) -> RunSummary:
        """The run of ``model`` with the best mean test loss over the optimizers."""
        is_better, best = better("regression"), None
        for (m, _), r in self.runs.items():
            if m == model and (best is None or is_better(r.mean, best.mean)):
                best = r
        return best

    def prune(self) -> PruneComparison:
        return prune_comparison(self.best("udv"), self.best("uv"))


@dataclass
class Result:
    """``datasets``: the tuned protocol; ``authors``: the authors' protocol (Adam only) at
    their epoch count; ``authors_steps``: at their number of Adam steps."""

    params: Params
    datasets: dict[str, DatasetResult]
    authors: dict[str, DatasetResult] = field(default_factory=dict)
    authors_steps: dict[str, DatasetResult] = field(default_factory=dict)


def run_dataset(params: Params, name: str, progress=None) -> DatasetResult:
    """Tune (or take) the LRs and train every (model, optimizer) on dataset ``name``."""
    p = params
    ds = load_dataset(name)
    width = huang_width(ds.d_in, ds.d_out)
    common = dict(epochs=p.epochs[name], width=width, seed=p.seed, batch_size=p.batch_size,
                  average_last=p.average_last)
    runs, sweeps = tune_and_run(ds, p.models, p.optimizers, lrs=dict(p.lrs.get(name, {})),
                                lr_grid=p.lr_grid, n_tune_seeds=p.n_tune_seeds,
                                n_seeds=p.n_seeds[name], prune="all", progress=progress,
                                label=name, **common)
    return DatasetResult(name, ds.d_in, width, ds.d_out, runs, sweeps)


def run_authors(params: Params, name: str, progress=None, epochs: int | None = None) -> DatasetResult:
    """Dataset ``name`` under the authors' protocol: UV and UDV, Adam at their constant rate,
    ``authors_seeds[name]`` stacked seeds for ``authors_epochs[name]`` epochs, split
    ``int(0.8 n)``; seed ``i`` shares its draws and batches between UV and UDV."""
    p, proto = params, PROTOCOLS["authors"]
    ds = load_dataset(name, split=proto.split)
    width = huang_width(ds.d_in, ds.d_out)
    runs = {}
    for model in p.models:
        if progress:
            progress(f"{name}: authors' protocol, {model}")
        runs[(model, "adam")] = run_seeds(
            ds, model, optimizer="adam", lr=proto.lr("regression"),
            epochs=epochs or p.authors_epochs[name], n_seeds=p.authors_seeds[name], seed=p.seed,
            width=width, batch_size=p.batch_size, average_last=p.average_last, prune="all",
            protocol=AUTHORS)
    return DatasetResult(name, ds.d_in, width, ds.d_out, runs, pd.DataFrame())


def run(params: Params, rng: np.random.Generator | None = None, progress=None) -> Result:
    """Run every dataset under both protocols (torch draws come from ``params.seed``;
    ``rng`` is unused)."""
    authors = {d: run_authors(params, d, progress) for d in params.datasets} \
        if params.authors else {}
    steps = {d: run_authors(params, d, progress, epochs=e)
             for d, e in params.authors_step_epochs.items() if d in params.datasets} \
        if params.authors else {}
    return Result(params, {d: run_dataset(params, d, progress) for d in params.datasets},
                  authors, steps)


def protocol_table(result: Result) -> pd.DataFrame:
    """Both protocols side by side per dataset: budget, LR, schedule, best UDV and UV test
    loss, their ratio and mean numerical ranks."""
    rows = []
    budgets = PROTOCOLS["authors"].budgets
    for ds in result.datasets:
        e, s = budgets[AUTHORS_TASK[ds]]
        for name, res in (("authors", result.authors.get(ds)),
                          ("authors, step-matched", result.authors_steps.get(ds)),
                          ("tuned", result.datasets[ds])):
            if res is None:
                continue
            u, v = res.best("udv"), res.best("uv")
            rows.append({"dataset": ds, "protocol": name,
                         "epochs x seeds": f"{len(u.curves) - 1} x {len(u.metric)}",
                         "authors' (their task)": f"{e} x {s} ({AUTHORS_TASK[ds]})",
                         "LR": (f"{u.lr:g} const" if name.startswith("authors")
                                else f"UDV {u.lr:g}, UV {v.lr:g} cosine"),
                         "optimizer (best)": f"{OPTIMIZER_LABELS[u.optimizer]} / "
                                             f"{OPTIMIZER_LABELS[v.optimizer]}",
                         "UDV test MSE": pm(u.mean, u.std), "UV test MSE": pm(v.mean, v.std),
                         "UDV/UV": u.mean / v.mean,
                         "rank UDV": u.mean_rank, "rank UV": v.mean_rank})
    return pd.DataFrame(rows)


def best_table(result: Result) -> pd.DataFrame:
    """The best (optimizer, LR) of each model per dataset, as the paper's Table 1."""
    rows = []
    for ds, r in result.datasets.items():
        u, v = r.best("udv"), r.best("uv")
        gap = abs(u.mean - v.mean)
        sem = max(u.std / np.sqrt(u.ok.sum()), v.std / np.sqrt(v.ok.sum()))
        rows.append({"dataset": ds, "network": f"{r.d_in}-{r.width}-{r.d_out}",
                     "seeds": int(u.ok.sum()),
                     "UDV (best)": f"{pm(u.mean, u.std)} [{OPTIMIZER_LABELS[u.optimizer]}, lr={u.lr:g}]",
                     "UV (best)": f"{pm(v.mean, v.std)} [{OPTIMIZER_LABELS[v.optimizer]}, lr={v.lr:g}]",
                     "UDV/UV": u.mean / v.mean, "sem/gap": sem / gap if gap > 0 else np.inf})
    return pd.DataFrame(rows)


def glue_values(result: Result) -> dict[str, Any]:
    """The numbers the chapter's prose quotes."""
    out: dict[str, Any] = {}
    table = best_table(result)
    for ds, r in result.datasets.items():
        u, v = r.best("udv"), r.best("uv")
        out[f"ratio-{ds}"] = u.mean / v.mean
        out[f"semgap-{ds}"] = float(table.loc[table.dataset == ds, "sem/gap"].iloc[0])
        out[f"seeds-{ds}"] = int(u.ok.sum())
        pc = r.prune()
        out[f"prune-k-{ds}"] = pc.k
        out[f"prune-udv-{ds}"] = 100 * pc.udv_change
        out[f"prune-uv-{ds}"] = 100 * pc.uv_change
    for ds, r in result.authors.items():
        u, v = r.runs[("udv", "adam")], r.runs[("uv", "adam")]
        out[f"auth-ratio-{ds}"] = u.mean / v.mean
        out[f"auth-rank-udv-{ds}"] = u.mean_rank
        out[f"auth-rank-uv-{ds}"] = v.mean_rank
    for ds, r in result.authors_steps.items():
        u, v = r.runs[("udv", "adam")], r.runs[("uv", "adam")]
        out[f"steps-epochs-{ds}"] = len(u.curves) - 1
        out[f"steps-mse-udv-{ds}"] = u.mean
        out[f"steps-mse-uv-{ds}"] = v.mean
        out[f"steps-ratio-{ds}"] = u.mean / v.mean
        out[f"steps-rank-udv-{ds}"] = u.mean_rank
        out[f"steps-rank-uv-{ds}"] = v.mean_rank
    if "diabetes" in result.datasets:
        out["rank-udv-diabetes"] = result.datasets["diabetes"].best("udv").mean_rank
    if "digits-completion" in result.datasets:
        out["rank-udv-digits"] = result.datasets["digits-completion"].best("udv").mean_rank
    return out


def curve_widths(r: DatasetResult) -> list[int]:
    """The pruning widths of the exploratory curve comparison: every k of the sweep at or
    below the median numerical rank of the best UDV's seeds (rounded down, at least 1)."""
    u = r.best("udv")
    med = max(1, int(np.floor(np.median(u.ranks[u.ok])))) if u.ok.any() else 1
    return [k for k in u.widths if k <= med]


def _authors_claims(result: Result) -> list[Claim]:
    """The paper's claims, decided under the authors' protocol (pre-registered before its
    first run: the same relations and bars as the tuned claims, Adam only)."""
    out, auth = [], result.authors
    if not auth:
        return out
    p = result.params
    budget = ", ".join(f"{d}: {p.authors_seeds[d]} seeds x {p.authors_epochs[d]} epochs"
                       for d in auth)
    out.append(claim(
        "udv.regression.authors.rank_below_uv",
        "Authors' protocol (Adam at a constant 1e-4, projection after every step only; "
        f"{budget}): on every dataset the numerical rank of UDV's hidden layer is at least "
        "one neuron below UV's, on average over seeds (paired by seed), *and* the networks "
        "fit alike: UDV's mean test loss at most 1.1 x UV's on every dataset (the fit "
        "precondition, ours: a rank gap between an unfit and a fit network says nothing "
        "about implicit bias)",
        all_of(fit_parity({d: (r.runs[("udv", "adam")], r.runs[("uv", "adam")])
                           for d, r in auth.items()}),
               rank_gap_check({d: r.runs[("udv", "adam")] for d, r in auth.items()},
                              {d: r.runs[("uv", "adam")] for d, r in auth.items()})),
        kind="paper", quote=QUOTES["rank"], protocol=AUTHORS, expected="fails",
        exploratory=True,
        reason="fit precondition added after the referee read the run (issue 14, finding 1): "
               "the rank gap alone held while UDV's test loss was 2.4-2.8 x UV's, a gap that "
               "comes from clamping the negative initial w_j at the first projection within "
               "about 600 unfit Adam steps, not from training; with the precondition it fails "
               "because UDV does not fit at the authors' epoch count on our 4x smaller set. "
               "The step-matched run (udv.regression.authors.steps.*) decides the paper's "
               "claims"))
    for ds, r in auth.items():
        tag = ds.replace("-", "_")
        u, v = r.runs[("udv", "adam")], r.runs[("uv", "adam")]
        kw = dict(expected="fails",
                  reason="not testable at the authors' epoch count on a 4x smaller set: a "
                         "constant Adam rate of 1e-4 for their epochs gives only about 600 "
                         "steps here (diabetes: 3 batches x 200 epochs of 353 samples; "
                         "digits-completion: 12 x 50) against about 2000 on house prices, and "
                         "UDV, projected into the unit balls after the first step, is still "
                         "far from fit at the end (UDV 0.14 vs UV 0.05 test MSE on diabetes, "
                         "quick profile). Set after the first run of this claim (it was "
                         "pre-registered as holding); the step-matched claims "
                         "udv.regression.authors.steps.* test it at the authors' step count")
        out.append(claim(
            f"udv.regression.authors.{tag}.comparable_loss",
            f"{ds}, authors' protocol ({p.authors_epochs[ds]} epochs, Adam 1e-4 constant): "
            "UDV's mean test loss is at most 5% above UV's (the 5% bar is ours, the same as "
            "the tuned protocol's claim)",
            at_most(u.mean / v.mean, 1 + COMPARABLE, scale=COMPARABLE), kind="paper",
            quote=QUOTES["comparable"], protocol=AUTHORS, **kw))
        pc = prune_comparison(u, v)
        out.append(claim(
            f"udv.regression.authors.{tag}.prune_udv_within_1pct",
            f"{ds}, authors' protocol: SVD pruning of UDV to its numerical rank (k={pc.k} of "
            f"{pc.width}) changes its mean test loss by at most 1% (relative): a self-check "
            "of the pruning",
            at_most(pc.udv_change, PRUNE_KEEP, scale=PRUNE_KEEP), kind="check",
            protocol=AUTHORS))
        ks = _curve_widths(u)
        dlt = curve_changes(v, ks) - curve_changes(u, ks) - PRUNE_MARGIN * len(ks)
        n_ok = int(np.sum(np.isfinite(dlt)))
        out.append(claim(
            f"udv.regression.authors.{tag}.prune_uv_loses_more_curve",
            f"{ds}, authors' protocol: over the pruning curve at and below UDV's median rank "
            f"(k in {ks}), UV's relative test-loss increase, summed over those k, exceeds "
            "UDV's by more than 1% per width on at least half of the seeds (paired by seed). "
            "Our extension to regression of the paper's CIFAR pruning sentence",
            fraction(int(np.sum(np.isfinite(dlt) & (dlt > 0))), max(n_ok, 1), at_least=0.5,
                     min_samples=6),
            kind="extension", protocol=AUTHORS))
    return out


def _steps_claims(result: Result) -> list[Claim]:
    """The paper's regression claims decided at the authors' number of Adam steps (added
    after the referee's finding 3, with one measurement of the outcome seen first)."""
    st, p = result.authors_steps, result.params
    if not st:
        return []
    budget = ", ".join(f"{d}: {p.authors_seeds[d]} seeds x {p.authors_step_epochs[d]} epochs"
                       for d in st)
    pre = ("Authors' protocol at the authors' number of Adam steps (constant 1e-4, batch 128, "
           f"projection after steps only; about 2000 steps as 200 epochs of house prices; "
           f"{budget}): ")
    why = ("added after the referee's finding 3 (the epoch-matched run gives a third of the "
           "authors' Adam steps); a single measurement of this run (UDV 0.038 vs UV 0.032 "
           "test MSE on diabetes, 16 seeds, ratio about 1.18) was seen before the expectation "
           "was set: at 2000 steps UDV comes close to UV but not within 5% or 10%")
    out = [claim(
        "udv.regression.authors.steps.rank_below_uv",
        pre + "UDV's mean test loss is at most 1.1 x UV's (fit precondition, ours) and the "
        "numerical rank of UDV's hidden layer is at least one neuron below UV's on average over "
        "paired seeds, on every dataset of the run. Decides the paper's rank claim; the "
        "epoch-matched udv.regression.authors.rank_below_uv is reported beside it",
        all_of(fit_parity({d: (r.runs[("udv", "adam")], r.runs[("uv", "adam")])
                           for d, r in st.items()}),
               rank_gap_check({d: r.runs[("udv", "adam")] for d, r in st.items()},
                              {d: r.runs[("uv", "adam")] for d, r in st.items()})),
        kind="paper", quote=QUOTES["rank"], protocol=STEP_MATCHED, expected="fails",
        exploratory=True, reason=why)]
    for ds, r in st.items():
        tag = ds.replace("-", "_")
        u, v = r.runs[("udv", "adam")], r.runs[("uv", "adam")]
        out.append(claim(
            f"udv.regression.authors.steps.{tag}.comparable_loss",
            f"{ds}, " + pre + "UDV's mean test loss is at most 5% above UV's (the 5% bar is "
            "ours, as in the epoch-matched and tuned claims). Decides the paper's claim",
            at_most(u.mean / v.mean, 1 + COMPARABLE, scale=COMPARABLE), kind="paper",
            quote=QUOTES["comparable"], protocol=STEP_MATCHED, expected="fails",
            exploratory=True, reason=why))
    return out


def _curve_widths(u: RunSummary) -> list[int]:
    med = max(1, int(np.floor(np.median(u.ranks[u.ok])))) if u.ok.any() else 1
    return [k for k in u.widths if k <= med]


def claims(result: Result) -> list[Claim]:
    """The chapter's pre-registered claims (the same relations and expectations in both
    profiles): the paper's claims under the authors' protocol, and the same relations under
    the tuned protocol as ``extension`` claims (ids ``udv.regression.tuned.*``; the quick
    profile runs fewer seeds and epochs at LRs fixed from an earlier paper-profile sweep)."""
    out = _steps_claims(result) + _authors_claims(result)
    udv_r, uv_r = {}, {}
    for ds, r in result.datasets.items():
        for opt in result.params.optimizers:
            udv_r[f"{ds}/{opt}"] = r.runs[("udv", opt)]
            uv_r[f"{ds}/{opt}"] = r.runs[("uv", opt)]
    out.append(claim(
        "udv.regression.tuned.rank_below_uv",
        "Tuned protocol (LR per model and optimizer, cosine annealing): in every setting "
        "(dataset x optimizer) the numerical rank of UDV's hidden layer "
        "(singular values above 1e-3 of the largest) is at least one neuron below UV's, on "
        "average over seeds (paired by seed)",
        rank_gap_check(udv_r, uv_r), kind="extension", protocol=PROTOCOL))
    for ds, r in result.datasets.items():
        tag = ds.replace("-", "_")
        pc = r.prune()
        out.append(claim(
            f"udv.regression.tuned.{tag}.prune_udv_within_1pct",
            f"{ds}, tuned protocol: SVD pruning of UDV to its numerical rank (k={pc.k} of "
            f"{pc.width}) changes its mean test loss by at most 1% (relative). A self-check of "
            "the pruning: the dropped directions carry less than 1e-3 of the largest singular "
            "value",
            at_most(pc.udv_change, PRUNE_KEEP, scale=PRUNE_KEEP), kind="check",
            protocol=PROTOCOL))
        kw = {}
        if ds == "diabetes":
            kw = dict(expected="fails",
                      reason="our protocol: k is the largest UDV rank over the seeds, rounded up "
                             "to the sweep (8 of 9 while UDV's mean rank is about 5.5), so UV "
                             "loses a single direction of nine and its loss barely moves; the "
                             "exploratory claim prune_uv_loses_more_curve compares below UDV's "
                             "median rank instead")
        out.append(claim(
            f"udv.regression.tuned.{tag}.prune_uv_loses_more",
            f"{ds}, tuned protocol: pruned to the same width k={pc.k}, UV's test loss rises by "
            "more than UDV's + 1% (relative) on the seeds: paired one-sided sign test over "
            "seeds, alpha = 0.05. Our extension to regression of the paper's CIFAR sentence "
            "(Fig. 5); its B.3 says only that UDV gives more compact models at equal "
            "performance",
            compare(pc.udv_changes + PRUNE_MARGIN, pc.uv_changes, better="lower",
                    min_samples=6),
            kind="extension", protocol=PROTOCOL, **kw))
        ks = curve_widths(r)
        u, v = r.best("udv"), r.best("uv")
        dlt = curve_changes(v, ks) - curve_changes(u, ks) - PRUNE_MARGIN * len(ks)
        win = np.isfinite(dlt) & (dlt > 0)
        out.append(claim(
            f"udv.regression.tuned.{tag}.prune_uv_loses_more_curve",
            f"{ds}, tuned protocol: over the pruning curve at and below UDV's median rank (k in "
            f"{ks}), UV's relative test-loss increase, summed over those k, exceeds UDV's by "
            "more than 1% per width on at least half of the seeds (the median seed; paired by "
            "seed). Not a significance test: a per-seed rate, so the verdict does not depend "
            "on the seed count of the profile",
            fraction(int(np.sum(win)), max(int(np.sum(np.isfinite(dlt))), 1), at_least=0.5,
                     min_samples=6),
            kind="extension", protocol=PROTOCOL, exploratory=True,
            reason="added after the referee read prune_uv_loses_more: testing at the largest "
                   "UDV rank over seeds leaves UV's pruning almost nothing to remove; this "
                   "relation (widths, per-seed rate of one half) was chosen after that run"))
    for ds, r in result.datasets.items():
        tag = ds.replace("-", "_")
        u, v = r.best("udv"), r.best("uv")
        ep = result.params.epochs[ds]
        kw = {}
        if ds == "digits-completion":
            kw = dict(expected="fails",
                      reason="our protocol, not the substitute: the epoch budget (60 quick, "
                             "200 paper) ends while UDV is still adding rank one direction at a "
                             "time (the reduced-rank behaviour of paper §4, the 'stair-step' of "
                             "B.3), so its best test loss stays 5-13% above UV's; the paper's "
                             "own epochs on its tasks are not known (spec 001 §5.5)")
        out.append(claim(
            f"udv.regression.tuned.{tag}.comparable_loss",
            f"{ds}, tuned protocol: after {ep} epochs the best UDV's mean test loss is at most "
            "5% above the best UV's (the 5% bar is ours: the paper says 'comparable' and its "
            "Table 1 values are not recovered; how close UDV gets depends on the epoch budget, "
            "which differs between profiles)",
            at_most(u.mean / v.mean, 1 + COMPARABLE, scale=COMPARABLE), kind="extension",
            protocol=PROTOCOL, **kw))
    return out
