"""Hostile input, second sweep: defects found by building sites from odd records through the CLI.

Each test is a defect once found (see tests/test_hostile.py for the first sweep).
"""

from __future__ import annotations

from digest.load import load_content

from .conftest import record

# --------------------------------------------------------------------------- duplicates


def test_one_story_in_different_spellings_of_its_web_url_is_kept_once(make_site):
    # `webUrl` is the story's identity: scheme, host case, `//` and a fragment do not change it.
    spellings = ["https://news.example.com/same", "http://News.Example.com/same#top", "//news.example.com/same"]
    site = make_site({f"content/{n}.md": record(f"Copy {n}", webUrl=f'"{url}"')
                      for n, url in enumerate(spellings)})
    loaded = load_content(site, site / "content")
    assert [a.source for a in loaded.articles] == ["content/0.md"]
    assert [str(p) for p in loaded.problems] == [
        f"content/{n}.md: warning: webUrl: same story as content/0.md; this copy is skipped" for n in (1, 2)]
