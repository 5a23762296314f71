"""The ``bmlab`` command: list, run, reproduce, build, claims.

Exit status: 0 success; 1 a chapter failed, the book build failed, or (``claims``) a claim's
outcome differs from its expectation; 2 bad usage (unknown chapter or parameter, bad value),
reported before any work; 130 interrupted (previous results are kept).
"""
from __future__ import annotations

import argparse
import sys

from . import paths
from .chapter import PROFILES


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="bmlab", description="Reproduce the chapters of the bmlab book and build it.")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    sub.add_parser("list", help="chapters, their parameters and cache state")

    r = sub.add_parser("run", help="run one chapter with papermill")
    r.add_argument("chapter", help="chapter id, e.g. exact-penalty/toy-tight-bound")
    r.add_argument("-p", "--param", action="append", default=[], metavar="NAME=VALUE",
                   help="override a parameter of the chapter's parameters cell (repeatable)")
    r.add_argument("--profile", choices=PROFILES, default=None,
                   help="quick (CI size) or paper (the paper's scale, the default of the "
                        "chapter source)")
    r.add_argument("--force", action="store_true", help="re-run even if the cache is fresh")
    r.add_argument("--no-progress", action="store_true", help="no progress bar")

    rp = sub.add_parser("reproduce", help="run every chapter of the table of contents")
    rp.add_argument("--profile", choices=PROFILES, default="paper")
    rp.add_argument("--jobs", type=int, default=1, help="chapters run at once (processes)")
    rp.add_argument("--force", action="store_true", help="re-run even if the cache is fresh")
    rp.add_argument("--no-progress", action="store_true", help="no progress bars")

    b = sub.add_parser("build", help="build the HTML book from the executed chapters")
    b.add_argument("--no-strict", action="store_true",
                   help="do not turn warnings into errors (default: -W -n --keep-going)")

    sub.add_parser("claims", help="the claims ledger; exit 1 if an outcome is unexpected")
    return p


def cmd_list(args) -> int:
    from .book import toc_chapters
    from .runner import cache_state, discover, source_hash

    chapters = discover()
    in_toc = set(toc_chapters())
    src = source_hash()
    for cid, spec in chapters.items():
        state = cache_state(spec, src)
        mark = "" if cid in in_toc else "  [not in _toc.yml]"
        print(f"{cid}  —  {spec.title}  [{state}]{mark}")
        for param in spec.params.values():
            print(f"    {param.describe()}")
    return 0


def cmd_run(args) -> int:
    from .runner import (discover, effective_parameters, parse_assignments, resolve_chapter,
                         run_chapter, summary_table)

    spec = resolve_chapter(args.chapter, discover())
    params = effective_parameters(spec, parse_assignments(args.param), args.profile)
    record = run_chapter(spec, params, force=args.force, progress=not args.no_progress)
    print(summary_table([record]))
    print(f"results: {paths.results_root() / spec.id}")
    return 0


def cmd_reproduce(args) -> int:
    from .book import toc_chapters
    from .runner import discover, effective_parameters, run_many, summary_table

    if args.jobs < 1:
        from .runner import UsageError
        raise UsageError(f"--jobs must be at least 1, got {args.jobs}")
    chapters = discover()
    specs = [chapters[c] for c in toc_chapters()]
    params = {s.id: effective_parameters(s, {}, args.profile) for s in specs}
    records = run_many(specs, params, force=args.force, jobs=args.jobs,
                       progress=not args.no_progress)
    print(summary_table(records))
    return 1 if any(r.status == "failed" for r in records) else 0


def cmd_build(args) -> int:
    from .book import build

    html = build(strict=not args.no_strict)
    print(f"book built: {html / 'index.html'}")
    return 0


def cmd_claims(args) -> int:
    from .book import toc_chapters
    from .claims import CLAIMS_FILE, Ledger, summarize
    from .runner import result_dir

    claims = []
    for cid in toc_chapters():
        claims.extend(Ledger.load(result_dir(cid) / CLAIMS_FILE).claims.values())
    if not claims:
        print("no claims recorded yet: run `bmlab reproduce` first")
        return 1
    width = max(len(c.id) for c in claims)
    for c in claims:
        extra = f"  ({c.reason})" if c.reason else ""
        print(f"{c.id.ljust(width)}  {c.verdict:<22} paper={c.paper!s:.30}  ours={c.ours!s:.30}{extra}")
    s = summarize(claims)
    print(f"\n{s['total']} claims: {s['held']} held, {s['failed']} failed, "
          f"{s['unexpected']} with an unexpected outcome")
    return 1 if s["unexpected"] else 0


COMMANDS = {"list": cmd_list, "run": cmd_run, "reproduce": cmd_reproduce,
            "build": cmd_build, "claims": cmd_claims}


def main(argv: list[str] | None = None) -> int:
    from .runner import ChapterFailed, UsageError

    args = _parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except UsageError as exc:
        print(f"bmlab: error: {exc}", file=sys.stderr)
        return 2
    except ChapterFailed as exc:
        print(f"bmlab: error: {exc}\n  previous results (if any) are unchanged", file=sys.stderr)
        return 1
    except RuntimeError as exc:
        print(f"bmlab: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nbmlab: interrupted; previous results are unchanged", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
