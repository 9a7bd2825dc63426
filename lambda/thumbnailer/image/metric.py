"""SSIMULACRA2 (Cloudinary's perceptual metric, from libjxl), in numpy: how close an encoded
rendition looks to the picture it was encoded from. 100 is identical, 90 visually lossless,
70 high quality. No AWS in here.

Imported only when AUTO_QUALITY is on: numpy costs the package 68 MB unzipped and about 100 ms
of import (docs/performance.md). The algorithm is libjxl's: XYB colour, six scales halved in
linear light, SSIM and edge (ringing, blurring) maps in 1- and 4-norms, its 108 weights. It
differs from the reference (the `ssimulacra2` package) in float32 arithmetic and in leaving
out the terms weighted under MIN_WEIGHT; `make bench` calibrates it (docs/performance.md).
A score costs about 6.5 ms at 512w, the reference's 150: those terms out; the reference
picture's side of each scale kept (`Reference`), so a search pays for one side; and every
plane computed in place (metric_planes.py) in buffers kept for the next score (`_Workspace`).
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from io import BytesIO

import numpy as np
from PIL import Image

from thumbnailer.image import metric_planes as planes
from thumbnailer.image.metric_planes import RADIUS

SCALES = 6
#: Below this side the sixth scale would be under 8 pixels: the metric, whose weights are for
#: six scales, is not meaningful there (docs/renditions.md).
MIN_SIDE = 8 << (SCALES - 1)
_C2 = 0.0009
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
#: Per scale, the weights of the needed channels, by channel, norm (1, 4) and map (SSIM,
#: ringing, blurring); those under MIN_WEIGHT are 0, and their terms are not computed.
_TERMS = [
    np.array([_WEIGHTS[(c * SCALES + scale) * 6 :][:6].reshape(2, 3) for c in channels])
    for scale, channels in enumerate(_CHANNELS)
]
for _terms in _TERMS:
    _terms[_terms < MIN_WEIGHT] = 0


class _Workspace:
    """The buffers a score works in, per scale: about 100 bytes a pixel (18 MB at 512w). Fresh
    memory costs a page fault every 4 KB, which in the handler was a third of a score's time;
    these are reused by every score and every Reference of a size, one size at a time (the
    latest), until `release`. Not for two threads at once: the function has one."""

    def __init__(self, height: int, width: int) -> None:
        self.scales = []
        for channels in _CHANNELS[:_SCALES_USED]:
            count = 3 * len(channels)
            self.scales.append(
                {
                    "linear": np.empty((3, height, width + 2 * RADIUS), np.float32),
                    "rows": np.empty((count, height + 2 * RADIUS, width + 2 * RADIUS), np.float32),
                    "down": np.empty((count, height, width + 2 * RADIUS), np.float32),
                    "term": np.empty((max(count, 4), height, width + 2 * RADIUS), np.float32),
                    "blurred": np.empty((count, height, width + 2 * RADIUS), np.float32),
                }
            )
            height, width = (height + 1) // 2, (width + 1) // 2


_BLUR_BUFFERS = ("rows", "down", "term", "blurred")


@functools.lru_cache(maxsize=1)
def _workspace(height: int, width: int) -> _Workspace:
    return _Workspace(height, width)


def release() -> None:
    """Lets the workspace go, when a set's scores are done: not held between uploads."""
    _workspace.cache_clear()


class Reference:
    """The picture before encoding, prepared once: `score` then compares encodings with it."""

    def __init__(self, picture: Image.Image) -> None:
        if min(picture.size) < MIN_SIDE:
            raise ValueError(f"SSIMULACRA2 needs {MIN_SIDE} pixels a side, got {picture.size}")
        self.size = picture.size
        # Per scale: XYB, its blur (mu), its variance, and 1 + |XYB - mu| (for the edge maps).
        self._scales: list[tuple[np.ndarray, ...]] = []
        for scale, buffers in enumerate(self._linear_scales(picture)):
            count, height = len(_CHANNELS[scale]), buffers["down"].shape[1]
            xyb = buffers["rows"][:count, RADIUS : RADIUS + height]
            planes.xyb(buffers["linear"], _CHANNELS[scale], xyb, buffers["term"])
            np.square(xyb, out=buffers["rows"][count : 2 * count, RADIUS : RADIUS + height])
            rows, down, term, blurred = (buffers[name][: 2 * count] for name in _BLUR_BUFFERS)
            planes.blur(rows, down, term, blurred)
            xyb, mu = xyb.copy(), blurred[:count].copy()
            variance = blurred[count:] - np.square(mu)
            self._scales.append((xyb, mu, variance, 1 + np.abs(xyb - mu)))

    def _linear_scales(self, picture: Image.Image) -> Iterator[dict[str, np.ndarray]]:
        """Each scale's buffers, with the picture's linear RGB at that scale in "linear"."""
        scales = _workspace(picture.height, picture.width).scales
        planes.linear_rgb(picture, out=scales[0]["linear"])
        for scale, buffers in enumerate(scales):
            yield buffers
            if scale + 1 < len(scales):
                planes.halve(buffers["linear"], out=scales[scale + 1]["linear"])

    def score(self, picture: Image.Image) -> float:
        """SSIMULACRA2 of `picture` (the same size) against the reference."""
        if picture.size != self.size:
            raise ValueError(f"sizes differ: {picture.size} against {self.size}")
        total = 0.0
        for scale, buffers in enumerate(self._linear_scales(picture)):
            total += _scale_terms(scale, self._scales[scale], buffers)
        return _to_score(total)


