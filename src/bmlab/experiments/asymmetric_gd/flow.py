r"""Gradient flow of the factorization problem (paper 002, Appendix B; spec 002 §2).

Symmetric flow :math:`\dot X = (\Sigma - XX^\top)X`, :math:`S = XX^\top`:

.. math::

    \dot S = \Sigma S + S\Sigma - 2S^2, \qquad
    S(t) = e^{\Sigma t} S_0 \big(I + K(t) S_0\big)^{-1} e^{\Sigma t},\quad
    K(t) = \Sigma^{-1}(e^{2\Sigma t} - I)

(**DERIVED** in spec 002 §2; the paper's Appendix B, which states a closed form, could not be
read). :math:`K` is taken as :math:`2t` on :math:`\ker\Sigma`. The one-shot formula loses
accuracy for large :math:`\sigma_1 t`, so :func:`flow_S_chunked` applies the exact map over
chunks of length :math:`h \le 1/\sigma_1` (semigroup property).

Asymmetric flow :math:`\dot{\mathbf U} = (\boldsymbol\Sigma-\mathbf U\mathbf V^\top)\mathbf V`,
:math:`\dot{\mathbf V} = (\boldsymbol\Sigma-\mathbf U\mathbf V^\top)^\top\mathbf U` is integrated
with :func:`scipy.integrate.solve_ivp` (:func:`uv_flow_ivp`).
"""
from __future__ import annotations

import numpy as np
from scipy.integrate import solve_ivp

__all__ = ["flow_map", "closed_form_S", "flow_S_chunked", "flow_S_ivp", "uv_flow_ivp",
           "gd_symmetric_S", "time_to_delta", "scalar_flow_ivp"]


def _eig(Sigma):
    Sigma = np.asarray(Sigma, dtype=float)
    if Sigma.ndim != 2 or Sigma.shape[0] != Sigma.shape[1] or not np.allclose(Sigma, Sigma.T):
        raise ValueError("Sigma must be a symmetric square matrix")
    lam, W = np.linalg.eigh(Sigma)
    return lam, W


def _kdiag(lam, t):
    # (e^{2 lam t} - 1) / lam, = 2t where lam = 0 (expm1 keeps small lam t accurate)
    out = np.full_like(lam, 2.0 * t)
    nz = lam != 0
    out[nz] = np.expm1(2.0 * lam[nz] * t) / lam[nz]
    return out


def flow_map(lam, S0e, t):
    r"""The exact flow map over time ``t`` in the eigenbasis of :math:`\Sigma` (``lam`` its
    eigenvalues, ``S0e`` the start in that basis)."""
    e = np.exp(lam * t)
    M = np.eye(lam.size) + _kdiag(lam, t)[:, None] * S0e          # I + K S0
    X = np.linalg.solve(M.T, S0e.T).T                              # S0 (I + K S0)^{-1}
    S = e[:, None] * X * e[None, :]
    return (S + S.T) / 2


def closed_form_S(Sigma, S0, t) -> np.ndarray:
    """One-shot closed form :math:`S(t)` (DERIVED, spec 002 §2)."""
    lam, W = _eig(Sigma)
    return W @ flow_map(lam, W.T @ S0 @ W, float(t)) @ W.T


def flow_S_chunked(Sigma, S0, times, h_max: float | None = None) -> np.ndarray:
    r""":math:`S(t)` at increasing ``times`` by chunks :math:`S(t+h) = \Phi_h(S(t))`,
    :math:`h \le h_{\max}` (default :math:`1/\sigma_1`). Returns an array (len(times), n, n)."""
    lam, W = _eig(Sigma)
    times = np.asarray(times, dtype=float)
    if np.any(np.diff(times) < 0) or times[0] < 0:
        raise ValueError("times must be non-negative and non-decreasing")
    h_max = h_max or 1.0 / max(float(np.max(np.abs(lam))), 1e-300)
    S = W.T @ np.asarray(S0, dtype=float) @ W
    out = np.empty((times.size,) + S.shape)
    t_now = 0.0
    for i, t in enumerate(times):
        gap = t - t_now
        steps = int(np.ceil(gap / h_max)) if gap > 0 else 0
        for _ in range(steps):
            S = flow_map(lam, S, gap / steps)
        t_now = t
        out[i] = W @ S @ W.T
    return out


def flow_S_ivp(Sigma, S0, times, *, rtol=1e-12, atol=1e-14, method="LSODA"):
    r""":math:`\dot S = \Sigma S + S\Sigma - 2S^2` with :func:`scipy.integrate.solve_ivp`."""
    Sigma = np.asarray(Sigma, dtype=float)
    n = Sigma.shape[0]

    def rhs(_, y):
        S = y.reshape(n, n)
        return (Sigma @ S + S @ Sigma - 2 * S @ S).ravel()

    eye = np.eye(n)

    def jac(_, y):  # row-major vec(A X B) = kron(A, B^T) vec(X)
        M = Sigma - 2 * y.reshape(n, n)
        return np.kron(M, eye) + np.kron(eye, M.T)

    sol = solve_ivp(rhs, (0.0, float(times[-1])), np.asarray(S0, float).ravel(), t_eval=times,
                    method=method, rtol=rtol, atol=atol,
                    **({"jac": jac} if method in ("Radau", "BDF", "LSODA") else {}))
    if not sol.success:
        raise RuntimeError(f"solve_ivp failed: {sol.message}")
    return sol.y.T.reshape(len(times), n, n)


