"""Incremental builds: after any sequence of edits the output equals a clean build's, byte for byte."""

from __future__ import annotations

import os
import random
import re
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from digest.build import build
from digest.cache import BuildCache
from digest.plan import LABEL_SIZE
from tests.conftest import record, write_site

TOPICS = ["AI", "Robots", "Privacy", "Space", "ai", "Climate"]
WORDS = "robot camera face vision privacy drone battery chip model court police election".split()


def tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def new_record(rng: random.Random, n: int) -> str:
    title = " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 8))).capitalize() + f" {n}"
    topics = sorted(set(rng.sample(TOPICS, rng.randint(0, 3))))
    day = rng.randint(1, 9)
    hour = rng.randint(0, 23)
    return record(
        title,
        when=f"2024-03-0{day}T{hour:02d}:00:00Z",
        webUrl=f'"https://news.example.com/{n}"',
        topics="[" + ", ".join(f'"{t}"' for t in topics) + "]",
        excerpt=f'"{" ".join(rng.choice(WORDS) for _ in range(12))}"',
        quality=rng.randint(0, 100),
        provider="{name: Example, domain: example" + str(rng.randint(1, 3)) + ".com}",
    )


ACTIONS = ["add", "edit", "delete", "unpublish", "topics", "template", "config", "noop",
           "relink", "redate", "rank", "note", "excerpt", "excerpt", "note", "join", "join", "leave", "leave"]


def joining_record(site: Path, rng: random.Random, n: int) -> str:
    """A new record with the topics and source of one the site has (an addition `replan` derives)."""
    records = sorted((site / "content").glob("*.md"))
    lines = rng.choice(records).read_text(encoding="utf-8").splitlines() if records else []
    kept = {line.split(":", 1)[0]: line.split(":", 1)[1].strip() for line in lines
            if line.startswith(("topics:", "provider:"))}
    return record(
        f"{rng.choice(WORDS).capitalize()} {' '.join(rng.choice(WORDS) for _ in range(4))} {n}",
        when=f"2024-03-{rng.randint(1, 12):02d}T{rng.randint(0, 23):02d}:10:00Z",
        webUrl=f'"https://news.example.com/{n}"',
        topics=kept.get("topics", "[]"),
        excerpt=f'"{" ".join(rng.choice(WORDS) for _ in range(12))}"',
        quality=rng.randint(0, 100),
        provider=kept.get("provider"),
    )


def leaving_record(site: Path, rng: random.Random) -> Path | None:
    """A record whose topics and source others have too (one whose removal `replan` derives), if any."""
    fields = {}
    for path in sorted((site / "content").glob("*.md")):
        lines = path.read_text(encoding="utf-8").splitlines()
        topics = next((line for line in lines if line.startswith("topics:")), "topics: []")
        fields[path] = (set(re.findall(r'"([^"]*)"', topics)),
                        next((line for line in lines if line.startswith("provider:")), None))
    leaving = [path for path, (topics, provider) in fields.items()
               if all(any(t in other[0] for p, other in fields.items() if p != path) for t in topics)
               and any(other[1] == provider for p, other in fields.items() if p != path)]
    return rng.choice(leaving) if leaving else None


