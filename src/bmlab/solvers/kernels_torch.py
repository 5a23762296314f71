r"""The batched completion kernel of :mod:`bmlab.solvers.kernels` in torch, on the CPU or a
CUDA device (issue 12, item 5).

The iteration is the one of :func:`bmlab.solvers.kernels.run_udu_batch` — update (3) of
paper 001 on :math:`X = U\,\mathrm{diag}(d)\,U^\top` (projection on :math:`\|U\|_F\le\alpha`,
:math:`d \ge 0`) or plain BM gradient descent — for B runs at once, float64 throughout:

* forward and adjoint, two interchangeable ways (``method``): ``"gather"`` flattens the
  samples of every run into one list of global row indices ``q·n + i``, the residuals
  :math:`r_t = \langle (UD)_{i_t}, U_{j_t}\rangle - b_t` are one index gather and
  :math:`G_sU = \tfrac12(GU + G^\top U)` two ``index_add_`` scatters (the default on CUDA);
  ``"csr"`` holds the block-diagonal sample pattern as a sparse CSR tensor (and its
  transpose): ``torch.sparse.sampled_addmm`` for the residuals, two sparse-dense products
  for :math:`G_sU` (the default on the CPU). Either is :math:`O(mr)` per run at every
  :math:`n`;
* the step, the projection and the stopping rules (an iterate that overflows or turns
  non-finite; a non-finite gradient) act per run through masks, so a run that stops keeps
  its last iterate while the others go on; the device is asked for the masks only at the
  recorded iterations (to end early when every run has stopped).

The numpy reference :func:`bmlab.solvers.udu.run_udu` / :func:`~bmlab.solvers.udu.run_bm`
is the oracle (``tests/test_kernels_torch.py``: 1e-12 relative on the CPU, projection,
clipping and stopping included). Summation order differs (``index_add_`` on CUDA is
atomic, so not even run-to-run identical there): iterates agree to rounding.

Use it through :func:`~bmlab.solvers.kernels.run_udu_batch` with ``backend="torch"`` or
:func:`run_udu_batch_torch` (the same call, ``device="cpu"`` by default)::

    run_udu_batch(P, U0, eta=0.01, max_iter=10**5, backend="torch", device="cuda")

``device="cuda"`` on a machine where torch sees no CUDA device raises :class:`RuntimeError`;
there is no silent fallback to the CPU. Phase retrieval with a dense sensing matrix (real or
complex) has its torch twin too: :func:`pr_batch_torch`, reached as
``run_pr_batch(..., backend="torch", device=...)``.

On the CPU the torch path is slower than the numba and numpy kernels (per-operation overhead;
``benchmarks/bench_gpu.py``): it is there for CUDA. On a shared CPU, set
``torch.set_num_threads(1)`` for small instances: idle intra-op threads spin-wait.
"""
from __future__ import annotations

import warnings

import numpy as np

__all__ = ["run_udu_batch_torch", "mc_batch_torch", "pr_batch_torch", "resolve_device",
           "cuda_available"]


def cuda_available() -> bool:
    """Whether torch sees a CUDA device here."""
    import torch

    return bool(torch.cuda.is_available())


def resolve_device(device=None):
    """``device`` (None, ``"cpu"``, ``"cuda"``, ``"cuda:k"`` or a :class:`torch.device`) as a
    :class:`torch.device`; :class:`RuntimeError` for CUDA where torch sees none,
    :class:`ValueError` for anything else."""
    import torch

    if device is None:
        device = "cpu"
    if not isinstance(device, (str, torch.device)):
        raise TypeError(f"device must be a string or torch.device, got {type(device).__name__}")
    try:
        dev = torch.device(device)
    except (RuntimeError, ValueError) as exc:
        raise ValueError(f'device must be "cpu" or "cuda[:k]", got {device!r} ({exc})') from None
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise RuntimeError(f"device={str(device)!r} asked for, but torch sees no CUDA device "
                               f"here (torch {torch.__version__}, CUDA build: "
                               f"{torch.version.cuda or 'none'}); use device='cpu'")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise RuntimeError(f"device={str(device)!r}: only {torch.cuda.device_count()} CUDA "
                               f"device(s) here")
    elif dev.type != "cpu":
        raise ValueError(f'device must be "cpu" or "cuda[:k]", got {device!r}')
    return dev


