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


#: SSIM's constants for 8-bit data (Wang et al. 2004: K1 = 0.01, K2 = 0.03, L = 255).
_C1, _C2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2


def ssim(image: Image.Image, reference: Image.Image, block: int = 8) -> float:
    """Mean structural similarity of the luma (1.0: identical), over `block` x `block` windows
    that do not overlap: the measure the AVIF quality was chosen by (docs/renditions.md)."""
    if image.size != reference.size:
        raise ValueError(f"sizes differ: {image.size} and {reference.size}")
    width, height = image.size
    xs = on_grey(image).convert("L").tobytes()
    ys = on_grey(reference).convert("L").tobytes()
    total, windows = 0.0, 0
    area = block * block
    for top in range(0, height - block + 1, block):
        for left in range(0, width - block + 1, block):
            sx = sy = sxx = syy = sxy = 0
            for row in range(top, top + block):
                start = row * width + left
                for x, y in zip(xs[start : start + block], ys[start : start + block], strict=True):
                    sx += x
                    sy += y
                    sxx += x * x
                    syy += y * y
                    sxy += x * y
            mx, my = sx / area, sy / area
            vx, vy, cov = sxx / area - mx * mx, syy / area - my * my, sxy / area - mx * my
            total += ((2 * mx * my + _C1) * (2 * cov + _C2)) / (
                (mx * mx + my * my + _C1) * (vx + vy + _C2)
            )
            windows += 1
    return total / windows if windows else 1.0
