r"""Convex baselines for PSD matrix completion (paper 001, §2.2.1 and A.1).

* noiseless: :math:`\min \mathrm{tr}\,X` s.t. :math:`X_\Omega = b`, :math:`X \succeq 0`
  (nuclear-norm minimisation restricted to the PSD cone, Candès & Recht);
* noisy: :math:`\min_{X \succeq 0} \|X_\Omega - b\|_2^2`, whose value is the baseline
  :math:`f^\star` of the noisy residual plots (FOUND-code ``TestMe_simple.m``, which uses CVX).

The sampling mask is not symmetric, so :math:`X_\Omega` of a symmetric :math:`X` constrains
:math:`X_{ij}` through :math:`(i,j)` *and* :math:`(j,i)` when both are sampled.
"""
from __future__ import annotations

import numpy as np

from ..problems.completion import MatrixCompletion
from .core import SDPResult, lifted_problem, solve_sdp

__all__ = ["trace_min_completion", "psd_least_squares"]


def _check(problem):
    if not isinstance(problem, MatrixCompletion):
        raise TypeError(f"problem must be a MatrixCompletion, got {type(problem).__name__}")


def trace_min_completion(problem, *, solver: str = "SCS", **opts) -> SDPResult:
    r""":math:`\min \mathrm{tr}\,X` s.t. :math:`\mathcal A(X) = b`, :math:`X \succeq 0`."""
    problem = lifted_problem(problem)
    _check(problem)
    import cvxpy as cp

    X = cp.Variable((problem.n, problem.n), PSD=True)
    cons = [X[problem.rows, problem.cols] == problem.b]
    prob = cp.Problem(cp.Minimize(cp.trace(X)), cons)
    return solve_sdp(prob, X, solver=solver, **opts)


def psd_least_squares(problem, *, solver: str = "SCS", **opts) -> SDPResult:
    r""":math:`\min_{X \succeq 0} \|\mathcal A(X) - b\|_2^2` (objective without the ½, as the
    plotted residual)."""
    problem = lifted_problem(problem)
    _check(problem)
    import cvxpy as cp

    X = cp.Variable((problem.n, problem.n), PSD=True)
    prob = cp.Problem(cp.Minimize(cp.sum_squares(X[problem.rows, problem.cols] - problem.b)))
    out = solve_sdp(prob, X, solver=solver, **opts)
    if out.Z is not None:
        # report the residual of the returned matrix itself (SCS objectives are inexact)
        r = out.Z[problem.rows, problem.cols] - problem.b
        out.extra["residual_sq"] = float(r @ r)
    return out
