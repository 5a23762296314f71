import numpy as np
import pytest

from bmlab.experiments.high_order_landscape import LandscapeParams, authors_start, run_landscape


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
