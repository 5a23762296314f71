"""UDV variants (paper 001, B.2) and ReLU networks (B.4).

B.2: UDV, UDV-s (free-sign diagonal), UDV-v1 (per-unit norm constraints), UDV-v2 (per-unit,
free sign), with UV as the baseline, on the regression tasks. B.4: UV-ReLU, ReLU with
Frobenius constraints, UDV-ReLU and UDV-ReLU-s on a regression task (diabetes, for HPART)
and a classification task (digits pixels, for the paper's MNIST; hidden width
round(2/3 d) as the paper's MNIST heads, FOUND-code).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from bmlab.claims import Claim, all_of, claim, qualitative
from bmlab.nn.data import CLASSIFICATION_SETS, REGRESSION_SETS, Dataset, load_dataset
from bmlab.nn.layers import huang_width
from bmlab.validation import check_int, check_real

from ..base import ExperimentParams
from bmlab.nn.training import PROTOCOLS

from .common import AUTHORS, PROTOCOL, Config, RunSummary, pm, rank_gap_check, run_configs

__all__ = ["Params", "Result", "run", "claims", "table", "glue_values", "protocol_table",
           "AUTHORS_FAILS", "VARIANTS",
           "RELU_MODELS", "QUOTES"]

VARIANTS = ("udv", "udv-s", "udv-v1", "udv-v2", "uv")
RELU_MODELS = ("uv-relu", "relu-constrained", "udv-relu", "udv-relu-s")
MODELS = {"diabetes": VARIANTS + RELU_MODELS, "digits-completion": VARIANTS,
          "digits": RELU_MODELS + ("udv", "uv")}

QUOTES = {
    "variants": "Early in this work we explored four UDV variants with different constraints. "
                "All produced low-rank solutions, but the formulation in (5) showed the "
                "strongest spectral decay, and we adopt it as the main model.",
    "relu": "Figure SM23 and Figure SM24 showed that UDV-ReLU and UDV-ReLU-s exhibit a similar "
            "(or even more pronounced) decaying pattern in singular values as observed in the "
            "proposed UDV.",
    "relu_low": "Preliminary experiments suggest that UDV-ReLU also promotes low-rank "
                "solutions, consistent with the original UDV model.",
}


@dataclass(frozen=True)
class Params(ExperimentParams):
    """``models``: per dataset, the models to train (Adam, one LR per dataset)."""

    datasets: tuple = ("diabetes", "digits-completion", "digits")
    models: dict = field(default_factory=lambda: dict(MODELS))
    optimizer: str = "adam"
    lrs: dict = field(default_factory=dict)   # "dataset/model" -> lr
    default_lr: float = 0.1
    n_seeds: int = 10
    epochs: dict = field(default_factory=lambda: {
        "diabetes": 200, "digits-completion": 200, "digits": 70})
    seed: int = 0
    #: The authors' protocol (constant Adam rates: 1e-4 for the linear variants as in their
    #: house-prices notebook, 1e-3 for the ReLU models as in their UDV-ReLU notebooks; no
    #: projection at initialisation; int(0.8 n) split; mean of batch means), on
    #: ``authors_datasets`` with ``authors_seeds`` seeds; epochs: ``authors_epochs``
    #: (linear variants) and ``authors_relu_epochs`` (ReLU models). Their budgets: 200
    #: epochs x 1000 seeds (house prices), 100 epochs x 50 seeds (UDV-ReLU).
    authors: bool = True
    authors_datasets: tuple = ("diabetes", "digits")
    authors_seeds: dict = field(default_factory=lambda: {"diabetes": 50, "digits": 10})
    authors_epochs: int = 200
    authors_relu_epochs: int = 100
    PRESETS: ClassVar[dict[str, dict[str, Any]]] = {
        "quick": {"datasets": ("diabetes", "digits"), "n_seeds": 6,
                  "epochs": {"diabetes": 200, "digits": 30},
                  "authors_datasets": ("diabetes",), "authors_seeds": {"diabetes": 8}},
        "paper": {"datasets": ("diabetes", "digits-completion", "digits"), "n_seeds": 10,
                  "epochs": {"diabetes": 200, "digits-completion": 200, "digits": 70},
                  "authors_datasets": ("diabetes", "digits"),
                  "authors_seeds": {"diabetes": 50, "digits": 10}},
    }

    def validate(self) -> None:
        known = REGRESSION_SETS + CLASSIFICATION_SETS
        for d in self.datasets:
            if d not in known:
                raise ValueError(f"datasets must be among {known}, got {d!r}")
            if d not in self.models or d not in self.epochs:
                raise ValueError(f"models and epochs need an entry for dataset {d!r}")
            check_int(f"epochs[{d!r}]", self.epochs[d], lo=1)
        check_int("n_seeds", self.n_seeds, lo=1)
        if self.authors:
            for d in self.authors_datasets:
                if d not in self.models or d not in self.authors_seeds:
                    raise ValueError(f"authors_datasets: {d!r} needs models and authors_seeds")
                check_int(f"authors_seeds[{d!r}]", self.authors_seeds[d], lo=1)
            check_int("authors_epochs", self.authors_epochs, lo=1)
            check_int("authors_relu_epochs", self.authors_relu_epochs, lo=1)
        check_real("default_lr", self.default_lr, lo=0, lo_open=True)
        check_int("seed", self.seed, lo=0)


@dataclass
class Result:
    """``runs``: the tuned protocol (one shared Adam LR); ``authors``: the authors'."""

    params: Params
    widths: dict[str, int]
    runs: dict[str, dict[str, RunSummary]]     # dataset -> model -> run
    authors: dict[str, dict[str, RunSummary]] = field(default_factory=dict)

    def view(self, protocol: str) -> "Result":
        """This result with ``runs`` = the runs of ``protocol`` (for the claim helpers)."""
        return self if protocol != AUTHORS else Result(self.params, self.widths, self.authors)


