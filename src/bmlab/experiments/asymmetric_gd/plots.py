"""Figures of the part "Gradient descent for asymmetric factorization" (paper 002)."""
from __future__ import annotations

import matplotlib.pyplot as plt
import matplotlib.ticker as mticker
import numpy as np

from ...plotting import color

__all__ = ["plot_seed_curves", "plot_eta_sweep", "plot_scaling", "plot_stages", "plot_balance", "plot_flow", "plot_lemmas", "plot_modifications", "plot_kappa", "fig_kappa"]


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
    for i, (eta, frac) in enumerate(bad.items()):
        y = med.get(eta) if np.isfinite(med.get(eta, np.nan)) else np.nanmax(hi)
        ax.plot(eta, y, "x", color="black", ms=9,
                label="some seed did not converge" if i == 0 else None)
        ax.annotate(rf"$\eta={eta:g}$: {frac:.0%} converge", (eta, y), textcoords="offset points",
                    xytext=(-10, -14 - 12 * i), fontsize="x-small", ha="right")
    if flow_time is not None:
        ax.axhline(flow_time, color="grey", ls="--", lw=1.2, label=r"$\eta\to0$ extrapolation")
    ax.set_xlabel(r"step size $\eta$")
    ax.set_ylabel(r"$\eta \times$ iterations to $\delta$")
    ax.legend(loc="upper left")
    return ax


KNOB_LABELS = {"eta": r"step size $\eta$", "eps": r"init scale $\varepsilon$",
               "sigma_d": r"$\sigma_d$ (with $\kappa$ fixed)", "delta": r"target $\delta$",
               "d": r"rank $d$", "m+n": r"$m+n$"}


def plot_scaling(df, knobs, *, C=None):
    r"""One panel per knob: iterations to :math:`f\le\delta` per seed (dots) and their mean
    (line), the formula :math:`T_{\rm total}` with constant 1 (dashed) and scaled by ``C``
    (dotted)."""
    ncol = 3
    nrow = int(np.ceil(len(knobs) / ncol))
    fig, axes = plt.subplots(nrow, ncol, figsize=(11, 3.3 * nrow), squeeze=False)
    for ax, knob in zip(axes.flat, knobs):
        g = df[df["knob"] == knob]
        mean = g.groupby("value")["T"].mean()
        pred = g.groupby("value")["T_pred"].first()
        ax.plot(g["value"], g["T"], ".", color=color("GD"), alpha=0.4, ms=4)
        ax.plot(mean.index, mean, "-", color=color("GD"), label="GD (mean over seeds)")
        ax.plot(pred.index, pred, "--", color="black", lw=1.2, label=r"$T_{\rm total}$, constant 1")
        if C is not None:
            ax.plot(pred.index, C * pred, ":", color="black", lw=1.2,
                    label=rf"${C:.2f}\times T_{{\rm total}}$")
        ax.set_xscale("log")
        vals = np.sort(g["value"].unique())
        ax.xaxis.set_minor_formatter(mticker.NullFormatter())
        if len(vals) <= 8 and knob not in ("eps", "delta"):
            ax.set_xticks(vals, [f"{v:g}" for v in vals])
        if knob in ("eta", "sigma_d"):
            ax.set_yscale("log")
        ax.set_xlabel(KNOB_LABELS.get(knob, knob))
        ax.set_ylabel(r"iterations to $f\leq\delta$")
    for ax in list(axes.flat)[len(knobs):]:
        ax.set_visible(False)
    axes.flat[0].legend(loc="upper right")
    fig.tight_layout()
    return fig


