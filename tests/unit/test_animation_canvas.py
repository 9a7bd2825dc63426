"""GIF frames that reach outside the logical screen: clipped to the canvas a browser shows, and
the canvas Pillow grows for them counted by the decode budget before any frame is decoded."""

from __future__ import annotations

from io import BytesIO
from pathlib import Path

import pytest
from PIL import GifImagePlugin, Image

from scripts.support.animation_files import (
    CLEAR,
    GifFrame,
    gif,
    gifs_reaching_outside,
    palette,
    pattern,
)
from scripts.support.sample_images import gif_with_oversized_frame
from thumbnailer.errors import CorruptImageError, TooManyPixelsError
from thumbnailer.image import animation
from thumbnailer.image.decode import open_within_budget
from thumbnailer.image.gif import frame_extents, grown_canvas
from thumbnailer.image.render import render
from thumbnailer.image.renditions import make_renditions

SCREEN = (60, 40)
MAX_PIXELS = 67_000_000
CASES = gifs_reaching_outside(SCREEN)
OUTSIDE_AT = (45, 30)  # where gifs_reaching_outside puts the second frame: 3/4 of the screen
COLOURS = palette()


def colour(index: int) -> tuple[int, int, int, int]:
    return (*COLOURS[index * 3 : index * 3 + 3], 255)


def frames_of(data: bytes) -> list[Image.Image]:
    """Every frame of the thumbnail at the screen's own width (no resizing), as RGBA."""
    rendering = render(data, (SCREEN[0],), max_pixels=MAX_PIXELS)
    return [frame.convert("RGBA") for frame in rendering.frames[SCREEN[0]]]


