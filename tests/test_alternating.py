"""Algorithm 1 (AM) and the penalty rules of paper 000 on the scalar toys."""
import math

import numpy as np
import pytest

from bmlab.factorizations.penalty import (AccuracyPenalty, AdaptivePenalty, AlgorithmDependentPenalty,
                                          ExactPenalty, FixedPenalty, make_rule)
from bmlab.problems.scalar_toys import LinearToy, ShiftedSquareToy, as_factor
from bmlab.solvers.alternating import alternating_minimization

X0, Y0 = as_factor(1.0), as_factor(-2.0)


def test_fixed_above_bound_converges_to_solution():
    res = alternating_minimization(LinearToy(), X0, Y0, penalty=0.8, max_iter=500)
    assert res.status == "converged"
    assert abs(res.x[0][0, 0]) < 1e-9 and abs(res.x[1][0, 0]) < 1e-9
    # one sweep multiplies y by (1 - c/lam)^2
    q = (1 - 1 / 0.8) ** 2
    X, Y = res.x
    assert res.history["gap"][0] == pytest.approx(3.0)


def test_am_sweep_matches_closed_form():
    res = alternating_minimization(LinearToy(), X0, Y0, penalty=0.8, max_iter=1)
    X, Y = res.x
    a = 1 - 1 / 0.8
    assert X[0, 0] == pytest.approx(a * -2.0)
    assert Y[0, 0] == pytest.approx(a * a * -2.0)


def test_fixed_below_bound_diverges_without_warning():
    with np.errstate(all="raise"):
        res = alternating_minimization(LinearToy(), X0, Y0, penalty=0.3, max_iter=100000)
    assert res.status == "diverged" and "overflowed" in res.message


def test_alternative_toy_spurious_pair():
    q = ShiftedSquareToy(-1.0)
    res = alternating_minimization(q, X0, Y0, penalty=0.3, max_iter=5000)
    X, Y = res.x
    assert res.status == "converged"
    assert abs(abs(X[0, 0]) - q.spurious_u(0.3)) < 1e-8 and abs(X[0, 0] + Y[0, 0]) < 1e-8


def test_rules_on_toy41():
    p = LinearToy()
    agd = alternating_minimization(p, X0, Y0, penalty=AlgorithmDependentPenalty(), lam0=1e-3)
    assert agd.status == "diverged" and "unbounded" in agd.message
    adp = alternating_minimization(p, X0, Y0, penalty=AdaptivePenalty(1.05), lam0=1e-3)
    assert adp.status == "diverged"
    pca = alternating_minimization(p, X0, Y0, penalty=AccuracyPenalty(), lam0=1 / 3)
    assert pca.status == "diverged"
    our = alternating_minimization(p, X0, Y0, penalty=ExactPenalty(0.1), lam0=1 / 3)
    assert our.status == "converged"
    assert np.allclose(our.history["lam"][2:], 0.6)


def test_accuracy_rule_stalls_from_close_start():
    res = alternating_minimization(LinearToy(), as_factor(1.0), as_factor(-0.5),
                                   penalty=AccuracyPenalty(), lam0=1 / 1.5)
    assert res.status == "stalled"
    assert abs(res.x[0][0, 0]) > 1e-3


def test_exact_rule_quantities():
    q = ShiftedSquareToy(2.0, nonneg=True)
    rule = ExactPenalty(eps=0.5)
    # D = 0: conservative value [1/2 (z - m)]_+ + eps
    assert rule(1, q, as_factor(2.0), as_factor(2.0), 1.0) == pytest.approx(0.5 * 2 + 0.5)
    assert rule(1, q, as_factor(0.5), as_factor(0.5), 1.0) == pytest.approx(0.5)
    cons = ExactPenalty(eps=0.1, mode="conservative")
    assert cons(1, LinearToy(2.0), X0, Y0, 1.0) == pytest.approx(1.1)


def test_sufficient_decrease_on_fixed_run():
    res = alternating_minimization(ShiftedSquareToy(-1.0), X0, Y0, penalty=0.7, max_iter=200,
                                   check_decrease=True)
    m = res.history["decrease_margin"][1:]
    assert np.all(m >= -1e-12)


def test_record_every_keeps_last():
    res = alternating_minimization(LinearToy(), X0, Y0, penalty=0.51, max_iter=1000,
                                   record_every=100)
    assert res.history["iter"][-1] == res.n_iter
    assert len(res.history["iter"]) <= 12


def test_validation():
    with pytest.raises(ValueError, match="rule must be one of"):
        make_rule("nope")
    with pytest.raises(TypeError):
        alternating_minimization(LinearToy(), X0, Y0, penalty="0.5")
    with pytest.raises(ValueError, match="lam0"):
        alternating_minimization(LinearToy(), X0, Y0, penalty=AdaptivePenalty())
    with pytest.raises(ValueError, match="mode"):
        ExactPenalty(mode="x")
    with pytest.raises(ValueError, match="rho"):
        AdaptivePenalty(rho=0.5)
    with pytest.raises(ValueError, match="record_every"):
        alternating_minimization(LinearToy(), X0, Y0, penalty=1.0, record_every=0)
    assert FixedPenalty(0.3)(0, None, None, None, None) == 0.3
    assert math.isinf(AdaptivePenalty().lam_max)


def test_nonconvex_admm_on_snmf():
    from bmlab.problems.snmf import SymmetricNMF, random_psd_nonneg
    from bmlab.solvers.alternating import nonconvex_admm
    rng = np.random.default_rng(0)
    p = SymmetricNMF(random_psd_nonneg(8, 2, rng), 2)
    X0 = 0.3 * rng.uniform(size=(8, 2))
    res = nonconvex_admm(p, X0, X0, rho=0.05, max_iter=3000, tol=1e-8)
    X, Y = res.x
    assert res.status == "converged" and np.linalg.norm(X - Y) < 1e-7
    with pytest.raises(ValueError):
        nonconvex_admm(p, X0, X0, rho=0.0)


def test_nonconvex_admm_record_schedule_and_fun():
    from bmlab.problems.snmf import SymmetricNMF, random_psd_nonneg
    from bmlab.solvers.alternating import nonconvex_admm

    rng = np.random.default_rng(8)
    prob = SymmetricNMF(random_psd_nonneg(6, 2, rng), 2)
    X0, Y0 = rng.uniform(size=(6, 2)), rng.uniform(size=(6, 2))
    full = nonconvex_admm(prob, X0, Y0, rho=2.0, max_iter=25)
    sparse = nonconvex_admm(prob, X0, Y0, rho=2.0, max_iter=25, record=np.array([0, 5, 6]),
                            callback=lambda k, x: None)
    assert all(np.array_equal(a, b) for a, b in zip(full.x, sparse.x))
    assert sparse.history["iter"].tolist() == [0, 5, 6, 25]
    assert np.array_equal(sparse.history["gap"], full.history["gap"][[0, 5, 6, 25]])
    assert full.fun == sparse.fun == full.history["sym_value"][-1]
