"""The manifest's placeholders beyond the BlurHash: a tiny WebP as a data: URL, which paints
with no script, and a ThumbHash (image/placeholder.py)."""

import base64
import random
from io import BytesIO

import pytest
import thash
from PIL import Image

from scripts.support.sample_images import photo, transparent_logo
from thumbnailer.image.placeholder import DATA_URL_MAX_CHARS, placeholder_for, tiny_size

PREFIX = "data:image/webp;base64,"


def decoded_data_url(url: str) -> Image.Image:
    assert url.startswith(PREFIX)
    image = Image.open(BytesIO(base64.b64decode(url.removeprefix(PREFIX), validate=True)))
    image.load()
    return image


def thumbnail_of(picture: Image.Image, width: int = 128) -> Image.Image:
    return picture.resize((width, max(1, round(width * picture.height / picture.width))))


@pytest.mark.parametrize(
    "size", [(1600, 900), (900, 1600), (1200, 630), (2000, 500), (640, 480), (500, 500),
             (4000, 300), (96, 64)],
)  # fmt: skip
def test_the_data_url_is_a_small_webp_at_the_sources_aspect_ratio(size):
    # GIVEN a source of some aspect ratio, and its smallest thumbnail (rounded to whole pixels)
    source = photo(*size, seed=sum(size))
    # WHEN its placeholder is made
    placeholder = placeholder_for(thumbnail_of(source), size)
    # THEN the data URL is at most 1,024 characters, a WebP a few pixels across, whose aspect
    # ratio is the source's within 5%
    assert len(placeholder.data_url) <= DATA_URL_MAX_CHARS
    tiny = decoded_data_url(placeholder.data_url)
    assert tiny.format == "WEBP"
    assert 16 <= max(tiny.size) <= 64
    ratio = size[0] / size[1]
    assert abs(tiny.width / tiny.height / ratio - 1) <= 0.05, tiny.size


def test_the_data_url_looks_like_the_picture():
    # GIVEN a picture, left half red, right half blue
    picture = Image.new("RGB", (1600, 900), (230, 20, 20))
    picture.paste((20, 20, 230), (800, 0, 1600, 900))
    # WHEN its data URL is decoded
    tiny = decoded_data_url(placeholder_for(thumbnail_of(picture), picture.size).data_url)
    # THEN its left is red and its right blue
    rgb = tiny.convert("RGB")
    left, right = rgb.getpixel((1, tiny.height // 2)), rgb.getpixel((tiny.width - 2, 4))
    assert left[0] > 150 > left[2]
    assert right[2] > 150 > right[0]


def test_a_transparent_source_keeps_its_transparency_in_the_data_url():
    logo = transparent_logo()
    tiny = decoded_data_url(placeholder_for(thumbnail_of(logo), logo.size).data_url)
    assert tiny.mode == "RGBA"
    assert tiny.getchannel("A").getextrema()[0] == 0


@pytest.mark.parametrize("size", [(16, 16), (17, 9), (64, 1)])
def test_noise_still_fits_in_1024_characters(size):
    # GIVEN pure noise with alpha, which an encoder compresses worst, already at the data URL's
    # size (nothing averaged away)
    noise = Image.frombytes("RGBA", size, random.Random(7).randbytes(size[0] * size[1] * 4))
    # WHEN its placeholder is made / THEN the data URL still fits
    assert len(placeholder_for(noise, size).data_url) <= DATA_URL_MAX_CHARS


def test_tiny_sizes_grow_only_as_far_as_the_aspect_ratio_needs():
    assert tiny_size((1600, 900)) == (16, 9)
    assert tiny_size((900, 1600)) == (9, 16)
    assert tiny_size((1200, 630)) == (17, 9)  # 16 x 8 would be 5% too wide


def test_the_thumbhash_decodes_to_the_pictures_colour_and_shape():
    # GIVEN a wide, mostly green picture
    picture = Image.new("RGB", (1600, 800), (30, 180, 60))
    # WHEN its ThumbHash is made
    placeholder = placeholder_for(thumbnail_of(picture), picture.size)
    hash_bytes = list(base64.b64decode(placeholder.thumbhash, validate=True))
    # THEN it is a few dozen bytes of standard base64 that decode to its colour and its shape
    assert 5 <= len(hash_bytes) <= 40
    red, green, blue, alpha = thash.thumb_hash_to_average_rgba(hash_bytes)
    assert green > 0.6 > red
    assert blue < 0.4
    assert alpha == 1
    assert abs(thash.thumb_hash_to_approximate_aspect_ratio(hash_bytes) - 2) < 0.3


def test_the_placeholder_keeps_its_blurhash_and_colour_beside_the_new_fields():
    placeholder = placeholder_for(thumbnail_of(photo(800, 600)), (800, 600)).as_dict()
    assert list(placeholder) == ["algorithm", "hash", "color", "data_url", "thumbhash"]
    assert placeholder["algorithm"] == "blurhash"
    assert len(placeholder["hash"]) == 28
