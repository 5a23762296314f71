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


# ------------------------------------------------------------------------ the recorded run
def _recorded_json() -> dict:
    import json

    from bmlab import paths

    return json.loads((paths.inputs_dir() / "implicit-bias" / exp.RECORDED_FILE).read_text())


def test_recorded_run_is_the_paper_profiles_main_run_at_the_papers_budget():
    """The shipped recorded run: the paper profile's main instance (16×16 image, seed 0, the
    notebook's stream) at 10⁶ iterations, valid, clean provenance, and genuine: rerunning its
    first 100 iterations with the package (`record_main_run`, the path of `run`) gives its
    error and residual curves to 1e-6 relative (another instance or start differs at O(1))."""
    from bmlab.chapter import chapter_rng

    rec = exp.recorded_run()
    st, p = rec["setting"], exp.Params.for_profile("paper")
    assert (st["seed"], st["downsample"], st["backend"]) == (0, p.downsample, "numba")
    assert (st["max_iter"], st["n"], st["m"]) == (10 ** 6, 256, 512)
    assert not rec["provenance"]["dirty"] and len(rec["provenance"]["commit"]) == 40
    for m in ("BM", "UDU"):
        r = rec["runs"][m]
        assert r["status"] == "max_iter" and r["n_iter"] == 10 ** 6
        assert p.max_iter in r["iters"]               # the paper profile's budget is compared
        assert sorted(map(int, r["snapshots"])) == list(exp.snapshots(10 ** 6, fine=True))
    short = exp.Params.for_profile("paper", max_iter=100)
    for m in ("BM", "UDU"):
        mine = exp.record_main_run(short, chapter_rng(0, exp.MAIN_STREAM), m)
        assert mine["eta"] == pytest.approx(st["eta"], rel=1e-12)
        assert mine["alpha"] == pytest.approx(st["alpha"], rel=1e-12)
        ks, i, j = np.intersect1d(mine["iters"], rec["runs"][m]["iters"], return_indices=True)
        assert ks.size >= 10 and ks[-1] == 100
        np.testing.assert_allclose(np.array(mine["error"])[i],
                                   np.array(rec["runs"][m]["error"])[j], rtol=1e-6)
        np.testing.assert_allclose(np.array(mine["residual"])[i],
                                   np.array(rec["runs"][m]["residual"])[j], rtol=1e-6)
    # and another start is far from it: the comparison above can fail
    other = exp.record_main_run(short, chapter_rng(1, exp.MAIN_STREAM), "UDU")
    assert abs(other["residual"][-1] / rec["runs"]["UDU"]["residual"][
        rec["runs"]["UDU"]["iters"].index(100)] - 1) > 1e-3


def test_record_main_run_is_the_main_run_of_run():
    """`record_main_run` runs one method of `run`'s main run: the same instance and start
    (one stream rule, `main_instance`), whatever the iterations at which each stops to
    record."""
    p = exp.Params(downsample=4, max_iter=60, seeds=6, seed_downsample=4, seed_max_iter=20)
    res = exp.run(p, np.random.default_rng([3, 1]))
    for m in ("BM", "UDU"):
        rec = exp.record_main_run(p, np.random.default_rng([3, 1]), m)
        ks, i, j = np.intersect1d(res.runs[m].iters, rec["iters"], return_indices=True)
        assert ks.size >= 5 and ks[-1] == 60
        np.testing.assert_allclose(res.runs[m].error[i], np.array(rec["error"])[j], rtol=1e-12)
        np.testing.assert_allclose(res.runs[m].residual[i], np.array(rec["residual"])[j],
                                   rtol=1e-12)
        assert rec["rank"] == res.runs[m].rank and len(rec["spectrum"]) == res.problem.n
    with pytest.raises(ValueError, match="method"):
        exp.record_main_run(p, np.random.default_rng(0), "ALL")
    # a build with another setting says so and compares nothing
    g = exp.recorded_glue(exp.recorded_run(), res, seed=3)
    assert g["rec_verdict"] == "not compared"
    assert "downsample 4 here, 1 recorded" in g["rec_check"] and "seed 3 here" in g["rec_check"]


