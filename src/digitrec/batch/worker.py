"""The worker side of a batch job: the model cache and the reading of one task.

Each Dask worker process loads the model once (:class:`ModelPlugin`, at
worker start) and reads its tasks' images itself with
:func:`digitrec.vision.isolate.read_each`, so that one bad image becomes one
error row and never fails the task.
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

_MODELS: dict[str, Any] = {}
_MODELS_LOCK = threading.Lock()
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
    # A lock, not just a dict: a worker with several threads must not load the model twice.
    from digitrec.models import shared_model

    with _MODELS_LOCK:
        if spec not in _MODELS:
            _MODELS[spec] = shared_model(spec)
            LOAD_COUNTS[spec] += 1
        return _MODELS[spec]


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


def _ok_row(path: str, result: Any) -> dict[str, Any]:
    d = result.to_dict()
    return {
        "path": path,
        "text": d["text"],
        "digits": [
            {"digit": g["digit"], "confidence": g["confidence"], "box": g["box"]}
            for g in d["digits"]
        ],
        "confidence": d["confidence"],
        "error": None,
    }


def error_row(path: str, message: str) -> dict[str, Any]:
    """The row of an image that could not be read; ``message`` names the image."""
    return {"path": path, "text": None, "digits": None, "confidence": None, "error": message}


def read_batch(
    paths: Sequence[str],
    model: str = "default",
    min_confidence: float = 0.0,
    max_digits: int | None = None,
) -> pa.Table:
    """Read one task's images in this process: one row per path, in order.

    Parameters
    ----------
    paths : sequence of str
        Image files readable from this process.
    model : str
        Model spec, loaded once per process by :func:`worker_model`.
    min_confidence, max_digits
        As for :func:`digitrec.vision.read`.

    Returns
    -------
    pyarrow.Table
        Rows with :data:`~digitrec.batch.sink.SCHEMA`; an image that cannot be
        read gets a row with its error.

    Raises
    ------
    ModelError
        The model cannot be loaded or used: that fails every image alike,
        so it fails the job instead of filling it with error rows.
    """
    from digitrec.vision.isolate import ReadError, read_each

    results = read_each(
        list(paths),
        model=worker_model(model),
        min_confidence=min_confidence,
        max_digits=max_digits,
    )
    rows = [
        error_row(p, r.message) if isinstance(r, ReadError) else _ok_row(p, r)
        for p, r in zip(paths, results, strict=True)
    ]
    return pa.Table.from_pylist(rows, schema=SCHEMA)
