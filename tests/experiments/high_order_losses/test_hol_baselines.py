import numpy as np
import pytest

from bmlab.experiments.high_order_losses.baselines import (
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


# ----------------------------------------------------------------------------- chapter module
import pandas as pd  # noqa: E402

from bmlab.experiments.high_order_losses import baselines as exp  # noqa: E402


def _result(s0, s5, zhang_success):
    p = exp.Params.for_profile("quick")
    sdp = pd.DataFrame({"n": [3, 3], "form": ["least_squares", "min_trace"],
                        "status": ["optimal"] * 2, "rel_error": [1e-9, 1e-9], "rank": [1, 1]})
    rows = [{"r": 1, "lam": lam, "run": k, "status": "max_iter", "D": 0.0 if s else 3.0,
             "success": bool(s)} for lam, ss in ((0.0, s0), (5.0, s5)) for k, s in enumerate(ss)]
    zh = pd.DataFrame({"r": p.r_zhang, "lam": 0.0, "run": range(len(zhang_success)),
                       "status": "max_iter", "D": 0.0, "success": zhang_success})
    return exp.Result(p, sdp, pd.DataFrame(rows), zh)


def test_presets_and_validation():
    q, p = exp.Params.for_profile("quick"), exp.Params.for_profile("paper")
    assert q.runs <= p.runs and 1 in q.ranks and q.lam_compare in q.lams
    # Zhang's rank must lie in r* <= r < n: at eps = 0.3 (r = 26 > n = 7) it is refused
    assert q.r_zhang < q.n
    with pytest.raises(ValueError, match="r\\* <= r < n"):
        exp.Params.for_profile("quick", eps_zhang=0.3)


def test_claims_and_labels():
    cl = {c.id: c for c in exp.claims(_result([1] * 12, [0] * 8 + [1] * 4, [True] * 12))}
    assert all(c.holds and not c.fragile for c in cl.values())
    assert cl["hol.baselines.sdp_recovers"].kind == "check"
    assert cl["hol.baselines.highorder_vs_plain"].kind == "extension"
    assert cl["hol.baselines.highorder_vs_plain"].exploratory
    assert cl["hol.baselines.overparam_guarantee"].kind == "extension"  # Zhang (2022): background


def test_zhang_claim_fails_when_one_run_ends_elsewhere():
    cl = {c.id: c for c in exp.claims(_result([1] * 12, [0] * 12, [True] * 11 + [False]))}
    assert not cl["hol.baselines.overparam_guarantee"].holds
    few = {c.id: c for c in exp.claims(_result([1] * 12, [0] * 12, [True] * 5))}
    assert few["hol.baselines.overparam_guarantee"].fragile


def test_highorder_claim_fails_when_lambda_helps():
    cl = {c.id: c for c in exp.claims(_result([0] * 12, [1] * 12, [True] * 12))}
    assert not cl["hol.baselines.highorder_vs_plain"].holds
