r"""Compiled (numba) batched gradient descent on the asymmetric factorization
:math:`F(\mathbf U, \mathbf V) = \tfrac12\|\mathbf U\mathbf V^\top - \boldsymbol\Sigma\|_F^2
+ \mu\|\mathbf U^\top\mathbf U - \mathbf V^\top\mathbf V\|_F^2` (paper 002, Ye & Du; issue 12).

:func:`run_asym_gd_batch` runs ``B`` independent GD runs (seeds: one target
:math:`\boldsymbol\Sigma` and one start per run; or a step grid) in one compiled call, with the
iteration, stopping rule, divergence test and history of its oracle — the shared loop
:func:`bmlab.solvers.gd.gradient_descent` on
:class:`~bmlab.problems.factorization.AsymmetricFactorization` with the relative-loss objective
and the stopping rule :math:`F - f^\star \le \delta\,f(0, 0)` (the driver ``run_gd`` of the
asymmetric-GD chapters) — checked to :math:`10^{-12}` relative in ``tests/test_kernels_gd.py``.

Trackers without a Python callback per step: the iterates are *snapshotted* in the loop at a
schedule (``snapshot=``, e.g. every iteration up to the stage times, then log-spaced), and
:func:`evaluate_trackers` evaluates any ``fn(U, V) -> array`` (the stage quantities
:math:`\sigma_d(A)`, :math:`\|P\|` ...) on all snapshots afterwards; the loss, the gradient norm
and the balance :math:`\|\mathbf U^\top\mathbf U - \mathbf V^\top\mathbf V\|_F` are computed
in the loop at every snapshot.
"""
from __future__ import annotations

import math
import time

import numpy as np

from ..validation import check_array, check_array_in, check_int, check_real
from .base import SolverResult
from .kernels import _njit

__all__ = ["run_asym_gd_batch", "evaluate_trackers", "SNAPSHOT_FIELDS"]

#: The quantities computed in the loop at every snapshot (``result.history["snap_<name>"]``).
SNAPSHOT_FIELDS = ("loss", "grad_norm", "balance")


@_njit
def _eval(S, U, Vt, R, gU, gVt, D, mu):
    """R = UVᵀ - Σ, the gradient (gU, gVt = ∇_Vᵀ) and, when mu > 0, D = UᵀU - VᵀV; returns
    (plain loss, ||grad||²). V is held transposed (d, n) so that the inner loops run over n."""
    m, n = S.shape
    d = U.shape[1]
    loss2 = 0.0
    for k in range(d):
        for j in range(n):
            gVt[k, j] = 0.0
    for i in range(m):          # one pass per row: R[i] stays in L1 for both gradients
        for j in range(n):
            R[i, j] = -S[i, j]
        for k in range(d):
            u = U[i, k]
            for j in range(n):
                R[i, j] += u * Vt[k, j]
        for j in range(n):
            loss2 += R[i, j] * R[i, j]
        for k in range(d):
            s = 0.0
            for j in range(n):
                s += R[i, j] * Vt[k, j]
            gU[i, k] = s
            u = U[i, k]
            for j in range(n):
                gVt[k, j] += u * R[i, j]
    if mu != 0.0:
        _imbalance(U, Vt, D)
        c = 4.0 * mu
        for i in range(m):
            for k in range(d):
                s = 0.0
                for l in range(d):
                    s += U[i, l] * D[l, k]
                gU[i, k] += c * s
        for k in range(d):
            for j in range(n):
                s = 0.0
                for l in range(d):
                    s += Vt[l, j] * D[l, k]
                gVt[k, j] -= c * s
    g2 = 0.0
    for i in range(m):
        for k in range(d):
            g2 += gU[i, k] * gU[i, k]
    for k in range(d):
        for j in range(n):
            g2 += gVt[k, j] * gVt[k, j]
    return 0.5 * loss2, g2


@_njit
def _imbalance(U, Vt, D):
    """D = UᵀU - VᵀV (V held transposed); returns ||D||_F."""
    d = U.shape[1]
    for a in range(d):
        for c in range(d):
            s = 0.0
            for i in range(U.shape[0]):
                s += U[i, a] * U[i, c]
            t = 0.0
            for j in range(Vt.shape[1]):
                t += Vt[a, j] * Vt[c, j]
            D[a, c] = s - t
    b2 = 0.0
    for a in range(d):
        for c in range(d):
            b2 += D[a, c] * D[a, c]
    return math.sqrt(b2)


