r"""Figures of the part "Exact penalties" (paper 000): one function per figure, each returning a
matplotlib figure (the notebook saves it with ``ch.savefig``)."""
from __future__ import annotations

import numpy as np
import pandas as pd

from .common import FAMILIES, summarize_family

__all__ = ["plot_strategies", "plot_sweeps", "plot_conditioning", "plot_biconvexity",
           "plot_theorem1", "plot_newton_points", "plot_corollary1", "plot_corollary2",
           "plot_algorithms", "plot_clustering"]


def plot_clustering(df: pd.DataFrame, M: np.ndarray, labels, X: np.ndarray):
    r"""(a) accuracy per method and start; (b) the similarity matrix and
    :math:`XX^\top` of the best sNMF run, rows sorted by class."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(13, 3.9), gridspec_kw={"width_ratios": [1.3, 1, 1]})
    methods = list(dict.fromkeys(df["method"]))
    for i, m in enumerate(methods):
        d = df[df["method"] == m]
        axes[0].scatter(np.full(len(d), i), d["accuracy"], s=30)
    axes[0].set_xticks(range(len(methods)), methods, rotation=25, ha="right", fontsize="small")
    axes[0].set(ylabel="clustering accuracy", title="(a) accuracy per start", ylim=(0, 1.02))
    order = np.argsort(labels, kind="stable")
    axes[1].imshow(M[np.ix_(order, order)], cmap="viridis")
    axes[1].set(title="(b) similarity $M$ (sorted by digit)", xticks=[], yticks=[])
    Z = X @ X.T
    axes[2].imshow(Z[np.ix_(order, order)], cmap="viridis")
    axes[2].set(title=r"(c) $XX^\top$, best sNMF run", xticks=[], yticks=[])
    fig.tight_layout()
    return fig


def plot_algorithms(results: dict, labels, *, title: str = ""):
    r""":math:`\|X^k - Y^k\|_F` (left) and the symmetric objective at :math:`(X^k + Y^k)/2` minus
    the best final value (right) against the iteration, log scales."""
    import matplotlib.pyplot as plt

    from ...plotting import color

    fig, axes = plt.subplots(1, 2, figsize=(12, 4.0))
    hbest = min(float(np.min(results[k].history["sym_value"])) for k in labels)
    n_admm = 0
    for k in labels:
        h = results[k].history
        name = k.split(" ", 1)[1] if k.startswith(("AM ", "HAM ")) else "nADMM"
        base = name.split(" ")[0]
        ls = "--" if k.startswith("HAM") else (":" if k.startswith("nADMM") else "-")
        col = color(base) if base in ("AMagd", "AMadp", "AMpca", "AMour") else color("fixed")
        if base == "nADMM":
            col = ["#56B4E9", "#000000", "#999999", "#F0E442"][n_admm % 4]
            n_admm += 1
        axes[0].plot(h["iter"], np.maximum(h["gap"], 1e-16), ls=ls, color=col, label=k)
        axes[1].plot(h["iter"], np.maximum(np.asarray(h["sym_value"]) - hbest, 1e-16), ls=ls, color=col)
    axes[0].set(xscale="log", yscale="log", xlabel="iteration (sweep)", ylabel=r"$\|X^k - Y^k\|_F$",
                title=title)
    axes[1].set(xscale="log", yscale="log", xlabel="iteration (sweep)",
                ylabel=r"$h((X^k + Y^k)/2) - h_{\rm best}$")
    axes[0].legend(fontsize="xx-small", ncol=2)
    fig.tight_layout()
    return fig


def plot_theorem1(runs: dict[str, pd.DataFrame]):
    r"""Top row, one panel per family: bound (10) at each converged limit against the
    :math:`\lambda` of its run (log–log), asymmetric limits in orange and symmetric ones in blue,
    with the line :math:`b = \lambda`; Theorem 1 puts every asymmetric limit on or above it.
    Bottom row: the share of runs ending asymmetric against :math:`\lambda` divided by the
    supremum of (10) over the limits found (``bound_sup`` of :func:`summarize_family`)."""
    import matplotlib.pyplot as plt

    fams = list(runs)
    fig, axes = plt.subplots(2, len(fams), figsize=(3.4 * len(fams), 6.4), squeeze=False)
    for j, fam in enumerate(fams):
        df = runs[fam]
        c = df[df["status"] == "converged"]
        ax = axes[0, j]
        sym, asy = c[~c["asym"]], c[c["asym"]]
        floor = 1e-6
        ax.scatter(sym["lam"], np.maximum(sym["bound"], floor), s=9, color="#0072B2", alpha=0.6,
                   label="symmetric limit")
        ax.scatter(asy["lam"], np.maximum(asy["bound"], floor), s=14, color="#D55E00", marker="x",
                   label="asymmetric limit")
        lo, hi = df["lam"].min(), df["lam"].max()
        ax.plot([lo, hi], [lo, hi], "k--", lw=1, label=r"$b = \lambda$")
        ax.set(xscale="log", yscale="log", xlabel=r"$\lambda$",
               title=fam)
        ax.set_ylim(bottom=floor / 2)
        if j == 0:
            ax.set_ylabel(r"bound (10) $b$ at the limit (floored at $10^{-6}$)")
            ax.legend(fontsize="x-small")
        ax = axes[1, j]
        summ = summarize_family(df)
        ref = summ["bound_sup"] if summ["n_asym"] > 0 else np.nan
        share = df.groupby("lam").apply(
            lambda d: ((d["status"] == "converged") & d["asym"]).mean(), include_groups=False)
        x = share.index / ref if np.isfinite(ref) else share.index
        ax.plot(x, share.values, marker="o", ms=3)
        if np.isfinite(ref):
            ax.axvline(1.0, color="k", ls=":", lw=1)
            ax.set_xlabel(r"$\lambda$ / sup of bound (10) over the limits")
        else:
            ax.set_xlabel(r"$\lambda$ (no asymmetric limit found)")
        ax.set(xscale="log", ylim=(-0.05, 1.05))
        if j == 0:
            ax.set_ylabel("share of runs ending asymmetric")
    fig.tight_layout()
    return fig


def plot_strategies(results: dict, *, objective_offset: float = 0.0):
    r"""Three panels against the sweep :math:`k` (log vertical scales): :math:`|x^k - y^k|`,
    :math:`|F_{\lambda_k}(x^k, y^k) - F^\star|` (hollow markers where the difference is
    negative, as along the diverging direction :math:`x = -y`) and :math:`\lambda_k`
    (symmetric log scale so that :math:`\lambda = 0` shows). A cross marks the last finite
    iterate of a run that diverged, a square a stalled run."""
    import matplotlib.pyplot as plt

    from ...plotting import color

    fig, axes = plt.subplots(1, 3, figsize=(12.5, 3.8))
    for name, res in results.items():
        h = res.history
        k = h["iter"]
        col = color(name)
        obj = h["objective"] - objective_offset
        series = [np.abs(h["gap"]), np.abs(obj), h["lam"]]
        for i, (ax, y) in enumerate(zip(axes, series)):
            ax.plot(k, y, color=col, label=f"{name} ({res.status})", marker=".", ms=4)
            if i == 1 and np.any(obj < 0):
                neg = obj < 0
                ax.plot(k[neg], y[neg], ls="none", marker="o", ms=5, mfc="white", color=col)
            if res.status in ("diverged", "stalled"):
                ax.plot(k[-1], y[-1], marker="x" if res.diverged else "s", color=col, ms=9, mew=2)
    axes[0].set_yscale("log")
    axes[0].set_ylabel(r"$|x^k - y^k|$")
    axes[1].set_yscale("log")
    axes[1].set_ylabel(r"$|F_{\lambda_k}(x^k, y^k) - F^\star|$ (hollow: negative)")
    axes[2].set_yscale("symlog", linthresh=1e-4)
    axes[2].set_ylabel(r"penalty $\lambda_k$")
    for ax in axes:
        ax.set_xlabel("sweep $k$")
    axes[0].legend(loc="best")
    fig.tight_layout()
    return fig


def plot_sweeps(panels):
    r"""One panel per toy. ``panels`` is a list of dicts with keys ``title``, ``sweep``
    (a :func:`fixed_lambda_sweep` frame), ``bound``, ``threshold`` and optionally ``theory``
    (a callable :math:`\lambda \mapsto` predicted limit gap :math:`|x - y|`). Plotted: the
    final :math:`|x - y|` of runs that converged (filled: at :math:`x^\star`, open: elsewhere)
    and the number of sweeps (right axis), against :math:`\lambda` / bound."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(panels), figsize=(6.2 * len(panels), 4.0), squeeze=False)
    for ax, p in zip(axes[0], panels):
        df, b = p["sweep"], p["bound"]
        t = df["lam"] / b
        conv = df["status"] == "converged"
        ax2 = ax.twinx()
        ax2.plot(t, df["sweeps"], color="0.6", lw=1, label="sweeps run")
        ax2.set_yscale("log")
        ax2.set_ylabel("sweeps run (grey)")
        ax2.grid(False)
        gap = np.maximum(df["gap"], 1e-16)
        ax.scatter(t[conv & df["exact"]], gap[conv & df["exact"]], color="#0072B2", s=18,
                   label=r"converged to $x=y=x^\star$", zorder=3)
        ax.scatter(t[conv & ~df["exact"]], gap[conv & ~df["exact"]], facecolor="none",
                   edgecolor="#D55E00", s=24, label="converged, asymmetric", zorder=3)
        other = ~conv
        ax.scatter(t[other], np.full(other.sum(), 1e-15), marker="x", color="#CC79A7", s=24,
                   label="diverged / max-iter (drawn at $10^{-15}$)", zorder=3)
        if p.get("theory") is not None:
            tt = np.linspace(t.min(), 1.0, 400)
            ax.plot(tt, np.maximum(p["theory"](tt * b), 1e-16), color="#D55E00", lw=1,
                    ls="--", label=r"$2u$, $u^2 = -m - 2\lambda$")
        ax.axvline(1.0, color="k", lw=1, ls=":", label="Theorem 1 bound (10)")
        ax.axvline(p["threshold"] / b, color="#009E73", lw=1, ls="--", label="empirical threshold")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_ylim(1e-16, 10)
        ax.set_xlabel(r"$\lambda$ / bound")
        ax.set_ylabel(r"final $|x - y|$")
        ax.set_title(p["title"])
        ax.legend(loc="center right", fontsize="x-small")
    fig.tight_layout()
    return fig


