r"""Training loop of the UDV part: mini-batch optimizers, projections after every step,
cosine annealing, test metrics per epoch (paper 001 §3.1.1, spec 001 §5.5).

Every projection a model defines (a ``project_()`` method on any submodule: a
:class:`~bmlab.nn.layers.FactorNet`, a LoRA adapter, a swapped classifier head) is applied
after every optimizer step, as in the authors' code. The loop returns a
:class:`bmlab.solvers.base.SolverResult` whose ``x`` is the trained model and whose history
holds one value per epoch (index 0: before training).
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass
import math
from typing import Callable

import numpy as np
import torch
from torch import nn

from bmlab.nn.layers import FusedProjection
from bmlab.solvers.base import SolverResult
from bmlab.solvers.kernels_torch import resolve_device  # the one device flag of bmlab
from bmlab.validation import check_bool, check_callable, check_choice, check_int, check_real

#: Optimizers of the paper: Adam, NAdam, mini-batch GD (MBGD) and MBGD with momentum 0.9.
OPTIMIZERS = ("adam", "nadam", "sgd", "sgd-momentum")
TASKS = ("regression", "classification")

#: Names used in the paper's tables.
OPTIMIZER_LABELS = {"adam": "Adam", "nadam": "NAdam", "sgd": "MBGD", "sgd-momentum": "MBGDM"}


def default_device() -> torch.device:
    """CUDA when present, else CPU (a helper for interactive use: the training entry points
    default to the CPU and take the device as an explicit flag, see :func:`~bmlab.solvers.kernels_torch.resolve_device`)."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def seed_for(root: int, *keys: int) -> int:
    """A 63-bit seed derived from ``(root, *keys)`` (independent streams per run)."""
    check_int("root", root, lo=0)
    for i, k in enumerate(keys):
        check_int(f"keys[{i}]", k, lo=0)
    state = np.random.SeedSequence([int(root), *map(int, keys)]).generate_state(2, np.uint64)
    return int(state[0] >> np.uint64(1))


def make_generator(seed: int) -> torch.Generator:
    """A CPU ``torch.Generator`` seeded with ``seed``."""
    return torch.Generator().manual_seed(check_int("seed", seed, lo=0))


@contextlib.contextmanager
def torch_threads(n: int = 1):
    """Temporarily set torch's intra-op threads (tiny models run fastest on one thread)."""
    n = check_int("n", n, lo=1)
    old = torch.get_num_threads()
    torch.set_num_threads(int(n))
    try:
        yield
    finally:
        torch.set_num_threads(old)


def project_all_(model: nn.Module) -> None:
    """Call ``project_()`` on every submodule that defines it (the model itself included)."""
    for m in model.modules():
        fn = getattr(m, "project_", None)
        if callable(fn):
            fn()


def make_optimizer(params, name: str, lr: float, *, weight_decay: float = 0.0,
                   momentum: float = 0.9) -> torch.optim.Optimizer:
    """One of :data:`OPTIMIZERS` (``weight_decay`` is the optimizer's L2 coefficient).

    Adam runs as torch's fused kernel (``fused=True``, CPU and CUDA): one call updates every
    parameter, so its cost hardly grows with the number of tensors (the UDV layer's third
    tensor ``w`` then costs almost nothing; issue 12). The update is Adam's, equal to the
    per-tensor loop up to float rounding (its arithmetic is ordered differently)."""
    if name not in OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {name!r}")
    if not (isinstance(lr, (int, float)) and lr > 0):
        raise ValueError(f"lr must be a positive number, got {lr!r}")
    check_real("lr", lr, lo=0, lo_open=True)
    check_real("weight_decay", weight_decay, lo=0)
    check_real("momentum", momentum, lo=0, hi=1, hi_open=True)
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay, fused=True)
    if name == "nadam":
        return torch.optim.NAdam(params, lr=lr, weight_decay=weight_decay)
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, weight_decay=weight_decay)
    return torch.optim.SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay)


def _losses(out: torch.Tensor, y: torch.Tensor, task: str, replicated: bool) -> torch.Tensor:
    """Per-replica mean loss (a vector of length S) or a scalar for a plain module."""
    if not replicated:
        if task == "regression":
            return nn.functional.mse_loss(out, y)
        return nn.functional.cross_entropy(out, y)
    s, b = out.shape[0], out.shape[1]
    if task == "regression":
        return ((out - y) ** 2).reshape(s, -1).mean(dim=1)
    ce = nn.functional.cross_entropy(out.reshape(s * b, -1), y.reshape(s * b), reduction="none")
    return ce.reshape(s, b).mean(dim=1)


