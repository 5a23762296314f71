r"""Shared helpers of the part "High-order losses" (paper 003): parameter checks, the
λ grid without near-duplicates, and the critical points of small sensing instances against
Theorems 3 and 6 (used by the chapters ``strict-saddles`` and ``high-order-saddles``).

An *instance* is a sensing operator rescaled so that it satisfies RIP\ :sub:`r+r*` with a
known constant :math:`\delta` (rescaling moves no critical point of :math:`f`; for
:math:`\lambda > 0` the rescaled operator *is* the instance the theorems speak about):

* ``weighted``: Yalcin's operator with weights :math:`\{\varepsilon, 1\}` times
  :math:`\sqrt{2/(1+\varepsilon^2)}`, exact :math:`\delta = (1-\varepsilon^2)/(1+\varepsilon^2)`;
* ``gaussian``: :math:`A_i = (G_i+G_i^\top)/2`, rescaled with the exact constant over *all*
  symmetric matrices (rank :math:`\le n`), which is a valid (upper) RIP\ :sub:`r+r*` constant.

Critical points of :math:`f^l_\lambda` are enumerated by Newton refinement from random starts
(:func:`bmlab.landscape.enumerate_critical_points`), deduplicated up to sign (rank 1).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ...bounds.strict_saddle import (
    point_quantities, theorem3_bound, theorem3_condition, theorem6_bound, theorem6_condition,
    theorem6_threshold)
from ...landscape import enumerate_critical_points
from ...validation import check_int, check_real
from ...problems.sensing import (
    HighOrderLoss, gaussian_sensing, rip_ratio_range, weighted_rip_delta, yalcin_instance)

KINDS = ("weighted", "gaussian")


def check_floats(name: str, values, *, lo: float | None = None, lo_open: bool = False,
                 hi: float | None = None, min_size: int = 1) -> tuple[float, ...]:
    """A non-empty tuple of finite reals within ``[lo, hi]`` (``lo`` excluded when
    ``lo_open``); raises ``ValueError``/``TypeError`` naming ``name``."""
    if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
        raise TypeError(f"{name} must be a sequence of numbers, got {values!r}")
    out = tuple(check_real(f"{name}[{i}]", v, lo=lo, lo_open=lo_open, hi=hi)
                for i, v in enumerate(values))
    if len(out) < min_size:
        raise ValueError(f"{name} needs at least {min_size} value(s), got {len(out)}")
    return out


def check_ints(name: str, values, *, lo: int | None = None, min_size: int = 1) -> tuple[int, ...]:
    """A non-empty tuple of integers ``>= lo``."""
    if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
        raise TypeError(f"{name} must be a sequence of integers, got {values!r}")
    out = tuple(check_int(f"{name}[{i}]", v, lo=lo) for i, v in enumerate(values))
    if len(out) < min_size:
        raise ValueError(f"{name} needs at least {min_size} value(s), got {len(out)}")
    return out


def merge_close(values, *, rtol: float = 1e-9) -> np.ndarray:
    """Sorted values with near-duplicates merged: a value within ``rtol`` (relative) of one
    seen earlier *in the input order* is dropped, so listing the exact values first keeps them
    (e.g. ``50.0`` beats ``10**log10(50) = 49.99999999999999``). Used for the λ grids, where
    two nearly equal λ would make a strict monotonicity test compare rounding errors."""
    kept: list[float] = []
    for v in np.asarray(values, dtype=float).ravel():
        if not any(abs(v - k) <= rtol * max(abs(v), abs(k)) for k in kept):
            kept.append(float(v))
    return np.array(sorted(kept))


@dataclass(frozen=True)
class InstanceSpec:
    """A small instance: ``kind`` ``weighted`` (``n``, ``eps``) or ``gaussian`` (``n``, ``m``,
    drawn with ``key``); ground truth rank 1, search rank 1."""

    kind: str
    n: int
    eps: float = 0.3
    m: int = 0
    key: int = 0

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {self.kind!r}")
        if self.kind == "gaussian" and self.m < 1:
            raise ValueError("a gaussian instance needs m >= 1")

    @property
    def label(self) -> str:
        if self.kind == "weighted":
            return f"weighted n={self.n}, ε={self.eps:g}"
        return f"Gaussian n={self.n}, m={self.m} (#{self.key})"


@dataclass
class Instance:
    spec: InstanceSpec
    problem: HighOrderLoss
    delta: float
    delta_kind: str  # "exact" or "upper bound"

    @property
    def m(self) -> int:
        return self.problem.op.m

    def with_lam(self, lam: float) -> "Instance":
        return Instance(self.spec, self.problem.with_lam(lam), self.delta, self.delta_kind)


def make_instance(spec: InstanceSpec, rng_factory, lam: float = 0.0, l: int = 4) -> Instance:
    """Build the rescaled instance; ``rng_factory(key)`` returns the generator of a draw."""
    if spec.kind == "weighted":
        P = yalcin_instance(spec.n, spec.eps, lam, l)
        s = np.sqrt(2.0 / (1.0 + spec.eps ** 2))
        prob = HighOrderLoss(P.op.scaled(s), P.M_star, lam=lam, l=l, Z=P.Z)
        return Instance(spec, prob, weighted_rip_delta(spec.eps), "exact")
    rng = rng_factory(spec.key)
    op = gaussian_sensing(spec.n, spec.m, rng)
    z = rng.standard_normal((spec.n, 1))
    est = rip_ratio_range(op, spec.n)
    prob = HighOrderLoss(op.scaled(est.scale), z @ z.T, lam=lam, l=l, Z=z)
    return Instance(spec, prob, est.delta, "upper bound (rank n, exact)")


def critical_points(inst: Instance, rng: np.random.Generator, *, n_starts: int,
                    tol: float = 1e-10, eig_tol: float = 1e-8) -> pd.DataFrame:
    r"""Enumerate the critical points of ``inst`` and evaluate Theorems 3 and 6 at each.

    Columns: ``D, sigma_r, tr, lam_min, lam_max, grad_norm, count, type`` (``global``,
    ``spurious min``, ``strict saddle`` or ``degenerate``), ``cond4, bound5, cond10,
    thresh10, bound11`` (Theorem 6 with the instance's :math:`\lambda`, :math:`l`, :math:`m`),
    and ``X`` (the point).
    """
    P = inst.problem
    scale = float(np.sqrt(np.trace(P.M_star) / P.n))
    pts = enumerate_critical_points(P, (P.n, 1), rng, n_starts=n_starts, scale=scale, tol=tol)
    rows = []
    for p in pts:
        D, s, tr = point_quantities(p.X, P.M_star)
        if D < 1e-6:
            kind = "global"
        elif p.lam_min > eig_tol:
            kind = "spurious min"
        elif p.lam_min < -eig_tol:
            kind = "strict saddle"
        else:
            kind = "degenerate"
        rows.append({
            "instance": inst.spec.label, "lam": P.lam, "delta": inst.delta, "D": D, "sigma_r": s,
            "tr": tr, "lam_min": p.lam_min, "lam_max": p.lam_max, "grad_norm": p.grad_norm,
            "count": p.count, "type": kind,
            "cond4": theorem3_condition(D, s, tr, inst.delta),
            "bound5": theorem3_bound(D, s, tr, inst.delta),
            "cond10": theorem6_condition(D, s, tr, inst.delta, P.lam, P.l, inst.m),
            "thresh10": theorem6_threshold(D, s, tr, inst.delta, P.lam, P.l, inst.m),
            "bound11": theorem6_bound(D, s, tr, inst.delta, P.lam, P.l, inst.m),
            "X": p.X.ravel().copy()})
    return pd.DataFrame(rows)


def survey(specs, lams, rng_factory, *, n_starts: int, seed_key: int = 100) -> pd.DataFrame:
    """:func:`critical_points` for every instance and every λ (one table)."""
    frames = []
    for i, spec in enumerate(specs):
        for j, lam in enumerate(lams):
            inst = make_instance(spec, rng_factory, lam)
            frames.append(critical_points(inst, rng_factory(seed_key + 100 * i + j),
                                          n_starts=n_starts))
    return pd.concat(frames, ignore_index=True)


def curvature_at_zero(inst: Instance, lams) -> pd.DataFrame:
    r"""Smallest Hessian eigenvalue at the critical point :math:`X = 0` (critical for every
    :math:`\lambda`) against :math:`\lambda`, beside bound (11)."""
    rows = []
    for lam in lams:
        I = inst.with_lam(float(lam))
        X = np.zeros((I.problem.n, 1))
        D, s, tr = point_quantities(X, I.problem.M_star)
        ev = I.problem.hessian_eigvals(X)
        rows.append({"lam": float(lam), "lam_min": ev[0],
                     "bound11": theorem6_bound(D, s, tr, I.delta, float(lam), I.problem.l, I.m)})
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------------------------
# Theorem 5
# ---------------------------------------------------------------------------------------------

def theorem5_delta_max(lhs: float, r: int) -> float:
    r"""Largest :math:`\delta` for which condition (7) holds, given its left side ``lhs`` and
    the search rank ``r`` (:math:`-\infty` ... returned as ``nan`` when it holds for no
    :math:`\delta\in[0,1)`). The right side is decreasing in :math:`\delta`."""
    from ...bounds.strict_saddle import theorem5_rhs
    if theorem5_rhs(r, 0.0) < lhs:
        return float("nan")
    lo, hi = 0.0, 1.0 - 1e-15
    for _ in range(100):
        mid = 0.5 * (lo + hi)
        if theorem5_rhs(r, mid) >= lhs:
            lo = mid
        else:
            hi = mid
    return lo


def theorem5_check(n: int, eps: float, r: int, rng: np.random.Generator, *, runs: int = 5,
                   step: float = 0.05, max_iter: int = 5000, init_scale: float = 0.3) -> pd.DataFrame:
    r"""Local search on a weighted instance (rescaled, exact :math:`\delta`) with search rank
    ``r``: plain GD (:func:`bmlab.solvers.gd.gradient_descent`) from ``runs`` random starts
    :math:`X_0 = s\,G`; one row per run with the final distance :math:`D` and gradient norm."""
    from ...solvers.gd import gradient_descent
    P0 = yalcin_instance(n, eps)
    P = HighOrderLoss(P0.op.scaled(np.sqrt(2 / (1 + eps ** 2))), P0.M_star, Z=P0.Z)
    rows = []
    for k in range(runs):
        X0 = init_scale * rng.standard_normal((n, r))
        res = gradient_descent(P.grad, X0, step=step, max_iter=max_iter, tol=1e-10)
        rows.append({"run": k, "status": res.status, "n_iter": res.n_iter,
                     "D": P.distance(res.x), "grad_norm": float(res.history["grad_norm"][-1])})
    return pd.DataFrame(rows)


def orbit_ids(df: pd.DataFrame, *, rtol: float = 1e-6) -> np.ndarray:
    r"""One id per row: rows of the same instance and :math:`\lambda` whose invariants
    :math:`D, \sigma_r, \lambda_{\min}, \lambda_{\max}` agree within ``rtol`` (relative) get the
    same id. Images of one critical point under a symmetry of the instance (a permutation of
    the support, a sign) share these invariants, so the ids count critical points modulo the
    instance's symmetry (two distinct orbits that happen to share all four are merged: the
    count is conservative)."""
    ids = np.full(len(df), -1, dtype=int)
    if not len(df):
        return ids
    cols = [c for c in ("D", "sigma_r", "lam_min", "lam_max") if c in df.columns]
    inv = df[cols].to_numpy(dtype=float)
    lam = df.lam if "lam" in df.columns else [0.0] * len(df)
    keys = list(zip(df.instance, lam))
    reps: list[tuple] = []
    for i in range(len(df)):
        for j, (key, v) in enumerate(reps):
            if key == keys[i] and np.all(np.abs(inv[i] - v)
                                         <= rtol * np.maximum(1.0, np.abs(v))):
                ids[i] = j
                break
        else:
            ids[i] = len(reps)
            reps.append((keys[i], inv[i]))
    return ids


def n_orbits(df: pd.DataFrame, *, rtol: float = 1e-6) -> int:
    """Number of critical points in ``df`` modulo the instances' symmetry (:func:`orbit_ids`)."""
    return int(len(set(orbit_ids(df, rtol=rtol).tolist()))) if len(df) else 0
