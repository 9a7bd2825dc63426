"""The image core, with every image drawn in the test."""

import struct
import zlib
from io import BytesIO

import pytest
from PIL import Image, ImageChops, ImageDraw

from scripts.support.sample_images import encode, jpeg_with_exif, photo, transparent_logo
from tests.image_core import make, widths_of
from thumbnailer.errors import (
    CorruptImageError,
    EmptyObjectError,
    NotAnImageError,
    TooManyPixelsError,
    TruncatedImageError,
    UnsupportedFormatError,
)
from thumbnailer.image.geometry import target_size

WIDTHS = (128, 512)
MAX_PIXELS = 50_000_000


def thumbs(data: bytes, *, options, widths=WIDTHS, quality=85, max_pixels=MAX_PIXELS):
    """Each width's WebP, decoded, and the whole set (every rendition checked as it is made)."""
    made = make(data, widths, options=options, quality=quality, max_pixels=max_pixels)
    return {w: Image.open(BytesIO(r.data)) for w, r in widths_of(made).items()}, made


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that declares width x height but carries almost no pixel data."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64))


def test_thumbnails_are_exactly_the_configured_widths_keeping_the_aspect_ratio(core_options):
    # GIVEN a 1000x500 JPEG
    data = encode(photo(1000, 500), "JPEG")
    # WHEN thumbnailed
    out, made = thumbs(data, options=core_options)
    # THEN each is WebP, exactly as wide as configured, half as tall
    assert {w: im.size for w, im in out.items()} == {128: (128, 64), 512: (512, 256)}
    assert {im.format for im in out.values()} == {"WEBP"}
    assert made.source_format == "JPEG"
    assert made.size == (1000, 500)  # no EXIF orientation: as stored


def test_a_narrow_source_is_never_enlarged_but_every_width_is_still_written(core_options):
    # GIVEN a source narrower than both widths
    out, _ = thumbs(encode(photo(100, 80), "PNG"), options=core_options)
    # THEN both thumbnails exist, at the source's own size
    assert {w: im.size for w, im in out.items()} == {128: (100, 80), 512: (100, 80)}


@pytest.mark.parametrize(
    ("source", "width", "expected"),
    [
        ((4000, 3000), 512, (512, 384)),
        ((100, 80), 512, (100, 80)),  # never enlarged
        ((10000, 1), 128, (128, 1)),  # never 0 px
        ((20, 100000), 128, (3, 16383)),  # WebP's height limit wins; still at least 1 px wide
        ((1, 100000), 128, (1, 16383)),
        ((30000, 30000), 16383, (16383, 16383)),
    ],
)
def test_target_size_respects_aspect_limits_and_never_zero(source, width, expected):
    assert target_size(source, width) == expected


def test_a_very_tall_image_is_bounded_by_webps_limit(core_options):
    # GIVEN a 10 x 40000 strip (taller than WebP can store)
    out, _ = thumbs(
        encode(Image.new("RGB", (10, 40000), "green"), "PNG"), widths=(128,), options=core_options
    )
    # THEN the thumbnail fits WebP and keeps the ratio
    assert out[128].size == (4, 16383)


