r"""Conditions and eigenvalue bounds of Theorems 3, 5 and 6 of Ma, Chen, Lavaei and Sojoudi
(AISTATS 2024), as stated on the authors' slides (spec 003 §3, FOUND-slides).

Notation: :math:`D = \|\hat X\hat X^\top - M^*\|_F`, :math:`\sigma_r = \sigma_r(\hat X)`,
:math:`t = \operatorname{tr}(M^*)`, :math:`\delta` the RIP\ :sub:`r+r*` constant of the
sensing operator (of the operator as used in the objective, i.e. after any rescaling).
"""
from __future__ import annotations

import math

import numpy as np

from ..validation import check_array, check_int, check_psd, check_real

__all__ = ["C_l", "theorem3_condition", "theorem3_bound", "theorem5_lhs", "theorem5_rhs",
           "theorem5_condition", "theorem6_threshold", "theorem6_condition", "theorem6_bound",
           "point_quantities"]


def _check_delta(delta: float) -> float:
    return check_real("delta", delta, lo=0, hi=1, hi_open=True)


def _check_point(D, sigma_r, tr_M):
    r"""Validate :math:`(D, \sigma_r, t)`: :math:`D, \sigma_r \ge 0`, :math:`t > 0`."""
    return (check_real("D", D, lo=0), check_real("sigma_r", sigma_r, lo=0),
            check_real("tr_M", tr_M, lo=0, lo_open=True))


def C_l(l: int, m: int) -> float:
    r""":math:`C(l) = m^{(2-l)/2}\big(\tfrac{2^l-1}{l} - 1\big)` (Theorem 6); :math:`C(4) = 11/(4m)`."""
    l = check_int("l", l, lo=2)
    m = check_int("m", m, lo=1)
    return m ** ((2 - l) / 2) * ((2 ** l - 1) / l - 1)


def theorem3_condition(D: float, sigma_r: float, tr_M: float, delta: float) -> bool:
    r"""Condition (4): :math:`D^2 > 2\frac{1+\delta}{1-\delta}\,t\,\sigma_r^2`."""
    delta = _check_delta(delta)
    D, sigma_r, tr_M = _check_point(D, sigma_r, tr_M)
    return bool(D ** 2 > 2 * (1 + delta) / (1 - delta) * tr_M * sigma_r ** 2)


def theorem3_bound(D: float, sigma_r: float, tr_M: float, delta: float) -> float:
    r"""Bound (5) on the smallest Hessian eigenvalue:
    :math:`2(1+\delta)\sigma_r^2 - (1-\delta)D^2/t`."""
    delta = _check_delta(delta)
    D, sigma_r, tr_M = _check_point(D, sigma_r, tr_M)
    return 2 * (1 + delta) * sigma_r ** 2 - (1 - delta) * D ** 2 / tr_M


def theorem5_lhs(M_star: np.ndarray, r_star: int) -> float:
    r"""Left side of (7): :math:`\|M^*\|_F\,\operatorname{tr}(M^*)/\lambda_{r^*}(M^*)^2`."""
    M_star = check_psd("M_star", M_star)
    r_star = check_int("r_star", r_star, lo=1, hi=M_star.shape[0])
    ev = np.sort(np.linalg.eigvalsh(M_star))[::-1]
    if not ev[r_star - 1] > 0:
        raise ValueError(f"M_star must have rank >= r_star={r_star} (lambda_r_star(M_star) > 0), "
                         f"got lambda_{r_star} = {ev[r_star - 1]:.3g}")
    return float(np.linalg.norm(M_star) * np.trace(M_star) / ev[r_star - 1] ** 2)


def theorem5_rhs(r: int, delta: float) -> float:
    r"""Right side of (7): :math:`\frac{\sqrt r}{2\sqrt2}(1+\delta)^{1/2}(1-\delta)^{7/2}`."""
    delta = _check_delta(delta)
    r = check_int("r", r, lo=1)
    return math.sqrt(r) / (2 * math.sqrt(2)) * (1 + delta) ** 0.5 * (1 - delta) ** 3.5


def theorem5_condition(M_star: np.ndarray, r_star: int, r: int, delta: float) -> bool:
    """Condition (7) of Theorem 5."""
    return theorem5_lhs(M_star, r_star) <= theorem5_rhs(r, delta)


def theorem6_threshold(D: float, sigma_r: float, tr_M: float, delta: float, lam: float,
                       l: int, m: int) -> float:
    r"""Right side of (10):
    :math:`t\sigma_r^2\frac{(1+\delta)+\lambda(l-1)(1+\delta)^{l/2}D^{l-2}}
    {(1-\delta)/2+\lambda C(l)(1-\delta)^{l/2}D^{l-2}}`."""
    delta = _check_delta(delta)
    D, sigma_r, tr_M = _check_point(D, sigma_r, tr_M)
    lam = check_real("lam", lam, lo=0)
    num = (1 + delta) + lam * (l - 1) * (1 + delta) ** (l / 2) * D ** (l - 2)
    den = (1 - delta) / 2 + lam * C_l(l, m) * (1 - delta) ** (l / 2) * D ** (l - 2)
    return tr_M * sigma_r ** 2 * num / den


def theorem6_condition(D, sigma_r, tr_M, delta, lam, l, m) -> bool:
    """Condition (10): :math:`D^2 \\ge` :func:`theorem6_threshold`."""
    return bool(D ** 2 >= theorem6_threshold(D, sigma_r, tr_M, delta, lam, l, m))


def theorem6_bound(D: float, sigma_r: float, tr_M: float, delta: float, lam: float, l: int,
                   m: int) -> float:
    r"""Bound (11) on the smallest eigenvalue of :math:`\nabla^2 f^l_\lambda(\hat X)`:
    :math:`[2(1+\delta)\sigma_r^2 - (1-\delta)D^2/t] + \lambda D^{l-2}[2(l-1)(1+\delta)^{l/2}
    \sigma_r^2 - 2C(l)(1-\delta)^{l/2}D^2/t]`."""
    delta = _check_delta(delta)
    D, sigma_r, tr_M = _check_point(D, sigma_r, tr_M)
    lam = check_real("lam", lam, lo=0)
    base = theorem3_bound(D, sigma_r, tr_M, delta)
    extra = (2 * (l - 1) * (1 + delta) ** (l / 2) * sigma_r ** 2
             - 2 * C_l(l, m) * (1 - delta) ** (l / 2) * D ** 2 / tr_M)
    return base + lam * D ** (l - 2) * extra


def point_quantities(X: np.ndarray, M_star: np.ndarray) -> tuple[float, float, float]:
    r""":math:`(D, \sigma_r(X), \operatorname{tr} M^*)` for a critical point ``X``."""
    X = check_array("X", X, ndim=2)
    M_star = check_psd("M_star", M_star)
    if M_star.shape[0] != X.shape[0] or X.shape[1] > X.shape[0]:
        raise ValueError(f"X must have shape (n, r) with n = {M_star.shape[0]} (the size of "
                         f"M_star) and r <= n, got {X.shape}")
    D = float(np.linalg.norm(X @ X.T - M_star))
    s = np.linalg.svd(X, compute_uv=False)
    return D, float(s[X.shape[1] - 1]), float(np.trace(M_star))
