r"""Classifier-head swap of the paper's transfer-learning experiments (§3.1.1, spec 001 §5.5).

"The original classification head (the final linear layer) of each model was replaced with
two linear layers, forming the backbone classifier (UV). By inserting a diagonal layer
between them, the classifier was transformed into the proposed UDV structure. The new linear
layers were initialized with a truncated normal distribution, and the diagonal layer was
initialized as an identity matrix. The vector dimension followed that of the preceding
layer" -- i.e. a ``d - d - c`` head for a backbone with ``d`` features. The whole network
(backbone included) is then trained.

:func:`swap_head` does exactly this on any module. Offline, the book applies it to
:class:`SmallCNN`, a backbone pretrained here (on a source task) in place of the ImageNet
backbones; :func:`torchvision_backbone` is the paper's path (MaxViT-T, EfficientNet-B0,
RegNetX-32GF with ImageNet weights), kept and documented, which raises a clear error when
torchvision or the weights are not available.
"""
from __future__ import annotations

import torch
from torch import nn

from bmlab.nn.layers import FactorNet
from bmlab.validation import check_int

#: Where the final linear layer sits in the paper's torchvision backbones, and its width.
TORCHVISION_HEADS = {
    "maxvit_t": ("classifier.5", 512),
    "efficientnet_b0": ("classifier.1", 1280),
    "regnet_x_32gf": ("fc", 2520),
}


def _get(module: nn.Module, path: str) -> nn.Module:
    for part in path.split("."):
        module = module[int(part)] if part.isdigit() else getattr(module, part)
    return module


def _set(module: nn.Module, path: str, new: nn.Module) -> None:
    parent_path, _, last = path.rpartition(".")
    parent = _get(module, parent_path) if parent_path else module
    if last.isdigit():
        parent[int(last)] = new
    else:
        setattr(parent, last, new)


def swap_head(model: nn.Module, path: str, *, kind: str = "udv", n_classes: int | None = None,
              width: int | None = None, init_std: float = 0.02,
              generator: torch.Generator | None = None) -> FactorNet:
    """Replace the ``nn.Linear`` at ``path`` (``"fc"``, ``"classifier.1"`` ...) by a
    ``d - width - n_classes`` :class:`~bmlab.nn.layers.FactorNet` of ``kind`` ("uv",
    "udv", ...), truncated-normal initialised with ``D = I``. ``width`` defaults to ``d``
    (the paper's CIFAR rule), ``n_classes`` to the old head's outputs. Returns the head."""
    old = _get(model, path)
    if not isinstance(old, nn.Linear):
        raise TypeError(f"the module at {path!r} must be an nn.Linear, got {type(old).__name__}")
    d = old.in_features
    for name, val in (("n_classes", n_classes), ("width", width)):
        if val is not None:
            check_int(name, val, lo=1)
    head = FactorNet(d, width or d, n_classes or old.out_features, model=kind,
                     init="trunc_normal", init_std=init_std, generator=generator)
    _set(model, path, head.to(old.weight.device))
    return head


class SmallCNN(nn.Module):
    """A small convolutional backbone for 8 x 8 digit images with a linear head ``fc``.

    conv(1->c1) -> ReLU -> conv(c1->c2) -> ReLU -> maxpool 2 -> flatten -> linear(->feat)
    -> ReLU -> ``fc`` (feat -> n_classes).
    """

    def __init__(self, n_classes: int = 10, channels: tuple[int, int] = (16, 32),
                 feat_dim: int = 64, generator: torch.Generator | None = None) -> None:
        super().__init__()
        n_classes, feat_dim = check_int("n_classes", n_classes, lo=1), check_int("feat_dim", feat_dim, lo=1)
        if not (isinstance(channels, (tuple, list)) and len(channels) == 2):
            raise TypeError(f"channels must be a pair (c1, c2), got {channels!r}")
        c1, c2 = (check_int(f"channels[{i}]", c, lo=1) for i, c in enumerate(channels))
        self.features = nn.Sequential(
            nn.Conv2d(1, c1, 3, padding=1), nn.ReLU(),
            nn.Conv2d(c1, c2, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
            nn.Linear(c2 * 16, feat_dim), nn.ReLU())
        self.fc = nn.Linear(feat_dim, n_classes)
        self.feat_dim = feat_dim
        if generator is not None:  # deterministic default-style init from the generator
            with torch.no_grad():
                for m in self.modules():
                    if isinstance(m, (nn.Conv2d, nn.Linear)):
                        fan_in = m.weight[0].numel()
                        bound = 1.0 / fan_in ** 0.5
                        m.weight.uniform_(-bound, bound, generator=generator)
                        m.bias.uniform_(-bound, bound, generator=generator)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.features(x))


def torchvision_backbone(name: str, *, kind: str = "udv", n_classes: int = 10,
                         generator: torch.Generator | None = None) -> nn.Module:
    """The paper's backbone ``name`` (``maxvit_t``, ``efficientnet_b0``, ``regnet_x_32gf``)
    with ImageNet weights and its head swapped to ``kind`` -- the CIFAR code path.

    Not used by the book, which runs offline without torchvision: raises ``RuntimeError``
    saying what is missing when torchvision is not installed or the pretrained weights are
    not already in torch's cache (nothing is downloaded). Pair it with
    :func:`bmlab.nn.data.load_cifar` and :func:`bmlab.nn.training.train` (batch sizes
    MaxViT 128, EfficientNet 384, RegNet 128; 100 epochs; FOUND-code).
    """
    if name not in TORCHVISION_HEADS:
        raise ValueError(f"name must be one of {sorted(TORCHVISION_HEADS)}, got {name!r}")
    check_int("n_classes", n_classes, lo=1)
    try:
        import torchvision
    except ImportError as exc:
        raise RuntimeError(
            f"{name} needs torchvision, which bmlab does not depend on; the book uses "
            "SmallCNN on scikit-learn's digits instead. Install torchvision matching torch "
            "and place the ImageNet weights in torch's cache to run the paper's setting."
        ) from exc
    import os

    weights = torchvision.models.get_model_weights(name).DEFAULT
    cached = os.path.join(torch.hub.get_dir(), "checkpoints", os.path.basename(weights.url))
    if not os.path.exists(cached):  # pragma: no cover - needs torchvision
        raise RuntimeError(f"ImageNet weights of {name} are not in torch's cache ({cached}) "
                           "and this package never downloads at run time")
    model = torchvision.models.get_model(name, weights=weights)
    path, _ = TORCHVISION_HEADS[name]
    swap_head(model, path, kind=kind, n_classes=n_classes, generator=generator)
    return model
