"""The sizes of an upload's renditions, as displayed: pure arithmetic, no pixels."""

from __future__ import annotations

import math
from collections.abc import Sequence

from PIL import Image

#: The longest side a WebP may have; no rendition is larger, in any format.
WEBP_MAX_SIDE = 16383

# EXIF orientation -> the transpose that shows the image as the camera was held.
TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_QUARTER_TURNS = frozenset({5, 6, 7, 8})


def displayed(size: tuple[int, int], orientation: int) -> tuple[int, int]:
    """A stored size as shown after its EXIF orientation is applied."""
    return (size[1], size[0]) if orientation in _QUARTER_TURNS else size


stored = displayed  # a quarter turn maps each way alike


def thumbnail_sizes(
    displayed_size: tuple[int, int],
    widths: Sequence[int],
    crops: Sequence[tuple[int, int]] = (),
) -> dict[int, tuple[int, int]]:
    """Each configured width's thumbnail size, and each crop's cover width's, largest first."""
    every = {*widths, *(cover_width(displayed_size, box) for box in crops)}
    return {width: target_size(displayed_size, width) for width in sorted(every, reverse=True)}


def cover_width(displayed_size: tuple[int, int], box: tuple[int, int]) -> int:
    """The width of the smallest thumbnail that covers `box` on both sides, never enlarged.

    Rounded up, so that the thumbnail's height (rounded from the width) still covers the box.
    """
    width, height = displayed_size
    scale = max(box[0] / width, box[1] / height)
    return min(width, math.ceil(width * scale))


def target_size(source: tuple[int, int], width: int) -> tuple[int, int]:
    """The thumbnail's pixel size: `width` wide, same aspect ratio, never enlarged.

    Neither side may exceed WebP's limit or be 0 px, so a very tall image is bounded by its
    height and comes out narrower than `width`.
    """
    source_width, source_height = source
    out_width = min(width, source_width)
    out_height = max(1, round(source_height * out_width / source_width))
    if out_height > WEBP_MAX_SIDE:
        out_height = WEBP_MAX_SIDE
        out_width = max(1, round(source_width * out_height / source_height))
    return out_width, out_height