def _scale_terms(scale: int, reference: tuple[np.ndarray, ...], buffers: dict) -> float:
    """The weighted terms of one scale, the picture's linear RGB being in buffers["linear"]."""
    xyb1, mu1, variance1, edge1 = reference
    count, height = len(xyb1), buffers["down"].shape[1]
    inner = buffers["rows"][:, RADIUS : RADIUS + height]
    xyb2 = inner[:count]
    planes.xyb(buffers["linear"], _CHANNELS[scale], xyb2, buffers["term"])
    np.square(xyb2, out=inner[count : 2 * count])
    np.multiply(xyb1, xyb2, out=inner[2 * count :])
    blurred, pair = buffers["blurred"], buffers["term"]
    planes.blur(buffers["rows"], buffers["down"], pair[: 3 * count], blurred)
    mu2, sigma22, sigma12 = blurred[:count], blurred[count : 2 * count], blurred[2 * count :]
    ssim, edge, scratch = pair[:count], pair[count : 2 * count], pair[2 * count : 3 * count]
    sigma12 -= np.multiply(mu1, mu2, out=ssim)
    sigma12 *= 2
    sigma12 += _C2  # the numerator's sigma part
    sigma22 -= np.square(mu2, out=ssim)
    sigma22 += variance1
    sigma22 += _C2  # the denominator
    np.square(np.subtract(mu1, mu2, out=ssim), out=ssim)
    np.subtract(1, ssim, out=ssim)
    ssim *= sigma12
    ssim /= sigma22
    np.maximum(np.subtract(1, ssim, out=ssim), 0, out=ssim)
    # The edge maps: > 0 where the encoding has edges the picture has not (ringing), < 0 where
    # it lost them (blurring); a norm's sign is dropped, so min(edge, 0) does for the latter.
    np.abs(np.subtract(xyb2, mu2, out=edge), out=edge)
    edge += 1
    edge /= edge1
    edge -= 1
    terms = _TERMS[scale]
    total = _weighted_norms(ssim, terms[..., 0], scratch)
    if terms[..., 1].any():
        total += _weighted_norms(np.maximum(edge, 0, out=sigma12), terms[..., 1], scratch)
    if terms[..., 2].any():
        total += _weighted_norms(np.minimum(edge, 0, out=sigma22), terms[..., 2], scratch)
    return total


def _weighted_norms(values: np.ndarray, weights: np.ndarray, scratch: np.ndarray) -> float:
    """Per channel, |mean| and 4-norm over the picture (not the margins), weighted by
    `weights` (channel x norm); those weighted 0 are not computed."""
    total = 0.0
    if weights[:, 0].any():
        means = values[..., RADIUS:-RADIUS].mean(axis=(1, 2), dtype=np.float64)
        total += float((weights[:, 0] * np.abs(means)).sum())
    if weights[:, 1].any():
        fourth = np.square(np.square(values, out=scratch), out=scratch)[..., RADIUS:-RADIUS]
        total += float((weights[:, 1] * fourth.mean(axis=(1, 2), dtype=np.float64) ** 0.25).sum())
    return total


def _to_score(total: float) -> float:
    """The weighted sum of the terms, mapped to the 0..100 scale (libjxl's polynomial)."""
    s = total * 0.9562382616834844
    s = 2.326765642916932 * s - 0.020884521182843837 * s**2 + 6.248496625763138e-05 * s**3
    return 100.0 if s <= 0 else 100.0 - 10.0 * s**0.6276336467831387


def decoded(data: bytes) -> Image.Image:
    """An encoded rendition's pixels, to score."""
    picture = Image.open(BytesIO(data))
    picture.load()  # then nothing is left open: the bytes are in memory
    return picture
