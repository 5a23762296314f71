r"""Landscape tools: Hessian spectra, critical-point search (Newton refinement from many starts,
the loop itself is :func:`bmlab.solvers.newton.newton_refine`), deduplication of critical
points, and 2-D slices of the smallest Hessian eigenvalue.

Every function takes a :class:`bmlab.problems.base.Problem`: ``grad(X)``, ``hessian(X)``
(dense, acting on ``X.ravel()``) and ``hvp(X, U)``, such as
:class:`bmlab.problems.sensing.HighOrderLoss`.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .solvers.newton import newton_refine
from .validation import check_array, check_attrs, check_bool, check_choice, check_int, check_real, check_rng

__all__ = ["hessian_extremes", "dedup_critical_points", "CriticalPoint",
           "enumerate_critical_points",
           "eigen_slice_2d"]

_METHODS = ("dense", "lanczos")


def hessian_extremes(problem, X: np.ndarray, *, method: str = "dense") -> tuple[float, float]:
    r""":math:`(\lambda_{\min}, \lambda_{\max})` of :math:`\nabla^2 F(X)`.

    Parameters
    ----------
    method : {"dense", "lanczos"}
        ``dense``: :func:`numpy.linalg.eigvalsh` of the assembled Hessian (small ``nr``);
        ``lanczos``: :func:`scipy.sparse.linalg.eigsh` on Hessian-vector products
        (matrix-free, for large ``nr``).
    """
    if method not in _METHODS:
        raise ValueError(f"method must be one of {_METHODS}, got {method!r}")
    check_attrs("problem", problem, ("hessian",) if method == "dense" else ("hvp",))
    X = check_array("X", X, ndim=2)
    if method == "dense":
        ev = np.linalg.eigvalsh(problem.hessian(X))
        return float(ev[0]), float(ev[-1])
    from scipy.sparse.linalg import LinearOperator, eigsh

    N = X.size
    op = LinearOperator((N, N), matvec=lambda u: problem.hvp(X, u.reshape(X.shape)).ravel(),
                        dtype=float)
    v0 = np.ones(N) / np.sqrt(N)
    lmax = eigsh(op, k=1, which="LA", v0=v0, tol=1e-10, return_eigenvectors=False)[0]
    lmin = eigsh(op, k=1, which="SA", v0=v0, tol=1e-10, return_eigenvectors=False)[0]
    return float(lmin), float(lmax)


@dataclass
class CriticalPoint:
    r"""A refined critical point with what the theorems need.

    Attributes
    ----------
    X : numpy.ndarray
    grad_norm : float
        Residual :math:`\|\nabla F(X)\|_F` after refinement.
    lam_min, lam_max : float
        Extreme Hessian eigenvalues.
    count : int
        How many starts ended at this point (up to the symmetry).
    """

    X: np.ndarray
    grad_norm: float
    lam_min: float
    lam_max: float
    count: int = 1


def dedup_critical_points(points: list[np.ndarray], *, atol: float = 1e-6) -> list[tuple[np.ndarray, int]]:
    r"""Merge points that are equal up to the symmetry :math:`X \mapsto XQ`
    (:math:`Q` orthogonal; for :math:`r=1` this is the sign), i.e. with the same
    :math:`XX^\top` within ``atol`` in Frobenius norm.

    Returns a list of ``(representative, count)`` in order of first appearance.
    """
    atol = check_real("atol", atol, lo=0)
    points = [check_array(f"points[{i}]", X, ndim=2) for i, X in enumerate(points)]
    reps: list[np.ndarray] = []
    grams: list[np.ndarray] = []
    counts: list[int] = []
    for X in points:
        X = np.asarray(X, dtype=float)
        G = X @ X.T
        for k, G0 in enumerate(grams):
            if np.linalg.norm(G - G0) <= atol:
                counts[k] += 1
                break
        else:
            reps.append(X)
            grams.append(G)
            counts.append(1)
    return list(zip(reps, counts))


def eigen_slice_2d(problem, X0: np.ndarray, d1: np.ndarray, d2: np.ndarray,
                   alphas: np.ndarray, betas: np.ndarray, *, method: str = "dense") -> np.ndarray:
    r"""Smallest Hessian eigenvalue on the plane :math:`X_0 + \alpha d_1 + \beta d_2`.

    Returns an array ``E`` of shape ``(len(alphas), len(betas))`` with
    ``E[i, j]`` :math:`= \lambda_{\min}(\nabla^2F(X_0 + \alpha_i d_1 + \beta_j d_2))`.
    """
    X0, d1, d2 = (check_array(k, v, ndim=2) for k, v in (("X0", X0), ("d1", d1), ("d2", d2)))
    if not (X0.shape == d1.shape == d2.shape):
        raise ValueError("X0, d1 and d2 must have the same shape")
    alphas = check_array("alphas", alphas, ndim=1)
    betas = check_array("betas", betas, ndim=1)
    check_choice("method", method, _METHODS)
    E = np.empty((len(alphas), len(betas)))
    for i, a in enumerate(alphas):
        for j, b in enumerate(betas):
            E[i, j] = hessian_extremes(problem, X0 + a * d1 + b * d2, method=method)[0]
    return E


def enumerate_critical_points(problem, shape: tuple[int, int], rng: np.random.Generator, *,
                              n_starts: int = 200, scale: float = 1.0, tol: float = 1e-10,
                              max_iter: int = 100, include_zero: bool = True,
                              dedup_atol: float = 1e-6) -> list[CriticalPoint]:
    r"""Find critical points of ``problem`` by Newton refinement from random starts.

    Starts are :math:`X_0 = s\,G` with :math:`G` standard Gaussian of ``shape`` and
    :math:`s` uniform in ``[0.1, 1.5] * scale``; Newton's method (:func:`bmlab.solvers.newton.newton_refine`)
    converges to critical points of any index, so saddles are found as well as minima. Runs
    that do not reach gradient norm ``tol`` are discarded; the rest are deduplicated up to
    :math:`X \mapsto XQ` (:func:`dedup_critical_points`). :math:`X = 0`, always critical, is
    added when ``include_zero``.
    """
    if n_starts < 0:
        raise ValueError(f"n_starts must be non-negative, got {n_starts!r}")
    n_starts = check_int("n_starts", n_starts, lo=0)
    if not (isinstance(shape, tuple) and len(shape) == 2):
        raise TypeError(f"shape must be a tuple (n, r), got {shape!r}")
    shape = (check_int("shape[0]", shape[0], lo=1), check_int("shape[1]", shape[1], lo=1))
    check_rng("rng", rng)
    scale = check_real("scale", scale, lo=0, lo_open=True)
    check_real("tol", tol, lo=0, lo_open=True)
    check_int("max_iter", max_iter, lo=0)
    check_bool("include_zero", include_zero)
    check_real("dedup_atol", dedup_atol, lo=0)
    found = [np.zeros(shape)] if include_zero else []
    residuals = [float(np.linalg.norm(problem.grad(np.zeros(shape))))] if include_zero else []
    for _ in range(n_starts):
        X0 = rng.uniform(0.1, 1.5) * scale * rng.standard_normal(shape)
        res = newton_refine(problem, X0, tol=tol, max_iter=max_iter)
        if res.status == "converged":
            found.append(res.x)
            residuals.append(float(res.history["grad_norm"][-1]))
    out = []
    groups = dedup_critical_points(found, atol=dedup_atol)
    for X, count in groups:
        k = next(i for i, Y in enumerate(found) if Y is X)
        lo, hi = hessian_extremes(problem, X)
        out.append(CriticalPoint(X=X, grad_norm=residuals[k], lam_min=lo, lam_max=hi, count=count))
    return out
