"""The HTML book builds with -W -n from the quick-profile results, with every chapter, its
figures and the generated reproducibility page."""
import pytest

from bmlab import paths
from bmlab.book import build, toc_chapters


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
    assert "reproduced" in repro
    assert paths.build_root().exists()
