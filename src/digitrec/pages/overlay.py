"""Draw what was read on the page: each line's box and its reading, saved as a PNG."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from digitrec.data.idx import atomic_write
from digitrec.pages.result import PageResult

__all__ = ["draw_overlay", "page_image", "save_overlay"]

#: Colour of a line's box and reading (sure, unsure below this confidence).
SURE, UNSURE = (0, 150, 60), (220, 40, 40)
CONFIDENT = 0.9


def page_image(image: Any) -> Image.Image:
    """The page as an RGB Pillow image of its own size (the size its boxes refer to).

    Parameters
    ----------
    image : Page, PIL.Image.Image, numpy.ndarray, path or bytes
        The page that was read.

    Returns
    -------
    PIL.Image.Image
    """
    from digitrec.pages.documents import Page

    if isinstance(image, Page):
        image = image.image
    if isinstance(image, Image.Image):
        return image.convert("RGB")
    from digitrec.vision.io import load_image

    loaded = load_image(image)
    base = loaded.full
    if base is None:
        base = Image.fromarray((loaded.gray * 255 + 0.5).astype(np.uint8), "L")
    return base.convert("RGB").resize(loaded.size)


def draw_overlay(image: Any, result: PageResult) -> Image.Image:
    """The page with each line's box, its characters' boxes and its reading drawn on it.

    Parameters
    ----------
    image : PIL.Image.Image, numpy.ndarray, path or bytes
        The page that was read (same size as ``result.size``).
    result : PageResult

    Returns
    -------
    PIL.Image.Image
        RGB; green for lines read with confidence >= 0.9, red below.
    """
    page = page_image(image)
    draw = ImageDraw.Draw(page)
    size = max(12, page.height // 60)
    try:
        font = ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1 has one fixed-size default font
        font = ImageFont.load_default()
    width = max(1, page.height // 500)
    for ln in result.lines:
        colour = SURE if ln.confidence >= CONFIDENT else UNSURE
        for c in ln.chars:  # characters first: the line's box stays on top
            cx, cy, cw, ch = c.box
            draw.rectangle((cx, cy, cx + cw - 1, cy + ch - 1), outline=(90, 90, 230), width=width)
        x, y, w, h = ln.box
        draw.rectangle((x, y, x + w - 1, y + h - 1), outline=colour, width=width + 1)
        label = f"{ln.text}  ({ln.confidence:.2f})"
        ty = y - size - 4 if y >= size + 4 else y + h + 2
        draw.text((x, ty), label, fill=colour, font=font)
    return page


def save_overlay(image: Any, result: PageResult, path: str | Path) -> Path:
    """Draw :func:`draw_overlay` and write it as a PNG (whole file or nothing).

    Returns
    -------
    Path
        Where it was written.
    """
    out = Path(path)
    buf = io.BytesIO()
    draw_overlay(image, result).save(buf, format="PNG")
    atomic_write(out, buf.getvalue())
    return out
