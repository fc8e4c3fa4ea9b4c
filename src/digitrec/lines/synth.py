"""Training lines generated on the fly from a seed: digits, separators, words, paper.

A line is composed at a fixed "bank" scale (digit height :data:`D` pixels)
from glyph banks built once per process:

* MNIST *training* digits (never t10k), cropped to their ink;
* the handwriting fonts' digits, separators ``- / . ,`` and letters, each with
  its position relative to the baseline (so ``.`` sits low and ``-`` mid-height);
* separators drawn as pen strokes, for lines of MNIST digits.

Layout: numbers (zip codes, dates, amounts, ZIP+4, phone numbers, plain digit
runs), ``word number`` fields and word-only lines; spacing from wide gaps to
touching and overlapping glyphs, baseline jitter, per-glyph rotation and
scale, slant, bold and thin strokes, ruled lines, comb boxes and frames under
the ink, specks. Then the whole line is tilted (up to +/-5.5 degrees), scaled
(digit height 14-64 px) and put on paper: lighting, pencil or pen, blur, noise,
low resolution, JPEG.

Labels use :data:`~digitrec.lines.spec.CLASSES`: one ``X`` per word that is not
part of a number; separators only inside numbers.
"""

from __future__ import annotations

import io
import string
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont
from scipy import ndimage

from digitrec.lines.spec import NOT_DIGIT

__all__ = [
    "WORDS",
    "D",
    "FontBank",
    "LineGenerator",
    "compose",
    "degrade",
    "distort_glyph",
    "geometry",
    "number_text",
    "other_pen",
]

#: Digit height at which lines are composed (pixels).
D = 40
#: Size at which font glyphs are rendered into the bank.
FONT_SIZE = 64
LETTERS = string.ascii_letters
FONT_CHARS = "0123456789-/.," + LETTERS

#: Words of forms, invoices, envelopes and street names: the negatives.
_WORD_TEXT = """
Total Zip Date Tel Phone Fax Amount Due Paid Sum Net Tax VAT Qty Item Price No Nr Ref
Invoice Order Account Acct Code Postcode ZIP Box Apt Suite Room Floor Page Name Street Road
Avenue Lane Drive Smith Main Oak Maple Park Elm High Church Mill Station Green Hill London
Boston Paris Berlin Mr Mrs Dr St Rd Ave Ln from to of and the cash card balance subtotal
change date signed received via total amount Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec
Mon Tue Wed Thu Fri Sat Sun Bill Client Customer ID Ship Cost Sold Bought Hello Note Notes
Dear Thanks OK Yes Lot Unit Model Serial Ext Mobile Home Work Office Dept Gate Seat Row
Flight Bus Route Lot Block Plot Grade Score Class Time
"""
WORDS = tuple(_WORD_TEXT.split())


@dataclass
class Glyph:
    """Ink coverage (float32, 0-1) and where its top sits, in digit heights above the baseline."""

    alpha: np.ndarray
    top: float


def _render_char(font: ImageFont.FreeTypeFont, ch: str) -> tuple[np.ndarray, int] | None:
    img = Image.new("L", (FONT_SIZE * 3, FONT_SIZE * 3))
    ImageDraw.Draw(img).text((FONT_SIZE, 2 * FONT_SIZE), ch, font=font, fill=255, anchor="ls")
    box = img.getbbox()
    if box is None:
        return None
    a = np.asarray(img.crop(box), np.float32) / 255.0
    return a, 2 * FONT_SIZE - box[1]  # rise of the glyph's top above the baseline


class FontBank:
    """Glyphs of handwriting fonts at digit height :data:`D`, built once.

    Parameters
    ----------
    fonts : dict of str to Path
        Family -> font file (training fonts, or held-out ones for evaluation).
    """

    def __init__(self, fonts: dict[str, Path]) -> None:
        self.names = list(fonts)
        self.glyphs: list[dict[str, Glyph]] = []
        for path in fonts.values():
            font = ImageFont.truetype(str(path), FONT_SIZE)
            raw = {c: r for c in FONT_CHARS if (r := _render_char(font, c)) is not None}
            digit_h = float(np.median([raw[c][1] for c in "0123456789" if c in raw]))
            s = D / digit_h
            bank = {}
            for c, (a, rise) in raw.items():
                size = (max(1, round(a.shape[1] * s)), max(1, round(a.shape[0] * s)))
                img = Image.fromarray(a, "F").resize(size, Image.Resampling.BILINEAR)
                bank[c] = Glyph(np.clip(np.asarray(img), 0, 1), -rise * s / D)
            self.glyphs.append(bank)

    def __len__(self) -> int:
        return len(self.glyphs)


