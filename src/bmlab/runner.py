"""Run chapters with papermill, cache their results, and build the book (DESIGN §4).

A chapter is a MyST-markdown notebook under ``book/`` whose first code cell is tagged
``parameters``. Its id is its path under ``book/`` without the suffix.

Run protocol (what makes a failed or interrupted run lose nothing):

1. parameters are parsed and type-checked against the ``parameters`` cell before any work;
2. the chapter is converted with jupytext and executed by papermill into a temporary folder
   ``<results>/.tmp/<random>/`` (its figures, tables and claims land there too, through the
   ``BMLAB_OUTPUT_DIR`` environment variable that :class:`bmlab.chapter.Chapter` reads);
3. only when every cell succeeded is the folder moved into ``<results>/<chapter>/`` in one
   rename, replacing the previous results; otherwise the previous results stay untouched.

The cache key of a run hashes the chapter source, the effective parameters and the source
of the ``bmlab`` package, so a change to ``src/bmlab`` re-runs the chapters.
"""
from __future__ import annotations

import ast
import hashlib
import json
import math
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from . import paths
from .chapter import PROFILES
from .claims import CLAIMS_FILE, Ledger, LedgerError, summarize

NOTEBOOK_FILE = "chapter.ipynb"
MANIFEST_FILE = "manifest.json"
TIMINGS_FILE = "timings.json"
KERNEL = "python3"
CELL_TIMEOUT = 3600  # seconds per cell
VERSIONED_PACKAGES = ("numpy", "scipy", "matplotlib", "cvxpy", "scs", "clarabel", "torch",
                      "scikit-learn", "papermill", "jupyter-book", "pandas")


class UsageError(Exception):
    """Bad input from the user (unknown chapter or parameter, bad value): exit status 2."""


class ChapterFailed(Exception):
    """A cell of a chapter raised: exit status 1. The previous results are kept."""

    def __init__(self, chapter: str, cell: int | None, exec_count: Any, ename: str,
                 evalue: str, notebook: Path | None = None):
        self.chapter, self.cell, self.exec_count = chapter, cell, exec_count
        self.ename, self.evalue, self.notebook = ename, evalue, notebook
        where = f"cell {cell} (In [{exec_count}])" if cell is not None else "setup"
        msg = f"chapter {chapter!r} failed in {where}: {ename}: {evalue}"
        if notebook is not None:
            msg += f"\n  the executed notebook up to the error is kept at {notebook}"
        super().__init__(msg)


# --------------------------------------------------------------------------- parameters
@dataclass(frozen=True)
class Param:
    """One variable of a chapter's ``parameters`` cell."""

    name: str
    default: Any
    kind: str  # "int", "float", "str", "bool", "list", "any"

    def describe(self) -> str:
        return f"{self.name}: {self.kind} = {self.default!r}"


_ANNOTATION_KINDS = {"int": "int", "float": "float", "str": "str", "bool": "bool",
                     "list": "list"}


def _kind_of(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    for kind, typ in (("int", int), ("float", float), ("str", str), ("list", (list, tuple))):
        if isinstance(value, typ):
            return kind
    return "any"


def parse_parameters_source(source: str) -> dict[str, Param]:
    """Parse the literal assignments of a ``parameters`` cell.

    ``name = literal`` takes its type from the literal; ``name: T = literal`` from ``T``.
    """
    tree = ast.parse(source)
    params: dict[str, Param] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 \
                and isinstance(node.targets[0], ast.Name):
            name, value_node, ann = node.targets[0].id, node.value, None
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) \
                and node.value is not None:
            name, value_node, ann = node.target.id, node.value, node.annotation
        else:
            raise ValueError("a parameters cell may only hold literal assignments, found: "
                             + ast.get_source_segment(source, node))
        try:
            default = ast.literal_eval(value_node)
        except ValueError as exc:
            raise ValueError(f"parameter {name!r} must have a literal default") from exc
        kind = _kind_of(default)
        if ann is not None:
            ann_name = ann.id if isinstance(ann, ast.Name) else \
                (ann.value.id if isinstance(ann, ast.Subscript)
                 and isinstance(ann.value, ast.Name) else None)
            kind = _ANNOTATION_KINDS.get(ann_name or "", "any")
        params[name] = Param(name, default, kind)
    return params


