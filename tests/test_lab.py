"""`make lab`: JupyterLab serves a chapter's MyST source as a notebook (jupytext), and the
notebook run top to bottom with the venv's kernel writes the chapter's results folder, with a
manifest that says the run was interactive."""
from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHAPTER = "demo/tiny"
# A tiny chapter in the book's format (the real ones take longer and change under other
# work): parameters cell, a figure, a table, a claim.
TINY = """---
jupytext:
  text_representation:
    extension: .md
    format_name: myst
kernelspec:
  name: python3
  display_name: Python 3
  language: python
---
# A tiny chapter

```{code-cell} ipython3
:tags: [parameters]

profile = "paper"
seed = 0
```

```{code-cell} ipython3
import matplotlib.pyplot as plt
import pandas as pd
from bmlab.chapter import Chapter
from bmlab.claims import close

ch = Chapter("demo/tiny", profile=profile, seed=seed)
x = ch.rng(1).normal(size=8)
fig, ax = plt.subplots()
ax.plot(x)
ch.savefig(fig, "fig-tiny")
ch.save_table(pd.DataFrame({"i": range(3), "x": x[:3]}), "tab-tiny")
ch.claim("tiny.mean", "the sample mean is small", close(abs(x.mean()), 0.0, 2.0),
         kind="check");
```
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str, token: str):
    req = urllib.request.Request(url, headers={"Authorization": f"token {token}"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.loads(resp.read().decode())


@pytest.fixture()
def tiny_root(tmp_path, toy_project):
    root = toy_project.write(tmp_path / "project", {CHAPTER: TINY}, intro=False)
    # the real chapters beside it (links), so the server can be asked for them too
    (root / "real").symlink_to(ROOT / "book", target_is_directory=True)
    return root


@pytest.fixture()
def lab_server(tmp_path, tiny_root):
    try:
        import jupyterlab  # noqa: F401
        import jupytext  # noqa: F401
    except ImportError:
        pytest.skip("jupyterlab not installed: `make lab` installs it")
    port, token = _free_port(), secrets.token_hex(16)
    env = dict(os.environ, BMLAB_RESULTS_ROOT=str(tmp_path / "results"),
               BMLAB_ROOT=str(tiny_root),
               JUPYTER_CONFIG_DIR=str(tmp_path / "jupyter-config"),
               JUPYTER_RUNTIME_DIR=str(tmp_path / "jupyter-runtime"))
    env.pop("BMLAB_OUTPUT_DIR", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", f"--port={port}",
         "--ServerApp.ip=127.0.0.1", f"--IdentityProvider.token={token}",
         f"--ServerApp.root_dir={tiny_root}"] + (["--allow-root"] if os.geteuid() == 0 else []),
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                _get(f"{base}/api/status", token)
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    proc.kill()
                    pytest.fail("JupyterLab did not start:\n" + (proc.stderr.read() or "")[-3000:])
                time.sleep(0.5)
        yield base, token, env
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.mark.chapter
def test_lab_opens_a_chapter_as_a_notebook_and_runs_it(lab_server, tmp_path, tiny_root,
                                                       monkeypatch, toy_project):
    import nbformat
    from nbclient import NotebookClient

    base, token, env = lab_server
    model = _get(f"{base}/api/contents/book/{CHAPTER}.md?type=notebook&content=1", token)
    assert model["type"] == "notebook", model.get("type")
    nb = nbformat.from_dict(model["content"])
    params = [c for c in nb.cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert params, "the chapter served by JupyterLab has no parameters cell"
    # the reader edits the parameters cell: the quick profile keeps the test short
    params[0].source += '\nprofile = "quick"\n'

    # the kernel inherits this environment, as it inherits JupyterLab's
    toy_project.point(monkeypatch, tiny_root, results=env["BMLAB_RESULTS_ROOT"],
                      build=tmp_path / "build")
    NotebookClient(nb, kernel_name="python3", timeout=600,
                   resources={"metadata": {"path": str(tiny_root / "book" / "demo")}}).execute()

    out = Path(env["BMLAB_RESULTS_ROOT"]) / CHAPTER
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["interactive"] is True
    assert manifest["chapter"] == CHAPTER and manifest["parameters"]["profile"] == "quick"
    # the same keys as a manifest written by the runner
    for key in ("title", "parameters", "source_hash", "started", "seconds", "git_commit",
                "versions", "claims"):
        assert key in manifest, key
    claims = json.loads((out / "claims.json").read_text(encoding="utf-8"))
    assert claims, "the interactive run recorded no claims"
    assert manifest["claims"]["total"] > 0
    assert list(out.glob("*.png")), "the interactive run saved no figure"

    # `bmlab run` of the same chapter writes the same files with the same claims
    from bmlab.runner import discover, effective_parameters, run_chapter

    monkeypatch.setenv("BMLAB_RESULTS_ROOT", str(tmp_path / "runner-results"))
    monkeypatch.setenv("BMLAB_BUILD_ROOT", str(tmp_path / "build"))
    spec = discover()[CHAPTER]
    run_chapter(spec, effective_parameters(spec, {}, "quick"), progress=False)
    ran = tmp_path / "runner-results" / CHAPTER
    extra = {"chapter.ipynb", "timings.json"}  # the executed notebook is the runner's
    assert {p.name for p in out.iterdir()} - extra == {p.name for p in ran.iterdir()} - extra
    assert json.loads((ran / "claims.json").read_text(encoding="utf-8")) == claims
    assert (ran / "tab-tiny.csv").read_bytes() == (out / "tab-tiny.csv").read_bytes()
    assert "interactive" not in json.loads((ran / "manifest.json").read_text(encoding="utf-8"))


@pytest.mark.chapter
def test_lab_serves_every_real_chapter_as_a_notebook(lab_server):
    from bmlab.book import toc_chapters

    base, token, _ = lab_server
    for chapter in toc_chapters():
        model = _get(f"{base}/api/contents/real/{chapter}.md?type=notebook&content=1", token)
        assert model["type"] == "notebook", chapter
        cells = model["content"]["cells"]
        assert any("parameters" in c.get("metadata", {}).get("tags", []) for c in cells), chapter
    # `make lab` makes jupytext's notebook view the default for .md (double-click opens one)
    if (Path(sys.prefix) / "share" / "jupyter" / "lab" / "settings" / "overrides.json").exists():
        plugin = _get(f"{base}/lab/api/settings/@jupyterlab/docmanager-extension:plugin", token)
        viewers = plugin["schema"]["properties"]["defaultViewers"]["default"]
        assert viewers.get("markdown") == "Jupytext Notebook", viewers


def test_lab_settings_open_markdown_as_notebooks():
    """`make lab` makes jupytext's notebook view the default for .md files."""
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert '"markdown": "Jupytext Notebook"' in makefile
    assert "requirements-lab.in" in makefile
