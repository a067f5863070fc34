"""Thumbnails: planned from record metadata, made once in parallel; the only code that opens an image.

A record's image is usable when it says ``isCached: true`` and its file
``content/images/<sha256 of the url>.<ext>`` is a real raster image (the bytes
decide the format, never the extension). For each usable image this module
decides every thumbnail (widths from ``thumbnail_widths`` never wider than the
source, one file per width and format) and names it by content: a hash of the
source bytes, the encoding recipe and the quality, plus the width, e.g.
``thumbs/3f/3fa2...-640.webp``. Templates get the plain dict documented in
`ImageSet.mapping`, so nothing opens an image at render time.

Incremental: what a source file is (its hash, real size, orientation, or why it
is unusable) is remembered in the build state keyed by its ``stat`` (size,
mtime, inode), so a warm build neither reads nor decodes any image. Encoded
thumbnails are kept in a content-addressed store, ``SITE/.digest-cache/thumbs/``,
and staged into the output like every other file (``digest.write.stage``), so a
thumbnail no record claims any more is pruned with the other stale outputs.

Every odd file (missing, empty, truncated, corrupt, not an image, a decompression
bomb, a symbolic link out of the cache, a size that disagrees with the record)
is a warning `Problem` naming the record, the field and the URL; the article
still builds, with a sized placeholder. Nothing from the cache is ever copied to
the output: only re-encoded thumbnails, without metadata (EXIF, ICC, XMP).

Pillow is imported by the first function that opens or makes an image, not with this module:
a rebuild that opens no image (most of them) does without its import, a fiftieth of a second.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import math
import os
import re
import signal
import struct
import tempfile
import time
import warnings
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from PIL import Image

from digest.cache import CACHE_DIR, racy
from digest.config import Config
from digest.errors import Problem
from digest.files import open_regular
from digest.load import IMAGES_DIR, field_locator, real_path
from digest.model import Article, ThumbnailCounts
from digest.plan import MAX_TALL, select
from digest.text import url_as_read, without_credentials
from digest.write import OutputRecord, Staging, intact, stage

RECIPE = 6
"""Bump when the way thumbnails are made changes: every thumbnail gets a new name."""
MAX_PIXELS = 40_000_000
"""Largest source image decoded (pixels, from its header); bigger is a decompression bomb."""
MAX_BYTES = 64 * 1024 * 1024
"""Largest source file read."""
MAX_SCANS = 100
"""Most scans a JPEG may have (a progressive one has about 10): each scan is decoded over the whole
picture, so a file of a few hundred kB repeating a scan thousands of times kept a worker busy for
minutes (libjpeg sets no limit of its own; its ``djpeg -maxscans`` is this guard)."""
DECODERS = ("JPEG", "PNG", "GIF", "WEBP", "AVIF", "BMP", "TIFF")
"""Formats Pillow may open: raster web formats only (never EPS, PDF, ... which run other programs)."""
EXTENSIONS = {"webp": "webp", "avif": "avif", "jpeg": "jpg", "png": "png"}
MIME_TYPES = {"webp": "image/webp", "avif": "image/avif", "jpeg": "image/jpeg", "png": "image/png"}
CARD_SIZES = "(min-width: 75rem) 22rem, (min-width: 40rem) 45vw, 100vw"
"""Default ``sizes``: a card in the theme's grid (a hero passes its own)."""
RESAMPLE = "BILINEAR"
"""The Pillow resampling filter (a name in ``Image.Resampling``). Pillow's bilinear is a
triangle filter widened to the reduction (true antialiasing, no ringing): 14% less CPU per
image than bicubic on the benchmark corpus; Hugo's default is box."""
WEBP_METHOD = 0
"""libwebp effort 0-6: on the benchmark corpus 0 makes thumbnails the size of 4's in about a quarter of the time."""
AVIF_SPEED = 8
"""libavif speed 0-10 (AVIF costs many times WebP; faster settings keep it usable)."""
_ORIENTATION = 0x0112
_TRANSPOSE = {
    2: "FLIP_LEFT_RIGHT", 3: "ROTATE_180", 4: "FLIP_TOP_BOTTOM", 5: "TRANSPOSE",
    6: "ROTATE_270", 7: "TRANSVERSE", 8: "ROTATE_90",
}
"""How to make an image upright for each EXIF orientation (names in ``Image.Transpose``, as
``ImageOps.exif_transpose`` does)."""
_SERIAL_LIMIT = 4
"""Fewer source images than this are made in-process (a pool costs more than it saves)."""
IMAGE_SECONDS = 120.0
"""Longest a worker may spend on one source image (reading, decoding, encoding its thumbnails; a
large picture takes a second or two): past it the worker is stopped and the image is a warning, as
a decoder crash is. A decoder stuck in its C code runs no Python handler, so this is ``SIGALRM``'s
default action, which ends the process (a file built to be slow to decode kept the build waiting
for ever; `MAX_SCANS` guards against the one such JPEG known)."""


def _pillow_has(feature: str) -> bool:
    """Whether Pillow was built with ``feature`` (e.g. ``avif``)."""
    from PIL import features  # noqa: PLC0415 - Pillow loads lazily (see the module docstring)

    return features.check(feature)


# --------------------------------------------------------------------------- data


@dataclass(frozen=True, slots=True)
class SourceInfo:
    """What reading a cached file found; remembered by stat so a warm build opens nothing."""

    digest: str
    """BLAKE2b-128 hex digest of the file's bytes ('' when it could not be read)."""
    width: int
    """Displayed width in pixels (after EXIF orientation)."""
    height: int
    """Displayed height in pixels (after EXIF orientation)."""
    stored: tuple[int, int]
    """Pixel size as stored in the file (before orientation)."""
    error: str = ""
    """Why the file cannot be used; empty when it can."""
    orientation: int = 1
    """EXIF orientation (1-8) read from the header; applied when decoding (1 for a TIFF,
    which Pillow turns upright itself)."""
    notice: str = ""
    """What is wrong with a usable file (damaged metadata, which Pillow warns of); a warning for
    each record that shows it."""


@dataclass(frozen=True, slots=True)
class Thumb:
    """One planned thumbnail file."""

    path: str
    """Output path relative to the site root, e.g. ``thumbs/3f/3fa2...-640.webp``."""
    width: int
    """Pixel width."""
    height: int
    """Pixel height."""
    format: str
    """``webp``, ``avif``, ``jpeg`` or ``png``."""


