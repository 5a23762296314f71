r"""Compiled (numba) kernels for the hot loops of :mod:`bmlab.solvers` (issue 12).

Each kernel runs the *same iteration* as a numpy reference path of this package — the oracle,
checked against it to :math:`10^{-12}` relative in ``tests/test_kernels*.py`` — with the whole
loop compiled, no allocation inside it, and several runs (a step/radius grid, seeds) in one
call:

* :func:`run_udu_batch` — update (3) of paper 001 (simultaneous projected gradient on
  :math:`X = U\,\mathrm{diag}(d)\,U^\top`, :math:`\|U\|_F\le\alpha`, :math:`d\ge0`) and plain BM
  gradient descent, for :class:`~bmlab.problems.completion.MatrixCompletion`. Oracle:
  :func:`bmlab.solvers.udu.run_udu` / :func:`~bmlab.solvers.udu.run_bm` with
  ``backend="numpy"``. :math:`O(mr)` at every :math:`n`: a pass over the samples by rows
  (CSR) computes the residuals :math:`r_t = (UDU^\top)_{i_tj_t} - b_t` and the rows
  :math:`\tfrac12\sum_t r_t U_{j_t}` of :math:`G_sU`, a pass by columns (a precomputed CSC
  permutation) adds :math:`\tfrac12\sum_t r_t U_{i_t}`; each writes a row of :math:`G_sU`
  once, four samples at a time (vectorised r-inner loops), and the gradient, its norm, the
  step and the projection are one further pass over :math:`(U, G_sU)`. The kernel runs on
  a copy of the factors padded to a multiple of 8 columns (zero columns, which stay exactly
  zero) whose rows start on 64-byte boundaries, so no 512-bit load straddles two cache
  lines. ``backend="torch"``
  runs the same iteration in torch (CPU or CUDA): :mod:`bmlab.solvers.kernels_torch`.

Floating-point summation order differs from numpy's (a fused loop, reassociated dot products),
so the iterates agree to rounding (about :math:`10^{-15}` relative per step), not bit for bit.
NaN/Inf semantics are kept (no ``fastmath`` "no-NaN" assumption): divergence is detected at the
same iteration as in the reference.
"""
from __future__ import annotations

import math
import time

import numpy as np
import numba as nb
from numba.core import cpu, registry

from ..validation import check_array, check_array_in, check_int, check_real
from .base import SolverResult, log_schedule

__all__ = ["run_udu_batch", "completion_arrays"]

# reassociation (vectorised dot products) and FMA contraction only: NaN/Inf stay meaningful
_FM = {"reassoc", "contract", "nsz", "arcp"}
_JIT = dict(cache=True, nogil=True, fastmath=_FM)


class _NoAliasOptions(cpu.CPUTargetOptions):
    """numba's CPU options plus ``noalias`` on every array argument (the flag numba sets for
    its own parallel kernels, not exposed by ``njit``): LLVM may then vectorise the scatter
    ``GU[i] += h U[j]``, which it otherwise leaves scalar for fear that ``GU`` and ``U``
    overlap. Every kernel below is called with distinct, non-overlapping arrays."""

    def finalize(self, flags, options):
        super().finalize(flags, options)
        flags.noalias = True


class _NoAliasTarget(registry.CPUTarget):
    """numba's CPU target (its typing and lowering contexts) with :class:`_NoAliasOptions`."""

    options = _NoAliasOptions

    @property
    def target_context(self):
        return registry.cpu_target.target_context

    @property
    def typing_context(self):
        return registry.cpu_target.typing_context


class _NoAliasDispatcher(registry.CPUDispatcher):
    targetdescr = _NoAliasTarget("cpu")


def _njit(fn):
    """``numba.njit(cache=True, nogil=True, fastmath=_FM)`` with no-alias array arguments."""
    d = _NoAliasDispatcher(fn, targetoptions=dict(nopython=True, nogil=True, fastmath=_FM))
    d.enable_caching()
    return d


# ------------------------------------------------------------------------------------------
# matrix completion: fused forward + symmetric adjoint
# ------------------------------------------------------------------------------------------

