"""Read whole pages and documents: find the lines, read each, one result per page.

The line reader is pluggable: any callable ``reader(image, *, min_confidence)``
returning an object with ``text``, ``confidence``, ``chars`` (each with
``char``, ``confidence``, ``box``, ``top3``, as attributes or dict keys) and
optionally ``reason``. If it also has ``many(images, *, min_confidence)``, all
the lines of a page go through it in one call (one batched model call).
Boxes it returns are in the pixels of the image it was given.
The default, :class:`AutoReader`, reads an image of one line as
:func:`digitrec.read` reads it, with :class:`SegmentReader` (the
segment-and-classify reader, :func:`digitrec.vision.read.read_many`: digits
only, the best on MNIST-like digit strips), and the lines of a page of
several lines (or of ruled paper and forms) with :class:`LineReader`
(:func:`digitrec.lines.read_line`: the CTC line model checked by the digit
CNN, which reads separators and skips words, the best on forms). Either can
be chosen for every page instead (``reader="segment"`` / ``"combined"``).

A page on which the layout finds at most one line and no printed rules is
read whole, as given: with :class:`SegmentReader` a one-line image reads
exactly as :func:`digitrec.read` reads it. With rules (ruled paper, comb
boxes, form lines), every line is read from its crop, with the rules painted
over, and rules alone read as nothing.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from digitrec.errors import InputError
from digitrec.pages.documents import Page, iter_pages
from digitrec.pages.layout import Cell, Layout, Line, find_lines
from digitrec.pages.result import CharResult, LineResult, PageResult
from digitrec.vision.io import Loaded, load_image, reduce, to_float
from digitrec.vision.normalize import grow, to_mnist

__all__ = [
    "PAGE_PIXELS",
    "PAGE_READERS",
    "AutoReader",
    "LineReader",
    "SegmentReader",
    "check_reader_name",
    "make_line_reader",
    "read_document",
    "read_page",
    "reads_with_digit_model",
]

#: Pages are laid out at most this many pixels (a letter page at about 120 dpi).
PAGE_PIXELS = 1_200_000

#: Every name :func:`make_line_reader` accepts: ``auto`` (the default), today's
#: ``segment`` reader, and the :mod:`digitrec.lines` readers (``default`` is ``combined``).
PAGE_READERS = ("auto", "segment", "combined", "ctc", "default")


@dataclass
class _Reading:
    """A line reader's answer, normalised: chars in the pixels of the image it read."""

    text: str
    confidence: float
    chars: list[CharResult] = field(default_factory=list)
    reason: str | None = None


def _get(obj: Any, key: str, default: Any = None) -> Any:
    return obj.get(key, default) if isinstance(obj, dict) else getattr(obj, key, default)


def _normalise(result: Any) -> _Reading:
    """Any line reader's result as a :class:`_Reading`."""
    chars = []
    for c in _get(result, "chars", None) or []:
        top3 = [(str(k), float(p)) for k, p in (_get(c, "top3", None) or [])]
        box = tuple(int(v) for v in _get(c, "box"))
        chars.append(CharResult(str(_get(c, "char")), float(_get(c, "confidence")), box, top3))
    return _Reading(
        str(_get(result, "text", "") or ""),
        float(_get(result, "confidence", 0.0) or 0.0),
        chars,
        _get(result, "reason", None),
    )


