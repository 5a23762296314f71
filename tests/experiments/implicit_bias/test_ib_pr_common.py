import numpy as np

from bmlab.experiments.implicit_bias.plots import plot_pr
from bmlab.experiments.implicit_bias.pr_common import run_pr_pair
from bmlab.problems.phase_retrieval import GaussianPR, image_signal, load_image


def test_pr_pair_small():
    x = image_signal(load_image(), 4)
    P = GaussianPR.make(x, rng=np.random.default_rng(0))
    runs = run_pr_pair(P, r=P.n, max_iter=50, rng=np.random.default_rng(1), snapshots=(10, 50),
                       record_points=10)
    for m in ("BM", "UDU"):
        assert set(runs[m].snapshots) == {10, 50}
        assert runs[m].error.shape == runs[m].iters.shape
        assert runs[m].residual[-1] < runs[m].residual[0]
    assert np.isclose(runs["eta"], 1 / P.lipschitz())
    assert len(plot_pr(runs).axes) == 3
