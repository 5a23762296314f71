"""Fault suite for the package API (issue 11, items 13-14).

Every public function of the maths layers (problems, bounds, factorizations, sdp, solvers,
landscape, fixed_points, nn) validates its inputs once, at the boundary, through
:mod:`bmlab.validation`. Each case below is a bad input that used to return garbage (a number
computed from NaN, a silently truncated shape, a negative bound ...) or to fail with an unclear
error (``LinAlgError`` with LAPACK noise on stderr, ``ZeroDivisionError``, ``IndexError``, a raw
broadcast error). Each must now raise ``ValueError``/``TypeError`` whose message names the
argument, before any work (no RuntimeWarning, nothing on stderr).
"""
from __future__ import annotations

import math
import re
import warnings
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import pytest

NAN, INF = float("nan"), float("inf")


@dataclass
class Case:
    id: str
    call: Callable[[], Any]
    exc: type
    name: str            # the argument the message must name

    @property
    def pattern(self) -> str:
        return r"(?<![A-Za-z0-9_])" + re.escape(self.name) + r"(?![A-Za-z0-9_])"


CASES: list[Case] = []


def case(id_, exc, name, call):
    CASES.append(Case(id_, call, exc, name))


def rng():
    return np.random.default_rng(0)


def eye(n=3):
    return np.eye(n)


def with_nan(a, idx=(0,)):
    a = np.array(a, dtype=float)
    a[idx] = NAN
    return a


# ---------------------------------------------------------------------------------------------
# bounds.exact_penalty
# ---------------------------------------------------------------------------------------------
from bmlab.bounds import exact_penalty as ep  # noqa: E402

G0 = np.array([[1.0, 0.5], [0.5, -2.0]])
case("cor1_bound11-L-nan", ValueError, "L", lambda: ep.corollary1_bound11(G0, 1.0, 0.5, NAN))
case("cor1_bound11-L-neg", ValueError, "L", lambda: ep.corollary1_bound11(G0, 1.0, 0.5, -1.0))
case("cor1_bound11-G0-nan", ValueError, "G0", lambda: ep.corollary1_bound11(with_nan(G0), 1.0, 0.5, 1.0))
case("cor1_bound11-G0-rect", ValueError, "G0", lambda: ep.corollary1_bound11(np.ones((2, 3)), 1.0, 0.5, 1.0))
case("cor1_bound11-D_norm-neg", ValueError, "D_norm", lambda: ep.corollary1_bound11(G0, 1.0, -0.5, 1.0))
case("cor1_bound11-f_val-inf", ValueError, "f_val", lambda: ep.corollary1_bound11(G0, INF, 0.5, 1.0))
case("cor1_bound11-mu-neg", ValueError, "mu", lambda: ep.corollary1_bound11(G0, 1.0, 0.5, 1.0, mu=-1.0))
case("cor1_bound11-diameter-type", TypeError, "diameter", lambda: ep.corollary1_bound11(G0, 1.0, 0.5, 1.0, diameter=3.0))
case("cor1_bound11-diameter-nan", ValueError, "diameter", lambda: ep.corollary1_bound11(G0, 1.0, 0.5, 1.0, diameter=lambda a: NAN))
case("cor1_bound12-L-nan", ValueError, "L", lambda: ep.corollary1_bound12(1.0, 0.5, NAN))
case("cor1_bound12-L-neg", ValueError, "L", lambda: ep.corollary1_bound12(1.0, 0.5, -1.0))
case("cor1_bound12-f_val-nan", ValueError, "f_val", lambda: ep.corollary1_bound12(NAN, 0.5, 1.0))
case("cor1_bound12-mu-neg", ValueError, "mu", lambda: ep.corollary1_bound12(1.0, 0.5, 1.0, mu=-2.0))
case("cor1_bound12-f_inf-str", TypeError, "f_inf", lambda: ep.corollary1_bound12(1.0, 0.5, 1.0, f_inf="0"))
case("theorem1_bound-mu-neg", ValueError, "mu", lambda: ep.theorem1_bound(G0, mu=-5.0))
case("theorem1_bound-G-inf", ValueError, "G", lambda: ep.theorem1_bound(with_nan(G0) * 0 + INF))
case("theorem1_bound-G-nan", ValueError, "G", lambda: ep.theorem1_bound(with_nan(G0)))
case("theorem1_bound-G-rect", ValueError, "G", lambda: ep.theorem1_bound(np.ones((2, 3))))
case("hu_kwok-L-nan", ValueError, "L", lambda: ep.hu_kwok_bound(NAN, 0.0))
case("hu_kwok-sigma-nan", ValueError, "sigma", lambda: ep.hu_kwok_bound(1.0, NAN))
case("rayleigh-D-shape", ValueError, "D", lambda: ep.rayleigh_quantity(G0, np.ones((3, 1))))
case("rayleigh-G-nan", ValueError, "G", lambda: ep.rayleigh_quantity(with_nan(G0), np.ones((2, 1))))
case("rayleigh-mu-nan", ValueError, "mu", lambda: ep.rayleigh_quantity(G0, np.ones((2, 1)), NAN))
case("zhu_bound-M-nan", ValueError, "M", lambda: ep.zhu_bound(with_nan(eye()), np.ones((3, 1))))
case("zhu_bound-U0-rows", ValueError, "U0", lambda: ep.zhu_bound(eye(), np.ones((2, 1))))
case("sym-B-rect", ValueError, "B", lambda: ep.sym(np.ones((2, 3))))

# ---------------------------------------------------------------------------------------------
# bounds.gd_asymmetric
# ---------------------------------------------------------------------------------------------
from bmlab.bounds import gd_asymmetric as ga  # noqa: E402

