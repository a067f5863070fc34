"""Live-reload preview: build into a private folder, serve it over HTTP, rebuild on every save.

The pieces, each with one job, live together because they only make sense together:

- `ReadWriteLock`: requests read the output folder under the shared side; the build
  holds the exclusive side while it swaps staged files in (``build(commit_lock=...)``),
  so no request ever sees a half-swapped site.
- `Preview`: owns the builds. Changes are debounced (a quiet period, capped), one build
  runs at a time, and changes during a build cause exactly one more. Every finished
  build attempt gets a new id (``<session>.<n>``) and an `Outcome` (pages changed?
  stylesheets changed? problems?) kept in a short history, from which the event stream
  tells each open page what to do: reload, swap stylesheets, or only update the overlay.
  A failed build keeps the last good site; its problem is shown, the server lives on.
- `make_handler`: serves files from the output folder only, under the path of
  ``base_url``; injects the reload script into HTML responses (never into files on
  disk, which stay byte-identical to ``digest build``'s; before a page's own
  Content-Security-Policy ``<meta>``, if it has one); streams build events (SSE).
- `Watcher`: watchdog on ``content/``, ``templates/``, ``static/`` and ``digest.toml`` (and on
  the site's parent folder, to see the site itself deleted and put back).
- `serve`: the command: bind, build, watch, serve until Ctrl-C.
"""

from __future__ import annotations

import errno
import hashlib
import ipaddress
import json
import os
import re
import secrets
import signal
import socket
import stat
import sys
import threading
import time
import webbrowser
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext, suppress
from dataclasses import dataclass, field, replace
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import BinaryIO
from urllib.parse import parse_qs, quote, unquote, urlsplit

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

from digest.build import build
from digest.cache import CACHE_DIR, BuildCache
from digest.errors import ConfigError, DigestError, Problem, TemplateError, site_relative
from digest.mediatypes import media_type

EVENTS = "__digest/events"
"""Path of the event stream, below the site's base path."""

QUIET_SECONDS = 0.08
"""A build starts once no change was seen for this long (a bulk save is one build)."""

MAX_WAIT_SECONDS = 2.0
"""... or at the latest this long after the first change of a never-ending stream."""

HISTORY = 256
"""Build outcomes remembered; a page older than that simply reloads."""

STOP_BUILD_SECONDS = 60.0
"""On stopping, how long a build under way may take to reach its next step and end."""

SHOWN_PROBLEMS = 200
"""Problems a page is sent (errors first); the overlay counts the others."""

PING_SECONDS = 15.0
"""Keep-alive comment interval on the event stream (proxies drop silent connections)."""

WATCHED = ("content", "templates", "static")
"""Site folders whose changes trigger a rebuild (plus ``digest.toml``)."""

_WRITE_EVENTS = {"created", "modified", "deleted", "moved", "closed"}
"""Watchdog event types that mean a file changed (not 'opened' or 'closed_no_write')."""

NAMED_LIMIT = 1000
"""Events between two builds past which the next build walks every record file rather than
looking up those named (`Preview.note`): far fewer than the kernel's queue holds (16,384 by
default), whose overflow loses events unsaid, and more than a day's edits; a walk costs less
than parsing that many records anyway."""

_NO_RELOAD_SUFFIXES = (".xml", ".txt", ".json")
"""Outputs no open page shows: a change to only these reloads nothing."""


def content_type(path: str) -> str:
    """The Content-Type header for an output file (see `digest.mediatypes`); ``text/`` types
    carry a charset."""
    kind = media_type(path)
    return f"{kind}; charset=utf-8" if kind.startswith("text/") else kind


# --------------------------------------------------------------------------- the lock


class ReadWriteLock:
    """Many readers or one writer; a waiting writer goes first (requests never starve a swap)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._readers = 0
        self._writing = False
        self._writers_waiting = 0

    @contextmanager
    def read(self) -> Iterator[None]:
        """Hold the shared side: the output folder does not change meanwhile."""
        with self._cond:
            while self._writing or self._writers_waiting:
                self._cond.wait()
            self._readers += 1
        try:
            yield
        finally:
            with self._cond:
                self._readers -= 1
                if not self._readers:
                    self._cond.notify_all()

    @contextmanager
    def write(self) -> Iterator[None]:
        """Hold the exclusive side: no request reads while files are swapped."""
        with self._cond:
            self._writers_waiting += 1
            try:
                while self._writing or self._readers:
                    self._cond.wait()
            finally:
                self._writers_waiting -= 1
            self._writing = True
        try:
            yield
        finally:
            with self._cond:
                self._writing = False
                self._cond.notify_all()


# --------------------------------------------------------------------------- builds


@dataclass(frozen=True)
class Outcome:
    """One finished build attempt, as open pages need to know it."""

    number: int
    """1, 2, ... within this server's session."""
    ok: bool
    """The build finished (the output folder holds its result); False keeps the last good site."""
    reload: bool
    """Pages changed (or were removed): open pages must reload."""
    css: tuple[str, ...]
    """URL paths of stylesheets that changed (swapped in place when nothing else changed)."""
    problems: tuple[Problem, ...]
    """Problems of this build: bad records, or the error that stopped it."""
    seconds: float
    """Wall time of the build."""
    timings: dict[str, float] = field(default_factory=dict)
    """Seconds per build phase (empty when the build failed)."""
    rendered: int = 0
    """Pages rendered (the others were known unchanged)."""
    written: int = 0
    """Files swapped in."""


def problem_list(problems: tuple[Problem, ...]) -> dict:
    """A build's problems as a page is sent them: the first `SHOWN_PROBLEMS` (errors first),
    the counts, and a key naming the whole list (the overlay hidden with × stays hidden until
    it changes). Every page and event carried every line: with an archive's 3,000 warnings,
    close to a megabyte each, for an overlay that shows 200."""
    errors = [str(p) for p in problems if p.severity == "error"]
    warnings = [str(p) for p in problems if p.severity != "error"]
    every = errors + warnings
    key = hashlib.sha256("\n".join(every).encode("utf-8", "surrogatepass")).hexdigest()[:16] if every else ""
    return {"problems": every[:SHOWN_PROBLEMS], "errors": len(errors), "warnings": len(warnings),
            "key": key}


