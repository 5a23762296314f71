"""The Problem protocol (bmlab.problems.base): every problem adopts it, its derivatives agree with
finite differences, and the solvers give the same iterates whether they get the Problem or the
callables it bundles."""
import numpy as np
import pytest

from bmlab.factorizations.asymmetric import PenalizedSplit, SymmetricObjective
from bmlab.factorizations.udu import BurerMonteiro, UDUFactorization, scaled_init
from bmlab.problems.base import (MeasurementProblem, Problem, SplitProblem, dense_hessian,
                                 is_problem)
from bmlab.problems.completion import make_completion
from bmlab.problems.factorization import AsymmetricFactorization, low_rank_matrix
from bmlab.problems.phase_retrieval import FourierPtychography, GaussianPR, fp_object
from bmlab.problems.quadratic import sensing_instance
from bmlab.problems.scalar_toys import LinearToy, ShiftedSquareToy
from bmlab.problems.sensing import HighOrderLoss, gaussian_sensing, yalcin_instance
from bmlab.problems.snmf import SymmetricNMF, random_psd_nonneg
from bmlab.solvers.alternating import alternating_minimization
from bmlab.solvers.gd import gradient_descent
from bmlab.solvers.udu import run_bm, run_udu


def _map(fn, *xs):
    if isinstance(xs[0], tuple):
        return tuple(fn(*p) for p in zip(*xs))
    return fn(*xs)


def _dot(a, b):
    if isinstance(a, tuple):
        return sum(float(np.vdot(p, q).real) for p, q in zip(a, b))
    return float(np.vdot(a, b).real)


def _like(x, rng):
    return _map(lambda p: rng.standard_normal(np.shape(p)), x)


def _instances():
    rng = np.random.default_rng(7)
    x = rng.standard_normal(6)
    pr = GaussianPR.make(x / np.linalg.norm(x), rng=rng)
    comp = make_completion(8, 2, rng=rng)
    qs, _ = sensing_instance(3, 2, 15, rng, mu=0.2)
    snmf = SymmetricNMF(random_psd_nonneg(5, 2, rng), 2)
    Sigma, _, _ = low_rank_matrix(4, 3, [2.0, 1.0], rng)
    hol = HighOrderLoss(gaussian_sensing(4, 12, rng), np.outer(x[:4], x[:4]), lam=0.3)
    sym = lambda n: (lambda A: A + A.T)(rng.standard_normal((n, n)))  # noqa: E731
    return [
        ("HighOrderLoss", hol, rng.standard_normal((4, 2))),
        ("yalcin", yalcin_instance(4, eps=0.3, lam=0.5), rng.standard_normal((4, 1))),
        ("AsymmetricFactorization", AsymmetricFactorization(Sigma, balance=0.125),
         (rng.standard_normal((4, 2)), rng.standard_normal((3, 2)))),
        ("MatrixCompletion", comp, sym(8)),
        ("GaussianPR", pr, sym(6)),
        ("QuadraticSensing", qs, rng.standard_normal((3, 3))),
        ("SymmetricNMF", snmf, rng.standard_normal((5, 5))),
        ("LinearToy", LinearToy(2.0), rng.standard_normal((1, 1))),
        ("ShiftedSquareToy", ShiftedSquareToy(m=-1.0), rng.standard_normal((1, 1))),
        ("SymmetricObjective", SymmetricObjective(qs), rng.standard_normal((3, 2))),
        ("PenalizedSplit", PenalizedSplit(qs, 0.7),
         (rng.standard_normal((3, 2)), rng.standard_normal((3, 2)))),
        ("BurerMonteiro", BurerMonteiro(pr), rng.standard_normal((6, 2))),
        ("UDUFactorization", UDUFactorization(pr, alpha=2.0),
         (rng.standard_normal((6, 2)), rng.uniform(0.5, 1.5, 2))),
    ]


INSTANCES = _instances()


