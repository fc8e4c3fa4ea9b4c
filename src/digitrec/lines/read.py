"""Read one line of handwriting: the numbers on it, words and marks skipped.

:func:`read_line` is the public entry point. Three readers are selectable:

``"ctc"``
    The segmentation-free CRNN + CTC model (:mod:`digitrec.lines.infer`).
``"segment"``
    Today's segment-and-classify reader (:func:`digitrec.vision.read.read`),
    wrapped in the same result type (digits only, no separators, no rejection
    of letters).
``"combined"`` (the default)
    The CTC model decides what the line holds: where it reads words or
    separators its reading stands; where it reads a plain run of digits and
    the segment-and-classify reader finds as many, each digit is the more
    confident of the two readings.

The output marks skipped content in ``skipped``: one entry per word or mark
(``kind="word"``) and per separator dropped from the end of a number
(``kind="separator"``), each with its box; ``reason`` says in words what was
skipped or why the line is empty.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from digitrec.errors import InputError
from digitrec.lines import calibrate
from digitrec.lines.decode import (
    Token,
    greedy,
    letters_among_words,
    line_score,
    marks_between_digits,
    numbers,
    softmax,
)
from digitrec.lines.prep import Prepared, prepare
from digitrec.lines.spec import CLASSES, DIGITS, NOT_DIGIT, READERS, SEPARATORS, STRIDE
from digitrec.vision.io import Loaded, load_image

__all__ = [
    "DEFAULT_READER",
    "READERS",
    "CharResult",
    "LineResult",
    "deskewed_box",
    "ink_box",
    "read_line",
    "spans",
]

#: The reader used when none is named (the best on benchmarks/lines.py).
DEFAULT_READER = "combined"

Box = tuple[int, int, int, int]


@dataclass
class CharResult:
    """One character read: a digit or a separator inside a number.

    Attributes
    ----------
    char : str
        ``0-9``, ``-``, ``/``, ``.`` or ``,``; ``?`` when below ``min_confidence``.
    confidence : float
    box : tuple of int
        ``(x, y, w, h)`` in the input image's pixels.
    top3 : list of (str, float)
    """

    char: str
    confidence: float
    box: Box
    top3: list[tuple[str, float]]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {
            "char": self.char,
            "confidence": round(float(self.confidence), 6),
            "box": [int(v) for v in self.box],
            "top3": [[c, round(float(p), 6)] for c, p in self.top3],
        }


@dataclass
class LineResult:
    """What one line holds.

    Attributes
    ----------
    text : str
        The numbers on the line, left to right, separated by one space; ``""``
        when there is none or the line is rejected.
    confidence : float
        Calibrated probability that ``text`` is exactly right (CTC readers).
    chars : list of CharResult
        The characters of ``text`` (spaces excluded).
    reason : str or None
        Why ``text`` is empty, or what was skipped; None when nothing was.
    skipped : list of dict
        Skipped content: ``{"kind": "word" | "separator", "char": ..., "box": [...]}``.
    accepted : bool
        False when the line confidence is below ``min_confidence``.
    reader : str
    """

    text: str
    confidence: float
    chars: list[CharResult] = field(default_factory=list)
    reason: str | None = None
    skipped: list[dict[str, Any]] = field(default_factory=list)
    accepted: bool = True
    reader: str = DEFAULT_READER

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (``reason`` only when set)."""
        d: dict[str, Any] = {
            "text": self.text,
            "confidence": round(float(self.confidence), 6),
            "chars": [c.to_dict() for c in self.chars],
            "skipped": self.skipped,
            "accepted": self.accepted,
            "reader": self.reader,
        }
        if self.reason is not None:
            d["reason"] = self.reason
        return d


def spans(tokens: list[Token], width: int) -> list[tuple[int, int]]:
    """Columns of the network input that belong to each token.

    CTC fires on a frame or two of each character; its ink reaches halfway to
    the neighbouring characters' frames (or the line's ends).
    """
    out = []
    for i, tk in enumerate(tokens):
        lo = 0 if i == 0 else (tokens[i - 1].end + tk.start) / 2
        hi = width / STRIDE if i == len(tokens) - 1 else (tk.end + tokens[i + 1].start) / 2
        out.append((max(0, round(lo * STRIDE)), min(width, round(hi * STRIDE))))
    return out


