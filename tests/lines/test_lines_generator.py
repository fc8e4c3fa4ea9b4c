"""The training-line generator: seeded, labelled as the reader must read, held-out fonts apart."""

from __future__ import annotations

import numpy as np
import pytest

from digitrec.lines.decode import expected_text
from digitrec.lines.spec import CLASSES, HELD_OUT_FONTS, SEPARATORS, all_fonts, training_fonts
from digitrec.lines.synth import LineGenerator, number_text


def test_same_seed_same_lines_other_seed_other_lines(train_gen):
    a = train_gen.sample(np.random.default_rng(5))
    b = train_gen.sample(np.random.default_rng(5))
    c = train_gen.sample(np.random.default_rng(6))
    assert a[1] == b[1] and np.array_equal(a[0], b[0])
    assert not (c[0].shape == a[0].shape and np.array_equal(c[0], a[0]))


def test_held_out_fonts_are_never_training_fonts(font_files):
    train = training_fonts()
    assert len(train) == 18 and len(HELD_OUT_FONTS) == 5
    assert not set(train) & set(HELD_OUT_FONTS)
    assert set(train) | set(HELD_OUT_FONTS) == set(all_fonts())


def test_labels_use_the_alphabet_and_separators_sit_inside_numbers(train_gen):
    rng = np.random.default_rng(0)
    kinds = set()
    for _ in range(60):
        _, label, kind = train_gen.line(rng)
        kinds.add(kind)
        assert label and set(label) <= set(CLASSES)
        for run in label.split("X"):
            assert run == run.strip(SEPARATORS)  # never a separator at a number's end
    assert {"number", "field", "words"} <= kinds


def test_expected_text_keeps_numbers_and_drops_words():
    assert expected_text("X12.50") == "12.50"
    assert expected_text("XX") == ""
    assert expected_text("X12X03/11") == "12 03/11"


def test_number_formats_hold_separators():
    rng = np.random.default_rng(1)
    assert len(number_text(rng, "zip")) == 5
    assert number_text(rng, "zip4")[5] == "-"
    assert any(s in number_text(rng, "date") for s in "/-.")


def test_mnist_digits_come_from_the_arrays_given(train_gen):
    # a generator given only one image of each digit can only draw those
    images = np.zeros((10, 28, 28), np.uint8)
    for d in range(10):
        images[d, 4:24, 10 + d % 3 : 16 + d % 3] = 255
    gen = LineGenerator(train_gen.fonts, images, np.arange(10))
    alpha, label, kind = gen.line(np.random.default_rng(2), kind="digits")
    assert kind == "digits" and label.isdigit() and alpha.max() > 0.9


def test_distorted_glyphs_are_other_hands_on_the_same_baseline(train_gen):
    """distort_glyph: a different drawing of about the same size, whose ink sits
    where the font's does (the top moves with the ink), and none at strength 0."""
    from digitrec.lines.synth import D, distort_glyph

    g = train_gen.fonts.glyphs[0]["4"]
    same = distort_glyph(g, np.random.default_rng(0), strength=0.0)
    np.testing.assert_allclose(same.alpha, g.alpha, atol=1e-5)
    assert same.top == pytest.approx(g.top, abs=1e-6)
    for seed in range(5):
        h = distort_glyph(g, np.random.default_rng(seed))
        assert 0.7 < h.alpha.shape[0] / g.alpha.shape[0] < 1.3
        assert 0.6 < h.alpha.shape[1] / g.alpha.shape[1] < 1.5
        assert abs(h.top - g.top) < 0.25  # in digit heights
        assert abs(h.alpha.sum() / g.alpha.sum() - 1) < 0.5
        assert h.alpha.shape != g.alpha.shape or not np.allclose(h.alpha, g.alpha)
    assert D == 40


def test_separators_are_never_distorted(font_files):
    from digitrec.lines.synth import FontBank, LineGenerator

    gen = LineGenerator(FontBank({"caveat": font_files["caveat"]}), distort=1.0)
    bank = gen.fonts.glyphs[0]
    rng = np.random.default_rng(0)
    for ch in "-/.,":
        assert gen._digit(ch, bank, False, rng) is bank[ch]
    assert gen._digit("7", bank, False, rng) is not bank["7"]


def test_other_pen_broadens_or_thins_the_strokes_and_keeps_thin_ones(train_gen):
    from digitrec.lines.synth import other_pen

    alpha, _, _ = train_gen.line(np.random.default_rng(4), kind="font_digits")
    sums = {
        round(float(other_pen(alpha, np.random.default_rng(s)).sum() / alpha.sum()), 3)
        for s in range(40)
    }
    assert any(r > 1.2 for r in sums) and any(r < 0.9 for r in sums)
    assert min(sums) >= 1 / 3  # never erased
    hair = np.zeros((40, 40), np.float32)
    hair[5:35, 20] = 1.0  # a one-pixel stroke: thinning would erase it
    for s in range(40):
        out = other_pen(hair, np.random.default_rng(s))
        assert out.sum() >= hair.sum() and out.shape == hair.shape
