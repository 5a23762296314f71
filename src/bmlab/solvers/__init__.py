"""Every loop of the package (conventions: :mod:`bmlab.solvers.base`)."""
from .alternating import alternating_minimization, nonconvex_admm
from .base import SolverResult, log_schedule
from .gd import gradient_descent
from .newton import newton_refine
from .udu import run_bm, run_udu

__all__ = ["SolverResult", "log_schedule", "gradient_descent", "alternating_minimization",
           "nonconvex_admm", "newton_refine", "run_bm", "run_udu"]
