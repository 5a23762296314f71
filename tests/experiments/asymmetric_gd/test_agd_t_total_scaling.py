import numpy as np
import pytest

from bmlab.experiments.asymmetric_gd import t_total_scaling as tt
from bmlab.experiments.asymmetric_gd.common import slope_table

GRIDS = {"eta": (0.01, 0.02, 0.04), "eps": (1e-5, 1e-3, 1e-2), "sigma_d": (0.5, 1.0, 2.0),
         "delta": (1e-2, 1e-5, 1e-8), "m+n": (10, 20, 40)}


@pytest.fixture(scope="module")
def result():
    p = tt.Params.for_profile("quick", n_seeds=2, grids=GRIDS)
    return tt.run(p, np.random.default_rng(0))


def _rebuild(result, df):
    return tt.Result(result.params, df, slope_table(df),
                     slope_table(df[df["knob"] == "eps"], col="T1"))


def _by_id(result):
    return {c.id: c for c in tt.claims(result)}


def test_presets_and_validation():
    q, p = tt.Params.for_profile("quick"), tt.Params.for_profile("paper")
    assert q.n_seeds < p.n_seeds
    assert all(len(p.grids[k]) >= len(q.grids[k]) for k in tt.KNOBS)
    with pytest.raises(ValueError):
        tt.Params.for_profile("quick", grids={"eps": (1e-3, 1e-2, 1e-1)})   # delta missing
    with pytest.raises(ValueError):
        tt.Params.for_profile("quick", grids={**GRIDS, "bogus": (1, 2, 3)})
    with pytest.raises(ValueError):
        tt.Params.for_profile("quick", n_seeds=1)
    with pytest.raises(ValueError):
        tt.Params.for_profile("quick", kappa=0.5)


def test_real_run_outcomes(result):
    cl = _by_id(result)
    for cid in ("agd2.formula_upper_bounds_typical", "agd2.eps_coefficient_affine",
                "agd2.delta_coefficient_le_formula", "agd2.warmup_log_eps", "agd2.eta_slope"):
        assert cl[cid].holds, cl[cid]
    assert all(c.quote for c in cl.values() if c.kind == "paper")
    assert cl["agd2.log_eps"].expected == "fails" and cl["agd2.log_eps"].kind == "extension"
    assert cl["agd2.delta_coefficient"].exploratory
    for cid in ("agd2.formula_upper_bounds", "agd2.formula_upper_bounds_typical",
                "agd2.eps_coefficient_affine"):                  # C = 1 and ranges are ours
        assert cl[cid].kind == "extension" and cl[cid].exploratory and cl[cid].reason
    assert cl["agd2.delta_coefficient_le_formula"].kind == "extension"
    assert cl["agd2.formula_upper_bounds"].samples == result.params.n_seeds   # seeds, not runs
    assert cl["agd2.formula_upper_bounds_typical"].exploratory
    lp = tt.local_phase(result)
    assert np.allclose(lp["T1"] + lp["T2"], lp["T"])


def test_upper_bound_falsifiable(result):
    df = result.df.copy()
    df.loc[0, "T"] = 1.2 * df.loc[0, "T_pred"]            # one run of one seed of two
    c = _by_id(_rebuild(result, df))["agd2.formula_upper_bounds"]
    assert not c.holds and c.margin < 0
    df["T"] = 1.2 * df["T_pred"]                          # every seed above the formula
    c = _by_id(_rebuild(result, df))["agd2.formula_upper_bounds_typical"]
    assert not c.holds and c.margin < 0


@pytest.mark.parametrize("knob, cid", [("delta", "agd2.delta_coefficient_le_formula"),
                                       ("eps", "agd2.eps_coefficient_affine")])
def test_coefficient_bound_falsifiable(result, knob, cid):
    df = result.df.copy()
    k = df["knob"] == knob
    df.loc[k, "T"] = 2.0 * df.loc[k, "T_pred"]        # grows twice as fast as the formula
    c = _by_id(_rebuild(result, df))[cid]
    assert not c.holds and c.margin < 0


def test_affine_bars_can_flip(result):
    df = result.df.copy()
    k = df["knob"] == "eps"
    df.loc[k, "T"] = 500 + 100 * np.log(1 / df.loc[k, "value"])   # exactly affine
    df.loc[k, "T1"] = 400 + 3 * (np.arange(k.sum()) % 2)         # no ln(1/eps) growth
    cl = _by_id(_rebuild(result, df))
    assert cl["agd2.log_eps"].holds and not cl["agd2.log_eps"].as_expected
    assert not cl["agd2.warmup_log_eps"].holds
