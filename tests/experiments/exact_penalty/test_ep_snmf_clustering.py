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


def test_certificates_on_result_and_falsifiable(result):
    """Issue 14: every factorized solution of the chapter carries its certificate; the claims
    flip when the certificate or the distance come out the other way."""
    assert result.sdp["certificate"] in ("certified", "refuted", "inconclusive")
    assert result.full_certificate["n"] == len(result.labels)
    t = exp.tables(result)["tab-app-sdp"]
    assert list(t["graph"]) == ["subsample (SDP solved)", "full (SDP solved)"]
    cs = {c.id: c for c in exp.claims(result)}
    assert cs["app.certificate_loose"].kind == "check"
    # referee finding 6: lambda_min(G - N) < 0 for a heuristic N proves nothing: a check that
    # says "not certified (inconclusive)"
    nc = cs["app.full_certificate_not_certified"]
    assert nc.kind == "check" and "inconclusive" in nc.statement
    fc = dict(result.full_certificate, **{"lambda_min(S)": 0.0, "certificate": "certified"})
    sd = dict(result.sdp, **{"lambda_min(S)": 0.0, "certificate": "certified",
                             "||XY^T - Z_sdp|| / ||Z_sdp||": 1e-4})
    cs = {c.id: c for c in exp.claims(dataclasses.replace(result, full_certificate=fc, sdp=sd))}
    assert not cs["app.full_certificate_not_certified"].holds
    # referee finding 13: certificate_loose rests on every HAM AMour start, so one certified
    # start close to the SDP solution makes it fail
    assert len(result.sdp_starts) == result.params.n_starts
    assert "each of the" in cs["app.certificate_loose"].statement
    ss = result.sdp_starts.copy()
    ss.loc[ss.index[-1], ["lambda_min(S)", "certificate", "||XY^T - Z_sdp|| / ||Z_sdp||"]] = \
        [0.0, "certified", 1e-4]
    cs = {c.id: c for c in exp.claims(dataclasses.replace(result, sdp_starts=ss))}
    assert not cs["app.certificate_loose"].holds
    cs = {c.id: c for c in exp.claims(dataclasses.replace(result, sdp_starts=None, sdp=sd))}
    assert not cs["app.certificate_loose"].holds


def test_certificate_known_optimum_and_spurious_point():
    """Through the chapter's helper: M = U U^T with U >= 0 of rank r is certified at X = U; the
    critical point X = 0 is refuted; beyond sdp_full_max_n the SDP is skipped."""
    from bmlab.experiments.exact_penalty.common import sdp_certificate_row
    from bmlab.problems.snmf import SymmetricNMF
    U = np.random.default_rng(1).uniform(size=(12, 3))
    prob = SymmetricNMF(U @ U.T, 3)
    assert sdp_certificate_row(prob, U, U, None)["certificate"] == "certified"
    Z0 = np.zeros_like(U)
    assert sdp_certificate_row(prob, Z0, Z0, None)["certificate"] == "refuted"
    p = exp.Params.for_profile("quick", per_class=3, k_nn=3, n_starts=1, sdp_per_class=2,
                               max_iter=100, sdp_full_max_n=10)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = exp.run(p, np.random.default_rng(2))
    assert r.full_certificate["SDP status"] == "not run"
    assert exp.tables(r)["tab-app-sdp"]["graph"].iloc[1] == "full (certificate alone)"
    assert "app.full.certificate_loose" not in {c.id for c in exp.claims(r)}
