"""The page result schema, the pluggable line reader, and the overlay."""

from __future__ import annotations

import importlib
import json

import numpy as np
import pytest
from PIL import Image

from digitrec.errors import InputError
from digitrec.pages.overlay import save_overlay
from digitrec.pages.read import SegmentReader, read_page


class FakeReader:
    """A line reader in the shape of the CTC reader: dict chars, a reason for skipped lines.

    It answers from the crop's ink: lines wider than 2.5 times their height
    hold a number, narrower ones hold none (so both paths are exercised).
    """

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, image, *, min_confidence=0.0):
        self.calls += 1
        ys, xs = np.nonzero(np.asarray(image) < 0.5)
        x, y, w, h = xs.min(), ys.min(), np.ptp(xs) + 1, np.ptp(ys) + 1
        if w < 2.5 * h:
            return {"text": "", "confidence": 0.0, "chars": [], "reason": "no number"}
        box = [int(x), int(y), int(w), int(h)]
        chars = [{"char": "9", "confidence": 0.8, "box": box, "top3": [["9", 0.8], ["4", 0.2]]}]
        return type("R", (), {"text": "9", "confidence": 0.8, "chars": chars})()


def test_schema_and_text(write):
    result = read_page(write(["123", "4567"]), path="form.png")
    d = json.loads(json.dumps(result.to_dict()))
    assert list(d) == ["path", "page", "text", "confidence", "lines"]
    assert (d["path"], d["page"], d["text"]) == ("form.png", 1, "123\n4567")
    assert d["confidence"] == pytest.approx(min(ln["confidence"] for ln in d["lines"]))
    for line in d["lines"]:
        assert list(line) == ["text", "confidence", "box", "chars"]
        assert len(line["box"]) == 4 and all(isinstance(v, int) for v in line["box"])
        assert "".join(c["char"] for c in line["chars"]) == line["text"]
        for c in line["chars"]:
            assert list(c) == ["char", "confidence", "box", "top3"]
            assert c["top3"][0][0] == c["char"] and len(c["top3"]) == 3


def test_a_line_without_a_number_is_dropped_and_text_has_no_empty_line(write):
    # "999999" is wide (a number for FakeReader), "7" is narrow (none).
    image = write(["999999", "7", "999999"])
    reader = FakeReader()
    result = read_page(image, line_reader=reader)
    assert reader.calls == 3
    assert result.text == "9\n9"
    assert result.skipped == 1
    assert len(result.lines) == 2


def test_boxes_are_in_page_pixels(write):
    image = write(["999999", "7", "999999"])
    result = read_page(image, line_reader=FakeReader())
    dark = np.asarray(image) < 128
    for ln in result.lines:
        (c,) = ln.chars
        # The crop's ink box, shifted back onto the page.
        assert np.abs(np.subtract(c.box, ln.box)).max() <= 1
        x, y, w, h = ln.box
        assert dark[y : y + h, x : x + w].any()


def test_nothing_read_gives_a_reason():
    blank = np.full((200, 300), 230, np.uint8)
    d = read_page(blank).to_dict()
    assert d["text"] == "" and d["lines"] == [] and d["confidence"] == 0.0
    assert "reason" in d


def test_min_confidence_is_checked_and_passed_on(write):
    with pytest.raises(InputError, match="min_confidence"):
        read_page(write(["12"]), min_confidence=1.5)
    strict = read_page(write(["12", "34"]), min_confidence=1.0)
    assert set(strict.text) <= {"?", "\n"}


def test_segment_reader_batches_every_line_into_one_call(write, monkeypatch):
    vr = importlib.import_module("digitrec.vision.read")  # the module, not the function

    calls = []
    real = vr.read_many

    def spy(images, **kw):
        calls.append(len(list(images)))
        return real(images, **kw)

    monkeypatch.setattr(vr, "read_many", spy)
    read_page(write(["12", "34", "56"]), line_reader=SegmentReader())
    assert calls == [3]


def test_overlay_is_a_png_of_the_page_with_boxes(write, tmp_path):
    image = write(["123", "4567"])
    result = read_page(image)
    out = save_overlay(image, result, tmp_path / "o" / "page-1.png")
    drawn = np.asarray(Image.open(out).convert("RGB")).astype(int)
    assert drawn.shape[:2] == image.shape
    x, y, w, _ = result.lines[0].box
    edge = drawn[y, x : x + w]
    assert ((edge.max(axis=1) - edge.min(axis=1)) > 60).mean() > 0.8  # coloured, not grey
