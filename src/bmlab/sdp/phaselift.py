r"""PhaseLift baselines for real phase retrieval (Candès, Strohmer & Voroninski 2013).

* :func:`phaselift_trace`: :math:`\min \mathrm{tr}\,X` s.t. :math:`a_i^\top X a_i = y_i`,
  :math:`X \succeq 0`;
* :func:`phaselift_ls`: :math:`\min_{X\succeq0} \sum_i (a_i^\top X a_i - y_i)^2`, the convex
  problem whose rank-constrained version BM and UDU solve (paper 001, A.2.1).

The signal estimate is the top eigenvector of the solution
(:func:`bmlab.problems.phase_retrieval.recover_signal` applied to a square root).

Default solvers, by measurement (``benchmarks/bench_sdp.py --phaselift``, 2026-12-01, the
implicit-bias chapter's seed instance: the image averaged down by 2, n = 64, m = 128; CPU
seconds of one process on the shared 2-core machine, one BLAS thread):

==================  ==============================================  ================================================
baseline            Clarabel (defaults)                             SCS (eps 1e-8, at most 10⁵ iterations)
==================  ==============================================  ================================================
least squares       4.9 s, optimal, objective 5.1e-10               **1.6 s**, optimal, 1 050 iterations, 1.2e-19
trace minimisation  **7.5 s**, optimal (inaccurate), 16 iterations  108 s, optimal, 90 075 iterations
==================  ==============================================  ================================================

So :func:`phaselift_ls` defaults to SCS (faster and closer to the optimum 0 of noiseless
data; both answers pass :func:`bmlab.sdp.certificate`) and :func:`phaselift_trace` to
Clarabel (SCS needs more than a minute; Clarabel's ``optimal (inaccurate)`` is shown as such
through :attr:`bmlab.sdp.core.SDPResult.status_label`; both miss :math:`xx^\top` by 0.6 at
m = 2n, the relaxation is not tight there).
"""
from __future__ import annotations

from ..problems.phase_retrieval import GaussianPR
from .core import SDPResult, lifted_problem, solve_sdp

__all__ = ["phaselift_trace", "phaselift_ls"]


def _measure(problem, X):
    import cvxpy as cp

    At = problem.A.T                       # m x n, rows a_i^T
    return cp.sum(cp.multiply(At @ X, At), axis=1)


def _check(problem):
    if not isinstance(problem, GaussianPR):
        raise TypeError(f"problem must be a GaussianPR (real phase retrieval), got {type(problem).__name__}")


def phaselift_trace(problem, *, solver: str = "CLARABEL", **opts) -> SDPResult:
    """:math:`\\min \\mathrm{tr} X` s.t. :math:`\\mathcal A(X) = y`, :math:`X \\succeq 0`
    (default solver Clarabel, measured: see the module docstring)."""
    problem = lifted_problem(problem)
    _check(problem)
    import cvxpy as cp

    X = cp.Variable((problem.n, problem.n), PSD=True)
    prob = cp.Problem(cp.Minimize(cp.trace(X)), [_measure(problem, X) == problem.b])
    return solve_sdp(prob, X, solver=solver, **opts)


def phaselift_ls(problem, *, solver: str = "SCS", **opts) -> SDPResult:
    """:math:`\\min_{X \\succeq 0} \\|\\mathcal A(X) - y\\|_2^2` (default solver SCS, measured:
    see the module docstring)."""
    problem = lifted_problem(problem)
    _check(problem)
    import cvxpy as cp

    X = cp.Variable((problem.n, problem.n), PSD=True)
    prob = cp.Problem(cp.Minimize(cp.sum_squares(_measure(problem, X) - problem.b)))
    return solve_sdp(prob, X, solver=solver, **opts)
