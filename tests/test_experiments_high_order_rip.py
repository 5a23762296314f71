import numpy as np
import pytest

from bmlab.experiments.high_order_rip import (
    GaussianRipParams, WeightedRipParams, gaussian_rip_curve, weighted_rip_table)


def test_weighted_table():
    t = weighted_rip_table(WeightedRipParams(eps_grid=(0.3,), n=5, restarts=2),
                           np.random.default_rng(0))
    assert t.exact.iloc[0] == pytest.approx(0.91 / 1.09)
    assert t.search.iloc[0] == pytest.approx(t.exact.iloc[0], abs=1e-10)
    assert t.nominal.iloc[0] == pytest.approx(0.7 / 1.3)


def test_gaussian_curve_decreases_with_m():
    df = gaussian_rip_curve(GaussianRipParams(ms=(20, 400), ranks=(6,), seeds=2),
                            np.random.default_rng(0))
    assert df.exact.all()
    med = df.groupby("m").delta.median()
    assert med[400] < med[20]


def test_bad_params():
    with pytest.raises(ValueError):
        GaussianRipParams(seeds=0)
