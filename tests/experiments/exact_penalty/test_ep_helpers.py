"""Drivers of the exact-penalty chapters (small sizes)."""
import matplotlib
import pytest

matplotlib.use("Agg")

from bmlab.experiments.exact_penalty.toys import (StrategyParams, bisect_threshold,  # noqa: E402
                                                  fixed_lambda_sweep,
                                                  run_strategies, strategy_table)
from bmlab.experiments.exact_penalty.plots import (plot_algorithms, plot_biconvexity,  # noqa: E402
                                                  plot_conditioning,
                                                  plot_corollary2,
                                                  plot_strategies, plot_sweeps, plot_theorem1)
from bmlab.problems.scalar_toys import LinearToy, ShiftedSquareToy  # noqa: E402
from bmlab.sdp.penalty import scalar_toy_sdp  # noqa: E402


def test_strategies_only_ours_exact():
    p = LinearToy()
    res = run_strategies(p, StrategyParams(max_iter=200))
    t = strategy_table(res, p)
    assert list(t["reaches x*"]) == [False, False, False, True]
    assert list(t["status"]) == ["diverged", "diverged", "diverged", "converged"]
    plot_strategies(res)


def test_bisection_finds_bound():
    p = LinearToy()
    th = bisect_threshold(p, 0.1, 2.0, x0=1.0, y0=-2.0, max_iter=3000, rtol=1e-3, blowup=1e30)
    assert th.lo < th.hi
    assert 0.5 <= th.threshold <= 0.5 * 1.01
    with pytest.raises(ValueError):
        bisect_threshold(p, 0.6, 2.0, x0=1.0, y0=-2.0, max_iter=100)


def test_sweep_and_plot():
    q = ShiftedSquareToy(-1.0)
    df = fixed_lambda_sweep(q, [0.2, 0.5, 1.0], x0=1.0, y0=-2.0, max_iter=2000)
    assert list(df["exact"]) == [False, False, True]
    plot_sweeps([{"title": "t", "sweep": df, "bound": 0.5, "threshold": 0.5,
                  "theory": lambda lam: 2 * (1 - 2 * lam).clip(0) ** 0.5}])


def test_scalar_sdp():
    r = scalar_toy_sdp(LinearToy(2.0))
    assert r.ok and abs(r.Z[0, 0]) < 1e-6
    r = scalar_toy_sdp(ShiftedSquareToy(3.0, nonneg=True))
    assert r.ok and abs(r.Z[0, 0] - 3.0) < 1e-6
    with pytest.raises(TypeError):
        scalar_toy_sdp(object())


def test_theory_helpers():
    import numpy as np
    from bmlab.experiments.exact_penalty.common import (FAMILIES, biconvexity_check, lifting_check,
                                                        make_family,
                                                        symmetric_critical_point)
    rng = np.random.default_rng(0)
    checks, lifts = {}, {}
    for fam in FAMILIES:
        p = make_family(fam, rng, n=4, r=2)
        checks[fam] = biconvexity_check(p, [0.1, 1.0], 2, rng)
        assert ((np.minimum(checks[fam].lmin_XX, checks[fam].lmin_YY)
                 - checks[fam].lam - checks[fam].mu / 2) >= -1e-9).all()
        res = symmetric_critical_point(p, rng, max_iter=20000)
        lifts[fam] = lifting_check(p, res.x, [0.1, 10.0])
    plot_biconvexity(checks, lifts)
    with pytest.raises(ValueError):
        make_family("nope", rng)


def test_theorem1_driver_and_sdp():
    import numpy as np
    from bmlab.experiments.exact_penalty.common import (critical_point_runs, make_theorem1_family,
                                                          summarize_family)
    from bmlab.sdp.penalty import compare_with_sdp, split_problem_sdp
    rng = np.random.default_rng(1)
    runs = {}
    for fam in ("snmf-indefinite", "sensing-ridge"):
        p = make_theorem1_family(fam, rng, n=5, r=2)
        df = critical_point_runs(p, [0.01, 0.5], 2, rng, max_iter=2000, keep=True)
        s = summarize_family(df)
        assert s["thm1_violations"] == 0 and s["ineq9_violations"] == 0
        runs[fam] = df
        c = df[df["status"] == "converged"]
        X, Y = c.iloc[-1]["XY"]
        row = compare_with_sdp(p, X, Y, split_problem_sdp(p))
        assert row["SDP status"] == "optimal" and row["objective gap"] >= -1e-6
    plot_theorem1(runs)
    with pytest.raises(ValueError):
        make_theorem1_family("x", rng)


