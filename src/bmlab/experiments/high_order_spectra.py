r"""Hessian spectra at the spurious point and at the ground truth (paper 003, the table and
the ratio figure; spec 003 §4).

For each :math:`n` and :math:`\lambda`, :math:`\hat X` is found by plain gradient descent on
:math:`f^l_\lambda` with the row's :math:`\lambda` (step 0.02, stop when
:math:`\|\nabla f^l_\lambda\|_F < 10^{-3}`, at most 10 000 iterations; FOUND-code) from the
alternating-sign start :math:`(1,0,-1,0,1,\dots)` (INFERRED, spec 003 §4.2). The exact critical
point near it is obtained by Newton refinement for comparison.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .. import paths
from ..landscape import newton_refine
from ..problems.sensing import alternating_start, yalcin_instance
from ..solvers.gd import gradient_descent

PAPER_TABLE = "high-order-losses/paper_table.csv"


def load_paper_table() -> pd.DataFrame:
    """The published table (``data/inputs/high-order-losses/paper_table.csv``; provenance in
    the README next to it)."""
    return pd.read_csv(paths.inputs_dir() / PAPER_TABLE)


@dataclass
class SpectraParams:
    """Parameters of the spectra experiment (defaults: the paper's, spec 003 §4)."""

    ns: tuple[int, ...] = (3, 5, 7)
    lams: tuple[float, ...] = (0.0, 0.5, 5.0, 50.0)
    eps: float = 0.3
    l: int = 4
    step: float = 0.02
    tol: float = 1e-3
    max_iter: int = 10_000
    start_magnitude: float = 1.0
    newton_tol: float = 1e-12

    def __post_init__(self) -> None:
        if not self.ns or any(int(n) < 3 for n in self.ns):
            raise ValueError(f"ns must be a non-empty list of integers >= 3, got {self.ns!r}")
        if any(lam < 0 for lam in self.lams):
            raise ValueError(f"lams must be non-negative, got {self.lams!r}")
        if not 0 < self.eps <= 1:
            raise ValueError(f"eps must be in (0, 1], got {self.eps!r}")
        if not self.step > 0 or not self.tol > 0:
            raise ValueError("step and tol must be positive")


@dataclass
class SpectrumPoint:
    """Everything computed for one (n, λ)."""

    n: int
    lam: float
    X_hat: np.ndarray
    status: str
    n_iter: int
    grad_norm: float
    lmin_hat: float
    lmax_hat: float
    lmin_star: float
    lmax_star: float
    distance: float
    X_exact: np.ndarray
    newton_status: str
    newton_residual: float
    lmin_exact: float
    lmax_exact: float

    @property
    def ratio_hat(self) -> float:
        return self.lmax_hat / self.lmin_hat


@dataclass
class SpectraResult:
    params: SpectraParams
    points: list[SpectrumPoint] = field(default_factory=list)

    def frame(self) -> pd.DataFrame:
        """One row per (n, λ) with every scalar."""
        rows = [{k: v for k, v in p.__dict__.items() if not isinstance(v, np.ndarray)}
                | {"ratio_hat": p.ratio_hat} for p in self.points]
        return pd.DataFrame(rows)


def spectrum_point(n: int, lam: float, p: SpectraParams) -> SpectrumPoint:
    """GD to :math:`\\hat X`, Newton refinement, and the four eigenvalues for one (n, λ)."""
    prob = yalcin_instance(n, p.eps, lam, p.l)
    res = gradient_descent(prob.grad, alternating_start(n, p.start_magnitude), step=p.step,
                           max_iter=p.max_iter, tol=p.tol)
    ev_hat = prob.hessian_eigvals(res.x)
    ev_star = prob.hessian_eigvals(prob.Z)
    ref = newton_refine(prob, res.x, tol=p.newton_tol)
    ev_ex = prob.hessian_eigvals(ref.x)
    return SpectrumPoint(
        n=n, lam=float(lam), X_hat=res.x, status=res.status, n_iter=res.n_iter,
        grad_norm=float(res.history["grad_norm"][-1]),
        lmin_hat=float(ev_hat[0]), lmax_hat=float(ev_hat[-1]),
        lmin_star=float(ev_star[0]), lmax_star=float(ev_star[-1]),
        distance=prob.distance(res.x), X_exact=ref.x, newton_status=ref.status,
        newton_residual=float(ref.history["grad_norm"][-1]),
        lmin_exact=float(ev_ex[0]), lmax_exact=float(ev_ex[-1]))


def run_spectra(p: SpectraParams) -> SpectraResult:
    """Every (n, λ) of ``p`` (deterministic: no random draw)."""
    out = SpectraResult(params=p)
    for n in p.ns:
        for lam in p.lams:
            out.points.append(spectrum_point(int(n), float(lam), p))
    return out


def compare_with_paper(result: SpectraResult, paper: pd.DataFrame | None = None) -> pd.DataFrame:
    """Our table beside the paper's, with the differences ``ours - paper`` (columns
    ``<col>_paper``, ``<col>_ours``, ``<col>_diff`` for the four eigenvalue columns)."""
    paper = load_paper_table() if paper is None else paper
    ours = result.frame()
    merged = paper.merge(ours, on=["n", "lam"], how="inner", suffixes=("_paper", "_ours"))
    if len(merged) != len(paper):
        raise ValueError("the run does not cover every (n, lam) of the paper's table")
    cols = ["lmin_hat", "lmax_hat", "lmin_star", "lmax_star"]
    out = merged[["n", "lam"]].copy()
    for c in cols:
        out[f"{c}_paper"] = merged[f"{c}_paper"]
        out[f"{c}_ours"] = merged[f"{c}_ours"]
        out[f"{c}_diff"] = merged[f"{c}_ours"] - merged[f"{c}_paper"]
    return out


def ratio_curves(ns, lams, p: SpectraParams | None = None) -> pd.DataFrame:
    r""":math:`\lambda_{\max}/\lambda_{\min}` of the Hessian at :math:`\hat X` (found by the same
    GD as the table) for every ``n`` and ``lam``; columns ``n, lam, ratio, status, lmin_hat,
    lmax_hat, distance``."""
    p = p or SpectraParams()
    rows = []
    for n in ns:
        for lam in lams:
            pt = spectrum_point(int(n), float(lam), p)
            rows.append({"n": pt.n, "lam": pt.lam, "ratio": pt.ratio_hat, "status": pt.status,
                         "lmin_hat": pt.lmin_hat, "lmax_hat": pt.lmax_hat,
                         "distance": pt.distance})
    return pd.DataFrame(rows)
