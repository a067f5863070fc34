"""The ``[labels]`` table: every word the site writes, in the site's language (see README, "Labels")."""

from __future__ import annotations

import json
import re
from pathlib import Path
from xml.etree import ElementTree

import pytest

from digest.build import build
from digest.config import parse_config
from digest.errors import ConfigError
from digest.labels import (
    LABELS,
    MONTHS,
    SEARCH_MESSAGES,
    fill,
    labels_of,
    placeholders,
    readme_table,
)

from .conftest import record

README = Path(__file__).resolve().parent.parent / "README.md"
TEMPLATES = Path(__file__).resolve().parent.parent / "templates"

SPANISH_MONTHS = ["enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto",
                  "septiembre", "octubre", "noviembre", "diciembre"]


def _problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_config(text)
    return [str(p) for p in caught.value.problems]


def _toml_string(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)  # (a JSON string is a TOML basic string)


def _site(make_site, toml: str = "", **files: str) -> Path:
    return make_site({
        "digest.toml": 'title = "Diario"\nbase_url = "https://example.org/"\nsearch = false\npage_size = 1\n' + toml,
        "content/a.md": record("Primera", "2024-03-05T10:00:00Z", topics="[Ciencia]",
                                  provider="{name: Fuente, domain: fuente.example}",
                                  related='[{title: "Otra", webUrl: "https://else.example/x"}]')
                        + "Una nota.\n",
        "content/b.md": record("Segunda", "2024-03-06T10:00:00Z", topics="[Ciencia]", published="false"),
        "content/c.md": record("Tercera", "2024-03-06T11:00:00Z", topics="[Ciencia]"),
        **files,
    })


# --------------------------------------------------------------------------- the one source


def test_the_readme_lists_exactly_the_labels_there_are():
    text = README.read_text(encoding="utf-8")
    block = re.search(r"<!-- labels table: made by scripts/make_labels_table.py -->\n(.*?)\n<!-- end of labels table -->",
                      text, re.DOTALL)
    assert block is not None
    assert block.group(1) == readme_table(), "run scripts/make_labels_table.py"
    listed = re.findall(r"^\| `([a-z_]+)` \|", block.group(1), re.MULTILINE)
    assert listed == [*LABELS, "months"]


def test_every_label_is_used_somewhere_and_the_templates_name_only_labels_there_are():
    templates = "".join(p.read_text(encoding="utf-8") for p in TEMPLATES.glob("*.html"))
    code = "".join(p.read_text(encoding="utf-8") for p in (TEMPLATES.parent / "digest").glob("*.py")
                   if p.name != "labels.py")
    in_templates = set(re.findall(r"\blabels\.([a-z_]+)", templates))
    in_code = set(re.findall(r"""(?:words\[|say\()"([a-z_]+)["]""", code))
    assert in_templates <= set(LABELS) and in_code <= set(LABELS)
    through = {"stories_one", "stories_other", "date", "month_year"}  # (`Labels.stories`, `day`, `month`)
    through |= set(SEARCH_MESSAGES.values())  # (the search page's data-messages, for its script)
    assert set(LABELS) - in_templates - in_code - through == set()


def test_english_defaults_are_safe_to_write_as_they_are():
    # The English labels are written unescaped (as when templates held them): none may hold
    # what HTML or an attribute would read.
    for key, (text, where) in LABELS.items():
        assert not re.search(r'[<>&"]', text), key
        assert text.strip() == text and where
    assert len(MONTHS) == 12


def test_fill_is_one_pass_of_plain_replacement():
    assert fill("Page {n} of {total}", n=2, total=5) == "Page 2 of 5"
    assert fill("{n.__class__} {n[0]} {0} {} {N}", n=7) == "{n.__class__} {n[0]} {0} {} {N}"
    assert fill("{a} {b}", a="{b}", b="x") == "{b} x"  # (a value is never read again)
    assert fill("{total}", n=1) == "{total}"
    assert placeholders("page_heading") == ("title", "n", "total")


# --------------------------------------------------------------------------- config


def test_a_labels_table_is_read_into_the_config():
    config = parse_config('[labels]\nnav_home = "Inicio"\nmonths = ' + json.dumps(SPANISH_MONTHS) + "\n")
    assert dict(config.labels)["nav_home"] == "Inicio"
    assert config.words["nav_home"] == "Inicio" and config.words["nav_topics"] == "Topics"
    assert config.words.day(5, 3, 2024) == "5 marzo 2024"
    assert parse_config('labels.nav_home = "Inicio"\n') == parse_config('[labels]\nnav_home = "Inicio"\n')
    assert hash(config) is not None  # (frozen, hashable: the planner compares configs)


