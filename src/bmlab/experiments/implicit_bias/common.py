r"""Matrix completion with BM and UDU: step-size and initial-scale sweeps (paper 001 §2.2.1,
A.1, A.3; spec 001 §2).

One instance (ground truth, samples, optional noise) and one Gaussian direction
:math:`U_0/\|U_0\|_F` are drawn; every run starts from :math:`\rho\,U_0/\|U_0\|_F` (the same
start for BM and UDU, FOUND-code) and runs ``max_iter`` iterations of GD (BM) or of the
simultaneous projected gradient (3) with :math:`D_0 = I`, :math:`\alpha = 1` (UDU).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pandas as pd

from ...factorizations.spectral import numerical_rank
from ...factorizations.udu import spectrum, udu_matrix
from ...problems.completion import MatrixCompletion, make_completion
from ...solvers.base import log_schedule
from ...solvers.udu import run_bm, run_udu

__all__ = ["CompletionParams", "CompletionRun", "CompletionSweep", "run_completion_sweep",
           "blas_single_thread", "rank_equals", "rank_above",
           "no_values_in_gap", "log_monotone", "budget_line", "sign_test", "QUOTE_STEP",
           "QUOTE_INIT", "QUOTE_NOISY", "QUOTE_BM_APPROX", "BACKENDS", "check_backend",
           "kernel_options", "run_kernel_batch",
           "certificate_row", "certificate_rows", "cert_margin", "certified_claim", "sdp_status"]

METHODS = ("BM", "UDU")


def blas_single_thread():
    """Context manager limiting BLAS to one thread (on a shared 2-core machine a threaded
    100×100 product is 10–100× slower than a single-threaded one)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
        import contextlib
        return contextlib.nullcontext()
    return threadpool_limits(1)


@dataclass
class CompletionParams:
    """Parameters (defaults: the paper's, FOUND-code, spec 001 §2)."""

    n: int = 100
    rank: int = 3
    m: int | None = None            # default 3·rank·n = 900
    r: int | None = None            # factorization rank, default n (full)
    noise: float = 0.0              # A.1: 0.01 (std = noise·||b||)
    truth: str = "code"
    etas: tuple[float, ...] = (1e-1, 1e-2, 1e-3)
    rhos: tuple[float, ...] = (1e-2,)
    methods: tuple[str, ...] = METHODS
    max_iter: int = 10 ** 6
    alpha: float = 1.0
    record_points: int = 120
    track_columns: bool = False     # column norms of U and d over the iterations (A.3)
    rank_rtol: float = 1e-6
    backend: str = "numba"          # one of BACKENDS ("numpy": the oracle loop)
    device: str = "cpu"             # "cuda[:k]" with backend="torch" only

    def __post_init__(self) -> None:
        bad = [m for m in self.methods if m not in METHODS]
        if bad:
            raise ValueError(f"methods must be among {METHODS}, got {bad}")
        check_backend(self.backend, self.device)
        if any(not e > 0 for e in self.etas) or any(not r > 0 for r in self.rhos):
            raise ValueError("etas and rhos must be positive")
        if self.max_iter < 1:
            raise ValueError(f"max_iter must be >= 1, got {self.max_iter!r}")


@dataclass
class CompletionRun:
    """One (method, η, ρ) run."""

    method: str
    eta: float
    rho: float
    status: str
    n_iter: int
    seconds: float
    iters: np.ndarray
    residual: np.ndarray
    spectrum: np.ndarray
    rel_error: float
    rank: int
    x: object
    history: dict = field(repr=False, default_factory=dict)

    @property
    def X(self) -> np.ndarray:
        return udu_matrix(*self.x) if self.method == "UDU" else udu_matrix(self.x)


