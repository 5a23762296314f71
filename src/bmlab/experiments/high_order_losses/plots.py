"""Figures of the part "High-order losses" (paper 003). Each function returns the figure;
the notebook saves it with ``ch.savefig``."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import SymLogNorm

from ...bounds.strict_saddle import C_l
from ...plotting import CYCLE

RIP_THRESHOLDS = {"1/2": 0.5, "1/5": 0.2, "1/10": 0.1}


def fig_rip(result):
    """(a) the weighted operator's constant against ε; (b) Gaussian operators against m."""
    wtab, summary, p = result.weighted, result.summary(), result.params
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    eg = np.linspace(0.02, 1, 200)
    ax = axes[0]
    ax.plot(eg, (1 - eg**2) / (1 + eg**2), color=CYCLE[0], label="exact $(1-ε^2)/(1+ε^2)$")
    ax.plot(wtab.eps, wtab.search, "o", color=CYCLE[0], mfc="none", ms=8,
            label=f"search (n = {p.n_weighted}, rank {p.rank_weighted})")
    ax.plot(eg, (1 - eg) / (1 + eg), "--", color=CYCLE[1], label="authors' nominal $(1-ε)/(1+ε)$")
    for e, lab in [(p.eps_table, "table"), (0.1, "landscape")]:
        ax.axvline(e, color="0.5", lw=0.8)
        ax.text(e + 0.01, 0.05, f"ε = {e} ({lab})", rotation=90, ha="left", va="bottom",
                fontsize="x-small")
    ax.set(xlabel="ε", ylabel="RIP constant δ", title="(a) weighted entry-wise operator",
           ylim=(0, 1.08))
    ax = axes[1]
    for k, (rank, g) in enumerate(summary.groupby("rank")):
        kind = "exact" if rank >= p.n else "search"
        ax.plot(g.m, g["median"], "o-", color=CYCLE[k + 2], label=f"rank ≤ {rank} ({kind}), median")
        ax.fill_between(g.m, g["min"], g["max"], color=CYCLE[k + 2], alpha=0.2)
    ax.axvline(p.m_pgd, color="0.5", lw=0.8)
    ax.text(p.m_pgd * 1.05, 0.05, f"m = {p.m_pgd} (PGD)", rotation=90, ha="left", va="bottom",
            fontsize="x-small")
    ax.set(xscale="log", xlabel="number of measurements m", ylabel="RIP constant δ",
           title=f"(b) Gaussian operators, n = {p.n}", ylim=(0, 1.08))
    ax.set_xticks(list(p.ms), [str(m) for m in p.ms])
    ax.minorticks_off()
    for a in axes:
        for lab, t in RIP_THRESHOLDS.items():
            a.axhline(t, color="0.3", ls=":", lw=1)
            a.text(a.get_xlim()[1], t, f" δ = {lab}", va="center", fontsize="x-small")
        a.legend(loc="upper right")
    fig.tight_layout()
    return fig


def fig_ratio(result):
    """(a) λmax/λmin at X̂ against λ per n (dots: table λ; dotted: λ = 0); (b) the two
    eigenvalues."""
    curves, lams = result.curves, result.params.lams
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for k, n in enumerate(result.params.ns):
        c = curves[(curves.n == n) & (curves.lam > 0)]
        c0 = curves[(curves.n == n) & (curves.lam == 0)]
        t = c[c.lam.isin(lams)]
        col = CYCLE[k]
        axes[0].plot(c.lam, c.ratio, color=col, label=f"n = {n}")
        axes[0].plot(t.lam, t.ratio, "o", color=col, ms=5)
        if len(c0):
            axes[0].axhline(float(c0.ratio.iloc[0]), color=col, ls=":", lw=1)
        axes[1].plot(c.lam, c.lmax_hat, color=col, label=f"λmax, n = {n}")
        axes[1].plot(c.lam, c.lmin_hat, color=col, ls="--", label=f"λmin, n = {n}")
    axes[0].set(xscale="log", yscale="log", xlabel="λ", ylabel="λmax / λmin of ∇²f at X̂",
                title="(a) condition number at the spurious point")
    axes[0].legend(title="dotted: λ = 0; dots: table λ")
    axes[1].set(xscale="log", yscale="log", xlabel="λ", ylabel="eigenvalue of ∇²f at X̂",
                title="(b) the two extreme eigenvalues")
    axes[1].legend(ncol=2, fontsize="x-small")
    fig.tight_layout()
    return fig