case("t_total-eta-0", ValueError, "eta", lambda: ga.t_total(0.0, 1e-3, 1.0, 1e-3, 3))
case("t_total-delta-neg", ValueError, "delta", lambda: ga.t_total(0.1, 1e-3, 1.0, -1e-3, 3))
case("t_total-d-0", ValueError, "d", lambda: ga.t_total(0.1, 1e-3, 1.0, 1e-3, 0))
case("t_total-eps-nan", ValueError, "eps", lambda: ga.t_total(0.1, NAN, 1.0, 1e-3, 3))
case("t_total-eta-array-0", ValueError, "eta", lambda: ga.t_total([0.1, 0.0], 1e-3, 1.0, 1e-3, 3))
case("t_total-sigma_d-str", TypeError, "sigma_d", lambda: ga.t_total(0.1, 1e-3, "1", 1e-3, 3))
case("t_flow-delta-0", ValueError, "delta", lambda: ga.t_flow(1e-3, 1.0, 0.0, 3))
case("t0_stage_one-eta-0", ValueError, "eta", lambda: ga.t0_stage_one(0.0, 1e-3, 1.0, 3))
case("t0_stage_one-d-0", ValueError, "d", lambda: ga.t0_stage_one(0.1, 1e-3, 1.0, 0))
case("theory_init_scale-d-0", ValueError, "d", lambda: ga.theory_init_scale(2.0, 1.0, 0, 5, 5))
case("theory_step-d-float", TypeError, "d", lambda: ga.theory_step(1e-3, 2.0, 1.0, 2.5))
case("scalar_flow_s-a0-0", ValueError, "a0", lambda: ga.scalar_flow_s(1.0, 1.0, 0.0))
case("scalar_flow_s-sigma-neg", ValueError, "sigma", lambda: ga.scalar_flow_s(1.0, -1.0, 0.1))
case("scalar_flow_s-t-nan", ValueError, "t", lambda: ga.scalar_flow_s([0.0, NAN], 1.0, 0.1))
case("scalar_flow_time-delta-0", ValueError, "delta", lambda: ga.scalar_flow_time(1.0, 0.1, 0.0))
case("init_constant-eps-0", ValueError, "eps", lambda: ga.init_constant(eye(2), eye(2), np.zeros((0, 2)), np.zeros((0, 2)), 0.0))
case("init_constant-V-shape", ValueError, "V", lambda: ga.init_constant(eye(2), eye(3), np.zeros((0, 2)), np.zeros((0, 2)), 0.1))
case("init_constant-U-nan", ValueError, "U", lambda: ga.init_constant(with_nan(eye(2)), eye(2), np.zeros((0, 2)), np.zeros((0, 2)), 0.1))
case("p_lower_bound-kappa-nan", ValueError, "kappa", lambda: ga.p_lower_bound(0.1, 5, 5, 2, NAN, 1.0))
case("stage_two_envelope-eta-neg", ValueError, "eta", lambda: ga.stage_two_envelope([0, 1], -0.1, 1.0))
case("stage_one_bounds-c-0", ValueError, "c", lambda: ga.stage_one_bounds(0.1, 2.0, 1.0, 2, 5, 5, 0.0))
case("lemma_constant-beta-1", ValueError, "beta", lambda: ga.lemma_constant(1.0))
case("lemma32-S-nan", ValueError, "S", lambda: ga.lemma32_slack(with_nan(eye(2)), eye(2), 0.01, 0.5))
case("lemma32-Sigma-nonsym", ValueError, "Sigma", lambda: ga.lemma32_slack(eye(2), np.array([[2.0, 1.0], [0.0, 1.0]]), 0.01, 0.5))
case("lemma33-P-shape", ValueError, "P", lambda: ga.lemma33_slack(eye(3), eye(2), 0.01, 0.5))
case("check_lemma-eta-str", TypeError, "eta", lambda: ga.check_lemma_hypotheses(eye(2), eye(2), "0.01", 0.5, True))

# ---------------------------------------------------------------------------------------------
# bounds.strict_saddle
# ---------------------------------------------------------------------------------------------
from bmlab.bounds import strict_saddle as ss  # noqa: E402

MS = np.diag([2.0, 1.0, 0.0])
case("C_l-l-2.5", TypeError, "l", lambda: ss.C_l(2.5, 4))
case("theorem3_bound-tr_M-0", ValueError, "tr_M", lambda: ss.theorem3_bound(1.0, 0.5, 0, 0.2))
case("theorem3_bound-D-nan", ValueError, "D", lambda: ss.theorem3_bound(NAN, 0.5, 3.0, 0.2))
case("theorem3_condition-sigma_r-neg", ValueError, "sigma_r", lambda: ss.theorem3_condition(1.0, -0.5, 3.0, 0.2))
case("theorem6_bound-lam-neg", ValueError, "lam", lambda: ss.theorem6_bound(1.0, 0.5, 3.0, 0.2, -1.0, 4, 9))
case("theorem6_bound-l-float", TypeError, "l", lambda: ss.theorem6_bound(1.0, 0.5, 3.0, 0.2, 1.0, 2.5, 9))
case("theorem6_threshold-lam-nan", ValueError, "lam", lambda: ss.theorem6_threshold(1.0, 0.5, 3.0, 0.2, NAN, 4, 9))
case("theorem6_condition-tr_M-neg", ValueError, "tr_M", lambda: ss.theorem6_condition(1.0, 0.5, -3.0, 0.2, 1.0, 4, 9))
case("theorem5_lhs-M_star-not-psd", ValueError, "M_star", lambda: ss.theorem5_lhs(np.diag([1.0, -1.0]), 1))
case("theorem5_lhs-r_star-big", ValueError, "r_star", lambda: ss.theorem5_lhs(MS, 4))
case("theorem5_lhs-r_star-rank", ValueError, "r_star", lambda: ss.theorem5_lhs(MS, 3))
case("theorem5_rhs-r-0", ValueError, "r", lambda: ss.theorem5_rhs(0, 0.2))
case("theorem5_condition-M_star-nan", ValueError, "M_star", lambda: ss.theorem5_condition(with_nan(MS), 1, 1, 0.2))
case("point_quantities-M_star-not-psd", ValueError, "M_star", lambda: ss.point_quantities(np.ones((2, 1)), np.diag([1.0, -1.0])))
case("point_quantities-X-rank", ValueError, "X", lambda: ss.point_quantities(np.ones((2, 3)), eye(2)))
case("point_quantities-X-nan", ValueError, "X", lambda: ss.point_quantities(with_nan(np.ones((2, 1))), eye(2)))


