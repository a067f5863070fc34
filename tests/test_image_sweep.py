"""A hostile-input sweep of the image cache and thumbnails: each case a fix with its test."""

from __future__ import annotations

import io
import struct
import time

from PIL import Image

from digest.build import build
from digest.images import MAX_SCANS, _jpeg_scans
from tests.test_images import URL, image_bytes, one_image_site, thumbs, warnings_of

# --------------------------------------------------------------------------- a JPEG of many scans


def _segments(raw: bytes) -> list[tuple[int, int, int]]:
    """(marker, start, end) of each segment of a JPEG; a scan's segment runs to the end of its data."""
    found, pos = [], 2
    while pos < len(raw):
        marker = raw[pos + 1]
        if marker == 0xD9:
            found.append((marker, pos, pos + 2))
            break
        end = pos + 2 + struct.unpack_from(">H", raw, pos + 2)[0]
        if marker == 0xDA:  # (entropy-coded data: 0xFF is followed by 0 or a restart marker)
            end = raw.index(b"\xff", end)
            while raw[end + 1] == 0 or 0xD0 <= raw[end + 1] <= 0xD7:
                end = raw.index(b"\xff", end + 2)
        found.append((marker, pos, end))
        pos = end
    return found


def scan_bomb(size: int, copies: int) -> bytes:
    """A progressive grey JPEG whose first AC scan is repeated ``copies`` times more: libjpeg warns
    of a "bogus progression" and decodes each copy over the whole picture."""
    raw = image_bytes("JPEG", size=(size, size), mode="L", color=128, progressive=True)
    segments = _segments(raw)
    for marker, start, end in segments:
        components = raw[start + 4]
        if marker == 0xDA and raw[start + 5 + 2 * components] > 0 and raw[start + 7 + 2 * components] >> 4 == 0:
            scan = raw[start:end]
            break
    end_of_image = segments[-1][1]
    return raw[:end_of_image] + scan * copies + raw[end_of_image:]


def test_a_jpeg_of_thousands_of_scans_is_a_warning_not_minutes_of_decoding(make_site):
    # A 731 kB JPEG of 6000x6000 pixels repeating one scan 10,000 times took 142 s to decode (36
    # megapixels: under the pixel limit); libjpeg sets no limit on scans.
    site = one_image_site(make_site, scan_bomb(64, 400), width=64, height=64)
    started = time.perf_counter()
    result = build(site, jobs=1)
    assert time.perf_counter() - started < 30
    [line] = warnings_of(result)
    assert line.startswith(f"content/a.md:4: warning: images[0]: {URL}: the file has 406 JPEG scans, "
                           f"over the limit of {MAX_SCANS} ")
    assert line.endswith("a possible decompression bomb, not decoded; shown as a placeholder")
    assert thumbs(site) == {}


def test_jpeg_scans_are_counted_from_the_first_scan_on():
    assert _jpeg_scans(image_bytes("JPEG", size=(64, 64))) == 1
    assert _jpeg_scans(image_bytes("JPEG", size=(64, 64), progressive=True)) == 10
    assert _jpeg_scans(scan_bomb(64, 5)) == 6 + 5
    # (a scan's marker in the EXIF before the first scan is not one: an embedded thumbnail)
    exif = Image.Exif()
    exif[0x010E] = "\xff\xda" * 50  # (ImageDescription)
    assert _jpeg_scans(image_bytes("JPEG", size=(64, 64), exif=exif.tobytes())) == 1
    assert _jpeg_scans(b"\xff\xd8\xff\xd9") == 0
    buffer = io.BytesIO()
    Image.new("CMYK", (64, 64)).save(buffer, "JPEG", progressive=True)
    assert _jpeg_scans(buffer.getvalue()) <= MAX_SCANS
