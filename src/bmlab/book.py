"""Build the HTML book from the executed chapters (DESIGN §4).

The book is built from a staged copy of the project: the prose pages and configuration as
they are, each chapter replaced by its executed notebook from ``data/results/<chapter>/``,
and a generated ``reproducibility`` page (the claims ledger with provenance). jupyter-book
then runs with notebook execution off and ``-W -n --keep-going``, so any warning fails.
"""
from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import sys
import uuid
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
import yaml

from . import paths
from .claims import CLAIMS_FILE, Claim, Ledger, LedgerError, summarize
from .runner import MANIFEST_FILE, NOTEBOOK_FILE, UsageError, discover, result_dir

STAGE = "stage"
REPRO_PAGE = "book/reproducibility.md"
COPY_TOP = ("_config.yml", "_toc.yml", "references.bib")
EXTRA = "_extra"  # copied verbatim into the HTML output (see bmlab.sphinx_ext)
RESULTS_URL = "results"


def toc_files(root: Path | None = None) -> list[str]:
    """Every ``file:`` entry of ``_toc.yml`` (and its ``root``), in order."""
    root = root or paths.repo_root()
    toc = yaml.safe_load((root / "_toc.yml").read_text(encoding="utf-8"))
    out: list[str] = [toc["root"]]

    def walk(node):
        if isinstance(node, dict):
            if "file" in node:
                out.append(node["file"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk({k: v for k, v in toc.items() if k != "root"})
    return [f.removesuffix(".md").removesuffix(".ipynb") for f in out]


def toc_chapters(root: Path | None = None) -> list[str]:
    """Chapter ids (notebooks) listed in the table of contents, in book order."""
    chapters = discover()
    ids = []
    for entry in toc_files(root):
        cid = entry.removeprefix("book/")
        if cid in chapters:
            ids.append(cid)
    return ids


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, list):
        inner = ", ".join(_fmt(v) for v in value[:6])
        return f"[{inner}{', …' if len(value) > 6 else ''}]"
    if value is None:
        return "–"
    return str(value)


def _cell(text) -> str:
    return _fmt(text).replace("|", "\\|").replace("\n", " ")


# --------------------------------------------------------------------------- chapter state
@dataclass
class _State:
    state: str
    reason: str = ""


def chapter_states(chapter_ids: list[str]) -> dict[str, Any]:
    """``{chapter: state}`` from :func:`bmlab.runner.chapter_state` (``.state`` is one of
    ``fresh``, ``stale``, ``missing``, ``invalid``; ``.reason`` says why)."""
    from . import runner

    fn = getattr(runner, "chapter_state", None)
    out: dict[str, Any] = {}
    specs = None
    hashes = {}
    if fn is not None and hasattr(runner, "inputs_hash"):  # computed once for all chapters
        hashes = {"src": runner.source_hash(), "inputs": runner.inputs_hash()}
    for cid in chapter_ids:
        if fn is not None:
            out[cid] = fn(cid, **hashes)
            continue
        # runner without chapter_state: map its older cache_state
        specs = specs if specs is not None else discover()
        raw = runner.cache_state(specs[cid]) if cid in specs else "missing"
        state = raw.split(" ", 1)[0]
        out[cid] = _State(state, "" if state == "fresh" else
                          "the chapter, its parameters or the bmlab package changed since "
                          "the last run" if state == "stale" else "no results yet")
    return out


def _state_of(state) -> tuple[str, str]:
    return str(getattr(state, "state", state)), str(getattr(state, "reason", "") or "")


def _state_badge(state) -> str:
    name, _ = _state_of(state)
    return name if name == "fresh" else f"**{name}** ⚠"


# --------------------------------------------------------------------------- ledger page
_RELATION_WORDS = {"close": "≈", "at_most": "≤", "at_least": "≥", "between": "∈"}


def _relation(c: Claim) -> str:
    rel = c.relation or ""
    text = _RELATION_WORDS.get(rel, rel)
    if c.threshold is not None:
        text += f" (tol {_fmt(c.threshold)})"
    return text


def _flags(c: Claim) -> str:
    flags = []
    if c.exploratory:
        flags.append("exploratory")
    if c.fragile:
        flags.append("**fragile**")
    return ", ".join(flags)


def _verdict(c: Claim) -> str:
    v = c.verdict
    if not c.as_expected:
        v = f"**{v}**"
    return v + (f" ({c.reason})" if c.reason else "")


def _claims_table(claims: list[Claim], *, quote: bool) -> list[str]:
    if quote:
        head = ["| claim | the paper says | statement | paper | ours | relation | margin "
                "| verdict | flags |", "|---|---|---|---|---|---|---|---|---|"]
    else:
        head = ["| claim | statement | target | ours | relation | margin | verdict | flags |",
                "|---|---|---|---|---|---|---|---|"]
    rows = []
    for c in claims:
        cells = [f"`{c.id}`"]
        if quote:
            cells.append(f"“{_cell(c.quote)}”" if c.quote else "–")
        cells += [_cell(c.statement), _cell(c.paper), _cell(c.ours), _cell(_relation(c)),
                  _cell(c.margin), _cell(_verdict(c)), _flags(c) or "–"]
        rows.append("| " + " | ".join(cells) + " |")
    return head + rows


def reproducibility_markdown(chapter_ids: list[str], states: dict[str, Any] | None = None) -> str:
    """The generated ledger page: per-chapter state and provenance, the paper claims with
    the paper's own words, our extensions apart, the self-checks collapsed."""
    states = states if states is not None else chapter_states(chapter_ids)
    manifests: dict[str, dict] = {}
    by_chapter: dict[str, list[Claim]] = {}
    for cid in chapter_ids:
        path = result_dir(cid) / MANIFEST_FILE
        manifests[cid] = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
        try:
            claims = list(Ledger.load(result_dir(cid) / CLAIMS_FILE).claims.values())
        except (LedgerError, OSError):  # the chapter's state says why (invalid)
            claims = []
        for c in claims:
            c.chapter = c.chapter or cid
        by_chapter[cid] = claims
    all_claims = [c for cid in chapter_ids for c in by_chapter[cid]]
    s = summarize(all_claims)
    not_fresh = [cid for cid in chapter_ids if _state_of(states.get(cid))[0] != "fresh"]
    lines = [
        "(reproducibility)=",
        "# Reproducibility and the claims ledger",
        "",
        "This page is generated by `bmlab build` from the results of the last run of each",
        "chapter. Every claim below was checked by running the method: a *paper* claim is a",
        "statement of one of the papers (quoted), an *extension* is a finding of ours beyond",
        "the papers, a *check* is a self-check of the software. The *margin* is the signed",
        "distance to the verdict flipping, relative to the tolerance (> 0 holds, < 0 fails).",
        "`make test` re-runs every chapter in the quick profile and fails if any outcome",
        "changes.",
        "",
        f"**Paper claims: {s['reproduced']} reproduced, {s['not_reproduced']} not reproduced "
        f"(each with its reason), {s['paper_unexpected']} with an outcome different from the "
        f"ledger's expectation** (of {s['paper']} non-exploratory paper claims in "
        f"{len(chapter_ids)} chapters). Besides: {s['extensions']} extensions, {s['checks']} "
        f"checks, {s['exploratory']} exploratory and {s['fragile']} fragile claims "
        f"({s['unexpected']} unexpected outcomes over all {s['total']} claims).",
        "",
    ]
    if not_fresh:
        lines += [":::{warning}",
                  f"{len(not_fresh)} chapter(s) are not fresh: their results may not match "
                  "the current code or parameters: "
                  + ", ".join(f"{{doc}}`{c} <{c}>` ({_state_of(states.get(c))[0]})"
                              for c in not_fresh)
                  + ". Rerun them with `bmlab reproduce`.", ":::", ""]
    lines += [
        "## Runs",
        "",
        "| chapter | state | profile | seed | runtime (s) | git commit | paper claims "
        "reproduced / total |",
        "|---|---|---|---|---|---|---|",
    ]
    versions: dict[str, str] = {}
    for cid in chapter_ids:
        manifest = manifests[cid]
        versions = manifest.get("versions", versions)
        p = manifest.get("parameters", {})
        sc = summarize(by_chapter[cid])
        title = manifest.get("title") or cid
        name, reason = _state_of(states.get(cid))
        state = _state_badge(states.get(cid)) + (f": {_cell(reason)}" if reason
                                                 and name != "fresh" else "")
        if manifest.get("interactive"):
            state += " (interactive run)"
        lines.append(f"| {{doc}}`{_cell(title)} <{cid}>` (`{cid}`) | {state} "
                     f"| {p.get('profile', '–')} | {p.get('seed', '–')} "
                     f"| {float(manifest.get('seconds', 0) or 0):.1f} "
                     f"| `{manifest.get('git_commit', '–')}` "
                     f"| {sc['reproduced']} / {sc['paper']} |")
    lines += ["", "Package versions of the last run: "
              + (", ".join(f"{k} {v}" for k, v in versions.items()) or "–") + ".", ""]

    lines += ["## Paper claims", ""]
    for cid in chapter_ids:
        claims = [c for c in by_chapter[cid] if c.kind == "paper"]
        if not claims:
            continue
        name, reason = _state_of(states.get(cid))
        lines += [f"### {{doc}}`{cid} <{cid}>`", ""]
        if name != "fresh":
            lines += [":::{warning}", f"These results are **{name}**"
                      + (f": {reason}" if reason else "") + ".", ":::", ""]
        lines += _claims_table(claims, quote=True) + [""]
    ext = [c for c in all_claims if c.kind == "extension"]
    lines += ["## Extensions", "",
              "Findings of ours beyond the papers' statements.", ""]
    lines += (_claims_table(ext, quote=False) if ext else ["None recorded."]) + [""]
    checks = [c for c in all_claims if c.kind == "check"]
    lines += ["## Checks", "",
              "Identities and software self-checks (closed forms against computed values, "
              "relaxation bounds, …).", "",
              ":::{dropdown} " + f"{len(checks)} checks "
              f"({sum(c.holds for c in checks)} hold)", ""]
    lines += (_claims_table(checks, quote=False) if checks else ["None recorded."])
    lines += ["", ":::", ""]
    return "\n".join(lines)


# --------------------------------------------------------------------------- staging
RERUN_TITLE = "Rerun this chapter"
_CSV_HREF = re.compile(r'(<a class="bmlab-csv" href=")([^"/]+\.csv)(")')


def _cli_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple, dict)):
        return json.dumps(value)
    return str(value)