def coerce(param: Param, raw: Any) -> Any:
    """Convert ``raw`` (a string from the command line, or a Python value) to the type of
    ``param``; raise :class:`UsageError` naming the parameter when it does not fit."""
    def fail(why: str):
        raise UsageError(f"parameter {param.name!r} expects {param.kind} "
                         f"(default {param.default!r}); {why}")

    value = raw
    if isinstance(raw, str) and param.kind != "str":
        low = raw.strip().lower()
        if param.kind == "bool":
            if low in ("true", "1", "yes", "on"):
                return True
            if low in ("false", "0", "no", "off"):
                return False
            fail(f"got {raw!r}")
        try:
            value = ast.literal_eval(raw.strip())
        except (ValueError, SyntaxError):
            if param.kind == "any":
                return raw
            fail(f"cannot parse {raw!r}")
    if param.kind == "str":
        if not isinstance(value, str):
            fail(f"got {value!r}")
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        return value
    if param.kind == "bool":
        if not isinstance(value, bool):
            fail(f"got {value!r}")
        return value
    if param.kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and value.is_integer():
                return int(value)
            fail(f"got {value!r}")
        return value
    if param.kind == "float":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            fail(f"got {value!r}")
        return float(value)
    if param.kind == "list":
        if isinstance(value, tuple):
            value = list(value)
        if not isinstance(value, list):
            value = [value]
        if isinstance(param.default, (list, tuple)) and param.default:
            elem = Param(param.name + "[]", param.default[0], _kind_of(param.default[0]))
            if elem.kind == "float":
                value = [coerce(elem, v) for v in value]
            elif elem.kind != "any":
                for v in value:
                    coerce(elem, v)
        return value
    return value


# --------------------------------------------------------------------------- chapters
@dataclass
class ChapterSpec:
    """A chapter notebook: its id, source file and parameters."""

    id: str
    path: Path
    params: dict[str, Param]
    title: str = ""

    def defaults(self) -> dict[str, Any]:
        return {p.name: p.default for p in self.params.values()}


def _read_notebook(path: Path):
    import jupytext

    return jupytext.read(path, fmt="md:myst")


def _is_notebook_md(path: Path) -> bool:
    head = path.read_text(encoding="utf-8")[:600]
    return head.startswith("---") and "kernelspec:" in head


def _parameters_cell(nb) -> tuple[int, Any] | None:
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and "parameters" in cell.get("metadata", {}).get("tags", []):
            return i, cell
    return None


def load_chapter(path: Path, book: Path | None = None) -> ChapterSpec:
    """Read a chapter's id, title and parameters."""
    book = book or paths.book_dir()
    cid = path.relative_to(book).with_suffix("").as_posix()
    try:
        nb = _read_notebook(path)
    except Exception as exc:  # jupytext/nbformat errors
        raise UsageError(f"chapter {cid!r} ({path}) is not a readable MyST notebook: "
                         f"{type(exc).__name__}: {str(exc).splitlines()[0]}") from None
    found = _parameters_cell(nb)
    if found is None:
        raise UsageError(f"chapter {cid!r} ({path}) has no code cell tagged 'parameters'")
    try:
        params = parse_parameters_source(found[1].source)
    except (ValueError, SyntaxError) as exc:
        raise UsageError(f"chapter {cid!r}: bad parameters cell: {exc}") from None
    for required in ("profile", "seed"):
        if required not in params:
            raise UsageError(f"chapter {cid!r}: its parameters cell must define {required!r}")
    title = next((line[2:].strip() for c in nb.cells if c.cell_type == "markdown"
                  for line in c.source.splitlines() if line.startswith("# ")), cid)
    return ChapterSpec(id=cid, path=path, params=params, title=title)


