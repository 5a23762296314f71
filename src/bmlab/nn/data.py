r"""Datasets of the UDV part, all available offline (nothing is downloaded at run time).

The paper's datasets need downloads (HPART and NYCTTD from Kaggle, CIFAR-10/100); this book
substitutes real datasets bundled with scikit-learn:

``diabetes``
    scikit-learn's diabetes data (Efron et al. 2004): 442 patients, 10 clinical features,
    one target (disease progression after a year). Stands in for HPART/NYCTTD (one output).
``digits-completion``
    scikit-learn's handwritten digits (8 x 8, 1797 images) as a multi-output regression:
    predict the bottom half of the image (32 pixels) from its top half (32 pixels), the
    "face completion" task of the scikit-learn gallery on digits. A second real regression
    set with 32 outputs, where the end-to-end map is a genuine reduced-rank regression.
``digits``
    the same images for 10-class classification (stands in for CIFAR-10).

Preprocessing follows the authors' regression code (FOUND-code): features and targets
min-max scaled to [0, 1] (on the whole set, before the split, as the code does); pixels are
divided by 16 (their range). Split: 80/20 with a ``torch.Generator`` seeded 529
(FOUND: ``random_split`` with seed 529).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from bmlab.validation import check_int

SPLIT_SEED = 529
REGRESSION_SETS = ("diabetes", "digits-completion")
CLASSIFICATION_SETS = ("digits",)


@dataclass
class Dataset:
    """A train/test split as float32 tensors (labels int64 for classification)."""

    name: str
    task: str
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    description: str = ""
    meta: dict = field(default_factory=dict)

    @property
    def d_in(self) -> int:
        return int(np.prod(self.x_train.shape[1:]))

    @property
    def d_out(self) -> int:
        if self.task == "classification":
            return int(self.meta.get("n_classes", int(self.y_train.max()) + 1))
        return 1 if self.y_train.ndim == 1 else int(self.y_train.shape[1])

    @property
    def train(self) -> tuple[torch.Tensor, torch.Tensor]:
        return self.x_train, self.y_train

    @property
    def test(self) -> tuple[torch.Tensor, torch.Tensor]:
        return self.x_test, self.y_test


SPLITS = ("round", "floor")


def split_indices(n: int, test_fraction: float = 0.2, seed: int = SPLIT_SEED,
                  rule: str = "round"):
    """Train and test indices of an ``n``-sample set (a seeded random permutation).

    ``rule="round"``: ``n - round(0.2 n)`` training samples (the tuned protocol);
    ``"floor"``: ``int(0.8 n)``, the authors' ``random_split`` sizes (FOUND-code), one
    fewer on diabetes (353 against 354)."""
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction!r}")
    n = check_int("n", n, lo=2)
    if rule not in SPLITS:
        raise ValueError(f"rule must be one of {SPLITS}, got {rule!r}")
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(int(seed)))
    n_train = (n - int(round(test_fraction * n)) if rule == "round"
               else int((1.0 - test_fraction) * n))
    return perm[:n_train], perm[n_train:]


def _minmax(a: np.ndarray) -> np.ndarray:
    lo, hi = a.min(axis=0), a.max(axis=0)
    span = np.where(hi > lo, hi - lo, 1.0)
    return (a - lo) / span


def _make(name, task, x, y, description, seed, split="round", **meta) -> Dataset:
    tr, te = split_indices(x.shape[0], seed=seed, rule=split)
    xt = torch.as_tensor(x, dtype=torch.float32)
    yt = torch.as_tensor(y, dtype=torch.int64 if task == "classification" else torch.float32)
    return Dataset(name, task, xt[tr], yt[tr], xt[te], yt[te], description, dict(meta))


def load_dataset(name: str, *, split_seed: int = SPLIT_SEED, split: str = "round") -> Dataset:
    """One of :data:`REGRESSION_SETS` or :data:`CLASSIFICATION_SETS` (see the module doc);
    ``split``: the train size rule of :func:`split_indices` (``"floor"``: the authors')."""
    from sklearn.datasets import load_diabetes, load_digits

    if name == "diabetes":
        raw = load_diabetes(scaled=False)
        x = _minmax(np.asarray(raw.data, dtype=float))
        y = _minmax(np.asarray(raw.target, dtype=float)[:, None])
        return _make(name, "regression", x, y,
                     "scikit-learn diabetes: 442 x 10 features -> 1 target", split_seed, split)
    if name == "digits-completion":
        img = np.asarray(load_digits().images, dtype=float) / 16.0     # n x 8 x 8
        x = img[:, :4, :].reshape(len(img), 32)
        y = img[:, 4:, :].reshape(len(img), 32)
        return _make(name, "regression", x, y,
                     "scikit-learn digits: top half (32 px) -> bottom half (32 px)",
                     split_seed, split)
    if name == "digits":
        raw = load_digits()
        x = np.asarray(raw.images, dtype=float)[:, None, :, :] / 16.0   # n x 1 x 8 x 8
        return _make(name, "classification", x, np.asarray(raw.target), 
                     "scikit-learn digits: 1797 images 8 x 8, 10 classes", split_seed,
                     split, n_classes=10)
    raise ValueError(f"name must be one of {REGRESSION_SETS + CLASSIFICATION_SETS}, "
                     f"got {name!r}")


def load_cifar(root: str, *, n_classes: int = 10, train: bool = True):
    """CIFAR-10/100 through torchvision, as in the paper (v2 §3.1.1) -- **not used offline**.

    The book runs offline and does not depend on torchvision, so this raises a
    ``RuntimeError`` explaining what is missing unless torchvision is installed *and* the
    dataset files are already under ``root`` (``download=False``: nothing is fetched).
    With both present it returns the torchvision dataset with the ImageNet normalisation
    the pretrained backbones expect; feed it to :func:`bmlab.nn.heads.torchvision_backbone`.
    """
    if n_classes not in (10, 100):
        raise ValueError(f"n_classes must be 10 or 100, got {n_classes!r}")
    try:
        import torchvision  # noqa: F401
        from torchvision import datasets, transforms
    except ImportError as exc:
        raise RuntimeError(
            "CIFAR needs torchvision, which bmlab does not depend on (the book runs offline "
            "on scikit-learn's digits instead). To run the paper's setting: pip install "
            "torchvision matching torch, download CIFAR into ROOT yourself, then call "
            "load_cifar(ROOT).") from exc
    cls = datasets.CIFAR10 if n_classes == 10 else datasets.CIFAR100
    tf = transforms.Compose([transforms.Resize(224), transforms.ToTensor(),
                             transforms.Normalize((0.485, 0.456, 0.406),
                                                  (0.229, 0.224, 0.225))])
    try:
        return cls(root, train=train, download=False, transform=tf)
    except RuntimeError as exc:
        raise RuntimeError(f"CIFAR-{n_classes} files not found under {root!r}; this "
                           "package never downloads data at run time") from exc
