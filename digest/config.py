"""Read ``digest.toml`` into a frozen `Config`, reporting every bad key in one pass."""

from __future__ import annotations

import difflib
import ipaddress
import re
import stat
import tomllib
from dataclasses import dataclass, fields
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from digest.errors import ConfigError, Problem
from digest.labels import Labels, check_labels, kept_labels, labels_of
from digest.text import SCHEMELESS_HOST, language_tag, plain_text, safe_url, visible
from digest.write import digest_bytes

CONFIG_NAME = "digest.toml"


@dataclass(frozen=True, slots=True)
class Config:
    """Site settings; every key has a default (see README, "Configuration")."""

    title: str = "News Digest"
    """Site title, shown in the header and feeds."""
    description: str = "A curated digest of the news."
    """Site description for meta tags and feeds."""
    base_url: str = "http://localhost:8000/"
    """Absolute URL the site is served from; ends with ``/``. Its path prefixes every link."""
    language: str = "en"
    """Default BCP 47 language of pages (an article's ``locale`` overrides it)."""
    timezone: str = "UTC"
    """IANA timezone; editions are calendar days in it."""
    page_size: int = 20
    """Items per listing page."""
    min_quality: int = 0
    """Records whose ``quality`` is below this are left out (missing quality counts as 0)."""
    related_count: int = 5
    """Computed related articles per article sidebar (after the curated ones)."""
    home_top: int = 8
    """Top stories of the latest edition shown on the home page."""
    home_latest: int = 20
    """Latest items shown on the home page under the top stories."""
    feed_items: int = 20
    """Entries per feed."""
    thumbnail_widths: tuple[int, ...] = (320, 640, 960)
    """Widths (px) of generated thumbnails; never upscaled."""
    thumbnail_formats: tuple[str, ...] = ("webp",)
    """Thumbnail formats, from ``webp``, ``avif``, ``jpeg``, ``png``; the last is the ``<img>`` fallback."""
    thumbnail_quality: int = 80
    """Encoder quality for lossy thumbnails (1-100)."""
    hotlink_images: bool = False
    """Allow pages to load images from their original hosts when not cached (off: reader privacy)."""
    api_min_heat: int = -1
    """Minimum ``heat`` for the ``hot`` variant of the JSON API collections."""
    search: bool = True
    """Build the Pagefind search index after each build (skipped when Pagefind is absent)."""
    output_dir: str = "build"
    """Output folder, relative to the site folder (``-o`` overrides it)."""
    labels: tuple[tuple[str, Any], ...] = ()
    """The ``[labels]`` table: (key, text) of each word the site writes in other words than
    English (``months``: 12 names), sorted by key; see `digest.labels` and `words`."""

    @property
    def tz(self) -> ZoneInfo:
        """The timezone object for `timezone`."""
        return ZoneInfo(self.timezone)

    @property
    def base_path(self) -> str:
        """Path part of `base_url`, always starting and ending with ``/``."""
        return _path_of(self.base_url)

    @property
    def words(self) -> Labels:
        """Every label of the site: the English ones with `labels` over them."""
        return labels_of(self.labels)

    def absolute(self, path: str) -> str:
        """Absolute URL of a site path given relative to the site root (``a/b/``)."""
        return self.base_url + path.lstrip("/")


@lru_cache(maxsize=8)
def _path_of(url: str) -> str:
    return urlsplit(url).path or "/"


_FORMATS = {"webp", "avif", "jpeg", "png"}


def _check_text(value: Any) -> str | None:
    # Every page's <title> and the header's home link: empty, both are errors (HTML, accessibility).
    # (The description is the site feed's channel <description>, which RSS requires.)
    if not isinstance(value, str):
        return "a string"
    text = plain_text(value)
    if text and not visible(text):  # (a link of zero-width spaces: nothing to see or to click)
        return "a string that shows something (not only zero-width, combining or blank characters)"
    return None if text else "a non-empty string"


def _check_int(lo: int, hi: int):
    def check(value: Any) -> str | None:
        if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
            return f"an integer from {lo} to {hi}"
        return None

    return check


