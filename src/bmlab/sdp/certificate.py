r"""Dual certificates of global optimality for factorized solutions (issue 14).

A factorized run returns a factor :math:`X\in\mathbb R^{n\times r}` (or :math:`\mathbb
C^{n\times r}`), i.e. the point :math:`Z = XX^{\mathsf H}` of a convex problem over the PSD cone

.. math:: \min_{Z \succeq 0} F(Z), \qquad F \text{ convex and differentiable.}

Its KKT conditions are necessary and sufficient: :math:`Z` is a global minimiser iff the dual
matrix :math:`S = \nabla F(Z)` (the Hermitian part; plus the multipliers of the problem's own
constraints, see below) satisfies

.. math:: S \succeq 0 \quad\text{and}\quad SZ = 0 \;(\Leftrightarrow SX = 0 \text{ for } Z=XX^{\mathsf H}).

Both are checked with one symmetric eigenvalue problem (:func:`scipy.linalg.eigh`, the
smallest eigenpair only) and one matrix product; no SDP is solved, so the certificate is
affordable at sizes where CVXPY is not (see :mod:`bmlab.sdp.completion` for the sizes where
each solver stops being practical).

Verdict (``tol`` relative to ``scale``; :math:`Z_+ = WW^{\mathsf H}` the PSD part of
:math:`Z`, :math:`Z_- = Z - Z_+`):

``certified``
    :math:`\lambda_{\min}(S) \ge -\mathrm{tol}\cdot\mathrm{scale}`, the duality gap
    :math:`|\langle S, Z_+\rangle (+\langle N, Z\rangle)| \le \mathrm{tol}\cdot\mathrm{scale}
    \cdot\max(\operatorname{tr}Z_+, z_{\mathrm{ref}})`, the complementarity
    :math:`\|SW\|_F\|W\|_F \le \mathrm{tol}\cdot\mathrm{scale}\cdot
    \max(\operatorname{tr}Z_+, z_{\mathrm{ref}})` (i.e. ``residual``
    :math:`\le \mathrm{tol}\cdot\mathrm{scale}\cdot\max(1, z_{\mathrm{ref}}/\operatorname{tr}Z_+)`;
    :math:`\|SW\|_F\|W\|_F` bounds both :math:`\|SZ_+\|_F` and :math:`|\langle S, Z_+\rangle|`,
    so for :math:`\operatorname{tr}Z_+ \ge z_{\mathrm{ref}}` this is the residual test of
    before, and it relaxes only at tiny-norm points) and the point is feasible,
    :math:`\|Z_-\|_F \le \mathrm{tol}\cdot\max(\|Z\|_F, z_{\mathrm{ref}})` (for sNMF also
    :math:`X \ge 0`): by convexity, :math:`F(Z') \ge F(Z_+) + \langle\nabla F(Z_+), Z'-Z_+\rangle
    \ge F(Z_+) - \mathrm{gap} + \lambda_{\min}(S)\operatorname{tr}Z'` for every feasible
    :math:`Z'`, so :math:`Z` is globally optimal to :math:`O(\mathrm{tol})` relative accuracy.
    The gap is the complementarity measure because it shrinks with :math:`Z`: at a rank-0 or
    tiny-norm optimum (:math:`X \to 0`) :math:`\|SX\|_F/\|X\|_F` stays at :math:`\|S\|`-size
    while :math:`\langle S, Z\rangle \to 0`, and a product :math:`xy = -10^{-20}` is feasible to
    rounding relative to :math:`z_{\mathrm{ref}}`, not "fully outside the cone".
``refuted``
    :math:`\lambda_{\min}(S) < -\mathrm{tol}\cdot\mathrm{scale}`: with :math:`v` the
    eigenvector, :math:`\tfrac{d}{dt}F(Z + t\,vv^{\mathsf H}) = v^{\mathsf H}Sv =
    \lambda_{\min}(S) < 0`, a descent direction; at a feasible point :math:`Z + t\,vv^{\mathsf H}`
    is feasible for :math:`t>0`, so :math:`Z` is **not** a global minimiser (whatever the
    convexity of :math:`F`). This is the only way to be refuted. At an infeasible point
    (``note`` starts with "infeasible") :math:`vv^{\mathsf H}` still lowers :math:`F` but
    :math:`Z + t\,vv^{\mathsf H}` is not feasible: the point is no minimiser because it is
    infeasible, and the descent direction is then not the proof of it. The threshold
    :math:`\mathrm{tol}\ge 10^{-12}` times a scale at least :math:`\|S\|_F` lies far above the
    rounding error of the eigenvalue (:math:`\sim n\,\epsilon\,\|S\|_2`). (For sNMF the
    refutation uses a direction of the DNN cone instead, see below.) "Refuted" means
    *not optimal to this tolerance*, not *spurious*: a run stopped before it converged (e.g.
    an over-parametrised UDU run at :math:`f \approx 10^{-8}`, where
    :math:`\lambda_{\min}(S)/\mathrm{scale} \approx -5\cdot10^{-5}`) is refuted at
    ``tol=1e-6``; choose ``tol`` to match the accuracy the run claims.
``inconclusive``
    otherwise, e.g. :math:`S \succeq 0` but the gap is too large (a point not yet
    converged: :math:`-Z` is then a descent direction, but the run may well be on its way to
    the optimum); a non-convex :math:`F`, for which the KKT conditions are necessary only; an
    **infeasible** point (``sym(XYᵀ)`` or :math:`UDU^\top` with :math:`d_i<0` outside the PSD
    cone beyond the tolerance, or an sNMF factor with negative entries): such a point is no
    solution of the convex problem, but that is not a descent proof, so it is reported as
    ``inconclusive`` with ``note`` saying why (and the ``infeasibility`` field), unless
    :math:`\lambda_{\min}(S) < -\mathrm{tol}\cdot\mathrm{scale}` as well (then ``refuted``,
    with the note).

The ``scale`` is :math:`\max(\|S(0)\|_F, \|S(Z)\|_F)`, the Frobenius norm of the dual matrix at
:math:`Z = 0` (the pull of the data, e.g. :math:`\|b\|` for matrix completion) or at the point,
whichever is larger (1 if both vanish). It is a **Frobenius** norm on purpose: it is cheap
(no second eigenvalue problem) and basis free, but it can exceed the spectral norm
:math:`\|S\|_2` by up to :math:`\sqrt n`, so ``tol`` relative to it is up to :math:`\sqrt n`
looser than the same ``tol`` relative to :math:`\|S\|_2` (e.g. :math:`\sim10\times` at
:math:`n = 100`); a refutation is correspondingly more conservative.

The problem scale :math:`z_{\mathrm{ref}}` (field ``z_ref``) is the size of :math:`Z` at which
the data pull is felt: :math:`z_{\mathrm{ref}} = \|S(0)\|_F / L`, with
:math:`L = \|H(D)\|_F/\|D\|_F` the curvature of :math:`F` at :math:`0` along the steepest
descent direction :math:`D = -S(0)` (:math:`H` the Hessian of :math:`F` at 0; for the
quadratic problems :math:`H(D) = S(D) - S(0)`, e.g. :math:`L \approx 1`,
:math:`z_{\mathrm{ref}} \approx \|P_\Omega^*b\|_F` for matrix completion and
:math:`z_{\mathrm{ref}} = \|M\|_F` for sNMF). Where :math:`F` has no
curvature or no pull (``LinearToy``, :math:`f = cz`; or :math:`S(0) = 0`)
:math:`z_{\mathrm{ref}} = 1`, the problem's unit. Under the joint scaling of a quadratic problem
:math:`b \to \alpha b`, :math:`X \to \sqrt\alpha X`, :math:`S`, ``scale``, :math:`Z` and
:math:`z_{\mathrm{ref}}` are multiplied by :math:`\alpha`, so the verdict does not depend on units.

The ``residual`` field keeps its meaning :math:`\|SW\|_F/\|W\|_F` (:math:`= \|SX\|_F/\|X\|_F`
without ``Y``); the verdict compares it with :math:`\mathrm{tol}\cdot\mathrm{scale}\cdot
\max(1, z_{\mathrm{ref}}/\operatorname{tr}Z_+)`, and ``gap`` is the duality gap it also uses.

Supported problems (:func:`certificate` raises :class:`TypeError` for any other):

* :class:`~bmlab.problems.completion.MatrixCompletion`: PSD least squares
  :math:`\min_{Z\succeq0}\tfrac12\|P_\Omega(Z)-b\|^2`,
  :math:`S = \operatorname{sym}\mathcal A^*(\mathcal A(Z)-b)` (the zero-filled residual);
* :class:`~bmlab.problems.phase_retrieval.GaussianPR`: PhaseLift least squares
  :math:`\min_{Z\succeq0}\tfrac12\sum_i(a_i^\top Za_i-y_i)^2`, :math:`S = \sum_i r_ia_ia_i^\top`;
* :class:`~bmlab.problems.phase_retrieval.FourierPtychography`: complex PhaseLift least
  squares over Hermitian :math:`Z\succeq0`,
  :math:`S = \sum_{k,p} r_{k,p}B_k^{\mathsf H}e_pe_p^{\mathsf H}B_k` (Hermitian, real
  :math:`\lambda_{\min}`);
* any other :class:`~bmlab.problems.base.MeasurementProblem`:
  :math:`\min_{Z\succeq0}\tfrac12\|\mathcal A(Z)-b\|^2`, :math:`S` the Hermitian part of
  :math:`\mathcal A^*(\mathcal A(Z)-b)`;
* :class:`~bmlab.problems.sensing.HighOrderLoss` (paper 003):
  :math:`\min_{Z\succeq0} c\sum_i\phi_\lambda(\langle A_i,Z\rangle-b_i)`,
  :math:`S = c\operatorname{sym}\sum_i\phi'_\lambda(r_i)A_i`;
* :class:`~bmlab.problems.quadratic.QuadraticSensing` (paper 000):
  :math:`\min_{Z\succeq0}\tfrac12\|\mathcal A(Z)-b\|^2+\tfrac\mu2\operatorname{tr}Z`,
  :math:`S = \sum_i r_iA_i + \tfrac\mu2 I`;
* :class:`~bmlab.problems.snmf.SymmetricNMF` (paper 000): the doubly non-negative relaxation
  :math:`\min_{Z\succeq0,\,Z\ge0}\tfrac12\|M-Z\|_F^2`, :math:`S = Z - M - N`
  (with ``nonneg=False``: the PSD cone only, :math:`N = 0`);
* :class:`~bmlab.problems.scalar_toys.LinearToy`: :math:`\min_{z\ge0} cz`, :math:`S = c`;
* :class:`~bmlab.problems.scalar_toys.ShiftedSquareToy`: :math:`\min_{z\ge0}\tfrac12(z-m)^2`,
  :math:`S = z - m`.

The factored problems of :mod:`bmlab.factorizations` (``BurerMonteiro``, ``UDUFactorization``,
``SymmetricObjective``, ``PenalizedSplit``) are unwrapped to the problem they factor
(:func:`bmlab.sdp.core.lifted_problem`); a UDU point may be passed as the tuple ``(U, d)``.

Notes per problem
-----------------
*Matrix completion.* The certificate is that of the **PSD least-squares** problem, whose
value is the :math:`f^\star` of the noisy residual plots. The trace-minimisation baseline
:math:`\min\operatorname{tr}Z` s.t. :math:`P_\Omega(Z)=b` has another dual
(:math:`I - \mathcal A^*(y) \succeq 0` for some :math:`y`), which needs a solve; in the
noiseless case a certified :math:`Z` with zero residual is feasible for it but is its
minimiser only when the trace minimiser interpolates :math:`M^*` (it misses it by
:math:`\sim10^{-2}` at :math:`n\ge100`, :math:`m=9n`, as the chapters say).

*High-order loss (paper 003).* :math:`\phi_\lambda(s)=\tfrac12s^2+\tfrac\lambda l s^l` is
convex for every :math:`\lambda\ge0` when :math:`l` is even (the paper's :math:`l=4`), so
:math:`F` is convex and the verdict is as above; for odd :math:`l` and :math:`\lambda>0`,
:math:`\phi''_\lambda(s) = 1+\lambda(l-1)s^{l-2}` is negative for
:math:`s < -(\lambda(l-1))^{-1/(l-2)}`, :math:`F` is not convex, and a point that passes both
tests is reported ``inconclusive`` (``refuted`` stays valid). The factored gradient is
:math:`\nabla f^l_\lambda(X) = 2SX`.

*Symmetric NMF.* The factorized problem has :math:`X\ge0`, so :math:`Z=XX^\top` lies in the
doubly non-negative cone; the KKT conditions of the DNN relaxation ask for
:math:`S = \nabla f(Z) - N \succeq 0` with a multiplier :math:`N \ge 0`, :math:`N\circ Z = 0`,
:math:`SZ=0`. We choose :math:`N_{ij} = \max(\nabla f(Z)_{ij}, 0)` on the off-diagonal entries
where :math:`Z_{ij} \le \mathrm{tol}\cdot\max_k Z_{kk}` and :math:`N = 0` elsewhere
(a diagonal :math:`N_{ii}` can only lower :math:`\lambda_{\min}(S)`). A certificate with this
:math:`N` is a valid proof. A negative :math:`\lambda_{\min}(S)` for this :math:`N` does not prove
non-optimality (another :math:`N` might do), so sNMF points are refuted only through a feasible
direction of the DNN cone: :math:`w = |v|` (entrywise), :math:`v` the bottom eigenvector of
:math:`S`, with :math:`\langle\nabla f(Z), ww^\top\rangle < -\mathrm{tol}\cdot\mathrm{scale}`
(:math:`Z + t\,ww^\top` stays doubly non-negative); otherwise the verdict is
``inconclusive``. Because :math:`N` is placed where :math:`Z` is only *small*
(:math:`\le\mathrm{tol}\max_kZ_{kk}`), not exactly 0, :math:`N\circ Z = 0` holds only
approximately: the gap includes :math:`\langle N, Z\rangle`, so the certificate stays a valid
bound (weak duality: :math:`F(Z)-F^\star \le \langle S,Z\rangle + \langle N,Z\rangle` when
:math:`S \succeq 0`, :math:`N\ge0`). The factor must be non-negative, :math:`X \ge 0` (and
:math:`Y\ge0`) to :math:`\mathrm{tol}\cdot\max|X|`: a factor with negative entries is not a
point of the sNMF problem and is never certified (``note`` says so).

*Scalar toys (paper 000).* :math:`1\times1` PSD means :math:`z \ge 0`; :math:`S` is the number
:math:`f'(z)`. With ``Y`` (the split pair :math:`(x, y)`), :math:`z = xy`; the spurious pair
:math:`(u, -u)` has :math:`z = -u^2 < 0`: it is infeasible (``infeasibility`` and ``note``
say so) and ``inconclusive`` unless :math:`\lambda_{\min}(S)` also refutes it. The AM limit
:math:`(10^{-10}, \pm10^{-10})` of toy 4.1 (:math:`z = \pm10^{-20}`, the optimum
:math:`z^\star = 0` to rounding) is feasible to :math:`\mathrm{tol}\cdot z_{\mathrm{ref}}`
(:math:`z_{\mathrm{ref}} = 1`) with gap :math:`\le 10^{-20}`: certified.

*Asymmetric pairs.* With ``Y``, :math:`Z = \operatorname{sym}(XY^\top)` (rank
:math:`\le 2r`) is factored through a QR of :math:`[X\ Y]`; :math:`S` is evaluated at
:math:`Z`, the residual at the factor :math:`W` of its PSD part :math:`Z_+ = WW^\top`, and
``infeasibility`` :math:`= \|Z_-\|_F/\max(\|Z\|_F, z_{\mathrm{ref}})` (in :math:`[0, 1]`;
before issue 14's referee fix it was :math:`\|Z_-\|_F/\|Z\|_F`, which is 1 for any tiny
negative product).

*UDU points.* A tuple :math:`(U, d)` is the point :math:`Z = U\operatorname{diag}(d)U^\top`
itself: with some :math:`d_i < 0` it is passed on as the pair :math:`X = U|D|^{1/2}`,
:math:`Y = U\operatorname{sign}(D)|D|^{1/2}` (never clipped to :math:`UD_+U^\top`), so a
negative :math:`d_i` shows up as ``infeasibility``.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import scipy.linalg

from ..problems.base import MeasurementProblem
from ..problems.completion import MatrixCompletion
from ..problems.phase_retrieval import FourierPtychography, GaussianPR
from ..problems.quadratic import QuadraticSensing
from ..problems.scalar_toys import LinearToy, ShiftedSquareToy
from ..problems.sensing import HighOrderLoss
from ..problems.snmf import SymmetricNMF
from ..validation import check_array, check_real
from .core import lifted_problem

__all__ = ["Certificate", "certificate", "SUPPORTED", "VERDICTS"]

#: The problem classes :func:`certificate` accepts (plus any ``MeasurementProblem`` and the
#: factored wrappers that :func:`bmlab.sdp.core.lifted_problem` unwraps).
SUPPORTED = (MatrixCompletion, GaussianPR, FourierPtychography, MeasurementProblem, HighOrderLoss,
             QuadraticSensing, SymmetricNMF, LinearToy, ShiftedSquareToy)
#: The three verdicts.
VERDICTS = ("certified", "refuted", "inconclusive")


@dataclass(frozen=True)
class Certificate:
    r"""Outcome of :func:`certificate`.

    Attributes
    ----------
    lambda_min : float
        Smallest eigenvalue of the dual matrix :math:`S` (real: :math:`S` is Hermitian).
    residual : float
        Complementarity :math:`\|SX\|_F/\|X\|_F` (0 when :math:`X = 0`).
    scale : float
        The scale ``tol`` is relative to: :math:`\max(\|S(0)\|_F, \|S(Z)\|_F)` (1 if both are 0).
    tol : float
        Relative tolerance of the verdict.
    verdict : str
        ``"certified"``, ``"refuted"`` or ``"inconclusive"`` (see the module docstring).
    certified : bool
        ``verdict == "certified"``.
    convex_problem : str
        The convex problem certified against, in one line.
    infeasibility : float
        :math:`\|Z_-\|_F/\max(\|Z\|_F, z_{\mathrm{ref}})` for :math:`Z = \operatorname{sym}(XY^\top)`
        or :math:`U\operatorname{diag}(d)U^\top` (0 for :math:`Z = XX^{\mathsf H}`).
    gap : float
        Duality gap :math:`\langle S, Z_+\rangle` (:math:`+\langle N, Z\rangle` for sNMF), the
        complementarity measure of the verdict.
    z_ref : float
        The problem scale of :math:`Z` (module docstring).
    note : str
        Why a point is not certified when it is not for want of accuracy: "infeasible: ...",
        "X has negative entries: ...", "not convex"; empty otherwise.
    """

    lambda_min: float
    residual: float
    scale: float
    tol: float
    verdict: str
    certified: bool
    convex_problem: str
    infeasibility: float = 0.0
    gap: float = 0.0
    z_ref: float = 1.0
    note: str = ""

    def as_dict(self) -> dict:
        """The fields as a plain dict (for tables and ``claims.json``)."""
        return asdict(self)

    @property
    def relative_lambda_min(self) -> float:
        r""":math:`\lambda_{\min}(S)/\mathrm{scale}`."""
        return self.lambda_min / self.scale

    @property
    def relative_residual(self) -> float:
        r""":math:`(\|SX\|_F/\|X\|_F)/\mathrm{scale}`."""
        return self.residual / self.scale


# ---------------------------------------------------------------------------------------------
# the point: a factor W with Z_+ = W W^H, and Z itself
# ---------------------------------------------------------------------------------------------

def _as_factor(name, X, n=None):
    X = check_array(name, X, ndim=(0, 1, 2), dtype=None, min_size=0)
    if X.dtype.kind not in "fc":
        X = X.astype(np.float64)
    elif X.dtype.kind == "f":
        X = X.astype(np.float64, copy=False)
    else:
        X = X.astype(np.complex128, copy=False)
    if X.ndim < 2:
        X = X.reshape(-1, 1)
    if n is not None and X.shape[0] != n:
        raise ValueError(f"{name} must have {n} rows (the problem's n), got shape {X.shape}")
    return X


def _point(X, Y):
    """(Z, W, ||Z_-||_F): Z = X X^H or sym(X Y^H); Z_+ = W W^H its PSD part."""
    if Y is None:
        return X @ X.conj().T, X, 0.0
    n, r = X.shape
    Q, R = np.linalg.qr(np.hstack([X, Y]))
    J = np.zeros((2 * r, 2 * r))
    J[:r, r:] = J[r:, :r] = 0.5 * np.eye(r)
    C = R @ J @ R.conj().T
    C = 0.5 * (C + C.conj().T)
    ev, V = np.linalg.eigh(C)
    Z = (Q @ V * ev) @ (Q @ V).conj().T
    Z = 0.5 * (Z + Z.conj().T)
    zminus = float(np.linalg.norm(np.minimum(ev, 0.0)))
    pos = ev > 0
    W = (Q @ V[:, pos]) * np.sqrt(ev[pos]) if pos.any() else np.zeros((n, 1), dtype=Q.dtype)
    return Z, W, zminus


# ---------------------------------------------------------------------------------------------
# the dual matrix of each supported problem
# ---------------------------------------------------------------------------------------------

def _herm(G):
    G = np.asarray(G)
    return 0.5 * (G + G.conj().T)


def _measurement(problem, Z, X, Y):
    if Y is None:
        res = problem.forward_factored(X) - problem.b
    else:
        res = problem.apply(Z) - problem.b
    res = np.real(res) if np.isrealobj(problem.b) else res
    S = _herm(problem.adjoint_dense(res))
    S0 = _herm(problem.adjoint_dense(-np.asarray(problem.b)))

    def hess(D):
        return _herm(problem.adjoint_dense(problem.apply(D)))

    if isinstance(problem, MatrixCompletion):
        what = "min_{Z⪰0} ½‖P_Ω(Z) − b‖² (PSD least squares; not the trace minimisation)"
    elif isinstance(problem, GaussianPR):
        what = "min_{Z⪰0} ½Σᵢ(aᵢᵀZaᵢ − yᵢ)² (PhaseLift least squares)"
    elif isinstance(problem, FourierPtychography):
        what = "min_{Z=Zᴴ⪰0} ½Σ_{k,p}(e_pᴴB_kZB_kᴴe_p − y_{k,p})² (complex PhaseLift least squares)"
    else:
        what = f"min_{{Z⪰0}} ½‖A(Z) − b‖² ({type(problem).__name__})"
    return S, S0, what, True, hess


def _high_order(problem: HighOrderLoss, Z):
    lam, l, c = problem.lam, problem.l, problem.scale

    def dual(M):
        r = problem.op.apply(M - problem.M_star)
        return c * _herm(problem.op.adjoint(r + lam * r ** (l - 1)))

    r0 = problem.op.apply(-problem.M_star)

    def hess(D):        # the Hessian of F at Z = 0 (exact, not a secant)
        return c * _herm(problem.op.adjoint((1 + (l - 1) * lam * r0 ** (l - 2))
                                            * problem.op.apply(D)))

    convex = (l % 2 == 0) or lam == 0
    what = (f"min_{{Z⪰0}} c Σᵢ φ_λ(⟨Aᵢ, Z⟩ − bᵢ), φ_λ(s) = s²/2 + λ s^l/l "
            f"(c={c:g}, λ={lam:g}, l={l}{'' if convex else '; not convex: l odd, λ > 0'})")
    return dual(Z), dual(np.zeros_like(Z)), what, convex, hess


def _quadratic(problem: QuadraticSensing, Z):
    mu = problem.reg.mu
    eye = np.eye(problem.n)
    S = _herm(problem.grad_f(Z)) + 0.5 * mu * eye
    S0 = _herm(problem.grad_f(np.zeros_like(Z))) + 0.5 * mu * eye
    what = f"min_{{Z⪰0}} ½‖A(Z) − b‖² + (μ/2) tr Z (μ={mu:g})"
    return S, S0, what, True, lambda D: _herm(problem.grad_f(D)) + 0.5 * mu * eye - S0


def _toy(problem, Z):
    S = np.atleast_2d(problem.grad_f(np.real(Z).reshape(1, 1))).astype(float)
    S0 = np.atleast_2d(problem.grad_f(np.zeros((1, 1)))).astype(float)
    if isinstance(problem, LinearToy):
        what = f"min_{{z≥0}} c z (c={problem.c:g})"
    else:
        what = f"min_{{z≥0}} ½(z − m)² (m={problem.m:g})"

    def hess(D):
        return np.atleast_2d(problem.grad_f(np.real(D).reshape(1, 1))).astype(float) - S0

    return S, S0, what, True, hess


def _snmf_multiplier(G, Z, tol):
    """N = max(G, 0) on the off-diagonal entries where Z vanishes (relative to max Z_kk)."""
    zmax = max(float(np.max(np.diag(Z))), 0.0)
    zero = np.real(Z) <= tol * zmax if zmax > 0 else np.ones(Z.shape, dtype=bool)
    np.fill_diagonal(zero, False)
    return np.where(zero, np.maximum(G, 0.0), 0.0)


def _z_ref(S0, hess):
    """||S(0)||_F / L, L = ||H(D)||_F / ||D||_F along D = -S(0); 1 without pull or curvature."""
    n0 = float(np.linalg.norm(S0))
    if not n0 > 0:
        return 1.0
    L = float(np.linalg.norm(hess(-S0))) / n0
    z = n0 / L if L > 0 else math.inf
    return z if math.isfinite(z) and z > 0 else 1.0


# ---------------------------------------------------------------------------------------------
# the certificate
# ---------------------------------------------------------------------------------------------

def _lambda_min(S, vectors=False):
    if S.shape[0] == 1:
        val = float(np.real(S[0, 0]))
        return (val, np.ones((1,), dtype=S.dtype)) if vectors else (val, None)
    if vectors:
        w, V = scipy.linalg.eigh(S, subset_by_index=[0, 0])
        return float(w[0]), V[:, 0]
    w = scipy.linalg.eigh(S, eigvals_only=True, subset_by_index=[0, 0])
    return float(w[0]), None


def certificate(problem, X, *, Y=None, tol: float = 1e-6) -> Certificate:
    r"""Dual certificate of global optimality of :math:`Z = XX^{\mathsf H}` for the convex
    problem behind ``problem`` (see the module docstring for each supported problem, its
    convex problem, :math:`S`, the scale and why the verdict is right).

    Parameters
    ----------
    problem : Problem
        A supported problem (module docstring), or a factored wrapper of one
        (``BurerMonteiro``, ``UDUFactorization``, ``SymmetricObjective``, ``PenalizedSplit``).
    X : array (n, r), real or complex; or tuple ``(U, d)``
        The factor; a UDU point ``(U, d)`` is the point :math:`U\operatorname{diag}(d)U^\top`:
        :math:`UD^{1/2}` when :math:`d \ge 0`, otherwise the pair :math:`(U|D|^{1/2},
        U\operatorname{sign}(D)|D|^{1/2})`, so a negative :math:`d_i` is reported as
        infeasibility (never clipped). A vector is one column; a number is the factor of a
        scalar toy.
    Y : array (n, r), optional
        Second factor of a split pair; then :math:`Z = \operatorname{sym}(XY^\top)`.
    tol : float
        Relative tolerance in :math:`[10^{-12}, 1)`.

    Returns
    -------
    Certificate

    Raises
    ------
    TypeError
        For a problem that is not supported (the message names the supported ones).

    Notes
    -----
    One eigenvalue problem (the smallest eigenpair of the :math:`n\times n` Hermitian
    :math:`S`, :func:`scipy.linalg.eigh` with ``subset_by_index``) and one product
    :math:`SX`; :math:`S` is dense, :math:`O(n^2)` memory.

    Examples
    --------
    >>> import numpy as np
    >>> from bmlab.problems.completion import make_completion
    >>> from bmlab.sdp import certificate
    >>> p = make_completion(30, 2, 270, rng=np.random.default_rng(0))
    >>> certificate(p, np.zeros((30, 2))).verdict     # X = 0 while b != 0
    'refuted'
    >>> w, V = np.linalg.eigh(p.X_true)
    >>> certificate(p, V[:, -2:] * np.sqrt(w[-2:])).verdict   # the ground truth, noiseless
    'certified'
    """
    tol = check_real("tol", tol, lo=1e-12, hi=1.0, hi_open=True)
    problem = lifted_problem(problem)
    if not isinstance(problem, SUPPORTED):
        names = ", ".join(c.__name__ for c in SUPPORTED)
        raise TypeError(f"no certificate for {type(problem).__name__}; supported: {names} "
                        "(and BurerMonteiro, UDUFactorization, SymmetricObjective, PenalizedSplit "
                        "wrapping one of them)")
    if isinstance(X, tuple):
        if len(X) != 2:
            raise ValueError(f"a tuple X must be (U, d), got {len(X)} entries")
        if Y is not None:
            raise ValueError("Y cannot be given with a UDU point (U, d)")
        U, d = X
        U = _as_factor("U", U)
        d = check_array("d", d, shape=(U.shape[1],))
        root = np.sqrt(np.abs(d))
        X = U * root
        if np.any(d < 0):           # Z = U diag(d) U^T itself, never clipped to U diag(d_+) U^T
            Y = U * (np.sign(d) * root)
    n = int(problem.n)
    X = _as_factor("X", X, n)
    if Y is not None:
        Y = _as_factor("Y", Y, n)
        if Y.shape != X.shape:
            raise ValueError(f"Y must have the shape of X {X.shape}, got {Y.shape}")
    complex_ok = isinstance(problem, MeasurementProblem) and not isinstance(
        problem, (MatrixCompletion, GaussianPR))
    if not complex_ok and (X.dtype.kind == "c" or (Y is not None and Y.dtype.kind == "c")):
        raise TypeError(f"{type(problem).__name__} is real: X (and Y) must be real")

    Z, W, zminus = _point(X, Y)
    nonneg_dual = False
    N = None
    notes = []
    if isinstance(problem, MeasurementProblem):
        S, S0, what, convex, hess = _measurement(problem, Z, X, Y)
    elif isinstance(problem, HighOrderLoss):
        S, S0, what, convex, hess = _high_order(problem, Z)
    elif isinstance(problem, QuadraticSensing):
        S, S0, what, convex, hess = _quadratic(problem, Z)
    elif isinstance(problem, SymmetricNMF):
        G = _herm(problem.grad_f(Z))
        S0 = _herm(problem.grad_f(np.zeros_like(Z)))

        def hess(D):
            return _herm(problem.grad_f(D)) - S0

        convex = True
        if problem.reg.is_indicator:
            nonneg_dual = True
            N = _snmf_multiplier(G, Z, tol)
            S = G - N
            for name, F in (("X", X), ("Y", Y)):
                if F is not None and float(np.min(F)) < -tol * float(np.max(np.abs(F))):
                    notes.append(f"{name} has negative entries (min {float(np.min(F)):.3g}): "
                                 "not a point of the sNMF problem (X >= 0), not certified")
            what = "min_{Z⪰0, Z≥0} ½‖M − Z‖²_F (doubly non-negative relaxation of sNMF)"
        else:
            S = G
            what = "min_{Z⪰0} ½‖M − Z‖²_F (symmetric factorization, no sign constraint)"
    else:  # scalar toys
        S, S0, what, convex, hess = _toy(problem, Z)

    z_ref = _z_ref(S0, hess)
    nZ = float(np.linalg.norm(Z))
    infeas = zminus / max(nZ, z_ref)
    scale = max(float(np.linalg.norm(S0)), float(np.linalg.norm(S)))
    if not scale > 0:
        scale = 1.0
    lam, v = _lambda_min(S, vectors=nonneg_dual)
    nW = float(np.linalg.norm(W))
    residual = float(np.linalg.norm(S @ W) / nW) if nW > 0 else 0.0
    thr = tol * scale
    gap = float(np.real(np.vdot(W, S @ W)))                  # <S, Z_+> = tr(W^H S W)
    if N is not None:
        gap += float(np.sum(N * np.real(Z)))                 # + <N, Z>
    trZ = nW ** 2

    feasible = infeas <= tol
    if not feasible:
        notes.append(f"infeasible: Z outside the cone, ||Z_-||_F = {zminus:.3g} "
                     f"({infeas:.3g} of max(||Z||_F, z_ref)); not a descent proof")
    if not convex:
        notes.append("not convex: the KKT conditions are necessary only")
    if nonneg_dual:
        w = np.abs(v)
        descent = float(np.real(w @ G @ w)) < -thr
    else:
        descent = lam < -thr
    if descent:
        verdict = "refuted"
    elif (lam >= -thr and abs(gap) <= thr * max(trZ, z_ref) and residual * trZ <= thr * max(trZ, z_ref)
          and feasible and convex and not notes):
        verdict = "certified"
    else:
        verdict = "inconclusive"
    return Certificate(lambda_min=lam, residual=residual, scale=scale, tol=tol, verdict=verdict,
                       certified=verdict == "certified", convex_problem=what,
                       infeasibility=infeas, gap=gap, z_ref=z_ref, note="; ".join(notes))
