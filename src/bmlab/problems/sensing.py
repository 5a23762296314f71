r"""Symmetric matrix sensing with the high-order loss of Ma et al. (spec 003).

The unknown is :math:`M^* = ZZ^\top` (rank :math:`r^*`), the search variable
:math:`X \in \mathbb R^{n\times r}`, and a linear sensing operator
:math:`\mathcal A(M) = [\langle A_1, M\rangle, \dots, \langle A_m, M\rangle]^\top`.
With the residuals :math:`r_i(X) = \langle A_i, XX^\top - M^*\rangle` and

.. math:: \phi_\lambda(s) = \tfrac12 s^2 + \tfrac{\lambda}{l} s^l,

the objective of problem (8) of the paper is

.. math:: f^l_\lambda(X) = c \sum_{i=1}^m \phi_\lambda(r_i(X)) = c\,[f(X) + \lambda f^l(X)],

where :math:`c` is an optional scale (the authors' Gaussian script divides by :math:`m`, their
weighted script does not; spec 003 §4.1, §5). Gradient and Hessian (spec 003 §2.2, DERIVED,
checked against finite differences in ``tests/test_sensing.py``):

.. math::

    \nabla f^l_\lambda(X) &= c \sum_i \phi'_\lambda(r_i) (A_i + A_i^\top) X, \\
    \nabla^2 f^l_\lambda(X)[U, U] &= c \sum_i \phi''_\lambda(r_i)
        \langle A_i, UX^\top + XU^\top\rangle^2 + \phi'_\lambda(r_i)\langle A_i, 2UU^\top\rangle,

with :math:`\phi'_\lambda(s) = s + \lambda s^{l-1}` and
:math:`\phi''_\lambda(s) = 1 + \lambda (l-1) s^{l-2}`. Lemma 2 of the slides omits the factor 2
of the gradient for symmetric :math:`A_i` (spec 003 §2.1, DERIVED); it does not move the
critical points.

Vectorisation: ``X.ravel()`` (row-major), so the dense Hessian acts on ``U.ravel()``; its
spectrum does not depend on this choice (the authors use column-major).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..validation import check_array, check_bool, check_int, check_psd, check_real, check_rng
from .base import Problem

__all__ = [
    "SensingOperator", "DenseSensing", "WeightedEntrywiseSensing", "HighOrderLoss",
    "gaussian_sensing", "yalcin_weights", "yalcin_instance", "alternating_start",
    "yalcin_truth_spectrum", "yalcin_n3_spurious", "rip_ratio_range", "rip_delta",
    "weighted_rip_delta", "RipEstimate",
]


# ---------------------------------------------------------------------------------------------
# sensing operators
# ---------------------------------------------------------------------------------------------

class SensingOperator:
    r"""A linear map :math:`\mathcal A:\mathbb R^{n\times n}\to\mathbb R^m` and its adjoint.

    Subclasses implement :meth:`apply`, :meth:`adjoint` and :meth:`jacobian`.
    """

    n: int
    m: int

    def apply(self, M: np.ndarray) -> np.ndarray:
        r""":math:`\mathcal A(M) \in \mathbb R^m`."""
        raise NotImplementedError

    def adjoint(self, y: np.ndarray) -> np.ndarray:
        r""":math:`\mathcal A^*(y) = \sum_i y_i A_i \in \mathbb R^{n\times n}`."""
        raise NotImplementedError

    def apply_many(self, Ms: np.ndarray) -> np.ndarray:
        r""":math:`[\mathcal A(M_1), \dots, \mathcal A(M_b)]` as an ``(m, b)`` array."""
        return np.stack([self.apply(M) for M in Ms], axis=1)

    def sym_adjoint(self, y: np.ndarray) -> np.ndarray:
        r""":math:`\sum_i y_i (A_i + A_i^\top)`."""
        S = self.adjoint(y)
        return S + S.T

    def jacobian(self, X: np.ndarray) -> np.ndarray:
        r"""The :math:`m \times nr` Jacobian of :math:`X \mapsto \mathcal A(XX^\top)`: row
        :math:`i` is :math:`\operatorname{vec}((A_i + A_i^\top)X)` (row-major vec)."""
        raise NotImplementedError

    def matrices(self) -> np.ndarray:
        """The sensing matrices as an ``(m, n, n)`` array (small instances only)."""
        raise NotImplementedError

    def scaled(self, factor: float) -> "SensingOperator":
        r"""The operator :math:`c\,\mathcal A` (every :math:`A_i` times ``factor``)."""
        raise NotImplementedError


class DenseSensing(SensingOperator):
    r"""Sensing with explicit matrices ``A`` of shape ``(m, n, n)``.

    Parameters
    ----------
    A : numpy.ndarray, shape (m, n, n)
    """

    def __init__(self, A: np.ndarray) -> None:
        A = check_array("A", A, ndim=3)
        if A.shape[1] != A.shape[2]:
            raise ValueError(f"A must have shape (m, n, n), got {A.shape}")
        self.A = A
        self.m, self.n = A.shape[0], A.shape[1]
        self._As = A + A.transpose(0, 2, 1)

    def apply(self, M):
        return np.einsum("ijk,jk->i", self.A, M)

    def adjoint(self, y):
        return np.einsum("i,ijk->jk", y, self.A)

    def apply_many(self, Ms):
        Ms = np.asarray(Ms, dtype=float)
        return self.A.reshape(self.m, -1) @ Ms.reshape(Ms.shape[0], -1).T

    def jacobian(self, X):
        X = np.asarray(X, dtype=float)
        return np.einsum("ijk,kr->ijr", self._As, X).reshape(self.m, -1)

    def matrices(self):
        return self.A

    def scaled(self, factor):
        return DenseSensing(check_real("factor", factor, lo=0, lo_open=True) * self.A)


class WeightedEntrywiseSensing(SensingOperator):
    r"""Weighted entry-wise sensing :math:`\mathcal A(M) = (a_{ij}M_{ij})_{i,j}`, :math:`m=n^2`.

    The sensing matrices are :math:`A_{(ij)} = a_{ij} e_i e_j^\top` (spec 003 §4.1, FOUND-code);
    measurement :math:`(i,j)` has index ``i * n + j``.

    Parameters
    ----------
    weights : numpy.ndarray, shape (n, n)
        The entry weights :math:`a_{ij}`.
    """

    def __init__(self, weights: np.ndarray) -> None:
        a = check_array("weights", weights, square=True)
        self.weights = a
        self.n = a.shape[0]
        self.m = self.n * self.n

    def apply(self, M):
        return (self.weights * M).ravel()

    def adjoint(self, y):
        return self.weights * np.reshape(y, (self.n, self.n))

    def apply_many(self, Ms):
        Ms = np.asarray(Ms, dtype=float)
        return (self.weights[None] * Ms).reshape(Ms.shape[0], -1).T

    def jacobian(self, X):
        X = np.asarray(X, dtype=float)
        n, r = X.shape
        a = self.weights
        J = np.zeros((n, n, n, r))  # (i, j, row of X, column of X)
        idx = np.arange(n)
        # (A_ij + A_ij^T) X = a_ij (e_i X[j] + e_j X[i])
        J[idx[:, None], idx[None, :], idx[:, None], :] += a[:, :, None] * X[None, :, :]
        J[idx[:, None], idx[None, :], idx[None, :], :] += a[:, :, None] * X[:, None, :]
        return J.reshape(n * n, n * r)

    def matrices(self):
        n = self.n
        A = np.zeros((n * n, n, n))
        i, j = np.divmod(np.arange(n * n), n)
        A[np.arange(n * n), i, j] = self.weights.ravel()
        return A

    def scaled(self, factor):
        return WeightedEntrywiseSensing(check_real("factor", factor, lo=0, lo_open=True) * self.weights)


def gaussian_sensing(n: int, m: int, rng: np.random.Generator, *, std: float = 0.2,
                     symmetric: bool = True) -> DenseSensing:
    r"""Random Gaussian sensing matrices.

    :math:`A_i = \tfrac12(G_i + G_i^\top)` with :math:`(G_i)_{jk} \sim \mathcal N(0, \sigma^2)`
    (``symmetric=True``), as in the authors' scripts, which use ``normal/5``, i.e.
    :math:`\sigma = 0.2`, for every ``n`` (spec 003 §5, FOUND-code).
    """
    check_rng("rng", rng)
    n, m = check_int("n", n, lo=1), check_int("m", m, lo=1)
    std = check_real("std", std, lo=0, lo_open=True)
    check_bool("symmetric", symmetric)
    G = std * rng.standard_normal((m, n, n))
    A = 0.5 * (G + G.transpose(0, 2, 1)) if symmetric else G
    return DenseSensing(A)


def yalcin_weights(n: int, eps: float) -> np.ndarray:
    r"""Entry weights of Yalcin's instance (spec 003 §4.1, FOUND-code).

    With 0-based indices, :math:`a_{ij} = 1` if :math:`i=j`, :math:`i+1 = 2(j+1)` or
    :math:`2(i+1) = j+1`, and :math:`\varepsilon` otherwise.
    """
    n = check_int("n", n, lo=1)
    eps = check_real("eps", eps, lo=0, hi=1, lo_open=True)
    i, j = np.indices((n, n))
    one = (i == j) | (i + 1 == 2 * (j + 1)) | (2 * (i + 1) == j + 1)
    return np.where(one, 1.0, float(eps))


# ---------------------------------------------------------------------------------------------
# the loss
# ---------------------------------------------------------------------------------------------

@dataclass
class HighOrderLoss(Problem):
    r"""The objective :math:`f^l_\lambda(X) = c\sum_i \phi_\lambda(r_i(X))` of problem (8).

    Parameters
    ----------
    op : SensingOperator
    M_star : numpy.ndarray, shape (n, n)
        Ground truth :math:`M^*` (the data is :math:`b = \mathcal A(M^*)`).
    lam : float
        :math:`\lambda \ge 0`.
    l : int
        Order :math:`l \ge 2` (the paper uses :math:`l=4`; Theorem 6 needs it even).
    scale : float
        :math:`c > 0` (1 for the weighted instance, :math:`1/m` for the authors' Gaussian one).
    Z : numpy.ndarray, optional
        A factor of :math:`M^* = ZZ^\top`, kept as the ground truth :math:`X^*`.
    """

    op: SensingOperator
    M_star: np.ndarray
    lam: float = 0.0
    l: int = 4
    scale: float = 1.0
    Z: np.ndarray | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.op, SensingOperator):
            raise TypeError("op must be a SensingOperator")
        self.M_star = check_array("M_star", self.M_star, shape=(self.op.n, self.op.n))
        check_psd("M_star", self.M_star)
        if not (isinstance(self.l, (int, np.integer)) and self.l >= 2):
            raise ValueError(f"l must be an integer >= 2, got {self.l!r}")
        check_real("lam", self.lam, lo=0)
        check_real("scale", self.scale, lo=0, lo_open=True)
        if self.Z is not None:
            self.Z = check_array("Z", self.Z, shape=(self.op.n, None))
        self.b = self.op.apply(self.M_star)

    @property
    def n(self) -> int:
        return self.op.n

    def with_lam(self, lam: float) -> "HighOrderLoss":
        """The same instance with another :math:`\\lambda`."""
        return HighOrderLoss(self.op, self.M_star, lam=lam, l=self.l, scale=self.scale, Z=self.Z)

    # scalar pieces ------------------------------------------------------------------------
    def residuals(self, X: np.ndarray) -> np.ndarray:
        r""":math:`r_i(X) = \langle A_i, XX^\top - M^*\rangle`."""
        X = np.asarray(X, dtype=float)
        return self.op.apply(X @ X.T - self.M_star)

    def _phi1(self, r):
        return r + self.lam * r ** (self.l - 1)

    def _phi2(self, r):
        return 1.0 + self.lam * (self.l - 1) * r ** (self.l - 2)

    # value, gradient, Hessian ---------------------------------------------------------------
    def value(self, X: np.ndarray) -> float:
        r""":math:`f^l_\lambda(X)`."""
        r = self.residuals(X)
        return float(self.scale * np.sum(0.5 * r ** 2 + self.lam / self.l * r ** self.l))

    def base_value(self, X: np.ndarray) -> float:
        r""":math:`c f(X) = \tfrac c2 \|\mathcal A(XX^\top) - b\|^2`."""
        return float(self.scale * 0.5 * np.sum(self.residuals(X) ** 2))

    def grad(self, X: np.ndarray) -> np.ndarray:
        r""":math:`\nabla f^l_\lambda(X) = c\sum_i \phi'_\lambda(r_i)(A_i + A_i^\top)X`."""
        X = np.asarray(X, dtype=float)
        return self.scale * self.op.sym_adjoint(self._phi1(self.residuals(X))) @ X

    def hvp(self, X: np.ndarray, U: np.ndarray) -> np.ndarray:
        r"""Hessian-vector product :math:`\nabla^2 f^l_\lambda(X)[U]` (an :math:`n\times r`
        matrix), matrix-free:
        :math:`c[\mathcal S(\phi''\odot\mathcal A(UX^\top + XU^\top))X + \mathcal S(\phi')U]`
        with :math:`\mathcal S(y) = \sum_i y_i(A_i + A_i^\top)`."""
        X = np.asarray(X, dtype=float)
        U = np.asarray(U, dtype=float).reshape(X.shape)
        r = self.residuals(X)
        dr = self.op.apply(U @ X.T + X @ U.T)
        return self.scale * (self.op.sym_adjoint(self._phi2(r) * dr) @ X
                             + self.op.sym_adjoint(self._phi1(r)) @ U)

    def hessian(self, X: np.ndarray) -> np.ndarray:
        r"""Dense Hessian (:math:`nr \times nr`, row-major vec, spec 003 §2.2):

        .. math:: H = c\Big[J^\top \operatorname{diag}(\phi''_\lambda(r)) J
                  + \Big(\sum_i\phi'_\lambda(r_i)(A_i + A_i^\top)\Big)\otimes I_r\Big],

        where row :math:`i` of :math:`J` is :math:`\operatorname{vec}((A_i+A_i^\top)X)`.
        """
        X = np.asarray(X, dtype=float)
        r = self.residuals(X)
        J = self.op.jacobian(X)
        H = J.T @ (self._phi2(r)[:, None] * J)
        H += np.kron(self.op.sym_adjoint(self._phi1(r)), np.eye(X.shape[1]))
        H = self.scale * H
        return 0.5 * (H + H.T)

    def hessian_eigvals(self, X: np.ndarray) -> np.ndarray:
        """Eigenvalues of the dense Hessian, ascending."""
        return np.linalg.eigvalsh(self.hessian(X))

    def distance(self, X: np.ndarray) -> float:
        r""":math:`D = \|XX^\top - M^*\|_F`."""
        X = np.asarray(X, dtype=float)
        return float(np.linalg.norm(X @ X.T - self.M_star))


# ---------------------------------------------------------------------------------------------
# the paper's weighted instance and its closed forms
# ---------------------------------------------------------------------------------------------

def yalcin_instance(n: int, eps: float = 0.3, lam: float = 0.0, l: int = 4) -> HighOrderLoss:
    r"""The weighted entry-wise instance of the table (spec 003 §4.1).

    Weights :func:`yalcin_weights`, :math:`r = r^* = 1`, :math:`z = (1,0,1,0,\dots)` (ones at
    the 0-based even indices), :math:`M^* = zz^\top`, scale 1. :math:`\varepsilon = 0.3`
    reproduces the table (DERIVED by matching; the stored script has 0.1).
    """
    if not isinstance(n, (int, np.integer)) or n < 2:
        raise ValueError(f"n must be an integer >= 2, got {n!r}")
    check_real("lam", lam, lo=0)
    z = np.zeros((n, 1))
    z[::2, 0] = 1.0
    op = WeightedEntrywiseSensing(yalcin_weights(n, eps))
    return HighOrderLoss(op, z @ z.T, lam=lam, l=l, scale=1.0, Z=z)


def alternating_start(n: int, magnitude: float = 1.0) -> np.ndarray:
    r"""Start of the GD run that finds :math:`\hat X` (spec 003 §4.2, INFERRED): magnitude
    times :math:`(1, 0, -1, 0, 1, 0, -1, \dots)` — alternating signs on the support of
    :math:`z`, zero elsewhere. Shape ``(n, 1)``."""
    n = check_int("n", n, lo=1)
    magnitude = check_real("magnitude", magnitude)
    x = np.zeros((n, 1))
    k = np.arange(0, n, 2)
    x[k, 0] = magnitude * (-1.0) ** (np.arange(k.size))
    return x


def yalcin_truth_spectrum(n: int, eps: float) -> tuple[float, float]:
    r"""Closed-form :math:`(\lambda_{\min}, \lambda_{\max})` of the Hessian at :math:`X^*=z`
    for every :math:`\lambda` and :math:`l \ge 3` (spec 003 §4.4, DERIVED):
    with :math:`w = \varepsilon^2`, :math:`s = \lceil n/2\rceil`,
    :math:`\lambda_{\max} = 4 + 4(s-1)w` and :math:`\lambda_{\min} = 2(1+w)` for
    :math:`n = 3`, :math:`2sw` for :math:`n \ge 4`."""
    n = check_int("n", n, lo=3)
    eps = check_real("eps", eps, lo=0, hi=1, lo_open=True)
    w, s = eps ** 2, math.ceil(n / 2)
    lmax = 4 + 4 * (s - 1) * w
    lmin = 2 * (1 + w) if n == 3 else 2 * s * w
    return lmin, lmax


def yalcin_n3_spurious(eps: float) -> tuple[np.ndarray, float, float]:
    r"""The :math:`n=3`, :math:`\lambda=0` spurious point in closed form (spec 003 §4.4,
    DERIVED): :math:`\hat x = (a, 0, -a)` with :math:`a^2 = (1-w)/(1+w)`, and its spectrum
    :math:`\lambda_{\min} = 2(1-w)`, :math:`\lambda_{\max} = 4(1-w)`, :math:`w=\varepsilon^2`."""
    eps = check_real("eps", eps, lo=0, hi=1, lo_open=True)
    w = eps ** 2
    a = math.sqrt((1 - w) / (1 + w))
    return np.array([[a], [0.0], [-a]]), 2 * (1 - w), 4 * (1 - w)


# ---------------------------------------------------------------------------------------------
# restricted isometry constants
# ---------------------------------------------------------------------------------------------

def weighted_rip_delta(eps: float) -> float:
    r"""Exact RIP constant of the weighted entry-wise operator with weights in
    :math:`\{\varepsilon, 1\}` after the best rescaling (spec 003 §4.1, DERIVED):
    :math:`\|\mathcal A(M)\|^2/\|M\|_F^2` fills :math:`[\varepsilon^2, 1]` on rank-:math:`\le 2`
    matrices, so :math:`\delta = (1-\varepsilon^2)/(1+\varepsilon^2)`, for every rank
    :math:`\ge 2` and :math:`n \ge 3`."""
    w = check_real("eps", eps, lo=0, hi=1, lo_open=True) ** 2
    return (1 - w) / (1 + w)


def rip_delta(lo: float, hi: float) -> tuple[float, float]:
    r"""RIP constant and scale from the range :math:`[L, U]` of
    :math:`\|\mathcal A(M)\|^2/\|M\|_F^2`: with the best rescaling
    :math:`\mathcal A \to \sqrt{c}\,\mathcal A`, :math:`c = 2/(L+U)`, the constant is
    :math:`\delta = (U-L)/(U+L)`. Returns ``(delta, sqrt(c))``."""
    lo, hi = check_real("lo", lo, lo=0), check_real("hi", hi, lo=0, lo_open=True)
    if not (0 <= lo <= hi and hi > 0):
        raise ValueError(f"need 0 <= lo <= hi, hi > 0; got lo={lo!r}, hi={hi!r}")
    return (hi - lo) / (hi + lo), math.sqrt(2.0 / (hi + lo))


@dataclass
class RipEstimate:
    r"""Range :math:`[L, U]` of :math:`\|\mathcal A(M)\|^2/\|M\|_F^2` over symmetric
    matrices of rank :math:`\le k`, and the constant :math:`\delta` it gives.

    ``exact`` is True when :math:`k \ge n` (then the range is the spectrum of
    :math:`\mathcal A^*\mathcal A` on symmetric matrices); otherwise ``L`` is an upper bound of
    the true minimum and ``U`` a lower bound of the true maximum, so ``delta`` is a **lower
    bound** of the true constant.
    """

    lo: float
    hi: float
    delta: float
    scale: float
    rank: int
    exact: bool
    restarts: int


def _sym_basis(k: int) -> np.ndarray:
    """Orthonormal basis of the symmetric k x k matrices, shape (k(k+1)/2, k, k)."""
    out = []
    for a in range(k):
        for b in range(a, k):
            E = np.zeros((k, k))
            if a == b:
                E[a, a] = 1.0
            else:
                E[a, b] = E[b, a] = 1 / math.sqrt(2)
            out.append(E)
    return np.array(out)


def _range_on_subspace(op: SensingOperator, U: np.ndarray, basis: np.ndarray):
    B = op.apply_many(U @ basis @ U.T)
    ev = np.linalg.eigvalsh(B.T @ B)
    return ev[0], ev[-1]


def _proj_rank(M: np.ndarray, k: int) -> np.ndarray:
    """Best rank-k symmetric approximation (k eigenvalues of largest modulus)."""
    ev, V = np.linalg.eigh(0.5 * (M + M.T))
    idx = np.argsort(-np.abs(ev))[:k]
    return (V[:, idx] * ev[idx]) @ V[:, idx].T


def rip_ratio_range(op: SensingOperator, rank: int, rng: np.random.Generator | None = None, *,
                    restarts: int = 20, iters: int = 200) -> RipEstimate:
    r"""Estimate the RIP range of ``op`` over symmetric matrices of rank :math:`\le` ``rank``.

    Method (a search, stated in the book): for the largest ratio, the projected power method
    :math:`M \leftarrow P_k(\mathcal A^*\mathcal A(M))/\|\cdot\|_F`, :math:`P_k` the best
    symmetric rank-:math:`k` approximation; for the smallest, the same on
    :math:`U_0 M - \mathcal A^*\mathcal A(M)` with :math:`U_0` an upper bound of the spectrum.
    Each run (``restarts`` random starts plus as many random coordinate matrices
    :math:`e_ie_j^\top + e_je_i^\top` or :math:`e_ie_i^\top`, where weighted operators attain
    their extremes) ends with an exact inner step: on the span :math:`U` of the iterate's
    eigenvectors, the extreme ratios over :math:`M = USU^\top` are the extreme eigenvalues of a
    small Gram matrix. For ``rank >= n`` the answer is exact (:math:`U = I`); otherwise the
    returned :math:`\delta` is a lower bound of the true constant.
    """
    if not isinstance(op, SensingOperator):
        raise TypeError(f"op must be a SensingOperator, got {type(op).__name__}")
    if not isinstance(rank, (int, np.integer)) or rank < 1:
        raise ValueError(f"rank must be a positive integer, got {rank!r}")
    check_rng("rng", rng, optional=True)
    restarts = check_int("restarts", restarts, lo=1)
    iters = check_int("iters", iters, lo=1)
    n = op.n
    k = min(int(rank), n)
    if k == n:
        lo, hi = _range_on_subspace(op, np.eye(n), _sym_basis(n))
        d, c = rip_delta(max(lo, 0.0), hi)
        return RipEstimate(float(lo), float(hi), d, c, int(rank), True, 0)
    if rng is None:
        raise ValueError("rank < n needs an rng for the random restarts")
    basis = _sym_basis(k)

    def AtA(M):
        G = op.adjoint(op.apply(M))
        return 0.5 * (G + G.T)

    # an upper bound of the spectrum of A*A on symmetric matrices
    full = _range_on_subspace(op, np.eye(n), _sym_basis(n))[1] if n <= 12 else None
    if full is None:
        full = float(np.sum(op.apply_many(np.eye(n * n).reshape(-1, n, n)) ** 2))
    starts = []
    for _ in range(restarts):
        G = rng.standard_normal((n, n))
        starts.append(_proj_rank(G + G.T, k))
        i, j = rng.integers(n, size=2)
        E = np.zeros((n, n))
        E[i, j] += 1.0
        E[j, i] += 1.0
        starts.append(E + 1e-3 * _proj_rank(G + G.T, k))
    lo, hi = np.inf, -np.inf
    for M0 in starts:
        for sign in (+1, -1):
            M = M0 / np.linalg.norm(M0)
            for _ in range(iters):
                M = _proj_rank(AtA(M) if sign > 0 else full * M - AtA(M), k)
                nrm = np.linalg.norm(M)
                if nrm == 0:
                    break
                M /= nrm
            ev, V = np.linalg.eigh(M)
            U = V[:, np.argsort(-np.abs(ev))[:k]]
            a, b = _range_on_subspace(op, U, basis)
            lo, hi = (min(lo, a), hi) if sign < 0 else (lo, max(hi, b))
    d, c = rip_delta(max(float(lo), 0.0), float(hi))
    return RipEstimate(float(lo), float(hi), d, c, int(rank), False, len(starts))
