"""Chapter module exact_penalty.snmf_clustering."""
import dataclasses
import warnings

import numpy as np
import pytest

from bmlab.experiments.exact_penalty import snmf_clustering as exp


@pytest.fixture(scope="module")
def result():
    p = exp.Params.for_profile("quick", per_class=3, k_nn=3, n_starts=2, sdp_per_class=2, max_iter=300)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return exp.run(p, np.random.default_rng(0))


def test_presets_and_validation():
    assert exp.Params.for_profile("quick").per_class < exp.Params.for_profile("paper").per_class
    for bad in [dict(per_class=1), dict(k_nn=0), dict(r=11), dict(eps=-1.0)]:
        with pytest.raises((ValueError, TypeError)):
            exp.Params.for_profile("quick", **bad)


def test_claims_and_tables(result):
    cs = {c.id: c for c in exp.claims(result)}
    assert {c.kind for c in cs.values()} <= {"extension", "check"}
    assert cs["app.sdp_lower_bound"].kind == "check"
    assert not any("time" in c for df in exp.tables(result).values() for c in df.columns)
    assert "X" not in result.runs.columns


def test_falsifiable(result):
    runs = result.runs.copy()
    runs.loc[runs["method"].str.startswith("HAM"), "accuracy"] = 0.1
    runs.loc[runs["method"] == "HAM AMour", "|X-Y| (rel)"] = 0.5
    sdp = dict(result.sdp, **{"rank Z_sdp": 3})
    cs = {c.id: c for c in exp.claims(dataclasses.replace(result, runs=runs, sdp=sdp))}
    assert not cs["app.accuracy_competitive"].holds
    assert not cs["app.accuracy_competitive_best_of_two"].holds
    assert not cs["app.symmetric_1e-3"].holds
    assert not cs["app.symmetric"].holds
    assert not cs["app.sdp_rank_above_r"].holds


def test_figure(result):
    import matplotlib
    matplotlib.use("Agg")
    from bmlab.experiments.exact_penalty.plots import plot_clustering
    plot_clustering(result.runs, result.M, result.labels, result.best_X)
