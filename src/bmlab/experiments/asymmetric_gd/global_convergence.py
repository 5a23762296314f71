r"""Chapter "Global convergence from a small random start" (``book/asymmetric-gd/global-convergence.md``).

GD (2)–(3) of Ye & Du from :math:`\mathcal N(0, \varepsilon^2)` starts on many random instances
(relative target :math:`f/f(0,0) \le \delta`), the per-step rate of its linear phase, and a sweep
of the constant step size :math:`\eta` against the theorem's requirement.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ...bounds.gd_asymmetric import t_total, theory_init_scale, theory_step
from ...claims import Claim, at_least, claim, close, fraction
from ...sweep import sweep
from ...validation import check_int, check_real
from ..base import ExperimentParams
from .common import (SeedSweepParams, check_grid, check_sigmas, eta_sweep, linear_rate,
                     rng_family, seed_sweep)

__all__ = ["Params", "Result", "run", "claims", "glue_values", "seed_tasks", "eta_tasks"]

THEOREM_QUOTE = ("Theorem 1.1: \"... with high probability over the initialization, when "
                 "t > T_total(δ, η), f(U_t, V_t) ≤ δ\"")


@dataclass(frozen=True)
class Params(ExperimentParams):
    """Instance, GD settings, number of seeds and the step-size grid of the sweep."""

    m: int = 20
    n: int = 15
    sigmas: tuple = (3.0, 2.0, 1.0)
    eps: float = 1e-3
    eta: float = 0.01
    delta: float = 1e-10
    n_seeds: int = 10
    n_sweep_seeds: int = 5
    etas: tuple = (0.003, 0.03, 0.1, 0.3, 0.4)
    sweep_horizon: float = 150.0
    flow_time: float = 200.0

    PRESETS = {
        "quick": {"n_seeds": 10, "n_sweep_seeds": 5, "etas": (0.003, 0.03, 0.1, 0.3, 0.4)},
        "paper": {"n_seeds": 100, "n_sweep_seeds": 20,
                  "etas": (0.001, 0.003, 0.01, 0.03, 0.1, 0.2, 0.3, 0.35, 0.4)},
    }

    def validate(self) -> None:
        object.__setattr__(self, "sigmas", check_sigmas("sigmas", self.sigmas))
        d = len(self.sigmas)
        check_int("m", self.m, lo=d + 1)
        check_int("n", self.n, lo=d + 1)
        check_real("eps", self.eps, lo=0, lo_open=True)
        check_real("eta", self.eta, lo=0, lo_open=True)
        check_real("delta", self.delta, lo=0, hi=1, lo_open=True, hi_open=True)
        check_int("n_seeds", self.n_seeds, lo=1)
        check_int("n_sweep_seeds", self.n_sweep_seeds, lo=1)
        object.__setattr__(self, "etas", tuple(sorted(check_grid("etas", self.etas, lo=0))))
        check_real("sweep_horizon", self.sweep_horizon, lo=0, lo_open=True)
        check_real("flow_time", self.flow_time, lo=0, lo_open=True)

    @property
    def sweep(self) -> SeedSweepParams:
        return SeedSweepParams(m=self.m, n=self.n, sigmas=self.sigmas, eps=self.eps, eta=self.eta,
                               delta=self.delta, max_iter=int(self.flow_time / self.eta),
                               record_every=10)


@dataclass
class Result:
    """``runs``: one row per seed (status, iterations, final loss, linear rate); ``curves``:
    (iterations, relative loss) per seed; ``sweep``: the step-size sweep (one row per seed and
    step); the theorem's step, initialization scale and :math:`T_{\\rm total}` (constant 1)."""

    params: Params
    runs: pd.DataFrame
    curves: list
    sweep: pd.DataFrame
    eta_thy: float
    eps_thy: float
    T_thy: float

    @property
    def sigma_1(self) -> float:
        return self.params.sigmas[0]

    @property
    def sigma_d(self) -> float:
        return self.params.sigmas[-1]


def _seed_task(task):
    """One seed of the seed sweep (a :func:`bmlab.sweep.sweep` task): ``(SeedSweepParams,
    seed, its generator)`` -> (row, loss curve), exactly :func:`seed_sweep` on that seed."""
    sp, s, rng = task
    runs, curves = seed_sweep(sp, [s], lambda *_: rng)
    return runs.to_dict("records")[0], curves[0]


def _eta_task(task):
    """One (seed, step size) run of the step-size sweep: ``(SeedSweepParams, seed, eta, the
    seed's generator, horizon)`` -> row, exactly :func:`eta_sweep` on that pair."""
    sp, s, eta, rng, horizon = task
    return eta_sweep(sp, [eta], [s], lambda *_: rng, horizon=horizon).to_dict("records")[0]


