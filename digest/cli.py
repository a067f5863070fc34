"""Commands and exit codes (0 done, 1 problems or failure, 2 usage, 130 stopped by Ctrl-C or
SIGTERM); no build logic here."""

from __future__ import annotations

import argparse
import errno
import gc
import os
import re
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path

from digest import __version__
from digest.errors import BuildError, ConfigError, DigestError, Problem, TemplateError, printable


def _print_problems(problems: list[Problem]) -> None:
    for problem in problems:
        print(str(problem), file=sys.stderr)


class _ProgressBar:
    """A one-line progress display on stderr, only when it is a terminal."""

    def __init__(self) -> None:
        self.enabled = sys.stderr.isatty()
        self.last = 0.0

    def __call__(self, phase: str, done: int, total: int) -> None:
        if not self.enabled or total < 200:
            return
        now = time.monotonic()
        if done < total and now - self.last < 0.1:
            return
        self.last = now
        width = 30
        filled = int(width * done / max(total, 1))
        sys.stderr.write(f"\r{phase:>7} [{'#' * filled}{'.' * (width - filled)}] {done}/{total}")
        if done >= total:
            sys.stderr.write("\r" + " " * (width + 30) + "\r")
        sys.stderr.flush()


def _count(problems: list[Problem]) -> tuple[int, int]:
    errors = sum(1 for p in problems if p.severity == "error")
    return errors, len(problems) - errors


def cmd_build(args: argparse.Namespace) -> int:
    from digest.build import build, max_jobs, site_lock

    if (args.jobs or 1) > max_jobs():  # (`build` caps it anyway: this says so)
        print(f"digest: -j {args.jobs}: using {max_jobs()} worker processes (4 per core at most)", file=sys.stderr)
        args.jobs = max_jobs()
    site = Path(args.site)
    if args.output:
        _refuse_cache_output(site, Path(args.output))
    if args.watch:
        if args.strict:
            print("digest: error: --strict and --watch do not go together (a watching build has no exit "
                  "status to give; digest check --strict tells whether the site has problems)", file=sys.stderr)
            return 2
        from digest.watch import watch

        gc.enable()  # (`run` turned it off for a build that exits when done: this one goes on)
        return watch(site, Path(args.output) if args.output else None, drafts=args.drafts, jobs=args.jobs)
    with site_lock(site):  # (a failed build removes what it staged itself)
        result = args.result = build(site, Path(args.output) if args.output else None,
                                     drafts=args.drafts, jobs=args.jobs, progress=_ProgressBar())
    _print_problems(result.problems)
    errors, warnings = _count(result.problems)
    kinds = ", ".join(f"{n} {k}" for k, n in sorted(result.pages.items(), key=lambda kv: -kv[1]))
    phases = ", ".join(f"{k} {v:.2f}s" for k, v in result.timings.items())
    total = sum(result.timings.values())
    print(f"Read {result.files} record files: {result.articles_loaded} loaded, "
          f"{result.files - result.articles_loaded} skipped ({errors} errors, {warnings} warnings); "
          f"{result.articles} articles on the site.")
    print(f"Pages: {kinds}.")
    print(f"Wrote {result.written} files, {result.unchanged} unchanged, {result.removed} removed "
          f"({result.rendered} pages rendered) in {result.out}")
    if result.search:
        print(f"Search: {result.search}.")
    t = result.thumbnails
    print(f"Thumbnails: {t.planned} planned from {t.sources} images, {t.reused} reused, "
          f"{t.encoded} encoded, {t.failed} images failed ({t.seconds:.2f}s).")
    print(f"Time: {phases}; total {total:.2f}s.")
    if args.strict and result.problems:
        print(f"--strict: {len(result.problems)} problems", file=sys.stderr)
        return 1
    return 0


def _refuse_cache_output(site: Path, out: Path) -> None:
    """``-o`` naming the site's build cache or a folder in it, as ``output_dir`` may not: the
    cache prunes its thumbnail store (``-o SITE/.digest-cache/thumbs`` lost the 404 page and
    the feeds), keeps its own files beside the pages (every record, drafts included, in
    ``-o SITE/.digest-cache``), and is safe to delete. (``digest serve`` builds there itself.)"""
    from digest.cache import CACHE_DIR

    cache, target = (site / CACHE_DIR).resolve(), out.resolve()
    try:
        same = cache.exists() and any(os.path.samefile(cache, p) for p in (target, *target.parents) if p.exists())
    except OSError:
        same = False
    if same or target == cache or cache in target.parents:
        raise BuildError(f"refusing to build into {target}: it is in the site's build cache ({CACHE_DIR}/), "
                         "which digest manages and which is safe to delete; choose another folder")


