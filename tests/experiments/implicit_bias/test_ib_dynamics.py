import numpy as np

from bmlab.experiments.implicit_bias.common import CompletionParams, run_completion_sweep
from bmlab.experiments.implicit_bias.dynamics import (column_orthogonality, surviving_columns,
                                                      switch_on_times)
from bmlab.experiments.implicit_bias.plots import plot_columns


def test_helpers():
    U = np.zeros((4, 3))
    U[0, 0], U[1, 1], U[2, 2] = 1.0, 1.0, 1e-9
    assert list(surviving_columns(U, np.ones(3))) == [0, 1]
    assert column_orthogonality(U, np.array([0, 1])) == 0.0
    V = np.array([[1.0, 1.0], [0.0, 1.0]])
    assert np.isclose(column_orthogonality(V, np.array([0, 1])), 1 / np.sqrt(2))
    it = np.array([0, 10, 100, 1000])
    W = np.array([[0, 0], [0.6, 0], [1, 0.2], [1, 1.0]])
    np.testing.assert_array_equal(switch_on_times(it, W, np.array([0, 1])), [10, 1000])


def test_plot_columns_runs():
    p = CompletionParams(n=12, etas=(0.1,), rhos=(1e-2,), max_iter=200, record_points=10,
                         track_columns=True)
    sw = run_completion_sweep(p, np.random.default_rng(0))
    fig = plot_columns(sw.get("UDU", 0.1, 1e-2), sw.get("BM", 0.1, 1e-2), k_highlight=3)
    assert len(fig.axes) == 3
