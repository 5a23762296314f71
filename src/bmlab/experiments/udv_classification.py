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

import numpy as np
import pandas as pd
import torch

from bmlab.experiments.udv_common import RunSummary, better, tune_and_run
from bmlab.nn.data import Dataset, load_dataset
from bmlab.nn.heads import SmallCNN
from bmlab.nn.training import OPTIMIZERS, make_generator, seed_for, torch_threads, train

#: LR grids of the head training: half-decade grids per optimizer family (the paper's CIFAR
#: LRs -- two per family -- are UNKNOWN, spec 001 §5.5).
LR_GRIDS = {"adam": (3e-3, 1e-2, 3e-2), "nadam": (3e-3, 1e-2, 3e-2),
            "sgd": (3e-2, 1e-1, 3e-1), "sgd-momentum": (3e-3, 1e-2, 3e-2)}


@dataclass
class ClassificationParams:
    """Parameters of :func:`run_classification` (``lrs``: fixed ``"model/optimizer"`` LRs;
    missing pairs are tuned over :data:`LR_GRIDS` with ``n_tune_seeds`` seeds)."""

    models: tuple[str, ...] = ("uv", "udv")
    optimizers: tuple[str, ...] = OPTIMIZERS
    lrs: dict[str, float] = field(default_factory=dict)
    source_classes: tuple[int, ...] = (0, 1, 2, 3, 4)
    pretrain_epochs: int = 15
    feat_dim: int = 64
    n_tune_seeds: int = 2
    n_seeds: int = 10
    epochs: int = 100
    batch_size: int = 128
    average_last: int = 3
    seed: int = 0


@dataclass
class ClassificationResult:
    params: ClassificationParams
    features: Dataset
    width: int
    pretrain_acc: float
    runs: dict[tuple[str, str], RunSummary]
    sweep: pd.DataFrame

    def best(self, model: str) -> RunSummary:
        is_better, best = better("classification"), None
        for (m, _), r in self.runs.items():
            if m == model and (best is None or is_better(r.mean, best.mean)):
                best = r
        return best


def pretrained_features(p: ClassificationParams):
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


def run_classification(p: ClassificationParams, progress=None) -> ClassificationResult:
    feats, trunk, src_acc = pretrained_features(p)
    width = trunk.out_features
    common = dict(epochs=p.epochs, width=width, seed=p.seed, batch_size=p.batch_size,
                  average_last=p.average_last, init="trunc_normal", trunk=trunk)
    runs, sweeps = tune_and_run(feats, p.models, p.optimizers, lrs=p.lrs, lr_grid=LR_GRIDS,
                                n_tune_seeds=p.n_tune_seeds, n_seeds=p.n_seeds,
                                prune="geometric", progress=progress, **common)
    return ClassificationResult(p, feats, width, src_acc, runs, sweeps)
