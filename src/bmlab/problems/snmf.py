r"""Symmetric non-negative matrix factorization (sNMF) as a split problem (paper 000, (6)).

.. math:: \min_{X \ge 0} \tfrac12\|M - XX^\top\|_F^2, \qquad f(Z) = \tfrac12\|M - Z\|_F^2,
          \quad g = \delta_{\mathbb R^{n\times r}_+}, \quad M = M^\top

(formulation FOUND in Zhu et al. 2018, spec 000 [S4]; the mapping to (5) DERIVED). Its split is
:math:`\min_{X,Y\ge0}\tfrac12\|M - XY^\top\|_F^2 + \tfrac\lambda2\|X-Y\|_F^2`, Zhu et al.'s
penalised problem with their :math:`\lambda` (spec 000 [S5]). :math:`f` is 1-smooth and
1-strongly convex (:math:`L = \sigma = 1`), :math:`\mu = 0`.

Block solvers (spec 000 §3):

* :meth:`SymmetricNMF.block_argmin`, AM (13): each row solves the NNLS problem
  :math:`\min_{x\ge0}\|[m_i,\ \sqrt\lambda w_i] - [W;\ \sqrt\lambda I] x\|^2` (FOUND in Zhu's
  code), solved exactly through the Cholesky factor of :math:`W^\top W + \lambda I`;
* :meth:`SymmetricNMF.column_sweep`, HAM (14)–(16), Zhu et al.'s SymHALS:
  :math:`x_j \leftarrow [(R_j w_j + \lambda w_j)/(\|w_j\|^2 + \lambda)]_+` with
  :math:`R_j = M - \sum_{l\ne j} x_l w_l^\top` (DERIVED).
"""
from __future__ import annotations

import numpy as np
from scipy.linalg import solve_triangular
from scipy.optimize import nnls

from .base import NoReg, NonNeg, SplitProblem, UnboundedSubproblem
from ..validation import check_array, check_bool, check_int, check_rng

__all__ = ["SymmetricNMF", "nnls_gram", "random_psd_nonneg", "random_indefinite_nonneg", "digits_similarity"]


class SymmetricNMF(SplitProblem):
    r"""sNMF loss :math:`f(Z) = \tfrac12\|M - Z\|_F^2` with :math:`X, Y \ge 0`.

    Parameters
    ----------
    M : array (n, n)
        Symmetric target.
    r : int
        Factorization rank.
    nonneg : bool
        Keep the sign constraint (sNMF); ``False`` gives the unconstrained symmetric
        factorization :math:`\min\tfrac12\|M - XX^\top\|_F^2` with :math:`g \equiv 0`.
    """

    sigma = 1.0
    L = 1.0

    def __init__(self, M, r: int, nonneg: bool = True) -> None:
        M = check_array("M", M, square=True)
        check_bool("nonneg", nonneg)
        if not np.allclose(M, M.T, atol=1e-12 * (1 + np.abs(M).max())):
            raise ValueError("M must be symmetric (Assumption 2(b))")
        if not (isinstance(r, (int, np.integer)) and r >= 1):
            raise ValueError(f"r must be a positive integer, got {r!r}")
        self.M = 0.5 * (M + M.T)
        self.n = M.shape[0]
        self.r = int(r)
        self.reg = NonNeg() if nonneg else NoReg()
        self.eigs = np.linalg.eigvalsh(self.M)

    def __repr__(self):
        return f"SymmetricNMF(n={self.n}, r={self.r}, nonneg={self.reg.is_indicator})"

    @property
    def lambda_min(self) -> float:
        return float(self.eigs[0])

    def f(self, Z):
        R = Z - self.M
        return 0.5 * float(np.vdot(R, R))

    def grad_f(self, Z):
        return Z - self.M

    def hess_f_vec(self, Z, dZ):
        return dZ

    def block_constants(self, W):
        r""":math:`(\lambda_{\max}(W^\top W), \lambda_{\min}(W^\top W))`: the constants of
        :math:`X\mapsto f(XW^\top)`."""
        e = np.linalg.eigvalsh(W.T @ W)
        return float(e[-1]), float(e[0])

    def block_argmin(self, W, lam, center=None):
        r"""Exact :math:`\arg\min_{X\ge0}\tfrac12\|M - XW^\top\|_F^2 + \tfrac\lambda2\|X-C\|_F^2`
        with :math:`C = W` by default (row-wise NNLS, (13)); see :func:`nnls_gram`. Another
        ``center`` :math:`C` serves the nADMM steps."""
        C = W if center is None else center
        Q = W.T @ W + lam * np.eye(self.r)
        B = self.M @ W + lam * C
        try:
            if not self.reg.is_indicator:
                np.linalg.cholesky(Q)
                return np.linalg.solve(Q, B.T).T
            return _nnls_gram(Q, B)
        except np.linalg.LinAlgError as exc:
            raise UnboundedSubproblem(f"W^T W + lam I is not positive definite (lam={lam:g})") from exc

    def column_sweep(self, X, W, lam):
        r"""One HAM pass over the columns of :math:`X` with :math:`W` fixed, (14)/(16)."""
        X = X.copy()
        E = self.M - X @ W.T
        for j in range(self.r):
            w = W[:, j]
            Rj_w = E @ w + X[:, j] * (w @ w)  # (E + x_j w_j^T) w_j
            den = w @ w + lam
            if not den > 0:
                raise UnboundedSubproblem(f"column problem not strongly convex (|w_j|^2 + lam = {den:g})")
            new = self.reg.project((Rj_w + lam * w) / den)
            E -= np.outer(new - X[:, j], w)
            X[:, j] = new
        return X