def apply(site: Path, action: str, rng: random.Random, counter: list[int]) -> None:
    records = sorted((site / "content").glob("*.md"))
    if action == "add" or not records:
        counter[0] += 1
        (site / "content" / f"r{counter[0]}.md").write_text(new_record(rng, counter[0]), encoding="utf-8")
    elif action == "join":
        counter[0] += 1
        text = joining_record(site, rng, counter[0])
        (site / "content" / f"r{counter[0]}.md").write_text(text, encoding="utf-8")
    elif action == "edit":
        path = rng.choice(records)
        text = path.read_text(encoding="utf-8").replace('title: "', f'title: "{rng.choice(WORDS)} ', 1)
        path.write_text(text, encoding="utf-8")
    elif action == "delete":
        rng.choice(records).unlink()
    elif action == "leave":  # deleted or unpublished, its topics and source staying on the site
        path = leaving_record(site, rng)
        if path is not None and rng.random() < 0.5:
            path.unlink()
        elif path is not None and "published: false" not in (text := path.read_text(encoding="utf-8")):
            path.write_text(text.replace("---\n", "---\npublished: false\n", 1), encoding="utf-8")
    elif action == "unpublish":
        path = rng.choice(records)
        text = path.read_text(encoding="utf-8")
        if "published: false" in text:
            text = text.replace("published: false\n", "")
        else:
            text = text.replace("---\n", "---\npublished: false\n", 1)
        path.write_text(text, encoding="utf-8")
    elif action == "topics":
        path = rng.choice(records)
        lines = [
            (f'topics: ["{rng.choice(TOPICS)}"]' if line.startswith("topics:") else line)
            for line in path.read_text(encoding="utf-8").splitlines()
        ]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    elif action == "template":
        target = site / "templates" / "terms.html"
        target.parent.mkdir(exist_ok=True)
        if target.exists():
            target.unlink()
        else:
            target.write_text('{% extends "base.html" %}{% block main %}<h1>{{ page.heading }}</h1>'
                              '<ul>{% for t in page.terms %}<li><a href="{{ t.url }}">{{ t.name }}</a></li>'
                              '{% endfor %}</ul>{% endblock %}\n', encoding="utf-8")
    elif action == "relink":  # curated coverage pointing at another record of the site (or none)
        path, target = rng.choice(records), rng.choice(records)
        url = next(line.split(": ", 1)[1] for line in target.read_text(encoding="utf-8").splitlines()
                   if line.startswith("webUrl:"))
        if rng.random() < 0.3:  # the story of the next record added (a link that becomes internal)
            url = f'"https://news.example.com/{counter[0] + 1}"'

        lines = [line for line in path.read_text(encoding="utf-8").splitlines() if not line.startswith("related:")]
        if rng.random() < 0.8:
            lines.insert(1, f'related: [{{title: "Also", webUrl: {url}}}, '
                            f'{{title: "Elsewhere", webUrl: "https://other.example.org/{rng.randint(1, 3)}"}}]')
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    elif action == "redate":
        path = rng.choice(records)
        lines = [(f"publishedDateTime: 2024-03-0{rng.randint(1, 9)}T{rng.randint(0, 23):02d}:30:00Z"
                  if line.startswith("publishedDateTime:") else line)
                 for line in path.read_text(encoding="utf-8").splitlines()]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    elif action == "rank":
        path = rng.choice(records)
        lines = [(f"quality: {rng.randint(0, 100)}" if line.startswith("quality:") else line)
                 for line in path.read_text(encoding="utf-8").splitlines()]
        lines = [line for line in lines if not line.startswith("heat:")]
        lines.insert(1, f"heat: {rng.randint(-1, 5000)}")
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    elif action == "excerpt":  # words only: the site's structure stays (see plan.replan)
        path = rng.choice(records)
        text = path.read_text(encoding="utf-8").replace('excerpt: "', f'excerpt: "{rng.choice(WORDS)} ', 1)
        path.write_text(text, encoding="utf-8")
    elif action == "note":
        path = rng.choice(records)
        path.write_text(path.read_text(encoding="utf-8") + f"\nA note, *take {rng.randint(1, 9)}*.\n",
                        encoding="utf-8")
    elif action == "config":
        size = rng.choice([2, 3, 20])
        (site / "digest.toml").write_text(f'title = "Site {size}"\npage_size = {size}\nsearch = false\n',
                                         encoding="utf-8")


@settings(max_examples=16, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**16), actions=st.lists(st.sampled_from(ACTIONS), min_size=1, max_size=6))
def test_incremental_build_equals_clean_build(tmp_path_factory, seed, actions):
    """Each step builds with the cache kept in memory (as serve does) or read from disk."""
    rng = random.Random(seed)
    base = tmp_path_factory.mktemp("inc")
    site, counter = _random_site(base, rng, 6)
    kept = BuildCache(site, site / "build")
    build(site, jobs=1, cache=kept)
    for step, action in enumerate(actions):
        apply(site, action, rng, counter)
        build(site, jobs=1, cache=kept if rng.random() < 0.5 else None)
        assert tree(site / "build") == _clean_tree(site, base / f"clean{step}"), f"after {actions[: step + 1]}"


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**16), actions=st.lists(st.sampled_from(ACTIONS), min_size=1, max_size=5))
def test_commands_with_forks_equal_clean_builds(tmp_path_factory, seed, actions):
    """Builds as a command with two jobs makes them: the related lists are made in a forked
    child from the state on disk (see `digest.build._relate_apart`), the outputs are checked
    and the records written by others."""
    _steps_equal_clean_builds(tmp_path_factory.mktemp("forks"), random.Random(seed), 6, actions, jobs=2)


def test_a_command_makes_its_related_lists_apart(make_site, monkeypatch):
    import digest.related  # (digest.build imports it when it builds: the patched one)

    made_here = []
    real = digest.related.compute_related
    monkeypatch.setattr(digest.related, "compute_related", lambda *a, **k: made_here.append(1) or real(*a, **k))
    rng = random.Random(4)
    site = make_site({f"content/r{i}.md": new_record(rng, i) for i in range(8)} | {"digest.toml": "search = false\n"})
    build(site, jobs=2)
    apply(site, "excerpt", rng, [0])
    build(site, jobs=2)
    assert made_here == []  # (in the child, whose calls this process never sees)
    apply(site, "excerpt", rng, [0])
    build(site, jobs=1)
    assert made_here == [1]  # (no child with one job)


