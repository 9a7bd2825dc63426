"""The per-plane arithmetic of the metric (metric.py), in numpy: linear light, XYB colour, the
Gaussian blur, the halving between scales. Each writes into arrays the caller gives and keeps:
fresh memory costs a page fault every 4 KB, as much as the arithmetic. No AWS in here.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

_OPSIN = np.array(
    [
        [0.30, 0.622, 0.078],
        [0.23, 0.692, 0.078],
        [0.24342268924547819, 0.20476744424496821, 0.55180986650951360],
    ],
    dtype=np.float32,
)
_BIAS = np.float32(0.0037930732552754493)
_CBRT_BIAS = np.cbrt(_BIAS)
RADIUS = 5  # sigma 1.5, as the reference's
_KERNEL = np.exp(-0.5 * (np.arange(-RADIUS, RADIUS + 1) / 1.5) ** 2).astype(np.float32)
_KERNEL /= _KERNEL.sum()
_SRGB = np.arange(256, dtype=np.float64) / 255
_LINEAR = np.where(_SRGB <= 0.04045, _SRGB / 12.92, ((_SRGB + 0.055) / 1.055) ** 2.4)
_LINEAR = _LINEAR.astype(np.float32)


def linear_rgb(picture: Image.Image, out: np.ndarray | None = None) -> np.ndarray:
    """Linear-light RGB, 3 x H x W (one contiguous plane a channel, for speed), into `out` if
    given. Transparency is shown over mid grey."""
    if picture.mode not in ("RGB", "RGBA"):
        picture = picture.convert("RGBA" if picture.has_transparency_data else "RGB")
    pixels = np.moveaxis(np.asarray(picture), -1, 0)
    rgb = np.take(_LINEAR, pixels[:3], out=out, mode="wrap")  # "wrap": no bounds check
    if picture.mode == "RGBA":
        alpha = pixels[3].astype(np.float32) / 255
        rgb *= alpha
        rgb += _LINEAR[128] * (1 - alpha)
    return rgb


def xyb(linear: np.ndarray, channels: list[int], out: np.ndarray, scratch: np.ndarray) -> None:
    """Positive XYB (the reference's MakePositiveXYB), only `channels` of it, into `out`.
    `scratch`: four planes of linear's size."""
    # Row by row, not a matrix product: BLAS would start threads for a 3x3 matrix, slower on
    # Lambda's one or two vCPUs. B (row 2) is needed only for channel 2.
    red, green, blue = linear
    mixed, term = scratch[:3], scratch[3]
    for row, plane in zip(_OPSIN[: 3 if 2 in channels else 2], mixed, strict=False):
        np.multiply(red, row[0], out=plane)
        plane += np.multiply(green, row[1], out=term)
        plane += np.multiply(blue, row[2], out=term)
        plane += _BIAS
        np.cbrt(plane, out=plane)  # of a positive number: light, the matrix and the bias are
    # The reference takes cbrt(bias) off each mix: that cancels in X and B, and is folded into
    # Y's offset here.
    for channel, plane in zip(channels, out, strict=True):
        if channel == 0:
            np.subtract(mixed[0], mixed[1], out=plane)
            plane *= 7
            plane += 0.42
        else:  # Y + 0.01, or B - Y + 0.55
            np.add(mixed[0], mixed[1], out=plane)
            plane *= 0.5 if channel == 1 else -0.5
            if channel == 2:
                plane += mixed[2]
            plane += 0.01 - _CBRT_BIAS if channel == 1 else 0.55


def blur(padded: np.ndarray, rows: np.ndarray, pair: np.ndarray, out: np.ndarray) -> None:
    """Gaussian blur, sigma 1.5, of the planes in the middle of `padded` (RADIUS columns each
    side, mirrored here) into `out`; zeros above and below, as the reference's. `rows` (RADIUS
    rows taller each side than `out`) and `pair` (`out`'s shape) are scratch."""
    height, width = out.shape[1:]
    padded[..., :RADIUS] = padded[..., 2 * RADIUS - 1 : RADIUS - 1 : -1]
    padded[..., RADIUS + width :] = padded[..., RADIUS + width - 1 : width - 1 : -1]
    rows[:, :RADIUS] = rows[:, RADIUS + height :] = 0
    # Across, then down: the second pass on views with the axes swapped, so both slice the last.
    across = rows[:, RADIUS : RADIUS + height]
    down = (rows.swapaxes(1, 2), out.swapaxes(1, 2), pair.swapaxes(1, 2))
    for source, target, term in ((padded, across, pair), down):
        size = target.shape[2]
        np.multiply(source[..., RADIUS : RADIUS + size], _KERNEL[RADIUS], out=target)
        for k in range(1, RADIUS + 1):
            near, far = source[..., RADIUS - k :], source[..., RADIUS + k :]
            np.add(near[..., :size], far[..., :size], out=term)
            term *= _KERNEL[RADIUS + k]
            target += term


def halve(linear: np.ndarray, out: np.ndarray) -> np.ndarray:
    """2x2 means, the last row or column of an odd side averaging the pixels it has."""
    height, width = (side // 2 * 2 for side in linear.shape[1:])
    even = out[:, : height // 2, : width // 2]
    np.add(linear[:, 0:height:2, 0:width:2], linear[:, 1:height:2, 0:width:2], out=even)
    even += linear[:, 0:height:2, 1:width:2]
    even += linear[:, 1:height:2, 1:width:2]
    even *= 0.25
    if height < linear.shape[1]:
        np.add(linear[:, -1, 0:width:2], linear[:, -1, 1:width:2], out=out[:, -1, : width // 2])
        out[:, -1, : width // 2] *= 0.5
    if width < linear.shape[2]:
        np.add(linear[:, 0:height:2, -1], linear[:, 1:height:2, -1], out=out[:, : height // 2, -1])
        out[:, : height // 2, -1] *= 0.5
    if height < linear.shape[1] and width < linear.shape[2]:
        out[:, -1, -1] = linear[:, -1, -1]
    return out