def _check_bool(value: Any) -> str | None:
    return None if isinstance(value, bool) else "true or false"


def _check_base_url(value: Any) -> str | None:
    if not isinstance(value, str):
        return "an absolute http(s) URL"
    try:
        parts = urlsplit(value)
    except ValueError:
        parts = urlsplit("")
    # Its path prefixes every link of the site: it must be a valid URL as written (`safe_url`
    # would escape or refuse what is not).
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        hint = ""
        if not parts.scheme and not parts.netloc and SCHEMELESS_HOST.match(value):
            hint = f" (did you mean {'https://' + value.rstrip('/') + '/'!r}?)"  # `example.org/news`
        return f"an absolute http(s) URL without query or fragment, e.g. https://example.org/news/{hint}"
    try:
        port = parts.port
    except ValueError:  # (past 65535)
        port = 0
    if port == 0:  # (no server listens on port 0: every absolute link of the site would be dead)
        return "an absolute http(s) URL whose port, if any, is 1 to 65535, e.g. https://example.org:8443/news/"
    if safe_url(value) != value:
        return ("a URL without credentials, with a host name, and with spaces and other characters a URL "
                "may not hold percent-escaped (%20), e.g. https://example.org/my%20news/")
    # Its path starts every link: `//news/` made each one protocol-relative (`href="//news/..."`
    # leads to a host named `news`), and `.`/`..` segments (also `%2e`) are folded away by
    # browsers, so no link would lead where the site is.
    try:
        host = urlsplit(_ascii_url(value)).hostname or ""
        if "[" in parts.netloc:  # (an IP literal has no labels; `[v1.x]`, IPvFuture, lost its brackets)
            ipaddress.IPv6Address(host)
        else:
            host.encode("ascii").decode("idna")  # (an `xn--` label that is no Punycode: `xn--zz`)
            # A host whose last label is a number is an IPv4 address to browsers (WHATWG URL):
            # `999.1.1.1` or `ex.123` made every link an invalid URL; `1.2.3` or `0x7f.0.0.1` one
            # that browsers rewrite. Four decimal numbers, as they write one, are asked for.
            if re.fullmatch(r"[0-9]+|0[xX][0-9A-Fa-f]*", host.removesuffix(".").rpartition(".")[2]):
                ipaddress.IPv4Address(host)
    except (UnicodeError, ValueError):  # (a host label IDNA cannot write: empty, over 63 letters)
        return ("an absolute http(s) URL whose host is a valid domain name or IP address, "
                "e.g. https://example.org/news/")
    segments = parts.path.split("/")[1:-1] if parts.path.endswith("/") else parts.path.split("/")[1:]
    if any(seg.lower().replace("%2e", ".") in ("", ".", "..") for seg in segments):
        return "an absolute http(s) URL whose path has no empty, '.' or '..' parts, e.g. https://example.org/news/"
    return None


def _ascii_url(value: str) -> str:
    """A checked base_url as every link writes it: scheme and host in lower case, no default
    port (``:443`` for https, ``:80`` for http), an international host name in its ASCII form
    (``bücher.example`` is ``xn--bcher-kva.example``) and non-ASCII path letters %-escaped as
    UTF-8 (``/über/`` is ``/%C3%BCber/``): sitemaps, RSS and HTTP headers take URLs, not IRIs. Ends with ``/``."""
    split = urlsplit(value)
    host = (split.hostname or "").encode("idna").decode("ascii")
    host = f"[{host}]" if ":" in host else host
    # A scheme's default port (`https://example.org:443/`) is no part of the address: browsers,
    # feed readers and search engines write the URL without it, and it was in every link.
    default = {"http": 80, "https": 443}[split.scheme.lower()]
    netloc = host if split.port in (None, default) else f"{host}:{split.port}"
    path = quote(split.path, safe="/%!$&'()*+,;=:@~")
    value = urlunsplit((split.scheme.lower(), netloc, path, "", ""))
    return value if value.endswith("/") else value + "/"


