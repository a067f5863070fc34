"""Benchmark: rebuilds by ``digest build --watch`` (a warm process) against ``digest build`` commands.

For each corpus size, two copies of the corpus: one is built by a ``digest build`` command
per change, the other by one ``digest build --watch`` process started on it (its first build
is the cold build). Each round makes the same change to both (one after the other, never at
once: two cores) and measures

- **command**: the command's wall time (interpreter start, reading the cache back, the build);
- **watch**: from just before the change is written until the watching process prints its
  build's line (the file-system event, the quiet period of 0.08 s, the build), and the
  build's own seconds as it prints them.

The scenarios are `bench_build.py`'s: ``edit 1`` (the newest record's title), ``edit 1 old``
(the middle record's), ``add 10`` (ten new records like the newest). At the end the watching
process is stopped with SIGTERM (its exit status must be 130) and its peak memory is read.

Usage::

    .venv/bin/python benchmarks/bench_watch.py --sizes 1000 10000 [--rounds 5]

Corpora come from ``../shared/tools/gen_corpus.py`` (``--image-ratio 0``), kept in
``/tmp/digest-bench`` as `bench_build.py` keeps them; ``search = false`` (as its ``--no-search``).
"""

from __future__ import annotations

import argparse
import os
import queue
import re
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_build import WORK, add_ten, corpus, edit_old, edit_one, run  # noqa: E402

SCENARIOS = {"edit 1": edit_one, "edit 1 old": edit_old, "add 10": add_ten}
TIMEOUT = 600.0
SETTLE = 0.3
"""After a build's line, how long to wait for another (a change seen in two builds counts both)."""


def site_copy(size: int, name: str) -> Path:
    site = WORK / f"watch-{size}-{name}"
    shutil.rmtree(site, ignore_errors=True)
    site.mkdir(parents=True)
    shutil.copytree(corpus(size), site / "content")
    (site / "digest.toml").write_text('title = "Bench"\nbase_url = "https://bench.example.org/"\nsearch = false\n')
    return site


class Watching:
    """A ``digest build --watch`` process and the build lines it prints."""

    def __init__(self, site: Path):
        self.proc = subprocess.Popen([sys.executable, "-m", "digest", "build", "--watch", str(site)],
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self.lines: queue.Queue[tuple[float, str]] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.put((time.perf_counter(), line.rstrip("\n")))

    def next_build(self, timeout: float = TIMEOUT) -> tuple[float, float]:
        """When the next build line came, and the build's seconds; then any build right after."""
        when, line = self._line(timeout)
        seconds = _seconds(line)
        while True:
            try:
                when, line = self._line(SETTLE)
            except TimeoutError:
                return when, seconds
            seconds += _seconds(line)

    def _line(self, timeout: float) -> tuple[float, str]:
        try:
            when, line = self.lines.get(timeout=timeout)
        except queue.Empty:
            raise TimeoutError from None
        if " failed " in line:
            sys.exit(f"a watching build failed: {line}")
        return when, line

    def stop(self) -> tuple[int, float]:
        """SIGTERM; the exit status and the peak memory (MiB) of the process."""
        with open(f"/proc/{self.proc.pid}/status") as status:
            peak = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:")) / 1024
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=TIMEOUT), peak


def _seconds(line: str) -> float:
    found = re.search(r" in ([0-9.]+)s \(", line)
    if found is None:
        sys.exit(f"not a build line: {line!r}")
    return float(found.group(1))


def bench(size: int, rounds: int) -> tuple[list[tuple[str, float, float, float]], float]:
    command_site, watch_site = site_copy(size, "command"), site_copy(size, "watch")
    cold_command = run([sys.executable, "-m", "digest", "build", str(command_site)])[0]
    start = time.perf_counter()
    watching = Watching(watch_site)
    cold_watch = watching.next_build()[0] - start
    rows = [("cold", cold_command, cold_watch, cold_watch)]
    n = 0
    for name, change in SCENARIOS.items():
        command, latency, built = [], [], []
        for _ in range(rounds):
            n += 1
            change(command_site, n)
            command.append(run([sys.executable, "-m", "digest", "build", str(command_site)])[0])
            t0 = time.perf_counter()
            change(watch_site, n)
            when, seconds = watching.next_build()
            latency.append(when - t0)
            built.append(seconds)
        rows.append((name, statistics.median(command), statistics.median(latency), statistics.median(built)))
    code, peak = watching.stop()
    if code != 130:
        sys.exit(f"digest build --watch exited {code}, not 130")
    return rows, peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    os.environ.setdefault("PYTHONDONTWRITEBYTECODE", "1")
    print("| records | scenario | command wall s | watch: change to built s | watch: build s | command / watch |")
    print("|---:|---|---:|---:|---:|---:|")
    peaks = []
    for size in args.sizes:
        rows, peak = bench(size, args.rounds)
        peaks.append(f"{size:,} records {peak:.0f} MiB")
        for name, command, latency, built in rows:
            print(f"| {size:,} | {name} | {command:.2f} | {latency:.2f} | {built:.2f} | {command / latency:.1f}x |",
                  flush=True)
    print(f"\nPeak memory of the watching process: {'; '.join(peaks)}.")


if __name__ == "__main__":
    main()
