"""A GIF's frame extents, read from its blocks before any frame is decoded.

A frame may reach outside the logical screen. Browsers draw the screen grown to the first
frame's extents (Chromium's decoder does, and so does Pillow when it opens the file) and clip
every later frame to it. Pillow instead grows its canvas again for each later frame that reaches
further, up to the frame's extents (65,535 px a side). The decode budget must count that growth
before it happens (`grown_canvas`); the frames are then cropped back to the canvas a browser
shows (animation.py).
"""

from __future__ import annotations

from collections.abc import Iterator

from thumbnailer.errors import CorruptImageError

_SCREEN = 13  # b"GIF89a", width, height, flags, background, aspect
_DESCRIPTOR = 9  # left, top, width, height, flags
_LOOP = b"NETSCAPE2.0"


def frame_extents(data: bytes) -> Iterator[tuple[int, int, int, int]]:
    """Each frame's (left, top, right, bottom), in file order, read block by block exactly as
    Pillow 13's GifImagePlugin reads them (its quirks too: an extension whose first sub-block
    is empty makes it skip the sub-blocks that follow as well)."""
    reader = _Reader(data, _SCREEN + _palette_size(data[10] if len(data) > 10 else 0))
    index = 0
    while True:
        introducer = reader.read(1)
        while introducer not in (b"", b";"):
            if introducer == b"!":
                label = reader.read(1)
                block = reader.sub_block()
                if label == b"\xfe":  # a comment: its sub-blocks, and no more
                    while block:
                        block = reader.sub_block()
                else:
                    if label == b"\xff" and index == 0 and block and block.startswith(_LOOP):
                        reader.sub_block()
                    while reader.sub_block():
                        pass
            elif introducer == b",":
                descriptor = reader.read(_DESCRIPTOR)
                if len(descriptor) < _DESCRIPTOR:
                    return
                left, top, width, height = (
                    int.from_bytes(descriptor[i : i + 2], "little") for i in range(0, 8, 2)
                )
                yield left, top, left + width, top + height
                reader.read(_palette_size(descriptor[8]) + 1)  # + the LZW code size
                while reader.sub_block():  # the image data
                    pass
                break
            introducer = reader.read(1)
        else:
            return
        index += 1


class _Reader:
    """`data` read as Pillow reads its file: a short read at the end, never an error."""

    def __init__(self, data: bytes, position: int) -> None:
        self._data = data
        self._position = position

    def read(self, size: int) -> bytes:
        chunk = self._data[self._position : self._position + size]
        self._position += size
        return chunk

    def sub_block(self) -> bytes | None:
        length = self.read(1)
        return self.read(length[0]) if length and length[0] else None


def grown_canvas(data: bytes, canvas: tuple[int, int], frames: int) -> tuple[int, int]:
    """The canvas Pillow holds once it has composited the first `frames` frames onto `canvas`
    (the logical screen grown to the first frame, as Pillow opened it)."""
    width, height = canvas
    for index, (_left, _top, right, bottom) in enumerate(frame_extents(data)):
        if index >= frames:
            break
        width, height = max(width, right), max(height, bottom)
    return width, height


def _palette_size(flags: int) -> int:
    return 3 << ((flags & 7) + 1) if flags & 0x80 else 0


def check_frame_within(index: int, size: tuple[int, int], grown: tuple[int, int]) -> None:
    """Refuse a frame that would grow Pillow's canvas past `grown`, what the budget counted:
    only if Pillow read the blocks otherwise than `frame_extents` (a file made to differ)."""
    if size[0] > grown[0] or size[1] > grown[1]:
        raise CorruptImageError(
            f"frame {index + 1} grows the canvas to {size[0]}x{size[1]}, past the "
            f"{grown[0]}x{grown[1]} its decode was budgeted for"
        )