def test_related_lists_made_apart_for_other_docs_are_made_again(make_site, monkeypatch, tmp_path):
    """The planner's docs are checked against those the child made the lists for: if they
    differed (they never do), the lists are made in the command, from the state the child saved."""
    import digest.related  # (digest.build imports it when it builds: the patched one)

    real = digest.related.docs_with
    monkeypatch.setattr(digest.related, "docs_with", lambda articles, state: real(articles, state)[:-1])
    rng = random.Random(6)
    site = make_site({f"content/r{i}.md": new_record(rng, i) for i in range(8)} | {"digest.toml": "search = false\n"})
    build(site, jobs=2)
    for step, action in enumerate(["excerpt", "add", "delete"]):
        apply(site, action, rng, [20 + step])
        build(site, jobs=2)
        assert tree(site / "build") == _clean_tree(site, tmp_path / f"clean{step}")
    monkeypatch.setattr(digest.related, "docs_with", real)
    from digest.config import load_config
    from digest.load import load_content
    from digest.plan import select
    from digest.related import compute_related, docs_for

    articles = select(load_content(site, site / "content").articles, load_config(site))
    expected = compute_related(docs_for(articles), load_config(site).related_count)[1]
    assert BuildCache(site, site / "build").state["related"].results == expected.results


@pytest.mark.parametrize("when", ["before", "after"])
def test_related_lists_are_made_here_when_the_child_dies(make_site, monkeypatch, tmp_path, when):
    """A child that dies (killed, out of memory) before or after it saved the state: the
    command makes the lists itself, and the site and the state it leaves are right."""
    import os

    import digest.related  # (digest.build imports it when it builds: the patched one)

    parent = os.getpid()
    real_relate, real_save = digest.related.compute_related, BuildCache.save_early

    made_here = []

    def relate(*args, **kwargs):
        if when == "before" and os.getpid() != parent:
            os._exit(9)
        made_here.append(os.getpid() == parent)
        return real_relate(*args, **kwargs)

    def save_early(self, name, value):
        real_save(self, name, value)
        if when == "after" and os.getpid() != parent:
            os._exit(9)

    rng = random.Random(8)
    site = make_site({f"content/r{i}.md": new_record(rng, i) for i in range(8)} | {"digest.toml": "search = false\n"})
    build(site, jobs=2)
    monkeypatch.setattr(digest.related, "compute_related", relate)
    monkeypatch.setattr(BuildCache, "save_early", save_early)
    for step, action in enumerate(["excerpt", "add", "excerpt"]):
        apply(site, action, rng, [30 + step])
        before = len(made_here)
        build(site, jobs=2)
        assert made_here[before:] == [True]  # (made here, once the child had died)
        assert tree(site / "build") == _clean_tree(site, tmp_path / f"clean{step}")
    monkeypatch.undo()
    apply(site, "excerpt", rng, [40])
    build(site, jobs=2)
    assert tree(site / "build") == _clean_tree(site, tmp_path / "clean-last")


def _steps_equal_clean_builds(base: Path, rng: random.Random, records: int, actions: list[str], jobs: int) -> None:
    """A random site of ``records`` built as a command does, then after each of ``actions``,
    each time compared with a clean build."""
    site, counter = _random_site(base, rng, records)
    build(site, jobs=jobs)
    for step, action in enumerate(actions):
        apply(site, action, rng, counter)
        build(site, jobs=jobs)
        assert tree(site / "build") == _clean_tree(site, base / f"clean{step}"), f"after {actions[: step + 1]}"


def _random_site(base: Path, rng: random.Random, records: int) -> tuple[Path, list[int]]:
    """A site of ``records`` random records in ``base/site``, and the counter `apply` goes on with."""
    site = write_site(base / "site", {"digest.toml": 'title = "Site"\npage_size = 3\nsearch = false\n'})
    (site / "content").mkdir()
    counter = [0]
    for _ in range(records):
        apply(site, "add", rng, counter)
    return site, counter


def _clean_tree(site: Path, where: Path) -> dict[str, bytes]:
    """The output of a clean build of a copy of ``site`` (made in ``where``)."""
    shutil.copytree(site, where, ignore=shutil.ignore_patterns("build", ".digest-cache"))
    build(where, jobs=1)
    return tree(where / "build")


def test_second_build_renders_and_writes_nothing(make_site):
    rng = random.Random(7)
    site = make_site({f"content/r{i}.md": new_record(rng, i) for i in range(8)} | {"digest.toml": "search = false\n"})
    build(site, jobs=1)
    again = build(site, jobs=1)
    assert again.written == 0 and again.rendered == 0 and again.removed == 0


