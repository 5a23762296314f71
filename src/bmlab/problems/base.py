r"""The problem protocol every problem of the book implements (modelled on pymanopt's
``Problem``: the problem states the math, an optimizer in :mod:`bmlab.solvers` runs the loop,
a :class:`~bmlab.solvers.base.SolverResult` reports).

A :class:`Problem` is a smooth objective :math:`F` of one variable ``x`` (an array, or a tuple
of arrays for block variables such as :math:`(U, V)`):

=====================  ==========================================================  ========
method                 meaning                                                     required
=====================  ==========================================================  ========
``value(x)``           :math:`F(x)` (a float)                                      yes
``grad(x)``            :math:`\nabla F(x)`, the structure of ``x``                 yes
``hvp(x, v)``          :math:`\nabla^2F(x)[v]`, the structure of ``x``             yes
``hessian(x)``         dense :math:`\nabla^2F(x)` acting on the flattened ``x``    optional
``project(x)``         projection onto the feasible set (identity if none)         optional
=====================  ==========================================================  ========

The default :meth:`Problem.hessian` assembles the matrix column by column from ``hvp`` (small
instances only; problems with a closed form override it) and the default
:meth:`Problem.project` is the identity (``constrained = False``).

Two refinements name the extra structure the factorizations use:

:class:`MeasurementProblem`
    :math:`F(X) = \tfrac12\|\mathcal A(X) - b\|^2` on a (Hermitian) matrix :math:`X`, with the
    factored operations of paper 001: ``b``, ``forward_factored(U, d)``
    :math:`= \mathcal A(U\,\mathrm{diag}(d)\,U^{\mathsf H})` (``d=None``: :math:`UU^{\mathsf H}`)
    and ``sym_adjoint_apply(res, U)`` :math:`= G_sU`, :math:`G = \mathcal A^*(res)`. Subclasses
    give ``apply(X)`` and ``adjoint_dense(res)``; value, gradient and Hessian-vector product in
    :math:`X` follow.
:class:`SplitProblem`
    a loss :math:`f(Z)` on :math:`Z = XY^\top` with a regulariser ``reg`` (paper 000): ``f``,
    ``grad_f``, ``hess_f_vec`` (``value``, ``grad`` and ``hvp`` are these, in :math:`Z`), and the
    block solver ``block_argmin`` of Algorithm 1.

The regularisers :math:`g` of paper 000 (:class:`NoReg`, :class:`NonNeg`, :class:`Ridge`) and
:class:`UnboundedSubproblem` live here, below the factorizations that use them.

This module imports nothing from :mod:`bmlab.solvers` (``tests/test_layers.py``).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..validation import check_real

__all__ = [
    "Problem", "MeasurementProblem", "SplitProblem", "is_problem", "dense_hessian",
    "PROTOCOL", "MEASUREMENT_PROTOCOL",
    "UnboundedSubproblem", "Regularizer", "NoReg", "NonNeg", "Ridge",
]

#: The methods every :class:`Problem` has.
PROTOCOL = ("value", "grad", "hvp")
#: The attributes the factored runs of paper 001 need (:class:`MeasurementProblem`).
MEASUREMENT_PROTOCOL = ("b", "forward_factored", "sym_adjoint_apply")


def _flatten(x) -> np.ndarray:
    if isinstance(x, tuple):
        return np.concatenate([np.ravel(p) for p in x])
    return np.ravel(x)


def _unflatten(v: np.ndarray, like):
    if isinstance(like, tuple):
        out, i = [], 0
        for p in like:
            p = np.asarray(p)
            out.append(v[i:i + p.size].reshape(p.shape))
            i += p.size
        return tuple(out)
    return v.reshape(np.shape(like))


def dense_hessian(hvp, x) -> np.ndarray:
    r"""Assemble :math:`\nabla^2F(x)` (acting on the flattened ``x``, tuples concatenated) from
    ``hvp(x, v)`` one unit vector at a time, symmetrised. For small instances and tests."""
    x0 = _flatten(x)
    N = x0.size
    H = np.empty((N, N), dtype=np.result_type(x0, float))
    for i in range(N):
        e = np.zeros(N, dtype=H.dtype)
        e[i] = 1.0
        H[:, i] = _flatten(hvp(x, _unflatten(e, x)))
    return 0.5 * (H + H.conj().T)


class Problem:
    """A smooth objective of one (block) variable: ``value``, ``grad``, ``hvp``, and optionally
    a dense ``hessian`` and a projection ``project`` (see the module docstring).

    Subclasses override :meth:`value`, :meth:`grad` and :meth:`hvp`; :attr:`constrained` is
    True when :meth:`project` is not the identity.
    """

    #: True when :meth:`project` is not the identity (solvers then project after each step).
    constrained: bool = False

    def value(self, x) -> float:
        """:math:`F(x)`."""
        raise NotImplementedError(f"{type(self).__name__} does not define value(x)")

    def grad(self, x):
        r""":math:`\nabla F(x)`, with the structure of ``x``."""
        raise NotImplementedError(f"{type(self).__name__} does not define grad(x)")

    def hvp(self, x, v):
        r""":math:`\nabla^2F(x)[v]`, with the structure of ``x``."""
        raise NotImplementedError(f"{type(self).__name__} does not define hvp(x, v)")

    def hessian(self, x) -> np.ndarray:
        """Dense Hessian on the flattened ``x`` (default: assembled from :meth:`hvp`)."""
        return dense_hessian(self.hvp, x)

    def project(self, x):
        """Projection onto the feasible set (default: the identity)."""
        return x


def is_problem(obj) -> bool:
    """True for a :class:`Problem` instance, or any object with ``value``, ``grad`` and ``hvp``
    (duck typing, as :func:`bmlab.validation.check_attrs` does)."""
    return isinstance(obj, Problem) or all(callable(getattr(obj, m, None)) for m in PROTOCOL)


class MeasurementProblem(Problem):
    r""":math:`F(X) = \tfrac12\|\mathcal A(X) - b\|^2` with the factored operations of paper 001.

    Subclasses define ``b``, ``apply(X)`` (:math:`\mathcal A(X)`), ``adjoint_dense(res)``
    (:math:`\mathcal A^*(res)`, a dense matrix), ``forward_factored(U, d=None)`` and
    ``sym_adjoint_apply(res, U)``. The variable is the lifted matrix :math:`X`; the factored
    problems over :math:`U` or :math:`(U, d)` are :class:`bmlab.factorizations.udu.BurerMonteiro`
    and :class:`bmlab.factorizations.udu.UDUFactorization`.
    """

    b: np.ndarray

    def apply(self, X: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def adjoint_dense(self, res: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def forward_factored(self, U: np.ndarray, d: np.ndarray | None = None) -> np.ndarray:
        raise NotImplementedError

    def sym_adjoint_apply(self, res: np.ndarray, U: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def value(self, X) -> float:
        r"""`:math:`\tfrac12\|\mathcal A(X) - b\|^2`."""
        r = self.apply(X) - self.b
        return 0.5 * float(np.vdot(r, r).real)

    def grad(self, X) -> np.ndarray:
        r""":math:`\mathcal A^*(\mathcal A(X) - b)` (dense)."""
        return self.adjoint_dense(self.apply(X) - self.b)

    def hvp(self, X, V) -> np.ndarray:
        r""":math:`\mathcal A^*\mathcal A(V)` (the loss is quadratic)."""
        return self.adjoint_dense(self.apply(V))


class SplitProblem(Problem):
    r"""A loss :math:`f(Z)` for the split :math:`Z = XY^\top` of paper 000 with a regulariser
    ``reg``. Subclasses define ``f``, ``grad_f``, ``hess_f_vec``, ``reg`` and
    ``block_argmin(W, lam)`` (and optionally ``column_sweep`` and ``block_constants``).
    As a :class:`Problem` its variable is :math:`Z`; the factored objectives are
    :class:`bmlab.factorizations.asymmetric.SymmetricObjective` (:math:`h(X)`) and
    :class:`bmlab.factorizations.asymmetric.PenalizedSplit` (:math:`F_\lambda(X, Y)`).
    """

    reg: "Regularizer"

    def f(self, Z) -> float:
        raise NotImplementedError

    def grad_f(self, Z):
        raise NotImplementedError

    def hess_f_vec(self, Z, dZ):
        raise NotImplementedError

    def value(self, Z) -> float:
        return float(self.f(Z))

    def grad(self, Z):
        return self.grad_f(Z)

    def hvp(self, Z, dZ):
        return self.hess_f_vec(Z, dZ)


# ---------------------------------------------------------------------------------------------
# regularisers g of paper 000 and the block-solver failure
# ---------------------------------------------------------------------------------------------

class UnboundedSubproblem(ArithmeticError):
    """A block subproblem of Algorithm 1 has no minimiser (objective unbounded below)."""


@dataclass(frozen=True)
class Regularizer:
    """Base class of the regulariser :math:`g` (Assumption 1: :math:`\\mu`-strongly convex)."""

    mu: float = 0.0

    def value(self, X: np.ndarray) -> float:
        raise NotImplementedError

    def grad(self, X: np.ndarray) -> np.ndarray:
        """Gradient of the smooth part of :math:`g` (zero for an indicator)."""
        raise NotImplementedError

    def hess_vec(self, X: np.ndarray, U: np.ndarray) -> np.ndarray:
        """Hessian-vector product of the smooth part of :math:`g`."""
        raise NotImplementedError

    def project(self, X: np.ndarray) -> np.ndarray:
        """Projection onto the domain of :math:`g` (identity when it is all of the space)."""
        return X

    @property
    def is_indicator(self) -> bool:
        return False


@dataclass(frozen=True)
class NoReg(Regularizer):
    """:math:`g \\equiv 0` (:math:`\\mu = 0`)."""

    def __post_init__(self):
        if check_real("mu", self.mu) != 0:
            raise ValueError(f"mu must be 0 for NoReg (g = 0), got {self.mu!r}; use Ridge(mu)")

    def value(self, X):
        return 0.0

    def grad(self, X):
        return 0.0

    def hess_vec(self, X, U):
        return 0.0


@dataclass(frozen=True)
class NonNeg(Regularizer):
    """:math:`g = \\delta_{\\mathbb R^{n\\times r}_+}` (sNMF, toy 4.2); :math:`\\mu = 0`."""

    def __post_init__(self):
        if check_real("mu", self.mu) != 0:
            raise ValueError(f"mu must be 0 for NonNeg (an indicator), got {self.mu!r}")

    def value(self, X):
        return 0.0 if np.all(np.asarray(X) >= 0) else np.inf

    def grad(self, X):
        return 0.0

    def hess_vec(self, X, U):
        return 0.0

    def project(self, X):
        return np.maximum(X, 0.0)

    @property
    def is_indicator(self) -> bool:
        return True


@dataclass(frozen=True)
class Ridge(Regularizer):
    """:math:`g(X) = \\tfrac{\\mu}{2}\\|X\\|_F^2`, :math:`\\mu`-strongly convex (Assumption 1)."""

    def __post_init__(self):
        if not self.mu > 0:
            raise ValueError(f"Ridge needs mu > 0, got mu={self.mu!r}")
        check_real("mu", self.mu, lo=0, lo_open=True)

    def value(self, X):
        return 0.5 * self.mu * float(np.vdot(X, X))

    def grad(self, X):
        return self.mu * X

    def hess_vec(self, X, U):
        return self.mu * U
