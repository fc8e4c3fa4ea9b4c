"""Micro-batching of the model calls of concurrent reads (digitrec.serve.batching)."""

from __future__ import annotations

import io
import threading
from typing import ClassVar

import numpy as np
import pytest
from PIL import Image

from digitrec.serve.batching import BatchingModel


class CountingModel:
    """predict_proba: row i is a one-hot of (image i's first pixel mod 10); counts calls."""

    meta: ClassVar[dict] = {"name": "counting"}

    def __init__(self, fail: Exception | None = None) -> None:
        self.sizes: list[int] = []
        self.fail = fail

    def predict_proba(self, images: np.ndarray) -> np.ndarray:
        self.sizes.append(len(images))
        if self.fail is not None:
            raise self.fail
        return np.eye(10)[images[:, 0, 0] % 10]


def crops(first: int, n: int) -> np.ndarray:
    out = np.zeros((n, 28, 28), np.uint8)
    out[:, 0, 0] = np.arange(first, first + n)
    return out


def run_reads(model: BatchingModel, inputs: list[np.ndarray]) -> list:
    """One thread per input, each a read in progress before any hands in its crops."""
    results: list = [None] * len(inputs)
    entered = threading.Barrier(len(inputs))

    def read(i: int) -> None:
        with model.reading():
            entered.wait()  # every read counted before the first model call
            try:
                results[i] = model.predict_proba(inputs[i])
            except Exception as exc:
                results[i] = exc

    threads = [threading.Thread(target=read, args=(i,)) for i in range(len(inputs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return results


def test_concurrent_reads_share_one_model_call_and_get_their_own_rows() -> None:
    inner = CountingModel()
    # A long wait bound: the batch closes because every read has arrived, not by time.
    model = BatchingModel(inner, wait_s=20.0)
    inputs = [crops(10 * i, i + 1) for i in range(5)]
    results = run_reads(model, inputs)
    assert inner.sizes == [sum(len(x) for x in inputs)]  # one model call for all
    for x, got in zip(inputs, results, strict=True):
        np.testing.assert_array_equal(got, inner.predict_proba(x))
    assert (model.calls, model.batches) == (5, 1)


def test_a_read_alone_does_not_wait_for_the_bound() -> None:
    inner = CountingModel()
    model = BatchingModel(inner, wait_s=600.0)
    done = []
    thread = threading.Thread(
        target=lambda: done.append(run_reads(model, [crops(3, 2)])[0]), daemon=True
    )
    thread.start()
    thread.join(30)  # far less than the 600 s bound: nobody else was reading
    assert done and done[0].argmax(axis=1).tolist() == [3, 4]


def test_a_model_error_reaches_every_caller_of_the_batch() -> None:
    model = BatchingModel(CountingModel(fail=RuntimeError("broken")), wait_s=20.0)
    results = run_reads(model, [crops(0, 1), crops(1, 2), crops(3, 1)])
    assert all(isinstance(r, RuntimeError) and str(r) == "broken" for r in results)


def test_wait_must_be_positive() -> None:
    with pytest.raises(ValueError, match="wait_s"):
        BatchingModel(CountingModel(), wait_s=0)


def strip_pngs(mnist, n: int) -> list[bytes]:
    from digitrec.testing.synth import strings

    out = []
    for s in strings(mnist.test_images, mnist.test_labels, n, seed=3, length=5):
        buf = io.BytesIO()
        Image.fromarray(s.image).save(buf, format="PNG")
        out.append(buf.getvalue())
    return out


def test_readings_are_the_same_batched_and_unbatched(mnist) -> None:
    from digitrec.pages.documents import Page
    from digitrec.serve.reader import VisionReader
    from digitrec.serve.schemas import ReadOptions

    pages = strip_pngs(mnist, 12)
    options = ReadOptions()
    plain = VisionReader("default")
    expected = [plain.read(Page(p, 1, "strip"), options) for p in pages]
    batched = VisionReader("default", batch_wait_s=5.0)
    assert batched.batching is not None
    got: list = [None] * len(pages)

    def read(i: int) -> None:
        got[i] = batched.read(Page(pages[i], 1, "strip"), options)

    threads = [threading.Thread(target=read, args=(i,)) for i in range(len(pages))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert got == expected  # every character, confidence, top 3 and box
    assert batched.batching.calls >= len(pages)
    assert batched.batching.batches <= batched.batching.calls
