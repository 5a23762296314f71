"""Chapter ``udv-networks/lora-udv``: LoRA against LoRA-UDV fine-tuning and energy pruning
(paper 001 B.7, substituted offline).

The paper fine-tunes LLaMA-2-7B on WikiText-2 (downloads). Here: an MLP 64-128-128-10 is
pretrained on the digits 0-4 (source task), then every linear layer gets a rank-``r``
adapter and only the adapters are trained on the digits 5-9 (target task), under two
protocols: the authors' (SGD at 1e-3, projection every 4th step; :data:`AUTHORS`), which
decides the paper's claims, and a tuned one (Adam at pilot LRs; :data:`PROTOCOL`), whose
claims are extensions ``udv.lora.tuned.*``. All seeds share one pretrained base model (seeds vary
the adapters' initialisation and the mini-batches), so they are not independent draws of
the whole pipeline.
Each adapter is then pruned at energy thresholds tau = 1.0, 0.95, ..., 0.05 and the target
test accuracy is recorded against the compression ratio (trainable parameters after /
before).
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import torch
from torch import nn

from bmlab.claims import Check, Claim, all_of, claim, compare, qualitative
from bmlab.nn.data import load_dataset
from bmlab.nn.lora import adapters, apply_lora, energy_pruned
from bmlab.nn.training import evaluate, make_generator, seed_for, torch_threads, train
from bmlab.validation import check_choice, check_int

from ..base import ExperimentParams
from .common import pm, upper_gap_bound

__all__ = ["Params", "Result", "LoRARun", "run", "claims", "table", "glue_values",
           "min_ratio_within", "mlp", "TAUS", "QUOTES", "NAMES"]

TAUS = tuple(np.round(np.arange(1.0, 0.0, -0.05), 2))


def mlp(generator: torch.Generator, hidden: int = 128) -> nn.Sequential:
    """The pretrained model: 64-hidden-hidden-10 with ReLUs (default-style uniform init)."""
    net = nn.Sequential(nn.Flatten(), nn.Linear(64, hidden), nn.ReLU(),
                        nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, 10))
    with torch.no_grad():
        for m in net:
            if isinstance(m, nn.Linear):
                b = 1.0 / m.in_features ** 0.5
                m.weight.uniform_(-b, b, generator=generator)
                m.bias.uniform_(-b, b, generator=generator)
    return net


PROTOCOL = "tuned"
"""The tuned protocol: Adam (batch 32, cosine, no weight decay) at LRs from pilot runs,
projection after every step and at initialisation. Its claims are extensions
(ids ``udv.lora.tuned.*``)."""
AUTHORS = "authors"
"""The authors' protocol as far as it runs here (methods ``lora-authors`` and
``lora-udv-authors``): SGD at 1e-3 (:data:`AUTHORS_LR`), cosine schedule (per epoch, no
warm-up), batch 32 = their 8 x accumulation 4 (the same mean gradient: equal micro-batches
and no batch statistics in this model; accumulation itself is not implemented), projection
after every 4th optimizer step only, none at initialisation, fp32 on the CPU instead of
their fp16. The paper's claims (``udv.lora.*`` without ``tuned``) are decided under it."""
AUTHORS_LR = 1e-3
TRAINED = 50.0
"""% target accuracy both methods must reach (mean over seeds; chance is 20% on five
classes) before an authors'-protocol claim compares them (precondition, ours): below it the
comparison would be between adapters that did not learn the task."""
SCHEDULE = "authors-schedule"
"""Protocol label of the runs with the authors' projection schedule (every 4th optimizer
step), otherwise the tuned protocol."""
SLIGHT = 2.0          # "slightly lower": LoRA-UDV at most 2 accuracy points below LoRA (ours)
NAMES = {"lora": "LoRA", "lora-udv": "LoRA-UDV", "lora-udv-every4": "LoRA-UDV, every 4th step",
         "lora-authors": "LoRA (authors' SGD)", "lora-udv-authors": "LoRA-UDV (authors' SGD)"}
#: Method -> (UDV adapter, project after every k-th optimizer step, key of ``Params.lr`` or
#: None for the authors' SGD at :data:`AUTHORS_LR`).
#: ``lora-udv-every4`` is the authors' schedule: their projection callback runs in
#: ``on_step_end`` under ``global_step % 4 == 0`` (FOUND-code, ``UDV_LORA.ipynb``).
METHODS = {"lora": (False, 1, "lora"), "lora-udv": (True, 1, "lora-udv"),
           "lora-udv-every4": (True, 4, "lora-udv"),
           "lora-authors": (False, 4, None), "lora-udv-authors": (True, 4, None)}
