"""The combined reader: the CTC reading, each digit checked by the digit CNN.

For every digit the CTC model read, the ink of its span (see
:func:`digitrec.lines.read.spans`) is normalised like an MNIST digit and
classified by the shipped digit CNN (all digits of a line in one call). Where
the two agree the reading stands. Where they disagree, the more confident of
the two wins and the line's confidence is multiplied by the loser's doubt
(1 - its confidence), so that disagreements are rejected first.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from digitrec.lines.decode import Token
from digitrec.lines.prep import Prepared
from digitrec.lines.spec import DIGITS
from digitrec.vision.normalize import to_mnist

__all__ = ["check_digits", "digit_crops"]


def digit_crops(p: Prepared, tokens: list[Token]) -> tuple[list[int], np.ndarray]:
    """MNIST-style crops (uint8 (k, 28, 28)) of the digit tokens, and their indices."""
    from digitrec.lines.read import ink_box, spans

    top, left, h, w = p.crop
    sx, sy = w / p.x.shape[1], h / p.x.shape[0]
    idx, crops = [], []
    for i, (tk, span) in enumerate(zip(tokens, spans(tokens, p.x.shape[1]), strict=True)):
        if tk.char not in DIGITS:
            continue
        r0, r1, c0, c1 = ink_box(span, p)
        y0, y1 = int(top + r0 * sy), int(np.ceil(top + r1 * sy))
        x0, x1 = int(left + c0 * sx), int(np.ceil(left + c1 * sx))
        ink = p.ink[y0:y1, x0:x1]
        if ink.size == 0:
            continue
        idx.append(i)
        crops.append(to_mnist(ink, ink > 0.35))
    return idx, np.stack(crops) if crops else np.zeros((0, 28, 28), np.uint8)


def check_digits(
    p: Prepared, tokens: list[Token], conf: float, cnn: Any = None
) -> tuple[list[Token], float]:
    """Check each CTC digit against the digit CNN; returns the tokens and line confidence."""
    from digitrec.vision.read import default_model

    idx, crops = digit_crops(p, tokens)
    if not idx:
        return tokens, conf
    probs = np.asarray((cnn or default_model()).predict_proba(crops), float)
    out = list(tokens)
    for i, row in zip(idx, probs, strict=True):
        tk = tokens[i]
        k = int(row.argmax())
        if str(k) == tk.char:
            continue
        if row[k] > tk.confidence:
            top3 = [(str(int(j)), float(row[j])) for j in np.argsort(-row)[:3]]
            out[i] = replace(tk, char=str(k), confidence=float(row[k]), top3=top3)
            conf *= 1.0 - tk.confidence
        else:
            conf *= 1.0 - float(row[k])
    return out, conf
