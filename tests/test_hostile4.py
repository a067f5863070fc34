"""Hostile input, fourth sweep: the dev server, publish targets, cached images and digest.toml.

Each test is a defect once found, or guards a promise that matters (see tests/test_hostile.py,
test_hostile2.py and test_hostile3.py for the first three sweeps, on records).
"""

from __future__ import annotations

import inspect
import re
import socket
import time
from pathlib import Path

import pytest

from digest.serve import byte_range, request_target, running

from .conftest import record

TIMEOUT = 10.0


# --------------------------------------------------------------------------- digest serve


def serve_site(make_site, **files):
    return make_site({"digest.toml": "search = false\n", "content/a.md": record("Alpha story"),
                      "static/clip.bin": bytes(range(100)), **files})


def raw_request(handle, data: bytes, timeout: float = TIMEOUT) -> bytes:
    """Send ``data`` as is on a fresh connection; everything the server answers until it closes."""
    host, port = handle.server.server_address[:2]
    with socket.create_connection((host, port), timeout=timeout) as conn:
        conn.sendall(data)
        chunks = []
        while True:
            chunk = conn.recv(65536)
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)


def head_and_body(answer: bytes) -> tuple[int, dict[str, str], bytes]:
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(lines[0].split()[1]), headers, body


def test_a_head_request_for_the_event_stream_gets_headers_only_and_the_connection_closes(make_site):
    # A HEAD of the live-reload endpoint streamed build events forever (one thread held per request).
    with running(serve_site(make_site), jobs=1) as handle:
        start = time.monotonic()
        answer = raw_request(handle, b"HEAD /__digest/events HTTP/1.1\r\nHost: localhost\r\n\r\n", 5)
        status, headers, body = head_and_body(answer)
        assert status == 200 and headers["content-type"].startswith("text/event-stream")
        assert body == b"" and time.monotonic() - start < 3


def test_an_absolute_form_request_is_judged_by_the_host_it_names(make_site):
    # `GET http://evil.example/ HTTP/1.1` with `Host: localhost` was served: the target's own
    # authority is the host asked for (RFC 9112), and DNS rebinding must not slip past through it.
    with running(serve_site(make_site), jobs=1) as handle:
        port = handle.server.server_address[1]
        evil = raw_request(handle, b"GET http://evil.example/ HTTP/1.1\r\nHost: localhost\r\n"
                                   b"Connection: close\r\n\r\n")
        assert head_and_body(evil)[0] == 403 and b"Alpha story" not in evil
        own = raw_request(handle, f"GET http://127.0.0.1:{port}/ HTTP/1.1\r\nHost: evil.example\r\n"
                                  "Connection: close\r\n\r\n".encode())
        assert head_and_body(own)[0] == 200 and b"Alpha story" in own
        for target in (b"ftp://localhost/", b"*", b"http:///x"):
            answer = raw_request(handle, b"GET " + target + b" HTTP/1.1\r\nHost: localhost\r\n\r\n")
            assert head_and_body(answer)[0] == 400, target


def test_two_host_headers_are_refused(make_site):
    # The first of two Host headers was believed: `Host: localhost` + `Host: evil.example`.
    with running(serve_site(make_site), jobs=1) as handle:
        answer = raw_request(handle, b"GET / HTTP/1.1\r\nHost: localhost\r\nHost: evil.example\r\n"
                                     b"Connection: close\r\n\r\n")
        assert head_and_body(answer)[0] == 400 and b"Alpha story" not in answer


def test_no_redirect_leaves_the_preview_and_a_folder_redirect_is_permanent(make_site):
    with running(serve_site(make_site), jobs=1) as handle:
        for target, location in ((b"//static", "/static/"), (b"///static?x=1", "/static/?x=1"),
                                 (b"/static?x=<b>", "/static/?x=<b>")):
            answer = raw_request(handle, b"GET " + target + b" HTTP/1.1\r\nHost: localhost\r\n"
                                         b"Connection: close\r\n\r\n")
            status, headers, _ = head_and_body(answer)
            assert (status, headers["location"]) == (301, location), target
    assert request_target("//evil.example/x", ["localhost"]) == ("localhost", "/evil.example/x", "")


def test_a_base_url_path_with_non_ascii_letters_is_served(make_site):
    # base_url = "https://example.org/nachrichten/über/": browsers ask for /nachrichten/%C3%BCber/,
    # which a plain prefix test never matched: every request was a 404, and `/` redirected
    # to a Location header in Latin-1.
    site = serve_site(make_site, **{"digest.toml": 'search = false\nbase_url = "https://example.org/nachrichten/über/"\n'})
    with running(site, jobs=1) as handle:
        def get(target: bytes) -> tuple[int, dict[str, str], bytes]:
            return head_and_body(raw_request(handle, b"GET " + target + b" HTTP/1.1\r\nHost: localhost\r\n"
                                                                         b"Connection: close\r\n\r\n"))

        status, headers, _ = get(b"/")
        assert (status, headers["location"]) == (301, "/nachrichten/%C3%BCber/")
        assert get(b"/nachrichten/%C3%BCber")[1]["location"] == "/nachrichten/%C3%BCber/"
        status, _, body = get(b"/nachrichten/%C3%BCber/")
        assert status == 200 and b"Alpha story" in body
        assert get(b"/nachrichten/%c3%bcber/static/clip.bin")[0] == 200
        assert get(b"/nachrichten/%C3%BCber/../%C3%BCber/static/clip.bin")[0] == 404
        assert get(b"/nachrichten/ueber/static/clip.bin")[0] == 404
        before = handle.preview.builds
        (site / "static" / "extra.css").write_text("body { color: red }\n", encoding="utf-8")
        handle.preview.touch()
        outcome = handle.preview.wait_for_build(before + 1, TIMEOUT)
        assert outcome is not None and outcome.css == ("/nachrichten/%C3%BCber/static/extra.css",)