def _template_problem(site: Path, exc: TemplateError) -> Problem:
    """A template error as a `Problem` printed ``templates/x.html:3: message`` (site-relative)."""
    problem = exc.problem
    message = problem.message
    prefix = f"{problem.path}:{problem.line if problem.line is not None else '?'}: "
    if message.startswith(prefix):
        message = message[len(prefix):]  # the location is the Problem's own
    return Problem(site_relative(site, problem.path), problem.line, problem.field, message)


def _claim_folder(cache: Path, name: str) -> tuple[Path, int | None]:
    """The preview folder of this server: ``cache/name``, or ``name-2``... when another server
    of the same site holds it; (folder, file descriptor of its held lock, if any).

    Two servers of one site (two terminals, a forgotten one) built into one folder: each
    removed the other's staged files, and every build of both failed. Each folder is held
    with a kernel lock (``flock``) on ``<folder>.lock`` for the server's life; a killed
    server never leaves it held. A numbered folder (``serve-2``) is removed by the next build
    or server once its server ended (`digest.cache.SPARE_PREVIEW`); ``serve`` is kept for the
    next server to build into incrementally.
    """
    try:
        import fcntl
    except ImportError:  # not POSIX: one folder, as before
        return cache / name, None
    for number in range(1, 17):
        folder = cache / (name if number == 1 else f"{name}-{number}")
        try:
            cache.mkdir(exist_ok=True)
            fd = os.open(folder.with_name(folder.name + ".lock"),
                         os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o600)
        except OSError:
            return cache / name, None  # (an unwritable cache: the build says so)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            continue
        except OSError:  # a file system without locks
            os.close(fd)
            return cache / name, None
        return folder, fd
    return cache / name, None


class _Stopped(Exception):
    """The server stops while a build runs: raised from the build's progress callback, so
    the build ends at its next step and stops its own worker processes. (Left running, a
    render's workers outlived the server and each printed a BrokenPipeError traceback.)"""


