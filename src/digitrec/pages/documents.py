"""The pages of a document: an image (one page), a multi-page TIFF, or a PDF.

:func:`iter_pages` yields one :class:`Page` per page, numbered from 1:

* **Images** (PNG, JPEG, BMP, WebP, one-frame TIFF, ...) are one page.
* **Multi-page TIFF**: every frame is a page. (An animated GIF, APNG or WebP
  stays one page, its first frame, as :func:`digitrec.vision.io.load_image`
  reads it: animation frames are not pages.)
* **PDF** (recognised by its ``%PDF`` signature, whatever the file name) via
  pypdfium2: each page is rendered in grey at a resolution chosen for its
  writing: :data:`PDF_DPI` (200 dpi, where handwriting 4 mm tall is about 30
  pixels, what the digit reader works at), or :data:`PDF_DPI_SMALL` (300 dpi)
  when the marks on the page are smaller than :data:`SMALL_WRITING_PX` at 200
  dpi; reduced if needed so that it has at most :data:`PDF_PIXELS` pixels.

Limits, each an :class:`~digitrec.errors.InputError` naming the file, what
was expected, what was found and the fix: at most ``max_pages`` pages, at most
``max_pixels`` pixels in a decoded page, at most ``max_bytes`` bytes. An
encrypted (password-protected) or damaged PDF is refused the same way.
pypdfium2 is not thread-safe: call this from one thread at a time per process.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageSequence

from digitrec.errors import InputError
from digitrec.vision.io import MAX_FILE_BYTES, MAX_PIXELS, TooManyPixels, open_header

__all__ = [
    "MAX_PAGES",
    "PDF_DPI",
    "PDF_DPI_SMALL",
    "PDF_PIXELS",
    "SMALL_WRITING_PX",
    "Page",
    "TooManyPages",
    "is_pdf",
    "iter_pages",
    "writing_height",
]

#: Most pages read from one document.
MAX_PAGES = 500
#: Resolution PDF pages are rendered at ...
PDF_DPI = 200.0
#: ... or this, when the writing is small: median mark height under
#: SMALL_WRITING_PX pixels at PDF_DPI (2.5 mm), which 300 dpi makes 30 pixels.
PDF_DPI_SMALL = 300.0
SMALL_WRITING_PX = 20
#: ... unless that makes more pixels than this (a poster-sized page): then less.
PDF_PIXELS = 8_000_000


@dataclass
class Page:
    """One page of a document.

    Attributes
    ----------
    image : PIL.Image.Image or numpy.ndarray
        The page, decoded (a Pillow image), or the array given.
    page : int
        1-based page number.
    path : str
        The document's name (its path, or ``<N bytes>`` for bytes).
    dpi : float or None
        Resolution a PDF page was rendered at (chosen for its writing unless
        given); None for images.
    """

    image: Any
    page: int
    path: str
    dpi: float | None = None


def _name(source: Any) -> str:
    if isinstance(source, (str, os.PathLike)):
        return str(source)
    if isinstance(source, (bytes, bytearray, memoryview)):
        return f"<{len(source)} bytes>"
    return f"<{type(source).__name__}>"


def _read_bytes(source: Any, name: str, max_bytes: int) -> bytes:
    """The file's bytes, after checking that it exists and is not too large."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
    else:
        path = Path(source)
        if not path.is_file():
            found = "a folder" if path.is_dir() else "nothing"
            raise InputError(f"{name}: expected an image or PDF file, found {found} there")
        size = path.stat().st_size
        if size > max_bytes:
            raise InputError(
                f"{name}: expected at most {max_bytes:,} bytes, found {size:,}; "
                "split the document or raise max_bytes"
            )
        data = path.read_bytes()
    if len(data) > max_bytes:
        raise InputError(
            f"{name}: expected at most {max_bytes:,} bytes, found {len(data):,}; "
            "split the document or raise max_bytes"
        )
    if not data:
        raise InputError(f"{name}: expected an image or PDF, found an empty (0-byte) input")
    return data


