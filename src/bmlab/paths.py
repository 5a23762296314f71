"""Where things live. Every location can be redirected by an environment variable, which
is how the tests run the whole pipeline in a temporary folder."""
from __future__ import annotations

import os
from pathlib import Path

_PKG_ROOT = Path(__file__).resolve().parents[2]


def repo_root() -> Path:
    """The project root (holds ``_toc.yml``); ``BMLAB_ROOT`` overrides."""
    env = os.environ.get("BMLAB_ROOT")
    return Path(env).resolve() if env else _PKG_ROOT


def book_dir() -> Path:
    """Chapter sources."""
    return repo_root() / "book"


def inputs_dir() -> Path:
    """Small shipped inputs (``data/inputs``)."""
    return repo_root() / "data" / "inputs"


def results_root() -> Path:
    """Generated results, one folder per chapter; ``BMLAB_RESULTS_ROOT`` overrides."""
    env = os.environ.get("BMLAB_RESULTS_ROOT")
    return Path(env).resolve() if env else repo_root() / "data" / "results"


def build_root() -> Path:
    """Build outputs (executed notebooks, the HTML book); ``BMLAB_BUILD_ROOT`` overrides."""
    env = os.environ.get("BMLAB_BUILD_ROOT")
    return Path(env).resolve() if env else repo_root() / "_build"
