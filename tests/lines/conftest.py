"""Fixtures of the line-reader tests: glyph banks and generated lines, seeded."""

from __future__ import annotations

import numpy as np
import pytest

from digitrec.lines.spec import FONT_DIR, HELD_OUT_FONTS, all_fonts, training_fonts


@pytest.fixture(scope="session")
def font_files():
    fonts = all_fonts()
    if len(fonts) < 23:
        pytest.skip(f"the 23 handwriting fonts are not in {FONT_DIR} (set DIGITREC_FONTS_DIR)")
    return fonts


@pytest.fixture(scope="session")
def heldout_gen(font_files):
    """Lines in the five held-out fonts (never trained on): the tests' unseen hands."""
    from digitrec.lines.synth import FontBank, LineGenerator

    return LineGenerator(FontBank({k: font_files[k] for k in HELD_OUT_FONTS}))


@pytest.fixture(scope="session")
def train_gen(font_files):
    """Lines in the training fonts only (the calibration distribution, minus MNIST)."""
    from digitrec.lines.synth import FontBank, LineGenerator

    return LineGenerator(FontBank(training_fonts()))


def photo(gen, seed: int, **kw) -> tuple[np.ndarray, str]:
    """A generated line as an RGB photo (the benchmark's renderer) and its expected text."""
    from digitrec.testing.synth import render_line

    return render_line(gen, np.random.default_rng(seed), **kw)