def rerun_command(cid: str, manifest: dict, spec=None) -> str:
    """The exact ``bmlab run`` command for the parameters of the last run: the profile,
    the seed and every parameter that differs from the chapter's defaults."""
    params = dict(manifest.get("parameters", {}))
    defaults = spec.defaults() if spec is not None else {}
    parts = ["bmlab", "run", cid, "--profile", str(params.pop("profile", "paper"))]
    for name, value in params.items():
        if name == "seed" or name not in defaults or defaults[name] != value:
            parts += ["-p", f"{name}={_cli_value(value)}"]
    return " ".join(shlex.quote(p) for p in parts)


def experiment_module(cid: str) -> str | None:
    """The module ``bmlab.experiments.<part>.<chapter>`` that holds a chapter's experiment
    and claims, or ``None`` when there is none."""
    import importlib.util

    name = "bmlab.experiments." + cid.replace("-", "_").replace("/", ".")
    try:
        return name if importlib.util.find_spec(name) is not None else None
    except (ImportError, ValueError):
        return None


def code_links(cid: str) -> list[str]:
    """Links from a chapter page to its experiment's code in the API reference."""
    mod = experiment_module(cid)
    if mod is None:
        return []
    import importlib

    m = importlib.import_module(mod)
    parts = [f"The code behind this chapter is {{py:mod}}`{mod}`"]
    funcs = [f"{{py:func}}`~{mod}.{f}`" for f in ("run", "claims") if callable(getattr(m, f, None))]
    if funcs:
        parts.append(": " + " computes the results and ".join(funcs) + " decides the claims")
    return ["", "".join(parts) + ".", ""]