def test_range_requests_get_the_bytes_asked_for(make_site):
    # A Range was ignored (200, whole file): Safari plays no <video> or <audio> without 206.
    with running(serve_site(make_site), jobs=1) as handle:
        def get(range_header: str) -> tuple[int, dict[str, str], bytes]:
            return head_and_body(raw_request(handle, (
                "GET /static/clip.bin HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
                f"Range: {range_header}\r\n\r\n").encode()))

        status, headers, body = get("bytes=10-19")
        assert (status, body, headers["content-range"]) == (206, bytes(range(10, 20)), "bytes 10-19/100")
        assert get("bytes=-5")[2] == bytes(range(95, 100))
        assert get("bytes=98-")[2] == b"\x62\x63"
        status, headers, body = get("bytes=100-")
        assert (status, headers["content-range"], body) == (416, "bytes */100", b"")
        for ignored in ("bytes=5-1", "bytes=0-1,5-6", "items=0-1", "bytes=x-y", "bytes=-", "bytes=\u0661-2"):
            status, _, body = get(ignored)
            assert (status, len(body)) == (200, 100), ignored
    assert byte_range(["bytes=0-1", "bytes=2-3"], 10) is None
    assert byte_range(["bytes=" + "9" * 5000 + "-"], 10) == "unsatisfiable"  # (int() raised ValueError)


def test_a_large_file_is_streamed_not_read_whole_for_each_request(make_site):
    # Every request (each range request of a <video>) read the whole file into memory.
    import tracemalloc

    site = serve_site(make_site)
    with open(site / "static" / "big.bin", "wb") as handle:
        handle.truncate(100 << 20)
        handle.seek((100 << 20) - 4)
        handle.write(b"tail")
    with running(site, jobs=1) as handle:
        tracemalloc.start()
        try:
            answer = raw_request(handle, b"GET /static/big.bin HTTP/1.1\r\nHost: localhost\r\n"
                                         b"Range: bytes=-6\r\nConnection: close\r\n\r\n")
            whole = raw_request(handle, b"HEAD /static/big.bin HTTP/1.1\r\nHost: localhost\r\n"
                                        b"Connection: close\r\n\r\n")
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    status, headers, body = head_and_body(answer)
    assert (status, body, headers["content-range"]) == (206, b"\0\0tail", f"bytes {(100 << 20) - 6}-{(100 << 20) - 1}/{100 << 20}")
    assert head_and_body(whole)[1]["content-length"] == str(100 << 20)
    assert peak < 32 << 20, peak


def test_error_pages_escape_the_request_text(make_site):
    with running(serve_site(make_site), jobs=1) as handle:
        answer = raw_request(handle, b"GET /<script>alert(1)</script> HTTP/1.1 <img src=x onerror=alert(2)>\r\n\r\n")
        assert b"Error code: 400" in answer
        assert b"<script>" not in answer and b"<img" not in answer
        # A method is not echoed in the status line either (only escaped, in the page).
        answer = raw_request(handle, b"<svg/onload=alert(1)> / HTTP/1.1\r\nHost: localhost\r\n\r\n")
        assert answer.startswith(b"HTTP/1.1 501 Not Implemented\r\n") and b"<svg" not in answer


