"""The worker side of a batch job: the model cache and the reading of one task.

Each Dask worker process loads the model once (:class:`ModelPlugin`, at
worker start) and reads its tasks' images itself with
:func:`digitrec.pages.each.read_each_document`, so that one bad file becomes
one error row and never fails the task.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Sequence
from typing import Any

import pyarrow as pa

# The "batch" extra (Dask, pyarrow): `digitrec batch` checks for it with require_extra
# before importing this module.
from distributed.diagnostics.plugin import WorkerPlugin

from digitrec.batch.sink import SCHEMA
from digitrec.errors import DigitrecError

__all__ = ["ModelPlugin", "WorkerKilled", "error_row", "model_loads", "read_batch", "worker_model"]

_LOAD_LOCK = threading.Lock()
#: How many times this process loaded each model spec (tests check "once per worker").
LOAD_COUNTS: Counter[str] = Counter()


def worker_model(spec: str) -> Any:
    """The model for ``spec``, loaded at most once per process.

    Parameters
    ----------
    spec : str
        ``"default"`` (the shipped model) or a saved model folder, as for
        :func:`digitrec.models.load_model`.

    Returns
    -------
    object
        A model with ``predict_proba``.
    """
    # The process cache is shared_model's; the lock keeps the load count exact when a
    # worker's threads ask for the model at once.
    from digitrec.models import shared_model

    with _LOAD_LOCK:
        if spec not in LOAD_COUNTS:  # the first ask in this process loads it
            LOAD_COUNTS[spec] = 1
        return shared_model(spec)


def model_loads() -> dict[str, int]:
    """How many times this process loaded each model spec (``client.run(model_loads)``)."""
    return dict(LOAD_COUNTS)


class ModelPlugin(WorkerPlugin):
    """Load the model on every worker when it starts (also on workers that join later).

    Parameters
    ----------
    spec : str
        The model spec, as for :func:`worker_model`.
    """

    def __init__(self, spec: str) -> None:
        self.spec = spec
        self.name = f"digitrec-model-{spec}"

    def setup(self, worker: Any) -> None:
        """Load the model into the worker process's cache."""
        worker_model(self.spec)


class WorkerKilled(DigitrecError):
    """An image whose reading killed the worker process each time it was tried."""

    def __init__(self, exc: BaseException) -> None:
        tries = exc.args[2] + 1 if len(exc.args) > 2 and isinstance(exc.args[2], int) else "every"
        super().__init__(
            f"expected an image that can be read, found one whose reading killed the worker "
            f"process ({tries} tries; a crashing decoder, or an image too large for the "
            "worker's memory?); check the file, or give the workers more memory"
        )


def _digit(char: dict[str, Any]) -> dict[str, Any]:
    digit = int(char["char"]) if char["char"].isdigit() else None
    return {"digit": digit, "confidence": char["confidence"], "box": char["box"]}


def _ok_row(path: str, result: Any) -> dict[str, Any]:
    d = result.to_dict()
    lines = [
        {
            **ln,
            "chars": [
                {**c, "top3": [{"char": k, "confidence": p} for k, p in c["top3"]]}
                for c in ln["chars"]
            ],
        }
        for ln in d["lines"]
    ]
    return {
        "path": path,
        "page": d["page"],
        "text": d["text"],
        # separators (line readers other than segment) are characters, not digits
        "digits": [_digit(c) for ln in d["lines"] for c in ln["chars"] if c["char"] not in "-/.,"],
        "confidence": d["confidence"],
        "lines": lines,
        "error": None,
    }


def error_row(path: str, message: str) -> dict[str, Any]:
    """The row of a file that could not be read; ``message`` names the file."""
    return {
        "path": path,
        "page": None,
        "text": None,
        "digits": None,
        "confidence": None,
        "lines": None,
        "error": message,
    }


def read_batch(
    paths: Sequence[str],
    model: str = "default",
    min_confidence: float = 0.0,
    max_digits: int | None = None,
    reader: str = "auto",
    digits_only: bool = False,
) -> pa.Table:
    """Read one task's files in this process: one row per page, files in order.

    Parameters
    ----------
    paths : sequence of str
        Image, multi-page TIFF or PDF files readable from this process.
    model : str
        Model spec, loaded once per process by :func:`worker_model`.
    min_confidence, max_digits
        As for :func:`digitrec.vision.read`; ``max_digits`` applies to each line.
    reader, digits_only
        The line reader (:func:`digitrec.pages.read.make_line_reader`): ``segment``
        (and ``auto``, for one-line images) reads with ``model``, the others with
        the shipped line model.

    Returns
    -------
    pyarrow.Table
        Rows with :data:`~digitrec.batch.sink.SCHEMA`; a file that cannot be
        read (or a document that fails part way) gets a row with its error,
        after the rows of the pages it gave.

    Raises
    ------
    ModelError
        The model cannot be loaded or used: that fails every image alike,
        so it fails the job instead of filling it with error rows.
    """
    from digitrec.pages.each import read_each_document
    from digitrec.pages.read import make_line_reader, reads_with_digit_model
    from digitrec.vision.isolate import ReadError

    line_reader = make_line_reader(
        reader,
        digits_only=digits_only,
        model=worker_model(model) if reads_with_digit_model(reader) else None,
        max_digits=max_digits,
    )
    rows = [
        error_row(r.name, r.message) if isinstance(r, ReadError) else _ok_row(r.path, r)
        for _, r in read_each_document(
            list(paths), line_reader=line_reader, min_confidence=min_confidence
        )
    ]
    return pa.Table.from_pylist(rows, schema=SCHEMA)