def rerun_box(cid: str, manifest: dict, spec=None) -> str:
    up = "../" * (cid.count("/") + 1)
    return "\n".join([
        f":::{{admonition}} {RERUN_TITLE}",
        ":class: tip bmlab-rerun",
        "",
        "From the repository root (`make venv` sets up `.venv`), with the parameters of the "
        "run shown on this page:",
        "",
        "```bash",
        ".venv/bin/" + rerun_command(cid, manifest, spec),
        "```",
        "",
        "(add `--force` to execute it again when the cached results are current). Or run "
        f"`make lab` and, in JupyterLab, open `book/{cid}.md` (it opens as a notebook) and "
        f"run all cells: this writes the same results folder, `data/results/{cid}/`.",
        "",
        f'Downloads: <a href="{up}_sources/book/{cid}.ipynb">the executed notebook</a> · '
        f'<a href="{up}{RESULTS_URL}/{cid}.zip">the results folder (zip)</a>.',
        *code_links(cid),
        ":::",
    ])


def stale_warning(cid: str, state) -> str:
    name, reason = _state_of(state)
    return "\n".join([
        ":::{warning}",
        f"The results on this page are **{name}**" + (f": {reason}" if reason else "")
        + f". Rerun the chapter (`bmlab run {cid}`) to bring them up to date.",
        ":::",
    ])


