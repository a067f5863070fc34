"""Hostile input, fifth sweep: digest.toml line numbers, compact dates, huge byte ranges and
git credentials.

Each test is a defect once found, or guards a promise that matters (see tests/test_hostile4.py
for the fourth sweep).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from .conftest import record

# --------------------------------------------------------------------------- digest.toml lines


def config_problems(text: str) -> list[str]:
    from digest.config import parse_config
    from digest.errors import ConfigError

    with pytest.raises(ConfigError) as caught:
        parse_config(text)
    return [str(p) for p in caught.value.problems]


BAD_PAGE_SIZE = "expected an integer from 1 to 1000, got an integer 0"


@pytest.mark.parametrize("before", [
    # a ''' or """ that opens no multi-line string: in a one-line string, a comment, a key
    "description = \"it's '''quoted'''? no: '''\"\n",
    "description = 'say \"\"\" here'\n",
    "# a comment with ''' and = signs: page_size = 3\n",
    "\"a ''' key\" = 1\n",
    # multi-line strings holding quotes, escaped quotes, key-like lines and closing runs
    "description = '''\npage_size = 5\nit''s '' fine'''\n",
    "description = '''two quotes end it'''''\n",
    "description = \"\"\"\nan escaped \\\"\"\" is no end\npage_size = 5\n\"\"\"\n",
    "description = \"\"\"a quote ends it\"\"\"\"\"\n",
    "description = \"\"\"line \\\n   continued\"\"\"\n",
    # arrays and inline tables spanning lines, with strings and comments inside
    "thumbnail_widths = [\n  320, # page_size = 1\n  640,\n]\n",
    "extra = { a = [\n  \"]\", '''\n}''',\n], b = 1 }\n",
    # dotted and quoted keys, whitespace around dots, an escaped quoted key, a bare key like a number
    "site . name = \"x\"\n\"quoted\".'literal' = 2\n\"esc\\\"aped\" = 3\n1234 = 4\n",
    # a Unicode line separator in a comment or a string (splitlines() took it for a new line)
    "# a comment\u2028with a line separator\ndescription = \"a\u2028b\u0085c\"\n",
    # CRLF line ends
    "title = \"x\"\r\n# c\r\n",
])
def test_a_problem_after_any_valid_toml_names_its_own_line(before):
    text = before + "page_size = 0\n"
    line = text.count("\n")
    found = config_problems(text)
    assert f"digest.toml:{line}: page_size: {BAD_PAGE_SIZE}" in found, found


def test_a_literal_string_with_three_quotes_then_a_bad_key():
    # The review's case: the ''' inside a one-line string opened a "multi-line string" that never
    # closed, and every later key lost its line.
    text = "title = \"Tom's '''digest\"\ndescription = 'ok'\nlanguage = \"english\"\n"
    assert config_problems(text) == [
        "digest.toml:3: language: expected a language tag such as en or pt-BR, got a string 'english'"]


def test_keys_of_tables_are_not_top_level_keys():
    # `page_size` set inside [extra] is not the top-level table [page_size] further down.
    text = "title = \"x\"\n[extra]\npage_size = 3\n[page_size]\nx = 1\n"
    assert config_problems(text)[-1].startswith("digest.toml:4: page_size: expected an integer")
    text = "[[posts]]\nname = 1\n[posts.more]\n"
    assert config_problems(text) == ["digest.toml:1: posts: unknown key"]


def test_a_key_given_twice_after_a_multi_line_string_names_both_lines():
    text = 'description = """\nit\'s """\npage_size = 5\n"page_size" = 6\n'
    assert config_problems(text) == ["digest.toml:4: page_size: given twice (first on line 3); keep one"]


def test_line_lookup_is_not_quadratic_in_the_number_of_keys():
    import time

    text = "".join(f"key{n} = {n}\n" for n in range(20000))
    start = time.process_time()  # (this process's CPU: the wall clock of a busy machine failed it at 6.5 s)
    found = config_problems(text)
    assert len(found) == 20000 and found[-1].startswith("digest.toml:20000: key19999: unknown key")
    assert time.process_time() - start < 5  # (2.2-2.5 s of CPU here)


