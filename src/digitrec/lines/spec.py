"""The line model as plain data: alphabet, input geometry, held-out fonts. No torch.

Everything that training, export and onnxruntime inference must agree on lives
here, so that inference can check a model file without importing torch.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

__all__ = [
    "ARCH",
    "BLANK",
    "CLASSES",
    "DIGITS",
    "FONT_DIR",
    "HEIGHT",
    "HELD_OUT_FONTS",
    "NOT_DIGIT",
    "READERS",
    "READER_NAMES",
    "SEPARATORS",
    "STRIDE",
    "all_fonts",
    "decode_label",
    "encode_label",
    "training_fonts",
]

#: The line readers (see :func:`digitrec.lines.read.read_line`) ...
READERS = ("ctc", "segment", "combined")
#: ... and every name ``reader=`` accepts.
READER_NAMES = (*READERS, "default")

#: Architecture identifier stored in every saved line model.
ARCH = "digitrec-lines-crnn-v1"

DIGITS = "0123456789"
SEPARATORS = "-/.,"
#: One CTC label per word (or mark) that is not part of a number.
NOT_DIGIT = "X"
#: CTC classes: index 0 is the blank, then digits, separators and "not a digit".
CLASSES = DIGITS + SEPARATORS + NOT_DIGIT
BLANK = 0

#: The network's input height in pixels; the width is free.
HEIGHT = 32
#: Input columns per output frame (two 2x2 poolings).
STRIDE = 4

#: Folder of the 23 handwriting fonts: ``$DIGITREC_FONTS_DIR``, else the
#: ``shared/fonts/handwriting`` folder beside a source checkout (this file is
#: ``src/digitrec/lines/spec.py``).
FONT_DIR = Path(
    os.environ.get("DIGITREC_FONTS_DIR")
    or Path(__file__).resolve().parents[3].parent / "shared" / "fonts" / "handwriting"
)
#: Five of the 23 handwriting fonts never used in training or calibration: the
#: unseen-hand test. Drawn once with ``numpy.random.default_rng(11).choice(sorted
#: families, 5, replace=False)`` (11: the issue number) and written down here.
HELD_OUT_FONTS = (
    "caveat-brush",
    "indie-flower",
    "nanum-pen-script",
    "reenie-beanie",
    "shadows-into-light",
)


def all_fonts(font_dir: Path = FONT_DIR) -> dict[str, Path]:
    """Family name -> font file, for every handwriting font in ``font_dir``."""
    return {
        p.name.replace("-latin-400-normal.woff", ""): p
        for p in sorted(Path(font_dir).glob("*-latin-400-normal.woff"))
    }


def training_fonts(font_dir: Path = FONT_DIR) -> dict[str, Path]:
    """The fonts training and calibration may use: all but :data:`HELD_OUT_FONTS`."""
    return {k: v for k, v in all_fonts(font_dir).items() if k not in HELD_OUT_FONTS}


def encode_label(text: str) -> np.ndarray:
    """Class indices (1-based; 0 is the blank) of a label string over :data:`CLASSES`."""
    return np.array([CLASSES.index(c) + 1 for c in text], np.int64)


def decode_label(indices) -> str:
    """Inverse of :func:`encode_label` (blanks are skipped)."""
    return "".join(CLASSES[int(i) - 1] for i in indices if int(i) != BLANK)
