"""``np.percentile`` and ``np.median`` of image pixels, the same numbers, several times faster.

numpy selects order statistics with ``partition`` (introselect), which is slow
on image data: a grey image holds at most 256 distinct levels, and the many
equal values make each selection pass long (about 0.2-0.5 ms for a 10,000-pixel
sample, where one full ``np.sort`` of it takes about 0.05 ms). These functions
sort once and then apply numpy's own arithmetic to the sorted values, so every
result is bit for bit what numpy returns (``tests/vision/test_quantile.py``
compares them on random and real data, ties and odd sizes included). They
serve the per-read statistics of :func:`digitrec.vision.normalize.ink_map`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["median", "percentiles"]


def percentiles(values: np.ndarray, q: float | Sequence[float]) -> Any:
    """``np.percentile(values, q)`` with numpy's default ``"linear"`` method.

    Parameters
    ----------
    values : numpy.ndarray
        Any shape (flattened), at least one value, no NaN.
    q : float or sequence of float
        Percentile(s) in [0, 100].

    Returns
    -------
    numpy scalar or numpy.ndarray
        Equal to ``np.percentile(values, q)``, of its type: for a Python
        number ``q``, a scalar of ``values``' dtype (numpy interpolates in that
        dtype); for a sequence, float64, one value per ``q``.
    """
    weak = type(q) in (int, float)  # numpy's "weak" q: the values' own precision
    s = np.sort(values, axis=None)
    n = s.size
    # numpy's steps (numpy.lib._function_base_impl._quantile), in its order and dtypes:
    # virtual index (n - 1) q, its floor and the next index (both -1 at the top end),
    # then a lerp computed from whichever end is nearer.
    virtual = (n - 1) * np.true_divide(np.atleast_1d(np.asarray(q, np.float64)), 100)
    prev = np.floor(virtual)
    nxt = prev + 1
    top = virtual >= n - 1
    prev[top], nxt[top] = -1, -1
    prev_i, next_i = prev.astype(np.intp), nxt.astype(np.intp)
    gamma = virtual - prev_i
    a, b = s[prev_i], s[next_i]
    if weak:
        a, b, gamma = a[0], b[0], float(gamma[0])
    diff = b - a
    if weak:
        return b - diff * (1 - gamma) if gamma >= 0.5 else a + diff * gamma
    return np.where(gamma >= 0.5, b - diff * (1 - gamma), a + diff * gamma)


def median(values: np.ndarray) -> np.generic:
    """``np.median(values)``: the middle value, or the mean of the two middle ones.

    Parameters
    ----------
    values : numpy.ndarray
        Any shape (flattened), at least one value, no NaN.

    Returns
    -------
    numpy scalar
        Of ``values``' dtype (float64 for integers), equal to ``np.median(values)``.
    """
    s = np.sort(values, axis=None)
    if not np.issubdtype(s.dtype, np.floating):
        s = s.astype(np.float64)  # numpy averages integers in float64
    k = s.size // 2
    if s.size % 2:
        return s[k]
    # np.mean of the two: their sum in the array's dtype, then halved (exact).
    pair = s[k - 1] + s[k]
    return pair.dtype.type(pair / 2)
