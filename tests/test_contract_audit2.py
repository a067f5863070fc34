"""Hostile input against DESIGN.md's contracts, second round (see tests/test_contract_audit.py
for the first): each test is a broken promise found, fixed, and kept fixed."""

from __future__ import annotations

import pytest

from digest.build import build
from digest.load import parse_record
from tests.test_contract_audit import HEAD, everything

SECRET = "QUFBQUFBQUFBQUFBQUFBQUFBQUFB;aXZpdml2"


def problems(text: str, source: str = "content/x.md") -> list[str]:
    return [str(p) for p in parse_record(text.encode(), source).problems]


# --------------------------------------------------------------------------- secured


@pytest.mark.parametrize("raw", [
    HEAD.format(name="a") + f"secured: {SECRET}\nsecured: other\nexcerpt: {SECRET}\n---\n",
    HEAD.format(name="b") + f"related:\n  - title: r\n    webUrl: https://r.example/\n    secured: {SECRET}\n"
    f"    secured: other\n    excerpt: {SECRET}\n---\n",
    '{"title": "c", "publishedDateTime": "2024-01-02T10:00:00Z", "webUrl": "https://n.example/c", '
    f'"secured": "{SECRET}", "secured": "other", "excerpt": "{SECRET}"}}\n',
    # what the fast reader leaves to PyYAML: a merge key, a !!set, an impossible date
    *(HEAD.format(name=name) + extra + f"secured: {SECRET}\nsecured: other\nexcerpt: {SECRET}\n---\n"
      for name, extra in (("d", "base: &b {x: 1}\nmerged: {<<: *b, y: 2}\n"), ("e", "odd: !!set {a, b}\n"),
                          ("f", "when: 2024-13-45\n"))),
])
def test_a_secured_value_given_twice_is_a_secret_both_times(make_site, raw):
    # YAML and JSON keep the last value of a key given twice: copies of the first secret were
    # not looked for, and the excerpt holding one was published.
    site = make_site({"content/a.md": raw, "digest.toml": "search = false\n"})
    result = build(site, jobs=1)
    assert SECRET.encode() not in everything(site / "build")
    assert any("excerpt: holds the secured value; dropped" in str(p) for p in result.problems)
    assert result.articles == 1


# --------------------------------------------------------------------------- topics


@pytest.mark.parametrize("item", ['""', "'   '", '"\\u00ad"'])
def test_an_empty_topic_is_ignored_with_a_warning(item):
    # (README: "an empty item is ignored, with a warning"; it was ignored silently)
    raw = HEAD.format(name="t") + f"topics: [Kept, {item}]\n---\n"
    assert problems(raw) == ["content/x.md:5: warning: topics[1]: an empty string; ignored"]
    assert parse_record(raw.encode(), "content/x.md").article.topics == ("Kept",)


@pytest.mark.parametrize("spellings", [
    ("İstanbul", "Istanbul", "ISTANBUL"),  # (case folding made İ an i with a combining dot)
    ("AI", "AI\u200b", "\u200dAI", "A\u2060I"),  # (zero-width characters a web page copy carries)
    ("❤️ Health", "❤ Health"),  # (a variation selector)
])
def test_spellings_that_differ_only_in_case_or_invisible_characters_are_one_topic(make_site, spellings):
    files = {"digest.toml": "search = false\n"}
    for index, spelling in enumerate(spellings):
        files[f"content/r{index}.md"] = HEAD.format(name=f"r{index}") + f'topics: ["{spelling}"]\n---\n'
    site = make_site(files)
    result = build(site, jobs=1)
    assert [str(p) for p in result.problems] == []
    pages = [p for p in (site / "build" / "topics").iterdir() if p.is_dir()]
    assert len(pages) == 1, pages


# --------------------------------------------------------------------------- provider


def test_a_provider_domain_that_is_no_host_name_is_ignored_with_a_warning(make_site):
    # `javascript:alert(1)` and `JaVaScRiPt:x//y.example` were one source, "javascript", with no warning
    site = make_site({"digest.toml": "search = false\n",
                      "content/a.md": HEAD.format(name="a") + "provider: {name: Evil, domain: 'javascript:alert(1)'}\n---\n",
                      "content/b.md": HEAD.format(name="b")
                      + "provider: {name: Other, domain: 'JaVaScRiPt:alert(1)//x.example'}\n---\n",
                      "content/c.md": HEAD.format(name="c") + "provider: {name: Third, domain: '../../etc'}\n---\n"})
    result = build(site, jobs=1)
    assert sorted(str(p) for p in result.problems) == [
        f"content/{name}.md:5: warning: provider.domain: not a host name such as reuters.com; ignored"
        for name in "abc"]
    assert sorted(p.name for p in (site / "build" / "sources").iterdir() if p.is_dir()) == ["evil", "other", "third"]


