"""Layering of the package: lower layers never import higher ones.

The rule enforced (every ``import`` statement anywhere in a module, lazy ones inside functions
included, resolved to the ``bmlab`` module it names):

    validation, paths  <  bounds  <  problems  <  factorizations  <  solvers
                       <  {landscape, fixed_points, sdp}  <  experiments, chapter, runner, book, cli

A module of one layer imports ``bmlab`` modules of its own package/module or of lower layers
only; the three top numerical layers do not import each other. In particular ``problems``
never imports ``solvers``, ``factorizations`` never imports ``solvers``, and no numerical layer
imports ``experiments``, ``chapter``, ``runner``, ``book`` or ``cli``.

One concept, one name, one place: the names that moved (:data:`MOVED`) are found only in their
new home, with no alias left behind at the old one.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "bmlab"

RANK = {"validation": 0, "paths": 0, "bounds": 1, "problems": 2, "factorizations": 3,
        "solvers": 4, "landscape": 5, "fixed_points": 5, "sdp": 5}
HIGH = ("experiments", "chapter", "runner", "book", "cli")

#: old module -> (names that moved away from it, their one home).
MOVED = {"bmlab.factorizations.udu": (("run_bm", "run_udu"), "bmlab.solvers.udu"),
         "bmlab.landscape": (("newton_refine",), "bmlab.solvers.newton"),
         "bmlab.solvers.alternating": (("PenaltyRule", "FixedPenalty", "AlgorithmDependentPenalty",
                                        "AdaptivePenalty", "AccuracyPenalty", "ExactPenalty",
                                        "StartBoundPenalty", "make_rule", "RULES"),
                                       "bmlab.factorizations.penalty"),
         "bmlab.factorizations.asymmetric": (("Regularizer", "NoReg", "NonNeg", "Ridge",
                                              "UnboundedSubproblem"), "bmlab.problems.base"),
         "bmlab.sdp.core": (("numerical_rank",), "bmlab.factorizations.spectral"),
         "bmlab.nn.training": (("resolve_device",), "bmlab.solvers.kernels_torch")}


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


@pytest.mark.parametrize("old", sorted(MOVED))
def test_moved_names_have_one_home_and_no_alias(old):
    """A moved name is public at its home only: not in the old module's ``__all__``, and not an
    attribute of it either unless the old module uses it itself (a plain import, not a
    re-export)."""
    import importlib

    names, home = MOVED[old]
    mod, new = importlib.import_module(old), importlib.import_module(home)
    for name in names:
        assert hasattr(new, name), f"{home}.{name}"
        assert name not in getattr(mod, "__all__", ()), f"{old}.__all__ lists {name}"
        if hasattr(mod, name):
            used = _uses(SRC.parent / (old.replace(".", "/") + ".py"), name)
            assert used, f"{old}.{name} is a re-export of {home}.{name}"


def test_the_udu_module_has_no_lazy_aliases():
    import bmlab.factorizations.udu as fu

    assert not hasattr(fu, "__getattr__")
    for name in ("run_bm", "run_udu", "log_schedule"):
        assert not hasattr(fu, name), name


def _uses(path: Path, name: str) -> bool:
    """``name`` is used in ``path`` other than in its import statement."""
    return any(isinstance(node, ast.Name) and node.id == name
               for node in ast.walk(ast.parse(path.read_text(), str(path))))
