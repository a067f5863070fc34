"""Every word the site itself writes (navigation, page titles, template words, feed titles,
month names), in English, by key: the one place these words come from.

A site overrides any of them in the ``[labels]`` table of ``digest.toml`` (see README,
"Labels"; its table is made from `LABELS` by `readme_table`). Values are plain text, escaped
where they are written (HTML, XML, JSON). A number or a name goes into a label through a
placeholder, ``{n}``, ``{total}``, ``{name}``..., each label having the ones its English text
has: `fill` replaces them in one pass with plain string replacement (never ``str.format``,
which would read attributes and indexes out of a curator's text).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

LABELS: dict[str, tuple[str, str]] = {
    # key: (English default, where it shows)
    "nav_home": ("Home", "navigation and breadcrumbs: the front page"),
    "nav_editions": ("Editions", "navigation and breadcrumbs: the daily editions; the editions' pager label"),
    "nav_topics": ("Topics", "navigation and breadcrumbs: the topics; the OPML group of topic feeds"),
    "nav_sources": ("Sources", "navigation and breadcrumbs: the sources; the OPML group of source feeds"),
    "nav_archive": ("Archive", "navigation and breadcrumbs: the archive"),
    "nav_search": ("Search", "navigation and breadcrumbs: the search page"),
    "nav_label": ("Main", "accessible name of the main navigation"),
    "breadcrumb_label": ("Breadcrumb", "accessible name of the breadcrumb trail"),
    "skip_to_content": ("Skip to content", "the skip link at the top of every page"),
    "footer_note": ("Made with {generator}. This site loads nothing from third parties.", "page footer"),
    "draft": ("Draft", "badge of an unpublished article (a --drafts preview)"),
    "date": ("{day} {month} {year}", "every date shown in words: {day} and {year} in digits, {month} from months"),
    "month_year": ("{month} {year}", "an archive month's name"),
    "stories_one": ("{n} story", "a count of one story"),
    "stories_other": ("{n} stories", "a count of stories other than one"),
    "pagination_label": ("Pagination", "accessible name of a listing's pager"),
    "newer": ("← Newer", "pager: the previous (newer) page"),
    "older": ("Older →", "pager: the next (older) page"),
    "page_of": ("Page {n} of {total}", "pager: where this page is"),
    "listing_page": ("page {n} of {total}", "under a listing's heading, after the count"),
    "page_heading": ("{title} (page {n} of {total})", "title of a listing's page 2 and later"),
    "home_top_stories": ("Top stories", "home page: heading of the latest edition's best stories"),
    "home_top_of": ("of", "home page: between that heading and the edition's date"),
    "home_latest": ("Latest", "home page: heading of the latest stories"),
    "home_archive": ("Browse the archive", "home page: link to the archive"),
    "home_empty": ("No stories yet. Add records to {content} and build again.",
                   "home page of a site without stories ({content} is the folder's name)"),
    "edition_title": ("Edition of {date}", "title of a daily edition (page and feed entry)"),
    "edition_description": ("{n} stories from {date}.", "description of a daily edition's page"),
    "edition_intro": ("{stories}, best first, grouped by topic.", "daily edition: under the heading"),
    "edition_other": ("Other stories", "daily edition: the group of stories without a topic"),
    "edition_previous": ("← Previous day", "daily edition: link to the day before"),
    "edition_all": ("All editions", "daily edition: link to every edition"),
    "edition_next": ("Next day →", "daily edition: link to the day after"),
    "editions_title": ("Daily editions", "title of the editions index"),
    "editions_description": ("Every daily edition of the digest.", "description of the editions index"),
    "editions_lead": ("lead:", "editions index: before each edition's lead story"),
    "topic_description": ("The latest curated stories about {name}.", "description of a topic's page and feeds"),
    "topics_title": ("Topics", "title of the topics index"),
    "topics_description": ("Every topic of the digest.", "description of the topics index"),
    "source_description": ("The latest curated stories from {name} ({domain}).",
                           "description of a source's page and feeds"),
    "source_description_nameonly": ("The latest curated stories from {name}.",
                                    "the same, for a source known by its name alone"),
    "sources_title": ("Sources", "title of the sources index"),
    "sources_description": ("Every news source of the digest.", "description of the sources index"),
    "terms_total": ("{n} in all.", "topics and sources indexes: how many there are"),
    "archive_title": ("Archive", "title of the archive index"),
    "archive_description": ("Every month of the digest.", "description of the archive index"),
    "archive_month_description": ("Every story of {name}.", "description of an archive month's page"),
    "article_updated": ("updated", "article page: before the date it was updated"),
    "article_edition": ("in that day's edition", "article page: link to its daily edition"),
    "article_read": ("Read the full story", "article page: link to the source, its name unknown"),
    "article_read_at": ("Read the full story at {name}", "article page: link to the source {name}"),
    "article_note": ("Curator's note", "article page: heading of the curator's note"),
    "related_label": ("Related articles", "article page: accessible name of the sidebar"),
    "related_coverage": ("Related coverage", "article page: heading of the curated coverage"),
    "related_more": ("More like this", "article page: heading of the computed related articles"),
    "not_found_title": ("Page not found", "title and heading of the 404 page"),
    "not_found_description": ("The page you asked for is not here.", "description of the 404 page"),
    "not_found_text": ("There is no page at this address. It may have moved, or the story may have been withdrawn.",
                       "404 page: the explanation"),
    "not_found_home": ("Go to the front page", "404 page: link to the front page"),
    "not_found_or": ("or", "404 page: between its two links"),
    "not_found_archive": ("browse the archive", "404 page: link to the archive"),
    "search_title": ("Search", "title and heading of the search page"),
    "search_description": ("Search every story of the digest by word, topic, source and date.",
                           "description of the search page"),
    "search_words": ("Words to look for", "search page: label of the text box"),
    "search_button": ("Search", "search page: the button"),
    "search_topic": ("Topic", "search page: label of the topic filter"),
    "search_any_topic": ("Any topic", "search page: the topic filter's first choice"),
    "search_source": ("Source", "search page: label of the source filter"),
    "search_any_source": ("Any source", "search page: the source filter's first choice"),
    "search_month": ("Month", "search page: label of the month filter"),
    "search_any_month": ("Any month", "search page: the month filter's first choice"),
    "search_order": ("Order", "search page: label of the order choice"),
    "search_best": ("Best match", "search page: order by relevance"),
    "search_newest": ("Newest first", "search page: order by date, newest first"),
    "search_oldest": ("Oldest first", "search page: order by date, oldest first"),
    "search_prompt": ("Type a word, or choose a topic, source or month.",
                      "search page (its script): before anything is asked"),
    "search_searching": ("Searching…", "search page (its script): while it searches"),
    "search_none": ("No stories found.", "search page (its script): nothing found"),
    "search_found_one": ("{n} story found.", "search page (its script): one story found"),
    "search_found_other": ("{n} stories found.", "search page (its script): other numbers of stories found"),
    "search_found_more": ("{n} stories found, the first {shown} shown.",
                          "search page (its script): more found than it shows"),
    "search_unavailable": ("The search index is not available on this copy of the site.",
                           "search page (its script): no index to search"),
    "search_nojs": ("Search runs in your browser and needs JavaScript. Without it, find stories by",
                    "search page without JavaScript: the sentence before its three links"),
    "search_nojs_topic": ("topic", "search page without JavaScript: link to the topics"),
    "search_nojs_by": ("by", "search page without JavaScript: before the link to the sources"),
    "search_nojs_source": ("source", "search page without JavaScript: link to the sources"),
    "search_nojs_in": ("or in the", "search page without JavaScript: before the link to the archive"),
    "search_nojs_archive": ("archive", "search page without JavaScript: link to the archive"),
    "feed_title": ("{site}: {name}", "title of a topic's or source's feed ({site} is the site's title)"),
    "feed_editions_title": ("{site}: daily editions", "title of the daily editions feed"),
    "feed_editions_description": ("One entry per daily edition and its top stories.",
                                  "description of the daily editions feed"),
    "feed_edition_summary": ("{stories}. Top: {titles}.", "summary of a daily edition's feed entry"),
    "opml_title": ("{site}: every feed", "title of feeds.opml"),
    "opml_site": ("Site", "feeds.opml: the group of the site's own feeds"),
}
"""Every label but `MONTHS`: its English text and where it shows (the README lists both)."""

MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December")
"""The ``months`` label: the names of the months, January first."""

_PLACEHOLDER = re.compile(r"\{([a-z]+)\}")
"""A placeholder: a lower-case name between braces."""


def placeholders(key: str) -> tuple[str, ...]:
    """The placeholders label ``key`` may hold: the ones its English text has."""
    return tuple(dict.fromkeys(_PLACEHOLDER.findall(LABELS[key][0]))) if key in LABELS else ()


def fill(text: str, **values: Any) -> str:
    """``text`` with each ``{name}`` of ``values`` replaced by ``str(value)``, in one pass (a
    value holding ``{n}`` stays as it is); any other brace is text."""
    if "{" not in text:
        return text
    return _PLACEHOLDER.sub(lambda m: str(values[m[1]]) if m[1] in values else m[0], text)


class Labels(Mapping[str, Any]):
    """The labels of one site: the English ones with the site's overrides (see `labels_of`)."""

    __slots__ = ("_all",)

    def __init__(self, overrides: Mapping[str, Any] = {}):  # noqa: B006 - read only
        words: dict[str, Any] = {key: text for key, (text, _) in LABELS.items()}
        words["months"] = MONTHS
        words.update(overrides)
        self._all = words

    def __getitem__(self, key: str) -> Any:
        return self._all[key]

    def __iter__(self):
        return iter(self._all)

    def __len__(self) -> int:
        return len(self._all)

    def say(self, key: str, **values: Any) -> str:
        """Label ``key`` with its placeholders filled in from ``values``."""
        return fill(self._all[key], **values)

    def stories(self, count: int) -> str:
        """``1 story``, ``5 stories``."""
        return self.say("stories_one" if count == 1 else "stories_other", n=count)

    def day(self, day: int, month: int, year: int) -> str:
        """A date in words (``1 January 2024``): the ``date`` label, month names from ``months``."""
        return self.say("date", day=day, month=self._all["months"][month - 1], year=year)

    def month(self, month: int, year: int | str) -> str:
        """An archive month's name (``January 2024``)."""
        return self.say("month_year", month=self._all["months"][month - 1], year=year)


