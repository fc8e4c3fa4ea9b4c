"""The exact KNN engine: a fast scikit-learn estimator.

:class:`ExactKNeighborsClassifier` screens candidates in float32 in a principal
subspace with a rounding-error bound, then ranks them by exact distances; the
numba kernels live in :mod:`digitrec.models.knn.kernels`.
"""

from __future__ import annotations

import functools
import numbers

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data
from threadpoolctl import ThreadpoolController

from digitrec.errors import InputError

__all__ = ["ExactKNeighborsClassifier"]

# Unit roundoff of float32 and float64.
_U32 = 2.0**-24
_U64 = 2.0**-53
# float32 screening is used while every nonzero |value| lies in this range, so
# that nothing overflows and the relative error bound holds (no subnormals).
_F32_RANGE = (1e-30, 1e15)
# Training rows per tile: a (block_size x _TILE) float32 tile stays in L2.
_TILE = 2048


@functools.cache
def _threadpools() -> ThreadpoolController:
    # Finding the loaded BLAS libraries costs milliseconds (it walks every
    # loaded library), as much as a whole small search: do it once.
    return ThreadpoolController()


def _one_blas_thread():
    """A context in which BLAS runs on one thread.

    The engine's own threads each call BLAS on a small tile, and its small
    set-up products gain nothing from threads: a multi-threaded BLAS there only
    adds thread wake-ups, which on a busy machine cost more than the products.
    """
    return _threadpools().limit(limits=1, user_api="blas")


def _gamma(n: int, u: float) -> float:
    """Higham's gamma_n = n u / (1 - n u): bounds the rounding of an n-term dot product."""
    return n * u / (1.0 - n * u)


def _f32_safe(x: np.ndarray) -> bool:
    """Whether ``x`` can be screened in float32 under the error bound."""
    a = np.abs(x)
    if a.size == 0:
        return True
    if a.max() > _F32_RANGE[1]:
        return False
    return bool(np.min(a, where=a > 0, initial=np.inf) >= _F32_RANGE[0])


