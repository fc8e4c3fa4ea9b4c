"""Many documents read one after the other, each failure kept as that document's error.

``digitrec predict`` and the batch workers read many files where one bad file
(a corrupt PDF, a truncated scan) must not fail the others. Both use
:func:`read_each_document`: every page of every document in order, and a
document that fails (before its first page, or part way through) gives a
:class:`~digitrec.vision.isolate.ReadError` naming it after the pages it
already gave. A :class:`~digitrec.errors.ModelError` is never isolated: it
fails every document alike, so it fails the call.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from typing import Any

from digitrec.errors import ModelError
from digitrec.pages.documents import Page, iter_pages
from digitrec.pages.read import read_page
from digitrec.pages.result import PageResult
from digitrec.vision.isolate import ReadError

__all__ = ["read_each_document"]


def read_each_document(
    sources: Iterable[Any],
    *,
    line_reader: Any = None,
    min_confidence: float = 0.0,
    **limits: Any,
) -> Iterator[tuple[Page | None, PageResult | ReadError]]:
    """Every page of every document, in order; a failing document yields its error.

    Sources are taken from ``sources`` one at a time and pages are rendered
    one at a time, so memory holds one page whatever the number of inputs.

    Parameters
    ----------
    sources : iterable
        Paths (or anything :func:`~digitrec.pages.documents.iter_pages` accepts).
    line_reader, min_confidence
        As for :func:`~digitrec.pages.read.read_page`; one reader serves all.
    **limits
        As for :func:`~digitrec.pages.documents.iter_pages`.

    Yields
    ------
    (Page or None, PageResult or ReadError)
        The page read (its image, e.g. for an overlay) and its result; for a
        document that failed, ``None`` and its error.

    Raises
    ------
    ModelError
        The model cannot be loaded or used.
    """
    from digitrec.pages.read import AutoReader

    reader = line_reader if line_reader is not None else AutoReader()
    for source in sources:
        name = os.fspath(source) if isinstance(source, (str, os.PathLike)) else None
        try:
            for page in iter_pages(source, **limits):
                yield page, read_page(page, line_reader=reader, min_confidence=min_confidence)
        except ModelError:
            raise
        except Exception as exc:
            # Any exception, on purpose: one odd file must not fail a run of millions.
            yield None, ReadError.of(name or f"<{type(source).__name__}>", exc)
