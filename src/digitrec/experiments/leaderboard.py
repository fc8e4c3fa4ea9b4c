"""The classical-model leaderboard: test error, training and prediction time.

Each entry is a scikit-learn pipeline from (n, 28, 28) uint8 images to
labels, trained on the training set and scored on the test set, shown beside
the published figures of the same kind of model (the MNIST page; LeCun et al.
1998, "Gradient-based learning applied to document recognition").
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import ClassifierMixin
from sklearn.decomposition import PCA
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer
from sklearn.svm import SVC

from digitrec._files import write_json
from digitrec.errors import InputError
from digitrec.features import block_sums
from digitrec.features.deskew import deskew
from digitrec.models.knn import ExactKNeighborsClassifier
from digitrec.report import html as H

__all__ = [
    "ENTRIES",
    "PUBLISHED",
    "Entry",
    "leaderboard_html",
    "run_leaderboard",
    "write_leaderboard",
]

#: Published test errors (%) of comparable classical models.
PUBLISHED = {
    "knn_l2": {"model": "K-NN, Euclidean (L2)", "error_pct": 3.09, "source": "MNIST page"},
    "knn_deskew": {
        "model": "K-NN, Euclidean (L2), deskewed",
        "error_pct": 2.4,
        "source": "MNIST page; LeCun et al. 1998",
    },
    "svm_gauss": {"model": "SVM, Gaussian kernel", "error_pct": 1.4, "source": "MNIST page"},
    "svm_poly4_deskew": {
        "model": "SVM, degree-4 polynomial, deskewed",
        "error_pct": 1.1,
        "source": "MNIST page; LeCun et al. 1998",
    },
}


def _flat(images: np.ndarray) -> np.ndarray:
    return np.asarray(images).reshape(len(images), -1).astype(np.float64)


def _study_features(images: np.ndarray) -> np.ndarray:
    # Integer 3x3 block sums: the study's 10x10 features times 9, exact.
    return block_sums(np.asarray(images), 3).astype(np.float64)


def _deskewed(images: np.ndarray) -> np.ndarray:
    return _flat(deskew(images))


def _deskewed_unit(images: np.ndarray) -> np.ndarray:
    return _deskewed(images) / 255.0


def _ft(fn: Callable) -> FunctionTransformer:
    return FunctionTransformer(fn, validate=False)


@dataclass(frozen=True)
class Entry:
    """One leaderboard model.

    Attributes
    ----------
    key : str
        Identifier used on the command line and in the JSON.
    name : str
        What the model is, for the table.
    make : callable
        Returns a fresh, unfitted pipeline from uint8 images to labels.
    published : str
        Key of the comparable figure in :data:`PUBLISHED`.
    """

    key: str
    name: str
    make: Callable[[], ClassifierMixin]
    published: str


ENTRIES: dict[str, Entry] = {
    e.key: e
    for e in [
        Entry(
            "knn_study",
            "KNN k=5, 10x10 local means (the study)",
            lambda: make_pipeline(_ft(_study_features), ExactKNeighborsClassifier(n_neighbors=5)),
            "knn_l2",
        ),
        Entry(
            "knn_raw",
            "KNN k=3, raw 784 pixels",
            lambda: make_pipeline(_ft(_flat), ExactKNeighborsClassifier(n_neighbors=3)),
            "knn_l2",
        ),
        Entry(
            "knn_deskew",
            "KNN k=3, deskewed pixels",
            lambda: make_pipeline(_ft(_deskewed), ExactKNeighborsClassifier(n_neighbors=3)),
            "knn_deskew",
        ),
        Entry(
            "svm_rbf_pca_deskew",
            "RBF SVM (C=10), PCA-50 of deskewed pixels",
            lambda: Pipeline(
                [
                    ("deskew", _ft(_deskewed_unit)),
                    ("pca", PCA(n_components=50, random_state=0)),
                    ("svm", SVC(kernel="rbf", C=10.0, gamma="scale")),
                ]
            ),
            "svm_poly4_deskew",
        ),
    ]
}


def run_leaderboard(
    data,
    models: Iterable[str] | None = None,
    *,
    train_size: int | None = None,
    on_step: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Train and score each model; time both steps.

    Parameters
    ----------
    data : digitrec.data.Data
        Anything with ``train_images``, ``train_labels``, ``test_images``,
        ``test_labels`` (uint8 images (n, 28, 28)) and ``name``.
    models : iterable of str, optional
        Keys of :data:`ENTRIES`; default all.
    train_size : int, optional
        Train on the first ``train_size`` training images only (quick runs).
    on_step : callable, optional
        Called with a short description before each model.

    Returns
    -------
    dict
        ``rows`` (one per model: ``key``, ``model``, ``test_error_pct``,
        ``train_s``, ``predict_s`` (wall), ``train_cpu_s``, ``predict_cpu_s``,
        ``published``), ``published`` (all
        published figures), ``n_train``, ``n_test``, ``dataset``, ``cpu_count``.
    """
    keys = list(ENTRIES) if models is None else list(models)
    unknown = [k for k in keys if k not in ENTRIES]
    if unknown or not keys:
        raise InputError(
            f"models: unknown {', '.join(map(repr, unknown)) or 'empty list'}; "
            f"expected some of {', '.join(ENTRIES)}"
        )
    n_train = len(data.train_labels) if train_size is None else int(train_size)
    if not 1 <= n_train <= len(data.train_labels):
        raise InputError(
            f"train_size={train_size}: expected 1..{len(data.train_labels)} (the training set size)"
        )
    x_train, y_train = data.train_images[:n_train], np.asarray(data.train_labels[:n_train])
    rows = []
    for key in keys:
        entry = ENTRIES[key]
        if on_step:
            on_step(f"{entry.name}: training on {n_train:,} images")
        model = entry.make()
        start, cpu = time.perf_counter(), time.process_time()
        model.fit(x_train, y_train)
        train_s, train_cpu = time.perf_counter() - start, time.process_time() - cpu
        if on_step:
            on_step(f"{entry.name}: predicting {len(data.test_labels):,} images")
        start, cpu = time.perf_counter(), time.process_time()
        pred = model.predict(data.test_images)
        predict_s, predict_cpu = time.perf_counter() - start, time.process_time() - cpu
        error = float((pred != np.asarray(data.test_labels)).mean())
        rows.append(
            {
                "key": key,
                "model": entry.name,
                "test_error_pct": round(100.0 * error, 2),
                "train_s": round(train_s, 2),
                "predict_s": round(predict_s, 2),
                # CPU seconds of this process (all threads): honest on a shared machine.
                "train_cpu_s": round(train_cpu, 2),
                "predict_cpu_s": round(predict_cpu, 2),
                "published": {"key": entry.published, **PUBLISHED[entry.published]},
            }
        )
    return {
        "dataset": getattr(data, "name", "mnist"),
        "n_train": n_train,
        "n_test": len(data.test_labels),
        "cpu_count": os.cpu_count(),
        "rows": rows,
        "published": PUBLISHED,
    }


