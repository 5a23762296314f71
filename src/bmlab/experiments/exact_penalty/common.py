r"""Shared helpers of the part "Exact penalties" (paper 000) (Prop. 1, Theorem 1, Corollaries 1–2).

* :func:`make_family`: the instance families (matrix sensing, sensing with a ridge regulariser,
  sNMF with PSD and with indefinite :math:`M`).
* :func:`biconvexity_check`: block and joint Hessian spectra of :math:`F_\lambda` at random
  points (Proposition 1).
* :func:`symmetric_critical_point`, :func:`lifting_check`: a critical point of (3) found by
  (projected) gradient descent is a critical point of (5) for every :math:`\lambda`.
"""
from __future__ import annotations

import time

import numpy as np
import pandas as pd

from ...bounds.exact_penalty import inequality9, theorem1_bound
from ...factorizations.asymmetric import (kkt_residual, penalized_grad, penalized_hessian,
                                          penalized_value, symmetric_grad,
                                          symmetric_kkt_residual, symmetric_value)
from ...problems.quadratic import sensing_instance
from ...problems.snmf import SymmetricNMF, random_indefinite_nonneg, random_psd_nonneg
from ...solvers.alternating import alternating_minimization
from ...solvers.gd import gradient_descent

__all__ = ["balance_stats", "FAMILIES", "make_family", "random_point",
           "biconvexity_check", "THEOREM1_FAMILIES", "make_theorem1_family", "critical_point_runs",
           "summarize_family", "asym_threshold",
           "symmetric_critical_point", "lifting_check", "publish", "SplitLandscape",
           "newton_critical_points", "theorem1_excess", "snmf_adp_target"]

#: Instance families used across the part.
FAMILIES = ("sensing", "sensing-ridge", "snmf-psd", "snmf-indefinite")


def make_family(name: str, rng: np.random.Generator, *, n: int = 8, r: int = 2, mu: float = 0.5):
    """One instance of family ``name`` (see :data:`FAMILIES`) of size ``n`` and rank ``r``."""
    if name == "sensing":
        return sensing_instance(n, r, 4 * n * r, rng)[0]
    if name == "sensing-ridge":
        return sensing_instance(n, r, 4 * n * r, rng, mu=mu)[0]
    if name == "snmf-psd":
        return SymmetricNMF(random_psd_nonneg(n, r, rng), r)
    if name == "snmf-indefinite":
        return SymmetricNMF(random_indefinite_nonneg(n, rng), r)
    raise ValueError(f"family must be one of {FAMILIES}, got {name!r}")


def random_point(problem, rng: np.random.Generator, scale: float = 1.0) -> np.ndarray:
    """A random factor: uniform on [0, scale] for sign-constrained problems, Gaussian otherwise."""
    shape = (problem.n, problem.r)
    if problem.reg.is_indicator:
        return scale * rng.uniform(size=shape)
    return scale * rng.standard_normal(shape) / np.sqrt(problem.n)


def biconvexity_check(problem, lams, n_points: int, rng: np.random.Generator) -> pd.DataFrame:
    r"""At ``n_points`` random :math:`(X, Y)` per :math:`\lambda`: the smallest eigenvalue of the
    block Hessians :math:`\nabla^2_{XX}F_\lambda`, :math:`\nabla^2_{YY}F_\lambda` and of the joint
    Hessian, and :math:`|F_\lambda(X, X) - h(X)|`."""
    N = problem.n * problem.r
    rows = []
    for lam in lams:
        for _ in range(n_points):
            X, Y = random_point(problem, rng), random_point(problem, rng)
            H = penalized_hessian(problem, X, Y, lam)
            rows.append({
                "lam": lam, "mu": problem.reg.mu,
                "lmin_XX": np.linalg.eigvalsh(H[:N, :N])[0],
                "lmin_YY": np.linalg.eigvalsh(H[N:, N:])[0],
                "lmin_joint": np.linalg.eigvalsh(H)[0],
                "lift_err": abs(penalized_value(problem, X, X, lam) - symmetric_value(problem, X)),
            })
    return pd.DataFrame(rows)


