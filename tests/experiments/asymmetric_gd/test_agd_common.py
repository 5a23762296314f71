import numpy as np
import pandas as pd
import pytest

from bmlab.experiments.asymmetric_gd import common as ag
from bmlab.experiments.asymmetric_gd import flow as fl


def _setup(seed=0, m=9, n=7, sig=(3.0, 2.0, 1.0), scale=0.3):
    rng = np.random.default_rng(seed)
    inst = ag.make_instance(m, n, sig, rng)
    x = (scale * rng.standard_normal((m, len(sig))), scale * rng.standard_normal((n, len(sig))))
    return inst, x


def test_blocks_and_residual_split():
    inst, x = _setup()
    Ub, Vb, J, K = ag.blocks(inst, x)
    A, B, P, Q = ag.named_matrices(Ub, Vb, inst.sigmas)
    np.testing.assert_allclose(np.diag(inst.sigmas) - Ub @ Vb.T, P + Q, atol=1e-13)
    np.testing.assert_allclose(P, P.T, atol=1e-14)
    np.testing.assert_allclose(Q, -Q.T, atol=1e-14)
    R2 = np.sum(inst.problem().residual(x) ** 2)
    split = ag.residual_split(Ub, Vb, J, K, inst.sigmas)
    assert abs(R2 - split.sum()) <= 1e-12 * R2
    assert split[3] > 1e-3 * R2      # the ||J V^T||^2 term the paper's summary omits matters


def test_block_dynamics_eq_6_to_9():
    inst, x = _setup(1)
    eta = 0.01
    prob = inst.problem()
    g = prob.grad(x)
    xn = (x[0] - eta * g[0], x[1] - eta * g[1])
    U, V, J, K = ag.blocks(inst, x)
    Un, Vn, Jn, Kn = ag.blocks(inst, xn)
    S = np.diag(inst.sigmas)
    np.testing.assert_allclose(Un, U + eta * (S - U @ V.T) @ V - eta * U @ K.T @ K, atol=1e-13)
    np.testing.assert_allclose(Vn, V + eta * (S - U @ V.T).T @ U - eta * V @ J.T @ J, atol=1e-13)
    np.testing.assert_allclose(Jn, J - eta * J @ (V.T @ V + K.T @ K), atol=1e-13)
    np.testing.assert_allclose(Kn, K - eta * K @ (U.T @ U + J.T @ J), atol=1e-13)


def test_balance_drift_formula_is_exact():
    inst, x = _setup(2)
    prob, eta = inst.problem(), 0.05
    g = prob.grad(x)
    xn = (x[0] - eta * g[0], x[1] - eta * g[1])
    act = prob.imbalance(xn) - prob.imbalance(x)
    pred = ag.balance_step_drift(prob, x, eta)
    assert np.linalg.norm(act - pred) <= 1e-14 * max(1, np.linalg.norm(act)) * 10
    assert np.linalg.norm(act) > 1e-6


def test_eq12_corrected_sign_is_exact_printed_is_not():
    inst, x = _setup(3)
    prob, eta = inst.problem(), 0.02
    g = prob.grad(x)
    xn = (x[0] - eta * g[0], x[1] - eta * g[1])
    Ub, Vb, J, K = ag.blocks(inst, x)
    Pn = ag.named_matrices(*ag.blocks(inst, xn)[:2], inst.sigmas)[2]
    err_c = np.linalg.norm(ag.p_update_eq12(Ub, Vb, J, K, inst.sigmas, eta, -1) - Pn)
    err_p = np.linalg.norm(ag.p_update_eq12(Ub, Vb, J, K, inst.sigmas, eta, +1) - Pn)
    assert err_c < 1e-13 and err_p > 1e-6
    with pytest.raises(ValueError, match="sign"):
        ag.p_update_eq12(Ub, Vb, J, K, inst.sigmas, eta, 0)


def test_tracker_fed_by_the_shared_loop():
    rng = np.random.default_rng(4)
    inst = ag.make_instance(12, 8, [2.0, 1.0], rng)
    x0 = ag.gaussian_init(12, 8, 2, 1e-3, rng)
    tr = ag.BlockTracker(inst, every=5, eta=0.02)
    tr.observe(0, x0)
    res = ag.run_gd(inst.problem(), x0, eta=0.02, max_iter=2000, delta=1e-10, callback=tr)
    df = tr.frame()
    assert res.status == "converged" and df["iter"].iloc[0] == 0
    assert df["split_err"].max() < 1e-13 and df["drift_err"].max() < 1e-14
    assert df["rel_loss"].iloc[-1] < 1e-8
    st = ag.stage_times(df, 1.0)
    assert 0 < st["T1"] <= st["T0"] < res.n_iter
    assert res.wall_time > 0
    with pytest.raises(ValueError, match="every"):
        ag.BlockTracker(inst, every=0)


