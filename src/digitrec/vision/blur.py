"""Page-sized image operations with scipy's and Pillow's values, bit for bit, several times faster.

:func:`gaussian_blur`: a Gaussian blur.

:func:`scipy.ndimage.gaussian_filter` (mode ``nearest``) filters along
axis 0, then along axis 1, each pass summed in float64 and rounded to the
input's float32. For a symmetric kernel each output pixel is
``x[i] * w[0] + (x[i - r] + x[i + r]) * w[r] + ... + (x[i - 1] + x[i + 1]) * w[1]``,
summed in that order (the outermost pair first). The kernels here do the
very same arithmetic, in the same order, but vectorised across the image
(scipy copies one line at a time into a buffer, which costs it most on the
first axis). Compiled with numba, without fast-math (no reassociation, no
fused multiply-add), so every sum is rounded as scipy rounds it.

:func:`upsample_bilinear`: Pillow's bilinear enlargement of a small float
image (the paper's brightness, estimated at low resolution) to page size.
Pillow resamples along the rows, then along the columns, into float32
images, summing ``value * weight`` in float64 from 0.0; its weights for
each output row are computed here as Pillow computes them (its bilinear
filter, support 1, normalised to sum 1). Pillow does the first pass; the
compiled kernel does the second, for the page's own rows and columns only
(Pillow fills a multiple of the factor, cut afterwards).

A small image (a line, a digit) goes to scipy or Pillow: there these cost
little, and numba is neither imported nor compiled for it.
"""

from __future__ import annotations

import numpy as np
from PIL import Image
from scipy import ndimage

__all__ = ["COMPILED_PIXELS", "gaussian_blur", "upsample_bilinear"]

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
    from digitrec.vision import _kernels as k  # numba: imported for large images only

    w = _weights(sigma)
    image = np.ascontiguousarray(image)
    across = np.empty_like(image)
    k.blur_columns(image, w, across)
    out = np.empty_like(image)
    k.blur_rows(across, w, out)
    return out


def _bilinear_weights(n_in: int, n_out: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pillow's bilinear resampling weights (its ``precompute_coeffs``) to enlarge ``n_in``.

    Returns, for each output pixel, the first input pixel it reads, how many
    it reads and their weights: the same float64 arithmetic in the same order.
    """
    scale = n_in / n_out  # at most 1: the filter keeps its support of 1 (and its scale 1)
    centre = (np.arange(n_out) + 0.5) * scale
    first = np.maximum((centre - 1.0 + 0.5).astype(np.int64), 0)  # C's (int): toward zero
    taps = np.minimum((centre + 1.0 + 0.5).astype(np.int64), n_in) - first
    weights = np.zeros((n_out, 3))
    total = np.zeros(n_out)
    for t in range(3):
        x = np.abs((first + t) - centre + 0.5)  # the filter is even: |x|, as Pillow takes it
        weights[:, t] = np.where(t < taps, np.where(x < 1.0, 1.0 - x, 0.0), 0.0)
        total += weights[:, t]  # summed in tap order
    weights /= np.where(total != 0.0, total, 1.0)[:, None]
    return first, taps, weights


def upsample_bilinear(small: np.ndarray, f: int, shape: tuple[int, int]) -> np.ndarray:
    """``np.asarray(Image.fromarray(small, "F").resize((w * f, h * f), BILINEAR))[:H, :W]``.

    Parameters
    ----------
    small : numpy.ndarray
        float32 (h, w) image.
    f : int
        Enlargement factor (at least 1), on both axes.
    shape : tuple of int
        ``(H, W)`` of the result, at most ``(h * f, w * f)``.

    Returns
    -------
    numpy.ndarray
        float32 ``shape``: Pillow's values (a view of Pillow's image when small).
    """
    sh, sw = small.shape
    img = Image.fromarray(small.astype(np.float32), "F")
    if shape[0] * shape[1] < COMPILED_PIXELS or f < 2:
        up = img.resize((sw * f, sh * f), Image.Resampling.BILINEAR)
        return np.asarray(up)[: shape[0], : shape[1]]
    from digitrec.vision import _kernels as k  # numba: imported for large images only

    across = np.asarray(img.resize((sw * f, sh), Image.Resampling.BILINEAR))  # Pillow's 1st pass
    first, taps, weights = _bilinear_weights(sh, sh * f)
    out = np.empty(shape, np.float32)
    k.resample_rows(across, first, taps, weights, out)
    return out
