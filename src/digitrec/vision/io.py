"""Load an image safely: any supported source in, a grey float array out.

Sources: a path (``str`` / ``Path``), ``bytes``, a ``PIL.Image.Image`` or a
numpy array. Files are decoded with Pillow (PNG, JPEG, TIFF, BMP, WebP, GIF and
whatever else Pillow reads). Every failure is an :class:`~digitrec.errors.InputError`
that names the input, what was expected, what was found and the fix.

Choices, documented here because callers depend on them:

* **Decompression bombs.** The pixel count is read from the header and checked
  against :data:`MAX_PIXELS` *before* any pixel is decoded, so a 30,000 x 30,000
  PNG is refused in milliseconds and without allocating its pixels.
* **Animated images** (GIF, APNG, WebP): the first frame is read; the others are
  ignored. A zip code is a still image; reading frame one is what image viewers
  show as the thumbnail and it keeps a phone's "live" GIF usable.
* **EXIF orientation** is applied, so a photo reads the way it is displayed.
* **Transparency** is flattened onto a background that contrasts with the ink:
  white under dark drawing, black under light drawing.
* **Large images** are reduced to at most :data:`WORK_PIXELS` pixels before any
  heavy processing (JPEG files are partly reduced while decoding via
  ``draft``), which bounds the time and memory of everything downstream. The
  grey full-size image is kept so that the region holding the ink can be
  re-read at a finer scale (digits on a large page).
"""

from __future__ import annotations

import io
import os
import re
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from PIL import Image, ImageOps

from digitrec.errors import InputError

if TYPE_CHECKING:
    from digitrec.vision.normalize import InkMap

__all__ = [
    "MAX_PIXELS",
    "WORK_PIXELS",
    "Loaded",
    "TooManyPixels",
    "describe",
    "load_image",
    "open_header",
    "reduce",
    "to_gray",
]

#: Largest image accepted (width x height), checked from the header before decoding.
#: The one limit of the CLI, the library and the service (``digitrec serve --max-pixels``).
MAX_PIXELS = 64_000_000
#: Images are reduced to at most this many pixels before segmentation.
WORK_PIXELS = 400_000
#: Largest file read from disk or accepted as bytes.
MAX_FILE_BYTES = 200 * 1024 * 1024


class TooManyPixels(InputError):
    """An image with more pixels than the limit (a decompression bomb or a huge scan).

    The message names the input, its pixel count, the limit and the fix; the
    service answers it with status 413, the CLI prints it as it is.
    """

    def __init__(self, name: str, found: str, limit: int) -> None:
        super().__init__(
            f"{name}: expected an image of at most {limit:,} pixels, found {found}; "
            "resize it first (a phone photo or a scan at 300 dpi is far smaller)"
        )
        self.limit = limit


class Loaded:
    """A loaded image: the grey working copy and how it maps back to the input.

    Attributes
    ----------
    gray : numpy.ndarray
        float32 (h, w), 0 = black, 1 = white, at working size.
    scale : float
        Input pixels per working pixel (>= 1); boxes are multiplied by it.
    size : tuple of int
        The input's (width, height) after EXIF orientation.
    full : PIL.Image.Image or None
        The grey image at decoded size (mode L) when ``gray`` is a reduction of
        it, so that a small region (digits on a large page) can be re-read at
        full resolution; None when ``gray`` is already full size.
    offset : tuple of int
        Input pixel of ``gray``'s top-left corner (non-zero for a region).

    The ink map of ``gray`` is computed once, by whoever needs it first
    (:meth:`ink`): the page layout and the reader of a one-line page share it.
    """

    __slots__ = ("_gray", "_ink", "full", "offset", "scale", "size")

    def __init__(
        self,
        gray: np.ndarray | None,
        scale: float,
        size: tuple[int, int],
        full: Image.Image | None = None,
        offset: tuple[float, float] = (0.0, 0.0),
    ) -> None:
        if gray is None and full is None:
            raise ValueError("Loaded: gray may be left out only when full is given")
        self._gray = gray
        self.scale = scale
        self.size = size
        self.full = full
        self.offset = offset
        self._ink: InkMap | None = None

    @property
    def gray(self) -> np.ndarray:
        """The grey working copy; when only ``full`` was given, :func:`reduce` of it, made
        on first use (a page laid out at its own, larger size may never need it)."""
        if self._gray is None:
            self._gray = to_float(reduce(self.full))  # type: ignore[arg-type]
        return self._gray

    def ink(self) -> InkMap:
        """The ink map of ``gray`` (:func:`~digitrec.vision.normalize.ink_map`), computed once.

        Returns
        -------
        InkMap
            Shared by every caller: treat its arrays as read-only.
        """
        if self._ink is None:
            # Imported here: loading an image needs neither scipy nor scikit-image.
            from digitrec.vision.normalize import ink_map

            self._ink = ink_map(self.gray)
        return self._ink


