"""Object key naming: where each thumbnail of an upload is written."""

from __future__ import annotations

import posixpath


def relative_key(key: str, input_prefix: str) -> str | None:
    """The part of a (decoded) input key below the input prefix, or None if it is outside it."""
    if not key.startswith(input_prefix):
        return None
    return key[len(input_prefix) :]


def output_key_for(relative: str, width: int) -> str:
    """`a.b/photo.v2.final.jpeg` -> `a.b/photo.v2.final_512w.webp`: drop only the last extension.

    posixpath.splitext looks at the last path segment only, so dots in folder names and
    leading-dot names (`.hidden`) are kept.
    """
    stem, _extension = posixpath.splitext(relative)
    return f"{stem}_{width}w.webp"