@_njit
def _mc_eval(rptr, cols, b, cptr, crows, cperm, U, d, a, hs, GU, bm):
    """Residual norm² and G_s U (into GU) at (U, d). Two passes over the samples, each writing
    a row of GU once: by rows (CSR: the residuals h_t = (UDUᵀ)_{i_t j_t} - b_t and
    GU[i] = ½ Σ_t h_t U[j_t]) and by columns (CSC: GU[j] += ½ Σ_t h_t U[i_t]). The row pass
    takes four samples at a time: their four dot products share one load of the row
    a = U[i] D, and their four axpys into GU[i] follow at once, while the four rows U[j_t]
    are still in L1, with one load/store of GU[i]; the column pass likewise. The inner loops
    vectorise with about 1.25 loads per multiply-add. ``a`` (r,) and ``hs`` (m,) are
    workspace (``hs`` carries ½ h_t from the row pass to the column pass)."""
    n, r = U.shape
    rr = 0.0
    for i in range(n):
        lo = rptr[i]
        hi = rptr[i + 1]
        ui = U[i]
        if bm:
            for k in range(r):
                a[k] = ui[k]
        else:
            for k in range(r):
                a[k] = ui[k] * d[k]
        g = GU[i]
        for k in range(r):
            g[k] = 0.0
        t = lo
        while t < hi:
            if t + 4 <= hi:                      # four samples: c3 is the last of the four
                c0 = U[cols[t]]
                c1 = U[cols[t + 1]]
                c2 = U[cols[t + 2]]
                c3 = U[cols[t + 3]]
                s0 = 0.0
                s1 = 0.0
                s2 = 0.0
                s3 = 0.0
                for k in range(r):
                    ak = a[k]
                    s0 += ak * c0[k]
                    s1 += ak * c1[k]
                    s2 += ak * c2[k]
                    s3 += ak * c3[k]
                s0 -= b[t]
                s1 -= b[t + 1]
                s2 -= b[t + 2]
                s3 -= b[t + 3]
                rr += s0 * s0
                rr += s1 * s1
                rr += s2 * s2
                rr += s3 * s3
                h0 = 0.5 * s0
                h1 = 0.5 * s1
                h2 = 0.5 * s2
                h3 = 0.5 * s3
                hs[t] = h0
                hs[t + 1] = h1
                hs[t + 2] = h2
                hs[t + 3] = h3
                for k in range(r):
                    g[k] += h0 * c0[k] + h1 * c1[k] + h2 * c2[k] + h3 * c3[k]
                t += 4
            else:                                # the last one to three samples of the row
                c0 = U[cols[t]]
                s0 = 0.0
                for k in range(r):
                    s0 += a[k] * c0[k]
                s0 -= b[t]
                rr += s0 * s0
                h0 = 0.5 * s0
                hs[t] = h0
                for k in range(r):
                    g[k] += h0 * c0[k]
                t += 1
    for j in range(n):
        lo = cptr[j]
        hi = cptr[j + 1]
        g = GU[j]
        t = lo
        while t + 4 <= hi:
            c0 = U[crows[t]]
            c1 = U[crows[t + 1]]
            c2 = U[crows[t + 2]]
            c3 = U[crows[t + 3]]
            h0 = hs[cperm[t]]
            h1 = hs[cperm[t + 1]]
            h2 = hs[cperm[t + 2]]
            h3 = hs[cperm[t + 3]]
            for k in range(r):
                g[k] += h0 * c0[k] + h1 * c1[k] + h2 * c2[k] + h3 * c3[k]
            t += 4
        while t < hi:
            c0 = U[crows[t]]
            h0 = hs[cperm[t]]
            for k in range(r):
                g[k] += h0 * c0[k]
            t += 1
    return rr


