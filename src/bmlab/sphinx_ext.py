"""Sphinx extension of the bmlab book (registered in ``_config.yml``).

What it does, so that the chapters need no markup of their own for it:

* a ``{glue:figure}`` whose content is a glued table (pandas HTML, or the display version
  :meth:`bmlab.chapter.Chapter.save_table` glues) becomes a numbered **table**: its caption
  reads "Table N.M", sits above the table, and the table scrolls inside its own box when it is
  wider than the text column;
* the staged ``_extra/`` folder (result files, CSVs and zips that :func:`bmlab.book.stage`
  lays out) is copied verbatim into the HTML output;
* each chapter's download menu offers the executed notebook and a zip of its results folder;
* a small style sheet (``bmlab.css``) for the above and for the rerun box;
* pages that load nothing from another host: sphinx-thebe's scripts are dropped (MathJax
  itself comes from ``sphinx-mathjax-offline``, see ``_config.yml``).
"""
from __future__ import annotations

import json
import re
from pathlib import Path

from docutils import nodes

CSS = """\
/* bmlab: tables scroll inside their box instead of widening the page */
.bmlab-table-scroll { overflow-x: auto; max-width: 100%; }
.bmlab-table-scroll table { margin: 0; }
.bmlab-table-scroll table td, .bmlab-table-scroll table th { white-space: nowrap; }
figure.bmlab-table { max-width: 100%; }
figure.bmlab-table > figcaption { margin-bottom: .5em; }
.bmlab-table-csv { font-size: .85em; margin: .25em 0 0 0; }
.bd-article table { max-width: 100%; }
/* the ledger's wide tables */
.bmlab-wide { overflow-x: auto; max-width: 100%; }
.bmlab-rerun pre { white-space: pre-wrap; word-break: break-all; }
/* long dotted names (the API reference) wrap instead of widening the page */
h1 code, h2 code, h3 code, h1 code span.pre, h2 code span.pre, h3 code span.pre,
.bd-sidebar-secondary code, .bd-sidebar-secondary code span.pre, .bd-toc-nav a,
dt.sig, .sig-name, .sig-prename { white-space: normal; overflow-wrap: anywhere; }
.bd-sidebar-secondary { overflow-x: hidden; }
/* the general index: its wide tables scroll in place */
table.indextable { display: block; overflow-x: auto; max-width: 100%; }
"""

EXTRA = "_extra"
RESULTS_URL = "results"  # where the staged results land in the HTML output


class table_figure(nodes.figure):
    """A glued table shown as a numbered table (figure type ``table``)."""


def _is_table(fig: nodes.figure) -> bool:
    if any(isinstance(n, nodes.image) for n in fig.findall(nodes.image)):
        return False
    for raw in fig.findall(nodes.raw):
        if "html" in raw.get("format", "") and "<table" in raw.astext():
            return True
    return any(True for _ in fig.findall(nodes.table))


def tables_as_tables(app, doctree) -> None:
    """``doctree-read``: turn glued-table figures into numbered tables."""
    for fig in list(doctree.findall(nodes.figure)):
        if type(fig) is not nodes.figure or not _is_table(fig):
            continue
        new = table_figure(fig.rawsource, **fig.attributes)
        new["classes"] = list(fig.get("classes", [])) + ["bmlab-table"]
        caption = [c for c in fig.children if isinstance(c, nodes.caption)]
        legend = [c for c in fig.children if isinstance(c, nodes.legend)]
        body = [c for c in fig.children if not isinstance(c, (nodes.caption, nodes.legend))]
        box = nodes.container(classes=["bmlab-table-scroll"])
        box.extend(body)
        new.extend(caption + [box] + legend)
        new.source, new.line = fig.source, fig.line
        fig.replace_self(new)
        for id_ in new["ids"]:  # references resolve through the document's id map
            doctree.ids[id_] = new


def _visit_table_figure(self, node):
    self.visit_figure(node)


def _depart_table_figure(self, node):
    self.depart_figure(node)


def _table_title(node) -> str:
    for child in node.children:
        if isinstance(child, nodes.caption):
            return child.astext()
    return ""


