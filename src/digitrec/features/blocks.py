"""Block sums: the study's 10x10 downscaling in exact integers."""

from __future__ import annotations

import numpy as np

from digitrec.features.validate import check_images

__all__ = ["block_sums"]


def block_sums(images, factor: int = 3) -> np.ndarray:
    """Integer sums over ``factor`` x ``factor`` blocks (zero-padded), flattened.

    Divided by ``factor**2`` they equal :func:`digitrec.features.downscale`
    bit for bit, and for uint8 images they fit in uint16 (up to factor 16), so
    the KNN stores and searches them exactly.

    Parameters
    ----------
    images : array-like, shape (n, height, width)
        uint8 images (other integer types are cast to uint16).
    factor : int
        Block size.

    Returns
    -------
    numpy.ndarray
        uint16, shape (n, ceil(height / factor) * ceil(width / factor)).

    Examples
    --------
    >>> import numpy as np
    >>> block_sums(np.ones((1, 28, 28), np.uint8)).reshape(10, 10)[0, :3].tolist()
    [9, 9, 9]
    """
    images = check_images(images)
    n, h, w = images.shape
    ph, pw = -h % factor, -w % factor
    padded = np.pad(images.astype(np.uint16), ((0, 0), (0, ph), (0, pw)))
    hb, wb = padded.shape[1] // factor, padded.shape[2] // factor
    sums = padded.reshape(n, hb, factor, wb, factor).sum(axis=(2, 4), dtype=np.uint16)
    return sums.reshape(n, -1)
