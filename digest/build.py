"""The build pipeline, top to bottom: config -> load -> images -> plan -> render -> write -> cache -> search.

Everything is gathered and rendered into a staging folder first; only a build
that got through every phase touches the output folder (see `digest.write`).
"""

from __future__ import annotations

import gc
import hashlib
import operator
import os
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, ExitStack, contextmanager, nullcontext, suppress
from dataclasses import dataclass, field, replace
from functools import partial
from itertools import compress, repeat
from operator import attrgetter
from pathlib import Path
from typing import TYPE_CHECKING, Any

from digest import theme_dir, toolchain
from digest.background import Pending
from digest.cache import (
    CACHE_DIR,
    KEPT,
    RACY_NS,
    BuildCache,
    content_digest,
    inputs_fingerprint,
    racy,
    saved_records,
)
from digest.config import CONFIG_NAME, Config, load_config, read_config, version_control_dir
from digest.errors import BuildError, ConfigError, Problem
from digest.files import NotRegular, read_regular
from digest.model import Article, ThumbnailCounts
from digest.search import BUNDLE, SearchIndex, index_site, pagefind_executable
from digest.write import (
    OutputRecord,
    Staging,
    commit,
    digest_bytes,
    exclusive,
    record_of,
    remove_tree,
    stage,
    static_files,
)

if TYPE_CHECKING:
    from digest.plan import Relate, SitePlan
    from digest.related import Doc

# The parsers, the planner, the related lists and Jinja (a tenth of a second to import) are
# imported by the functions that use them, past the check that anything changed at all: a
# build that finds nothing changed is done without them.


Progress = Callable[[str, int, int], None]
"""Callback ``(phase, done, total)`` for progress display."""

Committed = Callable[[Config, list[str], int, list[Problem]], None]
"""Callback ``(config, changed output paths, files removed, problems)`` once the pages are in place."""


@dataclass
class BuildResult:
    """What a build did, for the summary and for callers such as serve and publish."""

    out: Path
    """The output folder."""
    config: Config
    """The configuration used."""
    problems: list[Problem] = field(default_factory=list)
    """Every problem found in the content (errors skipped a record, warnings did not)."""
    files: int = 0
    """Record files read."""
    articles: int = 0
    """Articles on the site."""
    pages: Counter = field(default_factory=Counter)
    """Outputs by kind."""
    written: int = 0
    """Files written (new or changed)."""
    unchanged: int = 0
    """Files whose bytes were already in place."""
    rendered: int = 0
    """Pages rendered (the rest were known unchanged from the cache)."""
    removed: int = 0
    """Stale files removed."""
    timings: dict[str, float] = field(default_factory=dict)
    """Seconds per phase."""
    changed_paths: list[str] = field(default_factory=list)
    """Output paths written by this build."""

    articles_loaded: int = 0
    """Records that loaded (valid and not a duplicate story), published or not."""
    thumbnails: ThumbnailCounts = field(default_factory=ThumbnailCounts)
    """Thumbnails planned, reused, encoded, failed, and seconds spent (see `digest.images`)."""
    search: str = ""
    """What the search indexing step did (one line; see `digest.search`)."""
    replanned: bool = False
    """True when the plan was derived from this process's previous one (`digest.plan.replan`)."""
    drafts: bool = False
    """Built with ``--drafts``: the output holds records marked ``published: false``."""
    cache: BuildCache | None = field(default=None, repr=False, compare=False)
    """The build cache as this build left it, its records, state and plan in memory (`build`
    takes it back for the next build of the same site and output in this process); None after
    a build that found nothing changed. Held here also so that a command, which exits right
    after the build, does not spend a tenth of a second per 25,000 records freeing it."""


_STATIC_LIMIT = 1 << 40
"""Bytes read of a static file at most (no limit in practice: a static file is copied whole)."""


def max_jobs() -> int:
    """The most worker processes a build forks: 4 per core (more buy nothing; ``-j 100000``
    forked until memory ran out, whoever asked: the command, a server or a script)."""
    return 4 * (os.cpu_count() or 1)


def site_lock(site: Path, create: bool = True) -> AbstractContextManager[bool]:
    """One command building ``site`` at a time (`digest.write.exclusive` on a file in its
    cache; ``create`` as there): two at once shared one staging folder and left the output
    half old, half new. The one that waits says so on stderr, once."""
    if not site.is_dir():
        return nullcontext(False)  # (the build says so; nothing is made here)

    def waiting() -> None:
        print(f"digest: another build of {site} is running; waiting for it to finish", file=sys.stderr, flush=True)

    return exclusive(site / CACHE_DIR / "build.lock", waiting, create=create)


