"""GIFs and APNGs written by hand, chunk by chunk, to make the files encoders never write: GIF
frames that reach outside the logical screen, APNGs whose animation chunks are broken.

No binary fixtures: every file is built from a picture drawn in code.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Sequence
from dataclasses import dataclass

from PIL import Image, ImageDraw

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
#: Literal codes between two LZW clear codes: the table never grows past 9-bit codes.
_LZW_RUN = 250


@dataclass(frozen=True)
class GifFrame:
    """One GIF image: `indices` (mode "P" or "L") placed at `left`, `top` on the screen."""

    indices: Image.Image
    left: int = 0
    top: int = 0
    disposal: int = 0  # 0 unspecified, 1 keep, 2 restore to background, 3 restore previous
    transparency: int | None = None  # the palette index shown as transparent
    duration_ms: int = 500


def palette() -> bytes:
    """256 RGB colours: a 6x6x6 cube, then greys."""
    cube = [(r * 51, g * 51, b * 51) for r in range(6) for g in range(6) for b in range(6)]
    greys = [(v * 255 // 39,) * 3 for v in range(40)]
    return bytes(channel for colour in cube + greys for channel in colour)


def gif(screen: tuple[int, int], frames: Sequence[GifFrame], *, background: int = 0) -> bytes:
    """A GIF89a of `frames` on a `screen`-sized logical screen, whatever the frames' extents."""
    out = bytearray(b"GIF89a")
    out += struct.pack("<HHBBB", *screen, 0xF7, background, 0)  # a 256-colour global table
    out += palette()
    out += b"\x21\xff\x0bNETSCAPE2.0\x03\x01\x00\x00\x00"  # loop forever
    for frame in frames:
        flags = frame.disposal << 2 | (frame.transparency is not None)
        delay = frame.duration_ms // 10
        out += struct.pack("<BBBBHBB", 0x21, 0xF9, 4, flags, delay, frame.transparency or 0, 0)
        out += b"," + struct.pack("<HHHHB", frame.left, frame.top, *frame.indices.size, 0)
        out += b"\x08" + _sub_blocks(_lzw(frame.indices.tobytes()))
    return bytes(out + b";")


