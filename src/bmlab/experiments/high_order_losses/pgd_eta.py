r"""The step-size panel of the chapter "Perturbed gradient descent" (issue 14, referee check).

The authors' step :math:`\eta = 0.002` is small for these operators: linearised at
:math:`X^*`, gradient descent contracts the error component along the Hessian eigenvector of
eigenvalue :math:`\mu` by :math:`(1-\eta\mu)^T \le e^{-\eta\mu T}` in :math:`T` steps, and the
smallest nonzero eigenvalue :math:`\mu_{\min}` of :math:`\nabla^2 f(X^*)` is of order
:math:`10^{-2}`. This module runs perturbed GD on many instances and several steps at once
(stacked arrays, one numpy loop over the iterations), and predicts

* the linear contraction :math:`(1-\eta\mu_{\min})^T` (checked from a start
  :math:`X^* + \epsilon\,U_{\min}` on the slowest eigenvector, where it is exact to first order);
* the floor the perturbation noise sets: near :math:`X^*` the gradient is below the threshold,
  every step adds :math:`-\eta\sigma\xi_k`, and the linearised iteration
  :math:`e_{k+1} = (I-\eta H)e_k - \eta\sigma\xi_k` has stationary covariance
  :math:`\sum_i \frac{\eta\sigma^2}{\mu_i(2-\eta\mu_i)}u_iu_i^\top` over the nonzero
  eigenpairs :math:`(\mu_i, u_i)` of :math:`H` (the rotation directions
  :math:`X^*\Omega` do not move :math:`XX^\top`); the predicted floor is
  :math:`\sqrt{\mathbb E\|X^*e^\top + eX^{*\top}\|_F^2}`. It assumes the noise is on at every
  step, so it is an upper estimate when the gradient norm at the floor reaches the threshold.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["BatchRun", "batched_pgd", "slow_direction", "noise_floor", "linear_contraction"]


@dataclass
class BatchRun:
    """``distance[b, j]`` = :math:`\\|X X^\\top - M^*\\|_F` of run ``b`` at ``iters[j]``;
    ``grad_norm``: the last gradient norm per run; ``n_perturbed``: perturbed steps per run;
    ``diverged``: the run left the finite range (then its distance stays NaN from there on)."""

    iters: np.ndarray
    distance: np.ndarray
    grad_norm: np.ndarray
    n_perturbed: np.ndarray
    diverged: np.ndarray
    X: np.ndarray


def batched_pgd(A: np.ndarray, M_star: np.ndarray, X0: np.ndarray, eta, *, lam: float = 0.0,
                l: int = 4, scale: float = 1.0, max_iter: int, threshold: float = 0.0,
                noise: float = 0.0, rng: np.random.Generator | None = None,
                record_every: int = 10, blowup: float = 1e8) -> BatchRun:
    r"""Perturbed GD on :math:`f^l_\lambda` for ``B`` stacked runs at once.

    ``A``: ``(B, m, n, n)`` sensing matrices per run; ``M_star``: ``(B, n, n)``; ``X0``:
    ``(B, n, r)``; ``eta``: a step or ``B`` steps. Each step is the shared loop's
    (:func:`bmlab.solvers.gd.gradient_descent`): when :math:`\|\nabla\|_F <` ``threshold``,
    ``noise`` times a standard Gaussian is added to the gradient. The Gaussian array is drawn
    for every run at every step (used or not), so the noise a run sees depends only on ``rng``,
    the batch shape, the step and its index ``b``, never on the states of the other runs. With ``threshold = 0`` this is plain
    GD and reproduces ``gradient_descent`` on :class:`~bmlab.problems.sensing.HighOrderLoss`.
    """
    A = np.asarray(A, dtype=float)
    M = np.asarray(M_star, dtype=float)
    X = np.array(X0, dtype=float)
    B, m, n, _ = A.shape
    eta = np.broadcast_to(np.asarray(eta, dtype=float), (B,)).copy()
    As = A + A.transpose(0, 1, 3, 2)
    Af = A.reshape(B, m, n * n)
    Asf = As.reshape(B, m, n * n)
    perturb = threshold > 0 and noise > 0
    if perturb and rng is None:
        raise ValueError("a perturbed run needs rng")

    def grad(X):
        R = (X @ X.transpose(0, 2, 1) - M).reshape(B, n * n, 1)
        res = (Af @ R)[..., 0]
        phi = res + lam * res ** (l - 1) if lam else res
        S = (phi[:, None, :] @ Asf).reshape(B, n, n)
        return scale * (S @ X)

    rec = list(range(0, max_iter + 1, record_every))
    if rec[-1] != max_iter:
        rec.append(max_iter)
    dist = np.full((B, len(rec)), np.nan)
    alive = np.ones(B, dtype=bool)
    npert = np.zeros(B, dtype=int)
    dist[:, 0] = np.linalg.norm(X @ X.transpose(0, 2, 1) - M, axis=(1, 2))
    j = 1
    with np.errstate(over="ignore", invalid="ignore"):
        g = grad(X)
        gn = np.sqrt(np.einsum("bij,bij->b", g, g))
        for k in range(1, max_iter + 1):
            if perturb:
                xi = rng.standard_normal(X.shape)
                below = (gn < threshold) & alive
                npert += below
                g = g + noise * below[:, None, None] * xi
            Xn = X - eta[:, None, None] * g
            bad = ~np.isfinite(Xn).all(axis=(1, 2)) | (np.abs(Xn).max(axis=(1, 2)) > blowup)
            alive &= ~bad
            X = np.where(alive[:, None, None], Xn, X)
            g = grad(X)
            gn = np.sqrt(np.einsum("bij,bij->b", g, g))
            if k == rec[j]:
                d = np.linalg.norm(X @ X.transpose(0, 2, 1) - M, axis=(1, 2))
                dist[:, j] = np.where(alive, d, np.nan)
                j += 1
    return BatchRun(np.asarray(rec), dist, gn, npert, ~alive, X)


def _lift(Z: np.ndarray) -> np.ndarray:
    r"""The matrix of :math:`\operatorname{vec}(E) \mapsto \operatorname{vec}(ZE^\top + EZ^\top)`
    (row-major vec, :math:`E` of the shape of ``Z``)."""
    n, r = Z.shape
    J = np.zeros((n * n, n * r))
    for i in range(n):
        for a in range(r):
            E = np.zeros((n, r))
            E[i, a] = 1.0
            J[:, i * r + a] = (Z @ E.T + E @ Z.T).ravel()
    return J


def _spectrum(problem, tol: float = 1e-8):
    H = problem.with_lam(0.0).hessian(problem.Z)
    mu, U = np.linalg.eigh(H)
    keep = mu > tol * max(mu.max(), 1.0)
    return mu[keep], U[:, keep]


def slow_direction(problem) -> tuple[float, np.ndarray]:
    r""":math:`(\mu_{\min}, U_{\min})`: the smallest nonzero eigenvalue of
    :math:`\nabla^2 f(X^*)` (:math:`\lambda = 0`) and its unit eigenvector as an
    :math:`n\times r` matrix."""
    mu, U = _spectrum(problem)
    return float(mu[0]), U[:, 0].reshape(problem.Z.shape)


def noise_floor(problem, eta: float, noise: float) -> float:
    r"""Predicted stationary :math:`\sqrt{\mathbb E D^2}` of perturbed GD near :math:`X^*`
    with the noise on at every step (module docstring); ``inf`` when :math:`\eta\mu_{\max}\ge 2`."""
    mu, U = _spectrum(problem)
    if eta * mu.max() >= 2:
        return float("inf")
    var = eta * noise ** 2 / (mu * (2 - eta * mu))
    J = _lift(problem.Z)
    W = J @ U
    return float(np.sqrt(np.sum(var * np.sum(W * W, axis=0))))


def linear_contraction(mu: float, eta: float, T: int) -> tuple[float, float]:
    r"""``((1 − η μ)^T, exp(−η μ T))``: the linearised contraction of the slowest error
    component, and the bound it never exceeds."""
    return float((1 - eta * mu) ** T), float(np.exp(-eta * mu * T))


def panel_table(keys, etas, run: BatchRun, floors: np.ndarray, mus, *, reach_tol: float,
                floor_factor: float, max_iter: int) -> pd.DataFrame:
    """One row per (instance, η) from a :func:`batched_pgd` run laid out instance-major."""
    rows = []
    nE = len(etas)
    q = run.distance.shape[1] // 4
    for b in range(run.distance.shape[0]):
        i, e = divmod(b, nE)
        d = run.distance[b]
        tail = d[-q:]
        rows.append({"instance": int(keys[i]), "eta": float(etas[e]),
                     "mu_min": float(mus[i]),
                     "exponent": float(etas[e] * mus[i] * max_iter),
                     "D0": float(d[0]), "final_distance": float(d[-1]),
                     "tail_rms": float(np.sqrt(np.mean(tail ** 2))),
                     "floor_pred": float(floors[i, e]),
                     "reached": bool(np.nanmin(d) < reach_tol),
                     "converged": bool(d[-1] <= floor_factor * floors[i, e]),
                     "perturbed_steps": int(run.n_perturbed[b]),
                     "diverged": bool(run.diverged[b])})
    return pd.DataFrame(rows)