@dataclass
class ImageSet:
    """The outcome of the images phase."""

    mapping: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Image URL -> template data: ``src``, ``srcset``, ``sizes``, ``sources``, ``width``,
    ``height``, ``largest`` (see `image_entry`)."""
    problems: list[Problem] = field(default_factory=list)
    """Warnings about unusable or inconsistent images."""
    kept: dict[str, OutputRecord] = field(default_factory=dict)
    """Thumbnails already in place in the output folder (manifest records to carry over)."""
    staged: dict[str, tuple[str, bool]] = field(default_factory=dict)
    """Thumbnails staged by this build: path -> (digest, changed)."""
    state: dict[Any, Any] = field(default_factory=dict)
    """Cache file name -> (size, mtime_ns, inode, SourceInfo), to persist in the build state; and
    ``("lines", record, content hash)`` -> the lines of its image entries with a warning (`_Lines`)."""
    counts: ThumbnailCounts = field(default_factory=ThumbnailCounts)
    """Counts for the summary."""


@dataclass(frozen=True, slots=True)
class _Params:
    widths: tuple[int, ...]
    formats: tuple[str, ...]
    quality: int


@dataclass(frozen=True, slots=True)
class _Job:
    """Everything a worker needs; inherited by fork, never pickled."""

    params: _Params
    out: Path
    staging: Staging
    store: Path
    """The cache folder; thumbnail ``thumbs/xx/name`` is kept at ``store/thumbs/xx/name``."""
    previous: Mapping[str, OutputRecord]


@dataclass(frozen=True, slots=True)
class _Task:
    name: str
    path: Path
    info: SourceInfo | None


@dataclass(frozen=True, slots=True)
class _Done:
    name: str
    info: SourceInfo
    kept: tuple[tuple[str, OutputRecord], ...] = ()
    staged: tuple[tuple[str, str, bool], ...] = ()
    reused: int = 0
    encoded: int = 0


# --------------------------------------------------------------------------- pure planning


THUMBS_DIR = "thumbs"
"""Folder of the output holding every thumbnail."""
_KEY_BYTES = 8
"""Bytes of the content hash that names a thumbnail (16 hex digits)."""
_THUMB_PATH = re.compile(
    rf"{THUMBS_DIR}/([0-9a-f]{{2}})/\1[0-9a-f]{{{2 * _KEY_BYTES - 2}}}-[1-9][0-9]*"
    rf"\.(?:{'|'.join(sorted(set(EXTENSIONS.values())))})")
"""The output path `plan_thumbs` gives a thumbnail, and nothing else."""


def is_thumbnail(path: str) -> bool:
    """True if ``path`` (relative to the output folder) has the shape of a thumbnail's path
    (``thumbs/3f/3fa2...-640.webp``): its name is a hash of its bytes' recipe, so the bytes
    at that path never change (what lets a publisher send it as immutable)."""
    return _THUMB_PATH.fullmatch(path) is not None


def _shown_height(info: SourceInfo) -> int:
    """How much of a source's height its thumbnails show: all of it, or its top `MAX_TALL` widths."""
    return min(info.height, MAX_TALL * info.width)


def plan_thumbs(info: SourceInfo, params: _Params) -> list[Thumb]:
    """Every thumbnail of a usable source: widths never wider than the source, each format; a
    source taller than `MAX_TALL` times its width gives its top part (see `_shown_height`).

    (Its whole height made a thumbnail of 1x20000 pixels, which WebP cannot hold: "the file is
    corrupt"; a 500x20000 infographic lost its 500 px thumbnails the same way.)"""
    shown = _shown_height(info)
    cut = f"|top{MAX_TALL}" if shown < info.height else ""  # (never the name of an uncut thumbnail)
    key = hashlib.blake2b(f"{RECIPE}|{info.digest}|{params.quality}{cut}".encode(),
                          digest_size=_KEY_BYTES).hexdigest()
    widths = sorted({min(w, info.width) for w in params.widths})
    thumbs = []
    for width in widths:
        height = max(1, round(shown * width / info.width))
        for fmt in params.formats:
            thumbs.append(Thumb(f"{THUMBS_DIR}/{key[:2]}/{key}-{width}.{EXTENSIONS[fmt]}",
                                width, height, fmt))
    return thumbs


def image_entry(thumbs: Sequence[Thumb], base_path: str) -> dict[str, Any]:
    """Template data for one image: the last format is the ``<img>`` fallback, the others ``<source>``s."""
    formats = list(dict.fromkeys(t.format for t in thumbs))

    def srcset(fmt: str) -> str:
        return ", ".join(f"{base_path}{t.path} {t.width}w" for t in thumbs if t.format == fmt)

    fallback = formats[-1]
    largest = max((t for t in thumbs if t.format == fallback), key=lambda t: t.width)
    return {
        "src": base_path + largest.path,
        "srcset": srcset(fallback),
        "sizes": CARD_SIZES,
        "sources": [{"type": MIME_TYPES[f], "srcset": srcset(f)} for f in formats[:-1]],
        "width": largest.width,
        "height": largest.height,
        "largest": largest.path,
    }


def params_of(config: Config) -> _Params:
    """The encoding parameters of a configuration."""
    return _Params(tuple(config.thumbnail_widths), tuple(config.thumbnail_formats),
                   config.thumbnail_quality)


# --------------------------------------------------------------------------- reading and encoding


def _sniff(raw: bytes) -> str:
    head = raw[:512].removeprefix(b"\xef\xbb\xbf").lstrip().lower()  # (an editor's UTF-8 mark)
    if not raw:
        return "the file is empty (0 bytes), not an image"
    if head.startswith(b"<svg") or b"<svg" in head:
        return "the file is SVG, not a raster image (SVG can carry scripts; it is never used)"
    if head.startswith((b"<!doctype", b"<html", b"<?xml", b"<")):
        return "the file is HTML or XML, not an image"
    return "the file is not an image in a supported format (JPEG, PNG, GIF, WebP, AVIF, BMP, TIFF)"


_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_TEXT = (b"tEXt", b"zTXt", b"iTXt")
MAX_ICC_BYTES = 1024 * 1024
"""Largest ICC profile a PNG's iCCP chunk may inflate to (Pillow's own bound, whose error would
call the picture corrupt): a larger one is dropped, and its colours are taken as sRGB."""


