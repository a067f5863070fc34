"""The Jinja environment and one page -> bytes; the template lookup is site first, then theme."""

from __future__ import annotations

import functools
import hashlib
import json
import re
import signal
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from io import StringIO
from pathlib import Path
from typing import Any

import jinja2
import markupsafe
from jinja2 import meta
from jinja2.compiler import CodeGenerator

from digest import display, theme_dir
from digest.errors import TemplateError
from digest.labels import Labels, fill, labels_of, template_labels
from digest.model import PageSpec
from digest.write import OutputRecord, Staging, stage


def _tojson(value) -> str:
    """JSON for a ``<script type="application/ld+json">`` block, safe inside HTML."""
    text = json.dumps(value, ensure_ascii=False, sort_keys=False, separators=(",", ":"))
    return (text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


try:  # MarkupSafe 2.1+: the escaping core, str -> str, that `markupsafe.escape` wraps in Markup
    from markupsafe import _escape_inner
except ImportError:  # pragma: no cover - other MarkupSafe versions: no shortcut
    _escape_inner = None


def _escape_piece(value: Any, _str=str, _int=int, _markup=markupsafe.Markup,
                  _escape=markupsafe.escape, _inner=_escape_inner) -> str:
    """``escape(value)`` for a piece of template output, as plain text when that is cheaper.

    A piece of output is only ever joined with the others (`_OutputGenerator`), so the
    text is all that counts, not whether it is a `Markup`: a ``str`` is escaped by
    MarkupSafe's own core (what `markupsafe.escape` wraps), an ``int`` is its digits
    (nothing to escape), a `Markup` is already its own escaped text, and anything else
    goes through `markupsafe.escape` itself.
    """
    # Compiled templates import this by name: renaming it means changing ENVIRONMENT.
    cls = type(value)
    if cls is _str:
        return _inner(value)
    if cls is _markup:
        return value
    if cls is _int:
        return _str(value)
    return _escape(value)


if _escape_inner is None:  # pragma: no cover
    _escape_piece = markupsafe.escape  # noqa: F811


_BUFFER_CALL = re.compile(r"^([ \t]*)_digest_pieces\.(extend\(\(|append\()", re.MULTILINE)
"""The start of the line where Jinja writes to `_OutputGenerator`'s scratch buffer."""


class _OutputGenerator(CodeGenerator):
    """Jinja's code generator, with two changes to how output is emitted (same text out).

    * A piece of output is escaped by `_escape_piece` (plain text, no `Markup` object
      per piece) instead of ``markupsafe.escape``: every piece is only ever joined
      (``concat``) into the page, a macro's or block's result, which is where Jinja
      makes the `Markup`, so the joined text is the same.
    * In a generator (a template's root or block function, which has no buffer) the
      pieces of one ``{{ ... }}``/text run are joined and yielded once, not yielded
      one by one through every level of ``extends`` and ``include``.
    """

    _PLACEHOLDER = "_digest_pieces"
    """A buffer name no template code has (Jinja's own names are ``t_N``, ``l_N_name``)."""

    def visit_Template(self, node, frame=None):
        self.writeline(f"from {__name__} import _escape_piece")
        super().visit_Template(node, frame)

    def _output_child_pre(self, node, frame, finalize):
        if not frame.eval_ctx.volatile and frame.eval_ctx.autoescape:
            self.write("_escape_piece(")
            if finalize.src is not None:
                self.write(finalize.src)
            return
        super()._output_child_pre(node, frame, finalize)

    def visit_Output(self, node, frame):
        if frame.buffer is not None:
            super().visit_Output(node, frame)
            return
        # Let Jinja write the buffered form into a scratch stream, then make the
        # buffer's single append/extend a single yield (same lines, same line numbers).
        stream, self.stream = self.stream, StringIO()
        frame.buffer = self._PLACEHOLDER
        try:
            super().visit_Output(node, frame)
        finally:
            frame.buffer = None
            code, self.stream = self.stream.getvalue(), stream
        call = _BUFFER_CALL.search(code)  # the line Jinja began with the buffer's name
        if call is None:
            if code.strip():  # pragma: no cover - not Jinja 3.1's form
                raise RuntimeError("unexpected output code from Jinja")
            self.stream.write(code)  # nothing (output outside the blocks of a child template)
            return
        if call.group(2) == "append(":  # one piece: ``yield (piece)`` (its trailing comma dropped)
            head, comma, tail = code.rpartition(",")
            if comma != "," or tail.strip() != ")":  # pragma: no cover - not Jinja 3.1's form
                raise RuntimeError("unexpected output code from Jinja")
            code = head + tail
        code = _BUFFER_CALL.sub(lambda m: m.group(1) + ("yield (" if m.group(2) == "append(" else "yield concat(("),
                                code, count=1)
        self.stream.write(code)


class _DataEnvironment(jinja2.Environment):
    """Jinja for plain-data contexts: ``a.b`` on a dict looks up the key first.

    (Plain Jinja tries the attribute first, so every ``card.title`` raised and
    caught an AttributeError, and a key such as ``items`` lost to the dict method.)
    Output is compiled by `_OutputGenerator` where this Jinja allows (see `_generator`).
    """

    @property
    def code_generator_class(self) -> type[CodeGenerator]:
        """`_generator`'s answer, asked for only when a template is compiled: a build whose
        templates are all compiled already (every build after the first) never probes (45 ms)."""
        return _generator()

    def getattr(self, obj: Any, attribute: str) -> Any:
        if isinstance(obj, dict):
            try:
                return obj[attribute]
            except KeyError:
                pass
        return super().getattr(obj, attribute)


class _MemoryBytecodeCache(jinja2.BytecodeCache):
    """Compiled templates kept in a caller's dict (never on disk), checked against the source."""

    def __init__(self, store: dict[str, bytes]):
        self.store = store

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        data = self.store.get(bucket.key)
        if data is not None:
            bucket.bytecode_from_string(data)  # ignored when the source's checksum differs

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        self.store[bucket.key] = bucket.bytecode_to_string()


class _FolderLoader(jinja2.FileSystemLoader):
    """Templates of one folder; a file there that is not UTF-8 text, or cannot be read, is a
    `TemplateError` naming it (it was a traceback)."""

    def get_source(self, environment: jinja2.Environment, template: str) -> tuple[str, str, Callable[[], bool]]:
        try:
            return super().get_source(environment, template)
        except jinja2.TemplateNotFound:
            raise
        except UnicodeDecodeError as exc:
            where = str(Path(self.searchpath[0], template))
            raise TemplateError(f"{where}: not a template: not valid UTF-8 (byte 0x{exc.object[exc.start]:02x} "
                                f"at offset {exc.start})", where) from None
        except OSError as exc:
            where = str(Path(self.searchpath[0], template))
            raise TemplateError(f"{where}: cannot read the template: {exc.strerror or exc}", where) from None


def make_environment(site: Path, compiled: dict[str, bytes] | None = None,
                     words: Labels | None = None) -> jinja2.Environment:
    """One environment per build: autoescape on, strict undefined, site templates first.

    ``compiled``, a dict kept between builds in one process (a server's), holds
    compiled templates so an unchanged template is not compiled again. ``words`` are the
    site's labels (`digest.config.Config.words`; English without), which every template,
    and the macros it imports, reads as ``labels`` (a global: imported macros see no context).
    """
    loader = jinja2.ChoiceLoader([
        _FolderLoader(str(site / "templates")),
        _FolderLoader(str(theme_dir() / "templates")),
    ])
    env = _DataEnvironment(
        loader=loader,
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        auto_reload=False,
        cache_size=-1,
        bytecode_cache=_MemoryBytecodeCache(compiled) if compiled is not None else None,
    )
    env.filters["ldjson"] = lambda v: jinja2.utils.markupsafe.Markup(_tojson(v))
    env.filters["truncate"] = _truncate
    env.filters["isolate"] = display.isolate
    env.filters["fill"] = _fill
    env.globals["labels"] = template_labels(words if words is not None else labels_of())
    return env


def _truncate(text: Any, length: int = 255, killwords: bool = False, end: str = "...",
              leeway: int | None = None) -> str:
    """Jinja's ``truncate``, cutting between grapheme clusters (see `digest.display.cut`): the
    built-in one cut at a code point, inside an emoji's ZWJ sequence, a flag or a conjunct."""
    return display.cut(str(text), length, end, whole_words=not killwords, leeway=5 if leeway is None else leeway)


def _fill(text: Any, **values: Any) -> markupsafe.Markup:
    """A label (`digest.labels`) with its placeholders filled in, as markup: the label and the
    values escaped first (a label given as markup, an English one, is written as it is)."""
    escaped = {name: markupsafe.escape(value) for name, value in values.items()}
    return markupsafe.Markup(fill(markupsafe.escape(text), **escaped))


_PROBE = {
    "base.html": "<p>{{ a }}</p>{% block main %}{{ b }}{% endblock %}{% include 'part.html' %}",
    "page.html": ("{% extends 'base.html' %}{% from 'part.html' import m with context %}"
                  "{% block main %}{{ a }}-{{ n }}-{{ m(b) }}{% for x in xs %}<i>{{ x }}</i>{% endfor %}"
                  "{% set s %}[{{ a }}]{% endset %}{{ s }}{% endblock %}"),
    "part.html": "{% macro m(v) %}<b>{{ v }}</b>{% endmacro %}{{ a }}|{{ c }}",
}


@functools.cache
def _generator() -> type[CodeGenerator]:
    """`_OutputGenerator` when it compiles this Jinja's templates as intended, else Jinja's own.

    It rewrites a form of generated code that Jinja 3.1 has; a probe (blocks, extends,
    include, macros, loops, ``set`` blocks, every kind of value) must compile and render
    exactly as with Jinja's own generator, or the stock generator is used.
    """
    context = {"a": "<&'\">", "b": markupsafe.Markup("<em>ok</em>"), "c": None, "n": 7,
               "xs": ["x<", 2, 3.5, True]}
    texts = []
    for generator in (CodeGenerator, _OutputGenerator):
        env = jinja2.Environment(loader=jinja2.DictLoader(_PROBE), autoescape=True,
                                 undefined=jinja2.StrictUndefined)
        env.code_generator_class = generator
        try:
            texts.append(env.get_template("page.html").render(context))
        except RuntimeError:  # not the code `_OutputGenerator` knows
            return CodeGenerator
    return _OutputGenerator if texts[0] == texts[1] else CodeGenerator


ENVIRONMENT = "digest-templates-2"
"""Names the environment's options (`make_environment`); change it when they change, so
templates compiled by an earlier version are not reused."""


def template_memo(saved: Any = None) -> dict[str, Any]:
    """What one build learns about templates, for the next: compiled code and references.

    ``saved`` is the previous build's memo (read only: this returns fresh dicts);
    ``compiled`` goes to `make_environment`, ``refs`` to `page_keys`.
    """
    if not isinstance(saved, dict) or saved.get("environment") != ENVIRONMENT:
        saved = {}
    return {"environment": ENVIRONMENT, "compiled": dict(saved.get("compiled") or {}),
            "refs": dict(saved.get("refs") or {})}


def template_dependencies(env: jinja2.Environment, name: str,
                          known: dict[tuple, tuple] | None = None) -> list[str]:
    """Names of ``name`` and every template it extends, includes or imports, recursively.

    ``known`` maps (name, file, source) to the references found by parsing, so a
    template is parsed only when its source is new.
    """
    known = {} if known is None else known
    seen: list[str] = []
    stack = [name]
    while stack:
        current = stack.pop()
        if current in seen:
            continue
        seen.append(current)
        try:
            source, filename, _ = env.loader.get_source(env, current)
            refs = known.get((current, filename, source))
            if refs is None:
                refs = tuple(meta.find_referenced_templates(env.parse(source, current, filename)))
                known[(current, filename, source)] = refs
        except jinja2.TemplateNotFound:
            continue
        except jinja2.TemplateSyntaxError as exc:
            raise _template_error(exc) from None
        stack.extend(r for r in refs if r)
    return seen


def _template_error(exc: Exception) -> TemplateError:
    if isinstance(exc, jinja2.TemplateSyntaxError):
        where = exc.filename or exc.name or "template"
        return TemplateError(f"{where}:{exc.lineno}: template syntax error: {exc.message}",
                             where, exc.lineno)
    if isinstance(exc, jinja2.TemplateNotFound):
        return TemplateError(f"template not found: {exc.name}", str(exc.name))
    return TemplateError(f"template error: {exc}")


_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)
"""``json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)``, made once."""


