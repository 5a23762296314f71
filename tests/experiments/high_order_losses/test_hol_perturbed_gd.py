import numpy as np
import pytest

from bmlab.experiments.high_order_losses.perturbed_gd import (
    PGDInstance, PGDRun,
    PGDParams, find_stalling_instance, make_pgd_instance, run_pair, run_pgd, stalled, summarize)


def rf(key, j):
    return np.random.default_rng([3, key, j + 1])


def test_runs_are_seeded_and_share_the_start():
    p = PGDParams(max_iter=200)
    a = run_pair(make_pgd_instance(p, rf(0, -1), 0), p, rf)
    b = run_pair(make_pgd_instance(p, rf(0, -1), 0), p, rf)
    for lam in p.lams:
        np.testing.assert_array_equal(a.runs[lam].distance, b.runs[lam].distance)
        assert a.runs[lam].distance[0] == a.runs[0.0].distance[0]
    assert a.runs[0.0].iters[-1] == 200 and len(a.runs[0.0].iters) == 21


def test_objective_is_the_minimised_function_and_decreases():
    p = PGDParams(max_iter=300)
    inst = make_pgd_instance(p, rf(1, -1), 1)
    run = run_pgd(inst, 1.0, p, rf(1, 0))
    P = inst.problem.with_lam(1.0)
    assert run.objective[-1] == pytest.approx(P.value(run.X))
    assert run.objective[-1] < run.objective[0]


def test_perturbation_kicks_in_near_a_critical_point():
    p = PGDParams(max_iter=50, threshold=1e9)  # always below threshold: always perturbed
    inst = make_pgd_instance(p, rf(2, -1), 2)
    run = run_pgd(inst, 0.0, p, rf(2, 0))
    assert run.n_perturbed >= 50


def test_summary_and_search():
    p = PGDParams(max_iter=100)
    insts = [run_pair(make_pgd_instance(p, rf(k, -1), k), p, rf) for k in range(2)]
    df = summarize(insts, p)
    assert len(df) == 4 and set(df.lam) == {0.0, 1.0}
    assert df.stalled.dtype == bool
    inst, tried = find_stalling_instance(p, rf, max_tries=2)
    assert 1 <= len(tried) <= 2
    if inst is not None:  # a hit ends the search and carries both runs
        assert stalled(inst.runs[0.0], p) and set(inst.runs) == {0.0, 1.0}


def test_bad_params():
    with pytest.raises(ValueError):
        PGDParams(eta=0.0)


# ----------------------------------------------------------------------------- chapter module
import dataclasses  # noqa: E402

import pandas as pd  # noqa: E402

from bmlab.experiments.high_order_losses import perturbed_gd as exp  # noqa: E402


def _result(d0, d1, closest=0.8, found=False):
    rows = []
    for k, (a, b) in enumerate(zip(d0, d1)):
        rows += [{"instance": k, "lam": 0.0, "hit": None, "final_distance": a, "stalled": False,
                  "perturbed_steps": 0, "status": "max_iter"},
                 {"instance": k, "lam": 1.0, "hit": None, "final_distance": b, "stalled": False,
                  "perturbed_steps": 0, "status": "max_iter"}]
    run = PGDRun(lam=0.0, status="max_iter", iters=np.arange(3), distance=np.array([2, 1, closest]),
                 objective=np.ones(3), objective_plain=np.ones(3), n_perturbed=0, X=np.zeros((5, 3)))
    inst = PGDInstance(key=0, problem=None, X0=None, runs={0.0: run, 1.0: run})
    return exp.Result(exp.Params.for_profile("quick"), [inst], pd.DataFrame(rows),
                      inst if found else None, list(range(len(d0))), [0.01])


def test_presets_and_validation():
    q, p = exp.Params.for_profile("quick"), exp.Params.for_profile("paper")
    assert q.n_instances >= 6 and p.n_instances >= q.n_instances and q.max_iter == p.max_iter
    with pytest.raises(ValueError):
        exp.Params.for_profile("quick", n_instances=0)


def test_acceleration_claim_is_a_sign_test():
    good = {c.id: c for c in exp.claims(_result([1.0] * 6, [0.8] * 6))}
    c = good["hol.pgd.accelerates"]
    assert c.holds and not c.fragile and c.samples == 6
    assert not good["hol.pgd.reaches_ground_truth"].holds and good["hol.pgd.reaches_ground_truth"].as_expected
    assert not good["hol.pgd.panel_b_stall"].holds and good["hol.pgd.panel_b_stall"].as_expected
    # λ = 1 worse on two of six instances: not significant, the paper claim fails
    bad = {c.id: c for c in exp.claims(_result([1.0] * 6, [0.8] * 4 + [1.2] * 2))}
    assert not bad["hol.pgd.accelerates"].holds
    # too few instances: fragile
    few = {c.id: c for c in exp.claims(_result([1.0] * 4, [0.8] * 4))}
    assert few["hol.pgd.accelerates"].fragile


def test_the_expected_failures_would_show_a_reproduction():
    ok = {c.id: c for c in exp.claims(_result([1.0] * 6, [0.8] * 6, closest=1e-4, found=True))}
    assert ok["hol.pgd.reaches_ground_truth"].holds and not ok["hol.pgd.reaches_ground_truth"].as_expected
    assert ok["hol.pgd.panel_b_stall"].holds and not ok["hol.pgd.panel_b_stall"].as_expected
