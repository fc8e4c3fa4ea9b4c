"""The reader's fast paths give exactly what the scipy / numpy calls they replace give.

Profiling the service (docs/service.md, "Where a read's time goes") replaced
a few library calls made for every digit with cheaper equivalents; readings
must not change, so each is checked against the call it replaces.
"""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image
from scipy import ndimage

from digitrec.vision.io import load_image
from digitrec.vision.normalize import _centre_of_mass, _shrink, grow
from digitrec.vision.segment import _of


def masks(n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    for _ in range(n):
        h, w = (int(v) for v in rng.integers(1, 40, 2))
        yield rng.random((h, w)) < rng.uniform(0.0, 1.0)


def test_grow_and_shrink_are_scipys_binary_dilation_and_erosion() -> None:
    for m in masks(2000):
        np.testing.assert_array_equal(grow(m), ndimage.binary_dilation(m, iterations=1))
        np.testing.assert_array_equal(_shrink(m), ndimage.binary_erosion(m))


def test_centre_of_mass_is_scipys_to_the_last_bit() -> None:
    rng = np.random.default_rng(1)
    for _ in range(500):
        h, w = (int(v) for v in rng.integers(1, 21, 2))
        d = (rng.random((h, w)) * (rng.random((h, w)) < 0.5)).astype(np.float32)
        d[0, 0] += 0.1  # never all zero (to_mnist returns before)
        assert _centre_of_mass(d) == ndimage.center_of_mass(d)


def test_label_membership_is_isin() -> None:
    rng = np.random.default_rng(2)
    labels = rng.integers(0, 6, (30, 40))
    for ids in ([1], [3], [1, 4], [2, 5, 0]):
        np.testing.assert_array_equal(_of(labels, ids), np.isin(labels, ids))


@pytest.mark.parametrize("orientation", [None, 1, 3, 6])
def test_exif_orientation_applied_only_when_there_is_one(orientation) -> None:
    pixels = np.zeros((20, 30), np.uint8)
    pixels[2:5, 3:20] = 255  # a bar near the top-left
    image = Image.fromarray(pixels, "L")
    exif = Image.Exif()
    if orientation is not None:
        exif[0x0112] = orientation
    buf = io.BytesIO()
    image.save(buf, format="JPEG", exif=exif.tobytes(), quality=95)
    loaded = load_image(buf.getvalue())
    swapped = orientation in (5, 6, 7, 8)
    assert loaded.size == ((20, 30) if swapped else (30, 20))
    expected = {None: image, 1: image, 3: image.rotate(180), 6: image.rotate(-90, expand=True)}
    want = np.asarray(expected[orientation], np.float32) / 255.0
    assert np.abs(loaded.gray - want).mean() < 0.05  # JPEG: close, not exact


def test_line_band_statistics_are_numpys() -> None:
    from digitrec.pages.layout import _median, _upper_quartile

    rng = np.random.default_rng(3)
    for k in range(3000):
        n = int(rng.integers(1, 30))
        v = rng.normal(0, 100, n) if k % 2 else rng.integers(1, 200, n).astype(float)
        values = [float(x) for x in v]
        assert _median(values) == float(np.median(v))
        assert _upper_quartile(values) == float(np.percentile(v, 75))


def _samples(n: int, seed: int):
    """Arrays as ink_map sees them (grey levels with many ties) and others, odd and even sizes."""
    rng = np.random.default_rng(seed)
    for k in range(n):
        size = int(rng.integers(1, 400))
        kind = k % 5
        if kind == 0:
            yield (rng.integers(0, 256, size) / 255.0).astype(np.float32)  # a grey image
        elif kind == 1:
            yield rng.random(size).astype(np.float32)
        elif kind == 2:
            yield rng.integers(0, 4, (size, 3)).astype(np.float32)  # 2-d, heavy ties
        elif kind == 3:
            yield rng.normal(size=size)
        else:
            yield rng.integers(0, 1000, size)


@pytest.mark.parametrize("q", [[1, 50, 99], [0, 37.5, 100], 90, 90.0, 0, 100, 12.3])
def test_percentiles_are_numpys_to_the_last_bit(q) -> None:
    from digitrec.vision.quantile import percentiles

    for values in _samples(1500, seed=4):
        want, got = np.percentile(values, q), percentiles(values, q)
        assert type(got) is type(want) and np.asarray(got).dtype == np.asarray(want).dtype
        np.testing.assert_array_equal(got, want)


def test_median_is_numpys_to_the_last_bit() -> None:
    from digitrec.vision.quantile import median

    for values in _samples(3000, seed=5):
        want, got = np.median(values), median(values)
        assert type(got) is type(want) and got == want


def test_background_is_the_padded_block_max_and_grey_closing() -> None:
    from digitrec.vision import normalize

    def reference(a: np.ndarray) -> np.ndarray:  # ink_map's background before the fast path
        h, w = a.shape
        f = max(1, min(h, w) // 24)
        g = np.pad(a, ((0, -h % f), (0, -w % f)), mode="edge")
        small = g.reshape(g.shape[0] // f, f, g.shape[1] // f, f).max(axis=(1, 3))
        k = max(5, int(0.3 * min(small.shape)) | 1)
        small = ndimage.grey_closing(small, size=(k, k), mode="nearest")
        small = ndimage.gaussian_filter(small, 1.5, mode="nearest")
        if f == 1:
            return small
        up = Image.fromarray(small.astype(np.float32), "F").resize(
            (small.shape[1] * f, small.shape[0] * f), Image.Resampling.BILINEAR
        )
        return np.asarray(up)[:h, :w]

    rng = np.random.default_rng(6)
    for k in range(300):
        h, w = (int(v) for v in rng.integers(3, 300, 2))
        a = rng.random((h, w)).astype(np.float32)
        if k % 3 == 0:
            a = np.round(a * 4).astype(np.float32) / 4  # flat areas: ties everywhere
        if k % 4 == 0:
            a = a[:, ::-1]  # not contiguous
        np.testing.assert_array_equal(normalize.paper_background(a), reference(a))


def test_skew_profile_scores_are_the_plain_expressions() -> None:
    from digitrec.pages.layout import _profile_scores

    rng = np.random.default_rng(7)
    for _ in range(200):
        n = int(rng.integers(1, 3000))
        ys = rng.integers(0, 200, n).astype(np.float64)
        xs = rng.integers(0, 800, n).astype(np.float64)
        slopes = list(np.tan(np.radians(rng.uniform(-6, 6, 7))))
        want = []
        for slope in slopes:
            sheared = ys - slope * xs
            hist = np.bincount(((sheared - sheared.min()) / 2).astype(np.int64))
            want.append(float(np.dot(hist, hist)))
        assert _profile_scores(ys, xs, slopes) == want


def test_bounds_is_the_box_of_nonzero() -> None:
    from digitrec.vision.segment import bounds

    for m in masks(2000, seed=8):
        if not m.any():
            continue
        ys, xs = np.nonzero(m)
        assert bounds(m) == (ys.min(), ys.max() + 1, xs.min(), xs.max() + 1)
