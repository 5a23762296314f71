r"""Algorithm 1 of paper 000: alternating minimisation of the penalised split (5), and the
penalty-update rules compared in its §4 (spec 000 §3). The book's :math:`\lambda` is the
spec's :math:`\gamma`.

One sweep :math:`k` of :func:`alternating_minimization` (AM, (13); DERIVED, high confidence):

1. :math:`X^{k+1} = \arg\min_X F_{\lambda_k}(X, Y^k)` (Step 3),
2. :math:`Y^{k+1} = \arg\min_Y F_{\lambda_k}(X^{k+1}, Y)` (Step 4),
3. :math:`\lambda_{k+1} = \text{rule}(X^{k+1}, Y^{k+1}, \lambda_k)`.

Penalty rules (:class:`PenaltyRule`):

==========  =====================================================================  ==========
name        :math:`\lambda_{k+1}`                                                     status
==========  =====================================================================  ==========
``fixed``   :math:`\lambda` (Theorem 2)                                                DERIVED
``AMagd``   :math:`\tfrac14(L^k - \sigma^k)_+` + margin, Hu–Kwok (8)                   RECON
``AMadp``   :math:`\max(\rho\lambda_k, \text{target}_k)`, monotone, Li et al. (7)     RECON
``AMpca``   :math:`\min(1/\|X^k - Y^k\|_F, \lambda_{\max})`, Han et al.               RECON
``AMour``   rule (17): Rayleigh quantity if :math:`D^k \ne 0`, else
            :math:`\tfrac12\lambda_{\max}(\operatorname{sym}\nabla f) - \mu/4`, plus
            :math:`\varepsilon`                                                        DERIVED
==========  =====================================================================  ==========

Divergence (an unbounded block problem, overflow or a non-finite iterate) ends the run with
status ``"diverged"``; it is never raised.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

from ..bounds.exact_penalty import hu_kwok_bound, rayleigh_quantity, theorem1_bound
from ..factorizations.asymmetric import UnboundedSubproblem, kkt_residual, penalized_value
from ..validation import check_array, check_attrs, check_bool, check_callable, check_int, check_real
from .base import SolverResult

__all__ = [
    "PenaltyRule", "FixedPenalty", "AlgorithmDependentPenalty", "AdaptivePenalty",
    "AccuracyPenalty", "ExactPenalty", "StartBoundPenalty", "make_rule", "nonconvex_admm", "alternating_minimization",
]


# ---------------------------------------------------------------------------------------------
# penalty rules
# ---------------------------------------------------------------------------------------------

class PenaltyRule:
    """A penalty-update rule: ``rule(k, problem, X, Y, lam) -> lam_next``."""

    name = "rule"

    def __call__(self, k: int, problem, X: np.ndarray, Y: np.ndarray, lam: float) -> float:
        raise NotImplementedError

    def __repr__(self):
        return f"{type(self).__name__}({self.name})"


@dataclass(repr=False)
class FixedPenalty(PenaltyRule):
    """:math:`\\lambda_k = \\lambda` for every sweep (Theorem 2)."""

    lam: float
    name = "fixed"

    def __post_init__(self):
        if not (isinstance(self.lam, (int, float, np.floating)) and math.isfinite(self.lam)):
            raise ValueError(f"lam must be a finite number, got {self.lam!r}")

    def __call__(self, k, problem, X, Y, lam):
        return float(self.lam)


@dataclass(repr=False)
class AlgorithmDependentPenalty(PenaltyRule):
    r"""AMagd, the Hu–Kwok rule (8) (RECON): :math:`\lambda_{k+1} = \tfrac14(L^k -
    \sigma^k)_+ + \text{margin}`, with :math:`(L^k, \sigma^k)` the constants of the next
    block problems (the larger over the two blocks). On the scalar toys it is the margin."""

    margin: float = 0.0
    name = "AMagd"

    def __post_init__(self):
        check_real("margin", self.margin, lo=0)

    def __call__(self, k, problem, X, Y, lam):
        cy, cx = problem.block_constants(Y), problem.block_constants(X)
        if not np.all(np.isfinite(cy + cx)):
            return math.nan      # an overflowing iterate: the run ends as "diverged", no raise
        b = max(hu_kwok_bound(*cy), hu_kwok_bound(*cx))
        return b + self.margin


@dataclass(repr=False)
class AdaptivePenalty(PenaltyRule):
    r"""AMadp, a monotone increase in the spirit of Li et al. (7) (RECON):
    :math:`\lambda_{k+1} = \min(\max(\rho\lambda_k, \text{target}(X^k, Y^k)), \lambda_{\max})`.

    Parameters
    ----------
    rho : float
        Growth factor, :math:`\rho \ge 1`.
    target : callable, optional
        ``target(problem, X, Y)`` a problem-specific level the rule must reach (e.g. the sNMF
        exactness level :math:`\tfrac12(\|XY^\top\|_2 - \lambda_{\min}(M))`).
    lam_max : float
        Cap.
    """

    rho: float = 1.05
    target: Callable | None = None
    lam_max: float = math.inf
    name = "AMadp"

    def __post_init__(self):
        if not self.rho >= 1:
            raise ValueError(f"rho must be >= 1, got {self.rho!r}")
        check_real("rho", self.rho, lo=1)
        if self.target is not None:
            check_callable("target", self.target)
        check_real("lam_max", self.lam_max, lo=0, lo_open=True, allow_inf=True)

    def __call__(self, k, problem, X, Y, lam):
        new = self.rho * lam
        if self.target is not None:
            new = max(new, float(self.target(problem, X, Y)))
        return min(new, self.lam_max)


@dataclass(repr=False)
class AccuracyPenalty(PenaltyRule):
    r"""AMpca, "proportional to the accuracy" (Han et al.; RECON):
    :math:`\lambda_{k+1} = \min(1/\epsilon^k, \lambda_{\max})` with the accuracy proxy
    :math:`\epsilon^k = \|X^k - Y^k\|_F`."""

    lam_max: float = 1e16
    name = "AMpca"

    def __post_init__(self):
        check_real("lam_max", self.lam_max, lo=0, lo_open=True, allow_inf=True)

    def __call__(self, k, problem, X, Y, lam):
        eps = float(np.linalg.norm(X - Y))
        return self.lam_max if eps == 0 else min(1.0 / eps, self.lam_max)


@dataclass(repr=False)
class ExactPenalty(PenaltyRule):
    r"""AMour, the paper's rule (17) (DERIVED, medium confidence).

    ``mode="aggressive"`` (the rule): :math:`[\langle\nabla f(Z^k), D^kD^{k\top}\rangle /
    (2\|D^k\|_F^2) - \mu/4]_+ + \varepsilon` when :math:`D^k \ne 0`, else the conservative
    value; ``mode="conservative"``: always :math:`[\tfrac12\lambda_{\max}(\operatorname{sym}
    \nabla f(Z^k)) - \mu/4]_+ + \varepsilon`. On toy 4.1 both are :math:`c/2 + \varepsilon`
    (21).
    """

    eps: float = 0.1
    mode: str = "aggressive"
    name = "AMour"

    def __post_init__(self):
        if self.mode not in ("aggressive", "conservative"):
            raise ValueError(f"mode must be 'aggressive' or 'conservative', got {self.mode!r}")
        check_real("eps", self.eps, lo=0, lo_open=True)

    def __call__(self, k, problem, X, Y, lam):
        G = problem.grad_f(X @ Y.T)
        if not np.all(np.isfinite(G)):
            return math.nan      # an overflowing iterate: the run ends as "diverged", no raise
        mu = problem.reg.mu
        D = X - Y
        if self.mode == "aggressive" and np.any(D != 0):
            q = rayleigh_quantity(G, D, mu)
        else:
            q = theorem1_bound(G, mu)
        return max(q, 0.0) + self.eps


@dataclass(repr=False)
class StartBoundPenalty(PenaltyRule):
    r"""The decreasing-penalty variant of Corollary 1 (DERIVED, spec 000 §2): treat the current
    iterate as a fresh start and use ``margin`` times bound (12) computed from it,
    :math:`\lambda_{k+1} = \text{margin}\cdot(Ld^2 + \sqrt{L^2d^4 + 32L(f(X^kY^{k\top}) -
    f_{\inf})})/8` with :math:`d = \|X^k - Y^k\|_F` (needs ``problem.L``; :math:`f_{\inf} = 0`,
    :math:`\mu = 0`, :math:`g \ge 0`). It shrinks as the objective decreases."""

    margin: float = 1.01
    name = "Cor1-decreasing"

    def __post_init__(self):
        check_real("margin", self.margin, lo=0, lo_open=True)

    def __call__(self, k, problem, X, Y, lam):
        from ..bounds.exact_penalty import corollary1_bound12

        f_val, d = problem.f(X @ Y.T), float(np.linalg.norm(X - Y))
        if not (math.isfinite(f_val) and math.isfinite(d)):
            return math.nan      # an overflowing iterate: the run ends as "diverged", no raise
        return self.margin * corollary1_bound12(f_val, d, problem.L, mu=problem.reg.mu)


RULES = ("fixed", "AMagd", "AMadp", "AMpca", "AMour")


def make_rule(name: str, **kw) -> PenaltyRule:
    """Build a rule by name (``fixed``, ``AMagd``, ``AMadp``, ``AMpca``, ``AMour``)."""
    classes = {"fixed": FixedPenalty, "AMagd": AlgorithmDependentPenalty, "AMadp": AdaptivePenalty,
               "AMpca": AccuracyPenalty, "AMour": ExactPenalty}
    if not isinstance(name, str) or name not in classes:
        raise ValueError(f"rule must be one of {RULES}, got {name!r}")
    return classes[name](**kw)


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
    callback: Callable[[int, dict], None] | None = None,
) -> SolverResult:
    r"""Algorithm 1 with exact block solves (AM, (13)) or column passes (HAM, (14)–(16)).

    Parameters
    ----------
    problem
        A split problem (see :mod:`bmlab.factorizations.asymmetric`) with ``block_argmin``.
    X0, Y0 : numpy.ndarray
        Starting factors, shape ``(n, r)``.
    penalty : PenaltyRule or float
        The update rule; a number means :class:`FixedPenalty`.
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
    block : {"exact", "columns"}
        ``"exact"``: AM (13), exact block solves (``problem.block_argmin``); ``"columns"``:
        HAM (14)–(16), one pass of exact column updates (``problem.column_sweep``).
    callback : callable, optional
        ``callback(k, state)`` after every sweep; ``state`` has ``X, Y, lam, residual``.

    Returns
    -------
    SolverResult
        ``x = (X, Y)`` the last finite iterate. ``history``: ``iter``, ``objective``
        (:math:`F_{\lambda_k}` at the iterate, the penalty of the sweep that produced it),
        ``gap`` (:math:`\|X - Y\|_F`), ``lam`` (:math:`\lambda_k`), ``residual`` (KKT residual of
        (5)), ``sym_value`` (:math:`h` at :math:`(X + Y)/2`, the symmetric objective (3)).
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
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        lam = float(rule(0, problem, X, Y, math.nan)) if lam0 is None else float(lam0)
        if not math.isfinite(lam):
            raise ValueError(f"the rule {rule.name} needs an explicit finite lam0, got {lam0!r}")
        F_cur = penalized_value(problem, X, Y, lam)
        res = kkt_residual(problem, X, Y, lam)

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
            X, Y = Xn, Yn
            res = kkt_residual(problem, X, Y, lam)
            if callback is not None:
                callback(k, {"X": X, "Y": Y, "lam": lam, "residual": res})
            if res <= tol:
                status, message = "converged", f"KKT residual {res:.2e} <= tol={tol:g} at sweep {k}"
            elif step <= step_tol * (1.0 + nx + ny):
                status = "stalled"
                message = (f"sweep {k}: iterates stopped moving (relative step {step:.1e}) with "
                           f"KKT residual {res:.2e} > tol at lam={lam:.4g}")
            if status != "max_iter" or k % record_every == 0 or k == max_iter:
                record(k, F_new, margin)
                margin = math.inf
            if status != "max_iter":
                break
            lam = float(rule(k, problem, X, Y, lam))
            if check_decrease:
                F_cur = penalized_value(problem, X, Y, lam)
    return SolverResult(x=(X, Y), history=hist, status=status, message=message, n_iter=k)