def test_seed_sweep_and_scaling_grid():
    p = ag.SeedSweepParams(m=8, n=6, sigmas=(2.0, 1.0), max_iter=5000)
    df, curves = ag.seed_sweep(p, [0, 1], lambda s: np.random.default_rng(s))
    assert (df["status"] == "converged").all() and len(curves) == 2
    sp = ag.ScalingParams(m=8, n=6, d=2, max_iter=50_000)
    grid = ag.scaling_grid(sp, "eta", [0.01, 0.02, 0.04], [0, 1],
                           lambda *k: np.random.default_rng(list(k)))
    tab = ag.slope_table(grid)
    row = tab.iloc[0]
    assert row["predicted"] == pytest.approx(-1.0)
    assert abs(row["fitted"] + 1) < 0.15
    with pytest.raises(ValueError, match="knob"):
        ag.scaling_grid(sp, "nope", [1], [0], lambda *k: np.random.default_rng(0))


@pytest.mark.parametrize("knob, values", [("eps", [1e-6, 1e-3, 1e-2]), ("delta", [1e-2, 1e-8]),
                                          ("eta", [0.01, 0.04]), ("m+n", [10, 20])])
def test_scaling_grid_batch_equals_the_oracle(knob, values):
    """The batched kernel gives the same iteration counts, warm-up ends and statuses as the
    shared numpy loop (the oracle) on the same instances and starts."""
    sp = ag.ScalingParams(m=8, n=6, d=2, max_iter=6000)
    rf = lambda *k: np.random.default_rng(list(k))  # noqa: E731
    cols = ["knob", "value", "seed", "T", "T1", "status", "T_pred", "eta", "eps", "delta"]
    ref = ag.scaling_grid(sp, knob, values, [0, 1, 2], rf, warmup=True)
    got = ag.scaling_grid_batch(sp, knob, values, [0, 1, 2], rf, warmup=True)
    assert ref["T1"].notna().all()
    pd.testing.assert_frame_equal(got[cols], ref[cols])


def test_scaling_grid_batch_widens_the_warmup_window(monkeypatch):
    """A warm-up longer than the snapshot window (here forced by a tiny T0) is found on a rerun
    with a longer window; a run that stops before its warm-up ends keeps T1 = NaN, as the
    oracle's clock does."""
    import bmlab.bounds.gd_asymmetric as bg
    sp = ag.ScalingParams(m=8, n=6, d=2, max_iter=6000)
    rf = lambda *k: np.random.default_rng(list(k))  # noqa: E731
    ref = ag.scaling_grid(sp, "eps", [1e-3], [0, 1], rf, warmup=True)
    monkeypatch.setattr(bg, "t0_stage_one", lambda *a: 10.0)
    got = ag.scaling_grid_batch(sp, "eps", [1e-3], [0, 1], rf, warmup=True)
    np.testing.assert_array_equal(got["T1"], ref["T1"])
    early = ag.ScalingParams(m=8, n=6, d=2, max_iter=6000, delta=10.0)   # stops at t = 1
    g2 = ag.scaling_grid_batch(early, "eps", [1e-3], [0], rf, warmup=True)
    r2 = ag.scaling_grid(early, "eps", [1e-3], [0], rf, warmup=True)
    assert np.isnan(g2["T1"].iloc[0]) and np.isnan(r2["T1"].iloc[0])
    assert g2["T"].iloc[0] == r2["T"].iloc[0]


def test_geometric_sigmas():
    np.testing.assert_allclose(ag.geometric_sigmas(3, 1.0, 4.0), [4.0, 2.0, 1.0])
    np.testing.assert_allclose(ag.geometric_sigmas(1, 0.5, 4.0), [0.5])
    with pytest.raises(ValueError):
        ag.gaussian_init(3, 3, 1, 0.0, np.random.default_rng(0))


# ---- gradient flow ---------------------------------------------------------------------------

def _sym_case(rank_sigma=3, n=6, r=3, seed=0):
    rng = np.random.default_rng(seed)
    lam = np.array([3.0, 2.0, 1.0, 0, 0, 0])[:n]
    lam[rank_sigma:] = 0
    W = np.linalg.qr(rng.standard_normal((n, n)))[0]
    Sigma = (W * lam) @ W.T
    X0 = 0.1 * rng.standard_normal((n, r))
    return Sigma, X0 @ X0.T


