"""Gradient descent, projected gradient descent and perturbed gradient descent.

One loop shared by every part of the book. The iterate ``x`` is an array or a tuple of
arrays (block variables such as ``(U, V)``); ``grad(x)`` returns the same structure. The first
argument is a :class:`bmlab.problems.base.Problem` (its ``grad``, ``value`` and, when it is
``constrained``, ``project`` are used) or, in the older form, the gradient callable itself.
Chapters that track extra quantities along a run (block norms, singular values ...) pass a
``callback(k, x)`` instead of writing a second loop.
"""
from __future__ import annotations

import math
import time
from typing import Any, Callable

import numpy as np

from ..problems.base import is_problem
from ..validation import check_array, check_callable, check_int, check_real, check_rng
from .base import SolverResult, record_rule

Iterate = Any  # np.ndarray or tuple of np.ndarray


def _map2(fn, a, b):
    if isinstance(a, tuple):
        return tuple(fn(x, y) for x, y in zip(a, b))
    return fn(a, b)


def _norm(g) -> float:
    if isinstance(g, tuple):
        return float(np.sqrt(sum(np.vdot(p, p).real for p in g)))
    return float(np.linalg.norm(g))


def _finite(x) -> bool:
    if isinstance(x, tuple):
        return all(np.all(np.isfinite(p)) for p in x)
    return bool(np.all(np.isfinite(x)))


def _copy(x):
    return tuple(np.array(p, dtype=np.result_type(p, np.float64)) for p in x) \
        if isinstance(x, tuple) else np.array(x, dtype=np.result_type(x, np.float64))