@pytest.mark.parametrize("name,problem,x", INSTANCES, ids=[i[0] for i in INSTANCES])
def test_protocol_derivatives_match_finite_differences(name, problem, x):
    assert isinstance(problem, Problem) and is_problem(problem)
    rng = np.random.default_rng(1)
    v = _like(x, rng)
    t = 1e-6
    xp, xm = _map(lambda a, b: a + t * b, x, v), _map(lambda a, b: a - t * b, x, v)
    fd = (problem.value(xp) - problem.value(xm)) / (2 * t)
    g = problem.grad(x)
    assert fd == pytest.approx(_dot(g, v), rel=1e-5, abs=1e-7)
    fd_h = _map(lambda a, b: (a - b) / (2 * t), problem.grad(xp), problem.grad(xm))
    hv = problem.hvp(x, v)
    for a, b in zip(fd_h if isinstance(fd_h, tuple) else (fd_h,), hv if isinstance(hv, tuple) else (hv,)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6 * (1 + np.abs(b).max()))
    H = problem.hessian(x)
    flat = np.concatenate([np.ravel(p) for p in v]) if isinstance(v, tuple) else np.ravel(v)
    hflat = np.concatenate([np.ravel(p) for p in hv]) if isinstance(hv, tuple) else np.ravel(hv)
    np.testing.assert_allclose(H @ flat, hflat, rtol=1e-8, atol=1e-8 * (1 + np.abs(hflat).max()))
    assert _map(lambda a: a, problem.project(x)) is not None


def test_problem_kinds():
    kinds = {name: p for name, p, _ in INSTANCES}
    for name in ("MatrixCompletion", "GaussianPR"):
        assert isinstance(kinds[name], MeasurementProblem)
    for name in ("QuadraticSensing", "SymmetricNMF", "LinearToy", "ShiftedSquareToy"):
        assert isinstance(kinds[name], SplitProblem)
    assert UDUFactorization.constrained and not BurerMonteiro(kinds["GaussianPR"]).constrained


def test_base_problem_reports_missing_methods():
    class Half(Problem):
        def value(self, x):
            return float(np.sum(x ** 2))

    with pytest.raises(NotImplementedError, match="grad"):
        Half().grad(np.zeros(2))
    with pytest.raises(NotImplementedError, match="hvp"):
        Half().hessian(np.zeros(2))
    assert not is_problem(object())


def test_dense_hessian_of_a_quadratic():
    A = np.array([[2.0, 1.0], [1.0, 3.0]])
    H = dense_hessian(lambda x, v: A @ v, np.zeros(2))
    np.testing.assert_array_equal(H, A)


def test_fourier_ptychography_dense_operator_matches_factored_forward():
    rng = np.random.default_rng(0)
    obj = fp_object(rng.uniform(size=(4, 4)), upsample=2)
    sys = FourierPtychography.make(obj, M=4, grid=2, noise=0.0, rng=rng)
    U = rng.standard_normal((sys.n, 2)) + 1j * rng.standard_normal((sys.n, 2))
    X = U @ U.conj().T
    np.testing.assert_allclose(sys.apply(X), sys.forward_factored(U), rtol=1e-10, atol=1e-12)
    res = rng.standard_normal(sys.b.size)
    np.testing.assert_allclose(sys.adjoint_dense(res) @ U, sys.sym_adjoint_apply(res, U),
                               rtol=1e-10, atol=1e-12)
    assert sys.value(X) == pytest.approx(0.5 * np.sum((sys.forward_factored(U) - sys.b) ** 2))


# --------------------------------------------------------------------------- same iterates


def _assert_same(a, b):
    for p, q in zip(a if isinstance(a, tuple) else (a,), b if isinstance(b, tuple) else (b,)):
        assert np.array_equal(p, q)


def test_gd_on_a_problem_equals_gd_on_its_callables():
    prob = yalcin_instance(4, eps=0.3, lam=0.5)
    X0 = 0.3 * np.ones((4, 1))
    a = gradient_descent(prob, X0, step=0.05, max_iter=100, record_every=7)
    b = gradient_descent(prob.grad, X0, step=0.05, max_iter=100, objective=prob.value, record_every=7)
    _assert_same(a.x, b.x)
    for key in b.history:
        assert np.array_equal(a.history[key], b.history[key])
    assert a.fun == b.fun == prob.value(a.x)


