"""An APNG whose animation cannot be read is shown as its default image, a still.

An APNG is a PNG whose IDAT is the default image, the picture a viewer that cannot animate
shows; the animation's frames follow in fcTL (frame control) and fdAT (frame data) chunks,
numbered in one sequence. When those chunks are out of sequence, missing or miscounted, Pillow
refuses the whole file, while a browser still shows the default image. So the animation chunks
of the frames to be kept are checked before anything is decoded (`animation_problem`) and, if
they cannot be read, the file is decoded as the plain PNG that is left without them
(`default_image`). A default image that is itself unreadable is still refused.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator

_SIGNATURE = 8
_FRAME_CONTROL = 26  # sequence, width, height, x, y, delay (2 x 2), dispose, blend
_ANIMATION_CHUNKS = frozenset({b"acTL", b"fcTL", b"fdAT"})


def animation_problem(data: bytes, frames: int) -> str | None:
    """Why the first `frames` frames of the APNG `data` cannot be read after its default
    image, or None when they can (problems after those frames are not looked for)."""
    canvas = (0, 0)
    declared = controls = 0
    expected = 0  # the next sequence number
    awaiting_data = False
    for kind, body in _chunks(data):
        if kind == b"IHDR" and len(body) >= 8:
            canvas = struct.unpack(">II", body[:8])
        elif kind == b"acTL" and not declared and len(body) >= 8:
            declared = struct.unpack(">I", body[:4])[0]
        elif kind == b"IDAT":
            awaiting_data = False
        elif kind == b"fcTL":
            if awaiting_data:
                return f"frame {controls} has no frame data (fdAT)"
            if controls == frames:
                return None
            controls += 1
            if len(body) < _FRAME_CONTROL:
                return f"frame {controls}'s control chunk (fcTL) is cut short"
            sequence, width, height, left, top = struct.unpack(">5I", body[:20])
            if sequence != expected:
                return f"frame {controls}'s control chunk is number {sequence}, not {expected}"
            if left + width > canvas[0] or top + height > canvas[1]:
                return f"frame {controls} reaches outside the {canvas[0]}x{canvas[1]} canvas"
            expected, awaiting_data = sequence + 1, True
        elif kind == b"fdAT":
            sequence = struct.unpack(">I", body[:4])[0] if len(body) >= 4 else None
            if not controls:
                return "a frame data chunk (fdAT) comes before any frame control chunk (fcTL)"
            if sequence != expected:
                return f"frame {controls}'s data chunk (fdAT) is number {sequence}, not {expected}"
            expected, awaiting_data = sequence + 1, False
    # A last frame control with no data after it ends the animation early (Pillow and Chromium
    # show the frames before it); fewer frame controls than declared cannot be read.
    if controls < min(declared, frames):
        return f"the animation control chunk (acTL) declares {declared} frames, not {controls}"
    return None


def default_image(data: bytes) -> bytes:
    """The PNG `data` without its animation chunks: its default image, as a plain PNG."""
    kept = [data[:_SIGNATURE]]
    position = _SIGNATURE
    for kind, body in _chunks(data):
        end = position + 12 + len(body)
        if kind not in _ANIMATION_CHUNKS:
            kept.append(data[position:end])
        position = end
    return b"".join(kept)


def _chunks(data: bytes) -> Iterator[tuple[bytes, bytes]]:
    """Each chunk's type and body, up to IEND or the end of the data."""
    position = _SIGNATURE
    while position + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[position : position + 8])
        body = data[position + 8 : position + 8 + length]
        yield kind, body
        if kind == b"IEND":
            return
        position += 12 + length
