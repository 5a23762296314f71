r"""Batched UDU/BM projected gradient descent for phase retrieval with a dense sensing matrix
(real :class:`~bmlab.problems.phase_retrieval.GaussianPR`, or complex :math:`A`), issue 12.

With :math:`A \in \mathbb F^{n\times m}` (columns :math:`a_i`), :math:`Z = A^{\mathsf H}U`,
:math:`\mathcal A(U\,\mathrm{diag}(d)\,U^{\mathsf H}) = |Z|^2 d` and
:math:`G_sU = A\,(r \odot Z)`: the cost is two products with :math:`A` per iteration, which
BLAS does best. So this kernel is *batched numpy*, not numba: ``B`` runs (a step/radius grid,
seeds) are stacked as the columns of one :math:`n \times Br` matrix, so that each iteration is
two GEMMs for all runs together, into preallocated buffers (no allocation of the large arrays
inside the loop). Its oracle is :func:`bmlab.solvers.udu.run_udu` / ``run_bm`` with
``backend="numpy"`` (checked to :math:`10^{-12}` relative in ``tests/test_kernels_pr.py``).
"""
from __future__ import annotations

import time

import numpy as np

from ..validation import check_array, check_array_in, check_int, check_real
from .base import SolverResult, log_schedule

__all__ = ["run_pr_batch"]


def _per_run(name, v, B, **kw):
    v = np.asarray(v, dtype=float)
    if v.ndim == 0:
        v = np.full(B, float(v))
    return np.array(check_array_in(name, v, shape=(B,), **kw), dtype=np.float64, order="C")


