"""The one place where the service calls the reader.

The HTTP layer only knows the small :class:`Reader` protocol below. The real
implementation, :class:`VisionReader`, wraps :func:`digitrec.pages.read_page`
and a loaded model; tests of the HTTP layer's own behaviour (limits, errors,
response shapes) inject a deterministic fake instead, so they do not depend on
a model.

:class:`ReadRunner` runs one read: the upload's pages are opened one at a time
by :func:`digitrec.pages.documents.iter_pages` (an image is one page; a
multi-page TIFF or a PDF, recognised by its bytes, gives every page) under
the pixel and page limits, each handed to the reader, all in a bounded thread
pool under the request's time limit. pdfium is not thread-safe, so opening
and rendering PDF pages is serialised by :data:`PDF_LOCK` (reading the
rendered pages is not). A bad file becomes a per-file error through
:meth:`digitrec.vision.isolate.ReadError.of`, as in ``digitrec predict`` and
``digitrec batch``.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol, runtime_checkable

from digitrec.errors import InputError
from digitrec.serve.errors import ApiError
from digitrec.serve.schemas import ReadOptions
from digitrec.serve.uploads import Upload

__all__ = [
    "MAX_PAGES",
    "PDF_LOCK",
    "ReadRunner",
    "Reader",
    "VisionReader",
    "document",
    "model_info",
]

#: Most pages read from one upload (a longer document: 413).
MAX_PAGES = 20
#: Held while pdfium opens or renders a page: pypdfium2 must not be used from two
#: threads at once, in any document.
PDF_LOCK = threading.Lock()


@runtime_checkable
class Reader(Protocol):
    """What the service needs from a reader.

    ``read`` is called in a worker thread and must be thread-safe. It raises
    :class:`digitrec.errors.InputError` for a page that cannot be read.
    """

    def read(self, page: Any, options: ReadOptions) -> dict[str, Any]:
        """Read every line of one page (a :class:`digitrec.pages.documents.Page`).

        Returns :meth:`digitrec.pages.result.PageResult.to_dict` (its
        ``path`` and ``page`` are set by the caller).
        """
        ...

    def info(self) -> dict[str, Any]:
        """The model's ``name``, ``accuracy`` and ``checksum``."""
        ...


def _lookup(meta: dict[str, Any], *paths: str) -> Any:
    """First value found at one of the dotted ``paths`` in ``meta``."""
    for path in paths:
        node: Any = meta
        for key in path.split("."):
            if not isinstance(node, dict) or key not in node:
                break
            node = node[key]
        else:
            return node
    return None


def model_info(model: Any) -> dict[str, Any]:
    """``name``, ``accuracy`` and ``checksum`` of a loaded model, from its ``meta``.

    The pretrained CNN stores the three keys at the top level; models trained
    with ``digitrec train`` keep the accuracy under ``metrics``. A model without
    a recorded checksum gets the sha256 of its canonical metadata, so that two
    different models never report the same value.

    Parameters
    ----------
    model : object
        A loaded model with a ``meta`` dict (may be missing or empty).

    Returns
    -------
    dict
        ``{"name": str, "accuracy": float | None, "checksum": str}``.
    """
    meta = getattr(model, "meta", None) or {}
    name = _lookup(meta, "name", "kind") or type(model).__name__
    accuracy = _lookup(meta, "accuracy", "metrics.accuracy")
    checksum = _lookup(meta, "checksum", "sha256")
    if checksum is None:
        blob = json.dumps(meta, sort_keys=True, default=str).encode()
        checksum = "sha256:" + hashlib.sha256(blob).hexdigest()
    return {
        "name": str(name),
        "accuracy": None if accuracy is None else float(accuracy),
        "checksum": str(checksum),
    }


class VisionReader:
    """:class:`Reader` backed by :func:`digitrec.pages.read_page` and one model.

    Each page is read by the request's ``reader``
    (:func:`digitrec.pages.read.make_line_reader`): by default an image of one
    line goes to the segment reader with that model, and the lines of other
    pages to the shipped line model (loaded here too, so that the first such
    request does not wait for it).

    Parameters
    ----------
    model : object, str, path-like or None
        A loaded model, or a spec for :func:`digitrec.models.load_model`
        (``None`` means ``"default"``, the pretrained CNN). Loaded once, here,
        so that a missing or corrupt model fails at start-up, not per request.
    batch_wait_s : float
        Micro-batching (:class:`~digitrec.serve.batching.BatchingModel`): the
        digits of reads running at the same time go through the model in one
        call, a call waiting at most this long for the others; 0 turns it off.
    """

    def __init__(self, model: Any = None, *, batch_wait_s: float = 0.0) -> None:
        # Imported here: the service package must import without the reader's
        # heavier dependencies, e.g. to build the OpenAPI document.
        from digitrec.models import shared_model
        from digitrec.serve.batching import BatchingModel

        if model is None or isinstance(model, (str, os.PathLike)):
            model = shared_model("default" if model is None else model)
        self._info = model_info(model)
        self.batching = BatchingModel(model, wait_s=batch_wait_s) if batch_wait_s > 0 else None
        self.model = model if self.batching is None else self.batching
        from digitrec.lines.infer import default_line_model

        default_line_model()

    def read(self, page: Any, options: ReadOptions) -> dict[str, Any]:
        """Read one page; see :class:`Reader`."""
        from digitrec.pages.read import make_line_reader, read_page

        reader = make_line_reader(
            options.reader,
            digits_only=options.digits_only,
            model=self.model,
            max_digits=options.max_digits,
        )
        with self.batching.reading() if self.batching else contextlib.nullcontext():
            result = read_page(page, line_reader=reader, min_confidence=options.min_confidence)
        return result.to_dict()

    def info(self) -> dict[str, Any]:
        """The model's name, accuracy and checksum."""
        return dict(self._info)


