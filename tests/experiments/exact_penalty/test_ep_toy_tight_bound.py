"""Chapter module exact_penalty.toy_tight_bound: presets, validation, claims and their falsifiability."""
import dataclasses

import numpy as np
import pytest

from bmlab.experiments.exact_penalty import toy_tight_bound as exp


@pytest.fixture(scope="module")
def result():
    p = exp.Params.for_profile("quick", sweep_points=11, grid_max_iter=2000)
    return exp.run(p, np.random.default_rng(0))


def by_id(claims):
    return {c.id: c for c in claims}


def test_presets_and_validation():
    q, p = exp.Params.for_profile("quick"), exp.Params.for_profile("paper")
    assert q.sweep_points < p.sweep_points and q.bisect_max_iter < p.bisect_max_iter
    for bad in [dict(c=0.0), dict(sweep_points=10), dict(rho=0.5), dict(x0=1.0, y0=1.0),
                dict(bisect_rtol=0.5)]:
        with pytest.raises((ValueError, TypeError)):
            exp.Params.for_profile("quick", **bad)
    with pytest.raises(ValueError):
        exp.Params.for_profile("quick", nope=1)


def test_claims_hold_and_are_robust(result):
    cs = by_id(exp.claims(result))
    assert all(c.as_expected for c in cs.values()), [c for c in cs.values() if not c.as_expected]
    assert not any(c.fragile for c in cs.values())
    assert all(c.kind in ("paper", "extension", "check") for c in cs.values())
    assert cs["toy41.sdp_match"].kind == "check"
    assert cs["toy41.asymmetric_at_bound"].kind == "check"
    assert cs["alt.threshold_ratio"].kind == "extension" == cs["alt.grid_iff"].kind
    assert cs["toy41.threshold_ratio"].kind == "paper"
    assert {cs[f"toy41.{m}_diverges"].kind for m in ("AMagd", "AMadp", "AMpca")} == {"extension"}
    assert cs["toy41.AMadp_diverges"].exploratory and cs["toy41.only_amour_exact"].exploratory
    assert "time" not in " ".join(exp.tables(result)["tab-sdp"].columns)
    assert set(result.timings) and all(v >= 0 for v in result.timings.values())
    g = exp.glue_values(result)
    assert g["ratio_toy41"] == pytest.approx(1.0, abs=2e-3)


def test_falsifiable_only_ours(result):
    t = result.strategies.copy()
    t.loc[t["method"] == "AMadp", "reaches x*"] = True
    t.loc[t["method"] == "AMadp", "status"] = "converged"
    cs = by_id(exp.claims(dataclasses.replace(result, strategies=t)))
    assert not cs["toy41.only_amour_exact"].holds
    assert not cs["toy41.AMadp_diverges"].holds


def test_falsifiable_threshold_and_grid(result):
    th = {k: dict(v) for k, v in result.thresholds.items()}
    th["toy41"]["threshold"] = 0.3              # a threshold well below the bound
    sw = {k: v.copy() for k, v in result.sweeps.items()}
    sw["toy41"].loc[sw["toy41"].index[0], "exact"] = True   # an exact run below the bound
    cs = by_id(exp.claims(dataclasses.replace(result, thresholds=th, sweeps=sw)))
    assert not cs["toy41.threshold_ratio"].holds and cs["toy41.threshold_ratio"].margin < 0
    assert not cs["toy41.grid_iff"].holds


def test_certificates(result):
    """Issue 14 / referee 1: above the bound the AM limits approach the rank-0 optimum z* = 0
    (xy ~ -1e-20); the certificate (duality gap, infeasibility against z_ref) certifies them.
    Below it the spurious pair (u, -u) is reported infeasible (inconclusive, not refuted: no
    descent direction). The claims flip with the data."""
    s = result.sdp
    assert s["certificate"].iloc[2] == "inconclusive"
    assert s["cert note"].iloc[2].startswith("infeasible")
    assert (s["certificate"].iloc[:2] == "certified").all()
    cs = by_id(exp.claims(result))
    assert cs["ttb.certificate_infeasible_spurious_pair"].holds
    assert cs["ttb.kkt_above_bound"].holds and cs["ttb.kkt_above_bound"].kind == "check"
    c = cs["ttb.certificate_above_bound"]
    assert c.holds and c.expected == "holds" and not c.fragile and "bug" in c.reason
    # the known optimum itself, z = 0 exactly, is certified
    from bmlab.problems.scalar_toys import LinearToy, as_factor
    from bmlab.sdp import certificate
    assert certificate(LinearToy(1.0), as_factor(0.0), Y=as_factor(0.0)).certified
    # falsifiable: a limit outside the cone, or with a large gap, is not certified
    for col, val in [("cert infeasibility", 0.4), ("cert rel gap", 1e-3)]:
        bad = s.copy()
        bad.loc[0, [col, "certificate"]] = [val, "inconclusive"]
        assert not by_id(exp.claims(dataclasses.replace(result, sdp=bad)))[
            "ttb.certificate_above_bound"].holds
    bad = s.copy()
    bad.loc[0, ["lambda_min(S)", "x y"]] = [-0.5, 0.3]
    bad.loc[2, ["cert infeasibility", "certificate", "cert note"]] = [0.0, "certified", ""]
    cs = by_id(exp.claims(dataclasses.replace(result, sdp=bad)))
    for cid in ("ttb.kkt_above_bound", "ttb.certificate_infeasible_spurious_pair"):
        assert not cs[cid].holds and cs[cid].margin < 0