@torch.no_grad()
def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor, task: str,
             batch_size: int = 4096) -> tuple[np.ndarray | float, np.ndarray | float]:
    """Mean loss and accuracy (``nan`` for regression) of ``model`` on ``(x, y)``; arrays
    of one value per replica for a :class:`~bmlab.nn.layers.FactorEnsemble`."""
    check_choice("task", task, TASKS)
    batch_size = check_int("batch_size", batch_size, lo=1)
    replicated = getattr(model, "n_replicas", None) is not None
    was_training = model.training
    model.eval()
    n = x.shape[0]
    loss_sum, correct = 0.0, 0.0
    for i in range(0, n, batch_size):
        xb, yb = x[i:i + batch_size], y[i:i + batch_size]
        out = model(xb)
        if replicated:
            yb = yb.expand(out.shape[0], *yb.shape)
        loss_sum = loss_sum + _losses(out, yb, task, replicated).double() * xb.shape[0]
        if task == "classification":
            correct = correct + (out.argmax(dim=-1) == yb).double().sum(dim=-1)
    model.train(was_training)
    loss = loss_sum / n
    if replicated:
        acc = (correct / n).cpu().numpy() if task == "classification" \
            else np.full(model.n_replicas, np.nan)
        return loss.cpu().numpy(), acc
    return float(loss), (float(correct) / n if task == "classification" else math.nan)


