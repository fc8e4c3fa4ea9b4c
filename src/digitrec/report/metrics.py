"""Test-set metrics in the shape metrics.json uses."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.metrics import accuracy_score, classification_report, confusion_matrix

__all__ = ["classification_metrics", "evaluate_model"]


def classification_metrics(
    y_true: np.ndarray, y_pred: np.ndarray, labels: list[int] | None = None
) -> dict[str, Any]:
    """Accuracy, confusion matrix and scikit-learn's classification report.

    Returns
    -------
    dict
        ``accuracy`` (float), ``confusion_matrix`` (list of lists of int, rows
        are true labels) and ``classification_report`` (scikit-learn's
        ``output_dict`` form), all JSON-serialisable.
    """
    labels = list(range(10)) if labels is None else labels
    names = [str(c) for c in labels]
    return {
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "confusion_matrix": confusion_matrix(y_true, y_pred, labels=labels).tolist(),
        "classification_report": classification_report(
            y_true, y_pred, labels=labels, target_names=names, output_dict=True, digits=4
        ),
    }


def evaluate_model(model, data) -> dict[str, Any]:
    """Predict the test set of ``data`` with ``model`` and compute its metrics.

    Parameters
    ----------
    model : object
        Anything with ``predict(images)`` for (n, 28, 28) uint8 images.
    data : digitrec.data.Data
        A loaded data set.
    """
    predictions = np.asarray(model.predict(data.test_images))
    metrics = classification_metrics(data.test_labels, predictions)
    metrics["n_test"] = len(data.test_labels)
    metrics["dataset"] = data.name
    return metrics
