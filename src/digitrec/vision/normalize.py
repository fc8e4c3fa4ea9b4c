"""From a grey page to an ink map, and from one digit's ink to an MNIST image.

Two steps, each named after what it undoes:

* :func:`ink_map` undoes the camera and the paper: it detects the polarity
  (dark ink on light paper, or the reverse), divides out uneven lighting with a
  background estimate, and binarises with a threshold that adapts to the ink's
  contrast. Its output is ``ink`` (0 = paper, 1 = full ink) and ``mask``.
* :func:`to_mnist` applies MNIST's own normalisation to one digit: crop to the
  binarised ink, fit into 20 x 20 keeping the aspect ratio (anti-aliased), then
  place it in 28 x 28 with its centre of mass at the centre; white on black.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from PIL import Image
from scipy import ndimage
from skimage.filters import threshold_otsu

from digitrec.vision.blur import gaussian_blur, upsample_bilinear
from digitrec.vision.quantile import median, percentiles
from digitrec.vision.segment import bounds

__all__ = ["InkMap", "grow", "ink_map", "paper_background", "to_mnist"]

#: Ink must be at least this much darker than the paper (relative) to count.
MIN_CONTRAST = 0.12
#: MNIST digits are fitted into a box of this size ...
BOX = 20
#: ... and placed in an image of this size.
SIZE = 28
#: Thinnest stroke (pixels at 20 x 20 scale) before it is thickened; MNIST's are ~2-3.
MIN_STROKE = 1.6


@dataclass
class InkMap:
    """The ink of a page.

    Attributes
    ----------
    ink : numpy.ndarray
        float32 (h, w): 0 = paper, 1 = the darkest ink (relative to local paper).
    mask : numpy.ndarray
        bool (h, w): binarised ink.
    dark_ink : bool
        True when the ink was darker than the paper (the usual case).
    reason : str or None
        Why there is no ink, when ``mask`` is empty.
    """

    ink: np.ndarray
    mask: np.ndarray
    dark_ink: bool
    reason: str | None = None
    _parts: tuple | None = field(default=None, init=False, repr=False, compare=False)
    #: The paper's brightness under the ink (:func:`paper_background`, at least 0.02), for
    #: the page layout's search for faint rules; None when not computed.
    paper: np.ndarray | None = field(default=None, init=False, repr=False, compare=False)

    def parts(self) -> tuple[np.ndarray, int, list, np.ndarray]:
        """The 8-connected components of ``mask``, computed once.

        The page layout and the segmentation of a one-line page both need
        them; the first to ask pays.

        Returns
        -------
        labels : numpy.ndarray
            int32 (h, w) label image, 0 = no ink (:func:`scipy.ndimage.label`).
        n : int
            Number of components.
        boxes : list of tuple of slice
            :func:`scipy.ndimage.find_objects` of ``labels``.
        areas : numpy.ndarray
            Pixels of each component (component ``i`` at ``i - 1``).
        """
        if self._parts is None:
            labels, n = ndimage.label(self.mask, structure=np.ones((3, 3), bool))
            # Counted over the ink only (labels are 0 elsewhere): a third of the work.
            areas = np.bincount(labels[self.mask], minlength=n + 1)[1:]
            self._parts = (labels, n, ndimage.find_objects(labels), areas)
        return self._parts


def _sample(gray: np.ndarray, target: int = 10_000) -> np.ndarray:
    """A regular subsample: percentiles of 10k pixels are as good as of all."""
    step = max(1, int((gray.size / target) ** 0.5))
    return gray[::step, ::step]


def _block_max(a: np.ndarray, f: int) -> np.ndarray:
    """Maxima of ``f`` x ``f`` blocks, the last row and column of blocks possibly partial.

    The same values as the maxima of ``a`` padded with its edge rows and
    columns to a multiple of ``f`` (a repeated edge pixel changes no block's
    maximum), from ``2 (f - 1)`` strided ``np.maximum`` calls: reducing over
    two non-adjacent axes of a reshaped array, and ``np.pad``, cost numpy
    about ten times as much on a page.
    """
    rows = a[::f].copy()  # every block's first row: ceil(h / f) rows
    for i in range(1, f):
        part = a[i::f]
        np.maximum(rows[: len(part)], part, out=rows[: len(part)])
    out = rows[:, ::f].copy()
    for j in range(1, f):
        part = rows[:, j::f]
        np.maximum(out[:, : part.shape[1]], part, out=out[:, : part.shape[1]])
    return out


def paper_background(paper_bright: np.ndarray) -> np.ndarray:
    """Smooth estimate of the paper's brightness under the ink.

    Block maxima at low resolution keep the paper and drop thin dark strokes; a
    grey closing then removes what is left of the digits, and a blur smooths the
    result. Working at ~24-48 px on the short side keeps this well under a
    millisecond for any image size.

    Parameters
    ----------
    paper_bright : numpy.ndarray
        float32 (h, w) image in which the paper is bright (dark ink on it).

    Returns
    -------
    numpy.ndarray
        float32 (h, w) brightness of the paper alone.
    """
    h, w = paper_bright.shape
    f = max(1, min(h, w) // 24)
    small = _block_max(paper_bright, f) if f > 1 else paper_bright
    # Wider than the boldest stroke (~15% of a digit filling the height), so the
    # closing removes whole strokes; lighting varies more slowly than that.
    k = max(5, int(0.3 * min(small.shape)) | 1)
    # grey_closing with a k x k square, axis by axis (max and min filters of a
    # square are separable; the same values, at a third of the cost).
    for filt in (ndimage.maximum_filter1d, ndimage.minimum_filter1d):
        small = filt(filt(small, k, axis=0, mode="nearest"), k, axis=1, mode="nearest")
    small = ndimage.gaussian_filter(small, 1.5, mode="nearest")
    if f == 1:
        return small[:h, :w]
    # Pillow's bilinear enlargement by f, cut to the image.
    return upsample_bilinear(small, f, (h, w))


def ink_map(gray: np.ndarray) -> InkMap:
    """Polarity, illumination and binarisation of a grey image.

    Parameters
    ----------
    gray : numpy.ndarray
        float32 (h, w) in [0, 1], 0 = black.

    Returns
    -------
    InkMap
        The relative ink darkness, its binary mask, the detected polarity, and
        a ``reason`` when no ink was found.
    """
    h, w = gray.shape
    if h < 3 or w < 3:
        empty = np.zeros((h, w), bool)
        return InkMap(empty.astype(np.float32), empty, True, f"image too small ({w}x{h} pixels)")
    lo, med, hi = percentiles(_sample(gray), [1, 50, 99])
    # Ink is the minority, so the median is paper and the ink is the long tail.
    # Light ink only when the bright tail is clearly the longer one: pure noise
    # (no tail either way) keeps the usual dark-ink reading.
    dark_ink = not (hi - med > 2.0 * (med - lo))
    paper_bright = gray if dark_ink else 1.0 - gray
    paper = np.maximum(paper_background(paper_bright), 0.02)
    # Lighting multiplies paper and ink alike: the ratio to the local paper cancels it.
    ratio = paper_bright / paper
    # bg follows the paper's brightest pixels; the median (paper) is the true zero.
    ratio /= max(float(median(_sample(ratio))), 0.05)
    # In place (a page is a million pixels): the values of np.clip(1.0 - ratio, 0.0, 1.0).
    np.subtract(1.0, ratio, out=ratio)
    ink = np.clip(ratio, 0.0, 1.0, out=ratio).astype(np.float32, copy=False)
    # Pixel-noise suppression only: digits may be small on a large page.
    sigma = 0.8
    smooth = gaussian_blur(ink, sigma)
    peak = float(smooth.max())
    # Pixel noise that survives smoothing sets the floor for what counts as ink.
    sample = _sample(smooth)
    noise = float(median(np.abs(sample - median(sample)))) * 1.4826
    floor = max(MIN_CONTRAST, 8.0 * noise)
    if peak < floor:
        empty = np.zeros((h, w), bool)
        return InkMap(ink * 0, empty, dark_ink, "no ink found")
    cand = smooth[smooth > 0.5 * floor]
    try:
        t = float(threshold_otsu(cand)) if cand.size > 8 else 0.5 * peak
    except ValueError:
        t = 0.5 * peak
    t = min(max(t, 0.25 * peak, floor), 0.5 * peak)  # np.clip's order: the upper bound wins
    mask = smooth > t
    # Stretch so that the stroke core is 1 and the paper 0, like MNIST.
    core = float(percentiles(smooth[mask], 90)) if mask.any() else peak
    lo_cut = 0.35 * t
    ink = smooth - lo_cut  # float32, stretched in place
    ink /= max(core - lo_cut, 1e-3)
    np.clip(ink, 0.0, 1.0, out=ink)
    out = InkMap(ink, mask, dark_ink, None if mask.any() else "no ink found")
    out.paper = paper
    return out


def grow(m: np.ndarray) -> np.ndarray:
    """A bool mask grown by one pixel up, down, left and right.

    ``ndimage.binary_dilation(m)`` (4-neighbour cross, once), by shifted ORs:
    the same pixels, without scipy's per-call overhead (it runs for every
    digit, and for every line of a page).

    Parameters
    ----------
    m : numpy.ndarray
        bool (h, w) mask.

    Returns
    -------
    numpy.ndarray
        bool (h, w), a new array.
    """
    out = m.copy()
    out[1:] |= m[:-1]
    out[:-1] |= m[1:]
    out[:, 1:] |= m[:, :-1]
    out[:, :-1] |= m[:, 1:]
    return out


def _shrink(m: np.ndarray) -> np.ndarray:
    """``ndimage.binary_erosion(m)`` (4-neighbour cross, once, outside = False) by
    shifted ANDs."""
    out = m.copy()
    out[1:] &= m[:-1]
    out[:-1] &= m[1:]
    out[:, 1:] &= m[:, :-1]
    out[:, :-1] &= m[:, 1:]
    out[0], out[-1], out[:, 0], out[:, -1] = False, False, False, False
    return out


def _stroke_width(mask: np.ndarray) -> float:
    """Mean stroke width in pixels: area over half the boundary length."""
    area = int(mask.sum())
    edge = int((mask & ~_shrink(mask)).sum())
    return 2.0 * area / max(edge, 1)


def to_mnist(ink: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """MNIST's normalisation of one digit.

    Parameters
    ----------
    ink : numpy.ndarray
        float (h, w) in [0, 1], 1 = ink, around one digit; pixels outside
        ``mask``'s neighbourhood are ignored.
    mask : numpy.ndarray
        bool (h, w), the digit's binarised ink (any non-empty set).

    Returns
    -------
    numpy.ndarray
        uint8 (28, 28), white ink on black, the ink's bounding box fitted in
        20 x 20 (aspect ratio kept, anti-aliased), centre of mass at (14, 14).
    """
    out = np.zeros((SIZE, SIZE), np.uint8)
    if not mask.any():
        return out
    y0, y1, x0, x1 = bounds(mask)
    m = mask[y0:y1, x0:x1]
    # Keep the soft edges next to the digit's own ink, nothing of its neighbours.
    near = grow(m)
    a = np.where(near, ink[y0:y1, x0:x1], 0.0).astype(np.float32)
    h, w = m.shape
    scale = BOX / max(h, w)
    width = _stroke_width(m) * scale
    if width < MIN_STROKE:
        # A fine pen on a large digit: thicken to MNIST's stroke width. Work at
        # three times the target size so the dilation stays small (bounded time).
        if max(h, w) > 3 * BOX:
            f = 3 * BOX / max(h, w)
            size = (max(1, round(w * f)), max(1, round(h * f)))
            a = np.asarray(Image.fromarray(a, "F").resize(size, Image.Resampling.BOX))
            # Thin strokes come out faint from averaging: restore full ink.
            a = np.clip(a / max(float(a.max()), 1e-3) * 1.5, 0.0, 1.0).astype(np.float32)
            h, w = a.shape
            scale = BOX / max(h, w)
        r = min(3, int(np.ceil((MIN_STROKE - width) / (2 * scale))))
        a = ndimage.grey_dilation(a, footprint=_disk(r))
    nh, nw = max(1, round(h * scale)), max(1, round(w * scale))
    small = Image.fromarray(a, "F").resize(
        (nw, nh), Image.Resampling.BOX if scale < 1 else Image.Resampling.BILINEAR
    )
    # np.clip's values; its Python-level checks cost more than the two ufuncs on 20 x 20.
    d = np.minimum(np.maximum(np.asarray(small), 0.0), 1.0)
    total = float(d.sum())
    if total <= 0:
        return out
    cy, cx = _centre_of_mass(d)
    top = min(max(round(SIZE / 2 - cy), 0), SIZE - nh)
    left = min(max(round(SIZE / 2 - cx), 0), SIZE - nw)
    out[top : top + nh, left : left + nw] = (d * 255.0 + 0.5).astype(np.uint8)
    return out


def _centre_of_mass(d: np.ndarray) -> tuple[float, float]:
    """``scipy.ndimage.center_of_mass(d)`` of a 2-d array: the same sums, in the same
    order (so the same values), without its per-label bookkeeping."""
    total = d.sum()
    # The coordinates np.ogrid gives, as floats, without its index-trick machinery.
    gy = np.arange(d.shape[0], dtype=float)[:, None]
    gx = np.arange(d.shape[1], dtype=float)[None, :]
    return (d * gy).sum() / total, (d * gx).sum() / total


def _disk(r: int) -> np.ndarray:
    y, x = np.ogrid[-r : r + 1, -r : r + 1]
    return x * x + y * y <= r * r