@dataclass
class CompletionSweep:
    params: CompletionParams
    problem: MatrixCompletion
    runs: list[CompletionRun]
    direction: np.ndarray | None = field(default=None, repr=False)

    def get(self, method: str, eta: float, rho: float) -> CompletionRun:
        for run in self.runs:
            if run.method == method and np.isclose(run.eta, eta) and np.isclose(run.rho, rho):
                return run
        raise KeyError((method, eta, rho))

    def frame(self) -> pd.DataFrame:
        rows = []
        for run in self.runs:
            s = run.spectrum
            k = self.params.rank
            rows.append({"method": run.method, "eta": run.eta, "rho": run.rho,
                         "status": run.status, "iterations": run.n_iter,
                         "residual": float(run.residual[-1]), "rel_error": run.rel_error,
                         "rank": run.rank,
                         "sigma_next_rel": float(s[k] / s[0]) if s.size > k else 0.0})
        return pd.DataFrame(rows)

    def seconds(self) -> float:
        """Total wall time of the runs (for ``ch.record_timing``, never for a table)."""
        return float(sum(run.seconds for run in self.runs))


def run_completion_sweep(params: CompletionParams, rng: np.random.Generator, *,
                         problem: MatrixCompletion | None = None,
                         direction: np.ndarray | None = None,
                         progress: Callable[[str], None] | None = None) -> CompletionSweep:
    r"""Run every (method, η, ρ) of ``params`` on one instance (drawn from ``rng`` unless
    ``problem`` is given) from :math:`\rho` times one unit-norm direction (drawn from ``rng``
    unless ``direction`` is given)."""
    p = params
    if problem is None:
        problem = make_completion(p.n, p.rank, p.m, rng=rng, noise=p.noise, truth=p.truth)
    n = problem.n
    r = p.r or n
    if direction is None:
        direction = rng.standard_normal((n, r))
        direction /= np.linalg.norm(direction)
    record = log_schedule(p.max_iter, p.record_points)
    if p.backend != "numpy":
        runs = _batched_sweep(p, problem, direction, record, progress)
        return CompletionSweep(params=p, problem=problem, runs=runs, direction=direction)
    runs = []
    with blas_single_thread():
        for rho in p.rhos:
            for eta in p.etas:
                for method in p.methods:
                    if progress is not None:
                        progress(f"{method} eta={eta:g} rho={rho:g}")
                    U0 = rho * direction
                    t0 = time.perf_counter()
                    if method == "BM":
                        trk = {"col_norms": lambda U: np.linalg.norm(U, axis=0)} \
                            if p.track_columns else {}
                        res = run_bm(problem, U0, eta=eta, max_iter=p.max_iter, record=record,
                                     trackers=trk)
                        spec = spectrum(res.x)
                    else:
                        trk = {"col_norms": lambda x: np.linalg.norm(x[0], axis=0),
                               "d": lambda x: x[1].copy()} if p.track_columns else {}
                        res = run_udu(problem, U0, eta=eta, max_iter=p.max_iter,
                                      alpha=p.alpha, record=record, trackers=trk)
                        spec = spectrum(*res.x)
                    secs = time.perf_counter() - t0
                    run = CompletionRun(
                        method=method, eta=eta, rho=rho, status=res.status, n_iter=res.n_iter,
                        seconds=secs, iters=res.history["iter"], residual=res.history["residual"],
                        spectrum=spec, rel_error=float("nan"),
                        rank=numerical_rank(spec, p.rank_rtol, spectrum=True), x=res.x,
                        history=res.history)
                    if problem.X_true is not None:
                        run.rel_error = problem.relative_error(run.X)
                    runs.append(run)
    return CompletionSweep(params=p, problem=problem, runs=runs, direction=direction)


