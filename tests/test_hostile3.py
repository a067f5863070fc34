"""Hostile input, third sweep: defects found by building sites from odd records through the CLI.

Each test is a defect once found (see tests/test_hostile.py and tests/test_hostile2.py for the
first two sweeps).
"""

from __future__ import annotations

from digest.load import parse_record

from .conftest import record


def article(text: str):
    result = parse_record(text.encode("utf-8"), "content/x.md")
    assert result.article is not None, [str(p) for p in result.problems]
    return result.article, [str(p) for p in result.problems]


# --------------------------------------------------------------------------- YAML types


def test_unquoted_text_that_yaml_types_keeps_its_spelling_in_names_and_topics():
    # YAML 1.1 reads NO (Norway) and yes as booleans, 010 as 8, 1.10 as 1.1, 12:30 as 750 and
    # 2024-01-01 as a date: a boolean title or topic skipped the record, numbers were mangled.
    a, problems = article("---\ntitle: NO\npublishedDateTime: 2024-01-01T00:00:00Z\n"
                          "topics: [NO, SE, yes, 1.10, 010, 12:30, 2024-01-01, 1e3]\n"
                          "excerpt: 0x1F\ncategory: 2024-01-01\nprovider: {name: Off, domain: off.example}\n"
                          "related: [{title: 2024, webUrl: 'https://r.example/1'}]\n---\n")
    assert problems == []
    assert a.title == "NO"
    assert a.topics == ("NO", "SE", "yes", "1.10", "010", "12:30", "2024-01-01", "1e3")
    assert (a.excerpt, a.category, a.provider.name) == ("0x1F", "2024-01-01", "Off")
    assert a.related[0].title == "2024"


def test_an_empty_topic_item_is_ignored_with_a_warning_and_the_record_builds():
    a, problems = article(record(topics="\n  - Politics\n  -\n  - Europe"))
    assert a.topics == ("Politics", "Europe")
    assert problems == ["content/x.md:6: warning: topics[1]: expected a string, got nothing (null); ignored"]
