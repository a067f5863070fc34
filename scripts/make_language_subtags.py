#!/usr/bin/env python3
"""Regenerate ``digest/subtags.py``: the primary language subtags of BCP 47, and which of
them are written right to left. Run it from the repository root at development time (it
needs npm and the network; digest itself never does):

    python3 scripts/make_language_subtags.py            # fetches the pinned npm packages
    python3 scripts/make_language_subtags.py --from DIR # or reads them unpacked under DIR

Where the data comes from:

- The IANA Language Subtag Registry
  (https://www.iana.org/assignments/language-subtag-registry), as JSON in the npm package
  ``language-subtag-registry`` (CC0; https://github.com/mattcg/language-subtag-registry,
  ``data/json/registry.json``, its ``File-Date`` in ``data/json/meta.json``). Every record
  of ``Type: language`` is taken: ISO 639-1, 639-2, 639-3 and 639-5 codes alike. Left out:
  the private-use range ``qaa..qtz`` (no language anyone else reads) and deprecated subtags
  without a ``Preferred-Value`` (the registry names no language to write instead: split or
  retired codes). A deprecated subtag with one (``iw``, ``in``, ``ji``, ``mo``...) is kept as
  an alias of it: digest writes ``he`` for ``iw``, as RFC 5646 (section 3.1.7) recommends.
- Which languages run right to left: the Unicode CLDR (npm package ``cldr-core``, Unicode
  license): a language's likely script (``supplemental/likelySubtags.json``; a language CLDR
  knows only as an alias of another, ``supplemental/aliases.json``, such as ``pnb`` of
  ``lah``, takes that one's; else the registry's ``Suppress-Script``), and whether that
  script is written right to left (``scriptMetadata.json``, ``rtl: YES``). ``arz``,
  ``pnb``, ``ckb`` and ``skr`` are Arabic script: right to left.
- From the registry too, for tags past language-script-region (RFC 5646): the extended
  language subtags with the language each follows (``zh-yue``), the variants (``1996``,
  ``rozaj``) and the grandfathered tags with their replacements (``i-klingon`` is ``tlh``),
  deprecated ones left out.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tarfile
import tempfile
import textwrap
from pathlib import Path

PACKAGES = {"language-subtag-registry": "0.4.2", "cldr-core": "48.2.0"}
"""The npm packages read, at the versions the shipped file was made from."""
OUTPUT = Path(__file__).resolve().parent.parent / "digest" / "subtags.py"


def fetch(into: Path) -> Path:
    """The pinned packages, fetched with ``npm pack`` and unpacked under ``into/<name>/``."""
    specs = [f"{name}@{version}" for name, version in PACKAGES.items()]
    subprocess.run(["npm", "pack", "--silent", *specs], cwd=into, check=True, stdout=subprocess.DEVNULL)
    for name, version in PACKAGES.items():
        with tarfile.open(into / f"{name}-{version}.tgz") as archive:
            archive.extractall(into / name, filter="data")
    return into


def read_json(path: Path) -> object:
    return json.loads(path.read_text(encoding="utf-8"))


def make(root: Path) -> str:
    """The text of ``digest/subtags.py`` from the packages unpacked under ``root``."""
    registry_dir = root / "language-subtag-registry" / "package" / "data" / "json"
    cldr = root / "cldr-core" / "package"
    registry = read_json(registry_dir / "registry.json")
    file_date = read_json(registry_dir / "meta.json")["File-Date"]
    cldr_version = read_json(cldr / "package.json")["version"]
    likely = read_json(cldr / "supplemental" / "likelySubtags.json")["supplemental"]["likelySubtags"]
    aliases = read_json(cldr / "supplemental" / "aliases.json")["supplemental"]["metadata"]["alias"]["languageAlias"]
    rtl_scripts = {code for code, meta in read_json(cldr / "scriptMetadata.json")["scriptMetadata"].items()
                   if meta.get("rtl") == "YES"}

    records = [r for r in registry if r["Type"] == "language" and ".." not in r["Subtag"]]
    preferred = {r["Subtag"]: r["Preferred-Value"] for r in records if "Deprecated" in r and "Preferred-Value" in r}
    languages = sorted(r["Subtag"] for r in records if "Deprecated" not in r)
    suppressed = {r["Subtag"]: r.get("Suppress-Script") for r in records}

    def script(code: str) -> str | None:
        for name in (code, aliases.get(code, {}).get("_replacement", "").split("_")[0].split("-")[0]):
            tag = likely.get(name)
            if tag:
                return tag.split("-")[1]
        return suppressed.get(code)

    extlangs = {r["Subtag"]: r["Prefix"][0] for r in registry if r["Type"] == "extlang" and "Deprecated" not in r}
    assert set(extlangs) <= set(languages) and all(r["Preferred-Value"] == r["Subtag"] for r in registry
                                                   if r["Type"] == "extlang" and r["Subtag"] in extlangs)
    variants = sorted(r["Subtag"].lower() for r in registry if r["Type"] == "variant" and "Deprecated" not in r)
    grandfathered = {r["Tag"].lower(): r["Preferred-Value"] for r in registry
                     if r["Type"] == "grandfathered" and "Preferred-Value" in r}
    rtl = sorted(code for code in languages if script(code) in rtl_scripts)
    assert {"ar", "he", "fa", "ur", "yi", "arz", "pnb", "ckb", "skr"} <= set(rtl), "CLDR changed: check the RTL list"
    assert not {"en", "pa", "ku", "ms", "az", "zh"} & set(rtl), "CLDR changed: check the RTL list"

    def words(values: list[str]) -> str:
        lines = textwrap.wrap(" ".join(values), 96, break_on_hyphens=False)
        return "(\n" + "".join(f'    "{line} "\n' for line in lines) + ")"

    packages = ", ".join(f"{name} {version}" for name, version in PACKAGES.items())
    return (
        f'"""Primary language subtags of BCP 47, generated by scripts/make_language_subtags.py; do not\n'
        f"edit. From the IANA Language Subtag Registry of {file_date} (npm language-subtag-registry) and\n"
        f"Unicode CLDR {cldr_version} (npm cldr-core): see that script for what is taken and why.\n"
        f'(npm packages: {packages}.) Read lazily by `digest.text.language_tag`."""\n\n'
        f"REGISTRY_DATE = {file_date!r}\n\n"
        f"LANGUAGES = {words(languages)}\n"
        f'"""Every primary language subtag ({len(languages)}), space-separated: deprecated ones and the\n'
        f'private-use range left out."""\n\n'
        f"PREFERRED = {words([f'{old}={new}' for old, new in sorted(preferred.items())])}\n"
        f'"""Deprecated subtags and the subtag to write instead (``iw=he``), space-separated."""\n\n'
        f"RIGHT_TO_LEFT = {words(rtl)}\n"
        f'"""The languages of `LANGUAGES` whose likely script (CLDR) is written right to left."""\n\n'
        f"EXTLANGS = {words([f'{ext}={prefix}' for ext, prefix in sorted(extlangs.items())])}\n"
        f'"""Extended language subtags and the language each must follow (``yue=zh``: ``zh-yue``), deprecated\n'
        f'ones left out; each is a language of `LANGUAGES` too, and the tag\'s preferred form (``yue``)."""\n\n'
        f"VARIANTS = {words(variants)}\n"
        f'"""Variant subtags (``1996``, ``rozaj``), lower-cased, deprecated ones left out."""\n\n'
        f"GRANDFATHERED = {words([f'{tag}={new}' for tag, new in sorted(grandfathered.items())])}\n"
        f'"""Grandfathered tags (lower-cased) and the tag to write instead (``i-klingon=tlh``); those the\n'
        f'registry names no replacement for (``i-default``, ``cel-gaulish``) left out."""\n'
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--from", dest="source", type=Path,
                        help="a folder holding the packages unpacked (<name>/package/...); default: npm pack")
    args = parser.parse_args()
    if args.source:
        text = make(args.source)
    else:
        with tempfile.TemporaryDirectory() as folder:
            text = make(fetch(Path(folder)))
    OUTPUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUTPUT} ({len(text.encode())} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