def system_zone_file(name: str) -> bool:
    """Whether ``name`` is a file of the system's zone database that is no IANA zone name:
    ``localtime`` (the zone of the machine at hand: a site built on another machine would get
    other editions and article URLs), ``posixrules``, and the ``posix/`` and ``right/`` copies
    of every zone (``right/`` ones count leap seconds, and zoneinfo reads them wrong:
    ``right/Europe/Paris`` was +02:00 in November). They load with ZoneInfo all the same."""
    return name in ("localtime", "posixrules") or name.startswith(("posix/", "right/"))


def _check_timezone(value: Any) -> str | None:
    if not isinstance(value, str):
        return "an IANA timezone name such as Europe/Berlin"
    if system_zone_file(value):
        if value == "localtime":
            return ("an IANA timezone name such as Europe/Berlin (localtime is the zone of the machine "
                    "that builds: name that zone)")
        rest = value.partition("/")[2]
        hint = f" (did you mean {rest!r}?)" if "/" in value and _check_timezone(rest) is None else ""
        return f"an IANA timezone name such as Europe/Berlin{hint}"
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # (OSError: a name too long for a file)
        # Names are case-sensitive on most systems: `europe/berlin` or `Europe/Berlin ` says which.
        wanted = value.strip().replace(" ", "_").lower()
        close = [zone for zone in _zones() if zone.lower() == wanted] or _zones_at(value)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        return f"an IANA timezone name such as Europe/Berlin{hint}"
    return None


_OFFSET = re.compile(r"(?:UTC|GMT)?\s*([+-])(\d{1,2})(?::?(\d{2}))?", re.IGNORECASE)


def _zones_at(value: str) -> list[str]:
    """For an offset given as a zone (``+05:45``, ``UTC+3``): the zone to name instead, if one
    says it (``Etc/GMT-3`` for a whole hour, its sign reversed as POSIX has it; else the first
    zone at that offset in January or July, ``Asia/Kathmandu``); else nothing."""
    match = _OFFSET.fullmatch(value.strip())
    if match is None:
        return []
    sign, hours, minutes = match.groups()
    offset = (int(hours) * 60 + int(minutes or 0)) * (1 if sign == "+" else -1)
    if offset == 0:
        return ["Etc/UTC"]
    if offset % 60 == 0 and -12 * 60 <= offset <= 14 * 60:
        return [f"Etc/GMT{'-' if offset > 0 else '+'}{abs(offset) // 60}"]
    moments = (datetime(2026, 1, 15), datetime(2026, 7, 15))  # noqa: DTZ001 - as the zone's wall clock
    return [zone for zone in _zones() if "/" in zone and not zone.startswith(("Etc/", "posix/", "right/"))
            and any(ZoneInfo(zone).utcoffset(when) == timedelta(minutes=offset) for when in moments)][:1]


@lru_cache(maxsize=1)
def _zones() -> tuple[str, ...]:
    from zoneinfo import available_timezones

    return tuple(sorted(available_timezones()))


MAX_WIDTHS = 16
"""Most thumbnail widths: each is encoded for every cached image (4,000 widths made a build
encode 4,000 files per picture, and every srcset 100 kB long)."""


def _check_widths(value: Any) -> str | None:
    ok = (
        isinstance(value, list)
        and value
        and all(isinstance(w, int) and not isinstance(w, bool) and 16 <= w <= 4096 for w in value)
        and len(set(value)) <= MAX_WIDTHS
    )
    return None if ok else f"a non-empty list of at most {MAX_WIDTHS} integers from 16 to 4096"


def _check_formats(value: Any) -> str | None:
    ok = isinstance(value, list) and value and all(isinstance(v, str) and v in _FORMATS for v in value)
    return None if ok else f"a non-empty list from {sorted(_FORMATS)}"


def _check_language(value: Any) -> str | None:
    # Every page's `lang`: a tag shaped right but naming no language ("english", "zz", "-") is
    # an error there (as a record's `locale` is; `en_US` is `en-US`, as there).
    if isinstance(value, str) and language_tag(value) is not None:
        return None
    return "a language tag such as en or pt-BR"


VCS_DIRS = (".git", ".hg", ".svn", ".bzr")
"""Folders that hold a version-control repository's own database (git's objects and refs,
Mercurial's, Subversion's, Bazaar's): never an output folder, nor a folder inside one."""


