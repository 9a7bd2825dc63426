"""SSIMULACRA2 (Cloudinary's perceptual metric, from libjxl), in numpy: how close an encoded
rendition looks to the picture it was encoded from. 100 is identical, 90 visually lossless,
70 high quality. No AWS in here.

Imported only when AUTO_QUALITY is on: numpy costs the package 68 MB unzipped and about 100 ms
of import (docs/performance.md). The algorithm is libjxl's: XYB colour, six scales halved in
linear light, SSIM and edge (ringing, blurring) maps in 1- and 4-norms, its 108 weights. It
differs from the reference (the `ssimulacra2` package) in float32 arithmetic and in leaving
out the terms weighted under MIN_WEIGHT; `make bench` calibrates it: rank correlation 0.9997,
mean error 0.2, worst 1. It is about 8 times faster than the reference: those terms out, and
the reference picture's side of each scale kept (`Reference`), so a search pays for one side.
"""

from __future__ import annotations

from io import BytesIO

import numpy as np
from PIL import Image

SCALES = 6
#: Below this side the sixth scale would be under 8 pixels: the metric, whose weights are for
#: six scales, is not meaningful there (docs/renditions.md).
MIN_SIDE = 8 << (SCALES - 1)
_C2 = 0.0009
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
_RADIUS = 5  # sigma 1.5, as the reference's
_KERNEL = np.exp(-0.5 * (np.arange(-_RADIUS, _RADIUS + 1) / 1.5) ** 2).astype(np.float32)
_KERNEL /= _KERNEL.sum()
_SRGB = np.arange(256, dtype=np.float64) / 255
_LINEAR = np.where(_SRGB <= 0.04045, _SRGB / 12.92, ((_SRGB + 0.055) / 1.055) ** 2.4)
_LINEAR = _LINEAR.astype(np.float32)
# libjxl's weights, by channel (X, Y, B), scale, norm (1, 4), and map (SSIM, ringing, blurring).
# fmt: off
_WEIGHTS = np.array([
    0.0, 0.0007376606707406586, 0.0, 0.0, 0.0007793481682867309, 0.0, 0.0,
    0.0004371155730107379, 0.0, 1.1041726426657346, 0.00066284834129271, 0.00015231632783718752,
    0.0, 0.0016406437456599754, 0.0, 1.8422455520539298, 11.441172603757666, 0.0,
    0.0007989109436015163, 0.000176816438078653, 0.0, 1.8787594979546387, 10.94906990605142, 0.0,
    0.0007289346991508072, 0.9677937080626833, 0.0, 0.00014003424285435884, 0.9981766977854967,
    0.00031949755934435053, 0.0004550992113792063, 0.0, 0.0, 0.0013648766163243398, 0.0, 0.0,
    0.0, 0.0, 0.0, 7.466890328078848, 0.0, 17.445833984131262, 0.0006235601634041466, 0.0, 0.0,
    6.683678146179332, 0.00037724407979611296, 1.027889937768264, 225.20515300849274, 0.0, 0.0,
    19.213238186143016, 0.0011401524586618361, 0.001237755635509985, 176.39317598450694, 0.0,
    0.0, 24.43300999870476, 0.28520802612117757, 0.0004485436923833408, 0.0, 0.0, 0.0,
    34.77906344483772, 44.835625328877896, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
    0.0008680556573291698, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0005313191874358747, 0.0,
    0.00016533814161379112, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0004179171803251336,
    0.0017290828234722833, 0.0, 0.0020827005846636437, 0.0, 0.0, 8.826982764996862,
    23.19243343998926, 0.0, 95.1080498811086, 0.9863978034400682, 0.9834382792465353,
    0.0012286405048278493, 171.2667255897307, 0.9807858872435379, 0.0, 0.0, 0.0,
    0.0005130064588990679, 0.0, 0.00010854057858411537,
])
# fmt: on


def linear_rgb(picture: Image.Image) -> np.ndarray:
    """Linear-light RGB, 3 x H x W (one contiguous plane a channel, for speed). Transparency is
    shown over mid grey."""
    if picture.mode not in ("RGB", "RGBA"):
        picture = picture.convert("RGBA" if picture.has_transparency_data else "RGB")
    pixels = np.moveaxis(np.asarray(picture), -1, 0)
    rgb = _LINEAR[pixels[:3]]
    if picture.mode == "RGBA":
        alpha = pixels[3].astype(np.float32) / 255
        rgb = rgb * alpha + _LINEAR[128] * (1 - alpha)
    return rgb


def _xyb(linear: np.ndarray, channels: list[int]) -> np.ndarray:
    """Positive XYB (the reference's MakePositiveXYB), only `channels` of it."""
    # Row by row, not a matrix product: BLAS would start threads for a 3x3 matrix, slower on
    # Lambda's one or two vCPUs. B (row 2) is needed only for channel 2.
    red, green, blue = linear
    mixed = [
        np.cbrt(np.maximum(row[0] * red + row[1] * green + row[2] * blue + _BIAS, 0)) - _CBRT_BIAS
        for row in _OPSIN[: 3 if 2 in channels else 2]
    ]
    y = (mixed[0] + mixed[1]) * 0.5
    planes = {0: lambda: (mixed[0] - mixed[1]) * 7 + 0.42, 1: lambda: y + 0.01}
    planes[2] = lambda: mixed[2] - y + 0.55
    return np.stack([planes[channel]() for channel in channels])