def _batched_sweep(p: CompletionParams, problem, direction, record, progress) -> list:
    """Every (η, ρ) cell of one method in one call of the compiled kernel; runs returned in the
    order of the loop path (ρ, then η, then method)."""
    from ...solvers.kernels import run_udu_batch

    cells = [(rho, eta) for rho in p.rhos for eta in p.etas]
    got = {}
    for method in p.methods:
        if progress is not None:
            progress(f"{method}: {len(cells)} runs (η, ρ) batched")
        bm = method == "BM"
        tracked = [dict(iter=[], col_norms=[], d=[]) for _ in cells]

        def on_stop(k, q, x, tracked=tracked, bm=bm):
            U = x if bm else x[0]
            tracked[q]["iter"].append(k)
            tracked[q]["col_norms"].append(np.linalg.norm(U, axis=0))
            if not bm:
                tracked[q]["d"].append(np.array(x[1]))

        U0 = np.stack([rho * direction for rho, _ in cells])
        with blas_single_thread():
            out = run_kernel_batch(run_udu_batch, problem, U0, eta=[e for _, e in cells],
                                   alpha=p.alpha, bm=bm, max_iter=p.max_iter, record=record,
                                   stops=record if p.track_columns else (),
                                   on_stop=on_stop if p.track_columns else None,
                                   options=kernel_options(p.backend, p.device))
        for q, ((rho, eta), res) in enumerate(zip(cells, out)):
            hist = dict(res.history)
            if p.track_columns:
                at = {k: i for i, k in enumerate(tracked[q]["iter"])}
                rows = [at[int(k)] for k in hist["iter"]]
                hist["col_norms"] = np.asarray(tracked[q]["col_norms"])[rows]
                if not bm:
                    hist["d"] = np.asarray(tracked[q]["d"])[rows]
            spec = spectrum(res.x) if bm else spectrum(*res.x)
            run = CompletionRun(
                method=method, eta=eta, rho=rho, status=res.status, n_iter=res.n_iter,
                seconds=res.wall_time, iters=hist["iter"], residual=hist["residual"],
                spectrum=spec, rel_error=float("nan"),
                rank=numerical_rank(spec, p.rank_rtol, spectrum=True), x=res.x, history=hist)
            if problem.X_true is not None:
                run.rel_error = problem.relative_error(run.X)
            got[(method, rho, eta)] = run
    return [got[(m, rho, eta)] for rho, eta in cells for m in p.methods]


# ----------------------------------------------------------------------------- claim helpers
QUOTE_STEP = ("As expected, we observe that a smaller step-size slows down convergence. The right "
              "panel presents the singular value spectra after [10^6] iterations, revealing no "
              "clear correlation between step size and the spectral decay of the solutions. "
              "Notably, while the classical BM factorization finds an approximately low-rank "
              "solution, the proposed factorization converges to a solution of true rank three, "
              "matching the ground truth. (§2.2.1, Fig. 1 left)")
QUOTE_INIT = ("In the classical BM factorization, initializing closer to the origin leads to "
              "solutions with faster spectral decay, consistent with the observations of "
              "Gunasekar et al. (2017). In contrast, the proposed UDU factorization exhibits a "
              "pronounced implicit bias toward exactly low-rank solutions, independent of the "
              "choice of [ρ]. (§2.2.1, Fig. 1 right)")
QUOTE_BM_APPROX = ("Notably, while the classical BM factorization finds an approximately low-rank "
                   "solution, the proposed factorization converges to a solution of true rank three, "
                   "matching the ground truth. (§2.2.1, Fig. 1)")
QUOTE_NOISY = ("Exact rank-3 recovery is no longer possible in the noisy setting, but the UDU "
               "factorization still generates a truly low-rank solution, at a slightly higher "
               "rank. (§2.2.1) ... [UDU] exhibits implicit bias toward truly low-rank solutions, "
               "while the classical BM factorization yields approximately low-rank solutions, "
               "with the spectral decay influenced by initialization. (A.1, Fig. SM1)")

PAPER_ITERATIONS = 10 ** 6
"""Iterations per run in the paper's matrix-completion and phase-retrieval scripts (FOUND-code)."""

_TINY = 1e-300


def _rel(s) -> np.ndarray:
    s = np.asarray(s, dtype=float)
    return np.maximum(s / s[0], _TINY) if s.size and s[0] > 0 else np.full(s.shape, _TINY)