def _folder(text: str) -> str:
    """A folder argument: an empty one (``digest build "$SITE"`` with SITE unset) is refused, not
    read as ``.``: it built, and wrote ``build/`` and a cache into, whatever folder the shell was in."""
    if not text:
        raise argparse.ArgumentTypeError("empty path: name a folder")
    return text


def _port(text: str) -> int:
    """``--port``: a TCP port number (0 to 65535)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid port {text!r}: expected a number") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"invalid port {value}: expected 0 to 65535")
    return value


def _max_deletes(text: str) -> int:
    """``--max-deletes``: a count, or -1 for no cap (``-5`` lifted the cap as -1 does: the
    one safety against a mass delete, gone by a typo)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid count {text!r}: expected a number") from None
    if value < -1:
        raise argparse.ArgumentTypeError(f"invalid count {value}: expected 0 or more (or -1: no cap)")
    return value


def _publish_arguments(p: argparse.ArgumentParser) -> None:
    """The options of ``digest publish`` (here, not beside its code: importing that costs
    every command, ``build`` included, a twentieth of a second)."""
    p.add_argument("site", nargs="?", default=".", type=_folder, help="site folder (default: .)")
    p.add_argument("--to", required=True, metavar="TARGET",
                   help="file:///path, git+file|ssh|https://...repo.git#branch, or s3://bucket/prefix")
    p.add_argument("--dry-run", action="store_true",
                   help="print what would be uploaded, changed and deleted; change nothing")
    p.add_argument("--delete", action=argparse.BooleanOptionalAction, default=False,
                   help="delete target files the build no longer has (default: keep them)")
    p.add_argument("--max-deletes", type=_max_deletes, default=256, metavar="N",
                   help="with more stale files than N, delete none (default 256; -1: no cap)")
    p.add_argument("--force", action="store_true", help="delete even past --max-deletes")
    p.add_argument("--build", action=argparse.BooleanOptionalAction, default=True,
                   help="build the site first (default) or publish the output folder as it is")
    p.add_argument("--drafts", action="store_true", help="build with records marked published: false")
    p.add_argument("--squash", action="store_true",
                   help="git: replace the branch history with a single commit")
    p.add_argument("--endpoint-url", metavar="URL",
                   help="s3: an S3-compatible endpoint (R2, MinIO, SeaweedFS, ...)")
    p.add_argument("-j", "--jobs", type=int, default=min(16, 4 * (os.cpu_count() or 1)),
                   help="parallel uploads (s3)")
    p.add_argument("-v", "--verbose", action="store_true", help="list every file sent or deleted")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _reason(error: object) -> str:
    """What went wrong, without the file names: ``No space left on device``."""
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    text = str(error)
    found = re.match(r"\[Errno \d+\] ([^:]+)", text)
    return found.group(1) if found else text


def _describe_os_error(exc: OSError) -> str:
    """An operating-system error as a person reads it: the file, then what went wrong."""
    if isinstance(exc, shutil.Error) and exc.args and isinstance(exc.args[0], list) and exc.args[0]:
        # ``copytree`` gathers one error per file (a full disk: every file): the first says it.
        _source, dest, why = exc.args[0][0]
        more = len(exc.args[0]) - 1
        return f"{dest}: {_reason(why)}" + (f" (and {more} more files)" if more else "")
    what = exc.strerror or str(exc) or exc.__class__.__name__
    if exc.filename is not None and exc.filename2 is not None:
        return f"{os.fsdecode(exc.filename)} -> {os.fsdecode(exc.filename2)}: {what}"
    if exc.filename is not None:
        return f"{os.fsdecode(exc.filename)}: {what}"
    return what


def cmd_check(args: argparse.Namespace) -> int:
    from digest.build import check

    problems, files, articles = check(Path(args.site), progress=_ProgressBar())
    _print_problems(problems)
    errors, warnings = _count(problems)
    print(f"Checked {files} record files: {articles} valid, {errors} errors, {warnings} warnings.")
    if errors or (args.strict and problems):
        return 1
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from digest.serve import serve

    return serve(Path(args.site), host=args.host, port=args.port, drafts=args.drafts,
                 open_browser=args.open)