def run_udu_batch_torch(problems, U0, d0=None, *, eta, max_iter: int, alpha=1.0, record=None,
                        bm: bool = False, blowup: float = 1e100, device="cpu", method=None):
    """:func:`bmlab.solvers.kernels.run_udu_batch` with ``backend="torch"`` on ``device``
    (same arguments and results: a list of :class:`~bmlab.solvers.base.SolverResult`);
    ``method`` as in :func:`mc_batch_torch` (None: ``"csr"`` on the CPU, ``"gather"`` on
    CUDA)."""
    from .kernels import run_udu_batch

    if method not in (None, "gather", "csr"):
        raise ValueError(f'method must be None, "gather" or "csr", got {method!r}')
    return run_udu_batch(problems, U0, d0, eta=eta, max_iter=max_iter, alpha=alpha,
                         record=record, bm=bm, blowup=blowup, backend="torch", device=device,
                         _torch_method=method)


def mc_batch_torch(rows, cols, b, pptr, prob, U, d, eta, alpha, max_iter, slot, blowup, bm,
                   res_out, out_int, out_real, *, device="cpu", method=None):
    """The torch twin of the numba kernel ``bmlab.solvers.kernels._mc_batch``, same array interface.

    ``rows, cols, b`` are the samples of every problem (problem ``p`` at
    ``pptr[p]:pptr[p+1]``), run ``q`` uses problem ``prob[q]``. ``U`` (B,n,r) and ``d``
    (B,r) hold the starting points and receive the returned iterates; ``res_out``,
    ``out_int``, ``out_real`` are filled as by the numba kernel.

    ``method`` chooses the sparse forward/adjoint: ``"gather"`` (an index gather of the
    sample rows and two ``index_add_`` scatters; the default on CUDA) or ``"csr"`` (the sample
    pattern as a sparse CSR tensor: ``torch.sparse.sampled_addmm`` for the residuals, two
    sparse-dense products for :math:`G_sU`; the default on the CPU, where it is about 6–12×
    faster than the gather, which allocates m·r temporaries per iteration)."""
    import torch

    dev = resolve_device(device)
    f64 = torch.float64
    B, n, r = U.shape
    # the samples of every run, flattened: row q·n + i of the stacked (B·n, r) factor
    segs = [np.arange(pptr[p], pptr[p + 1]) for p in prob]
    sel = np.concatenate(segs) if segs else np.zeros(0, dtype=np.int64)
    qid_np = np.repeat(np.arange(B), [s.size for s in segs])
    I = torch.as_tensor(rows[sel] + n * qid_np, dtype=torch.int64, device=dev)
    J = torch.as_tensor(cols[sel] + n * qid_np, dtype=torch.int64, device=dev)
    bt = torch.as_tensor(b[sel], dtype=f64, device=dev)
    qid = torch.as_tensor(qid_np, dtype=torch.int64, device=dev)
    Ut = torch.as_tensor(U, dtype=f64, device=dev).clone()
    dt = torch.as_tensor(d, dtype=f64, device=dev).clone()
    et = torch.as_tensor(eta, dtype=f64, device=dev)
    at = torch.as_tensor(alpha, dtype=f64, device=dev)
    nrec = res_out.shape[1]
    res = torch.full((B, nrec), float("nan"), dtype=f64, device=dev)

    if method is None:
        method = "csr" if dev.type == "cpu" else "gather"
    if method not in ("gather", "csr"):
        raise ValueError(f'method must be "gather" or "csr", got {method!r}')
    if method == "csr":
        # the block-diagonal (B·n × B·n) sample pattern as CSR, and its transpose: the samples
        # are sorted by (run, row, column), so I is already CSR-ordered
        N = B * n
        crow = torch.zeros(N + 1, dtype=torch.int64)
        crow[1:] = torch.cumsum(torch.bincount(I.cpu(), minlength=N), 0)
        permT_np = np.lexsort((I.cpu().numpy(), J.cpu().numpy()))
        crowT = torch.zeros(N + 1, dtype=torch.int64)
        crowT[1:] = torch.cumsum(torch.bincount(J.cpu(), minlength=N), 0)
        crow, crowT = crow.to(dev), crowT.to(dev)
        permT = torch.as_tensor(permT_np, dtype=torch.int64, device=dev)
        colT = I[permT]

        def csr(rp, ci, v):
            with warnings.catch_warnings():          # "CSR support is in beta" (once)
                warnings.simplefilter("ignore", UserWarning)
                return torch.sparse_csr_tensor(rp, ci, v, size=(N, N), check_invariants=False)

        pattern = csr(crow, J, torch.ones(J.numel(), dtype=f64, device=dev))

    def evaluate(Uc, dc):
        """(||res||² per run, G_s U)."""
        Uf = Uc.reshape(B * n, r)
        Ud = Uf if bm else (Uc * dc[:, None, :]).reshape(B * n, r)
        if method == "csr":
            s = torch.sparse.sampled_addmm(pattern, Ud, Uf.T, beta=0.0).values() - bt
        else:
            s = (Ud[I] * Uf[J]).sum(dim=1) - bt
        rr = torch.zeros(B, dtype=f64, device=dev).index_add_(0, qid, s * s)
        h = 0.5 * s
        if method == "csr":
            GU = csr(crow, J, h) @ Uf + csr(crowT, colT, h[permT]) @ Uf
        else:
            GU = torch.zeros(B * n, r, dtype=f64, device=dev)
            GU.index_add_(0, I, h[:, None] * Uf[J])
            GU.index_add_(0, J, h[:, None] * Uf[I])
        return rr, GU.reshape(B, n, r)

    def grad_step(Uc, dc, GU):
        """(squared gradient norm at (U, d), projected step W, w, ||W||² + ||w||²)."""
        if bm:
            gU = 2.0 * GU
            g2 = (gU * gU).sum(dim=(1, 2))
            W = Uc - et[:, None, None] * gU
            return g2, W, dc, (W * W).sum(dim=(1, 2))
        gd = (Uc * GU).sum(dim=1)
        gU = 2.0 * GU * dc[:, None, :]
        g2 = (gU * gU).sum(dim=(1, 2)) + (gd * gd).sum(dim=1)
        W = Uc - et[:, None, None] * gU
        nrm = torch.sqrt((W * W).sum(dim=(1, 2)))
        over = nrm > at
        scale = torch.where(over, at / torch.where(over, nrm, torch.ones_like(nrm)),
                            torch.ones_like(nrm))
        W = torch.where(over[:, None, None], W * scale[:, None, None], W)
        w = torch.clamp(dc - et[:, None] * gd, min=0.0)      # NaN stays NaN
        return g2, W, w, (W * W).sum(dim=(1, 2)) + (w * w).sum(dim=1)

    def evaluate_and_step(Uc, dc):
        """(||res||², gradient norm, the projected step (W, w, ||W||² + ||w||²)) per run."""
        rr, GU = evaluate(Uc, dc)
        g2, W, w, s2 = grad_step(Uc, dc, GU)
        return rr, torch.sqrt(g2), (W, w, s2)

    _masked_descent(evaluate_and_step, lambda Uc, dc, step: step, Ut, dt, max_iter, slot,
                    blowup, bm, res, U, d, res_out, out_int, out_real)


