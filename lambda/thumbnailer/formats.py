"""Recognising image formats from their first bytes, never from the file name.

An iPhone photo named `IMG_0001.jpg` is usually HEIC; a `.png` may be a JPEG. The bytes decide,
and only the decoder of the format they name is ever allowed to look at them, so untrusted
uploads never reach Pillow's rarely used decoders (PSD, EPS, FITS, ICO, PCX...).
"""

from __future__ import annotations

import importlib
import struct
from functools import cache

#: What the pipeline decodes. Everything else is refused before any decoder sees it.
ACCEPTED_FORMATS = ("JPEG", "PNG", "WEBP", "GIF", "TIFF", "BMP", "HEIF", "AVIF")
#: Formats whose animations become animated thumbnails (others keep their first image).
ANIMATED_FORMATS = frozenset({"GIF", "WEBP"})
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
