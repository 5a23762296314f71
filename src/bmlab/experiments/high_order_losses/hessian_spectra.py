r"""Chapter "Spurious points and Hessian spectra" (``book/high-order-losses/hessian-spectra.md``):
Hessian spectra at the spurious point and at the ground truth (paper 003, the table and the
ratio figure; spec 003 §4).

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

from ... import paths
from ...claims import Claim, all_of, at_least, claim, close, fraction, monotone, qualitative
from ...solvers.newton import newton_refine
from ...problems.sensing import (alternating_start, yalcin_instance, yalcin_n3_spurious,
                                 yalcin_truth_spectrum)
from ...solvers.gd import gradient_descent
from ...validation import check_int, check_real
from ..base import ExperimentParams
from .common import check_floats, check_ints, merge_close

TABLE_COLUMNS = {"lmin_hat": "λmin(X̂)", "lmax_hat": "λmax(X̂)",
                 "lmin_star": "λmin(X*)", "lmax_star": "λmax(X*)"}
TABLE_TOL = 0.005
"""Every entry of the paper's table is matched within this (the paper prints 2-3 decimals)."""

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
                         "distance": pt.distance,
                         "ratio_exact": pt.lmax_exact / pt.lmin_exact,
                         "newton_status": pt.newton_status,
                         "newton_residual": pt.newton_residual})
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------------- chapter
@dataclass(frozen=True)
class Params(ExperimentParams):
    """The table's setting (``ns``, ``lams``, ``eps``, ``l``, GD ``step``/``tol``/``max_iter``,
    ``start_magnitude``) and the ratio figure's grid: ``ratio_points`` log-spaced λ in
    ``[ratio_lo, ratio_hi]`` plus the table's λ (near-duplicates merged, relative 1e-9)."""

    ns: tuple = (3, 5, 7)
    lams: tuple = (0.0, 0.5, 5.0, 50.0)
    eps: float = 0.3
    l: int = 4
    step: float = 0.02
    tol: float = 1e-3
    max_iter: int = 10_000
    start_magnitude: float = 1.0
    newton_tol: float = 1e-12
    ratio_points: int = 12
    ratio_lo: float = 1e-2
    ratio_hi: float = 50.0

    PRESETS = {"quick": {"ratio_points": 12}, "paper": {"ratio_points": 40}}

    def validate(self) -> None:
        object.__setattr__(self, "ns", check_ints("ns", self.ns, lo=3))
        object.__setattr__(self, "lams", check_floats("lams", self.lams, lo=0))
        check_real("eps", self.eps, lo=0, lo_open=True, hi=1)
        check_int("l", self.l, lo=3)
        check_real("step", self.step, lo=0, lo_open=True)
        check_real("tol", self.tol, lo=0, lo_open=True)
        check_int("max_iter", self.max_iter, lo=1)
        check_real("start_magnitude", self.start_magnitude, lo=0, lo_open=True)
        check_real("newton_tol", self.newton_tol, lo=0, lo_open=True)
        check_int("ratio_points", self.ratio_points, lo=2)
        check_real("ratio_lo", self.ratio_lo, lo=0, lo_open=True)
        check_real("ratio_hi", self.ratio_hi, lo=self.ratio_lo, lo_open=True)

    def spectra_params(self) -> SpectraParams:
        return SpectraParams(ns=self.ns, lams=self.lams, eps=self.eps, l=self.l,
                             step=self.step, tol=self.tol, max_iter=self.max_iter,
                             start_magnitude=self.start_magnitude, newton_tol=self.newton_tol)

    def ratio_grid(self) -> np.ndarray:
        """The table's λ first, then the log grid; values within a relative 1e-9 of an
        earlier one are dropped (``10**log10(50)`` is 49.99999999999999, not 50)."""
        grid = np.logspace(np.log10(self.ratio_lo), np.log10(self.ratio_hi), self.ratio_points)
        return merge_close(np.r_[self.lams, grid], rtol=1e-9)


@dataclass
class Result:
    """``spectra``: the table's run; ``compare``: ours beside the paper; ``curves``: the ratio
    figure (one row per (n, λ)); ``closed``: closed forms against computed spectra;
    ``closed_err``: their largest difference."""

    params: Params
    spectra: SpectraResult
    compare: pd.DataFrame
    curves: pd.DataFrame
    closed: pd.DataFrame
    closed_err: float

    @property
    def frame(self) -> pd.DataFrame:
        return self.spectra.frame()

    def ratios(self, column: str = "ratio", lams=None) -> dict[int, np.ndarray]:
        """λmax/λmin at X̂ along the λ grid (``column="ratio_exact"``: at the Newton-refined
        critical point), per n (sorted by λ); ``lams``: only these λ."""
        c = self.curves
        if lams is not None:
            c = c[np.isin(c.lam.to_numpy(), np.asarray(lams, dtype=float))]
        return {int(n): g.sort_values("lam")[column].to_numpy() for n, g in c.groupby("n")}

    def amplification(self) -> pd.Series:
        """ratio(λ = largest table λ) / ratio(λ = 0), per n."""
        c, top = self.curves, max(self.params.lams)
        return (c[c.lam == top].set_index("n").ratio / c[c.lam == 0].set_index("n").ratio)


