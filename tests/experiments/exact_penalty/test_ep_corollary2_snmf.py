"""Chapter module exact_penalty.corollary2_snmf."""
import dataclasses

import numpy as np
import pandas as pd
import pytest

from bmlab.experiments.exact_penalty import corollary2_snmf as exp


@pytest.fixture(scope="module")
def result():
    p = exp.Params.for_profile("quick", n=6, r=2, lams=(0.03, 0.3), max_iter=2000, bisect_max_iter=6000)
    return exp.run(p, np.random.default_rng(0))


def test_presets_and_validation():
    assert len(exp.Params.for_profile("quick").ms) < len(exp.Params.for_profile("paper").ms)
    for bad in [dict(ms=(1.0,)), dict(lams=(0.0,)), dict(r=20), dict(n_starts=0)]:
        with pytest.raises((ValueError, TypeError)):
            exp.Params.for_profile("quick", **bad)


def test_claims(result):
    cs = {c.id: c for c in exp.claims(result)}
    assert cs["cor2.column_balance"].kind == "check" == cs["cor2.gram_balance_unconstrained"].kind
    assert cs["cor2.no_asymmetric_above_threshold"].kind == "extension"
    assert cs["cor2.psd_any_lambda"].kind == "extension"
    assert cs["cor2.scalar_threshold"].kind == "paper" and cs["cor2.scalar_threshold_necessary"].kind == "extension"
    assert cs["cor2.scalar_m_positive"].samples == 3 * len(exp.POSITIVE_STARTS)
    assert cs["cor2.column_balance"].holds and cs["cor2.gram_balance_unconstrained"].holds
    assert set(exp.tables(result)) == {"tab-c2", "tab-c2-scalar", "tab-c2-certificate"}


def test_falsifiable(result):
    runs = result.runs.copy()
    i = runs.index[(runs["status"] == "converged") & (2 * runs["lam"] + runs["lambda_min"] > 0)
                   & (runs["family"] == "snmf-psd")][0]
    runs.loc[i, "asym"] = True                         # an asymmetric point above the threshold
    sc = result.scalar.assign(ratio=1.5)
    cs = {c.id: c for c in exp.claims(dataclasses.replace(result, runs=runs, scalar=sc))}
    assert not cs["cor2.psd_any_lambda"].holds
    assert not cs["cor2.scalar_threshold"].holds and cs["cor2.scalar_threshold_necessary"].holds
    cs = {c.id: c for c in exp.claims(dataclasses.replace(result, scalar=result.scalar.assign(ratio=0.5)))}
    assert cs["cor2.scalar_threshold"].holds and not cs["cor2.scalar_threshold_necessary"].holds
    runs = result.runs.copy()                          # imbalance far above what res / lambda allows
    runs["col_imbalance"] = runs["gram_imbalance"] = 1.0
    cs = {c.id: c for c in exp.claims(dataclasses.replace(result, runs=runs))}
    assert not cs["cor2.column_balance"].holds and not cs["cor2.gram_balance_unconstrained"].holds


def test_threshold_claim_needs_power(result):
    runs = result.runs.copy()
    nonpsd = (runs["family"] != "snmf-psd") & (runs["status"] == "converged")
    below = runs.index[nonpsd & (2 * runs["lam"] + runs["lambda_min"] <= 0)]
    above = runs.index[nonpsd & (2 * runs["lam"] + runs["lambda_min"] > 0)]
    if len(below) == 0:
        pytest.skip("no point below the threshold in this small instance")
    runs.loc[below[0], "asym"] = True                  # power: an asymmetric limit below
    runs.loc[above[0], "asym"] = True                  # and one above: fails
    cs = {c.id: c for c in exp.claims(dataclasses.replace(result, runs=runs))}
    assert not cs["cor2.no_asymmetric_above_threshold"].holds


def test_certificate_claim(result):
    c = {c.id: c for c in exp.claims(result)}["cor2.certificate"]
    assert c.kind == "check" and c.expected == "fails" and c.reason
    runs = result.runs.copy()                          # as if every point came out as expected
    psd, unc = runs["family"] == "snmf-psd", runs["family"] == "unconstrained"
    runs.loc[psd, ["lambda_min(S)/scale", "||SX||/||X||/scale"]] = 0.0
    runs.loc[psd, "verdict"] = "certified"
    runs.loc[unc, "lambda_min(S)/scale"] = -0.1
    runs.loc[unc, "verdict"] = "refuted"
    runs["status"] = "converged"
    runs = pd.concat([runs] * 4, ignore_index=True)    # enough samples
    runs["n_pos_eig"] = result.params.r + 2
    ok = {c.id: c for c in exp.claims(dataclasses.replace(result, runs=runs))}["cor2.certificate"]
    assert ok.holds and not ok.fragile
    runs.loc[runs.index[runs["family"] == "unconstrained"][0], "verdict"] = "certified"
    bad = {c.id: c for c in exp.claims(dataclasses.replace(result, runs=runs))}["cor2.certificate"]
    assert not bad.holds
