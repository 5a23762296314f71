"""The ``bmlab`` command: list, run, reproduce, build, claims.

Exit status: 0 success; 1 a chapter failed, the book build failed, or (``claims``) a claim's
outcome differs from its expectation; 2 bad usage (unknown chapter or parameter, bad value),
reported before any work; 130 interrupted by SIGINT, 143 by SIGTERM (previous results are
kept; chapters that finished before the signal are named).
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
    rp.add_argument("--jobs", type=int, default=1,
                    help="chapters run at once: N > 1 starts a local Dask cluster of N worker "
                         "processes (1 thread each) that also runs the chapters' sweeps")
    rp.add_argument("--scheduler", metavar="ADDRESS", default=None,
                    help="run the chapters (and their sweeps) on the Dask cluster of this "
                         "scheduler, e.g. tcp://host:8786 (workers must share the checkout "
                         "and data/; see README, 'Running on a cluster'); --jobs is ignored")
    rp.add_argument("--force", action="store_true", help="re-run even if the cache is fresh")
    rp.add_argument("--no-progress", action="store_true", help="no progress bars")

    b = sub.add_parser("build", help="build the HTML book from the executed chapters")
    b.add_argument("--no-strict", action="store_true",
                   help="do not turn warnings into errors (default: -W -n --keep-going)")

    c = sub.add_parser("claims", help="the claims ledger; exit 1 if an outcome is unexpected, "
                       "a claim fragile, or a chapter stale, missing or invalid")
    c.add_argument("--allow-missing", action="store_true",
                   help="do not fail for chapters that were never run")
    c.add_argument("--allow-stale", action="store_true",
                   help="do not fail for chapters whose results are out of date")
    return p


def cmd_list(args) -> int:
    from .book import toc_chapters
    from .runner import chapter_state, discover, inputs_hash, source_hash

    chapters = discover()
    in_toc = set(toc_chapters())
    src, inputs = source_hash(), inputs_hash()
    for cid, spec in chapters.items():
        state = chapter_state(spec, src=src, inputs=inputs)
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
    if args.scheduler is not None and not args.scheduler.strip():
        from .runner import UsageError
        raise UsageError("--scheduler needs an address, e.g. tcp://host:8786")
    chapters = discover()
    specs = [chapters[c] for c in toc_chapters()]
    params = {s.id: effective_parameters(s, {}, args.profile) for s in specs}
    records = run_many(specs, params, force=args.force, jobs=args.jobs,
                       progress=not args.no_progress, scheduler=args.scheduler)
    print(summary_table(records))
    return 1 if any(r.status == "failed" for r in records) else 0


def cmd_build(args) -> int:
    from .book import build, toc_chapters
    from .runner import chapter_state, inputs_hash, source_hash

    src, inputs = source_hash(), inputs_hash()
    states = {cid: chapter_state(cid, src=src, inputs=inputs) for cid in toc_chapters()}
    invalid = {c: s for c, s in states.items() if s.state == "invalid"}
    for cid, st in invalid.items():
        print(f"bmlab: error: results of {cid!r} are invalid: {st.reason}", file=sys.stderr)
    if invalid:
        print("  re-run them: bmlab run CHAPTER (or bmlab reproduce)", file=sys.stderr)
        return 1
    for cid, st in states.items():
        if st.state == "stale":
            print(f"bmlab: warning: results of {cid!r} are stale ({st.reason})",
                  file=sys.stderr)
    html = build(strict=not args.no_strict)
    print(f"book built: {html / 'index.html'}")
    return 0


def _margin(c) -> str:
    return "n/a" if c.margin is None else f"{c.margin:+.3g}"


def cmd_claims(args) -> int:
    from .book import toc_chapters
    from .claims import CLAIMS_FILE, Ledger, LedgerError, summarize
    from .runner import (ManifestError, chapter_state, inputs_hash, load_ledger, result_dir,
                         source_hash)

    src, inputs = source_hash(), inputs_hash()
    claims, problems, states = [], [], {}
    rows: list[tuple[str, list]] = []
    for cid in toc_chapters():
        st = chapter_state(cid, src=src, inputs=inputs)
        states[st.state] = states.get(st.state, 0) + 1
        if st.state == "missing":
            if not args.allow_missing:
                problems.append(f"{cid}: missing (never run)")
            rows.append((f"{cid}: missing (never run)", []))
            continue
        if st.state == "invalid":
            problems.append(f"{cid}: invalid ({st.reason})")
            rows.append((f"{cid}: INVALID ({st.reason}); its claims are not shown", []))
            continue
        try:
            chapter_claims = list(load_ledger(cid).claims.values())
        except (LedgerError, ManifestError):  # a run by hand: no runner manifest
            try:
                chapter_claims = list(Ledger.load(result_dir(cid) / CLAIMS_FILE)
                                      .claims.values())
            except LedgerError as exc:
                problems.append(f"{cid}: invalid ({str(exc).splitlines()[0]})")
                rows.append((f"{cid}: INVALID ({exc}); its claims are not shown", []))
                continue
        if st.state == "stale":
            if not args.allow_stale:
                problems.append(f"{cid}: stale ({st.reason})")
            rows.append((f"{cid}: STALE ({st.reason})", chapter_claims))
        else:
            rows.append((f"{cid}: {st}", chapter_claims))
        claims.extend(chapter_claims)
    width = max([len(c.id) for c in claims] + [5])
    for head, chapter_claims in rows:
        print(head)
        for c in chapter_claims:
            flags = "  FRAGILE" if c.fragile else ""
            why = f"  ({c.reason})" if c.reason else ""
            print(f"  {c.id.ljust(width)}  {c.kind:<9}  {c.verdict:<20}  "
                  f"margin {_margin(c):<9}{flags}{why}")
    s = summarize(claims)
    print(f"\npaper claims: {s['paper']} — {s['reproduced']} reproduced, "
          f"{s['not_reproduced']} not reproduced, {s['paper_unexpected']} unexpected; "
          f"extensions: {s['extensions']}; checks: {s['checks']}; "
          f"exploratory: {s['exploratory']}")
    print(f"all claims: {s['total']}, {s['unexpected']} with an UNEXPECTED outcome, "
          f"{s['fragile']} fragile; chapters: "
          + ", ".join(f"{n} {k}" for k, n in sorted(states.items())))
    status = 0
    if problems:
        hint = []
        if any(": missing" in p for p in problems):
            hint.append("--allow-missing")
        if any(": stale" in p for p in problems):
            hint.append("--allow-stale")
        print(f"bmlab: error: {len(problems)} chapter(s) without trustworthy results: "
              + "; ".join(problems[:5]) + ("; …" if len(problems) > 5 else "")
              + ("\n  run them (bmlab run CHAPTER / bmlab reproduce)"
                 + (f" or pass {' '.join(hint)}" if hint else "")), file=sys.stderr)
        status = 1
    if not claims:
        print("no claims recorded yet: run `bmlab reproduce` first", file=sys.stderr)
        status = 1
    if s["unexpected"] or s["fragile"]:
        print(f"bmlab: error: {s['unexpected']} unexpected and {s['fragile']} fragile "
              "claim(s)", file=sys.stderr)
        status = 1
    return status


COMMANDS = {"list": cmd_list, "run": cmd_run, "reproduce": cmd_reproduce,
            "build": cmd_build, "claims": cmd_claims}


def _interrupted_message(exc: BaseException) -> tuple[str, int]:
    import signal

    signum = getattr(exc, "signum", signal.SIGINT)
    published = getattr(exc, "published", [])
    name = signal.Signals(signum).name
    if published:
        msg = (f"bmlab: interrupted ({name}); new results were published before the signal "
               f"for: {', '.join(published)}; every other chapter keeps its previous results")
    else:
        msg = f"bmlab: interrupted ({name}); previous results are unchanged"
    return msg, 128 + signum


def main(argv: list[str] | None = None) -> int:
    from .claims import LedgerError
    from .runner import ChapterFailed, ManifestError, UsageError, handle_signals

    args = _parser().parse_args(argv)
    if args.command in ("run", "reproduce"):
        from .runner import quiet_asyncio

        quiet_asyncio()
    try:
        with handle_signals():
            return COMMANDS[args.command](args)
    except UsageError as exc:
        print(f"bmlab: error: {exc}", file=sys.stderr)
        return 2
    except ChapterFailed as exc:
        print(f"bmlab: error: {exc}\n  previous results (if any) are unchanged", file=sys.stderr)
        return 1
    except (LedgerError, ManifestError) as exc:
        print(f"bmlab: error: {str(exc).splitlines()[0]}", file=sys.stderr)
        return 1
    except RuntimeError as exc:
        print(f"bmlab: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt as exc:
        msg, status = _interrupted_message(exc)
        print("\n" + msg, file=sys.stderr)
        return status


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
