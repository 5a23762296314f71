r"""The quantities of Ye & Du's analysis of GD on :math:`\tfrac12\|\mathbf U\mathbf V^\top-\boldsymbol\Sigma\|_F^2`
(paper 002; spec 002 §1, §5, §6).

The theorems are stated with :math:`O(\cdot)` and :math:`\tilde O(\cdot)`: no constant is given.
The functions below evaluate each expression **with constant 1** (and logarithms hidden by
:math:`\tilde O` dropped); a chapter that compares with them says so.
"""
from __future__ import annotations

import numpy as np

from ..validation import check_array, check_array_in, check_bool, check_int, check_real

__all__ = [
    "theory_init_scale", "theory_step", "t_total", "t_flow", "t0_stage_one",
    "scalar_flow_s", "scalar_flow_time", "init_constant", "p_lower_bound",
    "stage_two_envelope", "stage_one_bounds", "lemma_constant", "lemma32_slack",
    "lemma33_slack", "check_lemma_hypotheses",
]


def _pos(name, value):
    return check_real(name, value, lo=0, lo_open=True)


def _pos_arr(name, value):
    return check_array_in(name, value, lo=0, lo_open=True)


def _dim_arr(name, value):
    return check_array_in(name, value, lo=1)


def theory_init_scale(sigma_1: float, sigma_d: float, d: int, m: int, n: int) -> float:
    r""":math:`\varepsilon = \sigma_d/\sqrt{d^3\sigma_1(m+n)}` (Theorem 1.1, FOUND; the
    :math:`\tilde O` constant and logarithms taken as 1)."""
    d, m, n = (check_int(k, v, lo=1) for k, v in (("d", d), ("m", m), ("n", n)))
    return _pos("sigma_d", sigma_d) / np.sqrt(d ** 3 * _pos("sigma_1", sigma_1) * (m + n))


def theory_step(eps: float, sigma_1: float, sigma_d: float, d: int) -> float:
    r""":math:`\eta = \sigma_d\varepsilon^2/(d\sigma_1^3)` (Theorem 1.1, FOUND; constant 1)."""
    d = check_int("d", d, lo=1)
    return _pos("sigma_d", sigma_d) * _pos("eps", eps) ** 2 / (d * _pos("sigma_1", sigma_1) ** 3)


def t_total(eta, eps, sigma_d, delta, d) -> np.ndarray:
    r""":math:`T_{\rm total} = \frac{1}{\eta\sigma_d}\ln\frac{d\sigma_d}{\varepsilon}
    + \frac{1}{\eta\sigma_d}\ln\frac{\sigma_d}{\delta}` (Theorem 1.1, FOUND; constant 1).
    Vectorised over its arguments."""
    eta, eps, sigma_d, delta = (_pos_arr(k, v) for k, v in (("eta", eta), ("eps", eps),
                                                             ("sigma_d", sigma_d), ("delta", delta)))
    d = _dim_arr("d", d)
    return (np.log(d * sigma_d / eps) + np.log(sigma_d / delta)) / (eta * sigma_d)


def t_flow(eps, sigma_d, delta, d) -> np.ndarray:
    r"""Corollary 1.2 (gradient flow, FOUND; constant 1): :math:`T = \sigma_d^{-1}
    (\ln(d\sigma_d/\varepsilon) + \ln(\sigma_d/\delta))`."""
    return t_total(1.0, eps, sigma_d, delta, d)


def t0_stage_one(eta, eps, sigma_d, d) -> np.ndarray:
    r""":math:`T_0 = \frac{1}{\eta\sigma_d}\ln\frac{d\sigma_d}{\varepsilon^2}` (Theorem 3.1, FOUND;
    constant 1)."""
    eta, eps, sigma_d = (_pos_arr(k, v) for k, v in (("eta", eta), ("eps", eps), ("sigma_d", sigma_d)))
    d = _dim_arr("d", d)
    return np.log(d * sigma_d / eps ** 2) / (eta * sigma_d)


def scalar_flow_s(t, sigma: float, a0: float) -> np.ndarray:
    r"""The paper's scalar closed form (§1.1, FOUND): :math:`\dot a = (\sigma - a^2)a`,
    :math:`s = a^2`,

    .. math:: s_t = \frac{\sigma e^{2\sigma t}}{e^{2\sigma t} + \sigma/a_0^2 - 1},

    evaluated as :math:`\sigma/(1 + (\sigma/a_0^2 - 1)e^{-2\sigma t})` (no overflow)."""
    t = check_array("t", t, min_size=0)
    sigma = _pos("sigma", sigma)
    a0 = check_real("a0", a0)
    if a0 == 0:
        raise ValueError("a0 must be a non-zero finite number, got 0.0")
    return sigma / (1.0 + (sigma / a0 ** 2 - 1.0) * np.exp(-2.0 * sigma * t))


