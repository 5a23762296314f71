r"""Chapter "The landscape between a spurious point and the ground truth"
(``book/high-order-losses/landscape.md``). The landscape figure of paper 003: the smallest Hessian eigenvalue of
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

import pandas as pd

from ...claims import Claim, all_of, at_least, claim, close, monotone
from ...landscape import eigen_slice_2d, hessian_extremes
from ...problems.sensing import HighOrderLoss, gaussian_sensing, yalcin_instance
from ...solvers.gd import gradient_descent
from ...validation import check_int, check_real
from ..base import ExperimentParams
from .common import check_floats


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


# ----------------------------------------------------------------------------- chapter
WEIGHTED = "weighted (n = 21, ε = 0.1)"
GAUSSIAN = "Gaussian (n = 20, m = 20), INFERRED"


@dataclass(frozen=True)
class Params(ExperimentParams):
    """``grid_points`` per axis (the authors: 32), the λ of the three columns, the weighted
    row (``n``, ``eps``), the Gaussian row (``n_gaussian``, ``m``) and ``hvp_lam``: the λ at
    which Lanczos on Hessian-vector products is checked against the dense Hessian."""

    grid_points: int = 12
    lams: tuple = (0.0, 0.5, 5.0)
    n: int = 21
    eps: float = 0.1
    n_gaussian: int = 20
    m: int = 20
    hvp_lam: float = 5.0

    PRESETS = {"quick": {"grid_points": 12}, "paper": {"grid_points": 32}}

    def validate(self) -> None:
        check_int("grid_points", self.grid_points, lo=2)
        lams = check_floats("lams", self.lams, lo=0, min_size=2)
        if list(lams) != sorted(set(lams)):
            raise ValueError(f"lams must be strictly increasing, got {lams!r}")
        object.__setattr__(self, "lams", lams)
        check_int("n", self.n, lo=3)
        check_real("eps", self.eps, lo=0, lo_open=True, hi=1)
        check_int("n_gaussian", self.n_gaussian, lo=3)
        check_int("m", self.m, lo=1)
        check_real("hvp_lam", self.hvp_lam, lo=0)


@dataclass
class Result:
    """``rows``: the two rows of the figure (name → :class:`LandscapeResult`); ``hvp_err``:
    largest absolute difference between λmin from the dense Hessian and from Lanczos on four
    points of the weighted plane."""

    params: Params
    rows: dict
    hvp_err: float

    @property
    def weighted(self) -> LandscapeResult:
        return self.rows[WEIGHTED]

    def grid_minima(self) -> list[float]:
        """Most negative eigenvalue on the weighted plane, per λ (in the order of ``lams``)."""
        return [float(E.min()) for E in self.weighted.E.values()]


def hvp_error(res: LandscapeResult, lam: float) -> float:
    """Matrix-free Lanczos against the dense Hessian at four points of the plane."""
    P = res.problem.with_lam(lam)
    h = (res.problem.n + 1) // 2
    d = res.problem.Z - res.X_hat
    d1 = np.zeros_like(d)
    d1[:h] = d[:h]
    pts = [res.X_hat + a * d1 + b * (d - d1)
           for a, b in [(0.0, 0.0), (0.5, 0.2), (1.0, 1.0), (-0.3, 1.2)]]
    return float(max(abs(hessian_extremes(P, X)[0] - hessian_extremes(P, X, method="lanczos")[0])
                     for X in pts))


def run(params: Params, rng: np.random.Generator) -> Result:
    """Both rows of the figure (the Gaussian row draws from ``rng``) and the HVP check."""
    p = params
    w = run_landscape(LandscapeParams(n=p.n, eps=p.eps, lams=p.lams), grid_points=p.grid_points)
    g = run_landscape(LandscapeParams(kind="gaussian", n=p.n_gaussian, m=p.m, lams=p.lams), rng,
                      grid_points=p.grid_points)
    return Result(p, {WEIGHTED: w, GAUSSIAN: g}, hvp_error(w, p.hvp_lam))


def claims(result: Result) -> list[Claim]:
    """Pre-registered claims (identical in both profiles)."""
    w, p = result.weighted, result.params
    mins = result.grid_minima()
    lam_text = " → ".join(f"{l:g}" for l in p.lams)
    return [
        claim("hol.landscape.spurious_point",
              f"The point X̂ of the landscape figure (weighted, n={p.n}, ε={p.eps:g}, λ=0, found "
              "by the authors' GD) is a spurious local minimum, not a saddle: λmin(∇²f(X̂)) > 0 "
              "(relative to λmax) and D = ‖X̂X̂ᵀ − M*‖_F ≥ 1 (the authors' script calls it a "
              "saddle; the slides only say 'the critical point')",
              all_of(at_least(w.spec_hat[0], 0.0, scale=w.spec_hat[1]),
                     at_least(w.distance, 1.0)), kind="extension"),
        claim("hol.landscape.deeper_negative_curvature",
              f"On the plane between X̂ and X*, the most negative Hessian eigenvalue decreases "
              f"strictly as λ goes {lam_text} (weighted row; margin: smallest decrease relative "
              "to the largest |value|). Our reading, an extension: the slides' caption only "
              "describes the panel layout; the grid minimum lies at α = β = 0.5 of the plane for "
              "every λ (not at a critical point)",
              monotone(mins, increasing=False), kind="extension"),
        claim("hol.landscape.hvp_check",
              f"Matrix-free Lanczos on Hessian-vector products gives the same λmin as the dense "
              f"Hessian (n = {p.n}, λ = {p.hvp_lam:g}, four points of the plane) within 1e-8",
              close(result.hvp_err, 0.0, 1e-8), kind="check"),
    ]


def info_table(result: Result) -> pd.DataFrame:
    """Per row: how GD ended, the spectrum at X̂ and X*, the grid minimum per λ."""
    return pd.DataFrame([{
        "row": name, "GD status": r.gd_status, "GD iterations": r.gd_iter,
        "‖∇f(X̂)‖": float(np.linalg.norm(r.problem.grad(r.X_hat))), "D": r.distance,
        "λmin(X̂)": r.spec_hat[0], "λmax(X̂)": r.spec_hat[1],
        "λmin(X*)": r.spec_star[0], "λmax(X*)": r.spec_star[1],
        **{f"min on grid, λ={lam:g}": float(E.min()) for lam, E in r.E.items()}}
        for name, r in result.rows.items()])


def glue_values(result: Result) -> dict:
    w, mins = result.weighted, result.grid_minima()
    return {"grid_points": result.params.grid_points, "w_iter": w.gd_iter,
            "w_lmin": w.spec_hat[0], "w_lmax": w.spec_hat[1], "w_smin": w.spec_star[0],
            "w_smax": w.spec_star[1], "w_min0": mins[0], "w_min5": mins[-1],
            "hvp_err": result.hvp_err}
