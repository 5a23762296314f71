import numpy as np
import pytest

from bmlab.experiments.high_order_losses.hessian_spectra import (
    SpectraParams, compare_with_paper, load_paper_table, ratio_curves, run_spectra)


def test_paper_table_is_complete():
    t = load_paper_table()
    assert len(t) == 12 and set(t.n) == {3, 5, 7} and set(t.lam) == {0, 0.5, 5, 50}


def test_table_reproduces_within_0005():
    res = run_spectra(SpectraParams())
    assert all(p.status == "converged" for p in res.points)
    cmp = compare_with_paper(res)
    assert cmp.filter(like="_diff").abs().to_numpy().max() <= 5e-3
    # X̂ is a spurious local minimum: far from M*, positive definite Hessian
    f = res.frame()
    assert (f.distance > 1).all() and (f.lmin_hat > 0).all()
    assert (f.newton_residual < 1e-10).all()


def test_compare_needs_every_row():
    res = run_spectra(SpectraParams(ns=(3,), lams=(0.0,)))
    with pytest.raises(ValueError, match="every"):
        compare_with_paper(res)


def test_ratio_grows_with_lambda():
    df = ratio_curves((3, 5), [0.0, 0.5, 5.0])
    for _, g in df.groupby("n"):
        assert np.all(np.diff(g.ratio.to_numpy()) > 0)


@pytest.mark.parametrize("kw", [{"ns": (2,)}, {"lams": (-1.0,)}, {"eps": 0.0}, {"step": 0.0}])
def test_bad_params(kw):
    with pytest.raises(ValueError):
        SpectraParams(**kw)


# ----------------------------------------------------------------------------- chapter module
import dataclasses  # noqa: E402

from bmlab.experiments.high_order_losses import hessian_spectra as exp  # noqa: E402
from bmlab.experiments.high_order_losses.common import merge_close  # noqa: E402


@pytest.fixture(scope="module")
def result():
    return exp.run(exp.Params.for_profile("quick", ratio_points=4))


def test_presets_and_grid_without_near_duplicates():
    q, p = exp.Params.for_profile("quick"), exp.Params.for_profile("paper")
    assert q.ratio_points < p.ratio_points and q.lams == p.lams
    for params in (q, p):
        g = params.ratio_grid()
        assert 50.0 in g and 0.0 in g and np.all(np.diff(g) > 1e-9 * g[1:])
    with pytest.raises(ValueError):
        exp.Params.for_profile("quick", ratio_points=1)
    with pytest.raises(ValueError):
        exp.Params.for_profile("quick", ns=(2,))


def test_merge_close_keeps_the_first_value():
    g = merge_close([50.0, 10 ** np.log10(50), 1.0, 1.0 + 1e-12, 2.0])
    np.testing.assert_array_equal(g, [1.0, 2.0, 50.0])


def test_claims_hold_and_are_robust(result):
    cl = {c.id: c for c in exp.claims(result)}
    assert all(c.holds and not c.fragile for c in cl.values())
    assert cl["hol.spectra.closed_forms"].kind == "check"
    assert cl["hol.spectra.ratio_increases"].kind == "paper" and cl["hol.spectra.lmin_hat"].quote
    # fitted to the table: exploratory; the X* columns identify the instance: checks
    assert cl["hol.spectra.lmin_hat"].exploratory and cl["hol.spectra.lmax_hat"].exploratory
    assert cl["hol.spectra.lmin_star"].kind == cl["hol.spectra.lmax_star"].kind == "check"
    assert cl["hol.spectra.ratio_increases_dense"].kind == "extension"


def test_ratio_claim_fails_when_a_curve_dips(result):
    curves = result.curves.copy()
    i = curves[(curves.n == 5) & (curves.lam == 5.0)].index[0]
    curves.loc[i, "ratio_exact"] = curves.loc[i, "ratio_exact"] * 0.1
    bad = {c.id: c for c in exp.claims(dataclasses.replace(result, curves=curves))}
    for cid in ("hol.spectra.ratio_increases", "hol.spectra.ratio_increases_dense"):
        assert not bad[cid].holds and bad[cid].margin < -1e-6


def test_ratio_claims_use_the_newton_refined_points(result):
    # a dip of the GD-stop ratio alone changes nothing; a dip of the refined ratio at a
    # λ off the table fails the dense extension only
    curves = result.curves.copy()
    i = curves[(curves.n == 5) & (curves.lam == 5.0)].index[0]
    curves.loc[i, "ratio"] = curves.loc[i, "ratio"] * 0.5
    c = {c.id: c for c in exp.claims(dataclasses.replace(result, curves=curves))}
    assert c["hol.spectra.ratio_increases"].holds and c["hol.spectra.ratio_increases_dense"].holds
    curves = result.curves.copy()
    off = curves[(curves.n == 7) & ~curves.lam.isin(result.params.lams)].sort_values("lam")
    j = off.index[len(off) // 2]
    curves.loc[j, "ratio_exact"] = curves.loc[j, "ratio_exact"] * 0.5
    c = {c.id: c for c in exp.claims(dataclasses.replace(result, curves=curves))}
    assert c["hol.spectra.ratio_increases"].holds
    assert not c["hol.spectra.ratio_increases_dense"].holds
    # an unconverged Newton refinement fails both
    curves = result.curves.copy()
    curves.loc[curves.index[0], "newton_status"] = "max_iter"
    c = {c.id: c for c in exp.claims(dataclasses.replace(result, curves=curves))}
    assert not c["hol.spectra.ratio_increases"].holds


def test_table_claim_fails_when_an_entry_is_off(result):
    cmp = result.compare.copy()
    cmp.loc[0, "lmax_hat_ours"] += 0.01
    c = {c.id: c for c in exp.claims(dataclasses.replace(result, compare=cmp))}
    assert not c["hol.spectra.lmax_hat"].holds and c["hol.spectra.lmin_hat"].holds


def test_spurious_claim_fails_at_a_saddle(result):
    spectra = dataclasses.replace(result.spectra, points=list(result.spectra.points))
    spectra.points[0] = dataclasses.replace(spectra.points[0], lmin_exact=-0.1)
    c = {c.id: c for c in exp.claims(dataclasses.replace(result, spectra=spectra))}
    assert not c["hol.spectra.spurious"].holds