class Preview:
    """The builds of one served site: debounced, one at a time, each a new `Outcome`."""

    def __init__(self, site: Path, drafts: bool = False, jobs: int | None = None,
                 out: Path | None = None, quiet: float = QUIET_SECONDS,
                 max_wait: float = MAX_WAIT_SECONDS, log: Callable[[str], None] | None = None,
                 shared: Callable[[], AbstractContextManager] | None = None):
        """``shared``, for an output folder that is not this process's alone (``digest build
        --watch``'s), makes the context each build holds (the site's lock: a command building
        meanwhile waits for it, and it for the command); each build then checks the files
        there it did not write just now (see `digest.cache.BuildCache.owns_output`)."""
        self.site = site.resolve()
        self.drafts = drafts
        self.jobs = jobs
        self._claim: int | None = None
        """The locked file that keeps the preview folder this server's (see `_claim_folder`)."""
        if out is None:
            out, self._claim = _claim_folder(self.site / CACHE_DIR, "serve-drafts" if drafts else "serve")
        self.out = out.resolve()
        """Private output folder: the user's ``build/`` is never touched."""
        self.quiet = quiet
        self.max_wait = max_wait
        self.log = log or (lambda line: print(line, file=sys.stderr, flush=True))
        self.session = secrets.token_hex(4)
        """Distinguishes this server's build ids from a previous run's (pages reload after a restart)."""
        self.lock = ReadWriteLock()
        self.base_path = "/"
        """Path the site is served under: that of ``base_url`` in the last good build's config."""
        self.base_host = ""
        """Host name of ``base_url`` (requests naming it are allowed, e.g. behind a proxy)."""
        self._cond = threading.Condition()
        self._history: list[Outcome] = []
        self._first_change: float | None = None
        self._last_change = 0.0
        self._stopping = False
        self._building = False
        self._changed: set[str] | None = None
        """Paths the watcher's events named since the last build began, for the next build to
        look up rather than walking every record file (see `note`); None: not known."""
        self._noted = 0
        """Events noted since the last build began (see `NAMED_LIMIT`)."""
        self.shared = shared
        self.cache = BuildCache(self.site, self.out, owns_output=shared is None)
        """Kept between builds: a rebuild reads no cache file and derives its plan from the
        last one when it can (see `digest.cache.BuildCache` and `digest.plan.replan`)."""
        if self._claim is not None:
            # The preview folder is in use from now on, not from the first build, and the
            # spare ones of servers that ended go (see `BuildCache.prune_others`).
            self.cache.in_use()
            self.cache.prune_others()

    # -- ids and history

    def token(self, outcome: Outcome | None) -> str:
        """The id pages carry for ``outcome`` (``<session>.0`` before any build)."""
        return f"{self.session}.{outcome.number if outcome else 0}"

    @property
    def current(self) -> Outcome | None:
        """The latest finished build attempt."""
        with self._cond:
            return self._history[-1] if self._history else None

    @property
    def builds(self) -> int:
        """Build attempts so far."""
        with self._cond:
            return self._history[-1].number if self._history else 0

    def message_since(self, token: str) -> tuple[dict | None, str]:
        """What a page carrying ``token`` must do now: (message or None if up to date, new token)."""
        with self._cond:
            current = self._history[-1] if self._history else None
            latest = self.token(current)
            if token == latest or current is None:
                return None, latest
            session, _, number = token.partition(".")
            first = self._history[0].number
            try:
                seen = int(number)
            except ValueError:
                seen = -1
            if session != self.session or seen < first - 1 or seen > current.number:
                action, css = "reload", []
            else:
                later = [o for o in self._history if o.number > seen]
                css = sorted({path for o in later for path in o.css})
                action = "reload" if any(o.reload for o in later) else "css" if css else "none"
            return {
                "build": latest,
                "action": action,
                "css": css,
                **problem_list(current.problems),
            }, latest

    def wait_newer(self, token: str, timeout: float) -> None:
        """Block until a build newer than ``token`` finished, the preview stops, or ``timeout``."""
        with self._cond:
            self._cond.wait_for(
                lambda: self._stopping or self.token(self._history[-1] if self._history else None) != token,
                timeout,
            )

    def wait_for_build(self, number: int, timeout: float) -> Outcome | None:
        """Block until build ``number`` (or a later one) finished; for tests and benchmarks."""
        with self._cond:
            self._cond.wait_for(lambda: self._history and self._history[-1].number >= number, timeout)
            return self._history[-1] if self._history and self._history[-1].number >= number else None

    def wait_idle(self, timeout: float) -> bool:
        """Block until no build runs or waits to run; False on ``timeout`` (tests, benchmarks)."""
        with self._cond:
            return self._cond.wait_for(
                lambda: self._stopping or (not self._building and self._first_change is None), timeout)

    @property
    def stopping(self) -> bool:
        with self._cond:
            return self._stopping

    # -- building

    def build_once(self) -> Outcome:
        """Run one build now and publish its outcome; content faults become problems.

        The outcome is published as soon as the new pages are in place (``build``'s
        ``committed`` hook), so open pages reload without waiting for the search index;
        when the build returns, that entry gets its full timings.
        """
        start = time.perf_counter()
        early: list[Outcome] = []

        def committed(config, changed: list[str], removed: int, problems: list[Problem]) -> None:
            self.base_path = config.base_path
            self.base_host = (urlsplit(config.base_url).hostname or "").lower()
            reload = removed > 0 or any(
                not p.endswith(".css") and not p.endswith(_NO_RELOAD_SUFFIXES) for p in changed)
            css = tuple(sorted(url_path(config.base_path + p) for p in changed if p.endswith(".css")))
            early.append(self._publish(Outcome(0, True, reload, css, tuple(problems),
                                               time.perf_counter() - start)))

        def progress(phase: str, done: int, total: int) -> None:
            if self.stopping:  # (polled between steps of reading, images and rendering)
                raise _Stopped

        with self._cond:
            changed, self._changed, self._noted = self._changed, set(), 0
        try:
            with self.shared() if self.shared is not None else nullcontext():
                result = build(self.site, self.out, drafts=self.drafts, jobs=self.jobs, progress=progress,
                               commit_lock=self.lock.write(), committed=committed, cache=self.cache,
                               cancel_search=self.change_waiting, changed=changed)
        except _Stopped:
            problems = (Problem("digest", None, None, "the build was stopped with the server"),)
        except ConfigError as exc:
            problems = tuple(exc.problems)
        except TemplateError as exc:
            problems = (_template_problem(self.site, exc),)
        except DigestError as exc:
            problems = (Problem("digest", None, None, str(exc)),)
        except Exception as exc:  # noqa: BLE001 - the server outlives any content: the fault is shown
            problems = (Problem("digest", None, None,
                                f"the build failed: {exc.__class__.__name__}: {exc}"),)
        else:
            if not early:  # nothing to swap in (the build found every input unchanged)
                committed(result.config, result.changed_paths, result.removed, result.problems)
            return self._publish(replace(
                early[0], seconds=time.perf_counter() - start, timings=dict(result.timings),
                rendered=result.rendered, written=result.written), number=early[0].number)
        self.note(changed, events=0)  # (failed: what it was told changed is looked up by the next)
        return self._publish(Outcome(0, False, False, (), problems, time.perf_counter() - start))

    def _publish(self, outcome: Outcome, number: int | None = None) -> Outcome:
        """Record ``outcome`` as a new build (or complete build ``number``) and wake waiters."""
        with self._cond:
            if number is None:
                outcome = replace(outcome, number=(self._history[-1].number if self._history else 0) + 1)
                self._history.append(outcome)
                del self._history[:-HISTORY]
            else:
                outcome = replace(outcome, number=number)
                for index in range(len(self._history) - 1, -1, -1):
                    if self._history[index].number == number:
                        self._history[index] = outcome
                        break
            self._cond.notify_all()
        return outcome

    def change_waiting(self) -> bool:
        """True when sources changed since the running build started (or the preview stops):
        the build's search indexing then gives way to the next build."""
        with self._cond:
            return self._stopping or self._first_change is not None

    def note(self, paths: Iterable[str] | None, events: int = 1) -> None:
        """Note that ``paths`` (absolute; any under the site) may have changed, as ``events``
        watcher events said: the next build looks those up, and takes every other record as
        the last build left it (see `digest.load.load_content`); None: what changed is not
        known (the next build walks and stats every record file). Builds only at `touch`."""
        with self._cond:
            self._noted += events
            if paths is None or self._changed is None or self._noted > NAMED_LIMIT:
                self._changed = None
            else:
                self._changed.update(paths)

    def touch(self) -> None:
        """Note a change of the sources: a build follows after the quiet period."""
        with self._cond:
            now = time.monotonic()
            self._last_change = now
            if self._first_change is None:
                self._first_change = now
            self._cond.notify_all()

    def run(self, report: Callable[[Outcome], None] | None = None) -> None:
        """The builder loop (run it in a thread): debounce changes, build, repeat until `stop`."""
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._stopping or self._first_change is not None)
                while not self._stopping:
                    now = time.monotonic()
                    left = min(self._last_change + self.quiet, self._first_change + self.max_wait) - now
                    if left <= 0:
                        break
                    self._cond.wait(left)
                if self._stopping:
                    return
                self._first_change = None
                self._building = True
            try:
                outcome = self.build_once()
            finally:
                with self._cond:
                    self._building = False
                    self._cond.notify_all()
            if report and not self.stopping:  # (after "stopped", a build stopped with it says nothing)
                report(outcome)

    def stop(self) -> None:
        """End the builder loop and every event stream."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._claim is not None and not self._building:
            with suppress(OSError):
                os.close(self._claim)
            self._claim = None
            self.cache.release()  # (its folder may go now: see `BuildCache.prune_others`)

    def host_allowed(self, name: str | None, bound: str) -> bool:
        """Whether a request for the host ``name`` (as `host_name` reads it; None: no ``Host``
        header, as from an HTTP/1.0 client) may be answered.

        A server on a loopback address answers only names that mean this machine (or
        the host of ``base_url``): a web page elsewhere cannot read the preview, drafts
        included, by pointing a domain of its own at 127.0.0.1 (DNS rebinding). A server
        bound to another address was exposed on purpose and answers any name.
        """
        if name is None or not _is_loopback(bound):
            return True
        return (name in ("localhost", self.base_host) or name.endswith(".localhost")
                or _is_loopback(name))

    def relevant(self, path: str) -> bool:
        """Whether a change of ``path`` (absolute) can change the site."""
        try:
            rel = Path(path).relative_to(self.site)
        except ValueError:
            return False
        parts = rel.parts
        if not parts:
            return False
        if parts == ("digest.toml",):
            return True
        if parts[0] not in WATCHED:
            return False
        name = parts[-1]
        return not (name.startswith((".", "#")) or name.endswith(("~", ".swp", ".swx", ".tmp"))
                    or name == "4913")


# --------------------------------------------------------------------------- the page script

_SCRIPT = """<script id="digest-live-reload">(function(){
var S=%s,id=S.build,delay=250,es=null,timer=0,closed=null;
try{closed=sessionStorage.getItem("digest-overlay-hidden");}catch(e){}
function overlay(P){
  var old=document.getElementById("digest-overlay");
  var list=P.problems,key=P.key,errors=P.errors,warnings=P.warnings;
  if(old){if(old.getAttribute("data-key")===key)return;old.remove();}
  if(!list.length||closed===key)return;
  var box=document.createElement("div");
  box.id="digest-overlay";box.setAttribute("role",errors?"alert":"status");box.setAttribute("data-key",key);
  box.style.cssText="all:initial;position:fixed;z-index:2147483647;left:0;right:0;bottom:0;max-height:60vh;overflow:auto;background:"+(errors?"#2b1111":"#2b2411")+";color:#fff3e7;font:14px/1.45 ui-monospace,Menlo,Consolas,monospace;padding:10px 16px;border-top:4px solid "+(errors?"#e5484d":"#e5a00d")+";box-shadow:0 -4px 16px rgba(0,0,0,.4)";
  var btn=document.createElement("button");btn.type="button";btn.textContent="\\u00d7";
  btn.setAttribute("aria-label","Hide problems");
  btn.style.cssText="float:right;font:inherit;font-size:18px;line-height:1;background:none;border:0;color:inherit;cursor:pointer";
  btn.onclick=function(){closed=key;box.remove();try{sessionStorage.setItem("digest-overlay-hidden",key);}catch(e){}};
  box.appendChild(btn);
  /* Errors open the list; warnings alone (a real archive has many) stay one line until asked. */
  var det=document.createElement("details");det.open=errors>0;
  var head=document.createElement("summary");head.style.cssText="font-weight:bold;cursor:pointer";
  head.textContent="digest: "+errors+(errors===1?" error, ":" errors, ")+warnings+(warnings===1?" warning":" warnings")+" in the last build";
  det.appendChild(head);
  var ul=document.createElement("ul");ul.style.cssText="margin:6px 0 0;padding:0 0 0 1.2em;white-space:pre-wrap";
  list.forEach(function(t){var li=document.createElement("li");li.textContent=t;ul.appendChild(li);});
  if(errors+warnings>list.length){var li=document.createElement("li");li.textContent="... and "+(errors+warnings-list.length)+" more";ul.appendChild(li);}
  det.appendChild(ul);box.appendChild(det);(document.body||document.documentElement).appendChild(box);
}
function swap(paths){
  var links=document.querySelectorAll('link[rel~="stylesheet"]');
  for(var i=0;i<links.length;i++){(function(link){
    var u=new URL(link.href,location.href);
    if(u.origin!==location.origin||paths.indexOf(u.pathname)<0)return;
    var fresh=link.cloneNode();u.searchParams.set("digest",Date.now());fresh.href=u.href;
    fresh.onload=fresh.onerror=function(){link.remove();};
    link.parentNode.insertBefore(fresh,link.nextSibling);
  })(links[i]);}
}
function connect(){
  clearTimeout(timer);
  if(es||document.hidden)return;
  var own=es=new EventSource(S.events+"?since="+encodeURIComponent(id));
  own.onopen=function(){delay=250;};
  own.addEventListener("build",function(e){
    var m=JSON.parse(e.data);
    if(m.action==="reload"){own.close();location.reload();return;}
    if(m.action==="css")swap(m.css);
    id=m.build;
    if(document.readyState==="loading")document.addEventListener("DOMContentLoaded",function(){overlay(m);});
    else overlay(m);
  });
  own.onerror=function(){own.close();if(es===own)es=null;timer=setTimeout(connect,delay);delay=Math.min(delay*2,4000);};
}
/* A hidden tab lets go of its connection (browsers allow only a few per server) and
   catches up when shown again: the server answers from the build id it still has. */
document.addEventListener("visibilitychange",function(){
  if(document.hidden){if(es){es.close();es=null;}clearTimeout(timer);}else connect();
});
/* Connect at once: placed before a page's Content-Security-Policy <meta> (see inject), the
   connection opens before that policy applies; the overlay waits for the page's body. */
connect();
if(document.readyState==="loading")document.addEventListener("DOMContentLoaded",function(){overlay(S);});
else overlay(S);
})();</script>
"""


def _script_json(value: object) -> str:
    """JSON safe inside an inline ``<script>``."""
    return (json.dumps(value, ensure_ascii=True).replace("<", "\\u003c").replace(">", "\\u003e")
            .replace("&", "\\u0026"))


_CSP_META = re.compile(rb"<meta\s[^>]*?http-equiv\s*=\s*[\"']?\s*content-security-policy", re.IGNORECASE)
"""A ``<meta http-equiv="Content-Security-Policy">``: the one policy a static page can set."""


def inject(html: bytes, state: dict) -> bytes:
    """``html`` with the live-reload script (carrying ``state``) before its last ``</body>``,
    or, in a page whose head sets a Content-Security-Policy, just before that ``<meta>``.

    A policy set by a ``<meta>`` applies only to what follows it: a page of a theme with
    ``default-src 'self'`` blocked the inline script at the end of its body, and silently
    never reloaded. Placed before the policy, the script runs and opens its connection
    (the page's own policy still governs everything else on it).
    """
    script = (_SCRIPT % _script_json(state)).encode("utf-8")
    lower = html.lower()
    head_end = min((i for i in (lower.find(b"</head"), lower.find(b"<body")) if i >= 0), default=len(html))
    policy = _CSP_META.search(html, 0, head_end)
    if policy is not None:
        return html[:policy.start()] + script + html[policy.start():]
    at = lower.rfind(b"</body>")
    if at < 0:
        return html + script
    return html[:at] + script + html[at:]


_FALLBACK_404 = (b"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                 b"<title>Not found</title></head><body><h1>Not found</h1>"
                 b"<p>There is no page at this address (yet).</p></body></html>\n")


# --------------------------------------------------------------------------- serving files


def resolve_request(out: Path, rel: str) -> tuple[str, Path | None]:
    """Map a URL path below the base path to a file of ``out``.

    Returns ``("file", path)``, ``("slash", None)`` for a folder asked without its
    trailing slash, or ``("missing", None)``. Nothing outside ``out`` is ever reached:
    ``..`` (also percent-encoded), backslashes, NUL and symbolic links leading out are
    all "missing"; folders without ``index.html`` are too (no listings).
    """
    text = unquote(rel, errors="strict") if "%" in rel else rel
    if "\x00" in text or "\\" in text:
        return "missing", None
    parts = text.split("/")
    if any(part in (".", "..") for part in parts):
        return "missing", None
    root = os.path.realpath(out)
    candidate = os.path.realpath(os.path.join(root, *[p for p in parts if p]))
    if candidate != root and not candidate.startswith(root + os.sep):
        return "missing", None
    if os.path.isdir(candidate):
        if text and not text.endswith("/"):
            return "slash", None
        candidate = os.path.join(candidate, "index.html")
        if os.path.realpath(candidate) != candidate:
            return "missing", None
    if os.path.isfile(candidate):
        return "file", Path(candidate)
    return "missing", None


_HOST = re.compile(r"(?:\[(?P<address>[0-9A-Fa-f:.]+)\]|(?P<name>[A-Za-z0-9_.-]+))(?::(?P<port>[0-9]{1,5}))?")
"""A ``Host`` value (RFC 9110 7.2): a bracketed IPv6 address or a name, and a port."""

_LABEL = re.compile(r"[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?")
"""One label of a host name (letters, digits, ``-`` inside, ``_`` as some local names have)."""


def host_name(value: str) -> str | None:
    """The host a ``Host`` header (or an absolute-form target's authority) names, in lower case
    without a final dot (``[::1]:8000`` is ``::1``); None when it is not a well-formed
    ``host[:port]``.

    Read as a URL's authority, odd values named a host they did not end with:
    ``localhost#.evil.com`` was ``localhost`` and ``evil@localhost`` too, so the DNS-rebinding
    check passed them. Anything but a name of dot-separated labels or a bracketed IPv6
    address, with at most a port of 0 to 65535 after it, is malformed (no user info,
    ``#``, ``/``, ``?``, empty labels, an empty port): the request is refused with 400.
    """
    found = _HOST.fullmatch(value.strip(" \t"))
    if found is None or (found["port"] is not None and int(found["port"]) > 65535):
        return None
    if found["address"] is not None:
        try:
            return str(ipaddress.IPv6Address(found["address"]))
        except ValueError:
            return None
    name = found["name"].lower()
    name = name[:-1] if name.endswith(".") else name
    if not name or len(name) > 253 or not all(_LABEL.fullmatch(label) for label in name.split(".")):
        return None
    return name


_NOT_IN_A_TARGET = re.compile(r"[^\x21-\x7e]")
"""Bytes a request target may not hold as they are (RFC 3986): controls, space, non-ASCII."""


def _escape_target(raw: str) -> str:
    """A request target with its raw bytes beyond printable ASCII %-escaped, as a browser sends
    them: curl sends ``/topics/caf\xc3\xa9/`` as typed, which was looked up as the Latin-1
    text ``cafÃ©`` and answered 404 while ``/topics/caf%C3%A9/`` was served. (`http.server`
    reads the request line as Latin-1: each character of ``raw`` is one byte.)"""
    return _NOT_IN_A_TARGET.sub(lambda m: f"%{ord(m.group()):02X}", raw)


def request_target(raw: str, hosts: list[str]) -> tuple[str | None, str, str] | None:
    """(host asked for, path, query) of a request line's target and its ``Host`` headers;
    None for a request to refuse with 400.

    An absolute-form target (``GET http://name/path``, RFC 9112 3.2.2) names the host
    itself, and that name wins over the header's: it was served whatever it named. Two
    ``Host`` headers are refused (RFC 9112 3.2: which one a proxy in front believed is
    unknowable). Leading slashes collapse to one, so no redirect built from the path can
    become a protocol-relative ``//other-host/`` address. Raw bytes beyond printable ASCII
    come back %-escaped (see `_escape_target`); the host is returned as given (see `host_name`).
    """
    if len(hosts) > 1:
        return None
    host = hosts[0] if hosts else None
    raw = _escape_target(raw)
    if not raw.startswith("/"):
        try:
            split = urlsplit(raw)
        except ValueError:
            return None
        if split.scheme.lower() not in ("http", "https") or not split.netloc:
            return None
        host, raw = split.netloc, split.path or "/"
        if split.query:
            raw += "?" + split.query
    raw = raw.partition("#")[0]
    path, _, query = raw.partition("?")
    return host, "/" + path.lstrip("/"), query


_PATH_SAFE = "/%!$&'()*+,;=:@[]\\^|"
"""ASCII a browser leaves as it is in a URL's path (besides letters, digits and ``-._~``)."""


def url_path(path: str) -> str:
    """``path`` as a browser sends it: non-ASCII and the characters a path escapes, %-escaped
    (a base_url of ``https://example.org/über/`` is asked for as ``/%C3%BCber/``)."""
    return quote(path, safe=_PATH_SAFE)


def below(path: str, base: str) -> str | None:
    """The rest of a request's ``path`` (as sent, %-escaped) under ``base`` (as in base_url,
    where it may be an IRI: ``/über/``), still as sent; None when it is not under it.

    Segments are compared decoded, so ``/%C3%BCber/x`` and ``/%c3%bcber/x`` are both under
    ``/über/`` (a plain prefix test answered 404 to every request of such a site); the rest
    is decoded only once, by `resolve_request`.
    """
    wanted = [unquote(part) for part in base.strip("/").split("/")] if base.strip("/") else []
    segments = path[1:].split("/")
    if len(segments) <= len(wanted):
        return None
    if any(unquote(part) != want for part, want in zip(segments, wanted, strict=False)):
        return None
    return "/".join(segments[len(wanted):])


def byte_range(headers: list[str], size: int) -> tuple[int, int] | str | None:
    """The one ``Range: bytes=...`` of a request as (first, last) byte, ``"unsatisfiable"``, or
    None to send the whole file (no header, several ranges, another unit or a malformed one:
    RFC 9110 14.2 lets a server ignore those). Media players (Safari's <video>) need 206.

    A number is read at any length (RFC 9110 sets none): a last byte past the end is the end,
    a suffix longer than the file is the whole file (206), a first byte past the end is 416,
    as for the same request written with small numbers."""
    if len(headers) != 1:
        return None
    unit, _, spec = headers[0].strip().partition("=")
    if unit.strip().lower() != "bytes" or "," in spec:
        return None
    first_text, dash, last_text = spec.strip().partition("-")
    first_text, last_text = first_text.strip(), last_text.strip()
    if not dash or (first_text == last_text == ""):
        return None
    first, last = _position(first_text), _position(last_text)
    if first is None or last is None:
        return None
    if first_text == "":  # the last N bytes
        if last == 0 or size == 0:
            return "unsatisfiable"
        return max(0, size - last), size - 1
    if last_text and _order(last_text) < _order(first_text):  # (exact, past 18 digits too)
        return None
    if first >= size:
        return "unsatisfiable"
    return first, min(last, size - 1) if last_text else size - 1


_PAST_ANY_FILE = 10**19
"""Stands for a byte position of over 18 digits: past the end of any file there is."""


def _order(digits: str) -> tuple[int, str]:
    """A key that orders numbers written in ASCII digits as their values, at any length."""
    digits = digits.lstrip("0")
    return len(digits), digits


def _position(digits: str) -> int | None:
    """A range's byte position (``""`` is 0: the side left out), or None when it is not ASCII
    digits. A number of over 18 digits (leading zeros aside) is `_PAST_ANY_FILE`: it acts as
    any number past the end does, and int() of one of 4,300 digits would raise."""
    if not digits.isascii() or not (digits.isdigit() or digits == ""):
        return None
    digits = digits.lstrip("0")
    return _PAST_ANY_FILE if len(digits) > 18 else int(digits or "0")


def make_handler(preview: Preview) -> type[BaseHTTPRequestHandler]:
    """The request handler class of a server for ``preview``."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "digest-serve"
        sys_version = ""
        timeout = 60

        def log_message(self, format: str, *args) -> None:  # noqa: A002 - the base class's name
            pass  # one line per build is printed instead of one per request

        def do_GET(self) -> None:
            self._respond(head=False)

        def do_HEAD(self) -> None:
            self._respond(head=True)

        def version_string(self) -> str:
            return self.server_version

        def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
            # The status line carries the standard phrase, never request text (a method such
            # as `<svg/onload=...>` was echoed there); the page shows it, escaped.
            super().send_error(code, None, message or explain)

        def _respond(self, head: bool) -> None:
            if ("Transfer-Encoding" in self.headers
                    or any(n.strip() != "0" for n in self.headers.get_all("Content-Length") or [])):
                # A GET or HEAD with a body: it is not read, so the connection ends with this
                # answer (kept open, the body was read as the next request: a request hidden
                # in it was answered, and a proxy in front could be desynchronised).
                self.close_connection = True
            target = request_target(self.path, self.headers.get_all("Host") or [])
            if target is None:
                self.send_error(HTTPStatus.BAD_REQUEST, "Bad request target or Host header")
                return
            host, path, query = target
            name = None if host is None else host_name(host)
            if host is not None and name is None:
                self.send_error(HTTPStatus.BAD_REQUEST,
                                "Malformed Host: expected a host name or [IPv6 address], then an optional :port")
                return
            if not preview.host_allowed(name, self.server.server_address[0]):
                # A page elsewhere reaching this preview through DNS rebinding: refuse.
                self.send_error(HTTPStatus.FORBIDDEN, "Host not allowed")
                return
            base = preview.base_path
            if path == base + EVENTS or path.endswith("/" + EVENTS):  # also from an old base_url
                self._events(parse_qs(query).get("since", [""])[0], head)
                return
            rest = below(path, base)
            if rest is None:
                if below(path + "/", base) == "" or path == "/":
                    self._redirect(url_path(base))
                else:
                    self._not_found(head)
                return
            data: bytes | BinaryIO | None = None
            try:
                with preview.lock.read():
                    kind, file = resolve_request(preview.out, rest)
                    if file is not None:
                        # A page is read whole (the reload script goes in); any other file is
                        # only opened here and streamed after the lock is let go (a video in
                        # static/ was read whole into memory by every range request). An open
                        # file keeps its bytes while a build swaps a new one in by rename.
                        data = (file.read_bytes() if content_type(file.name).startswith("text/html")
                                else open(file, "rb"))  # noqa: SIM115 - closed below
                    state = self._state()
            except (OSError, UnicodeDecodeError):
                kind, data = "missing", None
            try:
                if kind == "slash":
                    self._redirect(path + "/" + (f"?{query}" if query else ""))
                elif data is None:
                    self._not_found(head)
                else:
                    assert file is not None
                    self._send(HTTPStatus.OK, content_type(file.name), data, state, head)
            finally:
                if data is not None and not isinstance(data, bytes):
                    data.close()

        def _state(self) -> dict:
            current = preview.current
            return {
                "build": preview.token(current),
                "events": preview.base_path + EVENTS,
                **problem_list(current.problems if current else ()),
            }

        def _not_found(self, head: bool) -> None:
            with preview.lock.read():
                kind, file = resolve_request(preview.out, "404.html")
                try:
                    data = file.read_bytes() if file is not None else _FALLBACK_404
                except OSError:
                    data = _FALLBACK_404
                state = self._state()
            self._send(HTTPStatus.NOT_FOUND, content_type("404.html"), data, state, head)

        def _redirect(self, location: str) -> None:
            folder = location.partition("?")[0].endswith("/")
            self.send_response(HTTPStatus.MOVED_PERMANENTLY if folder else HTTPStatus.FOUND)
            self.send_header("Location", location)
            self.send_header("Content-Length", "0")
            self.send_header("Cache-Control", "no-store")
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()

        def _send(self, status: HTTPStatus, ctype: str, data: bytes | BinaryIO, state: dict,
                  head: bool) -> None:
            """Answer with ``data`` (bytes, or a file open for reading: streamed), or the one
            byte range the request asks for."""
            if isinstance(data, bytes) and ctype.startswith("text/html"):
                data = inject(data, state)
            size = len(data) if isinstance(data, bytes) else os.fstat(data.fileno()).st_size
            span = None
            if status == HTTPStatus.OK and "If-Range" not in self.headers:
                span = byte_range(self.headers.get_all("Range") or [], size)
            if span == "unsatisfiable":
                self.send_response(HTTPStatus.REQUESTED_RANGE_NOT_SATISFIABLE)
                self.send_header("Content-Range", f"bytes */{size}")
                self.send_header("Content-Length", "0")
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                return
            first, last = span if isinstance(span, tuple) else (0, size - 1)
            if isinstance(span, tuple):
                status = HTTPStatus.PARTIAL_CONTENT
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(last - first + 1))
            if status != HTTPStatus.NOT_FOUND:
                self.send_header("Accept-Ranges", "bytes")
            if isinstance(span, tuple):
                self.send_header("Content-Range", f"bytes {first}-{last}/{size}")
            self.send_header("Cache-Control", "no-store")
            self.send_header("X-Content-Type-Options", "nosniff")
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            if head:
                return
            if isinstance(data, bytes):
                self.wfile.write(data[first:last + 1])
                return
            data.seek(first)
            left = last - first + 1
            while left > 0:
                chunk = data.read(min(left, 1 << 20))
                if not chunk:  # (cannot happen: the open file keeps its bytes)
                    self.close_connection = True
                    return
                self.wfile.write(chunk)
                left -= len(chunk)

        def _events(self, token: str, head: bool) -> None:
            self.close_connection = True
            self.send_response(HTTPStatus.OK)
            self.send_header("Content-Type", "text/event-stream; charset=utf-8")
            self.send_header("Cache-Control", "no-store")
            self.send_header("X-Accel-Buffering", "no")  # nginx: do not buffer the stream
            self.send_header("Connection", "close")
            self.end_headers()
            if head:  # the headers only: a HEAD held a thread streaming a body nobody reads
                return
            try:
                self.wfile.write(b"retry: 1000\n\n")
                self.wfile.flush()
                while not preview.stopping:
                    message, token = preview.message_since(token)
                    if message is not None:
                        body = json.dumps(message, ensure_ascii=True)
                        self.wfile.write(f"id: {token}\nevent: build\ndata: {body}\n\n".encode())
                    else:
                        self.wfile.write(b": ping\n\n")
                    self.wfile.flush()
                    preview.wait_newer(token, PING_SECONDS)
            except OSError:
                return  # the page went away

    return Handler


class PreviewServer(ThreadingHTTPServer):
    """A threading HTTP server for one `Preview`; quiet about clients that hang up."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128
    """Connections the kernel holds until accepted: with the default 5, a burst (a page and its
    thumbnails, several tabs reloading at once) had connections dropped, each retried by the
    client after 1, 3, 7 s: 200 at once took up to 8 s, some timed out."""

    def __init__(self, address: tuple[str, int], preview: Preview):
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self.preview = preview
        super().__init__(address, make_handler(preview))

    def handle_error(self, request, client_address) -> None:
        exc = sys.exc_info()[1]
        if isinstance(exc, OSError | TimeoutError):
            return
        print(f"digest serve: error answering {client_address[0]}: "
              f"{exc.__class__.__name__}: {exc}", file=sys.stderr)


# --------------------------------------------------------------------------- watching


class Watcher(FileSystemEventHandler):
    """Watchdog handler: a relevant change touches the preview; new source folders get watched.

    A watch follows the folder it was set on, not its name: a folder deleted and made
    again (a checkout, a sync tool, a backup put back), or the whole site so, went on
    unwatched, and no edit was seen until a restart. A watch whose folder is reported
    deleted or moved away, or no longer has the identity (device, inode) it was set on, is
    set again on the folder of that name; the site's own parent folder is watched too (not
    recursively), to see the site itself go and come back.
    """

    def __init__(self, preview: Preview):
        super().__init__()
        self.preview = preview
        self.observer = Observer()
        self._named = type(self.observer).__name__ == "InotifyObserver"
        """Whether an event names every file it changed (see `on_any_event`)."""
        self._watches: dict[str, tuple[object, tuple[int, int]]] = {}
        """Watched folder -> (its watch, the identity of the folder it was set on)."""
        self._guard = threading.Lock()

    def start(self) -> None:
        site = self.preview.site
        if site.parent != site:  # (a parent we may not read: a site deleted and put back goes unseen)
            with suppress(OSError):
                self.observer.schedule(self, str(site.parent), recursive=False)
        self._refresh()
        self.observer.daemon = True
        self.observer.start()
        self.preview.note(None)  # (what changed before the watches were set: the next build walks)

    def stop(self) -> None:
        self.observer.stop()
        self.observer.join(timeout=5)

    def _refresh(self, gone: frozenset[str] = frozenset()) -> None:
        """Watch the site and its source folders as they are now; ``gone`` names folders
        reported deleted or moved away (a new folder of the name may have the old inode)."""
        site = self.preview.site
        with self._guard:
            for folder, recursive in [(site, False), *((site / name, True) for name in WATCHED)]:
                key = str(folder)
                try:
                    info = os.stat(folder)
                    identity = (info.st_dev, info.st_ino) if stat.S_ISDIR(info.st_mode) else None
                except OSError:
                    identity = None
                held = self._watches.get(key)
                if held is not None and (held[1] != identity or key in gone or str(site) in gone):
                    with suppress(KeyError, OSError):  # (already gone with its folder)
                        self.observer.unschedule(held[0])
                    del self._watches[key]
                    held = None
                if identity is not None and held is None:
                    try:
                        self._watches[key] = (self.observer.schedule(self, key, recursive=recursive),
                                              identity)
                    except OSError as exc:
                        self.preview.log(f"digest: cannot watch {folder}: {exc}")

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type not in _WRITE_EVENTS:
            return
        if event.is_directory and event.event_type in ("modified", "closed"):
            return
        site = str(self.preview.site)
        paths = [os.fsdecode(event.src_path), os.fsdecode(getattr(event, "dest_path", "") or "")]
        # The paths of each event in content/ are noted, relevant or not (the walk reads
        # ``#x.md``; an editor's backup is not worth a build), unless only a walk can tell what
        # changed: a folder made, removed or moved (its files raise no event of their own), or
        # events from an observer other than inotify's (FSEvents may report a folder for its files).
        content = os.path.join(site, "content")
        if any(p in (site, content) or p.startswith(content + os.sep) for p in paths):
            self.preview.note(None if event.is_directory or not self._named else [p for p in paths if p])
        if any(p == site or (os.path.dirname(p) == site and os.path.basename(p) in WATCHED)
               for p in paths if p):
            self._refresh(frozenset(paths[:1]) if event.event_type in ("deleted", "moved")
                          else frozenset())
            if site in paths:  # the site itself went or came back
                self.preview.touch()
        if any(self.preview.relevant(p) for p in paths if p):
            self.preview.touch()


# --------------------------------------------------------------------------- running it


@dataclass
class Running:
    """A started preview: server, builder and watcher threads; `close` stops them all."""

    preview: Preview
    server: PreviewServer
    watcher: Watcher | None
    threads: list[threading.Thread]

    @property
    def url(self) -> str:
        """The site's address on this server (on this machine's loopback when it listens on
        every address: ``http://0.0.0.0:8000/`` opens nothing in some browsers)."""
        host, port = self.server.server_address[:2]
        host = {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(host, host)
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{port}{self.preview.base_path}"

    def close(self) -> None:
        self.preview.stop()
        self.server.shutdown()
        self.server.server_close()
        if self.watcher is not None:
            self.watcher.stop()
        for thread in self.threads:
            # A build under way ends at its next step (see `_Stopped`), a render's after the
            # slice its workers are on: waited for, or those workers outlive this process.
            thread.join(timeout=STOP_BUILD_SECONDS if thread.name == "digest-serve-builder" else 5)


def bind(host: str, port: int, preview: Preview, tries: int = 1) -> PreviewServer:
    """A server bound to ``host:port``, or to the next free port of ``tries``; OSError if none."""
    for offset in range(tries):
        try:
            return PreviewServer((host, port + offset), preview)
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE or offset == tries - 1:
                raise
    raise OSError(errno.EADDRINUSE, "no free port")


def start(preview: Preview, server: PreviewServer, watch: bool = True,
          report: Callable[[Outcome], None] | None = None) -> Running:
    """Serve and watch in background threads (the first build must be done already)."""
    watcher = Watcher(preview) if watch else None
    if watcher is not None:
        watcher.start()
    threads = [
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2},
                         name="digest-serve-http", daemon=True),
        threading.Thread(target=preview.run, args=(report,), name="digest-serve-builder", daemon=True),
    ]
    for thread in threads:
        thread.start()
    return Running(preview, server, watcher, threads)


@contextmanager
def running(site: Path, host: str = "127.0.0.1", port: int = 0, drafts: bool = False,
            jobs: int | None = None, quiet: float = QUIET_SECONDS, watch: bool = True,
            log: Callable[[str], None] | None = None) -> Iterator[Running]:
    """A built, served and watched preview of ``site`` for the duration of a ``with`` block."""
    preview = Preview(site, drafts=drafts, jobs=jobs, quiet=quiet, log=log or (lambda line: None))
    server = bind(host, port, preview)
    preview.build_once()
    handle = start(preview, server, watch=watch)
    try:
        yield handle
    finally:
        handle.close()


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def describe(outcome: Outcome, kept: str = "still serving the last good site") -> str:
    """One line for a finished build attempt (``kept``: what a failed one leaves)."""
    errors = sum(1 for p in outcome.problems if p.severity == "error")
    warnings = len(outcome.problems) - errors
    if not outcome.ok:
        return f"build {outcome.number} failed after {outcome.seconds:.2f}s; {kept}"
    phases = ", ".join(f"{k} {v:.2f}s" for k, v in outcome.timings.items())
    return (f"build {outcome.number}: {outcome.rendered} pages rendered, {outcome.written} files "
            f"changed, {errors} errors, {warnings} warnings in {outcome.seconds:.2f}s ({phases})")


def terminate_handler(pid: int) -> Callable:
    """SIGTERM stops the server like Ctrl-C; a forked build worker inheriting it just dies."""

    def handler(signum: int, frame) -> None:
        if os.getpid() != pid:  # a worker process its pool is ending: die as SIGTERM intends
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)
            return
        raise KeyboardInterrupt

    return handler


def serve(site: Path, host: str = "127.0.0.1", port: int | None = None, drafts: bool = False,
          open_browser: bool = False, jobs: int | None = None) -> int:
    """The ``digest serve`` command: build, serve and rebuild until Ctrl-C; the exit code
    (1 when it cannot start, 130 once stopped by Ctrl-C or SIGTERM)."""
    err = sys.stderr
    site = site.resolve()
    if not site.is_dir():
        print(f"digest: error: {site} is not a folder", file=err)
        return 1
    if not _is_loopback(host):
        print(f"digest serve: warning: listening on {host}, not loopback: anyone who can reach "
              "this machine can read the preview, drafts included", file=err)
    preview = Preview(site, drafts=drafts, jobs=jobs)
    try:
        server = bind(host, 8000 if port is None else port, preview, tries=1 if port is not None else 20)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            where = f"port {port} on {host} is" if port is not None else f"ports 8000-8019 on {host} are"
            print(f"digest serve: error: {where} already in use; stop the other server or "
                  "choose another port with --port", file=err)
        else:
            print(f"digest serve: error: cannot listen on {host}:{8000 if port is None else port}: "
                  f"{exc.strerror or exc}",
                  file=err)
        preview.stop()  # (lets go of its preview folder)
        return 1

    def report(outcome: Outcome) -> None:
        for problem in outcome.problems:
            print(str(problem), file=err)
        print(describe(outcome), file=err, flush=True)

    handle = None
    previous = signal.getsignal(signal.SIGTERM)
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, terminate_handler(os.getpid()))
    try:
        report(preview.build_once())
        handle = start(preview, server, report=report)
        print(f"Serving {site} at {handle.url} (Ctrl-C to stop); watching "
              f"{', '.join(WATCHED)} and digest.toml", file=err, flush=True)
        if open_browser:
            webbrowser.open(handle.url)
        while True:
            time.sleep(0.5)
    except KeyboardInterrupt:  # Ctrl-C, or SIGTERM (`terminate_handler`)
        # 130 (128 + SIGINT), as every command stopped so exits: 0 told a script or a process
        # manager that the server had ended by itself (`digest build` says 130 too).
        print("\ndigest serve: stopped", file=err)
        return 130
    finally:
        main = threading.current_thread() is threading.main_thread()
        if main:  # Stopping already: a second Ctrl-C while the threads wind down (a moment) cut
            # that short with a traceback, and a running build's workers each printed one more.
            previous_int = signal.signal(signal.SIGINT, signal.SIG_IGN)
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
        try:
            if handle is not None:
                handle.close()
            else:
                preview.stop()
                server.server_close()
        finally:
            if main:
                signal.signal(signal.SIGINT, previous_int)
                signal.signal(signal.SIGTERM, previous)