def pr_batch_torch(A, b, U, d, eta, alpha, max_iter, slot, blowup, bm, res_out, out_int,
                   out_real, *, device="cpu"):
    r"""Update (3) / BM gradient descent on phase retrieval with a dense sensing matrix
    :math:`A \in \mathbb F^{n\times m}` (real or complex), B runs batched, in torch: the
    twin of :func:`bmlab.solvers.kernels_pr.run_pr_batch` (reached as
    ``run_pr_batch(..., backend="torch", device=...)``). Per iteration two batched products
    with :math:`A` (:math:`Z = A^{\mathsf H}U`, :math:`G_sU = A\,(r \odot Z)`,
    :math:`r = |Z|^2 d - b`), the step, the projection and the stopping rules per run through
    masks, as :func:`mc_batch_torch`; same array interface (``U`` (B,n,r) and ``d`` (B,r)
    receive the returned iterates)."""
    import torch

    dev = resolve_device(device)
    B, n, r = U.shape
    cplx = np.iscomplexobj(U) or np.iscomplexobj(A)
    ct = torch.complex128 if cplx else torch.float64
    f64 = torch.float64
    At = torch.as_tensor(np.ascontiguousarray(A), device=dev).to(ct)
    AH = At.conj().T.contiguous()                                  # m × n
    bt = torch.as_tensor(b, dtype=f64, device=dev)
    Ut = torch.as_tensor(U, device=dev).to(ct).clone()
    dt = torch.as_tensor(d, dtype=f64, device=dev).clone()
    et = torch.as_tensor(eta, dtype=f64, device=dev)
    at = torch.as_tensor(alpha, dtype=f64, device=dev)
    nrec = res_out.shape[1]
    res = torch.full((B, nrec), float("nan"), dtype=f64, device=dev)

    def sq(x):                                                     # |x|², real
        return x.real * x.real + x.imag * x.imag if cplx else x * x

    def evaluate(Uc, dc):
        """(||res||², ∇U, ∇d, squared gradient norm) per run."""
        Z = torch.matmul(AH, Uc)                                   # B × m × r
        s = (sq(Z) * dc[:, None, :]).sum(dim=2) - bt               # B × m
        GU = torch.matmul(At, s[:, :, None].to(ct) * Z)            # B × n × r
        gd = (Uc.conj() * GU).real.sum(dim=1)                      # B × r
        gU = 2.0 * GU if bm else 2.0 * GU * dc[:, None, :]
        g2 = sq(gU).sum(dim=(1, 2))
        if not bm:
            g2 = g2 + (gd * gd).sum(dim=1)
        return (s * s).sum(dim=1), gU, gd, g2

    def step(Uc, dc, gU, gd):
        W = Uc - et[:, None, None] * gU
        if bm:
            return W, dc, sq(W).sum(dim=(1, 2))
        nrm = torch.sqrt(sq(W).sum(dim=(1, 2)))
        over = nrm > at
        scale = torch.where(over, at / torch.where(over, nrm, torch.ones_like(nrm)),
                            torch.ones_like(nrm))
        W = torch.where(over[:, None, None], W * scale[:, None, None], W)
        w = torch.clamp(dc - et[:, None] * gd, min=0.0)
        return W, w, sq(W).sum(dim=(1, 2)) + (w * w).sum(dim=1)

    def evaluate_pr(Uc, dc):
        rr, gU, gd, g2 = evaluate(Uc, dc)
        return rr, torch.sqrt(g2), (gU, gd)

    _masked_descent(evaluate_pr, lambda Uc, dc, grad: step(Uc, dc, *grad), Ut, dt, max_iter,
                    slot, blowup, bm, res, U, d, res_out, out_int, out_real)


