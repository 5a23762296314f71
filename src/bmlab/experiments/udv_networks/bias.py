"""What causes UDV's low-rank bias (paper 001, B.5 and B.6).

B.5: UDV against the same network without constraints ("UDV unconstrained"), a dense
three-layer network UFV, and UV. B.6: UV and UFV with weight decay at several strengths;
the largest strength whose test loss stays within 10% of UDV's is compared with UDV
(the paper's choice for its Fig. SM27). The B.6 strengths are UNKNOWN (spec 001 §5.2); we
use four decades.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from bmlab.claims import Claim, all_of, claim
from bmlab.nn.data import REGRESSION_SETS, load_dataset
from bmlab.nn.layers import huang_width
from bmlab.validation import check_int, check_real

from ..base import ExperimentParams
from bmlab.nn.training import PROTOCOLS

from .common import (AUTHORS, PROTOCOL, Config, RunSummary, fit_parity, pm, rank_gap_check,
                     run_configs)

__all__ = ["Params", "Result", "DatasetResult", "run", "run_dataset", "claims",
           "select_weight_decay", "depth_table", "wd_table", "glue_values", "WD_GRID", "LRS",
           "MODELS", "QUOTES"]

WD_GRID = (1e-4, 1e-3, 1e-2, 1e-1)
MODELS = ("udv", "udv-unconstrained", "ufv", "uv")
#: Adam LRs: UV and UDV as selected in the regression chapter; the two other models swept
#: once over {1e-3, 1e-2, 1e-1} (paper profile) and fixed here.
LRS = {"diabetes": {"udv": 0.1, "udv-unconstrained": 0.01, "ufv": 0.01, "uv": 0.1},
       "digits-completion": {"udv": 0.1, "udv-unconstrained": 0.01, "ufv": 0.01, "uv": 1e-3}}

QUOTES = {
    "depth": "These findings demonstrate that the singular value decay in UDV unconstrained, "
             "UFV, and UV is significantly slower than in the proposed UDV framework.",
    "wd": "Figure SM27 illustrates an example where we selected the largest values for which "
          "the test loss remained within 10% of the UDV baseline. The resulting singular value "
          "decay in the UV and UFV models was less pronounced than in the UDV model.",
}


@dataclass(frozen=True)
class Params(ExperimentParams):
    """``lrs[dataset][model]``: the Adam LR of each model."""

    datasets: tuple = ("diabetes", "digits-completion")
    optimizer: str = "adam"
    lrs: dict = field(default_factory=lambda: {d: dict(v) for d, v in LRS.items()})
    wd_models: tuple = ("uv", "ufv")
    wd_grid: tuple = WD_GRID
    within: float = 0.10
    n_seeds: int = 20
    epochs: dict = field(default_factory=lambda: {"diabetes": 200, "digits-completion": 200})
    seed: int = 0
    #: The authors' protocol (their regression notebooks: Adam at a constant 1e-4 for every
    #: model, 200 epochs, projection after steps only, int(0.8 n) split), with
    #: ``authors_seeds`` seeds on every dataset of the run.
    authors: bool = True
    authors_seeds: int = 50
    authors_epochs: int = 200
    PRESETS: ClassVar[dict[str, dict[str, Any]]] = {
        "quick": {"datasets": ("diabetes",), "n_seeds": 3, "epochs": {"diabetes": 200},
                  "authors_seeds": 6},
        "paper": {"datasets": ("diabetes", "digits-completion"), "n_seeds": 20,
                  "epochs": {"diabetes": 200, "digits-completion": 200}},
    }

    def validate(self) -> None:
        for d in self.datasets:
            if d not in REGRESSION_SETS:
                raise ValueError(f"dataset must be one of {REGRESSION_SETS}, got {d!r}")
            if d not in self.lrs or "udv" not in self.lrs[d]:
                raise ValueError(f"lrs[{d!r}] must contain the reference model 'udv'")
            if d not in self.epochs:
                raise ValueError(f"epochs needs an entry for dataset {d!r}")
            check_int(f"epochs[{d!r}]", self.epochs[d], lo=1)
            missing = [m for m in self.wd_models if m not in self.lrs[d]]
            if missing:
                raise ValueError(f"lrs[{d!r}] has no LR for {missing}")
        check_int("n_seeds", self.n_seeds, lo=1)
        check_int("authors_seeds", self.authors_seeds, lo=1)
        check_int("authors_epochs", self.authors_epochs, lo=1)
        check_real("within", self.within, lo=0, lo_open=True)
        check_int("seed", self.seed, lo=0)


@dataclass
class DatasetResult:
    name: str
    optimizer: str
    lrs: dict
    wd_models: tuple
    wd_grid: tuple
    width: int
    runs: dict[str, RunSummary]            # keyed by Config.key
    selected: dict[str, float]             # wd model -> selected strength (nan: none)

    def run(self, model: str, wd: float = 0.0) -> RunSummary:
        return self.runs[Config(model, self.optimizer, self.lrs[model], wd).key]

    def selected_ranks(self, model: str) -> np.ndarray:
        """Per-seed ranks at the selected strength (``inf`` when no strength qualifies)."""
        wd = self.selected[model]
        if not np.isfinite(wd):
            return np.full(self.run("udv").ranks.shape, np.inf)
        r = self.run(model, wd)
        return np.where(r.ok, r.ranks, np.nan).astype(float)

    def selected_rank(self, model: str) -> float:
        """Mean rank at the selected strength (``inf`` when no strength qualifies)."""
        wd = self.selected[model]
        return self.run(model, wd).mean_rank if np.isfinite(wd) else np.inf


@dataclass
class Result:
    """``datasets``: the tuned protocol; ``authors``: the authors' protocol."""

    params: Params
    datasets: dict[str, DatasetResult]
    authors: dict[str, DatasetResult] = field(default_factory=dict)


