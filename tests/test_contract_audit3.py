"""Hostile input against DESIGN.md's contracts, third round (site folder, digest.toml, image
cache, static files, command line, publish; see tests/test_contract_audit.py and
tests/test_contract_audit2.py for the record format): each test is a broken promise found,
fixed, and kept fixed."""

from __future__ import annotations

import pytest

from digest.cli import main
from digest.config import load_config
from digest.errors import ConfigError
from tests.conftest import record

# --------------------------------------------------------------------------- command line


def test_an_error_message_never_prints_a_raw_control_character(make_site, capsys):
    # `digest: error: template not found: a<ESC>[2J`: the template name was printed as
    # written, and an escape sequence reached the terminal (it could clear it, or retitle it).
    site = make_site({"content/a.md": record(), "digest.toml": "search = false\n",
                      "templates/home.html": '{% extends "a\x1b[2J" %}\n'})
    assert main(["build", str(site)]) == 1
    err = capsys.readouterr().err
    assert "\x1b" not in err
    assert "template not found: a\\x1b[2J" in err


# --------------------------------------------------------------------------- digest.toml


@pytest.mark.parametrize("text, expected", [
    ("page_size = five\n", "digest.toml:1: page_size: invalid TOML: Invalid value"),
    ("page_size = 5\npage_size.x = 1\n", "digest.toml:2: page_size.x: invalid TOML: Cannot overwrite a value"),
    ('title = "x"\n\n[ title ]\n', "digest.toml:3: title: invalid TOML: Cannot overwrite a value"),
    ("search = false\n[extra]\nx = nope\n", "digest.toml:3: extra.x: invalid TOML: Invalid value"),
    ("thumbnail_widths = [320,\n640\n", "digest.toml:1: thumbnail_widths: invalid TOML: Unclosed array"),
    ('title = "x"\ndescription = """open\n\n', "digest.toml:2: description: invalid TOML: Unterminated string"),
])
def test_invalid_toml_names_the_key_and_its_line(make_site, text, expected):
    # A problem names file, line and key: tomllib's message named a line (or, for a value left
    # open, "at end of document": none) and a column, never the key.
    site = make_site({"content/a.md": record(), "digest.toml": text})
    with pytest.raises(ConfigError) as caught:
        load_config(site)
    assert [str(p) for p in caught.value.problems][0].startswith(expected)


# --------------------------------------------------------------------------- image cache


def _cached_image_site(make_site, url="https://img.example.com/a.jpg"):
    import hashlib
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (400, 300), "blue").save(buffer, "JPEG")
    name = hashlib.sha256(url.encode()).hexdigest() + ".jpg"
    images = f'\n  - url: "{url}"\n    width: 400\n    height: 300\n    isCached: true'
    site = make_site({"content/a.md": record(images=images), "digest.toml": "search = false\n"})
    return site, name, buffer.getvalue()


def test_an_image_cache_folder_linking_out_of_the_site_is_not_read(make_site, tmp_path):
    # `content/images` -> a folder elsewhere: the load said "symbolic link points outside the
    # site; not followed", and the images phase made thumbnails of the files there all the same.
    from digest.build import build, check

    site, name, data = _cached_image_site(make_site)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / name).write_bytes(data)
    (site / "content" / "images").symlink_to(elsewhere)
    result = build(site, jobs=1)
    assert result.articles == 1
    assert not list((site / "build").rglob("*.webp"))
    lines = [str(p) for p in result.problems]
    expected = "content/a.md:5: warning: images[0]: https://img.example.com/a.jpg: content/images is a symbolic link out of the site"
    assert any(line.startswith(expected) for line in lines), lines
    assert any(str(p).startswith(expected) for p in check(site)[0])


def test_an_image_cache_folder_linking_inside_the_site_is_read(make_site):
    from digest.build import build

    site, name, data = _cached_image_site(make_site)
    (site / "pictures").mkdir()
    (site / "pictures" / name).write_bytes(data)
    (site / "content" / "images").symlink_to(site / "pictures")
    result = build(site, jobs=1)
    assert not result.problems
    assert list((site / "build").rglob("*.webp"))


