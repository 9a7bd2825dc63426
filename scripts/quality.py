"""Image quality figures for tests and the benchmark (no numpy: Pillow's histograms suffice)."""

from __future__ import annotations

import math

from PIL import Image, ImageChops


def psnr(image: Image.Image, reference: Image.Image) -> float:
    """Peak signal-to-noise ratio in dB over R, G and B (alpha ignored); inf if identical."""
    if image.size != reference.size:
        raise ValueError(f"sizes differ: {image.size} and {reference.size}")
    difference = ImageChops.difference(image.convert("RGB"), reference.convert("RGB"))
    histogram = difference.histogram()  # 256 bins per band, R then G then B
    squared = sum((index % 256) ** 2 * count for index, count in enumerate(histogram))
    mean_squared = squared / (image.size[0] * image.size[1] * 3)
    return math.inf if mean_squared == 0 else 10 * math.log10(255**2 / mean_squared)