@pytest.mark.parametrize("name", sorted(name for name in CASES if "disposal" in name))
def test_a_frame_reaching_outside_the_screen_is_clipped_to_it(name):
    # GIVEN a 60x40 GIF whose second frame, 30x20 at (45, 30), reaches 15x10 past the screen
    data = CASES[name]
    outside = pattern((SCREEN[0] // 2, SCREEN[1] // 2), 60, seed=1)
    under = Image.open(BytesIO(data)).convert("RGBA").getpixel((50, 35))

    # WHEN thumbnailed
    made = make_renditions(data, (32, SCREEN[0]), quality=85, max_pixels=MAX_PIXELS)
    frames = frames_of(data)

    # THEN every frame is made, at the screen's size, not the grown one
    assert made.frames == 3
    assert made.size == SCREEN
    assert [frame.size for frame in frames] == [SCREEN] * 3
    # AND the second frame shows the part of the outside frame inside the screen, in its place
    assert frames[1].getpixel((59, 39)) == colour(outside.getpixel((14, 9)))
    # AND the third frame shows what the second frame's disposal left there (it draws elsewhere)
    after = frames[2].getpixel((50, 35))
    disposal = int(name.split()[1].rstrip(","))
    if disposal in (0, 1):
        assert after == colour(outside.getpixel((5, 5)))
    elif disposal == 3:
        assert after == under
    elif "transparent" in name:
        assert after[3] == 0
    else:  # Pillow restores an opaque GIF's background colour, where browsers clear it
        assert after == colour(0)


def test_a_transparent_frame_reaching_outside_keeps_what_is_under_its_clear_pixels():
    # GIVEN the transparent GIF: the outside frame's top-left corner is clear
    data = CASES["disposal 1, transparent"]
    under = Image.open(BytesIO(data)).convert("RGBA").getpixel(OUTSIDE_AT)

    # WHEN thumbnailed / THEN the first frame shows through there
    assert frames_of(data)[1].getpixel(OUTSIDE_AT) == under
    assert frames_of(data)[0].getpixel((10, 10))[3] == 0  # the first frame's clear box


def test_a_first_frame_larger_than_the_screen_grows_the_canvas_as_browsers_do():
    # GIVEN a 60x40 screen whose first frame is 70x45
    data = CASES["first frame larger than the screen"]

    # WHEN thumbnailed / THEN the canvas is the first frame's (Chromium shows 70x45 too)
    made = make_renditions(data, (32,), quality=85, max_pixels=MAX_PIXELS)
    assert made.size == (70, 45)
    assert made.frames == 2


def test_the_budget_counts_the_canvas_pillow_grows_before_decoding():
    # GIVEN a 16x16 GIF whose second frame claims 2000x1500
    data = gif_with_oversized_frame((2_000, 1_500))

    # WHEN opened (nothing decoded)
    opened = open_within_budget(data, (128,), max_pixels=MAX_PIXELS, max_frames=300)

    # THEN the cost is that of the 2000x1500 canvas Pillow will hold, the crop back counted
    assert opened.source_size == (16, 16)
    assert opened.cost.decoded_size == (2_000, 1_500)
    assert opened.cost.pixels >= 6 * 2_000 * 1_500
    assert "outside the 16x16 canvas" in opened.cost.describe()


def test_a_gif_bomb_is_still_refused_before_any_frame_is_decoded(monkeypatch):
    # GIVEN a 16x16 GIF whose second frame claims 5000x5000, and a decoder that must not run
    data = gif_with_oversized_frame((5_000, 5_000))

    def decoded(image):
        raise AssertionError("a frame was decoded")

    monkeypatch.setattr(GifImagePlugin.GifImageFile, "load", decoded)

    # WHEN thumbnailed / THEN too many pixels, said before decoding anything
    with pytest.raises(TooManyPixelsError, match="5000x5000 decoded") as caught:
        make_renditions(data, (128, 512), quality=85, max_pixels=MAX_PIXELS)
    assert caught.value.reason == "too_many_pixels"
    assert "refused before decoding" in str(caught.value)


def test_a_frame_growing_the_canvas_past_its_budget_is_refused_before_it_is_decoded():
    # GIVEN a GIF whose second frame grows Pillow's canvas, budgeted for the screen alone (as
    # if the blocks had been read otherwise than Pillow reads them)
    image = Image.open(BytesIO(CASES["disposal 0, opaque"]))

    # WHEN its frames are read / THEN refused when Pillow grows the canvas, before loading
    with pytest.raises(CorruptImageError, match="frame 2 grows the canvas to 75x50, past"):
        list(animation.frames(image, 3, SCREEN))


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_grown_canvas_is_the_one_pillow_reaches(name):
    # GIVEN each GIF / WHEN its blocks are read and Pillow composites every frame
    data = CASES[name]
    image = Image.open(BytesIO(data))
    predicted = grown_canvas(data, image.size, 3)
    for index in range(image.n_frames):
        image.seek(index)
    # THEN the canvas read from the blocks is Pillow's
    assert predicted == image.size


@pytest.mark.parametrize(
    "extras",
    [
        b"\x21\xfe\x07comment\x00",  # a comment
        b"\x21\xff\x0bNETSCAPE2.0\x00",  # a loop block on the second frame (Pillow reads it
        # only on the first)
        b"\x21\xff\x00",  # an empty extension: Pillow skips what follows as its sub-blocks
        b"\x21\xfe\x00\x21\x01\x00",  # an empty comment, then an empty plain-text block
    ],
)
def test_frame_extents_are_read_from_the_blocks_as_pillow_reads_them(extras):
    # GIVEN a GIF whose second frame reaches outside the screen, `extras` before that frame
    data = gif(SCREEN, [GifFrame(pattern(SCREEN, 5)), GifFrame(pattern((10, 10), 9), 55, 35)])
    second = data.index(b"\x21\xf9", data.index(b"\x21\xf9") + 1)
    data = data[:second] + extras + data[second:]

    # WHEN its frame extents are read, and Pillow composites its frames
    extents = list(frame_extents(data))
    image = Image.open(BytesIO(data))
    sizes = []
    for index in range(image.n_frames):
        image.seek(index)
        sizes.append(image.size)

    # THEN both find the same frames, and the canvas grows to the same size
    assert len(extents) == len(sizes)
    assert grown_canvas(data, SCREEN, len(extents)) == sizes[-1]


def test_a_transparent_index_is_what_the_cases_use():
    # The transparent cases clear palette index CLEAR; the opaque ones never draw it
    assert Image.open(BytesIO(CASES["disposal 0, transparent"])).info["transparency"] == CLEAR


def test_a_frame_whose_colours_pillow_loses_is_corrupt_not_unprocessable():
    # GIVEN the fuzz's finding: a GIF whose first frame has no colour table, its second its own
    # (Pillow leaves that frame in mode P with no palette)
    data = (Path(__file__).parents[1] / "fuzz/findings/abd5b2e5146bef82.bin").read_bytes()

    # WHEN thumbnailed / THEN corrupt_image, naming the frame (it was unprocessable_image)
    with pytest.raises(CorruptImageError, match="frame 2 has colour indices but no colour table"):
        make_renditions(data, (128, 512), quality=80, max_pixels=MAX_PIXELS)
