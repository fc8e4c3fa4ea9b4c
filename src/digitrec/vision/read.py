"""Read the digits of an image: load, find the ink, segment, normalise, classify."""

from __future__ import annotations

import base64
import io
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import Image

from digitrec.errors import InputError, ModelError
from digitrec.models.base import Model
from digitrec.vision.io import Loaded, load_image, reduce
from digitrec.vision.normalize import InkMap, ink_map, to_mnist
from digitrec.vision.segment import Piece, segment, select

__all__ = ["DigitResult", "ReadResult", "default_model", "read", "read_many"]


#: Log-prior cost of each extra piece when choosing how to split a component:
#: a split must be clearly more confident than reading the component whole.
SPLIT_PENALTY = math.log(0.5)
#: Other cuts of a component are tried only when a piece of its best first
#: reading is less sure than this.
SURE = 0.9


@dataclass
class DigitResult:
    """One digit read from an image.

    Attributes
    ----------
    digit : int or None
        The digit, or None when its confidence is below ``min_confidence``.
    confidence : float
        Probability of the top class.
    box : tuple of int
        ``(x, y, w, h)`` in the input image's pixels.
    top3 : list of (int, float)
        The three likeliest digits with their probabilities.
    image : numpy.ndarray
        The uint8 (28, 28) image the model saw (white on black).
    """

    digit: int | None
    confidence: float
    box: tuple[int, int, int, int]
    top3: list[tuple[int, float]]
    image: np.ndarray = field(repr=False)

    def to_dict(self, include_images: bool = False) -> dict[str, Any]:
        """JSON-ready dict; ``image`` is a base64 PNG when ``include_images``."""
        d: dict[str, Any] = {
            "digit": self.digit,
            "confidence": round(float(self.confidence), 6),
            "box": [int(v) for v in self.box],
            "top3": [[int(k), round(float(p), 6)] for k, p in self.top3],
        }
        if include_images:
            buf = io.BytesIO()
            Image.fromarray(self.image, "L").save(buf, format="PNG")
            d["image"] = base64.b64encode(buf.getvalue()).decode("ascii")
        return d


@dataclass
class ReadResult:
    """The digits of one image, left to right.

    Attributes
    ----------
    text : str
        The digits as a string, ``?`` for each rejected digit.
    digits : list of DigitResult
    confidence : float
        The least confident digit's confidence; 0.0 when there are no digits.
    reason : str or None
        Why the result is empty (e.g. ``"no ink found"``), else None.
    """

    text: str
    digits: list[DigitResult]
    confidence: float
    reason: str | None = None

    def to_dict(self, include_images: bool = False) -> dict[str, Any]:
        """JSON-ready dict: ``text``, ``digits``, ``confidence`` (and ``reason`` when set)."""
        d: dict[str, Any] = {
            "text": self.text,
            "digits": [g.to_dict(include_images) for g in self.digits],
            "confidence": round(float(self.confidence), 6),
        }
        if self.reason is not None:
            d["reason"] = self.reason
        return d


def default_model() -> Model:
    """The shipped CNN: :func:`digitrec.models.shared_model`, one thread, once per process."""
    from digitrec.models.base import shared_model

    try:
        return shared_model("default", threads=1)
    except ModelError as exc:
        raise ModelError(
            f"digitrec.read: the default model is not available ({exc}); pass model=... "
            "(any object with predict_proba(images uint8 (n, 28, 28)) -> (n, 10))"
        ) from exc


@dataclass
class _Job:
    loaded: Loaded
    ink: InkMap | None
    groups: list[list[list[Piece]]]
    reason: str | None
    # (group, hypothesis) -> the hypothesis' 28x28 crops and their probabilities
    crops: dict[tuple[int, int], list[np.ndarray]] = field(default_factory=dict)
    probs: dict[tuple[int, int], np.ndarray] = field(default_factory=dict)


def _prepare(image: Any) -> _Job:
    loaded = image if isinstance(image, Loaded) else load_image(image)
    g = loaded.gray
    if g.size == 0 or min(g.shape) < 3:
        w, h = loaded.size
        return _Job(loaded, None, [], f"image too small ({w}x{h} pixels)")
    ink = loaded.ink()  # already there when the page layout has read this image
    if ink.reason:
        return _Job(loaded, ink, [], ink.reason)
    if loaded.full is not None:
        loaded, ink = _refine(loaded, ink)
    groups = segment(ink.mask, ink.parts())  # a one-line page's layout labelled them already
    return _Job(loaded, ink, groups, None if groups else "no digits found")