def uv_flow_ivp(Sigma, U0, V0, times, *, rtol=1e-12, atol=1e-14, method="LSODA"):
    r"""The asymmetric gradient flow with :func:`scipy.integrate.solve_ivp`; returns
    ``(U, V)`` arrays of shape (len(times), m, d) and (len(times), n, d)."""
    Sigma = np.asarray(Sigma, dtype=float)
    m, d = U0.shape
    n = V0.shape[0]

    def rhs(_, y):
        U, V = y[: m * d].reshape(m, d), y[m * d:].reshape(n, d)
        R = Sigma - U @ V.T
        return np.concatenate([(R @ V).ravel(), (R.T @ U).ravel()])

    sol = solve_ivp(rhs, (0.0, float(times[-1])), np.concatenate([U0.ravel(), V0.ravel()]),
                    t_eval=times, method=method, rtol=rtol, atol=atol)
    if not sol.success:
        raise RuntimeError(f"solve_ivp failed: {sol.message}")
    Y = sol.y.T
    return Y[:, : m * d].reshape(-1, m, d), Y[:, m * d:].reshape(-1, n, d)


def gd_symmetric_S(Sigma, X0, eta: float, times):
    r""":math:`S = \mathbf U\mathbf U^\top` of GD on :math:`\tfrac12\|\mathbf U\mathbf V^\top-\Sigma\|_F^2`
    from :math:`\mathbf U_0 = \mathbf V_0 = X_0` (symmetric :math:`\Sigma`, so the iterates stay
    equal: :math:`\mathbf U_t = \mathbf V_t`), at the steps :math:`\mathrm{round}(t/\eta)` of the
    given flow ``times``. Runs the shared loop (:func:`bmlab.experiments.asymmetric_gd.common.run_gd`)."""
    from ...problems.factorization import AsymmetricFactorization
    from .common import run_gd

    steps = np.rint(np.asarray(times, float) / eta).astype(int)
    want = {int(k): i for i, k in enumerate(steps)}
    out = np.empty((steps.size,) + (np.shape(Sigma)[0],) * 2)
    if 0 in want:
        out[want[0]] = X0 @ X0.T

    def grab(k, x):
        if k in want:
            out[want[k]] = x[0] @ x[0].T

    prob = AsymmetricFactorization(np.asarray(Sigma, float))
    run_gd(prob, (X0.copy(), X0.copy()), eta=eta, max_iter=int(steps.max()), record_every=10 ** 9,
           callback=grab)
    return out


def time_to_delta(Sigma, S0, deltas, t_max: float, dt: float = 0.005):
    r"""First time with :math:`f(t) = \tfrac12\|\Sigma - S(t)\|_F^2 \le \delta` along the closed
    form (grid of step ``dt``, log-linear interpolation between grid points; NaN if not reached
    by ``t_max``)."""
    ts = np.arange(0.0, t_max + dt / 2, dt)
    S = flow_S_chunked(Sigma, S0, ts)
    f = 0.5 * np.sum((S - np.asarray(Sigma)[None]) ** 2, axis=(1, 2))

    def log_linear(i, dl):
        l0, l1 = np.log(f[i - 1]), np.log(f[i])
        return float(ts[i - 1] + dt * (l0 - np.log(dl)) / (l0 - l1))

    return _first_crossings(f, deltas, log_linear)



def _first_crossings(values, deltas, refine) -> np.ndarray:
    """For each ``delta``: NaN if ``values`` never drops to ``delta``, 0 if it starts there,
    else ``refine(i, delta)``, the crossing time between grid points ``i - 1`` and ``i``."""
    out = []
    for dl in np.atleast_1d(deltas):
        idx = np.flatnonzero(values <= dl)
        if idx.size == 0:
            out.append(np.nan)
        elif idx[0] == 0:
            out.append(0.0)
        else:
            out.append(float(refine(idx[0], dl)))
    return np.asarray(out)

def scalar_flow_ivp(sigma: float, a0: float, deltas, t_max: float):
    r"""Solve :math:`\dot a = (\sigma - a^2)a` with :func:`scipy.integrate.solve_ivp`
    (dense output, :math:`\text{rtol}=10^{-12}`) and return ``(sol, times)``: the solution object
    and, for each :math:`\delta`, the first time with :math:`|\sigma - a^2| \le \delta` (root of
    the dense interpolant, found by :func:`scipy.optimize.brentq`)."""
    from scipy.optimize import brentq

    sol = solve_ivp(lambda _, a: (sigma - a ** 2) * a, (0.0, t_max), [a0], method="DOP853",
                    rtol=1e-12, atol=1e-15, dense_output=True)
    grid = np.linspace(0.0, t_max, 20001)
    gap = np.abs(sigma - sol.sol(grid)[0] ** 2)

    def root(i, dl):
        return brentq(lambda t: abs(sigma - sol.sol(t)[0] ** 2) - dl, grid[i - 1], grid[i],
                      xtol=1e-14)

    return sol, _first_crossings(gap, deltas, root)
