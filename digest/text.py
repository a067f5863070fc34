"""Text and URL helpers: slugs, identity keys, safe links and sanitized Markdown notes."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Mapping
from functools import cache, lru_cache
from html import unescape as unescape_html
from html.parser import HTMLParser
from types import MappingProxyType
from typing import Any, NamedTuple
from urllib.parse import quote, urlsplit, urlunsplit

import nh3
from anyascii import anyascii
from markupsafe import escape

MAX_SLUG = 80
"""Longest slug body in characters (file systems allow 255 bytes per name)."""

_NON_ALNUM = re.compile(r"[^a-z0-9]+")
_SPACE = re.compile(r"\s+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_UNPRINTABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufdd0-\ufdef\ufffe\uffff]")
"""Characters that are errors in HTML and XML text (controls, lone surrogates, noncharacters),
tab and line breaks excepted: content text never needs them, so they are removed at load
(with `_ASTRAL_NONCHARACTER`: see `drop_unprintable`)."""
_ASTRAL_NONCHARACTER = re.compile("[" + "".join(chr(plane * 0x10000 + 0xFFFE) + chr(plane * 0x10000 + 0xFFFF)
                                                for plane in range(1, 17)) + "]")
"""The noncharacters beyond the first plane (U+1FFFE is an "astral non-character" to the Nu
checker). A class of its own: in `_UNPRINTABLE` it made every search of it 2.5 times slower
(a class with characters past U+FFFF is no longer a bitmap), and only text that holds such
characters is searched for them."""
_BIDI_CONTROL = re.compile("[\u202a-\u202e\u2066-\u2069]")
"""Bidirectional embeddings, overrides and isolates (LRE, RLE, PDF, LRO, RLO, LRI, RLI, FSI,
PDI). A field is shown inline beside other text (a card's title, source and date; a page's
``<title>`` with the site name), and an unclosed override there reverses what follows it:
``U+202E`` in a title made the site name read backwards. `plain_text` drops them; the
implicit bidirectional algorithm still orders right-to-left text (LRM and RLM are kept)."""
_NO_TEXT = re.compile("[\u00ad\ue000\ue001\ufeff]")
"""Characters that are no part of a plain-text field's words: the soft hyphen (a real title began
with two; ``Data\u00adverse`` was a topic apart from ``Dataverse``, and no search found the word),
Bing's raw-text hit highlighting marks (U+E000 and U+E001 around the words that matched) and a
byte order mark (a CSV export's, in its first cell)."""
_ODD_TEXT = re.compile(f"[^\\S ]| {{2}}|{_UNPRINTABLE.pattern}|{_BIDI_CONTROL.pattern}|{_NO_TEXT.pattern}")
"""What `plain_text` changes: whitespace other than a single space, `_UNPRINTABLE` and
`_BIDI_CONTROL`."""
_BLOCK_GAP = re.compile(r"(\n[ \t]*\n)")
MAX_NOTE_MARKDOWN = 50_000
"""Notes longer than this (in characters) are shown as plain-text paragraphs, not Markdown:
Python-Markdown's inline parsing costs (inline items) x (block length) per block."""
NOTE_INLINE_BUDGET = 5_000_000
"""Its link and HTML patterns cost more: they scan from every ``[`` and ``<`` to the end of the
block. Past this total of (their count) x (block length), a block's ``[`` and ``<`` are shown as
text, so a hostile note renders in a second, not in hours."""
_HIDE = {"[": "\ufdd0", "<": "\ufdd1"}
"""Stand-ins for defused characters: noncharacters, which `_UNPRINTABLE` removed from the note."""
_SHOW = {"\ufdd0": "[", "\ufdd1": "&lt;"}

LINK_SCHEMES = frozenset({"http", "https"})
NOTE_SCHEMES = frozenset({"http", "https", "mailto"})

_NOTE_TAGS = {
    "p", "br", "hr", "a", "em", "strong", "b", "i", "code", "pre", "blockquote",
    "ul", "ol", "li", "h3", "h4", "h5", "h6", "table", "caption", "thead", "tbody", "tr", "th", "td",
    "del", "sup", "sub", "abbr",
}
_NOTE_ATTRIBUTES = {"a": {"href", "title"}, "abbr": {"title"}, "th": {"align"}, "td": {"align"}}


_WINDOWS_RESERVED = frozenset(["con", "prn", "aux", "nul"] + [f"{d}{n}" for d in ("com", "lpt") for n in range(10)])
"""Names Windows gives to devices in every folder: a page at ``topics/con/`` cannot be written,
copied or checked out there."""


def slugify(text: str, max_len: int = MAX_SLUG) -> str:
    """ASCII slug of ``text``: transliterated, lower-case, hyphenated; may be empty.

    A slug that is a Windows device name (``con``, ``nul``, ``com1``...) ends in ``_``, which
    no other slug holds: ``con_``."""
    ascii_text = anyascii(unicodedata.normalize("NFKC", text)).lower()
    slug = _NON_ALNUM.sub("-", ascii_text).strip("-")
    if len(slug) > max_len:
        cut = slug[:max_len]
        slug = cut.rsplit("-", 1)[0] if "-" in cut[max_len // 2:] else cut
        slug = slug.strip("-")
    return slug + "_" if slug in _WINDOWS_RESERVED else slug


def short_hash(text: str, length: int = 10) -> str:
    """First ``length`` hex digits of the SHA-256 of ``text`` (stable identities)."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:length]


_IGNORABLE = re.compile("[\u00ad\u034f\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e"
                        "\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0\U000e0000-\U000e0fff]")
"""Characters Unicode says to ignore when matching (default ignorable): zero-width spaces and
joiners, direction marks, variation selectors (``❤️`` is ``❤``)."""


@lru_cache(maxsize=8192)
def term_key(name: str) -> str:
    """Identity of a topic name: NFKC, case-folded, whitespace collapsed, without the characters
    Unicode says to ignore (``AI\u200b`` is ``AI``); the Turkish ``İ`` is ``i`` (case folding
    makes it ``i`` and a combining dot, so ``İstanbul`` was not ``Istanbul``)."""
    key = unicodedata.normalize("NFKC", name).casefold()
    if not key.isascii():
        key = unicodedata.normalize("NFKC", _IGNORABLE.sub("", key).replace("i\u0307", "i"))
    return _SPACE.sub(" ", key).strip()


_BARE_HOST = re.compile(r"[a-z0-9.-]*")
"""A domain as records mostly write it (checked first: no parsing needed)."""


def _host_of(domain: str) -> str:
    """The host of a domain written as a URL (``https://x/``, ``//x``) or with a port, path or
    user (``x:443``, ``x/news?q``, ``me@x``); "" for a URL with none (``https://[x``, which
    stopped the whole build); text that is no URL as it is."""
    is_url = "://" in domain or domain.startswith("//")
    url = domain if "://" in domain else "https:" + domain if is_url else "https://" + domain
    try:
        host = urlsplit(url).hostname
    except ValueError:  # an unclosed [IPv6] bracket
        host = None
    return host or ("" if is_url else domain)


_HOST_LABEL = re.compile(r"[^\W_](?:[\w-]*[^\W_])?")
"""A label of a host name: letters (of any script) and digits, hyphens inside."""


def provider_host(domain: str) -> str:
    """The host name a provider's domain names, lower-cased, without ``www.`` or a final dot,
    an international one in Unicode (``xn--bcher-kva.example`` is ``bücher.example``); "" when
    it names none (``javascript:alert(1)``, ``../x``, ``reuters``: two labels at least)."""
    host = unicodedata.normalize("NFKC", domain.strip()).lower()
    if not _BARE_HOST.fullmatch(host):  # `https://x/`, `//x`, `example.com:443`, `a.example/x?q`: the host
        if ":" in host and "://" not in host and not re.match(r"[^/:]*:\d*(?:[/?#]|$)", host):
            return ""  # (a scheme other than http(s)'s: `javascript:x`, `data:text/html,x`, `mailto:x`)
        host = _host_of(host)
    host = host.split("/")[0].rstrip(".")
    if host.startswith("www."):
        host = host[4:]
    labels = host.split(".")
    if len(labels) < 2 or not all(_HOST_LABEL.fullmatch(label) for label in labels):
        return ""
    if "xn--" in host:
        host = ".".join(map(_unicode_label, labels))
    return host


def _unicode_label(label: str) -> str:
    """A host name's label in Unicode (``xn--bcher-kva`` is ``bücher``); one that is no
    Punycode as it is."""
    if not label.startswith("xn--"):
        return label
    try:
        return label.encode("ascii").decode("idna")
    except UnicodeError:
        return label


def provider_key(name: str, domain: str) -> str:
    """Identity of a provider: its host name (`provider_host`); else its name (`term_key`)."""
    return provider_host(domain) or term_key(name)


@lru_cache(maxsize=4096)
def domain_url(domain: str) -> str | None:
    """``https://<domain>/`` for a provider's domain that is a host name as written, else None.

    (A record's domain is any text: ``evil.example"><x>`` or ``a.example?q`` make no home page.
    Memoized: every article page asks it of its source, a site has few.)
    """
    url = f"https://{domain}/"
    if "." not in domain or safe_url(url) != url or urlsplit(url).netloc != domain:
        return None
    return url


def safe_url(value: object, schemes: frozenset[str] = LINK_SCHEMES) -> str | None:
    """``value`` as a URL allowed to become a link, or None.

    Only the given schemes pass (http/https by default); ``//host/x`` means ``https:``;
    URLs with ASCII control characters, credentials (``https://bank.example@evil.example/``),
    or no host name (one without a letter or digit, with an empty label or odd characters)
    are refused. As a browser reads a link, white space around it is dropped and tabs and line
    breaks inside it are removed (``https://a.example/new\\nline`` leads to ``/newline``), and
    characters a URL may not hold are percent-escaped (`_URL_ILLEGAL`: a space, ``<>"`{}|^[]\\``,
    a second ``#``, a ``%`` not followed by two hex digits; beyond ASCII those of `_IRI_ILLEGAL`:
    C1 controls, private use, noncharacters, bidirectional controls, Unicode spaces), so the link
    is valid HTML, XML and IRI (``https://a.example/a b`` is ``https://a.example/a%20b``: a scraper's
    space was refused, and the story lost its link). An escape already there stays as it is
    (``%20`` is not ``%2520``). An ampersand a scraper copied from HTML as it was written there
    (``?a=1&amp;b=2``, WordPress's ``&#038;``) is the ``&`` a browser reads (`_HTML_AMPERSAND`).
    Tracking parameters (`_without_tracking`) are left out of an http(s) link: a published link
    tells no third party where its reader came from.
    """
    if not isinstance(value, str):
        return None
    url = value.strip()
    if not url.isprintable():  # (controls are not printable; most URLs are)
        if "\t" in url or "\n" in url or "\r" in url:
            url = _URL_IGNORED.sub("", url)
        if _CONTROL.search(url):
            return None
    if not url:
        return None
    if "&" in url and ";" in url:
        url = _HTML_AMPERSAND.sub("&", url)
    if url.startswith("//"):
        url = "https:" + url
    plain = _PLAIN_HTTP.match(url)
    if plain is not None and plain.group(1) in schemes:  # (most URLs: what the rest would answer)
        rest = url[plain.end():]
        if (rest.isascii() and _URL_ILLEGAL.search(rest) is None and rest.count("#") <= 1
                and not ("?" in rest and _TRACKING_HINT.search(rest))):
            return url
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in schemes:
        return None
    if scheme == "mailto":
        return _escape_after(url, len("mailto:")) if parts.path else None
    try:
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        return None
    if not host or "@" in parts.netloc or "\\" in parts.netloc or not any(c.isalnum() for c in host):
        return None  # (a host of dots or dashes only, such as https://../x, names nothing)
    if not (_IPV6_NETLOC.match(parts.netloc) or _DOMAIN.fullmatch(host)):
        return None
    return _without_tracking(_escape_after(url, url.index("//") + 2 + len(parts.netloc)))


_HTML_AMPERSAND = re.compile(r"(?i)&(?:amp|#0*38|#x0*26);")
"""An ``&`` written as HTML writes it in an attribute (``&amp;``, ``&#038;``, ``&#x26;``): a
scraper that copied an ``href`` as written kept it, and the link asked for a parameter named
``amp;b`` (a browser reading that ``href`` follows ``&``; and ``?a=1&amp;b=2`` and ``?a=1&b=2``
were two stories)."""


def url_as_read(url: str) -> str:
    """``url`` as a browser reads a link's: white space around it dropped, tabs and line breaks
    inside it removed (``https://a.example/new\\nline`` is ``https://a.example/newline``)."""
    return _URL_IGNORED.sub("", url.strip())


def _escape_after(url: str, start: int) -> str:
    """``url`` with what a URL may not hold escaped from ``start`` on (after the host)."""
    rest = url[start:]
    odd = not rest.isascii() and _IRI_ILLEGAL.search(rest) is not None
    if _URL_ILLEGAL.search(rest) is None and rest.count("#") <= 1 and not odd:
        return url
    if odd:
        rest = _IRI_ILLEGAL.sub(_percent, rest)
    path, hash_, fragment = rest.partition("#")
    return (url[:start] + _URL_ILLEGAL.sub(_percent, path) + hash_
            + _URL_ILLEGAL.sub(_percent, fragment).replace("#", "%23"))


def holds_credentials(url: str) -> bool:
    """Whether ``url``, read as a browser reads a link (tabs and line breaks dropped, ``\\`` ending
    the host as ``/`` does), holds a user name or password before its host:
    ``https://user:pass@host/``, ``//token@host/x``, or a provider's domain written
    ``user:pass@host``. Such a URL is never published (a scraper's logged-in copy of a page
    leaked its password); an ``@`` after the host (``https://medium.com/@user``) is no credential."""
    if "@" not in url:
        return False
    text = _URL_IGNORED.sub("", url.strip())
    scheme, slashes, rest = text.partition("//")
    if not slashes or ("/" in scheme or "@" in scheme):  # (a domain with no scheme: `user@host/x`)
        rest = text.split(":", 1)[1] if _SCHEME_ONLY.match(text) else text
    return "@" in _AUTHORITY_END.split(rest, 1)[0]


def without_credentials(url: str) -> str:
    """``url`` with the user information before its host left out, to show it
    (``https://user:p@ss@host/x?a@b`` is ``https://host/x?a@b``); one without as it is."""
    return _USERINFO.sub(r"\1", url, count=1) if holds_credentials(url) else url


_USERINFO = re.compile(r"(//)[^/?#\\\s]*@")
"""A URL's user information (to its authority's last ``@``: a password may hold one)."""
_SCHEME_ONLY = re.compile(r"(?i)https?:(?!//)")
_AUTHORITY_END = re.compile(r"[/?#\\]")
"""What ends a URL's authority (its user information, host and port) for a browser."""
SCHEMELESS_HOST = re.compile(r"[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+(:\d+)?(/|$)")
"""A host name and maybe a port and path with no scheme before it (``www.example.com/a``,
``example.org/news``): a URL written without its ``https://``."""


_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]{0,31}):(\s|\d)?")
"""A URL scheme (no registered one is longer than 32 characters) and what follows its colon."""
SCRIPT_SCHEMES = frozenset({"javascript", "vbscript", "data", "livescript", "mocha"})
"""Schemes a browser runs or renders as a document: what follows the colon makes no difference
(``javascript: alert(1)``, ``javascript:0||alert(1)`` run as well as ``javascript:alert(1)``)."""
_C0_AND_SPACE = "".join(map(chr, range(0x21)))
_URL_IGNORED = re.compile("[\t\n\r]")


def link_scheme(value: str) -> str | None:
    """The scheme (lower case) of the link a browser would follow ``value`` as, or None when
    it is text: read as a browser reads a link (C0 controls and spaces before it dropped, tabs
    and line breaks inside it removed: ``java\nscript:``, ``\x01javascript:`` are javascript:
    links), however many there are. A word, a colon and a space or digit (``Note: x``,
    ``Time:10``) is text, unless the word is a script scheme (`SCRIPT_SCHEMES`).

    One decision for the extra fields' strings, at load (`digest.load`: warned of, dropped)
    and again as the JSON API writes them (`digest.feeds.public_value`)."""
    if ":" not in value:
        return None
    match = _SCHEME.match(_URL_IGNORED.sub("", value.lstrip(_C0_AND_SPACE)))
    if match is None:
        return None
    scheme = match.group(1).lower()
    if match.group(2) and scheme not in SCRIPT_SCHEMES:
        return None
    return scheme


def credentials_link(text: str) -> bool:
    """Whether ``text`` (any string of a record: an extra field's, say) is a link a browser would
    follow over http(s) (`link_scheme`, or ``//host/...``) that holds credentials
    (`holds_credentials`): published as text, ``canonical: https://user:pass@host/x`` leaked the
    password as surely as a link would. An e-mail address (``me@example.com``) is no such link."""
    if "@" not in text:
        return False
    if not _URL_IGNORED.sub("", text.lstrip(_C0_AND_SPACE)).startswith("//") and link_scheme(text) not in LINK_SCHEMES:
        return False
    return holds_credentials(text)


_PLAIN_HTTP = re.compile(r"(https?)://((?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)*"
                         r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.?)(?=[/?#]|\Z)")
"""The common case of `safe_url`: ``http(s)://`` and an ASCII host name with no port, user or
odd character (a strict part of what the full check accepts), so only the rest is checked."""
_DOMAIN = re.compile(r"(?:[\w-]+\.)*[\w-]+\.?")
"""A host name: labels of letters, digits, ``-`` and ``_`` (none empty), a final dot allowed."""
_IPV6_NETLOC = re.compile(r"\[[0-9A-Fa-f:.]+\](?::[0-9]*)?$")
_URL_ILLEGAL = re.compile(r'[ "<>\\^`{|}\[\]]|%(?![0-9A-Fa-f]{2})')
"""Characters no URL path, query or fragment may hold (browsers escape them when they follow
a link; HTML validators reject them, a sitemap's or feed's validator too), and a ``%`` that
escapes nothing."""


def _percent(match: re.Match[str]) -> str:
    return "".join(f"%{byte:02X}" for byte in match.group().encode("utf-8", "surrogatepass"))


_IRI_ILLEGAL = re.compile("[\ue000-\uf8ff\ufdd0-\ufdef\ufff0-\uffff\U000e0000-\U000e0fff\U000f0000-\U0010ffff"
                          + "".join(chr(plane * 0x10000 + 0xFFFE) + chr(plane * 0x10000 + 0xFFFF) for plane in range(1, 14))
                          + "\u200e\u200f\u202a-\u202e\u2066-\u2069"
                          + "\x80-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]")
"""Characters beyond ASCII that an IRI may not hold as they are, percent-escaped as UTF-8: those
RFC 3987's ``ucschar`` leaves out (C1 controls, private use, noncharacters, the specials block; the HTML checker:
"Illegal character in path segment"), the bidirectional formatting characters it forbids (section
4.1: ``https://a.example/\u202egpj.exe`` shows its path reversed, and feed validators and the HTML
checker let it through) and the Unicode spaces and line separators (a ``U+2028`` or a no-break
space in a path is no part of a link a person can copy). Searched only in URLs that are not all ASCII."""


def language_tag(value: str) -> str | None:
    """``value`` as a valid BCP 47 tag (RFC 5646) that HTML validators accept (``en-us``, ``pt-BR``,
    ``zh-Hant-TW``, ``es-419``, ``de-CH-1996``, ``sl-rozaj-biske``, ``en-US-u-ca-gregory``,
    ``en-x-house``; ``_`` becomes ``-``), in its preferred form, or None.

    Read as the RFC's grammar: language, then an extended language subtag, script, region,
    variants, extensions and private use, each optional, in that order; each subtag must be in
    the IANA registry (languages: ISO 639-1, 639-2, 639-3 and 639-5 codes alike; see
    `digest.subtags`), a variant at most once, an extension one the registry has (``t``, ``u``)
    at most once. A tag shaped right but naming no language (``zz``, ``english``,
    ``en-zzzzzzzz``, ``x-mine``: private use alone names none) is an error in a page's ``lang``
    and is refused. Written as RFC 5646 recommends (section 4.5), the rest kept as written: a
    deprecated language subtag as the one the registry prefers (``iw-IL`` is ``he-IL``, ``in``
    is ``id``, ``ji`` is ``yi``), an extended language as the language it is (``zh-yue-HK`` is
    ``yue-HK``) and a grandfathered tag as its replacement (``i-klingon`` is ``tlh``,
    ``en-GB-oed`` is ``en-GB-oxendict``; the few with none, such as ``i-default``, are refused).
    """
    text = value.strip().replace("_", "-")
    registry = _subtags()
    if (grandfathered := registry.grandfathered.get(text.lower())) is not None:
        return grandfathered
    parts = text.split("-")
    if not all(0 < len(part) <= 8 and part.isascii() and part.isalnum() for part in parts):
        return None
    language = parts[0].lower()
    if language in registry.preferred:
        parts[0] = language = registry.preferred[language]
    elif language not in registry.languages:
        return None
    if len(parts) > 1 and len(parts[1]) == 3 and parts[1].isalpha():  # an extended language: `zh-yue`
        if registry.extlangs.get(parts[1].lower()) != language:
            return None
        parts[:2] = [parts[1].lower()]
    at = 1
    if at < len(parts) and len(parts[at]) == 4 and parts[at].isalpha():
        if parts[at].lower() not in _SCRIPTS:
            return None
        at += 1
    if at < len(parts) and (len(parts[at]) == 2 and parts[at].isalpha() or len(parts[at]) == 3 and parts[at].isdigit()):
        if parts[at].lower() not in _REGIONS:
            return None
        at += 1
    variants: set[str] = set()
    while at < len(parts) and len(parts[at]) > 1:
        variant = parts[at].lower()
        if variant not in registry.variants or variant in variants:
            return None
        variants.add(variant)
        at += 1
    singletons: set[str] = set()
    while at < len(parts) and parts[at].lower() in _EXTENSIONS and parts[at].lower() not in singletons:
        singletons.add(parts[at].lower())
        first = at = at + 1
        while at < len(parts) and len(parts[at]) > 1:
            at += 1
        if at == first:
            return None
    if at < len(parts) and parts[at].lower() == "x" and at + 1 < len(parts):
        at = len(parts)  # (private use: any subtags of 1 to 8 letters and digits)
    return "-".join(parts) if at == len(parts) else None


_EXTENSIONS = frozenset("tu")
"""The extension singletons of the IANA registry of BCP 47 extensions: ``t`` (RFC 6497,
transformed content) and ``u`` (RFC 6067, Unicode locale); the Nu checker refuses any other."""


class _Registry(NamedTuple):
    """What `language_tag` and `language_direction` read from `digest.subtags`."""

    languages: frozenset[str]
    """Primary language subtags."""
    preferred: Mapping[str, str]
    """Deprecated language subtags and the one to write instead."""
    right_to_left: frozenset[str]
    """Languages written right to left."""
    extlangs: Mapping[str, str]
    """Extended language subtags and the language each follows."""
    variants: frozenset[str]
    """Variant subtags, lower case."""
    grandfathered: Mapping[str, str]
    """Grandfathered tags (lower case) and the tag to write instead."""


@lru_cache(maxsize=1)
def _subtags() -> _Registry:
    """The registry's subtags from `digest.subtags` (imported on first use: ``import digest.text``,
    which every command does, does without its 8,000 subtags)."""
    from digest import subtags

    def pairs(text: str) -> Mapping[str, str]:
        return MappingProxyType(dict(pair.split("=") for pair in text.split()))

    return _Registry(frozenset(subtags.LANGUAGES.split()), pairs(subtags.PREFERRED),
                     frozenset(subtags.RIGHT_TO_LEFT.split()), pairs(subtags.EXTLANGS),
                     frozenset(subtags.VARIANTS.split()), pairs(subtags.GRANDFATHERED))


_RTL_SCRIPTS = frozenset({"adlm", "arab", "hebr", "mand", "nkoo", "rohg", "samr", "syrc", "thaa", "yezi"})
"""Scripts written right to left (ISO 15924 codes, lower case)."""


def language_direction(tag: str) -> str:
    """``"rtl"`` for a language tag written right to left (``ar``, ``he-IL``, ``pa-Arab``,
    ``az-Arab``, ``arz``, ``ckb``, ``zh-yue``'s ``yue`` no), else ``"ltr"``: a script subtag decides
    (``ug-Cyrl``, ``ku-Latn`` are ``ltr``, ``ar-Arab-EG-u-nu-latn`` ``rtl``), else the language, by
    its likely script (see `digest.subtags`). The tag is read in its preferred form
    (`language_tag`: ``zh-yue`` is ``yue``, ``iw`` is ``he``) when it is valid. The page of an
    Arabic or Hebrew site runs right to left (``<html dir="rtl">``), as its text does."""
    parts = (language_tag(tag) or tag.replace("_", "-")).lower().split("-")
    if len(parts) > 1 and len(parts[1]) == 4 and parts[1].isalpha():
        return "rtl" if parts[1] in _RTL_SCRIPTS else "ltr"
    registry = _subtags()
    return "rtl" if registry.preferred.get(parts[0], parts[0]) in registry.right_to_left else "ltr"


_SCRIPTS = frozenset((
    "adlm afak aghb ahom arab aran armi armn avst bali bamu bass batk beng bhks blis bopo brah "
    "brai bugi buhd cakm cans cari cham cher cirt copt cprt cyrl cyrs deva dsrt dupl egyd egyh "
    "egyp elba ethi geok geor glag goth gran grek gujr guru hanb hang hani hano hans hant hatr "
    "hebr hira hluw hmng hrkt hung inds ital jamo java jpan jurc kali kana khar khmr khoj kitl "
    "kits knda kore kpel kthi lana laoo latf latg latn leke lepc limb lina linb lisu loma lyci "
    "lydi mahj mand mani marc maya mend merc mero mlym modi mong moon mroo mtei mult mymr narb "
    "nbat newa nkgb nkoo nshu ogam olck orkh orya osge osma palm pauc perm phag phli phlp phlv "
    "phnx piqd plrd prti qaaa qabx rjng roro runr samr sara sarb saur sgnw shaw shrd sidd sind "
    "sinh sora sund sylo syrc syre syrj syrn tagb takr tale talu taml tang tavt telu teng tfng "
    "tglg thaa thai tibt tirh ugar vaii visp wara wole xpeo xsux yiii zinh zmth zsye zsym zxxx "
    "zyyy zzzz"
).split())
"""Script subtags (ISO 15924), lower-cased."""
_REGIONS = frozenset((
    "ad ae af ag ai al am ao aq ar as at au aw ax az ba bb bd be bf bg bh bi bj bl bm bn bo bq br "
    "bs bt bv bw by bz ca cc cd cf cg ch ci ck cl cm cn co cr cu cv cw cx cy cz de dj dk dm do dz "
    "ec ee eg eh er es et fi fj fk fm fo fr ga gb gd ge gf gg gh gi gl gm gn gp gq gr gs gt gu gw "
    "gy hk hm hn hr ht hu id ie il im in io iq ir is it je jm jo jp ke kg kh ki km kn kp kr kw ky "
    "kz la lb lc li lk lr ls lt lu lv ly ma mc md me mf mg mh mk ml mm mn mo mp mq mr ms mt mu mv "
    "mw mx my mz na nc ne nf ng ni nl no np nr nu nz om pa pe pf pg ph pk pl pm pn pr ps pt pw py "
    "qa re ro rs ru rw sa sb sc sd se sg sh si sj sk sl sm sn so sr ss st sv sx sy sz tc td tf tg "
    "th tj tk tl tm tn to tr tt tv tw tz ua ug um us uy uz va vc ve vg vi vn vu wf ws ye yt za zm "
    "zw 001 002 003 005 009 011 013 014 015 017 018 019 021 029 030 034 035 039 053 054 057 061 "
    "142 143 145 150 151 154 155 202 419"
).split())
"""Region subtags: ISO 3166-1 alpha-2 (lower-cased) and the UN M.49 areas of the IANA registry."""


_REPARSED = re.compile(r'[#\t\r\n "<>\\^`{|}\[\]]|\?$')
"""What parsing changes in an ``https://`` URL with a lower-case host: a fragment, the tabs
and line breaks `urlsplit` drops, an empty query, and the characters `_one_escape` escapes
(`_URL_ILLEGAL`'s, a space among them; a ``%`` and a dot segment's ``/.`` are looked for
apart, as substrings: cheaper than one more branch here). One search: the common case looks
for them all at once."""


def url_identity(url: str) -> str:
    """A URL reduced to what names the story: ``https``, host lower-cased (an international one
    in its ASCII form), no fragment, no slash ending its path, one spelling of each character of
    its path and query (`_one_escape`).

    ``//host/x``, ``http://HOST:80/x/#top``, ``https://host./x``, ``https://host/y/../x`` and
    ``https://host/x`` are one story (a dot segment is resolved as a browser resolves it), and so are ``https://bücher.example/Bücher``, ``https://xn--bcher-kva.example/B%C3%BCcher`` and
    ``https://xn--bcher-kva.example/B%c3%bccher``.

    A URL that names no story is ``""``, no identity: a fragment or query alone (``#``,
    ``#comments``, ``?page=2``: a scraper's link it could not resolve), an http(s) URL with no
    host (``http://``), and the pseudo-URLs ``javascript:``, ``data:``, ``about:`` ... (its
    records were "the same story", all but one skipped, and a ``related`` entry's ``#x`` linked
    to whichever record wrote ``#y``).

    Tracking parameters (``utm_source=...``, ``fbclid``, ``gclid``...: `_TRACKING`) select no
    other page, and an AMP cache's copy (``https://news-example-com.cdn.ampproject.org/c/s/news.example.com/x``,
    ``https://www.google.com/amp/s/news.example.com/x``) is its origin's page: the story shared
    with a campaign tag and the one from the feed were two stories.
    """
    text = url.strip()
    if "&" in text and ";" in text:  # (`&amp;`: as `safe_url` reads it)
        text = _HTML_AMPERSAND.sub("&", text)
    if text.startswith("//"):
        text = "https:" + text
    elif text[:7].lower() == "http://":
        text = "https://" + text[7:]
    if (text.startswith("https://") and text.isascii() and "%" not in text and "/." not in text
            and not _REPARSED.search(text)
            and not ("?" in text and _TRACKING_HINT.search(text)) and not _AMP_CACHE_HINT.search(text)):
        host = text[8:].partition("/")[0]
        if host and host == host.lower() and "?" not in host and ":" not in host and not host.endswith("."):
            return _no_final_slash(text)  # already in identity form but for that (the common case: no parsing)
    try:
        parts = urlsplit(text)
    except ValueError:
        return text
    scheme = "https" if parts.scheme.lower() in ("http", "https") else parts.scheme.lower()
    netloc = parts.netloc.lower()
    if (not netloc and (scheme == "https" or not parts.path)) or scheme in _NO_STORY_SCHEMES:
        return ""
    if not netloc.isascii():  # (`bücher.example` is `xn--bcher-kva.example`, as a browser asks for it)
        user, at, host = netloc.rpartition("@")
        host, colon, port = host.partition(":")
        netloc = user + at + _ascii_host(host) + colon + port
    if scheme == "https":  # (`host.:443` is `host`: a final dot and a default port name the same host)
        netloc = _DEFAULT_PORT.sub("", netloc)
        if origin := _amp_origin(netloc, parts.path):
            return url_identity(origin + ("?" + parts.query if parts.query else ""))
    query = _untracked(parts.query) if parts.query else ""
    path = _one_escape(parts.path)
    if "/." in path and path.startswith("/"):
        path = _without_dot_segments(path)
    return _no_final_slash(urlunsplit((scheme, netloc, path, _one_escape(query), "")))


def _without_dot_segments(path: str) -> str:
    """An absolute URL's path (one that starts with ``/``) with its ``.`` and ``..`` segments resolved (RFC 3986, 5.2.4), as
    a browser resolves them before it asks for the page: ``/x/../a``, ``/./a`` and ``/a`` are
    one page, and a ``..`` above the root stays at the root (``/../a`` is ``/a``). Escaped dots
    (``%2e``) were unescaped by `_one_escape` before: ``/x/%2E%2E/a`` is ``/a`` too."""
    segments = path.split("/")
    kept: list[str] = []
    for segment in segments[1:-1]:
        if segment == "..":
            if kept:
                kept.pop()
        elif segment != ".":
            kept.append(segment)
    last = segments[-1]
    if last in (".", ".."):  # (``/a/.`` is ``/a/``, ``/a/b/..`` is ``/a/``)
        if last == ".." and kept:
            kept.pop()
        last = ""
    return "/".join(["", *kept, last])


_TRACKING = re.compile(r"(?i)(?:utm_[^=&]*|fbclid|gclid|gclsrc|dclid|msclkid|yclid|igshid|mc_cid|mc_eid"
                       r"|_hsenc|_hsmi|mkt_tok)(?:=|$)")
"""A query parameter that tags a campaign or a click (Google Analytics' ``utm_*``, Facebook's,
Google's, Microsoft's and Yandex's click ids, Mailchimp's, HubSpot's, Marketo's): never another page."""
_TRACKING_HINT = re.compile(r"(?i)[?&](?:utm_|fbclid|gclid|gclsrc|dclid|msclkid|yclid|igshid|mc_[ce]id|_hs|mkt_tok)")
"""Where a URL may hold a `_TRACKING` parameter (looked for first: most URLs hold none)."""


def _untracked(query: str) -> str:
    """A URL's query without its `_TRACKING` parameters."""
    return "&".join(p for p in query.split("&") if not _TRACKING.match(p))


def _without_tracking(url: str) -> str:
    """``url`` without its tracking parameters (`_TRACKING`: ``utm_*``, ``fbclid``, ``gclid``...),
    its fragment kept: ``https://n.example/s?utm_source=tw&id=5#c`` is ``https://n.example/s?id=5#c``.
    They select no other page (`url_identity` ignores them too), so the link leads where it did,
    but tell the source, an analytics firm or an ad network where a reader came from, and a click
    id ties them to one person's click: a copy of a story shared with a campaign tag that won
    de-duplication published them on every link to it."""
    if "?" not in url or not _TRACKING_HINT.search(url):
        return url
    before, hash_, fragment = url.partition("#")
    path, _, query = before.partition("?")
    query = _untracked(query)
    return path + ("?" + query if query else "") + hash_ + fragment


_AMP_CACHE_HINT = re.compile(r"^https://(?:[^/]*\.cdn\.ampproject\.org|www\.google\.com/amp)/")
_AMP_CACHE_PATH = re.compile(r"^/[cv]/(s/)?([^/?#]+\.[^/?#]+(?:/.*)?)$")


def _amp_origin(host: str, path: str) -> str:
    """The origin URL of an AMP cache's copy (``news-example-com.cdn.ampproject.org/c/s/news.example.com/x``
    is ``https://news.example.com/x``; ``/c/`` without ``s/`` is ``http:``; Google's is
    ``www.google.com/amp/s/news.example.com/x``), else ``""``."""
    if host.endswith(".cdn.ampproject.org"):
        found = _AMP_CACHE_PATH.match(path)
    elif host == "www.google.com" and path.startswith("/amp/"):
        found = _AMP_CACHE_PATH.match("/c" + path[4:])
    else:
        return ""
    return ("https://" if found.group(1) else "http://") + found.group(2) if found else ""


def _ascii_host(host: str) -> str:
    """An international host name in its ASCII form (IDNA); one IDNA cannot write as it is."""
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError:
        return host


_NO_STORY_SCHEMES = frozenset(("javascript", "vbscript", "data", "about", "blob"))
"""Schemes of pseudo-URLs: a script, inline bytes, a blank page; never a story of its own."""


_ASCII_TEXT = "".join(map(chr, range(0x21, 0x7F)))
"""The characters `_one_escape` leaves as they are: printable ASCII (``%`` among them)."""
_ESCAPE = re.compile("%[0-9A-Fa-f]{2}")
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
"""Characters whose %-escape names the same resource as the character (RFC 3986, 2.3)."""


def _one_escape(part: str) -> str:
    """A URL's path or query written one way (RFC 3986, 6.2.2): a character beyond ASCII as the
    %-escapes of its UTF-8 bytes (as a browser sends it), so are a space and the other characters
    `safe_url` escapes (`_URL_ILLEGAL`: ``/a b`` is the link ``/a%20b``, one story), an escape in
    upper case, and an escaped letter, digit, ``-``, ``.``, ``_`` or ``~`` as itself. (A scraper
    writes ``/wiki/Bücher`` where another wrote ``/wiki/B%C3%BCcher``: one story was two pages.)"""
    if not part.isascii():
        part = quote(part, safe=_ASCII_TEXT, errors="surrogatepass")
    if _URL_ILLEGAL.search(part):
        part = _URL_ILLEGAL.sub(_percent, part)
    if "%" not in part:
        return part
    return _ESCAPE.sub(lambda m: char if (char := chr(int(m[0][1:], 16))) in _UNRESERVED else m[0].upper(), part)


_DEFAULT_PORT = re.compile(r"\.?(?::(?:0*(?:80|443))?)?$")
"""What ends a host without changing it: a final dot, an empty or default port (``:0443`` is
port 443 to a browser, as it is to `urlsplit`)."""


def _no_final_slash(url: str) -> str:
    """``url`` without the slashes that end its path (a site's ``/story/`` is its ``/story``)."""
    path, mark, query = url.partition("?")
    return path.rstrip("/") + mark + query if path.endswith("/") else url


def _filter_note_attribute(tag: str, attribute: str, value: str) -> str | None:
    """A note's attribute value as kept, or None to drop it: a link's URL must pass `safe_url`,
    and a ``lang`` (which the sanitizer allows on every tag, as ``title``) must be a language tag
    (`language_tag`): ``<b lang="english">`` was an error to the HTML checker."""
    if tag == "a" and attribute == "href":
        return safe_url(value, NOTE_SCHEMES)
    if attribute == "lang":
        return language_tag(value)
    return value


@cache
def _markdown() -> Any:
    """One reusable converter per process (building one costs more than converting a note).
    Markdown is imported here, by the first note: a build that parses no record (most
    rebuilds) does without its import (a hundredth of a second)."""
    import markdown  # noqa: PLC0415

    return markdown.Markdown(extensions=["sane_lists", "tables", "fenced_code"], output_format="html")


def _astral(text: str) -> bool:
    """Whether ``text`` holds a character beyond the first plane (in C: no regex needed)."""
    return not text.isascii() and max(text) > "\uffff"


def drop_unprintable(text: str) -> str:
    """``text`` without `_UNPRINTABLE` characters and astral noncharacters."""
    text = _UNPRINTABLE.sub("", text)
    return _ASTRAL_NONCHARACTER.sub("", text) if _astral(text) else text


def without_bidi_controls(text: str) -> str:
    """``text`` without `_BIDI_CONTROL` characters (as `plain_text` drops them): for texts that
    are no record field, such as a site's ``[labels]``, shown beside other text on every page."""
    return _BIDI_CONTROL.sub("", text)


def render_note(text: str) -> str:
    """Markdown note -> HTML cleaned by an allow-list (no scripts, images, styles or raw HTML)."""
    text = drop_unprintable(text)
    if not text.strip():
        return ""
    if not text.isascii() and not unicodedata.is_normalized("NFC", text):
        text = unicodedata.normalize("NFC", text)  # (as the text fields: HTML wants NFC)
    if len(text) > MAX_NOTE_MARKDOWN or _nested_too_deep(text):
        return _paragraphs(text)
    plain, text = text, _defuse_inline(text)
    converter = _markdown()
    try:
        html = converter.convert(text)
    except RecursionError:  # (Python-Markdown parses each level of a list with a recursive call:
        # `- - - ... x`, 2 kB of lists in lists, stopped the whole build. `_nested_too_deep` now
        # keeps such notes from it; this is for a nesting it does not foresee.) The converter is
        # left with its parser's state half unwound, which `reset` keeps: every later note
        # rendered wrong. It is dropped; the next note gets a new one.
        _markdown.cache_clear()
        return _paragraphs(plain)
    finally:
        converter.reset()
    if "<h1" in html or "<h2" in html:
        html = _below_page_headings(html)
    clean = nh3.clean(
        html,
        tags=_NOTE_TAGS,
        attributes=_NOTE_ATTRIBUTES,
        url_schemes=set(NOTE_SCHEMES),
        link_rel="noopener noreferrer",
        attribute_filter=_filter_note_attribute,
        strip_comments=True,
    ).strip()
    if "\ufdd0" in clean or "\ufdd1" in clean:
        clean = re.sub("[\ufdd0\ufdd1]", lambda m: _SHOW[m.group()], clean)
    # Character references (&#xFFFF;, &#11;) are decoded by Markdown, after load removed such characters.
    if "&#" in text:
        clean = drop_unprintable(clean)
    # A link whose URL was refused keeps only its text (an <a> without href is invalid HTML).
    if "<a" in clean:
        clean = _ANCHOR.sub(_unwrap_dead_link, clean)
    # Raw HTML can put allowed tags where HTML does not allow them (the sanitizer keeps
    # <pre><p>, <li> outside a list): Markdown's own output is always nested right.
    if "<" in text:
        clean = _Nesting.fix(clean)
    if "<tr" in clean:
        clean = _even_tables(clean)
    return _even_headings(_drop_empty_headings(clean)) if "<h" in clean else clean


_HEADING_TAG = re.compile(r"<(/?)h([3-6])>")
_ANY_HEADING = re.compile(r"<(/?)h([1-6])(?=[\s/>])", re.IGNORECASE)


def _below_page_headings(html: str) -> str:
    """``html`` with every heading moved down as far as its top level needs to be an ``<h3>``
    (``#`` and ``##``, a setext heading under a line of ``---``: the sanitizer allows no h1
    or h2, as the page has them, and their text was left bare, run into the next paragraph)."""
    levels = [int(match.group(2)) for match in _ANY_HEADING.finditer(html)]
    shift = 3 - min(levels) if levels else 0  # (text such as "<h2o>" is no heading)
    if shift <= 0:
        return html
    return _ANY_HEADING.sub(lambda m: f"<{m.group(1)}h{min(6, int(m.group(2)) + shift)}", html)


_HEADING_ELEMENT = re.compile(r"<h([3-6])>(.*?)</h\1>\n?", re.S)


def _drop_empty_headings(html: str) -> str:
    """``html`` without the headings that show nothing (``#`` alone, ``### <b></b>``, a heading
    whose script the sanitizer removed): an empty heading is a warning to the HTML checker and
    to axe (``empty-heading``: a screen reader announces a heading with no name)."""
    def keep(match: re.Match[str]) -> str:
        text = unescape_html(_TAG.sub("", match.group(2))).strip()
        return match.group() if text and visible(text) else ""

    return _HEADING_ELEMENT.sub(keep, html)


_TABLE_TOKEN = re.compile(r"<(/?)(table|tr|td|th)(?:\s[^>]*)?>")


def _even_tables(html: str) -> str:
    """``html`` with every row of a table as wide as its widest: a row without cells (raw
    ``<tr></tr>``) is dropped (an error to the HTML checker: "row 1 ... has no cells beginning
    on it") and a shorter row gets empty cells at its end (a warning: "a table row was 1 columns
    wide, which is less than the column count established by the first row"). Cells span one
    column: the sanitizer keeps no ``colspan`` or ``rowspan``."""
    edits: list[tuple[int, int, str]] = []
    tables: list[dict] = []  # per open table: its rows so far, the open row's start and cells
    for match in _TABLE_TOKEN.finditer(html):
        closing, name = match.groups()
        if name == "table":
            if not closing:
                tables.append({"rows": [], "start": None, "cells": 0})
            elif tables:
                rows = tables.pop()["rows"]
                width = max((cells for *_, cells in rows), default=0)
                for start, close, end, cells in rows:
                    if not cells:
                        edits.append((start, end, ""))
                    elif cells < width:
                        edits.append((close, close, "<td></td>" * (width - cells)))
        elif not tables:
            continue
        elif name == "tr":
            table = tables[-1]
            if not closing:
                table["start"], table["cells"] = match.start(), 0
            elif table["start"] is not None:
                table["rows"].append((table["start"], match.start(), match.end(), table["cells"]))
                table["start"] = None
        elif not closing:
            tables[-1]["cells"] += 1
    if not edits:
        return html
    pieces, at = [], 0
    for start, end, replacement in sorted(edits):  # (one pass: a slice per edit was quadratic)
        pieces += (html[at:start], replacement)
        at = end
    return "".join(pieces) + html[at:]


def _even_headings(html: str) -> str:
    """``html`` with its headings renumbered so that none skips a level: the note stands under
    the page's ``<h2>``, and a first ``####`` (h4) there is an error to the HTML checker ("skipping
    1 heading level"). Each heading is at most one level below the one before (the first an h3)."""
    last = 2
    opened: list[int] = []

    def renumber(match: re.Match[str]) -> str:
        nonlocal last
        if match.group(1):
            return f"</h{opened.pop()}>" if opened else match.group()
        last = min(int(match.group(2)), last + 1)
        opened.append(last)
        return f"<h{last}>"

    return _HEADING_TAG.sub(renumber, html)


_PHRASING = frozenset({"a", "em", "strong", "b", "i", "code", "del", "sup", "sub", "abbr", "br"})
_PHRASING_ONLY = frozenset({"p", "pre", "h3", "h4", "h5", "h6"}) | (_PHRASING - {"br"})
"""Elements whose descendants may only be phrasing content (``a`` and ``del`` are counted here,
though transparent: a note's are in paragraphs)."""
_HEADINGS = frozenset({"h3", "h4", "h5", "h6"})
_FLOW_BLOCKS = frozenset({"p", "pre", "blockquote", "ul", "ol", "table", "hr"}) | _HEADINGS
"""Blocks of a note, each of which ends the inline elements raw HTML left open before it."""
_LISTS = frozenset({"ul", "ol"})
_VOID = frozenset({"br", "hr"})
_TABLE_WRAPPERS = {"table": ("tbody", "tr", "td"), "thead": ("tr", "td"), "tbody": ("tr", "td"),
                   "tfoot": ("tr", "td"), "tr": ("td",)}
"""What content found directly in a table part is wrapped in (``<table>c<tbody>``: a cell)."""
_TABLE_HOLDERS = {"td": ("tr",), "th": ("tr",), "tr": ("tbody", "thead", "tfoot"),
                  "tbody": (), "thead": (), "tfoot": (), "caption": ()}
"""Table parts, and the added parts that may stay open around them."""
_EMPTY, _CAPTION, _HEAD, _BODY = range(4)
_TABLE_PARTS = frozenset({"table", "caption", "thead", "tbody", "tfoot", "tr", "td", "th"})


class _Nesting(HTMLParser):
    """Sanitized note HTML (well-formed, allowed tags only) re-nested as HTML's content models
    require: a tag not allowed where it stands is dropped and its content kept (``<pre><p>x``
    is ``<pre>x``; an ``<li>`` outside a list, a heading in a ``<th>``, a ``<b>`` right in a
    list), an inline element that holds nothing but spaces is left out, and what a list holds
    outside its items gets an item of its own, and what a table holds outside its cells (the text
    of a ``<caption>``, which the sanitizer drops) a cell of its own.

    An inline element left open by raw HTML (``Intro <b>bold`` or ``<a href=...>`` with no end
    tag) is closed where the next block begins (`_close_stray_phrasing`): the sanitizer's HTML
    parser closes it at the end of its paragraph and opens it again around every block after it,
    which made the rest of the note one bold run, or one link, without its paragraphs, lists,
    tables and code blocks."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.out: list[str] = []
        self.tags: list[list] = []
        """Every open tag: [name, whether it is kept, where its start tag is in `out`]."""
        self.kept: list[tuple[str, bool]] = []
        """The open tags that were kept, and whether each is an item this class added."""
        self.tables: list[int] = []
        """For each open table, what was written in it yet: `_EMPTY`, `_CAPTION`, `_HEAD` or
        `_BODY` (a caption must come first, a head before the body)."""

    @classmethod
    def fix(cls, html: str) -> str:
        parser = cls()
        parser.feed(html)
        parser.close()
        return "".join(parser.out)

    def _item_for_list_content(self) -> None:
        """Open an item (or a table cell) for content about to be written in a list (or table)."""
        if not self.kept:
            return
        parent = self.kept[-1][0]
        if parent == "table":
            self.tables[-1] = _BODY
        if parent in _LISTS:
            self.out.append("<li>")
            self.kept.append(("li", True))
        elif parent in _TABLE_WRAPPERS:
            for wrapper in _TABLE_WRAPPERS[parent]:
                self.out.append(f"<{wrapper}>")
                self.kept.append((wrapper, True))

    def _close_added_cells(self, tag: str) -> None:
        """Close the table parts this class added that cannot hold ``tag`` (a table part)."""
        holders = _TABLE_HOLDERS.get(tag, ())
        while self.kept and self.kept[-1][1] and self.kept[-1][0] not in holders:
            self.out.append(f"</{self.kept.pop()[0]}>")

    def _close_added_item(self) -> None:
        if self.kept and self.kept[-1] == ("li", True):
            self.out.append("</li>")
            self.kept.pop()

    def _close_stray_phrasing(self) -> None:
        """Close the inline elements that hold a block about to begin, when nothing but flow
        content (the note itself, an item, a cell, a quotation) holds them: an element with
        nothing but spaces in it is left out (an empty ``<a>`` is a link with no name)."""
        depth = 0
        while depth < len(self.kept) and not self.kept[-1 - depth][1] and self.kept[-1 - depth][0] in _PHRASING:
            depth += 1
        if not depth or any(name in _PHRASING_ONLY for name, _ in self.kept[:-depth]):
            return
        entries = [entry for entry in self.tags if entry[1]][-depth:]
        for entry in reversed(entries):  # (innermost first)
            start = entry[2]
            if not self._blank_since(start):
                self.out.append(f"</{entry[0]}>")
            else:
                self.out[start] = ""
            entry[1] = False  # (its end tag, when it comes, is dropped)
            self.kept.pop()

    def _blank_since(self, start: int) -> bool:
        """Whether all written after the start tag at ``start`` in `out` is white space (the first
        piece that is not ends the look: an element's content was joined whole at each end tag)."""
        return all(piece.isspace() for piece in self.out[start + 1:] if piece)

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag in _FLOW_BLOCKS:
            self._close_stray_phrasing()
        if tag == "li":
            self._close_added_item()
        elif tag in _TABLE_HOLDERS:
            self._close_added_cells(tag)
        elif not (tag in _PHRASING and self.kept and self.kept[-1][0] in _LISTS):  # (dropped below)
            self._item_for_list_content()
        parent = self.kept[-1][0] if self.kept else ""
        keep = not (
            (tag not in _PHRASING and any(name in _PHRASING_ONLY for name, _ in self.kept))
            or (tag in _HEADINGS and any(name == "th" for name, _ in self.kept))
            or (tag == "li" and parent not in _LISTS)
            or (tag in _PHRASING and parent in _LISTS)
            or (tag == "caption" and (parent != "table" or self.tables[-1] != _EMPTY))
            or (tag in _TABLE_PARTS and any(name == "caption" for name, _ in self.kept))
        )
        if keep and parent == "table":
            if tag == "thead" and self.tables[-1] >= _HEAD:
                tag = "tbody"  # (a second head, or one after the body, is body)
            elif tag == "tr":  # (a row right in a table gets a body: rows beside a tbody are invalid)
                self.out.append("<tbody>")
                self.kept.append(("tbody", True))
            self.tables[-1] = {"caption": _CAPTION, "thead": _HEAD}.get(tag, _BODY)
        start = len(self.out)
        if keep:
            self.out.append(f"<{tag}>" if tag in _TABLE_PARTS else self.get_starttag_text() or f"<{tag}>")
        if tag not in _VOID:
            self.tags.append([tag, keep, start])
            if keep:
                self.kept.append((tag, False))
                if tag == "table":
                    self.tables.append(_EMPTY)

    def handle_endtag(self, tag: str) -> None:
        if tag in _VOID or not self.tags:
            return
        name, kept, start = self.tags.pop()
        if kept and name in _PHRASING and self._blank_since(start):
            self.out[start] = ""  # (an inline element of spaces: nothing to show, or a link with no name)
            self.kept.pop()
            return
        if kept:
            while self.kept[-1][1]:  # what this class added inside it (an item, a cell)
                self.out.append(f"</{self.kept.pop()[0]}>")
            self.out.append(f"</{name}>")
            self.kept.pop()
            if name == "table":
                self.tables.pop()

    def handle_data(self, data: str) -> None:
        if data.strip():
            self._item_for_list_content()
        self.out.append(data)

    def handle_entityref(self, name: str) -> None:
        self._item_for_list_content()
        self.out.append(f"&{name};")

    def handle_charref(self, name: str) -> None:
        self._item_for_list_content()
        self.out.append(f"&#{name};")


MAX_NOTE_NESTING = 400
"""Characters of indentation and list or quote markers that open a line of a note, at most, for
it to be read as Markdown (`_nested_too_deep`)."""

_LINE_NESTING = re.compile(r"^([ \t]*)((?:(?:[-*+]|\d{1,9}[.)])[ \t]+|>[ \t]?)*)", re.MULTILINE)


def _nested_too_deep(text: str) -> bool:
    """Whether a line of ``text`` opens with more than `MAX_NOTE_NESTING` characters of
    indentation (a tab as 4) and list or quote markers (``- - - x``, ``1. 1. x``, a list
    indented 4 columns a level).

    Python-Markdown parses each level of a list with a recursive call, about one frame per
    character of these: at 1,000 frames, a `RecursionError` (500 levels of ``- ``, 250 of
    indentation, from an empty stack). Where exactly depended on the stack of the process
    rendering it (the build's own or a worker's), so one note could render as Markdown in a
    ``-j 1`` build and as paragraphs in another: this bound, well short of it, is the same in all."""
    if len(text) <= MAX_NOTE_NESTING:
        return False  # (every real note: a line that nests so deep needs that many characters)
    for match in _LINE_NESTING.finditer(text):
        indent, markers = match.groups()
        if len(indent) + len(markers) > MAX_NOTE_NESTING // 4 and (
                len(indent.expandtabs(4)) + len(markers) > MAX_NOTE_NESTING):
            return True
    return False


def _paragraphs(text: str) -> str:
    """A note shown as plain-text paragraphs, not Markdown (one too long, or nested too deep, to parse)."""
    return "\n".join(f"<p>{escape(block.strip())}</p>" for block in _BLOCK_GAP.split(text)[::2] if block.strip())


def _defuse_inline(text: str) -> str:
    """``text`` with ``[`` and ``<`` escaped in the blocks past `NOTE_INLINE_BUDGET`."""
    if (text.count("[") + text.count("<")) * len(text) <= NOTE_INLINE_BUDGET:
        return text  # every real note
    blocks = _BLOCK_GAP.split(text)
    spent = 0
    for index in range(0, len(blocks), 2):
        block = blocks[index]
        cost = (block.count("[") + block.count("<")) * len(block)
        if spent + cost > NOTE_INLINE_BUDGET:
            blocks[index] = block.replace("[", _HIDE["["]).replace("<", _HIDE["<"])
        else:
            spent += cost
    return "".join(blocks)


_ANCHOR = re.compile(r'<a((?:\s+[a-z-]+="[^"]*")*)>(.*?)</a>', re.S)
_HREF = re.compile(r'\shref="([^"]*)"')
_TAG = re.compile(r"<[^>]*>")


def _unwrap_dead_link(match: re.Match) -> str:
    """A link whose URL was refused: its text alone; a text that is itself a URL holding
    credentials (an autolink, ``<https://user:pass@host/x>``) without them (``https://host/x``:
    the link was refused, and its text published the password). A link with no text to show
    (``[](url)``, an image link once the image is gone): its URL as its text, not an empty link
    (an accessibility violation: a link must have a name)."""
    href = _HREF.search(match.group(1))
    if href is None:
        inner = match.group(2)
        return without_credentials(inner) if "@" in inner and credentials_link(unescape_html(inner)) else inner
    inner = match.group(2)
    if visible(unescape_html(_TAG.sub("", inner)).strip()):
        return match.group(0)
    return f"<a{match.group(1)}>{href.group(1)}</a>"


_MOJIBAKE_HINT = re.compile("[\u00c2-\u00f4][\u0080-\u00bf\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192"
                            "\u02c6\u02dc\u2013\u2014\u2018-\u201a\u201c-\u201e\u2020-\u2022\u2026\u2030"
                            "\u2039\u203a\u20ac\u2122]")
"""A UTF-8 lead byte then a continuation byte, both read as Windows-1252: the start of mojibake
such as ``â€™`` (a ’ whose UTF-8 bytes were decoded as Windows-1252, seen in real records)."""


def repair_mojibake(text: str) -> str:
    """``text`` decoded right when all of it is UTF-8 read as Windows-1252 (``â€˜Dataâ€™`` is
    ``‘Data’``), else ``text`` unchanged.

    Only the whole text is repaired, never a part: text with one character that Windows-1252
    cannot encode, or whose bytes are no valid UTF-8 (``Café``, ``«IRMÃ»``, ``São``), is real
    text, and is left alone.
    """
    for _ in range(3):  # (mojibake of mojibake, as text passes through two such scrapers)
        if text.isascii() or _MOJIBAKE_HINT.search(text) is None:
            return text
        try:
            text = text.encode("cp1252").decode("utf-8")
        except UnicodeError:
            return text
    return text


_INVISIBLE_CATEGORIES = frozenset({"Cf", "Mn", "Me", "Zs", "Zl", "Zp", "Cc"})
_BLANK_LETTERS = frozenset("\u115f\u1160\u3164\uffa0\u2800")
"""Characters of visible categories that show nothing (Hangul fillers, the blank Braille pattern)."""


def visible(text: str) -> bool:
    """Whether ``text`` (a `plain_text` value) shows anything: a character that is not a format
    character (zero-width spaces and joiners, tags), a combining mark or a space. (Unassigned
    and private-use characters show as a box or a glyph.) A name of the others alone is a
    link with no text on every card that shows it."""
    if text.isascii():
        return bool(text)  # (plain_text removed ASCII controls and the spaces around)
    return any(unicodedata.category(c) not in _INVISIBLE_CATEGORIES and c not in _BLANK_LETTERS for c in text)


_HIDDEN_ELEMENTS = "script|style|iframe|noscript|template|object|svg|math|head|title"
"""Elements whose content is no text to show: their markup is removed with what it holds."""
_MARKUP_ELEMENTS = ("a|abbr|address|article|aside|audio|b|bdi|bdo|big|blockquote|body|br|button|canvas|"
                    "caption|center|cite|code|col|colgroup|dd|del|details|dfn|div|dl|dt|em|embed|"
                    "figcaption|figure|font|footer|form|h[1-6]|header|hr|html|i|img|input|ins|kbd|label|"
                    "li|link|main|mark|meta|nav|ol|p|picture|pre|q|s|samp|section|small|source|span|"
                    "strike|strong|sub|summary|sup|table|tbody|td|tfoot|th|thead|time|tr|tt|u|ul|var|"
                    "video|wbr|" + _HIDDEN_ELEMENTS)
_TAG_NAME = rf"(?:{_MARKUP_ELEMENTS})(?![\w:-])"
_MARKUP = re.compile(rf"</{_TAG_NAME}\s*>|<({_TAG_NAME})(?:\s[^<>]*)?/?>", re.IGNORECASE)
"""An HTML tag a scraper left in a plain-text field: a closing tag, or an opening tag of an HTML
element (`strip_markup` decides whether the opening tag is markup)."""
_ENCLOSING = re.compile(rf"<!--|<({_HIDDEN_ELEMENTS})(?![\w:-])[^<>]*>", re.IGNORECASE)
"""What opens a comment or a hidden element (`_HIDDEN_ELEMENTS`): removed with what it holds, up
to its end (see `_without_enclosed`)."""
_VOID_OR_BREAK = frozenset(("br", "hr", "img", "wbr", "input", "embed", "source", "col", "link", "meta"))
_INLINE = frozenset(("a", "abbr", "b", "bdi", "bdo", "big", "cite", "code", "del", "dfn", "em", "font",
                     "i", "ins", "kbd", "mark", "q", "s", "samp", "small", "span", "strike", "strong",
                     "sub", "sup", "time", "tt", "u", "var"))


def strip_markup(text: str) -> str | None:
    """``text`` (a plain-text field, entities not yet decoded) without the HTML markup a scraper
    copied into it (``<b>Bold</b>``, ``line<br>line``, ``<p>...</p>``, ``<script>...</script>``,
    ``<!-- -->``), or None when it holds none.

    A tag is markup when it closes an element, is a void element (``<br>``, ``<img ...>``), ends in
    ``/>``, or opens an element that the text closes (anywhere): ``Why <div> soup is bad`` and
    ``x <b y`` are text, as written. A comment, and a script, style, title... with what it holds,
    are markup up to their end, and text when the text never ends them: ``The <title> tag
    explained`` is a headline (it lost all after ``The``). A block tag or a break is a space, an
    inline one nothing (``<b>Po</b>wer`` is ``Power``)."""
    if "<" not in text:
        return None
    text, found = _without_enclosed(text)
    closed = {name.lower() for name in re.findall(r"</(\w+)\s*>", text)}  # (once: linear in the text)

    def replace(match: re.Match) -> str:
        nonlocal found
        whole = match.group(0)
        name = (match.group(1) or "").lower()
        if name and not (name in _VOID_OR_BREAK or whole.endswith("/>") or name in closed):
            return whole  # (an opening tag the text never closes: text, `Why <div> soup`)
        found = True
        if not name:
            closing = re.match(r"</(\w+)", whole)
            name = closing.group(1).lower() if closing else ""
        return "" if name in _INLINE else " "

    stripped = _MARKUP.sub(replace, text)
    return stripped if found else None


def _without_enclosed(text: str) -> tuple[str, bool]:
    """``text`` with each comment and hidden element (`_ENCLOSING`) that it ends replaced by a
    space, and whether there was one. One pass: where one kind is not ended after its opening,
    no later opening of that kind is ended either, so none is looked for again (a lazy ``.*?``
    to the end of the text, tried at each of a megabyte of ``<script>``, took minutes)."""
    parts: list[str] = []
    done = 0
    unended: set[str] = set()
    for opening in _ENCLOSING.finditer(text):
        if opening.start() < done:
            continue  # (inside what was just removed)
        kind = (opening.group(1) or "!--").lower()
        if kind in unended:
            continue
        end = (text.find("-->", opening.end()) + 3 if kind == "!--" else
               _end_of(text, kind, opening.end()))
        if end < 3:  # (`find` gave -1, or `_end_of` 0)
            unended.add(kind)
            continue
        parts += [text[done:opening.start()], " "]
        done = end
    if not parts:
        return text, False
    parts.append(text[done:])
    return "".join(parts), True


def _end_of(text: str, name: str, start: int) -> int:
    """Where the first ``</name>`` (any case, spaces before ``>``) at or after ``start`` ends; 0 if none."""
    found = re.compile(rf"</{name}\s*>", re.IGNORECASE).search(text, start)
    return found.end() if found else 0


def plain_text(value: str) -> str:
    """Collapse whitespace of a plain-text field, drop the characters HTML and XML refuse and
    bidirectional controls (`_BIDI_CONTROL`), repair mojibake (`repair_mojibake`), NFC.

    (It is escaped at render time, never trusted.)
    """
    if not value.isascii():
        value = repair_mojibake(value)
    # Every character `_ODD_TEXT` finds is one `str.isprintable` refuses (a control, a separator
    # other than the space, a format character, private use, a noncharacter): a printable value
    # without two spaces in a row is not searched (a search of that pattern costs ten times more).
    if (((value.isprintable() and "  " not in value) or _ODD_TEXT.search(value) is None)
            and not (_astral(value) and _ASTRAL_NONCHARACTER.search(value))):
        text = value.strip()  # the common case: both substitutions would change nothing
    else:
        text = _SPACE.sub(" ", _NO_TEXT.sub("", _BIDI_CONTROL.sub("", drop_unprintable(value)))).strip()
    return text if text.isascii() else unicodedata.normalize("NFC", text)
