"""Parse ordinary front matter (plain block YAML) exactly as the safe loader does, or decline.

Records written by scrapers and APIs use a small, regular subset of YAML:
``key: value`` lines, nested block mappings, lists of scalars and of mappings,
single-line quoted strings, ``[]`` and ``{}``. For that subset `load` returns
exactly what ``yaml.load(text, Loader=loader)`` returns (same types, values and
key order) without building PyYAML's node tree. For anything else (tags,
anchors, aliases, merge keys, block scalars, flow collections, multi-line
scalars, tabs, CR, a BOM, odd indentation, duplicate keys, invalid YAML, ...) it
returns `DECLINE`, and the caller runs the full loader, which also produces
every error message.

Plain scalars are tagged by the loader's own implicit resolvers and built by
SafeConstructor's constructors; four common forms (decimal ints, ``...Z``
timestamps, booleans, nulls) are built directly, the way those constructors
build them, which tests/test_yamlfast.py checks.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any, Final

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import ScalarNode

DECLINE: Final = object()
"""Returned by `load` for text it does not fully understand."""

try:
    _DEFAULT_LOADER: type = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - PyYAML without libyaml
    _DEFAULT_LOADER = yaml.SafeLoader

MAX_DEPTH = 40
"""Deeper nesting is left to the full loader (and its recursion limits)."""
MAX_KEY = 200
"""Longer keys are left to the full loader (libyaml limits simple keys to 1024 characters)."""

# Characters a line may hold besides those `str.isprintable` accepts: anything else
# (tab, CR, NEL, LS/PS, BOM, controls, lone surrogates, U+FFFE/U+FFFF) is declined.
# (Spelled as the characters declined, not as the negation of those accepted: the same set,
# compiled in a twentieth of the time, 13 ms of every start.)
_UNUSUAL_CHAR = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff\ufeff\ufffe\uffff]")
_KEY = re.compile(rf"[A-Za-z0-9_][A-Za-z0-9_-]{{0,{MAX_KEY - 1}}}")
_DOUBLE = re.compile(r'"([^"\\]*(?:\\.[^"\\]*)*)"(?: +(?:#.*)?)?')
_SINGLE = re.compile(r"'([^']*(?:''[^']*)*)'(?: +(?:#.*)?)?")
_EMPTY_FLOW = re.compile(r"(?:\[\]|\{\})(?: +(?:#.*)?)?")
_ESCAPE = re.compile(r"\\(x[0-9A-Fa-f]{2}|u[0-9A-Fa-f]{4}|U[0-9A-Fa-f]{8}|.)")
_ESCAPES: Final = {
    "0": "\0", "a": "\a", "b": "\b", "t": "\t", "n": "\n", "v": "\v", "f": "\f",
    "r": "\r", "e": "\x1b", " ": " ", '"': '"', "/": "/", "\\": "\\",
    "N": "\x85", "_": "\xa0", "L": "\u2028", "P": "\u2029",
}
_INDICATORS: Final = frozenset("-?:,[]{}#&*!|>'\"%@`")
_STR: Final = "tag:yaml.org,2002:str"
_TYPED: Final = frozenset({
    "tag:yaml.org,2002:null", "tag:yaml.org,2002:bool", "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float", "tag:yaml.org,2002:timestamp",
})
"""Tags of plain scalars that SafeConstructor builds; any other tag is declined."""
_INT: Final = "tag:yaml.org,2002:int"
_TIMESTAMP: Final = "tag:yaml.org,2002:timestamp"
_BOOL: Final = "tag:yaml.org,2002:bool"
_NULL: Final = "tag:yaml.org,2002:null"
# Common forms built directly, for speed, once the resolver has tagged them: exactly what
# SafeConstructor's own code builds from them (tests/test_yamlfast.py checks it).
_DECIMAL = re.compile(r"-?[1-9][0-9]{0,17}")
_UTC_SECONDS = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})Z")
_MISSING: Final = object()


class _Decline(Exception):
    """The text uses something this parser leaves to the full loader."""


def _unescape(match: re.Match[str]) -> str:
    code = match.group(1)
    if len(code) == 1:
        try:
            return _ESCAPES[code]
        except KeyError:
            raise _Decline from None
    point = int(code[1:], 16)
    if 0xD800 <= point <= 0xDFFF or point > 0x10FFFF:
        raise _Decline
    return chr(point)


class _Parser:
    """One document: the indentation and content of its lines (not blank or comment lines)."""

    def __init__(self, indents: list[int], contents: list[str],
                 resolvers: dict[Any, list[tuple[str, re.Pattern[str]]]]):
        self.indents = indents
        self.contents = contents
        self.resolvers = resolvers
        self.wildcard = resolvers.get(None, [])
        self.typed: dict[str, Any] = {}
        self.keys: dict[str, Any] = {}
        self.constructor: SafeConstructor | None = None

    def plain(self, text: str) -> Any:
        """A plain scalar's value, typed by the loader's implicit resolvers (memoised)."""
        typed = self.typed
        value = typed.get(text, _MISSING)
        if value is not _MISSING:
            return value
        resolvers = self.resolvers.get(text[0] if text else "", [])
        if self.wildcard:
            resolvers = resolvers + self.wildcard
        tag = _STR
        for candidate, regexp in resolvers:
            if regexp.match(text):
                tag = candidate
                break
        if tag not in _TYPED:
            if tag != _STR:  # merge (<<), value (=), ...
                raise _Decline
            value = text
        else:
            try:  # an impossible date raises: the full loader reports it
                if tag == _INT and _DECIMAL.fullmatch(text):
                    value = int(text)
                elif tag == _TIMESTAMP and (parts := _UTC_SECONDS.fullmatch(text)):
                    value = datetime(*map(int, parts.groups()), tzinfo=timezone.utc)  # noqa: UP017
                elif tag == _BOOL:
                    value = SafeConstructor.bool_values[text.lower()]
                elif tag == _NULL:
                    value = None
                else:
                    if self.constructor is None:
                        self.constructor = SafeConstructor()
                    value = SafeConstructor.yaml_constructors[tag](self.constructor, ScalarNode(tag, text))
            except Exception:  # noqa: BLE001
                raise _Decline from None
        typed[text] = value
        return value

    def key(self, content: str) -> tuple[Any, str] | None:
        """(key, rest of the line) when ``content`` starts with a simple ``key:``, else None."""
        colon = content.find(":")
        if colon < 1 or (len(content) > colon + 1 and content[colon + 1] != " "):
            return None
        text = content[:colon]
        key = self.keys.get(text, _MISSING)
        if key is _MISSING:
            if _KEY.fullmatch(text) is None:
                return None
            key = text if text[0] not in self.resolvers and not self.wildcard else self.plain(text)
            self.keys[text] = key
        return key, content[colon + 1:].lstrip(" ")

    def scalar(self, text: str) -> Any:
        """The value of a scalar that fills the rest of a line (``text`` starts with no space)."""
        first = text[0]
        if first == '"':
            if text[-1] == '"' and text.count('"') == 2 and "\\" not in text:
                return text[1:-1]
            match = _DOUBLE.fullmatch(text)
            if match is None:
                raise _Decline
            value = match.group(1)
            return _ESCAPE.sub(_unescape, value) if "\\" in value else value
        if first == "'":
            match = _SINGLE.fullmatch(text)
            if match is None:
                raise _Decline
            return match.group(1).replace("''", "'")
        if first in "[{":
            if _EMPTY_FLOW.fullmatch(text) is None:
                raise _Decline
            return [] if first == "[" else {}
        if first in _INDICATORS and (first != "-" or len(text) == 1 or text[1] == " "):
            raise _Decline
        text = text.rstrip(" ")
        if ": " in text or " #" in text or text[-1] == ":":
            raise _Decline
        if first not in self.resolvers and not self.wildcard:
            return text
        return self.plain(text)

    def block(self, index: int, indent: int, depth: int) -> tuple[Any, int]:
        """The block collection whose first line is ``index``; (value, index after it)."""
        if depth > MAX_DEPTH:
            raise _Decline
        if self.contents[index][:2] == "- ":
            return self.sequence(index, indent, depth)
        return self.mapping(index, indent, depth)

    def ends(self, index: int, indent: int) -> bool:
        """Whether the collection at column ``indent`` ends before line ``index`` (a line
        indented deeper there belongs to nothing: declined)."""
        if index >= len(self.indents):
            return True
        below = self.indents[index]
        if below > indent:
            raise _Decline
        return below != indent

    def mapping(self, index: int, indent: int, depth: int) -> tuple[dict[Any, Any], int]:
        """The block mapping at column ``indent`` from line ``index``."""
        indents = self.indents
        contents = self.contents
        count = len(indents)
        keys = self.keys
        out: dict[Any, Any] = {}
        while True:
            content = contents[index]
            colon = content.find(":")  # a simple key holds no colon (`key` checks it)
            key = keys.get(content[:colon], _MISSING) if colon > 0 else None
            if key is _MISSING or key is None:
                entry = self.key(content)
                if entry is None:
                    raise _Decline
                key = entry[0]
            elif len(content) > colon + 1 and content[colon + 1] != " ":
                raise _Decline
            if key in out:  # a duplicate: the full loader decides what it means
                raise _Decline
            rest = content[colon + 1:].lstrip(" ")
            index += 1
            if rest and rest[0] != "#":
                out[key] = self.scalar(rest)
            elif index < count and indents[index] > indent:
                out[key], index = self.block(index, indents[index], depth + 1)
            else:
                if index < count and indents[index] == indent and contents[index][0] == "-":
                    raise _Decline  # a sequence not indented under its key
                out[key] = self.plain("")
            if self.ends(index, indent):
                return out, index

    def sequence(self, index: int, indent: int, depth: int) -> tuple[list[Any], int]:
        """The block sequence at column ``indent`` from line ``index``."""
        indents = self.indents
        contents = self.contents
        out: list[Any] = []
        while True:
            content = contents[index]
            if content[:2] != "- ":
                raise _Decline
            item = content[2:].lstrip(" ")
            if not item or item[0] == "#":
                raise _Decline
            if self.key(item) is not None:
                column = indent + len(content) - len(item)
                indents[index], contents[index] = column, item
                value, index = self.mapping(index, column, depth + 1)
                out.append(value)
            else:
                out.append(self.scalar(item))
                index += 1
            if self.ends(index, indent):
                return out, index


def load(text: str, loader: type = _DEFAULT_LOADER) -> Any:
    """``yaml.load(text, Loader=loader)`` for a plain block mapping, else `DECLINE`.

    ``loader`` must be a safe loader: its implicit resolvers type plain scalars.
    Never raises for any ``str``: whatever would be an error is declined.
    """
    if loader.yaml_path_resolvers:
        return DECLINE
    indents: list[int] = []
    contents: list[str] = []
    for line in text.split("\n"):
        if not line.isprintable() and _UNUSUAL_CHAR.search(line) is not None:
            return DECLINE
        content = line.lstrip(" ")
        if content and content[0] != "#":
            indents.append(len(line) - len(content))
            contents.append(content)
    if not indents or indents[0]:
        return DECLINE
    parser = _Parser(indents, contents, loader.yaml_implicit_resolvers)
    try:
        value, end = parser.mapping(0, 0, 0)
    except _Decline:
        return DECLINE
    return value if end == len(indents) else DECLINE
