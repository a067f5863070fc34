"""The nouns of a digest site: plain, immutable data with no behaviour beyond small helpers.

(Plain frozen dataclasses without ``__slots__``: they pickle through the C fast path,
which matters for the build cache; slotted ones go through `dataclasses.fields` per object.)
"""

from __future__ import annotations

import hashlib
import marshal
import pickle
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property, partial
from typing import TYPE_CHECKING, Any

from digest.text import url_identity

if TYPE_CHECKING:
    from digest.errors import Problem


@dataclass(frozen=True)
class Provider:
    """A news source; its identity is its domain."""

    key: str
    """Normalised identity: the lower-case domain without ``www.`` (or the name when no domain)."""
    name: str
    """Display name as the record gives it."""
    domain: str
    """Domain as the record gives it (may be empty)."""
    extra: dict[str, Any] = field(default_factory=dict, compare=False)
    """The record's other fields of its provider as read, without ``secured`` (the real records'
    ``images``, a logo), for templates and the JSON API; not part of its identity."""


@dataclass(frozen=True)
class ImageRef:
    """One image entry of a record."""

    url: str
    """The image's original URL: the cache key, never hot-linked by default."""
    width: int | None
    """Stored pixel width according to the record."""
    height: int | None
    """Stored pixel height according to the record."""
    is_cached: bool
    """True when the record says a local copy exists in ``content/images/``."""
    title: str = ""
    """Caption or alt text, when the record has one."""
    position: int = 0
    """Index of the entry in the record's ``images`` list (entries before it may have been
    dropped as unusable), for messages about it."""


@dataclass(frozen=True)
class RelatedRef:
    """A curated ``related`` entry: coverage of the same story elsewhere."""

    title: str
    """Headline, plain text."""
    web_url: str
    """The entry's ``webUrl`` as given (used to match a record of the site)."""
    link: str | None
    """Safe http(s) URL to the source, or None when it has none usable."""
    provider_name: str
    """Name of the entry's provider, possibly empty."""
    published: datetime | None
    """When the entry was published, if given and valid."""
    excerpt: str = ""
    """Plain-text summary."""
    provider_domain: str = ""
    """Domain of the entry's provider (a host name), possibly empty."""
    extra_packed: bytes = field(default=b"", repr=False)
    """The entry's other fields as read, without ``secured`` (the seed's ``ampWebUrl``,
    ``cdnAmpWebUrl``, ``type``, ``quality``, ``images``...), for the JSON API: `pack_extra`'s
    bytes, read back by `extra`. (As objects they were 3.4 kB per article, 340 MB of a 100,000
    record build and of each render worker, which only the JSON API reads; packed, a fifth.)"""

    @property
    def extra(self) -> dict[str, Any]:
        """The entry's other fields (`extra_packed` unpacked; a new dict at each call)."""
        return pickle.loads(zlib.decompress(self.extra_packed)) if self.extra_packed else {}


def pack_extra(fields: dict[str, Any]) -> bytes:
    """``fields`` (plain data) as `RelatedRef.extra_packed` holds them: pickled and compressed."""
    if not fields:
        return b""
    # A 4 kB window and a small state: the same size for the few hundred bytes packed here, a
    # seventh of the time (zlib's default sets up 256 kB for each call; `zlib.decompress`
    # reads either).
    packer = zlib.compressobj(6, zlib.DEFLATED, 12, 4)
    return packer.compress(pickle.dumps(fields, pickle.HIGHEST_PROTOCOL)) + packer.flush()


