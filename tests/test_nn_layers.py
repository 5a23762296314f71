"""UV/UDV layers: shapes, projections, spectra and exactness of SVD pruning."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

from bmlab.factorizations.spectral import numerical_rank
from bmlab.nn.layers import (MODELS, FactorEnsemble, FactorNet, huang_width, prune_curve_widths,
                             svd_prune)
from bmlab.nn.training import make_generator

LINEAR = [m for m, s in MODELS.items() if not s.relu]


def test_huang_width_matches_paper_networks():
    assert huang_width(79, 1) == 26      # HPART 79-26-1
    assert huang_width(12, 1) == 10      # NYCTTD 12-10-1
    with pytest.raises(ValueError, match="positive"):
        huang_width(0, 1)


@pytest.mark.parametrize("model", sorted(MODELS))
def test_shapes_and_forward(model):
    net = FactorNet(7, 5, 3, model=model, generator=make_generator(0))
    x = torch.randn(11, 7, generator=make_generator(1))
    assert net(x).shape == (11, 3)
    assert net.hidden_factor().shape == (7, 5)
    assert net.spectrum().shape == (5,)


def test_unknown_model_and_bad_sizes():
    with pytest.raises(ValueError, match="model must be one of"):
        FactorNet(3, 2, 1, model="udx")
    with pytest.raises(ValueError, match="width"):
        FactorNet(3, 0, 1)
    with pytest.raises(ValueError, match="init"):
        FactorNet(3, 2, 1, init="xavier")


def test_same_draws_for_every_model():
    nets = {m: FactorNet(6, 4, 2, model=m, generator=make_generator(3)) for m in ("uv", "ufv")}
    for name in ("fc1", "fc2"):
        a, b = (getattr(nets[m], name).weight for m in ("uv", "ufv"))
        assert torch.equal(a, b)


@settings(max_examples=25, deadline=None)
@given(scale=st.floats(0.01, 100.0), seed=st.integers(0, 10_000),
       model=st.sampled_from(sorted(MODELS)))
def test_projection_makes_feasible_and_is_idempotent(scale, seed, model):
    net = FactorNet(6, 5, 3, model=model, generator=make_generator(seed))
    with torch.no_grad():
        for p in net.parameters():
            p.mul_(scale).sub_(0.3 * scale)
    net.project_()
    assert net.constraint_violation() <= 1e-6
    before = [p.detach().clone() for p in net.parameters()]
    net.project_()
    for a, b in zip(before, net.parameters()):
        assert torch.allclose(a, b)
    spec = net.spec
    if spec.norm == "frobenius":
        assert float(torch.linalg.vector_norm(net.fc1.weight.detach())) <= 1 + 1e-6
        assert float(torch.linalg.vector_norm(net.fc2.weight.detach())) <= 1 + 1e-6
    if spec.norm == "rows":
        assert float(torch.linalg.vector_norm(net.fc1.weight.detach(), dim=1).max()) <= 1 + 1e-6
        assert float(torch.linalg.vector_norm(net.fc2.weight.detach(), dim=0).max()) <= 1 + 1e-6
    if spec.nonneg:
        assert float(net.diag.weight.detach().min()) >= 0


def test_projection_leaves_interior_points_alone():
    net = FactorNet(4, 3, 2, model="udv", generator=make_generator(0))
    with torch.no_grad():
        net.fc1.weight.mul_(0.1 / torch.linalg.vector_norm(net.fc1.weight.detach()))
        net.diag.weight.copy_(torch.tensor([0.5, 0.0, 2.0]))
    before = net.fc1.weight.detach().clone()
    net.project_()
    assert torch.equal(before, net.fc1.weight)


@pytest.mark.parametrize("model", LINEAR)
def test_pruning_at_full_rank_is_exact(model):
    net = FactorNet(9, 6, 4, model=model, generator=make_generator(5)).double()
    x = torch.randn(20, 9, generator=make_generator(6), dtype=torch.float64)
    pruned = svd_prune(net, 6).double()
    assert pruned.width == 6
    assert torch.allclose(pruned(x), net(x), atol=1e-5)


def test_pruning_below_rank_is_the_best_rank_k_map():
    net = FactorNet(8, 6, 5, model="udv", generator=make_generator(7))
    for k in (1, 3, 5):
        pruned = svd_prune(net, k)
        assert pruned.width == k
        assert np.linalg.matrix_rank(pruned.hidden_factor(), tol=1e-6) <= k
        s = net.spectrum()
        # the pruned hidden factor keeps exactly the top k singular values
        assert np.allclose(pruned.spectrum()[:k], s[:k], rtol=1e-5)


def test_pruning_a_low_rank_network_to_its_rank_is_lossless():
    net = FactorNet(8, 6, 3, model="udv", generator=make_generator(8))
    with torch.no_grad():
        net.diag.weight.copy_(torch.tensor([1.0, 2.0, 0.0, 0.0, 0.0, 0.0]))
    x = torch.randn(15, 8, generator=make_generator(9))
    assert numerical_rank(net.spectrum(), 1e-3, spectrum=True) == 2
    assert torch.allclose(svd_prune(net, 2)(x), net(x), atol=1e-5)


def test_pruning_rejects_relu_and_bad_k():
    with pytest.raises(ValueError, match="ReLU"):
        svd_prune(FactorNet(4, 3, 2, model="udv-relu"), 2)
    with pytest.raises(ValueError, match="k must be"):
        svd_prune(FactorNet(4, 3, 2, model="udv"), 4)


def test_numerical_rank_of_spectra_is_the_spectral_one():
    """The part's rank measure (threshold 1e-3) is bmlab.factorizations.spectral's (issue 12:
    one numerical_rank); a diverged run's NaN spectrum has rank 0; a bad threshold is named."""
    import bmlab.nn.layers as layers

    assert not hasattr(layers, "numerical_rank")
    rank = lambda s: numerical_rank(np.asarray(s), 1e-3, spectrum=True)
    assert rank([1.0, 0.5, 1e-4, 0.0]) == 2
    assert rank([0.0, 0.0]) == 0
    assert rank([np.nan, np.nan]) == 0 and rank([1.0, np.nan]) == 0
    for bad in (np.nan, -1.0):
        with pytest.raises(ValueError, match="rtol"):
            numerical_rank(np.ones(3), bad, spectrum=True)


