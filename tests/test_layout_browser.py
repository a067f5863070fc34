"""Layout in a real headless browser (Debian's Chromium driven by Playwright): a phone-wide
screen never scrolls sideways, whatever words the records hold."""

from __future__ import annotations

import functools
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from digest.build import build
from tests.browser import ARGS, CHROMIUM
from tests.conftest import record

playwright_api = pytest.importorskip("playwright.sync_api", reason="pip install -e '.[test]'")
if not Path(CHROMIUM).exists():
    pytest.skip(f"{CHROMIUM} missing (apt-get install chromium)", allow_module_level=True)

WORD = "Supercalifragilistic" * 12  # 240 letters, no break opportunity
URL = "https://news.example.com/" + "x" * 200


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Iterator[tuple[str, Path]]:
    """A site whose record has a 240-letter word everywhere, served on 127.0.0.1."""
    site = tmp_path_factory.mktemp("layout")
    (site / "content").mkdir()
    (site / "content" / "a.md").write_text(record(
        f"Breaking {WORD} news", webUrl=f'"{URL}"', topics=f'["{WORD}"]',
        provider=f"{{name: {WORD}, domain: long.example}}", excerpt=f'"An excerpt with {WORD} in it."',
    ) + f"\nA note quoting {WORD} and {URL}.\n", "utf-8")
    (site / "digest.toml").write_text("search = false\n", "utf-8")
    build(site)

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args) -> None:  # keep test output clean
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                             functools.partial(Quiet, directory=str(site / "build")))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", site / "build"
    finally:
        server.shutdown()
        server.server_close()


def test_a_phone_wide_screen_never_scrolls_sideways(served):
    base, out = served
    article = next(out.glob("20*/*/*/*/index.html")).relative_to(out).parent.as_posix() + "/"
    topic = next(p for p in out.glob("topics/*/index.html")).relative_to(out).parent.as_posix() + "/"
    source = next(p for p in out.glob("sources/*/index.html")).relative_to(out).parent.as_posix() + "/"
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 375, "height": 800})
            for path in ("", article, topic, source, "topics/", "sources/", "editions/", "archive/"):
                page.goto(base + path)
                width = page.evaluate("document.documentElement.scrollWidth")
                assert width <= 375, f"/{path} is {width} px wide on a 375 px screen"
        finally:
            browser.close()
