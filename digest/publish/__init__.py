"""Push a built site to static hosting: pick the adapter by URL scheme, plan, then apply.

Sits on top of `digest.build.build`: with ``build=True`` the site is built first,
otherwise the existing output folder is published as it is. Adapters, one module
each: `digest.publish.folder` (``file://``), `digest.publish.git` (``git+file://``,
``git+ssh://``, ``git+https://``) and `digest.publish.s3` (``s3://``); the interface
they share is in `digest.publish.common`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from digest.errors import Problem
from digest.publish.common import (
    Adapter,
    Options,
    Progress,
    PublishError,
    PublishPlan,
    redact,
    scan_folder,
)

SCHEMES = ("file", "git+file", "git+ssh", "git+https", "git+http", "s3")

__all__ = ["Options", "PublishError", "PublishPlan", "PublishResult", "open_target", "publish"]


@dataclass
class PublishResult:
    """What a publish did (or, with ``dry_run``, would do)."""

    plan: PublishPlan
    """The decisions: uploads in order, deletes, withheld deletes, unchanged count."""
    out: Path
    """The output folder that was published."""
    dry_run: bool
    """True if nothing was changed."""
    seconds: float = 0.0
    """Wall time of planning and applying (not the build)."""
    build: object | None = None
    """The `digest.build.BuildResult` when the site was built first."""
    timings: dict[str, float] = field(default_factory=dict)
    """Seconds per phase: scan, plan, apply."""
    problems: list[Problem] = field(default_factory=list)
    """Warnings on the output folder published without a build (`digest.build.built_output`):
    the site changed since its last build, or that build did not finish."""

    @property
    def uploaded(self) -> int:
        return 0 if self.dry_run else len(self.plan.uploads)

    @property
    def deleted(self) -> int:
        return 0 if self.dry_run else len(self.plan.deletes)

    @property
    def bytes_sent(self) -> int:
        return 0 if self.dry_run else self.plan.bytes_to_send


def open_target(url: str, options: Options) -> Adapter:
    """The adapter for ``url``, chosen by its scheme."""
    try:
        scheme = urlsplit(url).scheme.lower()
    except ValueError:  # (an unclosed IPv6 bracket)
        raise PublishError(f"cannot read the target {redact(url)!r} as a URL") from None
    if scheme == "file":
        from digest.publish.folder import FolderTarget
        return FolderTarget(url)
    if scheme.startswith("git+") and scheme in SCHEMES:
        from digest.publish.git import GitTarget
        return GitTarget(url)
    if scheme == "s3":
        from digest.publish.s3 import S3Target
        return S3Target(url, options)
    raise PublishError(f"unknown publish target {redact(url)!r}: use one of "
                       + ", ".join(f"{s}://" for s in SCHEMES))


def publish(site: Path, target: str, options: Options | None = None, *, build: bool = True,
            dry_run: bool = False, drafts: bool = False, progress: Progress | None = None,
            warn: Callable[[list[Problem]], None] | None = None) -> PublishResult:
    """Build ``site`` (unless ``build`` is false) and publish its output folder to ``target``.

    ``warn``, when given, is called with the problems found (the build's, or with ``build``
    false what `digest.build.built_output` says of the output folder) as soon as they are
    known, before anything is sent: a user told only after an upload of minutes that the
    folder was older than the site could not stop it. They are in the result all the same."""
    from digest.build import site_lock

    options = options or Options()
    site = site.resolve()
    adapter = open_target(target, options)  # a bad target fails before a long build
    # While another build of the site runs, wait (a --no-build publish would send a
    # half-swapped folder; it makes no lock file).
    with site_lock(site, create=build):
        return _publish(site, adapter, options, build, dry_run, drafts, progress, warn)


def _publish(site: Path, adapter: Adapter, options: Options, build: bool, dry_run: bool,
             drafts: bool, progress: Progress | None,
             warn: Callable[[list[Problem]], None] | None) -> PublishResult:
    from digest.build import build as build_site
    from digest.build import built_output, resolve_out
    from digest.config import load_config

    built = None
    problems = []
    try:
        if build:
            built = build_site(site, None, drafts=drafts, progress=progress)
            out = built.out
            adapter.check(site, out)
        else:
            # The target is judged first (one inside the site is refused whatever the output
            # holds), then what the output folder holds and whether a build would make it now.
            config = load_config(site)
            out = resolve_out(site, config, None)
            adapter.check(site, out)
            problems = built_output(site, config, out, drafts)
        if warn is not None:
            warn(list(built.problems if built is not None else problems))
        start = time.perf_counter()
        files = scan_folder(out)
        scanned = time.perf_counter()
        plan = adapter.plan(files, options)
        planned = time.perf_counter()
        if not dry_run:
            adapter.apply(plan, files, progress)
        done = time.perf_counter()
    finally:
        adapter.close()
    return PublishResult(plan, out, dry_run, done - start, built,
                         {"scan": scanned - start, "plan": planned - scanned,
                          "apply": done - planned}, problems)
