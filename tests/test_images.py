"""Thumbnails: every odd file is a warning, real images of every mode come out right, twice for free."""

from __future__ import annotations

import hashlib
import io
import os
import re
import struct
import zlib
from pathlib import Path

import pytest
from PIL import Image, ImageOps

from digest.build import build, check
from digest.cli import main
from digest.config import Config
from digest.images import SourceInfo, image_entry, make_thumbnails, params_of, plan_thumbs, probe
from tests.conftest import record

URL = "https://img.example.com/photos/a.jpg"


def image_bytes(fmt: str = "JPEG", size=(800, 600), mode: str = "RGB", color=(200, 30, 30),
                **save) -> bytes:
    """A real image of one flat colour, made here."""
    buffer = io.BytesIO()
    Image.new(mode, size, color).save(buffer, fmt, **save)
    return buffer.getvalue()


def cache_name(url: str, ext: str) -> str:
    return f"content/images/{hashlib.sha256(url.encode()).hexdigest()}.{ext}"


def image_record(title: str = "A story", url: str = URL, width=800, height=600, cached=True,
                 **fields) -> str:
    images = f'[{{url: "{url}", width: {width}, height: {height}, isCached: {str(cached).lower()}, title: "Alt for {title}"}}]'
    return record(title, images=images, **fields)


def one_image_site(make_site, data: bytes | None, ext: str = "jpg", width=800, height=600,
                   extra: dict | None = None):
    files: dict[str, str | bytes] = {"content/a.md": image_record(width=width, height=height)}
    if data is not None:
        files[cache_name(URL, ext)] = data
    files.update(extra or {})
    return make_site(files)


def thumbs(site: Path) -> dict[str, Path]:
    root = site / "build" / "thumbs"
    return {p.relative_to(site / "build").as_posix(): p for p in root.rglob("*") if p.is_file()} \
        if root.is_dir() else {}


def article_html(site: Path) -> str:
    pages = [p for p in (site / "build").glob("20*/**/index.html")]
    assert len(pages) == 1, pages
    return pages[0].read_text()


def img_tags(html: str) -> list[str]:
    return re.findall(r"<img [^>]*>", html)


def warnings_of(result) -> list[str]:
    return [str(p) for p in result.problems if p.severity == "warning"]


def near(a, b, tolerance=24) -> bool:
    return all(abs(x - y) <= tolerance for x, y in zip(a, b, strict=True))


# --------------------------------------------------------------------------- every format and mode


def _cmyk_red() -> bytes:
    return image_bytes("JPEG", mode="CMYK", color=(0, 230, 230, 0))


def _i16() -> bytes:
    return image_bytes("PNG", mode="I;16", color=40000)


def _palette_with_transparency() -> bytes:
    im = Image.new("P", (800, 600), 1)
    im.putpalette([0, 0, 0, 200, 30, 30] + [0] * 762)
    buffer = io.BytesIO()
    im.save(buffer, "PNG", transparency=0)
    return buffer.getvalue()


