r"""Asymmetric low-rank matrix factorization (paper 002, Ye & Du; spec 002 §1).

.. math::

    f(\mathbf U, \mathbf V) = \tfrac12\|\mathbf U\mathbf V^\top - \boldsymbol\Sigma\|_F^2
    \qquad\text{(1), FOUND}

with :math:`\mathbf U\in\mathbb R^{m\times d}`, :math:`\mathbf V\in\mathbb R^{n\times d}`, and
optionally the balancing regulariser of the works the paper contrasts itself with,

.. math::

    g(\mathbf U, \mathbf V) = \mu\,\|\mathbf U^\top\mathbf U - \mathbf V^\top\mathbf V\|_F^2,
    \qquad \mu = \tfrac18 \text{ in the paper's §1 (FOUND)}.

With :math:`R = \mathbf U\mathbf V^\top - \boldsymbol\Sigma` and
:math:`D = \mathbf U^\top\mathbf U - \mathbf V^\top\mathbf V`,

.. math::

    \nabla_{\mathbf U} = R\mathbf V + 4\mu\,\mathbf U D, \qquad
    \nabla_{\mathbf V} = R^\top\mathbf U - 4\mu\,\mathbf V D,

so one gradient step with :math:`\mu = 0` is exactly GD (2)–(3) of the paper. Hessian-vector
products are checked against finite differences in ``tests/test_factorization.py``.

Iterates are tuples ``(U, V)``, the structure :func:`bmlab.solvers.gd.gradient_descent` takes.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..validation import check_array, check_int, check_real, check_rng
from .base import Problem

__all__ = ["AsymmetricFactorization", "low_rank_matrix", "truncated_svd_optimum"]


def low_rank_matrix(m: int, n: int, sigmas, rng: np.random.Generator):
    r"""A rank-:math:`d` matrix :math:`\boldsymbol\Sigma = \Phi_{:,1:d}\operatorname{diag}(\sigma)
    \Psi_{:,1:d}^\top` with Haar-random orthogonal :math:`\Phi\in O(m)`, :math:`\Psi\in O(n)`
    (spec 002 §7).

    Returns
    -------
    Sigma : (m, n) ndarray
    Phi : (m, m) ndarray
    Psi : (n, n) ndarray
        Full orthogonal factors, so that :math:`\Phi^\top\boldsymbol\Sigma\Psi` is the diagonal
        :math:`\Sigma'` of §2.1 of the paper.
    """
    m, n = check_int("m", m, lo=1), check_int("n", n, lo=1)
    sigmas = np.sort(check_array("sigmas", sigmas, ndim=(0, 1)).ravel())[::-1]
    d = sigmas.size
    check_rng("rng", rng)
    if d < 1 or d > min(m, n):
        raise ValueError(f"need 1 <= len(sigmas) <= min(m, n), got d={d}, m={m}, n={n}")
    if np.any(sigmas <= 0):
        raise ValueError("sigmas must be positive")
    Phi = _haar(m, rng)
    Psi = _haar(n, rng)
    Sigma = (Phi[:, :d] * sigmas) @ Psi[:, :d].T
    return Sigma, Phi, Psi


def _haar(n: int, rng: np.random.Generator) -> np.ndarray:
    q, r = np.linalg.qr(rng.standard_normal((n, n)))
    return q * np.sign(np.diag(r))


def truncated_svd_optimum(Sigma: np.ndarray, d: int):
    r"""The exact minimiser of (1) by Eckart–Young: :math:`\mathbf U^\star = \Phi_d
    \Sigma_d^{1/2}`, :math:`\mathbf V^\star = \Psi_d\Sigma_d^{1/2}`, and the optimal value
    :math:`f^\star = \tfrac12\sum_{i>d}\sigma_i^2` (zero when :math:`\operatorname{rank}
    \boldsymbol\Sigma\le d`).

    Returns
    -------
    U, V : ndarray
    f_star : float
    """
    Sigma = check_array("Sigma", Sigma, ndim=2)
    d = check_int("d", d, lo=1, hi=min(Sigma.shape))
    P, s, Qt = np.linalg.svd(Sigma, full_matrices=False)
    r = np.sqrt(s[:d])
    U, V = P[:, :d] * r, Qt[:d].T * r
    f_star = 0.5 * float(np.sum(s[d:] ** 2))
    return U, V, f_star


@dataclass
class AsymmetricFactorization(Problem):
    r"""Objective (1), optionally with the balancing regulariser :math:`\mu\|D\|_F^2`.

    Parameters
    ----------
    Sigma : (m, n) ndarray
        The target :math:`\boldsymbol\Sigma`.
    balance : float
        Weight :math:`\mu \ge 0` of :math:`\|\mathbf U^\top\mathbf U-\mathbf V^\top\mathbf V\|_F^2`
        (``0``: the paper's plain objective; ``1/8``: the regularised one of its §1).
    """

    Sigma: np.ndarray
    balance: float = 0.0

    def __post_init__(self) -> None:
        self.Sigma = check_array("Sigma", self.Sigma, ndim=2)
        self.balance = check_real("balance", self.balance, lo=0)
        self.f0 = 0.5 * float(np.sum(self.Sigma ** 2))   # f(0, 0), the relative scale

    @property
    def shape(self) -> tuple[int, int]:
        return self.Sigma.shape

    def _check(self, x):
        if not (isinstance(x, tuple) and len(x) == 2):
            raise TypeError("the iterate must be a tuple (U, V)")
        U, V = x
        m, n = self.Sigma.shape
        if U.shape[0] != m or V.shape[0] != n or U.ndim != 2 or U.shape[1:] != V.shape[1:]:
            raise ValueError(f"U must be (m={m}, d) and V (n={n}, d), got {U.shape} and {V.shape}")
        return U, V

    def residual(self, x) -> np.ndarray:
        r""":math:`R = \mathbf U\mathbf V^\top - \boldsymbol\Sigma`."""
        U, V = self._check(x)
        return U @ V.T - self.Sigma

    def loss(self, x) -> float:
        r"""The plain objective (1), :math:`\tfrac12\|R\|_F^2`, without the regulariser."""
        R = self.residual(x)
        return 0.5 * float(np.vdot(R, R))

    def relative_loss(self, x) -> float:
        r""":math:`f(\mathbf U,\mathbf V)/f(0,0) = \|R\|_F^2/\|\boldsymbol\Sigma\|_F^2`."""
        return self.loss(x) / self.f0

    @staticmethod
    def imbalance(x) -> np.ndarray:
        r""":math:`D = \mathbf U^\top\mathbf U - \mathbf V^\top\mathbf V` (conserved by gradient flow)."""
        U, V = x
        return U.T @ U - V.T @ V

    def value(self, x) -> float:
        """Objective including the regulariser."""
        val = self.loss(x)
        if self.balance:
            D = self.imbalance(x)
            val += self.balance * float(np.sum(D * D))
        return val

    def grad(self, x):
        r"""Gradient ``(grad_U, grad_V)``; with ``balance=0`` it is :math:`(R\mathbf V, R^\top\mathbf U)`."""
        U, V = self._check(x)
        R = U @ V.T - self.Sigma
        gU, gV = R @ V, R.T @ U
        if self.balance:
            D = U.T @ U - V.T @ V
            c = 4.0 * self.balance
            gU = gU + c * (U @ D)
            gV = gV - c * (V @ D)
        return gU, gV

    def hess_vec(self, x, dx):
        r"""Hessian-vector product :math:`\nabla^2 F(\mathbf U,\mathbf V)[\mathrm d\mathbf U,
        \mathrm d\mathbf V]`, returned as a tuple like ``x``.

        .. math::

            \mathrm dR = \mathrm d\mathbf U\,\mathbf V^\top + \mathbf U\,\mathrm d\mathbf V^\top,\quad
            \mathrm d\nabla_{\mathbf U} = \mathrm dR\,\mathbf V + R\,\mathrm d\mathbf V,\quad
            \mathrm d\nabla_{\mathbf V} = \mathrm dR^\top\mathbf U + R^\top\mathrm d\mathbf U

        plus, for :math:`\mu>0`, :math:`4\mu(\mathrm d\mathbf U D + \mathbf U\,\mathrm dD)` and
        :math:`-4\mu(\mathrm d\mathbf V D + \mathbf V\,\mathrm dD)` with
        :math:`\mathrm dD = \mathrm d\mathbf U^\top\mathbf U + \mathbf U^\top\mathrm d\mathbf U
        - \mathrm d\mathbf V^\top\mathbf V - \mathbf V^\top\mathrm d\mathbf V`.
        """
        U, V = self._check(x)
        dU, dV = dx
        R = U @ V.T - self.Sigma
        dR = dU @ V.T + U @ dV.T
        hU = dR @ V + R @ dV
        hV = dR.T @ U + R.T @ dU
        if self.balance:
            D = U.T @ U - V.T @ V
            dD = dU.T @ U + U.T @ dU - dV.T @ V - V.T @ dV
            c = 4.0 * self.balance
            hU = hU + c * (dU @ D + U @ dD)
            hV = hV - c * (dV @ D + V @ dD)
        return hU, hV

    def hvp(self, x, dx):
        """:meth:`hess_vec` under its :class:`~bmlab.problems.base.Problem` name."""
        return self.hess_vec(x, dx)

    def optimum(self, d: int | None = None):
        r"""Exact minimiser of the plain objective at factor width ``d`` (default: the numerical
        rank of :math:`\boldsymbol\Sigma`) via :func:`truncated_svd_optimum`."""
        if d is None:
            d = int(np.linalg.matrix_rank(self.Sigma))
        return truncated_svd_optimum(self.Sigma, d)