_JSON_MEMO_LIMIT = 8192
"""Longest text of a whole document `_json_text` keeps (a feed's is not seen again)."""
JSON_MEMO_CHARACTERS = 32_000_000
"""Most text a `JsonMemo` keeps: all of a 10,000-record site's API documents; a bigger site's
first ones (the memo must not grow with the archive: memory stays flat)."""


class JsonMemo:
    """JSON texts of shared documents by object identity, up to a budget of characters.

    Each entry keeps its document (so its id is not reused while the memo lives). Meant
    for one `render_all` call, whose API documents are plain data that nothing changes
    while pages are rendered (they reach no template).
    """

    __slots__ = ("texts", "room")

    def __init__(self, room: int = JSON_MEMO_CHARACTERS):
        self.texts: dict[int, tuple[Any, str]] = {}
        self.room = room
        """Characters of text still to keep."""

    def text(self, document: dict) -> str:
        """``_JSON.encode(document)``, kept while there is room."""
        known = self.texts.get(id(document))
        if known is not None and known[0] is document:
            return known[1]
        text = _JSON.encode(document)
        if len(text) <= min(self.room, _JSON_MEMO_LIMIT):
            self.texts[id(document)] = (document, text)
            self.room -= len(text)
        return text


def _json_text(data: Any, memo: JsonMemo | None) -> str:
    """``_JSON.encode(data)``; with ``memo``, a dict's text is made once per object.

    Compact JSON is compositional: a ``{"...": [a, b], ...}`` document is the text of
    each key and value joined with ``:`` and ``,``, so the items of a top-level
    ``value`` list (the API's collection pages: the same article documents, page after
    page) are encoded once and reused (see `JsonMemo`).
    """
    if memo is None or type(data) is not dict:
        return _JSON.encode(data)
    value = data.get("value")
    if type(value) is not list or not all(type(key) is str for key in data):
        return memo.text(data)  # an article's document, shown again in collections
    encode = _JSON.encode
    parts = []
    for key, item in data.items():
        if type(item) is list:
            texts = [memo.text(element) if type(element) is dict else encode(element) for element in item]
            parts.append(f"{encode(key)}:[{','.join(texts)}]")
        else:
            parts.append(f"{encode(key)}:{encode(item)}")
    return "{" + ",".join(parts) + "}"


