"""Where one upload's set is written: every key, the order they are written in, and the marker.

The marker is the object written last (the manifest, or else the largest thumbnail of the first
format written): its metadata speaks for the whole set, so that one HeadObject tells whether the
set is complete and current.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from thumbnailer.errors import RecursionRiskError
from thumbnailer.image.renditions import formats_for
from thumbnailer.keys import check_output_keys, planned_keys, rendition_key
from thumbnailer.models import SourceObject
from thumbnailer.settings import Settings

_T = TypeVar("_T")


def checked_keys(settings: Settings, source: SourceObject, relative: str) -> list[str]:
    """Every key the configuration writes for `relative`, the manifest last, or the
    `BadObjectError` that says why S3 must not get them (too long, or inside the input)."""
    keys = planned_keys(
        relative,
        widths=settings.thumb_widths,
        formats=settings.output_formats,
        crops=settings.crop_sizes,
        manifest=settings.write_manifest,
    )
    check_output_keys(keys)
    if source.bucket == settings.output_bucket and any(
        key.startswith(settings.input_prefix) for key in keys
    ):
        raise RecursionRiskError(
            f"the output bucket is the input bucket and the thumbnails would land under "
            f"{settings.input_prefix!r}, which would invoke the function again"
        )
    return keys


def marker(settings: Settings, relative: str, fmt: str) -> str:
    """The rendition written last: the largest thumbnail, in the first format written."""
    return rendition_key(relative, f"{max(settings.thumb_widths)}w", fmt)


def markers(settings: Settings, relative: str, keys: Sequence[str]) -> list[str]:
    """What tells whether a set is done: the manifest (the last of `keys`) if there is one;
    else `marker` of each set a source can make: a still's, then an animation's (WebP whatever
    is configured: an AVIF-first configuration has two)."""
    if settings.write_manifest:
        return [keys[-1]]
    firsts = dict.fromkeys(
        formats_for(settings.output_formats, animated=a)[0] for a in (False, True)
    )
    return [marker(settings, relative, fmt) for fmt in firsts]


def in_write_order(items: list[tuple[str, _T]], last: str) -> list[tuple[str, _T]]:
    """(key, rendition) pairs with the one keyed `last` moved to the end (stable otherwise)."""
    return sorted(items, key=lambda item: item[0] == last)
