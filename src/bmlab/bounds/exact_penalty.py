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

from ..validation import check_array, check_callable, check_real

__all__ = ["sym", "theorem1_bound", "inequality9", "rayleigh_quantity", "hu_kwok_bound",
           "corollary1_bound12", "corollary1_bound11", "zhu_bound"]


def sym(B: np.ndarray) -> np.ndarray:
    r""":math:`\operatorname{sym}(B) = \tfrac12 (B + B^\top)`."""
    B = check_array("B", B, square=True)
    return 0.5 * (B + B.T)


def theorem1_bound(G: np.ndarray, mu: float = 0.0) -> float:
    r"""Bound (10): :math:`\tfrac12\lambda_{\max}(\operatorname{sym} G) - \mu/4` with
    :math:`G = \nabla f(X^\star Y^{\star\top})`. Above it every critical point has
    :math:`X^\star = Y^\star`."""
    G = check_array("G", np.atleast_2d(check_array("G", G, ndim=(0, 1, 2))), square=True)
    mu = check_real("mu", mu, lo=0)
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
    X = check_array("X", X, ndim=2)
    Y = check_array("Y", Y, shape=X.shape)
    lam = check_real("lam", lam)
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
    G = check_array("G", G, square=True)
    D = check_array("D", D, ndim=2)
    if D.shape[0] != G.shape[0]:
        raise ValueError(f"D must have {G.shape[0]} rows (the size of G), got shape {D.shape}")
    mu = check_real("mu", mu, lo=0)
    d2 = float(np.vdot(D, D))
    if d2 == 0.0:
        raise ValueError("the Rayleigh quantity needs D = X - Y != 0")
    return float(np.vdot(G, D @ D.T)) / (2.0 * d2) - mu / 4.0


def hu_kwok_bound(L: float, sigma: float) -> float:
    r""":math:`\tfrac14 (L - \sigma)_+` (FOUND, spec 000 [S3])."""
    L = check_real("L", L, lo=0)
    sigma = check_real("sigma", sigma)
    return 0.25 * max(float(L) - float(sigma), 0.0)


def corollary1_bound12(f_val: float, D_norm: float, L: float, *, f_inf: float = 0.0,
                       mu: float = 0.0) -> float:
    r"""Bound (12) from a start :math:`(X^0, Y^0)` (DERIVED, spec 000 §2, Corollary 1), for
    :math:`g \ge 0 = g_{\inf}` at the start (indicators, :math:`g \equiv 0`):

    .. math:: \lambda + \tfrac\mu4 > \tfrac12\sqrt{2L(\bar\alpha_0 - f_{\inf})},\qquad
              \bar\alpha_0 = f(X^0Y^{0\top}) + \tfrac\lambda2\|X^0 - Y^0\|_F^2 .

    With :math:`\mu = 0` the smallest such :math:`\lambda` solves
    :math:`4\lambda^2 = 2L(f - f_{\inf} + \tfrac\lambda2 d^2)`:
    :math:`\lambda = (Ld^2 + \sqrt{L^2 d^4 + 32L(f - f_{\inf})})/8`; for sNMF with
    :math:`X^0 = Y^0` this is :math:`\tfrac12\|M - X^0X^{0\top}\|_F`. With :math:`\mu > 0` the
    root of :math:`(\lambda + \mu/4)^2 = \tfrac L2(f - f_{\inf} + \tfrac\lambda2 d^2)` is used."""
    f_val = check_real("f_val", f_val)
    D_norm = check_real("D_norm", D_norm, lo=0)
    L = check_real("L", L, lo=0)
    f_inf = check_real("f_inf", f_inf)
    mu = check_real("mu", mu, lo=0)
    e = max(float(f_val) - f_inf, 0.0)
    d2 = float(D_norm) ** 2
    if mu == 0:
        return (L * d2 + np.sqrt(L * L * d2 * d2 + 32.0 * L * e)) / 8.0
    # (lam + mu/4)^2 - (L/4) d2 lam - (L/2) e = 0
    b = mu / 2 - L * d2 / 4
    c = mu * mu / 16 - L * e / 2
    return max((-b + np.sqrt(b * b - 4 * c)) / 2, 0.0)


def corollary1_bound11(G0: np.ndarray, f_val: float, D_norm: float, L: float, *,
                       diameter=None, mu: float = 0.0) -> float:
    r"""Bound (11) from a start (DERIVED, spec 000 §2, Corollary 1):
    :math:`\lambda > \tfrac12[\lambda_{\max}(\operatorname{sym}\nabla f(X^0Y^{0\top})) +
    L\,D_{\bar\alpha_0}(f)] - \mu/4`. ``diameter(alpha)`` gives the diameter of the sublevel set
    :math:`S_\alpha(f)`; default :math:`2\sqrt{2\alpha}` (a ball of radius :math:`\sqrt{2\alpha}`:
    :math:`f = \tfrac12\|M - Z\|_F^2`). As :math:`\bar\alpha_0` grows with :math:`\lambda`, the
    smallest :math:`\lambda` is found by bisection."""
    G0 = check_array("G0", np.atleast_2d(check_array("G0", G0, ndim=(0, 1, 2))), square=True)
    f_val = check_real("f_val", f_val)
    D_norm = check_real("D_norm", D_norm, lo=0)
    L = check_real("L", L, lo=0)
    mu = check_real("mu", mu, lo=0)
    if diameter is not None:
        check_callable("diameter", diameter)
        check_real("diameter(f_val)", diameter(f_val), lo=0)
    a = float(np.linalg.eigvalsh(sym(np.atleast_2d(G0)))[-1])
    diam = diameter or (lambda alpha: 2.0 * np.sqrt(2.0 * max(alpha, 0.0)))
    d2 = float(D_norm) ** 2

    def excess(lam):  # > 0 while lam is below the bound
        return 0.5 * (a + L * diam(f_val + 0.5 * lam * d2)) - mu / 4 - lam

    lo, hi = 0.0, 1.0
    if excess(lo) <= 0:
        return 0.0
    while excess(hi) > 0:
        hi *= 2.0
    for _ in range(100):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if excess(mid) > 0 else (lo, mid)
    return hi


def zhu_bound(M: np.ndarray, U0: np.ndarray) -> float:
    r"""Zhu et al.'s sNMF bound as recalled in spec 000 §2 (**unverified**):
    :math:`\lambda > \tfrac12(\|M\|_2 + \|M - U^0U^{0\top}\|_F - \sigma_n(M))`."""
    M = check_array("M", M, square=True)
    U0 = check_array("U0", U0, ndim=2)
    if U0.shape[0] != M.shape[0]:
        raise ValueError(f"U0 must have {M.shape[0]} rows (the size of M), got shape {U0.shape}")
    s = np.linalg.svd(M, compute_uv=False)
    return 0.5 * (s[0] + float(np.linalg.norm(M - U0 @ U0.T)) - s[-1])