@_njit
def _asym_batch(S, U, V, eta, mu, scale, fstar, thr, use_stop, max_iter, every, blowup, snap_slot,
                h_iter, h_obj, h_gn, n_rec, snaps, snap_vals, out_int, out_real):
    B, m, n = S.shape
    d = U.shape[2]          # V is (B, d, n): held transposed
    R = np.empty((m, n))
    gU = np.empty((m, d))
    gV = np.empty((d, n))
    D = np.empty((d, d))
    Un = np.empty((m, d))
    Vn = np.empty((d, n))
    for q in range(B):
        Sq, Uq, Vq = S[q], U[q], V[q]
        loss, g2 = _eval(Sq, Uq, Vq, R, gU, gV, D, mu[q])
        gn = math.sqrt(g2)
        cnt = 0
        h_iter[q, 0] = 0
        h_obj[q, 0] = loss / scale[q]
        h_gn[q, 0] = gn
        cnt = 1
        if snap_slot[0] >= 0:
            _snap(q, snap_slot[0], Uq, Vq, D, loss, gn, snaps, snap_vals)
        status = 0      # 0 max_iter, 1 diverged (iterate), 2 diverged (gradient), 3 converged
        k = 0
        last_rec = 0
        for it in range(1, max_iter + 1):
            k = it
            e = eta[q]
            s2 = 0.0
            fin = True
            for i in range(m):
                for a in range(d):
                    v = Uq[i, a] - e * gU[i, a]
                    Un[i, a] = v
                    s2 += v * v
            for a in range(d):
                for j in range(n):
                    v = Vq[a, j] - e * gV[a, j]
                    Vn[a, j] = v
                    s2 += v * v
            if not math.isfinite(s2):     # an overflowing square, or a NaN/Inf entry?
                fin = _all_finite(Un) and _all_finite(Vn)
            if (not fin) or math.sqrt(s2) > blowup:
                status = 1
                k = it - 1
                break
            Uq[:, :] = Un
            Vq[:, :] = Vn
            loss, g2 = _eval(Sq, Uq, Vq, R, gU, gV, D, mu[q])
            gn = math.sqrt(g2)
            if not math.isfinite(gn):
                status = 2
                break
            done = use_stop and loss - fstar[q] <= thr[q]
            if it < snap_slot.size and snap_slot[it] >= 0:
                _snap(q, snap_slot[it], Uq, Vq, D, loss, gn, snaps, snap_vals)
            if it % every == 0 or it == max_iter or done:
                h_iter[q, cnt] = it
                h_obj[q, cnt] = loss / scale[q]
                h_gn[q, cnt] = gn
                cnt += 1
                last_rec = it
            if done:
                status = 3
                break
        if last_rec != k and status != 1 and status != 2:
            h_iter[q, cnt] = k
            h_obj[q, cnt] = loss / scale[q]
            h_gn[q, cnt] = gn
            cnt += 1
        n_rec[q] = cnt
        out_int[q, 0] = k
        out_int[q, 1] = status
        out_real[q, 0] = loss


@_njit
def _all_finite(A):
    for i in range(A.shape[0]):
        for j in range(A.shape[1]):
            if not math.isfinite(A[i, j]):
                return False
    return True


@_njit
def _snap(q, s, U, Vt, D, loss, gn, snaps, snap_vals):
    m, d = U.shape
    for i in range(m):
        for a in range(d):
            snaps[q, s, i, a] = U[i, a]
    for j in range(Vt.shape[1]):
        for a in range(d):
            snaps[q, s, m + j, a] = Vt[a, j]
    snap_vals[q, s, 0] = loss
    snap_vals[q, s, 1] = gn
    snap_vals[q, s, 2] = _imbalance(U, Vt, D)


def _per_run(name, v, B, **kw):
    v = np.asarray(v, dtype=float)
    if v.ndim == 0:
        v = np.full(B, float(v))
    return np.array(check_array_in(name, v, shape=(B,), **kw), dtype=np.float64, order="C")


