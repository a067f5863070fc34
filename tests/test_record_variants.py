"""Real-world shapes of the record fields: what scrapers and API exporters (Bing News, RSS,
Jekyll, JSON dumps) write for the same contract fields. Each shape either loads with the
value it means, or is one clear problem naming the file, line and field; never a silently
wrong value. End-to-end checks look at the built pages, feeds and JSON."""

from __future__ import annotations

import json

import pytest

from digest.build import build
from digest.load import parse_record

HEAD = "title: A story\nwebUrl: https://news.example.com/a\n"


def parse(front: str, body: str = "", name: str = "content/x.md"):
    """(article or None, problems as printed) of one record with ``front`` as its front matter."""
    result = parse_record(f"---\n{front}\n---\n{body}".encode(), name)
    return result.article, [str(p) for p in result.problems]


def published(value: str) -> tuple[str | None, list[str]]:
    article, problems = parse(f"{HEAD}publishedDateTime: {value}")
    return (article.published.isoformat() if article else None), problems


def site_json(make_site, files: dict[str, str]) -> tuple[dict, list[str], object]:
    """Build a site of ``files`` (under content/); its article JSON by title, problems, output folder."""
    site = make_site({"digest.toml": "search = false\n"} | {f"content/{n}": t for n, t in files.items()})
    result = build(site, jobs=1)
    out = site / "build"
    docs = [json.loads(p.read_text("utf-8")) for p in sorted((out / "api" / "articles").glob("*.json"))]
    return {d["title"]: d for d in docs}, [str(p) for p in result.problems], out


# --------------------------------------------------------------------------- dates

@pytest.mark.parametrize(("given", "instant"), [
    # RSS (RFC 822 / RFC 2822), as feeds and feed scrapers give it
    ("Thu, 26 Nov 2026 10:00:00 GMT", "2026-11-26T10:00:00+00:00"),
    ("'Thu, 26 Nov 2026 10:00:00 +0100'", "2026-11-26T10:00:00+01:00"),
    ("Thu, 26 Nov 2026 10:00:00 -0330", "2026-11-26T10:00:00-03:30"),
    ("Thu, 26 Nov 2026 10:00:00 EST", "2026-11-26T10:00:00-05:00"),
    ("Thu, 26 Nov 2026 10:00:00 PDT", "2026-11-26T10:00:00-07:00"),
    ("Thu, 26 Nov 2026 10:00:00 UT", "2026-11-26T10:00:00+00:00"),
    ("Thu, 26 Nov 2026 10:00 UTC", "2026-11-26T10:00:00+00:00"),
    ("26 Nov 2026 10:00:00 Z", "2026-11-26T10:00:00+00:00"),
    ("Thu, 26 Nov 2026 10:00:00 -0000", "2026-11-26T10:00:00+00:00"),
    ("Thursday, 26 November 2026 10:00:00 GMT", "2026-11-26T10:00:00+00:00"),
    ("Thu, 26 Nov 26 10:00:00 GMT", "2026-11-26T10:00:00+00:00"),
    ("Thu, 26 Nov 2026 10:00:00", "2026-11-26T10:00:00+00:00"),
    # Ruby's Time#to_s and other ISO-like dates with a zone name
    ("2026-11-26 10:00:00 UTC", "2026-11-26T10:00:00+00:00"),
    ("'2026-11-26T10:00:00 GMT'", "2026-11-26T10:00:00+00:00"),
    # Go's time.Time printed as it is (%v), monotonic clock reading included
    ("2026-11-26 10:00:00 +0000 UTC", "2026-11-26T10:00:00+00:00"),
    ("2026-11-26 05:00:00.123456789 -0500 EST m=+0.001", "2026-11-26T05:00:00-05:00"),
    # C's asctime, no zone: UTC
    ("Thu Nov 26 10:00:00 2026", "2026-11-26T10:00:00+00:00"),
    # year first with slashes (no country writes year, day, month), ISO 8601's 24:00 (the day's end)
    ("'2026/11/26'", "2026-11-26T00:00:00+00:00"),
    ("'2026/11/26 10:00'", "2026-11-26T10:00:00+00:00"),
    ("'2026/11/26 10:00:00 +0100'", "2026-11-26T10:00:00+01:00"),
    ("'2026-11-26T24:00:00Z'", "2026-11-27T00:00:00+00:00"),
    ("'2026-12-31T24:00+05:30'", "2027-01-01T00:00:00+05:30"),
    # the Twitter API's created_at
    ("Thu Nov 26 10:00:00 +0000 2026", "2026-11-26T10:00:00+00:00"),
    # epoch seconds and milliseconds (JSON APIs)
    ("1795687200", "2026-11-26T10:00:00+00:00"),
    ("1795687200000", "2026-11-26T10:00:00+00:00"),
    ("1795687200.75", "2026-11-26T10:00:00+00:00"),
    ("'1795687200'", "2026-11-26T10:00:00+00:00"),
    ("'1795687200.75'", "2026-11-26T10:00:00+00:00"),
    ("'1795687200000000'", "2026-11-26T10:00:00+00:00"),  # microseconds
    ("'1795687200123456789'", "2026-11-26T10:00:00+00:00"),  # nanoseconds (Go's UnixNano)
    ("'20261126'", "2026-11-26T00:00:00+00:00"),  # ISO 8601's basic date
    # .NET's JSON dates
    ("'/Date(1795687200000)/'", "2026-11-26T10:00:00+00:00"),
    ("'/Date(1795687200000+0530)/'", "2026-11-26T15:30:00+05:30"),
    # Java's ZonedDateTime, RFC 9557
    ("'2026-11-26T15:30:00+05:30[Asia/Kolkata]'", "2026-11-26T15:30:00+05:30"),
    ("'2026-11-26T10:00:00[Europe/Paris]'", "2026-11-26T10:00:00+01:00"),
    # a leap second is the last second of its day (whole seconds are kept)
    ("2016-12-31T23:59:60Z", "2016-12-31T23:59:59+00:00"),
    ("'2016-12-31T23:59:60.5Z'", "2016-12-31T23:59:59+00:00"),
    ("'2017-01-01T05:29:60+05:30'", "2017-01-01T05:29:59+05:30"),
    ("Sat, 31 Dec 2016 23:59:60 GMT", "2016-12-31T23:59:59+00:00"),
])
def test_dates_in_the_shapes_feeds_and_apis_write_them_are_read(given, instant):
    assert published(given) == (instant, [])


