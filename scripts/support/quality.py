"""Image quality figures for tests and the benchmark (no numpy: Pillow's histograms suffice)."""

from __future__ import annotations

import math

from PIL import Image, ImageChops


def psnr(image: Image.Image, reference: Image.Image) -> float:
    """Peak signal-to-noise ratio in dB over R, G and B; inf if identical.

    Images with alpha are compared as shown on a mid-grey page: the colour of a fully
    transparent pixel is never seen (and lossy WebP does not keep it).
    """
    if image.size != reference.size:
        raise ValueError(f"sizes differ: {image.size} and {reference.size}")
    difference = ImageChops.difference(on_grey(image), on_grey(reference))
    histogram = difference.histogram()  # 256 bins per band, R then G then B
    squared = sum((index % 256) ** 2 * count for index, count in enumerate(histogram))
    mean_squared = squared / (image.size[0] * image.size[1] * 3)
    return math.inf if mean_squared == 0 else 10 * math.log10(255**2 / mean_squared)


def on_grey(image: Image.Image) -> Image.Image:
    """`image` as RGB, composited over mid grey if it has transparency."""
    if image.mode in ("RGB", "L") or not image.has_transparency_data:
        return image.convert("RGB")
    page = Image.new("RGBA", image.size, (128, 128, 128, 255))
    return Image.alpha_composite(page, image.convert("RGBA")).convert("RGB")