def version_control_dir(target: Path) -> Path | None:
    """The folder of `VCS_DIRS` that ``target`` (a resolved path) is or lies in, if any."""
    return next((path for path in (target, *target.parents) if _names_vcs_dir(path.name)), None)


def _names_vcs_dir(name: str) -> bool:
    """Whether a folder named ``name`` is one of `VCS_DIRS`, compared as macOS and Windows
    compare names: ``.GIT`` is ``.git`` there, and on Windows so is ``.git.``."""
    return name.rstrip(". ").casefold() in VCS_DIRS


def _check_relative_dir(value: Any) -> str | None:
    # A digest.toml travels with a site (a clone, a pull request): `/etc`, `/home/me` or
    # `../../x` there would have a build write (and prune) files anywhere the user can.
    # A folder elsewhere is asked for on the command line (`-o`), where it is seen.
    expected = "a folder inside the site, such as build or public (-o OUT builds anywhere else)"
    if not isinstance(value, str) or not value.strip() or any(ord(c) < 32 or ord(c) == 127 for c in value):
        return expected
    parts = re.split(r"[/\\]", value)
    if value.startswith(("/", "\\")) or re.match(r"[A-Za-z]:", value) or ".." in parts:
        return expected
    from digest.cache import CACHE_DIR  # (imported here: the cache module reads configs)

    first = next((part for part in parts if part not in ("", ".")), "")
    # (compared as macOS and Windows file systems compare names: `Content` is content/ there,
    # and so, on Windows, are `content.` and `content `)
    if first.rstrip(". ").casefold() in ("", "content", "static", "templates", CACHE_DIR.casefold()):
        # The site's own sources (the build refuses them too, without a line), or the cache:
        # deleting the cache (safe, says the README) deleted the site.
        return (f"a folder inside the site other than the site itself, content/, static/, "
                f"templates/ and {CACHE_DIR}/, such as build or public")
    database = next((part for part in parts if _names_vcs_dir(part)), None)
    if database is not None:  # (`.git`: the build wrote its pages into the repository's database)
        return (f"a folder outside {database}/, the database of a version-control repository (a build "
                f"would fill it with pages and prune it), such as build or public")
    return None


def _check_labels_table(value: Any) -> str | None:
    return None if isinstance(value, dict) else 'a table of labels ([labels], then lines such as nav_home = "Inicio")'


_CHECKS = {
    "title": _check_text,
    "description": _check_text,
    "base_url": _check_base_url,
    "language": _check_language,
    "timezone": _check_timezone,
    "page_size": _check_int(1, 1000),
    "min_quality": _check_int(-(10**9), 10**9),
    "related_count": _check_int(0, 50),
    "home_top": _check_int(0, 100),
    "home_latest": _check_int(0, 500),
    "feed_items": _check_int(1, 1000),
    "thumbnail_widths": _check_widths,
    "thumbnail_formats": _check_formats,
    "thumbnail_quality": _check_int(1, 100),
    "hotlink_images": _check_bool,
    "api_min_heat": _check_int(-1, 10**12),
    "search": _check_bool,
    "output_dir": _check_relative_dir,
    "labels": _check_labels_table,  # (and each label: see `_labels`)
}


def _describe(value: Any) -> str:
    names = {str: "a string", int: "an integer", float: "a number", bool: "a boolean",
             list: "a list", dict: "a table", date: "a date", time: "a time", datetime: "a date and time"}
    kind = names.get(type(value), type(value).__name__)
    if isinstance(value, date | time):  # (as TOML writes them, not as Python's repr)
        return f"{kind} {value.isoformat()}"
    if isinstance(value, bool):  # (`true`, as TOML writes it: "a boolean True" was Python's)
        return f"{kind} {str(value).lower()}"
    try:
        text = repr(value)
    except ValueError:  # an integer of over 4,300 digits (TOML reads a hexadecimal one)
        return f"{kind} holding a number of over 4,300 digits"
    return f"{kind} {_shorten(text)}"


