"""The image core: bytes in, WebP thumbnails out. No AWS in here.

Each upload goes through the same fixed pipeline:

    decode -> orient -> to_display_mode -> scale_to_width (each width) -> encode_webp

Decoding is defensive: only the accepted formats may be opened, the pixel count is checked
from the header before any pixel is decoded, and every Pillow error becomes one of our
`BadObjectError`s.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass
from io import BytesIO

from PIL import Image, ImageOps, UnidentifiedImageError

from thumbnailer.errors import (
    CorruptImageError,
    EmptyObjectError,
    NotAnImageError,
    TooManyPixelsError,
    TruncatedImageError,
    UnsupportedFormatError,
)
from thumbnailer.formats import ACCEPTED_FORMATS, sniff_format
from thumbnailer.settings import WEBP_MAX_SIDE

# libwebp's effort level (0 fast .. 6 small); 4 is its own default.
WEBP_METHOD = 4

# What Pillow raises on malformed input, besides its own UnidentifiedImageError.
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, struct.error)
_SIXTEEN_BIT_GREY = frozenset({"I;16", "I;16L", "I;16B", "I;16N", "I"})


@dataclass(frozen=True)
class Thumbnail:
    """One encoded thumbnail. `width` is the configured width that names it."""

    width: int
    size: tuple[int, int]
    data: bytes


@dataclass(frozen=True)
class ThumbnailSet:
    """Everything made from one upload."""

    source_format: str
    source_size: tuple[int, int]
    thumbnails: tuple[Thumbnail, ...]


def make_thumbnails(
    data: bytes, widths: Sequence[int], *, quality: int, max_pixels: int
) -> ThumbnailSet:
    """Decode `data` once and encode one WebP per width, largest first."""
    image = decode(data, max_pixels=max_pixels)
    source_format, source_size = image.format or "unknown", image.size
    orient(image)
    # An ICC profile describes the source's own colour space; it stays valid only when the
    # pixels stay in that space (RGB in, RGB out). A CMYK or grey profile on RGB output is wrong.
    icc_profile = image.info.get("icc_profile") if image.mode in ("RGB", "RGBA") else None
    image = to_display_mode(image)
    thumbnails = tuple(
        Thumbnail(width, scaled.size, encode_webp(scaled, quality=quality, icc_profile=icc_profile))
        for width in sorted(widths, reverse=True)
        for scaled in (scale_to_width(image, width),)
    )
    return ThumbnailSet(source_format, source_size, thumbnails)


def decode(data: bytes, *, max_pixels: int) -> Image.Image:
    """Open and fully decode an accepted image, or raise the `BadObjectError` that says why not."""
    if not data:
        raise EmptyObjectError("the object is empty (0 bytes)")
    try:
        image = Image.open(BytesIO(data), formats=ACCEPTED_FORMATS)
    except Image.DecompressionBombError as exc:
        raise TooManyPixelsError(f"refused before decoding: {exc}") from exc
    except UnidentifiedImageError as exc:
        raise _unidentified(data) from exc
    except _DECODE_ERRORS as exc:
        raise CorruptImageError(f"cannot read the image header: {exc}") from exc

    width, height = image.size
    if width < 1 or height < 1:
        raise CorruptImageError(f"the header declares an empty image ({width}x{height})")
    if width * height > max_pixels:
        raise TooManyPixelsError(
            f"{width}x{height} is {width * height / 1e6:.1f} megapixels; "
            f"the limit is {max_pixels / 1e6:.1f} (refused before decoding)"
        )
    try:
        image.load()
    except _DECODE_ERRORS as exc:
        if "truncated" in str(exc).lower():
            raise TruncatedImageError(f"the {image.format} data ends early: {exc}") from exc
        raise CorruptImageError(f"cannot decode the {image.format} pixel data: {exc}") from exc
    return image


def _unidentified(data: bytes) -> Exception:
    sniffed = sniff_format(data[:32])
    if sniffed is None:
        return NotAnImageError("the bytes are not an image of any known format")
    if sniffed in ACCEPTED_FORMATS:
        return CorruptImageError(f"the data starts like {sniffed} but its header is unreadable")
    accepted = ", ".join(ACCEPTED_FORMATS)
    return UnsupportedFormatError(f"{sniffed} images are not accepted (accepted: {accepted})")


def orient(image: Image.Image) -> None:
    """Apply the EXIF orientation in place, so the thumbnail looks the way the camera was held."""
    try:
        ImageOps.exif_transpose(image, in_place=True)
    except (*_DECODE_ERRORS, KeyError, TypeError):
        # A malformed EXIF block must not cost the user a thumbnail; the pixels are fine.
        return


def to_display_mode(image: Image.Image) -> Image.Image:
    """Convert to 8-bit RGB, or RGBA if the source has any transparency: all WebP can store."""
    if image.mode in ("RGB", "RGBA"):
        return image
    if image.mode in _SIXTEEN_BIT_GREY:
        # Pillow's I;16 -> L conversion clips everything above 255 to white; scale instead.
        image = image.convert("I").point(lambda value: value * (1 / 257))
        return image.convert("L").convert("RGB")
    return image.convert("RGBA" if image.has_transparency_data else "RGB")


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


def scale_to_width(image: Image.Image, width: int) -> Image.Image:
    """Resize with Lanczos (alpha is premultiplied by Pillow, so edges do not darken)."""
    size = target_size(image.size, width)
    if size == image.size:
        return image
    return image.resize(size, Image.Resampling.LANCZOS)


def encode_webp(image: Image.Image, *, quality: int, icc_profile: bytes | None = None) -> bytes:
    """Encode as lossy WebP. No EXIF, GPS or maker notes are written: thumbnails are public."""
    buffer = BytesIO()
    image.save(
        buffer,
        "WEBP",
        quality=quality,
        method=WEBP_METHOD,
        icc_profile=icc_profile or b"",
        exif=b"",
    )
    return buffer.getvalue()
