"""Fault suite for the runner, the ledger files and the CLI (issue 11, items 1–12).

Every case tries one thing a demanding user (or a crash) can do -- bad command-line input,
a damaged or edited results folder, a signal at a bad moment, concurrent publishers, a
kernelspec of their own -- and asserts that nothing is forged or lost: a one-line error,
the right exit status, the previous results kept, a damaged ledger never shown as green.

The chapters are tiny synthetic ones in a temporary project (``BMLAB_ROOT``), so the whole
suite runs in a couple of minutes.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from bmlab import cli, runner
from bmlab.claims import LedgerError
from bmlab.runner import Param, chapter_state, coerce

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

CHAPTER = HEADER + textwrap.dedent('''\
    # A fault-test chapter

    Some prose.

    ```{code-cell} ipython3
    :tags: [parameters]

    profile = "paper"
    seed = 0
    n: int = 3
    # a comment line, which papermill cannot parse
    scale = 1.5
    grid = [0.0, 1.0]
    label = "x"
    flag = False
    mode = "ok"
    ```

    ```{code-cell} ipython3
    import os, signal, sys, time
    from pathlib import Path
    from bmlab.chapter import Chapter
    from bmlab.claims import at_least, at_most, qualitative
    ch = Chapter("NAME", profile=profile, seed=seed)
    t0 = time.perf_counter()
    _ = (ch.out_dir / "value.txt").write_text(f"{n} {scale} {grid} {label} {flag}")
    _ = (ch.out_dir / "kernel.txt").write_text(sys.executable)
    ```

    More prose.

    ```{code-cell} ipython3
    key = ch.name.replace("/", "_").replace("-", "_")
    if os.environ.get("BMLAB_FIXTURE_MARK"):
        _ = Path(os.environ["BMLAB_FIXTURE_MARK"], key).write_text(str(os.getpid()))
    time.sleep(float(os.environ.get("BMLAB_FIXTURE_SLEEP_" + key, "0")))
    if mode == "die":
        os.kill(os.getpid(), signal.SIGKILL)
    if mode == "raise":
        raise RuntimeError("asked to fail")
    ```

    ```{code-cell} ipython3
    ch.claim("fixture.paper", "n is at least one", at_least(n, 1), kind="paper",
             quote="n ≥ 1")
    ch.claim("fixture.extension", "scale is at most 2", at_most(scale, 2.0),
             kind="extension")
    ch.claim("fixture.check", "the grid is sorted", qualitative(grid == sorted(grid)),
             kind="check")
    if mode == "fragile":
        ch.claim("fixture.fragile", "scale is at most itself", at_most(scale, scale + 1e-12),
                 kind="extension")
    if mode == "unexpected":
        ch.claim("fixture.unexpected", "n is at least 100", at_least(n, 100), kind="paper",
                 quote="n ≥ 100")
    ch.record_timing("cells", time.perf_counter() - t0);
    ```
    ''')

CHAPTERS = ("part/good", "part/other")
# Others edit src/bmlab while these tests run: pin the package hash (its own test below).
FIXED_SRC = hashlib.sha256(b"pinned package for the fault suite").hexdigest()


def _write_project(toy, root: Path) -> Path:
    return toy.write(root, {cid: CHAPTER.replace("NAME", cid) for cid in CHAPTERS},
                     inputs={"part/table.csv": "a,b\n1,2\n"})


def _point_env(toy, monkeypatch, root: Path) -> None:
    toy.point(monkeypatch, root)
    monkeypatch.setattr(runner, "source_hash", lambda: FIXED_SRC)


@pytest.fixture(scope="module")
def template(tmp_path_factory, toy_project):
    """A project with both chapters run once (quick profile), copied by each test."""
    root = _write_project(toy_project, tmp_path_factory.mktemp("template") / "proj")
    mp = pytest.MonkeyPatch()
    try:
        _point_env(toy_project, mp, root)
        for cid in CHAPTERS:
            assert cli.main(["run", cid, "--profile", "quick", "--no-progress"]) == 0
    finally:
        mp.undo()
    return root


@pytest.fixture
def project(template, tmp_path, monkeypatch, toy_project):
    """A fresh copy of the template project (results included), the environment on it."""
    root = tmp_path / "proj"
    shutil.copytree(template, root, ignore=shutil.ignore_patterns(".tmp", "_build"))
    _point_env(toy_project, monkeypatch, root)
    return root


@pytest.fixture
def empty_project(tmp_path, monkeypatch, toy_project):
    root = _write_project(toy_project, tmp_path / "proj")
    _point_env(toy_project, monkeypatch, root)
    return root


def results(root: Path, cid: str = "part/good") -> Path:
    return root / "data" / "results" / cid


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def one_line_error(err: str) -> None:
    assert "Traceback" not in err, err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert lines and lines[0].startswith("bmlab: "), err


# ============================================================== 1. CLI bad input (exit 2)
BAD_RUN_ARGS = [
    (["-p", "n=three"], "'n' expects int"),
    (["-p", "n=2.5"], "'n' expects int"),
    (["-p", "n=1e400"], "'n' expects int"),
    (["-p", "n=[1]"], "'n' expects int"),
    (["-p", "n=True"], "'n' expects int"),
    (["-p", "scale=fast"], "'scale' expects float"),
    (["-p", "scale=1e400"], "not a finite number"),
    (["-p", "scale=-1e400"], "not a finite number"),
    (["-p", "scale=nan"], "'scale' expects float"),
    (["-p", "scale=inf"], "'scale' expects float"),
    (["-p", "scale=-inf"], "'scale' expects float"),
    (["-p", "scale=1e999"], "not a finite number"),
    (["-p", "scale=" + "1" + "0" * 400], "out of the range of a float"),
    (["-p", "scale=" + "9" * 5000], "cannot parse"),
    (["-p", "scale=[1.0]"], "'scale' expects float"),
    (["-p", "scale="], "cannot parse"),
    (["-p", "grid=[1e400]"], "not a finite number"),
    (["-p", "grid=[0, -1e400]"], "not a finite number"),
    (["-p", "grid=['a']"], "expects float"),
    (["-p", "grid=" + "[" * 3000], "cannot parse"),
    (["-p", "flag=maybe"], "'flag' expects bool"),
    (["-p", "flag=2"], "'flag' expects bool"),
    (["-p", "seed=-1"], "seed must be a non-negative integer"),
    (["-p", "seed=1.5"], "'seed' expects int"),
    (["-p", "profile=fast"], "profile must be one of"),
    (["-p", "nn=3"], "unknown parameter"),
    (["-p", "=3"], "invalid parameter name"),
    (["-p", "3x=3"], "invalid parameter name"),
    (["-p", "n"], "must be written name=value"),
    (["-p", "__import__('os').system('true')=1"], "invalid parameter name"),
    (["-p", "n=__import__('os').getpid()"], "'n' expects int"),
    (["-p", "scale=(lambda: 1)()"], "'scale' expects float"),
    (["-p", "label=1", "-p", "n=x"], "'n' expects int"),
]


@pytest.mark.parametrize("args,message", BAD_RUN_ARGS,
                         ids=[f"bad-{i}" for i in range(len(BAD_RUN_ARGS))])
def test_bad_run_input_exits_2_before_work(empty_project, capsys, args, message):
    assert cli.main(["run", "part/good", "--no-progress", *args]) == 2
    err = capsys.readouterr().err
    one_line_error(err)
    assert message in err
    assert not (empty_project / "data" / "results").exists()  # no work was done


@pytest.mark.parametrize("argv,message", [
    (["run", "nope"], "unknown chapter 'nope'"),
    (["run", "part/nope"], "unknown chapter"),
    (["run", ""], "unknown chapter"),
    (["run", "../../etc/passwd"], "unknown chapter"),
    (["reproduce", "--jobs", "0"], "--jobs must be at least 1"),
    (["reproduce", "--jobs", "-3"], "--jobs must be at least 1"),
])
def test_bad_command_exits_2(empty_project, capsys, argv, message):
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    one_line_error(err)
    assert message in err


@pytest.mark.parametrize("argv", [
    ["run", "part/good", "--profile", "fast"],
    ["reproduce", "--jobs", "two"],
    ["claims", "--allow-everything"],
    ["frobnicate"],
    [],
])
def test_argparse_errors_exit_2(empty_project, argv):
    with pytest.raises(SystemExit) as exc:
        cli.main(argv)
    assert exc.value.code == 2


@pytest.mark.parametrize("param,raw,expected", [
    (Param("x", 1e999, "float"), "inf", float("inf")),
    (Param("x", 1e999, "float"), "-inf", float("-inf")),
    (Param("x", 1e999, "float"), "1e400", float("inf")),
    (Param("x", 1.0, "float"), "1e-400", 0.0),
    (Param("x", 1.0, "float"), "-1e308", -1e308),
    (Param("g", [0.0, 1.0], "list"), "[1, 2.5]", [1.0, 2.5]),
])
def test_finite_parsing_allowed(param, raw, expected):
    assert coerce(param, raw) == expected


def test_nonfinite_allowed_nan():
    import math
    assert math.isnan(coerce(Param("x", 1e999, "float"), "nan"))


# ============================================================== 2. damaged ledger files
def _claims_path(root):
    return results(root) / "claims.json"


def _manifest_path(root):
    return results(root) / "manifest.json"


def _edit_json(path: Path, fn) -> None:
    data = json.loads(path.read_text())
    out = fn(data)
    path.write_text(json.dumps(data if out is None else out, indent=2))


def _set_claim(field, value, index=0):
    def fn(data):
        data[index][field] = value
    return fn


DAMAGES = {
    # claims.json
    "claims-empty-object": lambda r: _claims_path(r).write_text("{}"),
    "claims-empty-list": lambda r: _claims_path(r).write_text("[]"),
    "claims-deleted": lambda r: _claims_path(r).unlink(),
    "claims-garbage": lambda r: _claims_path(r).write_text("{{{ not json"),
    "claims-empty-file": lambda r: _claims_path(r).write_text(""),
    "claims-binary": lambda r: _claims_path(r).write_bytes(b"\xff\xfe\x00garbage"),
    "claims-null": lambda r: _claims_path(r).write_text("null"),
    "claims-numbers": lambda r: _claims_path(r).write_text("[1, 2]"),
    "claims-holds-string": lambda r: _edit_json(_claims_path(r), _set_claim("holds", "false")),
    "claims-holds-flipped": lambda r: _edit_json(
        _claims_path(r), lambda d: d[0].update(holds=not d[0]["holds"],
                                               margin=-d[0]["margin"])),
    "claims-margin-nan": lambda r: _claims_path(r).write_text(re.sub(
        r'"margin": [-0-9.e+]+', '"margin": NaN', _claims_path(r).read_text(), count=1)),
    "claims-kind-bogus": lambda r: _edit_json(_claims_path(r), _set_claim("kind", "bogus")),
    "claims-unknown-field": lambda r: _edit_json(_claims_path(r), _set_claim("extra", 1)),
    "claims-missing-field": lambda r: _edit_json(_claims_path(r),
                                                 lambda d: d[0].pop("statement")),
    "claims-duplicate-id": lambda r: _edit_json(_claims_path(r), lambda d: d + [d[0]]),
    "claims-one-removed": lambda r: _edit_json(_claims_path(r), lambda d: d[1:]),
    "claims-failing-removed": lambda r: _edit_json(
        _claims_path(r), lambda d: [c for c in d if c["id"] != "fixture.extension"]),
    "claims-renamed": lambda r: _edit_json(_claims_path(r), _set_claim("id", "fixture.new")),
    "claims-expected-fails": lambda r: _edit_json(
        _claims_path(r), lambda d: d[0].update(expected="fails", reason="edited")),
    "claims-whitespace": lambda r: _claims_path(r).write_text(
        _claims_path(r).read_text() + "\n"),
    # manifest.json
    "manifest-list": lambda r: _manifest_path(r).write_text("[1,2]"),
    "manifest-empty-object": lambda r: _manifest_path(r).write_text("{}"),
    "manifest-garbage": lambda r: _manifest_path(r).write_text("not json at all"),
    "manifest-deleted": lambda r: _manifest_path(r).unlink(),
    "manifest-null": lambda r: _manifest_path(r).write_text("null"),
    "manifest-empty-file": lambda r: _manifest_path(r).write_text(""),
    "manifest-field-missing": lambda r: _edit_json(_manifest_path(r),
                                                   lambda d: d.pop("claim_ids")),
    "manifest-unknown-field": lambda r: _edit_json(_manifest_path(r),
                                                   lambda d: d.update(extra=1)),
    "manifest-old-schema": lambda r: _edit_json(_manifest_path(r), lambda d: d.pop("schema")),
    "manifest-other-chapter": lambda r: _edit_json(_manifest_path(r),
                                                   lambda d: d.update(chapter="part/other")),
    "manifest-claim-ids-extra": lambda r: _edit_json(
        _manifest_path(r), lambda d: d["claim_ids"].append("fixture.ghost")),
    "manifest-claim-ids-short": lambda r: _edit_json(
        _manifest_path(r), lambda d: d.update(claim_ids=d["claim_ids"][:1])),
    "manifest-claim-ids-string": lambda r: _edit_json(
        _manifest_path(r), lambda d: d.update(claim_ids="fixture.paper")),
    "manifest-cache-key-bad": lambda r: _edit_json(_manifest_path(r),
                                                   lambda d: d.update(cache_key="abc")),
    "manifest-seconds-string": lambda r: _edit_json(_manifest_path(r),
                                                    lambda d: d.update(seconds="fast")),
    "manifest-parameters-list": lambda r: _edit_json(_manifest_path(r),
                                                     lambda d: d.update(parameters=[1])),
    "manifest-claims-hash": lambda r: _edit_json(
        _manifest_path(r), lambda d: d.update(claims_sha256="0" * 64)),
    # the other files
    "notebook-deleted": lambda r: (results(r) / "chapter.ipynb").unlink(),
    "notebook-edited": lambda r: (results(r) / "chapter.ipynb").write_text("{}"),
    "value-edited": lambda r: (results(r) / "value.txt").write_text("forged"),
    "file-added": lambda r: (results(r) / "extra.png").write_bytes(b"png"),
    "folder-emptied-but-manifest": lambda r: [p.unlink() for p in results(r).iterdir()
                                              if p.name != "manifest.json"],
}


@pytest.mark.parametrize("damage", sorted(DAMAGES))
def test_damage_makes_chapter_invalid(project, damage):
    DAMAGES[damage](project)
    state = chapter_state("part/good")
    assert state.state == "invalid", state
    assert state.reason and "\n" not in state.reason
    assert chapter_state("part/other").state == "fresh"  # the other chapter is untouched


@pytest.mark.parametrize("damage", sorted(DAMAGES))
def test_damage_fails_claims_never_green(project, damage, capsys):
    DAMAGES[damage](project)
    for flags in ([], ["--allow-missing", "--allow-stale"]):
        assert cli.main(["claims", *flags]) == 1
        captured = capsys.readouterr()
        assert "Traceback" not in captured.err
        assert "part/good: INVALID" in captured.out
        assert "invalid" in captured.err


@pytest.mark.parametrize("damage", sorted(DAMAGES))
def test_damage_shown_by_list(project, damage, capsys):
    DAMAGES[damage](project)
    assert cli.main(["list"]) == 0
    out = capsys.readouterr().out
    line = next(ln for ln in out.splitlines() if ln.startswith("part/good "))
    assert "[invalid: " in line and "fresh" not in line


@pytest.mark.parametrize("damage", ["claims-empty-object", "claims-deleted",
                                    "claims-holds-string", "manifest-list",
                                    "manifest-garbage", "notebook-deleted", "value-edited"])
def test_damage_run_reruns_and_repairs(project, damage, capsys):
    DAMAGES[damage](project)
    assert cli.main(["run", "part/good", "--profile", "quick", "--no-progress"]) == 0
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    assert "invalid" in captured.err and "running it again" in captured.err
    assert "cached" not in captured.out and " ok " in captured.out
    assert chapter_state("part/good").state == "fresh"


@pytest.mark.parametrize("damage", ["manifest-list", "manifest-deleted", "claims-garbage",
                                    "claims-empty-list"])
def test_damage_build_is_one_line(project, damage, capsys):
    DAMAGES[damage](project)
    assert cli.main(["build"]) == 1
    err = capsys.readouterr().err
    one_line_error(err)
    assert "part/good" in err and "invalid" in err


@pytest.mark.parametrize("damage", ["manifest-list", "claims-garbage", "claims-empty-object"])
def test_damage_reproduce_reruns(project, damage, capsys):
    DAMAGES[damage](project)
    assert cli.main(["reproduce", "--profile", "quick", "--no-progress"]) == 0
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err and "invalid" in captured.err
    assert chapter_state("part/good").state == "fresh"


def test_holds_string_is_rejected_by_the_ledger(project):
    DAMAGES["claims-holds-string"](project)
    with pytest.raises(LedgerError, match="holds must be a boolean"):
        runner.load_ledger("part/good")


# ============================================================== 2. stale (cache key)
STALE = {
    "input-edited": (lambda r: (r / "data/inputs/part/table.csv").write_text("a,b\n1,3\n"),
                     "shipped inputs"),
    "input-added": (lambda r: (r / "data/inputs/part/new.csv").write_text("x\n"),
                    "shipped inputs"),
    "input-deleted": (lambda r: (r / "data/inputs/part/table.csv").unlink(),
                      "shipped inputs"),
    "input-renamed": (lambda r: (r / "data/inputs/part/table.csv").rename(
        r / "data/inputs/part/table2.csv"), "shipped inputs"),
    "chapter-edited": (lambda r: (r / "book/part/good.md").write_text(
        (r / "book/part/good.md").read_text() + "\nA new paragraph.\n"), "chapter source"),
}


@pytest.mark.parametrize("change", sorted(STALE))
def test_change_makes_chapter_stale(project, change, capsys):
    edit, reason = STALE[change]
    edit(project)
    state = chapter_state("part/good")
    assert state.state == "stale" and reason in state.reason
    assert cli.main(["claims"]) == 1
    assert "stale" in capsys.readouterr().err
    assert cli.main(["claims", "--allow-stale"]) == 0
    assert "STALE" in capsys.readouterr().out


def test_package_change_makes_chapter_stale(project, monkeypatch):
    monkeypatch.setattr(runner, "source_hash", lambda: "1" * 64)
    state = chapter_state("part/good")
    assert state.state == "stale" and "bmlab package" in state.reason


def test_source_hash_covers_the_package():
    assert len(runner.source_hash()) == 64 and runner.source_hash() != FIXED_SRC


def test_input_edit_reruns_and_revert_reruns(project, capsys):
    """Editing a shipped input re-runs the chapter; reverting it re-runs it again (the old
    results are not served from a cache keyed on the edited input)."""
    table = project / "data/inputs/part/table.csv"
    original = table.read_text()
    args = ["run", "part/good", "--profile", "quick", "--no-progress"]
    table.write_text("a,b\n9,9\n")
    assert cli.main(args) == 0 and "cached" not in capsys.readouterr().out
    assert cli.main(args) == 0 and "cached" in capsys.readouterr().out
    table.write_text(original)
    assert chapter_state("part/good").state == "stale"
    assert cli.main(args) == 0 and "cached" not in capsys.readouterr().out


def test_interactive_manifest_is_stale_not_fresh(project):
    _manifest_path(project).write_text(json.dumps(
        {"chapter": "part/good", "interactive": True, "parameters": {"profile": "quick"}}))
    state = chapter_state("part/good")
    assert state.state == "stale" and "by hand" in state.reason


# ============================================================== 3. bmlab claims
def test_claims_missing_fails_unless_allowed(empty_project, capsys):
    assert cli.main(["claims"]) == 1
    assert "missing" in capsys.readouterr().err
    assert cli.main(["claims", "--allow-missing"]) == 1  # nothing at all to show
    assert "no claims recorded" in capsys.readouterr().err


def test_claims_some_missing(project, capsys):
    shutil.rmtree(results(project, "part/other"))
    assert chapter_state("part/other").state == "missing"
    assert cli.main(["claims"]) == 1
    err = capsys.readouterr().err
    assert "part/other: missing" in err and "--allow-missing" in err
    assert cli.main(["claims", "--allow-missing"]) == 0


def test_claims_output_kinds_verdicts_margins(project, capsys):
    assert cli.main(["claims"]) == 0
    out = capsys.readouterr().out
    line = next(ln for ln in out.splitlines() if "fixture.paper" in ln)
    assert "paper" in line and "reproduced" in line and "margin +0.667" in line
    assert any("fixture.check" in ln and " check " in ln and "holds" in ln
               for ln in out.splitlines())
    assert "paper claims: 2 — 2 reproduced, 0 not reproduced, 0 unexpected" in out
    assert "extensions: 2; checks: 2" in out


@pytest.mark.parametrize("mode,word", [("fragile", "FRAGILE"), ("unexpected", "UNEXPECTED")])
def test_claims_fail_on_fragile_and_unexpected(project, capsys, mode, word):
    assert cli.main(["run", "part/good", "--profile", "quick", "-p", f"mode={mode}",
                     "--no-progress"]) == 0
    capsys.readouterr()
    assert cli.main(["claims"]) == 1
    captured = capsys.readouterr()
    assert word in captured.out
    assert ("1 fragile" if mode == "fragile" else "1 unexpected") in captured.err


# ============================================================== 4. the kernel
@pytest.mark.parametrize("where", ["JUPYTER_PATH", "JUPYTER_DATA_DIR"])
def test_user_python3_kernelspec_is_ignored(project, tmp_path, monkeypatch, capsys, where):
    fake = tmp_path / "jupyter"
    spec_dir = fake / "kernels" / "python3"
    spec_dir.mkdir(parents=True)
    (spec_dir / "kernel.json").write_text(json.dumps({
        "argv": ["/bin/false", "-f", "{connection_file}"],
        "display_name": "someone else's Python", "language": "python"}))
    monkeypatch.setenv(where, str(fake))
    assert cli.main(["run", "part/good", "--force", "--no-progress"]) == 0
    assert (results(project) / "kernel.txt").read_text() == sys.executable


# ============================================================== 5/6. signals
def _cli_env(root: Path, **extra) -> dict[str, str]:
    env = dict(os.environ)
    env.update(BMLAB_ROOT=str(root), BMLAB_RESULTS_ROOT=str(root / "data" / "results"),
               BMLAB_BUILD_ROOT=str(root / "_build"), PYTHONUNBUFFERED="1", **extra)
    env.pop("BMLAB_OUTPUT_DIR", None)
    return env


def _wait_for(predicate, timeout=60.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def _dead(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    try:  # a zombie counts as dead
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(")")[-1].split()[0] == "Z"
    except OSError:
        return True


def _tmp_entries(root: Path) -> list[str]:
    tmp = root / "data" / "results" / ".tmp"
    return sorted(p.name for p in tmp.iterdir()) if tmp.exists() else []


@pytest.mark.parametrize("sig,status,name", [(signal.SIGINT, 130, "SIGINT"),
                                             (signal.SIGTERM, 143, "SIGTERM")])
def test_signal_during_a_cell_keeps_results(project, tmp_path, sig, status, name):
    before = snapshot(results(project))
    mark = tmp_path / "mark"
    mark.mkdir()
    proc = subprocess.Popen(
        [sys.executable, "-m", "bmlab.cli", "run", "part/good", "--force", "--no-progress",
         "-p", "n=7"],
        env=_cli_env(project, BMLAB_FIXTURE_MARK=str(mark), BMLAB_FIXTURE_SLEEP_part_good="60"),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _wait_for(lambda: (mark / "part_good").exists(), what="the cell to start")
        kernel_pid = int((mark / "part_good").read_text())
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == status, err
    assert f"interrupted ({name}); previous results are unchanged" in err
    assert "Traceback" not in err
    assert snapshot(results(project)) == before
    assert _tmp_entries(project) == []
    _wait_for(lambda: _dead(kernel_pid), timeout=20, what="the kernel to exit")


def test_sigkill_leaves_tmp_that_the_next_run_cleans(project, tmp_path, capsys):
    before = snapshot(results(project))
    mark = tmp_path / "mark"
    mark.mkdir()
    proc = subprocess.Popen(
        [sys.executable, "-m", "bmlab.cli", "run", "part/good", "--force", "--no-progress"],
        env=_cli_env(project, BMLAB_FIXTURE_MARK=str(mark), BMLAB_FIXTURE_SLEEP_part_good="60"),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _wait_for(lambda: (mark / "part_good").exists(), what="the cell to start")
    kernel_pid = int((mark / "part_good").read_text())
    proc.kill()
    proc.wait(timeout=30)
    left = _tmp_entries(project)
    assert len(left) == 1 and f"-pid{proc.pid}-" in left[0]
    assert snapshot(results(project)) == before
    _wait_for(lambda: _dead(kernel_pid), timeout=30, what="the orphaned kernel to exit")
    assert cli.main(["run", "part/other", "--force", "--no-progress"]) == 0
    assert _tmp_entries(project) == []


def test_clean_stale_tmp_only_removes_dead_owners(project):
    tmp = project / "data" / "results" / ".tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        names = {
            f"part__good-pid{dead.pid}-abc": False,
            f"old-pid{dead.pid}-123": False,
            f"part__good-pid{alive.pid}-def": True,
            f"part__good-pid{os.getpid()}-ghi": True,
            "part__good-legacy-fresh": True,
            "part__good-legacy-old": False,
        }
        for name in names:
            (tmp / name / "result").mkdir(parents=True)
        old = time.time() - 3 * 24 * 3600
        os.utime(tmp / "part__good-legacy-old", (old, old))
        runner.clean_stale_tmp()
        for name, kept in names.items():
            assert (tmp / name).exists() == kept, name
    finally:
        alive.kill()
        alive.wait()


def test_signal_while_publishing_is_held_back(project, monkeypatch, capsys):
    """A SIGTERM that arrives in the middle of publishing waits until the new results are
    complete; the CLI then says they were published (not 'unchanged')."""
    real = runner.os.replace
    calls = []

    def replace_and_signal(a, b):
        calls.append(b)
        if "old-pid" in str(b):  # the old results are moved aside: publishing started
            os.kill(os.getpid(), signal.SIGTERM)
        return real(a, b)

    monkeypatch.setattr(runner.os, "replace", replace_and_signal)
    assert cli.main(["run", "part/good", "--force", "--no-progress", "-p", "n=5"]) == 143
    err = capsys.readouterr().err
    assert "published before the signal for: part/good" in err
    monkeypatch.setattr(runner.os, "replace", real)
    assert (results(project) / "value.txt").read_text().startswith("5 ")
    assert chapter_state("part/good").state == "fresh"


def test_reproduce_jobs_sigint_cancels_workers(project, tmp_path):
    """SIGINT to the main process only: workers stop, nothing is published after the
    signal, the message is true (here: nothing was published)."""
    before = {c: snapshot(results(project, c)) for c in CHAPTERS}
    mark = tmp_path / "mark"
    mark.mkdir()
    proc = subprocess.Popen(
        [sys.executable, "-m", "bmlab.cli", "reproduce", "--profile", "quick", "--jobs", "2",
         "--force", "--no-progress"],
        env=_cli_env(project, BMLAB_FIXTURE_MARK=str(mark), BMLAB_FIXTURE_SLEEP_part_good="3",
                     BMLAB_FIXTURE_SLEEP_part_other="3"),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        _wait_for(lambda: all((mark / c.replace("/", "_")).exists() for c in CHAPTERS),
                  what="both chapters to start")
        kernels = [int((mark / c.replace("/", "_")).read_text()) for c in CHAPTERS]
        proc.send_signal(signal.SIGINT)  # the main process only (own session)
        out, err = proc.communicate(timeout=90)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert "interrupted (SIGINT); previous results are unchanged" in err
    assert "Traceback" not in err
    time.sleep(4)  # longer than the cells' sleep: a surviving worker would publish by now
    for c in CHAPTERS:
        assert snapshot(results(project, c)) == before[c], c
    assert _tmp_entries(project) == []
    for pid in kernels:
        _wait_for(lambda: _dead(pid), timeout=20, what="the kernels to exit")


def test_reproduce_interrupt_names_what_was_published(project, monkeypatch, capsys):
    """Sequential reproduce interrupted in the second chapter: the first one's new results
    are named as published, the second keeps its previous ones."""
    before_other = snapshot(results(project, "part/other"))
    real = runner.run_chapter

    def second_interrupted(spec, params, **kw):
        if spec.id == "part/other":
            raise KeyboardInterrupt
        return real(spec, params, **kw)

    monkeypatch.setattr(runner, "run_chapter", second_interrupted)
    assert cli.main(["reproduce", "--profile", "quick", "--force", "--no-progress"]) == 130
    err = capsys.readouterr().err
    assert "published before the signal for: part/good" in err
    assert "part/other" not in err.split("for:")[1].split(";")[0]
    assert snapshot(results(project, "part/other")) == before_other


def test_cancelled_worker_never_publishes(project, tmp_path):
    class Flag:
        def is_set(self):
            return True

    src = tmp_path / "new"
    src.mkdir()
    (src / "x").write_text("new")
    with pytest.raises(KeyboardInterrupt):
        runner._swap_into_place(src, results(project), cancel=Flag())
    assert (results(project) / "value.txt").exists() and src.exists()


# ============================================================== 7. concurrent publishing
def _swap_many(project: Path, n: int, tag: str) -> list[BaseException]:
    final = project / "data" / "results" / "race" / "ch"
    tmp_root = project / "data" / "results" / ".tmp"
    tmp_root.mkdir(parents=True, exist_ok=True)
    errors: list[BaseException] = []
    barrier = threading.Barrier(n)

    def one(i):
        d = tmp_root / f"race-pid{os.getpid()}-{tag}{i}"
        d.mkdir()
        (d / "who").write_text(f"{tag}{i}")
        (d / "payload").write_bytes(os.urandom(64))
        try:
            barrier.wait()
            runner._swap_into_place(d, final)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors


def test_concurrent_swaps_threads(project):
    errors = _swap_many(project, 300, "t")
    assert errors == []
    final = project / "data" / "results" / "race" / "ch"
    assert sorted(p.name for p in final.iterdir()) == ["payload", "who"]
    assert _tmp_entries(project) == []


def _swap_in_process(root: str, tag: str, q) -> None:
    os.environ["BMLAB_RESULTS_ROOT"] = str(Path(root) / "data" / "results")
    q.put([repr(e) for e in _swap_many(Path(root), 50, tag)])


def test_concurrent_swaps_processes(project):
    import multiprocessing as mp

    ctx = mp.get_context("fork")
    q = ctx.Queue()
    procs = [ctx.Process(target=_swap_in_process, args=(str(project), f"p{k}-", q))
             for k in range(4)]
    for p in procs:
        p.start()
    errors = [e for _ in procs for e in q.get(timeout=120)]
    for p in procs:
        p.join(30)
    assert errors == []
    final = project / "data" / "results" / "race" / "ch"
    assert sorted(p.name for p in final.iterdir()) == ["payload", "who"]


def test_readers_never_see_a_half_published_folder(project):
    """chapter_state during 60 republishes of the same results: always fresh."""
    folder = results(project)
    tmp_root = project / "data" / "results" / ".tmp"
    tmp_root.mkdir(parents=True, exist_ok=True)
    stop = threading.Event()
    seen = []

    def reader():
        while not stop.is_set():
            seen.append(chapter_state("part/good").state)

    t = threading.Thread(target=reader)
    t.start()
    try:
        for i in range(60):
            copy = tmp_root / f"copy-pid{os.getpid()}-{i}"
            shutil.copytree(folder, copy)
            runner._swap_into_place(copy, folder)
    finally:
        stop.set()
        t.join()
    assert seen and set(seen) == {"fresh"}


# ============================================================== 8. naming the failing cell
def test_failing_cell_named_as_the_reader_sees_it(project, capsys):
    before = snapshot(results(project))
    assert cli.main(["run", "part/good", "-p", "mode=raise", "--no-progress"]) == 1
    err = capsys.readouterr().err
    one_line_error(err)
    assert "failed in code cell 3 of good.md" in err
    assert "key = ch.name.replace" in err and "RuntimeError: asked to fail" in err
    index = int(err.split("; cell ")[1].split(" of the kept notebook")[0])
    kept = json.loads((project / "_build" / "failed" / "part" / "good.ipynb").read_text())
    assert "asked to fail" in "".join(kept["cells"][index]["source"])
    assert snapshot(results(project)) == before


def test_dead_kernel_names_the_cell(project, capsys):
    before = snapshot(results(project))
    assert cli.main(["run", "part/good", "-p", "mode=die", "--no-progress"]) == 1
    err = capsys.readouterr().err
    one_line_error(err)
    assert "failed in code cell 3 of good.md" in err and "DeadKernelError" in err
    assert "setup" not in err
    assert snapshot(results(project)) == before
    assert _tmp_entries(project) == []


# ============================================================== 11. byte-identical results
def test_forced_reruns_are_byte_identical_and_world_readable(project, capsys):
    folder = results(project)
    first = snapshot(folder)
    assert cli.main(["run", "part/good", "--profile", "quick", "--force",
                     "--no-progress"]) == 0
    second = snapshot(folder)
    first.pop("manifest.json"), second.pop("manifest.json")
    assert first == second
    assert "timings.json" not in second
    manifest = json.loads((folder / "manifest.json").read_text())
    assert set(manifest["timings"]) == {"cells"} and manifest["timings"]["cells"] >= 0
    for p in [folder, *folder.rglob("*")]:
        mode = stat.S_IMODE(p.stat().st_mode)
        assert mode == (0o755 if p.is_dir() else 0o644), (p, oct(mode))


# ============================================================== 12. no noise on stderr
@pytest.mark.parametrize("argv,progress", [
    (["run", "part/good", "--force", "-p", "n=4", "-p", "scale=1.25"], True),
    (["reproduce", "--profile", "quick", "--force", "--no-progress"], False),
])
def test_normal_run_shows_progress_and_results_only(project, argv, progress):
    """No 'Kernel is running over TCP without encryption', no papermill 'Unable to parse
    line' / 'Passed unknown parameter' (the parameters cell has an annotated and a comment
    line): stderr holds the progress bar and nothing else."""
    proc = subprocess.run([sys.executable, "-m", "bmlab.cli", *argv], env=_cli_env(project),
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "part/good" in proc.stdout and "claims held" in proc.stdout
    pieces = [p for p in proc.stderr.replace("\r", "\n").splitlines() if p.strip()]
    if progress:
        assert pieces and all("part/good" in p and "%|" in p for p in pieces), proc.stderr
    else:
        assert proc.stderr == ""
