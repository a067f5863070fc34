"""The few exception types digest raises, and `Problem`, a reportable fault in the input.

Exception tree::

    DigestError                 anything digest reports and exits 1 on
     ├── ConfigError            digest.toml cannot be used (carries its Problems)
     ├── TemplateError          a theme or site template fails to load or render
     └── BuildError             the build cannot finish (output not writable, ...)

Problems are data, not exceptions: loading records collects them and carries on.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Problem:
    """One fault in the input, printed as ``path:line: field: message``."""

    path: str
    """File the problem is in, relative to the site folder where possible."""
    line: int | None
    """1-based line in that file, when known."""
    field: str | None
    """Front-matter field (dotted for nested ones, e.g. ``images[0].url``), when known."""
    message: str
    """What was expected and what was found."""
    severity: str = "error"
    """``error`` (the record is skipped) or ``warning`` (it builds, with a caveat)."""

    def __str__(self) -> str:
        """The one line printed; unprintable characters (from file names, fields and values
        quoted in messages) escaped as ``\\x1b``: an escape sequence could clear a terminal."""
        where = self.path if self.line is None else f"{self.path}:{self.line}"
        what = self.message if not self.field else f"{self.field}: {self.message}"
        prefix = "warning: " if self.severity == "warning" else ""
        return printable(f"{where}: {prefix}{what}")


def printable(text: str) -> str:
    """``text`` with unprintable characters escaped as ``\\x1b`` (one line, no terminal
    escape sequences): for every message that quotes a file name, a key or a value."""
    return text if text.isprintable() else "".join(map(_printable_character, text))


def _printable_character(c: str) -> str:
    if c.isprintable():
        return c
    if "\udc80" <= c <= "\udcff":  # a byte of a file name that is no UTF-8 (as Python holds it): that byte
        return f"\\x{ord(c) - 0xDC00:02x}"
    return ascii(c)[1:-1]


class DigestError(Exception):
    """Base of every error digest reports to the user (exit code 1)."""


class ConfigError(DigestError):
    """``digest.toml`` cannot be used; ``problems`` lists every bad key at once."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class TemplateError(DigestError):
    """A template failed to load or render; the message names file and line."""

    def __init__(self, message: str, path: str = "", line: int | None = None):
        self.path = path
        self.line = line
        super().__init__(message)

    def __reduce__(self):
        return (TemplateError, (str(self), self.path, self.line))

    @property
    def problem(self) -> Problem:
        """This error as a `Problem`, for overlays and reports."""
        return Problem(self.path or "templates", self.line, None, str(self))

    def relative_to(self, site: Path) -> TemplateError:
        """This error with its file named relative to ``site`` when it lies inside
        it (``templates/home.html:3: ...``, as content problems are named); else itself."""
        relative = site_relative(site, self.path) if self.path else self.path
        message = str(self)
        if relative == self.path or not message.startswith(self.path + ":"):
            return self
        return TemplateError(relative + message[len(self.path):], relative, self.line)


def site_relative(site: Path, path: str) -> str:
    """``path`` relative to ``site``, ``/``-separated, when it is absolute and lies inside it;
    else ``path`` as it is."""
    try:
        return Path(path).resolve().relative_to(site.resolve()).as_posix() if os.path.isabs(path) else path
    except (ValueError, OSError, RuntimeError):  # (outside the site; a link loop)
        return path


class BuildError(DigestError):
    """The build cannot finish; nothing was swapped into the output folder."""