# ---------------------------------------------------------------------------------------------
# problems
# ---------------------------------------------------------------------------------------------
from bmlab.problems import completion as pc  # noqa: E402
from bmlab.problems import factorization as pf  # noqa: E402
from bmlab.problems import phase_retrieval as pr  # noqa: E402
from bmlab.problems import quadratic as pq  # noqa: E402
from bmlab.problems import scalar_toys as st  # noqa: E402
from bmlab.problems import sensing as se  # noqa: E402
from bmlab.problems import snmf as sn  # noqa: E402

S54 = np.arange(20.0).reshape(5, 4) / 10
case("truncated_svd-d-neg", ValueError, "d", lambda: pf.truncated_svd_optimum(S54, -1))
case("truncated_svd-d-too-big", ValueError, "d", lambda: pf.truncated_svd_optimum(S54, 10))
case("truncated_svd-d-float", TypeError, "d", lambda: pf.truncated_svd_optimum(S54, 2.0))
case("truncated_svd-Sigma-nan", ValueError, "Sigma", lambda: pf.truncated_svd_optimum(with_nan(S54), 2))
case("truncated_svd-Sigma-inf", ValueError, "Sigma", lambda: pf.truncated_svd_optimum(S54 + INF, 2))
case("truncated_svd-Sigma-1d", ValueError, "Sigma", lambda: pf.truncated_svd_optimum(np.ones(4), 1))
case("low_rank_matrix-sigmas-nan", ValueError, "sigmas", lambda: pf.low_rank_matrix(5, 4, [1.0, NAN], rng()))
case("low_rank_matrix-sigmas-inf", ValueError, "sigmas", lambda: pf.low_rank_matrix(5, 4, [INF, 1.0], rng()))
case("low_rank_matrix-m-float", TypeError, "m", lambda: pf.low_rank_matrix(5.5, 4, [1.0], rng()))
case("AsymmetricFactorization-Sigma-nan", ValueError, "Sigma", lambda: pf.AsymmetricFactorization(with_nan(S54)))
case("AsymmetricFactorization-optimum-d", ValueError, "d", lambda: pf.AsymmetricFactorization(S54).optimum(7))
case("QuadraticSensing-mu-nan", ValueError, "mu", lambda: pq.QuadraticSensing(np.ones((3, 2, 2)), np.ones(3), 1, mu=NAN))
case("QuadraticSensing-mu-inf", ValueError, "mu", lambda: pq.QuadraticSensing(np.ones((3, 2, 2)), np.ones(3), 1, mu=INF))
case("QuadraticSensing-A-nan", ValueError, "A", lambda: pq.QuadraticSensing(with_nan(np.ones((3, 2, 2))), np.ones(3), 1))
case("QuadraticSensing-b-nan", ValueError, "b", lambda: pq.QuadraticSensing(np.ones((3, 2, 2)), with_nan(np.ones(3)), 1))
case("sensing_instance-noise-nan", ValueError, "noise", lambda: pq.sensing_instance(3, 1, 10, rng(), noise=NAN))
case("sensing_instance-mu-nan", ValueError, "mu", lambda: pq.sensing_instance(3, 1, 10, rng(), mu=NAN))
case("sensing_instance-rng-seed", TypeError, "rng", lambda: pq.sensing_instance(3, 1, 10, 0))
case("sensing_instance-signs-nan", ValueError, "signs", lambda: pq.sensing_instance(3, 1, 10, rng(), signs=[NAN]))
case("LinearToy-c-inf", ValueError, "c", lambda: st.LinearToy(INF))
case("ShiftedSquareToy-spurious_u-lam-nan", ValueError, "lam", lambda: st.ShiftedSquareToy(-1.0).spurious_u(NAN))
case("as_factor-x-nan", ValueError, "x", lambda: st.as_factor(NAN))
case("make_completion-noise-nan", ValueError, "noise", lambda: pc.make_completion(10, 2, rng=rng(), noise=NAN))
case("make_completion-noise-inf", ValueError, "noise", lambda: pc.make_completion(10, 2, rng=rng(), noise=INF))
case("make_completion-rank-too-big", ValueError, "rank", lambda: pc.make_completion(5, 10, rng=rng()))
case("make_completion-rng-missing", TypeError, "rng", lambda: pc.make_completion(10, 2, rng=None))
case("make_completion-m-float", TypeError, "m", lambda: pc.make_completion(10, 2, 30.5, rng=rng()))
case("make_completion-truth", ValueError, "truth", lambda: pc.make_completion(10, 2, rng=rng(), truth="x"))
case("completion_truth-n-float", TypeError, "n", lambda: pc.completion_truth(5.5, 2, rng()))
case("MatrixCompletion-b-nan", ValueError, "b", lambda: pc.MatrixCompletion(3, [0, 1], [1, 2], [1.0, NAN]))
case("MatrixCompletion-rows-float", TypeError, "rows", lambda: pc.MatrixCompletion(3, [0.5, 1], [1, 2], [1.0, 2.0]))
case("MatrixCompletion-X_true-shape", ValueError, "X_true", lambda: pc.MatrixCompletion(3, [0, 1], [1, 2], [1.0, 2.0], X_true=eye(2)))
case("MatrixCompletion-relative_error-X", ValueError, "X", lambda: pc.MatrixCompletion(3, [0, 1], [1, 2], [1.0, 2.0], X_true=eye(3)).relative_error(eye(2)))
case("SymmetricNMF-M-nan", ValueError, "M", lambda: sn.SymmetricNMF(with_nan(eye()), 1))
case("SymmetricNMF-nonneg-str", TypeError, "nonneg", lambda: sn.SymmetricNMF(eye(), 1, nonneg="yes"))
case("nnls_gram-Q-indefinite", ValueError, "Q", lambda: sn.nnls_gram(-eye(2), np.ones((3, 2))))
case("nnls_gram-Q-nan", ValueError, "Q", lambda: sn.nnls_gram(with_nan(eye(2)), np.ones((3, 2))))
case("nnls_gram-B-shape", ValueError, "B", lambda: sn.nnls_gram(eye(2), np.ones((3, 3))))
case("random_psd_nonneg-rng", TypeError, "rng", lambda: sn.random_psd_nonneg(4, 2, 1))
case("random_indefinite_nonneg-n-0", ValueError, "n", lambda: sn.random_indefinite_nonneg(0, rng()))
case("digits_similarity-classes", ValueError, "classes", lambda: sn.digits_similarity(2, classes=(1, 12)))
case("DenseSensing-A-nan", ValueError, "A", lambda: se.DenseSensing(with_nan(np.ones((2, 3, 3)))))
case("WeightedEntrywiseSensing-weights-inf", ValueError, "weights", lambda: se.WeightedEntrywiseSensing(eye() + INF))
case("gaussian_sensing-std-inf", ValueError, "std", lambda: se.gaussian_sensing(3, 5, rng(), std=INF))
case("gaussian_sensing-n-float", TypeError, "n", lambda: se.gaussian_sensing(3.5, 5, rng()))
case("HighOrderLoss-M_star-not-psd", ValueError, "M_star", lambda: se.HighOrderLoss(se.WeightedEntrywiseSensing(np.ones((2, 2))), np.diag([1.0, -1.0])))
case("HighOrderLoss-M_star-nan", ValueError, "M_star", lambda: se.HighOrderLoss(se.WeightedEntrywiseSensing(np.ones((2, 2))), with_nan(eye(2))))
case("HighOrderLoss-lam-inf", ValueError, "lam", lambda: se.HighOrderLoss(se.WeightedEntrywiseSensing(np.ones((2, 2))), eye(2), lam=INF))
case("HighOrderLoss-scale-inf", ValueError, "scale", lambda: se.HighOrderLoss(se.WeightedEntrywiseSensing(np.ones((2, 2))), eye(2), scale=INF))
case("HighOrderLoss-Z-shape", ValueError, "Z", lambda: se.HighOrderLoss(se.WeightedEntrywiseSensing(np.ones((2, 2))), eye(2), Z=np.ones((3, 1))))
case("yalcin_instance-lam-inf", ValueError, "lam", lambda: se.yalcin_instance(4, lam=INF))
case("DenseSensing.scaled-factor-nan", ValueError, "factor", lambda: se.DenseSensing(np.ones((2, 3, 3))).scaled(NAN))
case("WeightedEntrywiseSensing.scaled-factor-0", ValueError, "factor", lambda: se.WeightedEntrywiseSensing(eye()).scaled(0.0))
case("alternating_start-magnitude-nan", ValueError, "magnitude", lambda: se.alternating_start(4, NAN))
case("yalcin_truth_spectrum-eps-2", ValueError, "eps", lambda: se.yalcin_truth_spectrum(4, 2.0))
case("yalcin_n3_spurious-eps-2", ValueError, "eps", lambda: se.yalcin_n3_spurious(2.0))
case("weighted_rip_delta-eps-nan", ValueError, "eps", lambda: se.weighted_rip_delta(NAN))
case("rip_delta-hi-inf", ValueError, "hi", lambda: se.rip_delta(0.5, INF))
case("rip_ratio_range-op", TypeError, "op", lambda: se.rip_ratio_range(np.ones((2, 3, 3)), 1, rng()))
case("rip_ratio_range-restarts-0", ValueError, "restarts", lambda: se.rip_ratio_range(se.WeightedEntrywiseSensing(np.ones((3, 3))), 1, rng(), restarts=0))
case("image_signal-img-nan", ValueError, "img", lambda: pr.image_signal(with_nan(eye(4))))
case("image_signal-factor-0", ValueError, "factor", lambda: pr.image_signal(eye(4), 0))
case("recover_signal-d-shape", ValueError, "d", lambda: pr.recover_signal(np.ones((4, 2)), np.ones(3)))
case("recover_signal-U-nan", ValueError, "U", lambda: pr.recover_signal(with_nan(np.ones((4, 2)))))
case("signal_error-x_true-shape", ValueError, "x_true", lambda: pr.signal_error(np.ones(4), np.ones(3)))
case("GaussianPR.make-x-nan", ValueError, "x", lambda: pr.GaussianPR.make(with_nan(np.ones(4)), rng=rng()))
case("GaussianPR.make-rng", TypeError, "rng", lambda: pr.GaussianPR.make(np.ones(4), rng=3))
case("GaussianPR-b-shape", ValueError, "b", lambda: pr.GaussianPR(A=np.ones((3, 5)), b=np.ones(4)))
case("fp_object-upsample-0", ValueError, "upsample", lambda: pr.fp_object(eye(4), 0))
case("FourierPtychography.make-noise-nan", ValueError, "noise", lambda: pr.FourierPtychography.make(np.ones((16, 16)), M=4, grid=1, noise=NAN, rng=rng()))
case("FourierPtychography.make-overlap-1", ValueError, "overlap", lambda: pr.FourierPtychography.make(np.ones((16, 16)), M=4, grid=1, overlap=1.0, rng=rng()))
case("FourierPtychography-pupil-shape", ValueError, "pupil", lambda: pr.FourierPtychography(N=8, M=4, shifts=np.zeros((1, 2), int), pupil=np.ones((3, 3))))
case("FourierPtychography-shifts-float", TypeError, "shifts", lambda: pr.FourierPtychography(N=8, M=4, shifts=np.zeros((1, 2)), pupil=np.ones((4, 4))))
case("FourierPtychography-b-nan", ValueError, "b", lambda: pr.FourierPtychography(N=8, M=4, shifts=np.zeros((1, 2), int), pupil=np.ones((4, 4)), b=np.full(16, NAN)))


