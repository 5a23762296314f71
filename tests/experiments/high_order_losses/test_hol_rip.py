import dataclasses
import numpy as np
import pandas as pd
import pytest

from bmlab.experiments.high_order_losses.rip import (
    GaussianRipParams, WeightedRipParams, gaussian_rip_curve, weighted_rip_table)


def test_weighted_table():
    t = weighted_rip_table(WeightedRipParams(eps_grid=(0.3,), n=5, restarts=2),
                           np.random.default_rng(0))
    assert t.exact.iloc[0] == pytest.approx(0.91 / 1.09)
    assert t.search.iloc[0] == pytest.approx(t.exact.iloc[0], abs=1e-10)
    assert t.nominal.iloc[0] == pytest.approx(0.7 / 1.3)


def test_gaussian_curve_decreases_with_m():
    df = gaussian_rip_curve(GaussianRipParams(ms=(20, 400), ranks=(6,), seeds=2),
                            np.random.default_rng(0))
    assert df.exact.all()
    med = df.groupby("m").delta.median()
    assert med[400] < med[20]


def test_bad_params():
    with pytest.raises(ValueError):
        GaussianRipParams(seeds=0)


# ----------------------------------------------------------------------------- chapter module
from bmlab.experiments.high_order_losses import rip as exp  # noqa: E402


def _result(pgd_deltas=(0.96, 0.97), table=0.8348):
    p = exp.Params.for_profile("quick")
    w = pd.DataFrame({"eps": [0.1, 0.3], "exact": [0.98, 0.8348], "search": [0.98, table],
                      "nominal": [0.8, 0.54], "ratio_lo": [0.1, 0.1], "ratio_hi": [1, 1]})
    rows = [{"m": m, "seed": s, "rank": k, "delta": 0.4, "exact": True}
            for m in p.ms for s in range(2) for k in p.ranks]
    g = pd.DataFrame(rows)
    g.loc[(g.m == p.m_pgd) & (g["rank"] == p.rank_pgd), "delta"] = list(pgd_deltas)
    return exp.Result(p, w, g)


def test_presets_and_validation():
    q, pp = exp.Params.for_profile("quick"), exp.Params.for_profile("paper")
    assert q.n_seeds < pp.n_seeds and 20 in q.ms and 6 in q.ranks and 0.3 in q.eps_grid
    with pytest.raises(ValueError):
        exp.Params.for_profile("quick", n_seeds=0)
    with pytest.raises(ValueError):
        exp.Params.for_profile("quick", eps_grid=(0.0, 0.5))
    with pytest.raises(ValueError):
        exp.Params.for_profile("quick", bogus=1)


def test_claims_hold_and_can_fail():
    ok = {c.id: c for c in exp.claims(_result())}
    assert all(c.holds and not c.fragile for c in ok.values())
    assert ok["hol.rip.table_regime"].kind == "check"
    assert ok["hol.rip.pgd_regime"].kind == "check"
    # one operator of the perturbed-GD experiment below 1/2: the extension fails
    bad = {c.id: c for c in exp.claims(_result(pgd_deltas=(0.96, 0.45)))}
    assert not bad["hol.rip.pgd_regime"].holds and bad["hol.rip.pgd_regime"].margin < 0
    # the search misses the exact constant: the check fails
    bad = {c.id: c for c in exp.claims(_result(table=0.5))}
    assert not bad["hol.rip.weighted_exact"].holds


def test_pgd_regime_uses_the_perturbed_gd_operators():
    r = dataclasses.replace(_result(), pgd_ops=np.array([0.97, 0.98, 0.3]))
    c = {c.id: c for c in exp.claims(r)}["hol.rip.pgd_regime"]
    assert not c.holds and "3 panel-(a)" in c.statement
    # the same draws as the perturbed-GD chapter
    from bmlab.experiments.high_order_losses.perturbed_gd import PGDParams, make_pgd_instance
    f = lambda k, j: np.random.default_rng([0, k, j + 1])  # noqa: E731
    d = exp.pgd_operator_deltas(2, 6, f)
    op = make_pgd_instance(PGDParams(), f(1, -1), 1).problem.op
    from bmlab.problems.sensing import rip_ratio_range
    assert d[1] == rip_ratio_range(op, 6).delta and np.all(d > 0.5)
