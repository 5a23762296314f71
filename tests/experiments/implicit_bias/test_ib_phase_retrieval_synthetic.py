from types import SimpleNamespace

import numpy as np
import pytest

from bmlab.experiments.implicit_bias import phase_retrieval_synthetic as exp


def test_presets_and_validation():
    q, p = exp.Params.for_profile("quick"), exp.Params.for_profile("paper")
    assert (q.downsample, p.downsample) == (2, 1)
    assert q.seeds == p.seeds and (q.seed_max_iter, p.seed_max_iter) == (3_000, 100_000)
    assert p.max_iter == 30_000          # the paper's 10^6 does not fit (~7.6 ms per iteration)
    with pytest.raises(ValueError, match="backend"):
        exp.Params(backend="gpu")
    with pytest.raises(ValueError, match="needs backend='torch'"):
        exp.Params(device="cuda")                 # the numba kernels run on the CPU only
    with pytest.raises(TypeError, match="device"):
        exp.Params(backend="torch", device=0)
    assert exp.Params(backend="torch", device="cpu").device == "cpu"
    if not __import__("torch").cuda.is_available():
        with pytest.raises(RuntimeError, match="no CUDA"):   # asked for, never a silent CPU run
            exp.Params.for_profile("paper", backend="torch", device="cuda")
    with pytest.raises(ValueError, match="seeds"):
        exp.Params(seeds=3)
    with pytest.raises(ValueError, match="divide"):
        exp.Params(downsample=3)
    assert exp.snapshots(3000) == (10, 100, 1000, 3000)


def fake(errs_udu, errs_bm, ranks_udu, ranks_bm, optimal=True):
    from bmlab.problems.phase_retrieval import GaussianPR

    x = np.random.default_rng(0).standard_normal(8)
    x /= np.linalg.norm(x)
    P = GaussianPR.make(x, rng=np.random.default_rng(1))
    F = x[:, None] if optimal else np.zeros((8, 1))      # exact: certified; zero: refuted

    def pr(e, r):
        return SimpleNamespace(final_error=e, rank=r, residual=np.array([1.0, 0.0]))

    def pair(eb, rb, eu, ru):
        out = {"BM": pr(eb, rb), "UDU": pr(eu, ru)}
        out["BM"].x, out["UDU"].x = F.copy(), (F.copy(), np.ones(1))
        return out
    seeds = [pair(eb, rb, eu, ru) for eu, eb, ru, rb in zip(errs_udu, errs_bm, ranks_udu, ranks_bm)]
    sdp = SimpleNamespace(ok=True, status="optimal", Z=np.outer(x, x))
    return exp.Result(exp.Params(), x, P, seeds[0], seeds, [P] * len(seeds), sdp, {})


def test_claims_decided_over_seeds():
    good = {c.id: c for c in exp.claims(fake([0.3] * 8, [0.5] * 8, [3] * 8, [50] * 8))}
    assert good["ib.pr.udu_better_image"].holds and good["ib.pr.udu_lower_rank"].holds
    assert good["ib.pr.udu_lower_rank"].samples == 8 and not good["ib.pr.udu_lower_rank"].fragile
    assert good["ib.pr.udu_lower_rank"].margin == pytest.approx(2 / 8)   # seeds to flip / seeds
    assert good["ib.pr.phaselift_solved"].kind == "check"
    half = [0.3, 0.6] * 4
    bad = {c.id: c for c in exp.claims(fake(half, [0.5] * 8, [60] * 8, [50] * 8))}
    assert not bad["ib.pr.udu_better_image"].holds and bad["ib.pr.udu_better_image"].as_expected
    assert not bad["ib.pr.udu_lower_rank"].holds
    # one instance cannot decide: fewer than six seeds is fragile
    few = {c.id: c for c in exp.claims(fake([0.3] * 3, [0.5] * 3, [3] * 3, [50] * 3))}
    assert few["ib.pr.udu_lower_rank"].fragile


