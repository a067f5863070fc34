"""A hostile-input sweep of the image cache and thumbnails: each case a fix with its test."""

from __future__ import annotations

import io
import os
import re
import struct
import time
import warnings

import pytest
from PIL import Image

from digest import images
from digest.build import build
from digest.cli import main
from digest.config import Config
from digest.images import (
    MAX_SCANS,
    SourceInfo,
    _jpeg_scans,
    make_thumbnails,
    params_of,
    plan_thumbs,
    probe,
)
from digest.plan import MAX_TALL
from tests.conftest import record
from tests.test_images import (
    URL,
    article_html,
    cache_name,
    image_bytes,
    img_tags,
    near,
    one_image_site,
    thumbs,
    warnings_of,
)

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


# --------------------------------------------------------------------------- extreme proportions


def _sizes_on_page(site) -> list[tuple[int, int, tuple[int, int]]]:
    """(width, height) of every <img> of the article page, with the size of the file it shows."""
    found = []
    for tag in img_tags(article_html(site)):
        src = re.search(r'src="/([^"]+)"', tag).group(1)
        with Image.open(site / "build" / src) as im:
            found.append((int(re.search(r'width="(\d+)"', tag).group(1)),
                          int(re.search(r'height="(\d+)"', tag).group(1)), im.size))
    return found