@_njit
def _grad_step(U, d, GU, gd, W, w, eta, alpha, bm, out):
    """One pass over (U, G_sU): the squared gradient norm at (U, d),
    ``out[0] = ||2 G_s U D||² + ||diag(UᵀG_sU)||²``, and the projected step
    (W, w) = Π(U - η∇U, d - η∇d) with ``out[1] = ||W||² + ||w||²`` (NaN if non-finite)."""
    n, r = U.shape
    g2 = 0.0
    s2 = 0.0
    if bm:
        for i in range(n):
            for k in range(r):
                gu = 2.0 * GU[i, k]
                g2 += gu * gu
                v = U[i, k] - eta * gu
                W[i, k] = v
                s2 += v * v
        out[0] = g2
        out[1] = s2
        return
    for k in range(r):
        gd[k] = 0.0
    for i in range(n):
        for k in range(r):
            gu = GU[i, k]
            u = U[i, k]
            gd[k] += u * gu
            gv = 2.0 * gu * d[k]
            g2 += gv * gv
            v = u - eta * gv
            W[i, k] = v
            s2 += v * v
    for k in range(r):
        g2 += gd[k] * gd[k]
    out[0] = g2
    nrm = math.sqrt(s2)
    if nrm > alpha:
        f = alpha / nrm
        s2 = 0.0
        for i in range(n):
            for k in range(r):
                v = W[i, k] * f
                W[i, k] = v
                s2 += v * v
    for k in range(r):
        v = d[k] - eta * gd[k]
        if v < 0.0:
            v = 0.0
        w[k] = v
        s2 += v * v
    out[1] = s2


@_njit
def _finite(W, w):
    n, r = W.shape
    for i in range(n):
        for k in range(r):
            if not math.isfinite(W[i, k]):
                return False
    for k in range(w.size):
        if not math.isfinite(w[k]):
            return False
    return True


@_njit
def _mc_batch(rptr, cols, b, cptr, crows, cperm, prob, U, d, eta, alpha, max_iter, slot,
              blowup, bm, res_out, out_int, out_real, GU, W, a):
    """Run B projected-GD runs; run q uses the sample index of problem prob[q]
    (rows rptr[prob[q]], columns cptr[prob[q]]: global offsets into cols/b and crows/cperm).

    U (B,n,r) and d (B,r) hold the starting points and are overwritten by the returned
    iterates. res_out[q, slot[k]] = ||res_k||² at recorded k. out_int[q] = (n_iter, status)
    with status 0 max_iter, 1 diverged (iterate), 2 diverged (gradient). out_real[q] =
    (||res||² last evaluation, gnorm at 0, gnorm last). GU, W (n,r) and a (r,) are workspace
    (W takes turns with U[q] as the iterate): :func:`run_udu_batch` passes them 64-byte
    aligned, as U (numba's own arrays are 32-byte aligned)."""
    B, n, r = U.shape
    gd = np.empty(r)
    w = np.empty(r)
    hs = np.empty(b.size)
    gs = np.empty(2)
    for q in range(B):
        rp = rptr[prob[q]]
        cp = cptr[prob[q]]
        Uq = U[q]
        dq = d[q]
        home = True
        rr = _mc_eval(rp, cols, b, cp, crows, cperm, Uq, dq, a, hs, GU, bm)
        _grad_step(Uq, dq, GU, gd, W, w, eta[q], alpha[q], bm, gs)   # gradient at 0, step 1
        gnorm = math.sqrt(gs[0])
        res_out[q, slot[0]] = rr
        out_real[q, 1] = gnorm
        status = 0
        k = 0
        for it in range(1, max_iter + 1):
            k = it
            s2 = gs[1]
            # a NaN/Inf entry makes s2 non-finite; only then is the entry-wise test needed
            if (not math.isfinite(s2) and not _finite(W, w)) or math.sqrt(s2) > blowup:
                status = 1
                k = it - 1
                break
            Uq, W = W, Uq           # the new iterate; the old one becomes workspace
            home = not home
            if not bm:
                for kk in range(r):
                    dq[kk] = w[kk]
            rr = _mc_eval(rp, cols, b, cp, crows, cperm, Uq, dq, a, hs, GU, bm)
            # the gradient at the new iterate and (unless this was the last) the next step
            _grad_step(Uq, dq, GU, gd, W, w, eta[q], alpha[q], bm, gs)
            gnorm = math.sqrt(gs[0])
            if not math.isfinite(gnorm):
                status = 2
                break
            if slot[it] >= 0:
                res_out[q, slot[it]] = rr
        if not home:             # the iterate lives in the workspace: move it home
            W[:, :] = Uq
            Uq, W = W, Uq        # W is the workspace again for the next run
        out_int[q, 0] = k
        out_int[q, 1] = status
        out_real[q, 0] = rr
        out_real[q, 2] = gnorm


