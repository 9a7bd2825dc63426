"""A page's stand-in for an image until it arrives: a BlurHash and the dominant colour.

BlurHash (https://blurha.sh) is a 20-30 character string that a front-end decodes into a
blurred preview; decoders exist for every platform. It is computed by the `blurhash` package
(pure Python) on a PLACEHOLDER_SIDE-pixel downscale, where it costs a few milliseconds.
"""

from __future__ import annotations

from dataclasses import dataclass

import blurhash
from PIL import Image

ALGORITHM = "blurhash"
#: The downscale the hash and the colour are computed from: a blur needs no more.
PLACEHOLDER_SIDE = 32
#: Components along the longer side and the shorter one: 4 x 3 is BlurHash's own suggestion.
COMPONENTS = (4, 3)
_PAGE = (255, 255, 255)  # transparent pixels are shown as on a white page


@dataclass(frozen=True)
class Placeholder:
    algorithm: str
    hash: str
    color: str  # "#rrggbb"

    def as_dict(self) -> dict[str, str]:
        return {"algorithm": self.algorithm, "hash": self.hash, "color": self.color}


def placeholder_for(picture: Image.Image) -> Placeholder:
    """The BlurHash and dominant colour of a (thumbnail of a) picture."""
    small = picture.copy()
    small.thumbnail((PLACEHOLDER_SIDE, PLACEHOLDER_SIDE), Image.Resampling.BOX)
    if "A" in small.getbands() or small.mode == "P":
        page = Image.new("RGBA", small.size, (*_PAGE, 255))
        small = Image.alpha_composite(page, small.convert("RGBA"))
    small = small.convert("RGB")
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
    return Placeholder(
        ALGORITHM, blurhash.encode(rows, x_components, y_components), dominant_colour(small)
    )


def dominant_colour(picture: Image.Image) -> str:
    """The most common of the picture's four median-cut colours, as `#rrggbb`."""
    quantized = picture.convert("RGB").quantize(colors=4, method=Image.Quantize.MEDIANCUT)
    palette = quantized.getpalette() or []
    _count, index = max(quantized.getcolors() or [(1, 0)])
    red, green, blue = palette[3 * index : 3 * index + 3]
    return f"#{red:02x}{green:02x}{blue:02x}"