CASES = {
    "jpeg-rgb": (lambda: image_bytes("JPEG"), "jpg", (200, 30, 30)),
    "jpeg-progressive": (lambda: image_bytes("JPEG", progressive=True), "jpg", (200, 30, 30)),
    "jpeg-cmyk": (_cmyk_red, "jpg", None),
    "jpeg-gray": (lambda: image_bytes("JPEG", mode="L", color=120), "jpg", (120, 120, 120)),
    "png-rgb": (lambda: image_bytes("PNG"), "png", (200, 30, 30)),
    "png-rgba": (lambda: image_bytes("PNG", mode="RGBA", color=(200, 30, 30, 128)), "png", (200, 30, 30)),
    "png-la": (lambda: image_bytes("PNG", mode="LA", color=(120, 128)), "png", (120, 120, 120)),
    "png-palette-transparency": (_palette_with_transparency, "png", (200, 30, 30)),
    "png-16bit-gray": (_i16, "png", (156, 156, 156)),
    "png-1bit": (lambda: image_bytes("PNG", mode="1", color=1), "png", (255, 255, 255)),
    "gif": (lambda: image_bytes("GIF", mode="P", color=0), "gif", None),
    "webp": (lambda: image_bytes("WEBP"), "webp", (200, 30, 30)),
    "webp-rgba": (lambda: image_bytes("WEBP", mode="RGBA", color=(200, 30, 30, 100)), "webp", (200, 30, 30)),
    "bmp": (lambda: image_bytes("BMP"), "bmp", (200, 30, 30)),
    "tiff": (lambda: image_bytes("TIFF"), "tif", (200, 30, 30)),
    "jpeg-named-png": (lambda: image_bytes("JPEG"), "png", (200, 30, 30)),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_every_format_and_mode_becomes_webp_thumbnails(make_site, case):
    make, ext, colour = CASES[case]
    site = one_image_site(make_site, make(), ext)
    result = build(site)
    assert warnings_of(result) == []
    made = thumbs(site)
    assert sorted(int(re.search(r"-(\d+)\.webp$", p).group(1)) for p in made) == [320, 640, 800]
    for path, file in made.items():
        with Image.open(file) as im:
            assert im.format == "WEBP"
            assert im.mode in ("RGB", "RGBA")
            assert im.width == int(re.search(r"-(\d+)\.webp$", path).group(1))
            assert im.height == round(600 * im.width / 800)
            assert "exif" not in im.info and "icc_profile" not in im.info
            pixel = im.convert("RGB").getpixel((im.width // 2, im.height // 2))
        if colour is not None:
            assert near(pixel, colour), (case, pixel)
        if case == "jpeg-cmyk":
            assert pixel[0] > 150 and pixel[1] < 90 and pixel[2] < 90, pixel
    assert result.thumbnails.encoded == 3 and result.thumbnails.failed == 0


def test_alpha_is_kept_only_when_it_hides_something(make_site):
    site = make_site({
        "content/a.md": image_record("Clear", url="https://i.example.com/a.png"),
        cache_name("https://i.example.com/a.png", "png"): image_bytes("PNG", mode="RGBA", color=(9, 9, 9, 0)),
        "content/b.md": image_record("Opaque", url="https://i.example.com/b.png"),
        cache_name("https://i.example.com/b.png", "png"): image_bytes("PNG", mode="RGBA", color=(9, 9, 9, 255)),
    })
    build(site)
    modes = set()
    for file in thumbs(site).values():
        with Image.open(file) as im:
            modes.add(im.mode)
    assert modes == {"RGB", "RGBA"}


# --------------------------------------------------------------------------- orientation, frames, metadata


def _oriented(orientation: int, fmt: str = "JPEG") -> tuple[bytes, Image.Image]:
    im = Image.new("RGB", (400, 200), (220, 20, 20))
    im.paste((20, 20, 220), (200, 0, 400, 100))  # top right quarter blue
    exif = Image.Exif()
    exif[0x0112] = orientation
    buffer = io.BytesIO()
    im.save(buffer, fmt, exif=exif.tobytes(), **({"quality": 95} if fmt in ("JPEG", "WEBP") else {}))
    data = buffer.getvalue()
    return data, ImageOps.exif_transpose(Image.open(io.BytesIO(data)))


@pytest.mark.parametrize(("fmt", "orientation"), [("JPEG", o) for o in range(1, 9)] + [
    # (Pillow turns a TIFF upright itself as it loads it: turned again, one of orientation 6
    # came out on its side and sized wrong, one of orientation 3 upside down)
    ("TIFF", o) for o in range(1, 9)] + [("PNG", 6), ("PNG", 3), ("WEBP", 6), ("WEBP", 3)])
def test_exif_orientation_is_applied(make_site, fmt, orientation):
    data, upright = _oriented(orientation, fmt)
    assert upright.size == ((200, 400) if orientation > 4 else (400, 200))
    site = make_site({"content/a.md": image_record(width=400, height=200),
                      cache_name(URL, "jpg"): data,
                      "digest.toml": "thumbnail_widths = [100]\n"})
    result = build(site)
    assert warnings_of(result) == []
    (file,) = thumbs(site).values()
    with Image.open(file) as im:
        expected = (100, round(100 * upright.height / upright.width))
        assert im.size == expected
        for fx, fy in ((0.25, 0.25), (0.75, 0.25), (0.25, 0.75), (0.75, 0.75)):
            got = im.convert("RGB").getpixel((int(im.width * fx), int(im.height * fy)))
            want = upright.getpixel((int(upright.width * fx), int(upright.height * fy)))
            assert near(got, want, 60), (orientation, fx, fy, got, want)
    tag = img_tags(article_html(site))[0]
    assert f'width="{expected[0]}"' in tag and f'height="{expected[1]}"' in tag


@pytest.mark.parametrize("fmt", ["GIF", "WEBP", "PNG"])
def test_an_animation_uses_its_first_frame(make_site, fmt):
    frames = [Image.new("P", (300, 200), i) for i in range(3)]
    for frame in frames:
        frame.putpalette([200, 30, 30, 30, 30, 200, 30, 200, 30] + [0] * 759)
    if fmt != "GIF":  # (an animated WebP, an APNG)
        frames = [frame.convert("RGB") for frame in frames]
    buffer = io.BytesIO()
    frames[0].save(buffer, fmt, save_all=True, append_images=frames[1:], duration=100, loop=0)
    assert Image.open(io.BytesIO(buffer.getvalue())).n_frames == 3
    site = one_image_site(make_site, buffer.getvalue(), fmt.lower(), 300, 200)
    result = build(site)
    assert warnings_of(result) == []
    for file in thumbs(site).values():
        with Image.open(file) as im:
            assert not getattr(im, "is_animated", False)
            assert near(im.convert("RGB").getpixel((10, 10)), (200, 30, 30))


def test_metadata_is_stripped(make_site):
    exif = Image.Exif()
    exif[0x010F] = "SecretCam"  # Make
    exif[0x8825] = {1: "N", 2: (52.0, 31.0, 12.0)}  # GPS
    from PIL import ImageCms
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    site = one_image_site(make_site, image_bytes("JPEG", exif=exif.tobytes(), icc_profile=icc))
    build(site)
    for file in thumbs(site).values():
        raw = file.read_bytes()
        assert b"SecretCam" not in raw and b"EXIF" not in raw.upper()[:64]
        with Image.open(file) as im:
            assert not im.getexif() and "icc_profile" not in im.info


# --------------------------------------------------------------------------- odd files are warnings


def _bomb_png(width: int, height: int) -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64))
            + chunk(b"IEND", b""))


ODD = {
    "truncated-jpeg": (lambda: image_bytes("JPEG", size=(900, 700))[:1500], "jpg", "truncated"),
    "bomb-header": (lambda: _bomb_png(50_000, 50_000), "png", "bomb"),
    "bomb-over-our-limit": (lambda: _bomb_png(8_000, 6_000), "png", "bomb"),
    "html": (lambda: b"<!DOCTYPE html><html><body>Not found</body></html>", "jpg", "HTML"),
    "svg-with-script": (lambda: b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
                        "png", "SVG"),
    "zero-bytes": (lambda: b"", "jpg", "empty"),
    "garbage": (lambda: b"\x00\x01binary garbage" * 40, "webp", "not an image"),
    "corrupt-png": (lambda: image_bytes("PNG")[:60] + b"\xff" * 200, "png", "the file is"),
}


@pytest.mark.parametrize("case", sorted(ODD))
def test_odd_file_is_a_warning_and_a_placeholder(make_site, case):
    make, ext, words = ODD[case]
    site = one_image_site(make_site, make(), ext)
    result = build(site)
    assert result.articles == 1
    (warning,) = warnings_of(result)
    assert re.match(r"content/a\.md:\d+: warning: images\[0\]: " + re.escape(URL), warning), warning
    assert words.lower() in warning.lower()
    assert thumbs(site) == {}
    html = article_html(site)
    assert img_tags(html) == []
    assert 'class="hero placeholder" style="aspect-ratio: 800 / 600"' in html
    assert result.thumbnails.failed == 1
    again = build(site)  # remembered by stat: same warning, nothing decoded
    assert warnings_of(again) == [warning] and again.thumbnails.encoded == 0


def test_missing_file_for_a_cached_image_is_a_warning(make_site):
    site = one_image_site(make_site, None)
    result = build(site)
    (warning,) = warnings_of(result)
    assert "images[0]" in warning and URL in warning and "no file" in warning
    assert 'placeholder" style="aspect-ratio: 800 / 600"' in article_html(site)


def test_an_image_warning_names_the_line_of_its_entry(make_site):
    """Image problems are found after the records are read; they now name the entry's line
    as every other problem does (the record is read again only when one has a warning)."""
    other = "https://img.example.com/photos/b.jpg"
    images = (f'\n  - {{url: "{URL}", width: 800, height: 600, isCached: true}}'
              f'\n  - {{url: "{other}", width: 800, height: 600, isCached: true}}')
    site = make_site({"content/a.md": record("Two images", images=images),
                      cache_name(URL, "jpg"): image_bytes("JPEG")})
    text = (site / "content" / "a.md").read_text().splitlines()
    line = next(n for n, row in enumerate(text, 1) if other in row)
    expected = f"content/a.md:{line}: warning: images[1]: {other}"
    for problems in (warnings_of(build(site)), [str(p) for p in check(site)[0]]):
        (warning,) = problems
        assert warning.startswith(expected), warning


