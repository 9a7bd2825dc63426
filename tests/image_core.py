"""The image core as the function calls it: `make_renditions`, with every option off (the
function's defaults: one WebP per width) and on (AVIF beside WebP, two crops, the manifest's
focus point and placeholder).

The unit tests run the core both ways (the `core_options` fixture, tests/unit/conftest.py), the
fuzz with every option on; `check_renditions` is the invariant both hold each result to.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from io import BytesIO
from typing import Any

import blurhash
from PIL import Image

from thumbnailer.image.geometry import WEBP_MAX_SIDE
from thumbnailer.image.renditions import Rendition, RenditionSet, make_renditions

EVERY_OPTION: Mapping[str, Any] = {
    "formats": ("webp", "avif"),
    "crops": ((256, 256), (1200, 630)),
    "describe": True,
}
#: The two ways the unit tests run the core, by the name pytest shows.
OPTIONS: Mapping[str, Mapping[str, Any]] = {"defaults": {}, "every_option": EVERY_OPTION}
_COLOUR = re.compile("#[0-9a-f]{6}")
_BASE83 = re.compile(r"[0-9A-Za-z#$%*+,\-.:;=?@\[\]^_{|}~]+")


def make(
    data: bytes,
    widths: Sequence[int],
    *,
    options: Mapping[str, Any],
    quality: int = 85,
    max_pixels: int,
    **limits: Any,
) -> RenditionSet:
    """`make_renditions` with `options` (and `limits`, such as max_frames), its result held to
    `check_renditions`."""
    made = make_renditions(
        data, widths, quality=quality, max_pixels=max_pixels, **options, **limits
    )
    check_renditions(made, widths, **options)
    return made


def widths_of(made: RenditionSet, fmt: str = "webp") -> dict[int, Rendition]:
    """The width renditions (`512w`) in `fmt`, by width: what the function writes by default."""
    return {
        int(rendition.name[:-1]): rendition
        for rendition in made.renditions
        if rendition.format == fmt and rendition.name.endswith("w")
    }


def check_renditions(
    made: RenditionSet,
    widths: Sequence[int],
    *,
    formats: Sequence[str] = ("webp",),
    crops: Sequence[tuple[int, int]] = (),
    describe: bool = False,
) -> None:
    """Every width and crop in every format asked for (WebP alone for an animation), each
    decoding as the format and size it says, with no metadata; widths never wider than asked
    or than the source; each crop exactly its box, or the largest window of the box's shape
    that a smaller source has; with `describe`, a focus point inside the picture and a valid
    placeholder."""
    made_formats = ("webp",) if made.frames > 1 else tuple(formats)
    names = [f"{width}w" for width in sorted(set(widths))] + [f"{w}x{h}" for w, h in crops]
    made_keys = sorted((rendition.name, rendition.format) for rendition in made.renditions)
    assert made_keys == sorted((name, fmt) for name in names for fmt in made_formats)
    size_of = {rendition.name: rendition.size for rendition in made.renditions}
    for rendition in made.renditions:
        image = Image.open(BytesIO(rendition.data))
        assert (image.format, image.size) == (rendition.format.upper(), rendition.size)
        assert rendition.size == size_of[rendition.name]  # the same in every format
        assert not any(image.info.get(name) for name in ("exif", "xmp", "icc_profile"))
        # libwebp merges identical consecutive frames (adding up their durations)
        assert 1 <= getattr(image, "n_frames", 1) <= made.frames
        image.load()
    for width in widths:
        out_width, out_height = size_of[f"{width}w"]
        assert 1 <= out_width <= min(width, made.size[0]), (width, made.size)
        assert 1 <= out_height <= WEBP_MAX_SIDE
    for box in crops:
        _check_crop(size_of[f"{box[0]}x{box[1]}"], box, made.size)
    if describe:
        _check_description(made)
    else:
        assert (made.focus, made.placeholder) == (None, None)


def _check_crop(size: tuple[int, int], box: tuple[int, int], source: tuple[int, int]) -> None:
    # The most of the source any rendition may show: all of it, within WebP's side limit.
    width, height = source
    if height > WEBP_MAX_SIDE:
        width, height = max(1, round(width * WEBP_MAX_SIDE / height)), WEBP_MAX_SIDE
    if width >= box[0] and height >= box[1]:
        assert size == box, (size, box, source)
        return
    # Never enlarged: the largest window of the box's shape (to the pixel) the source holds.
    scale = min(width / box[0], height / box[1])
    largest = (max(1, min(width, box[0] * scale)), max(1, min(height, box[1] * scale)))
    assert all(abs(got - want) <= 1 for got, want in zip(size, largest, strict=True)), (
        size,
        box,
        source,
    )


def _check_description(made: RenditionSet) -> None:
    assert made.focus is not None
    assert all(0 <= share <= 1 for share in made.focus), made.focus
    placeholder = made.placeholder
    assert placeholder is not None
    assert placeholder.algorithm == "blurhash"
    assert _BASE83.fullmatch(placeholder.hash), placeholder.hash
    x_components, y_components = blurhash.components(placeholder.hash)
    assert len(placeholder.hash) == 4 + 2 * x_components * y_components, placeholder.hash
    pixels = blurhash.decode(placeholder.hash, 4, 4)
    assert all(0 <= channel <= 255 for row in pixels for pixel in row for channel in pixel[:3])
    assert _COLOUR.fullmatch(placeholder.color), placeholder.color
