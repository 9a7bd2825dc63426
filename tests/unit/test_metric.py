"""AUTO_QUALITY's metric: its in-place plane arithmetic against plain numpy, and its reuse of
one workspace by every picture of a size."""

import numpy as np
import pytest

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


@pytest.mark.parametrize("shape", [(2, 37, 29), (3, 16, 40)])
def test_the_blur_in_place_is_the_plain_gaussian(shape):
    # GIVEN planes of odd and even sides, in the middle of a padded buffer whose sides are junk
    rng = np.random.default_rng(1)
    count, height, width = shape
    values = rng.random(shape, dtype=np.float32)
    padded = rng.random((count, height, width + 2 * RADIUS), dtype=np.float32)
    padded[..., RADIUS:-RADIUS] = values
    rows = rng.random((count, height + 2 * RADIUS, width), dtype=np.float32)  # junk too
    out = np.empty(shape, np.float32)

    # WHEN they are blurred in place
    planes.blur(padded, rows, np.empty(shape, np.float32), out)

    # THEN each is the plain convolution's
    for plane, blurred in zip(values, out, strict=True):
        np.testing.assert_allclose(blurred, plain_blur(plane), atol=1e-5)


@pytest.mark.parametrize("shape", [(3, 9, 7), (3, 8, 7), (3, 9, 6), (3, 8, 6)])
def test_halving_averages_2x2_blocks_and_an_odd_sides_last_pixels(shape):
    # GIVEN linear planes with even and odd sides
    linear = np.random.default_rng(2).random(shape, dtype=np.float32)
    height, width = shape[1:]

    # WHEN they are halved into a buffer
    out = planes.halve(
        linear, np.full((3, (height + 1) // 2, (width + 1) // 2), np.nan, np.float32)
    )

    # THEN each pixel is its block's mean, an odd side's last block repeating its edge
    edged = np.pad(linear, ((0, 0), (0, height % 2), (0, width % 2)), mode="edge")
    blocks = edged.reshape(3, edged.shape[1] // 2, 2, edged.shape[2] // 2, 2)
    np.testing.assert_allclose(out, blocks.mean(axis=(2, 4)), rtol=1e-6)


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
