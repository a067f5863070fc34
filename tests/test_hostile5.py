"""Hostile input, fifth sweep: digest.toml line numbers, compact dates, huge byte ranges and
git credentials.

Each test is a defect once found, or guards a promise that matters (see tests/test_hostile4.py
for the fourth sweep).
"""

from __future__ import annotations

import pytest

# --------------------------------------------------------------------------- digest.toml lines


def config_problems(text: str) -> list[str]:
    from digest.config import parse_config
    from digest.errors import ConfigError

    with pytest.raises(ConfigError) as caught:
        parse_config(text)
    return [str(p) for p in caught.value.problems]


BAD_PAGE_SIZE = "expected an integer from 1 to 1000, got an integer 0"


@pytest.mark.parametrize("before", [
    # a ''' or """ that opens no multi-line string: in a one-line string, a comment, a key
    "description = \"it's '''quoted'''? no: '''\"\n",
    "description = 'say \"\"\" here'\n",
    "# a comment with ''' and = signs: page_size = 3\n",
    "\"a ''' key\" = 1\n",
    # multi-line strings holding quotes, escaped quotes, key-like lines and closing runs
    "description = '''\npage_size = 5\nit''s '' fine'''\n",
    "description = '''two quotes end it'''''\n",
    "description = \"\"\"\nan escaped \\\"\"\" is no end\npage_size = 5\n\"\"\"\n",
    "description = \"\"\"a quote ends it\"\"\"\"\"\n",
    "description = \"\"\"line \\\n   continued\"\"\"\n",
    # arrays and inline tables spanning lines, with strings and comments inside
    "thumbnail_widths = [\n  320, # page_size = 1\n  640,\n]\n",
    "extra = { a = [\n  \"]\", '''\n}''',\n], b = 1 }\n",
    # dotted and quoted keys, whitespace around dots, an escaped quoted key, a bare key like a number
    "site . name = \"x\"\n\"quoted\".'literal' = 2\n\"esc\\\"aped\" = 3\n1234 = 4\n",
    # a Unicode line separator in a comment or a string (splitlines() took it for a new line)
    "# a comment\u2028with a line separator\ndescription = \"a\u2028b\u0085c\"\n",
    # CRLF line ends
    "title = \"x\"\r\n# c\r\n",
])
def test_a_problem_after_any_valid_toml_names_its_own_line(before):
    text = before + "page_size = 0\n"
    line = text.count("\n")
    found = config_problems(text)
    assert f"digest.toml:{line}: page_size: {BAD_PAGE_SIZE}" in found, found


def test_a_literal_string_with_three_quotes_then_a_bad_key():
    # The review's case: the ''' inside a one-line string opened a "multi-line string" that never
    # closed, and every later key lost its line.
    text = "title = \"Tom's '''digest\"\ndescription = 'ok'\nlanguage = \"english\"\n"
    assert config_problems(text) == [
        "digest.toml:3: language: expected a language tag such as en or pt-BR, got a string 'english'"]


def test_keys_of_tables_are_not_top_level_keys():
    # `page_size` set inside [extra] is not the top-level table [page_size] further down.
    text = "title = \"x\"\n[extra]\npage_size = 3\n[page_size]\nx = 1\n"
    assert config_problems(text)[-1].startswith("digest.toml:4: page_size: expected an integer")
    text = "[[posts]]\nname = 1\n[posts.more]\n"
    assert config_problems(text) == ["digest.toml:1: posts: unknown key"]


def test_a_key_given_twice_after_a_multi_line_string_names_both_lines():
    text = 'description = """\nit\'s """\npage_size = 5\n"page_size" = 6\n'
    assert config_problems(text) == ["digest.toml:4: page_size: given twice (first on line 3); keep one"]


def test_line_lookup_is_not_quadratic_in_the_number_of_keys():
    import time

    text = "".join(f"key{n} = {n}\n" for n in range(20000))
    start = time.monotonic()
    found = config_problems(text)
    assert len(found) == 20000 and found[-1].startswith("digest.toml:20000: key19999: unknown key")
    assert time.monotonic() - start < 5