# ---------------------------------------------------------------------------------------------
# factorizations
# ---------------------------------------------------------------------------------------------
from bmlab.factorizations import asymmetric as fa  # noqa: E402
from bmlab.factorizations import udu  # noqa: E402
from bmlab.factorizations import penalty as fpen  # noqa: E402
from bmlab.factorizations import spectral as fspec  # noqa: E402
from bmlab.problems import base as pbase  # noqa: E402
from bmlab.solvers import base as sbase  # noqa: E402
from bmlab.solvers import newton as snewton  # noqa: E402
from bmlab.solvers import udu as sudu  # noqa: E402


def completion():
    return pc.make_completion(10, 2, rng=rng())


def U0(n=10, r=2):
    return np.random.default_rng(1).standard_normal((n, r)) * 0.1


case("run_udu-U0-wrong-size", ValueError, "U0", lambda: sudu.run_udu(completion(), U0(8), eta=0.1, max_iter=5))
case("run_bm-U0-wrong-size", ValueError, "U0", lambda: sudu.run_bm(completion(), U0(12), eta=0.1, max_iter=5))
case("run_udu-U0-nan", ValueError, "U0", lambda: sudu.run_udu(completion(), with_nan(U0()), eta=0.1, max_iter=5))
case("run_bm-eta-0", ValueError, "eta", lambda: sudu.run_bm(completion(), U0(), eta=0.0, max_iter=5))
case("run_bm-eta-nan", ValueError, "eta", lambda: sudu.run_bm(completion(), U0(), eta=NAN, max_iter=5))
case("run_udu-eta-inf", ValueError, "eta", lambda: sudu.run_udu(completion(), U0(), eta=INF, max_iter=5))
case("run_udu-alpha-inf", ValueError, "alpha", lambda: sudu.run_udu(completion(), U0(), eta=0.1, max_iter=5, alpha=INF))
case("run_udu-d0-neg", ValueError, "d0", lambda: sudu.run_udu(completion(), U0(), [1.0, -1.0], eta=0.1, max_iter=5))
case("run_udu-d0-nan", ValueError, "d0", lambda: sudu.run_udu(completion(), U0(), [1.0, NAN], eta=0.1, max_iter=5))
case("run_bm-max_iter-float", TypeError, "max_iter", lambda: sudu.run_bm(completion(), U0(), eta=0.1, max_iter=5.5))
case("run_bm-trackers-not-callable", TypeError, "trackers['x']", lambda: sudu.run_bm(completion(), U0(), eta=0.1, max_iter=5, trackers={"x": 1}))
case("run_bm-callback-not-callable", TypeError, "callback", lambda: sudu.run_bm(completion(), U0(), eta=0.1, max_iter=5, callback=1))
case("run_bm-problem-type", TypeError, "problem", lambda: sudu.run_bm(object(), U0(), eta=0.1, max_iter=5))
case("run_bm-record-neg", ValueError, "record", lambda: sudu.run_bm(completion(), U0(), eta=0.1, max_iter=5, record=[-1, 2]))
case("scaled_init-rho-inf", ValueError, "rho", lambda: udu.scaled_init(5, 2, INF, rng()))
case("scaled_init-rng-int", TypeError, "rng", lambda: udu.scaled_init(5, 2, 1.0, 0))
case("scaled_init-n-float", TypeError, "n", lambda: udu.scaled_init(5.5, 2, 1.0, rng()))
case("udu_matrix-d-shape", ValueError, "d", lambda: udu.udu_matrix(U0(), np.ones(3)))
case("udu_factor-d-nan", ValueError, "d", lambda: udu.udu_factor(U0(), [NAN, 1.0]))
case("spectrum-U-nan", ValueError, "U", lambda: udu.spectrum(with_nan(U0())))
case("spectrum-U-inf", ValueError, "U", lambda: udu.spectrum(U0() + INF))
case("log_schedule-points-0", ValueError, "points", lambda: sbase.log_schedule(100, 0))
case("log_schedule-max_iter-float", TypeError, "max_iter", lambda: sbase.log_schedule(100.5))
case("Ridge-mu-inf", ValueError, "mu", lambda: pbase.Ridge(INF))
case("NoReg-mu-1", ValueError, "mu", lambda: pbase.NoReg(1.0))
case("NonNeg-mu-nan", ValueError, "mu", lambda: pbase.NonNeg(NAN))
case("penalized_hessian-X-nan", ValueError, "X", lambda: fa.penalized_hessian(st.LinearToy(1.0), np.full((1, 1), NAN), np.ones((1, 1)), 1.0))
case("penalized_hessian-Y-shape", ValueError, "Y", lambda: fa.penalized_hessian(st.LinearToy(1.0), np.ones((1, 1)), np.ones((2, 1)), 1.0))
case("penalized_hessian-lam-nan", ValueError, "lam", lambda: fa.penalized_hessian(st.LinearToy(1.0), np.ones((1, 1)), np.ones((1, 1)), NAN))