class SegmentReader:
    """Today's segment-and-classify reader as a line reader.

    Parameters
    ----------
    model : object, optional
        As for :func:`digitrec.vision.read.read` (default: the shipped CNN).
    max_digits : int, optional
        Keep at most this many digits per line, the largest ones, as
        :func:`digitrec.vision.read.read` does for an image.
    """

    #: It reads a :class:`~digitrec.vision.io.Loaded` as it reads the file itself.
    accepts_loaded = True

    def __init__(self, model: Any = None, *, max_digits: int | None = None) -> None:
        if max_digits is not None and max_digits < 1:
            raise InputError(f"max_digits: expected a positive count or None, found {max_digits}")
        self.model = model
        self.max_digits = max_digits

    @staticmethod
    def _convert(r: Any) -> _Reading:
        chars = [
            CharResult(
                "?" if d.digit is None else str(d.digit),
                d.confidence,
                tuple(d.box),
                [(str(k), p) for k, p in d.top3],
            )
            for d in r.digits
        ]
        return _Reading(r.text, r.confidence, chars, r.reason)

    def many(self, images: list[Any], *, min_confidence: float = 0.0) -> list[_Reading]:
        """Read several line images with one batched model call."""
        from digitrec.vision.read import read_many

        results = read_many(
            images, model=self.model, min_confidence=min_confidence, max_digits=self.max_digits
        )
        return [self._convert(r) for r in results]

    def __call__(self, image: Any, *, min_confidence: float = 0.0) -> _Reading:
        """Read one line image."""
        return self.many([image], min_confidence=min_confidence)[0]


class LineReader:
    """The line reader of :mod:`digitrec.lines` as a page's line reader.

    It reads digits and the separators ``- / . ,`` inside numbers, and skips
    words and marks (a word-only line reads as nothing).

    Parameters
    ----------
    reader : str
        ``"default"`` (:data:`digitrec.lines.read.DEFAULT_READER`: the CTC
        model with the digit CNN's second opinion), ``"ctc"`` or ``"combined"``.
    digits_only : bool
        Every line holds only digits: separators are never read
        (see :func:`digitrec.lines.read.read_line`).
    """

    #: It reads a :class:`~digitrec.vision.io.Loaded` as it reads the file itself.
    accepts_loaded = True

    def __init__(self, reader: str = "default", *, digits_only: bool = False) -> None:
        from digitrec.lines.spec import READER_NAMES

        if reader not in READER_NAMES:
            raise InputError(f"reader: expected one of {READER_NAMES}, found {reader!r}")
        self.reader = reader
        self.digits_only = digits_only

    def __call__(self, image: Any, *, min_confidence: float = 0.0) -> Any:
        """Read one line image."""
        from digitrec.lines.read import read_line

        return read_line(
            image, reader=self.reader, min_confidence=min_confidence, digits_only=self.digits_only
        )


class AutoReader:
    """The default page reader: one-line images as :func:`digitrec.read` reads them,
    the lines of other pages with the line model.

    An image in which the layout finds one line and no printed rules goes
    whole to :class:`SegmentReader`, so it reads exactly as it always has
    (digit strips, the drawing page, single digits). Every line of a page of
    several lines, or of ruled paper and forms, goes to :class:`LineReader`:
    such lines hold dates, amounts and labels, which only the line model reads
    (on the pages benchmark it gets 64% of pages right against 4%).

    Parameters
    ----------
    model : object, optional
        The digit CNN of the one-line reads (default: the shipped CNN).
    max_digits : int, optional
        As for :class:`SegmentReader` (one-line images only).
    digits_only : bool
        As for :class:`LineReader` (pages of several lines).
    """

    accepts_loaded = True

    def __init__(
        self, model: Any = None, *, max_digits: int | None = None, digits_only: bool = False
    ) -> None:
        self.one_line = SegmentReader(model, max_digits=max_digits)
        self.lines = LineReader("default", digits_only=digits_only)

    def __call__(self, image: Any, *, min_confidence: float = 0.0) -> _Reading:
        """Read one image as one line (as :func:`digitrec.read` does)."""
        return self.one_line(image, min_confidence=min_confidence)


def check_reader_name(name: str) -> None:
    """Raise :class:`~digitrec.errors.InputError` unless ``name`` is one of :data:`PAGE_READERS`."""
    if name not in PAGE_READERS:
        raise InputError(
            f"reader: expected one of {', '.join(PAGE_READERS)}, found {name!r}; "
            "auto (the default) fits most pages"
        )


