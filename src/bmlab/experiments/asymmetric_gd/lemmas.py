r"""Randomised checks of Lemmas 3.2 and 3.3 of Ye & Du and of their eq. (12) (spec 002 §4–5)."""
from __future__ import annotations

import numpy as np
import pandas as pd

from ...bounds.gd_asymmetric import lemma32_slack, lemma33_slack, lemma_constant
from .common import named_matrices, p_update_eq12

__all__ = ["sample_lemma_instance", "lemma_slacks", "eq12_errors"]


def _rot(d, rng):
    q, r = np.linalg.qr(rng.standard_normal((d, d)))
    return q * np.sign(np.diag(r))


def sample_lemma_instance(rng: np.random.Generator, d_max: int = 6):
    r"""One instance satisfying the hypotheses of Lemmas 3.2/3.3.

    :math:`d` uniform in 1..``d_max``; :math:`\sigma_1` log-uniform in [0.1, 10];
    :math:`\kappa` log-uniform in [1, 100]; the other :math:`\sigma_i` uniform in
    :math:`[\sigma_1/\kappa, \sigma_1]`; :math:`\beta` uniform in (0.01, 0.99); :math:`\eta =
    \beta/(8\sigma_1)` (the boundary) with probability 1/2, else a uniform fraction of it.
    :math:`S` has random eigenvectors and eigenvalues drawn from a mixture that stresses the
    lemma (near 0, near :math:`\sigma_d`, anywhere in :math:`[0, 2\sigma_1]`, or at
    :math:`2\sigma_1`); :math:`P` likewise with eigenvalues in :math:`[-2\sigma_1, 2\sigma_1]`.
    """
    d = int(rng.integers(1, d_max + 1))
    s1 = float(np.exp(rng.uniform(np.log(0.1), np.log(10.0))))
    kappa = float(np.exp(rng.uniform(0.0, np.log(100.0))))
    sig = np.sort(rng.uniform(s1 / kappa, s1, d))[::-1]
    sig[0] = s1
    if d > 1:
        sig[-1] = s1 / kappa
    Sigma = np.diag(sig)
    beta = float(rng.uniform(0.01, 0.99))
    eta = beta / (8 * s1) * (1.0 if rng.random() < 0.5 else float(rng.uniform(0.01, 1.0)))

    def eigs(lo, hi):
        kind = rng.integers(4)
        if kind == 0:
            e = rng.uniform(lo, hi, d)
        elif kind == 1:                      # clustered near the smallest sigma
            e = sig[-1] * (1 + 0.1 * rng.standard_normal(d))
        elif kind == 2:                      # near zero
            e = rng.uniform(0, 1e-3, d) * s1 * (1 if lo >= 0 else rng.choice([-1, 1], d))
        else:                                # at the extremes
            e = rng.choice([lo, hi, 0.0], d)
        return np.clip(e, lo, hi)

    Q = _rot(d, rng)
    S = (Q * eigs(0.0, 2 * s1)) @ Q.T
    S = (S + S.T) / 2
    Q = _rot(d, rng)
    P = (Q * eigs(-2 * s1, 2 * s1)) @ Q.T
    P = (P + P.T) / 2
    return {"d": d, "sigma_1": s1, "kappa": kappa, "beta": beta, "eta": eta, "Sigma": Sigma,
            "S": S, "P": P}


def lemma_slacks(n: int, rng: np.random.Generator, d_max: int = 6) -> pd.DataFrame:
    r"""Slack of both lemmas on ``n`` random instances; ``*_scaled`` divides the slack by the
    lemma's :math:`\tfrac{8+6\beta}{1-\beta}\sigma_1^3\eta^2` term (how tight the lemma is), and
    ``main_gap*`` is the slack minus that term (the slack of the bound without it)."""
    rows = []
    for _ in range(n):
        inst = sample_lemma_instance(rng, d_max)
        Sg, eta, beta = inst["Sigma"], inst["eta"], inst["beta"]
        term = lemma_constant(beta) * inst["sigma_1"] ** 3 * eta ** 2
        s32 = lemma32_slack(inst["S"], Sg, eta, beta)
        s33 = lemma33_slack(inst["P"], Sg, eta, beta)
        p_neg = bool(np.linalg.eigvalsh(inst["P"])[0] < 0)
        rows.append({"d": inst["d"], "sigma_1": inst["sigma_1"], "kappa": inst["kappa"],
                     "beta": beta, "eta": eta, "eta_at_boundary": bool(np.isclose(eta, beta / (8 * inst["sigma_1"]))),
                     "slack32": s32, "slack33": s33, "p_negative": p_neg,
                     "slack32_scaled": s32 / term, "slack33_scaled": s33 / term if p_neg else np.nan,
                     "main_gap32": s32 - term, "main_gap33": s33 - term if p_neg else np.nan})
    return pd.DataFrame(rows)


def eq12_errors(states, sigmas, etas) -> pd.DataFrame:
    r"""Error of eq. (12) with the corrected and the printed sign against :math:`P^+` computed
    from one exact GD step (6)–(9), for each state ``(U, V, J, K)`` and step size; errors are
    :math:`\|\cdot\|_F` relative to :math:`\|P\|_F`."""
    Sg = np.diag(sigmas)
    rows = []
    for i, (U, V, J, K) in enumerate(states):
        P = named_matrices(U, V, sigmas)[2]
        for eta in etas:
            Un = U + eta * (Sg - U @ V.T) @ V - eta * U @ K.T @ K
            Vn = V + eta * (Sg - U @ V.T).T @ U - eta * V @ J.T @ J
            Pn = named_matrices(Un, Vn, sigmas)[2]
            nP = np.linalg.norm(P)
            err = {s: np.linalg.norm(p_update_eq12(U, V, J, K, sigmas, eta, s) - Pn) / nP for s in (-1, 1)}
            rows.append({"state": i, "eta": float(eta), "corrected": err[-1], "printed": err[1]})
    return pd.DataFrame(rows)

