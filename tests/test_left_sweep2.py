"""Left sweep 2: defects left by earlier sessions, each confirmed with a real build and pinned
here with small records written inline: a story's identity and dot segments, BCP 47 language
tags beyond language-script-region, the preview folders `digest serve` left behind, and tabs
or line breaks inside a cached image's URL."""

from __future__ import annotations

import hashlib
import json
import re

import pytest

from digest.build import build, check
from digest.config import parse_config
from digest.errors import ConfigError
from digest.serve import Preview
from digest.text import language_direction, url_identity
from tests.conftest import record
from tests.test_hostile2 import article
from tests.test_images import (
    article_html,
    cache_name,
    image_bytes,
    image_record,
    img_tags,
    thumbs,
    warnings_of,
)
from tests.test_scrape_sweep import _api, _build
from tests.test_serve import two_record_site
from tests.test_url_sweep import _page


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
    review = _page(built, _api(built, "Review"))
    assert re.search(r'href="/2024/01/02/one-[0-9a-f]+/"', review)


# --------------------------------------------------------------------------- language tags


@pytest.mark.parametrize(("given", "tag"), [
    ("zh-yue", "yue"), ("zh-yue-HK", "yue-HK"), ("zh-cmn-Hans-CN", "cmn-Hans-CN"), ("ar-aao", "aao"),
    ("de-CH-1996", "de-CH-1996"), ("sl-rozaj", "sl-rozaj"), ("sl-rozaj-biske", "sl-rozaj-biske"),
    ("de-1901", "de-1901"), ("en-US-u-ca-gregory", "en-US-u-ca-gregory"), ("en-x-house", "en-x-house"),
    ("en-u-nu-latn-t-it-x-a-b", "en-u-nu-latn-t-it-x-a-b"), ("i-klingon", "tlh"), ("en-GB-oed", "en-GB-oxendict"),
    ("zh-min-nan", "nan"), ("en_US", "en-US"), ("iw-IL", "he-IL"),
])
def test_extlang_variants_extensions_private_use_and_grandfathered_tags_are_language_tags(given, tag):
    """The site's ``language`` and a record's ``locale`` took language[-script][-region] only:
    ``de-CH-1996`` (Swiss German, 1996 spelling), ``sl-rozaj`` (Resian), ``en-US-u-ca-gregory``
    were config problems or ignored, well-formed and valid BCP 47 as they are. An extended
    language and a grandfathered tag are written in their preferred form (the HTML checker
    warns "deprecated" of ``zh-yue`` and ``i-klingon``)."""
    assert parse_config(f'language = "{given}"\n').language == tag
    a, problems = article(record(locale=f'"{given}"'))
    assert (a.locale, problems) == (tag, [])


@pytest.mark.parametrize("given", [
    "x-private", "i-default", "de-DE-1901-1901", "de-CH-abcde", "en-a-bbb", "en-u", "en-u-ca-u-nu", "en-x",
    "en-yue", "en-US-Latn", "en-US-GB", "en-u-ca-gregory-", "en-t-a", "en-é", "de-1996x1996",
])
def test_a_tag_of_a_right_shape_that_is_not_valid_is_still_refused_naming_its_field(given):
    """What the grammar or the registry refuses (private use alone names no language; a variant
    twice, one the registry lacks; an extension other than ``t`` and ``u``, one with nothing in
    it, one twice; an extended language after another language; subtags out of order) is still
    the field's problem, said so: the HTML checker says "Bad value" of each."""
    with pytest.raises(ConfigError) as caught:
        parse_config(f'language = "{given}"\n')
    assert [str(p) for p in caught.value.problems] == [
        f"digest.toml:1: language: expected a language tag such as en or pt-BR, got a string {given!r}"]
    a, problems = article(record(locale=f'"{given}"'))
    assert a.locale == "" and problems == [
        f"content/x.md:4: warning: locale: expected a language tag such as en-us, got {given!r}; ignored"]