def fig_landscape(result):
    """λmin of the Hessian on the plane X̂ + α d1 + β d2, one row per problem, one column per
    λ; one symmetric-log colour scale per row."""
    rows = result.rows
    ncol = len(result.params.lams)
    fig, axes = plt.subplots(len(rows), ncol, figsize=(5 * ncol, 4 * len(rows)),
                             constrained_layout=True, squeeze=False)
    for i, (name, res) in enumerate(rows.items()):
        vals = np.concatenate([E.ravel() for E in res.E.values()])
        norm = SymLogNorm(linthresh=0.1, vmin=vals.min(), vmax=vals.max())
        for j, (lam, E) in enumerate(res.E.items()):
            ax = axes[i, j]
            mesh = ax.pcolormesh(res.betas, res.alphas, E, norm=norm, cmap="plasma",
                                 shading="nearest")
            ax.plot(0, 0, "o", color="r", ms=5)
            ax.annotate("X̂", (0, 0), color="r", xytext=(4, 4), textcoords="offset points")
            ax.plot(1, 1, "o", color="b", ms=5)
            ax.annotate("X*", (1, 1), color="b", xytext=(4, 4), textcoords="offset points")
            ax.set(title=f"λ = {lam:g}", xlabel="β (along d₂)",
                   ylabel=f"{name}\nα (along d₁)" if j == 0 else "")
            ax.grid(False)
        fig.colorbar(mesh, ax=list(axes[i]), shrink=0.85, label="λmin of the Hessian")
    return fig


def fig_saddles(result):
    """(a) every non-global critical point by the ratio x of condition (4) against λmin;
    (b) the points satisfying (4): λmin against bound (5), X = 0 marked apart."""
    df = result.points
    far = df[df.type != "global"]
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    ax = axes[0]
    markers = {"strict saddle": "o", "spurious min": "^", "degenerate": "s"}
    for k, inst in enumerate(df.instance.unique()):
        for t, mk in markers.items():
            d = far[(far.instance == inst) & (far.type == t)]
            if len(d):
                ax.scatter(np.minimum(d.x, 1e9), d.lam_min, marker=mk, color=CYCLE[k],
                           facecolors="none" if t == "strict saddle" else CYCLE[k], s=36,
                           label=f"{inst}" if t == "strict saddle" else None)
    ax.axvline(1.0, color="k", ls="--", lw=1)
    ax.axhline(0.0, color="0.4", lw=0.8)
    ax.set(xscale="symlog", xlabel=r"$2\frac{1+\delta}{1-\delta}\,\mathrm{tr}(M^*)\,\sigma_r^2 / D^2$"
           "   (condition (4) holds left of 1)", ylabel=r"$\lambda_{\min}(\nabla^2 f)$",
           title="(a) critical points: ○ strict saddle, ▲ spurious minimum")
    ax.set_xlim(-0.02, None)
    ax.legend(fontsize="x-small", loc="lower right")
    ax = axes[1]
    c4 = df[df.cond4]
    for k, inst in enumerate(df.instance.unique()):
        d = c4[c4.instance == inst]
        ax.scatter(d[d.far].bound5, d[d.far].lam_min, color=CYCLE[k], s=30)
        ax.scatter(d[~d.far].bound5, d[~d.far].lam_min, color=CYCLE[k], s=40, marker="x")
    lim = [min(c4.lam_min.min(), c4.bound5.min()) * 1.1, 0.2]
    ax.plot(lim, lim, "k--", lw=1, label="λmin = bound (5)")
    ax.scatter([], [], color="k", marker="x", label="X = 0")
    ax.scatter([], [], color="k", label="X̂ ≠ 0")
    ax.set(xlabel="bound (5)", ylabel=r"$\lambda_{\min}(\nabla^2 f)$",
           title="(b) points satisfying (4): λmin against bound (5)")
    ax.legend(loc="upper left")
    fig.tight_layout()
    return fig