def _crops(job: _Job, key: tuple[int, int]) -> list[np.ndarray]:
    if key not in job.crops:
        ink = job.ink.ink
        job.crops[key] = [
            to_mnist(ink[p.y : p.y + p.h, p.x : p.x + p.w], p.mask)
            for p in job.groups[key[0]][key[1]]
        ]
    return job.crops[key]


def _score(probs: np.ndarray) -> float:
    """Log-product of the pieces' confidences, with a cost per extra piece.

    A right cut makes every piece a confident digit; cutting one digit makes
    unsure fragments.
    """
    # np.clip's values (probabilities, never NaN) without its Python-level checks.
    sure = np.minimum(np.maximum(probs.max(axis=1), 1e-9), 1.0)
    return float(np.log(sure).sum()) + SPLIT_PENALTY * (len(probs) - 1)


def _best(job: _Job, gi: int) -> tuple[int, float]:
    """The evaluated hypothesis of group ``gi`` with the best score."""
    scored = [(_score(p), hi) for (g, hi), p in job.probs.items() if g == gi]
    score, hi = max(scored)
    return hi, score


def _evaluate(model: Any, todo: list[tuple[_Job, tuple[int, int]]]) -> None:
    """One model call for the crops of all listed hypotheses."""
    crops = [c for job, key in todo for c in _crops(job, key)]
    probs = _predict(model, crops)
    i = 0
    for job, key in todo:
        n = len(job.crops[key])
        job.probs[key] = probs[i : i + n]
        i += n


def _refine(loaded: Loaded, ink: InkMap) -> tuple[Loaded, InkMap]:
    """Re-read the region that holds the ink at a finer scale, when that helps.

    A zip code on a large photo shrinks to a few pixels per stroke at working
    size; cropping its region from the full image first keeps the detail.
    """
    g, full = loaded.gray, loaded.full
    ys, xs = np.nonzero(ink.mask)
    pad = max(2, int(0.25 * (ys.max() - ys.min() + 1)))
    f = full.width / g.shape[1]  # full pixels per working pixel
    box = (
        max(0, int((xs.min() - pad) * f)),
        max(0, int((ys.min() - pad) * f)),
        min(full.width, math.ceil((xs.max() + 1 + pad) * f)),
        min(full.height, math.ceil((ys.max() + 1 + pad) * f)),
    )
    region = full.crop(box)
    small = reduce(region)
    step = region.width / small.width  # full pixels per new working pixel
    if step > 0.7 * f:
        return loaded, ink  # the ink spans most of the page: nothing to gain
    gray = np.asarray(small, np.float32) / 255.0
    fine = ink_map(gray)
    if fine.reason:
        return loaded, ink
    to_input = loaded.size[0] / full.width
    return (
        Loaded(
            gray,
            step * to_input,
            loaded.size,
            offset=(box[0] * to_input, box[1] * to_input),
        ),
        fine,
    )


def _box(p: Piece, loaded: Loaded) -> tuple[int, int, int, int]:
    s, (w, h), (ox, oy) = loaded.scale, loaded.size, loaded.offset
    x0, y0 = max(0, math.floor(ox + p.x * s)), max(0, math.floor(oy + p.y * s))
    x1 = min(w, math.ceil(ox + (p.x + p.w) * s))
    y1 = min(h, math.ceil(oy + (p.y + p.h) * s))
    return (x0, y0, max(1, x1 - x0), max(1, y1 - y0))


def _finish(job: _Job, min_confidence: float, max_digits: int | None) -> ReadResult:
    if job.reason:
        return ReadResult("", [], 0.0, job.reason)
    chosen: list[tuple[Piece, np.ndarray, np.ndarray]] = []
    for gi, group in enumerate(job.groups):
        hi, _ = _best(job, gi)
        key = (gi, hi)
        chosen.extend(zip(group[hi], job.probs[key], job.crops[key], strict=True))
    chosen.sort(key=lambda c: c[0].x + c[0].w / 2)  # reading order across groups
    keep = {id(p) for p in select([c[0] for c in chosen], max_digits)}
    digits = []
    for p, row, crop in chosen:
        if id(p) not in keep:
            continue
        order = np.argsort(-row)[:3]
        conf = float(row[order[0]])
        digits.append(
            DigitResult(
                digit=int(order[0]) if conf >= min_confidence else None,
                confidence=conf,
                box=_box(p, job.loaded),
                top3=[(int(k), float(row[k])) for k in order],
                image=crop,
            )
        )
    text = "".join("?" if d.digit is None else str(d.digit) for d in digits)
    conf = min((d.confidence for d in digits), default=0.0)
    return ReadResult(text, digits, conf, None if digits else "no digits found")


