"""Every thumbnail of one upload as pictures, from one decode: what the encoders encode.

    open (header only) -> shrink-on-load -> check the decode cost -> decode
        -> resizable mode -> resize to the largest width -> orient -> sRGB
        -> each smaller width from the one just larger

Decoding is defensive: the format is recognised from the bytes and only its decoder may open
them, and the memory the decode will need is checked from the header before any pixel is
decoded (decode.py, budget.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from PIL import Image

from thumbnailer.errors import CorruptImageError
from thumbnailer.image.animation import DEFAULT_MAX_FRAMES, Timing
from thumbnailer.image.boundary import untrusted_bytes
from thumbnailer.image.budget import DecodeCost
from thumbnailer.image.decode import exif_orientation, open_within_budget
from thumbnailer.image.geometry import displayed, thumbnail_sizes
from thumbnailer.image.resize import animation_chains, thumbnail_chain


@dataclass(frozen=True)
class Rendering:
    """The thumbnails of one upload before encoding: the frames of each width (one if still)."""

    source_format: str
    source_size: tuple[int, int]
    frames: Mapping[int, Sequence[Image.Image]]
    timing: Timing | None
    frames_dropped: bool
    cost: DecodeCost
    displayed_size: tuple[int, int] = (0, 0)  # source_size, oriented as shown
    note: str | None = None  # for the log: why the thumbnails differ from the file's own picture


@untrusted_bytes
def render(
    data: bytes,
    widths: Sequence[int],
    *,
    max_pixels: int,
    max_frames: int = DEFAULT_MAX_FRAMES,
    crops: Sequence[tuple[int, int]] = (),
) -> Rendering:
    """Every thumbnail of `data`, as images, largest first.

    Each crop box adds the width its cover crop is cut from (see `geometry.cover_width`).
    """
    opened = open_within_budget(
        data, widths, max_pixels=max_pixels, max_frames=max_frames, crops=crops
    )
    image = opened.image
    try:
        image.load()
    except TypeError as exc:
        # A header field of the wrong type reaching the decoder (the fuzz: a TIFF strip offset
        # stored as a fraction): the file is malformed, not our code.
        raise CorruptImageError(f"cannot decode the {opened.image_format} data: {exc}") from exc
    # PNG may store its EXIF after the pixels, so it is read now for every format but JPEG.
    # Animations are shown as stored (GIF has no EXIF; an animated WebP's is rare).
    orientation = exif_orientation(image) if opened.kept_frames == 1 else 1
    displayed_size = displayed(opened.source_size, orientation)
    targets = thumbnail_sizes(displayed_size, widths, crops)
    icc_profile = image.info.get("icc_profile") or None

    if opened.kept_frames == 1:
        chain = thumbnail_chain(image, targets, orientation, icc_profile, opened.box)
        frames = {width: [thumb] for width, thumb in chain.items()}
        timing = None
    else:
        frames, timing = animation_chains(
            image, targets, icc_profile, opened.kept_frames, opened.cost.decoded_size
        )
    return Rendering(
        source_format=opened.image_format,
        source_size=opened.source_size,
        frames=frames,
        timing=timing,
        frames_dropped=opened.total_frames > opened.kept_frames,
        cost=opened.cost,
        displayed_size=displayed_size,
        note=opened.note,
    )
