"""Solver trajectories stay bit-identical across refactorings of the solver layer.

:func:`trajectories` runs every loop of ``bmlab.solvers`` (GD, projected and perturbed GD,
BM/UDU, AM with each penalty rule, HAM, nADMM, Newton refinement) on small seeded instances
through the public import paths that existed before the Problem protocol, and returns every
iterate and history as arrays.

* ``python tests/test_solver_trajectories.py DIR`` saves them to ``DIR/trajectories.npz``;
* with ``BMLAB_SOLVER_REFS=DIR`` set, :func:`test_against_saved_reference` compares a fresh run
  with the saved one, entry by entry, with max abs diff == 0 (same machine and BLAS only:
  other CPUs round differently, so no reference file is committed).

The in-process tests below need no file: they compare the Problem-protocol entry points with
the callable ones they replace, exactly.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pytest


def _flat(prefix, res, out):
    x = res.x if isinstance(res.x, tuple) else (res.x,)
    for i, p in enumerate(x):
        out[f"{prefix}/x{i}"] = np.asarray(p)
    for k, v in res.history.items():
        out[f"{prefix}/h/{k}"] = np.asarray(v)
    out[f"{prefix}/n_iter"] = np.asarray(res.n_iter)
    out[f"{prefix}/status"] = np.asarray(res.status)


def trajectories() -> dict[str, np.ndarray]:
    from bmlab.factorizations.udu import scaled_init
    from bmlab.problems.completion import make_completion
    from bmlab.problems.factorization import AsymmetricFactorization, low_rank_matrix
    from bmlab.problems.phase_retrieval import GaussianPR
    from bmlab.problems.quadratic import sensing_instance
    from bmlab.problems.scalar_toys import LinearToy, ShiftedSquareToy, as_factor
    from bmlab.problems.sensing import HighOrderLoss, gaussian_sensing, yalcin_instance
    from bmlab.problems.snmf import SymmetricNMF, random_psd_nonneg
    from bmlab.factorizations.penalty import (AccuracyPenalty, AdaptivePenalty,
                                              AlgorithmDependentPenalty, ExactPenalty,
                                              StartBoundPenalty)
    from bmlab.solvers.alternating import alternating_minimization, nonconvex_admm
    from bmlab.solvers.gd import gradient_descent
    from bmlab.solvers.newton import newton_refine
    from bmlab.solvers.udu import run_bm, run_udu

    out: dict[str, np.ndarray] = {}
    # BM / UDU on completion and phase retrieval
    rng = np.random.default_rng(11)
    comp = make_completion(30, 2, rng=rng)
    U0 = scaled_init(30, 5, 1e-3, rng)
    _flat("bm", run_bm(comp, U0, eta=0.2, max_iter=300, record=np.arange(0, 301, 7),
                       trackers={"nrm": lambda U: np.linalg.norm(U)}), out)
    _flat("udu", run_udu(comp, U0, eta=0.2, max_iter=300, alpha=1.5,
                         trackers={"d": lambda x: x[1]}), out)
    x = rng.standard_normal(8)
    pr = GaussianPR.make(x / np.linalg.norm(x), rng=rng)
    V0 = scaled_init(8, 3, 1e-2, rng)
    _flat("bm_pr", run_bm(pr, V0, eta=0.5 / pr.lipschitz(), max_iter=200), out)
    _flat("udu_pr", run_udu(pr, V0, eta=0.5 / pr.lipschitz(), max_iter=200), out)
    # GD on the asymmetric factorization, the high-order loss, perturbed GD
    Sigma, _, _ = low_rank_matrix(6, 5, [3.0, 1.0], rng)
    fac = AsymmetricFactorization(Sigma, balance=0.125)
    x0 = (1e-2 * rng.standard_normal((6, 2)), 1e-2 * rng.standard_normal((5, 2)))
    _flat("gd_fac", gradient_descent(fac.grad, x0, step=0.05, max_iter=400, tol=1e-12,
                                     objective=fac.value, record_every=3), out)
    hol = HighOrderLoss(gaussian_sensing(5, 20, rng), np.outer(x[:5], x[:5]), lam=0.5, l=4,
                        scale=1 / 20)
    _flat("gd_hol", gradient_descent(hol.grad, 0.1 * rng.standard_normal((5, 1)), step=0.05,
                                     max_iter=300, objective=hol.value,
                                     project=lambda X: np.clip(X, -2, 2)), out)
    _flat("pgd_hol", gradient_descent(hol.grad, np.zeros((5, 1)), step=0.05, max_iter=200,
                                      perturbation=(1e-3, 1e-2), rng=np.random.default_rng(5),
                                      objective=hol.value), out)
    _flat("gd_sched", gradient_descent(hol.grad, 0.1 * np.ones((5, 1)), step=lambda k: 0.05 / (1 + k),
                                       max_iter=50, stop=lambda k, x, g: g < 1e-3), out)
    # Newton refinement
    yal = yalcin_instance(4, eps=0.3, lam=0.0)
    _flat("newton", newton_refine(yal, 0.8 * np.ones((4, 1)), max_iter=30), out)
    # AM with every rule, HAM, nADMM
    M = random_psd_nonneg(8, 2, rng)
    snmf = SymmetricNMF(M, 2)
    X0 = rng.uniform(size=(8, 2))
    Y0 = rng.uniform(size=(8, 2))
    for name, rule in [("fixed", 0.7), ("agd", AlgorithmDependentPenalty(margin=0.1)),
                       ("adp", AdaptivePenalty(rho=1.1)), ("pca", AccuracyPenalty()),
                       ("our", ExactPenalty(eps=0.05)), ("cor1", StartBoundPenalty())]:
        _flat(f"am_{name}", alternating_minimization(snmf, X0, Y0, penalty=rule, lam0=0.5,
                                                     max_iter=60, check_decrease=True,
                                                     record_every=2), out)
    _flat("ham", alternating_minimization(snmf, X0, Y0, penalty=0.5, max_iter=60,
                                          block="columns"), out)
    _flat("admm", nonconvex_admm(snmf, X0, Y0, rho=2.0, max_iter=60), out)
    qs, _ = sensing_instance(4, 1, 30, rng, mu=0.1)
    _flat("am_qs", alternating_minimization(qs, rng.standard_normal((4, 1)),
                                            rng.standard_normal((4, 1)),
                                            penalty=ExactPenalty(eps=0.1, mode="conservative"),
                                            max_iter=40), out)
    lin = LinearToy(1.0)
    _flat("am_lin", alternating_minimization(lin, as_factor(1.0), as_factor(0.5), penalty=0.4,
                                             max_iter=30), out)
    sq = ShiftedSquareToy(m=2.0, nonneg=True)
    _flat("am_sq", alternating_minimization(sq, as_factor(0.3), as_factor(1.2), penalty=0.2,
                                            max_iter=80), out)
    return out


@pytest.mark.skipif(not os.environ.get("BMLAB_SOLVER_REFS"),
                    reason="set BMLAB_SOLVER_REFS=DIR (saved by this file's __main__) to compare")
def test_against_saved_reference():
    ref = np.load(Path(os.environ["BMLAB_SOLVER_REFS"]) / "trajectories.npz")
    new = trajectories()
    assert sorted(ref.files) == sorted(new)
    for key in ref.files:
        a, b = ref[key], new[key]
        assert a.shape == b.shape and a.dtype == b.dtype, key
        if a.dtype.kind in "fc":
            same = np.array_equal(a, b, equal_nan=True)
            assert same, f"{key}: max abs diff {np.nanmax(np.abs(a - b))}"
        else:
            assert np.array_equal(a, b), key


if __name__ == "__main__":  # pragma: no cover - reference generation
    target = Path(sys.argv[1])
    target.mkdir(parents=True, exist_ok=True)
    np.savez(target / "trajectories.npz", **trajectories())
    print(f"saved {target / 'trajectories.npz'}")