@lru_cache(maxsize=8)
def labels_of(overrides: tuple[tuple[str, Any], ...] = ()) -> Labels:
    """The `Labels` of a `digest.config.Config`'s ``labels`` (its overrides, as pairs)."""
    return Labels(dict(overrides))


SEARCH_MESSAGES = {"prompt": "search_prompt", "searching": "search_searching", "none": "search_none",
                   "one": "search_found_one", "other": "search_found_other", "more": "search_found_more",
                   "unavailable": "search_unavailable"}
"""The messages of the search page's script (``static/search.js``) by its name for each: its
``data-messages`` (the script's own English ones stand in when a site's template has none)."""


def template_labels(labels: Labels) -> dict[str, Any]:
    """The labels as templates get them (the global ``labels``, see
    `digest.render.make_environment`): the English ones as markup (our
    own text, free of ``<``, ``&`` and ``"``: written as it was when templates held it), a
    site's own as plain strings, which templates escape."""
    from markupsafe import Markup

    return {key: Markup(value) if isinstance(value, str) and value == LABELS.get(key, ("",))[0] else value
            for key, value in labels.items() if key != "months"}


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def check_labels(value: Any, lines: Mapping[str, int], close: Any, describe: Any,
                 ) -> list[tuple[int | None, str, str]]:
    """What is wrong with a ``[labels]`` table: (line, key, message) for each bad key, where
    ``lines`` gives the line of each key (``""``: of the table), ``close(key, known)`` a "did
    you mean" hint and ``describe(value)`` how a value is named in a message."""
    problems = []
    for key, text in value.items():
        line = lines.get(key, lines.get(""))
        name = f"labels.{key}"
        if key == "months":
            if (not isinstance(text, list) or len(text) != 12
                    or any(_bad_text(month) for month in text)):
                problems.append((line, name, "expected a list of 12 month names (non-empty strings without "
                                             f"control characters), January first, got {describe(text)}"))
            continue
        if key not in LABELS:
            problems.append((line, name, f"unknown label{close(key, [*LABELS, 'months'])}"))
            continue
        wrong = _bad_text(text)
        if wrong:
            problems.append((line, name, f"expected {wrong}, got {describe(text)}"))
            continue
        allowed = placeholders(key)
        unknown = [p for p in dict.fromkeys(_PLACEHOLDER.findall(text)) if p not in allowed]
        if unknown:
            said = ", ".join("{" + p + "}" for p in allowed) or "none"
            problems.append((line, name, f"unknown placeholder {{{unknown[0]}}} (this label's: {said})"))
    if not problems:
        problems += _landmarks(value, lines)
    return problems


