import numpy as np
import pytest

from bmlab.problems.completion import MatrixCompletion, completion_truth, make_completion


def test_instance_matches_paper_settings():
    P = make_completion(100, 3, rng=np.random.default_rng(0))
    assert P.m == 900 and P.n == 100
    assert np.linalg.matrix_rank(P.X_true) == 3
    np.testing.assert_allclose(np.linalg.eigvalsh(P.X_true)[-3:], [1, 2, 3], atol=1e-12)
    assert np.unique(P.rows * 100 + P.cols).size == 900
    np.testing.assert_allclose(P.b, P.X_true[P.rows, P.cols])


def test_noise_level():
    rng = np.random.default_rng(1)
    P = make_completion(60, 3, rng=rng, noise=0.01)
    w = P.b - P.b_clean
    assert 0.5 < np.linalg.norm(w) / (0.01 * np.linalg.norm(P.b_clean) * np.sqrt(P.m)) < 1.5


@pytest.mark.parametrize("mode", ["gather", "dense", "auto"])
def test_forward_and_adjoint_match_dense(mode):
    rng = np.random.default_rng(2)
    P = make_completion(20, 2, 50, rng=rng)
    P.forward_mode = mode
    U = rng.standard_normal((20, 7))
    d = rng.random(7)
    X = (U * d) @ U.T
    np.testing.assert_allclose(P.forward_factored(U, d), P.apply(X), atol=1e-12)
    np.testing.assert_allclose(P.forward_factored(U), P.apply(U @ U.T), atol=1e-12)
    res = rng.standard_normal(P.m)
    G = P.adjoint_dense(res)
    np.testing.assert_allclose(P.sym_adjoint_apply(res, U), 0.5 * (G + G.T) @ U, atol=1e-12)


def test_adjoint_identity():
    rng = np.random.default_rng(3)
    P = make_completion(15, 2, 40, rng=rng)
    X = rng.standard_normal((15, 15))
    y = rng.standard_normal(P.m)
    assert np.isclose(P.apply(X) @ y, np.sum(X * P.adjoint_dense(y)))


def test_large_instance_is_sparse():
    # n = 20000 would need 3.2 GB dense; the sparse path only touches m x r numbers
    rng = np.random.default_rng(4)
    n, m = 20000, 60000
    idx = rng.choice(n * n, size=m, replace=False)
    rows, cols = np.divmod(idx, n)
    P = MatrixCompletion(n=n, rows=rows, cols=cols, b=rng.standard_normal(m))
    U = rng.standard_normal((n, 5))
    z = P.forward_factored(U, np.ones(5))
    assert z.shape == (m,)
    assert P.sym_adjoint_apply(z, U).shape == (n, 5)


def test_validation():
    with pytest.raises(ValueError, match="kind"):
        completion_truth(5, 2, np.random.default_rng(0), kind="nope")
    with pytest.raises(ValueError, match="distinct"):
        MatrixCompletion(n=3, rows=[0, 0], cols=[1, 1], b=[1.0, 2.0])
    with pytest.raises(ValueError, match="forward_mode"):
        MatrixCompletion(n=3, rows=[0], cols=[1], b=[1.0], forward_mode="x")
    with pytest.raises(ValueError, match="m must"):
        make_completion(5, 2, 26, rng=np.random.default_rng(0))
