"""Whole pages: layout and reading on generated pages, beside Tesseract, one JSON line.

Pages come from :func:`digitrec.testing.pages.generate_page` (seeded): 2-6
lines of MNIST-test digit strings, numbers with separators, ``word number``
fields, word-only lines and comb boxes, on ruled and plain paper, tilted by up
to +/-5 degrees, in the held-out handwriting fonts only::

    DIGITREC_DATA_DIR=/path/to/mnist PYTHONPATH=src python benchmarks/pages.py --pages 100

``--validation`` generates other pages for development and tuning instead:
the 18 training fonts, the last 10,000 MNIST *training* digits and seeds
from 9000 (the test pages' seeds start at 1000), so that no choice is made
on the test pages' hands or digits::

    DIGITREC_DATA_DIR=... python benchmarks/pages.py --validation --reader combined \
        --no-tesseract --out /tmp/pages-validation.json

Figures (for digitrec with the ``--reader`` given, by default the page layer's
``auto``, and for Tesseract ``--psm 4`` with a digits-and-separators whitelist
when installed):

* ``pages_right``: share of pages whose text equals the expected text exactly
  (the number lines, top to bottom; word-only lines give nothing);
  ``pages_right_digits_only`` compares with separators removed from both sides
  (today's reader does not read separators).
* ``number_lines_found``: share of lines holding a number that the layout
  finds (a found line's box has IoU >= 0.5 with the true box); for Tesseract,
  the share of expected numbers that appear as one of its output lines.
* ``spurious_lines``: layout lines matching no written line, over lines found;
  ``spurious_readings``: lines of output that match no number line (a word
  line read as digits, a rule read as ``1``), over lines of output.
* ``per_kind``: share of lines of each kind read exactly (a word line is
  right when nothing is output for it).
* ``layout_baseline_projection_profile``: the same two layout figures for
  a plain projection-profile split (bands of rows holding ink), to measure
  what skew correction, rule removal and field grouping add.
* ``ms_per_page``, ``ms_per_line_image`` (one line cropped from a page, read
  as an image by the same reader) and ``six_line_page_vs_one_line``: the time
  of a 6-line page over one line's.
* ``one_line_overhead``: what the page layer costs on a one-line image, as
  the time of ``read_page`` over ``digitrec.read`` (the segment-and-classify
  reader alone) on the same images in the same run: the line images above,
  and a 280 x 280 drawn digit (the drawing page's canvas) read from a PNG.

The result is also written to ``benchmarks/results/pages.json``.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import shutil
import subprocess
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

import digitrec
from digitrec.lines.spec import training_fonts
from digitrec.pages.layout import find_lines
from digitrec.pages.read import PAGE_PIXELS, _working, make_line_reader, read_page
from digitrec.testing.fonts import HELD_OUT_FONTS, held_out_fonts
from digitrec.testing.pages import box_iou, generate_page
from digitrec.vision.io import load_image
from digitrec.vision.normalize import ink_map

WHITELIST = "0123456789-/.,"
SEPARATORS = str.maketrans("", "", "-/.,")


def _match(truth_boxes, boxes) -> list[int | None]:
    """For each true box, the index of the box with IoU >= 0.5 (best), else None."""
    out = []
    for t in truth_boxes:
        scores = [box_iou(t, b) for b in boxes]
        k = int(np.argmax(scores)) if scores else -1
        out.append(k if k >= 0 and scores[k] >= 0.5 else None)
    return out


def layout_boxes(image: np.ndarray) -> list[tuple[int, int, int, int]]:
    """The layout's line boxes in page pixels, as read_page sees the page."""
    loaded = load_image(image)
    gray, scale = _working(loaded, PAGE_PIXELS)
    return [
        tuple(round(v * scale) for v in ln.box)  # type: ignore[misc]
        for ln in find_lines(gray).lines
    ]


