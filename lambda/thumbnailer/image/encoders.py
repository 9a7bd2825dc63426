"""WebP and AVIF encoding, with the settings chosen by measurement (`make bench`).

No EXIF, XMP, GPS, maker notes or ICC profile are written: thumbnails are public, and their
pixels are already sRGB.
"""

from __future__ import annotations

from collections.abc import Sequence
from io import BytesIO

from PIL import Image

from thumbnailer.image.animation import Timing

FORMATS = ("webp", "avif")  # in order of preference
CONTENT_TYPES = {"webp": "image/webp", "avif": "image/avif"}
DEFAULT_WEBP_QUALITY = 85
#: Chosen by measurement (`make bench`, docs/renditions.md): the lowest AVIF quality whose SSIM
#: against the source is the WebP thumbnail's at WEBP_QUALITY=85 (to 0.0005) on every bench photo
#: at 512w and 128w. 512w needs only 55; 128w needs 70. At 70 the bench's photos are 6 to 20%
#: smaller than WebP at 512w, -5 to 9% at 128w; the PNG with alpha 74% and 51%.
DEFAULT_AVIF_QUALITY = 70
#: libwebp's effort (0 fast .. 6 small), chosen by measurement (docs/performance.md). Stills:
#: 2, the knee of the curve: 0 and 1 are 25 to 40% bigger, while 3 and 4 take 2.5 times as long
#: to save 4 to 6% on photos (12% with alpha), at the same PSNR, on files of a few KB. Animations:
#: 5, because there the bytes are large: 13 to 19% smaller than 2 to 4 on photographic
#: animations for about twice 2's time; 6 takes three times longer again for no gain.
WEBP_METHOD = 2
WEBP_ANIMATION_METHOD = 5
#: Frames between two forced key frames of an animated WebP: more than any animation has, so
#: libwebp places key frames only where they are smaller (as libvips does).
ANIMATION_KEY_FRAME_INTERVAL = 1_000_000
#: libavif's speed (0 slow and small .. 10 fast), chosen by measurement (`make bench`,
#: docs/renditions.md): 7 is the knee. A 512w + 128w pair takes 27 ms against speed 6's 44, for
#: 4% more bytes; 8 is faster again (14 ms) but 13% bigger, as much as AVIF saves over WebP at
#: 512w on most photos, and 9 is 40% bigger. AVIF is there for its bytes.
AVIF_SPEED = 7
_NO_METADATA = {"icc_profile": b"", "exif": b"", "xmp": b""}


def encode(
    frames: Sequence[Image.Image], fmt: str, *, quality: int, timing: Timing | None = None
) -> bytes:
    """`frames` (one for a still) in `fmt` at `quality`."""
    if fmt == "avif":
        return encode_avif(frames[0], quality=quality)
    return encode_webp(frames, quality=quality, timing=timing)


def encode_webp(
    frames: Sequence[Image.Image], *, quality: int, timing: Timing | None = None
) -> bytes:
    """Lossy WebP, animated if there are several frames."""
    # Imported by name: to find a writer it has not loaded yet, Pillow's save() imports every
    # one of its ~50 plugins, 60 ms of a cold start.
    from PIL import WebPImagePlugin  # noqa: F401

    buffer = BytesIO()
    first, *rest = frames
    if rest and timing is not None:
        first.save(
            buffer,
            "WEBP",
            save_all=True,
            append_images=rest,
            duration=list(timing.durations),
            loop=timing.loop,
            background=(0, 0, 0, 0),
            method=WEBP_ANIMATION_METHOD,
            # No forced key frames (Pillow's default puts one every 3 to 5 frames, and tries
            # each candidate both ways): the same bytes on photographic animations, in 30 to 40%
            # less time. libwebp still makes a key frame wherever one is smaller.
            kmin=ANIMATION_KEY_FRAME_INTERVAL - 1,
            kmax=ANIMATION_KEY_FRAME_INTERVAL,
            quality=quality,
            **_NO_METADATA,
        )
    else:
        first.save(buffer, "WEBP", method=WEBP_METHOD, quality=quality, **_NO_METADATA)
    return buffer.getvalue()


def encode_avif(picture: Image.Image, *, quality: int, speed: int = AVIF_SPEED) -> bytes:
    """A still AVIF."""
    from PIL import AvifImagePlugin  # noqa: F401 - see encode_webp

    buffer = BytesIO()
    picture.save(buffer, "AVIF", quality=quality, speed=speed, **_NO_METADATA)
    return buffer.getvalue()
