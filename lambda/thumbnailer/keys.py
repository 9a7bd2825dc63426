"""Object key naming: where each rendition (and the manifest) of an upload is written."""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable, Sequence

from thumbnailer.errors import KeyTooLongError

#: S3's longest key, in bytes of UTF-8. moto stores longer ones; S3 refuses them (KeyTooLongError).
MAX_KEY_BYTES = 1024


def relative_key(key: str, input_prefix: str) -> str | None:
    """The part of a (decoded) input key below the input prefix, or None if it is outside it."""
    if not key.startswith(input_prefix):
        return None
    return key[len(input_prefix) :]


def rendition_key(relative: str, name: str, fmt: str) -> str:
    """`photo.jpg`, `256x256`, `avif` -> `photo_256x256.avif` (`name`: `512w` or `WxH`).

    Only the last extension is dropped (`a.b/photo.v2.jpeg` -> `a.b/photo.v2_512w.webp`):
    posixpath.splitext looks at the last path segment only, so dots in folder names and
    leading-dot names (`.hidden`) are kept.
    """
    return f"{_stem(relative)}_{name}.{fmt}"


def manifest_key(relative: str) -> str:
    """`a/photo.jpg` -> `a/photo.json`."""
    return f"{_stem(relative)}.json"


def rendition_names(widths: Sequence[int], crops: Sequence[tuple[int, int]]) -> list[str]:
    """Each rendition's key suffix: the widths from the smallest, then the crops."""
    return [f"{width}w" for width in sorted(set(widths))] + [
        f"{width}x{height}" for width, height in sorted(set(crops))
    ]


def planned_keys(
    relative: str,
    *,
    widths: Sequence[int],
    formats: Sequence[str],
    crops: Sequence[tuple[int, int]] = (),
    manifest: bool = False,
) -> list[str]:
    """Every key a configuration can write for one upload, per format, the manifest last."""
    names = rendition_names(widths, crops)
    keys = [rendition_key(relative, name, fmt) for fmt in formats for name in names]
    return [*keys, manifest_key(relative)] if manifest else keys


def name_prefix(relative: str) -> str:
    """What every output key of `relative` begins with (and others' may: see `is_output_of`)."""
    return _stem(relative)


def is_output_of(key: str, relative: str) -> bool:
    """Whether `key` is named as one of `relative`'s outputs: its manifest, or a rendition of
    any width, crop or format (`photo_` also begins `photo_2.jpg`'s outputs, which are not)."""
    stem = _stem(relative)
    if key == f"{stem}.json":
        return True
    return re.fullmatch(re.escape(stem) + r"_([0-9]+w|[0-9]+x[0-9]+)\.(webp|avif)", key) is not None


def _stem(relative: str) -> str:
    stem, _extension = posixpath.splitext(relative)
    return stem


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