def discover(book: Path | None = None) -> dict[str, ChapterSpec]:
    """Every chapter notebook under ``book/`` (MyST markdown with a kernelspec), by id."""
    book = book or paths.book_dir()
    out = {}
    for path in sorted(book.rglob("*.md")):
        if any(part.startswith((".", "_")) for part in path.relative_to(book).parts):
            continue
        if _is_notebook_md(path):
            spec = load_chapter(path, book)
            out[spec.id] = spec
    return out


def resolve_chapter(name: str, chapters: dict[str, ChapterSpec]) -> ChapterSpec:
    """Find a chapter by id, by id with ``book/`` or ``.md``, or by its unique last part."""
    key = name.strip().removeprefix("book/").removesuffix(".md").strip("/")
    if key in chapters:
        return chapters[key]
    tails = [c for cid, c in chapters.items() if cid.rsplit("/", 1)[-1] == key]
    if len(tails) == 1:
        return tails[0]
    valid = "\n  ".join(sorted(chapters)) or "(none)"
    raise UsageError(f"unknown chapter {name!r}; valid chapters:\n  {valid}")


def effective_parameters(spec: ChapterSpec, overrides: dict[str, Any],
                         profile: str | None) -> dict[str, Any]:
    """Defaults updated with checked overrides (``profile`` wins over ``-p profile=``)."""
    unknown = sorted(set(overrides) - set(spec.params))
    if unknown:
        valid = "\n  ".join(p.describe() for p in spec.params.values())
        raise UsageError(f"unknown parameter(s) {', '.join(map(repr, unknown))} for chapter "
                         f"{spec.id!r}; valid parameters:\n  {valid}")
    params = spec.defaults()
    for name, raw in overrides.items():
        params[name] = coerce(spec.params[name], raw)
    if profile is not None:
        params["profile"] = profile
    if params["profile"] not in PROFILES:
        raise UsageError(f"profile must be one of {PROFILES}, got {params['profile']!r}")
    if not isinstance(params["seed"], int) or params["seed"] < 0:
        raise UsageError(f"seed must be a non-negative integer, got {params['seed']!r}")
    return params


def parse_assignments(items: list[str]) -> dict[str, str]:
    """``["a=1", "b=x"]`` -> ``{"a": "1", "b": "x"}`` (values stay strings until checked)."""
    out = {}
    for item in items or []:
        if "=" not in item:
            raise UsageError(f"parameter {item!r} must be written name=value")
        name, value = item.split("=", 1)
        if not name.strip().isidentifier():
            raise UsageError(f"invalid parameter name {name!r}")
        out[name.strip()] = value
    return out


# --------------------------------------------------------------------------- hashing
def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def source_hash() -> str:
    """Hash of every file of the ``bmlab`` package (code changes invalidate the cache)."""
    pkg = Path(__file__).resolve().parent
    h = hashlib.sha256()
    for p in sorted(pkg.rglob("*.py")):
        h.update(p.relative_to(pkg).as_posix().encode())
        h.update(p.read_bytes())
    return h.hexdigest()


def inputs_hash() -> str:
    """Hash of every shipped input under ``data/inputs`` (names and bytes): editing any of
    them invalidates the cache of every chapter."""
    root = paths.inputs_dir()
    h = hashlib.sha256()
    if root.is_dir():
        for p in sorted(root.rglob("*")):
            rel = p.relative_to(root)
            if p.is_file() and not any(part.startswith(".") for part in rel.parts):
                h.update(rel.as_posix().encode() + b"\0")
                h.update(_sha256_file(p).encode())
    return h.hexdigest()


def chapter_hash(spec: ChapterSpec) -> str:
    return hashlib.sha256(spec.path.read_bytes()).hexdigest()


def cache_key(spec: ChapterSpec, params: dict[str, Any], src: str | None = None,
              inputs: str | None = None) -> str:
    """Hash of the chapter source, the effective parameters, the ``bmlab`` package and the
    shipped inputs: a change to any of them re-runs the chapter."""
    h = hashlib.sha256()
    h.update(spec.path.read_bytes())
    h.update(json.dumps(params, sort_keys=True, default=str).encode())
    h.update((src or source_hash()).encode())
    h.update((inputs or inputs_hash()).encode())
    return h.hexdigest()


