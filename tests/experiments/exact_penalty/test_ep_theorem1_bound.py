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
    # referee finding 3: algebraic identities at an exact critical point, so checks
    assert cs["thm1.no_asymmetric_above_bound"].kind == "check"
    assert cs["thm1.newton.no_asymmetric_above_bound"].kind == "check"
    assert cs["thm1.inequality9"].kind == "check" and not cs["thm1.inequality9"].quote
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


# ------------------------------------------------------------------ saddle audit (issue 14)
@pytest.fixture(scope="module")
def audit_result(result):
    p = dataclasses.replace(result.params, audit_instances=1, audit_starts=3, audit_lams=2)
    return dataclasses.replace(result, audit=exp.saddle_audit(p, np.random.default_rng(7)))


def test_audit_claims_hold_and_kinds(audit_result):
    cs = by_id(exp.claims(audit_result))
    assert cs["thm1.audit.bound10_at_saddles"].kind == "check"
    assert cs["thm1.audit.inequality9_at_saddles"].kind == "check"
    assert cs["thm1.audit.same_critical_points_above_bound"].kind == "extension"
    assert cs["thm1.audit.saddles_above_are_symmetric_saddles"].kind == "check"
    t1 = cs["thm1.audit.theorem1_above_bound"]
    assert t1.kind == "paper" and t1.quote.startswith("If is a critical") and t1.exploratory
    assert t1.holds
    a = audit_result.audit
    hi = a[(a["phase"] == "newton-above") & (a["status"] == "converged")]
    assert len(hi) >= 2 and not hi["asym"].any() and (hi["sym_res"] < 1e-8).all()
    assert (a["lam_hi"] >= 2 * a["b_max"] - 1e-12).all() and (a["lam_hi"] > 0).all()
    assert cs["thm1.audit.same_critical_points_above_bound"].holds
    t = exp.tables(audit_result)["tab-t1-audit"]
    assert len(t) == 2 and "lambda_hi" in t.columns


def test_audit_falsifiable(audit_result):
    a = audit_result.audit.copy()
    j = a.index[(a["phase"] == "newton-above") & (a["status"] == "converged")][0]
    a.loc[j, ["asym", "gap_rel"]] = [True, 0.3]          # an asymmetric point above the bound
    k = a.index[(a["phase"] == "newton-below") & a["asym"] & (a["n_neg"] > 0)
                & (a["status"] == "converged")][0]
    a.loc[k, "bound"] = 0.1 * a.loc[k, "lam"]            # lambda = 10 b at an asymmetric saddle
    m = a.index[a["phase"] == "am-below"][0]
    a.loc[m, ["status", "hess_min"]] = ["converged", -0.5]   # AM stopping at a saddle
    cs = by_id(exp.claims(dataclasses.replace(audit_result, audit=a)))
    for cid in ("thm1.audit.same_critical_points_above_bound", "thm1.audit.bound10_at_saddles",
                "thm1.audit.am_misses_saddles"):
        assert not cs[cid].holds and cs[cid].margin < 0, cid


def test_audit_theorem1_above_bound_fails_only_above_own_bound(audit_result):
    """Referee finding 4: an asymmetric point above the bound contradicts Theorem 1 only when
    lambda_hi > b(point); with b(point) >= lambda_hi only the extension fails."""
    a = audit_result.audit.copy()
    j = a.index[(a["phase"] == "newton-above") & (a["status"] == "converged")][0]
    lam = a.loc[j, "lam"]
    a.loc[j, ["asym", "gap_rel", "gap", "slack_tol9", "bound"]] = [True, 0.3, 0.3, 1e-12, 2 * lam]
    cs = by_id(exp.claims(dataclasses.replace(audit_result, audit=a)))
    assert cs["thm1.audit.theorem1_above_bound"].holds
    assert not cs["thm1.audit.same_critical_points_above_bound"].holds
    a.loc[j, "bound"] = 0.5 * lam                         # now above its own bound: contradiction
    cs = by_id(exp.claims(dataclasses.replace(audit_result, audit=a)))
    c = cs["thm1.audit.theorem1_above_bound"]
    assert not c.holds and c.margin < -1
    a.loc[j, "sym_res"] = 1.0                             # a symmetric point not critical for (3)
    a.loc[j, ["asym", "gap_rel"]] = [False, 0.0]
    cs = by_id(exp.claims(dataclasses.replace(audit_result, audit=a)))
    assert not cs["thm1.audit.theorem1_above_bound"].holds