@pytest.mark.parametrize("domains", [
    ("bücher.example", "xn--bcher-kva.example", "WWW.Bücher.example."),
    ("bücher.рф", "xn--bcher-kva.xn--p1ai", "bücher.xn--p1ai"),
    ("reuters.com", "ｒｅｕｔｅｒｓ.com", "https://www.reuters.com:443/world"),
])
def test_one_domain_however_it_is_written_is_one_source(make_site, domains):
    files = {"digest.toml": "search = false\n"}
    for index, domain in enumerate(domains):
        files[f"content/r{index}.md"] = (HEAD.format(name=f"r{index}")
                                         + f"provider: {{name: Name{index}, domain: '{domain}'}}\n---\n")
    site = make_site(files)
    result = build(site, jobs=1)
    assert [str(p) for p in result.problems] == []
    assert len([p for p in (site / "build" / "sources").iterdir() if p.is_dir()]) == 1


def test_a_provider_name_or_domain_of_the_wrong_type_is_a_warning():
    assert problems(HEAD.format(name="p") + "provider: {name: [x], domain: 7}\n---\n") == [
        "content/x.md:5: warning: provider.name: expected a string, got a list; ignored",
        "content/x.md:5: warning: provider.domain: expected a string, got an integer; ignored",
        "content/x.md:5: warning: provider: has neither a name nor a domain; ignored"]


# --------------------------------------------------------------------------- related, webUrl


@pytest.mark.parametrize("written", ["https://n.example/pub/", "//n.example/pub/", "HTTP://N.example/pub/#top"])
def test_a_related_entry_naming_a_published_record_with_a_final_slash_links_to_its_page(make_site, written):
    # (only scheme, host case, `//host` and a fragment were ignored: `/pub/` linked to the source)
    site = make_site({"digest.toml": "search = false\n",
                      "content/pub.md": HEAD.format(name="pub").replace("title: pub", "title: Pubstory"),
                      "content/main.md": HEAD.format(name="main").replace("10:00", "11:00")
                      + f"related:\n  - title: Elsewhere\n    webUrl: '{written}'\n---\n"})
    site.joinpath("content/pub.md").write_text(site.joinpath("content/pub.md").read_text() + "---\n")
    result = build(site, jobs=1)
    assert [str(p) for p in result.problems] == []
    page = next((site / "build").rglob("main-*/index.html")).read_text(encoding="utf-8")
    pub = next((site / "build").rglob("pubstory-*/")).name
    assert f'href="/2024/01/02/{pub}/"' in page
    assert "Elsewhere" not in page  # (our page, shown by its own title)


def test_two_records_of_one_story_written_with_and_without_a_final_slash_are_one_story(make_site):
    site = make_site({"digest.toml": "search = false\n",
                      "content/a.md": HEAD.format(name="s") + "---\n",
                      "content/b.md": HEAD.format(name="s/") + "---\n"})
    result = build(site, jobs=1)
    assert [str(p) for p in result.problems] == [
        "content/b.md:4: warning: webUrl: same story as content/a.md; this copy is skipped"]
    assert result.articles == 1


def test_a_duplicate_story_warning_names_the_line_and_field_that_make_it_one(make_site):
    # (the warning named no line, and always `webUrl`, also for a record known by its originalUrl)
    site = make_site({"digest.toml": "search = false\n",
                      "content/a.md": HEAD.format(name="s") + "---\n",
                      "content/b.md": "---\r\ntitle: B\r\nexcerpt: x\r\npublishedDateTime: 2024-01-01\r\n"
                      "originalUrl: https://n.example/s\r\n---\r\n"})
    result = build(site, jobs=1)
    assert [str(p) for p in result.problems] == [
        "content/b.md:5: warning: originalUrl: same story as content/a.md; this copy is skipped"]


def test_a_related_entry_known_by_its_original_url_links_to_the_record_of_that_story(make_site):
    # A record without webUrl is known by its originalUrl, and so is a related entry without one:
    # the entry linked to the source instead of our page.
    site = make_site({"digest.toml": "search = false\n",
                      "content/pub.md": "---\ntitle: Pubstory\npublishedDateTime: 2024-01-01T10:00:00Z\n"
                      "webUrl: https://n.example/pub\n---\n",
                      "content/main.md": HEAD.format(name="main")
                      + "related:\n  - {title: Elsewhere, originalUrl: 'https://n.example/pub'}\n---\n"})
    result = build(site, jobs=1)
    assert [str(p) for p in result.problems] == []
    page = next((site / "build").rglob("main-*/index.html")).read_text(encoding="utf-8")
    assert 'href="/2024/01/01/pubstory-' in page and "Elsewhere" not in page


