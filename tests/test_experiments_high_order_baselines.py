import numpy as np
import pytest

from bmlab.experiments.high_order_baselines import (
    LocalSearchParams, local_search, sdp_table, zhang_rank_bound)
from bmlab.problems.sensing import gaussian_sensing
from bmlab.sdp.core import relative_error
from bmlab.sdp.sensing import sensing_sdp


def test_sdp_recovers_weighted_instance():
    t = sdp_table((3,), 0.3)
    assert (t.status == "optimal").all() and (t.rel_error < 1e-6).all() and (t["rank"] == 1).all()


def test_sdp_dense_operator_and_bad_form():
    rng = np.random.default_rng(0)
    op = gaussian_sensing(3, 12, rng)
    z = rng.standard_normal((3, 1))
    res = sensing_sdp(op, op.apply(z @ z.T), form="min_trace")
    assert res.ok and relative_error(res.Z, z @ z.T) < 1e-5
    with pytest.raises(ValueError):
        sensing_sdp(op, op.apply(z @ z.T), form="other")


def test_local_search_and_zhang_bound():
    df = local_search(LocalSearchParams(n=3, runs=3, max_iter=500), 1, 0.0,
                      np.random.default_rng(0))
    assert len(df) == 3 and df.success.dtype == bool
    assert zhang_rank_bound(0.0) == 0.0
    assert zhang_rank_bound(0.5) == pytest.approx(1.0)
