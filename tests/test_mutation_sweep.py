"""Mutation sweep of real records: each field of real records (top level, provider, images,
related entries) replaced by values of every type, structural YAML oddities, cross-record
cases. Each test here is a defect the sweep found, with its fix.
"""

from __future__ import annotations

import pytest

from digest.load import parse_record

from .conftest import record


def problems(text: str) -> list[str]:
    return [str(p) for p in parse_record(text.encode(), "content/x.md").problems]


@pytest.mark.parametrize("value", ['""', '"   "'])
def test_a_blank_image_url_is_named_an_empty_string(value):
    """An image's empty or blank ``url`` was reported as "expected a URL string, got a string":
    a message that contradicts itself. It now says what was found, as `title` does."""
    text = record(images=f"\n  - url: {value}\n    width: 10\n    height: 10")
    assert problems(text) == ["content/x.md:5: warning: images[0].url: expected a URL string, got an empty string; "
                              "image ignored"]


@pytest.mark.parametrize("value", ['""', '"   "'])
def test_a_blank_related_web_url_is_named_an_empty_string(value):
    """A related entry's empty or blank ``webUrl`` (and no ``originalUrl``) was reported as
    "expected a URL string, got a string"."""
    text = record(related=f"\n  - title: Elsewhere\n    webUrl: {value}")
    assert problems(text) == ["content/x.md:6: warning: related[0].webUrl: expected a URL string, got an empty "
                              "string; entry ignored"]