def require_site(site: Path) -> Path:
    """The resolved site folder; a missing one is an error, not an empty site."""
    resolved = site.resolve()
    if not resolved.is_dir():
        raise BuildError(f"site folder not found: {site}" if not resolved.exists()
                         else f"not a site folder: {site} is a file")
    return resolved


def content_problems(site: Path) -> list[Problem]:
    """A warning when the site has no ``content/`` folder (it then builds an empty site)."""
    content = site / "content"
    if content.is_dir():
        return []
    if content.exists() or content.is_symlink():  # (a file, a named pipe, a broken link: not "not found")
        return [Problem("content", None, None, "not a folder: the site has no records", "warning")]
    return [Problem("content", None, None, "folder not found: the site has no records yet", "warning")]


def resolve_out(site: Path, config: Config, out: Path | None) -> Path:
    """The output folder; refuses one that would overwrite the site's own sources, or that
    is (or lies under) a file (``-o`` or ``output_dir`` alike)."""
    target = (out if out is not None else site / config.output_dir).resolve()
    if _holds_sources(target, site.resolve()):
        raise BuildError(f"refusing to build into {target}: it holds the site's own files")
    database = version_control_dir(target) or _bare_repository(target)
    if database is not None:
        raise BuildError(f"refusing to build into {target}: it is in {database}, the database of a "
                         "version-control repository, which a build would fill with pages and prune; "
                         "choose another folder (such as build or public)")
    for path in (target, *target.parents):  # the first that exists must be a folder
        if path.exists() or path.is_symlink():
            if not path.is_dir():
                where = "it is" if path == target else f"{path} is"
                raise BuildError(f"cannot build into {target}: {where} a file, not a folder")
            break
    return target


def _bare_repository(target: Path) -> Path | None:
    """The bare git repository (``site.git``: ``HEAD``, ``objects/`` and ``refs/``, no working
    tree) that ``target`` (resolved) is or lies in, if any: `version_control_dir` knows the
    databases by their names (``.git``), and a bare one is named as its owner likes. A build
    filled ``site.git`` with pages beside its objects, and would prune there."""
    for path in (target, *target.parents):
        if (path / "HEAD").is_file() and (path / "objects").is_dir() and (path / "refs").is_dir():
            return path
    return None


def _holds_sources(target: Path, root: Path) -> bool:
    """Whether ``target`` is the site folder ``root`` or a folder above it, or is or lies in its
    ``content/``, ``templates/`` or ``static/``: compared by name (for folders not made yet)
    and by file identity, since names differ where a file system ignores case (``-o Content``
    is ``content/`` on macOS and Windows) or a folder is mounted twice."""
    sources = [root / "content", root / "templates", root / "static"]
    above = [root, *root.parents]
    if target in sources or target in above or any(p in target.parents for p in sources):
        return True
    # A source that is a link (content -> /data/records) leads where its name does not say:
    # -o /data held the site's records, and the build wrote its pages among them.
    real = [p.resolve() for p in sources if p.is_symlink()]
    if any(target == p or target in p.parents or p in target.parents for p in real):
        return True

    def identity(path: Path) -> tuple[int, int] | None:
        try:
            st = path.stat()
        except OSError:
            return None
        return (st.st_dev, st.st_ino)

    found = {identity(p) for p in sources} - {None}
    itself = identity(target)
    return ((itself is not None and itself in found | {identity(p) for p in above})
            or any(identity(parent) in found for parent in target.parents))


def build(site: Path, out: Path | None = None, drafts: bool = False, jobs: int | None = None,
          progress: Progress | None = None,
          commit_lock: AbstractContextManager | None = None,
          committed: Committed | None = None,
          cache: BuildCache | None = None,
          cancel_search: Callable[[], bool] | None = None,
          changed: Iterable[str] | None = None) -> BuildResult:
    """Build the site in ``site`` into ``out`` (default ``site/build``).

    ``commit_lock``, when given, is held while staged files are swapped into ``out``
    (and only then), so a server can keep readers from seeing a half-swapped site.
    ``committed``, when given, is called once the pages are in place, before the search
    index is brought up to date, so a server can reload open pages without waiting for it.
    ``cache``, when given, is the `BuildCache` of an earlier build of the same site and
    output folder in this process: its parsed records and state are used as they are
    in memory instead of being read again (a server keeps one between builds).
    ``cancel_search``, polled while the search index is brought up to date, stops that
    step when it returns true; the next build then updates the index.
    ``changed``, with ``cache``, names every path that may have changed since that cache's last
    build (a watcher's events; see `digest.load.load_content`); None when not known.

    The cyclic garbage collector is paused for the build: it allocates millions of
    acyclic objects, and the collector's passes over them cost a third of the time.
    """
    with collector_paused(), ExitStack() as cleanup:  # (children a failed build leaves are stopped)
        return _build(site, out, drafts, jobs, progress, commit_lock, committed, cache, cancel_search,
                      changed, cleanup)


