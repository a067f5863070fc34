#!/usr/bin/env python3
"""Record parsing: `parse_record` ms/record with the C YAML path forced and with `digest.yamlfast`.

Reads every record of each folder into memory, then times `parse_record` over all of
them, alternating the two modes ``--runs`` times and keeping each mode's best run
(the machine is shared; the best run is the least disturbed). Also times
`load_yaml` alone and counts how many front matters the fast path accepts.

    python benchmarks/bench_parse.py                       # the two default corpora
    python benchmarks/bench_parse.py --runs 7 DIR [DIR...]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from unittest import mock

from digest import yamlfast
from digest.load import RECORD_SUFFIXES, _Loader, load_yaml, parse_record, split_front_matter

ROOT = Path(__file__).resolve().parent.parent
DEFAULTS = (
    ROOT.parent / "shared" / "real-records" / "everyday-cc-powerapps",
    Path("/tmp/digest-bench/site-10000/content"),
)


def records(folder: Path) -> list[tuple[bytes, str]]:
    paths = sorted(p for p in folder.rglob("*") if p.suffix.lower() in RECORD_SUFFIXES and p.is_file()
                   and p.name != "README.md")
    return [(p.read_bytes(), p.relative_to(folder).as_posix()) for p in paths]


def front_matters(items: list[tuple[bytes, str]]) -> list[str]:
    out = []
    for raw, _ in items:
        text = raw.decode("utf-8-sig", errors="replace").replace("\r\n", "\n").replace("\r", "\n")
        parts = split_front_matter(text)
        if parts is not None:
            out.append(parts[0])
    return out


def seconds(fn, items) -> float:
    start = time.perf_counter()
    for item in items:
        fn(*item)
    return time.perf_counter() - start


def measure(items: list[tuple[bytes, str]], runs: int) -> dict[str, float]:
    fronts = [(f,) for f in front_matters(items)]
    declined = mock.patch.object(yamlfast, "load", lambda text, loader=None: yamlfast.DECLINE)
    best = {"parse C": float("inf"), "parse fast": float("inf"),
            "yaml C": float("inf"), "yaml fast": float("inf")}
    for _ in range(runs):
        with declined:
            best["parse C"] = min(best["parse C"], seconds(parse_record, items))
            best["yaml C"] = min(best["yaml C"], seconds(load_yaml, fronts))
        best["parse fast"] = min(best["parse fast"], seconds(parse_record, items))
        best["yaml fast"] = min(best["yaml fast"], seconds(load_yaml, fronts))
    with declined:
        before = [parse_record(raw, source) for raw, source in items]
    after = [parse_record(raw, source) for raw, source in items]
    assert before == after, "the fast path changed a parse result"
    accepted = sum(yamlfast.load(f, _Loader) is not yamlfast.DECLINE for (f,) in fronts)
    out = {key: value / len(fronts if key.startswith("yaml") else items) * 1000 for key, value in best.items()}
    out["accepted"] = accepted / len(fronts) * 100 if fronts else 0.0
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("folders", nargs="*", type=Path, default=list(DEFAULTS))
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    print("| corpus | records | parse_record ms, C path | parse_record ms, fast path | speed-up "
          "| load_yaml ms, C | load_yaml ms, fast | fast path accepts |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for folder in args.folders:
        if not folder.is_dir():
            print(f"| {folder} | absent | | | | | | |")
            continue
        items = records(folder)
        r = measure(items, args.runs)
        print(f"| {folder} | {len(items):,} | {r['parse C']:.3f} | {r['parse fast']:.3f} "
              f"| {r['parse C'] / r['parse fast']:.2f}x | {r['yaml C']:.3f} | {r['yaml fast']:.3f} "
              f"| {r['accepted']:.1f}% |")


if __name__ == "__main__":
    main()