def mnist_glyph(digit: np.ndarray) -> Glyph:
    """An MNIST digit cropped to its ink, scaled to height :data:`D`, strokes sharpened."""
    ys, xs = np.nonzero(digit > 20)
    crop = digit[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1].astype(np.float32) / 255.0
    s = D / crop.shape[0]
    size = (max(2, round(crop.shape[1] * s)), D)
    a = np.asarray(Image.fromarray(crop, "F").resize(size, Image.Resampling.BICUBIC))
    return Glyph(np.clip((a - 0.15) / 0.6, 0.0, 1.0), -1.0)


def distort_glyph(g: Glyph, rng: np.random.Generator, strength: float = 1.0) -> Glyph:
    """A new hand's version of a font glyph: a random affine map and an elastic warp.

    A font draws every ``4`` alike, so 18 training fonts are 18 hands. Turning,
    shearing and stretching each glyph a little, then warping it by a smooth
    random displacement field (Simard, Steinkraus & Platt, ICDAR 2003), makes
    every glyph a slightly different hand. The glyph keeps its place against
    the baseline.

    Parameters
    ----------
    g : Glyph
    rng : numpy.random.Generator
    strength : float
        Multiplies every magnitude (0: the glyph unchanged).
    """
    a = g.alpha
    m = max(4, round(0.25 * D))  # room for the glyph to move into
    h, w = a.shape[0] + 2 * m, a.shape[1] + 2 * m
    cy, cx = (h - 1) / 2, (w - 1) / 2
    rot = rng.uniform(-0.12, 0.12) * strength
    shear = rng.uniform(-0.2, 0.2) * strength
    sx = np.exp(rng.uniform(-0.18, 0.18) * strength)  # width, more than height:
    sy = np.exp(rng.uniform(-0.08, 0.08) * strength)  # hands differ more in it
    c, s = np.cos(rot), np.sin(rot)
    # (y, x) about the centre: turn, then slant (x += shear * y), then stretch;
    # map_coordinates wants where each output pixel comes from: the inverse
    fwd = np.diag([sy, sx]) @ np.array([[1.0, 0.0], [shear, 1.0]]) @ np.array([[c, -s], [s, c]])
    inv = np.linalg.inv(fwd)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    ys = inv[0, 0] * (yy - cy) + inv[0, 1] * (xx - cx) + cy
    xs = inv[1, 0] * (yy - cy) + inv[1, 1] * (xx - cx) + cx
    amp = rng.uniform(0.5, 2.0) * strength * D / 40  # pixels of warp at bank scale
    if amp > 0:
        # a smooth field: random offsets on a coarse 4 x 4 grid, interpolated
        coarse = rng.uniform(-1.0, 1.0, size=(2, 4, 4)).astype(np.float32)
        for grid, k in ((ys, coarse[0]), (xs, coarse[1])):
            grid += amp * np.asarray(
                Image.fromarray(k, "F").resize((w, h), Image.Resampling.BILINEAR)
            )
    padded = np.pad(a, m)
    out = ndimage.map_coordinates(padded, [ys, xs], order=1, mode="constant", cval=0.0)
    rows, cols = np.nonzero(out.max(axis=1) > 0.05)[0], np.nonzero(out.max(axis=0) > 0.05)[0]
    if not rows.size:
        return g
    out = out[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    # the top moved by (rows[0] - m) pixels down: it rises that much less
    return Glyph(np.clip(out, 0.0, 1.0).astype(np.float32), g.top + (rows[0] - m) / D)


def other_pen(alpha: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The whole line as if written with a broader or a finer pen.

    A font has one stroke width; hands write with felt tips and fine
    ballpoints. Grey dilation broadens every stroke by 2-4 pixels at bank
    scale, grey erosion thins it by 1-2 (never below a third of the ink, so
    thin strokes are not erased).
    """
    k = int(rng.choice([3, 5, -2, -3], p=[0.35, 0.2, 0.3, 0.15]))
    if k > 0:
        return ndimage.grey_dilation(alpha, size=(k, k))
    thin = ndimage.grey_erosion(alpha, size=(-k, -k))
    return thin if thin.sum() >= alpha.sum() / 3 else alpha


def pen_separator(ch: str, rng: np.random.Generator) -> Glyph:
    """A separator drawn as a pen stroke (for lines of MNIST digits, which have none)."""
    t = max(2, round(D * rng.uniform(0.07, 0.14)))  # stroke width
    if ch == "-":
        w = round(D * rng.uniform(0.25, 0.55))
        img = Image.new("L", (w + t, t + 2))
        ImageDraw.Draw(img).line([(t // 2, 1 + t // 2), (w, 1 + t // 2)], 255, t)
        top = rng.uniform(0.4, 0.62)
    elif ch == "/":
        w, h = round(D * rng.uniform(0.3, 0.55)), round(D * rng.uniform(0.9, 1.15))
        img = Image.new("L", (w + t, h + t))
        ImageDraw.Draw(img).line([(t // 2, h), (w, t // 2)], 255, t)
        top = h / D
    else:  # "." or ","
        r = max(2, round(D * rng.uniform(0.05, 0.1)))
        tail = round(D * rng.uniform(0.15, 0.3)) if ch == "," else 0
        img = Image.new("L", (2 * r + 2, 2 * r + tail + 2))
        draw = ImageDraw.Draw(img)
        draw.ellipse([0, 0, 2 * r, 2 * r], fill=255)
        if tail:
            draw.line([(2 * r - 1, r), (r - 2, 2 * r + tail)], 255, max(2, r))
        top = 2 * r / D
    a = np.asarray(img, np.float32) / 255.0
    return Glyph(a, -top)


def number_text(rng: np.random.Generator, kind: str | None = None) -> str:
    """A random number as people write them: zip, ZIP+4, date, amount, phone, digit run."""
    kinds = ["zip", "zip4", "date", "amount", "phone", "run", "run", "fraction"]
    kind = kind or kinds[int(rng.integers(len(kinds)))]

    def d(n: int) -> str:
        return "".join(str(v) for v in rng.integers(0, 10, size=n))

    if kind == "zip":
        return d(5)
    if kind == "zip4":
        return f"{d(5)}-{d(4)}"
    if kind == "date":
        dd, mm = f"{rng.integers(1, 32):02d}", f"{rng.integers(1, 13):02d}"
        yy = d(2) if rng.random() < 0.4 else str(int(rng.integers(1900, 2100)))
        sep = "/-."[int(rng.integers(3))]
        if rng.random() < 0.2:
            return f"{yy}{sep}{mm}{sep}{dd}"
        return f"{dd}{sep}{mm}" if rng.random() < 0.15 else f"{dd}{sep}{mm}{sep}{yy}"
    if kind == "amount":
        whole = str(int(10 ** rng.uniform(0, 5)))
        if len(whole) > 3 and rng.random() < 0.5:
            whole = f"{whole[:-3]},{whole[-3:]}"
        return f"{whole}{'.,'[int(rng.random() < 0.2)]}{d(2)}"
    if kind == "phone":
        sep = "-.-/"[int(rng.integers(4))]
        return sep.join([d(3), d(3), d(4)]) if rng.random() < 0.6 else f"{d(3)}{sep}{d(4)}"
    if kind == "fraction":
        return f"{rng.integers(1, 100)}/{rng.integers(1, 100)}"
    return d(int(rng.integers(1, 10)))


def _word(rng: np.random.Generator) -> str:
    if rng.random() < 0.75:
        w = WORDS[int(rng.integers(len(WORDS)))]
        return w.upper() if rng.random() < 0.1 else w
    n = int(rng.integers(1, 7))
    w = "".join(LETTERS[int(i)] for i in rng.integers(0, 52, size=n))
    return w.capitalize() if rng.random() < 0.5 else w


def compose(
    parts: list[list[Glyph]], rng: np.random.Generator, spacing: str = "normal"
) -> tuple[np.ndarray, int]:
    """Lay out runs of glyphs (words or numbers) on one baseline at bank scale.

    Parameters
    ----------
    parts : list of list of Glyph
        The runs, left to right; runs are separated by a word space.
    spacing : str
        ``"normal"``, ``"tight"`` or ``"touching"`` (glyphs touch or overlap).

    Returns
    -------
    alpha : numpy.ndarray
        float32 ink coverage of the line.
    baseline : int
        Row of the baseline in ``alpha``.
    """
    gaps = {"normal": (0.06, 0.35), "tight": (0.0, 0.1), "touching": (-0.15, 0.02)}[spacing]
    placed, x = [], 0
    for pi, run in enumerate(parts):
        if pi:
            x += round(D * rng.uniform(0.45, 1.3))
        for gi, g in enumerate(run):
            a = g.alpha
            f = rng.uniform(0.9, 1.1)
            if abs(f - 1) > 0.02:
                size = (max(1, round(a.shape[1] * f)), max(1, round(a.shape[0] * f)))
                a = np.asarray(Image.fromarray(a, "F").resize(size, Image.Resampling.BILINEAR))
            r = rng.random()
            if r < 0.12:  # one bold glyph beside thin ones, or the reverse
                a = ndimage.grey_dilation(a, size=(3, 3))
            elif r < 0.2:
                a = np.clip(a * rng.uniform(0.35, 0.8), 0, 1)
            if gi:
                x += round(D * rng.uniform(*gaps))
            y = round(-g.top * f * D + rng.normal(0, 0.04 * D))
            placed.append((a, max(0, x), y))
            x = max(0, x) + a.shape[1]
    top = min(-y for _, _, y in placed)
    bottom = max(a.shape[0] - y for a, _, y in placed)
    pad = D // 2
    alpha = np.zeros((bottom - top + 2 * pad, x + 2 * pad), np.float32)
    for a, x0, y in placed:
        r0, c0 = pad + (-y - top), pad + x0
        region = alpha[r0 : r0 + a.shape[0], c0 : c0 + a.shape[1]]
        np.maximum(region, a[: region.shape[0], : region.shape[1]], out=region)
    return alpha, pad - top


def _rules(alpha: np.ndarray, baseline: int, rng: np.random.Generator) -> np.ndarray:
    """Printed or ruled lines, comb boxes and frames under the ink (never labelled)."""
    h, w = alpha.shape
    layer = np.zeros_like(alpha)
    strength = rng.uniform(0.25, 0.9)
    t = int(rng.integers(1, 4))
    r = rng.random()
    if r < 0.5:  # ruled paper or a form's baseline rule
        y = min(h - t, baseline + round(D * rng.uniform(0.0, 0.25)))
        layer[y : y + t] = strength
        if rng.random() < 0.3:  # the rule above
            y2 = max(0, y - round(D * rng.uniform(1.3, 1.8)))
            layer[y2 : y2 + t] = strength
    elif r < 0.8:  # a frame around the field
        y0 = max(0, baseline - round(D * rng.uniform(1.15, 1.5)))
        y1 = min(h - t, baseline + round(D * rng.uniform(0.1, 0.4)))
        x0, x1 = int(rng.integers(0, D // 3)), w - 1 - int(rng.integers(0, D // 3))
        layer[y0 : y0 + t, x0:x1] = strength
        layer[y1 : y1 + t, x0:x1] = strength
        layer[y0:y1, x0 : x0 + t] = strength
        layer[y0:y1, x1 - t : x1] = strength
    else:  # comb: a rule with short ticks
        y = min(h - t, baseline + round(D * rng.uniform(0.05, 0.25)))
        layer[y : y + t] = strength
        step = round(D * rng.uniform(0.8, 1.2))
        tick = round(D * rng.uniform(0.2, 0.45))
        for x in range(int(rng.integers(0, step)), w - t, step):
            layer[max(0, y - tick) : y, x : x + t] = strength
    return np.maximum(alpha, layer)


def _specks(alpha: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    h, w = alpha.shape
    for _ in range(int(rng.integers(1, 4))):
        r = int(rng.integers(1, 3))
        y = int(rng.choice([rng.integers(0, max(1, h // 5)), rng.integers(4 * h // 5, h)]))
        x = int(rng.integers(0, w))
        alpha[max(0, y - r) : y + r, max(0, x - r) : x + r] = rng.uniform(0.3, 1.0)
    return alpha


def geometry(alpha: np.ndarray, rng: np.random.Generator, digit_px: float) -> np.ndarray:
    """Slant, tilt and scale the composed line (bank scale -> digit height ``digit_px``)."""
    img = Image.fromarray(alpha, "F")
    k = rng.uniform(-0.3, 0.3)  # slant: x' = x + k * (y - centre)
    h, w = alpha.shape
    extra = int(abs(k) * h)
    img = img.transform(
        (w + extra, h),
        Image.Transform.AFFINE,
        (1, k, -extra if k > 0 else 0, 0, 1, 0),
        resample=Image.Resampling.BILINEAR,
    )
    img = img.rotate(rng.uniform(-5.5, 5.5), resample=Image.Resampling.BILINEAR, expand=True)
    f = digit_px / D
    size = (max(4, round(img.width * f)), max(4, round(img.height * f)))
    return np.asarray(img.resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0))


def degrade(alpha: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Ink coverage -> a grey scan or phone photo (float32 0-1, 0 = black).

    Pen or pencil on tinted paper, uneven light and shadow, margins, blur,
    noise, low resolution and JPEG, each with random strength.
    """
    m = [int(rng.integers(0, 12)) for _ in range(4)]
    alpha = np.pad(alpha, ((m[0], m[1]), (m[2], m[3])))
    h, w = alpha.shape
    paper = rng.uniform(0.7, 1.0)
    # pen (dark) or pencil / faint ballpoint (light), always clearly darker than the paper
    ink = rng.uniform(0.0, 0.3) if rng.random() < 0.8 else rng.uniform(0.3, paper - 0.3)
    img = paper - (paper - ink) * np.clip(alpha, 0, 1)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    theta = rng.uniform(0, 2 * np.pi)
    grad = np.cos(theta) * xx / w + np.sin(theta) * yy / h
    img = img * (1 - rng.uniform(0, 0.35) * (grad - grad.min()))
    if rng.random() < 0.15:  # a soft shadow edge across the line
        edge, soft = rng.uniform(0, w), rng.uniform(0.3, 1.0) * h
        img = img * (1 - rng.uniform(0.1, 0.4) / (1 + np.exp((xx - edge) / soft)))
    sigma = rng.uniform(0, 1.4)
    if sigma > 0.3:
        img = ndimage.gaussian_filter(img, sigma)
    if rng.random() < 0.2:  # low-resolution camera: down and up again
        f = rng.uniform(0.5, 0.8)
        small = Image.fromarray(img.astype(np.float32), "F").resize(
            (max(4, round(w * f)), max(4, round(h * f))), Image.Resampling.BILINEAR
        )
        img = np.asarray(small.resize((w, h), Image.Resampling.BILINEAR))
    img = img + rng.normal(0, rng.uniform(0.003, 0.05), size=img.shape)
    u8 = (np.clip(img, 0, 1) * 255 + 0.5).astype(np.uint8)
    if rng.random() < 0.5:
        buf = io.BytesIO()
        Image.fromarray(u8, "L").save(buf, format="JPEG", quality=int(rng.integers(30, 95)))
        u8 = np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("L"))
    return u8.astype(np.float32) / 255.0


class LineGenerator:
    """Random labelled lines from glyph banks; the same seed gives the same lines.

    Parameters
    ----------
    fonts : FontBank
        Handwriting fonts (training fonts for training and calibration).
    mnist_images : numpy.ndarray or None
        uint8 (n, 28, 28) MNIST *training* digits and their ``mnist_labels``;
        None for font-only lines.
    distort : float
        Share of font glyphs drawn as a new hand's version
        (:func:`distort_glyph`); 0 for lines as the fonts draw them.
    pen : float
        Share of lines written with a broader or finer pen (:func:`other_pen`).
    """

    KINDS = ("digits", "font_digits", "number", "field", "words", "alnum", "single")
    WEIGHTS = (0.2, 0.12, 0.25, 0.2, 0.1, 0.06, 0.07)

    def __init__(
        self,
        fonts: FontBank,
        mnist_images=None,
        mnist_labels=None,
        distort: float = 0.0,
        pen: float = 0.0,
    ) -> None:
        self.fonts = fonts
        self.images = mnist_images
        self.labels = mnist_labels
        self.distort = distort
        self.pen = pen

    def _font(self, g: Glyph, rng: np.random.Generator) -> Glyph:
        return distort_glyph(g, rng) if self.distort and rng.random() < self.distort else g

    def _digit(self, ch: str, bank: dict[str, Glyph], mnist: bool, rng) -> Glyph:
        if ch.isdigit() and mnist:
            while True:
                i = int(rng.integers(len(self.images)))
                if int(self.labels[i]) == int(ch):
                    return mnist_glyph(self.images[i])
        if not ch.isdigit():
            # separators keep the font's shape: a "/" turned upright would teach "1"
            return pen_separator(ch, rng) if mnist and rng.random() < 0.6 else bank[ch]
        return self._font(bank[ch], rng)

    def text(self, kind: str, rng: np.random.Generator) -> list[tuple[str, bool]]:
        """Runs of a line of ``kind``: (text, is_number) pairs."""
        if kind in ("digits", "font_digits"):
            return [(number_text(rng, "run"), True)]
        if kind == "single":
            return [(str(int(rng.integers(10))), True)]
        if kind == "number":
            return [(number_text(rng), True)]
        if kind == "words":
            return [(_word(rng), False) for _ in range(1 + int(rng.random() < 0.3))]
        if kind == "alnum":
            w, n = (_word(rng), False), (number_text(rng, "run")[:4], True)
            return [w, n] if rng.random() < 0.6 else [n, w]
        # short fields keep training lines narrow (cheap); the reader is not
        # limited to them (frames are local, the LSTM is bidirectional)
        runs = [(_word(rng), False), (number_text(rng), True)]
        if rng.random() < 0.15:
            runs.append((_word(rng), False))
        return runs

    def line(
        self,
        rng: np.random.Generator,
        kind: str | None = None,
        spacing: str | None = None,
        runs: list[tuple[str, bool]] | None = None,
    ) -> tuple[np.ndarray, str, str]:
        """One line: (ink coverage at bank scale, label, kind).

        ``kind`` and ``spacing`` are drawn unless given; ``runs`` (text,
        is_number) fixes the content (``kind`` then only picks the digit source).
        """
        kind = kind or str(rng.choice(self.KINDS, p=self.WEIGHTS))
        bank = self.fonts.glyphs[int(rng.integers(len(self.fonts)))]
        mnist = self.images is not None and (
            kind in ("digits", "single") or (kind != "font_digits" and rng.random() < 0.5)
        )
        spacing = spacing or str(rng.choice(["normal", "tight", "touching"], p=[0.6, 0.25, 0.15]))
        runs = runs or self.text(kind, rng)
        parts, label = [], ""
        for text, is_number in runs:
            if is_number:
                parts.append([self._digit(c, bank, mnist, rng) for c in text])
                label += text
            else:
                parts.append([self._font(bank[c], rng) for c in text if c in bank])
                label += NOT_DIGIT
        alpha, baseline = compose(parts, rng, spacing if kind != "words" else "tight")
        if self.pen and rng.random() < self.pen:
            alpha = other_pen(alpha, rng)
        if rng.random() < 0.3:
            alpha = _rules(alpha, baseline, rng)
        if rng.random() < 0.1:
            alpha = _specks(alpha, rng)
        return alpha, label, kind

    def sample(self, rng: np.random.Generator, **kw) -> tuple[np.ndarray, str, str]:
        """A rendered grey line (float32 0-1, 0 = black), its label and kind."""
        alpha, label, kind = self.line(rng, **kw)
        digit_px = float(np.exp(rng.uniform(np.log(14), np.log(64))))
        return degrade(geometry(alpha, rng, digit_px), rng), label, kind
