"""k-nearest neighbours on (optionally downscaled) pixels, saved as safetensors."""

from __future__ import annotations

import os
from typing import Any

import numpy as np
from sklearn.neighbors import KNeighborsClassifier

from digitrec.errors import InputError, ModelError
from digitrec.models.store import SavedModel, load_saved, save_model

__all__ = ["KnnModel"]


def _block_sums(images: np.ndarray, factor: int) -> np.ndarray:
    """Integer sums over factor x factor blocks (zero-padded), flattened.

    Divided by ``factor**2`` they equal
    :func:`digitrec.features.downscale` exactly, and they store in uint16.
    """
    n, h, w = images.shape
    ph, pw = -h % factor, -w % factor
    padded = np.pad(images.astype(np.uint16), ((0, 0), (0, ph), (0, pw)))
    hb, wb = padded.shape[1] // factor, padded.shape[2] // factor
    sums = padded.reshape(n, hb, factor, wb, factor).sum(axis=(2, 4), dtype=np.uint16)
    return sums.reshape(n, -1)


class KnnModel:
    """The study's model: KNN on local-mean downscaled pixels.

    Parameters
    ----------
    k : int
        Number of neighbours.
    factor : int
        Downscale factor (3: 28x28 -> 10x10; 1: raw pixels).
    """

    kind = "knn"

    def __init__(self, k: int = 5, factor: int = 3) -> None:
        self.k = k
        self.factor = factor
        self.meta: dict[str, Any] = {}

    def _features(self, images: np.ndarray) -> np.ndarray:
        images = np.asarray(images)
        if images.ndim != 3 or images.dtype != np.uint8:
            raise InputError(
                f"images: expected uint8 of shape (n, 28, 28), found {images.dtype} of shape "
                f"{images.shape}"
            )
        return self._scale(_block_sums(images, self.factor))

    def _scale(self, sums: np.ndarray) -> np.ndarray:
        # sum / f**2 in float64 is bit-identical to skimage's downscale_local_mean.
        return sums / float(self.factor * self.factor)

    def fit(self, images: np.ndarray, labels: np.ndarray) -> KnnModel:
        """Memorise the training images (n, 28, 28) uint8 and labels (n,)."""
        if self.k > len(images):
            raise InputError(
                f"k={self.k} is larger than the {len(images)} training images; "
                "choose k <= the training set size"
            )
        self._sums = _block_sums(np.asarray(images), self.factor)
        self._labels = np.asarray(labels, dtype=np.uint8)
        self._fit_estimator()
        return self

    def _fit_estimator(self) -> None:
        self._est = KNeighborsClassifier(n_neighbors=self.k).fit(
            self._scale(self._sums), self._labels
        )

    def predict(self, images: np.ndarray) -> np.ndarray:
        """Predicted labels for (n, 28, 28) uint8 images."""
        return self._est.predict(self._features(images))

    def predict_proba(self, images: np.ndarray) -> np.ndarray:
        """Neighbour vote fractions, shape (n, 10)."""
        return self._est.predict_proba(self._features(images))

    def save(self, path: str | os.PathLike, meta: dict[str, Any] | None = None) -> os.PathLike:
        """Save to ``path`` with extra metadata (data checksum, metrics)."""
        return save_model(
            path,
            self.kind,
            {"train_sums": self._sums, "train_labels": self._labels},
            {
                "params": {"k": self.k},
                "preprocessing": {"downscale": self.factor, "input": "uint8 28x28"},
                **(meta or {}),
            },
        )

    @classmethod
    def from_saved(cls, saved: SavedModel) -> KnnModel:
        """Rebuild a model from :func:`~digitrec.models.store.load_saved` output."""
        try:
            model = cls(
                k=int(saved.meta["params"]["k"]),
                factor=int(saved.meta["preprocessing"]["downscale"]),
            )
            model._sums = saved.arrays["train_sums"]
            model._labels = saved.arrays["train_labels"]
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelError(f"{saved.path}: incomplete knn model ({exc!r} missing)") from exc
        model.meta = saved.meta
        model._fit_estimator()
        return model

    @classmethod
    def load(cls, path: str | os.PathLike) -> KnnModel:
        """Load a saved KNN model folder."""
        return cls.from_saved(load_saved(path, kind=cls.kind))