def _predict(model: Any, crops: list[np.ndarray]) -> np.ndarray:
    if not crops:
        return np.zeros((0, 10))
    model = default_model() if model is None else model
    probs = np.asarray(model.predict_proba(np.stack(crops)), dtype=np.float64)
    if probs.shape != (len(crops), 10):
        raise ModelError(
            f"model.predict_proba: expected shape ({len(crops)}, 10), found {probs.shape}; "
            "the model must score the ten digits"
        )
    return probs


def _check(min_confidence: float, max_digits: int | None) -> None:
    if not 0.0 <= min_confidence <= 1.0:
        raise InputError(f"min_confidence: expected a value in [0, 1], found {min_confidence}")
    if max_digits is not None and max_digits < 1:
        raise InputError(f"max_digits: expected a positive count or None, found {max_digits}")


def read(
    image: Any,
    *,
    model: Any = None,
    min_confidence: float = 0.0,
    max_digits: int | None = None,
) -> ReadResult:
    """Read the digits in an image, left to right.

    Parameters
    ----------
    image : str, Path, bytes, PIL.Image.Image or numpy.ndarray
        A file (PNG, JPEG, TIFF, BMP, WebP, ...), its bytes, a Pillow image,
        or pixels ((h, w) grey, (h, w, 3) RGB, (h, w, 4) RGBA; uint8 or float
        in [0, 1]). Either polarity: dark ink on light paper or the reverse.
    model : object, optional
        Anything with ``predict_proba(images uint8 (n, 28, 28)) -> (n, 10)``
        taking MNIST-style images. Default: ``load_model("default")``, loaded
        once per process.
    min_confidence : float
        Digits whose top probability is below this are rejected: ``digit`` is
        None and the text shows ``?``.
    max_digits : int, optional
        Keep only this many digits, the largest ones (e.g. 5 for a zip code).

    Returns
    -------
    ReadResult
        ``text``, per-digit results with boxes in the input's pixels, the
        least digit confidence, and a ``reason`` when nothing was found.

    Raises
    ------
    InputError
        The image cannot be read (not an image, truncated, too large...).

    See Also
    --------
    digitrec.read_document : every line of every page of an image, a
        multi-page TIFF or a PDF, in the one output shape.

    Examples
    --------
    >>> import digitrec
    >>> digitrec.read("zip.jpg").text  # doctest: +SKIP
    '02139'
    """
    return read_many([image], model=model, min_confidence=min_confidence, max_digits=max_digits)[0]


def read_many(
    images: Iterable[Any],
    *,
    model: Any = None,
    min_confidence: float = 0.0,
    max_digits: int | None = None,
) -> list[ReadResult]:
    """Read many images, batching the digits of all of them into one model call.

    A second call follows only for components whose first reading is unsure
    (confidence below 0.9), to try the other ways of cutting them.

    Parameters
    ----------
    images : iterable
        Sources as accepted by :func:`read`.
    model, min_confidence, max_digits
        As for :func:`read`.

    Returns
    -------
    list of ReadResult
        One per image, in order. A bad image raises :class:`InputError`
        naming it; load them one by one with :func:`read` to skip bad ones.
    """
    _check(min_confidence, max_digits)
    jobs = [_prepare(im) for im in images]
    # First pass: each component read whole, and a wide one also cut the likeliest
    # way. Second pass, only where no reading is sure: the other cuts.
    first = [
        (job, (gi, hi))
        for job in jobs
        for gi, group in enumerate(job.groups)
        for hi, hyp in enumerate(group)
        if hi == 0 or len(hyp) == 1
    ]
    _evaluate(model, first)
    second = []
    for job in jobs:
        for gi, group in enumerate(job.groups):
            if len(group) == len([k for k in job.probs if k[0] == gi]):
                continue
            hi, _ = _best(job, gi)
            if job.probs[(gi, hi)].max(axis=1).min() < SURE:
                second += [(job, (gi, h)) for h in range(len(group)) if (gi, h) not in job.probs]
    if second:
        _evaluate(model, second)
    return [_finish(job, min_confidence, max_digits) for job in jobs]
