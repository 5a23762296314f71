import numpy as np
import pytest

from bmlab.experiments.asymmetric_gd import two_stages as ts


@pytest.fixture(scope="module")
def result():
    return ts.run(ts.Params.for_profile("quick", n_seeds=2, n_iter=1500), np.random.default_rng(1))


def _by_id(result):
    return {c.id: c for c in ts.claims(result)}


def _with(result, **cols):
    S = result.summary.copy()
    for k, v in cols.items():
        S[k] = v
    return ts.Result(result.params, result.runs, S)


def test_presets_and_validation():
    assert ts.Params.for_profile("quick").n_seeds < ts.Params.for_profile("paper").n_seeds
    for bad in (dict(eps=0.0), dict(n=2), dict(n_iter=1), dict(sigmas=(1.0, 0.0))):
        with pytest.raises(ValueError):
            ts.Params.for_profile("quick", **bad)


def test_real_run(result):
    cl = _by_id(result)
    assert all(c.holds and c.as_expected and not c.fragile for c in cl.values()), cl
    assert cl["agd3.residual_split"].kind == "check"
    assert cl["agd3.JV_term_not_negligible"].kind == "extension"
    for cid in ("agd3.lam_min_P_above_bound", "agd3.J_K_nonincreasing", "agd3.gram_bounded"):
        assert cl[cid].kind == "check" and cl[cid].reason      # cannot fail in this regime
    assert set(ts.glue_values(result)) >= {"T0_min", "lam_min", "B_inc", "gram_max"}


@pytest.mark.parametrize("col, value, cid", [
    ("min lam_min(P)", -1.0, "agd3.lam_min_P_above_bound"),
    ("stage-one slack", -1e-6, "agd3.stage_one_invariants"),
    ("T0", 1e5, "agd3.T0_within_prediction"),
    ("T0", np.nan, "agd3.T0_within_prediction"),
    ("stage-two slack", -0.01, "agd3.stage_two_conditions"),
    ("max ||J|| step increase", 1e-9, "agd3.J_K_nonincreasing"),
    ("max ||U||^2, ||V||^2 / (3 sigma_1)", 1.2, "agd3.gram_bounded"),
    ("max sigma_d(A) step decrease", 1e-6, "agd3.sd_A_monotone"),
    ("max ||B|| step increase", 0.05, "agd3.B_almost_decreasing"),
    ("||B_end||/||B_0||", 1.5, "agd3.B_almost_decreasing"),       # ends above its start
    ("max ||JV^T||^2 share", 0.01, "agd3.JV_term_not_negligible"),
])
def test_falsifiable(result, col, value, cid):
    c = _by_id(_with(result, **{col: value}))[cid]
    assert not c.holds and c.margin < 0


def test_stage_two_missing_when_T0_not_reached():
    r = ts.run(ts.Params.for_profile("quick", n_seeds=1, n_iter=200), np.random.default_rng(2))
    assert not np.isfinite(r.summary["T0"].iloc[0])
    assert r.summary["stage-two slack"].iloc[0] < 0