def result_dir(chapter_id: str) -> Path:
    return paths.results_root() / chapter_id


# --------------------------------------------------------------------------- manifest
MANIFEST_SCHEMA_VERSION = 2


class ManifestError(ValueError):
    """A ``manifest.json`` that is missing, unreadable or does not match its schema."""


def _is_num(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _is_str(v: Any) -> bool:
    return isinstance(v, str)


_MANIFEST_FIELDS: dict[str, tuple[str, Any]] = {
    "schema": ("the integer 2", lambda v: v == MANIFEST_SCHEMA_VERSION
               and not isinstance(v, bool)),
    "chapter": ("a string", _is_str),
    "title": ("a string", _is_str),
    "parameters": ("an object", lambda v: isinstance(v, dict)),
    "cache_key": ("a sha256 hex string", lambda v: _is_str(v) and len(v) == 64),
    "chapter_hash": ("a sha256 hex string", lambda v: _is_str(v) and len(v) == 64),
    "source_hash": ("a sha256 hex string", lambda v: _is_str(v) and len(v) == 64),
    "inputs_hash": ("a sha256 hex string", lambda v: _is_str(v) and len(v) == 64),
    "started": ("a string", _is_str),
    "seconds": ("a finite number", _is_num),
    "git_commit": ("a string", _is_str),
    "versions": ("an object of strings", lambda v: isinstance(v, dict)
                 and all(_is_str(x) for x in v.values())),
    "claims": ("an object of integers", lambda v: isinstance(v, dict) and all(
        isinstance(x, int) and not isinstance(x, bool) for x in v.values())),
    "claim_ids": ("a non-empty list of distinct strings", lambda v: isinstance(v, list)
                  and bool(v) and all(_is_str(x) for x in v) and len(set(v)) == len(v)),
    "claims_sha256": ("a sha256 hex string", lambda v: _is_str(v) and len(v) == 64),
    "files": ("an object of sha256 strings", lambda v: isinstance(v, dict) and all(
        _is_str(x) and len(x) == 64 for x in v.values())),
    "timings": ("an object of finite numbers", lambda v: isinstance(v, dict)
                and all(_is_num(x) for x in v.values())),
}


def validate_manifest(data: Any, chapter_id: str | None = None) -> dict:
    """Check a parsed manifest against its schema; raise :class:`ManifestError` (one line)."""
    if not isinstance(data, dict):
        raise ManifestError(f"must be a JSON object, got {type(data).__name__}")
    missing = [k for k in _MANIFEST_FIELDS if k not in data]
    if missing:
        raise ManifestError("missing field(s) " + ", ".join(missing)
                            + (" (written by an older runner)" if "schema" in missing else ""))
    unknown = sorted(set(data) - set(_MANIFEST_FIELDS))
    if unknown:
        raise ManifestError("unknown field(s) " + ", ".join(unknown))
    for key, (what, ok) in _MANIFEST_FIELDS.items():
        if not ok(data[key]):
            raise ManifestError(f"field {key!r} must be {what}, got {data[key]!r:.60}")
    if chapter_id is not None and data["chapter"] != chapter_id:
        raise ManifestError(f"belongs to chapter {data['chapter']!r}, not {chapter_id!r}")
    if "total" in data["claims"] and data["claims"]["total"] != len(data["claim_ids"]):
        raise ManifestError("claim counts disagree with the recorded claim ids")
    return data


def load_manifest(chapter_id: str) -> dict:
    """Read and validate ``<results>/<chapter>/manifest.json``; raise :class:`ManifestError`."""
    path = result_dir(chapter_id) / MANIFEST_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ManifestError(f"{path}: missing") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ManifestError(f"{path}: unreadable ({type(exc).__name__})") from None
    try:
        data = json.loads(text, parse_constant=_reject_constant)
    except (json.JSONDecodeError, ValueError) as exc:
        msg = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)
        raise ManifestError(f"{path}: not valid JSON ({msg})") from None
    try:
        return validate_manifest(data, chapter_id)
    except ManifestError as exc:
        raise ManifestError(f"{path}: {exc}") from None


