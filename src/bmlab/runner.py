"""Run chapters with papermill, cache their results, and build the book (DESIGN §4).

A chapter is a MyST-markdown notebook under ``book/`` whose first code cell is tagged
``parameters``. Its id is its path under ``book/`` without the suffix.

Run protocol (what makes a failed or interrupted run lose nothing):

1. parameters are parsed and type-checked against the ``parameters`` cell before any work
   (numbers that are not finite are refused unless the parameter's default is not finite);
2. the chapter is converted with jupytext and executed by papermill into a temporary folder
   ``<results>/.tmp/<chapter>-pid<pid>-<random>/`` (its figures, tables and claims land there
   too, through the ``BMLAB_OUTPUT_DIR`` environment variable that
   :class:`bmlab.chapter.Chapter` reads), in a kernel that runs this very interpreter
   (``sys.executable -m ipykernel_launcher``), whatever kernelspecs the user registered;
3. only when every cell succeeded and the chapter recorded a valid ledger, ``timings.json``
   is moved into the manifest, modes are set (files 0644, folders 0755), the manifest is
   written (claim ids, the hash of ``claims.json`` and of every file), and the folder is
   moved into ``<results>/<chapter>/`` in one rename under an exclusive file lock;
   otherwise the previous results stay untouched. SIGINT and SIGTERM stop a run the same
   way; a signal that arrives while publishing is held back until the results are
   complete. Temporary folders of dead runs (SIGKILL) are removed by the next run (their
   names carry the owner's pid and a tag of its machine: with the results on a file system
   shared by several machines, a run removes only dead folders of its own machine).

Several chapters (:func:`run_many`) run one after the other, or on a Dask cluster: a local
one (``jobs > 1``) or the one of a scheduler address; see the section "many chapters" below
and the README, "Running on a cluster".

The cache key of a run hashes the chapter source, the effective parameters, the source of
the ``bmlab`` package and every shipped input under ``data/inputs``. :func:`chapter_state`
says whether a chapter's results are fresh, stale (and why), missing or invalid; nothing
that is not fresh is served from the cache.
"""
from __future__ import annotations

import ast
import hashlib
import contextlib
import json
import logging
import math
import os
import platform
import re
import signal
import shutil
import subprocess
import sys
import tempfile
import threading
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
    """A cell of a chapter raised (or its kernel died): exit status 1. The previous results
    are kept.

    ``cell`` is the number of the code cell as the reader sees it in the chapter source
    (1-based, papermill's injected parameters cell not counted); ``where`` describes it."""

    def __init__(self, chapter: str, cell: int | None, exec_count: Any, ename: str,
                 evalue: str, notebook: Path | None = None, where: str | None = None):
        self.chapter, self.cell, self.exec_count = chapter, cell, exec_count
        self.ename, self.evalue, self.notebook = ename, evalue, notebook
        if where is None:
            where = f"code cell {cell} (In [{exec_count}])" if cell is not None else "setup"
        self.where = where
        msg = f"chapter {chapter!r} failed in {where}: {ename}: {evalue}"
        if notebook is not None:
            msg += f"\n  the executed notebook up to the error is kept at {notebook}"
        super().__init__(msg)


class Interrupted(KeyboardInterrupt):
    """SIGINT or SIGTERM stopped a run. ``published`` lists the chapters whose new results
    were published before the signal; every other chapter keeps its previous results."""

    def __init__(self, signum: int = signal.SIGINT, published: list[str] | tuple = ()):
        self.signum = int(signum)
        self.published = list(published)
        super().__init__(signal.Signals(self.signum).name)


def _raise_interrupted(signum, frame):  # pragma: no cover - exercised through signals
    raise Interrupted(signum)


@contextlib.contextmanager
def handle_signals():
    """In the main thread, SIGTERM (and SIGINT, unless ignored) raise :class:`Interrupted`,
    so a terminated run cleans up exactly like an interrupted one."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = {}
    for sig, default in ((signal.SIGINT, signal.default_int_handler),
                         (signal.SIGTERM, signal.SIG_DFL)):
        if signal.getsignal(sig) is default:
            old[sig] = signal.signal(sig, _raise_interrupted)
    try:
        yield
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)


_HOLD = {"depth": 0, "pending": []}


def _defer_signal(signum, frame):  # pragma: no cover - exercised through signals
    _HOLD["pending"].append(signum)


@contextlib.contextmanager
def _signals_blocked():
    """Hold SIGINT/SIGTERM back while the block runs (publishing, cleaning up): a signal
    that arrives meanwhile raises :class:`Interrupted` when the block ends. Works in the main
    thread (where Python runs signal handlers); elsewhere a no-op. Handlers the user set
    (e.g. SIGINT ignored) are left alone."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    saved = {}
    if _HOLD["depth"] == 0:
        for sig in (signal.SIGINT, signal.SIGTERM):
            current = signal.getsignal(sig)
            if current in (signal.default_int_handler, signal.SIG_DFL, _raise_interrupted):
                saved[sig] = signal.signal(sig, _defer_signal)
    _HOLD["depth"] += 1
    try:
        yield
    finally:
        _HOLD["depth"] -= 1
        for sig, handler in saved.items():
            signal.signal(sig, handler)
        if _HOLD["depth"] == 0 and _HOLD["pending"]:
            signum = _HOLD["pending"][0]
            _HOLD["pending"].clear()
            raise Interrupted(signum)