def test_symlink_out_of_the_cache_is_not_read(make_site):
    site = one_image_site(make_site, None, extra={"secret/photo.jpg": image_bytes("JPEG")})
    link = site / cache_name(URL, "jpg")
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(site / "secret" / "photo.jpg")
    result = build(site)
    (warning,) = warnings_of(result)
    assert "symbolic link" in warning and URL in warning
    assert thumbs(site) == {}


def test_symlink_inside_the_cache_is_followed(make_site):
    other = "https://img.example.com/other.jpg"
    site = one_image_site(make_site, None, extra={cache_name(other, "jpg"): image_bytes("JPEG")})
    (site / cache_name(URL, "jpg")).symlink_to(site / cache_name(other, "jpg"))
    result = build(site)
    assert warnings_of(result) == [] and len(thumbs(site)) == 3


def test_a_cached_image_that_is_a_symbolic_link_loop_is_a_warning(make_site):
    site = one_image_site(make_site, None)
    link = site / cache_name(URL, "jpg")
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(link)  # (a traceback stopped both commands)
    for problems in (warnings_of(build(site)), [str(p) for p in check(site)[0]]):
        (warning,) = problems
        assert "symbolic link loop" in warning and URL in warning
    assert 'placeholder" style="aspect-ratio: 800 / 600"' in article_html(site)


def test_an_image_folder_that_is_a_symbolic_link_loop_does_not_stop_the_build(make_site):
    site = one_image_site(make_site, None)
    (site / "content" / "images").symlink_to(site / "content" / "images")
    result = build(site)
    assert any("no file" in w and URL in w for w in warnings_of(result))
    assert any("no file" in str(p) for p in check(site)[0])


def test_size_disagreeing_with_the_record_trusts_the_file(make_site):
    site = one_image_site(make_site, image_bytes("JPEG", size=(300, 200)), width=1000, height=1000)
    result = build(site)
    (warning,) = warnings_of(result)
    assert "record says 1000x1000 but the file is 300x200" in warning and URL in warning
    tag = img_tags(article_html(site))[0]
    assert 'width="300"' in tag and 'height="200"' in tag


def test_a_broken_image_does_not_affect_others(make_site):
    good = "https://img.example.com/good.png"
    site = make_site({
        "content/a.md": image_record("Bad one"),
        cache_name(URL, "jpg"): b"<html>",
        "content/b.md": image_record("Good one", url=good),
        cache_name(good, "png"): image_bytes("PNG"),
    })
    result = build(site)
    assert result.articles == 2 and len(warnings_of(result)) == 1
    assert len(thumbs(site)) == 3 and result.thumbnails.failed == 1


# --------------------------------------------------------------------------- planning and markup


def test_plan_never_upscales_and_names_by_content():
    config = Config()
    info = SourceInfo("ab" * 16, 500, 250, (500, 250))
    planned = plan_thumbs(info, params_of(config))
    assert [(t.width, t.height) for t in planned] == [(320, 160), (500, 250)]
    other = plan_thumbs(SourceInfo("cd" * 16, 500, 250, (500, 250)), params_of(config))
    assert {t.path for t in planned}.isdisjoint(t.path for t in other)
    entry = image_entry(planned, "/news/")
    assert entry["src"] == "/news/" + planned[-1].path and entry["largest"] == planned[-1].path
    assert entry["srcset"].endswith(" 500w") and entry["width"] == 500 and entry["sources"] == []


def test_probe_reads_only_the_header():
    data = _bomb_png(4_000, 3_000)  # its pixel data is far too short: decoding would fail
    info = probe(data)
    assert info.error == "" and (info.width, info.height) == (4_000, 3_000)


def test_markup_srcset_sizes_lazy_and_picture(make_site):
    files: dict[str, str | bytes] = {
        "digest.toml": 'thumbnail_formats = ["avif", "webp"]\nbase_url = "https://example.org/news/"\n'}
    for n in range(3):
        url = f"https://img.example.com/{n}.jpg"
        files[f"content/{n}.md"] = image_record(f"Story {n}", url=url, width=1200, height=800, when=f"2024-01-0{n + 1}T10:00:00Z")
        files[cache_name(url, "jpg")] = image_bytes("JPEG", size=(1200, 800), color=(n * 50, 9, 9))
    site = make_site(files)
    result = build(site)
    assert warnings_of(result) == []
    home = (site / "build" / "index.html").read_text()
    tags = img_tags(home)
    assert len(tags) == 3 and home.count("<picture>") == 3
    assert 'type="image/avif"' in home
    assert "loading=" not in tags[0] and all('loading="lazy"' in t for t in tags[1:])
    for tag in tags:
        assert 'decoding="async"' in tag and " sizes=" in tag and 'alt="Alt for Story' in tag
        assert re.search(r'src="/news/thumbs/[0-9a-f]{2}/[0-9a-f]{16}-960\.webp"', tag)
        assert "320w" in tag and "640w" in tag and "960w" in tag
        assert 'width="960" height="640"' in tag
    assert len([p for p in thumbs(site) if p.endswith(".avif")]) == 9
    page = [p for p in (site / "build").glob("20*/**/index.html")][0].read_text()
    assert "loading=" not in img_tags(page)[0] and "46rem" in img_tags(page)[0]  # hero sizes
    og = re.search(r'<meta property="og:image" content="([^"]+)"', page)
    if og:  # Open Graph is planned elsewhere; when present it points at our largest thumbnail
        assert re.fullmatch(r"https://example\.org/news/thumbs/.+-960\.(webp|avif)", og.group(1))


def test_uncached_images_are_never_hotlinked_by_default(make_site):
    site = make_site({"content/a.md": image_record(cached=False)})
    result = build(site)
    assert warnings_of(result) == []
    for page in (site / "build").rglob("*.html"):
        assert "img.example.com" not in "".join(img_tags(page.read_text()))
    assert 'placeholder" style="aspect-ratio: 800 / 600"' in article_html(site)
    hot = make_site({"content/a.md": image_record(cached=False, url="https://img.example.com/a.jpg"),
                     "digest.toml": "hotlink_images = true\n"})
    build(hot)
    assert 'src="https://img.example.com/a.jpg"' in article_html(hot)


def test_jpeg_thumbnails_flatten_alpha_on_white(make_site):
    site = one_image_site(make_site, image_bytes("PNG", mode="RGBA", color=(0, 0, 0, 0)), "png",
                          extra={"digest.toml": 'thumbnail_formats = ["jpeg"]\n'})
    build(site)
    made = thumbs(site)
    assert made and all(p.endswith(".jpg") for p in made)
    with Image.open(next(iter(made.values()))) as im:
        assert im.format == "JPEG" and near(im.getpixel((5, 5)), (255, 255, 255))