def plot_conditioning(sweep: pd.DataFrame, x_star: float, *, max_iter: int):
    r"""Fixed-:math:`\lambda` AM on a toy: the final error :math:`\max(|x - x^\star|, |y - x^\star|)`
    after at most ``max_iter`` sweeps (left, log) and the sweeps used (right, log) against
    :math:`\lambda` (log)."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 3.8))
    err = np.maximum(np.abs(sweep["x"] - x_star), np.abs(sweep["y"] - x_star))
    ax.plot(sweep["lam"], np.maximum(err, 1e-16), marker="o", ms=3, color="#0072B2",
            label=r"final error $\max(|x - x^\star|, |y - x^\star|)$")
    ax.set(xscale="log", yscale="log", xlabel=r"fixed penalty $\lambda$", ylabel="final error")
    ax2 = ax.twinx()
    ax2.plot(sweep["lam"], sweep["sweeps"], color="0.5", ls="--", label="sweeps used")
    ax2.axhline(max_iter, color="0.5", lw=0.8, ls=":")
    ax2.set(yscale="log", ylabel=f"sweeps used (cap {max_iter}, dotted)")
    ax2.grid(False)
    h1, l1 = ax.get_legend_handles_labels()
    h2, l2 = ax2.get_legend_handles_labels()
    ax.legend(h1 + h2, l1 + l2, loc="center left", fontsize="x-small")
    fig.tight_layout()
    return fig


def plot_biconvexity(checks: dict, lifts: dict):
    r"""Three panels. (a) the smallest eigenvalue of the block Hessians (min over the random
    points) against :math:`\lambda + \mu/2`, with the line of equality; (b) the smallest
    eigenvalue of the joint Hessian (symmetric log scale); (c) the KKT residual of (5) at a
    critical point :math:`(X^\star, X^\star)` of (3) against :math:`\lambda`."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(13, 3.9))
    markers = dict(zip(FAMILIES, "osD^"))
    for fam, df in checks.items():
        g = df.groupby("lam")
        s = (g["lam"].first() + g["mu"].first() / 2).to_numpy()
        blk = np.minimum(g["lmin_XX"].min(), g["lmin_YY"].min()).to_numpy()
        axes[0].plot(s, blk, marker=markers.get(fam, "o"), label=fam)
        axes[1].scatter(df["lam"] * np.exp(0.08 * (list(checks).index(fam) - 1.5)), df["lmin_joint"],
                        s=10, marker=markers.get(fam, "o"), label=fam)
    svals = np.concatenate([(d["lam"] + d["mu"] / 2).to_numpy() for d in checks.values()])
    t = np.logspace(np.log10(svals.min()), np.log10(svals.max()), 10)
    axes[0].plot(t, t, "k--", lw=1, label=r"$\lambda + \mu/2$")
    axes[0].set(xscale="log", yscale="log", xlabel=r"$\lambda + \mu/2$",
                ylabel=r"min $\lambda_{\min}(\nabla^2_{XX}F), \lambda_{\min}(\nabla^2_{YY}F)$",
                title="(a) each block is strongly convex")
    axes[1].axhline(0, color="k", lw=1)
    axes[1].set_yscale("symlog", linthresh=1e-2)
    axes[1].set(xscale="log", xlabel=r"$\lambda$",
                ylabel=r"$\lambda_{\min}(\nabla^2 F_\lambda)$ (joint)", title="(b) jointly: indefinite")
    for fam, lf in lifts.items():
        axes[2].plot(lf["lam"], np.maximum(lf["kkt_split"], 1e-18), marker=markers.get(fam, "o"), label=fam)
    axes[2].axhline(1e-9, color="k", ls=":", lw=1, label="tolerance $10^{-9}$")
    axes[2].set_ylim(1e-13, 1e-7)
    axes[2].set(xscale="log", yscale="log", xlabel=r"$\lambda$",
                ylabel=r"KKT residual of (5) at $(X^\star, X^\star)$",
                title="(c) symmetric critical points lift")
    axes[0].legend(fontsize="x-small")
    axes[2].legend(fontsize="x-small")
    fig.tight_layout()
    return fig


