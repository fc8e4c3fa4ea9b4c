"""Moment-based deskewing."""

from __future__ import annotations

import numpy as np
import pytest

from digitrec.errors import InputError
from digitrec.features.deskew import deskew, skew_moments


def _slanted(shift_per_row: float = 0.5) -> np.ndarray:
    img = np.zeros((1, 28, 28), np.uint8)
    rows = np.arange(5, 23)
    img[0, rows, np.round(8 + shift_per_row * (rows - 5)).astype(int)] = 255
    img[0, rows, np.round(9 + shift_per_row * (rows - 5)).astype(int)] = 255
    return img


def test_a_slanted_stroke_comes_out_upright_and_centred():
    img = _slanted()
    _, alpha = skew_moments(img)
    assert alpha[0] == pytest.approx(0.5, abs=0.05)
    out = deskew(img)
    assert out.dtype == np.uint8 and out.shape == img.shape
    centre, alpha_after = skew_moments(out)
    assert abs(alpha_after[0]) < 0.05
    np.testing.assert_allclose(centre[0], [13.5, 13.5], atol=0.5)
    # Intensity is moved, not lost (bilinear resampling keeps the mass roughly).
    assert abs(int(out.sum()) - int(img.sum())) < 0.15 * int(img.sum())


def test_an_upright_centred_bar_is_left_alone():
    img = np.zeros((1, 28, 28), np.float64)
    img[0, 6:22, 13:15] = 1.0
    out = deskew(img)
    assert out.dtype == np.float64
    # Centred at 13.5 already, no shear: only interpolation round-off.
    np.testing.assert_allclose(out, img, atol=1e-9)


def test_blank_images_stay_blank():
    out = deskew(np.zeros((2, 28, 28), np.uint8))
    assert not out.any()
    centre, alpha = skew_moments(np.zeros((1, 5, 7)))
    np.testing.assert_array_equal(alpha, [0.0])
    np.testing.assert_array_equal(centre, [[2.0, 3.0]])


@pytest.mark.parametrize(
    ("bad", "match"),
    [
        (np.zeros((28, 28)), "shape"),
        (np.zeros((0, 28, 28)), "non-empty"),
        (np.full((1, 4, 4), np.nan), "NaN"),
        (np.array([[["a"]]]), "real numbers"),
    ],
)
def test_bad_input(bad, match):
    with pytest.raises(InputError, match=match):
        deskew(bad)


@pytest.mark.mnist
def test_deskewing_straightens_real_digits(mnist):
    images = mnist.train_images[:500]
    before = np.abs(skew_moments(images)[1]).mean()
    after = np.abs(skew_moments(deskew(images))[1]).mean()
    assert before > 0.1
    assert after < before / 3
