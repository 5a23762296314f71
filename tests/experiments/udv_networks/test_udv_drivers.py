"""The UDV experiment drivers on tiny settings (seconds)."""
from __future__ import annotations

import numpy as np
import pytest

from bmlab.experiments.udv_networks import bias, classification, lora_udv, regression, variants
from bmlab.experiments.udv_networks.common import RunSummary, prune_comparison, run_seeds
from bmlab.nn.data import load_dataset


def test_regression_driver_tiny():
    lrs = {"diabetes": {"uv/adam": 0.1, "udv/adam": 0.1}}
    res = regression.run(regression.Params(datasets=("diabetes",), optimizers=("adam",),
                                           lrs=lrs, n_seeds={"diabetes": 2},
                                           epochs={"diabetes": 3}, average_last=2,
                                           authors_seeds={"diabetes": 3},
                                           authors_epochs={"diabetes": 2},
                                           authors_step_epochs={"diabetes": 4}))
    a = res.authors["diabetes"].runs[("udv", "adam")]
    st = res.authors_steps["diabetes"].runs[("udv", "adam")]
    assert st.curves.shape == (5, 3) and st.lr == 1e-4     # step-matched: its own epochs
    assert a.lr == 1e-4 and a.metric.shape == (3,) and a.curves.shape == (3, 3)
    assert res.authors["diabetes"].runs[("uv", "adam")].n_test == 89    # int(0.8 n) split
    r = res.datasets["diabetes"]
    assert r.width == 9 and r.d_in == 10 and r.d_out == 1
    run = r.runs[("udv", "adam")]
    assert run.metric.shape == (2,) and np.all(np.isfinite(run.metric))
    assert run.spectra.shape == (2, 9)
    assert run.prune_metric.shape == (2, 9) and run.widths == list(range(9, 0, -1))
    pc = prune_comparison(run, r.runs[("uv", "adam")])
    assert 1 <= pc.k <= 9 and pc.udv_changes.shape == (2,) and pc.n_pairs == 2
    assert r.best("udv") is run


def test_full_width_pruning_reproduces_the_final_test_loss():
    ds = load_dataset("diabetes")
    run = run_seeds(ds, "udv", optimizer="adam", lr=0.05, epochs=2, n_seeds=2, seed=1,
                    width=9, average_last=1)
    assert np.allclose(run.prune_at(9), run.metric, rtol=1e-4)
    assert run.n_test == ds.x_test.shape[0]


def test_regression_lr_sweep_and_validation():
    res = regression.run(regression.Params(datasets=("diabetes",), models=("udv", "uv"),
                                           optimizers=("sgd",), lr_grid=(1e-3, 1.0),
                                           n_tune_seeds=1, n_seeds={"diabetes": 1},
                                           epochs={"diabetes": 2}, authors=False))
    sweep = res.datasets["diabetes"].sweep
    assert set(sweep.lr) == {1e-3, 1.0}
    assert res.datasets["diabetes"].runs[("udv", "sgd")].lr in (1e-3, 1.0)
    with pytest.raises(ValueError, match="datasets must be among"):
        regression.Params(datasets=("hpart",))
    with pytest.raises(ValueError, match="optimizers"):
        regression.Params(optimizers=("lbfgs",))


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
    def run(wd, loss):
        return RunSummary("uv", "adam", 0.1, wd, "regression", np.array([loss, loss]),
                          np.zeros(2), np.zeros((2, 2)), np.zeros((2, 3)), np.zeros(2))
    runs = [run(1e-4, 1.0), run(1e-3, 1.05), run(1e-2, 1.2), run(1e-1, 1.08)]
    assert bias.select_weight_decay(1.0, runs, 0.10) == 1e-1
    assert bias.select_weight_decay(1.0, runs[:3], 0.10) == 1e-3
    assert np.isnan(bias.select_weight_decay(0.5, runs, 0.10))


def test_bias_and_variants_drivers_tiny():
    res = bias.run(bias.Params(datasets=("diabetes",), n_seeds=1, epochs={"diabetes": 2},
                               wd_grid=(1e-3,), wd_models=("uv",), authors_seeds=2,
                               authors_epochs=2))
    a = res.authors["diabetes"]
    assert a.run("ufv").lr == 1e-4 and a.run("uv", 1e-3).metric.shape == (2,)
    d = res.datasets["diabetes"]
    assert d.run("uv", 1e-3).weight_decay == 1e-3 and "uv" in d.selected
    v = variants.run(variants.Params(datasets=("digits",), models={"digits": ("udv-relu",)},
                                     n_seeds=1, epochs={"digits": 1},
                                     authors_datasets=("digits",), authors_seeds={"digits": 2},
                                     authors_relu_epochs=1))
    assert v.widths["digits"] == 43 and v.runs["digits"]["udv-relu"].metric.shape == (1,)
    a = v.authors["digits"]["udv-relu"]
    assert a.lr == 1e-3 and a.metric.shape == (2,) and a.curves.shape == (2, 2)
    assert variants.width_for(load_dataset("diabetes")) == 9


def test_classification_driver_tiny():
    res = classification.run(classification.Params(
        optimizers=("adam",), lrs={"uv/adam": 0.01, "udv/adam": 0.01}, pretrain_epochs=1,
        n_seeds=2, epochs=2, feat_dim=16, frozen_seeds=1, authors_seeds=2, authors_epochs=2))
    assert res.width == 16 and 0 <= res.pretrain_acc <= 1
    assert res.authors["udv"].lr == 1e-6 and res.authors["uv"].metric.shape == (2,)
    run = res.runs[("udv", "adam")]
    assert run.spectra.shape == (2, 16) and run.widths[0] == 16 and run.widths[-1] == 1
    assert np.all((run.metric >= 0) & (run.metric <= 100))
    # full-width pruning reproduces the final accuracy of the last epoch's network
    assert np.allclose(run.prune_at(16), run.curves[-1], atol=1e-6)
    assert res.frozen["udv"].metric.shape == (1,)
    pc = prune_comparison(run, res.runs[("uv", "adam")])
    assert np.all(pc.udv_drops == np.rint(pc.udv_drops))   # whole test images


def test_lora_driver_tiny():
    res = lora_udv.run(lora_udv.Params(n_seeds=1, epochs=1, pretrain_epochs=1,
                                       taus=(1.0, 0.5)))
    for r in res.runs.values():
        assert r.ratios.shape == (1, 2) and r.ratios[0, 0] <= 1
        assert np.isfinite(lora_udv.min_ratio_within(r)).all()
    assert {"lora-authors", "lora-udv-authors"} <= set(res.runs)   # the authors' optimizer
    assert all(0 <= res.runs[m].acc[0] <= 100 for m in ("lora-authors", "lora-udv-authors"))
    assert {c.protocol for c in lora_udv.claims(res)} >= {"authors", "tuned"}
