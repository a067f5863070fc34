"""Related lists: stable for older articles, and incremental equals from-scratch."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from digest.related import Doc, RelatedState, compute_related

VOCAB = ("robot camera face vision privacy drone battery chip model court ban police "
         "journalist election market startup cloud quantum satellite vaccine climate").split()
TOPICS = ("ai", "vision", "robots", "policy", "space")


def make_docs(seed: int, n: int) -> list[Doc]:
    rng = random.Random(seed)
    start = datetime(2023, 1, 1, tzinfo=UTC)
    docs = []
    for i in range(n):
        text = " ".join(rng.choice(VOCAB) for _ in range(rng.randint(4, 12)))
        topics = tuple(sorted(set(rng.sample(TOPICS, rng.randint(0, 2)))))
        when = start + timedelta(hours=rng.randint(0, 24 * 30))
        docs.append(Doc(f"id{i:04d}", when, text, topics))
    return docs


def test_related_are_older_or_equal_and_never_self():
    docs = make_docs(1, 300)
    related, _ = compute_related(docs, 5)
    when = {d.id: d.published for d in docs}
    assert any(related.values())
    for doc_id, others in related.items():
        assert doc_id not in others
        assert len(set(others)) == len(others)
        assert all(when[o] <= when[doc_id] for o in others)


def test_adding_a_newer_record_changes_no_older_list():
    docs = make_docs(2, 200)
    before, _ = compute_related(docs, 5)
    newest = max(d.published for d in docs) + timedelta(hours=1)
    after, _ = compute_related(docs + [Doc("zz-new", newest, docs[0].text, docs[0].topics)], 5)
    assert all(after[i] == before[i] for i in before)
    assert docs[0].id in after["zz-new"] or after["zz-new"]


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), edits=st.lists(st.tuples(st.sampled_from("aed"), st.integers(0, 10_000)), min_size=1, max_size=6))
def test_incremental_state_gives_the_same_answer_as_scratch(seed, edits):
    docs = make_docs(seed, 60)
    _, state = compute_related(docs, 4)
    rng = random.Random(seed)
    for action, value in edits:
        if action == "a":
            base = docs[value % len(docs)].published
            docs.append(Doc(f"new{value}-{len(docs)}", base + timedelta(minutes=value % 500),
                            " ".join(rng.choice(VOCAB) for _ in range(6)), ("ai",)))
        elif action == "e" and docs:
            i = value % len(docs)
            d = docs[i]
            docs[i] = Doc(d.id, d.published, d.text + " " + rng.choice(VOCAB), d.topics)
        elif action == "d" and len(docs) > 1:
            docs.pop(value % len(docs))
        incremental, state = compute_related(docs, 4, state)
        scratch, _ = compute_related(docs, 4)
        assert incremental == scratch


def _run_against_scratch(docs: list[Doc], state: RelatedState) -> RelatedState:
    """The incremental run after an edit, checked against a fresh one: the answer, the vectors
    and lists, and the frequencies and posting lists it leaves (``keep_tail``)."""
    incremental, state = compute_related(docs, 5, state, keep_tail=True)
    scratch, fresh = compute_related(docs, 5, keep_tail=True)
    assert incremental == scratch
    assert state.vectors == fresh.vectors and state.results == fresh.results
    assert state.tail == fresh.tail
    return state


WIDE_VOCAB = [f"{a}{b}" for a in ("alpha", "beta", "gamma", "delta", "omega", "sigma", "kappa")
              for b in ("stone", "river", "cloud", "forge", "field", "tower", "glass", "wheel")]


def _random_doc(rng: random.Random, i: int, days: int) -> Doc:
    """Doc ``i``: published within ``days`` of 2023-01-01, 3 to 9 words of `WIDE_VOCAB`, 0 to 2 topics."""
    return Doc(f"d{i:05d}", datetime(2023, 1, 1, tzinfo=UTC) + timedelta(minutes=rng.randint(0, 60 * 24 * days)),
               " ".join(rng.choice(WIDE_VOCAB) for _ in range(rng.randint(3, 9))),
               tuple(sorted(set(rng.sample(TOPICS, rng.randint(0, 2))))))


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000),
       edits=st.lists(st.tuples(st.sampled_from("aetmdx"), st.integers(0, 10_000)), min_size=1, max_size=8))
def test_incremental_equals_scratch_past_the_window(seed, edits):
    """Hundreds of docs (longer than the candidate window): state and answer equal scratch."""
    rng = random.Random(seed)

    def doc(i: int) -> Doc:
        return _random_doc(rng, i, days=60)

    docs = [doc(i) for i in range(400)]
    _, state = compute_related(docs, 5, keep_tail=True)
    for action, value in edits:
        i = value % len(docs)
        old = docs[i]
        if action == "a":
            docs.append(doc(len(docs) + value))
        elif action == "e":  # one word more
            docs[i] = Doc(old.id, old.published, old.text + " " + rng.choice(WIDE_VOCAB), old.topics)
        elif action == "t":  # other topics
            docs[i] = Doc(old.id, old.published, old.text, (rng.choice(TOPICS),))
        elif action == "m":  # moved in time
            docs[i] = Doc(old.id, old.published + timedelta(days=rng.randint(-20, 20)), old.text, old.topics)
        elif action == "d" and len(docs) > 1:
            docs.pop(i)
        state = _run_against_scratch(docs, state)  # rolls back the tail


@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 10_000),
       edits=st.lists(st.tuples(st.sampled_from("ert"), st.integers(0, 10_000)), min_size=1, max_size=4))
def test_patched_runs_equal_scratch_on_a_long_archive(seed, edits):
    """Words far more common than the candidate window: frequency shifts reach past it."""
    rng = random.Random(seed)
    start = datetime(2023, 1, 1, tzinfo=UTC)
    vocab = WIDE_VOCAB[:24]
    docs = [Doc(f"d{i:05d}", start + timedelta(minutes=i), " ".join(rng.choice(vocab) for _ in range(rng.randint(3, 7))),
                (rng.choice(TOPICS),)) for i in range(2500)]
    _, state = compute_related(docs, 5, keep_tail=True)
    for action, value in edits:
        i = value % 300  # early: its words' frequencies move for most of the archive
        old = docs[i]
        text = {"e": old.text + " " + rng.choice(vocab), "r": " ".join(rng.sample(vocab, 4)), "t": old.text}[action]
        docs[i] = Doc(old.id, old.published, text, (rng.choice(TOPICS),) if action == "t" else old.topics)
        state = _run_against_scratch(docs, state)  # patches the tail


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), edits=st.lists(st.tuples(st.sampled_from("aet"), st.integers(0, 10_000)),
                                                   min_size=1, max_size=5))
def test_edits_among_the_newest_equal_scratch(seed, edits):
    """Edits in the newer half build posting lists only for the terms read past the first
    changed position (no tail kept): answers and state equal a fresh run's."""
    docs = sorted(make_docs(seed, 400), key=lambda d: (d.published, d.id))
    _, state = compute_related(docs, 5)
    rng = random.Random(seed)
    for action, value in edits:
        i = len(docs) - 1 - value % 40
        d = docs[i]
        if action == "a":
            docs.append(Doc(f"new{value}-{len(docs)}", docs[-1].published + timedelta(minutes=1 + value % 90),
                            " ".join(rng.choice(VOCAB) for _ in range(6)), ("ai",)))
        elif action == "e":
            docs[i] = Doc(d.id, d.published, d.text + " " + rng.choice(VOCAB), d.topics)
        else:  # a new title: words leave and arrive
            docs[i] = Doc(d.id, d.published, " ".join(rng.choice(VOCAB) for _ in range(5)), d.topics)
        incremental, state = compute_related(docs, 5, state)
        scratch, fresh = compute_related(docs, 5)
        assert incremental == scratch
        assert (state.vectors, state.results, state.terms) == (fresh.vectors, fresh.results, fresh.terms)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), keep_tail=st.booleans(),
       edits=st.lists(st.tuples(st.sampled_from("ddae"), st.integers(0, 10_000)), min_size=1, max_size=5))
