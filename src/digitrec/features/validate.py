"""The one check every feature function runs on its images."""

from __future__ import annotations

import numpy as np

from digitrec.errors import InputError

__all__ = ["check_images"]


def check_images(images, *, nonempty: bool = False) -> np.ndarray:
    """Check that ``images`` is a stack (n, height, width) of finite real numbers.

    Parameters
    ----------
    images : array-like
        The images to check.
    nonempty : bool
        Also require at least one image.

    Returns
    -------
    numpy.ndarray
        ``images`` as an array (not copied when it already is one).

    Raises
    ------
    InputError
        For another number of axes, no images (with ``nonempty``), a non-numeric
        or complex dtype, or NaN / infinity.
    """
    images = np.asarray(images)
    if images.ndim != 3 or (nonempty and images.shape[0] == 0):
        what = "a non-empty array" if nonempty else "an array"
        raise InputError(
            f"images: expected {what} of shape (n, height, width), found shape "
            f"{images.shape}; add a leading axis for a single image (images[None])"
        )
    dtype = images.dtype
    if not np.issubdtype(dtype, np.number) or np.issubdtype(dtype, np.complexfloating):
        raise InputError(f"images: expected real numbers, found dtype {images.dtype}")
    # Integers are always finite: only floats need the (full-pass) check.
    if np.issubdtype(dtype, np.floating) and not np.isfinite(images).all():
        raise InputError("images: found NaN or infinity; expected finite pixel values")
    return images
