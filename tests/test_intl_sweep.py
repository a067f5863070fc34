"""A sweep with news records in many scripts (Arabic, Hebrew, CJK, Devanagari, Thai, Cyrillic,
Turkish, German, Vietnamese, emoji), each defect a fix with its test: text of unknown direction
inserted beside other text is isolated, a card's language marks its own text, text is cut
between grapheme clusters, indexes are ordered as readers look names up, a page's ``<title>``
isolates a headline written against the page's direction."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import pytest

from digest.build import build
from digest.display import cluster_floor, cut, isolate, sort_key
from tests.conftest import record

FAMILY = "\U0001F468\u200d\U0001F469\u200d\U0001F467\u200d\U0001F466"
"""👨‍👩‍👧‍👦: seven code points, one grapheme cluster."""


def built(make_site, files: dict[str, str], config: str = "search = false\n") -> Path:
    site = make_site({**files, "digest.toml": config})
    build(site, jobs=1)
    return site / "build"


def arabic_site(make_site, config: str = "search = false\n") -> Path:
    return built(make_site, {
        "content/ar.md": record("السلطات المصرية تحجب ٢٥ موقعًا إخباريًا (تقرير)", locale="ar-EG",
                                excerpt='"حجبت السلطات ٢٥ موقعا."', topics='["غزة", "Press Freedom"]',
                                provider='{name: "الجزيرة", domain: aljazeera.net}',
                                webUrl='"https://www.aljazeera.net/news/1"'),
        "content/ar2.md": record("مقتل صحفي في غزة", when="2024-01-01T10:00:00Z", locale="ar",
                                 topics='["غزة"]', provider='{name: "الجزيرة", domain: aljazeera.net}',
                                 webUrl='"https://www.aljazeera.net/news/2"'),
        "content/en.md": record("An English story", when="2024-01-01T09:00:00Z", topics='["Press Freedom"]',
                                provider='{name: Reuters, domain: reuters.com}'),
    }, config)


def article_page(out: Path, word: str) -> str:
    return next(text for p in out.glob("2024/*/*/*/index.html") if word in (text := p.read_text("utf-8")))


# --------------------------------------------------------------------------- direction


def test_a_source_or_topic_name_beside_other_text_is_isolated(make_site):
    """``<a>الجزيرة</a> · 2 January 2024``: the Arabic name ran into the date (its ``2`` became an
    Arabic number, the dot between them right-to-left), shown as ``2 · الجزيرة January 2024``;
    an Arabic topic beside its count on the index of topics, ``غزة 2``, as ``2 غزة``. Every name
    inserted beside other text is isolated now (``dir="auto"`` or ``<bdi>``)."""
    out = arabic_site(make_site)
    home = (out / "index.html").read_text("utf-8")
    assert '<a href="/sources/aljazeera-net/" dir="auto">الجزيرة</a> · ' in home
    assert '<a href="/topics/ghzh/" dir="auto">غزة</a>' in home
    page = article_page(out, "تحجب")
    assert 'data-pagefind-filter="source" dir="auto">الجزيرة</a>' in page
    assert "Read the full story at <bdi>الجزيرة</bdi>" in page
    assert re.search(r'<span class="meta"><bdi>الجزيرة</bdi> · <time', page)  # "More like this"
    assert '<li><a href="/topics/ghzh/" data-pagefind-filter="topic" dir="auto">غزة</a></li>' in page
    terms = (out / "topics" / "index.html").read_text("utf-8")
    assert '<a href="/topics/ghzh/" dir="auto">غزة</a> <span class="count">2</span>' in terms
    topic = (out / "topics" / "ghzh" / "index.html").read_text("utf-8")
    assert '<h1 class="page-title" dir="auto">غزة</h1>' in topic
    editions = (out / "editions" / "index.html").read_text("utf-8")
    assert "lead: <bdi>" in editions


def test_a_cards_language_marks_its_title_and_excerpt_not_the_sites_words(make_site):
    """``<article class="card" lang="ar-EG">`` put the site's own words, the date ``2 January
    2024``, ``Draft``, ``Video``, the names of topics in any language, in Arabic for a screen
    reader (which read them with an Arabic voice): the card's title and excerpt carry the
    record's ``locale`` now, as on the article's page."""
    out = arabic_site(make_site)
    home = (out / "index.html").read_text("utf-8")
    assert '<article class="card">' in home and "<article class=\"card\" lang" not in home
    assert '<h3 class="card-title" lang="ar-EG" dir="auto">' in home
    assert '<p class="excerpt" lang="ar-EG" dir="auto">' in home


@pytest.mark.parametrize(("language", "title", "isolated"), [
    ("en", "السلطات المصرية تحجب ٢٥ موقعًا إخباريًا (تقرير)", True),
    ("en", "Tokyo 東京 2026: «liberté» (Ü/ß)", False),
    ("ar", "Journalists detained (report)", True),
    ("ar", "مقتل صحفي في غزة", False),
])
def test_a_headline_written_against_the_pages_direction_is_isolated_in_its_title(make_site, language, title,
                                                                                 isolated):
    """``<title>السلطات ... (تقرير) · Monitor</title>``: a tab title takes no markup, and the
    headline's closing bracket, between its Arabic and the site's English name, ran left to right:
    ``)تقرير( ...``. Such a headline is put between FIRST STRONG ISOLATE and POP DIRECTIONAL
    ISOLATE; one written in the page's direction is left as it is."""
    out = built(make_site, {"content/a.md": record(title)}, f'search = false\ntitle = "Monitor"\nlanguage = "{language}"\n')
    page = next(out.glob("2024/*/*/*/index.html")).read_text("utf-8")
    shown = f"\u2068{title}\u2069" if isolated else title
    assert f"<title>{shown} · Monitor</title>" in page
    assert f'<meta property="og:title" content="{title}">' in page  # (a tag of its own: as it is)


def test_isolate_looks_at_strong_letters_only():
    assert isolate("2026 · 100%", "ltr") == "2026 · 100%"
    assert isolate("Résumé", "rtl") == "\u2068Résumé\u2069"
    assert isolate("עיתונאי נעצר", "ltr") == "\u2068עיתונאי נעצר\u2069"


# --------------------------------------------------------------------------- cutting


@pytest.mark.parametrize(("text", "length", "expected"), [
    (FAMILY * 3, 10, FAMILY + "…"),                    # not 👨‍👩‍ (a man, a woman and a joiner)
    ("🇺🇦🇵🇸🇮🇱", 4, "🇺🇦…"),                               # not 🇺🇦🇵 (half a flag)
    ("ab 🇺🇦🇵🇸", 6, "ab 🇺🇦…"),                            # nor 🇦🇵 (pairs count from the run's start)
    ("x क्षेत्रीय", 5, "x…"),                            # not क् (a dangling virama)
    (unicodedata.normalize("NFD", "Việt Nam"), 5, unicodedata.normalize("NFD", "Vi") + "…"),
    ("👩🏽‍💻👩🏽‍💻", 3, "…"),                                  # no skin tone alone, no half a sequence
    ("ผู้สื่อข่าว", 4, "ผู้…"),                              # Thai letter with its marks above and below
    ("short", 10, "short"),
])
def test_cut_ends_between_grapheme_clusters(text, length, expected):
    assert cut(text, length) == expected
    assert len(expected) <= max(length, len(text) if text == expected else 0)


def test_cut_keeps_whole_words_when_asked_and_there_are_some():
    assert cut("The quick brown fox jumps", 16, "…", whole_words=True) == "The quick brown…"
    assert cut("Tokyo 東京記者無國界組織發布新聞自由指數", 12, "…", whole_words=True) == "Tokyo 東京記者無…"


def test_a_cards_excerpt_and_a_cut_title_end_between_grapheme_clusters(make_site):
    """A card's excerpt is cut at 320 characters by the template's ``truncate``, which cut at a
    code point: ``👨‍👩‍…`` (a family broken into a man, a woman and a dangling joiner); the
    loader cut a title past 1,000 characters the same way. Both cut between clusters now."""
    out = built(make_site, {"content/a.md": record(FAMILY * 300, excerpt=f'"{FAMILY * 200}"')})
    home = (out / "index.html").read_text("utf-8")
    excerpt = re.search(r'<p class="excerpt" dir="auto">([^<]*)</p>', home).group(1)
    assert excerpt.endswith(FAMILY + "…") and len(excerpt) <= 320
    title = re.search(r'<h3 class="card-title" dir="auto"><a [^>]*>([^<]*)</a>', home).group(1)
    assert title.endswith(FAMILY + "…") and len(title) <= 1000
    assert cluster_floor(title, len(title) - 1) == len(title) - 1


# --------------------------------------------------------------------------- order


def test_indexes_order_names_as_readers_look_them_up(make_site):
    """The index of topics (and of sources, the OPML file, the API's index) sorted names by code
    point: ``Élections`` and ``Ärzte`` came after ``Zimbabwe``, ``«Liberté»`` after every letter.
    Accents, case, width and leading punctuation no longer decide."""
    names = ["Zimbabwe", "Élections", "Ärzte", "«Liberté»", "Berlin", "ıstanbul", "İzmir"]
    out = built(make_site, {f"content/{n}.md": record(f"Story {n}", topics=f'["{name}"]',
                                                        provider=f'{{name: "{name}", domain: s{n}.example}}')
                            for n, name in enumerate(names)})
    expected = ["Ärzte", "Berlin", "Élections", "ıstanbul", "İzmir", "«Liberté»", "Zimbabwe"]
    for index in ("topics", "sources"):
        page = (out / index / "index.html").read_text("utf-8")
        shown = re.findall(r'<li><a href="[^"]*" dir="auto">([^<]*)</a>', page)
        assert shown == expected, index
    opml = (out / "feeds.opml").read_text("utf-8")
    assert opml.index("Ärzte") < opml.index("Berlin") < opml.index("Élections") < opml.index("Zimbabwe")


def test_sort_key_folds_accents_case_and_sharp_s():
    assert sort_key("Straße")[0] == sort_key("STRASSE")[0] == "strasse"
    assert sort_key("Ärger") < sort_key("Bahn") < sort_key("Öl") < sort_key("Zug")
    assert sort_key("🏳️‍🌈 Pride") < sort_key("Rainbow")


# --------------------------------------------------------------------------- feeds


def test_a_feed_entry_says_the_language_of_its_title_and_summary(make_site):
    """Feeds said only the site's language (``xml:lang="en"``, ``"language": "en"``): an Arabic
    headline in them was English to a reader's voice and hyphenation. Atom's entry title and
    summary carry the record's ``locale`` (``xml:lang``), a JSON Feed item its ``language``; an
    entry without one is in the feed's."""
    import json

    out = arabic_site(make_site)
    atom = (out / "atom.xml").read_text("utf-8")
    assert '<title type="text" xml:lang="ar-EG">السلطات' in atom
    assert '<summary type="text" xml:lang="ar-EG">حجبت' in atom
    assert '<title type="text">An English story</title>' in atom
    items = {item["title"]: item for item in json.loads((out / "feed.json").read_text("utf-8"))["items"]}
    assert items["مقتل صحفي في غزة"]["language"] == "ar"
    assert "language" not in items["An English story"]


# --------------------------------------------------------------------------- search


def test_search_results_and_filters_isolate_text_of_the_other_direction(tmp_path):
    """The search page's script made results and filter options without a direction: an Arabic
    result title or excerpt was laid out left to right, and the option ``غزة (2)`` showed as
    ``(2) غزة``. Results take their direction from their text (``dir="auto"``); an option's
    name written against the page's direction is isolated (U+2068 ... U+2069)."""
    search_browser = pytest.importorskip("tests.test_search_browser")  # (skipped without a browser)
    files = {
        "ar.md": search_browser.rec("مقتل صحفي في غزة", "2024-03-01T10:00:00Z", "ar", locale="ar",
                                    topics='["غزة"]', excerpt='"قتل صحفي في غزة."'),
        "ar2.md": search_browser.rec("غزة: صحفيون تحت النار", "2024-03-02T10:00:00Z", "ar2", topics='["غزة"]'),
        "en.md": search_browser.rec("Gaza journalists", "2024-03-03T10:00:00Z", "en", topics='["Gaza"]'),
    }
    with search_browser.serving(tmp_path, files, "search = true\n") as url, \
            search_browser.playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=search_browser.CHROMIUM, args=search_browser.ARGS)
        try:
            context, page, _ = search_browser.open_search(browser, url + "search/?q=غزة")
            page.wait_for_selector("#search-results li", timeout=15000)
            assert page.locator("#search-results h2 a").first.get_attribute("dir") == "auto"
            assert page.locator("#search-results p").last.get_attribute("dir") == "auto"
            options = page.locator("#search-topic option").all_inner_texts()
            assert "\u2068غزة\u2069 (2)" in options and "Gaza (1)" in options
            context.close()
        finally:
            browser.close()