def profile_boxes(image: np.ndarray) -> list[tuple[int, int, int, int]]:
    """A plain baseline layout: bands of rows holding ink (projection profile), no skew,
    no rule removal, no fields; to measure what the chosen layout adds."""
    loaded = load_image(image)
    gray, scale = _working(loaded, PAGE_PIXELS)
    mask = ink_map(gray).mask
    rows = np.flatnonzero(mask.sum(axis=1) > 0)
    if rows.size == 0:
        return []
    breaks = np.flatnonzero(np.diff(rows) > 1)
    boxes = []
    for a, b in zip(np.r_[rows[0], rows[breaks + 1]], np.r_[rows[breaks], rows[-1]], strict=True):
        cols = np.flatnonzero(mask[a : b + 1].any(axis=0))
        if b - a >= 4:
            x0, x1 = cols[0], cols[-1] + 1
            boxes.append(tuple(round(v * scale) for v in (x0, a, x1 - x0, b + 1 - a)))
    return boxes


def tesseract(image: np.ndarray, tmp: Path) -> tuple[list[str], float]:
    """Tesseract's output lines (non-empty) and its wall time in ms."""
    path = tmp / "page.png"
    Image.fromarray(image).save(path)
    cmd = ["tesseract", str(path), "stdout", "--psm", "4", "-c"]
    cmd.append(f"tessedit_char_whitelist={WHITELIST}")
    t = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    ms = 1000 * (time.perf_counter() - t)
    return [s.strip() for s in out.stdout.splitlines() if s.strip()], ms


#: The page layer's line reader (``--reader``; None: the page layer's default, ``auto``).
LINE_READER = None


def _digitrec_page(page, stats) -> None:
    t = time.perf_counter()
    result = read_page(page.image, line_reader=LINE_READER)
    ms = 1000 * (time.perf_counter() - t)
    stats["ms"].append(ms)
    if len(page.lines) == 6:
        stats["ms6"].append(ms)
    stats["right"].append(result.text == page.expected_text)
    stats["right_digits"].append(
        result.text.translate(SEPARATORS) == page.expected_text.translate(SEPARATORS)
    )
    for prefix, boxes in (("", layout_boxes(page.image)), ("profile_", profile_boxes(page.image))):
        found = _match([t.box for t in page.lines], boxes)
        matched = {k for k in found if k is not None}
        stats[prefix + "spurious"] += len(boxes) - len(matched)
        stats[prefix + "layout_lines"] += len(boxes)
        for t, k in zip(page.lines, found, strict=True):
            if t.expected:
                stats[prefix + "number_lines"] += 1
                stats[prefix + "number_found"] += k is not None
    out = _match([t.box for t in page.lines], [ln.box for ln in result.lines])
    used = set()
    for t, k in zip(page.lines, out, strict=True):
        got = result.lines[k].text if k is not None else ""
        if k is not None and t.expected:
            used.add(k)
        stats["kind"][t.kind].append(got == t.expected)
    stats["readings"] += len(result.lines)
    stats["spurious_readings"] += len(result.lines) - len(used)


def _tesseract_page(page, stats, tmp: Path) -> None:
    lines, ms = tesseract(page.image, tmp)
    stats["ms"].append(ms)
    stats["right"].append("\n".join(lines) == page.expected_text)
    stats["right_digits"].append(
        "\n".join(lines).translate(SEPARATORS) == page.expected_text.translate(SEPARATORS)
    )
    expected = [t.expected for t in page.lines if t.expected]
    stats["number_lines"] += len(expected)
    stats["number_found"] += sum(e in lines for e in expected)
    stats["readings"] += len(lines)
    stats["spurious_readings"] += sum(s not in expected for s in lines)
    for t in page.lines:
        stats["kind"][t.kind].append(t.expected in lines if t.expected else True)