def run_pr_batch(problem, U0, d0=None, *, eta, max_iter: int, alpha=1.0, record=None,
                 bm: bool = False, blowup: float = 1e100, backend: str = "numpy",
                 device=None) -> list[SolverResult]:
    r"""``B`` runs of update (3) (``bm=False``) or BM gradient descent (``bm=True``) on phase
    retrieval :math:`b_i = \langle a_ia_i^{\mathsf H}, X\rangle`, batched.

    Parameters
    ----------
    problem : object with ``A`` (n × m, real or complex) and ``b`` (m,)
        E.g. :class:`~bmlab.problems.phase_retrieval.GaussianPR`.
    U0 : array (n, r) or (B, n, r), real or complex
    d0 : array (r,) or (B, r), optional (default ones; ignored with ``bm=True``)
    eta, alpha : float or array (B,)
    max_iter : int
    record : array of int, optional
        Iterations at which :math:`\|\mathcal A(X_t) - b\|^2` is recorded (default
        :func:`~bmlab.solvers.base.log_schedule`); 0 and the last always.
    backend : {"numpy", "torch"}
        ``"numpy"`` (default): the batched numpy loop of this module. ``"torch"``: the same
        iteration in torch (:func:`bmlab.solvers.kernels_torch.pr_batch_torch`), on
        ``device``.
    device : str or torch.device, optional
        Only with ``backend="torch"``: ``"cpu"`` (default) or ``"cuda[:k]"``; CUDA where torch
        sees none raises :class:`RuntimeError` (no silent fallback).

    Returns
    -------
    list of SolverResult
        As :func:`~bmlab.solvers.udu.run_udu` (``x = (U, d)``, or ``U`` with ``bm=True``).
    """
    if backend not in ("numpy", "torch"):
        raise ValueError(f'backend must be "numpy" or "torch", got {backend!r}')
    if backend == "numpy" and device is not None and str(device) != "cpu":
        raise ValueError(f'device={device!r} needs backend="torch"')
    if backend == "torch":
        from .kernels_torch import resolve_device
        device = resolve_device(device)
    A = getattr(problem, "A", None)
    if A is None or not hasattr(problem, "b"):
        raise TypeError(f"the phase-retrieval kernel needs a problem with a dense sensing matrix "
                        f"A (n × m) and data b, got {type(problem).__name__}")
    A = check_array("problem.A", A, ndim=2, dtype=None)
    n, m = A.shape
    b = check_array("problem.b", problem.b, shape=(m,))
    U0 = np.asarray(U0)
    if U0.ndim == 2:
        U0 = U0[None]
    U0 = check_array("U0", U0, ndim=3, dtype=None)
    B, nU, r = U0.shape
    if nU != n:
        raise ValueError(f"U0 must have n = {n} rows (the size of the problem), got {nU}")
    max_iter = check_int("max_iter", max_iter, lo=0)
    eta = _per_run("eta", eta, B, lo=0, lo_open=True)
    alpha = _per_run("alpha", alpha, B, lo=0, lo_open=True)
    blowup = check_real("blowup", blowup, lo=0, lo_open=True, allow_inf=True)
    dtype = np.result_type(A, U0, np.float64)
    if d0 is None or bm:
        d = np.ones((B, r))
    else:
        d = np.asarray(d0, dtype=float)
        d = np.broadcast_to(d, (B, r)) if d.ndim == 1 else d
        d = np.array(check_array_in("d0", d, lo=0, shape=(B, r)), dtype=float)
    record = log_schedule(max_iter) if record is None else \
        check_array_in("record", record, lo=0, ndim=1, dtype=None, min_size=0)
    rec = set(int(k) for k in record) | {0}
    if backend == "torch":
        from .kernels import _collect_results, _record_slots
        from .kernels_torch import pr_batch_torch

        keep, slot = _record_slots(record, max_iter)
        Ub = np.array(U0, dtype=dtype, order="C")
        res_out = np.full((B, keep.size), np.nan)
        out_int = np.zeros((B, 2), dtype=np.int64)
        out_real = np.zeros((B, 3))
        t0 = time.perf_counter()
        pr_batch_torch(A, b, Ub, d, eta, alpha, max_iter, slot, blowup, bool(bm), res_out,
                       out_int, out_real, device=device)
        return _collect_results(Ub, d, keep, slot, res_out, out_int, out_real, max_iter, bm,
                                (time.perf_counter() - t0) / B)

    AH = np.ascontiguousarray(A.conj().T)                  # m × n
    U = np.ascontiguousarray(np.moveaxis(U0, 0, 1), dtype=dtype)   # n × B × r
    Z = np.empty((m, B, r), dtype=dtype)
    W = np.empty((m, B, r), dtype=dtype)
    GU = np.empty((n, B, r), dtype=dtype)
    Zabs = np.empty((m, B, r))
    res = np.empty((m, B))
    U2, Z2, W2, GU2 = (x.reshape(x.shape[0], B * r) for x in (U, Z, W, GU))
    # every n × B × r temporary is preallocated: above the allocator's mmap threshold a fresh
    # array costs page faults on every iteration (more than the elementwise work itself)
    gU = np.empty_like(GU)
    Un = np.empty_like(U)
    cplx = np.iscomplexobj(Z)

    def evaluate():
        """res, GU = G_s U, gd, and per-run ||res||², ||grad||² at the current (U, d)."""
        np.matmul(AH, U2, out=Z2)
        if cplx:
            np.abs(Z, out=Zabs)
            np.square(Zabs, out=Zabs)
        else:
            np.square(Z, out=Zabs)                     # |z|² = z², exactly, for real z
        np.einsum("mbr,br->mb", Zabs, d, out=res)
        np.subtract(res, b[:, None], out=res)
        np.multiply(res[:, :, None], Z, out=W)
        np.matmul(A, W2, out=GU2)
        gd = np.einsum("nbr,nbr->br", U.conj(), GU).real
        np.multiply(GU, 2.0, out=gU)
        if not bm:
            np.multiply(gU, d[None], out=gU)
        g2 = np.einsum("nbr,nbr->b", gU.conj(), gU).real
        if not bm:
            g2 = g2 + np.einsum("br,br->b", gd, gd)
        return np.einsum("mb,mb->b", res.conj(), res).real, gU, gd, g2

    hist_it = [[] for _ in range(B)]
    hist_res = [[] for _ in range(B)]
    active = np.ones(B, dtype=bool)
    n_iter = np.full(B, max_iter)
    status = ["max_iter"] * B
    message = [f"reached max_iter={max_iter}"] * B
    final_x = [None] * B
    final_res = np.zeros(B)
    gfin = np.zeros(B)

    def finish(q, k, st, msg, x, rr, g):
        active[q] = False
        n_iter[q], status[q], message[q] = k, st, msg
        final_x[q], final_res[q], gfin[q] = x, rr, g
        U[:, q] = 0.0          # the lane of a finished run no longer takes part
        d[q] = 0.0

    t0 = time.perf_counter()
    with np.errstate(over="ignore", invalid="ignore"):
        rr, gU, gd, g2 = evaluate()
        g0 = np.sqrt(g2)
        for q in range(B):
            hist_it[q].append(0)
            hist_res[q].append(rr[q])
        for k in range(1, max_iter + 1):
            if not active.any():
                break
            np.multiply(gU, eta[None, :, None], out=Un)
            np.subtract(U, Un, out=Un)                 # Un = U - η ∇U
            dn = d if bm else d - eta[:, None] * gd
            s2 = np.einsum("nbr,nbr->b", Un.conj(), Un).real
            if not bm:
                nrm = np.sqrt(s2)
                shrink = nrm > alpha
                if shrink.any():                       # the other lanes are scaled by 1.0 (exact)
                    f = np.where(shrink, alpha / np.where(nrm > 0, nrm, 1.0), 1.0)
                    np.multiply(Un, f[None, :, None], out=Un)
                dn = np.maximum(dn, 0.0)
                s2 = np.einsum("nbr,nbr->b", Un.conj(), Un).real + np.einsum("br,br->b", dn, dn)
            # a NaN/Inf entry makes s2 non-finite: only then is the entry-wise test needed
            fin = np.ones(B, dtype=bool)
            if not np.isfinite(s2).all():
                fin = np.isfinite(Un).all(axis=(0, 2)) & np.isfinite(dn).all(axis=1)
            bad = active & (~fin | (np.sqrt(s2) > blowup))
            for q in np.flatnonzero(bad):
                x = U[:, q].copy() if bm else (U[:, q].copy(), d[q].copy())
                finish(q, k - 1, "diverged",
                       f"iterate overflowed or became non-finite at iteration {k}", x, rr[q], g0[q])
            keep = active
            if keep.all():
                np.copyto(U, Un)
            else:
                U[:, keep] = Un[:, keep]
            if not bm:
                d[keep] = dn[keep]
            rr, gU, gd, g2 = evaluate()
            gn = np.sqrt(g2)
            for q in np.flatnonzero(active & ~np.isfinite(gn)):
                x = U[:, q].copy() if bm else (U[:, q].copy(), d[q].copy())
                finish(q, k, "diverged", f"gradient became non-finite at iteration {k}", x,
                       rr[q], g0[q])
            if k in rec:
                for q in np.flatnonzero(active):
                    hist_it[q].append(k)
                    hist_res[q].append(rr[q])
        for q in np.flatnonzero(active):
            x = U[:, q].copy() if bm else (U[:, q].copy(), d[q].copy())
            final_x[q], final_res[q], gfin[q] = x, rr[q], np.sqrt(g2[q])
    wall = (time.perf_counter() - t0) / B
    out = []
    for q in range(B):
        it, rs = hist_it[q], hist_res[q]
        if it[-1] != n_iter[q]:
            it.append(int(n_iter[q]))
            rs.append(final_res[q])
        hist = {"iter": np.asarray(it), "residual": np.asarray(rs),
                "grad_norm_final": np.asarray([gfin[q]])}
        out.append(SolverResult(x=final_x[q], history=hist, status=status[q], message=message[q],
                                n_iter=int(n_iter[q]), fun=0.5 * float(rs[-1]), wall_time=wall))
    return out
