import numpy as np

from bmlab.problems.completion import make_completion
from bmlab.sdp.completion import psd_least_squares, trace_min_completion
from bmlab.factorizations.spectral import numerical_rank
from bmlab.sdp.core import relative_error


def test_trace_min_recovers_small_instance():
    P = make_completion(12, 1, 80, rng=np.random.default_rng(0))
    out = trace_min_completion(P, solver="CLARABEL")
    assert out.ok
    assert relative_error(out.Z, P.X_true) < 1e-5
    assert numerical_rank(out.Z, 1e-4) == 1


def test_psd_least_squares_noisy_value_below_truth():
    P = make_completion(10, 2, 60, rng=np.random.default_rng(1), noise=0.05)
    out = psd_least_squares(P, solver="CLARABEL")
    assert out.ok
    r_true = P.apply(P.X_true) - P.b
    assert out.extra["residual_sq"] <= r_true @ r_true + 1e-8
    assert np.isclose(out.objective, out.extra["residual_sq"], rtol=1e-4, atol=1e-8)
