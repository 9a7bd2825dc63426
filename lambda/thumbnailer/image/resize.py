"""From a decoded picture to its thumbnails: a resizable mode, Lanczos to the largest width,
orientation, sRGB, then each smaller width from the one just larger.

Orienting and colour-converting after the first resize work on a thumbnail, not on the full
image: the same picture for a fraction of the work.
"""

from __future__ import annotations

from collections.abc import Mapping

from PIL import Image

from thumbnailer.errors import UnsupportedFormatError
from thumbnailer.image import animation
from thumbnailer.image.animation import Timing
from thumbnailer.image.budget import RESIZABLE_MODES
from thumbnailer.image.colour import to_srgb
from thumbnailer.image.geometry import TRANSPOSE, stored

#: resize() first reduces by an integer factor (a box filter, cheap) as long as this much
#: scaling is left for Lanczos; at 2.0 the result is 53 to 55 dB from an exact Lanczos.
REDUCING_GAP = 2.0
_SIXTEEN_BIT_GREY = frozenset({"I;16", "I;16L", "I;16B", "I;16N", "I"})


def thumbnail_chain(
    picture: Image.Image,
    targets: Mapping[int, tuple[int, int]],
    orientation: int,
    icc_profile: bytes | None,
    box: tuple[float, float, float, float] | None = None,
) -> dict[int, Image.Image]:
    """The thumbnails of one picture (a still, or one frame), largest first.

    Only the largest is made from the decoded picture; it is then oriented and converted to
    sRGB, and each smaller one is resized from the one before it.
    """
    chain: dict[int, Image.Image] = {}
    previous: Image.Image | None = None
    for width, size in targets.items():
        if previous is None:
            working = to_resizable_mode(picture)
            resized = resize(working, stored(size, orientation), box)
            if orientation in TRANSPOSE:
                resized = resized.transpose(TRANSPOSE[orientation])
            previous = to_srgb(resized, icc_profile)
        else:
            previous = resize(previous, size)
        chain[width] = previous
    return chain


def resize(
    image: Image.Image,
    size: tuple[int, int],
    box: tuple[float, float, float, float] | None = None,
) -> Image.Image:
    """Lanczos, after an integer reduce() where plenty of scaling is left (see REDUCING_GAP).

    `box` is the source's area in a shrunk-on-load image, whose edge pixels may be partial.
    """
    if size == image.size and (box is None or box == (0, 0, *image.size)):
        return image
    return image.resize(size, Image.Resampling.LANCZOS, box=box, reducing_gap=REDUCING_GAP)


def to_resizable_mode(image: Image.Image) -> Image.Image:
    """A mode Lanczos can resize with every tone kept: 8-bit RGB(A), grey(+alpha) or CMYK."""
    mode = image.mode
    if mode in RESIZABLE_MODES and "transparency" not in image.info:
        return image
    if mode in _SIXTEEN_BIT_GREY:
        # Pillow's I;16 -> L conversion clips everything above 255 to white; scale instead.
        return image.convert("I").point(lambda value: value * (1 / 257)).convert("L")
    try:
        return image.convert("RGBA" if image.has_transparency_data else "RGB")
    except ValueError as exc:
        raise UnsupportedFormatError(f"the image's colour mode {mode} is not supported") from exc


def animation_chains(
    image: Image.Image,
    targets: Mapping[int, tuple[int, int]],
    icc_profile: bytes | None,
    kept_frames: int,
    budgeted: tuple[int, int] | None = None,
) -> tuple[dict[int, list[Image.Image]], Timing]:
    """`thumbnail_chain` of each kept frame, as each width's list of frames, and their timing."""
    frames: dict[int, list[Image.Image]] = {width: [] for width in targets}
    durations: list[int] = []
    for frame in animation.frames(image, kept_frames, budgeted):
        durations.append(int(frame.info.get("duration", 0)))
        # Opaque frames stay RGB: Lanczos premultiplies RGBA, a third more work.
        picture = frame.convert("RGBA" if frame.has_transparency_data else "RGB")
        for width, thumb in thumbnail_chain(picture, targets, 1, icc_profile).items():
            frames[width].append(thumb)
    return frames, Timing(tuple(durations), animation.loop_count(image))