def fig_thm5(t5):
    """Largest δ admitted by condition (7) against the search rank, with the instances."""
    from .common import theorem5_delta_max
    rr = np.unique(np.logspace(0, 4, 120).astype(int))
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for k, (lhs, lab) in enumerate([(1.0, "rank 1 (lhs = 1)"),
                                    (2 ** 1.5, "rank 2, equal eigenvalues"), (10.0, "lhs = 10")]):
        ax.plot(rr, [theorem5_delta_max(lhs, int(r)) for r in rr], color=CYCLE[k], label=lab)
    seen = set()
    for _, row in t5.iterrows():
        ax.scatter(row["r"], row["δ"], marker="o" if row["(7) holds"] else "x", color="k",
                   zorder=3)
        name = row["instance"].split(" (")[0].split(" #")[0].replace(", over-parametrized", "")
        if name not in seen:
            seen.add(name)
            ax.annotate(name, (row["r"], row["δ"]), textcoords="offset points",
                        xytext=(6, -12 if (row["(7) holds"] or row["r"] > 1) else 3),
                        fontsize="x-small")
    ax.axhline(0.5, color="0.4", ls=":", lw=1)
    ax.set(xscale="log", xlabel="search rank r", ylabel="largest δ allowed by (7)",
           title="Theorem 5: admissible RIP constants (× fails, ● holds)", ylim=(0, 1))
    ax.legend(loc="upper left", bbox_to_anchor=(0.3, 0.95), fontsize="x-small")
    return fig


