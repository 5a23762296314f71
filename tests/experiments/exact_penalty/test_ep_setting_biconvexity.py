"""Chapter module exact_penalty.setting_biconvexity."""
import dataclasses

import numpy as np
import pytest

from bmlab.experiments.exact_penalty import setting_biconvexity as exp


@pytest.fixture(scope="module")
def result():
    return exp.run(exp.Params.for_profile("quick", n=4, n_points=3, n_lams=3), np.random.default_rng(0))


def test_presets_and_validation():
    assert exp.Params.for_profile("quick").n_points < exp.Params.for_profile("paper").n_points
    for bad in [dict(n=1), dict(r=9), dict(mu=0.0), dict(n_points=1)]:
        with pytest.raises((ValueError, TypeError)):
            exp.Params.for_profile("quick", **bad)


def test_claims(result):
    cs = {c.id: c for c in exp.claims(result)}
    assert all(c.holds for c in cs.values()) and not any(c.fragile for c in cs.values())
    assert cs["setting.lift_identity"].kind == "check"
    assert cs["setting.block_strongly_convex"].kind == "check"
    assert set(exp.glue_values(result)) >= {"min_margin", "max_kkt5"}


def test_falsifiable(result):
    s = result.summary.copy()
    s.loc[0, "points with joint eig < 0"] = 0           # one family jointly convex everywhere
    s.loc[1, "min block eig - (lam + mu/2)"] = -1e-3    # a block Hessian below lambda + mu/2
    cs = {c.id: c for c in exp.claims(dataclasses.replace(result, summary=s))}
    assert not cs["setting.not_jointly_convex"].holds
    assert not cs["setting.block_strongly_convex"].holds and cs["setting.block_strongly_convex"].margin < 0
