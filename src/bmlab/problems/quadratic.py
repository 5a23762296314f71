r"""Low-rank matrix sensing with a quadratic loss, as a split problem (paper 000, (3)/(5)).

.. math:: f(Z) = \tfrac12\sum_{i=1}^m (\langle A_i, Z\rangle - b_i)^2, \qquad A_i = A_i^\top,

so :math:`f(Z^\top) = f(Z)` (Assumption 2(b)), :math:`\nabla f(Z) = \sum_i r_i A_i`,
:math:`\nabla^2 f[dZ] = \sum_i \langle A_i, dZ\rangle A_i`. With ``mu > 0`` the regulariser is
:math:`g(X) = \tfrac\mu2\|X\|_F^2` (Assumption 1), otherwise :math:`g \equiv 0`.

The block problem :math:`X\mapsto f(XW^\top) + \tfrac12 g(X) + \tfrac\lambda2\|X-W\|_F^2` is a
least-squares problem in :math:`\operatorname{vec} X` with the operator
:math:`\Phi_W \operatorname{vec}X = (\langle A_i W, X\rangle)_i`; :meth:`QuadraticSensing.block_argmin`
solves its normal equations :math:`(\Phi_W^\top\Phi_W + (\lambda + \mu/2) I)\,x =
\Phi_W^\top b + \lambda \operatorname{vec} W` exactly.
"""
from __future__ import annotations

import numpy as np
from scipy.linalg import cho_factor, cho_solve

from .base import NoReg, Ridge, SplitProblem, UnboundedSubproblem
from ..validation import check_array, check_int, check_real, check_rng

__all__ = ["QuadraticSensing", "sensing_instance"]


class QuadraticSensing(SplitProblem):
    """Quadratic matrix-sensing loss with symmetric sensing matrices.

    Parameters
    ----------
    A : array (m, n, n)
        Sensing matrices (symmetrised on entry).
    b : array (m,)
        Measurements.
    r : int
        Factorization rank.
    mu : float
        Ridge weight of :math:`g` (0: no regulariser).
    """

    def __init__(self, A, b, r: int, mu: float = 0.0) -> None:
        A = check_array("A", A, ndim=3)
        if A.shape[1] != A.shape[2]:
            raise ValueError(f"A must have shape (m, n, n), got {A.shape}")
        b = check_array("b", b, shape=(A.shape[0],))
        if not (isinstance(r, (int, np.integer)) and r >= 1):
            raise ValueError(f"r must be a positive integer, got {r!r}")
        mu = check_real("mu", mu, lo=0)
        self.A = 0.5 * (A + A.transpose(0, 2, 1))
        self.b = b
        self.m, self.n = A.shape[0], A.shape[1]
        self.r = int(r)
        self.reg = Ridge(mu) if mu > 0 else NoReg()
        Amat = self.A.reshape(self.m, -1)
        self._K = Amat.T @ Amat          # sum_i vec(A_i) vec(A_i)^T (row-major vec)
        self._Atb = Amat.T @ self.b
        self.L = float(np.linalg.eigvalsh(self._K)[-1])
        # symmetric A_i never see the antisymmetric part of Z: f is not strongly convex on
        # all of R^{n x n}, sigma = 0 in Assumption 2(c)
        self.sigma = 0.0

    def __repr__(self):
        return f"QuadraticSensing(m={self.m}, n={self.n}, r={self.r}, mu={self.reg.mu:g})"

    def measure(self, Z):
        return np.tensordot(self.A, Z, axes=([1, 2], [0, 1]))

    def f(self, Z):
        res = self.measure(Z) - self.b
        return 0.5 * float(res @ res)

    def grad_f(self, Z):
        return np.tensordot(self.measure(Z) - self.b, self.A, axes=(0, 0))

    def hess_f_vec(self, Z, dZ):
        return np.tensordot(self.measure(dZ), self.A, axes=(0, 0))

    def _phi(self, W):
        # rows: vec(A_i W)
        return (self.A @ W).reshape(self.m, -1)

    def block_constants(self, W):
        ev = np.linalg.eigvalsh(self._phi(W).T @ self._phi(W))
        return float(ev[-1]), float(ev[0])

    def block_argmin(self, W, lam, center=None):
        # Phi_W = Amat @ kron(I_n, W) (row-major vec), so Phi^T Phi = T^T K T, Phi^T b = T^T A^T b
        T = np.kron(np.eye(self.n), W)
        Q = T.T @ self._K @ T + (lam + 0.5 * self.reg.mu) * np.eye(T.shape[1])
        rhs = T.T @ self._Atb + lam * (W if center is None else center).ravel()
        try:
            c = cho_factor(Q)
        except np.linalg.LinAlgError as exc:
            raise UnboundedSubproblem(f"block problem not strongly convex at lam={lam:g}") from exc
        return cho_solve(c, rhs).reshape(W.shape)


def sensing_instance(n: int, r: int, m: int, rng: np.random.Generator, *, r_true: int | None = None,
                     mu: float = 0.0, noise: float = 0.0, signs=None) -> tuple[QuadraticSensing, np.ndarray]:
    r"""Gaussian symmetric sensing of :math:`M^* = U\operatorname{diag}(s)U^\top` (:math:`U`
    Gaussian with ``r_true`` columns, default ``r``; ``signs`` :math:`s`, default all 1, i.e. a
    PSD truth), :math:`A_i = (G_i + G_i^\top)/(2\sqrt m)`. Returns ``(problem, M_star)``."""
    n, r, m = (check_int(k, v, lo=1) for k, v in (("n", n), ("r", r), ("m", m)))
    check_rng("rng", rng)
    r_true = r if r_true is None else check_int("r_true", r_true, lo=1)
    mu = check_real("mu", mu, lo=0)
    noise = check_real("noise", noise, lo=0)
    s = np.ones(r_true) if signs is None else check_array("signs", signs, ndim=(0, 1))
    if s.shape != (r_true,):
        raise ValueError(f"signs must have length r_true={r_true}, got {s.shape}")
    G = rng.standard_normal((m, n, n))
    A = (G + G.transpose(0, 2, 1)) / (2 * np.sqrt(m))
    U = rng.standard_normal((n, r_true)) / np.sqrt(n)
    M = (U * s) @ U.T
    b = np.tensordot(A, M, axes=([1, 2], [0, 1])) + noise * rng.standard_normal(m)
    return QuadraticSensing(A, b, r, mu=mu), M