def _png_pixels(raw: bytes) -> bytes:
    """``raw`` without what a thumbnail never uses and Pillow may refuse the picture for: a PNG's
    text chunks (tEXt, zTXt, iTXt: XMP, descriptions, ImageMagick's "Raw profile" copies), any
    iCCP chunk after the first, and an iCCP chunk that inflates to more than `MAX_ICC_BYTES`.

    Pillow inflates each compressed text chunk up to 1 MiB and all text up to 64 MiB, then
    raises ValueError (a decompression-bomb guard): a photo with 2 MB of XMP was "corrupt". Its
    limits are module globals, shared by every image in the process: instead of raising them,
    the chunks are left out, so no text is ever inflated or kept (a 100 MB zTXt bomb costs a
    walk over the chunk headers). Anything else (not a PNG, nothing to drop, a chunk whose
    length runs past the end) is returned as it is, for Pillow to judge.
    """
    if not raw.startswith(_PNG_SIGNATURE) or not any(kind in raw for kind in (*_PNG_TEXT, b"iCCP")):
        return raw
    view = memoryview(raw)
    kept = bytearray()  # (what is kept before the last chunk left out; never a list of pieces:
    start, pos = 0, len(_PNG_SIGNATURE)  # a file of millions of tiny chunks made millions)
    seen_icc = dropped = False
    while pos + 12 <= len(raw):
        length, kind = struct.unpack_from(">I4s", raw, pos)
        end = pos + 12 + length  # (length, type, data, CRC)
        if end > len(raw):
            break
        if kind in _PNG_TEXT or (kind == b"iCCP" and (seen_icc or not _icc_fits(view[pos + 8:end - 4]))):
            kept += view[start:pos]
            start, dropped = end, True
        seen_icc = seen_icc or kind == b"iCCP"
        pos = end
        if kind == b"IEND":
            break
    if not dropped:
        return raw
    kept += view[start:]
    return bytes(kept)


def _icc_fits(data: memoryview) -> bool:
    """Whether an iCCP chunk's profile (name, NUL, method, zlib stream) inflates to at most
    `MAX_ICC_BYTES`, as Pillow checks it (a malformed chunk is kept: Pillow judges it)."""
    name_end = bytes(data[:80]).find(b"\0")
    if name_end < 0:
        return True
    inflater = zlib.decompressobj()
    try:
        inflater.decompress(data[name_end + 2:], MAX_ICC_BYTES)
    except zlib.error:
        return True
    return not inflater.unconsumed_tail


def _open(raw: bytes) -> Image.Image:
    """Open (header only) with the allow-listed decoders; bombs raise DecompressionBombError.
    A PNG's text chunks are left out first (see `_png_pixels`)."""
    from PIL import Image  # noqa: PLC0415 - Pillow loads lazily (see the module docstring)
    raw = _png_pixels(raw)
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            im = Image.open(io.BytesIO(raw), formats=DECODERS)
        except (Image.DecompressionBombWarning, Image.DecompressionBombError) as exc:
            # (Pillow's own limits, 89 and 179 megapixels, said "exceeds limit of 178956970
            # pixels": ours is 40, and the README says so)
            found = re.search(r"\((\d+) pixels\)", str(exc))
            size = f"{int(found.group(1)) / 1e6:.0f} megapixels" if found else "its size"
            raise Image.DecompressionBombError(
                f"the header says {size}, over the limit of {MAX_PIXELS / 1e6:.0f}: a possible "
                "decompression bomb, not decoded") from exc
    width, height = im.size
    if width * height > MAX_PIXELS:
        raise Image.DecompressionBombError(
            f"the header says {width}x{height} ({width * height / 1e6:.0f} megapixels), over the "
            f"limit of {MAX_PIXELS / 1e6:.0f}: a possible decompression bomb, not decoded")
    if width < 1 or height < 1:
        raise ValueError(f"the header says {width}x{height}")
    if im.format in ("JPEG", "MPO") and (scans := _jpeg_scans(raw)) > MAX_SCANS:
        raise Image.DecompressionBombError(
            f"the file has {scans} JPEG scans, over the limit of {MAX_SCANS} (a progressive JPEG has "
            "about 10; each is decoded over the whole picture): a possible decompression bomb, not decoded")
    return im


def _jpeg_scans(raw: bytes) -> int:
    """How many scans (SOS markers) a JPEG has, at most: its segments are walked up to the first
    scan, and every SOS marker after it is counted (entropy-coded data never holds one, since a
    0xFF byte there is followed by 0 or a restart marker; a marker in a later segment's data can
    only make the count larger). 0 when there is no scan."""
    pos = 2  # (after SOI)
    while pos + 4 <= len(raw) and raw[pos] == 0xFF:
        marker = raw[pos + 1]
        if marker == 0xFF:  # (fill bytes before a marker)
            pos += 1
        elif marker == 0x01 or 0xD0 <= marker <= 0xD8:  # (markers without a length)
            pos += 2
        elif marker == 0xDA:
            return raw.count(b"\xff\xda", pos)
        else:
            pos += 2 + struct.unpack_from(">H", raw, pos + 2)[0]
    return 0


def probe(raw: bytes) -> SourceInfo:
    """Hash the bytes and read the header: format, stored size, EXIF orientation. Decodes nothing."""
    from PIL import Image  # noqa: PLC0415 - Pillow loads lazily (see the module docstring)
    digest = hashlib.blake2b(raw, digest_size=16).hexdigest()
    try:
        # (what Pillow warns of, "Corrupt EXIF data. Expecting to read 12 bytes but only got 0.",
        # went to the build's stderr as a Python warning naming neither the record nor the image)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            im = _open(raw)
            orientation = _orientation(im)
    except Image.UnidentifiedImageError:
        return SourceInfo(digest, 0, 0, (0, 0), _sniff(raw))
    except Image.DecompressionBombError as exc:
        return SourceInfo(digest, 0, 0, (0, 0), str(exc))
    except Exception as exc:  # noqa: BLE001 - whatever a decoder raises on hostile bytes is this file's problem
        return SourceInfo(digest, 0, 0, (0, 0), f"the file is corrupt ({type(exc).__name__}: {exc})")
    width, height = im.size
    notice = _notice(caught)
    if im.format == "TIFF":
        # Pillow turns a TIFF upright as it loads it, and gives its size upright already
        # (turned again here, a TIFF of orientation 6 came out on its side, sized wrong)
        stored = (height, width) if orientation in (5, 6, 7, 8) else (width, height)
        return SourceInfo(digest, width, height, stored, notice=notice)
    if orientation in (5, 6, 7, 8):
        return SourceInfo(digest, height, width, (width, height), orientation=orientation, notice=notice)
    return SourceInfo(digest, width, height, (width, height), orientation=orientation, notice=notice)


