"""Chapter module exact_penalty.algorithms."""
import dataclasses

import numpy as np
import pandas as pd
import pytest

from bmlab.experiments.exact_penalty import algorithms as exp


@pytest.fixture(scope="module")
def result():
    p = exp.Params.for_profile("quick", n=6, r=2, max_iter=300, extra_instances=1, rhos=(0.1, 10.0),
                                claim_n=6, claim_max_iter=300)
    return exp.run(p, np.random.default_rng(0))


def test_presets_and_validation():
    assert exp.Params.for_profile("quick").n < exp.Params.for_profile("paper").n
    for bad in [dict(eps=0.0), dict(rhos=()), dict(r=50), dict(extra_instances=-1)]:
        with pytest.raises((ValueError, TypeError)):
            exp.Params.for_profile("quick", **bad)


def test_result_and_claims(result):
    assert set(result.table["instance"]) == {"psd", "indefinite"}
    assert len(result.sweeps) == 2 * 3
    assert "AMadp (geometric)" in set(result.table["rule"])
    t = exp.tables(result)
    assert not any("time" in c for df in t.values() for c in df.columns)
    assert result.timings and all(v >= 0 for v in result.timings.values())
    cs = {c.id: c for c in exp.claims(result)}
    assert cs["alg.sufficient_decrease"].kind == "check" and cs["alg.sufficient_decrease"].holds
    assert cs["alg.amour_fewer_sweeps"].kind == "extension"
    assert cs["alg.fixed_symmetric_or_approaching"].exploratory
    assert not cs["alg.fixed_symmetric"].exploratory and cs["alg.fixed_symmetric"].kind == "extension"
    assert cs["alg.fixed_symmetric_main"].exploratory and cs["alg.amour_converges_main"].exploratory
    assert cs["alg.amour_fewer_sweeps_12"].exploratory
    # samples count instances, not (instance, AM/HAM) pairs
    n_inst = result.claim_table["instance"].nunique()
    assert cs["alg.fixed_symmetric"].samples == n_inst == cs["alg.amour_converges"].samples


def test_falsifiable(result):
    t = result.table.copy()
    fx = t.index[t["rule"] == "fixed (12)"]
    t.loc[fx[0], ["status", "final |X-Y| (rel)"]] = ["converged", 0.3]   # an asymmetric limit
    t.loc[t["method"] == "nADMM", "status"] = "converged"                 # every rho works
    ct = result.claim_table.copy()
    ct.loc[ct.index[ct["rule"] == "fixed (12)"][0], ["status", "final |X-Y| (rel)"]] = ["converged", 0.3]
    cs = {c.id: c for c in exp.claims(dataclasses.replace(result, table=t, claim_table=ct))}
    assert not cs["alg.fixed_symmetric"].holds and not cs["alg.fixed_symmetric_main"].holds
    assert not cs["alg.fixed_symmetric_or_approaching"].holds
    assert not cs["alg.nadmm_needs_tuning"].holds


def test_falsifiable_extra_instance_and_votes(result):
    ct = result.claim_table.copy()
    ct["status"], ct["final |X-Y| (rel)"] = "converged", 0.0            # everything converged
    extra = ct.index[~ct["instance"].isin(["psd", "indefinite"]) & (ct["rule"] == "AMour")]
    cs = {c.id: c for c in exp.claims(dataclasses.replace(result, claim_table=ct))}
    assert cs["alg.amour_converges"].holds and cs["alg.fixed_symmetric"].holds
    ct.loc[extra[0], "status"] = "max_iter"                           # an extra instance fails
    cs = {c.id: c for c in exp.claims(dataclasses.replace(result, claim_table=ct))}
    assert not cs["alg.amour_converges"].holds and cs["alg.amour_converges_main"].holds
    sw = result.sweeps.copy()
    sw["AMour"], sw["fixed (12)"] = 10, 20                             # AMour faster everywhere
    v = exp._instance_votes(sw, result.params.claim_max_iter)
    assert len(v) == sw["instance"].nunique() and (v == 2).all()
    sw["AMour"], sw["fixed (12)"] = result.params.claim_max_iter, result.params.claim_max_iter
    assert (exp._instance_votes(sw, result.params.claim_max_iter) == 0).all()   # censored: ties


def test_claims_at_pinned_size_when_profile_size_differs():
    p = exp.Params.for_profile("quick", n=7, r=2, max_iter=200, extra_instances=0, rhos=(0.1,),
                                claim_n=5, claim_max_iter=200)
    r = exp.run(p, np.random.default_rng(1))
    assert set(r.claim_table["rule"]) == {"fixed (12)", "AMour", "AMour (cons.)"}
    assert len(r.claim_table) == 2 * 2 * 3 and len(r.sweeps) == 4
    assert any("n=5" in k for k in r.timings)


def test_certificate_claim(result):
    assert "tab-alg-certificate" in exp.tables(result)
    c = {c.id: c for c in exp.claims(result)}["alg.certificate_psd"]
    assert c.kind == "check"
    ct = pd.concat([result.claim_table] * 4, ignore_index=True)   # enough samples
    psd = ct["instance"].str.startswith("psd")
    ct.loc[psd, "status"] = "converged"
    ct.loc[psd, ["lambda_min(S)/scale", "||SX||/||X||/scale"]] = 1e-9
    ct.loc[psd, "verdict"] = "certified"
    ok = {c.id: c for c in exp.claims(dataclasses.replace(result, claim_table=ct))}
    assert ok["alg.certificate_psd"].holds and not ok["alg.certificate_psd"].fragile
    i = ct.index[psd][0]                                  # one spurious local minimum
    ct.loc[i, "lambda_min(S)/scale"], ct.loc[i, "verdict"] = -0.1, "refuted"
    bad = {c.id: c for c in exp.claims(dataclasses.replace(result, claim_table=ct))}
    assert not bad["alg.certificate_psd"].holds
