r"""Experiments on randomly initialised GD for :math:`\tfrac12\|\mathbf U\mathbf V^\top-\boldsymbol\Sigma\|_F^2`
(paper 002, Ye & Du). The paper has no experiments; these drivers turn its statements into
measurements (spec 002 §7, §9).

Every run goes through the shared loop :func:`bmlab.solvers.gd.gradient_descent`; the block
quantities of the analysis (:math:`A, B, J, K, P, Q`, spec 002 §3–4) are computed by
:class:`BlockTracker`, which the loop feeds through its ``callback``.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ...problems.factorization import AsymmetricFactorization, low_rank_matrix
from ...solvers.base import SolverResult
from ...solvers.gd import gradient_descent

__all__ = [
    "Instance", "make_instance", "geometric_sigmas", "gaussian_init", "run_gd",
    "blocks", "named_matrices", "residual_split", "balance_step_drift", "p_update_eq12",
    "BlockTracker", "stage_times", "SeedSweepParams", "seed_sweep", "ScalingParams",
    "scaling_grid", "WarmupClock", "slope_table", "linear_rate", "eta_sweep", "fit_r2", "tracked_runs", "SPLIT_TERMS", "BalanceTracker", "balance_drift_runs", "MOD_METHODS", "modifications_compare",
    "principal_series", "batched_stage_times", "scaling_grid_batch",
]


# ---------------------------------------------------------------------------------------------
# instances and runs
# ---------------------------------------------------------------------------------------------

@dataclass
class Instance:
    r"""A rank-:math:`d` target :math:`\boldsymbol\Sigma = \Phi\Sigma'\Psi^\top`."""

    Sigma: np.ndarray
    Phi: np.ndarray
    Psi: np.ndarray
    sigmas: np.ndarray

    @property
    def m(self) -> int:
        return self.Sigma.shape[0]

    @property
    def n(self) -> int:
        return self.Sigma.shape[1]

    @property
    def d(self) -> int:
        return self.sigmas.size

    @property
    def kappa(self) -> float:
        return float(self.sigmas[0] / self.sigmas[-1])

    def problem(self, balance: float = 0.0) -> AsymmetricFactorization:
        return AsymmetricFactorization(self.Sigma, balance=balance)


def geometric_sigmas(d: int, sigma_d: float, kappa: float) -> np.ndarray:
    r""":math:`\sigma_i = \sigma_d\kappa^{(d-i)/(d-1)}`, from :math:`\kappa\sigma_d` down to
    :math:`\sigma_d` (:math:`d = 1`: just :math:`\sigma_d`)."""
    if d < 1:
        raise ValueError(f"d must be >= 1, got {d!r}")
    return sigma_d * kappa ** np.linspace(1.0, 0.0, d) if d > 1 else np.array([float(sigma_d)])


def make_instance(m: int, n: int, sigmas, rng: np.random.Generator) -> Instance:
    """Random singular vectors, prescribed singular values (spec 002 §7)."""
    Sigma, Phi, Psi = low_rank_matrix(m, n, sigmas, rng)
    return Instance(Sigma, Phi, Psi, np.sort(np.asarray(sigmas, dtype=float))[::-1])


def gaussian_init(m: int, n: int, d: int, eps: float, rng: np.random.Generator):
    r""":math:`\mathbf U_0, \mathbf V_0` with i.i.d. :math:`\mathcal N(0,\varepsilon^2)` entries
    (Theorem 1.1, FOUND)."""
    if not eps > 0:
        raise ValueError(f"eps must be positive, got {eps!r}")
    return eps * rng.standard_normal((m, d)), eps * rng.standard_normal((n, d))


def run_gd(problem: AsymmetricFactorization, x0, *, eta: float, max_iter: int,
           delta: float | None = None, relative: bool = True, record_every: int = 1,
           callback=None, perturbation=None, rng=None, f_star: float = 0.0) -> SolverResult:
    r"""GD (2)–(3) through the shared loop, stopping at the first :math:`t` with
    :math:`f - f^\star \le \delta` (``relative``: :math:`(f - f^\star)/f(0,0) \le \delta`;
    :math:`f^\star = 0` unless ``f_star`` is given, e.g. from the truncated SVD).

    ``history["objective"]`` is the plain loss (relative when ``relative``), whatever the
    regulariser; the result also carries ``wall_time`` in ``history`` as one number per record
    would be misleading, so it is returned as the attribute ``result.wall_time``.
    """
    scale = problem.f0 if relative else 1.0
    obj = lambda x: problem.loss(x) / scale  # noqa: E731
    stop = None
    if delta is not None:
        thr = float(delta) * scale
        stop = lambda k, x, g: problem.loss(x) - f_star <= thr  # noqa: E731
    t0 = time.perf_counter()
    res = gradient_descent(problem.grad, tuple(x0), step=eta, max_iter=max_iter, objective=obj,
                           stop=stop, callback=callback, record_every=record_every,
                           perturbation=perturbation, rng=rng)
    res.wall_time = time.perf_counter() - t0
    return res


# ---------------------------------------------------------------------------------------------
# block reduction (spec 002 §3–4)
# ---------------------------------------------------------------------------------------------

def blocks(inst: Instance, x):
    r"""Rotate by the SVD of :math:`\boldsymbol\Sigma` and cut (FOUND, §2.1):
    :math:`\mathbf U' = \Phi^\top\mathbf U = [U; J]`, :math:`\mathbf V' = \Psi^\top\mathbf V = [V; K]`."""
    U, V = x
    d = inst.d
    Ur, Vr = inst.Phi.T @ U, inst.Psi.T @ V
    return Ur[:d], Vr[:d], Ur[d:], Vr[d:]


def named_matrices(Ub, Vb, sigmas):
    r""":math:`A=(U+V)/2`, :math:`B=(U-V)/2`, :math:`P=\Sigma-AA^\top+BB^\top`,
    :math:`Q=AB^\top-BA^\top` (FOUND, §2.1)."""
    A, B = (Ub + Vb) / 2, (Ub - Vb) / 2
    P = np.diag(sigmas) - A @ A.T + B @ B.T
    Q = A @ B.T - B @ A.T
    return A, B, P, Q


def residual_split(Ub, Vb, J, K, sigmas) -> np.ndarray:
    r"""The five terms of :math:`\|\boldsymbol\Sigma-\mathbf U\mathbf V^\top\|_F^2 = \|P\|_F^2 +
    \|Q\|_F^2 + \|UK^\top\|_F^2 + \|JV^\top\|_F^2 + \|JK^\top\|_F^2` (DERIVED, spec 002 §4; the
    paper's summary omits the :math:`\|JV^\top\|_F^2` term)."""
    _, _, P, Q = named_matrices(Ub, Vb, sigmas)
    return np.array([np.sum(P * P), np.sum(Q * Q), np.sum((Ub @ K.T) ** 2),
                     np.sum((J @ Vb.T) ** 2), np.sum((J @ K.T) ** 2)])


def balance_step_drift(problem: AsymmetricFactorization, x, eta: float) -> np.ndarray:
    r"""Predicted change of :math:`\mathbf U^\top\mathbf U-\mathbf V^\top\mathbf V` over one GD
    step (DERIVED, spec 002 §9): :math:`\eta^2(\mathbf V^\top R^\top R\mathbf V -
    \mathbf U^\top RR^\top\mathbf U)`, :math:`R = \boldsymbol\Sigma-\mathbf U\mathbf V^\top`."""
    U, V = x
    R = problem.residual(x)
    RV, RtU = R @ V, R.T @ U
    return eta ** 2 * (RV.T @ RV - RtU.T @ RtU)


def p_update_eq12(Ub, Vb, J, K, sigmas, eta: float, sign: int = -1) -> np.ndarray:
    r"""Eq. (12): :math:`P^+` from :math:`A, B, C, D` at step :math:`t`.

    ``sign=-1`` uses the corrected factor :math:`(B - \eta PB)` (DERIVED, spec 002 §4);
    ``sign=+1`` the printed :math:`(B + \eta PB)`.
    """
    if sign not in (-1, 1):
        raise ValueError(f"sign must be -1 (corrected) or +1 (printed), got {sign!r}")
    Sig = np.diag(sigmas)
    A, B, P, Q = named_matrices(Ub, Vb, sigmas)
    KK, JJ = K.T @ K, J.T @ J
    C = -A @ B.T @ B + B @ A.T @ B - A @ (KK + JJ) / 2 - B @ (KK - JJ) / 2
    D = A @ B.T @ A - B @ A.T @ A - A @ (KK - JJ) / 2 - B @ (KK + JJ) / 2
    Ae = A + eta * P @ A
    Be = B + sign * eta * P @ B
    BB = B @ B.T
    return (P - eta * P @ (Sig - P) - eta * (Sig - P) @ P + eta ** 2 * (P @ P @ P - P @ Sig @ P)
            - 2 * eta * BB @ P - 2 * eta * P @ BB
            - eta * Ae @ C.T - eta * C @ Ae.T - eta ** 2 * C @ C.T
            + eta * Be @ D.T + eta * D @ Be.T + eta ** 2 * D @ D.T)


# ---------------------------------------------------------------------------------------------
# the tracker
# ---------------------------------------------------------------------------------------------

SPLIT_TERMS = ("P2", "Q2", "UK2", "JV2", "JK2")
TRACKED = ("iter", "loss", "rel_loss", "sd_A", "AA_over_Sigma", "B_F", "J_op", "K_op", "P_op",
           "lam_min_P", "Q_F", "Delta", "min_sd_UV", "split_err", "balance", "drift_err",
           "drift", "U_op2", "V_op2") + SPLIT_TERMS


@dataclass
class BlockTracker:
    r"""Records the block quantities of spec 002 §9 along a GD run.

    Pass :meth:`__call__` as the ``callback`` of :func:`run_gd`, after calling
    :meth:`observe` on the starting point. Every ``every`` iterations it records
    :math:`\sigma_d(A)`, :math:`\|B\|_F`, :math:`\|J\|`, :math:`\|K\|`, :math:`\|P\|`,
    :math:`\lambda_{\min}(P)`, :math:`\|Q\|_F`, :math:`\Delta_t = \|\Sigma - UV^\top\|`,
    :math:`\min(\sigma_d(U), \sigma_d(V))`, :math:`\lambda_{\max}(\Sigma^{-1/2}AA^\top\Sigma^{-1/2})`
    (``AA_over_Sigma``; :math:`AA^\top \preceq 2\Sigma` iff it is at most 2), the loss, the five
    terms of the residual split (``P2`` ... ``JK2``) and the error of the split
    (relative to :math:`\|\boldsymbol\Sigma\|_F^2`), :math:`\|\mathbf U\|^2` and
    :math:`\|\mathbf V\|^2` (``U_op2``, ``V_op2``: the largest eigenvalues of
    :math:`U^\top U + J^\top J` and :math:`V^\top V + K^\top K`), the balance
    :math:`\|\mathbf U^\top\mathbf U-\mathbf V^\top\mathbf V\|_F`. With ``eta`` given it also
    checks, at **every** step, the one-step balance drift formula: ``drift_err`` is the
    largest :math:`\|\Delta D_{\rm actual} - \Delta D_{\rm formula}\|_F` relative to
    :math:`\|\boldsymbol\Sigma\|_F^2` since the last record; ``drift`` the actual
    :math:`\|\Delta D\|_F` of the last step.
    """

    inst: Instance
    every: int = 1
    eta: float | None = None
    _rows: dict = field(default_factory=lambda: {k: [] for k in TRACKED})
    _prev: tuple | None = None
    _drift_err: float = 0.0
    _drift: float = float("nan")

    def __post_init__(self):
        if self.every < 1:
            raise ValueError(f"every must be >= 1, got {self.every!r}")
        self._problem = self.inst.problem()
        self._S2 = float(np.sum(self.inst.Sigma ** 2))

    def observe(self, k: int, x) -> None:
        """Record the iterate ``x`` at iteration ``k`` (call it on the start point)."""
        self._record(k, x)
        self._prev = (x[0].copy(), x[1].copy())

    def __call__(self, k: int, x) -> None:
        if self.eta is not None and self._prev is not None:
            pred = balance_step_drift(self._problem, self._prev, self.eta)
            Dn, Dp = self._problem.imbalance(x), self._problem.imbalance(self._prev)
            act = Dn - Dp
            self._drift_err = max(self._drift_err, float(np.linalg.norm(act - pred)) / self._S2)
            self._drift = float(np.linalg.norm(act))
            self._prev = (x[0].copy(), x[1].copy())
        if k % self.every == 0:
            self._record(k, x)

    def _record(self, k, x):
        inst, r = self.inst, self._rows
        Ub, Vb, J, K = blocks(inst, x)
        A, B, P, Q = named_matrices(Ub, Vb, inst.sigmas)
        lamP = np.linalg.eigvalsh(P)
        R = self._problem.residual(x)
        R2 = float(np.sum(R * R))
        split = residual_split(Ub, Vb, J, K, inst.sigmas)
        r["iter"].append(k)
        r["loss"].append(0.5 * R2)
        r["rel_loss"].append(0.5 * R2 / self._problem.f0)
        r["sd_A"].append(np.linalg.svd(A, compute_uv=False)[-1])
        Ah = A / np.sqrt(inst.sigmas)[:, None]       # Sigma^{-1/2} A: AA^T <= 2 Sigma iff <= 2
        r["AA_over_Sigma"].append(np.linalg.norm(Ah, 2) ** 2)
        for name, val in zip(SPLIT_TERMS, split):
            r[name].append(val)
        r["B_F"].append(np.linalg.norm(B))
        r["J_op"].append(np.linalg.norm(J, 2) if J.size else 0.0)
        r["K_op"].append(np.linalg.norm(K, 2) if K.size else 0.0)
        r["P_op"].append(max(abs(lamP[0]), abs(lamP[-1])))
        r["lam_min_P"].append(lamP[0])
        r["Q_F"].append(np.linalg.norm(Q))
        r["Delta"].append(np.linalg.norm(np.diag(inst.sigmas) - Ub @ Vb.T, 2))
        r["min_sd_UV"].append(min(np.linalg.svd(Ub, compute_uv=False)[-1],
                                  np.linalg.svd(Vb, compute_uv=False)[-1]))
        r["split_err"].append(abs(R2 - split.sum()) / self._S2)
        r["balance"].append(np.linalg.norm(self._problem.imbalance(x)))
        r["drift_err"].append(self._drift_err)
        r["drift"].append(self._drift)
        # ||U||^2 = lambda_max(U^T U + J^T J), ||V||^2 = lambda_max(V^T V + K^T K) (rotation-invariant)
        r["U_op2"].append(np.linalg.norm(x[0], 2) ** 2)
        r["V_op2"].append(np.linalg.norm(x[1], 2) ** 2)
        self._drift_err = 0.0

    def frame(self) -> pd.DataFrame:
        """The records as a DataFrame, one row per recorded iteration."""
        return pd.DataFrame({k: np.asarray(v, dtype=float) for k, v in self._rows.items()})


def stage_times(df: pd.DataFrame, sigma_d: float) -> dict:
    r"""From a tracker frame: :math:`T_1` (first :math:`\sigma_d(A) \ge \sqrt{\sigma_d/2}`) and
    :math:`T_0` (first record after :math:`T_1` with :math:`\|P\| \le \sigma_d/4`), as in the
    statement of Theorem 3.1 (NaN when not reached)."""
    it = df["iter"].to_numpy()
    up = df["sd_A"].to_numpy() >= np.sqrt(sigma_d / 2)
    t1 = it[np.argmax(up)] if up.any() else np.nan
    ok = up & (df["P_op"].to_numpy() <= sigma_d / 4)
    t0 = it[np.argmax(ok)] if ok.any() else np.nan
    return {"T1": float(t1), "T0": float(t0)}


def tracked_runs(p: SeedSweepParams, seeds, rng_for, n_iter: int, every: int = 1):
    """GD with a :class:`BlockTracker` for each seed (fixed number of iterations). Returns a list
    of dicts with the instance, the init constant ``c`` (:func:`init_constant`), the tracker frame
    and the stage times."""
    from ...bounds.gd_asymmetric import init_constant

    out = []
    for s in seeds:
        rng = rng_for(s)
        inst = make_instance(p.m, p.n, p.sigmas, rng)
        x0 = gaussian_init(p.m, p.n, inst.d, p.eps, rng)
        tr = BlockTracker(inst, every=every, eta=p.eta)
        tr.observe(0, x0)
        res = run_gd(inst.problem(), x0, eta=p.eta, max_iter=n_iter, record_every=n_iter,
                     callback=tr)
        df = tr.frame()
        out.append({"seed": s, "inst": inst, "c": init_constant(*blocks(inst, x0), p.eps),
                    "frame": df, "result": res, **stage_times(df, inst.sigmas[-1])})
    return out


# ---------------------------------------------------------------------------------------------
# sweeps
# ---------------------------------------------------------------------------------------------

@dataclass
class SeedSweepParams:
    """Chapter 1: one shape, many seeds (each seed draws Σ's singular vectors and the init)."""

    m: int = 20
    n: int = 15
    sigmas: tuple = (3.0, 2.0, 1.0)
    eps: float = 1e-3
    eta: float = 0.01
    delta: float = 1e-10          # relative: f / f(0,0)
    max_iter: int = 20_000
    record_every: int = 10


def seed_sweep(p: SeedSweepParams, seeds, rng_for):
    """Run GD for each seed; return (summary DataFrame, list of loss histories)."""
    rows, curves = [], []
    for s in seeds:
        rng = rng_for(s)
        inst = make_instance(p.m, p.n, p.sigmas, rng)
        x0 = gaussian_init(p.m, p.n, inst.d, p.eps, rng)
        prob = inst.problem()
        res = run_gd(prob, x0, eta=p.eta, max_iter=p.max_iter, delta=p.delta,
                     record_every=p.record_every)
        curves.append((res.history["iter"], res.history["objective"]))
        rows.append({"seed": s, "status": res.status, "iterations": res.n_iter,
                     "final_rel_loss": res.history["objective"][-1], "time_s": res.wall_time})
    return pd.DataFrame(rows), curves


@dataclass
class ScalingParams:
    r"""Chapter 2: base configuration; one knob varies at a time. ``delta`` is absolute
    (:math:`f \le \delta`, as in Theorem 1.1)."""

    m: int = 20
    n: int = 15
    d: int = 3
    sigma_d: float = 1.0
    kappa: float = 3.0
    eps: float = 1e-3
    eta: float = 0.01
    delta: float = 1e-8
    max_iter: int = 200_000


KNOBS = ("eta", "eps", "sigma_d", "delta", "d", "m+n")


def _config(p: ScalingParams, knob: str, value) -> dict:
    c = {"m": p.m, "n": p.n, "d": p.d, "sigma_d": p.sigma_d, "kappa": p.kappa, "eps": p.eps,
         "eta": p.eta, "delta": p.delta}
    if knob == "m+n":
        frac = p.m / (p.m + p.n)
        c["m"] = int(round(value * frac))
        c["n"] = int(value) - c["m"]
    elif knob in c:
        c[knob] = type(c[knob])(value)
    else:
        raise ValueError(f"knob must be one of {KNOBS}, got {knob!r}")
    return c


class WarmupClock:
    r"""A ``callback`` of :func:`run_gd` that notes :math:`T_1`, the first iteration with
    :math:`\sigma_d(A_t) \ge \sqrt{\sigma_d/2}`, :math:`A = (U + V)/2` the symmetrised principal
    block (the end of the warm-up in Theorem 3.1; NaN until reached). Call it on the start."""

    def __init__(self, inst: Instance):
        d = inst.d
        self._Phi, self._Psi = inst.Phi[:, :d].T, inst.Psi[:, :d].T
        self._target = np.sqrt(inst.sigmas[-1] / 2)
        self.T1 = np.nan

    def __call__(self, k: int, x) -> None:
        if np.isfinite(self.T1):
            return
        A = (self._Phi @ x[0] + self._Psi @ x[1]) / 2
        if np.linalg.svd(A, compute_uv=False)[-1] >= self._target:
            self.T1 = float(k)


def scaling_grid(p: ScalingParams, knob: str, values, seeds, rng_for,
                 warmup: bool = False) -> pd.DataFrame:
    r"""Iterations to :math:`f \le \delta` for each value of ``knob`` and each seed. For a
    seed, the instance's singular vectors and the unit-scale Gaussian draws are shared by all
    values of ``eta``, ``eps``, ``sigma_d`` and ``delta`` (common random numbers). With
    ``warmup`` the column ``T1`` holds the end of the warm-up (:class:`WarmupClock`; NaN
    otherwise)."""
    from ...bounds.gd_asymmetric import t_total

    rows = []
    for s in seeds:
        for v in values:
            c = _config(p, knob, v)
            rng = rng_for(s, c["m"], c["n"], c["d"])
            sig = geometric_sigmas(c["d"], c["sigma_d"], c["kappa"])
            inst = make_instance(c["m"], c["n"], sig, rng)
            x0 = gaussian_init(c["m"], c["n"], c["d"], c["eps"], rng)
            t1 = WarmupClock(inst) if warmup else None
            if t1 is not None:
                t1(0, x0)
            res = run_gd(inst.problem(), x0, eta=c["eta"], max_iter=p.max_iter,
                         delta=c["delta"], relative=False, record_every=p.max_iter, callback=t1)
            T = float(res.n_iter) if res.status == "converged" else np.nan
            rows.append({"knob": knob, "value": float(v), "seed": s, "T": T, "T1": t1.T1 if t1 is not None else np.nan,
                         "status": res.status,
                         "T_pred": float(t_total(c["eta"], c["eps"], c["sigma_d"], c["delta"], c["d"])),
                         **{k: c[k] for k in ("eta", "eps", "sigma_d", "delta", "d")},
                         "m+n": c["m"] + c["n"], "time_s": res.wall_time})
    return pd.DataFrame(rows)


def _slope(x, y):
    x, y = np.asarray(x, float), np.asarray(y, float)
    ok = np.isfinite(x) & np.isfinite(y)
    if ok.sum() < 2:
        return np.nan
    return float(np.polyfit(x[ok], y[ok], 1)[0])


#: How each knob enters the fit: (x transform, y transform, label).
FIT_AXES = {
    "eta": ("log", "log", "d ln T / d ln eta"),
    "sigma_d": ("log", "log", "d ln T / d ln sigma_d"),
    "eps": ("neglog", "lin", "eta sigma_d dT / d ln(1/eps)"),
    "delta": ("neglog", "lin", "eta sigma_d dT / d ln(1/delta)"),
    "d": ("log", "lin", "eta sigma_d dT / d ln d"),
    "m+n": ("log", "log", "d ln T / d ln(m+n)"),
}


def _axes(df, knob, col):
    xt, yt, _ = FIT_AXES[knob]
    x = df["value"].to_numpy(float)
    x = np.log(x) if xt == "log" else -np.log(x)
    y = df[col].to_numpy(float)
    if yt == "log":
        y = np.log(y)
    else:
        y = y * df["eta"].to_numpy(float) * df["sigma_d"].to_numpy(float)
    return x, y


def slope_table(df: pd.DataFrame, level: float = 0.95, col: str = "T") -> pd.DataFrame:
    """Per knob: the slope fitted on each seed (mean, t confidence interval over seeds) beside
    the slope of the prediction :func:`bmlab.bounds.gd_asymmetric.t_total` on the same grid."""
    from scipy import stats

    rows = []
    for knob, g in df.groupby("knob", sort=False):
        per_seed = []
        for _, gs in g.groupby("seed"):
            per_seed.append(_slope(*_axes(gs, knob, col)))
        per_seed = np.asarray(per_seed)
        per_seed = per_seed[np.isfinite(per_seed)]
        k = per_seed.size
        mean = float(per_seed.mean()) if k else np.nan
        half = float(stats.t.ppf(0.5 + level / 2, k - 1) * per_seed.std(ddof=1) / np.sqrt(k)) if k > 1 else np.nan
        pred = _slope(*_axes(g.drop_duplicates("value"), knob, "T_pred"))
        rows.append({"knob": knob, "quantity": FIT_AXES[knob][2], "fitted": mean,
                     "ci_low": mean - half, "ci_high": mean + half, "predicted": pred,
                     "seeds": k})
    return pd.DataFrame(rows)


def linear_rate(iters, rel_loss, lo: float = 1e-9, hi: float = 1e-5) -> float:
    r"""Per-step decay rate :math:`r` of the loss in its linear phase, from a least-squares fit
    :math:`\ln f_t \approx a - r t` over the records with ``lo`` :math:`\le f_t \le` ``hi``
    (NaN with fewer than 3 such records)."""
    it, f = np.asarray(iters, float), np.asarray(rel_loss, float)
    ok = (f >= lo) & (f <= hi)
    if ok.sum() < 3:
        return np.nan
    return float(-np.polyfit(it[ok], np.log(f[ok]), 1)[0])


def eta_sweep(p: SeedSweepParams, etas, seeds, rng_for, horizon: float = 150.0) -> pd.DataFrame:
    r"""Iterations to :math:`f/f(0,0) \le \delta` for each step size and seed (same instance
    and initialization for every step size of a seed). ``max_iter`` is
    ``horizon / eta`` + 1000, i.e. a fixed gradient-flow time."""
    rows = []
    for s in seeds:
        for eta in etas:
            rng = rng_for(s)
            inst = make_instance(p.m, p.n, p.sigmas, rng)
            x0 = gaussian_init(p.m, p.n, inst.d, p.eps, rng)
            res = run_gd(inst.problem(), x0, eta=float(eta), max_iter=int(horizon / eta) + 1000,
                         delta=p.delta, record_every=10 ** 9)
            rows.append({"seed": s, "eta": float(eta), "status": res.status,
                         "iterations": res.n_iter if res.status == "converged" else np.nan})
    return pd.DataFrame(rows)


def fit_r2(df: pd.DataFrame, knob: str, col: str = "T") -> float:
    """Smallest, over seeds, coefficient of determination of the straight-line fit used by
    :func:`slope_table` for ``knob`` (how well the predicted functional form fits), of column
    ``col`` (``"T"``, or ``"T1"`` for the warm-up alone)."""
    out = []
    for _, gs in df[df["knob"] == knob].groupby("seed"):
        x, y = _axes(gs, knob, col)
        ok = np.isfinite(x) & np.isfinite(y)
        if ok.sum() < 3:
            continue
        res = y[ok] - np.polyval(np.polyfit(x[ok], y[ok], 1), x[ok])
        out.append(1 - np.sum(res ** 2) / np.sum((y[ok] - y[ok].mean()) ** 2))
    return float(np.min(out)) if out else np.nan


@dataclass
class BalanceTracker:
    r"""Follows :math:`D_t = \mathbf U_t^\top\mathbf U_t - \mathbf V_t^\top\mathbf V_t` along a GD
    run (a ``callback`` of :func:`run_gd`; call :meth:`observe` on the start point).

    At every step it compares the actual change :math:`D_{t+1}-D_t` with the one-step formula
    :func:`balance_step_drift`; every ``every`` steps it records :math:`\|D_t - D_0\|_F`.
    ``step_drift_max`` is the largest :math:`\|D_{t+1}-D_t\|_F`, ``formula_err_max`` the largest
    :math:`\|(D_{t+1}-D_t) - \text{formula}\|_F` (absolute).
    """

    problem: AsymmetricFactorization
    eta: float
    every: int = 1
    iters: list = field(default_factory=list)
    dist: list = field(default_factory=list)
    step_drift_max: float = 0.0
    formula_err_max: float = 0.0

    def observe(self, k, x):
        self._D0 = self.problem.imbalance(x)
        self._prev = (x[0].copy(), x[1].copy())
        self._Dprev = self._D0
        self.iters.append(k)
        self.dist.append(0.0)

    def __call__(self, k, x):
        D = self.problem.imbalance(x)
        act = D - self._Dprev
        pred = balance_step_drift(self.problem, self._prev, self.eta)
        self.step_drift_max = max(self.step_drift_max, float(np.linalg.norm(act)))
        self.formula_err_max = max(self.formula_err_max, float(np.linalg.norm(act - pred)))
        self._prev, self._Dprev = (x[0].copy(), x[1].copy()), D
        if k % self.every == 0:
            self.iters.append(k)
            self.dist.append(float(np.linalg.norm(D - self._D0)))


def balance_drift_runs(inst: Instance, x0, etas, flow_time: float, n_records: int = 200):
    r"""GD from the same start for each step size, for ``flow_time / eta`` steps, with a
    :class:`BalanceTracker`. Returns a DataFrame (one row per step size: final
    :math:`\|D_T-D_0\|_F`, largest one-step drift, largest formula error, final relative
    loss) and the trackers."""
    prob = inst.problem()
    rows, trackers = [], []
    for eta in etas:
        n = int(round(flow_time / eta))
        tr = BalanceTracker(prob, float(eta), every=max(1, n // n_records))
        tr.observe(0, x0)
        res = run_gd(prob, x0, eta=float(eta), max_iter=n, record_every=n, callback=tr)
        rows.append({"eta": float(eta), "steps": n, "final_drift": tr.dist[-1],
                     "step_drift_max": tr.step_drift_max, "formula_err_max": tr.formula_err_max,
                     "D0": float(np.linalg.norm(prob.imbalance(x0))),
                     "final_rel_loss": float(res.history["objective"][-1]), "status": res.status})
        trackers.append(tr)
    return pd.DataFrame(rows), trackers


MOD_METHODS = ("GD", "GD + balancing", "perturbed GD")


def modifications_compare(p: SeedSweepParams, eps_list, seeds, rng_for, *, balance: float = 0.125,
                          perturbation=(1e-3, 1e-6), noise: float = 0.0) -> pd.DataFrame:
    r"""Vanilla GD, GD on the objective with the balancing regulariser
    :math:`\mu\|\mathbf U^\top\mathbf U - \mathbf V^\top\mathbf V\|_F^2`, and perturbed GD (the shared
    loop's ``perturbation=(threshold, std)``: Gaussian noise added to the gradient whenever its
    norm is below the threshold), from the same starts. ``eps_list`` may contain 0 (the start
    :math:`\mathbf U_0 = \mathbf V_0 = 0`, a saddle). With ``noise > 0`` the target is
    :math:`\boldsymbol\Sigma` plus i.i.d. :math:`\mathcal N(0, \text{noise}^2)` entries (full
    rank), and the stopping rule is relative to :math:`f^\star` of the truncated SVD.
    Every run is measured against the truncated-SVD optimum :math:`\Sigma_d`. From the zero
    start, GD and GD + balancing (which cannot leave it) run 1000 steps only."""
    from ...problems.factorization import truncated_svd_optimum

    rows = []
    for s in seeds:
        for eps in eps_list:
            rng = rng_for(s)
            inst = make_instance(p.m, p.n, p.sigmas, rng)
            Sigma = inst.Sigma + noise * rng.standard_normal(inst.Sigma.shape) if noise else inst.Sigma
            Us, Vs, f_star = truncated_svd_optimum(Sigma, inst.d)
            Sd = Us @ Vs.T
            x0 = gaussian_init(p.m, p.n, inst.d, eps, rng) if eps > 0 else \
                (np.zeros((p.m, inst.d)), np.zeros((p.n, inst.d)))
            D0 = float(np.linalg.norm(x0[0].T @ x0[0] - x0[1].T @ x0[1]))
            for method in MOD_METHODS:
                prob = AsymmetricFactorization(Sigma, balance=balance if method == "GD + balancing" else 0.0)
                kw = {"perturbation": perturbation, "rng": rng_for(s, 99)} if method == "perturbed GD" else {}
                # from the exact saddle, the noiseless methods cannot move: 1000 steps show it
                n_max = p.max_iter if (eps > 0 or method == "perturbed GD") else min(p.max_iter, 1000)
                res = run_gd(prob, x0, eta=p.eta, max_iter=n_max, delta=p.delta,
                             record_every=n_max, f_star=f_star, **kw)
                x = res.x
                rows.append({
                    "seed": s, "eps": eps, "method": method, "status": res.status,
                    "iterations": res.n_iter if res.status == "converged" else np.nan,
                    "time_s": res.wall_time,
                    "excess_rel_loss": (prob.loss(x) - f_star) / prob.f0,
                    "dist_to_svd": float(np.linalg.norm(x[0] @ x[1].T - Sd) / np.linalg.norm(Sd)),
                    "balance_0": D0, "balance_end": float(np.linalg.norm(prob.imbalance(x)))})
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------------------------
# helpers of the chapter modules (parameters, random streams, claim checks)
# ---------------------------------------------------------------------------------------------

def rng_family(rng: np.random.Generator):
    r"""``rng_for(*keys)``: independent, reproducible generators keyed by integers, all derived
    from one draw of ``rng`` (so a chapter's ``run(params, rng)`` can give each seed, and each
    configuration of a seed, its own stream; equal keys give equal streams)."""
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    base = int(rng.integers(2 ** 62))
    return lambda *keys: np.random.default_rng([base, *(int(k) for k in keys)])


def check_sigmas(name: str, sigmas) -> tuple:
    """Positive finite singular values, returned sorted from largest to smallest."""
    from ...validation import check_array

    arr = check_array(name, sigmas, ndim=1)
    if np.any(arr <= 0):
        raise ValueError(f"{name} must be positive, got {arr.tolist()}")
    return tuple(float(v) for v in np.sort(arr)[::-1])


def check_grid(name: str, values, *, lo: float | None = None, hi: float | None = None,
               lo_open: bool = True, min_size: int = 2) -> tuple:
    """A grid of at least ``min_size`` distinct finite numbers within the given range."""
    from ...validation import check_array, check_real

    arr = check_array(name, values, ndim=1)
    if arr.size < min_size or np.unique(arr).size != arr.size:
        raise ValueError(f"{name} must hold at least {min_size} distinct values, got {arr.tolist()}")
    for v in arr:
        check_real(f"{name} entry", float(v), lo=lo, hi=hi, lo_open=lo_open)
    return tuple(float(v) for v in arr)


def rounding_check(min_rel_slack: float, rtol: float):
    r"""An inequality that holds up to a rounding allowance: ``min_rel_slack`` (the smallest
    slack over every instance/step, relative to the bound) must be ``>= -rtol``. The margin is
    measured in units of the allowance, ``(min_rel_slack + rtol) / rtol``: an inequality that is
    tight by construction (slack exactly 0) has margin 1, never a rounding-decided verdict."""
    from ...claims import at_least

    return at_least(min_rel_slack, -rtol, scale=rtol)


# ---------------------------------------------------------------------------------------------
# batched runs: the compiled kernel (issue 12), snapshots every step, trackers afterwards
# ---------------------------------------------------------------------------------------------

def principal_series(inst: Instance, snaps: np.ndarray) -> dict:
    r"""The stage quantities of :func:`stage_times` on stacked snapshots ``(k, m + n, d)`` of
    :func:`bmlab.solvers.kernels_gd.run_asym_gd_batch` (vectorised; the same definitions as
    :class:`BlockTracker`): ``sd_A`` :math:`=\sigma_d(A_t)`, ``P_op`` :math:`=\|P_t\|`,
    ``lam_max_P`` and ``lam_min_P``."""
    d, m = inst.d, inst.m
    Ub = np.einsum("ia,kib->kab", inst.Phi[:, :d], snaps[:, :m])
    Vb = np.einsum("ja,kjb->kab", inst.Psi[:, :d], snaps[:, m:])
    A, B = (Ub + Vb) / 2, (Ub - Vb) / 2
    P = np.diag(inst.sigmas)[None] - A @ np.swapaxes(A, 1, 2) + B @ np.swapaxes(B, 1, 2)
    lam = np.linalg.eigvalsh(P)
    return {"sd_A": np.linalg.svd(A, compute_uv=False)[:, -1],
            "P_op": np.maximum(np.abs(lam[:, 0]), np.abs(lam[:, -1])),
            "lam_max_P": lam[:, -1], "lam_min_P": lam[:, 0]}


def batched_stage_times(insts, x0s, *, eta: float, max_iter: int, group: int = 8) -> list[dict]:
    r"""GD from each ``(inst, x0)`` for ``max_iter`` steps through the compiled batched kernel
    :func:`bmlab.solvers.kernels_gd.run_asym_gd_batch` (``group`` runs per call, same shape),
    with the iterate snapshotted at **every** step and the stage quantities evaluated
    afterwards (:func:`principal_series`). Per run: :math:`T_1`, :math:`T_0` of
    :func:`stage_times` (NaN when not reached), :math:`T_2 = T_0 - T_1` and
    :math:`\|P_{T_1}\|` (``P_T1``)."""
    from ...solvers.kernels_gd import run_asym_gd_batch

    insts, x0s = list(insts), list(x0s)
    out = []
    sched = np.arange(max_iter + 1)
    for g in range(0, len(insts), group):
        I, X = insts[g:g + group], x0s[g:g + group]
        res = run_asym_gd_batch(np.stack([i.Sigma for i in I]), np.stack([x[0] for x in X]),
                                np.stack([x[1] for x in X]), eta=eta, max_iter=max_iter,
                                record_every=max_iter, snapshot=sched)
        for inst, r in zip(I, res):
            ser = principal_series(inst, r.snapshots)
            df = pd.DataFrame({"iter": r.history["snap_iter"], **ser})
            st = stage_times(df, inst.sigmas[-1])
            T1 = st["T1"]
            P_T1 = float(df["P_op"].iloc[int(T1)]) if np.isfinite(T1) else np.nan
            out.append({**st, "T2": st["T0"] - T1, "P_T1": P_T1, "status": r.status})
            r.snapshots = None
    return out


def _warmup_T1(inst: Instance, snaps: np.ndarray, snap_iter: np.ndarray) -> float:
    """First snapshot iteration with sigma_d(A_t) >= sqrt(sigma_d/2) (NaN if none)."""
    up = principal_series(inst, snaps)["sd_A"] >= np.sqrt(inst.sigmas[-1] / 2)
    return float(snap_iter[np.argmax(up)]) if up.any() else np.nan


def scaling_grid_batch(p: ScalingParams, knob: str, values, seeds, rng_for,
                       warmup: bool = False) -> pd.DataFrame:
    r""":func:`scaling_grid` through the compiled batched kernel
    :func:`bmlab.solvers.kernels_gd.run_asym_gd_batch`: for each value of ``knob`` the seeds run
    in one call (same instances, starts and stopping rule :math:`f \le \delta` as
    :func:`scaling_grid`, which stays as the oracle). With ``warmup`` the iterate is
    snapshotted at every step up to twice :math:`T_0` of Theorem 3.1 (constant 1) and
    :math:`T_1` read from the snapshots (:class:`WarmupClock`'s definition); a run whose
    warm-up is longer is rerun with a window twice as long."""
    from ...bounds.gd_asymmetric import t0_stage_one, t_total
    from ...solvers.kernels_gd import run_asym_gd_batch

    seeds = list(seeds)
    rows = {}
    for iv, v in enumerate(values):
        c = _config(p, knob, v)
        sig = geometric_sigmas(c["d"], c["sigma_d"], c["kappa"])
        insts, U0, V0 = [], [], []
        for s in seeds:
            rng = rng_for(s, c["m"], c["n"], c["d"])
            insts.append(make_instance(c["m"], c["n"], sig, rng))
            x0 = gaussian_init(c["m"], c["n"], c["d"], c["eps"], rng)
            U0.append(x0[0])
            V0.append(x0[1])
        S, U0, V0 = np.stack([i.Sigma for i in insts]), np.stack(U0), np.stack(V0)
        T1 = np.full(len(seeds), np.nan)
        window = int(np.ceil(2 * float(t0_stage_one(c["eta"], c["eps"], c["sigma_d"], c["d"]))))
        todo = np.arange(len(seeds)) if warmup else np.zeros(0, dtype=int)
        res = None
        while True:
            w = min(window, p.max_iter)
            out = run_asym_gd_batch(S, U0, V0, eta=c["eta"], max_iter=p.max_iter, delta=c["delta"],
                                    relative=False, record_every=p.max_iter,
                                    snapshot=np.arange(w + 1) if todo.size else None)
            res = res or out
            for q in todo:
                T1[q] = _warmup_T1(insts[q], out[q].snapshots, out[q].history["snap_iter"])
                out[q].snapshots = None
            todo = np.array([q for q in todo
                             if np.isnan(T1[q]) and w < min(p.max_iter, out[q].n_iter)], dtype=int)
            if not todo.size:
                break
            window *= 2             # rerun the batch (it shares one snapshot schedule)
        T_pred = float(t_total(c["eta"], c["eps"], c["sigma_d"], c["delta"], c["d"]))
        for q, (s, r) in enumerate(zip(seeds, res)):
            rows[q, iv] = {"knob": knob, "value": float(v), "seed": s,
                           "T": float(r.n_iter) if r.status == "converged" else np.nan,
                           "T1": T1[q], "status": r.status, "T_pred": T_pred,
                           **{k: c[k] for k in ("eta", "eps", "sigma_d", "delta", "d")},
                           "m+n": c["m"] + c["n"], "time_s": r.wall_time}
    return pd.DataFrame([rows[k] for k in sorted(rows)])     # seed-major, as scaling_grid
