"""The image core's one boundary: whatever an upload's bytes make the core raise is a bad object.

Decoders, Pillow and our own code all see the same bytes again on a retry, so no exception from
in here can be a failure of the world (those come from `storage` only).
"""

from __future__ import annotations

import functools
import struct
import warnings
from collections.abc import Callable
from typing import Concatenate, ParamSpec, TypeVar

from PIL import Image

from thumbnailer.errors import (
    BadObjectError,
    CorruptImageError,
    TooManyPixelsError,
    TruncatedImageError,
    UnprocessableImageError,
)
from thumbnailer.image.formats import HEAD_BYTES, sniff_format

# What Pillow and its plugins raise on malformed input (libheif reports decoding errors as
# RuntimeError; Pillow's GIF reader, a short block as IndexError): `corrupt_image`. Anything else
# raised on an upload is still a bad object, as `unprocessable_image` (see `untrusted_bytes`).
DECODE_ERRORS = (
    OSError,
    SyntaxError,
    ValueError,
    EOFError,
    IndexError,
    struct.error,
    RuntimeError,
)

_P = ParamSpec("_P")
_R = TypeVar("_R")


def untrusted_bytes(
    function: Callable[Concatenate[bytes, _P], _R],
) -> Callable[Concatenate[bytes, _P], _R]:
    """Everything `function` raises on an upload is a `BadObjectError`.

    Our own `BadObjectError`s pass as they are; any other exception gets a reason
    (`as_bad_object`). A `MemoryError` counts too: the decode budget is checked before decoding,
    so running out anyway means these bytes need more memory than the function has, and a
    retry, on the same memory, would only run out again (`too_many_pixels`, like any image over
    the budget).

    Decoders' warnings are silenced in here: an upload succeeds or raises. Pillow warns from 89
    megapixels (our own check, made after shrink-on-load, decides what fits) and its TIFF reader
    about malformed metadata, which would only be noise in the function's logs.
    """

    @functools.wraps(function)
    def guarded(data: bytes, /, *args: _P.args, **kwargs: _P.kwargs) -> _R:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)
                warnings.simplefilter("ignore", UserWarning)
                return function(data, *args, **kwargs)
        except BadObjectError:
            raise
        except Exception as exc:
            raise as_bad_object(exc, sniff_format(data[:HEAD_BYTES]) or "image") from exc

    return guarded


def as_bad_object(exc: Exception, image_format: str) -> BadObjectError:
    """The `BadObjectError` that an exception raised on a `image_format` upload stands for."""
    if isinstance(exc, Image.DecompressionBombError):
        return TooManyPixelsError(f"Pillow refuses the {image_format}: {exc}")
    if isinstance(exc, MemoryError):
        return TooManyPixelsError(f"decoding the {image_format} ran out of memory")
    if "truncated" in str(exc).lower():
        return TruncatedImageError(f"the {image_format} data ends early: {exc}")
    if isinstance(exc, DECODE_ERRORS):
        return CorruptImageError(f"cannot decode the {image_format} data: {exc}")
    return UnprocessableImageError(
        f"processing the {image_format} raised {type(exc).__name__}: {exc}"
    )