def _check_completion(p):
    if not all(hasattr(p, a) for a in ("rows", "cols", "b", "n")):
        raise TypeError(f"the numba kernel covers MatrixCompletion problems (rows, cols, b), "
                        f"got {type(p).__name__}")


def completion_arrays(problems):
    """Sorted (row-major) sample arrays of one or several
    :class:`~bmlab.problems.completion.MatrixCompletion` instances, concatenated:
    ``(rows, cols, b, pptr)`` with problem ``p`` at ``pptr[p]:pptr[p+1]``."""
    rows, cols, bs, pptr = [], [], [], [0]
    for p in problems:
        _check_completion(p)
        order = np.lexsort((p.cols, p.rows))
        rows.append(p.rows[order])
        cols.append(p.cols[order])
        bs.append(np.asarray(p.b, dtype=float)[order])
        pptr.append(pptr[-1] + p.rows.size)
    return (np.ascontiguousarray(np.concatenate(rows), dtype=np.int64),
            np.ascontiguousarray(np.concatenate(cols), dtype=np.int64),
            np.ascontiguousarray(np.concatenate(bs), dtype=np.float64),
            np.asarray(pptr, dtype=np.int64))


def _completion_index(problems):
    """The sample index the kernel runs on: :func:`completion_arrays` (samples sorted by row)
    plus, per problem ``p``, row pointers ``rptr[p]`` (CSR: the samples of row ``i`` are
    ``rptr[p, i]:rptr[p, i+1]``) and the column order (CSC: ``cperm[cptr[p, j]:cptr[p, j+1]]``
    are the samples of column ``j``, ``crows`` their rows), all as global offsets."""
    rows, cols, b, pptr = completion_arrays(problems)
    n = problems[0].n
    P = len(problems)
    rptr = np.empty((P, n + 1), dtype=np.int64)
    cptr = np.empty((P, n + 1), dtype=np.int64)
    cperm = np.empty_like(rows)
    for p in range(P):
        lo, hi = pptr[p], pptr[p + 1]
        rw, cl = rows[lo:hi], cols[lo:hi]
        if rw.size and (min(rw.min(), cl.min()) < 0 or max(rw.max(), cl.max()) >= n):
            raise ValueError(f"problem {p}: sample indices must lie in [0, {n})")
        rptr[p, 0] = cptr[p, 0] = lo
        np.cumsum(np.bincount(rw, minlength=n), out=rptr[p, 1:])
        np.cumsum(np.bincount(cl, minlength=n), out=cptr[p, 1:])
        rptr[p, 1:] += lo
        cptr[p, 1:] += lo
        cperm[lo:hi] = lo + np.lexsort((rw, cl))
    crows = np.ascontiguousarray(rows[cperm])
    return rptr, cols, b, cptr, crows, cperm


