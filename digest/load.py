"""Content files -> validated `Article`s plus the `Problem`s found on the way.

This is the only stage that reads records. A file that cannot be used becomes
problems (path, line, field, message) and is skipped; everything else loads.
"""

from __future__ import annotations

import base64
import bisect
import dataclasses
import hashlib
import html
import html.entities
import json
import os
import re
import stat
import sys
import unicodedata
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from functools import lru_cache, partial
from operator import attrgetter
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit

import yaml
from yaml.constructor import SafeConstructor

from digest import display, yamlfast
from digest.config import system_zone_file
from digest.errors import Problem
from digest.files import MAX_RECORD_BYTES, NotRegular, read_regular
from digest.model import Article, FileResult, ImageRef, Provider, RelatedRef, pack_extra
from digest.text import (
    LINK_SCHEMES,
    SCHEMELESS_HOST,
    credentials_link,
    holds_credentials,
    language_tag,
    link_scheme,
    plain_text,
    provider_host,
    provider_key,
    render_note,
    safe_url,
    short_hash,
    slugify,
    strip_markup,
    term_key,
    url_identity,
    visible,
)

RECORD_SUFFIXES = (".md", ".markdown", ".txt")
IMAGES_DIR = "images"
MAX_NODES = 20_000
"""Front matter with more YAML nodes than this (alias bombs, generated junk) is refused."""
MAX_SLUG_BODY = 60
MAX_TOPICS = 50
"""Topics kept per record (real ones have a few): each is a page listing every card with its
topics, so thousands in one record made a build quadratic."""
MAX_ENTRIES = 100
"""Entries kept of a record's ``images`` and of its ``related`` list (real ones have a few; 50,000
related entries made one page of 7 MB)."""
MAX_EXCERPT = 5_000
"""Characters kept of an excerpt (real ones have a few hundred; Pagefind takes minutes on megabytes)."""
MAX_NUMBER = 10**15
"""Integer fields (quality, heat, image sizes) hold less than this in magnitude, or are unknown."""
MAX_TITLE = 1_000
"""Characters kept of a title (record or related entry): a headline, shown on every card of it."""
MAX_REPEATS_SHOWN = 20
"""Warnings for top-level keys given twice, per record; past it, one more sums up the rest."""
MAX_COMPOSE = 256 * 1024
"""Front matter longer than this (in characters) is not composed again to find a problem's line:
a multi-megabyte one took seconds for each, so its problems name the line of the top-level field."""
_TOO_DEEP = "front matter nested too deeply to read (more than 50 levels)"
_TOO_MANY = f"front matter too large to read (more than {MAX_NODES:,} values, counting what YAML aliases repeat)"
_TOO_LONG = (f"front matter too large to read (more than {MAX_COMPOSE // 1024} kB holding over "
             f"{5 * MAX_NODES:,} lines and list items)")

MAX_NAME = 200
"""Characters kept of a topic or provider name, a category or a type (each is on every card
that has it, and a page)."""
_NAME_EDGE = " \u200b\u200c\u200d\u2060"
"""Stripped from the ends of a topic's or a provider's name (a related entry's provider's too):
zero-width characters (space, non-joiner, joiner, word joiner) are invisible there, and a
scraper's ``AI\u200b`` named its topic so on its page, in feeds and in the API, one invisible
character apart from ``AI``. Inside a name they stay (a Persian word's non-joiner, an emoji's
joiner); a name of them alone is warned of as invisible first."""

try:
    _Loader = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - PyYAML without libyaml
    _Loader = yaml.SafeLoader



class _SecretsKept:
    """A loader mixin: a ``secured`` key given twice in one mapping keeps both values, as
    `_construct` does (PyYAML keeps the last, and copies of the first secret were published)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        mapping = super().construct_mapping(node, deep=deep)  # type: ignore[misc]
        given: dict[str, list[yaml.Node]] = {}
        for key_node, value_node in node.value:  # (merged keys included: flattened above)
            if isinstance(key_node, yaml.ScalarNode) and _dropped(key_node.value):
                given.setdefault(key_node.value, []).append(value_node)
        for key, values in given.items():
            if len(values) > 1 and key in mapping:
                mapping[key] = [self.construct_object(value, deep=deep) for value in values]  # type: ignore[attr-defined]
        return mapping


class _KeepingLoader(_SecretsKept, _Loader):
    """The safe loader, keeping every value of a ``secured`` key given twice."""


class _TextDatesLoader(_SecretsKept, _Loader):
    """The safe loader with implicit timestamps left as strings (fallback for impossible dates),
    and integers too long to read as `_TooLong` text (so the field check names them)."""


_TextDatesLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in _Loader.yaml_implicit_resolvers.items()
}


class _TooLong(str):
    """The text of an integer too long for Python to read (more than 4,300 digits)."""


def _int_or_text(loader: SafeConstructor, node: yaml.ScalarNode) -> Any:
    try:
        return SafeConstructor.construct_yaml_int(loader, node)
    except ValueError:
        return _TooLong(node.value)


_TextDatesLoader.add_constructor("tag:yaml.org,2002:int", _int_or_text)

_STR = "tag:yaml.org,2002:str"
_SEQ = "tag:yaml.org,2002:seq"
_MAP = "tag:yaml.org,2002:map"
_SAFE_SCALARS = SafeConstructor.yaml_constructors


class _Unusual(Exception):
    """The node tree uses YAML that `_construct` leaves to PyYAML (merge keys, !!set, ...)."""


def _construct(node: yaml.Node, built: dict[int, Any], path: tuple[Any, ...] = (),
               duplicates: list[tuple[tuple[Any, ...], int, int]] | None = None) -> Any:
    """Python data for a composed node, exactly as SafeLoader builds it, minus its overhead.

    Aliased nodes are built once and shared (as PyYAML does), so alias bombs cost
    no more than their text. Anything unusual raises `_Unusual`. A key given twice in
    one mapping keeps its last value, as in PyYAML; with ``duplicates`` it is noted
    there as (path of the key from the root, line of the first, line of the repeat),
    lines counted from 0.
    """
    done = built.get(id(node))
    if done is not None:
        return done
    tag = node.tag
    if isinstance(node, yaml.ScalarNode):
        if tag == _STR:
            return node.value
        method = _SAFE_SCALARS.get(tag)
        if method is None or tag in (_SEQ, _MAP):
            raise _Unusual(tag)
        return method(_constructor(), node)
    if isinstance(node, yaml.SequenceNode):
        if tag != _SEQ:
            raise _Unusual(tag)
        items: list[Any] = []
        built[id(node)] = items
        items.extend(_construct(child, built, (*path, index), duplicates)
                     for index, child in enumerate(node.value))
        return items
    if isinstance(node, yaml.MappingNode) and tag == _MAP:
        mapping: dict[Any, Any] = {}
        built[id(node)] = mapping
        first: dict[Any, int] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                raise _Unusual("merge key")
            key = _construct(key_node, built)
            try:
                hash(key)
            except TypeError:
                raise _Unusual("unhashable key") from None
            line = key_node.start_mark.line
            if key in first:
                if duplicates is not None:
                    duplicates.append(((*path, key), first[key], line))
            else:
                first[key] = line
            value = _construct(value_node, built, (*path, key), duplicates)
            if key in mapping and _dropped(key):  # (both are secrets: the first one's copies were published)
                value = [mapping[key], value]
            mapping[key] = value
        return mapping
    raise _Unusual(tag)


@lru_cache(maxsize=1)
def _constructor() -> SafeConstructor:
    return SafeConstructor()


def load_yaml(text: str, duplicates: list[tuple[tuple[Any, ...], int, int]] | None = None,
              fast: bool = True) -> Any:
    """``yaml.load(text, CSafeLoader)``, built from the C-composed node tree directly.

    PyYAML's constructor spends more time in its generic machinery than in
    parsing; front matter needs none of it. Unusual documents go through PyYAML.
    Ordinary front matter skips even the node tree (`digest.yamlfast`, which leaves
    every document with a repeated key to the tree). ``duplicates`` collects the keys
    given twice in one mapping (see `_construct`; not for documents PyYAML builds).
    """
    if fast and (value := yamlfast.load(text, _Loader)) is not yamlfast.DECLINE:
        return value  # (``fast=False``: the caller tried it)
    node = yaml.compose(text, Loader=_Loader)
    if node is None:
        return None
    mark = len(duplicates) if duplicates is not None else 0
    try:
        return _construct(node, {}, (), duplicates)
    except _Unusual:
        if duplicates is not None:
            del duplicates[mark:]
        return yaml.load(text, Loader=_KeepingLoader)


_PLAIN_KEY = re.compile(r"[A-Za-z0-9_-]{1,64}")
"""A key shown as it is in a problem's field name (others are shown quoted, as ``repr``)."""
_TOP_KEY = re.compile(r"^([A-Za-z_][A-Za-z0-9_-]*)[ \t]*:(?:[ \t]|$)", re.MULTILINE)
_DROPPED = frozenset({"secured"})
_DROPPED_LENGTH = min(map(len, _DROPPED))
_KNOWN = frozenset({
    "title", "excerpt", "publishedDateTime", "updatedDateTime", "category", "type",
    "originalUrl", "webUrl", "quality", "heat", "published", "provider", "topics",
    "images", "related", "locale", "secured",
})


@dataclass(frozen=True)
class LoadResult:
    """What loading a content folder produced."""

    articles: tuple[Article, ...]
    """Valid, deduplicated records, sorted by source path."""
    problems: tuple[Problem, ...]
    """Every problem found, in source order (errors and warnings)."""
    files: int
    """Record files seen."""


# --------------------------------------------------------------------------- discovery


def real_path(path: Path) -> Path | None:
    """``path`` resolved, or None when it is a symbolic link loop (`Path.resolve` raises:
    RuntimeError before Python 3.13, OSError since)."""
    try:
        return path.resolve()
    except (RuntimeError, OSError):
        return None


def record_files(site: Path, content_dir: Path,
                 links: list[str] | None = None) -> tuple[list[tuple[str, str]], list[Problem]]:
    """Every record file under ``content_dir`` (not ``images/``), sorted, plus link problems.

    Each is ``(path, source)``: the path to open and the site-relative name. Hidden
    files and folders are ignored; symbolic links are followed only when they
    resolve inside the site folder, and each folder is visited once. The paths of the
    links met are added to ``links``, when given (see `relisted`).

    "Sorted" is the walk's order: each folder's entries by name, a folder's records where
    its name falls (`walk_order`).
    """
    problems: list[Problem] = []
    found: list[tuple[str, str]] = []
    prefix = str(site) + os.sep
    root = site.resolve()
    images = real_path(content_dir / IMAGES_DIR)
    content_real = real_path(content_dir) or content_dir
    seen_dirs: set[str] = set()

    def rel(p: Path) -> str:
        try:  # (control characters in a name are escaped by `Problem.__str__`)
            return p.relative_to(site).as_posix()
        except ValueError:
            return p.as_posix()

    def inside(p: Path) -> bool:
        return p == root or root in p.parents

    def walk(folder: Path) -> None:
        real = real_path(folder)
        if real is None or str(real) in seen_dirs:
            return
        seen_dirs.add(str(real))
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError as exc:
            problems.append(Problem(rel(folder), None, None, f"cannot list folder: {exc.strerror}"))
            return
        for entry in entries:
            if entry.name.startswith(".") or entry.name.endswith("~"):
                continue
            if entry.name.lower().endswith(RECORD_SUFFIXES) and not entry.is_symlink():
                try:  # the common case, without a Path object
                    regular = entry.is_file()
                except OSError:
                    regular = False
                if regular:
                    name = entry.path
                    source = (name[len(prefix):] if name.startswith(prefix) else name).replace(os.sep, "/")
                    found.append((name, source))
                    continue
            path = Path(entry.path)
            if entry.is_symlink():
                if links is not None:
                    links.append(entry.path)
                target = real_path(path)
                if target is None:  # a loop (a -> b -> a): it stopped the whole build
                    problems.append(Problem(rel(path), None, None,
                                            "symbolic link loop (it leads back to itself); not followed",
                                            "warning"))
                    continue
                if not inside(target):
                    problems.append(Problem(rel(path), None, None,
                                            "symbolic link points outside the site; not followed",
                                            "warning"))
                    continue
                if target in content_real.parents:  # (a link to content/ itself: visited once, below)
                    # (to the site folder: its output folder's robots.txt became a "record")
                    problems.append(Problem(rel(path), None, None, "symbolic link to a folder that holds the "
                                            "content folder (a loop); not followed", "warning"))
                    continue
            try:
                is_dir = entry.is_dir()
            except OSError:
                continue
            if is_dir:
                if real_path(path) == images:
                    continue
                walk(path)
            elif entry.name.lower().endswith(RECORD_SUFFIXES):
                try:
                    regular = entry.is_file()
                except OSError:
                    regular = False
                if regular:
                    found.append((str(path), rel(path)))
                else:  # a FIFO or device would block or never end when read
                    problems.append(Problem(rel(path), None, None,
                                            "not a regular file; skipped", "warning"))

    if content_dir.is_dir():
        if links is not None and content_dir.is_symlink():
            links.append(str(content_dir))
        walk(content_dir)
    return found, problems


def walk_order(source: str) -> list[str]:
    """The sort key of `record_files`' order: a folder's entries by name, each folder's records
    where its name falls (``a/z.md`` before ``a.md``, unlike the strings' order)."""
    return source.split("/")


def _position(items: list[tuple[str, str]], source: str) -> int:
    """Where ``source`` is, or would go, in ``items`` (in `walk_order`)."""
    return bisect.bisect_left(items, walk_order(source), key=lambda item: walk_order(item[1]))


def relisted(site: Path, content_dir: Path, listing: list[tuple[str, str]],
             changed: Iterable[str]) -> tuple[list[tuple[str, str]], set[str]] | None:
    """`record_files`' answer now, from its answer ``listing`` at an earlier walk that met no
    link and no problem, and the paths ``changed`` since (a watcher's events: any path under the
    site, a file's or not): the new listing (a new list) and the sources of the record files
    among ``changed``; None when only a walk can say (a folder, link or special file among
    them, or a path that cannot be looked at). Each changed record file is looked at now:
    applied twice, the same paths give the same listing."""
    prefix, site_prefix = str(content_dir) + os.sep, str(site) + os.sep
    items = list(listing)
    named: set[str] = set()
    for path in changed:
        if not path.startswith(prefix):
            continue  # (a template, a static file, the config: not a record)
        parts = path[len(prefix):].split(os.sep)
        if (any(part.startswith(".") or part.endswith("~") for part in parts)
                or (parts[0] == IMAGES_DIR and len(parts) > 1)):
            continue  # (what the walk skips)
        try:
            mode = os.lstat(path).st_mode
        except (FileNotFoundError, NotADirectoryError):
            mode = None
        except OSError:
            return None
        if mode is not None and not stat.S_ISREG(mode):
            return None  # a folder, a link, a pipe: the walk knows what to do with it
        if not parts[-1].lower().endswith(RECORD_SUFFIXES) or not path.startswith(site_prefix):
            continue
        source = path[len(site_prefix):].replace(os.sep, "/")
        named.add(source)
        at = _position(items, source)
        present = at < len(items) and items[at][1] == source
        if mode is None and present:
            del items[at]
        elif mode is not None and not present:
            items.insert(at, (path, source))
    return items, named


# --------------------------------------------------------------------------- parsing


def field_locator(path: Path) -> Callable[[tuple[Any, ...]], int | None]:
    """Where fields are in the record file ``path``, read again now: a function from a field
    path (``("images", 2)``) to its 1-based line, or None. For problems found after loading
    (an image's, see `digest.images`); a file that is no longer a readable record answers None."""
    try:
        raw = read_regular(path, MAX_RECORD_BYTES + 1)[0]  # (a named pipe put there since waits forever)
        if len(raw) > MAX_RECORD_BYTES:
            return _no_line
        if b"\x00" in raw and (encoding := _wide_encoding(raw)):  # (as `parse_record` reads it)
            raw = raw.decode(encoding).encode("utf-8", "surrogatepass")
        text = _lines_of(_utf8_or_windows_1252(raw)[0])
    except (OSError, UnicodeError):
        return _no_line
    parts = split_front_matter(text) if "\x00" not in text else None
    if parts is None and "\x00" not in text and _JSON_START.match(text):
        try:
            parts = _json_front_matter(text)[1]
        except (ValueError, RecursionError):
            return _no_line
    return _no_line if parts is None else _RecordProblems(str(path), _as_yaml_reads(parts[0]), parts[2]).line_of


def _no_line(field: tuple[Any, ...]) -> None:
    return None


def _lines_of(text: str) -> str:
    """A record's decoded text with ``\n`` line ends, without a byte order mark left in front
    (a second one: a tool added one to a file that had one)."""
    return text.replace("\r\n", "\n").replace("\r", "\n").lstrip("\ufeff")


