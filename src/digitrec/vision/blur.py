"""Gaussian blur of a page-sized image: scipy's values, bit for bit, about four times faster.

:func:`scipy.ndimage.gaussian_filter` (mode ``nearest``) filters along
axis 0, then along axis 1, each pass summed in float64 and rounded to the
input's float32. For a symmetric kernel each output pixel is
``x[i] * w[0] + (x[i - r] + x[i + r]) * w[r] + ... + (x[i - 1] + x[i + 1]) * w[1]``,
summed in that order (the outermost pair first). The kernels here do the
very same arithmetic, in the same order, but vectorised across the image
(scipy copies one line at a time into a buffer, which costs it most on the
first axis). Compiled with numba, without fast-math (no reassociation, no
fused multiply-add), so every sum is rounded as scipy rounds it.

A small image (a line, a digit) goes to scipy: there the blur costs little,
and numba is neither imported nor compiled for it.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

__all__ = ["COMPILED_PIXELS", "gaussian_blur"]

#: Images with at least this many pixels are blurred by the compiled kernels.
COMPILED_PIXELS = 250_000


def _weights(sigma: float, truncate: float = 4.0) -> np.ndarray:
    """scipy's Gaussian kernel for ``sigma`` (radius ``int(truncate * sigma + 0.5)``)."""
    radius = int(truncate * sigma + 0.5)
    x = np.arange(-radius, radius + 1)
    phi = np.exp(-0.5 / (sigma * sigma) * x**2)
    return phi / phi.sum()


def gaussian_blur(image: np.ndarray, sigma: float) -> np.ndarray:
    """``ndimage.gaussian_filter(image, sigma, mode="nearest")``, the same values.

    Parameters
    ----------
    image : numpy.ndarray
        2-d image; float32 ones of :data:`COMPILED_PIXELS` or more go
        through the compiled kernels.
    sigma : float
        Standard deviation of the Gaussian, in pixels, on both axes.

    Returns
    -------
    numpy.ndarray
        The blurred image, of ``image``'s dtype.
    """
    if image.dtype != np.float32 or image.ndim != 2 or image.size < COMPILED_PIXELS:
        return ndimage.gaussian_filter(image, sigma, mode="nearest")
    from digitrec.vision import _blur_kernels as k  # numba: imported for large images only

    w = _weights(sigma)
    image = np.ascontiguousarray(image)
    across = np.empty_like(image)
    k.blur_columns(image, w, across)
    out = np.empty_like(image)
    k.blur_rows(across, w, out)
    return out