# --------------------------------------------------------------------------- compact dates

HEAD = "title: A story\nwebUrl: https://news.example.com/a\n"
DATE_PROBLEM = ("content/x.md:4: publishedDateTime: expected an ISO 8601 date-time such as "
                "2021-11-30T20:18:00Z, got ")


def parse(front: str) -> tuple[object, list[str]]:
    from digest.load import parse_record

    result = parse_record(f"---\n{front}\n---\n".encode(), "content/x.md")
    return result.article, [str(p) for p in result.problems]


def published(value: str) -> tuple[str | None, list[str]]:
    article, problems = parse(f"{HEAD}publishedDateTime: {value}")
    return (article.published.isoformat() if article else None), problems


@pytest.mark.parametrize("given", ["20261126", "'20261126'", '"20261126"', " 20261126 "])
def test_a_compact_date_is_the_same_date_quoted_or_not(given):
    # `"20261126"` was ISO 8601's basic date, `20261126` (an integer to YAML) an error.
    assert published(given) == ("2026-11-26T00:00:00+00:00", [])


def test_a_compact_date_in_json_front_matter_and_in_other_date_fields():
    from digest.load import parse_record

    raw = ('{"title": "A story", "webUrl": "https://news.example.com/a", "publishedDateTime": 20261126,\n'
           ' "updatedDateTime": 20261127}\n')
    result = parse_record(raw.encode(), "content/x.md")
    assert list(result.problems) == []
    assert (result.article.published.isoformat(), result.article.updated.isoformat()) == (
        "2026-11-26T00:00:00+00:00", "2026-11-27T00:00:00+00:00")
    article, problems = parse(f"{HEAD}publishedDateTime: 20261126\nupdatedDateTime: 20261127")
    assert problems == [] and article.updated.isoformat() == "2026-11-27T00:00:00+00:00"


@pytest.mark.parametrize(("given", "shown"), [
    ("20261399", "an integer"),  # month 13
    ("'20261399'", "'20261399'"),
    ("20260230", "an integer"),  # 30 February
    ("'20260230'", "'20260230'"),
    ("18991231", "an integer"),  # years before 1900 or after 2299: no date anyone means
    ("'18991231'", "'18991231'"),
    ("23000101", "an integer"),
    ("'23000101'", "'23000101'"),
    ("'00010101'", "'00010101'"),
    ("12345678", "an integer"),
    ("'1234567'", "'1234567'"),  # seven digits, nine digits
    ("123456789", "an integer"),
])
def test_an_eight_digit_value_that_is_no_date_is_one_problem_quoted_or_not(given, shown):
    assert published(given) == (None, [DATE_PROBLEM + shown])


@pytest.mark.parametrize(("given", "instant"), [
    ("1795687200", "2026-11-26T10:00:00+00:00"),  # epoch seconds, as before
    ("'1795687200'", "2026-11-26T10:00:00+00:00"),
    ("1795687200000", "2026-11-26T10:00:00+00:00"),  # milliseconds
    ("'1795687200000'", "2026-11-26T10:00:00+00:00"),
    ("'20261126T103000Z'", "2026-11-26T10:30:00+00:00"),  # ISO 8601's basic date-time
])
def test_ten_and_thirteen_digit_numbers_stay_epoch_times(given, instant):
    assert published(given) == (instant, [])


# --------------------------------------------------------------------------- digest serve: ranges

TIMEOUT = 10.0
HUGE = "9" * 23


def range_get(handle, range_header: str) -> tuple[int, dict[str, str], bytes]:
    """Status, headers (lower-case names) and body of a GET of /static/clip.bin (100 bytes)."""
    import socket

    host, port = handle.server.server_address[:2]
    with socket.create_connection((host, port), timeout=TIMEOUT) as conn:
        conn.sendall(("GET /static/clip.bin HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
                      f"Range: {range_header}\r\n\r\n").encode())
        chunks = []
        while chunk := conn.recv(65536):
            chunks.append(chunk)
    head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {name.strip().lower(): value.strip()
               for name, _, value in (line.partition(":") for line in lines[1:])}
    return int(lines[0].split()[1]), headers, body


