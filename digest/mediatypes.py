"""The Content-Type of an output file, by its name (and an XML file's first bytes): one answer
for whatever serves the site, the dev server and the S3 publisher alike."""

from __future__ import annotations

import mimetypes
import os

_TYPES = {
    ".html": "text/html", ".htm": "text/html", ".css": "text/css",
    ".js": "text/javascript", ".mjs": "text/javascript", ".json": "application/json",
    ".xml": "application/xml", ".rss": "application/rss+xml", ".atom": "application/atom+xml",
    ".txt": "text/plain", ".opml": "text/x-opml", ".md": "text/markdown", ".csv": "text/csv",
    ".vtt": "text/vtt",
    ".svg": "image/svg+xml", ".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg",
    ".gif": "image/gif", ".webp": "image/webp", ".avif": "image/avif", ".ico": "image/x-icon",
    ".woff2": "font/woff2", ".woff": "font/woff", ".ttf": "font/ttf", ".otf": "font/otf",
    ".pdf": "application/pdf", ".webmanifest": "application/manifest+json", ".wasm": "application/wasm",
    ".map": "application/json", ".pf_meta": "application/octet-stream",
    ".mp4": "video/mp4", ".m4v": "video/mp4", ".webm": "video/webm", ".ogv": "video/ogg",
    ".mov": "video/quicktime", ".mp3": "audio/mpeg", ".m4a": "audio/mp4", ".aac": "audio/aac",
    ".ogg": "audio/ogg", ".oga": "audio/ogg", ".opus": "audio/ogg", ".wav": "audio/wav",
    ".flac": "audio/flac",
    ".gz": "application/gzip", ".tgz": "application/gzip", ".bz2": "application/x-bzip2",
    ".xz": "application/x-xz", ".zst": "application/zstd", ".br": "application/octet-stream",
}
"""Our own table first, so that the answer is the same on every machine (not the machine's
``/etc/mime.types``). A compressed file is served as what it is: `mimetypes` names
``data.json.gz`` by what it holds, and a browser given gzip bytes as ``application/json``
without ``Content-Encoding`` read garbage. Audio, video and subtitles need their types for
some browsers to play them, and a ``.htm`` page served as ``application/octet-stream`` (with
``nosniff``) was downloaded instead of shown."""

_BY_NAME = {"feed.json": "application/feed+json"}
"""Files whose name, not only its suffix, says what they are: digest writes every JSON Feed as
``feed.json`` (see `digest.feeds.FORMATS`), and its home page links them as
``application/feed+json``; served as ``application/json``, feed readers that check the type
did not take them for feeds."""

_BUILTIN = mimetypes.MimeTypes(filenames=())
"""Python's own table, without the machine's ``/etc/mime.types``."""


def media_type(path: str, head: bytes = b"") -> str:
    """The media type of ``path``, without parameters.

    A JSON Feed (``feed.json``) is ``application/feed+json``. ``.xml`` files are sniffed from
    their first bytes (``head``): an RSS or Atom feed gets its feed type, anything else
    ``application/xml``.
    """
    suffix = os.path.splitext(path)[1].lower()
    kind = _BY_NAME.get(path.rsplit("/", 1)[-1].lower()) or _TYPES.get(suffix)
    if kind is None:
        guess, encoding = _BUILTIN.guess_type(path, strict=False)
        kind = guess if guess is not None and encoding is None else "application/octet-stream"
    if suffix == ".xml":
        start = head[:1024]
        if b"<rss" in start:
            kind = "application/rss+xml"
        elif b"<feed" in start and b"http://www.w3.org/2005/Atom" in start:
            kind = "application/atom+xml"
    return kind


def content_type(path: str, head: bytes = b"") -> str:
    """The ``Content-Type`` for ``path`` (see `media_type`); text, XML and JSON types carry
    ``charset=utf-8``."""
    kind = media_type(path, head)
    textual = kind.startswith("text/") or kind.endswith(("+xml", "+json")) or kind in (
        "application/json", "application/xml", "application/javascript")
    return f"{kind}; charset=utf-8" if textual else kind