def _flat(ds: Dataset) -> Dataset:
    n_tr, n_te = ds.x_train.shape[0], ds.x_test.shape[0]
    return Dataset(ds.name, ds.task, ds.x_train.reshape(n_tr, -1), ds.y_train,
                   ds.x_test.reshape(n_te, -1), ds.y_test, ds.description, ds.meta)


def width_for(ds: Dataset) -> int:
    """Huang's rule for regression, round(2/3 d) for classification (the MNIST heads)."""
    return round(2 * ds.d_in / 3) if ds.task == "classification" else huang_width(ds.d_in, ds.d_out)


def run(params: Params, rng: np.random.Generator | None = None, progress=None) -> Result:
    """Train every model of every dataset (torch draws from ``params.seed``)."""
    p = params
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
    authors = {}
    proto = PROTOCOLS["authors"]
    for name in (p.authors_datasets if p.authors else ()):
        ds = _flat(load_dataset(name, split=proto.split))
        width = width_for(ds)
        average_last = 3 if ds.task == "classification" else 20
        authors[name] = {}
        for m in p.models[name]:
            relu = m in RELU_MODELS
            lr = proto.lr("udv-relu" if relu or ds.task == "classification" else "regression")
            ep = p.authors_relu_epochs if relu or ds.task == "classification" \
                else p.authors_epochs
            if progress:
                progress(f"{name}: authors' protocol, {m} lr={lr:g}")
            authors[name][m] = run_configs(
                ds, [Config(m, "adam", lr)], n_seeds=p.authors_seeds[name], seed=p.seed,
                epochs=ep, width=width, average_last=average_last, prune=None,
                protocol=AUTHORS)[Config(m, "adam", lr).key]
    return Result(p, widths, runs, authors)


def table(result: Result) -> pd.DataFrame:
    """Test metric and mean numerical rank of every (dataset, model)."""
    from .plots import LABELS

    return pd.DataFrame([{"dataset": ds, "model": LABELS[m], "test metric": pm(r.mean, r.std),
                          "rank": round(r.mean_rank, 2), "diverged": r.n_diverged}
                         for ds in result.runs for m, r in result.runs[ds].items()])


