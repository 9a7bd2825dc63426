"""Object key naming: where each thumbnail of an upload is written."""

from __future__ import annotations

import posixpath
from collections.abc import Iterable

from thumbnailer.errors import KeyTooLongError

#: S3's longest key, in bytes of UTF-8. moto stores longer ones; S3 refuses them (KeyTooLongError).
MAX_KEY_BYTES = 1024


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


def check_output_keys(keys: Iterable[str]) -> None:
    """Refuse an upload any of whose planned output keys S3 would refuse, before any is written.

    S3 refusing one write midway would leave a partial set and, its error looking like the
    world's, be retried in vain; the source's key is what is too long, so it is a bad object.
    """
    for key in keys:
        length = len(key.encode())
        if length > MAX_KEY_BYTES:
            raise KeyTooLongError(
                f"the output key {key[:48]!r}... would be {length} bytes of UTF-8; "
                f"S3 allows {MAX_KEY_BYTES}"
            )
