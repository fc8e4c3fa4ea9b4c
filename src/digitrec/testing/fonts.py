"""The handwriting fonts, and which of them are held out of training.

:data:`HELD_OUT_FONTS` are the hands that no line reader is trained or tuned
on; tests and benchmarks render their handwritten words and numbers with them
only, so that their figures measure unseen hands. Every trainer uses the other
families of the folder (see ``../shared/fonts/README.md``).
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["HELD_OUT_FONTS", "font_path", "fonts_dir", "held_out_fonts"]

#: Families held out of line-reader training (file ``<family>-latin-400-normal.woff``).
HELD_OUT_FONTS = ("kalam", "patrick-hand", "schoolbell", "sriracha", "short-stack")


def fonts_dir() -> Path:
    """The handwriting font folder: ``$DIGITREC_FONTS_DIR``, else ``../shared/fonts/handwriting``.

    The default is relative to the repository (this file is
    ``src/digitrec/testing/fonts.py``).
    """
    env = os.environ.get("DIGITREC_FONTS_DIR")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[3].parent / "shared" / "fonts" / "handwriting"


def font_path(family: str, folder: Path | None = None) -> Path:
    """The file of one family (it may not exist: check ``.is_file()``)."""
    return (folder or fonts_dir()) / f"{family}-latin-400-normal.woff"


def held_out_fonts(folder: Path | None = None) -> list[Path]:
    """The held-out families' files that exist (empty when the folder is absent)."""
    return [p for p in (font_path(f, folder) for f in HELD_OUT_FONTS) if p.is_file()]
