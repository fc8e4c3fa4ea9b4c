"""Test-set metrics in the shape metrics.json uses."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.metrics import accuracy_score, classification_report, confusion_matrix

__all__ = [
    "classification_metrics",
    "evaluate_model",
    "interval",
    "interval_text",
    "wilson_interval",
]


def wilson_interval(correct: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of an accuracy of ``correct`` out of ``n``.

    Unlike the normal approximation it stays inside [0, 1] and behaves near 0 and 1,
    where accuracies live (Newcombe 1998, method 3). Computed by scipy's
    ``binomtest(...).proportion_ci(method="wilson")``.

    Examples
    --------
    >>> [round(v, 4) for v in wilson_interval(81, 263)]
    [0.2553, 0.3662]
    """
    from scipy.stats import binomtest

    from digitrec.errors import InputError

    if n < 1:
        raise InputError(f"n: expected at least one sample, found {n}")
    if not 0 <= correct <= n:
        raise InputError(f"correct: expected 0..{n}, found {correct}")
    ci = binomtest(int(correct), int(n)).proportion_ci(confidence, method="wilson")
    return float(ci.low), float(ci.high)


def interval(accuracy: float, n: int) -> dict[str, float | int]:
    """An accuracy on ``n`` samples as ``{correct, n, low, high}`` (95% Wilson interval)."""
    correct = round(accuracy * n)
    low, high = wilson_interval(correct, n)
    return {"correct": correct, "n": int(n), "low": round(low, 6), "high": round(high, 6)}


def interval_text(i: dict) -> str:
    """An :func:`interval` as text, ``low–high`` to four decimals (``0.9639–0.9709``)."""
    return f"{i['low']:.4f}–{i['high']:.4f}"


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


#: Test images predicted at a time by :func:`evaluate_model`: memory stays bounded
#: whatever the test set's size. Measured with ``/usr/bin/time -f %M digitrec evaluate
#: default`` on MNIST's 10,000 digits: peak 2.24 GB predicting them in one call, 0.74 GB
#: in batches of 1,000.
EVAL_BATCH = 1000


def evaluate_model(model, data, batch_size: int = EVAL_BATCH) -> dict[str, Any]:
    """Predict the test set of ``data`` with ``model`` and compute its metrics.

    Parameters
    ----------
    model : object
        Anything with ``predict(images)`` for (n, 28, 28) uint8 images.
    data : digitrec.data.Data
        A loaded data set.
    batch_size : int
        Images predicted per call, so that peak memory does not grow with the test set.
    """
    images = data.test_images
    parts = [
        np.asarray(model.predict(images[i : i + batch_size]))
        for i in range(0, len(images), batch_size)
    ]
    predictions = np.concatenate(parts) if parts else np.zeros(0, np.uint8)
    metrics = classification_metrics(data.test_labels, predictions)
    metrics["n_test"] = len(data.test_labels)
    metrics["dataset"] = data.name
    return metrics