def test_prune_widths():
    assert prune_curve_widths(4) == [4, 3, 2, 1]
    g = prune_curve_widths(64, "geometric")
    assert g[0] == 64 and g[1] == 57 and g[-1] == 1 and g == sorted(g, reverse=True)


@pytest.mark.parametrize("model", ["uv", "udv", "udv-v1", "ufv", "udv-relu"])
def test_ensemble_members_match_single_nets(model):
    gens = [make_generator(s) for s in (1, 2, 3)]
    ens = FactorEnsemble(5, 4, 2, model=model, generators=gens)
    x = torch.randn(7, 5, generator=make_generator(0))
    out = ens(x)
    assert out.shape == (3, 7, 2)
    for i, s in enumerate((1, 2, 3)):
        single = FactorNet(5, 4, 2, model=model, generator=make_generator(s))
        assert torch.allclose(out[i], single(x), atol=1e-6)
        assert torch.allclose(ens.member(i)(x), single(x), atol=1e-6)
    assert ens.spectra().shape == (3, 4)


def test_ensemble_projection_matches_single():
    gens = [make_generator(s) for s in (1, 2)]
    ens = FactorEnsemble(5, 4, 2, model="udv-v1", generators=gens)
    with torch.no_grad():
        for p in ens.parameters():
            p.mul_(10).sub_(1)
    ens.project_()
    for i in range(2):
        net = ens.member(i)
        assert net.constraint_violation() <= 1e-6


# ----------------------------------------------------------- fused projection (issue 12)
@pytest.mark.parametrize("model", sorted(__import__("bmlab.nn.layers", fromlist=["MODELS"]).MODELS))
def test_fused_projection_equals_reference(model):
    """FusedProjection == the models' own project_(), bitwise, single and stacked."""
    from bmlab.nn.layers import FactorEnsemble, FactorNet, FusedProjection
    from bmlab.nn.training import make_generator

    g = make_generator(0)
    for make in (lambda: FactorNet(7, 5, 3, model=model, generator=make_generator(1),
                                   project_init=False),
                 lambda: FactorEnsemble(7, 5, 3, model=model, project_init=False,
                                        generators=[make_generator(i) for i in range(4)])):
        a, b = make(), make()
        with torch.no_grad():
            for p, q in zip(a.parameters(), b.parameters()):
                p.copy_(torch.randn(p.shape, generator=g) * 2)   # some inside, most outside
                q.copy_(p)
            if getattr(a, "U", None) is not None:               # one replica inside the ball
                a.U[0].mul_(1e-3)
                b.U[0].mul_(1e-3)
        a.project_()
        plan = FusedProjection(b)
        plan()
        for p, q in zip(a.parameters(), b.parameters()):
            assert torch.equal(p, q)
        assert (len(plan) > 0) == (b.spec.norm is not None or b.spec.nonneg)


def test_fused_projection_lora_and_fallback():
    from torch import nn
    from bmlab.nn.layers import FusedProjection
    from bmlab.nn.lora import apply_lora

    torch.manual_seed(0)
    base = nn.Sequential(nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 4))
    apply_lora(base, 3, udv=True)
    m1 = base
    import copy
    m2 = copy.deepcopy(m1)
    with torch.no_grad():
        for p, q in zip(m1.parameters(), m2.parameters()):
            p.mul_(5.0).sub_(0.5)
            q.copy_(p)
    for mod in m1.modules():
        if hasattr(mod, "project_"):
            mod.project_()
    FusedProjection(m2)()
    for p, q in zip(m1.parameters(), m2.parameters()):
        assert torch.equal(p, q)


@pytest.mark.parametrize("model", ["udv", "udv-s", "udv-v1", "udv-unconstrained", "udv-relu", "ufv"])
@pytest.mark.parametrize("d,c", [(7, 3), (3, 7)])
def test_forward_is_the_factored_map_whichever_factor_holds_d(model, d, c):
    """D folded into V (c <= d) or into U^T (c > d): the same map V D U^T x (ReLU after D)
    as the float64 product of the factors, single and stacked (issue 12)."""
    net = FactorNet(d, 5, c, model=model, generator=make_generator(4))
    assert net._fold_v == (c <= d and not net.spec.relu and not net.spec.mid)
    x = torch.randn(9, d, generator=make_generator(5))
    U, V = net.fc1.weight.double(), net.fc2.weight.double()
    h = x.double() @ U.T
    if net.mid is not None:
        h = h @ net.mid.weight.double().T
    if net.diag is not None:
        h = h * net.diag.weight.double()
    if net.spec.relu:
        h = torch.relu(h)
    ref = h @ V.T
    assert torch.allclose(net(x).double(), ref, rtol=1e-5, atol=1e-6)
    ens = FactorEnsemble(d, 5, c, model=model, generators=[make_generator(4), make_generator(6)])
    assert torch.allclose(ens(x)[0].double(), ref, rtol=1e-5, atol=1e-6)
    assert torch.allclose(ens(x.expand(2, 9, d))[0].double(), ref, rtol=1e-5, atol=1e-6)