class ReadRunner:
    """Reads uploads in a bounded thread pool, each under a time limit.

    The threads start on first use and stop at shutdown (:meth:`close`), rather
    than in ``create_app``, because an app can go through several lifespans
    (a test client per test, an ASGI fuzzer per call).

    Parameters
    ----------
    reader : Reader
        What reads the pages.
    max_pixels : int
        Largest image or page accepted (413 beyond it).
    max_pages : int
        Most pages in one upload (413 beyond it).
    timeout_s : float
        Time limit of one read, queueing included (503 beyond it).
    workers : int
        Reader threads.
    metrics : digitrec.serve.observe.ServiceMetrics, optional
        Where reads, digits and the reads in flight are counted.
    """

    def __init__(
        self,
        reader: Reader,
        *,
        max_pixels: int,
        timeout_s: float,
        workers: int,
        max_pages: int = MAX_PAGES,
        metrics: Any = None,
    ) -> None:
        self.reader, self.metrics = reader, metrics
        self.max_pixels, self.max_pages = max_pixels, max_pages
        self.timeout_s = timeout_s
        self.workers = workers
        self._executor: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()

    def _pool(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(
                    max_workers=self.workers, thread_name_prefix="digitrec-read"
                )
            return self._executor

    def close(self) -> None:
        """Stop the threads: running reads finish in the background, queued ones are dropped."""
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=False, cancel_futures=True)

    def _pages(self, upload: Upload) -> Iterator[Any]:
        """The upload's pages, one at a time, pdfium only ever under :data:`PDF_LOCK`."""
        from digitrec.pages.documents import is_pdf, iter_pages

        pages = iter_pages(
            upload.data,
            name=upload.filename,
            max_pages=self.max_pages,
            max_pixels=self.max_pixels,
            max_bytes=max(1, len(upload.data)),  # the upload limit was checked already
        )
        lock = PDF_LOCK if is_pdf(upload.data) else contextlib.nullcontext()
        try:
            while True:
                with lock:
                    page = next(pages, None)
                if page is None:
                    return
                yield page
        finally:
            with lock:
                pages.close()  # closes the PDF (a no-op once the pages are done)

    def _work(self, upload: Upload, options: ReadOptions) -> dict[str, Any]:
        results = []
        for page in self._pages(upload):
            result = {**self.reader.read(page, options), "path": upload.filename, "page": page.page}
            if options.page_images:
                result["image"] = _png_base64(page)
            results.append(result)
        return document(upload.filename, results)

    def _submit(self, upload: Upload, options: ReadOptions) -> asyncio.Future:
        metrics = self.metrics
        if metrics is not None:
            metrics.in_flight.inc()
        future = self._pool().submit(self._work, upload, options)
        if metrics is not None:
            # Counted down when the thread is done or the queued read is dropped,
            # not when the client stops waiting: the gauge is the pool's real load.
            future.add_done_callback(lambda _: metrics.in_flight.dec())
        return asyncio.wrap_future(future)

    async def read(
        self, upload: Upload, options: ReadOptions, *, count: bool = True
    ) -> dict[str, Any]:
        """Read one upload; every expected failure is an :class:`ApiError`.

        ``count=False`` leaves the read out of the metrics (the start-up read).
        """
        try:
            result = await asyncio.wait_for(self._submit(upload, options), timeout=self.timeout_s)
        except TimeoutError as exc:
            raise ApiError(
                503,
                "timeout",
                f"{upload.filename}: reading took longer than {self.timeout_s:g} s "
                "(the server is busy, or the image is unusually complex); retry later",
                headers={"Retry-After": "1"},
            ) from exc
        except InputError as exc:
            from digitrec.pages.documents import TooManyPages
            from digitrec.vision.io import TooManyPixels
            from digitrec.vision.isolate import ReadError

            message = ReadError.of(upload.filename, exc).message
            if isinstance(exc, TooManyPixels):
                raise ApiError(413, "too_many_pixels", message) from exc
            if isinstance(exc, TooManyPages):
                raise ApiError(413, "too_many_pages", message) from exc
            raise ApiError(422, "invalid_image", message) from exc
        if count and self.metrics is not None:
            self.metrics.read_done(result)
        return result


def _png_base64(page: Any) -> str:
    """The page as the boxes see it (its own size), as a base64 grey PNG."""
    import base64
    import io

    from digitrec.pages.overlay import page_image

    buf = io.BytesIO()
    page_image(page).convert("L").save(buf, format="PNG")
    return base64.b64encode(buf.getvalue()).decode("ascii")


def document(filename: str, pages: list[dict[str, Any]]) -> dict[str, Any]:
    """The answer for one upload: its pages, and their text and confidence together.

    Parameters
    ----------
    filename : str
        The upload's name.
    pages : list of dict
        :meth:`~digitrec.pages.result.PageResult.to_dict` of each page, in order.

    Returns
    -------
    dict
        ``{"filename", "text", "confidence", "pages"[, "reason"]}``: ``text``
        is the pages' texts joined by ``"\\n"`` (pages where nothing was
        read left out), as one page's is its lines'; ``confidence`` is the
        least confident page's among those read (0.0 when nothing was read);
        ``reason`` (the first page's) only when nothing was read at all.
    """
    read = [p for p in pages if p["text"]]
    out: dict[str, Any] = {
        "filename": filename,
        "text": "\n".join(p["text"] for p in read),
        "confidence": min((p["confidence"] for p in read), default=0.0),
        "pages": pages,
    }
    if not read and pages and pages[0].get("reason"):
        out["reason"] = pages[0]["reason"]
    return out
