"""The runner and the CLI on a small fixture project (fast; no real chapter)."""
from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from bmlab import cli, runner
from bmlab.runner import Param, UsageError, coerce, parse_parameters_source

HEADER = textwrap.dedent("""\
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
    """)

GOOD = HEADER + textwrap.dedent('''\
    # A good chapter

    ```{code-cell} ipython3
    :tags: [parameters]

    profile = "paper"
    seed = 0
    n: int = 3
    scale = 1.5
    flag = False
    label = "x"
    grid = [0.0, 1.0]
    fail = False
    ```

    ```{code-cell} ipython3
    from bmlab.chapter import Chapter
    ch = Chapter("part/good", profile=profile, seed=seed)
    (ch.out_dir / "value.txt").write_text(f"{n} {scale} {flag} {label} {grid} {seed}")
    import bmlab
    (ch.out_dir / "bmlab_path.txt").write_text(bmlab.__file__)
    from bmlab.claims import qualitative
    ch.claim("fixture.ok", "n is positive", qualitative(n > 0, ours=n), kind="check")
    if fail:
        raise RuntimeError("asked to fail")
    ```
    ''')


@pytest.fixture
def project(tmp_path, monkeypatch, toy_project):
    root = toy_project.write(tmp_path / "proj", {"part/good": GOOD})
    toy_project.point(monkeypatch, root)
    # Others edit src/bmlab while these tests run: pin the package hash so "cached" is stable
    # (test_source_change_invalidates_cache covers the hash itself).
    fixed = runner.source_hash()
    monkeypatch.setattr(runner, "source_hash", lambda: fixed)
    return root


# ------------------------------------------------------------------ parameters (unit)
def test_parse_parameters_source():
    params = parse_parameters_source('profile = "quick"\nseed = 1\neta: float = 1\n'
                                     'grid = [1, 2]\nx = None\n')
    assert params["eta"].kind == "float" and params["eta"].default == 1
    assert params["grid"].kind == "list" and params["x"].kind == "any"
    with pytest.raises(ValueError, match="literal"):
        parse_parameters_source("a = f(1)\n")
    with pytest.raises(ValueError):
        parse_parameters_source("import os\n")


@pytest.mark.parametrize("param,raw,expected", [
    (Param("n", 3, "int"), "5", 5),
    (Param("x", 1.0, "float"), "2", 2.0),
    (Param("x", 1.0, "float"), "1e-3", 1e-3),
    (Param("b", False, "bool"), "true", True),
    (Param("b", True, "bool"), "0", False),
    (Param("s", "a", "str"), "hello", "hello"),
    (Param("s", "a", "str"), "'quoted'", "quoted"),
    (Param("g", [0.0], "list"), "[1, 2]", [1.0, 2.0]),
    (Param("g", [0.0], "list"), "3", [3.0]),
    (Param("a", None, "any"), "abc", "abc"),
    (Param("a", None, "any"), "1.5", 1.5),
])
def test_coerce(param, raw, expected):
    assert coerce(param, raw) == expected


@pytest.mark.parametrize("param,raw", [
    (Param("n", 3, "int"), "2.5"), (Param("n", 3, "int"), "abc"),
    (Param("b", False, "bool"), "maybe"), (Param("x", 1.0, "float"), "fast"),
    (Param("g", [1], "list"), "['a']"),
])
def test_coerce_rejects(param, raw):
    with pytest.raises(UsageError, match=param.name):
        coerce(param, raw)


# ------------------------------------------------------------------ the CLI on the fixture
def test_unknown_chapter_exits_2_and_lists_valid(project, capsys):
    assert cli.main(["run", "nope"]) == 2
    err = capsys.readouterr().err
    assert "unknown chapter 'nope'" in err and "part/good" in err


def test_unknown_parameter_exits_2_before_work(project, capsys):
    assert cli.main(["run", "part/good", "-p", "nn=3"]) == 2
    err = capsys.readouterr().err
    assert "unknown parameter" in err and "n: int = 3" in err
    assert not (project / "data" / "results").exists()


def test_bad_value_exits_2(project, capsys):
    assert cli.main(["run", "good", "-p", "n=three"]) == 2
    assert "'n' expects int" in capsys.readouterr().err
    assert cli.main(["run", "good", "-p", "n"]) == 2


