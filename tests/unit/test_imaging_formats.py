"""Formats: recognised from the bytes; the accepted ones decoded, every other one refused
before any decoder sees it. Every image is made in the test (HEIC through pillow-heif's encoder,
AVIF through Pillow's)."""

import json
import os
import subprocess
import sys
from io import BytesIO
from pathlib import Path

import pytest
from PIL import Image

from scripts.support.sample_images import encode, heic, jpeg_with_exif, photo
from tests.image_core import make, widths_of
from thumbnailer.errors import (
    CorruptImageError,
    NotAnImageError,
    UnsupportedFormatError,
)
from thumbnailer.image.formats import ACCEPTED_FORMATS, sniff_format
from thumbnailer.image.renditions import make_renditions

MAX_PIXELS = 50_000_000
REPO = Path(__file__).resolve().parents[2]


def ftyp(major: bytes, *compatible: bytes) -> bytes:
    body = major + b"\0\0\0\0" + b"".join(compatible)
    return (8 + len(body)).to_bytes(4, "big") + b"ftyp" + body + b"\0\0\0\x08meta"


def source_bytes(image_format: str, image: Image.Image) -> bytes:
    if image_format == "HEIF":
        return heic(image, quality=90)
    if image_format == "GIF":
        return encode(image.convert("P"), "GIF")
    return encode(image, image_format, **({"quality": 90} if image_format != "PNG" else {}))


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (ftyp(b"heic", b"mif1", b"heic"), "HEIF"),
        (ftyp(b"mif1", b"heic", b"miaf"), "HEIF"),  # generic major brand; compatible says HEIC
        (ftyp(b"avif", b"mif1", b"miaf"), "AVIF"),
        (ftyp(b"mif1", b"avif", b"miaf"), "AVIF"),  # an AVIF lists mif1 too: AVIF wins
        (ftyp(b"isom", b"iso2", b"mp41"), None),  # an MP4 video is no image
        (b"\xff\xd8\xff\xe0\0\x10JFIF", "JPEG"),
        (b"II*\0\x08\0\0\0", "TIFF"),
        (b"BM\x36\0\0\0", "BMP"),
        (b"8BPS\0\x01", "PSD"),
        (b"\0\0\x01\0\x01\0", "ICO"),
        (b"SIMPLE  =                    T", "FITS"),
        (b"P6\n64 64\n255\n", None),
    ],
)
def test_the_format_is_named_by_the_bytes(head, expected):
    assert sniff_format(head) == expected


@pytest.mark.parametrize("image_format", ACCEPTED_FORMATS)
def test_every_accepted_format_becomes_thumbnails_with_its_colours(image_format, core_options):
    # GIVEN a 600x400 picture, left half blue, right half orange, in the format
    source = Image.new("RGB", (600, 400), (30, 60, 200))
    source.paste((240, 150, 20), (300, 0, 600, 400))
    data = source_bytes(image_format, source)

    # WHEN thumbnailed
    made = make(data, (128, 512), quality=90, max_pixels=MAX_PIXELS, options=core_options)

    # THEN the format was recognised, both widths exist, and the colours are where they were
    assert made.source_format == image_format
    assert made.size == (600, 400)  # no EXIF orientation: as stored
    out = {w: Image.open(BytesIO(r.data)) for w, r in widths_of(made).items()}
    assert {w: (im.format, im.size) for w, im in out.items()} == {
        128: ("WEBP", (128, 85)),
        512: ("WEBP", (512, 341)),
    }
    thumb = out[512].convert("RGB")
    for xy, colour in (((100, 170), (30, 60, 200)), ((400, 170), (240, 150, 20))):
        assert max(abs(a - b) for a, b in zip(thumb.getpixel(xy), colour, strict=True)) <= 12


def test_an_iphone_heic_named_jpg_is_decoded_as_heif_and_oriented(core_options):
    # GIVEN a portrait HEIC as an iPhone stores it: landscape pixels, EXIF orientation 6
    stored = Image.new("RGB", (400, 200), "white")
    stored.paste((220, 20, 20), (0, 0, 200, 100))  # red top-left quadrant, as stored
    exif = Image.Exif()
    exif[0x0112] = 6
    data = heic(stored, exif=exif.tobytes())

    # WHEN thumbnailed (the name plays no part: only bytes go in)
    made = make(data, (128,), quality=90, max_pixels=MAX_PIXELS, options=core_options)

    # THEN it is HEIF, upright (portrait), and the red corner turned to the top right
    thumb = Image.open(BytesIO(widths_of(made)[128].data)).convert("RGB")
    assert made.size == (200, 400)
    assert made.source_format == "HEIF"
    assert thumb.size == (128, 256)
    assert thumb.getpixel((110, 20))[0] > 180
    assert thumb.getpixel((110, 20))[1] < 80
    assert thumb.getpixel((20, 20)) > (200, 200, 200)


def test_a_jpeg_named_png_or_anything_is_still_a_jpeg(core_options):
    # GIVEN JPEG bytes with EXIF (the pipeline never sees a name)
    made = make(
        jpeg_with_exif(photo(300, 200)),
        (128,),
        quality=80,
        max_pixels=MAX_PIXELS,
        options=core_options,
    )
    # THEN the bytes decided
    assert made.source_format == "JPEG"


