r"""Convex baselines over :math:`Z \succeq 0` for the problems of paper 000 (CVXPY).

The base SDP (1) of paper 000 is :math:`\min_{Z\in\mathbb S^n_+} f(Z)` (FOUND, spec 000 [S2]).
Each function builds it for one problem family and solves it through
:func:`bmlab.sdp.core.solve_sdp` (solver named explicitly, failures recorded, not raised).
"""
from __future__ import annotations

from ..problems.scalar_toys import LinearToy, ShiftedSquareToy
from .core import SDPResult, solve_sdp

__all__ = ["scalar_toy_sdp"]


def scalar_toy_sdp(problem, *, solver: str = "CLARABEL", **solver_opts) -> SDPResult:
    r"""Solve :math:`\min_{z \succeq 0} f(z)` for a scalar toy (a :math:`1\times1` PSD variable).

    :class:`~bmlab.problems.scalar_toys.LinearToy`: :math:`\min c\,z` (optimum :math:`z = 0`);
    :class:`~bmlab.problems.scalar_toys.ShiftedSquareToy`: :math:`\min\tfrac12(z - m)^2`
    (optimum :math:`z = \max(m, 0)`). For :math:`1\times1` matrices :math:`Z \succeq 0` is
    :math:`z \ge 0`, so the sign constraint of toy 4.2 adds nothing.
    """
    import cvxpy as cp

    Z = cp.Variable((1, 1), PSD=True, name="Z")
    if isinstance(problem, LinearToy):
        objective = problem.c * cp.trace(Z)
    elif isinstance(problem, ShiftedSquareToy):
        objective = 0.5 * cp.sum_squares(Z - problem.m)
    else:
        raise TypeError(f"problem must be a LinearToy or ShiftedSquareToy, got {type(problem).__name__}")
    return solve_sdp(cp.Problem(cp.Minimize(objective)), Z, solver=solver, **solver_opts)