def test_edit_rerenders_only_pages_that_show_the_record(make_site):
    rng = random.Random(3)
    site = make_site({f"content/r{i}.md": new_record(rng, i) for i in range(30)} | {"digest.toml": "search = false\n"})
    first = build(site, jobs=1)
    path = site / "content" / "r0.md"
    path.write_text(path.read_text(encoding="utf-8").replace('excerpt: "', 'excerpt: "Edited ', 1), encoding="utf-8")
    second = build(site, jobs=1)
    assert 0 < second.rendered < first.rendered / 2


@pytest.mark.parametrize("jobs", [1, 2])  # (2: the outputs are checked in a forked child)
@pytest.mark.parametrize("edit", [False, True])
def test_outputs_changed_by_hand_are_made_again(make_site, tmp_path, jobs, edit):
    rng = random.Random(3)
    site = make_site({f"content/r{i}.md": new_record(rng, i) for i in range(4)} | {"digest.toml": "search = false\n"})
    build(site, jobs=jobs)
    out = site / "build"
    page = next(p for p in sorted(out.glob("20*/*/*/*/index.html")))
    page.write_bytes(page.read_bytes().replace(b"<title>", b"<title>X"))
    (out / "topics" / "index.html").unlink()
    (out / "feed.json").write_text("{}", encoding="utf-8")
    if edit:
        path = site / "content" / "r0.md"
        path.write_text(path.read_text(encoding="utf-8").replace('excerpt: "', 'excerpt: "Now ', 1),
                        encoding="utf-8")
    again = build(site, jobs=jobs)
    assert {page.relative_to(out).as_posix(), "topics/index.html", "feed.json"} <= set(again.changed_paths)
    assert tree(out) == _clean_tree(site, tmp_path / "clean")


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_command_leaves_the_related_state_for_the_next(make_site, jobs):
    # (written before the pages render and let go: see `BuildCache.save_early`)
    from digest.config import load_config
    from digest.load import load_content
    from digest.related import RelatedState, compute_related, docs_for

    rng = random.Random(9)
    site = make_site({f"content/r{i}.md": new_record(rng, i) for i in range(6)} | {"digest.toml": "search = false\n"})
    for step in range(3):
        build(site, jobs=jobs)
        state = BuildCache(site, site / "build").state["related"]
        articles = load_content(site, site / "content").articles
        expected = compute_related(docs_for(articles), load_config(site).related_count)[1]
        assert isinstance(state, RelatedState) and state.results == expected.results and len(state.own) == 6
        apply(site, "excerpt" if step else "note", rng, [0])


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_first_build_makes_its_related_lists_in_a_child_with_more_than_one_job(make_site, monkeypatch, tmp_path, jobs):
    # (While this process plans the other pages, which read no related list: see
    # `digest.build._relate_apart`. With -j 1 everything stays in this process.)
    import digest.plan
    from digest.related import compute_related

    here = []

    def counted(*args, **kwargs):
        here.append(os.getpid())
        return compute_related(*args, **kwargs)

    monkeypatch.setattr(digest.plan, "compute_related", counted)
    rng = random.Random(11)
    site = make_site({f"content/r{i}.md": new_record(rng, i) for i in range(8)} | {"digest.toml": "search = false\n"})
    build(site, jobs=jobs)
    assert here == ([os.getpid()] if jobs == 1 else [])
    assert tree(site / "build") == _clean_tree(site, tmp_path / "clean")


def require_pagefind() -> None:
    from digest.search import pagefind_executable

    if pagefind_executable() is None:
        pytest.skip("Pagefind is not installed")


def test_noop_build_restores_a_deleted_search_index(make_site):
    require_pagefind()
    rng = random.Random(5)
    site = make_site({f"content/r{i}.md": new_record(rng, i) for i in range(3)})
    build(site, jobs=1)
    shutil.rmtree(site / "build" / "pagefind")
    build(site, jobs=1)
    assert (site / "build" / "pagefind" / "pagefind.js").is_file()


def test_a_cancelled_search_update_is_redone_by_the_next_build(make_site):
    require_pagefind()
    rng = random.Random(11)
    site = make_site({f"content/r{i}.md": new_record(rng, i) for i in range(3)})
    build(site, jobs=1)
    path = site / "content" / "r0.md"
    path.write_text(path.read_text(encoding="utf-8").replace('title: "', 'title: "Renamed ', 1), encoding="utf-8")
    cancelled = build(site, jobs=1, cancel_search=lambda: True)
    assert cancelled.search == "search index update cancelled for a newer build"
    assert (site / "build" / "pagefind" / "pagefind.js").is_file()  # the previous index stays
    caught_up = build(site, jobs=1)  # no source changed since, but the index lags
    assert caught_up.search.startswith("search index built")
    assert build(site, jobs=1).search == "search index unchanged"


def test_cancel_stops_a_running_indexer_promptly():
    import sys
    import time

    from digest.search import _run

    start = time.monotonic()
    code, _ = _run([sys.executable, "-c", "import time; time.sleep(30)"],
                   cancel=lambda: time.monotonic() - start > 0.3)
    assert code is None and time.monotonic() - start < 5
    assert _run([sys.executable, "-c", "print('done')"], cancel=lambda: False) == (0, "done\n")


