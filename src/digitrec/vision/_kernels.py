"""Compiled passes over page-sized images (numba, no fast-math: sums rounded as written).

:func:`blur_columns` and :func:`blur_rows`, for
:func:`digitrec.vision.blur.gaussian_blur`: each pass correlates with a
symmetric kernel ``w`` (odd length, centre ``w[r]``), edges repeated
(mode ``nearest``), summing in float64 in scipy's order: the centre term
first, then the pairs from the outermost in; the result is rounded to the
output's dtype.

:func:`resample_rows`, for :func:`digitrec.vision.blur.upsample_bilinear`:
Pillow's vertical resampling pass of a float image.
"""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True)
def blur_columns(x, w, out):  # pragma: no cover - compiled
    """Filter along axis 0: whole rows at a time, so the inner loop runs along memory."""
    h, n = x.shape
    r = w.size // 2
    acc = np.empty(n)
    for i in range(h):
        for j in range(n):
            acc[j] = np.float64(x[i, j]) * w[r]
        for k in range(r, 0, -1):
            wk = w[r - k]
            above = x[max(i - k, 0)]
            below = x[min(i + k, h - 1)]
            for j in range(n):
                acc[j] += (np.float64(above[j]) + np.float64(below[j])) * wk
        out_i = out[i]
        for j in range(n):
            out_i[j] = acc[j]


@numba.njit(cache=True)
def blur_rows(x, w, out):  # pragma: no cover - compiled
    """Filter along axis 1: each row copied once into a float64 buffer with its edges."""
    h, n = x.shape
    r = w.size // 2
    buf = np.empty(n + 2 * r)
    acc = np.empty(n)
    for i in range(h):
        row = x[i]
        for j in range(n):
            buf[r + j] = row[j]
        for j in range(r):
            buf[j] = row[0]
            buf[r + n + j] = row[n - 1]
        centre = buf[r : r + n]
        for j in range(n):
            acc[j] = centre[j] * w[r]
        for k in range(r, 0, -1):
            wk = w[r - k]
            left = buf[r - k : r - k + n]
            right = buf[r + k : r + k + n]
            for j in range(n):
                acc[j] += (left[j] + right[j]) * wk
        out_i = out[i]
        for j in range(n):
            out_i[j] = acc[j]


@numba.njit(cache=True)
def resample_rows(x, first, taps, weights, out):  # pragma: no cover - compiled
    """``out[i] = sum_t x[first[i] + t] * weights[i, t]`` over ``taps[i]`` rows, in float64
    from 0.0 in that order, rounded to ``out``'s float32 (only ``out``'s columns are read)."""
    h, w = out.shape
    acc = np.empty(w)
    for i in range(h):
        for j in range(w):
            acc[j] = 0.0
        for t in range(taps[i]):
            row = x[first[i] + t]
            c = weights[i, t]
            for j in range(w):
                acc[j] += np.float64(row[j]) * c
        out_i = out[i]
        for j in range(w):
            out_i[j] = acc[j]
