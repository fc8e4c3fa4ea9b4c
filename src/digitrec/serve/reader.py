"""The one place where the service calls the digit reader.

The HTTP layer only knows the small :class:`Reader` protocol below. The real
implementation, :class:`VisionReader`, wraps :func:`digitrec.vision.read` and a
loaded model; tests of the HTTP layer's own behaviour (limits, errors, response
shapes) inject a deterministic fake instead, so they do not depend on a model.

:class:`ReadRunner` runs one read: the upload's bytes are opened once, by
:func:`digitrec.vision.io.load_image` under the pixel limit, then handed to the
reader, both in a bounded thread pool under the request's time limit. A bad
image becomes a per-image error through :meth:`digitrec.vision.isolate.ReadError.of`,
as in ``digitrec predict`` and ``digitrec batch``.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol, runtime_checkable

from digitrec.errors import InputError
from digitrec.serve.errors import ApiError
from digitrec.serve.schemas import ReadOptions
from digitrec.serve.uploads import Upload

__all__ = ["ReadRunner", "Reader", "VisionReader", "model_info"]


@runtime_checkable
class Reader(Protocol):
    """What the service needs from a digit reader.

    ``read`` is called in a worker thread and must be thread-safe. It raises
    :class:`digitrec.errors.InputError` for anything that is not a readable image.
    """

    def read(self, image: Any, options: ReadOptions) -> dict[str, Any]:
        """Read the digits of one loaded image (a :class:`digitrec.vision.io.Loaded`).

        Returns ``ReadResult.to_dict()`` without ``path``.
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
    """:class:`Reader` backed by :func:`digitrec.vision.read` and one model.

    Parameters
    ----------
    model : object, str, path-like or None
        A loaded model, or a spec for :func:`digitrec.models.load_model`
        (``None`` means ``"default"``, the pretrained CNN). Loaded once, here,
        so that a missing or corrupt model fails at start-up, not per request.
    """

    def __init__(self, model: Any = None) -> None:
        # Imported here: the service package must import without the reader's
        # heavier dependencies, e.g. to build the OpenAPI document.
        from digitrec import vision
        from digitrec.models import shared_model

        if model is None or isinstance(model, (str, os.PathLike)):
            model = shared_model("default" if model is None else model)
        self._vision = vision
        self.model = model
        self._info = model_info(model)

    def read(self, image: Any, options: ReadOptions) -> dict[str, Any]:
        """Read one loaded image; see :class:`Reader`."""
        result = self._vision.read(
            image,
            model=self.model,
            min_confidence=options.min_confidence,
            max_digits=options.max_digits,
        )
        out = result.to_dict(include_images=options.include_images)
        # The answer is `digitrec predict --json` for one image, without `path`.
        out.pop("path", None)
        return out

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
        What reads the loaded images.
    max_pixels : int
        Largest image accepted (413 beyond it).
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
        metrics: Any = None,
    ) -> None:
        self.reader, self.metrics = reader, metrics
        self.max_pixels = max_pixels
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

    def _work(self, upload: Upload, options: ReadOptions) -> dict[str, Any]:
        from digitrec.vision.io import load_image

        image = load_image(upload.data, name=upload.filename, max_pixels=self.max_pixels)
        return self.reader.read(image, options)

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
            from digitrec.vision.io import TooManyPixels
            from digitrec.vision.isolate import ReadError

            message = ReadError.of(upload.filename, exc).message
            if isinstance(exc, TooManyPixels):
                raise ApiError(413, "too_many_pixels", message) from exc
            raise ApiError(422, "invalid_image", message) from exc
        if count and self.metrics is not None:
            self.metrics.read_done(result)
        return result