def nnls_gram(Q: np.ndarray, B: np.ndarray, *, max_enum: int = 6) -> np.ndarray:
    r"""Rows :math:`x_i = \arg\min_{x\ge0}\tfrac12 x^\top Q x - b_i^\top x` for a positive
    definite :math:`Q` (:math:`r\times r`) and the rows :math:`b_i` of ``B``, exactly.

    Rows whose unconstrained solution is non-negative are done; for the others, with
    :math:`r \le` ``max_enum``, every passive set is tried (vectorised over the rows) and the one
    satisfying the KKT conditions is kept; otherwise :func:`scipy.optimize.nnls` on the
    Cholesky form is used row by row.
    """
    Q = check_array("Q", Q, square=True)
    B = check_array("B", B, shape=(None, Q.shape[0]))
    max_enum = check_int("max_enum", max_enum, lo=0)
    try:
        np.linalg.cholesky(Q)
    except np.linalg.LinAlgError:
        raise ValueError("Q must be symmetric positive definite") from None
    return _nnls_gram(Q, B, max_enum=max_enum)


def _nnls_gram(Q: np.ndarray, B: np.ndarray, *, max_enum: int = 6) -> np.ndarray:
    """:func:`nnls_gram` without the input checks (the AM inner loop)."""
    r = Q.shape[0]
    Lc = np.linalg.cholesky(Q)  # raises LinAlgError unless Q is positive definite
    X = np.linalg.solve(Q, B.T).T
    todo = np.flatnonzero(np.any(X < 0, axis=1))
    if todo.size == 0:
        return X
    Bt = B[todo]
    if r <= max_enum:
        out = np.full((todo.size, r), np.nan)
        left = np.ones(todo.size, dtype=bool)
        tol = 1e-12 * (1 + np.abs(Bt).max())
        for mask in range(2 ** r - 2, -1, -1):  # passive sets, the full set was tried above
            S = [j for j in range(r) if mask >> j & 1]
            cand = np.zeros((left.sum(), r))
            if S:
                cand[:, S] = np.linalg.solve(Q[np.ix_(S, S)], Bt[left][:, S].T).T
            grad = cand @ Q - Bt[left]
            ok = np.all(cand >= -tol, axis=1) & np.all(grad >= -tol * 10, axis=1)
            if S:
                ok &= np.all(np.abs(grad[:, S]) <= 1e-9 * (1 + np.abs(Bt[left]).max()), axis=1)
            idx = np.flatnonzero(left)[ok]
            out[idx] = np.maximum(cand[ok], 0.0)
            left[idx] = False
            if not left.any():
                break
        X[todo] = out
        if not left.any():
            return X
        todo = todo[left]
    Rf = Lc.T  # Q = Rf^T Rf
    T = solve_triangular(Rf, B[todo].T, trans="T").T
    for i, row in zip(todo, T):
        X[i] = nnls(Rf, row)[0]
    return X