def test_an_unknown_label_is_a_problem_naming_it_with_a_hint():
    assert _problems('title = "x"\n[labels]\nnav_hom = "Inicio"\n') == [
        "digest.toml:3: labels.nav_hom: unknown label (did you mean 'nav_home'?)"]
    assert _problems('labels.Skip_To_Content = "Saltar"\n') == [
        "digest.toml:1: labels.Skip_To_Content: unknown label (did you mean 'skip_to_content'?)"]


def test_bad_label_values_are_problems_naming_key_and_line_all_at_once():
    problems = _problems(
        '[labels]\n'
        'draft = 3\n'
        'newer = ""\n'
        'older = "   "\n'
        'skip_to_content = "Saltar\\nal contenido"\n'
        'nav_home = "In\\u0000icio"\n'
        'page_of = "Página {n} de {x}"\n'
        'months = ["enero"]\n'
        'nav_topics = ["Temas"]\n'
    )
    assert [p.split(": ")[0:2] for p in problems] == [
        ["digest.toml:2", "labels.draft"], ["digest.toml:3", "labels.newer"], ["digest.toml:4", "labels.older"],
        ["digest.toml:5", "labels.skip_to_content"], ["digest.toml:6", "labels.nav_home"],
        ["digest.toml:7", "labels.page_of"], ["digest.toml:8", "labels.months"], ["digest.toml:9", "labels.nav_topics"]]
    assert "expected a string, got an integer 3" in problems[0]
    assert "control characters" in problems[3] and "control characters" in problems[4]
    assert "unknown placeholder {x} (this label's: {n}, {total})" in problems[5]
    assert "12 month names" in problems[6]


def test_two_navigation_landmarks_may_not_share_a_name():
    # (axe: landmark-unique; the site's navigation, the breadcrumbs and a pager are on one page)
    assert _problems('[labels]\nnav_label = "Menú"\nbreadcrumb_label = "menú"\n') == [
        "digest.toml:3: labels.breadcrumb_label: the same text as labels.nav_label ('menú'): two navigation "
        "landmarks of a page would have one name (screen readers list them by name)"]
    assert _problems('[labels]\npagination_label = "Main"\n')[0].startswith(
        "digest.toml:2: labels.pagination_label: the same text as labels.nav_label ('Main')")
    parse_config('[labels]\nnav_label = "Principal"\nbreadcrumb_label = "Ruta"\npagination_label = "Páginas"\n')


def test_labels_that_is_no_table_is_one_problem():
    assert _problems('labels = "es"\n') == [
        'digest.toml:1: labels: expected a table of labels ([labels], then lines such as nav_home = "Inicio"), '
        "got a string 'es'"]


def test_a_label_may_leave_out_its_placeholders():
    assert parse_config('[labels]\npage_of = "Página"\n').words.say("page_of", n=1, total=2) == "Página"


# --------------------------------------------------------------------------- built pages


SPANISH = (
    'language = "es"\n[labels]\n'
    'nav_home = "Inicio"\nnav_editions = "Ediciones"\nnav_topics = "Temas"\nnav_sources = "Fuentes"\n'
    'nav_archive = "Archivo"\nskip_to_content = "Saltar al contenido"\nbreadcrumb_label = "Ruta"\n'
    'pagination_label = "Paginación"\nnewer = "← Más recientes"\nolder = "Anteriores →"\n'
    'page_of = "Página {n} de {total}"\npage_heading = "{title} (página {n} de {total})"\n'
    'date = "{day} de {month} de {year}"\nmonth_year = "{month} de {year}"\n'
    'stories_one = "{n} noticia"\nstories_other = "{n} noticias"\n'
    'edition_title = "Edición del {date}"\narticle_note = "Nota del editor"\n'
    'related_coverage = "Cobertura relacionada"\nnot_found_title = "Página no encontrada"\n'
    'feed_title = "{site}: {name}"\ntopic_description = "Lo último sobre {name}."\n'
    'opml_site = "Sitio"\nfeed_edition_summary = "{stories}. Destacadas: {titles}."\n'
    'months = ' + json.dumps(SPANISH_MONTHS, ensure_ascii=False) + "\n"
)