def _reject_constant(name: str):
    raise ValueError(f"{name} is not allowed")


def read_manifest(chapter_id: str) -> dict | None:
    """The validated manifest, or ``None`` when it is missing or invalid."""
    try:
        return load_manifest(chapter_id)
    except ManifestError:
        return None


def load_ledger(chapter_id: str, manifest: dict | None = None) -> Ledger:
    """Read the chapter's ``claims.json`` and check it against what its manifest recorded
    (the claim ids and the file's hash); raise :class:`LedgerError` or
    :class:`ManifestError` (one line each)."""
    manifest = manifest if manifest is not None else load_manifest(chapter_id)
    path = result_dir(chapter_id) / CLAIMS_FILE
    ledger = Ledger.load(path)
    ids = list(ledger.claims)
    if sorted(ids) != sorted(manifest["claim_ids"]):
        lost = sorted(set(manifest["claim_ids"]) - set(ids))
        extra = sorted(set(ids) - set(manifest["claim_ids"]))
        raise LedgerError(f"{path}: claims differ from the manifest"
                          + (f"; missing {', '.join(lost)}" if lost else "")
                          + (f"; not recorded by the run {', '.join(extra)}" if extra else ""))
    if _sha256_file(path) != manifest["claims_sha256"]:
        raise LedgerError(f"{path}: changed since the run (hash differs from the manifest)")
    return ledger


@dataclass(frozen=True)
class ChapterState:
    """Whether a chapter's results in ``data/results/<chapter>/`` can be trusted.

    ``state`` is one of

    ``fresh``
        the results were made by the runner from the current chapter source, ``bmlab``
        package and shipped inputs, with the parameters recorded in the manifest, and no file
        was changed since;
    ``stale``
        valid results, but something changed since (``reason`` says what): re-run;
    ``missing``
        the chapter was never run (no results folder);
    ``invalid``
        the manifest or ``claims.json`` is missing, unreadable, does not match its schema, or
        the claims/files differ from what the manifest recorded: never trust, re-run.

    ``reason`` is a one-line explanation (empty when fresh); ``profile`` the profile of the
    recorded run (empty when unknown).
    """

    state: str
    reason: str = ""
    profile: str = ""

    @property
    def fresh(self) -> bool:
        return self.state == "fresh"

    def __str__(self) -> str:
        if self.state == "fresh":
            return f"fresh ({self.profile})" if self.profile else "fresh"
        return f"{self.state}: {self.reason}" if self.reason else self.state


def chapter_state(spec_or_id: "ChapterSpec | str", *, src: str | None = None,
                  inputs: str | None = None) -> ChapterState:
    """Say whether the results of a chapter are ``fresh``, ``stale``, ``missing`` or
    ``invalid`` (see :class:`ChapterState`). Never raises for damaged result files; a chapter
    id without a source is ``invalid``. ``src``/``inputs`` may pass precomputed
    :func:`source_hash`/:func:`inputs_hash` when checking many chapters."""
    if isinstance(spec_or_id, ChapterSpec):
        spec, cid = spec_or_id, spec_or_id.id
    else:
        cid = str(spec_or_id).strip().removeprefix("book/").removesuffix(".md").strip("/")
        path = paths.book_dir() / f"{cid}.md"
        if not path.is_file():
            return ChapterState("invalid", f"no chapter source book/{cid}.md")
        try:
            spec = load_chapter(path)
        except UsageError as exc:
            return ChapterState("invalid", str(exc).splitlines()[0])
    folder = result_dir(cid)
    if not folder.exists() or (folder.is_dir() and not any(folder.iterdir())):
        return ChapterState("missing", "never run")
    try:
        manifest = load_manifest(cid)
    except ManifestError as exc:
        return ChapterState("invalid", f"manifest.json: {_tail(exc, folder)}")
    profile = str(manifest["parameters"].get("profile", ""))
    try:
        load_ledger(cid, manifest)
    except (LedgerError, ManifestError) as exc:
        return ChapterState("invalid", f"claims.json: {_tail(exc, folder / CLAIMS_FILE)}",
                            profile)
    problem = _check_files(folder, manifest["files"])
    if problem:
        return ChapterState("invalid", problem, profile)
    changed = []
    if manifest["chapter_hash"] != chapter_hash(spec):
        changed.append(f"chapter source {spec.path.name} changed")
    if manifest["source_hash"] != (src := src or source_hash()):
        changed.append("bmlab package changed")
    if manifest["inputs_hash"] != (inputs := inputs or inputs_hash()):
        changed.append("shipped inputs (data/inputs) changed")
    if not changed and manifest["cache_key"] != cache_key(spec, manifest["parameters"], src,
                                                           inputs):
        changed.append("cache key differs (parameters)")
    if changed:
        return ChapterState("stale", "; ".join(changed) + " since the run", profile)
    return ChapterState("fresh", "", profile)