def kept_labels(value: Mapping[str, Any]) -> tuple[tuple[str, Any], ...]:
    """A checked ``[labels]`` table (see `check_labels`) as `digest.config.Config.labels` keeps
    it: (key, text) pairs sorted by key, ``months`` as a tuple, and every text without
    bidirectional embeddings, overrides or isolates (a right-to-left override, U+202E, at the start
    of ``nav_home`` reversed what followed the link on every page, as one in a record's title did
    before its text was made plain)."""
    from digest.text import without_bidi_controls as kept

    return tuple(sorted((key, tuple(map(kept, text)) if isinstance(text, list) else kept(text))
                        for key, text in value.items()))


LANDMARKS = ("nav_label", "breadcrumb_label", "pagination_label", "nav_editions")
"""Labels that name the navigation landmarks of a page (the site's, the breadcrumb trail, a
listing's pager, an edition's links to other days): no two may be one name, or a screen
reader's list of landmarks offers two alike (axe: landmark-unique)."""


def _landmarks(value: Mapping[str, Any], lines: Mapping[str, int]) -> list[tuple[int | None, str, str]]:
    """A landmark's label given the name of another one, on its own line."""
    from digest.text import without_bidi_controls

    seen: dict[str, str] = {}
    problems = []
    for key in LANDMARKS:
        text = value.get(key, LABELS[key][0])
        name = " ".join(without_bidi_controls(text).split()).casefold()  # (as `kept_labels` keeps it)
        if name in seen and (key in value or seen[name] in value):
            given = key if key in value else seen[name]
            other = seen[name] if given == key else key
            problems.append((lines.get(given, lines.get("")), f"labels.{given}",
                             f"the same text as labels.{other} ({text!r}): two navigation landmarks of a "
                             f"page would have one name (screen readers list them by name)"))
        seen.setdefault(name, key)
    return problems


def _bad_text(text: Any) -> str | None:
    """What a label's text should have been, if it is not a non-empty one-line string."""
    from digest.text import visible, without_bidi_controls

    if not isinstance(text, str):
        return "a string"
    if _CONTROL.search(text):
        return "a string without control characters (no line breaks or tabs)"
    text = without_bidi_controls(text).strip()  # (dropped from what is kept: see `kept_labels`)
    if not text or not visible(text):
        return "a non-empty string that shows something"
    return None


def readme_table() -> str:
    """The README's table of labels (see the test that keeps it in step)."""
    rows = ["| key | English default | where it shows |", "|---|---|---|"]
    for key, (text, where) in LABELS.items():
        rows.append(f"| `{key}` | {_cell(text)} | {where} |")
    rows.append(f"| `months` | {_cell(', '.join(MONTHS))} (a list of 12) | every date and archive month |")
    return "\n".join(rows)


def _cell(text: str) -> str:
    return "`" + text.replace("|", "\\|") + "`"
