"""Benchmark: save-to-reload latency of ``digest serve`` on generated corpora.

For each corpus size the benchmark builds the site once (cold), starts a real preview
server on a free 127.0.0.1 port with its watchdog watcher, keeps an event-stream
client connected like an open page, then edits one record at a time (its excerpt, so
the article's URL stays put) and measures, from just before the file is written:

- **event**: until the reload event arrives (debounce + incremental build + swap);
- **page**: until a fresh GET of the article page returns the new text.

With ``--add``, each round saves a NEW record file instead (a copy of the newest record
with its own title and webUrl: it joins that record's day, topics and source, as a
curator's daily additions do), and **page** is until the new article's page is served;
the added files are removed when the server stops.

With ``--remove``, each round deletes one record file instead (a published one, spread
over the archive as the edited ones are, or among the newest with ``--newest``), and
**page** is until its article's page answers 404; the deleted files are written back
when the server stops.

Usage::

    .venv/bin/python benchmarks/bench_serve.py --records 1000 10000 [--edits 5] [--field title] [--newest] [--back-to-back] [--add | --remove]

Corpora come from ``../shared/tools/gen_corpus.py`` (``--image-ratio 0``) and are
kept in ``--work`` (default ``/tmp/digest-bench-serve``) for reuse.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from markupsafe import escape  # noqa: E402

from digest.serve import running  # noqa: E402

GEN = ROOT.parent / "shared" / "tools" / "gen_corpus.py"
TIMEOUT = 120.0


def corpus(work: Path, records: int) -> Path:
    """A site folder with ``records`` generated records (made once, then reused)."""
    site = work / f"site-{records}"
    if not (site / "content" / "articles").is_dir():
        if not GEN.is_file():
            sys.exit(f"needs {GEN} (the shared tools beside the repository)")
        site.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, str(GEN), "--records", str(records), "--out",
                        str(site / "content"), "--image-ratio", "0"], check=True,
                       stdout=subprocess.DEVNULL)
        (site / "digest.toml").write_text('title = "Benchmark"\nbase_url = "http://localhost:8000/"\n')
    return site


def article_page(out: Path, record: Path) -> Path:
    """The built page of a (published) record, found by its date folder and title."""
    text = record.read_text(encoding="utf-8")
    title = json.loads(re.search(r'^title: (".*")$', text, re.M).group(1))
    day = re.search(r"^publishedDateTime: (\d{4})-(\d\d)-(\d\d)", text, re.M).groups()
    # The heading, not a sidebar's mention (the heading carries attributes: lang, dir).
    needle = re.compile(rb"<h1[^>]*>" + re.escape(str(escape(title)).encode()) + b"</h1>")  # (as Jinja escapes)
    for page in sorted((out / day[0] / day[1] / day[2]).glob("*/index.html")):
        if needle.search(page.read_bytes()):
            return page
    raise LookupError(f"no page for {record}")


class EventClient:
    """An open page's event stream, read with a timeout."""

    def __init__(self, port: int, since: str):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
        self.conn.request("GET", f"/__digest/events?since={since}")
        self.response = self.conn.getresponse()

    def next(self) -> dict:
        data = None
        while True:
            line = self.response.fp.readline().decode()
            if not line:
                raise RuntimeError("event stream closed")
            if line.startswith("data:"):
                data = line[5:].strip()
            elif line == "\n" and data:
                return json.loads(data)

    def close(self) -> None:
        self.conn.close()


def fetch(port: int, path: str) -> bytes:
    return get(port, path)[1]


