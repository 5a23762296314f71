r"""Chapter "Perturbed gradient descent with and without the high-order term"
(``book/high-order-losses/perturbed-gd.md``). Perturbed gradient descent on random Gaussian sensing, :math:`\lambda = 0` against
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

from ...claims import (Claim, all_of, at_least, at_most, between, claim, close, compare, fraction,
                       monotone, qualitative)
from ...problems.sensing import HighOrderLoss, gaussian_sensing
from ...solvers.gd import gradient_descent
from ...validation import check_int
from ..base import ExperimentParams
from . import pgd_eta


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


# ----------------------------------------------------------------------------- chapter
PUBLISHED_ETA = 0.002
ETA_MID = 0.05
ETA_FLOOR = 0.1
ETAS = (PUBLISHED_ETA, 0.02, ETA_MID, ETA_FLOOR)
FLOOR_FACTOR = 3.0
"""A run of the step-size panel has *converged* when its final distance is at most this many
times the noise floor predicted for its instance and step (:func:`.pgd_eta.noise_floor`)."""
SLOW_EPS = 1e-5
"""Size of the start offset along the slowest eigenvector, relative to ‖X*‖_F, in the
contraction check."""
CONTRACTION_TOL = 1e-3
"""Relative tolerance of the contraction check (second-order terms are O(SLOW_EPS))."""


@dataclass
class EtaPanel:
    """The step-size panel (λ = 0): ``table`` (:func:`.pgd_eta.panel_table`, one row per
    instance and step), ``iters``/``distance`` (runs × recorded iterations, instance-major),
    ``floors`` (instances × steps), and the contraction check from ``X* + ε U_min`` at the
    published step: ``slow`` with columns ``instance, mu_min, measured, linear, bound``."""

    etas: tuple
    table: pd.DataFrame
    iters: np.ndarray
    distance: np.ndarray
    floors: np.ndarray
    slow: pd.DataFrame

    def at(self, eta: float) -> pd.DataFrame:
        return self.table[np.isclose(self.table.eta, eta)]


def run_eta_panel(instances: list, params: "Params", rng: np.random.Generator,
                  p: PGDParams) -> EtaPanel:
    """Perturbed GD with λ = 0 on ``instances`` (their starts) for every step of
    ``params.etas`` (one stacked run; the noise is drawn from ``rng``), and plain GD from
    ``X* + ε U_min`` at the published step for the contraction check."""
    etas = params.etas
    probs = [i.problem for i in instances]
    A = np.stack([P.op.A for P in probs for _ in etas])
    M = np.stack([P.M_star for P in probs for _ in etas])
    X0 = np.stack([i.X0 for i in instances for _ in etas])
    eta = np.array([e for _ in instances for e in etas])
    br = pgd_eta.batched_pgd(A, M, X0, eta, scale=probs[0].scale, max_iter=p.max_iter,
                             threshold=p.threshold, noise=p.noise, rng=rng,
                             record_every=p.record_every * 10)
    slow = [pgd_eta.slow_direction(P) for P in probs]
    mus = [s[0] for s in slow]
    floors = np.array([[pgd_eta.noise_floor(P, e, p.noise) for e in etas] for P in probs])
    tab = pgd_eta.panel_table([i.key for i in instances], etas, br, floors, mus,
                              reach_tol=p.reach_tol, floor_factor=FLOOR_FACTOR,
                              max_iter=p.max_iter)
    Xs = np.stack([P.Z + SLOW_EPS * np.linalg.norm(P.Z) * U for P, (_, U) in zip(probs, slow)])
    sr = pgd_eta.batched_pgd(np.stack([P.op.A for P in probs]),
                             np.stack([P.M_star for P in probs]), Xs, PUBLISHED_ETA,
                             scale=probs[0].scale, max_iter=p.max_iter,
                             record_every=p.max_iter)
    rows = []
    for k, (inst, mu) in enumerate(zip(instances, mus)):
        lin, bound = pgd_eta.linear_contraction(mu, PUBLISHED_ETA, p.max_iter)
        rows.append({"instance": inst.key, "mu_min": mu,
                     "measured": float(sr.distance[k, -1] / sr.distance[k, 0]),
                     "linear": lin, "bound": bound})
    return EtaPanel(etas, tab, br.iters, br.distance, floors, pd.DataFrame(rows))


@dataclass(frozen=True)
class Params(ExperimentParams):
    """``n_instances`` seeded instances for panel (a) (the acceleration claim is a paired sign
    test over them and needs at least ``min_pairs`` untied pairs); ``search_tries`` further seeded instances tried for
    panel (b) after the panel (a) ones; ``max_iter`` iterations per run (the authors' 10 000)."""

    n_instances: int = 30
    search_tries: int = 0
    max_iter: int = 10_000
    min_pairs: int = 30
    eta_instances: int = 20
    etas: tuple = ETAS

    PRESETS = {"quick": {"n_instances": 30, "search_tries": 0, "eta_instances": 20},
               "paper": {"n_instances": 60, "search_tries": 10, "eta_instances": 60}}

    def validate(self) -> None:
        check_int("n_instances", self.n_instances, lo=1)
        check_int("eta_instances", self.eta_instances, lo=1, hi=self.n_instances)
        etas = tuple(float(e) for e in self.etas)
        if len(etas) < 2 or any(not e > 0 for e in etas) or list(etas) != sorted(set(etas)):
            raise ValueError(f"etas must be at least two increasing positive steps, got {self.etas!r}")
        if PUBLISHED_ETA not in etas or ETA_FLOOR not in etas or ETA_MID not in etas:
            raise ValueError(f"etas must contain {PUBLISHED_ETA}, {ETA_MID} and {ETA_FLOOR} "
                             "(the steps the claims are about)")
        object.__setattr__(self, "etas", etas)
        check_int("min_pairs", self.min_pairs, lo=1)
        check_int("search_tries", self.search_tries, lo=0)
        check_int("max_iter", self.max_iter, lo=1)

    def pgd_params(self) -> PGDParams:
        return PGDParams(max_iter=self.max_iter)


@dataclass
class Result:
    """``instances``: panel (a) with both runs; ``table``: :func:`summarize`; ``inst_b``: the
    instance found for panel (b) (or ``None``); ``tried``: keys tried for it; ``ev_nz``:
    smallest nonzero Hessian eigenvalue at X* (λ = 0) per panel (a) instance."""

    params: Params
    instances: list
    table: pd.DataFrame
    inst_b: PGDInstance | None
    tried: list
    ev_nz: list
    eta: EtaPanel | None = None

    def final(self, lam: float) -> np.ndarray:
        t = self.table
        return t[t.lam == lam].sort_values("instance").final_distance.to_numpy()

    def closest(self, lam: float | None = None) -> float:
        """The smallest distance to M* any run (with this ``lam``, or any) reaches at any
        recorded iteration."""
        return float(min(r.distance.min() for i in self.instances for l, r in i.runs.items()
                         if lam is None or l == lam))


def run(params: Params, rng_factory) -> Result:
    """Panel (a) instances, then the seeded search for panel (b); ``rng_factory(key, j)``."""
    p = params.pgd_params()
    insts = [run_pair(make_pgd_instance(p, rng_factory(k, -1), k), p, rng_factory)
             for k in range(params.n_instances)]
    tab = summarize(insts, p)
    lo, hi = float(p.lams[0]), float(p.lams[-1])
    cand = [i for i in insts if stalled(i.runs[lo], p)
            and i.runs[hi].distance[-1] < i.runs[lo].distance[-1]]
    tried = [i.key for i in insts]
    inst_b = cand[0] if cand else None
    if inst_b is None and params.search_tries > 0:
        inst_b, more = find_stalling_instance(p, rng_factory, first_key=1000,
                                              max_tries=params.search_tries)
        tried += more
    ev_nz = [min(e for e in i.problem.hessian_eigvals(i.problem.Z) if e > 1e-8) for i in insts]
    panel = run_eta_panel(insts[:params.eta_instances], params, rng_factory(5000, 0), p)
    return Result(params, insts, tab, inst_b, tried, ev_nz, panel)


def claims(result: Result) -> list[Claim]:
    """Pre-registered claims (identical in both profiles; the paper profile has more
    instances)."""
    p = result.params.pgd_params()
    d0, d1 = result.final(0.0), result.final(1.0)
    n_pert = int(result.table.perturbed_steps.sum())
    mp = result.params.min_pairs
    sign = compare(d1, d0, better="lower", alpha=0.05, min_samples=mp)
    n_pairs = int(sign.samples or 0)
    k = int(np.sum(d1 < d0))
    k_crit = sign_test_critical(n_pairs, 0.05)
    flips = k - k_crit + 1
    ev = np.asarray(result.ev_nz, dtype=float)
    fin = result.table.final_distance.to_numpy()
    steps = p.eta * p.max_iter
    zero_closest = result.closest(0.0)
    b_text = stall_text(result.inst_b, p)
    extra = eta_claims(result.eta, p) if result.eta is not None else []
    extra = extra + panel_b_cert_claims(result)
    return extra + [
        claim("hol.pgd.accelerates",
              f"A fixed-budget claim: after {p.max_iter} iterations from the same start, the "
              "run with λ = 1 is closer to M* than the run with λ = 0 (no run converges within "
              "the budget, so 'accelerate' is read as the distance reached). Paired one-sided "
              f"sign test over the {len(d0)} panel-(a) instances, α = 0.05, at least {mp} "
              f"untied pairs (pre-registered); ours: {k}/{n_pairs} pairs favour λ = 1, the "
              f"test needs {k_crit}, so {max(flips, 0)} pair(s) flipping would fail it (margin "
              "of the count part: that number over the pairs)",
              all_of(sign, fraction(k, max(n_pairs, 1), at_least=min(k_crit, n_pairs)
                                    / max(n_pairs, 1), min_samples=mp)),
              kind="paper", protocol=AUTHORS_PROTOCOL,
              quote="\"In both cases, high-order loss functions accelerate the convergence.\""),
        claim("hol.pgd.reaches_ground_truth",
              f"At least one λ = 0 run gets within ‖XXᵀ − M*‖_F < {p.reach_tol:g} of the ground "
              f"truth within {p.max_iter} iterations (ours: the smallest distance any λ = 0 run "
              f"reaches over the {len(d0)} panel-(a) instances)",
              at_most(zero_closest, p.reach_tol, scale=p.reach_tol), kind="paper",
              protocol=AUTHORS_PROTOCOL,
              quote="Figure, panel (a): \"λ = 0 converges to ground truth\"",
              expected="fails",
              reason=f"no run reaches {p.reach_tol:g}: the closest any λ = 0 run gets is "
                     f"{zero_closest:.2f} (any run: {result.closest():.2f}), and runs end at D "
                     f"from {fin.min():.2f} to {fin.max():.2f}. GD with η = {p.eta:g} is slow on "
                     "these operators: even linearised at X*, the smallest nonzero Hessian "
                     f"eigenvalue ({ev.min():.4f} to {ev.max():.4f}) gives η·eigenvalue·steps "
                     f"from {steps * ev.min():.2f} to {steps * ev.max():.2f}, so the slowest "
                     f"component shrinks at best by a factor e^-{steps * ev.max():.2f} = "
                     f"{np.exp(-steps * ev.max()):.2f} over the run; the runs are moreover "
                     "far from X*, where this linearisation does not apply"),
        claim("hol.pgd.panel_b_stall",
              f"A seeded search over {len(result.tried)} instances finds one where λ = 0 stalls "
              f"away from M* (final distance > {p.stall_tol:g} and < {1 - p.plateau:.0%} "
              "progress over the second half) while λ = 1 ends closer (margin: the found run's "
              "distance to the stall thresholds, the nearer one relative to its own scale)",
              qualitative(result.inst_b is not None, ours=b_text,
                          margin=stall_margin(result.inst_b.runs[0.0], p)
                          if result.inst_b is not None else None,
                          relation="a stalling instance is found"),
              kind="paper", protocol=AUTHORS_PROTOCOL + "; seeded search for panel (b)",
              quote="Figure, panel (b): \"λ = 0 converges to a spurious solution around the "
                    "ground truth\"",
              exploratory=True,
              reason="expected 'fails' when 6 to 10 instances were run (none stalled); with the "
                     "30 instances pre-registered for hol.pgd.accelerates the pre-registered "
                     "stall criterion is met, and the expectation was changed after seeing it. "
                     f"It is met by a hair ({b_text}): the run is still descending, "
                     "not at a spurious point, and the gradient norm stays above the "
                     f"perturbation threshold 1e-3 ({n_pert} perturbed steps on the panel-(a) "
                     "runs), so within this budget the method is plain GD; shown, not counted "
                     "as a reproduction"),
    ]


PILOT_INSTANCES = 20
"""Instances 0..19 were the pilot of the step-size panel (hol.pgd.eta.convergence_appears)."""

AUTHORS_PROTOCOL = ("authors' protocol (their script): GD with η = 0.002 for 10 000 iterations, "
                    "gradient noise (std 1e-3) when ‖∇‖ < 1e-3, X0 ~ N(0, 0.1²) shared by λ = 0 "
                    "and λ = 1; every draw seeded (theirs is not)")
ETA_PROTOCOL = ("step-size panel: perturbed GD with λ = 0 from the panel-(a) starts, the authors' "
                "threshold and noise (1e-3, 1e-3) and budget, steps {etas}; {n} instances")


def eta_claims(panel: EtaPanel, p: PGDParams) -> list[Claim]:
    """Claims of the step-size panel (issue 14; thresholds fixed before the panel was run
    except where a claim says otherwise)."""
    T = p.max_iter
    proto = ETA_PROTOCOL.format(etas=", ".join(f"{e:g}" for e in panel.etas),
                                n=panel.table.instance.nunique())
    pub, mid, big = panel.at(PUBLISHED_ETA), panel.at(ETA_MID), panel.at(ETA_FLOOR)
    n = len(pub)
    held = panel.table[panel.table.instance >= PILOT_INSTANCES]
    oos = len(held) > 0
    scored = held if oos else panel.table
    sc_mid = scored[np.isclose(scored.eta, ETA_MID)]
    fr_sc = [float(scored[np.isclose(scored.eta, e)].converged.mean()) for e in panel.etas]
    which = (f"the {scored.instance.nunique()} instances after the pilot's first "
             f"{PILOT_INSTANCES} (out of sample)" if oos else
             f"the pilot's own {scored.instance.nunique()} instances (in sample: this profile "
             "has no instance beyond the pilot's)")
    ok_pub = int((~(pub.converged | pub.reached)).sum())
    fr = [float(panel.at(e).converged.mean()) for e in panel.etas]
    conv = big[~big.diverged]
    ratio = (conv.tail_rms / conv.floor_pred).to_numpy()
    med = float(np.median(ratio)) if len(ratio) else float("nan")
    n_big = len(big)
    fl_min = float(big.floor_pred.min())
    slow = panel.slow
    ev = slow.mu_min.to_numpy()
    return [
        claim("hol.pgd.eta.published_step",
              f"At the published step η = {PUBLISHED_ETA:g}, within {T} iterations at most 10% "
              f"of the {n} instances either get below ‖XXᵀ − M*‖_F < {p.reach_tol:g} at a "
              f"recorded iteration or end within {FLOOR_FACTOR:g}× their predicted noise floor "
              f"(ours: {n - ok_pub}/{n}). Predicted from the linearisation at X*: the slowest "
              f"component keeps a fraction (1 − ημ_min)^T ≈ e^(−ημ_min T) between "
              f"{np.exp(-PUBLISHED_ETA * ev.max() * T):.2f} and "
              f"{np.exp(-PUBLISHED_ETA * ev.min() * T):.2f} of itself (μ_min from "
              f"{ev.min():.4f} to {ev.max():.4f})",
              fraction(ok_pub, n, at_least=0.9, min_samples=6), kind="extension",
              protocol=proto),
        claim("hol.pgd.eta.convergence_appears",
              f"Scored on {which}: the fraction of instances that end within "
              f"{FLOOR_FACTOR:g}× their predicted noise floor increases strictly with the step "
              "over η ∈ {" + ", ".join(f"{e:g}" for e in panel.etas) + "} (ours: "
              + ", ".join(f"{f:.2f}" for f in fr_sc) + f"), and is at least one half at η = "
              f"{ETA_MID:g} (ours: {int(sc_mid.converged.sum())}/{len(sc_mid)})",
              all_of(monotone(fr_sc, increasing=True),
                     fraction(int(sc_mid.converged.sum()), len(sc_mid), at_least=0.5,
                              min_samples=6)),
              kind="extension", exploratory=True, protocol=proto,
              reason="direction and the one-half level at η = 0.05 were chosen after a "
                     f"{PILOT_INSTANCES}-instance pilot on the quick-profile instances (converged "
                     "fractions 0, 0.10, 0.85, 1.00); the paper profile scores only the instances "
                     "after the pilot's (the out-of-sample test; it scored all 60, pilot's "
                     "included, before the referee's reading); the quick profile has only the "
                     "pilot's instances and is in sample"),
        claim("hol.pgd.eta.noise_floor",
              f"At η = {ETA_FLOOR:g} the perturbation noise sets the floor: over every run "
              f"that did not diverge ({len(conv)}/{n_big}, at least 6 needed; no selection on "
              "the outcome), the median ratio of the "
              "RMS distance over the last quarter of the run to the floor predicted by the "
              "linearised noisy iteration (stationary covariance Σ ησ²/(μ_i(2 − ημ_i)) u_iu_iᵀ) "
              f"lies within a factor 2 of 1 (ours: {med:.3f}; margin: the distance to the "
              "nearer end of [0.5, 2])",
              all_of(between(med, 0.5, 2.0),
                     qualitative(len(conv) >= 6, ours=len(conv), samples=len(conv),
                                 margin=(len(conv) - 5.5) / 6, min_samples=6,
                                 relation="enough non-diverged runs")),
              kind="extension", protocol=proto, exploratory=True,
              reason="sample changed after the results were known, on the referee's reading: "
                     "it was the runs that ended within 3× the floor (selected on the outcome), "
                     "now every non-diverged run; the band [0.5, 2] is the pre-registered one"),
        claim("hol.pgd.eta.floor_above_tol",
              f"At η = {ETA_FLOOR:g} the predicted noise floor exceeds the chapter's reach "
              f"tolerance {p.reach_tol:g} on every instance (smallest {fl_min:.4f}), and so at "
              f"least 90% of the runs never get below {p.reach_tol:g} at a recorded iteration "
              f"(ours: {int((~big.reached).sum())}/{n_big}): a faster step converges, but to "
              "a noise floor above the authors' plotting floor of 1e-3",
              all_of(at_least(fl_min, p.reach_tol, scale=p.reach_tol),
                     fraction(int((~big.reached).sum()), n_big, at_least=0.9, min_samples=6)),
              kind="extension", protocol=proto),
        claim("hol.pgd.eta.slow_contraction",
              f"Linearisation check at the published step: plain GD from X* + ε U_min (U_min the "
              f"unit eigenvector of the smallest nonzero Hessian eigenvalue μ_min at X*, ε = "
              f"{SLOW_EPS:g}‖X*‖_F) shrinks D over {T} iterations by (1 − ημ_min)^T, within "
              f"{CONTRACTION_TOL:g} (relative) on each of the {len(slow)} instances (that "
              "factor is at most e^(−ημ_min T), the form quoted in the text; measured from "
              f"{slow.measured.min():.3f} to {slow.measured.max():.3f}))",
              close(slow.measured.to_numpy(), slow.linear.to_numpy(), CONTRACTION_TOL,
                    relative=True),
              kind="check", protocol="plain GD (no perturbation), λ = 0, η = 0.002, "
                                      f"{T} iterations from X* + ε U_min"),
    ]


def eta_glue(panel: EtaPanel) -> dict:
    """Numbers of the step-size panel for the prose."""
    out = {}
    for k, e in enumerate(panel.etas):
        t = panel.at(e)
        out[f"eta{k}"] = float(e)
        out[f"eta{k}_conv"] = int(t.converged.sum())
        out[f"eta{k}_reach"] = int(t.reached.sum())
        out[f"eta{k}_floor"] = float(np.median(t.floor_pred))
        out[f"eta{k}_pert"] = int(t.perturbed_steps.sum())
    out["eta_n"] = int(panel.table.instance.nunique())
    big = panel.at(ETA_FLOOR)
    conv = big[~big.diverged]
    out["eta_floor_ratio"] = float(np.median(conv.tail_rms / conv.floor_pred)) if len(conv) else float("nan")
    s = panel.slow
    out["slow_err"] = float(np.max(np.abs(s.measured / s.linear - 1)))
    out["slow_min"], out["slow_max"] = float(s.measured.min()), float(s.measured.max())
    return out


def stall_margin(run: PGDRun, p: PGDParams) -> float:
    """How far a run is inside the :func:`stalled` region: the smaller of
    ``(D_end − stall_tol)/stall_tol`` and ``(D_end/D_half − plateau)/(1 − plateau)``
    (negative when it does not stall)."""
    half = run.distance[len(run.distance) // 2]
    d = float(run.distance[-1])
    return float(min((d - p.stall_tol) / p.stall_tol,
                     (d / half - p.plateau) / (1 - p.plateau)))


def stall_text(inst: PGDInstance | None, p: PGDParams) -> str:
    """The panel-(b) instance in words (its λ = 0 progress over the second half)."""
    if inst is None:
        return "none found"
    r = inst.runs[0.0]
    prog = 1 - r.distance[-1] / r.distance[len(r.distance) // 2]
    return (f"instance {inst.key}: λ = 0 ends at D = {r.distance[-1]:.2f} after {prog:.2%} "
            f"progress over the second half, against the {1 - p.plateau:.0%} threshold")


def sign_test_critical(n: int, alpha: float) -> int:
    """The smallest number of pairs out of ``n`` favouring one side for which the one-sided
    sign test rejects at level ``alpha`` (``n + 1`` when none does)."""
    from math import comb
    for k in range(n + 1):
        if sum(comb(n, j) for j in range(k, n + 1)) / 2 ** n <= alpha:
            return k
    return n + 1


def flat_last_quarter(run: PGDRun) -> bool:
    q = run.distance[3 * len(run.distance) // 4]
    return bool(run.distance[-1] / q > 0.95)


def glue_values(result: Result) -> dict:
    d0, d1 = result.final(0.0), result.final(1.0)
    hits = result.table.hit
    budget = result.params.max_iter * result.params.pgd_params().eta
    return {"max_iter": result.params.max_iter, "n_tried": len(result.tried),
            "n_faster": int((d1 < d0).sum()), "n_inst": len(d0),
            "median_ratio": float(np.median(d1 / d0)),
            "n_reached": int(hits.notna().sum()), "min_final": float(result.table.final_distance.min()),
            "min_any": result.closest(),
            "n_perturbed": int(result.table.perturbed_steps.sum()),
            "stall_text": stall_text(result.inst_b, result.params.pgd_params()),
            "ev_nz_min": float(min(result.ev_nz)), "ev_nz_max": float(max(result.ev_nz)),
            "contr_min": float(min(result.ev_nz)) * budget,
            "contr_max": float(max(result.ev_nz)) * budget,
            "n_flat_0": sum(flat_last_quarter(i.runs[0.0]) for i in result.instances),
            "n_flat_1": sum(flat_last_quarter(i.runs[1.0]) for i in result.instances),
            **(eta_glue(result.eta) if result.eta is not None else {}),
            **panel_b_cert_glue(result)}


B_NOT_GLOBAL = -1e-2
"""λmin(S)/scale at or below which the panel-(b) λ = 0 endpoint counts as clearly refuted."""
B_NOT_CRITICAL = 1e-3
"""(‖SX‖_F/‖X‖_F)/scale at or above which that endpoint is not a (near-)critical point."""
B_CERT_PROTOCOL = (AUTHORS_PROTOCOL + "; certificate (bmlab.sdp.certificate) of the final "
                   "point of each run of the panel-(b) instance against the λ = 0 lifted problem "
                   "min_{Z⪰0} (1/2m)‖A(Z) − b‖²")


def panel_b_cert_table(result: Result) -> pd.DataFrame:
    """The panel-(b) instance's final points (λ = 0 and λ = 1) certified against the convex
    problem behind the plain loss (λ = 0): λmin(S), ‖SX‖_F/‖X‖_F (also over the scale), the
    verdict, ‖XXᵀ − M*‖_F, the gradient norm of the plain loss and the smallest Hessian
    eigenvalue of the factorized plain loss. Empty when no panel-(b) instance was found."""
    from ...sdp.certificate import certificate

    inst = result.inst_b
    if inst is None or inst.problem is None:   # none found, or a summary without its problem
        return pd.DataFrame()
    P = inst.problem.with_lam(0.0)
    rows = []
    for lam, r in sorted(inst.runs.items()):
        c = certificate(P, r.X)
        rows.append({"λ of the run": float(lam), "‖XXᵀ − M*‖_F": float(P.distance(r.X)),
                     "λmin(S)": c.lambda_min, "‖SX‖/‖X‖": c.residual, "scale": c.scale,
                     "λmin(S)/scale": c.lambda_min / c.scale,
                     "‖SX‖/‖X‖/scale": c.residual / c.scale, "verdict": c.verdict,
                     "‖∇f(X)‖_F": float(np.linalg.norm(P.grad(r.X))),
                     "λmin(∇²f(X))": float(np.min(P.hessian_eigvals(r.X)))})
    return pd.DataFrame(rows)


def panel_b_cert_claims(result: Result) -> list[Claim]:
    """Certificate of panel (b)'s stalled λ = 0 point (referee finding 10): a spurious
    solution would be a critical point (SX ≈ 0) that is not global (λmin(S) < 0); slow
    convergence leaves SX clearly nonzero. Thresholds fixed before the certificate was first
    computed (:data:`B_NOT_GLOBAL`, :data:`B_NOT_CRITICAL`)."""
    t = panel_b_cert_table(result)
    if not len(t):
        return []
    z = t[t["λ of the run"] == 0.0].iloc[0]
    return [
        claim("hol.pgd.panel_b_cert.not_global",
              f"The λ = 0 endpoint of panel (b) (instance {result.inst_b.key}) is refuted by "
              f"its certificate: λmin(S) ≤ {B_NOT_GLOBAL:g}·scale (ours: "
              f"{z['λmin(S)/scale']:.3g}; D = {z['‖XXᵀ − M*‖_F']:.2f}); a point this far from "
              "the unique optimum M* is refuted almost by construction, hence a check",
              at_most(float(z["λmin(S)/scale"]), B_NOT_GLOBAL, scale=abs(B_NOT_GLOBAL)),
              kind="check", protocol=B_CERT_PROTOCOL),
        claim("hol.pgd.panel_b_cert.not_critical",
              "The stall of panel (b) is slow convergence, not a spurious solution: the λ = 0 "
              f"endpoint is not a (near-)critical point, ‖SX‖_F/‖X‖_F ≥ {B_NOT_CRITICAL:g}·scale "
              f"(ours: {z['‖SX‖/‖X‖/scale']:.3g}; gradient norm {z['‖∇f(X)‖_F']:.3g}, smallest "
              f"Hessian eigenvalue {z['λmin(∇²f(X))']:.3g}). A spurious solution would have "
              "SX ≈ 0 with λmin(S) < 0; this claim failing would support the paper's reading",
              at_least(float(z["‖SX‖/‖X‖/scale"]), B_NOT_CRITICAL, scale=B_NOT_CRITICAL),
              kind="extension", protocol=B_CERT_PROTOCOL),
    ]


def panel_b_cert_glue(result: Result) -> dict:
    t = panel_b_cert_table(result)
    if not len(t):
        return {}
    z = t[t["λ of the run"] == 0.0].iloc[0]
    return {"b_cert_lmin": float(z["λmin(S)/scale"]), "b_cert_res": float(z["‖SX‖/‖X‖/scale"]),
            "b_cert_grad": float(z["‖∇f(X)‖_F"]), "b_cert_hess": float(z["λmin(∇²f(X))"]),
            "b_cert_verdict": str(z["verdict"]), "b_cert_nc": B_NOT_CRITICAL,
            "b_cert_ng": B_NOT_GLOBAL}