class _RecordProblems:
    """Collects problems for one file, locating fields in the front matter lazily."""

    def __init__(self, path: str, front: str, first_line: int):
        self.path = path
        self.front = front
        self.first_line = first_line
        self.items: list[Problem] = []
        self._root: Any = None
        self.controls = True
        """Whether the front matter may hold control characters (`_may_hold_controls`: as written, or
        as an escape); when not, `_public_extra` looks for none."""

    def line_of(self, field: tuple[Any, ...]) -> int | None:
        """1-based file line of a (nested) field, found by composing the YAML once."""
        line = self._locate(field)[0]
        return None if line is None else line + self.first_line

    def source_text(self, field: tuple[Any, ...]) -> str | None:
        """A field's plain (unquoted) scalar as written (``NO``, ``1e3``, ``12:30``), or None
        when the field is no plain scalar. YAML reads such text as a boolean, number or date."""
        node = self._locate(field)[1]
        if isinstance(node, yaml.ScalarNode) and not node.style and node.value.strip():
            return node.value
        return None

    def _locate(self, field: tuple[Any, ...]) -> tuple[int | None, Any]:
        """(0-based line in the front matter, node) of a (nested) field: the line of the
        deepest part found, and the node only when the whole path was found."""
        if not field:
            return None, None
        if self._root is None and len(self.front) > MAX_COMPOSE:
            if not isinstance(field[0], str):
                return None, None
            found = deque(re.finditer(rf"^{re.escape(field[0])}[ \t]*:", self.front, re.MULTILINE), maxlen=1)
            return (self.front.count("\n", 0, found[0].start()) if found else None), None  # (the last counts)
        if self._root is None:
            try:
                self._root = yaml.compose(self.front, Loader=_Loader) or False
            except (yaml.YAMLError, RecursionError):
                self._root = False
        node = self._root
        line = None
        for part in field:
            if isinstance(node, yaml.MappingNode) and isinstance(part, str):
                for key, value in reversed(node.value):  # a key given twice: the last one counts
                    if getattr(key, "value", None) == part:
                        line, node = key.start_mark.line, value
                        break
                else:
                    return line, None
            elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
                if part >= len(node.value):
                    return line, None
                node = node.value[part]
                # (an alias's node is the anchored one, which can stand on an earlier line)
                line = max(node.start_mark.line, line if line is not None else node.start_mark.line)
            else:
                return line, None
        return line, node

    def add(self, field: tuple[Any, ...], message: str, severity: str = "error") -> None:
        name = _field_name(field)
        self.items.append(Problem(self.path, self.line_of(field), name or None, message, severity))

    def warn(self, field: tuple[Any, ...], message: str) -> None:
        self.add(field, message, "warning")

    @property
    def has_errors(self) -> bool:
        return any(p.severity == "error" for p in self.items)


def _field_name(field: tuple[Any, ...]) -> str:
    out = ""
    for part in field:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _kind(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"a boolean ({str(value).lower()})"
    if isinstance(value, _TooLong) or (isinstance(value, int) and not -MAX_NUMBER < value < MAX_NUMBER):
        return "an integer out of range"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, datetime | date):
        return "a date"
    return _TAGGED_KINDS.get(type(value), type(value).__name__)


_TAGGED_KINDS = {bytes: "binary data (!!binary)", set: "a set (!!set)", tuple: "a pair (!!omap or !!pairs)"}
"""What the values of YAML's other safe tags are, as a message says it (not "got set", "got a list with tuple")."""


def _count_nodes(value: Any, budget: int, depth: int = 0) -> int:
    """Remaining node budget after walking ``value``; negative means too big or too deep."""
    budget -= 1
    if budget < 0 or depth > 50:
        return -1
    if isinstance(value, dict):
        for k, v in value.items():
            budget = _count_nodes(v, _count_nodes(k, budget, depth + 1), depth + 1)
            if budget < 0:
                return budget
    elif isinstance(value, list):
        for v in value:
            budget = _count_nodes(v, budget, depth + 1)
            if budget < 0:
                return budget
    return budget


def _too_deep(value: Any, limit: int = 50) -> bool:
    """Whether ``value`` nests more than ``limit`` levels (walked without recursion: each
    container once, so shared YAML aliases cost no more than their text)."""
    todo = [(value, 0)]
    seen: set[int] = set()
    while todo:
        item, depth = todo.pop()
        if depth > limit:
            return True
        if isinstance(item, dict | list) and id(item) not in seen:
            seen.add(id(item))
            todo.extend((child, depth + 1) for child in (item.values() if isinstance(item, dict) else item))
    return False


def split_front_matter(text: str) -> tuple[str, str, int] | None:
    """(front matter, body, line where the front matter starts) or None when absent.

    The file must start with a ``---`` line; the front matter ends at the next
    ``---`` or ``...`` line.
    """
    lines = text.split("\n")
    if not lines or lines[0].rstrip() != "---":
        return None
    for index in range(1, len(lines)):
        stripped = lines[index].rstrip()
        if stripped in ("---", "..."):
            return "\n".join(lines[1:index]), "\n".join(lines[index + 1:]), 2
    return None


_REAL_OFFSETS = (timedelta(hours=-12), timedelta(hours=14))

_MONTHS = {name: number for number, name in enumerate(
    "jan feb mar apr may jun jul aug sep oct nov dec".split(), 1)}
_WEEKDAYS = "mon tue wed thu fri sat sun".split()
_ZONES = {"gmt": 0, "ut": 0, "utc": 0, "z": 0, "est": -5, "edt": -4, "cst": -6, "cdt": -5,
          "mst": -7, "mdt": -6, "pst": -8, "pdt": -7}
"""The zone names RFC 822 defines (and UTC). Others (``IST``: India, Israel or Ireland?) are
ambiguous, and so are the military letters (RFC 2822 says their sign was wrong in RFC 822)."""
_OFFSET = r"(?:([+-])(\d\d):?(\d\d)|([a-z]{1,3}))"
_RFC822 = re.compile(
    r"(?i)(?:([a-z]{3})[a-z]*,?\s+)?(\d{1,2})[\s-]+([a-z]{3})[a-z]*\.?[\s-]+(\d{4}|\d\d)\s+"
    r"(\d\d?):(\d\d)(?::(\d\d))?(?:\s*" + _OFFSET + r")?")
"""RSS dates (RFC 822 and RFC 2822): ``Thu, 26 Nov 2026 10:00:00 GMT``, ``26 Nov 26 10:00 +0100``."""
_CTIME = re.compile(r"(?i)([a-z]{3})\s+([a-z]{3})\s+(\d{1,2})\s+(\d\d):(\d\d):(\d\d)(?:\s+" + _OFFSET
                    + r")?\s+(\d{4})")
"""The Twitter API's ``created_at``: ``Thu Nov 26 10:00:00 +0000 2026``; C's ``asctime`` (no zone)."""
_DOTNET = re.compile(r"\\?/Date\((-?\d{1,15})(?:([+-])(\d\d)(\d\d))?\)\\?/")
""".NET's JSON date: ``/Date(1795687200000)/`` (milliseconds), ``/Date(1795687200000+0530)/``."""
_BRACKET_ZONE = re.compile(r"([^\[]+)\[([A-Za-z0-9_+/-]{1,60})\](?:\[[^\]]*\])*")
"""RFC 9557 (Java's ``ZonedDateTime``): ``2026-11-26T15:30:00+05:30[Asia/Kolkata]``."""
_ISO_UTC_NAME = re.compile(r"(\d{4}-\d\d-\d\d[T ][0-9:.,]+?)\s*(?:([+-]\d\d:?\d\d)\s*[A-Za-z]{1,5}|UTC|GMT)"
                           r"(?: m=[+-][0-9.]+)?", re.IGNORECASE)
"""Ruby's ``2026-11-26 10:00:00 UTC``, Go's ``2026-11-26 10:00:00 -0500 EST m=+0.001`` (the offset
decides; the zone's name is only a name)."""
_EPOCH_FRACTION = re.compile(r"\d{10}(?:\d{3})?\.\d{1,9}")
_ZONE_SUFFIX = r"\s*(?:[Zz]|[+-]\d\d(?::?\d\d)?)?"
_SLASHED = re.compile(r"(\d{4})/(\d\d?)/(\d\d?)((?:[Tt ]\d\d:\d\d(?::\d\d(?:[.,]\d+)?)?" + _ZONE_SUFFIX + ")?)")
"""``2026/11/26 10:00``: year first (no one writes year, day, month)."""
_END_OF_DAY = re.compile(r"(\d{4}-\d\d-\d\d)[Tt ]24(?::00){1,2}(?:[.,]0+)?(" + _ZONE_SUFFIX + ")")
"""ISO 8601's end of a day, ``2026-11-26T24:00``: the next day's 00:00."""
_LEAP = re.compile(r"(\d{4}-\d\d-\d\d[Tt ]\d\d:\d\d:)60((?:[.,]\d+)?\s*(?:[Zz]|[+-]\d\d(?::?\d\d)?)?)")
"""An ISO 8601 date-time at a leap second (``2016-12-31T23:59:60Z``)."""


def _epoch(value: float) -> datetime | None:
    """A number of seconds (10 digits), milliseconds (13), microseconds (16) or nanoseconds (19,
    Go's UnixNano) since 1970 (UTC): the years 2001 to 2286. Other numbers (``20240101``) are no
    time anyone means: None."""
    for unit in (1, 10**3, 10**6, 10**9):
        if 1e9 * unit <= value < 1e10 * unit:
            return datetime.fromtimestamp(int(value) // unit, UTC)
    return None


COMPACT_YEARS = (1900, 2299)
"""Years an 8-digit ``YYYYMMDD`` may name (a number outside them is no date anyone means)."""


def _compact_date(digits: str) -> datetime | None:
    """ISO 8601's basic date ``YYYYMMDD`` (``20261126``): midnight UTC of that day, the same
    whether YAML or JSON gives it as text or, unquoted, as an integer (it was an error then);
    a year outside `COMPACT_YEARS` or no such day (``20261399``, ``20260230``): None."""
    if len(digits) != 8 or not digits.isascii() or not digits.isdigit():
        return None
    year, month, day = int(digits[:4]), int(digits[4:6]), int(digits[6:])
    if not COMPACT_YEARS[0] <= year <= COMPACT_YEARS[1]:
        return None
    try:
        return datetime(year, month, day, tzinfo=UTC)
    except ValueError:  # (month 13, 30 February)
        return None


def _zone(sign: str | None, hours: str | None, minutes: str | None, name: str | None) -> tzinfo | None:
    """The offset of an RFC 822 zone (``+0100``, ``-0000``, ``GMT``, ``EST``), or None."""
    if name is not None:
        hours_east = _ZONES.get(name.lower())
        return None if hours_east is None else timezone(timedelta(hours=hours_east))
    delta = timedelta(hours=int(hours or 0), minutes=int(minutes or 0))
    return timezone(-delta if sign == "-" else delta)


def _other_datetime(text: str) -> datetime | None:
    """A date-time in a form records carry besides ISO 8601, read only when it means one instant:
    RFC 822 (RSS), Twitter's, epoch seconds or milliseconds, .NET's ``/Date(ms)/``, RFC 9557's
    ``[zone]`` suffix, a leap second (``23:59:60``: the last second of its day, ``23:59:59``).
    A weekday that disagrees with its date, a zone name RFC 822 does not define: None. A time
    written without an offset comes back naive (`_datetime` makes every such time UTC)."""
    try:
        if text.isascii() and text.isdigit():
            return _epoch(int(text))
        if _EPOCH_FRACTION.fullmatch(text):  # (Reddit's created_utc, quoted: "1795687200.5")
            return _epoch(float(text))
        if match := _RFC822.fullmatch(text):
            weekday, day, month, year, hour, minute, second, *zone = match.groups()
            if len(year) == 2:  # (RFC 2822: 00-49 are 2000-2049, 50-99 are 1950-1999)
                year = str(int(year) + (2000 if int(year) < 50 else 1900))
            when = (int(year), _MONTHS.get(month.lower(), 0), int(day), int(hour), int(minute), int(second or 0))
        elif match := _CTIME.fullmatch(text):
            weekday, month, day, hour, minute, second, *zone, year = match.groups()
            when = (int(year), _MONTHS.get(month.lower(), 0), int(day), int(hour), int(minute), int(second))
        elif match := _ISO_UTC_NAME.fullmatch(text):
            inner = datetime.fromisoformat(match.group(1) + (match.group(2) or ""))
            return inner if match.group(2) else None if inner.tzinfo else inner.replace(tzinfo=UTC)
        elif match := _SLASHED.fullmatch(text):
            year, month, day, rest = match.groups()
            return datetime.fromisoformat(_UTC_SUFFIX.sub("+00:00", f"{year}-{month:0>2}-{day:0>2}{rest}"))
        elif match := _END_OF_DAY.fullmatch(text):
            return datetime.fromisoformat(_UTC_SUFFIX.sub("+00:00", f"{match.group(1)}T00:00{match.group(2)}")) \
                + timedelta(days=1)  # (a time without offset is made UTC by `_datetime`, as every one)
        elif match := _DOTNET.fullmatch(text):
            instant = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=int(match.group(1)))
            if match.group(2) is None:
                return instant
            return instant.astimezone(_zone(match.group(2), match.group(3), match.group(4), None))
        elif match := _BRACKET_ZONE.fullmatch(text):
            stamp, name = match.groups()
            if system_zone_file(name):  # (`[localtime]`: the zone of whichever machine builds)
                return None
            inner = _datetime(stamp)
            if inner is None or datetime.fromisoformat(_UTC_SUFFIX.sub("+00:00", stamp.strip())).tzinfo:
                return inner  # (an offset says the instant; the name adds nothing)
            from zoneinfo import ZoneInfo  # noqa: PLC0415 - rare

            return inner.replace(tzinfo=ZoneInfo(name))  # (a local time in that zone)
        elif match := _LEAP.fullmatch(text):
            inner = datetime.fromisoformat(_UTC_SUFFIX.sub("+00:00", f"{match.group(1)}59{match.group(2)}"))
            inner = inner if inner.tzinfo else inner.replace(tzinfo=UTC)
            if inner.astimezone(UTC).time().replace(microsecond=0) != time(23, 59, 59):
                return None  # (a second 60 is a leap second only at the end of a UTC day)
            return inner
        elif SafeConstructor.timestamp_regexp.match(text):
            # What YAML reads unquoted as a time, read the same quoted (`2001-1-4 1:59:43`, an
            # offset `-5` or `+5:45`, spaces before it): quoted, it was "not a date".
            read = _TIMESTAMP.construct_yaml_timestamp(yaml.ScalarNode(_TIMESTAMP_TAG, text))
            return read if isinstance(read, datetime) else datetime.combine(read, time())
        else:
            return None
    except (ValueError, OverflowError, KeyError, OSError):  # (ZoneInfo raises ValueError or KeyError)
        return None
    leap = when[5] == 60
    tz = _zone(*zone) if any(zone) else UTC  # (no zone: UTC, as for ISO 8601)
    if tz is None:
        return None
    try:
        dt = datetime(*when[:5], 59 if leap else when[5], tzinfo=tz)
        if weekday is not None and _WEEKDAYS[dt.weekday()] != weekday.lower():
            return None
        if leap and dt.astimezone(UTC).time() != time(23, 59, 59):
            return None
    except (ValueError, OverflowError):  # an impossible date (31 Feb), or one past year 9999 in UTC
        return None
    return dt


_TIMESTAMP = SafeConstructor()
_TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"


def _brief(value: Any) -> str:
    """``repr(value)`` cut to 60 characters, for a message (an integer of thousands of digits,
    which Python will not print, is described)."""
    return f"<{_huge(value)}>" if _huge(value) else repr(value)[:60]


def _huge(value: Any) -> str:
    """``"an integer of about N digits"`` for an integer too long to publish (`_HUGE_INT`), else ``""``."""
    if type(value) is not int or -_HUGE_INT < value < _HUGE_INT:
        return ""
    return f"an integer of about {int(value.bit_length() * 0.30103) + 1} digits"


_SURROGATE = re.compile("[\ud800-\udfff]")


def _whole_characters(value: Any) -> Any:
    """JSON data with each half of a UTF-16 pair left alone (``"\\ud800"``: JSON allows it,
    UTF-8 cannot hold it, and writing the record's page stopped the build) made U+FFFD."""
    if isinstance(value, str):
        return value if value.isascii() else _SURROGATE.sub("\ufffd", value)
    if isinstance(value, dict):
        return {_whole_characters(key): _whole_characters(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_whole_characters(item) for item in value]
    return value


_OUT_OF_RANGE = " (a year out of range: years 0002 to 9998 are read)"
_ISO_DAY = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})(?![0-9])")