def fig_thm6(result):
    """(a) −λmin at X = 0 against λ with −bound (11); (b) the multiplier of condition (10)."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for k, (label, cz) in enumerate(result.curvature.items()):
        delta, m = result.deltas[label]
        pos = cz[cz.lam > 0]
        axes[0].plot(pos.lam, -pos.lam_min, color=CYCLE[k], label=label)
        axes[0].plot(pos.lam, -pos.bound11, color=CYCLE[k], ls="--")
        axes[0].axhline(-cz.lam_min.iloc[0], color=CYCLE[k], ls=":", lw=1)
        xs = np.logspace(-3, 4, 200)
        mult = ((1 + delta) + 3 * (1 + delta) ** 2 * xs) / (
            (1 - delta) / 2 + C_l(4, m) * (1 - delta) ** 2 * xs)
        axes[1].plot(xs, mult, color=CYCLE[k], label=f"{label}, δ={delta:.2f}, m={m}")
    axes[0].set(xscale="log", yscale="log", xlabel="λ", ylabel="−λmin(∇²f^4_λ) at X = 0",
                title="(a) negative curvature at the saddle X = 0")
    axes[0].plot([], [], "k-", label="measured")
    axes[0].plot([], [], "k--", label="−bound (11)")
    axes[0].plot([], [], "k:", label="λ = 0")
    axes[0].legend(fontsize="x-small")
    axes[1].set(xscale="log", yscale="log", xlabel=r"$\lambda D^{l-2}$",
                ylabel="multiplier of tr(M*) σ_r² in (10)",
                title="(b) how demanding condition (10) is")
    axes[1].legend(fontsize="x-small")
    fig.tight_layout()
    return fig


def _draw_pgd(axcol, instances, title):
    for k, inst in enumerate(instances):
        for lam, ls in [(0.0, "-"), (1.0, "--")]:
            run = inst.runs[lam]
            c = CYCLE[k % len(CYCLE)]
            axcol[0].plot(run.iters, np.maximum(run.distance, 1e-3), ls, color=c)
            axcol[1].plot(run.iters, np.maximum(run.objective, 1e-8), ls, color=c)
    axcol[0].set(yscale="log", ylabel=r"$\|X_tX_t^\top - M^*\|_F$", title=title)
    axcol[1].set(yscale="log", ylabel=r"objective $f^4_\lambda(X_t)$", xlabel="iteration t")
    axcol[0].plot([], [], "k-", label="λ = 0")
    axcol[0].plot([], [], "k--", label="λ = 1")
    axcol[0].legend()


def fig_pgd(result):
    """(a) the panel-(a) instances; (b) the stalling instance found, or else the instance
    with the largest gap between λ = 0 and λ = 1."""
    insts = result.instances
    if result.inst_b is None:
        gap = result.table.pivot(index="instance", columns="lam", values="final_distance")
        key_b = int((gap[0.0] / gap[1.0]).idxmax())
        shown = next(i for i in insts if i.key == key_b)
        title_b = f"(b) no stalling instance found; largest gap (instance {key_b})"
    else:
        shown = result.inst_b
        title_b = f"(b) instance {shown.key}: λ = 0 stalls"
    fig, axes = plt.subplots(2, 2, figsize=(11, 6.5), sharex=True)
    _draw_pgd(axes[:, 0], insts[:6], f"(a) the first {min(len(insts), 6)} of {len(insts)} "
              "seeded instances")
    _draw_pgd(axes[:, 1], [shown], title_b)
    fig.tight_layout()
    return fig


def _wilson(p_, n_, z=1.96):
    c = (p_ + z**2 / (2 * n_)) / (1 + z**2 / n_)
    h = z * np.sqrt(p_ * (1 - p_) / n_ + z**2 / (4 * n_**2)) / (1 + z**2 / n_)
    return c - h, c + h


def fig_success(result):
    """Success rate (95% Wilson intervals) of GD from random starts: (a) against the search
    rank at λ = 0, with Zhang's instance beside it; (b) at r = 1 against λ."""
    rate, p = result.rates(), result.params
    fig, axes = plt.subplots(1, 2, figsize=(11, 4), sharey=True)
    rr = rate[rate.lam == 0.0]
    lo, hi = _wilson(rr.success.to_numpy(), rr.runs.to_numpy())
    axes[0].errorbar(rr.r, rr.success, yerr=np.clip([rr.success - lo, hi - rr.success], 0, None),
                     fmt="o-", color=CYCLE[0], capsize=3, label=f"ε = {p.eps:g} (δ = {p.delta:.2f})")
    zs, zn = float(result.zhang.success.mean()), len(result.zhang)
    zlo, zhi = _wilson(np.array([zs]), np.array([zn]))
    axes[0].errorbar([p.r_zhang], [zs], yerr=np.clip([[zs - zlo[0]], [zhi[0] - zs]], 0, None),
                     fmt="s", color=CYCLE[2], capsize=3,
                     label=f"ε = {p.eps_zhang:g} (δ = {p.delta_zhang:.2f}) at Zhang's r = {p.r_zhang}")
    axes[0].set(xscale="log", xlabel="search rank r (λ = 0)", ylabel="success rate",
                title="(a) rank over-parametrisation", ylim=(-0.05, 1.05))
    ticks = sorted(set(p.ranks) | {p.r_zhang})
    axes[0].set_xticks(ticks, [str(r) for r in ticks])
    axes[0].minorticks_off()
    axes[0].legend(loc="lower right", fontsize="x-small")
    ll = rate[rate.r == 1]
    lo, hi = _wilson(ll.success.to_numpy(), ll.runs.to_numpy())
    xs = np.where(ll.lam > 0, ll.lam, 0.1)
    axes[1].errorbar(xs, ll.success, yerr=np.clip([ll.success - lo, hi - ll.success], 0, None),
                     fmt="o-", color=CYCLE[1], capsize=3)
    axes[1].set(xscale="log", xlabel="λ (r = 1; λ = 0 drawn at 0.1)", title="(b) high-order loss")
    axes[1].set_xticks(xs, [f"{l:g}" for l in ll.lam])
    axes[1].minorticks_off()
    fig.tight_layout()
    return fig


