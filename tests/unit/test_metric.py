"""AUTO_QUALITY's metric: its in-place plane arithmetic against plain numpy, and its reuse of
one workspace by every picture of a size."""

import numpy as np
import pytest
from PIL import Image

from scripts.support.sample_images import photo
from thumbnailer.image import metric_planes as planes
from thumbnailer.image.encoders import encode_webp
from thumbnailer.image.metric import Reference, decoded

RADIUS = planes.RADIUS


def plain_blur(plane: np.ndarray) -> np.ndarray:
    """The same Gaussian, written plainly: np.pad's symmetric sides, zeros above and below."""
    kernel = planes._KERNEL.astype(np.float64)
    wide = np.pad(plane.astype(np.float64), ((0, 0), (RADIUS, RADIUS)), mode="symmetric")
    across = np.array([np.convolve(row, kernel, mode="valid") for row in wide])
    tall = np.pad(across, ((RADIUS, RADIUS), (0, 0)))
    return np.array([np.convolve(column, kernel, mode="valid") for column in tall.T]).T


def margined(planes_: np.ndarray) -> np.ndarray:
    """`planes_` with the margins the metric keeps each side, holding junk."""
    wide = np.full((*planes_.shape[:-1], planes_.shape[-1] + 2 * RADIUS), 1e30, np.float32)
    wide[..., RADIUS:-RADIUS] = planes_
    return wide


@pytest.mark.parametrize("shape", [(2, 37, 29), (3, 16, 40)])
def test_the_blur_in_place_is_the_plain_gaussian(shape):
    # GIVEN planes of odd and even sides, mirrored into their margins, in the middle rows of a
    # buffer whose other rows are junk
    rng = np.random.default_rng(1)
    count, height, width = shape
    values = rng.random(shape, dtype=np.float32)
    rows = rng.random((count, height + 2 * RADIUS, width + 2 * RADIUS), dtype=np.float32)
    rows[:, RADIUS:-RADIUS] = planes.mirror(margined(values))
    out = np.full((count, height, width + 2 * RADIUS), np.nan, np.float32)

    # WHEN they are blurred in place
    planes.blur(rows, np.empty_like(out), np.empty_like(out), out)

    # THEN each is the plain convolution's, and the margins hold finite numbers
    for plane, blurred in zip(values, out, strict=True):
        np.testing.assert_allclose(blurred[:, RADIUS:-RADIUS], plain_blur(plane), atol=1e-5)
    assert np.isfinite(out).all()


@pytest.mark.parametrize("shape", [(3, 25, 23), (3, 24, 23), (3, 25, 22), (3, 24, 22)])
def test_halving_averages_2x2_blocks_and_an_odd_sides_last_pixels(shape):
    # GIVEN linear planes with even and odd sides
    linear = np.random.default_rng(2).random(shape, dtype=np.float32)
    height, width = shape[1:]

    # WHEN they are halved into a buffer
    half = np.full((3, (height + 1) // 2, (width + 1) // 2 + 2 * RADIUS), np.nan, np.float32)
    out = planes.halve(planes.mirror(margined(linear)), half)

    # THEN each pixel is its block's mean, an odd side's last block repeating its edge, and the
    # margins mirror the result
    edged = np.pad(linear, ((0, 0), (0, height % 2), (0, width % 2)), mode="edge")
    blocks = edged.reshape(3, edged.shape[1] // 2, 2, edged.shape[2] // 2, 2).mean(axis=(2, 4))
    symmetric = np.pad(blocks, ((0, 0), (0, 0), (RADIUS, RADIUS)), mode="symmetric")
    np.testing.assert_allclose(out, symmetric, rtol=1e-6)


def test_linear_light_fills_the_margins_with_the_picture_mirrored():
    # GIVEN a picture whose columns differ
    picture = Image.linear_gradient("L").resize((40, 30)).transpose(Image.Transpose.ROTATE_90)
    picture = Image.merge("RGB", (picture, picture.point(lambda v: 255 - v), picture))

    # WHEN it is turned into linear light, with the metric's margins
    out = planes.linear_rgb(picture, np.full((3, 40, 30 + 2 * RADIUS), np.nan, np.float32))

    # THEN the middle is the sRGB curve of its pixels and the margins mirror it
    pixels = np.moveaxis(np.asarray(picture), -1, 0) / 255
    srgb = np.where(pixels <= 0.04045, pixels / 12.92, ((pixels + 0.055) / 1.055) ** 2.4)
    expected = np.pad(srgb, ((0, 0), (0, 0), (RADIUS, RADIUS)), mode="symmetric")
    np.testing.assert_allclose(out, expected, rtol=1e-6)


def test_references_of_one_size_and_another_share_a_workspace_without_mixing():
    # GIVEN two pictures of one size and one of another, and an encoding of the first
    first, second = photo(320, 288, seed=5), photo(320, 288, seed=6)
    other = photo(300, 260, seed=7)
    encoded = decoded(encode_webp([first], quality=60))
    alone = Reference(first).score(encoded)

    # WHEN references to all three are made before the first's is used, and it scores twice
    reference = Reference(first)
    Reference(second)
    Reference(other).score(other)
    scores = [reference.score(encoded), reference.score(encoded)]

    # THEN the scores are those of the first's reference alone: nothing of the others in them
    assert scores == [alone, alone]
    assert reference.score(first) == 100.0