def plot_stages(df, refs, *, T1, T0, eta, sigma_d, p_low):
    r"""Nine panels of the block quantities of one tracked run (spec 002 §9) with the
    reference lines of Theorem 3.1 and stage two; vertical lines at :math:`T_1`, :math:`T_0`.

    ``refs`` is :func:`bmlab.bounds.gd_asymmetric.stage_one_bounds`; ``p_low`` the bound (17).
    """
    from ...bounds.gd_asymmetric import stage_two_envelope

    t = df["iter"].to_numpy()
    fig, axes = plt.subplots(3, 3, figsize=(12, 9.5), sharex=True)
    ax = axes.flat
    ref = dict(color="black", lw=1.0, ls="--")
    c_main = color("GD")

    def line(a, y, label, **kw):
        a.plot(t, y, label=label, **{"color": c_main, **kw})

    a = ax[0]
    line(a, df["sd_A"], r"$\sigma_d(A_t)$")
    a.axhline(refs["sd_A_target"], label=r"$\sqrt{\sigma_d/2}$", **ref)
    a.axhline(refs["sd_A_low"], label=r"$\varepsilon/(c\sqrt{d})$", color="grey", lw=1, ls=":")
    a.axhline(refs["sd_A_high"], label=r"$\sqrt{2\sigma_1}$", color="grey", lw=1, ls="-.")
    a.set_yscale("log"); a.set_title(r"signal $\sigma_d(A)$")
    a = ax[1]
    line(a, df["B_F"], r"$\|B_t\|_F$")
    a.plot([0, T0], [refs["B_F"]] * 2, label=r"$2cd\varepsilon$ (stage one)", **ref)
    a.set_yscale("log"); a.set_title(r"asymmetry $\|B\|_F$")
    a = ax[2]
    line(a, df["J_op"], r"$\|J_t\|$")
    line(a, df["K_op"], r"$\|K_t\|$", color=color("UDV"))
    a.plot([0, T0], [refs["J_op"]] * 2, label=r"$c\varepsilon\sqrt{\max(m',d)}$", **ref)
    a.plot([0, T0], [refs["K_op"]] * 2, label=r"$c\varepsilon\sqrt{\max(n',d)}$",
           **{**ref, "ls": ":"})
    a.set_yscale("log"); a.set_title(r"complement blocks $\|J\|$, $\|K\|$")
    a = ax[3]
    line(a, df["P_op"], r"$\|P_t\|$")
    a.axhline(refs["P_target"], label=r"$\sigma_d/4$", **ref)
    a.set_yscale("log"); a.set_title(r"$\|P\|$, $P=\Sigma-AA^\top+BB^\top$")
    a = ax[4]
    line(a, df["lam_min_P"], r"$\lambda_{\min}(P_t)$")
    a.axhline(p_low, label=r"bound (17), constant 1", **ref)
    a.set_yscale("symlog", linthresh=1e-14)
    ticks = [-1e-2, -1e-6, -1e-10, 0, 1e-10, 1e-6, 1e-2, 1]
    a.set_yticks(ticks, ["$-10^{-2}$", "$-10^{-6}$", "$-10^{-10}$", "0", "$10^{-10}$",
                         "$10^{-6}$", "$10^{-2}$", "1"])
    a.yaxis.set_minor_locator(mticker.NullLocator())
    a.set_title(r"$\lambda_{\min}(P)$ (symmetric log scale)")
    a = ax[5]
    line(a, df["Q_F"], r"$\|Q_t\|_F$")
    a.set_yscale("log"); a.set_title(r"$\|Q\|_F$, $Q=AB^\top-BA^\top$")
    a = ax[6]
    line(a, df["Delta"], r"$\Delta_t=\|\Sigma-U_tV_t^\top\|$")
    tt = t[t >= T0]
    a.plot(tt, stage_two_envelope(tt - T0, eta, sigma_d), label=r"$(1-\eta\sigma_d/2)^{t-T_0}\frac{2}{5}\sigma_d$", **ref)
    a.set_yscale("log"); a.set_title(r"$\Delta_t$ and the stage-two envelope")
    a = ax[7]
    line(a, df["min_sd_UV"], r"$\min(\sigma_d(U_t),\sigma_d(V_t))$")
    a.axhline(refs["min_sd_UV"], label=r"$\sqrt{\sigma_d/2}$", **ref)
    a.set_yscale("log"); a.set_title(r"$\min(\sigma_d(U),\sigma_d(V))$")
    a = ax[8]
    labels = {"P2": r"$\|P\|_F^2$", "Q2": r"$\|Q\|_F^2$", "UK2": r"$\|UK^\top\|_F^2$",
              "JV2": r"$\|JV^\top\|_F^2$", "JK2": r"$\|JK^\top\|_F^2$"}
    from ...plotting import CYCLE
    for i, (k, lab) in enumerate(labels.items()):
        a.plot(t, df[k], label=lab, color=CYCLE[i], lw=1.2)
    a.set_yscale("log"); a.set_ylim(bottom=1e-32)
    a.set_title(r"the five terms of $\|\mathbf{\Sigma}-\mathbf{U}\mathbf{V}^\top\|_F^2$")
    for a in axes.flat:
        for x, ls in ((T1, ":"), (T0, "-")):
            if np.isfinite(x):
                a.axvline(x, color="grey", lw=0.8, ls=ls)
        a.legend(loc="best", fontsize="x-small")
    for a in axes[-1]:
        a.set_xlabel("iteration $t$")
    fig.tight_layout()
    return fig