def render_page(env: jinja2.Environment, spec: PageSpec,
                memo: JsonMemo | None = None) -> bytes:
    """Render one page spec to bytes; template faults become `TemplateError` with file and line.

    A template named ``json:...`` is no template: the context's ``data`` is written as
    compact JSON (UTF-8, keys in the planned order, which is deterministic). ``memo``
    (see `_json_text`) lets pages rendered together share the text of shared documents.
    """
    if spec.template.startswith("json:"):
        return _json_text(spec.build()["data"], memo).encode("utf-8")
    try:
        template = env.get_template(spec.template)
        return template.render(spec.build()).encode("utf-8")
    except (jinja2.TemplateSyntaxError, jinja2.TemplateNotFound) as exc:
        raise _template_error(exc) from None
    except Exception as exc:  # a template's runtime fault: report where it happened
        line, where = None, spec.template
        tb = exc.__traceback__
        while tb is not None:
            name = tb.tb_frame.f_globals.get("__jinja_template__")
            if name is not None:
                where = name.filename or name.name or where
                line = name.get_corresponding_lineno(tb.tb_lineno)
            elif "__jinja_exception__" in tb.tb_frame.f_globals:  # a frame Jinja rewrote
                where, line = tb.tb_frame.f_code.co_filename, tb.tb_lineno
            tb = tb.tb_next
        raise TemplateError(
            f"{where}:{line or '?'}: error rendering {spec.path}: {exc.__class__.__name__}: {exc}",
            where, line,
        ) from None