def scalar_flow_time(sigma: float, a0: float, delta) -> np.ndarray:
    r"""First time with :math:`|\sigma - s_t| \le \delta` for :math:`a_0^2 < \sigma` (from the
    formula above): :math:`t = \frac1{2\sigma}\ln\big(\frac{\sigma c}{\delta} - c\big)`,
    :math:`c = \sigma/a_0^2 - 1`; zero when already within :math:`\delta`."""
    delta = _pos_arr("delta", delta)
    sigma = _pos("sigma", sigma)
    a0 = check_real("a0", a0)
    if a0 == 0:
        raise ValueError("a0 must be a non-zero finite number, got 0.0")
    c = sigma / a0 ** 2 - 1.0
    arg = sigma * c / delta - c
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(arg > 1.0, np.log(np.maximum(arg, 1.0)) / (2.0 * sigma), 0.0)


def init_constant(U: np.ndarray, V: np.ndarray, J: np.ndarray, K: np.ndarray, eps: float) -> float:
    r"""Smallest :math:`c` for which the initialization event of §3.1 holds (spec 002 §5):

    :math:`\sigma_d(A/\varepsilon) \ge 1/(c\sqrt d)`, :math:`\sigma_1(A/\varepsilon) \le c\sqrt d`,
    :math:`\|B/\varepsilon\|_F \le cd`, :math:`\|J/\varepsilon\| \le c\sqrt{\max(m', d)}`,
    :math:`\|K/\varepsilon\| \le c\sqrt{\max(n', d)}`, with :math:`A=(U+V)/2`, :math:`B=(U-V)/2`
    the :math:`d\times d` blocks of the rotated initialization."""
    U = check_array("U", U, square=True)
    V = check_array("V", V, shape=U.shape)
    J = check_array("J", J, ndim=2, min_size=0)
    K = check_array("K", K, ndim=2, min_size=0)
    eps = _pos("eps", eps)
    d = U.shape[0]
    if J.size and J.shape[1] != d or K.size and K.shape[1] != d:
        raise ValueError(f"J and K must have d={d} columns, got shapes {J.shape} and {K.shape}")
    A, B = (U + V) / (2 * eps), (U - V) / (2 * eps)
    sA = np.linalg.svd(A, compute_uv=False)
    cands = [1.0 / (np.sqrt(d) * sA[-1]), sA[0] / np.sqrt(d), np.linalg.norm(B) / d]
    if J.size:
        cands.append(np.linalg.norm(J / eps, 2) / np.sqrt(max(J.shape[0], d)))
    if K.size:
        cands.append(np.linalg.norm(K / eps, 2) / np.sqrt(max(K.shape[0], d)))
    return float(max(cands))


def p_lower_bound(eps: float, m: int, n: int, d: int, kappa: float, c: float) -> float:
    r"""Eq. (17) with constant 1: :math:`\lambda_d(P_t) \ge -e_b^2\varepsilon^2(m+n)d\kappa`,
    :math:`e_b = 2c` (FOUND up to the constant)."""
    eps, kappa, c = _pos("eps", eps), check_real("kappa", kappa, lo=1), _pos("c", c)
    m, n, d = (check_int(k, v, lo=1) for k, v in (("m", m), ("n", n), ("d", d)))
    e_b = 2.0 * c
    return -(e_b ** 2) * eps ** 2 * (m + n) * d * kappa


def stage_two_envelope(t, eta: float, sigma_d: float) -> np.ndarray:
    r"""Stage-two condition 2: :math:`\Delta_t \le (1 - \eta\sigma_d/2)^t\,\tfrac25\sigma_d`,
    :math:`t` counted from :math:`T_0` (FOUND)."""
    t = check_array("t", t, min_size=0)
    eta, sigma_d = _pos("eta", eta), _pos("sigma_d", sigma_d)
    return (1.0 - eta * sigma_d / 2.0) ** t * 0.4 * sigma_d


def stage_one_bounds(eps: float, sigma_1: float, sigma_d: float, d: int, m: int, n: int,
                     c: float) -> dict:
    r"""Reference lines of Theorem 3.1 (FOUND, with the universal constant :math:`c` and
    :math:`e_b = 2c`): lower/upper bounds on :math:`\sigma_d(A)`, :math:`\|B\|_F`,
    :math:`\|J\|`, :math:`\|K\|`, and the targets :math:`\sqrt{\sigma_d/2}`, :math:`\sigma_d/4`."""
    eps, sigma_1, sigma_d, c = (_pos(k, v) for k, v in (("eps", eps), ("sigma_1", sigma_1),
                                                         ("sigma_d", sigma_d), ("c", c)))
    d, m, n = (check_int(k, v, lo=1) for k, v in (("d", d), ("m", m), ("n", n)))
    return {
        "sd_A_low": eps / (c * np.sqrt(d)),
        "sd_A_high": np.sqrt(2.0 * sigma_1),
        "sd_A_target": np.sqrt(sigma_d / 2.0),
        "B_F": 2.0 * c * d * eps,
        "J_op": c * eps * np.sqrt(max(m - d, d)),
        "K_op": c * eps * np.sqrt(max(n - d, d)),
        "P_target": sigma_d / 4.0,
        "min_sd_UV": np.sqrt(sigma_d / 2.0),
    }


