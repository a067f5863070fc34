#!/usr/bin/env python3
"""The load phase of a first build, step by step: is any step more than linear in the records?

Runs what `digest.load.load_content` runs, with no parse cache, and prints a table:
the walk of ``content/``, `parse_parallel` (wall and CPU per record, the workers' CPU apart
from the build process's, which gathers their results), `deduplicate`, and the distinct ids and
slugs. Run it at two sizes of the same corpus (``--limit``) to compare per-record costs:

    python benchmarks/bench_load.py /tmp/site-100000 --jobs 2 --limit 10000
    python benchmarks/bench_load.py /tmp/site-100000 --jobs 2

(Session 18 found the phase linear: the same instructions per record at 10k and 100k, see
BENCHMARKS.md.) The first run over files not in the page cache reads them from disk.
"""

from __future__ import annotations

import argparse
import gc
import resource
import time
from pathlib import Path

from digest.load import deduplicate, distinct_ids, distinct_slugs, parse_parallel, record_files


def _cpu(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("site", type=Path, help="a site folder (its content/ is read)")
    parser.add_argument("--jobs", type=int, default=2, help="worker processes (default 2)")
    parser.add_argument("--limit", type=int, default=0, help="only the first N record files (by path)")
    args = parser.parse_args()
    gc.disable()  # (as a build runs)
    site = args.site.resolve()

    started = time.perf_counter()
    items, _ = record_files(site, site / "content")
    if args.limit:
        items = items[:args.limit]
    walked = time.perf_counter()
    own, children = _cpu(resource.RUSAGE_SELF), _cpu(resource.RUSAGE_CHILDREN)
    parsed = parse_parallel(items, args.jobs)
    done = time.perf_counter()
    own, children = _cpu(resource.RUSAGE_SELF) - own, _cpu(resource.RUSAGE_CHILDREN) - children
    kept, _ = deduplicate([r.article for r in parsed if r.article is not None])
    deduplicated = time.perf_counter()
    distinct_slugs(distinct_ids(kept))
    finished = time.perf_counter()

    n = max(1, len(items))
    rows = [
        ("records", f"{len(items):,}"),
        ("walk s", f"{walked - started:.2f}"),
        ("parse wall s", f"{done - walked:.2f}"),
        ("parse wall ms per record", f"{(done - walked) / n * 1e3:.3f}"),
        ("workers' CPU ms per record", f"{children / n * 1e3:.3f}"),
        ("build process CPU s (gathering)", f"{own:.2f}"),
        ("deduplicate s", f"{deduplicated - done:.2f}"),
        ("distinct ids and slugs s", f"{finished - deduplicated:.2f}"),
        ("build process peak MiB", f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f}"),
    ]
    print("| step | value |\n|---|---:|")
    for name, value in rows:
        print(f"| {name} | {value} |")


if __name__ == "__main__":
    main()