def plot_balance(df, trackers, flow_t, flow_dist):
    r"""Left: :math:`\|D_t - D_0\|_F` against the flow time :math:`\eta t` for each step size
    and for the gradient flow. Right: final drift and largest one-step drift against
    :math:`\eta` (log–log) with slope-1 and slope-2 guides."""
    from ...plotting import CYCLE

    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4))
    floor = 1e-17
    for i, (eta, tr) in enumerate(zip(df["eta"], trackers)):
        a.semilogy(eta * np.asarray(tr.iters), np.maximum(tr.dist, floor), color=CYCLE[i % len(CYCLE)],
                   label=rf"GD, $\eta={eta:g}$")
    a.semilogy(flow_t, np.maximum(flow_dist, floor), color="black", ls="--",
               label="gradient flow (solve_ivp)")
    a.set_xlabel(r"flow time $\eta t$")
    a.set_ylabel(r"$\|D_t - D_0\|_F$, $D = \mathbf{U}^\top\mathbf{U}-\mathbf{V}^\top\mathbf{V}$")
    a.legend(fontsize="x-small", ncol=2)
    e = df["eta"].to_numpy()
    b.loglog(e, df["final_drift"], "o-", color=color("GD"), label=r"total drift $\|D_T-D_0\|_F$")
    b.loglog(e, df["step_drift_max"], "s-", color=color("UDV"),
             label=r"largest one-step drift $\max_t\|D_{t+1}-D_t\|_F$")
    for col, p, ls in (("final_drift", 1, ":"), ("step_drift_max", 2, "--")):
        y0 = df[col].iloc[0]
        b.loglog(e, y0 * (e / e[0]) ** p, color="grey", ls=ls, lw=1, label=rf"slope {p}")
    b.xaxis.set_minor_formatter(mticker.NullFormatter())
    b.set_xlabel(r"step size $\eta$")
    b.set_ylabel("drift")
    b.legend(fontsize="x-small")
    fig.tight_layout()
    return fig


