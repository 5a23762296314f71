r"""Exact-penalty bounds of paper 000 (spec 000 §2, §3). The book's :math:`\lambda` is the
spec's :math:`\gamma`.

* :func:`theorem1_bound`: bound (10), :math:`\tfrac12\lambda_{\max}(\operatorname{sym}\nabla
  f(X^\star Y^{\star\top})) - \mu/4` (DERIVED, proved and checked in spec 000 §2).
* :func:`inequality9`: the three sides of inequality (9) at a point (DERIVED).
* :func:`rayleigh_quantity`: the aggressive quantity of rule (17),
  :math:`\langle\nabla f(Z), DD^\top\rangle / (2\|D\|_F^2) - \mu/4` (DERIVED).
* :func:`hu_kwok_bound`: the earlier bound :math:`\tfrac14(L - \sigma)_+` (FOUND in v6–v8 of
  the paper, spec 000 [S3]); not valid in general (spec 000 §2, "History").
"""
from __future__ import annotations

import numpy as np

__all__ = ["sym", "theorem1_bound", "inequality9", "rayleigh_quantity", "hu_kwok_bound"]


def sym(B: np.ndarray) -> np.ndarray:
    r""":math:`\operatorname{sym}(B) = \tfrac12 (B + B^\top)`."""
    return 0.5 * (B + B.T)


def theorem1_bound(G: np.ndarray, mu: float = 0.0) -> float:
    r"""Bound (10): :math:`\tfrac12\lambda_{\max}(\operatorname{sym} G) - \mu/4` with
    :math:`G = \nabla f(X^\star Y^{\star\top})`. Above it every critical point has
    :math:`X^\star = Y^\star`."""
    G = np.atleast_2d(np.asarray(G, dtype=float))
    return 0.5 * float(np.linalg.eigvalsh(sym(G))[-1]) - mu / 4.0


def inequality9(problem, X: np.ndarray, Y: np.ndarray, lam: float) -> dict[str, float]:
    r"""The sides of (9) at :math:`(X, Y)`:

    ``lhs`` :math:`(2\lambda + \mu/2)\|D\|_F^2 + \tfrac\sigma2\|A\|_F^2`,
    ``mid`` :math:`\langle\nabla f(Z), DD^\top\rangle`,
    ``rhs`` :math:`\lambda_{\max}(\operatorname{sym}\nabla f(Z))\|D\|_F^2`,
    with :math:`D = X - Y`, :math:`A = XY^\top - YX^\top`, :math:`Z = XY^\top`. At a critical
    point of (5), ``lhs <= mid <= rhs`` (``sigma`` is taken from ``problem.sigma`` if present,
    else 0).
    """
    D = X - Y
    Z = X @ Y.T
    A = Z - Z.T
    G = problem.grad_f(Z)
    mu = problem.reg.mu
    sigma = float(getattr(problem, "sigma", 0.0))
    d2 = float(np.vdot(D, D))
    return {
        "lhs": (2 * lam + mu / 2) * d2 + 0.5 * sigma * float(np.vdot(A, A)),
        "mid": float(np.vdot(G, D @ D.T)),
        "rhs": float(np.linalg.eigvalsh(sym(G))[-1]) * d2,
        "D_norm": float(np.sqrt(d2)),
    }


def rayleigh_quantity(G: np.ndarray, D: np.ndarray, mu: float = 0.0) -> float:
    r""":math:`\langle G, DD^\top\rangle / (2\|D\|_F^2) - \mu/4` (needs :math:`D \ne 0`)."""
    d2 = float(np.vdot(D, D))
    if d2 == 0.0:
        raise ValueError("the Rayleigh quantity needs D = X - Y != 0")
    return float(np.vdot(G, D @ D.T)) / (2.0 * d2) - mu / 4.0


def hu_kwok_bound(L: float, sigma: float) -> float:
    r""":math:`\tfrac14 (L - \sigma)_+` (FOUND, spec 000 [S3])."""
    return 0.25 * max(float(L) - float(sigma), 0.0)