def test_removals_anywhere_equal_scratch(seed, keep_tail, edits):
    """Docs removed (or added, or changed) anywhere: the docs after them are found in the
    previous run at the places they had, and the answer and state equal a fresh run's."""
    rng = random.Random(seed)

    def doc(i: int) -> Doc:
        return _random_doc(rng, i, days=30)

    docs = [doc(i) for i in range(300)]
    _, state = compute_related(docs, 5, keep_tail=keep_tail)
    for n, (action, value) in enumerate(edits):
        i = value % len(docs)
        if action == "d":
            for _ in range(1 + value % 3):
                docs.pop(i % len(docs))
        elif action == "a":
            docs.append(doc(1000 + n))
        else:
            old = docs[i]
            docs[i] = Doc(old.id, old.published, old.text + " " + rng.choice(WIDE_VOCAB), old.topics)
        incremental, state = compute_related(docs, 5, state, keep_tail=keep_tail)
        scratch, fresh = compute_related(docs, 5, keep_tail=keep_tail)
        assert incremental == scratch
        assert (state.vectors, state.results, state.terms, state.own) == (fresh.vectors, fresh.results,
                                                                           fresh.terms, fresh.own)
        if keep_tail:
            assert state.tail == fresh.tail


def test_a_removal_reads_the_words_of_no_doc_after_it_again(monkeypatch):
    """The docs after a removed one were in the previous run: their words are not read again."""
    import digest.related as related

    rng = random.Random(4)
    start = datetime(2023, 1, 1, tzinfo=UTC)
    docs = [Doc(f"d{i:05d}", start + timedelta(minutes=i), " ".join(rng.choice(WIDE_VOCAB) for _ in range(6)),
                (rng.choice(TOPICS),)) for i in range(1000)]
    _, state = compute_related(docs, 5)
    read = []
    bag = related._bag
    monkeypatch.setattr(related, "_bag", lambda d: read.append(d.id) or bag(d))
    del docs[100]
    incremental, _ = compute_related(docs, 5, state)
    assert len(read) < 450  # (the vectors whose weights moved: the number of docs before each fell by one)
    monkeypatch.setattr(related, "_bag", bag)
    assert incremental == compute_related(docs, 5)[0]