def random_psd_nonneg(n: int, r_true: int, rng: np.random.Generator) -> np.ndarray:
    r""":math:`M = UU^\top` with :math:`U \ge 0` uniform (PSD, completely positive, rank
    ``r_true``), scaled to :math:`\|M\|_2 = 1`."""
    n = check_int("n", n, lo=1)
    r_true = check_int("r_true", r_true, lo=1)
    check_rng("rng", rng)
    U = rng.uniform(size=(n, r_true))
    M = U @ U.T
    return M / np.linalg.norm(M, 2)


def random_indefinite_nonneg(n: int, rng: np.random.Generator) -> np.ndarray:
    r"""Symmetric non-negative :math:`M` with i.i.d. uniform entries (indefinite), scaled to
    :math:`\|M\|_2 = 1`."""
    n = check_int("n", n, lo=1)
    check_rng("rng", rng)
    A = rng.uniform(size=(n, n))
    M = np.triu(A) + np.triu(A, 1).T
    return M / np.linalg.norm(M, 2)


def digits_similarity(n_per_class: int, classes=(0, 1, 2, 3, 4, 5, 6, 7, 8, 9), *, k: int = 7,
                      rng: np.random.Generator | None = None):
    r"""A similarity graph of scikit-learn's bundled digits (offline, 8×8 images).

    ``n_per_class`` images of each digit in ``classes`` are drawn (without replacement, by
    ``rng``; the first ones if ``rng`` is None). The similarity is the self-tuning Gaussian
    kernel :math:`\exp(-\|a_i - a_j\|^2/(s_i s_j))` with :math:`s_i` the distance to the
    ``k``-th neighbour, restricted to a symmetric :math:`k`-NN graph and normalised as
    :math:`D^{-1/2} S D^{-1/2}` (the graph used by Kuang et al. and Zhu et al. for sNMF
    clustering). Returns ``(M, labels)``.
    """
    n_per_class = check_int("n_per_class", n_per_class, lo=1)
    k = check_int("k", k, lo=1)
    check_rng("rng", rng, optional=True)
    classes = tuple(classes)
    if not classes or any(isinstance(c, bool) or c not in range(10) for c in classes):
        raise ValueError(f"classes must be a non-empty collection of digits 0..9, got {classes!r}")
    from sklearn.datasets import load_digits

    data = load_digits()
    idx = []
    for c in classes:
        pool = np.flatnonzero(data.target == c)
        if n_per_class > len(pool):
            raise ValueError(f"n_per_class={n_per_class} exceeds the {len(pool)} images of digit {c}")
        idx.extend(rng.choice(pool, n_per_class, replace=False) if rng is not None else pool[:n_per_class])
    idx = np.asarray(idx)
    A = data.data[idx].astype(float)
    labels = data.target[idx]
    d2 = np.maximum(np.sum(A ** 2, 1)[:, None] + np.sum(A ** 2, 1)[None, :] - 2 * A @ A.T, 0.0)
    order = np.sort(d2, axis=1)
    s = np.sqrt(order[:, min(k, len(A) - 1)]) + 1e-12
    S = np.exp(-d2 / np.outer(s, s))
    np.fill_diagonal(S, 0.0)
    knn = d2 <= order[:, [min(k, len(A) - 1)]]
    mask = knn | knn.T
    np.fill_diagonal(mask, False)
    S = np.where(mask, S, 0.0)
    dinv = 1.0 / np.sqrt(S.sum(1) + 1e-12)
    M = dinv[:, None] * S * dinv[None, :]
    return 0.5 * (M + M.T), labels