def test_draft_images_are_made_only_with_drafts(make_site):
    site = make_site({"content/a.md": image_record(published="false"),
                      cache_name(URL, "jpg"): image_bytes("JPEG")})
    assert build(site).thumbnails.planned == 0 and thumbs(site) == {}
    assert build(site, drafts=True).thumbnails.planned == 3 and len(thumbs(site)) == 3


def test_nothing_from_the_cache_is_copied_as_is(make_site):
    sources = {cache_name(f"https://i.example.com/{n}", ext): data for n, (ext, data) in enumerate(
        [("jpg", image_bytes("JPEG", size=(200, 100))), ("png", image_bytes("PNG", size=(100, 80))),
         ("webp", image_bytes("WEBP", size=(300, 100)))])}
    files: dict[str, str | bytes] = dict(sources)
    for n in range(len(sources)):
        files[f"content/{n}.md"] = image_record(f"S{n}", url=f"https://i.example.com/{n}", width=None,
                                                height=None)
    site = make_site(files)
    build(site)
    originals = set(sources.values())
    out = [p for p in (site / "build").rglob("*") if p.is_file()]
    assert not any(p.read_bytes() in originals for p in out)
    assert not any(p.name.split(".")[0] in {Path(n).stem for n in sources} for p in out)


# --------------------------------------------------------------------------- incremental


def test_second_build_encodes_and_rewrites_nothing_and_one_change_reencodes_one(make_site, capsys):
    other = "https://img.example.com/b.png"
    site = make_site({
        "content/a.md": image_record("A"),
        cache_name(URL, "jpg"): image_bytes("JPEG", size=(1000, 600)),
        "content/b.md": image_record("B", url=other),
        cache_name(other, "png"): image_bytes("PNG", size=(1000, 600)),
    })
    first = build(site)
    assert (first.thumbnails.planned, first.thumbnails.encoded) == (6, 6)
    before = {p: f.stat().st_mtime_ns for p, f in thumbs(site).items()}

    second = build(site)
    t = second.thumbnails
    assert (t.planned, t.reused, t.encoded, t.failed) == (6, 6, 0, 0)
    assert not [p for p in second.changed_paths if p.startswith("thumbs/")]
    assert {p: f.stat().st_mtime_ns for p, f in thumbs(site).items()} == before

    source = site / cache_name(URL, "jpg")
    source.write_bytes(image_bytes("JPEG", size=(1000, 600), color=(10, 200, 10)))
    third = build(site)
    assert third.thumbnails.encoded == 3 and third.thumbnails.reused == 3
    after = thumbs(site)
    assert len(after) == 6 and len(set(after) & set(before)) == 3  # old ones pruned
    assert third.removed >= 3
    store = site / ".digest-cache" / "thumbs"
    assert sorted("thumbs/" + p.relative_to(store).as_posix() for p in store.rglob("*") if p.is_file()) \
        == sorted(after)

    assert main(["build", str(site)]) == 0
    assert "Thumbnails: 6 planned from 2 images, 6 reused, 0 encoded, 0 images failed" in capsys.readouterr().out


def test_deleted_output_is_restored_from_the_store_without_encoding(make_site):
    site = one_image_site(make_site, image_bytes("JPEG"))
    build(site)
    for file in thumbs(site).values():
        file.unlink()
    again = build(site)
    assert again.thumbnails.encoded == 0 and len(thumbs(site)) == 3


def test_removing_the_record_prunes_its_thumbnails(make_site):
    site = one_image_site(make_site, image_bytes("JPEG"),
                          extra={"content/b.md": record("Other", when="2024-01-05T10:00:00Z")})
    build(site)
    assert len(thumbs(site)) == 3
    os.remove(site / "content" / "a.md")
    build(site)
    assert thumbs(site) == {}


def test_adding_a_width_encodes_only_that_width(make_site):
    site = one_image_site(make_site, image_bytes("JPEG"), extra={"digest.toml": "thumbnail_widths = [320]\n"})
    assert build(site).thumbnails.encoded == 1
    (site / "digest.toml").write_text("thumbnail_widths = [320, 640]\n")
    again = build(site)
    assert (again.thumbnails.encoded, again.thumbnails.reused) == (1, 1)


def test_generated_corpus_images_all_resolve_locally(shared_dir, tmp_path):
    """A gen_corpus site (JPEG with EXIF/CMYK/progressive, PNG, WebP, animated GIF) builds with
    every image from our own thumbnails and the corpus's deliberate cache misses as the only warnings."""
    import subprocess
    import sys

    site = tmp_path / "site"
    subprocess.run([sys.executable, str(shared_dir / "tools" / "gen_corpus.py"), "--records", "40",
                    "--max-image-side", "700", "--workers", "2", "--out", str(site / "content")],
                   check=True, capture_output=True)
    result = build(site)
    assert result.thumbnails.sources > 10 and result.thumbnails.encoded == result.thumbnails.planned
    assert all("there is no file" in w for w in warnings_of(result) if "images[" in w)
    out = site / "build"
    seen = 0
    for page in out.rglob("*.html"):
        html = page.read_text()
        for tag in re.findall(r"<(?:img|source) [^>]*>", html):
            urls = re.findall(r'(?:src|srcset)="([^"]+)"', tag)
            for url in (u.strip().split(" ")[0] for value in urls for u in value.split(",")):
                assert url.startswith("/thumbs/"), (page, tag)
                assert (out / url.lstrip("/")).is_file(), url
                seen += 1
    assert seen > 0
    originals = {p.read_bytes() for p in (site / "content" / "images").iterdir()}
    assert not any(p.read_bytes() in originals for p in (out / "thumbs").rglob("*") if p.is_file())


def test_a_damaged_store_file_is_made_again_not_published(make_site):
    site = one_image_site(make_site, image_bytes("JPEG"))
    build(site)
    store = site / ".digest-cache" / "thumbs"
    damaged = sorted(p for p in store.rglob("*.webp"))[0]
    damaged.write_bytes(b"")
    for file in thumbs(site).values():
        file.unlink()
    again = build(site)
    assert again.thumbnails.encoded == 1 and len(thumbs(site)) == 3
    assert all(f.read_bytes()[:4] == b"RIFF" for f in thumbs(site).values())


def test_check_reports_image_problems_without_writing(make_site, capsys):
    other = "https://img.example.com/b.jpg"
    site = make_site({
        "content/a.md": image_record("Broken"),
        cache_name(URL, "jpg"): b"<!doctype html><p>gone</p>",
        "content/b.md": image_record("Wrong size", url=other, width=10, height=10),
        cache_name(other, "jpg"): image_bytes("JPEG", size=(300, 200)),
        "content/c.md": image_record("Missing", url="https://img.example.com/c.jpg"),
    })
    assert main(["check", str(site)]) == 0
    err = capsys.readouterr().err
    assert re.search(r"content/a\.md:\d+: warning: images\[0\]: " + re.escape(URL) + ": the file is HTML", err)
    assert "record says 10x10 but the file is 300x200" in err and "there is no file" in err
    assert not (site / "build").exists() and not (site / ".digest-cache" / "thumbs").exists()
    assert main(["check", "--strict", str(site)]) == 1


