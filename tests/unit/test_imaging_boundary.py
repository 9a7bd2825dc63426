"""One boundary in the image core: whatever decoding, rendering or encoding raises on an upload
is a BadObjectError with a reason, never an exception that would look like the world failing."""

import pytest
from PIL import Image

from scripts.support.sample_images import encode, gif_with_oversized_frame, photo
from tests.image_core import make
from thumbnailer.errors import (
    BadObjectError,
    TooManyPixelsError,
    UnprocessableImageError,
)
from thumbnailer.image import renditions
from thumbnailer.image.render import render

MAX_PIXELS = 67_000_000


def test_a_gif_frame_larger_than_pillows_bomb_limit_is_a_bad_object_not_a_crash(core_options):
    # GIVEN the GIF a new user tried: a 16x16 canvas whose second frame claims 20000x20000
    data = gif_with_oversized_frame((20_000, 20_000))

    # WHEN thumbnailed / THEN the decode budget refuses it as too_many_pixels from the frame's
    # extents, before Pillow (whose DecompressionBombError would say the same) decodes anything
    with pytest.raises(TooManyPixelsError) as caught:
        make(data, (128, 512), max_pixels=MAX_PIXELS, options=core_options)
    assert caught.value.reason == "too_many_pixels"
    assert "refused before decoding" in str(caught.value)


def test_a_gif_frame_that_grows_the_canvas_past_the_budget_is_refused_before_decoding(core_options):
    # GIVEN a 16x16 GIF whose second frame claims 5000x5000: under Pillow's limit, so Pillow
    # would grow the canvas to 25 MP after the budget was checked for 256 pixels
    data = gif_with_oversized_frame((5_000, 5_000))

    # WHEN thumbnailed / THEN the budget is checked at the canvas the frame grows to, and the
    # GIF is refused as too_many_pixels, saying why, before anything is decoded
    with pytest.raises(TooManyPixelsError, match="reaching outside the 16x16 canvas grow it"):
        make(data, (128, 512), max_pixels=MAX_PIXELS, options=core_options)


@pytest.mark.parametrize(
    "exception", [ZeroDivisionError("division by zero"), KeyError("tile"), TypeError("None")]
)
def test_an_exception_nobody_anticipated_is_an_unprocessable_image(
    monkeypatch, exception, core_options
):
    # GIVEN an encoder that fails in a way no reason names
    def failing_encoder(*args, **kwargs):
        raise exception

    monkeypatch.setattr(renditions, "encode", failing_encoder)

    # WHEN a valid image is thumbnailed / THEN it is a bad object, the cause kept
    with pytest.raises(UnprocessableImageError) as caught:
        make(encode(photo(64, 48), "PNG"), (32,), max_pixels=MAX_PIXELS, options=core_options)
    assert caught.value.reason == "unprocessable_image"
    assert type(exception).__name__ in str(caught.value)
    assert "PNG" in str(caught.value)
    assert caught.value.__cause__ is exception


def test_running_out_of_memory_while_decoding_is_too_many_pixels(monkeypatch):
    # GIVEN a BMP, and a decoder that runs out of memory (what no budget predicted)
    data = encode(photo(64, 48), "BMP")

    def out_of_memory(image):
        raise MemoryError

    monkeypatch.setattr(Image.Image, "load", out_of_memory)

    # WHEN rendered / THEN it is a bad object: the same bytes would need the same memory again
    with pytest.raises(TooManyPixelsError, match="ran out of memory"):
        render(data, (32,), max_pixels=MAX_PIXELS)


def test_our_own_errors_pass_through_the_boundary_unchanged(core_options):
    # GIVEN bytes that are no image / WHEN thumbnailed / THEN the specific reason, not a generic one
    with pytest.raises(BadObjectError) as caught:
        make(b"just text", (32,), max_pixels=MAX_PIXELS, options=core_options)
    assert caught.value.reason == "not_an_image"
