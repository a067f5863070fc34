"""The ``digest publish`` subcommand: its arguments, and what it prints (plan, summary)."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path

from digest.publish import Options, PublishResult, publish
from digest.publish.common import PublishPlan, shown

MAX_UPLOADS = 64
"""Most parallel uploads: `-j 100000` started a thread and a connection for each file."""


def _max_deletes(text: str) -> int:
    """``--max-deletes``: a count, or -1 for no cap (``-5`` lifted the cap as -1 does: the
    one safety against a mass delete, gone by a typo)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid count {text!r}: expected a number") from None
    if value < -1:
        raise argparse.ArgumentTypeError(f"invalid count {value}: expected 0 or more (or -1: no cap)")
    return value


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options of ``digest publish``."""
    p.add_argument("site", nargs="?", default=".", help="site folder (default: .)")
    p.add_argument("--to", required=True, metavar="TARGET",
                   help="file:///path, git+file|ssh|https://...repo.git#branch, or s3://bucket/prefix")
    p.add_argument("--dry-run", action="store_true",
                   help="print what would be uploaded, changed and deleted; change nothing")
    p.add_argument("--delete", action=argparse.BooleanOptionalAction, default=False,
                   help="delete target files the build no longer has (default: keep them)")
    p.add_argument("--max-deletes", type=_max_deletes, default=256, metavar="N",
                   help="with more stale files than N, delete none (default 256; -1: no cap)")
    p.add_argument("--force", action="store_true", help="delete even past --max-deletes")
    p.add_argument("--build", action=argparse.BooleanOptionalAction, default=True,
                   help="build the site first (default) or publish the output folder as it is")
    p.add_argument("--drafts", action="store_true", help="build with records marked published: false")
    p.add_argument("--squash", action="store_true",
                   help="git: replace the branch history with a single commit")
    p.add_argument("--endpoint-url", metavar="URL",
                   help="s3: an S3-compatible endpoint (R2, MinIO, SeaweedFS, ...)")
    p.add_argument("-j", "--jobs", type=int, default=min(16, 4 * (os.cpu_count() or 1)),
                   help="parallel uploads (s3)")
    p.add_argument("-v", "--verbose", action="store_true", help="list every file sent or deleted")


def _size(n: int) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n} B"


def _listing(plan: PublishPlan, verb_new: str, verb_changed: str, verb_delete: str) -> None:
    # One file a line whatever its name (`x\n  delete index.html` forged a line of the plan).
    for u in plan.uploads:
        print(f"  {verb_new if u.new else verb_changed:<10} {shown(u.path)}  ({_size(u.size)})")
    for path in plan.deletes:
        print(f"  {verb_delete:<10} {shown(path)}")


def run(args: argparse.Namespace, progress: Callable[[str, int, int], None],
        print_problems: Callable[[list], None]) -> int:
    """Carry out ``digest publish``; the exit code."""
    options = Options(delete=args.delete, max_deletes=args.max_deletes, force=args.force,
                      squash=args.squash, endpoint_url=args.endpoint_url,
                      jobs=max(1, min(args.jobs, MAX_UPLOADS)))
    try:
        result = publish(Path(args.site), args.to, options, build=args.build,
                         dry_run=args.dry_run, drafts=args.drafts, progress=progress)
    except KeyboardInterrupt:
        print("digest: publish interrupted; the target still serves a complete site; "
              "run the same command again to finish", file=sys.stderr)
        return 130
    if result.build is not None:
        print_problems(result.build.problems)
    report(result, options, args.verbose)
    return 1 if result.plan.capped else 0


def report(result: PublishResult, options: Options, verbose: bool = False) -> None:
    """Print what the publish did (or would do)."""
    plan = result.plan
    if result.build is not None:
        built = result.build
        print(f"Built {built.articles} articles: {built.written} files written, "
              f"{built.unchanged} unchanged, {built.removed} removed in {shown(built.out)}")
    new, changed = len(plan.new), len(plan.changed)
    if result.dry_run:
        print(f"Dry run: publishing {shown(result.out)} to {shown(plan.target)} would")
        _listing(plan, "upload", "change", "delete")
        print(f"Would upload {new + changed} files ({new} new, {changed} changed, "
              f"{_size(plan.bytes_to_send)}), leave {plan.unchanged} unchanged, "
              f"delete {len(plan.deletes)}. Nothing was changed.")
    else:
        if verbose:
            _listing(plan, "uploaded", "changed", "deleted")
        print(f"Published {shown(result.out)} to {shown(plan.target)}: {result.uploaded} uploaded ({new} new, "
              f"{changed} changed), {plan.unchanged} unchanged, {result.deleted} deleted; "
              f"{_size(result.bytes_sent)} sent in {result.seconds:.2f}s "
              f"({', '.join(f'{k} {v:.2f}s' for k, v in result.timings.items())}).")
    for note in plan.notes:
        print(f"Note: {note}.")
    if plan.capped:
        if verbose or result.dry_run:
            for path in plan.withheld:
                print(f"  {'withheld':<10} {shown(path)}")
        print(f"digest: refused to delete {len(plan.withheld)} stale files: more than "
              f"--max-deletes {options.max_deletes}; check the list with --dry-run, then rerun with "
              f"--max-deletes {len(plan.withheld)} or --force", file=sys.stderr)
    elif plan.withheld:
        print(f"{len(plan.withheld)} files on the target are no longer in the build; "
              "--delete removes them.")

