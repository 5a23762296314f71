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
    from types import SimpleNamespace

    from bmlab.claims import at_most, claim, close, qualitative

    monkeypatch.setenv("BMLAB_RESULTS_ROOT", str(tmp_path))
    out = tmp_path / "part" / "ch"
    out.mkdir(parents=True)
    (out / "manifest.json").write_text(json.dumps({
        "title": "A chapter", "parameters": {"profile": "quick", "seed": 4}, "seconds": 1.5,
        "git_commit": "abc", "versions": {"numpy": "2"}}))
    ledger = Ledger(out / "claims.json")
    for c in [
        claim("c.one", "a | b", close(1.0, 1.0, 1e-3), kind="paper", quote="we prove a"),
        claim("c.two", "s", qualitative(False, ours=[1, 2]), kind="paper", quote="b holds",
              expected="fails", reason="substitute data"),
        claim("c.ext", "beyond", at_most(0.5, 1.0), kind="extension"),
        claim("c.chk", "identity", close(2.0, 2.0, 1e-9), kind="check"),
        claim("c.expl", "retuned", close(1.0, 1.1, 0.2), kind="paper", quote="c",
              exploratory=True, reason="tolerance set after a run"),
    ]:
        c.chapter = "part/ch"
        ledger.add(c)
    states = {"part/ch": SimpleNamespace(state="stale", reason="bmlab package changed")}
    page = reproducibility_markdown(["part/ch"], states)
    assert "(reproducibility)=" in page and "`part/ch`" in page and "| quick | 4 |" in page
    assert "a \\| b" in page  # table-safe
    assert "“we prove a”" in page and "“b holds”" in page  # the paper's words
    assert "not reproduced (substitute data)" in page and "numpy 2" in page
    # headline: non-exploratory paper claims from bmlab.claims.summarize
    assert "Paper claims: 1 reproduced, 1 not reproduced" in page
    assert "exploratory" in page and "1 exploratory" in page
    # extensions apart, checks collapsed
    ext, checks = page.index("## Extensions"), page.index("## Checks")
    assert ext < page.index("`c.ext`") < checks < page.index("`c.chk`")
    assert ":::{dropdown}" in page[checks:]
    # a chapter that is not fresh is flagged
    assert "**stale**" in page and "bmlab package changed" in page and ":::{warning}" in page


def test_rerun_box_and_stale_warning():
    from types import SimpleNamespace

    from bmlab.book import rerun_box, rerun_command, stale_warning

    manifest = {"parameters": {"profile": "quick", "seed": 3, "n": 5, "name": "a b"}}
    cmd = rerun_command("part/ch", manifest)
    assert cmd == "bmlab run part/ch --profile quick -p seed=3 -p n=5 -p 'name=a b'"
    box = rerun_box("part/ch", manifest)
    assert "Rerun this chapter" in box and cmd in box and "make lab" in box
    assert '../../results/part/ch.zip' in box and "../../_sources/book/part/ch.ipynb" in box
    warn = stale_warning("part/ch", SimpleNamespace(state="stale", reason="source changed"))
    assert warn.startswith(":::{warning}") and "**stale**: source changed" in warn


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
    # a run by hand (JupyterLab) leaves results but no executed notebook: said so
    (root / "results" / "part" / "x").mkdir(parents=True)
    (root / "results" / "part" / "x" / "manifest.json").write_text(
        json.dumps({"chapter": "part/x", "interactive": True}))
    with pytest.raises(UsageError, match="part/x .only a run by hand"):
        stage()


def test_malformed_chapter_is_a_usage_error(tmp_path, monkeypatch):
    from bmlab.runner import discover

    root = tmp_path / "p"
    (root / "book").mkdir(parents=True)
    (root / "book" / "x.md").write_text("---\nkernelspec:\n  name: python3\n---\n# X\n")
    monkeypatch.setenv("BMLAB_ROOT", str(root))
    with pytest.raises(UsageError, match="x"):
        discover()


def test_drop_range_index_only_drops_the_default_index():
    import pandas as pd

    from bmlab.book import drop_range_index

    df = pd.DataFrame({"a": [1, 2, 3], "b": [0.5, 0.25, 0.125]})
    for html in (df.to_html(), df._repr_html_()):
        out = drop_range_index(html)
        body = out.split("<tbody>")[1]
        assert "<th" not in body and out.count("<th>") == 2  # the two column headers
        assert "<td>0.125</td>" in out
    kept = (df.set_index("a").to_html(), df.rename(index={0: "x", 1: "y", 2: "z"}).to_html(),
            df.iloc[[2, 0]].to_html(), "<p>no table</p>")
    for html in kept:
        assert drop_range_index(html) == html


def test_display_table_rounds_hides_the_index_and_links_the_csv(tmp_path, monkeypatch):
    import numpy as np
    import pandas as pd

    from bmlab.chapter import Chapter, DisplayTable

    df = pd.DataFrame({"n": [1, 20], "err": [0.123456789, 1.5e-9], "name": ["a", "b"],
                       "big": [123456.789, np.nan]})
    shown = DisplayTable(df, csv="tab.csv")._repr_html_()
    assert "0.1235" in shown and "1.5e-09" in shown and "1.235e+05" in shown and "–" in shown
    from bmlab.chapter import _fmt_number
    assert [_fmt_number(v, 4) for v in (0.5, 50.0, 1.82134, -2e-4, 12345.678, 3)] == \
        ["0.5", "50", "1.821", "-2e-04", "12346", "3"]
    assert "<th>n</th>" in shown and "<tbody>" in shown
    assert "<th" not in shown.split("<tbody>")[1]  # no index column
    assert 'class="bmlab-table-scroll"' in shown
    assert '<a class="bmlab-csv" href="tab.csv">' in shown
    monkeypatch.setenv("BMLAB_OUTPUT_DIR", str(tmp_path))
    path = Chapter("p/c", profile="quick", seed=0).save_table(df, "tab")
    back = pd.read_csv(path)
    assert back["err"].tolist() == df["err"].tolist()  # the CSV keeps full precision