def cmd_publish(args: argparse.Namespace) -> int:
    from digest.publish.command import run

    return run(args, _ProgressBar(), _print_problems)


def cmd_init(args: argparse.Namespace) -> int:
    from digest.render import theme_dir

    target = Path(args.dir)
    if target.exists() and not target.is_dir():
        print(printable(f"digest: {target} exists and is not a folder; choose a new folder"), file=sys.stderr)
        return 1
    # (a folder with only hidden entries counts as empty: `git init site && digest init site`;
    # nothing init makes starts with a dot, so none of them is touched)
    if target.exists() and any(not entry.name.startswith(".") for entry in target.iterdir()):
        print(printable(f"digest: {target} exists and is not empty; choose a new folder"), file=sys.stderr)
        return 1
    theme = theme_dir()
    sample = theme / "sample-content"
    if not sample.is_dir():
        sample = theme / "content"
    # Made in a sibling folder, then renamed into place: a full disk or Ctrl-C halfway
    # left a half-made site that the retry then refused ("exists and is not empty").
    existed = target.is_dir()
    # (`digest init .` in a new empty folder: `.` has no name and is its own parent, so the
    # sibling was made inside it and the rename failed "Device or resource busy")
    place = Path(os.path.abspath(target))
    moved: list[Path] = []
    try:
        place.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{place.name}.digest-init-", dir=place.parent))
    except OSError as exc:
        # (a file where a parent folder should be: mkdir says "File exists", the truth is this)
        why = os.strerror(errno.ENOTDIR) if isinstance(exc, FileExistsError) else exc.strerror or exc
        print(printable(f"digest: cannot create {target}: {why}"), file=sys.stderr)
        return 1
    try:
        shutil.copytree(sample, staging / "content")
        (staging / "digest.toml").write_text(
            '# Settings for this digest; every key is optional (see the README).\n'
            'title = "My News Digest"\n'
            'description = "Stories worth reading, picked by hand."\n'
            'base_url = "http://localhost:8000/"\n'
            'language = "en"\n'
            'timezone = "UTC"\n'
            'page_size = 20\n', encoding="utf-8")
        (staging / "templates").mkdir()
        (staging / "static").mkdir()
        staging.chmod(0o777 & ~_umask())  # (mkdtemp makes it private)
        if existed:  # (its parts moved in: the folder itself may be a shell's working folder)
            for part in sorted(staging.iterdir()):
                os.replace(part, place / part.name)
                moved.append(place / part.name)
            staging.rmdir()
        else:
            os.replace(staging, place)
    except BaseException as exc:
        shutil.rmtree(staging, ignore_errors=True)
        for part in moved:
            shutil.rmtree(part, ignore_errors=True) if part.is_dir() else part.unlink(missing_ok=True)
        if existed:
            target.mkdir(exist_ok=True)
        if not isinstance(exc, OSError):
            raise
        why = exc.args[0][0][2] if isinstance(exc, shutil.Error) and exc.args and exc.args[0] else exc
        print(printable(f"digest: cannot create the site in {target}: {_reason(why)}; nothing was left behind"),
              file=sys.stderr)
        return 1
    count = sum(1 for p in (target / "content").rglob("*") if p.is_file())
    print(f"Created a new site in {target} ({count} sample files).")
    print(f"Next: digest build {target}   (or: digest serve {target})")
    return 0


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="digest", description="Static site generator for curated news digests.")
    parser.add_argument("--version", action="version", version=f"digest {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("build", help="build the site into its output folder")
    p.add_argument("site", nargs="?", default=".", type=_folder, help="site folder (default: .)")
    p.add_argument("-o", "--output", type=_folder, help="output folder (default: SITE/build)")
    p.add_argument("--drafts", action="store_true", help="include records with published: false")
    p.add_argument("--strict", action="store_true", help="exit 1 if any problem was found")
    p.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 1, help="worker processes (default: cores)")
    p.add_argument("--watch", action="store_true",
                   help="keep running: build again at every change of the site (Ctrl-C to stop)")
    p.set_defaults(func=cmd_build)

    p = sub.add_parser("check", help="validate content and config; write nothing")
    p.add_argument("site", nargs="?", default=".", type=_folder, help="site folder (default: .)")
    p.add_argument("--strict", action="store_true", help="exit 1 on warnings too")
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("serve", help="preview the site with live reload")
    p.add_argument("site", nargs="?", default=".", type=_folder, help="site folder (default: .)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    p.add_argument("--port", type=_port, default=None,
                   help="port (default: 8000, or the next free one when it is taken)")
    p.add_argument("--drafts", action="store_true", help="include records with published: false")
    p.add_argument("--open", action="store_true", help="open the site in a web browser")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("publish", help="push the built site to static hosting (only what changed)")
    _publish_arguments(p)
    p.set_defaults(func=cmd_publish)

    p = sub.add_parser("init", help="create a new site with sample content")
    p.add_argument("dir", type=_folder, help="folder to create")
    p.set_defaults(func=cmd_init)
    return parser


