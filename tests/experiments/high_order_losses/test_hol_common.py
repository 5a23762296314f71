import numpy as np
import pytest

from bmlab.experiments.high_order_losses.common import (
    InstanceSpec, critical_points, curvature_at_zero, make_instance, survey)


def rf(k):
    return np.random.default_rng([7, k])


def test_weighted_instance_has_exact_delta_and_points():
    inst = make_instance(InstanceSpec("weighted", 5, 0.8), rf)
    assert inst.delta == pytest.approx((1 - 0.64) / 1.64)
    df = critical_points(inst, rf(1), n_starts=30)
    assert (df.grad_norm < 1e-9).all()
    assert (df.type == "global").sum() == 1
    c4 = df[df.cond4]
    assert len(c4) >= 1 and (c4.lam_min <= c4.bound5 + 1e-9).all()


def test_survey_theorem6_at_every_lambda():
    df = survey([InstanceSpec("gaussian", 4, m=60, key=1)], [0.0, 5.0], rf, n_starts=20)
    assert set(df.lam) == {0.0, 5.0}
    c10 = df[df.cond10]
    assert len(c10) >= 2 and (c10.lam_min <= c10.bound11 + 1e-9).all()


def test_negative_curvature_at_zero_amplified():
    inst = make_instance(InstanceSpec("weighted", 5, 0.3), rf)
    cz = curvature_at_zero(inst, [0.0, 1.0, 10.0])
    assert np.all(np.diff(cz.lam_min) < 0) and (cz.lam_min <= cz.bound11 + 1e-9).all()


def test_bad_spec():
    with pytest.raises(ValueError):
        InstanceSpec("other", 3)
    with pytest.raises(ValueError):
        InstanceSpec("gaussian", 3)