def ink_box(span: tuple[int, int], p: Prepared) -> tuple[int, int, int, int]:
    """``(r0, r1, c0, c1)`` of the ink in a span of the network input, in its pixels."""
    c0, c1 = span
    part = p.x[:, c0:c1] > 0.3
    cols, rows = np.nonzero(part.any(axis=0))[0], np.nonzero(part.any(axis=1))[0]
    if cols.size:
        c0, c1 = c0 + int(cols[0]), c0 + int(cols[-1]) + 1
    r0, r1 = (int(rows[0]), int(rows[-1]) + 1) if rows.size else (0, p.x.shape[0])
    return r0, r1, c0, max(c1, c0 + 1)


def _token_box(span: tuple[int, int], p: Prepared, loaded: Loaded) -> Box:
    """The input-pixel box of a token's ink."""
    r0, r1, c0, c1 = ink_box(span, p)
    top, left, h, w = p.crop
    sx, sy = w / p.x.shape[1], h / p.x.shape[0]
    return deskewed_box((top + r0 * sy, top + r1 * sy, left + c0 * sx, left + c1 * sx), p, loaded)


def deskewed_box(edges: tuple[float, float, float, float], p: Prepared, loaded: Loaded) -> Box:
    """Input-pixel box of a region ``(r0, r1, c0, c1)`` of the deskewed working image."""
    r0, r1, c0, c1 = edges
    wr, wc = p.to_working(np.array([r0, r0, r1, r1]), np.array([c0, c1, c0, c1]))
    s, (iw, ih), (ox, oy) = loaded.scale, loaded.size, loaded.offset
    x0, x1 = max(0, math.floor(ox + wc.min() * s)), min(iw, math.ceil(ox + wc.max() * s))
    y0, y1 = max(0, math.floor(oy + wr.min() * s)), min(ih, math.ceil(oy + wr.max() * s))
    return (x0, y0, max(1, x1 - x0), max(1, y1 - y0))


#: Columns of the CTC output that hold the separators (index 0 is the blank).
_SEPARATOR_COLUMNS = [1 + CLASSES.index(c) for c in SEPARATORS]


def _ctc(
    loaded: Loaded, model: Any, digits_only: bool = False
) -> tuple[Prepared | str, np.ndarray, list[Token]]:
    p = prepare(loaded.gray, loaded.ink())  # computed once, shared with the segment reader
    if isinstance(p, str):
        return p, np.zeros((0, 0)), []
    probs = softmax(model.logits(p.x))
    if digits_only:
        # Constrained decoding: a field known to hold only digits cannot hold a
        # separator, so each frame's separator mass goes to the other classes
        # (a slanted MNIST 1 the model calls "/" then reads as the 1 it is).
        probs[:, _SEPARATOR_COLUMNS] = 0.0
        probs /= probs.sum(axis=1, keepdims=True)
    return p, probs, greedy(probs)


def _result(
    loaded: Loaded, p: Prepared, tokens: list[Token], conf: float, min_confidence: float, reader
) -> LineResult:
    nums, skipped = numbers(tokens)
    box = {id(tk): sp for tk, sp in zip(tokens, spans(tokens, p.x.shape[1]), strict=True)}
    chars = [
        CharResult(
            tk.char if tk.confidence >= min_confidence else "?",
            tk.confidence,
            tk.box or _token_box(box[id(tk)], p, loaded),
            tk.top3,
        )
        for n in nums
        for tk in n
    ]
    text = " ".join("".join(chars[i].char for i in _indices(nums, k)) for k in range(len(nums)))
    skips = [
        {
            "kind": "word" if tk.char == NOT_DIGIT else "separator",
            "char": None if tk.char == NOT_DIGIT else tk.char,
            "box": list(tk.box or _token_box(box[id(tk)], p, loaded)),
            "confidence": round(tk.confidence, 6),
        }
        for tk in skipped
    ]
    words = sum(s["kind"] == "word" for s in skips)
    seps = len(skips) - words
    what = ", ".join(
        f"{n} {k}{'s' if n > 1 else ''}" for n, k in ((words, "word"), (seps, "separator")) if n
    )
    reason = None
    if not text:
        reason = f"no number on the line ({what} skipped)" if what else "no characters read"
    elif what:
        reason = f"skipped {what}"
    res = LineResult(text, conf, chars, reason, skips, True, reader)
    if conf < min_confidence:
        res.accepted = False
        res.reason = (
            f"rejected: line confidence {conf:.3f} below min_confidence {min_confidence}"
            f" (read {text!r})"
        )
        res.text = ""
    return res


