"""Compiled kernel of the exact KNN engine (numba).

BLAS computes the dot products of the queries with the training rows in a
low-dimensional rotated space (the leading principal axes, in float32), tile
by tile; :func:`search_tiled` turns them into lower bounds of the true squared
distances, finds a threshold that the k-th true distance cannot exceed, keeps
only the training rows whose lower bound reaches it, and ranks those by their
exact distances.  Every step is exact or rigorously bounded, so the result
equals a brute-force search.
"""

from __future__ import annotations

import numba
import numpy as np

__all__ = ["search_tiled"]

# Training rows per chunk whose minimum lower bound is kept: the second scan
# skips whole chunks that cannot hold a candidate.
_CHUNK = 32
# Only flags that cannot change a finite result: no NaN/inf (inputs are
# validated), signed zeros irrelevant.  No reassociation, no approximations.
_FLAGS = {"nnan", "ninf", "nsz"}


@numba.njit(cache=True, fastmath={"nnan", "ninf", "nsz", "reassoc", "contract"})
def _exact_sq(x, r, y, j):
    # The difference form: exact for integer-valued features below 2**26 in
    # any summation order, so the sum may be vectorised (reassociated); for
    # other values it is a deterministic float64 sum within 1e-13 relative.
    acc = 0.0
    for f in range(x.shape[1]):
        diff = x[r, f] - y[j, f]
        acc += diff * diff
    return acc


@numba.njit(cache=True, fastmath={"nnan", "ninf", "nsz", "reassoc", "contract"})
def _lower(zq, r, aug, j):
    # One row's |t|^2 - 2 q.t again, in any summation order: the error bound
    # (Higham's gamma_n) holds for every order, so it may be vectorised.
    acc = zq[r, 0] * aug[j, 0]
    for f in range(1, zq.shape[1]):
        acc += zq[r, f] * aug[j, f]
    return acc


@numba.njit(cache=True)
def _heap_push(values, indices, val, idx):
    # scikit-learn's fixed-size max-heap push (sklearn/utils/_heap.pyx), step
    # for step: which of several equal distances survive depends on it.
    size = values.shape[0]
    if val >= values[0]:
        return
    cur = 0
    while True:
        left = 2 * cur + 1
        right = left + 1
        if left >= size:
            break
        elif right >= size:
            if values[left] > val:
                swap = left
            else:
                break
        elif values[left] >= values[right]:
            if val < values[left]:
                swap = left
            else:
                break
        elif val < values[right]:
            swap = right
        else:
            break
        values[cur] = values[swap]
        indices[cur] = indices[swap]
        cur = swap
    values[cur] = val
    indices[cur] = idx


@numba.njit(cache=True)
def _insert(values, indices, val, idx, end):
    # Put (val, idx) into the ascending values[:end], after any equal value,
    # shifting the larger ones up by one (values[end] is overwritten).
    i = end
    while i > 0 and values[i - 1] > val:
        values[i] = values[i - 1]
        indices[i] = indices[i - 1]
        i -= 1
    values[i] = val
    indices[i] = idx


@numba.njit(cache=True)
def _insertion_sort(values, indices):
    # scikit-learn's simultaneous_sort for up to 15 items (an insertion sort).
    for i in range(1, values.shape[0]):
        _insert(values, indices, values[i], indices[i], i)


