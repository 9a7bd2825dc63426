"""Every rendition of one upload: width thumbnails and cover crops, in WebP and/or AVIF, plus
what a manifest says about them (the focus point, the placeholder). No AWS in here.

The pictures come from `imaging.render`, decoded once; a crop is cut from the smallest
thumbnail that covers its box, around the most salient part of the picture (saliency.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from io import BytesIO
from typing import TYPE_CHECKING

from PIL import Image

from thumbnailer.animation import DEFAULT_MAX_FRAMES
from thumbnailer.imaging import Rendering, cover_width, encode_webp, render, untrusted_bytes
from thumbnailer.saliency import SaliencyMap, crop_box
from thumbnailer.settings import DEFAULT_AVIF_QUALITY

if TYPE_CHECKING:
    from thumbnailer.placeholder import Placeholder

#: libavif's speed (0 slow and small .. 10 fast), chosen by measurement (`make bench`,
#: docs/renditions.md): 7 is the knee. A 512w + 128w pair takes 27 ms against speed 6's 44, for
#: 4% more bytes; 8 is faster again (14 ms) but 13% bigger, as much as AVIF saves over WebP at
#: 512w on most photos, and 9 is 40% bigger. AVIF is there for its bytes.
AVIF_SPEED = 7
CONTENT_TYPES = {"webp": "image/webp", "avif": "image/avif"}


@dataclass(frozen=True)
class Rendition:
    """One encoded picture. `name` is its key's suffix: `512w` or `256x256`."""

    name: str
    format: str
    size: tuple[int, int]
    data: bytes


@dataclass(frozen=True)
class RenditionSet:
    """Everything made from one upload; `size` is the source's as displayed (oriented)."""

    source_format: str
    size: tuple[int, int]
    renditions: tuple[Rendition, ...]
    frames: int
    frames_dropped: bool
    focus: tuple[float, float] | None = None  # 0..1 of the width and height
    placeholder: Placeholder | None = None


def formats_for(formats: Sequence[str], *, animated: bool) -> tuple[str, ...]:
    """The formats written for a source. No AVIF for animations: measured (`make bench`), an
    animated AVIF at the stills' quality is smaller and faster than the WebP but does not look
    the same (SSIM 0.85 against 0.90), and a still one would show a still where the WebP moves.
    An AVIF-only configuration still gives an animation its moving WebP."""
    if not animated:
        return tuple(formats)
    return ("webp",)


@untrusted_bytes
def make_renditions(
    data: bytes,
    widths: Sequence[int],
    *,
    quality: int,
    max_pixels: int,
    max_frames: int = DEFAULT_MAX_FRAMES,
    formats: Sequence[str] = ("webp",),
    avif_quality: int = int(DEFAULT_AVIF_QUALITY),
    crops: Sequence[tuple[int, int]] = (),
    describe: bool = False,
) -> RenditionSet:
    """Decode `data` once; encode each width and each crop in each format. With `describe`,
    also find the focus point and the placeholder (for the manifest)."""
    rendering = render(data, widths, max_pixels=max_pixels, max_frames=max_frames, crops=crops)
    frame_count = len(next(iter(rendering.frames.values())))
    smallest = rendering.frames[min(rendering.frames)][0]
    pictures: dict[str, list[Image.Image]] = {
        f"{width}w": list(rendering.frames[width]) for width in sorted(set(widths))
    }
    saliency = SaliencyMap(smallest) if crops or describe else None
    for box in crops:
        # The cover thumbnail was rendered from the displayed size, as `cover_width` is here.
        cover = rendering.frames[cover_width(rendering.displayed_size, box)]
        window = crop_box(cover[0].size, box, saliency)  # type: ignore[arg-type]
        pictures[f"{box[0]}x{box[1]}"] = [frame.crop(window) for frame in cover]
    renditions = tuple(
        Rendition(name, fmt, frames[0].size, _encode(frames, fmt, quality, avif_quality, rendering))
        for fmt in formats_for(formats, animated=frame_count > 1)
        for name, frames in pictures.items()
    )
    placeholder = None
    if describe:
        from thumbnailer.placeholder import placeholder_for

        placeholder = placeholder_for(smallest)
    return RenditionSet(
        source_format=rendering.source_format,
        size=rendering.displayed_size,
        renditions=renditions,
        frames=frame_count,
        frames_dropped=rendering.frames_dropped,
        focus=saliency.focus() if saliency and describe else None,
        placeholder=placeholder,
    )


def _encode(
    frames: Sequence[Image.Image], fmt: str, quality: int, avif_quality: int, rendering: Rendering
) -> bytes:
    if fmt == "avif":
        return encode_avif(frames[0], quality=avif_quality)
    return encode_webp(frames, quality=quality, timing=rendering.timing)


def encode_avif(picture: Image.Image, *, quality: int, speed: int = AVIF_SPEED) -> bytes:
    """A still AVIF, without metadata or ICC profile, as `encode_webp` does for WebP."""
    from PIL import AvifImagePlugin  # noqa: F401 - see encode_webp

    buffer = BytesIO()
    picture.save(buffer, "AVIF", quality=quality, speed=speed, icc_profile=b"", exif=b"", xmp=b"")
    return buffer.getvalue()
