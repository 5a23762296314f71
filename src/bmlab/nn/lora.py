r"""LoRA and LoRA-UDV adapters, and energy-threshold SVD pruning (paper 001 B.7, spec 001 §6).

LoRA (scale 1, FOUND-code): :math:`h = W_0x + b_0 + BAx` with :math:`W_0, b_0` frozen,
:math:`A\in\mathbb R^{r\times d_{in}}`, :math:`B\in\mathbb R^{d_{out}\times r}`.
LoRA-UDV: :math:`h = W_0x + b_0 + B\,\operatorname{diag}(d)\,Ax` trained under
:math:`\|A\|_F\le1`, :math:`\|B\|_F\le1`, :math:`d\ge0` (projected after every step; ``r``
more parameters per layer). Both start from :math:`A_{ij}\sim\mathcal N(0, 0.01^2)`,
:math:`B=0`, :math:`D=I` (FOUND-code).

Energy pruning (FOUND-code): with :math:`A^\top D = P\Sigma Q^\top`, keep the smallest ``k``
with :math:`\sum_{i\le k}\sigma_i^2\ge\tau\sum_i\sigma_i^2`, set :math:`A'=P_k^\top`,
:math:`D'=\Sigma_k`, :math:`B'=BQ_k`. Plain LoRA is pruned the same way with a frozen
:math:`D=I` (its :math:`\Sigma_k` is then folded into :math:`B'`).
"""
from __future__ import annotations

import copy

import numpy as np
import torch
from torch import nn

from bmlab.nn.layers import frobenius_project_
from bmlab.validation import check_bool, check_int, check_real


class LoRALinear(nn.Module):
    """A frozen ``nn.Linear`` plus a trainable rank-``r`` adapter (drop-in replacement).

    Parameters
    ----------
    base : nn.Linear
        The pretrained layer; its parameters are frozen (``requires_grad = False``).
    rank : int
    udv : bool
        ``True``: LoRA-UDV (trainable diagonal ``d``, projections); ``False``: plain LoRA.
    init_std : float
        Standard deviation of ``A`` at start (0.01).
    generator : torch.Generator, optional
    """

    def __init__(self, base: nn.Linear, rank: int, *, udv: bool = True,
                 init_std: float = 0.01, generator: torch.Generator | None = None) -> None:
        super().__init__()
        if not isinstance(base, nn.Linear):
            raise TypeError(f"base must be an nn.Linear, got {type(base).__name__}")
        if not isinstance(rank, (int, np.integer)) or not 1 <= rank <= min(base.in_features,
                                                                          base.out_features):
            raise ValueError(f"rank must be an integer in [1, {min(base.in_features, base.out_features)}],"
                             f" got {rank!r}")
        check_bool("udv", udv)
        check_real("init_std", init_std, lo=0)
        self.base = base
        for p in self.base.parameters():
            p.requires_grad_(False)
        self.udv = bool(udv)
        dev = base.weight.device
        a = torch.empty(rank, base.in_features)
        with torch.no_grad():
            a.normal_(0.0, init_std, generator=generator)
        self.A = nn.Parameter(a.to(dev))
        self.B = nn.Parameter(torch.zeros(base.out_features, rank, device=dev))
        if self.udv:
            self.d = nn.Parameter(torch.ones(rank, device=dev))
        else:
            self.register_buffer("d", torch.ones(rank, device=dev))
        self.project_()

    @property
    def rank(self) -> int:
        return int(self.A.shape[0])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.base(x) + ((x @ self.A.T) * self.d) @ self.B.T

    @torch.no_grad()
    def project_(self) -> None:
        """LoRA-UDV's projections (nothing for plain LoRA)."""
        if self.udv:
            frobenius_project_(self.A)
            frobenius_project_(self.B)
            self.d.clamp_(min=0.0)

    def projection_groups(self) -> list:
        """The tensors :meth:`project_` acts on (for :class:`~bmlab.nn.layers.FusedProjection`)."""
        from bmlab.nn.layers import ProjectionGroup

        if not self.udv:
            return []
        return [ProjectionGroup("frobenius", (self.A, self.B)),
                ProjectionGroup("nonneg", (self.d,))]

    def n_trainable(self) -> int:
        """Trainable parameters of the adapter: r (d_in + d_out) (+ r for LoRA-UDV)."""
        r, (dout, din) = self.rank, self.base.weight.shape
        return r * (din + dout) + (r if self.udv else 0)

    @torch.no_grad()
    def spectrum(self) -> np.ndarray:
        """Singular values of ``A^T D`` (the adapter's "UD")."""
        m = (self.A.detach().double().cpu().T * self.d.detach().double().cpu()[None, :])
        if not torch.isfinite(m).all():
            return np.full(min(m.shape), np.nan)
        return np.linalg.svd(m.numpy(), compute_uv=False)

    @torch.no_grad()
    def energy_prune_(self, tau: float) -> int:
        """Prune in place to the smallest ``k`` keeping a fraction ``tau`` of the energy
        (sum of squared singular values); returns ``k``."""
        if not 0 < tau <= 1:
            raise ValueError(f"tau must be in (0, 1], got {tau!r}")
        m = self.A.detach().double().T * self.d.detach().double()[None, :]
        p, s, qt = torch.linalg.svd(m, full_matrices=False)
        energy = torch.cumsum(s ** 2, 0)
        total = float(energy[-1])
        if total <= 0:
            k = 1
        else:
            k = int(torch.searchsorted(energy / total, torch.tensor(tau - 1e-12,
                                                                      dtype=torch.float64)))
            k = min(max(k + 1, 1), s.numel())
        dt = self.A.dtype
        b = self.B.detach().double() @ qt.T[:, :k]
        self.A = nn.Parameter(p[:, :k].T.to(dt).contiguous())
        if self.udv:
            self.d = nn.Parameter(s[:k].to(dt))
            self.B = nn.Parameter(b.to(dt))
        else:   # fold Sigma_k into B, keep the frozen identity diagonal
            self.B = nn.Parameter((b * s[:k][None, :]).to(dt))
            self.d = torch.ones(k, dtype=dt, device=self.A.device)
        return k


