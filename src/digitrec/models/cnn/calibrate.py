"""Confidence that means something: temperature scaling, calibration error, rejection.

numpy and scipy only, so calibrated probabilities and their diagnostics are
available wherever inference runs (no torch).
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize_scalar
from scipy.special import log_softmax, softmax

__all__ = [
    "expected_calibration_error",
    "fit_temperature",
    "nll",
    "rejection_table",
    "risk_coverage",
    "softmax_t",
]


def softmax_t(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """Row-wise softmax of ``logits / temperature``."""
    return softmax(np.asarray(logits, dtype=np.float64) / temperature, axis=1)


def nll(logits: np.ndarray, labels: np.ndarray, temperature: float = 1.0) -> float:
    """Mean negative log-likelihood of ``labels`` under ``softmax(logits / T)``."""
    logp = log_softmax(np.asarray(logits, dtype=np.float64) / temperature, axis=1)
    return float(-logp[np.arange(len(labels)), labels].mean())


def fit_temperature(logits: np.ndarray, labels: np.ndarray) -> float:
    """The temperature T > 0 that minimises the NLL of held-out ``labels`` (Guo et al., 2017).

    Parameters
    ----------
    logits : ndarray (n, k)
        Uncalibrated outputs on data the network was not trained on.
    labels : ndarray (n,)
        True classes.

    Returns
    -------
    float
        T; divide logits by it before the softmax. It never changes the argmax,
        so accuracy is untouched.
    """
    labels = np.asarray(labels, dtype=np.int64)
    # Optimise log T: the NLL is smooth and unimodal in it, and T stays positive.
    res = minimize_scalar(
        lambda log_t: nll(logits, labels, float(np.exp(log_t))),
        bounds=(np.log(0.05), np.log(20.0)),
        method="bounded",
    )
    return float(np.exp(res.x))


def expected_calibration_error(probs: np.ndarray, labels: np.ndarray, n_bins: int = 15) -> float:
    """Expected calibration error of the top-class confidence, equal-width bins.

    ECE = sum over bins of (bin share) * |accuracy in bin - mean confidence in bin|.
    """
    probs = np.asarray(probs)
    conf = probs.max(axis=1)
    correct = probs.argmax(axis=1) == np.asarray(labels)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    # bin i holds confidences in (edges[i], edges[i+1]]; a confidence of 0 joins bin 0
    idx = np.clip(np.searchsorted(edges, conf, side="left") - 1, 0, n_bins - 1)
    ece = 0.0
    for b in range(n_bins):
        in_bin = idx == b
        if in_bin.any():
            ece += in_bin.mean() * abs(correct[in_bin].mean() - conf[in_bin].mean())
    return float(ece)


def risk_coverage(probs: np.ndarray, labels: np.ndarray) -> dict[str, np.ndarray]:
    """Selective classification curve: accept the most confident digits first.

    Returns
    -------
    dict
        ``coverage`` (share of digits accepted), ``risk`` (error rate among the
        accepted) and ``threshold`` (the confidence of the last accepted digit),
        each of length n, ordered by decreasing confidence.
    """
    probs = np.asarray(probs)
    conf = probs.max(axis=1)
    wrong = probs.argmax(axis=1) != np.asarray(labels)
    order = np.argsort(-conf, kind="stable")
    n_accepted = np.arange(1, len(conf) + 1)
    return {
        "coverage": n_accepted / len(conf),
        "risk": np.cumsum(wrong[order]) / n_accepted,
        "threshold": conf[order],
    }


def rejection_table(
    probs: np.ndarray,
    labels: np.ndarray,
    thresholds: tuple[float, ...] = (0.0, 0.5, 0.9, 0.99, 0.999),
) -> list[dict[str, float]]:
    """For each confidence threshold: share rejected and error among the rest.

    A digit is rejected when its top probability is below the threshold.
    """
    probs = np.asarray(probs)
    conf = probs.max(axis=1)
    wrong = probs.argmax(axis=1) != np.asarray(labels)
    rows = []
    for t in thresholds:
        keep = conf >= t
        rows.append(
            {
                "threshold": float(t),
                "rejected": float(1 - keep.mean()),
                "n_rejected": int((~keep).sum()),
                "error": float(wrong[keep].mean()) if keep.any() else 0.0,
                "n_errors": int(wrong[keep].sum()),
            }
        )
    return rows
