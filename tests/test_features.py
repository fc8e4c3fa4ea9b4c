import numpy as np
import pytest
from skimage.transform import downscale_local_mean

from digitrec.errors import InputError
from digitrec.features import block_sums, downscale, flatten, prepare


def test_downscale_matches_skimage_image_by_image():
    rng = np.random.default_rng(3)
    images = rng.integers(0, 256, size=(7, 28, 28), dtype=np.uint8)
    expected = np.array([downscale_local_mean(x, (3, 3)) for x in images])
    out = downscale(images, 3)
    assert out.shape == (7, 10, 10)
    np.testing.assert_array_equal(out, expected)


def test_block_sums_divided_equal_downscale_bit_for_bit():
    rng = np.random.default_rng(4)
    images = rng.integers(0, 256, size=(50, 28, 28), dtype=np.uint8)
    for factor in (2, 3, 4, 7):
        sums = block_sums(images, factor)
        assert sums.dtype == np.uint16
        np.testing.assert_array_equal(
            sums / float(factor * factor), downscale(images, factor).reshape(50, -1)
        )


def test_padding_averages_over_zeros():
    images = np.full((1, 28, 28), 90, dtype=np.uint8)
    out = downscale(images, 3)[0]
    assert out[0, 0] == 90
    assert out[9, 0] == pytest.approx(30)  # one real row of three
    assert out[9, 9] == pytest.approx(10)  # one real pixel of nine


def test_prepare_and_flatten():
    images = np.zeros((4, 28, 28), np.uint8)
    assert prepare(images).shape == (4, 784)
    assert prepare(images, 1).dtype == np.uint8
    assert prepare(images, 3).shape == (4, 100)
    assert flatten(images).base is images


@pytest.mark.parametrize("factor", [0, -2, 1.5, "3"])
def test_bad_factor(factor):
    with pytest.raises(InputError, match="factor: expected a positive integer"):
        downscale(np.zeros((1, 28, 28)), factor)


def test_bad_shape_names_fix():
    with pytest.raises(InputError, match=r"expected an array of shape \(n, height, width\)"):
        downscale(np.zeros((28, 28)))
