"""Animated GIF, WebP and PNG (APNG) become animated WebP thumbnails with the original timing
and looping; the frame cap keeps the first frames. Every animation is drawn in the test."""

from io import BytesIO

import pytest
from PIL import Image

from scripts.support.quality import psnr
from scripts.support.sample_images import animation, encode, moving_box_frames, photo
from tests.image_core import make, widths_of
from thumbnailer.errors import TooManyPixelsError

MAX_PIXELS = 50_000_000
DURATIONS = [40, 80, 120, 160, 200, 240]


def decoded_frames(data: bytes):
    """Each frame of an animated WebP as (duration ms, RGBA image), and the loop count."""
    image = Image.open(BytesIO(data))
    frames = []
    for index in range(image.n_frames):
        image.seek(index)
        image.load()
        frames.append((image.info["duration"], image.convert("RGBA")))
    return frames, image.info["loop"]


def box_left_edge(frame: Image.Image) -> int:
    """Where the red box starts along the middle row of the box."""
    width, height = frame.size
    row = height * 3 // 8
    return next(
        x for x in range(width) if frame.getpixel((x, row))[0] > 150 > frame.getpixel((x, row))[1]
    )


@pytest.mark.parametrize(
    ("image_format", "loop"), [("GIF", 0), ("WEBP", 0), ("WEBP", 3), ("PNG", 0), ("PNG", 3)]
)
def test_an_animation_becomes_an_animated_webp_with_its_timing(image_format, loop, core_options):
    # GIVEN a 6-frame animation of a box crossing a 320x240 picture, each frame its own duration
    data = animation(moving_box_frames(6), image_format, durations=DURATIONS, loop=loop)

    # WHEN thumbnailed
    made = make(data, (128, 512), max_pixels=MAX_PIXELS, options=core_options)

    # THEN every rendition is an animated WebP with every frame, the same durations and loop count
    assert (made.source_format, made.frames, made.frames_dropped) == (image_format, 6, False)
    for thumbnail in made.renditions:
        frames, loop_count = decoded_frames(thumbnail.data)
        assert [duration for duration, _ in frames] == DURATIONS
        assert loop_count == loop
        assert {frame.size for _, frame in frames} == {thumbnail.size}
    # AND the box moves from frame to frame, as in the source
    small, _ = decoded_frames(widths_of(made)[128].data)
    assert widths_of(made)[128].size == (128, 96)
    edges = [box_left_edge(frame) for _, frame in small]
    assert edges == sorted(edges)
    assert edges[-1] - edges[0] > 80


def test_a_gif_without_a_loop_block_plays_once(core_options):
    # GIVEN a GIF with no NETSCAPE loop extension (browsers play it once)
    data = animation(moving_box_frames(3), "GIF", durations=[100, 100, 100])
    assert "loop" not in Image.open(BytesIO(data)).info
    # WHEN thumbnailed / THEN the WebP plays once too
    made = make(data, (128,), max_pixels=MAX_PIXELS, options=core_options)
    assert decoded_frames(widths_of(made)[128].data)[1] == 1


def test_a_transparent_gif_animation_stays_transparent(core_options):
    # GIVEN a GIF whose background is transparent
    data = animation(
        moving_box_frames(4, transparent=True), "GIF", durations=[50] * 4, loop=0, disposal=2
    )
    # WHEN thumbnailed
    made = make(data, (128,), max_pixels=MAX_PIXELS, options=core_options)
    # THEN every frame's corner is clear and its box is opaque red
    frames, _ = decoded_frames(widths_of(made)[128].data)
    assert len(frames) == 4
    for _, frame in frames:
        assert frame.getpixel((2, 2))[3] == 0
        x = box_left_edge(frame)
        assert frame.getpixel((x + 5, 36))[3] == 255


