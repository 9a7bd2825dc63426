"""Recognising image formats from their first bytes, never from the file name.

An iPhone photo named `IMG_0001.jpg` is usually HEIC; a `.png` may be a JPEG. The bytes decide,
and only the decoder of the format they name is ever allowed to look at them, so untrusted
uploads never reach Pillow's rarely used decoders (PSD, EPS, FITS, ICO, PCX...); those formats
are still recognised, so that their refusal names them.
"""

from __future__ import annotations

import importlib
import struct
from collections.abc import Callable
from functools import cache

#: What the pipeline decodes. Everything else is refused before any decoder sees it.
ACCEPTED_FORMATS = ("JPEG", "PNG", "WEBP", "GIF", "TIFF", "BMP", "HEIF", "AVIF")
#: Formats whose animations become animated thumbnails (others keep their first image).
ANIMATED_FORMATS = frozenset({"GIF", "WEBP", "PNG"})
#: How many bytes `sniff_format` wants: enough for an ISO-BMFF `ftyp` box and its brands.
HEAD_BYTES = 64

# The Pillow plugin that decodes each accepted format (HEIF comes from pillow-heif).
_PILLOW_PLUGINS = {
    "JPEG": "JpegImagePlugin",
    "PNG": "PngImagePlugin",
    "WEBP": "WebPImagePlugin",
    "GIF": "GifImagePlugin",
    "TIFF": "TiffImagePlugin",
    "BMP": "BmpImagePlugin",
    "AVIF": "AvifImagePlugin",
}

# ISO base media file brands (the `ftyp` box of HEIF and AVIF files).
_AVIF_BRANDS = frozenset({b"avif", b"avis"})
_HEIF_BRANDS = frozenset(
    {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"hevm", b"hevs", b"mif1", b"msf1"}
)

_MAGIC = (
    (b"\xff\xd8\xff", "JPEG"),
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"GIF87a", "GIF"),
    (b"GIF89a", "GIF"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
    (b"II+\x00", "TIFF"),  # BigTIFF
    (b"MM\x00+", "TIFF"),
    (b"BM", "BMP"),
    (b"8BPS", "PSD"),
    (b"%PDF", "PDF"),
    (b"%!PS", "EPS"),
    (b"\xc5\xd0\xd3\xc6", "EPS"),
    (b"\x00\x00\x01\x00", "ICO"),
    (b"SIMPLE  =", "FITS"),
    (b"\x00\x00\x00\x0cjP  \r\n\x87\n", "JPEG2000"),
    (b"\xff\x4f\xff\x51", "JPEG2000"),
    (b"\xff\x0a", "JPEGXL"),
    (b"\x00\x00\x00\x0cJXL \r\n\x87\n", "JPEGXL"),
    (b"qoif", "QOI"),
    (b"DDS ", "DDS"),
    (b"<svg", "SVG"),
)


def sniff_format(head: bytes) -> str | None:
    """Name the image format the bytes start with, or None if they look like no image."""
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    if head[4:8] == b"ftyp":
        return _iso_bmff_format(head)
    for magic, name in _MAGIC:
        if head.startswith(magic):
            return name
    return None


def recognise_unaccepted(head: bytes) -> str | None:
    """Name a format the pipeline does not accept but recognises, or None: no image at all.

    Asked only of bytes `sniff_format` does not name, so that a refusal can say what the upload
    is (`unsupported_format`) rather than that it is no image (`not_an_image`). Pillow's plugins
    are asked whether the first bytes carry their signature (a byte comparison; no decoder runs),
    which covers PPM/PGM, PCX, SGI, ICO, DDS, PSD and every other format Pillow knows; TGA has no
    signature, so its header is checked for the values a TGA writer must put there.
    """
    if _looks_like_tga(head):  # first: a true-colour TGA starts with CUR's four bytes
        return "TGA"
    from PIL import Image

    Image.init()  # imports every plugin, ~60 ms, paid only by refused uploads
    for format_id in Image.ID:
        accept = Image.OPEN[format_id][1]
        if format_id not in ACCEPTED_FORMATS and accept is not None and _accepts(accept, head):
            return format_id
    return None


def _accepts(accept: Callable[[bytes], object], head: bytes) -> bool:
    try:
        return bool(accept(head))
    except (IndexError, TypeError, struct.error):  # a few plugins index past a short head
        return False


def _looks_like_tga(head: bytes) -> bool:
    # The 18-byte header: ID length, colour map type (0 or 1), image type (colour-mapped, true
    # colour or grey, raw or RLE), the colour map's spec (all zero without one), origin, width,
    # height (neither 0) and pixel depth. Random bytes pass all of it about once in 10^8.
    if len(head) < 18:
        return False
    _id_length, map_type, image_type = head[0], head[1], head[2]
    width, height = struct.unpack("<HH", head[12:16])
    depth = head[16]
    colour_mapped = image_type in (1, 9)
    return (
        map_type == (1 if colour_mapped else 0)
        and image_type in (1, 2, 3, 9, 10, 11)
        and (map_type == 1 or head[3:8] == bytes(5))
        and width > 0
        and height > 0
        and depth in (1, 8, 15, 16, 24, 32)
    )


def _iso_bmff_format(head: bytes) -> str | None:
    # An `ftyp` box: size, "ftyp", major brand, minor version, then compatible brands. A HEIF
    # or AVIF file may carry the generic `mif1` as its major brand and say which it is among
    # the compatible ones, so all of them are read (AVIF first: an AVIF also lists `mif1`).
    box_size = struct.unpack(">I", head[:4])[0]
    end = min(box_size, len(head)) if box_size >= 16 else len(head)
    brands = {head[8:12]} | {head[i : i + 4] for i in range(16, end - 3, 4)}
    if brands & _AVIF_BRANDS:
        return "AVIF"
    if brands & _HEIF_BRANDS:
        return "HEIF"
    return None


@cache
def load_decoder(image_format: str) -> str:
    """Make Pillow able to open `image_format`, importing only that one decoder.

    Returns the format id to pass to `Image.open(..., formats=[...])`. Called only for accepted
    formats, so pillow-heif (a few MB of native code) is loaded only when an upload is HEIF:
    cold starts of the common JPEG case do not pay for it.
    """
    if image_format == "HEIF":
        from pillow_heif import register_heif_opener

        # Embedded thumbnails are too small and too compressed for 512 px; depth maps and
        # auxiliary images are never shown. Skipping them saves memory and decode time.
        register_heif_opener(thumbnails=False, depth_images=False, aux_images=False)
        return "HEIF"
    importlib.import_module(f"PIL.{_PILLOW_PLUGINS[image_format]}")
    return image_format