def seen(answer: tuple[int, dict[str, str], bytes]) -> tuple:
    """What a client acts on (not the Date header, which may tick between two requests)."""
    status, headers, body = answer
    return status, headers.get("content-range"), headers.get("content-length"), body


def test_huge_numbers_in_a_range_act_as_their_small_equivalents(make_site):
    # `bytes=0-99999999999999999999999` (past 18 digits) was taken for a malformed header:
    # 200 and the whole file. RFC 9110 14.1.2: a last byte past the end means the end, a
    # suffix longer than the file the whole file, a first byte past the end 416.
    from digest.serve import running


    site = make_site({"digest.toml": "search = false\n", "content/a.md": record("Alpha story"),
                      "static/clip.bin": bytes(range(100))})
    with running(site, jobs=1) as handle:
        for huge, small in ((f"bytes=0-{HUGE}", "bytes=0-999999"),
                            (f"bytes=10-{HUGE}", "bytes=10-"),
                            (f"bytes=-{HUGE}", "bytes=-999999"),
                            (f"bytes={HUGE}-", "bytes=100-"),
                            (f"bytes={HUGE}-{HUGE}", "bytes=999999-999999"),
                            ("bytes=0000000000000000000000000010-0000000000000000000000019", "bytes=10-19"),
                            (f"bytes={'9' * 5000}-", "bytes=100-"),
                            (f"bytes={HUGE}-1", "bytes=5-1")):  # (last before first: ignored, as small)
            assert seen(range_get(handle, huge)) == seen(range_get(handle, small)), huge
        status, headers, body = range_get(handle, f"bytes=0-{HUGE}")
        assert (status, headers["content-range"], body) == (206, "bytes 0-99/100", bytes(range(100)))
        status, headers, body = range_get(handle, f"bytes=-{HUGE}")
        assert (status, headers["content-range"], body) == (206, "bytes 0-99/100", bytes(range(100)))
        status, headers, body = range_get(handle, f"bytes={HUGE}-")
        assert (status, headers["content-range"], body) == (416, "bytes */100", b"")
        for malformed in (f"bytes=x{HUGE}-", f"bytes={HUGE}", f"bytes=-{HUGE}-", "bytes=1e99-",
                          f"bytes=0-{HUGE},5-6", f"bytes= 0 - {HUGE}x"):
            status, _, body = range_get(handle, malformed)
            assert (status, len(body)) == (200, 100), malformed


def test_byte_range_of_huge_numbers_needs_no_huge_integers():
    from digest.serve import byte_range

    assert byte_range([f"bytes=0-{'9' * 60000}"], 10) == (0, 9)
    assert byte_range([f"bytes=-{'9' * 60000}"], 10) == (0, 9)
    assert byte_range([f"bytes={'9' * 60000}-"], 10) == "unsatisfiable"
    assert byte_range([f"bytes={'0' * 60000}5-"], 10) == (5, 9)
    assert byte_range([f"bytes=-{'0' * 60000}"], 10) == "unsatisfiable"  # (as bytes=-0)
    assert byte_range([f"bytes={'9' * 25}-{'9' * 24}"], 10) is None  # (last before first, as bytes=5-1)
    assert byte_range([f"bytes={'9' * 25}-{'9' * 25}"], 10) == "unsatisfiable"


# --------------------------------------------------------------------------- publish: git over https

TOKEN = "ghp_s3cr3tT0ken4242"


