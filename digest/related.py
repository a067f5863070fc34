"""Pure: computed related articles for each article, from shared topics and words.

Articles are taken in publication order (then id). Each becomes a short TF-IDF
vector — its most distinctive words from title and excerpt plus its topics
(weighted up) — whose IDF counts only the articles up to and including it. Its
candidates are the articles **before** it in that order that share a term, found
through an inverted index; only the most recent `WINDOW` carriers of each term
are visited, so the work grows linearly with the archive (no all-pairs step).

Everything an article's list depends on lies at or before it, so a new record
never changes an older article's sidebar, and an edit changes only the lists
from the edited record onward. `compute_related` takes the previous run's
`RelatedState` and recomputes just that suffix; its answer is identical to a
computation from scratch. Ties break by date (newer first), then id.
"""

from __future__ import annotations

import bisect
import hashlib
import heapq
import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from itertools import chain
from operator import attrgetter
from typing import Any

from digest.background import split_map
from digest.text import term_key

TERMS_PER_ARTICLE = 10
"""Distinctive words kept per article."""
WINDOW = 48
"""Most recent earlier carriers of a term visited per article and term."""
TOPIC_WEIGHT = 2.5
"""How much a shared topic counts relative to a shared word."""
IDF_STEPS = 20
"""IDF is rounded to 1/20: one record more or less using a word rarely moves another
article's vector, so an edit recomputes few related lists (see `compute_related`)."""
MIN_SCORE = 0.08
"""Candidates scoring below this are not related enough to show."""
SPARE = 8
"""Extra candidates kept per article so callers can drop some (curated duplicates)."""

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
    key: str = field(default="", repr=False, compare=False)
    """What the fields above were made from (its record's content hash), if known: kept with
    the state, so that a later run can take the doc's digest back (see `docs_with`)."""
    digest: bytes = field(init=False, repr=False, compare=False)
    """Hash of the fields above (made once per doc; `compute_related` compares it with the last run's)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "digest", _hash(self))


class SavedDoc(Doc):
    """A `Doc` read back with a saved plan, made from its article as it is now: the words are
    made only if read (an unchanged doc's never are: `compute_related` compares digests)."""

    __slots__ = ("_article",)

    def __init__(self, article: Any, topics: tuple[str, ...], digest: bytes):
        put = object.__setattr__  # (frozen; one call per field: a loop over pairs cost twice as much)
        put(self, "id", article.id)
        put(self, "published", article.published)
        put(self, "topics", topics)
        put(self, "key", article.content_hash or "")
        put(self, "digest", digest)
        put(self, "_article", article)

    @property
    def text(self) -> str:  # type: ignore[override]
        return doc_text(self._article)


@dataclass
class RelatedState:
    """What one run leaves for the next: per position in publication order."""

    own: list[bytes] = field(default_factory=list)
    """Hash of each doc (id, date, text, topics)."""
    ids: list[str] = field(default_factory=list)
    """Id of each doc."""
    keys: list[str] = field(default_factory=list)
    """`Doc.key` of each doc."""
    terms: list[tuple[str, ...]] = field(default_factory=list)
    """Distinct terms per doc (words and ``\\x00topic`` terms), for the document frequencies."""
    vectors: list[list[tuple[str, float]]] = field(default_factory=list)
    """Normalised vector per doc."""
    results: list[tuple[str, ...]] = field(default_factory=list)
    """Related ids per doc, best first (with `SPARE` extra)."""
    count: int = 0
    """The ``count`` the results were computed for."""


def words(text: str) -> list[str]:
    """Lower-case content words of ``text`` (no stop words, numbers or short words)."""
    return [w for w in _WORD.findall(text.casefold()) if w not in STOPWORDS and len(w) > 2]


def _bag(doc: Doc) -> dict[str, int]:
    counts: dict[str, int] = {}
    for word in words(doc.text):
        counts[word] = counts.get(word, 0) + 1
    for topic in doc.topics:
        counts["\x00" + topic] = 1
    return counts


def _idf(total: int, frequency: int) -> int:
    """Inverse document frequency in 1/`IDF_STEPS` units."""
    return round(math.log(total / frequency) * IDF_STEPS)


def _vector(counts: dict[str, int], df: dict[str, int], total: int) -> list[tuple[str, float]]:
    weighted = []
    topics = []
    for term, count in counts.items():
        idf = _idf(total, df[term]) / IDF_STEPS
        if term.startswith("\x00"):
            topics.append((term, TOPIC_WEIGHT * idf))
        else:
            weighted.append((term, (1 + math.log(count)) * idf))
    weighted.sort(key=lambda tw: (-tw[1], tw[0]))
    vec = weighted[:TERMS_PER_ARTICLE] + sorted(topics)
    norm = math.sqrt(sum(w * w for _, w in vec)) or 1.0
    return [(t, w / norm) for t, w in vec if w > 0]


def _hash(doc: Doc) -> bytes:
    return hashlib.blake2b(
        f"{doc.id}\0{doc.published.isoformat()}\0{doc.text}\0{chr(1).join(doc.topics)}".encode(
            "utf-8", "surrogatepass"), digest_size=16).digest()


def compute_related(
    docs: Iterable[Doc],
    count: int,
    previous: RelatedState | None = None,
    keep_tail: bool = False,
    parallel: bool = False,
) -> tuple[dict[str, tuple[str, ...]], RelatedState]:
    """Up to ``count`` + `SPARE` related ids per article id (best first), and the new state.

    With ``previous``, a doc's vector is reused when the doc and the document
    frequencies of its terms are what they were at the same position (or when its
    recomputed vector comes out the same), and its list when, besides, no entry in
    the windows it reads changed. So an edit recomputes the edited doc, the docs
    whose vectors its words moved, and the docs whose windows it sits in; the answer
    equals a computation from scratch. A doc after one added or removed is compared
    with itself where it was (its words are not read again): its vector is reused when
    every weight rounds as it did with one doc more or fewer before it.

    ``keep_tail`` leaves the run's final frequencies and posting lists on the new state
    (in memory only, never saved): the next run that gets this state takes them and
    rolls them back to its first changed position instead of rebuilding everything
    before it, which is cheaper when that position is in the newer half.

    The pass first brings every vector and posting list up to date, then scores the
    docs whose lists must be made again (a list reads only positions before its doc,
    so the final posting lists serve them all); ``parallel`` scores half of them in a
    forked child (see `digest.background.split_map`).
    """
    ordered = sorted(docs, key=attrgetter("published", "id"))
    state = RelatedState(count=count)
    if count <= 0 or not ordered:
        return {d.id: () for d in ordered}, state
    usable = (isinstance(previous, RelatedState) and previous.count == count
              and len(getattr(previous, "own", ())) == len(previous.terms) == len(previous.vectors)
              == len(previous.results))
    old = previous if usable else RelatedState()
    # The last run's in-memory leftovers (see ``keep_tail``) are taken, not shared: they are
    # changed in place below, and a state that failed to replace this one must not see them.
    tail = previous.__dict__.pop("tail", None) if isinstance(previous, RelatedState) else None
    terms_at = previous.__dict__.pop("terms_at", None) if isinstance(previous, RelatedState) else None
    state.own = list(map(attrgetter("digest"), ordered))
    state.ids = list(map(attrgetter("id"), ordered))
    state.keys = list(map(attrgetter("key"), ordered))
    keep = min(len(old.own), len(ordered))
    if (usable and tail is not None and len(old.own) == len(ordered) == len(tail[3])
            and all(a == b.id for a, b in zip(tail[3], ordered, strict=True))):
        _patch(ordered, state, old, tail, terms_at, count + SPARE)
        if not keep_tail:
            del state.tail, state.terms_at
        return dict(zip(state.ids, state.results, strict=False)), state

    rank = _ranks(ordered)
    df: dict[str, int] = {}
    post_pos: dict[str, list[int]] = {}
    post_w: dict[str, list[float]] = {}
    want = count + SPARE
    prefix = next((i for i in range(keep) if old.own[i] != state.own[i]), keep)
    if prefix == len(old.own) == len(ordered):  # nothing changed
        state.terms, state.vectors, state.results = old.terms, old.vectors, old.results
        if keep_tail and usable and tail is not None:
            state.tail = tail
        return dict(zip(state.ids, state.results, strict=False)), state
    # Each doc past the prefix at its position in the previous run, if it was there unchanged
    # (None if not): a doc added, removed or changed before it moves it by as many places.
    # (In publication order, as the docs are: a doc out of step is taken as changed.)
    old_at = {old.own[position]: position for position in range(prefix, len(old.own))}
    aligned: list[int | None] = []
    last = prefix - 1
    for index in range(prefix, len(ordered)):
        position = old_at.get(state.own[index])
        if position is not None and position > last:
            last = position
        else:
            position = None
        aligned.append(position)
    if usable and tail is not None and len(old.own) - prefix < prefix:
        df, post_pos, post_w = _roll_back(tail[:3], old, prefix)
    else:  # unchanged from the start: reuse without checks
        df = dict(Counter(chain.from_iterable(old.terms[:prefix])))
        # Past the prefix, posting lists are read and extended only for the terms of the docs
        # there (a vector's terms are among its doc's): when those are few and no tail is
        # kept, the others are left out.
        wanted: set[str] | None = None
        if not keep_tail and len(ordered) - prefix < prefix:
            wanted = set()
            for position in range(prefix, len(old.own)):
                wanted.update(old.terms[position])
            for index in range(prefix, len(ordered)):
                if aligned[index - prefix] is None:
                    wanted.update(_bag(ordered[index]))
        for index in range(prefix):
            for term, weight in old.vectors[index]:
                if wanted is None or term in wanted:
                    post_pos.setdefault(term, []).append(index)
                    post_w.setdefault(term, []).append(weight)
    state.terms = old.terms[:prefix]
    state.vectors = old.vectors[:prefix]
    state.results = old.results[:prefix]
    shift: dict[str, int] = {}  # term -> its frequency now minus the previous run's, at the doc's positions
    dirty: dict[str, int] = {}  # term -> length of its posting list at its latest change
    todo: list[int] = []  # positions whose lists are made again, once the loop is done
    passed = prefix  # the previous run's docs before this position are counted in ``shift``

    def change(term: str, by: int) -> None:
        left = shift.get(term, 0) + by
        if left:
            shift[term] = left
        else:
            del shift[term]

    for index in range(prefix, len(ordered)):
        doc = ordered[index]
        at = aligned[index - prefix]
        same_doc = at is not None
        if same_doc:  # the previous run's docs before it that are gone (removed, or changed)
            for position in range(passed, at):
                for term in old.terms[position]:
                    change(term, -1)
                for term, _ in old.vectors[position]:  # (the windows that held it: see below)
                    dirty[term] = len(post_pos.get(term, ()))
            passed = at + 1
        bag = None if same_doc else _bag(doc)
        terms = old.terms[at] if same_doc else tuple(bag)
        for term in terms:
            df[term] = df.get(term, 0) + 1
        if not same_doc:
            for term in terms:
                change(term, 1)
        if not same_doc:
            same_vector = False
        elif at == index:  # the same place: only the frequencies that moved can move a weight
            same_vector = shift.keys().isdisjoint(terms) or all(
                _idf(index + 2, df[t]) == _idf(index + 2, df[t] - shift[t]) for t in terms if t in shift)
        else:  # another place: the number of docs before it moved every weight
            same_vector = all(_idf(index + 2, df[t]) == _idf(at + 2, df[t] - shift.get(t, 0)) for t in terms)
        if same_vector:  # same words, and every weight rounds as it did: the vector is the same
            vector = old.vectors[at]
        else:
            vector = _vector(bag or _bag(doc), df, index + 2)
            same_vector = same_doc and vector == old.vectors[at]  # frequencies moved, weights did not
        if not same_vector:
            if same_doc:
                for term, _ in old.vectors[at]:
                    dirty[term] = len(post_pos.get(term, ()))
            for term, _ in vector:
                dirty[term] = len(post_pos.get(term, ()))
        if same_vector and not (dirty and any(
            len(post_pos.get(t, ())) - dirty[t] <= WINDOW for t, _ in vector if t in dirty
        )):
            result = old.results[at]
        else:
            result = None
            todo.append(index)
        for term, weight in vector:
            post_pos.setdefault(term, []).append(index)
            post_w.setdefault(term, []).append(weight)
        state.terms.append(terms)
        state.vectors.append(vector)
        state.results.append(result)
    score = partial(_best_of, state.vectors, post_pos, post_w, rank, ordered, want)
    for index, result in zip(todo, split_map(score, todo) if parallel else score(todo), strict=True):
        state.results[index] = result
    if keep_tail:
        state.tail = (df, post_pos, post_w, [doc.id for doc in ordered])
    return {doc.id: state.results[i] for i, doc in enumerate(ordered)}, state


def _best(vector: list[tuple[str, float]], post_pos: dict[str, list[int]], post_w: dict[str, list[float]],
          before: int, rank: list[int], ordered: list[Doc], want: int) -> tuple[str, ...]:
    """The related ids of the doc at ``before``: the best of the last `WINDOW` carriers of
    each of its terms among the positions before it (the posting lists may go further).

    Best is the highest score, then the newest, then the smallest id: ``rank`` (see
    `_ranks`) orders positions by the last two."""
    scores: dict[int, float] = {}
    get = scores.get
    for term, weight in vector:
        positions = post_pos.get(term)
        if not positions:
            continue
        end = bisect.bisect_left(positions, before)
        start = end - WINDOW if end > WINDOW else 0
        for other, w in zip(positions[start:end], post_w[term][start:end], strict=True):
            scores[other] = get(other, 0.0) + weight * w
    best = sorted([(-s, rank[o], o) for o, s in scores.items() if s >= MIN_SCORE])
    return tuple(ordered[o].id for _, _, o in best[:want])


def _best_of(vectors: list[list[tuple[str, float]]], post_pos: dict[str, list[int]],
             post_w: dict[str, list[float]], rank: list[int], ordered: list[Doc], want: int,
             positions: list[int]) -> list[tuple[str, ...]]:
    """`_best` of the docs at ``positions``."""
    return [_best(vectors[p], post_pos, post_w, p, rank, ordered, want) for p in positions]


def _ranks(ordered: list[Doc]) -> list[int]:
    """Per position in publication order (oldest first, then id), its place when ordered
    newest first, then by id: the tie-break of `_best` as one integer."""
    n = len(ordered)
    rank = [0] * n
    start = 0
    while start < n:
        when = ordered[start].published
        end = start
        while end + 1 < n and ordered[end + 1].published == when:
            end += 1
        for position in range(start, end + 1):  # same time: ids ascending, smallest first
            rank[position] = n - 1 - end + position - start
        start = end + 1
    return rank


def _patch(ordered: list[Doc], state: RelatedState, old: RelatedState, tail: tuple,
           terms_at: dict[str, list[int]] | None, want: int) -> None:
    """Bring the last run's final structures (``tail``) and answers up to date for docs
    at the same positions, visiting only what the changed docs reach, in position order.

    Visited: the changed docs; the later docs sharing a term whose frequency they moved
    (kept unless a weight now rounds differently); and the `WINDOW` next carriers of
    each term of a changed vector (their windows hold it). A doc's frequencies at its
    position are read off ``terms_at`` (term -> positions of the docs using it).
    """
    df, post_pos, post_w, ids = tail
    if terms_at is None:
        terms_at = {}
        for position, terms in enumerate(old.terms):
            for term in terms:
                terms_at.setdefault(term, []).append(position)
    terms, vectors, results = list(old.terms), list(old.vectors), list(old.results)
    rank = _ranks(ordered)
    changed = {i for i, (a, b) in enumerate(zip(old.own, state.own, strict=True)) if a != b}
    queue = sorted(changed)
    queued = set(queue)
    recheck: set[int] = set()
    shift: dict[str, int] = {}  # term -> frequency now minus before, over the docs passed so far

    def visit(position: int, again: bool = False) -> None:
        if again:
            recheck.add(position)
        if position not in queued:
            queued.add(position)
            heapq.heappush(queue, position)

    def frequency(term: str, position: int) -> int:
        return bisect.bisect_right(terms_at[term], position)

    while queue:
        q = heapq.heappop(queue)
        queued.discard(q)
        total = q + 2
        if q in changed:
            bag = _bag(ordered[q])
            before, after = terms[q], tuple(bag)
            for term in before:
                at = terms_at[term]
                del at[bisect.bisect_left(at, q)]
                if not at:
                    del terms_at[term]
                df[term] -= 1
                if not df[term]:
                    del df[term]
                shift[term] = shift.get(term, 0) - 1
            for term in after:
                bisect.insort(terms_at.setdefault(term, []), q)
                df[term] = df.get(term, 0) + 1
                shift[term] = shift.get(term, 0) + 1
            for term in set(before) | set(after):
                if not shift.get(term):
                    shift.pop(term, None)
            for term in set(before) ^ set(after):
                at = terms_at.get(term, ())
                for r in at[bisect.bisect_right(at, q):]:
                    visit(r)
            terms[q] = after
            vector = _vector(bag, {t: frequency(t, q) for t in bag}, total)
            moved = True  # a changed doc: its id's time or words may matter to later lists
        elif not shift or shift.keys().isdisjoint(terms[q]) or all(
                _idf(total, frequency(t, q)) == _idf(total, frequency(t, q) - shift[t])
                for t in terms[q] if t in shift):
            vector, moved = vectors[q], False
        else:
            bag = _bag(ordered[q])
            vector = _vector(bag, {t: frequency(t, q) for t in bag}, total)
            moved = vector != vectors[q]
        if moved:
            previous_vector = vectors[q]
            if vector != previous_vector:
                for term, _ in previous_vector:
                    positions = post_pos[term]
                    k = bisect.bisect_left(positions, q)
                    del positions[k]
                    del post_w[term][k]
                    if not positions:
                        del post_pos[term], post_w[term]
                for term, weight in vector:
                    positions = post_pos.setdefault(term, [])
                    k = bisect.bisect_left(positions, q)
                    positions.insert(k, q)
                    post_w.setdefault(term, []).insert(k, weight)
                vectors[q] = vector
            for term in {t for t, _ in previous_vector} | {t for t, _ in vector}:
                positions = post_pos.get(term, ())
                k = bisect.bisect_right(positions, q)
                for r in positions[k: k + WINDOW]:
                    visit(r, again=True)
        if moved or q in recheck:
            recheck.discard(q)
            results[q] = _best(vector, post_pos, post_w, q, rank, ordered, want)
    state.terms, state.vectors, state.results = terms, vectors, results
    state.tail = (df, post_pos, post_w, ids)
    state.terms_at = terms_at


def _roll_back(tail: tuple, old: RelatedState, prefix: int) -> tuple[dict, dict, dict]:
    """The frequencies and posting lists of the previous run as they stood at ``prefix``,
    from where it ended (``tail``, changed in place): what the positions from ``prefix``
    on added is taken off again."""
    df, post_pos, post_w = tail
    for index in range(prefix, len(old.terms)):
        for term in old.terms[index]:
            left = df[term] - 1
            if left:
                df[term] = left
            else:
                del df[term]
    cut = {term for vector in old.vectors[prefix:] for term, _ in vector}
    for term in cut:
        positions = post_pos[term]
        at = bisect.bisect_left(positions, prefix)
        if at:
            del positions[at:]
            del post_w[term][at:]
        else:
            del post_pos[term]
            del post_w[term]
    return df, post_pos, post_w


def docs_for(articles: Iterable, topic_key=term_key) -> list[Doc]:
    """`Doc`s for `digest.model.Article`s."""
    return [_fresh(a, tuple(topic_key(t) for t in a.topics)) for a in articles]


def _fresh(article: Any, topics: tuple[str, ...]) -> Doc:
    """A `Doc` made from ``article`` (its words and digest made now)."""
    return Doc(article.id, article.published, doc_text(article), topics, article.content_hash or "")


def docs_with(articles: Iterable, state: Any) -> list[Doc]:
    """`docs_for` the articles, each with the digest ``state`` (a `RelatedState`, or anything)
    noted for it when its record's content (`Doc.key`) is the same: those are `SavedDoc`s,
    whose words are never made unless read (neither is the article unpacked)."""
    known: dict[str, tuple[str, bytes]] = {}
    if isinstance(state, RelatedState) and len(state.ids) == len(state.keys) == len(state.own):
        known = {i: (k, d) for i, k, d in zip(state.ids, state.keys, state.own, strict=True) if k}
    docs: list[Doc] = []
    for article in articles:
        noted = known.get(article.id)
        topics = tuple(term_key(t) for t in article.topics)
        if noted is not None and noted[0] == article.content_hash:
            docs.append(SavedDoc(article, topics, noted[1]))
        else:
            docs.append(_fresh(article, topics))
    return docs


def doc_text(article) -> str:
    """The words of an article that relate it to others: its title and excerpt."""
    return f"{article.title} {article.excerpt}"


def pick(candidates: Sequence[str], banned: set[str], count: int) -> list[str]:
    """The first ``count`` candidates not in ``banned``."""
    return [c for c in candidates if c not in banned][:count]
