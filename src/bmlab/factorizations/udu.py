r"""Burer–Monteiro :math:`X = UU^\top` and the constrained :math:`X = UDU^\top` of paper 001.

For a least-squares loss :math:`f(X) = \tfrac12\|\mathcal A(X) - b\|^2` with gradient
:math:`G = \nabla f(X) = \mathcal A^*(\mathcal A(X) - b)` and :math:`G_s = \tfrac12(G + G^{\mathsf H})`:

* problem (1), BM: :math:`\min_U f(UU^\top)`, gradient :math:`\nabla_U = 2 G_s U`
  (FOUND-code ``(AtXb + AtXb')*U``; spec 001 §1.2);
* problem (2), UDU: :math:`\min f(UDU^\top)` s.t. :math:`\|U\|_F \le \alpha`,
  :math:`D = \mathrm{diag}(d) \ge 0`, gradients :math:`\nabla_U = 2 G_s U D`,
  :math:`\nabla_{d} = \mathrm{Re}\,\mathrm{diag}(U^{\mathsf H} G U)` (spec 001 §1.5, DERIVED and
  checked by finite differences in ``tests/test_udu.py``);
* update (3): simultaneous projected gradient, :math:`U \leftarrow \Pi_\alpha(U - \eta\nabla_U)`,
  :math:`d \leftarrow \max(d - \eta\nabla_d, 0)` (FOUND-code). :math:`D` is stored as the vector
  of its diagonal: the projection :math:`\Pi_+` of A.4 sets the off-diagonal entries to zero,
  so the full-matrix and diagonal iterations coincide.

Complex (Hermitian) problems such as Fourier ptychography use the same formulas with the
Wirtinger convention (spec 001 §3.2, DERIVED).

A *problem* provides ``b``, ``forward_factored(U, d)`` :math:`= \mathcal A(U\mathrm{diag}(d)U^{\mathsf H})`
(``d=None`` for BM) and ``sym_adjoint_apply(res, U)`` :math:`= G_s U` with
:math:`G = \mathcal A^*(res)` (see :mod:`bmlab.problems.completion`,
:mod:`bmlab.problems.phase_retrieval`). Both runs go through the shared loop
:func:`bmlab.solvers.gd.gradient_descent`.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from ..solvers.base import SolverResult
from ..solvers.gd import gradient_descent
from ..validation import (check_array, check_array_in, check_attrs, check_bool, check_callable,
                          check_int, check_real, check_rng)

_PROTOCOL = ("b", "forward_factored", "sym_adjoint_apply")

__all__ = [
    "scaled_init", "bm_grad", "udu_grad", "project_udu", "udu_matrix", "udu_factor",
    "spectrum", "log_schedule", "run_bm", "run_udu",
]


def scaled_init(n: int, r: int, rho: float, rng: np.random.Generator, *,
                complex_: bool = False) -> np.ndarray:
    r""":math:`U_0` with iid standard (complex) Gaussian entries rescaled to
    :math:`\|U_0\|_F = \rho` (FOUND-code ``U0/norm(U0,'fro')*xi``)."""
    n, r = check_int("n", n, lo=1), check_int("r", r, lo=1)
    rho = check_real("rho", rho, lo=0, lo_open=True)
    check_rng("rng", rng)
    check_bool("complex_", complex_)
    U = rng.standard_normal((n, r))
    if complex_:
        U = U + 1j * rng.standard_normal((n, r))
    return U * (rho / np.linalg.norm(U))


def bm_grad(problem, U: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    r"""Residual :math:`\mathcal A(UU^\top) - b` and :math:`\nabla_U f(UU^\top) = 2G_sU`."""
    res = problem.forward_factored(U) - problem.b
    return res, 2.0 * problem.sym_adjoint_apply(res, U)


def udu_grad(problem, U: np.ndarray, d: np.ndarray):
    r"""Residual, :math:`\nabla_U = 2G_sUD` and :math:`\nabla_d = \mathrm{Re\,diag}(U^{\mathsf H}G_sU)`."""
    res = problem.forward_factored(U, d) - problem.b
    GU = problem.sym_adjoint_apply(res, U)
    gd = np.einsum("ij,ij->j", U.conj(), GU).real
    return res, 2.0 * GU * d, gd


def project_udu(U: np.ndarray, d: np.ndarray, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    r""":math:`(\Pi_\alpha(U), \Pi_+(d))`: rescale :math:`U` into the Frobenius ball of radius
    :math:`\alpha`, clip :math:`d` at 0 (update (3)). Unchecked: it runs inside the loop
    (:func:`run_udu` validates ``alpha`` once)."""
    nrm = np.linalg.norm(U)
    if nrm > alpha:
        U = U * (alpha / nrm)
    return U, np.maximum(d, 0.0)


def udu_matrix(U: np.ndarray, d: np.ndarray | None = None) -> np.ndarray:
    r""":math:`U\,\mathrm{diag}(d)\,U^{\mathsf H}` (``d=None``: :math:`UU^{\mathsf H}`)."""
    U, d = _check_factor(U, d)
    Ud = U if d is None else U * d
    return Ud @ U.conj().T


def udu_factor(U: np.ndarray, d: np.ndarray | None = None) -> np.ndarray:
    r""":math:`\tilde U = U D^{1/2}` with :math:`\tilde U\tilde U^{\mathsf H} = UDU^{\mathsf H}`."""
    U, d = _check_factor(U, d)
    return U if d is None else U * np.sqrt(np.maximum(d, 0.0))


def spectrum(U: np.ndarray, d: np.ndarray | None = None) -> np.ndarray:
    r"""Singular values of :math:`X = UDU^{\mathsf H}` (PSD), computed as the squared singular
    values of :math:`UD^{1/2}` (accurate far below the :math:`10^{-16}` floor of a dense SVD)."""
    s = np.linalg.svd(udu_factor(U, d), compute_uv=False)
    return s ** 2


def log_schedule(max_iter: int, points: int = 200) -> np.ndarray:
    """Iterations ``0 .. max_iter`` spaced logarithmically (unique integers, 0 included)."""
    max_iter = check_int("max_iter", max_iter)
    points = check_int("points", points, lo=1)
    if max_iter < 1:
        return np.array([0])
    it = np.unique(np.round(np.logspace(0, np.log10(max_iter), points)).astype(int))
    return np.r_[0, it[it <= max_iter]]


def _check_factor(U, d, name="U", d_name="d"):
    """A finite 2-D (real or complex) factor and an optional finite diagonal of its width."""
    U = check_array(name, U, ndim=2, dtype=None)
    if U.dtype.kind not in "fc":
        U = U.astype(float)
    if d is not None:
        d = check_array(d_name, d, shape=(U.shape[1],))
    return U, d


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

    out = gradient_descent(grad0, x0, step=step, max_iter=max_iter, project=project,
                           callback=cb, record_every=max(int(max_iter), 1))
    if not hist["iter"] or hist["iter"][-1] != out.n_iter:
        log(out.n_iter, out.x)
    history = {k: np.asarray(v) for k, v in hist.items()}
    history["grad_norm_final"] = np.asarray([out.history["grad_norm"][-1]])
    return SolverResult(x=out.x, history=history, status=out.status, message=out.message,
                        n_iter=out.n_iter)


def run_bm(problem, U0: np.ndarray, *, eta: float, max_iter: int,
           record: np.ndarray | None = None,
           trackers: dict[str, Callable] | None = None,
           callback: Callable | None = None) -> SolverResult:
    r"""Gradient descent on problem (1), :math:`U_{t+1} = U_t - \eta\,2G_sU_t`.

    Returns a :class:`~bmlab.solvers.base.SolverResult` whose ``x`` is :math:`U` and whose
    ``history`` holds, at the iterations ``record`` (default: log-spaced), ``iter``,
    ``residual`` :math:`\|\mathcal A(X_t) - b\|^2` and one entry per ``trackers[name](U)``.
    """
    _check_run(problem, U0, eta, max_iter, record, trackers, callback)
    record = log_schedule(max_iter) if record is None else record
    return _run(lambda U: bm_grad(problem, U), U0, step=eta, max_iter=max_iter,
                project=None, record=record, trackers=trackers or {}, callback=callback)


def run_udu(problem, U0: np.ndarray, d0: np.ndarray | None = None, *, eta: float,
            max_iter: int, alpha: float = 1.0, record: np.ndarray | None = None,
            trackers: dict[str, Callable] | None = None,
            callback: Callable | None = None) -> SolverResult:
    r"""Simultaneous projected gradient (3) on problem (2) from :math:`(U_0, D_0)`
    (default :math:`D_0 = I`, FOUND-code), with :math:`\|U\|_F \le` ``alpha``.

    ``x`` of the result is the tuple ``(U, d)``; trackers receive ``(U, d)``.
    """
    alpha = check_real("alpha", alpha, lo=0, lo_open=True)
    _check_run(problem, U0, eta, max_iter, record, trackers, callback)
    r = np.shape(U0)[1]
    d0 = np.ones(r) if d0 is None else check_array_in("d0", d0, lo=0, shape=(r,))

    def grad_xy(x):
        res, gU, gd = udu_grad(problem, x[0], x[1])
        return res, (gU, gd)

    record = log_schedule(max_iter) if record is None else record
    return _run(grad_xy, (U0, d0), step=eta, max_iter=max_iter,
                project=lambda x: project_udu(x[0], x[1], alpha), record=record,
                trackers=trackers or {}, callback=callback)