# ---------------------------------------------------------------------------------------------
# solvers
# ---------------------------------------------------------------------------------------------
from bmlab.solvers import alternating as am  # noqa: E402
from bmlab.solvers.gd import gradient_descent  # noqa: E402


def quad_grad(x):
    return x


case("gd-step-callable-returns-0", ValueError, "step(0)", lambda: gradient_descent(quad_grad, np.ones(2), step=lambda k: 0.0, max_iter=5))
case("gd-step-callable-returns-nan", ValueError, "step(0)", lambda: gradient_descent(quad_grad, np.ones(2), step=lambda k: NAN, max_iter=5))
case("gd-step-callable-returns-neg", ValueError, "step(2)", lambda: gradient_descent(quad_grad, np.ones(2), step=lambda k: 0.1 if k < 2 else -0.1, max_iter=5))
case("gd-step-inf", ValueError, "step", lambda: gradient_descent(quad_grad, np.ones(2), step=INF, max_iter=5))
case("gd-step-str", TypeError, "step", lambda: gradient_descent(quad_grad, np.ones(2), step="0.1", max_iter=5))
case("gd-tol-nan", ValueError, "tol", lambda: gradient_descent(quad_grad, np.ones(2), step=0.1, tol=NAN))
case("gd-tol-neg", ValueError, "tol", lambda: gradient_descent(quad_grad, np.ones(2), step=0.1, tol=-1.0))
case("gd-x0-nan", ValueError, "x0", lambda: gradient_descent(quad_grad, with_nan(np.ones(2)), step=0.1, max_iter=5))
case("gd-x0-tuple-inf", ValueError, "x0[1]", lambda: gradient_descent(lambda x: x, (np.ones(2), np.full(2, INF)), step=0.1, max_iter=5))
case("gd-grad-not-callable", TypeError, "grad", lambda: gradient_descent(np.ones(2), np.ones(2), step=0.1))
case("gd-max_iter-float", TypeError, "max_iter", lambda: gradient_descent(quad_grad, np.ones(2), step=0.1, max_iter=5.5))
case("gd-blowup-nan", ValueError, "blowup", lambda: gradient_descent(quad_grad, np.ones(2), step=0.1, blowup=NAN))
case("gd-objective-not-callable", TypeError, "objective", lambda: gradient_descent(quad_grad, np.ones(2), step=0.1, objective=3))
case("gd-rng-int", TypeError, "rng", lambda: gradient_descent(quad_grad, np.ones(2), step=0.1, perturbation=(1e-3, 0.1), rng=0))
case("gd-perturbation-nan", ValueError, "perturbation", lambda: gradient_descent(quad_grad, np.ones(2), step=0.1, perturbation=(NAN, 0.1), rng=rng()))


