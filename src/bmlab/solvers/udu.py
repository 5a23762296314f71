r"""Gradient descent on the factored problems of paper 001: Burer–Monteiro (1),
:math:`U_{t+1} = U_t - \eta\,2G_sU_t`, and the simultaneous projected gradient (3) on
:math:`X = UDU^\top` (2). The gradients and the projection are
:func:`bmlab.factorizations.udu.bm_grad`, :func:`~bmlab.factorizations.udu.udu_grad` and
:func:`~bmlab.factorizations.udu.project_udu`; the loop is
:func:`bmlab.solvers.gd.gradient_descent`. (Moved here from :mod:`bmlab.factorizations.udu`.)
"""
from __future__ import annotations

import time
from typing import Callable

import numpy as np

from ..factorizations.udu import bm_grad, project_udu, udu_grad
from ..problems.base import MEASUREMENT_PROTOCOL as _PROTOCOL
from ..validation import check_array, check_array_in, check_attrs, check_callable, check_int, check_real
from .base import SolverResult, log_schedule
from .gd import gradient_descent


__all__ = ["run_bm", "run_udu"]


def _check_run(problem, U0, eta, max_iter, record, trackers, callback):
    """Validate the arguments shared by :func:`run_bm` and :func:`run_udu` (once, before the loop)."""
    check_attrs("problem", problem, _PROTOCOL)
    U0 = check_array("U0", U0, ndim=2, dtype=None)
    n = getattr(problem, "n", None)
    if n is not None and U0.shape[0] != n:
        raise ValueError(f"U0 must have n = {n} rows (the size of the problem), got shape {U0.shape}")
    check_real("eta", eta, lo=0, lo_open=True)
    max_iter = check_int("max_iter", max_iter, lo=0)
    if record is not None:
        check_array_in("record", record, lo=0, ndim=1, dtype=None, min_size=0)
    if trackers is not None:
        if not isinstance(trackers, dict):
            raise TypeError(f"trackers must be a dict of name -> callable, got {type(trackers).__name__}")
        for key, fn in trackers.items():
            check_callable(f"trackers[{key!r}]", fn)
    if callback is not None:
        check_callable("callback", callback)
    return U0, max_iter


def _run(grad_xy, x0, *, step, max_iter, project, record, trackers, callback):
    """Shared driver: the GD loop with residual/trackers recorded at the iterations ``record``."""
    record = set(int(k) for k in record) | {0}
    cache = {}
    hist: dict[str, list] = {"iter": [], "residual": []}
    for name in trackers:
        hist[name] = []

    def grad(x):
        res, g = grad_xy(x)
        cache["res"] = res
        return g

    def log(k, x):
        r = cache["res"]
        hist["iter"].append(k)
        hist["residual"].append(float(np.vdot(r, r).real))
        for name, fn in trackers.items():
            hist[name].append(np.asarray(fn(x)))

    def cb(k, x):
        if k in record:
            log(k, x)
        if callback is not None:
            callback(k, x)

    first = {"done": False}

    def grad0(x):
        g = grad(x)
        if not first["done"]:  # the starting point
            first["done"] = True
            log(0, x)
        return g

    t0 = time.perf_counter()
    out = gradient_descent(grad0, x0, step=step, max_iter=max_iter, project=project,
                           callback=cb, record_every=max(int(max_iter), 1))
    if not hist["iter"] or hist["iter"][-1] != out.n_iter:
        log(out.n_iter, out.x)
    history = {k: np.asarray(v) for k, v in hist.items()}
    history["grad_norm_final"] = np.asarray([out.history["grad_norm"][-1]])
    # fun: f = 1/2 ||A(X) - b||^2 at the returned iterate (the last logged residual is there)
    return SolverResult(x=out.x, history=history, status=out.status, message=out.message,
                        n_iter=out.n_iter, fun=0.5 * float(hist["residual"][-1]),
                        wall_time=time.perf_counter() - t0)


def run_bm(problem, U0: np.ndarray, *, eta: float, max_iter: int,
           record: np.ndarray | None = None,
           trackers: dict[str, Callable] | None = None,
           callback: Callable | None = None, backend: str = "numpy") -> SolverResult:
    r"""Gradient descent on problem (1), :math:`U_{t+1} = U_t - \eta\,2G_sU_t`.

    Returns a :class:`~bmlab.solvers.base.SolverResult` whose ``x`` is :math:`U`, ``fun`` is
    :math:`f(UU^\top) = \tfrac12\|\mathcal A(UU^\top) - b\|^2` and whose ``history`` holds, at the iterations ``record`` (default: log-spaced), ``iter``,
    ``residual`` :math:`\|\mathcal A(X_t) - b\|^2` and one entry per ``trackers[name](U)``.
    ``backend="numba"`` runs the compiled kernel :func:`bmlab.solvers.kernels.run_udu_batch`
    (matrix completion, no trackers or callback); ``"numpy"`` (default) is the reference.
    """
    _check_run(problem, U0, eta, max_iter, record, trackers, callback)
    if _backend(backend, trackers, callback) == "numba":
        from .kernels import run_udu_batch

        return run_udu_batch(problem, U0, eta=eta, max_iter=max_iter, record=record, bm=True)[0]
    record = log_schedule(max_iter) if record is None else record
    return _run(lambda U: bm_grad(problem, U), U0, step=eta, max_iter=max_iter,
                project=None, record=record, trackers=trackers or {}, callback=callback)


def run_udu(problem, U0: np.ndarray, d0: np.ndarray | None = None, *, eta: float,
            max_iter: int, alpha: float = 1.0, record: np.ndarray | None = None,
            trackers: dict[str, Callable] | None = None,
            callback: Callable | None = None, backend: str = "numpy") -> SolverResult:
    r"""Simultaneous projected gradient (3) on problem (2) from :math:`(U_0, D_0)`
    (default :math:`D_0 = I`, FOUND-code), with :math:`\|U\|_F \le` ``alpha``.

    ``x`` of the result is the tuple ``(U, d)``; trackers receive ``(U, d)``.
    ``backend="numba"`` runs the compiled kernel :func:`bmlab.solvers.kernels.run_udu_batch`
    (matrix completion, no trackers or callback); ``"numpy"`` (default) is the reference.
    """
    alpha = check_real("alpha", alpha, lo=0, lo_open=True)
    _check_run(problem, U0, eta, max_iter, record, trackers, callback)
    r = np.shape(U0)[1]
    d0 = np.ones(r) if d0 is None else check_array_in("d0", d0, lo=0, shape=(r,))
    if _backend(backend, trackers, callback) == "numba":
        from .kernels import run_udu_batch

        return run_udu_batch(problem, U0, d0, eta=eta, max_iter=max_iter, alpha=alpha,
                             record=record)[0]

    def grad_xy(x):
        res, gU, gd = udu_grad(problem, x[0], x[1])
        return res, (gU, gd)

    record = log_schedule(max_iter) if record is None else record
    return _run(grad_xy, (U0, d0), step=eta, max_iter=max_iter,
                project=lambda x: project_udu(x[0], x[1], alpha), record=record,
                trackers=trackers or {}, callback=callback)


#: Implementations of :func:`run_bm` / :func:`run_udu`: the numpy reference, the compiled kernel.
BACKENDS = ("numpy", "numba")


def _backend(backend, trackers, callback) -> str:
    """Validate ``backend``; the compiled kernel has no per-step Python hooks."""
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    if backend == "numba" and (trackers or callback is not None):
        raise ValueError('backend="numba" runs without trackers or callback (no per-step '
                         'Python hook); use backend="numpy" for them')
    return backend
