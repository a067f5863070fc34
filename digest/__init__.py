"""digest: a static site generator for curated news digests."""

from functools import cache

__version__ = "0.1.0"


@cache
def toolchain() -> str:
    """This program's version and code, and the versions of the libraries that shape its output.

    Caches and page digests include it, so upgrading Markdown, nh3, Jinja2, PyYAML,
    anyascii or Pillow, or changing digest itself (a new release, or a checkout at
    another commit with the same version number), rebuilds what they made instead of
    trusting stale results.
    """
    import hashlib
    import sys
    from pathlib import Path

    import anyascii
    import jinja2
    import nh3
    import PIL
    import yaml

    libraries = {"jinja2": jinja2, "nh3": nh3, "yaml": yaml, "pillow": PIL, "anyascii": anyascii}
    code = hashlib.blake2b(digest_size=8)
    for path in sorted(Path(__file__).resolve().parent.rglob("*.py")):
        code.update(path.read_bytes())
    parts = [f"digest {__version__} ({code.hexdigest()})", "python " + ".".join(map(str, sys.version_info[:3]))]
    parts += [f"{name} {getattr(module, '__version__', '?')}" for name, module in libraries.items()]
    parts.append(f"markdown {_markdown_version()}")
    return "; ".join(parts)


def _markdown_version() -> str:
    """Markdown's version, read from its ``__meta__.py`` without importing it (a build that
    converts no note does without the import; the same answer whether or not it was)."""
    import importlib.util
    import re
    from pathlib import Path

    spec = importlib.util.find_spec("markdown")
    try:
        text = (Path(spec.origin).parent / "__meta__.py").read_text(encoding="utf-8")  # type: ignore[union-attr, arg-type]
    except (AttributeError, TypeError, OSError):
        text = ""
    found = re.search(r"^__version_info__\s*=\s*\(([^)]*)\)", text, re.M)
    if found is None:  # (another layout: import it after all)
        import markdown

        return str(getattr(markdown, "__version__", "?"))
    return "meta " + "".join(found.group(1).split())