@dataclass(frozen=True)
class Article:
    """One curated record, validated."""

    id: str
    """Stable 10-hex-digit identity derived from the record's ``webUrl`` (else its path)."""
    source: str
    """Path of the record file relative to the site folder, with ``/`` separators."""
    title: str
    """Headline, plain text."""
    published: datetime
    """``publishedDateTime``, timezone-aware (naive values are UTC)."""
    updated: datetime | None
    """``updatedDateTime`` when given."""
    excerpt: str
    """Plain-text summary (may be empty)."""
    category: str
    """``category`` field, e.g. ``news`` (may be empty)."""
    type: str
    """``type`` field, e.g. ``article`` or ``video`` (may be empty)."""
    web_url: str
    """``webUrl`` as given (story identity for deduplication), may be empty."""
    link: str | None
    """Safe http(s) link to the source article (``webUrl``, else ``originalUrl``)."""
    quality: int | None
    """Curator's score; higher is better; None when missing."""
    heat: int
    """Popularity; -1 when unknown."""
    is_published: bool
    """False for ``published: false`` records (drafts)."""
    provider: Provider | None
    """The news source, when the record names one."""
    topics: tuple[str, ...]
    """Topic names as written in the record (deduplicated by topic identity)."""
    images: tuple[ImageRef, ...]
    """Image entries in record order."""
    related: tuple[RelatedRef, ...]
    """Curated related coverage in record order."""
    locale: str
    """BCP 47 language tag from ``locale`` (e.g. ``en-us``), or empty."""
    body_html: str
    """The Markdown note rendered and sanitized by an allow-list; empty when none."""
    slug: str
    """URL-safe slug for the article page (title transliterated + id suffix)."""
    extra: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)
    """Every other front-matter field, kept for templates (never ``secured``)."""
    content_hash: str = ""
    """Hash of the record file's bytes (for caches)."""
    story: str = ""
    """The story's identity, `digest.text.url_identity` of ``web_url`` (made once, when the record
    is read); empty without one, or for an article made otherwise (tests)."""

    def story_identity(self) -> str:
        """`story`, or for an article made otherwise (tests) its ``web_url``'s identity; ``""``
        when the URL names none (``#``, ``javascript:void(0)``): such a record is a story of its
        own, and no ``related`` entry's target."""
        return self.story or url_identity(self.web_url)

    def __getattr__(self, name: str) -> Any:
        # Called only for an attribute not in the instance: the fields an article read back
        # from the records cache keeps packed (see `pack_article`) are unpacked on first use.
        state = self.__dict__
        packed = state.get("_packed")
        if packed is None:
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        state.update(zip(_PACKED, pickle.loads(packed), strict=True))
        state.pop("_packed", None)  # (after: another thread reading a field meanwhile finds one or the other)
        return getattr(self, name)


_UNPACKED = ("id", "source", "published", "updated", "is_published", "quality", "content_hash", "slug",
             "web_url", "story", "images", "topics", "provider")
"""The fields of an article read back from the records cache that are there at once: all that a
build reads of every article when only a few records changed (which ones the site shows, their
order, paths, identities and cached images, and when records are added, their topics and sources;
see `digest.plan.replan`; and whether its dates lie in the future, `digest.load.future_dates`,
which unpacked every article when ``updated`` was packed: 300 MB and 3 s more for an edit of a
100,000-record site)."""
_PACKED = tuple(name for name in Article.__dataclass_fields__ if name not in _UNPACKED)
"""The other fields: pickled as one piece, unpacked when one of them is first read."""


def pack_article(article: Article) -> tuple[Callable[..., Article], tuple]:
    """How the records cache pickles an article (a ``reducer_override`` answer): the fields of
    `_UNPACKED` as they are, the rest as one pickled piece (the same piece again for an
    article read back and never unpacked). Reading a 100,000-record cache back so costs a
    fifth of what whole articles cost, and a build that changes a few records unpacks only
    the articles on the pages it renders."""
    state = article.__dict__
    packed = state.get("_packed")
    if packed is None:
        packed = pickle.dumps(tuple(state[name] for name in _PACKED), pickle.HIGHEST_PROTOCOL)
    return _unpack_later, (tuple(state[name] for name in _UNPACKED), packed)


def _unpack_later(fields: tuple, packed: bytes) -> Article:
    article = object.__new__(Article)
    state = article.__dict__
    state.update(zip(_UNPACKED, fields, strict=True))
    state["_packed"] = packed
    return article