# ---------------------------------------------------------------------------------------------
# Lemmas 3.2 and 3.3
# ---------------------------------------------------------------------------------------------

def lemma_constant(beta: float) -> float:
    r""":math:`(8 + 6\beta)/(1 - \beta)`, the constant of Lemmas 3.2 and 3.3 (FOUND)."""
    beta = check_real("beta", beta, lo=0, hi=1, lo_open=True, hi_open=True)
    return (8.0 + 6.0 * beta) / (1.0 - beta)


def check_lemma_hypotheses(M: np.ndarray, Sigma: np.ndarray, eta: float, beta: float,
                           psd: bool) -> tuple[float, float]:
    r"""Validate the hypotheses of Lemma 3.2 (``psd=True``) or 3.3 and return
    :math:`(\sigma_1, \sigma_d)` of :math:`\Sigma`: :math:`\Sigma \succ 0` symmetric,
    :math:`\|M\| \le 2\sigma_1`, :math:`M \succeq 0` for 3.2, :math:`0 < \beta < 1`,
    :math:`\eta \le \beta/(8\sigma_1)`. Raises ``ValueError`` naming the violated one."""
    Sigma = check_array("Sigma", Sigma, square=True)
    if np.abs(Sigma - Sigma.T).max(initial=0.0) > 1e-10 * max(np.abs(Sigma).max(initial=0.0), 1.0):
        raise ValueError("Sigma must be symmetric positive definite, got a non-symmetric matrix")
    M = check_array("M", M, shape=Sigma.shape)
    eta = check_real("eta", eta)
    beta = check_real("beta", beta)
    check_bool("psd", psd)
    lam = np.linalg.eigvalsh(Sigma)
    s1, sd = float(lam[-1]), float(lam[0])
    if sd <= 0:
        raise ValueError("Sigma must be positive definite")
    if not 0 < beta < 1:
        raise ValueError(f"beta must lie in (0, 1), got {beta!r}")
    if not 0 < eta <= beta / (8 * s1) * (1 + 1e-12):
        raise ValueError(f"eta must lie in (0, beta/(8 sigma_1)], got {eta!r}")
    mu = np.linalg.eigvalsh((M + M.T) / 2)
    if max(abs(mu[0]), abs(mu[-1])) > 2 * s1 * (1 + 1e-12):
        raise ValueError("the lemma needs ||S|| <= 2 sigma_1")
    if psd and mu[0] < -1e-12 * s1:
        raise ValueError("Lemma 3.2 needs S positive semidefinite")
    return s1, sd


def lemma32_slack(S: np.ndarray, Sigma: np.ndarray, eta: float, beta: float) -> float:
    r"""Lemma 3.2 (FOUND): with :math:`S' = (I+\eta(\Sigma-S))S(I+\eta(\Sigma-S))` and
    :math:`s=\sigma_d(S)`, return

    .. math:: \sigma_d(S') - \Big[(1+\eta(\sigma_d - s))^2 s
              - \tfrac{8+6\beta}{1-\beta}\sigma_1^3\eta^2\Big],

    which the lemma says is :math:`\ge 0`."""
    S = check_array("S", S, square=True, shape=np.shape(Sigma))
    s1, sd = check_lemma_hypotheses(S, Sigma, eta, beta, psd=True)
    I = np.eye(S.shape[0])
    M = I + eta * (Sigma - S)
    Sp = M @ S @ M.T
    s = np.linalg.eigvalsh(S)[0]
    lhs = np.linalg.eigvalsh((Sp + Sp.T) / 2)[0]
    rhs = (1 + eta * (sd - s)) ** 2 * s - lemma_constant(beta) * s1 ** 3 * eta ** 2
    return float(lhs - rhs)


def lemma33_slack(P: np.ndarray, Sigma: np.ndarray, eta: float, beta: float) -> float:
    r"""Lemma 3.3 (FOUND): with :math:`P' = (I-\eta(\Sigma-P))P(I-\eta(\Sigma-P))` and
    :math:`p = \lambda_d(P)`, return :math:`\lambda_d(P') - \text{rhs}` where rhs is
    :math:`(1-\eta\sigma_d)^2p - \tfrac{8+6\beta}{1-\beta}\sigma_1^3\eta^2` if :math:`p<0` and
    :math:`0` if :math:`p \ge 0`; the lemma says it is :math:`\ge 0`."""
    P = check_array("P", P, square=True, shape=np.shape(Sigma))
    s1, sd = check_lemma_hypotheses(P, Sigma, eta, beta, psd=False)
    I = np.eye(P.shape[0])
    M = I - eta * (Sigma - P)
    Pp = M @ P @ M.T
    p = np.linalg.eigvalsh((P + P.T) / 2)[0]
    lhs = np.linalg.eigvalsh((Pp + Pp.T) / 2)[0]
    rhs = (1 - eta * sd) ** 2 * p - lemma_constant(beta) * s1 ** 3 * eta ** 2 if p < 0 else 0.0
    return float(lhs - rhs)