@pytest.mark.parametrize("rank_sigma", [3, 2])
def test_closed_form_matches_ivp(rank_sigma):
    Sigma, S0 = _sym_case(rank_sigma)
    times = np.linspace(0, 20, 21)
    cf = fl.flow_S_chunked(Sigma, S0, times)
    iv = fl.flow_S_ivp(Sigma, S0, times)
    assert np.max(np.abs(cf - iv)) < 1e-9
    np.testing.assert_allclose(fl.closed_form_S(Sigma, S0, 2.0), cf[2], atol=1e-12)


def test_flow_validation():
    with pytest.raises(ValueError, match="symmetric"):
        fl.closed_form_S(np.ones((2, 3)), np.eye(2), 1.0)
    with pytest.raises(ValueError, match="times"):
        fl.flow_S_chunked(np.eye(2), np.eye(2), [1.0, 0.5])


def test_uv_flow_conserves_balance():
    rng = np.random.default_rng(0)
    inst = ag.make_instance(6, 5, [2.0, 1.0], rng)
    U0, V0 = 0.1 * rng.standard_normal((6, 2)), 0.1 * rng.standard_normal((5, 2))
    U, V = fl.uv_flow_ivp(inst.Sigma, U0, V0, np.linspace(0, 30, 4))
    D0 = U0.T @ U0 - V0.T @ V0
    for Ut, Vt in zip(U, V):
        assert np.linalg.norm(Ut.T @ Ut - Vt.T @ Vt - D0) < 1e-9
    assert np.linalg.norm(U[-1] @ V[-1].T - inst.Sigma) < 1e-6


# ---- later additions: balance tracker, modifications, lemmas, flow helpers -------------------

def test_balance_tracker_and_drift_runs():
    inst, _ = _setup(5)
    rng = np.random.default_rng(5)
    x0 = ag.gaussian_init(inst.m, inst.n, inst.d, 1e-2, rng)
    df, trs = ag.balance_drift_runs(inst, x0, [0.01, 0.02], flow_time=3.0, n_records=10)
    assert (df["formula_err_max"] < 1e-14).all()
    assert df["step_drift_max"].iloc[1] > 3 * df["step_drift_max"].iloc[0]   # ~ eta^2
    assert trs[0].iters[0] == 0 and len(trs[0].dist) == len(trs[0].iters)


def test_modifications_compare_small():
    p = ag.SeedSweepParams(m=8, n=6, sigmas=(2.0, 1.0), max_iter=4000)
    df = ag.modifications_compare(p, [1e-3, 0.0], [0], lambda *k: np.random.default_rng(list(k)))
    z = df[df["eps"] == 0.0].set_index("method")
    assert z.loc["GD", "status"] == "max_iter" and z.loc["perturbed GD", "status"] == "converged"
    r = df[df["eps"] == 1e-3].set_index("method")
    assert (r["status"] == "converged").all()
    assert r.loc["GD + balancing", "balance_end"] < 1e-3 * r.loc["GD", "balance_end"]
    assert (r["dist_to_svd"] < 1e-4).all()
    noisy = ag.modifications_compare(p, [1e-3], [0], lambda *k: np.random.default_rng(list(k)), noise=0.01)
    assert (noisy["status"] == "converged").all() and (noisy["dist_to_svd"] < 1e-4).all()


def test_lemma_slacks_and_eq12_errors():
    from bmlab.experiments.asymmetric_gd import lemmas as lm
    df = lm.lemma_slacks(200, np.random.default_rng(0))
    assert (df["slack32"] >= -1e-12 * df["sigma_1"]).all()
    assert (df["slack33"] >= -1e-12 * df["sigma_1"]).all()
    inst, x = _setup(6)
    st = [ag.blocks(inst, x)]
    e = lm.eq12_errors(st, inst.sigmas, [1e-3, 1e-2])
    assert (e["corrected"] < 1e-13).all() and (e["printed"] > 1e-9).all()


def test_flow_helpers():
    Sigma, S0 = _sym_case(3)
    rng = np.random.default_rng(1)
    X0 = 0.1 * rng.standard_normal((6, 3))
    ts = np.linspace(0, 2, 5)
    cf = fl.flow_S_chunked(Sigma, X0 @ X0.T, ts)
    e1 = np.abs(fl.gd_symmetric_S(Sigma, X0, 0.01, ts) - cf).max()
    e2 = np.abs(fl.gd_symmetric_S(Sigma, X0, 0.005, ts) - cf).max()
    assert e2 < 0.6 * e1
    T = fl.time_to_delta(Sigma, X0 @ X0.T, [1e-2, 1e-4], 40.0, dt=0.01)
    assert 0 < T[0] < T[1]
    from bmlab.bounds.gd_asymmetric import scalar_flow_time
    _, Ts = fl.scalar_flow_ivp(1.0, 1e-2, [1e-3], 20.0)
    assert abs(Ts[0] - scalar_flow_time(1.0, 1e-2, 1e-3)) < 1e-6
