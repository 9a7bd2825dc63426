"""Animated GIF, WebP and PNG (APNG): each kept frame is thumbnailed, timing and looping are kept.

The frame cap keeps the *first* `max_frames` frames and stops decoding there, rather than
refusing the upload. A thumbnail is a preview: a long animation still gets one (its opening
seconds, looping as the original does) instead of a hole in the gallery, and decoding stops at
the cap, so a 5,000-frame GIF costs the function no more time or memory than a `max_frames`
one. `RenditionSet.frames_dropped` says when it happened, and the processing log records it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from thumbnailer.errors import CorruptImageError
from thumbnailer.image.formats import ANIMATED_FORMATS
from thumbnailer.image.gif import check_frame_within

if TYPE_CHECKING:
    from PIL import Image

#: Frames kept of an animation. 300 frames is 10 s at 30 fps or 30 s of a typical 10 fps GIF.
DEFAULT_MAX_FRAMES = 300


@dataclass(frozen=True)
class Timing:
    """How an animation plays: each kept frame's duration (ms) and the loop count (0: forever)."""

    durations: tuple[int, ...]
    loop: int


def frame_count(image: Image.Image, image_format: str) -> int:
    """How many frames the thumbnails animate: 1 for a still (or a format never animated)."""
    if image_format not in ANIMATED_FORMATS or not getattr(image, "is_animated", False):
        return 1
    return max(1, int(getattr(image, "n_frames", 1)) - _first_frame(image))


def frames(
    image: Image.Image, limit: int, budgeted: tuple[int, int] | None = None
) -> Iterator[Image.Image]:
    """The first `limit` frames, decoded one at a time, each as a viewer shows it.

    Pillow composites each frame onto the canvas (GIF disposal, WebP and APNG blending). A GIF
    frame that reaches outside the canvas makes Pillow grow it; a browser clips the frame
    instead, so each frame is cropped back to the canvas. The growth was counted by the decode
    budget (`budgeted`, from gif.py); past it, the frame is refused before it is decoded.
    """
    canvas = image.size
    first = _first_frame(image)
    for index in range(first, first + limit):
        try:
            image.seek(index)
        except EOFError:
            return
        if image.size != canvas:
            check_frame_within(index, image.size, budgeted or canvas)
        image.load()
        if image.mode == "P" and image.palette is None:
            # A frame with its own colour table after a first frame with none: Pillow keeps the
            # indices and loses the colours (found by the fuzz).
            raise CorruptImageError(f"frame {index + 1} has colour indices but no colour table")
        yield image if image.size == canvas else image.crop((0, 0, *canvas))


def _first_frame(image: Image.Image) -> int:
    # An APNG's default image may stand outside the animation, for viewers that cannot animate.
    return 1 if image.info.get("default_image") else 0


def loop_count(image: Image.Image) -> int:
    """WebP's loop count for the source's (0: forever): a GIF without a loop block plays once."""
    return int(image.info.get("loop", 1))