def reads_with_digit_model(name: str) -> bool:
    """Whether the reader called ``name`` reads with a digit model (``--model``)."""
    return name in ("auto", "segment")


def make_line_reader(
    name: str = "auto", *, digits_only: bool = False, **segment_options: Any
) -> Any:
    """The page line reader called ``name`` (one of :data:`PAGE_READERS`).

    ``auto`` is :class:`AutoReader`, ``segment`` :class:`SegmentReader`, and
    ``combined``/``ctc``/``default`` a :class:`LineReader`. ``digits_only``
    goes to the line model (the segment reader reads only digits anyway);
    ``segment_options`` (``model``, ``max_digits``) go to the segment reader.

    Raises
    ------
    InputError
        ``name`` is not one of :data:`PAGE_READERS`.
    """
    check_reader_name(name)
    if name == "auto":
        return AutoReader(digits_only=digits_only, **segment_options)
    if name == "segment":
        return SegmentReader(**segment_options)
    return LineReader(name, digits_only=digits_only)


def _read_all(reader: Any, images: list[Any], min_confidence: float) -> list[_Reading]:
    many = getattr(reader, "many", None)
    if many is not None:
        results = many(images, min_confidence=min_confidence)
    else:
        results = [reader(im, min_confidence=min_confidence) for im in images]
    return [r if isinstance(r, _Reading) else _normalise(r) for r in results]


def _compact(line: Line) -> np.ndarray:
    """A comb row's digits side by side at a handwriting's spacing (grey, paper 1.0).

    Written one per box, digits stand a box apart: a line reader takes a lone
    ``1`` or ``0`` that far from its neighbours for a mark. Drawn close
    together, centred on one line, they read as the number they are.
    """
    cells = line.cells
    gap = max(2, round(0.3 * line.height))
    h = max(c.mask.shape[0] for c in cells)
    w = sum(c.mask.shape[1] for c in cells) + gap * (len(cells) + 1)
    out = np.zeros((h + 2 * gap, w), np.float32)
    x = gap
    for c in cells:
        ch, cw = c.mask.shape
        y = gap + (h - ch) // 2
        near = grow(c.mask)
        out[y : y + ch, x : x + cw] = np.where(near, c.ink, 0.0)
        x += cw + gap
    return 1.0 - out


def _cnn_cells(cells: list[Cell], model: Any, min_confidence: float) -> _Reading:
    """One digit per box, each read alone by the digit CNN."""
    from digitrec.vision.read import default_model

    model = default_model() if model is None else model
    crops = np.stack([to_mnist(c.ink, c.mask) for c in cells])
    chars = []
    for c, row in zip(cells, np.asarray(model.predict_proba(crops), np.float64), strict=True):
        order = np.argsort(-row)[:3]
        conf = float(row[order[0]])
        char = str(int(order[0])) if conf >= min_confidence else "?"
        top3 = [(str(int(j)), float(row[j])) for j in order]
        chars.append(CharResult(char, conf, c.box, top3))
    return _Reading("".join(c.char for c in chars), min(c.confidence for c in chars), chars)


def _read_cells(reader: Any, lines: list[Line], min_confidence: float) -> list[_Reading]:
    """Comb rows: one digit per box, in the boxes' order.

    A line reader reads the row's digits drawn close together
    (:func:`_compact`); where it finds one digit per box, that reading
    stands, each character given its box. Otherwise, and always for the
    segment reader, each box is read alone by the digit CNN (the reader's
    ``model`` if it has one). Boxes are in the page's working pixels.
    """
    if isinstance(reader, SegmentReader):
        # The segment reader is the digit CNN behind a segmenter; with the boxes
        # known there is nothing left to segment. On validation pages this reads
        # 85.2% of comb rows right, against 82.0% through the segmenter.
        return [_cnn_cells(ln.cells, reader.model, min_confidence) for ln in lines]
    readings = _read_all(reader, [_compact(ln) for ln in lines], min_confidence)
    out = []
    for ln, r in zip(lines, readings, strict=True):
        digits = [c for c in r.chars if c.char.isdigit() or c.char == "?"]
        if r.text.replace("?", "").isdigit() and len(digits) == len(r.text) == len(ln.cells):
            chars = [replace(c, box=cell.box) for c, cell in zip(digits, ln.cells, strict=True)]
            out.append(_Reading(r.text, r.confidence, chars))
        else:
            out.append(_cnn_cells(ln.cells, getattr(reader, "model", None), min_confidence))
    return out