def _line_images(page, rng) -> list[np.ndarray]:
    """One number line cut from the page with a margin: a one-line image."""
    out = []
    for t in page.lines:
        if t.expected and rng.random() < 0.5:
            x, y, w, h = t.box
            m = 20
            out.append(page.image[max(0, y - m) : y + h + m, max(0, x - m) : x + w + m])
    return out


def _drawing(path: Path) -> Path:
    """A 7 drawn on a 280 x 280 canvas, as the drawing page sends it, saved as PNG."""
    img = Image.new("L", (280, 280), 255)
    ImageDraw.Draw(img).line([(70, 60), (210, 60), (120, 230)], fill=0, width=18, joint="curve")
    img.save(path)
    return path


def _timed(fn, source) -> float:
    t = time.perf_counter()
    fn(source)
    return 1000 * (time.perf_counter() - t)


def _overhead(line_images: list[np.ndarray], drawing: Path, repeats: int = 30) -> dict:
    """read_page over digitrec.read on the same one-line images, interleaved."""
    out = {}
    for name, sources in (("line_images", line_images), ("drawing_280", [drawing] * repeats)):
        page, plain = [], []
        for im in sources:
            page.append(_timed(read_page, im))
            plain.append(_timed(digitrec.read, im))
        out[name] = {
            "images": len(sources),
            "ms_read_page": round(float(np.mean(page)), 2),
            "ms_digitrec_read": round(float(np.mean(plain)), 2),
            "read_page_vs_read": round(float(np.sum(page) / np.sum(plain)), 2),
        }
    return out


def _summary(stats, n: int) -> dict:
    d = {
        "pages_right": round(float(np.mean(stats["right"])), 4),
        "pages_right_digits_only": round(float(np.mean(stats["right_digits"])), 4),
        "number_lines_found": round(stats["number_found"] / max(stats["number_lines"], 1), 4),
        "spurious_readings": round(stats["spurious_readings"] / max(stats["readings"], 1), 4),
        "per_kind": {
            k: {"right": round(float(np.mean(v)), 4), "lines": len(v)}
            for k, v in sorted(stats["kind"].items())
        },
        "ms_per_page": round(float(np.mean(stats["ms"])), 1),
    }
    if "layout_lines" in stats:
        d["spurious_lines"] = round(stats["spurious"] / max(stats["layout_lines"], 1), 4)
        d["layout_baseline_projection_profile"] = {
            "number_lines_found": round(
                stats["profile_number_found"] / max(stats["profile_number_lines"], 1), 4
            ),
            "spurious_lines": round(
                stats["profile_spurious"] / max(stats["profile_layout_lines"], 1), 4
            ),
        }
    return d


#: First seeds of the test pages and of the validation pages (the two sets never share one).
TEST_SEED = 1000
VALIDATION_SEED = 9000


