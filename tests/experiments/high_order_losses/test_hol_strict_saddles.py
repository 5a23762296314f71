import dataclasses

import numpy as np
import pandas as pd
import pytest

from bmlab.experiments.high_order_losses import strict_saddles as exp
from bmlab.experiments.high_order_losses.common import InstanceSpec


def _points(far_lam_min=-3.0, spurious_x=5.0, n_far=3, copies=False):
    rows = [{"instance": "A", "delta": 0.5, "D": 1.0, "sigma_r": 0.0, "tr": 1.0,
             "lam_min": -2.0, "type": "strict saddle", "cond4": True, "bound5": -0.5}]
    rows += [{"instance": "A", "delta": 0.5, "D": 2.0 + (0 if copies else 0.1 * k),
              "sigma_r": 0.1, "tr": 1.0, "lam_min": far_lam_min, "type": "strict saddle",
              "cond4": True, "bound5": -1.0} for k in range(n_far)]
    rows += [{"instance": "A", "delta": 0.5, "D": 1.5, "sigma_r": 0.9, "tr": 1.0,
              "lam_min": 0.2, "type": "spurious min", "cond4": False, "bound5": 1.0}]
    df = pd.DataFrame(rows)
    df["far"] = df.sigma_r > exp.ZERO_TOL
    df["x"] = [np.inf if not f else 0.5 for f in df.far]
    df.loc[df.type == "spurious min", "x"] = spurious_x
    return exp.Result(exp.Params.for_profile("quick"), df)


def test_presets_and_validation():
    q, p = exp.Params.for_profile("quick"), exp.Params.for_profile("paper")
    assert q.n_starts < p.n_starts and len(q.specs) < len(p.specs) and q.min_far == p.min_far
    with pytest.raises(ValueError):
        exp.Params.for_profile("quick", n_starts=0)
    with pytest.raises(ValueError):
        exp.Params.for_profile("quick", specs=("weighted",))


def test_claims_hold_on_a_good_result():
    cl = {c.id: c for c in exp.claims(_points())}
    assert all(c.holds and not c.fragile for c in cl.values())
    assert all(c.kind == "paper" and c.quote for c in cl.values() if "zero" not in c.id)
    # at X = 0 the bound is an identity for every valid δ: a check, not a paper claim
    assert cl["hol.thm3.bound_at_zero"].kind == "check"


def test_far_bound_fails_when_a_far_point_violates_it():
    c = {c.id: c for c in exp.claims(_points(far_lam_min=-0.5))}["hol.thm3.bound_far"]
    assert not c.holds and c.margin < 0


def test_far_bound_is_fragile_with_too_few_far_points():
    c = {c.id: c for c in exp.claims(_points(n_far=2))}["hol.thm3.bound_far"]
    assert c.holds and c.fragile            # the suite refuses a claim decided by 2 points


def test_far_points_are_counted_modulo_symmetry():
    # three images of one critical point (same invariants) are one sample, not three
    c = {c.id: c for c in exp.claims(_points(n_far=3, copies=True))}["hol.thm3.bound_far"]
    assert c.samples == 1 and c.fragile


def test_spurious_minimum_satisfying_4_fails():
    c = {c.id: c for c in exp.claims(_points(spurious_x=0.8))}["hol.thm3.no_far_spurious"]
    assert not c.holds


def test_small_run_finds_far_points():
    params = exp.Params.for_profile("quick", specs=(InstanceSpec("weighted", 5, 0.8),),
                                    n_starts=15)
    r = exp.run(params, lambda k: np.random.default_rng([7, k]))
    assert len(r.far4) >= 1 and (exp.bound_slack(r.far4, "bound5") >= 0).all()
    assert len(r.zero) == 1 and exp.summary_table(r).points.iloc[0] == len(r.points)
