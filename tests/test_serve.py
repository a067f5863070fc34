"""digest serve: a real server on a free 127.0.0.1 port, real files, real watchdog events."""

from __future__ import annotations

import http.client
import json
import os
import re
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from digest.build import build
from digest.serve import Preview, ReadWriteLock, _is_loopback, bind, resolve_request, running, serve
from tests.conftest import record

TIMEOUT = 20.0


def get(url_or_running, path: str, method: str = "GET") -> tuple[int, dict[str, str], bytes]:
    """One request, the path sent exactly as given (no client-side normalisation)."""
    host, port = url_or_running.server.server_address[:2]
    conn = http.client.HTTPConnection(host, port, timeout=TIMEOUT)
    try:
        conn.putrequest(method, path, skip_accept_encoding=True)
        conn.endheaders()
        response = conn.getresponse()
        body = response.read()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, body
    finally:
        conn.close()


class Events:
    """A client of the event stream: yields the ``build`` messages, with timeouts."""

    def __init__(self, handle, since: str):
        host, port = handle.server.server_address[:2]
        self.conn = http.client.HTTPConnection(host, port, timeout=TIMEOUT)
        self.conn.request("GET", f"{handle.preview.base_path}__digest/events?since={since}")
        self.response = self.conn.getresponse()
        assert self.response.status == 200
        assert self.response.getheader("Content-Type").startswith("text/event-stream")

    def next(self) -> dict:
        """The next build message (raises on timeout)."""
        event, data = None, None
        while True:
            line = self.response.fp.readline()
            if not line:
                raise AssertionError("event stream closed")
            line = line.decode().rstrip("\n")
            if line.startswith("event:"):
                event = line.split(":", 1)[1].strip()
            elif line.startswith("data:"):
                data = line.split(":", 1)[1].strip()
            elif line == "" and event == "build" and data:
                return json.loads(data)

    def close(self) -> None:
        self.conn.close()


def state_of(body: bytes) -> dict:
    """The live-reload state injected into an HTML response."""
    match = re.search(rb"var S=(\{.*?\}),id=S\.build", body)
    assert match, "no live-reload script in the page"
    return json.loads(match.group(1))


def wait_until(predicate, timeout: float = TIMEOUT, step: float = 0.02):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    raise AssertionError("timed out waiting")


def two_record_site(make_site, **extra):
    files = {
        "content/a.md": record("Alpha story", topics='["AI"]'),
        "content/b.md": record("Beta story", when="2024-01-03T09:00:00Z", topics='["AI"]'),
    }
    files.update(extra)
    return make_site(files)


# --------------------------------------------------------------------------- serving files


def test_pages_types_codes_and_disk_bytes_equal_digest_build(make_site, tmp_path):
    site = two_record_site(make_site)
    with running(site, jobs=1) as handle:
        status, headers, body = get(handle, "/")
        assert status == 200 and headers["content-type"] == "text/html; charset=utf-8"
        assert b"Alpha story" in body and b'id="digest-live-reload"' in body
        assert body.rstrip().endswith(b"</html>")
        assert int(headers["content-length"]) == len(body)
        status, headers, body = get(handle, "/static/style.css")
        assert status == 200 and headers["content-type"].startswith("text/css")
        assert b"digest-live-reload" not in body
        status, headers, _ = get(handle, "/sitemap.xml")
        assert status == 200 and headers["content-type"] == "application/xml"
        status, headers, _ = get(handle, "/feed.json")  # (a JSON Feed, not plain JSON)
        assert status == 200 and headers["content-type"] == "application/feed+json"
        status, headers, _ = get(handle, "/api/index.json")
        assert status == 200 and headers["content-type"] == "application/json"
        status, headers, _ = get(handle, "/robots.txt")
        assert status == 200 and headers["content-type"].startswith("text/plain")
        status, headers, body = get(handle, "/topics")
        assert status == 301 and headers["location"] == "/topics/"
        status, headers, body = get(handle, "/topics/")
        assert status == 200 and b"<html" in body
        status, headers, body = get(handle, "/no/such/page/")
        assert status == 404 and headers["content-type"].startswith("text/html")
        not_found = (handle.preview.out / "404.html").read_bytes()
        assert body.startswith(not_found[: not_found.rfind(b"</body>")])
        status, headers, body = get(handle, "/", method="HEAD")
        assert status == 200 and body == b""
        status, _, _ = get(handle, "/", method="POST")
        assert status == 501
        served = handle.preview.out
    # What serve leaves on disk is exactly what `digest build` makes.
    # (The search index, when the pagefind extra is installed, names its files by a hash
    # that differs from build to build: it is compared by name pattern elsewhere, not here.)
    reference = build(site, tmp_path / "reference", jobs=1).out

    def listing(root: Path) -> list[Path]:
        return sorted(p.relative_to(root) for p in root.rglob("*")
                      if p.is_file() and p.relative_to(root).parts[0] != "pagefind")

    files = listing(served)
    assert files and files == listing(reference)
    for rel in files:
        assert (served / rel).read_bytes() == (reference / rel).read_bytes(), rel
    assert not (site / "build").exists(), "serve must not touch the user's build folder"


