r"""The landscape figure of paper 003: the smallest Hessian eigenvalue of
:math:`f^l_\lambda` on the plane through :math:`\hat X` spanned by two orthogonal pieces of
:math:`X^* - \hat X` (spec 003 §6, FOUND-code).

:math:`\hat X` is found once, by GD on :math:`f` (:math:`\lambda = 0`) with step 0.02 and
gradient tolerance :math:`10^{-3}` from the authors' start :math:`x_0[2k] = 0.5(-1)^{k \bmod 3}`;
:math:`d = X^* - \hat X`, :math:`d_1` keeps its first :math:`\lceil n/2\rceil` coordinates,
:math:`d_2 = d - d_1`. The grid is :math:`\alpha, \beta \in \{-0.3, -0.25, \dots, 1.25\}`
(32 values) and :math:`\hat X` stays fixed for every :math:`\lambda`.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..landscape import eigen_slice_2d, hessian_extremes
from ..problems.sensing import HighOrderLoss, gaussian_sensing, yalcin_instance
from ..solvers.gd import gradient_descent


def authors_start(n: int) -> np.ndarray:
    r"""The stored start :math:`x_0[2k] = 0.5(-1)^{k \bmod 3}`, zero elsewhere (FOUND-code)."""
    x = np.zeros((n, 1))
    k = np.arange((n + 1) // 2)
    x[2 * k, 0] = 0.5 * (-1.0) ** (k % 3)
    return x


@dataclass
class LandscapeParams:
    kind: str = "weighted"      # "weighted" (n = 21, ε = 0.1) or "gaussian" (n = 20, m = 20)
    n: int = 21
    eps: float = 0.1
    m: int = 20
    lams: tuple[float, ...] = (0.0, 0.5, 5.0)
    grid: tuple[float, float, float] = (-0.3, 1.3, 0.05)   # numpy.arange(start, stop, step)
    step: float = 0.02
    tol: float = 1e-3
    max_iter: int = 10_000

    def __post_init__(self) -> None:
        if self.kind not in ("weighted", "gaussian"):
            raise ValueError(f"kind must be 'weighted' or 'gaussian', got {self.kind!r}")


@dataclass
class LandscapeResult:
    params: LandscapeParams
    problem: HighOrderLoss
    X_hat: np.ndarray
    gd_status: str
    gd_iter: int
    alphas: np.ndarray
    betas: np.ndarray
    E: dict[float, np.ndarray] = field(default_factory=dict)   # λ -> E[i, j] at (α_i, β_j)
    spec_hat: tuple[float, float] = (np.nan, np.nan)
    spec_star: tuple[float, float] = (np.nan, np.nan)
    distance: float = np.nan


def landscape_problem(p: LandscapeParams, rng: np.random.Generator | None = None) -> HighOrderLoss:
    """The instance of the row: weighted (scale 1) or Gaussian (scale 1/m, INFERRED)."""
    if p.kind == "weighted":
        return yalcin_instance(p.n, p.eps, 0.0)
    if rng is None:
        raise ValueError("the gaussian row needs an rng")
    op = gaussian_sensing(p.n, p.m, rng)
    z = rng.standard_normal((p.n, 1))
    return HighOrderLoss(op, z @ z.T, lam=0.0, scale=1.0 / p.m, Z=z)


def run_landscape(p: LandscapeParams, rng: np.random.Generator | None = None, *,
                  grid_points: int | None = None) -> LandscapeResult:
    """Find :math:`\\hat X`, then the grid of smallest eigenvalues for every λ.
    ``grid_points`` (optional) replaces the authors' 0.05 spacing by that many points on
    the same range."""
    P0 = landscape_problem(p, rng)
    res = gradient_descent(P0.grad, authors_start(p.n), step=p.step, max_iter=p.max_iter,
                           tol=p.tol)
    Xh = res.x
    d = P0.Z - Xh
    h = (p.n + 1) // 2
    d1 = np.zeros_like(d)
    d1[:h] = d[:h]
    d2 = d - d1
    lo, hi, st = p.grid
    ax = np.arange(lo, hi, st) if grid_points is None else np.linspace(lo, hi - st, grid_points)
    out = LandscapeResult(params=p, problem=P0, X_hat=Xh, gd_status=res.status,
                          gd_iter=res.n_iter, alphas=ax, betas=ax.copy(),
                          spec_hat=hessian_extremes(P0, Xh), spec_star=hessian_extremes(P0, P0.Z),
                          distance=P0.distance(Xh))
    for lam in p.lams:
        out.E[float(lam)] = eigen_slice_2d(P0.with_lam(float(lam)), Xh, d1, d2, ax, ax)
    return out
