"""The line preparation keeps a digit written lighter than its neighbours."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from digitrec.lines.prep import prepare
from digitrec.lines.read import read_line


def _line(font_path, light: int) -> tuple[np.ndarray, int]:
    """``61146`` with the ``6`` drawn at grey level ``light`` and the rest near black;
    also returns the x where the ``1146`` starts."""
    font = ImageFont.truetype(str(font_path), 44)
    img = Image.new("L", (260, 70), 235)
    draw = ImageDraw.Draw(img)
    draw.text((14, 8), "6", font=font, fill=light)
    start = 14 + int(draw.textlength("6", font=font)) + 2
    draw.text((start, 8), "1146", font=font, fill=25)
    return np.asarray(img, np.float32) / 255.0, start


def test_a_light_digit_stays_in_the_crop(font_files):
    gray, start = _line(font_files["indie-flower"], 175)
    p = prepare(gray)
    left = p.crop[1]
    assert left < start - 10, (left, start)  # the crop reaches the light 6
    assert read_line(gray).text == "61146"