QUOTES = {
    "finetune": "Since the hard constraints slower the convergence, and its fine-tuning "
                "performance is slightly lower than that of the original LoRA structure "
                "within the same number of epochs, as shown in Figure SM31 shown.",
    "prune": "However, the pruning results (see Figure SM32) demonstrate that the LoRA-based "
             "UDV is significantly more robust to high compression ratios.",
}


@dataclass(frozen=True)
class Params(ExperimentParams):
    """Settings of the chapter (``lr``: per method)."""

    rank: int = 16
    lr: dict = field(default_factory=lambda: {"lora": 1e-2, "lora-udv": 3e-2})
    optimizer: str = "adam"
    batch_size: int = 32
    epochs: int = 30
    pretrain_epochs: int = 30
    n_seeds: int = 8
    taus: tuple = TAUS
    seed: int = 0
    methods: tuple = ("lora", "lora-udv", "lora-udv-every4", "lora-authors", "lora-udv-authors")
    PRESETS: ClassVar[dict[str, dict[str, Any]]] = {
        "quick": {"n_seeds": 6, "epochs": 30, "pretrain_epochs": 30},
        "paper": {"n_seeds": 8, "epochs": 30, "pretrain_epochs": 30},
    }

    def validate(self) -> None:
        for name in ("rank", "batch_size", "epochs", "pretrain_epochs", "n_seeds"):
            check_int(name, getattr(self, name), lo=1)
        check_int("seed", self.seed, lo=0)
        check_choice("optimizer", self.optimizer, ("adam", "nadam", "sgd", "sgd-momentum"))
        if set(self.lr) != {"lora", "lora-udv"}:
            raise ValueError(f"lr needs exactly the keys 'lora' and 'lora-udv', got {self.lr!r}")
        bad = [m for m in self.methods if m not in METHODS]
        if bad or not {"lora", "lora-udv"} <= set(self.methods):
            raise ValueError(f"methods must include 'lora' and 'lora-udv' and be among "
                             f"{sorted(METHODS)}, got {self.methods!r}")
        if not self.taus or self.taus[0] != 1.0:
            raise ValueError("taus must start at 1.0 (no energy dropped: the reference)")


@dataclass
class LoRARun:
    method: str
    acc: np.ndarray            # S, unpruned target test accuracy (%) averaged over last 3
    curves: np.ndarray         # epochs+1 x S, target test accuracy (%)
    ratios: np.ndarray         # S x len(taus), compression ratio
    pruned_acc: np.ndarray     # S x len(taus)
    ranks: np.ndarray          # S x n_layers x len(taus), kept rank per adapter
    spectra: list              # per seed, per layer singular values


@dataclass
class Result:
    params: Params
    source_acc: float
    zero_shot_acc: float
    runs: dict[str, LoRARun]
    #: Unused since the authors' protocol runs over all seeds (methods ``*-authors``); kept
    #: so that older pickled results load.
    sgd_probe: dict = field(default_factory=dict)


def _subset(ds, classes):
    tr = torch.isin(ds.y_train, torch.tensor(classes))
    te = torch.isin(ds.y_test, torch.tensor(classes))
    return (ds.x_train[tr], ds.y_train[tr]), (ds.x_test[te], ds.y_test[te])


