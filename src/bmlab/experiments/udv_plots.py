"""Figures and tables of the UDV-network chapters (one style: :mod:`bmlab.plotting`)."""
from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib import pyplot as plt

from bmlab.experiments.udv_common import RANK_REL, RunSummary, pm
from bmlab.nn.training import OPTIMIZER_LABELS
from bmlab.plotting import color

#: Display names of the models.
LABELS = {
    "uv": "UV", "udv": "UDV", "udv-s": "UDV-s", "udv-v1": "UDV-v1", "udv-v2": "UDV-v2",
    "udv-unconstrained": "UDV unconstrained", "ufv": "UFV", "uv-relu": "UV-ReLU",
    "relu-constrained": "ReLU(constrained)", "udv-relu": "UDV-ReLU", "udv-relu-s": "UDV-ReLU-s",
}


def label(run: RunSummary, wd: bool = True) -> str:
    """Legend text of a run (model, plus weight decay when there is one)."""
    name = LABELS.get(run.model, run.model)
    return f"{name} (λ={run.weight_decay:g})" if wd and run.weight_decay else name


def run_color(run: RunSummary) -> str:
    name = label(run)
    return color(name)


def plot_spectrum(ax, run: RunSummary, *, lw: float = 1.6, ls: str = "-",
                  name: str | None = None, c: str | None = None) -> None:
    """Normalised singular values σ_i/σ_1 of the hidden layer: median over seeds and the
    10–90% band; the numerical-rank threshold dotted."""
    ok = run.ok & np.all(np.isfinite(run.spectra), axis=1)
    if not ok.any():
        return
    s = run.spectra[ok] / run.spectra[ok][:, :1]
    s = np.maximum(s, 1e-12)
    i = np.arange(1, s.shape[1] + 1)
    c = run_color(run) if c is None else c
    ax.semilogy(i, np.median(s, axis=0), ls, color=c, lw=lw, label=name or label(run))
    if s.shape[0] > 1:
        ax.fill_between(i, np.quantile(s, 0.1, axis=0), np.quantile(s, 0.9, axis=0),
                        color=c, alpha=0.15, lw=0)
    ax.axhline(RANK_REL, color="0.4", ls=":", lw=1)
    ax.set_ylim(1e-8, 2)


def spectra_grid(results: dict, optimizers, models=("uv", "udv"), title_fmt="{ds}"):
    """Rows: datasets; columns: optimizers. ``results[ds].runs[(model, opt)]``."""
    names = list(results)
    fig, axes = plt.subplots(len(names), len(optimizers), squeeze=False,
                             figsize=(2.7 * len(optimizers), 2.5 * len(names)), sharey=True)
    for r, ds in enumerate(names):
        for c, opt in enumerate(optimizers):
            ax = axes[r, c]
            for m in models:
                run = results[ds].runs.get((m, opt))
                if run is not None:
                    plot_spectrum(ax, run)
                    ax.plot([], [], " ", label=f"  lr={run.lr:g}, rank {run.mean_rank:.1f}")
            ax.set_title(f"{title_fmt.format(ds=ds)} · {OPTIMIZER_LABELS[opt]}")
            ax.set_xlabel("index i")
            if c == 0:
                ax.set_ylabel(r"$\sigma_i / \sigma_1$")
            ax.legend(fontsize="x-small", loc="best")
    fig.tight_layout()
    return fig


def plot_pruning(ax, run: RunSummary, *, name: str | None = None, c: str | None = None) -> None:
    """Test metric against kept neurons after SVD pruning (mean ± std over seeds)."""
    if run.prune_metric is None:
        return
    ok = np.all(np.isfinite(run.prune_metric), axis=1)
    if not ok.any():
        return
    m = run.prune_metric[ok]
    k = np.array(run.widths)
    c = run_color(run) if c is None else c
    mu = m.mean(axis=0)
    ax.plot(k, mu, "o-", ms=3, color=c, label=name or f"{label(run)} ({OPTIMIZER_LABELS[run.optimizer]}, lr={run.lr:g})")
    if m.shape[0] > 1:
        sd = m.std(axis=0, ddof=1)
        ax.fill_between(k, mu - sd, mu + sd, color=c, alpha=0.2, lw=0)


def plot_curves(ax, run: RunSummary, *, name: str | None = None, c: str | None = None,
                ylog: bool = True) -> None:
    """Test metric per epoch (mean over seeds, 10–90% band)."""
    ok = run.ok
    if not ok.any():
        return
    h = run.curves[:, ok]
    e = np.arange(h.shape[0])
    c = run_color(run) if c is None else c
    ax.plot(e, np.median(h, axis=1), color=c, label=name or label(run))
    if h.shape[1] > 1:
        ax.fill_between(e, np.quantile(h, 0.1, axis=1), np.quantile(h, 0.9, axis=1),
                        color=c, alpha=0.15, lw=0)
    if ylog:
        ax.set_yscale("log")


def comparison_table(results: dict, optimizers, models=("uv", "udv"), digits=4) -> pd.DataFrame:
    """One row per (dataset, optimizer): per model the LR, metric mean ± std and mean rank."""
    rows = []
    for ds, res in results.items():
        for opt in optimizers:
            row = {"dataset": ds, "optimizer": OPTIMIZER_LABELS[opt]}
            for m in models:
                run = res.runs.get((m, opt))
                if run is None:
                    continue
                L = LABELS[m]
                row[f"{L} lr"] = f"{run.lr:g}"
                row[f"{L} test"] = pm(run.mean, run.std, digits)
                row[f"{L} rank"] = f"{run.mean_rank:.1f}"
            rows.append(row)
    return pd.DataFrame(rows)