def _check_start(name, X0, problem):
    """A finite 2-D starting factor with ``problem.n`` rows (when the problem says its size)."""
    X0 = check_array(name, X0, ndim=2)
    n = getattr(problem, "n", None)
    if isinstance(n, (int, np.integer)) and X0.shape[0] != n:
        raise ValueError(f"{name} must have n = {n} rows (the size of the problem), got shape {X0.shape}")
    return X0


def nonconvex_admm(problem, X0, Y0, *, rho: float, max_iter: int = 1000, tol: float = 1e-9,
                   blowup: float = 1e100) -> SolverResult:
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
    ``dual``, ``sym_value`` (:math:`h` at :math:`(X + Y)/2`).
    """
    rho = check_real("rho", rho, lo=0, lo_open=True)
    check_int("max_iter", max_iter, lo=0)
    check_real("tol", tol, lo=0)
    check_real("blowup", blowup, lo=0, lo_open=True, allow_inf=True)
    check_attrs("problem", problem, ("f", "block_argmin"))
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
            record(k, dual)
            scale = max(1.0, float(np.linalg.norm(X)))
            if hist["gap"][-1] <= tol * scale and dual <= tol * scale:
                status, message = "converged", f"primal and dual residuals below tol at iteration {k}"
                break
    return SolverResult(x=(X, Y), history=hist, status=status, message=message, n_iter=k)