@pytest.mark.parametrize(("given", "shown"), [
    # the weekday disagrees with the date: which one is wrong?
    ("Wed, 26 Nov 2026 10:00:00 GMT", "'Wed, 26 Nov 2026 10:00:00 GMT' (Wed is not the day of that date)"),
    # a zone name RFC 822 does not define (IST is India, Israel or Ireland)
    ("Thu, 26 Nov 2026 10:00:00 IST",
     "'Thu, 26 Nov 2026 10:00:00 IST' (the zone 'IST' is ambiguous: write an offset such as +0530)"),
    ("Thu, 26 Nov 2026 10:00:00 A",
     "'Thu, 26 Nov 2026 10:00:00 A' (the zone 'A' is ambiguous: write an offset such as +0530)"),
    ("Thu, 31 Feb 2026 10:00:00 GMT", "'Thu, 31 Feb 2026 10:00:00 GMT'"),
    ("'11/26/2026'", "'11/26/2026'"),  # November 26th or the 11th of month 26?
    ("'05-11-2026'", "'05-11-2026'"),  # 5 November or May 11th?
    ("'2026-11-26T24:00:01Z'", "'2026-11-26T24:00:01Z'"),
    ("'2026-11-26T10:00:00[Mars/Olympus]'", "'2026-11-26T10:00:00[Mars/Olympus]'"),
    # a second 60 that is no leap second (not the last minute of a UTC day)
    ("'2026-11-26T10:30:60Z'", "'2026-11-26T10:30:60Z'"),
    # numbers that are no epoch time in seconds or milliseconds
    ("17956872", "an integer"),
    ("'17956872000000000'", "'17956872000000000'"),
    ("'11111111111111111111'", "'11111111111111111111'"),  # (Python's fromisoformat: 1111-11-11T11:11:11)
])
def test_dates_that_cannot_be_read_surely_are_one_problem(given, shown):
    assert published(given) == (None, [
        "content/x.md:4: publishedDateTime: expected an ISO 8601 date-time such as 2021-11-30T20:18:00Z, "
        f"got {shown}"])


