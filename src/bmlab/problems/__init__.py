"""Problems of the book; every one is a :class:`bmlab.problems.base.Problem`."""
from .base import MeasurementProblem, Problem, SplitProblem

__all__ = ["Problem", "MeasurementProblem", "SplitProblem"]