def test_an_interrupted_build_leaves_no_indexer_running(tmp_path):
    import os
    import sys
    import time

    from digest.search import _run

    pid_file = tmp_path / "pid"
    child = f"import os, time, pathlib; pathlib.Path({str(pid_file)!r}).write_text(str(os.getpid())); time.sleep(60)"

    def interrupt() -> bool:
        if pid_file.exists() and pid_file.read_text():
            raise KeyboardInterrupt  # Ctrl-C or SIGTERM (see digest.cli) while Pagefind runs
        return False

    start = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        _run([sys.executable, "-c", child], cancel=interrupt)
    assert time.monotonic() - start < 20
    with pytest.raises(ProcessLookupError):
        os.kill(int(pid_file.read_text()), 0)


def test_a_kept_cache_derives_the_plan_when_only_words_change(make_site, tmp_path):
    rng = random.Random(5)
    site = make_site({f"content/r{i}.md": new_record(rng, i) for i in range(12)} | {"digest.toml": "search = false\n"})
    kept = BuildCache(site, site / "build")
    first = build(site, jobs=1, cache=kept)
    assert not first.replanned
    path = site / "content" / "r3.md"
    path.write_text(path.read_text(encoding="utf-8").replace('excerpt: "', 'excerpt: "drone ', 1), encoding="utf-8")
    assert build(site, jobs=1, cache=kept).replanned
    path.write_text(path.read_text(encoding="utf-8").replace('title: "', 'title: "Retitled ', 1), encoding="utf-8")
    moved = build(site, jobs=1, cache=kept)  # a new title, a new URL: the page moves
    assert moved.replanned and moved.removed == 1
    lines = [('topics: ["Space"]' if line.startswith("topics:") else line)
             for line in path.read_text(encoding="utf-8").splitlines()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert build(site, jobs=1, cache=kept).replanned  # other listings: it leaves some and joins others
    assert tree(site / "build") == _clean_tree(site, tmp_path / "clean")
    lines = [('provider: {name: Solo, domain: solo.example}' if line.startswith("provider:") else line)
             for line in path.read_text(encoding="utf-8").splitlines()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert build(site, jobs=1, cache=kept).replanned  # a new source
    path.write_text(path.read_text(encoding="utf-8").replace("solo.example", "example1.com"), encoding="utf-8")
    assert build(site, jobs=1, cache=kept).replanned  # that source ends
    assert tree(site / "build") == _clean_tree(site, tmp_path / "clean2")
    (site / "digest.toml").write_text("search = false\npage_size = 3\n", encoding="utf-8")
    assert not build(site, jobs=1, cache=kept).replanned  # other settings: planned afresh
    assert not build(site, jobs=1).replanned  # a fresh cache has no plan to derive from


def test_a_new_process_derives_the_plan_from_the_saved_one(make_site, tmp_path):
    rng = random.Random(11)
    site = make_site({f"content/r{i}.md": new_record(rng, i) for i in range(14)} | {"digest.toml": "search = false\n"})
    assert not build(site, jobs=1).replanned  # nothing saved yet: planned from scratch, then saved
    assert list((site / ".digest-cache").glob("plan-*.pickle"))
    path = site / "content" / "r4.md"

    def edit(old: str, new: str) -> None:
        path.write_text(path.read_text(encoding="utf-8").replace(old, new, 1), encoding="utf-8")

    edit('excerpt: "', 'excerpt: "drone ')
    words = build(site, jobs=1)  # a fresh cache object: the plan comes from the saved one
    assert words.replanned and 0 < words.rendered < 40
    assert tree(site / "build") == _clean_tree(site, tmp_path / "clean1")
    edit('title: "', 'title: "Retitled ')
    moved = build(site, jobs=1)  # the page moves; changes add up against the saved plan
    assert moved.replanned and moved.removed == 1
    assert tree(site / "build") == _clean_tree(site, tmp_path / "clean2")
    edit('title: "Retitled ', 'title: "')  # back as saved: the page moves back
    back = build(site, jobs=1)
    assert back.replanned and back.removed == 1
    assert tree(site / "build") == _clean_tree(site, tmp_path / "clean3")
    (site / "content" / "r9.md").unlink()  # an article is gone (derived if its topics and source stay)
    build(site, jobs=1)
    assert tree(site / "build") == _clean_tree(site, tmp_path / "clean4")
    again = build(site, jobs=1)
    assert again.rendered == 0 and again.written == 0


@pytest.mark.parametrize("kept", [True, False])
def test_added_records_are_planned_from_the_last_plan(make_site, tmp_path, kept):
    """Records that join the site's topics and sources: the plan is derived (in memory, as a
    server does, or from the saved one, as a command does), the output equals a clean
    build's, and no other article's page is made again but the one whose curated coverage
    names a new record (now a link to its page)."""
    rng = random.Random(21)
    files = {f"content/r{i}.md": new_record(rng, i) for i in range(16)}
    files["content/r2.md"] = files["content/r2.md"].replace(
        "---\n", '---\nrelated: [{title: "Also", webUrl: "https://news.example.com/40"}]\n', 1)
    site = make_site(files | {"digest.toml": "search = false\npage_size = 4\n"})
    cache = BuildCache(site, site / "build") if kept else None
    build(site, jobs=1, cache=cache)
    before = tree(site / "build")
    for n in (40, 41):
        (site / "content" / f"r{n}.md").write_text(joining_record(site, rng, n), encoding="utf-8")
    added = build(site, jobs=1, cache=cache)
    assert added.replanned
    after = tree(site / "build")
    assert after == _clean_tree(site, tmp_path / "clean")
    changed = {p for p in after if before.get(p) != after[p]}
    assert set(added.changed_paths) == changed
    assert added.rendered <= len(changed) + 3  # made again: what changed (and a few pages that came out the same)
    articles = {p for p in changed if p.count("/") == 4 and p.endswith("/index.html")}
    new_pages = {p for p in articles if p not in before}
    assert len(new_pages) == 2
    (page_40,) = [p for p in new_pages if f"<title>{_title_of(site, 40)} ·" in after[p].decode()]
    link = f'href="/{page_40[: -len("index.html")]}"'
    curating = [p for p in articles - new_pages if link in after[p].decode()]
    assert curating and not any(link in before[p].decode() for p in curating)  # r2's coverage now links it
    if not kept:  # saved again at once, under the articles shown now: the next edit derives from it
        labels: list[str] = []
        BuildCache(site, site / "build").saved_plan(LABEL_SIZE, lambda label: labels.append(label) or False)
        assert [int(label) for label in labels] == [18]
    again = build(site, jobs=1, cache=cache)
    assert again.rendered == 0 and again.written == 0


@pytest.mark.parametrize("kept", [True, False])
def test_records_bringing_a_new_topic_or_source_are_planned_from_the_last_plan(make_site, tmp_path, kept):
    """A new source or tag arrives with a good share of a curator's daily additions (11 new
    sources among the last 200 of the 674 real records); it used to mean planning every page again.
    The plan is derived; the new topic's and source's pages, feeds and collections are made;
    the other topics' and sources' pages that the new records do not join stay as they were."""
    rng = random.Random(5)
    files = {f"content/r{i}.md": new_record(rng, i) for i in range(16)}
    site = make_site(files | {"digest.toml": "search = false\npage_size = 4\n"})
    cache = BuildCache(site, site / "build") if kept else None
    build(site, jobs=1, cache=cache)
    before = tree(site / "build")
    (site / "content" / "r40.md").write_text(record(
        "Rovers land on the far side 40", when="2024-03-09T22:00:00Z", webUrl='"https://news.example.com/40"',
        topics='["Space Exploration"]', provider="{name: Orbit News, domain: orbit.example}"), encoding="utf-8")
    added = build(site, jobs=1, cache=cache)
    assert added.replanned
    after = tree(site / "build")
    assert after == _clean_tree(site, tmp_path / "clean")
    assert {"topics/space-exploration/index.html", "sources/orbit-example/index.html",
            "topics/space-exploration/rss.xml", "api/topics/space-exploration/index.json"} <= after.keys() - before.keys()
    untouched = [p for p in before if p.startswith(("topics/", "sources/")) and p.count("/") == 2
                 and p not in ("topics/index.html", "sources/index.html", "topics/feeds.opml")]
    assert untouched and all(after[p] == before[p] for p in untouched)
    assert build(site, jobs=1, cache=cache).written == 0


@pytest.mark.parametrize("kept", [True, False])
def test_a_picture_cached_or_changed_later_is_planned_from_the_last_plan(make_site, tmp_path, kept):
    """An image downloader that runs apart from the curator: a record says ``isCached: true``
    before its picture is in the cache, and a cached picture is replaced. The plan is derived;
    the output equals a clean build's."""
    from tests.test_images import cache_name, image_bytes, image_record

    rng = random.Random(9)
    files = {f"content/r{i}.md": new_record(rng, i) for i in range(10)}
    url = "https://img.example.com/late.jpg"
    files["content/pic.md"] = image_record("A pictured story", url=url, webUrl='"https://news.example.com/pic"')
    site = make_site(files | {"digest.toml": "search = false\npage_size = 4\n"})
    cache = BuildCache(site, site / "build") if kept else None
    build(site, jobs=1, cache=cache)
    assert "thumbs/" not in "".join(tree(site / "build"))  # (not cached yet: a placeholder)
    picture = site / cache_name(url, "jpg")
    picture.parent.mkdir(parents=True, exist_ok=True)
    picture.write_bytes(image_bytes())
    cached = build(site, jobs=1, cache=cache)
    assert cached.replanned and cached.thumbnails.encoded
    assert tree(site / "build") == _clean_tree(site, tmp_path / "clean")
    picture.write_bytes(image_bytes(color=(20, 30, 200), size=(1200, 900)))
    again = build(site, jobs=1, cache=cache)
    assert again.replanned and again.thumbnails.encoded
    assert tree(site / "build") == _clean_tree(site, tmp_path / "clean2")


@pytest.mark.parametrize("how", ["delete", "unpublish"])
@pytest.mark.parametrize("kept", [True, False])
def test_removed_records_are_planned_from_the_last_plan(make_site, tmp_path, kept, how):
    """A record deleted (or unpublished) whose topics and source others have too: the plan is
    derived (in memory, or from the plan saved for one article more), the output equals a
    clean build's, the article's page and API document are gone, and the page whose curated
    coverage linked it links its source instead."""
    rng = random.Random(23)
    files = {f"content/r{i}.md": new_record(rng, i) for i in range(16)}
    site = make_site(files | {"digest.toml": "search = false\npage_size = 4\n"})
    for n in (40, 41):  # the topics and source of others: r40 can leave without taking any along
        (site / "content" / f"r{n}.md").write_text(joining_record(site, rng, n), encoding="utf-8")
    curator = site / "content" / "r2.md"
    curator.write_text(curator.read_text(encoding="utf-8").replace(
        "---\n", '---\nrelated: [{title: "Also", webUrl: "https://news.example.com/40"}]\n', 1), encoding="utf-8")
    cache = BuildCache(site, site / "build") if kept else None
    build(site, jobs=1, cache=cache)
    before = tree(site / "build")
    title = _title_of(site, 40)
    (page_40,) = [p for p in before if p.count("/") == 4 and f"<title>{title} ·" in before[p].decode()]
    link = f'href="/{page_40[: -len("index.html")]}"'
    (curating,) = [p for p in before if p.count("/") == 4 and link in before[p].decode()]
    record = site / "content" / "r40.md"
    if how == "delete":
        record.unlink()
    else:
        record.write_text(record.read_text(encoding="utf-8").replace("---\n", "---\npublished: false\n", 1),
                          encoding="utf-8")
    removed = build(site, jobs=1, cache=cache)
    assert removed.replanned
    after = tree(site / "build")
    assert after == _clean_tree(site, tmp_path / "clean")
    (document,) = [p for p in before if p.startswith("api/articles/") and title in before[p].decode()]
    assert page_40 not in after and document not in after
    assert not any(title in data.decode() for data in after.values())  # nowhere: pages, feeds, sitemap, API
    assert link not in after[curating].decode() and 'href="https://news.example.com/40"' in after[curating].decode()
    changed = {p for p in after if before.get(p) != after[p]}
    assert set(removed.changed_paths) == changed
    assert removed.removed == len(set(before) - set(after)) >= 2  # its page and its API document
    if not kept:  # saved again at once, under the articles shown now
        labels: list[str] = []
        BuildCache(site, site / "build").saved_plan(LABEL_SIZE, lambda label: labels.append(label) or False)
        assert [int(label) for label in labels] == [17]
    again = build(site, jobs=1, cache=cache)
    assert again.rendered == 0 and again.written == 0


def _title_of(site: Path, n: int) -> str:
    line = next(line for line in (site / "content" / f"r{n}.md").read_text(encoding="utf-8").splitlines()
                if line.startswith("title:"))
    return line.split(": ", 1)[1].strip('"')


def test_an_unusable_saved_plan_means_planning_from_scratch(make_site, tmp_path):
    rng = random.Random(12)
    site = make_site({f"content/r{i}.md": new_record(rng, i) for i in range(6)} | {"digest.toml": "search = false\n"})
    build(site, jobs=1)
    (saved,) = (site / ".digest-cache").glob("plan-*.pickle")
    saved.write_bytes(saved.read_bytes()[:-40] + b"\0" * 40)  # no longer signed as written
    path = site / "content" / "r2.md"
    path.write_text(path.read_text(encoding="utf-8").replace('excerpt: "', 'excerpt: "chip ', 1), encoding="utf-8")
    result = build(site, jobs=1)
    assert not result.replanned and not result.problems
    assert tree(site / "build") == _clean_tree(site, tmp_path / "clean")


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**16),
       actions=st.lists(st.sampled_from(["edit", "excerpt", "note", "template", "noop", "add", "redate",
                                         "delete", "unpublish", "topics", "rank", "relink", "join", "join",
                                         "leave", "leave"]),
                        min_size=1, max_size=6))