def seed_tasks(params: Params, rng_for) -> list:
    """The tasks of the seed sweep; each carries its seed's generator ``rng_for(seed)`` (the
    chapter's seeding, per task: identical results serially or on a Dask cluster)."""
    return [(params.sweep, s, rng_for(s)) for s in range(params.n_seeds)]


def eta_tasks(params: Params, rng_for) -> list:
    """The tasks of the step-size sweep, seed-major; each gets a fresh ``rng_for(seed)``, so
    every step size of a seed starts from the same instance and initialization."""
    return [(params.sweep, s, float(eta), rng_for(s), params.sweep_horizon)
            for s in range(params.n_sweep_seeds) for eta in params.etas]


def run(params: Params, rng: np.random.Generator, *, client=None) -> Result:
    """Run GD on ``params.n_seeds`` random instances, then the step-size sweep. The runs are
    independent tasks of :func:`bmlab.sweep.sweep` (``client``: see there; by default the
    Dask cluster of ``bmlab reproduce --jobs/--scheduler`` if any, else serial); each task
    carries its own generator, so the result does not depend on where the runs ran."""
    p = params
    rng_for = rng_family(rng)
    out = sweep(_seed_task, seed_tasks(p, rng_for), client=client, desc="seeds")
    runs, curves = pd.DataFrame([row for row, _ in out]), [curve for _, curve in out]
    runs["linear_rate"] = [linear_rate(it, f, lo=100 * p.delta, hi=1e-5) for it, f in curves]
    sweep_df = pd.DataFrame(sweep(_eta_task, eta_tasks(p, rng_for), client=client,
                                  desc="step sizes"))
    s1, sd, d = p.sigmas[0], p.sigmas[-1], len(p.sigmas)
    eta_thy = float(theory_step(p.eps, s1, sd, d))
    f0 = 0.5 * float(np.sum(np.square(p.sigmas)))
    return Result(p, runs.drop(columns="time_s"), curves, sweep_df, eta_thy,
                  float(theory_init_scale(s1, sd, d, p.m, p.n)),
                  float(t_total(eta_thy, p.eps, sd, p.delta * f0, d)))


def stable_runs(result: Result) -> pd.DataFrame:
    """Sweep runs at step sizes below the classical stability limit :math:`1/\\sigma_1`."""
    return result.sweep[result.sweep["eta"] < 1.0 / result.sigma_1]


def unstable_runs(result: Result) -> pd.DataFrame:
    """Sweep runs at step sizes above :math:`1/\\sigma_1`, where no minimizer is stable."""
    return result.sweep[result.sweep["eta"] > 1.0 / result.sigma_1]


