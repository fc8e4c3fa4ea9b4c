"""Fixtures of the page tests: the held-out handwriting fonts (skip without them)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from digitrec.testing.fonts import fonts_dir, held_out_fonts


@pytest.fixture(scope="session")
def fonts():
    found = held_out_fonts()
    if not found:
        pytest.skip(f"the held-out handwriting fonts are not in {fonts_dir()} (DIGITREC_FONTS_DIR)")
    return found


@pytest.fixture(scope="session")
def write(fonts):
    """Render lines of text (one string per line) in a held-out font: grey uint8 page.

    The default is the second held-out family (indie-flower): these tests check the
    layout, and today's segment reader merges caveat-brush's heavy strokes ("4567"
    reads "27"), a reader weakness the benchmarks measure instead.
    """

    def _write(lines: list[str], size: int = 48, font: int = 1, gap: int = 30) -> np.ndarray:
        f = ImageFont.truetype(str(fonts[font]), size)
        height = 20 + len(lines) * (size + gap)
        img = Image.new("L", (40 + size * max(len(t) for t in lines), height), 235)
        d = ImageDraw.Draw(img)
        for k, text in enumerate(lines):
            d.text((20, 10 + k * (size + gap)), text, font=f, fill=20)
        return np.asarray(img)

    return _write
