"""Leftover defects, each a fix with its test: an output folder in a repository's own
database (``.git``), a default port in ``base_url``, language subtags beyond ISO 639-1/2, and
``digest publish --no-build`` of an output folder that is out of date or holds no build."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from digest.build import build
from digest.cli import main
from digest.config import parse_config
from digest.errors import ConfigError
from tests.conftest import record


def bad(text: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_config(text)
    return [str(p) for p in caught.value.problems]


def small_site(make_site, **files: str) -> Path:
    return make_site({"content/a.md": record("Alpha story", webUrl='"https://news.example/a"'),
                      "digest.toml": "search = false\n", **files})


# --------------------------------------------------------------------------- output in .git


@pytest.mark.parametrize("written, named", [(".git", ".git"), (".hg", ".hg"), (".svn", ".svn"),
                                            ("public/.git/x", ".git"), (".GIT", ".GIT"),
                                            ("./.git/", ".git")])
def test_an_output_folder_in_a_repositorys_database_is_a_config_problem(written, named):
    # `output_dir = ".git"` was accepted: the build wrote its pages into the repository's own
    # database (and pruned there what it had written before).
    assert bad(f'search = false\noutput_dir = "{written}"\n') == [
        f"digest.toml:2: output_dir: expected a folder outside {named}/, the database of a version-control "
        f"repository (a build would fill it with pages and prune it), such as build or public, "
        f"got a string {written!r}"]


def test_a_folder_merely_named_like_one_is_an_output_folder():
    assert parse_config('output_dir = ".gitx"\n').output_dir == ".gitx"
    assert parse_config('output_dir = "site.git"\n').output_dir == "site.git"


@pytest.mark.parametrize("inside", [".git", ".git/pages", ".hg", ".svn/x"])
def test_build_o_into_a_repositorys_database_is_refused(make_site, capsys, inside):
    site = small_site(make_site)
    database = site / inside.split("/")[0]
    database.mkdir()
    (database / "HEAD").write_text("ref: refs/heads/main\n")
    assert main(["build", str(site), "-o", str(site / inside), "-j", "1"]) == 1
    err = capsys.readouterr().err
    assert err == (f"digest: error: refusing to build into {(site / inside).resolve()}: it is in "
                   f"{database.resolve()}, the database of a version-control repository, which a build "
                   "would fill with pages and prune; choose another folder (such as build or public)\n")
    assert sorted(p.name for p in database.iterdir()) == ["HEAD"]


def test_build_o_into_another_repositorys_database_is_refused(make_site, tmp_path, capsys):
    site = small_site(make_site)
    assert main(["build", str(site), "-o", str(tmp_path / "elsewhere" / ".git" / "www"), "-j", "1"]) == 1
    assert "the database of a version-control repository" in capsys.readouterr().err
    assert not (tmp_path / "elsewhere").exists()


def test_serve_and_publish_with_an_output_folder_in_git_report_the_key(make_site, tmp_path, capsys):
    from digest.serve import Preview

    site = small_site(make_site, **{"digest.toml": 'search = false\noutput_dir = ".git"\n'})
    expected = "digest.toml:2: output_dir: expected a folder outside .git/"
    outcome = Preview(site, jobs=1, log=lambda line: None).build_once()
    assert not outcome.ok and str(outcome.problems[0]).startswith(expected)
    for extra in ([], ["--no-build"]):
        assert main(["publish", str(site), "--to", (tmp_path / "www").as_uri(), *extra]) == 1
        assert capsys.readouterr().err.startswith(expected)
    assert not (site / ".git").exists() and not (tmp_path / "www").exists()


# --------------------------------------------------------------------------- base_url port


@pytest.mark.parametrize("given, url", [
    ("https://example.org:443/", "https://example.org/"),
    ("http://example.org:80/news/", "http://example.org/news/"),
    ("HTTPS://Example.org:443", "https://example.org/"),
    ("https://[::1]:443/", "https://[::1]/"),
    ("https://example.org:8443/", "https://example.org:8443/"),
    ("http://example.org:443/", "http://example.org:443/"),
    ("https://example.org:80/", "https://example.org:80/"),
])
def test_a_default_port_in_base_url_is_left_out(given, url):
    assert parse_config(f'base_url = "{given}"\n').base_url == url


def test_no_link_feed_or_sitemap_keeps_a_default_port(make_site):
    # `base_url = "https://example.org:443/"` kept `:443` in every canonical link, feed and
    # sitemap URL and the JSON API.
    site = small_site(make_site, **{"digest.toml": 'search = false\nbase_url = "https://example.org:443/news/"\n'})
    out = build(site, jobs=1).out
    texts = {p: p.read_text("utf-8") for p in out.rglob("*") if p.suffix in (".html", ".xml", ".json", ".txt",
                                                                            ".opml")}
    assert texts and not [p for p, text in texts.items() if ":443" in text]
    assert "<loc>https://example.org/news/" in texts[out / "sitemap.xml"]
    assert json.loads(texts[out / "feed.json"])["home_page_url"] == "https://example.org/news/"


# --------------------------------------------------------------------------- language subtags


@pytest.mark.parametrize("given, tag", [("yue", "yue"), ("arz", "arz"), ("pnb", "pnb"), ("cmn", "cmn"),
                                        ("yue-Hant-HK", "yue-Hant-HK"), ("ckb_IQ", "ckb-IQ"), ("fil", "fil"),
                                        ("iw", "he"), ("iw-IL", "he-IL"), ("in", "id"), ("ji", "yi"),
                                        ("en", "en"), ("pt-BR", "pt-BR")])
def test_every_language_of_the_iana_registry_is_a_site_language(given, tag):
    # The README says BCP 47, but only ISO 639-1 and 639-2 codes were accepted: Cantonese
    # (`yue`), Egyptian Arabic (`arz`), Western Panjabi (`pnb`) and Mandarin (`cmn`), ISO
    # 639-3 codes, were config problems. A deprecated subtag is written as the registry
    # prefers (the HTML checker refuses `iw`).
    assert parse_config(f'language = "{given}"\n').language == tag


@pytest.mark.parametrize("given", ["eng", "zz", "qaa", "english", "yue-zz", "i-klingon"])
def test_a_code_the_registry_does_not_list_is_still_a_config_problem(given):
    assert bad(f'language = "{given}"\n') == [
        f"digest.toml:1: language: expected a language tag such as en or pt-BR, got a string {given!r}"]


@pytest.mark.parametrize("given, tag", [("yue-HK", "yue-HK"), ("arz", "arz"), ("cmn-Hans-CN", "cmn-Hans-CN"),
                                        ("iw", "he"), ("ji", "yi")])
def test_a_records_locale_takes_every_language_of_the_registry(given, tag):
    from digest.load import parse_record

    result = parse_record(record(locale=f'"{given}"').encode(), "content/x.md")
    assert result.article.locale == tag and [str(p) for p in result.problems] == []


@pytest.mark.parametrize("tag", ["arz", "pnb", "ckb", "skr", "ary", "ydd", "prs", "iw", "ji", "arz-EG",
                                 "ar", "he", "fa", "ur", "yi", "ps", "sd", "ug", "dv", "ks", "syr", "nqo"])
def test_languages_in_a_right_to_left_script_make_right_to_left_pages(tag):
    from digest.text import language_direction

    assert language_direction(tag) == "rtl"


@pytest.mark.parametrize("tag", ["en", "yue", "cmn", "pa", "ku", "az", "ms", "uz", "ug-Cyrl", "arz-Latn"])
def test_other_languages_stay_left_to_right(tag):
    from digest.text import language_direction

    assert language_direction(tag) == "ltr"


def test_a_site_in_egyptian_arabic_is_laid_out_right_to_left(make_site):
    site = small_site(make_site, **{"digest.toml": 'search = false\nlanguage = "arz"\n'})
    out = build(site, jobs=1).out
    assert re.search(r'<html lang="arz" dir="rtl"', (out / "index.html").read_text("utf-8"))


def test_the_registry_ships_as_generated_data_read_on_first_use():
    import subprocess
    import sys

    from digest import subtags

    repo = Path(__file__).resolve().parent.parent
    assert "generated by scripts/make_language_subtags.py" in subtags.__doc__
    assert (repo / "scripts" / "make_language_subtags.py").is_file()
    languages = set(subtags.LANGUAGES.split())
    preferred = dict(pair.split("=") for pair in subtags.PREFERRED.split())
    assert len(languages) > 7000 and {"yue", "arz", "pnb", "cmn", "en", "fil"} <= languages
    assert set(preferred.values()) <= languages and not set(preferred) & languages
    assert set(subtags.RIGHT_TO_LEFT.split()) <= languages
    # `import digest.text` (every command) does without the 8,000 subtags until a tag is read.
    code = ("import sys, digest.text; assert 'digest.subtags' not in sys.modules; "
            "digest.text.language_tag('en'); assert 'digest.subtags' in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True, env={"PYTHONPATH": str(repo)})
