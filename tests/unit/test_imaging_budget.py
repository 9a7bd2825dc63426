"""Memory is bounded by design: the decode cost is computed from the header, after
shrink-on-load, and what would not fit the budget is refused before any pixel is decoded."""

import json
import os
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import pytest
from PIL import Image

from scripts.support.sample_images import encode, photo
from tests.image_core import make
from thumbnailer.errors import CorruptImageError, TooManyPixelsError, TruncatedImageError
from thumbnailer.image.budget import (
    MIN_BUDGET_PIXELS,
    decode_cost,
    jpeg_coefficient_pixels,
    pixel_budget,
)
from thumbnailer.image.render import render

REPO = Path(__file__).resolve().parents[2]


def png_header_only(width: int, height: int, colour_type: int = 2) -> bytes:
    """A PNG that declares width x height but carries almost no pixel data."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, colour_type, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64))


def test_the_budget_grows_with_the_functions_memory():
    # GIVEN Lambda memory sizes / WHEN each gets its budget
    budgets = {mb: pixel_budget(mb) for mb in (128, 512, 1024, 3008)}
    # THEN more memory buys more pixels, never less than an ordinary photo needs
    assert budgets[128] == MIN_BUDGET_PIXELS
    assert budgets[128] < budgets[512] < budgets[1024] < budgets[3008]
    # AND at 512 MB a 24 MP RGBA PNG (2 copies at the peak) fits, a 100 MP RGB PNG does not
    assert decode_cost("PNG", "RGBA", (6000, 4000)).pixels <= budgets[512]
    assert decode_cost("PNG", "RGB", (10000, 10000)).pixels > budgets[512]


@pytest.mark.parametrize(
    ("image_format", "mode", "extra", "copies"),
    [
        ("PNG", "RGB", {}, 1),
        ("PNG", "RGBA", {}, 2),  # Pillow premultiplies alpha into a second canvas to resize
        ("PNG", "P", {"has_alpha": True}, 3),  # converted to RGBA, then premultiplied
        ("WEBP", "RGB", {}, 4),  # libwebp's two canvases and Pillow's copy of one
        ("HEIF", "RGB", {}, 2.5),
    ],
)
def test_the_cost_counts_every_full_size_copy(image_format, mode, extra, copies):
    cost = decode_cost(image_format, mode, (1000, 1000), **extra)
    assert cost.pixels == copies * 1_000_000


def test_progressive_jpeg_coefficients_are_counted_at_full_size():
    # GIVEN a 16x16 4:2:0 JPEG: Y has 4 blocks, Cb and Cr one each, 64 coefficients of 2 bytes
    # WHEN counted / THEN 6 blocks * 64 * 2 bytes = 768 bytes = 192 four-byte pixels
    assert jpeg_coefficient_pixels((16, 16), [(2, 2), (1, 1), (1, 1)]) == 192


def test_a_progressive_jpeg_with_zero_sampling_factors_is_corrupt(core_options):
    # GIVEN a progressive JPEG whose frame header gives every component sampling factors of 0
    # (found by `make fuzz`: the coefficient count divided by zero, `unprocessable_image`)
    data = bytearray(encode(photo(64, 48), "JPEG", progressive=True))
    sof = data.index(b"\xff\xc2")
    for component in range(data[sof + 9]):
        data[sof + 11 + 3 * component] = 0x00
    # WHEN thumbnailed / THEN a corrupt image, named as such
    with pytest.raises(CorruptImageError, match="sampling factors"):
        make(bytes(data), (32,), quality=80, max_pixels=4_000_000, options=core_options)


def test_a_png_that_would_decode_to_gigabytes_is_refused_from_its_header(core_options):
    # GIVEN the 512 MB function's budget, and a PNG header declaring 12000 x 12000 RGBA (0.6 GB
    # decoded, and as much again premultiplied to resize), with no pixel data behind it
    data = png_header_only(12_000, 12_000, colour_type=6)

    # WHEN thumbnailed / THEN it is refused before decoding (no truncation error: nothing was
    # decoded), and the message says what it would have cost
    with pytest.raises(TooManyPixelsError, match=r"288\.0 megapixels.*limit is 67\.1"):
        make(data, (128, 512), max_pixels=pixel_budget(512), options=core_options)


def test_the_same_pixel_count_fits_as_a_jpeg_thanks_to_shrink_on_load(core_options):
    # GIVEN a 10000x10000 JPEG header (100 MP) whose data is cut short, under the 512 MB budget
    whole = encode(Image.new("RGB", (10_000, 10_000), "navy"), "JPEG", quality=50)
    data = whole[: len(whole) // 2]

    # WHEN thumbnailed
    # THEN the budget lets it through (it would decode at 1/8 scale: 1250x1250), and only the
    # missing data stops it
    with pytest.raises(TruncatedImageError):
        make(data, (128, 512), max_pixels=pixel_budget(512), options=core_options)


def test_progressive_jpeg_buffers_can_tip_the_balance():
    # GIVEN the same 4000x3000 photo as a baseline and as a progressive JPEG, and a budget of
    # 5 MP: both decode at 1/2 scale (2000x1500 = 3 MP), but libjpeg holds all of a
    # progressive JPEG's coefficients (4:2:0: 0.75 four-byte pixels per source pixel = 9 MP)
    picture = photo(4000, 3000, seed=2)
    baseline = encode(picture, "JPEG", quality=85)
    progressive = encode(picture, "JPEG", quality=85, progressive=True)

    # WHEN each is rendered under the budget
    made = render(baseline, (512,), max_pixels=5_000_000)

    # THEN the baseline fits, the progressive one is refused, and the message names the cause
    assert made.cost.scale == 2
    assert made.cost.decoded_size == (2000, 1500)
    with pytest.raises(TooManyPixelsError, match="coefficient buffers"):
        render(progressive, (512,), max_pixels=5_000_000)


@pytest.fixture(scope="module")
def huge_jpeg(tmp_path_factory) -> Path:
    """A real 12000x8400 (100.8 MP) JPEG, made in a separate process."""
    path = tmp_path_factory.mktemp("huge") / "huge.jpg"
    draw = f"""