def select_weight_decay(reference: float, runs: list[RunSummary], within: float) -> float:
    """Largest strength whose mean test loss is within ``within`` (relative) of
    ``reference``; ``nan`` if none is."""
    ok = [r.weight_decay for r in runs if np.isfinite(r.mean) and r.mean <= (1 + within) * reference]
    return max(ok) if ok else float("nan")


def run_dataset(params: Params, name: str, progress=None,
                protocol: str = PROTOCOL) -> DatasetResult:
    """Every configuration on dataset ``name`` under ``protocol`` (``"authors"``: Adam at
    their constant 1e-4 for every model, ``authors_seeds`` x ``authors_epochs``)."""
    p = params
    authors = protocol == AUTHORS
    proto = PROTOCOLS["authors"]
    ds = load_dataset(name, split=proto.split) if authors else load_dataset(name)
    width = huang_width(ds.d_in, ds.d_out)
    lrs = {m: proto.lr("regression") for m in p.lrs[name]} if authors else p.lrs[name]
    opt = "adam" if authors else p.optimizer
    configs = [Config(m, opt, lr) for m, lr in lrs.items()]
    configs += [Config(m, opt, lrs[m], wd) for m in p.wd_models for wd in p.wd_grid]
    runs = run_configs(ds, configs, n_seeds=p.authors_seeds if authors else p.n_seeds,
                       seed=p.seed, epochs=p.authors_epochs if authors else p.epochs[name],
                       width=width, progress=progress, prune=None, protocol=protocol)
    res = DatasetResult(name, opt, dict(lrs), tuple(p.wd_models), tuple(p.wd_grid),
                        width, runs, {})
    ref = res.run("udv").mean
    for m in p.wd_models:
        res.selected[m] = select_weight_decay(ref, [res.run(m, wd) for wd in p.wd_grid],
                                              p.within)
    return res


def run(params: Params, rng: np.random.Generator | None = None, progress=None) -> Result:
    """Train every configuration under both protocols (torch draws from ``params.seed``;
    ``rng`` is unused)."""
    authors = {d: run_dataset(params, d, progress, AUTHORS) for d in params.datasets} \
        if params.authors else {}
    return Result(params, {d: run_dataset(params, d, progress) for d in params.datasets},
                  authors)


def depth_table(result: Result) -> pd.DataFrame:
    """Every model without weight decay under both protocols."""
    from .plots import LABELS

    return pd.DataFrame([{"protocol": name, "dataset": ds, "model": LABELS[m],
                          "lr": r.run(m).lr,
                          "epochs x seeds": f"{len(r.run(m).curves) - 1} x "
                                            f"{len(r.run(m).metric)}",
                          "test MSE": pm(r.run(m).mean, r.run(m).std),
                          "rank": round(r.run(m).mean_rank, 2)}
                         for name, res in (("authors", result.authors),
                                           ("tuned", result.datasets))
                         for ds, r in res.items() for m in MODELS])


def wd_table(result: Result) -> pd.DataFrame:
    from .plots import LABELS

    rows = []
    for name, ds, res in [("authors", d, r) for d, r in result.authors.items()] + \
            [("tuned", d, r) for d, r in result.datasets.items()]:
        ref = res.run("udv")
        for m in res.wd_models:
            for wd in res.wd_grid:
                r = res.run(m, wd)
                rows.append({"protocol": name, "dataset": ds, "model": LABELS[m], "λ": wd,
                             "test MSE / UDV": round(r.mean / ref.mean, 3),
                             "rank": round(r.mean_rank, 2),
                             "selected": bool(wd == res.selected[m])})
    return pd.DataFrame(rows)