@pytest.mark.parametrize("given", ["0001-01-01T00:00:00Z", "0001-01-01", "9999-12-31T23:59:59Z"])
def test_a_placeholder_date_out_of_range_says_what_it_is(given):
    # .NET's DateTime.MinValue / MaxValue, which exporters write for "no date"
    written = given
    assert published(given) == (None, [
        "content/x.md:4: publishedDateTime: expected an ISO 8601 date-time such as 2021-11-30T20:18:00Z, "
        f"got {written!r} (a year out of range: years 0002 to 9998 are read)"])


def test_other_date_fields_read_the_same_shapes(make_site):
    record = ("---\ntitle: Dated\npublishedDateTime: Thu, 26 Nov 2026 10:00:00 +0100\n"
              "updatedDateTime: 1795694400\nwebUrl: https://news.example.com/d\n"
              "related:\n  - title: Elsewhere\n    webUrl: https://other.example/e\n"
              "    publishedDateTime: Thu, 26 Nov 2026 09:00:00 GMT\n---\n")
    docs, problems, out = site_json(make_site, {"d.md": record})
    assert problems == []
    doc = docs["Dated"]
    assert doc["publishedDateTime"] == "2026-11-26T10:00:00+01:00"
    assert doc["updatedDateTime"] == "2026-11-26T12:00:00+00:00"
    assert doc["related"][0]["publishedDateTime"] == "2026-11-26T09:00:00+00:00"
    page = next(out.glob("2026/11/26/dated-*/index.html")).read_text("utf-8")
    assert 'datetime="2026-11-26T10:00:00+01:00"' in page


@pytest.mark.parametrize(("given", "instant"), [
    ("'2026-07-01T10:00:00Z[Europe/Paris]'", "2026-07-01T10:00:00+00:00"),  # the offset decides
    ("'2026-07-01T10:00:00[Europe/Paris]'", "2026-07-01T10:00:00+02:00"),  # a local time there
    ("'2026-07-01[Europe/Paris]'", "2026-07-01T00:00:00+02:00"),
])
def test_a_zone_name_in_brackets_never_moves_a_time_that_has_its_offset(given, instant):
    assert published(given) == (instant, [])


# --------------------------------------------------------------------------- text

@pytest.mark.parametrize(("given", "shown"), [
    ("It&amp;#39;s here", "It's here"),  # escaped twice by a scraper: &#39; then &amp;#39;
    ("AT&amp;amp;T &amp;quot;deal&amp;quot;", 'AT&T "deal"'),
    ("Caf&amp;eacute; &amp;#x1F600;", "Café 😀"),
    ("Tom &amp;amp;amp; Jerry", "Tom & Jerry"),  # three times
    ("Q&amp;A: a &amp; b", "Q&A: a & b"),  # once: as before
    ("&amp;madeup; stays", "&madeup; stays"),  # no entity under the escape: text as written
])
def test_entities_escaped_twice_by_a_scraper_are_decoded(given, shown):
    article, problems = parse(f'{HEAD}publishedDateTime: 2026-11-26T10:00:00Z\nexcerpt: "{given}"\n'
                              f'topics: ["{given}"]\nprovider: "{given}"')
    assert problems == []
    assert article.excerpt == shown and article.topics == (shown,) and article.provider.name == shown


def test_soft_hyphens_and_bing_highlight_marks_are_dropped_from_text_fields():
    # (a real record's title starts with two soft hyphens; Bing's raw text format marks the
    # words that matched the query with U+E000 and U+E001)
    article, problems = parse("title: \"\u00ad\u00adDataverse Low Code Plug-ins now in public preview\"\n"
                              "webUrl: https://news.example.com/a\npublishedDateTime: 2026-11-26T10:00:00Z\n"
                              "excerpt: \"The \ue000Dataverse\ue001 team ex\u00adplains\"\n"
                              "topics: [\"Data\u00adverse\", \"Dataverse\"]")
    assert problems == []
    assert article.title == "Dataverse Low Code Plug-ins now in public preview"
    assert article.excerpt == "The Dataverse team explains"
    assert article.topics == ("Dataverse",)


# --------------------------------------------------------------------------- structure variants

DATED = HEAD + "publishedDateTime: 2026-11-26T10:00:00Z\n"


