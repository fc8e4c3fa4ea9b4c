"""CTC decoding in numpy: frames -> characters with confidences, then numbers.

Shared by training (calibration on the PyTorch network) and inference
(onnxruntime), so both score lines the same way.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, replace

import numpy as np

from digitrec.lines.spec import BLANK, CLASSES, DIGITS, NOT_DIGIT, SEPARATORS

__all__ = [
    "Token",
    "expected_text",
    "greedy",
    "letters_among_words",
    "line_score",
    "marks_between_digits",
    "numbers",
    "softmax",
    "tokens_text",
]


@dataclass
class Token:
    """One character of the CTC reading.

    Attributes
    ----------
    char : str
        From :data:`~digitrec.lines.spec.CLASSES` (``X``: a word or mark, not a digit).
    confidence : float
        Highest probability of the character over its frames.
    start, end : int
        Its frames ``[start, end)``.
    top3 : list of (str, float)
        The three likeliest characters at its peak frame (blank excluded, renormalised).
    box : tuple of int, optional
        Its box in input pixels, when a reader found it otherwise than by frames.
    """

    char: str
    confidence: float
    start: int
    end: int
    top3: list[tuple[str, float]]
    box: tuple[int, int, int, int] | None = None


def softmax(logits: np.ndarray) -> np.ndarray:
    """Softmax over the last axis (float64)."""
    z = logits.astype(np.float64)
    z = np.exp(z - z.max(axis=-1, keepdims=True))
    return z / z.sum(axis=-1, keepdims=True)


def greedy(probs: np.ndarray) -> list[Token]:
    """Best-path decoding of one line's frame probabilities (T, classes)."""
    best = probs.argmax(axis=1)
    tokens: list[Token] = []
    t = 0
    while t < len(best):
        k = int(best[t])
        end = t
        while end < len(best) and best[end] == k:
            end += 1
        if k != BLANK:
            run = probs[t:end, k]
            peak = t + int(run.argmax())
            p = probs[peak, 1:] / max(1e-12, probs[peak, 1:].sum())
            order = np.argsort(-p)[:3]
            tokens.append(
                Token(
                    CLASSES[k - 1],
                    float(run.max()),
                    t,
                    end,
                    [(CLASSES[int(i)], float(p[i])) for i in order],
                )
            )
        t = end
    return tokens


def line_score(probs: np.ndarray, tokens: list[Token]) -> float:
    """Uncalibrated confidence of a reading: every character sure, and no character missed.

    The product of the characters' confidences, times the least sure blank
    frame's blank probability (a doubtful blank is a character maybe missed).
    """
    best = probs.argmax(axis=1)
    blanks = probs[best == BLANK, BLANK]
    missed = float(blanks.min()) if blanks.size else 1.0
    return float(np.prod([tk.confidence for tk in tokens])) * missed


#: Least probability of a digit among a mark's top 3 for it to be read as that digit
#: when it stands between two digits (see :func:`marks_between_digits`).
MARK_DIGIT_MIN = 0.05


def marks_between_digits(tokens: list[Token]) -> list[Token]:
    """Read a lone mark between two digits as the digit it may be.

    Alone, a ``1`` is also an ``l`` or an ``I``: written apart from its
    neighbours (one digit per comb box, wide handwriting) the model may call it
    a one-letter word (``X``), cutting ``57182`` into ``57 82``. A word
    standing between two digits, with no separator, is rare on paper; so an
    ``X`` with a digit directly on each side becomes its likeliest digit when
    that digit has at least :data:`MARK_DIGIT_MIN` of its top 3.
    """
    out = list(tokens)
    for i in range(1, len(out) - 1):
        tk = out[i]
        if tk.char != NOT_DIGIT or out[i - 1].char not in DIGITS or out[i + 1].char not in DIGITS:
            continue
        alt = [(c, p) for c, p in tk.top3 if c in DIGITS and p >= MARK_DIGIT_MIN]
        if alt:
            out[i] = replace(tk, char=alt[0][0], confidence=alt[0][1])
    return out


#: A run of at most this many digits between words is a word's letters unless ...
LETTER_RUN = 2
#: ... one of its digits is read at least this confidently (see :func:`letters_among_words`).
LETTER_DIGIT_MIN = 0.9


def letters_among_words(tokens: list[Token]) -> list[Token]:
    """Read a short, doubtful run of digits among words as part of the words.

    A round ``o`` reads as ``0``, an ``l`` as ``1``, a ``g`` as ``9``: in a
    line of words the model sometimes calls one letter a digit, at 0.5-0.86
    on validation lines (training fonts). A real number beside a word (a
    house number, ``Page 2``) is read far more surely. So on a line holding a
    word (``X``), a run of digits and separators between words (or a word
    and the line's end) with at most :data:`LETTER_RUN` digits, none read
    with :data:`LETTER_DIGIT_MIN` or more, becomes part of the words.
    """
    if not any(tk.char == NOT_DIGIT for tk in tokens):
        return list(tokens)
    out = list(tokens)
    bounds = [-1] + [i for i, tk in enumerate(out) if tk.char == NOT_DIGIT] + [len(out)]
    for a, b in itertools.pairwise(bounds):
        digits = [tk for tk in out[a + 1 : b] if tk.char in DIGITS]
        if 0 < len(digits) <= LETTER_RUN and max(tk.confidence for tk in digits) < LETTER_DIGIT_MIN:
            out[a + 1 : b] = [replace(tk, char=NOT_DIGIT) for tk in out[a + 1 : b]]
    return out


def numbers(tokens: list[Token]) -> tuple[list[list[Token]], list[Token]]:
    """Split a reading into numbers; words and stray separators are skipped.

    A number is a run of digits and separators between words (``X``);
    separators at either end of a run are not part of it (``-`` before
    ``12`` or a full stop after it).

    Returns
    -------
    numbers : list of list of Token
        Each number's characters, left to right.
    skipped : list of Token
        The words (``X``) and the separators dropped from the ends of numbers.
    """
    runs: list[list[Token]] = [[]]
    skipped: list[Token] = []
    for tk in tokens:
        if tk.char == NOT_DIGIT:
            skipped.append(tk)
            runs.append([])
        else:
            runs[-1].append(tk)
    out = []
    for run in runs:
        digits = [i for i, tk in enumerate(run) if tk.char in DIGITS]
        if not digits:
            skipped.extend(run)
            continue
        lo, hi = digits[0], digits[-1] + 1
        skipped.extend(run[:lo] + run[hi:])
        out.append(run[lo:hi])
    assert all(tk.char in DIGITS + SEPARATORS for n in out for tk in n)
    return out, sorted(skipped, key=lambda tk: tk.start)


def tokens_text(tokens: list[Token]) -> str:
    """The text of a reading: its numbers, separated by one space."""
    return " ".join("".join(tk.char for tk in n) for n in numbers(tokens)[0])


def expected_text(label: str) -> str:
    """What a perfect reader outputs for a generated line's label (``X``: a word)."""
    runs = [r.strip(SEPARATORS) for r in label.split(NOT_DIGIT)]
    return " ".join(r for r in runs if any(c in DIGITS for c in r))
