import numpy as np
import pytest

from bmlab.experiments.high_order_pgd import (
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