def plot_corollary2(limits: pd.DataFrame, scalar: pd.DataFrame):
    r"""(a) column against Gram imbalance at every converged limit (log–log), by family,
    crosses for asymmetric limits; (b) :math:`\|X - Y\|_F` at each limit against
    :math:`2\lambda + \lambda_{\min}(M)` (symmetric limits drawn at :math:`10^{-12}`);
    (c) the bisected threshold of the scalar example against :math:`-m/2`."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(13, 3.9))
    for fam, d in limits.groupby("family", sort=False):
        a = d[d["asym"]]
        s = d[~d["asym"]]
        l0 = axes[0].scatter(np.maximum(s["col_imbalance"], 1e-16), np.maximum(s["gram_imbalance"], 1e-16),
                             s=10, alpha=0.6, label=fam)
        axes[0].scatter(np.maximum(a["col_imbalance"], 1e-16), np.maximum(a["gram_imbalance"], 1e-16),
                        s=30, marker="x", color=l0.get_facecolor()[0])
        axes[1].scatter(2 * d["lam"] + d["lambda_min"], np.maximum(d["gap"], 1e-12), s=12,
                        marker="o", alpha=0.7, label=fam)
    axes[0].set(xscale="log", yscale="log", xlabel=r"column imbalance $\max_j |\|x_j\|^2 - \|y_j\|^2|$",
                ylabel=r"Gram imbalance $\|X^\top X - Y^\top Y\|_F$",
                title="(a) balance at KKT points (x: asymmetric)")
    axes[0].legend(fontsize="x-small")
    axes[1].axvline(0, color="k", ls=":", lw=1)
    axes[1].set(yscale="log", xlabel=r"$2\lambda + \lambda_{\min}(M)$", ylabel=r"$\|X - Y\|_F$ at the limit",
                title=r"(b) asymmetric only if $2\lambda + \lambda_{\min}(M) \leq 0$")
    axes[1].set_xscale("symlog", linthresh=1e-2)
    axes[1].legend(fontsize="x-small")
    ax = axes[2]
    ax.plot(-scalar["m"] / 2, scalar["threshold"], "o", label="bisected threshold")
    t = np.linspace(0, (-scalar["m"] / 2).max() * 1.1, 10)
    ax.plot(t, t, "k--", lw=1, label=r"$-m/2$")
    ax.set(xlabel=r"$-m/2$", ylabel=r"empirical threshold on $\lambda$",
           title=r"(c) scalar example, $m < 0$")
    ax.legend(fontsize="x-small")
    fig.tight_layout()
    return fig


def plot_corollary1(table: pd.DataFrame, decreasing: dict):
    r"""(a) per instance, the bounds (11), (12), Zhu et al.'s, bound (10) at the limit and the
    empirical threshold (log scale); (b) the decreasing-penalty variant on one instance:
    :math:`\lambda_k` and :math:`\|X^k - Y^k\|_F` against the sweep."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(12, 4.0), gridspec_kw={"width_ratios": [1.6, 1]})
    ax = axes[0]
    x = np.arange(len(table))
    cols = [("bound (11)", "s"), ("Zhu et al.", "^"), ("bound (12)", "o"),
            ("bound (10) at limit", "D"), ("empirical threshold", "x")]
    floor = 1e-4
    for j, (c, mk) in enumerate(cols):
        ax.scatter(x + (j - 2) * 0.08, np.maximum(table[c].astype(float), floor), marker=mk, s=30, label=c)
    ax.set_xticks(x, table["instance"], rotation=30, ha="right", fontsize="x-small")
    ax.set(yscale="log", ylabel=fr"$\lambda$ (values below $10^{{-4}}$ drawn at $10^{{-4}}$)",
           title="(a) bounds from the start vs. at the limit")
    ax.legend(fontsize="x-small", ncol=2)
    ax = axes[1]
    for (name, res), col in zip(decreasing.items(), ["#0072B2", "#D55E00", "#009E73"]):
        k = res.history["iter"]
        ax.plot(k, res.history["lam"], color=col, label=fr"$\lambda_k$ ({name})")
        ax.plot(k, np.maximum(res.history["gap"], 1e-16), color=col, ls="--",
                label=fr"$\|X^k - Y^k\|_F$ ({name})")
    ax.set(yscale="log", xlabel="sweep $k$", title="(b) fixed (12) vs. decreasing penalty")
    ax.legend(fontsize="x-small")
    fig.tight_layout()
    return fig




