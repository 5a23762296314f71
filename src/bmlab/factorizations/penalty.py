r"""Penalty-update rules for the split (5) of paper 000, compared in its §4 (spec 000 §3; their one
home: import them from here). The book's
:math:`\lambda` is the spec's :math:`\gamma`. A rule is called between two sweeps of
:func:`bmlab.solvers.alternating.alternating_minimization`:
``rule(k, problem, X, Y, lam) -> lam_next``.

Rules (:class:`PenaltyRule`):

==========  =====================================================================  ==========
name        :math:`\lambda_{k+1}`                                                     status
==========  =====================================================================  ==========
``fixed``   :math:`\lambda` (Theorem 2)                                                DERIVED
``AMagd``   :math:`\tfrac14(L^k - \sigma^k)_+` + margin, Hu–Kwok (8)                   RECON
``AMadp``   :math:`\max(\rho\lambda_k, \text{target}_k)`, monotone, Li et al. (7)     RECON
``AMpca``   :math:`\min(1/\|X^k - Y^k\|_F, \lambda_{\max})`, Han et al.               RECON
``AMour``   rule (17): Rayleigh quantity if :math:`D^k \ne 0`, else
            :math:`\tfrac12\lambda_{\max}(\operatorname{sym}\nabla f) - \mu/4`,
            plus :math:`\varepsilon`                                               DERIVED
==========  =====================================================================  ==========

A rule that meets an overflowing iterate returns NaN; the solver then ends the run as
``"diverged"`` (never raised).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

from ..bounds.exact_penalty import corollary1_bound12, hu_kwok_bound, rayleigh_quantity, theorem1_bound
from ..validation import check_callable, check_real

__all__ = [
    "PenaltyRule", "FixedPenalty", "AlgorithmDependentPenalty", "AdaptivePenalty",
    "AccuracyPenalty", "ExactPenalty", "StartBoundPenalty", "make_rule", "RULES",
]


# ---------------------------------------------------------------------------------------------
# penalty rules
# ---------------------------------------------------------------------------------------------

class PenaltyRule:
    """A penalty-update rule: ``rule(k, problem, X, Y, lam) -> lam_next``."""

    name = "rule"

    def __call__(self, k: int, problem, X: np.ndarray, Y: np.ndarray, lam: float) -> float:
        raise NotImplementedError

    def __repr__(self):
        return f"{type(self).__name__}({self.name})"


@dataclass(repr=False)
class FixedPenalty(PenaltyRule):
    """:math:`\\lambda_k = \\lambda` for every sweep (Theorem 2)."""

    lam: float
    name = "fixed"

    def __post_init__(self):
        if not (isinstance(self.lam, (int, float, np.floating)) and math.isfinite(self.lam)):
            raise ValueError(f"lam must be a finite number, got {self.lam!r}")

    def __call__(self, k, problem, X, Y, lam):
        return float(self.lam)


@dataclass(repr=False)
class AlgorithmDependentPenalty(PenaltyRule):
    r"""AMagd, the Hu–Kwok rule (8) (RECON): :math:`\lambda_{k+1} = \tfrac14(L^k -
    \sigma^k)_+ + \text{margin}`, with :math:`(L^k, \sigma^k)` the constants of the next
    block problems (the larger over the two blocks). On the scalar toys it is the margin."""

    margin: float = 0.0
    name = "AMagd"

    def __post_init__(self):
        check_real("margin", self.margin, lo=0)

    def __call__(self, k, problem, X, Y, lam):
        cy, cx = problem.block_constants(Y), problem.block_constants(X)
        if not np.all(np.isfinite(cy + cx)):
            return math.nan      # an overflowing iterate: the run ends as "diverged", no raise
        b = max(hu_kwok_bound(*cy), hu_kwok_bound(*cx))
        return b + self.margin


@dataclass(repr=False)
class AdaptivePenalty(PenaltyRule):
    r"""AMadp, a monotone increase in the spirit of Li et al. (7) (RECON):
    :math:`\lambda_{k+1} = \min(\max(\rho\lambda_k, \text{target}(X^k, Y^k)), \lambda_{\max})`.

    Parameters
    ----------
    rho : float
        Growth factor, :math:`\rho \ge 1`.
    target : callable, optional
        ``target(problem, X, Y)`` a problem-specific level the rule must reach (e.g. the sNMF
        exactness level :math:`\tfrac12(\|XY^\top\|_2 - \lambda_{\min}(M))`).
    lam_max : float
        Cap.
    """

    rho: float = 1.05
    target: Callable | None = None
    lam_max: float = math.inf
    name = "AMadp"

    def __post_init__(self):
        if not self.rho >= 1:
            raise ValueError(f"rho must be >= 1, got {self.rho!r}")
        check_real("rho", self.rho, lo=1)
        if self.target is not None:
            check_callable("target", self.target)
        check_real("lam_max", self.lam_max, lo=0, lo_open=True, allow_inf=True)

    def __call__(self, k, problem, X, Y, lam):
        new = self.rho * lam
        if self.target is not None:
            new = max(new, float(self.target(problem, X, Y)))
        return min(new, self.lam_max)


@dataclass(repr=False)
class AccuracyPenalty(PenaltyRule):
    r"""AMpca, "proportional to the accuracy" (Han et al.; RECON):
    :math:`\lambda_{k+1} = \min(1/\epsilon^k, \lambda_{\max})` with the accuracy proxy
    :math:`\epsilon^k = \|X^k - Y^k\|_F`."""

    lam_max: float = 1e16
    name = "AMpca"

    def __post_init__(self):
        check_real("lam_max", self.lam_max, lo=0, lo_open=True, allow_inf=True)

    def __call__(self, k, problem, X, Y, lam):
        eps = float(np.linalg.norm(X - Y))
        return self.lam_max if eps == 0 else min(1.0 / eps, self.lam_max)


@dataclass(repr=False)
class ExactPenalty(PenaltyRule):
    r"""AMour, the paper's rule (17) (DERIVED, medium confidence).

    ``mode="aggressive"`` (the rule): :math:`[\langle\nabla f(Z^k), D^kD^{k\top}\rangle /
    (2\|D^k\|_F^2) - \mu/4]_+ + \varepsilon` when :math:`D^k \ne 0`, else the conservative
    value; ``mode="conservative"``: always :math:`[\tfrac12\lambda_{\max}(\operatorname{sym}
    \nabla f(Z^k)) - \mu/4]_+ + \varepsilon`. On toy 4.1 both are :math:`c/2 + \varepsilon`
    (21).
    """

    eps: float = 0.1
    mode: str = "aggressive"
    name = "AMour"

    def __post_init__(self):
        if self.mode not in ("aggressive", "conservative"):
            raise ValueError(f"mode must be 'aggressive' or 'conservative', got {self.mode!r}")
        check_real("eps", self.eps, lo=0, lo_open=True)

    def __call__(self, k, problem, X, Y, lam):
        G = problem.grad_f(X @ Y.T)
        if not np.all(np.isfinite(G)):
            return math.nan      # an overflowing iterate: the run ends as "diverged", no raise
        mu = problem.reg.mu
        D = X - Y
        if self.mode == "aggressive" and np.any(D != 0):
            q = rayleigh_quantity(G, D, mu)
        else:
            q = theorem1_bound(G, mu)
        return max(q, 0.0) + self.eps


@dataclass(repr=False)
class StartBoundPenalty(PenaltyRule):
    r"""The decreasing-penalty variant of Corollary 1 (DERIVED, spec 000 §2): treat the current
    iterate as a fresh start and use ``margin`` times bound (12) computed from it,
    :math:`\lambda_{k+1} = \text{margin}\cdot(Ld^2 + \sqrt{L^2d^4 + 32L(f(X^kY^{k\top}) -
    f_{\inf})})/8` with :math:`d = \|X^k - Y^k\|_F` (needs ``problem.L``; :math:`f_{\inf} = 0`,
    :math:`\mu = 0`, :math:`g \ge 0`). It shrinks as the objective decreases."""

    margin: float = 1.01
    name = "Cor1-decreasing"

    def __post_init__(self):
        check_real("margin", self.margin, lo=0, lo_open=True)

    def __call__(self, k, problem, X, Y, lam):
        f_val, d = problem.f(X @ Y.T), float(np.linalg.norm(X - Y))
        if not (math.isfinite(f_val) and math.isfinite(d)):
            return math.nan      # an overflowing iterate: the run ends as "diverged", no raise
        return self.margin * corollary1_bound12(f_val, d, problem.L, mu=problem.reg.mu)


RULES = ("fixed", "AMagd", "AMadp", "AMpca", "AMour")


def make_rule(name: str, **kw) -> PenaltyRule:
    """Build a rule by name (``fixed``, ``AMagd``, ``AMadp``, ``AMpca``, ``AMour``)."""
    classes = {"fixed": FixedPenalty, "AMagd": AlgorithmDependentPenalty, "AMadp": AdaptivePenalty,
               "AMpca": AccuracyPenalty, "AMour": ExactPenalty}
    if not isinstance(name, str) or name not in classes:
        raise ValueError(f"rule must be one of {RULES}, got {name!r}")
    return classes[name](**kw)
