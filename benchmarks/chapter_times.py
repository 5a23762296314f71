"""Benchmark: wall time and peak memory of every chapter in a profile, per part, against
the part's budget. Prints a table; never asserts (tests stay deterministic).

    .venv/bin/python benchmarks/chapter_times.py --profile quick
    .venv/bin/python benchmarks/chapter_times.py --profile paper --part asymmetric-gd
    .venv/bin/python benchmarks/chapter_times.py --profile paper      # the whole book (~1 h)

Prints each chapter, then each part's total against its budget and the whole book's total
against issue 12's target (quick <= 10 min, paper <= 60 min on 2 cores).

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

# Whole-book targets (seconds), issue 12: quick profile <= 10 min, paper profile (the papers'
# full protocols) <= 60 min wall on 2 cores.
TOTAL_TARGET = {"quick": 600, "paper": 3600}

# Budgets (seconds) from the issues: quick profile of a part / paper profile of a part.
BUDGETS = {
    "exact-penalty": (120, 1200),
    "implicit-bias": (180, 1800),
    "udv-networks": (300, 2700),
    "asymmetric-gd": (120, 900),
    "high-order-losses": (120, 1200),
}


def _cpu() -> float:
    """CPU seconds (user + system) of this process (papermill, the runner) and its finished
    children (the notebook kernels): on a shared machine the wall time counts the time other
    processes hold the cores, this does not."""
    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        ru = resource.getrusage(who)
        total += ru.ru_utime + ru.ru_stime
    return total


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
    n_part: dict[str, int] = defaultdict(int)
    per_part_cpu: dict[str, float] = defaultdict(float)
    print(f"{'chapter':50s} {'status':8s} {'wall s':>8s} {'CPU s':>8s} {'peak RSS MiB':>13s}")
    for cid in ids:
        spec = chapters[cid]
        t0 = time.perf_counter()
        c0 = _cpu()
        try:
            rec = run_chapter(spec, effective_parameters(spec, {}, args.profile), force=True,
                              progress=False)
            status = rec.status
        except ChapterFailed as exc:
            status = "failed"
            print(exc, file=sys.stderr)
        wall = time.perf_counter() - t0
        cpu = _cpu() - c0
        # the kernel is a child process: its peak RSS is the children's maximum so far
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        per_part[cid.split("/")[0]] += wall
        n_part[cid.split("/")[0]] += 1
        per_part_cpu[cid.split("/")[0]] += cpu
        print(f"{cid:50s} {status:8s} {wall:8.1f} {cpu:8.1f} {peak:13.0f}")
    print()
    print(f"{'part':25s} {'chapters':>8s} {'wall s':>8s} {'wall min':>8s} {'CPU s':>8s} "
          f"{'budget s':>9s}  within: wall / CPU")
    yn = lambda ok: "yes" if ok else "NO"  # noqa: E731
    for part, wall in per_part.items():
        budget = BUDGETS.get(part, (float('nan'),) * 2)[0 if args.profile == "quick" else 1]
        cpu = per_part_cpu[part]
        print(f"{part:25s} {n_part[part]:8d} {wall:8.1f} {wall / 60:8.1f} {cpu:8.1f} "
              f"{budget:9.0f}  {yn(wall <= budget)} / {yn(cpu <= budget)}")
    total = sum(per_part.values())
    target = TOTAL_TARGET[args.profile]
    scope = "whole book" if args.part is None else f"part {args.part} only (not the whole book)"
    total_cpu = sum(per_part_cpu.values())
    print(f"{'total':25s} {sum(n_part.values()):8d} {total:8.1f} {total / 60:8.1f} "
          f"{total_cpu:8.1f} {target:9.0f}  {yn(total <= target)} / {yn(total_cpu <= target)}"
          f"   <- {scope}; target {target / 60:.0f} min ({args.profile} profile, 2 cores)")
    print("(the targets are wall time on an otherwise idle machine; on a shared one the CPU "
          "column is the fairer figure)")
    try:
        load = os.getloadavg()
        print(f"load average at the end: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} "
              f"on {os.cpu_count()} cores")
    except OSError:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
