"""digest: a static site generator for curated news digests."""

from functools import cache
from pathlib import Path

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

    code = hashlib.blake2b(digest_size=8)
    for path in sorted(Path(__file__).resolve().parent.rglob("*.py")):
        code.update(path.read_bytes())
    parts = [f"digest {__version__} ({code.hexdigest()})", "python " + ".".join(map(str, sys.version_info[:3]))]
    parts += [f"{name} {_version(module, where)}" for name, module, where in _LIBRARIES]
    parts.append(f"markdown {_markdown_version()}")
    return "; ".join(parts)


_LIBRARIES = (("jinja2", "jinja2", "__init__.py"), ("nh3", "nh3", ""), ("yaml", "yaml", "__init__.py"),
              ("pillow", "PIL", "_version.py"), ("anyascii", "anyascii", "__init__.py"))
"""The libraries of `toolchain` (beside Markdown): name, module, and the file of the module's
package that sets its ``__version__`` ("": read it from the module imported)."""


def _version(module: str, where: str) -> str:
    """The ``__version__`` of ``module``, read from its package's file ``where`` without
    importing it (Jinja, PyYAML and Pillow take a tenth of a second to import, which a build
    that finds nothing changed does without), else from the module imported: the same answer."""
    import importlib
    import importlib.util
    import re

    if where:
        spec = importlib.util.find_spec(module)
        try:
            text = (Path(spec.origin).parent / where).read_text(encoding="utf-8")  # type: ignore[union-attr, arg-type]
        except (AttributeError, TypeError, OSError):
            text = ""
        found = re.search(r"""^__version__\s*=\s*["']([^"']+)["']\s*$""", text, re.M)
        if found is not None:
            return found.group(1)
    return str(getattr(importlib.import_module(module), "__version__", "?"))


def _markdown_version() -> str:
    """Markdown's version, read from its ``__meta__.py`` without importing it (a build that
    converts no note does without the import; the same answer whether or not it was)."""
    import importlib.util
    import re

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


def theme_dir() -> Path:
    """Folder of the built-in theme: ``digest/theme`` in a wheel, the repository root otherwise."""
    packaged = Path(__file__).resolve().parent / "theme"
    if (packaged / "templates").is_dir():
        return packaged
    return Path(__file__).resolve().parent.parent