def _notice(caught: Sequence[warnings.WarningMessage]) -> str:
    """The warning for a usable file of what Pillow warned of while reading its header (the
    first message, and how many more there were), or ''. Only its warnings about the file count
    (`UserWarning`, Pillow's default): a `DeprecationWarning` is about code, never a file's problem."""
    messages = list(dict.fromkeys(" ".join(str(w.message).split()) for w in caught
                                  if issubclass(w.category, UserWarning)))
    if not messages:
        return ""
    more = f" and {len(messages) - 1} more" if len(messages) > 1 else ""
    return f"the file's metadata is damaged ({messages[0][:200]}{more}); the picture is used without it"


def _orientation(im: Image.Image) -> int:
    """EXIF orientation from the header only (``getexif`` would decode a PNG to find a late eXIf)."""
    from PIL import Image  # noqa: PLC0415 - Pillow loads lazily (see the module docstring)
    if im.format in ("JPEG", "MPO", "WEBP", "TIFF"):
        exif = im.getexif()
    elif im.info.get("exif"):
        exif = Image.Exif()
        exif.load(im.info["exif"])
    else:
        return 1
    value = exif.get(_ORIENTATION, 1)
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def _to_srgb(im: Image.Image) -> Image.Image:
    """Convert to RGB or RGBA, through the embedded ICC profile when there is one.

    Every mode a decoder gives: deep grey (16-bit, 32-bit, float) is brought to 8 bits
    (`_to_8bit`); CIELAB goes through Pillow's colour-managed conversion (LAB D50 -> sRGB);
    CMYK without a profile, YCbCr, HSV and RGBX by Pillow's conversion; premultiplied alpha
    (La, RGBa) is unpremultiplied; a colour key (PNG tRNS) becomes alpha.
    """
    if im.mode in _DEEP:
        im = _to_8bit(im)
    elif im.mode in ("P", "PA"):
        im = im.convert("RGBA" if im.mode == "PA" or "transparency" in im.info else "RGB")
    elif im.mode == "1":
        im = im.convert("L")
    elif im.mode == "La":  # (a TIFF's associated alpha; Pillow converts La to LA only)
        im = im.convert("LA")
    if im.mode in ("RGB", "L") and "transparency" in im.info:
        # A PNG colour key (tRNS: "this colour is transparent"): it came out as that colour
        # (a logo on black) instead of transparent.
        im = im.convert("RGBA" if im.mode == "RGB" else "LA")
    alpha = im.mode in ("RGBA", "LA", "RGBa")
    target = "RGBA" if alpha else "RGB"
    icc = im.info.get("icc_profile")
    converted = _icc_to_srgb(im, icc) if icc and im.mode in ("RGB", "RGBA", "CMYK", "L") else None
    if converted is not None:
        im = converted
    elif im.mode != target:
        im = im.convert(target)
    if im.mode == "RGBA" and im.getchannel("A").getextrema() == (255, 255):
        im = im.convert("RGB")  # an alpha channel that hides nothing
    return im


_DEEP = ("I;16", "I;16B", "I;16L", "I;16N", "I", "F")
"""Modes of more than 8 bits per sample: grey of 16 bits, 32-bit integers, 32-bit floats."""


def _to_8bit(im: Image.Image) -> Image.Image:
    """An 8-bit grey ("L") image of a deep one, each value scaled from the range it is in.

    16-bit modes span 0-65535 (0-4095 for a 12-bit TIFF, which Pillow gives as 16-bit without
    scaling it: it came out nearly black). Others say nothing of their range, so their extremes decide:
    floats within 0-1 (the usual convention) or 0-255, integers within 0-255 or 0-65535 are
    scaled from that range; anything else (negative values, HDR floats) is stretched from its
    minimum to its maximum. (Pillow's own conversion clips: a float image of 0-1 came out
    black, a 32-bit one of 0-255 nearly so.) A 16-bit PNG's colour key (tRNS) is matched on
    the 16-bit values, and comes out as an "LA" image.
    """
    from PIL import ImageMath  # noqa: PLC0415 - Pillow loads lazily (see the module docstring)
    key = im.info.get("transparency") if im.mode.startswith("I;16") else None
    deep = im if im.mode == "F" else im.convert("I")
    if im.mode.startswith("I;16"):
        low, high = 0.0, float(2 ** _bits(im) - 1)
    else:
        low, high = (float(v) for v in deep.getextrema())
        if not (math.isfinite(low) and math.isfinite(high)):
            low, high = 0.0, 1.0  # (NaN or infinite samples: the float convention)
        elif low >= 0 and high <= 1 and im.mode == "F":
            low, high = 0.0, 1.0
        elif low >= 0 and high <= 255:
            low, high = 0.0, 255.0
        elif low >= 0 and high <= 65535 and im.mode == "I":
            low, high = 0.0, 65535.0
    scale = 255 / (high - low) if high > low else 1.0
    grey = deep.point(lambda v: (v - low) * scale + 0.5).convert("L")
    grey.info = {k: v for k, v in im.info.items() if k != "transparency"}
    if isinstance(key, int):
        grey.putalpha(ImageMath.lambda_eval(lambda names: (names["im"] != key) * 255, im=deep).convert("L"))
    return grey


def _bits(im: Image.Image) -> int:
    """Bits per sample of a 16-bit mode image: a TIFF's BitsPerSample tag (12 is one), else 16."""
    tags = getattr(im, "tag_v2", None) if im.format == "TIFF" else None
    found = tags.get(258) if tags is not None else None  # (BitsPerSample, one value per sample)
    bits = found[0] if isinstance(found, tuple) and found else 16
    return bits if isinstance(bits, int) and 1 <= bits <= 16 else 16