def _why_no_date(text: str) -> str:
    """Why a date was refused: its year out of range, a day its month does not have, or, for an
    RSS or Twitter date, its weekday or its zone name ("" when none of these)."""
    if not text.isdigit():  # (`_datetime` reads digits alone as a compact date or epoch time)
        try:
            read = datetime.fromisoformat(_UTC_SUFFIX.sub("+00:00", text))
        except ValueError:
            read = _other_datetime(text)
        if read is not None:  # (read, and refused by `_datetime`: 9999-12-31 is past 9998 in UTC)
            return _OUT_OF_RANGE
    if day := _ISO_DAY.match(text):
        try:
            date(*map(int, day.groups()))
        except ValueError as exc:  # (2024-02-30: "day is out of range for month")
            return f" ({exc})"
    match = _RFC822.fullmatch(text) or _CTIME.fullmatch(text)
    if match is None:
        return ""
    name = match.group(11 if match.re is _RFC822 else 10)
    if name and name.lower() not in _ZONES:
        return f" (the zone {name!r} is ambiguous: write an offset such as +0530)"
    weekday = match.group(1)
    if weekday is not None and match.re is _RFC822 and _other_datetime(text[match.end(1):].lstrip(", ")):
        return f" ({weekday} is not the day of that date)"
    return ""


_UTC_SUFFIX = re.compile(r"[Zz]$")


def _compatible(text: str) -> str:
    """``text`` in NFKC (fullwidth letters and digits as ASCII ones) without its invisible format
    characters (Unicode's Cf: zero-width spaces, a byte order mark, bidi marks): what a scraper's
    field name or date says, as a reader sees it."""
    return "".join(c for c in unicodedata.normalize("NFKC", text) if unicodedata.category(c) != "Cf")