# --------------------------------------------------------------------------- the command line


def test_init_dot_in_a_new_empty_folder_makes_the_site_there(tmp_path, monkeypatch):
    # `mkdir news && cd news && digest init .` failed: "cannot create the site in .: Device or
    # resource busy" (the staging folder was made inside `.`, then renamed onto it)
    from digest.cli import main

    target = tmp_path / "news"
    target.mkdir()
    monkeypatch.chdir(target)
    assert main(["init", "."]) == 0
    assert sorted(p.name for p in target.iterdir()) == ["content", "digest.toml", "static", "templates"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["news"]  # (no staging folder left)
    assert main(["build", ".", "--strict", "-j", "1"]) == 0


@pytest.mark.parametrize("spelling", ["https://n.example:443/s", "http://n.example:80/s", "https://N.example./s"])
def test_a_default_port_or_a_final_dot_in_the_host_does_not_make_another_story(spelling):
    from digest.text import url_identity

    assert url_identity(spelling) == url_identity("https://n.example/s")
    assert url_identity("https://n.example:8443/s") != url_identity("https://n.example/s")


# --------------------------------------------------------------------------- published


@pytest.mark.parametrize("key", ["published\u200b", "\u2060Published", "\uff50\uff55\uff42\uff4c\uff49\uff53\uff48\uff45\uff44"])
def test_published_false_under_a_key_with_an_invisible_or_fullwidth_character_keeps_the_record_a_draft(key):
    # `Published: false` keeps a record a draft; with a zero-width character or in fullwidth
    # letters (as `secured` is recognised) the key was silently an extra field: the draft published
    result = parse_record((HEAD.format(name="d") + f'"{key}": false\n---\n').encode(), "content/x.md")
    assert result.article.is_published is False
    assert [p.severity for p in result.problems] == ["warning"]
    assert "read as published: false all the same" in str(result.problems[0])


# --------------------------------------------------------------------------- problem lines


@pytest.mark.parametrize(("raw", "line", "shown"), [
    (HEAD.format(name="c") + "excerpt: a\x01b\n---\n", 5, "\\x01"),
    ("\ufeff---\r\ntitle: x\x7f\r\npublishedDateTime: 2024-01-01\r\n---\r\n", 2, "\\x7f"),
    (HEAD.format(name="\u00e9t\u00e9") + 'excerpt: "\ufffe"\n---\n', 5, "\\ufffe"),  # (libyaml counts bytes)
])
def test_a_character_yaml_refuses_is_reported_at_its_line(raw, line, shown):
    # (no line, and the message ended `in "<unicode string>", position 87`)
    assert problems(raw) == [f"content/x.md:{line}: invalid YAML: unacceptable character {shown} (YAML allows no "
                             "control character or noncharacter in a file; write it escaped in double quotes, or remove it)"]


def test_a_field_given_twice_in_json_front_matter_is_a_warning_at_its_line():
    # (README: a field given twice is a warning; in JSON front matter the first was dropped silently)
    raw = ('{\n  "title": "A",\n  "title": "B",\n  "publishedDateTime": "2024-01-02T10:00:00Z",\n'
           '  "provider": {"name": "x", "name": "y"}\n}\n')
    assert problems(raw) == [
        "content/x.md:3: warning: title: given twice (first on line 2); the last one is used",
        "content/x.md:5: warning: provider.name: given twice (first on line 5); the last one is used"]


def test_a_newer_copy_of_a_story_below_min_quality_does_not_hide_the_older_one(make_site):
    # The newer copy won the story before `min_quality` left it out: the story vanished.
    def copy(quality: int, updated: str) -> str:
        return ("---\ntitle: Story\npublishedDateTime: 2024-01-02T10:00:00Z\n"
                f"updatedDateTime: {updated}\nwebUrl: https://n.example/s\nquality: {quality}\n---\n")

    site = make_site({"digest.toml": "search = false\nmin_quality = 50\n",
                      "content/a.md": copy(90, "2024-01-02T11:00:00Z"),
                      "content/b.md": copy(10, "2024-01-03T09:00:00Z")})
    result = build(site, jobs=1)
    assert [str(p) for p in result.problems] == [
        "content/b.md:5: warning: webUrl: same story as content/a.md; this copy is skipped"]
    assert result.articles == 1
    (site / "digest.toml").write_text("search = false\n")  # (both shown: the newer copy wins again)
    again = build(site, jobs=1)
    assert [str(p) for p in again.problems] == [
        "content/a.md:5: warning: webUrl: same story as content/b.md; this copy is skipped"]
    assert again.articles == 1
