"""digest serve under hostile or unusual conditions (an audit's findings, each a test that
failed before its fix)."""

from __future__ import annotations

import http.client
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from digest.serve import running, serve
from tests.browser import ARGS, CHROMIUM
from tests.conftest import record
from tests.test_serve import state_of

WAIT_MS = 15_000

CSP_HOME = ('{% extends "base.html" %}\n{% block head %}<meta http-equiv="Content-Security-Policy" '
            'content="POLICY">{% endblock %}\n'
            '{% block main %}<p id="words">{{ (page.top or page.latest)[0].title }}</p>{% endblock %}\n')


@pytest.mark.skipif(not os.access(CHROMIUM, os.X_OK), reason="needs /usr/bin/chromium")
@pytest.mark.parametrize("policy", ["default-src 'self'", "default-src 'none'; style-src 'self'"])
def test_live_reload_works_on_pages_with_a_strict_content_security_policy(make_site, policy):
    playwright_api = pytest.importorskip("playwright.sync_api")
    site = make_site({"content/a.md": record("Alpha story", webUrl='"https://news.example.com/a"'),
                      "templates/home.html": CSP_HOME.replace("POLICY", policy)})
    with playwright_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True, timeout=60_000)
        try:
            page = browser.new_page()
            page.set_default_timeout(WAIT_MS)
            violations: list[str] = []
            page.on("console", lambda msg: violations.append(msg.text)
                    if "Content Security Policy" in msg.text else None)
            with running(site, jobs=1) as handle:
                page.goto(handle.url)
                playwright_api.expect(page.locator("#words")).to_have_text("Alpha story")
                (site / "content" / "a.md").write_text(
                    record("Edited story", webUrl='"https://news.example.com/a"'))
                playwright_api.expect(page.locator("#words")).to_have_text("Edited story")
                (site / "content" / "b.md").write_text(record("Broken", topics="oops"))
                playwright_api.expect(page.locator("#digest-overlay")).to_contain_text("content/b.md")
            assert not violations, violations
        finally:
            browser.close()


def _served_text(handle, path: str = "/") -> str:
    host, port = handle.server.server_address[:2]
    conn = http.client.HTTPConnection(host, port, timeout=20)
    try:
        conn.request("GET", path)
        return conn.getresponse().read().decode()
    finally:
        conn.close()