def _aligned_zeros(shape):
    """Zeros of ``shape`` (float64, C order) starting on a 64-byte boundary. With a last axis
    that is a multiple of 8 every row starts on a cache line, so the kernel's 512-bit loads
    never straddle two lines (a straddling load costs two; measured: 8-byte-offset rows make
    the evaluation 10–30 % slower)."""
    size = int(np.prod(shape))
    buf = np.zeros(size + 8)
    off = (-(buf.ctypes.data // 8)) % 8
    return buf[off:off + size].reshape(shape)


def _per_run(name, v, B, **kw):
    v = np.asarray(v, dtype=float)
    if v.ndim == 0:
        v = np.full(B, float(v))
    v = check_array_in(name, v, shape=(B,), **kw)
    return np.array(v, dtype=np.float64, order="C")   # a copy: the kernels assume no aliasing


def run_udu_batch(problems, U0, d0=None, *, eta, max_iter: int, alpha=1.0, record=None,
                  bm: bool = False, blowup: float = 1e100, backend: str = "numba",
                  device=None, _torch_method=None) -> list[SolverResult]:
    r"""Several runs of update (3) (``bm=False``) or of BM gradient descent (``bm=True``) on
    matrix completion, compiled, in one call.

    Parameters
    ----------
    problems : MatrixCompletion or sequence of B of them
        One shared instance, or one per run (seeds); all of the same size ``n``.
    U0 : array (n, r) or (B, n, r)
        Starting factors (float64).
    d0 : array (r,) or (B, r), optional
        Starting diagonals (default ones, as :func:`~bmlab.solvers.udu.run_udu`); ignored
        with ``bm=True``.
    eta, alpha : float or array (B,)
        Step and radius of the Frobenius ball, per run (the :math:`(\eta, \rho)` grid).
    max_iter : int
    record : array of int, optional
        Iterations at which the residual :math:`\|\mathcal A(X_t) - b\|^2` is recorded
        (default :func:`~bmlab.solvers.base.log_schedule`); 0 and the last iteration always.
    backend : {"numba", "torch"}
        ``"numba"`` (default): the compiled CPU kernel of this module. ``"torch"``: the same
        iteration batched in torch (:func:`bmlab.solvers.kernels_torch.mc_batch_torch`: index
        gather and ``index_add_`` for the sparse forward and adjoint, float64), on ``device``.
    device : str or torch.device, optional
        Only with ``backend="torch"``: ``"cpu"`` (default) or ``"cuda"``/``"cuda:k"``. Asking
        for CUDA where torch sees none raises :class:`RuntimeError` (never a silent fallback
        to the CPU).

    Returns
    -------
    list of SolverResult
        One per run, with the fields of :func:`~bmlab.solvers.udu.run_udu` (``x = (U, d)``;
        ``x = U`` with ``bm=True``), history ``iter``, ``residual``, ``grad_norm_final``.
    """
    if backend not in ("numba", "torch"):
        raise ValueError(f'backend must be "numba" or "torch", got {backend!r}')
    if backend == "numba" and device is not None and str(device) != "cpu":
        raise ValueError(f'device={device!r} needs backend="torch" (the numba kernel runs on '
                         'the CPU)')
    if backend == "torch":
        from .kernels_torch import resolve_device
        device = resolve_device(device)        # a clear error before any work
    U0 = np.asarray(U0)
    if U0.ndim == 2:
        U0 = U0[None]
    U0 = check_array("U0", U0, ndim=3)
    if U0.dtype.kind != "f":
        raise TypeError(f"the completion kernel is real (float64); got U0 of dtype {U0.dtype}")
    B, n, r = U0.shape
    max_iter = check_int("max_iter", max_iter, lo=0)
    probs = [problems] if not isinstance(problems, (list, tuple)) else list(problems)
    if len(probs) not in (1, B):
        raise ValueError(f"give one problem or one per run (B = {B}), got {len(probs)}")
    for p in probs:
        _check_completion(p)
        if p.n != n:
            raise ValueError(f"U0 must have n = {p.n} rows (the size of the problem), got {n}")
    prob = np.zeros(B, dtype=np.int64) if len(probs) == 1 else np.arange(B, dtype=np.int64)
    eta = _per_run("eta", eta, B, lo=0, lo_open=True)
    alpha = _per_run("alpha", alpha, B, lo=0, lo_open=True)
    blowup = check_real("blowup", blowup, lo=0, lo_open=True, allow_inf=True)
    if d0 is None:
        d = np.ones((B, r))
    else:
        d = np.asarray(d0, dtype=float)
        d = np.broadcast_to(d, (B, r)) if d.ndim == 1 else d
        d = check_array_in("d0", d, lo=0, shape=(B, r))
    U = np.array(U0, dtype=np.float64, order="C")
    d = np.array(d, dtype=np.float64, order="C")
    keep, slot = _record_slots(record, max_iter)
    res_out = np.full((B, keep.size), np.nan)
    out_int = np.zeros((B, 2), dtype=np.int64)
    out_real = np.zeros((B, 3))
    if backend == "torch":
        from .kernels_torch import mc_batch_torch
        rows, cols, b, pptr = completion_arrays(probs)
        t0 = time.perf_counter()
        mc_batch_torch(rows, cols, b, pptr, prob, U, d, eta, alpha, max_iter, slot, blowup,
                       bool(bm), res_out, out_int, out_real, device=device,
                       method=_torch_method)
    else:
        rptr, cols, b, cptr, crows, cperm = _completion_index(probs)
        t0 = time.perf_counter()
        # r padded to a multiple of 8 with zero columns, rows on 64-byte boundaries: the zero
        # columns stay exactly zero (zero gradient, d = 0 there) and add exact zeros only
        rp = -(-r // 8) * 8
        Up, dp = _aligned_zeros((B, n, rp)), _aligned_zeros((B, rp))
        Up[:, :, :r] = U
        dp[:, :r] = d
        with np.errstate(over="ignore", invalid="ignore"):
            _mc_batch(rptr, cols, b, cptr, crows, cperm, prob, Up, dp, eta, alpha, max_iter,
                      slot, blowup, bool(bm), res_out, out_int, out_real,
                      _aligned_zeros((n, rp)), _aligned_zeros((n, rp)), _aligned_zeros(rp))
        U[...] = Up[:, :, :r]
        d[...] = dp[:, :r]
    wall = (time.perf_counter() - t0) / B
    return _collect_results(U, d, keep, slot, res_out, out_int, out_real, max_iter, bm, wall)


def _record_slots(record, max_iter):
    """``(keep, slot)``: the recorded iterations (0 always) and ``slot[k]``, the column of
    iteration ``k`` in the residual record (-1 where not recorded)."""
    record = log_schedule(max_iter) if record is None else \
        check_array_in("record", record, lo=0, ndim=1, dtype=None, min_size=0)
    keep = np.unique(np.r_[0, np.asarray(record, dtype=np.int64)])
    keep = keep[keep <= max_iter]
    slot = np.full(max_iter + 1, -1, dtype=np.int64)
    slot[keep] = np.arange(keep.size)
    return keep, slot


def _collect_results(U, d, keep, slot, res_out, out_int, out_real, max_iter, bm, wall):
    """The :class:`SolverResult` of every run from a batch kernel's outputs (shared by the
    numba and torch kernels, completion and phase retrieval): ``out_int[q] = (n_iter,
    status)`` (0 max_iter, 1 iterate overflow, 2 non-finite gradient), ``out_real[q] =
    (||res||² at the last evaluation, gradient norm at 0, gradient norm last)``."""
    B = U.shape[0]
    out = []
    for q in range(B):
        k, st = int(out_int[q, 0]), int(out_int[q, 1])
        it = keep[keep <= k] if st != 2 else keep[(keep <= k) & ((keep < k) | (k == 0))]
        resid = list(res_out[q, slot[it]])
        it = list(it)
        if not it or it[-1] != k:
            it.append(k)
            resid.append(out_real[q, 0])
        if st == 0:
            status, message, gfin = "max_iter", f"reached max_iter={max_iter}", out_real[q, 2]
        else:
            status, gfin = "diverged", out_real[q, 1]
            message = (f"iterate overflowed or became non-finite at iteration {k + 1}" if st == 1
                       else f"gradient became non-finite at iteration {k}")
        x = U[q].copy() if bm else (U[q].copy(), d[q].copy())
        hist = {"iter": np.asarray(it), "residual": np.asarray(resid),
                "grad_norm_final": np.asarray([gfin])}
        out.append(SolverResult(x=x, history=hist, status=status, message=message, n_iter=k,
                                fun=0.5 * float(resid[-1]), wall_time=wall))
    return out