def gradient_descent(
    grad: Callable[[Iterate], Iterate] | Any,
    x0: Iterate,
    *,
    step: float | Callable[[int], float],
    max_iter: int = 1000,
    tol: float | None = None,
    objective: Callable[[Iterate], float] | None = None,
    project: Callable[[Iterate], Iterate] | None = None,
    perturbation: tuple[float, float] | None = None,
    rng: np.random.Generator | None = None,
    stop: Callable[[int, Iterate, float], bool] | None = None,
    callback: Callable[[int, Iterate], None] | None = None,
    record_every: int = 1,
    blowup: float = 1e100,
    record=None,
) -> SolverResult:
    r"""Run :math:`x_{k+1} = P(x_k - \eta_k (\nabla F(x_k) + \xi_k))`.

    Parameters
    ----------
    grad : Problem or callable
        A :class:`~bmlab.problems.base.Problem` (then ``objective`` defaults to its ``value``
        and ``project`` to its ``project`` when it is ``constrained``), or ``grad(x)``
        returning :math:`\nabla F(x)` with the structure of ``x``.
    x0 : array or tuple of arrays
        Starting point (copied, promoted to float64 unless complex).
    step : float or callable
        Constant step :math:`\eta > 0`, or ``step(k)`` giving :math:`\eta_k`.
    max_iter : int
        Maximum number of iterations.
    tol : float, optional
        Stop with status ``converged`` when :math:`\|\nabla F(x_k)\| <` ``tol`` (the
        perturbed variant ignores this test: it perturbs instead).
    objective : callable, optional
        ``objective(x)`` recorded in ``history["objective"]``.
    project : callable, optional
        Projection :math:`P` applied after every step (projected GD).
    perturbation : (threshold, std), optional
        Perturbed GD (spec 003 §5): when :math:`\|\nabla F(x_k)\| <` ``threshold``, Gaussian
        noise of entry-wise std ``std`` is added to the gradient before the step. Needs ``rng``.
    rng : numpy.random.Generator, optional
        Source of the perturbations.
    stop : callable, optional
        ``stop(k, x, grad_norm)`` returning True ends the run with status ``converged``
        (e.g. "objective below δ").
    callback : callable, optional
        ``callback(k, x)`` after every iteration (progress bars, trackers).
    record_every : int
        Record the history every ``record_every`` iterations (and at the last one).
    record : int or array of int, optional
        The ``record=`` schedule shared by every solver (:func:`bmlab.solvers.base.record_rule`):
        an int is ``record_every``, an array lists the iterations to record. Give one of
        ``record`` and ``record_every``.
    blowup : float
        An iterate with norm above this, or a non-finite one, ends the run with status
        ``diverged`` (recorded, never raised).

    Returns
    -------
    SolverResult
        ``x`` the last finite iterate; ``history`` has ``iter``, ``grad_norm`` and, when
        ``objective`` is given, ``objective``; ``fun`` is ``objective(x)`` (NaN without an
        objective).
    """
    if not callable(grad) and is_problem(grad):
        problem = grad
        grad = problem.grad
        if objective is None:
            objective = problem.value
        if project is None and getattr(problem, "constrained", False):
            project = problem.project
    check_callable("grad", grad)
    if not callable(step):
        eta = check_real("step", step, lo=0, lo_open=True)
        step_fn = lambda k: eta  # noqa: E731
    else:
        def step_fn(k, _step=step):
            eta = _step(k)
            # one scalar comparison per iteration: a schedule that returns 0, a negative or a
            # non-finite step is a caller error, not a divergence
            if not 0.0 < eta < math.inf:
                raise ValueError(f"step({k}) must return a number in (0, inf), got {eta!r}")
            return eta
    check_int("max_iter", max_iter, lo=0)
    if tol is not None:
        check_real("tol", tol, lo=0)
    for name, fn in (("objective", objective), ("project", project), ("stop", stop),
                     ("callback", callback)):
        if fn is not None:
            check_callable(name, fn)
    if perturbation is not None:
        if rng is None:
            raise ValueError("perturbation needs an rng (numpy.random.Generator)")
        if not (isinstance(perturbation, (tuple, list)) and len(perturbation) == 2):
            raise TypeError(f"perturbation must be a pair (threshold, std), got {perturbation!r}")
        check_real("perturbation threshold", perturbation[0], lo=0)
        check_real("perturbation std", perturbation[1], lo=0)
    check_rng("rng", rng, optional=True)
    check_int("record_every", record_every, lo=1)
    if record is not None and record_every != 1:
        raise ValueError("give one of record and record_every, not both")
    recorded = record_rule(record_every if record is None else record)
    check_real("blowup", blowup, lo=0, lo_open=True, allow_inf=True)
    if isinstance(x0, tuple):
        for i, p in enumerate(x0):
            check_array(f"x0[{i}]", p, dtype=None)
    else:
        check_array("x0", x0, dtype=None)

    x = _copy(x0)
    hist: dict[str, list] = {"iter": [], "grad_norm": []}
    if objective is not None:
        hist["objective"] = []

    def record(k, gnorm):
        hist["iter"].append(k)
        hist["grad_norm"].append(gnorm)
        if objective is not None:
            hist["objective"].append(float(objective(x)))

    status, message = "max_iter", f"reached max_iter={max_iter}"
    k = 0
    t0 = time.perf_counter()
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        g = grad(x)
        gnorm = _norm(g)
        record(0, gnorm)
        for k in range(1, int(max_iter) + 1):
            if perturbation is None and tol is not None and gnorm < tol:
                status, message, k = "converged", f"gradient norm {gnorm:.3e} < tol={tol:g}", k - 1
                break
            if perturbation is not None and gnorm < perturbation[0]:
                g = _map2(lambda gi, xi: gi + perturbation[1] * rng.standard_normal(gi.shape), g, x)
            eta = step_fn(k - 1)
            x_new = _map2(lambda xi, gi: xi - eta * gi, x, g)
            if project is not None:
                x_new = project(x_new)
            if not _finite(x_new) or _norm(x_new) > blowup:
                status, message = "diverged", f"iterate overflowed or became non-finite at iteration {k}"
                k -= 1
                break
            x = x_new
            g = grad(x)
            gnorm = _norm(g)
            if not np.isfinite(gnorm):
                status, message = "diverged", f"gradient became non-finite at iteration {k}"
                break
            if callback is not None:
                callback(k, x)
            done = stop is not None and stop(k, x, gnorm)
            if recorded(k) or k == max_iter or done:
                record(k, gnorm)
            if done:
                status, message = "converged", f"stopping rule met at iteration {k}"
                break
    if hist["iter"][-1] != k and status != "diverged":
        record(k, gnorm)
    fun = math.nan
    if objective is not None:
        if hist["iter"][-1] == k and status != "diverged":
            fun = float(hist["objective"][-1])       # recorded at the returned iterate
        else:
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                fun = float(objective(x))
    return SolverResult(x=x, history=hist, status=status, message=message, n_iter=k, fun=fun,
                        wall_time=time.perf_counter() - t0)
