"""Opening an upload: its format from the bytes, its header, shrink-on-load, and what decoding
it will cost, all before a single pixel is decoded."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from io import BytesIO

from PIL import Image, UnidentifiedImageError

from thumbnailer.errors import (
    CorruptImageError,
    EmptyObjectError,
    NotAnImageError,
    TooManyPixelsError,
    UnsupportedFormatError,
)
from thumbnailer.image import animation, apng, gif
from thumbnailer.image.boundary import DECODE_ERRORS
from thumbnailer.image.budget import DecodeCost, decode_cost, jpeg_coefficient_pixels
from thumbnailer.image.formats import (
    ACCEPTED_FORMATS,
    HEAD_BYTES,
    load_decoder,
    recognise_unaccepted,
    sniff_format,
)
from thumbnailer.image.geometry import TRANSPOSE, displayed, stored, thumbnail_sizes

#: JPEG shrink-on-load decodes (by DCT scaling, 1/2, 1/4 or 1/8) to at least this many times
#: the largest thumbnail, so that the final Lanczos still has real pixels to filter. Measured on
#: a zone plate: at 1x, DCT scaling aliases into ghost rings (30 dB against an exact Lanczos);
#: at 2x it is clean (47 dB), for a third more time (`make bench`).
SHRINK_ON_LOAD_MARGIN = 2
EXIF_ORIENTATION = 0x0112


@dataclass(frozen=True)
class Opened:
    """An upload opened for its thumbnails, nothing decoded yet (`image.load()` decodes)."""

    image: Image.Image
    image_format: str
    source_size: tuple[int, int]
    total_frames: int
    kept_frames: int
    box: tuple[float, float, float, float] | None  # the source's area once shrunk on load
    cost: DecodeCost
    note: str | None = None  # why the thumbnails differ from the file's own picture, if they do


def open_within_budget(
    data: bytes,
    widths: Sequence[int],
    *,
    max_pixels: int,
    max_frames: int,
    crops: Sequence[tuple[int, int]] = (),
) -> Opened:
    """Open `data`, set up shrink-on-load for the largest thumbnail, and refuse it as
    `TooManyPixelsError` if decoding it would cost more than `max_pixels`."""
    image, image_format = open_image(data)
    source_size = image.size
    # A GIF's frames are counted by walking its blocks: quick, but it reads the whole file.
    total_frames = animation.frame_count(image, image_format)
    kept_frames = min(total_frames, max_frames)
    note = None
    if image.get_format_mimetype() == "image/apng":
        problem = apng.animation_problem(data, kept_frames)
        if problem:
            image, _ = open_image(apng.default_image(data))
            total_frames = kept_frames = 1
            note = f"the APNG's animation cannot be read ({problem}); its default image is shown"

    # JPEG orientation is known from the header; it decides which side shrink-on-load must keep.
    orientation = exif_orientation(image) if image_format == "JPEG" else 1
    targets = thumbnail_sizes(displayed(source_size, orientation), widths, crops)
    box = shrink_on_load(image, image_format, stored(max(targets.values()), orientation))
    scale = round(source_size[0] / box[2]) if box else 1

    # GIF frames that reach outside the canvas grow Pillow's canvas as they are decoded: the
    # budget is for the canvas Pillow will hold, not the one a browser shows (gif.py).
    grown = None
    if image_format == "GIF" and kept_frames > 1:
        grown = gif.grown_canvas(data, image.size, kept_frames)
    cost = _decode_cost(image, image_format, source_size, scale, kept_frames, targets, grown)
    if cost.pixels > max_pixels:
        raise TooManyPixelsError(
            f"the {source_size[0]}x{source_size[1]} {image_format} would decode to "
            f"{cost.pixels / 1e6:.1f} megapixels ({cost.describe()}); the limit is "
            f"{max_pixels / 1e6:.1f} (MAX_INPUT_PIXELS); refused before decoding"
        )
    return Opened(image, image_format, source_size, total_frames, kept_frames, box, cost, note)


def open_image(data: bytes) -> tuple[Image.Image, str]:
    """Open an accepted image, header only, or raise the `BadObjectError` that says why not."""
    if not data:
        raise EmptyObjectError("the object is empty (0 bytes)")
    image_format = sniff_format(data[:HEAD_BYTES])
    if image_format is None:
        image_format = recognise_unaccepted(data[:HEAD_BYTES])
    if image_format is None:
        raise NotAnImageError("the bytes are not an image of any known format")
    if image_format not in ACCEPTED_FORMATS:
        accepted = ", ".join(ACCEPTED_FORMATS)
        raise UnsupportedFormatError(
            f"{image_format} images are not accepted (accepted: {accepted})"
        )
    try:
        image = Image.open(BytesIO(data), formats=[load_decoder(image_format)])
    except UnidentifiedImageError as exc:
        raise CorruptImageError(
            f"the data starts like {image_format} but its header is unreadable"
        ) from exc
    except DECODE_ERRORS as exc:  # a header cut short is corrupt, not a truncated image
        raise CorruptImageError(f"cannot read the {image_format} header: {exc}") from exc
    width, height = image.size
    if width < 1 or height < 1:
        raise CorruptImageError(f"the header declares an empty image ({width}x{height})")
    return image, image_format


def shrink_on_load(
    image: Image.Image, image_format: str, needed: tuple[int, int]
) -> tuple[float, float, float, float] | None:
    """Make a JPEG decode at the smallest DCT scale that is still `SHRINK_ON_LOAD_MARGIN` x
    `needed` (nothing is decoded yet). Returns the source's box in decoded pixels, or None.
    """
    if image_format != "JPEG":
        return None
    wanted = (needed[0] * SHRINK_ON_LOAD_MARGIN, needed[1] * SHRINK_ON_LOAD_MARGIN)
    if wanted[0] > image.size[0] // 2 or wanted[1] > image.size[1] // 2:
        return None
    drafted = image.draft(image.mode, wanted)
    return drafted[1] if drafted else None


def exif_orientation(image: Image.Image) -> int:
    """The EXIF orientation (1 to 8); 1 when absent or unreadable.

    A malformed EXIF block must not cost the user a thumbnail: the pixels are fine.
    """
    try:
        value = image.getexif().get(EXIF_ORIENTATION, 1)
    except (*DECODE_ERRORS, KeyError, TypeError):
        return 1
    return value if value in TRANSPOSE else 1


def _decode_cost(
    image: Image.Image,
    image_format: str,
    source_size: tuple[int, int],
    scale: int,
    frames: int,
    targets: Mapping[int, tuple[int, int]],
    grown: tuple[int, int] | None = None,
) -> DecodeCost:
    coefficients = 0
    if image_format == "JPEG" and image.info.get("progressive"):
        sampling = [(h, v) for _id, h, v, _table in getattr(image, "layer", [])]
        coefficients = jpeg_coefficient_pixels(source_size, sampling)
    return decode_cost(
        image_format,
        image.mode,
        grown or image.size,
        has_alpha="transparency" in image.info,
        scale=scale,
        coefficient_pixels=coefficients,
        frames=frames,
        frame_thumbnail_pixels=sum(w * h for w, h in targets.values()),
        cropped_to=image.size if grown and grown != image.size else None,
    )
