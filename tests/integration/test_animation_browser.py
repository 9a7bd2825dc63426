"""Our 512w thumbnail of each GIF whose frames reach outside its screen and each APNG whose
animation cannot be read, against what headless Chromium shows for the same file.

Chromium's picture is resized to our thumbnail's size with our own filter, so what is left is
the difference in what was drawn plus the WebP encoding's loss, compared over premultiplied RGBA
(0 to 255; a clear pixel's colour does not count). Measured on these files where the pictures
agree: a mean difference of 0.3 to 1.9 and 99% of pixels within 70 (WebP at quality 85 blurs
the GIFs' hard palette edges); the one frame Pillow draws otherwise than Chromium (see
DISPOSED_TO_BACKGROUND) gives a mean of 5.7, its 99th percentile 255. The tolerance: a mean of
at most 2.5, and 99% of pixels within 96.
"""

from __future__ import annotations

from functools import reduce
from io import BytesIO

import pytest
from PIL import Image, ImageChops, ImageSequence, ImageStat

from scripts.support.animation_files import (
    apng_chunks,
    apng_frames,
    broken_apngs,
    gifs_reaching_outside,
    png,
)
from tests.integration.browser_frames import Shown, shown_by_chromium
from thumbnailer.image.renditions import make_renditions
from thumbnailer.image.resize import resize

WIDTH = 512
MAX_PIXELS = 67_000_000
MAX_MEAN_DIFFERENCE = 2.5
MAX_P99_DIFFERENCE = 96

GIFS = gifs_reaching_outside()
BROKEN_APNGS = broken_apngs()
VALID_APNGS = {
    "valid, the default image the first frame": png(apng_chunks((600, 400), apng_frames())),
}
#: Pillow restores a disposed GIF frame that has no transparent colour to the background
#: colour; browsers clear it. Not a matter of frames outside the screen: every such GIF.
DISPOSED_TO_BACKGROUND = "disposal 2, opaque"


@pytest.fixture(scope="module")
def chromium() -> dict[str, Shown]:
    files = {name: ("image/gif", data) for name, data in GIFS.items()}
    files |= {name: ("image/png", data) for name, data in {**BROKEN_APNGS, **VALID_APNGS}.items()}
    return shown_by_chromium(files)


def ours(data: bytes) -> list[Image.Image]:
    """The frames of our 512w WebP of `data`."""
    made = make_renditions(data, (WIDTH,), quality=85, max_pixels=MAX_PIXELS)
    (rendition,) = made.renditions
    return [
        frame.convert("RGBA")
        for frame in ImageSequence.Iterator(Image.open(BytesIO(rendition.data)))
    ]


def difference(ours: Image.Image, chromium: Image.Image) -> tuple[float, int]:
    """Chromium's picture resized as ours was; the mean difference between them, and the one
    99% of pixels are within (each pixel's largest over its channels)."""
    theirs = resize(chromium, ours.size)
    diff = ImageChops.difference(ours.convert("RGBa"), theirs.convert("RGBa"))
    mean = sum(ImageStat.Stat(diff).mean) / 4
    histogram = reduce(ImageChops.lighter, diff.split()).histogram()
    within = next(v for v in range(256) if sum(histogram[: v + 1]) >= 0.99 * sum(histogram))
    return mean, within


def assert_alike(ours: Image.Image, chromium: Image.Image, what: str) -> None:
    mean, p99 = difference(ours, chromium)
    assert mean <= MAX_MEAN_DIFFERENCE, f"{what}: mean {mean:.2f} (99% within {p99})"
    assert p99 <= MAX_P99_DIFFERENCE, f"{what}: 99% within {p99} (mean {mean:.2f})"


@pytest.mark.parametrize("name", sorted(GIFS))
def test_a_gif_whose_frames_reach_outside_its_screen_looks_as_in_chromium(chromium, name):
    # GIVEN a GIF whose second frame reaches outside the screen (or whose first is larger)
    shown = chromium[name]
    assert shown.picture is not None, "Chromium shows it"

    # WHEN thumbnailed
    frames = ours(GIFS[name])

    # THEN every frame is there, the size Chromium shows scaled to 512w, and looks the same
    assert len(frames) == len(shown.frames)
    assert frames[0].size == (WIDTH, round(WIDTH * shown.picture.height / shown.picture.width))
    assert_alike(frames[0], shown.picture, "the first frame, as the <img> shows it")
    for index, (frame, theirs) in enumerate(zip(frames, shown.frames, strict=True)):
        if name == DISPOSED_TO_BACKGROUND and index == 2:
            continue  # see DISPOSED_TO_BACKGROUND; checked apart below
        assert_alike(frame, theirs, f"frame {index + 1}")


def test_a_frame_disposed_to_the_background_is_where_pillow_and_chromium_differ(chromium):
    # GIVEN the opaque GIF whose outside frame is disposed to the background
    # WHEN thumbnailed / THEN the frame after it differs from Chromium's only in that frame's
    # clipped area: a known difference of Pillow's, kept in view by this test
    frames = ours(GIFS[DISPOSED_TO_BACKGROUND])
    mean, p99 = difference(frames[2], chromium[DISPOSED_TO_BACKGROUND].frames[2])
    assert p99 > MAX_P99_DIFFERENCE
    assert mean < 10


@pytest.mark.parametrize("name", sorted(BROKEN_APNGS))
def test_an_apng_whose_animation_cannot_be_read_gives_the_default_image_chromium_shows(
    chromium, name
):
    # GIVEN an APNG whose animation breaks after its default image (its first frame)
    shown = chromium[name]
    assert shown.picture is not None, "Chromium shows it"

    # WHEN thumbnailed
    frames = ours(BROKEN_APNGS[name])

    # THEN a still of the picture Chromium shows first
    assert len(frames) == 1
    assert_alike(frames[0], shown.picture, "the default image")


@pytest.mark.parametrize("name", sorted(VALID_APNGS))
def test_an_apng_that_reads_is_still_animated_as_in_chromium(chromium, name):
    # GIVEN a sound APNG / WHEN thumbnailed / THEN every frame, as Chromium composites it
    frames = ours(VALID_APNGS[name])
    shown = chromium[name]
    assert len(frames) == len(shown.frames) == 3
    for index, (frame, theirs) in enumerate(zip(frames, shown.frames, strict=True)):
        assert_alike(frame, theirs, f"frame {index + 1}")