def is_pdf(data: bytes) -> bool:
    """True when ``data`` starts like a PDF (``%PDF`` within its first kilobyte)."""
    return b"%PDF" in data[:1024]


class TooManyPages(InputError):
    """A document with more pages than the limit (the service answers it with 413)."""


def _too_many(name: str, count: int, max_pages: int) -> InputError:
    return TooManyPages(
        f"{name}: expected at most {max_pages} pages, found {count}; "
        "split the document or raise max_pages"
    )


def _pdf_error(name: str, exc: Exception) -> InputError:
    """A clear error for a PDF that pdfium cannot open."""
    import pypdfium2.raw as pdfium_c

    code = getattr(exc, "err_code", None)
    if code in (pdfium_c.FPDF_ERR_PASSWORD, pdfium_c.FPDF_ERR_SECURITY):
        return InputError(
            f"{name}: expected an unencrypted PDF, found a password-protected (encrypted) one; "
            "remove the password (e.g. `qpdf --decrypt in.pdf out.pdf`) or pass password=..."
        )
    return InputError(
        f"{name}: expected a valid PDF, found a damaged or truncated one ({exc}); "
        "re-export or re-download it"
    )


def _pdf_pages(
    data: bytes, name: str, *, max_pages: int, dpi: float | None, password: str | None
) -> Iterator[Page]:
    import pypdfium2 as pdfium

    try:
        doc = pdfium.PdfDocument(data, password=password)
    except pdfium.PdfiumError as exc:
        raise _pdf_error(name, exc) from exc
    try:
        count = len(doc)
        if count == 0:
            raise InputError(f"{name}: expected a PDF with at least one page, found none")
        if count > max_pages:
            raise _too_many(name, count, max_pages)
        for k in range(count):
            yield _render(doc, k, name, dpi)
    finally:
        doc.close()


def writing_height(image: Image.Image) -> float | None:
    """Median height in pixels of the ink marks on a rendered page; None if it has none.

    Marks are the connected components of pixels darker than 60% of the paper
    (the page's median grey); specks (under 4 pixels tall or 12 in area) and
    rules (flat marks) do not count.
    """
    from scipy import ndimage

    grey = np.asarray(image)
    labels, n = ndimage.label(grey < 0.6 * float(np.median(grey)))
    if n == 0:
        return None
    areas = np.bincount(labels.ravel(), minlength=n + 1)[1:]
    heights = np.array(
        [
            sl[0].stop - sl[0].start
            for sl, area in zip(ndimage.find_objects(labels), areas, strict=True)
            if area >= 12 and sl[0].stop - sl[0].start >= 4
        ]
    )
    return float(np.median(heights)) if heights.size else None


def _render(doc: Any, k: int, name: str, dpi: float | None) -> Page:
    """Page ``k`` (0-based) of an open PDF, rendered in grey (at ``dpi``, or chosen)."""
    import pypdfium2 as pdfium

    try:
        page = doc[k]
        try:
            image, scale = _draw(page, dpi or PDF_DPI)
            if dpi is None:
                h = writing_height(image)
                if h is not None and h < SMALL_WRITING_PX * scale * 72.0 / PDF_DPI:
                    image, scale = _draw(page, PDF_DPI_SMALL)
        finally:
            page.close()
    except pdfium.PdfiumError as exc:
        raise InputError(
            f"{name}: page {k + 1}: expected a page pdfium can draw, found a damaged one "
            f"({exc}); re-export the PDF"
        ) from exc
    return Page(image, k + 1, name, dpi=round(scale * 72.0, 1))


def _draw(page: Any, dpi: float) -> tuple[Image.Image, float]:
    """The page in grey at ``dpi``, or fewer when that passes :data:`PDF_PIXELS`; its scale."""
    w, h = page.get_size()  # points (1/72 inch)
    scale = dpi / 72.0
    if w * h * scale * scale > PDF_PIXELS:
        scale = (PDF_PIXELS / max(w * h, 1.0)) ** 0.5
    return page.render(scale=scale, grayscale=True).to_pil().convert("L"), scale