def test_a_provider_given_as_a_list_of_mappings_as_bing_gives_it_is_read(make_site):
    bing = ("provider:\n  - _type: Organization\n    name: Reuters\n    image:\n      thumbnail:\n"
            "        contentUrl: https://www.bing.com/th?id=ODF.x\n")
    article, problems = parse(DATED + bing)
    assert problems == []
    assert (article.provider.name, article.provider.key) == ("Reuters", "reuters")
    docs, problems, out = site_json(make_site, {"a.md": f"---\n{DATED}{bing}---\n"})
    assert problems == [] and docs["A story"]["provider"] == {  # (its other fields kept: nothing lost)
        "name": "Reuters", "domain": "", "_type": "Organization",
        "image": {"thumbnail": {"contentUrl": "https://www.bing.com/th?id=ODF.x"}}}
    assert (out / "sources" / "reuters" / "index.html").is_file()


def test_a_provider_list_of_two_keeps_the_first_with_a_warning():
    article, problems = parse(DATED + "provider:\n  - {name: Reuters, domain: reuters.com}\n  - {name: AP}")
    assert article.provider.key == "reuters.com"
    assert problems == ["content/x.md:5: warning: provider: 2 providers; the first is used"]


def test_an_empty_provider_list_is_no_provider():
    article, problems = parse(DATED + "provider: []")
    assert (article.provider, problems) == (None, [])


def test_a_related_entry_s_provider_as_a_list_or_text_is_read():
    article, problems = parse(DATED + "related:\n"
                              "  - {title: One, webUrl: 'https://o.example/1', provider: [{name: Reuters}]}\n"
                              "  - {title: Two, webUrl: 'https://o.example/2', provider: AP &amp; Co}")
    assert problems == []
    assert [r.provider_name for r in article.related] == ["Reuters", "AP & Co"]


IMG = "https://cdn.example/a.jpg"


@pytest.mark.parametrize("images", [
    f"images:\n  url: {IMG}\n  width: 640\n  height: 480",  # one mapping, not a list of one
    f"images:\n  - thumbnail:\n      contentUrl: {IMG}\n      width: 640\n      height: 480",  # Bing's nesting
    f"images:\n  - contentUrl: {IMG}\n    width: 640\n    height: 480",  # schema.org's ImageObject
    f"image:\n  thumbnail:\n    contentUrl: {IMG}\n    width: 640\n    height: 480",  # Bing's own field
    f"image:\n  url: {IMG}\n  width: 640\n  height: 480",
])
def test_an_image_in_the_shapes_scrapers_give_is_read(images):
    article, problems = parse(DATED + images)
    assert problems == []
    assert [(i.url, i.width, i.height, i.is_cached) for i in article.images] == [(IMG, 640, 480, False)]


@pytest.mark.parametrize("images", [f"images: {IMG}", f"images: ['{IMG}', '//cdn.example/b.jpg']"])
def test_images_given_as_urls_are_images_of_unknown_size(images):
    article, problems = parse(DATED + images)
    assert problems == []
    assert article.images[0].url == IMG and (article.images[0].width, article.images[0].height) == (None, None)


def test_an_image_given_as_bing_gives_it_builds_and_is_in_the_json(make_site):
    front = f"{DATED}image:\n  thumbnail:\n    contentUrl: {IMG}\n    width: 640\n    height: 480\n"
    docs, problems, _ = site_json(make_site, {"a.md": f"---\n{front}---\n"})
    assert problems == []
    doc = docs["A story"]
    assert doc["images"] == [{"url": IMG, "width": 640, "height": 480, "isCached": False}]
    assert doc["image"] == {"thumbnail": {"contentUrl": IMG, "width": 640, "height": 480}}  # kept as it was


# --------------------------------------------------------------------------- whole files

JSON_RECORD = ('{\n  "title": "From JSON",\n  "publishedDateTime": "2026-11-26T10:00:00Z",\n'
               '  "webUrl": "https://news.example.com/j",\n  "topics": ["AI", "Robots"],\n'
               '  "provider": {"name": "Robot News", "domain": "robots.example"},\n'
               '  "quality": "7", "published": true, "emoji": "\\ud83d\\ude00"\n}\n')


def test_a_file_that_is_json_front_matter_without_dashes_is_read(make_site):
    # (Hugo reads a file that starts with a JSON object this way; exporters write such files)
    result = parse_record((JSON_RECORD + "\nThe *note*.\n").encode(), "content/j.md")
    assert result.problems == ()
    article = result.article
    assert (article.title, article.topics, article.quality, article.provider.key) == (
        "From JSON", ("AI", "Robots"), 7, "robots.example")
    assert article.body_html == "<p>The <em>note</em>.</p>" and article.extra == {"emoji": "😀"}
    docs, problems, _ = site_json(make_site, {"j.md": JSON_RECORD.replace("\n", "\r\n")})
    assert problems == [] and docs["From JSON"]["topics"] == ["AI", "Robots"]


