"""Output audit: what hostile-but-valid records made that the external validators refused.

A site of deliberately nasty records (markup-like and RTL text, entity soup, odd topics,
providers and URLs, broken images, extreme dates, raw-HTML notes; made by a generator kept
outside the repository) was built and run through ../shared/validate (Nu HTML checker,
feeds, sitemap, links, axe-core, script scan). Each test here pins, without the validators or
the network, the property whose absence one of them reported: the HTML is parsed with
``html.parser``, feeds and sitemaps with ``xml.etree``, JSON with ``json.loads``.
"""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

from .conftest import record


def _build(site: Path) -> Path:
    from digest.build import build

    build(site, jobs=1)
    return site / "build"


def _article_pages(out: Path) -> dict[str, str]:
    """Every article page's HTML by its title (the text of its ``<h1>``)."""
    pages = {}
    for path in out.glob("[0-9][0-9][0-9][0-9]/*/*/*/index.html"):
        text = path.read_text(encoding="utf-8")
        h1 = text.split("<h1", 1)[1].split(">", 1)[1].split("</h1>", 1)[0]
        pages[h1] = text
    return pages


class _Tables(HTMLParser):
    """The cell counts of every row of every table, by table (nested tables apart)."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[list[int]] = []
        self.open: list[list[int]] = []

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.open.append([])
        elif tag == "tr" and self.open:
            self.open[-1].append(0)
        elif tag in ("td", "th") and self.open and self.open[-1]:
            self.open[-1][-1] += 1

    def handle_endtag(self, tag):
        if tag == "table" and self.open:
            self.tables.append(self.open.pop())


def _table_rows(html: str) -> list[list[int]]:
    parser = _Tables()
    parser.feed(html)
    return parser.tables


RAGGED_TABLES = {
    "empty row": "<table><caption></caption><tr></tr></table>\n",
    "empty first row": "<table><tr></tr><tr><td>x</td></tr></table>\n",
    "short row": "<table><tr><td>a</td><td>b</td></tr><tr><td colspan=3>c</td></tr></table>\n",
    "long row": "<table><tr><td>x</td></tr><tr><td>1</td><td>2</td><td>3</td></tr></table>\n",
    "nested": ("<table><tr><td><table><tr><td>n</td></tr><tr></tr><tr><td>1</td><td>2</td></tr>"
               "</table></td></tr><tr><td>a</td><td>b</td></tr></table>\n"),
    "markdown": "| a | b |\n|---|---|\n| 1 |\n| 1 | 2 | 3 |\n",
}


def _noted_pages(make_site, kind: str, notes: dict[str, str]) -> dict[str, str]:
    """A site of one record per note (titled ``"{kind} {name}"``), built: its article pages by title."""
    files = {"digest.toml": 'title = "T"\n'}
    for n, (name, note) in enumerate(notes.items()):
        files[f"content/{kind.lower()}{n}.md"] = record(f"{kind} {name}", webUrl=f'"https://{kind.lower()}.example/{n}"') + note
    return _article_pages(_build(make_site(files)))


def test_note_tables_have_no_empty_rows_and_every_row_is_as_wide_as_the_widest(make_site):
    """vnu: "Row 1 of a row group established by a tbody element has no cells beginning on it"
    (an error) for a raw ``<tr></tr>`` in a note, and "A table row was 1 columns wide, which is
    less than the column count established by the first row" (a warning) for ragged rows."""
    pages = _noted_pages(make_site, "Table", RAGGED_TABLES)
    for name in RAGGED_TABLES:
        tables = _table_rows(pages[f"Table {name}"])
        assert tables, name
        for rows in tables:
            assert all(rows), (name, rows)  # no row without cells
            assert len(set(rows)) <= 1, (name, rows)  # every row equally wide
    # the cells are padded at the end, nothing is lost
    assert "<td>c</td><td></td>" in pages["Table short row"]