# --------------------------------------------------------------------------- parameters
@dataclass(frozen=True)
class Param:
    """One variable of a chapter's ``parameters`` cell."""

    name: str
    default: Any
    kind: str  # "int", "float", "str", "bool", "list", "any"

    def describe(self) -> str:
        return f"{self.name}: {self.kind} = {self.default!r}"

    @property
    def allows_nonfinite(self) -> bool:
        """A float parameter accepts inf/nan only when its default is not finite
        (written ``1e999`` in the parameters cell)."""
        return isinstance(self.default, float) and not math.isfinite(self.default)


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


def _nonfinite(value: Any) -> bool:
    """Whether ``value`` is (or holds, in lists/tuples/dicts) a float that is not finite."""
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, (list, tuple)):
        return any(_nonfinite(v) for v in value)
    if isinstance(value, dict):
        return any(_nonfinite(v) for v in value.values())
    return False


def _short_repr(raw: Any, n: int = 40) -> str:
    text = repr(raw)
    return text if len(text) <= n else text[:n - 3] + "..."


def coerce(param: Param, raw: Any) -> Any:
    """Convert ``raw`` (a string from the command line, or a Python value) to the type of
    ``param``; raise :class:`UsageError` naming the parameter when it does not fit.

    Numbers that are not finite (``1e400``, ``nan``, ``inf``) are refused unless the
    parameter allows them (:attr:`Param.allows_nonfinite`)."""
    def fail(why: str):
        raise UsageError(f"parameter {param.name!r} expects {param.kind} "
                         f"(default {_short_repr(param.default)}); {why}")

    value = raw
    if isinstance(raw, str) and param.kind != "str":
        low = raw.strip().lower()
        if param.kind == "bool":
            if low in ("true", "1", "yes", "on"):
                return True
            if low in ("false", "0", "no", "off"):
                return False
            fail(f"got {_short_repr(raw)}")
        if param.kind == "float" and param.allows_nonfinite \
                and low.lstrip("+-") in ("inf", "infinity", "nan"):
            return float(low)
        try:
            value = ast.literal_eval(raw.strip())
        except (ValueError, SyntaxError, TypeError, RecursionError, MemoryError):
            if param.kind == "any":
                if low.lstrip("+-") in ("inf", "infinity", "nan"):
                    fail(f"{_short_repr(raw)} is not a finite number")
                return raw
            fail(f"cannot parse {_short_repr(raw)}")
    if param.kind == "str":
        if not isinstance(value, str):
            fail(f"got {_short_repr(value)}")
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        return value
    if param.kind == "bool":
        if not isinstance(value, bool):
            fail(f"got {_short_repr(value)}")
        return value
    if param.kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and value.is_integer() and abs(value) <= 2 ** 53:
                return int(value)
            fail(f"got {_short_repr(value)}")
        return value
    if param.kind == "float":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            fail(f"got {_short_repr(value)}")
        try:
            value = float(value)
        except OverflowError:
            fail(f"{_short_repr(raw)} is out of the range of a float")
        if not math.isfinite(value) and not param.allows_nonfinite:
            fail(f"{_short_repr(raw)} is not a finite number")
        return value
    if param.kind == "list":
        if isinstance(value, tuple):
            value = list(value)
        if not isinstance(value, list):
            value = [value]
        if isinstance(param.default, (list, tuple)) and param.default:
            elem = Param(param.name + "[]", param.default[0], _kind_of(param.default[0]))
            if elem.kind == "int" and any(isinstance(v, float) for v in param.default):
                elem = Param(elem.name, float(elem.default), "float")
            if elem.kind == "float":
                value = [coerce(elem, v) for v in value]
            elif elem.kind != "any":
                for v in value:
                    coerce(elem, v)
    if _nonfinite(value):
        fail(f"{_short_repr(raw)} holds a number that is not finite")
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
        if "schema" in missing:
            raise ManifestError("written by an older runner (no 'schema' field)")
        raise ManifestError("missing field(s) " + ", ".join(missing))
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
    with publish_lock(shared=True):
        return _chapter_state(spec, cid, src, inputs)


