r"""The regularised asymmetric Burer–Monteiro split with a symmetry penalty (paper 000).

The book writes the penalty parameter as :math:`\lambda` where spec 000 writes :math:`\gamma`.
For a loss :math:`f:\mathbb R^{n\times n}\to\mathbb R` and a regulariser :math:`g`,

.. math::

    h(X) &= f(XX^\top) + g(X) && \text{(3), regularised sBMF (DERIVED)} \\
    F_\lambda(X, Y) &= f(XY^\top) + \tfrac12 g(X) + \tfrac12 g(Y)
        + \tfrac{\lambda}{2}\|X - Y\|_F^2 && \text{(5), regularised aBMF}

(spec 000 §1: the penalty term is FOUND, the weight :math:`\tfrac12` on each copy of
:math:`g` is DERIVED from the lifting property :math:`F_\lambda(X, X) = h(X)`).

A *problem* (see :mod:`bmlab.problems.scalar_toys`, :mod:`bmlab.problems.snmf`,
:mod:`bmlab.problems.quadratic`) provides

``f(Z)``, ``grad_f(Z)``, ``hess_f_vec(Z, dZ)``
    the loss, its gradient and Hessian-vector product in :math:`Z`;
``reg``
    a :class:`~bmlab.problems.base.Regularizer` (:class:`~bmlab.problems.base.NoReg`,
    :class:`~bmlab.problems.base.NonNeg` or :class:`~bmlab.problems.base.Ridge`);
``block_argmin(W, lam)``
    the exact block minimiser :math:`\arg\min_X f(XW^\top) + \tfrac12 g(X) +
    \tfrac\lambda2\|X - W\|_F^2` (Step 3 of Algorithm 1). All problems here satisfy
    Assumption 2(b), :math:`f(Z^\top) = f(Z)`, so the :math:`Y` block is the same map with the
    roles exchanged. It raises :class:`~bmlab.problems.base.UnboundedSubproblem` when the block problem has no
    minimiser (e.g. linear :math:`f` with :math:`\lambda \le 0`);
``block_constants(W)``
    :math:`(L, \sigma)`, the smoothness and strong-convexity constants of
    :math:`X \mapsto f(XW^\top)` (used by the Hu–Kwok rule, AMagd).

Such a problem is a :class:`bmlab.problems.base.SplitProblem`; the regularisers and
:class:`~bmlab.problems.base.UnboundedSubproblem` are defined in :mod:`bmlab.problems.base`.
This module evaluates :math:`F_\lambda`, its gradient and Hessian, KKT residuals, and the
symmetric objective :math:`h`, for any such problem, and wraps :math:`h` and
:math:`F_\lambda` as Problems (:class:`SymmetricObjective`, :class:`PenalizedSplit`) that
:mod:`bmlab.solvers` and :mod:`bmlab.landscape` take.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..problems.base import Problem
from ..validation import check_array, check_attrs, check_real

__all__ = [
    "penalized_value", "penalized_grad", "penalized_hessvec", "penalized_hessian",
    "kkt_residual", "symmetric_value", "symmetric_grad", "symmetric_kkt_residual",
    "symmetric_hessvec", "SymmetricObjective", "PenalizedSplit",
]


# ---------------------------------------------------------------------------------------------
# F_lambda and h
# ---------------------------------------------------------------------------------------------

def penalized_value(problem, X: np.ndarray, Y: np.ndarray, lam: float) -> float:
    r""":math:`F_\lambda(X, Y)`, equation (5)."""
    D = X - Y
    return float(problem.f(X @ Y.T) + 0.5 * problem.reg.value(X) + 0.5 * problem.reg.value(Y)
                 + 0.5 * lam * np.vdot(D, D))


def penalized_grad(problem, X, Y, lam):
    r"""Gradient of the smooth part of :math:`F_\lambda`:

    .. math:: \nabla_X F = \nabla f(XY^\top) Y + \tfrac12\nabla g(X) + \lambda (X - Y),\quad
              \nabla_Y F = \nabla f(XY^\top)^\top X + \tfrac12\nabla g(Y) + \lambda (Y - X).
    """
    G = problem.grad_f(X @ Y.T)
    D = X - Y
    gx = G @ Y + 0.5 * problem.reg.grad(X) + lam * D
    gy = G.T @ X + 0.5 * problem.reg.grad(Y) - lam * D
    return gx, gy


def penalized_hessvec(problem, X, Y, lam, U, V):
    r"""Hessian of the smooth part of :math:`F_\lambda` applied to the direction :math:`(U, V)`.

    With :math:`G = \nabla f(XY^\top)`, :math:`dZ = UY^\top + XV^\top` and
    :math:`H = \nabla^2 f(XY^\top)[dZ]`:

    .. math:: (\nabla^2 F)[U,V] = \big(HY + GV + \tfrac12\nabla^2 g\,U + \lambda(U - V),\;
              H^\top X + G^\top U + \tfrac12\nabla^2 g\,V + \lambda(V - U)\big).
    """
    Z = X @ Y.T
    G = problem.grad_f(Z)
    H = problem.hess_f_vec(Z, U @ Y.T + X @ V.T)
    hx = H @ Y + G @ V + 0.5 * problem.reg.hess_vec(X, U) + lam * (U - V)
    hy = H.T @ X + G.T @ U + 0.5 * problem.reg.hess_vec(Y, V) + lam * (V - U)
    return hx, hy


def penalized_hessian(problem, X, Y, lam) -> np.ndarray:
    """Dense Hessian of :math:`F_\\lambda` in the variable ``concat(X.ravel(), Y.ravel())``."""
    X, Y, lam = _check_pair(X, Y, lam)
    n, r = X.shape
    N = n * r
    Hm = np.empty((2 * N, 2 * N))
    for i in range(2 * N):
        e = np.zeros(2 * N)
        e[i] = 1.0
        hx, hy = penalized_hessvec(problem, X, Y, lam, e[:N].reshape(n, r), e[N:].reshape(n, r))
        Hm[:, i] = np.concatenate([hx.ravel(), hy.ravel()])
    return 0.5 * (Hm + Hm.T)


def _check_pair(X, Y, lam):
    """Validate a point :math:`(X, Y)` of the split and a penalty (public entry points that are
    not called inside a loop). The kernels :func:`penalized_value`, :func:`penalized_grad`,
    :func:`penalized_hessvec`, :func:`kkt_residual` and the ``symmetric_*`` functions run at
    every iteration of AM or GD and stay unchecked: the solvers validate their start once."""
    X = check_array("X", X, ndim=2)
    Y = check_array("Y", Y, shape=X.shape)
    return X, Y, check_real("lam", lam)


def _pg_residual(reg, X, gX) -> float:
    """Norm of the projected-gradient step :math:`X - P(X - \\nabla)` (KKT residual)."""
    if reg.is_indicator:
        R = X - reg.project(X - gX)
        return float(np.sqrt(np.vdot(R, R)))
    return float(np.sqrt(np.vdot(gX, gX)))


def kkt_residual(problem, X, Y, lam) -> float:
    r"""KKT residual of (5): the norm of the projected gradient in :math:`(X, Y)`."""
    gx, gy = penalized_grad(problem, X, Y, lam)
    return float(np.hypot(_pg_residual(problem.reg, X, gx), _pg_residual(problem.reg, Y, gy)))


def symmetric_value(problem, X) -> float:
    r""":math:`h(X) = f(XX^\top) + g(X)`, equation (3)."""
    return float(problem.f(X @ X.T) + problem.reg.value(X))


def symmetric_grad(problem, X) -> np.ndarray:
    r""":math:`\nabla h(X) = (\nabla f(XX^\top) + \nabla f(XX^\top)^\top) X + \nabla g(X)`."""
    G = problem.grad_f(X @ X.T)
    return (G + G.T) @ X + problem.reg.grad(X)


def symmetric_kkt_residual(problem, X) -> float:
    """KKT residual of (3) (projected gradient norm)."""
    return _pg_residual(problem.reg, X, symmetric_grad(problem, X))


def symmetric_hessvec(problem, X, U):
    r""":math:`\nabla^2 h(X)[U] = (H + H^\top)X + (G + G^\top)U + \nabla^2 g\,U` with
    :math:`G = \nabla f(XX^\top)` and :math:`H = \nabla^2 f(XX^\top)[UX^\top + XU^\top]`."""
    Z = X @ X.T
    G = problem.grad_f(Z)
    H = problem.hess_f_vec(Z, U @ X.T + X @ U.T)
    return (H + H.T) @ X + (G + G.T) @ U + problem.reg.hess_vec(X, U)


# ---------------------------------------------------------------------------------------------
# the factored objectives as Problems (bmlab.problems.base)
# ---------------------------------------------------------------------------------------------

class SymmetricObjective(Problem):
    r"""The symmetric objective (3), :math:`h(X) = f(XX^\top) + g(X)`, of a split problem as a
    :class:`~bmlab.problems.base.Problem` in :math:`X` (projection: the domain of :math:`g`)."""

    def __init__(self, problem) -> None:
        check_attrs("problem", problem, ("f", "grad_f", "hess_f_vec", "reg"))
        self.problem = problem
        self.constrained = bool(problem.reg.is_indicator)

    def __repr__(self):
        return f"SymmetricObjective({self.problem!r})"

    def value(self, X) -> float:
        return symmetric_value(self.problem, X)

    def grad(self, X):
        return symmetric_grad(self.problem, X)

    def hvp(self, X, U):
        return symmetric_hessvec(self.problem, X, U)

    def project(self, X):
        return self.problem.reg.project(X)


class PenalizedSplit(Problem):
    r"""The penalised split (5), :math:`F_\lambda(X, Y)`, as a
    :class:`~bmlab.problems.base.Problem` in the block variable ``(X, Y)``; its dense Hessian
    is :func:`penalized_hessian` and its projection the domain of :math:`g` on each block."""

    def __init__(self, problem, lam: float) -> None:
        check_attrs("problem", problem, ("f", "grad_f", "hess_f_vec", "reg"))
        self.problem = problem
        self.lam = check_real("lam", lam)
        self.constrained = bool(problem.reg.is_indicator)

    def __repr__(self):
        return f"PenalizedSplit({self.problem!r}, lam={self.lam:g})"

    def value(self, x) -> float:
        return penalized_value(self.problem, x[0], x[1], self.lam)

    def grad(self, x):
        return penalized_grad(self.problem, x[0], x[1], self.lam)

    def hvp(self, x, v):
        return penalized_hessvec(self.problem, x[0], x[1], self.lam, v[0], v[1])

    def hessian(self, x) -> np.ndarray:
        return penalized_hessian(self.problem, x[0], x[1], self.lam)

    def project(self, x):
        return self.problem.reg.project(x[0]), self.problem.reg.project(x[1])