def test_recorded_glue_verdict():
    """Where the setting is the recorded one, the verdict compares the error and the residual
    of both methods at the iterations both recorded against RETRACE_RTOL: the recorded
    curves retrace themselves; a 1e-3 change of either curve, or a non-finite value, does
    not retrace; another backend is not compared."""
    rec = exp.recorded_run()
    runs = exp.recorded_runs(rec)
    p = exp.Params.for_profile("paper")
    g = exp.recorded_glue(rec, SimpleNamespace(params=p, runs=runs), seed=0)
    assert g["rec_verdict"] == "retraces" and "at most 0.0e+00" in g["rec_check"]

    def bumped(field, factor):
        out = {}
        for m, r in runs.items():
            d = {"iters": r.iters[:30], "error": r.error[:30], "residual": r.residual[:30]}
            d[field] = d[field] * factor
            out[m] = SimpleNamespace(**d)
        return SimpleNamespace(params=p, runs=out)
    for field in ("error", "residual"):
        g = exp.recorded_glue(rec, bumped(field, 1 + 1e-3), seed=0)
        assert g["rec_verdict"] == "does not retrace" and "does NOT retrace" in g["rec_check"]
        assert "1.0e-03" in g["rec_check"]
    g = exp.recorded_glue(rec, bumped("error", np.nan), seed=0)
    assert g["rec_verdict"] == "does not retrace" and "inf" in g["rec_check"]
    torch_p = exp.Params.for_profile("paper", backend="torch")
    g = exp.recorded_glue(rec, SimpleNamespace(params=torch_p, runs=runs), seed=0)
    assert g["rec_verdict"] == "not compared" and "backend 'torch' here" in g["rec_check"]


def _edit(d, path, value):
    node = d
    for k in path[:-1]:
        node = node[k]
    if value is _DELETE:
        del node[path[-1]]
    else:
        node[path[-1]] = value


_DELETE = object()


@pytest.mark.parametrize("path, value, msg", [
    (("setting", "seed"), _DELETE, "setting.seed"),
    (("setting", "n"), 64, "setting.n and setting.m"),
    (("provenance", "commit"), 7, "provenance.commit"),
    (("runs", "BM"), [], "the objects 'BM' and 'UDU'"),
    (("runs", "UDU", "error"), [0.1], "list of"),
    (("runs", "BM", "spectrum"), [1.0, 0.5], "list of 256"),
    (("runs", "BM", "iters"), None, "runs.BM.iters"),
    (("runs", "BM", "residual"), ["x"] * 3, "list of numbers"),
    (("runs", "BM", "rank"), 3, "its rank"),
    (("runs", "BM", "seconds"), -1.0, "seconds"),
    (("runs", "BM", "snapshots"), {}, "empty"),
    (("runs", "UDU", "snapshots", "10"), [0.0] * 256, "non-zero"),
    (("runs", "UDU", "snapshots", "10"), [1.0] * 256, "recorded error"),
    (("runs", "UDU", "snapshots", "10"), [None] * 256, "non-finite"),
])
def test_recorded_run_file_faults(tmp_path, path, value, msg):
    """A malformed file: a clear error naming the file and how to restore it, before anything
    is drawn."""
    import json

    d = _recorded_json()
    _edit(d, path, value)
    f = tmp_path / "edited.json"
    f.write_text(json.dumps(d))
    with pytest.raises(ValueError, match=msg) as err:
        exp.recorded_run(f)
    assert str(f) in str(err.value) and "git checkout" in str(err.value)


def test_recorded_run_file_faults_structure(tmp_path):
    import json

    with pytest.raises(FileNotFoundError, match="missing; restore it"):
        exp.recorded_run(tmp_path / "none.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON.*git checkout"):
        exp.recorded_run(bad)
    d = _recorded_json()                       # one method's snapshots at other iterations
    d["runs"]["BM"]["snapshots"].pop("10")
    (tmp_path / "keys.json").write_text(json.dumps(d))
    with pytest.raises(ValueError, match="same iterations"):
        exp.recorded_run(tmp_path / "keys.json")
    d = _recorded_json()                       # not the same start
    d["runs"]["BM"]["residual"][0] *= 2
    (tmp_path / "start.json").write_text(json.dumps(d))
    with pytest.raises(ValueError, match="same point"):
        exp.recorded_run(tmp_path / "start.json")
    # merge: unreadable records stop it before anything is written
    out = tmp_path / "out.json"
    with pytest.raises(SystemExit, match="cannot read"):
        exp._main(["merge", str(bad), str(bad), "--machine", "m", "--out", str(out)])
    assert not out.exists()