class _GitHttp:
    """A git smart-HTTP server on 127.0.0.1 (``git http-backend`` behind HTTP Basic
    authentication): pushing to it over http needs the user name and token."""

    def __init__(self, root: Path, user: str, password: str):
        import base64
        import http.server
        import threading

        expected = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
        self.seen_users: list[str] = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, format, *args):  # noqa: A002 - the base class's name
                pass

            def do_GET(self):
                self._cgi()

            def do_POST(self):
                self._cgi()

            def _body(self) -> bytes:
                if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                    parts = []
                    while size := int(self.rfile.readline().split(b";")[0], 16):
                        parts.append(self.rfile.read(size))
                        self.rfile.readline()
                    self.rfile.readline()
                    return b"".join(parts)
                return self.rfile.read(int(self.headers.get("Content-Length") or 0))

            def _cgi(self):
                import subprocess

                body = self._body() if self.command == "POST" else b""
                if self.headers.get("Authorization") != expected:
                    self.send_response(401)
                    self.send_header("WWW-Authenticate", 'Basic realm="pages"')
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                outer.seen_users.append(user)
                path, _, query = self.path.partition("?")
                env = {"GIT_PROJECT_ROOT": str(root), "GIT_HTTP_EXPORT_ALL": "1", "PATH_INFO": path,
                       "QUERY_STRING": query, "REQUEST_METHOD": self.command, "REMOTE_USER": user,
                       "REMOTE_ADDR": "127.0.0.1", "CONTENT_TYPE": self.headers.get("Content-Type", ""),
                       "CONTENT_LENGTH": str(len(body)), "PATH": os.environ["PATH"],
                       "HTTP_CONTENT_ENCODING": self.headers.get("Content-Encoding", ""),
                       "GIT_PROTOCOL": self.headers.get("Git-Protocol", "")}
                done = subprocess.run(["git", "http-backend"], input=body, env=env, capture_output=True,
                                      check=False)
                head, _, out = done.stdout.partition(b"\r\n\r\n")
                status = 200
                headers = []
                for line in head.decode("latin-1").split("\r\n"):
                    name, _, value = line.partition(":")
                    if name.lower() == "status":
                        status = int(value.split()[0])
                    elif name:
                        headers.append((name, value.strip()))
                self.send_response(status)
                for name, value in headers:
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def _git_logging_path(tmp_path: Path) -> tuple[dict[str, str], Path]:
    """An environment whose ``git`` (first on PATH) logs its argv, one call a line, then runs
    the real git; GIT_TRACE logs the argv of every process git starts (remote helpers,
    credential helpers) to the same file."""
    import shutil

    real = shutil.which("git")
    shim = tmp_path / "shim"
    shim.mkdir()
    log = tmp_path / "git-argv.log"
    (shim / "git").write_text(f'#!/bin/sh\nprintf "argv: %s\\n" "$*" >> "{log}"\nexec "{real}" "$@"\n')
    (shim / "git").chmod(0o755)
    env = {"PATH": f"{shim}{os.pathsep}{os.environ['PATH']}", "GIT_TRACE": str(log)}
    return env, log


def _bare_repo(path: Path) -> Path:
    import subprocess

    subprocess.run(["git", "init", "-q", "--bare", str(path)], check=True)
    return path


def _branch_files(repo: Path) -> set[str]:
    import subprocess

    done = subprocess.run(["git", "--git-dir", str(repo), "ls-tree", "-r", "--name-only", "gh-pages"],
                          capture_output=True, text=True, check=True)
    return set(done.stdout.split())


@pytest.mark.skipif(__import__("shutil").which("git") is None, reason="git is not installed")
def test_a_token_in_an_https_git_target_never_reaches_a_command_line_or_the_output(
        make_site, tmp_path, monkeypatch, capsys):
    # `git push https://user:TOKEN@host/...` showed the token to every user of the machine (ps).
    from digest.build import build
    from digest.cli import main

    site = make_site({"digest.toml": "search = false\n", "content/a.md": record("Alpha story")})
    build(site, jobs=1)
    repos = tmp_path / "served"
    repos.mkdir()
    _bare_repo(repos / "pages.git")
    env, log = _git_logging_path(tmp_path)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with _GitHttp(repos, "publisher", TOKEN) as server:
        target = f"git+http://publisher:{TOKEN}@127.0.0.1:{server.port}/pages.git#gh-pages"
        code = main(["publish", str(site), "--no-build", "--to", target])
        captured = capsys.readouterr()
        assert code == 0, captured.err
        assert server.seen_users  # (it did authenticate)
        assert "index.html" in _branch_files(repos / "pages.git")
        # A second publish reads the branch back (ls-remote and fetch authenticate too).
        (site / "content" / "b.md").write_text(record("Beta story"), encoding="utf-8")
        build(site, jobs=1)
        code = main(["publish", str(site), "--no-build", "--to", target])
        captured2 = capsys.readouterr()
        assert code == 0, captured2.err
    argv = log.read_text("utf-8", "replace")
    assert "argv: " in argv and "push" in argv and "ls-remote" in argv and "git-remote-http" in argv
    assert TOKEN not in argv and "publisher:" not in argv
    for out in (captured.out, captured.err, captured2.out, captured2.err):
        assert TOKEN not in out