@pytest.mark.parametrize("image_format", ["GIF", "PNG"])
def test_the_frame_cap_keeps_the_first_frames_with_their_timing(image_format, core_options):
    # GIVEN a 6-frame GIF or APNG and a cap of 4 frames
    data = animation(moving_box_frames(6), image_format, durations=DURATIONS, loop=0)

    # WHEN thumbnailed
    made = make(data, (128,), max_pixels=MAX_PIXELS, max_frames=4, options=core_options)

    # THEN the first 4 frames are kept, with their durations, and the drop is reported
    assert (made.frames, made.frames_dropped) == (4, True)
    frames, loop_count = decoded_frames(widths_of(made)[128].data)
    assert [duration for duration, _ in frames] == DURATIONS[:4]
    assert loop_count == 0


def test_a_cap_of_one_frame_makes_a_still_thumbnail(core_options):
    data = animation(moving_box_frames(3), "WEBP", durations=[100] * 3, loop=0)
    made = make(data, (128,), max_pixels=MAX_PIXELS, max_frames=1, options=core_options)
    thumb = Image.open(BytesIO(widths_of(made)[128].data))
    assert (made.frames, made.frames_dropped, getattr(thumb, "n_frames", 1)) == (1, True, 1)


def test_a_single_frame_gif_is_a_still(core_options):
    made = make(
        encode(moving_box_frames(1)[0].convert("P"), "GIF"),
        (128,),
        quality=85,
        max_pixels=MAX_PIXELS,
        options=core_options,
    )
    assert made.frames == 1
    assert getattr(Image.open(BytesIO(widths_of(made)[128].data)), "n_frames", 1) == 1


def test_the_frames_held_for_encoding_count_against_the_pixel_budget(core_options):
    # GIVEN a 40-frame 320x240 GIF: every frame's 256 px thumbnail (256x192) is held until encoded
    data = animation(moving_box_frames(40), "GIF", durations=[50] * 40, loop=0)
    held = 40 * 256 * 192

    # WHEN the budget is less than what the frames would hold
    # THEN it is refused before decoding, and the message says why
    with pytest.raises(TooManyPixelsError, match="animation frames"):
        make(data, (256,), max_pixels=held, options=core_options)
    # AND with a cap that fits, the same upload is thumbnailed
    made = make(data, (256,), max_pixels=held, max_frames=10, options=core_options)
    assert made.frames == 10


def test_an_apng_with_a_default_image_outside_the_animation_animates_only_its_frames(core_options):
    # GIVEN an APNG whose default image (a still for viewers that cannot animate) is not a frame
    frames = moving_box_frames(4, (64, 48))
    data = encode(
        frames[0],
        "PNG",
        save_all=True,
        append_images=frames[1:],
        duration=[70, 80, 90],
        default_image=True,
        loop=0,
    )

    # WHEN thumbnailed / THEN the thumbnail animates the three frames, not the default image
    made = make(data, (32,), max_pixels=MAX_PIXELS, options=core_options)
    thumb = Image.open(BytesIO(widths_of(made)[32].data))
    assert (made.source_format, made.frames, thumb.n_frames) == ("PNG", 3, 3)


def test_every_frame_of_a_photographic_animation_keeps_the_stills_quality(core_options):
    # GIVEN a 12-frame camera pan over a photo-like scene, as an opaque GIF (no forced key frames
    # in the WebP: libwebp decides, so each frame is either a key frame or a good sub-frame)
    scene = photo(520, 135, seed=3)
    sources = [scene.crop((20 * i, 0, 20 * i + 240, 135)) for i in range(12)]
    data = animation(
        [frame.convert("P", palette=Image.Palette.ADAPTIVE) for frame in sources],
        "GIF",
        durations=[40] * 12,
        loop=0,
    )

    # WHEN thumbnailed to 120 px wide
    made = make(data, (120,), max_pixels=MAX_PIXELS, options=core_options)
    frames, _ = decoded_frames(widths_of(made)[120].data)

    # THEN each frame is within 30 dB of the exact Lanczos of its decoded GIF frame, and opaque
    gif = Image.open(BytesIO(data))
    for index, (_, frame) in enumerate(frames):
        gif.seek(index)
        exact = gif.convert("RGB").resize(frame.size, Image.Resampling.LANCZOS)
        assert psnr(frame.convert("RGB"), exact) >= 30, index
        assert frame.getextrema()[3] == (255, 255), index
