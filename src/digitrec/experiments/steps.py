"""The study's steps: the split, the model comparison, the k sweep, the final KNN.

Each step is a plain function over a loaded :class:`~digitrec.data.Data`, so
that the CLI commands, :func:`digitrec.experiments.reproduce` and the tests all run
the same code.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.model_selection import train_test_split

from digitrec.features import prepare
from digitrec.models.classical import STUDY_MODELS, make_study_model
from digitrec.report.metrics import classification_metrics

__all__ = [
    "STUDY",
    "FinalResult",
    "Split",
    "compare",
    "final",
    "fit_final",
    "study_split",
    "sweep",
]

#: The study's own settings and published figures, for side-by-side display.
STUDY = {
    "subset": 6000,
    "test_size": 0.33,
    "random_state": 42,
    "downscale": 3,
    "k": 5,
    "ks": list(range(1, 21)),
    "figures": {
        "compare": {
            "raw": {"knn": 0.936364, "naive_bayes": 0.633838, "logistic_regression": 0.834848},
            "downscaled": {
                "knn": 0.950505,
                "naive_bayes": 0.605556,
                "logistic_regression": 0.901515,
            },
        },
        "final": 0.9676,
    },
}


@dataclass(frozen=True)
class Split:
    """The study's train/validation split of the first ``subset`` training images."""

    train_images: np.ndarray
    test_images: np.ndarray
    train_labels: np.ndarray
    test_labels: np.ndarray


def study_split(data, subset: int = 6000, test_size: float = 0.33, random_state: int = 42) -> Split:
    """Split the first ``subset`` training images as the study did.

    ``train_test_split(test_size=0.33, random_state=42)`` on 6,000 images
    gives 4,020 to train on and 1,980 to score.
    """
    from digitrec.errors import InputError

    if not 1 < subset <= len(data.train_images):
        raise InputError(
            f"subset={subset}: expected 2..{len(data.train_images)} (the training set size)"
        )
    parts = train_test_split(
        data.train_images[:subset],
        data.train_labels[:subset],
        test_size=test_size,
        random_state=random_state,
    )
    return Split(*parts)


def compare(
    data,
    *,
    subset: int = 6000,
    factor: int = 3,
    models: Iterable[str] = tuple(STUDY_MODELS),
    on_step=None,
) -> dict[str, dict[str, float]]:
    """Accuracy of the study's three models on raw pixels and on downscaled images.

    Parameters
    ----------
    data : digitrec.data.Data
        The loaded data set.
    subset : int
        How many leading training images to split (the study: 6,000).
    factor : int
        Downscale factor for the ``downscaled`` variant (3: 10x10).
    models : iterable of str
        Keys of :data:`~digitrec.models.classical.STUDY_MODELS`.
    on_step : callable, optional
        Called with a short description before each fit (for progress display).

    Returns
    -------
    dict
        ``{"raw": {model: accuracy}, "downscaled": {model: accuracy}}``.
    """
    split = study_split(data, subset)
    result: dict[str, dict[str, float]] = {}
    for variant, f in (("raw", None), ("downscaled", factor)):
        x_train = prepare(split.train_images, f)
        x_test = prepare(split.test_images, f)
        result[variant] = {}
        for name in models:
            if on_step:
                on_step(f"{STUDY_MODELS[name]} on {variant} pixels")
            model = make_study_model(name).fit(x_train, split.train_labels)
            result[variant][name] = float(model.score(x_test, split.test_labels))
    return result


def sweep(
    data, *, ks: Iterable[int] = range(1, 21), subset: int = 6000, factor: int = 3, on_step=None
) -> list[dict[str, Any]]:
    """KNN accuracy for each k on the study's split of downscaled images.

    Returns
    -------
    list of dict
        ``[{"k": 1, "accuracy": ...}, ...]`` in the order of ``ks``.
    """
    split = study_split(data, subset)
    x_train = prepare(split.train_images, factor)
    x_test = prepare(split.test_images, factor)
    rows = []
    for k in ks:
        if on_step:
            on_step(f"k={k}")
        model = make_study_model("knn", k=k).fit(x_train, split.train_labels)
        rows.append({"k": int(k), "accuracy": float(model.score(x_test, split.test_labels))})
    return rows


@dataclass(frozen=True)
class FinalResult:
    """The final model's test-set predictions and metrics."""

    predictions: np.ndarray
    metrics: dict[str, Any]


def fit_final(data, *, k: int = 5, factor: int = 3) -> FinalResult:
    """Train KNN on all training images (downscaled) and score it on the test set."""
    from digitrec.models.knn import KnnModel

    model = KnnModel(k=k, factor=factor).fit(data.train_images, data.train_labels)
    predictions = model.predict(data.test_images)
    metrics = {
        "model": "knn",
        "k": int(k),
        **classification_metrics(data.test_labels, predictions),
    }
    return FinalResult(predictions=predictions, metrics=metrics)


def final(data, *, k: int = 5, factor: int = 3) -> dict[str, Any]:
    """The study's final step: test metrics of KNN on all 60,000 downscaled images."""
    return fit_final(data, k=k, factor=factor).metrics
