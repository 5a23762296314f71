import numpy as np
import pytest

from ib_fakes import run, spectrum, sweep

from bmlab.experiments.implicit_bias import completion_initial_scale as exp


def test_presets_and_validation():
    assert exp.Params.for_profile("quick").rhos == (1.0, 1e-2, 1e-4)
    assert exp.Params.for_profile("paper").rhos == (1.0, 1e-1, 1e-2, 1e-3, 1e-4)
    assert exp.Params.for_profile("paper").max_iter == 10 ** 6          # the paper's budget
    with pytest.raises(ValueError, match="backend"):
        exp.Params(backend="gpu")
    with pytest.raises(ValueError, match="rhos"):
        exp.Params(rhos=(1e-3, 1e-4))
    with pytest.raises(ValueError, match="eta"):
        exp.Params(eta=0.0)


def fake(*, udu_ranks=(3, 3, 3), bm_decays=(0.9, 0.5, 0.1)):
    runs = []
    for rho, k, dec in zip((1.0, 1e-2, 1e-4), udu_ranks, bm_decays):
        s = spectrum(3, decay=dec)
        s[3:] *= dec  # σ₄/σ₁ follows the decay too
        runs += [run("BM", 0.01, rho, s), run("UDU", 0.01, rho, spectrum(k))]
    r = exp.Result(exp.Params(), sweep(runs), {})
    from ib_fakes import attach_factors

    from bmlab.problems.completion import make_completion

    r.sweep.problem = make_completion(12, 3, rng=np.random.default_rng(0))
    attach_factors(r.sweep.runs, r.sweep.problem)
    return r


def test_claims_hold_and_can_fail():
    good = {c.id: c for c in exp.claims(fake())}
    assert all(c.holds and not c.fragile for c in good.values())
    assert all(c.kind == "paper" for k, c in good.items() if k != "ib.mc.init.udu_certified")
    assert good["ib.mc.init.udu_certified"].exploratory
    assert good["ib.mc.init.udu_certified"].expected == "fails"   # cut budget: not converged
    r = fake()
    r.params = exp.Params.for_profile("paper")
    assert {c.id: c for c in exp.claims(r)}["ib.mc.init.udu_certified"].expected == "holds"
    assert good["ib.mc.init.udu_rank"].exploratory          # paper-profile budget set after a fail
    assert "approximately low-rank" in good["ib.mc.init.bm_approx"].quote
    bad = {c.id: c for c in exp.claims(fake(udu_ranks=(3, 4, 3), bm_decays=(0.1, 0.5, 0.9)))}
    assert not bad["ib.mc.init.udu_rank"].holds
    assert not bad["ib.mc.init.bm_decay_sharpens"].holds
    flat = {c.id: c for c in exp.claims(fake(bm_decays=(1e-7, 1e-7, 1e-7)))}
    assert not flat["ib.mc.init.bm_approx"].holds


def test_certificate_table_on_known_points():
    from ib_fakes import attach_factors

    from bmlab.problems.completion import make_completion

    P = make_completion(12, 3, rng=np.random.default_rng(0))
    r = fake()
    r.sweep.problem = P
    attach_factors(r.sweep.runs, P)
    assert set(exp.certificate_table(r).verdict) == {"certified"}
    attach_factors(r.sweep.runs, P, optimal=False)
    assert set(exp.certificate_table(r).verdict) == {"refuted"}
    c = {x.id: x for x in exp.claims(r)}["ib.mc.init.udu_certified"]
    assert not c.holds and c.margin < -1e-6 and not c.fragile