def _datetime(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        dt = value
    elif isinstance(value, date):
        dt = datetime.combine(value, time())
    elif isinstance(value, str):
        if not value.isascii():  # a scraper's zero-width space or BOM, fullwidth digits: read through
            value = _compatible(value)
        text = value.strip()
        if text.endswith(("z", "Z")):
            text = text[:-1] + "+00:00"
        elif text.isdigit():  # (fromisoformat reads 20 digits as 1111-11-11T11:11:11)
            return _compact_date(text) if len(text) == 8 else _other_datetime(text)  # (or epoch time)
        try:
            dt = datetime.fromisoformat(text)
        except ValueError:
            found = _other_datetime(value.strip())  # (only after the common form failed)
            if found is None:
                return None
            dt = found
    elif isinstance(value, int | float) and not isinstance(value, bool):
        found = _compact_date(str(value)) if type(value) is int and 0 < value < 10**8 else _epoch(value)
        if found is None:
            return None
        dt = found
    else:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    # Pages write these with isoformat() into <time datetime> and JSON-LD, where HTML allows
    # no offset seconds and at most three fraction digits: whole seconds, and an offset
    # that is not whole minutes or outside -12:00..+14:00 (never real) becomes UTC, the same instant.
    dt = dt.replace(microsecond=0)
    offset = dt.utcoffset()
    if offset is not None and (offset.seconds % 60 or offset.microseconds
                               or not _REAL_OFFSETS[0] <= offset <= _REAL_OFFSETS[1]):
        try:
            dt = dt.astimezone(UTC).replace(microsecond=0)  # (an offset's fraction of a second moved it)
        except (OverflowError, ValueError):
            return None
    try:
        if not 2 <= dt.astimezone(UTC).year <= 9998:  # a day of margin for any timezone
            return None
    except (OverflowError, ValueError):  # e.g. 9999-12-31T23:00-05:00 is past year 9999 in UTC
        return None
    return dt


_TEXT_ITEMS = (str, int, float, date, type(None))
"""What a list of strings may hold: text, and what YAML reads from unquoted text (`_text`)."""


_ESCAPED_ENTITY = re.compile(r"&amp;(#[0-9]{1,7};|#[xX][0-9a-fA-F]{1,6};|[A-Za-z][A-Za-z0-9]{1,31};)")
"""An entity escaped once more (``&amp;#39;``, ``&amp;quot;``): text a scraper escaped twice."""


def _unescape(text: str) -> str:
    """``text`` with its HTML entities decoded, and those of text escaped twice or three times
    by scrapers (``It&amp;#39;s``, ``AT&amp;amp;T``): decoded again while such a pair holds a
    real entity. (``&amp;madeup;`` is text as written.)"""
    if "&" not in text:
        return text
    for _ in range(3):
        if "&amp;" not in text or not any(m.group(1)[0] == "#" or m.group(1) in html.entities.html5
                                          for m in _ESCAPED_ENTITY.finditer(text)):
            return html.unescape(text)
        text = html.unescape(text)
    return html.unescape(text)


def _without_markup(text: str, field: tuple[Any, ...], report: _RecordProblems | None) -> str:
    """``text`` without the HTML markup a scraper copied into a plain-text field (`strip_markup`:
    ``<b>``, ``<br>``, ``<p>``, a script and its content), with a warning: the page showed the tags
    as text (``<b>Power Apps</b> news``), in every card, feed and JSON document."""
    stripped = strip_markup(text)
    if stripped is None:
        return text
    if report is not None and field:
        report.warn(field, "HTML markup removed (a plain-text field; write &lt; for a < shown as it is)")
    return stripped


def _text(value: Any, field: tuple[Any, ...] = (), report: _RecordProblems | None = None,
          name: bool = False) -> str | None:
    """A plain-text field as str (HTML entities decoded), or None when not text.

    Unquoted text that YAML reads as a number or a date is the text as written when ``field``
    locates it: a title ``1e3``, ``010`` or ``12:30``, a category ``2024-01-01``. So is text
    read as a boolean in a ``name`` (a title, topic or provider name): the topic ``NO``
    (Norway), the headline ``Yes``. Without ``field``, numbers are text as Python writes them.
    """
    if isinstance(value, str):
        return plain_text(_unescape(_without_markup(value, field, report)))
    if value is None or not isinstance(value, int | float | date) or (isinstance(value, bool) and not name):
        return None
    if report is not None and field:
        written = report.source_text(field)
        if written is not None:
            return plain_text(_unescape(written))
    if isinstance(value, bool | date):
        return None
    return plain_text(_unescape(str(value)))


def _cut(text: str, limit: int, field: tuple[Any, ...], report: _RecordProblems) -> str:
    """``text`` cut to ``limit`` characters (ending in an ellipsis, between two grapheme clusters),
    with a warning when it was."""
    if len(text) <= limit:
        return text
    report.warn(field, f"longer than {limit} characters; cut")
    return display.cut(text, limit)


_NUMBER_TEXT = re.compile(r"((?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?) ?([kKmMbB]|px|PX|)")
"""A number as scrapers copy it off a page: ``1,234`` (thousands grouped by threes: ``1,5`` is
ambiguous, and refused), ``1.2K``, ``3.5M`` (views, shares), ``640px`` (an image size)."""
_SCALES = {"": 1, "px": 1, "k": 10**3, "m": 10**6, "b": 10**9}


def _int(value: Any) -> int | None:
    """An integer field's value (a float or numeric text is rounded), or None; magnitudes from
    `MAX_NUMBER` up are None too (no float holds a 400-digit quality: ranking stopped the build)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if -MAX_NUMBER < value < MAX_NUMBER else None
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            match = _NUMBER_TEXT.fullmatch(value.strip())  # (only after the plain number failed)
            if match is None:
                return None
            value = float(match.group(1).replace(",", "")) * _SCALES[match.group(2).lower()]
    if isinstance(value, float) and abs(value) < MAX_NUMBER:  # (False for NaN and infinities)
        return round(value)
    return None


def _not_an_integer(value: Any) -> str:
    """What a value that `_int` refused is, for a message: a number written as text is named
    by its size (``quality: 1e15`` is text to YAML 1.1, which wants a dot in a float: "got a
    string" sent the curator looking for quotes), other text is quoted."""
    if isinstance(value, str):
        text = value.strip()
        match = _NUMBER_TEXT.fullmatch(text)
        try:
            number = float(text if match is None else match.group(1).replace(",", ""))
        except ValueError:
            return f"the text {_brief(value)}" if text else "an empty string"
        named = number != number or (number in (_INF, -_INF) and "inf" in text.lower())  # (not 400 digits)
        if named:
            return f"{_brief(value)}, not a number"
        return "an integer out of range" if text.lstrip("+-").replace(",", "").isdigit() else "a number out of range"
    if isinstance(value, float):
        return "a number out of range" if value == value and value not in (_INF, -_INF) else f"{value}, not a number"
    return _kind(value)


_INF = float("inf")

_URL_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
"""Control characters no image URL may hold: all but the tab and line breaks, which a browser
removes from a URL (C1 controls among them: a terminal reads ``\x9b`` as an escape)."""


_JEKYLL_PLAIN = {"true": True, "yes": True, "on": True, "false": False, "no": False, "off": False,
                 "null": None, "~": None}
"""Unquoted text that Jekyll's YAML (Ruby's Psych) reads as a boolean or null in any case
(``fAlSe``, ``nULL``); PyYAML reads only three casings of each, and the rest as text."""
_TEXT_BOOLEANS = {"true": True, "yes": True, "false": False, "no": False}
"""Text read as a boolean in ``isCached`` (not in ``published``: a quoted "false" there is an error,
so that no draft is published by a reading nobody meant)."""


def _image(entry: Any, where: tuple[Any, ...], report: _RecordProblems, position: int) -> ImageRef | None:
    if isinstance(entry, str) and safe_url(entry):
        entry = {"url": entry}  # (a list of image URLs: images of unknown size)
    if isinstance(entry, dict) and entry.get("url") is None:
        # Bing's `{thumbnail: {contentUrl, width, height}}` and schema.org's `{contentUrl, ...}`
        inner = entry.get("thumbnail")
        if isinstance(inner, dict) and isinstance(inner.get("contentUrl") or inner.get("url"), str):
            where = (*where, "thumbnail")
            entry = {**entry, **inner, "url": inner.get("contentUrl") or inner.get("url")}
        elif isinstance(entry.get("contentUrl"), str):
            entry = {**entry, "url": entry["contentUrl"]}
    if not isinstance(entry, dict):
        report.warn(where, f"expected a mapping with url, width, height, got {_kind(entry)}; image ignored")
        return None
    _warn_misspelled(entry, _FOLDED_IMAGE, where, report, "ignored")
    url = entry.get("url")
    if not isinstance(url, str) or not url.strip():
        report.warn(where + ("url",), f"expected a URL string, got {_empty_kind(url, None)}; image ignored")
        return None
    if not url.isprintable() and _URL_CONTROL.search(url):  # (no URL holds them; shown raw
        report.warn(where + ("url",), "holds control characters, so it is no URL; image ignored")
        return None  # in the image warnings, "\x1b[2J" cleared the terminal)
    # (A tab or line break in it, from a block scalar `url: |` or a scraper's wrapped column, is kept:
    # the cache file is named by the hash of the exact value (`digest.images` also looks for the URL
    # as a browser reads it). Every link made of it passes `safe_url`, which removes them.)
    size = []
    for key in ("width", "height"):
        raw = entry.get(key)
        number = _int(raw)
        if raw is not None and (number is None or not 0 < number < 1_000_000):
            got = str(number) if number is not None else _not_an_integer(raw)
            report.warn(where + (key,), f"expected a positive integer, got {got}")
            number = None
        size.append(number)
    cached = entry.get("isCached", False)
    if isinstance(cached, str) and cached.strip().lower() in _TEXT_BOOLEANS:
        cached = _TEXT_BOOLEANS[cached.strip().lower()]  # (an exporter's "true": it only shows a picture)
    if not isinstance(cached, bool):
        report.warn(where + ("isCached",), f"expected true or false, got {_kind(cached)}")
        cached = False
    title = _cut(_text(entry.get("title"), where + ("title",), report, name=True) or "", MAX_TITLE,
                 where + ("title",), report)  # (it is the picture's alt text on every page that shows it)
    return ImageRef(url=url, width=size[0], height=size[1], is_cached=cached, title=title, position=position)


def _related(entry: Any, where: tuple[Any, ...], report: _RecordProblems) -> RelatedRef | None:
    if not isinstance(entry, dict):
        report.warn(where, f"expected a mapping with title and webUrl, got {_kind(entry)}; entry ignored")
        return None
    _warn_misspelled(entry, _FOLDED_RELATED, where, report, "kept as an extra field")
    title = _text(entry.get("title"), where + ("title",), report, name=True)
    if not title or not visible(title):
        got = _empty_kind(entry.get("title"), title)
        report.warn(where + ("title",), f"expected a non-empty string, got {got}; entry ignored")
        return None
    title = _cut(title, MAX_TITLE, where + ("title",), report)
    web_url = entry.get("webUrl") if isinstance(entry.get("webUrl"), str) else ""
    link = safe_url(web_url) or safe_url(entry.get("originalUrl"))
    if link is None:  # (it is then shown only when its webUrl is a story of this site)
        original = entry.get("originalUrl") if isinstance(entry.get("originalUrl"), str) else ""
        if web_url.strip():
            report.warn(where + ("webUrl",), _why_not_linked(web_url.strip()).rsplit(";", 1)[0]
                        + "; shown only if it is a story of this site")
        elif original.strip():
            report.warn(where + ("originalUrl",), _why_not_linked(original.strip()).rsplit(";", 1)[0]
                        + "; entry ignored")
            return None  # (as said: it was still in the JSON API, a title leading nowhere)
        else:
            report.warn(where + ("webUrl",), f"expected a URL string, got {_empty_kind(entry.get('webUrl'), None)}; "
                        "entry ignored")
            return None
    provider = entry.get("provider")
    at = (*where, "provider")
    if isinstance(provider, list) and provider and isinstance(provider[0], dict):  # (Bing's list)
        if len(provider) > 1:  # (as a record's: the others are dropped, and said so)
            report.warn(at, f"{len(provider)} providers; the first is used")
        provider, at = provider[0], (*at, 0)
    domain = ""
    if isinstance(provider, dict):
        _warn_misspelled(provider, _FOLDED_RELATED_PROVIDER, at, report, "ignored")
        if isinstance(provider.get("domain"), str):  # (as a record's; one that names no host is left out)
            domain = _cut(plain_text(provider["domain"]), MAX_NAME, (*at, "domain"), report).strip()
            domain = _without_credentials(domain, (*at, "domain"), report)
            domain = domain if provider_host(domain) else ""
        provider, at = provider.get("name"), (*at, "name")
    provider_name = _cut(_text(provider, at, report, name=True) or "", MAX_NAME, at, report)  # (a name as text too)
    provider_name = provider_name.strip(_NAME_EDGE)
    # The entry's other fields, as a record's extra fields (the seed's ampWebUrl, cdnAmpWebUrl, type,
    # quality and images were lost from the JSON API): no `secured`, no integer too long to publish.
    extra = _extra_fields({key: value for key, value in entry.items() if key not in _RELATED_READ}, where, report)
    return RelatedRef(
        title=title,
        web_url=web_url.strip() or link or "",  # (its story, as a record's: webUrl, else originalUrl)
        link=link,
        provider_name=provider_name,
        published=_related_date(entry, where, report),
        excerpt=_cut(_text(entry.get("excerpt"), where + ("excerpt",), report) or "", MAX_EXCERPT,
                     where + ("excerpt",), report),
        provider_domain=domain,
        extra_packed=pack_extra(extra),
    )


def _without_credentials(domain: str, field: tuple[Any, ...], report: _RecordProblems) -> str:
    """A provider's domain as it may be published: one written as a URL holding credentials
    (``https://user:pass@host.example/``: the JSON API published it as written) is its host
    name alone, with a warning that does not quote it."""
    if "@" not in domain or not holds_credentials(domain):
        return domain
    host = provider_host(domain)
    report.warn(field, "holds credentials (user@host); " + (f"only its host name {host} is kept" if host
                                                              else "ignored"))
    return host


_RELATED_READ = frozenset({"title", "excerpt", "publishedDateTime", "webUrl", "originalUrl", "provider"})
"""The fields of a ``related`` entry that `_related` reads into a `RelatedRef`'s own fields."""


def _related_date(entry: dict, where: tuple[Any, ...], report: _RecordProblems) -> datetime | None:
    """A related entry's ``publishedDateTime``, or None (with a warning when it is there but unreadable)."""
    value = entry.get("publishedDateTime")
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    found = _datetime(value)
    if found is None:
        field = (*where, "publishedDateTime")
        report.warn(field, f"{_DATE_EXPECTED}{_date_got(value, field, report)}; ignored")
    return found


_DATE_EXPECTED = "expected an ISO 8601 date-time such as 2021-11-30T20:18:00Z, got "


def _date_got(value: Any, field: tuple[Any, ...], report: _RecordProblems) -> str:
    """What a date field that could not be read holds, and why it was refused, for a problem
    (the value as written, cut; its kind when it is no text)."""
    got = f"{value!r}" if isinstance(value, str) else _kind(value)
    if isinstance(value, date):  # (an unquoted date out of range: .NET's 0001-01-01 for none)
        written = report.source_text(field) or value.isoformat()
        got = f"{written!r}{_OUT_OF_RANGE}"
    elif isinstance(value, str):
        got = got[:80] + _why_no_date(value.strip())
    return got[:160]


def _may_name_secured(raw: bytes) -> bool:
    """Whether a record may hold a ``secured`` key at all (when not, `_texts` asks no key whether it
    is one): the word in any case, or a backslash or a non-ASCII character (``"\\x73ecured"``,
    ``\u017fecured``, ``secured\u200b`` are the key too). (Three passes in C over the bytes: a
    case-blind regular expression of the same took ten times longer, most records naming the
    field at their end.)"""
    return b"\\" in raw or not raw.isascii() or b"secured" in raw.lower()


def _dropped(key: Any) -> bool:
    """True for ``secured`` in any case, width or spacing (a scraper's ``Secured`` is the same secret)."""
    # (A shorter key cannot fold to the word: folding never drops a character, and no
    # character folds (or NFKC makes it) several that occur in it; checked over all of Unicode.)
    if key in _KEPT_NAMES or not isinstance(key, str) or len(key) < _DROPPED_LENGTH:
        return False
    if key.strip().casefold() in _DROPPED:
        return True
    # (nor width or invisible characters: a scraper's fullwidth `ｓｅｃｕｒｅｄ`, `secured\u200b`)
    return not key.isascii() and _compatible(key).strip().casefold() in _DROPPED


_KEPT_NAMES = frozenset({*_KNOWN, "url", "width", "height", "isCached", "name", "domain", "ampWebUrl",
                         "cdnAmpWebUrl"}) - _DROPPED
"""Field names seen in most records, none of them `_DROPPED` (`_dropped` answers them at once)."""


_HUGE_INT = 10**100
"""An integer in an extra field this large or larger is dropped, with a warning (an id or a count
never is; thousands of digits stopped the whole build when its JSON was written)."""


def _drop_secured(value: Any, secrets: frozenset[str] = frozenset(), field: tuple = (),
                  report: _RecordProblems | None = None, whose: str = "") -> Any:
    """``value`` without any ``secured`` key at any depth (extra fields reach templates and JSON),
    without any string or key among ``secrets`` (a copy of the secret, e.g. a YAML alias of it,
    compared as `_is_secret` does: reported on ``report`` as at ``field``, as the secured value
    ``whose``, e.g. " of content/a.md" for another record's) and without integers too long to
    publish."""
    if isinstance(value, dict):
        entries = ((key, item) for key, item in value.items() if not _dropped(key))
    elif isinstance(value, list):
        entries = enumerate(value)
    else:
        return value
    kept = []
    mapping = isinstance(value, dict)
    for key, item in entries:
        if type(item) is str and not secrets and (not mapping or type(key) is str):
            kept.append((key, item))  # (most values: what the checks below would keep as it is)
            continue
        if mapping and _huge(key):
            if report is not None:  # (the key itself cannot be named: it is the problem; its line can)
                _warn_unnamed(report, field, key, f"a key that is {_huge(key)} is too long to publish; dropped")
        elif secrets and mapping and _is_secret(key, secrets):
            if report is not None:  # (nor this one: it is the secret)
                _warn_unnamed(report, field, key, f"a key holds the secured value{whose}; dropped")
        elif secrets and _is_secret(item, secrets):
            if report is not None:
                report.warn((*field, key), f"holds the secured value{whose}; dropped")
        elif _huge(item):
            if report is not None:  # (past 4,300 digits Python will not even print it: the build stopped)
                report.warn((*field, key), f"{_huge(item)} is too long to publish; dropped")
        else:
            kept.append((key, _drop_secured(item, secrets, (*field, key), report, whose)))
    return dict(kept) if mapping else [item for _, item in kept]


def _warn_unnamed(report: _RecordProblems, field: tuple[Any, ...], key: Any, message: str) -> None:
    """A warning about the key ``key`` of the mapping at ``field``, on the key's line (where it is
    found; else its mapping's) but naming only ``field``: the key is not to be printed (the
    secret, thousands of digits). A top-level key's warning had no line at all."""
    report.items.append(Problem(report.path, report.line_of((*field, key)) or report.line_of(field),
                                _field_name(field) or None, message, "warning"))


_CONTROL_ESCAPE = re.compile(r"\\(?:[0abvfeN]|(?:x|u00|U000000)(?:[0189]|7[fF]))")
"""An escape of a control character in a double-quoted YAML or a JSON string (``\\0``, ``\\e``,
``\\N``, ``\\x1b``, ``\\u0000``, ``\\U0000009f``; a ``\\\\0``, no escape, is looked at too)."""


_CONTROLS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
"""Control characters (C0, DEL, C1), tab, line feed and carriage return excepted."""
_NO_CONTROLS = dict.fromkeys([*range(0x09), 0x0B, 0x0C, *range(0x0E, 0x20), *range(0x7F, 0xA0)])
"""`str.translate` table: each of `_CONTROLS` left out."""
_LEFT_OUT = object()


def _may_hold_controls(front: str) -> bool:
    """Whether front matter text may give a string with a control character: one written as it
    is (`_CONTROLS`) or an escape of one (`_CONTROL_ESCAPE`). Most records have none (a ``\\"`` or
    ``\\u2019`` is common): their extra fields are not searched for them (`_public_extra`). (Two
    searches, the second only where there is a backslash: one pattern of both took twice as long.)"""
    if "\\" in front and _CONTROL_ESCAPE.search(front) is not None:
        return True
    # (Every control is unprintable: text printable once its tabs and line breaks are left out
    # holds none, and is not searched; the search costs ten times more.)
    return (not front.replace("\n", "").replace("\t", "").replace("\r", "").isprintable()
            and _CONTROLS.search(front) is not None)


def _extra_fields(value: dict, field: tuple[Any, ...], report: _RecordProblems) -> dict:
    """A record's, its provider's or a curated entry's other fields as kept: no ``secured`` and
    no integer too long (`_drop_secured`), then as they may be published (`_public_extra`)."""
    return _public_extra(_drop_secured(value, frozenset(), field, report), field, report)



def _public_extra(value: dict, field: tuple[Any, ...], report: _RecordProblems) -> dict:
    """Extra fields (a record's, its provider's or a curated entry's: `_drop_secured` already) as
    they may be published, each problem a warning at its field:

    - without control characters (`_CONTROLS`) in any string or key: ``\\u0000`` is valid JSON,
      but PostgreSQL's ``jsonb`` refuses it, and no field means them (a key that becomes another
      key of its mapping with them removed is dropped);
    - without any string that is a link the site does not publish: under a key ending in
      ``url`` (any case), one `safe_url` refuses; elsewhere a link (`digest.text.link_scheme`)
      of another scheme than http(s), ``javascript:``, ``data:``..., or an http(s) link holding
      credentials (`digest.text.credentials_link`): the JSON API left them out
      without a word; it still does (`digest.feeds.public_value`, the same decision).

    Cheap when there is nothing to do: most strings hold no ``:`` or ``@``; controls are looked for only
    when the front matter may hold one (`_RecordProblems.controls`)."""
    if not value:
        return value
    kept = _public_value(value, field, report, False, report.controls)
    return kept if kept is not _LEFT_OUT else {}


def _public_value(value: Any, field: tuple[Any, ...], report: _RecordProblems, url: bool, controls: bool) -> Any:
    """`_public_extra` of one value at ``field``, or `_LEFT_OUT`; ``url``: the nearest key above it
    ends in ``url``. (Strings are seen in their container's loop: a call and a field path each
    made the walk twice as long, and most strings need nothing.)"""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            shown = key
            if controls and isinstance(key, str) and _CONTROLS.search(key):
                shown = key.translate(_NO_CONTROLS)
                clash = shown in value or shown in out
                _warn_shown(report, (*field, key), "the field name holds control characters; they are removed"
                            + (" (then it is another field's name: dropped)" if clash else ""))
                if clash:
                    continue
            if type(item) is str:
                at_url = str(shown)[-3:].lower() == "url"
                if controls or at_url or ":" in item or "@" in item:
                    item = _public_text(item, field, key, report, at_url, controls)
                    if item is _LEFT_OUT:
                        continue
            elif isinstance(item, _CONTAINERS):
                item = _public_value(item, (*field, key), report, str(shown)[-3:].lower() == "url", controls)
            out[shown] = item
        return out
    items = []
    for index, item in enumerate(value):
        if type(item) is str:
            if controls or url or ":" in item or "@" in item:
                item = _public_text(item, field, index, report, url, controls)
                if item is _LEFT_OUT:
                    continue
        elif isinstance(item, _CONTAINERS):
            item = _public_value(item, (*field, index), report, url, controls)
        items.append(item)
    return items if isinstance(value, list) else type(value)(items)


_CONTAINERS = (dict, list, tuple, set, frozenset)


def _public_text(text: str, field: tuple[Any, ...], key: Any, report: _RecordProblems, url: bool,
                 controls: bool) -> Any:
    """`_public_extra` of the string ``text`` at ``key`` of the container at ``field``."""
    if controls and (found := _CONTROLS.search(text)):
        text = text.translate(_NO_CONTROLS)
        _warn_shown(report, (*field, key), f"holds control characters (such as U+{ord(found.group()):04X}); removed")
    if url:
        if safe_url(text) is None:
            if text.strip():  # (an exporter's "" for none is nothing to warn of)
                _warn_shown(report, (*field, key), _why_not_linked(text.strip()).rsplit(";", 1)[0] + "; dropped")
            return _LEFT_OUT
    elif ":" in text and (scheme := link_scheme(text)) is not None and scheme not in LINK_SCHEMES:
        _warn_shown(report, (*field, key), f"a {scheme}: link (only http(s) links are published); dropped")
        return _LEFT_OUT
    elif "@" in text and credentials_link(text):
        _warn_shown(report, (*field, key), "a link holding credentials (user@host); dropped")
        return _LEFT_OUT
    return text


def _warn_shown(report: _RecordProblems, field: tuple[Any, ...], message: str) -> None:
    """A warning at ``field``, named without the control characters its keys may hold."""
    shown = tuple(part.translate(_NO_CONTROLS) if isinstance(part, str) else part for part in field)
    report.items.append(Problem(report.path, report.line_of(field), _field_name(shown) or None, message, "warning"))


def _spaced(text: str) -> str:
    """``text`` with each run of white space one space, and none at its ends."""
    return " ".join(text.split())


def _is_secret(value: Any, secrets: frozenset[str]) -> bool:
    """Whether ``value`` is text that, `_bare`, is one of ``secrets`` (each `_bare`) or holds one
    of `MIN_SECRET_INSIDE` characters or more."""
    if not isinstance(value, str):
        return False
    bare = _bare_secrets(secrets)
    if len(value) < min(map(len, bare)):  # (`_bare` never makes text longer)
        return False
    text = _bare(value)
    return text in bare or _holds_secret(text, secrets, bared=True)


def _holds_secret(text: str, secrets: frozenset[str], bared: bool = False) -> bool:
    """Whether ``text`` (`_bare` already when ``bared``) holds one of ``secrets`` of
    `MIN_SECRET_INSIDE` characters or more, both compared `_bare`."""
    if not bared:
        text = _bare(text)
    return len(text) >= MIN_SECRET_INSIDE and any(len(s) >= MIN_SECRET_INSIDE and s in text
                                                  for s in _bare_secrets(secrets))


def _bare(text: str) -> str:
    """``text`` as a reader of the site would see it, to compare it with a secret: HTML entities
    and %-escapes decoded (an excerpt's ``&#85;&#50;...``, a link's ``%2B``), invisible characters
    left out (a soft hyphen or a zero-width space splitting it, bidi marks), white space `_spaced`,
    and no ``=`` (base64's padding, which a copy may lack)."""
    return _spaced(_decoded(text)).replace("=", "")


def _decoded(text: str) -> str:
    """``text`` with HTML entities and %-escapes decoded and invisible characters left out (the
    first steps of `_bare`: its white space and ``=`` are kept, where `secret_runs` end)."""
    if "&" in text:
        text = _unescape(text)
    if "%" in text:
        text = unquote(text)
    if not text.isascii() and not text.replace("\x00", "").replace("\n", "").isprintable():
        text = _HIDING.sub("", text)  # (every `_HIDING` character is unprintable; `_joined` ends runs with NULs)
    return text


_HIDING = re.compile("[\xad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff"
                     "\U000e0000-\U000e007f]+")
"""Invisible characters a copy of a secret may hide in (each left out): the soft hyphen, zero-width
spaces and joiners, bidi marks and controls, the byte order mark, tags. (A regular expression: a
`str.translate` table of them took a quarter of a millisecond per kilobyte of text.)"""


@lru_cache(maxsize=64)
def _bare_secrets(secrets: frozenset[str]) -> frozenset[str]:
    """``secrets`` each `_bare` (and not empty)."""
    return frozenset(bare for secret in secrets if (bare := _bare(secret)))


MIN_SECRET_INSIDE = 16
"""Secrets this long or longer are looked for inside other text too (a field's value, the note):
a ciphertext or an IV in base64 is 24 characters or more; a short one would match ordinary words."""


def _secret_copies(value: Any, note: str = "") -> frozenset[str]:
    """The secrets of ``value`` (every string under a ``secured`` key at any depth, and each of
    its ``;``-separated parts of `MIN_SECRET_INSIDE` characters or more, `_spaced`) when a string
    or key elsewhere in it is one of them, or it or ``note`` holds one (`_is_secret`); else none.

    Copies are compared by value, not by the text that wrote them: an escape (``\\u0041``), a
    doubled quote, a block or folded scalar, JSON front matter write one value in other
    characters, and a scraper's copy may break its lines elsewhere (text fields join them).
    """
    return _copied(*_texts(value), note)


def _texts(value: Any, secured: bool = True) -> tuple[list[str], list[str]]:
    """The strings of ``value`` at any depth: those under a ``secured`` key (`_dropped`; none
    looked for unless ``secured``: see `_may_name_secured`), and the others with every key outside
    them (the texts a record may publish). (A loop over the containers only: it runs on every
    record, and a call per value made it a tenth of parsing one.)"""
    hidden: list[str] = []
    others: list[str] = []
    todo: list[tuple[Any, bool]] = [(value, False)] if isinstance(value, (dict, list)) else []
    while todo:
        container, inside = todo.pop()
        if isinstance(container, dict):
            pairs: Iterable[tuple[Any, Any]] = container.items()
            if not inside:
                others.extend(key for key in container if isinstance(key, str))
        else:
            pairs = ((None, item) for item in container)
        for key, item in pairs:
            hide = inside or (secured and _dropped(key))
            if isinstance(item, str):
                (hidden if hide else others).append(item)
            elif isinstance(item, (dict, list)):
                todo.append((item, hide))
            elif hide and isinstance(item, bytes):  # (`secured: !!binary ...`, as PyYAML writes bytes:
                hidden.append(base64.b64encode(item).decode("ascii"))  # a copy is its base64 text)
    return hidden, others


def _secrets_of(hidden: list[str]) -> frozenset[str]:
    """The secrets of a record whose texts under a ``secured`` key are ``hidden``: each of them,
    and each of its ``;``-separated parts of `MIN_SECRET_INSIDE` characters or more, `_spaced`."""
    found: set[str] = set()
    for item in hidden:
        if item.strip():
            found.add(_spaced(item))
            if ";" in item:  # (its ciphertext and its IV, each a secret too: a copy of one
                # alone is as much the payload's as the whole)
                found.update(part for part in map(_spaced, item.split(";")) if len(part) >= MIN_SECRET_INSIDE)
    return frozenset(found)


def _note_text(html: str) -> str:
    """The text of a rendered note as a reader and the search index get it: its tags left out.
    (A comment, an empty or unknown tag, or emphasis in the Markdown splits a copy of a secret
    that the sanitizer, or the page's text, makes whole again.)"""
    return _TAG.sub("", html)


_TAG = re.compile(r"<[^>]*>")


def _note_without_copies(html: str, hidden: list[str], runs: set[str], own: set[str],
                         foreign: Mapping[bytes, str] | None, matched: list[bytes],
                         report: _RecordProblems) -> tuple[str, set[str]]:
    """A rendered note, left out whole (with a warning) when its text (`_note_text`) holds the
    record's secret or, by a run of ``foreign``, another record's, though its Markdown did not:
    a copy split by a comment, a tag the sanitizer drops, or emphasis is whole on the page. And
    ``runs`` (`public_runs`) with the runs of that text, so that another record's secret there is
    found (``matched`` gets the digests of those that were)."""
    if len(html) < MIN_SECRET_INSIDE:
        return html, runs
    text = _note_text(html)
    if hidden and _holds_secret(text, _secrets_of(hidden)):
        report.warn((), "the note holds the secured value, written otherwise; the whole note is left out")
        return "", runs
    shown = _runs(_decoded(text)) - own
    if foreign and shown and (whose := _foreign_copies(shown, foreign, matched)):
        for source in sorted(whose):
            report.warn((), f"the note holds the secured value of {source}, written otherwise; the whole note is "
                        "left out")
        return "", runs | shown
    return html, runs | shown


def _foreign_copies(runs: set[str], foreign: Mapping[bytes, str], matched: list[bytes]) -> dict[str, set[str]]:
    """The ``runs`` that are other records' secrets (by `run_digest`, see `load_content`), by the
    record whose they are; ``matched`` gets their digests (an article without them has another
    `content_hash`: it is made again when that record changes)."""
    copies: dict[str, set[str]] = {}
    for run in runs:
        if (whose := foreign.get(digest := run_digest(run))) is not None:
            copies.setdefault(whose, set()).add(run)
            matched.append(digest)
    return copies


def _copied(hidden: list[str], others: list[str], note: str, joined: str | None = None) -> frozenset[str]:
    """`_secret_copies` of a record whose `_texts` are ``hidden`` and ``others`` (``joined``: their
    `_joined` if known, shared with `public_runs`)."""
    secrets = _secrets_of(hidden)
    if not secrets:
        return frozenset()
    bare = _bare_secrets(secrets)
    if not bare:
        return frozenset()
    shortest = min(map(len, bare))  # (`_bare` never makes text longer)
    # Every text `_bare` at once first, joined by a character `_bare` neither removes nor
    # reads as part of an escape or of white space: a secret equal to or inside one of them is
    # inside the whole. Most records hold no copy, and are done in one pass instead of one
    # per value (the checks were a fifth of parsing a record with a ``secured`` payload).
    # (`_joined` holds these texts and perhaps more: any it finds is checked one by one below.)
    if joined is not None and shortest >= MIN_SECRET_INSIDE:
        whole = _spaced(joined).replace("=", "")
    else:
        whole = _bare("\x00".join([text for text in others if len(text) >= shortest]))
    if any(secret in whole for secret in bare) \
            and any(_is_secret(text, secrets) for text in others):
        return secrets
    return secrets if _holds_secret(note, secrets) else frozenset()


def _without_secrets(note: str, secrets: frozenset[str]) -> str:
    """``note`` without any of ``secrets`` (`_spaced`: matched across any white space) of at
    least `MIN_SECRET_INSIDE` characters."""
    for secret in secrets:
        if len(secret) >= MIN_SECRET_INSIDE:
            note = re.sub(r"\s+".join(map(re.escape, secret.split(" "))), "", note)
    return note


def _without_copies(data: dict, note: str, secrets: frozenset[str], report: _RecordProblems,
                    whose: str = "") -> tuple[dict, str]:
    """A record's front matter and note without ``secrets`` (the secured value ``whose``: its
    own, or " of content/a.md" for another record's), each copy reported: a field holding one is
    dropped (`_drop_secured`); the note loses it, or, when it holds one written otherwise
    (entities, %-escapes, a soft hyphen in it), is left out whole."""
    data = _drop_secured(data, secrets, (), report, whose)
    if note != (note := _without_secrets(note, secrets)):
        report.warn((), f"the note holds the secured value{whose}; it is left out of the note")
    if _holds_secret(note, secrets):
        note = ""
        report.warn((), f"the note holds the secured value{whose}, written otherwise; the whole note is left out")
    return data, note


# Another record's secured value. A copy of record A's secret in record B (a scraper mixing up
# records) cannot be found while B is parsed alone (`parse_record` is pure, one file at a
# time); it is found after all records are loaded, by digests each record carries in its
# `FileResult` (a record's `FileResult` stays in the build's parse cache: 16 bytes of digests and
# a bytes object, 49 bytes in all, for a usual ``cipher;iv``; nothing for the texts of most records):
# - `secret_runs`: the record's own secret, as the runs of base64 characters it is made of;
# - `public_runs`: the runs of its public texts that may be one (mixed case; rare);
# then `load_content` (`foreign_secrets`) re-parses each record holding another's run with those
# as ``foreign``. A run is maximal: ``=`` (padding, or a link's ``?k=``), white space, ``;`` and
# any other character end one, so a copy without its padding, or after ``key=``, is found.
# Limits: a copy glued to other base64 characters (inside a longer run: ``/`` is one, so in a
# link's path ``/s/U2Fs...`` too) is found within a record but not across records, nor is one
# broken by white space elsewhere than the original; a secured value of plain words is matched
# across records only by its runs of `MIN_SECRET_INSIDE` base64 characters or more with both
# cases (as a whole word, not inside one).

_RUN_CLASSES = bytes(ord("U") if chr(byte).isupper() and chr(byte).isascii()
                     else ord("x") if chr(byte).isascii() and (chr(byte).isalnum() or chr(byte) in "+/")
                     else ord(" ") for byte in range(256))
"""`bytes.translate` table of `_runs`: of the ASCII base64 characters (``=`` aside), an upper-case
letter is ``U`` and any other ``x``; anything else is a space (it ends a run)."""


_UPPER_IN_RUN = re.compile(b"U(?:(?<=[xU]U)|(?=[xU]{%d}))" % (MIN_SECRET_INSIDE - 1))
"""In text made `_RUN_CLASSES`: an upper-case letter of a run that may be long enough (one inside
a run, or one that `MIN_SECRET_INSIDE` - 1 more characters of the run follow). (Looked for in C,
where a capitalized word is passed over; the run's end is found by `bytes.find`, faster than a
pattern going through it.)"""


def _runs(text: str) -> set[str]:
    """The runs of ``text`` (`_decoded` already): maximal runs of base64 characters (``=``, white
    space, ``;`` or anything else ends one) of `MIN_SECRET_INSIDE` or more, holding both an upper-
    and a lower-case letter (random base64 of 22 characters lacks one with a chance of 1 in
    100,000; a link's path, a long word or a number has one case: most records have no such run,
    and carry nothing).

    Found from their upper-case letters (`_UPPER_IN_RUN`) in the text encoded (each character
    not ASCII one ``?``: positions hold) and made `_RUN_CLASSES`: a regular expression of the
    characters themselves went through every character of every word, and took longer than
    parsing the rest of a record's texts."""
    found: set[str] = set()
    if len(text) < MIN_SECRET_INSIDE:
        return found
    classes = text.encode("ascii", "replace").translate(_RUN_CLASSES)
    end = 0
    while (match := _UPPER_IN_RUN.search(classes, end)) is not None:
        start = match.start()
        end = classes.find(b" ", start)
        if end < 0:
            end = len(classes)
        if start and classes[start - 1] != 32:  # (a space: the run begins with it)
            start = classes.rfind(b" ", 0, start) + 1
        if end - start >= MIN_SECRET_INSIDE and not (run := text[start:end]).isupper():  # (a lower-case letter too)
            found.add(run)
    return found


def secret_runs(hidden: list[str]) -> set[str]:
    """The runs (`_runs`) of a record's ``secured`` values ``hidden`` `_decoded`, and of each
    written with white space in it, of it without (base64 readers skip white space: a ciphertext
    broken over lines is the same as on one): a whole ``cipher;iv`` gives its two parts."""
    runs: set[str] = set()
    for text in hidden:
        runs |= _runs(text := _decoded(text))
        if len(split := text.split()) > 1:
            runs |= _runs("".join(split))
    return runs


def _joined(others: list[str]) -> str:
    """A record's public texts ``others`` (`_texts`) that may hold a run, `_decoded` at once,
    joined by a character that ends a run and that `_decoded` keeps (one search, not one per text);
    not the field names of every record (``publishedDateTime``: no secret, and no copy of one)."""
    return _decoded("\x00".join([text for text in others if len(text) >= MIN_SECRET_INSIDE
                                  and text not in _KEPT_NAMES]))


def public_runs(joined: str, note: str) -> set[str]:
    """The runs (`_runs`) of a record's public texts (`_joined`) and its ``note``: those that may
    be another record's secret."""
    runs = _runs(joined)
    if len(note) >= MIN_SECRET_INSIDE:  # (`_decoded` never makes text longer)
        runs |= _runs(_decoded(note))
    return runs


def run_digest(run: str) -> bytes:
    """The 8-byte digest of a run that `FileResult` keeps (a text's run taken by chance for
    another record's secret: about one site of a billion with 100,000 records; it would drop a
    field, never publish one). (A copy of one hasher: the constructor's arguments took longer.)"""
    hasher = _RUN_HASHER.copy()
    hasher.update(run.encode("ascii"))
    return hasher.digest()


_RUN_HASHER = hashlib.blake2b(digest_size=8)


def run_digests(runs: set[str]) -> bytes:
    """``runs``' digests (`run_digest`) in order, joined in one `bytes`; ``b""`` (one object,
    shared) when there are none."""
    return b"".join(sorted(map(run_digest, runs))) if runs else b""


def _entries(data: dict, key: str, report: _RecordProblems, what: str) -> list:
    """`_list`, cut to its first `MAX_ENTRIES` entries (with a warning when it was)."""
    items = _list(data, key, report, what)
    if len(items) > MAX_ENTRIES:
        report.warn((key,), f"{len(items)} entries; the first {MAX_ENTRIES} are kept")
        return items[:MAX_ENTRIES]
    return items


def _list(data: dict, key: str, report: _RecordProblems, what: str) -> list:
    value = data.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        return []  # (an exporter's "" for an empty column: nothing, not a wrong type)
    if isinstance(value, dict) and key == "related":
        return [value]  # (one entry, not a list of one)
    if not isinstance(value, list):
        report.add((key,), f"expected {what}, got {_kind(value)}")
        return []
    return value


_BUILD_ERRORS = (ValueError, OverflowError, TypeError, KeyError, IndexError, AttributeError)
"""What PyYAML's constructors raise for a value that does not fit its explicit tag: an impossible
date (ValueError), ``!!bool maybe`` (KeyError), ``!!float`` with no text (IndexError),
``!!timestamp 2024`` (AttributeError). Each stopped the whole build with a traceback."""


def _unreadable(source: str, front: str, first_line: int, exc: BaseException) -> Problem:
    """The problem of front matter that composes (or nests too deeply to) but cannot be built:
    a value whose explicit tag does not fit it (``!!timestamp 2024-13-01``, ``!!float abc``),
    with the line and field of the first such value; nesting past the parser's recursion."""
    if isinstance(exc, RecursionError):
        return Problem(source, None, None, _TOO_DEEP)
    if isinstance(exc, yaml.reader.ReaderError) and isinstance(exc.character, int | str):
        # (a character YAML refuses, such as a control character pasted into a title: the line
        # was unknown and the message ended `in "<unicode string>", position 86`; libyaml counts
        # bytes, PyYAML characters: the line is that of the character's first occurrence)
        character = chr(exc.character) if isinstance(exc.character, int) else exc.character
        at = front.find(character)
        line = front.count("\n", 0, at) + first_line if at >= 0 else None
        return Problem(source, line, None, f"invalid YAML: unacceptable character {ascii(character)[1:-1]} "
                       "(YAML allows no control character or noncharacter in a file; write it escaped in double "
                       "quotes, or remove it)")
    try:
        root = yaml.compose(front, Loader=_Loader)
    except (yaml.YAMLError, RecursionError):
        root = None
    secrets = _composed_secrets(root)
    for node, field in _nodes(root):  # the first value that fails, in document order
        if isinstance(node, yaml.ScalarNode) and node.tag in _SAFE_SCALARS:
            try:
                _SAFE_SCALARS[node.tag](_constructor(), node)
            except (yaml.YAMLError, *_BUILD_ERRORS) as failure:
                kind = node.tag.rsplit(":", 1)[-1]
                why = f" ({failure})" if kind == "timestamp" and type(failure) is ValueError else ""
                secret = any(map(_dropped, field)) or any(  # (a secret, or a copy of it, or of a part: unprinted)
                    len(node.value) >= 8 and (node.value in s or s in node.value) for s in secrets)
                value = "its value" if secret else repr(node.value[:60])
                return Problem(source, node.start_mark.line + first_line, _shown_field(field) or None,
                               f"invalid YAML: {value} is not a valid {kind}{why}")
    return Problem(source, None, None, f"invalid YAML: {exc.__class__.__name__}: {str(exc)[:200]}")


def _nodes(root: Any) -> Iterator[tuple[Any, tuple[Any, ...]]]:
    """Every node of a composed document (``root``; None for none), each once (aliases share
    theirs), depth first in document order, with its field path (``("images", 0, "url")``)."""
    todo: list[tuple[Any, tuple[Any, ...]]] = [(root, ())] if root is not None else []
    seen: set[int] = set()
    while todo:
        node, field = todo.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        yield node, field
        if isinstance(node, yaml.MappingNode):
            todo.extend((value, (*field, getattr(key, "value", "?"))) for key, value in reversed(node.value))
        elif isinstance(node, yaml.SequenceNode):
            todo.extend((item, (*field, index)) for index, item in reversed(list(enumerate(node.value))))


def _shown_field(field: tuple[Any, ...]) -> str:
    """A composed node's field path as a problem names it: plain keys as they are, others
    quoted (``repr``, cut: no control character printed)."""
    return _field_name(tuple(part if type(part) is int or (type(part) is str and _PLAIN_KEY.fullmatch(part))
                             else repr(part)[:60] for part in field))


def _unknown_tag(node: Any) -> str | None:
    """The first tag under ``node`` (a composed node) that no safe loader constructs, if any."""
    known = _KeepingLoader.yaml_constructors
    return next((found.tag for found, _ in _nodes(node) if found.tag not in known), None)


def _without_unknown_tags(front: str, first_line: int, source: str) -> tuple[Any, list[Problem]] | None:
    """The front matter without its extra fields (not one `_KNOWN`, not a secret) whose value
    carries a tag no safe loader knows (``featuredContent: !html "<iframe ...>"``), and a warning
    for each; None when there is none, a known field carries one, or it cannot be read anyway.
    (DESIGN: extra fields are never an error; the record was skipped. Nothing is constructed
    from such a tag: the field is dropped as composed.)"""
    try:
        root = yaml.compose(front, Loader=_Loader)
    except (yaml.YAMLError, RecursionError):
        return None
    if not isinstance(root, yaml.MappingNode) or _unknown_tag(root) is None:
        return None
    kept, problems = [], []
    for key_node, value_node in root.value:
        tag = _unknown_tag(value_node)
        if tag is None:
            kept.append((key_node, value_node))
            continue
        name = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
        if not isinstance(name, str) or name in _KNOWN or _dropped(name) or _unknown_tag(key_node) is not None:
            return None
        problems.append(Problem(source, key_node.start_mark.line + first_line, _shown_field((name,)),
                                f"a YAML tag no safe loader knows ({tag[:60]}); the field is left out",
                                "warning"))
    root.value = kept
    try:
        return _KeepingLoader("").construct_document(root), problems
    except (yaml.YAMLError, RecursionError, *_BUILD_ERRORS):
        return None


def _composed_secrets(root: Any) -> list[str]:
    """The text of every scalar under a ``secured`` key (any spelling, any depth) of a composed
    document, and each part of it (ciphertext; IV)."""
    return [part.strip() for node, field in _nodes(root)
            if isinstance(node, yaml.ScalarNode) and node.value.strip()
            and any(isinstance(key, str) and _dropped(key) for key in field)
            for part in (node.value, *node.value.split(";")) if len(part.strip()) >= 8]


def _top_keys(front: str, first_line: int, found: list[tuple[str, int]]) -> list[tuple[str, int]]:
    """The top-level keys of ``front`` as YAML composes them, (key, file line) each, or ``found``
    (the text's) when it does not compose to a mapping."""
    try:
        root = yaml.compose(front, Loader=_Loader)
    except (yaml.YAMLError, RecursionError):
        return found
    if not isinstance(root, yaml.MappingNode):
        return found
    return [(key.value, key.start_mark.line + first_line) for key, _ in root.value
            if isinstance(key, yaml.ScalarNode) and _TOP_KEY.match(key.value + ":")]


def _field_at(front: str, mark: Any) -> str | None:
    """The field whose value starts at ``mark`` (a YAML error's): a tag no safe loader knows
    (``topics: !!python/object:os.system``) was reported with its line and no field."""
    try:
        root = yaml.compose(front, Loader=_Loader)
    except (yaml.YAMLError, RecursionError):
        return None
    index = getattr(mark, "index", None)
    return next((_shown_field(field) for node, field in _nodes(root)
                 if field and node.start_mark.index == index), None)


_FOLDED_KNOWN = {name.casefold(): name for name in _KNOWN if name != "secured"}


def _folded_name(key: str) -> str:
    """A field name as `_misspelled` compares it: case, ``_``, ``-``, white space, width and
    invisible characters aside (a scraper's ``published\u200b``, fullwidth ``ｐｕｂｌｉｓｈｅｄ``)."""
    if not key.isascii():
        key = _compatible(key)
    return key.strip().replace("_", "").replace("-", "").casefold()


def _misspelled(data: dict) -> dict[str, str]:
    """Known field name -> the key of ``data`` that is it in another case or spelling
    (``Published``, ``web_url``, ``Topics ``, ``published\u200b``): such a key is not the field,
    and is kept as an extra."""
    found: dict[str, str] = {}
    for key in data:
        if key not in _KNOWN and type(key) is str and len(key) < 40:
            name = _FOLDED_KNOWN.get(_folded_name(key))
            if name is not None and name not in found:
                found[name] = key
    return found


def _drafted_by(data: dict) -> str | None:
    """The first key of ``data`` that is ``published`` in another case or spelling (see
    `_misspelled`) and says ``false``, unless ``published`` itself does: a draft stays a draft
    when a scraper writes ``Published: false`` beside ``published: null`` (missing, as Jekyll's
    YAML reads it), or beside ``published: true`` (which of the two is meant cannot be known;
    publishing a draft cannot be undone, keeping a story back can)."""
    if data.get("published") is False:
        return None
    for key, value in data.items():
        if (key != "published" and type(key) is str and len(key) < 40
                and _FOLDED_KNOWN.get(_folded_name(key)) == "published"
                and (value is False or (type(value) is str and _JEKYLL_PLAIN.get(value.lower()) is False))):
            return key
    return None


def _folded(*names: str) -> dict[str, str]:
    """Field names of a nested mapping as `_folded_name` makes them -> the names."""
    return {name.casefold(): name for name in names}


_FOLDED_PROVIDER = _folded("name", "domain", "url")
_FOLDED_RELATED_PROVIDER = _folded("name", "domain")
_FOLDED_IMAGE = _folded("url", "width", "height", "isCached", "title")
_FOLDED_RELATED = _folded("title", "excerpt", "publishedDateTime", "webUrl", "originalUrl", "provider")


def _warn_misspelled(entry: dict, names: dict[str, str], where: tuple[Any, ...], report: _RecordProblems,
                     kept: str) -> None:
    """Warn of each key of a nested mapping (a provider, an image, a related entry) that is one of
    its field ``names`` in another case or spelling (a .NET exporter's ``IsCached``, ``Url``,
    ``Name``): as a record's own fields, it is not the field (an image's ``IsCached: true`` left the
    picture out without a word)."""
    for key in entry:
        if type(key) is str and len(key) < 40 and (name := names.get(_folded_key(key))) not in (None, key):
            report.warn((*where, key), f"not a field (names are case-sensitive: {name!r}); {kept}")


_folded_key = lru_cache(maxsize=1024)(_folded_name)
"""`_folded_name`, remembered: the nested mappings of every record repeat a few names (a curated
entry's ``ampWebUrl``, ``type``, ``quality``...), which `_warn_misspelled` folds for each."""


def _report_missing(report: _RecordProblems, data: dict, name: str, message: str) -> None:
    """Report a required field's problem; when it is missing but a key is it in another case or
    spelling (``Title``, ``published_date_time``: ignored, as names are case-sensitive), say so,
    at that key's line."""
    if name not in data:
        want = name.casefold()
        for key in data:
            if isinstance(key, str) and len(key) < 40 and _folded_name(key) == want:
                report.items.append(Problem(report.path, report.line_of((key,)), name, f"{message} (found "
                                            f"{key[:40]!r}: field names are case-sensitive; write {name!r})"))
                return
    report.add((name,), message)


def _empty_kind(value: Any, text: str | None) -> str:
    """What a field that should be non-empty text was: nothing, another type, or empty text."""
    if text:
        return "only invisible characters (zero-width, combining marks...)"
    if isinstance(value, str) and value.strip(" \t\r\n"):  # (`&nbsp;`, `<br>`: it was "an empty string")
        return "text that shows nothing once read (only spaces, entities such as &nbsp; or markup such as <br>)"
    return "an empty string" if isinstance(value, str) else _kind(value)


_HTTP_URL = re.compile(r"(?i)(?:https?:)?//")
_HTTP_SCHEME = re.compile(r"(?i)https?:")
_URL_CONTROL_INSIDE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
"""The control characters `safe_url` refuses (a tab or line break inside a URL is removed, as
browsers do)."""


def _why_not_linked(url: str) -> str:
    """The warning for a URL `safe_url` refused: not http(s), or an http(s) URL it cannot link.
    (It never quotes the URL: it may hold a password.)"""
    if _HTTP_URL.match(url) is None:
        if _HTTP_SCHEME.match(url):  # (`http:/x`, `https:x`: a browser reads a host there, or none)
            return "not a valid URL: no '//' and host after its scheme; it will not be linked"
        if SCHEMELESS_HOST.match(url):  # (`www.example.com/a`: a path, to a browser)
            return "not an http(s) URL: it has no scheme (write https:// before it); it will not be linked"
        return "not an http(s) URL; it will not be linked"
    if _URL_CONTROL_INSIDE.search(url):
        why = "it holds a control character"
    elif holds_credentials(url):
        why = "it holds credentials (user@host)"
    else:
        why = "its host is no name, or its port no number"
    return f"not a valid URL: {why}; it will not be linked"


_SURROGATE_PAIR = re.compile(r"(?<!\\)((?:\\\\)*)\\u(d[89ab][0-9a-f]{2})\\u(d[c-f][0-9a-f]{2})", re.IGNORECASE)
"""A JSON escape of a character past U+FFFF as two UTF-16 halves (``\\ud83d\\ude00``), not after
another backslash."""


def _astral_escape(match: re.Match[str]) -> str:
    high, low = int(match.group(2), 16), int(match.group(3), 16)
    return f"{match.group(1)}\\U{0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00):08X}"


_LONE_SURROGATE = re.compile(r"(?<!\\)((?:\\\\)*)\\(?:u|U0000)[dD][89a-fA-F][0-9a-fA-F]{2}")
"""An escape of half a UTF-16 pair left alone (``\\ud83d`` of an emoji cut in two by a scraper's
JavaScript ``substring``, then written by ``JSON.stringify``), not after another backslash; run
after `_SURROGATE_PAIR`."""


def _whole_escapes(front: str) -> str:
    """Front matter whose ``\\u`` escapes of UTF-16 halves are escapes of whole characters: a pair
    is the character it spells, a half left alone is U+FFFD (as `_whole_characters` reads JSON's).

    YAML refuses both ("found invalid Unicode character escape code"); JSON allows them, and a
    double-quoted YAML string is often written by a JSON encoder: one half of an emoji skipped
    the whole record."""
    return _LONE_SURROGATE.sub(lambda m: f"{m.group(1)}\\uFFFD", _SURROGATE_PAIR.sub(_astral_escape, front))


_NBSP_INDENT = re.compile(r"^[ \xa0]*\xa0[ \xa0]*", re.MULTILINE)
_HOST_NAME = re.compile(r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}")
"""A host name (``reuters.com``, ``www.bbc.co.uk``) given as a provider's text."""
_JSON_START = re.compile(r'\s*\{\s*["}]')
"""A file that starts as a JSON object does (not a Liquid tag's ``{%``)."""

_WIDE_BOMS = ((b"\xff\xfe\x00\x00", "utf-32"), (b"\x00\x00\xfe\xff", "utf-32"),
              (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16"))
"""Byte order marks of UTF-32 and UTF-16 (UTF-32's first: it starts like UTF-16's)."""
_BOMS = (b"\xef\xbb\xbf", *(bom for bom, _ in _WIDE_BOMS))
"""Byte order marks of UTF-8, UTF-32 and UTF-16."""


def _wide_encoding(raw: bytes) -> str | None:
    """``utf-16`` or ``utf-32`` when ``raw`` starts with that encoding's byte order mark, else None."""
    return next((name for bom, name in _WIDE_BOMS if raw.startswith(bom)), None)


def _json_front_matter(text: str, repeats: list[str] | None = None) -> tuple[Any, tuple[str, str, int]]:
    """The JSON object ``text`` starts with, and (its text to read as YAML, the note, the line it
    starts on). Raises ValueError (`json.JSONDecodeError` is one) or RecursionError.

    A key given twice in an object keeps its last value, as `json` does (and is noted in
    ``repeats``), except that a ``secured`` key keeps both (both are secrets, never published)."""

    def json_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        obj: dict[str, Any] = {}
        for key, value in pairs:
            if key in obj:
                if repeats is not None:
                    repeats.append(key)
                if _dropped(key):
                    value = [obj[key], value]
            obj[key] = value
        return obj

    start = len(text) - len(text.lstrip())
    data, end = json.JSONDecoder(object_pairs_hook=json_object).raw_decode(text, start)
    # (its text is YAML too, read again only to find a problem's line: with an emoji as two halves
    # made one, as YAML refuses them)
    return _whole_characters(data), (_SURROGATE_PAIR.sub(_astral_escape, text[start:end]),
                                     text[end:].lstrip(" \t").removeprefix("\n"), text.count("\n", 0, start) + 1)


def _as_yaml_reads(front: str) -> str:
    """Front matter with what YAML misreads in text copied off a web page made plain spaces."""
    if not front.isascii() and ("\u2028" in front or "\u2029" in front or "\x85" in front):
        # (YAML reads these as line breaks: one in a value, from text copied off a web page,
        # broke the front matter. Every text field makes them a space.)
        front = front.replace("\u2028", " ").replace("\u2029", " ").replace("\x85", " ")
    if not front.isascii() and "\xa0" in front and _NBSP_INDENT.search(front):
        # (indentation copied off a web page is no-break spaces: YAML reads them as text, and a
        # provider's `\xa0 name:` became a field of its own while the provider was lost)
        front = _NBSP_INDENT.sub(lambda m: " " * len(m.group()), front)
    return front


def parse_record(raw: bytes, source: str, *, foreign: Mapping[bytes, str] | None = None) -> FileResult:
    """Bytes of one record file -> an `Article` (or None) and its problems, with the digests of
    its secret's runs and of its texts' (`secret_runs`, `public_runs`). Pure.

    ``foreign`` maps the digest of a run of another record's secret to that record's source:
    the texts holding one lose it as a copy of the record's own secret does (with a warning that
    names the other record, never the value), and the article's ``content_hash`` is another
    (its pages depend on it: the plain article comes back when the other record changes)."""
    report = _RecordProblems(source, "", 2)
    empty = FileResult(None, (Problem(source, None, None, "empty file: expected YAML front matter between '---' lines"),))
    if not raw.strip() or raw in _BOMS:  # (a byte order mark alone: an editor's empty file)
        return empty
    if len(raw) > MAX_RECORD_BYTES:
        return FileResult(None, (Problem(source, None, None, f"file too large for a record ({len(raw)} bytes; at most {MAX_RECORD_BYTES})"),))
    if b"\x00" in raw:
        # Text saved as UTF-16 or UTF-32 (Windows editors do) is all NUL bytes: read it by its
        # byte order mark, with a warning. (Then `raw` is UTF-8, which the rest expects.)
        encoding = _wide_encoding(raw)
        if encoding is None:
            return FileResult(None, (Problem(source, None, None, "binary file (contains NUL bytes), not a record"),))
        try:
            raw = raw.decode(encoding).encode("utf-8", "surrogatepass")
        except UnicodeError as exc:
            return FileResult(None, (Problem(source, None, None, f"not valid {encoding.upper()} ({exc.reason})"),))
        if b"\x00" in raw:
            return FileResult(None, (Problem(source, None, None, "binary file (contains NUL bytes), not a record"),))
        report.items.append(Problem(source, None, None, f"encoded as {encoding.upper()}, not UTF-8; read as "
                                    f"{encoding.upper()} (save it as UTF-8)", "warning"))
    if not raw.removeprefix(_BOMS[0]).strip():
        return empty
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        # A scraper's Windows-1252 text ("Caf\xe9", "\x93quoted\x94", "it\x92s"): the record was
        # skipped whole. Each byte that is not UTF-8 is read as Windows-1252 (as browsers read a
        # page that names no encoding), with a warning at the first one's line and field.
        at = exc.start + (len(_BOMS[0]) if raw.startswith(_BOMS[0]) else 0)  # ("utf-8-sig" counts after it)
        before = raw[:at]
        line = before.count(b"\n") + before.count(b"\r") - before.count(b"\r\n") + 1  # (as `_lines_of` counts)
        text, count = _utf8_or_windows_1252(raw)
        raw = text.encode("utf-8")  # (what the rest reads, as for UTF-16 above)
        byte = exc.object[exc.start]
        shown = bytes([byte]).decode("cp1252", "replace")
        report.items.append(Problem(
            source, line, _key_at(_lines_of(text), line),
            f"not valid UTF-8 (byte 0x{byte:02x} at offset {at}" + (f", and {count - 1} more" if count > 1 else "")
            + ")" + (f"; read as Windows-1252 ({shown})" if shown.isprintable() and shown.strip() else
                     "; read as Windows-1252") + "; save the file as UTF-8", "warning"))
    text = _lines_of(text)
    parts = split_front_matter(text)
    json_data: Any = None
    json_repeats: list[str] = []
    if parts is None and text.lstrip()[:1] == "{" and _JSON_START.match(text):
        # Front matter that is a JSON object with no '---' lines, as Hugo reads it (exporters
        # write such files): the object, then the note.
        try:
            json_data, parts = _json_front_matter(text, json_repeats)
        except json.JSONDecodeError as exc:
            return FileResult(None, (Problem(source, exc.lineno, None, f"invalid JSON front matter: {exc.msg} "
                                             f"(column {exc.colno})"),))
        except ValueError as exc:  # (a number of thousands of digits: Python will not read it)
            return FileResult(None, (Problem(source, None, None, f"invalid JSON front matter: {exc}"),))
        except RecursionError:
            return FileResult(None, (Problem(source, None, None, _TOO_DEEP),))
    if parts is None:
        if text.split("\n", 1)[0].rstrip() == "---":  # (a file cut short, or a closing line mistyped)
            return FileResult(None, (Problem(source, 1, None, "front matter not closed: expected a '---' (or "
                                             "'...') line after it"),))
        return FileResult(None, (Problem(source, 1, None, "no front matter: expected the file to start with a '---' line and the front matter to end with another"),))
    front, body, first_line = parts
    front = _as_yaml_reads(front)
    report.front, report.first_line = front, first_line
    report.controls = _may_hold_controls(front)
    if len(front) > MAX_COMPOSE and front.count("\n") + front.count(",") > 5 * MAX_NODES:
        # (Cheap, before parsing: 200,000 lines or flow items took PyYAML seconds per record.)
        return FileResult(None, (Problem(source, None, None, _TOO_LONG),))
    repeated: list[tuple[tuple[Any, ...], int, int]] = []
    fast = json_data is None
    try:
        try:
            # (yamlfast reads ordinary front matter, never deeper than 50 levels; what it declines,
            # and JSON, may nest deeper: checked below)
            data = json_data if json_data is not None else yamlfast.load(front, _Loader)
            if data is yamlfast.DECLINE:
                fast = False
                data = load_yaml(front, repeated, fast=False)
        except yaml.MarkedYAMLError as exc:
            # JSON front matter from `json.dumps` (ASCII by default) spells an emoji as a UTF-16
            # pair, "\ud83d\ude00", which YAML refuses: every such record was "invalid YAML"
            # (and so was one with half a pair, "\ud83d": see `_whole_escapes`).
            if exc.problem != "found invalid Unicode character escape code" or not _LONE_SURROGATE.search(front):
                raise
            front = _whole_escapes(front)
            report.front = front
            data = load_yaml(front, repeated, fast=False)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + first_line if mark else None
        reason = exc.problem or str(exc)
        where = front.split("\n")[mark.line:mark.line + 1] if mark is not None and "\t" in front else []
        if where and "tab" not in reason and "\t" in where[0][:len(where[0]) - len(where[0].lstrip(" \t"))]:
            reason += " (a tab indents this line: YAML indents with spaces)"
        if exc.context:
            start = exc.context_mark
            if start is not None and mark is not None and start.line != mark.line:
                reason = f"{exc.context} (started on line {start.line + first_line}): {reason}"
            else:
                reason = f"{exc.context}: {reason}"
        constructing = isinstance(exc, yaml.constructor.ConstructorError)
        kept = _without_unknown_tags(front, first_line, source) if constructing else None
        if kept is None:
            field = _field_at(front, mark) if constructing else None
            return FileResult(None, (Problem(source, line, field, f"invalid YAML: {reason}"),))
        data, left_out = kept  # (extra fields with a tag no safe loader knows: left out, the record kept)
        report.items.extend(left_out)
        fast = False
    except _BUILD_ERRORS:
        # An impossible implicit date (2021-13-45): read dates as text, so the field
        # check below names the field, its line and the value.
        fast = False
        try:
            data = yaml.load(front, Loader=_TextDatesLoader)
        except (yaml.YAMLError, RecursionError, *_BUILD_ERRORS) as exc:
            return FileResult(None, (_unreadable(source, front, first_line, exc),))
    except (yaml.YAMLError, RecursionError) as exc:
        return FileResult(None, (_unreadable(source, front, first_line, exc),))
    if not isinstance(data, dict):
        return FileResult(None, (Problem(source, first_line, None, f"front matter must be a mapping of fields, got {_kind(data)}"),))
    if ("*" in front or "<<" in front) and _count_nodes(data, MAX_NODES) < 0:  # aliases can explode
        return FileResult(None, (Problem(source, None, None, _TOO_MANY),))
    if not fast and _too_deep(data):  # (700 levels in 4 kB stopped the whole build as it was cached)
        return FileResult(None, (Problem(source, None, None, _TOO_DEEP),))
    seen_keys: dict[str, int] = {}
    line, counted, repeats = first_line, 0, 0
    keys: list[tuple[str, int]] = []
    for match in _TOP_KEY.finditer(front):
        line += front.count("\n", counted, match.start())  # (counted on from the last key: linear)
        counted = match.start()
        keys.append((match.group(1), line))
    if len({key for key, _ in keys}) < len(keys) and len(front) <= MAX_COMPOSE:
        # A key given twice, as the text shows it: the keys as YAML reads them decide (a line of
        # a quoted string spanning lines, `title: b'`, is no key; it was "given twice").
        keys = _top_keys(front, first_line, keys)
    for key, line in keys:
        if key in seen_keys:
            repeats += 1
            if repeats <= MAX_REPEATS_SHOWN:
                report.items.append(Problem(source, line, key, f"given twice (first on line {seen_keys[key]}); "
                                            "the last one is used", "warning"))
        else:
            seen_keys[key] = line
    if repeats > MAX_REPEATS_SHOWN:  # (200,000 repeats were 500 warnings, and a quadratic count of lines)
        report.items.append(Problem(source, None, None, f"{repeats - MAX_REPEATS_SHOWN} more fields given "
                                    "twice; the last of each is used", "warning"))
    if json_repeats:  # (JSON names no lines: its text, read as YAML, does; only for such records)
        try:
            load_yaml(front, repeated, fast=False)
        except (yaml.YAMLError, RecursionError, *_BUILD_ERRORS):
            pass
    for field, first, again in repeated[:100]:  # the top level's are reported above, from the text
        if len(field) > 1 or json_repeats:  # (not JSON's: `"title":` is no `_TOP_KEY`)
            shown = tuple(part if (type(part) is int and not _huge(part))
                          or (type(part) is str and _PLAIN_KEY.fullmatch(part))
                          else _brief(part) for part in field)  # no control characters printed
            report.items.append(Problem(source, again + first_line, _field_name(shown),
                                        f"given twice (first on line {first + first_line}); "
                                        "the last one is used", "warning"))
    if not all(isinstance(k, str) for k in data):
        bad = next(k for k in data if not isinstance(k, str))
        report.warn((), f"field name {_brief(bad)} is not a string; ignored")
        data = {k: v for k, v in data.items() if isinstance(k, str)}
    # A copy of the secret in a field of the record itself (a YAML alias `excerpt: *s`, or a
    # scraper's copy) was published: every field loses it, with a warning.
    hidden, others = _texts(data, _may_name_secured(raw))
    own = secret_runs(hidden) if hidden else set()
    joined = _joined(others)
    runs = public_runs(joined, body)
    if own and runs:
        runs -= own  # (copies of its own secret are found here, and dropped below)
    secrets = _copied(hidden, others, body, joined) if hidden else frozenset()
    if secrets:
        data, body = _without_copies(data, body, secrets, report)
    matched: list[bytes] = []
    if foreign and runs:  # Another record's secret (`load_content` found it): dropped the same way.
        copies = _foreign_copies(runs, foreign, matched)
        for whose in sorted(copies):
            data, body = _without_copies(data, body, frozenset(copies[whose]), report, f" of {whose}")

    title = _text(data.get("title"), ("title",), report, name=True)
    if not title:
        _report_missing(report, data, "title", f"expected a non-empty string, got {_empty_kind(data.get('title'), None)}")
    else:
        title = _cut(title, MAX_TITLE, ("title",), report)
        if not visible(title):  # (still a title: the record builds, as any other non-empty text does)
            report.warn(("title",), "only invisible characters (zero-width, combining marks...): "
                        "its links show no text")
    published = _datetime(data.get("publishedDateTime"))
    if published is None:
        _report_missing(report, data, "publishedDateTime",
                        _DATE_EXPECTED + _date_got(data.get("publishedDateTime"), ("publishedDateTime",), report))
    updated = None
    if data.get("updatedDateTime") is not None and not (isinstance(data["updatedDateTime"], str)
                                                         and not data["updatedDateTime"].strip()):
        updated = _datetime(data["updatedDateTime"])
        if updated is None:
            report.warn(("updatedDateTime",), f"{_DATE_EXPECTED}"
                        f"{_date_got(data['updatedDateTime'], ('updatedDateTime',), report)}; ignored")
        elif published is not None and updated < published:
            # (the page said "updated" before "published", JSON-LD's dateModified came before its
            # datePublished, while feeds and the sitemap took the publication time: one value now)
            report.warn(("updatedDateTime",), "earlier than publishedDateTime; ignored")
            updated = None

    strings = {}
    for key in ("excerpt", "category", "type"):
        value = data.get(key)
        text = _text(value, (key,), report)
        if value is not None and text is None:
            report.add((key,), f"expected a string, got {_kind(value)}")
        strings[key] = text or ""
    strings["excerpt"] = _cut(strings["excerpt"], MAX_EXCERPT, ("excerpt",), report)
    for key in ("category", "type"):  # (shown on every card of the article: a name, not a text)
        strings[key] = _cut(strings[key], MAX_NAME, (key,), report)

    urls = {}
    for key in ("webUrl", "originalUrl"):
        value = data.get(key)
        if value is None:
            urls[key] = ""
        elif not isinstance(value, str):
            report.add((key,), f"expected a URL string, got {_kind(value)}")
            urls[key] = ""
        else:
            urls[key] = value.strip()
            if value.strip() and safe_url(value) is None:
                report.warn((key,), _why_not_linked(value.strip()))
    link = safe_url(urls["webUrl"]) or safe_url(urls["originalUrl"])

    numbers = {}
    for key, default in (("quality", None), ("heat", -1)):
        value = data.get(key)
        number = _int(value)
        if value is not None and number is None:
            report.warn((key,), f"expected an integer, got {_not_an_integer(value)}; treated as unknown")
        numbers[key] = default if number is None else number

    misspelled = _misspelled(data)
    drafted_by = _drafted_by(data) if "published" in misspelled else None
    for name, key in misspelled.items():
        if name in ("title", "publishedDateTime") and name not in data:
            continue  # (reported as the required field's problem)
        if name == "published" and drafted_by is not None:
            if key != drafted_by:
                report.warn((key,), "not a field (names are case-sensitive: 'published'); kept as an extra field")
            given = data.get("published")
            over = ("all the same" if given is None
                    else f"over published: {str(given).lower() if type(given) is bool else _brief(given)}")
            report.warn((drafted_by,), "not a field (names are case-sensitive: 'published'); read as published: "
                        f"false {over}, so that a draft is not published")
        else:
            report.warn((key,), f"not a field (names are case-sensitive: {name!r}); kept as an extra field")
    if drafted_by is not None:
        data = {**data, "published": False}
    flag = data.get("published", True)
    if isinstance(flag, str) and report.source_text(("published",)) == flag:
        flag = _JEKYLL_PLAIN.get(flag.lower(), flag)  # (`fAlSe`: Jekyll's YAML reads it as false)
    if flag is None:
        flag = True
    if not isinstance(flag, bool):
        report.add(("published",), f"expected true or false, got {_kind(flag)}")

    provider = None
    raw_provider = data.get("provider")
    if isinstance(raw_provider, str) and not raw_provider.strip():
        raw_provider = None  # (an exporter's "" for no source)
    at: tuple[Any, ...] = ("provider",)
    if isinstance(raw_provider, list) and all(isinstance(item, dict) for item in raw_provider):
        # (Bing's news API gives a list of organizations: the first is the source)
        if len(raw_provider) > 1:
            report.warn(at, f"{len(raw_provider)} providers; the first is used")
        raw_provider, at = (raw_provider[0], ("provider", 0)) if raw_provider else (None, at)
    if raw_provider is not None:
        if isinstance(raw_provider, dict):
            _warn_misspelled(raw_provider, _FOLDED_PROVIDER, at, report, "kept as an extra field")
            name = _cut(_text(raw_provider.get("name"), (*at, "name"), report, name=True) or "", MAX_NAME,
                        (*at, "name"), report)
            for part in ("name", "domain"):  # (a list or a number was dropped silently)
                if raw_provider.get(part) is not None \
                        and not isinstance(raw_provider[part], _TEXT_ITEMS if part == "name" else str):
                    report.warn((*at, part), f"expected a string, got {_kind(raw_provider[part])}; ignored")
            domain = raw_provider.get("domain") if isinstance(raw_provider.get("domain"), str) else ""
            if not domain.strip() and isinstance(raw_provider.get("url"), str) and safe_url(raw_provider["url"]):
                domain = urlsplit(safe_url(raw_provider["url"])).hostname or ""  # (a scraper's {name, url})
            # (plain text too: it names the source where it has no name, and is shown beside it)
            domain = _cut(plain_text(domain), MAX_NAME, (*at, "domain"), report)
            domain = _without_credentials(domain, (*at, "domain"), report)
            if domain.strip() and not provider_host(domain):
                # (`javascript:alert(1)` and `data:text/html,x` were one source, "javascript", and "data")
                report.warn((*at, "domain"), "not a host name such as reuters.com; ignored")
                domain = ""
            if name and not visible(name):
                name = ""  # (the domain names it, or the provider is ignored below)
            name = name.strip(_NAME_EDGE)
            key = provider_key(name, domain)
            if key:
                # (its other fields, such as the real records' `images`, were lost from the JSON API)
                others = {k: v for k, v in raw_provider.items() if k not in ("name", "domain")}
                provider = Provider(key=key, name=name or key, domain=domain.strip(),
                                    extra=_extra_fields(others, at, report))
            else:
                report.warn(("provider",), "has neither a name nor a domain; ignored")
        elif isinstance(raw_provider, str) and raw_provider.strip():
            name = _cut(plain_text(_unescape(_without_markup(raw_provider, ("provider",), report))), MAX_NAME,
                        ("provider",), report)
            # (a scraper's text is the source's name, or its host or home page: then its domain too,
            # so that it is one source with the records that give {name, domain})
            link = safe_url(name) if "/" in name else None
            if link is None and "@" in name and credentials_link(name):  # (its host, not its password, names it)
                name = _without_credentials(name, ("provider",), report)
            host = _HOST_NAME.fullmatch(name) and (name.islower() or name[:4].lower() == "www.")  # (not St.Louis)
            domain = (urlsplit(link).hostname or "") if link else name.lower() if host else ""
            if link and domain:
                name = domain
            if visible(name):
                name = name.strip(_NAME_EDGE)
                provider = Provider(key=provider_key(name, domain), name=name, domain=domain)
            else:  # ("&nbsp;", "\u200b": a source with no name, linked by an empty link)
                report.warn(("provider",), "has neither a name nor a domain; ignored")
        else:
            report.add(("provider",), f"expected a mapping with name and domain, got {_kind(raw_provider)}")

    topics: list[str] = []
    seen_topics: set[str] = set()
    raw_topics = data.get("topics")
    if isinstance(raw_topics, list) and not all(isinstance(t, _TEXT_ITEMS) for t in raw_topics):
        bad = next(t for t in raw_topics if not isinstance(t, _TEXT_ITEMS))
        report.add(("topics",), f"expected a list of strings, got a list with {_kind(bad)}")
    else:
        for index, topic in enumerate(_list(data, "topics", report, "a list of strings")):
            if topic is None:  # an empty item (`- ` alone on its line)
                report.warn(("topics", index), "expected a string, got nothing (null); ignored")
                continue
            name = _cut(_text(topic, ("topics", index), report, name=True) or "", MAX_NAME, ("topics", index),
                        report)
            key = term_key(name)
            if not name.strip():  # ("", "  ", a soft hyphen alone: as documented, not silently)
                report.warn(("topics", index), "an empty string; ignored")
                continue
            if not key or not visible(name):  # (zero-width characters alone have no key)
                report.warn(("topics", index), "only invisible characters (zero-width, combining marks...); ignored")
                continue
            name = name.strip(_NAME_EDGE)
            if key and key not in seen_topics:
                if len(topics) == MAX_TOPICS:
                    report.warn(("topics",), f"more than {MAX_TOPICS} topics; the first {MAX_TOPICS} are kept")
                    break
                seen_topics.add(key)
                topics.append(name)

    images_key = "images"
    if data.get("images") is None and (isinstance(data.get("image"), dict) or safe_url(data.get("image"))):
        images_key = "image"  # (Bing's field: one image, `{thumbnail: {contentUrl, width, height}}`; a URL)
    raw_images = data.get(images_key)
    if isinstance(raw_images, dict) or (isinstance(raw_images, str) and safe_url(raw_images)):
        raw_images = [raw_images] if raw_images else []  # (one image, or its URL, not a list of one)
    images = [
        image for index, entry in enumerate(_entries({images_key: raw_images}, images_key, report,
                                                      "a list of images"))
        if (image := _image(entry, (images_key, index) if images_key == "images" else (images_key,), report,
                            index)) is not None
    ]
    related = [
        ref for index, entry in enumerate(_entries(data, "related", report, "a list of related articles"))
        if (ref := _related(entry, ("related", index), report)) is not None
    ]

    locale = data.get("locale")
    if locale is None or (isinstance(locale, str) and not locale.strip()):
        locale = ""
    elif not isinstance(locale, str) or (tag := language_tag(locale)) is None:
        got = _brief(locale) if isinstance(locale, str) else _kind(locale)
        report.warn(("locale",), f"expected a language tag such as en-us, got {got}; ignored")
        locale = ""
    else:
        locale = tag

    if report.has_errors:  # (its secret is still one: `load_content` looks for it in other records)
        return FileResult(None, tuple(report.items), secrets=run_digests(own))

    identity = urls["webUrl"] or urls["originalUrl"] or "path:" + source
    article_id = short_hash(identity)
    body_slug = slugify(title, MAX_SLUG_BODY).rstrip("_") or "article"  # (con_-3fa2c1: no device name)
    extra = _extra_fields({k: v for k, v in data.items() if k not in _KNOWN and not _dropped(k)}, (), report)
    body_html, runs = _note_without_copies(render_note(body), hidden, runs, own, foreign, matched, report)
    article = Article(
        id=article_id,
        source=source,
        title=title,
        published=published,
        updated=updated,
        excerpt=strings["excerpt"],
        category=strings["category"],
        type=strings["type"],
        web_url=urls["webUrl"] or urls["originalUrl"],
        link=link,
        quality=numbers["quality"],
        heat=numbers["heat"],
        is_published=flag,
        provider=provider,
        topics=tuple(topics),
        images=tuple(images),
        related=tuple(related),
        locale=locale,
        body_html=body_html,
        slug=f"{body_slug}-{article_id[:6]}",
        extra=extra,
        content_hash=_content_hash(raw, matched),
        story=url_identity(story_url) if (story_url := urls["webUrl"] or urls["originalUrl"]) else "",
    )
    return FileResult(article, tuple(report.items), secrets=run_digests(own), tokens=run_digests(runs))


_NOT_UTF8 = re.compile("[\udc80-\udcff]+")
"""Bytes that are not UTF-8, as ``surrogateescape`` decodes them."""


def _utf8_or_windows_1252(raw: bytes) -> tuple[str, int]:
    """``raw`` read as UTF-8 (a byte order mark left out), each run of bytes that are not UTF-8
    read as Windows-1252 (`_as_windows_1252`), and how many such runs there were."""
    return _NOT_UTF8.subn(_as_windows_1252, raw.decode("utf-8-sig", "surrogateescape"))


def _as_windows_1252(match: re.Match) -> str:
    """Bytes that are not UTF-8 (`_NOT_UTF8`) read as Windows-1252 (its five unassigned bytes as U+FFFD)."""
    return bytes(ord(c) - 0xDC00 for c in match.group(0)).decode("cp1252", "replace")


def _key_at(text: str, line: int) -> str | None:
    """The top-level field of the front matter whose value holds line ``line`` of ``text``
    (1-based), or None (the note, or no field found)."""
    for candidate in reversed(text.split("\n")[:line]):
        if candidate.rstrip() in ("---", "..."):
            return None
        if found := _TOP_KEY_LINE.match(candidate):
            return found.group(2)
    return None


_TOP_KEY_LINE = re.compile(r"""^(["']?)([A-Za-z_][\w.-]*)\1[ \t]*:""")


def _content_hash(raw: bytes, foreign: list[bytes]) -> str:
    """An article's ``content_hash``: of its bytes, and of the digests of ``foreign`` secrets
    left out of it (the article without them is another article, with other pages)."""
    plain = hashlib.blake2b(raw, digest_size=16).hexdigest()
    if not foreign:
        return plain
    return hashlib.blake2b(plain.encode() + b"".join(sorted(foreign)), digest_size=16).hexdigest()


def read_record(path: Path, source: str, *, foreign: Mapping[bytes, str] | None = None) -> FileResult:
    """Read and parse one record file (``foreign``: see `parse_record`); an unreadable file is a
    problem, not a crash."""
    try:
        raw, st = read_regular(path, MAX_RECORD_BYTES + 1)
    except NotRegular:  # (the walk warns of those it sees, in the same words)
        return FileResult(None, (Problem(source, None, None, "not a regular file; skipped", "warning"),))
    except OSError as exc:
        return FileResult(None, (Problem(source, None, None, f"cannot read: {exc.strerror or exc}"),))
    digest = hashlib.blake2b(raw, digest_size=16).hexdigest()
    if len(raw) > MAX_RECORD_BYTES:  # (its size, not the bytes read to know it is too large)
        return FileResult(None, (Problem(source, None, None, f"file too large for a record ({st.st_size} bytes; "
                                         f"at most {MAX_RECORD_BYTES})"),), (st.st_size, st.st_mtime_ns, digest))
    result = parse_record(raw, source, foreign=foreign)
    return FileResult(result.article, result.problems, (st.st_size, st.st_mtime_ns, digest), result.secrets,
                      result.tokens)


def _read_many(items: list[tuple[str, str]]) -> list[FileResult]:
    return [read_record(Path(path), source) for path, source in items]


# --------------------------------------------------------------------------- deduplication


def _preference(article: Article, min_quality: int = 0) -> tuple:
    """Sort key: the first is the winner among records of one story (see `deduplicate`)."""
    latest = article.updated or article.published
    below = (article.quality if article.quality is not None else 0) < min_quality
    return (not article.is_published, below, -latest.timestamp(), article.source)


def _story_field(path: str | None) -> tuple[int | None, str]:
    """The line and name of the top-level field that names a record's story (``webUrl``, else
    ``originalUrl``) in the file at ``path``: (None, "webUrl") when it is not found. Found as
    every other problem's field is (a text search missed JSON front matter's indented keys, and
    took the first of a field given twice, where the last one counts)."""
    try:
        raw = read_regular(path or "", MAX_RECORD_BYTES)[0]
    except OSError:
        return None, "webUrl"
    text = raw.decode(_wide_encoding(raw) or "utf-8-sig", "replace").replace("\r\n", "\n").replace("\r", "\n")
    for key in ("webUrl", "originalUrl"):
        found = list(re.finditer(rf"^([\"']?){key}\1[ \t]*:", text, re.MULTILINE))
        if len(found) == 1:  # (the common case, found in the text: composing costs ms per copy)
            return text.count("\n", 0, found[0].start()) + 1, key
        if found:  # (given twice: the last one counts, as YAML reads it)
            break
    locate = field_locator(Path(path or ""))
    for key in ("webUrl", "originalUrl"):
        if (line := locate((key,))) is not None:
            return line, key
    return None, "webUrl"


def deduplicate(articles: Iterable[Article], min_quality: int = 0) -> tuple[list[Article], list[Problem]]:
    """Keep one record per story (``webUrl``, else ``originalUrl``); warn for the others.

    The winner is published over unpublished, then one at or above ``min_quality`` (the site
    leaves the others out: a newer copy that scores lower made the story vanish), then the most
    recently updated, then the first by path: deterministic whatever the file order. Spellings of one URL
    (``http``/``https``, host case, ``//host``, a fragment) are one story (`url_identity`);
    each record keeps the id made from its own spelling, so no page moves.
    """
    # (a record whose URL names no story, ``#`` or ``javascript:void(0)``, is a story of its own)
    articles = list(articles)
    stories = [a.story or a.story_identity() or "\0" + a.source for a in articles]
    if len(set(stories)) == len(stories):  # (the common case, in one pass of C: 100,000 lists cost 0.1 s)
        return sorted(articles, key=attrgetter("source")), []
    by_story: dict[str, list[Article]] = {}
    for story, article in zip(stories, articles, strict=True):
        by_story.setdefault(story, []).append(article)
    kept: list[Article] = []
    problems: list[Problem] = []
    for group in by_story.values():
        if len(group) > 1:
            group.sort(key=partial(_preference, min_quality=min_quality))
        winner = group[0]
        kept.append(winner)
        for loser in group[1:]:
            problems.append(Problem(loser.source, None, "webUrl",
                                    f"same story as {winner.source}; this copy is skipped", "warning"))
    kept.sort(key=lambda a: a.source)
    return kept, problems


# --------------------------------------------------------------------------- entry point


@dataclass
class Tally:
    """What a load that found nothing to say across records made (no story told twice, no id or
    slug shared, no date ahead, no record holding another's secret), kept in memory for a load
    told what changed, which brings it up to date by key (`_retallied`) rather than passing over
    every article again (five passes: a quarter of a second at 100,000 records)."""

    articles: list[Article]
    """The load's articles, sorted by source (changed in place by `_retallied`)."""
    owners: tuple[dict[str, str], dict[str, str], dict[str, str]]
    """Each article's story (see `deduplicate`), id and slug -> its source."""
    problems: tuple[Problem, ...]
    """The records' problems, in the listing's order."""
    troubled: frozenset[str]
    """The sources of the records that had one."""
    horizon: datetime
    """The load's `future_dates` horizon: no published article was dated past it."""
    min_quality: int
    """The site's ``min_quality`` then (`deduplicate` reads it)."""


def _marks(article: Article) -> tuple[str, str, str]:
    """What two articles must not share (else `deduplicate`, `distinct_ids` or `distinct_slugs`
    has something to do): the story, the id, the slug."""
    return article.story or article.story_identity() or "\0" + article.source, article.id, article.slug


def _tally(articles: list[Article], sources: list[str], results: list[FileResult],
           problems: list[Problem], horizon: datetime, min_quality: int) -> Tally:
    owners: tuple[dict[str, str], dict[str, str], dict[str, str]] = ({}, {}, {})
    for article in articles:
        for known, mark in zip(owners, _marks(article), strict=True):
            known[mark] = article.source
    troubled = frozenset(source for source, result in zip(sources, results, strict=True) if result.problems)
    return Tally(list(articles), owners, tuple(problems), troubled, horizon, min_quality)


def _retallied(tally: Tally, named: dict[str, FileResult | None], horizon: datetime,
               min_quality: int) -> list[Article] | None:
    """``tally``'s articles with each named source's (``named``: its result now, None when the
    file is gone) in place of the one it had, as a whole load would find them; None when the
    change is one a whole load must look at (a problem, a story, id or slug now shared, a date
    ahead, the clock turned back). ``tally`` is changed in place: on None, drop it."""
    if tally.min_quality != min_quality or horizon < tally.horizon:
        return None
    articles, owners, source_of = tally.articles, tally.owners, attrgetter("source")
    for source in named:
        if source in tally.troubled:
            return None
        at = bisect.bisect_left(articles, source, key=source_of)
        if at < len(articles) and articles[at].source == source:
            for known, mark in zip(owners, _marks(articles.pop(at)), strict=True):
                if known.get(mark) == source:
                    del known[mark]
    for source, result in named.items():
        if result is None:
            continue
        if result.problems:
            return None
        article = result.article
        if article is None:
            continue
        marks = _marks(article)
        if any(mark in known for known, mark in zip(owners, marks, strict=True)):
            return None
        if article.is_published and ((article.published is not None and article.published > horizon)
                                     or (article.updated is not None and article.updated > horizon)):
            return None
        for known, mark in zip(owners, marks, strict=True):
            known[mark] = source
        bisect.insort(articles, article, key=source_of)
    tally.horizon = horizon
    return articles


class RecordCache(Protocol):
    """What `load_content` asks of a parse cache (see `digest.cache`)."""

    listing: list[tuple[str, str]] | None
    """`record_files`' answer at the last load, when its walk met no link and no problem."""
    tally: Tally | None
    """The last load's `Tally`, when it was one told what changed and found nothing to say."""

    def lookup(self, path: str, source: str) -> FileResult | None: ...
    def reuse(self, sources: list[str], named: set[str]) -> list[FileResult | None]: ...
    def store(self, path: str, source: str, result: FileResult) -> None: ...


def load_content(site: Path, content_dir: Path, jobs: int = 1,
                 cache: RecordCache | None = None,
                 progress: Callable[[int, int], None] | None = None, min_quality: int = 0,
                 changed: Iterable[str] | None = None, again: bool = False) -> LoadResult:
    """Load every record under ``content_dir``, parsing only what ``cache`` does not hold
    (``progress(done, total)`` follows the parsing; ``min_quality`` is the site's, for
    `deduplicate`).

    ``changed``, when given, names every path (absolute) that may have changed since the last
    load with ``cache`` (a watcher's events): the other records are taken from ``cache`` as
    they are, without a walk or a stat (see `relisted`; the walk and 100,000 stats were a
    quarter of a watching build's edit at 100,000 records). ``again``: another load with ``cache``
    will follow (a watching process's): ``cache`` keeps what it needs (the listing, the `Tally`).

    A record holding a copy of another's secured value is parsed again without it (`foreign_secrets`),
    at every build where it does: ``cache`` keeps the record as it is alone, so that when the
    other record changes or goes, the plain article comes back (with its own ``content_hash``)."""
    relisting = (relisted(site, content_dir, cache.listing, changed)
                 if cache is not None and cache.listing is not None and changed is not None else None)
    results: list[FileResult | None]
    where: dict[str, int] = {}  # (a named record's position, when it is there)
    if relisting is not None:
        items, named = relisting
        problems: list[Problem] = []
        sources = [source for _, source in items]
        results = cache.reuse(sources, named)  # type: ignore[union-attr]
        for source in named:
            at = _position(items, source)
            if at < len(items) and items[at][1] == source:  # (else removed)
                where[source] = at
                results[at] = cache.lookup(*items[at])  # type: ignore[union-attr]
    else:
        links: list[str] = []
        items, problems = record_files(site, content_dir, links)
        sources = [source for _, source in items]
        results = [cache.lookup(*item) if cache else None for item in items]
    tally = cache.tally if cache is not None and relisting is not None else None
    if cache is not None:
        cache.listing = items if again and (relisting is not None or not (problems or links)) else None
        cache.tally = None  # (until this load is done: see below)
    missing = [i for i, r in enumerate(results) if r is None]
    parsed = parse_parallel([items[i] for i in missing], jobs, progress)
    for index, result in zip(missing, parsed, strict=True):
        results[index] = result
        if cache:
            cache.store(*items[index], result)
    foreign = foreign_secrets(results, sources)
    for index, secrets in foreign.items():
        results[index] = read_record(Path(items[index][0]), items[index][1], foreign=secrets)
    now = datetime.now(UTC)
    if (tally is not None and not foreign and len(missing) <= len(where)
            and all(items[i][1] in where for i in missing)):
        # Told what changed, with nothing to say across records last time: brought up to date by key.
        named_now = {source: results[where[source]] if source in where else None
                     for source in relisting[1]}  # type: ignore[index]
        articles = _retallied(tally, named_now, now + FUTURE_MARGIN, min_quality)
        if articles is not None:
            cache.tally = tally  # type: ignore[union-attr]
            return LoadResult(tuple(articles), tally.problems, len(items))
    for result in results:
        if result.problems:
            problems.extend(result.problems)
    articles = [result.article for result in results if result.article is not None]
    kept, dupes = deduplicate(articles, min_quality)
    future = future_dates(kept, now)
    final = distinct_slugs(distinct_ids(kept))
    if cache is not None and again and not (foreign or dupes or future) and final is kept:
        cache.tally = _tally(kept, sources, results, problems, now + FUTURE_MARGIN, min_quality)  # type: ignore[arg-type]
    if dupes or future:  # (rare: the lines are found in the files again, rather than kept for every record)
        paths = {source: path for path, source in items}
        dupes = [dataclasses.replace(p, line=line, field=field)
                 for p in dupes for line, field in [_story_field(paths.get(p.path))]]
        future = [dataclasses.replace(p, line=field_locator(Path(paths.get(p.path, "")))((p.field,)))
                  for p in future]
    problems.extend(dupes)
    problems.extend(future)
    return LoadResult(tuple(final), tuple(problems), len(items))


FUTURE_MARGIN = timedelta(days=1)
"""How far past this build's clock a published record's date may lie before `future_dates` warns
(a day: the zones of the world span 26 hours, and scrapers' clocks drift)."""


def future_dates(articles: Iterable[Article], now: datetime | None = None) -> list[Problem]:
    """A warning for each published record dated (or updated) more than `FUTURE_MARGIN` after ``now`` (this
    build's clock): a scraper's wrong clock, time zone or epoch unit (seconds read as
    milliseconds) put it at the top of the front page, its edition and every feed, until that
    day, with no word. Made at each build, not kept with the parsed record: the same record is
    in the past some day. (Without lines: `load_content` finds them in the files.)"""
    horizon = (now or datetime.now(UTC)) + FUTURE_MARGIN
    problems = []
    late = [a for a in articles  # (a draft dated ahead is a scheduled story)
            if a.is_published and ((a.published is not None and a.published > horizon)
                                   or (a.updated is not None and a.updated > horizon))]
    for article in late:
        for field, when in (("publishedDateTime", article.published), ("updatedDateTime", article.updated)):
            if when is not None and when > horizon:
                problems.append(Problem(
                    article.source, None, field,
                    f"{when.isoformat()} is in the future (after this build's clock); it is shown "
                    "first on the front page and in feeds" if field == "publishedDateTime" else
                    f"{when.isoformat()} is in the future (after this build's clock); feeds and the "
                    "sitemap say the story changed then", "warning"))
    return problems


def foreign_secrets(results: list[FileResult | None], sources: list[str]) -> dict[int, dict[bytes, str]]:
    """For each record (by index in ``results``, sources ``sources``) holding a run of another
    record's secret (`FileResult.tokens` against `FileResult.secrets`): that run's digest -> the
    other record's source (the first by path, when several hold it). Most sites have none: their
    tokens are few, and one intersection in C over all digests (as 8-byte integers) answers at
    once; else only the records holding a digest found in both are looked at one by one."""
    tokens = b"".join(result.tokens for result in results if result is not None)
    if not tokens:
        return {}
    shared = set(memoryview(tokens).cast("Q")).intersection(
        memoryview(b"".join(result.secrets for result in results if result is not None)).cast("Q"))
    if not shared:
        return {}
    holders: dict[int, list[int]] = {}
    for index, result in enumerate(results):
        if result is not None and result.tokens:
            for digest in shared.intersection(memoryview(result.tokens).cast("Q")):
                holders.setdefault(digest, []).append(index)
    foreign: dict[int, dict[bytes, str]] = {}
    for index, result in enumerate(results):
        if result is None or shared.isdisjoint(memoryview(result.secrets).cast("Q")):
            continue
        for digest in shared.intersection(memoryview(result.secrets).cast("Q")):
            for holder in holders[digest]:
                if holder != index:  # (its own secret's copies are dropped as it is parsed)
                    known = foreign.setdefault(holder, {})
                    key = digest.to_bytes(8, sys.byteorder)  # (as `memoryview.cast` read it)
                    if key not in known or sources[index] < known[key]:
                        known[key] = sources[index]
    return foreign


def distinct_ids(articles: list[Article]) -> list[Article]:
    """``articles`` (each a different story) with an id shared by two made unique.

    An id is the first 10 hex digits of a hash of the story's URL: two stories share one
    by chance about once in 200 archives of 100,000 records, and a pair is easy to craft;
    two pages then claimed one path and the whole build stopped. All but the first of
    them (published before drafts, then by URL) take the whole hash (64 digits) instead; the
    first keeps its id, so that a draft written or deleted moves no published page.
    """
    if len({article.id for article in articles}) == len(articles):
        return articles
    seen: dict[str, list[Article]] = {}
    for article in articles:
        seen.setdefault(article.id, []).append(article)
    renamed: dict[int, Article] = {}
    for group in seen.values():
        group.sort(key=lambda a: (not a.is_published, a.web_url, a.source))  # (no draft moves a page)
        for article in group[1:]:
            whole = short_hash(article.web_url or "path:" + article.source, 64)
            renamed[id(article)] = dataclasses.replace(article, id=whole)
    return [renamed.get(id(a), a) for a in articles]


def distinct_slugs(articles: list[Article]) -> list[Article]:
    """``articles`` with a slug shared by two (same title, same 6 first id digits) made unique.

    Such slugs take the whole id instead of its first six digits: rare by chance, easy
    to craft, and otherwise two records planned at one path stopped the whole build. A
    published article that shares its slug only with drafts keeps it (the drafts take the
    whole id): a draft written or deleted moves no published page, and tells nothing of itself.
    """
    if len({article.slug for article in articles}) == len(articles):
        return articles
    groups: dict[str, list[Article]] = {}
    for article in articles:
        groups.setdefault(article.slug, []).append(article)
    moved: set[int] = set()
    for group in groups.values():
        if len(group) > 1:
            published = [a for a in group if a.is_published]
            keeps = published[0] if len(published) == 1 else None
            moved.update(id(a) for a in group if a is not keeps)
    return [dataclasses.replace(a, slug=a.slug[:-6] + a.id) if id(a) in moved else a for a in articles]


def parse_parallel(items: list[tuple[str, str]], jobs: int,
                   progress: Callable[[int, int], None] | None = None) -> list[FileResult]:
    """Read and parse ``(path, source)`` items in ``jobs`` processes, in order; serial when few.
    ``progress(done, total)`` is called as they come in."""
    out: list[FileResult] = []
    if jobs <= 1 or len(items) < 400:
        for start in range(0, len(items), 500):
            out += _read_many(items[start:start + 500])
            if progress:
                progress(len(out), len(items))
        return out
    size = max(50, min(1000, len(items) // (jobs * 4)))
    chunks = [items[i:i + size] for i in range(0, len(items), size)]
    from concurrent.futures import ProcessPoolExecutor  # noqa: PLC0415 - only when many records changed

    pool = ProcessPoolExecutor(max_workers=jobs)
    try:
        for part in pool.map(_read_many, chunks):
            out.extend(part)
            if progress:
                progress(len(out), len(items))
    finally:
        # On Ctrl-C or SIGTERM only the chunks being read finish: leaving the pool's block
        # waited for every chunk queued (the whole parse: seconds per thousands of records).
        pool.shutdown(wait=True, cancel_futures=True)
    return out
