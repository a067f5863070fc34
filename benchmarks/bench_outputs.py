#!/usr/bin/env python3
"""Syndication benchmark: plan and render time per output kind, and Pagefind indexing time.

Generates a corpus with ``../shared/tools/gen_corpus.py --image-ratio 0`` (cached in
``$DIGEST_BENCH_DIR``, default ``/tmp/digest-bench``), loads it, then measures in
one process (one core, so kinds compare fairly):

- planning: the whole `plan_site`, and `feeds.plan_feeds` alone (feeds + OPML + API);
- rendering each output kind to bytes (``render_page``), with file count and size;
- a full ``digest build`` into a fresh folder, then the Pagefind indexing step alone.

    python benchmarks/bench_outputs.py --records 10000 --runs 3
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from digest.build import build  # noqa: E402
from digest.config import load_config  # noqa: E402
from digest.feeds import plan_feeds  # noqa: E402
from digest.load import load_content  # noqa: E402
from digest.plan import _day_name, _Planner, build_editions, plan_site, select  # noqa: E402
from digest.render import make_environment, render_page  # noqa: E402
from digest.search import index_site  # noqa: E402

SHARED = ROOT.parent / "shared"
WORK = Path(os.environ.get("DIGEST_BENCH_DIR", "/tmp/digest-bench"))

GROUPS = {
    "feed-rss": "RSS feeds", "feed-atom": "Atom feeds", "feed-json": "JSON Feeds", "opml": "OPML",
    "api": "JSON API", "sitemap": "sitemap", "robots": "robots.txt",
    "topic": "topic listings", "source": "source listings", "edition": "edition pages",
    "archive": "archive listings", "article": "article pages",
}


def site_for(records: int) -> Path:
    corpus = WORK / f"corpus-{records}"
    if not (corpus / "articles").is_dir():
        shutil.rmtree(corpus, ignore_errors=True)
        subprocess.run([sys.executable, str(SHARED / "tools" / "gen_corpus.py"), "--records", str(records),
                        "--out", str(corpus), "--image-ratio", "0"], check=True, stdout=subprocess.DEVNULL)
    site = WORK / f"outputs-site-{records}"
    if not (site / "content").is_dir():
        site.mkdir(parents=True, exist_ok=True)
        shutil.copytree(corpus, site / "content")
        (site / "digest.toml").write_text('title = "Bench"\nbase_url = "https://bench.example.org/"\n'
                                          "api_min_heat = 100\n")
    return site


def median_time(fn, runs: int) -> tuple[float, object]:
    times, value = [], None
    for _ in range(runs):
        start = time.perf_counter()
        value = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=10000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    site = site_for(args.records)
    config = load_config(site)
    loaded = load_content(site, site / "content", os.cpu_count() or 1)
    articles = list(loaded.articles)

    plan_s, plan = median_time(lambda: plan_site(articles, config), args.runs)
    shown = sorted(select(articles, config), key=lambda a: a.id)

    def feeds_only():
        planner = _Planner(shown, config, {}, {})
        return plan_feeds(planner, build_editions(shown, config), config, _day_name)

    feeds_s, _ = median_time(feeds_only, args.runs)

    env = make_environment(site)
    by_kind = defaultdict(list)
    for spec in plan.pages:
        by_kind[spec.kind].append(spec)
    rows = []
    for kind, label in GROUPS.items():
        pages = by_kind.get(kind, [])
        if not pages:
            continue
        seconds, size = median_time(lambda pages=pages: sum(len(render_page(env, p)) for p in pages), args.runs)
        rows.append((label, len(pages), size, seconds))

    out = WORK / f"outputs-build-{args.records}"
    shutil.rmtree(out, ignore_errors=True)
    result = build(site, out=out)
    index_s, _ = median_time(lambda: index_site(out, config, changed=True), args.runs)
    pagefind_mb = sum(p.stat().st_size for p in (out / "pagefind").rglob("*") if p.is_file()) / 2**20

    print(f"\n{args.records} records, {plan.articles.__len__()} on the site; median of {args.runs} runs; "
          f"one process unless noted\n")
    print("| step | files | MB | seconds | ms per file |")
    print("|---|---:|---:|---:|---:|")
    print(f"| plan_site (all pages) | {len(plan.pages)} | | {plan_s:.2f} | |")
    print(f"| plan_feeds (feeds, OPML, JSON API) | | | {feeds_s:.2f} | |")
    for label, count, size, seconds in rows:
        print(f"| render {label} | {count} | {size / 2**20:.1f} | {seconds:.2f} | {1000 * seconds / count:.2f} |")
    print(f"| Pagefind indexing (whole site, its own threads) | {sum(1 for _ in (out / 'pagefind').rglob('*'))} "
          f"| {pagefind_mb:.1f} | {index_s:.2f} | |")
    phases = ", ".join(f"{k} {v:.2f}s" for k, v in result.timings.items())
    print(f"\nfull cold `build()` with {os.cpu_count()} workers: {phases}")


if __name__ == "__main__":
    main()
