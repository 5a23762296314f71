"""Figures of the part "Gradient descent for asymmetric factorization" (paper 002)."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from ..plotting import color

__all__ = ["plot_seed_curves", "plot_eta_sweep"]


def plot_seed_curves(curves, *, delta, eta, sigma_d, ax=None, ref_anchor=None):
    r"""Relative loss against iterations, one thin line per seed, the median in bold, the
    target :math:`\delta`, and (optionally) the theorem's rate :math:`(1-\eta\sigma_d/2)^t`
    drawn from ``ref_anchor = (t0, f0)``."""
    ax = ax or plt.subplots()[1]
    grid = min((c[0] for c in curves), key=len)       # up to the first seed that stops
    t_end = max(c[0][-1] for c in curves)
    for it, f in curves:
        ax.semilogy(it, f, color=color("GD"), alpha=0.35, lw=0.8)
    F = np.array([np.interp(grid, it, np.log(f)) for it, f in curves])
    ax.semilogy(grid, np.exp(np.median(F, axis=0)), color="black", lw=1.8,
                label="median over seeds (until the first stops)")
    ax.axhline(delta, color="grey", ls=":", lw=1.2, label=rf"$\delta = 10^{{{np.log10(delta):.3g}}}$")
    if ref_anchor is not None:
        t0, f0 = ref_anchor
        t = np.linspace(t0, t_end, 50)
        ax.semilogy(t, f0 * (1 - eta * sigma_d / 2) ** (t - t0), color=color("UDV"), ls="--",
                    label=r"theorem's rate $(1-\eta\sigma_d/2)^{t}$")
    ax.set_xlabel("iteration $t$")
    ax.set_ylabel(r"$f(\mathbf{U}_t,\mathbf{V}_t)\,/\,f(0,0)$")
    ax.legend(loc="lower left")
    return ax


def plot_eta_sweep(df, *, flow_time=None, ax=None):
    r""":math:`\eta\,T` (iterations to :math:`\delta` times the step) against :math:`\eta`:
    median and range over seeds; crosses mark step sizes where some seed did not converge."""
    ax = ax or plt.subplots()[1]
    g = df.assign(time=df["eta"] * df["iterations"]).groupby("eta")
    med, lo, hi = g["time"].median(), g["time"].min(), g["time"].max()
    ok = g["status"].apply(lambda s: (s == "converged").mean())
    ax.fill_between(med.index, lo, hi, color=color("GD"), alpha=0.2, lw=0)
    ax.semilogx(med.index, med, "o-", color=color("GD"), label=r"GD: median $\eta\,T_\delta$ (band: range)")
    bad = ok[ok < 1]
    for eta, frac in bad.items():
        y = med.get(eta) if np.isfinite(med.get(eta, np.nan)) else np.nanmax(hi)
        ax.plot(eta, y, "x", color="black", ms=9)
        ax.annotate(f"{frac:.0%} converge", (eta, y), textcoords="offset points", xytext=(-8, -14),
                    fontsize="small", ha="right")
    if flow_time is not None:
        ax.axhline(flow_time, color="grey", ls="--", lw=1.2, label=r"$\eta\to0$ extrapolation")
    ax.set_xlabel(r"step size $\eta$")
    ax.set_ylabel(r"$\eta \times$ iterations to $\delta$")
    ax.legend(loc="upper left")
    return ax