def add_extra_path(app, config) -> None:
    """``config-inited``: copy the staged ``_extra/`` folder into the output when present."""
    extra = Path(app.srcdir) / EXTRA
    if extra.is_dir() and EXTRA not in config.html_extra_path:
        config.html_extra_path = list(config.html_extra_path) + [EXTRA]


def _chapters(app) -> dict:
    path = Path(app.srcdir) / EXTRA / RESULTS_URL / "chapters.json"
    if not hasattr(app, "_bmlab_chapters"):
        app._bmlab_chapters = (json.loads(path.read_text(encoding="utf-8"))
                               if path.exists() else {})
    return app._bmlab_chapters


def download_buttons(app, pagename, templatename, context, doctree) -> None:
    """``html-page-context`` (after the theme): the executed notebook and the results zip."""
    chapters = _chapters(app)
    cid = pagename.removeprefix("book/")
    if cid not in chapters:
        return
    pathto = context["pathto"]
    for group in context.get("header_buttons", []):
        if group.get("label") != "download-buttons":
            continue
        for button in group.get("buttons", []):
            if button.get("label") in ("download-notebook-button", "download-source-button") \
                    and str(button.get("text", "")).endswith(".ipynb"):
                button["text"] = "executed .ipynb"
                button["tooltip"] = "Download the executed notebook"
        group["buttons"].insert(1, {
            "type": "link",
            "url": pathto(f"{RESULTS_URL}/{cid}.zip", 1),
            "text": "results .zip",
            "tooltip": "Download this chapter's results folder (figures, tables, claims, "
                       "manifest)",
            "icon": "fas fa-file-zipper",
            "label": "download-results-button",
        })


_BACKTICKS = re.compile(r"(``.*?``|`[^`]*`)")


def plain_bars(app, what, name, obj, options, lines) -> None:
    """``autodoc-process-docstring``: a ``|x|`` in a docstring means an absolute value or a
    norm, never an RST substitution (the package defines none): escape the bars outside
    literals, roles and tables so docutils does not report undefined substitutions."""
    for i, line in enumerate(lines):
        stripped = line.lstrip()
        if "|" not in line or stripped.startswith(("|", "+")):
            continue
        parts = _BACKTICKS.split(line)
        lines[i] = "".join(part if k % 2 else re.sub(r"(?<!\\)\|", r"\\|", part)
                           for k, part in enumerate(parts))


def _is_thebe(js) -> bool:
    body = getattr(js, "attributes", {}).get("body", "") or ""
    return "sphinx-thebe" in str(getattr(js, "filename", js) or "") or "THEBE_JS_URL" in body


def offline_pages(app, pagename, templatename, context, doctree) -> None:
    """``html-page-context``: drop sphinx-thebe's scripts (the book has no live-code
    buttons; its inline config names a CDN and is emitted twice, a JavaScript error)."""
    files = context.get("script_files")
    if files:
        context["script_files"] = [js for js in files if not _is_thebe(js)]


def theme_defaults(app, config) -> None:
    """``config-inited``: an explicit colour mode (the theme logs a console error on a first
    visit when none is set)."""
    context = dict(config.html_context or {})
    context.setdefault("default_mode", "light")
    config.html_context = context


def write_css(app, exc) -> None:
    if exc is None and app.builder.format == "html":
        static = Path(app.outdir) / "_static"
        static.mkdir(parents=True, exist_ok=True)
        (static / "bmlab.css").write_text(CSS, encoding="utf-8")


def setup(app):
    app.setup_extension("sphinx.ext.autodoc")
    app.add_enumerable_node(table_figure, "table", _table_title,
                            html=(_visit_table_figure, _depart_table_figure),
                            latex=(lambda s, n: s.visit_figure(n),
                                   lambda s, n: s.depart_figure(n)),
                            text=(lambda s, n: s.visit_figure(n),
                                  lambda s, n: s.depart_figure(n)))
    app.connect("doctree-read", tables_as_tables)
    app.connect("autodoc-process-docstring", plain_bars)
    app.connect("config-inited", add_extra_path)
    app.connect("config-inited", theme_defaults)
    app.connect("html-page-context", offline_pages, priority=900)
    app.connect("html-page-context", download_buttons, priority=900)
    app.connect("build-finished", write_css)
    app.add_css_file("bmlab.css")
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