def interrupt_on_sigterm() -> None:
    """Make SIGTERM (from `timeout`, a CI runner, systemd) unwind like Ctrl-C: staged files
    are removed, child processes (Pagefind, workers) stopped, the output left as it was.

    Forked children (render and parse workers, background jobs) get the default action
    back as they start: a pool ends its workers with SIGTERM and must not wait for a
    Python handler (one such worker, blocked on its queue's lock, never died).
    """

    def handler(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, handler)
    if hasattr(os, "register_at_fork"):  # POSIX; elsewhere nothing is forked
        os.register_at_fork(after_in_child=_default_sigterm)


def _default_sigterm() -> None:
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def main(argv: list[str] | None = None) -> int:
    """Run one command line (``argv``, default ``sys.argv[1:]``); the exit status."""
    return dispatch(parse(argv))


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    """The parsed command line (argparse exits with its message when it is wrong)."""
    parser = make_parser()
    args = parser.parse_args(argv)
    if getattr(args, "jobs", 1) is not None and getattr(args, "jobs", 1) < 1:
        parser.error("--jobs must be at least 1")
    return args


def dispatch(args: argparse.Namespace) -> int:
    """Run the command ``args`` names; the exit status, with errors printed as messages."""
    try:
        return args.func(args)
    except ConfigError as exc:
        _print_problems(exc.problems)
        return 1
    except TemplateError as exc:  # named as content problems are: templates/x.html:3: ...
        site = getattr(args, "site", None)
        located = exc.relative_to(Path(site)) if isinstance(site, str) else exc
        print(printable(f"digest: error: {located}"), file=sys.stderr)
        return 1
    except DigestError as exc:
        # (printable: a message may quote a template name, a path or a target as written,
        # `{% extends "a\x1b[2J" %}`, and an escape sequence could clear the terminal)
        print(printable(f"digest: error: {exc}"), file=sys.stderr)
        return 1
    except OSError as exc:  # a full disk, a read-only or vanished folder: no traceback
        print(printable(f"digest: error: {_describe_os_error(exc)}"), file=sys.stderr)
        return 1
    except RuntimeError as exc:  # Python < 3.13: `Path.resolve` of a symbolic link loop (a path
        # given as SITE, -o or a target); 3.13 raises OSError (ELOOP), caught above
        found = re.fullmatch(r"Symlink loop from '(.*)'", str(exc), re.S)
        if found is None:
            raise
        print(printable(f"digest: error: {found.group(1)}: Too many levels of symbolic links"), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        if args.command == "build":
            print("digest: interrupted; the output folder holds the last complete build "
                  "(the next build finishes the work)", file=sys.stderr)
        else:
            print("digest: interrupted", file=sys.stderr)
        return 130


def run() -> None:
    """The ``digest`` command: `main`, then exit without tearing down the heap.

    A large build leaves millions of objects; freeing them one by one at exit took
    a second at 100,000 records, for nothing. So the build's result, which holds its
    cache, stays referenced (``args.result``) until the exit, which frees nothing.
    Output is flushed and every file the build wrote is closed by then. (``digest serve``
    keeps the collector: it runs build after build and must free what each leaves.)
    """
    if sys.argv[1:2] == ["build"]:
        # One build, then exit: re-enabling the cyclic collector after the build would
        # only make it walk the whole heap once (a second at 100,000 records).
        gc.disable()
    interrupt_on_sigterm()
    from digest.background import children_die_with_parent

    children_die_with_parent()  # (a build killed with SIGKILL leaves no worker behind)
    args = parse()
    code = dispatch(args)  # (``args.result``, a build's, is freed by the exit, not before it)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