def claims(result: Result) -> list[Claim]:
    """The chapter's pre-registered claims (thresholds identical in both profiles)."""
    p, r = result.params, result.runs
    n_conv = int(r["status"].eq("converged").sum())
    rate_thy = float(-np.log1p(-p.eta * result.sigma_d / 2))
    stable = stable_runs(result)
    n_stable = int(stable["status"].eq("converged").sum())
    unstable = unstable_runs(result)
    stable_ok = stable.groupby("seed")["status"].apply(lambda s: bool((s == "converged").all()))
    unstable_bad = unstable.groupby("seed")["status"].apply(
        lambda s: bool((s != "converged").all()))
    rate_lin = float(-4 * np.log1p(-p.eta * result.sigma_d))
    ratio_thy = float(stable["eta"].max() / result.eta_thy) if len(stable) else float("nan")
    out = [
        claim("agd1.all_seeds_converge",
              f"Every seed reaches f/f(0,0) <= {p.delta:g} with constant eta = {p.eta:g} from "
              f"N(0, eps^2) starts, eps = {p.eps:g} (one run per seed). Outside Theorem 1.1: "
              f"this eta is {p.eta / result.eta_thy:.1e} times the theorem's step, so the "
              "theorem's hypotheses are not met; the claim tests the paper's empirical remark",
              fraction(n_conv, len(r), at_least=1.0, min_samples=10), kind="paper",
              quote="\"Empirically, gradient descent with a constant learning rate can efficiently "
              "solve this problem\""),
        claim("agd1.linear_rate_at_least_theorem",
              "In the linear phase every seed's loss contracts per step at least at the stage-two "
              "rate of the proof, -ln(1 - eta sigma_d / 2). A check: the slowest local mode of "
              "the loss decays at about 2 eta sigma_d, so any linearly converging run passes",
              at_least(r["linear_rate"].to_numpy(float), rate_thy), kind="check",
              quote="Summary of Stage 2: \"‖Σ − U_{T0+t} V_{T0+t}^T‖_F^2 ≤ ... ≤ "
              "C(1 − ησ_d/2)^t σ_d\"",
              reason="relabelled from paper: the bound has a factor 4 or more of slack against "
              "every local mode, so it cannot fail for a run that converges linearly"),
        claim("agd1.linear_rate_linearised",
              "In the fit window (1e-9 <= f/f(0,0) <= 1e-5) every seed's per-step rate is within "
              "5% (relative) of -4 ln(1 - eta sigma_d), the rate of the principal sigma_d-mode's "
              "share of the loss in the linearisation at the optimum (the J, K terms, which "
              "decay at half that rate, start at size eps^2 and stay below the window)",
              close(r["linear_rate"].to_numpy(float) / rate_lin, 1.0, 0.05, relative=True),
              kind="extension", exploratory=True,
              reason="the rate 4 eta sigma_d comes from the linearisation of the t-total-scaling "
              "chapter, but was attached to this fit window after the measured rates (about "
              "0.040 at eta = 0.01) had been seen; the 5% tolerance is ours"),
        claim("agd1.eta_requirement_loose",
              "On every sweep seed GD converges at every grid step size below the classical "
              f"stability limit 1/sigma_1, i.e. at steps up to {ratio_thy:.1e} times the "
              "theorem's eta = sigma_d eps^2/(d sigma_1^3) (constant 1); samples are seeds "
              "(at least 5)",
              fraction(int(stable_ok.sum()), int(stable_ok.size), at_least=1.0, min_samples=5),
              kind="paper",
              quote="\"while we believe T_total(δ, η) is nearly tight, our requirement for η is "
              "loose\""),
        claim("agd1.step_far_above_theory",
              "The step used is at least 1e3 times the theorem's eta = sigma_d eps^2/(d sigma_1^3) "
              "(constant 1): a property of the chosen parameters that documents the regime, not "
              "an outcome of the run",
              at_least(p.eta / result.eta_thy, 1e3), kind="check"),
    ]
    if len(unstable):
        out.insert(4, claim("agd1.no_convergence_above_limit",
              "At every grid step size above 1/sigma_1 no sweep seed converges (pre-registered "
              "from the Hessian at the minimizers: its largest eigenvalue is at least 2 sigma_1, "
              "reached at the balanced ones, so GD cannot settle at any minimizer when "
              "eta > 1/sigma_1); samples are seeds (at least 3)",
              fraction(int(unstable_bad.sum()), int(unstable_bad.size), at_least=1.0,
                       min_samples=3), kind="extension"))
    return out


def glue_values(result: Result) -> dict:
    """The numbers the chapter's prose cites."""
    p, r, sw = result.params, result.runs, result.sweep
    ok = sw.groupby("eta")["status"].apply(lambda s: (s == "converged").mean())
    bad = ok[ok < 1]
    rate_thy = p.eta * result.sigma_d / 2
    return {
        "m": p.m, "n": p.n, "sigmas": ", ".join(f"{v:g}" for v in p.sigmas),
        "n_seeds": p.n_seeds, "n_conv": int(r["status"].eq("converged").sum()),
        "eps": p.eps, "eta": p.eta, "delta": p.delta,
        "it_med": float(r["iterations"].median()), "it_min": int(r["iterations"].min()),
        "it_max": int(r["iterations"].max()),
        "rate_min": float(r["linear_rate"].min()), "rate_med": float(r["linear_rate"].median()),
        "rate_thy": rate_thy, "rate_ratio": float(r["linear_rate"].min() / rate_thy),
        "eta_thy": result.eta_thy, "eps_thy": result.eps_thy, "eta_ratio": p.eta / result.eta_thy,
        "T_thy": result.T_thy,
        "eta_all_ok": float(ok[ok == 1].index.max()) if (ok == 1).any() else float("nan"),
        "eta_first_bad": float(bad.index.min()) if len(bad) else float("nan"),
        "n_sweep_seeds": p.n_sweep_seeds, "eta_small": min(p.etas),
        "eta_stable_max": float(stable_runs(result)["eta"].max()),
        "eta_stable_ratio": float(stable_runs(result)["eta"].max() / result.eta_thy),
        "limit_ratio": float(1.0 / (result.sigma_1 * result.eta_thy)),
        "limit_orders": float(np.log10(1.0 / (result.sigma_1 * result.eta_thy))),
        "rate_lin": float(-4 * np.log1p(-p.eta * result.sigma_d)),
        "flow_time": p.flow_time, "max_iter": p.sweep.max_iter,
        "sweep_horizon": p.sweep_horizon,
    }


def summary_table(result: Result) -> pd.DataFrame:
    """Mean, min and max over seeds of iterations, final loss and linear rate."""
    cols = ["iterations", "final_rel_loss", "linear_rate"]
    return result.runs[cols].describe().loc[["mean", "min", "max"]]
