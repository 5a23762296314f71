import numpy as np
import pytest

from bmlab.solvers.gd import gradient_descent

A = np.diag([1.0, 10.0])
b = np.array([1.0, 2.0])


def grad(x):
    return A @ x - b


def test_converges_on_quadratic():
    res = gradient_descent(grad, np.zeros(2), step=0.1, max_iter=5000, tol=1e-10,
                           objective=lambda x: 0.5 * x @ A @ x - b @ x)
    assert res.status == "converged" and res.success
    np.testing.assert_allclose(res.x, np.linalg.solve(A, b), atol=1e-9)
    assert res.history["objective"][0] == 0.0
    assert np.all(np.diff(res.history["objective"]) <= 1e-15)


def test_divergence_is_recorded_not_raised():
    res = gradient_descent(grad, np.ones(2), step=0.3, max_iter=10_000)
    assert res.status == "diverged" and res.diverged
    assert np.all(np.isfinite(res.x)) and "iteration" in res.message


def test_projection_and_tuple_iterates():
    res = gradient_descent(lambda x: (x[0] - 3.0, x[1] + 2.0), (np.zeros(2), np.zeros(1)),
                           step=0.5, max_iter=200, tol=1e-12,
                           project=lambda x: (np.clip(x[0], 0, 1), np.maximum(x[1], 0)))
    np.testing.assert_allclose(res.x[0], [1.0, 1.0])
    np.testing.assert_allclose(res.x[1], [0.0])


def test_stop_rule_and_record_every():
    res = gradient_descent(grad, np.zeros(2), step=0.1, max_iter=1000,
                           stop=lambda k, x, g: g < 1e-3, record_every=10)
    assert res.status == "converged" and res.history["iter"][-1] == res.n_iter
    assert res.history["grad_norm"][-1] < 1e-3
    assert all(k % 10 == 0 for k in res.history["iter"][:-1])


def test_perturbation_needs_rng_and_is_seeded():
    with pytest.raises(ValueError, match="rng"):
        gradient_descent(grad, np.zeros(2), step=0.1, perturbation=(1e-3, 1e-3))
    runs = [gradient_descent(grad, np.zeros(2), step=0.1, max_iter=300,
                             perturbation=(1e-2, 1e-3), rng=np.random.default_rng(0)).x
            for _ in range(2)]
    np.testing.assert_array_equal(runs[0], runs[1])


@pytest.mark.parametrize("kwargs", [{"step": 0.0}, {"step": -1.0},
                                    {"step": 0.1, "max_iter": -1},
                                    {"step": 0.1, "record_every": 0}])
def test_bad_parameters(kwargs):
    with pytest.raises(ValueError):
        gradient_descent(grad, np.zeros(2), **kwargs)


def test_callback_sees_every_iteration():
    seen = []
    gradient_descent(grad, np.zeros(2), step=0.1, max_iter=5, callback=lambda k, x: seen.append(k))
    assert seen == [1, 2, 3, 4, 5]