def plot_flow(errs, gd_err, times_scalar, time_matrix, time_over):
    r"""Four panels for the closed-form chapter.

    errs : dict label -> (t, chunked error, one-shot error)
    gd_err : dict label -> (etas, max error of GD against the flow)
    times_scalar : dict sigma -> (deltas, T) from the ODE
    time_matrix : (sigma_d, deltas, T) for the exactly parametrised case
    time_over : (deltas, T) for the over-parametrised case
    """
    from ...plotting import CYCLE

    fig, ax = plt.subplots(2, 2, figsize=(11, 8))
    a = ax[0, 0]
    for i, (lab, (t, e_ch, e_one)) in enumerate(errs.items()):
        a.semilogy(t, np.maximum(e_ch, 1e-17), color=CYCLE[i], label=f"{lab}: chunked")
        a.semilogy(t, np.maximum(e_one, 1e-17), color=CYCLE[i], ls="--", label=f"{lab}: one-shot")
    a.set_xlabel("time $t$"); a.set_ylabel(r"$\max_{ij}|S_{\rm closed}(t) - S_{\rm ivp}(t)|$")
    a.set_title("closed form against solve_ivp"); a.legend(fontsize="x-small")
    a = ax[0, 1]
    for i, (lab, (etas, e)) in enumerate(gd_err.items()):
        a.loglog(etas, e, "o-", color=CYCLE[i], label=lab)
    etas = np.asarray(next(iter(gd_err.values()))[0])
    e0 = next(iter(gd_err.values()))[1][0]
    a.loglog(etas, e0 * etas / etas[0], color="grey", ls=":", label="slope 1")
    a.xaxis.set_minor_formatter(mticker.NullFormatter())
    a.set_xticks(etas, [f"{v:g}" for v in etas])
    a.set_xlabel(r"step size $\eta$"); a.set_ylabel(r"$\max_t |S_{\rm GD}(t/\eta) - S(t)|$")
    a.set_title("GD against the flow"); a.legend(fontsize="x-small")
    a = ax[1, 0]
    for i, (s, (dl, T)) in enumerate(times_scalar.items()):
        a.plot(np.log(s / dl), s * T, "o", color=CYCLE[i], ms=4, label=rf"scalar ODE, $\sigma={s:g}$")
    sd, dl, T = time_matrix
    a.plot(np.log(sd / dl), sd * T, "s-", color="black", ms=4, label=r"matrix, $r=\mathrm{rank}\,\Sigma$: $f\leq\delta$")
    x = np.linspace(0, a.get_xlim()[1], 20)
    base = min(s * T[0] - 0.5 * np.log(s / dl[0]) for s, (dl, T) in times_scalar.items())
    a.plot(x, base + 0.5 * x, color="grey", ls=":", label="slope 1/2")
    a.set_xlabel(r"$\ln(\sigma_d/\delta)$"); a.set_ylabel(r"$\sigma_d\,T_\delta$")
    a.set_title(r"time to $\delta$: $\Theta(\sigma_d^{-1}\ln(\sigma_d/\delta))$"); a.legend(fontsize="x-small")
    a = ax[1, 1]
    dl, T = time_over
    a.loglog(1 / dl, T, "o-", color=CYCLE[1], label=r"matrix, $r>\mathrm{rank}\,\Sigma$: $f\leq\delta$")
    a.loglog(1 / dl, T[-1] * np.sqrt(dl[-1] / dl), color="grey", ls=":", label=r"$\propto\delta^{-1/2}$")
    a.set_xlabel(r"$1/\delta$"); a.set_ylabel(r"$T_\delta$")
    a.set_title("over-parametrised: polynomial, not logarithmic"); a.legend(fontsize="x-small")
    fig.tight_layout()
    return fig


def plot_lemmas(slacks, eq12):
    r"""Left: empirical CDF of the lemmas' slack divided by their :math:`\eta^2` term. Right:
    error of eq. (12) with the corrected and the printed sign against :math:`\eta`."""
    from ...plotting import CYCLE

    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4))
    for i, (col, lab) in enumerate((("slack32_scaled", "Lemma 3.2"),
                                    ("slack33_scaled", r"Lemma 3.3 ($p<0$)"))):
        v = np.sort(slacks[col].dropna().to_numpy())
        a.semilogx(np.maximum(v, 1e-3), np.arange(1, v.size + 1) / v.size, color=CYCLE[i], label=lab)
    a.axvline(1.0, color="black", ls="--", lw=1, label=r"slack $=$ the $\eta^2$ term")
    a.set_xlabel(r"slack / $\frac{8+6\beta}{1-\beta}\sigma_1^3\eta^2$")
    a.set_ylabel("fraction of instances")
    a.set_title("Lemmas 3.2 and 3.3 on random instances")
    a.legend(fontsize="x-small")
    g = eq12.groupby("eta")[["corrected", "printed"]].max()
    b.loglog(g.index, g["printed"], "o-", color=color("AMagd"), label=r"printed $(B+\eta PB)$")
    b.loglog(g.index, np.maximum(g["corrected"], 1e-17), "s-", color=color("GD"),
             label=r"corrected $(B-\eta PB)$")
    e = g.index.to_numpy()
    b.loglog(e, g["printed"].iloc[-1] * (e / e[-1]) ** 2, color="grey", ls=":", label=r"$\propto\eta^2$")
    b.set_xlabel(r"step size $\eta$")
    b.set_ylabel(r"$\|P^+_{\rm (12)} - P^+_{\rm GD}\|_F / \|P\|_F$ (max over states)")
    b.set_title("eq. (12): printed vs corrected sign")
    b.legend(fontsize="x-small")
    fig.tight_layout()
    return fig


