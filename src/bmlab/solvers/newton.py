r"""Newton refinement of critical points (its one home; moved here from
:mod:`bmlab.landscape`). Newton's method converges to critical points of any index, so it finds saddles
as well as minima: the tool behind :func:`bmlab.landscape.enumerate_critical_points`.
"""
from __future__ import annotations

import math
import time
from typing import Callable

import numpy as np

from ..validation import check_array, check_attrs, check_callable, check_int, check_real
from .base import SolverResult

__all__ = ["newton_refine"]


def newton_refine(problem, X0: np.ndarray, *, tol: float = 1e-10, max_iter: int = 50,
                  rcond: float = 1e-10, callback: Callable | None = None) -> SolverResult:
    r"""Refine an approximate critical point by Newton's method on :math:`\nabla F = 0`.

    Each step solves :math:`\nabla^2F(X_k)\,\Delta = -\nabla F(X_k)` in the least-squares,
    minimum-norm sense (:func:`numpy.linalg.lstsq`), so the zero eigenvalues of the
    rotational symmetry :math:`X \mapsto XQ` (rank :math:`r > 1`) do no harm; the step is
    halved until the gradient norm decreases (at most 30 halvings).

    ``problem`` is a :class:`~bmlab.problems.base.Problem` with ``grad`` and a dense
    ``hessian``; ``callback(k, X)`` runs after every accepted step.

    Returns
    -------
    SolverResult
        ``fun`` is ``problem.value(X)`` (NaN when the problem has no ``value``);
        ``status="converged"`` when :math:`\|\nabla F(X)\|_F <` ``tol``; ``stalled`` when no
        halved step decreases the gradient norm; ``history["grad_norm"]`` is the residual,
        its last entry the final one.
    """
    if not tol > 0:
        raise ValueError(f"tol must be positive, got {tol!r}")
    tol = check_real("tol", tol, lo=0, lo_open=True)
    max_iter = check_int("max_iter", max_iter, lo=0)
    rcond = check_real("rcond", rcond, lo=0)
    check_attrs("problem", problem, ("grad", "hessian"))
    if callback is not None:
        check_callable("callback", callback)
    X = np.array(check_array("X0", X0, ndim=2), dtype=float)
    t0 = time.perf_counter()
    g = problem.grad(X)
    gn = float(np.linalg.norm(g))
    hist = {"iter": [0], "grad_norm": [gn]}
    status, message, k = "max_iter", f"reached max_iter={max_iter}", 0
    with np.errstate(over="ignore", invalid="ignore"):
        for k in range(1, max_iter + 1):
            if gn < tol:
                status, message, k = "converged", f"gradient norm {gn:.2e} < tol={tol:g}", k - 1
                break
            H = problem.hessian(X)
            step = np.linalg.lstsq(H, -g.ravel(), rcond=rcond)[0].reshape(X.shape)
            t, accepted = 1.0, False
            for _ in range(31):
                Xn = X + t * step
                gn_new = float(np.linalg.norm(problem.grad(Xn)))
                if np.isfinite(gn_new) and gn_new < gn:
                    accepted = True
                    break
                t *= 0.5
            if not accepted:
                status, message, k = "stalled", f"no decreasing Newton step at residual {gn:.2e}", k - 1
                break
            X = Xn
            g = problem.grad(X)
            gn = float(np.linalg.norm(g))
            hist["iter"].append(k)
            hist["grad_norm"].append(gn)
            if callback is not None:
                callback(k, X)
        else:
            if gn < tol:
                status, message = "converged", f"gradient norm {gn:.2e} < tol={tol:g}"
        fun = _value(problem, X)
    return SolverResult(x=X, history=hist, status=status, message=message, n_iter=k, fun=fun,
                        wall_time=time.perf_counter() - t0)


def _value(problem, x) -> float:
    """``problem.value(x)``, NaN when the problem has none."""
    value = getattr(problem, "value", None)
    if not callable(value):
        return math.nan
    try:
        return float(value(x))
    except NotImplementedError:
        return math.nan