def _blur(planes: np.ndarray) -> np.ndarray:
    """Gaussian blur, sigma 1.5: mirrored at the sides, zeros above and below (as the
    reference's). In place where it can be: allocations cost as much as the arithmetic."""
    count, height, width = planes.shape
    padded = np.pad(planes, ((0, 0), (0, 0), (_RADIUS, _RADIUS)), mode="symmetric")
    across = padded[..., _RADIUS : _RADIUS + width] * _KERNEL[_RADIUS]
    pair = np.empty_like(across)
    for k in range(1, _RADIUS + 1):
        np.add(
            padded[..., _RADIUS - k : _RADIUS - k + width],
            padded[..., _RADIUS + k :][..., :width],
            out=pair,
        )
        pair *= _KERNEL[_RADIUS + k]
        across += pair
    padded = np.zeros((count, height + 2 * _RADIUS, width), np.float32)
    padded[:, _RADIUS : _RADIUS + height] = across
    down = padded[:, _RADIUS : _RADIUS + height] * _KERNEL[_RADIUS]
    for k in range(1, _RADIUS + 1):
        np.add(
            padded[:, _RADIUS - k : _RADIUS - k + height],
            padded[:, _RADIUS + k :][:, :height],
            out=pair,
        )
        pair *= _KERNEL[_RADIUS + k]
        down += pair
    return down


def _halve(linear: np.ndarray) -> np.ndarray:
    """2x2 means, the last row or column of an odd side averaging the pixels it has."""
    height, width = linear.shape[1:]
    if height % 2 or width % 2:
        linear = np.pad(linear, ((0, 0), (0, height % 2), (0, width % 2)), mode="edge")
    halves = linear[:, 0::2, 0::2] + linear[:, 1::2, 0::2] + linear[:, 0::2, 1::2]
    return (halves + linear[:, 1::2, 1::2]) * 0.25


def _norms(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per channel: the mean, and the 4-norm."""
    fourth = np.square(np.square(values))
    means = values.mean(axis=(1, 2), dtype=np.float64)
    return means, fourth.mean(axis=(1, 2), dtype=np.float64) ** 0.25


def _needed(scale: int) -> list[int]:
    """The channels whose terms weigh at least MIN_WEIGHT at `scale`."""
    return [
        channel
        for channel in range(3)
        if _WEIGHTS[(channel * SCALES + scale) * 6 :][:6].max() >= MIN_WEIGHT
    ]


#: The proxy's one shortcut: terms weighted under this are left out. They add under 0.1 to a
#: score (`make bench` measures the rest), and leaving them out keeps the full-size scale to
#: one channel (Y) of three, and drops the sixth scale.
MIN_WEIGHT = 0.01
_CHANNELS = [_needed(scale) for scale in range(SCALES)]
_SCALES_USED = max(scale + 1 for scale in range(SCALES) if _CHANNELS[scale])


class Reference:
    """The picture before encoding, prepared once: `score` then compares encodings with it."""

    def __init__(self, picture: Image.Image) -> None:
        if min(picture.size) < MIN_SIDE:
            raise ValueError(f"SSIMULACRA2 needs {MIN_SIDE} pixels a side, got {picture.size}")
        self.size = picture.size
        self._scales: list[tuple[np.ndarray, np.ndarray]] = []  # (XYB, blurred XYB and XYB²)
        linear = linear_rgb(picture)
        for scale in range(_SCALES_USED):
            xyb = _xyb(linear, _CHANNELS[scale])
            self._scales.append((xyb, _blur(np.concatenate([xyb, xyb * xyb]))))
            linear = _halve(linear)

    def score(self, picture: Image.Image) -> float:
        """SSIMULACRA2 of `picture` (the same size) against the reference."""
        if picture.size != self.size:
            raise ValueError(f"sizes differ: {picture.size} against {self.size}")
        total = 0.0
        linear = linear_rgb(picture)
        for scale, (xyb1, blurred1) in enumerate(self._scales):
            n = len(xyb1)
            xyb2 = _xyb(linear, _CHANNELS[scale])
            blurred2 = _blur(np.concatenate([xyb2, xyb2 * xyb2, xyb1 * xyb2]))
            mu1, sigma11 = blurred1[:n], blurred1[n:]
            mu2, sigma22, sigma12 = blurred2[:n], blurred2[n : 2 * n], blurred2[2 * n :]
            mu11, mu22, mu12 = mu1 * mu1, mu2 * mu2, mu1 * mu2
            numerator = (1 - np.square(mu1 - mu2)) * (2 * (sigma12 - mu12) + _C2)
            ssim = np.maximum(1 - numerator / ((sigma11 - mu11) + (sigma22 - mu22) + _C2), 0)
            ratio = (1 + np.abs(xyb2 - mu2)) / (1 + np.abs(xyb1 - mu1)) - 1
            maps = (ssim, np.maximum(ratio, 0), np.maximum(-ratio, 0))
            norms = [_norms(values) for values in maps]  # per map: (means, 4-norms)
            for i, channel in enumerate(_CHANNELS[scale]):
                base = (channel * SCALES + scale) * 6
                for norm in range(2):
                    for m in range(3):
                        total += _WEIGHTS[base + norm * 3 + m] * abs(float(norms[m][norm][i]))
            if scale + 1 < len(self._scales):
                linear = _halve(linear)
        return _to_score(total)


def _to_score(total: float) -> float:
    """The weighted sum of the terms, mapped to the 0..100 scale (libjxl's polynomial)."""
    s = total * 0.9562382616834844
    s = 2.326765642916932 * s - 0.020884521182843837 * s**2 + 6.248496625763138e-05 * s**3
    return 100.0 if s <= 0 else 100.0 - 10.0 * s**0.6276336467831387


def decoded(data: bytes) -> Image.Image:
    """An encoded rendition's pixels, to score."""
    with Image.open(BytesIO(data)) as picture:
        picture.load()
        return picture.copy()
