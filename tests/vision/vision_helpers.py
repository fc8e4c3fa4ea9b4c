"""Helpers for the vision tests: tiny drawn digits and stand-in models.

A module of its own (not conftest.py) so that tests can import it by a name
that no other test folder uses.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw


class CountingModel:
    """A fake classifier: the class is the number of ink pixels mod 10.

    It lets unit tests check the plumbing (batching, boxes, rejection)
    without any trained model; ``calls`` counts predict_proba calls.
    """

    def __init__(self, confidence: float = 0.9) -> None:
        self.calls = 0
        self.seen: list[np.ndarray] = []
        self.confidence = confidence

    def predict_proba(self, images: np.ndarray) -> np.ndarray:
        self.calls += 1
        assert images.dtype == np.uint8 and images.shape[1:] == (28, 28)
        self.seen.append(images)
        p = np.full((len(images), 10), (1 - self.confidence) / 9)
        p[np.arange(len(images)), (images > 127).sum(axis=(1, 2)) % 10] = self.confidence
        return p


class ExplodingModel:
    """Fails the test if the pipeline calls the model at all."""

    def predict_proba(self, images):  # pragma: no cover - must not run
        raise AssertionError("the model must not be called")


def draw_strokes(width: int = 200, height: int = 80, n: int = 3, ink: int = 20) -> Image.Image:
    """Dark vertical-ish strokes shaped like '1', '0' and '7' on light paper."""
    img = Image.new("L", (width, height), 235)
    d = ImageDraw.Draw(img)
    step = width // (n + 1)
    for i in range(n):
        cx = step * (i + 1)
        if i % 3 == 0:
            d.line([(cx, 15), (cx, height - 15)], fill=ink, width=6)
        elif i % 3 == 1:
            d.ellipse([cx - 14, 15, cx + 14, height - 15], outline=ink, width=6)
        else:
            d.line([(cx - 14, 17), (cx + 14, 17), (cx - 4, height - 15)], fill=ink, width=6)
    return img
