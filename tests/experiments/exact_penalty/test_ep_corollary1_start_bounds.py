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


def test_certificates(result):
    """Issue 14: positive at the known optimum (PSD M = U U^T, AM reaches X = U), not certified on
    the indefinite instance where the DNN optimum has rank > r; falsifiable through the table."""
    S = result.sdp
    psd = S[S["instance"].str.startswith("psd")]
    assert (psd["certificate"] == "certified").all()
    assert (S.loc[~S["instance"].str.startswith("psd"), "certificate"] != "certified").all()
    cs = by_id(exp.claims(result))
    for cid in ("cor1.certificate_tight", "cor1.sdp_distance_tight", "cor1.certificate_loose"):
        assert cs[cid].kind == "check" and cs[cid].holds, cid
    bad = S.copy()
    bad.loc[psd.index, "||XY^T - Z_sdp|| / ||Z_sdp||"] = 0.05
    bad.loc[psd.index, "lambda_min(S)"] = -0.2
    ind = bad.index[~bad["instance"].str.startswith("psd")]
    bad.loc[ind, ["lambda_min(S)", "certificate"]] = [0.0, "certified"]
    cs = by_id(exp.claims(dataclasses.replace(result, sdp=bad)))
    for cid in ("cor1.certificate_tight", "cor1.sdp_distance_tight", "cor1.certificate_loose"):
        assert not cs[cid].holds and cs[cid].margin < 0, cid


def test_certificate_spurious_point():
    """X = Y = 0 is a critical point of every split (a spurious one when M != 0): refuted."""
    from bmlab.experiments.exact_penalty.common import sdp_certificate_row
    from bmlab.problems.snmf import SymmetricNMF, random_psd_nonneg
    prob = SymmetricNMF(random_psd_nonneg(6, 2, np.random.default_rng(4)), 2)
    Z0 = np.zeros((6, 2))
    row = sdp_certificate_row(prob, Z0, Z0, None)
    assert row["certificate"] == "refuted" and row["SDP status"] == "not run"
