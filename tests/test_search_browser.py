"""Search in a real headless browser: Debian's Chromium driven by Playwright over a local server."""

from __future__ import annotations

import contextlib
import functools
import http.server
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from digest.build import build
from digest.search import pagefind_executable
from tests.browser import ARGS, CHROMIUM
from tests.conftest import record

playwright_api = pytest.importorskip("playwright.sync_api", reason="pip install -e '.[test]'")
if not Path(CHROMIUM).exists():
    pytest.skip(f"{CHROMIUM} missing (apt-get install chromium)", allow_module_level=True)
if pagefind_executable() is None:
    pytest.skip("Pagefind missing (pip install -e '.[search]')", allow_module_level=True)


def rec(title: str, when: str, slug: str, **fields) -> str:
    return record(title, when, webUrl=f'"https://news.example.com/{slug}"', **fields)


@contextlib.contextmanager
def serving(root: Path, files: dict[str, str], config: str = "") -> Iterator[str]:
    """``files`` (records by name) built as a site under /digest/ and served on 127.0.0.1;
    yields its base URL."""
    site = root / "site"
    for name, text in files.items():
        (site / "content").mkdir(parents=True, exist_ok=True)
        (site / "content" / name).write_text(text, "utf-8")
    (site / "digest.toml").write_text('base_url = "http://127.0.0.1:1/digest/"\n' + config, "utf-8")
    result = build(site)
    assert "search index built" in result.search
    docroot = root / "www"
    docroot.mkdir()
    shutil.copytree(site / "build", docroot / "digest")

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args) -> None:  # keep test output clean
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                             functools.partial(Quiet, directory=str(docroot)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/digest/"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Iterator[str]:
    """A tiny site built under /digest/ and served on 127.0.0.1; yields its base URL."""
    files = {
        "a.md": rec("Zeppelin fleet returns to the northern skies", "2024-03-01T10:00:00Z", "a",
                    topics='["Aviation"]', provider="{name: Sky Daily, domain: skydaily.example}",
                    excerpt='"Airships are back, say operators."'),
        "b.md": rec("Parliament debates the budget", "2024-03-02T10:00:00Z", "b",
                    topics='["Politics"]', provider="{name: Civic Wire, domain: civic.example}"),
        "c.md": rec("Zeppelin museum opens a new hall", "2024-02-10T10:00:00Z", "c",
                    topics='["Culture"]', provider="{name: Civic Wire, domain: civic.example}"),
        "d.md": rec("Secret zeppelin draft", "2024-03-03T10:00:00Z", "d", published="false"),
    }
    with serving(tmp_path_factory.mktemp("served"), files) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    with playwright_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


def open_search(browser, url: str, javascript: bool = True):
    context = browser.new_context(java_script_enabled=javascript)
    page = context.new_page()
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(url)
    return context, page, requests


def test_typing_a_title_word_finds_that_record(browser, served):
    context, page, requests = open_search(browser, served + "search/")
    try:
        page.fill("#search-q", "zeppelin")
        page.wait_for_selector("#search-results li", timeout=15000)
        page.wait_for_function("document.getElementById('search-status').textContent.includes('found')")
        titles = page.locator("#search-results h2 a").all_inner_texts()
        assert "Zeppelin fleet returns to the northern skies" in titles
        assert "Zeppelin museum opens a new hall" in titles
        assert not any("draft" in t.lower() for t in titles)
        href = page.locator("#search-results h2 a").first.get_attribute("href")
        assert href.startswith("/digest/20")
        assert all(urlsplit(u).hostname == "127.0.0.1" for u in requests), requests
    finally:
        context.close()


def test_filters_and_date_order(browser, served):
    context, page, _ = open_search(browser, served + "search/?q=zeppelin&sort=oldest")
    try:
        page.wait_for_function("document.querySelectorAll('#search-results li').length == 2",
                               timeout=15000)
        assert page.locator("#search-results h2 a").all_inner_texts() == [
            "Zeppelin museum opens a new hall", "Zeppelin fleet returns to the northern skies"]
        options = page.locator("#search-source option").all_inner_texts()
        assert "Sky Daily (1)" in options
        page.select_option("#search-source", "Sky Daily")
        page.wait_for_function("document.querySelectorAll('#search-results li').length == 1")
        assert page.locator("#search-results h2 a").all_inner_texts() == [
            "Zeppelin fleet returns to the northern skies"]
        assert "source=Sky+Daily" in page.url  # the form's state is kept in the address
        page.goto(served + "search/?q=zeppelin&month=2024-02")
        page.wait_for_function("document.getElementById('search-status').textContent.includes('found')")
        assert page.locator("#search-results h2 a").all_inner_texts() == ["Zeppelin museum opens a new hall"]
        assert page.locator("#search-month").input_value() == "2024-02"
    finally:
        context.close()


def test_without_javascript_the_page_says_how_to_search(browser, served):
    context, page, _ = open_search(browser, served + "search/", javascript=False)
    try:
        message = page.locator("#search-nojs")
        assert message.is_visible()
        assert "needs JavaScript" in message.inner_text()
        assert page.locator("form.search-form input[name=q]").is_visible()
    finally:
        context.close()
