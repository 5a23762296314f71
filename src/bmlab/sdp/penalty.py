r"""Convex baselines over :math:`Z \succeq 0` for the problems of paper 000 (CVXPY).

The base SDP (1) of paper 000 is :math:`\min_{Z\in\mathbb S^n_+} f(Z)` (FOUND, spec 000 [S2]).
Each function builds it for one problem family and solves it through
:func:`bmlab.sdp.core.solve_sdp` (solver named explicitly, failures recorded, not raised).
"""
from __future__ import annotations

import numpy as np

from ..problems.quadratic import QuadraticSensing
from ..problems.scalar_toys import LinearToy, ShiftedSquareToy
from ..problems.snmf import SymmetricNMF
from ..validation import check_array, check_bool
from ..factorizations.spectral import numerical_rank
from .core import SDPResult, lifted_problem, relative_error, solve_sdp

__all__ = ["scalar_toy_sdp", "split_problem_sdp", "compare_with_sdp"]


def scalar_toy_sdp(problem, *, solver: str = "CLARABEL", **solver_opts) -> SDPResult:
    r"""Solve :math:`\min_{z \succeq 0} f(z)` for a scalar toy (a :math:`1\times1` PSD variable).

    :class:`~bmlab.problems.scalar_toys.LinearToy`: :math:`\min c\,z` (optimum :math:`z = 0`);
    :class:`~bmlab.problems.scalar_toys.ShiftedSquareToy`: :math:`\min\tfrac12(z - m)^2`
    (optimum :math:`z = \max(m, 0)`). For :math:`1\times1` matrices :math:`Z \succeq 0` is
    :math:`z \ge 0`, so the sign constraint of toy 4.2 adds nothing.
    """
    import cvxpy as cp

    problem = lifted_problem(problem)
    Z = cp.Variable((1, 1), PSD=True, name="Z")
    if isinstance(problem, LinearToy):
        objective = problem.c * cp.trace(Z)
    elif isinstance(problem, ShiftedSquareToy):
        objective = 0.5 * cp.sum_squares(Z - problem.m)
    else:
        raise TypeError(f"problem must be a LinearToy or ShiftedSquareToy, got {type(problem).__name__}")
    return solve_sdp(cp.Problem(cp.Minimize(objective)), Z, solver=solver, **solver_opts)



def split_problem_sdp(problem, *, solver: str = "CLARABEL", nonneg: bool = True,
                      **solver_opts) -> SDPResult:
    r"""The convex problem behind a split problem, over :math:`Z \succeq 0`.

    :class:`~bmlab.problems.snmf.SymmetricNMF`: :math:`\min\tfrac12\|M - Z\|_F^2` over
    :math:`Z \succeq 0` and, with ``nonneg=True``, :math:`Z \ge 0` entrywise (the doubly
    non-negative relaxation: every :math:`XX^\top` with :math:`X \ge 0` is in it, but not every
    DNN matrix is such a product, so the factorized problem can stay above its optimum).
    :class:`~bmlab.problems.quadratic.QuadraticSensing`: :math:`\min\tfrac12\|\mathcal A(Z) -
    b\|^2 + \tfrac\mu2\operatorname{tr}Z` (the ridge :math:`\tfrac\mu2\|X\|_F^2` equals
    :math:`\tfrac\mu2\operatorname{tr}(XX^\top)`). In both, the factorized problem of rank
    :math:`r` reaches the SDP optimum when an SDP solution has rank at most :math:`r` (and, for
    sNMF, a non-negative factor).
    """
    import cvxpy as cp

    check_bool("nonneg", nonneg)
    problem = lifted_problem(problem)
    n = problem.n
    Z = cp.Variable((n, n), PSD=True, name="Z")
    cons = []
    if isinstance(problem, SymmetricNMF):
        obj = 0.5 * cp.sum_squares(Z - problem.M)
        if nonneg:
            cons.append(Z >= 0)
    elif isinstance(problem, QuadraticSensing):
        Amat = problem.A.reshape(problem.m, -1)
        obj = 0.5 * cp.sum_squares(Amat @ cp.vec(Z, order="C") - problem.b)
        if problem.reg.mu > 0:
            obj = obj + 0.5 * problem.reg.mu * cp.trace(Z)
    else:
        raise TypeError(f"no SDP for {type(problem).__name__}")
    return solve_sdp(cp.Problem(cp.Minimize(obj), cons), Z, solver=solver, **solver_opts)


def compare_with_sdp(problem, X, Y, sdp: SDPResult, *, am_time: float = float("nan")) -> dict:
    r"""One row of the SDP cross-check: objective gap :math:`(h - p^\star)/\max(|p^\star|, 1)`,
    :math:`\|XY^\top - Z_{sdp}\|_F /
    \|Z_{sdp}\|_F`, ranks and wall times. The factorized objective is :math:`h` at
    :math:`(X + Y)/2` (equal to :math:`F_\lambda(X, Y)` at a symmetric limit)."""
    from ..factorizations.asymmetric import symmetric_value

    problem = lifted_problem(problem)
    X = check_array("X", X, ndim=2)
    Y = check_array("Y", Y, shape=X.shape)
    if not isinstance(sdp, SDPResult):
        raise TypeError(f"sdp must be an SDPResult, got {type(sdp).__name__}")
    W = 0.5 * (X + Y)
    h = symmetric_value(problem, W)
    ok = sdp.ok and sdp.Z is not None
    Zs = sdp.Z if ok else None
    return {
        "SDP status": sdp.status,
        "SDP objective": sdp.objective,
        "factorized objective": h,
        "objective gap": (h - sdp.objective) / max(abs(sdp.objective), 1.0) if ok else np.nan,
        "||XY^T - Z_sdp|| / ||Z_sdp||": relative_error(X @ Y.T, Zs) if ok else np.nan,
        "rank Z_sdp": numerical_rank(Zs, 1e-4) if ok else -1,
        "rank XY^T": numerical_rank(X @ Y.T, 1e-4),
        "r": problem.r,
        "SDP time [s]": sdp.wall_time,
        "AM time [s]": am_time,
    }
