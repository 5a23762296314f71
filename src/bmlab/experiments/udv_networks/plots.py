"""Figures and tables of the UDV-network chapters (one style: :mod:`bmlab.plotting`)."""
from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib import pyplot as plt

from .common import RANK_REL, RunSummary, pm
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


# ----------------------------------------------------------------------------- chapter figures
def pruning_panels(pairs: dict, *, ylabel: str, yscale: str = "log", xscale: str = "linear",
                   xlabel: str = "kept hidden neurons k"):
    """One panel per entry ``title -> (uv_run, udv_run, k)``: test metric after SVD pruning
    of the best UV and UDV runs, with the UDV numerical rank ``k`` dashed."""
    fig, axes = plt.subplots(1, len(pairs), figsize=(5 * len(pairs) if len(pairs) > 1 else 6.4,
                                                     3.6 if len(pairs) > 1 else 3.8),
                             squeeze=False)
    for ax, (title, (uv, udv, k)) in zip(axes[0], pairs.items()):
        plot_pruning(ax, uv)
        plot_pruning(ax, udv)
        ax.axvline(k, color="0.4", ls="--", lw=1, label=f"UDV numerical rank, k={k}")
        ax.set_yscale(yscale)
        ax.set_xscale(xscale)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        if title:
            ax.set_title(title)
        ax.legend(fontsize="x-small")
    fig.tight_layout()
    return fig


def curve_panels(panels: dict, *, ylabel: str, ylog: bool = True, seed0: bool = False,
                 ylim=None, sharey: bool = False):
    """One panel per entry ``title -> [runs]``: test metric per epoch (median, 10–90% band;
    ``seed0``: also seed 0 dashed)."""
    fig, axes = plt.subplots(1, len(panels), figsize=(10, 3.4), squeeze=False, sharey=sharey)
    for ax, (title, runs) in zip(axes[0], panels.items()):
        for r in runs:
            name = f"{LABELS[r.model]} ({OPTIMIZER_LABELS[r.optimizer]}, lr={r.lr:g})"
            plot_curves(ax, r, ylog=ylog, name=name)
            if seed0:
                ax.plot(np.arange(r.curves.shape[0]), r.curves[:, 0], lw=0.8, ls="--",
                        color=ax.lines[-1].get_color(), label=f"{LABELS[r.model]}, seed 0")
        ax.set_title(title)
        ax.set_xlabel("epoch")
        if ylim is not None:
            ax.set_ylim(*ylim)
        ax.legend(fontsize="x-small", loc="lower right" if not ylog else "best")
    axes[0, 0].set_ylabel(ylabel)
    fig.tight_layout()
    return fig


def spectra_panels(panels: dict, *, dashed=(), lw: dict | None = None):
    """One panel per entry ``title -> [runs]``: normalised spectra with ranks in the legend."""
    fig, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 3.6), squeeze=False)
    for ax, (title, runs) in zip(axes[0], panels.items()):
        for r in runs:
            plot_spectrum(ax, r, name=f"{label(r)} (rank {r.mean_rank:.1f})",
                          ls="--" if r.model in dashed else "-")
        ax.set_title(title)
        ax.set_xlabel("index i")
        ax.set_ylabel(r"$\sigma_i/\sigma_1$")
        ax.legend(fontsize="x-small")
    fig.tight_layout()
    return fig


def lora_curves(runs: dict, names: dict):
    """Target test accuracy per epoch of each fine-tuning method (median, range over seeds)."""
    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    for m, r in runs.items():
        e = np.arange(r.curves.shape[0])
        ax.plot(e, np.nanmedian(r.curves, axis=1), color=color(names[m]), label=names[m])
        ax.fill_between(e, np.nanmin(r.curves, axis=1), np.nanmax(r.curves, axis=1),
                        color=color(names[m]), alpha=0.15, lw=0)
    ax.set_xlabel("epoch")
    ax.set_ylabel("target test accuracy (%)")
    ax.legend()
    return fig


def lora_pruning(runs: dict, names: dict):
    """Pruned accuracy against compression ratio (mean ± std over seeds, log x)."""
    fig, ax = plt.subplots(figsize=(6.4, 3.8))
    for m, r in runs.items():
        x, y = np.nanmean(r.ratios, axis=0), np.nanmean(r.pruned_acc, axis=0)
        sd = np.nanstd(r.pruned_acc, axis=0)
        ax.plot(x, y, "o-", ms=3, color=color(names[m]), label=names[m])
        ax.fill_between(x, y - sd, y + sd, color=color(names[m]), alpha=0.2, lw=0)
    ax.set_xscale("log")
    ax.set_xlabel("compression ratio (trainable adapter parameters after / before)")
    ax.set_ylabel("target test accuracy (%)")
    ax.legend()
    return fig


def weight_decay_grid(datasets: dict):
    """Rows: datasets; columns: the weight-decayed models; spectra per strength against UDV
    (the selected strength dashed). ``datasets[name]`` is a ``bias.DatasetResult``."""
    names = list(datasets)
    first = datasets[names[0]]
    fig, axes = plt.subplots(len(names), len(first.wd_models),
                             figsize=(5 * len(first.wd_models), 3.5 * len(names)),
                             squeeze=False)
    for i, ds in enumerate(names):
        res = datasets[ds]
        ref = res.run("udv")
        colors = plt.cm.viridis(np.linspace(0.1, 0.9, len(res.wd_grid)))
        for j, m in enumerate(res.wd_models):
            ax = axes[i, j]
            plot_spectrum(ax, ref, name=f"UDV (rank {ref.mean_rank:.1f})", lw=2.2)
            for wd, col in zip(res.wd_grid, colors):
                r = res.run(m, wd)
                sel = " (selected)" if wd == res.selected[m] else ""
                plot_spectrum(ax, r, c=col, ls="--" if sel else "-",
                              name=f"λ={wd:g}: MSE {r.mean / ref.mean:.2f}×UDV, "
                                   f"rank {r.mean_rank:.1f}{sel}")
            ax.set_title(f"{ds} · {LABELS[m]} with weight decay")
            ax.set_xlabel("index i")
            ax.set_ylabel(r"$\sigma_i/\sigma_1$")
            ax.legend(fontsize="x-small")
    fig.tight_layout()
    return fig