def describe(source: Any) -> str:
    """How messages name an input: its path, or a short description of it."""
    if isinstance(source, (str, os.PathLike)):
        return str(source)
    if isinstance(source, (bytes, bytearray, memoryview)):
        return f"<{len(source)} bytes>"
    if isinstance(source, Image.Image):
        return f"<PIL image {source.mode} {source.size[0]}x{source.size[1]}>"
    if isinstance(source, np.ndarray):
        return f"<array {source.dtype} {source.shape}>"
    return f"<{type(source).__name__}>"


def _bomb_error(name: str, exc: Exception, max_pixels: int) -> TooManyPixels:
    """Pillow's ``DecompressionBombError`` in digitrec's words, with digitrec's limit."""
    found = re.search(r"\((\d+) pixels\)", str(exc))
    count = f"{int(found.group(1)):,} pixels" if found else "far more"
    # A max_pixels set above Pillow's hard limit cannot be honoured: name the real one.
    limit = min(max_pixels, 2 * (Image.MAX_IMAGE_PIXELS or max_pixels))
    return TooManyPixels(name, count, limit)


def open_header(source: Any, name: str, max_pixels: int) -> Image.Image:
    """Open (header only) a path or bytes with Pillow, or pass a PIL image through.

    Raises
    ------
    InputError
        Missing, empty, too large or not an image; :class:`TooManyPixels` for a
        header beyond Pillow's own limit (a decompression bomb).
    """
    if isinstance(source, Image.Image):
        return source
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if not path.is_file():
            raise InputError(
                f"{name}: expected an image file, found "
                f"{'a folder' if path.is_dir() else 'nothing'} there; check the path"
            )
        nbytes = path.stat().st_size
        if nbytes == 0:
            raise InputError(f"{name}: expected an image file, found an empty (0-byte) file")
        if nbytes > MAX_FILE_BYTES:
            raise InputError(
                f"{name}: expected an image of at most {MAX_FILE_BYTES >> 20} MiB, found "
                f"{nbytes >> 20} MiB; reduce or crop it first"
            )
        data: Any = path
    else:
        if len(source) == 0:
            raise InputError(f"{name}: expected image bytes, found an empty byte string")
        if len(source) > MAX_FILE_BYTES:
            raise InputError(
                f"{name}: expected an image of at most {MAX_FILE_BYTES >> 20} MiB of bytes"
            )
        data = io.BytesIO(bytes(source))
    try:
        with warnings.catch_warnings():
            # Our own pixel limit (checked next) replaces Pillow's warning.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            return Image.open(data)
    except Image.DecompressionBombError as exc:
        raise _bomb_error(name, exc, max_pixels) from None
    except Exception as exc:
        # Pillow's parsers raise many types on hostile bytes (OSError, SyntaxError,
        # TypeError, KeyError, struct.error...): all mean "not a readable image".
        raise InputError(
            f"{name}: expected an image (PNG, JPEG, TIFF, BMP, WebP), found something Pillow "
            f"cannot identify ({exc.__class__.__name__}); is it really an image file?"
        ) from exc