def _shorten(text: str) -> str:
    """``text`` cut to 60 characters for a message (a value, or a key: one of 100,000 letters
    was printed whole)."""
    return text if len(text) <= 60 else text[:57] + "..."


_STRING_ENDS = {
    '"""': re.compile(r'(?:[^"\\]|\\[\s\S]|"(?!""))*"{3,5}'),
    "'''": re.compile(r"(?:[^']|'(?!''))*'{3,5}"),
    '"': re.compile(r'(?:[^"\\\n]|\\.)*"?'),
    "'": re.compile(r"[^'\n]*'?"),
}
"""The rest of a TOML string after its opening quotes: a multi-line string ends at the first
three quotes not escaped, which take up to two more quotes of its text with them (``'''it'''''``);
a one-line string ends at its quote or, unclosed, before the line's end."""
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_BLANK = re.compile(r"[ \t]*")


def _skip_string(text: str, at: int) -> int:
    """Where the TOML string that opens at ``at`` ends (an unclosed one: at the text's end)."""
    quote = text[at:at + 3] if text[at:at + 3] in ('"""', "'''") else text[at]
    match = _STRING_ENDS[quote].match(text, at + len(quote))
    return match.end() if match else len(text)


def _key_path(text: str, at: int) -> tuple[tuple[str, ...], int]:
    """The dotted key that starts at ``at`` (``a``, ``"a b".c``, ``site . name``, ``'x'``) as its
    parts, read as TOML reads them (``"ti\\u0074le"`` is ``title``), and where it ends; no
    parts when none starts there."""
    parts: list[str] = []
    while True:
        at = _BLANK.match(text, at).end()
        if text.startswith(('"', "'"), at):
            end = _skip_string(text, at)
            written = text[at:end]
            if written.startswith('"') and "\\" in written:
                try:
                    parts.append(next(iter(tomllib.loads(f"{written} = 0"))))
                except (tomllib.TOMLDecodeError, StopIteration):
                    parts.append(written[1:-1])
            else:
                parts.append(written[1:-1])
        elif match := _BARE_KEY.match(text, at):
            end = match.end()
            parts.append(match.group())
        else:
            return tuple(parts), at
        at = _BLANK.match(text, end).end()
        if not text.startswith(".", at):
            return tuple(parts), at
        at += 1


def _statements(text: str) -> list[tuple[int, tuple[str, ...], str]]:
    """(line, key parts, ``=`` or ``[``) of every key/value pair and table header of a TOML
    text, read as TOML reads it: a line inside a multi-line string (a description quoting
    ``page_size = 5``), an array or inline table spanning lines, or a comment is not a
    statement, and three quotes inside a one-line string or a comment open nothing. Lines are
    counted at line feeds only, as TOML (and tomllib's messages) count them: a U+2028 or NEL
    in a string is no new line. Invalid TOML gives some answer, never an error."""
    found = []
    at, line, depth, starting = 0, 1, 0, True
    size = len(text)
    while at < size:
        char = text[at]
        if char == "\n":
            line += 1
            at += 1
            starting = starting or depth == 0
        elif char in " \t\r":
            at += 1
        elif char == "#":
            end = text.find("\n", at)
            at = size if end < 0 else end
        elif starting:  # (a key, or a table header, at the start of a line outside any value)
            starting = False
            header = char == "["
            start = at + (2 if text.startswith("[[", at) else 1) if header else at
            parts, at = _key_path(text, start)
            if parts:
                found.append((line, parts, "[" if header else "="))
            if header:
                at = _BLANK.match(text, at).end()
                at += len(text[at:at + 2]) - len(text[at:at + 2].lstrip("]"))
            elif text.startswith("=", at):
                at += 1
        elif char in "\"'":
            end = _skip_string(text, at)
            line += text.count("\n", at, end)
            at = end
        else:
            depth += 1 if char in "[{" else -1 if char in "]}" and depth else 0
            at += 1
    return found