@pytest.mark.parametrize(
    ("orientation", "red_corner"),
    [(1, "top_left"), (3, "bottom_right"), (6, "top_right"), (8, "bottom_left")],
)
def test_exif_orientation_is_applied(orientation, red_corner, core_options):
    # GIVEN a stored 400x200 image, red in its top-left quadrant, tagged with an orientation
    stored = Image.new("RGB", (400, 200), "white")
    ImageDraw.Draw(stored).rectangle((0, 0, 199, 99), fill="red")
    data = jpeg_with_exif(stored, orientation=orientation)
    # WHEN thumbnailed
    out, _ = thumbs(data, widths=(128,), options=core_options)
    thumb = out[128].convert("RGB")
    # THEN the image is shown as the camera was held, and the red corner moved accordingly
    rotated = orientation in (6, 8)
    assert thumb.size == ((128, 256) if rotated else (128, 64))
    w, h = thumb.size
    corners = {
        "top_left": (w // 8, h // 8),
        "top_right": (w - 1 - w // 8, h // 8),
        "bottom_left": (w // 8, h - 1 - h // 8),
        "bottom_right": (w - 1 - w // 8, h - 1 - h // 8),
    }
    for name, xy in corners.items():
        r, g, b = thumb.getpixel(xy)
        assert (r > 200 and g < 60 and b < 60) == (name == red_corner), (name, (r, g, b))


def test_rgba_transparency_is_kept(core_options):
    # GIVEN a transparent PNG with an opaque disc in the middle
    out, _ = thumbs(encode(transparent_logo(640, 480), "PNG"), options=core_options)
    thumb = out[512]
    # THEN the thumbnail has alpha: corners transparent, centre opaque
    assert thumb.mode == "RGBA"
    assert thumb.getpixel((2, 2))[3] == 0
    assert thumb.getpixel((256, 192))[3] == 255


def test_grey_with_alpha_becomes_rgba(core_options):
    # GIVEN a grey image with alpha, a mode WebP cannot store
    source = transparent_logo(300, 200).convert("LA")
    out, _ = thumbs(encode(source, "PNG"), widths=(128,), options=core_options)
    # THEN the thumbnail is RGBA and still transparent where the source was
    assert out[128].mode == "RGBA"
    assert out[128].getpixel((1, 1))[3] == 0


def test_gif_palette_transparency_is_kept(core_options):
    # GIVEN a palette GIF whose index 0 is transparent
    source = Image.new("P", (200, 100), 0)
    source.putpalette([0, 0, 0, 255, 0, 0] + [0, 0, 0] * 254)
    ImageDraw.Draw(source).rectangle((50, 25, 150, 75), fill=1)
    out, made = thumbs(encode(source, "GIF", transparency=0), widths=(128,), options=core_options)
    # THEN the transparent background survives and the red box is red
    assert made.source_format == "GIF"
    thumb = out[128]
    assert thumb.mode == "RGBA"
    assert thumb.getpixel((2, 2))[3] == 0
    assert thumb.getpixel((64, 32))[:3][0] > 200


def test_opaque_palette_and_grey_sources_become_rgb_with_their_tones(core_options):
    # GIVEN a mid-grey L image and an opaque palette image
    grey, _ = thumbs(
        encode(Image.new("L", (300, 300), 100), "PNG"), widths=(128,), options=core_options
    )
    palette = Image.new("RGB", (300, 300), (10, 200, 30)).convert("P")
    pal, _ = thumbs(encode(palette, "PNG"), widths=(128,), options=core_options)
    # THEN both are RGB, and the colours are where they were
    assert grey[128].mode == "RGB"
    assert all(abs(c - 100) <= 3 for c in grey[128].getpixel((64, 64)))
    assert pal[128].mode == "RGB"
    r, g, b = pal[128].getpixel((64, 64))
    assert (abs(r - 10), abs(g - 200), abs(b - 30)) <= (6, 6, 6)


def test_sixteen_bit_grey_keeps_its_tones_instead_of_clipping_to_white(core_options):
    # GIVEN a 16-bit grey PNG at half intensity (32768 of 65535)
    source = Image.new("I;16", (300, 300), 32768)
    data = encode(source, "PNG")
    assert Image.open(BytesIO(data)).mode == "I;16"
    # WHEN thumbnailed
    out, _ = thumbs(data, widths=(128,), options=core_options)
    # THEN it is mid-grey (about 128), not white
    assert all(abs(c - 128) <= 3 for c in out[128].getpixel((64, 64)))


def test_cmyk_jpeg_comes_out_rgb_with_the_right_colour(core_options):
    # GIVEN a CMYK JPEG that is pure red (no cyan, full magenta and yellow)
    source = Image.new("CMYK", (300, 200), (0, 255, 255, 0))
    out, _ = thumbs(encode(source, "JPEG", quality=95), widths=(128,), options=core_options)
    # THEN the thumbnail is red RGB
    r, g, b = out[128].getpixel((64, 40))
    assert out[128].mode == "RGB"
    assert r > 220
    assert max(g, b) < 40


def test_webp_quality_is_applied(core_options):
    # GIVEN the same photo at two qualities
    data = encode(photo(800, 600, seed=5), "PNG")
    _, made_high = thumbs(data, widths=(512,), quality=95, options=core_options)
    _, made_low = thumbs(data, widths=(512,), quality=20, options=core_options)
    high, low = widths_of(made_high)[512], widths_of(made_low)[512]
    # THEN the lower quality is smaller and further from the higher-quality rendering
    assert len(low.data) < len(high.data) * 0.6


def test_resizing_keeps_the_picture(core_options):
    # GIVEN a photo / WHEN thumbnailed at 512
    source = photo(1024, 768, seed=6)
    out, _ = thumbs(encode(source, "PNG"), widths=(512,), options=core_options)
    reference = source.resize((512, 384), Image.Resampling.LANCZOS)
    # THEN it matches a plain Lanczos resize of the source closely (lossy WebP, mean error small)
    diff = ImageChops.difference(out[512].convert("RGB"), reference).convert("L")
    mean_error = sum(i * n for i, n in enumerate(diff.histogram())) / (512 * 384)
    assert mean_error < 4


def test_thumbnails_carry_no_exif_or_gps(core_options):
    # GIVEN a JPEG with EXIF maker and GPS data
    data = jpeg_with_exif(photo(800, 600), gps=True)
    assert Image.open(BytesIO(data)).getexif().get_ifd(0x8825)
    # WHEN thumbnailed / THEN no EXIF at all is written, in any rendition (AVIF and crops too)
    _, made = thumbs(data, options=core_options)
    for rendition in made.renditions:
        thumb = Image.open(BytesIO(rendition.data))
        assert "exif" not in thumb.info
        assert len(thumb.getexif()) == 0


@pytest.mark.parametrize("image_format", ["JPEG", "PNG", "WEBP", "GIF"])
def test_each_accepted_format_is_thumbnailed(image_format, core_options):
    source = photo(600, 400, seed=7)
    out, made = thumbs(
        encode(source if image_format != "GIF" else source.convert("P"), image_format),
        options=core_options,
    )
    assert made.source_format == image_format
    assert out[512].size == (512, 341)


# --- bad objects: each gets its own error type, never a raw Pillow exception -----------------


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (b"", EmptyObjectError),
        (b"hello, this is a text file and not an image at all", NotAnImageError),
        (b"%PDF-1.7\n%\xe2\xe3", UnsupportedFormatError),
        (b"\x89PNG\r\n\x1a\n\x00\x00", CorruptImageError),  # PNG signature, no header
    ],
)
def test_unusable_bytes_are_classified(data, error, core_options):
    with pytest.raises(error):
        make(data, WIDTHS, options=core_options, max_pixels=MAX_PIXELS)


@pytest.mark.parametrize("image_format", ["JPEG", "PNG", "GIF"])
def test_truncated_uploads_are_classified_as_truncated(image_format, core_options):
    data = encode(
        photo(400, 300).convert("P") if image_format == "GIF" else photo(400, 300), image_format
    )
    with pytest.raises(TruncatedImageError):
        make(data[: len(data) // 2], WIDTHS, options=core_options, max_pixels=MAX_PIXELS)


def test_too_many_pixels_is_refused_from_the_header_before_decoding(core_options):
    # GIVEN a 8000x8000 PNG header whose pixel data is missing
    data = png_header_only(8000, 8000)
    # WHEN the limit is 50 MP / THEN the header alone refuses it (no truncation error first)
    with pytest.raises(TooManyPixelsError, match=r"64\.0 megapixels"):
        make(data, WIDTHS, options=core_options, max_pixels=MAX_PIXELS)


def test_a_decompression_bomb_is_refused(core_options):
    # GIVEN a PNG that claims 100000 x 100000 pixels (Pillow's own bomb limit trips first)
    with pytest.raises(TooManyPixelsError):
        make(png_header_only(100_000, 100_000), WIDTHS, options=core_options, max_pixels=10**12)
