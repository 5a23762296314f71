"""The HTML book builds with -W -n from the quick-profile results, with every chapter, its
figures and the generated reproducibility page; and what a reader needs is in it (issue 13):
math served from the book itself, nothing loaded from another host, numbered tables with
their full-precision CSV, the rerun box and the downloads, the API reference."""
import re

import pytest

from bmlab import paths
from bmlab.book import build, toc_chapters

# a script, style sheet or font loaded from another host (links to other sites are fine)
EXTERNAL_ASSET = re.compile(
    r'<(?:script|img|iframe)[^>]*\ssrc="(?:https?:)?//[^"]*"'
    r'|<link[^>]*\shref="(?:https?:)?//[^"]*"[^>]*>'
    r'|@import\s+url\(["\']?(?:https?:)?//', re.I)


def check_offline_assets(html):
    """Every page's scripts, style sheets and fonts come from ``html`` itself; MathJax too."""
    assert (html / "_static" / "mathjax" / "tex-chtml.js").exists()
    assert list((html / "_static" / "mathjax" / "output" / "chtml" / "fonts").rglob("*.woff"))
    problems = []
    for page in html.rglob("*.html"):
        rel = page.relative_to(html).as_posix()
        if rel.startswith(("_static/", "_sources/", "results/")):
            continue
        text = page.read_text(encoding="utf-8")
        problems += [f"{rel}: {m.group(0)[:120]}" for m in EXTERNAL_ASSET.finditer(text)]
        if "<span class=\"math" in text or "class=\"math" in text:
            if "_static/mathjax/tex-chtml.js" not in text:
                problems.append(f"{rel}: math without the book's own MathJax")
    for css in html.rglob("*.css"):
        text = css.read_text(encoding="utf-8", errors="replace")
        problems += [f"{css.relative_to(html)}: {m.group(0)}"
                     for m in re.finditer(r'url\(["\']?(?:https?:)?//[^)]*\)', text)]
    assert not problems, "\n".join(problems[:40])


@pytest.mark.book
def test_book_builds_strict(quick_results):
    assert all(r.status == "ok" for r in quick_results.values()), quick_results
    html = build(strict=True)
    assert (html / "index.html").exists()
    repro = (html / "book" / "reproducibility.html").read_text(encoding="utf-8")
    for chapter in toc_chapters():
        page = html / "book" / f"{chapter}.html"
        assert page.exists(), chapter
        text = page.read_text(encoding="utf-8")
        assert "Traceback" not in text and "<img" in text, chapter
        assert chapter in repro or chapter.rsplit("/", 1)[-1] in repro
        # the rerun box, the executed notebook and the results zip
        words = re.sub(r"<[^>]+>", "", text)  # the command is syntax-highlighted
        assert "Rerun this chapter" in words and f"bmlab run {chapter}" in words, chapter
        assert (html / "results" / f"{chapter}.zip").exists(), chapter
        assert (html / "_sources" / "book" / f"{chapter}.ipynb").exists(), chapter
        assert "results .zip" in text and "executed .ipynb" in text, chapter
        # glued tables: numbered as tables, no index column, the CSV linked beside
        for fig in re.findall(r'<figure class="bmlab-table.*?</figure>', text, re.S):
            assert re.search(r'caption-number">Table \d+(\.\d+)* ', fig), (chapter, fig[:300])
            for body in re.findall(r"<tbody>.*?</tbody>", fig, re.S):
                assert "<th" not in body, (chapter, "index column")
            for href in re.findall(r'class="bmlab-csv" href="([^"]+)"', fig):
                assert (page.parent / href).resolve().exists(), (chapter, href)
    assert "reproduced" in repro
    assert paths.build_root().exists()
    check_offline_assets(html)
    # the API reference documents the package and the {py:func} roles resolve into it
    api = (html / "book" / "api" / "pipeline.html").read_text(encoding="utf-8")
    assert 'id="bmlab.claims.close"' in api and 'id="bmlab.chapter.Chapter"' in api
    intro = (html / "book" / "intro.html").read_text(encoding="utf-8")
    assert 'href="api/pipeline.html#bmlab.claims.close"' in intro