def _key_lines(text: str) -> dict[str, int]:
    """The line that first sets or opens each top-level key (``key = ...``, ``key.x = ...``,
    ``[key]``, ``[[key.x]]``); keys set inside a table are not top-level keys."""
    lines: dict[str, int] = {}
    in_table = False
    for line, parts, kind in _statements(text):
        in_table = in_table or kind == "["
        if kind == "[" or not in_table:
            lines.setdefault(parts[0], line)
    return lines


def _duplicates(text: str, path: str) -> list[Problem]:
    """A top-level key given twice, each on the line of its second setting."""
    first: dict[str, int] = {}
    problems = []
    for number, parts, kind in _statements(text):
        if kind == "[":
            break  # (keys of a table are not top-level keys)
        if len(parts) != 1:
            continue  # (`a.b = 1` and `a.c = 2` set one table twice, rightly)
        key = parts[0]
        if key in first:
            problems.append(Problem(path, number, _shorten(key), f"given twice (first on line {first[key]}); "
                                                       "keep one"))
        else:
            first[key] = number
    return problems


def _key_at(text: str, line: int | None) -> tuple[int | None, str | None]:
    """The line and dotted key (under its table: ``extra.x``; a header's own name) of the
    statement where a TOML error was found: the one on ``line``, or with no line (an error "at
    end of document": a string or array left open swallows the rest) the last one. (tomllib
    names a line only: ``page_size = five`` or ``page_size.x = 1`` after ``page_size = 5``
    said which key only by its column.)"""
    table: tuple[str, ...] = ()
    found: tuple[int | None, str | None] = (line, None)
    for number, parts, kind in _statements(text):
        table = parts if kind == "[" else table
        if line is None or number == line:
            found = (number, ".".join(parts if kind == "[" else table + parts))
            if line is not None:
                break
    return found