def test_article_page_shows_its_other_images_lazily(make_site):
    urls = [f"https://img.example.com/{n}.jpg" for n in range(3)]
    images = ", ".join(f'{{url: "{u}", width: 400, height: 300, isCached: true}}' for u in urls)
    files: dict[str, str | bytes] = {"content/a.md": record("Gallery", images=f"[{images}]")}
    for n, url in enumerate(urls):
        files[cache_name(url, "jpg")] = image_bytes("JPEG", size=(400, 300), color=(n * 80, 9, 9))
    site = make_site(files)
    build(site)
    tags = img_tags(article_html(site))
    assert len(tags) == 3 and len({re.search(r'src="([^"]+)"', t).group(1) for t in tags}) == 3
    assert "loading=" not in tags[0] and all('loading="lazy"' in t for t in tags[1:])


def stand_in_decoder(monkeypatch, marker: bytes, act) -> None:
    """`make_thumbnails` patched to call ``act()`` first on a file holding ``marker`` (workers
    are forked: they inherit the patch)."""
    import digest.images as images

    real = images.make_thumbnails

    def stand_in(raw, info, thumbs, quality):
        if marker in raw:
            act()
        return real(raw, info, thumbs, quality)

    monkeypatch.setattr(images, "make_thumbnails", stand_in)


def marked_images_site(make_site, count: int, marked: int, marker: bytes) -> Path:
    """A site of ``count`` records with one cached JPEG each; record ``marked``'s file ends with
    ``marker`` (for a stand-in decoder to act on)."""
    files: dict[str, str | bytes] = {}
    for n in range(count):
        url = f"https://img.example.com/{n}.jpg"
        files[f"content/{n}.md"] = image_record(f"S{n}", url=url, width=200, height=100)
        data = image_bytes("JPEG", size=(200, 100), color=(n * 40, 9, 9))
        files[cache_name(url, "jpg")] = data + (marker if n == marked else b"")
    return make_site(files)


def test_a_decoder_that_kills_its_process_costs_one_image_not_the_build(make_site, monkeypatch):
    """No real file crashes Pillow on demand, so a stand-in decoder dies on one marked file
    (workers are forked: they inherit the patched function)."""
    stand_in_decoder(monkeypatch, b"KILLME", lambda: os._exit(70))
    site = marked_images_site(make_site, 6, 3, b"KILLME")
    result = build(site, jobs=2)
    (warning,) = warnings_of(result)
    assert "content/3.md" in warning and "crashed" in warning
    assert result.articles == 6 and result.thumbnails.sources == 5 and len(thumbs(site)) == 5
    again = build(site, jobs=2)
    assert warnings_of(again) == [warning] and again.thumbnails.encoded == 0


@pytest.mark.parametrize("count", [2, 6], ids=["each in a child", "a pool"])
def test_an_image_slower_than_the_limit_costs_one_image_not_a_hung_build(make_site, monkeypatch, count):
    """A stand-in decoder never returns on one marked file, as a file made to be slow to decode
    would (workers are forked: they inherit the patched function and limit)."""
    import time

    import digest.images as images

    stand_in_decoder(monkeypatch, b"SLOW", lambda: time.sleep(600))
    monkeypatch.setattr(images, "IMAGE_SECONDS", 0.5)
    site = marked_images_site(make_site, count, 1, b"SLOW")
    started = time.monotonic()
    result = build(site, jobs=2)
    assert time.monotonic() - started < 30
    (warning,) = warnings_of(result)
    assert warning.startswith("content/1.md:") and "took longer than 0.5 seconds" in warning
    assert "not read again until it changes" in warning
    assert result.articles == count and result.thumbnails.sources == count - 1
    assert len(thumbs(site)) == count - 1
    again = build(site, jobs=2)  # (known: not tried again)
    assert warnings_of(again) == [warning] and again.thumbnails.encoded == 0


def test_the_lines_of_image_warnings_are_kept_not_read_again_each_build(make_site, monkeypatch):
    """Finding an image entry's line reads its record again: done once, then kept in the images
    state by the record's content hash (thousands of records whose images are missing were
    all read again at every build)."""
    import digest.images as images

    site = make_site({f"content/r{n}.md": image_record(f"Story {n}", url=f"https://img.example.com/{n}.jpg")
                      for n in range(3)})
    first = warnings_of(build(site))
    calls = []
    real = images.field_locator
    monkeypatch.setattr(images, "field_locator", lambda path: calls.append(path) or real(path))
    (site / "content" / "r0.md").write_text(image_record("Story 0, edited", url="https://img.example.com/0.jpg"))
    again = warnings_of(build(site))
    assert [p.name for p in calls] == ["r0.md"]  # only the edited record is read again
    assert sorted(again) == sorted(first) and all(re.match(r"content/r\d\.md:\d+: ", w) for w in again)


def test_the_first_card_with_a_picture_is_the_eager_one(make_site):
    # The first card of a listing was marked eager: when it had no picture, no image of the
    # page loaded eagerly and the picture above the fold waited as a lazy one.
    files: dict[str, str | bytes] = {
        "content/plain.md": record("Plain lead", when="2024-01-02T12:00:00Z", quality="100", topics="[AI]",
                                   provider="{name: Plain, domain: plain.example}"),
        "content/plain2.md": record("Plain other", when="2024-01-02T11:30:00Z", quality="90", topics="[AI]",
                                    provider="{name: Plain, domain: plain.example}"),
    }
    for n, name in enumerate(["second", "third"]):
        url = f"https://img.example.com/{name}.jpg"
        files[f"content/{name}.md"] = image_record(f"Pictured {name}", url=url, when=f"2024-01-02T1{1 - n}:00:00Z",
                                                   quality=str(50 - n), topics="[AI]")
        files[cache_name(url, "jpg")] = image_bytes("JPEG", color=(n * 90, 9, 9))
    site = make_site({**files, "digest.toml": "search = false\n"})
    assert warnings_of(build(site)) == []
    out = site / "build"
    listings = [out / "index.html", *out.glob("topics/*/index.html"), *out.glob("sources/*/index.html"),
                *out.glob("editions/*/index.html"), *out.glob("archive/*/*/index.html")]
    assert len(listings) == 5  # home, topic, source (plain only), edition, archive
    for page in listings:
        html = page.read_text()
        assert "Pictured" not in html or html.index("Plain lead") < html.index("Pictured"), page
        tags = img_tags(html)
        if not tags:  # (the plain source's page, the indexes): nothing to load eagerly
            assert "fetchpriority" not in html, page
            continue
        assert 'fetchpriority="high"' in tags[0] and "loading=" not in tags[0], page
        assert 'alt="Alt for Pictured second"' in tags[0], page
        assert all('loading="lazy"' in t and "fetchpriority" not in t for t in tags[1:]), page
    assert any(not img_tags(page.read_text()) for page in out.glob("sources/*/index.html"))
    article = next(out.glob("2024/01/02/pictured-second-*/index.html")).read_text()
    hero = img_tags(article)[0]  # the article's own picture stays eager
    assert 'fetchpriority="high"' in hero and "loading=" not in hero