def plot_newton_points(newton: pd.DataFrame):
    r"""Critical points found by Newton's method (:func:`.common.newton_critical_points`, with a
    ``family`` column). Left: bound (10) :math:`b` against :math:`\lambda` (asymmetric saddles,
    asymmetric minima, symmetric points) with the line :math:`b = \lambda`; right:
    :math:`\lambda / b` against the smallest Hessian eigenvalue at asymmetric points."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11.5, 4.0))
    c = newton[newton["status"] == "converged"]
    floor = 1e-6
    for j, (fam, d) in enumerate(c.groupby("family", sort=False)):
        col = ["#0072B2", "#D55E00", "#009E73"][j % 3]
        sym, asy = d[~d["asym"]], d[d["asym"]]
        sad, mins = asy[asy["n_neg"] > 0], asy[asy["n_neg"] == 0]
        axes[0].scatter(sym["lam"], np.maximum(sym["bound"], floor), s=8, color=col, alpha=0.4,
                        label=f"{fam}: symmetric")
        axes[0].scatter(sad["lam"], np.maximum(sad["bound"], floor), s=28, marker="x", color=col,
                        label=f"{fam}: asymmetric saddle")
        axes[0].scatter(mins["lam"], np.maximum(mins["bound"], floor), s=28, marker="s",
                        facecolor="none", edgecolor=col, label=f"{fam}: asymmetric minimum")
        axes[1].scatter(asy["hess_min"], asy["lam"] / asy["bound"], s=20, color=col, label=fam)
    lo, hi = newton["lam"].min(), newton["lam"].max()
    axes[0].plot([lo, hi], [lo, hi], "k--", lw=1, label=r"$b = \lambda$")
    axes[0].set(xscale="log", yscale="log", xlabel=r"$\lambda$",
                ylabel=r"bound (10) $b$ at the point (floored at $10^{-6}$)",
                title="(a) Newton's critical points")
    axes[0].legend(fontsize="xx-small", ncol=2)
    axes[1].axhline(1.0, color="k", ls=":", lw=1)
    axes[1].axvline(0.0, color="0.5", lw=0.8)
    axes[1].set(xlabel=r"smallest Hessian eigenvalue of $F_\lambda$",
                ylabel=r"$\lambda / b$", title=r"(b) asymmetric points: $\lambda \leq b$")
    axes[1].legend(fontsize="x-small")
    fig.tight_layout()
    return fig
