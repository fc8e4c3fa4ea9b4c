"""Scan- and photo-like images rendered from MNIST digits, for tests and benchmarks.

MNIST digits are white on black, centred, 28 x 28. Real inputs are dark ink on
paper, lit unevenly, blurred, noisy, compressed and a little rotated. This module
renders the former as the latter, reproducibly from a seed:

* ink black or blue (random shade) on off-white paper (random tint);
* uneven lighting: a linear gradient and a vignette, down to ~55% brightness;
* Gaussian blur (sigma 0-1.2 px), Gaussian noise (sigma 2-10 grey levels),
  JPEG compression (quality 35-90);
* rotation of each digit by up to +/-10 degrees;
* a single digit fills 40-80% of the image height;
* a string has 3-9 digits (5 in most strings), with gaps of 2-30% of the digit
  height (about one in four nearly touching: 0-4%), each digit rotated and
  jittered on its own, and the whole strip tilted by up to +/-3 degrees.

Use the MNIST *test* digits so that no model has seen them.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image
from scipy import ndimage

__all__ = [
    "Sample",
    "render_digit",
    "render_line",
    "render_plain_row",
    "render_string",
    "single_digits",
    "strings",
    "test_set",
]


@dataclass
class Sample:
    """A rendered image (RGB uint8) and the digits it shows."""

    image: np.ndarray
    text: str


def _glyph(digit: np.ndarray, height: int, angle: float) -> np.ndarray:
    """Ink coverage (float 0-1) of an MNIST digit, ``height`` px tall, rotated."""
    ys, xs = np.nonzero(digit > 20)
    crop = digit[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1].astype(np.float32) / 255.0
    crop = np.pad(crop, 2)
    scale = height / max(crop.shape[0] - 4, 1)
    size = (max(2, round(crop.shape[1] * scale)), max(2, round(crop.shape[0] * scale)))
    # Bicubic upscaling smooths MNIST's 28 px staircase into pen-like strokes.
    img = Image.fromarray(crop, "F").resize(size, Image.Resampling.BICUBIC)
    img = img.rotate(angle, resample=Image.Resampling.BILINEAR, expand=True)
    a = np.clip(np.asarray(img), 0.0, 1.0)
    # MNIST edges are soft; real pen strokes are nearly solid.
    a = np.clip((a - 0.15) / 0.6, 0.0, 1.0)
    ys, xs = np.nonzero(a > 0.05)
    return a[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]


def _paper(alpha: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Composite an ink coverage map onto lit paper, then degrade like a camera."""
    h, w = alpha.shape
    paper = rng.uniform(215, 250) + rng.uniform(-8, 8, size=3)
    if rng.random() < 0.5:
        ink = np.full(3, rng.uniform(10, 70))
    else:  # ballpoint blue
        ink = np.array([rng.uniform(10, 50), rng.uniform(20, 70), rng.uniform(110, 190)])
    img = paper[None, None, :] * (1 - alpha[..., None]) + ink[None, None, :] * alpha[..., None]
    # Uneven lighting: a gradient in a random direction and an off-centre vignette.
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    theta = rng.uniform(0, 2 * np.pi)
    grad = (np.cos(theta) * xx / max(w, 1) + np.sin(theta) * yy / max(h, 1)) * rng.uniform(0, 0.3)
    cy, cx = rng.uniform(0, h), rng.uniform(0, w)
    r2 = ((yy - cy) / max(h, 1)) ** 2 + ((xx - cx) / max(w, 1)) ** 2
    light = np.clip(1.0 - grad - rng.uniform(0, 0.25) * r2, 0.5, 1.0)
    img = img * light[..., None]
    sigma = rng.uniform(0, 1.2)
    if sigma > 0.2:
        img = ndimage.gaussian_filter(img, (sigma, sigma, 0))
    img = img + rng.normal(0, rng.uniform(2, 10), size=img.shape)
    img = Image.fromarray(np.clip(img, 0, 255).astype(np.uint8), "RGB")
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=int(rng.integers(35, 91)))
    return np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB"))


