"""The one output shape for every image or page read.

.. code-block:: json

    {"path": "scan.pdf", "page": 1, "text": "12.50\\n02139", "confidence": 0.97,
     "lines": [{"text": "12.50", "confidence": 0.97, "box": [x, y, w, h],
                "chars": [{"char": "1", "confidence": 0.99, "box": [x, y, w, h],
                           "top3": [["1", 0.99], ["7", 0.01], ["4", 0.0]]}, ...]}, ...]}

Rules:

* ``lines`` are in reading order (top to bottom, left to right); ``text`` is
  their texts joined by ``"\\n"``.
* A line of writing that holds no number (a word, a signature) yields
  nothing: it is **dropped** from ``lines``, so ``text`` never contains an
  empty line. ``skipped`` counts such lines.
* ``confidence`` is the least confident line's (0.0 when nothing was read),
  as a one-line image's is its least confident character's.
* ``reason`` says why nothing was read (no ink, no number...) and is only
  present in ``to_dict()`` when ``text`` is empty.
* Boxes are ``[x, y, w, h]`` in the page's pixels (a PDF page: pixels of the
  page as rendered, at ``dpi``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["CharResult", "LineResult", "PageResult"]


def _r(v: float) -> float:
    return round(float(v), 6)


@dataclass
class CharResult:
    """One character of a line.

    Attributes
    ----------
    char : str
        The character (``"0"``-``"9"``, a separator, or ``"?"`` when rejected).
    confidence : float
    box : tuple of int
        ``(x, y, w, h)`` in the page's pixels.
    top3 : list of (str, float)
        The likeliest characters with their probabilities.
    """

    char: str
    confidence: float
    box: tuple[int, int, int, int]
    top3: list[tuple[str, float]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {
            "char": self.char,
            "confidence": _r(self.confidence),
            "box": [int(v) for v in self.box],
            "top3": [[str(c), _r(p)] for c, p in self.top3],
        }


@dataclass
class LineResult:
    """One line of a page and its reading.

    Attributes
    ----------
    text : str
    confidence : float
    box : tuple of int
        ``(x, y, w, h)`` of the line's ink in the page's pixels.
    chars : list of CharResult
    """

    text: str
    confidence: float
    box: tuple[int, int, int, int]
    chars: list[CharResult] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {
            "text": self.text,
            "confidence": _r(self.confidence),
            "box": [int(v) for v in self.box],
            "chars": [c.to_dict() for c in self.chars],
        }


@dataclass
class PageResult:
    """Everything read on one image or document page.

    Attributes
    ----------
    path : str or None
        The document it came from (None for an image in memory).
    page : int
        1-based page number (1 for an image).
    lines : list of LineResult
        The lines that hold a number, in reading order.
    skipped : int
        Lines of writing found that hold no number.
    reason : str or None
        Why nothing was read, when ``lines`` is empty.
    size : tuple of int
        The page's (width, height) in pixels, which the boxes refer to.
    """

    path: str | None
    page: int
    lines: list[LineResult]
    skipped: int = 0
    reason: str | None = None
    size: tuple[int, int] = (0, 0)

    @property
    def text(self) -> str:
        """The lines' texts, top to bottom, one per line."""
        return "\n".join(ln.text for ln in self.lines)

    @property
    def confidence(self) -> float:
        """The least confident line's confidence (0.0 without lines)."""
        return min((ln.confidence for ln in self.lines), default=0.0)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict in the documented shape (``reason`` only when nothing was read)."""
        d: dict[str, Any] = {
            "path": self.path,
            "page": int(self.page),
            "text": self.text,
            "confidence": _r(self.confidence),
            "lines": [ln.to_dict() for ln in self.lines],
        }
        if not self.lines and self.reason:
            d["reason"] = self.reason
        return d