def test_interactive_run_writes_a_manifest(tmp_path, monkeypatch):
    from bmlab.chapter import Chapter
    from bmlab.claims import close

    monkeypatch.delenv("BMLAB_OUTPUT_DIR", raising=False)
    monkeypatch.setenv("BMLAB_RESULTS_ROOT", str(tmp_path))
    old = tmp_path / "p" / "c"
    old.mkdir(parents=True)
    (old / "chapter.ipynb").write_text("{}")  # an earlier run's notebook: not this run's
    ch = Chapter("p/c", profile="quick", seed=5)
    assert ch.interactive and not (old / "chapter.ipynb").exists()
    ch.claim("p.c.one", "one", close(1.0, 1.0, 0.1), kind="check")
    manifest = json.loads((old / "manifest.json").read_text())
    assert manifest["interactive"] is True and manifest["chapter"] == "p/c"
    assert manifest["parameters"] == {"profile": "quick", "seed": 5}
    assert manifest["claims"]["total"] == 1
    for key in ("title", "source_hash", "started", "seconds", "git_commit", "versions"):
        assert key in manifest
    monkeypatch.setenv("BMLAB_OUTPUT_DIR", str(tmp_path / "runner"))
    assert not Chapter("p/c", profile="quick", seed=5).interactive
    assert not (tmp_path / "runner" / "manifest.json").exists()  # the runner writes it


def test_sphinx_ext_docstring_bars_and_thebe():
    from types import SimpleNamespace

    from bmlab.sphinx_ext import _is_thebe, plain_bars

    lines = ["max(|x - a|, |y|) with :math:`|x|_2` and ``a|b``", "| a line block",
             "+----+ a grid table", "already \\| escaped"]
    plain_bars(None, "function", "f", None, {}, lines)
    assert lines[0] == "max(\\|x - a\\|, \\|y\\|) with :math:`|x|_2` and ``a|b``"
    assert lines[1:] == ["| a line block", "+----+ a grid table", "already \\| escaped"]
    thebe = SimpleNamespace(filename=None, attributes={"body": 'const THEBE_JS_URL = "x"'})
    assert _is_thebe(thebe) and _is_thebe("_static/sphinx-thebe.js")
    assert not _is_thebe(SimpleNamespace(filename="mathjax/tex-chtml.js", attributes={}))


def test_sphinx_ext_tables_become_numbered_tables():
    from docutils import nodes
    from docutils.frontend import get_default_settings
    from docutils.parsers.rst import Parser
    from docutils.utils import new_document

    from bmlab.sphinx_ext import table_figure, tables_as_tables

    doc = new_document("t", get_default_settings(Parser))
    table = nodes.figure(ids=["tab-a"])
    table += nodes.raw("", "<table><tr><td>1</td></tr></table>", format="html")
    table += nodes.caption("", "A table")
    image = nodes.figure(ids=["fig-a"])
    image += nodes.image(uri="a.png")
    image += nodes.caption("", "A figure")
    doc += [table, image]
    doc.ids.update({"tab-a": table, "fig-a": image})
    tables_as_tables(None, doc)
    new = doc.ids["tab-a"]
    assert isinstance(new, table_figure) and "bmlab-table" in new["classes"]
    assert isinstance(new.children[0], nodes.caption)  # caption above the table
    assert "bmlab-table-scroll" in new.children[1]["classes"]
    assert type(doc.ids["fig-a"]) is nodes.figure


def test_api_pages_list_every_module():
    from bmlab.book import fill_api_page, package_modules

    mods = package_modules("bmlab.solvers")
    assert "bmlab.solvers.gd" in mods and all(m.startswith("bmlab.solvers.") for m in mods)
    page = "# X\n\n% api-modules: bmlab.solvers\n\n```{eval-rst}\n.. automodule:: bmlab.solvers.gd\n```\n"
    out = fill_api_page(page)
    assert "% api-modules" not in out and out.count(".. automodule:: bmlab.solvers.gd\n") == 1
    assert all(f".. automodule:: {m}\n" in out for m in mods)
    assert "bmlab.experiments.base" not in package_modules("bmlab.experiments")
    # every API page of the book names packages that exist
    from pathlib import Path

    for page in (Path(__file__).resolve().parents[1] / "book" / "api").glob("*.md"):
        fill_api_page(page.read_text(encoding="utf-8"))


def test_every_chapter_has_its_experiment_module():
    """book/<part>/<chapter>.md mirrors bmlab/experiments/<part>/<chapter>.py, which holds
    ``run`` and ``claims``; the chapter page links both (rerun box)."""
    import importlib

    from bmlab.book import code_links, experiment_module, toc_chapters

    missing = []
    for cid in toc_chapters():
        mod = experiment_module(cid)
        if mod is None:
            missing.append(cid)
            continue
        m = importlib.import_module(mod)
        assert callable(getattr(m, "run", None)) and callable(getattr(m, "claims", None)), mod
        # autodoc documents only members with a docstring: the page links would dangle
        assert m.run.__doc__ and m.claims.__doc__, f"{mod}: run/claims need a docstring"
        assert any("{py:func}" in line for line in code_links(cid))
    assert not missing, "chapters without bmlab/experiments/<part>/<chapter>.py: " + \
        ", ".join(missing)