def test_a_field_problem_in_json_front_matter_names_its_line():
    raw = JSON_RECORD.replace('"quality": "7"', '"quality": "high"').replace('["AI", "Robots"]', '"AI"')
    assert [str(p) for p in parse_record(raw.encode(), "content/j.md").problems] == [
        "content/j.md:7: warning: quality: expected an integer, got the text 'high'; treated as unknown",
        "content/j.md:5: topics: expected a list of strings, got a string"]


def test_invalid_json_front_matter_is_one_problem_with_its_line():
    raw = JSON_RECORD.replace('"AI", "Robots"', '"AI" "Robots"')
    assert [str(p) for p in parse_record(raw.encode(), "content/j.md").problems] == [
        "content/j.md:5: invalid JSON front matter: Expecting ',' delimiter (column 19)"]


@pytest.mark.parametrize("separator", ["\u2028", "\u2029", "\x85"])
def test_a_unicode_line_separator_in_a_value_does_not_break_the_front_matter(separator):
    # (text copied from web pages and JSON carries U+2028; YAML reads it as a line break)
    article, problems = parse(f"{DATED}excerpt: First part{separator}second part\ncategory: news")
    assert problems == []
    assert (article.excerpt, article.category) == ("First part second part", "news")


def test_a_tab_that_indents_front_matter_is_named_in_the_problem():
    article, problems = parse(f"{DATED}provider:\n\tname: Reuters")
    assert article is None
    assert problems == ["content/x.md:6: invalid YAML: while scanning for the next token: found character "
                        "that cannot start any token (a tab indents this line: YAML indents with spaces)"]


@pytest.mark.parametrize(("note", "html"), [
    ("# Big\n\ntext", "<h3>Big</h3>\n<p>text</p>"),
    ("Intro\n\n---\n\nAfter rule\n---\n", "<p>Intro</p>\n<hr>\n<h3>After rule</h3>"),
    ("# One\n\n## Two\n\n### Three", "<h3>One</h3>\n<h4>Two</h4>\n<h5>Three</h5>"),
    ("### Three\n\n#### Four", "<h3>Three</h3>\n<h4>Four</h4>"),
])
def test_a_note_s_top_level_headings_stay_headings(note, html):
    article, problems = parse(DATED, note)
    assert problems == [] and article.body_html == html


# --------------------------------------------------------------------------- empty values

@pytest.mark.parametrize("field", ["provider", "topics", "images", "related", "updatedDateTime", "locale"])
@pytest.mark.parametrize("empty", ['""', "''", '" "', "~"])
def test_an_empty_string_where_a_list_mapping_or_date_goes_is_no_value(field, empty):
    # (exporters write "" for a column with no value; it skipped the whole record)
    article, problems = parse(f"{DATED}{field}: {empty}")
    assert problems == []
    assert (article.provider, article.topics, article.images, article.related, article.updated,
            article.locale) == (None, (), (), (), None, "")


def test_one_related_mapping_instead_of_a_list_is_one_entry():
    article, problems = parse(f"{DATED}related:\n  title: Elsewhere\n  webUrl: https://other.example/e")
    assert problems == []
    assert [(r.title, r.link) for r in article.related] == [("Elsewhere", "https://other.example/e")]


def test_an_empty_images_mapping_is_no_image():
    article, problems = parse(f"{DATED}images: {{}}")
    assert (article.images, problems) == ((), [])


@pytest.mark.parametrize(("given", "cached"), [("'true'", True), ('"True"', True), ("'yes'", True),
                                               ("'false'", False), ("'no'", False)])
def test_is_cached_written_as_text_by_an_exporter_is_read(given, cached):
    article, problems = parse(f"{DATED}images:\n  - url: {IMG}\n    isCached: {given}")
    assert problems == [] and article.images[0].is_cached is cached