from PIL import Image, ImageDraw
image = Image.new("RGB", (12000, 8400), (40, 90, 160))
draw = ImageDraw.Draw(image)
for x in range(0, 12000, 1500):
    draw.rectangle((x, 0, x + 700, 8400), fill=(220, 200, 40))
draw.ellipse((3000, 2000, 9000, 7000), fill=(200, 30, 40))
image.save({str(path)!r}, "JPEG", quality=85)
"""
    subprocess.run([sys.executable, "-c", draw], check=True, timeout=120)
    return path


@pytest.mark.slow
def test_a_100_megapixel_jpeg_is_thumbnailed_within_512_mb(huge_jpeg, core_options):
    # GIVEN a real 12000x8400 (100.8 MP) JPEG
    # AND a fresh process that thumbnails it with the 512 MB function's budget
    thumbnail = f"""
import json, re
from thumbnailer.image.budget import pixel_budget
from thumbnailer.image.renditions import make_renditions
made = make_renditions(open({str(huge_jpeg)!r}, "rb").read(), (128, 512), quality=85,
                       max_pixels=pixel_budget(512), **{dict(core_options)!r})
# VmHWM is this process's own peak (ru_maxrss would include the parent's at fork time)
peak_kb = int(re.search(r"VmHWM:\\s+(\\d+)", open("/proc/self/status").read())[1])
sizes = {{r.name: r.size for r in made.renditions if r.format == "webp"}}
print(json.dumps({{"sizes": sizes, "count": len(made.renditions), "peak_mb": peak_kb / 1024}}))
"""

    # WHEN it runs
    result = subprocess.run(
        [sys.executable, "-c", thumbnail],
        env={**os.environ, "PYTHONPATH": str(REPO / "lambda")},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    # THEN both thumbnails are made (and with every option, the crops and every AVIF too), and
    # the process never held more than a fraction of 512 MB
    assert result.returncode == 0, result.stderr
    outcome = json.loads(result.stdout)
    crops = {f"{w}x{h}": [w, h] for w, h in core_options.get("crops", ())}
    assert outcome["sizes"] == {"512w": [512, 358], "128w": [128, 90], **crops}
    assert outcome["count"] == len(outcome["sizes"]) * len(core_options.get("formats", ("webp",)))
    assert outcome["peak_mb"] < 512 / 4
