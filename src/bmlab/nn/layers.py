r"""Two- and three-layer blocks with a diagonal core: UV, UDV and their variants (paper 001, §3).

The UDV block (eq. (4) of the paper, FOUND in spec 001 §5.1) is

.. math::  h(x) = V\,D\,U^\top x = \sum_{j=1}^r w_j\, v_j\, u_j^\top x,
           \qquad U\in\mathbb R^{d\times r},\ D=\operatorname{diag}(w),\ V\in\mathbb R^{c\times r},

trained under the constraints of problem (5): :math:`\|U\|_F\le 1`, :math:`\|V\|_F\le 1`,
:math:`w\ge 0`, enforced by a projection after every optimizer step (FOUND-code:
``Matrix_bothside(normLim=1)`` and a clamp of the diagonal).

In torch terms ``fc1.weight`` is :math:`U^\top` (``r x d``, row ``j`` = incoming weights
:math:`u_j` of hidden unit ``j``), ``diag.weight`` is :math:`w` and ``fc2.weight`` is
:math:`V` (``c x r``, column ``j`` = outgoing weights :math:`v_j`). No layer has a bias
(FOUND-code: ``nn.Linear(..., bias=False)``).

Variants (:data:`MODELS`; spec 001 §5.2, paper B.2, B.4, B.5):

==========================  =====================================  ==============  ========
model                       map                                    U, V            D
==========================  =====================================  ==============  ========
``uv``                      :math:`VU^\top x`                      free            --
``udv``                     :math:`VDU^\top x`                     Frobenius <= 1  w >= 0
``udv-s``                   :math:`VDU^\top x`                     Frobenius <= 1  free
``udv-v1``                  :math:`VDU^\top x`                     each u_j, v_j   w >= 0
``udv-v2``                  :math:`VDU^\top x`                     each u_j, v_j   free
``udv-unconstrained``       :math:`VDU^\top x`                     free            free
``ufv``                     :math:`VFU^\top x`, F dense r x r      free            --
``uv-relu``                 :math:`V\sigma(U^\top x)`              free            --
``relu-constrained``        :math:`V\sigma(U^\top x)`              Frobenius <= 1  --
``udv-relu``                :math:`V\sigma(DU^\top x)`             Frobenius <= 1  w >= 0
``udv-relu-s``              :math:`V\sigma(DU^\top x)`             Frobenius <= 1  free
==========================  =====================================  ==============  ========

(``udv-v1``/``udv-v2``: :math:`\|u_j\|_2\le1` and :math:`\|v_j\|_2\le1` for every hidden unit.)
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from bmlab.validation import check_int, check_real


@dataclass(frozen=True)
class ModelSpec:
    """What a model name means: its layers and the projections applied after each step."""

    diag: bool = False          # a diagonal layer D = diag(w) between U and V
    mid: bool = False           # a dense r x r layer F between U and V (UFV)
    relu: bool = False          # ReLU on the hidden representation (after D when present)
    norm: str | None = None     # None, "frobenius" (||U||_F, ||V||_F <= 1) or "rows" (per unit)
    nonneg: bool = False        # w >= 0


#: Every model of the part, by name.
MODELS: dict[str, ModelSpec] = {
    "uv": ModelSpec(),
    "udv": ModelSpec(diag=True, norm="frobenius", nonneg=True),
    "udv-s": ModelSpec(diag=True, norm="frobenius"),
    "udv-v1": ModelSpec(diag=True, norm="rows", nonneg=True),
    "udv-v2": ModelSpec(diag=True, norm="rows"),
    "udv-unconstrained": ModelSpec(diag=True),
    "ufv": ModelSpec(mid=True),
    "uv-relu": ModelSpec(relu=True),
    "relu-constrained": ModelSpec(relu=True, norm="frobenius"),
    "udv-relu": ModelSpec(diag=True, relu=True, norm="frobenius", nonneg=True),
    "udv-relu-s": ModelSpec(diag=True, relu=True, norm="frobenius"),
}

INITS = ("uniform", "trunc_normal")


def check_model(model: str) -> ModelSpec:
    """The :class:`ModelSpec` of ``model``; ``ValueError`` naming the valid names otherwise."""
    if model not in MODELS:
        raise ValueError(f"model must be one of {sorted(MODELS)}, got {model!r}")
    return MODELS[model]


def huang_width(d: int, c: int) -> int:
    r"""Hidden width of Huang (2003) as used by the authors (spec 001 §5.4, FOUND-code).

    .. math::  r = \operatorname{round}\big(\sqrt{(c+2)d} + 2\sqrt{d/(c+2)}\big)

    with ``d`` input features and ``c`` outputs (Huang's formula has the number of samples
    where the authors' code puts ``d``). ``huang_width(79, 1) == 26`` and
    ``huang_width(12, 1) == 10`` reproduce the paper's 79-26-1 and 12-10-1 networks.
    """
    d, c = check_int("d", d), check_int("c", c)
    if d < 1 or c < 1:
        raise ValueError(f"d and c must be positive integers, got d={d!r}, c={c!r}")
    return int(round(math.sqrt((c + 2) * d) + 2.0 * math.sqrt(d / (c + 2))))


def frobenius_project_(weight: torch.Tensor, radius: float = 1.0) -> None:
    r"""In place :math:`W \leftarrow W/\max(1, \|W\|_F/\rho)` (projection on the ball;
    a division by the norm, not a multiplication by its reciprocal: one rounding, and the
    same arithmetic as :class:`FusedProjection`)."""
    norm = torch.linalg.vector_norm(weight)
    if norm > radius:
        weight.div_(norm / radius)


def rows_project_(weight: torch.Tensor, dim: int, radius: float = 1.0) -> None:
    """In place: every slice along ``dim`` (a hidden unit's weights) into the ball of ``radius``."""
    norms = torch.linalg.vector_norm(weight, dim=dim, keepdim=True)
    weight.mul_(torch.clamp(radius / norms.clamp_min(1e-30), max=1.0))


@dataclass(frozen=True)
class ProjectionGroup:
    """Tensors that share one projection.

    ``kind``: ``"frobenius"`` (each tensor into the unit Frobenius ball; with ``batched``, each
    slice along the leading replica dimension), ``"rows"`` (each slice along ``dims[i]`` of
    tensor ``i`` into the unit ball) or ``"nonneg"`` (clamp at 0)."""

    kind: str
    tensors: tuple
    dims: tuple = ()
    batched: bool = False


def _groups(spec: ModelSpec, uv: tuple, row_dims: tuple, w, *, batched: bool) -> list:
    out = []
    if spec.norm == "frobenius":
        out.append(ProjectionGroup("frobenius", tuple(uv), batched=batched))
    elif spec.norm == "rows":
        out.append(ProjectionGroup("rows", tuple(uv), dims=tuple(row_dims), batched=batched))
    if spec.nonneg and w is not None:
        out.append(ProjectionGroup("nonneg", (w,), batched=batched))
    return out


class FusedProjection:
    r"""Every projection of a model, compiled once into a few batched in-place ops.

    Collects the :class:`ProjectionGroup` s of every submodule that has
    ``projection_groups()`` (modules with only a ``project_()`` method -- e.g. a swapped
    classifier head -- keep it, called as is). A call then applies, with no walk over the
    modules: for all whole-tensor Frobenius balls together, ``torch._foreach_norm``, one
    ``_foreach`` clamp and one ``_foreach`` division (:math:`W \leftarrow W/\max(1,\|W\|_F)`,
    bitwise the same as :func:`frobenius_project_`); for stacked replicas, one norm over the
    non-replica dimensions and one in-place division per tensor; one
    ``_foreach_clamp_min_`` for every :math:`w\ge 0`. Grad mode is switched off by hand
    (no ``torch.no_grad`` context: it costs as much as one op here). :meth:`attach` registers it as a step post-hook of an optimizer, so that
    ``optimizer.step()`` is "update, then project" in one call (the authors' order).
    """

    def __init__(self, model: nn.Module) -> None:
        self.frob, self.frob_batched, self.rows, self.nonneg, self.other = [], [], [], [], []
        for m in model.modules():
            get = getattr(m, "projection_groups", None)
            if callable(get):
                for g in get():
                    if g.kind == "frobenius" and g.batched:
                        self.frob_batched += list(g.tensors)
                    elif g.kind == "frobenius":
                        self.frob += list(g.tensors)
                    elif g.kind == "rows":
                        self.rows += list(zip(g.tensors, g.dims))
                    elif g.kind == "nonneg":
                        self.nonneg += list(g.tensors)
                    else:
                        raise ValueError(f"unknown projection kind {g.kind!r}")
            elif callable(getattr(m, "project_", None)):
                self.other.append(m.project_)

    def __len__(self) -> int:
        return (len(self.frob) + len(self.frob_batched) + len(self.rows) + len(self.nonneg)
                + len(self.other))

    def __call__(self, *_args) -> None:
        # grad mode off by hand: the decorator/context manager ``torch.no_grad`` costs about
        # as much as one of the ops below at the chapters' sizes (called after every step)
        prev = torch.is_grad_enabled()
        torch._C._set_grad_enabled(False)
        try:
            self._project()
        finally:
            torch._C._set_grad_enabled(prev)

    def _project(self) -> None:
        if self.frob:
            norms = torch._foreach_norm(self.frob)
            torch._foreach_clamp_min_(norms, 1.0)
            torch._foreach_div_(self.frob, norms)
        for p in self.frob_batched:
            norm = torch.linalg.vector_norm(p, dim=tuple(range(1, p.ndim)), keepdim=True)
            p.div_(norm.clamp_min_(1.0))
        for p, dim in self.rows:
            rows_project_(p, dim=dim)
        if self.nonneg:
            torch._foreach_clamp_min_(self.nonneg, 0.0)
        for fn in self.other:
            fn()

    def attach(self, optimizer: torch.optim.Optimizer):
        """Run this projection at the end of every ``optimizer.step()``; returns the hook
        handle (``handle.remove()`` detaches it)."""
        return optimizer.register_step_post_hook(lambda opt, args, kwargs: self())


class Diagonal(nn.Module):
    """The diagonal layer ``x -> w * x`` (a vector of ``r`` weights)."""

    def __init__(self, width: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(check_int("width", width, lo=1)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.weight

    def extra_repr(self) -> str:
        return f"width={self.weight.shape[0]}"


def _init_uniform_(w: torch.Tensor, fan_in: int, generator: torch.Generator | None) -> None:
    bound = 1.0 / math.sqrt(fan_in)
    with torch.no_grad():
        w.uniform_(-bound, bound, generator=generator)


class FactorNet(nn.Module):
    r"""A UV / UDV / UFV block and its variants (see the module docstring).

    Parameters
    ----------
    d_in, width, d_out : int
        :math:`d`, :math:`r`, :math:`c`.
    model : str
        A name of :data:`MODELS`.
    init : {"uniform", "trunc_normal"}
        ``"uniform"``: PyTorch's default :math:`\mathcal U(\pm\text{fan\_in}^{-1/2})` for
        every layer including ``w`` (the authors' regression/MNIST code, FOUND-code
        ``udvSameInit.py``). ``"trunc_normal"``: truncated normal (std ``init_std``) for the
        dense layers and :math:`D=I` (the CIFAR heads of v2, FOUND in the text; the std is
        UNKNOWN, 0.02 as in timm is our choice).
    generator : torch.Generator, optional
        Source of the initial draws. The draws are taken in the fixed order ``U, w, F, V``,
        whatever the model, so every model built from equal generators shares ``U`` and
        ``V`` ("the same draws for every model", FOUND-code).
    project_init : bool
        Project the initial draws onto the constraint set (``True``, the tuned protocol) or
        leave them as drawn (``False``: the authors' code projects only after each optimizer
        step, FOUND-code ``udvRegMatrixUWV.py``).
    """

    def __init__(self, d_in: int, width: int, d_out: int, *, model: str = "udv",
                 init: str = "uniform", init_std: float = 0.02,
                 generator: torch.Generator | None = None, project_init: bool = True) -> None:
        super().__init__()
        for name, val in (("d_in", d_in), ("width", width), ("d_out", d_out)):
            if not isinstance(val, (int, np.integer)) or val < 1:
                raise ValueError(f"{name} must be a positive integer, got {val!r}")
        if init not in INITS:
            raise ValueError(f"init must be one of {INITS}, got {init!r}")
        check_real("init_std", init_std, lo=0, lo_open=True)
        if generator is not None and not isinstance(generator, torch.Generator):
            raise TypeError(f"generator must be a torch.Generator or None, got {type(generator).__name__}")
        self.model = model
        self.spec = check_model(model)
        self.d_in, self.width, self.d_out = int(d_in), int(width), int(d_out)
        self.fc1 = nn.Linear(self.d_in, self.width, bias=False)
        self.diag = Diagonal(self.width) if self.spec.diag else None
        self.mid = nn.Linear(self.width, self.width, bias=False) if self.spec.mid else None
        self.fc2 = nn.Linear(self.width, self.d_out, bias=False)
        self.reset_parameters(init=init, init_std=init_std, generator=generator)
        # Linear diagonal block (no F, no ReLU): D is folded into the smaller of the two
        # factors, V (c x r) or U^T (r x d) -- one broadcast multiply of the fewest entries,
        # and, into V, no reshape of w (fewer autograd nodes); see :meth:`forward`.
        self._fold_v = self.spec.diag and not self.spec.mid and not self.spec.relu \
            and self.d_out <= self.d_in
        if project_init:
            self.project_()

    # ------------------------------------------------------------------ init / forward
    def reset_parameters(self, *, init: str = "uniform", init_std: float = 0.02,
                         generator: torch.Generator | None = None) -> None:
        """Draw the weights (order ``U, w, F, V``; see the class docstring)."""
        with torch.no_grad():
            if init == "uniform":
                _init_uniform_(self.fc1.weight, self.d_in, generator)
                w = torch.empty(self.width)
                _init_uniform_(w, self.width, generator)
                f = torch.empty(self.width, self.width)
                _init_uniform_(f, self.width, generator)
                _init_uniform_(self.fc2.weight, self.width, generator)
            else:
                nn.init.trunc_normal_(self.fc1.weight, std=init_std, a=-2 * init_std,
                                      b=2 * init_std, generator=generator)
                w = torch.ones(self.width)
                f = torch.empty(self.width, self.width)
                nn.init.trunc_normal_(f, std=init_std, a=-2 * init_std, b=2 * init_std,
                                      generator=generator)
                nn.init.trunc_normal_(self.fc2.weight, std=init_std, a=-2 * init_std,
                                      b=2 * init_std, generator=generator)
            if self.diag is not None:
                self.diag.weight.copy_(w)
            if self.mid is not None:
                self.mid.weight.copy_(f)

    def hidden(self, x: torch.Tensor) -> torch.Tensor:
        """The hidden representation (input of ``fc2``). Without ``F``, the diagonal is folded
        into the ``r x d`` weight (:math:`(DU^\top)x`, cheaper than scaling the ``n x r``
        activations, the same map)."""
        w1 = self.fc1.weight
        fold = self.diag is not None and self.mid is None
        if fold:
            w1 = w1 * self.diag.weight.unsqueeze(1)
        z = nn.functional.linear(x, w1)
        if self.mid is not None:
            z = nn.functional.linear(z, self.mid.weight)
        if self.diag is not None and not fold:
            z = z * self.diag.weight
        if self.spec.relu:
            z = torch.relu(z)
        return z

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self._fold_v:          # V D U^T x = (V D)(U^T x): D scales the columns of V
            return nn.functional.linear(nn.functional.linear(x, self.fc1.weight),
                                        self.fc2.weight * self.diag.weight)
        return nn.functional.linear(self.hidden(x), self.fc2.weight)

    # ------------------------------------------------------------------ constraints
    @torch.no_grad()
    def project_(self) -> None:
        """Apply the model's projections in place (call after every optimizer step)."""
        spec = self.spec
        if spec.norm == "frobenius":
            frobenius_project_(self.fc1.weight)
            frobenius_project_(self.fc2.weight)
        elif spec.norm == "rows":
            rows_project_(self.fc1.weight, dim=1)   # row j of U^T = u_j
            rows_project_(self.fc2.weight, dim=0)   # column j of V = v_j
        if spec.nonneg and self.diag is not None:
            self.diag.weight.clamp_(min=0.0)

    def projection_groups(self) -> list[ProjectionGroup]:
        """The tensors :meth:`project_` acts on, grouped by projection (for
        :class:`FusedProjection`)."""
        return _groups(self.spec, (self.fc1.weight, self.fc2.weight), (1, 0),
                       self.diag.weight if self.diag is not None else None, batched=False)

    @torch.no_grad()
    def constraint_violation(self) -> float:
        """Largest violation of the model's constraints (0 when feasible)."""
        spec, out = self.spec, 0.0
        if spec.norm == "frobenius":
            for w in (self.fc1.weight, self.fc2.weight):
                out = max(out, float(torch.linalg.vector_norm(w)) - 1.0)
        elif spec.norm == "rows":
            out = max(out, float(torch.linalg.vector_norm(self.fc1.weight, dim=1).max()) - 1)
            out = max(out, float(torch.linalg.vector_norm(self.fc2.weight, dim=0).max()) - 1)
        if spec.nonneg and self.diag is not None:
            out = max(out, float(-self.diag.weight.min()))
        return max(out, 0.0)

    # ------------------------------------------------------------------ spectra / pruning
    @torch.no_grad()
    def hidden_factor(self) -> np.ndarray:
        r"""The ``d x r`` matrix :math:`M` with hidden pre-activation :math:`M^\top x`.

        :math:`U` for UV, :math:`UD` for the diagonal models and :math:`UF^\top` for UFV:
        the layer the paper's spectra are taken of ("the U (classical) and UD (proposed)
        layers, which generate the main data representation"). float64.
        """
        m = self.fc1.weight.detach().double().cpu().T.clone()      # U, d x r
        if self.mid is not None:
            m = m @ self.mid.weight.detach().double().cpu().T     # U F^T
        if self.diag is not None:
            m = m * self.diag.weight.detach().double().cpu()[None, :]
        return m.numpy()

    def spectrum(self) -> np.ndarray:
        """Singular values of :meth:`hidden_factor`, descending (all ``nan`` if the weights
        are not finite, e.g. after a diverged run)."""
        return _spectrum(self.hidden_factor())


def _spectrum(m: np.ndarray) -> np.ndarray:
    if not np.all(np.isfinite(m)):
        return np.full(min(m.shape), np.nan)
    return np.linalg.svd(m, compute_uv=False)


class FactorEnsemble(nn.Module):
    r"""``S`` independent :class:`FactorNet` replicas stored as stacked tensors.

    Every optimizer of the paper (Adam, NAdam, SGD, SGD with momentum, and L2 weight decay)
    acts elementwise, so training the stacked tensors on the *sum* of the replicas' losses,
    each replica on its own mini-batches, is exactly ``S`` separate training runs, done in
    one loop with batched matrix products (one run per seed at the cost of about one).
    Replica ``i`` starts from the same weights as ``FactorNet(..., generator=generators[i])``.

    ``forward`` takes ``x`` of shape ``(S, n, d)`` (or ``(n, d)``, shared by all replicas)
    and returns ``(S, n, c)``. :meth:`member` returns replica ``i`` as a :class:`FactorNet`.

    ``trunk``: an optional ``nn.Linear`` (the top layer of a pretrained backbone) copied
    into every replica and trained with it, followed by a ReLU: the block then computes
    ``FactorNet(relu(trunk(x)))`` and ``d_in`` is ``trunk.out_features``.
    """

    def __init__(self, d_in: int, width: int, d_out: int, *, model: str = "udv",
                 generators: list[torch.Generator], init: str = "uniform",
                 init_std: float = 0.02, trunk: nn.Linear | None = None,
                 project_init: bool = True) -> None:
        super().__init__()
        if trunk is not None:
            if trunk.out_features != d_in:
                raise ValueError(f"trunk.out_features ({trunk.out_features}) must equal "
                                 f"d_in ({d_in})")
            S = len(generators)
            self.T = nn.Parameter(trunk.weight.detach().clone().repeat(S, 1, 1))
            tb = trunk.bias.detach() if trunk.bias is not None else torch.zeros(d_in)
            self.tb = nn.Parameter(tb.clone().repeat(S, 1))
        else:
            self.T = self.tb = None
        if len(generators) < 1:
            raise ValueError("generators must hold one torch.Generator per replica")
        members = [FactorNet(d_in, width, d_out, model=model, init=init, init_std=init_std,
                             generator=g, project_init=project_init) for g in generators]
        self.model, self.spec = model, members[0].spec
        self.d_in, self.width, self.d_out = members[0].d_in, members[0].width, members[0].d_out
        self.n_replicas = len(members)
        stack = lambda get: nn.Parameter(torch.stack([get(m).detach().clone() for m in members]))
        self.U = stack(lambda m: m.fc1.weight)                            # S x r x d  (U^T)
        self.V = stack(lambda m: m.fc2.weight)                            # S x c x r
        self.w = stack(lambda m: m.diag.weight) if self.spec.diag else None   # S x r
        self.F = stack(lambda m: m.mid.weight) if self.spec.mid else None     # S x r x r
        self._fold_v = members[0]._fold_v       # D folded into V (see FactorNet.forward)

    def head_input(self, x: torch.Tensor) -> torch.Tensor:
        """Input of the factor block: ``x`` itself, or ``relu(trunk(x))`` per replica."""
        if self.T is None:
            return x
        if x.ndim == 2:
            z = torch.einsum("nd,shd->snh", x, self.T)
        else:
            z = torch.bmm(x, self.T.transpose(1, 2))
        return torch.relu(z + self.tb[:, None, :])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.head_input(x)
        if self._fold_v:                                       # V D folded (S x c x r)
            z = torch.einsum("nd,srd->snr", x, self.U) if x.ndim == 2 \
                else torch.bmm(x, self.U.transpose(1, 2))
            return torch.bmm(z, (self.V * self.w.unsqueeze(1)).transpose(1, 2))
        fold = self.w is not None and self.F is None
        u = self.U * self.w.unsqueeze(2) if fold else self.U     # D U^T folded (S x r x d)
        if x.ndim == 2:
            z = torch.einsum("nd,srd->snr", x, u)
        else:
            z = torch.bmm(x, u.transpose(1, 2))
        if self.F is not None:
            z = torch.bmm(z, self.F.transpose(1, 2))
        if self.w is not None and not fold:
            z = z * self.w[:, None, :]
        if self.spec.relu:
            z = torch.relu(z)
        return torch.bmm(z, self.V.transpose(1, 2))

    @torch.no_grad()
    def project_(self) -> None:
        """The replicas' projections (same as :meth:`FactorNet.project_`), in place."""
        spec = self.spec
        if spec.norm == "frobenius":
            for p in (self.U, self.V):
                norms = torch.linalg.vector_norm(p, dim=(1, 2), keepdim=True)
                p.div_(norms.clamp_min(1.0))
        elif spec.norm == "rows":
            rows_project_(self.U, dim=2)
            rows_project_(self.V, dim=1)
        if spec.nonneg and self.w is not None:
            self.w.clamp_(min=0.0)

    def projection_groups(self) -> list[ProjectionGroup]:
        """The stacked tensors :meth:`project_` acts on, by projection (per replica)."""
        return _groups(self.spec, (self.U, self.V), (2, 1), self.w, batched=True)

    @torch.no_grad()
    def member(self, i: int) -> FactorNet:
        """Replica ``i`` as a stand-alone :class:`FactorNet` (a copy, on the CPU)."""
        net = FactorNet(self.d_in, self.width, self.d_out, model=self.model,
                        generator=torch.Generator())
        net.fc1.weight.copy_(self.U[i].cpu())
        net.fc2.weight.copy_(self.V[i].cpu())
        if self.w is not None:
            net.diag.weight.copy_(self.w[i].cpu())
        if self.F is not None:
            net.mid.weight.copy_(self.F[i].cpu())
        return net

    def spectra(self) -> np.ndarray:
        """``S x min(d, r)`` singular values of every replica's hidden factor."""
        return np.stack([self.member(i).spectrum() for i in range(self.n_replicas)])


@torch.no_grad()
def svd_prune(net: FactorNet, k: int) -> FactorNet:
    r"""SVD pruning of a linear block to ``k`` hidden neurons (paper §3.1.3, spec 001 §5.3).

    With :math:`M = UD = P\Sigma Q^\top` (``D = I`` for UV, ``D = F^\top``-folded for UFV)
    the pruned block is :math:`U'=P_k`, :math:`D'=\Sigma_k`, :math:`V'=VQ_k`, so that
    :math:`V'D'U'^\top = VQ_k\Sigma_kP_k^\top`. At ``k = rank`` it computes the same function
    (exact up to rounding). No fine-tuning follows (FOUND-code). The result is a
    ``"udv-unconstrained"`` block of width ``k`` (it is only evaluated, not trained: ``P_k``
    has Frobenius norm :math:`\sqrt k`).

    Raises ``ValueError`` for ReLU models, for which this truncation is not the same network.
    """
    if not isinstance(net, FactorNet):
        raise TypeError(f"net must be a FactorNet, got {type(net).__name__}")
    if net.spec.relu:
        raise ValueError(f"svd_prune needs a linear block; model {net.model!r} has a ReLU")
    kmax = min(net.d_in, net.width)
    if not isinstance(k, (int, np.integer)) or not 1 <= k <= kmax:
        raise ValueError(f"k must be an integer in [1, {kmax}], got {k!r}")
    m = torch.from_numpy(net.hidden_factor())
    p, s, qt = torch.linalg.svd(m, full_matrices=False)
    v = net.fc2.weight.detach().double().cpu()
    ref = net.fc1.weight
    out = FactorNet(net.d_in, int(k), net.d_out, model="udv-unconstrained",
                    generator=torch.Generator())
    out.fc1.weight.copy_(p[:, :k].T.to(ref.dtype))
    out.diag.weight.copy_(s[:k].to(ref.dtype))
    out.fc2.weight.copy_((v @ qt.T[:, :k]).to(ref.dtype))
    return out.to(ref.device)


def prune_curve_widths(width: int, rule: str = "all") -> list[int]:
    """Kept widths of a pruning sweep: ``"all"`` = r, r-1, ..., 1 (regression, FOUND-code);
    ``"geometric"`` = r, floor(0.9 r), floor(0.81 r) ... down to 1 (classification)."""
    width = check_int("width", width, lo=1)
    if rule == "all":
        return list(range(width, 0, -1))
    if rule == "geometric":
        out, k = [width], width
        while k > 1:
            k = max(1, min(k - 1, int(math.floor(0.9 * k))))
            out.append(k)
        return out
    raise ValueError(f"rule must be 'all' or 'geometric', got {rule!r}")
