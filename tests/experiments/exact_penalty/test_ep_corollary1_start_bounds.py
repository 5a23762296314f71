"""Chapter module exact_penalty.corollary1_start_bounds."""
import dataclasses

import numpy as np
import pytest

from bmlab.experiments.exact_penalty import corollary1_start_bounds as exp


@pytest.fixture(scope="module")
def result():
    p = exp.Params.for_profile("quick", sizes=((6, 2),), grid_points=4, max_iter=1500)
    return exp.run(p, np.random.default_rng(0))


def by_id(cs):
    return {c.id: c for c in cs}


def test_presets_and_validation():
    q, p = exp.Params.for_profile("quick"), exp.Params.for_profile("paper")
    assert len(q.sizes) < len(p.sizes) and (q.grid > 1).any() and (p.grid > 1).any()
    for bad in [dict(sizes=()), dict(sizes=((4, 5),)), dict(grid_lo=-2.0, grid_hi=0.0),
                dict(grid_lo=-1.0, grid_hi=1.0, grid_points=3), dict(start_scale=0.0)]:
        with pytest.raises((ValueError, TypeError)):
            exp.Params.for_profile("quick", **bad)


def test_claims(result):
    cs = by_id(exp.claims(result))
    assert cs["cor1.12_below_zhu"].kind == "check" and cs["cor1.12_below_zhu"].holds
    assert cs["cor1.11_above_12"].kind == "check"
    assert cs["cor1.bounds_valid"].kind == "paper" and cs["cor1.bounds_valid"].expected == "holds"
    assert cs["cor1.decreasing_shrinks"].kind == "check"
    assert cs["cor1.no_asymmetric_above_12"].exploratory
    assert (result.grid_runs["c"] > 1).any()           # the search goes above (12)
    assert not any("time" in c for df in exp.tables(result).values() for c in df.columns)


def test_falsifiable_bounds_valid(result):
    g = result.grid_runs.copy()
    i = g.index[g["c"] > 1][0]
    g.loc[i, ["status", "asym"]] = ["converged", True]     # an asymmetric limit above (12)
    T = result.table.copy()
    T.loc[0, "AM status"] = "max_iter"
    T.loc[0, "decreasing: final lambda"] = 2 * T.loc[0, "bound (12)"]
    cs = by_id(exp.claims(dataclasses.replace(result, grid_runs=g, table=T)))
    assert not cs["cor1.bounds_valid"].holds and not cs["cor1.no_asymmetric_above_12"].holds
    assert not cs["cor1.exact_above_12"].holds
    assert not cs["cor1.decreasing_shrinks"].holds


def test_bounds_valid_can_hold(result):
    g = result.grid_runs.copy()
    T = result.table.copy()
    i = g.index[g["c"] < 1][0]
    g.loc[i, ["status", "asym"]] = ["converged", True]     # an asymmetric limit below (12)
    T.loc[T["instance"] == g.loc[i, "instance"], "empirical threshold"] = g.loc[i, "lam"]
    cs = by_id(exp.claims(dataclasses.replace(result, grid_runs=g, table=T)))
    assert cs["cor1.bounds_valid"].holds
    T["decreasing: status"], T["decreasing: final |X-Y| (rel)"] = "converged", 0.0
    cs = by_id(exp.claims(dataclasses.replace(result, table=T)))
    assert cs["cor1.decreasing_converges_symmetric"].holds


def test_figure(result):
    import matplotlib
    matplotlib.use("Agg")
    from bmlab.experiments.exact_penalty.plots import plot_corollary1
    runs = result.decreasing["indefinite"]
    plot_corollary1(result.table, {"fixed (12)": runs["fixed"], "decreasing": runs["decreasing"]})
