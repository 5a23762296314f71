"""Per-chapter run times of the part "Exact penalties" (issue: the part runs in under 2 minutes
in the quick profile and under 20 minutes in the paper profile on 2 cores).

Usage::

    python -m bmlab.experiments.exact_penalty.benchmark [--profile quick|paper] [--out DIR]
        [CHAPTER ...]

Each chapter is converted with jupytext and executed with papermill (as the runner does) into a
temporary results folder; the script prints wall-clock and CPU seconds per chapter, the total,
and the claims that did not come out as expected.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHAPTERS = ("toy-tight-bound", "setting-biconvexity", "theorem1-bound", "corollary1-start-bounds",
            "corollary2-snmf", "algorithms", "toy-dynamic-penalty", "snmf-clustering")


def _cpu_children() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def run_chapter(name: str, profile: str, out: Path, root: Path) -> dict:
    src = root / "book" / "exact-penalty" / f"{name}.md"
    nb = out / f"{name}.ipynb"
    res_dir = out / name
    env = dict(os.environ, BMLAB_OUTPUT_DIR=str(res_dir),
               PYTHONPATH=str(root / "src") + os.pathsep + os.environ.get("PYTHONPATH", ""))
    bindir = Path(sys.executable).parent
    t0, c0 = time.perf_counter(), _cpu_children()
    subprocess.run([str(bindir / "jupytext"), "--to", "ipynb", "-o", str(nb), str(src)], check=True,
                   capture_output=True, env=env)
    proc = subprocess.run([str(bindir / "papermill"), str(nb), str(out / f"{name}.out.ipynb"),
                           "-k", "python3", "-p", "profile", profile], capture_output=True, env=env,
                          text=True)
    wall, cpu = time.perf_counter() - t0, _cpu_children() - c0
    claims = json.loads((res_dir / "claims.json").read_text()) if (res_dir / "claims.json").exists() else []
    bad = [c["id"] for c in claims if c["holds"] != (c["expected"] == "holds")]
    return {"chapter": name, "ok": proc.returncode == 0, "wall": wall, "cpu": cpu,
            "claims": len(claims), "unexpected": bad, "error": proc.stderr[-500:] if proc.returncode else ""}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("chapters", nargs="*", default=list(CHAPTERS))
    ap.add_argument("--profile", choices=("quick", "paper"), default="quick")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args(argv)
    unknown = [c for c in args.chapters if c not in CHAPTERS]
    if unknown:
        ap.error(f"unknown chapter(s) {unknown}; valid: {', '.join(CHAPTERS)}")
    root = Path(__file__).resolve().parents[4]
    out = args.out or Path(tempfile.mkdtemp(prefix="ep-bench-"))
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    print(f"{'chapter':28s} {'status':7s} {'wall [s]':>9s} {'cpu [s]':>8s} claims unexpected")
    for name in args.chapters:
        r = run_chapter(name, args.profile, out, root)
        rows.append(r)
        print(f"{name:28s} {'ok' if r['ok'] else 'FAILED':7s} {r['wall']:9.1f} {r['cpu']:8.1f} "
              f"{r['claims']:6d} {','.join(r['unexpected']) or '-'}", flush=True)
        if r["error"]:
            print(r["error"])
    print(f"{'total':28s} {'':7s} {sum(r['wall'] for r in rows):9.1f} {sum(r['cpu'] for r in rows):8.1f}")
    return 0 if all(r["ok"] and not r["unexpected"] for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
