"""The render fast paths make exactly what plain Jinja, json.dumps and Path.mkdir would."""

from __future__ import annotations

import json

import jinja2
import pytest
from jinja2.compiler import CodeGenerator
from markupsafe import Markup

from digest.errors import TemplateError
from digest.model import PageSpec, fixed
from digest.render import JsonMemo, _DataEnvironment, _json_text, make_environment, render_page
from digest.write import Staging, stage


class _StockEnvironment(_DataEnvironment):
    """The same environment with Jinja's own code generator."""

    code_generator_class = CodeGenerator


class _Html:
    def __html__(self):
        return "<b>html</b>"


class _Text(str):
    pass


TEMPLATES = {
    "base.html": "<head>{% block head %}<t>{{ title }}</t>{% endblock %}</head>\n"
                 "<main>{% block main %}{% endblock %}</main>{% include 'inc.html' %}\n",
    "inc.html": "[{{ title }}, {{ 3 }}, {{ none }}]\n",
    "mac.html": "{% macro card(item, h='h2') %}<{{ h }}>{{ item.title }}</{{ h }}>"
                "{% for t in item.tags %}<i>{{ t }}</i>{% endfor %}{% endmacro %}"
                "{% macro wrap() %}<w>{{ caller() }}</w>{% endmacro %}",
    "page.html": """{% extends "base.html" %}
{% from "mac.html" import card, wrap %}
{% block head %}{{ super() }}<meta content="{{ title }}, {{ 'a, b' }}">{% endblock %}
{% block main %}
{{ card(item) }}{{ card(item, "h3") }}
{% set block_set %}<s>{{ title }}</s>{% endset %}{{ block_set }} {{ block_set|length }}
{% set plain = title %}{{ plain ~ "&" }} {{ (title ~ "<>")|e }} {{ markup }} {{ markup|safe }}
{% filter upper %}<f>{{ title }}</f>{% endfilter %}
{% call wrap() %}<c>{{ title }}</c>{% endcall %}
{% autoescape false %}{{ title }} {{ markup }}{% endautoescape %}
{{ html }} {{ text }} {{ number }} {{ 2.5 }} {{ true }} {{ items|join(", ") }} {{ nested }}
{% for n in nested recursive %}<n>{{ n.name }}{% if n.kids %}{{ loop(n.kids) }}{% endif %}</n>{% endfor %}
{%- for x in items %}{{ loop.index }}:{{ x }}{% if not loop.last %},{% endif %}{% endfor %}
{{ "%s-%d"|format(title, number) }} {{ title|truncate(5, true, '…', 0) }} {{ item.title|capitalize }}
{% endblock %}
""",
}


def _render(env_class, **context) -> str:
    env = env_class(loader=jinja2.DictLoader(TEMPLATES), autoescape=True, undefined=jinja2.StrictUndefined,
                    trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    return env.get_template("page.html").render(**context)


@pytest.mark.parametrize("title", ["Plain", "A <b>&amp; 'q' \"d\"", "", "ünï, cödé"])
def test_output_generator_makes_the_same_text_as_jinja(title):
    context = dict(
        title=title, item={"title": title, "tags": [title, "<x>", 7]}, markup=Markup("<m>ok</m>"),
        html=_Html(), text=_Text("<sub>"), number=42, items=["<1>", 2, Markup("<3>")],
        nested=[{"name": "<a>", "kids": [{"name": "b&", "kids": []}]}],
    )
    ours = _render(_DataEnvironment, **context)
    assert ours == _render(_StockEnvironment, **context)
    assert "&lt;sub&gt;" in ours and "<b>html</b>" in ours and "<m>ok</m>" in ours


def test_a_template_fault_still_names_its_line(tmp_path):
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "bad.html").write_text("one\n<p>{{ page.title }}</p>\n<p>{{ 1 // page.zero }}</p>\n")
    env = make_environment(tmp_path)
    spec = PageSpec("x.html", "bad.html", "test", "k", fixed({"page": {"title": "t", "zero": 0}}))
    with pytest.raises(TemplateError) as caught:
        render_page(env, spec)
    assert caught.value.line == 3 and "ZeroDivisionError" in str(caught.value)


