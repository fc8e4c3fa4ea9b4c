"""Generated pages of handwriting with their ground truth, for layout tests and benchmarks.

A page is drawn from a seed: 2-6 lines of mixed kinds on plain or ruled paper,
sometimes in comb boxes or on printed form rules, tilted by up to +/-5 degrees,
with noise, specks and sometimes a stain. Kinds (``TruthLine.kind``):

* ``mnist``: 3-8 MNIST *test* digits written as a string (evaluation only);
* ``separator``: a number with separators in a held-out handwriting font
  (a date, an amount, a phone number, ZIP+4);
* ``field``: a printed-style word and a number (``Total 12.50``): the
  number is expected;
* ``words``: words only: nothing is expected;
* ``comb``: digits written one per cell of a comb box;
* ``digits``: a digit string in a held-out font, in place of ``mnist`` when
  no MNIST images are given.

Handwritten words and numbers use only :data:`digitrec.testing.fonts.HELD_OUT_FONTS`.
Each truth line's box is the bounding box of its ink after the page's tilt.
Fields may sit side by side on one row, separated by a wide gap.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont
from scipy import ndimage

from digitrec.testing.fonts import held_out_fonts

__all__ = ["KINDS", "GeneratedPage", "TruthLine", "box_iou", "generate_page", "generate_pages"]

KINDS = ("mnist", "separator", "field", "words", "comb")
_WORDS = ("Total", "Zip", "Date", "Phone", "Amount", "Ref", "Invoice", "Paid", "Room")
_PHRASES = ("Smith Street", "Paid in full", "Notes", "Signature", "Thank you", "Received by")


@dataclass
class TruthLine:
    """One written line: where it is, what kind, what it says and what should be read.

    Attributes
    ----------
    box : tuple of int
        ``(x, y, w, h)`` of its ink in the page's pixels.
    kind : str
        One of :data:`KINDS`.
    written : str
        Everything written on it.
    expected : str
        The number a reader should give ("" for a line without one).
    """

    box: tuple[int, int, int, int]
    kind: str
    written: str
    expected: str


@dataclass
class GeneratedPage:
    """A page image (RGB uint8) and its lines in reading order."""

    image: np.ndarray = field(repr=False)
    lines: list[TruthLine]
    ruled: bool
    skew: float
    seed: int

    @property
    def expected_text(self) -> str:
        """The page's expected reading: the number lines' texts, one per line."""
        return "\n".join(ln.expected for ln in self.lines if ln.expected)


@lru_cache(maxsize=64)
def box_iou(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> float:
    """Intersection over union of two ``(x, y, w, h)`` boxes (0 when both are empty).

    How a found line is matched with a :class:`TruthLine`'s box (IoU >= 0.5
    in the tests and ``benchmarks/pages.py``).
    """
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    ix = max(0, min(ax + aw, bx + bw) - max(ax, bx))
    iy = max(0, min(ay + ah, by + bh) - max(ay, by))
    return ix * iy / max(aw * ah + bw * bh - ix * iy, 1)


def _font(path: str, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, size)


def _text_alpha(text: str, font: Path, height: int) -> np.ndarray:
    """Ink coverage of ``text`` in ``font``, scaled so that its digits are ``height`` tall."""
    f = _font(str(font), max(8, round(height / 0.72)))
    x0, y0, x1, y1 = f.getbbox(text)
    img = Image.new("L", (x1 - x0 + 4, y1 - y0 + 4), 0)
    ImageDraw.Draw(img).text((2 - x0, 2 - y0), text, font=f, fill=255)
    a = np.asarray(img, np.float32) / 255.0
    ys, xs = np.nonzero(a > 0.1)
    return a[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]


def _mnist_alpha(digit: np.ndarray, height: int) -> np.ndarray:
    """An MNIST digit as a pen stroke ``height`` pixels tall."""
    ys, xs = np.nonzero(digit > 30)
    src = digit[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1].astype(np.float32) / 255.0
    f = height / src.shape[0]
    size = (max(2, round(src.shape[1] * f)), height)
    big = np.asarray(Image.fromarray(src, "F").resize(size, Image.Resampling.BICUBIC))
    return np.clip((big - 0.2) / 0.5, 0.0, 1.0)


def _fit(alpha: np.ndarray, height: int, width: int) -> np.ndarray:
    """A glyph shrunk (aspect kept) to fit ``height`` x ``width``, as a writer fits a box.

    Cutting it to the box instead would leave a mark no reader could name
    (a 3 without its top reads as a J).
    """
    f = min(1.0, height / alpha.shape[0], width / alpha.shape[1])
    if f >= 1.0:
        return alpha
    size = (max(1, int(alpha.shape[1] * f)), max(1, int(alpha.shape[0] * f)))
    return np.asarray(Image.fromarray(alpha, "F").resize(size, Image.Resampling.BILINEAR))


def _hstack(parts: list[np.ndarray], gaps: list[int]) -> np.ndarray:
    """Glyphs side by side, bottoms aligned, with the given gaps after each."""
    h = max(p.shape[0] for p in parts)
    w = sum(p.shape[1] for p in parts) + sum(gaps)
    out = np.zeros((h, w), np.float32)
    x = 0
    for p, g in zip(parts, gaps, strict=True):
        out[h - p.shape[0] :, x : x + p.shape[1]] = p
        x += p.shape[1] + g
    return out


def _number(rng: np.random.Generator) -> str:
    d = lambda k: "".join(str(v) for v in rng.integers(0, 10, k))  # noqa: E731
    forms = (
        lambda: f"{rng.integers(1, 29):02d}/{rng.integers(1, 13):02d}/{rng.integers(0, 100):02d}",
        lambda: f"{rng.integers(1, 999)}.{d(2)}",
        lambda: f"{rng.integers(1, 10)},{d(3)}.{d(2)}",
        lambda: f"{d(3)}-{d(4)}",
        lambda: f"{d(5)}-{d(4)}",
        lambda: d(int(rng.integers(3, 7))),
    )
    return forms[int(rng.integers(len(forms)))]()


@dataclass
class _Item:
    alpha: np.ndarray
    kind: str
    written: str
    expected: str
    rule: str | None = None  # "under" (form rule) or "comb"
    cells: int = 0


def _make_item(kind: str, rng, fonts: list[Path], mnist, th: int) -> _Item:
    font = fonts[int(rng.integers(len(fonts)))]
    if kind == "mnist" and mnist is None:  # no MNIST here: font digits instead
        text = "".join(str(v) for v in rng.integers(0, 10, int(rng.integers(3, 9))))
        return _Item(_text_alpha(text, font, th), "digits", text, text)
    if kind == "mnist":
        images, labels = mnist
        idx = rng.choice(len(images), size=int(rng.integers(3, 9)), replace=False)
        parts = [_mnist_alpha(images[i], round(th * rng.uniform(0.9, 1.1))) for i in idx]
        gaps = [round(th * rng.uniform(0.08, 0.35)) for _ in parts]
        text = "".join(str(int(labels[i])) for i in idx)
        return _Item(_hstack(parts, gaps), kind, text, text)
    if kind == "comb":
        text = "".join(str(v) for v in rng.integers(0, 10, int(rng.integers(5, 8))))
        cell = round(1.15 * th)
        parts = [_fit(_text_alpha(ch, font, th), th + 2, cell - 4) for ch in text]
        alpha = np.zeros((th + 2, cell * len(text)), np.float32)
        for k, p in enumerate(parts):
            ph, pw = p.shape
            x0 = k * cell + (cell - pw) // 2
            alpha[-ph:, x0 : x0 + pw] = p
        return _Item(alpha, kind, text, text, rule="comb", cells=len(text))
    if kind == "words":
        text = _PHRASES[int(rng.integers(len(_PHRASES)))]
        return _Item(_text_alpha(text, font, th), kind, text, "")
    number = _number(rng)
    if kind == "separator":
        return _Item(_text_alpha(number, font, th), kind, number, number)
    text = f"{_WORDS[int(rng.integers(len(_WORDS)))]} {number}"
    rule = "under" if rng.random() < 0.5 else None
    return _Item(_text_alpha(text, font, th), "field", text, number, rule=rule)


def _draw_rules(rules: np.ndarray, item: _Item, x: int, base: int, th: int) -> None:
    """Printed rules that go with an item: a form line under it, or comb boxes around it."""
    w = item.alpha.shape[1]
    if item.rule == "under":
        x1 = min(rules.shape[1] - 10, x + max(w + 20, 6 * th))
        rules[base + 3 : base + 5, max(0, x - 10) : x1] = 1.0
    elif item.rule == "comb":
        cell = w // item.cells
        top = base - round(1.3 * th)
        rules[top : top + 2, x : x + w + 2] = 1.0
        rules[base + 4 : base + 6, x : x + w + 2] = 1.0
        for k in range(item.cells + 1):
            rules[top : base + 6, x + k * cell : x + k * cell + 2] = 1.0


def _rows(rng, n_lines: int) -> list[list[str]]:
    """Kinds of the lines, grouped into rows (some rows hold two fields side by side)."""
    kinds = [KINDS[int(k)] for k in rng.choice(len(KINDS), n_lines, p=[0.3, 0.2, 0.2, 0.15, 0.15])]
    rows: list[list[str]] = []
    i = 0
    while i < len(kinds):
        pair = i + 1 < len(kinds) and rng.random() < 0.25 and "comb" not in kinds[i : i + 2]
        rows.append(kinds[i : i + 2] if pair else [kinds[i]])
        i += 2 if pair else 1
    return rows


def _paint(ink, ids, rules, rng, fonts, mnist, ruled) -> tuple[list[_Item], list[int]]:
    """Draw 2-6 lines onto the page layers; returns the items and their row of each."""
    H, W = ink.shape
    spacing = int(rng.integers(80, 110))
    left = int(rng.integers(70, 130))
    if ruled:
        for y in range(120, H - 40, spacing):
            rules[y : y + int(rng.integers(1, 3)), :] = 0.45
    rows = _rows(rng, int(rng.integers(2, 7)))
    items, row_of = [], []
    base = 120 + spacing * int(rng.integers(1, 3))
    for r, row in enumerate(rows):
        th = int(rng.integers(26, 46)) if ruled else int(rng.integers(24, 62))
        x = left + int(rng.integers(0, 60))
        for kind in row:
            it = _make_item(kind, rng, fonts, mnist, th)
            h, w = it.alpha.shape
            if x + w > W - 60 or base >= H - 60:
                break
            y = base - h
            ink[y:base, x : x + w] = np.maximum(ink[y:base, x : x + w], it.alpha)
            ids[y:base, x : x + w][it.alpha > 0.3] = len(items) + 1
            _draw_rules(rules, it, x, base, th)
            items.append(it)
            row_of.append(r)
            x += w + int(th * rng.uniform(4.5, 8))
        step = spacing * (1 + int(rng.random() < 0.4)) if ruled else int(rng.uniform(1.9, 3.2) * 62)
        base += step
    return items, row_of


def _finish_image(ink, rules, rng, ruled: bool) -> np.ndarray:
    """Paper, ink and rule colours, a stain and specks, blur, noise and JPEG."""
    H, W = ink.shape
    paper = rng.uniform(220, 250) + rng.uniform(-6, 6, 3)
    pen = np.array([20, 30, 40]) if rng.random() < 0.5 else np.array([30, 40, 140])
    rule_rgb = np.array([140, 170, 215]) if ruled else np.array([90, 90, 90])
    img = np.broadcast_to(paper, (H, W, 3)).astype(np.float32)
    if rng.random() < 0.3:  # a coffee stain: a large, faint, soft blob
        yy, xx = np.ogrid[:H, :W]
        cy, cx, r = rng.uniform(0, H), rng.uniform(0, W), rng.uniform(60, 150)
        blob = np.exp(-(((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * r * r))) * rng.uniform(0.1, 0.25)
        img = img * (1 - blob[..., None]) + np.array([150, 110, 60]) * blob[..., None]
    img = img * (1 - rules[..., None]) + rule_rgb * rules[..., None]
    img = img * (1 - ink[..., None]) + pen * ink[..., None]
    n = int(rng.integers(0, 60))
    ys, xs = rng.integers(0, H, n), rng.integers(0, W, n)
    img[ys, xs] = rng.uniform(40, 120)  # specks of dust
    sigma = rng.uniform(0, 0.9)
    if sigma > 0.3:
        img = ndimage.gaussian_filter(img, (sigma, sigma, 0))
    img = img + rng.normal(0, rng.uniform(1, 6), img.shape)
    buf = io.BytesIO()
    Image.fromarray(np.clip(img, 0, 255).astype(np.uint8), "RGB").save(
        buf, format="JPEG", quality=int(rng.integers(60, 95))
    )
    return np.asarray(Image.open(buf).convert("RGB"))


def _truth(items: list[_Item], row_of: list[int], ids: np.ndarray) -> list[TruthLine]:
    boxes = ndimage.find_objects(ids, max_label=len(items))
    lines = []
    for it, b in zip(items, boxes, strict=True):
        if b is None:
            continue
        box = (b[1].start, b[0].start, b[1].stop - b[1].start, b[0].stop - b[0].start)
        lines.append(TruthLine(box, it.kind, it.written, it.expected))
    order = sorted(range(len(lines)), key=lambda k: (row_of[k], lines[k].box[0]))
    return [lines[k] for k in order]


def generate_page(
    seed: int,
    *,
    mnist: tuple[np.ndarray, np.ndarray] | None = None,
    fonts: list[Path] | None = None,
    ruled: bool | None = None,
    tilt: float | None = None,
    size: tuple[int, int] = (1000, 1300),
) -> GeneratedPage:
    """One page of 2-6 lines from a seed.

    Parameters
    ----------
    seed : int
    mnist : (images, labels), optional
        MNIST *test* images (uint8 (n, 28, 28)) and labels for the ``mnist``
        kind; without them those lines are written in a held-out font.
    fonts : list of Path, optional
        Handwriting fonts; default :func:`digitrec.testing.fonts.held_out_fonts`.
    ruled : bool, optional
        Ruled paper (default: drawn at random, half the pages).
    tilt : float, optional
        Page rotation in degrees (default: drawn in +/-5).
    size : (int, int)
        Page width and height in pixels.

    Returns
    -------
    GeneratedPage
    """
    rng = np.random.default_rng(seed)
    fonts = fonts if fonts is not None else held_out_fonts()
    if not fonts:
        raise FileNotFoundError("no held-out handwriting fonts found (set DIGITREC_FONTS_DIR)")
    ruled = bool(rng.random() < 0.5) if ruled is None else ruled
    tilt = float(rng.uniform(-5, 5)) if tilt is None else float(tilt)
    W, H = size
    ink = np.zeros((H, W), np.float32)
    rules = np.zeros((H, W), np.float32)
    ids = np.zeros((H, W), np.int32)
    if ruled and rng.random() < 0.5:
        m = int(rng.integers(45, 65))
        rules[:, m : m + 2] = 0.6  # the margin line of a notebook
    items, row_of = _paint(ink, ids, rules, rng, fonts, mnist, ruled)
    if abs(tilt) > 0.05:
        rot = lambda a, r: np.asarray(Image.fromarray(a).rotate(tilt, resample=r))  # noqa: E731
        ink, rules = rot(ink, Image.Resampling.BILINEAR), rot(rules, Image.Resampling.BILINEAR)
        ids = rot(ids, Image.Resampling.NEAREST)
    image = _finish_image(ink, rules, rng, ruled)
    return GeneratedPage(image, _truth(items, row_of, ids), ruled, tilt, seed)


def generate_pages(n: int, seed: int = 0, **kwargs) -> list[GeneratedPage]:
    """``n`` pages from seeds ``seed``, ``seed + 1``, ... (keywords as :func:`generate_page`)."""
    return [generate_page(seed + k, **kwargs) for k in range(n)]
