"""Config sweep: digest.toml given wrong, odd or extreme values (wrong types, other cases of a
key, empty text, a file that is no file) is reported as a problem naming the file, line and
key, and legal extremes give valid output (feeds included)."""

from __future__ import annotations

import tomllib

import pytest

from digest.config import load_config, parse_config
from digest.errors import ConfigError


def bad(text: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_config(text)
    return [str(p) for p in caught.value.problems]


@pytest.mark.parametrize("key, meant", [("Base_URL", "base_url"), ("TITLE", "title"),
                                        ("PAGE_SIZE", "page_size"), ("Min-Quality", "min_quality")])
def test_a_key_in_another_case_is_named_as_meant(key, meant):
    # (difflib compares letters as they are: `Base_URL` was "unknown key", with no hint)
    assert bad(f"{key} = 1\n") == [f"digest.toml:1: {key}: unknown key (did you mean {meant!r}?)"]


def test_a_settings_link_to_nothing_is_no_missing_file(tmp_path):
    # A digest.toml linked to a file not there (a shared settings file missing in a checkout)
    # built with every default (base_url http://localhost:8000/), and exit code 0.
    (tmp_path / "digest.toml").symlink_to(tmp_path / "shared.toml")
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path)
    assert [str(p) for p in caught.value.problems] == [
        "digest.toml: a symbolic link to a file that does not exist"]


@pytest.mark.parametrize("written", ['""', '"  "', '"\\u0001"'])
def test_an_empty_description_is_a_problem(written):
    # It is the site feed's channel <description>, which RSS 2.0 requires: rss.xml was invalid.
    assert bad(f"description = {written}\n") == [
        f"digest.toml:1: description: expected a non-empty string, got a string {tomllib.loads(f'x = {written}')['x']!r}"]
