"""Head swap, the small CNN backbone, the CIFAR path that must fail clearly offline."""
from __future__ import annotations

import pytest
import torch

from bmlab.nn.heads import SmallCNN, swap_head, torchvision_backbone
from bmlab.nn.layers import FactorEnsemble, FactorNet
from bmlab.nn.training import make_generator


def test_swap_head_as_in_the_paper():
    net = SmallCNN(10, feat_dim=16, generator=make_generator(0))
    head = swap_head(net, "fc", kind="udv", generator=make_generator(1))
    assert isinstance(net.fc, FactorNet) and net.fc is head
    assert (head.d_in, head.width, head.d_out) == (16, 16, 10)   # d - d - c
    assert torch.equal(head.diag.weight.detach(), torch.ones(16))  # D = I
    assert float(head.fc1.weight.detach().abs().max()) <= 0.04     # trunc normal, 2 std
    x = torch.rand(3, 1, 8, 8, generator=make_generator(2))
    assert net(x).shape == (3, 10)
    with pytest.raises(TypeError, match="nn.Linear"):
        swap_head(net, "features.0", kind="uv")


def test_swap_head_in_a_sequential():
    seq = torch.nn.Sequential(torch.nn.Linear(5, 7), torch.nn.ReLU(), torch.nn.Linear(7, 3))
    swap_head(seq, "2", kind="uv", generator=make_generator(0))
    assert isinstance(seq[2], FactorNet) and seq[2].width == 7


def test_ensemble_with_trainable_trunk():
    trunk = torch.nn.Linear(6, 4)
    ens = FactorEnsemble(4, 4, 3, model="udv", generators=[make_generator(s) for s in (0, 1)],
                         init="trunc_normal", trunk=trunk)
    x = torch.rand(5, 6, generator=make_generator(3))
    out = ens(x)
    assert out.shape == (2, 5, 3)
    feats = torch.relu(trunk(x))
    assert torch.allclose(out[0], ens.member(0)(feats).detach(), atol=1e-6)
    with pytest.raises(ValueError, match="trunk"):
        FactorEnsemble(5, 4, 3, generators=[make_generator(0)], trunk=trunk)


def test_cifar_path_raises_clearly_offline():
    from bmlab.nn.data import load_cifar
    try:
        import torchvision  # noqa: F401
    except ImportError:
        with pytest.raises(RuntimeError, match="torchvision"):
            load_cifar("/nonexistent")
        with pytest.raises(RuntimeError, match="torchvision"):
            torchvision_backbone("regnet_x_32gf")
    with pytest.raises(ValueError, match="name must be one of"):
        torchvision_backbone("resnet50")


def test_benchmark_runs_tiny(capsys):
    from bmlab.nn.benchmark import main, throughput

    assert throughput("udv", torch.device("cpu"), n=64, d=4, r=3, c=2, epochs=1) > 0
    assert main(["--models", "uv", "--n", "64", "--d", "4", "--r", "3", "--c", "2",
                 "--epochs", "1", "--replicas", "2"]) == 0
    out = capsys.readouterr().out
    assert "samples/s" in out and "x2 stacked" in out