def test_toy42_strategies_and_conditioning_plot():

    p = ShiftedSquareToy(1.0, nonneg=True)
    res = run_strategies(p, StrategyParams(x0=0.5, y0=0.2, eps=0.5, pca_cap=1e4, max_iter=300))
    t = strategy_table(res, p).set_index("method")
    assert t.loc["AMour", "reaches x*"] and not t.loc["AMagd", "reaches x*"]
    df = fixed_lambda_sweep(p, [1e-6, 1.0, 1e4], x0=0.5, y0=0.2, max_iter=300)
    assert list(df["exact"]) == [False, True, False]
    plot_conditioning(df, 1.0, max_iter=300)


def test_corollary2_helpers():
    import numpy as np
    import pandas as pd
    from bmlab.experiments.exact_penalty.common import balance_stats
    from bmlab.problems.snmf import SymmetricNMF, random_indefinite_nonneg
    X = np.array([[1.0, 0.0], [0.0, 2.0]])
    st = balance_stats(X, X)
    assert st["col_imbalance"] == 0.0 and st["gram_imbalance"] == 0.0 and st["x_sq"] == 5.0
    # unconstrained problem: Gram balance at an asymmetric critical point
    rng = np.random.default_rng(2)
    p = SymmetricNMF(random_indefinite_nonneg(6, rng), 2, nonneg=False)
    from bmlab.solvers.alternating import alternating_minimization
    res = alternating_minimization(p, rng.normal(size=(6, 2)), rng.normal(size=(6, 2)), penalty=0.01,
                                   max_iter=5000, tol=1e-10)
    assert res.status == "converged"
    assert balance_stats(*res.x)["gram_imbalance"] < 1e-7
    lim = pd.DataFrame({"family": ["a", "a"], "asym": [True, False], "col_imbalance": [1e-9, 1e-10],
                        "gram_imbalance": [1e-2, 1e-10], "lam": [0.01, 0.5], "lambda_min": [-0.3, -0.3],
                        "gap": [1.0, 0.0]})
    plot_corollary2(lim, pd.DataFrame({"m": [-1.0], "threshold": [0.5]}))


def test_compare_algorithms_small():
    import numpy as np
    from bmlab.experiments.exact_penalty.algorithms import compare_algorithms
    from bmlab.problems.snmf import SymmetricNMF, random_indefinite_nonneg
    rng = np.random.default_rng(0)
    p = SymmetricNMF(random_indefinite_nonneg(6, rng), 2)
    df, res = compare_algorithms(p, 0.3 * rng.uniform(size=(6, 2)), rhos=(0.1,), max_iter=300)
    assert (df[df["method"] != "nADMM"]["min decrease margin"] >= -1e-12).all()
    plot_algorithms(res, ["AM AMour", "HAM fixed (12)", "nADMM rho=0.1"])


def test_clustering_helpers():
    import numpy as np
    from bmlab.experiments.exact_penalty.snmf_clustering import clustering_accuracy, kuang_start, run_clustering
    assert clustering_accuracy([0, 0, 1, 1], [1, 1, 0, 0]) == 1.0
    assert clustering_accuracy([0, 0, 1, 1], [0, 1, 0, 1]) == 0.5
    from bmlab.problems.snmf import digits_similarity
    M, lab = digits_similarity(4, classes=(0, 1, 2), rng=np.random.default_rng(0))
    assert kuang_start(M, 3, np.random.default_rng(0)).min() >= 0
    df = run_clustering(M, lab, 3, np.random.default_rng(1), n_starts=1, max_iter=300)
    assert set(df["method"]) == {"HAM AMour", "HAM fixed (12)", "sklearn NMF", "spectral"}
    assert (df["accuracy"] > 0.3).all()


def test_benchmark_rejects_unknown_chapter():
    from bmlab.experiments.exact_penalty.benchmark import CHAPTERS, main
    assert "toy-tight-bound" in CHAPTERS
    with pytest.raises(SystemExit):
        main(["no-such-chapter"])
