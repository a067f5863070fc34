"""Left sweep 2: defects left by earlier sessions, each confirmed with a real build and pinned
here with small records written inline: a story's identity and dot segments, BCP 47 language
tags beyond language-script-region, the preview folders `digest serve` left behind, and tabs
or line breaks inside a cached image's URL."""

from __future__ import annotations

import json
import re

from digest.text import url_identity
from tests.conftest import record
from tests.test_scrape_sweep import _api, _build


def test_host_case_default_port_and_dot_segments_are_one_story():
    """``https://Example.COM/a``, ``https://example.com:443/a`` and ``https://example.com/x/../a``
    are the page a browser asks for as ``https://example.com/a``: the dot segments made two
    stories (two pages of one story; a curated entry in one spelling did not lead to the record
    in the other)."""
    same = ("https://example.com/a", "https://Example.COM/a", "https://example.com:443/a",
            "http://example.com:80/a", "https://example.com:0443/a", "https://example.com/x/../a",
            "https://example.com/./a", "https://example.com/x/y/../../a/", "https://example.com/x/%2E%2e/a",
            "https://example.com/../a", "HTTPS://EXAMPLE.COM./b/../a#top")
    assert {url_identity(url) for url in same} == {"https://example.com/a"}
    assert url_identity("https://example.com/a/b/..?q=../x") == "https://example.com/a?q=../x"  # (not in a query)
    for other in ("https://example.com/..a", "https://example.com/.well-known/a", "https://example.com:8443/a",
                  "https://example.com/a/..b"):
        assert url_identity(other) == other, other


def test_a_dot_segment_spelling_is_the_same_story_and_its_related_entry_links_home(make_site):
    built = _build(make_site, {
        "content/a.md": record("One", webUrl='"https://n.example/news/story"'),
        "content/b.md": record("Two", webUrl='"https://n.example/news/x/../story"'),
        "content/r.md": record("Review", webUrl='"https://n.example/r"', related=json.dumps(
            [{"title": "S", "webUrl": "https://N.example:443/news/./story"}])),
    })
    assert built.articles == 2
    assert [(p.path, p.field, "same story" in p.message) for p in built.problems] == [("content/b.md", "webUrl", True)]
    review = (built.out / _api(built, "Review")["url"].removeprefix("https://example.org/") / "index.html").read_text()
    assert re.search(r'href="/2024/01/02/one-[0-9a-f]+/"', review)