def test_a_provider_with_a_url_and_no_domain_is_known_by_the_url_s_host(make_site):
    front = f"{DATED}provider:\n  name: Reuters\n  url: https://www.reuters.com/world/\n"
    article, problems = parse(front)
    assert problems == []
    assert (article.provider.key, article.provider.domain) == ("reuters.com", "www.reuters.com")
    docs, problems, out = site_json(make_site, {"a.md": f"---\n{front}---\n"})
    assert problems == [] and docs["A story"]["provider"] == {"name": "Reuters", "domain": "www.reuters.com",
                                                           "url": "https://www.reuters.com/world/"}
    assert (out / "sources" / "reuters-com" / "index.html").is_file()


def test_a_related_entry_s_unreadable_date_is_a_warning_not_silently_dropped():
    article, problems = parse(f"{DATED}related:\n  - title: Elsewhere\n    webUrl: https://other.example/e\n"
                              "    publishedDateTime: last Tuesday")
    assert [(r.title, r.published) for r in article.related] == [("Elsewhere", None)]
    assert problems == ["content/x.md:8: warning: related[0].publishedDateTime: expected an ISO 8601 date-time "
                        "such as 2021-11-30T20:18:00Z, got 'last Tuesday'; ignored"]


@pytest.mark.parametrize("wrap", [("---\n", "\n---\n"), ("", "\n")])  # YAML flow, and JSON with no dashes
def test_front_matter_nested_hundreds_deep_is_a_problem_not_a_crash_of_the_build(make_site, wrap):
    deep = '{"a": ' * 700 + "1" + "}" * 700
    raw = f'{wrap[0]}{{"title": "Deep", "publishedDateTime": "2026-11-26T10:00:00Z", "x": {deep}}}{wrap[1]}'
    docs, problems, _ = site_json(make_site, {"deep.md": raw, "ok.md": f"---\n{DATED}---\n"})
    assert list(docs) == ["A story"]
    assert problems == ["content/deep.md: front matter nested too deeply to read (more than 50 levels)"]


@pytest.mark.parametrize(("given", "heat"), [("'1,234'", 1234), ("'12,345,678'", 12345678), ("'1.2K'", 1200),
                                             ("'3.5M'", 3500000), ("' 7 '", 7), ("'7.5'", 8)])
def test_popularity_as_scraped_text_is_read(given, heat):
    article, problems = parse(f"{DATED}heat: {given}")
    assert problems == [] and article.heat == heat


@pytest.mark.parametrize("given", ["'1,5'", "'high'", "'12 views'", "'1,23'"])
def test_popularity_text_that_is_no_sure_number_is_unknown_with_a_warning(given):
    article, problems = parse(f"{DATED}heat: {given}")
    assert article.heat == -1
    assert problems == [f"content/x.md:5: warning: heat: expected an integer, got the text {given}; treated as unknown"]


def test_an_image_size_in_pixels_as_css_writes_it_is_read():
    article, problems = parse(f"{DATED}images:\n  - {{url: '{IMG}', width: 640px, height: '480 px'}}")
    assert problems == [] and (article.images[0].width, article.images[0].height) == (640, 480)


def test_a_byte_order_mark_inside_a_value_or_given_twice_is_not_text():
    # (a CSV export's BOM ends up in its first cell; a tool that adds a BOM to a file that has one)
    raw = f"\ufeff\ufeff---\n{HEAD}publishedDateTime: 2026-11-26T10:00:00Z\nexcerpt: \"\ufeffSummary\"\n---\n"
    result = parse_record(raw.encode(), "content/x.md")
    assert result.problems == ()
    assert (result.article.title, result.article.excerpt) == ("A story", "Summary")


def test_an_offset_with_a_fraction_of_a_second_still_gives_whole_seconds():
    # (Python reads "-00002026" as an offset of -00:00:20.26; HTML allows at most 3 fraction digits)
    instant, problems = published("'2016-12-31T23:59:00-00:00:20.260000'")
    assert (instant, problems) == ("2016-12-31T23:59:20+00:00", [])


def test_a_file_that_starts_with_a_brace_but_no_json_object_has_no_front_matter():
    # (a Jekyll page that starts with a Liquid tag is no record, and no broken JSON either)
    assert [str(p) for p in parse_record(b"{% raw %}\nText\n", "content/x.md").problems] == [
        "content/x.md:1: no front matter: expected the file to start with a '---' line and the front matter "
        "to end with another"]


