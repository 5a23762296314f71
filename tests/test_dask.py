"""`bmlab reproduce` on Dask (issue 12 item 4): a run with ``--jobs 2`` (a local Dask cluster)
and one with ``--scheduler`` (a LocalCluster of 2 worker processes started here) equal a
serial run byte for byte in claims.json and the CSV tables; the chapters' own sweeps go to
the same cluster; an unreachable scheduler is one error line; a chapter whose worker dies is
reported failed and publishes nothing.

Two cheap real chapters in the quick profile (global-convergence distributes its seed sweep
through bmlab.sweep); the fault cases use a tiny synthetic chapter."""
from __future__ import annotations

import hashlib
import socket
import textwrap
from pathlib import Path

import pytest

from bmlab import book, cli, runner

CHAPTERS = ("exact-penalty/setting-biconvexity", "asymmetric-gd/global-convergence")


def _point(toy, mp: pytest.MonkeyPatch, base: Path, root: Path | None = None) -> Path:
    results = toy.point(mp, root, results=base / "results", build=base / "_build")
    mp.delenv(runner.SCHEDULER_ENV, raising=False)
    return results


def _outputs(results: Path, chapter: str) -> dict[str, str]:
    """claims.json and every CSV table of a chapter, by name -> sha256."""
    folder = results / chapter
    files = [folder / "claims.json"] + sorted(folder.rglob("*.csv"))
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in files}


@pytest.fixture(scope="module")
def cluster():
    from distributed import LocalCluster
    from distributed.diagnostics.plugin import SchedulerPlugin

    class Keys(SchedulerPlugin):
        """Remembers every task key the scheduler saw."""

        def __init__(self):
            self.keys = set()

        def transition(self, key, start, finish, *args, **kwargs):
            self.keys.add(str(key))

    lc = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=":0", silence_logs=50)
    seen = Keys()
    lc.scheduler.add_plugin(seen)  # the scheduler of a LocalCluster lives in this process
    try:
        yield lc, seen
    finally:
        lc.close()


@pytest.fixture(scope="module")
def three_runs(tmp_path_factory, cluster, toy_project):
    """The two chapters reproduced serially, with --jobs 2 and with --scheduler."""
    lc, seen = cluster
    out = {}
    mp = pytest.MonkeyPatch()
    try:
        mp.setattr(book, "toc_chapters", lambda *a, **k: list(CHAPTERS))
        for mode, extra in (("serial", []), ("jobs", ["--jobs", "2"]),
                            ("scheduler", ["--scheduler", lc.scheduler_address])):
            results = _point(toy_project, mp, tmp_path_factory.mktemp(mode))
            status = cli.main(["reproduce", "--profile", "quick", "--no-progress", *extra])
            out[mode] = (status, results)
    finally:
        mp.undo()
    return out, seen


def test_dask_runs_equal_the_serial_run_byte_for_byte(three_runs):
    runs, _ = three_runs
    assert {mode: status for mode, (status, _) in runs.items()} == \
        {"serial": 0, "jobs": 0, "scheduler": 0}
    for chapter in CHAPTERS:
        serial = _outputs(runs["serial"][1], chapter)
        assert any(name.endswith(".csv") for name in serial), chapter
        for mode in ("jobs", "scheduler"):
            assert _outputs(runs[mode][1], chapter) == serial, (mode, chapter)
            assert runner.chapter_state(chapter).state in ("fresh", "stale")  # readable
    for _, results in runs.values():
        assert not any((results / ".tmp").iterdir())  # the run folders are gone


def test_chapters_and_their_sweeps_ran_on_the_given_cluster(three_runs):
    _, seen = three_runs
    assert {c for c in CHAPTERS if any(k.startswith(f"bmlab-chapter-{c}-") for k in seen.keys)} \
        == set(CHAPTERS)
    assert any(k.startswith("bmlab-sweep-seeds-") for k in seen.keys)
    assert any(k.startswith("bmlab-sweep-step_sizes-") for k in seen.keys)


def test_unreachable_scheduler_is_one_clean_error(tmp_path, monkeypatch, capsys, toy_project):
    results = _point(toy_project, monkeypatch, tmp_path)
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        address = f"tcp://127.0.0.1:{s.getsockname()[1]}"
    monkeypatch.setattr(runner, "CONNECT_TIMEOUT", 1)
    monkeypatch.setattr(book, "toc_chapters", lambda *a, **k: list(CHAPTERS))
    assert cli.main(["reproduce", "--profile", "quick", "--scheduler", address]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert err.startswith(f"bmlab: error: cannot reach the Dask scheduler '{address}'")
    assert "previous results are unchanged" in err
    assert not results.exists() or not any(results.iterdir())  # nothing made, nothing published
    assert cli.main(["reproduce", "--scheduler", " "]) == 2


DYING = textwrap.dedent('''\
    ---
    jupytext:
      text_representation:
        extension: .md
        format_name: myst
    kernelspec:
      display_name: Python 3
      language: python
      name: python3
    ---
    # A chapter whose Dask worker dies

    ```{code-cell} ipython3
    :tags: [parameters]

    profile = "paper"
    seed = 0
    ```

    ```{code-cell} ipython3
    import os, signal, time
    import psutil
    from bmlab.chapter import Chapter
    from bmlab.claims import at_least
    ch = Chapter("NAME", profile=profile, seed=seed)
    if os.environ.get("BMLAB_TEST_KILL") == ch.name:
        # once the other chapter is published (whichever worker ran it), kill this one's
        # worker: kernel -> chapter process -> Dask worker
        from bmlab import paths
        other = paths.results_root() / os.environ["BMLAB_TEST_WAIT_FOR"] / "manifest.json"
        t0 = time.monotonic()
        while not other.exists() and time.monotonic() - t0 < 120:
            time.sleep(0.2)
        os.kill(psutil.Process(os.getppid()).ppid(), signal.SIGKILL)
        time.sleep(60)
    ch.claim("dying.ok", "two is at least one", at_least(2, 1), kind="check");
    ```
    ''')


def test_a_dead_worker_fails_its_chapter_and_publishes_nothing(tmp_path, monkeypatch, capsys,
                                                               cluster, toy_project):
    root = toy_project.write(tmp_path / "proj", {cid: DYING.replace("NAME", cid)
                                                 for cid in ("part/dies", "part/lives")})
    results = _point(toy_project, monkeypatch, root / "data", root)
    monkeypatch.setenv("BMLAB_TEST_KILL", "part/dies")
    monkeypatch.setenv("BMLAB_TEST_WAIT_FOR", "part/lives")
    address = cluster[0].scheduler_address  # its nanny starts a new worker afterwards
    assert cli.main(["reproduce", "--profile", "quick", "--scheduler", address,
                     "--no-progress"]) == 1
    cap = capsys.readouterr()
    assert "chapter 'part/dies': its Dask worker died while running it" in cap.err
    assert "Traceback" not in cap.err
    assert not (results / "part" / "dies").exists()  # never published, never green
    assert runner.chapter_state("part/lives").state == "fresh"
    assert not any((results / ".tmp").iterdir())