def protocol_table(result: Result) -> pd.DataFrame:
    """Both protocols side by side: per dataset and model, test metric and mean rank under
    the authors' protocol and under the tuned one (blank where a protocol did not run)."""
    from .plots import LABELS

    rows = []
    for ds in result.runs:
        for m, t in result.runs[ds].items():
            a = result.authors.get(ds, {}).get(m)
            row = {"dataset": ds, "model": LABELS[m]}
            if a is not None:
                row.update({"authors: LR, epochs x seeds":
                            f"{a.lr:g}, {len(a.curves) - 1} x {len(a.metric)}",
                            "authors: test metric": pm(a.mean, a.std),
                            "authors: rank": round(a.mean_rank, 2)})
            else:
                row.update({"authors: LR, epochs x seeds": "not run",
                            "authors: test metric": "", "authors: rank": np.nan})
            row.update({"tuned: LR, epochs x seeds": f"{t.lr:g}, {len(t.curves) - 1} x "
                                                     f"{len(t.metric)}",
                        "tuned: test metric": pm(t.mean, t.std),
                        "tuned: rank": round(t.mean_rank, 2)})
            rows.append(row)
    return pd.DataFrame(rows)


def regression_sets(result: Result) -> list[str]:
    return [d for d in result.runs if d != "digits" and "udv-v2" in result.runs[d]]


def relu_sets(result: Result) -> list[str]:
    return [d for d in result.runs if "udv-relu" in result.runs[d]]


def glue_values(result: Result) -> dict[str, Any]:
    if "digits" not in result.runs:
        return {}
    return {f"acc-{m}": r.mean for m, r in result.runs["digits"].items()}


def _ranks(result: Result, sets, models) -> dict[str, RunSummary]:
    return {f"{d}/{m}": result.runs[d][m] for d in sets for m in models}


PARITY = 0.10
"""Fit parity of a ReLU comparison (ours, pre-registered with the parity claims): the test
loss (regression) or test error in % (classification) of the UDV-ReLU model is at most
10% above UV-ReLU's, mean over seeds."""


def parity_check(result: Result, models, sets, ref_model: str = "uv-relu") -> "Check":
    """Every ``model`` on every dataset of ``sets`` fits within :data:`PARITY` of
    ``ref_model`` (UV-ReLU unless given): margin = 1 + PARITY − (its loss or error) /
    the reference's, the smallest over settings."""
    ratios = {}
    for d in sets:
        ref = result.runs[d][ref_model]
        for m in models:
            r = result.runs[d][m]
            if r.task == "regression":
                ratios[f"{d}/{m}"] = r.mean / ref.mean
            else:
                ratios[f"{d}/{m}"] = (100.0 - r.mean) / max(100.0 - ref.mean, 1e-9)
    vals = np.array([v if np.isfinite(v) else np.inf for v in ratios.values()])
    worst = float(np.max(vals)) if vals.size else np.inf
    margin = float(np.clip((1 + PARITY - worst) / PARITY, -1e6, 1e6))
    n = min(int(result.runs[d][m].ok.sum()) for d in sets for m in models)
    return qualitative(margin > 0, ours={k: round(float(v), 3) for k, v in ratios.items()},
                       margin=margin, samples=n, min_samples=3,
                       relation=f"test loss (error) ≤ {1 + PARITY:g} × {ref_model}'s, every "
                                "setting")


def _scope(result: Result, sets) -> str:
    """The datasets a claim covers in this run (the quick profile runs fewer)."""
    return ", ".join(sets) if sets else "none"


_CLAMP = ("at the authors' constant rates the weights move little within their epoch count "
          "on diabetes (3 batches per epoch: 600 Adam steps at 1e-4, 300 at 1e-3 for the ReLU "
          "models), so the ranks mostly reflect the first projection: the models with w >= 0 "
          "(UDV, UDV-v1, UDV-ReLU) lose the directions whose initial w_j was negative and was "
          "clamped to zero, the free-sign models (UDV-s, UDV-v2, UDV-ReLU-s) keep nearly all "
          "of them (quick profile, 8 seeds)")
