from types import SimpleNamespace

import numpy as np
import pytest

from bmlab.experiments.implicit_bias import fourier_ptychography as exp


def test_presets_and_validation():
    q, p = exp.Params.for_profile("quick"), exp.Params.for_profile("paper")
    assert q.main_is_seed and not p.main_is_seed
    with pytest.raises(ValueError, match="seeds"):
        exp.Params(seeds=2)
    with pytest.raises(ValueError, match="noise"):
        exp.Params(noise=-1.0)


def fake(err_udu, err_bm, q_udu, q_bm, n=8):
    def pr(e, q):
        return SimpleNamespace(final_error=e, spectrum=np.array([1.0, q, 1e-9]))
    seeds = [{"BM": pr(err_bm, q_bm), "UDU": pr(err_udu, q_udu)} for _ in range(n)]
    return exp.Result(exp.Params(), None, None, seeds, {})


def by_id(r):
    return {x.id: x for x in exp.claims(r)}


def test_claims():
    c = {x.id: x for x in exp.claims(fake(0.35, 0.46, 0.05, 0.18))}
    assert c["ib.fp.udu_better"].holds and c["ib.fp.udu_rank_one"].holds
    assert not c["ib.fp.udu_effectively_rank_one"].holds and c["ib.fp.udu_effectively_rank_one"].as_expected
    assert not any(x.fragile for x in c.values())
    # margin in seeds: 8/8 wins, 7 needed at α = 0.05 → 2 seeds must flip, margin 2/8
    assert c["ib.fp.udu_better"].margin == pytest.approx(0.25) and c["ib.fp.udu_better"].samples == 8
    assert not c["ib.fp.udu_constructs"].holds and c["ib.fp.udu_constructs"].as_expected
    assert by_id(fake(0.05, 0.46, 0.05, 0.18))["ib.fp.udu_constructs"].holds
    c = {x.id: x for x in exp.claims(fake(0.5, 0.46, 1e-4, 0.18))}
    assert not c["ib.fp.udu_better"].holds
    assert c["ib.fp.udu_effectively_rank_one"].holds  # rank one reached: would show as UNEXPECTED
    assert not c["ib.fp.udu_effectively_rank_one"].as_expected


def test_certificate_claim_can_hold_and_fail(monkeypatch):
    """ib.fp.udu_certified reads the UDU row of the certificate table: refuted → fails (as
    expected), certified → holds (would show as UNEXPECTED); margins in decades, not fragile."""
    import pandas as pd

    r = fake(0.35, 0.46, 0.05, 0.18)
    r.problem = object()

    def table(lam, res):
        return lambda result: pd.DataFrame([
            {"method": "BM", "λ_min(S)": -1e-3, "‖SX‖/‖X‖": 1e-3, "scale": 1.0, "verdict": "refuted"},
            {"method": "UDU", "λ_min(S)": lam, "‖SX‖/‖X‖": res, "scale": 1.0,
             "verdict": "certified" if max(-lam, res) <= 1e-6 else "refuted"}])

    monkeypatch.setattr(exp, "certificate_table", table(-4e-5, 4e-5))
    c = by_id(r)["ib.fp.udu_certified"]
    assert not c.holds and c.as_expected and c.exploratory and not c.fragile
    monkeypatch.setattr(exp, "certificate_table", table(-1e-12, 1e-12))
    c = by_id(r)["ib.fp.udu_certified"]
    assert c.holds and not c.as_expected and c.margin > 1
