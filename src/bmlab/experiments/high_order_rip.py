r"""RIP constants of the sensing operators of paper 003 (chapter ``high-order-losses/rip``).

* Weighted entry-wise operator (Yalcin's instance): exact constant
  :math:`(1-\varepsilon^2)/(1+\varepsilon^2)` (spec 003 §4.1, DERIVED) beside the search
  estimate of :func:`bmlab.problems.sensing.rip_ratio_range` and the value
  :math:`(1-\varepsilon)/(1+\varepsilon)` the authors' code uses.
* Random Gaussian operators (:math:`A_i = (G_i + G_i^\top)/2`): the constant over symmetric
  matrices of rank :math:`\le k` against the number of measurements :math:`m`, exact for
  :math:`k \ge n`, a search lower bound otherwise.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..problems.sensing import (
    WeightedEntrywiseSensing, gaussian_sensing, rip_ratio_range, weighted_rip_delta,
    yalcin_weights)


@dataclass
class WeightedRipParams:
    eps_grid: tuple[float, ...] = (0.1, 0.2, 0.3, 0.5, 0.7, 0.9)
    n: int = 7
    rank: int = 2
    restarts: int = 5


def weighted_rip_table(p: WeightedRipParams, rng: np.random.Generator) -> pd.DataFrame:
    """Columns ``eps, exact, search, nominal`` (nominal: the code's ``(1-eps)/(1+eps)``)."""
    rows = []
    for eps in p.eps_grid:
        est = rip_ratio_range(WeightedEntrywiseSensing(yalcin_weights(p.n, eps)), p.rank, rng,
                              restarts=p.restarts)
        rows.append({"eps": eps, "exact": weighted_rip_delta(eps), "search": est.delta,
                     "nominal": (1 - eps) / (1 + eps), "ratio_lo": est.lo, "ratio_hi": est.hi})
    return pd.DataFrame(rows)


@dataclass
class GaussianRipParams:
    n: int = 5
    ms: tuple[int, ...] = (15, 20, 40, 80, 160, 320)
    ranks: tuple[int, ...] = (2, 6)
    seeds: int = 3
    restarts: int = 3
    std: float = 0.2

    def __post_init__(self) -> None:
        if self.seeds < 1 or self.n < 2 or not self.ms or not self.ranks:
            raise ValueError("need n >= 2, seeds >= 1 and non-empty ms and ranks")


def gaussian_rip_curve(p: GaussianRipParams, rng: np.random.Generator) -> pd.DataFrame:
    """One row per (m, seed, rank): ``delta`` and whether it is ``exact``."""
    rows = []
    for m in p.ms:
        for s in range(p.seeds):
            op = gaussian_sensing(p.n, int(m), rng, std=p.std)
            for k in p.ranks:
                est = rip_ratio_range(op, int(k), rng, restarts=p.restarts)
                rows.append({"m": int(m), "seed": s, "rank": int(k), "delta": est.delta,
                             "exact": est.exact})
    return pd.DataFrame(rows)
