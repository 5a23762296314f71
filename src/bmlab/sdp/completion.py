r"""Convex baselines for PSD matrix completion (paper 001, §2.2.1 and A.1).

* noiseless: :math:`\min \mathrm{tr}\,X` s.t. :math:`X_\Omega = b`, :math:`X \succeq 0`
  (nuclear-norm minimisation restricted to the PSD cone, Candès & Recht);
* noisy: :math:`\min_{X \succeq 0} \|X_\Omega - b\|_2^2`, whose value is the baseline
  :math:`f^\star` of the noisy residual plots (FOUND-code ``TestMe_simple.m``, which uses CVX).

The sampling mask is not symmetric, so :math:`X_\Omega` of a symmetric :math:`X` constrains
:math:`X_{ij}` through :math:`(i,j)` *and* :math:`(j,i)` when both are sampled.

The PSD least-squares problem is also the convex problem :func:`bmlab.sdp.certificate`
certifies a factorized completion against (one eigenvalue problem instead of a solve).

Default solver: Clarabel, by measurement
----------------------------------------
``benchmarks/bench_sdp.py`` (2026-12-01) on the chapters' instances (rank 3, m = 9n, seed 0,
``default_rng([0, 1])``; PSD least squares with noise 0.01), SCS with the chapters' settings
(eps 1e-9 for the trace, 1e-10 for least squares, at most 2·10⁵ iterations). CPU seconds of
one process on the shared 2-core machine (one BLAS thread; wall times were 3–6× longer under
the load of the day):

====  ===================  ========================  =============================================
n     baseline             Clarabel                  SCS
====  ===================  ========================  =============================================
30    trace minimisation   0.6 s, optimal            0.0 s, optimal (300 iterations)
30    PSD least squares    0.2 s, optimal            28.6 s, **optimal (inaccurate)** at the 2·10⁵ cap
50    trace minimisation   0.7 s, optimal            0.1 s, optimal (250 iterations)
50    PSD least squares    1.1 s, optimal            0.1 s, optimal (100 iterations)
100   trace minimisation   36.8 s, optimal           25.5 s, optimal (18 350 iterations)
100   PSD least squares    28.4 s, optimal           0.4 s, optimal (275 iterations)
150   trace minimisation   **337.6 s**, optimal      24.1 s, optimal (7 275 iterations)
150   PSD least squares    **401.4 s**, optimal      **> 210 s**, stopped unfinished
====  ===================  ========================  =============================================

Clarabel returns ``optimal`` on every instance, and its least-squares answers pass the
certificate at ``tol=1e-6`` (:math:`\lambda_{\min}(S)/\mathrm{scale} \ge -2\cdot10^{-10}`).
On these instances SCS was the faster solver from n = 50 on, when it converged. But SCS
runs into its iteration cap unpredictably: at n = 30 here
(also with two BLAS threads and with ``OPENBLAS_CORETYPE=Prescott``), at n = 30 and n = 50 on
the instances of ``default_rng(0)`` (41 s and 59 s), and at n = 100 in issue 14's run of the
chapters (trace minimisation 281 s, PSD least squares 249 s, both ``optimal (inaccurate)``,
:math:`f^\star` 7e-6 to 8e-5 above Clarabel's). A capped SCS answer is inaccurate and its
value depends on the rounding of the machine, so both baselines default to Clarabel (the
certificate is what scales beyond: see :mod:`bmlab.sdp.certificate`).

Where each stops being practical (more than 60 s): Clarabel between n = 100 (≤ 37 s) and
n = 150 (338 s and 401 s); SCS whenever it hits its cap (28.6 s at n = 30 already, 249–281 s
at n = 100 in issue 14, more than 210 s at n = 150 here), otherwise not before n = 150 (24 s
for the trace there). Beyond n = 100 the chapters report the certificate alone. At
n ≥ 100 the trace-minimisation optimum itself misses :math:`M^*` (relative Frobenius error
2.05e-2 at n = 100, 3.24e-2 at n = 150, both solvers agreeing to 7 digits of the objective).
"""
from __future__ import annotations

import numpy as np

from ..problems.completion import MatrixCompletion
from .core import SDPResult, lifted_problem, solve_sdp

__all__ = ["trace_min_completion", "psd_least_squares"]


def _check(problem):
    if not isinstance(problem, MatrixCompletion):
        raise TypeError(f"problem must be a MatrixCompletion, got {type(problem).__name__}")


def trace_min_completion(problem, *, solver: str = "CLARABEL", **opts) -> SDPResult:
    r""":math:`\min \mathrm{tr}\,X` s.t. :math:`\mathcal A(X) = b`, :math:`X \succeq 0`
    (default solver Clarabel, measured: see the module docstring). At n = 100, m = 9n its
    optimum misses :math:`M^*` by :math:`2.05\cdot10^{-2}` (relative Frobenius, seed 0, both
    solvers): the relaxation is not exact there."""
    problem = lifted_problem(problem)
    _check(problem)
    import cvxpy as cp

    X = cp.Variable((problem.n, problem.n), PSD=True)
    cons = [X[problem.rows, problem.cols] == problem.b]
    prob = cp.Problem(cp.Minimize(cp.trace(X)), cons)
    return solve_sdp(prob, X, solver=solver, **opts)


def psd_least_squares(problem, *, solver: str = "CLARABEL", **opts) -> SDPResult:
    r""":math:`\min_{X \succeq 0} \|\mathcal A(X) - b\|_2^2` (objective without the ½, as the
    plotted residual; default solver Clarabel, measured: see the module docstring). Entries
    outside :math:`\Omega` are not determined (an unobserved diagonal entry can grow without
    changing the objective), so only the objective and the residual of the answer are
    meaningful, not its distance to :math:`M^*`."""
    problem = lifted_problem(problem)
    _check(problem)
    import cvxpy as cp

    X = cp.Variable((problem.n, problem.n), PSD=True)
    prob = cp.Problem(cp.Minimize(cp.sum_squares(X[problem.rows, problem.cols] - problem.b)))
    out = solve_sdp(prob, X, solver=solver, **opts)
    if out.Z is not None:
        # report the residual of the returned matrix itself (SCS objectives are inexact)
        r = out.Z[problem.rows, problem.cols] - problem.b
        out.extra["residual_sq"] = float(r @ r)
    return out
