"""README claims checked against what the program does (each a mismatch found in an audit)."""

from __future__ import annotations

import pytest

from digest.build import build
from digest.load import parse_record
from tests.conftest import record


def require_pagefind() -> None:
    from digest.search import pagefind_executable

    if pagefind_executable() is None:
        pytest.skip("Pagefind is not installed")


def test_search_false_removes_the_index_a_former_build_made(make_site):
    # README: "files a previous build made that are no longer produced are removed"; with
    # `search = false` the site has no search page, and its former Pagefind index went with it.
    require_pagefind()
    site = make_site({"content/a.md": record("A story")})
    build(site, jobs=1)
    assert (site / "build" / "pagefind" / "pagefind.js").is_file()
    (site / "digest.toml").write_text("search = false\n", encoding="utf-8")
    build(site, jobs=1)
    assert not (site / "build" / "search").exists()
    assert not (site / "build" / "pagefind").exists()


def test_a_build_without_pagefind_removes_the_index_a_former_build_made(make_site, monkeypatch):
    # README: "Without Pagefind the build says `search index skipped: ...` and succeeds, and the
    # site has no search page": nor the index of a build made while Pagefind was installed.
    require_pagefind()
    site = make_site({"content/a.md": record("A story")})
    build(site, jobs=1)
    assert (site / "build" / "pagefind" / "pagefind.js").is_file()
    monkeypatch.setattr("digest.build.pagefind_executable", lambda: None)
    monkeypatch.setattr("digest.search.pagefind_executable", lambda: None)
    result = build(site, jobs=1)
    assert result.search.startswith("search index skipped: Pagefind is not installed")
    assert not (site / "build" / "search").exists()
    assert not (site / "build" / "pagefind").exists()


def _read(front: str):
    text = "---\ntitle: T\npublishedDateTime: 2026-01-01T00:00:00Z\n" + front + "\n---\n"
    return parse_record(text.encode(), "content/x.md")


def test_a_related_entrys_list_of_providers_warns_when_more_than_one(make_site):
    # README (provider): Bing's list "the first is used, with a warning when there are more; ...;
    # so is a `related` entry's".
    result = _read("related:\n  - {title: R, webUrl: 'https://r.example/1', provider: [{name: AP}, {name: B}]}")
    assert result.article.related[0].provider_name == "AP"
    assert [str(p) for p in result.problems] == [
        "content/x.md:5: warning: related[0].provider: 2 providers; the first is used"]


def test_a_related_entrys_provider_name_is_cut_at_200_characters(make_site):
    # README (provider): "a name or domain past 200 characters is cut, with a warning".
    result = _read("related:\n  - {title: R, webUrl: 'https://r.example/1', provider: {name: " + "a" * 250 + "}}")
    assert len(result.article.related[0].provider_name) == 200
    assert [str(p) for p in result.problems] == [
        "content/x.md:5: warning: related[0].provider.name: longer than 200 characters; cut"]


def test_hotlink_images_loads_every_uncached_https_image_of_an_article(make_site):
    # README: "its page shows the first as a hero and the others below the note";
    # "`hotlink_images = true` lets uncached `https` images load from their original host".
    # Only the first did: the others were left out of the page.
    images = ("\nimages:\n  - {url: 'https://cdn.example/one.jpg', width: 400, height: 300}"
              "\n  - {url: 'https://cdn.example/two.jpg', width: 400, height: 300}"
              "\n  - {url: 'http://cdn.example/plain.jpg', width: 400, height: 300}")
    site = make_site({"content/a.md": record("A story").removesuffix("---\n") + images.lstrip("\n") + "\n---\n",
                      "digest.toml": "hotlink_images = true\nsearch = false\n"})
    build(site, jobs=1)
    page = next((site / "build" / "2024").rglob("index.html")).read_text(encoding="utf-8")
    assert 'src="https://cdn.example/one.jpg"' in page
    assert 'src="https://cdn.example/two.jpg"' in page
    assert "plain.jpg" not in page  # (only https images are hot-linked)


def test_an_unusable_image_after_the_first_is_said_to_be_left_out_not_a_placeholder(make_site):
    # The warning said "shown as a placeholder" for every image; a placeholder stands in only for
    # the first (a card's picture, the article's hero): the others are left out of the page.
    images = ("images:\n  - {url: 'https://cdn.example/one.jpg', width: 400, height: 300, isCached: true}"
              "\n  - {url: 'https://cdn.example/two.jpg', width: 400, height: 300, isCached: true}")
    site = make_site({"content/a.md": record("A story").removesuffix("---\n") + images + "\n---\n",
                      "digest.toml": "search = false\n"})
    result = build(site, jobs=1)
    messages = sorted(str(p).rsplit("; ", 1)[-1] for p in result.problems)
    assert messages == ["left out of the page", "shown as a placeholder"]
    page = next((site / "build" / "2024").rglob("index.html")).read_text(encoding="utf-8")
    assert page.count("placeholder") == 1
