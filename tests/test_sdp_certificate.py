"""bmlab.sdp.certificate: every supported problem, certified at a known optimum and refuted at a
known non-optimal point; identities (S Hermitian, invariance under factor rotations and under
the joint scaling of the data) as hypothesis properties."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings, strategies as st

from bmlab.factorizations.udu import BurerMonteiro, UDUFactorization, scaled_init
from bmlab.problems.completion import make_completion
from bmlab.problems.phase_retrieval import FourierPtychography, GaussianPR, fp_object
from bmlab.problems.quadratic import QuadraticSensing, sensing_instance
from bmlab.problems.scalar_toys import LinearToy, ShiftedSquareToy
from bmlab.problems.sensing import (HighOrderLoss, WeightedEntrywiseSensing, gaussian_sensing,
                                    yalcin_instance, yalcin_n3_spurious)
from bmlab.problems.snmf import SymmetricNMF, random_psd_nonneg
from bmlab.sdp import Certificate, certificate
from bmlab.sdp import certificate as cert_mod_fn
from bmlab.sdp.certificate import SUPPORTED, VERDICTS


def _psd_factor(M, r=None):
    w, V = np.linalg.eigh(0.5 * (M + M.conj().T))
    keep = np.argsort(w)[::-1][: (r or M.shape[0])]
    keep = keep[w[keep] > 0]
    return V[:, keep] * np.sqrt(w[keep])


def _completion(n=20, rank=2, m=200, seed=0, noise=0.0):
    return make_completion(n, rank, m, rng=np.random.default_rng(seed), noise=noise)


def _assert_consistent(c: Certificate):
    assert c.verdict in VERDICTS and c.certified == (c.verdict == "certified")
    assert c.scale > 0 and c.residual >= 0 and 0 <= c.infeasibility <= 1
    assert isinstance(c.lambda_min, float) and isinstance(c.convex_problem, str)


# ---------------------------------------------------------------------------------------------
# matrix completion (PSD least squares)
# ---------------------------------------------------------------------------------------------

def test_completion_truth_certified_and_zero_refuted():
    P = _completion()
    c = certificate(P, _psd_factor(P.X_true, 2))
    _assert_consistent(c)
    assert c.certified and abs(c.lambda_min) < 1e-12 * c.scale and c.residual < 1e-12 * c.scale
    assert "P_Ω" in c.convex_problem and "trace" in c.convex_problem
    z = certificate(P, np.zeros((P.n, 2)))
    _assert_consistent(z)
    assert z.verdict == "refuted" and z.lambda_min < -1e-3 * z.scale and z.residual == 0.0
    assert set(c.as_dict()) == {"lambda_min", "residual", "scale", "tol", "verdict", "certified",
                                "convex_problem", "infeasibility", "gap", "z_ref", "note"}
    # completion: L <= 1 along -S(0) = P_Ω^*(b) (about 1), so z_ref ~ ||P_Ω^*(b)||_F
    assert 0.5 <= c.z_ref / np.linalg.norm(P.adjoint_dense(P.b)) <= 2.0
    assert abs(c.gap) < 1e-12 * c.scale * c.z_ref and c.note == ""


def test_completion_rank_deficient_factor_is_refuted():
    """Keeping only the top eigenpair of a rank-2 truth leaves a negative curvature direction."""
    P = _completion()
    c = certificate(P, _psd_factor(P.X_true, 1))
    assert c.verdict == "refuted"


def test_completion_clarabel_psd_least_squares_certified():
    """The factored answer of Clarabel's PSD least squares (noisy data) is certified at a
    looser tolerance, 1e-5: an interior-point solution is accurate to about 1e-8."""
    from bmlab.sdp.completion import psd_least_squares

    P = _completion(n=12, m=60, noise=0.05, seed=3)
    sdp = psd_least_squares(P, solver="CLARABEL")
    assert sdp.ok
    c = certificate(P, _psd_factor(sdp.Z), tol=1e-5)
    assert c.certified, c
    # the objective of the solver agrees with the certified point's value (no ½ in the SDP)
    assert P.residual_sq(sdp.Z) == pytest.approx(sdp.objective, rel=1e-5, abs=1e-9)


@pytest.mark.parametrize("method", ["BM", "UDU"])
def test_completion_converged_run_certified(method):
    from bmlab.solvers.udu import run_bm, run_udu

    P = _completion(seed=1)
    rng = np.random.default_rng(1)
    U0 = scaled_init(P.n, 2, 1e-1, rng)
    if method == "BM":
        res = run_bm(P, U0, eta=0.2, max_iter=3000)
        c = certificate(BurerMonteiro(P), res.x)
    else:
        res = run_udu(P, U0, eta=0.2, max_iter=3000, alpha=3.0)
        c = certificate(UDUFactorization(P, alpha=3.0), res.x)       # the tuple (U, d)
    assert res.fun < 1e-20
    assert c.certified, c


def test_completion_asymmetric_pair():
    P = _completion()
    X = _psd_factor(P.X_true, 2)
    assert certificate(P, X, Y=X).certified
    # a pair whose symmetric part is far from PSD is not a feasible point: the note says so;
    # it is refuted only because S = ∇F(-XXᵀ) has a clearly negative eigenvalue
    c = certificate(P, X, Y=-X)
    assert c.note.startswith("infeasible") and not c.certified
    assert (c.verdict == "refuted") == (c.lambda_min < -c.tol * c.scale)
    assert c.infeasibility == pytest.approx(np.linalg.norm(P.X_true) / max(np.linalg.norm(P.X_true),
                                                                            c.z_ref))


# ---------------------------------------------------------------------------------------------
# phase retrieval: PhaseLift least squares, real and complex
# ---------------------------------------------------------------------------------------------

def test_gaussian_phaselift_both_ways():
    rng = np.random.default_rng(4)
    x = rng.standard_normal(10)
    P = GaussianPR.make(x / np.linalg.norm(x), m=40, rng=rng)
    assert certificate(P, P.x_true).certified
    assert certificate(P, np.zeros(10)).verdict == "refuted"
    assert "PhaseLift" in certificate(P, P.x_true).convex_problem


def _fp(noise=0.0):
    obj = fp_object(np.random.default_rng(1).uniform(size=(4, 4)), upsample=2)
    return FourierPtychography.make(obj, M=4, grid=1, noise=noise, rng=np.random.default_rng(2))


def test_complex_phaselift_both_ways():
    fp = _fp()
    assert np.iscomplexobj(fp.x_true)
    c = certificate(fp, fp.x_true)
    assert c.certified and "complex" in c.convex_problem
    z = certificate(fp, np.zeros((fp.n, 1), dtype=complex))
    assert z.verdict == "refuted"
    # a global phase does not change Z = x x^H
    c2 = certificate(fp, np.exp(0.7j) * fp.x_true)
    assert c2.certified and c2.lambda_min == pytest.approx(c.lambda_min, abs=1e-12)


def test_complex_phaselift_noisy_saddle_refuted():
    """With noise the truth is no longer optimal; the rank-one truth of a noisy system has a
    descent direction (the noise's positive part)."""
    fp = _fp(noise=0.2)
    assert certificate(fp, fp.x_true).verdict == "refuted"


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000), r=st.integers(1, 3))
def test_complex_dual_matrix_is_hermitian_and_rotation_invariant(seed, r):
    from bmlab.sdp.certificate import _measurement

    fp = _fp()
    rng = np.random.default_rng(seed)
    X = (rng.standard_normal((fp.n, r)) + 1j * rng.standard_normal((fp.n, r))) / np.sqrt(fp.n)
    S, S0, _, _, _ = _measurement(fp, X @ X.conj().T, X, None)
    assert np.allclose(S, S.conj().T, atol=0) and np.allclose(S0, S0.conj().T, atol=0)
    Q, _ = np.linalg.qr(rng.standard_normal((r, r)) + 1j * rng.standard_normal((r, r)))
    a, b = certificate(fp, X), certificate(fp, X @ Q)
    assert a.verdict == b.verdict
    assert b.lambda_min == pytest.approx(a.lambda_min, abs=1e-10 * a.scale)
    assert b.residual == pytest.approx(a.residual, abs=1e-10 * a.scale)


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 10_000), alpha=st.floats(1e-3, 1e3), noise=st.sampled_from([0.0, 0.1]))
def test_completion_scale_invariance(seed, alpha, noise):
    """b -> αb, X -> √α X multiplies S, λ_min, the residual and the scale by α: the relative
    quantities and the verdict do not move."""
    P = _completion(n=10, m=60, seed=seed, noise=noise)
    Q = make_completion(10, 2, 60, rng=np.random.default_rng(seed), noise=noise)
    Q.b = alpha * P.b
    X = _psd_factor(P.X_true, 2) + 0.01 * np.random.default_rng(seed).standard_normal((10, 2))
    a, b = certificate(P, X), certificate(Q, np.sqrt(alpha) * X)
    assert b.verdict == a.verdict
    assert b.scale == pytest.approx(alpha * a.scale, rel=1e-9)
    assert b.relative_lambda_min == pytest.approx(a.relative_lambda_min, rel=1e-7, abs=1e-12)
    assert b.relative_residual == pytest.approx(a.relative_residual, rel=1e-7, abs=1e-12)


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_refutation_exhibits_a_descent_direction(seed):
    """A refuted point has a feasible direction v vᵀ along which the convex objective falls."""
    P = _completion(n=10, m=60, seed=seed, noise=0.1)
    X = np.random.default_rng(seed).standard_normal((10, 1))
    c = certificate(P, X)
    assume(c.lambda_min < -1e-3 * c.scale)
    assert c.verdict == "refuted"
    G = P.grad(X @ X.T)
    w, V = np.linalg.eigh(0.5 * (G + G.T))
    v = V[:, 0]
    assert w[0] == pytest.approx(c.lambda_min, abs=1e-10 * c.scale)
    # ‖P_Ω(vvᵀ)‖ ≤ 1, so the step t = |λ| lowers f by at least λ²/2
    t = -c.lambda_min
    drop = P.objective(X @ X.T) - P.objective(X @ X.T + t * np.outer(v, v))
    assert drop >= 0.5 * c.lambda_min ** 2 * (1 - 1e-9)