# ------------------------------------------------------------------ certificates (issue 14)
def test_certificate_positive_at_known_optimum_negative_at_spurious_point():
    from bmlab.experiments.exact_penalty.common import sdp_certificate_row
    from bmlab.problems.snmf import SymmetricNMF
    rng = np.random.default_rng(11)
    U = rng.uniform(size=(6, 2))
    prob = SymmetricNMF(U @ U.T, 2)                       # known optimum X = U (f = 0)
    row = sdp_certificate_row(prob, U, U.copy(), None)
    assert row["certificate"] == "certified" and row["SDP status"] == "not run"
    # spurious points of the sensing family: X = Y = 0 (critical for every lambda, M* has
    # positive eigenvalues) and the asymmetric critical points Newton finds below the bound
    sens = make_theorem1_family("sensing", np.random.default_rng(2), n=5, r=2)
    Z0 = np.zeros((5, 2))
    row = sdp_certificate_row(sens, Z0, Z0, None)
    assert row["certificate"] == "refuted" and row["lambda_min(S)"] < -0.1 * row["cert scale"]
    df = newton_critical_points(sens, [0.01], 4, np.random.default_rng(3), keep=True)
    sp = df[(df["status"] == "converged") & df["asym"]]
    assert len(sp)
    for X, Y in sp["XY"]:
        assert sdp_certificate_row(sens, X, Y, None)["certificate"] == "refuted"


def test_certificate_claims_on_result(result):
    cs = by_id(exp.claims(result))
    for cid in ("thm1.certificate_tight", "thm1.sdp_distance_tight", "thm1.certificate_loose"):
        assert cs[cid].kind == "check" and cs[cid].holds, cid
    # referee finding 12: every SDP row certifies a symmetric limit (no asymmetric fallback)
    assert result.sdp["symmetric limit"].all()
    assert (result.sdp["cert infeasibility"] < 1e-6).all()
    sdp = result.sdp.copy()
    tight, _ = exp._sdp_split(sdp)
    sdp.loc[tight.index[0], "||XY^T - Z_sdp|| / ||Z_sdp||"] = 0.2     # far from the SDP solution
    sdp.loc[tight.index[0], "lambda_min(S)"] = -0.1                   # and a descent direction
    cs = by_id(exp.claims(dataclasses.replace(result, sdp=sdp)))
    assert not cs["thm1.sdp_distance_tight"].holds
    assert not cs["thm1.certificate_tight"].holds


def test_certificate_tight_paper_expectation_only_in_the_paper_profile(result):
    """The paper profile's expectation of thm1.certificate_tight (fails on the sample floor of
    3 tight cases, exploratory) leaves the quick profile's claim as pre-registered, and the
    floor itself is unchanged: the claim still fails with 2 certified cases."""
    import pandas as pd

    from bmlab.experiments.exact_penalty.common import certificate_claims

    assert exp._paper_tight_expectation(result.params) == {}
    cq = by_id(exp.claims(result))["thm1.certificate_tight"]
    assert cq.expected == "holds" and not cq.exploratory
    paper = exp._paper_tight_expectation(dataclasses.replace(result.params, profile="paper"))
    assert paper["tight_expected"] == "fails" and paper["tight_exploratory"]
    two = pd.DataFrame({"lambda_min(S)": [-1e-9, 0.0], "||SX||/||X||": [3e-10, 1e-12],
                        "cert scale": [1.0, 1.0], "cert infeasibility": [0.0, 0.0],
                        "||XY^T - Z_sdp|| / ||Z_sdp||": [1e-5, 1e-5]})
    c = by_id(certificate_claims("t", two, two.iloc[:0], "w", min_tight=3, **paper))
    assert not c["t.certificate_tight"].holds and c["t.certificate_tight"].expected == "fails"
    c3 = by_id(certificate_claims("t", pd.concat([two, two.iloc[:1]]), two.iloc[:0], "w",
                                  min_tight=3, **paper))
    assert c3["t.certificate_tight"].holds  # three certified cases: the expectation would flip