def test_traversal_attempts_get_404_and_leak_nothing(make_site, tmp_path):
    secret = "TOP-SECRET-" + "x" * 8
    site = two_record_site(make_site, **{"secret.txt": secret, "content/secret.md": record("S")})
    (tmp_path / "outside.txt").write_text(secret)
    with running(site, jobs=1) as handle:
        out = handle.preview.out
        (out / "link-out.txt").symlink_to(tmp_path / "outside.txt")
        (out / "dir-out").symlink_to(tmp_path)
        attempts = [
            "/../secret.txt", "/../../secret.txt", "/%2e%2e/secret.txt", "/%2E%2E/%2e%2e/secret.txt",
            "/static/../../secret.txt", "/static/%2e%2e/%2e%2e/secret.txt", "/..%2fsecret.txt",
            "/%2e%2e%2f%2e%2e%2fsecret.txt", "/..\\secret.txt", "/%5c..%5csecret.txt",
            "//etc/passwd", "/etc/passwd", "/%2fetc%2fpasswd", "/link-out.txt", "/dir-out/outside.txt",
            "/dir-out/", "/%00", "/index.html%00.txt", "/%ff%fe", "/../../../../../../etc/passwd",
            "/.%2e/.%2e/secret.txt", "/./index.html", "/static/", "/static",
        ]
        for path in attempts:
            status, _, body = get(handle, path)
            assert status in (404, 301), (path, status)
            assert secret.encode() not in body and b"root:" not in body, path
            if status == 301:  # only the folder redirect, and it stays on this site
                assert path == "/static"
    assert resolve_request(out, "a/../../x") == ("missing", None)


def test_only_names_of_this_machine_or_base_url_are_answered_on_loopback(make_site):
    site = two_record_site(make_site, **{"digest.toml": 'base_url = "https://example.org/"\n'})
    with running(site, jobs=1) as handle:
        host, port = handle.server.server_address[:2]
        for name, expected in [(f"127.0.0.1:{port}", 200), (f"localhost:{port}", 200),
                               ("example.org", 200), (f"[::1]:{port}", 200), ("app.localhost", 200),
                               (f"evil.example.com:{port}", 403), ("127.0.0.1.evil.com", 403),
                               ("[::1", 400)]:
            conn = http.client.HTTPConnection(host, port, timeout=TIMEOUT)
            try:
                conn.putrequest("GET", "/", skip_host=True)
                conn.putheader("Host", name)
                conn.endheaders()
                response = conn.getresponse()
                body = response.read()
            finally:
                conn.close()
            assert response.status == expected, name
            if expected != 200:
                assert b"Alpha story" not in body
    preview = Preview(site)
    assert preview.host_allowed("anything.example", "0.0.0.0")  # exposed on purpose
    assert preview.host_allowed(None, "127.0.0.1")  # HTTP/1.0 clients send none


def test_site_is_served_under_the_base_url_path(make_site):
    site = two_record_site(make_site, **{"digest.toml": 'base_url = "https://example.org/news/"\n'})
    with running(site, jobs=1) as handle:
        assert handle.url.endswith("/news/")
        status, headers, _ = get(handle, "/")
        assert status in (301, 302) and headers["location"] == "/news/"
        status, _, body = get(handle, "/news/")
        assert status == 200 and b"Alpha story" in body
        assert state_of(body)["events"] == "/news/__digest/events"
        status, _, _ = get(handle, "/news/static/style.css")
        assert status == 200
        status, _, _ = get(handle, "/static/style.css")
        assert status == 404


