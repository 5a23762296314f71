"""LoRA against LoRA-UDV fine-tuning and energy pruning (paper 001 B.7, substituted offline).

The paper fine-tunes LLaMA-2-7B on WikiText-2 (downloads). Here: an MLP 64-128-128-10 is
pretrained on the digits 0-4 (source task), then every linear layer gets a rank-``r``
adapter and only the adapters are trained on the digits 5-9 (target task) with mini-batch
SGD (MBGD, effective batch 32, cosine schedule, no weight decay -- FOUND-code values).
Each adapter is then pruned at energy thresholds tau = 1.0, 0.95, ..., 0.05 and the target
test accuracy is recorded against the compression ratio (trainable parameters after /
before).
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from bmlab.nn.data import load_dataset
from bmlab.nn.lora import adapters, apply_lora, energy_pruned
from bmlab.nn.training import evaluate, make_generator, seed_for, torch_threads, train

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


@dataclass
class LoRAParams:
    rank: int = 16
    lr: dict[str, float] = field(default_factory=lambda: {"lora": 0.1, "lora-udv": 0.1})
    optimizer: str = "sgd"
    batch_size: int = 32
    epochs: int = 30
    pretrain_epochs: int = 30
    n_seeds: int = 5
    taus: tuple[float, ...] = TAUS
    seed: int = 0


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
class LoRAResult:
    params: LoRAParams
    source_acc: float
    zero_shot_acc: float
    runs: dict[str, LoRARun]


def _subset(ds, classes):
    tr = torch.isin(ds.y_train, torch.tensor(classes))
    te = torch.isin(ds.y_test, torch.tensor(classes))
    return (ds.x_train[tr], ds.y_train[tr]), (ds.x_test[te], ds.y_test[te])


def run_lora(p: LoRAParams, progress=None) -> LoRAResult:
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
        for method in ("lora", "lora-udv"):
            S, T = p.n_seeds, len(p.taus)
            acc, curves = np.zeros(S), np.zeros((p.epochs + 1, S))
            ratios, pacc = np.zeros((S, T)), np.zeros((S, T))
            ranks, spectra = np.zeros((S, 3, T), dtype=int), []
            for i in range(S):
                if progress:
                    progress(f"{method} seed {i}")
                model = copy.deepcopy(base)
                apply_lora(model, p.rank, udv=(method == "lora-udv"),
                           generator=make_generator(seed_for(p.seed, 22, i)))
                r = train(model, tgt_tr, tgt_te, task="classification", optimizer=p.optimizer,
                          lr=p.lr[method], epochs=p.epochs, batch_size=p.batch_size,
                          device="cpu", generator=make_generator(seed_for(p.seed, 23, i)))
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
    return LoRAResult(p, source_acc, float(zero_shot), runs)


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