def get(port: int, path: str) -> tuple[int, bytes]:
    """The status and body of a GET of ``path``."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def added_record(records: list[Path], n: int) -> tuple[Path, str]:
    """A new record file beside the newest record, a copy of it with its own title and webUrl."""
    newest = max(records, key=lambda r: re.search(r"^publishedDateTime: (.*)$", r.read_text(encoding="utf-8"),
                                                  re.M).group(1))
    stamp = time.time_ns()
    text = re.sub(r"^title: .*$", f'title: "Benchmark addition {n} {stamp}"', newest.read_text(encoding="utf-8"),
                  count=1, flags=re.M)
    text = re.sub(r"^webUrl: .*$", f'webUrl: "https://bench.example.org/added/{stamp}"', text, count=1, flags=re.M)
    text = re.sub(r"^published: false$", "published: true", text, flags=re.M)
    return newest.parent / f"bench-added-{n}-{stamp}.md", text


def bench(site: Path, edits: int, jobs: int | None, back_to_back: bool = False, field: str = "excerpt",
          newest: bool = False, add: bool = False, remove: bool = False) -> dict:
    removed: dict[Path, bytes] = {}  # the deleted record files, written back at the end
    try:
        return _bench(site, edits, jobs, back_to_back, field, newest, add, removed if remove else None)
    finally:
        for path in (site / "content").rglob("bench-added-*.md") if add else ():
            path.unlink()
        for path, data in removed.items():
            path.write_bytes(data)


def _bench(site: Path, edits: int, jobs: int | None, back_to_back: bool, field: str, newest: bool,
           add: bool, removed: dict[Path, bytes] | None) -> dict:
    records = sorted((site / "content" / "articles").rglob("*.md"))  # by path: oldest first
    if newest:  # the records a curator edits most: today's
        records = records[::-1][: edits * 3]
    start = time.perf_counter()
    with running(site, jobs=jobs) as handle:
        cold = time.perf_counter() - start
        preview = handle.preview
        if not preview.current.ok:
            sys.exit(f"the build failed: {[str(p) for p in preview.current.problems]}")
        port = handle.server.server_address[1]
        # Published records spread over the corpus (drafts have no page).
        chosen = [r for r in records[:: max(1, len(records) // (edits * 3))]
                  if "published: false" not in r.read_text(encoding="utf-8")][:edits]
        rows = []
        for n, record in enumerate(chosen):
            if add:
                record, edited = added_record(records, n)
            else:
                page = article_page(preview.out, record)
                url = "/" + page.parent.relative_to(preview.out).as_posix() + "/"
                marker = f"Benchmark edit {n} {time.time_ns()}"
                text = record.read_text(encoding="utf-8")
                edited = re.sub(rf'^{field}: ".*"$', f'{field}: "{marker}"', text, count=1, flags=re.M)
            client = EventClient(port, preview.token(preview.current))
            try:
                t0 = time.perf_counter()
                if removed is not None:
                    removed[record] = record.read_bytes()
                    record.unlink()
                else:
                    record.write_text(edited, encoding="utf-8")
                message = client.next()
                t_event = time.perf_counter() - t0
            finally:
                client.close()
            if add:  # the new article's page, served
                page = article_page(preview.out, record)
                fetch(port, "/" + page.parent.relative_to(preview.out).as_posix() + "/")
            while removed is not None and get(port, url)[0] != 404:  # the removed article's page, gone
                if time.perf_counter() - t0 > TIMEOUT:
                    raise RuntimeError("the removed page is still served")
                time.sleep(0.005)
            while (removed is None and not add and field == "excerpt"
                   and marker.encode() not in fetch(port, url)):  # (a new title moves the page)
                if time.perf_counter() - t0 > TIMEOUT:
                    raise RuntimeError("edit never showed up")
                time.sleep(0.005)
            t_page = time.perf_counter() - t0
            if not back_to_back:
                preview.wait_idle(TIMEOUT)  # the search index may still be catching up
            outcome = preview.current
            if not outcome.ok:
                sys.exit(f"the build failed: {[str(p) for p in outcome.problems]}")
            rows.append({"event": t_event, "page": t_page, "action": message["action"],
                         "build": outcome.seconds - outcome.timings.get("search", 0.0), "rendered": outcome.rendered,
                         "written": outcome.written, "timings": outcome.timings})
            if not back_to_back:
                time.sleep(0.3)
    return {"cold": cold, "rows": rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--edits", type=int, default=5)
    parser.add_argument("--field", choices=["excerpt", "title"], default="excerpt",
                        help="what each edit changes (a new title moves the article page; 'page' then equals 'event')")
    parser.add_argument("--newest", action="store_true",
                        help="edit the newest records (default: records spread over the archive)")
    parser.add_argument("--back-to-back", action="store_true",
                        help="edit again as soon as the previous edit shows (search indexing may still run)")
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--add", action="store_true",
                       help="save a new record file each round (a curator's addition) instead of editing one")
    which.add_argument("--remove", action="store_true",
                       help="delete a record file each round instead of editing one (written back at the end)")
    parser.add_argument("--jobs", type=int, default=None)
    parser.add_argument("--work", type=Path, default=Path("/tmp/digest-bench-serve"))
    parser.add_argument("--without-search", action="store_true",
                        help="measure as if the optional Pagefind extra were not installed")
    args = parser.parse_args()
    if args.without_search:
        sys.modules["pagefind_bin"] = None  # importing it now fails: the step is skipped
        os.environ["PATH"] = os.pathsep.join(
            d for d in os.environ.get("PATH", "").split(os.pathsep)
            if not (Path(d) / "pagefind").exists())
    print("| records | cold build | save -> reload event (median, min-max) | save -> new page "
          "| build (w/o search) | pages rendered | files written | build phases (median) |")
    print("|---:|---:|---:|---:|---:|---:|---:|---|")
    for count in args.records:
        result = bench(corpus(args.work, count), args.edits, args.jobs, args.back_to_back, args.field, args.newest,
                       args.add, args.remove)
        rows = result["rows"]
        ms = lambda values: f"{statistics.median(values) * 1000:.0f} ms"  # noqa: E731
        events = [r["event"] for r in rows]
        phases = {k: statistics.median(r["timings"].get(k, 0.0) for r in rows) for k in rows[0]["timings"]}
        print(f"| {count:,} | {result['cold']:.1f} s | {ms(events)} ({min(events) * 1000:.0f}-"
              f"{max(events) * 1000:.0f}) | {ms([r['page'] for r in rows])} | "
              f"{ms([r['build'] for r in rows])} | {statistics.median(r['rendered'] for r in rows):.0f} | "
              f"{statistics.median(r['written'] for r in rows):.0f} | "
              + ", ".join(f"{k} {v * 1000:.0f}" for k, v in phases.items()) + " ms |", flush=True)
        assert all(r["action"] == "reload" for r in rows), [r["action"] for r in rows]


if __name__ == "__main__":
    main()
