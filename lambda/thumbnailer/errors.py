"""Every failure the pipeline names, split by whether retrying can help.

`BadObjectError`: the uploaded object itself is unusable. Retrying cannot help, so it is
reported once to the dead-letter queue and the invocation succeeds.
`TransientError`: the world failed (S3, SQS, throttling, timeouts). It is raised so that Lambda
retries the event, which reaches the dead-letter queue after the retries.
"""

from __future__ import annotations

from typing import ClassVar


class ThumbnailerError(Exception):
    """Base class of the pipeline's own errors."""


class SettingsError(ValueError):
    """The function's environment is misconfigured; raised at start-up."""


class TransientError(ThumbnailerError):
    """A dependency failed; retrying the event may succeed."""


class BadObjectError(ThumbnailerError):
    """The uploaded object cannot be turned into thumbnails; retrying cannot help."""

    reason: ClassVar[str] = "bad_object"


class EmptyObjectError(BadObjectError):
    """The object has no bytes."""

    reason = "empty_object"


class ObjectTooLargeError(BadObjectError):
    """The object has more bytes than the function accepts."""

    reason = "object_too_large"


class NotAnImageError(BadObjectError):
    """The bytes are not an image of any known format."""

    reason = "not_an_image"


class UnsupportedFormatError(BadObjectError):
    """The bytes are an image, but of a format the pipeline refuses to decode."""

    reason = "unsupported_format"


class TruncatedImageError(BadObjectError):
    """The image ends before its pixel data does."""

    reason = "truncated_image"


class CorruptImageError(BadObjectError):
    """The image's header or pixel data cannot be decoded."""

    reason = "corrupt_image"


class TooManyPixelsError(BadObjectError):
    """The image would decode to more pixels than allowed (a decompression bomb, or just huge)."""

    reason = "too_many_pixels"


class UnprocessableImageError(BadObjectError):
    """Decoding, rendering or encoding the image failed in a way no other reason names.

    Whatever the image core raises on an upload's bytes is a property of those bytes: the same
    bytes would fail again, so it is a bad object, never a transient failure.
    """

    reason = "unprocessable_image"


class KeyTooLongError(BadObjectError):
    """An output key would be longer than S3 allows (1,024 bytes of UTF-8)."""

    reason = "key_too_long"


class RecursionRiskError(BadObjectError):
    """Writing the thumbnails would trigger the function again (output inside the input prefix)."""

    reason = "recursion_risk"


class SourceChangedError(ThumbnailerError):
    """The object was replaced after its event was sent; the newer version's event handles it."""
