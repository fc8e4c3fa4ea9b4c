"""The study's saved KNN model: block sums searched by the exact engine."""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from digitrec.errors import InputError, ModelError
from digitrec.features.blocks import block_sums
from digitrec.models.knn.engine import ExactKNeighborsClassifier
from digitrec.models.store import SavedModel, load_saved, save_model

__all__ = ["KnnModel"]


class KnnModel:
    """The study's model: KNN on local-mean downscaled pixels.

    It keeps the integer block sums (uint16) and searches them with
    :class:`ExactKNeighborsClassifier`: dividing every feature by ``factor**2``
    scales all distances alike, so neighbours, votes and predictions are those
    of scikit-learn's ``KNeighborsClassifier`` on the study's float64 features
    (all 10,000 test predictions identical on MNIST).

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

    def fit(self, images: np.ndarray, labels: np.ndarray) -> KnnModel:
        """Memorise the training images (n, 28, 28) uint8 and labels (n,)."""
        if self.k > len(images):
            raise InputError(
                f"k={self.k} is larger than the {len(images)} training images; "
                "choose k <= the training set size"
            )
        self._sums = block_sums(np.asarray(images), self.factor)
        self._labels = np.asarray(labels, dtype=np.uint8)
        self._fit_estimator()
        return self

    def _fit_estimator(self) -> None:
        # The engine ranks by exact distances between the integer block sums;
        # dividing every feature by factor**2 scales all distances alike, so
        # the neighbours and votes are those of the study's float64 features.
        self._est = ExactKNeighborsClassifier(n_neighbors=self.k).fit(
            self._sums.astype(np.float64), self._labels
        )

    def _query(self, images: np.ndarray) -> np.ndarray:
        images = np.asarray(images)
        if images.ndim != 3 or images.dtype != np.uint8:
            raise InputError(
                f"images: expected uint8 of shape (n, 28, 28), found {images.dtype} of shape "
                f"{images.shape}"
            )
        return block_sums(images, self.factor).astype(np.float64)

    def predict(self, images: np.ndarray) -> np.ndarray:
        """Predicted labels for (n, 28, 28) uint8 images."""
        return self._est.predict(self._query(images))

    def predict_proba(self, images: np.ndarray) -> np.ndarray:
        """Neighbour vote fractions, shape (n, 10)."""
        return self._est.predict_proba(self._query(images))

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
