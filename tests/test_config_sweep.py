"""Config sweep: digest.toml given wrong, odd or extreme values (wrong types, other cases of a
key, empty text, a file that is no file) is reported as a problem naming the file, line and
key, and legal extremes give valid output (feeds included)."""

from __future__ import annotations

import pytest

from digest.build import build
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
