"""The environment's values: text in, a value out, or what is wrong with it added to `problems`.

settings.py reads the environment and names the variables; these only parse what it read.
"""

from __future__ import annotations

import re

from thumbnailer.image.encoders import FORMATS as OUTPUT_FORMATS
from thumbnailer.image.geometry import WEBP_MAX_SIDE

# A whole number in ASCII digits, no leading zeros (str.isdigit also takes "²", fullwidth...).
_WHOLE_NUMBER = re.compile(r"0|[1-9][0-9]*")


def parse_widths(raw: str, problems: list[str]) -> tuple[int, ...]:
    widths: set[int] = set()
    for part in raw.split(","):
        text = part.strip()
        if not _WHOLE_NUMBER.fullmatch(text) or not 1 <= int(text) <= WEBP_MAX_SIDE:
            problems.append(
                f"THUMB_SIZES must be a comma-separated list of widths from 1 to "
                f"{WEBP_MAX_SIDE} pixels, got {raw!r}"
            )
            return ()
        widths.add(int(text))
    return tuple(sorted(widths))


def parse_quality(name: str, raw: str, problems: list[str]) -> int:
    text = raw.strip()
    if not _WHOLE_NUMBER.fullmatch(text) or not 0 <= int(text) <= 100:
        problems.append(f"{name} must be a whole number from 0 to 100, got {raw!r}")
        return 0
    return int(text)


def parse_count(name: str, raw: str, problems: list[str], *, minimum: int) -> int:
    text = raw.strip()
    if not _WHOLE_NUMBER.fullmatch(text) or int(text) < minimum:
        problems.append(f"{name} must be a whole number of at least {minimum}, got {raw!r}")
        return minimum
    return int(text)


def parse_formats(raw: str, problems: list[str]) -> tuple[str, ...]:
    """`webp`, `avif` or both, comma-separated (the template's AllowedPattern); in
    OUTPUT_FORMATS' order."""
    given = raw.split(",")
    if any(name not in OUTPUT_FORMATS for name in given):
        problems.append(
            f"OUTPUT_FORMATS must be a comma-separated list of {' and '.join(OUTPUT_FORMATS)}, "
            f"got {raw!r}"
        )
        return ("webp",)
    return tuple(name for name in OUTPUT_FORMATS if name in given)


_CROP_BOX = re.compile(r"([1-9][0-9]*)x([1-9][0-9]*)")


def parse_crops(raw: str, problems: list[str]) -> tuple[tuple[int, int], ...]:
    """Comma-separated `WxH` boxes (`256x256,1200x630`); empty means no crops."""
    if not raw:
        return ()
    boxes: set[tuple[int, int]] = set()
    for part in raw.split(","):
        match = _CROP_BOX.fullmatch(part)
        if not match or max(int(match[1]), int(match[2])) > WEBP_MAX_SIDE:
            problems.append(
                f"CROP_SIZES must be empty or a comma-separated list of WxH boxes (e.g. "
                f"256x256,1200x630), each side from 1 to {WEBP_MAX_SIDE} pixels, got {raw!r}"
            )
            return ()
        boxes.add((int(match[1]), int(match[2])))
    return tuple(sorted(boxes))


def parse_flag(name: str, raw: str, problems: list[str]) -> bool:
    if raw not in ("true", "false"):
        problems.append(f"{name} must be true or false, got {raw!r}")
        return False
    return raw == "true"
