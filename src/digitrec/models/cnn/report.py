"""The CNN against the study's KNN: metrics and figures for the reproduce report.

The report code (``digitrec.study`` / ``digitrec.report``) calls
:func:`cnn_vs_knn` with the KNN's test-set predictions; everything here runs on
onnxruntime and matplotlib (Agg, no display), no torch.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from digitrec._files import atomic_write
from digitrec.models.cnn.calibrate import expected_calibration_error, rejection_table, risk_coverage

__all__ = ["cnn_vs_knn", "plot_confusions", "plot_errors", "plot_risk_coverage"]


def _save(fig, path: Path) -> Path:
    """Save a figure atomically (no half-written PNG if interrupted)."""
    return atomic_write(
        path, lambda tmp: fig.savefig(tmp, format="png", dpi=120, bbox_inches="tight")
    )


def plot_errors(
    images: np.ndarray,
    labels: np.ndarray,
    probs: np.ndarray,
    path: str | os.PathLike,
    max_digits: int = 80,
    title: str = "Test digits the CNN gets wrong",
) -> Path:
    """Gallery of misclassified digits, most confident mistakes first.

    Each tile reads ``true -> predicted`` and the model's confidence.
    """
    from matplotlib.figure import Figure

    pred = probs.argmax(1)
    conf = probs.max(1)
    wrong = np.flatnonzero(pred != labels)
    wrong = wrong[np.argsort(-conf[wrong], kind="stable")][:max_digits]
    cols = 10
    rows = max(1, int(np.ceil(len(wrong) / cols)))
    fig = Figure(figsize=(cols * 1.0, rows * 1.15 + 0.4))
    fig.suptitle(f"{title} ({len(pred[pred != labels])} of {len(labels)})", fontsize=10)
    for k in range(rows * cols):
        ax = fig.add_subplot(rows, cols, k + 1)
        ax.set_axis_off()
        if k < len(wrong):
            i = wrong[k]
            ax.imshow(images[i], cmap="gray_r", vmin=0, vmax=255)
            ax.set_title(f"{labels[i]}→{pred[i]} {conf[i]:.2f}", fontsize=7, pad=2)
    return _save(fig, Path(path))


def plot_risk_coverage(curves: dict[str, dict[str, np.ndarray]], path: str | os.PathLike) -> Path:
    """Risk (error among accepted digits) against coverage (share accepted), per model."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(5.5, 4))
    ax = fig.add_subplot()
    for name, c in curves.items():
        ax.plot(c["coverage"] * 100, c["risk"] * 100, label=name)
    ax.set_xlabel("coverage: digits accepted (%)")
    ax.set_ylabel("risk: error among accepted (%)")
    ax.set_yscale("symlog", linthresh=0.1)
    ax.set_xlim(50, 100)
    ax.grid(True, alpha=0.3)
    ax.legend()
    ax.set_title("Rejecting the least confident digits")
    return _save(fig, Path(path))


def plot_confusions(matrices: dict[str, np.ndarray], path: str | os.PathLike) -> Path:
    """Heat maps of the errors (off-diagonal counts; the diagonal is left blank)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(5 * len(matrices), 4.4))
    for k, (name, cm) in enumerate(matrices.items()):
        ax = fig.add_subplot(1, len(matrices), k + 1)
        errors = np.array(cm, dtype=float)
        np.fill_diagonal(errors, np.nan)  # correct answers would drown the errors' scale
        im = ax.imshow(errors, cmap="Reds")
        for (r, c), v in np.ndenumerate(np.asarray(cm)):
            if r != c and v:
                ax.text(c, r, str(v), ha="center", va="center", fontsize=7)
        ax.set_xticks(range(10))
        ax.set_yticks(range(10))
        ax.set_xlabel("predicted")
        ax.set_ylabel("true")
        ax.set_title(f"{name}: {int(np.trace(cm))}/{int(np.sum(cm))} correct")
        fig.colorbar(im, ax=ax, shrink=0.8)
    return _save(fig, Path(path))


def cnn_vs_knn(
    data,
    knn_predictions: np.ndarray,
    out_dir: str | os.PathLike,
    model=None,
    knn_proba: np.ndarray | None = None,
) -> dict[str, Any]:
    """Compare the study's KNN with the CNN on the test set; write three figures.

    Parameters
    ----------
    data : digitrec.data.Data
        The MNIST data (only the test set is used).
    knn_predictions : ndarray (n_test,)
        The KNN's predicted labels for ``data.test_images``.
    out_dir : path-like
        Folder for ``cnn_errors.png``, ``cnn_risk_coverage.png``, ``cnn_vs_knn_confusion.png``.
    model : optional
        A model with ``predict_proba`` and ``meta``; default: the shipped CNN.
    knn_proba : ndarray (n_test, 10), optional
        KNN vote fractions, to draw its risk-coverage curve beside the CNN's.

    Returns
    -------
    dict
        ``cnn`` and ``knn`` (accuracy, confusion_matrix, n_errors; for the CNN also
        ece, temperature, rejection table, model name and sha256), ``agreement``
        (digits both get wrong, that only one gets wrong) and ``figures`` (name -> path).
    """
    from digitrec.models.cnn.infer import CnnModel
    from digitrec.report.metrics import classification_metrics

    model = model if model is not None else CnnModel.load("default")
    labels = np.asarray(data.test_labels).astype(np.int64)
    knn_pred = np.asarray(knn_predictions).astype(np.int64)
    if knn_pred.shape != labels.shape:
        from digitrec.errors import InputError

        raise InputError(
            f"knn_predictions: expected {labels.shape[0]} labels (one per test image), "
            f"found shape {knn_pred.shape}"
        )
    probs = model.predict_proba(data.test_images)
    cnn_pred = probs.argmax(1)
    out = Path(out_dir)
    cnn_m = classification_metrics(labels, cnn_pred)
    knn_m = classification_metrics(labels, knn_pred)
    curves = {"CNN (calibrated)": risk_coverage(probs, labels)}
    if knn_proba is not None:
        curves["KNN (vote share)"] = risk_coverage(np.asarray(knn_proba), labels)
    figures = {
        "errors": plot_errors(data.test_images, labels, probs, out / "cnn_errors.png"),
        "risk_coverage": plot_risk_coverage(curves, out / "cnn_risk_coverage.png"),
        "confusion": plot_confusions(
            {
                "KNN": np.array(knn_m["confusion_matrix"]),
                "CNN": np.array(cnn_m["confusion_matrix"]),
            },
            out / "cnn_vs_knn_confusion.png",
        ),
    }
    cnn_wrong, knn_wrong = cnn_pred != labels, knn_pred != labels
    meta = getattr(model, "meta", {}) or {}
    return {
        "cnn": {
            "accuracy": cnn_m["accuracy"],
            "n_errors": int(cnn_wrong.sum()),
            "confusion_matrix": cnn_m["confusion_matrix"],
            "ece": expected_calibration_error(probs, labels),
            "rejection": rejection_table(probs, labels),
            "temperature": meta.get("temperature"),
            "model": meta.get("name"),
            "sha256": meta.get("sha256"),
        },
        "knn": {
            "accuracy": knn_m["accuracy"],
            "n_errors": int(knn_wrong.sum()),
            "confusion_matrix": knn_m["confusion_matrix"],
        },
        "agreement": {
            "both_wrong": int((cnn_wrong & knn_wrong).sum()),
            "only_knn_wrong": int((knn_wrong & ~cnn_wrong).sum()),
            "only_cnn_wrong": int((cnn_wrong & ~knn_wrong).sum()),
        },
        "figures": {k: str(v) for k, v in figures.items()},
    }
