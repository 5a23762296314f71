"""Chapter module exact_penalty.toy_dynamic_penalty: the max-type and geometric readings of AMadp."""
import dataclasses

import numpy as np
import pytest

from bmlab.experiments.exact_penalty import toy_dynamic_penalty as exp
from bmlab.problems.scalar_toys import ShiftedSquareToy, as_factor


@pytest.fixture(scope="module")
def result():
    return exp.run(exp.Params.for_profile("quick", n_grid=5), None)


def by_id(cs):
    return {c.id: c for c in cs}


def test_presets_and_validation():
    assert exp.Params.for_profile("quick").max_iter < exp.Params.for_profile("paper").max_iter
    for bad in [dict(m=-1.0), dict(x0=0.2, y0=0.2), dict(rho=1.0), dict(max_iter=1)]:
        with pytest.raises((ValueError, TypeError)):
            exp.Params.for_profile("quick", **bad)


def test_max_type_target():
    toy = ShiftedSquareToy(m=1.0, nonneg=True)
    assert exp.snmf_adp_target(toy, as_factor(2.0), as_factor(1.5)) == pytest.approx(1.0)


def test_outcomes(result):
    cs = by_id(exp.claims(result))
    assert all(c.as_expected for c in cs.values()), [c for c in cs.values() if not c.as_expected]
    assert not any(c.fragile for c in cs.values())
    a = result.adp
    mx = a[(a["reading"] == "max-type") & (a["lambda_0"] <= exp.VERY_SMALL)]
    np.testing.assert_allclose(mx["lambda_final"], mx["lambda_0"])     # the rule never raised it
    assert cs["toy42.AMadp_geometric_wrong_limit"].expected == "fails"


def test_falsifiable(result):
    a = result.adp.copy()
    a.loc[a["reading"] == "max-type", "error"] = 0.0                 # every AMadp run correct
    a.loc[a["reading"] == "max-type", "lambda_final"] = 0.3          # penalty at the scale of m
    c = result.comparison.copy()
    c["AMour sweeps"], c["AMpca sweeps"] = c["AMpca sweeps"] + 5, c["AMour sweeps"]
    cs = by_id(exp.claims(dataclasses.replace(result, adp=a, comparison=c)))
    assert not cs["toy42.AMadp_wrong_limit_some_lambda0"].holds
    assert not cs["toy42.AMadp_keeps_lambda_small"].holds
    assert not cs["toy42.AMour_faster_than_AMpca"].holds


def test_relabels_and_fixed_budget(result):
    cs = by_id(exp.claims(result))
    assert cs["toy42.AMadp_keeps_lambda_small"].kind == "check"
    assert cs["toy42.AMagd_wrong_limit"].kind == "check"
    assert cs["toy42.AMadp_wrong_limit_some_lambda0"].exploratory
    assert result.huge["sweeps"] <= exp.HUGE_BUDGET               # same budget in both profiles
    done = dataclasses.replace(result, huge=dict(result.huge, x=result.x_star, status="converged"))
    assert not by_id(exp.claims(done))["toy42.huge_lambda_crawls"].holds
    a = result.adp.copy()                                         # a stationary wrong limit
    i = a.index[(a["reading"] == "max-type") & (a["lambda_0"] <= exp.VERY_SMALL)][0]
    a.loc[i, ["status", "error"]] = ["converged", 0.5]
    assert by_id(exp.claims(dataclasses.replace(result, adp=a)))["toy42.AMadp_wrong_limit_some_lambda0"].holds


def test_certificate_claim(result):
    cs = by_id(exp.claims(result))
    c = cs["toy42.certificate"]
    assert c.kind == "check" and c.holds and not c.fragile
    our = result.certs[result.certs["run"] == "AMour (comparison)"]
    assert len(our) == len(exp.COMPARE_STARTS) >= 6
    bad = result.certs.copy()                                       # as if AMour had stalled
    sel = bad["run"] == "AMour (comparison)"
    bad.loc[sel, "lambda_min(S)/scale"] = -0.5
    bad.loc[sel, "verdict"] = "refuted"
    assert not by_id(exp.claims(dataclasses.replace(result, certs=bad)))["toy42.certificate"].holds