def closed_forms(p: Params, X3_hat: np.ndarray) -> tuple[pd.DataFrame, float]:
    """Spec 003 §4.4 closed forms (spectrum at X* for every (n, λ); the n = 3, λ = 0 spurious
    point, refined by Newton from ``X3_hat``) beside the computed values, and the largest
    difference (including the point itself, up to sign)."""
    rows = []
    for n in p.ns:
        lo, hi = yalcin_truth_spectrum(n, p.eps)
        for lam in p.lams:
            P = yalcin_instance(n, p.eps, lam, p.l)
            ev = P.hessian_eigvals(P.Z)
            rows.append({"point": f"X*, n={n}, λ={lam:g}", "closed λmin": lo,
                         "computed λmin": ev[0], "closed λmax": hi, "computed λmax": ev[-1]})
    x3, lo3, hi3 = yalcin_n3_spurious(p.eps)
    P3 = yalcin_instance(3, p.eps, 0.0, p.l)
    ref3 = newton_refine(P3, X3_hat, tol=1e-13)
    ev3 = P3.hessian_eigvals(ref3.x)
    rows.append({"point": "X̂, n=3, λ=0", "closed λmin": lo3, "computed λmin": ev3[0],
                 "closed λmax": hi3, "computed λmax": ev3[-1]})
    df = pd.DataFrame(rows)
    err = float(max((df["closed λmin"] - df["computed λmin"]).abs().max(),
                    (df["closed λmax"] - df["computed λmax"]).abs().max(),
                    np.abs(np.abs(ref3.x.ravel()) - np.abs(np.asarray(x3).ravel())).max()))
    return df, err


def run(params: Params, rng: np.random.Generator | None = None) -> Result:
    """The table, the closed forms and the ratio curves (deterministic: ``rng`` is unused)."""
    p = params
    sp = p.spectra_params()
    spectra = run_spectra(sp)
    cmp = compare_with_paper(spectra)
    x3 = next(pt.X_hat for pt in spectra.points if pt.n == 3 and pt.lam == 0.0) \
        if 3 in p.ns and 0.0 in p.lams else alternating_start(3, p.start_magnitude)
    closed, err = closed_forms(p, x3)
    curves = ratio_curves(p.ns, p.ratio_grid(), sp)
    return Result(p, spectra, cmp, curves, closed, err)