# --------------------------------------------------------------------------- PNG metadata Pillow refuses


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _deflated_zeros(megabytes: int) -> bytes:
    """``megabytes`` MiB of zero bytes deflated, made a MiB at a time (never whole in memory)."""
    deflate = zlib.compressobj(9)
    block = bytes(1 << 20)
    return b"".join(deflate.compress(block) for _ in range(megabytes)) + deflate.flush()


def _png_with(*chunks: bytes, after_pixels: bool = False, mode="RGB", color=(200, 30, 30)) -> bytes:
    """A real 800x600 PNG of one colour with ``chunks`` added before its pixel data (or after)."""
    plain = image_bytes("PNG", mode=mode, color=color)
    if after_pixels:
        return plain[:-12] + b"".join(chunks) + plain[-12:]  # (before IEND)
    return plain[:33] + b"".join(chunks) + plain[33:]  # (after the signature and IHDR)


_XMP = '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF>' + "<rdf:li>keyword</rdf:li>" * 120_000 + "</rdf:RDF></x:xmpmeta>"

TEXT_PNGS = {
    # Pillow inflates a compressed text chunk up to 1 MiB only, then calls the file corrupt
    "ztxt-2mb-description": lambda: _png_with(_chunk(b"zTXt", b"Description\0\0" + zlib.compress(b"a" * 2_000_000))),
    "itxt-compressed-xmp": lambda: _png_with(
        _chunk(b"iTXt", b"XML:com.adobe.xmp\0\1\0\0\0" + zlib.compress(_XMP.encode()))),
    "ztxt-after-the-pixels": lambda: _png_with(_chunk(b"zTXt", b"Comment\0\0" + _deflated_zeros(2)), after_pixels=True),
    # ... and all text up to 64 MiB: 80 chunks just under 1 MiB each
    "text-over-64mb-in-all": lambda: _png_with(*[_chunk(b"zTXt", b"Comment\0\0" + _deflated_zeros(1)[:-4])
                                                 for _ in range(80)]),
    "tEXt-and-a-100mb-ztxt-bomb": lambda: _png_with(_chunk(b"tEXt", b"Title\0Hello"),
                                                    _chunk(b"zTXt", b"Comment\0\0" + _deflated_zeros(100))),
    # an iCCP profile inflating past 1 MiB (Pillow refuses it too): the colours are taken as sRGB
    "iccp-over-1mb": lambda: _png_with(_chunk(b"iCCP", b"icc\0\0" + _deflated_zeros(2))),
}


@pytest.mark.parametrize("case", sorted(TEXT_PNGS))
def test_a_png_with_text_pillow_refuses_still_gets_its_thumbnails(make_site, case):
    data = TEXT_PNGS[case]()
    site = one_image_site(make_site, data, "png", extra={"digest.toml": 'thumbnail_formats = ["png"]\n'})
    result = build(site)
    assert warnings_of(result) == [] and result.thumbnails.failed == 0
    made = thumbs(site)
    assert len(made) == 3
    for file in made.values():
        raw = file.read_bytes()
        assert b"zTXt" not in raw and b"iTXt" not in raw and b"iCCP" not in raw
        with Image.open(file) as im:
            assert im.convert("RGB").getpixel((10, 10)) == (200, 30, 30)
    # The same pixels without the text: the very same thumbnails.
    params = params_of(Config(thumbnail_formats=("png",)))
    plain = image_bytes("PNG")
    ours = make_thumbnails(data, probe(data), plan_thumbs(probe(data), params), 80)
    theirs = make_thumbnails(plain, probe(plain), plan_thumbs(probe(plain), params), 80)
    assert list(ours.values()) == list(theirs.values())
    assert check(site)[0] == []


def test_a_compressed_text_bomb_costs_neither_memory_nor_time():
    """100 MB of text deflated into 100 kB: none of it is inflated (Pillow's own guard inflates
    1 MiB of each chunk, and up to 64 MiB of them all, before it refuses the file)."""
    import resource
    import time
    import tracemalloc

    data = _png_with(*[_chunk(b"zTXt", b"Comment\0\0" + _deflated_zeros(1)[:-4]) for _ in range(70)],
                     _chunk(b"zTXt", b"Bomb\0\0" + _deflated_zeros(100)))
    assert len(data) < 1_000_000
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # (KiB on Linux)
    started = time.perf_counter()
    tracemalloc.start()
    try:
        info = probe(data)
        made = make_thumbnails(data, info, plan_thumbs(info, params_of(Config())), 80)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert info.error == "" and len(made) == 3
    assert peak < 8 * 1024 * 1024, peak  # (the file, a copy without its text, and the thumbnails)
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before < 64 * 1024
    assert time.perf_counter() - started < 30  # (a few hundredths of a second: only a bound on a hang)


def test_png_chunks_are_dropped_only_when_whole():
    """A PNG with nothing to drop, or whose chunk lengths run past the end, is left to Pillow."""
    from digest.images import _png_pixels

    plain = image_bytes("PNG")
    assert _png_pixels(plain) is plain
    broken = _png_with(_chunk(b"zTXt", b"Comment\0\0" + zlib.compress(b"x" * 100)))[:60]
    assert _png_pixels(broken) is broken  # (a text chunk cut short: Pillow says it is truncated)
    assert _png_pixels(b"GIF89a tEXt") == b"GIF89a tEXt"
    icc = _png_with(_chunk(b"iCCP", b"icc\0\0" + zlib.compress(b"p" * 1000)))
    assert _png_pixels(icc) is icc  # (a profile of a usable size is kept)
    twice = _png_with(_chunk(b"iCCP", b"icc\0\0" + zlib.compress(b"p" * 1000)),
                      _chunk(b"iCCP", b"icc\0\0" + zlib.compress(b"q" * 1000)))
    assert _png_pixels(twice) == icc  # (a second one, which the PNG standard forbids, is not)


# --------------------------------------------------------------------------- every colour mode a decoder gives


