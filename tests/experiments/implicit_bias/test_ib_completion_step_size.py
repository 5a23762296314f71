import numpy as np
import pytest
from types import SimpleNamespace

from ib_fakes import run, spectrum, sweep

from bmlab.experiments.implicit_bias import completion_step_size as exp
from bmlab.problems.completion import make_completion


def test_presets_and_validation():
    q, p = exp.Params.for_profile("quick"), exp.Params.for_profile("paper")
    assert (q.n, q.max_iter, q.etas) == (50, 10_000, (1e-1, 1e-2))
    assert (p.n, p.max_iter, p.etas) == (100, 200_000, (1e-1, 1e-2, 1e-3))
    with pytest.raises(ValueError, match="1e-2"):
        exp.Params(etas=(0.1, 0.5))
    with pytest.raises(ValueError, match="n"):
        exp.Params(n=2)
    with pytest.raises(ValueError, match="unknown"):
        exp.Params.for_profile("quick", nn=3)


def fake(*, udu_rank=3, bm_decay=0.5, bm_rank_eta_effect=False, slower=True, rho_effect=True):
    P = make_completion(12, 3, rng=np.random.default_rng(0))
    runs = []
    for i, eta in enumerate((0.1, 0.01)):
        res = 1e-6 * 10 ** (2 * i) if slower else 1e-2 / 10 ** (2 * i)
        bm_s = spectrum(3, decay=bm_decay) if bm_decay else spectrum(3)
        if bm_rank_eta_effect:
            bm_s = spectrum(3, decay=bm_decay) * np.r_[np.ones(3), np.full(17, 10.0 ** (-6 * i))]
        runs += [run("BM", eta, 1e-2, bm_s, res), run("UDU", eta, 1e-2, spectrum(udu_rank), res)]
    contrast = [run("BM", 0.01, rho, spectrum(3, decay=bm_decay) *
                    np.r_[np.ones(3), np.full(17, (10.0 ** k) if rho_effect else 1.0)])
                for rho, k in ((1.0, 1), (1e-4, -1))]
    sdp = SimpleNamespace(ok=True, status="optimal", Z=P.X_true.copy())
    return exp.Result(exp.Params(n=12, max_iter=10), sweep(runs, P), sweep(contrast), sdp, {})


def by_id(result):
    return {c.id: c for c in exp.claims(result)}


def test_claims_hold_on_the_expected_outcome():
    c = by_id(fake())
    for key in ("udu_rank", "bm_approx", "no_correlation_vs_rho", "smaller_slower"):
        assert c[f"ib.mc.step.{key}"].holds and not c[f"ib.mc.step.{key}"].fragile
        assert c[f"ib.mc.step.{key}"].kind == "paper" and c[f"ib.mc.step.{key}"].quote
    assert c["ib.mc.step.sdp_solved"].kind == "check" and c["ib.mc.step.sdp_solved"].holds
    assert c["ib.mc.step.no_correlation"].exploratory
    assert all(x.expected == "holds" for x in c.values())


def test_claims_fail_when_the_experiment_comes_out_otherwise():
    assert not by_id(fake(udu_rank=5))["ib.mc.step.udu_rank"].holds
    bm3 = by_id(fake(bm_decay=0))["ib.mc.step.bm_approx"]   # BM exactly rank 3
    assert not bm3.holds and bm3.margin < 0
    assert not by_id(fake(slower=False))["ib.mc.step.smaller_slower"].holds
    nc = by_id(fake(bm_rank_eta_effect=True, rho_effect=False))["ib.mc.step.no_correlation_vs_rho"]
    assert not nc.holds and not nc.fragile


def test_small_eta_is_claimed_apart_and_exploratory():
    P = make_completion(12, 3, rng=np.random.default_rng(0))
    runs = []
    for eta, rank in ((0.1, 3), (0.01, 3), (0.001, 2)):
        runs += [run("BM", eta, 1e-2, spectrum(3, decay=0.5), 1e-6 * 10 ** (2 * len(runs))),
                 run("UDU", eta, 1e-2, spectrum(rank), 1e-6 * 10 ** (2 * len(runs)))]
    contrast = [run("BM", 0.01, rho, spectrum(3, decay=0.5) * np.r_[np.ones(3), np.full(17, f)])
                for rho, f in ((1.0, 10.0), (1e-4, 0.1))]
    sdp = SimpleNamespace(ok=True, status="optimal", Z=P.X_true.copy())
    r = exp.Result(exp.Params(n=12, max_iter=10, etas=(0.1, 0.01, 0.001)), sweep(runs, P),
                   sweep(contrast), sdp, {})
    c = by_id(r)
    assert c["ib.mc.step.udu_rank"].holds                 # η ≥ 1e-2 only
    small = c["ib.mc.step.udu_rank_small_eta"]
    assert not small.holds and small.exploratory
    assert "ib.mc.step.udu_rank_small_eta" not in by_id(fake())