def leaderboard_html(result: dict[str, Any]) -> str:
    """A self-contained HTML page with the leaderboard and the published figures."""
    rows = sorted(result["rows"], key=lambda r: r["test_error_pct"])
    ours = H.table(
        ["model", "test error %", "train s", "train CPU s", "predict s", "predict CPU s",
         "published, comparable", "published error %"],
        [
            [r["model"], f"{r['test_error_pct']:.2f}", f"{r['train_s']:.1f}",
             f"{r['train_cpu_s']:.1f}", f"{r['predict_s']:.1f}", f"{r['predict_cpu_s']:.1f}",
             r["published"]["model"], f"{r['published']['error_pct']:.2f}"]
            for r in rows
        ],
    )  # fmt: skip
    published = H.table(
        ["model", "test error %", "source"],
        [[p["model"], f"{p['error_pct']:.2f}", p["source"]] for p in result["published"].values()],
    )
    return H.render_page(
        f"Classical models on {result['dataset']}",
        [
            f"Trained on {result['n_train']:,} images, tested on {result['n_test']:,}; "
            f"{result['cpu_count']} CPU cores (shared machines make times approximate)."
        ],
        [
            H.Section("Leaderboard", ours, anchor="leaderboard"),
            H.Section("Published figures", published, anchor="published"),
        ],
    )


def write_leaderboard(result: dict[str, Any], out_dir: str | os.PathLike) -> dict[str, Path]:
    """Write ``leaderboard.json`` and ``leaderboard.html`` into ``out_dir`` (atomically).

    Returns
    -------
    dict
        ``{"json": path, "html": path}``.
    """
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise InputError(f"--out {out}: expected a folder, found a file; choose another path")
    out.mkdir(parents=True, exist_ok=True)
    paths = {"json": out / "leaderboard.json", "html": out / "leaderboard.html"}
    write_json(paths["json"], result)
    H.write_page(paths["html"], leaderboard_html(result))
    return paths