# ---------------------------------------------------------------------------------------------
# high-order loss (paper 003) and quadratic sensing (paper 000)
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("lam", [0.0, 0.5])
def test_high_order_truth_certified_zero_refuted(lam):
    h = yalcin_instance(5, 0.3, lam=lam)
    assert certificate(h, h.Z).certified
    assert certificate(h, np.zeros((5, 1))).verdict == "refuted"


def test_high_order_yalcin_spurious_point_refuted():
    x, _, _ = yalcin_n3_spurious(0.3)
    h = yalcin_instance(3, 0.3)
    c = certificate(h, x)
    assert c.residual < 1e-12 * c.scale          # a critical point of the factored problem
    assert c.verdict == "refuted"


def test_high_order_rank_deficient_saddle_refuted():
    """Unweighted entry-wise sensing of a rank-2 truth, r = 2: keeping the top eigenpair and a
    zero column is a critical point (a strict saddle) of the factored loss."""
    rng = np.random.default_rng(5)
    U = rng.standard_normal((6, 2))
    M = U @ U.T
    h = HighOrderLoss(WeightedEntrywiseSensing(np.ones((6, 6))), M, lam=0.0)
    X = np.hstack([_psd_factor(M, 1), np.zeros((6, 1))])
    assert np.linalg.norm(h.grad(X)) < 1e-10
    assert certificate(h, X).verdict == "refuted"
    assert certificate(h, _psd_factor(M, 2)).certified