def test_a_spanish_site_is_written_in_spanish(make_site):
    site = _site(make_site, SPANISH)
    build(site, jobs=1)
    out = site / "build"
    home = (out / "index.html").read_text(encoding="utf-8")
    assert '<html lang="es">' in home
    assert ">Inicio</a>" in home and ">Ediciones</a>" in home and ">Archivo</a>" in home
    assert "Saltar al contenido" in home and "Skip to content" not in home
    assert "6 de marzo de 2024" in home
    article = next(out.glob("2024/03/05/*/index.html")).read_text(encoding="utf-8")
    assert "Nota del editor" in article and "Cobertura relacionada" in article
    assert 'aria-label="Ruta"' in article
    assert "5 de marzo de 2024" in article
    topic = (out / "topics/ciencia/index.html").read_text(encoding="utf-8")
    assert "2 noticias" in topic and "Página 1 de 2" in topic and 'aria-label="Paginación"' in topic
    assert "Lo último sobre Ciencia." in topic
    page2 = (out / "topics/ciencia/page/2/index.html").read_text(encoding="utf-8")
    assert "<title>Ciencia (página 2 de 2) · Diario</title>" in page2
    assert "Edición del 6 de marzo de 2024" in (out / "editions/2024-03-06/index.html").read_text(encoding="utf-8")
    assert "marzo de 2024" in (out / "archive/index.html").read_text(encoding="utf-8")
    assert "Página no encontrada" in (out / "404.html").read_text(encoding="utf-8")
    rss = ElementTree.parse(out / "topics/ciencia/rss.xml").getroot()
    assert rss.find("channel/title").text == "Diario: Ciencia"
    editions = ElementTree.parse(out / "editions/rss.xml").getroot()
    assert editions.find("channel/item/title").text.startswith("Edición del ")
    assert "1 noticia. Destacadas: Tercera." in editions.find("channel/item/description").text
    opml = (out / "feeds.opml").read_text(encoding="utf-8")
    assert 'title="Sitio"' in opml and 'title="Temas"' in opml
    # The protocol's own dates stay as RFC 822 writes them.
    assert re.search(r"<pubDate>\w{3}, \d\d (Jan|Feb|Mar)", (out / "rss.xml").read_text(encoding="utf-8"))


def test_hostile_labels_are_escaped_everywhere(make_site):
    evil = '<script>alert(1)</script> & "quoted" \'single\''
    toml = "[labels]\n" + "".join(f"{key} = {_toml_string(f'{evil} {key}' + (' {n}' if 'n' in placeholders(key) else ''))}\n"
                                  for key in LABELS)
    site = _site(make_site, toml)
    build(site, jobs=1)
    out = site / "build"
    for path in [*out.rglob("*.html"), *out.rglob("*.xml"), *out.rglob("*.opml")]:
        assert "<script>alert" not in path.read_text(encoding="utf-8"), path
    for name in ("index.html", "404.html", "topics/ciencia/index.html", "topics/ciencia/rss.xml", "feeds.opml",
                 "editions/atom.xml"):
        assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp;" in (out / name).read_text(encoding="utf-8"), name
    for path in out.rglob("*.html"):
        text = path.read_text(encoding="utf-8")
        # (inside an attribute, both quotes are escaped)
        assert not re.search(r"""=["'][^"']*'single'""", text), path
    for path in [*out.rglob("*.xml"), *out.rglob("*.opml")]:
        ElementTree.parse(path)  # still well-formed
    for path in out.rglob("*.json"):
        json.loads(path.read_text(encoding="utf-8"))
    # (JSON holds the text as it is, escaped as JSON: a topic's JSON API title is its feed's)
    ld = re.search(r'<script type="application/ld\+json">(.*?)</script>',
                   (out / "topics/ciencia/index.html").read_text(encoding="utf-8"), re.DOTALL)
    assert ld is None or "<script" not in ld.group(1)


def test_a_site_template_reads_the_labels(make_site):
    site = _site(make_site, '[labels]\npage_of = "S. {n}/{total}"\n',
                 **{"templates/404.html": '{% extends "base.html" %}{% block main %}'
                                          '<p id="x">{{ labels.page_of|fill(n=3, total="<9>") }}</p>'
                                          '<p id="y">{{ labels.nav_home }}</p>{% endblock %}\n'})
    build(site, jobs=1)
    text = (site / "build/404.html").read_text(encoding="utf-8")
    assert '<p id="x">S. 3/&lt;9&gt;</p>' in text and '<p id="y">Home</p>' in text


