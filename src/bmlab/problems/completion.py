r"""PSD matrix completion with sparse sampling masks (paper 001, §2.2.1 and A.1; spec 001 §2).

The unknown is a PSD matrix :math:`X_\natural \in \mathbb S^n_+`; ``m`` entries are observed,
drawn uniformly *without replacement from all* :math:`n^2` *positions* (FOUND-code:
``randperm(n^2, d)``), so the mask is not symmetric. With
:math:`\mathcal A(X) = X_\Omega = (X_{i_t j_t})_{t=1}^m` and :math:`b = \mathcal A(X_\natural) + w`,

.. math::

    f(X) = \tfrac12 \|\mathcal A(X) - b\|_2^2, \qquad
    \nabla f(X) = G = \mathcal A^*(\mathcal A(X) - b) \ (\text{zero-filled residual}).

The paper plots the *objective residual* :math:`\|\mathcal A(X) - b\|_2^2` (no factor ½,
FOUND-code) minus the optimal value :math:`f^\star` (0 without noise; the CVXPY value of the
PSD-constrained least squares with noise).

Everything is sparse: :math:`G` is stored as a CSR matrix on the fixed pattern of the samples
and of their transposes, whose values are overwritten at every evaluation, so applying
:math:`G_s = \tfrac12(G + G^\top)` to an :math:`n\times r` factor costs :math:`O(mr)`, and
:math:`\mathcal A(UDU^\top)` costs :math:`O(mr)` through row gathers — never :math:`O(n^2 r)`.

The problem implements the *measurement protocol* used by :mod:`bmlab.factorizations.udu`:
``b``, ``forward_factored(U, d)`` (:math:`\mathcal A(U\,\mathrm{diag}(d)\,U^\top)`),
``sym_adjoint_apply(res, U)`` (:math:`G_s U` with :math:`G = \mathcal A^*(res)`) and
``adjoint_dense(res)``.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from ..validation import check_array, check_choice, check_int, check_real, check_rng
from .base import MeasurementProblem

#: How :meth:`MatrixCompletion.forward_factored` evaluates :math:`(UDU^\top)_\Omega`:
#: "gather" (row gathers, :math:`O(mr)`), "dense" (BLAS product then sampling,
#: :math:`O(n^2r)`, faster for small n because gathers are memory-bound), "auto" (dense when
#: :math:`n^2 \le 16m`, i.e. only for small dense-ish instances such as n = 100, m = 900).
FORWARD_MODES = ("auto", "gather", "dense")

__all__ = ["MatrixCompletion", "completion_truth", "make_completion", "TRUTHS"]

#: Ground-truth constructions: "code" = orth(randn(n, r)) · diag(1..r) · orth(...)ᵀ
#: (FOUND-code, ``CreateSyntheticData.m``); "gaussian" = Z Zᵀ with Z iid N(0, 1) (the v2 text,
#: INFERRED in spec 001 §2).
TRUTHS = ("code", "gaussian")


def completion_truth(n: int, rank: int, rng: np.random.Generator, kind: str = "code"):
    """Ground truth :math:`X_\\natural` and a factor :math:`Z` with :math:`X_\\natural = ZZ^\\top`.

    ``kind="code"``: :math:`Z = Q\\,\\mathrm{diag}(1,\\dots,r)^{1/2}`, :math:`Q` = orth of an
    :math:`n\\times r` Gaussian (FOUND-code). ``kind="gaussian"``: :math:`Z` iid
    :math:`\\mathcal N(0,1)` (INFERRED from the text).
    """
    if kind not in TRUTHS:
        raise ValueError(f"kind must be one of {TRUTHS}, got {kind!r}")
    n = check_int("n", n, lo=1)
    rank = check_int("rank", rank, lo=1, hi=n)
    check_rng("rng", rng)
    G = rng.standard_normal((n, rank))
    if kind == "code":
        Q, _ = np.linalg.qr(G)
        Z = Q * np.sqrt(np.arange(1, rank + 1, dtype=float))
    else:
        Z = G
    X = Z @ Z.T
    return 0.5 * (X + X.T), Z


@dataclass
class MatrixCompletion(MeasurementProblem):
    r"""Entry-sampling operator :math:`\mathcal A(X) = X_\Omega` with data :math:`b`.

    Parameters
    ----------
    n : int
        Matrix size.
    rows, cols : int arrays of length m
        Sampled positions :math:`(i_t, j_t)`, distinct.
    b : float array of length m
        Observations.
    X_true : array, optional
        Ground truth (for errors); ``b_clean`` the noiseless observations.
    """

    n: int
    rows: np.ndarray
    cols: np.ndarray
    b: np.ndarray
    X_true: np.ndarray | None = None
    b_clean: np.ndarray | None = None
    forward_mode: str = "auto"
    _S: sp.csr_matrix = field(init=False, repr=False)
    _perm: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.n = check_int("n", self.n, lo=1)
        for name in ("rows", "cols"):
            idx = check_array(name, getattr(self, name), ndim=1, dtype=None, min_size=0)
            if idx.size and idx.dtype.kind not in "iu":
                raise TypeError(f"{name} must be an integer array, got dtype {idx.dtype}")
            setattr(self, name, idx.astype(np.int64, copy=False))
        self.b = check_array("b", self.b, ndim=1, min_size=0)
        if self.X_true is not None:
            self.X_true = check_array("X_true", self.X_true, shape=(self.n, self.n))
        if self.b_clean is not None:
            self.b_clean = check_array("b_clean", self.b_clean, shape=self.b.shape)
        if self.forward_mode not in FORWARD_MODES:
            raise ValueError(f"forward_mode must be one of {FORWARD_MODES}, got {self.forward_mode!r}")
        m = self.rows.size
        if self.cols.size != m or self.b.size != m:
            raise ValueError("rows, cols and b must have the same length")
        if m and (self.rows.min() < 0 or self.cols.min() < 0
                  or max(self.rows.max(), self.cols.max()) >= self.n):
            raise ValueError(f"rows and cols must lie in [0, n={self.n})")
        if np.unique(self.rows * self.n + self.cols).size != m:
            raise ValueError("sampled positions (rows, cols) must be distinct")
        # Symmetrised pattern: entries (i_t, j_t) and (j_t, i_t), each carrying res_t / 2.
        r2 = np.concatenate([self.rows, self.cols])
        c2 = np.concatenate([self.cols, self.rows])
        order = np.lexsort((c2, r2))
        indptr = np.zeros(self.n + 1, dtype=np.int64)
        np.cumsum(np.bincount(r2, minlength=self.n), out=indptr[1:])
        self._perm = order % m  # sample index of each stored value
        self._S = sp.csr_matrix((np.zeros(2 * m), c2[order], indptr), shape=(self.n, self.n))

    @property
    def m(self) -> int:
        return int(self.rows.size)

    # ---- the linear map ----------------------------------------------------------------
    def apply(self, X: np.ndarray) -> np.ndarray:
        """:math:`\\mathcal A(X) = X_\\Omega`."""
        return np.asarray(X)[self.rows, self.cols]

    def adjoint_dense(self, res: np.ndarray) -> np.ndarray:
        """:math:`\\mathcal A^*(res)` as a dense :math:`n\\times n` matrix (zero-filled)."""
        G = np.zeros((self.n, self.n), dtype=np.result_type(res, float))
        G[self.rows, self.cols] = res
        return G

    def forward_factored(self, U: np.ndarray, d: np.ndarray | None = None) -> np.ndarray:
        r""":math:`\mathcal A(U\,\mathrm{diag}(d)\,U^\top)` in :math:`O(mr)` (``d=None``: BM)."""
        Ud = U if d is None else U * d
        if self.forward_mode == "dense" or (self.forward_mode == "auto"
                                            and self.n * self.n <= 16 * self.m):
            return (Ud @ U.conj().T)[self.rows, self.cols]
        return np.einsum("ij,ij->i", Ud[self.rows], U[self.cols].conj())

    def sym_adjoint_apply(self, res: np.ndarray, U: np.ndarray) -> np.ndarray:
        r""":math:`G_s U` with :math:`G_s = \tfrac12(G + G^\top)`, :math:`G = \mathcal A^*(res)`,
        in :math:`O(mr)`."""
        self._S.data[:] = 0.5 * res[self._perm]
        return self._S @ U

    # ---- losses --------------------------------------------------------------------------
    def residual_sq(self, X: np.ndarray) -> float:
        """Objective residual :math:`\\|\\mathcal A(X) - b\\|^2` (paper's plotted quantity)."""
        r = self.apply(X) - self.b
        return float(r @ r)

    def objective(self, X: np.ndarray) -> float:
        """:math:`f(X) = \\tfrac12\\|\\mathcal A(X) - b\\|^2`."""
        return 0.5 * self.residual_sq(X)

    def value(self, X: np.ndarray) -> float:
        """:math:`f(X)` (the :class:`~bmlab.problems.base.Problem` name of :meth:`objective`)."""
        return self.objective(X)

    def grad(self, X: np.ndarray) -> np.ndarray:
        """:math:`\\nabla f(X)` (dense; for tests and small checks)."""
        return self.adjoint_dense(self.apply(X) - self.b)

    def relative_error(self, X: np.ndarray) -> float:
        """:math:`\\|X - X_\\natural\\|_F / \\|X_\\natural\\|_F`."""
        if self.X_true is None:
            raise ValueError("this instance has no ground truth X_true")
        X = check_array("X", X, shape=(self.n, self.n))
        return float(np.linalg.norm(X - self.X_true) / np.linalg.norm(self.X_true))


def make_completion(n: int = 100, rank: int = 3, m: int | None = None, *,
                    rng: np.random.Generator, noise: float = 0.0,
                    truth: str = "code") -> MatrixCompletion:
    r"""The synthetic instance of §2.2.1 (FOUND-code, spec 001 §2).

    Parameters
    ----------
    n, rank : int
        Size and rank of :math:`X_\natural` (paper: 100 and 3).
    m : int, optional
        Number of samples, default :math:`3\,\mathrm{rank}\,n` (paper: 900), drawn uniformly
        without replacement from all :math:`n^2` positions.
    rng : numpy.random.Generator
    noise : float
        Relative noise level (A.1): :math:`b = b_\natural + w`,
        :math:`w \sim \mathcal N(0, \sigma^2 I)` with :math:`\sigma` = ``noise`` ·
        :math:`\|b_\natural\|_2` (paper: 0.01, FOUND-code).
    truth : {"code", "gaussian"}
        Ground-truth construction (see :func:`completion_truth`).
    """
    n = check_int("n", n, lo=1)
    rank = check_int("rank", rank, lo=1, hi=n)
    check_rng("rng", rng)
    check_choice("truth", truth, TRUTHS)
    noise = check_real("noise", noise, lo=0)
    if m is None:
        m = 3 * rank * n
        if m > n * n:
            raise ValueError(f"the default m = 3 rank n = {m} exceeds n^2 = {n * n} (rank={rank}, "
                             f"n={n}); pass m in [1, n^2] or a smaller rank")
    m = check_int("m", m, lo=1, hi=n * n)
    X, _ = completion_truth(n, rank, rng, truth)
    idx = rng.choice(n * n, size=m, replace=False)
    rows, cols = np.divmod(idx, n)
    b_clean = X[rows, cols]
    b = b_clean + (noise * np.linalg.norm(b_clean)) * rng.standard_normal(m) if noise else b_clean.copy()
    return MatrixCompletion(n=n, rows=rows, cols=cols, b=b, X_true=X, b_clean=b_clean)