def snmf():
    return sn.SymmetricNMF(np.array([[2.0, 1.0, 0.0], [1.0, 2.0, 1.0], [0.0, 1.0, 2.0]]), 1)


X3 = np.full((3, 1), 0.5)
case("am-tol-nan", ValueError, "tol", lambda: am.alternating_minimization(snmf(), X3, X3, penalty=1.0, tol=NAN, max_iter=3))
case("am-X0-nan", ValueError, "X0", lambda: am.alternating_minimization(snmf(), with_nan(X3), X3, penalty=1.0, max_iter=3))
case("am-X0-wrong-size", ValueError, "X0", lambda: am.alternating_minimization(snmf(), np.ones((4, 1)), np.ones((4, 1)), penalty=1.0, max_iter=3))
case("am-penalty-bool", TypeError, "penalty", lambda: am.alternating_minimization(snmf(), X3, X3, penalty=True, max_iter=3))
case("am-lam0-str", TypeError, "lam0", lambda: am.alternating_minimization(snmf(), X3, X3, penalty=1.0, lam0="1", max_iter=3))
case("am-step_tol-nan", ValueError, "step_tol", lambda: am.alternating_minimization(snmf(), X3, X3, penalty=1.0, step_tol=NAN, max_iter=3))
case("am-blowup-neg", ValueError, "blowup", lambda: am.alternating_minimization(snmf(), X3, X3, penalty=1.0, blowup=-1.0, max_iter=3))
case("am-check_decrease-str", TypeError, "check_decrease", lambda: am.alternating_minimization(snmf(), X3, X3, penalty=1.0, check_decrease="yes", max_iter=3))
case("am-callback-not-callable", TypeError, "callback", lambda: am.alternating_minimization(snmf(), X3, X3, penalty=1.0, callback=1, max_iter=3))
case("am-max_iter-float", TypeError, "max_iter", lambda: am.alternating_minimization(snmf(), X3, X3, penalty=1.0, max_iter=3.5))
case("am-problem-type", TypeError, "problem", lambda: am.alternating_minimization(object(), X3, X3, penalty=1.0, max_iter=3))
case("admm-rho-inf", ValueError, "rho", lambda: am.nonconvex_admm(snmf(), X3, X3, rho=INF, max_iter=3))
case("admm-tol-nan", ValueError, "tol", lambda: am.nonconvex_admm(snmf(), X3, X3, rho=1.0, tol=NAN, max_iter=3))
case("admm-X0-inf", ValueError, "X0", lambda: am.nonconvex_admm(snmf(), X3 + INF, X3, rho=1.0, max_iter=3))
case("admm-Y0-shape", ValueError, "Y0", lambda: am.nonconvex_admm(snmf(), X3, np.ones((3, 2)), rho=1.0, max_iter=3))
case("ExactPenalty-eps-inf", ValueError, "eps", lambda: fpen.ExactPenalty(eps=INF))
case("AdaptivePenalty-lam_max-nan", ValueError, "lam_max", lambda: fpen.AdaptivePenalty(lam_max=NAN))
case("AdaptivePenalty-rho-inf", ValueError, "rho", lambda: fpen.AdaptivePenalty(rho=INF))
case("AdaptivePenalty-target-not-callable", TypeError, "target", lambda: fpen.AdaptivePenalty(target=1.0))
case("AccuracyPenalty-lam_max-neg", ValueError, "lam_max", lambda: fpen.AccuracyPenalty(lam_max=-1.0))
case("AlgorithmDependentPenalty-margin-nan", ValueError, "margin", lambda: fpen.AlgorithmDependentPenalty(margin=NAN))
case("StartBoundPenalty-margin-neg", ValueError, "margin", lambda: fpen.StartBoundPenalty(margin=-1.0))

# ---------------------------------------------------------------------------------------------
# landscape and fixed_points
# ---------------------------------------------------------------------------------------------
from bmlab import fixed_points as fp  # noqa: E402
from bmlab import landscape as ls  # noqa: E402


def yal():
    return se.yalcin_instance(3)


