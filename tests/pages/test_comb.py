"""Comb boxes: one digit per printed box, read box by box; walls never read."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from digitrec.pages.layout import _grid, find_lines
from digitrec.pages.read import LineReader, SegmentReader, read_page
from digitrec.testing.pages import box_iou, generate_page

DARK = (70, 70, 70)
LIGHT_BLUE = (140, 170, 215)  # the generator's ruling colour: faint once blurred


def comb(fonts, text, *, font=1, size=64, colour=DARK, ruled=False, tilt=0.0, against=None):
    """``text`` written one character per box of a comb (a space leaves a box empty).

    ``against``: index of a box whose digit is written against its left wall.
    Returns the RGB page and the x of each wall.
    """
    f = ImageFont.truetype(str(fonts[font]), size)
    th = max(f.getbbox(ch)[3] - f.getbbox(ch)[1] for ch in "0123456789")  # the digits' height
    cell, n = int(1.2 * th), len(text)
    x0, top = 60, 70
    bottom = top + int(1.35 * th)
    img = Image.new("RGB", (2 * x0 + cell * n, bottom + 90), (238, 236, 230))
    d = ImageDraw.Draw(img)
    if ruled:
        for y in range(40, img.height, 90):
            d.line([(0, y), (img.width, y)], fill=LIGHT_BLUE, width=1)
    walls = [x0 + k * cell for k in range(n + 1)]
    for x in walls:
        d.line([(x, top), (x, bottom)], fill=colour, width=2)
    for y in (top, bottom):
        d.line([(x0, y), (walls[-1] + 1, y)], fill=colour, width=2)
    for k, ch in enumerate(text):
        if ch == " ":
            continue
        bx0, _, bx1, by1 = f.getbbox(ch)
        x = walls[k] + 4 - bx0 if k == against else walls[k] + (cell - (bx1 - bx0)) // 2 - bx0
        d.text((x, bottom - 5 - by1), ch, font=f, fill=(25, 30, 40))
    if tilt:
        img = img.rotate(tilt, resample=Image.Resampling.BILINEAR, fillcolor=(238, 236, 230))
    return np.asarray(img), walls


def gray(rgb: np.ndarray) -> np.ndarray:
    return rgb.mean(axis=2).astype(np.float32) / 255.0


@pytest.mark.parametrize("colour", [DARK, LIGHT_BLUE])
@pytest.mark.parametrize("tilt", [0.0, -3.0, 4.0])
def test_layout_gives_one_cell_per_written_box(fonts, colour, tilt):
    image, walls = comb(fonts, "4017 ", colour=colour, ruled=colour == LIGHT_BLUE, tilt=tilt)
    lay = find_lines(gray(image))
    (line,) = lay.lines
    assert len(line.cells) == 4  # the empty box gives nothing
    xs = [c.box[0] for c in line.cells]
    assert xs == sorted(xs)
    for c in line.cells:  # each cell holds one digit's ink, no wall
        assert c.mask.any() and c.box[2] < walls[1] - walls[0]


@pytest.mark.parametrize("reader", [SegmentReader(), LineReader("combined")])
@pytest.mark.parametrize("text", ["4401170", "1111", "701  "])
def test_comb_row_reads_box_by_box(fonts, reader, text):
    """Lone 1s, 7s and 0s a box apart read as digits; walls and empty boxes read as nothing."""
    image, walls = comb(fonts, text)
    result = read_page(image, line_reader=reader)
    assert result.text == text.replace(" ", ""), result.to_dict()
    (line,) = result.lines
    for ch, a, b in zip(line.chars, walls, walls[1:], strict=False):  # each in its own box
        assert a <= ch.box[0] and ch.box[0] + ch.box[2] <= b + 1


def test_empty_comb_and_walls_read_as_nothing(fonts):
    image, _ = comb(fonts, "       ")
    result = read_page(image, line_reader=SegmentReader())
    assert result.text == "" and result.lines == []


def test_digit_against_a_wall_keeps_its_stroke(fonts):
    """A 1 written against its box's wall is not taken for the wall (nor the wall for it)."""
    image, _ = comb(fonts, "5151", against=1)
    lay = find_lines(gray(image))
    (line,) = lay.lines
    assert len(line.cells) == 4
    one = line.cells[1]
    assert one.box[3] >= 0.8 * max(c.box[3] for c in line.cells)  # its full height kept
    assert read_page(image, line_reader=SegmentReader()).text == "5151"


def test_grid_fills_missed_walls_and_drops_strokes():
    xs = np.array([100.0, 141.0, 222.0, 262.0, 236.0])  # 180 missed, 236 is a stroke
    x0, pitch, matched = _grid(np.sort(xs), 35.0)
    assert pitch == pytest.approx(40.5, abs=0.6) and matched == 4
    assert abs((180 - x0) / pitch - round((180 - x0) / pitch)) < 0.05
    assert _grid(np.array([100.0]), 35.0) is None


def test_generated_comb_lines_get_their_boxes(fonts):
    """On generated pages (held-out hands), nearly every comb row gets one box per digit."""
    found = total = 0
    for seed in range(40):
        page = generate_page(seed, fonts=fonts)
        combs = [t for t in page.lines if t.kind == "comb"]
        if not combs:
            continue
        lay = find_lines(gray(page.image))
        for t in combs:
            total += 1
            best = max(lay.lines, key=lambda ln: box_iou(ln.box, t.box))
            found += len(best.cells) == len(t.expected)
        for ln in lay.lines:  # no other kind of line is taken for a comb
            if not any(box_iou(ln.box, t.box) > 0.5 for t in combs):
                assert ln.cells == []
    assert total >= 8 and found >= 0.9 * total, (found, total)


def test_foot_of_a_2_near_the_bottom_rule_stays_with_it(fonts):
    """A 2 whose foot runs along its box's bottom rule, close to it, keeps its foot.

    Taken with the rule, the foot left a 7. A page large enough to be searched
    for rules at half resolution (coarser rules, so closer to the writing).
    """
    f = ImageFont.truetype(str(fonts[1]), 52)
    cell, n, x0, top, bottom = 49, 5, 60, 200, 267
    img = Image.new("RGB", (700, 500), (238, 236, 230))
    d = ImageDraw.Draw(img)
    walls = [x0 + k * cell for k in range(n + 1)]
    for x in walls:
        d.line([(x, top), (x, bottom)], fill=DARK, width=2)
    for y in (top, bottom):
        d.line([(x0, y), (walls[-1] + 1, y)], fill=DARK, width=2)
    bx0, _, bx1, by1 = f.getbbox("2")
    for k in range(n):  # the glyph's last row of ink 2 pixels above the rule
        d.text((walls[k] + (cell - (bx1 - bx0)) // 2 - bx0, bottom - 2 - by1), "2", font=f, fill=0)
    image = np.asarray(img.filter(ImageFilter.GaussianBlur(0.8)))
    (line,) = find_lines(gray(image)).lines
    assert len(line.cells) == n
    for c in line.cells:  # the foot: ink along most of the width of the cell's last rows
        assert c.mask[-3:].any(axis=0).mean() >= 0.7, "the foot of the 2 went with the rule"