def run(params: Params, rng: np.random.Generator | None = None, progress=None) -> "Result":
    """Pretrain, fine-tune both adapters, prune (torch draws from ``params.seed``)."""
    p = params
    ds = load_dataset("digits")
    src_tr, src_te = _subset(ds, (0, 1, 2, 3, 4))
    tgt_tr, tgt_te = _subset(ds, (5, 6, 7, 8, 9))
    with torch_threads(1):
        base = mlp(make_generator(seed_for(p.seed, 20)))
        res = train(base, src_tr, src_te, task="classification", optimizer="adam", lr=1e-3,
                    epochs=p.pretrain_epochs, batch_size=64, device="cpu",
                    generator=make_generator(seed_for(p.seed, 21)))
        source_acc = float(res.history["test_acc"][-1])
        zero_shot = evaluate(base, *tgt_te, "classification")[1]
        runs = {}
        for method in p.methods:
            udv, every, lr_key = METHODS[method]
            S, T = p.n_seeds, len(p.taus)
            acc, curves = np.zeros(S), np.zeros((p.epochs + 1, S))
            ratios, pacc = np.zeros((S, T)), np.zeros((S, T))
            ranks, spectra = np.zeros((S, 3, T), dtype=int), []
            for i in range(S):
                if progress:
                    progress(f"{method} seed {i}")
                model = copy.deepcopy(base)
                apply_lora(model, p.rank, udv=udv,
                           generator=make_generator(seed_for(p.seed, 22, i)))
                authors = lr_key is None
                r = train(model, tgt_tr, tgt_te, task="classification",
                          optimizer="sgd" if authors else p.optimizer,
                          lr=AUTHORS_LR if authors else p.lr[lr_key], epochs=p.epochs,
                          batch_size=32 if authors else p.batch_size,
                          device="cpu", generator=make_generator(seed_for(p.seed, 23, i)),
                          project_every=every, project_init=(every == 1))
                curves[:, i] = 100 * r.history["test_acc"]
                acc[i] = np.mean(curves[-3:, i])
                spectra.append([a.spectrum() for a in adapters(model)])
                if r.status == "diverged" or not np.all(np.isfinite(spectra[-1][0])):
                    acc[i] = ratios[i] = pacc[i] = np.nan
                    continue
                for j, tau in enumerate(p.taus):
                    pruned, ratio = energy_pruned(model, float(tau))
                    ratios[i, j] = ratio
                    pacc[i, j] = 100 * evaluate(pruned, *tgt_te, "classification")[1]
                    ranks[i, :, j] = [a.rank for a in adapters(pruned)]
            runs[method] = LoRARun(method, acc, curves, ratios, pacc, ranks, spectra)
    return Result(p, source_acc, float(zero_shot), runs)


def min_ratio_within(run: LoRARun, rel: float = 0.01) -> np.ndarray:
    """Per seed: the smallest compression ratio whose pruned accuracy stays within ``rel``
    (relative) of the accuracy at tau = 1 (no energy dropped)."""
    out = np.full(run.pruned_acc.shape[0], np.nan)
    for i in range(out.size):
        ref = run.pruned_acc[i, 0]
        if not np.isfinite(ref):
            continue
        ok = run.pruned_acc[i] >= (1 - rel) * ref
        out[i] = run.ratios[i][ok].min()
    return out


def table(result: Result) -> pd.DataFrame:
    rows = []
    for m, r in result.runs.items():
        mr = min_ratio_within(r)
        proto = AUTHORS if METHODS[m][2] is None else (SCHEDULE if m.endswith("every4")
                                                        else PROTOCOL)
        rows.append({"protocol": proto, "method": NAMES[m],
                     "target accuracy (%)": pm(np.nanmean(r.acc), np.nanstd(r.acc, ddof=1)),
                     "smallest ratio within 1%": pm(np.nanmean(mr), np.nanstd(mr, ddof=1), 3)})
    return pd.DataFrame(rows)


def glue_values(result: Result) -> dict[str, Any]:
    acc = {m: float(np.nanmean(r.acc)) for m, r in result.runs.items()}
    mr = {m: float(np.nanmean(min_ratio_within(r))) for m, r in result.runs.items()}
    gap, ucb, _ = upper_gap_bound(result.runs["lora"].acc, result.runs["lora-udv"].acc)
    out = {"source-acc": 100 * result.source_acc, "zero-shot": 100 * result.zero_shot_acc,
           "acc-lora": acc["lora"], "acc-lora-udv": acc["lora-udv"], "acc-gap": gap,
           "acc-gap-ucb": ucb, "ratio-lora": mr["lora"], "ratio-lora-udv": mr["lora-udv"]}
    if "lora-udv-authors" in result.runs:
        for m in ("lora-authors", "lora-udv-authors"):
            out[f"acc-{m}"] = acc[m]
            out[f"acc-{m}-epoch1"] = float(np.nanmean(result.runs[m].curves[1]))
    if "lora-udv-every4" in result.runs:
        out["acc-lora-udv-every4"] = acc["lora-udv-every4"]
        out["ratio-lora-udv-every4"] = mr["lora-udv-every4"]
        c = every4_compare(result)
        out["every4-compare"] = (f"{c.relation.replace('≤ α', '')}(median area under the "
                                 f"pruning curve {c.ours[0]:.3f} every 4th step vs "
                                 f"{c.ours[1]:.3f} every step; "
                                 f"{'holds' if c.holds else 'fails'} at α = 0.05)")
    return out