def render_digit(digit: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One MNIST digit as a photographed/scanned RGB uint8 image.

    Parameters
    ----------
    digit : numpy.ndarray
        uint8 (28, 28) MNIST image (white on black).
    rng : numpy.random.Generator

    Returns
    -------
    numpy.ndarray
        uint8 (h, w, 3); the digit fills 40-80% of the height.
    """
    height = int(rng.integers(48, 129))
    glyph = _glyph(digit, max(8, round(height * rng.uniform(0.4, 0.8))), rng.uniform(-10, 10))
    gh, gw = glyph.shape
    gh = min(gh, height)  # rotation can make it taller than planned
    width = max(gw + 8, round(height * rng.uniform(0.8, 1.3)))
    alpha = np.zeros((height, width), np.float32)
    y = int(rng.integers(0, height - gh + 1))
    x = int(rng.integers(0, width - gw + 1))
    alpha[y : y + gh, x : x + gw] = glyph[:gh]
    return _paper(alpha, rng)


def render_line(
    gen: Any, rng: np.random.Generator, sizes=(18, 48), log_uniform: bool = False, **kw: Any
) -> tuple[np.ndarray, str]:
    """A line of :class:`digitrec.lines.synth.LineGenerator` as an RGB photo, and its text.

    The line is laid out by ``gen.line(rng, **kw)``, scaled to a digit height
    drawn from ``sizes`` (uniformly, or log-uniformly), and put on paper by
    this module's photo renderer, not the training degradations. Returns the
    image and the text a line reader should give
    (:func:`digitrec.lines.decode.expected_text`).
    """
    from digitrec.lines.decode import expected_text
    from digitrec.lines.synth import geometry

    alpha, label, _ = gen.line(rng, **kw)
    lo, hi = sizes
    if log_uniform:
        digit_px = float(np.exp(rng.uniform(np.log(lo), np.log(hi))))
    else:
        digit_px = float(rng.uniform(lo, hi))
    a = np.clip(geometry(alpha, rng, digit_px), 0, 1)
    return _paper(np.pad(a, 6), rng), expected_text(label)


def render_plain_row(digits: list[np.ndarray], rng: np.random.Generator) -> np.ndarray:
    """MNIST digits side by side in dark ink on light, slightly noisy paper (grey uint8).

    A cheap, undistorted rendering for throughput work (batch tests and
    benchmarks), where the scan-like distortions of :func:`render_string` only
    cost time.
    """
    k = len(digits)
    paper = rng.uniform(200, 245)
    canvas = np.full((44, 16 + 32 * k), paper) + rng.normal(0, 3, size=(44, 16 + 32 * k))
    for j, g in enumerate(digits):
        y, x = 8 + int(rng.integers(-3, 4)), 8 + 32 * j + int(rng.integers(-2, 3))
        region = canvas[y : y + 28, x : x + 28]
        canvas[y : y + 28, x : x + 28] = np.minimum(region, paper - g.astype(float) * 0.8)
    return np.clip(canvas, 0, 255).astype(np.uint8)


def render_string(digits: list[np.ndarray], rng: np.random.Generator) -> np.ndarray:
    """Several MNIST digits written close together on one line, as an RGB photo.

    Parameters
    ----------
    digits : list of numpy.ndarray
        uint8 (28, 28) MNIST images, left to right.
    rng : numpy.random.Generator

    Returns
    -------
    numpy.ndarray
        uint8 (h, w, 3).
    """
    dh = int(rng.integers(28, 81))  # digit height in pixels
    glyphs = [
        _glyph(d, max(8, round(dh * rng.uniform(0.9, 1.1))), rng.uniform(-10, 10)) for d in digits
    ]
    margin = round(dh * rng.uniform(0.15, 0.6))
    height = round(dh / rng.uniform(0.4, 0.8))
    xs, x = [], margin
    for g in glyphs:
        xs.append(x)
        gap = rng.uniform(0.0, 0.04) if rng.random() < 0.25 else rng.uniform(0.02, 0.3)
        x += g.shape[1] + round(gap * dh)
    width = x + margin
    alpha = np.zeros((max(height, dh + 4) + 8, width), np.float32)
    base = (alpha.shape[0] - dh) // 2
    for g, x0 in zip(glyphs, xs, strict=True):
        y0 = int(np.clip(base + rng.integers(-dh // 10, dh // 10 + 1), 0, alpha.shape[0] - 1))
        gh = min(g.shape[0], alpha.shape[0] - y0)
        alpha[y0 : y0 + gh, x0 : x0 + g.shape[1]] = np.maximum(
            alpha[y0 : y0 + gh, x0 : x0 + g.shape[1]], g[:gh]
        )
    tilt = Image.fromarray(alpha, "F").rotate(
        rng.uniform(-3, 3), resample=Image.Resampling.BILINEAR, expand=True
    )
    return _paper(np.clip(np.asarray(tilt), 0, 1), rng)


def single_digits(images: np.ndarray, labels: np.ndarray, n: int, seed: int = 0) -> list[Sample]:
    """``n`` rendered single digits drawn (without replacement) from ``images``."""
    rng = np.random.default_rng(seed)
    idx = rng.choice(len(images), size=n, replace=False)
    return [Sample(render_digit(images[i], rng), str(int(labels[i]))) for i in idx]


def strings(
    images: np.ndarray,
    labels: np.ndarray,
    n: int,
    seed: int = 0,
    length: int | None = None,
) -> list[Sample]:
    """``n`` rendered digit strings: 3-9 digits (5 in most), or all ``length`` long."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        k = length or (5 if rng.random() < 0.6 else int(rng.integers(3, 10)))
        idx = rng.choice(len(images), size=k, replace=False)
        text = "".join(str(int(labels[i])) for i in idx)
        out.append(Sample(render_string([images[i] for i in idx], rng), text))
    return out


def test_set(
    n_singles: int = 1000, n_strings: int = 500, seed: int = 0, five_only: int = 0
) -> tuple[list[Sample], list[Sample]]:
    """The benchmark's images: single digits and strings from the MNIST test set.

    Parameters
    ----------
    n_singles, n_strings : int
        How many single digits, and how many strings of 3-9 digits (5 in most).
    seed : int
        Seed of the single digits; strings use ``seed + 1``.
    five_only : int
        Extra strings of exactly 5 digits (seed ``seed + 2``), after the others.

    Returns
    -------
    (singles, strings) : two lists of Sample
    """
    from digitrec.data import load_mnist

    data = load_mnist()
    singles = single_digits(data.test_images, data.test_labels, n_singles, seed=seed)
    mixed = strings(data.test_images, data.test_labels, n_strings, seed=seed + 1)
    if five_only:
        mixed += strings(data.test_images, data.test_labels, five_only, seed=seed + 2, length=5)
    return singles, mixed


test_set.__test__ = False  # a data-set builder, not a pytest test
