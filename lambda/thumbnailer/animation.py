"""Animated GIF and WebP: each kept frame is thumbnailed, timing and looping are kept.

The frame cap keeps the *first* `max_frames` frames and stops decoding there, rather than
refusing the upload. A thumbnail is a preview: a long animation still gets one (its opening
seconds, looping as the original does) instead of a hole in the gallery, and decoding stops at
the cap, so a 5,000-frame GIF costs the function no more time or memory than a `max_frames`
one. `ThumbnailSet.frames_dropped` says when it happened, and the processing log records it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from thumbnailer.formats import ANIMATED_FORMATS

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
    return int(getattr(image, "n_frames", 1))


def frames(image: Image.Image, limit: int) -> Iterator[Image.Image]:
    """The first `limit` frames, decoded one at a time (each replaces the previous one).

    Pillow composites each frame onto the canvas (GIF disposal, WebP blending), so every frame
    yielded is the full picture a viewer sees at that moment.
    """
    for index in range(limit):
        try:
            image.seek(index)
        except EOFError:
            return
        image.load()
        yield image


def loop_count(image: Image.Image) -> int:
    """WebP's loop count for the source's: a GIF without a loop block plays once."""
    return int(image.info.get("loop", 1))