def _wait(predicate, timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def test_a_source_folder_or_the_whole_site_deleted_and_put_back_is_watched_again(make_site, tmp_path):
    site = make_site({"content/a.md": record("Alpha story", webUrl='"https://news.example.com/a"'),
                      "templates/.keep": ""})
    backup = tmp_path / "backup"
    shutil.copytree(site, backup)
    with running(site, jobs=1) as handle:
        # A folder replaced at once (a checkout, a sync tool): the new one is watched.
        for name in ("content", "templates"):
            shutil.rmtree(site / name)
            shutil.copytree(backup / name, site / name)
        assert handle.preview.wait_idle(20)
        time.sleep(0.5)
        (site / "content" / "a.md").write_text(record("Beta story", webUrl='"https://news.example.com/a"'))
        assert _wait(lambda: "Beta story" in _served_text(handle)), "an edit in the new content/ was missed"
        (site / "templates" / "home.html").write_text("<p>Own home</p>\n")
        assert _wait(lambda: "Own home" in _served_text(handle)), "an edit in the new templates/ was missed"

        # The whole site deleted: its problem is shown; put back: served and watched again.
        assert handle.preview.wait_idle(20)
        shutil.rmtree(site)
        assert _wait(lambda: handle.preview.current.problems
                     and "not found" in str(handle.preview.current.problems[0]))
        shutil.copytree(backup, site)
        assert _wait(lambda: not handle.preview.current.problems and "Alpha story" in _served_text(handle))
        (site / "content" / "a.md").write_text(record("Gamma story", webUrl='"https://news.example.com/a"'))
        assert _wait(lambda: "Gamma story" in _served_text(handle)), "an edit in the site put back was missed"


def test_pages_media_and_subtitles_in_static_are_served_with_their_types(make_site):
    site = make_site({"content/a.md": record("Alpha story"),
                      "static/old.htm": "<!DOCTYPE html><html><body><p>Old page</p></body></html>\n",
                      "static/clip.mp4": b"\x00\x00\x00\x18ftypmp42", "static/clip.webm": b"\x1aE\xdf\xa3",
                      "static/talk.mp3": b"ID3", "static/talk.vtt": "WEBVTT\n",
                      "static/data.unknownext": b"\x00"})
    with running(site, jobs=1, watch=False) as handle:
        host, port = handle.server.server_address[:2]

        def fetch(path: str) -> tuple[str, bytes]:
            conn = http.client.HTTPConnection(host, port, timeout=20)
            try:
                conn.request("GET", path)
                response = conn.getresponse()
                return response.getheader("Content-Type"), response.read()
            finally:
                conn.close()

        kind, body = fetch("/static/old.htm")
        assert kind == "text/html; charset=utf-8" and b'id="digest-live-reload"' in body
        assert fetch("/static/clip.mp4")[0] == "video/mp4"
        assert fetch("/static/clip.webm")[0] == "video/webm"
        assert fetch("/static/talk.mp3")[0] == "audio/mpeg"
        assert fetch("/static/talk.vtt")[0] == "text/vtt; charset=utf-8"
        assert fetch("/feeds.opml")[0] == "text/x-opml; charset=utf-8"
        assert fetch("/static/data.unknownext")[0] == "application/octet-stream"


def test_a_server_on_every_address_gives_a_loopback_url(make_site):
    site = make_site({"content/a.md": record("Alpha story")})
    with running(site, host="0.0.0.0", jobs=1, watch=False) as handle:
        assert handle.url.startswith("http://127.0.0.1:"), handle.url
        port = handle.server.server_address[1]
        assert handle.url == f"http://127.0.0.1:{port}/"
        assert "Alpha story" in _served_text(handle)


def test_a_port_that_cannot_be_used_is_named_as_given(make_site, capsys):
    site = make_site({"content/a.md": record("Alpha story")})
    # 192.0.2.1 (TEST-NET-1) is no address of this machine: listening there fails at once.
    assert serve(site, host="192.0.2.1", port=0) == 1
    err = capsys.readouterr().err
    assert "cannot listen on 192.0.2.1:0:" in err, err


def _exchange(handle, data: bytes) -> bytes:
    """``data`` sent as it is on one connection; everything the server answers until it closes."""
    host, port = handle.server.server_address[:2]
    with socket.create_connection((host, port), timeout=5) as sock:
        sock.sendall(data)
        answer = b""
        try:
            while chunk := sock.recv(65536):
                answer += chunk
        except TimeoutError:
            answer += b"<still open>"
    return answer


def test_a_body_sent_with_a_get_is_never_read_as_the_next_request(make_site):
    site = make_site({"content/a.md": record("Alpha story")})
    hidden = b"GET /robots.txt HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n"
    with running(site, jobs=1, watch=False) as handle:
        for framing in (b"Content-Length: %d\r\n\r\n%s" % (len(hidden), hidden),
                        b"Transfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n0\r\n\r\n" % (len(hidden), hidden)):
            answer = _exchange(handle, b"GET /static/style.css HTTP/1.1\r\nHost: localhost\r\n" + framing)
            assert answer.startswith(b"HTTP/1.1 200 ") and b"<still open>" not in answer
            assert answer.count(b"HTTP/1.1 ") == 1, answer[-300:]
            assert b"Sitemap:" not in answer and b"Bad request" not in answer
        # A GET saying Content-Length: 0 has no body: the connection stays open for the next.
        two = b"GET /robots.txt HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\n\r\n"
        answer = _exchange(handle, two + two.replace(b"Content-Length: 0", b"Connection: close"))
        assert answer.count(b"HTTP/1.1 200 ") == 2


SLOW_ARTICLE = ('{% extends "base.html" %}{% block main %}<h1>{{ page.title }}</h1>'
                '{% for i in range(LOOPS) %}{% endfor %}{% endblock %}\n')
"""An article template whose pages take a while each (LOOPS of 500,000: some 60 ms)."""


def _serve_process(site, port: int) -> tuple[subprocess.Popen, bytes]:
    """``digest serve`` in a process group of its own (as a terminal runs it), once serving."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "digest", "serve", str(site), "--port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=Path(__file__).resolve().parent.parent,
        env={**os.environ, "PYTHONUNBUFFERED": "1"}, start_new_session=True)
    buffer = b""
    end = time.monotonic() + 120
    while time.monotonic() < end and b"Serving" not in buffer and proc.poll() is None:
        ready, _, _ = select.select([proc.stderr], [], [], 0.2)
        if ready:
            buffer += os.read(proc.stderr.fileno(), 65536)
    assert b"Serving" in buffer, buffer
    return proc, buffer


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="a render in worker processes needs two cores")
@pytest.mark.parametrize("presses", [1, 2])
def test_ctrl_c_during_a_rebuild_stops_the_build_and_its_workers_without_a_traceback(make_site, presses):
    files = {f"content/r{n:03}.md": record(f"Story {n}", when=f"2024-01-{1 + n % 28:02}T10:00:00Z")
             for n in range(320)}
    files["templates/article.html"] = SLOW_ARTICLE.replace("LOOPS", "1")
    site = make_site(files)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc, err = _serve_process(site, port)
    try:
        (site / "templates" / "article.html").write_text(SLOW_ARTICLE.replace("LOOPS", "500000"))
        time.sleep(1.5)  # the rebuild renders its 320 slow pages in worker processes (some 10 s)
        os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C reaches the whole process group
        if presses == 2:
            time.sleep(0.05)
            os.killpg(proc.pid, signal.SIGINT)
        _, rest = proc.communicate(timeout=60)
        err += rest
        time.sleep(0.5)  # (a worker left behind would print its traceback by now)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(20)
    assert proc.returncode == 130, err.decode()[-2000:]
    assert b"Traceback" not in err and b"stopped" in err, err.decode()[-2000:]
    assert not list((site / ".digest-cache").glob("*staging*")), "the stopped build left its staging folder"
    (site / "templates" / "article.html").write_text(SLOW_ARTICLE.replace("LOOPS", "1"))
    proc, _ = _serve_process(site, port)  # and the next server of the site starts as usual
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=60)
    assert proc.returncode == 130


def test_pages_carry_the_first_problems_errors_first_and_counts_of_all(make_site):
    files = {f"content/w{n:03}.md": record(f"Story {n}", quality='"high"') for n in range(205)}
    files["content/zzz.md"] = record("Broken", topics="oops")  # the error comes last by path
    site = make_site(files)
    with running(site, jobs=1, watch=False) as handle:
        host, port = handle.server.server_address[:2]
        conn = http.client.HTTPConnection(host, port, timeout=20)
        try:
            conn.request("GET", "/")
            body = conn.getresponse().read()
            conn.request("GET", "/__digest/events?since=old.1")
            response = conn.getresponse()
            while not (line := response.fp.readline()).startswith(b"data:"):
                pass
        finally:
            conn.close()
    for state in (state_of(body), json.loads(line[5:])):
        assert state["errors"] == 1 and state["warnings"] == 205
        assert len(state["problems"]) == 200 and state["problems"][0].startswith("content/zzz.md:")
        assert state["key"]
    # Each page had every one of the 206 lines in it (a real archive has thousands).
    assert len(body) < 70_000, len(body)


def _raw(handle, request: bytes) -> tuple[int, dict[str, str], bytes]:
    """One request sent byte for byte (no client normalises it): status, headers, body."""
    host, port = handle.server.server_address[:2]
    with socket.create_connection((host, port), timeout=20) as conn:
        conn.sendall(request)
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), {k.lower(): v for k, v in headers.items()}, body


def test_a_malformed_host_is_refused_with_400_and_only_a_well_formed_one_is_judged(make_site):
    # `localhost#.evil.com` and `evil@localhost`, read as a URL's authority, named localhost and
    # were served on loopback: only a host name or [IPv6 address] with an optional port is a Host.
    site = make_site({"content/a.md": record("Alpha story"),
                      "digest.toml": 'search = false\nbase_url = "https://example.org/"\n'})
    with running(site, jobs=1, watch=False) as handle:
        port = handle.server.server_address[1]
        malformed = ["localhost#.evil.com", "localhost:8000@evil", "evil@localhost", "localhost/x",
                     "localhost?x", "local host", "localhost:", "localhost:http", "localhost:65536",
                     "a..localhost", ".localhost", "localhost%00", "[::1", "[::1]x", "[127.0.0.1]",
                     "[fe80::1%25eth0]", "xn--caf-dma.localhost\u00a0", "", "-.localhost"]
        well_formed = [(f"localhost:{port}", 200), ("LOCALHOST.", 200), (f"[::1]:{port}", 200),
                       ("[0:0:0:0:0:0:0:1]", 200), ("app.localhost", 200), ("example.org:443", 200),
                       ("127.0.0.1.evil.com", 403), ("127.1", 403), ("evil.example:8000", 403),
                       ("under_score.example", 403)]
        for value, expected in [(v, 400) for v in malformed] + well_formed:
            request = f"GET / HTTP/1.1\r\nHost: {value}\r\nConnection: close\r\n\r\n".encode("latin-1")
            status, _, body = _raw(handle, request)
            assert status == expected, (value, status)
            if status != 200:
                assert b"Alpha story" not in body, value
            if status == 400:
                assert b"Malformed Host" in body, value
        # The host of an absolute-form target is held to the same form.
        for target, expected in ((b"http://evil@localhost/", 400), (b"http://localhost:8000@evil/", 400),
                                 (f"http://localhost:{port}/".encode(), 200)):
            status, _, _ = _raw(handle, b"GET " + target + b" HTTP/1.1\r\nHost: localhost\r\n"
                                                          b"Connection: close\r\n\r\n")
            assert status == expected, target


def test_a_raw_utf8_path_is_served_as_its_percent_escaped_form_is(make_site, tmp_path):
    # curl sends `GET /static/caf\xc3\xa9.txt` as typed; it was looked up as the Latin-1 text
    # `cafÃ©.txt` and answered 404 while `/static/caf%C3%A9.txt` was served.
    secret = "TOP-SECRET-" + "y" * 8
    site = make_site({"content/a.md": record("Alpha story"), "secret.txt": secret,
                      "digest.toml": 'search = false\nbase_url = "https://example.org/über/"\n',
                      "static/café.txt": "Café au lait\n",
                      "static/Städte/index.html": "<!DOCTYPE html><title>x</title><p>Straßenbahn</p>\n"})
    with running(site, jobs=1, watch=False) as handle:
        def get(target: bytes) -> tuple[int, dict[str, str], bytes]:
            return _raw(handle, b"GET " + target + b" HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")

        for target in (b"/\xc3\xbcber/static/caf\xc3\xa9.txt", b"/%C3%BCber/static/caf%C3%A9.txt",
                       b"/\xc3\xbcber/static/caf%c3%a9.txt", b"/%c3%bcber/static/caf\xc3\xa9.txt"):
            status, headers, body = get(target)
            assert (status, body) == (200, "Café au lait\n".encode()), target
            assert headers["content-type"] == "text/plain; charset=utf-8"
        status, headers, _ = get(b"/\xc3\xbcber/static/St\xc3\xa4dte")
        assert (status, headers["location"]) == (301, "/%C3%BCber/static/St%C3%A4dte/")
        status, _, body = get(b"/\xc3\xbcber/static/St\xc3\xa4dte/")
        assert status == 200 and "Straßenbahn".encode() in body
        assert get(b"/\xc3\xbcber")[1]["location"] == "/%C3%BCber/"
        # Hostile raw bytes stay refused: traversal, overlong or invalid UTF-8, Latin-1 text.
        for target in (b"/\xc3\xbcber/../secret.txt", b"/\xc3\xbcber/static/../../secret.txt",
                       b"/\xc3\xbcber/\xc0\xae\xc0\xae/secret.txt", b"/\xc3\xbcber/%2e%2e/\xc3\xa9/../secret.txt",
                       b"/\xc3\xbcber/static/caf\xe9.txt", b"/\xfc\x62er/static/caf\xc3\xa9.txt",
                       b"/\xc3\xbcber/static/caf\xc3\xa9.txt\x7f", b"/\xc3\xbcber/\xef\xbc\x8e\xef\xbc\x8e/secret.txt"):
            status, _, body = get(target)
            assert status == 404, (target, status)
            assert secret.encode() not in body
