"""Image preparation: local-mean downscaling and flattening."""

from __future__ import annotations

import numpy as np

from digitrec.errors import InputError
from digitrec.features.validate import check_images

__all__ = ["downscale", "flatten", "prepare"]


def downscale(images: np.ndarray, factor: int = 3) -> np.ndarray:
    """Shrink each image by averaging ``factor`` x ``factor`` blocks.

    The study's choice, ``factor=3``, turns 28x28 into 10x10: the image is
    zero-padded to 30x30 first, as :func:`skimage.transform.downscale_local_mean`
    does, so the last row and column average partly over padding.

    Parameters
    ----------
    images : numpy.ndarray
        Shape (n, height, width), any numeric type.
    factor : int
        Block size; 1 returns the images unchanged (as float64).

    Returns
    -------
    numpy.ndarray
        float64, shape (n, ceil(height / factor), ceil(width / factor)).

    Examples
    --------
    >>> import numpy as np
    >>> downscale(np.full((1, 28, 28), 9, dtype=np.uint8)).shape
    (1, 10, 10)
    """
    images = check_images(images)
    if not isinstance(factor, int | np.integer) or factor < 1:
        raise InputError(f"factor: expected a positive integer, found {factor!r}")
    if factor == 1:
        return images.astype(np.float64)
    from skimage.transform import downscale_local_mean

    # One call over the stack: the (1, f, f) block never mixes images.
    return downscale_local_mean(images, (1, factor, factor))


def flatten(images: np.ndarray) -> np.ndarray:
    """Reshape (n, h, w) images to (n, h * w) feature rows, without copying."""
    images = check_images(images)
    return images.reshape(len(images), -1)


def prepare(images: np.ndarray, factor: int | None = None) -> np.ndarray:
    """Downscale by ``factor`` (``None`` or 1: raw pixels) and flatten to feature rows."""
    images = check_images(images)
    if factor is None or factor == 1:
        return flatten(images)
    return flatten(downscale(images, factor))
