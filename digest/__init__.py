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
    import markdown
    import nh3
    import PIL
    import yaml

    libraries = {"jinja2": jinja2, "markdown": markdown, "nh3": nh3, "yaml": yaml, "pillow": PIL,
                 "anyascii": anyascii}
    code = hashlib.blake2b(digest_size=8)
    for path in sorted(Path(__file__).resolve().parent.rglob("*.py")):
        code.update(path.read_bytes())
    parts = [f"digest {__version__} ({code.hexdigest()})", "python " + ".".join(map(str, sys.version_info[:3]))]
    parts += [f"{name} {getattr(module, '__version__', '?')}" for name, module in libraries.items()]
    return "; ".join(parts)