MOD_COLORS = {m: color(m) for m in ("GD", "GD + balancing", "perturbed GD")}


def plot_modifications(df, starts):
    r"""Grouped bars per start (``starts``: list of (label, mask-able key) pairs over column
    ``start``): median iterations to :math:`\delta` (range over seeds as error bars; "stuck" when
    no run converged) and median final imbalance :math:`\|\mathbf U^\top\mathbf U-\mathbf V^\top\mathbf V\|_F`."""
    methods = list(MOD_COLORS)
    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4))
    w = 0.8 / len(methods)
    for j, mth in enumerate(methods):
        for i, st in enumerate(starts):
            g = df[(df["start"] == st) & (df["method"] == mth)]
            it = g["iterations"]
            x = i + (j - (len(methods) - 1) / 2) * w
            if it.notna().any():
                med = it.median()
                a.bar(x, med, w, color=MOD_COLORS[mth], label=mth if i == 0 else None)
                a.errorbar(x, med, yerr=[[med - it.min()], [it.max() - med]], color="black",
                           capsize=2, lw=0.8)
            else:
                a.bar(x, 0, w, color=MOD_COLORS[mth], label=mth if i == 0 else None)
                a.text(x, 50, "stuck", rotation=90, ha="center", va="bottom", fontsize="x-small")
            bal = g["balance_end"].median()
            b.bar(x, max(bal, 1e-18), w, color=MOD_COLORS[mth], label=mth if i == 0 else None)
    for ax in (a, b):
        ax.set_xticks(range(len(starts)), [st.replace(", ", ",\n") for st in starts])
        ax.set_xlabel("start")
    a.set_ylabel(r"iterations to $(f - f^\star)/f(0,0)\leq\delta$")
    b.set_yscale("log")
    b.set_ylabel(r"final $\|\mathbf{U}^\top\mathbf{U}-\mathbf{V}^\top\mathbf{V}\|_F$ (median)")
    a.legend(fontsize="x-small", loc="upper left")
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------------------------------------
# chapter figures from a chapter Result (the notebooks call these)
# ---------------------------------------------------------------------------------------------

def fig_global_seeds(result):
    """Chapter global-convergence: loss curves of every seed with the stage-two rate anchored
    where the slowest seed's loss is 1e-3."""
    p, curves = result.params, result.curves
    fig, ax = plt.subplots(figsize=(7, 4.2))
    long_run = int(result.runs["iterations"].idxmax())
    it_ref, f_ref = (np.asarray(v) for v in curves[long_run])
    k = int(np.searchsorted(-f_ref, -1e-3))
    plot_seed_curves(curves, delta=p.delta, eta=p.eta, sigma_d=p.sigmas[-1], ax=ax,
                     ref_anchor=(it_ref[k], f_ref[k]))
    ax.set_title(rf"$m={p.m}$, $n={p.n}$, $\sigma=({', '.join(f'{v:g}' for v in p.sigmas)})$, "
                 rf"$\varepsilon={p.eps:g}$, $\eta={p.eta:g}$, {p.n_seeds} seeds")
    return fig


def fig_global_eta(result):
    """Chapter global-convergence: the step-size sweep with the line :math:`1/\\sigma_1`."""
    sweep, s1 = result.sweep, result.params.sigmas[0]
    fig, ax = plt.subplots(figsize=(6.4, 4))
    small = sweep[sweep["eta"] == sweep["eta"].min()]
    plot_eta_sweep(sweep, flow_time=float((small["eta"] * small["iterations"]).median()), ax=ax)
    ax.axvline(1 / s1, color="grey", ls=":", lw=1)
    ax.text(1 / s1, ax.get_ylim()[0], r" $1/\sigma_1$", va="bottom", fontsize="small")
    return fig