def test_docs_with_takes_the_digests_of_unchanged_records_back():
    """`docs_with` (a command's related lists, made apart: see `digest.build._relate_apart`)
    gives the docs `docs_for` gives, the unchanged ones without making their words."""
    from types import SimpleNamespace

    from digest.related import SavedDoc, docs_for, docs_with

    start = datetime(2023, 1, 1, tzinfo=UTC)
    articles = [SimpleNamespace(id=f"a{i}", published=start + timedelta(hours=i), title=f"Robot {i} camera",
                                excerpt="privacy drone", topics=["AI"], content_hash=f"h{i}") for i in range(8)]
    _, state = compute_related(docs_for(articles), 3)
    assert state.ids == [a.id for a in articles] and state.keys == [a.content_hash for a in articles]
    now = list(articles)
    now[2] = SimpleNamespace(**{**vars(articles[2]), "title": "Quantum chip", "content_hash": "h2-new"})
    now[5] = SimpleNamespace(**{**vars(articles[5]), "content_hash": ""})  # (unknown: never taken back)
    now.append(SimpleNamespace(id="a9", published=start, title="Court ban", excerpt="", topics=[],
                               content_hash="h9"))
    docs = docs_with(now, state)
    assert [d.digest for d in docs] == [d.digest for d in docs_for(now)]
    assert [isinstance(d, SavedDoc) for d in docs] == [True, True, False, True, True, False, True, True, False]
    assert all(type(d) is Doc for d in docs_with(now, None))
    assert compute_related(docs, 3, state)[0] == compute_related(docs_for(now), 3)[0]