def test_projected_gd_on_the_udu_problem_is_run_udu():
    rng = np.random.default_rng(2)
    comp = make_completion(20, 2, rng=rng)
    U0 = scaled_init(20, 4, 1e-2, rng)
    d0 = np.ones(4)
    ref = run_udu(comp, U0, d0, eta=0.2, max_iter=150, alpha=1.2)
    new = gradient_descent(UDUFactorization(comp, alpha=1.2), (U0, d0), step=0.2, max_iter=150)
    _assert_same(ref.x, new.x)
    assert new.fun == pytest.approx(ref.fun, rel=1e-12)
    bm = run_bm(comp, U0, eta=0.2, max_iter=150)
    new_bm = gradient_descent(BurerMonteiro(comp), U0, step=0.2, max_iter=150)
    _assert_same(bm.x, new_bm.x)


def test_record_schedule_and_callback_style():
    prob = yalcin_instance(4, eps=0.3)
    seen = []
    res = gradient_descent(prob, 0.3 * np.ones((4, 1)), step=0.05, max_iter=30,
                           record=np.array([0, 3, 10]), callback=lambda k, x: seen.append(k))
    assert res.history["iter"].tolist() == [0, 3, 10, 30]
    assert seen == list(range(1, 31))
    every = gradient_descent(prob, 0.3 * np.ones((4, 1)), step=0.05, max_iter=30, record=10)
    assert every.history["iter"].tolist() == [0, 10, 20, 30]
    with pytest.raises(ValueError, match="one of record"):
        gradient_descent(prob, np.ones((4, 1)), step=0.05, max_iter=3, record=2, record_every=2)
    with pytest.raises(ValueError, match="record"):
        gradient_descent(prob, np.ones((4, 1)), step=0.05, max_iter=3, record=0)


def test_am_record_schedule_callback_and_fun():
    rng = np.random.default_rng(4)
    snmf = SymmetricNMF(random_psd_nonneg(6, 2, rng), 2)
    X0, Y0 = rng.uniform(size=(6, 2)), rng.uniform(size=(6, 2))
    seen = []
    a = alternating_minimization(snmf, X0, Y0, penalty=0.5, max_iter=20, record=4,
                                 callback=lambda k, x: seen.append((k, len(x))))
    b = alternating_minimization(snmf, X0, Y0, penalty=0.5, max_iter=20, record_every=4)
    _assert_same(a.x, b.x)
    assert a.history["iter"].tolist() == b.history["iter"].tolist() == [0, 4, 8, 12, 16, 20]
    assert seen == [(k, 2) for k in range(1, 21)]
    assert a.fun == PenalizedSplit(snmf, 0.5).value(a.x)
    assert a.wall_time >= 0 and a.nit == 20


def test_sdp_baselines_take_the_same_object_as_the_solvers():
    from bmlab.sdp.completion import psd_least_squares
    from bmlab.sdp.core import lifted_problem
    from bmlab.sdp.penalty import split_problem_sdp
    from bmlab.sdp.sensing import sensing_sdp

    kinds = {name: p for name, p, _ in INSTANCES}
    snmf, hol, comp = kinds["SymmetricNMF"], kinds["HighOrderLoss"], kinds["MatrixCompletion"]
    assert lifted_problem(SymmetricObjective(snmf)) is snmf and lifted_problem(hol) is hol
    a = split_problem_sdp(SymmetricObjective(snmf))
    b = split_problem_sdp(snmf)
    assert a.ok and a.objective == pytest.approx(b.objective, rel=1e-9, abs=1e-12)
    c, d = sensing_sdp(hol), sensing_sdp(hol.op, hol.b)
    assert c.ok and c.objective == pytest.approx(d.objective, rel=1e-9, abs=1e-12)
    e, f = psd_least_squares(UDUFactorization(comp)), psd_least_squares(comp)
    assert e.status == f.status and e.objective == pytest.approx(f.objective, rel=1e-6, abs=1e-9)
    with pytest.raises(TypeError, match="b is required"):
        sensing_sdp(hol.op)