def test_high_order_odd_order_is_not_certified():
    """l = 3, λ > 0: the lifted loss is not convex; a KKT point is only inconclusive."""
    rng = np.random.default_rng(6)
    op = gaussian_sensing(5, 40, rng)
    U = rng.standard_normal((5, 1))
    h = HighOrderLoss(op, U @ U.T, lam=0.5, l=3, Z=U)
    c = certificate(h, U)
    assert c.verdict == "inconclusive" and "not convex" in c.convex_problem
    assert certificate(h, np.zeros((5, 1))).verdict == "refuted"


@pytest.mark.parametrize("mu", [0.0, 0.1])
def test_quadratic_sensing_both_ways(mu):
    q, M = sensing_instance(6, 2, 60, np.random.default_rng(7), mu=mu)
    if mu == 0:
        X = _psd_factor(M, 2)
        assert certificate(q, X).certified and certificate(q, X, Y=X).certified
    else:
        from bmlab.sdp.penalty import split_problem_sdp

        sdp = split_problem_sdp(q, solver="CLARABEL")
        assert sdp.ok
        c = certificate(q, _psd_factor(sdp.Z), tol=1e-5)
        assert c.certified, c
        assert "tr Z" in c.convex_problem
        # at the truth S = (μ/2) I ⪰ 0 but S X ≠ 0: not refuted by λ_min, not certified either
        t = certificate(q, _psd_factor(M, 2))
        assert t.verdict == "inconclusive" and t.residual == pytest.approx(mu / 2)
    assert certificate(q, np.zeros((6, 2))).verdict == "refuted"