def _icc_to_srgb(im: Image.Image, icc: bytes) -> Image.Image | None:
    """Colours through the embedded profile into sRGB; None when the profile is unusable
    (the caller then falls back to Pillow's plain conversion, which is close enough)."""
    from PIL import ImageCms  # noqa: PLC0415 - Pillow loads lazily (see the module docstring)
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        srgb = ImageCms.createProfile("sRGB")
        mode = "RGBA" if im.mode == "RGBA" else "RGB"
        return ImageCms.profileToProfile(im, source, srgb, outputMode=mode)
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
        return None


def _decode(raw: bytes, info: SourceInfo, largest: int) -> Image.Image:
    """The first frame, upright, in sRGB, reduced early (JPEG draft) towards ``largest`` width."""
    from PIL import Image  # noqa: PLC0415 - Pillow loads lazily (see the module docstring)
    im = _open(raw)
    im.seek(0)
    if im.format == "JPEG":
        scale = largest / info.width
        sw, sh = info.stored
        im.draft(None, (math.ceil(sw * scale), math.ceil(sh * scale)))
    im.load()
    if info.orientation in _TRANSPOSE:
        im = im.transpose(Image.Transpose[_TRANSPOSE[info.orientation]])
    im = _to_srgb(im)
    im.info = {}
    return im


def _encode(im: Image.Image, fmt: str, quality: int) -> bytes:
    from PIL import Image  # noqa: PLC0415 - Pillow loads lazily (see the module docstring)
    buffer = io.BytesIO()
    if fmt == "jpeg":
        if im.mode == "RGBA":
            flat = Image.new("RGB", im.size, (255, 255, 255))
            flat.paste(im, mask=im.getchannel("A"))
            im = flat
        im.save(buffer, "JPEG", quality=quality, progressive=True, optimize=True)
    elif fmt == "webp":
        im.save(buffer, "WEBP", quality=quality, method=WEBP_METHOD)
    elif fmt == "avif":
        im.save(buffer, "AVIF", quality=quality, speed=AVIF_SPEED)
    else:
        im.save(buffer, "PNG", compress_level=6)
    return buffer.getvalue()


def make_thumbnails(raw: bytes, info: SourceInfo, thumbs: Sequence[Thumb], quality: int) -> dict[str, bytes]:
    """Encode ``thumbs`` of one source; each width is resampled from the next larger one."""
    from PIL import Image  # noqa: PLC0415 - Pillow loads lazily (see the module docstring)
    largest = max(t.width for t in thumbs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # (what `probe` heard again, reported from there: `SourceInfo.notice`)
        im = _decode(raw, info, largest)
    if (shown := _shown_height(info)) < info.height:  # (its top part: see `plan_thumbs`)
        im = im.crop((0, 0, im.width, max(1, round(im.height * shown / info.height))))
    made: dict[str, bytes] = {}
    current = im
    for width in sorted({t.width for t in thumbs}, reverse=True):
        group = [t for t in thumbs if t.width == width]
        size = (width, group[0].height)
        if current.size != size:
            current = current.resize(size, Image.Resampling[RESAMPLE], reducing_gap=2.0)
        for thumb in group:
            made[thumb.path] = _encode(current, thumb.format, quality)
    return made


def _store_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _looks_like(data: bytes, fmt: str) -> bool:
    """Whether stored bytes start like a file of ``fmt`` (a store is a cache: never trusted blindly)."""
    if fmt == "webp":
        return data[:4] == b"RIFF" and data[8:12] == b"WEBP"
    if fmt == "jpeg":
        return data[:3] == b"\xff\xd8\xff"
    if fmt == "png":
        return data[:8] == b"\x89PNG\r\n\x1a\n"
    return data[4:8] == b"ftyp"  # avif


def _read(path: Path) -> bytes:
    # (opened without blocking, and only when regular: a named pipe or a link to /dev/zero put in
    # the place of a cache file after the scan made the worker wait forever, or read 40 MB of zeros)
    handle, st = open_regular(path)
    with handle:
        # (refused by its size before a byte is read: a 2 GB file was read 64 MB deep at every
        # build before it was refused; read to the limit at most, in case it grew since)
        raw = handle.read(MAX_BYTES + 1) if st.st_size <= MAX_BYTES else b""
    if st.st_size > MAX_BYTES or len(raw) > MAX_BYTES:
        raise ValueError(f"the file is larger than {MAX_BYTES // (1024 * 1024)} MB; not read")
    return raw


def _process(job: _Job, task: _Task) -> _Done:
    """Make sure every thumbnail of one source is in the output or staged; encode what is missing."""
    from PIL import Image  # noqa: PLC0415 - Pillow loads lazily (see the module docstring)
    raw: bytes | None = None
    info = task.info
    if info is None:
        try:
            raw = _read(task.path)
        except (OSError, ValueError) as exc:
            return _Done(task.name, SourceInfo("", 0, 0, (0, 0), f"the file cannot be read ({exc})"))
        info = probe(raw)
        if info.error:
            return _Done(task.name, info)
    kept, staged, missing = [], [], []
    reused = 0
    for thumb in plan_thumbs(info, job.params):
        record = job.previous.get(thumb.path)
        if intact(job.out, thumb.path, record):
            kept.append((thumb.path, record))
            reused += 1
            continue
        try:
            data = (job.store / thumb.path).read_bytes()
        except OSError:
            data = b""
        if not _looks_like(data, thumb.format):  # absent, or damaged behind our back
            missing.append(thumb)
            continue
        digest, changed = stage(job.out, job.staging, thumb.path, data, record)
        staged.append((thumb.path, digest, changed))
        reused += 1
    if missing:
        try:
            if raw is None:
                raw = _read(task.path)
            if hashlib.blake2b(raw, digest_size=16).hexdigest() != info.digest:
                return _process(job, _Task(task.name, task.path, None))  # changed under us
            made = make_thumbnails(raw, info, missing, job.params.quality)
        except Image.DecompressionBombError as exc:
            return _Done(task.name, SourceInfo(info.digest, 0, 0, info.stored, str(exc)))
        except Exception as exc:  # noqa: BLE001 - reported as this image's problem, never a crash
            reason = "truncated" if "truncated" in str(exc) else "corrupt"
            return _Done(task.name, SourceInfo(info.digest, 0, 0, info.stored,
                                               f"the file is {reason} ({type(exc).__name__}: {exc})"))
        for path, data in made.items():
            with contextlib.suppress(OSError):  # the store is a cache: unwritable, it is only slower
                _store_write(job.store / path, data)
            digest, changed = stage(job.out, job.staging, path, data, job.previous.get(path))
            staged.append((path, digest, changed))
    return _Done(task.name, info, tuple(kept), tuple(staged), reused, len(missing))


_worker_job: dict[str, _Job] = {}
"""Per worker process only: the job it inherited at fork time."""


def _worker_init(job: _Job) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    _worker_job["job"] = job


def _worker_run(task: _Task) -> _Done:
    return _timed(_worker_job["job"], task)


def _timed(job: _Job, task: _Task) -> _Done:
    """`_process` in a worker, which ends (``SIGALRM``) when it takes longer than `IMAGE_SECONDS`."""
    signal.signal(signal.SIGALRM, signal.SIG_DFL)
    signal.setitimer(signal.ITIMER_REAL, IMAGE_SECONDS)
    try:
        return _process(job, task)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)