class _Headings(HTMLParser):
    """The text of every heading of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.headings: list[str] = []
        self.depth = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("h1", "h2", "h3", "h4", "h5", "h6"):
            self.depth += 1
            self.headings.append("")

    def handle_endtag(self, tag):
        if tag in ("h1", "h2", "h3", "h4", "h5", "h6"):
            self.depth -= 1

    def handle_data(self, data):
        if self.depth:
            self.headings[-1] += data


EMPTY_HEADINGS = {
    "hash alone": "#\n\nAfter.\n",
    "script heading": "## <script>alert(1)</script>\n\nAfter.\n",
    "empty bold": "### <b></b>\n\n###### <b> </b>\n\nAfter.\n",
    "invisible": "### &nbsp;\n\n### \u200b\n\n<h4>\u200d</h4>\n\nAfter.\n",
    "between": "# A\n\n#\n\n### B\n",
}


def test_note_headings_that_show_nothing_are_dropped(make_site):
    """vnu: "Empty heading." (a warning; axe's ``empty-heading`` too) for a note's ``#`` alone or
    a heading whose only content the sanitizer removed. The other headings keep their order."""
    pages = _noted_pages(make_site, "Heading", EMPTY_HEADINGS)
    for name in EMPTY_HEADINGS:
        parser = _Headings()
        parser.feed(pages[f"Heading {name}"])
        assert all(text.strip(" \u00a0\u200b\u200d\n") for text in parser.headings), (name, parser.headings)
    assert "<h3>A</h3>\n<h4>B</h4>" in pages["Heading between"]
    assert "<p>After.</p>" in pages["Heading hash alone"]


def test_a_fenced_code_block_in_a_note_shows_its_html_as_code(make_site):
    """A curator's fenced code block holding HTML (```html ... ```) lost its lines: Markdown without
    fences read them as raw HTML, which the sanitizer removed (a <script> line with its text), and the
    fences showed as text. Now the block is code: its HTML shown, escaped, nothing of it executable."""
    note = "Example:\n\n```html\n<script>alert('x')</script>\n<iframe src=\"https://e.example\"></iframe>\n```\n"
    out = _build(make_site({"content/c.md": record("Fenced") + note}))
    page = _article_pages(out)["Fenced"]
    note_html = page.split('<section class="note"', 1)[1].split("</section>", 1)[0]
    code = note_html.split("<pre><code>", 1)[1].split("</code></pre>", 1)[0]
    assert "&lt;script&gt;alert(" in code and "&lt;iframe src=" in code
    assert "```" not in note_html and "<iframe" not in note_html and "<script" not in note_html


def test_a_site_in_a_right_to_left_language_has_pages_that_run_right_to_left(make_site):
    """``language = "ar"`` gave ``<html lang="ar">`` with no direction: an Arabic site was laid out
    left to right (browsers take direction from ``dir``, never from ``lang``). The theme's
    stylesheet uses logical sides, so the note's rule and the skip link follow the direction."""
    from digest.text import language_direction

    for tag, direction in [("ar", "rtl"), ("he-IL", "rtl"), ("fa_IR", "rtl"), ("pa-Arab", "rtl"),
                           ("ug-Cyrl", "ltr"), ("en", "ltr"), ("sr-Latn-RS", "ltr"), ("EN-us", "ltr")]:
        assert language_direction(tag) == direction, tag
    site = make_site({"digest.toml": 'title = "أخبار"\nlanguage = "ar"\n',
                      "content/a.md": record("خبر", locale="ar") + "ملاحظة\n"})
    out = _build(site)
    for page in [out / "index.html", out / "404.html", *out.glob("2024/*/*/*/index.html")]:
        assert '<html lang="ar" dir="rtl">' in page.read_text(encoding="utf-8"), page
    css = (out / "static" / "style.css").read_text(encoding="utf-8")
    assert "left:" not in css.replace(" ", "").replace("\n", "") and "padding-left" not in css
    english = _build(make_site({"content/a.md": record("News")}))
    assert '<html lang="en">' in (english / "index.html").read_text(encoding="utf-8")


def test_table_evening_reads_cell_tags_with_attributes():
    """`_even_tables` also counts a ``<td align=...>`` (the sanitizer allows ``align``)."""
    from digest.text import _even_tables

    html = ('<table><thead><tr><th align="left">a</th><th>b</th></tr></thead>'
            '<tbody><tr><td align="right">1</td></tr><tr class="x"></tr></tbody></table>')
    assert _table_rows(_even_tables(html)) == [[2, 2]]
