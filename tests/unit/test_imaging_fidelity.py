"""Fidelity: the shortcuts (shrink-on-load, reduce, thumbnails made from thumbnails) cost no
visible quality: anti-aliased, not shifted, within 40 dB of an exact Lanczos, tones kept, and
nothing private carried over."""

from io import BytesIO

import pytest
from PIL import Image, ImageDraw, PngImagePlugin

from scripts.support.quality import psnr
from scripts.support.sample_images import encode, photo, zone_plate
from tests.image_core import make
from thumbnailer.image.render import render

MAX_PIXELS = 50_000_000


def rendered(data: bytes, widths=(512, 128), *, options) -> dict[int, Image.Image]:
    """The thumbnails before encoding, so that only the resizing is measured: each width's and,
    with crops, each crop's cover thumbnail's (they change the chain of resizes)."""
    made = render(data, widths, max_pixels=MAX_PIXELS, crops=options.get("crops", ()))
    return {width: frames[0] for width, frames in made.frames.items()}


def exact_lanczos(data: bytes, size: tuple[int, int]) -> Image.Image:
    """The reference: full decode, one Lanczos from full resolution, no shortcut."""
    full = Image.open(BytesIO(data)).convert("RGB")
    return full.resize(size, Image.Resampling.LANCZOS)


@pytest.mark.parametrize("image_format", ["JPEG", "PNG"])
def test_the_resize_is_within_40_db_of_an_exact_lanczos(image_format, core_options):
    # GIVEN a 2400x1600 photo-like picture (JPEG decodes at 1/2 scale, PNG reduces first)
    params = {"quality": 92} if image_format == "JPEG" else {"compress_level": 1}
    data = encode(photo(2400, 1600, seed=11), image_format, **params)

    # WHEN thumbnailed (before WebP encoding)
    thumbs = rendered(data, options=core_options)

    # THEN both widths are within 40 dB of an exact Lanczos from the fully decoded source,
    # the 128 px one although it was made from the 512 px one
    for width, thumb in thumbs.items():
        assert psnr(thumb, exact_lanczos(data, thumb.size)) >= 40, width


@pytest.mark.parametrize("image_format", ["JPEG", "PNG"])
def test_fine_detail_is_anti_aliased_not_turned_into_moire(image_format, core_options):
    # GIVEN 2000x1000 of one-pixel black and white stripes (the worst case for aliasing)
    stripes = Image.new("L", (2000, 1000), 0)
    draw = ImageDraw.Draw(stripes)
    for x in range(0, 2000, 2):
        draw.line((x, 0, x, 999), fill=255)
    params = {"quality": 95, "subsampling": 0} if image_format == "JPEG" else {}
    data = encode(stripes.convert("RGB"), image_format, **params)

    # WHEN thumbnailed to 128 px (a non-integer 15.6x reduction)
    thumb = rendered(data, (128,), options=core_options)[128].convert("L")

    # THEN every pixel is the stripes' mean grey: no bands, no moire
    low, high = thumb.getextrema()
    assert low >= 112, (low, high)
    assert high <= 144, (low, high)


def test_shrink_on_load_leaves_enough_resolution_to_avoid_moire():
    # GIVEN a zone plate (rings up to the finest frequency a JPEG can hold) as a 2000 px JPEG:
    # a 256 px thumbnail decodes it at 1/2 scale, not 1/4 (which aliases into ghost rings)
    data = encode(zone_plate(2000, 1334), "JPEG", quality=95)

    # WHEN thumbnailed (before WebP encoding)
    made = render(data, (256,), max_pixels=MAX_PIXELS)

    # THEN it is decoded at 1/2 scale and is within 40 dB of an exact Lanczos of the full image
    assert made.cost.scale == 2
    thumb = made.frames[256][0]
    assert psnr(thumb, exact_lanczos(data, thumb.size)) >= 40