def fig_scaling(result):
    """Chapter t-total-scaling: one panel per knob, with the formula scaled by the median ratio."""
    return plot_scaling(result.df, list(result.params.grids), C=float(result.ratio.median()))


def fig_two_stages(result):
    """Chapter two-stages: the nine block panels of the first seed's run."""
    r0, p = result.runs[0], result.params
    return plot_stages(r0["frame"], result.bounds(r0["c"]), T1=r0["T1"], T0=r0["T0"], eta=p.eta,
                       sigma_d=p.sigmas[-1], p_low=result.p_low(r0["c"]))


def fig_balance(result):
    """Chapter auto-balancing: drift against flow time and against the step size."""
    return plot_balance(result.runs, result.trackers, result.flow_t, result.flow_dist)


def fig_flow(result):
    """Chapter gradient-flow: the four panels of :func:`plot_flow`."""
    from .gradient_flow import figure_inputs

    return plot_flow(*figure_inputs(result))


def fig_lemmas(result):
    """Chapter lemmas: slack distributions and the eq. (12) errors."""
    return plot_lemmas(result.slacks, result.eq12)


def fig_modifications(result):
    """Chapter modifications: iterations and final imbalance per start and method."""
    from .modifications import STARTS

    return plot_modifications(result.runs, list(STARTS))


def plot_kappa(K, *, eta, sigma_d):
    r"""The :math:`\kappa` sweep. Left: :math:`\eta\sigma_d T_2` against :math:`\kappa` (log axis;
    dots: seeds, line: median) with the bound of eq. (18) (constant 1), whose slope in
    :math:`\ln\kappa` is the predicted one, and the logistic flow's :math:`\ln(3)/2`. Right:
    :math:`\|P_{T_1}\|/\sigma_d` against the proof's bound :math:`\kappa`."""
    from .two_stages import T2_LOGISTIC

    u = eta * sigma_d
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    kap = np.sort(K["kappa"].unique())
    med = K.groupby("kappa")
    ax = axes[0]
    ax.scatter(K["kappa"], K["T2"] * u, s=12, color=color("GD"), alpha=0.5, label="seeds")
    ax.plot(kap, med["T2"].median().to_numpy() * u, color=color("GD"), lw=1.8,
            label=r"median $\eta\sigma_d T_2$ (measured)")
    ax.plot(kap, med["T2_bound"].first().to_numpy() * u, color="black", ls="--",
            label=r"eq. (18), constant 1: $\ln(4\kappa)$ (slope 1 in $\ln\kappa$)")
    ax.axhline(T2_LOGISTIC, color="grey", ls=":", label=r"logistic flow: $\ln(3)/2$")
    ax.set_xscale("log"); ax.set_ylim(bottom=0)
    ax.set_xlabel(r"condition number $\kappa = \sigma_1/\sigma_d$")
    ax.set_ylabel(r"$\eta\sigma_d\,T_2$, $T_2 = T_0 - T_1$")
    ax.set_title(r"stage-two time against $\kappa$")
    ax.legend(loc="upper left", fontsize="small")
    ax = axes[1]
    ax.scatter(K["kappa"], K["P_T1"] / sigma_d, s=12, color=color("GD"), alpha=0.5,
               label=r"$\|P_{T_1}\|/\sigma_d$ (seeds)")
    ax.plot(kap, kap, color="black", ls="--", label=r"proof's bound $\sigma_1/\sigma_d = \kappa$")
    ax.axhline(0.25, color="grey", ls=":", label=r"target $\sigma_d/4$ (end of stage two)")
    ax.set_xscale("log"); ax.set_yscale("log")
    ax.set_xlabel(r"condition number $\kappa$")
    ax.set_title(r"$\|P\|$ at the end of the warm-up")
    ax.legend(loc="upper left", fontsize="small")
    fig.tight_layout()
    return fig


def fig_kappa(result):
    """Chapter two-stages: the kappa sweep (:func:`plot_kappa`)."""
    p = result.params
    return plot_kappa(result.kappa, eta=p.kappa_eta, sigma_d=p.sigmas[-1])