def test_read_write_lock_excludes_writers_from_readers():
    lock = ReadWriteLock()
    log: list[str] = []
    entered = threading.Event()

    def writer():
        with lock.write():
            log.append("write")

    with lock.read():
        thread = threading.Thread(target=writer)
        thread.start()
        time.sleep(0.1)
        assert log == []  # the writer waits for the reader
        reader_blocked = threading.Thread(target=lambda: (lock.read().__enter__(), entered.set()))
        reader_blocked.start()
        time.sleep(0.05)
        assert not entered.is_set()  # a new reader waits behind the waiting writer
    thread.join(TIMEOUT)
    reader_blocked.join(TIMEOUT)
    assert log == ["write"] and entered.is_set()


# --------------------------------------------------------------------------- reloading


def test_editing_a_record_fires_the_event_and_the_new_content_appears(make_site):
    site = two_record_site(make_site)
    with running(site, jobs=1) as handle:
        _, _, body = get(handle, "/")
        token = state_of(body)["build"]
        events = Events(handle, token)
        try:
            (site / "content" / "a.md").write_text(record("Gamma headline", topics='["AI"]',
                                                           webUrl='"https://news.example.com/a"'))
            message = events.next()
        finally:
            events.close()
        assert message["action"] == "reload" and message["build"] != token
        _, _, body = get(handle, "/")
        assert b"Gamma headline" in body and b"Alpha story" not in body
        assert state_of(body)["build"] == message["build"]


def test_stylesheet_only_change_swaps_css_without_reload(make_site):
    site = two_record_site(make_site, **{"static/extra.css": "body { color: red }\n"})
    with running(site, jobs=1) as handle:
        _, _, body = get(handle, "/")
        events = Events(handle, state_of(body)["build"])
        try:
            (site / "static" / "extra.css").write_text("body { color: blue }\n")
            message = events.next()
        finally:
            events.close()
        assert message["action"] == "css" and message["css"] == ["/static/extra.css"]
        assert get(handle, "/static/extra.css")[2] == b"body { color: blue }\n"


def test_a_page_from_an_earlier_server_or_older_build_reloads(make_site):
    site = two_record_site(make_site)
    with running(site, jobs=1, watch=False) as handle:
        preview = handle.preview
        current = preview.token(preview.current)
        assert preview.message_since(current) == (None, current)
        message, _ = preview.message_since("deadbeef.1")  # a previous run of the server
        assert message["action"] == "reload"
        message, _ = preview.message_since("garbage")
        assert message["action"] == "reload"
        preview.build_once()  # nothing changed: the page needs nothing
        message, _ = preview.message_since(current)
        assert message["action"] == "none" and message["problems"] == []


def test_a_burst_of_200_edits_in_one_second_is_at_most_two_rebuilds(make_site):
    def story(i: int, title: str) -> str:
        return record(title, when=f"2024-01-{1 + i % 28:02d}T10:00:00Z",
                      webUrl=f'"https://news.example.com/{i}"')

    site = make_site({f"content/r{i:02d}.md": story(i, f"Story {i}") for i in range(50)})
    with running(site, jobs=1) as handle:
        preview = handle.preview
        before = preview.builds
        start = time.monotonic()
        for n in range(200):  # 50 records saved 4 times each, one save every 5 ms
            i = n % 50
            (site / "content" / f"r{i:02d}.md").write_text(story(i, f"Edited {i} v{n // 50}"))
            time.sleep(max(0.0, start + (n + 1) / 200 - time.monotonic()))
        assert time.monotonic() - start < 1.5
        assert preview.wait_for_build(before + 1, TIMEOUT) is not None
        time.sleep(0.5)  # the last file events are surely delivered by now
        assert preview.wait_idle(TIMEOUT)
        pages = b"".join(p.read_bytes() for p in preview.out.rglob("*.html"))
        assert b"Edited 0 v3<" in pages and b"Edited 49 v3<" in pages
        assert b"Story " not in pages and b" v2<" not in pages
        assert 1 <= preview.builds - before <= 2, preview.builds - before


def test_events_during_a_build_cause_exactly_one_more(make_site):
    site = two_record_site(make_site)
    with running(site, jobs=1, watch=False) as handle:
        preview = handle.preview
        before = preview.builds
        preview.touch()
        wait_until(lambda: preview.builds > before)
        for _ in range(5):
            preview.touch()
        wait_until(lambda: preview.builds >= before + 2)
        time.sleep(0.5)
        assert preview.builds == before + 2


# --------------------------------------------------------------------------- problems