def _sources(validation: bool):
    """MNIST digits (or None without DIGITREC_DATA_DIR) and fonts for the pages.

    The test pages use MNIST's test digits and the held-out fonts; validation
    pages, for development and tuning, the last 10,000 training digits and the
    training fonts.
    """
    mnist = None
    if os.environ.get("DIGITREC_DATA_DIR"):
        from digitrec.data import load_mnist

        data = load_mnist(progress=False)
        if validation:
            mnist = (data.train_images[-10_000:], data.train_labels[-10_000:])
        else:
            mnist = (data.test_images, data.test_labels)
    if validation:
        return mnist, list(training_fonts().values())
    return mnist, held_out_fonts()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=100)
    parser.add_argument(
        "--seed", type=int, default=None, help="first page's seed (default 1000; validation 9000)"
    )
    parser.add_argument(
        "--validation",
        action="store_true",
        help="validation pages for development: the training fonts and the last 10,000 MNIST "
        "training digits (never the held-out fonts or the test digits), seeds from 9000",
    )
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/pages.json"))
    parser.add_argument("--no-tesseract", action="store_true")
    parser.add_argument(
        "--reader",
        choices=("auto", "segment", "ctc", "combined"),
        default="auto",
        help="line reader of the pages (digitrec.pages.read.make_line_reader): the page "
        "layer's default (auto), segment, or a digitrec.lines reader",
    )
    args = parser.parse_args()
    global LINE_READER
    LINE_READER = make_line_reader(args.reader)
    if args.seed is None:
        args.seed = VALIDATION_SEED if args.validation else TEST_SEED
    mnist, fonts = _sources(args.validation)
    pages = [generate_page(args.seed + k, mnist=mnist, fonts=fonts) for k in range(args.pages)]
    rng = np.random.default_rng(args.seed)
    read_page(pages[0].image, line_reader=LINE_READER)  # load the model before timing
    # a one-line image read as a user reads it, by the same reader as the pages
    one_line = functools.partial(read_page, line_reader=LINE_READER)
    ours: dict = defaultdict(int, {"kind": defaultdict(list)})
    for key in ("ms", "ms6", "right", "right_digits"):
        ours[key] = []
    line_ms: list[float] = []
    line_images: list[np.ndarray] = []
    for p in pages:
        _digitrec_page(p, ours)
        # One-line images timed right after their page: the ratio sees the same load.
        for im in _line_images(p, rng):
            line_ms.append(_timed(one_line, im))
            line_images.append(im)
    ms_line = float(np.mean(line_ms)) if line_ms else float("nan")
    result = {
        "benchmark": "pages",
        "pages": args.pages,
        "seed": args.seed,
        "lines": sum(len(p.lines) for p in pages),
        "number_lines": ours["number_lines"],
        "validation": args.validation,
        "mnist_test_digits": mnist is not None and not args.validation,
        "mnist_train_digits_last_10000": mnist is not None and args.validation,
        **(
            {"fonts_training": [f.name.split("-latin")[0] for f in fonts]}
            if args.validation
            else {"fonts_held_out": list(HELD_OUT_FONTS)}
        ),
        "digitrec": {
            "reader": {
                "auto": "auto (one-line images: segment-and-classify; other pages: "
                "digitrec.lines.read_line(reader='default'))",
                "segment": "segment-and-classify (digitrec.vision.read)",
            }.get(args.reader, f"digitrec.lines.read_line(reader={args.reader!r})"),
            **_summary(ours, args.pages),
            "ms_per_six_line_page": round(float(np.mean(ours["ms6"])), 1) if ours["ms6"] else None,
            "ms_per_line_image": round(ms_line, 1),
            "line_images": len(line_ms),
        },
    }
    r = result["digitrec"]
    if r["ms_per_six_line_page"]:
        r["six_line_page_vs_one_line"] = round(r["ms_per_six_line_page"] / ms_line, 2)
    with tempfile.TemporaryDirectory() as tmp:
        r["one_line_overhead"] = _overhead(line_images, _drawing(Path(tmp) / "drawing.png"))
    if args.no_tesseract:
        result["tesseract"] = "not run (--no-tesseract)"
    elif shutil.which("tesseract") is None:
        result["tesseract"] = "not run: the tesseract CLI is not installed (apt tesseract-ocr)"
    else:
        version = subprocess.run(["tesseract", "--version"], capture_output=True, text=True)
        theirs: dict = defaultdict(int, {"kind": defaultdict(list)})
        for key in ("ms", "right", "right_digits"):
            theirs[key] = []
        with tempfile.TemporaryDirectory() as tmp:
            for p in pages:
                _tesseract_page(p, theirs, Path(tmp))
        result["tesseract"] = {
            "version": (version.stdout or version.stderr).splitlines()[0],
            "options": f"--psm 4 -c tessedit_char_whitelist={WHITELIST}",
            **_summary(theirs, args.pages),
        }
    line = json.dumps(result)
    print(line)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp_out = args.out.with_suffix(".json.part")
    tmp_out.write_text(line + "\n")
    os.replace(tmp_out, args.out)


if __name__ == "__main__":
    main()
