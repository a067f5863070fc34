"""Property tests: random and malformed records never crash a build; every valid published record appears."""

from __future__ import annotations

import html
import shutil
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from digest.build import build
from digest.load import parse_record
from digest.text import plain_text

FIELDS = ["title", "excerpt", "publishedDateTime", "updatedDateTime", "category", "type", "webUrl",
          "originalUrl", "quality", "heat", "published", "provider", "topics", "images", "related",
          "locale", "secured", "featuredContent"]

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-10**20, 10**20), st.floats(allow_nan=True),
    st.text(max_size=40), st.sampled_from(["", "2024-01-01", "2024-13-45T99:00:00Z", "javascript:alert(1)",
                                           "//host/x", "https://a.example/b", "<script>x</script>", "-1"]),
    st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30)),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(st.one_of(st.sampled_from(FIELDS + ["url", "width", "height",
                                                                                  "isCached", "name", "domain"]),
                                                      st.text(max_size=8)), inner, max_size=5)),
    max_leaves=12,
)
front_matters = st.dictionaries(st.sampled_from(FIELDS), values, max_size=len(FIELDS))

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(st.binary(max_size=400))
def test_random_bytes_never_crash_the_loader(raw):
    result = parse_record(raw, "content/x.md")
    assert result.article is not None or result.problems


@SETTINGS
@given(st.binary(max_size=200), st.binary(max_size=200))
def test_random_bytes_inside_front_matter_never_crash(head, tail):
    raw = b"---\ntitle: ok\npublishedDateTime: 2024-01-01\n" + head + b"\n---\n" + tail
    parse_record(raw, "content/x.md")


@SETTINGS
@given(front_matters, st.text(max_size=80))
def test_random_front_matter_never_crashes_the_loader(data, body):
    text = "---\n" + yaml.safe_dump(data, allow_unicode=True) + "---\n" + body
    result = parse_record(text.encode("utf-8", "surrogatepass"), "content/x.md")
    if result.article is not None:
        assert "secured" not in result.article.extra
    assert all(p.path == "content/x.md" for p in result.problems)


def _site(records: dict[str, str]) -> Path:
    root = Path(tempfile.mkdtemp(prefix="digest-prop-"))
    for name, text in records.items():
        path = root / "content" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.encode("utf-8", "surrogatepass"))
    return root


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(front_matters, min_size=1, max_size=6))
def test_random_records_never_crash_a_build(records):
    site = _site({f"r{i}.md": "---\n" + yaml.safe_dump(d, allow_unicode=True) + "---\n"
                  for i, d in enumerate(records)})
    try:
        result = build(site, jobs=1)
        assert (site / "build" / "index.html").is_file()
        assert result.files == len(records)
        for path in (site / "build").rglob("*.html"):
            assert b"<script>x</script>" not in path.read_bytes()
    finally:
        shutil.rmtree(site)


titles = st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=60).filter(
    lambda t: plain_text(html.unescape(t)).strip())  # (a soft hyphen alone is no title: text fields drop it)
valid_records = st.lists(
    st.fixed_dictionaries({
        "title": titles,
        "publishedDateTime": st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2030, 1, 1),
                                          timezones=st.just(UTC)),
        "topics": st.lists(st.text(min_size=1, max_size=12).filter(str.strip), max_size=3),
        "published": st.booleans(),
        "quality": st.integers(0, 200),
    }),
    min_size=1, max_size=8,
)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(valid_records)
def test_every_valid_published_record_appears(records):
    files = {}
    for i, data in enumerate(records):
        data = {**data, "webUrl": f"https://prop.example/{i}",
                "publishedDateTime": data["publishedDateTime"] + timedelta(seconds=i)}
        files[f"r{i}.md"] = "---\n" + yaml.safe_dump(data, allow_unicode=True) + "---\n"
    site = _site(files)
    try:
        result = build(site, jobs=1)
        assert [p for p in result.problems if p.severity == "error"] == []
        published = [d for d in records if d["published"]]
        assert result.articles == len(published)
        pages = list((site / "build").glob("[0-9]*/*/*/*/index.html"))
        assert len(pages) == len(published)
        home = (site / "build" / "index.html").read_text()
        sitemap = (site / "build" / "sitemap.xml").read_text()
        for page in pages:
            assert page.parent.relative_to(site / "build").as_posix() in sitemap
        assert home.count('class="card') >= min(len(published), 8)
    finally:
        shutil.rmtree(site)


def test_every_character_plain_text_and_safe_url_search_for_is_one_isprintable_refuses():
    """`plain_text` and `safe_url` skip their searches for printable text (`str.isprintable`, in C):
    right only while every character their patterns find is unprintable. A pattern grown with a
    printable character would be skipped silently; this says which."""
    from digest.text import _CONTROL, _ODD_TEXT

    every = "".join(map(chr, range(0x110000)))
    found = [m.group() for pattern in (_ODD_TEXT, _CONTROL) for m in pattern.finditer(every)]
    assert found and [f"U+{ord(c):04X}" for c in "".join(found) if c.isprintable()] == []
    assert "a  b".isprintable()  # (two spaces: printable, so plain_text looks for them apart)


def test_every_character_a_secret_copy_may_hide_in_is_unprintable():
    """`load._decoded` skips its search of `_HIDING` for printable text (see the test above)."""
    from digest.load import _HIDING

    every = "".join(map(chr, range(0x110000)))
    found = "".join(m.group() for m in _HIDING.finditer(every))
    assert found and [f"U+{ord(c):04X}" for c in found if c.isprintable()] == []