def test_features_stay_where_they_were(core_options):
    # GIVEN a 4001x3001 black JPEG (odd sizes: shrink-on-load leaves partial edge pixels) with a
    # white 40 px square centred at (1020, 520)
    source = Image.new("RGB", (4001, 3001), "black")
    ImageDraw.Draw(source).rectangle((1000, 500, 1039, 539), fill="white")
    data = encode(source, "JPEG", quality=95)

    # WHEN thumbnailed to 512 px
    thumb = rendered(data, (512,), options=core_options)[512].convert("L")

    # THEN the square's centre of brightness is where it should be, within a quarter pixel
    total = sx = sy = 0
    for y in range(thumb.height):
        for x in range(thumb.width):
            value = thumb.getpixel((x, y))
            total += value
            sx += value * (x + 0.5)
            sy += value * (y + 0.5)
    scale = 512 / 4001
    assert abs(sx / total - 1020 * scale) < 0.25
    assert abs(sy / total - 520 * thumb.height / 3001) < 0.25


def test_a_sixteen_bit_gradient_keeps_every_tone(core_options):
    # GIVEN a 16-bit grey TIFF going from black to white across 1024 px
    row = [round(x * 65535 / 1023) for x in range(1024)]
    gradient = Image.new("I;16", (1024, 64))
    gradient.putdata(row * 64)
    data = encode(gradient, "TIFF")
    assert Image.open(BytesIO(data)).mode == "I;16"

    # WHEN thumbnailed to 256 px
    thumb = rendered(data, (256,), options=core_options)[256].convert("L")

    # THEN it still goes from black to white, evenly, never clipping half of it to white
    values = [thumb.getpixel((x, thumb.height // 2)) for x in range(256)]
    assert values[2] <= 5
    assert values[-3] >= 250
    assert abs(values[128] - 128) <= 3
    assert values == sorted(values)


def test_a_palette_image_keeps_its_tones_and_edges(core_options):
    # GIVEN a palette PNG: 16 vertical bands of distinct colours
    bands = Image.new("P", (1600, 400))
    bands.putpalette([channel for i in range(16) for channel in (i * 16, 255 - i * 16, 90)])
    draw = ImageDraw.Draw(bands)
    for i in range(16):
        draw.rectangle((i * 100, 0, i * 100 + 99, 399), fill=i)

    # WHEN thumbnailed to 160 px (10 px per band)
    thumb = rendered(encode(bands, "PNG"), (160,), options=core_options)[160]

    # THEN each band's middle has its palette colour (Lanczos, not nearest-neighbour, yet exact
    # away from the edges)
    for i in range(16):
        assert thumb.getpixel((i * 10 + 5, 20)) == (i * 16, 255 - i * 16, 90)


def test_no_xmp_or_exif_leaks_into_the_thumbnails(core_options):
    # GIVEN a PNG whose XMP holds a GPS position, and a JPEG with EXIF and XMP
    xmp = (
        b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/'
        b'22-rdf-syntax-ns#"><rdf:Description xmlns:exif="http://ns.adobe.com/exif/1.0/" '
        b'exif:GPSLatitude="48,51.4N"/></rdf:RDF></x:xmpmeta>'
    )
    exif = Image.Exif()
    exif[0x010F] = "SampleCam"
    png_text = PngImagePlugin.PngInfo()
    png_text.add_itxt("XML:com.adobe.xmp", xmp.decode())
    sources = [
        encode(photo(600, 400), "PNG", pnginfo=png_text),
        encode(photo(600, 400), "JPEG", exif=exif, xmp=xmp),
    ]
    for data in sources:
        assert b"GPSLatitude" in data
        # WHEN thumbnailed
        made = make(data, (128, 512), max_pixels=MAX_PIXELS, options=core_options)
        # THEN no rendition carries any of it
        for thumbnail in made.renditions:
            assert b"GPSLatitude" not in thumbnail.data
            assert b"SampleCam" not in thumbnail.data
            info = Image.open(BytesIO(thumbnail.data)).info
            assert not info.get("xmp")
            assert not info.get("exif")