def rank_equals(spectra, k: int, rtol: float = 1e-6):
    r"""Every spectrum has numerical rank ``k`` at ``rtol`` (:math:`\sigma_k > \mathrm{rtol}\,
    \sigma_1 \ge \sigma_{k+1}`). Margin: the smaller log-distance (in decades) of
    :math:`\sigma_k/\sigma_1` and :math:`\sigma_{k+1}/\sigma_1` from the threshold, over the
    runs, divided by :math:`|\log_{10}\mathrm{rtol}|` -- a rank decided by a singular value
    sitting at the threshold has margin near 0."""
    from ...claims import qualitative

    ranks, margins = [], []
    lt = np.log10(rtol)
    for s in spectra:
        r = _rel(s)
        ranks.append(numerical_rank(np.asarray(s), rtol, spectrum=True))
        above = np.log10(r[k - 1]) - lt if r.size >= k else -abs(lt)
        below = lt - np.log10(r[k]) if r.size > k else abs(lt)
        margins.append(min(above, below) / abs(lt))
    m = float(min(margins))
    holds = all(x == k for x in ranks)
    if holds != (m > 0):  # a value exactly at the threshold
        m = 0.0
    return qualitative(holds, ours=ranks, margin=m,
                       relation=f"numerical rank (rtol {rtol:g}) = {k} in every run")


def rank_above(spectra, k: int, rtol: float = 1e-6):
    r"""Every spectrum has numerical rank above ``k`` (:math:`\sigma_{k+1} > \mathrm{rtol}\,
    \sigma_1`). Margin: smallest :math:`\log_{10}(\sigma_{k+1}/(\mathrm{rtol}\,\sigma_1))`
    over the runs, divided by :math:`|\log_{10}\mathrm{rtol}|`."""
    from ...claims import qualitative

    lt = np.log10(rtol)
    ranks = [numerical_rank(np.asarray(s), rtol, spectrum=True) for s in spectra]
    m = float(min((np.log10(_rel(s)[k]) - lt if np.asarray(s).size > k else -abs(lt))
                  for s in spectra) / abs(lt))
    holds = all(x > k for x in ranks)
    if holds != (m > 0):
        m = 0.0
    return qualitative(holds, ours=ranks, margin=m,
                       relation=f"numerical rank (rtol {rtol:g}) > {k} in every run")


def no_values_in_gap(spectra, hi: float = 1e-6, lo: float = 1e-12):
    r""""Truly" low rank: no relative singular value :math:`\sigma_i/\sigma_1` of any run lies
    in :math:`(\mathrm{lo}, \mathrm{hi}]` -- the numerical rank is the same at both thresholds,
    the rest of the spectrum is at rounding level. Margin: the smallest log-distance of a
    value from the band, over half the band's width in decades (negative inside the band)."""
    from ...claims import qualitative

    lh, ll = np.log10(hi), np.log10(lo)
    half = (lh - ll) / 2
    inside, margins = [], []
    for s in spectra:
        lr = np.log10(_rel(s))
        inside.append(int(np.sum((lr > ll) & (lr <= lh))))
        margins.append(float(np.min(np.maximum(lr - lh, ll - lr))) / half)
    m = float(min(margins))
    holds = all(c == 0 for c in inside)
    if holds != (m > 0):
        m = 0.0
    return qualitative(holds, ours=inside, margin=m,
                       relation=f"no σ_i/σ_1 in ({lo:g}, {hi:g}] (count per run)")


def log_monotone(values, *, increasing: bool):
    """Strictly monotone ``log10(values)`` (values spanning decades). Margin: the smallest step
    in that direction in decades, divided by one decade -- a fixed unit, so rescaling the values
    (e.g. a residual in other units) leaves the margin unchanged."""
    from ...claims import qualitative

    v = np.log10(np.maximum(np.asarray(values, dtype=float), _TINY))
    if v.size < 2:
        raise ValueError("log_monotone needs at least two values")
    if not np.all(np.isfinite(v)):
        return qualitative(False, ours=v.tolist(), margin=-1.0, relation="strictly monotone")
    steps = np.diff(v) if increasing else -np.diff(v)
    m = float(steps.min())
    return qualitative(m > 0, ours=v.tolist(), margin=m,
                       relation=("strictly increasing" if increasing else "strictly decreasing")
                       + " in log10 (margin: smallest step in decades)")