def _chapter_state(spec: ChapterSpec, cid: str, src: str | None,
                   inputs: str | None) -> ChapterState:
    folder = result_dir(cid)
    if not folder.exists() or (folder.is_dir() and not any(folder.iterdir())):
        return ChapterState("missing", "never run")
    try:
        manifest = load_manifest(cid)
    except ManifestError as exc:
        hand = _interactive_manifest(cid)
        if hand is not None:
            return ChapterState("stale", "results of a run by hand (interactive), not made "
                                "by the runner", str(hand.get("profile", "")))
        return ChapterState("invalid", f"manifest.json: {_tail(exc, folder / MANIFEST_FILE)}")
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


def _interactive_manifest(chapter_id: str) -> dict | None:
    """The parameters of a manifest written by :class:`bmlab.chapter.Chapter` in a run by
    hand (``"interactive": true``), or ``None``."""
    try:
        data = json.loads((result_dir(chapter_id) / MANIFEST_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if isinstance(data, dict) and data.get("interactive") is True \
            and data.get("chapter") == chapter_id:
        params = data.get("parameters")
        return params if isinstance(params, dict) else {}
    return None


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


LOCK_FILE = ".publish.lock"
TMP_DIR = ".tmp"
_TMP_PID = re.compile(r"-pid(\d+)-(?:h([0-9a-f]{8})-)?")
# Which machine made a temporary folder: with results on a shared file system (a Dask
# cluster), a run never removes the folder of a live process on another machine.
HOST_TAG = hashlib.sha256(platform.node().encode()).hexdigest()[:8]


def _tmp_prefix(name: str) -> str:
    """``<name>-pid<pid>-h<host>-``: the owner of a temporary folder under ``.tmp``."""
    return f"{name}-pid{os.getpid()}-h{HOST_TAG}-"
LEGACY_TMP_AGE = 2 * 24 * 3600  # seconds: temp folders of older runners (no pid recorded)


@contextlib.contextmanager
def publish_lock(shared: bool = False):
    """An ``fcntl.flock`` on ``<results>/.publish.lock``: exclusive for a publisher (one at
    a time, across threads and processes), shared for readers (they never see a folder
    half-swapped). A shared lock on a results root that does not exist is a no-op."""
    import fcntl

    root = paths.results_root()
    if shared and not root.is_dir():
        yield
        return
    root.mkdir(parents=True, exist_ok=True)
    with open(root / LOCK_FILE, "a+b") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


_CANCEL = None  # in chapter processes of a Dask run: a flag set when the run is cancelled


def _swap_into_place(tmp: Path, final: Path, cancel=None) -> None:
    """Replace ``final`` by ``tmp`` (both under the results root) with renames only, under
    :func:`publish_lock`; refuse (raise :class:`Interrupted`) once ``cancel`` is set."""
    cancel = cancel if cancel is not None else _CANCEL
    with _signals_blocked(), publish_lock():
        if cancel is not None and cancel.is_set():
            raise Interrupted(signal.SIGINT)
        final.parent.mkdir(parents=True, exist_ok=True)
        old = None
        if final.exists():
            old = tmp.parent / (_tmp_prefix("old") + uuid.uuid4().hex)
            os.replace(final, old)
        try:
            os.replace(tmp, final)
        except BaseException:
            if old is not None:
                os.replace(old, final)
            raise
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)


def _pid_alive(pid: int) -> bool:
    """Whether process ``pid`` of this machine runs (a zombie -- exited, not yet reaped, as
    orphans are in containers whose init never reaps -- counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    with contextlib.suppress(OSError, IndexError):
        stat = Path(f"/proc/{pid}/stat").read_text()
        if stat[stat.rindex(")") + 2:].startswith(("Z", "X")):
            return False
    return True


def clean_stale_tmp() -> list[Path]:
    """Remove ``<results>/.tmp/*`` folders left by runs whose process is gone (killed by
    SIGKILL, a power cut, ...): the owning pid is in the folder name. Folders of older
    runners (no pid) and of other machines (another host tag) go when older than two days.
    Returns what was removed."""
    tmp_root = paths.results_root() / TMP_DIR
    removed = []
    if not tmp_root.is_dir():
        return removed
    now = time.time()
    for entry in tmp_root.iterdir():
        m = _TMP_PID.search(entry.name)
        try:
            if m and m.group(2) not in (None, HOST_TAG):  # another machine's folder
                if now - entry.stat().st_mtime < LEGACY_TMP_AGE:
                    continue
            elif m:
                pid = int(m.group(1))
                if pid == os.getpid() or _pid_alive(pid):
                    continue
            elif now - entry.stat().st_mtime < LEGACY_TMP_AGE:
                continue
        except OSError:
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            with contextlib.suppress(OSError):
                entry.unlink()
        removed.append(entry)
    return removed


# --------------------------------------------------------------------------- kernel
KERNEL_NAME = "bmlab-runner"
KERNEL_LOG = "kernel.log"


def runner_kernel_argv() -> list[str]:
    """The command of the chapter kernel: this very interpreter, whatever kernelspecs
    (``python3`` or others) the user has registered."""
    return [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]


def _kernel_manager_class(stderr):
    """A jupyter KernelManager class that launches :func:`runner_kernel_argv` and sends the
    kernel's own stderr (start-up warnings, crash messages) to ``stderr`` (a file). nbclient
    creates, owns and shuts down its instance (also on errors and interrupts)."""
    from jupyter_client.kernelspec import KernelSpec
    from jupyter_client.manager import AsyncKernelManager

    class RunnerKernelManager(AsyncKernelManager):
        @property
        def kernel_spec(self):
            if self._kernel_spec is None:
                self._kernel_spec = KernelSpec(
                    argv=runner_kernel_argv(), language="python", env={}, metadata={},
                    display_name=f"Python {platform.python_version()} (bmlab runner)")
            return self._kernel_spec

        async def _async_launch_kernel(self, kernel_cmd, **kw):
            kw.setdefault("stderr", stderr)
            return await super()._async_launch_kernel(kernel_cmd, **kw)

    return RunnerKernelManager


def quiet_asyncio() -> None:
    """An interrupted run leaves nbclient tasks whose 'Kernel died' exception nobody reads;
    asyncio would print each with a traceback when it is collected."""
    logging.getLogger("asyncio").setLevel(logging.CRITICAL)


@contextlib.contextmanager
def _quiet_papermill():
    """papermill warns about parameters cells it cannot parse (annotated or commented lines)
    and about 'unknown' parameters: the runner checks the parameters itself."""
    logger = logging.getLogger("papermill")
    old = logger.level
    logger.setLevel(logging.CRITICAL)  # failures reach the user through the exception
    try:
        yield
    finally:
        logger.setLevel(old)


def _failing_cell(nb_path: Path):
    """``(index in the kept notebook, code cell number as the reader sees it, first line)``
    of the cell that failed or was running when the kernel died; ``None`` if no cell ran."""
    import nbformat

    try:
        nb = nbformat.read(nb_path, as_version=4)
    except Exception:  # noqa: BLE001 - no notebook, or a partial one
        return None
    failed, last = None, None
    number, numbers = 0, {}
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        tags = cell.get("metadata", {}).get("tags", [])
        if "injected-parameters" not in tags:
            number += 1
        numbers[i] = number
        meta = cell.get("metadata", {}).get("papermill", {})
        if meta.get("status") == "failed" and failed is None:
            failed = i
        if meta.get("status") not in (None, "pending") and meta.get("start_time"):
            last = i  # started (a cell after a dead kernel is marked but never starts)
    index = failed if failed is not None else last
    if index is None:
        return None
    first = next((ln.strip() for ln in nb.cells[index].source.splitlines() if ln.strip()), "")
    if len(first) > 60:
        first = first[:57] + "..."
    return index, numbers[index], first, nb.cells[index].get("execution_count")


def _describe_cell(spec: ChapterSpec, found) -> tuple[int | None, Any, str]:
    if found is None:
        return None, None, "setup (before the first cell)"
    index, number, first, count = found
    rel = spec.path.name
    return number, count, (f"code cell {number} of {rel} (`{first}`; cell {index} of the "
                           "kept notebook)")


def _kernel_log_tail(work: Path, lines: int = 5) -> str:
    try:
        text = (work / KERNEL_LOG).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    keep = [ln for ln in text.splitlines() if ln.strip()
            and "without encryption" not in ln][-lines:]
    return ("; kernel stderr: " + " | ".join(keep)) if keep else ""


def run_chapter(spec: ChapterSpec, params: dict[str, Any], *, force: bool = False,
                progress: bool = True, timeout: int = CELL_TIMEOUT) -> RunRecord:
    """Execute one chapter with ``params`` (already checked); see the module docstring."""
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

    clean_stale_tmp()
    tmp_root = paths.results_root() / TMP_DIR
    tmp_root.mkdir(parents=True, exist_ok=True)
    with _signals_blocked():  # a folder exists only with its owner's pid in its name
        work = Path(tempfile.mkdtemp(prefix=_tmp_prefix(spec.id.replace('/', '__')),
                                     dir=tmp_root))
    try:
        return _run_in(work, spec, params, key, src, inputs, final, timeout, progress)
    finally:
        with _signals_blocked():
            shutil.rmtree(work, ignore_errors=True)


def _run_in(work: Path, spec: ChapterSpec, params: dict[str, Any], key: str, src: str,
            inputs: str, final: Path, timeout: int, progress: bool) -> RunRecord:
    import nbformat
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    out_dir = work / "result"
    out_dir.mkdir()
    nb_in = work / "input.ipynb"
    nb_out = out_dir / NOTEBOOK_FILE
    nb = _read_notebook(spec.path)
    nb.metadata["kernelspec"] = {"name": KERNEL_NAME, "language": "python",
                                 "display_name": f"Python {platform.python_version()}"}
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
        with open(work / KERNEL_LOG, "wb") as klog, _quiet_papermill():
            pm.execute_notebook(
                str(nb_in), str(nb_out), parameters=params, kernel_name=KERNEL_NAME,
                cwd=str(spec.path.parent), execution_timeout=timeout, log_output=False,
                progress_bar={"desc": spec.id, "leave": True} if progress else False,
                kernel_manager_class=_kernel_manager_class(klog),
            )
    except PapermillExecutionError as exc:
        number, count, where = _describe_cell(spec, _failing_cell(nb_out))
        kept = _keep_failed(work, spec.id)
        raise ChapterFailed(spec.id, number, count, exc.ename, exc.evalue, kept,
                            where) from None
    except Exception as exc:  # kernel died, timeout, ...
        number, count, where = _describe_cell(spec, _failing_cell(nb_out))
        evalue = (str(exc).splitlines() or [""])[0]
        if type(exc).__name__ == "DeadKernelError":
            evalue = "the kernel died while running this cell" + _kernel_log_tail(work)
        kept = _keep_failed(work, spec.id)
        raise ChapterFailed(spec.id, number, count, type(exc).__name__, evalue, kept,
                            where) from None
    finally:
        for k, v in old_env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    seconds = time.perf_counter() - t0

    executed = nbformat.read(nb_out, as_version=4)
    _hide_injected(executed)
    executed.metadata.pop("papermill", None)
    for i, cell in enumerate(executed.cells):  # reruns give identical files: no per-cell
        cell.metadata.pop("papermill", None)  # timestamps, no random cell ids
        cell.metadata.pop("execution", None)
        if "id" in cell:
            cell["id"] = f"c{i:03d}-" + hashlib.sha256(cell.source.encode()).hexdigest()[:8]
    nbformat.write(executed, nb_out)
    claims, manifest = _finish_results(spec, out_dir, params, key, src, inputs,
                                       started, seconds)
    published = False
    try:
        with _signals_blocked():
            _swap_into_place(out_dir, final)
            published = True
    except KeyboardInterrupt as exc:
        if published:  # the signal arrived while publishing: the new results stand
            raise Interrupted(getattr(exc, "signum", signal.SIGINT), [spec.id]) from None
        raise
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
    """Copy the partially executed notebook to ``<build>/failed/`` for inspection."""
    src = work / "result" / NOTEBOOK_FILE
    if not src.exists():
        return None
    dest = paths.build_root() / "failed" / f"{chapter_id}.ipynb"
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dest)
    return dest


# --------------------------------------------------------------------------- many chapters
# ``jobs > 1`` or a scheduler address: the chapters run on a Dask cluster (a LocalCluster of
# ``jobs`` worker processes x 1 thread, or the cluster of ``scheduler``). Each chapter is a
# task that runs :func:`run_chapter` in a child process of its worker (``_chapter_main``), so
# signals, temporary folders, the publish lock and the kernel work exactly as for
# ``bmlab run``. The coordinating process (this one) never publishes; it cancels through a
# file that every child checks under the publish lock, as the process pool did with an
# Event (see :func:`_cancel_run`). The folder of a run, ``<results>/.tmp/dask-pid...``, holds
# the cancel file, one "started" marker per chapter (a task that runs a second time -- its
# worker died -- is reported failed, never re-run) and the children's records and logs.

# What a chapter process takes from the coordinator, wherever it runs: the bmlab settings
# and the numerics of the BLAS / torch kernels (Dask's nanny sets OMP_NUM_THREADS=1 and its
# kin in workers; the chapters get the coordinator's values, set or unset, so a Dask run
# equals a serial one).
NUMERICS_ENV = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS", "NUMBA_NUM_THREADS",
                "OPENBLAS_CORETYPE", "ATEN_CPU_CAPABILITY", "MKL_CBWR", "PYTHONHASHSEED")
SCHEDULER_ENV = "BMLAB_DASK_SCHEDULER"
CONNECT_TIMEOUT = 20  # seconds to reach a scheduler given with --scheduler
WORKERS_TIMEOUT = 60  # seconds to wait for the first worker of a remote scheduler
STOP_GRACE = 60.0  # seconds the chapters get to clean up after a cancel


class _FileFlag:
    """A cancel flag that is a file (seen by every process on every machine that shares the
    results folder): set when the file exists."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)

    def is_set(self) -> bool:
        return self.path.exists()

    def set(self) -> None:
        self.path.touch()


def _shipped_env() -> dict[str, str | None]:
    """The environment a chapter process gets from the coordinator (``None``: unset)."""
    env: dict[str, str | None] = {k: v for k, v in os.environ.items()
                                  if k.startswith("BMLAB_")}
    env.update({k: os.environ.get(k) for k in NUMERICS_ENV})
    return env


def _safe_name(chapter_id: str) -> str:
    return chapter_id.replace("/", "__")


def _dask_chapter_task(chapter_id: str, params: dict, force: bool, root: str,
                       env: dict[str, str | None], run_dir: str) -> RunRecord:
    """A Dask task: run one chapter in a child process of this worker; return its record.

    The task secedes from the worker's thread pool (it only waits on its child), so the
    ``sweep`` tasks of the chapter itself can run on this worker meanwhile."""
    with contextlib.suppress(Exception):
        from distributed import secede

        secede()
    run = Path(run_dir)
    name = _safe_name(chapter_id)
    try:
        os.close(os.open(run / f"started-{name}", os.O_CREAT | os.O_EXCL | os.O_WRONLY))
    except FileExistsError:
        # the worker that ran it died; its chapter process sees that and stops, removing its
        # temporary folder: wait for it, so the run ends with nothing of it left behind
        _wait_for_orphan(run / f"pid-{name}")
        return RunRecord(chapter_id, "failed", 0.0, {},
                         f"chapter {chapter_id!r}: its Dask worker died while running it "
                         "(the chapter is not run twice); previous results are unchanged")
    if _FileFlag(run / "cancel").is_set():
        return RunRecord(chapter_id, "interrupted")
    child_env = dict(os.environ)
    for k, v in env.items():
        if v is None:
            child_env.pop(k, None)
        else:
            child_env[k] = v
    pkg_parent = str(Path(__file__).resolve().parents[1])
    child_env["PYTHONPATH"] = os.pathsep.join(
        [pkg_parent] + [p for p in child_env.get("PYTHONPATH", "").split(os.pathsep) if p])
    record_path = run / f"record-{name}.json"
    job = {"chapter": chapter_id, "params": params, "force": force, "root": root,
           "cancel": str(run / "cancel"), "record": str(record_path)}
    t0 = time.perf_counter()
    with open(run / f"log-{name}.txt", "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-c", "from bmlab.runner import _chapter_main; _chapter_main()",
             json.dumps(job, default=str)],
            env=child_env, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
            start_new_session=True)  # signals reach it through the cancel file only
        with contextlib.suppress(OSError):
            (run / f"pid-{name}").write_text(f"{HOST_TAG} {proc.pid}", encoding="utf-8")
        status = proc.wait()
    try:
        data = json.loads(record_path.read_text(encoding="utf-8"))
        return RunRecord(**data)
    except (OSError, ValueError, TypeError):
        tail = ""
        with contextlib.suppress(OSError):
            lines = [ln for ln in (run / f"log-{name}.txt").read_text(
                encoding="utf-8", errors="replace").splitlines() if ln.strip()]
            tail = ("; its last output: " + " | ".join(lines[-3:])) if lines else ""
        return RunRecord(chapter_id, "failed", time.perf_counter() - t0, {},
                         f"chapter {chapter_id!r}: its process exited with status {status} "
                         f"without a result{tail}")


def _wait_for_orphan(pid_file: Path, grace: float | None = None) -> None:
    """Wait (at most ``grace`` seconds, default :data:`STOP_GRACE`) until the chapter process
    named in ``pid_file`` (``<host tag> <pid>``) has ended. Only a process of this machine
    can be watched; one on another machine is left to :func:`clean_stale_tmp`."""
    try:
        host, pid = pid_file.read_text(encoding="utf-8").split()
        pid_n = int(pid)
    except (OSError, ValueError):
        return
    if host != HOST_TAG:
        return
    deadline = time.monotonic() + (STOP_GRACE if grace is None else grace)
    while _pid_alive(pid_n) and time.monotonic() < deadline:
        time.sleep(0.1)


def _watch(cancel: _FileFlag, parent: int) -> None:  # pragma: no cover - in chapter processes
    """Stop this process (SIGTERM, handled like ``bmlab run``'s) when the run is cancelled
    or the Dask worker that started it died."""
    while True:
        if cancel.is_set() or os.getppid() != parent:
            os.kill(os.getpid(), signal.SIGTERM)
            return
        time.sleep(0.25)


def _chapter_main() -> None:  # pragma: no cover - runs in chapter processes
    """Entry point of a chapter process started by :func:`_dask_chapter_task`."""
    global _CANCEL
    job = json.loads(sys.argv[1])
    quiet_asyncio()
    _CANCEL = _FileFlag(job["cancel"])
    threading.Thread(target=_watch, args=(_CANCEL, os.getppid()), daemon=True).start()
    cid = job["chapter"]
    with handle_signals():
        try:
            try:
                spec = load_chapter(Path(job["root"]) / f"{cid}.md", Path(job["root"]))
                record = run_chapter(spec, job["params"], force=job["force"], progress=False)
            except ChapterFailed as exc:
                record = RunRecord(cid, "failed", 0.0, {}, str(exc))
            except (UsageError, LedgerError, ManifestError, OSError, RuntimeError) as exc:
                record = RunRecord(cid, "failed", 0.0, {},
                                   f"chapter {cid!r}: {type(exc).__name__}: "
                                   f"{(str(exc).splitlines() or [''])[0]}")
        except KeyboardInterrupt:
            record = RunRecord(cid, "interrupted")
    tmp = Path(job["record"] + ".part")
    tmp.write_text(json.dumps(record.__dict__), encoding="utf-8")
    os.replace(tmp, job["record"])


def _fingerprint(chapter_id: str):
    try:
        st = (result_dir(chapter_id) / MANIFEST_FILE).stat()
        return st.st_ino, st.st_mtime_ns, st.st_size
    except OSError:
        return None


def run_many(specs: list[ChapterSpec], params: dict[str, dict], *, force: bool = False,
             jobs: int = 1, progress: bool = True,
             scheduler: str | None = None) -> list[RunRecord]:
    """Run several chapters: one after the other (``jobs=1``), on a local Dask cluster of
    ``jobs`` worker processes, or on the Dask cluster of ``scheduler`` (an address such as
    ``tcp://host:8786``; ``jobs`` is then ignored). The chapter kernels get
    ``BMLAB_DASK_SCHEDULER`` so that :func:`bmlab.sweep.sweep` in a chapter uses the same
    cluster. A failing chapter (or one whose worker died) is reported failed and does not
    stop the others. SIGINT/SIGTERM stops everything: the chapters are cancelled and never
    publish after the signal, and :class:`Interrupted` names the chapters that were
    published before it (every other chapter keeps its previous results). An unreachable
    scheduler raises ``RuntimeError`` (one line) before any work."""
    before = {s.id: _fingerprint(s.id) for s in specs}
    clean_stale_tmp()
    try:
        if scheduler is None and jobs <= 1:
            return _run_serial(specs, params, force=force, progress=progress)
        return _run_dask(specs, params, force=force, jobs=jobs, progress=progress,
                         scheduler=scheduler)
    except KeyboardInterrupt as exc:
        with _signals_blocked():
            published = [s.id for s in specs if _fingerprint(s.id) != before[s.id]]
        raise Interrupted(getattr(exc, "signum", signal.SIGINT), published) from None


def _run_serial(specs, params, *, force, progress) -> list[RunRecord]:
    records: list[RunRecord] = []
    for spec in specs:
        t0 = time.perf_counter()
        try:
            records.append(run_chapter(spec, params[spec.id], force=force, progress=progress))
        except ChapterFailed as exc:
            print(f"error: {exc}", file=sys.stderr)
            records.append(RunRecord(spec.id, "failed", time.perf_counter() - t0, {},
                                     str(exc)))
    return records


def connect(scheduler: str, timeout: float | None = None):
    """A ``distributed.Client`` of the scheduler at ``scheduler`` with at least one worker;
    ``RuntimeError`` (one line) when it cannot be reached or has no worker."""
    import logging as _logging

    from distributed import Client

    _logging.getLogger("distributed").setLevel(_logging.CRITICAL)
    try:
        client = Client(scheduler, timeout=timeout or CONNECT_TIMEOUT, set_as_default=False)
    except (OSError, TimeoutError, ValueError, TypeError) as exc:
        why = (str(exc).splitlines() or [""])[0] or type(exc).__name__
        raise RuntimeError(f"cannot reach the Dask scheduler {scheduler!r} ({why}); nothing "
                           "was run, previous results are unchanged") from None
    try:
        client.wait_for_workers(1, timeout=WORKERS_TIMEOUT)
    except (OSError, TimeoutError):
        client.close()
        raise RuntimeError(f"the Dask scheduler {scheduler!r} has no worker (waited "
                           f"{WORKERS_TIMEOUT} s); start some with `dask worker "
                           f"{scheduler}`; nothing was run") from None
    return client


def _local_cluster(jobs: int):
    """A LocalCluster of ``jobs`` worker processes with one thread each, quiet."""
    import logging as _logging

    from distributed import LocalCluster

    return LocalCluster(n_workers=jobs, threads_per_worker=1, processes=True,
                        dashboard_address=":0", memory_limit=0,
                        silence_logs=_logging.CRITICAL)


def _run_dask(specs, params, *, force, jobs, progress, scheduler) -> list[RunRecord]:
    if not specs:
        return []
    cluster = client = cancel = None
    run_dir: Path | None = None
    saved = os.environ.get(SCHEDULER_ENV)
    futures: dict = {}
    try:
        if scheduler is None:
            cluster = _local_cluster(jobs)
            address = cluster.scheduler_address
            client = connect(address)
        else:
            client = connect(scheduler)
            address = scheduler
        tmp_root = paths.results_root() / TMP_DIR
        tmp_root.mkdir(parents=True, exist_ok=True)
        with _signals_blocked():
            run_dir = Path(tempfile.mkdtemp(prefix=_tmp_prefix("dask"), dir=tmp_root))
        cancel = _FileFlag(run_dir / "cancel")
        # the chapters' kernels (and the shipped environment) name the same cluster
        os.environ[SCHEDULER_ENV] = address
        env = _shipped_env()
        slots = max(1, sum(client.nthreads().values())) if cluster is None else jobs
        return _drive(client, specs, params, force, env, run_dir, slots, progress, futures)
    except BaseException:
        if cancel is not None:
            with _signals_blocked():
                _cancel_run(client, cancel, futures)
        raise
    finally:
        if saved is None:
            os.environ.pop(SCHEDULER_ENV, None)
        else:
            os.environ[SCHEDULER_ENV] = saved
        with _signals_blocked():
            for closing in (client, cluster):
                if closing is not None:
                    with contextlib.suppress(Exception):
                        closing.close()
            if run_dir is not None:
                shutil.rmtree(run_dir, ignore_errors=True)


def _drive(client, specs, params, force, env, run_dir, slots, progress, futures):
    """Submit the chapters (at most ``slots`` at once: the tasks secede, so the cluster's
    thread count alone would not bound them) and collect their records in chapter order."""
    root = str(paths.book_dir())
    token = uuid.uuid4().hex[:8]
    queue = list(specs)
    records: dict[str, RunRecord] = {}
    try:
        from tqdm.auto import tqdm
        bar = tqdm(total=len(specs), desc="chapters", unit="chapter", disable=not progress)
    except ImportError:  # pragma: no cover
        bar = None
    try:
        while queue or futures:
            while queue and len(futures) < slots:
                spec = queue.pop(0)
                fut = client.submit(_dask_chapter_task, spec.id, params[spec.id], force, root,
                                    env, str(run_dir), key=f"bmlab-chapter-{spec.id}-{token}",
                                    pure=False, retries=0)
                futures[fut] = spec.id
            done = [f for f in futures if f.done()]
            if not done:
                time.sleep(0.2)  # polling keeps this thread free for SIGINT/SIGTERM
            for fut in done:
                cid = futures.pop(fut)
                if fut.status == "finished":
                    rec = fut.result()
                else:
                    exc = fut.exception() if fut.status == "error" else None
                    why = f"{type(exc).__name__}: {(str(exc).splitlines() or [''])[0]}" \
                        if exc is not None else fut.status
                    rec = RunRecord(cid, "failed", 0.0, {},
                                    f"chapter {cid!r}: its Dask task failed ({why}); previous "
                                    "results are unchanged")
                if rec.status == "failed":
                    print(f"error: {rec.error}", file=sys.stderr)
                records[cid] = rec
                if bar is not None:
                    bar.update()
    finally:
        if bar is not None:
            bar.close()
    return [records[s.id] for s in specs]


def _cancel_run(client, cancel: _FileFlag, futures: dict, grace: float = STOP_GRACE) -> None:
    """Cancel a Dask run: no chapter publishes from now on (the flag is set, then the
    publish lock is taken once, so a publish in progress ends first and none starts after
    it); the chapter processes see the flag, stop their kernels and remove their temporary
    folders; wait for them (``grace`` seconds), then drop what never started."""
    cancel.set()
    with publish_lock():
        pass
    if client is None:
        return
    deadline = time.monotonic() + grace
    with contextlib.suppress(Exception):
        while any(not f.done() for f in futures) and time.monotonic() < deadline:
            time.sleep(0.2)
    with contextlib.suppress(Exception):
        client.cancel(list(futures))


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