class ExactKNeighborsClassifier(ClassifierMixin, BaseEstimator):
    """Exact brute-force k-nearest-neighbour classifier (euclidean, uniform vote).

    A drop-in for scikit-learn's ``KNeighborsClassifier(algorithm="brute")``
    with uniform weights, and faster: the same neighbours, distances and vote
    (ties in the vote go to the smallest class; where distances tie exactly,
    the neighbours kept and their order are those scikit-learn's brute-force
    search gives when it runs in parallel over the queries).

    How: distances to the training rows projected on their leading principal
    axes are lower bounds of the true ones.  A float32 GEMM computes them,
    tile by tile in cache, with a rigorous bound on its rounding (Higham's
    gamma_n); the exact distances of the few best set a threshold; only the
    rows whose lower bound reaches it are measured exactly (difference form,
    float64).  For integer-valued features (pixels, block sums) the ranking is
    exact; for others it is the float64 ranking.  Memory is bounded by
    ``block_size`` x ``n_train`` per thread; never the whole distance matrix.

    Parameters
    ----------
    n_neighbors : int, default=5
        Number of neighbours that vote.
    block_size : int, default=128
        Queries per block; each thread holds ``block_size`` x 2048 distances
        at a time and ``block_size`` x ``n_train / 32`` chunk minima.
    screen_dims : int or "auto", default="auto"
        Principal axes used to rule out training rows (32 up to 128 features,
        else 64).  Changes the speed only, never the result.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    n_features_in_ : int
        Number of features seen in :meth:`fit`.
    n_samples_fit_ : int
        Number of training rows.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[0.0], [1.0], [5.0], [6.0]]); y = np.array([0, 0, 1, 1])
    >>> ExactKNeighborsClassifier(n_neighbors=3).fit(X, y).predict([[0.4], [5.2]])
    array([0, 1])
    """

    def __init__(
        self, n_neighbors: int = 5, block_size: int = 128, screen_dims: int | str = "auto"
    ) -> None:
        self.n_neighbors = n_neighbors
        self.block_size = block_size
        self.screen_dims = screen_dims

    def _check_params(self) -> None:
        for name in ("n_neighbors", "block_size"):
            value = getattr(self, name)
            if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < 1:
                raise InputError(
                    f"{name}: expected a positive integer, found {value!r}; "
                    f"pass e.g. {name}={5 if name == 'n_neighbors' else 256}"
                )
        dims = self.screen_dims
        if dims != "auto" and (
            not isinstance(dims, numbers.Integral) or isinstance(dims, bool) or dims < 1
        ):
            raise InputError(f"screen_dims: expected 'auto' or a positive integer, found {dims!r}")

    def fit(self, X, y) -> ExactKNeighborsClassifier:
        """Memorise the training set.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Finite numeric features.
        y : array-like of shape (n_samples,)
            Class labels.

        Returns
        -------
        self
        """
        self._check_params()
        X, y = validate_data(self, X, y, dtype=np.float64, order="C", y_numeric=False)
        # Writable copies keep the compiled kernel to one specialisation.
        X = np.require(X, requirements="W")
        check_classification_targets(y)
        self.classes_, self._y = np.unique(y, return_inverse=True)
        self._fit_X = X
        self.n_samples_fit_ = X.shape[0]
        with _one_blas_thread():
            self._fit_rotation(X)
        return self

    def _validate_query(self, X) -> np.ndarray:
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float64, order="C", reset=False)
        return np.require(X, requirements="W")

    def kneighbors(self, X=None, n_neighbors: int | None = None, return_distance: bool = True):
        """The k nearest training rows of each query row.

        Parameters
        ----------
        X : array-like of shape (n_queries, n_features), optional
            Queries; ``None`` queries the training set, each row without itself.
        n_neighbors : int, optional
            Defaults to the ``n_neighbors`` given at construction.
        return_distance : bool, default=True
            Also return the euclidean distances.

        Returns
        -------
        dist : ndarray of shape (n_queries, n_neighbors)
            Euclidean distances, ascending (only with ``return_distance``).
        ind : ndarray of shape (n_queries, n_neighbors)
            Training indices; equal distances list the smaller index first.
        """
        check_is_fitted(self)
        k = self.n_neighbors if n_neighbors is None else n_neighbors
        if not isinstance(k, numbers.Integral) or isinstance(k, bool) or k < 1:
            raise InputError(f"n_neighbors: expected a positive integer, found {k!r}")
        query_is_train = X is None
        if query_is_train:
            X = self._fit_X
            k += 1
        else:
            X = self._validate_query(X)
        if k > self.n_samples_fit_:
            shown = k - 1 if query_is_train else k
            rel = "<" if query_is_train else "<="
            raise InputError(
                f"Expected n_neighbors {rel} n_samples_fit, but n_neighbors = {shown}, "
                f"n_samples_fit = {self.n_samples_fit_}, n_samples = {X.shape[0]}; "
                "choose fewer neighbours or fit on more rows"
            )
        with _one_blas_thread():
            sq_dist, ind = self._search(X, k)
        if query_is_train:
            # The k nearest *other* rows: drop each row itself, or, when k + 1
            # exact duplicates with smaller indices outrank it, the last one.
            # (scikit-learn drops its first column there, which among equal
            # distances is whichever its unstable sort put first.)
            n = X.shape[0]
            mask = ind != np.arange(n)[:, None]
            mask[:, -1][np.all(mask, axis=1)] = False
            ind = ind[mask].reshape(n, k - 1)
            sq_dist = sq_dist[mask].reshape(n, k - 1)
        if return_distance:
            return np.sqrt(sq_dist), ind
        return ind

    def _fit_rotation(self, X: np.ndarray) -> None:
        # Leading principal axes: distances in their span are lower bounds of
        # the true ones that rule out most training rows cheaply.
        n, d = X.shape
        dims = self.screen_dims
        if dims == "auto":
            # One more column carries |t|^2; 32 or 64 columns suit the GEMM.
            dims = 31 if d <= 128 else 63
        dims = min(int(dims), d)
        self._mean = X.mean(axis=0)
        centred = X - self._mean
        if n > 1:
            # The axes only need to be orthonormal for exactness; their quality
            # only sets the speed, so a strided sample of rows estimates them.
            sample = centred[:: max(1, n // 8192)]
            _, vecs = np.linalg.eigh(sample.T @ sample)
            basis = vecs[:, ::-1][:, :dims].copy()
        else:
            basis = np.eye(d)[:, :dims]
        self._basis = basis
        z = centred @ basis
        z_sq = np.einsum("ij,ij->i", z, z)
        self._z_max_sq = float(z_sq.max())
        self._full_max = float(np.sqrt(np.einsum("ij,ij->i", centred, centred).max()))
        # Augmented so that one GEMM gives |t|^2 - 2 q.t: [q, 1] . [-2 t, |t|^2].
        aug = np.hstack([-2.0 * z, z_sq[:, None]])
        self._f32 = _f32_safe(aug) and (dims + 1) * _U32 < 0.01
        self._aug = aug.astype(np.float32) if self._f32 else aug

    def _search(self, X: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        # numba is imported on first search, not with the package.
        import numba

        from digitrec.models.knn.kernels import search_tiled

        n = X.shape[0]
        dims = self._basis.shape[1]
        out_sq = np.empty((n, k))
        out_ind = np.empty((n, k), dtype=np.int64)
        if n == 0:
            return out_sq, out_ind
        centred = X - self._mean
        zq = np.hstack([centred @ self._basis, np.ones((n, 1))])
        q_sq = np.einsum("ij,ij->i", zq[:, :dims], zq[:, :dims])
        full = np.sqrt(np.einsum("ij,ij->i", centred, centred))
        use32 = self._f32 and _f32_safe(zq)
        # The GEMM's result for row j errs by at most
        # c_dot (2 |q| |t_j| + |t_j|^2) (Higham's gamma_n, Cauchy-Schwarz); in
        # float32 c_dot also covers rounding the float64 inputs.
        u = _U32 if use32 else _U64
        c_dot = _gamma(dims + 1, u) * (1 + u) ** 2 + 2 * u + u * u
        # A factor 2 of safety; then the float64 rounding of the rotation, the
        # norms and the exact distances (all far below 1e-9 relative); and
        # float32 underflow.
        margin = (
            2.0 * c_dot * (2.0 * np.sqrt(q_sq * self._z_max_sq) + self._z_max_sq)
            + 1e-9 * (full + self._full_max) ** 2
            + 1e-30
        )
        n_probe = min(self.n_samples_fit_, 2 * k)
        # A read-only training set (e.g. unpickled from a memmap) would need
        # another compiled specialisation; copy it instead.
        train = np.require(self._fit_X, requirements="W")
        zq = np.ascontiguousarray(zq, dtype=np.float32 if use32 else np.float64)
        aug = self._aug if use32 or not self._f32 else self._aug.astype(np.float64)
        # Threads take one block at a time rather than an equal share up front:
        # on a shared machine a descheduled thread then delays one block, not
        # half of them.  (Set here: a kernel that sets it cannot be cached.)
        with numba.parallel_chunksize(1):
            search_tiled(
                zq, q_sq, margin, aug, X, train, k, n_probe, self.block_size, _TILE, out_sq, out_ind
            )
        return out_sq, out_ind

    def predict_proba(self, X) -> np.ndarray:
        """Fraction of the k neighbours in each class, shape (n_queries, n_classes)."""
        ind = self.kneighbors(X, return_distance=False)
        labels = self._y[ind]
        proba = np.zeros((labels.shape[0], len(self.classes_)))
        rows = np.arange(labels.shape[0])
        for col in labels.T:
            proba[rows, col] += 1.0
        proba /= labels.shape[1]
        return proba

    def predict(self, X) -> np.ndarray:
        """Majority label among the k neighbours; ties go to the smallest class."""
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]
