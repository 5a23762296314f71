r"""Chapter "Auto-balancing" (``book/asymmetric-gd/auto-balancing.md``).

The imbalance :math:`D = \mathbf U^\top\mathbf U - \mathbf V^\top\mathbf V`: conserved by the
gradient flow (``solve_ivp``), changed by one GD step by exactly
:math:`\eta^2(\mathbf V^\top R^\top R\mathbf V - \mathbf U^\top RR^\top\mathbf U)` (DERIVED, spec
002 §9), and its drift over a fixed flow time against :math:`\eta`.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ...claims import Claim, at_most, claim, close
from ...validation import check_int, check_real
from ..base import ExperimentParams
from .common import (balance_drift_runs, check_grid, check_sigmas, gaussian_init,
                     make_instance)
from .flow import uv_flow_ivp

__all__ = ["Params", "Result", "run", "claims", "glue_values"]


@dataclass(frozen=True)
class Params(ExperimentParams):
    """Instance, start scale, the step sizes (``eta_practical`` is added to the grid) and the
    flow time every GD run covers."""

    m: int = 20
    n: int = 15
    sigmas: tuple = (3.0, 2.0, 1.0)
    eps: float = 1e-3
    eta_practical: float = 0.01
    flow_time: float = 30.0
    etas: tuple = (0.0025, 0.005, 0.01, 0.02, 0.04, 0.08)
    n_flow_points: int = 121

    PRESETS = {"quick": {"etas": (0.0025, 0.005, 0.01, 0.02, 0.04, 0.08)},
               "paper": {"etas": (0.000625, 0.00125, 0.0025, 0.005, 0.01, 0.02, 0.04, 0.08,
                                  0.16)}}

    def validate(self) -> None:
        object.__setattr__(self, "sigmas", check_sigmas("sigmas", self.sigmas))
        d = len(self.sigmas)
        check_int("m", self.m, lo=d + 1)
        check_int("n", self.n, lo=d + 1)
        check_real("eps", self.eps, lo=0, lo_open=True)
        check_real("eta_practical", self.eta_practical, lo=0, lo_open=True)
        check_real("flow_time", self.flow_time, lo=0, lo_open=True)
        check_int("n_flow_points", self.n_flow_points, lo=2)
        etas = set(check_grid("etas", self.etas, lo=0, min_size=3)) | {float(self.eta_practical)}
        object.__setattr__(self, "etas", tuple(sorted(etas)))


@dataclass
class Result:
    """``runs``: one row per step size (total drift, largest one-step drift, largest error of the
    one-step formula, :math:`\\|D_0\\|_F`, final loss); ``trackers``: the drift histories;
    ``flow_t``/``flow_dist``: :math:`\\|D(t) - D(0)\\|_F` along the flow; ``flow_loss``: its final
    relative loss; ``S2``: :math:`\\|\\boldsymbol\\Sigma\\|_F^2`."""

    params: Params
    runs: pd.DataFrame
    trackers: list
    flow_t: np.ndarray
    flow_dist: np.ndarray
    flow_loss: float
    S2: float

    def slopes(self) -> dict:
        """Log–log slopes of the one-step drift (all step sizes) and of the total drift (three
        smallest, and all)."""
        r = self.runs
        e = r["eta"].to_numpy()
        small = r.nsmallest(3, "eta")
        fit = lambda x, y: float(np.polyfit(np.log(x), np.log(y), 1)[0])  # noqa: E731
        return {"step": fit(e, r["step_drift_max"]),
                "total_small": fit(small["eta"], small["final_drift"]),
                "total_all": fit(e, r["final_drift"])}

    @property
    def practical(self) -> pd.Series:
        return self.runs[self.runs["eta"] == self.params.eta_practical].iloc[0]


def run(params: Params, rng: np.random.Generator) -> Result:
    """One instance and start; GD at every step size and the flow by ``solve_ivp``."""
    p = params
    inst = make_instance(p.m, p.n, p.sigmas, rng)
    x0 = gaussian_init(p.m, p.n, inst.d, p.eps, rng)
    runs, trackers = balance_drift_runs(inst, x0, p.etas, p.flow_time)
    flow_t = np.linspace(0, p.flow_time, p.n_flow_points)
    U, V = uv_flow_ivp(inst.Sigma, *x0, flow_t)
    D0 = x0[0].T @ x0[0] - x0[1].T @ x0[1]
    flow_dist = np.array([np.linalg.norm(u.T @ u - v.T @ v - D0) for u, v in zip(U, V)])
    S2 = float(np.sum(inst.Sigma ** 2))
    flow_loss = float(np.linalg.norm(U[-1] @ V[-1].T - inst.Sigma) ** 2 / S2)
    return Result(p, runs, trackers, flow_t, flow_dist, flow_loss, S2)


def claims(result: Result) -> list[Claim]:
    """The chapter's pre-registered claims (thresholds identical in both profiles)."""
    sl, prac = result.slopes(), result.practical
    eta_p = result.params.eta_practical
    return [
        claim("agd4.flow_conserves_balance",
              "Gradient flow conserves U^T U - V^T V: max_t ||D(t) - D(0)||_F <= 1e-10 along the "
              "solve_ivp trajectory (an identity, dD/dt = 0; this checks the integration)",
              at_most(float(result.flow_dist.max()), 1e-10), kind="check"),
        claim("agd4.one_step_formula",
              "One GD step changes D by exactly eta^2 (V^T R^T R V - U^T R R^T U) (error <= 1e-13 "
              "||Sigma||_F^2 over every step of every run; an identity, DERIVED spec 002 §9)",
              at_most(float(result.runs["formula_err_max"].max()) / result.S2, 1e-13),
              kind="check"),
        claim("agd4.per_step_drift_eta2",
              "The largest one-step drift scales as eta^2 (log-log slope within 0.1 of 2). A "
              "check, not a finding: on this instance the largest drift falls on the first step, "
              "whose drift eta^2 (V^T R^T R V - U^T R R^T U) at the shared start x_0 is eta^2 "
              "times a fixed matrix, so the slope is 2 by algebra",
              close(sl["step"], 2.0, 0.1), kind="check",
              reason="relabelled from extension: the maximum sits at step 0, which depends only "
              "on the start shared by all step sizes (one instance), so the slope cannot differ "
              "from 2"),
        claim("agd4.total_drift_eta",
              "The total drift over a fixed flow time scales as eta as eta -> 0 (slope over the "
              "three smallest step sizes within 0.1 of 1)",
              close(sl["total_small"], 1.0, 0.1), kind="extension"),
        claim("agd4.balance_set_by_init",
              f"On this instance, at eta = {eta_p:g} and eps = {result.params.eps:g}, the total "
              "drift is below 10% of ||D_0||_F, so the limit is as balanced as the small random "
              "start. The ratio is set by the chosen parameters: the total drift is about eta "
              "C(Sigma), independent of eps, while ||D_0||_F ~ eps^2, so drift/||D_0|| ~ "
              "eta/eps^2 (eps = 1e-4 would give a ratio of about 4)",
              at_most(float(prac["final_drift"] / prac["D0"]), 0.1), kind="extension",
              reason="relabelled from paper: the paper's auto-balancing (quoted from its "
              "experiments remark, 'still enjoys the auto-balancing property as argued in Du et "
              "al. [2018]') refers to its proof that B stays bounded, not to a 10% level; the "
              "10% threshold and the parameters that decide it are ours, one instance"),
    ]


def glue_values(result: Result) -> dict:
    """The numbers the chapter's prose cites."""
    p, sl, prac = result.params, result.slopes(), result.practical
    err_max = float(result.runs["formula_err_max"].max())
    return {"n_etas": len(p.etas), "flow_time": p.flow_time, "flow_max": float(result.flow_dist.max()),
            "flow_loss": result.flow_loss, "err_max": err_max, "err_rel": err_max / result.S2,
            "slope_step": sl["step"], "slope_small": sl["total_small"],
            "slope_all": sl["total_all"], "eta_prac": p.eta_practical,
            "drift_prac": float(prac["final_drift"]), "D0": float(prac["D0"]),
            "ratio_prac": float(prac["final_drift"] / prac["D0"]),
            "eta_max": float(result.runs["eta"].max()),
            "drift_max_eta": float(result.runs["final_drift"].iloc[-1])}


def runs_shown(result: Result) -> pd.DataFrame:
    """The per-step-size table in scientific notation."""
    r = result.runs
    cols = ["final_drift", "step_drift_max", "formula_err_max", "D0", "final_rel_loss"]
    return r.assign(**{c: r[c].map("{:.3e}".format) for c in cols})
