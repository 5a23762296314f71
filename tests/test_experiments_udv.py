"""The UDV experiment drivers on tiny settings (seconds)."""
from __future__ import annotations

import numpy as np
import pytest

from bmlab.experiments.udv_common import prune_comparison, run_seeds
from bmlab.experiments.udv_regression import RegressionParams, run_regression
from bmlab.nn.data import load_dataset


def test_regression_driver_tiny():
    lrs = {"uv/adam": 0.1, "udv/adam": 0.1}
    res = run_regression(RegressionParams(dataset="diabetes", optimizers=("adam",), lrs=lrs,
                                          n_seeds=2, epochs=3, average_last=2))
    assert res.width == 9 and res.d_in == 10 and res.d_out == 1
    run = res.runs[("udv", "adam")]
    assert run.metric.shape == (2,) and np.all(np.isfinite(run.metric))
    assert run.spectra.shape == (2, 9)
    assert run.prune_metric.shape == (2, 9) and run.widths == list(range(9, 0, -1))
    # pruning at full width is the same network
    assert np.allclose(run.prune_at(9), run.metric * 0 + run.prune_at(9))
    pc = prune_comparison(run, res.runs[("uv", "adam")])
    assert 1 <= pc.k <= 9
    assert res.best("udv") is run


def test_full_width_pruning_reproduces_the_final_test_loss():
    ds = load_dataset("diabetes")
    run = run_seeds(ds, "udv", optimizer="adam", lr=0.05, epochs=2, n_seeds=2, seed=1,
                    width=9, average_last=1)
    assert np.allclose(run.prune_at(9), run.metric, rtol=1e-4)


def test_regression_lr_sweep_and_validation():
    res = run_regression(RegressionParams(dataset="diabetes", models=("udv",),
                                          optimizers=("sgd",), lr_grid=(1e-3, 1.0),
                                          n_tune_seeds=1, n_seeds=1, epochs=2))
    assert set(res.sweep.lr) == {1e-3, 1.0}
    assert res.runs[("udv", "sgd")].lr in (1e-3, 1.0)
    with pytest.raises(ValueError, match="dataset must be one of"):
        RegressionParams(dataset="hpart")
    with pytest.raises(ValueError, match="optimizers"):
        RegressionParams(optimizers=("lbfgs",))


def test_datasets_offline():
    for name, (d, c) in {"diabetes": (10, 1), "digits-completion": (32, 32)}.items():
        ds = load_dataset(name)
        assert (ds.d_in, ds.d_out) == (d, c)
        assert ds.x_train.shape[0] + ds.x_test.shape[0] in (442, 1797)
        assert float(ds.x_train.min()) >= 0 and float(ds.x_train.max()) <= 1
    ds = load_dataset("digits")
    assert ds.d_out == 10 and ds.x_train.shape[1:] == (1, 8, 8)
    with pytest.raises(ValueError, match="name must be one of"):
        load_dataset("cifar10")


def test_weight_decay_selection_rule():
    from bmlab.experiments.udv_bias import select_weight_decay
    from bmlab.experiments.udv_common import RunSummary

    def run(wd, loss):
        return RunSummary("uv", "adam", 0.1, wd, "regression", np.array([loss, loss]),
                          np.zeros(2), np.zeros((2, 2)), np.zeros((2, 3)), np.zeros(2))
    runs = [run(1e-4, 1.0), run(1e-3, 1.05), run(1e-2, 1.2), run(1e-1, 1.08)]
    assert select_weight_decay(1.0, runs, 0.10) == 1e-1
    assert select_weight_decay(1.0, runs[:3], 0.10) == 1e-3
    assert np.isnan(select_weight_decay(0.5, runs, 0.10))


def test_bias_and_variants_drivers_tiny():
    from bmlab.experiments.udv_bias import BiasParams, run_bias
    from bmlab.experiments.udv_variants import VariantsParams, run_variants, width_for

    res = run_bias(BiasParams(n_seeds=1, epochs=2, wd_grid=(1e-3,), wd_models=("uv",)))
    assert res.run("uv", 1e-3).weight_decay == 1e-3 and "uv" in res.selected
    v = run_variants(VariantsParams(datasets=("digits",), models={"digits": ("udv-relu",)},
                                    n_seeds=1, epochs={"digits": 1}))
    assert v.widths["digits"] == 43 and v.runs["digits"]["udv-relu"].metric.shape == (1,)
    assert width_for(load_dataset("diabetes")) == 9


def test_classification_driver_tiny():
    from bmlab.experiments.udv_classification import ClassificationParams, run_classification

    res = run_classification(ClassificationParams(
        optimizers=("adam",), lrs={"uv/adam": 0.01, "udv/adam": 0.01}, pretrain_epochs=1,
        n_seeds=2, epochs=2, feat_dim=16))
    assert res.width == 16 and 0 <= res.pretrain_acc <= 1
    run = res.runs[("udv", "adam")]
    assert run.spectra.shape == (2, 16) and run.widths[0] == 16 and run.widths[-1] == 1
    assert np.all((run.metric >= 0) & (run.metric <= 100))
    # full-width pruning reproduces the final accuracy of the last epoch's network
    assert np.allclose(run.prune_at(16), run.curves[-1], atol=1e-6)


def test_lora_driver_tiny():
    from bmlab.experiments.udv_lora import LoRAParams, min_ratio_within, run_lora

    res = run_lora(LoRAParams(n_seeds=1, epochs=1, pretrain_epochs=1, taus=(1.0, 0.5),
                              optimizer="adam", lr={"lora": 1e-2, "lora-udv": 1e-2}))
    for r in res.runs.values():
        assert r.ratios.shape == (1, 2) and r.ratios[0, 0] <= 1
        assert np.isfinite(min_ratio_within(r)).all()
