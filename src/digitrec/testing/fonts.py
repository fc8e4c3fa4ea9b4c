"""The handwriting fonts, and which of them are held out of training.

:data:`HELD_OUT_FONTS` are the hands that no line reader is trained or tuned
on; tests and benchmarks render their handwritten words and numbers with them
only, so that their figures measure unseen hands. Every trainer uses the other
families of the folder (see ``../shared/fonts/README.md``).
"""

from __future__ import annotations

import os
from pathlib import Path

# The line reader's held-out hands are the ones the page benchmark writes with: one list,
# so that no page is written in a hand the shipped line model was trained on.
from digitrec.lines.spec import FONT_DIR, HELD_OUT_FONTS

__all__ = ["HELD_OUT_FONTS", "font_path", "fonts_dir", "held_out_fonts"]


def fonts_dir() -> Path:
    """The handwriting font folder: ``$DIGITREC_FONTS_DIR``, else ``../shared/fonts/handwriting``.

    One definition with the line reader's trainer (:data:`digitrec.lines.spec.FONT_DIR`),
    read again here so that a test may set the variable after import.
    """
    env = os.environ.get("DIGITREC_FONTS_DIR")
    return Path(env) if env else FONT_DIR


def font_path(family: str, folder: Path | None = None) -> Path:
    """The file of one family (it may not exist: check ``.is_file()``)."""
    return (folder or fonts_dir()) / f"{family}-latin-400-normal.woff"


def held_out_fonts(folder: Path | None = None) -> list[Path]:
    """The held-out families' files that exist (empty when the folder is absent)."""
    return [p for p in (font_path(f, folder) for f in HELD_OUT_FONTS) if p.is_file()]
