#!/usr/bin/env python3
"""Render-phase benchmarks: in-process page rendering and staging, and cold builds.

``inprocess`` loads and plans a site once, then times (CPU seconds, best of
``--runs``) rendering every page to bytes and rendering plus staging every page
into a fresh staging folder with one process: the cost of `digest.render` and
`digest.write` alone. ``cold`` copies the site, sets ``search = false`` and runs
``digest build SITE -j N`` as separate processes from a cold cache, printing the
median render-phase and wall seconds. ``--digest`` prints one digest of a build
folder's every file (path and bytes), to compare two builds.

    python benchmarks/bench_render.py inprocess /tmp/digest-bench/site-10000
    python benchmarks/bench_render.py cold /tmp/digest-bench/site-10000 --jobs 1,2 --runs 3
    python benchmarks/bench_render.py digest /tmp/r10k/build
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def tree_digest(folder: Path) -> tuple[str, int]:
    """One BLAKE2b digest of every file's relative path and bytes (sorted), and the file count."""
    h = hashlib.blake2b(digest_size=16)
    count = 0
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames.sort()
        for name in sorted(filenames):
            path = Path(dirpath) / name
            h.update(path.relative_to(folder).as_posix().encode() + b"\0")
            h.update(hashlib.blake2b(path.read_bytes(), digest_size=16).digest())
            count += 1
    return h.hexdigest(), count


def copy_site(site: Path, into: Path) -> Path:
    target = into / "site"
    shutil.copytree(site, target, ignore=shutil.ignore_patterns("build", ".digest-cache"))
    toml = target / "digest.toml"
    text = toml.read_text() if toml.exists() else ""
    text = re.sub(r"(?m)^search\s*=.*$", "", text) + "\nsearch = false\n"
    toml.write_text(text)
    return target


def inprocess(site: Path, runs: int) -> None:
    from digest.config import load_config
    from digest.load import load_content
    from digest.plan import plan_site
    from digest.render import make_environment, render_all, render_page
    from digest.write import Staging

    gc.disable()
    config = load_config(site)
    loaded = load_content(site, site / "content", 1)
    plan = plan_site(loaded.articles, config, images={}, drafts=False, related_state=None, search=False)
    pages = plan.pages
    env = make_environment(site)
    for name in sorted({p.template for p in pages if not p.template.startswith("json:")}):
        env.get_template(name)
    by_kind: dict[str, float] = {}
    best_render = best_stage = (float("inf"), 0.0, 0.0)
    for _ in range(runs):
        start = os.times()
        for spec in pages:
            t0 = time.process_time()
            render_page(env, spec)
            by_kind[spec.kind] = by_kind.get(spec.kind, 0.0) + time.process_time() - t0
        end = os.times()
        best_render = min(best_render, (end.user + end.system - start.user - start.system,
                                        end.user - start.user, end.system - start.system))
        with tempfile.TemporaryDirectory(dir="/tmp") as tmp:
            out, staging = Path(tmp) / "out", Path(tmp) / "staging"
            start = os.times()
            render_all(site, env, pages, ["k"] * len(pages), out, Staging(staging, flat=False), {}, 1)
            end = os.times()
            best_stage = min(best_stage, (end.user + end.system - start.user - start.system,
                                          end.user - start.user, end.system - start.system))
    print(f"{len(pages)} pages, best of {runs}, CPU s (user + sys): render only {best_render[0]:.2f}"
          f" ({best_render[1]:.2f} + {best_render[2]:.2f}), render + stage {best_stage[0]:.2f}"
          f" ({best_stage[1]:.2f} + {best_stage[2]:.2f})")
    for kind, seconds in sorted(by_kind.items(), key=lambda kv: -kv[1]):
        print(f"  {kind:14} {seconds / runs:6.2f} s (mean per run)")


def cold(site: Path, jobs: list[int], runs: int) -> None:
    exe = str(Path(sys.executable).parent / "digest")
    with tempfile.TemporaryDirectory(dir="/tmp") as tmp:
        copy = copy_site(site, Path(tmp))
        print("| -j | render s (median) | total s (median) | wall s (median) | runs (render) |")
        print("|---:|---:|---:|---:|---|")
        for n in jobs:
            renders, totals, walls = [], [], []
            for _ in range(runs):
                shutil.rmtree(copy / ".digest-cache", ignore_errors=True)
                shutil.rmtree(copy / "build", ignore_errors=True)
                start = time.perf_counter()
                proc = subprocess.run([exe, "build", str(copy), "-j", str(n)], capture_output=True, text=True)
                walls.append(time.perf_counter() - start)
                if proc.returncode != 0:
                    sys.exit(proc.stdout + proc.stderr)
                line = next(x for x in proc.stdout.splitlines() if x.startswith("Time:"))
                renders.append(float(re.search(r"render ([\d.]+)s", line).group(1)))
                totals.append(float(re.search(r"total ([\d.]+)s", line).group(1)))
            print(f"| {n} | {statistics.median(renders):.2f} | {statistics.median(totals):.2f} "
                  f"| {statistics.median(walls):.2f} | {', '.join(f'{r:.2f}' for r in renders)} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=["inprocess", "cold", "digest"])
    parser.add_argument("path", type=Path)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--jobs", default="1,2")
    args = parser.parse_args()
    if args.mode == "inprocess":
        inprocess(args.path.resolve(), args.runs)
    elif args.mode == "cold":
        cold(args.path.resolve(), [int(j) for j in args.jobs.split(",")], args.runs)
    else:
        digest, count = tree_digest(args.path)
        print(f"{digest}  {count} files")


if __name__ == "__main__":
    main()