def _run(job: _Job, tasks: list[_Task], jobs: int) -> Iterable[_Done]:
    """Process ``tasks`` on ``jobs`` forked workers (each of a few in a child of its own).

    Decoders are C code fed untrusted bytes: if one kills its worker, or takes longer than
    `IMAGE_SECONDS` (its worker is then ended), the pool breaks, and every task not finished
    yet is run again alone, each in a child of its own, so only the file that kills its process
    is lost (as a warning) and the build never hangs. Never in
    the build's own process: with ``-j 1`` or a few images (a rebuild after one edit, in
    ``digest serve``) such a file killed the build, or the server, and every build after it.
    """
    if not tasks:  # (a rebuild after an edit, mostly: no plugin import, no fork)
        return
    import multiprocessing  # (here: a build with no image to make does without, 30 ms of imports)
    from concurrent.futures import ProcessPoolExecutor, as_completed
    from concurrent.futures.process import BrokenProcessPool

    if "fork" not in multiprocessing.get_all_start_methods():
        for task in tasks:
            yield _process(job, task)
        return
    # Every format plugin is imported here, before forking: a child of a process with threads
    # (`digest serve`) that imports one itself can wait forever for an import lock a thread
    # held at the fork.
    from PIL import Image  # noqa: PLC0415 - Pillow loads lazily (see the module docstring)

    Image.init()
    context = multiprocessing.get_context("fork")
    if len(tasks) < _SERIAL_LIMIT:  # (a pool costs more than a fork or two)
        for task in tasks:
            yield _isolated(job, task, context)
        return
    finished: set[str] = set()
    pool = ProcessPoolExecutor(max(1, min(jobs, len(tasks))), mp_context=context,
                               initializer=_worker_init, initargs=(job,))
    try:
        for future in as_completed([pool.submit(_worker_run, task) for task in tasks]):
            done = future.result()
            finished.add(done.name)
            yield done
    except BrokenProcessPool:
        for task in tasks:
            if task.name not in finished:
                yield _isolated(job, task, context)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)  # on Ctrl-C: only running images finish


def _isolated(job: _Job, task: _Task, context: Any) -> _Done:
    """One task in a child process of its own; a child that dies marks its file unusable."""
    receive, send = context.Pipe(duplex=False)
    child = context.Process(target=_isolated_main, args=(job, task, send))
    child.start()
    send.close()
    try:
        try:
            done = receive.recv()
        except EOFError:
            done = None
        child.join()
    except BaseException:  # Ctrl-C: the child stops with the build
        child.kill()
        child.join()
        raise
    finally:
        receive.close()
    if isinstance(done, BaseException):  # (a full disk while staging: the build's error, not the file's)
        raise done
    if done is None:
        digest = task.info.digest if task.info is not None else ""
        why = (f"making its thumbnails took longer than {IMAGE_SECONDS:g} seconds (a file made to be slow to decode?)"
               if child.exitcode == -signal.SIGALRM else
               f"the image decoder crashed on this file (exit code {child.exitcode})")
        return _Done(task.name, SourceInfo(digest, 0, 0, (0, 0), f"{why}; it is not read again until it changes"))
    return done


def _isolated_main(job: _Job, task: _Task, send: Any) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's (a child it killed
    try:                                          # would mark its image as crashing the decoder)
        done: Any = _timed(job, task)
    except Exception as exc:  # noqa: BLE001 - handed to the parent, which raises it
        done = exc  # (`_process` reports what is wrong with the file; what is left is the build's)
    try:
        send.send(done)
    except Exception:  # noqa: BLE001 - an exception that cannot be pickled: its text
        send.send(OSError(f"{type(done).__name__}: {done}"))
    send.close()


# --------------------------------------------------------------------------- the phase


def _scan(folder: Path) -> dict[str, list[str]]:
    """Cache file names by stem (the sha256 of the URL; a name without an extension is its own
    stem: the bytes decide the format, and a cache tool that drops extensions is not wrong)."""
    names: dict[str, list[str]] = {}
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return names
    for entry in entries:
        if not entry.name.startswith("."):
            names.setdefault(entry.name.partition(".")[0].lower(), []).append(entry.name)
    return names


IMAGE_SUFFIXES = frozenset({"jpg", "jpeg", "jpe", "jfif", "pjpeg", "png", "apng", "gif", "webp", "avif", "bmp",
                            "tif", "tiff"})
"""Extensions tried first when several cache files share a URL's hash (the bytes still decide the
format): a cache tool's side file, ``<hash>.headers`` or ``<hash>.etag``, hid the image."""


def _cache_folder(site: Path, folder: Path) -> tuple[Path | None, dict[str, list[str]]]:
    """The image cache resolved, and its file names by stem; None (and no names) when
    ``content/images`` is a symbolic link leading out of the site, which `digest.load` says it
    does not follow (thumbnails were made from the files there all the same)."""
    root = real_path(folder) or folder  # (a loop: nothing is listed in it either)
    if folder.is_symlink():
        site_root = real_path(site) or site
        if root != site_root and site_root not in root.parents:
            return None, {}
    return root, _scan(folder)


