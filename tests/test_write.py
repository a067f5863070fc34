"""Writing: atomic swaps, identical bytes untouched, stale outputs pruned, foreign files kept."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from digest.build import build
from digest.errors import BuildError, TemplateError
from digest.write import Staging, commit, stage, staging_dir, static_files
from tests.conftest import record


def rec(title: str, **fields) -> str:
    return record(title, webUrl=f'"https://w.example/{title.replace(" ", "-")}"', **fields)


def snapshot(folder):
    return {p.relative_to(folder).as_posix(): (p.read_bytes(), p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_second_build_writes_nothing_and_keeps_mtimes(make_site):
    site = make_site({"content/a.md": rec("One"), "content/b.md": rec("Two", topics='["T"]')})
    first = build(site)
    assert first.written > 0
    before = snapshot(site / "build")
    second = build(site)
    assert (second.written, second.removed) == (0, 0)
    assert snapshot(site / "build") == before


def test_second_build_without_cache_still_writes_nothing(make_site):
    import shutil

    site = make_site({"content/a.md": rec("One")})
    build(site)
    before = snapshot(site / "build")
    shutil.rmtree(site / ".digest-cache")
    second = build(site)
    assert second.written == 0
    assert snapshot(site / "build") == before


def test_stale_outputs_pruned_and_foreign_files_kept(make_site):
    site = make_site({"content/a.md": rec("One", topics='["Gone"]'), "content/b.md": rec("Two")})
    build(site)
    out = site / "build"
    (out / "CNAME").write_text("news.example.org\n")
    (out / "topics" / "gone" / "mine.txt").write_text("curator's file\n")
    assert (out / "topics" / "gone" / "index.html").is_file()
    (site / "content" / "a.md").unlink()
    result = build(site)
    assert result.removed > 0
    assert not (out / "topics" / "gone" / "index.html").exists()
    assert not list(out.glob("2024/01/02/one-*"))  # its folder went with its page
    assert (out / "CNAME").read_text() == "news.example.org\n"
    assert (out / "topics" / "gone" / "mine.txt").is_file()
    assert list(out.glob("2024/01/02/two-*/index.html"))


def test_failed_build_leaves_previous_output_untouched(make_site):
    site = make_site({"content/a.md": rec("One"), "content/b.md": rec("Two")})
    build(site)
    before = snapshot(site / "build")
    (site / "content" / "c.md").write_text(rec("Three"))
    (site / "templates").mkdir()
    # article pages now fail half-way through the render phase
    (site / "templates" / "article.html").write_text(
        '{% extends "base.html" %}{% block main %}{{ page.article.title }}{{ page.no_such_thing.x }}{% endblock %}')
    with pytest.raises(TemplateError) as caught:
        build(site)
    assert "article.html" in str(caught.value)
    assert snapshot(site / "build") == before
    assert not staging_dir((site / "build").resolve()).exists()
    # a fixed template builds again, over the same output
    (site / "templates" / "article.html").unlink()
    assert build(site).articles == 3


def test_template_syntax_error_names_file_and_line(make_site):
    site = make_site({"content/a.md": rec("One"), "templates/home.html": "ok\n{% if %}\n"})
    with pytest.raises(TemplateError) as caught:
        build(site)
    assert caught.value.line == 2 and "home.html" in str(caught.value)
    assert not (site / "build").exists()


def test_site_templates_and_static_override_the_theme(make_site):
    site = make_site({
        "content/a.md": rec("One"),
        "templates/404.html": '{% extends "base.html" %}{% block main %}Custom missing page{% endblock %}',
        "static/style.css": "body { color: red; }\n",
        "static/extra/logo.txt": "logo\n",
    })
    build(site)
    out = site / "build"
    assert "Custom missing page" in (out / "404.html").read_text()
    assert (out / "static" / "style.css").read_text() == "body { color: red; }\n"
    assert (out / "static" / "extra" / "logo.txt").is_file()


def test_build_refuses_to_write_over_its_sources(make_site):
    site = make_site({"content/a.md": rec("One")})
    for target in (site, site / "content", site / "content" / "x", site.parent):
        with pytest.raises(BuildError):
            build(site, out=target)
    assert (site / "content" / "a.md").is_file()


def test_stage_skips_identical_bytes(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    staging = Staging.for_output(out)
    (out / "a.html").write_bytes(b"same")
    assert stage(out, staging, "a.html", b"same", None)[1] is False
    assert stage(out, staging, "a.html", b"diff", None)[1] is True
    assert Path(staging.place("a.html")).read_bytes() == b"diff"
    assert (out / "a.html").read_bytes() == b"same"  # nothing touched before commit


def test_an_output_folder_is_staged_flat_and_committed_into_place(tmp_path):
    """Beside an output folder, staged files have no folders of their own (each made and
    removed again cost a second inode per page); the commit makes the new folders."""
    out = tmp_path / "out"
    (out / "old" / "x").mkdir(parents=True)
    (out / "old" / "x" / "index.html").write_text("v1")
    (out / "dir-now-file").mkdir()
    (out / "dir-now-file" / "inner.html").write_text("gone")
    staging = Staging.for_output(out)
    assert staging.flat and staging.root == staging_dir(out)
    pages = {"old/x/index.html": b"v2", "2026/01/02/new/index.html": b"new", "dir-now-file": b"file"}
    for path, data in pages.items():
        assert stage(out, staging, path, data, None)[1] is True
    assert all(p.is_file() for p in staging.root.iterdir())  # flat: no folders staged
    assert len(list(staging.root.iterdir())) == 3
    assert commit(out, staging, sorted(pages), ["old/y.html", "dir-now-file/inner.html"]).written == 3
    for path, data in pages.items():
        assert (out / path).read_bytes() == data
    assert not staging.root.exists()


def test_commit_refuses_a_folder_linked_outside_the_output(tmp_path):
    out, elsewhere = tmp_path / "out", tmp_path / "elsewhere"
    (out / "a").mkdir(parents=True)
    elsewhere.mkdir()
    (out / "a" / "link").symlink_to(elsewhere)
    staging = Staging.for_output(out)
    stage(out, staging, "a/link/index.html", b"x", None)
    with pytest.raises(BuildError):
        commit(out, staging, ["a/link/index.html"], [])
    assert list(elsewhere.iterdir()) == []


def test_commit_refuses_paths_outside_the_output(tmp_path):
    out, root = tmp_path / "out", tmp_path / "stage"
    staging = Staging(root, flat=True)
    out.mkdir()
    (tmp_path / "victim.txt").write_text("keep")
    with pytest.raises(BuildError):  # a file to write there: before anything moves
        commit(out, staging, ["../victim.txt"], [])
    commit(out, staging, [], ["../victim.txt"])  # one to remove there: not ours, left alone
    assert (tmp_path / "victim.txt").read_text() == "keep"


def test_a_stale_file_behind_a_link_out_of_the_output_is_left_alone_after_the_swap(tmp_path):
    """Removing stale files comes after the new ones are in place: one whose folder is now a
    link leading out of the output raised there, leaving the build reported failed though
    its files had moved."""
    out, elsewhere = tmp_path / "out", tmp_path / "elsewhere"
    out.mkdir()
    elsewhere.mkdir()
    (elsewhere / "old.html").write_text("someone else's")
    (out / "gone").symlink_to(elsewhere)
    staging = Staging.for_output(out)
    stage(out, staging, "new.html", b"new", None)
    assert commit(out, staging, ["new.html"], ["gone/old.html"]).written == 1
    assert (out / "new.html").read_bytes() == b"new"
    assert (elsewhere / "old.html").read_text() == "someone else's"


def test_commit_replaces_a_folder_with_a_file_and_cold_builds_rename(tmp_path):
    out, root = tmp_path / "out", tmp_path / "stage"
    staging = Staging(root, flat=False)
    (root / "x").mkdir(parents=True)
    (root / "x" / "index.html").write_text("v1")
    assert commit(out, staging, ["x/index.html"], []).written == 1
    assert (out / "x" / "index.html").read_text() == "v1" and not root.exists()
    root.mkdir()
    (root / "x").write_text("now a file")
    commit(out, staging, ["x"], ["x/index.html"])  # (the earlier commit made it: stale now)
    assert (out / "x").read_text() == "now a file"


def test_static_files_skip_hidden_and_links_out(tmp_path):
    theme, site_static = tmp_path / "theme", tmp_path / "site"
    (theme / "css").mkdir(parents=True)
    (theme / "css" / "a.css").write_text("a")
    (theme / ".hidden").write_text("h")
    site_static.mkdir()
    (site_static / "css").mkdir()
    (site_static / "css" / "a.css").write_text("override")
    (tmp_path / "secret").write_text("s")
    (site_static / "leak").symlink_to(tmp_path / "secret")
    files = static_files([theme, site_static])
    assert files == {"static/css/a.css": site_static / "css" / "a.css"}


def test_a_static_file_that_becomes_a_folder_builds(make_site):
    """``static/a`` made by one build and ``static/a/b.css`` by the next: the stale file was
    in the way of the new folder and every later build failed on it."""
    site = make_site({"content/a.md": record("One"), "static/a": "a file"})
    build(site)
    (site / "static" / "a").unlink()
    (site / "static" / "a").mkdir()
    (site / "static" / "a" / "b.css").write_text("b {}")
    build(site)
    assert (site / "build" / "static" / "a" / "b.css").read_text() == "b {}"
    (site / "static" / "a" / "b.css").unlink()
    (site / "static" / "a").rmdir()
    (site / "static" / "a").write_text("a file again")
    build(site)
    assert (site / "build" / "static" / "a").read_text() == "a file again"


def test_a_foreign_file_in_the_way_stops_the_build_with_the_output_untouched(make_site):
    site = make_site({"content/a.md": record("One")})
    build(site)
    before = {p: p.read_bytes() for p in (site / "build").rglob("*") if p.is_file()}
    (site / "build" / "static" / "x").write_text("mine, not digest's")
    (site / "static" / "x").mkdir(parents=True)
    (site / "static" / "x" / "y.css").write_text("y {}")
    (site / "content" / "a.md").write_text(record("One, edited"))
    with pytest.raises(BuildError, match="static/x is a file there"):
        build(site)
    after = {p: p.read_bytes() for p in (site / "build").rglob("*") if p.is_file()}
    assert after == {**before, site / "build" / "static" / "x": b"mine, not digest's"}


def test_damaged_names_changed_replaced_and_gone_outputs(tmp_path):
    from digest.write import OutputRecord, damaged

    out = tmp_path / "out"
    (out / "a").mkdir(parents=True)
    for name in ("a/kept.html", "a/changed.html", "a/touched.html", "gone.html"):
        (out / name).write_text("x")
    noted = {name: OutputRecord("d", (out / name).stat().st_size, (out / name).stat().st_mtime_ns)
             for name in ("a/kept.html", "a/changed.html", "a/touched.html", "gone.html")}
    (out / "a/changed.html").write_text("xy")
    st = (out / "a/touched.html").stat()
    import os

    os.utime(out / "a/touched.html", ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
    (out / "gone.html").unlink()
    assert damaged(out, noted) == {"a/changed.html", "a/touched.html", "gone.html"}
    assert damaged(tmp_path / "missing", noted) == set(noted)  # no folder: nothing is intact


def test_a_build_that_finds_nothing_changed_imports_no_parser(make_site):
    """The unchanged check runs before the parsers, the planner and Jinja are imported."""
    import subprocess
    import sys

    site = make_site({"content/a.md": rec("One")})
    record = site / "content" / "a.md"  # (written long before: see `digest.cache.racy`)
    os.utime(record, ns=(record.stat().st_atime_ns, record.stat().st_mtime_ns - 60 * 10**9))
    build(site)
    script = ("import sys; from pathlib import Path; from digest.build import build; "
              f"r = build(Path({str(site)!r})); assert r.rendered == 0 and r.written == 0, r; "
              "print(' '.join(sorted(m for m in ('jinja2', 'yaml', 'markdown', 'PIL', 'digest.load', 'digest.plan', "
              "'digest.render', 'digest.images', 'digest.related') if m in sys.modules)))")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True,
                          cwd=Path(__file__).resolve().parent.parent)
    assert done.stdout.strip() == ""
