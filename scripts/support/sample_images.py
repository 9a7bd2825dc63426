"""Deterministic sample images, drawn in code: no binary fixtures in the repository."""

from __future__ import annotations

import random
import struct
import zlib
from io import BytesIO

from PIL import Image, ImageDraw, ImageFilter

EXIF_ORIENTATION = 0x0112
EXIF_GPS_IFD = 0x8825


def photo(width: int, height: int, *, seed: int = 0) -> Image.Image:
    """A photo-like RGB image: smooth gradients, soft shapes, hard edges and grain."""
    rng = random.Random(seed)
    horizontal = Image.linear_gradient("L").rotate(90).resize((width, height))
    vertical = Image.linear_gradient("L").resize((width, height))
    radial = Image.radial_gradient("L").resize((width, height))
    image = Image.merge("RGB", (horizontal, vertical, radial))
    draw = ImageDraw.Draw(image)
    for _ in range(12):
        x, y = rng.randrange(width), rng.randrange(height)
        radius = rng.randrange(1, max(2, min(width, height) // 4))
        colour = tuple(rng.randrange(256) for _ in range(3))
        draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=colour)
    image = image.filter(ImageFilter.GaussianBlur(radius=max(1, width // 400)))
    draw = ImageDraw.Draw(image)
    for _ in range(8):  # hard edges after the blur, where resampling artefacts would show
        x, y = rng.randrange(width), rng.randrange(height)
        draw.rectangle((x, y, x + width // 10, y + height // 30), fill=(255, 255, 255))
    return Image.blend(image, _grain((width, height), rng), 0.08)


def _grain(size: tuple[int, int], rng: random.Random) -> Image.Image:
    tile = Image.frombytes("RGB", (64, 64), rng.randbytes(64 * 64 * 3))
    grain = Image.new("RGB", size)
    for x in range(0, size[0], 64):
        for y in range(0, size[1], 64):
            grain.paste(tile, (x, y))
    return grain


def encode(image: Image.Image, image_format: str, **params: object) -> bytes:
    buffer = BytesIO()
    image.save(buffer, image_format, **params)
    return buffer.getvalue()


def jpeg_with_exif(image: Image.Image, *, orientation: int = 1, gps: bool = False) -> bytes:
    """A JPEG whose EXIF says how to orient it (and, optionally, where it was taken)."""
    exif = Image.Exif()
    exif[EXIF_ORIENTATION] = orientation
    exif[0x010F] = "SampleCam"  # Make
    if gps:
        gps_ifd = exif.get_ifd(EXIF_GPS_IFD)
        gps_ifd.update({1: "N", 2: (48.0, 51.0, 24.0), 3: "E", 4: (2.0, 21.0, 3.0)})
    return encode(image, "JPEG", exif=exif, quality=90)


def transparent_logo(width: int = 640, height: int = 480) -> Image.Image:
    """RGBA: a solid disc on a fully transparent background."""
    image = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    ImageDraw.Draw(image).ellipse(
        (width // 4, height // 4, 3 * width // 4, 3 * height // 4), fill=(20, 120, 220, 255)
    )
    return image


def demo_set() -> dict[str, bytes]:
    """What `make demo` uploads: everyday formats, awkward names, and one broken file."""
    landscape = photo(1600, 1067, seed=1)
    return {
        "holiday/beach day.jpg": encode(landscape, "JPEG", quality=88),
        "holiday/portrait (rotated).jpg": jpeg_with_exif(photo(1200, 900, seed=2), orientation=6),
        "logos/logo.png": encode(transparent_logo(), "PNG"),
        "icons/tiny.gif": encode(photo(96, 64, seed=3).convert("P"), "GIF"),
        "web/banner.v2.webp": encode(photo(2000, 500, seed=4), "WEBP", quality=90),
        "broken/not-really-a.jpg": encode(landscape, "JPEG")[:5000],
    }


def heic(image: Image.Image, *, quality: int = 80, **info: object) -> bytes:
    """HEIC as an iPhone writes it (HEVC in HEIF), through pillow-heif's encoder.

    `info` may hold `exif` and `icc_profile`. The pixels are stored as given: an EXIF
    orientation becomes HEIF's own rotation (irot), which decoders apply, as in iPhone photos.
    """
    from pillow_heif import from_bytes

    heif = from_bytes(image.mode, image.size, image.tobytes())
    heif.info.update(info)
    buffer = BytesIO()
    heif.save(buffer, quality=quality)
    return buffer.getvalue()


def moving_box_frames(
    count: int, size: tuple[int, int] = (320, 240), *, transparent: bool = False
) -> list[Image.Image]:
    """Frames of a red box crossing the picture; the background is clear if `transparent`."""
    width, height = size
    frames = []
    for index in range(count):
        frame = Image.new("RGBA", size, (0, 0, 0, 0) if transparent else (250, 250, 250, 255))
        x = index * (width - width // 4) // max(1, count - 1)
        ImageDraw.Draw(frame).rectangle((x, height // 4, x + width // 4, height // 2), fill="red")
        frames.append(frame if transparent else frame.convert("RGB"))
    return frames


def animation(
    frames: list[Image.Image], image_format: str, *, durations: list[int], **params: object
) -> bytes:
    """An animated GIF or WebP of `frames`, each shown for its duration (ms)."""
    return encode(
        frames[0],
        image_format,
        save_all=True,
        append_images=frames[1:],
        duration=durations,
        **params,
    )


def zone_plate(width: int, height: int) -> Image.Image:
    """Concentric rings whose frequency rises towards the edges, up to one cycle per two pixels:
    the classic test chart for aliasing (moire shows as ghost rings)."""
    import math

    rows = bytearray()
    for y in range(height):
        dy2 = (y - height / 2) ** 2
        rows += bytes(
            int(127.5 + 127.5 * math.cos(math.pi * ((x - width / 2) ** 2 + dy2) / (width * 1.2)))
            for x in range(width)
        )
    return Image.frombytes("L", (width, height), bytes(rows)).convert("RGB")


def png_bomb(width: int, height: int) -> bytes:
    """A valid, all-black 1-bit PNG of width x height made one scanline at a time: a few hundred
    KB that would decode to width x height pixels (a decompression bomb), built without ever
    holding those pixels in memory."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    scanline = b"\x00" * (1 + (width + 7) // 8)  # filter byte, then 8 pixels per byte
    compressor = zlib.compressobj(9)
    data = b"".join(compressor.compress(scanline) for _ in range(height)) + compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")
    )


def gif_with_oversized_frame(frame_size: tuple[int, int]) -> bytes:
    """A valid 2-frame 16x16 GIF whose second frame declares extents of `frame_size`."""
    frames = [Image.new("P", (16, 16), 1), Image.new("P", (16, 16), 2)]
    for x in range(16):
        frames[1].putpixel((x, x), 5)
    data = bytearray(animation(frames, "GIF", durations=[100, 100], loop=0))
    # Each frame: a graphic control extension (8 bytes), then its image descriptor (",").
    descriptors = [i + 8 for i in range(len(data)) if data[i : i + 3] == b"\x21\xf9\x04"]
    second = descriptors[1]
    assert data[second : second + 1] == b","
    data[second + 5 : second + 9] = struct.pack("<HH", *frame_size)
    return bytes(data)
