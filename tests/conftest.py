"""Shared fixtures. The chapter and book tests run the real pipeline into a temporary
results/build folder, so they never touch data/results or _build of the checkout."""
from __future__ import annotations

import contextlib
import os

import matplotlib
import pytest

matplotlib.use("Agg")


# Other CPU kernels and thread counts: each of these changes result bits on this machine
# (numpy/scipy's OpenBLAS kernel, torch's vectorised kernels, one thread everywhere).
CROSS_NUMERICS_ENV = {
    "OPENBLAS_CORETYPE": "Prescott",
    "ATEN_CPU_CAPABILITY": "default",
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
}


@contextlib.contextmanager
def _environ(values: dict[str, str]):
    """Set environment variables for the duration of a block, then restore them."""
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _roots(base) -> dict[str, str]:
    return {"BMLAB_RESULTS_ROOT": str(base / "results"), "BMLAB_BUILD_ROOT": str(base / "_build")}


def _run_all_chapters(base, env_extra: dict[str, str], jobs: int | None = None):
    """Run every chapter of the table of contents in the quick profile into ``base``."""
    from bmlab.book import toc_chapters
    from bmlab.runner import discover, effective_parameters, run_many

    with _environ({**_roots(base), **env_extra}):
        chapters = discover()
        specs = [chapters[c] for c in toc_chapters()]
        params = {s.id: effective_parameters(s, {}, "quick") for s in specs}
        # a forced OpenBLAS kernel crashes Dask task threads (see cross_numerics_results): then
        # the quick pass runs serially too
        default = "1" if os.environ.get("OPENBLAS_CORETYPE") else "2"
        jobs = jobs or int(os.environ.get("BMLAB_TEST_JOBS", default))
        records = run_many(specs, params, force=True, jobs=jobs, progress=False)
        return {r.chapter: r for r in records}


@pytest.fixture(scope="session")
def quick_results(tmp_path_factory):
    """Run every chapter of the table of contents in the quick profile (once per session)
    into a temporary results root; yields ``{chapter_id: RunRecord}``. While it is in use,
    ``BMLAB_RESULTS_ROOT``/``BMLAB_BUILD_ROOT`` point at that root."""
    base = tmp_path_factory.mktemp("pipeline")
    records = _run_all_chapters(base, {})
    with _environ(_roots(base)):
        yield records


@pytest.fixture(scope="session")
def cross_numerics_results(tmp_path_factory):
    """The same quick-profile run of every chapter under :data:`CROSS_NUMERICS_ENV`, into its
    own results root; yields ``(results_root, {chapter_id: RunRecord})``."""
    base = tmp_path_factory.mktemp("cross-numerics")
    # Serial (jobs=1): with OPENBLAS_CORETYPE=Prescott forced on this CPU, OpenBLAS itself
    # segfaults inside a Dask worker's executor thread (np.vdot in
    # problems.phase_retrieval.signal_error, reached by the PR seed study's sweep tasks;
    # faulthandler trace, 2026-12-01; the same call in the worker's main thread, in a plain
    # thread or with the other settings alone does not crash). The runner reports that
    # correctly ("its Dask worker died"), but the pass would then test OpenBLAS, not bmlab.
    # The Dask path itself is tested in tests/test_dask.py.
    return base / "results", _run_all_chapters(base, CROSS_NUMERICS_ENV, jobs=1)


# ------------------------------------------------------------------ toy chapter projects
class ToyProject:
    """Builds a toy chapter project (``book/``, ``_toc.yml``, chapter ``.md`` files, optional
    ``data/inputs``) and points the ``BMLAB_*`` environment at it: the scaffolding shared by
    the runner, CLI, fault, Dask and JupyterLab tests (fixture :func:`toy_project`)."""

    @staticmethod
    def write(root, chapters: dict, *, intro: bool = True, inputs: dict | None = None):
        """``root/book/<id>.md`` for each ``chapter id -> text``; with ``intro``, a
        ``book/intro.md`` and a ``_toc.yml`` rooted at it listing the chapters in order;
        without, the first chapter is the root. ``inputs``: ``relative path -> text`` under
        ``data/inputs``. Returns ``root``."""
        from pathlib import Path

        root = Path(root)
        ids = list(chapters)
        for cid, text in chapters.items():
            (root / "book" / cid).parent.mkdir(parents=True, exist_ok=True)
            (root / "book" / f"{cid}.md").write_text(text, encoding="utf-8")
        if intro:
            (root / "book" / "intro.md").write_text("# Intro\n", encoding="utf-8")
            toc_root, listed = "book/intro", ids
        else:
            toc_root, listed = f"book/{ids[0]}", ids[1:]
        toc = f"format: jb-book\nroot: {toc_root}\n"
        if listed:
            toc += "chapters:\n" + "".join(f"  - file: book/{c}\n" for c in listed)
        (root / "_toc.yml").write_text(toc, encoding="utf-8")
        for rel, text in (inputs or {}).items():
            (root / "data" / "inputs" / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / "data" / "inputs" / rel).write_text(text, encoding="utf-8")
        return root

    @staticmethod
    def point(monkeypatch, root=None, *, results=None, build=None):
        """``BMLAB_ROOT`` at ``root`` (if given), ``BMLAB_RESULTS_ROOT`` at ``results`` (default
        ``root/data/results``), ``BMLAB_BUILD_ROOT`` at ``build`` (default ``root/_build``),
        ``BMLAB_OUTPUT_DIR`` unset. Returns the results root."""
        from pathlib import Path

        if root is not None:
            monkeypatch.setenv("BMLAB_ROOT", str(root))
            results = Path(root) / "data" / "results" if results is None else results
            build = Path(root) / "_build" if build is None else build
        if results is None:
            raise ValueError("point() needs root or results")
        monkeypatch.setenv("BMLAB_RESULTS_ROOT", str(results))
        if build is not None:
            monkeypatch.setenv("BMLAB_BUILD_ROOT", str(build))
        monkeypatch.delenv("BMLAB_OUTPUT_DIR", raising=False)
        return Path(results)


@pytest.fixture(scope="session")
def toy_project():
    """:class:`ToyProject`: ``toy_project.write(root, {id: text})`` and
    ``toy_project.point(monkeypatch, root)`` (usable from fixtures of any scope)."""
    return ToyProject
