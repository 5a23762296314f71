import numpy as np
import pytest

from bmlab.factorizations.udu import scaled_init, udu_factor
from bmlab.solvers.udu import run_bm, run_udu
from bmlab.fixed_points import bm_stationarity, bm_to_udu, check_fixed_point
from bmlab.problems.completion import make_completion


@pytest.fixture(scope="module")
def converged():
    P = make_completion(40, 3, rng=np.random.default_rng([0, 1]))
    U0 = scaled_init(40, 40, 1e-2, np.random.default_rng([0, 2]))
    res = run_udu(P, U0, eta=0.1, max_iter=20000)
    return P, res


def test_lemma1_at_converged_point(converged):
    P, res = converged
    U, d = res.x
    rep = check_fixed_point(P, U, d, eta=0.1)
    assert rep.fixed_point_residual < 1e-5
    assert not rep.constraint_active and np.isnan(rep.case_b)
    assert rep.case_a < 1e-4 and rep.case_c < 1e-4
    assert rep.bm_grad < 1e-4
    assert np.isclose(bm_stationarity(P, udu_factor(U, d)), rep.bm_grad)


def test_case_b_reported_when_active():
    rng = np.random.default_rng(1)
    P = make_completion(10, 2, 40, rng=rng)
    U = scaled_init(10, 10, 1.0, rng)
    rep = check_fixed_point(P, U, 100 * np.ones(10), eta=1.0)
    assert rep.constraint_active and np.isnan(rep.case_a) and rep.case_b > 0
    assert rep.fixed_point_residual > 0


def test_converse_map():
    rng = np.random.default_rng(2)
    P = make_completion(12, 2, 70, rng=rng)
    b = run_bm(P, scaled_init(12, 12, 1e-2, rng), eta=0.1, max_iter=3000)
    U, d = bm_to_udu(b.x, alpha=1.0)
    assert np.isclose(np.linalg.norm(U), 1.0)
    np.testing.assert_allclose((U * d) @ U.T, b.x @ b.x.T, atol=1e-12)
    rep = check_fixed_point(P, U, d, eta=0.1)
    g = bm_stationarity(P, b.x)
    assert rep.fixed_point_residual <= 0.1 * g * (1 + np.linalg.norm(b.x) ** 2) + 1e-15
    with pytest.raises(ValueError, match="gamma"):
        bm_to_udu(b.x, alpha=1.0, gamma=1e-3)