def test_record_and_merge_command_line(tmp_path):
    """The regeneration commands: two records (a short budget) merged into a valid file with
    its provenance; a merge that would write an invalid file replaces nothing."""
    import json

    for m in ("BM", "UDU"):
        out = str(tmp_path / f"{m}.json")
        assert exp._main(["record", m, "--max-iter", "20", "--out", out]) == 0
    out = tmp_path / "rec.json"
    assert exp._main(["merge", str(tmp_path / "BM.json"), str(tmp_path / "UDU.json"),
                      "--machine", "test", "--out", str(out)]) == 0
    rec = exp.recorded_run(out)
    assert rec["setting"]["max_iter"] == 20
    assert "record BM --max-iter 20" in rec["provenance"]["command"]
    assert rec["provenance"]["machine"] == "test" and rec["provenance"]["numpy"]
    assert sorted(rec["runs"]["UDU"]["snapshots"], key=int) == ["10", "20"]
    with pytest.raises(SystemExit, match="BM record, then the UDU"):
        exp._main(["merge", str(tmp_path / "UDU.json"), str(tmp_path / "BM.json"),
                   "--machine", "test", "--out", str(out)])
    d = json.loads((tmp_path / "UDU.json").read_text())
    d["provenance"]["commit"] = "0" * 40
    (tmp_path / "UDU2.json").write_text(json.dumps(d))
    with pytest.raises(SystemExit, match="different commits"):
        exp._main(["merge", str(tmp_path / "BM.json"), str(tmp_path / "UDU2.json"),
                   "--machine", "test", "--out", str(out)])
    d = json.loads((tmp_path / "UDU.json").read_text())
    d["rank"] += 1                              # invalid: the merge validates, then refuses
    (tmp_path / "UDU3.json").write_text(json.dumps(d))
    before = out.read_bytes()
    with pytest.raises(ValueError, match="rank"):
        exp._main(["merge", str(tmp_path / "BM.json"), str(tmp_path / "UDU3.json"),
                   "--machine", "test", "--out", str(out)])
    assert out.read_bytes() == before and not (tmp_path / "rec.json.tmp").exists()


def test_recorded_run_says_what_the_chapter_text_says():
    """The chapter's words about the recorded run, checked against the file: at 10⁶ UDU's
    error is small (< 0.05) and BM's is not (> 0.5); from 100 iterations on UDU's error falls
    at every recorded iteration, the last included; BM's changes by less than 0.05 from 10⁵ to
    10⁶; UDU's rank is below BM's."""
    runs = exp.recorded_runs(exp.recorded_run())
    bm, udu = runs["BM"], runs["UDU"]
    assert udu.error[-1] < 0.05 < 0.5 < bm.error[-1]
    late = udu.error[udu.iters >= 100]
    assert late.size >= 30 and np.all(np.diff(late) < 0)
    assert abs(float(bm.error[bm.iters == 100_000][0]) - bm.error[-1]) < 0.05
    assert udu.rank < bm.rank


def test_chapter_text_has_no_placeholder():
    from bmlab import paths

    text = (paths.repo_root() / "book" / "implicit-bias" / "phase-retrieval-synthetic.md").read_text()
    assert "RECORDED_TEXT" not in text and "{glue:text}`rec_check`" in text


def test_pr_pair_methods_argument():
    from bmlab.experiments.implicit_bias.pr_common import run_pr_pair
    from bmlab.problems.phase_retrieval import GaussianPR, image_signal, load_image

    P = GaussianPR.make(image_signal(load_image(), 4), rng=np.random.default_rng(1))
    one = run_pr_pair(P, r=P.n, max_iter=30, rng=np.random.default_rng(2), backend="numba",
                      methods=("UDU",))
    both = run_pr_pair(P, r=P.n, max_iter=30, rng=np.random.default_rng(2), backend="numba")
    assert "BM" not in one
    np.testing.assert_array_equal(one["UDU"].error, both["UDU"].error)
    with pytest.raises(ValueError, match="methods"):
        run_pr_pair(P, r=P.n, max_iter=3, rng=np.random.default_rng(2), methods=("SVD",))