# ---------------------------------------------------------------------------------------------
# symmetric NMF (DNN relaxation) and the scalar toys of paper 000
# ---------------------------------------------------------------------------------------------

def test_snmf_completely_positive_truth_certified_zero_refuted():
    rng = np.random.default_rng(8)
    U = rng.uniform(size=(8, 2))
    M = U @ U.T
    s = SymmetricNMF(M, 2)
    assert certificate(s, U).certified
    assert certificate(s, U, Y=U).certified
    z = certificate(s, np.zeros((8, 2)))
    assert z.verdict == "refuted" and "non-negative" in z.convex_problem


def test_snmf_multiplier_certifies_a_dnn_optimum_that_is_not_psd_optimal():
    """M = [[1, -.5], [-.5, 1]]: the DNN optimum is I (the off-diagonal is clipped at 0), proved by
    the multiplier N₁₂ = ½; without the sign constraint the optimum is M itself and I is refuted."""
    M = np.array([[1.0, -0.5], [-0.5, 1.0]])
    c = certificate(SymmetricNMF(M, 2), np.eye(2))
    assert c.certified and c.lambda_min == pytest.approx(0.0, abs=1e-14)
    u = certificate(SymmetricNMF(M, 2, nonneg=False), np.eye(2))
    assert u.verdict == "refuted" and u.lambda_min == pytest.approx(-0.5)
    assert certificate(SymmetricNMF(M, 2, nonneg=False), _psd_factor(M)).certified


def test_snmf_random_run_point_not_certified_when_rank_too_small():
    """A rank-1 non-negative factor of a rank-2 completely positive M is not optimal."""
    M = random_psd_nonneg(6, 2, np.random.default_rng(9))
    X = np.abs(_psd_factor(M, 1))
    assert certificate(SymmetricNMF(M, 1), X).verdict == "refuted"


def test_scalar_toys_both_ways():
    # toy 4.1, f(z) = c z: z = 0 is optimal; a pair with xy < 0 is infeasible
    lin = LinearToy(2.0)
    assert certificate(lin, 0.0).certified
    c = certificate(lin, 0.5)
    assert c.verdict == "inconclusive" and c.lambda_min == 2.0 and c.residual == 2.0
    sp = certificate(lin, 0.5, Y=-0.5)           # infeasible, but no descent direction
    assert sp.verdict == "inconclusive" and "infeasible" in sp.note
    assert sp.infeasibility == pytest.approx(0.25)      # |xy| / max(|xy|, z_ref = 1)
    # toy 4.2, min_{x>=0} ½(x² − m)²: x = √m optimal; x = 0 a non-optimal stationary point
    t = ShiftedSquareToy(2.0, nonneg=True)
    assert certificate(t, np.sqrt(2.0)).certified
    c0 = certificate(t, 0.0)
    assert c0.verdict == "refuted" and c0.lambda_min == -2.0
    # alternative toy 4.1, m = −1: z = 0 optimal, the spurious pair (u, −u) refuted
    s = ShiftedSquareToy(-1.0)
    assert certificate(s, 0.0).certified
    u = s.spurious_u(0.2)
    cu = certificate(s, u, Y=-u)
    assert cu.verdict == "inconclusive" and "infeasible" in cu.note and cu.lambda_min > 0


# ---------------------------------------------------------------------------------------------
# errors
# ---------------------------------------------------------------------------------------------

def test_unsupported_problem_names_the_supported_ones():
    with pytest.raises(TypeError, match="MatrixCompletion.*SymmetricNMF"):
        certificate(object(), np.zeros((2, 1)))
    assert QuadraticSensing in SUPPORTED and cert_mod_fn is certificate


def test_bad_inputs_are_clear_errors():
    P = _completion()
    with pytest.raises(ValueError, match="20 rows"):
        certificate(P, np.zeros((5, 2)))
    with pytest.raises(ValueError, match="tol"):
        certificate(P, np.zeros((20, 2)), tol=0.0)
    with pytest.raises(TypeError, match="real"):
        certificate(P, np.zeros((20, 2), dtype=complex))
    with pytest.raises(ValueError, match="shape of X"):
        certificate(P, np.zeros((20, 2)), Y=np.zeros((20, 3)))
    with pytest.raises(ValueError, match="finite"):
        certificate(P, np.full((20, 2), np.nan))