def _read_lines(reader: Any, lay: Layout, min_confidence: float) -> list[_Reading]:
    """Every line of a laid-out page: comb rows box by box, the others by ``reader``.

    Characters' boxes are in the pixels of the line's crop (origin ``Line.origin``).
    """
    comb = [k for k, ln in enumerate(lay.lines) if ln.cells]
    rest = [k for k, ln in enumerate(lay.lines) if not ln.cells]
    out: list[_Reading | None] = [None] * len(lay.lines)
    if rest:
        got = _read_all(reader, [lay.lines[k].crop for k in rest], min_confidence)
        for k, r in zip(rest, got, strict=True):
            out[k] = r
    if comb:
        got = _read_cells(reader, [lay.lines[k] for k in comb], min_confidence)
        for k, r in zip(comb, got, strict=True):
            ox, oy = lay.lines[k].origin  # cell boxes are in working pixels: to the crop's
            for c in r.chars:
                c.box = (c.box[0] - ox, c.box[1] - oy, c.box[2], c.box[3])
            out[k] = r
    return out  # type: ignore[return-value]


def _to_page(box, origin: tuple[float, float], scale: float, size) -> tuple[int, int, int, int]:
    """A box in crop (or working) pixels to the page's pixels."""
    x, y, w, h = box
    ox, oy = origin
    x0, y0 = max(0, math.floor((x + ox) * scale)), max(0, math.floor((y + oy) * scale))
    x1 = min(size[0], math.ceil((x + ox + w) * scale))
    y1 = min(size[1], math.ceil((y + oy + h) * scale))
    return (x0, y0, max(1, x1 - x0), max(1, y1 - y0))


def _working(loaded: Loaded, max_pixels: int) -> tuple[np.ndarray, float]:
    """The page in grey at layout size, and page pixels per working pixel."""
    if loaded.full is None:
        gray = loaded.gray
        if gray.size > max_pixels:  # an array given as it is: reduce like a file
            from PIL import Image

            img = reduce(Image.fromarray((gray * 255 + 0.5).astype(np.uint8), "L"), max_pixels)
            gray = to_float(img)
    else:
        gray = to_float(reduce(loaded.full, max_pixels))
    return gray, loaded.size[0] / max(gray.shape[1], 1)


def _one_line(reader, source, loaded, lay: Layout, scale, min_confidence) -> tuple[list, int, str]:
    """A page with at most one line, read whole as given (exactly as digitrec.read reads it)."""
    image = loaded if getattr(reader, "accepts_loaded", False) else source
    r = _read_all(reader, [image], min_confidence)[0]
    if not r.text:
        return [], len(lay.lines), r.reason or lay.reason or "no number found"
    if lay.lines:
        box = _to_page(lay.lines[0].box, (0, 0), scale, loaded.size)
    else:  # the reader found what the layout did not: the box around its characters
        xs = [c.box[0] for c in r.chars] + [c.box[0] + c.box[2] for c in r.chars]
        ys = [c.box[1] for c in r.chars] + [c.box[1] + c.box[3] for c in r.chars]
        box = (min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys)) if r.chars else (0, 0, 0, 0)
    return [LineResult(r.text, r.confidence, box, r.chars)], 0, ""


