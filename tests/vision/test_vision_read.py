"""The reading pipeline with stand-in models: plumbing, results, rejection, CLI."""

from __future__ import annotations

import base64
import io
import json

import numpy as np
import pytest
from PIL import Image, ImageDraw
from vision_helpers import CountingModel, ExplodingModel, draw_strokes

import digitrec
from digitrec.errors import InputError, ModelError
from digitrec.vision import ReadResult, read, read_many
from digitrec.vision.normalize import ink_map, to_mnist
from digitrec.vision.segment import find_digits


def test_three_strokes_give_three_digits_with_boxes(strokes, counting_model):
    result = read(strokes, model=counting_model)
    assert isinstance(result, ReadResult)
    assert len(result.digits) == 3 and len(result.text) == 3 and result.reason is None
    assert counting_model.calls == 1
    xs = [d.box[0] for d in result.digits]
    assert xs == sorted(xs)
    for d, cx in zip(result.digits, (50, 100, 150), strict=True):
        x, y, w, h = d.box
        assert x <= cx <= x + w  # each box holds its stroke
        assert y >= 10 and y + h <= 70
        assert d.image.shape == (28, 28) and d.image.dtype == np.uint8
        assert d.confidence == pytest.approx(0.9)
        assert d.top3[0][0] == d.digit and len(d.top3) == 3
    assert result.confidence == pytest.approx(0.9)


def test_boxes_are_in_input_pixels_for_large_images(counting_model):
    small = read(draw_strokes(200, 80), model=counting_model)
    big = read(draw_strokes(200, 80).resize((2000, 800)), model=counting_model)
    for a, b in zip(small.digits, big.digits, strict=True):
        np.testing.assert_allclose(np.array(b.box), np.array(a.box) * 10, atol=25)


def test_mnist_normalisation_fits_20_and_centres_mass():
    ink = np.zeros((90, 40), np.float32)
    ink[10:80, 15:25] = 1.0  # a tall bar, like a "1"
    img = to_mnist(ink, ink > 0.5)
    ys, xs = np.nonzero(img > 30)
    assert img.shape == (28, 28) and img.dtype == np.uint8
    assert 19 <= ys.max() - ys.min() + 1 <= 21  # longer side fitted to 20
    assert xs.max() - xs.min() + 1 <= 6  # aspect ratio kept
    weights = img.astype(float) / img.sum()
    com = (np.arange(28) @ weights.sum(axis=1), np.arange(28) @ weights.sum(axis=0))
    assert abs(com[0] - 14) <= 1 and abs(com[1] - 14) <= 1
    assert img.max() == 255 and img[0].max() == 0


def test_polarity_inverted_image_gives_same_ink(strokes):
    a = ink_map(np.asarray(strokes, np.float32) / 255)
    b = ink_map(1 - np.asarray(strokes, np.float32) / 255)
    assert a.dark_ink and not b.dark_ink
    assert (a.mask != b.mask).mean() < 0.001


def test_uneven_lighting_is_removed(strokes):
    g = np.asarray(strokes, np.float32) / 255
    ramp = np.linspace(0.45, 1.0, g.shape[1])[None, :]
    lit = ink_map(g * ramp)
    flat = ink_map(g)
    # The dark side of the page must not turn into ink.
    assert (lit.mask != flat.mask).mean() < 0.01


def test_blank_page_has_no_ink_and_a_reason():
    rng = np.random.default_rng(0)
    page = np.clip(0.9 + rng.normal(0, 0.02, (120, 300)), 0, 1)
    result = read(page, model=ExplodingModel())
    assert result.text == "" and result.digits == [] and result.confidence == 0.0
    assert result.reason == "no ink found"
    assert result.to_dict()["reason"] == "no ink found"


def test_broken_stroke_is_merged_and_touching_digits_are_split():
    mask = np.zeros((60, 200), bool)
    mask[10:28, 20:26] = True  # a "1" broken in two, one above the other
    mask[31:50, 20:26] = True
    mask[10:50, 60:66] = True  # a plain "1"
    # two "0"-like rings touching at one point: one wide component
    yy, xx = np.mgrid[0:60, 0:200]
    for cx in (115, 143):
        r = np.hypot((yy - 30) / 20, (xx - cx) / 14)
        mask |= (r > 0.75) & (r <= 1.0)
    pieces = find_digits(mask)
    assert len(pieces) == 4
    assert pieces[0].h >= 38  # the two halves became one digit
    assert pieces[2].x + pieces[2].w <= 132 and pieces[3].x >= 126


