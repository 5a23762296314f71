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
           "newton_critical_points", "theorem1_excess", "snmf_adp_target", "sdp_certificate_row",
           "CERT_COLS", "SDP_DIST", "SDP_DIST_TOL", "certificate_claims"]

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
    :func:`bmlab.solvers.newton.newton_refine`: the variable is :math:`W = [X; Y]`
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
                           neg_tol: float = 1e-6, keep: bool = False) -> pd.DataFrame:
    r"""Critical points of :math:`F_\lambda` of any index (minima *and* saddles) found by Newton's
    method on :math:`\nabla F_\lambda = 0` (:func:`bmlab.solvers.newton.newton_refine`) from
    ``n_starts`` independent random :math:`(X^0, Y^0)` per :math:`\lambda`. One row per start,
    with the columns of :func:`critical_point_runs` (``status`` is Newton's: ``converged`` when
    the gradient norm is below ``tol``) plus ``hess_min`` (smallest Hessian eigenvalue) and
    ``n_neg`` (eigenvalues below ``-neg_tol``: a saddle when positive), and with ``keep=True``
    ``XY`` (the point) and ``n_neg_sym`` (negative eigenvalues below ``-neg_tol`` of the Hessian
    restricted to symmetric directions :math:`(V, V)`, i.e. of the Hessian of
    :math:`X \mapsto F_\lambda(X, X) = h(X)`, the symmetric objective (3))."""
    from ...solvers.newton import newton_refine

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
            if keep:
                H = land.hessian(res.x)
                N = H.shape[0] // 2
                Hs = H[:N, :N] + H[:N, N:] + H[N:, :N] + H[N:, N:]   # P^T H P, P = [I; I]
                rows[-1]["n_neg_sym"] = int(np.sum(np.linalg.eigvalsh(Hs) < -neg_tol))
                rows[-1]["XY"] = (X, Y)
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


# ----------------------------------------------------------------- certificates (issue 14)
#: Column names of the certificate in the SDP tables.
CERT_COLS = ("lambda_min(S)", "||SX||/||X||", "certificate")
#: Column of the distance to the SDP solution.
SDP_DIST = "||XY^T - Z_sdp|| / ||Z_sdp||"
SDP_DIST_TOL = 1e-3
r"""Pre-registered tolerance on :math:`\|XY^\top - Z_{sdp}\|_F/\|Z_{sdp}\|_F` where the SDP is
tight. Near a minimiser a quadratic objective moves by :math:`\tfrac12\|\Delta Z\|^2`, so an
SDP solved to an objective accuracy :math:`\epsilon` (Clarabel: :math:`\sim 10^{-9}`) places
:math:`Z_{sdp}` within :math:`\sim\sqrt{2\epsilon}\approx 5\cdot10^{-5}` of the optimum; 1e-3
leaves a factor 20 for the conditioning of the instance, and is far below the distances
(> 0.1) where the rank-:math:`r` factorization cannot reach the SDP solution."""


def sdp_certificate_row(problem, X: np.ndarray, Y: np.ndarray, sdp, *, tol: float = 1e-6) -> dict:
    r"""One row of an SDP cross-check with the dual certificate (issue 14): the columns of
    :func:`bmlab.sdp.penalty.compare_with_sdp` (SDP status as the solver reported it, so an
    ``optimal_inaccurate`` solve shows as such; objective gap; :data:`SDP_DIST`; ranks) plus
    :func:`bmlab.sdp.certificate` at :math:`Z = \operatorname{sym}(XY^\top)`: ``lambda_min(S)``,
    ``||SX||/||X||``, ``certificate`` (the verdict), ``cert scale`` and ``cert infeasibility``.
    With ``sdp=None`` (a size where the SDP is not run) the SDP columns are NaN / ``"not run"``."""
    from ...sdp import certificate
    from ...sdp.penalty import compare_with_sdp

    if sdp is None:
        row = {"SDP status": "not run", "SDP objective": np.nan, "factorized objective": np.nan,
               "objective gap": np.nan, SDP_DIST: np.nan, "rank Z_sdp": -1,
               "rank XY^T": int(np.linalg.matrix_rank(X @ Y.T)), "r": int(X.shape[1]),
               "SDP time [s]": np.nan, "AM time [s]": np.nan}
    else:
        row = compare_with_sdp(problem, X, Y, sdp)
    c = certificate(problem, X, Y=Y, tol=tol)
    row.update({CERT_COLS[0]: c.lambda_min, CERT_COLS[1]: c.residual, CERT_COLS[2]: c.verdict,
                "cert scale": c.scale, "cert infeasibility": c.infeasibility})
    return row


