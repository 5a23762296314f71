"""The compiled batched GD on the asymmetric factorization (Ye & Du) against its oracle, the
shared numpy loop :func:`bmlab.solvers.gd.gradient_descent` on
:class:`~bmlab.problems.factorization.AsymmetricFactorization` with the chapters' relative-loss
objective and stopping rule: iterates, history, stopping and divergence, to 1e-12 relative.
The in-loop snapshots against a Python callback. Small instances; no timings."""
import numpy as np
import pytest

from bmlab.problems.factorization import AsymmetricFactorization, low_rank_matrix
from bmlab.solvers.gd import gradient_descent
from bmlab.solvers.kernels_gd import SNAPSHOT_FIELDS, evaluate_trackers, run_asym_gd_batch

RTOL = 1e-12


def _oracle(S, x0, *, eta, max_iter, balance=0.0, delta=None, f_star=0.0, record_every=1,
            callback=None):
    """The chapters' run_gd (experiments/asymmetric_gd/common.py), restated."""
    prob = AsymmetricFactorization(S, balance=balance)
    scale = prob.f0
    stop = None if delta is None else (lambda k, x, g: prob.loss(x) - f_star <= delta * scale)
    return gradient_descent(prob.grad, tuple(x0), step=eta, max_iter=max_iter,
                            objective=lambda x: prob.loss(x) / scale, stop=stop,
                            callback=callback, record_every=record_every)


def _instances(B, m=9, n=7, d=2, eps=1e-2, seed=0):
    rng = np.random.default_rng(seed)
    S = np.stack([low_rank_matrix(m, n, [2.0, 1.0][:d], rng)[0] for _ in range(B)])
    U0 = eps * rng.standard_normal((B, m, d))
    V0 = eps * rng.standard_normal((B, n, d))
    return S, U0, V0


def _rel(a, b):
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(a)), 1e-300))


def _same(ref, got):
    assert (got.status, got.n_iter, got.message) == (ref.status, ref.n_iter, ref.message)
    np.testing.assert_array_equal(got.history["iter"], ref.history["iter"])
    # the loss and the gradient are differences (UVᵀ - Σ): near the optimum they carry the
    # rounding of Σ's scale, so they are compared relative to the largest value of the run
    for key in ("objective", "grad_norm"):
        scale = np.max(np.abs(ref.history[key]))
        np.testing.assert_allclose(got.history[key], ref.history[key], rtol=RTOL, atol=RTOL * scale)
    assert _rel(ref.x[0], got.x[0]) <= RTOL and _rel(ref.x[1], got.x[1]) <= RTOL
    assert got.fun == pytest.approx(ref.fun, rel=RTOL, abs=RTOL * np.max(ref.history["objective"]))


@pytest.mark.parametrize("balance", [0.0, 0.125])
def test_batch_matches_oracle_with_stopping_rule(balance):
    S, U0, V0 = _instances(3)
    etas = np.array([0.05, 0.1, 0.2])
    got = run_asym_gd_batch(S, U0, V0, eta=etas, balance=balance, max_iter=3000, delta=1e-8,
                            record_every=7)
    for q in range(3):
        ref = _oracle(S[q], (U0[q], V0[q]), eta=etas[q], balance=balance, max_iter=3000,
                      delta=1e-8, record_every=7)
        assert ref.status == "converged"
        _same(ref, got[q])


def test_max_iter_shared_sigma_and_f_star():
    S, U0, V0 = _instances(2, seed=1)
    got = run_asym_gd_batch(S[0], U0, V0, eta=0.1, max_iter=150, delta=1e-30, f_star=-1e-3)
    for q in range(2):
        _same(_oracle(S[0], (U0[q], V0[q]), eta=0.1, max_iter=150, delta=1e-30, f_star=-1e-3),
              got[q])
        assert got[q].status == "max_iter"


@pytest.mark.parametrize("eta", [3.0, 1e3])
def test_divergence(eta):
    S, U0, V0 = _instances(1, eps=1.0, seed=2)
    ref = _oracle(S[0], (U0[0], V0[0]), eta=eta, max_iter=500, record_every=1)
    got = run_asym_gd_batch(S, U0, V0, eta=eta, max_iter=500)[0]
    assert ref.status == "diverged"
    assert (got.status, got.n_iter, got.message) == (ref.status, ref.n_iter, ref.message)
    np.testing.assert_array_equal(got.history["iter"], ref.history["iter"])
    assert np.all(np.isfinite(got.x[0]))


def test_snapshots_match_a_callback():
    S, U0, V0 = _instances(2, seed=3)
    sched = np.r_[0:20, 20:400:13, 399]
    got = run_asym_gd_batch(S, U0, V0, eta=0.1, max_iter=399, record_every=400, snapshot=sched)
    seen = {}
    prob = AsymmetricFactorization(S[1])
    cb = lambda k, x: seen.__setitem__(k, (x[0].copy(), x[1].copy()))  # noqa: E731
    seen[0] = (U0[1], V0[1])
    _oracle(S[1], (U0[1], V0[1]), eta=0.1, max_iter=399, record_every=400, callback=cb)
    r = got[1]
    np.testing.assert_array_equal(r.history["snap_iter"], np.unique(sched))
    sd = lambda U, V: np.linalg.svd(U @ V.T, compute_uv=False)[1]  # noqa: E731
    tr = evaluate_trackers(r, {"sd": sd, "loss": lambda U, V: prob.loss((U, V))})
    for i, k in enumerate(r.history["snap_iter"]):
        U, V = seen[int(k)]
        assert _rel(U, r.snapshots[i][:9]) <= RTOL and _rel(V, r.snapshots[i][9:]) <= RTOL
        assert tr["sd"][i] == pytest.approx(sd(U, V), rel=1e-10)
        assert r.history["snap_loss"][i] == pytest.approx(prob.loss((U, V)), rel=RTOL)
        assert r.history["snap_balance"][i] == pytest.approx(
            np.linalg.norm(prob.imbalance((U, V))), rel=1e-10, abs=1e-15)
    assert set(SNAPSHOT_FIELDS) <= {k[5:] for k in r.history if k.startswith("snap_")}


def test_errors():
    S, U0, V0 = _instances(2)
    with pytest.raises(ValueError):
        run_asym_gd_batch(S, U0, V0[:1], eta=0.1, max_iter=3)
    with pytest.raises(ValueError):
        run_asym_gd_batch(S, U0, V0, eta=[0.1], max_iter=3)
    with pytest.raises(ValueError):
        run_asym_gd_batch(S, U0, V0, eta=0.0, max_iter=3)