def _saved(im: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    im.save(buffer, fmt, **options)
    return buffer.getvalue()


def _halves(mode: str, left, right) -> Image.Image:
    """An 80x60 image of ``mode``: ``left`` on its left half, ``right`` on its right half."""
    im = Image.new(mode, (80, 60), right)
    im.paste(Image.new(mode, (40, 60), left), (0, 0))
    return im


def _associated_alpha(mode: str, color) -> bytes:
    """A TIFF whose alpha is associated (premultiplied, ExtraSamples = 1, as scanners and
    Photoshop may write it): Pillow writes unassociated alpha, so its tag is rewritten."""
    data = _saved(Image.new(mode, (80, 60), color), "TIFF")
    unassociated = struct.pack("<HHIH", 338, 3, 1, 2)
    assert data.count(unassociated) == 1
    return data.replace(unassociated, struct.pack("<HHIH", 338, 3, 1, 1))


def _png16_grey_with_colour_key() -> bytes:
    """A 16-bit grey PNG whose value 1000 is transparent (tRNS), on its left half."""
    rows = b"".join(b"\0" + b"".join(struct.pack(">H", 1000 if x < 40 else 32896) for x in range(80))
                    for _ in range(60))
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", struct.pack(">IIBBBBB", 80, 60, 16, 0, 0, 0, 0))
            + _chunk(b"tRNS", struct.pack(">H", 1000)) + _chunk(b"IDAT", zlib.compress(rows))
            + _chunk(b"IEND", b""))