def train(
    model: nn.Module,
    train_data: tuple[torch.Tensor, torch.Tensor],
    test_data: tuple[torch.Tensor, torch.Tensor] | None = None,
    *,
    task: str = "regression",
    optimizer: str = "adam",
    lr: float = 1e-3,
    epochs: int = 100,
    batch_size: int = 128,
    cosine: bool = True,
    weight_decay: float = 0.0,
    momentum: float = 0.9,
    project: bool = True,
    project_init: bool = True,
    project_every: int = 1,
    loss_average: str = "sample",
    generator: torch.Generator | list[torch.Generator] | None = None,
    device: torch.device | str | None = "cpu",
    parameters: list[nn.Parameter] | None = None,
    callback: Callable[[int, dict], None] | None = None,
    blowup: float = 1e8,
) -> SolverResult:
    r"""Train ``model`` with mini-batches; project after every step; evaluate every epoch.

    Parameters
    ----------
    model : torch.nn.Module
        Any module; every ``project_()`` of its submodules runs after each step. A
        :class:`~bmlab.nn.layers.FactorEnsemble` trains its ``S`` replicas as ``S``
        independent runs (each on its own mini-batches, on the sum of their losses).
    train_data, test_data : (X, y) tensors
        ``y`` float (``n`` or ``n x c``) for regression, int64 labels for classification.
    task : {"regression", "classification"}
        MSE (``nn.MSELoss``, mean, no 1/2 -- FOUND-code) or cross-entropy.
    optimizer : {"adam", "nadam", "sgd", "sgd-momentum"}
        The paper's Adam, NAdam, MBGD and MBGDM (momentum ``momentum``, 0.9 in the code).
    lr, epochs, batch_size : learning rate, passes over the data, mini-batch size.
    cosine : bool
        Cosine annealing of the LR over ``epochs`` (stepped once per epoch; FOUND in v2).
    weight_decay : float
        L2 coefficient given to the optimizer (the B.6 comparison).
    project : bool
        Apply the projections (``False`` only to study what they do). They run fused into
        the optimizer step (:class:`~bmlab.nn.layers.FusedProjection` as a step post-hook).
    project_init : bool
        Also project once before the first step (``True``: the tuned protocol); ``False``
        projects only after optimizer steps, as the authors' code does.
    project_every : int
        Project after every ``project_every``-th optimizer step only (counted over the whole
        run from 1; 4 = the authors' LoRA-UDV callback ``global_step % 4 == 0``).
    loss_average : {"sample", "batch"}
        The recorded epoch training loss: weighted by samples (``"sample"``) or the
        unweighted mean of the batch means (``"batch"``, the authors' code).
    generator : torch.Generator or list of them
        Drives the mini-batch shuffling; one per replica for an ensemble.
    device : str or torch.device
        ``"cpu"`` (default) or ``"cuda"``; CUDA without a CUDA device raises (no silent
        fallback, :func:`~bmlab.solvers.kernels_torch.resolve_device`).
    parameters : list, optional
        The trainable parameters (default: every parameter that requires grad).
    callback : callable, optional
        ``callback(epoch, state)`` after each epoch with ``state`` the latest metrics
        (a tqdm bar in the CLI, see :func:`tqdm_callback`; nothing in tests).
    blowup : float
        A training loss above this (or non-finite) marks the run (replica) as diverged;
        its later history is ``nan``.

    Returns
    -------
    SolverResult
        ``x`` the model (on ``device``); ``history`` with ``train_loss``, ``test_loss``,
        ``test_acc`` (nan for regression) and ``lr`` per epoch (index 0 = before training;
        shape ``(epochs + 1, S)`` for an ensemble); status ``"max_iter"`` or ``"diverged"``
        (any replica diverged; ``message`` says how many).
    """
    if task not in TASKS:
        raise ValueError(f"task must be one of {TASKS}, got {task!r}")
    for name, val in (("epochs", epochs), ("batch_size", batch_size)):
        if not isinstance(val, (int, np.integer)) or val < 1:
            raise ValueError(f"{name} must be a positive integer, got {val!r}")
    check_real("lr", lr, lo=0, lo_open=True)
    check_real("weight_decay", weight_decay, lo=0)
    check_real("momentum", momentum, lo=0, hi=1, hi_open=True)
    check_real("blowup", blowup, lo=0, lo_open=True, allow_inf=True)
    check_bool("cosine", cosine)
    check_bool("project", project)
    check_bool("project_init", project_init)
    project_every = check_int("project_every", project_every, lo=1)
    check_choice("loss_average", loss_average, ("sample", "batch"))
    if callback is not None:
        check_callable("callback", callback)
    n_rep = getattr(model, "n_replicas", None)
    replicated = n_rep is not None
    gens = list(generator) if isinstance(generator, (list, tuple)) else [generator]
    if replicated and len(gens) != n_rep:
        raise ValueError(f"generator must be a list of {n_rep} generators for an ensemble "
                         f"of {n_rep} replicas, got {len(gens)}")
    device = resolve_device(device)
    model.to(device)
    xtr, ytr = (t.to(device) for t in train_data)
    if test_data is not None:
        xte, yte = (t.to(device) for t in test_data)
    params = parameters if parameters is not None else \
        [p for p in model.parameters() if p.requires_grad]
    opt = make_optimizer(params, optimizer, lr, weight_decay=weight_decay, momentum=momentum)
    opt_params = [p for group in opt.param_groups for p in group["params"]]
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs) if cosine else None
    n = xtr.shape[0]
    shape = (epochs + 1, n_rep) if replicated else (epochs + 1,)
    hist = {k: np.full(shape, np.nan) for k in ("train_loss", "test_loss", "test_acc")}
    hist["lr"] = np.full(epochs + 1, np.nan)
    alive = np.ones(n_rep if replicated else 1, dtype=bool)

    def _record(epoch: int, train_loss) -> dict:
        mask = alive if replicated else slice(None)
        hist["train_loss"][epoch] = np.where(alive, train_loss, np.nan) if replicated \
            else train_loss
        hist["lr"][epoch] = opt.param_groups[0]["lr"]
        if test_data is not None:
            loss, acc = evaluate(model, xte, yte, task)
            hist["test_loss"][epoch] = np.where(mask, loss, np.nan) if replicated else loss
            hist["test_acc"][epoch] = np.where(mask, acc, np.nan) if replicated else acc
        return {k: np.nanmean(v[epoch]) if np.any(np.isfinite(v[epoch])) else np.nan
                for k, v in hist.items()}

    plan = FusedProjection(model) if project else None
    if plan:                               # nothing to project (e.g. UV): no hook at all
        if project_init:
            plan()
        if project_every == 1:
            plan.attach(opt)
        else:
            steps = [0]

            def _every(*_args):
                steps[0] += 1
                if steps[0] % project_every == 0:
                    plan()

            opt.register_step_post_hook(_every)
    _record(0, evaluate(model, xtr, ytr, task)[0])
    model.train()
    done = epochs
    for epoch in range(1, epochs + 1):
        if replicated:
            perm = torch.stack([torch.randperm(n, generator=g) for g in gens]).to(device)
            total = torch.zeros(n_rep, dtype=torch.float64, device=device)
        else:
            perm = torch.randperm(n, generator=gens[0]).to(device)
            total = torch.zeros((), dtype=torch.float64, device=device)
        n_batches = 0
        for i in range(0, n, batch_size):
            idx = perm[..., i:i + batch_size]
            for p in opt_params:           # = opt.zero_grad(set_to_none=True), less overhead
                p.grad = None
            losses = _losses(model(xtr[idx]), ytr[idx], task, replicated)
            losses.sum().backward()
            opt.step()                     # projections: a step post-hook (fused)
            weight = idx.shape[-1] if loss_average == "sample" else 1
            total += losses.detach().double() * weight
            n_batches += 1
        denom = n if loss_average == "sample" else n_batches
        train_loss = (total / denom).cpu().numpy()
        bad = ~np.isfinite(train_loss) | (np.nan_to_num(train_loss, nan=np.inf) > blowup)
        alive &= ~np.atleast_1d(bad)
        if not alive.any():
            hist["train_loss"][epoch] = np.nan
            done = epoch
            break
        state = _record(epoch, train_loss if replicated else float(train_loss))
        if sched is not None:
            sched.step()
        if callback is not None:
            callback(epoch, state)
    model.eval()
    n_bad = int((~alive).sum())
    if n_bad:
        status = "diverged"
        message = (f"{n_bad} of {alive.size} replicas diverged" if replicated
                   else f"training loss blew up at epoch {done}")
    else:
        status, message = "max_iter", f"{epochs} epochs"
    return SolverResult(x=model, history=hist, status=status, message=message, n_iter=done)