def test_an_image_field_that_is_a_url_is_an_image_and_a_site_path_stays_an_extra_field():
    article, problems = parse(f"{DATED}image: {IMG}")
    assert problems == [] and [(i.url, i.width) for i in article.images] == [(IMG, None)]
    article, problems = parse(f"{DATED}image: /assets/a.jpg")  # (a Jekyll theme's own path)
    assert problems == [] and article.images == () and article.extra == {"image": "/assets/a.jpg"}


def test_the_secured_field_of_json_front_matter_is_never_published(make_site):
    secret = "c2VjcmV0LXBheWxvYWQ=;aXYtdmFsdWU="
    raw = JSON_RECORD.replace('"quality": "7"', f'"quality": "7", "secured": "{secret}", '
                              '"extra": {"Secured": "bmVzdGVk"}')
    docs, problems, out = site_json(make_site, {"j.md": raw})
    assert problems == [] and "secured" not in docs["From JSON"] and docs["From JSON"]["extra"] == {}
    everything = b"".join(p.read_bytes() for p in out.rglob("*") if p.is_file())
    assert b"c2VjcmV0LXBheWxvYWQ" not in everything and b"bmVzdGVk" not in everything


def test_front_matter_indented_with_no_break_spaces_copied_from_a_web_page_is_read():
    article, problems = parse(f"{DATED}provider:\n\u00a0 name: Reuters\n\u00a0 domain: reuters.com\n"
                              "topics:\n\u00a0\u00a0- AI\nexcerpt: \"Keep\u00a0this\"")
    assert problems == []
    assert (article.provider.key, article.topics, article.extra) == ("reuters.com", ("AI",), {})


@pytest.mark.parametrize("given", [":60" * 3000, "1" * 5000, "a" * 100_000, "Thu, " + " " * 100_000 + "x",
                                   "2016-12-31T23:59:60:60:60Z", "[" * 1000 + "]" * 1000])
def test_a_long_or_odd_date_is_one_problem_in_no_time(given):
    instant, problems = published(f"'{given}'")
    assert instant is None and len(problems) == 1 and "publishedDateTime: expected an ISO 8601" in problems[0]


@pytest.mark.parametrize(("given", "key", "name", "domain"), [
    ("Reuters", "reuters", "Reuters", ""),
    ("reuters.com", "reuters.com", "reuters.com", "reuters.com"),
    ("www.Reuters.com", "reuters.com", "www.Reuters.com", "www.reuters.com"),
    ("https://www.reuters.com/world/", "reuters.com", "www.reuters.com", "www.reuters.com"),
    ("Reuters.com News", "reuters.com news", "Reuters.com News", ""),
    ("St.Louis", "st.louis", "St.Louis", ""),  # (a name with a dot is no host name unless written as one)
])
def test_a_provider_given_as_text_is_a_name_or_when_it_is_a_host_or_url_a_domain(given, key, name, domain):
    article, problems = parse(f"{DATED}provider: '{given}'")
    assert problems == []
    assert (article.provider.key, article.provider.name, article.provider.domain) == (key, name, domain)


def test_a_provider_given_as_its_domain_is_one_source_with_records_that_give_a_mapping(make_site):
    files = {"a.md": f"---\n{DATED}provider: www.reuters.com\n---\n",
             "b.md": "---\ntitle: Another\npublishedDateTime: 2026-11-26T11:00:00Z\nwebUrl: https://n.example/b\n"
                     "provider: {name: Reuters, domain: reuters.com}\n---\n"}
    docs, problems, out = site_json(make_site, files)
    assert problems == []
    assert sorted(p.name for p in (out / "sources").iterdir() if p.is_dir()) == ["reuters-com"]


@pytest.mark.parametrize(("given", "got"), [
    # YAML 1.1 reads `1e15` (no dot) as text: "got a string" sent the curator looking for quotes.
    ("1e15", "a number out of range"), ("'1e15'", "a number out of range"), ("1.0e+20", "a number out of range"),
    ("'99,999,999,999,999,999'", "an integer out of range"), (".nan", "nan, not a number"),
    ("-.inf", "-inf, not a number"), ("'Infinity'", "'Infinity', not a number"), ("''", "an empty string"),
    ("' '", "an empty string"), ("'n/a'", "the text 'n/a'"),
])
def test_a_quality_that_is_no_integer_is_named_for_what_it_is(given, got):
    article, problems = parse(f"{DATED}quality: {given}")
    assert article.quality is None
    assert problems == [f"content/x.md:5: warning: quality: expected an integer, got {got}; treated as unknown"]