@numba.njit(parallel=True, cache=True, fastmath=_FLAGS)
def search_tiled(zq, q_sq, margin, aug, x, y, k, n_probe, qb, tn, out_sq, out_ind):
    """Exact k nearest training rows of every query, in cache-sized tiles.

    Each thread takes ``qb`` queries at a time and walks the training set in
    tiles of ``tn`` rows; BLAS (single-threaded inside the thread) computes a
    tile of ``|t|^2 - 2 q.t`` in the truncated rotated space, which stays in
    the core's cache while it is reduced to per-chunk minima and the
    ``n_probe`` smallest lower bounds.  Then, per query, the probes' exact
    distances bound the k-th distance from above, and only training chunks
    whose minimum lower bound reaches it are measured exactly.

    Parameters
    ----------
    zq : ndarray, shape (m, p + 1)
        Rotated, truncated queries with a trailing 1 (float32 or float64).
    q_sq : ndarray, shape (m,)
        ``|q|^2``: with it, the tile values become squared distances in the
        truncated space, lower bounds of the true squared distances.
    margin : ndarray, shape (m,)
        Bound on the rounding error of those lower bounds.
    aug : ndarray, shape (n, p + 1)
        ``[-2 t, |t|^2]`` per training row, same dtype as ``zq``.
    x, y : ndarray, shape (m, d) and (n, d)
        The original queries and training rows (float64), for exact distances.
    k : int
        Number of neighbours.
    n_probe : int
        How many rows with the smallest lower bounds are measured exactly to
        set the threshold (at least ``k``).
    qb, tn : int
        Queries per block and training rows per tile (``tn`` a multiple of 32).
    out_sq, out_ind : ndarray, shape (m, k)
        Output: exact squared distances (ascending) and training indices.
        Where distances tie, the neighbours and their order are those of
        scikit-learn's brute-force search run over queries in parallel (for
        k <= 15; above, the smaller index first).
    """
    m = zq.shape[0]
    n = aug.shape[0]
    n_chunks = (n + _CHUNK - 1) // _CHUNK
    n_blocks = (m + qb - 1) // qb
    for b in numba.prange(n_blocks):
        r0 = b * qb
        r1 = min(r0 + qb, m)
        rows = r1 - r0
        # Laid out (query, chunk) so that each query's search for candidates
        # reads its own minima contiguously; in the tile's dtype, which holds
        # the minima exactly.
        chunk_min = np.empty((rows, n_chunks), dtype=aug.dtype)
        top_i = np.full((rows, n_probe), -1, dtype=np.int64)
        _scan_block(zq[r0:r1], aug, tn, chunk_min, top_i)
        for r in range(rows):
            _rank_query(
                zq, q_sq, margin, aug, x, y, k, r0 + r, r, chunk_min, top_i, out_sq, out_ind
            )


@numba.njit(cache=True, fastmath=_FLAGS)
def _scan_block(zb, aug, tn, chunk_min, top_i):
    """Lower bounds of a block of queries against all training rows, tile by tile.

    Fills ``chunk_min[r, c]`` (the smallest lower bound of chunk ``c`` for query
    ``r``) and ``top_i`` (the rows of the ``n_probe`` smallest, per query).
    """
    n = aug.shape[0]
    rows, n_probe = top_i.shape
    top_v = np.full((rows, n_probe), np.inf, dtype=aug.dtype)
    worst = np.full(rows, np.inf, dtype=aug.dtype)
    zb_t = np.ascontiguousarray(zb.T)
    # One tile buffer per block: BLAS writes into it, no allocation per tile.
    buf = np.empty((min(tn, n), rows), dtype=aug.dtype)
    low = np.empty(rows, dtype=aug.dtype)
    for j0 in range(0, n, tn):
        j1 = min(j0 + tn, n)
        # tile[j, r]: lower bound (less q_sq[r]) of training row j0 + j.
        tile = buf[: j1 - j0]
        np.dot(aug[j0:j1], zb_t, tile)
        for c0 in range(0, j1 - j0, _CHUNK):
            c1 = min(c0 + _CHUNK, j1 - j0)
            # Minima along the queries: element-wise, so they vectorise.
            for r in range(rows):
                low[r] = tile[c0, r]
            for j in range(c0 + 1, c1):
                for r in range(rows):
                    low[r] = min(low[r], tile[j, r])
            ci = (j0 + c0) // _CHUNK
            for r in range(rows):
                chunk_min[r, ci] = low[r]
            for r in range(rows):
                if low[r] < worst[r]:
                    worst[r] = _keep_smallest(tile, r, c0, c1, j0, worst[r], top_v, top_i)


