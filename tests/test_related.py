"""Related sidebar: curated links first, computed ones older-or-equal, deterministic, no repeats, linear."""

from __future__ import annotations

import random
import time
from datetime import UTC, datetime, timedelta

from digest.config import Config
from digest.load import load_content
from digest.plan import plan_site
from digest.related import Doc, compute_related, words
from tests.conftest import record

T0 = datetime(2024, 1, 1, tzinfo=UTC)


def rec(title: str, day: int, excerpt: str = "", topics: str = "[]", url: str | None = None, **fields) -> str:
    return record(title, f"2024-01-{day:02d}T10:00:00Z", excerpt=f'"{excerpt}"', topics=topics,
                  webUrl=f'"https://r.example/{url or title.replace(" ", "-").lower()}"', **fields)


def sidebars(site, config: Config | None = None) -> dict[str, dict]:
    """Article title -> its page context (curated and computed related)."""
    articles = load_content(site, site / "content").articles
    plan = plan_site(articles, config or Config())
    return {p.context["page"]["article"]["title"]: p.context["page"]
            for p in plan.pages if p.kind == "article"}


def titles(items: list[dict]) -> list[str]:
    return [i["title"] for i in items]


def facial_site(make_site, extra: dict | None = None):
    files = {
        "content/a.md": rec("Facial recognition tracks journalists", 1,
                            "Province buys facial recognition surveillance", '["Computer Vision", "AI"]'),
        "content/b.md": rec("Facial recognition surveillance expands", 2,
                            "Cities deploy facial recognition cameras", '["Computer Vision"]'),
        "content/c.md": rec("Bakery wins bread award", 3, "Sourdough loaves impress judges", '["Food"]'),
        "content/d.md": rec("Police adopt facial recognition", 4,
                            "Facial recognition surveillance for journalists", '["computer vision"]'),
    }
    files.update(extra or {})
    return make_site(files)


def test_computed_related_are_older_or_equal_and_relevant(make_site):
    pages = sidebars(facial_site(make_site))
    newest = titles(pages["Police adopt facial recognition"]["related"])
    assert newest[:2] == ["Facial recognition tracks journalists", "Facial recognition surveillance expands"] or \
        newest[:2] == ["Facial recognition surveillance expands", "Facial recognition tracks journalists"]
    assert "Bakery wins bread award" not in newest
    assert pages["Facial recognition tracks journalists"]["related"] == []  # nothing older
    assert pages["Bakery wins bread award"]["related"] == []  # nothing similar


def test_adding_a_newer_record_never_changes_older_sidebars(make_site):
    site = facial_site(make_site)
    before = sidebars(site)
    (site / "content" / "e.md").write_text(rec("Facial recognition ban proposed", 9,
                                               "Lawmakers target facial recognition", '["Computer Vision"]'))
    after = sidebars(site)
    for title, page in before.items():
        assert titles(after[title]["related"]) == titles(page["related"]), title
    assert "Police adopt facial recognition" in titles(after["Facial recognition ban proposed"]["related"])


def test_curated_first_internal_when_published_never_twice(make_site):
    related = ('[{title: "Their take", webUrl: "https://r.example/facial-recognition-tracks-journalists", '
               'provider: {name: Other}}, '
               '{title: "Elsewhere", webUrl: "https://elsewhere.example/x", provider: {name: Wire}}, '
               '{title: "Elsewhere again", webUrl: "https://elsewhere.example/x"}, '
               '{title: "Unsafe", webUrl: "javascript:alert(1)"}, '
               '{title: "Draft one", webUrl: "https://r.example/hidden-draft"}]')
    site = facial_site(make_site, {
        "content/d.md": rec("Police adopt facial recognition", 4,
                            "Facial recognition surveillance for journalists", '["computer vision"]',
                            related=related),
        "content/h.md": rec("Hidden draft", 2, "Facial recognition", '["Computer Vision"]', published="false"),
    })
    page = sidebars(site)["Police adopt facial recognition"]
    curated = page["curated"]
    # the draft's own page is never linked; the entry links to its source like any other
    assert titles(curated) == ["Facial recognition tracks journalists", "Elsewhere", "Draft one"]
    assert curated[2]["url"] == "https://r.example/hidden-draft" and not curated[2]["internal"]
    assert curated[0]["internal"] and curated[0]["url"].startswith("/2024/01/01/")
    assert not curated[1]["internal"] and curated[1]["url"] == "https://elsewhere.example/x"
    assert curated[1]["provider"] == "Wire"
    computed = titles(page["related"])
    assert "Facial recognition tracks journalists" not in computed  # already linked above
    assert "Hidden draft" not in computed and "Police adopt facial recognition" not in computed
    assert len(computed) == len(set(computed))


def test_related_count_is_respected(make_site):
    files = {f"content/{i}.md": rec(f"Solar panel story {i}", 1 + i, "Solar panels and batteries",
                                    '["Energy"]') for i in range(12)}
    site = make_site(files)
    pages = sidebars(site, Config(related_count=3))
    assert len(pages["Solar panel story 11"]["related"]) == 3
    assert all(len(p["related"]) <= 3 for p in pages.values())
    assert all(p["related"] == [] for p in sidebars(site, Config(related_count=0)).values())


def docs(n: int, seed: int = 7, vocabulary: int = 3000) -> list[Doc]:
    rng = random.Random(seed)
    vocab = [f"term{i}" for i in range(vocabulary)]
    topics = [f"topic{i}" for i in range(200)]
    return [
        Doc(f"id{i:06d}", T0 + timedelta(minutes=rng.randrange(10**6)),
            " ".join(rng.choices(vocab, k=14)), tuple(rng.sample(topics, 2)))
        for i in range(n)
    ]


def test_deterministic_whatever_the_input_order():
    items = docs(400)
    first, _ = compute_related(items, 5)
    shuffled = items[:]
    random.Random(1).shuffle(shuffled)
    second, _ = compute_related(shuffled, 5)
    assert first == second


def test_results_are_older_or_equal_and_never_self():
    items = docs(600)
    when = {d.id: d.published for d in items}
    result, _ = compute_related(items, 5)
    for doc_id, related in result.items():
        assert doc_id not in related and len(related) == len(set(related))
        assert all(when[other] <= when[doc_id] for other in related)


def test_scales_linearly_not_all_pairs():
    # a small vocabulary makes every posting list longer than the window at both sizes
    small, large = docs(2_500, seed=3, vocabulary=300), docs(10_000, seed=3, vocabulary=300)
    start = time.process_time()
    compute_related(small, 5)
    t_small = time.process_time() - start
    start = time.process_time()
    result, _ = compute_related(large, 5)
    t_large = time.process_time() - start
    assert len(result) == 10_000
    assert t_large < 20.0
    assert t_large < 10 * max(t_small, 0.05)  # 4x the records: about 4x the CPU time, not 16x


def test_words_drop_stopwords_numbers_and_short_words():
    assert words("The 2024 AI report: Facial-recognition and the city's cameras") == [
        "report", "facial-recognition", "city's", "cameras"]
