r"""Experiments behind the theory chapters of paper 000 (Prop. 1, Theorem 1, Corollaries 1–2).

* :func:`make_family`: the instance families (matrix sensing, sensing with a ridge regulariser,
  sNMF with PSD and with indefinite :math:`M`).
* :func:`biconvexity_check`: block and joint Hessian spectra of :math:`F_\lambda` at random
  points (Proposition 1).
* :func:`symmetric_critical_point`, :func:`lifting_check`: a critical point of (3) found by
  (projected) gradient descent is a critical point of (5) for every :math:`\lambda`.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..factorizations.asymmetric import (kkt_residual, penalized_hessian, penalized_value,
                                         symmetric_grad, symmetric_kkt_residual, symmetric_value)
from ..problems.quadratic import sensing_instance
from ..problems.snmf import SymmetricNMF, random_indefinite_nonneg, random_psd_nonneg
from ..solvers.gd import gradient_descent

__all__ = ["balance_stats", "plot_corollary2", "corollary1_instance", "plot_corollary1", "FAMILIES", "make_family", "random_point", "biconvexity_check", "plot_biconvexity",
           "symmetric_critical_point", "lifting_check"]

#: Instance families used across the part.
FAMILIES = ("sensing", "sensing-ridge", "snmf-psd", "snmf-indefinite")


def make_family(name: str, rng: np.random.Generator, *, n: int = 8, r: int = 2, mu: float = 0.5):
    """One instance of family ``name`` (see :data:`FAMILIES`) of size ``n`` and rank ``r``."""
    if name == "sensing":
        return sensing_instance(n, r, 4 * n * r, rng)[0]
    if name == "sensing-ridge":
        return sensing_instance(n, r, 4 * n * r, rng, mu=mu)[0]
    if name == "snmf-psd":
        return SymmetricNMF(random_psd_nonneg(n, r, rng), r)
    if name == "snmf-indefinite":
        return SymmetricNMF(random_indefinite_nonneg(n, rng), r)
    raise ValueError(f"family must be one of {FAMILIES}, got {name!r}")


def random_point(problem, rng: np.random.Generator, scale: float = 1.0) -> np.ndarray:
    """A random factor: uniform on [0, scale] for sign-constrained problems, Gaussian otherwise."""
    shape = (problem.n, problem.r)
    if problem.reg.is_indicator:
        return scale * rng.uniform(size=shape)
    return scale * rng.standard_normal(shape) / np.sqrt(problem.n)


def biconvexity_check(problem, lams, n_points: int, rng: np.random.Generator) -> pd.DataFrame:
    r"""At ``n_points`` random :math:`(X, Y)` per :math:`\lambda`: the smallest eigenvalue of the
    block Hessians :math:`\nabla^2_{XX}F_\lambda`, :math:`\nabla^2_{YY}F_\lambda` and of the joint
    Hessian, and :math:`|F_\lambda(X, X) - h(X)|`."""
    N = problem.n * problem.r
    rows = []
    for lam in lams:
        for _ in range(n_points):
            X, Y = random_point(problem, rng), random_point(problem, rng)
            H = penalized_hessian(problem, X, Y, lam)
            rows.append({
                "lam": lam, "mu": problem.reg.mu,
                "lmin_XX": np.linalg.eigvalsh(H[:N, :N])[0],
                "lmin_YY": np.linalg.eigvalsh(H[N:, N:])[0],
                "lmin_joint": np.linalg.eigvalsh(H)[0],
                "lift_err": abs(penalized_value(problem, X, X, lam) - symmetric_value(problem, X)),
            })
    return pd.DataFrame(rows)


def symmetric_critical_point(problem, rng: np.random.Generator, *, step: float = 0.05,
                             max_iter: int = 50000, tol: float = 1e-10):
    r"""A critical point of (3), :math:`h(X) = f(XX^\top) + g(X)`, by gradient descent
    (projected onto :math:`X \ge 0` for sNMF) from a random start, using
    :func:`bmlab.solvers.gd.gradient_descent`. Stops when the KKT residual of (3) is below
    ``tol``. Returns the :class:`~bmlab.solvers.base.SolverResult`."""
    project = problem.reg.project if problem.reg.is_indicator else None
    X0 = random_point(problem, rng)
    return gradient_descent(
        lambda X: symmetric_grad(problem, X), X0, step=step, max_iter=max_iter, project=project,
        objective=lambda X: symmetric_value(problem, X),
        stop=lambda k, X, g: symmetric_kkt_residual(problem, X) <= tol,
        record_every=max(1, max_iter // 200))


def lifting_check(problem, X: np.ndarray, lams) -> pd.DataFrame:
    r"""KKT residual of (5) at :math:`(X, X)` for each :math:`\lambda` (zero at a critical point
    of (3), for every :math:`\lambda`), next to the residual of (3)."""
    r3 = symmetric_kkt_residual(problem, X)
    return pd.DataFrame([{"lam": lam, "kkt_split": kkt_residual(problem, X, X, lam), "kkt_sym": r3}
                         for lam in lams])


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


def balance_stats(X: np.ndarray, Y: np.ndarray) -> dict:
    r"""Column and Gram balance of a pair (Corollary 2(a), (d)): the largest
    :math:`|\|x_j\|^2 - \|y_j\|^2|` and :math:`\|X^\top X - Y^\top Y\|_F`, both divided by
    :math:`\max(1, \|X\|_F^2)`."""
    s = max(1.0, float(np.vdot(X, X)))
    col = np.abs(np.sum(X * X, 0) - np.sum(Y * Y, 0)).max() / s
    gram = float(np.linalg.norm(X.T @ X - Y.T @ Y)) / s
    return {"col_imbalance": float(col), "gram_imbalance": gram}


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


def corollary1_instance(problem, X0: np.ndarray, grid, *, max_iter: int = 5000, tol: float = 1e-9,
                        margin: float = 1.01) -> tuple[dict, dict]:
    r"""Corollary 1 on one sNMF instance from the symmetric start :math:`X^0 = Y^0`.

    Returns ``(row, runs)``. ``row`` holds bounds (11), (12) and Zhu et al.'s at the start; the
    outcome of AM with :math:`\lambda = ` ``margin`` :math:`\times` (12); bound (10) at its limit;
    the empirical threshold (the largest :math:`\lambda` in ``grid`` :math:`\times` (12) whose run
    from the same start ends asymmetric, 0 if none); and the decreasing-penalty variant
    (:class:`~bmlab.solvers.alternating.StartBoundPenalty`). ``runs`` keeps the two
    :class:`~bmlab.solvers.base.SolverResult` objects (``fixed``, ``decreasing``).
    """
    import time

    from ..bounds.exact_penalty import (corollary1_bound11, corollary1_bound12, theorem1_bound,
                                        zhu_bound)
    from ..solvers.alternating import StartBoundPenalty, alternating_minimization

    Z0 = X0 @ X0.T
    f0 = problem.f(Z0)
    b12 = corollary1_bound12(f0, 0.0, problem.L, mu=problem.reg.mu)
    b11 = corollary1_bound11(problem.grad_f(Z0), f0, 0.0, problem.L, mu=problem.reg.mu)
    t0 = time.perf_counter()
    fixed = alternating_minimization(problem, X0, X0, penalty=margin * b12, max_iter=max_iter, tol=tol)
    t_fixed = time.perf_counter() - t0
    Xf, Yf = fixed.x
    gap_rel = float(np.linalg.norm(Xf - Yf)) / max(1.0, float(np.linalg.norm(Xf)))
    lam_emp = 0.0
    for c in sorted(grid, reverse=True):
        res = alternating_minimization(problem, X0, X0, penalty=c * b12, max_iter=max_iter, tol=tol,
                                       record_every=max_iter)
        X, Y = res.x
        if res.status == "converged" and np.linalg.norm(X - Y) > 1e-6 * max(1.0, np.linalg.norm(X)):
            lam_emp = c * b12
            break
    dec = alternating_minimization(problem, X0, X0, penalty=StartBoundPenalty(margin), lam0=margin * b12,
                                   max_iter=max_iter, tol=tol)
    Xd, Yd = dec.x
    row = {
        "bound (11)": b11, "bound (12)": b12, "Zhu et al.": zhu_bound(problem.M, X0),
        "AM status": fixed.status, "AM sweeps": fixed.n_iter, "AM time [s]": t_fixed,
        "final |X-Y| (rel)": gap_rel,
        "bound (10) at limit": theorem1_bound(problem.grad_f(Xf @ Yf.T), problem.reg.mu),
        "empirical threshold": lam_emp,
        "decreasing: status": dec.status, "decreasing: sweeps": dec.n_iter,
        "decreasing: final lambda": float(dec.history["lam"][-1]),
        "decreasing: final |X-Y| (rel)": float(np.linalg.norm(Xd - Yd)) / max(1.0, float(np.linalg.norm(Xd))),
    }
    return row, {"fixed": fixed, "decreasing": dec}


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