def test_min_confidence_rejects_as_question_marks(strokes):
    result = read(strokes, model=CountingModel(confidence=0.4), min_confidence=0.5)
    assert result.text == "???"
    assert all(d.digit is None for d in result.digits)
    assert result.to_dict()["digits"][0]["digit"] is None


def test_max_digits_keeps_the_largest(counting_model):
    img = draw_strokes(n=3)
    result = read(img, model=counting_model, max_digits=2)
    assert len(result.digits) == 2


def test_read_many_batches_into_one_model_call(strokes, counting_model):
    results = read_many(
        [strokes, strokes.transpose(Image.Transpose.FLIP_LEFT_RIGHT)], model=counting_model
    )
    assert counting_model.calls == 1 and len(counting_model.seen[0]) >= 6
    assert [len(r.digits) for r in results] == [3, 3]


def test_to_dict_is_json_with_optional_images(strokes, counting_model):
    d = read(strokes, model=counting_model).to_dict(include_images=True)
    json.dumps(d)
    assert set(d) == {"text", "digits", "confidence"}
    first = d["digits"][0]
    assert set(first) == {"digit", "confidence", "box", "top3", "image"}
    png = Image.open(io.BytesIO(base64.b64decode(first["image"])))
    assert png.size == (28, 28)
    assert "image" not in read(strokes, model=counting_model).to_dict()["digits"][0]


def test_bad_arguments_and_bad_models(strokes):
    with pytest.raises(InputError, match="min_confidence"):
        read(strokes, model=CountingModel(), min_confidence=1.5)
    with pytest.raises(InputError, match="max_digits"):
        read(strokes, model=CountingModel(), max_digits=0)

    class Wrong:
        def predict_proba(self, images):
            return np.ones((len(images), 3))

    with pytest.raises(ModelError, match=r"expected shape \(3, 10\)"):
        read(strokes, model=Wrong())


def test_top_level_read_is_exported():
    assert "read" in digitrec.__all__
    assert digitrec.read is read


def test_fine_pen_is_thickened_to_mnist_strokes(counting_model):
    img = Image.new("L", (400, 400), 255)
    d = ImageDraw.Draw(img)
    d.ellipse([120, 40, 280, 360], outline=0, width=2)  # a "0" in 2 px pen, 320 px tall
    (digit,) = read(img, model=counting_model).digits
    rows = digit.image[8:20] > 127  # the middle rows of the 0 cross two strokes
    widths = rows.sum(axis=1) / 2
    assert widths.mean() >= 1.5


@pytest.mark.timeout(60)
def test_pure_noise_finishes_and_is_bounded(counting_model):
    rng = np.random.default_rng(0)
    img = (rng.random((1500, 1500)) > 0.5).astype(np.uint8) * 255
    result = read(img, model=counting_model)
    assert len(result.digits) <= 64 * 12


def test_default_model_is_loaded_once_lazily(monkeypatch, strokes):
    from digitrec.models import shared_model
    from digitrec.models.cnn.infer import CnnModel

    loads = []

    def fake_load(spec, threads=None):
        loads.append((spec, threads))
        return CountingModel()

    monkeypatch.setattr(CnnModel, "load", fake_load)
    shared_model.cache_clear()
    try:
        read(np.full((50, 50), 0.9), model=None)  # blank: no digits, no model needed
        assert loads == []
        read(strokes)
        read(strokes)
        assert loads == [("default", 1)]  # once, single-threaded (small batches)
    finally:
        shared_model.cache_clear()


def test_small_digits_on_a_large_page_are_reread_at_full_resolution(counting_model):
    patch = draw_strokes(200, 80)
    page = Image.new("L", (4000, 3000), 235)
    page.paste(patch, (2700, 1900))  # at working size a stroke would be ~1 px
    alone = read(patch, model=counting_model)
    result = read(page, model=counting_model)
    assert len(result.digits) == 3
    for d, a, cx in zip(result.digits, alone.digits, (2750, 2800, 2850), strict=True):
        x, y, w, h = d.box
        assert x <= cx <= x + w and y >= 1900 and y + h <= 1980
        # The crop came from the full-resolution region: the same as the patch alone.
        diff = np.abs(d.image.astype(int) - a.image.astype(int)).mean()
        assert diff < 3, diff
