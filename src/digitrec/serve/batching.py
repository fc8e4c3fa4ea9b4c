"""Micro-batching: the digits of reads that run at the same time go through the model together.

The service reads uploads in a pool of threads; each read ends in one or two
``predict_proba`` calls on a handful of 28 x 28 crops. :class:`BatchingModel`
wraps the model so that calls made close together become one model call:

* the first call to arrive leads: it waits until every read in progress has
  handed in its crops, or at most ``wait_s`` (2 ms by default), then runs the
  model once on all the crops that arrived and hands each caller its rows;
* calls that arrive while the leader waits join its batch; calls that arrive
  while the model runs start the next one;
* a read alone never waits: the leader only waits for reads that are in
  progress (counted by :meth:`BatchingModel.reading`) and have not handed in
  their crops yet.

The model's answer for a crop does not depend on the other crops in its
batch (the CNN scores each image on its own, row by row), so batching changes
no reading; ``tests/test_serve_batching.py`` checks that readings are the same
batched and unbatched.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from typing import Any

import numpy as np

__all__ = ["DEFAULT_WAIT_S", "BatchingModel"]

#: Longest a call waits for others to join its batch.
DEFAULT_WAIT_S = 0.002


class _Call:
    """One caller's crops, and its rows of the answer once the batch has run."""

    __slots__ = ("done", "error", "images", "result")

    def __init__(self, images: np.ndarray) -> None:
        self.images = images
        self.done = threading.Event()
        self.result: np.ndarray | None = None
        self.error: BaseException | None = None


class BatchingModel:
    """A model whose concurrent ``predict_proba`` calls share one model call.

    Parameters
    ----------
    model : object
        Anything with ``predict_proba(images uint8 (n, 28, 28)) -> (n, 10)``;
        its ``meta`` is passed through.
    wait_s : float
        Longest a call waits for other reads in progress to join it.
    max_images : int
        A batch is closed once it holds this many crops.

    Attributes
    ----------
    calls, batches : int
        Calls answered and model calls made (``calls / batches`` is the mean
        number of calls per batch).
    """

    def __init__(self, model: Any, *, wait_s: float = DEFAULT_WAIT_S, max_images: int = 512):
        if not wait_s > 0:
            raise ValueError(f"wait_s: expected a positive time, found {wait_s!r}")
        self.model = model
        self.meta = getattr(model, "meta", {})
        self.wait_s = wait_s
        self.max_images = max_images
        self.calls = self.batches = 0
        self._cond = threading.Condition()
        self._pending: list[_Call] = []
        self._leading = False  # a leader is gathering the pending calls
        self._reading = 0  # reads in progress (see reading())
        self._waiting = 0  # of them, those waiting for their answer

    @contextlib.contextmanager
    def reading(self) -> Iterator[None]:
        """Count a read in progress: a leader waits for it to hand in its crops."""
        with self._cond:
            self._reading += 1
        try:
            yield
        finally:
            with self._cond:
                self._reading -= 1
                self._cond.notify_all()  # a leader may be waiting for this read

    def predict_proba(self, images: np.ndarray) -> np.ndarray:
        """The wrapped model's ``predict_proba(images)``, possibly batched with others'."""
        call = _Call(np.asarray(images))
        with self._cond:
            self._pending.append(call)
            self._waiting += 1
            lead = not self._leading
            if lead:
                self._leading = True
            else:
                self._cond.notify_all()  # the leader counts who has arrived
        try:
            if lead:
                self._lead()
            call.done.wait()
        finally:
            with self._cond:
                self._waiting -= 1
        if call.error is not None:
            raise call.error
        assert call.result is not None
        return call.result

    def _gather(self) -> list[_Call]:
        """Wait (bounded) for the reads in progress, then take the pending calls."""
        deadline = time.monotonic() + self.wait_s
        with self._cond:
            while True:
                # Reads in progress that have not handed in crops: those that may join.
                absent = self._reading - self._waiting
                size = sum(len(c.images) for c in self._pending)
                left = deadline - time.monotonic()
                if absent <= 0 or size >= self.max_images or left <= 0:
                    break
                self._cond.wait(left)
            batch, self._pending = self._pending, []
            self._leading = False  # later calls start the next batch
        return batch

    def _lead(self) -> None:
        batch = self._gather()
        try:
            images = [c.images for c in batch]
            stacked = images[0] if len(images) == 1 else np.concatenate(images)
            probs = np.asarray(self.model.predict_proba(stacked))
            start = 0
            for c in batch:
                c.result = probs[start : start + len(c.images)]
                start += len(c.images)
        except BaseException as exc:  # every caller of the batch gets the model's error
            for c in batch:
                c.error = exc
        finally:
            with self._cond:
                self.calls += len(batch)
                self.batches += 1
            for c in batch:
                c.done.set()
