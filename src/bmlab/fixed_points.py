r"""Fixed points of the UDU iteration (3): Lemma 1 and Proposition 1 of paper 001 (spec 001 §4).

With :math:`G = \nabla f(UDU^\top)`, the pre-projection variables are
:math:`\hat U = U - 2\eta\,G_sUD` and :math:`\hat d_i = d_i - \eta\,u_i^\top G u_i`. At a fixed
point :math:`(U, d) = (\Pi_\alpha(\hat U), \Pi_+(\hat d))` (Lemma 1, statements DERIVED in spec
001 §4, the scalar :math:`2\eta` follows our gradient convention :math:`\nabla_U = 2G_sUD`):

(a) if :math:`\|\hat U\|_F \le \alpha`: :math:`d_i\,G u_i = 0` for all :math:`i`;
(b) if :math:`\|\hat U\|_F > \alpha`: :math:`2\eta d_i G u_i = -c\,u_i` with
    :math:`c = \|\hat U\|_F/\alpha - 1 > 0`;
(c) if :math:`d_i > 0`: :math:`u_i^\top G u_i = 0`;
(d) if :math:`d_i = 0`: :math:`u_i^\top G u_i \ge 0`.

Proposition 1: case (b) never happens, and :math:`\tilde U = UD^{1/2}` is a stationary point of
BM, :math:`G\tilde U = 0`; conversely a BM stationary point :math:`\tilde U` gives the UDU fixed
point :math:`(\tilde U/\gamma, \gamma^2\mathbf 1)` for any :math:`\gamma \ge \|\tilde U\|_F/\alpha`.

The functions work for any :class:`~bmlab.problems.base.MeasurementProblem` (the measurement
protocol of :mod:`bmlab.factorizations.udu`); :math:`G_s` is used throughout (for a non-symmetric
:math:`G` the quadratic forms and the stationarity conditions only see :math:`G_s`).
"""
from __future__ import annotations

from dataclasses import dataclass, asdict

import numpy as np

from .factorizations.udu import project_udu, udu_factor
from .problems.base import MEASUREMENT_PROTOCOL as _PROTOCOL
from .validation import check_array, check_attrs, check_real


def _check_factor(problem, name, U):
    check_attrs("problem", problem, _PROTOCOL)
    U = check_array(name, U, ndim=2, dtype=None)
    n = getattr(problem, "n", None)
    if n is not None and U.shape[0] != n:
        raise ValueError(f"{name} must have n = {n} rows (the size of the problem), got shape {U.shape}")
    return U

__all__ = ["FixedPointReport", "check_fixed_point", "bm_to_udu", "bm_stationarity"]


@dataclass
class FixedPointReport:
    r"""Numbers checking Lemma 1 / Proposition 1 at a point :math:`(U, d)`.

    Attributes
    ----------
    fixed_point_residual : float
        :math:`\|(\Pi_\alpha(\hat U), \Pi_+(\hat d)) - (U, d)\|` (0 at a fixed point).
    norm_U, norm_U_hat, alpha : float
        :math:`\|U\|_F`, :math:`\|\hat U\|_F` and the radius; ``constraint_active`` is
        :math:`\|\hat U\|_F > \alpha` (case (b)).
    case_a : float
        :math:`\max_i \|d_i G_s u_i\|` (case (a); NaN when the constraint is active).
    case_b : float
        :math:`\max_i \|2\eta d_i G_s u_i + c\,u_i\|` (case (b); NaN when inactive).
    case_c : float
        :math:`\max_{i:\,d_i>0} |u_i^\top G u_i|`.
    case_d : float
        :math:`\min_{i:\,d_i=0} u_i^\top G u_i` (should be :math:`\ge 0`; NaN if no such i).
    bm_grad : float
        :math:`\|2 G_s \tilde U\|_F`, BM gradient at :math:`\tilde U = UD^{1/2}`.
    n_active, n_zero : int
        Number of columns with :math:`d_i > 0` and with :math:`d_i = 0`.
    scale : float
        :math:`\|G_s\|_2` (spectral norm estimate) for relative statements.
    """

    fixed_point_residual: float
    norm_U: float
    norm_U_hat: float
    alpha: float
    constraint_active: bool
    case_a: float
    case_b: float
    case_c: float
    case_d: float
    bm_grad: float
    n_active: int
    n_zero: int
    scale: float

    def as_dict(self) -> dict:
        return asdict(self)


