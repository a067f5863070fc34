"""Pure: computed related articles for each article, from shared topics and words.

Each article becomes a short TF-IDF vector: its most distinctive words from title
and excerpt, plus its topics (weighted up). An inverted index maps each term to
the articles that carry it, in publication order. An article's candidates are
the articles published **at or before** it that share a term — so adding a new
record never changes an older article's sidebar except through the IDF weights —
and only the most recent `WINDOW` carriers of each term are visited, which keeps
the work linear in the number of articles (no all-pairs step). Ties break by
publication date (newer first), then id, so the result is deterministic.
"""

from __future__ import annotations

import heapq
import math
import re
from bisect import bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from digest.text import term_key

TERMS_PER_ARTICLE = 10
"""Distinctive words kept per article."""
WINDOW = 48
"""Most recent earlier carriers of a term visited per article and term."""
TOPIC_WEIGHT = 2.5
"""How much a shared topic counts relative to a shared word."""
MIN_SCORE = 0.08
"""Candidates scoring below this are not related enough to show."""

_WORD = re.compile(r"[^\W\d_][\w'-]*[^\W_]|[^\W\d_]{2,}", re.UNICODE)
STOPWORDS = frozenset("""
a about above after again against all also am an and any are as at be because been before
being below between both but by can could did do does doing down during each few for from
further had has have having he her here hers herself him himself his how i if in into is it
its itself just let me more most my myself new no nor not now of off on once only or other
our ours out over own same says said she should so some such than that the their theirs them
then there these they this those through to too under until up very was we were what when
where which while who whom why will with would you your yours year years week today via
""".split())


@dataclass(frozen=True, slots=True)
class Doc:
    """What `compute_related` needs of an article (plain data, testable without files)."""

    id: str
    published: datetime
    text: str
    """Title and excerpt."""
    topics: tuple[str, ...]
    """Topic identities (see `digest.text.term_key`)."""


def words(text: str) -> list[str]:
    """Lower-case content words of ``text`` (no stop words, numbers or one-letter words)."""
    return [w for w in _WORD.findall(text.casefold()) if w not in STOPWORDS and len(w) > 2]


def _vectors(docs: Sequence[Doc]) -> list[list[tuple[str, float]]]:
    bags = []
    df: dict[str, int] = {}
    for doc in docs:
        counts: dict[str, int] = {}
        for word in words(doc.text):
            counts[word] = counts.get(word, 0) + 1
        for topic in doc.topics:
            counts["\x00" + topic] = 1
        bags.append(counts)
        for term in counts:
            df[term] = df.get(term, 0) + 1
    total = len(docs) + 1
    vectors = []
    for counts in bags:
        weighted = []
        topics = []
        for term, count in counts.items():
            idf = math.log(total / df[term])
            if term.startswith("\x00"):
                topics.append((term, TOPIC_WEIGHT * idf))
            else:
                weighted.append((term, (1 + math.log(count)) * idf))
        weighted.sort(key=lambda tw: (-tw[1], tw[0]))
        vec = weighted[:TERMS_PER_ARTICLE] + sorted(topics)
        norm = math.sqrt(sum(w * w for _, w in vec)) or 1.0
        vectors.append([(t, w / norm) for t, w in vec if w > 0])
    return vectors


def compute_related(
    docs: Iterable[Doc],
    count: int,
    exclude: Mapping[str, Iterable[str]] | None = None,
) -> dict[str, tuple[str, ...]]:
    """Up to ``count`` related article ids per article id, best first.

    ``exclude`` names ids never to suggest for a given article (e.g. stories its
    curated ``related`` list already links to).
    """
    ordered = sorted(docs, key=lambda d: (d.published, d.id))
    if count <= 0 or not ordered:
        return {d.id: () for d in ordered}
    times = [d.published for d in ordered]
    vectors = _vectors(ordered)
    post_pos: dict[str, list[int]] = {}
    post_w: dict[str, list[float]] = {}
    for pos, vec in enumerate(vectors):
        for term, weight in vec:
            post_pos.setdefault(term, []).append(pos)
            post_w.setdefault(term, []).append(weight)
    exclude = exclude or {}
    result: dict[str, tuple[str, ...]] = {}
    for pos, doc in enumerate(ordered):
        last = bisect_right(times, doc.published) - 1  # newest article not after this one
        scores: dict[int, float] = {}
        for term, weight in vectors[pos]:
            positions = post_pos[term]
            weights = post_w[term]
            cut = bisect_right(positions, last)
            for j in range(max(0, cut - WINDOW - 1), cut):
                other = positions[j]
                scores[other] = scores.get(other, 0.0) + weight * weights[j]
        scores.pop(pos, None)
        banned = set(exclude.get(doc.id, ()))
        best = heapq.nsmallest(
            count + len(banned),
            ((-s, -times[o].timestamp(), ordered[o].id) for o, s in scores.items() if s >= MIN_SCORE),
        )
        result[doc.id] = tuple(i for _, _, i in best if i not in banned)[:count]
    return result


def docs_for(articles: Iterable, topic_key=term_key) -> list[Doc]:
    """`Doc`s for `digest.model.Article`s."""
    return [
        Doc(a.id, a.published, f"{a.title} {a.excerpt}", tuple(topic_key(t) for t in a.topics))
        for a in articles
    ]