@pytest.mark.skipif(__import__("shutil").which("git") is None, reason="git is not installed")
def test_a_wrong_token_fails_without_a_prompt_and_without_showing_it(make_site, tmp_path, capsys):
    from digest.build import build
    from digest.cli import main

    site = make_site({"digest.toml": "search = false\n", "content/a.md": record("Alpha story")})
    build(site, jobs=1)
    repos = tmp_path / "served"
    repos.mkdir()
    _bare_repo(repos / "pages.git")
    with _GitHttp(repos, "publisher", TOKEN) as server:
        wrong = "wr0ng-t0ken-123"
        target = f"git+http://publisher:{wrong}@127.0.0.1:{server.port}/pages.git#gh-pages"
        code = main(["publish", str(site), "--no-build", "--to", target])
        captured = capsys.readouterr()
    assert code == 1 and wrong not in captured.out + captured.err
    assert "***@127.0.0.1" in captured.err and not server.seen_users


@pytest.mark.skipif(__import__("shutil").which("git") is None, reason="git is not installed")
def test_the_credentials_reach_git_through_its_credential_protocol_only():
    import subprocess

    from digest.publish.git import GitTarget

    target = GitTarget(f"git+https://x-access-token:{TOKEN}@git.example.com:8443/u/site.git#pages")
    try:
        assert target.remote == "https://git.example.com:8443/u/site.git"
        options, env = target.credentials()
        assert TOKEN not in " ".join(options) and env["DIGEST_GIT_PASSWORD"] == TOKEN
        done = subprocess.run(["git", *options, "credential", "fill"], input=b"protocol=https\n"
                              b"host=git.example.com:8443\npath=u/site.git\n\n",
                              env=dict(os.environ, **env, GIT_TERMINAL_PROMPT="0"), capture_output=True,
                              check=True)
        assert f"username=x-access-token\npassword={TOKEN}\n".encode() in done.stdout
    finally:
        target.close()
    # Percent-escapes in user-info are the characters they stand for, as git reads them.
    target = GitTarget("git+https://me%40corp:p%2Fss%3Aw@host.example/r.git")
    try:
        assert target.remote == "https://host.example/r.git"
        assert target.credentials()[1] == {"DIGEST_GIT_USERNAME": "me@corp", "DIGEST_GIT_PASSWORD": "p/ss:w"}
    finally:
        target.close()


@pytest.mark.skipif(__import__("shutil").which("git") is None, reason="git is not installed")
@pytest.mark.parametrize("url", ["git+ssh://git@github.com/u/site.git#gh-pages",
                                 "git+file:///srv/pages.git#gh-pages",
                                 "git+https://github.com/u/site.git#gh-pages"])
def test_targets_without_a_password_go_to_git_as_written(url):
    from digest.publish.git import GitTarget

    target = GitTarget(url)
    try:
        assert target.remote == url[len("git+"):].partition("#")[0]
        assert target.credentials() == ([], {})
    finally:
        target.close()


@pytest.mark.skipif(__import__("shutil").which("git") is None, reason="git is not installed")
def test_credentials_with_a_line_break_are_refused_before_git_runs():
    from digest.publish import PublishError
    from digest.publish.git import GitTarget

    with pytest.raises(PublishError) as caught:
        GitTarget("git+https://me:tok%0Aen@host.example/r.git")
    assert "tok" not in str(caught.value) and "line break" in str(caught.value)