def fig_pgd_eta(panel):
    """Step-size panel of perturbed GD (λ = 0): (a) median distance (band: 10–90% of the
    instances) against the iteration per step, with the median predicted noise floor
    (dashed) and the 1e-3 plotting floor (dotted); (b) final distance over predicted floor
    against the linear contraction exponent η μ_min T, per run."""
    etas, D, it, tab = panel.etas, panel.distance, panel.iters, panel.table
    nE = len(etas)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    ax = axes[0]
    for e, eta in enumerate(etas):
        d = D[e::nE]
        c = CYCLE[e % len(CYCLE)]
        ax.plot(it, np.nanmedian(d, axis=0), color=c, label=f"η = {eta:g}")
        ax.fill_between(it, np.nanpercentile(d, 10, axis=0), np.nanpercentile(d, 90, axis=0),
                        color=c, alpha=0.15, lw=0)
        ax.axhline(float(np.median(panel.floors[:, e])), color=c, ls="--", lw=1)
    ax.axhline(1e-3, color="0.3", ls=":", lw=1)
    ax.set(yscale="log", xlabel="iteration t", ylabel=r"$\|X_tX_t^\top - M^*\|_F$",
           title=f"(a) {tab.instance.nunique()} instances, λ = 0 (dashed: predicted floor)")
    ax.legend(loc="upper right")
    ax = axes[1]
    for e, eta in enumerate(etas):
        t = tab[np.isclose(tab.eta, eta)]
        ax.plot(t.exponent, t.final_distance / t.floor_pred, "o", ms=4,
                color=CYCLE[e % len(CYCLE)], label=f"η = {eta:g}")
    ax.axhline(1.0, color="0.3", lw=1)
    ax.axhline(3.0, color="0.3", ls="--", lw=1)
    ax.set(xscale="log", yscale="log", xlabel=r"linear contraction exponent $\eta\mu_{\min}T$",
           ylabel="final distance / predicted noise floor",
           title="(b) per run (dashed: 'converged' below 3×)")
    fig.tight_layout()
    return fig


def fig_thm6_region(result):
    """(a) Area of the region certified by condition (10), relative to λ = 0, against λ per
    instance, with the lifted technique's region (×2) and the amplification region (dashed);
    (b) the (D, σ_r²) plane of one instance: the boundary of the certified region for each λ,
    the lifting and amplification boundaries, and the enumerated critical points."""
    from .high_order_saddles import multiplier
    reg = result.region
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    ax = axes[0]
    for k, (label, g) in enumerate(reg.groupby("instance", sort=False)):
        g = g[g["λ"] > 0].sort_values("λ")
        c = CYCLE[k % len(CYCLE)]
        ax.plot(g["λ"], g.area_rel, "o-", color=c, ms=4, label=label)
        ax.axhline(float(g.K0.iloc[0] / g.K_inf.iloc[0]), color=c, ls="--", lw=1)
    ax.axhline(1.0, color="0.3", ls=":", lw=1)
    ax.axhline(2.0, color="0.3", lw=1)
    tr_ = ax.get_yaxis_transform()
    ax.text(0.01, 2.0, "lifting: (1+δ)/(1−δ), area ×2", va="bottom", fontsize="x-small",
            transform=tr_)
    ax.text(0.01, 1.0, "λ = 0 (Theorem 3)", va="bottom", fontsize="x-small", transform=tr_)
    ax.set(xscale="log", yscale="log", xlabel="λ",
           ylabel="certified area / area at λ = 0",
           title="(a) region certified by (10); dashed: amplified region")
    ax.legend(fontsize="x-small", loc="lower left")
    ax = axes[1]
    pts = result.points
    labels = list(reg.instance.unique())
    far_inst = [l for l in labels if ((pts.instance == l) & pts.far & (pts.type != "global")
                                     & pts.cond4).any()]
    label = far_inst[0] if far_inst else labels[0]
    g = reg[reg.instance == label]
    delta, m = float(g["δ"].iloc[0]), int(g.m.iloc[0])
    tr, nrm = result.geometry[label]
    D = np.linspace(1e-3, nrm, 400)
    for j, lam in enumerate(sorted(set(g["λ"]))):
        ax.plot(D, D ** 2 / (tr * multiplier(lam * D ** 2, delta, m)),
                color=plt.cm.viridis(j / max(len(set(g["λ"])) - 1, 1)), label=f"λ = {lam:g}")
    ax.plot(D, D ** 2 / (tr * float(g.K_lift.iloc[0])), "k-", lw=1, label="lifting")
    ax.plot(D, D ** 2 / (tr * float(g.K_inf.iloc[0])), "k--", lw=1, label="amplified (K(∞))")
    p0 = pts[(pts.instance == label) & (pts.lam == 0) & (pts.type != "global")]
    ax.plot(p0.D, p0.sigma_r ** 2, "o", mfc="none", color="C3", label="critical points, λ = 0")
    ax.set(yscale="log", xlabel=r"$D = \|\hat X\hat X^\top - M^*\|_F$", ylabel=r"$\sigma_r^2$",
           title=f"(b) {label}: certified below each curve")
    ax.set_ylim(bottom=1e-5)
    ax.legend(fontsize="x-small", ncol=2)
    fig.tight_layout()
    return fig
