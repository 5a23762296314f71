r"""The scalar toy problems of paper 000, §4 (spec 000 §4, §5; all RECON).

Each toy is a loss :math:`f(z)` on :math:`1\times 1` matrices :math:`Z = xy` with
:math:`n = r = 1`, used through :mod:`bmlab.factorizations.asymmetric`. Iterates are
``(1, 1)`` arrays so that every matrix formula of the paper applies unchanged.

:class:`LinearToy`
    Toy 4.1, (18): :math:`\min_x c\,x^2`, i.e. :math:`f(z) = c z` (linear, :math:`\sigma = L = 0`),
    :math:`g \equiv 0`. Its relaxation (19) is :math:`\min_{x,y} c\,xy +
    \tfrac\lambda2 (x - y)^2`, and AM (20) is :math:`x^{k+1} = (1 - c/\lambda) y^k`,
    :math:`y^{k+1} = (1 - c/\lambda) x^{k+1}`. Theorem 1's bound (10) is
    :math:`\lambda > c/2`, which is necessary and sufficient for AM to converge
    (RECON: the paper's text names neither the toy's constants nor its start).
:class:`ShiftedSquareToy`
    :math:`f(z) = \tfrac12 (z - m)^2` (:math:`L = \sigma = 1`). With :math:`m = -1` it is the
    alternative reading of toy 4.1, :math:`\min_x \tfrac12 (x^2 + 1)^2`, whose relaxation has
    the spurious critical pair :math:`(u, -u)`, :math:`u^2 = -m - 2\lambda`, for
    :math:`\lambda < -m/2`. With :math:`m > 0` and ``nonneg=True`` it is toy 4.2, (22):
    :math:`\min_{x \ge 0} \tfrac12 (x^2 - m)^2`, AM (24):
    :math:`x^{k+1} = (m + \lambda) y^k / ((y^k)^2 + \lambda)`.
"""
from __future__ import annotations

import math

import numpy as np

from .base import NoReg, NonNeg, SplitProblem, UnboundedSubproblem
from ..validation import check_array, check_bool, check_real

__all__ = ["LinearToy", "ShiftedSquareToy", "as_factor"]


def as_factor(x) -> np.ndarray:
    """A scalar (or array) as a float64 ``(1, 1)`` factor."""
    a = check_array("x", x, ndim=(0, 1, 2))
    if a.size != 1:
        raise ValueError(f"a scalar toy factor has one entry, got shape {a.shape}")
    return a.reshape(1, 1)


class _ScalarToy(SplitProblem):
    n = 1
    r = 1

    def block_constants(self, W):
        r""":math:`(L, \sigma)` of :math:`x \mapsto f(x w)`: both :math:`f''\,w^2`."""
        c = self.curvature * float(W[0, 0]) ** 2
        return c, c

    def theorem1_bound(self, Z=None) -> float:
        r"""Bound (10) at the symmetric solution: :math:`\tfrac12 f'(z^\star) - \mu/4`."""
        Z = np.zeros((1, 1)) + self.z_star if Z is None else Z
        return 0.5 * float(self.grad_f(as_factor(Z))[0, 0]) - self.reg.mu / 4


class LinearToy(_ScalarToy):
    r"""Toy 4.1: :math:`f(z) = c z`, :math:`g \equiv 0` (spec 000 §4, RECON).

    Parameters
    ----------
    c : float
        Positive coefficient; (18) is :math:`\min_x c x^2` with solution :math:`x^\star = 0`.
    """

    curvature = 0.0

    def __init__(self, c: float = 1.0) -> None:
        self.c = check_real("c", c, lo=0, lo_open=True)
        self._G = np.full((1, 1), self.c)
        self.reg = NoReg()
        self.x_star = 0.0
        self.z_star = 0.0

    def __repr__(self):
        return f"LinearToy(c={self.c:g})"

    def f(self, Z):
        return self.c * float(Z.trace())

    def grad_f(self, Z):
        if Z.shape == (1, 1):
            return self._G.copy()
        return self.c * np.eye(Z.shape[0])

    def hess_f_vec(self, Z, dZ):
        return np.zeros_like(dZ)

    def block_argmin(self, W, lam):
        r""":math:`\arg\min_x c\,xw + \tfrac\lambda2 (x - w)^2 = (1 - c/\lambda)\,w`, (20)."""
        if not lam > 0:
            if np.all(W == 0):
                return np.zeros_like(W)
            raise UnboundedSubproblem(
                f"block problem min_x c*x*w + lam/2 (x-w)^2 is unbounded below for lam={lam:g} <= 0")
        return (1.0 - self.c / lam) * W


class ShiftedSquareToy(_ScalarToy):
    r""":math:`f(z) = \tfrac12 (z - m)^2`, optionally with :math:`x, y \ge 0` (spec 000 §4, §5).

    Parameters
    ----------
    m : float
        Shift. ``m = -1``: the alternative toy 4.1, :math:`\min_x \tfrac12(x^2+1)^2`;
        ``m > 0`` with ``nonneg=True``: toy 4.2, :math:`\min_{x\ge0}\tfrac12(x^2-m)^2`.
    nonneg : bool
        Constrain the factors to be non-negative (:math:`g = \delta_{[0,\infty)}`).
    """

    curvature = 1.0

    def __init__(self, m: float = -1.0, nonneg: bool = False) -> None:
        self.m = check_real("m", m)
        check_bool("nonneg", nonneg)
        self.reg = NonNeg() if nonneg else NoReg()
        self.x_star = math.sqrt(self.m) if self.m > 0 else 0.0
        self.z_star = max(self.m, 0.0)

    def __repr__(self):
        return f"ShiftedSquareToy(m={self.m:g}, nonneg={self.reg.is_indicator})"

    def f(self, Z):
        R = Z - self.m
        return 0.5 * float(np.vdot(R, R))

    def grad_f(self, Z):
        return Z - self.m

    def hess_f_vec(self, Z, dZ):
        return dZ

    def block_argmin(self, W, lam):
        r""":math:`\arg\min_x \tfrac12(xw - m)^2 + \tfrac\lambda2(x-w)^2
        = (m + \lambda)w / (w^2 + \lambda)`, projected on :math:`x \ge 0` if constrained, (24)."""
        den = W * W + lam
        if not np.all(den > 0):
            raise UnboundedSubproblem(
                f"block problem not strongly convex (w^2 + lam = {float(den.ravel()[0]):g} <= 0)")
        return self.reg.project((self.m + lam) * W / den)

    def spurious_u(self, lam: float) -> float:
        r""":math:`u` of the asymmetric critical pair :math:`(u, -u)`, :math:`u^2 = -m - 2\lambda`
        (nan when none exists, i.e. :math:`\lambda \ge -m/2`)."""
        lam = check_real("lam", lam)
        u2 = -self.m - 2.0 * lam
        return math.sqrt(u2) if u2 > 0 else float("nan")
