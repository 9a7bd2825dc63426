"""Mutations of the seeds, as a Hypothesis strategy: truncation, bit flips, chunk and header
mutations, splices across formats and absurd declared sizes."""

from __future__ import annotations

from collections.abc import Callable

from hypothesis import strategies as st

from tests.fuzz.seeds import Seed, seeds

# Sizes no camera writes: zero, one, the edges of 14, 16, 24, 31 and 32 bits, and the side of a
# square just over 2**31 pixels.
ABSURD_SIZES = (
    0,
    1,
    2,
    255,
    16383,
    16384,
    20000,
    46341,
    65535,
    65536,
    2**24 - 1,
    2**31 - 1,
    2**32 - 1,
)

Mutation = Callable[[st.DrawFn, bytearray, Seed], None]


def _index(draw: st.DrawFn, data: bytearray) -> int:
    return draw(st.integers(0, max(0, len(data) - 1)))


def truncate(draw: st.DrawFn, data: bytearray, _seed: Seed) -> None:
    del data[draw(st.integers(0, len(data))) :]


def flip_bit(draw: st.DrawFn, data: bytearray, _seed: Seed) -> None:
    if data:
        data[_index(draw, data)] ^= 1 << draw(st.integers(0, 7))


def overwrite_bytes(draw: st.DrawFn, data: bytearray, _seed: Seed) -> None:
    start = _index(draw, data)
    new = draw(st.binary(min_size=1, max_size=8) | st.sampled_from([b"\x00", b"\xff", b"\x7f\xff"]))
    data[start : start + len(new)] = new


def delete_chunk(draw: st.DrawFn, data: bytearray, _seed: Seed) -> None:
    start = _index(draw, data)
    del data[start : start + draw(st.integers(1, 256))]


def duplicate_chunk(draw: st.DrawFn, data: bytearray, _seed: Seed) -> None:
    start = _index(draw, data)
    chunk = data[start : start + draw(st.integers(1, 256))]
    at = _index(draw, data)
    data[at:at] = chunk * draw(st.integers(1, 4))


def insert_bytes(draw: st.DrawFn, data: bytearray, _seed: Seed) -> None:
    at = _index(draw, data)
    data[at:at] = draw(st.binary(min_size=1, max_size=64))


def splice(draw: st.DrawFn, data: bytearray, _seed: Seed) -> None:
    other = draw(st.sampled_from(seeds())).data
    data[_index(draw, data) :] = other[draw(st.integers(0, len(other) - 1)) :]


def absurd_size(draw: st.DrawFn, data: bytearray, seed: Seed) -> None:
    fields = [field for field in seed.size_fields if field.offset + field.length <= len(data)]
    if not fields:
        return
    field = draw(st.sampled_from(fields))
    value = draw(st.sampled_from(ABSURD_SIZES) | st.integers(0, 2 ** (8 * field.length) - 1))
    value &= 2 ** (8 * field.length) - 1
    data[field.offset : field.offset + field.length] = value.to_bytes(field.length, field.byteorder)


MUTATIONS: tuple[Mutation, ...] = (
    absurd_size,
    truncate,
    flip_bit,
    overwrite_bytes,
    delete_chunk,
    duplicate_chunk,
    insert_bytes,
    splice,
)


@st.composite
def uploads(draw: st.DrawFn) -> bytes:
    """A seed of some accepted format with up to five mutations applied (or none)."""
    seed = draw(st.sampled_from(seeds()))
    data = bytearray(seed.data)
    for mutate in draw(st.lists(st.sampled_from(MUTATIONS), max_size=5)):
        mutate(draw, data, seed)
    return bytes(data)
