"""digest publish: the shared decisions (order, headers, deletes) and the file:// target."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from digest.build import build
from digest.cli import main
from digest.errors import BuildError
from digest.mediatypes import content_type
from digest.publish import Options, PublishError, open_target, publish
from digest.publish.common import (
    IMMUTABLE,
    MEDIUM,
    SHORT,
    LocalFile,
    Upload,
    cache_control,
    decide,
    order_uploads,
    redact,
)
from tests.conftest import record

REPO = Path(__file__).resolve().parent.parent


def small_site(make_site, n: int = 4, extra: dict | None = None) -> Path:
    files = {"digest.toml": 'title = "Pub"\nbase_url = "http://localhost:8000/"\n'}
    for i in range(n):
        files[f"content/s{i}.md"] = record(
            f"Story number {i}", f"2024-01-0{1 + i % 5}T10:00:00Z",
            webUrl=f'"https://news.example.com/story-{i}"',
            topics='["privacy", "cities"]' if i % 2 else '["energy"]',
            provider='{name: "Example News", domain: "example.com"}')
    files["static/app.0123abcd.js"] = "console.log(1);\n"
    files.update(extra or {})
    return make_site(files)


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file()}


# -- decisions --------------------------------------------------------------------------------

def test_content_types_carry_charset_for_text_only():
    assert content_type("index.html") == "text/html; charset=utf-8"
    assert content_type("static/style.css") == "text/css; charset=utf-8"
    assert content_type("static/search.js") == "text/javascript; charset=utf-8"
    assert content_type("api/hot.json") == "application/json; charset=utf-8"
    assert content_type("feed.json") == "application/feed+json; charset=utf-8"
    assert content_type("topics/ai/feed.json") == "application/feed+json; charset=utf-8"
    assert content_type("api/feed.json.gz") == "application/gzip"
    assert content_type("sitemap.xml", b'<?xml version="1.0"?><urlset') == "application/xml; charset=utf-8"
    assert content_type("feed.xml", b'<?xml version="1.0"?>\n<rss version="2.0">') == \
        "application/rss+xml; charset=utf-8"
    atom = b'<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom">'
    assert content_type("atom.xml", atom) == "application/atom+xml; charset=utf-8"
    assert content_type("images/ab.webp") == "image/webp"
    assert content_type("images/ab.avif") == "image/avif"
    assert content_type("fonts/x.woff2") == "font/woff2"
    assert content_type("blob.unknownext") == "application/octet-stream"


def test_cache_control_long_only_for_content_hashed_names():
    """Only names digest makes from a content hash (thumbnails, Pagefind's hashed index files) are
    immutable; a name that merely holds 7+ hex digits (a date, a number, a word like ``cafe1234``)
    is one a site may reuse for new bytes."""
    assert cache_control("thumbs/3f/3fa2b4c5d6e7f801-640.webp") == IMMUTABLE
    assert cache_control("thumbs/00/0012345678901234-320.jpg") == IMMUTABLE
    assert cache_control("pagefind/index/en_af99a8b.pf_index") == IMMUTABLE
    assert cache_control("pagefind/fragment/en_8161202.pf_fragment") == IMMUTABLE
    assert cache_control("pagefind/filter/pt-br_1a2b3c4.pf_filter") == IMMUTABLE
    assert cache_control("pagefind/pagefind.en_3c1e2d4f.pf_meta") == IMMUTABLE
    assert cache_control("static/style.css") == MEDIUM
    assert cache_control("index.html") == SHORT
    assert cache_control("2024/01/02/story-1a2b3c4d5e/index.html") == SHORT
    assert cache_control("2024010112/index.html") == SHORT
    assert cache_control("archive-20240101.html") == SHORT
    assert cache_control("feed.xml") == SHORT
    assert cache_control("images/logo.png") == MEDIUM
    assert cache_control("static/defaced.png") == MEDIUM


@pytest.mark.parametrize("path", [
    "static/report-20240101.pdf", "2024010112/photo.jpg", "static/archive-20240101.css",
    "downloads/1234567.zip", "static/cafe1234.png", "static/decade2020.png",
    "static/style.3f9a1c2e.css", "static/app.0123abcd.js", "images/" + "ab" * 32 + "-320.webp",
    "thumbs/3f/3fa2b4c5d6e7f801-640.gif", "thumbs/3f/4fa2b4c5d6e7f801-640.webp",
    "thumbs/3f/3fa2b4c5d6e7f80-640.webp", "static/thumbs/3f/3fa2b4c5d6e7f801-640.webp",
    "pagefind/pagefind.js", "pagefind/pagefind-ui.css", "pagefind/wasm.en.pagefind",
    "pagefind/pagefind-entry.json", "static/pagefind/index/en_af99a8b.pf_index",
])
def test_a_name_holding_digits_is_not_immutable_unless_digest_named_it_by_hash(path):
    """``report-20240101.pdf`` or ``2024010112/photo.jpg`` got a year's ``immutable``: a
    corrected file under the same name stayed old in every browser and CDN for a year."""
    assert cache_control(path) != IMMUTABLE


def image_site(make_site) -> Path:
    """A site whose build makes thumbnails, beside files whose names hold dates and numbers."""
    import io

    from PIL import Image

    from tests.test_images import cache_name, image_record

    buffer = io.BytesIO()
    Image.new("RGB", (800, 600), (200, 30, 30)).save(buffer, "JPEG")
    url = "https://img.example.com/photos/a.jpg"
    return make_site({"content/a.md": image_record(url=url),
                      "content/b-20240101.md": record("Story 2024010112", "2024-01-01T12:00:00Z"),
                      cache_name(url, "jpg"): buffer.getvalue(),
                      "static/report-20240101.pdf": "%PDF-1.4\n", "static/2024010112.png": "x"})


def test_every_thumbnail_a_build_makes_is_immutable_and_nothing_else_it_writes(make_site):
    """Both sides on a real build: the thumbnails of a record's image, and every other file."""
    site = image_site(make_site)
    out = build(site).out
    paths = [p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()]
    thumbs = [p for p in paths if p.startswith("thumbs/")]
    assert thumbs and all(cache_control(p) == IMMUTABLE for p in thumbs)
    others = [p for p in paths if not p.startswith(("thumbs/", "pagefind/"))]
    assert "static/report-20240101.pdf" in others and "static/2024010112.png" in others
    assert [p for p in others if cache_control(p) == IMMUTABLE] == []


def test_upload_order_new_before_changed_assets_before_pages_front_page_last():
    ups = [Upload("index.html", 1, False), Upload("topics/a/index.html", 1, True),
           Upload("static/style.css", 1, False), Upload("2024/01/02/x/index.html", 1, True),
           Upload("images/a.webp", 1, True), Upload("2024/01/02/y/index.html", 1, False)]
    order = [u.path for u in order_uploads(ups)]
    assert order == ["images/a.webp", "2024/01/02/x/index.html", "topics/a/index.html",
                     "static/style.css", "2024/01/02/y/index.html", "index.html"]


def _local(path: str, data: bytes = b"x") -> LocalFile:
    return LocalFile(path, Path("/nonexistent"), len(data), hashlib.md5(data).hexdigest())


def test_decide_caps_deletes_unless_forced_and_keeps_protected_files():
    files = {"a.html": _local("a.html")}
    remote = {"a.html": _local("a.html").md5, "CNAME": "x", **{f"old{i}.html": "y" for i in range(5)}}

    def same(local, h):
        return local.md5 == h

    keep = {"CNAME"}.__contains__
    plan = decide("t", files, remote, same, Options(delete=False), keep)
    assert plan.deletes == [] and len(plan.withheld) == 5 and not plan.capped
    assert plan.unchanged == 1 and plan.uploads == []
    plan = decide("t", files, remote, same, Options(delete=True, max_deletes=4), keep)
    assert plan.deletes == [] and plan.capped and len(plan.withheld) == 5
    plan = decide("t", files, remote, same, Options(delete=True, max_deletes=4, force=True), keep)
    assert plan.deletes == [f"old{i}.html" for i in range(5)]
    plan = decide("t", files, remote, same, Options(delete=True, max_deletes=-1), keep)
    assert len(plan.deletes) == 5 and "CNAME" not in plan.deletes


def test_redact_hides_user_info():
    assert redact("https://user:tok3n@example.com/r.git") == "https://***@example.com/r.git"
    assert redact("https://tok3n@example.com/r.git") == "https://***@example.com/r.git"
    assert redact("file:///srv/www") == "file:///srv/www"


@pytest.mark.parametrize("url", ["ftp://host/x", "http://example.com/", "nothing", "git+ftp://h/r"])
def test_unknown_target_scheme_is_an_error(url):
    with pytest.raises(PublishError, match="unknown publish target"):
        open_target(url, Options())


def test_file_target_must_be_local():
    with pytest.raises(PublishError, match="must be local"):
        open_target("file://otherhost/srv/www", Options())


def test_missing_boto3_gives_install_hint():
    code = ("import sys; sys.modules['boto3'] = None\n"
            "from digest.publish import open_target, Options, PublishError\n"
            "try:\n    open_target('s3://bucket/x', Options())\n"
            "except PublishError as e:\n    print(e)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert "pip install 'digest[s3]'" in out.stdout, out.stderr


# -- file:// ----------------------------------------------------------------------------------

def test_folder_publish_copies_the_build_and_then_sends_nothing(make_site, tmp_path):
    site = small_site(make_site)
    www = tmp_path / "www"
    first = publish(site, www.as_uri())
    out = first.out
    assert tree(www) == tree(out)
    assert first.uploaded == len(tree(out)) and first.plan.unchanged == 0
    assert first.bytes_sent == sum(len(b) for b in tree(out).values())
    for path in out.rglob("*"):  # new timestamps, same bytes (Hugo's full-upload pain)
        os.utime(path, (1, 1))
    again = publish(site, www.as_uri(), build=False)
    assert again.uploaded == 0 and again.plan.unchanged == len(tree(out))
    assert not list(www.rglob(".digest-publish-*"))


def test_folder_publish_sends_only_changed_files_and_deletes_with_flag(make_site, tmp_path):
    site = small_site(make_site)
    www = tmp_path / "www"
    first = publish(site, www.as_uri())
    before = tree(first.out)
    mtimes = {p: (www / p).stat().st_mtime_ns for p in tree(www)}
    (site / "content/s1.md").write_text(
        record("Story number 1 revised", "2024-01-02T10:00:00Z",
               webUrl='"https://news.example.com/story-1"', topics='["privacy", "cities"]',
               provider='{name: "Example News", domain: "example.com"}'), encoding="utf-8")
    build(site)
    after = tree(first.out)
    result = publish(site, www.as_uri(), Options(delete=True), build=False)
    sent = {u.path for u in result.plan.uploads}
    assert sent == {p for p, data in after.items() if before.get(p) != data}
    assert sent and len(sent) < len(mtimes) / 2
    for path, before in mtimes.items():
        if path not in sent and (www / path).exists():
            assert (www / path).stat().st_mtime_ns == before, path
    # the old article URL (title slug changed) is gone from the build, so --delete removes it
    assert result.plan.deletes and all(not (www / p).exists() for p in result.plan.deletes)
    assert tree(www) == tree(result.out)


def test_folder_dry_run_changes_nothing_and_lists_everything(make_site, tmp_path, capsys):
    site = small_site(make_site)
    www = tmp_path / "www"
    www.mkdir()
    (www / "stale.html").write_text("old", encoding="utf-8")
    (www / ".digest-publish-123-index.html").write_text("left by a killed publish", encoding="utf-8")
    code = main(["publish", str(site), "--to", www.as_uri(), "--dry-run", "--delete"])
    out = capsys.readouterr().out
    assert code == 0
    assert sorted(os.listdir(www)) == [".digest-publish-123-index.html", "stale.html"]
    assert "upload     index.html" in out and "delete     stale.html" in out
    assert "Nothing was changed" in out
    assert main(["publish", str(site), "--no-build", "--to", www.as_uri(), "--delete"]) == 0
    assert sorted(os.listdir(www)) == sorted(os.listdir(site / "build"))


def test_folder_max_deletes_stops_a_mass_delete(make_site, tmp_path, capsys):
    site = small_site(make_site)
    www = tmp_path / "www"
    www.mkdir()
    for i in range(5):
        (www / f"other{i}.html").write_text("x", encoding="utf-8")
    code = main(["publish", str(site), "--to", www.as_uri(), "--delete", "--max-deletes", "3"])
    captured = capsys.readouterr()
    assert code == 1
    assert "refused to delete 5 stale files" in captured.err
    assert all((www / f"other{i}.html").exists() for i in range(5))
    assert (www / "index.html").exists()  # uploads still happened
    code = main(["publish", str(site), "--to", www.as_uri(), "--no-build", "--delete",
                 "--max-deletes", "3", "--force"])
    assert code == 0
    assert not any((www / f"other{i}.html").exists() for i in range(5))


def test_no_build_publishes_the_existing_output(make_site, tmp_path):
    site = small_site(make_site)
    with pytest.raises(BuildError, match="holds no build .*: run digest build first"):
        publish(site, (tmp_path / "www").as_uri(), build=False)
    build(site)
    result = publish(site, (tmp_path / "www").as_uri(), build=False)
    assert result.build is None and result.uploaded > 5


def test_folder_publish_killed_midway_converges_on_rerun(make_site, tmp_path):
    bulk = {f"static/bulk/f{i:04d}.txt": f"file {i}\n" * 50 for i in range(1500)}
    site = small_site(make_site, extra=bulk)
    build(site)
    www = tmp_path / "www"
    cmd = [sys.executable, "-m", "digest", "publish", str(site), "--no-build", "--to", www.as_uri()]
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while proc.poll() is None and len(list(www.rglob("*.txt"))) < 50:
            time.sleep(0.005)
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the publish ended before it could be killed"
    assert 0 < len(list(www.rglob("*.txt"))) < len(bulk)
    assert not (www / "index.html").exists()  # pages go after the files they link to
    done = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert tree(www) == tree(site / "build")


def test_ctrl_c_stops_a_publish_with_a_clear_message(make_site, tmp_path):
    bulk = {f"static/bulk/f{i:04d}.txt": f"file {i}\n" * 50 for i in range(1500)}
    site = small_site(make_site, extra=bulk)
    build(site)
    www = tmp_path / "www"
    cmd = [sys.executable, "-m", "digest", "publish", str(site), "--no-build", "--to", www.as_uri()]
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    while proc.poll() is None and len(list(www.rglob("*.txt"))) < 50:
        time.sleep(0.005)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert "run the same command again" in err and "Traceback" not in err
    assert not (www / "index.html").exists()


@pytest.mark.parametrize("where", [".", "build", "build/www"])
def test_folder_target_overlapping_the_build_is_refused(make_site, where):
    site = small_site(make_site, n=1)
    build(site)
    before = tree(site)
    with pytest.raises(PublishError, match="one holds the other"):
        publish(site, (site / where).resolve().as_uri(), Options(delete=True, force=True),
                build=False)
    assert tree(site) == before