def apply_lora(model: nn.Module, rank: int, *, udv: bool = True, init_std: float = 0.01,
               generator: torch.Generator | None = None, names=None) -> list[LoRALinear]:
    """Replace every ``nn.Linear`` of ``model`` (or those whose qualified name is in
    ``names``) by a :class:`LoRALinear`; freeze everything else. Returns the adapters."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    rank = check_int("rank", rank, lo=1)
    check_bool("udv", udv)
    check_real("init_std", init_std, lo=0)
    for p in model.parameters():
        p.requires_grad_(False)
    targets = [(n, m) for n, m in model.named_modules()
               if isinstance(m, nn.Linear) and (names is None or n in names)]
    if not targets:
        raise ValueError("no nn.Linear layer to adapt" + (f" among {names}" if names else ""))
    out = []
    for name, lin in targets:
        adapter = LoRALinear(lin, min(rank, lin.in_features, lin.out_features), udv=udv,
                             init_std=init_std, generator=generator)
        parent_name, _, attr = name.rpartition(".")
        parent = model.get_submodule(parent_name) if parent_name else model
        if attr.isdigit():
            parent[int(attr)] = adapter
        else:
            setattr(parent, attr, adapter)
        out.append(adapter)
    return out


def adapters(model: nn.Module) -> list[LoRALinear]:
    return [m for m in model.modules() if isinstance(m, LoRALinear)]


def energy_pruned(model: nn.Module, tau: float) -> tuple[nn.Module, float]:
    """A pruned copy of ``model`` (every adapter pruned at threshold ``tau``) and its
    compression ratio = trainable adapter parameters after / before."""
    tau = check_real("tau", tau, lo=0, hi=1, lo_open=True)
    if not adapters(model):
        raise ValueError("model must contain LoRALinear adapters (see apply_lora), found none")
    before = sum(a.n_trainable() for a in adapters(model))
    pruned = copy.deepcopy(model)
    for a in adapters(pruned):
        a.energy_prune_(tau)
    after = sum(a.n_trainable() for a in adapters(pruned))
    return pruned, after / before