@pytest.mark.parametrize(("tag", "direction"), [
    ("az-Arab", "rtl"), ("pa-Arab", "rtl"), ("ku-Arab", "rtl"), ("ku-Latn", "ltr"), ("ar-Latn", "ltr"),
    ("az", "ltr"), ("pa", "ltr"), ("ar-EG-u-nu-latn", "rtl"), ("ar-aao", "rtl"), ("zh-yue", "ltr"),
    ("ar-x-latn", "rtl"), ("ar-1994", "rtl"), ("az-Arab-IR-x-foo", "rtl"), ("sd-Deva", "ltr"), ("he-IL-x-ltr", "rtl"), ("i-klingon", "ltr"),
])
def test_a_script_subtag_decides_the_direction_and_the_rest_of_the_tag_does_not(tag, direction):
    """``az-Arab`` (Azerbaijani in Arabic script, as written in Iran) runs right to left, ``ku-Latn``
    left to right; an extension or private use subtag of four letters (``-x-latn``) is no script, nor
    is a variant of four digits (``ar-1994`` was left to right)."""
    assert language_direction(tag) == direction


def test_a_site_in_a_tag_with_a_script_and_extension_is_laid_out_by_its_script(make_site):
    built = _build(make_site, {"digest.toml": 'search = false\nbase_url = "https://example.org/"\n'
                                              'language = "az-Arab-IR-u-nu-arab"\n',
                               "content/a.md": record("One", locale='"sl-rozaj-biske"')})
    home = (built.out / "index.html").read_text()
    assert '<html lang="az-Arab-IR-u-nu-arab" dir="rtl">' in home
    assert 'lang="sl-rozaj-biske"' in (built.out / _api(built, "One")["url"].removeprefix("https://example.org/")
                                       / "index.html").read_text()


# --------------------------------------------------------------------------- a tab or line break in an image URL


def _image_site(make_site, url: str, cached_as: str | None):
    """A one-record site whose image entry has ``url`` (YAML-escaped here), its cache file named
    by the hash of ``cached_as`` (none when None)."""
    files: dict[str, str | bytes] = {"digest.toml": 'search = false\nbase_url = "https://example.org/"\n',
                                     "content/a.md": image_record(url=json.dumps(url)[1:-1])}
    if cached_as is not None:
        files[cache_name(cached_as, "jpg")] = image_bytes("JPEG")
    return make_site(files)


@pytest.mark.parametrize("url", ["https://img.example.com/a\tb.jpg", "https://img.example.com/wrapped/\nphoto.jpg",
                                 "https://img.example.com/c\r\nd.jpg", " https://img.example.com/e.jpg\n"])
def test_an_image_url_with_a_tab_or_line_break_inside_finds_its_cached_file(make_site, url):
    """A scraper's wrapped column put a line break inside an image URL: the image was ignored as
    "holds control characters, so it is no URL" although its cache file, named by the hash of
    the exact URL as the contract says, was there. A browser removes them from a URL, and
    `safe_url` did from every link already: the image is read, its file found by the exact URL."""
    site = _image_site(make_site, url, cached_as=url)
    result = build(site, jobs=1)
    assert warnings_of(result) == []
    assert len(img_tags(article_html(site))) == 1 and len(thumbs(site)) > 1
    (doc,) = [json.loads(p.read_text()) for p in (site / "build/api/articles").glob("*.json")]
    assert [image["url"] for image in doc["images"]] == [url.strip().replace("\t", "").replace("\r", "").replace("\n", "")]


def test_a_cached_file_named_by_the_url_as_a_browser_reads_it_is_found_too(make_site):
    """The tool that filled the cache fetched the URL a browser reads (no line break): its file,
    named by that URL's hash, is the image's when none is named by the exact URL's."""
    url = "https://img.example.com/wrapped/\nphoto.jpg"
    site = _image_site(make_site, url, cached_as=url.replace("\n", ""))
    assert warnings_of(build(site, jobs=1)) == []
    assert len(img_tags(article_html(site))) == 1


def test_a_missing_cached_file_of_such_a_url_is_one_warning_line_naming_both_names(make_site):
    url = "https://img.example.com/gone/\tx.jpg"
    site = _image_site(make_site, url, cached_as=None)
    exact, read = (hashlib.sha256(u.encode()).hexdigest() for u in (url, url.replace("\t", "")))
    for problems in (warnings_of(build(site, jobs=1)), [str(p) for p in check(site)[0]]):
        assert problems == [
            f"content/a.md:4: warning: images[0]: https://img.example.com/gone/\\tx.jpg: isCached is true but there is "
            f"no file content/images/{exact}.* (nor {read}.*, the hash of the URL as a browser reads it, its tabs "
            "and line breaks removed); shown as a placeholder"]


