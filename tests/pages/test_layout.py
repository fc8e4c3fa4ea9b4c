"""Layout on generated pages: every line found, in reading order, rules never read."""

from __future__ import annotations

import numpy as np
import pytest

from digitrec.errors import InputError
from digitrec.pages.layout import estimate_skew, find_lines
from digitrec.pages.read import LineReader, SegmentReader, make_line_reader, read_page
from digitrec.testing.pages import box_iou, generate_page
from digitrec.vision.read import read


def gray(page) -> np.ndarray:
    return page.image.mean(axis=2).astype(np.float32) / 255.0


@pytest.mark.parametrize("seed", [1, 2, 7, 12])
def test_every_line_found_in_reading_order(fonts, seed):
    page = generate_page(seed, fonts=fonts)
    lay = find_lines(gray(page))
    assert len(lay.lines) == len(page.lines)
    # Reading order: the k-th truth line is the k-th line found, box for box.
    for truth, line in zip(page.lines, lay.lines, strict=True):
        assert box_iou(truth.box, line.box) >= 0.5, (truth, line.box)


@pytest.mark.parametrize("angle", [-5.0, -2.0, 3.0, 5.0])
def test_skew_is_measured(fonts, angle):
    page = generate_page(3, fonts=fonts, tilt=angle, ruled=False)
    lay = find_lines(gray(page))
    # Pillow rotates counter-clockwise: lines then rise to the right (negative image slope).
    assert lay.skew == pytest.approx(-angle, abs=0.5)
    assert estimate_skew(np.zeros((50, 50), bool)) == 0.0


def test_ruled_paper_with_comb_boxes_and_form_rules_reads_nothing_when_blank():
    h, w = 900, 700
    page = np.full((h, w), 240, np.uint8)
    page[100::60, :] = 170  # ruling
    page[:, 60:62] = 200  # margin
    for x in range(200, 201 + 7 * 40, 40):  # a comb box of 7 cells
        page[500:556, x : x + 2] = 60
    page[500:502, 200:482] = 60
    page[554:556, 200:482] = 60
    page[700:702, 150:600] = 60  # a form line
    lay = find_lines(page.astype(np.float32) / 255)
    assert lay.lines == []
    assert lay.rules.sum() > 0
    result = read_page(page)
    assert result.text == "" and result.lines == []


@pytest.mark.parametrize("seed", [5, 10, 15, 31, 44])
def test_comb_walls_and_rules_never_read_as_digits(fonts, seed):
    """Ruled or boxed lines read no more characters than were written.

    Read with the segment reader: it reads every mark as a digit, so it shows
    any rule the layout failed to remove.
    """
    page = generate_page(seed, fonts=fonts, ruled=True)
    result = read_page(page.image, line_reader=SegmentReader())
    # Lines that hold only a number (words are read as digits by today's reader).
    expected = [t for t in page.lines if t.kind in ("comb", "separator", "digits")]
    got = {tuple(ln.box): ln.text for ln in result.lines}
    for truth in expected:
        box = max(got, key=lambda b: box_iou(b, truth.box))
        digits = sum(ch.isdigit() for ch in truth.expected)
        assert len(got[box]) <= digits + 1, (truth.written, got[box])
        assert "-" not in got[box] or "-" in truth.expected


def test_two_lines_read_as_two(write):
    image = write(["123", "4567"])
    result = read_page(image)
    assert result.text == "123\n4567"
    (a, b) = (ln.box for ln in result.lines)
    assert a[1] + a[3] <= b[1]  # the first box ends above the second
    for ln in result.lines:  # every character inside its own line's box
        for c in ln.chars:
            assert ln.box[1] - 2 <= c.box[1] and c.box[1] + c.box[3] <= ln.box[1] + ln.box[3] + 2


def test_fields_side_by_side_are_separate_lines(write):
    image = write(["12" + " " * 14 + "345"])
    lay = find_lines(image.astype(np.float32) / 255)
    assert len(lay.lines) == 2
    assert lay.lines[0].box[0] < lay.lines[1].box[0]


@pytest.mark.parametrize("text", ["7", "42", "02139", "5551234"])
@pytest.mark.parametrize("font", [0, 2])
def test_one_line_image_reads_as_today(write, text, font):
    image = write([text], font=font)
    today = read(image)
    # the default reader reads a one-line image whole, as digitrec.read does
    for reader in (None, SegmentReader()):
        result = read_page(image, line_reader=reader)
        assert result.text == today.text
        assert [c.confidence for c in result.lines[0].chars] == [d.confidence for d in today.digits]


def test_generator_is_seeded_and_uses_only_held_out_fonts(fonts):
    from digitrec.testing.fonts import HELD_OUT_FONTS

    a, b = generate_page(9, fonts=fonts), generate_page(9, fonts=fonts)
    assert np.array_equal(a.image, b.image) and a.lines == b.lines
    assert {f.name.split("-latin")[0] for f in fonts} <= set(HELD_OUT_FONTS)
    # Each truth box holds ink (dark pixels) and lies on the page.
    grey = gray(a)
    for t in a.lines:
        x, y, w, h = t.box
        assert x >= 0 and y >= 0 and x + w <= grey.shape[1] and y + h <= grey.shape[0]
        assert grey[y : y + h, x : x + w].min() < 0.5


def test_line_reader_reads_separators_and_skips_words(write):
    """digitrec.lines' reader on a page: numbers with separators, words skipped."""
    result = read_page(
        write(["Total 12.50", "Smith Street", "03/11/2026"]), line_reader=LineReader()
    )
    first, date = (ln.text for ln in result.lines)  # the word-only line gives no line
    assert first == "12.50" and result.skipped == 1, result.to_dict()
    assert date.count("/") == 2 and date.startswith("03/") and date.endswith("/2026")
    segment = read_page(write(["Smith Street"]), line_reader=SegmentReader())
    assert segment.text != ""  # the segment reader reads letters as digits


def test_default_reader_reads_the_lines_of_a_page_with_the_line_model(write):
    """A page of several lines: the default reads each line as the line model does."""
    image = write(["Total 12.50", "Smith Street", "03/11/2026"])
    default = read_page(image).to_dict()
    assert default == read_page(image, line_reader=LineReader()).to_dict()
    assert default != read_page(image, line_reader=SegmentReader()).to_dict()
    with pytest.raises(InputError, match="auto"):
        make_line_reader("magic")