def _locate(folder: Path, root: Path | None, names: dict[str, list[str]], url: str) -> tuple[list[Path], str]:
    """The cache files of ``url`` (resolved, inside the cache), best first, or none and why not:
    the usable ones of the files named by its hash, those with an image extension first (the
    images phase takes the next when one turns out not to be an image: a cache tool's corrupt
    ``<hash>.gif`` hid a good ``<hash>.jpg``). A URL with white space around it or a tab or
    line break inside (a scraper's wrapped column, a block scalar's final line break) is looked
    for as written, as the contract says, and then as a browser reads it (`url_as_read`), the
    URL a cache tool fetched."""
    if root is None:
        return [], f"content/{IMAGES_DIR} is a symbolic link out of the site; not read"
    stem = hashlib.sha256(url.encode("utf-8")).hexdigest()
    found = names.get(stem, ())
    read = url_as_read(url) if not url.isprintable() or url[:1].isspace() or url[-1:].isspace() else url
    read_stem = hashlib.sha256(read.encode("utf-8")).hexdigest() if read != url else stem
    if not found and read_stem != stem:
        found = names.get(read_stem, ())
    candidates = sorted(found, key=lambda n: (n.partition(".")[2].lower() not in IMAGE_SUFFIXES, n))
    if not candidates:
        also = (f" (nor {read_stem}.*, the hash of the URL as a browser reads it, its tabs and line breaks"
                f" removed)" if read_stem != stem else "")
        return [], f"isCached is true but there is no file content/{IMAGES_DIR}/{stem}.*{also}"
    usable, first_reason = [], ""
    for name in candidates:
        path, reason = _usable(folder / name, root, name)
        if path is not None:
            usable.append(path)
        first_reason = first_reason or reason
    return usable, "" if usable else first_reason


def _usable(path: Path, root: Path, name: str) -> tuple[Path | None, str]:
    """``path`` (resolved) when it is a regular file inside the cache, else None and why not."""
    if path.is_symlink():
        real = real_path(path)
        if real is None:
            return None, f"content/{IMAGES_DIR}/{name} is a symbolic link loop; not read"
        if root not in real.parents:
            return None, f"content/{IMAGES_DIR}/{name} is a symbolic link out of the image cache; not read"
        if not os.path.lexists(real):  # ("not a regular file" of a name `ls` lists as a file)
            return None, f"content/{IMAGES_DIR}/{name} is a symbolic link to nothing (a broken link)"
        path = real
    if not path.is_file():
        return None, f"content/{IMAGES_DIR}/{name} is not a regular file" + (" (a folder)" if path.is_dir() else "")
    return path, ""


def build_images(site: Path, articles: Sequence[Article], config: Config, drafts: bool,
                 out: Path, staging: Staging, previous: Mapping[str, OutputRecord],
                 old_state: Mapping[str, tuple] | None, jobs: int,
                 progress: Callable[[int, int], None] | None = None) -> ImageSet:
    """The images phase: locate, probe (only new files), plan and make every missing thumbnail
    (``progress(done, total)`` follows the image files probed or encoded)."""
    started = time.perf_counter()
    began_ns = time.time_ns()  # (before any picture is stat'ed or read: see `digest.cache.racy`)
    params = params_of(config)
    folder = site / "content" / IMAGES_DIR
    root, names = _cache_folder(site, folder)
    old_state = old_state or {}
    result = ImageSet()
    if "avif" in params.formats and not _pillow_has("avif"):
        params = _Params(params.widths, tuple(f for f in params.formats if f != "avif") or ("webp",),
                         params.quality)
        result.problems.append(Problem(
            "digest.toml", None, "thumbnail_formats",
            "avif needs Pillow built with libavif (the Pillow >= 11.3 wheels are); "
            "AVIF thumbnails are not made", "warning"))

    uses = _uses(articles, config, drafts)
    infos: dict[str, SourceInfo] = {}
    file_of: dict[str, str] = {}
    failures: dict[str, str] = {}
    files: dict[str, list[Path]] = {}
    for url in sorted(uses):
        paths, why = _locate(folder, root, names, url)
        if paths:
            files[url] = paths
        else:
            failures[url] = why

    job = _Job(params, out, staging, site / CACHE_DIR, previous)
    reused = encoded = 0
    # Each URL takes its first file. One whose file is no image after all (its probe or its
    # decoding failed, now or at a build before: the images state keeps that) takes its next
    # file in another round, until one works or none is left (rounds are rare: a hash with
    # two files is).
    tried = dict.fromkeys(files, 0)
    pending = list(files)
    while pending:
        tasks: dict[str, _Task] = {}
        kept_before = len(result.kept)
        for url in pending:
            path = files[url][tried[url]]
            file_of[url] = path.name
            if path.name not in tasks and path.name not in infos:
                found = _triage(path, old_state, params, out, previous, result)
                if isinstance(found, _Task):
                    tasks[path.name] = found
                else:
                    infos[path.name] = found

        reused += len(result.kept) - kept_before
        for count, done in enumerate(_run(job, list(tasks.values()), jobs), 1):
            if progress:
                progress(count, len(tasks))
            infos[done.name] = done.info
            task = tasks[done.name]
            if task.info is None or done.info is not task.info:
                try:
                    st = os.stat(task.path)
                    # A picture modified moments before this build (or during it) may be written
                    # again with the same size, mtime and inode: kept with no mtime, it is probed again.
                    mtime = -1 if racy(st.st_mtime_ns, began_ns) else st.st_mtime_ns
                    result.state[done.name] = (st.st_size, mtime, st.st_ino, done.info)
                except OSError:
                    result.state.pop(done.name, None)
            result.kept.update(done.kept)
            for path, digest, changed in done.staged:
                result.staged[path] = (digest, changed)
            reused += done.reused
            encoded += done.encoded
        pending = [url for url in pending
                   if (info := infos.get(file_of[url])) is not None and info.error and tried[url] + 1 < len(files[url])]
        for url in pending:
            tried[url] += 1
    for url, paths in files.items():  # (none of its files works: the first one's problem is reported)
        if tried[url] and (info := infos.get(file_of[url])) is not None and info.error:
            file_of[url] = paths[0].name

    planned = 0
    failed_files = set()
    used_files = set()
    lines = _Lines(site, old_state, result.state)
    for url in sorted(uses):
        info = infos.get(file_of.get(url, ""))
        reason = failures.get(url) or (info.error if info is not None else "")
        result.problems += _problems(url, uses[url], reason, info, lines)
        if reason or info is None:
            failed_files.add(file_of.get(url, url))
            continue
        thumbs = plan_thumbs(info, params)
        planned += len(thumbs)
        used_files.add(file_of[url])
        result.mapping[url] = image_entry(thumbs, config.base_path)
    _prune_store(job.store, set(result.kept) | set(result.staged))
    result.counts = ThumbnailCounts(sources=len(used_files), planned=planned, reused=reused,
                                    encoded=encoded, failed=len(failed_files),
                                    seconds=time.perf_counter() - started)
    return result