#: Authors'-protocol claims that failed at their first run (pre-registered as holding):
#: recorded as not reproduced, with the reason.
AUTHORS_FAILS = {
    "udv.variants.authors.udv_s_low_rank": "not reproduced under the authors' protocol: UDV-s keeps "
                                   "UV's rank on every seed; " + _CLAMP,
    "udv.variants.authors.udv_v2_low_rank": "not reproduced under the authors' protocol: UDV-v2 keeps "
                                    "UV's rank on every seed; " + _CLAMP,
    "udv.variants.authors.udv_strongest": "not reproduced under the authors' protocol: UDV-v1 ties "
                                  "UDV (both clamp w), the free-sign variants do not decay; "
                                  + _CLAMP,
    "udv.relu.authors.low_rank": "not reproduced under the authors' protocol: UDV-ReLU is low-rank but "
                         "UDV-ReLU-s stays within a neuron of UV-ReLU; " + _CLAMP,
    "udv.relu.authors.low_rank_at_parity": "not reproduced under the authors' protocol: UDV-ReLU-s is "
                                   "not low-rank and UDV-ReLU's test loss is about twice "
                                   "UV-ReLU's; " + _CLAMP,
    "udv.relu.authors.udv_relu_s_similar_to_udv": "not reproduced under the authors' protocol: "
                                          "UDV-ReLU-s keeps about two neurons more than UDV; "
                                          + _CLAMP,
    "udv.variants.authors.udv_v1_low_rank": "UDV-v1's rank gap to UV held alone, but only "
                                            "through the clamp of w; " + _CLAMP,
    "udv.relu.authors.udv_relu_similar_to_udv": "UDV-ReLU's rank gap held alone, but neither "
                                                "UDV nor UDV-ReLU fits; " + _CLAMP,
}
_GATE = (" Fit precondition (every model compared fits within 10% of its UV reference) added "
         "after the referee read the run (issue 14, findings 1 and 10; ids renamed from "
         "udv.variants.* / udv.relu.* to *.authors.*): at about 600 Adam steps (300 for ReLU) "
         "UDV's test loss is several times UV's, so the ranks say nothing about implicit "
         "bias; not testable at the authors' epoch count on a 4x smaller set (house prices: "
         "about 2000 steps). Set after that run; pre-registered without the precondition as "
         "holding")


