"""Clean executed notebooks: every output of an executed chapter is a figure, a table, a glued
value or deliberate text. A stray return value (``140``, ``PosixPath(...)``,
``<matplotlib...>``), a warning, anything on stderr or an error fails the chapter."""
from __future__ import annotations

import nbformat
import pytest

from bmlab.book import toc_chapters
from bmlab.runner import NOTEBOOK_FILE, result_dir

HIDDEN_TAGS = {"remove-output", "remove-cell"}
TEXT_MIMES = ("text/markdown", "text/latex")
GLUE_PREFIX = "application/papermill.record/"


def _is_table(data: dict) -> bool:
    html = data.get("text/html", "")
    html = "".join(html) if isinstance(html, list) else html
    return "<table" in html


def _shown(output) -> str:
    data = output.get("data", {})
    text = data.get("text/plain") or output.get("text") or output.get("evalue") or ""
    text = "".join(text) if isinstance(text, list) else str(text)
    return text.strip().splitlines()[0][:100] if text.strip() else "(empty)"


def stray_outputs(nb) -> list[str]:
    """What in the executed notebook ``nb`` is neither a figure, a table, a glued value nor
    deliberate text (``print`` in the cell, or a Markdown/LaTeX display); one line each."""
    problems = []
    code_cells = [c for c in nb.cells if c.cell_type == "code"]
    for number, cell in enumerate(code_cells, start=1):
        tags = set(cell.get("metadata", {}).get("tags", []))
        if tags & HIDDEN_TAGS:
            continue
        where = f"code cell {number}"
        for out in cell.get("outputs", []):
            kind = out.get("output_type")
            data = out.get("data", {})
            if kind == "error":
                problems.append(f"{where}: error {out.get('ename')}: {_shown(out)}")
            elif kind == "stream":
                if out.get("name") == "stderr":
                    problems.append(f"{where}: stderr: {_shown(out)}")
                elif "print(" not in cell.source:
                    problems.append(f"{where}: text on stdout without a print: {_shown(out)}")
            elif kind in ("execute_result", "display_data"):
                glued = any(m.startswith(GLUE_PREFIX) for m in data) or \
                    "scrapbook" in out.get("metadata", {})
                figure = any(m.startswith("image/") for m in data)
                text = any(m in data for m in TEXT_MIMES)
                if glued or figure or text or _is_table(data):
                    continue
                what = "a stray return value" if kind == "execute_result" else "a stray display"
                problems.append(f"{where}: {what}: {_shown(out)}")
    return problems


def _nb(*cells):
    nb = nbformat.v4.new_notebook()
    nb.cells = list(cells)
    return nb


def _code(source, *outputs, tags=()):
    cell = nbformat.v4.new_code_cell(source)
    cell.outputs = list(outputs)
    if tags:
        cell.metadata["tags"] = list(tags)
    return cell


def test_rules_on_made_up_notebooks():
    out = nbformat.v4.new_output
    clean = _nb(
        _code("ch.savefig(fig, 'a');"),
        _code("glue('x', 1)", out("display_data", data={GLUE_PREFIX + "text/plain": "1"},
                                  metadata={"scrapbook": {"name": "x"}})),
        _code("fig", out("display_data", data={"image/png": "iVBOR", "text/plain": "<Figure>"})),
        _code("df", out("execute_result", data={"text/html": "<table></table>",
                                                "text/plain": "df"}, execution_count=1)),
        _code("print('n =', 3)", out("stream", name="stdout", text="n = 3\n")),
        _code("Markdown('**x**')", out("execute_result", data={"text/markdown": "**x**"},
                                       execution_count=2)),
        _code("x", out("execute_result", data={"text/plain": "140"}, execution_count=3),
              tags=["remove-output"]),
    )
    assert stray_outputs(clean) == []
    dirty = _nb(
        _code("len(x)", out("execute_result", data={"text/plain": "140"}, execution_count=1)),
        _code("ch.savefig(fig, 'a')", out("execute_result",
                                          data={"text/plain": "PosixPath('a.png')"},
                                          execution_count=2)),
        _code("import warnings", out("stream", name="stderr", text="UserWarning: careful\n")),
        _code("ax.plot(x)", out("display_data", data={"text/plain": "[<Line2D>]"})),
        _code("x", out("stream", name="stdout", text="leaked\n")),
        _code("1/0", out("error", ename="ZeroDivisionError", evalue="division by zero",
                         traceback=[])),
    )
    problems = stray_outputs(dirty)
    assert len(problems) == 6, problems
    assert "140" in problems[0] and "PosixPath" in problems[1] and "stderr" in problems[2]


@pytest.mark.chapter
@pytest.mark.parametrize("chapter", toc_chapters())
def test_executed_chapter_has_no_stray_output(chapter, quick_results):
    record = quick_results.get(chapter)
    if record is None or record.status != "ok":
        pytest.fail(f"{chapter} did not run: {getattr(record, 'error', 'no record')}")
    nb = nbformat.read(result_dir(chapter) / NOTEBOOK_FILE, as_version=4)
    problems = stray_outputs(nb)
    assert not problems, f"{chapter}: " + "\n  ".join(problems)
