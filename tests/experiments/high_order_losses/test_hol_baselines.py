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


# ----------------------------------------------------------------------------- certificates
from bmlab.problems.sensing import yalcin_instance, yalcin_n3_spurious  # noqa: E402


@pytest.mark.parametrize("lam", [0.0, 5.0])
def test_certificate_known_optimum_and_known_spurious_point(lam):
    P = yalcin_instance(3, 0.3, lam)
    t, Zs = exp.sdp_solutions((3,), 0.3)
    Z_sdp = Zs[(3, "least_squares")]
    good = exp.certify_run(P, P.Z, Z_sdp)  # the ground truth: certified, at the SDP solution
    assert good["verdict"] == "certified" and good["dist_sdp"] < 1e-6
    assert abs(good["sdp_gap_rel"]) < 1e-6
    x, _, _ = yalcin_n3_spurious(0.3)      # the closed-form spurious point (λ = 0 critical)
    bad = exp.certify_run(P.with_lam(0.0), x, Z_sdp)
    assert bad["verdict"] == "refuted" and bad["lambda_min_S"] < -1e-3 and bad["dist_sdp"] > 0.1
    assert (t.status == "optimal").all()


def _cert_result(dist=1e-8, gap=0.0, fail_verdict="refuted", n_cert=8, n_fail=8):
    r = _result([1] * n_cert + [0] * n_fail, [0] * (n_cert + n_fail), [True] * 12)
    ls = r.ls.copy()
    ls["lambda_min_S"] = np.where(ls.success, 0.0, -0.1)
    ls["residual_SX"], ls["cert_scale"] = 0.0, 1.0
    ls["verdict"] = np.where(ls.success, "certified", fail_verdict)
    ls["sdp_gap_rel"], ls["dist_sdp"] = gap, np.where(ls.success, dist, 1.0)
    zh = r.zhang.assign(lambda_min_S=-1e-5, residual_SX=1e-4, cert_scale=1.0, verdict="refuted",
                        sdp_gap_rel=1e-5, dist_sdp=1e-2)
    return exp.Result(r.params, r.sdp, ls, zh)


def test_certificate_claims_can_fail():
    ok = {c.id: c for c in exp.claims(_cert_result())}
    for k in ("hol.baselines.certified_match_sdp", "hol.baselines.failed_refuted"):
        assert ok[k].holds and not ok[k].fragile and ok[k].kind == "check" and ok[k].protocol
    far = {c.id: c for c in exp.claims(_cert_result(dist=1e-2))}
    assert not far["hol.baselines.certified_match_sdp"].holds
    gap = {c.id: c for c in exp.claims(_cert_result(gap=1e-3))}
    assert not gap["hol.baselines.certified_match_sdp"].holds
    inc = {c.id: c for c in exp.claims(_cert_result(fail_verdict="inconclusive"))}
    assert not inc["hol.baselines.failed_refuted"].holds
    assert ok["hol.baselines.cert_separates"].holds
    assert not ok["hol.baselines.cert_separates"].fragile
    near = _cert_result()
    near.ls.loc[~near.ls.success, "lambda_min_S"] = -1e-3   # failed but barely refuted
    assert not {c.id: c for c in exp.claims(near)}["hol.baselines.cert_separates"].holds
    deep = _cert_result()
    deep.ls.loc[deep.ls.success, "lambda_min_S"] = -1e-2    # a success far from optimal
    assert not {c.id: c for c in exp.claims(deep)}["hol.baselines.cert_separates"].holds
    t = exp.certificate_table(_cert_result())
    assert {"certified", "refuted", "inconclusive"} <= set(t.columns) and len(t) == 3