def certificate_claims(prefix: str, tight: pd.DataFrame, loose: pd.DataFrame, where: str,
                       *, min_tight: int = 1, tight_expected: str = "holds",
                       tight_reason: str = "", tight_exploratory: bool = False) -> list:
    r"""The certificate and distance claims of an SDP cross-check (kind ``check``: software
    cross-checks of the factorized solution against the convex problem):

    * ``{prefix}.certificate_tight``: where the SDP solution has rank :math:`\le r` (tight), the
      factorized point is *certified*: :math:`\lambda_{\min}(S) \ge -10^{-6}\,\mathrm{scale}`
      and :math:`\|SX\|/\|X\| \le 10^{-6}\,\mathrm{scale}` (margins in units of that tolerance),
      on at least ``min_tight`` tight cases (``tight_expected``/``tight_reason``/
      ``tight_exploratory`` are passed to this claim);
    * ``{prefix}.sdp_distance_tight``: there, :data:`SDP_DIST` :math:`\le` :data:`SDP_DIST_TOL`;
    * ``{prefix}.certificate_loose`` (when there are such rows): where the SDP solution has rank
      above :math:`r`, the certificate does **not** certify the factorized point (its verdict
      agrees with the positive objective gap), i.e. :math:`\lambda_{\min}(S) <
      -10^{-6}\,\mathrm{scale}` or the point is infeasible; and the distance to the SDP
      solution is at least 10 :math:`\times` :data:`SDP_DIST_TOL`.
    """
    from ...claims import all_of, at_least, at_most, claim, qualitative

    out = []
    tol = 1e-6
    if len(tight):
        lm = (tight[CERT_COLS[0]] / tight["cert scale"]).to_numpy()
        rs = (tight[CERT_COLS[1]] / tight["cert scale"]).to_numpy()
        inf = tight["cert infeasibility"].to_numpy()
        out.append(claim(
            f"{prefix}.certificate_tight",
            f"{where}: where the SDP solution has rank <= r, the dual certificate proves the "
            "factorized point globally optimal for the convex problem: lambda_min(S) >= -1e-6 "
            "scale, ||SX||/||X|| <= 1e-6 scale and sym(XY^T) in the PSD cone to sqrt(1e-6) "
            "(the certificate's 'certified' for the quadratic problems here)",
            all_of(at_least(lm, -tol, scale=tol), at_most(rs, tol, scale=tol),
                   at_most(inf, np.sqrt(tol), scale=np.sqrt(tol)),
                   at_least(len(tight), min_tight - 0.5, scale=1.0)),
            kind="check", expected=tight_expected, reason=tight_reason,
            exploratory=tight_exploratory))
        out.append(claim(
            f"{prefix}.sdp_distance_tight",
            f"{where}: where the SDP solution has rank <= r, ||XY^T - Z_sdp||_F / ||Z_sdp||_F <= "
            f"{SDP_DIST_TOL:g} (pre-registered: sqrt of the SDP's objective accuracy, with room "
            "for conditioning)",
            at_most(tight[SDP_DIST].to_numpy(), SDP_DIST_TOL, scale=SDP_DIST_TOL),
            kind="check"))
    if len(loose):
        lm = (loose[CERT_COLS[0]] / loose["cert scale"]).to_numpy()
        inf = loose["cert infeasibility"].to_numpy()
        # non-certification statistic: how far lambda_min(S) lies below -tol*scale, or
        # infeasibility beyond sqrt(tol), in units of the threshold. Not a refutation where S
        # carries a heuristic multiplier (sNMF's N): another multiplier might certify the point
        stat = np.maximum((-lm - tol) / tol, (inf - np.sqrt(tol)) / np.sqrt(tol))
        out.append(claim(
            f"{prefix}.certificate_loose",
            f"{where}: where the SDP solution has rank > r, the certificate does not certify the "
            "factorized point (lambda_min(S) < -1e-6 scale, or sym(XY^T) outside the PSD cone by "
            "more than 1e-3), in agreement with the positive objective gap; and "
            f"||XY^T - Z_sdp|| / ||Z_sdp|| >= {10 * SDP_DIST_TOL:g}",
            all_of(at_least(stat, 0.0, scale=1.0),
                   qualitative(bool((loose[CERT_COLS[2]] != "certified").all()),
                               ours=list(loose[CERT_COLS[2]])),
                   at_least(loose[SDP_DIST].to_numpy(), 10 * SDP_DIST_TOL,
                            scale=10 * SDP_DIST_TOL)),
            kind="check"))
    return out


#: Columns of the certificate tables of the final points (issue 14).
POINT_CERT_COLS = ("lambda_min(S)/scale", "||SX||/||X||/scale", "verdict", "note")


def point_certificate(problem, X: np.ndarray, Y: np.ndarray | None = None, *,
                      tol: float = 1e-6) -> dict:
    r"""The dual certificate (:func:`bmlab.sdp.certificate`) of one factorized final point as a
    table row: :data:`POINT_CERT_COLS` (:math:`\lambda_{\min}(S)` and
    :math:`\|SX\|_F/\|X\|_F` relative to the certificate's scale, verdict, note) plus
    ``cert infeasibility``. With ``Y`` the point is :math:`Z = \operatorname{sym}(XY^\top)`."""
    from ...sdp import certificate

    c = certificate(problem, X, Y=Y, tol=tol)
    return {POINT_CERT_COLS[0]: c.lambda_min / c.scale, POINT_CERT_COLS[1]: c.residual / c.scale,
            POINT_CERT_COLS[2]: c.verdict, POINT_CERT_COLS[3]: c.note,
            "cert infeasibility": c.infeasibility}