def test_an_edited_label_rebuilds_the_pages_that_show_it_and_a_second_build_writes_nothing(make_site):
    site = _site(make_site, '[labels]\narticle_note = "Nota"\n')
    first = build(site, jobs=1)
    assert first.written > 0
    article = next((site / "build").glob("2024/03/05/*/index.html"))
    assert "<h2 id=\"note-heading\">Nota</h2>" in article.read_text(encoding="utf-8")
    toml = (site / "digest.toml").read_text(encoding="utf-8")
    (site / "digest.toml").write_text(toml.replace('"Nota"', '"Nota del editor"'), encoding="utf-8")
    second = build(site, jobs=1)
    assert second.written > 0
    assert "<h2 id=\"note-heading\">Nota del editor</h2>" in article.read_text(encoding="utf-8")
    again = build(site, jobs=1)
    assert again.written == 0 and again.rendered == 0
    # A month name too: every date in words changes.
    months = list(MONTHS)
    months[2] = "marzo"
    (site / "digest.toml").write_text(toml + f"months = {json.dumps(months)}\n", encoding="utf-8")
    build(site, jobs=1)
    assert "5 marzo 2024" in article.read_text(encoding="utf-8")
    assert build(site, jobs=1).written == 0


def test_english_labels_given_as_they_are_change_nothing(make_site):
    site = _site(make_site)
    build(site, jobs=1)
    before = {p: p.read_bytes() for p in (site / "build").rglob("*") if p.is_file() and "static" not in p.parts}
    every = "[labels]\n" + "".join(f"{key} = {_toml_string(text)}\n" for key, (text, _) in LABELS.items())
    every += f"months = {json.dumps(list(MONTHS))}\n"
    labels_of.cache_clear()
    toml = (site / "digest.toml").read_text(encoding="utf-8")
    (site / "digest.toml").write_text(toml + every, encoding="utf-8")
    build(site, jobs=1)
    after = {p: p.read_bytes() for p in (site / "build").rglob("*") if p.is_file() and "static" not in p.parts}
    changed = [str(p) for p in before if before[p] != after.get(p)]
    assert changed == []


def test_the_search_script_says_the_labels_and_its_own_english_is_theirs(make_site):
    script = (TEMPLATES.parent / "static/search.js").read_text(encoding="utf-8")
    block = re.search(r"const MESSAGES = \{\n(.*?)\n\};", script, re.DOTALL).group(1)
    fallback = dict(re.findall(r'^  (\w+): "(.*)",$', block, re.MULTILINE))
    assert fallback == {name: LABELS[key][0] for name, key in SEARCH_MESSAGES.items()}
    site = _site(make_site, '[labels]\nsearch_none = "Ninguna noticia. <\'>"\n'
                            'search_found_more = "{n} noticias, se muestran {shown}."\n')
    (site / "digest.toml").write_text((site / "digest.toml").read_text(encoding="utf-8").replace(
        "search = false\n", "search = true\n"), encoding="utf-8")
    build(site, jobs=1)
    page = (site / "build/search/index.html").read_text(encoding="utf-8")
    given = re.search(r"data-messages='([^']*)'", page).group(1)
    import html

    messages = json.loads(html.unescape(given))
    assert messages["none"] == "Ninguna noticia. <'>" and messages["more"] == "{n} noticias, se muestran {shown}."
    assert messages["searching"] == "Searching…"
    assert "<'>" not in given  # (escaped inside the attribute)


def test_bidi_controls_are_dropped_from_labels_and_one_of_only_them_is_a_problem(make_site):
    # An override in a label (U+202E, "right-to-left override") reversed what followed it on
    # every page, as a record's title did before its text was made plain.
    config = parse_config('[labels]\nnav_home = "\\u202eInicio"\nmonths = ' + json.dumps(
        ["\u2067" + month + "\u2069" for month in SPANISH_MONTHS]) + "\n")
    assert config.words["nav_home"] == "Inicio"
    assert config.words.day(5, 3, 2024) == "5 marzo 2024"
    assert _problems('[labels]\nnav_home = "\\u202e\\u202c"\n') == [
        "digest.toml:2: labels.nav_home: expected a non-empty string that shows something, got a string "
        "'\\u202e\\u202c'"]
    site = _site(make_site, '[labels]\nnav_home = "\\u202eInicio"\n')
    build(site, jobs=1)
    for path in (site / "build").rglob("*.html"):
        assert "\u202e" not in path.read_text(encoding="utf-8"), path
    assert ">Inicio<" in (site / "build" / "index.html").read_text(encoding="utf-8")


def test_landmarks_are_compared_as_kept_without_bidi_controls():
    # ("Main" and "\u202eMain" differed as written, and were one name once the override was dropped)
    assert _problems('[labels]\npagination_label = "\\u202eMain"\n')[0].startswith(
        "digest.toml:2: labels.pagination_label: the same text as labels.nav_label")
