"""What every solver of :mod:`bmlab.solvers` shares: the result object (modelled on
:class:`scipy.optimize.OptimizeResult`: ``x``, ``fun``, ``nit``, ``status``, ``message``), the
``record=`` schedule and the callback style.

Conventions of every loop in this package
-----------------------------------------
* The problem is a :class:`bmlab.problems.base.Problem` (or, for the older call forms, the
  callables it bundles).
* ``callback(k, x)`` is called after every iteration ``k >= 1`` with the current iterate
  ``x`` (an array or a tuple of arrays), and nothing else; it returns nothing.
* ``record=`` says at which iterations the history is written: ``None`` (every iteration), an
  integer ``e`` (every ``e``-th) or an array of iteration numbers (:func:`log_schedule`). The
  start (0) and the last iteration are always recorded.
* Divergence (overflow, a non-finite iterate) ends the run with status ``"diverged"``; it is
  never raised.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from ..validation import check_array_in, check_int

__all__ = ["SolverResult", "STATUSES", "log_schedule", "record_rule", "Callback"]

#: The callback style of every solver: ``callback(k, x)``.
Callback = Callable[[int, Any], None]

#: The statuses a solver can end with.
STATUSES = ("converged", "max_iter", "diverged", "stalled")


@dataclass
class SolverResult:
    """Outcome of an iterative solver.

    Attributes
    ----------
    x : Any
        Final iterate (an array, or a tuple of arrays for block methods such as ``(X, Y)``).
    history : dict of str to numpy.ndarray
        One entry per recorded quantity (objective, ``|x - y|``, penalty ...), one value per
        iteration; index 0 is the starting point.
    status : str
        One of ``"converged"``, ``"max_iter"``, ``"diverged"`` (a non-finite or overflowing
        iterate was met: recorded as an outcome, never raised) or ``"stalled"``.
    message : str
        Human-readable explanation of ``status``.
    n_iter : int
        Number of iterations performed (``nit`` is the SciPy name).
    fun : float
        Objective value at ``x`` (NaN when the solver has no objective to evaluate).
    wall_time : float
        Seconds spent in the solver (validation excluded), by :func:`time.perf_counter`.
    """

    x: Any
    history: dict[str, np.ndarray] = field(default_factory=dict)
    status: str = "max_iter"
    message: str = ""
    n_iter: int = 0
    fun: float = math.nan
    wall_time: float = math.nan

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}, got {self.status!r}")
        self.history = {k: np.asarray(v, dtype=float) for k, v in self.history.items()}

    @property
    def nit(self) -> int:
        """Number of iterations (SciPy's name of :attr:`n_iter`)."""
        return self.n_iter

    @property
    def success(self) -> bool:
        """True when the solver converged."""
        return self.status == "converged"

    @property
    def diverged(self) -> bool:
        """True when the iteration blew up (overflow or non-finite values)."""
        return self.status == "diverged"

    def __repr__(self) -> str:  # pragma: no cover - cosmetic
        keys = ", ".join(self.history)
        return (f"SolverResult(status={self.status!r}, n_iter={self.n_iter}, fun={self.fun:.6g}, "
                f"message={self.message!r}, history=[{keys}])")


def log_schedule(max_iter: int, points: int = 200) -> np.ndarray:
    """Iterations ``0 .. max_iter`` spaced logarithmically (unique integers, 0 included): a
    ``record=`` schedule for long runs."""
    max_iter = check_int("max_iter", max_iter)
    points = check_int("points", points, lo=1)
    if max_iter < 1:
        return np.array([0])
    it = np.unique(np.round(np.logspace(0, np.log10(max_iter), points)).astype(int))
    return np.r_[0, it[it <= max_iter]]


def record_rule(record, name: str = "record") -> Callable[[int], bool]:
    """``k -> bool``, whether iteration ``k`` is recorded under the schedule ``record``
    (``None``: every iteration; an int ``e >= 1``: every ``e``-th; an array: those iterations).
    Validated here, once, before the loop."""
    if record is None:
        return lambda k: True
    if isinstance(record, (int, np.integer)) and not isinstance(record, (bool, np.bool_)):
        every = check_int(name, record, lo=1)
        return lambda k: k % every == 0
    arr = check_array_in(name, record, lo=0, ndim=1, dtype=None, min_size=0)
    keep = frozenset(int(k) for k in arr)
    return keep.__contains__