def _insert_after_title(nb, text: str) -> None:
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        lines = cell.source.splitlines()
        for i, line in enumerate(lines):
            if line.startswith("# "):
                cell.source = "\n".join(lines[:i + 1] + ["", text, ""] + lines[i + 1:])
                return
    nb.cells.insert(0, nbformat.v4.new_markdown_cell(text))


_HEAD_ROW = re.compile(r"(<thead>\s*<tr[^>]*>\s*)<th>\s*</th>\s*", re.S)
_INDEX_CELL = re.compile(r"(<tr[^>]*>\s*)<th>(\d+)</th>\s*")


def drop_range_index(html: str) -> str:
    """Remove pandas' default index column (0, 1, 2, ...) from a DataFrame's HTML; any other
    index (named, or with labels of its own) is kept: it carries information."""
    if 'class="dataframe' not in html or html.count("<thead>") != 1:
        return html
    head = _HEAD_ROW.search(html)
    if head is None or html[head.end():].split("</thead>", 1)[0].count("<tr") > 0:
        return html  # no empty corner cell, or a second header row (a named index)
    body = html.split("<tbody>", 1)[1] if "<tbody>" in html else ""
    labels = [int(m.group(2)) for m in _INDEX_CELL.finditer(body)]
    if not labels or labels != list(range(len(labels))) or \
            len(labels) != body.count("<tr"):
        return html
    out = _HEAD_ROW.sub(lambda m: m.group(1), html, count=1)
    head_part, body_part = out.split("<tbody>", 1)
    return head_part + "<tbody>" + _INDEX_CELL.sub(lambda m: m.group(1), body_part)


def _link_csvs(nb, cid: str) -> None:
    """Point the CSV links of the glued display tables at the staged result files, and drop
    pandas' default index column from tables shown as plain DataFrames."""
    up = "../" * (cid.count("/") + 1)
    prefix = f"{up}{RESULTS_URL}/{cid}/"

    def fix(text: str) -> str:
        return _CSV_HREF.sub(lambda m: m.group(1) + prefix + m.group(2) + m.group(3), text)

    for cell in nb.cells:
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            for mime in [m for m in data if m.endswith("text/html")]:  # glued: a prefixed mime
                html = data[mime]
                if isinstance(html, list):
                    html = "".join(html)
                if not isinstance(html, str):
                    continue
                if "bmlab-csv" in html:
                    html = fix(html)
                data[mime] = drop_range_index(html)


def stage_notebook(cid: str, source: Path, target: Path, manifest: dict, state,
                   spec=None) -> None:
    """Copy an executed notebook into the staged tree with the reader's additions: a
    warning under the title when its results are not fresh, links to the full-precision
    CSVs, and the "Rerun this chapter" box at the end."""
    nb = nbformat.read(source, as_version=4)
    if _state_of(state)[0] != "fresh":
        _insert_after_title(nb, stale_warning(cid, state))
    _link_csvs(nb, cid)
    nb.cells.append(nbformat.v4.new_markdown_cell(rerun_box(cid, manifest, spec)))
    for cell in nb.cells:  # nbformat >= 5.1 wants ids; keep the file valid
        cell.setdefault("id", uuid.uuid4().hex[:8])
    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, target)


def _stage_results(cid: str, extra: Path) -> None:
    """``_extra/results/<chapter>/`` (each result file) and ``<chapter>.zip``."""
    src = result_dir(cid)
    dest = extra / RESULTS_URL / cid
    dest.mkdir(parents=True, exist_ok=True)
    files = sorted(p for p in src.rglob("*") if p.is_file()
                   and not any(part.startswith(".") for part in p.relative_to(src).parts))
    with zipfile.ZipFile(dest.parent / f"{dest.name}.zip", "w", zipfile.ZIP_DEFLATED) as zf:
        for p in files:
            rel = p.relative_to(src)
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(p, dest / rel)
            zf.write(p, f"{cid.replace('/', '__')}/{rel.as_posix()}")


