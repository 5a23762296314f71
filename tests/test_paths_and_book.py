import json
from pathlib import Path

import pytest

from bmlab import paths
from bmlab.book import reproducibility_markdown, stage, toc_files
from bmlab.claims import Claim, Ledger
from bmlab.runner import UsageError


def test_env_overrides(tmp_path, monkeypatch):
    monkeypatch.setenv("BMLAB_ROOT", str(tmp_path))
    monkeypatch.delenv("BMLAB_RESULTS_ROOT", raising=False)
    monkeypatch.delenv("BMLAB_BUILD_ROOT", raising=False)
    assert paths.repo_root() == tmp_path.resolve()
    assert paths.book_dir() == tmp_path.resolve() / "book"
    assert paths.results_root() == tmp_path.resolve() / "data" / "results"
    assert paths.build_root() == tmp_path.resolve() / "_build"
    assert paths.inputs_dir() == tmp_path.resolve() / "data" / "inputs"
    monkeypatch.setenv("BMLAB_RESULTS_ROOT", str(tmp_path / "r"))
    assert paths.results_root() == (tmp_path / "r").resolve()


def test_toc_files_of_the_real_book():
    files = toc_files()
    assert files[0] == "book/intro"
    assert "book/reproducibility" in files and "book/bibliography" in files


def test_reproducibility_page(tmp_path, monkeypatch):
    monkeypatch.setenv("BMLAB_RESULTS_ROOT", str(tmp_path))
    out = tmp_path / "part" / "ch"
    out.mkdir(parents=True)
    (out / "manifest.json").write_text(json.dumps({
        "title": "A chapter", "parameters": {"profile": "quick", "seed": 4}, "seconds": 1.5,
        "git_commit": "abc", "versions": {"numpy": "2"}}))
    ledger = Ledger(out / "claims.json")
    ledger.add(Claim("c.one", "a | b", paper=1.0, ours=1.0, holds=True, tol=1e-3,
                     chapter="part/ch"))
    ledger.add(Claim("c.two", "s", paper="qualitative", ours=[1, 2], holds=False,
                     expected="fails", reason="substitute data", chapter="part/ch"))
    page = reproducibility_markdown(["part/ch"])
    assert "(reproducibility)=" in page and "`part/ch`" in page and "| quick | 4 |" in page
    assert "a \\| b" in page  # table-safe
    assert "not reproduced (substitute data)" in page and "numpy 2" in page
    assert "**1 reproduced**" in page and "**1 not reproduced**" in page


def test_stage_refuses_missing_results(tmp_path, monkeypatch):
    root = tmp_path / "p"
    (root / "book" / "part").mkdir(parents=True)
    (root / "book" / "part" / "x.md").write_text(
        "---\nkernelspec:\n  name: python3\n  display_name: Python 3\n  language: python\n---\n# X\n\n```{code-cell} ipython3\n"
        ":tags: [parameters]\n\nprofile = 'quick'\nseed = 0\n```\n")
    (root / "_toc.yml").write_text("format: jb-book\nroot: book/part/x\n")
    monkeypatch.setenv("BMLAB_ROOT", str(root))
    monkeypatch.setenv("BMLAB_RESULTS_ROOT", str(root / "results"))
    with pytest.raises(UsageError, match="part/x"):
        stage()


def test_malformed_chapter_is_a_usage_error(tmp_path, monkeypatch):
    from bmlab.runner import discover

    root = tmp_path / "p"
    (root / "book").mkdir(parents=True)
    (root / "book" / "x.md").write_text("---\nkernelspec:\n  name: python3\n---\n# X\n")
    monkeypatch.setenv("BMLAB_ROOT", str(root))
    with pytest.raises(UsageError, match="x"):
        discover()