def test_broken_template_shows_overlay_and_fixing_it_removes_it(make_site):
    site = two_record_site(make_site)
    with running(site, jobs=1) as handle:
        _, _, body = get(handle, "/")
        events = Events(handle, state_of(body)["build"])
        try:
            (site / "templates").mkdir()
            (site / "templates" / "home.html").write_text(
                '{% extends "base.html" %}\n{% block main %}\n{% if %}\n{% endblock %}\n')
            message = events.next()
            assert message["action"] == "none", "the last good site stays"
            assert len(message["problems"]) == 1
            assert re.match(r"templates/home\.html:3: ", message["problems"][0]), message["problems"]
            status, _, body = get(handle, "/")
            assert status == 200 and b"Alpha story" in body
            assert state_of(body)["problems"] == message["problems"]
            _, _, other = get(handle, "/topics/")
            assert state_of(other)["problems"] == message["problems"], "the overlay is on every page"
            (site / "templates" / "home.html").write_text(
                '{% extends "base.html" %}\n{% block main %}<p>Fixed home</p>{% endblock %}\n')
            message = events.next()
        finally:
            events.close()
        assert message["action"] == "reload" and message["problems"] == []
        _, _, body = get(handle, "/")
        assert b"Fixed home" in body and state_of(body)["problems"] == []


def test_bad_record_is_listed_and_the_rest_still_builds(make_site):
    site = two_record_site(make_site)
    with running(site, jobs=1) as handle:
        _, _, body = get(handle, "/")
        events = Events(handle, state_of(body)["build"])
        try:
            (site / "content" / "bad.md").write_text('---\ntitle: "Broken"\ntopics: "AI"\n---\n')
            message = events.next()
        finally:
            events.close()
        assert any(p.startswith("content/bad.md") for p in message["problems"]), message
        _, _, body = get(handle, "/")
        assert b"Alpha story" in body
        assert any(p.startswith("content/bad.md") for p in state_of(body)["problems"])


def test_broken_config_keeps_the_last_good_site_and_names_the_file(make_site):
    site = two_record_site(make_site, **{"digest.toml": 'title = "Good title"\n'})
    with running(site, jobs=1) as handle:
        _, _, body = get(handle, "/")
        events = Events(handle, state_of(body)["build"])
        try:
            (site / "digest.toml").write_text('title = "Good title"\npage_size = "many"\n')
            message = events.next()
            assert any(p.startswith("digest.toml:2: page_size") for p in message["problems"]), message
            (site / "digest.toml").write_text('title = [unclosed\n')
            message = events.next()
            assert message["problems"] and message["problems"][0].startswith("digest.toml")
            _, _, body = get(handle, "/")
            assert b"Good title" in body
            (site / "digest.toml").write_text('title = "Better title"\n')
            message = events.next()
        finally:
            events.close()
        assert message["action"] == "reload" and message["problems"] == []
        assert b"Better title" in get(handle, "/")[2]


def test_template_runtime_error_names_file_and_line(make_site):
    site = two_record_site(make_site)
    with running(site, jobs=1, watch=False) as handle:
        (site / "templates").mkdir()
        (site / "templates" / "home.html").write_text(
            '{% extends "base.html" %}\n{% block main %}\n\n{{ no_such_thing.attr }}\n{% endblock %}\n')
        outcome = handle.preview.build_once()
        assert not outcome.ok and len(outcome.problems) == 1
        text = str(outcome.problems[0])
        assert text.startswith("templates/home.html:4: ") and "no_such_thing" in text, text
        assert b"Alpha story" in get(handle, "/")[2]


def test_a_site_broken_from_the_start_is_served_with_its_problem_until_fixed(make_site):
    site = two_record_site(make_site, **{"digest.toml": 'page_size = "many"\n'})
    with running(site, jobs=1) as handle:
        status, _, body = get(handle, "/")
        assert status == 404
        problems = state_of(body)["problems"]
        assert problems and problems[0].startswith("digest.toml:1: page_size"), problems
        events = Events(handle, state_of(body)["build"])
        try:
            (site / "digest.toml").write_text("page_size = 5\n")
            message = events.next()
        finally:
            events.close()
        assert message["action"] == "reload" and message["problems"] == []
        status, _, body = get(handle, "/")
        assert status == 200 and b"Alpha story" in body


def test_requests_wait_while_a_build_is_being_swapped_in(make_site):
    site = two_record_site(make_site)
    with running(site, jobs=1, watch=False) as handle:
        swapping = threading.Event()

        def swap() -> None:
            with handle.preview.lock.write():  # what build() holds around its commit
                swapping.set()
                time.sleep(0.6)

        thread = threading.Thread(target=swap)
        thread.start()
        assert swapping.wait(TIMEOUT)
        start = time.monotonic()
        status, _, _ = get(handle, "/")
        waited = time.monotonic() - start
        thread.join(TIMEOUT)
        assert status == 200 and waited >= 0.4, waited