@dataclass(frozen=True, slots=True)
class FileResult:
    """One record file's outcome: an article or None, plus its problems. (Slots: every one stays
    in a build's parse cache; 72 bytes with the two digest fields, where a dict made it 97 without.)"""

    article: Article | None
    problems: tuple[Problem, ...]
    stamp: tuple[int, int, str] | None = None
    """(size, mtime_ns, BLAKE2b digest) of the bytes parsed, for the parse cache."""
    secrets: bytes = b""
    """8-byte digests, joined, of the runs of the record's ``secured`` values (see `digest.load.secret_runs`)."""
    tokens: bytes = b""
    """8-byte digests, joined, of the runs of its public texts that may be another record's secret (ditto)."""

    def __reduce__(self) -> tuple[type[FileResult], tuple]:
        # Read back through the constructor: a frozen slotted dataclass's own `__setstate__`
        # asks `dataclasses.fields` for every one, which made reading 10,000 back 17 ms slower.
        return FileResult, (self.article, self.problems, self.stamp, self.secrets, self.tokens)


@dataclass(frozen=True, slots=True)
class ThumbnailCounts:
    """What the images phase did, for the build summary (see `digest.images`)."""

    sources: int = 0
    """Distinct usable source images (cache files) the thumbnails are made from."""
    planned: int = 0
    """Thumbnail files the site uses."""
    reused: int = 0
    """Thumbnails already in the output folder or the store."""
    encoded: int = 0
    """Thumbnails encoded by this build."""
    failed: int = 0
    """Source images that could not be used (a placeholder for a first image; others are left out)."""
    seconds: float = 0.0
    """Wall time spent reading, decoding and encoding images."""


@dataclass(frozen=True)
class Topic:
    """A taxonomy term; names that differ only in case or Unicode form are one topic."""

    key: str
    """Identity: NFKC, case-folded, whitespace-collapsed name."""
    name: str
    """Display name: the most common spelling among the records."""
    slug: str
    """URL-safe slug, unique among topics."""


@dataclass(frozen=True)
class Edition:
    """One calendar day of the site's timezone and the stories published on it."""

    day: str
    """ISO date ``YYYY-MM-DD`` in the site timezone."""
    article_ids: tuple[str, ...]
    """Articles of the day, best first (see `plan.story_score`)."""


@dataclass(frozen=True)
class PageSpec:
    """One output file: where it goes, how it is made, and from what.

    The context is made only on demand: a page whose `key` equals the previous
    build's (and whose template did not change) is not rendered, so its context is
    never built.
    """

    path: str
    """Output path relative to the output folder, ``/``-separated (e.g. ``ai/index.html``)."""
    template: str
    """Template name to render, or a renderer name for non-template outputs."""
    kind: str
    """Page kind for the summary: ``article``, ``topic``, ``home``, ``feed``, ..."""
    key: str
    """Digest of every input the context is made from: equal keys mean equal contexts."""
    build: Callable[[], dict[str, Any]] = field(repr=False, compare=False)
    """Makes the plain-data context handed to the template (no live objects in it)."""
    shows: tuple[str, ...] = ()
    """Ids of the articles the page lists or is about (for the sitemap's lastmod)."""
    struct: str = ""
    """Digest of the inputs other than article contents; `key` is it plus the digests of `deps`."""
    deps: tuple[str, ...] = ()
    """Ids of the articles whose contents the page shows (a change of one re-keys the page)."""

    @cached_property
    def context(self) -> dict[str, Any]:
        """The context, made once per spec (renderers call `build` to avoid keeping it)."""
        return self.build()


def fixed(context: dict[str, Any]) -> Callable[[], dict[str, Any]]:
    """A `PageSpec.build` for a context that is already made (picklable, as every builder is)."""
    return partial(_given, context)


def _given(context: dict[str, Any]) -> dict[str, Any]:
    return context


def input_key(*parts: Any) -> str:
    """A `PageSpec.key`: digest of plain inputs (strings, numbers, tuples, lists, dicts).

    marshal format 2 serialises by value (no back-references, which would make equal
    inputs serialise differently); other objects fall back to their ``repr``.
    """
    try:
        data = marshal.dumps(parts, 2)
    except ValueError:
        data = repr(parts).encode("utf-8", "surrogatepass")
    return hashlib.blake2b(data, digest_size=16).hexdigest()