def test_commands_from_a_saved_plan_equal_clean_builds(tmp_path_factory, seed, actions):
    """Every step is a new process's build (the plan read back from disk, as `digest build` does)."""
    _steps_equal_clean_builds(tmp_path_factory.mktemp("saved"), random.Random(seed), 7, actions, jobs=1)


def test_a_retitle_that_makes_two_slugs_collide_moves_both_pages(make_site, tmp_path):
    """Two records whose ids share their first six hex digits (see `load.distinct_slugs`): when
    one takes the other's title, both slugs change, though only one record did."""
    site = make_site({"content/a.md": record("Same", webUrl="https://c.example.com/3708"),
                      "content/b.md": record("Other", webUrl="https://c.example.com/7367"),
                      "digest.toml": "search = false\n"})
    build(site, jobs=1)
    path = site / "content" / "b.md"
    path.write_text(path.read_text(encoding="utf-8").replace('title: "Other"', 'title: "Same"'), encoding="utf-8")
    kept = BuildCache(site, site / "build")
    build(site, jobs=1, cache=kept)  # from the saved plan
    assert tree(site / "build") == _clean_tree(site, tmp_path / "clean1")
    path.write_text(path.read_text(encoding="utf-8").replace('title: "Same"', 'title: "Other"'), encoding="utf-8")
    build(site, jobs=1, cache=kept)  # from the plan in memory
    assert tree(site / "build") == _clean_tree(site, tmp_path / "clean2")