@contextmanager
def collector_paused() -> Iterator[None]:
    """The cyclic garbage collector paused, then as it was: work that allocates millions of
    acyclic objects (`digest check` reading 100,000 records back took 14-17 s with it, 6 s without)."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()


def _build(site: Path, out: Path | None, drafts: bool, jobs: int | None,
           progress: Progress | None, commit_lock: AbstractContextManager | None,
           committed: Committed | None, kept: BuildCache | None,
           cancel_search: Callable[[], bool] | None, changed: Iterable[str] | None,
           cleanup: ExitStack) -> BuildResult:
    site = require_site(site)
    jobs = min(jobs or os.cpu_count() or 1, max_jobs())
    timings: dict[str, float] = {}

    @contextmanager
    def phase(name: str):
        start = time.perf_counter()
        yield
        timings[name] = time.perf_counter() - start

    began_ns = time.time_ns()
    with phase("config"):
        config, config_digest = read_config(site)
        out = resolve_out(site, config, out)
        cache = kept if kept is not None and kept.serves(site, out) else BuildCache(site, out)
        cache.begin()
        if kept is None:
            cache.prune_others()  # (what other output folders no longer need: see there)
            cache.defer("related")  # a command's related lists are made apart (see `_relate_apart`)
        # Whether each output the last build made is still as it left it (a stat each, a
        # second per 200,000) is asked in a child while this process goes on (when it can
        # fork; otherwise, and for a server, only if and when the answer is needed). A
        # watching build (``build --watch``, whose output folder is not its own) needs it every
        # time, and asks it of a child forked once for all its builds (`BuildCache.ask_damaged`).
        if cache.owns_output or jobs == 1:
            check = cleanup.enter_context(Pending(cache.damaged, (out,), fork=jobs > 1)).result
        else:
            check = cache.ask_damaged(out)
        pagefind = pagefind_executable() if config.search else None
        # A fresh process first checks whether anything changed at all; one that kept its
        # last plan (a server) goes straight on: deriving the next plan is as cheap.
        stats: dict[str, os.stat_result] = {}
        fingerprint = None if "plan" in cache.memory else _fingerprint(site, drafts, pagefind, stats)
        # An input modified moments before (or since) this build began may change again with
        # its size and mtime as they are now (see `digest.cache.racy`): see `_named_inputs`.
        racy_inputs = _racy_inputs(site, stats, began_ns) if fingerprint else []
        unchanged_build = cache.last_build(fingerprint, check) if fingerprint else None
    search_pending = cache.search_pending
    if (unchanged_build is not None and _search_intact(out, config, unchanged_build.search)
            and not search_pending):
        # Nothing the site is made from changed and every output is intact: done.
        thumbs = unchanged_build.thumbnails
        return replace(unchanged_build, unchanged=unchanged_build.written + unchanged_build.unchanged,
                       written=0, rendered=0, removed=0, changed_paths=[], timings=timings,
                       search="search index unchanged",
                       thumbnails=replace(thumbs, reused=thumbs.planned, encoded=0, seconds=0.0))

    from digest.images import build_images
    from digest.load import load_content
    from digest.plan import plan_site, replan
    from digest.render import make_environment, page_keys, render_all, template_memo

    with phase("templates"):
        templates = template_memo(cache.state.get("templates"))
        env = make_environment(site, templates["compiled"], config.words)

    with phase("load"):
        cache.records.stats = stats  # the fingerprint's walk stat'ed every record file already
        loaded = load_content(site, site / "content", jobs, cache.records, _phase_progress(progress, "parse"),
                              config.min_quality, changed if cache is kept else None, again=cache is kept)
        cache.records.stats = stats = {}  # (100,000 of them are tens of megabytes)
        cache.save_records_early(fork=jobs > 1)  # written by a child while this process plans
        # The related lists of a command that has the last ones are brought up to date in a
        # child while this process reads its last plan (and that state is never read here);
        # with more than one job, a command without them makes them in a child too, while this
        # process plans the other pages (see `digest.plan.plan_site`).
        relating = (cleanup.enter_context(Pending(_relate_apart, (cache, loaded.articles, config, drafts,
                                                           jobs > 1), fork=jobs > 1))
                    if cache.has_kept("related") or (kept is None and jobs > 1) else None)

    staging = Staging.for_output(out)
    staging.clear()  # (a link in its place too: never written through, see `digest.write`)
    cleanup.callback(staging.clear)  # (whichever phase fails)
    had_output = staging.flat  # (an output folder to stage beside)
    previous: dict[str, OutputRecord] = cache.outputs
    with phase("images"):
        images = build_images(site, loaded.articles, config, drafts, out, staging, previous,
                              cache.state.get("images"), jobs, _phase_progress(progress, "images"))

    with phase("plan"):
        # The last plan of this process, if any, is consumed here and kept again only
        # by a build that finishes (a failed one leaves the next to plan from scratch).
        # A fresh process starts from the plan the last build saved.
        previous_plan = cache.memory.pop("plan", None)
        in_memory = previous_plan is not None
        if not in_memory:
            previous_plan = _saved_plan(cache, loaded.articles)
        options = dict(images=images.mapping, drafts=drafts, search=pagefind is not None,
                       related_state=None if relating else cache.load_kept("related"),
                       relate=_adopted(cache, relating, config) if relating else None)
        plan = (replan(previous_plan, loaded.articles, config, **options, keep_tail=kept is not None)
                if previous_plan else None)
        replanned = plan is not None
        plan = plan or plan_site(loaded.articles, config, **options, keep_tail=kept is not None,
                                 parallel=jobs > 1)

    # A server keeps its plan in memory; a command saves it for the next command (pickled
    # in a child process while the pages render, unless -j 1) when it made a new one.
    saving = (Pending(_save_plan, (cache, plan, os.getpid()), fork=jobs > 1)
              if kept is None and (not replanned or plan.reuse.members
                                   or plan.reuse.drift > max(_DRIFT, len(plan.articles) // 50))
              else None)
    if kept is None:
        # What only the next plan reads is let go now, so that the render workers forked next
        # do not each carry it (a fifth of the memory at 100,000 records): the related lists'
        # state (written now) and, once the plan is saved or being saved by a child, the
        # related-articles documents and the facts noted for saving it (see `write_plan`).
        # (A server keeps them for its next build.)
        if plan.related_state is not KEPT:  # (else a child wrote it: see `_relate_apart`)
            cache.save_early("related", plan.related_state)
        plan = replace(plan, related_state=KEPT)
        options = previous_plan = None
        if saving is None or saving.running:
            plan.reuse.docs = []
            plan.reuse.known = {}
    old_keys: dict[str, str] = cache.state.get("page_keys", {})
    outputs: dict[str, OutputRecord] = dict(images.kept)
    unchanged = len(images.kept)
    problems = content_problems(site) + list(loaded.problems) + images.problems
    try:
        with phase("render"):
            keys = page_keys(env, plan.pages, templates["refs"])
            # A process that derived this plan from its own last one (a server, writing its
            # private SITE/.digest-cache/serve) trusts the output it wrote itself; any other
            # build (``build --watch`` too) checks every unchanged output's size and mtime.
            trusted = replanned and in_memory and cache.owns_output
            damaged = frozenset() if trusted else check()
            # A page is kept when its output is there, its key is the last one, and its file is
            # intact: asked of all 220,000 pages of a 100,000-record site at once, in C.
            paths = [spec.path for spec in plan.pages]
            records = list(map(previous.get, paths))
            olds = list(map(old_keys.get, paths))
            keep = list(map(operator.and_, map(operator.eq, olds, keys), map(operator.is_not, records, repeat(None))))
            if damaged:
                keep = list(map(operator.and_, keep, map(operator.not_, map(damaged.__contains__, paths))))
            kept_paths = list(compress(paths, keep))
            outputs.update(zip(kept_paths, compress(records, keep), strict=True))
            # (The unchanged pages' keys as the very strings saved: saving compares identities first.)
            new_keys: dict[str, str] = dict(zip(kept_paths, compress(olds, keep), strict=True))
            unchanged += len(kept_paths)
            redo = list(map(operator.not_, keep))
            todo, todo_keys = list(compress(plan.pages, redo)), list(compress(keys, redo))
            report = (lambda n: progress("render", n, len(todo))) if progress else None
            rendered = render_all(site, env, todo, todo_keys, out, staging, previous, jobs, report)
            new_keys.update((item.path, item.key) for item in rendered)
            staged = [(item.path, item.digest, item.changed) for item in rendered]
            for path, source in static_files([theme_dir() / "static", site / "static"]).items():
                try:  # (opened without blocking: a named pipe swapped in since the walk waited forever)
                    data = read_regular(source, _STATIC_LIMIT)[0]
                except NotRegular:
                    problems.append(Problem(path, None, None, "not a regular file any more; not copied", "warning"))
                    continue
                staged.append((path, *stage(out, staging, path, data, previous.get(path))))
            staged += [(path, digest, was_changed) for path, (digest, was_changed) in images.staged.items()]
            digests = {path: digest for path, digest, _ in staged}
            changed = [path for path, _, was_changed in staged if was_changed]
            unchanged += len(staged) - len(changed)

        with phase("write"):
            if had_output and not out.is_dir():
                # Its unchanged files went with it: the staged ones alone would be a partial site.
                raise BuildError(f"the output folder {out} was removed during the build; build again")
            produced = set(outputs) | set(digests)
            stale = sorted(p for p in previous if p not in produced)
            with commit_lock if commit_lock is not None else nullcontext():
                result = commit(out, staging, changed, stale)
            for path, digest in digests.items():
                outputs[path] = record_of(out, path, digest)
    except BaseException:
        if saving is not None:
            saving.close()
        raise
    finally:
        staging.clear()
    if committed is not None:  # the pages are in place: open pages may reload now
        committed(config, list(changed), result.removed, list(problems))
    with phase("cache"):
        # Saved after the swap (a crash in between leaves an older cache, whose
        # manifest no longer matches the files: those pages are simply made again).
        cache.save(outputs, {"page_keys": new_keys, "related": plan.related_state,
                             "images": images.state, "templates": templates})
        if saving is not None:
            saving.result()
    cache.memory["plan"] = plan

    with phase("search"):
        if not config.search:
            remove_tree(out / BUNDLE)  # (a former build's index: no page uses it now)
            search = SearchIndex("off", "search index off (search = false in digest.toml)")
        elif not plan.articles:
            remove_tree(out / BUNDLE)  # an index of nothing: none at all
            search = SearchIndex("skipped", "search index skipped: no articles to index")
        else:
            reindex = search_pending or result.removed > 0 or any(p.endswith(".html") for p in changed)
            search = index_site(out, config, changed=reindex, executable=pagefind, cancel=cancel_search)
        if (search.status == "cancelled") != search_pending:
            cache.mark_search(search.status == "cancelled")

    kinds = Counter(map(attrgetter("kind"), plan.pages))
    kinds["static"] += sum(1 for p in outputs if p.startswith("static/"))
    built = BuildResult(
        out=out, config=config, problems=problems, files=loaded.files,
        articles=len(plan.articles), pages=kinds, written=result.written, unchanged=unchanged,
        rendered=len(todo), removed=result.removed, timings=timings, changed_paths=changed, search=search.message,
        articles_loaded=len(loaded.articles), thumbnails=images.counts, replanned=replanned, drafts=drafts,
    )
    named = _named_inputs(site, cache, images.state, config_digest, racy_inputs) if fingerprint else None
    if named is not None and search.status not in ("failed", "cancelled"):
        cache.save_summary(fingerprint, out, built, named)
    built.cache = cache  # (after the summary, which must not carry it)
    return built


def _phase_progress(progress: Progress | None, name: str) -> Callable[[int, int], None] | None:
    """``progress`` for one phase, as ``(done, total)``."""
    return (lambda done, total: progress(name, done, total)) if progress else None


_DRIFT = 64
"""A build saves its plan when it was made from scratch, when articles were added or removed
since the saved one (its label no longer names the articles shown: edits after would derive
them again each time), or when more articles than this (or than 2% of them) changed since the
saved one (each is derived again by every build)."""


def _saved_plan(cache: BuildCache, articles: Sequence[Article]) -> SitePlan | None:
    """The plan the last command saved (see `label_fits`), bound to ``articles``, if this
    program saved it (as all the cache: see `digest.toolchain`)."""
    from digest.plan import LABEL_SIZE, label_fits, load_plan

    saved = cache.saved_plan(LABEL_SIZE, label_fits)
    if saved is None:
        return None
    data, start = saved
    return load_plan(data, articles, start)


def _save_plan(cache: BuildCache, plan: SitePlan, parent: int) -> bool:
    """Pickle ``plan`` and write it to the cache (run in a child: nothing comes back).

    The child yields to the render workers (``nice``): on two busy cores it mostly runs
    in the gaps they leave (writing, the cache) instead of slowing them down.
    """
    from digest.plan import plan_label, write_plan

    if os.getpid() != parent:
        os.nice(10)
    cache.save_plan(plan_label(plan.articles), partial(write_plan, plan))
    return True


def save_kept_plan(cache: BuildCache) -> bool:
    """Save the plan a process kept in memory (``digest build --watch``'s last) for the next
    command, which otherwise derives its plan from an older one or makes it from scratch;
    False when there is none. Hold the site's lock (`site_lock`)."""
    plan = cache.memory.get("plan")
    if plan is None:
        return False
    return _save_plan(cache, plan, os.getpid())


def _relate_apart(cache: BuildCache, articles: Sequence[Article], config: Config,
                  drafts: bool, parallel: bool = False) -> tuple[dict[str, tuple[str, ...]], tuple | None, bytes]:
    """The related lists of the articles the site shows, made from the last ones if any (read
    here, and saved here brought up to date, with `BuildCache.save_early`), the saved state's
    head for `BuildCache.adopt` and the `_docs_digest` of the docs they were made for.

    Run by a command in a child (see `digest.background`): while it reads its last plan, so
    that the related state (a tenth of a second per 10,000 records to read, as much again
    to bring up to date) is never read in the command's own process; or, in a first build (or
    the first after an upgrade), while it plans the other pages, which read no related list
    (on two busy cores the time this saves is within the noise, 0.1-0.8 s of a 10,000-record
    first build's 4-5 s of planning in three interleaved series; but the build process never
    holds the related state, nor do the render workers forked from it: 320 MB less each at
    100,000 records). With ``parallel``, half of the lists to make are scored
    in a second child (see `compute_related`). The answer is what `digest.plan.plan_site` or
    `replan` would make (see `_adopted`)."""
    from digest.plan import select
    from digest.related import compute_related, docs_with

    previous = cache.load_kept("related")
    docs = docs_with(select(articles, config, drafts), previous)
    related, state = compute_related(docs, config.related_count, previous, parallel=parallel)
    cache.save_early("related", state)
    return related, cache.head("related"), _docs_digest(state.own)


def _docs_digest(digests: Iterable[bytes]) -> bytes:
    """Digest of the related docs' own digests, whatever their order (each doc's holds its
    date and id, which decide its place)."""
    return hashlib.blake2b(b"".join(sorted(digests)), digest_size=16).digest()


def _adopted(cache: BuildCache, relating: Pending, config: Config) -> Relate:
    """The planner's `digest.plan.Relate` for a build whose related lists are made apart
    (`_relate_apart`): its answer, once the docs the planner has are found to be the same
    (they always are: it is a check), with `KEPT` for the state (saved already). Otherwise
    the lists are made here, from the state the child saved."""
    from digest.related import compute_related

    answers: dict[bytes, tuple[dict, Any]] = {}

    def relate(docs: list[Doc]) -> tuple[dict[str, tuple[str, ...]], Any]:
        want = _docs_digest(d.digest for d in docs)
        if want not in answers:
            related, head, made_for = relating.result()
            if head is not None:
                cache.adopt("related", head)
            if head is None or made_for != want:
                related, state = compute_related(docs, config.related_count, cache.load_kept("related"))
                cache.save_early("related", state)
            answers[want] = (related, KEPT)
        return answers[want]

    return relate


def _search_intact(out: Path, config: Config, last: str) -> bool:
    """False when the last build made a search index that is no longer in place."""
    return not config.search or "skipped" in last or (out / BUNDLE / "pagefind.js").is_file()


def _fingerprint(site: Path, drafts: bool, pagefind: str | None,
                 stats: dict[str, os.stat_result] | None = None) -> str:
    """Digest of everything a build reads: content, templates, static files, config, program
    (``stats`` receives the stat of each file read, see `digest.cache.inputs_fingerprint`)."""
    theme = theme_dir()
    program = Path(__file__).resolve().parent
    extra = f"{toolchain()}|drafts={drafts}|search={pagefind}"
    return inputs_fingerprint(
        [site / "content", site / "templates", site / "static", theme / "templates", theme / "static"],
        [site / CONFIG_NAME, *sorted(program.rglob("*.py"))],
        extra, stats, confined=(site / "content", site),
    )


def sources_fingerprint(site: Path, drafts: bool = False) -> str:
    """Digest of the site's sources as a build reads them (see `_fingerprint`): equal when
    nothing changed in between (``digest build --watch`` asks it around its first build)."""
    return _fingerprint(site, drafts, None)


def _racy_inputs(site: Path, stats: dict[str, os.stat_result], began_ns: int) -> list[tuple[str, int]]:
    """The inputs the fingerprint stat'ed (and ``digest.toml``) that are `racy`, with their mtimes:
    changed so shortly before the build began that they may change again unseen by their stat
    (see `_named_inputs`)."""
    since = began_ns - RACY_NS  # (`racy`, inline: 100,000 stats at every build)
    found = [(path, st.st_mtime_ns) for path, st in stats.items() if st.st_mtime_ns >= since]
    config = str(site / CONFIG_NAME)
    with suppress(OSError):
        if racy(mtime := os.stat(config).st_mtime_ns, began_ns):
            found.append((config, mtime))
    return found


_RACY_NAMED = 256
"""Most `_racy_inputs` a build's summary names (each is read and hashed by the next build)."""


def _named_inputs(site: Path, cache: BuildCache, pictures: Mapping[str, tuple], config_digest: str | None,
                  racy_inputs: list[tuple[str, int]]) -> dict[str, str] | None:
    """What the build's summary says of its `_racy_inputs`, for `digest.cache.BuildCache.last_build`
    to compare; None when no summary can be saved (the next build then checks everything).

    - Those still `racy` as the build ends (an edit built at once: the common case) are named,
      with the digest of the bytes the build read, when all are record files (their record
      cache entries hold it) or ``digest.toml`` (``config_digest``) and there are at most
      `_RACY_NAMED`; a template or a picture written moments ago means None.
    - Those no longer racy (a build that took longer than `RACY_NS`, such as the first build
      after a scraper's batch of thousands) are read again now, records, ``digest.toml`` and
      pictures (whose digest the images state holds, ``pictures``), and must hold the bytes the
      build used: a write after this read gets another mtime, which the next build's walk sees.
      Any other input, or one that changed, means None. (Before, such a batch saved no summary,
      and the next build with nothing changed read every record back and planned again: 1.6 s
      instead of 0.35 s at 10,000 records.)

    (The bytes read, not the file's as read at some other moment: a file changed and changed
    back within one clock tick, around the build's read, is not mistaken for what it showed.)"""
    now = time.time_ns()  # (before the files are read again: see above)
    used = cache.records.entries  # (once saved: those this build used, the bytes' digest in each)
    config = str(site / CONFIG_NAME)
    named = {}
    for path, mtime in racy_inputs:
        if path == config:
            digest = config_digest
        else:
            try:
                entry = used.get(Path(path).relative_to(site).as_posix())
            except ValueError:
                return None
            digest = entry[2] if entry is not None else None
        if racy(mtime, now):
            if digest is None or len(named) == _RACY_NAMED:
                return None
            named[path] = digest
        elif digest is not None:
            if content_digest(path) != digest:
                return None
        elif not _picture_unchanged(site, pictures, path):
            return None
    return named


def _picture_unchanged(site: Path, pictures: Mapping[str, tuple], path: str) -> bool:
    """Whether ``path`` is a cached picture that still holds the bytes the images phase read
    (``pictures``: its state, by file name)."""
    from digest.images import IMAGES_DIR, MAX_BYTES

    entry = pictures.get(Path(path).name)
    if entry is None or Path(path).parent != site / "content" / IMAGES_DIR or not entry[3].digest:
        return False
    try:
        raw = read_regular(path, MAX_BYTES + 1)[0]
    except OSError:  # (`NotRegular` too)
        return False
    return digest_bytes(raw) == entry[3].digest


def built_output(site: Path, config: Config, out: Path, drafts: bool = False) -> list[Problem]:
    """What ``digest publish --no-build`` says of the output folder ``out`` (`resolve_out`'s) of
    ``site`` (resolved) as the last build left it: a warning when it may not be what a build
    would make now; a `BuildError` when it holds no build at all, or a ``--drafts`` build (records
    marked ``published: false``) and ``drafts`` is false. Whether the site changed is decided as
    `build` decides that nothing did: the fingerprint of its inputs against the one its last
    build saved (`BuildCache.last_build`). Files changed by hand in the output folder are not
    judged: they are published as they are."""
    require_site(site)  # (a missing site folder is that, not an output folder holding no build)
    shown = _shown_output(site, out, config)
    rebuild = f"run digest build{' --drafts' if drafts else ''} first, or publish without --no-build"
    try:
        empty = next(os.scandir(out), None) is None
    except OSError:  # (no such folder: a file in its place is refused by `resolve_out`)
        raise BuildError(f"{shown} holds no build (no such folder): {rebuild}") from None
    cache = BuildCache(site, out)
    if empty or (not cache.outputs and not (out / "index.html").is_file()):
        what = "an empty folder" if empty else "no page of a digest build, and no record of one"
        raise BuildError(f"{shown} holds no build ({what}): {rebuild}")
    if not cache.outputs:  # (the cache was deleted, or is another user's or machine's)
        return [Problem(shown, None, None, f"no record of the build in it in {CACHE_DIR}/ (deleted, or made "
                             "by another user or machine): it is published as it is, up to date or not; "
                             f"{rebuild} to be sure", "warning")]
    last = cache.last_summary()
    if last is not None and last[0].drafts and not drafts:
        raise BuildError(f"{shown} holds a --drafts build (records marked published: false would be published): "
                         "run digest build first, or publish with --drafts to send it as it is")
    stats: dict[str, os.stat_result] = {}
    pagefind = pagefind_executable() if config.search else None
    built_drafts = last[0].drafts if last is not None else drafts
    # (the outputs are not judged: `damaged` is no concern here, hence `frozenset`, none damaged)
    if last is not None and cache.last_build(_fingerprint(site, built_drafts, pagefind, stats), frozenset) is not None:
        if drafts and not built_drafts:
            return [Problem(shown, None, None, "holds a build without drafts (the last build into it had no "
                                 "--drafts): it is published as it is; run digest build --drafts first to "
                                 "publish them", "warning")]
        return []
    if last is None:
        said = "the last build into it failed or was stopped, or the site changed since"
    else:
        with suppress(OSError):
            stats[str(site / CONFIG_NAME)] = os.stat(site / CONFIG_NAME)
        newer = sorted(Path(path).relative_to(site).as_posix() for path, st in stats.items()
                       if st.st_mtime_ns > last[1] and Path(path).is_relative_to(site))
        named = ", ".join(newer[:3]) + (f" and {len(newer) - 3} more" if len(newer) > 3 else "")
        said = f"the site changed since the last build into it ({named or 'a file was removed or moved, or digest itself changed'})"
    left = "that build" if last is not None else "the last complete build"
    return [Problem(shown, None, None, f"{said}; it is published as {left} left it: {rebuild}", "warning")]


def _shown_output(site: Path, out: Path, config: Config) -> str:
    """The output folder as a message names it: ``build/``, ``public/ (output_dir in digest.toml)``,
    or its absolute path when it lies outside the site."""
    try:
        name = out.relative_to(site).as_posix() + "/"
    except ValueError:
        return str(out)
    return name if config.output_dir == Config().output_dir else f"{name} (output_dir in {CONFIG_NAME})"


def check(site: Path, drafts: bool = True,
          progress: Progress | None = None) -> tuple[list[Problem], int, int]:
    """Validate config and content without writing anything: (problems, files, articles).

    The images of drafts are checked too (``drafts``): a draft is published some day, and
    `digest check` is how a scraper's output is gated before that. The records the last build
    parsed are read from its cache and used where their files are as they were (see
    `saved_records`): at 10,000 records a check after a build took 18 s parsing them all again.
    ``progress`` follows the parsing of the others, as a build's does."""
    from digest.images import check_images
    from digest.load import load_content

    site = require_site(site)
    try:
        config, problems = load_config(site), []
    except ConfigError as exc:  # (the records are checked all the same: "report every problem")
        config, problems = Config(), list(exc.problems)
    with collector_paused():
        loaded = load_content(site, site / "content", os.cpu_count() or 1, saved_records(site),
                              _phase_progress(progress, "parse"), config.min_quality)
    problems += content_problems(site) + list(loaded.problems) + check_images(site, loaded.articles, config, drafts)
    return problems, loaded.files, len(loaded.articles)
