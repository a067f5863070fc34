"""Headless Chromium for the browser tests: Debian's (`.ci/run` installs it), driven by
Playwright, which never downloads a browser of its own."""

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
"""No sandbox (CI runs as root), and nothing that would reach the network by itself."""