def sign_test(ours, other, *, better: str = "lower", alpha: float = 0.05,
              min_samples: int = 6, rtol: float = 1e-9):
    """:func:`bmlab.claims.compare` (paired one-sided sign test over independent instances),
    with the margin counted in samples: the number of pairs that would have to change to flip
    the verdict, divided by the number of untied pairs (as :func:`bmlab.claims.fraction`),
    instead of ``(α − p)/α``."""
    from ...claims import _binom_tail, compare, qualitative

    c = compare(ours, other, better=better, alpha=alpha, min_samples=min_samples, rtol=rtol)
    a = np.asarray(ours, dtype=float).ravel()
    b = np.asarray(other, dtype=float).ravel()
    diff = (b - a) if better == "lower" else (a - b)
    tie = np.abs(diff) <= rtol * np.maximum(np.abs(a), np.abs(b))
    n = int(np.sum(~tie & np.isfinite(diff)))
    k = int(np.sum((diff > 0) & ~tie))
    needed = next((j for j in range(n + 1) if _binom_tail(j, n) <= alpha), n + 1) if n else 1
    flips = (k - needed + 1) if k >= needed else -(needed - k)
    margin = flips / max(n, 1)
    assert (margin > 0) == c.holds
    return qualitative(c.holds, ours=c.ours, margin=margin, samples=n, min_samples=min_samples,
                       relation=c.relation + f", {needed} of {n} needed (margin: pairs to flip / n)")


def budget_line(max_iter: int, etas=(), paper: str | None = None) -> str:
    """One sentence: this run's iteration budget beside the paper's (:math:`10^6` unless
    ``paper`` says otherwise)."""
    txt = f"{max_iter:,} iterations per run (the paper: {paper or f'{PAPER_ITERATIONS:,}'})"
    if etas:
        txt += "; ηT = " + ", ".join(f"{e * max_iter:g}" for e in etas)
        if paper is None:
            txt += " (paper: " + ", ".join(f"{e * PAPER_ITERATIONS:g}" for e in etas) + ")"
    return txt


# ----------------------------------------------------------------------------- batched kernels
BACKENDS = ("numba", "numpy", "torch")
"""``numba``: the batched CPU kernels (:func:`bmlab.solvers.kernels.run_udu_batch`, compiled;
:func:`bmlab.solvers.kernels_pr.run_pr_batch`, batched numpy); ``numpy``: the reference loop
(:func:`~bmlab.solvers.udu.run_udu` / ``run_bm``), the oracle the chapters are tested against;
``torch``: the same batched iteration in torch (:mod:`bmlab.solvers.kernels_torch`) on the
chapter's ``device`` -- ``"cpu"``, or ``"cuda[:k]"``, the route to the paper's budgets where a
GPU is present (asked for explicitly, never chosen silently)."""


def check_backend(backend: str, device: str = "cpu") -> None:
    """Validate a chapter's ``(backend, device)`` pair, before any work: ``backend`` one of
    :data:`BACKENDS`; ``device`` other than ``"cpu"`` only with ``backend="torch"``; a CUDA
    device that torch does not see raises :class:`RuntimeError` (no fallback to the CPU)."""
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    if not isinstance(device, str):
        raise TypeError(f"device must be a string ('cpu', 'cuda', 'cuda:<k>'), got "
                        f"{type(device).__name__}")
    if backend == "torch":
        from ...solvers.kernels_torch import resolve_device
        resolve_device(device)
    elif device != "cpu":
        raise ValueError(f"device={device!r} needs backend='torch' (the {backend!r} backend "
                         "runs on the CPU only)")


def kernel_options(backend: str, device: str = "cpu") -> dict:
    """Keyword arguments that select ``backend``/``device`` in the batched kernels
    (:func:`~bmlab.solvers.kernels.run_udu_batch`, :func:`~bmlab.solvers.kernels_pr.run_pr_batch`):
    none for ``"numba"`` (their CPU default), ``backend="torch"`` and the device for
    ``"torch"``."""
    check_backend(backend, device)
    if backend == "numpy":
        raise ValueError("backend='numpy' is the reference loop, not a batched kernel")
    return {"backend": "torch", "device": device} if backend == "torch" else {}


