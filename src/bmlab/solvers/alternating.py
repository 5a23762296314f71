r"""Algorithm 1 of paper 000: alternating minimisation of the penalised split (5), its column
variant HAM and the nonconvex-ADMM baseline (spec 000 §3). The book's :math:`\lambda` is the
spec's :math:`\gamma`.

One sweep :math:`k` of :func:`alternating_minimization` (AM, (13); DERIVED, high confidence):

1. :math:`X^{k+1} = \arg\min_X F_{\lambda_k}(X, Y^k)` (Step 3),
2. :math:`Y^{k+1} = \arg\min_Y F_{\lambda_k}(X^{k+1}, Y)` (Step 4),
3. :math:`\lambda_{k+1} = \text{rule}(X^{k+1}, Y^{k+1}, \lambda_k)`.

The penalty rules (:class:`~bmlab.factorizations.penalty.PenaltyRule` and its subclasses, the
rules of §4) live in :mod:`bmlab.factorizations.penalty`.

Divergence (an unbounded block problem, overflow or a non-finite iterate) ends the run with
status ``"diverged"``; it is never raised.
"""
from __future__ import annotations

import math
import time
from typing import Callable

import numpy as np

from ..factorizations.asymmetric import kkt_residual, penalized_value
from ..factorizations.penalty import FixedPenalty, PenaltyRule
from ..problems.base import UnboundedSubproblem
from ..validation import check_array, check_attrs, check_bool, check_callable, check_int, check_real
from .base import SolverResult, record_rule

__all__ = ["nonconvex_admm", "alternating_minimization"]


# ---------------------------------------------------------------------------------------------
# AM
# ---------------------------------------------------------------------------------------------

