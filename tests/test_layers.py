"""Layering of the package: lower layers never import higher ones.

The rule enforced (every ``import`` statement anywhere in a module, lazy ones inside functions
included, resolved to the ``bmlab`` module it names):

    validation, paths  <  bounds  <  problems  <  factorizations  <  solvers
                       <  {landscape, fixed_points, sdp}  <  experiments, chapter, runner, book, cli

A module of one layer imports ``bmlab`` modules of its own package/module or of lower layers
only; the three top numerical layers do not import each other. In particular ``problems``
never imports ``solvers``, ``factorizations`` never imports ``solvers``, and no numerical layer
imports ``experiments``, ``chapter``, ``runner``, ``book`` or ``cli``.

Compat aliases of names that moved up a layer (``bmlab.factorizations.udu.run_bm`` ...) are
module ``__getattr__`` hooks that resolve through :mod:`importlib` at attribute access; they are
not import statements and are listed in :data:`COMPAT` so that they can be removed once their
callers are migrated.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "bmlab"

RANK = {"validation": 0, "paths": 0, "bounds": 1, "problems": 2, "factorizations": 3,
        "solvers": 4, "landscape": 5, "fixed_points": 5, "sdp": 5}
HIGH = ("experiments", "chapter", "runner", "book", "cli")

#: name -> module it moved to; resolved lazily by the old module's __getattr__ (to remove).
COMPAT = {"bmlab.factorizations.udu.run_bm": "bmlab.solvers.udu",
          "bmlab.factorizations.udu.run_udu": "bmlab.solvers.udu",
          "bmlab.factorizations.udu.log_schedule": "bmlab.solvers.base"}


def _modules():
    for top in RANK:
        path = SRC / top
        files = sorted(path.rglob("*.py")) if path.is_dir() else [SRC / f"{top}.py"]
        for f in files:
            yield top, f


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, absolute dotted name) of every bmlab module imported in ``path``."""
    rel = path.relative_to(SRC.parent).with_suffix("")
    pkg = list(rel.parts[:-1])      # the package a relative import starts from (also for __init__)
    out = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names if a.name.split(".")[0] == "bmlab"]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = pkg[:len(pkg) - node.level + 1]
                name = ".".join(base + ([node.module] if node.module else []))
            else:
                name = node.module or ""
            if name.split(".")[0] == "bmlab":
                if node.module is None or name.count(".") == 0:   # from . import x / from bmlab import x
                    out += [(node.lineno, f"{name}.{a.name}") for a in node.names]
                else:
                    out.append((node.lineno, name))
    return out


def _layer(name: str) -> str | None:
    parts = name.split(".")
    return parts[1] if len(parts) > 1 else None


CASES = list(_modules())


def test_every_layer_has_modules():
    assert {top for top, _ in CASES} == set(RANK)


@pytest.mark.parametrize("top,path", CASES, ids=[str(p.relative_to(SRC)) for _, p in CASES])
def test_lower_layers_never_import_higher_ones(top, path):
    bad = []
    for line, name in _imports(path):
        target = _layer(name)
        if target is None or target == top:
            continue
        where = f"{path.relative_to(SRC.parent)}:{line} imports {name}"
        if target in HIGH:
            bad.append(f"{where} (a numerical layer never imports {', '.join(HIGH)})")
        elif target not in RANK:
            bad.append(f"{where} (not a layer below {top!r}; add it to RANK if it is one)")
        elif RANK[target] >= RANK[top]:
            bad.append(f"{where} ({target!r} is not below {top!r})")
    assert not bad, "\n".join(bad)


def test_problems_never_import_solvers():
    for top, path in CASES:
        if top == "problems":
            assert not [n for _, n in _imports(path) if _layer(n) == "solvers"], path


def test_the_parser_sees_relative_imports():
    f = SRC / "solvers" / "udu.py"
    names = {n for _, n in _imports(f)}
    assert "bmlab.factorizations.udu" in names and "bmlab.solvers.gd" in names
    assert "bmlab.experiments.x" not in names


@pytest.mark.parametrize("alias,target", sorted(COMPAT.items()))
def test_compat_aliases_resolve_to_the_moved_object(alias, target):
    import importlib

    mod, name = alias.rsplit(".", 1)
    assert getattr(importlib.import_module(mod), name) is getattr(importlib.import_module(target), name)