def _flatten(img: Image.Image) -> Image.Image:
    """Grey (mode L/I/F) image with transparency composited onto a contrasting colour."""
    if img.mode == "P":
        img = img.convert("RGBA" if "transparency" in img.info else "RGB")
    if img.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = img.convert("RGBA")
        alpha = np.asarray(rgba.getchannel("A"), dtype=np.float32) / 255.0
        lum = np.asarray(rgba.convert("L"), dtype=np.float32) / 255.0
        if alpha.min() > 0.99:
            return Image.fromarray((lum * 255 + 0.5).astype(np.uint8), "L")
        # Drawing (opaque part) dark -> paper white; drawing light -> paper black.
        weight = alpha.sum()
        drawn = float((lum * alpha).sum() / weight) if weight > 0 else 0.0
        paper = 1.0 if drawn < 0.5 else 0.0
        out = lum * alpha + paper * (1.0 - alpha)
        return Image.fromarray((out * 255 + 0.5).astype(np.uint8), "L")
    if img.mode in ("L", "I", "I;16", "I;16B", "I;16L", "F"):
        return img
    if img.mode == "1":
        return img.convert("L")
    return img.convert("L")  # RGB, CMYK, YCbCr, LAB, HSV: ITU-R 601 luma


def to_gray(img: Image.Image) -> np.ndarray:
    """float32 grey array in [0, 1] (0 = black) from a decoded Pillow image."""
    img = _flatten(img)
    arr = np.asarray(img)
    if img.mode == "L":
        return arr.astype(np.float32) / 255.0
    arr = arr.astype(np.float32)
    if img.mode.startswith("I;16"):
        return arr / 65535.0
    return _rescale(arr)


def _rescale(arr: np.ndarray) -> np.ndarray:
    """Integer/float data of unknown range to [0, 1] (constant -> mid grey)."""
    arr = np.nan_to_num(arr.astype(np.float32), nan=0.0, posinf=0.0, neginf=0.0)
    lo, hi = float(arr.min()), float(arr.max())
    if hi <= lo:
        return np.full(arr.shape, 0.5, dtype=np.float32)
    if lo >= 0.0 and hi <= 1.0:
        return arr
    return (arr - lo) / (hi - lo)


def _check_pixels(name: str, w: int, h: int, max_pixels: int) -> None:
    if w * h > max_pixels:
        raise TooManyPixels(name, f"{w}x{h} = {w * h:,} pixels", max_pixels)


def _from_array(
    arr: np.ndarray, name: str, max_pixels: int
) -> tuple[np.ndarray | Image.Image, tuple[int, int]]:
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] not in (3, 4)):
        raise InputError(
            f"{name}: expected an array of shape (h, w), (h, w, 3) or (h, w, 4), found "
            f"shape {arr.shape}; pass one grey, RGB or RGBA image"
        )
    if arr.dtype == bool:
        arr = arr.astype(np.uint8) * 255
    if not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)):
        raise InputError(f"{name}: expected integer or float pixels, found dtype {arr.dtype}")
    h, w = arr.shape[:2]
    _check_pixels(name, w, h, max_pixels)
    if h == 0 or w == 0:
        return np.zeros((h, w), np.float32), (w, h)
    if arr.dtype == np.uint8:
        u8 = arr
    elif np.issubdtype(arr.dtype, np.floating):
        # Floats in [0, 1] are the convention; anything else is stretched.
        arr = np.nan_to_num(arr.astype(np.float32))
        if arr.min() >= 0.0 and arr.max() <= 1.0:
            u8 = (arr * 255.0 + 0.5).astype(np.uint8)
        else:
            u8 = (_rescale(arr) * 255.0 + 0.5).astype(np.uint8)
    else:
        top = 65535.0 if arr.dtype == np.uint16 else float(max(arr.max(), 1))
        u8 = (np.clip(arr.astype(np.float64) / top, 0, 1) * 255.0 + 0.5).astype(np.uint8)
    mode = {2: "L", 3: "RGB", 4: "RGBA"}[u8.ndim if u8.ndim == 2 else u8.shape[2]]
    return Image.fromarray(np.ascontiguousarray(u8), mode), (w, h)


def to_float(img: Image.Image) -> np.ndarray:
    """float32 grey in [0, 1] of a mode L image (``np.asarray(img, np.float32) / 255``)."""
    out = np.asarray(img).astype(np.float32)
    out /= 255.0  # in place: the same values, one pass fewer over a page
    return out


def _reduced_size(w: int, h: int, pixels: int) -> tuple[int, int]:
    """The size :func:`reduce` gives a ``w`` x ``h`` image."""
    if w * h <= pixels:
        return w, h
    f = (pixels / (w * h)) ** 0.5
    return max(1, round(w * f)), max(1, round(h * f))