@pytest.mark.parametrize("inside", [".digest-cache", ".digest-cache/thumbs"])
def test_the_output_option_never_names_the_build_cache(make_site, capsys, inside):
    # `output_dir = ".digest-cache"` is a config problem, but `-o SITE/.digest-cache/thumbs` was
    # taken: the thumbnail store's pruning then deleted the 404 page, robots.txt and the
    # sitemap from the output after the build wrote them (and `-o SITE/.digest-cache` put the
    # cache's files, drafts included, beside the pages).
    site = make_site({"content/a.md": record(), "digest.toml": "search = false\n"})
    assert main(["build", str(site), "-j", "1"]) == 0
    assert main(["build", str(site), "-j", "1", "-o", str(site / inside)]) == 1
    assert "it is in the site's build cache (.digest-cache/)" in capsys.readouterr().err
    assert not (site / inside / "index.html").exists()


# --------------------------------------------------------------------------- publish


@pytest.mark.parametrize("inside", [".digest-cache", ".digest-cache/thumbs"])
def test_a_folder_target_inside_the_build_cache_is_refused(make_site, inside):
    # Published into `SITE/.digest-cache/thumbs`, the site lost every page at the next build
    # (the thumbnail store's pruning deleted them); and the cache is "safe to delete".
    from digest.publish import PublishError, publish

    site = make_site({"content/a.md": record(), "digest.toml": "search = false\n"})
    assert main(["build", str(site), "-j", "1"]) == 0
    with pytest.raises(PublishError, match=r"inside the site's build cache \(\.digest-cache/\)"):
        publish(site, (site / inside).as_uri(), build=False)
    assert not (site / inside / "index.html").exists()


# --------------------------------------------------------------------------- static files


def test_a_static_folder_named_as_a_theme_file_is_a_clear_error(make_site, capsys):
    # `static/style.css/` (a folder) over the theme's `static/style.css`: the build failed with
    # `digest: error: SITE/.build.digest-staging/static/style.css: File exists`.
    site = make_site({"content/a.md": record(), "digest.toml": "search = false\n"})
    assert main(["build", str(site), "-j", "1"]) == 0
    before = (site / "build" / "index.html").read_bytes()
    (site / "static" / "style.css").mkdir(parents=True)
    (site / "static" / "style.css" / "inner.txt").write_text("x")
    assert main(["build", str(site), "-j", "1"]) == 1
    err = capsys.readouterr().err
    assert ("digest: error: static/style.css/inner.txt and the built-in theme's static/style.css: "
            "static/style.css cannot be both a folder and a file in the output; rename one") in err
    assert (site / "build" / "index.html").read_bytes() == before
    assert not (site / "build" / "static" / "style.css" / "inner.txt").exists()


@pytest.mark.parametrize("where", ["site", "output", "target"])
def test_a_symbolic_link_loop_on_the_command_line_is_a_message(make_site, tmp_path, capsys, where):
    # `digest build LOOP`, `-o LOOP` or `--to file:///LOOP` (a -> b -> a): a RuntimeError
    # traceback (Path.resolve before Python 3.13), not exit code 1 with a message.
    site = make_site({"content/a.md": record(), "digest.toml": "search = false\n"})
    (tmp_path / "loop-a").symlink_to(tmp_path / "loop-b")
    (tmp_path / "loop-b").symlink_to(tmp_path / "loop-a")
    loop = str(tmp_path / "loop-a")
    argv = {"site": ["build", loop], "output": ["build", str(site), "-o", loop],
            "target": ["publish", str(site), "--to", (tmp_path / "loop-a").as_uri()]}[where]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert err.startswith("digest: error: ") and "symbolic links" in err


def test_robots_txt_is_plain_text_not_html(make_site):
    # robots.txt went through HTML autoescaping: with a base_url path holding `&` or `'` (both
    # allowed in a URL path) its Sitemap line named `https://example.org/a&amp;b&#39;c/...`.
    from digest.build import build

    site = make_site({"content/a.md": record(),
                      "digest.toml": "search = false\nbase_url = \"https://example.org/a&b'c/\"\n"})
    build(site, jobs=1)
    robots = (site / "build" / "robots.txt").read_text()
    assert robots.endswith("\nSitemap: https://example.org/a&b'c/sitemap.xml\n")


