import dataclasses

import numpy as np
import pytest

from bmlab.experiments.high_order_losses import high_order_saddles as exp
from bmlab.experiments.high_order_losses.common import InstanceSpec


@pytest.fixture(scope="module")
def result():
    params = exp.Params.for_profile("quick", specs=(InstanceSpec("weighted", 5, 0.8),),
                                    lams=(0.0, 0.01, 0.03), n_starts=15, curv_points=4,
                                    gd_runs=3)
    return exp.run(params, lambda k: np.random.default_rng([11, k]))


def test_presets_and_validation():
    q, p = exp.Params.for_profile("quick"), exp.Params.for_profile("paper")
    assert q.n_starts < p.n_starts and set(q.lams) <= set(p.lams) and q.min_far == p.min_far
    assert 0.01 in q.lams and q.curv_grid[0] == 0 and np.all(np.diff(q.curv_grid) > 0)
    with pytest.raises(ValueError):
        exp.Params.for_profile("quick", r5=50)
    with pytest.raises(ValueError):
        exp.Params.for_profile("quick", lams=(-1.0,))


def test_claims_hold(result):
    cl = {c.id: c for c in exp.claims(result)}
    assert all(c.holds and not c.fragile for c in cl.values()), cl
    assert len(result.far10) >= 3 and (result.far10.lam > 0).all()


def test_far_bound_fails_if_a_far_point_violates_it(result):
    pts = result.points.copy()
    i = result.far10.index[0]
    pts.loc[i, "lam_min"] = pts.loc[i, "bound11"] + abs(pts.loc[i, "bound11"])
    c = {c.id: c for c in exp.claims(dataclasses.replace(result, points=pts))}
    assert not c["hol.thm6.bound_far"].holds and c["hol.thm6.bound_at_zero"].holds


def test_amplification_fails_if_curvature_does_not_grow(result):
    curv = {k: v.assign(lam_min=v.lam_min.iloc[0]) for k, v in result.curvature.items()}
    c = {c.id: c for c in exp.claims(dataclasses.replace(result, curvature=curv))}
    assert not c["hol.thm6.amplification"].holds


def test_theorem5_claim_fails_if_a_run_stalls(result):
    gd5 = result.gd5.copy()
    gd5.loc[0, "D"] = 0.5
    c = {c.id: c for c in exp.claims(dataclasses.replace(result, gd5=gd5))}
    assert not c["hol.thm5.conclusion"].holds


def test_theorem5_table(result):
    t5 = result.t5
    assert bool(t5["(7) holds"].iloc[-1]) and not t5["(7) holds"].iloc[:-1].any()
