"""ICC profiles built in code, so tests need no binary profile files.

`rgb_profile` writes a matrix/TRC display profile (ICC v2, the kind phones and cameras embed)
from the colour space's published primaries and white point; the colorants are adapted to the
D50 connection space with the Bradford transform, as the ICC specification requires.
`cmyk_profile` writes a small press-like CMYK profile: a lut8 (`mft1`) from CMYK to Lab.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Sequence

Matrix = list[list[float]]
Vector = tuple[float, float, float]

D50: Vector = (0.9642, 1.0, 0.8249)
D65_XY = (0.3127, 0.3290)
# Chromaticities (x, y) of the red, green and blue primaries.
SRGB_PRIMARIES = ((0.640, 0.330), (0.300, 0.600), (0.150, 0.060))
DISPLAY_P3_PRIMARIES = ((0.680, 0.320), (0.265, 0.690), (0.150, 0.060))
ADOBE_RGB_PRIMARIES = ((0.640, 0.330), (0.210, 0.710), (0.150, 0.060))
# The sRGB transfer curve as ICC parametric curve type 3: (g, a, b, c, d).
SRGB_CURVE = (2.4, 1 / 1.055, 0.055 / 1.055, 1 / 12.92, 0.04045)
ADOBE_RGB_GAMMA = 563 / 256

_BRADFORD: Matrix = [
    [0.8951, 0.2664, -0.1614],
    [-0.7502, 1.7135, 0.0367],
    [0.0389, -0.0685, 1.0296],
]


def display_p3() -> bytes:
    return rgb_profile("Display P3 (test)", DISPLAY_P3_PRIMARIES, curve=SRGB_CURVE)


def adobe_rgb() -> bytes:
    return rgb_profile("Adobe RGB (1998) (test)", ADOBE_RGB_PRIMARIES, gamma=ADOBE_RGB_GAMMA)


def srgb() -> bytes:
    return rgb_profile("sRGB (test)", SRGB_PRIMARIES, curve=SRGB_CURVE)


def rgb_profile(
    description: str,
    primaries: Sequence[tuple[float, float]],
    *,
    white: tuple[float, float] = D65_XY,
    curve: Sequence[float] | None = None,
    gamma: float | None = None,
) -> bytes:
    """A display profile with the given primaries, white point and transfer curve."""
    colorants = _colorants_d50(primaries, white)
    trc = _parametric_curve(curve) if curve else _gamma_curve(gamma or 2.2)
    tags = [
        (b"desc", _description(description)),
        (b"wtpt", _xyz(D50)),
        (b"rXYZ", _xyz(colorants[0])),
        (b"gXYZ", _xyz(colorants[1])),
        (b"bXYZ", _xyz(colorants[2])),
        (b"rTRC", trc),
        (b"gTRC", trc),
        (b"bTRC", trc),
        (b"cprt", _text("No copyright: generated for tests")),
    ]
    return _profile(b"mntr", b"RGB ", b"XYZ ", tags)


def grey_profile(description: str, gamma: float) -> bytes:
    """A greyscale display profile with a plain gamma curve."""
    tags = [
        (b"desc", _description(description)),
        (b"wtpt", _xyz(D50)),
        (b"kTRC", _gamma_curve(gamma)),
    ]
    return _profile(b"mntr", b"GRAY", b"XYZ ", tags)


def cmyk_profile(description: str, lab_of_corner: Callable[[tuple[int, ...]], Vector]) -> bytes:
    """A CMYK output profile whose A2B0 table sends each CMYK corner (0 or 255 per ink) to
    `lab_of_corner(corner)`, an (L*, a*, b*); lcms interpolates in between."""
    grid = 2
    clut = bytearray()
    for c in (0, 255):
        for m in (0, 255):
            for y in (0, 255):
                for k in (0, 255):
                    lightness, a, b = lab_of_corner((c, m, y, k))
                    clut += bytes(
                        _clamp_byte(value) for value in (lightness * 255 / 100, a + 128, b + 128)
                    )
    identity_table = bytes(range(256))
    identity_matrix = b"".join(_s15f16(v) for v in (1, 0, 0, 0, 1, 0, 0, 0, 1))
    lut = (
        b"mft1"
        + bytes(4)
        + bytes([4, 3, grid, 0])
        + identity_matrix
        + identity_table * 4
        + bytes(clut)
        + identity_table * 3
    )
    tags = [(b"desc", _description(description)), (b"wtpt", _xyz(D50)), (b"A2B0", lut)]
    return _profile(b"prtr", b"CMYK", b"Lab ", tags)


def _profile(
    device_class: bytes, space: bytes, pcs: bytes, tags: list[tuple[bytes, bytes]]
) -> bytes:
    table = bytearray(struct.pack(">I", len(tags)))
    data = bytearray()
    offset = 128 + 4 + 12 * len(tags)
    for signature, body in tags:
        table += signature + struct.pack(">II", offset + len(data), len(body))
        data += body + bytes(-len(body) % 4)
    size = offset + len(data)
    header = (
        struct.pack(">I", size)
        + bytes(4)
        + struct.pack(">I", 0x02100000)
        + device_class
        + space
        + pcs
        + struct.pack(">6H", 2024, 1, 1, 0, 0, 0)
        + b"acsp"
        + bytes(24)
        + struct.pack(">I", 0)  # rendering intent: perceptual
        + b"".join(_s15f16(v) for v in D50)
        + bytes(4 + 16 + 28)
    )
    assert len(header) == 128
    return header + bytes(table) + bytes(data)


def _colorants_d50(
    primaries: Sequence[tuple[float, float]], white: tuple[float, float]
) -> list[Vector]:
    """The XYZ of each primary at full intensity, adapted from `white` to D50 (Bradford)."""
    columns = [(x / y, 1.0, (1 - x - y) / y) for x, y in primaries]
    rgb_to_xyz = [[columns[j][i] for j in range(3)] for i in range(3)]
    white_xyz = (white[0] / white[1], 1.0, (1 - white[0] - white[1]) / white[1])
    scale = _apply(_inverse(rgb_to_xyz), white_xyz)
    rgb_to_xyz = [[rgb_to_xyz[i][j] * scale[j] for j in range(3)] for i in range(3)]
    cone_source = _apply(_BRADFORD, white_xyz)
    cone_d50 = _apply(_BRADFORD, D50)
    gains = [[cone_d50[i] / cone_source[i] if i == j else 0.0 for j in range(3)] for i in range(3)]
    adapt = _multiply(_inverse(_BRADFORD), _multiply(gains, _BRADFORD))
    adapted = _multiply(adapt, rgb_to_xyz)
    return [(adapted[0][j], adapted[1][j], adapted[2][j]) for j in range(3)]


def _apply(matrix: Matrix, vector: Sequence[float]) -> Vector:
    x, y, z = (sum(matrix[i][k] * vector[k] for k in range(3)) for i in range(3))
    return (x, y, z)


def _multiply(a: Matrix, b: Matrix) -> Matrix:
    return [[sum(a[i][k] * b[k][j] for k in range(3)) for j in range(3)] for i in range(3)]


def _inverse(m: Matrix) -> Matrix:
    (a, b, c), (d, e, f), (g, h, i) = m
    det = a * (e * i - f * h) - b * (d * i - f * g) + c * (d * h - e * g)
    cofactors = [
        [e * i - f * h, c * h - b * i, b * f - c * e],
        [f * g - d * i, a * i - c * g, c * d - a * f],
        [d * h - e * g, b * g - a * h, a * e - b * d],
    ]
    return [[value / det for value in row] for row in cofactors]


def _s15f16(value: float) -> bytes:
    return struct.pack(">i", round(value * 65536))


def _xyz(xyz: Sequence[float]) -> bytes:
    return b"XYZ " + bytes(4) + b"".join(_s15f16(v) for v in xyz)


def _parametric_curve(parameters: Sequence[float]) -> bytes:
    return b"para" + bytes(4) + struct.pack(">HH", 3, 0) + b"".join(_s15f16(v) for v in parameters)


def _gamma_curve(gamma: float) -> bytes:
    return b"curv" + bytes(4) + struct.pack(">IH", 1, round(gamma * 256))


def _description(text: str) -> bytes:
    ascii_text = text.encode("ascii") + b"\0"
    return (
        b"desc"
        + bytes(4)
        + struct.pack(">I", len(ascii_text))
        + ascii_text
        + struct.pack(">II", 0, 0)
        + struct.pack(">HB", 0, 0)
        + bytes(67)
    )


def _text(text: str) -> bytes:
    return b"text" + bytes(4) + text.encode("ascii") + b"\0"


def _clamp_byte(value: float) -> int:
    return max(0, min(255, round(value)))