# --------------------------------------------------------------------------- rendering many pages


def template_digest(env: jinja2.Environment, name: str, memo: dict[str, str],
                    known: dict[tuple, tuple] | None = None) -> str:
    """Digest of a template and everything it pulls in (so an edit re-renders its pages)."""
    if name not in memo:
        h = hashlib.blake2b(digest_size=16)
        for dep in sorted(template_dependencies(env, name, known)):
            try:
                source, filename, _ = env.loader.get_source(env, dep)
            except jinja2.TemplateNotFound:
                source, filename = "", "missing"
            h.update(f"{dep}\0{filename}\0".encode())
            h.update(source.encode("utf-8", "surrogatepass"))
        memo[name] = h.hexdigest()
    return memo[name]


def page_keys(env: jinja2.Environment, pages: Sequence[PageSpec],
              known: dict[tuple, tuple] | None = None) -> list[str]:
    """The full key of every page: its input key (`PageSpec.key`) and its templates' digest.

    ``known`` is `template_memo`'s ``refs`` (see `template_dependencies`).
    """
    memo: dict[str, str] = {}
    # (Each template once, in the pages' order: a broken one is reported as the first page using it found it.)
    digests = {name: template_digest(env, name, memo, known) for name in dict.fromkeys(spec.template for spec in pages)}
    return [f"{spec.key}:{digests[spec.template]}" for spec in pages]


@dataclass(frozen=True, slots=True)
class Rendered:
    """The outcome for one page."""

    path: str
    digest: str
    changed: bool
    key: str