def alternating_minimization(
    problem,
    X0,
    Y0,
    *,
    penalty: PenaltyRule | float,
    lam0: float | None = None,
    max_iter: int = 1000,
    tol: float = 1e-10,
    step_tol: float = 1e-15,
    blowup: float = 1e100,
    check_decrease: bool = False,
    record_every: int = 1,
    block: str = "exact",
    callback: Callable[[int, tuple], None] | None = None,
    record=None,
) -> SolverResult:
    r"""Algorithm 1 with exact block solves (AM, (13)) or column passes (HAM, (14)–(16)).

    Parameters
    ----------
    problem
        A split problem (see :mod:`bmlab.factorizations.asymmetric`) with ``block_argmin``.
    X0, Y0 : numpy.ndarray
        Starting factors, shape ``(n, r)``.
    penalty : PenaltyRule or float
        The update rule; a number means
        :class:`~bmlab.factorizations.penalty.FixedPenalty`.
    lam0 : float, optional
        Penalty of the first sweep; default: the rule evaluated at the start.
    max_iter : int
        Maximum number of sweeps.
    tol : float
        Converged when the KKT residual of (5) at :math:`\lambda_k` is at most ``tol``.
    step_tol : float
        Stalled when the relative change of :math:`(X, Y)` in a sweep is at most ``step_tol``
        while the KKT residual is still above ``tol`` (the iteration froze away from a critical
        point, e.g. AMpca with :math:`\lambda_k \to \infty`).
    blowup : float
        An iterate with norm above ``blowup`` (or non-finite) means ``"diverged"``.
    check_decrease : bool
        Record Theorem 2's sufficient-decrease margin per sweep,
        :math:`F_{\lambda_k}(X^k,Y^k) - F_{\lambda_k}(X^{k+1},Y^{k+1}) - \tfrac{\lambda_k +
        \mu/2}{2}(\|\Delta X\|^2 + \|\Delta Y\|^2)` (non-negative in exact arithmetic), in
        ``history["decrease_margin"]`` (nan at index 0).
    record_every : int
        Record the history every ``record_every`` sweeps (and at the last one); the
        sufficient-decrease check, when asked for, still runs at every sweep and its
        ``history["decrease_margin"]`` keeps the smallest margin since the last record.
    record : int or array of int, optional
        The ``record=`` schedule shared by every solver (:func:`bmlab.solvers.base.record_rule`):
        an int is ``record_every``, an array lists the sweeps to record. Give one of
        ``record`` and ``record_every``.
    block : {"exact", "columns"}
        ``"exact"``: AM (13), exact block solves (``problem.block_argmin``); ``"columns"``:
        HAM (14)–(16), one pass of exact column updates (``problem.column_sweep``).
    callback : callable, optional
        ``callback(k, (X, Y))`` after every sweep (the callback style of every solver;
        :math:`\lambda_k` and the residual are in the history).

    Returns
    -------
    SolverResult
        ``x = (X, Y)`` the last finite iterate. ``history``: ``iter``, ``objective``
        (:math:`F_{\lambda_k}` at the iterate, the penalty of the sweep that produced it),
        ``gap`` (:math:`\|X - Y\|_F`), ``lam`` (:math:`\lambda_k`), ``residual`` (KKT residual of
        (5)), ``sym_value`` (:math:`h` at :math:`(X + Y)/2`, the symmetric objective (3)).
        ``fun`` is :math:`F_{\lambda}(X, Y)` at the returned iterate, with the penalty of the
        sweep that produced it.
    """
    if isinstance(penalty, (bool, np.bool_)):
        raise TypeError("penalty must be a PenaltyRule or a number, got bool")
    rule = FixedPenalty(float(penalty)) if isinstance(penalty, (int, float, np.floating)) else penalty
    if not isinstance(rule, PenaltyRule):
        raise TypeError(f"penalty must be a PenaltyRule or a number, got {type(penalty).__name__}")
    check_int("max_iter", max_iter, lo=0)
    if block not in ("exact", "columns"):
        raise ValueError(f"block must be 'exact' or 'columns', got {block!r}")
    check_int("record_every", record_every, lo=1)
    if record is not None and record_every != 1:
        raise ValueError("give one of record and record_every, not both")
    recorded = record_rule(record_every if record is None else record)
    if lam0 is not None:
        check_real("lam0", lam0)
    check_real("tol", tol, lo=0)
    check_real("step_tol", step_tol, lo=0)
    check_real("blowup", blowup, lo=0, lo_open=True, allow_inf=True)
    check_bool("check_decrease", check_decrease)
    if callback is not None:
        check_callable("callback", callback)
    check_attrs("problem", problem, ("f", "grad_f", "reg", "block_argmin" if block == "exact"
                                     else "column_sweep"))
    X = np.array(_check_start("X0", X0, problem), dtype=float, copy=True)
    Y = np.array(_check_start("Y0", Y0, problem), dtype=float, copy=True)
    if X.shape != Y.shape or X.ndim != 2:
        raise ValueError(f"X0 and Y0 must be 2-D of the same shape, got {X.shape} and {Y.shape}")
    mu = problem.reg.mu
    hist = {"iter": [], "objective": [], "gap": [], "lam": [], "residual": [], "sym_value": []}
    if check_decrease:
        hist["decrease_margin"] = []

    def h_mid(X, Y):
        W = 0.5 * (X + Y)
        return float(problem.f(W @ W.T))

    status, message = "max_iter", f"reached max_iter={max_iter}"
    k = 0
    t0 = time.perf_counter()
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        lam = float(rule(0, problem, X, Y, math.nan)) if lam0 is None else float(lam0)
        if not math.isfinite(lam):
            raise ValueError(f"the rule {rule.name} needs an explicit finite lam0, got {lam0!r}")
        F_cur = penalized_value(problem, X, Y, lam)
        res = kkt_residual(problem, X, Y, lam)
        lam_x = lam          # the penalty of the sweep that produced (X, Y)

        def record(k, F, margin=math.nan):
            if F is None:
                F = penalized_value(problem, X, Y, lam)
            hist["iter"].append(k)
            hist["objective"].append(F)
            D = X - Y
            hist["gap"].append(math.sqrt(float(np.vdot(D, D))))
            hist["lam"].append(lam)
            hist["residual"].append(res)
            hist["sym_value"].append(h_mid(X, Y))
            if check_decrease:
                hist["decrease_margin"].append(margin)

        record(0, F_cur)
        margin = math.inf
        for k in range(1, int(max_iter) + 1):
            if not math.isfinite(lam):
                status, message, k = "diverged", f"penalty became non-finite before sweep {k}", k - 1
                break
            try:
                if block == "exact":
                    Xn = problem.block_argmin(Y, lam)
                    Yn = problem.block_argmin(Xn, lam)
                else:
                    Xn = problem.column_sweep(X, Y, lam)
                    Yn = problem.column_sweep(Y, Xn, lam)
            except UnboundedSubproblem as exc:
                status, message, k = "diverged", f"sweep {k}: {exc}", k - 1
                break
            nx, ny = math.sqrt(float(np.vdot(Xn, Xn))), math.sqrt(float(np.vdot(Yn, Yn)))
            if not (math.isfinite(nx) and math.isfinite(ny)) or max(nx, ny) > blowup:
                status = "diverged"
                message = f"sweep {k}: iterate overflowed (norm > {blowup:g}) at lam={lam:.4g}"
                k -= 1
                break
            step = float(np.sqrt(np.vdot(Xn - X, Xn - X) + np.vdot(Yn - Y, Yn - Y)))
            F_new = None
            if check_decrease:
                F_new = penalized_value(problem, Xn, Yn, lam)
                margin = min(margin, F_cur - F_new - 0.5 * (lam + mu / 2) * step ** 2)
            X, Y, lam_x = Xn, Yn, lam
            res = kkt_residual(problem, X, Y, lam)
            if callback is not None:
                callback(k, (X, Y))
            if res <= tol:
                status, message = "converged", f"KKT residual {res:.2e} <= tol={tol:g} at sweep {k}"
            elif step <= step_tol * (1.0 + nx + ny):
                status = "stalled"
                message = (f"sweep {k}: iterates stopped moving (relative step {step:.1e}) with "
                           f"KKT residual {res:.2e} > tol at lam={lam:.4g}")
            if status != "max_iter" or recorded(k) or k == max_iter:
                record(k, F_new, margin)
                margin = math.inf
            if status != "max_iter":
                break
            lam = float(rule(k, problem, X, Y, lam))
            if check_decrease:
                F_cur = penalized_value(problem, X, Y, lam)
        if hist["iter"][-1] == k and hist["lam"][-1] == lam_x:
            fun = float(hist["objective"][-1])
        else:
            fun = penalized_value(problem, X, Y, lam_x)
    return SolverResult(x=(X, Y), history=hist, status=status, message=message, n_iter=k,
                        fun=fun, wall_time=time.perf_counter() - t0)