def read_page(
    image: Any,
    *,
    line_reader: Any = None,
    min_confidence: float = 0.0,
    path: str | None = None,
    page: int = 1,
    max_pixels: int = PAGE_PIXELS,
) -> PageResult:
    """Read every line of writing on one page.

    Parameters
    ----------
    image : Page, or anything :func:`digitrec.vision.io.load_image` accepts
        One page (a :class:`~digitrec.pages.documents.Page` from
        :func:`~digitrec.pages.documents.iter_pages`) or one image.
    line_reader : callable, optional
        Reads one line (see the module docstring); default :class:`AutoReader`.
    min_confidence : float
        Passed to the line reader (characters below it are rejected).
    path : str, optional
        Name to report (default: the page's document, or the path given).
    page : int
        Page number to report when ``image`` is not a :class:`Page`.
    max_pixels : int
        The page is laid out and cropped at most this size.

    Returns
    -------
    PageResult
        Lines holding a number, in reading order; boxes in the page's pixels.

    Raises
    ------
    InputError
        The image cannot be read, or ``min_confidence`` is outside [0, 1].
    """
    if not 0.0 <= min_confidence <= 1.0:
        raise InputError(f"min_confidence: expected a value in [0, 1], found {min_confidence}")
    if isinstance(image, Page):
        path, page, source = path or image.path, image.page, image.image
    else:
        source = image
        if path is None and isinstance(source, (str, os.PathLike)):
            path = str(source)
    reader = line_reader if line_reader is not None else AutoReader()
    loaded = load_image(source, name=path)  # errors name the document, not "<N bytes>"
    gray, scale = _working(loaded, max_pixels)
    if min(gray.shape) < 3:
        lay = Layout([], 0.0, gray > 2, 0.0, "tiny")
    else:  # at working size the layout and the one-line reader share one ink map
        shared = loaded.full is None and gray is loaded.gray  # (a page's is made on first use)
        lay = find_lines(gray, ink=loaded.ink() if shared else None)
    one_line = len(lay.lines) <= 1 and not lay.rules.any()
    if isinstance(reader, AutoReader):
        reader = reader.one_line if one_line else reader.lines
    if one_line:
        lines, skipped, reason = _one_line(reader, source, loaded, lay, scale, min_confidence)
        return PageResult(path, page, lines, skipped, reason or None, loaded.size)
    readings = _read_lines(reader, lay, min_confidence)
    lines, skipped = [], 0
    for ln, r in zip(lay.lines, readings, strict=True):
        if not r.text:
            skipped += 1
            continue
        chars = [
            CharResult(c.char, c.confidence, _to_page(c.box, ln.origin, scale, loaded.size), c.top3)
            for c in r.chars
        ]
        box = _to_page(ln.box, (0, 0), scale, loaded.size)
        lines.append(LineResult(r.text, r.confidence, box, chars))
    reason = None if lines else (lay.reason or "no number found on the page's lines")
    return PageResult(path, page, lines, skipped, reason, loaded.size)


def read_document(
    source: Any,
    *,
    line_reader: Any = None,
    min_confidence: float = 0.0,
    **limits: Any,
) -> Iterator[PageResult]:
    """Read every page of a document (image, multi-page TIFF or PDF), one result per page.

    Parameters
    ----------
    source : str, Path, bytes, PIL.Image.Image or numpy.ndarray
        As for :func:`digitrec.pages.documents.iter_pages`.
    line_reader, min_confidence
        As for :func:`read_page`; one reader serves every page.
    **limits
        ``max_pages``, ``max_pixels``, ``max_bytes``, ``dpi``, ``password``:
        see :func:`~digitrec.pages.documents.iter_pages`.

    Yields
    ------
    PageResult
        One per page, in order, each with its 1-based ``page``.
    """
    reader = line_reader if line_reader is not None else AutoReader()
    for pg in iter_pages(source, **limits):
        yield read_page(pg, line_reader=reader, min_confidence=min_confidence)
