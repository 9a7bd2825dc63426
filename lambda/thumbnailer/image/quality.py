"""AUTO_QUALITY: each rendition encoded at the lowest quality whose SSIMULACRA2 score against
the same pixels before encoding reaches a target. No AWS in here.

The search is bounded: at most MAX_ENCODES encodes a rendition, each quality between the
format's floor and ceiling (QUALITY_RANGES). It starts from a guess (the previous rendition's
choice), steps by the score's distance to the target, then interpolates between the best
passing and the best failing quality. If no quality up to the ceiling reaches the target, the
ceiling is used (its score is then below the target, and recorded).

A rendition with a side below MIN_MEASURED_SIDE is not measured (SSIMULACRA2's six scales need
256 pixels, see metric.py): it takes the quality chosen for the smallest measured rendition of
its format, or the fixed quality if none was measured (docs/renditions.md).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from PIL import Image

#: A SSIMULACRA2 score: 70 is high quality, 90 visually lossless (docs/configuration.md).
DEFAULT_QUALITY_TARGET = 75
#: The qualities a search may choose, per format: never below the floor, whatever the score.
QUALITY_RANGES = {"webp": (50, 95), "avif": (30, 90)}
MAX_ENCODES = 4
#: Where the first search of a format starts: the middle of what `make bench` sees chosen at 75
#: (WebP 77 to 83 on most photos, AVIF 55 to 63). Each next rendition starts from the choice
#: before it. AVIF's encodes cost 10 times WebP's: a good start saves one.
START = {"webp": 80, "avif": 60}
#: The search stops when the best passing and failing qualities are this close, or when a
#: passing score is this close to the target: one more step would save 1 to 3% of the bytes,
#: for a whole encode and score.
TOLERANCE = 2
SCORE_TOLERANCE = 1.0
MIN_MEASURED_SIDE = 256
#: Score points per quality step assumed before two qualities are measured (measured slopes
#: near 75 are 0.4 to 1 for WebP, larger for AVIF): a first step rarely overshoots.
_ASSUMED_SLOPE = 0.7


@dataclass(frozen=True)
class Choice:
    """A rendition's encoding: its quality, its bytes, its score (None: not measured)."""

    quality: int
    data: bytes
    score: float | None = None
    encodes: int = 1


def search(
    encode: Callable[[int], bytes],
    score: Callable[[bytes], float],
    *,
    target: float,
    start: int,
    floor: int,
    ceiling: int,
    max_encodes: int = MAX_ENCODES,
) -> Choice:
    """The lowest quality in floor..ceiling whose score reaches `target`, as far as
    `max_encodes` encodes can tell."""
    passing: Choice | None = None  # the lowest quality that reaches the target
    failing: Choice | None = None  # the highest that does not
    quality: int | None = min(max(start, floor), ceiling)
    encodes = 0
    while quality is not None and encodes < max_encodes:
        data = encode(quality)
        encodes += 1
        tried = Choice(quality, data, score(data), encodes)
        if tried.score >= target:  # type: ignore[operator]
            passing = tried if passing is None or quality < passing.quality else passing
        elif failing is None or quality > failing.quality:
            failing = tried
        quality = _next_quality(passing, failing, target, floor, ceiling)
        if quality is not None and passing is None and encodes == max_encodes - 1:
            quality = ceiling  # the last encode: the best the range allows
    best = passing or failing
    assert best is not None  # max_encodes >= 1
    return Choice(best.quality, best.data, best.score, encodes)


def _next_quality(
    passing: Choice | None, failing: Choice | None, target: float, floor: int, ceiling: int
) -> int | None:
    """The next quality to try, or None when the answer is known."""
    if passing and passing.score - target <= SCORE_TOLERANCE:  # type: ignore[operator]
        return None
    if passing and failing:
        low, high = failing.quality, passing.quality
        if high - low <= TOLERANCE:
            return None
        slope = (passing.score - failing.score) / (high - low)  # type: ignore[operator]
        guess = low + math.ceil((target - failing.score) / slope)  # type: ignore[operator]
        return min(max(guess, low + 1), high - 1)
    # Before a bracket, steps aim inside the tolerance (target + half of it), so that the next
    # encode more often ends the search than overshoots.
    aim = target + SCORE_TOLERANCE / 2
    if passing:
        if passing.quality <= floor:
            return None
        step = math.floor((passing.score - aim) / _ASSUMED_SLOPE)  # type: ignore[operator]
        return max(passing.quality - max(step, 1), floor)
    assert failing is not None
    if failing.quality >= ceiling:
        return None
    step = math.ceil((aim - failing.score) / _ASSUMED_SLOPE)  # type: ignore[operator]
    return min(failing.quality + max(step, 1), ceiling)


def measured(picture: Image.Image) -> bool:
    return min(picture.size) >= MIN_MEASURED_SIDE


def auto_encode(
    pictures: Mapping[str, Image.Image],
    fmt: str,
    *,
    target: float,
    fixed_quality: int,
    encode: Callable[[Image.Image, int], bytes],
    references: dict[str, Any] | None = None,
) -> dict[str, Choice]:
    """Each still picture (by name) in `fmt`, at the quality the search chooses. `references`
    keeps each picture's side of the metric for the next format."""
    from thumbnailer.image.metric import Reference, decoded

    references = {} if references is None else references

    floor, ceiling = QUALITY_RANGES[fmt]
    choices: dict[str, Choice] = {}
    start = START[fmt]
    by_area = sorted(pictures, key=lambda name: -pictures[name].width * pictures[name].height)
    for name in (name for name in by_area if measured(pictures[name])):
        picture = pictures[name]
        if name not in references:
            references[name] = Reference(picture)
        reference = references[name]
        choices[name] = search(
            lambda quality, picture=picture: encode(picture, quality),  # type: ignore[misc]
            lambda data, reference=reference: reference.score(decoded(data)),  # type: ignore[misc]
            target=target,
            start=start,
            floor=floor,
            ceiling=ceiling,
        )
        start = choices[name].quality
    if not choices:
        start = fixed_quality
    for name in by_area:
        if name not in choices:
            choices[name] = Choice(start, encode(pictures[name], start))
    return choices
