import dataclasses

import numpy as np
import pytest

from bmlab.experiments.asymmetric_gd import lemmas as lm


@pytest.fixture(scope="module")
def result():
    return lm.run(lm.Params.for_profile("quick", n_instances=300), np.random.default_rng(6))


def _by_id(result):
    return {c.id: c for c in lm.claims(result)}


def test_presets_and_validation():
    assert lm.Params.for_profile("quick").n_instances < lm.Params.for_profile("paper").n_instances
    for bad in (dict(n_instances=1), dict(state_scale=0.0), dict(n_etas=2)):
        with pytest.raises(ValueError):
            lm.Params.for_profile("quick", **bad)


def test_real_run(result):
    cl = _by_id(result)
    assert all(c.as_expected and not c.fragile for c in cl.values()), cl
    assert not cl["agd6.eq12_printed"].holds and cl["agd6.eq12_printed"].kind == "paper"
    assert cl["agd6.eq12_corrected_exact"].kind == "check"
    assert cl["agd6.eq12_printed_sign_wrong"].kind == "check"        # slope 2 is algebra
    assert "not verified against the PDF" in cl["agd6.eq12_printed"].reason
    assert len(lm.lemma_table(result)) == 3


@pytest.mark.parametrize("col, cid", [("slack32", "agd6.lemma32_slack"),
                                      ("main_gap32", "agd6.eta2_term_not_needed")])
def test_lemmas_falsifiable(result, col, cid):
    sl = result.slacks.copy()
    sl.loc[0, col] = -1e-6 * sl.loc[0, "sigma_1"]         # one instance violates the bound
    c = _by_id(dataclasses.replace(result, slacks=sl))[cid]
    assert not c.holds and c.margin < 0


def test_lemma33_falsifiable_on_negative_p(result):
    sl = result.slacks.copy()
    i = sl.index[sl["p_negative"]][0]                     # the lemma is tested where p < 0
    sl.loc[i, ["slack33", "slack33_scaled"]] = [-1e-6 * sl.loc[i, "sigma_1"], -0.1]
    c = _by_id(dataclasses.replace(result, slacks=sl))["agd6.lemma33_slack"]
    assert not c.holds and c.margin < 0
    j = sl.index[~sl["p_negative"]][0]                    # p >= 0: Sylvester, not tested
    sl = result.slacks.copy()
    sl.loc[j, "slack33"] = -1.0
    assert _by_id(dataclasses.replace(result, slacks=sl))["agd6.lemma33_slack"].holds


def test_printed_equation_claim_can_flip(result):
    eq = result.eq12.copy()
    eq["printed"] = eq["corrected"]                        # as if the printed sign were right
    cl = _by_id(dataclasses.replace(result, eq12=eq))
    assert cl["agd6.eq12_printed"].holds and not cl["agd6.eq12_printed"].as_expected
    assert not cl["agd6.eq12_printed_sign_wrong"].holds