def run_kernel_batch(kernel, problem, U0: np.ndarray, *, eta, alpha, bm: bool, max_iter: int,
                     record, stops=(), on_stop: Callable | None = None,
                     options: dict | None = None) -> list:
    r"""``B`` runs of a batched kernel (``kernel(problem, U0, d0, eta=, alpha=, max_iter=,
    record=, bm=)``) from ``U0`` (B × n × r), with per-run ``eta``/``alpha`` (arrays of B).

    The compiled kernels have no per-step Python hook; quantities of the iterate at given
    iterations (column norms, the recovered signal) are obtained by running the kernel in
    segments ending at ``stops`` and calling ``on_stop(k, q, x)`` for every run ``q`` still
    active at iteration ``k`` (``k = 0`` included; ``x = U`` or ``(U, d)``). The state of
    the iteration is the iterate alone, so the segmented run equals the single one (the
    test checks it). ``options`` go to every kernel call as they are (:func:`kernel_options`:
    the torch backend and its device). Returns one :class:`~bmlab.solvers.base.SolverResult`
    per run, whose history holds the iterations of ``record`` (plus 0 and the last)."""
    from ...solvers.base import SolverResult

    U0 = np.asarray(U0)
    B = U0.shape[0]
    eta = np.broadcast_to(np.asarray(eta, dtype=float), (B,)).copy()
    alpha = np.broadcast_to(np.asarray(alpha, dtype=float), (B,)).copy()
    record = np.asarray(record, dtype=np.int64)
    keep_rec = set(int(k) for k in record) | {0}
    ends = sorted({int(k) for k in stops if 0 < int(k) < max_iter} | {int(max_iter)})
    U = np.array(U0, copy=True)
    d = np.ones((B, U0.shape[2]))
    its = [[0] for _ in range(B)]
    res = [[np.nan] for _ in range(B)]
    done: dict[int, SolverResult] = {}
    if on_stop is not None:
        for q in range(B):
            on_stop(0, q, U[q].copy() if bm else (U[q].copy(), d[q].copy()))
    wall, k0 = 0.0, 0
    active = list(range(B))
    for k1 in ends:
        if not active:
            break
        rec = np.array([k - k0 for k in sorted(keep_rec) if k0 <= k <= k1], dtype=np.int64)
        out = kernel(problem, U[active], None if bm else d[active], eta=eta[active],
                     alpha=alpha[active], max_iter=k1 - k0, record=rec, bm=bm,
                     **(options or {}))
        wall += sum(o.wall_time for o in out)
        still = []
        for q, o in zip(active, out):
            h_it = np.asarray(o.history["iter"]) + k0
            h_res = np.asarray(o.history["residual"])
            if k0 == 0:
                res[q][0] = h_res[0]
            last = k0 + o.n_iter
            for k, v in zip(h_it[1:], h_res[1:]):
                if int(k) in keep_rec or int(k) == last:
                    its[q].append(int(k))
                    res[q].append(float(v))
            if bm:
                U[q] = o.x
            else:
                U[q], d[q] = o.x
            if o.status == "diverged" or k1 == max_iter:
                done[q] = SolverResult(
                    x=o.x, history={"iter": np.asarray(its[q]), "residual": np.asarray(res[q]),
                                    "grad_norm_final": o.history["grad_norm_final"]},
                    status=o.status, message=o.message, n_iter=last, fun=0.5 * res[q][-1],
                    wall_time=0.0)
                if on_stop is not None:
                    on_stop(last, q, o.x)
            else:
                still.append(q)
                if on_stop is not None:
                    on_stop(k1, q, U[q].copy() if bm else (U[q].copy(), d[q].copy()))
        active = still
        k0 = k1
    results = [done[q] for q in range(B)]
    for r in results:
        r.wall_time = wall / B
    return results