case("hessian_extremes-X-nan", ValueError, "X", lambda: ls.hessian_extremes(yal(), with_nan(np.ones((3, 1)))))
case("hessian_extremes-X-inf", ValueError, "X", lambda: ls.hessian_extremes(yal(), np.full((3, 1), INF)))
case("hessian_extremes-problem", TypeError, "problem", lambda: ls.hessian_extremes(object(), np.ones((3, 1))))
case("newton_refine-tol-inf", ValueError, "tol", lambda: snewton.newton_refine(yal(), np.ones((3, 1)), tol=INF))
case("newton_refine-rcond-nan", ValueError, "rcond", lambda: snewton.newton_refine(yal(), np.ones((3, 1)), rcond=NAN))
case("newton_refine-X0-nan", ValueError, "X0", lambda: snewton.newton_refine(yal(), with_nan(np.ones((3, 1)))))
case("newton_refine-max_iter-float", TypeError, "max_iter", lambda: snewton.newton_refine(yal(), np.ones((3, 1)), max_iter=2.5))
case("dedup-atol-nan", ValueError, "atol", lambda: ls.dedup_critical_points([np.ones((3, 1))], atol=NAN))
case("dedup-points-nan", ValueError, "points[1]", lambda: ls.dedup_critical_points([np.ones((3, 1)), with_nan(np.ones((3, 1)))]))
case("eigen_slice_2d-alphas-nan", ValueError, "alphas", lambda: ls.eigen_slice_2d(yal(), np.ones((3, 1)), np.ones((3, 1)), np.ones((3, 1)), [0.0, NAN], [0.0]))
case("enumerate-rng-int", TypeError, "rng", lambda: ls.enumerate_critical_points(yal(), (3, 1), 0, n_starts=1))
case("enumerate-scale-nan", ValueError, "scale", lambda: ls.enumerate_critical_points(yal(), (3, 1), rng(), n_starts=1, scale=NAN))
case("enumerate-shape", TypeError, "shape", lambda: ls.enumerate_critical_points(yal(), 3, rng(), n_starts=1))
case("check_fixed_point-eta-inf", ValueError, "eta", lambda: fp.check_fixed_point(completion(), U0(), np.ones(2), eta=INF))
case("check_fixed_point-U-wrong-size", ValueError, "U", lambda: fp.check_fixed_point(completion(), U0(8), np.ones(2), eta=0.1))
case("check_fixed_point-d-shape", ValueError, "d", lambda: fp.check_fixed_point(completion(), U0(), np.ones(3), eta=0.1))
case("check_fixed_point-rtol-nan", ValueError, "rtol", lambda: fp.check_fixed_point(completion(), U0(), np.ones(2), eta=0.1, rtol=NAN))
case("bm_stationarity-Ut-wrong-size", ValueError, "Ut", lambda: fp.bm_stationarity(completion(), U0(8)))
case("bm_to_udu-Ut-nan", ValueError, "Ut", lambda: fp.bm_to_udu(with_nan(U0())))

# ---------------------------------------------------------------------------------------------
# sdp
# ---------------------------------------------------------------------------------------------
from bmlab.sdp import completion as sdc  # noqa: E402
from bmlab.sdp import core as sdcore  # noqa: E402
from bmlab.sdp import penalty as sdpen  # noqa: E402
from bmlab.sdp import phaselift as sdpl  # noqa: E402
from bmlab.sdp import sensing as sdse  # noqa: E402


def gpr():
    return pr.GaussianPR.make(np.ones(4) / 2, rng=rng())


case("solve_sdp-solver-int", TypeError, "solver", lambda: sdcore.solve_sdp(None, None, solver=3))
case("solve_sdp-problem-type", TypeError, "problem", lambda: sdcore.solve_sdp(None, None))
case("relative_error-Z_ref-shape", ValueError, "Z_ref", lambda: sdcore.relative_error(eye(3), eye(2)))
case("relative_error-Z-nan", ValueError, "Z", lambda: sdcore.relative_error(with_nan(eye(2)), eye(2)))
case("numerical_rank-Z-nan", ValueError, "Z", lambda: fspec.numerical_rank(with_nan(eye(2))))
case("numerical_rank-rtol-nan", ValueError, "rtol", lambda: fspec.numerical_rank(eye(2), NAN))
case("trace_min_completion-problem", TypeError, "problem", lambda: sdc.trace_min_completion(gpr()))
case("psd_least_squares-problem", TypeError, "problem", lambda: sdc.psd_least_squares(gpr()))
case("phaselift_trace-problem", TypeError, "problem", lambda: sdpl.phaselift_trace(completion()))
case("phaselift_ls-problem", TypeError, "problem", lambda: sdpl.phaselift_ls(completion()))
case("sensing_sdp-b-shape", ValueError, "b", lambda: sdse.sensing_sdp(se.WeightedEntrywiseSensing(eye()), np.ones(4)))
case("sensing_sdp-b-nan", ValueError, "b", lambda: sdse.sensing_sdp(se.WeightedEntrywiseSensing(eye()), with_nan(np.ones(9))))
case("sensing_sdp-op", TypeError, "op", lambda: sdse.sensing_sdp(np.ones((9, 3, 3)), np.ones(9)))
case("split_problem_sdp-nonneg-str", TypeError, "nonneg", lambda: sdpen.split_problem_sdp(snmf(), nonneg="no"))
case("compare_with_sdp-sdp-none", TypeError, "sdp", lambda: sdpen.compare_with_sdp(snmf(), X3, X3, None))
case("compare_with_sdp-Y-shape", ValueError, "Y", lambda: sdpen.compare_with_sdp(snmf(), X3, np.ones((3, 2)), None))


# ---------------------------------------------------------------------------------------------
# nn (parameter checks at the public entry points)
# ---------------------------------------------------------------------------------------------
import torch  # noqa: E402
from torch import nn  # noqa: E402

from bmlab.nn import data as nd  # noqa: E402
from bmlab.nn import heads as nh  # noqa: E402
from bmlab.nn import layers as nl  # noqa: E402
from bmlab.nn import lora as nlo  # noqa: E402
from bmlab.nn import training as ntr  # noqa: E402


def enter(cm):
    with cm:
        pass


def tiny():
    return nl.FactorNet(3, 2, 1, model="udv", generator=torch.Generator().manual_seed(0))


def data():
    return torch.zeros(4, 3), torch.zeros(4, 1)


