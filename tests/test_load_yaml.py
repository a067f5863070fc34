"""The fast front-matter constructor builds exactly what PyYAML's safe loader builds."""

from __future__ import annotations

from datetime import date, datetime

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from digest.load import _Loader, load_yaml

TRICKY = [
    "a: &x [1, 2]\nb: *x\n",
    "<<: {a: 1}\nb: 2\n",
    "base: &b {x: 1}\nchild:\n  <<: *b\n  y: 2\n",
    "a: !!set {x, y}\n",
    "a: !!omap [x: 1, y: 2]\n",
    "? [1, 2]\n: v\n",
    "a: 2021-01-01\nb: 0x1f\nc: .inf\nd: ~\ne: yes\nf: 1_000\ng: 0o17\nh: 1:30\ni: -.5e3\n",
    "a: !!binary aGVsbG8=\n",
    "a: !!str 5\nb: !!int '7'\nc: !!float '1'\n",
    "a: |\n  block\n  text\nb: >\n  folded\n  text\n",
    "a: 'single ''quoted'''\nb: \"double \\u00e9 \\n\"\n",
    "a: [1, {b: [c, d]}, []]\nb: {}\n",
    "2021: year key\ntrue: bool key\n~: null key\n",
    "publishedDateTime: 2021-11-30T20:18:00Z\nupdated: 2021-11-30 20:18:00.5 +02:00\n",
    "a: !!python/object/apply:os.system ['echo no']\n",
    "a: !custom 1\n",
    "a: 1\na: 2\n",
    "- just\n- a list\n",
    "plain scalar document\n",
    "",
]


def outcome(text: str, loader):
    try:
        return ("ok", repr(loader(text)))
    except Exception as exc:  # noqa: BLE001 - the kind of error is what is compared
        return ("error", type(exc).__name__, str(exc))


@pytest.mark.parametrize("text", TRICKY)
def test_tricky_documents_match_pyyaml(text):
    assert outcome(text, load_yaml) == outcome(text, lambda t: yaml.load(t, Loader=_Loader))


def test_aliases_are_shared_not_copied():
    data = load_yaml("a: &x [1, 2]\nb: *x\n")
    assert data["a"] is data["b"]


def test_recursive_alias_builds_like_pyyaml():
    data = load_yaml("a: &a\n  b: *a\n")
    assert data["a"]["b"] is data["a"]


scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-10**12, 10**12),
    st.floats(allow_nan=False), st.text(max_size=30),
    st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 1, 1)),
    st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2100, 1, 1)),
)
documents = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(value=documents, flow=st.booleans())
def test_any_dumped_document_matches_pyyaml(value, flow):
    text = yaml.safe_dump({"field": value}, default_flow_style=flow, allow_unicode=True)
    assert outcome(text, load_yaml) == outcome(text, lambda t: yaml.load(t, Loader=_Loader))