def test_a_folder_holding_a_foreign_file_where_a_page_goes_is_kept(make_site, capsys):
    # A folder in the output where this build writes a file (`static/style.css/`, holding a
    # file of the user's) was removed whole, the user's file with it ("files digest did not
    # make are left alone"); now the build stops, naming it, and moves nothing.
    site = make_site({"content/a.md": record(), "digest.toml": "search = false\n"})
    assert main(["build", str(site), "-j", "1"]) == 0
    css = site / "build" / "static" / "style.css"
    css.unlink()
    css.mkdir()
    (css / "keep.txt").write_text("mine")
    assert main(["build", str(site), "-j", "1"]) == 1
    assert ("static/style.css is a folder there holding static/style.css/keep.txt, which this site "
            "does not make; move it away") in capsys.readouterr().err
    assert (css / "keep.txt").read_text() == "mine"


def test_a_folder_an_earlier_build_made_gives_way_to_a_file(make_site):
    site = make_site({"content/a.md": record(), "digest.toml": "search = false\n",
                      "static/a/b.css": "b"})
    assert main(["build", str(site), "-j", "1"]) == 0
    (site / "static" / "a" / "b.css").unlink()
    (site / "static" / "a").rmdir()
    (site / "static" / "a").write_text("a")
    assert main(["build", str(site), "-j", "1"]) == 0
    assert (site / "build" / "static" / "a").read_text() == "a"


@pytest.mark.parametrize("width, height, megapixels", [(8_000, 6_000, 48), (10_000, 10_000, 100),
                                                      (100_000, 100_000, 10_000)])
def test_a_decompression_bomb_is_reported_against_the_documented_limit(make_site, width, height, megapixels):
    # Past Pillow's own limits (89 and 179 megapixels) the warning was Pillow's text: "Image size
    # (10000000000 pixels) exceeds limit of 178956970 pixels, could be decompression bomb DOS
    # attack." (the README promises 40 megapixels).
    from digest.build import build
    from tests.test_images import _bomb_png

    url = "https://img.example.com/a.jpg"
    site, name, _ = _cached_image_site(make_site, url)
    (site / "content" / "images").mkdir()
    (site / "content" / "images" / name.replace(".jpg", ".png")).write_bytes(_bomb_png(width, height))
    result = build(site, jobs=1)
    [line] = [str(p) for p in result.problems]
    assert line.startswith(f"content/a.md:5: warning: images[0]: {url}: the header says ")
    assert line.endswith(f"{megapixels} megapixels{')' if megapixels < 89 else ''}, over the limit of 40: "
                         "a possible decompression bomb, not decoded; shown as a placeholder")


def test_init_problems_never_print_a_raw_control_character(tmp_path, capsys):
    target = tmp_path / "my\x1b[2Jsite"
    target.mkdir()
    (target / "keep.txt").write_text("mine")
    assert main(["init", str(target)]) == 1
    err = capsys.readouterr().err
    assert "\x1b" not in err and "my\\x1b[2Jsite exists and is not empty" in err


def test_check_reports_a_bad_digest_toml_and_the_records_problems_together(make_site, capsys):
    # `digest check` stopped at the first bad key of digest.toml: the records were not checked
    # ("validate digest.toml and every record", "report every problem").
    site = make_site({"digest.toml": "page_size = 0\n",
                      "content/bad.md": "---\ntitle: [x]\npublishedDateTime: 2024-01-01\n---\n"})
    assert main(["check", str(site)]) == 1
    err = capsys.readouterr().err
    assert "digest.toml:1: page_size: expected an integer from 1 to 1000, got an integer 0" in err
    assert "content/bad.md:2: title: expected a non-empty string, got a list" in err
    assert sorted(p.name for p in site.iterdir()) == ["content", "digest.toml"]


def test_a_token_in_a_git_targets_query_is_never_printed(make_site, capsys):
    # `git+https://host/r.git?access_token=TOKEN`: the label and git's own message (which
    # repeats the URL) printed the token as typed.
    site = make_site({"content/a.md": record(), "digest.toml": "search = false\n"})
    assert main(["build", str(site), "-j", "1"]) == 0
    capsys.readouterr()
    target = "git+https://127.0.0.1:1/r.git?access_token=S3CRET-T0KEN#gh-pages"
    assert main(["publish", str(site), "--to", target, "--no-build", "--dry-run"]) == 1
    err = capsys.readouterr().err
    assert "S3CRET" not in err and "git+https://127.0.0.1:1/r.git?***#gh-pages" in err
