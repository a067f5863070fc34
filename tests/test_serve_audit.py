"""digest serve under hostile or unusual conditions (an audit's findings, each a test that
failed before its fix)."""

from __future__ import annotations

import os

import pytest

from digest.serve import running
from tests.browser import ARGS, CHROMIUM
from tests.conftest import record

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

