"""Config: defaults, every bad key reported in one pass with name, expectation and what was found."""

from __future__ import annotations

from dataclasses import fields

import pytest

from digest.config import _CHECKS, Config, load_config, parse_config
from digest.errors import ConfigError


def bad(text: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_config(text)
    return [str(p) for p in caught.value.problems]


def test_missing_file_means_defaults(tmp_path):
    assert load_config(tmp_path) == Config()


def test_every_key_has_a_default_and_a_check():
    assert {f.name for f in fields(Config)} == set(_CHECKS)
    Config()  # constructible with no arguments


def test_defaults_pass_their_own_checks():
    config = Config()
    for name, check in _CHECKS.items():
        value = getattr(config, name)
        if name == "labels":  # (a table, kept as sorted pairs)
            value = dict(value)
        assert check(list(value) if isinstance(value, tuple) else value) is None, name


def test_all_bad_keys_reported_at_once_with_lines():
    text = (
        'page_size = 0\n'
        'title = 5\n'
        'timezone = "Mars/Base"\n'
        'base_url = "ftp://x"\n'
        'foo = 1\n'
        'pagesize = 3\n'
        'thumbnail_formats = ["gif"]\n'
        'hotlink_images = "yes"\n'
        'min_quality = 1.5\n'
        'related_count = true\n'
        'language = "en us"\n'
    )
    assert bad(text) == [
        "digest.toml:1: page_size: expected an integer from 1 to 1000, got an integer 0",
        "digest.toml:2: title: expected a string, got an integer 5",
        "digest.toml:3: timezone: expected an IANA timezone name such as Europe/Berlin, got a string 'Mars/Base'",
        "digest.toml:4: base_url: expected an absolute http(s) URL without query or fragment, "
        "e.g. https://example.org/news/, got a string 'ftp://x'",
        "digest.toml:5: foo: unknown key",
        "digest.toml:6: pagesize: unknown key (did you mean 'page_size'?)",
        "digest.toml:7: thumbnail_formats: expected a non-empty list from ['avif', 'jpeg', 'png', 'webp'], "
        "got a list ['gif']",
        "digest.toml:8: hotlink_images: expected true or false, got a string 'yes'",
        "digest.toml:9: min_quality: expected an integer from -1000000000 to 1000000000, got a number 1.5",
        "digest.toml:10: related_count: expected an integer from 0 to 50, got a boolean true",
        "digest.toml:11: language: expected a language tag such as en or pt-BR, got a string 'en us'",
    ]


def test_toml_syntax_error_has_its_line():
    assert bad('title = "ok"\ndescription = "unterminated\n') == [
        "digest.toml:2: description: invalid TOML: Illegal character '\\n' (at line 2, column 28)"]


def test_a_table_is_an_unknown_key_on_its_line():
    assert bad('title = "x"\n\n[deploy]\nname = "y"\n') == ["digest.toml:3: deploy: unknown key"]


def test_long_values_are_shortened_in_messages():
    (message,) = bad(f'timezone = "{"x" * 200}"\n')
    assert message.endswith("...") and len(message) < 200


def test_good_values_are_normalised():
    config = parse_config(
        'base_url = "https://example.org/news"\nthumbnail_widths = [100, 200]\n'
        'timezone = "Europe/Berlin"\nmin_quality = 30\n')
    assert config.base_url == "https://example.org/news/"
    assert config.base_path == "/news/"
    assert config.thumbnail_widths == (100, 200)
    assert config.tz.key == "Europe/Berlin"
    assert config.absolute("/a/b/") == "https://example.org/news/a/b/"
    with pytest.raises(AttributeError):
        config.title = "changed"  # frozen


def test_bom_is_accepted_and_invalid_utf8_reported(tmp_path):
    (tmp_path / "digest.toml").write_bytes('\ufefftitle = "Café"\n'.encode())
    assert load_config(tmp_path).title == "Café"
    (tmp_path / "digest.toml").write_bytes(b'# news\ntitle = "Caf\xe9"\n')  # (Latin-1, as old editors save)
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path)
    assert [str(p) for p in caught.value.problems] == [
        "digest.toml:2: not valid UTF-8 (byte 0xe9 at column 13: invalid continuation byte; save the file as UTF-8)"]
    (tmp_path / "digest.toml").write_bytes(b'\xef\xbb\xbftitle = "a\xff"\n')  # (the mark is not counted twice)
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path)
    assert str(caught.value.problems[0]).startswith("digest.toml:1: not valid UTF-8 (byte 0xff at column 11:")