def test_other_control_characters_in_an_image_url_are_still_refused(make_site):
    a, problems = article(image_record(url="https://img.example.com/\\x1b[2Ja.jpg"))
    assert list(a.images) == []
    assert problems == ["content/x.md:4: warning: images[0].url: holds control characters, so it is no URL; image ignored"]
    a, problems = article(image_record(url="https://img.example.com/\\x9ba.jpg"))
    assert list(a.images) == [] and len(problems) == 1


# --------------------------------------------------------------------------- serve's spare preview folders


def _previews(site) -> list[str]:
    """The preview folders in the site's cache folder."""
    return sorted(p.name for p in (site / ".digest-cache").iterdir() if p.is_dir() and p.name.startswith("serve"))


def _keys_of(site, folder: str) -> list[str]:
    """The cache files of the output folder ``folder`` (by the key its ``folder-<key>`` note names)."""
    cache = site / ".digest-cache"
    target = str((cache / folder).resolve())
    keys = {p.name.removeprefix("folder-") for p in cache.glob("folder-*") if p.read_text() == target}
    return sorted(p.name for p in cache.iterdir() if any(key in p.name for key in keys))


def test_a_spare_preview_folder_goes_once_its_server_ended_and_never_while_it_runs(make_site):
    """Each ``digest serve`` started while another served the site built into a folder of its
    own (``serve-2``, ``serve-3``...), a whole site each, left for good when it ended. The next
    build removes one whose server ended (with its cache files and staging folder) and none a
    running server holds, not even before that server's first build; ``serve`` stays for the
    next server to build into incrementally."""
    site = two_record_site(make_site)
    first, second = Preview(site), Preview(site)
    try:
        assert (first.out.name, second.out.name) == ("serve", "serve-2")
        first.build_once()
        second.build_once()
        assert _keys_of(site, "serve-2")
        (site / ".digest-cache" / ".serve-2.digest-staging").mkdir()  # (a killed build's)
        build(site, jobs=1)
        assert _previews(site) == ["serve", "serve-2"]  # (both running)
        second.stop()
        build(site, jobs=1)
        assert _previews(site) == ["serve"]
        assert _keys_of(site, "serve-2") == [] and (site / ".digest-cache" / "serve-2.lock").is_file()
        third = Preview(site)  # (the first free folder: serve-2, made anew; held from the start)
        try:
            assert third.out.name == "serve-2"
            third.out.mkdir()
            (third.out / "index.html").write_text("kept")
            build(site, jobs=1)
            assert (third.out / "index.html").read_text() == "kept"
        finally:
            third.stop()
    finally:
        first.stop()
        second.stop()
    build(site, jobs=1)
    assert _previews(site) == ["serve"]


def test_a_server_starting_removes_the_spare_preview_folders_of_servers_that_ended(make_site):
    site = two_record_site(make_site)
    servers = [Preview(site) for _ in range(3)]
    try:
        for preview in servers:
            preview.build_once()
        assert _previews(site) == ["serve", "serve-2", "serve-3"]
        servers[1].stop()
        servers[2].stop()
        servers.append(Preview(site))  # (takes serve-2 again; serve-3 goes)
        assert servers[-1].out.name == "serve-2"
        assert _previews(site) == ["serve", "serve-2"]
    finally:
        for preview in servers:
            preview.stop()


@pytest.mark.parametrize(("language", "og"), [("zh-Hant-TW", "zh_TW"), ("de-CH-1996", "de_CH"), ("en-us", "en_US"),
                                              ("az-Arab", "az"), ("es-419", "es"), ("en-x-ab", "en")])
def test_the_open_graph_locale_passes_over_a_script_to_the_region(make_site, language, og):
    """``og:locale`` of a site in ``zh-Hant-TW`` was ``zh``: the script stood where the region was looked for."""
    built = _build(make_site, {"digest.toml": f'search = false\nbase_url = "https://example.org/"\nlanguage = "{language}"\n',
                               "content/a.md": record("One")})
    assert f'<meta property="og:locale" content="{og}">' in (built.out / "index.html").read_text()
