"""A small handwritten form for the line-reader tests: an amount beside a word, and a
word-only line, in a held-out hand (skips the test when the fonts are absent)."""

from __future__ import annotations

import pytest
from PIL import Image, ImageDraw, ImageFont

#: The form's lines, top to bottom; a line reader reads only "12.50".
LINES = ("Total 12.50", "Smith Street")


def form_image() -> Image.Image:
    """``Total 12.50`` over ``Smith Street``, dark ink on light paper (grey, 560 x 170)."""
    from digitrec.testing.fonts import held_out_fonts

    fonts = held_out_fonts()
    if not fonts:
        pytest.skip("the handwriting fonts are not here (set DIGITREC_FONTS_DIR)")
    img = Image.new("L", (560, 170), 235)
    font = ImageFont.truetype(str(fonts[1]), 48)
    for y, text in zip((10, 90), LINES, strict=True):
        ImageDraw.Draw(img).text((20, y), text, font=font, fill=20)
    return img
