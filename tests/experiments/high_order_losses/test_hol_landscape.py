import numpy as np
import pytest

from bmlab.experiments.high_order_losses.landscape import LandscapeParams, authors_start, run_landscape


def test_authors_start():
    np.testing.assert_array_equal(authors_start(7)[:, 0], [0.5, 0, -0.5, 0, 0.5, 0, 0.5])


def test_weighted_row_matches_spec_values():
    res = run_landscape(LandscapeParams(lams=(0.0, 5.0)), grid_points=12)
    # spec 003 §6 (DERIVED): GD converges in 120 iterations to a spurious local minimum
    assert res.gd_status == "converged" and res.gd_iter == 120
    assert res.spec_hat == pytest.approx((0.1996, 4.0167), abs=1e-4)
    assert res.spec_star == pytest.approx((0.22, 4.40), abs=1e-12)
    assert res.E[0.0].shape == (12, 12) and res.alphas[0] == pytest.approx(-0.3)
    assert res.E[5.0].min() < res.E[0.0].min()


def test_gaussian_row_needs_rng_and_bad_kind():
    with pytest.raises(ValueError):
        run_landscape(LandscapeParams(kind="gaussian", n=20))
    with pytest.raises(ValueError):
        LandscapeParams(kind="other")


# ----------------------------------------------------------------------------- chapter module
import dataclasses  # noqa: E402

from bmlab.experiments.high_order_losses import landscape as exp  # noqa: E402


@pytest.fixture(scope="module")
def result():
    return exp.run(exp.Params.for_profile("quick", grid_points=6), np.random.default_rng(1))


def test_presets_and_validation():
    assert exp.Params.for_profile("quick").grid_points < exp.Params.for_profile("paper").grid_points
    with pytest.raises(ValueError):
        exp.Params.for_profile("quick", lams=(5.0, 0.0))
    with pytest.raises(ValueError):
        exp.Params.for_profile("quick", grid_points=1)


def test_claims_hold(result):
    cl = {c.id: c for c in exp.claims(result)}
    assert all(c.holds and not c.fragile for c in cl.values())
    assert cl["hol.landscape.spurious_point"].kind == "extension"
    assert cl["hol.landscape.hvp_check"].kind == "check"
    # the slides' caption describes the panels only: the deepening is our reading
    assert cl["hol.landscape.deeper_negative_curvature"].kind == "extension"


def test_curvature_claim_fails_if_lambda_does_not_deepen(result):
    w = result.weighted
    E = {lam: w.E[0.0].copy() for lam in w.E}       # the same landscape for every λ
    rows = dict(result.rows)
    rows[exp.WEIGHTED] = dataclasses.replace(w, E=E)
    c = {c.id: c for c in exp.claims(dataclasses.replace(result, rows=rows))}
    assert not c["hol.landscape.deeper_negative_curvature"].holds


def test_spurious_claim_fails_at_a_saddle(result):
    rows = dict(result.rows)
    rows[exp.WEIGHTED] = dataclasses.replace(result.weighted, spec_hat=(-0.05, 4.0))
    c = {c.id: c for c in exp.claims(dataclasses.replace(result, rows=rows))}
    assert not c["hol.landscape.spurious_point"].holds
