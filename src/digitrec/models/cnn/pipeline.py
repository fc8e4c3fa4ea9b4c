"""From data to a shipped model: train, calibrate, test, save, export.

:func:`build_model` is what ``digitrec train cnn`` runs, and what made the
pretrained model inside the package.
"""

from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path
from typing import Any

import numpy as np

from digitrec._files import write_json
from digitrec.models.cnn.calibrate import (
    expected_calibration_error,
    fit_temperature,
    nll,
    rejection_table,
    softmax_t,
)
from digitrec.models.cnn.export import export_onnx, file_sha256, onnx_metadata, state_arrays
from digitrec.models.cnn.spec import ARCH
from digitrec.models.cnn.train import TrainConfig, TrainResult, predict_logits, train
from digitrec.models.store import MODEL_FILE, save_model

__all__ = ["CARD_FILE", "ONNX_FILE", "build_model", "code_version"]

ONNX_FILE = "model.onnx"
CARD_FILE = "model.json"


def code_version() -> dict[str, Any]:
    """digitrec's version and, inside a git checkout, the commit and whether it was dirty."""
    from digitrec import __version__

    info: dict[str, Any] = {"digitrec": __version__}
    root = Path(__file__).resolve().parents[4]
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=10
        )
        status = subprocess.run(
            ["git", "status", "--porcelain", "--", "src"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=10,
        )
        if commit.returncode == 0:
            info["git_commit"] = commit.stdout.strip()
            info["git_dirty"] = bool(status.stdout.strip())
    except (OSError, subprocess.SubprocessError):
        pass  # not a checkout (installed wheel): the version alone identifies the code
    return info


def _calibration(result: TrainResult, data) -> dict[str, Any]:
    """Fit the temperature on the held-out training images; score it there and on the test set."""
    out: dict[str, Any] = {"temperature": 1.0}
    if len(result.holdout_idx):
        h_logits = predict_logits(result.net, data.train_images[result.holdout_idx])
        h_labels = data.train_labels[result.holdout_idx].astype(np.int64)
        t = fit_temperature(h_logits, h_labels)
        out = {
            "temperature": t,
            "holdout": {
                "n": len(h_labels),
                "accuracy": float((h_logits.argmax(1) == h_labels).mean()),
                "nll_before": nll(h_logits, h_labels),
                "nll_after": nll(h_logits, h_labels, t),
                "ece_before": expected_calibration_error(softmax_t(h_logits), h_labels),
                "ece_after": expected_calibration_error(softmax_t(h_logits, t), h_labels),
            },
        }
    return out


def build_model(
    data,
    config: TrainConfig | None = None,
    out: str | os.PathLike = "models/cnn",
    progress=True,
    dist=None,
) -> dict[str, Any] | None:
    """Train a CNN on ``data``, calibrate and test it, save weights, ONNX and a model card.

    Parameters
    ----------
    data : digitrec.data.Data
        The data set (training images for training and the hold-out, test images
        for the reported metrics only).
    config : TrainConfig, optional
        Training hyper-parameters (defaults: the shipped model's).
    out : path-like
        Folder receiving ``model.safetensors``, ``model.onnx`` and ``model.json``.
    progress : bool
        Show the training progress bar.
    dist : digitrec.models.cnn.ddp.Dist, optional
        Train data-parallel (see :func:`~digitrec.models.cnn.train.train`); only the
        main process calibrates, tests and saves.

    Returns
    -------
    dict
        The model card (also written to ``model.json``): metrics, calibration,
        training run, data checksums, code version, file checksums. None on the
        processes other than the main one of a distributed run.
    """
    import torch

    config = config or TrainConfig()
    code = code_version()  # the code that trains, not whatever is checked out at the end
    result = train(data.train_images, data.train_labels, config, progress=progress, dist=dist)
    if dist is not None and not dist.is_main:
        return None  # the replicas are identical: one process writes the model
    calib = _calibration(result, data)
    t = calib["temperature"]
    metrics = _test_metrics(result, data, t)
    meta = {
        "name": Path(out).name,
        "arch": ARCH,
        "net": result.config.net,
        "temperature": t,
        "input": "uint8 (n, 28, 28), white digit on black (MNIST convention)",
        "metrics": metrics,
        "calibration": calib,
        "training": {
            **result.summary(),
            "device": str(next(result.net.parameters()).device),
            "processes": dist.world_size if dist is not None else 1,
            "torch": torch.__version__,
            "machine": platform.machine(),
        },
        "dataset": {
            "name": data.name,
            "fingerprint": data.fingerprint,
            "checksums": data.checksums,
            "holdout_size": len(result.holdout_idx),
        },
        "code": code,
    }
    return _save(Path(out), result, meta)


def _test_metrics(result: TrainResult, data, t: float) -> dict[str, Any]:
    """Test-set accuracy, NLL, calibration and rejection table at temperature ``t``."""
    test_logits = predict_logits(result.net, data.test_images)
    test_labels = data.test_labels.astype(np.int64)
    test_probs = softmax_t(test_logits, t)
    return {
        "accuracy": float((test_logits.argmax(1) == test_labels).mean()),
        "n_test": len(test_labels),
        "nll": nll(test_logits, test_labels, t),
        "ece": expected_calibration_error(test_probs, test_labels),
        "ece_uncalibrated": expected_calibration_error(softmax_t(test_logits), test_labels),
        "rejection": rejection_table(test_probs, test_labels),
    }


def _save(out: Path, result: TrainResult, meta: dict[str, Any]) -> dict[str, Any]:
    """Write weights, ONNX and the model card (with both files' checksums); return the card."""
    weights = save_model(out, "cnn", state_arrays(result.net), meta)
    onnx_path = export_onnx(result.net, out / ONNX_FILE, onnx_metadata(weights, meta))
    card = {
        **meta,
        "files": {
            MODEL_FILE: {"sha256": file_sha256(weights), "bytes": weights.stat().st_size},
            ONNX_FILE: {"sha256": file_sha256(onnx_path), "bytes": onnx_path.stat().st_size},
        },
    }
    write_json(out / CARD_FILE, card)
    return card
