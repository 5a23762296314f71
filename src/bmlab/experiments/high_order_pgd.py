r"""Perturbed gradient descent on random Gaussian sensing, :math:`\lambda = 0` against
:math:`\lambda = 1` (the slides' figure; spec 003 §5, FOUND-code).

Instance: :math:`n = 5`, :math:`r = r^* = 3`, :math:`m = 20`, :math:`A_i = (G_i+G_i^\top)/2`
with :math:`(G_i)_{jk}\sim\mathcal N(0, 0.2^2)`, :math:`M^* = ZZ^\top`, :math:`Z` standard
Gaussian; objective :math:`\frac1m\sum_i[\frac12 r_i^2 + \frac\lambda4 r_i^4]`. Algorithm: GD
with constant step 0.002 for 10 000 iterations from :math:`X_0 \sim \mathcal N(0, 0.1^2)`
(the same :math:`X_0` for both :math:`\lambda`); when :math:`\|\nabla\| < 10^{-3}`, Gaussian
noise of std :math:`10^{-3}` is added to the gradient (the shared loop's ``perturbation``).
Unlike the authors' script every draw is seeded, and the recorded objective is the function
actually minimised (their plotting code uses an element-wise trace, spec 003 §5).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..problems.sensing import HighOrderLoss, gaussian_sensing
from ..solvers.gd import gradient_descent


@dataclass
class PGDParams:
    n: int = 5
    r: int = 3
    m: int = 20
    std: float = 0.2
    eta: float = 0.002
    max_iter: int = 10_000
    threshold: float = 1e-3
    noise: float = 1e-3
    init_std: float = 0.1
    lams: tuple[float, ...] = (0.0, 1.0)
    l: int = 4
    reach_tol: float = 1e-3      # "reached the ground truth": ‖XXᵀ − M*‖_F below this
    stall_tol: float = 1e-1      # "stalled": final ‖XXᵀ − M*‖_F above this ...
    plateau: float = 0.95        # ... and D(end) / D(end/2) above this (no more progress)
    record_every: int = 10

    def __post_init__(self) -> None:
        if self.r < 1 or self.n < 1 or self.m < 1:
            raise ValueError("n, r and m must be positive")
        if not self.eta > 0 or self.max_iter < 1:
            raise ValueError("eta must be positive and max_iter >= 1")


@dataclass
class PGDRun:
    lam: float
    status: str
    iters: np.ndarray             # recorded iterations k
    distance: np.ndarray          # ‖X_k X_kᵀ − M*‖_F at those k
    objective: np.ndarray         # f^l_λ(X_k), the function minimised
    objective_plain: np.ndarray   # f(X_k) = (1/2m)‖A(XXᵀ) − b‖²
    n_perturbed: int
    X: np.ndarray

    @property
    def hit(self) -> int | None:
        """First iteration with distance below the reach tolerance (None if never)."""
        return self._hit

    _hit: int | None = None


@dataclass
class PGDInstance:
    key: int
    problem: HighOrderLoss
    X0: np.ndarray
    runs: dict[float, PGDRun] = field(default_factory=dict)


def make_pgd_instance(p: PGDParams, rng: np.random.Generator, key: int = 0) -> PGDInstance:
    """Draw the sensing matrices, the ground truth and the start (in this order)."""
    op = gaussian_sensing(p.n, p.m, rng, std=p.std)
    Z = rng.standard_normal((p.n, p.r))
    X0 = p.init_std * rng.standard_normal((p.n, p.r))
    prob = HighOrderLoss(op, Z @ Z.T, lam=0.0, l=p.l, scale=1.0 / p.m, Z=Z)
    return PGDInstance(key=key, problem=prob, X0=X0)


def run_pgd(inst: PGDInstance, lam: float, p: PGDParams, rng: np.random.Generator) -> PGDRun:
    """One perturbed-GD run on ``inst`` with this ``lam``."""
    P = inst.problem.with_lam(lam)
    iters, dist, plain, obj = [0], [P.distance(inst.X0)], [P.base_value(inst.X0)], [P.value(inst.X0)]
    pert = [0]

    def cb(k, X):
        if k % p.record_every == 0:
            iters.append(k)
            dist.append(P.distance(X))
            plain.append(P.base_value(X))
            obj.append(P.value(X))

    def grad(X):
        g = P.grad(X)
        if np.linalg.norm(g) < p.threshold:
            pert[0] += 1
        return g

    res = gradient_descent(grad, inst.X0, step=p.eta, max_iter=p.max_iter,
                           perturbation=(p.threshold, p.noise), rng=rng,
                           callback=cb, record_every=p.max_iter)
    d = np.asarray(dist)
    below = np.flatnonzero(d < p.reach_tol)
    run = PGDRun(lam=float(lam), status=res.status, iters=np.asarray(iters), distance=d,
                 objective=np.asarray(obj), objective_plain=np.asarray(plain),
                 n_perturbed=pert[0], X=res.x)
    run._hit = int(run.iters[below[0]]) if below.size else None
    return run


def run_pair(inst: PGDInstance, p: PGDParams, rng_factory) -> PGDInstance:
    """Run every λ of ``p`` from the same start; ``rng_factory(key, j)`` seeds the noise."""
    for j, lam in enumerate(p.lams):
        inst.runs[float(lam)] = run_pgd(inst, lam, p, rng_factory(inst.key, j))
    return inst


def summarize(instances: list[PGDInstance], p: PGDParams) -> pd.DataFrame:
    """One row per (instance, λ): iterations to reach the ground truth, final distance,
    number of perturbed steps."""
    rows = []
    for inst in instances:
        for lam, run in inst.runs.items():
            rows.append({"instance": inst.key, "lam": lam, "hit": run.hit,
                         "final_distance": float(run.distance[-1]),
                         "stalled": stalled(run, p),
                         "perturbed_steps": run.n_perturbed, "status": run.status})
    return pd.DataFrame(rows)


def stalled(run: PGDRun, p: PGDParams) -> bool:
    """The run ends away from the ground truth (distance above ``stall_tol``) and has stopped
    making progress (distance at the end over distance at half-time above ``plateau``)."""
    half = run.distance[len(run.distance) // 2]
    return bool(run.distance[-1] > p.stall_tol and run.distance[-1] / half > p.plateau)


def find_stalling_instance(p: PGDParams, rng_factory, *, first_key: int = 1000,
                           max_tries: int = 50, screen_iter: int | None = None):
    r"""Seeded search for an instance on which :math:`\lambda = 0` stalls (:func:`stalled`)
    while the largest :math:`\lambda` ends closer to the ground truth. Instance ``key`` is drawn from ``rng_factory(key, -1)``. Returns
    ``(instance or None, keys tried)``."""
    tried = []
    for key in range(first_key, first_key + max_tries):
        inst = make_pgd_instance(p, rng_factory(key, -1), key)
        tried.append(key)
        r0 = run_pgd(inst, p.lams[0], p, rng_factory(key, 0))
        if not stalled(r0, p):
            continue
        r1 = run_pgd(inst, p.lams[-1], p, rng_factory(key, len(p.lams) - 1))
        if r1.distance[-1] < r0.distance[-1]:
            inst.runs = {float(p.lams[0]): r0, float(p.lams[-1]): r1}
            return inst, tried
    return None, tried
