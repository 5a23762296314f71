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
    xtr, ytr, xte, yte = _data()
    net = FactorNet(6, 4, 2, model="udv", generator=make_generator(0))
    orig = torch.optim.Adam.step

    def step(self, *a, **k):
        out = orig(self, *a, **k)
        calls.append(net.constraint_violation())   # before the hook runs
        return out

    torch.optim.Adam.step = step
    try:
        train(net, (xtr, ytr), (xte, yte), epochs=2, batch_size=16, device="cpu",
              generator=make_generator(1), lr=0.5)
    finally:
        torch.optim.Adam.step = orig
    assert len(calls) == 2 * 3   # 3 steps per epoch
    assert net.constraint_violation() <= 1e-6


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


# --------------------------------------------------------------------- issue 12 / 14
def _manual(net, data, *, lr=0.05, epochs=2, batch_size=16, seed=1, project_every=1,
            project_init=True):
    """The reference loop: Adam step (torch's fused Adam, as ``make_optimizer``), then the
    model's own ``project_()``."""
    xtr, ytr = data
    if project_init:
        net.project_()
    opt = torch.optim.Adam(net.parameters(), lr=lr, fused=True)
    g, step, batch_losses = make_generator(seed), 0, []
    for _ in range(epochs):
        perm = torch.randperm(xtr.shape[0], generator=g)
        for i in range(0, xtr.shape[0], batch_size):
            idx = perm[i:i + batch_size]
            opt.zero_grad()
            loss = torch.nn.functional.mse_loss(net(xtr[idx]), ytr[idx])
            loss.backward()
            opt.step()
            step += 1
            if step % project_every == 0:
                net.project_()
            batch_losses.append(float(loss.detach()))
    return batch_losses


@pytest.mark.parametrize("model", ["udv", "udv-v1", "udv-relu", "uv"])
@pytest.mark.parametrize("every,init", [(1, True), (1, False), (4, False)])
def test_train_equals_reference_loop(model, every, init):
    """The fused projection hook gives bitwise the trajectory of 'step, then project_()'."""
    xtr, ytr, xte, yte = _data()
    a = FactorNet(6, 4, 2, model=model, generator=make_generator(7), project_init=False)
    b = FactorNet(6, 4, 2, model=model, generator=make_generator(7), project_init=False)
    _manual(a, (xtr, ytr), project_every=every, project_init=init)
    train(b, (xtr, ytr), epochs=2, batch_size=16, lr=0.05, cosine=False, device="cpu",
          generator=make_generator(1), project_every=every, project_init=init)
    for p, q in zip(a.parameters(), b.parameters()):
        assert torch.equal(p, q)


def test_project_init_false_leaves_the_draws():
    net = FactorNet(10, 26, 1, model="udv", generator=make_generator(0), project_init=False)
    ref = FactorNet(10, 26, 1, model="udv", generator=make_generator(0))
    assert float(torch.linalg.vector_norm(net.fc1.weight.detach())) > 1.0     # the raw draw
    assert net.constraint_violation() > 0 and ref.constraint_violation() == 0


def test_project_every_skips_steps():
    xtr, ytr, xte, yte = _data()
    net = FactorNet(6, 4, 2, model="udv", generator=make_generator(0), project_init=False)
    # 3 steps per epoch, 1 epoch, every 4th: never projected
    train(net, (xtr, ytr), epochs=1, batch_size=16, lr=0.5, cosine=False, device="cpu",
          generator=make_generator(1), project_every=4, project_init=False)
    assert net.constraint_violation() > 0


def test_loss_average_batch_is_the_mean_of_batch_means():
    xtr, ytr, _, _ = _data(n=58)            # 42 training samples: batches 16, 16, 10
    xtr, ytr = xtr[:42], ytr[:42]
    a = FactorNet(6, 4, 2, model="udv", generator=make_generator(3))
    b = FactorNet(6, 4, 2, model="udv", generator=make_generator(3))
    losses = _manual(a, (xtr, ytr), epochs=1)
    res = train(b, (xtr, ytr), epochs=1, batch_size=16, lr=0.05, cosine=False, device="cpu",
                generator=make_generator(1), loss_average="batch")
    assert res.history["train_loss"][1] == pytest.approx(np.mean(losses), rel=1e-6)
    res2 = train(FactorNet(6, 4, 2, model="udv", generator=make_generator(3)), (xtr, ytr),
                 epochs=1, batch_size=16, lr=0.05, cosine=False, device="cpu",
                 generator=make_generator(1), loss_average="sample")
    w = np.array([16, 16, 10]) / 42
    assert res2.history["train_loss"][1] == pytest.approx(np.dot(w, losses), rel=1e-6)
    with pytest.raises(ValueError, match="loss_average"):
        train(b, (xtr, ytr), epochs=1, loss_average="mean", device="cpu")


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error without CUDA")
def test_cuda_flag_raises_without_cuda():
    xtr, ytr, _, _ = _data()
    net = FactorNet(6, 4, 2, model="udv", generator=make_generator(0))
    with pytest.raises(RuntimeError, match="no CUDA"):
        train(net, (xtr, ytr), epochs=1, device="cuda", generator=make_generator(1))
    with pytest.raises(ValueError, match="device"):
        train(net, (xtr, ytr), epochs=1, device="tpu", generator=make_generator(1))


@pytest.mark.parametrize("model", ["udv", "uv", "udv-relu"])
def test_stacked_replicas_equal_per_seed_runs_float64(model):
    """S seeds as one stacked model = S separate runs, <= 1e-10 in float64 (authors' flags)."""
    xtr, ytr, xte, yte = (t.double() for t in _data())
    seeds = (3, 4, 5, 6)
    kw = dict(optimizer="adam", lr=1e-2, epochs=4, batch_size=16, cosine=False,
              project_init=False, loss_average="batch", device="cpu")
    ens = FactorEnsemble(6, 4, 2, model=model, project_init=False,
                         generators=[make_generator(s) for s in seeds]).double()
    res = train(ens, (xtr, ytr), (xte, yte), generator=[make_generator(s + 100) for s in seeds],
                **kw)
    for i, s in enumerate(seeds):
        net = FactorNet(6, 4, 2, model=model, generator=make_generator(s),
                        project_init=False).double()
        single = train(net, (xtr, ytr), (xte, yte), generator=make_generator(s + 100), **kw)
        for key in ("train_loss", "test_loss"):
            np.testing.assert_allclose(res.history[key][:, i], single.history[key],
                                       rtol=1e-10, atol=1e-12)
        pairs = [(ens.U[i], net.fc1.weight), (ens.V[i], net.fc2.weight)]
        if ens.w is not None:
            pairs.append((ens.w[i], net.diag.weight))
        for p, q in pairs:
            assert p.dtype == torch.float64
            assert float((p - q).detach().abs().max()) <= 1e-10
