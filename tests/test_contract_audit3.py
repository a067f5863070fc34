"""Hostile input against DESIGN.md's contracts, third round (site folder, digest.toml, image
cache, static files, command line, publish; see tests/test_contract_audit.py and
tests/test_contract_audit2.py for the record format): each test is a broken promise found,
fixed, and kept fixed."""

from __future__ import annotations

from digest.cli import main
from tests.conftest import record

# --------------------------------------------------------------------------- command line


def test_an_error_message_never_prints_a_raw_control_character(make_site, capsys):
    # `digest: error: template not found: a<ESC>[2J`: the template name was printed as
    # written, and an escape sequence reached the terminal (it could clear it, or retitle it).
    site = make_site({"content/a.md": record(), "digest.toml": "search = false\n",
                      "templates/home.html": '{% extends "a\x1b[2J" %}\n'})
    assert main(["build", str(site)]) == 1
    err = capsys.readouterr().err
    assert "\x1b" not in err
    assert "template not found: a\\x1b[2J" in err