def test_run_cache_force_and_failure_keeps_results(project, capsys):
    results = project / "data" / "results" / "part" / "good"
    assert cli.main(["run", "part/good", "--profile", "quick", "-p", "n=4", "-p",
                     "grid=[2,3]", "-p", "label=hi", "--no-progress"]) == 0
    assert (results / "value.txt").read_text() == "4 1.5 False hi [2.0, 3.0] 0"
    import bmlab
    assert (results / "bmlab_path.txt").read_text() == bmlab.__file__  # the same package
    manifest = json.loads((results / "manifest.json").read_text())
    assert manifest["parameters"]["profile"] == "quick" and manifest["claims"]["held"] == 1
    assert manifest["versions"]["python"] and manifest["git_commit"]
    nb = json.loads((results / "chapter.ipynb").read_text())
    tags = [c["metadata"].get("tags", []) for c in nb["cells"]]
    assert any("injected-parameters" in t and "remove-cell" in t for t in tags)
    out = capsys.readouterr().out
    assert "part/good" in out and "ok" in out

    # unchanged -> cached; --force -> re-run
    assert cli.main(["run", "part/good", "--profile", "quick", "-p", "n=4", "-p",
                     "grid=[2,3]", "-p", "label=hi", "--no-progress"]) == 0
    assert "cached" in capsys.readouterr().out
    assert cli.main(["run", "part/good", "--profile", "quick", "-p", "n=4", "-p",
                     "grid=[2,3]", "-p", "label=hi", "--no-progress", "--force"]) == 0
    assert "cached" not in capsys.readouterr().out

    # a failing cell exits 1, names chapter and cell, keeps the previous good results
    assert cli.main(["run", "part/good", "-p", "fail=True", "-p", "n=9",
                     "--no-progress"]) == 1
    err = capsys.readouterr().err
    assert "part/good" in err and "cell" in err and "asked to fail" in err
    assert (results / "value.txt").read_text().startswith("4 ")
    assert not any((project / "data" / "results" / ".tmp").iterdir())


def test_interrupt_keeps_previous_results(project, monkeypatch, capsys):
    results = project / "data" / "results" / "part" / "good"
    assert cli.main(["run", "part/good", "--no-progress"]) == 0
    before = (results / "value.txt").read_text()

    def interrupted(*args, **kwargs):
        out = Path(runner.os.environ["BMLAB_OUTPUT_DIR"])
        (out / "value.txt").write_text("half-written")
        raise KeyboardInterrupt

    import papermill
    monkeypatch.setattr(papermill, "execute_notebook", interrupted)
    assert cli.main(["run", "part/good", "--force", "--no-progress"]) == 130
    assert "interrupted" in capsys.readouterr().err
    assert (results / "value.txt").read_text() == before
    assert not any((project / "data" / "results" / ".tmp").iterdir())


def test_source_change_invalidates_cache(project, monkeypatch):
    spec = runner.discover()["part/good"]
    params = runner.effective_parameters(spec, {}, "quick")
    assert runner.cache_key(spec, params, "a") != runner.cache_key(spec, params, "b")
    other = dict(params, seed=1)
    assert runner.cache_key(spec, params, "a") != runner.cache_key(spec, other, "a")


def test_list_and_claims(project, capsys):
    assert cli.main(["claims"]) == 1  # nothing yet
    assert cli.main(["list"]) == 0
    assert "[missing: never run]" in capsys.readouterr().out
    assert cli.main(["run", "part/good", "--profile", "quick", "--no-progress"]) == 0
    capsys.readouterr()
    assert cli.main(["list"]) == 0
    assert "fresh (quick)" in capsys.readouterr().out
    assert cli.main(["claims"]) == 0
    assert "fixture.ok" in capsys.readouterr().out


def test_build_without_results_is_a_usage_error(project, capsys):
    assert cli.main(["build"]) == 2
    assert "run `bmlab reproduce`" in capsys.readouterr().err


def test_bad_profile_and_jobs(project, capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["run", "part/good", "--profile", "fast"])
    assert exc.value.code == 2
    assert cli.main(["reproduce", "--jobs", "0"]) == 2
    assert cli.main(["run", "part/good", "-p", "profile=fast"]) == 2


def test_reproduce_runs_toc_chapters_with_jobs(project, capsys):
    assert cli.main(["reproduce", "--profile", "quick", "--jobs", "2", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "part/good" in out and "ok" in out


def test_a_zombie_counts_as_gone_and_orphans_are_awaited(tmp_path):
    """An exited, unreaped process is not alive; the wait for an orphaned chapter process
    ends when it exits, and never waits for a process of another machine."""
    import os
    import subprocess
    import sys
    import time

    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    t0 = time.monotonic()
    while runner._pid_alive(proc.pid) and time.monotonic() - t0 < 30:
        time.sleep(0.05)  # never reaped meanwhile: a zombie once it has exited
    assert not runner._pid_alive(proc.pid)
    proc.wait()

    slow = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(1.0)"])
    pid_file = tmp_path / "pid-x"
    pid_file.write_text(f"{runner.HOST_TAG} {slow.pid}")
    t0 = time.monotonic()
    runner._wait_for_orphan(pid_file, grace=30)
    assert runner._pid_alive(slow.pid) is False and time.monotonic() - t0 < 30
    slow.wait()

    pid_file.write_text(f"00000000 {os.getpid()}")  # another machine's live pid: not watched
    t0 = time.monotonic()
    runner._wait_for_orphan(pid_file, grace=30)
    assert time.monotonic() - t0 < 10
    runner._wait_for_orphan(tmp_path / "missing", grace=30)  # no file: nothing to wait for