def symmetric_critical_point(problem, rng: np.random.Generator, *, step: float = 0.05,
                             max_iter: int = 50000, tol: float = 1e-10):
    r"""A critical point of (3), :math:`h(X) = f(XX^\top) + g(X)`, by gradient descent
    (projected onto :math:`X \ge 0` for sNMF) from a random start, using
    :func:`bmlab.solvers.gd.gradient_descent`. Stops when the KKT residual of (3) is below
    ``tol``. Returns the :class:`~bmlab.solvers.base.SolverResult`."""
    project = problem.reg.project if problem.reg.is_indicator else None
    X0 = random_point(problem, rng)
    return gradient_descent(
        lambda X: symmetric_grad(problem, X), X0, step=step, max_iter=max_iter, project=project,
        objective=lambda X: symmetric_value(problem, X),
        stop=lambda k, X, g: symmetric_kkt_residual(problem, X) <= tol,
        record_every=max(1, max_iter // 200))


def lifting_check(problem, X: np.ndarray, lams) -> pd.DataFrame:
    r"""KKT residual of (5) at :math:`(X, X)` for each :math:`\lambda` (zero at a critical point
    of (3), for every :math:`\lambda`), next to the residual of (3)."""
    r3 = symmetric_kkt_residual(problem, X)
    return pd.DataFrame([{"lam": lam, "kkt_split": kkt_residual(problem, X, X, lam), "kkt_sym": r3}
                         for lam in lams])


def balance_stats(X: np.ndarray, Y: np.ndarray) -> dict:
    r"""Column and Gram balance of a pair (Corollary 2(a), (d)): the largest
    :math:`|\|x_j\|^2 - \|y_j\|^2|` and :math:`\|X^\top X - Y^\top Y\|_F`, both divided by
    :math:`\max(1, \|X\|_F^2)`."""
    s = max(1.0, float(np.vdot(X, X)))
    col = np.abs(np.sum(X * X, 0) - np.sum(Y * Y, 0)).max() / s
    gram = float(np.linalg.norm(X.T @ X - Y.T @ Y)) / s
    return {"col_imbalance": float(col), "gram_imbalance": gram,
            "xy_norm": float(np.linalg.norm(X) + np.linalg.norm(Y)), "x_sq": s}


# ----------------------------------------------------------------- Theorem 1 on instance families
#: Families of the Theorem 1 chapter.
THEOREM1_FAMILIES = ("snmf-psd", "snmf-indefinite", "sensing", "sensing-ridge")


def make_theorem1_family(name: str, rng: np.random.Generator, *, n: int = 8, r: int = 2,
                         mu: float = 0.2):
    r"""An instance of a Theorem 1 family. The sensing families measure an *indefinite* truth
    :math:`M^* = u_1u_1^\top - u_2u_2^\top` (plus a PSD part of rank :math:`r - 1`) with
    :math:`m = 4n^2` measurements, so that asymmetric critical points exist for small
    :math:`\lambda` (with a PSD truth they are rare)."""
    if name == "snmf-psd":
        return SymmetricNMF(random_psd_nonneg(n, r, rng), r)
    if name == "snmf-indefinite":
        return SymmetricNMF(random_indefinite_nonneg(n, rng), r)
    if name in ("sensing", "sensing-ridge"):
        signs = np.r_[np.ones(r), -1.0]
        return sensing_instance(n, r, 4 * n * n, rng, r_true=r + 1, signs=signs,
                                mu=mu if name == "sensing-ridge" else 0.0)[0]
    raise ValueError(f"family must be one of {THEOREM1_FAMILIES}, got {name!r}")


def critical_point_runs(problem, lams, n_starts: int, rng: np.random.Generator, *,
                        max_iter: int = 5000, tol: float = 1e-9, block: str = "exact",
                        keep: bool = False) -> pd.DataFrame:
    """Run fixed-lambda AM from ``n_starts`` random asymmetric starts for each ``lam``; one row
    per run (see the module docstring). ``keep=True`` adds the limit ``(X, Y)`` in column ``XY``."""
    rows = []
    mu = problem.reg.mu
    for lam in np.asarray(lams, dtype=float):
        for s in range(n_starts):
            X0, Y0 = random_point(problem, rng), random_point(problem, rng)
            t0 = time.perf_counter()
            res = alternating_minimization(problem, X0, Y0, penalty=float(lam), max_iter=max_iter,
                                           tol=tol, block=block, record_every=max_iter)
            wall = time.perf_counter() - t0
            X, Y = res.x
            G = problem.grad_f(X @ Y.T)
            ineq = inequality9(problem, X, Y, lam)
            dn = ineq["D_norm"]
            res_norm = kkt_residual(problem, X, Y, lam)
            row = {
                "lam": lam, "start": s, "status": res.status, "sweeps": res.n_iter, "time": wall,
                "residual": res_norm, "gap": dn,
                "asym": bool(dn > 1e-6 * max(1.0, np.linalg.norm(X))),
                "bound": theorem1_bound(G, mu),
                "lhs9": ineq["lhs"], "mid9": ineq["mid"], "rhs9": ineq["rhs"],
                # inequality (9) holds at exact critical points; allow the residual's effect
                "slack_tol9": 10 * res_norm * (1 + dn) + 1e-10,
                "h_mid": symmetric_value(problem, 0.5 * (X + Y)),
            }
            if keep:
                row["XY"] = (X, Y)
            rows.append(row)
    return pd.DataFrame(rows)


def asym_threshold(df: pd.DataFrame) -> float:
    """Largest lambda at which a converged run ended asymmetric (0 if none)."""
    a = df[(df["status"] == "converged") & df["asym"]]
    return float(a["lam"].max()) if len(a) else 0.0


def summarize_family(df: pd.DataFrame) -> dict:
    r"""Theorem 1 bookkeeping over the converged runs of one instance:

    ``n_conv``, ``n_asym``; ``thm1_violations`` (asymmetric limits with :math:`\lambda > b`
    beyond the slack that the KKT residual allows, ``slack_tol9`` / (2 ``gap``:sup:`2`));
    ``ineq9_violations``; ``lam_emp`` the empirical threshold (:func:`asym_threshold`);
    ``bound_cert`` the largest :math:`b` among asymmetric limits at ``lam_emp``;
    ``bound_sup`` the largest :math:`b` over all converged limits;
    ``ratio_cert = lam_emp / bound_cert`` and ``ratio_sup = lam_emp / bound_sup`` (both
    :math:`\le 1` by Theorem 1; nan/0 when no asymmetric limit was found);
    ``max_lam_over_b`` the largest :math:`\lambda / b` over asymmetric limits (1 when (10) is
    attained).
    """
    c = df[df["status"] == "converged"]
    a = c[c["asym"]]
    # at an approximate critical point (KKT residual res) inequality (9) holds up to the slack
    # ``slack_tol9``; divided by 2 ||D||^2 it is the matching slack on lambda <= b
    viol = a[a["lam"] > a["bound"] + a["slack_tol9"] / (2 * a["gap"] ** 2)]
    tol = c["slack_tol9"]
    iv = c[(c["lhs9"] > c["mid9"] + tol) | (c["mid9"] > c["rhs9"] + tol)]
    lam_emp = asym_threshold(df)
    at = a[a["lam"] == lam_emp]
    bound_cert = float(at["bound"].max()) if len(at) else float("nan")
    bound_sup = float(c["bound"].max()) if len(c) else float("nan")
    return {
        "n_runs": len(df), "n_conv": len(c), "n_asym": len(a),
        "thm1_violations": len(viol), "ineq9_violations": len(iv),
        "lam_emp": lam_emp, "bound_cert": bound_cert, "bound_sup": bound_sup,
        "ratio_cert": lam_emp / bound_cert if len(at) else float("nan"),
        "max_lam_over_b": float((a["lam"] / a["bound"]).max()) if len(a) else float("nan"),
        "ratio_sup": lam_emp / bound_sup if bound_sup > 0 else float("nan"),
    }


def publish(ch, *, tables: dict | None = None, glue: dict | None = None,
            timings: dict | None = None) -> None:
    """Save ``tables`` (``{name: DataFrame}``), glue ``glue`` (``{key: value}``) and record
    ``timings`` (``{key: seconds}``, kept out of the result tables) on the chapter ``ch``."""
    for name, df in (tables or {}).items():
        ch.save_table(df, name)
    for key, value in (glue or {}).items():
        ch.glue(key, value)
    for key, seconds in (timings or {}).items():
        ch.record_timing(key, seconds)


# ----------------------------------------------------------------- critical points by Newton
class SplitLandscape:
    r"""The smooth split :math:`F_\lambda` as a landscape problem for
    :func:`bmlab.landscape.newton_refine`: the variable is :math:`W = [X; Y]`
    (:math:`2n \times r`), ``grad`` and ``hessian`` are those of :math:`F_\lambda` (dense
    Hessian in the order of ``W.ravel()``). Only for unconstrained problems (no indicator)."""

    def __init__(self, problem, lam: float) -> None:
        if problem.reg.is_indicator:
            raise ValueError("Newton on the gradient needs an unconstrained problem (no indicator)")
        self.problem, self.lam, self.n = problem, float(lam), problem.n

    def split(self, W: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return W[:self.n], W[self.n:]

    def grad(self, W: np.ndarray) -> np.ndarray:
        gx, gy = penalized_grad(self.problem, *self.split(W), self.lam)
        return np.vstack([gx, gy])

    def hessian(self, W: np.ndarray) -> np.ndarray:
        return penalized_hessian(self.problem, *self.split(W), self.lam)


def newton_critical_points(problem, lams, n_starts: int, rng: np.random.Generator, *,
                           tol: float = 1e-10, max_iter: int = 60,
                           neg_tol: float = 1e-6) -> pd.DataFrame:
    r"""Critical points of :math:`F_\lambda` of any index (minima *and* saddles) found by Newton's
    method on :math:`\nabla F_\lambda = 0` (:func:`bmlab.landscape.newton_refine`) from
    ``n_starts`` independent random :math:`(X^0, Y^0)` per :math:`\lambda`. One row per start,
    with the columns of :func:`critical_point_runs` (``status`` is Newton's: ``converged`` when
    the gradient norm is below ``tol``) plus ``hess_min`` (smallest Hessian eigenvalue) and
    ``n_neg`` (eigenvalues below ``-neg_tol``: a saddle when positive)."""
    from ...landscape import newton_refine

    rows = []
    mu = problem.reg.mu
    for lam in np.asarray(lams, dtype=float):
        land = SplitLandscape(problem, lam)
        for s in range(n_starts):
            W0 = np.vstack([random_point(problem, rng), random_point(problem, rng)])
            res = newton_refine(land, W0, tol=tol, max_iter=max_iter)
            X, Y = land.split(res.x)
            ineq = inequality9(problem, X, Y, lam)
            dn = ineq["D_norm"]
            res_norm = kkt_residual(problem, X, Y, lam)
            ev = np.linalg.eigvalsh(land.hessian(res.x))
            rows.append({
                "lam": lam, "start": s, "status": res.status, "sweeps": res.n_iter,
                "residual": res_norm, "gap": dn,
                "asym": bool(dn > 1e-6 * max(1.0, np.linalg.norm(X))),
                "bound": theorem1_bound(problem.grad_f(X @ Y.T), mu),
                "lhs9": ineq["lhs"], "mid9": ineq["mid"], "rhs9": ineq["rhs"],
                "slack_tol9": 10 * res_norm * (1 + dn) + 1e-10,
                "hess_min": float(ev[0]), "n_neg": int(np.sum(ev < -neg_tol)),
            })
    return pd.DataFrame(rows)


def theorem1_excess(df: pd.DataFrame) -> pd.DataFrame:
    r"""Per converged asymmetric critical point: ``excess10`` :math:`= (\lambda - b - s)/\lambda`,
    with :math:`s` = ``slack_tol9`` / (2 ``gap``:sup:`2`) the slack on :math:`\lambda \le b` that
    the residual allows (Theorem 1: ``excess10`` :math:`\le 0`); ``excess9`` :math:`=
    (\text{lhs} - \text{mid} - \text{slack})/\text{lhs}`, the left inequality of (9)
    (:math:`\le 0`); ``ratio`` :math:`= \lambda / b`."""
    a = df[(df["status"] == "converged") & df["asym"]]
    s = a["slack_tol9"] / (2 * a["gap"] ** 2)
    return pd.DataFrame({"lam": a["lam"], "bound": a["bound"],
                         "excess10": (a["lam"] - a["bound"] - s) / a["lam"],
                         "excess9": (a["lhs9"] - a["mid9"] - a["slack_tol9"]) / a["lhs9"],
                         "ratio": a["lam"] / a["bound"]})


def snmf_adp_target(problem, X: np.ndarray, Y: np.ndarray) -> float:
    r"""The max-type level of AMadp for sNMF-like problems (spec 000 §3):
    :math:`\tfrac12(\|XY^\top\|_2 - \lambda_{\min}(M))`; on the scalar toy :math:`M = m`."""
    lmin = float(problem.lambda_min) if hasattr(problem, "lambda_min") else float(problem.m)
    return 0.5 * (float(np.linalg.norm(X @ Y.T, 2)) - lmin)
