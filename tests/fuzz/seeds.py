"""The fuzz's seeds: a small image of every accepted format, still and animated, drawn in code.

Each seed also names where its format declares sizes (canvas, frame, IHDR, SOF, ispe...), so
that the mutations can declare absurd ones exactly where a decoder reads them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from scripts.support.sample_images import animation, encode, heic, moving_box_frames, photo


@dataclass(frozen=True)
class SizeField:
    """An integer a decoder reads as a size: where, how many bytes, which byte order."""

    offset: int
    length: int
    byteorder: str  # "little" or "big"


@dataclass(frozen=True)
class Seed:
    name: str
    data: bytes
    size_fields: tuple[SizeField, ...]


# Where sizes sit, after each occurrence of a marker: (offset from the marker, length, order).
_SIZE_MARKERS: tuple[tuple[bytes, tuple[tuple[int, int, str], ...]], ...] = (
    (b"IHDR", ((4, 4, "big"), (8, 4, "big"))),  # PNG
    (b"fcTL", ((8, 4, "big"), (12, 4, "big"), (16, 4, "big"), (20, 4, "big"))),  # APNG frame
    (b"GIF89a", ((6, 2, "little"), (8, 2, "little"))),  # GIF canvas
    (b"GIF87a", ((6, 2, "little"), (8, 2, "little"))),
    (b"\x21\xf9\x04", ((9, 2, "little"), (11, 2, "little"), (13, 2, "little"), (15, 2, "little"))),
    (b"\xff\xc0", ((5, 2, "big"), (7, 2, "big"))),  # JPEG SOF0: height, width
    (b"\xff\xc2", ((5, 2, "big"), (7, 2, "big"))),  # progressive
    (b"VP8X", ((12, 3, "little"), (15, 3, "little"))),  # WebP canvas - 1
    (b"ANMF", ((14, 3, "little"), (17, 3, "little"))),  # WebP frame - 1
    (b"VP8 ", ((14, 2, "little"), (16, 2, "little"))),
    (b"VP8L", ((9, 4, "little"),)),  # 14-bit width - 1 and height - 1, packed
    (b"ispe", ((8, 4, "big"), (12, 4, "big"))),  # HEIF/AVIF image extents
    (b"\x00\x01\x03\x00", ((8, 2, "little"),)),  # TIFF ImageWidth (SHORT)
    (b"\x01\x01\x03\x00", ((8, 2, "little"),)),  # TIFF ImageLength
    (b"\x00\x01\x04\x00", ((8, 4, "little"),)),  # the same as LONG
    (b"\x01\x01\x04\x00", ((8, 4, "little"),)),
)


def size_fields(data: bytes) -> tuple[SizeField, ...]:
    """Every size field the markers point at in `data` (BMP's are at fixed offsets)."""
    fields = [SizeField(18, 4, "little"), SizeField(22, 4, "little")] if data[:2] == b"BM" else []
    for marker, places in _SIZE_MARKERS:
        for match in re.finditer(re.escape(marker), data):
            fields += [
                SizeField(match.start() + delta, length, order)
                for delta, length, order in places
                if match.start() + delta + length <= len(data)
            ]
    return tuple(fields)


@cache
def seeds() -> tuple[Seed, ...]:
    """One small image per accepted format and variant (the fuzz starts from each)."""
    picture = photo(48, 32, seed=7)
    frames = moving_box_frames(3, (40, 30))
    clear_frames = moving_box_frames(3, (40, 30), transparent=True)
    made = {
        "jpeg": encode(picture, "JPEG", quality=80),
        "jpeg-progressive": encode(picture, "JPEG", quality=80, progressive=True),
        "jpeg-cmyk": encode(picture.convert("CMYK"), "JPEG"),
        "png": encode(picture, "PNG"),
        "png-rgba": encode(picture.convert("RGBA"), "PNG"),
        "png-palette": encode(picture.convert("P"), "PNG"),
        "png-16bit-grey": encode(picture.convert("I;16"), "PNG"),
        "apng": animation(frames, "PNG", durations=[40, 80, 120], loop=0),
        "gif": encode(picture.convert("P"), "GIF"),
        "gif-animated": animation(clear_frames, "GIF", durations=[40, 80, 120], loop=0),
        "webp": encode(picture, "WEBP", quality=70),
        "webp-lossless-alpha": encode(picture.convert("RGBA"), "WEBP", lossless=True),
        "webp-animated": animation(frames, "WEBP", durations=[40, 80, 120], loop=2),
        "bmp": encode(picture, "BMP"),
        "bmp-palette": encode(picture.convert("P"), "BMP"),
        "tiff": encode(picture, "TIFF"),
        "tiff-deflate": encode(picture, "TIFF", compression="tiff_adobe_deflate"),
        "heic": heic(picture),
        "avif": encode(picture, "AVIF", quality=60),
    }
    from scripts.support.animation_files import broken_apngs, gifs_reaching_outside

    made["gif-outside"] = gifs_reaching_outside((40, 30))["disposal 2, transparent"]
    made["gif-larger-first"] = gifs_reaching_outside((40, 30))["first frame larger than the screen"]
    made["apng-broken"] = broken_apngs((40, 30))["sequence number skipped"]
    made["apng-broken-default"] = broken_apngs((40, 30), default=True)["frame data missing"]
    return tuple(Seed(name, data, size_fields(data)) for name, data in made.items())
