"""Line confidence calibration (isotonic) and its report: ECE, reliability, risk-coverage.

The raw score of a reading (:func:`digitrec.lines.decode.line_score`) is mapped
to the probability that the whole line is read exactly right by an isotonic
regression fitted on generated lines in the *training* fonts (fresh seed; the
held-out fonts are the test). The fitted step function is stored as two arrays
in the model's metadata and applied with ``numpy.interp``: no scikit-learn at
inference.
"""

from __future__ import annotations

import numpy as np

__all__ = ["apply", "ece", "fit", "reliability", "risk_coverage"]


def fit(scores: np.ndarray, correct: np.ndarray) -> dict[str, list[float]]:
    """Fit score -> P(correct); returns ``{"x": [...], "y": [...]}`` (increasing)."""
    from sklearn.isotonic import IsotonicRegression

    iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip")
    iso.fit(np.asarray(scores, float), np.asarray(correct, float))
    return {"x": iso.X_thresholds_.tolist(), "y": iso.y_thresholds_.tolist()}


def apply(calibration: dict[str, list[float]] | None, score: float) -> float:
    """Calibrated confidence of a raw score (identity without a calibration)."""
    if not calibration or not calibration.get("x"):
        return float(score)
    return float(np.interp(score, calibration["x"], calibration["y"]))


def reliability(conf: np.ndarray, correct: np.ndarray, bins: int = 10) -> list[dict]:
    """Per confidence bin: count, mean confidence, accuracy (the reliability diagram)."""
    conf, correct = np.asarray(conf, float), np.asarray(correct, float)
    edges = np.linspace(0, 1, bins + 1)
    idx = np.clip(np.digitize(conf, edges[1:-1]), 0, bins - 1)
    out = []
    for b in range(bins):
        m = idx == b
        if m.any():
            out.append(
                {
                    "bin": [round(edges[b], 2), round(edges[b + 1], 2)],
                    "n": int(m.sum()),
                    "confidence": round(float(conf[m].mean()), 4),
                    "accuracy": round(float(correct[m].mean()), 4),
                }
            )
    return out


def ece(conf: np.ndarray, correct: np.ndarray, bins: int = 15) -> float:
    """Expected calibration error over equal-width bins."""
    conf, correct = np.asarray(conf, float), np.asarray(correct, float)
    if conf.size == 0:
        return 0.0
    idx = np.clip(np.digitize(conf, np.linspace(0, 1, bins + 1)[1:-1]), 0, bins - 1)
    return float(
        sum(
            abs(conf[idx == b].mean() - correct[idx == b].mean()) * (idx == b).mean()
            for b in range(bins)
            if (idx == b).any()
        )
    )


def risk_coverage(conf: np.ndarray, correct: np.ndarray, risks=(0.01, 0.005)) -> dict[str, float]:
    """Largest share of lines accepted (most confident first) with error at most each risk.

    Ties in confidence are accepted or rejected together.
    """
    conf, correct = np.asarray(conf, float), np.asarray(correct, bool)
    n = conf.size
    out = {}
    if n == 0:
        return {f"coverage_at_{r}": 0.0 for r in risks}
    order = np.argsort(-conf, kind="stable")
    errors = np.cumsum(~correct[order])
    counts = np.arange(1, n + 1)
    # only cut where the next line is less confident (ties go together)
    cut_ok = np.append(conf[order][1:] < conf[order][:-1], True)
    for r in risks:
        ok = (errors / counts <= r) & cut_ok
        out[f"coverage_at_{r}"] = round(float(counts[ok].max() / n) if ok.any() else 0.0, 4)
    return out
