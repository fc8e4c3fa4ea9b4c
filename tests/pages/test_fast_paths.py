"""The page layer's faster computations give exactly what the library calls they replace give."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from scipy import ndimage

import digitrec.vision.blur as blur
from digitrec.pages.layout import (
    _extents,
    _near_walls,
    _paint,
    _pool,
    _row_runs,
    _runs,
    _unpool,
    estimate_skew,
)
from digitrec.vision.io import load_image, reduce, to_float


def _masks(seed: int, count: int = 60):
    rng = np.random.default_rng(seed)
    for _ in range(count):
        h, w = int(rng.integers(1, 40)), int(rng.integers(1, 120))
        yield rng.random((h, w)) < rng.choice([0.02, 0.3, 0.7, 0.95])


def _scipy_runs(mask: np.ndarray, length: int, axis: int) -> np.ndarray:
    """The opening as scipy's filters compute it (what :func:`_runs` replaces)."""
    thick = ndimage.maximum_filter1d(mask.astype(np.uint8), 3, axis=1 - axis)
    opened = ndimage.maximum_filter1d(
        ndimage.minimum_filter1d(thick, length, axis=axis), length, axis=axis
    )
    return opened.astype(bool) & mask


@pytest.mark.parametrize("seed", range(4))
def test_runs_match_scipys_opening_at_any_length_and_edge(seed):
    # Even lengths (the window one pixel longer on the left), runs at the borders,
    # windows longer than the row: every case scipy's reflection handles.
    for mask in _masks(seed):
        for length in (1, 2, 3, 4, 7, 8, 20, 41, 90, 200):
            for axis in (0, 1):
                assert np.array_equal(_runs(mask, length, axis), _scipy_runs(mask, length, axis))


def test_row_runs_painted_back_give_the_mask():
    for mask in _masks(7):
        row, start, stop = _row_runs(mask)
        assert np.all(stop > start)
        assert np.array_equal(_paint(mask.shape, row, start, stop), mask)
    assert [a.size for a in _row_runs(np.zeros((3, 0), bool))] == [0, 0, 0]


def test_near_walls_is_the_maximum_filter():
    rng = np.random.default_rng(3)
    for _ in range(200):
        h, w = int(rng.integers(1, 60)), int(rng.integers(1, 150))
        walls = rng.random((h, w)) < rng.choice([0.002, 0.02, 0.2])
        walls[rng.integers(0, h), rng.integers(0, w)] = True  # never empty (callers check)
        for reach in (1, 9, 37, 201):
            expected = ndimage.maximum_filter(walls, size=(7, reach))
            assert np.array_equal(_near_walls(walls, reach), expected)


def test_extents_are_find_objects_boxes_and_areas():
    for mask in _masks(11):
        labels, n = ndimage.label(mask, np.ones((3, 3), bool))
        y0, y1, x0, x1, area = _extents(labels, n, mask)
        boxes = ndimage.find_objects(labels)
        assert [(a, b, c, d) for a, b, c, d in zip(y0, y1, x0, x1, strict=True)] == [
            (s[0].start, s[0].stop, s[1].start, s[1].stop) for s in boxes
        ]
        assert np.array_equal(area, np.bincount(labels[mask], minlength=n + 1)[1:])


def test_pool_and_unpool_match_padding_and_repeat():
    for mask in _masks(5):
        for f in (1, 2, 3):
            h, w = mask.shape
            padded = np.pad(mask, ((0, -h % f), (0, -w % f)))
            blocks = padded.reshape(padded.shape[0] // f, f, padded.shape[1] // f, f)
            assert np.array_equal(_pool(mask, f), blocks.any(axis=(1, 3)))
            big = np.repeat(np.repeat(mask, f, axis=0), f, axis=1)[: h * f - 1, : w * f]
            assert np.array_equal(_unpool(mask, f, big.shape), big)


def test_skew_of_tilted_lines():
    # Rows of ink tilted by 2 degrees (the points now come from flat indices).
    mask = np.zeros((300, 500), bool)
    xs = np.arange(20, 480)
    for y in range(40, 280, 40):
        rows = np.rint(y + np.tan(np.radians(2.0)) * xs).astype(int)
        mask[rows, xs] = mask[rows + 1, xs] = True
    assert estimate_skew(mask) == pytest.approx(2.0, abs=0.1)
    assert estimate_skew(mask[:, ::-1]) == pytest.approx(-2.0, abs=0.1)


@pytest.mark.parametrize("sigma", [0.5, 0.8, 1.3])
def test_compiled_blur_gives_scipys_values_bit_for_bit(monkeypatch, sigma):
    monkeypatch.setattr(blur, "COMPILED_PIXELS", 1)  # every image through the kernels
    rng = np.random.default_rng(int(sigma * 10))
    shapes = [(1, 1), (1, 9), (9, 1), (2, 3), (5, 70), (64, 48), (131, 97)]
    for shape in shapes:
        image = rng.random(shape).astype(np.float32)
        image[rng.random(shape) < 0.1] = 1.0  # flat runs and sharp edges, as on paper
        expected = ndimage.gaussian_filter(image, sigma, mode="nearest")
        got = blur.gaussian_blur(image, sigma)
        assert got.dtype == np.float32
        assert np.array_equal(got, expected), shape


def test_small_or_non_float32_images_are_blurred_by_scipy():
    image = np.random.default_rng(0).random((30, 40))  # float64: not for the kernels
    expected = ndimage.gaussian_filter(image, 0.8, mode="nearest")
    assert np.array_equal(blur.gaussian_blur(image, 0.8), expected)


def test_large_image_working_copy_is_made_on_first_use():
    rng = np.random.default_rng(1)
    page = (rng.random((900, 700)) * 255).astype(np.uint8)  # over WORK_PIXELS
    loaded = load_image(page)
    assert loaded.full is not None and loaded._gray is None  # not reduced yet
    expected = np.asarray(reduce(Image.fromarray(page, "L")), np.float32) / 255.0
    assert np.array_equal(loaded.gray, expected)
    assert loaded.scale == pytest.approx(700 / expected.shape[1])
    assert loaded.gray is loaded.gray  # reduced once


def test_to_float_is_bytes_over_255():
    img = Image.fromarray(np.arange(256, dtype=np.uint8).reshape(16, 16), "L")
    got = to_float(img)
    assert got.dtype == np.float32
    assert np.array_equal(got, np.asarray(img, np.float32) / 255.0)


@pytest.mark.parametrize(
    ("small_shape", "f", "cut"),
    [((32, 25), 40, (31, 39)), ((26, 40), 48, (5, 0)), ((3, 3), 7, (0, 0))],
)
def test_compiled_upsample_gives_pillows_bilinear_values(monkeypatch, small_shape, f, cut):
    monkeypatch.setattr(blur, "COMPILED_PIXELS", 1)  # through the compiled second pass
    small = np.random.default_rng(f).random(small_shape).astype(np.float32)
    h, w = small_shape[0] * f - cut[0], small_shape[1] * f - cut[1]
    full = Image.fromarray(small, "F").resize(
        (small_shape[1] * f, small_shape[0] * f), Image.Resampling.BILINEAR
    )
    got = blur.upsample_bilinear(small, f, (h, w))
    assert got.dtype == np.float32 and got.flags.c_contiguous
    assert np.array_equal(got, np.asarray(full)[:h, :w])
