"""The 674 real records of ../shared/real-records build with no errors, no drafts and no secrets.

The records belong to their publishers: they are read from ../shared in place (copied to
a temporary site), never stored in this repository; the tests skip when ../shared is absent.
"""

from __future__ import annotations

import re
import shutil

import pytest
import yaml

from digest.build import build
from digest.load import parse_record


@pytest.fixture(scope="module")
def real_site(tmp_path_factory):
    from tests.conftest import SHARED

    source = SHARED / "real-records" / "everyday-cc-powerapps"
    if not source.is_dir():
        pytest.skip("../shared/real-records is not beside the repository")
    site = tmp_path_factory.mktemp("real")
    shutil.copytree(source, site / "content")
    return site


def test_real_records_build_without_errors(real_site):
    result = build(real_site)
    errors = [str(p) for p in result.problems if p.severity == "error"]
    assert errors == []
    assert result.files == 674
    unexpected = [str(p) for p in result.problems
                  if "isCached is true but there is no file" not in p.message  # no image cache here
                  and "same story as" not in p.message]
    assert unexpected == []
    out = real_site / "build"
    records = {p.name: yaml.safe_load(p.read_text("utf-8-sig").split("\n---", 1)[0].lstrip("-\n"))
               for p in sorted((real_site / "content").glob("*.md"))}
    published = {n for n, d in records.items() if d.get("published", True) is not False}
    drafts = set(records) - published
    assert len(drafts) > 100  # about a third, as in the real site
    stories = {a.id for a in _published_articles(real_site, published)}  # one per webUrl
    assert result.articles == len(stories)
    assert len(list(out.glob("20*/*/*/*/index.html"))) == len(stories)

    everything = b"\n".join(p.read_bytes() for p in out.rglob("*") if p.is_file()
                            and not p.relative_to(out).as_posix().startswith("pagefind/"))
    # no secret, whole or in part
    for name, data in records.items():
        secret = data.get("secured")
        if secret:
            for part in secret.split(";"):
                assert part.encode() not in everything, name
    # a draft's own page, with its slug, is nowhere
    for name in sorted(drafts):
        article = parse_record((real_site / "content" / name).read_bytes(), "content/" + name).article
        if article and article.id not in stories:
            assert f"/{article.slug}/".encode() not in everything, name


def _published_articles(site, names):
    return [r.article for n in names
            if (r := parse_record((site / "content" / n).read_bytes(), "content/" + n)).article]


def test_real_records_pages_are_safe(real_site):
    out = real_site / "build"
    if not out.is_dir():
        build(real_site)
    for page in out.rglob("*.html"):
        text = page.read_text()
        assert "<iframe" not in text, page  # featuredContent is data, never markup
        without_data = re.sub(r'<script type="application/ld\+json">.*?</script>', "", text, flags=re.S)
        assert not re.search(r"<script(?![^>]*\bsrc=\"/)", without_data), page
        assert "javascript:" not in text.lower(), page