def _indices(nums: list[list[Token]], k: int) -> range:
    start = sum(len(n) for n in nums[:k])
    return range(start, start + len(nums[k]))


def _segment(loaded: Loaded, min_confidence: float) -> LineResult:
    from digitrec.vision.read import read

    r = read(loaded, min_confidence=min_confidence)
    chars = [
        CharResult(
            "?" if d.digit is None else str(d.digit),
            d.confidence,
            d.box,
            [(str(k), p) for k, p in d.top3],
        )
        for d in r.digits
    ]
    return LineResult(r.text, r.confidence, chars, r.reason, [], True, "segment")


def read_line(
    image: Any,
    *,
    min_confidence: float = 0.0,
    model: Any = None,
    reader: str = "default",
    digits_only: bool = False,
) -> LineResult:
    """Read the numbers on one line of handwriting.

    Parameters
    ----------
    image : str, Path, bytes, PIL.Image.Image or numpy.ndarray
        One line: any height and length, tilted up to +/-5 degrees, dark ink on
        light paper or the reverse (anything :func:`digitrec.vision.io.load_image` reads).
    min_confidence : float
        Lines whose calibrated confidence is below it are rejected (``text`` is
        ``""``, ``accepted`` False, ``reason`` says why); characters below it
        show as ``?``.
    model : LineModel, optional
        Default: the shipped model (``digitrec/models/weights/lines``).
    reader : str
        ``"ctc"``, ``"segment"``, ``"combined"`` or ``"default"`` (:data:`DEFAULT_READER`).
    digits_only : bool
        The line is known to hold only digits (a zip code, a meter reading):
        the separators ``- / . ,`` are never read, and a stroke the model
        doubts between a separator and a digit reads as the digit. Words are
        still skipped. The ``segment`` reader reads only digits anyway.

    Returns
    -------
    LineResult
        ``text`` holds only digits and the separators ``- / . ,`` inside
        numbers; words are never read as digits but listed in ``skipped``.

    Raises
    ------
    InputError
        Unreadable image, or a bad ``min_confidence`` / ``reader``.
    ModelError
        The line model is missing or damaged.

    Examples
    --------
    >>> read_line("total.png").text  # doctest: +SKIP
    '12.50'
    """
    if not 0.0 <= min_confidence <= 1.0:
        raise InputError(f"min_confidence: expected a value in [0, 1], found {min_confidence}")
    reader = DEFAULT_READER if reader == "default" else reader
    if reader not in READERS:
        raise InputError(f"reader: expected one of {READERS} or 'default', found {reader!r}")
    loaded = image if isinstance(image, Loaded) else load_image(image)
    if reader == "segment":
        return _segment(loaded, min_confidence)
    if model is None:
        from digitrec.lines.infer import default_line_model

        model = default_line_model()
    p, probs, tokens = _ctc(loaded, model, digits_only)
    if isinstance(p, str):
        return LineResult("", 0.0, [], p, [], True, reader)
    score, calibration = line_score(probs, tokens), model.calibration
    tokens = letters_among_words(marks_between_digits(tokens))
    if reader == "combined" and tokens and all(tk.char in DIGITS for tk in tokens):
        tokens, agreed = _second_opinion(loaded, tokens)
        if agreed and calibration and calibration.get("agree"):
            # Two readers that fail differently reading the same digits are
            # right far more often than the CTC score alone says: their own map.
            calibration = calibration["agree"]
    conf = calibrate.apply(calibration, score)
    return _result(loaded, p, tokens, conf, min_confidence, reader)


def _second_opinion(loaded: Loaded, tokens: list[Token]) -> tuple[list[Token], bool]:
    """A plain run of CTC digits, each checked against the segment reader's reading.

    When the segment-and-classify reader finds as many digits, each position
    keeps the more confident of the two readings (the digit CNN is the
    stronger classifier of well-separated MNIST-like digits, the CTC model of
    everything else); otherwise the CTC reading stands. Chosen over three other
    rules on validation lines of MNIST *training* digits and training fonts
    (docs/lines.md). Also returns whether the two readers read the same digits.
    """
    seg = _segment(loaded, 0.0)
    if len(seg.chars) != len(tokens) or not seg.text.isdigit():
        return tokens, False
    agreed = seg.text == "".join(tk.char for tk in tokens)
    return [
        tk
        if tk.confidence >= c.confidence
        else replace(tk, char=c.char, confidence=c.confidence, top3=c.top3, box=c.box)
        for tk, c in zip(tokens, seg.chars, strict=True)
    ], agreed