case("huang_width-d-float", TypeError, "d", lambda: nl.huang_width(2.5, 1))
case("FactorNet-init_std-nan", ValueError, "init_std", lambda: nl.FactorNet(3, 2, 1, init="trunc_normal", init_std=NAN))
case("numerical_rank-spectrum-rtol-nan", ValueError, "rtol", lambda: fspec.numerical_rank(np.ones(3), NAN, spectrum=True))
case("numerical_rank-spectrum-2d", ValueError, "spectrum", lambda: fspec.numerical_rank(np.ones((2, 2)), spectrum=True))
case("final_average-last-0", ValueError, "last", lambda: ntr.final_average(np.ones(5), 0))
case("Diagonal-width-float", TypeError, "width", lambda: nl.Diagonal(2.5))
case("prune_curve_widths-width-0", ValueError, "width", lambda: nl.prune_curve_widths(0))
case("prune_curve_widths-width-float", TypeError, "width", lambda: nl.prune_curve_widths(2.5, "geometric"))
case("LoRALinear-init_std-nan", ValueError, "init_std", lambda: nlo.LoRALinear(nn.Linear(3, 2), 1, init_std=NAN))
case("LoRALinear-udv-str", TypeError, "udv", lambda: nlo.LoRALinear(nn.Linear(3, 2), 1, udv="no"))
case("apply_lora-model", TypeError, "model", lambda: nlo.apply_lora(None, 1))
case("apply_lora-init_std-inf", ValueError, "init_std", lambda: nlo.apply_lora(nn.Sequential(nn.Linear(3, 2)), 1, init_std=INF))
case("energy_pruned-no-adapters", ValueError, "model", lambda: nlo.energy_pruned(nn.Sequential(nn.Linear(3, 2)), 0.9))
case("energy_pruned-tau-nan", ValueError, "tau", lambda: nlo.energy_pruned(nn.Sequential(nn.Linear(3, 2)), NAN))
case("seed_for-root-neg", ValueError, "root", lambda: ntr.seed_for(-1, 2))
case("seed_for-key-float", TypeError, "keys[0]", lambda: ntr.seed_for(1, 2.5))
case("make_generator-seed-float", TypeError, "seed", lambda: ntr.make_generator(2.5))
case("torch_threads-n-0", ValueError, "n", lambda: enter(ntr.torch_threads(0)))
case("make_optimizer-lr-inf", ValueError, "lr", lambda: ntr.make_optimizer(tiny().parameters(), "adam", INF))
case("make_optimizer-momentum-1.5", ValueError, "momentum", lambda: ntr.make_optimizer(tiny().parameters(), "sgd-momentum", 1e-3, momentum=1.5))
case("evaluate-batch_size-0", ValueError, "batch_size", lambda: ntr.evaluate(tiny(), *data(), "regression", batch_size=0))
case("evaluate-task", ValueError, "task", lambda: ntr.evaluate(tiny(), *data(), "ranking"))
case("train-lr-inf", ValueError, "lr", lambda: ntr.train(tiny(), data(), lr=INF, epochs=1, device="cpu"))
case("train-momentum-nan", ValueError, "momentum", lambda: ntr.train(tiny(), data(), momentum=NAN, epochs=1, device="cpu"))
case("train-blowup-nan", ValueError, "blowup", lambda: ntr.train(tiny(), data(), blowup=NAN, epochs=1, device="cpu"))
case("train-callback", TypeError, "callback", lambda: ntr.train(tiny(), data(), callback=1, epochs=1, device="cpu"))
case("split_indices-n-1", ValueError, "n", lambda: nd.split_indices(1))
case("swap_head-width-0", ValueError, "width", lambda: nh.swap_head(nn.Sequential(nn.Linear(3, 2)), "0", width=0))
case("SmallCNN-n_classes-0", ValueError, "n_classes", lambda: nh.SmallCNN(0))
case("SmallCNN-channels", TypeError, "channels", lambda: nh.SmallCNN(10, channels=16))
case("throughput-n-0", ValueError, "n", lambda: __import__("bmlab.nn.benchmark", fromlist=["x"]).throughput("uv", torch.device("cpu"), n=0))


# ---------------------------------------------------------------------------------------------
# the tests
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("c", CASES, ids=[c.id for c in CASES])
def test_bad_input_is_refused_with_a_named_argument(c: Case, capfd):
    with warnings.catch_warnings():
        warnings.simplefilter("error")          # no RuntimeWarning on the way to the error
        with pytest.raises(c.exc) as info:
            c.call()
    assert re.search(c.pattern, str(info.value)), f"message does not name {c.name!r}: {info.value}"
    assert capfd.readouterr().err == ""         # no LAPACK or other noise on stderr


def test_the_suite_is_large_enough():
    # issue 11: at least 120 API cases, each failing on the code before the fix
    assert len(CASES) >= 120


# ---------------------------------------------------------------------------------------------
# valid input: the checks change no bit of the results
# ---------------------------------------------------------------------------------------------

def test_valid_inputs_give_the_unchecked_formulas_bit_for_bit():
    G = np.array([[1.0, 0.5], [0.5, -2.0]])
    assert ep.theorem1_bound(G, mu=0.4) == 0.5 * float(np.linalg.eigvalsh(0.5 * (G + G.T))[-1]) - 0.1
    L, d2, e = 2.0, 0.25 ** 2, 1.5
    assert ep.corollary1_bound12(e, 0.25, L) == (L * d2 + np.sqrt(L * L * d2 * d2 + 32.0 * L * e)) / 8.0
    eta, eps, sd, delta, d = 0.1, 1e-3, 0.5, 1e-4, 3
    assert ga.t_total(eta, eps, sd, delta, d) == (np.log(d * sd / eps) + np.log(sd / delta)) / (eta * sd)
    assert ss.theorem3_bound(1.0, 0.5, 3.0, 0.2) == 2 * 1.2 * 0.25 - 0.8 * 1.0 / 3.0
    assert ss.C_l(4, 9) == 9 ** (-1.0) * (15 / 4 - 1)
    U, V, f = pf.truncated_svd_optimum(S54, 2)
    P, s, Qt = np.linalg.svd(S54, full_matrices=False)
    assert np.array_equal(U, P[:, :2] * np.sqrt(s[:2])) and np.array_equal(V, Qt[:2].T * np.sqrt(s[:2]))
    assert f == 0.5 * float(np.sum(s[2:] ** 2))


def test_a_schedule_of_positive_steps_still_runs():
    res = gradient_descent(quad_grad, np.ones(2), step=lambda k: 0.5 / (k + 1), max_iter=3)
    assert res.status == "max_iter" and np.all(np.isfinite(res.x))


@pytest.mark.parametrize("rule", [fpen.ExactPenalty(), fpen.AlgorithmDependentPenalty(),
                                  fpen.StartBoundPenalty()], ids=lambda r: r.name)
def test_penalty_rules_report_an_overflowing_iterate_as_nan_not_an_exception(rule):
    # inside AM a non-finite penalty ends the run with status "diverged" (an outcome), so the
    # rules must not hand the overflow to the validated bounds, which would raise
    problem = snmf()
    problem.L = 1.0
    X = np.full((3, 1), 1e200)
    with np.errstate(over="ignore", invalid="ignore"):
        assert math.isnan(rule(1, problem, X, X, 1.0))


def test_case_ids_are_unique():
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids))
