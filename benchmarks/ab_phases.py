#!/usr/bin/env python3
"""Two checkouts' first builds, phase by phase, interleaved: the records parsed already.

A first build's planning and rendering, without its parsing (10 s of a 10,000-record build,
and the noisiest phase here): each checkout gets its own copy of SITE, built once by it so
that its records cache is full; then every round builds each copy again, one checkout after
the other, into a new output folder. A new output folder has no manifest, saved plan, page
keys or related lists (they are kept per output folder), so everything but the parsing is
done as in a first build. Nothing is deleted while anything is timed (see `settle` in
`bench_build.py`: deleting files makes creating files slow here for a minute).

    python benchmarks/ab_phases.py /tmp/old-checkout . /tmp/digest-bench/site-10000 --rounds 4

Prints each round's phase times (the build's own ``Time:`` line) and the medians, with the
change of each from the first checkout to the second. Run ``python -m compileall digest`` in
each checkout first where ``PYTHONDONTWRITEBYTECODE`` is set.
"""

from __future__ import annotations

import argparse
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

PHASE = re.compile(r"(\w+) ([\d.]+)s")


def build(checkout: Path, site: Path, out: Path) -> dict[str, float]:
    """One build of ``site`` into ``out`` by the code in ``checkout``: its phase times."""
    # (From the checkout: `python -m digest` puts the current folder first on sys.path.)
    run = subprocess.run([sys.executable, "-m", "digest", "build", str(site), "-o", str(out)],
                         cwd=checkout, capture_output=True, text=True)
    if run.returncode != 0:
        raise SystemExit(f"build by {checkout} failed:\n{run.stdout}{run.stderr}")
    line = next(x for x in run.stdout.splitlines() if x.startswith("Time:"))
    return {name: float(seconds) for name, seconds in PHASE.findall(line)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("first", type=Path, help="a folder holding a `digest` package")
    parser.add_argument("second", type=Path)
    parser.add_argument("site", type=Path, help="a site folder (its build and cache are not used)")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--work", type=Path, default=None, help="where the copies go (default: a temporary folder)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="ab-phases-", dir=args.work))
    checkouts = [args.first.resolve(), args.second.resolve()]
    sites = []
    for n, _ in enumerate(checkouts):
        copy = work / f"site-{n}"
        shutil.copytree(args.site, copy, ignore=shutil.ignore_patterns("build", ".digest-cache"))
        sites.append(copy)
    for n, checkout in enumerate(checkouts):  # (the records cache filled)
        build(checkout, sites[n], work / f"out-{n}-0")
    times: list[list[dict[str, float]]] = [[], []]
    phases: list[str] = []
    for round_ in range(1, args.rounds + 1):
        for n, checkout in enumerate(checkouts):
            found = build(checkout, sites[n], work / f"out-{n}-{round_}")
            times[n].append(found)
            phases = phases or list(found)
            print(f"round {round_}, {checkout}: " + ", ".join(f"{k} {v:.2f}" for k, v in found.items()), flush=True)
    print(f"\n| phase | {checkouts[0]} s | {checkouts[1]} s | change |")
    print("|---|---:|---:|---:|")
    for phase in phases:
        a = statistics.median(t.get(phase, 0.0) for t in times[0])
        b = statistics.median(t.get(phase, 0.0) for t in times[1])
        change = f"{b / a - 1:+.0%}" if a >= 0.05 else ""
        print(f"| {phase} | {a:.2f} | {b:.2f} | {change} |")
    print(f"\n(medians of {args.rounds} rounds; outputs in {work}, delete it when nothing is being timed)")


if __name__ == "__main__":
    main()
