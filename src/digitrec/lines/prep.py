"""From a line image to the network's input: ink, deskew, crop, fixed height.

Training and inference both go through :func:`prepare`, so the model sees the
same normalisation on generated lines and on real ones. The steps:

1. :func:`digitrec.vision.normalize.ink_map`: polarity, lighting, 0 = paper, 1 = ink;
2. the tilt of the writing, from the ink centroids of slices about one line
   height wide, is undone (up to 8 degrees; the issue promises 5);
3. the rows and columns that hold all but a sliver of the ink mass are cropped,
   with a margin (stray specks and page edges fall outside); left and right,
   the grey ink counts too, so that a digit written lighter than the rest
   stays in the crop;
4. the crop is resized to :data:`~digitrec.lines.spec.HEIGHT` pixels high.

:class:`Prepared` keeps the geometry, so boxes found on the network's input map
back to the input image's pixels.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image

from digitrec.lines.spec import HEIGHT
from digitrec.vision.normalize import InkMap, ink_map

__all__ = ["MAX_WIDTH", "Prepared", "prepare"]

#: Widest network input (pixels at height 32): about 60 digits.
MAX_WIDTH = 2048
#: Largest tilt undone, in degrees.
MAX_TILT = 8.0


@dataclass
class Prepared:
    """A line ready for the network, and how its columns map back to the image.

    Attributes
    ----------
    x : numpy.ndarray
        float32 (HEIGHT, width), 0 = paper, 1 = ink.
    ink : numpy.ndarray
        float32 ink of the deskewed working image (before cropping).
    angle : float
        Tilt undone, in radians (positive: the writing rose to the right... in
        image coordinates, where y grows downwards, it fell).
    crop : tuple of int
        ``(top, left, height, width)`` of the crop in the deskewed image.
    centre : tuple of float
        Rotation centres ``(out_row, out_col, in_row, in_col)``.
    """

    x: np.ndarray
    ink: np.ndarray
    angle: float
    crop: tuple[int, int, int, int]
    centre: tuple[float, float, float, float]

    @property
    def scale(self) -> float:
        """Network-input pixels per deskewed working pixel."""
        return HEIGHT / self.crop[2]

    def to_working(self, rows: np.ndarray, cols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Map deskewed-image (row, col) points back to the working image before deskew."""
        c, s = math.cos(self.angle), math.sin(self.angle)
        orow, ocol, irow, icol = self.centre
        r, k = np.asarray(rows, float) - orow, np.asarray(cols, float) - ocol
        return s * k + c * r + irow, c * k - s * r + icol


def _tilt(ink: np.ndarray) -> float:
    """Slope angle (radians) of the writing, from ink centroids of vertical slices."""
    h = ink.shape[0]
    rows_mass = ink.sum(axis=1)
    if rows_mass.sum() <= 0:
        return 0.0
    cols = np.nonzero(ink.sum(axis=0) > 0)[0]
    left, right = cols[0], cols[-1] + 1
    # line height estimate: rows holding the central 90% of the ink mass
    cum = np.cumsum(rows_mass) / rows_mass.sum()
    lh = max(4, int(np.searchsorted(cum, 0.95) - np.searchsorted(cum, 0.05)))
    if right - left < 3 * lh:
        return 0.0  # too short to tell a tilt from the shape of the glyphs
    yy = np.arange(h, dtype=np.float64)
    xs, ys, ws = [], [], []
    for x0 in range(left, right, lh):
        m = ink[:, x0 : x0 + lh].sum(axis=1)
        tot = m.sum()
        if tot > 0.5 * lh:
            xs.append(x0 + lh / 2)
            ys.append(float((m * yy).sum() / tot))
            ws.append(tot)
    if len(xs) < 3:
        return 0.0
    slope = np.polyfit(np.array(xs), np.array(ys), 1, w=np.sqrt(ws))[0]
    return float(np.clip(math.atan(slope), -math.radians(MAX_TILT), math.radians(MAX_TILT)))


def _deskew(ink: np.ndarray, angle: float) -> tuple[np.ndarray, tuple[float, float, float, float]]:
    h, w = ink.shape
    if abs(angle) < math.radians(0.5):
        return ink, (h / 2, w / 2, h / 2, w / 2)
    c, s = math.cos(angle), math.sin(angle)
    oh = math.ceil(h * c + w * abs(s)) + 2
    orow, ocol, irow, icol = oh / 2, w / 2, h / 2, w / 2
    # output (x, y) -> input (x, y): the inverse of the map in Prepared.to_working
    coeffs = (c, -s, icol - c * ocol + s * orow, s, c, irow - s * ocol - c * orow)
    out = Image.fromarray(ink.astype(np.float32), "F").transform(
        (w, oh), Image.Transform.AFFINE, coeffs, resample=Image.Resampling.BILINEAR
    )
    return np.asarray(out), (orow, ocol, irow, icol)


def _span(mass: np.ndarray, lo: float, hi: float) -> tuple[int, int]:
    cum = np.cumsum(mass) / mass.sum()
    return int(np.searchsorted(cum, lo)), int(np.searchsorted(cum, hi)) + 1


def prepare(gray: np.ndarray, ink: InkMap | None = None) -> Prepared | str:
    """Normalise a grey line image for the network.

    Parameters
    ----------
    gray : numpy.ndarray
        float32 (h, w) in [0, 1], 0 = black; either polarity.
    ink : InkMap, optional
        ``ink_map(gray)`` when the caller has it already (the ``combined``
        reader shares it with the segment reader); computed here otherwise.

    Returns
    -------
    Prepared or str
        The network input and its geometry, or the reason there is nothing to
        read (``"no ink found"``...).
    """
    im = ink_map(gray) if ink is None else ink
    if im.reason:
        return im.reason
    # The tilt and the crop follow the binarised ink; the network sees the grey ink,
    # faint strokes included.
    mask = im.mask.astype(np.float32)
    angle = _tilt(mask)
    ink, centre = _deskew(im.ink, angle)
    mask, _ = _deskew(mask, angle)
    if mask.sum() <= 0:
        return "no ink found"
    top, bottom = _span(mask.sum(axis=1), 0.004, 0.996)
    left, right = _span(mask.sum(axis=0), 0.002, 0.998)
    # A digit written with less pressure than its neighbours can fall below the
    # binarisation threshold: the mask alone would crop it off the line's end
    # (the commonest confident error on validation lines, "61146" read "1146").
    # Its grey ink still shows, so the sides also reach the grey ink's extent.
    # Only the sides: the height sets the scale, which faint specks must not change.
    grey_left, grey_right = _span(ink.sum(axis=0), 0.001, 0.999)
    left, right = min(left, grey_left), max(right, grey_right)
    lh = max(bottom - top, 4)
    top, bottom = max(0, top - round(0.12 * lh)), min(ink.shape[0], bottom + round(0.12 * lh))
    left = max(0, left - round(0.25 * lh))
    right = min(ink.shape[1], right + round(0.25 * lh))
    crop = ink[top:bottom, left:right]
    h, w = crop.shape
    width = int(np.clip(round(w * HEIGHT / h), 8, MAX_WIDTH))
    x = np.asarray(
        Image.fromarray(crop, "F").resize(
            (width, HEIGHT), Image.Resampling.BILINEAR, reducing_gap=2
        )
    )
    return Prepared(np.clip(x, 0, 1).astype(np.float32), ink, angle, (top, left, h, w), centre)
