"""Compiled kernel of the exact KNN engine (numba).

The engine works on a block of queries at a time.  BLAS computes the dot
products of the queries with every training row in a low-dimensional rotated
space (the leading principal axes, in float32); :func:`search_block` turns
them into lower bounds of the true squared distances, finds a threshold that
the k-th true distance cannot exceed, keeps only the training rows whose lower
bound reaches it, and ranks those by their exact distances.  Every step is
exact or bounded, so the result equals a brute-force search.
"""

from __future__ import annotations

import numba
import numpy as np

__all__ = ["search_block"]

# Training rows per chunk whose minimum lower bound is kept: the second scan
# skips whole chunks that cannot hold a candidate.
_CHUNK = 64
# Only flags that cannot change a finite result: no NaN/inf (inputs are
# validated), signed zeros irrelevant.  No reassociation, no approximations.
_FLAGS = {"nnan", "ninf", "nsz"}


@numba.njit(cache=True)
def _exact_sq(x, r, y, j):
    # The difference form: exact for integer-valued features below 2**26.
    acc = 0.0
    for f in range(x.shape[1]):
        diff = x[r, f] - y[j, f]
        acc += diff * diff
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
def _insertion_sort(values, indices):
    # scikit-learn's simultaneous_sort for up to 15 items (an insertion sort).
    for i in range(1, values.shape[0]):
        v = values[i]
        t = indices[i]
        j = i
        while j > 0 and values[j - 1] > v:
            values[j] = values[j - 1]
            indices[j] = indices[j - 1]
            j -= 1
        values[j] = v
        indices[j] = t


@numba.njit(parallel=True, cache=True, fastmath=_FLAGS)
def search_block(gram, q_sq, margin, x, y, k, n_probe, n_threads, cand, n_cand, out_sq, out_ind):
    """Exact k nearest training rows of a block of queries.

    Parameters
    ----------
    gram : ndarray, shape (m, n)
        ``|t_j|^2 - 2 q_r . t_j`` for the rotated, truncated queries ``q_r`` and
        training rows ``t_j``, as one augmented GEMM gives it (approximately).
    q_sq : ndarray, shape (m,)
        ``|q_r|^2``: with it, ``gram`` becomes the squared distance in the
        truncated space, a lower bound of the true squared distance.
    margin : ndarray, shape (m,)
        Bound on the error of ``q_sq + gram`` as that squared distance.
    x, y : ndarray, shape (m, d) and (n, d)
        The original queries and training rows (float64), for exact distances.
    k : int
        Number of neighbours.
    n_probe : int
        How many rows with the smallest lower bounds are measured exactly to
        set the threshold (at least ``k``).
    n_threads : int
        Threads to split the rows over (``numba.get_num_threads()``).
    cand : ndarray of int64, shape (m, capacity)
        Scratch space for candidate indices.
    n_cand : ndarray of int64, shape (m,)
        Output: candidates per row.  A row with more than ``capacity`` is left
        unfinished; the caller runs it again with more room.
    out_sq, out_ind : ndarray, shape (m, k)
        Output: exact squared distances (ascending) and training indices.
        Where distances tie, the neighbours and their order are those of
        scikit-learn's brute-force search run over queries in parallel (for
        k <= 15; above, the smaller index first).
    """
    m, n = gram.shape
    capacity = cand.shape[1]
    n_chunks = (n + _CHUNK - 1) // _CHUNK
    n_threads = max(1, min(n_threads, m))
    per = (m + n_threads - 1) // n_threads
    for t in numba.prange(n_threads):
        # Per-thread scratch, reused across rows.
        chunk_min = np.empty(n_chunks)
        top_v = np.empty(n_probe)
        top_i = np.empty(n_probe, dtype=np.int64)
        for r in range(t * per, min((t + 1) * per, m)):
            # Scan 1: chunk minima of the lower bounds (less the row constant
            # q_sq), and the n_probe smallest, kept sorted by insertion.
            top_v[:] = np.inf
            top_i[:] = -1
            worst = np.inf
            for c in range(n_chunks):
                j0 = c * _CHUNK
                j1 = min(j0 + _CHUNK, n)
                low = gram[r, j0]
                for j in range(j0 + 1, j1):
                    low = min(low, gram[r, j])
                chunk_min[c] = low
                if low < worst:
                    for j in range(j0, j1):
                        v = gram[r, j]
                        if v < worst:
                            i = n_probe - 1
                            while i > 0 and top_v[i - 1] > v:
                                top_v[i] = top_v[i - 1]
                                top_i[i] = top_i[i - 1]
                                i -= 1
                            top_v[i] = v
                            top_i[i] = j
                            worst = top_v[n_probe - 1]
            # The k-th smallest exact distance among the probes bounds the
            # true k-th distance from above.
            probe = np.empty(n_probe)
            for i in range(n_probe):
                probe[i] = _exact_sq(x, r, y, top_i[i])
            probe.sort()
            bound = probe[k - 1] * (1.0 + 1e-9) + margin[r] - q_sq[r]
            # Scan 2: every row whose lower bound does not exceed it.
            count = 0
            for c in range(n_chunks):
                if chunk_min[c] <= bound:
                    for j in range(c * _CHUNK, min((c + 1) * _CHUNK, n)):
                        if gram[r, j] <= bound:
                            if count < capacity:
                                cand[r, count] = j
                            count += 1
            n_cand[r] = count
            if count > capacity:
                continue
            dist = np.empty(count)
            for i in range(count):
                dist[i] = _exact_sq(x, r, y, cand[r, i])
            # Candidates are in ascending index order and mergesort is stable.
            order = np.argsort(dist, kind="mergesort")
            tied = False
            for i in range(min(k, count - 1)):
                if dist[order[i]] == dist[order[i + 1]]:
                    tied = True
            if tied and k <= 15:
                # Equal distances among the first k + 1: which of them are kept,
                # and in which order, is what scikit-learn's brute-force search
                # (parallel over queries) makes of them.  Replay its heap over
                # the rows in index order; rows whose lower bound reaches the
                # current k-th distance cannot enter and are skipped.
                heap_v = np.full(k, np.finfo(np.float64).max)
                heap_i = np.full(k, -1, dtype=np.int64)
                shift = q_sq[r] - margin[r]
                for c in range(n_chunks):
                    if chunk_min[c] + shift < heap_v[0] * (1.0 + 1e-9):
                        for j in range(c * _CHUNK, min((c + 1) * _CHUNK, n)):
                            if gram[r, j] + shift < heap_v[0] * (1.0 + 1e-9):
                                _heap_push(heap_v, heap_i, _exact_sq(x, r, y, j), j)
                _insertion_sort(heap_v, heap_i)
                for i in range(k):
                    out_sq[r, i] = heap_v[i]
                    out_ind[r, i] = heap_i[i]
                continue
            for i in range(k):
                out_sq[r, i] = dist[order[i]]
                out_ind[r, i] = cand[r, order[i]]