def claims(result: Result) -> list[Claim]:
    """Pre-registered claims (identical in both profiles; the profiles differ only in the
    number of λ of the ratio figure)."""
    cmp, f, p = result.compare, result.frame, result.params
    out = []
    quote = ("Simulation Results table: λmin/λmax of ∇²f^l(X̂) and ∇²f^l(X*) for n = 3, 5, 7 "
             "and λ = 0, 0.5, 5, 50")
    fitted = ("the tolerance ±0.005 repeats spec 003 §4.3, set after the match had "
              "been seen (observed worst deviation 0.0036), and ε and the GD start were "
              "recovered by matching this same table (two settings against 48 numbers, 29 of "
              "them distinct); shown, not counted as a reproduction")
    for col in ("lmin_hat", "lmax_hat"):
        out.append(claim(
            f"hol.spectra.{col}",
            f"{TABLE_COLUMNS[col]} matches the paper's table within {TABLE_TOL} on all "
            f"{len(cmp)} (n, λ)",
            close(cmp[f"{col}_ours"].to_numpy(), cmp[f"{col}_paper"].to_numpy(), TABLE_TOL),
            kind="paper", quote=quote, exploratory=True, reason=fitted))
    for col in ("lmin_star", "lmax_star"):
        out.append(claim(
            f"hol.spectra.{col}",
            f"{TABLE_COLUMNS[col]} matches the paper's table within {TABLE_TOL} on all "
            f"{len(cmp)} (n, λ): instance identification, not a test (the spectrum at X* does "
            "not depend on λ, so the column holds 3 distinct values, one per n, and ε was "
            "fitted to the table)",
            close(cmp[f"{col}_ours"].to_numpy(), cmp[f"{col}_paper"].to_numpy(), TABLE_TOL),
            kind="check"))
    out.append(claim(
        "hol.spectra.spurious",
        "Every X̂ of the table is a spurious local minimum: the Newton-refined critical point "
        "has a positive definite Hessian (λmin > 0, margin relative to the largest λmax) and "
        "D = ‖X̂X̂ᵀ − M*‖_F ≥ 1 (a distance of order ‖M*‖_F, which is 2 to 4 here)",
        all_of(at_least(f.lmin_exact.to_numpy(), 0.0, scale=float(f.lmax_exact.max())),
               at_least(f.distance.to_numpy(), 1.0)),
        kind="paper", quote="Figure: \"... Hessian at the spurious local minimum "
        "λmax/λmin(∇²f^l(X̂)) with respect to λ under different size n\""))
    out.append(claim(
        "hol.spectra.closed_forms",
        "The closed forms of spec 003 §4.4 (spectrum at X* for every n, λ; the n=3, λ=0 "
        "spurious point and its spectrum) agree with the computed ones within 1e-10",
        close(result.closed_err, 0.0, 1e-10), kind="check"))
    c = result.curves
    newton_ok = fraction(int((c.newton_status == "converged").sum()), len(c), at_least=1.0)
    table = result.ratios("ratio_exact", p.lams)
    out.append(claim(
        "hol.spectra.ratio_increases",
        f"λmax/λmin of the Hessian at the Newton-refined spurious point X̂ increases strictly "
        f"with λ over the table's λ ({', '.join(f'{l:g}' for l in p.lams)}) for every n "
        "(margin: smallest relative step (ratio(λ_k+1) − ratio(λ_k))/ratio(λ_k); the Newton "
        "residual is below 1e-10, so the ratios are exact to far below that)",
        all_of(*[rel_increase(v) for v in table.values()], newton_ok),
        kind="paper", quote="Figure: \"The ratio between the largest and smallest eigenvalue "
        "of Hessian at the spurious local minimum λmax/λmin(∇²f^l(X̂)) with respect to λ "
        "under different size n\" (the curves rise with λ)"))
    dense = result.ratios("ratio_exact")
    out.append(claim(
        "hol.spectra.ratio_increases_dense",
        f"The same on the figure's dense grid of {len(p.ratio_grid())} λ in [0, "
        f"{p.ratio_hi:g}] (near-duplicates merged), Newton-refined (margin: smallest relative "
        "step); the grid is ours, not the paper's",
        all_of(*[rel_increase(v) for v in dense.values()], newton_ok), kind="extension"))
    return out


def rel_increase(values) -> "Check":
    """Strictly increasing, with margin the smallest relative step
    ``(v[k+1] − v[k]) / |v[k]|`` (a scale that does not shrink with the largest value)."""
    v = np.asarray(values, dtype=float).ravel()
    if v.size < 2 or not np.all(np.isfinite(v)):
        return qualitative(False, ours=v, margin=-1.0, relation="strictly increasing")
    rel = np.diff(v) / np.maximum(np.abs(v[:-1]), np.finfo(float).tiny)
    m = float(rel.min())
    return qualitative(m > 0, ours=v, margin=m if m != 0 else None,
                       relation="strictly increasing (smallest relative step)")


def glue_values(result: Result) -> dict:
    cmp, f, p = result.compare, result.frame, result.params
    diffs = cmp.filter(like="_diff").abs()
    worst = cmp.iloc[int(np.argmax(diffs.max(axis=1).to_numpy()))]
    amp = result.amplification()
    return {"eps": p.eps, "start_magnitude": p.start_magnitude,
            "maxdev": float(diffs.to_numpy().max()), "worst_n": int(worst.n),
            "worst_lam": float(worst.lam),
            "n_converged": int((f.status == "converged").sum()),
            "max_gd_iter": int(f.n_iter.max()),
            "newton_max_residual": float(f.newton_residual.max()),
            "min_distance": float(f.distance.min()), "closed_err": result.closed_err,
            "amp_min": float(amp.min()), "amp_max": float(amp.max()),
            "n_ratio_runs": len(result.curves)}


def table_shown(result: Result) -> pd.DataFrame:
    """The paper's table beside ours with Δ = ours − paper."""
    cmp = result.compare
    show = cmp[["n", "lam"]].rename(columns={"lam": "λ"}).copy()
    for c, lab in TABLE_COLUMNS.items():
        show[f"{lab} paper"] = cmp[f"{c}_paper"]
        show[f"{lab} ours"] = cmp[f"{c}_ours"].round(4)
        show[f"{lab} Δ"] = cmp[f"{c}_diff"].round(4) + 0.0  # no "-0.0"
    return show


def exact_shown(result: Result) -> pd.DataFrame:
    """Where GD stopped and the Newton-refined critical point, per row."""
    cols = {"n": "n", "lam": "λ", "n_iter": "GD iterations", "grad_norm": "‖∇f‖ at X̂",
            "distance": "D", "lmin_hat": "λmin(X̂)", "lmax_hat": "λmax(X̂)",
            "newton_residual": "Newton residual", "lmin_exact": "λmin exact",
            "lmax_exact": "λmax exact"}
    return result.frame[list(cols)].rename(columns=cols)