def _claims(result: Result, proto: str) -> list[Claim]:
    """Pre-registered claims (rank comparisons: a paired mean-rank gap of at least one
    neuron; the same relations and expectations in both profiles; the datasets covered
    differ by profile and each statement names those of the run)."""
    tuned = proto != AUTHORS
    reg, rel = regression_sets(result), relu_sets(result)
    tag = "authors." if not tuned else "tuned."

    def gate(check, pairs):
        """Authors' protocol: a rank check only counts when the models fit alike (each of
        ``pairs`` = (model, reference) within PARITY on every dataset of its sets)."""
        if tuned:
            return check
        return all_of(*[parity_check(result, (m,), sets, ref) for m, ref, sets in pairs],
                      check)

    kind = "extension" if tuned else "paper"
    pre = ("Tuned protocol (one Adam LR 0.1 for every model, cosine): " if tuned else
           "Authors' protocol (constant Adam 1e-4, ReLU models 1e-3; projection after "
           "steps only): ")
    out = []
    for m in ("udv-s", "udv-v1", "udv-v2"):
        kw = {}
        if m == "udv-v2" and tuned:
            kw = dict(expected="fails",
                      reason="our protocol: one Adam LR (0.1) for every variant, while the "
                             "paper compared each variant at its own best configuration and "
                             "B.3 reports that the LR changes the spectral decay strongly; "
                             "under it UDV-v2 keeps nearly every direction on diabetes (each "
                             "seed drops at most one of nine), though it is low-rank on "
                             "digits-completion (paper profile)")
        out.append(claim(
            f"udv.variants.{tag}{m.replace('-', '_')}_low_rank",
            pre + f"{m.upper()} has a numerical rank at least one neuron below UV's on average over "
            f"paired seeds, on every regression dataset of the run ({_scope(result, reg)}; the "
            "quick profile runs diabetes only)",
            gate(rank_gap_check({d: result.runs[d][m] for d in reg},
                                {d: result.runs[d]["uv"] for d in reg}),
                 [(m, "uv", reg), ("udv", "uv", reg)]),
            kind=kind, quote=QUOTES["variants"], protocol=proto, **kw))
    others = {f"{d}/{m}": result.runs[d][m] for d in reg for m in ("udv-s", "udv-v1", "udv-v2")}
    kw = {} if not tuned else dict(
        expected="fails",
        reason="a tie within seed noise under one shared Adam LR (0.1) for every variant: on "
               "diabetes UDV-s ends at about UDV's rank (2.8 vs 3.0 over 10 seeds, paper "
               "profile), while the paper compared each variant at its own best configuration")
    out.append(claim(
        f"udv.variants.{tag}udv_strongest",
        pre + "UDV (problem (5)) has the strongest spectral decay of the four variants: its "
        "numerical rank is at least one neuron below each other variant's on average over "
        f"paired seeds, on every regression dataset of the run ({_scope(result, reg)}; the "
        "one-neuron bar is ours, the paper gives no margin)",
        gate(rank_gap_check({k: result.runs[k.split("/")[0]]["udv"] for k in others}, others),
             [("udv", "uv", reg)]),
        kind=kind, quote=QUOTES["variants"], protocol=proto, **kw))
    base = {f"{d}/{m}": result.runs[d]["uv-relu"] for d in rel
            for m in ("udv-relu", "udv-relu-s")}
    out.append(claim(
        f"udv.relu.{tag}low_rank",
        pre + "UDV-ReLU and UDV-ReLU-s have a numerical rank at least one neuron below UV-ReLU's on "
        f"average over paired seeds, on every task of the run ({_scope(result, rel)})",
        gate(rank_gap_check(_ranks(result, rel, ("udv-relu", "udv-relu-s")), base),
             [("udv-relu", "uv-relu", rel), ("udv-relu-s", "uv-relu", rel)]),
        kind=kind, quote=QUOTES["relu_low"], protocol=proto))
    kw = dict(exploratory=True, expected="fails",
              reason="parity clause added after the referee saw the runs (UDV-ReLU's low rank "
                     "came with a test loss twice UV-ReLU's on diabetes and ~4 points less "
                     "accuracy on digits): under our protocol (one shared Adam LR, raw "
                     "features, 30/70 epochs on digits) UDV-ReLU reaches low rank partly by "
                     "not fitting") if tuned else {}
    out.append(claim(
        f"udv.relu.{tag}low_rank_at_parity",
        pre + "as the low_rank claim, and both UDV-ReLU models fit within 10% of UV-ReLU (test loss, "
        "or test error in %, at most 1.1 × UV-ReLU's; the parity bar is ours): low rank "
        "without giving up the fit",
        all_of(rank_gap_check(_ranks(result, rel, ("udv-relu", "udv-relu-s")), base),
               parity_check(result, ("udv-relu", "udv-relu-s"), rel)),
        kind=kind, quote=QUOTES["relu_low"], protocol=proto, **kw))
    for m in ("udv-relu", "udv-relu-s"):
        kw = {}
        if m == "udv-relu-s" and tuned:
            kw = dict(expected="fails",
                      reason="cause not isolated, and our protocol is the first suspect: one "
                             "shared Adam LR (0.1) for all models, where the paper took each "
                             "model's optimizer and LR from its Tables SM3-SM6, and short "
                             "digits training (30 quick / 70 paper epochs); under it UDV-ReLU-s "
                             "keeps 2-4 neurons more than UDV on both tasks")
        out.append(claim(
            f"udv.relu.{tag}{m.replace('-', '_')}_similar_to_udv",
            pre + f"{m.upper()} decays similarly to or faster than UDV: its numerical rank exceeds "
            "UDV's by less than one neuron on average over paired seeds (a gap of one neuron "
            f"or more is a difference, the part's bar), on every task of the run "
            f"({_scope(result, rel)})",
            gate(rank_gap_check({d: result.runs[d][m] for d in rel},
                                {d: result.runs[d]["udv"] for d in rel}, min_gap=-1,
                                strict=True),
                 [(m, "uv-relu", rel), ("udv", "uv", rel)]),
            kind=kind, quote=QUOTES["relu"], protocol=proto, **kw))
    return out


def claims(result: Result) -> list[Claim]:
    """Pre-registered claims: the paper's, decided under the authors' protocol (ids
    ``udv.variants.authors.*``, ``udv.relu.authors.*``), and the same relations under the tuned protocol as
    extensions (ids ``udv.variants.tuned.*``, ``udv.relu.tuned.*``). Rank comparisons: a
    paired mean-rank gap of at least one neuron; the same relations and expectations in
    both profiles; the datasets covered differ by profile and each statement names them."""
    out = _claims(result, PROTOCOL)
    if result.authors:
        import dataclasses

        auth = [dataclasses.replace(c, expected="fails", exploratory=True,
                                    reason=AUTHORS_FAILS.get(c.id, _CLAMP) + "." + _GATE)
                for c in _claims(result.view(AUTHORS), AUTHORS)]
        out = auth + out
    return out
