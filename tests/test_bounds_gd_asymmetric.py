import numpy as np
import pytest

from bmlab.bounds import gd_asymmetric as gb


def test_theory_parameters():
    eps = gb.theory_init_scale(3.0, 1.0, 3, 20, 15)
    assert eps == pytest.approx(1 / np.sqrt(27 * 3 * 35))
    assert gb.theory_step(1e-3, 3.0, 1.0, 3) == pytest.approx(1e-6 / 81)
    with pytest.raises(ValueError, match="eps"):
        gb.theory_step(0.0, 3.0, 1.0, 3)


def test_t_total_formula_and_flow_limit():
    T = gb.t_total(0.01, 1e-3, 1.0, 1e-8, 3)
    assert T == pytest.approx((np.log(3e3) + np.log(1e8)) / 0.01)
    assert gb.t_flow(1e-3, 1.0, 1e-8, 3) == pytest.approx(T * 0.01)
    assert np.allclose(gb.t_total([0.01, 0.02], 1e-3, 1.0, 1e-8, 3), [T, T / 2])
    assert gb.t0_stage_one(0.01, 1e-3, 1.0, 3) == pytest.approx(np.log(3e6) / 0.01)


def test_scalar_flow_solves_the_ode_and_its_time():
    from scipy.integrate import solve_ivp
    sigma, a0 = 2.0, 1e-2
    t = np.linspace(0, 8, 50)
    sol = solve_ivp(lambda _, a: (sigma - a ** 2) * a, (0, 8), [a0], t_eval=t, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(gb.scalar_flow_s(t, sigma, a0), sol.y[0] ** 2, rtol=1e-8)
    for delta in (1e-2, 1e-6, 1e-12):
        T = gb.scalar_flow_time(sigma, a0, delta)
        assert abs(sigma - gb.scalar_flow_s(T, sigma, a0)) == pytest.approx(delta, rel=1e-8)
    assert gb.scalar_flow_time(sigma, 1.5, 10.0) == 0.0


def test_init_constant_makes_the_event_hold():
    rng = np.random.default_rng(0)
    d, eps = 3, 1e-3
    U, V = eps * rng.standard_normal((d, d)), eps * rng.standard_normal((d, d))
    J, K = eps * rng.standard_normal((10, d)), eps * rng.standard_normal((6, d))
    c = gb.init_constant(U, V, J, K, eps)
    A, B = (U + V) / 2 / eps, (U - V) / 2 / eps
    s = np.linalg.svd(A, compute_uv=False)
    tol = 1 + 1e-12
    assert s[-1] * tol >= 1 / (c * np.sqrt(d)) and s[0] <= c * np.sqrt(d) * tol
    assert np.linalg.norm(B) <= c * d * tol
    assert np.linalg.norm(J / eps, 2) <= c * np.sqrt(10) * tol
    assert np.linalg.norm(K / eps, 2) <= c * np.sqrt(6) * tol
    b = gb.stage_one_bounds(eps, 3.0, 1.0, d, 13, 9, c)
    assert b["B_F"] == pytest.approx(2 * c * d * eps) and b["sd_A_target"] == pytest.approx(np.sqrt(0.5))
    assert gb.p_lower_bound(eps, 13, 9, d, 3.0, c) < 0


def test_envelope():
    env = gb.stage_two_envelope([0, 10], 0.01, 1.0)
    assert env[0] == pytest.approx(0.4) and env[1] == pytest.approx(0.4 * 0.995 ** 10)


def _random_case(rng, d=3):
    s1 = rng.uniform(1, 5)
    sig = np.sort(rng.uniform(0.1, 1, d))[::-1] * s1
    sig[0] = s1
    beta = rng.uniform(0.05, 0.95)
    eta = beta / (8 * s1) * rng.uniform(0.1, 1)
    return np.diag(sig), s1, beta, eta


def test_lemmas_hold_on_random_instances():
    rng = np.random.default_rng(1)
    for _ in range(300):
        Sig, s1, beta, eta = _random_case(rng)
        G = rng.standard_normal((3, 3))
        S = G @ G.T
        S *= rng.uniform(0, 2 * s1) / np.linalg.eigvalsh(S)[-1]
        assert gb.lemma32_slack(S, Sig, eta, beta) >= -1e-12
        P = (G + G.T) / 2
        P *= rng.uniform(0, 2 * s1) / np.abs(np.linalg.eigvalsh(P)).max()
        assert gb.lemma33_slack(P, Sig, eta, beta) >= -1e-12


def test_lemma_hypotheses_are_checked():
    Sig = np.diag([2.0, 1.0])
    with pytest.raises(ValueError, match="eta"):
        gb.lemma32_slack(np.eye(2), Sig, 1.0, 0.5)
    with pytest.raises(ValueError, match="beta"):
        gb.lemma32_slack(np.eye(2), Sig, 0.01, 1.5)
    with pytest.raises(ValueError, match="2 sigma_1"):
        gb.lemma33_slack(10 * np.eye(2), Sig, 0.01, 0.5)
    with pytest.raises(ValueError, match="semidefinite"):
        gb.lemma32_slack(-np.eye(2), Sig, 0.01, 0.5)
    with pytest.raises(ValueError, match="positive definite"):
        gb.lemma32_slack(np.eye(2), np.diag([1.0, 0.0]), 0.01, 0.5)
    assert gb.lemma_constant(0.5) == pytest.approx(22.0)
