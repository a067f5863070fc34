"""The ``digest publish`` subcommand: what it runs and prints (plan, summary); its arguments are in `digest.cli`."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from digest.publish import Options, PublishResult, publish
from digest.publish.common import PublishPlan, shown

MAX_UPLOADS = 64
"""Most parallel uploads: `-j 100000` started a thread and a connection for each file."""


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
                         dry_run=args.dry_run, drafts=args.drafts, progress=progress,
                         warn=print_problems)  # (before anything is sent)
    except KeyboardInterrupt:
        print("digest: publish interrupted; the target still serves a complete site; "
              "run the same command again to finish", file=sys.stderr)
        return 130
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

