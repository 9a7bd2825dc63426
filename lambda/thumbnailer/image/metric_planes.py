"""The per-plane arithmetic of the metric (metric.py), in numpy: linear light, XYB colour, the
Gaussian blur, the halving between scales. Each writes into arrays the caller gives and keeps:
fresh memory costs a page fault every 4 KB, as much as the arithmetic. No AWS in here.

Every plane is kept RADIUS columns wider each side than the picture, the picture mirrored
there (the blur's edge, as the reference's). Per-pixel steps keep the mirror, so it is made
once a scale, and every operation runs over whole contiguous planes: on views that skip the
margins, numpy goes row by row, three times slower at 512w. Only the norms skip them.
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


def linear_rgb(picture: Image.Image, out: np.ndarray) -> np.ndarray:
    """Linear-light RGB into `out` (3 x H x W + margins). Transparency is shown over mid
    grey."""
    if picture.mode not in ("RGB", "RGBA"):
        picture = picture.convert("RGBA" if picture.has_transparency_data else "RGB")
    pixels = np.moveaxis(np.asarray(picture), -1, 0)
    # The margins mirrored in the 8-bit pixels: one copy of a quarter of the float planes' size.
    width = pixels.shape[-1]
    ends = (pixels[..., RADIUS - 1 :: -1], pixels, pixels[..., : width - RADIUS - 1 : -1])
    pixels = np.concatenate(ends, axis=-1)
    rgb = np.take(_LINEAR, pixels[:3], out=out, mode="wrap")  # "wrap": no bounds check
    if picture.mode == "RGBA":
        alpha = pixels[3].astype(np.float32) / 255
        rgb *= alpha
        rgb += _LINEAR[128] * (1 - alpha)
    return rgb


def mirror(planes: np.ndarray) -> np.ndarray:
    """Fills the margins of `planes` with the picture mirrored (as np.pad's "symmetric"); the
    picture is at least RADIUS wide (metric.MIN_SIDE sees to it at every scale)."""
    width = planes.shape[-1] - 2 * RADIUS
    planes[..., :RADIUS] = planes[..., 2 * RADIUS - 1 : RADIUS - 1 : -1]
    planes[..., RADIUS + width :] = planes[..., RADIUS + width - 1 : width - 1 : -1]
    return planes


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


def blur(rows: np.ndarray, down: np.ndarray, term: np.ndarray, out: np.ndarray) -> None:
    """Gaussian blur, sigma 1.5, into `out` (k x H x W + margins), of the planes in the middle
    rows of `rows` (k x H + 2 RADIUS x W + margins): zeros above and below, as the
    reference's. `down` and `term` (`out`'s shape) are scratch."""
    height = out.shape[1]
    rows[:, :RADIUS] = rows[:, RADIUS + height :] = 0
    # Down: shifted windows of whole rows. Across: the planes as one line, shifted by pixels;
    # what that mixes of two rows lands in the margins, and the margins are not counted.
    np.multiply(rows[:, RADIUS : RADIUS + height], _KERNEL[RADIUS], out=down)
    for k in range(1, RADIUS + 1):
        np.add(rows[:, RADIUS - k : RADIUS - k + height], rows[:, RADIUS + k :][:, :height],
               out=term)  # fmt: skip
        term *= _KERNEL[RADIUS + k]
        down += term
    line, size = down.reshape(-1), down.size - 2 * RADIUS
    target, pair = out.reshape(-1)[RADIUS:-RADIUS], term.reshape(-1)[RADIUS:-RADIUS]
    out.reshape(-1)[:RADIUS] = out.reshape(-1)[-RADIUS:] = 0  # margins: any finite number
    np.multiply(line[RADIUS:-RADIUS], _KERNEL[RADIUS], out=target)
    for k in range(1, RADIUS + 1):
        np.add(line[RADIUS - k :][:size], line[RADIUS + k :][:size], out=pair)
        pair *= _KERNEL[RADIUS + k]
        target += pair


def halve(linear: np.ndarray, out: np.ndarray) -> np.ndarray:
    """2x2 means, the last row or column of an odd side averaging the pixels it has."""
    linear, inside = linear[..., RADIUS:-RADIUS], out[..., RADIUS:-RADIUS]
    height, width = (side // 2 * 2 for side in linear.shape[1:])
    even = inside[:, : height // 2, : width // 2]
    np.add(linear[:, 0:height:2, 0:width:2], linear[:, 1:height:2, 0:width:2], out=even)
    even += linear[:, 0:height:2, 1:width:2]
    even += linear[:, 1:height:2, 1:width:2]
    even *= 0.25
    if height < linear.shape[1]:
        last_row = inside[:, -1, : width // 2]
        np.add(linear[:, -1, 0:width:2], linear[:, -1, 1:width:2], out=last_row)
        last_row *= 0.5
    if width < linear.shape[2]:
        last_column = inside[:, : height // 2, -1]
        np.add(linear[:, 0:height:2, -1], linear[:, 1:height:2, -1], out=last_column)
        last_column *= 0.5
    if height < linear.shape[1] and width < linear.shape[2]:
        inside[:, -1, -1] = linear[:, -1, -1]
    return mirror(out)
