"""The page layer's shortcuts on one-line images change no result, only the work done."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw

import digitrec.pages.layout as layout
import digitrec.vision.normalize as normalize
from digitrec.pages.layout import _may_run, _runs, estimate_skew, find_lines, find_rules
from digitrec.pages.read import read_page
from digitrec.vision.read import read


@pytest.mark.parametrize("seed", range(6))
def test_rule_search_is_skipped_only_where_no_run_can_be_found(seed):
    # Random strokes of random lengths, at the borders too, in wide and narrow images.
    rng = np.random.default_rng(seed)
    for _ in range(40):
        h, w = rng.integers(3, 40), rng.integers(3, 160)
        mask = np.zeros((h, w), bool)
        for _ in range(rng.integers(0, 6)):
            y, x = rng.integers(0, h), rng.integers(0, w)
            mask[y, x : x + rng.integers(1, w + 1)] = True
        for length in (3, 8, 20, 40, 90, 200):
            if _runs(mask, length, axis=1).any():
                assert _may_run(mask.any(axis=0), length), (seed, h, w, length)


def test_a_page_without_long_runs_has_no_rules_and_a_ruled_one_keeps_them():
    blank = np.zeros((120, 300), bool)
    blank[30:90, 40:52] = blank[30:90, 100:112] = True  # two strokes: no run is long enough
    assert not _may_run(blank.any(axis=0), 200)
    assert not find_rules(blank, 0.0, 60.0).any()
    ruled = blank.copy()
    ruled[100:102, 5:295] = True  # a rule across the page
    assert find_rules(ruled, 0.0, 20.0)[100:102, 5:295].all()


def _drawing(strokes) -> np.ndarray:
    img = Image.new("L", (280, 280), 255)
    for line in strokes:
        ImageDraw.Draw(img).line(line, fill=0, width=18)
    return np.asarray(img)


def test_one_line_image_finds_its_ink_once_and_reads_as_read(monkeypatch):
    image = _drawing([[(70, 60), (210, 60), (120, 230)]])
    calls = []
    real = normalize.ink_map
    counted = lambda g: calls.append(g.shape) or real(g)  # noqa: E731
    monkeypatch.setattr(normalize, "ink_map", counted)  # the reader's (through Loaded.ink)
    monkeypatch.setattr(layout, "ink_map", counted)  # the layout's own
    page = read_page(image)
    assert len(calls) == 1  # the layout's ink map is the reader's
    assert page.text == read(image).text
    assert len(page.lines) == 1


def test_skew_of_a_single_mark_is_measured_when_asked():
    image = _drawing([[(140, 40), (150, 240)]])
    gray = image.astype(np.float32) / 255
    lay = find_lines(gray)
    assert len(lay.lines) == 1
    assert lay.skew == estimate_skew(normalize.ink_map(gray).mask)
