"""``digest build --watch``: build the site into its output folder, then again at every change.

A warm build process, opt-in: the records, the state and the plan of the last build stay
in memory (`digest.cache.BuildCache`, kept), so a rebuild reads no cache file and derives its
plan from the last one, where a ``digest build`` command reads them all back first (at
10,000 records an edit takes a second as a command). It reuses the preview's pieces
(`digest.serve.Preview`: debounced, one build at a time, a failed build keeps the last good
output; `digest.serve.Watcher`), without the HTTP server, and with two differences that come
from writing the user's folder rather than a private one:

- each build holds the site's lock (`digest.build.site_lock`): a ``digest build`` or
  ``digest publish`` meanwhile waits for it, and it for them;
- each build checks the size and mtime of every output it did not write just now (another
  program, or a command, may have changed the folder since: see
  `digest.cache.BuildCache.owns_output`).

When it stops (Ctrl-C or SIGTERM), the last plan is saved for the next command.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from pathlib import Path

from digest.build import require_site, resolve_out, save_kept_plan, site_lock, sources_fingerprint
from digest.config import load_config
from digest.serve import WATCHED, Outcome, Preview, Watcher, describe, terminate_handler


class _Report:
    """Prints each build's outcome, then one line: the problems of a build that finished, but
    those the last one that finished printed already (a site's thousand warnings are not
    printed again at every save); a failed build's error, always."""

    def __init__(self) -> None:
        self.shown: set[str] = set()

    def __call__(self, outcome: Outcome) -> None:
        lines = [str(p) for p in outcome.problems]
        for line in lines:
            if not outcome.ok or line not in self.shown:
                print(line, file=sys.stderr)
        if outcome.ok:
            self.shown = set(lines)
        print(describe(outcome, "the output folder keeps the last good site"), flush=True)


def watch(site: Path, out: Path | None = None, drafts: bool = False, jobs: int | None = None) -> int:
    """The ``digest build --watch`` command: build, then rebuild at every change until Ctrl-C
    or SIGTERM; the exit code, 130 once stopped (as every command stopped so exits). A site,
    config or output folder that cannot be used is raised (`digest.errors.DigestError`)."""
    err = sys.stderr
    site = require_site(site)
    # The folder the first build resolves: `-o`, else the config's as it is now (a config
    # that cannot be read is an error here, as for a build: the command stops before watching).
    target = resolve_out(site, load_config(site), out)
    preview = Preview(site, drafts=drafts, jobs=jobs, out=target, shared=lambda: site_lock(site),
                      log=lambda line: print(line, file=err, flush=True))
    report = _Report()
    watcher = Watcher(preview)
    builder = threading.Thread(target=preview.run, args=(report,), name="digest-watch-builder", daemon=True)
    previous = signal.getsignal(signal.SIGTERM)
    main = threading.current_thread() is threading.main_thread()
    if main:
        signal.signal(signal.SIGTERM, terminate_handler(os.getpid()))
    try:
        # The first build runs before the watcher's thread starts: with no other thread, it
        # forks its helpers (the related lists, the output check) as a command does. A change
        # made meanwhile is seen by comparing the sources before it and once the watcher runs.
        before = sources_fingerprint(site, drafts)
        report(preview.build_once())
        watcher.start()
        if sources_fingerprint(site, drafts) != before:
            preview.touch()
        builder.start()
        print(f"Watching {', '.join(WATCHED)} and digest.toml of {site}; building into {target} "
              "(Ctrl-C to stop)", file=err, flush=True)
        while True:
            time.sleep(0.5)
    except KeyboardInterrupt:
        print("\ndigest build --watch: stopped", file=err)
        return 130
    finally:
        if main:  # (a second Ctrl-C while the last build winds down: no traceback)
            previous_int = signal.signal(signal.SIGINT, signal.SIG_IGN)
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
        try:
            watcher.stop()
            preview.stop()
            if builder.is_alive():
                builder.join()
            preview.cache.close()
            with site_lock(site):
                save_kept_plan(preview.cache)
        finally:
            if main:
                signal.signal(signal.SIGINT, previous_int)
                signal.signal(signal.SIGTERM, previous)
