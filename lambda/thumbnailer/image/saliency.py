"""Where a picture's subject is: a saliency map on a small downscale, the salient region (its
centre is the manifest's focus point), and the placement of a cover crop: centred on that
region as far as the frame allows. Pillow only, no AWS.

A pixel is salient for its detail (luma edges), its saturation and how close it is to a skin
tone, the cues smartcrop.js made popular. The map is computed at ANALYSIS_SIDE pixels, where it
costs a few milliseconds: a subject is never smaller than a few of those pixels.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

from PIL import Image, ImageFilter, ImageOps

#: The longest side of the saliency map, in pixels.
ANALYSIS_SIDE = 64
#: How much each cue weighs (detail and saturation are 0..1; skin 0..1 too).
DETAIL_WEIGHT = 1.0
SATURATION_WEIGHT = 0.6
SKIN_WEIGHT = 1.5
#: A typical skin tone as a unit RGB direction (the one smartcrop.js uses: 0.78, 0.57, 0.44).
_SKIN = (0.78, 0.57, 0.44)
_SKIN_NORM = sum(c * c for c in _SKIN) ** 0.5
_SKIN_UNIT = tuple(c / _SKIN_NORM for c in _SKIN)
#: The salient region: the pixels around the blurred map's peak that rise above the median by
#: this share of the peak's rise.
REGION_LEVEL = 0.5


@dataclass(frozen=True)
class Subject:
    """Where the salient region is, as fractions (0..1) of the width and height."""

    centre: tuple[float, float]
    box: tuple[float, float, float, float]  # left, top, right, bottom


class SaliencyMap:
    """Saliency per pixel of a small downscale, row by row; `size` is the map's."""

    def __init__(self, picture: Image.Image) -> None:
        small = picture.copy()
        small.thumbnail((ANALYSIS_SIDE, ANALYSIS_SIDE), Image.Resampling.BOX)
        alpha = small.getchannel("A") if "A" in small.getbands() else None
        rgb = small.convert("RGB")
        self.size = rgb.size
        # Pillow's kernels leave the outermost pixels unfiltered: their detail does not count.
        edges = bytearray(rgb.convert("L").filter(ImageFilter.FIND_EDGES).tobytes())
        width, height = self.size
        for index in range(len(edges)):
            if index < width or index >= width * (height - 1) or index % width in (0, width - 1):
                edges[index] = 0
        hsv = rgb.convert("HSV")
        saturation = hsv.getchannel("S").tobytes()
        value = hsv.getchannel("V").tobytes()
        opacity = alpha.tobytes() if alpha else bytes([255]) * len(edges)
        pixels = rgb.tobytes()
        scores: list[float] = []
        for index, edge in enumerate(edges):
            red, green, blue = pixels[3 * index : 3 * index + 3]
            brightness = value[index] / 255
            # Saturation counts only where the colour is visible: not in near-black or glare.
            vivid = saturation[index] / 255 if 0.05 < brightness < 0.95 else 0.0
            scores.append(
                (
                    DETAIL_WEIGHT * edge / 255
                    + SATURATION_WEIGHT * vivid
                    + SKIN_WEIGHT * _skin(red, green, blue)
                )
                * opacity[index]
                / 255
            )
        self.scores = scores

    def focus(self) -> tuple[float, float]:
        """The centre of the salient region, as fractions (0..1) of the width and height."""
        return self.subject.centre

    @cached_property
    def subject(self) -> Subject:
        """The salient region: the pixels connected to the peak of the map blurred by a tenth of
        its side (the densest region, not one noisy pixel) that stand above the picture's
        typical (median) level by REGION_LEVEL of the peak's height above it. Its centre is
        the centroid of their own saliency above the typical, moved off the map's outermost
        pixels; its box, where they stand over three quarters of the peak's height. The whole
        picture, centred, when nothing stands out."""
        width, height = self.size
        peak = max(self.scores, default=0.0)
        if peak <= 0:
            return Subject((0.5, 0.5), (0.0, 0.0, 1.0, 1.0))
        grey = Image.new("L", self.size)
        grey.putdata([round(255 * score / peak) for score in self.scores])
        # Blurred within a black border: the outermost pixels count once, not once per pixel
        # of the blur's reach beyond them (Pillow extends the edges), which drew the peak there.
        radius = max(1, max(self.size) // 10)
        padded = ImageOps.expand(grey, border=radius, fill=0).filter(ImageFilter.BoxBlur(radius))
        blurred = padded.crop((radius, radius, radius + width, radius + height)).tobytes()
        best = max(blurred)
        typical = sorted(blurred)[len(blurred) // 2]
        rise = {index: level - typical for index, level in enumerate(blurred)}
        hits = [index for index, level in enumerate(blurred) if level == best]
        top = best - typical
        region = _connected(
            hits[len(hits) // 2], self.size, lambda i: rise[i] >= top * REGION_LEVEL
        )
        # Weighted by the pixels' own saliency above the typical: the subject, not its blur.
        floor = sorted(self.scores)[len(self.scores) // 2]
        weight = {i: max(0.0, self.scores[i] - floor) for i in region}
        if not any(weight.values()):  # all alike: the region's middle
            weight = dict.fromkeys(region, 1.0)
        total = sum(weight.values())
        centre_x = sum((i % width + 0.5) * w for i, w in weight.items()) / total
        centre_y = sum((i // width + 0.5) * w for i, w in weight.items()) / total
        core = [i for i in region if rise[i] >= top * 0.75] or list(region)
        xs, ys = [i % width for i in core], [i // width for i in core]
        return Subject(
            (_inside(centre_x, width), _inside(centre_y, height)),
            (min(xs) / width, min(ys) / height, (max(xs) + 1) / width, (max(ys) + 1) / height),
        )

    def window(self, fraction: float, *, horizontal: bool) -> float:
        """Where a window `fraction` (0..1) of the width (or height) long should start, as a
        fraction of it, to hold the most saliency (the densest window); centred when it is all
        the same."""
        width, height = self.size
        if horizontal:
            profile = [sum(self.scores[x::width]) for x in range(width)]
        else:
            profile = [sum(self.scores[y * width : (y + 1) * width]) for y in range(height)]
        cells = len(profile)
        span = min(cells, max(1, round(fraction * cells)))
        sums = [sum(profile[start : start + span]) for start in range(cells - span + 1)]
        best = max(sums)
        # Of equally salient windows, the one nearest the middle.
        middle = (cells - span) / 2
        start = min(
            (start for start, total in enumerate(sums) if total >= best * 0.999),
            key=lambda start: abs(start - middle),
        )
        return start / cells


def _connected(seed: int, size: tuple[int, int], keep: Callable[[int], bool]) -> set[int]:
    """The pixels 4-connected to `seed` for which `keep` holds (the seed always)."""
    width, height = size
    region, todo = {seed}, [seed]
    while todo:  # bounded: each pixel is added once
        index = todo.pop()
        x, y = index % width, index // width
        for nx, ny in ((x - 1, y), (x + 1, y), (x, y - 1), (x, y + 1)):
            neighbour = ny * width + nx
            if 0 <= nx < width and 0 <= ny < height and neighbour not in region and keep(neighbour):
                region.add(neighbour)
                todo.append(neighbour)
    return region


def _inside(centre: float, cells: int) -> float:
    """`centre` (in map pixels) as a fraction, no nearer an edge than the second pixel's
    centre; the middle of a map too small to have one."""
    if cells < 3:
        return 0.5
    return min(max(centre, 1.5), cells - 1.5) / cells


def _skin(red: int, green: int, blue: int) -> float:
    """1 for a skin tone's hue at a skin's brightness, falling to 0 away from it."""
    norm = (red * red + green * green + blue * blue) ** 0.5
    if norm == 0 or not 0.2 * 255 < (red + green + blue) / 3 < 255:
        return 0.0
    distance = (
        sum(
            (channel / norm - skin) ** 2
            for channel, skin in zip((red, green, blue), _SKIN_UNIT, strict=True)
        )
        ** 0.5
    )
    return max(0.0, 1 - distance / 0.2)


def crop_box(
    size: tuple[int, int], box: tuple[int, int], saliency: SaliencyMap
) -> tuple[int, int, int, int]:
    """The `box`-sized window of a `size` picture (the crop's cover thumbnail) that holds its
    subject; the largest window of `box`'s aspect ratio if the picture is smaller than `box`.

    Along each axis, the window is centred on the subject's centre as far as the frame allows;
    only a subject longer than the window leaves it to the densest window of saliency."""
    width, height = size
    crop_width, crop_height = box
    if crop_width > width or crop_height > height:
        # Never enlarged: the largest window of the same aspect ratio, at this resolution.
        scale = min(width / crop_width, height / crop_height)
        crop_width = max(1, min(width, round(crop_width * scale)))
        crop_height = max(1, min(height, round(crop_height * scale)))
    left = _placement(saliency, 0, width, crop_width)
    top = _placement(saliency, 1, height, crop_height)
    return left, top, left + crop_width, top + crop_height


def _placement(saliency: SaliencyMap, axis: int, length: int, window: int) -> int:
    """Where a `window`-long crop starts along `axis` (0: x, 1: y) of a `length`-long picture:
    centred on the subject as far as the frame allows, or on the densest window of saliency
    for a subject longer than the window."""
    if window >= length:
        return 0
    subject = saliency.subject
    extent = subject.box[axis + 2] - subject.box[axis]
    if extent * length > window:
        start = round(saliency.window(window / length, horizontal=axis == 0) * length)
    else:
        start = round(subject.centre[axis] * length - window / 2)
    return min(max(0, start), length - window)