def check_fixed_point(problem, U: np.ndarray, d: np.ndarray, *, eta: float,
                      alpha: float = 1.0, rtol: float = 1e-12) -> FixedPointReport:
    r"""Evaluate every statement of Lemma 1 and Proposition 1 at ``(U, d)``.

    The constraint counts as active (case (b)) when :math:`\|\hat U\|_F > \alpha(1 +`
    ``rtol``:math:`)`, so that a point on the sphere :math:`\|U\|_F = \alpha` with
    :math:`\hat U = U` (e.g. an exact interpolant, :math:`G = 0`) is not misread through rounding.
    """
    if not eta > 0 or not alpha > 0:
        raise ValueError("eta and alpha must be positive")
    eta = check_real("eta", eta, lo=0, lo_open=True)
    alpha = check_real("alpha", alpha, lo=0, lo_open=True)
    rtol = check_real("rtol", rtol, lo=0)
    U = _check_factor(problem, "U", U)
    d = check_array("d", d, shape=(U.shape[1],))
    res = problem.forward_factored(U, d) - problem.b
    GU = problem.sym_adjoint_apply(res, U)               # G_s U
    quad = np.einsum("ij,ij->j", U.conj(), GU).real      # u_i^H G u_i
    U_hat = U - 2.0 * eta * GU * d
    d_hat = d - eta * quad
    Up, dp = project_udu(U_hat, d_hat, alpha)
    fp = float(np.sqrt(np.linalg.norm(Up - U) ** 2 + np.linalg.norm(dp - d) ** 2))
    nh = float(np.linalg.norm(U_hat))
    active = nh > alpha * (1.0 + rtol)
    col = np.linalg.norm(GU * d, axis=0)                 # ||d_i G_s u_i||
    if active:
        c = nh / alpha - 1.0
        case_b = float(np.max(np.linalg.norm(2 * eta * GU * d + c * U, axis=0)))
        case_a = float("nan")
    else:
        case_a, case_b = float(np.max(col)), float("nan")
    pos = d > 0
    case_c = float(np.max(np.abs(quad[pos]))) if pos.any() else float("nan")
    case_d = float(np.min(quad[~pos])) if (~pos).any() else float("nan")
    Ut = udu_factor(U, d)
    bm = float(np.linalg.norm(2.0 * problem.sym_adjoint_apply(res, Ut)))
    # spectral norm of G_s by a few power iterations on a random block
    rng = np.random.default_rng(0)
    V = rng.standard_normal((U.shape[0], 4)).astype(U.dtype)
    for _ in range(30):
        V, _ = np.linalg.qr(problem.sym_adjoint_apply(res, V))
    scale = float(np.linalg.norm(problem.sym_adjoint_apply(res, V), 2))
    return FixedPointReport(fixed_point_residual=fp, norm_U=float(np.linalg.norm(U)),
                            norm_U_hat=nh, alpha=float(alpha), constraint_active=bool(active),
                            case_a=case_a, case_b=case_b, case_c=case_c, case_d=case_d,
                            bm_grad=bm, n_active=int(pos.sum()), n_zero=int((~pos).sum()),
                            scale=scale)


def bm_stationarity(problem, Ut: np.ndarray) -> float:
    r""":math:`\|\nabla_U f(\tilde U\tilde U^\top)\|_F = \|2G_s\tilde U\|_F`."""
    Ut = _check_factor(problem, "Ut", Ut)
    res = problem.forward_factored(Ut) - problem.b
    return float(np.linalg.norm(2.0 * problem.sym_adjoint_apply(res, Ut)))


def bm_to_udu(Ut: np.ndarray, *, alpha: float = 1.0, gamma: float | None = None):
    r"""The converse map of Proposition 1: :math:`(U, d) = (\tilde U/\gamma, \gamma^2\mathbf 1)`
    with :math:`\gamma \ge \|\tilde U\|_F/\alpha` (default: equality)."""
    Ut = check_array("Ut", Ut, ndim=2, dtype=None)
    alpha = check_real("alpha", alpha, lo=0, lo_open=True)
    g_min = np.linalg.norm(Ut) / alpha
    gamma = g_min if gamma is None else check_real("gamma", gamma)
    if gamma < g_min * (1 - 1e-12) or not gamma > 0:
        raise ValueError(f"gamma must be >= ||U~||_F / alpha = {g_min:.6g}, got {gamma!r}")
    return Ut / gamma, np.full(Ut.shape[1], gamma ** 2)