@pytest.mark.skipif(__import__("shutil").which("git") is None, reason="git is not installed")
def test_a_user_name_alone_still_gets_its_password_from_the_users_credential_helper(
        make_site, tmp_path, monkeypatch, capsys):
    # `https://alice@bitbucket.org/...` (Bitbucket's own clone URLs): the password comes from the
    # user's keychain. The name leaves the command line too (a token may stand there alone).
    from digest.build import build
    from digest.cli import main
    from digest.publish.git import GitTarget

    monkeypatch.delenv("GIT_CONFIG_COUNT", raising=False)
    target = GitTarget("git+https://publisher@host.example/r.git")
    try:
        assert target.remote == "https://host.example/r.git"
        assert target.credentials() == ([], {"GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": "credential.username",
                                             "GIT_CONFIG_VALUE_0": "publisher"})
    finally:
        target.close()
    monkeypatch.setenv("GIT_CONFIG_COUNT", "1")  # (one of the user's own is kept)
    monkeypatch.setenv("GIT_CONFIG_KEY_0", "user.name")
    monkeypatch.setenv("GIT_CONFIG_VALUE_0", "Someone")
    target = GitTarget("git+https://publisher@host.example/r.git")
    try:
        assert target.credentials()[1]["GIT_CONFIG_COUNT"] == "2"
        assert target.credentials()[1]["GIT_CONFIG_VALUE_1"] == "publisher"
    finally:
        target.close()

    site = make_site({"digest.toml": "search = false\n", "content/a.md": record("Alpha story")})
    build(site, jobs=1)
    repos = tmp_path / "served"
    repos.mkdir()
    _bare_repo(repos / "pages.git")
    keychain = tmp_path / "gitconfig"  # (a helper that knows the password of `publisher` only)
    keychain.write_text('[credential]\n\thelper = "!f() { cat > ' + str(tmp_path / "asked") + '; '
                        'grep -qx username=publisher ' + str(tmp_path / "asked") + ' && echo password='
                        + TOKEN + '; }; f"\n')
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(keychain))
    env, log = _git_logging_path(tmp_path)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with _GitHttp(repos, "publisher", TOKEN) as server:
        code = main(["publish", str(site), "--no-build", "--to",
                     f"git+http://publisher@127.0.0.1:{server.port}/pages.git#gh-pages"])
        captured = capsys.readouterr()
    assert code == 0, captured.err
    assert server.seen_users and "index.html" in _branch_files(repos / "pages.git")
    assert "publisher@" not in log.read_text("utf-8", "replace")


# --------------------------------------------------------------------------- zone names of the system

@pytest.mark.parametrize(("name", "hint"), [
    ("localtime", " (localtime is the zone of the machine that builds: name that zone)"),
    ("posixrules", ""),
    ("right/Europe/Paris", " (did you mean 'Europe/Paris'?)"),  # (zoneinfo read it as +02:00 in November)
    ("posix/Europe/Paris", " (did you mean 'Europe/Paris'?)"),
])
def test_a_timezone_that_is_a_file_of_the_system_not_an_iana_name_is_a_config_problem(name, hint):
    # `localtime` built the site in the build machine's own zone: other editions and article URLs
    # on another machine; `right/Europe/Paris` (leap seconds) was an hour off in winter.
    assert config_problems(f'title = "x"\ntimezone = "{name}"\n') == [
        f"digest.toml:2: timezone: expected an IANA timezone name such as Europe/Berlin{hint}, "
        f"got a string {name!r}"]


@pytest.mark.parametrize("name", ["localtime", "posixrules", "right/Europe/Paris", "posix/Europe/Paris"])
def test_a_zone_suffix_that_is_a_file_of_the_system_is_a_date_problem(name):
    given = f"'2026-11-26T10:00:00[{name}]'"
    assert published(given) == (None, [DATE_PROBLEM + given])
    assert published("'2026-11-26T10:00:00[Europe/Paris]'") == ("2026-11-26T10:00:00+01:00", [])


# --------------------------------------------------------------------------- output_dir spellings

