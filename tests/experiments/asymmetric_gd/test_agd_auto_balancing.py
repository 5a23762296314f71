import dataclasses

import numpy as np
import pytest

from bmlab.experiments.asymmetric_gd import auto_balancing as ab


@pytest.fixture(scope="module")
def result():
    p = ab.Params.for_profile("quick", etas=(0.005, 0.01, 0.02, 0.04), flow_time=10.0, m=8, n=6)
    return ab.run(p, np.random.default_rng(4))


def _by_id(result):
    return {c.id: c for c in ab.claims(result)}


def test_presets_and_validation():
    assert 0.03 in ab.Params.for_profile("quick", eta_practical=0.03).etas
    assert len(ab.Params.for_profile("paper").etas) > len(ab.Params.for_profile("quick").etas)
    for bad in (dict(flow_time=0.0), dict(etas=(0.01,)), dict(eps=-1.0)):
        with pytest.raises(ValueError):
            ab.Params.for_profile("quick", **bad)


def test_real_run(result):
    cl = _by_id(result)
    assert cl["agd4.flow_conserves_balance"].holds and cl["agd4.one_step_formula"].holds
    assert cl["agd4.per_step_drift_eta2"].holds
    assert {c.kind for c in cl.values()} == {"check", "extension"}   # no measured paper level
    assert cl["agd4.per_step_drift_eta2"].kind == "check"          # decided by step 0 (algebra)
    assert cl["agd4.balance_set_by_init"].kind == "extension"


def test_auto_balancing_falsifiable(result):
    runs = result.runs.copy()
    runs["final_drift"] = runs["D0"] * 0.5                # GD drifts by half of the imbalance
    c = _by_id(dataclasses.replace(result, runs=runs))["agd4.balance_set_by_init"]
    assert not c.holds and c.margin < 0


def test_scalings_falsifiable(result):
    runs = result.runs.copy()
    runs["step_drift_max"] = runs["eta"] ** 1.0           # one-step drift of order eta
    runs["final_drift"] = runs["eta"] ** 0.5
    cl = _by_id(dataclasses.replace(result, runs=runs))
    assert not cl["agd4.per_step_drift_eta2"].holds and not cl["agd4.total_drift_eta"].holds


def test_flow_check_falsifiable(result):
    c = _by_id(dataclasses.replace(result, flow_dist=result.flow_dist + 1e-6))[
        "agd4.flow_conserves_balance"]
    assert not c.holds