def retained_area(run: LoRARun) -> np.ndarray:
    """Per seed: the area under the pruning curve, ∫_0^1 a(x) dx, where a(x) is the best
    accuracy relative to the unpruned one among the thresholds whose compression ratio is at
    most x (0 below the smallest ratio). Higher: accuracy kept at stronger compression. A
    continuous per-seed statistic, so paired seeds rarely tie (the smallest ratio within 1%
    takes a few grid values and ties often)."""
    out = np.full(run.ratios.shape[0], np.nan)
    for i in range(out.size):
        ref, x, a = run.pruned_acc[i, 0], run.ratios[i], run.pruned_acc[i]
        if not (np.isfinite(ref) and ref > 0 and np.all(np.isfinite(x))):
            continue
        grid = np.unique(np.concatenate([x, [1.0]]))
        best = [max([a[j] / ref for j in range(x.size) if x[j] <= g] or [0.0]) for g in grid]
        out[i] = float(np.sum(np.diff(grid) * np.asarray(best[:-1])))
    return out


def every4_compare(result: Result):
    """Direct paired comparison of the two projection schedules of LoRA-UDV: per seed, the
    area under the pruning curve (:func:`retained_area`), every 4th step against every step
    (seeds share the adapters' draws and batches); one-sided sign test, higher is more
    robust to compression."""
    return compare(retained_area(result.runs["lora-udv-every4"]),
                   retained_area(result.runs["lora-udv"]), better="higher", min_samples=5)


def _gated(check: Check, lo: LoRARun, ud: LoRARun) -> Check:
    """``check``, after the precondition that both methods reach :data:`TRAINED` % target
    accuracy (mean over seeds). Unmet, the claim fails with margin (lowest mean − TRAINED) /
    TRAINED, counted over the seeds (the comparison itself would tie on untrained adapters)."""
    low = float(min(np.nanmean(lo.acc), np.nanmean(ud.acc)))
    n = int(min(np.isfinite(lo.acc).sum(), np.isfinite(ud.acc).sum()))
    pre = qualitative(bool(low >= TRAINED), ours={"lowest mean accuracy": low},
                      margin=(low - TRAINED) / TRAINED, samples=n, min_samples=5,
                      relation=f"both methods ≥ {TRAINED:.0f}% target accuracy (precondition)")
    return all_of(pre, check) if pre.holds else pre


def _pair_claims(lo: LoRARun, ud: LoRARun, protocol: str) -> list[Claim]:
    """The three claims of paper 001 B.7 for one protocol: under the authors' protocol the
    paper claims ``udv.lora.*`` (gated by :func:`_gated`), under the tuned one the extensions
    ``udv.lora.tuned.*``."""
    authors = protocol == AUTHORS
    pre = "udv.lora." if authors else "udv.lora.tuned."
    kind = "paper" if authors else "extension"
    gate = (lambda c: _gated(c, lo, ud)) if authors else (lambda c: c)
    acc_lo, acc_ud = float(np.nanmean(lo.acc)), float(np.nanmean(ud.acc))
    how = ("Authors' protocol (SGD at 1e-3, cosine, batch 32 = 8 x accumulation 4, projection "
           "every 4th optimizer step, fp32); precondition (ours): both methods reach at least "
           f"{TRAINED:.0f}% target accuracy. " if authors else
           "Tuned protocol (Adam at pilot LRs, cosine, projection every step). ")
    untrained = ("pre-registered from the one-seed probe of the authors' optimizer (0.0% target "
                 "accuracy after 30 epochs): the authors' optimizer does not move B = 0 within "
                 "our budget on the substitute task (SGD at 1e-3 is set for a 7B model's "
                 "adapters), so the precondition fails")
    out = [claim(
        pre + "more_compressible",
        how + "LoRA-UDV keeps its accuracy (within 1%, relative, of its own unpruned accuracy) "
        "down to a smaller compression ratio than LoRA under energy-threshold pruning: per "
        "seed, the smallest ratio within 1% of the unpruned accuracy; one-sided sign test over "
        "seeds (ties dropped), alpha = 0.05. Caveats: each method is measured against its own "
        f"unpruned accuracy ({acc_ud:.1f}% LoRA-UDV vs {acc_lo:.1f}% LoRA in this run); all "
        "seeds share one pretrained base",
        gate(compare(min_ratio_within(ud), min_ratio_within(lo), better="lower",
                     min_samples=5)),
        kind=kind, quote=QUOTES["prune"], protocol=protocol,
        **({"expected": "fails", "reason": untrained} if authors else {}))]
    out.append(claim(
        pre + "finetune_lower",
        how + "After the same 30 epochs LoRA-UDV's target accuracy is below LoRA's: one-sided "
        "sign test over seeds (paired; all seeds share one pretrained base), alpha = 0.05",
        gate(compare(lo.acc, ud.acc, better="higher", min_samples=5)),
        kind=kind, quote=QUOTES["finetune"], protocol=protocol,
        **({"expected": "fails", "reason": untrained} if authors else dict(
            exploratory=True,
            reason="set up after seeing runs: the two LRs were picked in pilot runs while the "
                   "chapter was written, and the pretraining was lengthened after shorter "
                   "pretraining had reversed the sign of this comparison"))))
    gap, ucb, n = upper_gap_bound(lo.acc, ud.acc)
    out.append(claim(
        pre + "finetune_comparable",
        how + "After the same 30 epochs LoRA-UDV's target accuracy is at most 2 points below "
        "LoRA's ('slightly lower'; the 2 points are ours): the one-sided 95% upper confidence "
        "bound of the per-seed gap is at most 2 points",
        gate(qualitative(bool(ucb <= SLIGHT), ours={"lora": acc_lo, "lora-udv": acc_ud,
                                                    "gap": gap, "upper_bound": ucb},
                         margin=(SLIGHT - ucb) / SLIGHT if np.isfinite(ucb) else -1.0,
                         samples=n, min_samples=5,
                         relation="95% upper bound of mean(LoRA − LoRA-UDV) ≤ 2")),
        kind=kind, quote=QUOTES["finetune"], protocol=protocol, expected="fails",
        reason=untrained if authors else
        "our protocol, not the scale: Adam instead of the paper's MBGD, and LRs (3e-2 "
        "for LoRA-UDV, 1e-2 for LoRA) picked from a 3-point pilot; under it LoRA-UDV "
        "trails LoRA by 2-3 points after 30 epochs, with an upper bound above 2"))
    return out


