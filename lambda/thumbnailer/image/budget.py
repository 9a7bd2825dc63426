"""What decoding an upload will cost, known from its header before a single pixel is decoded.

Memory is bounded by design: every cost is counted in *pixels held*, each 4 bytes (Pillow stores
RGB, RGBA, CMYK and LA pixels in 4 bytes), and compared with a budget derived from the function's
memory. The count is taken after shrink-on-load, so a 100-megapixel JPEG that decodes at 1/8
scale costs 1.6 megapixels, while a 100-megapixel PNG costs all of its 100.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from thumbnailer.errors import CorruptImageError

#: The memory Lambda gives the function when nobody says otherwise (the template's default).
DEFAULT_MEMORY_MB = 1024
#: What the function needs before it holds any pixel: the interpreter with Powertools, boto3 and
#: Pillow (about 95 MB of RSS), the upload's own bytes (up to 64 MiB) and the encoded output.
RESERVED_MB = 192
#: Peak bytes per budgeted pixel: 4 for the pixel, plus what the allocator and the small copies
#: reduce() and resize() make add on top (at most 0.5 over 4, measured for every format).
BYTES_PER_BUDGET_PIXEL = 5
#: Below this the function could not thumbnail an ordinary phone photo, whatever the memory.
MIN_BUDGET_PIXELS = 4_000_000
#: Full-size canvases a format's decoding library holds at its peak besides Pillow's image,
#: measured: libwebp keeps the current and previous canvas and Pillow copies one out of it;
#: libheif and libavif keep YCbCr planes and an RGB copy.
_DECODER_CANVASES = {"WEBP": 3.0, "HEIF": 1.5, "AVIF": 1.5}
#: Modes Pillow resizes as they are; any other is converted first (resize.py), into a second canvas.
RESIZABLE_MODES = frozenset({"RGB", "RGBA", "L", "LA", "CMYK"})
_ALPHA_MODES = frozenset({"RGBA", "LA", "PA"})
_BYTES_PER_PIXEL = 4
# libjpeg keeps every DCT coefficient of a progressive JPEG (2 bytes each, 64 per 8x8 block of
# each component) until the last scan, however small the scaled output is.
_COEFFICIENT_BYTES_PER_SAMPLE = 2


def pixel_budget(memory_mb: int) -> int:
    """The most pixels one upload may cost in a function with `memory_mb` of memory."""
    usable_bytes = max(0, memory_mb - RESERVED_MB) * 1024 * 1024
    return max(MIN_BUDGET_PIXELS, usable_bytes // BYTES_PER_BUDGET_PIXEL)


def jpeg_coefficient_pixels(size: tuple[int, int], sampling: Iterable[tuple[int, int]]) -> int:
    """The pixel-equivalents of libjpeg's coefficient buffers for a progressive JPEG.

    `sampling` holds each component's (horizontal, vertical) sampling factors, 1 to 4 in a
    valid JPEG (the fuzz found 0: a division by zero before libjpeg ever saw it).
    """
    factors = list(sampling)
    if not factors:
        return 0
    if not all(1 <= factor <= 4 for pair in factors for factor in pair):
        raise CorruptImageError(f"the JPEG's sampling factors {factors} are not 1 to 4")
    max_h = max(h for h, _ in factors)
    max_v = max(v for _, v in factors)
    width, height = size
    samples = 0
    for h, v in factors:
        blocks_x = math.ceil(math.ceil(width * h / max_h) / 8)
        blocks_y = math.ceil(math.ceil(height * v / max_v) / 8)
        samples += blocks_x * blocks_y * 64
    return math.ceil(samples * _COEFFICIENT_BYTES_PER_SAMPLE / _BYTES_PER_PIXEL)


@dataclass(frozen=True)
class DecodeCost:
    """The pixels one upload holds at its peak, by cause."""

    decoded_size: tuple[int, int]
    copies: float = 1.0
    scale: int = 1
    decoder_pixels: int = 0
    held_pixels: int = 0
    cropped_to: tuple[int, int] | None = None  # a GIF's canvas, when its frames grow Pillow's

    @property
    def decoded_pixels(self) -> int:
        return self.decoded_size[0] * self.decoded_size[1]

    @property
    def pixels(self) -> int:
        return math.ceil(self.decoded_pixels * self.copies) + self.decoder_pixels + self.held_pixels

    def describe(self) -> str:
        width, height = self.decoded_size
        text = f"{width}x{height} decoded"
        if self.cropped_to:
            text += " (GIF frames reaching outside the {}x{} canvas grow it)".format(
                *self.cropped_to
            )
        if self.scale > 1:
            text += f" at 1/{self.scale} scale"
        if self.copies != 1:
            text += f", {self.copies:g} copies at the peak"
        if self.decoder_pixels:
            text += f", {self.decoder_pixels / 1e6:.1f} MP of JPEG coefficient buffers"
        if self.held_pixels:
            text += f", {self.held_pixels / 1e6:.1f} MP of animation frames"
        return text


def decode_cost(
    image_format: str,
    mode: str,
    decoded_size: tuple[int, int],
    *,
    has_alpha: bool = False,
    scale: int = 1,
    coefficient_pixels: int = 0,
    frames: int = 1,
    frame_thumbnail_pixels: int = 0,
    cropped_to: tuple[int, int] | None = None,
) -> DecodeCost:
    """The cost of decoding an image to `decoded_size` (after shrink-on-load).

    Besides the decoded image: the decoder's own canvases, a converted copy when the mode is
    not one Pillow resizes as is, a premultiplied copy when there is alpha (Pillow's resize
    makes one), and for an animation the previous canvas (to composite the next frame onto)
    and every kept frame's thumbnails, held until they are encoded. A GIF canvas grown past
    `cropped_to` by its frames costs two more: the frame Pillow keeps to dispose of and the
    crop back to the canvas.
    """
    copies = 1.0 + _DECODER_CANVASES.get(image_format, 0.0)
    if mode not in RESIZABLE_MODES or frames > 1:
        copies += 1
    if has_alpha or mode in _ALPHA_MODES or frames > 1:
        copies += 1
    if frames > 1:
        copies += 1
    if cropped_to:
        copies += 2
    return DecodeCost(
        decoded_size=decoded_size,
        copies=copies,
        scale=scale,
        decoder_pixels=coefficient_pixels,
        held_pixels=frames * frame_thumbnail_pixels if frames > 1 else 0,
        cropped_to=cropped_to,
    )