def _triage(path: Path, old_state: Mapping[str, tuple], params: _Params, out: Path,
            previous: Mapping[str, OutputRecord], result: ImageSet) -> SourceInfo | _Task:
    """What one source file needs: its `SourceInfo` when nothing is to be made (it cannot be
    read, the images state knows it unusable, or its thumbnails are in place: those are kept in
    ``result``), else the task that makes them. What the state knows of it goes to ``result``."""
    try:
        st = os.stat(path)
    except OSError as exc:
        return SourceInfo("", 0, 0, (0, 0), f"the file cannot be read ({exc})")
    stamp = (st.st_size, st.st_mtime_ns, st.st_ino)
    entry = old_state.get(path.name)
    info = entry[3] if entry is not None and tuple(entry[:3]) == stamp else None
    if info is None:
        return _Task(path.name, path, None)
    result.state[path.name] = (*stamp, info)
    if info.error:
        return info
    thumbs = plan_thumbs(info, params)
    if not all(intact(out, t.path, previous.get(t.path)) for t in thumbs):
        return _Task(path.name, path, info)
    for t in thumbs:
        result.kept[t.path] = previous[t.path]
    return info


def check_images(site: Path, articles: Sequence[Article], config: Config,
                 drafts: bool = False) -> list[Problem]:
    """The image problems a build would report, from file headers only: nothing is decoded or
    written (so a file truncated after an intact header is found only by a build)."""
    folder = site / "content" / IMAGES_DIR
    root, names = _cache_folder(site, folder)
    uses = _uses(articles, config, drafts)
    infos: dict[str, SourceInfo] = {}
    problems: list[Problem] = []
    lines = _Lines(site)
    for url in sorted(uses):
        paths, reason = _locate(folder, root, names, url)
        for path in paths:  # (the first whose header is an image's, as a build takes it)
            if path.name not in infos:
                try:
                    infos[path.name] = probe(_read(path))
                except (OSError, ValueError) as exc:
                    infos[path.name] = SourceInfo("", 0, 0, (0, 0), f"the file cannot be read ({exc})")
            if not infos[path.name].error:
                break
        else:
            path = paths[0] if paths else None
        info = infos.get(path.name) if path is not None else None
        problems += _problems(url, uses[url], reason or (info.error if info else ""), info, lines)
    return problems


def _uses(articles: Sequence[Article], config: Config, drafts: bool) -> dict[str, list[tuple[Article, int]]]:
    """Every cached image URL the site shows, with the (record, index) pairs that show it."""
    uses: dict[str, list[tuple[Article, int]]] = {}
    for article in select(articles, config, drafts):
        for index, ref in enumerate(article.images):
            if ref.is_cached:
                uses.setdefault(ref.url, []).append((article, index))
    return uses


class _Lines:
    """The lines of records' image entries, for warnings: a record with one is read again (see
    `digest.load.field_locator`) once, and the answer kept in the images state (``known``, the
    last build's; ``keep``, this build's) by its content hash: a site with thousands of records
    whose images are missing read them all again at every build."""

    def __init__(self, site: Path, known: Mapping[Any, Any] | None = None, keep: dict[Any, Any] | None = None):
        self.site = site
        self.known = known or {}
        self.keep = keep if keep is not None else {}
        self.locators: dict[str, Callable[[tuple[Any, ...]], int | None]] = {}

    def of(self, article: Article, position: int) -> int | None:
        key = ("lines", article.source, article.content_hash)  # (no cache file is named by a tuple)
        lines = self.keep.get(key)
        if lines is None:
            found = self.known.get(key)
            lines = self.keep[key] = dict(found) if isinstance(found, dict) else {}
        if position not in lines:
            locate = self.locators.get(article.source)
            if locate is None:
                locate = self.locators[article.source] = field_locator(self.site / article.source)
            lines[position] = locate(("images", position))
        return lines[position]


_SHOWN_ESCAPED = {ord("\t"): "\\t", ord("\n"): "\\n", ord("\r"): "\\r"}
"""The characters of an image URL a warning shows escaped (`digest.load` refused other controls)."""


def _problems(url: str, uses: Sequence[tuple[Article, int]], reason: str,
              info: SourceInfo | None, lines: _Lines) -> list[Problem]:
    """Warnings for one image URL, one per record entry that uses it (the URL shown without the
    credentials it may hold: build logs are read by others; a tab or line break in it as ``\\t``,
    ``\\n``)."""
    problems = []
    url = without_credentials(url) if "@" in url else url
    if not url.isprintable():  # (a tab or line break inside: shown as escapes, on the warning's one line)
        url = url.translate(_SHOWN_ESCAPED)
    for article, index in uses:
        position = article.images[index].position
        where = f"images[{position}]"
        if reason or info is None:
            # (the first image is a card's and the hero: a placeholder stands in for it; the others,
            # below the note, show only what there is)
            shown = "shown as a placeholder" if index == 0 else "left out of the page"
            problems.append(Problem(article.source, lines.of(article, position), where,
                                    f"{url}: {reason}; {shown}", "warning"))
            continue
        if info.notice:
            problems.append(Problem(article.source, lines.of(article, position), where,
                                    f"{url}: {info.notice}", "warning"))
        ref = article.images[index]
        if ref.width is not None and ref.height is not None \
                and (ref.width, ref.height) not in (info.stored, (info.width, info.height)):
            problems.append(Problem(article.source, lines.of(article, position), where,
                                    f"{url}: the record says {ref.width}x{ref.height} but the file "
                                    f"is {info.width}x{info.height}; using the file's size", "warning"))
    return problems


def _prune_store(store: Path, claimed: set[str]) -> None:
    """Remove store files no record claims any more (the store is a cache of this site only)."""
    for dirpath, _dirnames, filenames in os.walk(store / "thumbs"):
        for name in filenames:
            path = Path(dirpath) / name
            if path.relative_to(store).as_posix() not in claimed:
                path.unlink(missing_ok=True)
