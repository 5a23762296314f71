"""Shared fixtures. The chapter and book tests run the real pipeline into a temporary
results/build folder, so they never touch data/results or _build of the checkout."""
from __future__ import annotations

import os

import matplotlib
import pytest

matplotlib.use("Agg")


@pytest.fixture(scope="session")
def quick_results(tmp_path_factory):
    """Run every chapter of the table of contents in the quick profile (once per session)
    into a temporary results root; yields ``{chapter_id: RunRecord}``."""
    from bmlab.book import toc_chapters
    from bmlab.runner import discover, effective_parameters, run_many

    base = tmp_path_factory.mktemp("pipeline")
    saved = {k: os.environ.get(k) for k in ("BMLAB_RESULTS_ROOT", "BMLAB_BUILD_ROOT")}
    os.environ["BMLAB_RESULTS_ROOT"] = str(base / "results")
    os.environ["BMLAB_BUILD_ROOT"] = str(base / "_build")
    try:
        chapters = discover()
        specs = [chapters[c] for c in toc_chapters()]
        params = {s.id: effective_parameters(s, {}, "quick") for s in specs}
        jobs = int(os.environ.get("BMLAB_TEST_JOBS", "2"))
        records = run_many(specs, params, force=True, jobs=jobs, progress=False)
        yield {r.chapter: r for r in records}
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