@pytest.mark.parametrize("value", ["Content", "STATIC/x", "./Templates", "content.", "content ", ".Digest-Cache",
                                   "static. /x"])
def test_an_output_dir_that_is_a_source_folder_on_some_file_system_is_a_config_problem(value):
    # macOS and Windows file systems ignore case (and Windows trailing dots and spaces): `Content`
    # is the site's content/ folder there, and the build wrote its pages into it.
    (problem,) = config_problems(f'output_dir = "{value}"\n')
    assert problem.startswith("digest.toml:1: output_dir: expected a folder inside the site other than "
                              "the site itself, content/"), problem


@pytest.mark.parametrize("value", ["build", "public/site", "contents", "static-site", "_site"])
def test_other_output_dirs_are_still_fine(value):
    from digest.config import parse_config

    assert parse_config(f'output_dir = "{value}"\n').output_dir == value


@pytest.mark.parametrize(("value", "why"), [
    ("https://xn--/", "whose host is a valid domain name"),  # an empty Punycode label
    ("https://xn--zz.example/", "whose host is a valid domain name"),  # no Punycode at all
    ("https://news.example:0/", "whose port, if any, is 1 to 65535"),  # no server listens there
    ("https://news.example:70000/", "whose port, if any, is 1 to 65535"),
])
def test_a_base_url_no_browser_can_reach_is_a_config_problem(value, why):
    # Every feed, sitemap and canonical link is written from base_url: these made all of them dead.
    (problem,) = config_problems(f'base_url = "{value}"\n')
    assert problem.startswith(f"digest.toml:1: base_url: expected an absolute http(s) URL {why}"), problem


@pytest.mark.parametrize("value", ["https://xn--bcher-kva.example/", "https://news.example:8443/",
                                   "http://[::1]:8000/", "http://127.0.0.1:8000/x/"])
def test_real_hosts_and_ports_in_a_base_url_are_still_fine(value):
    from digest.config import parse_config

    assert parse_config(f'base_url = "{value}"\n').base_url == value


# --------------------------------------------------------------------------- -o into the sources


def _files_under(folder: Path) -> dict[str, bytes]:
    """Every file below ``folder`` but the build cache's (its lock is taken before the output
    folder is checked)."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and ".digest-cache" not in p.parts}


@pytest.mark.parametrize("out", ["content", "content/more", ".", "..", "static", "templates/x"])
def test_building_into_the_sites_own_folders_is_refused_and_writes_nothing(make_site, capsys, out):
    from digest.cli import main

    site = make_site({"content/a.md": record("A story"), "static/extra.css": "body{}\n",
                      "templates/extra.html": "<p>extra</p>\n"})
    before = _files_under(site.parent)
    assert main(["build", str(site), "-o", str(site / out), "-j", "1"]) == 1
    assert "it holds the site's own files" in capsys.readouterr().err
    assert _files_under(site.parent) == before


def test_an_output_folder_that_is_the_content_folder_under_another_name_is_refused(make_site, tmp_path, capsys):
    # Where a file system ignores case, `-o Content` is content/; a second mount of a folder is
    # another such name. Both were compared by name only, and the pages went into the records.
    import subprocess

    from digest.cli import main

    if os.name != "posix" or os.geteuid() != 0:
        pytest.skip("a bind mount needs root")
    site = make_site({"content/a.md": record("A story")})
    alias = tmp_path / "alias"
    alias.mkdir()
    made = subprocess.run(["mount", "--bind", str(site / "content"), str(alias)], capture_output=True, text=True)
    if made.returncode != 0:
        pytest.skip(f"cannot bind-mount: {made.stderr.strip()}")
    try:
        before = _files_under(site / "content")
        assert main(["build", str(site), "-o", str(alias), "-j", "1"]) == 1
        assert main(["build", str(site), "-o", str(alias / "sub"), "-j", "1"]) == 1
        assert capsys.readouterr().err.count("it holds the site's own files") == 2
        assert _files_under(site / "content") == before
    finally:
        subprocess.run(["umount", "-l", str(alias)], capture_output=True)
