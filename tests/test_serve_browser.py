"""digest serve in a real browser: Debian's Chromium driven by Playwright (no browser download)."""

from __future__ import annotations

import os
import socket

import pytest

from digest.serve import running
from tests.browser import ARGS, CHROMIUM
from tests.conftest import record

playwright_api = pytest.importorskip("playwright.sync_api")

WAIT_MS = 15_000

pytestmark = pytest.mark.skipif(not os.access(CHROMIUM, os.X_OK), reason="needs /usr/bin/chromium")


@pytest.fixture(scope="module")
def browser():
    with playwright_api.sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True,
                                      timeout=60_000)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context()
    context.set_default_timeout(WAIT_MS)
    page = context.new_page()
    try:
        yield page
    finally:
        context.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_edit_break_and_fix_are_seen_without_any_action(make_site, page):
    site = make_site({
        "content/a.md": record("Alpha story", topics='["AI"]', webUrl='"https://news.example.com/a"'),
        "content/b.md": record("Beta story", when="2024-01-03T09:00:00Z", topics='["AI"]'),
    })
    expect = playwright_api.expect
    with running(site, jobs=1) as handle:
        page.goto(handle.url)
        expect(page.get_by_text("Alpha story").first).to_be_visible()

        # 1. An edited record shows up by itself.
        (site / "content" / "a.md").write_text(
            record("Gamma headline", topics='["AI"]', webUrl='"https://news.example.com/a"'))
        expect(page.get_by_text("Gamma headline").first).to_be_visible()
        expect(page.get_by_text("Alpha story")).to_have_count(0)

        # 2. A broken template: the overlay names file and line; the last good page stays.
        (site / "templates").mkdir()
        (site / "templates" / "home.html").write_text(
            '{% extends "base.html" %}\n{% block main %}\n{% if %}\n{% endblock %}\n')
        overlay = page.locator("#digest-overlay")
        expect(overlay).to_be_visible()
        expect(overlay).to_contain_text("templates/home.html:3:")
        expect(page.get_by_text("Gamma headline").first).to_be_visible()
        page.reload()  # every page load shows it too, not only the open one
        expect(overlay).to_contain_text("templates/home.html:3:")

        # 3. Fixed: the overlay goes and the new template shows.
        (site / "templates" / "home.html").write_text(
            '{% extends "base.html" %}\n{% block main %}<p id="fixed">Fixed home</p>{% endblock %}\n')
        expect(page.locator("#fixed")).to_have_text("Fixed home")
        expect(overlay).to_have_count(0)


def test_stylesheet_swaps_in_place_and_pages_reconnect_after_a_restart(make_site, page):
    site = make_site({"content/a.md": record("Alpha story")})
    port = free_port()
    expect = playwright_api.expect
    with running(site, port=port, jobs=1) as handle:
        page.goto(handle.url)
        expect(page.get_by_text("Alpha story").first).to_be_visible()
        page.evaluate("window.__kept = 'no reload happened'")
        (site / "static").mkdir()
        (site / "static" / "style.css").write_text("body { background-color: rgb(1, 2, 3); }\n")
        page.wait_for_function(
            "getComputedStyle(document.body).backgroundColor === 'rgb(1, 2, 3)'", timeout=WAIT_MS)
        assert page.evaluate("window.__kept") == "no reload happened"

    (site / "content" / "a.md").write_text(record("After restart"))
    with running(site, port=port, jobs=1):
        # The page reconnects by itself and, seeing a new server, reloads.
        expect(page.get_by_text("After restart").first).to_be_visible()
        assert page.evaluate("window.__kept === undefined")


def test_a_hidden_tab_lets_go_and_catches_up_when_shown(make_site, page):
    site = make_site({"content/a.md": record("Alpha story", webUrl='"https://news.example.com/a"')})
    expect = playwright_api.expect
    with running(site, jobs=1) as handle:
        page.goto(handle.url)
        expect(page.get_by_text("Alpha story").first).to_be_visible()
        page.evaluate("""() => {
            Object.defineProperty(document, 'hidden', {value: true, configurable: true});
            document.dispatchEvent(new Event('visibilitychange'));
            window.__kept = 1;
        }""")
        before = handle.preview.builds
        (site / "content" / "a.md").write_text(record("Delta story", webUrl='"https://news.example.com/a"'))
        assert handle.preview.wait_for_build(before + 1, WAIT_MS / 1000) is not None
        page.wait_for_timeout(500)
        assert page.evaluate("window.__kept") == 1, "a hidden tab has no connection, so no reload"
        page.evaluate("""() => {
            Object.defineProperty(document, 'hidden', {value: false, configurable: true});
            document.dispatchEvent(new Event('visibilitychange'));
        }""")
        expect(page.get_by_text("Delta story").first).to_be_visible()


def test_warnings_alone_show_a_collapsed_overlay(make_site, page):
    site = make_site({"content/a.md": record("Alpha story", quality='"high"')})
    expect = playwright_api.expect
    with running(site, jobs=1) as handle:
        assert any(p.severity == "warning" for p in handle.preview.current.problems)
        page.goto(handle.url)
        overlay = page.locator("#digest-overlay")
        expect(overlay.locator("summary")).to_contain_text("0 errors, 1 warning")
        assert overlay.locator("details").evaluate("d => d.open") is False
        expect(overlay.locator("li").first).to_be_hidden()
        overlay.locator("summary").click()
        expect(overlay.locator("li").first).to_contain_text("content/a.md")
        overlay.get_by_role("button", name="Hide problems").click()
        expect(overlay).to_have_count(0)
        page.reload()  # hidden for the rest of the session, until the problems change
        expect(page.get_by_text("Alpha story").first).to_be_visible()
        expect(overlay).to_have_count(0)
