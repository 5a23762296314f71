import numpy as np
import pytest

from bmlab.experiments.high_order_spectra import (
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
