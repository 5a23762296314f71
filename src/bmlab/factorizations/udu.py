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
:math:`G = \mathcal A^*(res)` (the :class:`~bmlab.problems.base.MeasurementProblem` protocol; see
:mod:`bmlab.problems.completion`, :mod:`bmlab.problems.phase_retrieval`). The runs
:func:`bmlab.solvers.udu.run_bm` and :func:`bmlab.solvers.udu.run_udu` go through the shared
loop :func:`bmlab.solvers.gd.gradient_descent`.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from ..problems.base import MEASUREMENT_PROTOCOL as _MEASUREMENT, Problem
from ..validation import check_array, check_attrs, check_bool, check_int, check_real, check_rng

__all__ = [
    "scaled_init", "bm_grad", "udu_grad", "project_udu", "udu_matrix", "udu_factor",
    "spectrum", "BurerMonteiro", "UDUFactorization",
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
    (:func:`bmlab.solvers.udu.run_udu` validates ``alpha`` once)."""
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


def _check_factor(U, d, name="U", d_name="d"):
    """A finite 2-D (real or complex) factor and an optional finite diagonal of its width."""
    U = check_array(name, U, ndim=2, dtype=None)
    if U.dtype.kind not in "fc":
        U = U.astype(float)
    if d is not None:
        d = check_array(d_name, d, shape=(U.shape[1],))
    return U, d


# ---------------------------------------------------------------------------------------------
# the factored problems (1) and (2) as Problems (bmlab.problems.base)
# ---------------------------------------------------------------------------------------------

def _sym_forward(problem, U, V, d=None):
    r""":math:`\mathcal A(UDV^{\mathsf H} + VDU^{\mathsf H})` by polarisation,
    :math:`\tfrac12[\mathcal A((U+V)D(U+V)^{\mathsf H}) - \mathcal A((U-V)D(U-V)^{\mathsf H})]`
    (only the factored forward map is needed)."""
    return 0.5 * (problem.forward_factored(U + V, d) - problem.forward_factored(U - V, d))


class BurerMonteiro(Problem):
    r"""Problem (1), :math:`F(U) = f(UU^{\mathsf H}) = \tfrac12\|\mathcal A(UU^{\mathsf H}) -
    b\|^2`, as a :class:`~bmlab.problems.base.Problem` in :math:`U` for a
    :class:`~bmlab.problems.base.MeasurementProblem`. Gradient :func:`bm_grad`; Hessian-vector
    product :math:`2G_sV + 2(\mathcal A^*\,\mathrm d r)_sU` with
    :math:`\mathrm dr = \mathcal A(UV^{\mathsf H} + VU^{\mathsf H})` (real problems)."""

    def __init__(self, problem) -> None:
        check_attrs("problem", problem, _MEASUREMENT)
        self.problem = problem

    def __repr__(self):
        return f"BurerMonteiro({type(self.problem).__name__})"

    def value(self, U) -> float:
        r = self.problem.forward_factored(U) - self.problem.b
        return 0.5 * float(np.vdot(r, r).real)

    def grad(self, U):
        return bm_grad(self.problem, U)[1]

    def hvp(self, U, V):
        p = self.problem
        res = p.forward_factored(U) - p.b
        dres = _sym_forward(p, U, V)
        return 2.0 * (p.sym_adjoint_apply(res, V) + p.sym_adjoint_apply(dres, U))


class UDUFactorization(Problem):
    r"""Problem (2), :math:`F(U, d) = f(U\,\mathrm{diag}(d)\,U^{\mathsf H})` over
    :math:`\|U\|_F \le \alpha`, :math:`d \ge 0`, as a :class:`~bmlab.problems.base.Problem` in
    the block variable ``(U, d)``: gradient :func:`udu_grad`, projection :func:`project_udu`
    (so :func:`bmlab.solvers.gd.gradient_descent` on it is update (3)). Hessian-vector product
    in the direction :math:`(V, e)`, with :math:`E = \mathrm{diag}(e)`,
    :math:`\mathrm dr = \mathcal A(VDU^{\mathsf H} + UDV^{\mathsf H} + UEU^{\mathsf H})`:

    .. math:: \mathrm d\nabla_U = 2[(\mathcal A^*\mathrm dr)_sUD + G_sVD + G_sUE],\quad
              \mathrm d\nabla_d = \mathrm{Re\,diag}(2V^{\mathsf H}G_sU
              + U^{\mathsf H}(\mathcal A^*\mathrm dr)_sU)

    (real problems)."""

    constrained = True

    def __init__(self, problem, alpha: float = 1.0) -> None:
        check_attrs("problem", problem, _MEASUREMENT)
        self.problem = problem
        self.alpha = check_real("alpha", alpha, lo=0, lo_open=True)

    def __repr__(self):
        return f"UDUFactorization({type(self.problem).__name__}, alpha={self.alpha:g})"

    def value(self, x) -> float:
        r = self.problem.forward_factored(x[0], x[1]) - self.problem.b
        return 0.5 * float(np.vdot(r, r).real)

    def grad(self, x):
        _, gU, gd = udu_grad(self.problem, x[0], x[1])
        return gU, gd

    def hvp(self, x, v):
        p = self.problem
        (U, d), (V, e) = x, v
        res = p.forward_factored(U, d) - p.b
        dres = _sym_forward(p, U, V, d) + p.forward_factored(U, e)
        GU, GV, dGU = p.sym_adjoint_apply(res, U), p.sym_adjoint_apply(res, V), p.sym_adjoint_apply(dres, U)
        hU = 2.0 * (dGU * d + GV * d + GU * e)
        hd = 2.0 * np.einsum("ij,ij->j", V.conj(), GU).real + np.einsum("ij,ij->j", U.conj(), dGU).real
        return hU, hd

    def project(self, x):
        return project_udu(x[0], x[1], self.alpha)
