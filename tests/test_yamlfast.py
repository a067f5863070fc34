"""`digest.yamlfast` returns exactly what `load_yaml`'s C path returns, or declines.

Three kinds of proof: documents generated from a YAML grammar biased to the tricky
cases (the fast path declines or agrees, types included; on the plain subset it must
also accept), every real and generated record (accepted, and equal), and a table of
hand-written edge cases.
"""

from __future__ import annotations

import random
import subprocess
import sys
from unittest import mock

import pytest
import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from digest import yamlfast
from digest.load import _Loader, load_yaml, parse_record, split_front_matter
from tests.conftest import SHARED

DECLINE = yamlfast.DECLINE


def fast(text: str):
    return yamlfast.load(text, _Loader)


def c_path(text: str):
    """`load_yaml` with the fast path switched off: what it returned before the fast path."""
    with mock.patch.object(yamlfast, "load", lambda *args, **kwargs: DECLINE):
        return load_yaml(text)


def same(a, b) -> bool:
    """Equal values of identical types all the way down, dict key order included (NaN equals NaN)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return (len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
                and all(same(a[k], b[k]) for k in a))
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return repr(a) == repr(b)  # exact for str, int, float (nan, -0.0), bool, None, date, datetime and its tzinfo


def check(text: str) -> bool:
    """The fast path declines or returns what the C path returns; True when it accepted.

    An accepted text that the C path cannot load fails the test with the C path's error.
    """
    got = fast(text)
    if got is DECLINE:
        return False
    expected = c_path(text)
    assert same(got, expected), (text, got, expected)
    return True


def test_same_is_strict():
    assert not same({"a": 1}, {"a": True})
    assert not same({"a": 1}, {"a": 1.0})
    assert not same([0.0], [-0.0])
    assert same([float("nan")], [float("nan")])
    assert not same({"a": 1, "b": 2}, {"b": 2, "a": 1})
    assert not same(*yaml.safe_load("a: 2021-01-01\nb: 2021-01-01 00:00:00\n").values())
    assert not same(*yaml.safe_load("a: 2021-01-01T10:00:00Z\nb: 2021-01-01T12:00:00+02:00\n").values())
    assert not same(*yaml.safe_load("a: '2021-01-01'\nb: 2021-01-01\n").values())


# --------------------------------------------------------------------------- the grammar

BOOL_NULL = ["yes", "Yes", "YES", "no", "No", "NO", "true", "True", "TRUE", "false", "False", "FALSE",
             "on", "On", "ON", "off", "Off", "OFF", "null", "Null", "NULL", "~", "y", "n", "yEs", "nULL", "tRUE"]
NUMBERS = ["0", "-0", "+0", "7", "-1", "+12", "007", "09", "0o17", "0x1F", "0X1F", "0x_1F", "0b101", "-0b11",
           "1_000", "1__0", "_1", "1_", "1:30", "-1:30:00", "190:20:30", "1:60", "190:20:30.15", "1.5", "-.5", ".5",
           "1.", "+1.", "1e3", "1.0e+3", "1.0E-3", "1.0e3", "6.8523015e+5", "685_230.15", ".inf", "-.Inf", "+.INF",
           ".nan", ".NaN", ".NAN", "-.nan", "1.2.3", "0.", ".", "-", "+", "-.", "12345678901234567890123",
           "1" * 5000, "0x", "0b", "0b2", "08", "0o", "1e", "1:", ":1"]
DATES = ["2021-01-01", "2021-1-1", "2021-13-45", "2021-02-29", "2020-02-29", "0000-01-01", "9999-12-31",
         "2021-01-01T10:00:00Z", "2021-01-01t10:00:00z", "2021-01-01T10:00:00", "2021-01-01 10:00:00",
         "2021-01-01  10:00:00 +02:00", "2001-12-14t21:59:43.10-05:00", "2001-12-14 21:59:43.10 -5",
         "2021-01-01T25:00:00Z", "2021-01-01T10:00:00.1234567Z", "2021-1-1T1:00:00Z", "2021-01-01T10:00Z",
         "2021-01-01T10:00:00+14:00", "2021-01-01T10:00:00-99:99", "0000-01-01T00:00:00Z", "2023-04-14T05:44:00Z",
         "20210101", "2021-01-01T10:00:00 Z"]
SPECIAL = ["<<", "=", "!", "&", "*", "-", "--", "---", "...", "- x", "? x", "?x", ": x", ":x", "x:", "x: y", "x:y",
           "x #y", "x#y", "#x", "http://a.b/c?d=e#f", "[1]", "[1, 2]", "{a: 1}", "[]", "{}", "[ ]", "{ }", "[] x",
           "|", ">", "|-", ">+", "|2", "'", '"', "a\\nb", ",x", "x,y", "x]", "%x", "@x", "`x", "&a x", "*a", "!x y",
           "!!str 5", "!!int '7'", "!!binary aGk=", "!!set {a}", "&a [1, 2]", "x  ", "x \\", "x\\", "<x>", "=x",
           "a 'b' c", 'a "b" c', "a: ", "- ", "--x", "-x", "-1x", "~x", "é", "😀", "a\xa0", "\xa0a", "a\u200bb",
           "\ue000", "a" * 300]
TEXT_CHARS = list("abZ019 :#-?,[]{}&*!|>'\"%@`\\.~=<_ex+/") + [
    "\t", "\xa0", "é", "😀", "\u2028", "\u2029", "\x85", "\ufeff", "\r", "\x00", "\x07", "\x7f", "\x9f",
    "\u200b", "\ue000", "\ufffe", "\ud7ff", "\uff00", "\n"]
ESCAPES = ['\\"', "\\\\", "\\/", "\\n", "\\t", "\\r", "\\0", "\\a", "\\b", "\\e", "\\f", "\\v", "\\N", "\\_",
           "\\L", "\\P", "\\ ", "\\x41", "\\xe9", "\\x00", "\\x85", "\\u00e9", "\\u2028", "\\uFFFE", "\\U0001F600",
           "\\U0010FFFF", "\\u0041"]
BAD_ESCAPES = ["\\ud800", "\\uDFFF", "\\U0000D800", "\\U00110000", "\\q", "\\x4", "\\u00", "\\", "\\\t", "\\'",
               "\\U", "\\x", "\\%"]
COMMENTS = ["", "", "", " ", "   ", " # comment", "  #", " #: x", "#c", "\t# c", " # 'quoted' \"x\""]

text_chars = st.text(alphabet=st.sampled_from(TEXT_CHARS), max_size=8)
tricky_plain = st.one_of(
    st.sampled_from(BOOL_NULL + NUMBERS + DATES + SPECIAL),
    text_chars,
    st.builds(lambda a, b: a + b, st.sampled_from(BOOL_NULL + NUMBERS + DATES + SPECIAL), text_chars),
    st.builds(lambda a, b: a + b, text_chars, st.sampled_from(BOOL_NULL + NUMBERS + DATES + SPECIAL)),
)
double_quoted = st.builds(
    lambda parts, close: '"' + "".join(parts) + close,
    st.lists(st.one_of(st.sampled_from(ESCAPES + BAD_ESCAPES), text_chars), max_size=5),
    st.sampled_from(['"', '"', '"', "", '" x', '""']),
)
single_quoted = st.builds(
    lambda parts, close: "'" + "".join(parts) + close,
    st.lists(st.one_of(st.just("''"), st.just("'"), text_chars), max_size=5),
    st.sampled_from(["'", "'", "'", "", "' x", "''"]),
)
MULTILINE = ["|\n  one\n  two", ">-\n  folded\n  text", "|+\n  keep\n", '"multi\n  line"', "'single\n  line'",
             "plain\n  continued", "plain\n\n  after blank", '"escaped \\\n  break"', "&a\n  b: 1", "!!map\n  b: 1"]
tricky_scalar = st.one_of(tricky_plain, double_quoted, single_quoted, st.sampled_from(MULTILINE))

TRICKY_KEYS = ["yes", "No", "ON", "off", "true", "False", "null", "NULL", "~", "1", "0", "-1", "007", "0x1F", "0b11",
               "1_000", "1:30", "1.5", ".inf", ".nan", "2021-01-01", "2021-13-45", "2021-01-01T10:00:00Z", "<<", "=",
               '"q"', "'q'", '"a b"', "a b", "a ", " a", "a:b", "? a", "?", "-a", "a#b", "é", "&a a", "!!str a", "[a]",
               "{a: 1}", "k" * 1100, "k" * 199, "k" * 200, "k" * 201, "a-b", "_", "A_1", "a.b", "a/b", "key", "key",
               "title", "title", "x", "x", ""]
tricky_key = st.one_of(st.sampled_from(TRICKY_KEYS), text_chars)

# What the fast path must accept: every kind of value ordinary records use, typed and
# quoted every way YAML 1.1 allows, in any consistent layout.
printable = st.characters(codec="utf-8", exclude_categories=("Cc", "Cs", "Cn", "Zl", "Zp"),
                          exclude_characters="\ufeff")
clean_scalar = st.one_of(
    st.sampled_from([*BOOL_NULL, "0", "7", "-1", "+12", "007", "0x1F", "0b101", "1_000", "1:30", "190:20:30.15",
                     "1.5", "-.5", "1.0e+3", "6.8523015e+5", ".inf", "-.Inf", ".NaN", "1e3", "2021-01-01",
                     "2001-12-14t21:59:43.10-05:00", "2001-12-14 21:59:43.10 -5", "2021-1-1T1:00:00Z",
                     "2021-01-01T10:00:00", "http://a.b/c?d=e#f", "a, b", "x[1]{2}", "it's", 'say "hi"', "-x",
                     "--- x", "...", "a\xa0", "\xa0a", "é", "😀", "[]", "{}", "<x>", "~x", "=x"]),
    st.integers(-10**20, 10**20).map(str),
    st.floats(allow_nan=False).map(repr),
    st.datetimes().map(lambda d: d.strftime("%Y-%m-%dT%H:%M:%SZ")),
    st.dates().map(str),
    st.from_regex(r"[A-Za-z][A-Za-z0-9 .,/()'\"\xe9\U0001F600\xa0&*!|>%@`-]{0,20}[A-Za-z0-9.]", fullmatch=True),
    st.lists(st.one_of(st.sampled_from(ESCAPES), st.text(printable.filter(lambda c: c not in '"\\'), max_size=8)),
             max_size=5).map(lambda parts: '"' + "".join(parts) + '"'),
    st.text(printable, max_size=12).map(lambda s: "'" + s.replace("'", "''") + "'"),
)
clean_key = st.from_regex(r"k[A-Za-z0-9_-]{0,10}", fullmatch=True)
TYPED_KEYS = ["7", "null", "2021-01-01", "off", "0x1F"]  # keys of other types, pairwise unequal


@st.composite
def documents(draw, rate):
    """Front matter text: a mapping, each part of it tricky with probability ``rate`` per mille.

    With rate 0 every part is one the fast path must accept: unique keys, supported
    scalars, consistent indentation, blank and comment lines anywhere.
    """

    dice = random.Random(draw(st.integers(0, 2**32)))  # unbiased: Hypothesis favours boundary values

    def tricky():
        return rate > 0 and dice.randrange(1000) < rate

    def pick(clean, bad):
        return draw(st.sampled_from(bad) if tricky() else st.sampled_from(clean))

    def keys():
        count = draw(st.integers(1, 5))
        if tricky():
            return [draw(tricky_key) for _ in range(count)]
        names = [draw(clean_key) + str(i) for i in range(count)]  # unique
        typed = draw(st.lists(st.sampled_from(TYPED_KEYS), max_size=2, unique=True))
        return names[: count - len(typed)] + typed

    def scalar():
        return draw(tricky_scalar if tricky() else clean_scalar)

    def extra_lines():
        if draw(st.integers(0, 5)):
            return []
        spaces = " " * draw(st.integers(0, 9))
        return [pick(["", "  ", spaces + "# note", "#", spaces + "#: x", spaces + "# 'x' \"y\" - z"],
                     ["\t# tab", " \t", "\ufeff", "---", "..."])]

    def after_value(text):  # spaces or a comment after a value (never a comment after a plain one)
        if text[:1] in "\"'[{":
            return pick(["", " ", "  ", " # c", "   #c"], COMMENTS)
        return pick(["", " ", "  "], COMMENTS)

    def step():
        return pick([1, 2, 2, 2, 3, 4], [0, 0, -1, 1])

    def mapping(indent, depth):
        lines = []
        for key in keys():
            lines += extra_lines()
            head = " " * indent + key + ":"
            kind = draw(st.sampled_from(["scalar", "scalar", "scalar", "map", "seq"] if depth < 4 else ["scalar"]))
            if kind == "scalar":
                text = scalar()
                if text == "":
                    lines.append(head + pick(["", " ", "   "], ["\t", " #"]))
                elif "\n" in text:  # a multi-line token: continuation lines under the key
                    lines.append(head + " " + text.replace("\n", "\n" + " " * max(indent, 0)))
                else:
                    lines.append(head + pick([" ", " ", "  "], ["", "\t", " \t"]) + text + after_value(text))
            else:
                lines.append(head + pick(["", " ", " # c"], COMMENTS))
                child = indent + step()
                if kind == "seq" and tricky():
                    child = indent  # an indentless sequence
                lines += (mapping if kind == "map" else sequence)(child, depth + 1)
        return lines

    def sequence(indent, depth):
        lines = []
        for _ in range(draw(st.integers(1, 3))):
            lines += extra_lines()
            dash = pick(["- ", "- ", "-  ", "-   "], ["-", "-\t", "--", "- -", "? "])
            kind = draw(st.sampled_from(["scalar", "scalar", "map", "seq"] if depth < 4 else ["scalar"]))
            if kind == "seq" and not tricky():  # "- - x" and "-" over its collection are left to PyYAML
                kind = "map"
            if kind == "scalar":
                text = scalar() or pick(["null"], [""])  # "- " alone is left to PyYAML
                if "\n" in text:
                    text = text.replace("\n", "\n" + " " * max(indent, 0))
                lines.append(" " * indent + dash + text + after_value(text))
            elif kind == "seq" or tricky():  # the collection on the lines below the dash
                lines.append(" " * indent + dash.rstrip())
                lines += (mapping if kind == "map" else sequence)(indent + step(), depth + 1)
            else:  # "- key: value", the mapping's other keys under the first one
                column = indent + len(dash)
                sub = mapping(column, depth + 1)
                first = next((i for i, line in enumerate(sub)
                              if line.strip() and not line.lstrip().startswith("#")), 0)
                sub[first] = " " * indent + dash + sub[first][column:]
                lines += sub
        return lines

    text = "\n".join(mapping(0, 0)) + pick(["\n", "", "\n\n", "\n  \n", "\n# end"], ["\n\t", "\n---\n", "\n..."])
    return mutate(draw, text) if rate and dice.randrange(3) == 0 else text


def mutate(draw, text):
    """One random damage: the kind of thing hand-edited or generated front matter gets wrong."""
    lines = text.split("\n")
    where = draw(st.integers(0, len(lines) - 1))
    action = draw(st.sampled_from(["crlf", "cr", "bom", "start", "end", "insert", "insert", "delete", "duplicate",
                                   "duplicate", "swap", "indent", "dedent", "tab", "doc", "trailing", "scalar"]))
    if action == "crlf":
        return text.replace("\n", "\r\n")
    if action == "cr":
        return text.replace("\n", "\r")
    if action == "bom":
        return "\ufeff" + text
    if action == "start":
        return draw(st.sampled_from(["---\n", "--- ", "%YAML 1.1\n---\n", "  ", "\n", "# c\n", "- "])) + text
    if action == "end":
        return text + draw(st.sampled_from(["\n...\n", "\n---\n", "\n--- x: 1\n", "\n...", "\n#", "\n  ", "\n- x"]))
    if action == "scalar":  # not a mapping at all
        return draw(st.one_of(tricky_scalar, st.just("- " + lines[0]), st.just("")))
    if action == "insert":
        line = lines[where]
        at = draw(st.integers(0, len(line)))
        lines[where] = line[:at] + draw(st.sampled_from(TEXT_CHARS)) + line[at:]
    elif action == "delete" and lines[where]:
        at = draw(st.integers(0, len(lines[where]) - 1))
        lines[where] = lines[where][:at] + lines[where][at + 1:]
    elif action == "duplicate":  # duplicate keys, or a line of a nested collection repeated
        lines.insert(where, lines[where])
    elif action == "swap" and where + 1 < len(lines):
        lines[where], lines[where + 1] = lines[where + 1], lines[where]
    elif action == "indent":
        lines[where] = " " * draw(st.integers(1, 3)) + lines[where]
    elif action == "dedent":
        lines[where] = lines[where][draw(st.integers(1, 3)):]
    elif action == "tab":
        lines[where] = "\t" + lines[where].lstrip(" ")
    elif action == "doc":
        lines.insert(where, draw(st.sampled_from(["---", "...", "--- #", "... x"])))
    elif action == "trailing":
        lines[where] += draw(st.sampled_from([" ", "  ", "\t", " #", ":", " :", "\\", " # c"]))
    return "\n".join(lines)


@settings(max_examples=500, deadline=None, suppress_health_check=list(HealthCheck))
@given(text=st.sampled_from([3, 10, 30, 100, 1000]).flatmap(documents))
def test_fast_path_declines_or_agrees_on_tricky_documents(text):
    event("accepted" if check(text) else "declined")


@settings(max_examples=250, deadline=None, suppress_health_check=list(HealthCheck))
@given(text=documents(0))
def test_fast_path_accepts_and_agrees_on_plain_documents(text):
    assert check(text), text


any_case = st.sampled_from(["yes", "no", "true", "false", "on", "off", "null"]).flatmap(
    lambda word: st.tuples(*[st.sampled_from([c.lower(), c.upper()]) for c in word]).map("".join))


@settings(max_examples=300, deadline=None)
@given(text=st.one_of(st.from_regex(yamlfast._DECIMAL, fullmatch=True), any_case,
                      st.datetimes().map(lambda d: d.strftime("%Y-%m-%dT%H:%M:%SZ"))))
def test_directly_built_scalars_are_what_safe_constructor_builds(text):
    """Decimal ints, UTC timestamps, booleans and nulls are built without SafeConstructor: same values."""
    assert check(f"a: {text}\n"), text


@settings(max_examples=300, deadline=None)
@given(text=st.from_regex(yamlfast._UTC_SECONDS, fullmatch=True))
def test_utc_timestamps_agree_or_are_impossible_dates(text):
    if not check(f"a: {text}\n"):
        with pytest.raises(ValueError):
            c_path(f"a: {text}\n")


TOKENS = [*"ab1: -#'\"\n\\[]{}&*!|>?,.~\t", "  ", "\n  ", "\n- ", "x: ", "yes", "0x1", "2021-01-01", "é"]


@settings(max_examples=400, deadline=None)
@given(text=st.one_of(st.text(max_size=60), st.lists(st.sampled_from(TOKENS), max_size=40).map("".join)))
def test_any_text_never_raises_and_agrees(text):
    check(text)


# --------------------------------------------------------------------------- records


def _fronts(paths):
    out = []
    for path in paths:
        text = path.read_bytes().decode("utf-8-sig").replace("\r\n", "\n").replace("\r", "\n")
        parts = split_front_matter(text)
        assert parts is not None, path
        out.append((path, parts[0]))
    return out


def _accepted_and_equal(fronts):
    assert fronts
    for path, front in fronts:
        got = fast(front)
        assert got is not DECLINE, f"{path}: the fast path declined an ordinary record"
        assert same(got, c_path(front)), path


def test_every_real_record_is_accepted_and_equal():
    folder = SHARED / "real-records" / "everyday-cc-powerapps"
    if not folder.is_dir():
        pytest.skip("../shared/real-records is not beside the repository")
    fronts = _fronts(sorted(folder.glob("*.md")))
    assert len(fronts) == 674
    _accepted_and_equal(fronts)


def test_every_generated_record_is_accepted_and_equal(tmp_path):
    tool = SHARED / "tools" / "gen_corpus.py"
    if not tool.is_file():
        pytest.skip("../shared/tools/gen_corpus.py is not beside the repository")
    out = tmp_path / "corpus"
    subprocess.run([sys.executable, str(tool), "--records", "300", "--out", str(out), "--image-ratio", "0",
                    "--workers", "1", "--seed", "3"], check=True, capture_output=True, timeout=300)
    fronts = _fronts(sorted(out.rglob("*.md")))
    assert len(fronts) == 300
    _accepted_and_equal(fronts)


def test_parse_record_results_are_unchanged_on_real_records():
    folder = SHARED / "real-records" / "everyday-cc-powerapps"
    if not folder.is_dir():
        pytest.skip("../shared/real-records is not beside the repository")
    for path in sorted(folder.glob("*.md")):
        raw = path.read_bytes()
        with mock.patch.object(yamlfast, "load", lambda *args, **kwargs: DECLINE):
            before = parse_record(raw, path.name)
        assert parse_record(raw, path.name) == before, path


# --------------------------------------------------------------------------- edge cases

ACCEPT = [
    "a: 1\n",
    "a: 1",
    "a: x  \nb: y \n",  # trailing spaces are not part of a plain scalar
    "a:    \nb:\n",  # a value of only spaces is null
    "a: 'single '' quotes'\n",
    "a: ''\nb: \"\"\n",
    'a: "\\" \\\\ \\n \\t \\u00e9 \\x41 \\/ \\0 \\e \\N \\_ \\L \\P \\U0001F600"\n',
    'a: "x" # c\nb: \'y\'   # c\nc: []  # c\nd: {}\n',
    "a: # comment\n  b: 1\n",
    "a:\n  b:\n    c: 1\n  d: 2\ne: 3\n",
    "a:\n  - 1\n  - x\n  - []\nb:\n    - c: 1\n      d:\n        - e\n    -   f: 2\n",
    "a:\n - x: 1\n   y: 2\n",
    "a: b\n",
    "1: one\n0x1F: hex\noff: bool\n2021-01-01: date\nnull: nothing\n0o17: str\n",
    "a: yes\nb: No\nc: ON\nd: off\ne: TRUE\nf: null\ng: ~\nh: y\n",
    "a: 0x1F\nb: 0b101\nc: 0o17\nd: 017\ne: 1_000\nf: 1:30\ng: +12\nh: -0\n",
    "a: 1.5\nb: .inf\nc: -.Inf\nd: .NaN\ne: 1e3\nf: 1.0e+3\ng: 190:20:30.15\n",
    "a: 2023-04-14T05:44:00Z\nb: 2023-04-14\nc: 2001-12-14t21:59:43.10-05:00\nd: 2001-12-14 21:59:43.10 -5\n",
    "a: http://x.y/z?q=1#frag\nb: a#b\nc: x:y\nd: a, b]\ne: it's\nf: -1\ng: --- x\nh: ...\n",
    "a: <iframe src=\"x\"></iframe>\nb: =x\nc: <x\n",
    "a: \xa0x\xa0\nb: é😀\n",
    "a: b\n  # an indented comment ends the scalar\nc: d\n",
    "# first\na: 1\n\n   \n# last\n",
    "a: 1\n# c\n  # c\nb: 2\n",
    "key-with_dash: 1\n_: 2\nA: 3\n",
]
DECLINE_CASES = [
    "",  # empty document (None): left to PyYAML
    "# only a comment\n",
    "   \n",
    "x\n",  # a scalar document
    "- a\n- b\n",  # a sequence document
    "  a: 1\n  b: 2\n",  # an indented top-level mapping
    "a:value\n",  # a plain scalar, not a mapping
    "a: 1\na: 2\n",  # duplicate keys: PyYAML keeps the last, in the first one's place
    "1: a\ntrue: b\n",  # equal keys (1 == True)
    "yes: a\non: b\n",
    "~x: 1\n",
    "a:\n  b: 1\n  b: 2\n",
    "a: 1\r\nb: 2\r\n",  # CRLF
    "a: 1\rb: 2\r",
    "\ufeffa: 1\n",  # BOM
    "a: \ufeff\n",
    "a:\t1\n",  # tabs
    "a:\n\tb: 1\n",
    "a: x\tb\n",
    "a: &x 1\nb: *x\n",  # anchors and aliases
    "a: *x\n",
    "<<: {a: 1}\n",  # merge keys
    "a:\n  <<: {b: 1}\n",
    "a: <<\n",
    "a: =\n",
    "a: !!str 5\n",  # tags
    "a: !x y\n",
    "a: |\n  text\n",  # block scalars
    "a: >-\n  text\n",
    "a: [1, 2]\n",  # flow collections
    "a: {b: 1}\n",
    "a: [ ]\n",
    "a: [] x\n",
    "a: b\n  c\n",  # multi-line plain scalar
    "a: b\n\n  c\n",
    'a: "b\n  c"\n',  # multi-line quoted scalars
    "a: 'b\n  c'\n",
    'a: "b\\\n  c"\n',
    "a: b c: d\n",  # ': ' inside a plain scalar
    "a: b:\n",
    "a: b # comment\n",  # ' #' inside a plain scalar
    "a: #b\n  c\n",
    "? a\n: b\n",  # complex keys
    "a b: 1\n",  # non-simple keys
    '"a": 1\n',
    "'a': 1\n",
    "a : 1\n",
    "é: 1\n",
    "-a: 1\n",
    "k" * 1100 + ": 1\n",  # a key longer than libyaml allows
    "---\na: 1\n",  # document markers
    "a: 1\n---\nb: 2\n",
    "a: 1\n...\n",
    "%YAML 1.1\n---\na: 1\n",
    "a: ,x\n",  # indicators starting a plain scalar
    "a: %x\n",
    "a: @x\n",
    "a: `x\n",
    "a: ?x\n",
    "a: :x\n",
    "a: - x\n",
    "a: -\n",
    "a:\n- x\n",  # a sequence not indented under its key
    "a:\n  - x\n - y\n",  # odd indentation
    "a:\n  b: 1\n c: 2\n",
    "a:\n    b: 1\n  c: 2\n",
    "a: 1\n b: 2\n",
    "a:\n  -\n    b: 1\n",  # an entry whose collection starts below the dash
    "a:\n  - - x\n",  # a sequence in a sequence
    "a:\n  -x\n",
    'a: "\\q"\n',  # escapes
    'a: "\\ud800"\n',
    'a: "\\U00110000"\n',
    'a: "\\x4"\n',
    'a: "x"#c\n',  # accepted by libyaml, declined here: a comment needs a space before it
    'a: "x" y\n',
    "a: 'x' y\n",
    "a: 'x'y'\n",
    "a: 2021-13-45\n",  # an impossible date raises in the C path
    "a: 2021-02-29T00:00:00Z\n",
    "a: " + "1" * 5000 + "\n",  # past Python's int digits limit
    "a: \x00\n",  # non-printable characters
    "a: \x85\n",
    "a: x\u2028y\n",
    "a: \ud800\n",
    "a: \ufffe\n",
    "a:\n" + "\n".join(" " * (2 * d) + f"k{d}:" for d in range(1, 60)) + " 1\n",  # too deep
]


@pytest.mark.parametrize("text", ACCEPT)
def test_edge_cases_accepted(text):
    assert check(text), text


@pytest.mark.parametrize("text", DECLINE_CASES)
def test_edge_cases_declined(text):
    assert fast(text) is DECLINE, text


def test_decline_cases_the_c_path_reads_or_rejects_unchanged():
    """The edge cases that the fast path declines still go through the C path as before."""
    assert load_yaml("a: 1\na: 2\n") == {"a": 2}
    assert load_yaml("a: &x [1]\nb: *x\n") == {"a": [1], "b": [1]}
    with pytest.raises(yaml.YAMLError):
        load_yaml("a: b c: d\n")
    with pytest.raises(ValueError):
        load_yaml("a: 2021-13-45\n")


def test_load_yaml_takes_the_fast_path_for_ordinary_front_matter():
    with mock.patch.object(yaml, "compose", side_effect=AssertionError("C path used")):
        assert load_yaml('title: "x"\nn: 1\nl:\n  - a\n') == {"title": "x", "n": 1, "l": ["a"]}


def test_a_field_given_twice_is_still_reported():
    raw = (b'---\ntitle: "first"\npublishedDateTime: 2024-01-02T10:00:00Z\ntitle: "second"\n'
           b"provider:\n  name: A\n  name: B\n---\n")
    result = parse_record(raw, "content/a.md")
    assert result.article is not None
    assert result.article.title == "second"
    assert result.article.provider.name == "B"
    twice = [p for p in result.problems if "given twice" in p.message]
    assert [(p.line, p.field) for p in twice] == [(4, "title"), (7, "provider.name")]


def test_invalid_yaml_is_reported_as_before():
    raw = b'---\ntitle: "x"\npublishedDateTime: 2024-01-02T10:00:00Z\nbad: a: b\n---\n'
    with mock.patch.object(yamlfast, "load", lambda *args, **kwargs: DECLINE):
        before = parse_record(raw, "content/a.md")
    after = parse_record(raw, "content/a.md")
    assert after == before
    assert after.article is None and after.problems[0].line == 4


def test_unusual_characters_are_those_outside_the_accepted_ranges():
    """`_UNUSUAL_CHAR` names the declined characters; it matches exactly those outside the
    ranges a line may hold (every code point checked)."""
    import re

    from digest.yamlfast import _UNUSUAL_CHAR

    accepted = re.compile("[^\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010ffff]")
    every = "".join(map(chr, range(0x110000)))
    assert _UNUSUAL_CHAR.findall(every) == accepted.findall(every)