def claims(result: Result) -> list[Claim]:
    """Pre-registered claims (both profiles train the paper's 30 epochs; seeds paired; all
    seeds share one pretrained base, so the sign tests speak for this base only). The paper's
    claims are decided under the authors' protocol (when its runs are present), the tuned
    protocol's results are extensions beside them."""
    lo, ud = result.runs["lora"], result.runs["lora-udv"]
    out = []
    if "lora-authors" in result.runs and "lora-udv-authors" in result.runs:
        out += _pair_claims(result.runs["lora-authors"], result.runs["lora-udv-authors"], AUTHORS)
    out += _pair_claims(lo, ud, PROTOCOL)
    acc_lo = float(np.nanmean(lo.acc))
    e4 = result.runs.get("lora-udv-every4")
    if e4 is not None:
        acc_e4 = float(np.nanmean(e4.acc))
        out.append(claim(
            "udv.lora.every4.more_compressible",
            "With the authors' projection schedule (LoRA-UDV projected after every 4th "
            "optimizer step only, their on_step_end callback; otherwise the same settings), "
            "LoRA-UDV keeps its accuracy (within 1%, relative, of its own unpruned accuracy) "
            "down to a smaller compression ratio than LoRA: per seed, the smallest ratio "
            "within 1%; one-sided sign test over seeds (ties dropped), alpha = 0.05. "
            f"Unpruned accuracy {acc_e4:.1f}% vs LoRA's {acc_lo:.1f}%; all seeds share one "
            "pretrained base. Pre-registered with the every-step claim's relation",
            compare(min_ratio_within(e4), min_ratio_within(lo), better="lower", min_samples=5),
            kind="extension", quote=QUOTES["prune"], protocol=SCHEDULE))
        out.append(claim(
            "udv.lora.every4.vs_every_step",
            "LoRA-UDV with the authors' projection schedule (every 4th optimizer step) is more "
            "robust to compression than with projection after every step: per seed (paired: "
            "same adapter draws and batches), the area under its pruning curve (accuracy "
            "relative to its own unpruned accuracy against compression ratio, best at or below "
            "each ratio) is higher; one-sided sign test over seeds (ties dropped), alpha = "
            "0.05. Which schedule the paper's pruning result needs is read off this direct "
            "comparison",
            every4_compare(result), kind="extension", protocol=SCHEDULE, exploratory=True,
            reason="added after the referee's finding 4 (the schedule question had been read "
                   "off the difference of two sign tests); its direction was chosen after "
                   "seeing the mean smallest ratios within 1% of one quick run (0.123 every 4th "
                   "step vs 0.153 every step), and its statistic after a first version on "
                   "those smallest ratios tied on 1-2 of 6 seeds (too few untied pairs); "
                   "the area statistic was chosen after that tie, and it holds on 6 of 6 "
                   "seeds in the quick run under both numerics settings (one flip decides; "
                   "the paper profile's 8 seeds not yet seen)"))
    return out
