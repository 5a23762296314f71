r"""Convex baselines for symmetric matrix sensing (paper 003, chapter ``baselines``).

* least squares over the PSD cone: :math:`\min_{Z\succeq 0}\|\mathcal A(Z) - b\|_2`;
* trace minimisation: :math:`\min_{Z\succeq 0}\operatorname{tr}Z` s.t. :math:`\mathcal A(Z) = b`.

Both go through :func:`bmlab.sdp.core.solve_sdp`, which records the solver's status and never
raises on a solver failure.
"""
from __future__ import annotations

import numpy as np

from ..problems.sensing import DenseSensing, HighOrderLoss, SensingOperator, WeightedEntrywiseSensing
from ..validation import check_array
from .core import SDPResult, solve_sdp

FORMS = ("least_squares", "min_trace")


def _affine(op: SensingOperator, Z):
    import cvxpy as cp

    if isinstance(op, WeightedEntrywiseSensing):
        return cp.vec(cp.multiply(op.weights, Z), order="C")
    if isinstance(op, DenseSensing):
        return op.A.reshape(op.m, -1) @ cp.vec(Z, order="C")
    raise TypeError(f"unsupported operator {type(op).__name__}")


def sensing_sdp(op: SensingOperator | HighOrderLoss, b: np.ndarray | None = None, *,
                form: str = "least_squares", solver: str = "CLARABEL", **solver_opts) -> SDPResult:
    r"""Solve one convex baseline; ``form`` is ``least_squares`` or ``min_trace``.

    ``op`` is a sensing operator with its data ``b``, or a
    :class:`~bmlab.problems.sensing.HighOrderLoss` (the Problem the solvers take), whose
    operator and data :math:`b = \mathcal A(M^*)` are used when ``b`` is omitted."""
    import cvxpy as cp

    if isinstance(op, HighOrderLoss):
        op, b = op.op, (op.b if b is None else b)
    if b is None:
        raise TypeError("b is required with a sensing operator (or pass a HighOrderLoss)")

    if form not in FORMS:
        raise ValueError(f"form must be one of {FORMS}, got {form!r}")
    if not isinstance(op, (DenseSensing, WeightedEntrywiseSensing)):
        raise TypeError(f"op must be a DenseSensing or WeightedEntrywiseSensing, got {type(op).__name__}")
    b = check_array("b", b, shape=(op.m,))
    Z = cp.Variable((op.n, op.n), PSD=True)
    r = _affine(op, Z) - np.asarray(b, dtype=float)
    if form == "least_squares":
        prob = cp.Problem(cp.Minimize(cp.norm(r, 2)))
    else:
        prob = cp.Problem(cp.Minimize(cp.trace(Z)), [r == 0])
    return solve_sdp(prob, Z, solver=solver, **solver_opts)