def run_asym_gd_batch(Sigma, U0, V0, *, eta, max_iter: int, balance=0.0,
                      delta: float | None = None, relative: bool = True, f_star=0.0,
                      record_every: int = 1, snapshot=None,
                      blowup: float = 1e100) -> list[SolverResult]:
    r"""``B`` runs of GD :math:`(\mathbf U, \mathbf V) \leftarrow (\mathbf U, \mathbf V) -
    \eta\nabla F` in one compiled call.

    Parameters
    ----------
    Sigma : array (m, n) or (B, m, n)
        Targets :math:`\boldsymbol\Sigma` (one shared, or one per run).
    U0, V0 : arrays (B, m, d), (B, n, d)
        Starting points.
    eta, balance : float or array (B,)
        Step and balance weight :math:`\mu` per run.
    max_iter : int
    delta : float, optional
        Stop (status ``converged``) at the first :math:`t \ge 1` with
        :math:`F_{\rm plain} - f^\star \le \delta\,s`, :math:`s = f(0, 0)` when ``relative``
        else 1 (the rule of the chapters' ``run_gd``).
    f_star : float or array (B,)
    record_every : int
        History (``iter``, ``objective`` = plain loss / s, ``grad_norm``) every
        ``record_every`` iterations, at the last one and at the stop.
    snapshot : array of int, optional
        Iterations at which the iterate is stored in the loop (``history["snap_iter"]``,
        ``result.snapshots`` of shape (k, m + n, d)) with :data:`~bmlab.solvers.kernels_gd.SNAPSHOT_FIELDS`; feed them to
        :func:`evaluate_trackers`.

    Returns
    -------
    list of SolverResult
        ``x = (U, V)``; ``fun`` the objective (relative plain loss) at ``x``.
    """
    U0 = check_array("U0", U0, ndim=3)
    V0 = check_array("V0", V0, ndim=3)
    B, m, d = U0.shape
    if V0.shape[0] != B or V0.shape[2] != d:
        raise ValueError(f"V0 must have shape (B={B}, n, d={d}), got {V0.shape}")
    n = V0.shape[1]
    S = np.asarray(Sigma, dtype=float)
    S = np.broadcast_to(S, (B, m, n)) if S.ndim == 2 else S
    S = check_array("Sigma", S, shape=(B, m, n))
    S = np.array(S, dtype=np.float64, order="C")    # a copy: the kernels assume no aliasing
    max_iter = check_int("max_iter", max_iter, lo=0)
    every = check_int("record_every", record_every, lo=1)
    eta = _per_run("eta", eta, B, lo=0, lo_open=True)
    mu = _per_run("balance", balance, B, lo=0)
    f_star = _per_run("f_star", f_star, B)
    blowup = check_real("blowup", blowup, lo=0, lo_open=True, allow_inf=True)
    scale = 0.5 * np.sum(S * S, axis=(1, 2)) if relative else np.ones(B)
    if np.any(scale <= 0):
        raise ValueError("relative=True needs Sigma != 0 (f(0, 0) > 0)")
    use_stop = delta is not None
    thr = check_real("delta", delta, lo=0) * scale if use_stop else np.zeros(B)
    snapshot = np.zeros(0, dtype=np.int64) if snapshot is None else \
        check_array_in("snapshot", snapshot, lo=0, ndim=1, dtype=None, min_size=0)
    keep = np.unique(np.asarray(snapshot, dtype=np.int64))
    keep = keep[keep <= max_iter]
    snap_slot = np.full(max_iter + 1 if keep.size else 1, -1, dtype=np.int64)
    snap_slot[keep] = np.arange(keep.size)
    n_hist = max_iter // every + 3
    h_iter = np.zeros((B, n_hist), dtype=np.int64)
    h_obj = np.zeros((B, n_hist))
    h_gn = np.zeros((B, n_hist))
    n_rec = np.zeros(B, dtype=np.int64)
    snaps = np.full((B, keep.size, m + n, d), np.nan)
    snap_vals = np.full((B, keep.size, len(SNAPSHOT_FIELDS)), np.nan)
    out_int = np.zeros((B, 2), dtype=np.int64)
    out_real = np.zeros((B, 1))
    U = np.array(U0, dtype=np.float64, order="C")
    V = np.ascontiguousarray(np.swapaxes(V0, 1, 2), dtype=np.float64)
    t0 = time.perf_counter()
    _asym_batch(S, U, V, eta, mu, scale, f_star, thr, use_stop, max_iter, every, blowup, snap_slot,
                h_iter, h_obj, h_gn, n_rec, snaps, snap_vals, out_int, out_real)
    wall = (time.perf_counter() - t0) / B
    out = []
    for q in range(B):
        k, st = int(out_int[q, 0]), int(out_int[q, 1])
        c = int(n_rec[q])
        hist = {"iter": h_iter[q, :c], "grad_norm": h_gn[q, :c], "objective": h_obj[q, :c]}
        got = keep <= k
        hist["snap_iter"] = keep[got]
        for f, name in enumerate(SNAPSHOT_FIELDS):
            hist[f"snap_{name}"] = snap_vals[q, got, f]
        if st == 0:
            status, message = "max_iter", f"reached max_iter={max_iter}"
        elif st == 3:
            status, message = "converged", f"stopping rule met at iteration {k}"
        elif st == 1:
            status, message = "diverged", f"iterate overflowed or became non-finite at iteration {k + 1}"
        else:
            status, message = "diverged", f"gradient became non-finite at iteration {k}"
        # the objective at x: recorded there (max_iter, converged), else the loss of the
        # last evaluation, which is at x (diverged)
        fun = float(h_obj[q, c - 1]) if st in (0, 3) else float(out_real[q, 0] / scale[q])
        res = SolverResult(x=(U[q].copy(), V[q].T.copy()), history=hist, status=status,
                           message=message, n_iter=k, fun=fun, wall_time=wall)
        res.snapshots = snaps[q, got]
        out.append(res)
    return out


def evaluate_trackers(result: SolverResult, trackers: dict, m: int | None = None) -> dict:
    """Evaluate ``trackers[name](U, V)`` on every snapshot of a :func:`run_asym_gd_batch`
    result; returns ``{"iter": ..., name: array, ...}`` (one row per snapshot)."""
    snaps = result.snapshots
    m = result.x[0].shape[0] if m is None else m
    out = {"iter": np.asarray(result.history["snap_iter"])}
    for name, fn in trackers.items():
        out[name] = np.asarray([fn(s[:m], s[m:]) for s in snaps])
    return out