def _masked_descent(evaluate, propose, Ut, dt, max_iter, slot, blowup, bm, res, U, d, res_out,
                    out_int, out_real):
    """The iteration loop and per-run bookkeeping shared by :func:`mc_batch_torch` and
    :func:`pr_batch_torch`: B runs at once, each stopped through masks (it keeps its last
    iterate while the others go on), as the numba kernels do.

    ``evaluate(U, d) -> (||res||², gradient norm, state)`` per run at an iterate;
    ``propose(U, d, state) -> (W, w, ||W||² + ||w||²)``, the projected step from it. A run
    stops with status 1 when its step overflows (``||(W, w)|| > blowup``) or has a
    non-finite entry (then its iterate stays), with status 2 when the gradient at the new
    iterate is non-finite (that iterate is its last). ``res`` (B, n_rec) on the device
    receives ``||res_k||²`` at the recorded ``k`` (``slot[k] >= 0``); the device is asked
    for the masks only at the recorded iterations and every 256 (to end early when every
    run has stopped). Writes the final iterates into ``U``, ``d`` and the outputs
    ``res_out``, ``out_int`` (n_iter, status), ``out_real`` (||res||² last, gradient norm
    at 0, gradient norm last) as the numba kernels."""
    import torch

    B = Ut.shape[0]
    dev = Ut.device
    with torch.no_grad():
        rr, gnorm0, state = evaluate(Ut, dt)
        res[:, int(slot[0])] = rr
        active = torch.ones(B, dtype=torch.bool, device=dev)
        status = torch.zeros(B, dtype=torch.int64, device=dev)
        kk = torch.zeros(B, dtype=torch.int64, device=dev)
        rr_last, g_last = rr.clone(), gnorm0.clone()
        rec_at = set(int(k) for k in np.flatnonzero(slot >= 0))
        for it in range(1, max_iter + 1):
            W, w, s2 = propose(Ut, dt, state)
            finite = torch.isfinite(W).all(dim=(1, 2))
            if not bm:
                finite = finite & torch.isfinite(w).all(dim=1)
            # a non-finite entry makes s2 non-finite too: ~finite alone decides that case
            bad1 = active & (~finite | (torch.sqrt(s2) > blowup))
            status = torch.where(bad1, torch.ones_like(status), status)
            active = active & ~bad1
            Ut = torch.where(active[:, None, None], W, Ut)
            if not bm:
                dt = torch.where(active[:, None], w, dt)
            rr, gnorm, state = evaluate(Ut, dt)
            bad2 = active & ~torch.isfinite(gnorm)
            # k, the last evaluation and the gradient norm of every run still going (or
            # stopping now on a non-finite gradient, as the numba kernel)
            kk = torch.where(active, torch.full_like(kk, it), kk)
            rr_last = torch.where(active, rr, rr_last)
            g_last = torch.where(active, gnorm, g_last)
            status = torch.where(bad2, torch.full_like(status, 2), status)
            active = active & ~bad2
            if it in rec_at:
                res[:, int(slot[it])] = torch.where(active, rr, res[:, int(slot[it])])
            if (it in rec_at or it % 256 == 0) and not bool(active.any()):
                break
        U[...] = Ut.cpu().numpy()
        d[...] = dt.cpu().numpy()
        res_out[...] = res.cpu().numpy()
        out_int[:, 0] = kk.cpu().numpy()
        out_int[:, 1] = status.cpu().numpy()
        out_real[:, 0] = rr_last.cpu().numpy()
        out_real[:, 1] = gnorm0.cpu().numpy()
        out_real[:, 2] = g_last.cpu().numpy()
