"""Benchmark: wall time and peak memory of every chapter in a profile, per part, against
the part's budget. Prints a table; never asserts (tests stay deterministic).

    .venv/bin/python benchmarks/chapter_times.py --profile quick
    .venv/bin/python benchmarks/chapter_times.py --profile paper --part asymmetric-gd

Runs into a temporary results folder, so the checkout's data/results is untouched.
"""
from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from collections import defaultdict

# Budgets (seconds) from the issues: quick profile of a part / paper profile of a part.
BUDGETS = {
    "exact-penalty": (120, 1200),
    "implicit-bias": (180, 1800),
    "udv-networks": (300, 2700),
    "asymmetric-gd": (120, 900),
    "high-order-losses": (120, 1200),
}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profile", choices=("quick", "paper"), default="quick")
    ap.add_argument("--part", default=None, help="only chapters of this part")
    args = ap.parse_args(argv)

    tmp = tempfile.mkdtemp(prefix="bmlab-bench-")
    os.environ["BMLAB_RESULTS_ROOT"] = os.path.join(tmp, "results")
    os.environ["BMLAB_BUILD_ROOT"] = os.path.join(tmp, "_build")
    from bmlab.book import toc_chapters
    from bmlab.runner import ChapterFailed, discover, effective_parameters, run_chapter

    chapters = discover()
    ids = [c for c in toc_chapters() if args.part is None or c.startswith(args.part + "/")]
    per_part: dict[str, float] = defaultdict(float)
    print(f"{'chapter':50s} {'status':8s} {'wall s':>8s} {'peak RSS MiB':>13s}")
    for cid in ids:
        spec = chapters[cid]
        t0 = time.perf_counter()
        try:
            rec = run_chapter(spec, effective_parameters(spec, {}, args.profile), force=True,
                              progress=False)
            status = rec.status
        except ChapterFailed as exc:
            status = "failed"
            print(exc, file=sys.stderr)
        wall = time.perf_counter() - t0
        # the kernel is a child process: its peak RSS is the children's maximum so far
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        per_part[cid.split("/")[0]] += wall
        print(f"{cid:50s} {status:8s} {wall:8.1f} {peak:13.0f}")
    print()
    print(f"{'part':25s} {'wall s':>8s} {'budget s':>9s}  within")
    for part, wall in per_part.items():
        budget = BUDGETS.get(part, (float('nan'),) * 2)[0 if args.profile == "quick" else 1]
        print(f"{part:25s} {wall:8.1f} {budget:9.0f}  {'yes' if wall <= budget else 'NO'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
