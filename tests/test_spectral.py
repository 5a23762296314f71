import numpy as np
import pytest

from bmlab.factorizations.spectral import numerical_rank
from bmlab.factorizations.udu import spectrum


def test_numerical_rank_of_a_matrix_and_of_its_spectrum_agree():
    rng = np.random.default_rng(0)
    U = rng.standard_normal((8, 3))
    X = U @ U.T
    assert numerical_rank(X) == 3
    assert numerical_rank(spectrum(U), spectrum=True) == 3
    assert numerical_rank(spectrum(U)[::-1], spectrum=True) == 3      # any order
    assert numerical_rank(np.zeros((3, 3))) == 0
    assert numerical_rank(np.array([1.0, 1e-3, 1e-9]), 1e-6, spectrum=True) == 2
    assert numerical_rank(np.array([1.0, np.nan]), spectrum=True) == 0  # a diverged run
    assert numerical_rank(np.array([]), spectrum=True) == 0


def test_numerical_rank_rejects_bad_input():
    with pytest.raises(ValueError, match="spectrum"):
        numerical_rank(np.eye(2), spectrum=True)
    with pytest.raises(ValueError, match="rtol"):
        numerical_rank(np.eye(2), -1.0)
    with pytest.raises(TypeError, match="spectrum"):
        numerical_rank(np.eye(2), spectrum="yes")
