"""Small marks of a line of small writing: decimal points, dashes and commas stay with it.

Pages drawn with bars for characters, so that only the layout is tested.
"""

from __future__ import annotations

import numpy as np

from digitrec.pages.layout import find_lines

PAPER, PEN = 235, 25


def _bars(page: np.ndarray, top: int, xs: list[int], height: int, width: int) -> None:
    """Upright bars, ``height`` tall, standing on one baseline: a row of characters."""
    for x in xs:
        page[top : top + height, x : x + width] = PEN


def _page_of_large_and_small_writing() -> tuple[np.ndarray, dict[str, tuple[int, int]]]:
    """Two lines of 50-pixel writing, then one of 20-pixel writing with its small marks.

    The page's text height is the large writing's, at which the small line's
    dash (12 pixels) and decimal point (2 x 2) are specks. Also returns the
    places (row, column) of the small marks and of a 1-pixel speck of dust
    high in a gap of that line.
    """
    page = np.full((420, 520), PAPER, np.uint8)
    for top in (40, 140):
        _bars(page, top, [60 + 40 * k for k in range(8)], 50, 12)
    top, h = 300, 20
    _bars(page, top, [100, 120, 140], h, 4)
    page[top + 9 : top + 11, 152:158] = PEN  # a dash, half-way up
    _bars(page, top, [166, 186], h, 4)
    page[top + h - 2 : top + h, 196:198] = PEN  # a decimal point, on the baseline
    _bars(page, top, [206, 226], h, 4)
    page[top + 2, 215:217] = PEN  # dust, high in the gap between two characters
    marks = {"dash": (top + 9, 154), "point": (top + h - 1, 196), "dust": (top + 2, 216)}
    return page, marks


def test_small_line_keeps_its_dash_and_decimal_point():
    page, marks = _page_of_large_and_small_writing()
    lay = find_lines(page.astype(np.float32) / 255)
    assert len(lay.lines) == 3
    small = lay.lines[2]
    assert small.box[3] < 30  # the small line, with its own marks
    x0, y0 = small.origin
    crop = small.crop
    for name in ("dash", "point"):
        y, x = marks[name]
        assert crop[y - y0, x - x0] < 0.5, f"the {name} was painted over as dust"
    # Its box reaches from the first character to the last.
    assert small.box[0] == 100 and small.box[0] + small.box[2] == 230


def test_dust_in_a_line_is_still_painted_over():
    page, marks = _page_of_large_and_small_writing()
    lay = find_lines(page.astype(np.float32) / 255)
    small = lay.lines[2]
    x0, y0 = small.origin
    y, x = marks["dust"]
    # Painted with the paper: as light as the paper around it.
    assert small.crop[y - y0, x - x0] > 0.8


def test_comma_hanging_below_the_line_stays_in_it():
    """A long comma, hanging most of a character's height below the baseline."""
    page = np.full((200, 300), PAPER, np.uint8)
    top, h = 60, 40
    _bars(page, top, [60, 90], h, 8)
    for k in range(24):  # a comma: from just above the baseline down and to the left
        x = 118 - k // 4
        page[top + 36 + k, x : x + 5] = PEN
    _bars(page, top, [130, 160, 190], h, 8)
    lay = find_lines(page.astype(np.float32) / 255)
    assert len(lay.lines) == 1
    (line,) = lay.lines
    x0, y0 = line.origin
    assert line.box[1] + line.box[3] >= top + 60  # the box reaches the comma's tail
    assert line.crop[top + 50 - y0, 115 - x0] < 0.5  # the comma is not painted over


def _feet_on_a_rule() -> np.ndarray:
    """Five L-shaped characters whose feet lie along a ruling line, lighter than the pen."""
    page = np.full((200, 600), PAPER, np.uint8)
    page[100:102, :] = 150  # the ruling, printed lighter than the pen
    for x in range(100, 300, 40):
        page[60:101, x : x + 5] = PEN  # the stem, standing on the rule
        page[98:103, x : x + 18] = PEN  # the foot, written along the rule
    return page


def test_writing_along_a_rule_is_not_painted_over_with_it():
    page = _feet_on_a_rule()
    lay = find_lines(page.astype(np.float32) / 255)
    assert lay.rules[100, 400] and lay.rules[100, 112]  # the feet were taken with the rule
    (line,) = lay.lines
    x0, y0 = line.origin
    crop = line.crop
    for x in range(100, 300, 40):
        assert crop[100 - y0, x + 13 - x0] < 0.5, "a foot was painted over as a rule"
    assert crop[101 - y0, 125 - x0] > 0.8  # the rule itself, between them, is painted