def test_huge_request_lines_and_headers_are_refused_and_the_server_answers_on(make_site):
    with running(serve_site(make_site), jobs=1) as handle:
        for request, status in ((b"GET /" + b"a" * 70_000 + b" HTTP/1.1\r\n\r\n", b"414"),
                                (b"GET / HTTP/1.1\r\n" + b"X-A: b\r\n" * 200 + b"\r\n", b"431"),
                                (b"GET / HTTP/1.1\r\nX-A: " + b"b" * 70_000 + b"\r\n\r\n", b"431"),
                                (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(200) + b"\r\n\r\n", b"400")):
            answer = raw_request(handle, request)
            assert answer.startswith(b"HTTP/1.1 " + status) or b"Error code: " + status in answer, answer[:80]
        answer = raw_request(handle, b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        assert b"Alpha story" in answer


def test_idle_connections_and_many_event_streams_block_neither_readers_nor_the_rebuild(make_site):
    site = serve_site(make_site)
    with running(site, jobs=1, quiet=0.05) as handle:
        host, port = handle.server.server_address[:2]
        idle, streams = [], []
        try:
            for _ in range(60):  # slowloris: connected, half a request line, then nothing
                conn = socket.create_connection((host, port), timeout=TIMEOUT)
                conn.sendall(b"GET / HT")
                idle.append(conn)
            for _ in range(40):
                conn = socket.create_connection((host, port), timeout=TIMEOUT)
                conn.sendall(b"GET /__digest/events HTTP/1.1\r\nHost: localhost\r\n\r\n")
                streams.append(conn)
            start = time.monotonic()
            answer = raw_request(handle, b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            assert b"Alpha story" in answer and time.monotonic() - start < 3
            before = handle.preview.builds
            (site / "content" / "a.md").write_text(record("Beta story"), encoding="utf-8")
            handle.preview.touch()
            assert handle.preview.wait_for_build(before + 1, TIMEOUT) is not None
            answer = raw_request(handle, b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            assert b"Beta story" in answer
        finally:
            for conn in idle + streams:
                conn.close()


def test_a_burst_of_two_hundred_connections_is_answered_at_once(make_site):
    # The listen backlog was 5: connections past it were dropped and retried by the client's
    # kernel after 1, 3 and 7 seconds; some of 200 timed out.
    with running(serve_site(make_site), jobs=1) as handle:
        seconds: list[float] = []

        def one() -> None:
            start = time.monotonic()
            answer = raw_request(handle, b"GET /robots.txt HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            if answer.startswith(b"HTTP/1.1 200 "):
                seconds.append(time.monotonic() - start)

        import threading

        clients = [threading.Thread(target=one) for _ in range(200)]
        for client in clients:
            client.start()
        for client in clients:
            client.join()
        assert len(seconds) == 200 and max(seconds) < 5, (len(seconds), max(seconds, default=0))


def test_serve_listens_on_loopback_unless_asked(monkeypatch):
    import digest.serve
    from digest import cli

    seen = {}
    monkeypatch.setattr(digest.serve, "serve", lambda site, host, **_: seen.setdefault("host", host) and 0)
    cli.main(["serve", "."])
    assert seen["host"] == "127.0.0.1"
    assert inspect.signature(running).parameters["host"].default == "127.0.0.1"


# --------------------------------------------------------------------------- digest.toml


def config_problems(text: str) -> list[str]:
    from digest.config import parse_config
    from digest.errors import ConfigError

    with pytest.raises(ConfigError) as caught:
        parse_config(text)
    return [str(p) for p in caught.value.problems]


def test_a_thumbnail_format_that_is_a_list_or_table_is_a_config_problem_not_a_traceback():
    # `thumbnail_formats = [["webp"]]` raised TypeError: unhashable type: 'list'.
    assert config_problems('thumbnail_formats = [["webp"]]\n') == [
        "digest.toml:1: thumbnail_formats: expected a non-empty list from ['avif', 'jpeg', 'png', 'webp'], "
        "got a list [['webp']]"]
    assert len(config_problems('thumbnail_formats = [{a = 1}]\n')) == 1


@pytest.mark.parametrize("url", ["https://example.org//news/", "https://example.org/news//x/",
                                 "https://example.org/a/../b/", "https://example.org/./",
                                 "https://example.org/a/%2E%2e/"])
def test_a_base_url_whose_path_browsers_would_rewrite_is_a_config_problem(url):
    # `//news/` made every link protocol-relative: href="//news/2024/..." leads to a host named news.
    (problem,) = config_problems(f'base_url = "{url}"\n')
    assert problem.startswith("digest.toml:1: base_url: expected an absolute http(s) URL whose path has no "
                              "empty, '.' or '..' parts")


def test_a_base_url_in_capitals_is_written_in_lower_case():
    from digest.config import parse_config

    config = parse_config('base_url = "HTTPS://News.Example.ORG/Digest"\n')
    assert config.base_url == "https://news.example.org/Digest/" and config.base_path == "/Digest/"


@pytest.mark.parametrize("value", ["/etc", "/", "../elsewhere", "public/../../x", "C:\\\\www", "a\\u0000b",
                                   "\\\\\\\\server\\\\share"])
def test_an_output_dir_outside_the_site_is_a_config_problem(value):
    # A digest.toml comes with a site (a clone, a pull request): `/etc` or `../..` built (and
    # pruned) wherever the user may write. Such a folder is asked for with -o instead.
    (problem,) = config_problems(f'output_dir = "{value}"\n')
    assert problem.startswith("digest.toml:1: output_dir: expected a folder inside the site")


def test_an_output_dir_inside_the_site_is_fine():
    from digest.config import parse_config

    assert parse_config('output_dir = "public/site"\n').output_dir == "public/site"


def test_a_key_given_twice_names_the_key_and_both_lines():
    # tomllib said only "Cannot overwrite a value (at end of document)": neither key nor line.
    assert config_problems('page_size = 5\ntitle = "x"\n"page_size" = 6\n') == [
        "digest.toml:3: page_size: given twice (first on line 1); keep one"]


def test_a_problem_names_the_line_of_a_quoted_or_dotted_key_not_a_line_inside_a_string():
    assert config_problems('"page_size" = 0\n') == [
        "digest.toml:1: page_size: expected an integer from 1 to 1000, got an integer 0"]
    assert config_problems('title = "x"\nsite.name = "y"\n') == [
        "digest.toml:2: site: unknown key (did you mean 'title'?)"]
    assert config_problems('description = """\npage_size = 5\n"""\npage_size = 0\n') == [
        "digest.toml:4: page_size: expected an integer from 1 to 1000, got an integer 0"]


def test_a_time_zone_in_the_wrong_case_or_with_spaces_says_which_name_was_meant():
    # `europe/berlin` is not found on Linux (names are file names there): say which one exists.
    assert config_problems('timezone = "america/new york"\n') == [
        "digest.toml:1: timezone: expected an IANA timezone name such as Europe/Berlin "
        "(did you mean 'America/New_York'?), got a string 'america/new york'"]


# --------------------------------------------------------------------------- cached images


def _cached_image_site(make_site, entries: dict[str, tuple[str, bytes | None, str]]):
    """One record per entry: name -> (image URL, cache file bytes or None, cache file extension)."""
    import hashlib

    files: dict[str, str | bytes] = {"digest.toml": "search = false\n"}
    for name, (url, data, ext) in entries.items():
        files[f"content/{name}.md"] = record(
            name, images=f'[{{url: "{url}", width: 300, height: 200, isCached: true}}]')
        if data is not None:
            files[f"content/images/{hashlib.sha256(url.encode()).hexdigest()}.{ext}"] = data
    return make_site(files)


def _animation(fmt: str) -> bytes:
    import io

    from PIL import Image

    frames = [Image.new("RGB", (300, 200), colour) for colour in ((200, 30, 30), (30, 200, 30), (30, 30, 200))]
    buffer = io.BytesIO()
    frames[0].save(buffer, fmt, save_all=True, append_images=frames[1:], duration=100, loop=0)
    return buffer.getvalue()


def test_animated_webp_and_png_give_their_first_frame(make_site):
    from PIL import Image

    from digest.build import build

    site = _cached_image_site(make_site, {
        "webp": ("https://img.example/a.webp", _animation("WEBP"), "webp"),
        "apng": ("https://img.example/a.png", _animation("PNG"), "png")})
    result = build(site, jobs=1)
    assert [p for p in result.problems] == []
    made = list((site / "build" / "thumbs").rglob("*.webp"))
    assert len(made) == 2
    for file in made:
        with Image.open(file) as im:
            assert not getattr(im, "is_animated", False)
            red, green, blue = im.convert("RGB").getpixel((10, 10))
            assert red > 150 and green < 90 and blue < 90


def test_image_urls_that_are_paths_and_cache_files_that_are_no_images_read_nothing_outside(make_site, tmp_path):
    import os

    from digest.build import build

    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    site = _cached_image_site(make_site, {
        "dotdot": ("../../../secret.txt", None, "jpg"), "absolute": (str(secret), None, "jpg"),
        "encoded": ("%2e%2e/%2e%2e/secret.txt", None, "jpg"), "file": (secret.as_uri(), None, "jpg"),
        "bom": ("https://img.example/page.jpg", b"\xef\xbb\xbf<html><script>alert(1)</script></html>", "jpg"),
        "pipe": ("https://img.example/pipe.jpg", None, "jpg")})
    import hashlib
    os.mkfifo(site / "content" / "images" / (hashlib.sha256(b"https://img.example/pipe.jpg").hexdigest() + ".jpg"))
    result = build(site, jobs=1)  # (a named pipe opened for reading would wait forever)
    lines = sorted(str(p) for p in result.problems)
    assert len(lines) == 6 and all(": warning: images[0]: " in line and "\n" not in line for line in lines)
    assert sum("isCached is true but there is no file" in line for line in lines) == 4
    assert any(re.match(r"content/bom\.md:\d+: ", line) and "HTML or XML" in line for line in lines)
    assert any(re.match(r"content/pipe\.md:\d+: ", line) and "not a regular file" in line for line in lines)
    for path in (site / "build").rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert b"TOP-SECRET" not in data and b"alert(1)" not in data, path


# --------------------------------------------------------------------------- digest publish

ODD_NAMES = ["a b.txt", "x#y.txt", "q?.txt", "p%20c.txt", "\u00fcn\u00ef\u30c6.txt", "new\nline.txt",
             "cr\rx.txt", "tab\t.txt", " lead.txt", "trail .txt", "semi;colon+plus&amp.txt"]
"""Output file names from static/ that a key or path must carry exactly."""


def odd_site(make_site, names=ODD_NAMES, raw_names: tuple[bytes, ...] = ()):
    import os

    from digest.build import build

    files = {"digest.toml": "search = false\n", "content/a.md": record("Alpha story")}
    files.update({f"static/odd/{name}": f"body of {name}" for name in names})
    site = make_site(files)
    for raw in raw_names:  # (a name that is not UTF-8 at all)
        with open(os.fsencode(site / "static" / "odd") + b"/" + raw, "wb") as handle:
            handle.write(b"body of " + raw)
    build(site, jobs=1)
    return site


def published_tree(site: Path) -> dict[str, bytes]:
    return folder_tree(site / "build")


def folder_tree(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` by its path as bytes (a name need not be UTF-8)."""
    import os

    root = os.fsencode(folder)
    found = {}
    for dirpath, _, filenames in os.walk(root):
        for name in filenames:
            full = os.path.join(dirpath, name)
            with open(full, "rb") as handle:
                found[os.path.relpath(full, root)] = handle.read()
    return found


def test_git_publish_carries_every_odd_file_name_exactly_and_then_sends_nothing(make_site, tmp_path):
    # A name with a newline broke `hash-object --stdin-paths` and one that is not UTF-8 raised
    # UnicodeEncodeError: the publish died with a traceback.
    import subprocess

    from digest.publish import publish

    site = odd_site(make_site, raw_names=(b"bad\xff.txt",))
    bare = tmp_path / "pages.git"
    subprocess.run(["git", "init", "-q", "--bare", str(bare)], check=True)
    target = f"git+{bare.as_uri()}#gh-pages"
    publish(site, target, build=False)
    listing = subprocess.run(["git", "--git-dir", str(bare), "ls-tree", "-r", "-z", "--name-only", "gh-pages"],
                             capture_output=True, check=True).stdout.split(b"\0")
    on_branch = {}
    for path in filter(None, listing):
        on_branch[path] = subprocess.run(["git", "--git-dir", str(bare), "cat-file", "blob", b"gh-pages:" + path],
                                         capture_output=True, check=True).stdout
    assert on_branch.pop(b".nojekyll") == b""
    assert on_branch == published_tree(site)
    assert b"static/odd/new\nline.txt" in on_branch and b"static/odd/bad\xff.txt" in on_branch
    assert publish(site, target, build=False).plan.empty


def test_a_file_name_in_a_plan_listing_is_one_escaped_line(make_site, tmp_path, capsys):
    from digest.cli import main

    site = odd_site(make_site, names=["x\n  delete     index.html", "esc\x1b[2J.txt"])
    assert main(["publish", str(site), "--no-build", "--dry-run", "--to", (tmp_path / "www").as_uri()]) == 0
    out = capsys.readouterr().out
    assert "  upload     static/odd/x\\n  delete     index.html  (" in out
    assert "static/odd/esc\\x1b[2J.txt" in out and "\x1b" not in out
    assert not any(line.startswith("  delete") for line in out.splitlines())
    # A target folder whose name holds a newline (%0A) is published into, and named on one line.
    assert main(["publish", str(site), "--no-build", "--to", (tmp_path / "www").as_uri() + "%0Anext"]) == 0
    out = capsys.readouterr().out
    assert (tmp_path / "www\nnext" / "index.html").exists()
    assert [line for line in out.splitlines() if line.startswith("Published ")][0].endswith("s).")


@pytest.mark.parametrize("branch", ["a..b", "-x", "main.lock", "a b", "refs/heads/x", "HEAD", "x/", "x\ny"])
def test_a_branch_name_git_would_refuse_or_misread_is_refused_before_anything(make_site, tmp_path, branch):
    # Accepted before: `refs/heads/x` made a branch named refs/heads/refs/heads/x, `HEAD` one
    # named HEAD; the others failed at the push, after the whole plan was made.
    import subprocess

    from digest.publish import PublishError, publish

    site = odd_site(make_site, names=[])
    bare = tmp_path / "pages.git"
    subprocess.run(["git", "init", "-q", "--bare", str(bare)], check=True)
    with pytest.raises(PublishError, match="is not a branch name git accepts"):
        publish(site, f"git+{bare.as_uri()}#{branch}", build=False)
    refs = subprocess.run(["git", "--git-dir", str(bare), "for-each-ref"], capture_output=True, text=True).stdout
    assert refs == ""


@pytest.mark.parametrize("target", [
    "s3://AKIAEXAMPLE:s3cr3t-t0ken@bucket/site",
    "file://user:s3cr3t-t0ken@localhost/tmp/www",
    "git+https://user:s3cr3t-t0ken@[::1/repo.git#gh-pages",
    "https://user:s3cr3t-t0ken@[::1/repo.git",
])
def test_credentials_in_a_target_are_never_printed(make_site, capsys, target):
    # The S3 bucket was printed with its user-info; an unparseable git URL was a traceback.
    from digest.cli import main

    site = odd_site(make_site, names=[])
    for extra in ([], ["--dry-run"]):
        assert main(["publish", str(site), "--no-build", "--to", target, *extra]) == 1
        captured = capsys.readouterr()
        assert "s3cr3t-t0ken" not in captured.out + captured.err
        assert captured.err.startswith("digest: error: ") and captured.err.count("\n") == 1


def test_credentials_in_the_endpoint_url_are_refused_unprinted(make_site, capsys, monkeypatch):
    # botocore printed the whole endpoint in "Could not connect to the endpoint URL: ...".
    pytest.importorskip("boto3")
    from digest.cli import main

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "x")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "y")
    site = odd_site(make_site, names=[])
    assert main(["publish", str(site), "--no-build", "--dry-run", "--to", "s3://bucket/site",
                 "--endpoint-url", "http://key:s3cr3t-t0ken@127.0.0.1:9"]) == 1
    captured = capsys.readouterr()
    assert "s3cr3t-t0ken" not in captured.out + captured.err and "***@127.0.0.1:9" in captured.err


@pytest.mark.parametrize("endpoint", ["localhost:9000", "http://[::1", "ftp://host", "http://127.0.0.1:9/\nx",
                                      "http://host:port/"])
def test_an_endpoint_url_that_is_no_http_url_is_one_line_not_a_traceback(make_site, capsys, monkeypatch, endpoint):
    pytest.importorskip("boto3")
    from digest.cli import main

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "x")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "y")
    site = odd_site(make_site, names=[])
    assert main(["publish", str(site), "--no-build", "--dry-run", "--to", "s3://bucket/site",
                 "--endpoint-url", endpoint]) == 1
    err = capsys.readouterr().err
    assert err.startswith("digest: error: --endpoint-url ") and "expected an http(s) URL" in err
    assert err.count("\n") == 1


@pytest.mark.parametrize("inside", ["content/published", "static", "templates/x"])
def test_a_folder_target_inside_the_sites_sources_is_refused(make_site, inside):
    # The pages were published into content/ (the next build read robots.txt as a record) or
    # static/ (the next build copied the whole site into itself, one level deeper each time).
    from digest.publish import PublishError, publish

    site = odd_site(make_site, names=[])
    with pytest.raises(PublishError, match=f"inside the site's {inside.split('/')[0]}/ folder"):
        publish(site, (site / inside).as_uri(), build=False)
    assert not (site / inside / "index.html").exists()


def test_a_folder_target_inside_records_the_content_folder_links_to_is_refused(make_site, tmp_path):
    import shutil

    from digest.publish import PublishError, publish

    site = odd_site(make_site, names=[])
    records = tmp_path / "records"
    shutil.move(site / "content", records)
    (site / "content").symlink_to(records)
    with pytest.raises(PublishError, match="inside the site's content/ folder"):
        publish(site, (records / "www").as_uri(), build=False)


def test_a_site_with_an_empty_output_folder_is_not_published_over_itself(make_site):
    # The overlap check looked at the files to send: with none, `--delete --force` into the site
    # folder itself deleted the records.
    import shutil

    from digest.publish import Options, PublishError, publish

    site = odd_site(make_site, names=[])
    shutil.rmtree(site / "build")
    (site / "build").mkdir()
    with pytest.raises(PublishError, match="one holds the other"):
        publish(site, site.as_uri(), Options(delete=True, force=True), build=False)
    assert (site / "content" / "a.md").exists()


@pytest.mark.parametrize("url_tail", ["my#site", "my?site", "nul%00byte"])
def test_a_folder_url_that_would_name_another_folder_is_refused(make_site, tmp_path, url_tail):
    # `file:///srv/my#site` published into /srv/my; a %00 raised ValueError (a traceback).
    from digest.publish import PublishError, publish

    site = odd_site(make_site, names=[])
    with pytest.raises(PublishError):
        publish(site, tmp_path.as_uri() + "/" + url_tail, build=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in tmp_path.iterdir()
                                                                if p.name.startswith("site"))


def test_a_folder_of_the_target_linking_elsewhere_is_never_written_through(make_site, tmp_path):
    from digest.publish import PublishError, publish

    site = odd_site(make_site, names=[])
    www, elsewhere = tmp_path / "www", tmp_path / "elsewhere"
    www.mkdir()
    elsewhere.mkdir()
    (www / "static").symlink_to(elsewhere)
    with pytest.raises(PublishError, match="leads out of the target folder"):
        publish(site, www.as_uri(), build=False)
    assert list(elsewhere.iterdir()) == []


def test_links_in_the_output_folder_never_publish_what_lies_outside_it(make_site, tmp_path):
    # The scan followed every link: a link to a secret published it, and a link to a folder
    # holding it made the walk endless (the publish hung).
    import os

    from digest.publish import PublishError, publish

    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    site = odd_site(make_site, names=[])
    out = site / "build"
    www = tmp_path / "www"
    (out / "same.html").symlink_to(out / "index.html")  # inside: published as a copy
    os.mkfifo(out / "pipe")  # skipped (opening it for reading waited forever)
    publish(site, www.as_uri(), build=False)
    assert (www / "same.html").read_bytes() == (out / "index.html").read_bytes()
    assert not (www / "pipe").exists()
    for name, points_to, why in (("leak.txt", secret, "outside the output folder"),
                                 ("up", tmp_path, "outside the output folder"),
                                 ("loop", out, "a folder that holds it"),
                                 ("dangling", tmp_path / "none", "outside the output folder")):
        (out / name).symlink_to(points_to)
        start = time.monotonic()
        with pytest.raises(PublishError, match=why):
            publish(site, (tmp_path / f"www-{name}").as_uri(), build=False)
        assert time.monotonic() - start < 10
        assert not (tmp_path / f"www-{name}").exists()
        (out / name).unlink()


# -- S3, against the real server of tests/test_publish_s3.py

from tests import test_publish_s3  # noqa: E402

seaweed = test_publish_s3.seaweed  # (the fixtures: a real S3 server, a fresh bucket in it)
s3 = test_publish_s3.s3
objects = test_publish_s3.objects


def test_s3_keys_carry_every_odd_file_name_and_prefix_exactly_and_then_nothing_is_sent(
        make_site, s3, seaweed):
    # (A backslash is left out: SeaweedFS stores `a\\b` as `a/b`; AWS keeps it.)
    from digest.publish import Options, publish

    client, bucket = s3
    site = odd_site(make_site)
    options = Options(endpoint_url=seaweed.endpoint)
    # The prefix is read literally, as the AWS CLI reads it (it was cut at # and ?).
    publish(site, f"s3://{bucket}/pre fix#1?v=2%20", options, build=False)
    keys = objects(client, bucket)
    expected = {f"pre fix#1?v=2%20/{path.decode()}" for path in published_tree(site)}
    assert set(keys) == expected
    for name in ODD_NAMES:
        body = client.get_object(Bucket=bucket, Key=f"pre fix#1?v=2%20/static/odd/{name}")["Body"].read()
        assert body == f"body of {name}".encode()
    assert publish(site, f"s3://{bucket}/pre fix#1?v=2%20", options, build=False).plan.empty


def test_s3_a_file_name_that_is_not_utf8_stops_the_publish_before_anything_is_sent(
        make_site, s3, seaweed):
    # UnicodeEncodeError (a traceback) in the middle of the uploads.
    from digest.publish import Options, PublishError, publish

    client, bucket = s3
    site = odd_site(make_site, names=["fine.txt"], raw_names=(b"bad\xff.txt",))
    with pytest.raises(PublishError, match=r"not UTF-8 cannot be S3 keys, e\.g\. static/odd/bad\\udcff\.txt"):
        publish(site, f"s3://{bucket}/site", Options(endpoint_url=seaweed.endpoint), build=False)
    assert objects(client, bucket) == {}


WRONG_VALUES = ['[]', '{}', '"x"', '1.5', 'true', '1979-05-27T07:32:00Z', '[[1]]', '[{a = 1}]', '-1', '0',
                '99999999999999999999', '"\\u0000"', '[true]', '["a", 1]', 'nan', '-inf', '""', '"   "', '[""]']


def test_a_wrong_value_of_any_key_is_one_problem_naming_key_and_line_never_a_traceback():
    from digest.config import _CHECKS, parse_config
    from digest.errors import ConfigError

    for key in _CHECKS:
        for value in WRONG_VALUES:
            try:
                parse_config(f'title = "t"\n{key} = {value}\n')
            except ConfigError as exc:
                assert [(p.line, p.field) for p in exc.problems] == [(2, key)], (key, value)


def test_thousands_of_thumbnail_widths_are_a_config_problem():
    # Each width is encoded for every cached image: 4,081 widths, 4,081 files per picture.
    (problem,) = config_problems(f"thumbnail_widths = {list(range(16, 4097))}\n")
    assert problem.startswith("digest.toml:1: thumbnail_widths: expected a non-empty list of at most 16 integers")


@pytest.mark.parametrize("prefix", ["../site", "a/./b", "a//b"])
def test_s3_a_prefix_a_store_would_read_as_another_folder_is_refused(make_site, prefix):
    pytest.importorskip("boto3")
    from digest.publish import Options, PublishError, publish

    site = odd_site(make_site, names=[])
    with pytest.raises(PublishError, match="the prefix has an empty, '.' or '..' part"):
        publish(site, f"s3://bucket/{prefix}", Options(endpoint_url="http://127.0.0.1:9"), build=False)


def test_s3_a_path_too_long_for_a_key_stops_the_publish_before_anything_is_sent(make_site, s3, seaweed):
    from digest.publish import Options, PublishError, publish

    client, bucket = s3
    site = odd_site(make_site, names=["fine.txt", "/".join(["d" * 200] * 6) + ".txt"])
    with pytest.raises(PublishError, match="longer than the 1024 bytes of an S3 key"):
        publish(site, f"s3://{bucket}/site", Options(endpoint_url=seaweed.endpoint), build=False)
    assert objects(client, bucket) == {}


def test_a_png_colour_key_stays_transparent_in_thumbnails(make_site):
    # An RGB or grey PNG whose tRNS chunk makes one colour transparent (logos): that colour
    # came out opaque (black here) instead of transparent, or white in a JPEG thumbnail.
    import io

    from PIL import Image

    from digest.build import build

    entries = {}
    for mode, key in (("RGB", (0, 0, 0)), ("L", 0)):
        im = Image.new(mode, (300, 200), key)
        im.paste((200, 30, 30) if mode == "RGB" else 200, (0, 0, 150, 200))
        buffer = io.BytesIO()
        im.save(buffer, "PNG", transparency=key)
        entries[mode.lower()] = (f"https://img.example/{mode}.png", buffer.getvalue(), "png")
    site = _cached_image_site(make_site, entries)
    (site / "digest.toml").write_text('search = false\nthumbnail_formats = ["webp", "jpeg"]\n')
    assert build(site, jobs=1).problems == []
    for file in (site / "build" / "thumbs").rglob("*.*"):
        with Image.open(file) as im:
            right = im.convert("RGBA").getpixel((im.width * 3 // 4, im.height // 2))
            if file.suffix == ".webp":
                assert right[3] == 0, (file.name, right)
            else:
                assert min(right[:3]) > 240, (file.name, right)  # flattened on white


@pytest.mark.parametrize("jobs", [1, 4])
def test_an_image_that_kills_its_decoder_costs_one_image_even_with_one_job_or_one_image(make_site, jobs):
    # With -j 1 or fewer than 4 images to make (a rebuild after one edit, as in digest serve)
    # images were decoded in the build's own process: a file that crashes the decoder killed
    # the build (or the server) and every build after it. No real file crashes Pillow on
    # demand: a stand-in dies on a marked file, in a process of its own (this one must live).
    import subprocess
    import sys
    import textwrap

    site = _cached_image_site(make_site, {
        "good": ("https://img.example/good.png", _animation("PNG"), "png"),
        "evil": ("https://img.example/evil.png", _animation("PNG") + b"KILLME", "png")})
    script = textwrap.dedent(f"""
        import os, sys
        from pathlib import Path
        import digest.images as images
        real = images.make_thumbnails
        def dying(raw, info, thumbs, quality):
            if raw.endswith(b"KILLME"):
                os._exit(70)
            return real(raw, info, thumbs, quality)
        images.make_thumbnails = dying
        from digest.build import build
        result = build(Path(sys.argv[1]), jobs={jobs})
        print(result.articles, result.thumbnails.sources)
        for problem in result.problems:
            print(problem)
    """)
    done = subprocess.run([sys.executable, "-c", script, str(site)], capture_output=True, text=True,
                          timeout=120, cwd=Path(__file__).resolve().parent.parent)
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.splitlines()
    assert lines[0] == "2 1"
    assert len(lines) == 2 and re.match(r"content/evil\.md:\d+: warning: images\[0\]: ", lines[1])
    assert "crashed" in lines[1]


def test_an_international_base_url_is_written_as_a_url_in_every_link():
    # An IRI went as it was into sitemaps and RSS (which take URLs only) and HTTP headers.
    from digest.config import parse_config

    config = parse_config('base_url = "https://Bücher.example/nachrichten/über"\n')
    assert config.base_url == "https://xn--bcher-kva.example/nachrichten/%C3%BCber/"
    assert config.base_path == "/nachrichten/%C3%BCber/"
    assert parse_config('base_url = "https://[::1]:8443/my%20news/"\n').base_url == "https://[::1]:8443/my%20news/"
    (problem,) = config_problems(f'base_url = "https://{"a" * 64}.example/"\n')
    assert "whose host is a valid domain name" in problem


def test_a_folder_target_converges_when_a_file_became_a_folder_or_back(make_site, tmp_path, capsys):
    # "cannot write www/static/z: Is a directory" (or "File exists") on every run: the target
    # could not follow a build where a file became a folder, or a folder a file.
    import shutil

    from digest.build import build
    from digest.cli import main

    site = odd_site(make_site, names=["x", "z/w"])
    www = tmp_path / "www"
    assert main(["publish", str(site), "--no-build", "--to", www.as_uri()]) == 0
    (site / "static" / "odd" / "x").unlink()
    (site / "static" / "odd" / "x" / "y.css").parent.mkdir()
    (site / "static" / "odd" / "x" / "y.css").write_text("y")
    shutil.rmtree(site / "static" / "odd" / "z")
    (site / "static" / "odd" / "z").write_text("now a file")
    build(site, jobs=1)
    capsys.readouterr()
    assert main(["publish", str(site), "--no-build", "--dry-run", "--to", www.as_uri()]) == 1
    err = capsys.readouterr().err
    assert "is a file where the build has a folder" in err or "is a folder where the build has a file" in err
    # (one line, but for the output folder's warning that --no-build prints before anything is sent:
    # the static files were written moments before the build, which so could not record that
    # nothing changed since; see `digest.build.built_output`)
    errors = [line for line in err.splitlines() if not line.startswith("build/: warning:")]
    assert "publish with --delete" in err and len(errors) == 1
    assert main(["publish", str(site), "--no-build", "--delete", "--to", www.as_uri()]) == 0
    assert folder_tree(www) == published_tree(site)
    assert main(["publish", str(site), "--no-build", "--delete", "--to", www.as_uri()]) == 0
    assert " 0 uploaded" in capsys.readouterr().out.splitlines()[-1]


def test_an_absurd_upload_count_is_capped(make_site, monkeypatch):
    # `-j 100000` made a thread and an HTTP connection for every file.
    import digest.publish.command as command

    seen = {}

    def fake(site, target, options, **_):
        seen["jobs"] = options.jobs
        raise KeyboardInterrupt

    monkeypatch.setattr(command, "publish", fake)
    from digest.cli import main

    assert main(["publish", ".", "--to", "s3://bucket/x", "-j", "100000"]) == 130
    assert seen["jobs"] == 64


@pytest.mark.parametrize("value", [".digest-cache", "./content/pages", "static", ".", "templates/"])
def test_an_output_dir_that_is_the_site_its_sources_or_its_cache_is_a_config_problem_on_its_line(value):
    # `.digest-cache` mixed the site into the cache (deleting the cache, which is safe, deleted
    # the site); the sources were refused by the build without naming digest.toml's line.
    (problem,) = config_problems(f'title = "t"\noutput_dir = "{value}"\n')
    assert problem.startswith("digest.toml:2: output_dir: expected a folder inside the site other than the site "
                              "itself, content/, static/, templates/ and .digest-cache/")


def test_a_number_of_thousands_of_digits_is_a_config_problem_not_a_traceback():
    # Python refuses to read (or print) an integer of over 4,300 decimal digits: ValueError.
    assert config_problems('title = "t"\npage_size = ' + "9" * 5000 + "\n") == [
        "digest.toml:2: invalid TOML: a number of more than 4,300 digits"]
    assert config_problems("page_size = 0x" + "f" * 5000 + "\n") == [
        "digest.toml:1: page_size: expected an integer from 1 to 1000, got an integer holding a number of "
        "over 4,300 digits"]
    assert len(config_problems("thumbnail_widths = [0x" + "f" * 5000 + "]\n")) == 1


def test_a_base_url_without_its_scheme_says_which_url_was_meant():
    assert config_problems('base_url = "news.example.org/digest"\n') == [
        "digest.toml:1: base_url: expected an absolute http(s) URL without query or fragment, e.g. "
        "https://example.org/news/ (did you mean 'https://news.example.org/digest/'?), got a string "
        "'news.example.org/digest'"]
    (problem,) = config_problems('base_url = "javascript:alert(1)//"\n')
    assert "did you mean" not in problem


def test_credentials_in_an_endpoint_from_the_environment_are_never_printed(make_site, capsys, monkeypatch):
    pytest.importorskip("boto3")
    from digest.cli import main

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "x")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "y")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://key:s3cr3t-t0ken@127.0.0.1:9")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    site = odd_site(make_site, names=[])
    assert main(["publish", str(site), "--no-build", "--dry-run", "--to", "s3://bucket/site"]) == 1
    captured = capsys.readouterr()
    assert "s3cr3t-t0ken" not in captured.out + captured.err and "digest: error: " in captured.err