def final_average(history: np.ndarray, last: int):
    """Mean of the last ``last`` epochs of a history (the paper's metric averaging):
    a float, or one value per replica for a 2-D history; ``nan`` where a run diverged."""
    last = check_int("last", last, lo=1)
    h = np.asarray(history, dtype=float)[1:][-last:]
    return np.mean(h, axis=0) if h.ndim == 2 else float(np.mean(h))


def tqdm_callback(total: int, desc: str = "epochs"):
    """A ``callback`` that drives a tqdm progress bar (for the CLI / interactive use)."""
    from tqdm.auto import tqdm

    bar = tqdm(total=total, desc=desc, leave=False)

    def cb(epoch: int, state: dict) -> None:
        bar.update(1)
        bar.set_postfix(test_loss=f"{state['test_loss']:.4g}")
        if epoch >= total:
            bar.close()

    return cb


# --------------------------------------------------------------------------- protocols
@dataclass(frozen=True)
class Protocol:
    r"""A training protocol of the UDV part: how the learning rate is set and scheduled,
    when the projections run, how the data are split and the training loss averaged.

    Two presets (:data:`PROTOCOLS`):

    ``"authors"`` -- the authors' code (Titanium-H/UDV, ``UDVNetwork/``, FOUND-code): Adam at a
    **constant** rate (``lrs``: 1e-4 for the regression tasks HPART/NYCTTD, 1e-6 for the
    MNIST/CIFAR backbones, 1e-3 for UDV-ReLU), no schedule, projection only *after* each
    optimizer step (never at initialisation), train split ``int(0.8 n)``, epoch training loss
    = unweighted mean of the batch means; their budgets in ``budgets``.

    ``"tuned"`` -- this book's earlier protocol: the LR tuned per (model, optimizer) on a grid,
    cosine annealing, projection also at initialisation, split ``n - round(0.2 n)``, training
    loss weighted by samples.
    """

    name: str
    cosine: bool
    project_init: bool
    loss_average: str
    split: str
    lrs: dict | None = None
    project_every: int = 1
    budgets: dict | None = None
    description: str = ""

    def lr(self, family: str) -> float:
        """The constant rate of a task family (``"regression"``, ``"backbone"``, ``"udv-relu"``)."""
        if self.lrs is None:
            raise ValueError(f"protocol {self.name!r} tunes its learning rates (no constant rate)")
        if family not in self.lrs:
            raise ValueError(f"family must be one of {sorted(self.lrs)}, got {family!r}")
        return float(self.lrs[family])

    def train_kwargs(self) -> dict:
        """The keyword arguments of :func:`train` that the protocol fixes."""
        return dict(cosine=self.cosine, project_init=self.project_init,
                    loss_average=self.loss_average, project_every=self.project_every)


#: The authors' constant Adam rates (FOUND-code: notebooks 01/02 at 1e-4, 04/05 backbones at
#: 1e-6, 06/07 UDV-ReLU at 1e-3; issue 14).
AUTHORS_LRS = {"regression": 1e-4, "backbone": 1e-6, "udv-relu": 1e-3}
#: The authors' budgets: (epochs, seeds) per task (FOUND-code; issue 14).
AUTHORS_BUDGETS = {"house-prices": (200, 1000), "nyc-taxi": (50, 100), "udv-relu": (100, 50),
                   "mnist": (70, 1)}

#: The two protocols of the UDV part, by name (see :class:`Protocol`).
PROTOCOLS: dict[str, Protocol] = {
    "authors": Protocol("authors", cosine=False, project_init=False, loss_average="batch",
                        split="floor", lrs=AUTHORS_LRS, budgets=AUTHORS_BUDGETS,
                        description="constant Adam rate, projection after steps only, "
                                    "int(0.8 n) split, mean of batch means"),
    "tuned": Protocol("tuned", cosine=True, project_init=True, loss_average="sample",
                      split="round", description="LR tuned on a grid, cosine annealing, "
                                                  "projection also at initialisation"),
}


def get_protocol(protocol: str | Protocol) -> Protocol:
    """A :class:`Protocol` by name (``"authors"``, ``"tuned"``) or as given."""
    if isinstance(protocol, Protocol):
        return protocol
    if protocol not in PROTOCOLS:
        raise ValueError(f"protocol must be one of {sorted(PROTOCOLS)}, got {protocol!r}")
    return PROTOCOLS[protocol]
