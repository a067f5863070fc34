#!/usr/bin/env python3
"""Record parsing measured in instructions, not seconds: one checkout against another on a noisy machine.

The machines here are shared and their clocks wander by half between two runs of the
same code, which hides a change of a few percent. Valgrind's instruction count does not
wander: this runs `parse_record` over the same records under ``valgrind --tool=cachegrind
--cache-sim=no`` for each checkout, once with no pass over them and once with one, and
prints the difference per record (imports and interpreter start cancel out).

    python benchmarks/parse_instructions.py /tmp/old-checkout . --records /tmp/digest-bench/site-10000/content --limit 300

Needs ``valgrind`` (Debian package ``valgrind``); about 15 s per checkout for 300 records.
Run ``python -m compileall digest`` in each checkout first where ``PYTHONDONTWRITEBYTECODE``
is set (a module compiled at every start is counted too, though it cancels out).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

_DRIVER = """
import sys
from pathlib import Path
from digest.load import RECORD_SUFFIXES, parse_record
folder, limit, passes = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
paths = sorted(p for p in folder.rglob("*") if p.suffix.lower() in RECORD_SUFFIXES and p.is_file()
               and p.name != "README.md")[:limit]
items = [(p.read_bytes(), p.relative_to(folder).as_posix()) for p in paths]
for _ in range(passes):
    for raw, source in items:
        parse_record(raw, source)
print(len(items))
"""


def instructions(checkout: Path, driver: Path, folder: Path, limit: int, passes: int) -> tuple[int, int]:
    """(instructions executed, records parsed) for one run of the driver under cachegrind."""
    env = {**os.environ, "PYTHONPATH": str(checkout)}
    run = subprocess.run(["valgrind", "--tool=cachegrind", "--cache-sim=no", "--cachegrind-out-file=/dev/null",
                          sys.executable, str(driver), str(folder), str(limit), str(passes)],
                         capture_output=True, text=True, env=env, check=True)
    found = re.search(r"I\s+refs:\s+([\d,]+)", run.stderr)
    if found is None:
        raise SystemExit(f"no instruction count from valgrind:\n{run.stderr[-2000:]}")
    return int(found.group(1).replace(",", "")), int(run.stdout.split()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("checkouts", nargs="+", type=Path, help="folders holding a `digest` package")
    parser.add_argument("--records", type=Path, default=Path("/tmp/digest-bench/site-10000/content"))
    parser.add_argument("--limit", type=int, default=300, help="records parsed (the first, by path)")
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind not found (apt-get install valgrind)")
    if not args.records.is_dir():
        raise SystemExit(f"no records folder {args.records}")
    with tempfile.TemporaryDirectory() as scratch:
        driver = Path(scratch) / "driver.py"
        driver.write_text(_DRIVER, encoding="utf-8")
        print(f"records: {args.records} (the first {args.limit})")
        print("| checkout | instructions per record | change against the first |")
        print("|---|---:|---:|")
        first = None
        for checkout in args.checkouts:
            base, _ = instructions(checkout.resolve(), driver, args.records, args.limit, 0)
            total, count = instructions(checkout.resolve(), driver, args.records, args.limit, 1)
            per = (total - base) / count
            first = first or per
            print(f"| {checkout} | {per / 1e6:.2f}M | {per / first - 1:+.1%} |")


if __name__ == "__main__":
    main()
