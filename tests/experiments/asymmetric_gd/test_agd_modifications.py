import numpy as np
import pandas as pd
import pytest

from bmlab.experiments.asymmetric_gd import modifications as md

METHODS = ("GD", "GD + balancing", "perturbed GD")


def _synthetic(n_seeds=6, over=None):
    """A Result as the experiment came out: GD = modifications from practical starts, perturbed
    GD faster near the saddle, the regulariser balances, GD stuck at zero."""
    rows = []
    for s in range(n_seeds):
        for st in md.STARTS:
            for mth in METHODS:
                it = 1300.0 + s
                if st == "eps = 1e-8":
                    it = 2400.0 + s if mth != "perturbed GD" else 2200.0 + s
                if st == "zero":
                    it = np.nan if mth != "perturbed GD" else 2300.0
                row = {"seed": s, "start": st, "method": mth,
                       "status": "converged" if np.isfinite(it) else "max_iter",
                       "iterations": it, "excess_rel_loss": 1.0 if np.isnan(it) else 1e-11,
                       "dist_to_svd": 1e-5, "balance_0": 2e-5,
                       "balance_end": 1e-10 if mth == "GD + balancing" else 2e-5}
                for (k_st, k_m, col), v in (over or {}).items():
                    if st == k_st and mth == k_m:
                        row[col] = v(s) if callable(v) else v
                rows.append(row)
    df = pd.DataFrame(rows)
    df.loc[df["status"] != "converged", "iterations"] = np.nan
    return md.Result(md.Params.for_profile("quick", n_seeds=n_seeds), df)


def _by_id(result):
    return {c.id: c for c in md.claims(result)}


def test_presets_and_validation():
    assert md.Params.for_profile("quick").n_seeds >= 6
    for bad in (dict(delta=2.0), dict(balance=0.0), dict(m=2)):
        with pytest.raises(ValueError):
            md.Params.for_profile("quick", **bad)


def test_synthetic_outcome_holds():
    cl = _by_id(_synthetic())
    assert all(c.holds and not c.fragile for c in cl.values()), cl
    assert cl["agd7.zero_start_needs_noise"].kind == "check"
    assert cl["agd7.matches_truncated_svd"].kind == "check"
    assert cl["agd7.regulariser_balances"].kind == "check"              # true by design
    assert cl["agd7.balancing_not_needed"].samples == 6                # seeds, not runs


def test_comparisons_need_six_pairs():
    cl = _by_id(_synthetic(n_seeds=3))
    assert cl["agd7.perturbation_helps_near_saddle"].fragile


@pytest.mark.parametrize("over, cid", [
    ({("eps = 1e-3", "GD + balancing", "iterations"): lambda s: 1000.0 + s},
     "agd7.balancing_not_needed"),                                   # a modification helps
    ({(st, "perturbed GD", "iterations"): lambda s: 1600.0 + s for st in md.PRACTICAL},
     "agd7.noise_not_needed"),                                        # ... or hurts
    ({("eps = 1e-3", "perturbed GD", "status"): "max_iter"}, "agd7.noise_not_needed"),
    ({("eps = 1e-8", "GD", "iterations"): np.nan, ("eps = 1e-8", "GD", "status"): "max_iter"},
     "agd7.vanilla_converges"),
    ({("eps = 1e-8", "perturbed GD", "iterations"): lambda s: 2500.0 + s},
     "agd7.perturbation_helps_near_saddle"),
    ({("eps = 1e-3", "GD + balancing", "balance_end"): 1e-6}, "agd7.regulariser_balances"),
    ({("zero", "GD", "excess_rel_loss"): 0.5}, "agd7.zero_start_needs_noise"),
    ({("zero", "perturbed GD", "status"): "max_iter"}, "agd7.zero_start_perturbed_converges"),
])
def test_falsifiable(over, cid):
    c = _by_id(_synthetic(over=over))[cid]
    assert not c.holds and c.margin < 0


def test_small_real_run():
    p = md.Params.for_profile("quick", n_seeds=1, m=8, n=6, flow_time=40.0)
    r = md.run(p, np.random.default_rng(8))
    assert set(r.runs["start"]) == set(md.STARTS) and len(r.runs) == 12
    assert len(md.summary_table(r)) == 12 and "it_gd3" in md.glue_values(r)
