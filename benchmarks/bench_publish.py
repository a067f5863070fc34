#!/usr/bin/env python3
"""Publish benchmarks: a large site to a local S3 server (SeaweedFS), cold, no-op, one edit.

Generates a corpus with ``../shared/tools/gen_corpus.py``, builds it once, starts
``weed mini`` on loopback (the same launcher the tests use) and times
``digest publish --no-build --to s3://...`` as a separate process for: a cold
publish into an empty bucket, a re-publish with nothing changed, and a re-publish
after one record's excerpt was edited (rebuild timed separately). Prints a table
of wall seconds, files uploaded and bytes sent.

    python benchmarks/bench_publish.py --records 10000 [--image-ratio 0] [--jobs 8]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
WORK = Path(os.environ.get("DIGEST_BENCH_DIR", "/tmp/digest-bench-publish"))
sys.path.insert(0, str(ROOT))

from tests.test_publish_s3 import SeaweedServer  # noqa: E402

SUMMARY = re.compile(r"(\d+) uploaded .*?(\d+) unchanged, (\d+) deleted; ([\d.]+ \w+) sent")


def timed(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, str]:
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"command failed: {' '.join(cmd)}\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return wall, done.stdout


def make_site(records: int, image_ratio: float) -> Path:
    corpus = WORK / f"corpus-{records}-{image_ratio}"
    if not (corpus / "articles").is_dir():
        shutil.rmtree(corpus, ignore_errors=True)
        subprocess.run([sys.executable, str(SHARED / "tools" / "gen_corpus.py"), "--records",
                        str(records), "--out", str(corpus), "--image-ratio", str(image_ratio)],
                       check=True, stdout=subprocess.DEVNULL)
    site = WORK / f"site-{records}"
    shutil.rmtree(site, ignore_errors=True)
    site.mkdir(parents=True)
    shutil.copytree(corpus, site / "content")
    (site / "digest.toml").write_text('title = "Bench"\nbase_url = "https://bench.example.org/"\n')
    return site


def edit_one(site: Path) -> None:
    path = sorted((site / "content" / "articles").rglob("*.md"))[len(list(
        (site / "content" / "articles").rglob("*.md"))) // 2]
    text = path.read_text(encoding="utf-8")
    text = re.sub(r"^excerpt: .*$", 'excerpt: "An edited excerpt for the publish benchmark."',
                  text, count=1, flags=re.M)
    path.write_text(text, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=10000)
    parser.add_argument("--image-ratio", type=float, default=0.0)
    parser.add_argument("--jobs", type=int, default=8)
    args = parser.parse_args()
    if not SHARED.is_dir():
        sys.exit("../shared is not beside the repository")
    digest = [sys.executable, "-m", "digest"]
    site = make_site(args.records, args.image_ratio)
    build_s, _ = timed([*digest, "build", str(site)])
    files = [p for p in (site / "build").rglob("*") if p.is_file()]
    size = sum(p.stat().st_size for p in files)
    print(f"site: {args.records} records -> {len(files)} files, {size / 1e6:.1f} MB "
          f"(cold build {build_s:.1f}s)")

    server = SeaweedServer()
    reason = server.start()
    if reason:
        server.stop()
        sys.exit(f"SeaweedFS could not start: {reason}")
    try:
        server.client().create_bucket(Bucket="bench")
        publish = [*digest, "publish", str(site), "--no-build", "--to", "s3://bench/site",
                   "--endpoint-url", server.endpoint, "--delete", "-j", str(args.jobs)]
        rows = []
        for label, before in [("cold (empty bucket)", None), ("no change", None),
                              ("one record edited", "edit")]:
            rebuild = ""
            if before == "edit":
                edit_one(site)
                wall, _ = timed([*digest, "build", str(site)])
                rebuild = f"(rebuild {wall:.1f}s)"
            wall, out = timed(publish, server.env())
            match = SUMMARY.search(out)
            uploaded, unchanged, deleted, sent = match.groups() if match else ("?",) * 4
            rows.append((label, wall, uploaded, unchanged, deleted, sent, rebuild))
        print("\n| scenario | wall s | uploaded | unchanged | deleted | sent | note |")
        print("|---|---:|---:|---:|---:|---:|---|")
        for label, wall, up, same, gone, sent, note in rows:
            print(f"| {label} | {wall:.2f} | {up} | {same} | {gone} | {sent} | {note} |")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