@numba.njit(cache=True, fastmath=_FLAGS)
def _keep_smallest(tile, r, c0, c1, j0, w, top_v, top_i):
    """Insert the tile rows c0..c1 below ``w`` into query r's sorted probe list."""
    n_probe = top_v.shape[1]
    for j in range(c0, c1):
        v = tile[j, r]
        if v < w:
            _insert(top_v[r], top_i[r], v, j0 + j, n_probe - 1)
            w = top_v[r, n_probe - 1]
    return w


@numba.njit(cache=True, fastmath=_FLAGS)
def _nearest(zq, g, aug, x, y, chunk_min, r, bound, best_v, best_i):
    """The nearest rows whose lower bound reaches ``bound``, into ``best_v``/``best_i``.

    Keeps as many as ``best_v`` holds (k + 1), ascending, equal distances in
    index order: the first k + 1 of a stable sort of all such rows, without
    sorting them all.  Unfilled places keep an index of -1.
    """
    n = aug.shape[0]
    last = best_v.shape[0] - 1
    best_v[:] = np.inf
    best_i[:] = -1
    # Rows of the chunks that may hold a neighbour, filtered by their own
    # lower bound; only the survivors are measured exactly.
    for c in range(chunk_min.shape[1]):
        if chunk_min[r, c] <= bound:
            for j in range(c * _CHUNK, min((c + 1) * _CHUNK, n)):
                if _lower(zq, g, aug, j) <= bound:
                    d = _exact_sq(x, g, y, j)
                    if d < best_v[last]:
                        # Rows come in index order: an equal distance already
                        # kept stays ahead, as in a stable sort.
                        _insert(best_v, best_i, d, j, last)


@numba.njit(cache=True, fastmath=_FLAGS)
def _replay_heap(zq, g, aug, x, y, k, chunk_min, r, shift):
    """scikit-learn's brute-force heap over the rows in index order, for ties.

    Chunks and rows whose lower bound reaches the current k-th distance cannot
    enter the heap and are skipped.
    """
    n = aug.shape[0]
    heap_v = np.full(k, np.finfo(np.float64).max)
    heap_i = np.full(k, -1, dtype=np.int64)
    for c in range(chunk_min.shape[1]):
        if chunk_min[r, c] + shift < heap_v[0] * (1.0 + 1e-9):
            for j in range(c * _CHUNK, min((c + 1) * _CHUNK, n)):
                if _lower(zq, g, aug, j) + shift < heap_v[0] * (1.0 + 1e-9):
                    _heap_push(heap_v, heap_i, _exact_sq(x, g, y, j), j)
    _insertion_sort(heap_v, heap_i)
    return heap_v, heap_i


@numba.njit(cache=True, fastmath=_FLAGS)
def _rank_query(zq, q_sq, margin, aug, x, y, k, g, r, chunk_min, top_i, out_sq, out_ind):
    """Exact k nearest rows of query ``g`` (row ``r`` of its block) into the outputs."""
    n_probe = top_i.shape[1]
    probe = np.empty(n_probe)
    for i in range(n_probe):
        probe[i] = _exact_sq(x, g, y, top_i[r, i])
    probe.sort()
    bound = probe[k - 1] * (1.0 + 1e-9) + margin[g] - q_sq[g]
    best_v = np.empty(k + 1)
    best_i = np.empty(k + 1, dtype=np.int64)
    _nearest(zq, g, aug, x, y, chunk_min, r, bound, best_v, best_i)
    tied = False
    for i in range(k):
        if best_i[i + 1] >= 0 and best_v[i] == best_v[i + 1]:
            tied = True
    if tied and k <= 15:
        # Equal distances among the first k + 1: which of them are kept, and in
        # which order, is what scikit-learn's brute-force search (parallel over
        # queries) makes of them.
        heap_v, heap_i = _replay_heap(zq, g, aug, x, y, k, chunk_min, r, q_sq[g] - margin[g])
        for i in range(k):
            out_sq[g, i] = heap_v[i]
            out_ind[g, i] = heap_i[i]
        return
    for i in range(k):
        out_sq[g, i] = best_v[i]
        out_ind[g, i] = best_i[i]
