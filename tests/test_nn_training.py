"""Training loop: determinism, ensembles = separate runs, projections, divergence."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from bmlab.nn.layers import FactorEnsemble, FactorNet
from bmlab.nn.training import (OPTIMIZERS, default_device, final_average, make_generator,
                               seed_for, train)


def _data(n=64, d=6, c=2, seed=0, task="regression"):
    g = make_generator(seed)
    x = torch.rand(n, d, generator=g)
    w = torch.randn(d, c, generator=g)
    if task == "regression":
        return x[:48], (x @ w)[:48], x[48:], (x @ w)[48:]
    y = (x @ w).argmax(dim=1)
    return x[:48], y[:48], x[48:], y[48:]


def _run(model="udv", opt="adam", seed=0, epochs=5, **kw):
    xtr, ytr, xte, yte = _data()
    net = FactorNet(6, 4, 2, model=model, generator=make_generator(seed))
    res = train(net, (xtr, ytr), (xte, yte), optimizer=opt, lr=1e-2, epochs=epochs,
                batch_size=16, generator=make_generator(seed + 1), device="cpu", **kw)
    return net, res


@pytest.mark.parametrize("opt", OPTIMIZERS)
def test_deterministic_given_seeds(opt):
    a, ra = _run(opt=opt)
    b, rb = _run(opt=opt)
    for p, q in zip(a.parameters(), b.parameters()):
        assert torch.equal(p, q)
    assert np.array_equal(ra.history["test_loss"], rb.history["test_loss"])
    assert ra.status == "max_iter" and ra.n_iter == 5
    assert ra.history["test_loss"].shape == (6,)
    assert np.all(np.isfinite(ra.history["test_loss"]))


def test_training_reduces_loss_and_stays_feasible():
    net, res = _run(model="udv", epochs=30)
    h = res.history["train_loss"]
    assert h[-1] < h[0]
    assert net.constraint_violation() <= 1e-6


def test_projection_after_every_step():
    calls = []

    class Probe(FactorNet):
        def project_(self):
            calls.append(1)
            super().project_()

    xtr, ytr, xte, yte = _data()
    net = Probe(6, 4, 2, model="udv", generator=make_generator(0))
    calls.clear()
    train(net, (xtr, ytr), (xte, yte), epochs=2, batch_size=16, device="cpu",
          generator=make_generator(1))
    assert len(calls) == 1 + 2 * 3  # once before training, then after each of 3 steps/epoch


def test_cosine_schedule_anneals_lr():
    _, res = _run(epochs=4)
    lr = res.history["lr"]
    assert lr[1] == pytest.approx(1e-2) and np.all(np.diff(lr[1:]) < 0)  # LR used in epoch e


def test_classification_metrics():
    xtr, ytr, xte, yte = _data(task="classification")
    net = FactorNet(6, 4, 2, model="udv", generator=make_generator(0))
    res = train(net, (xtr, ytr), (xte, yte), task="classification", epochs=3, lr=1e-2,
                device="cpu", generator=make_generator(1))
    acc = res.history["test_acc"]
    assert np.all((acc >= 0) & (acc <= 1))


def test_ensemble_equals_separate_runs():
    xtr, ytr, xte, yte = _data()
    seeds = (3, 4, 5)
    ens = FactorEnsemble(6, 4, 2, model="udv", generators=[make_generator(s) for s in seeds])
    res = train(ens, (xtr, ytr), (xte, yte), optimizer="adam", lr=1e-2, epochs=4,
                batch_size=16, generator=[make_generator(s + 100) for s in seeds],
                device="cpu")
    assert res.history["test_loss"].shape == (5, 3)
    for i, s in enumerate(seeds):
        net = FactorNet(6, 4, 2, model="udv", generator=make_generator(s))
        single = train(net, (xtr, ytr), (xte, yte), optimizer="adam", lr=1e-2, epochs=4,
                       batch_size=16, generator=make_generator(s + 100), device="cpu")
        assert np.allclose(res.history["test_loss"][:, i], single.history["test_loss"],
                           rtol=1e-4, atol=1e-6)
        assert torch.allclose(ens.member(i).fc1.weight, net.fc1.weight, atol=1e-5)
    assert np.allclose(final_average(res.history["test_loss"], 2),
                       res.history["test_loss"][-2:].mean(axis=0))


def test_divergence_is_recorded_not_raised():
    xtr, ytr, xte, yte = _data()
    net = FactorNet(6, 4, 2, model="uv", generator=make_generator(0))
    res = train(net, (xtr, ytr * 1e3), (xte, yte), optimizer="sgd", lr=10.0, epochs=20,
                device="cpu", generator=make_generator(1))
    assert res.status == "diverged" and res.diverged
    assert np.isnan(final_average(res.history["test_loss"], 3))


def test_ensemble_partial_divergence_keeps_the_others():
    xtr, ytr, xte, yte = _data()
    ens = FactorEnsemble(6, 4, 2, model="uv", generators=[make_generator(s) for s in (0, 1)])
    with torch.no_grad():
        ens.U[1].mul_(1e6)
    res = train(ens, (xtr, ytr), (xte, yte), optimizer="sgd", lr=0.5, epochs=5,
                device="cpu", generator=[make_generator(s) for s in (2, 3)])
    assert res.status == "diverged" and "1 of 2" in res.message
    fin = final_average(res.history["test_loss"], 2)
    assert np.isfinite(fin[0]) and np.isnan(fin[1])


def test_validation_messages():
    xtr, ytr, xte, yte = _data()
    net = FactorNet(6, 4, 2)
    with pytest.raises(ValueError, match="optimizer must be one of"):
        train(net, (xtr, ytr), optimizer="rmsprop", device="cpu")
    with pytest.raises(ValueError, match="task must be one of"):
        train(net, (xtr, ytr), task="ranking", device="cpu")
    with pytest.raises(ValueError, match="epochs"):
        train(net, (xtr, ytr), epochs=0, device="cpu")
    ens = FactorEnsemble(6, 4, 2, generators=[make_generator(0), make_generator(1)])
    with pytest.raises(ValueError, match="list of 2 generators"):
        train(ens, (xtr, ytr), generator=make_generator(0), device="cpu")


def test_seed_for_and_device():
    assert seed_for(0, 1, 2) == seed_for(0, 1, 2) != seed_for(0, 1, 3)
    assert 0 <= seed_for(5) < 2**63
    assert default_device().type in ("cpu", "cuda")


def test_progress_callback():
    from bmlab.nn.training import tqdm_callback

    seen = []
    _run(epochs=3, callback=lambda e, s: seen.append((e, s["test_loss"])))
    assert [e for e, _ in seen] == [1, 2, 3] and all(np.isfinite(v) for _, v in seen)
    _run(epochs=2, callback=tqdm_callback(2))
