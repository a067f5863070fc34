"""Text as readers of every script see it: cut between user-perceived characters, isolated
from text of the other direction, ordered as a reader expects.

Pure functions of strings, used by the Jinja filters (`digest.render`), the loader's length
limits (`digest.load`) and the order of the topic and source indexes (`digest.plan`). Only
the standard library's Unicode database is used (no ICU): the rules below are the parts of
Unicode's algorithms (UAX #29 grapheme clusters, UAX #9 bidirectional classes) that news
text meets.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import TypeVar

_T = TypeVar("_T")

_EXTEND = frozenset("\u200c\u200d\u0e33\u0eb3") | frozenset(map(chr, range(0x1F3FB, 0x1F400))) \
    | frozenset(map(chr, range(0xE0020, 0xE0080)))
"""Characters that never begin a grapheme cluster although their category is no mark: the zero-
width (non-)joiners, Thai and Lao SARA AM (a spacing mark), the emoji skin-tone modifiers and
the tag characters of subdivision flags (England's 🏴 is a black flag and six tags)."""
_MARKS = frozenset(("Mn", "Mc", "Me"))
_LINKERS = frozenset("\u094d\u09cd\u0acd\u0b4d\u0c4d\u0d4d")
"""Viramas that join two consonants into one conjunct (Unicode 15.1's ``InCB=Linker``): the
Devanagari ``क्ष`` is one cluster, and a cut after ``क्`` shows a dangling virama."""
_JAMO_TAIL = (0x1160, 0x11FF)
"""Conjoining Hangul vowels and final consonants (NFD Korean): they join the syllable before."""


def _regional(ch: str) -> bool:
    return "\U0001F1E6" <= ch <= "\U0001F1FF"


def cluster_start(text: str, index: int) -> bool:
    """Whether a grapheme cluster begins at ``text[index]`` (always at 0 and at the end)."""
    if index <= 0 or index >= len(text):
        return True
    ch, before = text[index], text[index - 1]
    if ch in _EXTEND or before == "\u200d" or unicodedata.category(ch) in _MARKS:
        return False
    if before in _LINKERS and unicodedata.category(ch) == "Lo":
        return False
    if _JAMO_TAIL[0] <= ord(ch) <= _JAMO_TAIL[1]:
        return False
    if _regional(ch):
        run = 0
        while index - run - 1 >= 0 and _regional(text[index - run - 1]):
            run += 1
        return run % 2 == 0  # a flag is a pair: 🇺🇦 cut after 🇺 is no flag, and 🇦🇵 a wrong one
    return True


def cluster_floor(text: str, index: int) -> int:
    """The last cluster boundary at or before ``index``: where ``text`` may be cut."""
    index = min(max(index, 0), len(text))
    while not cluster_start(text, index):
        index -= 1
    return index


def cut(text: str, length: int, end: str = "…", whole_words: bool = False, leeway: int = 0) -> str:
    """``text`` shortened to at most ``length`` characters, ``end`` included, between two grapheme
    clusters (never inside ``👨‍👩‍👧‍👦``, a flag, a letter and its accents, a conjunct); with
    ``whole_words``, at the last space of the part kept when it lies in its second half (text
    without spaces, Chinese or Thai, is cut between clusters, as is ``Tokyo 東京…``). Text at most ``leeway`` characters too long is kept.

    The order of arguments is that of Jinja's ``truncate`` (which cut at a character), so that
    it replaces it for every template."""
    if len(text) <= length + leeway:
        return text
    room = max(length - len(end), 0)
    space = text.rfind(" ", 0, room + 1) if whole_words else -1
    kept = text[:space] if space > room // 2 else text[:cluster_floor(text, room)]
    return kept.rstrip() + end


_STRONG = {"L": "ltr", "R": "rtl", "AL": "rtl"}


def directions(text: str) -> set[str]:
    """The directions of ``text``'s strong characters: ``{"ltr"}``, ``{"rtl"}``, both or none."""
    found = set()
    for ch in text:
        if ch.isascii() and not ch.isalpha():
            continue
        direction = _STRONG.get(unicodedata.bidirectional(ch))
        if direction:
            found.add(direction)
            if len(found) == 2:
                break
    return found


def isolate(text: str, direction: str) -> str:
    """``text`` between FIRST STRONG ISOLATE and POP DIRECTIONAL ISOLATE when it holds letters
    written against ``direction`` (the page's): where no markup can isolate it, as in a page's
    ``<title>``, an Arabic headline ending in ``(تقرير)`` or ``2026`` beside `` · Site`` kept its
    closing bracket and its number on the wrong side. Text of the page's direction only is as
    it was."""
    other = "rtl" if direction == "ltr" else "ltr"
    return f"\u2068{text}\u2069" if other in directions(text) else text


@lru_cache(maxsize=8192)
def sort_key(name: str) -> tuple[str, str]:
    """Order of names in an index, as a reader looks them up: letters with accents beside the
    same letters without (``Élections`` among the E's, not after ``Zimbabwe``), case and width
    ignored (``ß`` is ``ss``, the dotless ``ı`` an ``i``), a name's leading punctuation too
    (``«Libération»``, ``"Quoted"``); names alike so far in their accented, then written form.

    Scripts come in Unicode's order (Latin, Greek, Cyrillic, Hebrew, Arabic, Devanagari, Thai,
    then Hangul, whose syllables decompose into their jamo, kana and Han), as in CLDR's root
    collation."""
    folded = unicodedata.normalize("NFKD", name).casefold().replace("ı", "i")
    base = "".join(ch for ch in folded if not unicodedata.combining(ch))
    start = 0
    while start < len(base) and not base[start].isalnum():
        start += 1
    return base[start:] if start < len(base) else base, unicodedata.normalize("NFC", folded)


def in_index_order(items: Mapping[str, _T], name: Callable[[_T], str]) -> list[tuple[str, _T]]:
    """The ``(key, item)`` pairs of ``items`` as an index lists them: by `sort_key` of each
    item's ``name(item)``, then by key (the topics and sources of `digest.plan` and
    `digest.feeds`, in their pages, feeds, OPML and JSON API alike)."""
    return sorted(items.items(), key=lambda kv: (sort_key(name(kv[1])), kv[0]))
