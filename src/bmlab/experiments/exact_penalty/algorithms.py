r"""Chapter ``exact-penalty/algorithms``: Algorithm 1 of paper 000 (AM and HAM) under the penalty
rules, and the nADMM baseline, on sNMF instances (spec 000 §3).

:func:`compare_algorithms` runs every method from one start on one instance; :func:`run` does so
on a PSD and an indefinite instance, and runs AMour and the fixed start bound (12) on further
instances so that "AMour needs fewer sweeps" is a paired comparison over several instances.
Wall times go to ``Result.timings``, never into the tables.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from ...bounds.exact_penalty import corollary1_bound12
from ...claims import Claim, all_of, at_least, at_most, claim, compare, fraction, qualitative
from ...factorizations.asymmetric import symmetric_kkt_residual, symmetric_value
from ...factorizations.penalty import (AccuracyPenalty, AdaptivePenalty, AlgorithmDependentPenalty,
                                       ExactPenalty, FixedPenalty)
from ...problems.snmf import SymmetricNMF, random_indefinite_nonneg, random_psd_nonneg
from ...solvers.alternating import alternating_minimization, nonconvex_admm
from ...validation import check_int, check_real
from ..base import ExperimentParams
from .common import POINT_CERT_COLS, point_certificate, snmf_adp_target

__all__ = ["rule_set", "compare_algorithms", "Params", "Result", "run", "claims", "glue_values",
           "tables", "QUOTES", "PLOT_LABELS", "CLAIM_N", "CLAIM_MAX_ITER"]

QUOTES = {
    "thm2": "We establish convergence results for the fixed- setting (Theorem 2)",
    "nadmm": "However, as a penalty-method approach, nADMM requires careful tuning of the penalty "
             "parameter.",
}
PLOT_LABELS = ["AM fixed (12)", "AM AMagd", "AM AMadp", "AM AMpca", "AM AMour", "HAM AMour",
               "HAM fixed (12)", "nADMM rho=0.1", "nADMM rho=10"]
SYM_TOL = 1e-6
CERT_TOL = 1e-6
"""Relative tolerance of the dual certificates of alg.certificate_psd (pre-registered)."""
CLAIM_N = 16
"""Default matrix size of the instances the convergence and sweep-count claims are decided on,
the same in both profiles (the quick profile's size): whether a run converges *within a sweep
budget* depends on the size, so the claims pin it (the paper profile's larger instances are
shown in the tables)."""
CLAIM_MAX_ITER = 1500
"""Default sweep budget of those runs (both profiles)."""


def rule_set(lam_start: float, *, lam0_small: float = 1e-3, eps: float = 0.01, rho: float = 1.05,
             pca_cap: float = 1e4) -> dict:
    """``{label: (rule, lam0)}``: fixed (12), AMagd, AMadp (max-type reading of rule (7), spec
    000 §3, and geometric growth as a contrast), AMpca, AMour (aggressive and conservative);
    ``lam_start`` is the fixed penalty and the first one of AMpca/AMour."""
    return {
        "fixed (12)": (FixedPenalty(lam_start), None),
        "AMagd": (AlgorithmDependentPenalty(), lam0_small),
        "AMadp": (AdaptivePenalty(rho=1.0, target=snmf_adp_target), lam0_small),
        "AMadp (geometric)": (AdaptivePenalty(rho=rho), lam0_small),
        "AMpca": (AccuracyPenalty(lam_max=pca_cap), lam_start),
        "AMour": (ExactPenalty(eps=eps), lam_start),
        "AMour (cons.)": (ExactPenalty(eps=eps, mode="conservative"), lam_start),
    }


def compare_algorithms(problem, X0, *, rhos=(0.01, 0.1, 1.0, 10.0), max_iter: int = 2000,
                       tol: float = 1e-8, eps: float = 0.01, rules=None) -> tuple[pd.DataFrame, dict]:
    r"""Run AM and HAM under every rule of :func:`rule_set` (or only those named in ``rules``)
    and nADMM for each ``rho``, all from :math:`X^0 = Y^0`. Returns a table (one row per run)
    and ``{label: SolverResult}``. ``h - h_best`` compares the symmetric objective at
    :math:`(X + Y)/2` with the best of all runs; ``min decrease margin`` is Theorem 2's
    sufficient-decrease margin (minimum over sweeps); ``time [s]`` the wall time."""
    b12 = corollary1_bound12(problem.f(X0 @ X0.T), 0.0, problem.L, mu=problem.reg.mu)
    rows, results = [], {}
    for label, (rule, lam0) in rule_set(1.01 * b12, eps=eps).items():
        if rules is not None and label not in rules:
            continue
        for block, bname in [("exact", "AM"), ("columns", "HAM")]:
            t0 = time.perf_counter()
            res = alternating_minimization(problem, X0, X0, penalty=rule, lam0=lam0, max_iter=max_iter,
                                           tol=tol, block=block, check_decrease=True)
            wall = time.perf_counter() - t0
            results[f"{bname} {label}"] = res
            rows.append({"method": bname, "rule": label, "status": res.status, "iterations": res.n_iter,
                         "time [s]": wall, "final lambda": float(res.history["lam"][-1]),
                         "min decrease margin": float(np.nanmin(res.history["decrease_margin"][1:]))
                         if res.n_iter else np.nan, "gap history": np.asarray(res.history["gap"]),
                         "res": res})
    for rho in rhos:
        t0 = time.perf_counter()
        res = nonconvex_admm(problem, X0, X0, rho=rho, max_iter=max_iter, tol=tol)
        wall = time.perf_counter() - t0
        results[f"nADMM rho={rho:g}"] = res
        rows.append({"method": "nADMM", "rule": f"rho={rho:g}", "status": res.status,
                     "iterations": res.n_iter, "time [s]": wall, "final lambda": rho,
                     "min decrease margin": np.nan, "gap history": np.array([]), "res": res})
    for row in rows:
        X, Y = row.pop("res").x
        W = 0.5 * (X + Y)
        row["final |X-Y| (rel)"] = float(np.linalg.norm(X - Y)) / max(1.0, float(np.linalg.norm(X)))
        row["h"] = symmetric_value(problem, W)
        row["KKT (3)"] = symmetric_kkt_residual(problem, W)
        row.update(point_certificate(problem, X, Y, tol=CERT_TOL))
    df = pd.DataFrame(rows)
    df["h - h_best"] = df["h"] - df["h"].min()
    return df, results


@dataclass(frozen=True)
class Params(ExperimentParams):
    eps: float = 0.01
    max_iter: int = 1500
    n: int = 16
    r: int = 3
    rhos: tuple = (0.01, 0.1, 1.0, 10.0)
    extra_instances: int = 2
    claim_n: int = CLAIM_N
    claim_max_iter: int = CLAIM_MAX_ITER
    PRESETS: ClassVar[dict[str, dict[str, Any]]] = {
        "quick": {"max_iter": 1500, "n": 16, "extra_instances": 4},
        "paper": {"max_iter": 5000, "n": 40, "extra_instances": 4},
    }

    def validate(self) -> None:
        check_real("eps", self.eps, lo=0, lo_open=True)
        check_int("max_iter", self.max_iter, lo=2)
        check_int("n", self.n, lo=2)
        check_int("r", self.r, lo=1, hi=self.n)
        check_int("extra_instances", self.extra_instances, lo=0)
        check_int("claim_n", self.claim_n, lo=2)
        check_int("claim_max_iter", self.claim_max_iter, lo=2)
        if not self.rhos or min(self.rhos) <= 0:
            raise ValueError(f"rhos must be positive, got {self.rhos!r}")


@dataclass
class Result:
    params: Params
    table: pd.DataFrame            # every run on the two main instances
    sweeps: pd.DataFrame           # AMour vs fixed (12), AM and HAM, pinned size, every instance
    claim_table: pd.DataFrame      # fixed (12) and AMour runs at the pinned size, every instance
    results: dict = field(default_factory=dict, repr=False)   # main instances: label -> run
    timings: dict = field(default_factory=dict)


def _instance(kind: str, n: int, r: int, rng: np.random.Generator):
    M = random_psd_nonneg(n, r, rng) if kind == "psd" else random_indefinite_nonneg(n, rng)
    return SymmetricNMF(M, r), 0.3 * rng.uniform(size=(n, r))


def run(params: Params, rng: np.random.Generator) -> Result:
    """Every method on a PSD and an indefinite instance of size ``params.n`` (the tables and the
    figure), and, for the claims, AMour and the fixed bound (12) on instances of the pinned size
    ``claim_n`` with ``claim_max_iter`` sweeps in both profiles (the same two instances
    at that size, plus ``extra_instances`` more)."""
    p = params
    kinds = ["psd", "indefinite"] + [("psd", "indefinite")[k % 2] for k in range(p.extra_instances)]
    pinned = p.n == p.claim_n and p.max_iter == p.claim_max_iter
    tables, claim_tables, results, timings, sweeps = [], [], {}, {}, []
    for k, (kind, g) in enumerate(zip(kinds, rng.spawn(len(kinds)))):
        main = k < 2
        seed = g.bit_generator.seed_seq
        name = kind if main else f"{kind} #{k}"
        if main:
            prob, X0 = _instance(kind, p.n, p.r, g)
            df, res = compare_algorithms(prob, X0, max_iter=p.max_iter, eps=p.eps, rhos=p.rhos)
            for lab, t in zip(df["method"] + " " + df["rule"], df.pop("time [s]")):
                timings[f"{name} {lab}"] = float(t)
            tables.append(df.assign(instance=kind))
            results[kind] = res
        if not (main and pinned):
            prob, X0 = _instance(kind, p.claim_n, p.r, np.random.default_rng(seed))
            df, _ = compare_algorithms(prob, X0, max_iter=p.claim_max_iter, eps=p.eps, rhos=(),
                                       rules=("fixed (12)", "AMour", "AMour (cons.)"))
            for lab, t in zip(df["method"] + " " + df["rule"], df.pop("time [s]")):
                timings[f"{name} n={p.claim_n} {lab}"] = float(t)
        claim_tables.append(df.assign(instance=name))
        for m in ("AM", "HAM"):
            it = df.set_index(["method", "rule"])["iterations"]
            sweeps.append({"instance": name, "method": m, "AMour": int(it[(m, "AMour")]),
                           "fixed (12)": int(it[(m, "fixed (12)")])})
    claim_table = pd.concat(claim_tables, ignore_index=True)
    claim_table = claim_table[claim_table["rule"].isin(["fixed (12)", "AMour", "AMour (cons.)"])
                              & claim_table["method"].isin(["AM", "HAM"])].reset_index(drop=True)
    return Result(p, pd.concat(tables, ignore_index=True), pd.DataFrame(sweeps), claim_table,
                  results, timings)


def tables(result: Result) -> dict[str, pd.DataFrame]:
    cols = ["instance", "method", "rule", "status", "iterations", "final |X-Y| (rel)",
            "h - h_best", "KKT (3)", "final lambda", "min decrease margin"]
    shown = result.table[cols].copy()
    for c in cols[5:]:
        shown[c] = shown[c].map("{:.2e}".format)
    lm, rs, v, note = POINT_CERT_COLS
    cert = result.table[["instance", "method", "rule", "status", lm, rs, v, note]].copy()
    for c in (lm, rs):
        cert[c] = cert[c].map("{:.2e}".format)
    return {"tab-alg": shown, "tab-alg-sweeps": result.sweeps, "tab-alg-certificate": cert}


def _fixed(result: Result) -> pd.DataFrame:
    t = result.table
    return t[(t["rule"] == "fixed (12)") & t["method"].isin(["AM", "HAM"])]


def glue_values(result: Result) -> dict:
    t, p = result.table, result.params
    amham = t[t["method"].isin(["AM", "HAM"])]
    it = t.set_index(["instance", "method", "rule"])["iterations"]
    out = {"min_margin": float(amham["min decrease margin"].min()), "n_amham": len(amham),
           "n": p.n, "n_it": p.max_iter, "fix_nconv": int((_fixed(result)["status"] != "converged").sum()),
           "pca_gap": float(t.loc[t["rule"] == "AMpca", "h - h_best"].min()),
           "adp_lam": float(t.loc[t["rule"] == "AMadp", "final lambda"].max()),
           "adp_geo_lam": float(t.loc[t["rule"] == "AMadp (geometric)", "final lambda"].min()),
           "adp_status": ", ".join(t.loc[t["rule"] == "AMadp", "status"]),
           "adp_gap": float(t.loc[t["rule"] == "AMadp", "h - h_best"].max())}
    adm = t[t["method"] == "nADMM"]
    out.update(adm_conv=int((adm["status"] == "converged").sum()), adm_n=len(adm),
               n_pairs=len(result.sweeps), n_sweep_inst=result.sweeps["instance"].nunique())
    ct = result.claim_table
    ct = ct[ct["rule"].isin(["fixed (12)", "AMour"])]
    hit = ct[ct["status"] != "converged"]
    out.update(pin_runs=len(ct), pin_budget=len(hit), claim_n=p.claim_n, claim_it=p.claim_max_iter,
               pin_budget_where=", ".join(sorted(set(hit["instance"] + " " + hit["method"] + " "
                                                     + hit["rule"]))) or "none")
    for i in ("psd", "indefinite"):
        for m in ("AM", "HAM"):
            out[f"it_our_{i}_{m}"] = int(it[(i, m, "AMour")])
            out[f"it_fix_{i}_{m}"] = int(it[(i, m, "fixed (12)")])
    v = POINT_CERT_COLS[2]
    psd = _psd_converged(result.claim_table)
    main_ok = {i: int((t.loc[t["instance"] == i, v] == "certified").sum())
               for i in ("psd", "indefinite")}
    out.update(cert_psd_n=len(psd), cert_psd_ok=int((psd[v] == "certified").sum()),
               cert_psd_inst=psd["instance"].nunique(), cert_psd_ok_main=main_ok["psd"],
               cert_indefinite_ok=main_ok["indefinite"], cert_main_n=int((t["instance"] == "psd").sum()))
    return out


def _psd_converged(ct: pd.DataFrame) -> pd.DataFrame:
    """Converged runs on the PSD instances of the pinned size (claim alg.certificate_psd)."""
    return ct[ct["instance"].str.startswith("psd") & (ct["status"] == "converged")]


def _instance_votes(sw: pd.DataFrame, budget: int) -> pd.Series:
    """One vote per instance: the sum over AM and HAM of sign(fixed - AMour) (> 0: AMour needed
    fewer sweeps); a method where both runs hit the budget is censored and votes 0."""
    d = np.sign(sw["fixed (12)"] - sw["AMour"]).where(
        ~((sw["fixed (12)"] >= budget) & (sw["AMour"] >= budget)), 0)
    return d.groupby(sw["instance"], sort=False).sum()


def claims(result: Result) -> list[Claim]:
    """The chapter's pre-registered claims, decided from ``result`` alone (see :mod:`bmlab.claims`)."""
    t = result.table
    amham = t[t["method"].isin(["AM", "HAM"])]
    mind = float(amham["min decrease margin"].min())
    ct = result.claim_table
    cn, cit = result.params.claim_n, result.params.claim_max_iter
    main = ct["instance"].isin(["psd", "indefinite"])
    ok_run = (ct["status"] == "converged") & (ct["final |X-Y| (rel)"] <= SYM_TOL)
    fx_inst = ok_run[ct["rule"] == "fixed (12)"].groupby(ct["instance"]).all()
    fx_main = ok_run[(ct["rule"] == "fixed (12)") & main].groupby(ct["instance"]).all()
    our_rows = ct["rule"].str.startswith("AMour")
    our_inst = ok_run[our_rows].groupby(ct["instance"]).all()
    our_main = ok_run[our_rows & main].groupby(ct["instance"]).all()
    our_gap = float(ct.loc[our_rows, "final |X-Y| (rel)"].max())
    fx = _fixed(result)
    approaching = [bool(h[-1] < h[len(h) // 2]) for h in fx["gap history"]]
    loose = [(st == "converged" and g <= SYM_TOL) or (st == "max_iter" and a)
             for st, g, a in zip(fx["status"], fx["final |X-Y| (rel)"], approaching)]
    adm = t[t["method"] == "nADMM"]
    conv = adm["status"] == "converged"
    sw = result.sweeps
    votes = _instance_votes(sw, cit)
    v4 = votes.iloc[:4]
    budget_reason = ("Theorem 2 is asymptotic and the sweep budget does not scale with n: on the "
                     "extra PSD instance #2 HAM hits the budget (1500 sweeps) with both AMour and "
                     "the fixed bound, and on PSD #4 HAM with the fixed bound does too")
    return [
        claim("alg.sufficient_decrease",
              "Theorem 2's sufficient decrease, F(before) - F(after) >= (lambda + mu/2)/2 ||step||^2, "
              "holds at every AM/HAM sweep (margin >= -1e-12): true for any exact minimiser of a "
              "(lambda + mu/2)-strongly convex block, so a self-check of the block solvers",
              at_least(mind, -1e-12, scale=1e-12), kind="check"),
        claim("alg.fixed_symmetric",
              f"On every one of the {len(fx_inst)} instances of size n = {cn} (both profiles), AM and "
              f"HAM with the fixed penalty 1.01 x (12) converge (KKT residual <= 1e-8) to a "
              f"symmetric point (relative |X - Y| <= 1e-6) within {cit} sweeps (a budgeted, finite "
              "version of Theorem 2's asymptotic convergence: our extension; samples = instances)",
              fraction(int(fx_inst.sum()), len(fx_inst), at_least=1.0, min_samples=4),
              kind="extension", expected="fails", reason=budget_reason),
        claim("alg.fixed_symmetric_main",
              f"As alg.fixed_symmetric, on the two main instances only (PSD and indefinite, "
              f"n = {cn}, {cit} sweeps)",
              fraction(int(fx_main.sum()), len(fx_main), at_least=1.0, min_samples=2),
              kind="extension", exploratory=True,
              reason="the size and budget (n = 16, 1500 sweeps) were pinned to the quick values "
                     "after the paper profile (n = 40, 5000 sweeps) had failed, and only the two "
                     "main instances were counted; alg.fixed_symmetric decides on all instances"),
        claim("alg.fixed_symmetric_or_approaching",
              "No AM/HAM run with the fixed penalty 1.01 x (12) ends asymmetric: converged runs are "
              "symmetric, runs stopped by the budget have |X - Y| still decreasing (below its value "
              "at mid-run)",
              fraction(int(sum(loose)), len(fx), at_least=1.0, min_samples=4),
              kind="paper", quote=QUOTES["thm2"], exploratory=True,
              reason="the 'still decreasing' allowance for runs stopped by the budget was added when "
                     "the chapter was first written, after runs with the fixed start bound had "
                     "been seen to need more sweeps than the budget; alg.fixed_symmetric is the "
                     "strict original"),
        claim("alg.amour_converges",
              f"AMour (both quantities, AM and HAM) converges to a symmetric KKT point (relative "
              f"|X - Y| <= 1e-6) within {cit} sweeps on every one of the {len(our_inst)} instances "
              f"of size n = {cn} (samples = instances; the paper analyses rule (17) only on the toys)",
              all_of(fraction(int(our_inst.sum()), len(our_inst), at_least=1.0, min_samples=4),
                     at_most(our_gap, SYM_TOL, scale=SYM_TOL)),
              kind="extension", expected="fails", reason=budget_reason),
        claim("alg.amour_converges_main",
              f"As alg.amour_converges, on the two main instances only (n = {cn}, {cit} sweeps)",
              fraction(int(our_main.sum()), len(our_main), at_least=1.0, min_samples=2),
              kind="extension", exploratory=True,
              reason="pinned to n = 16 and 1500 sweeps after the paper profile had failed, and "
                     "decided on the two main instances only; alg.amour_converges uses all"),
        claim("alg.amour_fewer_sweeps",
              "AMour needs fewer sweeps than the fixed start bound (12): one-sided sign test over "
              f"the first {len(v4)} instances of size n = {cn}, one vote per instance (the sum of "
              "the AM and HAM signs; a method whose two runs both hit the budget is a tie)",
              compare(-v4.to_numpy(), np.zeros(len(v4)), better="lower", min_samples=3),
              kind="extension", expected="fails",
              reason="with 4 independent instances a sign test cannot reach p <= 0.05 (the "
                     "smallest p is 1/16; min_samples 3 untied instances only guards against "
                     "ties); the earlier 8-pair form counted AM and HAM on one "
                     "instance as independent, and on the first PSD instance exact AM with the "
                     "fixed bound converges in 40 sweeps against 306 for AMour"),
        claim("alg.amour_fewer_sweeps_12",
              "AMour needs fewer sweeps than the fixed start bound (12): one-sided sign test over "
              f"all {len(votes)} instances of size n = {cn}, one vote per instance (as "
              "alg.amour_fewer_sweeps); at least 5 untied instances, the smallest sample at "
              "which the test can reach p <= 0.05",
              compare(-votes.to_numpy(), np.zeros(len(votes)), better="lower", min_samples=5),
              kind="extension", exploratory=True,
              reason="the sample was enlarged from 4 to 6 instances after the 4-instance test "
                     "(alg.amour_fewer_sweeps) had failed"),
        claim("alg.nadmm_needs_tuning",
              "nADMM's outcome depends on its penalty rho: on the grid of rho some runs converge "
              "within the budget and some do not (a categorical verdict on the two main instances "
              "that depends on the budget: a run stopped by it can be nearly converged; a "
              "quality criterion tried in review, some rho ending >= 1e-3 above the best "
              "objective, held in the quick profile but not at the paper profile's size, so the "
              "dependence on rho is in speed, not clearly in the end point)",
              qualitative(bool(conv.any() and (~conv).any()),
                          ours=dict(zip(adm["instance"] + " " + adm["rule"], adm["status"])),
                          relation="some rho converge, some do not"),
              kind="paper", quote=QUOTES["nadmm"]),
        _certificate_claim(result),
    ]


def _certificate_claim(result: Result) -> Claim:
    lm, rs, v, _ = POINT_CERT_COLS
    psd, tol = _psd_converged(result.claim_table), CERT_TOL
    return claim(
        "alg.certificate_psd",
        f"On the PSD instances of size n = {result.params.claim_n} (M = WW^T with W >= 0 of rank "
        "r, so Z = M is the optimum, value 0, of the doubly non-negative relaxation "
        "min_{Z PSD, Z >= 0} ||M - Z||^2/2), every converged AM/HAM run with the fixed bound (12) "
        f"or AMour ends at a point the dual certificate certifies: lambda_min(S) >= -{tol:g} "
        f"scale, ||SX||/||X|| <= {tol:g} scale, verdict 'certified' (samples = converged runs, "
        f"{len(psd)} here)",
        all_of(at_least(psd[lm].to_numpy(), -tol, scale=tol),
               at_most(psd[rs].to_numpy(), tol, scale=tol),
               fraction(int((psd[v] == "certified").sum()), len(psd), at_least=1.0,
                        min_samples=6)),
        kind="check", protocol="AM/HAM, fixed (12) and AMour, pinned size and budget; "
                               "certificate tol 1e-6")