def test_a_drafts_build_derives_its_plan_too(make_site, tmp_path):
    rng = random.Random(13)
    files = {f"content/r{i}.md": new_record(rng, i) for i in range(8)}
    files["content/r0.md"] = files["content/r0.md"].replace("---\n", "---\npublished: false\n", 1)
    site = make_site(files | {"digest.toml": "search = false\n"})
    build(site, jobs=1, drafts=True)
    path = site / "content" / "r0.md"  # the draft itself
    path.write_text(path.read_text(encoding="utf-8").replace('excerpt: "', 'excerpt: "model ', 1), encoding="utf-8")
    again = build(site, jobs=1, drafts=True)
    assert again.replanned and again.rendered > 0
    clean = tmp_path / "clean"
    shutil.copytree(site, clean, ignore=shutil.ignore_patterns("build", ".digest-cache"))
    build(clean, jobs=1, drafts=True)
    assert tree(site / "build") == tree(clean / "build")


def test_records_and_plan_saved_by_children_serve_the_next_build(make_site, tmp_path):
    """With more than one job, record shards and the plan are written by forked children."""
    rng = random.Random(14)
    site = make_site({f"content/r{i}.md": new_record(rng, i) for i in range(10)} | {"digest.toml": "search = false\n"})
    build(site, jobs=2)
    cache = site / ".digest-cache"
    assert list(cache.glob("plan-*.pickle")) and list(cache.glob("records-*.pickle"))
    path = site / "content" / "r6.md"
    path.write_text(path.read_text(encoding="utf-8").replace('excerpt: "', 'excerpt: "vision ', 1), encoding="utf-8")
    second = build(site, jobs=2)
    assert second.replanned and second.files == 10
    third = build(site, jobs=2)
    assert third.rendered == 0 and third.written == 0
    assert tree(site / "build") == _clean_tree(site, tmp_path / "clean")


