#!/usr/bin/env python3
"""Thumbnail benchmark: cold source images per second, and the warm rebuild's image time.

Generates a ``../shared/tools/gen_corpus.py`` corpus with cached images (default
2,000 records, about 2,250 image files of up to 1200 px: JPEG incl. progressive,
CMYK and EXIF-rotated ones, PNG with alpha and palettes, WebP, animated GIF), then
runs ``digest build`` as a separate process:

* cold: no cache, no output folder: every thumbnail is decoded and encoded;
* warm: the same site again after touching one record (so the whole pipeline runs;
  an untouched site returns before the images phase): nothing may be decoded or encoded.

It reports, from the build's own summary line, the images phase's wall time, the
source images and thumbnails per second, plus the whole build's CPU seconds (the
process and its workers). The machine's load average is printed beside the
numbers: other work on the machine slows the cold figure down. So the images phase
is also run alone, in this process (``--phase``), counting the CPU seconds of its
workers: CPU seconds per source image is the figure that does not depend on what
else the machine is doing (``cores / cpu_per_image`` is the uncontended rate).

    python benchmarks/bench_images.py --records 2000 --runs 2 --warm-runs 3
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
WORK = Path(os.environ.get("DIGEST_BENCH_DIR", "/tmp/digest-bench"))
SUMMARY = re.compile(r"Thumbnails: (\d+) planned from (\d+) images, (\d+) reused, (\d+) encoded, "
                     r"(\d+) images failed \(([\d.]+)s\)")


def corpus(records: int) -> Path:
    """A site folder whose ``content/`` is a generated corpus with images (made once)."""
    site = WORK / f"images-{records}"
    content = site / "content"
    if not (content / "images").is_dir():
        shutil.rmtree(site, ignore_errors=True)
        site.mkdir(parents=True)
        subprocess.run([sys.executable, str(SHARED / "tools" / "gen_corpus.py"),
                        "--records", str(records), "--out", str(content)], check=True)
    return site


def build(site: Path, jobs: int) -> dict[str, float]:
    """One ``digest build``; the numbers of its thumbnail summary plus wall and CPU seconds."""
    cmd = [sys.executable, "-m", "digest", "build", str(site), "-j", str(jobs)]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    out = proc.stdout.read().decode(errors="replace")
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"build failed:\n{out[-2000:]}")
    match = SUMMARY.search(out)
    if not match:
        sys.exit(f"no thumbnail summary in:\n{out}")
    planned, sources, reused, encoded, failed = (int(g) for g in match.groups()[:5])
    return {"planned": planned, "sources": sources, "reused": reused, "encoded": encoded,
            "failed": failed, "images_s": float(match.group(6)), "wall": wall,
            "cpu": usage.ru_utime + usage.ru_stime}


def phase_only(site: Path, jobs: int) -> dict[str, float]:
    """The images phase alone, cold (empty store, empty output): wall and CPU seconds."""
    sys.path.insert(0, str(ROOT))
    from digest.config import load_config
    from digest.images import build_images
    from digest.load import load_content
    from digest.write import Staging

    config = load_config(site)
    loaded = load_content(site, site / "content", jobs)
    out, staging = WORK / "phase-out", WORK / "phase-staging"
    for folder in (out, staging, site / ".digest-cache" / "thumbs"):
        shutil.rmtree(folder, ignore_errors=True)
    before = [resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
    start = time.perf_counter()
    result = build_images(site, loaded.articles, config, False, out, Staging(staging, flat=False), {}, None,
                          jobs)
    wall = time.perf_counter() - start
    after = [resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
    cpu = sum(a.ru_utime + a.ru_stime - b.ru_utime - b.ru_stime for a, b in zip(after, before, strict=True))
    shutil.rmtree(staging, ignore_errors=True)
    return {"wall": wall, "cpu": cpu, "sources": result.counts.sources,
            "encoded": result.counts.encoded}


def clean(site: Path) -> None:
    shutil.rmtree(site / "build", ignore_errors=True)
    shutil.rmtree(site / ".digest-cache", ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=2, help="cold builds (median reported)")
    parser.add_argument("--warm-runs", type=int, default=3, help="warm rebuilds (median reported)")
    parser.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--phase", action="store_true", help="also time the images phase alone")
    args = parser.parse_args()
    if not (SHARED / "tools" / "gen_corpus.py").is_file():
        sys.exit(f"needs {SHARED}/tools/gen_corpus.py")
    site = corpus(args.records)
    print(f"corpus: {args.records} records in {site}; {os.cpu_count()} cores, -j {args.jobs}")

    cold = []
    for _ in range(args.runs):
        clean(site)
        load = os.getloadavg()[0]
        cold.append(build(site, args.jobs))
        cold[-1]["load"] = load
    record = min((site / "content" / "articles").rglob("*.md"))
    warm = []
    for _ in range(args.warm_runs):
        os.utime(record)  # a new mtime: the build cannot take its no-op shortcut
        warm.append(build(site, args.jobs))
    if any(w["encoded"] for w in warm):
        sys.exit("a warm rebuild encoded thumbnails")

    def median(rows: list[dict[str, float]], key: str) -> float:
        return statistics.median(r[key] for r in rows)

    c = cold[0]
    print(f"source images {c['sources']}, thumbnails {c['planned']}, failed (odd files) {c['failed']}")
    print("| scenario | images phase s | source images/s | thumbnails/s | build wall s | build CPU s | load avg |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    images_s = median(cold, "images_s")
    print(f"| cold | {images_s:.2f} | {c['sources'] / images_s:.1f} | {c['encoded'] / images_s:.1f} "
          f"| {median(cold, 'wall'):.2f} | {median(cold, 'cpu'):.2f} | {median(cold, 'load'):.1f} |")
    print(f"| warm (one record touched) | {median(warm, 'images_s'):.3f} | - | - | {median(warm, 'wall'):.2f} "
          f"| {median(warm, 'cpu'):.2f} | {os.getloadavg()[0]:.1f} |")
    if args.phase:
        load = os.getloadavg()[0]
        p = phase_only(site, args.jobs)
        per_image = p["cpu"] / p["sources"]
        print(f"\nimages phase alone, cold: {p['wall']:.2f} s wall, {p['cpu']:.2f} CPU s for "
              f"{p['sources']} source images ({p['encoded']} thumbnails): {p['sources'] / p['wall']:.1f} "
              f"images/s measured at load {load:.1f}; {per_image * 1000:.1f} CPU ms per image = "
              f"{(os.cpu_count() or 1) / per_image:.1f} images/s on {os.cpu_count()} idle cores")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