@pytest.mark.parametrize(
    "image_format",
    ["ICO", "PDF", "EPS", "PPM", "PCX", "TGA", "SGI", "DDS", "QOI", "ICNS", "DIB"],
)
def test_other_formats_are_refused_by_name_before_any_decoder_sees_them(
    monkeypatch, image_format, core_options
):
    # GIVEN a valid image in a format the pipeline does not accept (TGA has no signature)
    data = encode(photo(64, 64), image_format)
    opened = []
    monkeypatch.setattr(Image, "open", lambda *args, **kwargs: opened.append(args))

    # WHEN thumbnailed / THEN it is refused from its first bytes, as that format, Pillow never
    # asked to open it
    with pytest.raises(UnsupportedFormatError) as caught:
        make(data, (128,), max_pixels=MAX_PIXELS, options=core_options)
    assert opened == []
    assert str(caught.value).startswith(f"{image_format} images are not accepted")


@pytest.mark.parametrize(
    ("mode", "image_format"),
    [("L", "PPM"), ("P", "TGA"), ("L", "TGA"), ("RGBA", "TGA"), ("1", "MSP"), ("1", "XBM")],
)
def test_grey_palette_and_bilevel_variants_are_named_too(mode, image_format, core_options):
    # GIVEN a PGM, colour-mapped, grey and RGBA TGAs (each another header), bilevel formats
    data = encode(photo(64, 64).convert(mode), image_format)
    # WHEN thumbnailed / THEN refused as what they are
    with pytest.raises(UnsupportedFormatError, match=f"^{image_format} "):
        make(data, (128,), max_pixels=MAX_PIXELS, options=core_options)


@pytest.mark.parametrize(
    "data",
    [b"hello, world\n" * 8, bytes(range(256)), bytes(100), b"\n", b'{"a": 1}', b"PK\x03\x04zip"],
)
def test_not_an_image_is_only_for_bytes_of_no_image_format(data, core_options):
    # GIVEN text, JSON, a zip, counting bytes, zeros / WHEN thumbnailed / THEN no image at all
    with pytest.raises(NotAnImageError):
        make(data, (128,), max_pixels=MAX_PIXELS, options=core_options)


@pytest.mark.parametrize(
    "head",
    [b"8BPS\0\x01" + bytes(40), b"SIMPLE  =                    T" + bytes(40), b"%!PS-Adobe-3.0"],
)
def test_psd_fits_and_postscript_are_unsupported(head, core_options):
    with pytest.raises(UnsupportedFormatError):
        make(head, (128,), max_pixels=MAX_PIXELS, options=core_options)


def test_only_the_sniffed_decoder_may_open_the_bytes(monkeypatch, core_options):
    # GIVEN a PNG, and a spy on Image.open
    calls = []
    real_open = Image.open

    def spy(fp, mode="r", formats=None):
        calls.append(formats)
        return real_open(fp, mode, formats)

    monkeypatch.setattr(Image, "open", spy)

    # WHEN thumbnailed (by the core alone: `make` opens the renditions to check them)
    data = encode(photo(200, 100), "PNG")
    make_renditions(data, (64,), quality=80, max_pixels=MAX_PIXELS, **core_options)

    # THEN Pillow was allowed exactly one decoder: the PNG one
    assert calls == [["PNG"]]


def test_bytes_that_start_like_png_but_are_a_gif_are_corrupt_not_tried_as_gif(core_options):
    # GIVEN a PNG signature glued to a whole GIF
    data = b"\x89PNG\r\n\x1a\n" + encode(photo(64, 64).convert("P"), "GIF")
    # WHEN / THEN the PNG decoder alone looked at it, and refused it
    with pytest.raises(CorruptImageError, match="starts like PNG"):
        make(data, (64,), quality=80, max_pixels=MAX_PIXELS, options=core_options)


def test_heif_and_rare_decoders_are_loaded_only_when_an_upload_needs_them(tmp_path, core_options):
    # GIVEN a fresh interpreter that imports the handler, as Lambda's init does
    jpeg, heif = tmp_path / "photo.jpg", tmp_path / "photo.heic"
    jpeg.write_bytes(encode(photo(300, 200), "JPEG"))
    heif.write_bytes(heic(photo(300, 200)))
    script = f"""
import json, sys
import app
from thumbnailer.image.renditions import make_renditions
options = {dict(core_options)!r}
seen = {{"import": "pillow_heif" in sys.modules}}
make_renditions(open({str(jpeg)!r}, "rb").read(), (128,), quality=80, max_pixels=10**8, **options)
seen["jpeg"] = "pillow_heif" in sys.modules
seen["colour_management_after_jpeg"] = "PIL.ImageCms" in sys.modules
rare = ("PIL.PsdImagePlugin", "PIL.EpsImagePlugin", "PIL.FitsImagePlugin", "PIL.TiffImagePlugin")
seen["rare_decoders_after_jpeg"] = [name for name in rare if name in sys.modules]
make_renditions(open({str(heif)!r}, "rb").read(), (128,), quality=80, max_pixels=10**8, **options)
seen["heif"] = "pillow_heif" in sys.modules
print(json.dumps(seen))
"""
    # WHEN it thumbnails a JPEG, then a HEIC
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=REPO / "lambda",
        env={**os.environ, "PYTHONPATH": str(REPO / "lambda")},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    # THEN pillow-heif, colour management and Pillow's other decoders stayed unloaded until an
    # upload needed them (saving a WebP or an AVIF does not make Pillow import all its plugins)
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout.splitlines()[-1])
    assert seen == {
        "import": False,
        "jpeg": False,
        "colour_management_after_jpeg": False,
        "rare_decoders_after_jpeg": [],
        "heif": True,
    }