def test_certificate_claims():
    good = {c.id: c for c in exp.claims(fake([0.3] * 8, [0.5] * 8, [3] * 8, [50] * 8))}
    for k in ("udu_certified", "udu_is_phaselift"):
        assert good[f"ib.pr.{k}"].holds and not good[f"ib.pr.{k}"].fragile
        assert good[f"ib.pr.{k}"].kind == "extension" and good[f"ib.pr.{k}"].expected == "fails"
    bad = {c.id: c for c in exp.claims(fake([0.3] * 8, [0.5] * 8, [3] * 8, [50] * 8,
                                            optimal=False))}
    for k in ("udu_certified", "udu_is_phaselift"):
        assert not bad[f"ib.pr.{k}"].holds and bad[f"ib.pr.{k}"].margin < -1e-6


def test_pr_pair_agrees_with_the_numpy_oracle():
    """The batched PR kernel, numpy and torch (run in segments at the recorded iterations),
    reproduces the numpy loop's error curve, residuals, snapshots and spectra to 1e-10
    relative (torch on the CPU here; on CUDA where there is one)."""
    from bmlab.experiments.implicit_bias.pr_common import run_pr_pair
    from bmlab.problems.phase_retrieval import GaussianPR, image_signal, load_image

    P = GaussianPR.make(image_signal(load_image(), 4), rng=np.random.default_rng(1))
    import torch

    cases = [("numpy", "cpu"), ("numba", "cpu"), ("torch", "cpu")] + \
        ([("torch", "cuda")] if torch.cuda.is_available() else [])
    out = {c: run_pr_pair(P, r=P.n, max_iter=400, rng=np.random.default_rng(2),
                          snapshots=(10, 100, 400), backend=c[0], device=c[1]) for c in cases}
    for m, c in ((m, c) for m in ("BM", "UDU") for c in cases[1:]):
        a, b = out[cases[0]][m], out[c][m]
        np.testing.assert_array_equal(a.iters, b.iters)
        np.testing.assert_allclose(b.residual, a.residual, rtol=1e-10)
        np.testing.assert_allclose(b.error, a.error, rtol=1e-10, atol=1e-14)
        np.testing.assert_allclose(b.spectrum[:2], a.spectrum[:2], rtol=1e-10)
        assert sorted(a.snapshots) == sorted(b.snapshots) == [10, 100, 400]
        assert a.rank == b.rank


def test_seed_task_runs_through_sweep_identically():
    """The seed study goes through bmlab.sweep: its task function is module-level (picklable for
    Dask) and each task carries its own streams, so the outcome does not depend on the runner."""
    import pickle

    from bmlab.problems.phase_retrieval import image_signal, load_image
    from bmlab.sweep import sweep

    assert pickle.loads(pickle.dumps(exp._seed_task)) is exp._seed_task
    xs = image_signal(load_image(), 4)

    def tasks():
        s = np.random.default_rng(7).spawn(2)
        return [(xs, s[0], s[1], 50, "numba", "cpu")]
    direct = exp._seed_task(tasks()[0])
    (P, runs), = sweep(exp._seed_task, tasks(), client="serial", progress=False)
    np.testing.assert_array_equal(P.A, direct[0].A)
    for m in ("BM", "UDU"):
        np.testing.assert_array_equal(runs[m].residual, direct[1][m].residual)


def test_better_image_expectation_follows_the_seed_budget():
    r = fake([0.03] * 8, [0.4] * 8, [3] * 8, [40] * 8)
    assert {c.id: c for c in exp.claims(r)}["ib.pr.udu_better_image"].expected == "fails"
    r.params = exp.Params.for_profile("paper")          # 10^5 iterations per instance
    c = {c.id: c for c in exp.claims(r)}["ib.pr.udu_better_image"]
    assert c.expected == "holds" and c.holds and c.as_expected
