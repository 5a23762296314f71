import numpy as np
import pytest

from bmlab.experiments.implicit_bias.common import CompletionParams, run_completion_sweep
from bmlab.experiments.implicit_bias.plots import plot_sweep


def test_small_sweep_and_plot():
    p = CompletionParams(n=16, etas=(0.1,), rhos=(1e-2, 1.0), max_iter=300, record_points=20,
                         track_columns=True)
    sw = run_completion_sweep(p, np.random.default_rng(0))
    df = sw.frame()
    assert len(df) == 4 and set(df.method) == {"BM", "UDU"}
    run = sw.get("UDU", 0.1, 1.0)
    assert run.history["col_norms"].shape == (run.iters.size, 16)
    assert run.history["d"].shape == (run.iters.size, 16)
    assert run.residual[-1] < run.residual[0]
    # same start for both methods
    assert np.isclose(sw.get("BM", 0.1, 1e-2).residual[0], sw.get("UDU", 0.1, 1e-2).residual[0])
    fig = plot_sweep(sw, vary="rho")
    assert len(fig.axes) == 4
    with pytest.raises(ValueError, match="vary"):
        plot_sweep(sw, vary="x")


def test_params_validation():
    with pytest.raises(ValueError, match="methods"):
        CompletionParams(methods=("XX",))
    with pytest.raises(ValueError, match="positive"):
        CompletionParams(etas=(0.0,))


def test_log_monotone_margin_in_decades_is_scale_free():
    from bmlab.experiments.implicit_bias.common import log_monotone

    a = log_monotone([1e-6, 1e-4, 1e-3], increasing=True)
    b = log_monotone([1e-2, 1.0, 10.0], increasing=True)        # the same values ×1e4
    assert a.holds and a.margin == pytest.approx(1.0) and a.margin == pytest.approx(b.margin)
    c = log_monotone([1.0, 0.5, 0.6], increasing=False)
    assert not c.holds and c.margin < 0


def test_sign_test_margin_counts_samples():
    from bmlab.experiments.implicit_bias.common import sign_test

    c = sign_test([1] * 8, [2] * 8)
    assert c.holds and c.margin == pytest.approx(2 / 8) and c.samples == 8
    c = sign_test([1] * 7 + [3], [2] * 8)
    assert c.holds and c.margin == pytest.approx(1 / 8)
    c = sign_test([1] * 6 + [3, 3], [2] * 8)
    assert not c.holds and c.margin == pytest.approx(-1 / 8)
    few = sign_test([1] * 3, [2] * 3)           # 3/3 cannot reach p ≤ 0.05, and 3 < 6 samples
    assert not few.holds and few.margin < 0 and few.samples < few.min_samples


def test_batched_sweep_agrees_with_the_numpy_loop_and_segments_change_nothing():
    """run_completion_sweep on the numba kernel (with the column trackers, i.e. run in segments
    at the recorded iterations) equals the numpy loop to 1e-10 relative; a stable regime
    (η = 1e-2, n = 40) so that rounding differences are not amplified."""
    import numpy as np

    from bmlab.experiments.implicit_bias.common import CompletionParams, run_completion_sweep

    kw = dict(n=40, etas=(1e-2,), rhos=(1e-2, 1.0), max_iter=600, track_columns=True,
              record_points=30)
    a = run_completion_sweep(CompletionParams(backend="numpy", **kw), np.random.default_rng(4))
    b = run_completion_sweep(CompletionParams(backend="numba", **kw), np.random.default_rng(4))
    c = run_completion_sweep(CompletionParams(backend="numba", **{**kw, "track_columns": False}),
                             np.random.default_rng(4))
    for ra, rb, rc in zip(a.runs, b.runs, c.runs):
        assert (ra.method, ra.eta, ra.rho) == (rb.method, rb.eta, rb.rho)
        np.testing.assert_array_equal(ra.iters, rb.iters)
        np.testing.assert_allclose(rb.residual, ra.residual, rtol=1e-10)
        np.testing.assert_allclose(rb.history["col_norms"], ra.history["col_norms"], rtol=1e-10)
        if ra.method == "UDU":
            np.testing.assert_allclose(rb.history["d"], ra.history["d"], rtol=1e-10, atol=1e-300)
        np.testing.assert_allclose(rc.residual, rb.residual, rtol=1e-12)   # segments: same run
    with __import__("pytest").raises(ValueError, match="backend"):
        CompletionParams(backend="gpu")


def test_torch_backend_of_the_sweep_agrees_and_the_device_is_asked_for():
    """backend="torch" (the chapters' GPU route, here on the CPU) runs the same sweep as the
    numba kernel to 1e-10 relative, column trackers (segments) included; a device other than
    the CPU needs backend="torch", and CUDA where torch sees none is an error, not a CPU run."""
    import torch

    from bmlab.experiments.implicit_bias.common import check_backend, kernel_options

    kw = dict(n=30, etas=(1e-2,), rhos=(1e-2, 1.0), max_iter=300, track_columns=True,
              record_points=20)
    a = run_completion_sweep(CompletionParams(backend="numba", **kw), np.random.default_rng(5))
    b = run_completion_sweep(CompletionParams(backend="torch", **kw), np.random.default_rng(5))
    for ra, rb in zip(a.runs, b.runs):
        assert (ra.method, ra.eta, ra.rho, ra.status) == (rb.method, rb.eta, rb.rho, rb.status)
        np.testing.assert_array_equal(ra.iters, rb.iters)
        np.testing.assert_allclose(rb.residual, ra.residual, rtol=1e-10)
        np.testing.assert_allclose(rb.history["col_norms"], ra.history["col_norms"], rtol=1e-10)
        assert ra.rank == rb.rank
    assert kernel_options("numba") == {}
    assert kernel_options("torch", "cpu") == {"backend": "torch", "device": "cpu"}
    with pytest.raises(ValueError, match="reference loop"):
        kernel_options("numpy")
    with pytest.raises(ValueError, match="needs backend='torch'"):
        CompletionParams(device="cuda:0")
    with pytest.raises(TypeError, match="device"):
        check_backend("torch", None)
    with pytest.raises(ValueError, match="cpu"):
        check_backend("torch", "tpu")
    if not torch.cuda.is_available():
        with pytest.raises(RuntimeError, match="no CUDA"):
            CompletionParams(backend="torch", device="cuda")