def _tail(exc: Exception, path: Path) -> str:
    """The message of ``exc`` without the leading ``<path>:`` (one line)."""
    msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    for prefix in (f"{path}: ", f"{path.parent / MANIFEST_FILE}: "):
        msg = msg.removeprefix(prefix)
    return msg


def _check_files(folder: Path, recorded: dict[str, str]) -> str:
    """'' when the files of ``folder`` (but the manifest) are exactly those recorded."""
    present = {p.relative_to(folder).as_posix(): p for p in folder.rglob("*")
               if p.is_file() and p.name != MANIFEST_FILE}
    lost = sorted(set(recorded) - set(present))
    if lost:
        return f"file(s) deleted since the run: {', '.join(lost[:3])}"
    extra = sorted(set(present) - set(recorded))
    if extra:
        return f"file(s) added since the run: {', '.join(extra[:3])}"
    for name, digest in recorded.items():
        if _sha256_file(present[name]) != digest:
            return f"{name} changed since the run"
    return ""


def cache_state(spec: ChapterSpec, src: str | None = None) -> str:
    """Text form of :func:`chapter_state` (kept for callers of the older API)."""
    return str(chapter_state(spec, src=src))


# --------------------------------------------------------------------------- provenance
def git_commit(root: Path | None = None) -> str:
    root = root or paths.repo_root()
    try:
        sha = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=root,
                             capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=root, capture_output=True, text=True).stdout.strip()
        return sha + ("+dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def package_versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version()}
    for name in VERSIONED_PACKAGES:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "not installed"
    return out


# --------------------------------------------------------------------------- running
@dataclass
class RunRecord:
    """What happened to one chapter in a ``run``/``reproduce`` call."""

    chapter: str
    status: str  # "ok", "cached", "failed", "interrupted"
    seconds: float = 0.0
    claims: dict[str, int] = field(default_factory=dict)
    error: str = ""


def _hide_injected(nb) -> None:
    for cell in nb.cells:
        tags = cell.get("metadata", {}).get("tags", [])
        if "injected-parameters" in tags and "remove-cell" not in tags:
            tags.append("remove-cell")
        if "parameters" in tags and "remove-cell" not in tags:
            # the defaults are shown on the page as a collapsed cell
            if "hide-cell" not in tags:
                tags.append("hide-cell")


def _swap_into_place(tmp: Path, final: Path) -> None:
    """Replace ``final`` by ``tmp`` (both under the results root) with renames only."""
    final.parent.mkdir(parents=True, exist_ok=True)
    old = None
    if final.exists():
        old = tmp.parent / f"old-{uuid.uuid4().hex}"
        os.replace(final, old)
    try:
        os.replace(tmp, final)
    except BaseException:
        if old is not None:
            os.replace(old, final)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def run_chapter(spec: ChapterSpec, params: dict[str, Any], *, force: bool = False,
                progress: bool = True, timeout: int = CELL_TIMEOUT) -> RunRecord:
    """Execute one chapter with ``params`` (already checked); see the module docstring."""
    import nbformat
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    src, inputs = source_hash(), inputs_hash()
    key = cache_key(spec, params, src, inputs)
    final = result_dir(spec.id)
    if not force:
        state = chapter_state(spec, src=src, inputs=inputs)
        if state.state == "fresh":
            manifest = load_manifest(spec.id)
            if manifest["cache_key"] == key:
                ledger = load_ledger(spec.id, manifest)
                return RunRecord(spec.id, "cached", manifest["seconds"],
                                 summarize(ledger.claims.values()))
        elif state.state == "invalid":
            print(f"bmlab: note: the results of {spec.id!r} are invalid ({state.reason}); "
                  "running it again", file=sys.stderr)

    tmp_root = paths.results_root() / ".tmp"
    tmp_root.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=spec.id.replace("/", "__") + "-", dir=tmp_root))
    out_dir = work / "result"
    out_dir.mkdir()
    nb_in = work / "input.ipynb"
    nb_out = out_dir / NOTEBOOK_FILE
    nb = _read_notebook(spec.path)
    nb.metadata["kernelspec"] = {"name": KERNEL, "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, nb_in)

    # The kernel inherits this process's environment: point it at the temporary folder,
    # and make sure it draws with the inline backend (glued figures need its PNG formatter).
    # It also imports the very bmlab this runner is (the one hashed into the cache key),
    # whatever the kernel's working directory and however bmlab was put on the path.
    old_env = {k: os.environ.get(k) for k in ("BMLAB_OUTPUT_DIR", "MPLBACKEND", "PYTHONPATH")}
    os.environ["BMLAB_OUTPUT_DIR"] = str(out_dir)
    os.environ["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"
    pkg_parent = str(Path(__file__).resolve().parents[1])
    os.environ["PYTHONPATH"] = os.pathsep.join(
        [pkg_parent] + [p for p in (old_env["PYTHONPATH"] or "").split(os.pathsep) if p])
    t0 = time.perf_counter()
    started = datetime.now(timezone.utc).isoformat(timespec="seconds")
    try:
        pm.execute_notebook(
            str(nb_in), str(nb_out), parameters=params, kernel_name=KERNEL,
            cwd=str(spec.path.parent), execution_timeout=timeout, log_output=False,
            progress_bar={"desc": spec.id, "leave": True} if progress else False,
        )
    except PapermillExecutionError as exc:
        kept = _keep_failed(work, spec.id)
        raise ChapterFailed(spec.id, exc.cell_index, exc.exec_count, exc.ename,
                            exc.evalue, kept) from None
    except KeyboardInterrupt:
        shutil.rmtree(work, ignore_errors=True)
        raise
    except Exception as exc:  # kernel died, timeout, ...
        kept = _keep_failed(work, spec.id)
        raise ChapterFailed(spec.id, None, None, type(exc).__name__, str(exc), kept) from None
    finally:
        for k, v in old_env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    seconds = time.perf_counter() - t0

    try:
        executed = nbformat.read(nb_out, as_version=4)
        _hide_injected(executed)
        executed.metadata.pop("papermill", None)
        for cell in executed.cells:  # per-cell timestamps: reruns give identical files
            cell.metadata.pop("papermill", None)
            cell.metadata.pop("execution", None)
        nbformat.write(executed, nb_out)
        claims, manifest = _finish_results(spec, out_dir, params, key, src, inputs,
                                           started, seconds)
        _swap_into_place(out_dir, final)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return RunRecord(spec.id, "ok", seconds, claims)


def _finish_results(spec: ChapterSpec, out_dir: Path, params: dict[str, Any], key: str,
                    src: str, inputs: str, started: str, seconds: float):
    """Check the claims a successful run recorded, move ``timings.json`` into the manifest,
    fix the modes (files 0644, folders 0755) and write the manifest (last)."""
    try:
        ledger = Ledger.load(out_dir / CLAIMS_FILE)
    except LedgerError as exc:
        raise ChapterFailed(spec.id, None, None, "LedgerError",
                            _tail(exc, out_dir / CLAIMS_FILE)
                            + " (a chapter must record at least one valid claim)") from None
    timings: dict[str, float] = {}
    tpath = out_dir / TIMINGS_FILE
    if tpath.exists():
        try:
            raw = json.loads(tpath.read_text(encoding="utf-8"))
            timings = {str(k): round(float(v), 3) for k, v in raw.items()
                       if _is_num(v)}
        except (ValueError, AttributeError):
            timings = {}
        tpath.unlink()
    claims = summarize(ledger.claims.values())
    os.chmod(out_dir, 0o755)
    files = {}
    for p in sorted(out_dir.rglob("*")):
        os.chmod(p, 0o755 if p.is_dir() else 0o644)
        if p.is_file():
            files[p.relative_to(out_dir).as_posix()] = _sha256_file(p)
    manifest = {
        "schema": MANIFEST_SCHEMA_VERSION,
        "chapter": spec.id,
        "title": spec.title,
        "parameters": params,
        "cache_key": key,
        "chapter_hash": chapter_hash(spec),
        "source_hash": src,
        "inputs_hash": inputs,
        "started": started,
        "seconds": round(seconds, 2),
        "git_commit": git_commit(),
        "versions": package_versions(),
        "claims": claims,
        "claim_ids": list(ledger.claims),
        "claims_sha256": files[CLAIMS_FILE],
        "files": files,
        "timings": timings,
    }
    validate_manifest(json.loads(json.dumps(manifest, default=str)), spec.id)
    mpath = out_dir / MANIFEST_FILE
    mpath.write_text(json.dumps(manifest, indent=2, default=str), encoding="utf-8")
    os.chmod(mpath, 0o644)
    return claims, manifest


def _keep_failed(work: Path, chapter_id: str) -> Path | None:
    """Move the partially executed notebook to ``<build>/failed/`` for inspection."""
    src = work / "result" / NOTEBOOK_FILE
    kept = None
    if src.exists():
        dest = paths.build_root() / "failed" / f"{chapter_id}.ipynb"
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dest)
        kept = dest
    shutil.rmtree(work, ignore_errors=True)
    return kept


def _run_in_subprocess(chapter_id: str, params: dict, force: bool, root: str,
                       env: dict[str, str]) -> RunRecord:
    os.environ.update(env)
    spec = load_chapter(Path(root) / f"{chapter_id}.md", Path(root))
    try:
        return run_chapter(spec, params, force=force, progress=False)
    except ChapterFailed as exc:
        return RunRecord(chapter_id, "failed", 0.0, {}, str(exc))


def run_many(specs: list[ChapterSpec], params: dict[str, dict], *, force: bool = False,
             jobs: int = 1, progress: bool = True) -> list[RunRecord]:
    """Run several chapters (``jobs`` processes at once). A failing chapter does not stop
    the others; an interrupt stops everything and keeps every previous result."""
    records: list[RunRecord] = []
    if jobs <= 1:
        for spec in specs:
            t0 = time.perf_counter()
            try:
                records.append(run_chapter(spec, params[spec.id], force=force, progress=progress))
            except ChapterFailed as exc:
                print(f"error: {exc}", file=sys.stderr)
                records.append(RunRecord(spec.id, "failed", time.perf_counter() - t0, {},
                                         str(exc)))
        return records
    from concurrent.futures import ProcessPoolExecutor
    import multiprocessing as mp

    env = {k: v for k, v in os.environ.items() if k.startswith("BMLAB_")}
    with ProcessPoolExecutor(max_workers=jobs, mp_context=mp.get_context("spawn")) as pool:
        futures = [pool.submit(_run_in_subprocess, s.id, params[s.id], force,
                               str(paths.book_dir()), env) for s in specs]
        try:
            from tqdm.auto import tqdm
            it = tqdm(futures, desc="chapters", unit="chapter", disable=not progress)
        except ImportError:  # pragma: no cover
            it = futures
        for fut in it:
            rec = fut.result()
            if rec.status == "failed":
                print(f"error: {rec.error}", file=sys.stderr)
            records.append(rec)
    return records


def summary_table(records: list[RunRecord]) -> str:
    rows = [("chapter", "status", "seconds", "claims held", "failed", "unexpected")]
    for r in records:
        c = r.claims or {}
        rows.append((r.chapter, r.status, f"{r.seconds:.1f}", str(c.get("held", "-")),
                     str(c.get("failed", "-")), str(c.get("unexpected", "-"))))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)) for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
