import dataclasses

import numpy as np
import pytest

from bmlab.experiments.asymmetric_gd import gradient_flow as gf


@pytest.fixture(scope="module")
def result():
    return gf.run(gf.Params.for_profile("quick"), np.random.default_rng(5))


def _by_id(result):
    return {c.id: c for c in gf.claims(result)}


def test_presets_and_validation():
    q, p = gf.Params.for_profile("quick"), gf.Params.for_profile("paper")
    assert len(p.etas) > len(q.etas) and p.n_t > q.n_t
    assert q.etas == tuple(sorted(q.etas, reverse=True))
    for bad in (dict(spectrum=(3.0, 2.0)), dict(n=3), dict(a0=0.0), dict(delta_exps=(2, 3))):
        with pytest.raises(ValueError):
            gf.Params.for_profile("quick", **bad)


def test_real_run(result):
    cl = _by_id(result)
    assert all(c.holds and c.as_expected and not c.fragile for c in cl.values()), cl
    assert cl["agd5.one_shot_unstable"].kind == "check"
    assert cl["agd5.matrix_time_log"].exploratory and cl["agd5.matrix_time_tail"].exploratory
    assert cl["agd5.scalar_time_theta"].kind == "check"              # algebra of the closed form
    assert cl["agd5.matrix_time_bound"].kind == "check"              # symmetric case, <= 1/2


def test_tail_falsifiable(result):
    T = result.T_tail * 0.8                              # a coefficient 0.4, not 1/2
    c = _by_id(dataclasses.replace(result, T_tail=T))["agd5.matrix_time_tail"]
    assert not c.holds and c.margin < 0


def test_time_bound_falsifiable(result):
    # polynomial growth, as in the over-parametrised case, breaks the logarithmic bound
    T = 1.0 / np.sqrt(result.params.deltas)
    c = _by_id(dataclasses.replace(result, T_a=T))["agd5.matrix_time_bound"]
    assert not c.holds and c.margin < 0
    T = result.T_a.copy()
    T[-1] = np.nan                                       # the smallest delta not reached
    assert not _by_id(dataclasses.replace(result, T_a=T))["agd5.matrix_time_bound"].holds


def test_scalar_theta_falsifiable(result):
    c = _by_id(dataclasses.replace(result, scalar_slopes=[0.5, 0.45, 0.5]))["agd5.scalar_time_theta"]
    assert not c.holds


def test_one_shot_check_can_fail(result):
    S = result.summary.copy()
    S["max |one-shot - ivp|"] = 1e-9                    # a one-shot evaluation that stayed accurate
    assert not _by_id(dataclasses.replace(result, summary=S))["agd5.one_shot_unstable"].holds