def _check_start(name, X0, problem):
    """A finite 2-D starting factor with ``problem.n`` rows (when the problem says its size)."""
    X0 = check_array(name, X0, ndim=2)
    n = getattr(problem, "n", None)
    if isinstance(n, (int, np.integer)) and X0.shape[0] != n:
        raise ValueError(f"{name} must have n = {n} rows (the size of the problem), got shape {X0.shape}")
    return X0


def nonconvex_admm(problem, X0, Y0, *, rho: float, max_iter: int = 1000, tol: float = 1e-9,
                   blowup: float = 1e100, callback: Callable[[int, tuple], None] | None = None,
                   record=None) -> SolverResult:
    r"""Nonconvex ADMM for the split with the hard constraint :math:`X = Y` (Wang, Yin and Zeng;
    the baseline of paper 000 §3.5). With the multiplier :math:`\Lambda` and the augmented
    Lagrangian :math:`f(XY^\top) + \tfrac12g(X) + \tfrac12g(Y) + \langle\Lambda, X - Y\rangle +
    \tfrac\rho2\|X - Y\|_F^2`:

    .. math:: X^{k+1} &= \arg\min_X f(XY^{k\top}) + \tfrac12 g(X)
                       + \tfrac\rho2\|X - Y^k + \Lambda^k/\rho\|_F^2, \\
              Y^{k+1} &= \arg\min_Y f(X^{k+1}Y^\top) + \tfrac12 g(Y)
                       + \tfrac\rho2\|Y - X^{k+1} - \Lambda^k/\rho\|_F^2, \\
              \Lambda^{k+1} &= \Lambda^k + \rho(X^{k+1} - Y^{k+1}).

    Needs ``problem.block_argmin(W, lam, center)``. Converged when the primal residual
    :math:`\|X - Y\|_F` and the dual residual :math:`\rho\|Y^{k+1} - Y^k\|_F` are both below
    ``tol`` (relative to :math:`\max(1, \|X\|_F)`). ``history``: ``iter``, ``gap``,
    ``dual``, ``sym_value`` (:math:`h` at :math:`(X + Y)/2`), at the iterations of the
    ``record=`` schedule (default: every one; the last is always recorded); ``fun`` is
    :math:`h((X + Y)/2)` at the returned iterate. ``callback(k, (X, Y))`` runs after every
    iteration.
    """
    rho = check_real("rho", rho, lo=0, lo_open=True)
    check_int("max_iter", max_iter, lo=0)
    check_real("tol", tol, lo=0)
    check_real("blowup", blowup, lo=0, lo_open=True, allow_inf=True)
    check_attrs("problem", problem, ("f", "block_argmin"))
    if callback is not None:
        check_callable("callback", callback)
    recorded = record_rule(record)
    X = np.array(_check_start("X0", X0, problem), dtype=float, copy=True)
    Y = np.array(_check_start("Y0", Y0, problem), dtype=float, copy=True)
    if X.shape != Y.shape:
        raise ValueError(f"X0 and Y0 must have the same shape, got {X.shape} and {Y.shape}")
    Lam = np.zeros_like(X)
    hist = {"iter": [], "gap": [], "dual": [], "sym_value": []}

    def record(k, dual):
        W = 0.5 * (X + Y)
        hist["iter"].append(k)
        hist["gap"].append(float(np.linalg.norm(X - Y)))
        hist["dual"].append(dual)
        hist["sym_value"].append(float(problem.f(W @ W.T)))

    status, message, k = "max_iter", f"reached max_iter={max_iter}", 0
    t0 = time.perf_counter()
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        record(0, math.nan)
        for k in range(1, int(max_iter) + 1):
            try:
                Xn = problem.block_argmin(Y, rho, center=Y - Lam / rho)
                Yn = problem.block_argmin(Xn, rho, center=Xn + Lam / rho)
            except UnboundedSubproblem as exc:
                status, message, k = "diverged", f"iteration {k}: {exc}", k - 1
                break
            if not (np.all(np.isfinite(Xn)) and np.all(np.isfinite(Yn))) or \
                    max(np.abs(Xn).max(), np.abs(Yn).max()) > blowup:
                status, message, k = "diverged", f"iteration {k}: iterate overflowed", k - 1
                break
            dual = rho * float(np.linalg.norm(Yn - Y))
            X, Y = Xn, Yn
            Lam = Lam + rho * (X - Y)
            gap = float(np.linalg.norm(X - Y))
            scale = max(1.0, float(np.linalg.norm(X)))
            done = gap <= tol * scale and dual <= tol * scale
            if done or recorded(k) or k == max_iter:
                record(k, dual)
            if callback is not None:
                callback(k, (X, Y))
            if done:
                status, message = "converged", f"primal and dual residuals below tol at iteration {k}"
                break
        if hist["iter"][-1] == k:
            fun = float(hist["sym_value"][-1])
        else:
            W = 0.5 * (X + Y)
            fun = float(problem.f(W @ W.T))
    return SolverResult(x=(X, Y), history=hist, status=status, message=message, n_iter=k,
                        fun=fun, wall_time=time.perf_counter() - t0)