def test_a_draft_whose_slug_collides_with_a_published_page_does_not_move_it(make_site, tmp_path):
    """A draft of the same title whose id shares its first six hex digits (see
    `load.distinct_slugs`) made the published page take its whole id: writing or deleting a
    draft moved a published page (and so told of the draft)."""
    site = make_site({"content/a.md": record("Same", webUrl="https://c.example.com/3708"),
                      "digest.toml": "search = false\n"})
    build(site, jobs=1)
    alone = tree(site / "build")
    (site / "content" / "b.md").write_text(
        record("Same", webUrl="https://c.example.com/7367", published="false"), encoding="utf-8")
    result = build(site, jobs=1)
    assert result.written == 0 and tree(site / "build") == alone
    preview = build(site, out=tmp_path / "preview", drafts=True, jobs=1)
    assert preview.articles == 2
    pages = sorted(p.parent.name for p in (tmp_path / "preview").glob("2024/*/*/*/index.html"))
    published = [p.parent.name for p in (site / "build").glob("2024/*/*/*/index.html")]
    assert len(published) == 1 and published[0] in pages
    assert [len(name) for name in pages if name != published[0]] == [len("same-") + 10]  # (its whole id)
    (site / "content" / "b.md").write_text(record("Same", webUrl="https://c.example.com/7367"), encoding="utf-8")
    both = build(site, jobs=1)  # (both published: both take their whole ids)
    assert both.articles == 2
    assert tree(site / "build") == _clean_tree(site, tmp_path / "clean")