def test_requests_during_rebuilds_never_see_a_partial_page(make_site):
    files = {f"content/r{i:02d}.md": record(f"Story {i}", when=f"2024-01-{1 + i % 28:02d}T10:00:00Z",
                                            webUrl=f'"https://news.example.com/{i}"')
             for i in range(20)}
    files["templates/base.html"] = "<!DOCTYPE html><html><body>MARK-0{% block main %}{% endblock %}MARK-0</body></html>\n"
    site = make_site(files)
    with running(site, jobs=1, watch=False) as handle:
        pages = ["/", "/topics/", "/archive/", "/editions/"]
        stop = threading.Event()
        failures: list[str] = []
        seen: set[bytes] = set()
        counts = [0]

        def hammer() -> None:
            while not stop.is_set():
                for page in pages:
                    status, _, body = get(handle, page)
                    counts[0] += 1
                    marks = set(re.findall(rb"MARK-\d+", body))
                    if status != 200 or len(marks) != 1 or not body.rstrip().endswith(b"</html>"):
                        failures.append(f"{page}: {status} {marks} {body[-80:]!r}")
                    seen.update(marks)

        workers = [threading.Thread(target=hammer) for _ in range(4)]
        for worker in workers:
            worker.start()
        try:
            for n in range(1, 5):
                (site / "templates" / "base.html").write_text(
                    f"<!DOCTYPE html><html><body>MARK-{n}{{% block main %}}{{% endblock %}}MARK-{n}"
                    "</body></html>\n")
                outcome = handle.preview.build_once()
                assert outcome.ok and outcome.written > 0
        finally:
            stop.set()
            for worker in workers:
                worker.join(TIMEOUT)
        assert not failures, failures[:5]
        assert counts[0] > 50 and len(seen) >= 3


# --------------------------------------------------------------------------- the command


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_port_in_use_is_a_clear_message_or_the_next_free_port(make_site, capsys):
    site = two_record_site(make_site)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert serve(site, port=port) == 1
        err = capsys.readouterr().err
        assert f"port {port} on 127.0.0.1 is already in use" in err and "--port" in err
        server = bind("127.0.0.1", port, Preview(site), tries=5)
        try:
            assert server.server_address[1] != port
        finally:
            server.server_close()


def test_loopback_detection():
    assert _is_loopback("127.0.0.1") and _is_loopback("::1") and _is_loopback("localhost")
    assert not _is_loopback("0.0.0.0") and not _is_loopback("192.168.1.5")


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_cli_serves_and_stops_on_ctrl_c_or_sigterm_with_status_130(make_site, signum):
    site = two_record_site(make_site)
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "digest", "serve", str(site), "--port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=Path(__file__).resolve().parent.parent,
        env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        end = time.monotonic() + TIMEOUT
        buffer = b""
        while time.monotonic() < end and b"Serving" not in buffer and proc.poll() is None:
            ready, _, _ = select.select([proc.stderr], [], [], 0.2)  # never block past the deadline
            if ready:
                buffer += os.read(proc.stderr.fileno(), 65536)
        lines = buffer.decode().splitlines()
        assert any(f"http://127.0.0.1:{port}/" in line for line in lines), lines
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
        conn.request("GET", "/")
        response = conn.getresponse()
        assert response.status == 200 and b"Alpha story" in response.read()
        conn.close()
        proc.send_signal(signum)
        _, err = proc.communicate(timeout=TIMEOUT)
        err = buffer + err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(TIMEOUT)
    assert proc.returncode == 130, err.decode()  # 128 + SIGINT: it did not end by itself
    assert b"Traceback" not in err and err.decode().rstrip().endswith("digest serve: stopped")


def test_cli_rejects_a_missing_site_folder(tmp_path, capsys):
    assert serve(tmp_path / "nope", port=free_port()) == 1
    assert "is not a folder" in capsys.readouterr().err


@pytest.mark.parametrize("name,expected", [
    ("content/a.md", True), ("digest.toml", True), ("templates/x.html", True),
    ("static/s.css", True), ("content/.a.md.swp", False), ("content/a.md~", False),
    ("build/index.html", False), (".digest-cache/serve/index.html", False), ("README.md", False),
])
def test_which_changes_trigger_a_rebuild(tmp_path, name, expected):
    assert Preview(tmp_path).relevant(str(tmp_path.resolve() / name)) is expected