def _tiff_12_bit(width: int, height: int, value: int) -> bytes:
    """An uncompressed 12-bit grey TIFF of one value (Pillow writes none: made by hand)."""
    row = bytes([value >> 4, (value & 0xF) << 4 | value >> 8, value & 0xFF]) * (width // 2)  # 2 samples, 3 bytes
    entries = [(256, width), (257, height), (258, 12), (259, 1), (262, 1), (273, 0), (277, 1), (278, height),
               (279, len(row) * height)]
    data_at = 8 + 2 + 12 * len(entries) + 4
    ifd = b"".join(struct.pack("<HHII", tag, 4, 1, data_at if tag == 273 else value) for tag, value in entries)
    return b"II*\0" + struct.pack("<IH", 8, len(entries)) + ifd + struct.pack("<I", 0) + row * height


def _nan_float() -> Image.Image:
    im = Image.new("F", (80, 60), 0.5)
    im.putpixel((0, 0), float("nan"))
    return im


# The CIELAB (D50, as ICC profiles and Photoshop use it) of sRGB red and mid-grey, in Pillow's
# LAB layout: L* 0-100 as 0-255, a* and b* offset by 128 (a TIFF stores them signed).
_LAB_RED = (round(54.29 * 2.55), 128 + 81, 128 + 70)
_LAB_GREY = (round(53.59 * 2.55), 128, 128)

GREY, RED = (128, 128, 128), (255, 0, 0)
MODES = {
    # name: (bytes, {(x, y) of a 64x48 thumbnail: expected sRGB, or RGBA where it is transparent})
    "tiff-lab-red": (lambda: _saved(Image.new("LAB", (80, 60), _LAB_RED), "TIFF"), {(32, 24): RED}),
    "tiff-lab-grey": (lambda: _saved(Image.new("LAB", (80, 60), _LAB_GREY), "TIFF"), {(32, 24): GREY}),
    "tiff-float-0-to-1": (lambda: _saved(_halves("F", 0.0, 0.5), "TIFF"), {(16, 24): (0, 0, 0), (48, 24): GREY}),
    "tiff-float-0-to-255": (lambda: _saved(_halves("F", 0.0, 128.0), "TIFF"), {(16, 24): (0, 0, 0), (48, 24): GREY}),
    "tiff-float-other-range": (lambda: _saved(_halves("F", -10.0, 30.0), "TIFF"),
                               {(16, 24): (0, 0, 0), (48, 24): (255, 255, 255)}),
    "tiff-float-with-nan": (lambda: _saved(_nan_float(), "TIFF"), {(32, 24): GREY}),
    "tiff-int32-0-to-255": (lambda: _saved(Image.new("I", (80, 60), 128), "TIFF"), {(32, 24): GREY}),
    "tiff-int32-16-bit-range": (lambda: _saved(Image.new("I", (80, 60), 32896), "TIFF"), {(32, 24): GREY}),
    "tiff-int32-signed": (lambda: _saved(_halves("I", -1000, 1000), "TIFF"),
                          {(16, 24): (0, 0, 0), (48, 24): (255, 255, 255)}),
    "tiff-16-bit": (lambda: _saved(Image.new("I;16", (80, 60), 32896), "TIFF"), {(32, 24): GREY}),
    "tiff-16-bit-big-endian": (lambda: _saved(Image.new("I;16B", (80, 60), 32896), "TIFF"), {(32, 24): GREY}),
    "tiff-12-bit": (lambda: _tiff_12_bit(80, 60, 2048), {(32, 24): GREY}),
    "png-16-bit-grey-colour-key": (_png16_grey_with_colour_key, {(16, 24): (0, 0, 0, 0), (48, 24): GREY}),
    "tiff-ycbcr": (lambda: _saved(Image.new("YCbCr", (80, 60), (76, 85, 255)), "TIFF"), {(32, 24): RED}),
    "tiff-cmyk-no-profile": (lambda: _saved(_halves("CMYK", (0, 255, 255, 0), (0, 0, 0, 127)), "TIFF"),
                             {(16, 24): RED, (48, 24): GREY}),
    "jpeg-cmyk-adobe-inverted": (lambda: _saved(_halves("CMYK", (0, 255, 255, 0), (0, 0, 0, 127)), "JPEG",
                                                quality=95), {(16, 24): RED, (48, 24): GREY}),
    "tiff-grey-associated-alpha": (lambda: _associated_alpha("LA", (60, 128)), {(32, 24): (120, 120, 120, 128)}),
    "tiff-rgb-associated-alpha": (lambda: _associated_alpha("RGBA", (100, 15, 15, 128)),
                                  {(32, 24): (200, 30, 30, 128)}),
    "tiff-1-bit": (lambda: _saved(_halves("1", 0, 1), "TIFF"), {(16, 24): (0, 0, 0), (48, 24): (255, 255, 255)}),
}


@pytest.mark.parametrize("case", sorted(MODES))
def test_every_colour_mode_comes_out_in_its_srgb_colours(make_site, case):
    make, expected = MODES[case]
    data = make()
    site = one_image_site(make_site, data, "tif", 80, 60, extra={
        "digest.toml": 'thumbnail_widths = [64]\nthumbnail_formats = ["png", "webp"]\n'})
    result = build(site)
    assert warnings_of(result) == [] and result.thumbnails.failed == 0
    made = thumbs(site)
    assert sorted(p.rsplit(".")[-1] for p in made) == ["png", "webp"]
    for path, file in made.items():
        tolerance = 8 if path.endswith(".png") else 24  # (WebP is lossy, and subsamples colour)
        with Image.open(file) as im:
            assert im.size == (64, 48)
            for xy, want in expected.items():
                got = im.convert("RGBA" if len(want) == 4 else "RGB").getpixel(xy)
                if len(want) == 4 and want[3] == 0:
                    assert got[3] == 0, (case, path, xy, got)
                else:
                    assert near(got, want, tolerance), (case, path, xy, got, want)


def test_a_lab_tiff_stores_a_and_b_signed_as_the_tiff_standard_says():
    """The LAB cases above are read as other programs write them (a* and b* signed), so
    the colours they check are not only Pillow agreeing with itself."""
    data = _saved(Image.new("LAB", (8, 8), _LAB_RED), "TIFF")
    assert bytes([_LAB_RED[0], 81, 70]) * 64 in data
    assert b"Adobe" in _saved(Image.new("CMYK", (8, 8)), "JPEG")  # (the inverted CMYK of Photoshop)


@pytest.mark.parametrize(("mode", "color", "want"), [
    ("HSV", (0, 255, 255), (255, 0, 0)),
    ("RGBX", (200, 30, 30, 0), (200, 30, 30)),
    ("RGBa", (100, 15, 15, 128), (199, 29, 29, 128)),
    ("La", (60, 128), (119, 119, 119, 128)),
    ("PA", (1, 128), (200, 30, 30, 128)),
])
def test_modes_no_allowed_decoder_gives_convert_all_the_same(mode, color, want):
    """Modes no allowed decoder gives (HSV, RGBX, RGBa: a TIFF's RGBa comes as RGBA) and two
    a TIFF gives (La, PA), converted alone: right all the same."""
    from digest.images import _to_srgb

    im = Image.new(mode, (4, 4), color)
    if mode == "PA":
        im.putpalette([0, 0, 0, 200, 30, 30] + [0] * 762)
    out = _to_srgb(im)
    assert out.mode == ("RGBA" if len(want) == 4 else "RGB")
    assert near(out.getpixel((1, 1)), want, 2), out.getpixel((1, 1))


def test_after_an_upgrade_wrong_thumbnails_are_made_again_and_the_old_ones_removed(make_site, monkeypatch):
    """A thumbnail's name hashes `RECIPE` with its source's bytes and the quality, so a program
    that makes other bytes from the same source (a new RECIPE) names them anew: the old files,
    claimed by no record, are removed from the output and the store. And what the old program
    remembered of each file (a PNG it called corrupt) goes with the rest of its state, which
    is stamped with the program (`digest.toolchain`): the new one reads every file again."""
    import digest.build as build_module
    import digest.cache as cache_module
    import digest.images as images_module
    import digest.plan as plan_module

    float_url, text_url = "https://i.example.com/float.tif", "https://i.example.com/text.png"
    site = make_site({
        "content/a.md": image_record("Float", url=float_url, width=80, height=40),
        cache_name(float_url, "tif"): _saved(Image.new("F", (80, 40), 0.5), "TIFF"),
        "content/b.md": image_record("Text", url=text_url),
        cache_name(text_url, "png"): TEXT_PNGS["ztxt-2mb-description"](),
        "digest.toml": "thumbnail_widths = [64]\n",
    })
    # The program before: its recipe, Pillow's own conversion of floats, PNG text read by Pillow.
    monkeypatch.setattr(images_module, "RECIPE", 3)
    monkeypatch.setattr(images_module, "_to_8bit", lambda im: im.convert("L"))
    monkeypatch.setattr(images_module, "_png_pixels", lambda raw: raw)
    old = build(site)
    (warning,) = warnings_of(old)
    assert text_url in warning and "corrupt" in warning
    (black,) = thumbs(site)
    with Image.open(site / "build" / black) as im:
        assert im.size == (64, 32) and im.convert("RGB").getpixel((32, 16)) == (0, 0, 0)
    assert build(site).thumbnails.encoded == 0  # (all remembered)
    monkeypatch.undo()
    for module in (build_module, cache_module, plan_module):  # this program, after the upgrade
        monkeypatch.setattr(module, "toolchain", lambda: "digest 99 (upgraded)")
    new = build(site)
    assert warnings_of(new) == [] and new.thumbnails.encoded == 2
    made = thumbs(site)
    assert black not in made and len(made) == 2
    store = {p.relative_to(site / ".digest-cache").as_posix()
             for p in (site / ".digest-cache" / "thumbs").rglob("*") if p.is_file()}
    assert store == set(made)
    sizes = {}
    for file in made.values():
        with Image.open(file) as im:
            sizes[im.size] = im.convert("RGB").getpixel((32, 16))
    assert near(sizes[64, 32], GREY) and near(sizes[64, 48], (200, 30, 30))


@pytest.mark.parametrize("bad", [
    pytest.param(b"GIF89a" + b"\x00" * 3, id="a header too short"),
    pytest.param(b"<!doctype html><p>gone</p>", id="an error page"),
    pytest.param(image_bytes("GIF", mode="P", color=0)[:40], id="truncated after its header"),
])
def test_a_corrupt_file_of_a_hash_does_not_hide_a_good_one_beside_it(make_site, capsys, bad):
    # `<hash>.gif` sorts before `<hash>.jpg` and was the only file tried: the article showed a
    # placeholder with a warning although the cache held the picture.
    site = one_image_site(make_site, image_bytes("JPEG", size=(800, 600)), extra={cache_name(URL, "gif"): bad})
    first = build(site)
    assert warnings_of(first) == []
    t = first.thumbnails
    assert (t.sources, t.failed, t.planned, t.encoded) == (1, 0, 3, 3)
    assert len(img_tags(article_html(site))) == 1 and "placeholder" not in article_html(site)
    assert len(thumbs(site)) == 3

    # The next build knows the bad file from the images state: nothing decoded, nothing written.
    second = build(site)
    assert warnings_of(second) == [] and second.written == 0
    assert (second.thumbnails.reused, second.thumbnails.encoded) == (3, 0)

    assert main(["check", "--strict", str(site)]) == 0, capsys.readouterr().err


def test_a_hash_none_of_whose_files_is_an_image_reports_its_first_file(make_site):
    site = one_image_site(make_site, b"<!doctype html><p>gone</p>",
                          extra={cache_name(URL, "png"): b"\x89PNG\r\n\x1a\n" + b"\x00" * 8})
    result = build(site)
    assert [re.sub(r"^content/a\.md:\d+: ", "", w) for w in warnings_of(result)] == [
        f"warning: images[0]: {URL}: the file is HTML or XML, not an image; shown as a placeholder"]
    assert result.thumbnails.failed == 1
