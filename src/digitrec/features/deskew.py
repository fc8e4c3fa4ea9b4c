"""Moment-based deskewing, the classic MNIST preprocessing.

Each digit is sheared horizontally so that its principal axis becomes
vertical, and shifted so that its centre of mass lands on the image centre:
the shear is ``alpha = cov(row, col) / var(row)`` from the image's second
moments (LeCun et al. 1998 report "deskewed" results this way).
"""

from __future__ import annotations

import numpy as np

from digitrec.features.validate import check_images

__all__ = ["deskew", "skew_moments"]


def skew_moments(images) -> tuple[np.ndarray, np.ndarray]:
    """Centre of mass and shear of each image.

    Parameters
    ----------
    images : array-like, shape (n, height, width)
        Non-negative intensities.

    Returns
    -------
    centre : ndarray, shape (n, 2)
        (row, column) of the centre of mass; the image centre for blank images.
    alpha : ndarray, shape (n,)
        ``cov(row, col) / var(row)``; 0 for blank or single-row images.
    """
    images = check_images(images, nonempty=True).astype(np.float64)
    h, w = images.shape[1:]
    rows = np.arange(h, dtype=np.float64)[None, :, None]
    cols = np.arange(w, dtype=np.float64)[None, None, :]
    total = images.sum(axis=(1, 2))
    blank = total <= 0
    safe = np.where(blank, 1.0, total)
    mr = (images * rows).sum(axis=(1, 2)) / safe
    mc = (images * cols).sum(axis=(1, 2)) / safe
    dr = rows - mr[:, None, None]
    dc = cols - mc[:, None, None]
    var_r = (images * dr * dr).sum(axis=(1, 2)) / safe
    cov_rc = (images * dr * dc).sum(axis=(1, 2)) / safe
    flat = blank | (var_r <= 1e-12)
    alpha = np.where(flat, 0.0, cov_rc / np.where(flat, 1.0, var_r))
    centre = np.stack([mr, mc], axis=1)
    centre[blank] = [(h - 1) / 2.0, (w - 1) / 2.0]
    return centre, alpha


def deskew(images) -> np.ndarray:
    """Shear each image upright and centre it on its centre of mass.

    Parameters
    ----------
    images : array-like, shape (n, height, width)
        Non-negative intensities (uint8 MNIST digits, typically).

    Returns
    -------
    numpy.ndarray
        Same shape; uint8 (rounded, clipped) for uint8 input, else float64.
        Bilinear interpolation, zero outside the image.

    Examples
    --------
    A slanted stroke comes out upright:

    >>> import numpy as np
    >>> img = np.zeros((1, 28, 28), np.uint8)
    >>> img[0, np.arange(6, 22), np.arange(6, 22) // 2 + 7] = 255
    >>> bool(skew_moments(img)[1][0] > 0.4), bool(abs(skew_moments(deskew(img))[1][0]) < 0.1)
    (True, True)
    """
    images = check_images(images, nonempty=True)
    centre, alpha = skew_moments(images)
    h, w = images.shape[1:]
    from scipy.ndimage import affine_transform

    middle = np.array([(h - 1) / 2.0, (w - 1) / 2.0])
    src = images.astype(np.float64)
    out = np.empty_like(src)
    for i in range(len(src)):
        # Output pixel o reads input pixel M o + offset: rows unchanged, columns
        # shifted by alpha * row; the output centre reads the centre of mass.
        matrix = np.array([[1.0, 0.0], [alpha[i], 1.0]])
        offset = centre[i] - matrix @ middle
        out[i] = affine_transform(src[i], matrix, offset=offset, order=1, mode="constant")
    if images.dtype == np.uint8:
        return np.clip(np.rint(out), 0, 255).astype(np.uint8)
    return out
