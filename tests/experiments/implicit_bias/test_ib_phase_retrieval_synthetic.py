from types import SimpleNamespace

import numpy as np
import pytest

from bmlab.experiments.implicit_bias import phase_retrieval_synthetic as exp


def test_presets_and_validation():
    q, p = exp.Params.for_profile("quick"), exp.Params.for_profile("paper")
    assert (q.downsample, p.downsample) == (2, 1)
    assert (q.seeds, q.seed_max_iter) == (p.seeds, p.seed_max_iter)   # same seed study
    with pytest.raises(ValueError, match="seeds"):
        exp.Params(seeds=3)
    with pytest.raises(ValueError, match="divide"):
        exp.Params(downsample=3)
    assert exp.snapshots(3000) == (10, 100, 1000, 3000)


def fake(errs_udu, errs_bm, ranks_udu, ranks_bm):
    def pr(e, r):
        return SimpleNamespace(final_error=e, rank=r)
    seeds = [{"BM": pr(eb, rb), "UDU": pr(eu, ru)}
             for eu, eb, ru, rb in zip(errs_udu, errs_bm, ranks_udu, ranks_bm)]
    sdp = SimpleNamespace(ok=True, status="optimal")
    return exp.Result(exp.Params(), None, None, None, seeds, None, sdp, {})


def test_claims_decided_over_seeds():
    good = {c.id: c for c in exp.claims(fake([0.3] * 8, [0.5] * 8, [3] * 8, [50] * 8))}
    assert good["ib.pr.udu_better_image"].holds and good["ib.pr.udu_lower_rank"].holds
    assert good["ib.pr.udu_lower_rank"].samples == 8 and not good["ib.pr.udu_lower_rank"].fragile
    assert good["ib.pr.udu_lower_rank"].margin == pytest.approx(2 / 8)   # seeds to flip / seeds
    assert good["ib.pr.phaselift_solved"].kind == "check"
    half = [0.3, 0.6] * 4
    bad = {c.id: c for c in exp.claims(fake(half, [0.5] * 8, [60] * 8, [50] * 8))}
    assert not bad["ib.pr.udu_better_image"].holds and bad["ib.pr.udu_better_image"].as_expected
    assert not bad["ib.pr.udu_lower_rank"].holds
    # one instance cannot decide: fewer than six seeds is fragile
    few = {c.id: c for c in exp.claims(fake([0.3] * 3, [0.5] * 3, [3] * 3, [50] * 3))}
    assert few["ib.pr.udu_lower_rank"].fragile
