"""Config sweep: digest.toml given wrong, odd or extreme values is reported as a problem naming
the file, line and key, in words a TOML writer reads (a key in another case, an empty or
quoted key, a key 100,000 letters long, a TOML date, a file saved as UTF-16 or linked to
nothing), and a value accepted makes valid output (a description RSS can carry, a title that
shows, a base_url host browsers read as written); the README gives every number's range."""

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


@pytest.mark.parametrize("url", ["https://999.1.1.1/", "https://ex.123/", "https://1.2.3/", "https://01.2.3.4/",
                                 "https://0x7f.0.0.1/", "https://1.2.3.4./", "https://[v1.x]/"])
def test_a_host_browsers_read_as_no_address_is_a_problem(url):
    # A host ending in a number is an IPv4 address to a browser (WHATWG URL): `999.1.1.1` or
    # `ex.123` made every absolute link of the site an invalid URL (the Nu checker: "IPv4
    # address part out of range"); an IPvFuture literal `[v1.x]` lost its brackets (another host).
    assert bad(f'base_url = "{url}"\n') == [
        "digest.toml:1: base_url: expected an absolute http(s) URL whose host is a valid domain name or IP "
        f"address, e.g. https://example.org/news/, got a string {url!r}"]


@pytest.mark.parametrize("url", ["https://1.2.3.4/", "https://[::1]:8443/a/", "https://[::ffff:1.2.3.4]/",
                                 "https://ex.1a/", "https://1e3.example/"])
def test_an_ip_address_as_browsers_write_it_is_a_host(url):
    assert parse_config(f'base_url = "{url}"\n').base_url == url


@pytest.mark.parametrize("text", ['"{k}" = 1\n', '{k} = 1\n', '"{k}" = 1\n"{k}" = 2\n', '[{k}]\nx = 1\n[{k}]\n'])
def test_a_very_long_key_is_shortened_in_messages(text):
    # (a value is shortened to 60 characters; a key of 100,000 letters was printed whole)
    problems = bad(text.format(k="k" * 100_000))
    assert problems and all(len(p) < 250 and p.startswith("digest.toml:") and "k..." in p for p in problems)


@pytest.mark.parametrize("written, described", [
    ("1979-05-27", "a date 1979-05-27"), ("07:32:00", "a time 07:32:00"),
    ("1979-05-27T07:32:00Z", "a date and time 1979-05-27T07:32:00+00:00"),
    ("1979-05-27 07:32:00", "a date and time 1979-05-27T07:32:00")])
def test_a_toml_date_is_described_as_written(written, described):
    # (it was Python's repr: "got date datetime.date(1979, 5, 27)")
    assert bad(f"page_size = {written}\n") == [
        f"digest.toml:1: page_size: expected an integer from 1 to 1000, got {described}"]


def test_central_kurdish_is_a_language_written_right_to_left():
    # `ckb` (Sorani, ISO 639-3 only) was listed as right to left but refused as a language.
    from digest.text import language_direction

    assert parse_config('language = "ckb-IQ"\n').language == "ckb-IQ"
    assert language_direction("ckb-IQ") == "rtl"


@pytest.mark.parametrize("written, shown", [('""', '""'), ('" "', '" "'), ('"page size"', '"page size"'),
                                            ('"a.b"', '"a.b"')])
def test_an_unknown_key_no_bare_key_can_write_is_quoted(written, shown):
    # `"" = 1` said "digest.toml:1: unknown key", and `" " = 1` "digest.toml:1:  : unknown key".
    assert bad(f"{written} = 1\n")[0].startswith(f"digest.toml:1: {shown}: unknown key")


@pytest.mark.parametrize("encoding, bom", [("UTF-16", b"\xff\xfe"), ("UTF-16", b"\xfe\xff"),
                                           ("UTF-32", b"\xff\xfe\x00\x00")])
def test_a_settings_file_saved_as_utf16_is_named_so(tmp_path, encoding, bom):
    # (it said "not valid UTF-8 (byte 0xff at column 1: invalid start byte ...)": which a
    # Windows editor's "Unicode" is, a record's message names)
    codec = {b"\xff\xfe": "utf-16-le", b"\xfe\xff": "utf-16-be", b"\xff\xfe\x00\x00": "utf-32-le"}[bom]
    (tmp_path / "digest.toml").write_bytes(bom + 'title = "x"\n'.encode(codec))
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path)
    assert [str(p) for p in caught.value.problems] == [
        f"digest.toml: encoded as {encoding}, not UTF-8 (save the file as UTF-8)"]


@pytest.mark.parametrize("key", ["title", "description"])
@pytest.mark.parametrize("written", ['"\\u200b"', '"\\u00ad\\u200d"', '"\\u0301"', '"\\u3164"'])
def test_a_title_of_invisible_characters_is_a_problem(key, written):
    # The header's home link on every page showed no text (a record's title of these is warned of).
    with pytest.raises(ConfigError) as caught:
        parse_config(f"{key} = {written}\n")
    [problem] = caught.value.problems
    assert (problem.line, problem.field) == (1, key)
    assert problem.message == ("expected a string that shows something (not only zero-width, combining or "
                               f"blank characters), got a string {tomllib.loads(f'x = {written}')['x']!r}")


def test_the_readme_gives_the_range_of_every_number():
    # (the README named no range: page_size = 5000 or related_count = 100 was refused unannounced)
    import re
    from pathlib import Path

    from digest.config import _CHECKS, MAX_WIDTHS

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    for key, check in _CHECKS.items():
        expected = check(None) or ""
        found = re.search(r"integers? from (-?\d+) to (\d+)", expected)
        if found is None:
            continue
        lo, hi = map(int, found.groups())
        row = next(line for line in readme.splitlines() if line.startswith("| ") and f"`{key}`" in line.split(" | ")[0])
        shown = f"{lo:,} to {hi:,}" if key != "api_min_heat" else f"at most {hi:,}"
        assert shown in row, (key, shown)
    assert f"at most {MAX_WIDTHS}" in readme


@pytest.mark.parametrize(("written", "meant"), [
    ("+05:45", "Asia/Kathmandu"), ("UTC+3", "Etc/GMT-3"), ("GMT-8", "Etc/GMT+8"), ("+00:00", "Etc/UTC"),
])
def test_an_offset_given_as_a_timezone_names_the_zone_to_write(written, meant):
    # ("+05:45" was refused with no hint: an offset is no zone, and POSIX reverses Etc/GMT's sign.)
    with pytest.raises(ConfigError) as info:
        parse_config(f'timezone = "{written}"\n')
    assert str(info.value.problems[0]) == (
        f"digest.toml:1: timezone: expected an IANA timezone name such as Europe/Berlin (did you mean {meant!r}?), "
        f"got a string {written!r}")
    assert parse_config(f'timezone = "{meant}"\n').timezone == meant
