import numpy as np
import pandas as pd
import pytest

from bmlab.experiments.asymmetric_gd import global_convergence as gc


def _result(n_conv=10, rate=0.04, stable_ok=True, unstable_conv=False):
    p = gc.Params.for_profile("quick")
    runs = pd.DataFrame({"seed": range(10),
                         "status": ["converged"] * n_conv + ["max_iter"] * (10 - n_conv),
                         "iterations": np.arange(1200, 1210), "final_rel_loss": 1e-11,
                         "linear_rate": rate})
    rows = []
    for s in range(5):
        for eta in p.etas:
            conv = (eta < 1 / 3 and (stable_ok or eta < 0.3)) or (eta > 1 / 3 and unstable_conv)
            rows.append({"seed": s, "eta": eta, "status": "converged" if conv else "max_iter",
                         "iterations": 100.0 / eta if conv else np.nan})
    curves = [(np.arange(0, 1201, 10), np.geomspace(1, 1e-11, 121))] * 10
    return gc.Result(p, runs, curves, pd.DataFrame(rows), 1.2e-8, 0.019, 2e9)


def _by_id(result):
    return {c.id: c for c in gc.claims(result)}


def test_presets_and_validation():
    q, p = gc.Params.for_profile("quick"), gc.Params.for_profile("paper")
    assert q.n_seeds < p.n_seeds and len(q.etas) < len(p.etas)
    assert gc.Params.for_profile("quick", n_seeds=None).n_seeds == 10
    with pytest.raises(ValueError):
        gc.Params.for_profile("quick", eta=-1.0)
    with pytest.raises(ValueError):
        gc.Params.for_profile("quick", m=3)          # m must exceed the rank d = 3
    with pytest.raises(ValueError):
        gc.Params.for_profile("quick", sigmas=(1.0, -2.0))
    with pytest.raises(ValueError):
        gc.Params.for_profile("quick", etas=(0.1,))
    assert gc.Params.for_profile("quick", sigmas=(1.0, 3.0)).sigmas == (3.0, 1.0)


def test_claims_hold_on_a_good_result_and_are_not_fragile():
    cl = _by_id(_result())
    assert all(c.holds and c.as_expected and not c.fragile for c in cl.values())
    assert cl["agd1.step_far_above_theory"].kind == "check"
    assert cl["agd1.linear_rate_at_least_theorem"].kind == "check"     # cannot fail if linear
    assert cl["agd1.eta_requirement_loose"].samples == 5                # seeds, not (seed, eta)
    assert all(c.quote for c in cl.values() if c.kind == "paper")


@pytest.mark.parametrize("kw, cid", [
    (dict(n_conv=9), "agd1.all_seeds_converge"),
    (dict(rate=0.004), "agd1.linear_rate_at_least_theorem"),
    (dict(rate=0.03), "agd1.linear_rate_linearised"),
    (dict(stable_ok=False), "agd1.eta_requirement_loose"),
    (dict(unstable_conv=True), "agd1.no_convergence_above_limit"),
])
def test_falsifiable(kw, cid):
    c = _by_id(_result(**kw))[cid]
    assert not c.holds and not c.as_expected and c.margin < 0


def test_small_run_end_to_end():
    p = gc.Params.for_profile("quick", n_seeds=2, n_sweep_seeds=1, etas=(0.03, 0.4), m=8, n=6)
    r = gc.run(p, np.random.default_rng(0))
    assert set(r.runs["status"]) == {"converged"}
    assert "linear_rate" in r.runs and {"eta_all_ok", "it_med"} <= set(gc.glue_values(r))
    assert len(gc.claims(r)) == 6


def test_sweep_tasks_equal_the_loops_they_replace():
    """run() goes through bmlab.sweep (one task per seed and per (seed, eta)), each task with
    its seed's generator: the result equals the former loops over seed_sweep/eta_sweep."""
    from bmlab.experiments.asymmetric_gd.common import eta_sweep, rng_family, seed_sweep

    p = gc.Params.for_profile("quick", n_seeds=3, n_sweep_seeds=2, etas=(0.03, 0.4), m=8, n=6)
    r = gc.run(p, np.random.default_rng(5), client="serial")
    rng_for = rng_family(np.random.default_rng(5))
    runs, curves = seed_sweep(p.sweep, range(p.n_seeds), rng_for)
    sweep = eta_sweep(p.sweep, p.etas, range(p.n_sweep_seeds), rng_for, horizon=p.sweep_horizon)
    pd.testing.assert_frame_equal(r.runs.drop(columns="linear_rate"),
                                  runs.drop(columns="time_s"), check_exact=True)
    pd.testing.assert_frame_equal(r.sweep, sweep, check_exact=True)
    for (i1, f1), (i2, f2) in zip(r.curves, curves):
        assert i1.tobytes() == i2.tobytes() and f1.tobytes() == f2.tobytes()
    assert len(gc.seed_tasks(p, rng_for)) == 3 and len(gc.eta_tasks(p, rng_for)) == 4
