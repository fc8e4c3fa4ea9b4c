"""Beyond the study: the shipped CNN beside the study's KNN, for the reproduce report.

:func:`cnn_vs_knn` measures both on the test set and draws three figures;
:func:`cnn_section` turns that into the report's section. Everything runs on
onnxruntime and matplotlib, no torch.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from digitrec._files import write_json
from digitrec.errors import InputError
from digitrec.models.cnn.calibrate import expected_calibration_error, rejection_table, risk_coverage
from digitrec.report import html as H
from digitrec.report import plots
from digitrec.report.metrics import interval_text

__all__ = ["cnn_section", "cnn_vs_knn"]

#: The CNN figures' resolution (the study's own use plots.save_figure's default).
_DPI = 120


def _agreement(labels: np.ndarray, cnn_pred: np.ndarray, knn_pred: np.ndarray) -> dict:
    cnn_wrong, knn_wrong = cnn_pred != labels, knn_pred != labels
    return {
        "both_wrong": int((cnn_wrong & knn_wrong).sum()),
        "only_knn_wrong": int((knn_wrong & ~cnn_wrong).sum()),
        "only_cnn_wrong": int((cnn_wrong & ~knn_wrong).sum()),
    }


def _figures(data, labels, probs, cnn_m, knn_m, knn_proba, out: Path) -> dict[str, str]:
    """Draw the three figures into ``out``; name -> path."""
    curves = {"CNN (calibrated)": risk_coverage(probs, labels)}
    if knn_proba is not None:
        curves["KNN (vote share)"] = risk_coverage(np.asarray(knn_proba), labels)
    matrices = {
        "KNN": np.array(knn_m["confusion_matrix"]),
        "CNN": np.array(cnn_m["confusion_matrix"]),
    }
    figures = {
        "errors": (plots.plot_errors(data.test_images, labels, probs), "cnn_errors.png"),
        "risk_coverage": (plots.plot_risk_coverage(curves), "cnn_risk_coverage.png"),
        "confusion": (
            plots.plot_confusion(matrices, errors_only=True),
            "cnn_vs_knn_confusion.png",
        ),
    }
    return {
        key: str(plots.save_figure(fig, out / name, dpi=_DPI))
        for key, (fig, name) in figures.items()
    }


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
    model : Model, optional
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
    from digitrec.models import load_model
    from digitrec.report.metrics import classification_metrics, interval

    labels = np.asarray(data.test_labels).astype(np.int64)
    knn_pred = np.asarray(knn_predictions).astype(np.int64)
    if knn_pred.shape != labels.shape:
        raise InputError(
            f"knn_predictions: expected {labels.shape[0]} labels (one per test image), "
            f"found shape {knn_pred.shape}"
        )
    model = model if model is not None else load_model("default")
    probs = model.predict_proba(data.test_images)
    cnn_pred = probs.argmax(1)
    cnn_m = classification_metrics(labels, cnn_pred)
    knn_m = classification_metrics(labels, knn_pred)
    figures = _figures(data, labels, probs, cnn_m, knn_m, knn_proba, Path(out_dir))
    meta = getattr(model, "meta", {}) or {}
    return {
        "cnn": {
            "accuracy": cnn_m["accuracy"],
            "ci95": interval(cnn_m["accuracy"], len(labels)),
            "n_errors": int((cnn_pred != labels).sum()),
            "confusion_matrix": cnn_m["confusion_matrix"],
            "ece": expected_calibration_error(probs, labels),
            "rejection": rejection_table(probs, labels),
            "temperature": meta.get("temperature"),
            "model": meta.get("name"),
            "sha256": meta.get("sha256"),
        },
        "knn": {
            "accuracy": knn_m["accuracy"],
            "ci95": interval(knn_m["accuracy"], len(labels)),
            "n_errors": int((knn_pred != labels).sum()),
            "confusion_matrix": knn_m["confusion_matrix"],
        },
        "agreement": _agreement(labels, cnn_pred, knn_pred),
        "figures": figures,
    }


def cnn_section(data, out_dir: str | Path, context: dict) -> H.Section:
    """Compare the final KNN's test predictions with the shipped CNN's.

    Writes ``cnn.json`` and three figures into ``out_dir``; returns the section.
    ``context["predictions"]`` holds the KNN's test-set predictions.
    """
    out = Path(out_dir)
    result = cnn_vs_knn(data, context["predictions"], out)
    write_json(out / "cnn.json", result)
    cnn, knn, agree = result["cnn"], result["knn"], result["agreement"]
    fewer = 1 - cnn["n_errors"] / max(knn["n_errors"], 1)
    knn_ci, cnn_ci = ("95% CI " + interval_text(m["ci95"]) for m in (knn, cnn))
    body = H.cards(
        [
            (f"{knn['accuracy']:.4f}", f"the study's KNN (k=5, 10x10); {knn_ci}"),
            (f"{cnn['accuracy']:.4f}", f"the shipped CNN ({cnn['model'] or 'default'}); {cnn_ci}"),
            (f"{fewer:.0%}", f"fewer errors: {cnn['n_errors']} against {knn['n_errors']}"),
            (f"{cnn['ece']:.4f}", "CNN expected calibration error (15 bins)"),
        ]
    )
    body += H.table(
        ["", "count"],
        [
            ["digits both models get wrong", agree["both_wrong"]],
            ["only the KNN gets wrong", agree["only_knn_wrong"]],
            ["only the CNN gets wrong", agree["only_cnn_wrong"]],
        ],
    )
    body += "<h3>Confusion matrices</h3>" + H.figure(
        result["figures"]["confusion"], "Rows: true digit; columns: predicted digit."
    )
    body += "<h3>What the CNN still gets wrong</h3>" + H.figure(
        result["figures"]["errors"],
        "Every test digit the CNN misreads, with its answer, the truth and its confidence.",
    )
    body += "<h3>Confidence and rejection</h3>" + H.figure(
        result["figures"]["risk_coverage"],
        "Error among the digits kept (log scale; 0: no error) against the share kept, as the "
        "confidence threshold rises; the coverage axis starts shortly before the first error.",
    )
    body += H.table(
        ["reject below confidence", "rejected", "error on the rest", "errors left"],
        [
            [f"{r['threshold']:g}", f"{r['rejected']:.2%}", f"{r['error']:.3%}", r["n_errors"]]
            for r in cnn["rejection"]
        ],
    )
    return H.Section(
        "Beyond the study: the CNN",
        body,
        lead="digitrec ships a small convolutional network trained on a laptop CPU. "
        "Its probabilities are temperature-scaled on held-out training images, so a "
        "threshold on confidence trades coverage for error in a predictable way.",
        anchor="cnn",
    )