@dataclass(frozen=True, slots=True)
class _Job:
    site: Path
    pages: Sequence[PageSpec]
    keys: Sequence[str]
    out: Path
    staging: Staging
    previous: Mapping[str, OutputRecord]
    env: jinja2.Environment
    """The parent's environment: forked workers use their copy (templates already compiled)."""
    made: set[str]
    """Folders made in ``staging`` (see `stage`); each forked worker fills its own copy."""
    memo: JsonMemo
    """JSON texts of shared documents (see `_json_text`); each forked worker fills its own copy."""


def _render_slice(job: _Job, start: int, end: int) -> list[Rendered]:
    done = []
    env, out, staging, previous, made, memo = job.env, job.out, job.staging, job.previous, job.made, job.memo
    for index in range(start, end):
        spec = job.pages[index]
        data = render_page(env, spec, memo)
        digest, changed = stage(out, staging, spec.path, data, previous.get(spec.path), made)
        done.append(Rendered(spec.path, digest, changed, job.keys[index]))
    return done


WORKER_PAGES = 25_000
"""Pages a render worker renders before a fresh fork of the build replaces it. What a worker
makes for many pages (article cards, `JsonMemo` texts) stays in it: at 100,000 records a
worker that rendered its half of the pages ended 200 MiB above the build it was forked from,
the largest process of the build. (A 10,000-record site's workers are never replaced.)"""


_worker: dict[str, Any] = {}
"""Per worker process only: the job it inherited at fork time."""


def _worker_init(job: _Job) -> None:
    # Ctrl-C reaches the whole process group: the parent handles it and ends the pool,
    # so workers must not each print a KeyboardInterrupt traceback.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _worker["job"] = job


def _worker_run(bounds: tuple[int, int]) -> tuple[bytes, bytes]:
    """A slice's outcomes, packed for the build process: each page's digest (16 bytes) and
    whether it changed (a byte). Its path and key are the build's own already (see `_unpacked`)."""
    done = _render_slice(_worker["job"], *bounds)
    return b"".join(bytes.fromhex(item.digest) for item in done), bytes(item.changed for item in done)


def _unpacked(pages: Sequence[PageSpec], keys: Sequence[str], start: int, packed: tuple[bytes, bytes]) -> list[Rendered]:
    """`_worker_run`'s outcomes for the pages from ``start``, as `Rendered`."""
    digests, changed = packed
    return [Rendered(pages[start + n].path, digests[16 * n:16 * n + 16].hex(), bool(was), keys[start + n])
            for n, was in enumerate(changed)]


def render_all(site: Path, env: jinja2.Environment, pages: Sequence[PageSpec], keys: Sequence[str],
               out: Path, staging: Staging, previous: Mapping[str, OutputRecord], jobs: int,
               progress: Callable[[int], None] | None = None) -> list[Rendered]:
    """Render and stage ``pages``; in ``jobs`` forked processes when there are many.

    ``keys`` holds each page's full key (see `page_keys`), recorded with its outcome.
    """
    for name in sorted({spec.template for spec in pages if not spec.template.startswith("json:")}):
        try:  # compiled once here, so forked workers inherit them compiled
            env.get_template(name)
        except (jinja2.TemplateSyntaxError, jinja2.TemplateNotFound) as exc:
            raise _template_error(exc) from None
    job = _Job(site, pages, keys, out, staging, previous, env, set(), JsonMemo())
    total = len(pages)
    parallel = jobs > 1 and total >= 300
    if parallel:  # (imported here: a rebuild that renders a few pages does without, 30 ms)
        import multiprocessing

        parallel = "fork" in multiprocessing.get_all_start_methods()
    if not parallel:
        done: list[Rendered] = []
        step = 200
        for start in range(0, total, step):
            done += _render_slice(job, start, min(total, start + step))
            if progress:
                progress(len(done))
        return done
    step = max(50, min(400, total // (jobs * 8) or 1))
    bounds = [(s, min(total, s + step)) for s in range(0, total, step)]
    # The outcomes are kept packed until the last worker is done: a worker forked late (see
    # `WORKER_PAGES`) carried every outcome so far as objects, 70 MB at 100,000 records.
    results: list[tuple[bytes, bytes]] = []
    context = multiprocessing.get_context("fork")
    with context.Pool(jobs, initializer=_worker_init, initargs=(job,),
                      maxtasksperchild=max(1, WORKER_PAGES // step)) as pool:
        count = 0
        for part in pool.imap(_worker_run, bounds):
            results.append(part)
            count += len(part[1])
            if progress:
                progress(count)
    return [item for (start, _end), part in zip(bounds, results, strict=True)
            for item in _unpacked(pages, keys, start, part)]
