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


@pytest.mark.parametrize("given", ["eng", "zz", "qaa", "english", "yue-zz", "i-default"])
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


# --------------------------------------------------------------------------- publish --no-build


def publish_no_build(site: Path, www: Path, *extra: str) -> tuple[int, str, str]:
    import contextlib
    import io

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["publish", str(site), "--no-build", "--to", www.as_uri(), *extra])
    return code, out.getvalue(), err.getvalue()


def later(path: Path, text: str) -> None:
    """Rewrite ``path`` with a modification time clearly after the last build's."""
    import os
    import time

    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    when = time.time_ns() + 5 * 10**9
    os.utime(path, ns=(when, when))


def test_publish_no_build_of_an_up_to_date_build_says_nothing_more(make_site, tmp_path):
    site = small_site(make_site)
    build(site, jobs=1)
    code, out, err = publish_no_build(site, tmp_path / "www")
    assert (code, err) == (0, "") and (tmp_path / "www" / "index.html").is_file()


def test_publish_no_build_names_what_changed_since_the_last_build(make_site, tmp_path):
    # The output folder was published as it was, with no word that the site had changed since.
    site = small_site(make_site)
    build(site, jobs=1)
    later(site / "content" / "a.md", record("Alpha story, corrected", webUrl='"https://news.example/a"'))
    code, _, err = publish_no_build(site, tmp_path / "www", "--dry-run")
    assert code == 0
    assert err == ("build/: warning: the site changed since the last build into it (content/a.md); it is "
                   "published as that build left it: run digest build first, or publish without --no-build\n")
    (site / "content" / "a.md").unlink()
    code, _, err = publish_no_build(site, tmp_path / "www")
    assert code == 0 and "the site changed since the last build into it (a file was removed or moved, or digest itself changed)" in err
    assert "Alpha story" in (tmp_path / "www" / "index.html").read_text("utf-8")  # (sent as it was)
    build(site, jobs=1)
    assert publish_no_build(site, tmp_path / "www")[2] == ""


def test_publish_warns_before_it_sends_anything(make_site, tmp_path):
    """The warnings came after the upload, which with --no-build could be minutes of sending a
    folder older than the site: now they reach ``warn`` (the command prints them) before any file
    is sent, with --no-build and after a build alike."""
    from digest.publish import publish

    site = small_site(make_site, **{"content/b.md": record("Beta", webUrl='"https://news.example/b"',
                                                            quality='"high"')})
    build(site, jobs=1)
    later(site / "content" / "a.md", record("Alpha story, corrected", webUrl='"https://news.example/a"'))
    for built, www in ((False, tmp_path / "www1"), (True, tmp_path / "www2")):
        seen = []
        result = publish(site, www.as_uri(), build=built,
                         warn=lambda found, www=www, seen=seen: seen.append(([p.message for p in found], www.exists())))
        [(messages, sent)] = seen
        assert not sent and (www / "index.html").is_file()  # (told before the folder was made)
        wanted = "expected an integer, got the text" if built else "the site changed since the last build"
        assert any(wanted in m for m in messages), messages
        assert [p.message for p in (result.build.problems if built else result.problems)] == messages


def test_publish_no_build_after_a_failed_build_says_so(make_site, tmp_path):
    site = small_site(make_site)
    build(site, jobs=1)
    later(site / "templates" / "home.html", "{% if %}")
    assert main(["build", str(site), "-j", "1"]) == 1
    code, _, err = publish_no_build(site, tmp_path / "www")
    # (whether the failed build had begun to change the cache, and so removed the last build's
    # summary, decides which of the two it says)
    assert code == 0 and err in (
        "build/: warning: the last build into it failed or was stopped, or the site changed since; it is "
        "published as the last complete build left it: run digest build first, or publish without --no-build\n",
        "build/: warning: the site changed since the last build into it (templates/home.html); it is published "
        "as that build left it: run digest build first, or publish without --no-build\n")


@pytest.mark.parametrize("state", ["missing", "empty", "foreign"])
def test_publish_no_build_of_a_folder_holding_no_build_is_an_error(make_site, tmp_path, state):
    site = small_site(make_site)
    if state != "missing":
        (site / "build").mkdir()
    if state == "foreign":
        (site / "build" / "notes.txt").write_text("not a site")
    what = {"missing": "no such folder", "empty": "an empty folder",
            "foreign": "no page of a digest build, and no record of one"}[state]
    code, out, err = publish_no_build(site, tmp_path / "www")
    assert (code, out) == (1, "")
    assert err == (f"digest: error: build/ holds no build ({what}): run digest build first, or publish "
                   "without --no-build\n")
    assert not (tmp_path / "www").exists()


def test_publish_no_build_names_output_dir_when_digest_toml_sets_it(make_site, tmp_path):
    site = small_site(make_site, **{"digest.toml": 'search = false\noutput_dir = "public"\n'})
    assert publish_no_build(site, tmp_path / "www")[2] == (
        "digest: error: public/ (output_dir in digest.toml) holds no build (no such folder): run digest build "
        "first, or publish without --no-build\n")


def test_publish_no_build_without_the_build_cache_warns_it_cannot_tell(make_site, tmp_path):
    import shutil

    site = small_site(make_site)
    build(site, jobs=1)
    shutil.rmtree(site / ".digest-cache")
    code, _, err = publish_no_build(site, tmp_path / "www")
    assert code == 0 and err == (
        "build/: warning: no record of the build in it in .digest-cache/ (deleted, or made by another user or "
        "machine): it is published as it is, up to date or not; run digest build first, or publish without "
        "--no-build to be sure\n")


def test_publish_no_build_refuses_a_drafts_build_unless_asked_for_drafts(make_site, tmp_path):
    # A `digest build --drafts` (a preview) left in build/ was published, drafts and all.
    site = small_site(make_site, **{"content/d.md": record("Secret draft", published="false")})
    build(site, drafts=True, jobs=1)
    code, _, err = publish_no_build(site, tmp_path / "www")
    assert code == 1 and err == (
        "digest: error: build/ holds a --drafts build (records marked published: false would be published): "
        "run digest build first, or publish with --drafts to send it as it is\n")
    assert not (tmp_path / "www").exists()
    assert publish_no_build(site, tmp_path / "www", "--drafts")[:3:2] == (0, "")
    build(site, jobs=1)
    code, _, err = publish_no_build(site, tmp_path / "www2", "--drafts")
    assert code == 0 and "holds a build without drafts" in err