# ---------------------------------------------------------------------------------------------
# referee findings (issue 14 report): rank-0 optima, UDU with d < 0, sNMF sign and gap
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("y", [1e-10, -1e-10])
def test_linear_toy_near_rank0_optimum_not_refuted(y):
    """toy 4.1, f(z) = z: the AM limit (1e-10, ±1e-10), z = ±1e-20, is the optimum z* = 0 to
    rounding; the old ||SX||/||X|| residual (= 1) and relative infeasibility (= 1) called it
    inconclusive/refuted. The gap <S, Z_+> and ||Z_-|| against z_ref = 1 certify it."""
    c = certificate(LinearToy(1.0), 1e-10, Y=y)
    assert c.verdict == "certified", c
    assert c.residual == pytest.approx(1.0) if y > 0 else c.residual == 0.0   # field kept
    assert c.infeasibility <= 1e-20 * (1 + 1e-9) and abs(c.gap) <= 1e-20 * (1 + 1e-9)
    assert c.z_ref == 1.0


def test_linear_toy_far_from_optimum_still_not_certified():
    """The gap grows with z: z = 1e-3 has gap 1e-3 > 1e-6 · max(z, 1) and is inconclusive (S = 1
    > 0, no descent direction); z = 1e-7 is within tolerance of the optimum."""
    assert certificate(LinearToy(1.0), np.sqrt(1e-3)).verdict == "inconclusive"
    assert certificate(LinearToy(1.0), np.sqrt(1e-7)).certified
    # a negative slope is refuted near 0 (the direction +1 descends): toy 4.2 at z = 1e-20
    assert certificate(ShiftedSquareToy(2.0), 1e-10, Y=1e-10).verdict == "refuted"


def test_udu_negative_d_is_reported_infeasible_not_clipped():
    P = _completion()
    X = _psd_factor(P.X_true, 2)
    U = np.hstack([X, np.eye(P.n)[:, :1]])
    ok = certificate(P, (U, np.array([1.0, 1.0, 0.0])))
    assert ok.certified and ok.infeasibility == 0.0
    bad = certificate(P, (U, np.array([1.0, 1.0, -0.5])))
    # the clipped point U diag(d_+) U^T would be certified; the point itself is not PSD
    assert bad.verdict == "inconclusive" and "infeasible" in bad.note
    Z = U @ np.diag([1.0, 1.0, -0.5]) @ U.T
    w = np.linalg.eigvalsh(Z)
    assert bad.infeasibility == pytest.approx(np.linalg.norm(w[w < 0]) / max(
        np.linalg.norm(Z), bad.z_ref), rel=1e-6)
    # a negative d at rounding level is feasible to tolerance
    assert certificate(P, (U, np.array([1.0, 1.0, -1e-30]))).certified
    with pytest.raises(ValueError, match="Y cannot"):
        certificate(P, (U, np.ones(3)), Y=U)


def test_snmf_negative_factor_not_certified_and_says_why():
    rng = np.random.default_rng(8)
    U = rng.uniform(size=(8, 2))
    s = SymmetricNMF(U @ U.T, 2)
    c = certificate(s, -U)             # Z = UU^T is the DNN optimum, but X = -U is not >= 0
    assert c.verdict == "inconclusive" and "negative entries" in c.note
    assert certificate(s, U).certified


def test_snmf_gap_includes_the_multiplier_term():
    """N sits where Z is small (<= tol max Z_kk), not exactly zero: the gap counts <N, Z>."""
    M = np.array([[1.0, -0.5], [-0.5, 1.0]])
    X = np.array([[1.0, 0.0], [1e-8, 1.0]])          # Z_12 = 1e-8 <= tol: N_12 = ½ placed there
    c = certificate(SymmetricNMF(M, 2), X, tol=1e-6)
    Z = X @ X.T
    G = Z - M
    N = np.array([[0.0, max(G[0, 1], 0)], [max(G[1, 0], 0), 0.0]])
    assert c.gap == pytest.approx(np.sum((G - N) * Z) + np.sum(N * Z), rel=1e-9)
    assert c.gap == pytest.approx(np.sum(G * Z), rel=1e-9)
