"""A page's stand-in for an image until it arrives: a tiny image as a `data:` URL, a ThumbHash,
a BlurHash and the dominant colour.

- `data_url` paints with no script at all: a WebP a few pixels across (DATA_URL_SIDE on its
  longer side, at the source's aspect ratio) that a browser stretches as an `<img>` or a CSS
  background, and what Next.js's `blurDataURL` and unpic's `background` take as they are.
- ThumbHash (https://evanw.github.io/thumbhash/) keeps alpha and the aspect ratio in about 25
  bytes, for front-ends that decode one; the `thash` package's pure-Python encoder (the
  function ships no NumPy) on a PLACEHOLDER_SIDE-pixel downscale.
- BlurHash (https://blurha.sh), 4 x 3 components, by the `blurhash` package (pure Python).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from io import BytesIO

import blurhash
from PIL import Image
from thash import rgba_to_thumb_hash_pure

ALGORITHM = "blurhash"
#: The downscale the hashes and the colour are computed from: a blur needs no more.
PLACEHOLDER_SIDE = 32
#: Components along the longer side and the shorter one: 4 x 3 is BlurHash's own suggestion.
COMPONENTS = (4, 3)
#: The data URL's longer side, grown only as far as the aspect ratio needs (ASPECT_TOLERANCE).
DATA_URL_SIDE = 16
DATA_URL_MAX_SIDE = 64
ASPECT_TOLERANCE = 0.05
#: The data URL's bound. Pure noise at 16 x 16 with alpha, the worst case, is about 700
#: characters at DATA_URL_QUALITY; a photo's, 180 to 320 (tests/unit/test_placeholder_data_url.py).
DATA_URL_MAX_CHARS = 1024
DATA_URL_QUALITY = 50
_PAGE = (255, 255, 255)  # transparent pixels are shown as on a white page


@dataclass(frozen=True)
class Placeholder:
    algorithm: str
    hash: str
    color: str  # "#rrggbb"
    data_url: str = ""  # "data:image/webp;base64,..."
    thumbhash: str = ""  # base64

    def as_dict(self) -> dict[str, str]:
        return {
            "algorithm": self.algorithm,
            "hash": self.hash,
            "color": self.color,
            "data_url": self.data_url,
            "thumbhash": self.thumbhash,
        }


def placeholder_for(picture: Image.Image, size: tuple[int, int] | None = None) -> Placeholder:
    """The placeholders of a (thumbnail of a) picture; `size`, the source's, gives the data
    URL its aspect ratio (the thumbnail's own, rounded to whole pixels, by default)."""
    small = picture.copy()
    small.thumbnail((PLACEHOLDER_SIDE, PLACEHOLDER_SIDE), Image.Resampling.BOX)
    rgba = small.convert("RGBA")
    on_page = Image.alpha_composite(Image.new("RGBA", rgba.size, (*_PAGE, 255)), rgba)
    return Placeholder(
        ALGORITHM,
        _blurhash(on_page.convert("RGB")),
        dominant_colour(on_page),
        data_url=data_url(picture, size or picture.size),
        thumbhash=thumbhash(rgba),
    )


def thumbhash(picture: Image.Image) -> str:
    """The picture's ThumbHash, base64 (with padding), from a PLACEHOLDER_SIDE downscale."""
    small = picture.convert("RGBA")
    small.thumbnail((PLACEHOLDER_SIDE, PLACEHOLDER_SIDE), Image.Resampling.BOX)
    hashed = rgba_to_thumb_hash_pure(small.width, small.height, list(small.tobytes()))
    return base64.b64encode(bytes(hashed)).decode("ascii")


def data_url(picture: Image.Image, size: tuple[int, int]) -> str:
    """A WebP of `picture` a few pixels across, at `size`'s aspect ratio, as a `data:` URL."""
    tiny = picture.resize(tiny_size(size), Image.Resampling.BOX)
    if tiny.mode not in ("RGB", "RGBA"):
        tiny = tiny.convert("RGBA")
    encoded = BytesIO()
    tiny.save(encoded, "WEBP", quality=DATA_URL_QUALITY, method=6)
    return "data:image/webp;base64," + base64.b64encode(encoded.getvalue()).decode("ascii")


def tiny_size(size: tuple[int, int]) -> tuple[int, int]:
    """DATA_URL_SIDE on the longer side, or the first longer side up to DATA_URL_MAX_SIDE whose
    whole-pixel shorter side keeps the aspect ratio within ASPECT_TOLERANCE (a 1200x630 source
    is 17x9, where 16x8 would be 5% too wide); the closest one if none does."""
    width, height = size
    ratio = max(width, height) / max(1, min(width, height))
    best = (float("inf"), DATA_URL_SIDE, DATA_URL_SIDE)
    for long_side in range(DATA_URL_SIDE, DATA_URL_MAX_SIDE + 1):
        short_side = max(1, round(long_side / ratio))
        best = min(best, (abs(long_side / short_side / ratio - 1), long_side, short_side))
        if best[0] <= ASPECT_TOLERANCE:
            break
    _error, long_side, short_side = best
    return (long_side, short_side) if width >= height else (short_side, long_side)


def _blurhash(small: Image.Image) -> str:
    width, height = small.size
    long_side, short_side = COMPONENTS
    x_components, y_components = (
        (long_side, short_side) if width >= height else (short_side, long_side)
    )
    data = small.tobytes()
    rows = [
        [list(data[3 * (y * width + x) : 3 * (y * width + x) + 3]) for x in range(width)]
        for y in range(height)
    ]
    return blurhash.encode(rows, x_components, y_components)


def dominant_colour(picture: Image.Image) -> str:
    """The most common of the picture's four median-cut colours, as `#rrggbb`."""
    quantized = picture.convert("RGB").quantize(colors=4, method=Image.Quantize.MEDIANCUT)
    palette = quantized.getpalette() or []
    _count, index = max(quantized.getcolors() or [(1, 0)])
    red, green, blue = palette[3 * index : 3 * index + 3]
    return f"#{red:02x}{green:02x}{blue:02x}"