def _top_and_bottom(size: tuple[int, int], top=(200, 30, 30), bottom=(30, 30, 200)) -> bytes:
    im = Image.new("RGB", size, bottom)
    im.paste(top, (0, 0, size[0], size[1] // 2))
    buffer = io.BytesIO()
    im.save(buffer, "PNG")
    return buffer.getvalue()


@pytest.mark.parametrize("size", [(1, 20000), (400, 20000), (200, 2000)])
def test_a_picture_taller_than_three_widths_gives_thumbnails_of_its_top_part(make_site, size):
    # A 1x20000 picture gave a 1x20000 thumbnail, which WebP cannot hold ("the file is corrupt
    # (ValueError: encoding error 5: Image size exceeds WebP limit of 16383 pixels)"); a 400x20000
    # infographic lost its picture the same way; smaller, it made a card 20,000 times as tall as wide.
    site = one_image_site(make_site, _top_and_bottom(size), "png", *size)
    result = build(site, jobs=1)
    assert warnings_of(result) == []
    made = thumbs(site)
    assert made
    for path in made.values():
        with Image.open(path) as im:
            assert im.height <= MAX_TALL * im.width
            assert near(im.convert("RGB").getpixel((0, im.height - 1)), (200, 30, 30))  # (its top half)
    [(width, height, real)] = _sizes_on_page(site)
    assert (width, height) == real and real[0] == min(size[0], 960)


def test_a_picture_as_wide_as_20000_heights_is_thumbnailed_whole(make_site):
    site = one_image_site(make_site, image_bytes("PNG", size=(20000, 1)), "png", 20000, 1)
    result = build(site, jobs=1)
    assert warnings_of(result) == []
    assert _sizes_on_page(site) == [(960, 1, (960, 1))]


def test_a_cut_thumbnail_has_a_name_of_its_own():
    # (a thumbnail's name promises its bytes: a tall picture's, cut now, needs a new one)
    config = Config()
    tall = plan_thumbs(SourceInfo("ab" * 16, 100, 1000, (100, 1000)), params_of(config))
    whole = plan_thumbs(SourceInfo("ab" * 16, 100, 300, (100, 300)), params_of(config))
    assert [(t.width, t.height) for t in tall] == [(t.width, t.height) for t in whole] == [(100, 300)]
    assert tall[0].path != whole[0].path


@pytest.mark.parametrize(("width", "height", "box"), [(1, 20000, "1 / 3"), (1, None, "1 / 3"),
                                                      (None, 999_999, "16 / 48"), (800, 600, "800 / 600")])
def test_a_placeholder_is_never_taller_than_three_widths(make_site, width, height, box):
    # A record saying 1x20000 (its file missing) made a placeholder box of `aspect-ratio: 1 / 20000`.
    images = f'[{{url: "{URL}", isCached: true{"" if width is None else f", width: {width}"}' \
             f'{"" if height is None else f", height: {height}"}}}]'
    site = make_site({"content/a.md": record("A story", images=images)})
    build(site, jobs=1)
    page = article_html(site)
    assert f'class="hero placeholder" style="aspect-ratio: {box}"' in page
    home = (site / "build" / "index.html").read_text()
    assert f'class="thumb placeholder" style="aspect-ratio: {box}"' in home


# --------------------------------------------------------------------------- what is in the cache's place


@pytest.mark.parametrize(("make", "said"), [
    (lambda path: path.symlink_to(path.parent / "gone.jpg"), "is a symbolic link to nothing (a broken link)"),
    (lambda path: path.mkdir(), "is not a regular file (a folder)"),
    (lambda path: os.mkfifo(path), "is not a regular file"),
])
def test_a_cache_entry_that_is_no_file_says_what_it_is(make_site, make, said):
    # A broken link was "not a regular file", a name `ls` lists as a file.
    site = one_image_site(make_site, None)
    path = site / cache_name(URL, "jpg")
    path.parent.mkdir(parents=True)
    make(path)
    result = build(site, jobs=1)
    assert warnings_of(result) == [f"content/a.md:4: warning: images[0]: {URL}: {cache_name(URL, 'jpg')} "
                                   f"{said}; shown as a placeholder"]


# --------------------------------------------------------------------------- damaged metadata


def _with_app1(jpeg: bytes, payload: bytes) -> bytes:
    return jpeg[:2] + b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload + jpeg[2:]


def test_damaged_exif_is_a_warning_naming_the_record_not_a_python_warning_on_stderr(make_site, capfd):
    # Pillow's "UserWarning: Corrupt EXIF data." went to stderr with its source line
    # (".../PIL/TiffImagePlugin.py:982: UserWarning ... warnings.warn(str(msg))"), naming neither
    # the record nor the image, at every `digest check` too.
    exif = b"Exif\x00\x00II*\x00\x08\x00\x00\x00\xff\xff"  # (an IFD of 65,535 entries, none there)
    site = one_image_site(make_site, _with_app1(image_bytes("JPEG"), exif))
    warning = (f"content/a.md:4: warning: images[0]: {URL}: the file's metadata is damaged (Corrupt EXIF "
               "data. Expecting to read 12 bytes but only got 0.); the picture is used without it")
    for command in (["build", str(site), "-j", "1"], ["build", str(site)], ["check", str(site)]):
        assert main(command) == 0
        err = capfd.readouterr().err
        assert "Warning" not in err and "PIL" not in err
        assert [line for line in err.splitlines() if "warning:" in line] == [warning]
    assert len(thumbs(site)) == 3


# --------------------------------------------------------------------------- colour profiles


def _s15(value: float) -> bytes:
    return struct.pack(">i", round(value * 65536))


def icc_rgb(red, green, blue, gamma: float = 2.2) -> bytes:
    """A minimal ICC v2 RGB display profile: primaries (D50 XYZ), one gamma for every channel."""
    def xyz(x, y, z):
        return b"XYZ \0\0\0\0" + _s15(x) + _s15(y) + _s15(z)
    curve = b"curv\0\0\0\0" + struct.pack(">IH", 1, round(gamma * 256)) + b"\0\0"
    text = b"test\0"
    tags = [(b"desc", b"desc\0\0\0\0" + struct.pack(">I", len(text)) + text + b"\0" * 78),
            (b"wtpt", xyz(0.9642, 1.0, 0.8249)), (b"rXYZ", xyz(*red)), (b"gXYZ", xyz(*green)),
            (b"bXYZ", xyz(*blue)), (b"rTRC", curve), (b"gTRC", curve), (b"bTRC", curve),
            (b"cprt", b"text\0\0\0\0none\0\0\0\0")]
    offset, table, data = 128 + 4 + 12 * len(tags), b"", b""
    for signature, body in tags:
        body += b"\0" * (-len(body) % 4)
        table += signature + struct.pack(">II", offset + len(data), len(body))
        data += body
    header = (struct.pack(">I", offset + len(data)) + b"lcms" + struct.pack(">I", 0x02100000)
              + b"mntrRGB XYZ " + b"\0" * 12 + b"acspAPPL" + b"\0" * 24
              + _s15(0.9642) + _s15(1.0) + _s15(0.8249) + b"lcms" + b"\0" * 44)
    return header + struct.pack(">I", len(tags)) + table + data


_SRGB_PRIMARIES = ((0.4361, 0.2225, 0.0139), (0.3851, 0.7169, 0.0971), (0.1431, 0.0606, 0.7141))
SWAPPED = icc_rgb(_SRGB_PRIMARIES[2], _SRGB_PRIMARIES[1], _SRGB_PRIMARIES[0])
"""sRGB's primaries with red and blue swapped: a pixel (255, 0, 0) under it is sRGB's blue."""


@pytest.mark.parametrize(("fmt", "mode", "color"), [
    ("JPEG", "RGB", (255, 0, 0)), ("PNG", "RGB", (255, 0, 0)), ("PNG", "RGBA", (255, 0, 0, 200)),
    ("WEBP", "RGB", (255, 0, 0)), ("TIFF", "RGB", (255, 0, 0)), ("PNG", "P", 0)])
def test_a_picture_is_converted_to_srgb_through_its_own_profile(fmt, mode, color):
    # (a regression guard for the sweep: a wide-gamut or unusual profile is applied, not dropped)
    im = Image.new(mode, (64, 48), color)
    if mode == "P":
        im.putpalette([255, 0, 0] * 256)
    buffer = io.BytesIO()
    im.save(buffer, fmt, icc_profile=SWAPPED)
    raw = buffer.getvalue()
    info = probe(raw)
    [data] = make_thumbnails(raw, info, plan_thumbs(info, params_of(Config())), 80).values()
    with Image.open(io.BytesIO(data)) as thumb:
        assert "icc_profile" not in thumb.info
        assert near(thumb.convert("RGB").getpixel((10, 10)), (0, 0, 255))


def test_a_warning_about_code_is_not_said_of_the_file(monkeypatch):
    # (everything Pillow warned of while reading a header was the file's "damaged metadata",
    # a DeprecationWarning about a Pillow API too)
    real = images._orientation

    def deprecated(im):
        warnings.warn("Image.getexif is deprecated", DeprecationWarning, stacklevel=1)
        return real(im)

    monkeypatch.setattr(images, "_orientation", deprecated)
    assert probe(image_bytes("JPEG")).notice == ""


# --------------------------------------------------------------------------- a record's image size


def test_an_image_size_that_is_no_number_is_named_as_given(make_site):
    # `width: wide` was "got a string", which sends a curator looking for quotes (as `quality` once did)
    images = '[{url: "https://img.example.com/a.jpg", width: wide, height: "", isCached: false}]'
    result = build(make_site({"content/a.md": record("A story", images=images)}), jobs=1)
    assert warnings_of(result) == [
        "content/a.md:4: warning: images[0].width: expected a positive integer, got the text 'wide'",
        "content/a.md:4: warning: images[0].height: expected a positive integer, got an empty string"]


def test_a_cache_file_over_the_size_limit_is_refused_unread(make_site, monkeypatch):
    # A 2 GB file in the image cache was read 64 MB deep, at every build, before it was refused.
    site = one_image_site(make_site, None)
    path = site / cache_name(URL, "jpg")
    path.parent.mkdir(parents=True)
    with open(path, "wb") as handle:  # (sparse: no disk taken)
        handle.truncate(images.MAX_BYTES + 1)
    [warning] = warnings_of(build(site, jobs=1))
    assert f"larger than {images.MAX_BYTES // (1024 * 1024)} MB; not read" in warning

    read: list[int] = []  # (what `_read` reads of it, in this process: the build's are workers)
    real_open = images.open_regular

    def counting(name):
        handle, st = real_open(name)
        real_read = handle.read
        handle.read = lambda *size: read.append(len(data := real_read(*size))) or data
        return handle, st

    monkeypatch.setattr(images, "open_regular", counting)
    with pytest.raises(ValueError, match="larger than"):
        images._read(path)
    assert read == []
