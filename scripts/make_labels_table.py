#!/usr/bin/env python3
"""Rewrite the README's table of labels from ``digest/labels.py`` (its one source): run it
from the repository root after adding or changing a label (``tests/test_labels.py`` fails
while the two differ).

    PYTHONPATH=. python3 scripts/make_labels_table.py
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from digest.labels import readme_table

BEGIN, END = "<!-- labels table: made by scripts/make_labels_table.py -->", "<!-- end of labels table -->"


def main() -> int:
    readme = Path("README.md")
    text = readme.read_text(encoding="utf-8")
    block = re.compile(re.escape(BEGIN) + r".*?" + re.escape(END), re.DOTALL)
    if not block.search(text):
        print(f"README.md has no {BEGIN} ... {END} block", file=sys.stderr)
        return 1
    new = block.sub(lambda _: f"{BEGIN}\n{readme_table()}\n{END}", text)
    if new != text:
        readme.write_text(new, encoding="utf-8")
        print("README.md: labels table rewritten")
    return 0


if __name__ == "__main__":
    sys.exit(main())
