"""Chapter module exact_penalty.theorem1_bound: Theorem 1 at AM limits and Newton's saddles."""
import dataclasses

import numpy as np
import pytest

from bmlab.experiments.exact_penalty import theorem1_bound as exp
from bmlab.experiments.exact_penalty.common import (SplitLandscape, make_theorem1_family,
                                                    newton_critical_points)


@pytest.fixture(scope="module")
def result():
    p = exp.Params.for_profile("quick", n=5, n_lams=3, max_iter=800, newton_starts=3, newton_lams=3)
    return exp.run(p, np.random.default_rng(0))


def by_id(cs):
    return {c.id: c for c in cs}


def test_presets_and_validation():
    q, p = exp.Params.for_profile("quick"), exp.Params.for_profile("paper")
    assert q.n_starts <= p.n_starts and q.newton_starts < p.newton_starts
    for bad in [dict(r=8), dict(mu=-1.0), dict(n_lams=1), dict(newton_starts=0)]:
        with pytest.raises((ValueError, TypeError)):
            exp.Params.for_profile("quick", **bad)


def test_newton_finds_saddles_and_refuses_constraints():
    rng = np.random.default_rng(3)
    prob = make_theorem1_family("sensing", rng, n=5, r=2)
    df = newton_critical_points(prob, [0.02], 4, rng)
    conv = df[df["status"] == "converged"]
    assert len(conv) >= 2 and (conv["residual"] < 1e-8).all()
    assert (conv["n_neg"] > 0).any()          # saddles, which AM would not reach
    with pytest.raises(ValueError):
        SplitLandscape(make_theorem1_family("snmf-psd", rng, n=5, r=2), 0.1)


def test_claims_kinds_and_tables(result):
    cs = by_id(exp.claims(result))
    assert cs["thm1.no_asymmetric_above_bound"].kind == "paper"
    assert cs["thm1.newton.no_asymmetric_above_bound"].kind == "paper"
    assert cs["thm1.sdp_lower_bound"].kind == "check"
    assert cs["thm1.sensing.ratio_le_1"].kind == "check"
    assert cs["thm1.rayleigh"].kind == "check"
    for c in cs.values():
        if c.kind == "paper" and c.id.startswith("thm1.") and "psd" not in c.id:
            assert c.holds
    t = exp.tables(result)
    assert not any("time" in c for df in t.values() for c in df.columns)


def test_falsifiable_theorem1(result):
    am = result.am.copy()
    i = am.index[(am["status"] == "converged") & am["asym"]]
    if len(i) == 0:
        i = am.index[:1]
        am.loc[i, ["status", "asym", "gap"]] = ["converged", True, 1.0]
    am.loc[i[0], "bound"] = 0.5 * am.loc[i[0], "lam"]       # lambda = 2 b at an asymmetric point
    am.loc[i[0], "mid9"] = 0.5 * am.loc[i[0], "lhs9"]       # and (9) violated there
    nw = result.newton.copy()
    j = nw.index[(nw["status"] == "converged") & nw["asym"]][0]
    nw.loc[j, "bound"] = 0.1 * nw.loc[j, "lam"]
    cs = by_id(exp.claims(dataclasses.replace(result, am=am, newton=nw)))
    for cid in ("thm1.no_asymmetric_above_bound", "thm1.inequality9",
                "thm1.newton.no_asymmetric_above_bound"):
        assert not cs[cid].holds and cs[cid].margin < -1


def test_psd_conjecture_merged(result):
    cs = by_id(exp.claims(result))
    assert "thm1.snmf_psd_no_asymmetric" not in cs      # merged into cor2.psd_any_lambda


def test_figures(result):
    import matplotlib
    matplotlib.use("Agg")
    from bmlab.experiments.exact_penalty.plots import plot_newton_points, plot_theorem1
    plot_theorem1(result.first_instance_runs())
    plot_newton_points(result.newton)