def _lzw(indices: bytes) -> bytes:
    """LZW codes for 8-bit indices, every one a literal: 9-bit codes, a clear code every
    `_LZW_RUN` literals so the decoder's table never needs a wider code."""
    clear, end = 256, 257
    codes = [clear]
    for start in range(0, len(indices), _LZW_RUN):
        codes += indices[start : start + _LZW_RUN]
        codes.append(clear)
    codes.append(end)
    value = sum(code << (9 * position) for position, code in enumerate(codes))
    return value.to_bytes((9 * len(codes) + 7) // 8, "little")


def _sub_blocks(data: bytes) -> bytes:
    blocks = b"".join(
        bytes([len(data[i : i + 255])]) + data[i : i + 255] for i in range(0, len(data), 255)
    )
    return blocks + b"\x00"


def pattern(size: tuple[int, int], colour: int, *, seed: int = 0) -> Image.Image:
    """Palette indices: `colour` crossed by stripes and a disc, so a misplaced frame shows."""
    picture = Image.new("P", size, colour)
    draw = ImageDraw.Draw(picture)
    width, height = size
    for index, x in enumerate(range(-height, width, max(8, width // 5))):
        stripe = max(2, width // 40)
        draw.line(
            (x, 0, x + height, height), fill=(colour + 37 * (index + seed)) % 216, width=stripe
        )
    draw.ellipse(
        (width // 4, height // 4, width * 3 // 4, height * 3 // 4), fill=(colour + 108) % 216
    )
    return picture


# --- APNG ----------------------------------------------------------------------------------

Chunk = tuple[bytes, bytes]


@dataclass(frozen=True)
class ApngFrame:
    """One APNG frame: an RGBA `picture` at `left`, `top` on the canvas."""

    picture: Image.Image
    left: int = 0
    top: int = 0
    disposal: int = 0  # 0 none, 1 background, 2 previous
    blend: int = 0  # 0 source, 1 over
    duration_ms: int = 500


def apng_chunks(
    size: tuple[int, int], frames: Sequence[ApngFrame], *, default: Image.Image | None = None
) -> list[Chunk]:
    """The chunks of a valid RGBA APNG of `frames`; with `default`, an IDAT of its own outside
    the animation (the image a viewer that cannot animate shows), else the first frame's IDAT."""
    chunks: list[Chunk] = [
        (b"IHDR", struct.pack(">IIBBBBB", *size, 8, 6, 0, 0, 0)),
        (b"acTL", struct.pack(">II", len(frames), 0)),
    ]
    if default is not None:
        chunks.append((b"IDAT", _idat(default)))
    sequence = 0
    for index, frame in enumerate(frames):
        width, height = frame.picture.size
        control = struct.pack(
            ">IIIIIHHBB", sequence, width, height, frame.left, frame.top,
            frame.duration_ms, 1000, frame.disposal, frame.blend,
        )  # fmt: skip
        chunks.append((b"fcTL", control))
        sequence += 1
        if index == 0 and default is None:
            chunks.append((b"IDAT", _idat(frame.picture)))
        else:
            chunks.append((b"fdAT", struct.pack(">I", sequence) + _idat(frame.picture)))
            sequence += 1
    chunks.append((b"IEND", b""))
    return chunks


def png(chunks: Sequence[Chunk]) -> bytes:
    """The PNG file of `chunks`, each with its length and CRC."""
    return PNG_SIGNATURE + b"".join(
        struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        for kind, body in chunks
    )


def _idat(picture: Image.Image) -> bytes:
    rgba = picture.convert("RGBA")
    row = rgba.width * 4
    raw = rgba.tobytes()
    return zlib.compress(
        b"".join(b"\x00" + raw[y * row : (y + 1) * row] for y in range(rgba.height))
    )


# --- The cases of issue 22 -----------------------------------------------------------------

#: The palette index the transparent cases leave see-through.
CLEAR = 215


def gifs_reaching_outside(screen: tuple[int, int] = (600, 400)) -> dict[str, bytes]:
    """GIFs whose frames reach outside the logical screen: the second frame, across its
    bottom-right corner, with each disposal method, with and without transparency; and a first
    frame larger than the screen (browsers and Pillow grow the canvas to it)."""
    width, height = screen
    cases = {}
    for transparency in (None, CLEAR):
        first = pattern(screen, 5)
        if transparency is not None:
            first.paste(transparency, (width // 8, height // 8, width // 3, height // 3))
        outside = pattern((width // 2, height // 2), 60, seed=1)
        if transparency is not None:
            outside.paste(transparency, (0, 0, width // 8, height // 8))
        for disposal in (0, 1, 2, 3):
            frames = [
                GifFrame(first, transparency=transparency),
                GifFrame(outside, width * 3 // 4, height * 3 // 4, disposal, transparency),
                GifFrame(pattern((width // 3, height // 3), 150, seed=2), width // 6, height // 6),
            ]
            name = f"disposal {disposal}, {'transparent' if transparency else 'opaque'}"
            cases[name] = gif(screen, frames)
    larger = pattern((width + width // 6, height + height // 8), 5)
    cases["first frame larger than the screen"] = gif(
        screen, [GifFrame(larger), GifFrame(pattern(screen, 150, seed=3), width // 2, 0)]
    )
    return cases


def apng_frames(size: tuple[int, int] = (600, 400)) -> list[ApngFrame]:
    """Three frames: the whole canvas, then two smaller ones blended over it."""
    width, height = size
    return [
        ApngFrame(_disc(size, (200, 30, 30), 160)),
        ApngFrame(
            _disc((width // 2, height // 2), (30, 150, 30), 0), width // 6, height // 6, blend=1
        ),
        ApngFrame(_disc((width // 3, height // 3), (30, 30, 200), 255), width // 2, height // 2),
    ]


def _disc(size: tuple[int, int], colour: tuple[int, int, int], alpha: int) -> Image.Image:
    """`colour`, with a white disc `alpha` opaque and a dark bar off its centre. (Pillow blends
    a frame's partly transparent pixels over the canvas wrongly: frames after the first keep
    to clear or opaque ones.)"""
    width, height = size
    image = Image.new("RGBA", size, (*colour, 255))
    draw = ImageDraw.Draw(image)
    draw.ellipse(
        (width // 8, height // 8, width * 7 // 8, height * 7 // 8), fill=(255, 255, 255, alpha)
    )
    draw.rectangle((width // 5, height // 5, width // 3, height * 2 // 3), fill=(20, 20, 20, 255))
    return image


def _renumber(chunks: list[Chunk], index: int, sequence: int) -> None:
    kind, body = chunks[index]
    chunks[index] = (kind, struct.pack(">I", sequence) + body[4:])


def _animation_chunk(chunks: list[Chunk], kind: bytes, nth: int) -> int:
    return [i for i, (k, _body) in enumerate(chunks) if k == kind][nth]


def broken_apngs(size: tuple[int, int] = (600, 400), *, default: bool = False) -> dict[str, bytes]:
    """APNGs whose animation cannot be read, one per kind of break, after a sound default image
    (the first frame's IDAT, or with `default` an IDAT of its own before the animation)."""
    still = _disc(size, (220, 200, 40), 160)

    def chunks() -> list[Chunk]:
        return apng_chunks(size, apng_frames(size), default=still if default else None)

    cases: dict[str, bytes] = {}
    broken = chunks()  # the second frame's control and data chunks swap numbers
    first, second = _animation_chunk(broken, b"fcTL", 1), _animation_chunk(broken, b"fdAT", -2)
    sequences = [struct.unpack(">I", broken[i][1][:4])[0] for i in (first, second)]
    _renumber(broken, first, sequences[1])
    _renumber(broken, second, sequences[0])
    cases["sequence numbers swapped"] = png(broken)
    broken = chunks()  # the last frame's control chunk skips a number
    last = _animation_chunk(broken, b"fcTL", -1)
    _renumber(broken, last, struct.unpack(">I", broken[last][1][:4])[0] + 1)
    cases["sequence number skipped"] = png(broken)
    broken = chunks()  # the last frame's data chunk comes before its control chunk
    data = _animation_chunk(broken, b"fdAT", -1)
    broken[data - 1], broken[data] = broken[data], broken[data - 1]
    cases["frame data before its control"] = png(broken)
    broken = chunks()
    del broken[_animation_chunk(broken, b"fcTL", 1)]
    cases["frame control missing"] = png(broken)
    broken = chunks()  # the second frame's data: its control is followed by the third's
    del broken[_animation_chunk(broken, b"fdAT", -2)]
    cases["frame data missing"] = png(broken)
    broken = chunks()
    control = _animation_chunk(broken, b"fcTL", -1)
    broken[control] = (b"fcTL", broken[control][1][:20])
    cases["frame control cut short"] = png(broken)
    broken = chunks()
    control = _animation_chunk(broken, b"fcTL", -1)
    body = bytearray(broken[control][1])
    body[12:16] = struct.pack(">I", size[0])  # the frame starts at the canvas's right edge
    broken[control] = (b"fcTL", bytes(body))
    cases["frame outside the canvas"] = png(broken)
    broken = chunks()
    broken[1] = (b"acTL", struct.pack(">II", 5, 0))
    cases["more frames declared than stored"] = png(broken)
    return cases
