"""LoRA / LoRA-UDV adapters: drop-in behaviour, constraints, energy pruning."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from bmlab.nn.lora import LoRALinear, adapters, apply_lora, energy_pruned
from bmlab.nn.training import make_generator, train


def _base(seed=0):
    torch.manual_seed(seed)
    return nn.Linear(12, 8)


def test_starts_as_the_base_layer_and_freezes_it():
    base = _base()
    x = torch.randn(5, 12, generator=make_generator(1))
    ref = base(x).detach()
    for udv in (True, False):
        lo = LoRALinear(base, 4, udv=udv, generator=make_generator(2))
        assert torch.allclose(lo(x), ref)          # B = 0 at start
        assert not base.weight.requires_grad
        names = {n for n, p in lo.named_parameters() if p.requires_grad}
        assert names == ({"A", "B", "d"} if udv else {"A", "B"})
        assert lo.n_trainable() == 4 * 20 + (4 if udv else 0)


def test_projection_keeps_constraints():
    lo = LoRALinear(_base(), 4, udv=True, generator=make_generator(0))
    with torch.no_grad():
        lo.A.mul_(100)
        lo.B.normal_(0, 5, generator=make_generator(1))
        lo.d.sub_(3)
    lo.project_()
    assert float(torch.linalg.vector_norm(lo.A.detach())) <= 1 + 1e-6
    assert float(torch.linalg.vector_norm(lo.B.detach())) <= 1 + 1e-6
    assert float(lo.d.detach().min()) >= 0


@pytest.mark.parametrize("udv", [True, False])
def test_energy_pruning_at_full_energy_is_exact(udv):
    lo = LoRALinear(_base(), 4, udv=udv, generator=make_generator(0))
    with torch.no_grad():
        lo.B.normal_(0, 0.3, generator=make_generator(1))
        if udv:
            lo.d.copy_(torch.tensor([2.0, 1.0, 0.5, 0.0]))
    x = torch.randn(6, 12, generator=make_generator(2))
    before = lo(x).detach()
    k = lo.energy_prune_(1.0)
    assert k == (3 if udv else 4)
    assert torch.allclose(lo(x), before, atol=1e-5)
    assert lo.rank == k and lo.n_trainable() == k * 20 + (k if udv else 0)


def test_energy_threshold_keeps_the_smallest_k():
    lo = LoRALinear(_base(), 4, udv=True, generator=make_generator(0))
    s = lo.spectrum()
    frac = np.cumsum(s ** 2) / np.sum(s ** 2)
    k = lo.energy_prune_(0.5)
    assert k == int(np.searchsorted(frac, 0.5) + 1)
    with pytest.raises(ValueError, match="tau"):
        lo.energy_prune_(0.0)


def test_apply_lora_and_pruned_copy():
    model = nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 3))
    ad = apply_lora(model, 4, udv=True, generator=make_generator(0))
    assert len(ad) == 2 and adapters(model) == ad
    assert ad[1].rank == 3                              # capped by the layer's size
    trainable = [p for p in model.parameters() if p.requires_grad]
    assert len(trainable) == 6
    x = torch.rand(40, 6, generator=make_generator(1))
    y = (x.sum(1) > 3).long()
    train(model, (x, y), task="classification", lr=1e-2, epochs=3, device="cpu",
          generator=make_generator(2))
    for a in ad:
        assert float(torch.linalg.vector_norm(a.A.detach())) <= 1 + 1e-5
    pruned, ratio = energy_pruned(model, 1.0)
    assert 0 < ratio <= 1
    assert torch.allclose(pruned(x), model(x), atol=1e-4)
    with pytest.raises(ValueError, match="no nn.Linear"):
        apply_lora(nn.Sequential(nn.ReLU()), 2)
    with pytest.raises(TypeError):
        LoRALinear(nn.ReLU(), 2)
