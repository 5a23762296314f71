"""Classification with UV and UDV heads on a backbone pretrained here (paper 001 §3.1,
Table 1 / Fig. 5; the CIFAR transfer-learning experiment, substituted offline).

1. Pretrain :class:`~bmlab.nn.heads.SmallCNN` with a linear head on a *source* task: the
   training images of the digits ``source_classes`` (the stand-in for ImageNet pretraining).
2. Swap its head for a UV or UDV head ``d - d - c`` (:func:`~bmlab.nn.heads.swap_head`
   semantics: truncated-normal dense layers, ``D = I``, width = feature dimension ``d``) and
   train it on the *target* task, all 10 classes, together with the top layer of the
   backbone (``Linear(512, d)`` + ReLU). The convolutional layers are frozen (their output
   is computed once), which lets all seeds train as one stacked run; the paper fine-tunes
   the whole network. A trainable top layer matters: on frozen features UDV's logits can
   only grow through ``w`` and it underfits (see the chapter).
3. Test accuracy averaged over the last 3 epochs; spectra of the head's ``UD``; pruning with
   ``k <- floor(0.9 k)``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import torch

from bmlab.claims import Claim, all_of, at_least, at_most, claim, compare, qualitative
from bmlab.nn.data import Dataset, load_dataset
from bmlab.nn.heads import SmallCNN
from bmlab.nn.training import OPTIMIZERS, make_generator, seed_for, torch_threads, train
from bmlab.validation import check_int

from ..base import ExperimentParams
from bmlab.nn.training import PROTOCOLS

from .common import (AUTHORS, PROTOCOL, RunSummary, better, curve_drops, pm, prune_comparison,
                     rank_gap_check, run_seeds, tune_and_run, upper_gap_bound)

__all__ = ["Params", "Result", "run", "claims", "pretrained_features", "frozen_table",
           "protocol_table",
           "glue_values", "LR_GRIDS", "SELECTED_LRS", "QUOTES"]

#: LR grids of the head training: half-decade grids per optimizer family (the paper's CIFAR
#: LRs -- two per family -- are UNKNOWN, spec 001 §5.5).
LR_GRIDS = {"adam": (3e-3, 1e-2, 3e-2), "nadam": (3e-3, 1e-2, 3e-2),
            "sgd": (3e-2, 1e-1, 3e-1), "sgd-momentum": (3e-3, 1e-2, 3e-2)}
#: LRs that the paper profile's sweep selects; the quick profile reuses them.
SELECTED_LRS = {"uv/adam": 0.01, "udv/adam": 0.01, "uv/nadam": 0.003, "udv/nadam": 0.01,
                "uv/sgd": 0.1, "udv/sgd": 0.1, "uv/sgd-momentum": 0.03,
                "udv/sgd-momentum": 0.03}
ACC_GAP = 1.0          # our bar: best UDV within 1 accuracy point of best UV (95% bound)
PRUNE_KEEP = 0.01      # pruning to the numerical rank changes the accuracy by at most 1%
PRUNE_IMAGES = 3       # "outperforms UV": UV loses at least 3 test images more than UDV

QUOTES = {
    "accuracy": "Collectively, the results show that the UDV framework matches the predictive "
                "accuracy of UV while exhibiting a clear implicit bias toward low-rank "
                "solutions, as reflected in the faster spectral decay.",
    "rank": "Figure 5 (top row) shows the singular value spectra ... the UDV framework matches "
            "the predictive accuracy of UV while exhibiting a clear implicit bias toward "
            "low-rank solutions, as reflected in the faster spectral decay.",
    "prune": "The UDV-based models maintain high accuracy even under aggressive pruning and "
             "consistently outperform the UV baseline at comparable compression levels.",
}


@dataclass(frozen=True)
class Params(ExperimentParams):
    """Settings of the chapter (``lrs``: fixed ``"model/optimizer"`` LRs; missing pairs are
    tuned over :data:`LR_GRIDS` with ``n_tune_seeds`` seeds)."""

    models: tuple = ("uv", "udv")
    optimizers: tuple = OPTIMIZERS
    lrs: dict = field(default_factory=dict)
    source_classes: tuple = (0, 1, 2, 3, 4)
    pretrain_epochs: int = 15
    feat_dim: int = 64
    n_tune_seeds: int = 2
    n_seeds: int = 10
    epochs: int = 100
    batch_size: int = 128
    average_last: int = 3
    frozen_seeds: int = 10
    seed: int = 0
    PRESETS: ClassVar[dict[str, dict[str, Any]]] = {
        "quick": {"lrs": SELECTED_LRS, "n_seeds": 6, "epochs": 100, "pretrain_epochs": 10,
                  "optimizers": ("adam",), "frozen_seeds": 3, "authors_seeds": 6},
        "paper": {"lrs": {}, "n_seeds": 10, "epochs": 100, "pretrain_epochs": 15,
                  "optimizers": OPTIMIZERS, "frozen_seeds": 10, "authors_seeds": 10},
    }

    #: The authors' protocol: Adam at their constant backbone rate 1e-6 for their MNIST
    #: budget of 70 epochs (1 seed there; ``authors_seeds`` here, a comparison needs >= 6).
    authors: bool = True
    authors_seeds: int = 10
    authors_epochs: int = 70

    def validate(self) -> None:
        check_int("authors_seeds", self.authors_seeds, lo=1)
        check_int("authors_epochs", self.authors_epochs, lo=1)
        bad = [o for o in self.optimizers if o not in OPTIMIZERS]
        if bad or not self.optimizers:
            raise ValueError(f"optimizers must be among {OPTIMIZERS}, got {self.optimizers!r}")
        if set(self.models) != {"uv", "udv"}:
            raise ValueError(f"models must be ('uv', 'udv'), got {self.models!r}")
        for name in ("pretrain_epochs", "feat_dim", "n_tune_seeds", "n_seeds", "epochs",
                     "batch_size", "average_last", "frozen_seeds"):
            check_int(name, getattr(self, name), lo=1)
        check_int("seed", self.seed, lo=0)


@dataclass
class Result:
    params: Params
    features: Dataset
    width: int
    pretrain_acc: float
    runs: dict[tuple[str, str], RunSummary]
    sweep: pd.DataFrame
    frozen: dict[str, RunSummary] = field(default_factory=dict)
    authors: dict[str, RunSummary] = field(default_factory=dict)     # model -> run (Adam)

    def best(self, model: str) -> RunSummary:
        is_better, best = better("classification"), None
        for (m, _), r in self.runs.items():
            if m == model and (best is None or is_better(r.mean, best.mean)):
                best = r
        return best


def pretrained_features(p: Params):
    """Pretrain the backbone on the source classes; return the frozen convolutional
    features of all images (train/test split of :func:`~bmlab.nn.data.load_dataset`), the
    pretrained top layer (the trunk that is fine-tuned) and the source-task test accuracy."""
    ds = load_dataset("digits")
    src = torch.isin(ds.y_train, torch.tensor(p.source_classes))
    src_te = torch.isin(ds.y_test, torch.tensor(p.source_classes))
    with torch_threads(1):
        net = SmallCNN(10, feat_dim=p.feat_dim, generator=make_generator(seed_for(p.seed, 7)))
        res = train(net, (ds.x_train[src], ds.y_train[src]),
                    (ds.x_test[src_te], ds.y_test[src_te]), task="classification",
                    optimizer="adam", lr=1e-3, epochs=p.pretrain_epochs, device="cpu",
                    generator=make_generator(seed_for(p.seed, 8)))
        conv = net.features[:-2]           # everything below the top Linear + ReLU
        with torch.no_grad():
            ftr, fte = conv(ds.x_train), conv(ds.x_test)
    feats = Dataset("digits-conv", "classification", ftr, ds.y_train, fte, ds.y_test,
                    "frozen SmallCNN convolutional features of digits", dict(n_classes=10))
    return feats, net.features[-2], float(res.history["test_acc"][-1])


def run(params: Params, rng: np.random.Generator | None = None, progress=None) -> Result:
    """Pretrain, fine-tune the UV and UDV heads with the top backbone layer, and train the
    same heads on frozen features (torch draws from ``params.seed``; ``rng`` is unused)."""
    p = params
    feats, trunk, src_acc = pretrained_features(p)
    width = trunk.out_features
    common = dict(epochs=p.epochs, width=width, seed=p.seed, batch_size=p.batch_size,
                  average_last=p.average_last, init="trunc_normal")
    runs, sweeps = tune_and_run(feats, p.models, p.optimizers, lrs=dict(p.lrs),
                                lr_grid=LR_GRIDS, n_tune_seeds=p.n_tune_seeds,
                                n_seeds=p.n_seeds, prune="geometric", progress=progress,
                                trunk=trunk, **common)
    # Contrast: the same heads on frozen features (the top layer not trained), Adam.
    with torch.no_grad():
        frozen_ds = Dataset("digits-frozen", "classification", torch.relu(trunk(feats.x_train)),
                            feats.y_train, torch.relu(trunk(feats.x_test)), feats.y_test,
                            meta=dict(n_classes=10))
    opt = "adam" if "adam" in p.optimizers else p.optimizers[0]
    frozen = {m: run_seeds(frozen_ds, m, optimizer=opt, lr=runs[(m, opt)].lr,
                           n_seeds=p.frozen_seeds, prune=None, **common) for m in p.models}
    authors = {}
    if p.authors:
        for m in p.models:
            if progress:
                progress(f"authors' protocol: {m}")
            authors[m] = run_seeds(feats, m, optimizer="adam",
                                   lr=PROTOCOLS["authors"].lr("backbone"),
                                   n_seeds=p.authors_seeds, prune="geometric", trunk=trunk,
                                   protocol=AUTHORS, **{**common, "epochs": p.authors_epochs})
    return Result(p, feats, width, src_acc, runs, sweeps, frozen, authors)


def protocol_table(result: Result) -> pd.DataFrame:
    """Both protocols side by side (Adam): LR, budget, test accuracy and rank of each head."""
    rows = []
    for name, get in (("authors", lambda m: result.authors.get(m)),
                      ("tuned", lambda m: result.runs.get((m, "adam")))):
        for m in ("udv", "uv"):
            r = get(m)
            if r is None:
                continue
            rows.append({"protocol": name, "head": m.upper(),
                         "LR": f"{r.lr:g}" + (" const" if name == "authors" else " cosine"),
                         "epochs x seeds": f"{len(r.curves) - 1} x {len(r.metric)}",
                         "test accuracy (%)": pm(r.mean, r.std), "rank": round(r.mean_rank, 2)})
    return pd.DataFrame(rows)


def frozen_table(result: Result) -> pd.DataFrame:
    """Accuracy of the heads with the top backbone layer trained and with it frozen."""
    from .plots import LABELS

    opt = next(iter(result.frozen.values())).optimizer
    return pd.DataFrame([{"head": LABELS[m],
                          "top layer trained": pm(result.runs[(m, opt)].mean,
                                                  result.runs[(m, opt)].std),
                          "backbone frozen": pm(r.mean, r.std)}
                         for m, r in result.frozen.items()])


def accuracy_gap(result: Result) -> tuple[float, float, int]:
    """Mean and one-sided 95% upper bound of the per-seed gap best UV − best UDV (points)."""
    return upper_gap_bound(result.best("uv").metric, result.best("udv").metric)


def glue_values(result: Result) -> dict[str, Any]:
    u, v = result.best("udv"), result.best("uv")
    pc = prune_comparison(u, v)
    gap, ucb, _ = accuracy_gap(result)
    return {"pretrain-acc": 100 * result.pretrain_acc, "acc-udv": u.mean, "acc-uv": v.mean,
            "acc-gap": v.mean - u.mean, "acc-gap-ucb": ucb,
            "acc-sem": max(u.std / np.sqrt(u.ok.sum()), v.std / np.sqrt(v.ok.sum())),
            "acc-images": v.n_test / 100.0, "n-test": v.n_test,
            "rank-udv-best": u.mean_rank, "rank-uv-best": v.mean_rank,
            "prune-k": pc.k, "prune-udv": 100 * pc.udv_change, "prune-uv": 100 * pc.uv_change,
            "prune-uv-images": float(np.nanmedian(pc.uv_drops)),
            "frozen-udv": result.frozen["udv"].mean, "frozen-uv": result.frozen["uv"].mean,
            **({"auth-acc-udv": result.authors["udv"].mean,
                "auth-acc-uv": result.authors["uv"].mean,
                "auth-rank-udv": result.authors["udv"].mean_rank,
                "auth-rank-uv": result.authors["uv"].mean_rank} if result.authors else {})}


def low_widths(result: Result) -> list[int]:
    """The pruning widths below the number of classes (the exploratory pruning claim)."""
    meta = getattr(result.features, "meta", None) or {}
    n_classes = int(meta.get("n_classes", 10))
    return [k for k in result.best("udv").widths if k < n_classes]


def _authors_claims(result: Result) -> list[Claim]:
    """The paper's claims under the authors' protocol (pre-registered before its first run:
    the relations of the tuned claims, Adam at 1e-6 for 70 epochs)."""
    a = result.authors
    if not a:
        return []
    u, v = a["udv"], a["uv"]
    p = result.params
    pre = (f"Authors' protocol (Adam at a constant 1e-6, {p.authors_epochs} epochs, "
           f"{p.authors_seeds} seeds, projection after steps only): ")
    gap, ucb, n = upper_gap_bound(v.metric, u.metric)
    # Precondition (referee finding 2): an accuracy comparison says nothing when both heads
    # sit at chance; both must reach at least ABOVE_CHANCE % (chance: 10% on 10 classes).
    trained = at_least(min(u.mean, v.mean), ABOVE_CHANCE, scale=ABOVE_CHANCE)
    why = ("precondition (both heads at least 50% accurate; chance is 10%) added after the "
           "referee read the run: without it this claim held with margin 0.98 while both heads "
           "sat at chance (9.8% vs 9.7%). " + _AUTHORS_REASON)
    out = [claim(
        "udv.classification.authors.accuracy_within_1pt",
        pre + "both heads reach at least 50% test accuracy (well above chance; precondition, "
        "ours) and the UDV head's test accuracy is within 1 point of the UV head's: the "
        "one-sided 95% upper confidence bound of the per-seed gap (UV − UDV) is at most 1 "
        "point (bar and bound ours)",
        all_of(trained, qualitative(
            bool(ucb <= ACC_GAP), ours={"udv": u.mean, "uv": v.mean, "gap": gap,
                                        "upper_bound": ucb},
            margin=(ACC_GAP - ucb) / ACC_GAP if np.isfinite(ucb) else -1.0,
            samples=n, min_samples=6, relation="95% upper bound of mean(UV − UDV) ≤ 1 point")),
        kind="extension", protocol=AUTHORS, expected="fails", exploratory=True, reason=why)]
    out.append(claim(
        "udv.classification.authors.accuracy_matches",
        pre + "the UDV head 'matches the predictive accuracy of UV': both heads reach at least "
        "50% test accuracy (precondition, ours) and the mean per-seed gap (UV − UDV) is at most "
        "1 point (the paper calls a mean gap of about 1 point on CIFAR-100 'matches'; the "
        "reading of the bar is ours)",
        all_of(trained, at_most(gap, ACC_GAP, scale=ACC_GAP)),
        kind="paper", quote=QUOTES["accuracy"], protocol=AUTHORS, expected="fails",
        exploratory=True,
        reason="recorded as a paper claim after the referee noted that no protocol carried "
               "the paper's accuracy statement (finding 2); " + _AUTHORS_REASON))
    out.append(claim(
        "udv.classification.authors.rank_below_uv",
        pre + "the numerical rank of the UDV head's hidden layer is at least one neuron below "
        "the UV head's on average over paired seeds",
        rank_gap_check({"adam": u}, {"adam": v}), kind="paper", quote=QUOTES["rank"],
        protocol=AUTHORS, expected="fails", reason=_AUTHORS_REASON))
    ks = [k for k in u.widths if k < 10]
    m = len(ks)
    out.append(claim(
        "udv.classification.authors.prune_uv_loses_more_below_classes",
        pre + f"at every pruning width below the number of classes (k in {ks}) the UV head "
        f"loses more test images than the UDV head: per seed, UV's lost images summed over "
        f"those widths exceed UDV's by more than {PRUNE_IMAGES} per width; one-sided sign test "
        "over seeds, alpha = 0.05",
        compare(curve_drops(u, ks) + PRUNE_IMAGES * m - 0.5, curve_drops(v, ks),
                better="lower", min_samples=6),
        kind="paper", quote=QUOTES["prune"], protocol=AUTHORS, expected="fails",
        reason=_AUTHORS_REASON))
    return out


ABOVE_CHANCE = 50.0  # % test accuracy: the precondition of the accuracy claims (ours)

_AUTHORS_REASON = (
    "not reproduced under the authors' protocol on our substitute (set after the first run; "
    "pre-registered as holding): at their constant backbone rate of 1e-6 for 70 epochs (840 "
    "Adam steps here) neither head nor the top backbone layer moves measurably from its "
    "draw, both stay at chance accuracy (about 10% on 10 classes, quick profile), and both "
    "heads keep their full-rank initial factors. Their rate is set for fine-tuning large "
    "ImageNet backbones; our small CNN pretrained here with a fresh truncated-normal head "
    "(std 0.02) cannot test the claim at that rate")


def claims(result: Result) -> list[Claim]:
    """The chapter's pre-registered claims: the paper's under the authors' protocol (ids
    ``udv.classification.authors.*``) and the same relations under the tuned protocol as
    extensions (ids ``udv.classification.tuned.*``; the quick profile trains Adam only, and
    the statements name the optimizers of the run)."""
    u, v = result.best("udv"), result.best("uv")
    gap, ucb, n = accuracy_gap(result)
    out = _authors_claims(result)
    out += [claim(
        "udv.classification.tuned.accuracy_within_1pt",
        "Tuned protocol: the best UDV head's test accuracy is within 1 point of the best UV head's: the "
        "one-sided 95% upper confidence bound of the per-seed gap (UV − UDV, paired by seed) "
        "is at most 1 point (the 1-point bar and the confidence bound are ours; the paper "
        "calls a CIFAR-100 gap of about 1 point 'matches')",
        qualitative(bool(ucb <= ACC_GAP), ours={"udv": u.mean, "uv": v.mean, "gap": gap,
                                                "upper_bound": ucb},
                    margin=(ACC_GAP - ucb) / ACC_GAP if np.isfinite(ucb) else -1.0,
                    samples=n, min_samples=6,
                    relation="95% upper bound of mean(UV − UDV) ≤ 1 point"),
        kind="extension", protocol=PROTOCOL, expected="fails",
        reason="relabelled from paper to extension: the bar is ours and stricter than the "
               "paper's reading, which calls a mean gap of about 1 point (CIFAR-100) 'matches' "
               "and gives no margin (the chapter reports our mean gap beside it). Under our "
               "protocol (100 "
               "epochs, one LR per optimizer from a 3-point grid) UDV's accuracy is still "
               "climbing at the end (the head adds rank step by step), and the upper bound of "
               "the gap lies above 1 point")]
    opts = result.params.optimizers
    out.append(claim(
        "udv.classification.tuned.rank_below_uv",
        "Tuned protocol: for every optimizer of the run (" + ", ".join(opts) + "; the quick profile trains "
        "Adam only) the numerical rank of the UDV head's hidden layer (singular values above "
        "1e-3 of the largest) is at least one neuron below the UV head's on average over "
        "paired seeds",
        rank_gap_check({o: result.runs[("udv", o)] for o in opts},
                       {o: result.runs[("uv", o)] for o in opts}),
        kind="extension", protocol=PROTOCOL))
    pc = prune_comparison(u, v)
    out.append(claim(
        "udv.classification.tuned.prune_udv_within_1pct",
        f"Tuned protocol: SVD pruning of the UDV head to its numerical rank (k={pc.k} of {pc.width}) changes its "
        "mean test accuracy by at most 1% (relative). A self-check of the pruning: the dropped "
        "directions carry less than 1e-3 of the largest singular value",
        at_most(pc.udv_change, PRUNE_KEEP, scale=PRUNE_KEEP), kind="check", protocol=PROTOCOL))
    out.append(claim(
        "udv.classification.tuned.prune_uv_loses_more",
        f"Tuned protocol: pruned to the same k={pc.k}, the UV head loses at least {PRUNE_IMAGES} more test "
        f"images (of {v.n_test}) than the UDV head: per seed, UV's loss of correctly classified "
        f"test images exceeds UDV's by more than {PRUNE_IMAGES - 0.5:g}; one-sided sign test "
        "over seeds (paired by seed), alpha = 0.05",
        compare(pc.udv_drops + PRUNE_IMAGES - 0.5, pc.uv_drops, better="lower", min_samples=6),
        kind="extension", protocol=PROTOCOL, expected="fails",
        reason="our protocol tests a single width, UDV's largest rank over seeds, which lies "
               "above the 10 classes: there UV's trained U is a small full-rank initial part "
               "(truncated normal, std 0.02) plus a learned part of rank about the number of "
               "classes, and pruning to k removes only the former, so UV loses at most a test "
               "image or two, as UDV does; the paper's 'aggressive pruning' is tested by "
               "prune_uv_loses_more_below_classes"))
    ks = low_widths(result)
    m = len(ks)
    out.append(claim(
        "udv.classification.tuned.prune_uv_loses_more_below_classes",
        f"Tuned protocol: under aggressive pruning, at every width of the sweep below the number of classes "
        f"(k in {ks}), the UV head loses more test images than the UDV head: per seed, UV's "
        f"lost images summed over those widths exceed UDV's by more than {PRUNE_IMAGES} per "
        f"width (integer sums against the bar {PRUNE_IMAGES * m - 0.5:g}); one-sided sign test "
        "over seeds (paired by seed), alpha = 0.05",
        compare(curve_drops(u, ks) + PRUNE_IMAGES * m - 0.5, curve_drops(v, ks),
                better="lower", min_samples=6),
        kind="extension", protocol=PROTOCOL, exploratory=True,
        expected="fails",
        reason="added after prune_uv_loses_more was seen to fail at a width above the class "
               "count; the widths (below the class count) were chosen after that run, and it "
               "fails too: below 10 directions both heads lose about the same number of test "
               "images (a 10-class head needs about 10 directions whatever its factorization). "
               "The cause is our substitute task (10 classes, where the paper's gap is "
               "reported for CIFAR-100 and grows with task complexity, its B.1), not shown "
               "to be the paper's claim being wrong"))
    return out
