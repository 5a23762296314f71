"""Solve a CVXPY problem with a named solver and keep what the book reports about it.

Every SDP baseline of the book goes through :func:`solve_sdp`, which never raises on a
solver failure: the failure is recorded in the result's ``status`` and ``message``.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..validation import check_array

SOLVERS = ("CLARABEL", "SCS")
OK_STATUSES = ("optimal", "optimal_inaccurate")


@dataclass
class SDPResult:
    """Outcome of a convex baseline.

    Attributes
    ----------
    Z : numpy.ndarray or None
        The matrix variable at the solution (None if the solver failed).
    objective : float
        Optimal value reported by CVXPY (nan on failure).
    status : str
        CVXPY's status (``optimal``, ``optimal_inaccurate``, ``infeasible`` ...) or
        ``solver_error``.
    solver : str
        The solver that was asked for.
    wall_time : float
        Seconds including CVXPY's compilation.
    solve_time : float or None
        Seconds inside the solver (``problem.solver_stats.solve_time``).
    num_iters : int or None
        Solver iterations.
    message : str
        Error text when the solver failed.
    extra : dict
        Other variables' values (by name) at the solution.
    """

    Z: np.ndarray | None
    objective: float
    status: str
    solver: str
    wall_time: float
    solve_time: float | None = None
    num_iters: int | None = None
    message: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True for ``optimal`` and ``optimal_inaccurate`` (a solution to use, see
        :attr:`status_label` for how to show it)."""
        return self.status in OK_STATUSES

    @property
    def inaccurate(self) -> bool:
        """True when the solver stopped short of its tolerances (``*_inaccurate``, e.g. SCS at
        its iteration cap)."""
        return self.status.endswith("_inaccurate")

    @property
    def status_label(self) -> str:
        """The status for tables and prose: ``optimal (inaccurate)`` for
        ``optimal_inaccurate`` (never shown as plain ``optimal``), else the status with
        underscores as spaces."""
        if self.inaccurate:
            return self.status[: -len("_inaccurate")].replace("_", " ") + " (inaccurate)"
        return self.status.replace("_", " ")

    def as_row(self) -> dict:
        """One table row: solver, status (:attr:`status_label`), objective, wall time [s],
        iterations. Chapter result tables leave the wall time out (it goes to
        ``ch.record_timing``): ``{k: v for k, v in r.as_row().items() if k != "wall time [s]"}``."""
        return {"solver": self.solver, "status": self.status_label, "objective": self.objective,
                "wall time [s]": self.wall_time, "iterations": self.num_iters}


def solve_sdp(problem, variable, *, solver: str = "CLARABEL", **solver_opts) -> SDPResult:
    """Solve ``problem`` with ``solver`` and return an :class:`SDPResult` for ``variable``.

    Parameters
    ----------
    problem : cvxpy.Problem
    variable : cvxpy.Variable
        The matrix variable to report (declare it with ``PSD=True`` / ``hermitian=True``).
    solver : {"CLARABEL", "SCS"}
        Clarabel (interior point) by default: on the book's baselines it always returned
        ``optimal`` and stayed practical to n = 100; SCS (first order) is faster when it
        converges but hits its iteration cap unpredictably (``optimal_inaccurate``). The
        measurements are in :mod:`bmlab.sdp.completion` and :mod:`bmlab.sdp.phaselift`
        (``benchmarks/bench_sdp.py``).
    **solver_opts
        Passed to :meth:`cvxpy.Problem.solve` (e.g. ``eps=1e-8`` for SCS).
    """
    import cvxpy as cp

    if not isinstance(solver, str):
        raise TypeError(f"solver must be one of {SOLVERS}, got {type(solver).__name__} {solver!r}")
    if not isinstance(problem, cp.Problem):
        raise TypeError(f"problem must be a cvxpy.Problem, got {type(problem).__name__}")
    if not isinstance(variable, cp.Variable):
        raise TypeError(f"variable must be a cvxpy.Variable, got {type(variable).__name__}")
    solver = solver.upper()
    if solver not in SOLVERS:
        raise ValueError(f"solver must be one of {SOLVERS}, got {solver!r}")
    t0 = time.perf_counter()
    try:
        problem.solve(solver=solver, **solver_opts)
    except (cp.error.SolverError, ArithmeticError, ValueError) as exc:
        return SDPResult(Z=None, objective=float("nan"), status="solver_error", solver=solver,
                         wall_time=time.perf_counter() - t0, message=str(exc))
    wall = time.perf_counter() - t0
    stats = problem.solver_stats
    value = variable.value
    extra = {v.name(): v.value for v in problem.variables() if v is not variable}
    return SDPResult(
        Z=None if value is None else np.asarray(value),
        objective=float(problem.value) if problem.value is not None else float("nan"),
        status=str(problem.status), solver=solver, wall_time=wall,
        solve_time=getattr(stats, "solve_time", None), num_iters=getattr(stats, "num_iters", None),
        extra=extra,
    )


def lifted_problem(problem):
    r"""The problem on the lifted matrix behind ``problem``: a factored
    :class:`~bmlab.problems.base.Problem` of :mod:`bmlab.factorizations`
    (:class:`~bmlab.factorizations.udu.BurerMonteiro`,
    :class:`~bmlab.factorizations.udu.UDUFactorization`,
    :class:`~bmlab.factorizations.asymmetric.SymmetricObjective`,
    :class:`~bmlab.factorizations.asymmetric.PenalizedSplit`) is unwrapped to the problem it
    factors, so every convex baseline takes the same object the solvers take; anything else is
    returned as is."""
    from ..factorizations.asymmetric import PenalizedSplit, SymmetricObjective
    from ..factorizations.udu import BurerMonteiro, UDUFactorization

    if isinstance(problem, (BurerMonteiro, UDUFactorization, SymmetricObjective, PenalizedSplit)):
        return problem.problem
    return problem


def relative_error(Z: np.ndarray, Z_ref: np.ndarray) -> float:
    """:math:`\\|Z - Z_{ref}\\|_F / \\max(\\|Z_{ref}\\|_F, 10^{-12})`."""
    Z = check_array("Z", Z, dtype=None)
    Z_ref = check_array("Z_ref", Z_ref, shape=Z.shape, dtype=None)
    return float(np.linalg.norm(Z - Z_ref) / max(np.linalg.norm(Z_ref), 1e-12))
