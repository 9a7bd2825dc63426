"""An APNG whose animation cannot be read gives its default image, a still, and says so; one that
reads animates as before; one whose default image cannot be read is refused as before."""

from __future__ import annotations

import struct
from io import BytesIO

import pytest
from PIL import Image, ImageChops

from scripts.support.animation_files import apng_chunks, apng_frames, broken_apngs, png
from thumbnailer.errors import CorruptImageError
from thumbnailer.image.apng import animation_problem, default_image
from thumbnailer.image.render import render
from thumbnailer.image.renditions import make_renditions

SIZE = (60, 40)
MAX_PIXELS = 67_000_000
FIRST_FRAME = {name: data for name, data in broken_apngs(SIZE).items()}
OWN_DEFAULT = {name: data for name, data in broken_apngs(SIZE, default=True).items()}
KINDS = sorted(FIRST_FRAME)


def still_of(data: bytes) -> Image.Image:
    """The thumbnail at the APNG's own width, which must be a still."""
    rendering = render(data, (SIZE[0],), max_pixels=MAX_PIXELS)
    (picture,) = rendering.frames[SIZE[0]]
    return picture.convert("RGBA")


def default_picture(data: bytes) -> Image.Image:
    """What the IDAT alone decodes to: the PNG without its animation chunks, by Pillow."""
    return Image.open(BytesIO(default_image(data))).convert("RGBA")


@pytest.mark.parametrize("default_is_first_frame", [True, False])
@pytest.mark.parametrize("kind", KINDS)
def test_an_apng_whose_animation_cannot_be_read_gives_its_default_image(
    kind, default_is_first_frame
):
    # GIVEN an APNG broken after its default image (the first frame's, or one of its own)
    data = (FIRST_FRAME if default_is_first_frame else OWN_DEFAULT)[kind]

    # WHEN thumbnailed
    made = make_renditions(data, (32, 512), quality=85, max_pixels=MAX_PIXELS)

    # THEN a still of the default image, at the image's size, noted for the log
    assert made.frames == 1
    assert made.frames_dropped is False
    assert made.size == SIZE
    assert made.note is not None
    assert made.note.startswith("the APNG's animation cannot be read (")
    assert ImageChops.difference(still_of(data), default_picture(data)).getbbox() is None


def test_the_default_image_is_the_idat_not_a_frame_of_the_animation():
    # GIVEN a broken APNG with a default image of its own (yellow; the animation starts red)
    data = OWN_DEFAULT["sequence numbers swapped"]

    # WHEN thumbnailed / THEN the still is the default image's colour
    assert still_of(data).getpixel((1, 1)) == (220, 200, 40, 255)
    assert still_of(FIRST_FRAME["sequence numbers swapped"]).getpixel((1, 1)) == (200, 30, 30, 255)


@pytest.mark.parametrize("default", [None, Image.new("RGBA", SIZE, (220, 200, 40, 255))])
def test_an_apng_that_reads_is_animated_as_before(default):
    # GIVEN a sound APNG, its default image the first frame or one of its own
    data = png(apng_chunks(SIZE, apng_frames(SIZE), default=default))

    # WHEN thumbnailed / THEN the animation's three frames, the default image not among them
    made = make_renditions(data, (32,), quality=85, max_pixels=MAX_PIXELS)
    assert made.frames == 3
    assert made.note is None
    first = render(data, (SIZE[0],), max_pixels=MAX_PIXELS).frames[SIZE[0]][0]
    assert first.convert("RGBA").getpixel((1, 1)) == (200, 30, 30, 255)


def test_frames_past_the_kept_ones_are_not_looked_at():
    # GIVEN an APNG whose third frame is broken
    data = FIRST_FRAME["sequence number skipped"]

    # WHEN only two frames are kept / THEN the two animate, as before
    assert animation_problem(data, 2) is None
    made = make_renditions(data, (32,), quality=85, max_pixels=MAX_PIXELS, max_frames=2)
    assert made.frames == 2
    assert made.frames_dropped is True
    assert made.note is None


def test_fewer_frames_declared_than_stored_animate_the_declared_ones_as_before():
    # GIVEN an APNG whose animation control chunk declares 2 of its 3 frames
    chunks = apng_chunks(SIZE, apng_frames(SIZE))
    chunks[1] = (b"acTL", struct.pack(">II", 2, 0))

    # WHEN thumbnailed / THEN two frames, as Chromium shows
    made = make_renditions(png(chunks), (32,), quality=85, max_pixels=MAX_PIXELS)
    assert (made.frames, made.note) == (2, None)


def test_a_last_frame_without_data_ends_the_animation_as_before():
    # GIVEN an APNG whose last frame control has no data after it
    chunks = apng_chunks(SIZE, apng_frames(SIZE))
    del chunks[-2]  # the last fdAT, before IEND

    # WHEN thumbnailed / THEN the two frames before it animate (Chromium shows those two)
    made = make_renditions(png(chunks), (32,), quality=85, max_pixels=MAX_PIXELS)
    assert (made.frames, made.note) == (2, None)


def test_an_apng_whose_default_image_cannot_be_read_is_refused_as_before():
    # GIVEN an APNG whose first frame control, before the IDAT, is numbered 1, not 0 (Chromium
    # shows nothing)
    chunks = apng_chunks(SIZE, apng_frames(SIZE))
    kind, body = chunks[2]
    assert kind == b"fcTL"
    chunks[2] = (kind, struct.pack(">I", 1) + body[4:])

    # WHEN thumbnailed / THEN corrupt, as today
    with pytest.raises(CorruptImageError, match="header is unreadable"):
        make_renditions(png(chunks), (32,), quality=85, max_pixels=MAX_PIXELS)


def test_a_default_image_whose_frame_control_is_smaller_is_refused_as_before():
    # GIVEN an APNG whose first frame control, the default image's, is narrower than the image
    # (its IDAT holds the whole width: Chromium shows nothing)
    chunks = apng_chunks(SIZE, apng_frames(SIZE))
    body = bytearray(chunks[2][1])
    body[4:8] = struct.pack(">I", SIZE[0] // 2)
    chunks[2] = (b"fcTL", bytes(body))

    # WHEN thumbnailed / THEN corrupt, as today
    with pytest.raises(CorruptImageError):
        make_renditions(png(chunks), (32,), quality=85, max_pixels=MAX_PIXELS)


def test_the_default_image_keeps_every_chunk_but_the_animation_ones():
    # GIVEN a broken APNG / WHEN its default image is taken
    data = FIRST_FRAME["frame data missing"]
    still = default_image(data)

    # THEN a PNG without acTL, fcTL or fdAT, its other chunks as they were
    assert not any(kind in still for kind in (b"acTL", b"fcTL", b"fdAT"))
    assert still.startswith(data[:33])  # the signature and IHDR
    assert Image.open(BytesIO(still)).get_format_mimetype() == "image/png"
