"""The result object every solver returns (modelled on :class:`scipy.optimize.OptimizeResult`)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

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
        Number of iterations performed.
    """

    x: Any
    history: dict[str, np.ndarray] = field(default_factory=dict)
    status: str = "max_iter"
    message: str = ""
    n_iter: int = 0

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}, got {self.status!r}")
        self.history = {k: np.asarray(v, dtype=float) for k, v in self.history.items()}

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
        return (f"SolverResult(status={self.status!r}, n_iter={self.n_iter}, "
                f"message={self.message!r}, history=[{keys}])")
