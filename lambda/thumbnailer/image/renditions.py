"""Every rendition of one upload: width thumbnails and cover crops, in WebP and/or AVIF, plus
what a manifest says about them (the focus point, the placeholder). No AWS in here.

The pictures come from `render.render`, decoded once; a crop is cut from the smallest
thumbnail that covers its box, around the most salient part of the picture (saliency.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from PIL import Image

from thumbnailer.image.animation import DEFAULT_MAX_FRAMES
from thumbnailer.image.boundary import untrusted_bytes
from thumbnailer.image.encoders import DEFAULT_AVIF_QUALITY, encode
from thumbnailer.image.geometry import cover_width
from thumbnailer.image.quality import DEFAULT_QUALITY_TARGET, Choice
from thumbnailer.image.render import render
from thumbnailer.image.saliency import SaliencyMap, crop_box

if TYPE_CHECKING:
    from thumbnailer.image.placeholder import Placeholder


@dataclass(frozen=True)
class Rendition:
    """One encoded picture. `name` is its key's suffix: `512w` or `256x256`."""

    name: str
    format: str
    size: tuple[int, int]
    data: bytes
    quality: int = 0
    score: float | None = None  # SSIMULACRA2 against the picture before encoding, if measured


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
    note: str | None = None  # for the log: why the thumbnails differ from the file's own picture


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
    avif_quality: int = DEFAULT_AVIF_QUALITY,
    crops: Sequence[tuple[int, int]] = (),
    describe: bool = False,
    auto_quality: bool = False,
    quality_target: float = DEFAULT_QUALITY_TARGET,
) -> RenditionSet:
    """Decode `data` once; encode each width and each crop in each format. With `describe`,
    also find the focus point and the placeholder (for the manifest). With `auto_quality`, each
    still is encoded at the lowest quality whose score reaches `quality_target` (quality.py);
    `quality` and `avif_quality` are then where the search starts."""
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
    qualities = {"webp": quality, "avif": avif_quality}
    choices: dict[tuple[str, str], Choice] = {}
    references: dict = {}  # the metric's side of each picture, shared by the formats
    for fmt in formats_for(formats, animated=frame_count > 1):
        if auto_quality and frame_count == 1:
            from thumbnailer.image.quality import auto_encode

            stills = {name: frames[0] for name, frames in pictures.items()}
            chosen = auto_encode(
                stills,
                fmt,
                target=quality_target,
                fixed_quality=qualities[fmt],
                encode=lambda picture, q, fmt=fmt: encode([picture], fmt, quality=q),
                references=references,
            )
            choices.update(((name, fmt), choice) for name, choice in chosen.items())
        else:
            for name, frames in pictures.items():
                data = encode(frames, fmt, quality=qualities[fmt], timing=rendering.timing)
                choices[name, fmt] = Choice(qualities[fmt], data)
    renditions = tuple(
        Rendition(name, fmt, pictures[name][0].size, choice.data, choice.quality, choice.score)
        for fmt in formats_for(formats, animated=frame_count > 1)
        for name in pictures
        for choice in (choices[name, fmt],)
    )
    placeholder = None
    if describe:
        from thumbnailer.image.placeholder import placeholder_for

        placeholder = placeholder_for(smallest, rendering.displayed_size)
    return RenditionSet(
        source_format=rendering.source_format,
        size=rendering.displayed_size,
        renditions=renditions,
        frames=frame_count,
        frames_dropped=rendering.frames_dropped,
        focus=saliency.focus() if saliency and describe else None,
        placeholder=placeholder,
        note=rendering.note,
    )