def parse_config(text: str, path: str = CONFIG_NAME) -> Config:
    """Parse TOML text into a `Config`; raise `ConfigError` listing every bad key."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        twice = _duplicates(text, path) if "Cannot overwrite" in str(exc) else []
        if twice:  # ("Cannot overwrite a value (at end of document)" named neither key nor line)
            raise ConfigError(twice) from None
        line = getattr(exc, "lineno", None)  # Python 3.14+; parse the message before that
        if line is None:
            found = re.search(r"\(at line (\d+), column \d+\)", str(exc))
            line = int(found.group(1)) if found else None
        line, key = _key_at(text, line)
        said = re.sub(r"[^\s'\"]{61,}", lambda run: _shorten(run.group()), str(exc))  # (it quotes keys)
        raise ConfigError([Problem(path, line, key and _shorten(key), f"invalid TOML: {said}")]) from None
    except ValueError as exc:  # int() of a number of over 4,300 digits (not a TOMLDecodeError)
        line = next((number for number, text_line in enumerate(text.split("\n"), 1)
                     if re.search(r"[0-9a-fA-F_]{1000,}", text_line)), None)
        if "digits" not in str(exc):
            raise
        raise ConfigError([Problem(path, line, None, "invalid TOML: a number of more than 4,300 digits")]) from None
    except RecursionError:  # tomllib recurses once per nested array or inline table
        raise ConfigError([Problem(path, None, None, "invalid TOML: nested too deeply to read")]) from None
    problems: list[Problem] = []
    values: dict[str, Any] = {}
    known = [f.name for f in fields(Config)]
    key_lines = _key_lines(text)
    for key, value in data.items():
        line = key_lines.get(key)
        if key == "labels" and isinstance(value, dict):
            found = _labels(value, text, path, line)
            if isinstance(found, list):
                problems += found
            else:
                values[key] = found
            continue
        if key not in _CHECKS:
            # (compared in lower case: `Base_URL` or `PAGE_SIZE` was too far from its key for difflib)
            hint = _close(key, known)
            # (quoted as TOML quotes it when no bare key can write it: `""` or `" "` was no name at all)
            shown = key if _BARE_KEY.fullmatch(key) else '"' + key.replace("\\", "\\\\").replace('"', '\\"') + '"'
            problems.append(Problem(path, line, _shorten(shown), f"unknown key{hint}"))
            continue
        expected = _CHECKS[key](value)
        if expected:
            problems.append(Problem(path, line, key, f"expected {expected}, got {_describe(value)}"))
            continue
        if isinstance(value, list):  # (a width or format given twice is one: a srcset with a width
            value = tuple(dict.fromkeys(value))  # twice is invalid HTML, and each was encoded twice)
        if key == "base_url":
            value = _ascii_url(value)
        elif key == "language":
            value = language_tag(value)
        elif key in ("title", "description"):
            # On every page and feed: control characters (TOML's "\u0001") and noncharacters
            # are errors in HTML and XML, dropped as in records' text; whitespace collapsed.
            value = plain_text(value)
        values[key] = value
    if problems:
        raise ConfigError(problems)
    return Config(**values)


def _close(key: str, known: list[str]) -> str:
    """`` (did you mean 'x'?)`` for a misspelt ``key`` of ``known`` (compared in lower case), or ""."""
    close = difflib.get_close_matches(key.lower(), known, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _labels(value: Any, text: str, path: str, line: int | None) -> tuple[tuple[str, Any], ...] | list[Problem]:
    """The ``[labels]`` table as `Config.labels` keeps it, or its problems (each on its key's line)."""
    lines: dict[str, int] = {"": line} if line is not None else {}
    for number, parts, _kind in _statements(text):  # (`[labels]` then `x = ...`, or `labels.x = ...`)
        if len(parts) == 2 and parts[0] == "labels":
            lines.setdefault(parts[1], number)
    table = None
    for number, parts, kind in _statements(text):
        if kind == "[":
            table = parts
        elif table == ("labels",) and len(parts) == 1:
            lines.setdefault(parts[0], number)
    found = check_labels(value, lines, _close, _describe)
    if found:
        return [Problem(path, number, _shorten(key), message) for number, key, message in found]
    return kept_labels(value)


_WIDE_BOMS = ((b"\xff\xfe\x00\x00", "UTF-32"), (b"\x00\x00\xfe\xff", "UTF-32"),
              (b"\xff\xfe", "UTF-16"), (b"\xfe\xff", "UTF-16"))
"""Byte order marks of UTF-32 and UTF-16 (UTF-32's first: it starts like UTF-16's)."""


def load_config(site: Path) -> Config:
    """Read ``SITE/digest.toml`` (a missing file means all defaults; a link to nothing is a problem)."""
    return read_config(site)[0]


def read_config(site: Path) -> tuple[Config, str | None]:
    """`load_config`, and the `digest.write.digest_bytes` of the bytes it read (None without a file),
    which a build's summary may name (see `digest.build._named_inputs`)."""
    path = site / CONFIG_NAME
    try:
        if not stat.S_ISREG(path.stat().st_mode):  # (opening a named pipe waits for a writer forever)
            raise ConfigError([Problem(CONFIG_NAME, None, None, "not a regular file")])
        raw = path.read_bytes()
    except FileNotFoundError:
        if path.is_symlink():  # (a link to a shared file not there: no defaults, localhost links and all)
            raise ConfigError([Problem(CONFIG_NAME, None, None, "a symbolic link to a file that does not exist")]) from None
        return Config(), None
    except OSError as exc:
        raise ConfigError([Problem(CONFIG_NAME, None, None, f"cannot read: {exc.strerror}")]) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        wide = next((name for bom, name in _WIDE_BOMS if raw.startswith(bom)), None)
        if wide:  # (a Windows editor's "Unicode": "byte 0xff at column 1" said not what it is)
            raise ConfigError([Problem(CONFIG_NAME, None, None, f"encoded as {wide}, not UTF-8 (save the file "
                                       "as UTF-8)")]) from None
        body = raw.removeprefix(b"\xef\xbb\xbf")  # (utf-8-sig counts after the byte order mark)
        at = exc.start
        line = body.count(b"\n", 0, at) + 1
        column = at - (body.rfind(b"\n", 0, at) + 1) + 1
        raise ConfigError([Problem(CONFIG_NAME, line, None, f"not valid UTF-8 (byte 0x{body[at]:02x} at "
                                   f"column {column}: {exc.reason}; save the file as UTF-8)")]) from None
    return parse_config(text, CONFIG_NAME), digest_bytes(raw)