# ----------------------------------------------------------------------------- certificates
def certificate_row(labels: dict, problem, x, extra: dict | None = None, *,
                    tol: float = 1e-6) -> dict:
    r"""One row of a certificate table: ``labels``, then the dual certificate of the factorized
    point ``x`` (:func:`bmlab.sdp.certificate`: λ_min(S), ‖SX‖/‖X‖, scale, verdict), then
    ``extra``. The table builder of every implicit-bias chapter that certifies its runs."""
    from ...sdp import certificate

    c = certificate(problem, x, tol=tol)
    return {**labels, "λ_min(S)": c.lambda_min, "‖SX‖/‖X‖": c.residual, "scale": c.scale,
            "verdict": c.verdict, **(extra or {})}


def certificate_rows(problem, runs, *, sdp=None, objective: str = "trace",
                     fstar: float | None = None, tol: float = 1e-6) -> list[dict]:
    r"""One row per factorized run: the dual certificate of :func:`bmlab.sdp.certificate`
    (PSD least squares :math:`\min_{Z\succeq0}\tfrac12\|P_\Omega(Z)-b\|^2`: λ_min(S),
    ‖SX‖/‖X‖, verdict), the SDP objective gap and :math:`\|X - Z_{\rm sdp}\|_F/\|Z_{\rm
    sdp}\|_F`. ``objective``: ``"trace"`` (the gap is :math:`(\operatorname{tr}X -
    \operatorname{tr}Z_{\rm sdp})/\operatorname{tr}Z_{\rm sdp}`, trace minimisation) or
    ``"residual"`` (:math:`(\|\mathcal A(X)-b\|^2 - f^\star)/f^\star`, PSD least squares)."""
    from ...sdp.core import relative_error

    ok = sdp is not None and bool(sdp.ok)
    rows = []
    for run in runs:
        X = run.X
        if objective == "trace":
            gap = (float(np.trace(X)) - float(np.trace(sdp.Z))) / float(np.trace(sdp.Z)) \
                if ok else float("nan")
        else:
            gap = (float(run.residual[-1]) - fstar) / fstar if fstar else float("nan")
        rows.append(certificate_row(
            {"method": run.method, "η": run.eta, "ρ": run.rho}, problem, run.x,
            {"objective gap": gap,
             "‖X−Z_sdp‖/‖Z_sdp‖": relative_error(X, sdp.Z) if ok else float("nan")}, tol=tol))
    return rows


def sdp_status(sdp) -> str:
    """The SDP status as shown in tables: ``optimal (inaccurate)`` for ``optimal_inaccurate``
    (never as plain "optimal")."""
    return getattr(sdp, "status_label", None) or str(sdp.status).replace("_", " ")


def cert_margin(rows, tol: float = 1e-6) -> float:
    """Margin of a set of certificates (rows of :func:`certificate_rows`): the smallest
    ``log10(tol·scale / max(−λ_min, ‖SX‖/‖X‖))`` over the rows, in decades (> 0 iff every row
    passes both tests of the verdict "certified")."""
    worst = np.maximum(np.maximum(-np.asarray(rows["λ_min(S)"], dtype=float),
                                  np.asarray(rows["‖SX‖/‖X‖"], dtype=float)), 1e-300)
    return float(np.min(np.log10(tol * np.asarray(rows["scale"], dtype=float) / worst)))


def certified_claim(id: str, statement: str, rows: pd.DataFrame, *, expected: str, reason: str,
                    exploratory: bool = False):
    """The extension claim "every point of ``rows`` (rows of a certificate table, see
    :func:`certificate_row`) is certified": ours = the verdicts, margin = :func:`cert_margin`
    (decades from the nearer test), samples = the number of rows. The claim builder of every
    implicit-bias chapter that certifies its runs."""
    from ...claims import claim, qualitative

    return claim(id, statement,
                 qualitative(bool((rows.verdict == "certified").all()), ours=list(rows.verdict),
                             margin=cert_margin(rows), samples=len(rows), min_samples=1),
                 kind="extension", expected=expected, reason=reason, exploratory=exploratory)