def _image_pages(data: bytes, name: str, *, max_pages: int, max_pixels: int) -> Iterator[Page]:
    try:
        img = open_header(data, name, max_pixels)  # the image reader's checks, bombs included
    except TooManyPixels:
        raise
    except InputError as exc:
        # Not an image either: say so naming both kinds (the cause is Pillow's exception).
        cause = type(exc.__cause__ or exc).__name__
        raise InputError(
            f"{name}: expected an image (PNG, JPEG, TIFF, BMP, WebP) or a PDF, found something "
            f"neither Pillow nor pdfium can read ({cause})"
        ) from exc
    with img:
        frames = getattr(img, "n_frames", 1) if img.format == "TIFF" else 1
        if frames > max_pages:
            raise _too_many(name, frames, max_pages)
        if frames == 1:
            _check_pixels(img, name, None, max_pixels)
            yield Page(data, 1, name)  # decoded by load_image (EXIF, bombs, ...)
            return
        for k, frame in enumerate(ImageSequence.Iterator(img), start=1):
            _check_pixels(frame, name, k, max_pixels)
            try:
                page = frame.copy()
            except Exception as exc:
                raise InputError(
                    f"{name}: page {k}: expected a complete TIFF page, found a damaged one "
                    f"({exc}); re-export the file"
                ) from exc
            yield Page(page, k, name)


def _check_pixels(img: Any, name: str, page: int | None, max_pixels: int) -> None:
    """The pixel limit, with the message (and error type) of an image's."""
    w, h = img.size
    if w * h > max_pixels:
        where = name if page is None else f"{name}: page {page}"
        raise TooManyPixels(where, f"{w}x{h} = {w * h:,} pixels", max_pixels)  # as load_image


def iter_pages(
    source: Any,
    *,
    max_pages: int = MAX_PAGES,
    max_pixels: int = MAX_PIXELS,
    max_bytes: int = MAX_FILE_BYTES,
    dpi: float | None = None,
    password: str | None = None,
    name: str | None = None,
) -> Iterator[Page]:
    """The pages of a document, numbered from 1.

    Parameters
    ----------
    source : str, Path, bytes, PIL.Image.Image or numpy.ndarray
        A file or its bytes (image, multi-page TIFF or PDF), or an image in
        memory (one page).
    max_pages, max_pixels, max_bytes : int
        Limits; beyond them an :class:`InputError` is raised before any page
        of the document is read (pixels: before that page is decoded).
    dpi : float, optional
        Resolution of rendered PDF pages; by default chosen for the writing
        (:data:`PDF_DPI`, or :data:`PDF_DPI_SMALL` for small writing).
    password : str, optional
        Password of an encrypted PDF.
    name : str, optional
        How messages and :attr:`Page.path` name the document (default: its
        path, or ``<N bytes>``); the service passes the upload's file name.

    Yields
    ------
    Page
        ``image`` is what :func:`digitrec.vision.io.load_image` accepts.

    Raises
    ------
    InputError
        Missing, empty, too large, unreadable, encrypted or damaged input.
    """
    name = _name(source) if name is None else name
    if isinstance(source, (Image.Image, np.ndarray)):
        yield Page(source, 1, name)
        return
    if not isinstance(source, (str, os.PathLike, bytes, bytearray, memoryview)):
        raise InputError(
            f"{name}: expected a path, bytes, a PIL image or a numpy array, found "
            f"{type(source).__name__}"
        )
    data = _read_bytes(source, name, max_bytes)
    if is_pdf(data):
        yield from _pdf_pages(data, name, max_pages=max_pages, dpi=dpi, password=password)
    else:
        yield from _image_pages(data, name, max_pages=max_pages, max_pixels=max_pixels)