def reduce(img: Image.Image, pixels: int = WORK_PIXELS) -> Image.Image:
    """Shrink a grey (mode L) image to at most ``pixels`` pixels by area averaging.

    Area averaging keeps thin strokes (as fainter, wider ones) where point
    sampling would drop them.
    """
    w, h = img.size
    if w * h <= pixels:
        return img
    return img.resize(_reduced_size(w, h, pixels), Image.Resampling.BOX, reducing_gap=2.0)


def _finish(img: Image.Image, size: tuple[int, int]) -> Loaded:
    """Grey working copy of a decoded image (plus the full grey image if reduced)."""
    flat = _flatten(img)
    if flat.mode != "L":
        flat = Image.fromarray((to_gray(flat) * 255.0 + 0.5).astype(np.uint8), "L")
    w, h = flat.size
    if w * h <= WORK_PIXELS:
        return Loaded(to_float(flat), size[0] / w, size)
    # Our own copy: the caller closes the file-backed image it came from.
    full = flat.copy() if flat is img else flat
    # The working copy is reduced on first use (Loaded.gray).
    return Loaded(None, size[0] / _reduced_size(w, h, WORK_PIXELS)[0], size, full=full)


def load_image(source: Any, *, name: str | None = None, max_pixels: int = MAX_PIXELS) -> Loaded:
    """Load any supported image source into a grey working copy.

    Parameters
    ----------
    source : str, Path, bytes, PIL.Image.Image or numpy.ndarray
        A file path, encoded file bytes, a Pillow image, or pixels:
        (h, w) grey, (h, w, 3) RGB or (h, w, 4) RGBA, uint8 (0-255), uint16
        (0-65535) or float (0-1).
    name : str, optional
        How error messages name the input (default: the path, or a
        description such as ``<1234 bytes>``); the service passes the upload's
        file name.
    max_pixels : int
        Largest image accepted (width x height), checked from the header
        before any pixel is decoded.

    Returns
    -------
    Loaded
        ``gray`` float32 in [0, 1] at working size, ``scale`` (input pixels per
        working pixel) and the input ``size``.

    Raises
    ------
    InputError
        Not an image, empty, truncated, or an unsupported array;
        :class:`TooManyPixels` (a subclass) beyond ``max_pixels``.
    """
    name = describe(source) if name is None else name
    if isinstance(source, np.ndarray):
        img, size = _from_array(source, name, max_pixels)
        if isinstance(img, np.ndarray):
            return Loaded(img, 1.0, size)
        return _finish(img, size)
    if not isinstance(source, (str, os.PathLike, bytes, bytearray, memoryview, Image.Image)):
        raise InputError(
            f"{name}: expected a path, bytes, a PIL image or a numpy array, found "
            f"{type(source).__name__}"
        )
    img = open_header(source, name, max_pixels)
    try:
        w, h = img.size
        _check_pixels(name, w, h, max_pixels)
        try:
            if getattr(img, "n_frames", 1) > 1:
                img.seek(0)  # animated: first frame only (see module docstring)
            # The input's size as displayed (EXIF 5-8 swap width and height).
            orientation = img.getexif().get(0x0112, 1)
            size = (h, w) if orientation in (5, 6, 7, 8) else (w, h)
            if img.format == "JPEG" and w * h > 4 * WORK_PIXELS:
                # Decode at 1/2, 1/4 or 1/8 scale directly: faster and less memory,
                # still enough detail to re-read a small region (see read.py).
                f = (4 * WORK_PIXELS / (w * h)) ** 0.5
                img.draft("L", (max(1, int(w * f)), max(1, int(h * f))))
            img.load()
            if orientation in (2, 3, 4, 5, 6, 7, 8):  # else it would only copy the image
                img = ImageOps.exif_transpose(img)
        except InputError:
            raise
        except Exception as exc:
            raise InputError(
                f"{name}: expected a complete {img.format or ''} image, found a damaged or "
                f"truncated file ({exc}); re-export or re-download it"
            ) from exc
        if w * h == 0:
            return Loaded(np.zeros((size[1], size[0]), np.float32), 1.0, size)
        return _finish(img, size)
    finally:
        if not isinstance(source, Image.Image):
            img.close()