def glue_values(result: Result) -> dict[str, Any]:
    d = result.datasets["diabetes"] if "diabetes" in result.datasets \
        else next(iter(result.datasets.values()))
    out = {"rank-unc": d.run("udv-unconstrained").mean_rank, "rank-udv": d.run("udv").mean_rank}
    for m in d.wd_models:
        out[f"wd-{m}"] = d.selected[m]
        out[f"wd-rank-{m}"] = d.selected_rank(m)
    if result.authors:
        a = result.authors["diabetes"] if "diabetes" in result.authors \
            else next(iter(result.authors.values()))
        out.update({"auth-rank-udv": a.run("udv").mean_rank,
                    "auth-rank-unc": a.run("udv-unconstrained").mean_rank,
                    "auth-loss-udv-uv": a.run("udv").mean / a.run("uv").mean})
        for m in a.wd_models:
            out[f"auth-wd-{m}"] = a.selected[m]
            out[f"auth-wd-rank-{m}"] = a.selected_rank(m)
    return out


def claims(result: Result) -> list[Claim]:
    """Pre-registered claims (a paired mean-rank gap of at least one neuron; the same
    relations and expectations in both profiles, which both train the paper's 200 epochs;
    the quick profile runs diabetes only, and each statement names the datasets of its run):
    the paper's under the authors' protocol (ids ``udv.bias.authors.*``), the same relations
    under the tuned protocol as extensions (ids ``udv.bias.tuned.*``)."""
    out = _claims(result.authors, result.params, AUTHORS) if result.authors else []
    return out + _claims(result.datasets, result.params, PROTOCOL)


def _claims(ds: dict, params: Params, proto: str) -> list[Claim]:
    tuned = proto != AUTHORS
    tag = "tuned" if tuned else "authors"
    kind = "extension" if tuned else "paper"
    pre = ("Tuned protocol (one Adam LR per model, cosine): " if tuned else
           "Authors' protocol (Adam at a constant 1e-4 for every model, projection after "
           "steps only): ")
    scope = ", ".join(ds)
    others = {f"{d}/{m}": r.run(m) for d, r in ds.items() for m in MODELS[1:]}

    def gate(check):
        """Authors' protocol: the rank check only counts when UDV fits within 10% of UV."""
        if tuned:
            return check
        return all_of(fit_parity({d: (r.run("udv"), r.run("uv")) for d, r in ds.items()}),
                      check)

    gate_txt = "" if tuned else (
        "; and the networks fit alike: UDV's mean test loss at most 1.1 x UV's (the fit "
        "precondition, ours)")
    gkw = {} if tuned else dict(
        expected="fails", exploratory=True,
        reason="fit precondition added after the referee read the run (issue 14, finding 1): "
               "the rank gaps held while UDV's test loss was about 3 x UV's, within about 600 "
               "Adam steps at 1e-4 (3 batches x 200 epochs); the gaps come from clamping the "
               "negative initial w_j at the first projection, and weight decay 'within 10% of "
               "UDV's loss' then admits every strength. Not testable at the authors' epoch "
               "count on a 4x smaller set (house prices: about 2000 steps); the regression "
               "chapter's step-matched run (udv.regression.authors.steps.*) shows that even at "
               "2000 steps UDV's loss stays above 1.1 x UV's on diabetes")
    out = [claim(
        f"udv.bias.{tag}.depth_not_enough",
        pre + "UDV's numerical rank is at least one neuron below that of UDV unconstrained, UFV and "
        f"UV on average over paired seeds, on every dataset of the run ({scope}; the quick "
        "profile runs diabetes only)" + gate_txt,
        gate(rank_gap_check({k: ds[k.split("/")[0]].run("udv") for k in others}, others)),
        kind=kind, quote=QUOTES["depth"], protocol=proto, **gkw)]
    grid = ", ".join(f"{w:g}" for w in params.wd_grid)
    for m in params.wd_models:
        kw = dict(gkw) if not tuned else dict(
            expected="fails",
            reason="the paper's B.6 is contradicted under our protocol, on a task of its "
                   "shape: the paper's HPART network is also one-output (79-26-1, spec 001 "
                   "§5.4), and the outcome is not tied to one output (on 32-output "
                   "digits-completion UFV also reaches below UDV's rank in the paper profile). "
                   "Our protocol differs from the authors' in ways that plausibly decide it: a "
                   "decade grid of strengths (theirs is unknown), one fixed Adam LR per model, "
                   "200 epochs (at 80 epochs the outcome differed); with it, weight decay within "
                   "10% of UDV's loss reaches UDV's rank or lower")
        out.append(claim(
            f"udv.bias.{tag}.weight_decay_{m}_less_decay",
            pre + f"{m.upper()} with the largest weight decay (of {{{grid}}}) whose test loss is "
            "within 10% of UDV's has a numerical rank at least one neuron above UDV's on "
            f"average over paired seeds, on every dataset of the run ({scope})" + gate_txt,
            gate(rank_gap_check({d: r.run("udv") for d, r in ds.items()},
                                {d: r.selected_ranks(m) for d, r in ds.items()})),
            kind=kind, quote=QUOTES["wd"], protocol=proto, **kw))
    return out