def test_json_memo_makes_the_same_text_as_json_dumps():
    def dumps(value):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)

    shared = [{"id": str(n), "title": f"ü <{n}>", "n": n, "x": [1.5, None, True]} for n in range(5)]
    docs = [shared[0], {"title": "T", "page": 1, "value": shared[:3], "nextPage": None},
            {"title": "U", "value": shared[2:], "other": [shared[0], 1, "s"], "total": 5},
            {"value": []}, {"value": "not a list"}, {1: "int key", "value": shared[:1]}, shared[1], [shared[0]], "s"]
    memo = JsonMemo()
    for _ in range(2):
        for doc in docs:
            assert _json_text(doc, memo) == dumps(doc)
            assert _json_text(doc, None) == dumps(doc)
    with pytest.raises(ValueError):
        _json_text({"value": [{"x": float("nan")}]}, memo)
    small = JsonMemo(room=len(dumps(shared[0])) + len(dumps(shared[1])))
    for doc in docs:  # a full memo keeps no more text, and answers the same
        assert _json_text(doc, small) == dumps(doc)
    assert set(small.texts) == {id(shared[0]), id(shared[1])} and small.room == 0


def test_stage_makes_folders_once_and_still_skips_identical_bytes(tmp_path):
    out, root = tmp_path / "out", tmp_path / "stage"
    staging = Staging(root, flat=False)
    (out / "a").mkdir(parents=True)
    (out / "a" / "same.html").write_bytes(b"same")
    made: set[str] = set()
    assert stage(out, staging, "a/same.html", b"same", None, made)[1] is False
    assert stage(out, staging, "a/b/c/new.html", b"new", None, made)[1] is True
    assert stage(out, staging, "a/b/c/two.html", b"two", None, made)[1] is True
    assert stage(out, staging, "a/b/other.html", b"o", None, made)[1] is True
    assert (root / "a" / "b" / "c" / "new.html").read_bytes() == b"new"
    assert (root / "a" / "b" / "other.html").read_bytes() == b"o"
    assert str(root / "a" / "b" / "c") in made and str(root / "a" / "b") in made
    assert not (root / "a" / "same.html").exists()
    (root / "file").write_bytes(b"x")
    with pytest.raises(FileExistsError):
        stage(out, staging, "file/inside.html", b"x", None, made)


def test_template_text_that_looks_like_generated_code_is_kept(tmp_path):
    text = "_digest_pieces.extend((x, _digest_pieces.append(\n{{ a }}, _digest_pieces.append(y)\n"
    env = _DataEnvironment(autoescape=True, keep_trailing_newline=True)
    stock = _StockEnvironment(autoescape=True, keep_trailing_newline=True)
    for source in (text, "{% if a %}" + text + "{% endif %}", "{% macro m() %}" + text + "{% endmacro %}{{ m() }}"):
        assert env.from_string(source).render(a="<a>") == stock.from_string(source).render(a="<a>")


def test_the_rewriting_generator_is_used_only_where_it_matches_jinja(tmp_path, monkeypatch):
    from digest import render

    assert make_environment(tmp_path).code_generator_class is render._OutputGenerator

    def unexpected(self, node, frame):
        raise RuntimeError("unexpected output code from Jinja")

    render._generator.cache_clear()
    try:
        monkeypatch.setattr(render._OutputGenerator, "visit_Output", unexpected)
        env = make_environment(tmp_path)
        assert env.code_generator_class is CodeGenerator  # a newer Jinja's code: the stock generator
        assert env.from_string("<p>{{ a }}</p>").render(a="<&>") == "<p>&lt;&amp;&gt;</p>"
        render._generator.cache_clear()
        monkeypatch.setattr(render, "_escape_piece", lambda value: str(value))  # renders differently
        assert make_environment(tmp_path).code_generator_class is CodeGenerator
    finally:
        monkeypatch.undo()
        render._generator.cache_clear()
    assert make_environment(tmp_path).code_generator_class is render._OutputGenerator


def test_an_article_in_another_language_marks_its_own_text_not_the_page(make_site):
    """An Arabic article's page said ``<html lang="ar">`` around English navigation, and no
    title said which way it runs: now the page is in the site's language, the title and
    excerpt carry the article's, and titles and excerpts take their direction from their text."""
    from digest.build import build
    from tests.conftest import record

    site = make_site({
        "content/ar.md": record("تحقيق: الرقابة على الصحفيين", locale="ar", excerpt='"ملخص الخبر."'),
        "content/en.md": record("An English story", when="2024-01-01T10:00:00Z"),
    })
    build(site, jobs=1)
    pages = {p.read_text(encoding="utf-8") for p in (site / "build").glob("2024/*/*/*/index.html")}
    arabic = next(text for text in pages if "تحقيق" in text)
    english = next(text for text in pages if "An English story" in text)
    assert '<html lang="en">' in arabic and '<html lang="en">' in english
    assert '<h1 lang="ar" dir="auto">' in arabic and '<p class="lede" lang="ar" dir="auto">' in arabic
    assert '<h1 dir="auto">An English story</h1>' in english
    home = (site / "build" / "index.html").read_text(encoding="utf-8")
    assert '<h3 class="card-title" lang="ar" dir="auto">' in home and '<article class="card">' in home