def stage(root: Path | None = None) -> Path:
    """Assemble the tree jupyter-book builds; raise :class:`UsageError` if a chapter of the
    table of contents has no results yet. Chapters whose results are stale (or otherwise
    not fresh) are built, with a warning on their page and in the ledger."""
    root = root or paths.repo_root()
    chapters = toc_chapters(root)
    missing = [c for c in chapters if not (result_dir(c) / NOTEBOOK_FILE).exists()]
    if missing:
        def why(cid: str) -> str:
            try:
                manifest = json.loads((result_dir(cid) / MANIFEST_FILE).read_text("utf-8"))
            except (OSError, ValueError):
                return cid
            return (f"{cid} (only a run by hand in JupyterLab, which keeps no executed "
                    "notebook)") if manifest.get("interactive") else cid

        raise UsageError("no executed notebook for: " + ", ".join(map(why, missing))
                         + "\n  run `bmlab reproduce` (or `bmlab run CHAPTER`) first")
    states = chapter_states(chapters)
    dest = paths.build_root() / STAGE
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    for name in COPY_TOP:
        shutil.copy2(root / name, dest / name)
    specs = discover()
    for path in (root / "book").rglob("*"):
        rel = path.relative_to(root)
        if path.is_dir() or any(p.startswith(".") for p in rel.parts):
            continue
        cid = path.relative_to(root / "book").with_suffix("").as_posix()
        if path.suffix == ".md" and cid in specs:
            continue
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, dest / rel)
    extra = dest / EXTRA
    extra.mkdir()
    index = {}
    for cid in chapters:
        manifest = json.loads((result_dir(cid) / MANIFEST_FILE).read_text(encoding="utf-8")) \
            if (result_dir(cid) / MANIFEST_FILE).exists() else {}
        stage_notebook(cid, result_dir(cid) / NOTEBOOK_FILE, dest / "book" / f"{cid}.ipynb",
                       manifest, states[cid], specs.get(cid))
        _stage_results(cid, extra)
        index[cid] = {"state": _state_of(states[cid])[0]}
    (extra / RESULTS_URL / "chapters.json").write_text(json.dumps(index, indent=1),
                                                        encoding="utf-8")
    (dest / REPRO_PAGE).write_text(reproducibility_markdown(chapters, states),
                                   encoding="utf-8")
    for page in sorted((dest / "book" / "api").glob("*.md")):
        page.write_text(fill_api_page(page.read_text(encoding="utf-8")), encoding="utf-8")
    return dest


_API_MODULES = re.compile(r"^% api-modules:(.*)$", re.M)


def package_modules(package: str) -> list[str]:
    """Every module (not package) under ``package``, sorted; ``bmlab.experiments.base`` and
    private modules are left out (the first is documented on its own)."""
    import importlib
    import pkgutil

    pkg = importlib.import_module(package)
    return sorted(m.name for m in pkgutil.walk_packages(pkg.__path__, package + ".")
                  if not m.ispkg and not m.name.rsplit(".", 1)[-1].startswith("_")
                  and m.name != "bmlab.experiments.base")


def package_subpackages(package: str) -> list[str]:
    """Every subpackage under ``package``, sorted."""
    import importlib
    import pkgutil

    pkg = importlib.import_module(package)
    return sorted(m.name for m in pkgutil.walk_packages(pkg.__path__, package + ".")
                  if m.ispkg)


def fill_api_page(text: str) -> str:
    """Replace each ``% api-modules: PKG ...`` line of an API page by an ``automodule``
    section for every module of those packages not already on the page, so a new module is
    documented without editing the page."""
    def sections(match) -> str:
        out = []
        for package in match.group(1).split():
            for name in [package] + package_subpackages(package):  # link targets, docstring
                if f".. automodule:: {name}\n" not in text:
                    out += ["```{eval-rst}", f".. automodule:: {name}", "   :no-members:",
                            "```", ""]
            for name in package_modules(package):
                if f".. automodule:: {name}\n" not in text:
                    out += [f"## `{name}`", "", "```{eval-rst}", f".. automodule:: {name}",
                            "```", ""]
        return "\n".join(out)

    return _API_MODULES.sub(sections, text)


def build(root: Path | None = None, *, strict: bool = True) -> Path:
    """Stage and build the HTML book into ``<build root>/html``; return that folder."""
    staged = stage(root)
    out = paths.build_root()
    # Always a fresh Sphinx environment: a cached one misses changes of the configuration
    # (e.g. a newly registered bibliography file) and would hide warnings.
    shutil.rmtree(out / "jb", ignore_errors=True)
    exe = Path(sys.executable).parent / "jupyter-book"
    cmd = [str(exe) if exe.exists() else "jupyter-book", "build", str(staged),
           "--path-output", str(out / "jb"), "--builder", "html"]
    if strict:
        cmd += ["-W", "-n", "--keep-going"]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-60:])
        raise RuntimeError(f"jupyter-book build failed (exit {proc.returncode}):\n{tail}")
    html = out / "html"
    if html.exists():
        shutil.rmtree(html)
    shutil.move(str(out / "jb" / "_build" / "html"), str(html))
    return html
