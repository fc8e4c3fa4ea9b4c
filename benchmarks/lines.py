"""Line readers compared on one benchmark; prints one JSON line (and saves it).

Readers: ``segment`` (today's segment-and-classify reader), ``ctc`` (the CRNN +
CTC line model), ``combined`` (CTC checked by the digit CNN), ``combined+digits``
(``combined`` told the line holds only digits, ``digits_only=True``: run on
the sets that hold no separator) and Tesseract (``--psm 7``, whitelist
``0-9 - / . ,``) when the ``tesseract`` CLI is installed.

Sets (all evaluation-only data):

* ``mnist_singles``, ``mnist_5digit``: MNIST *test* digits rendered as scans
  by :mod:`digitrec.testing.synth` (the renderer of ``benchmarks/scans.py``);
* ``heldout_zip``, ``heldout_separators`` (dates, amounts, ZIP+4, phone),
  ``heldout_fields`` (``word number``), ``heldout_words`` (words only): the
  five held-out fonts, never used in training or calibration;
* ``touching``: touching or overlapping digits, held-out fonts and MNIST test digits.

Held-out-font lines are laid out by :mod:`digitrec.lines.synth` but put on
paper by :mod:`digitrec.testing.synth` 's photo renderer (RGB, JPEG), not by the
training degradations. Per set and reader: exact-string accuracy, the share
of lines accepted at <= 1% and <= 0.5% error (most confident first), ECE of
the line confidence, and ms per line (one onnxruntime thread)::

    OMP_NUM_THREADS=1 PYTHONPATH=src nice -n 10 python benchmarks/lines.py --n 300
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from digitrec.lines import calibrate
from digitrec.lines.read import read_line
from digitrec.lines.spec import HELD_OUT_FONTS, all_fonts
from digitrec.lines.synth import FontBank, LineGenerator, _word, number_text
from digitrec.testing import synth as scans

WHITELIST = "0123456789-/.,"
#: Sets whose lines hold no separator: where a ``+digits`` reader is run.
DIGIT_SETS = ("mnist_singles", "mnist_5digit", "heldout_zip", "heldout_words", "touching")


def _photo(gen: LineGenerator, rng, **kw) -> tuple[np.ndarray, str]:
    return scans.render_line(gen, rng, sizes=(16, 56), log_uniform=True, **kw)


def heldout_sets(n: int, seed: int) -> dict[str, list[tuple[np.ndarray, str]]]:
    """The held-out-font sets (and touching digits with MNIST test digits)."""
    from digitrec.data import load_mnist

    fonts = {k: v for k, v in all_fonts().items() if k in HELD_OUT_FONTS}
    gen = LineGenerator(FontBank(fonts))
    test = load_mnist(progress=False)
    mixed = LineGenerator(gen.fonts, test.test_images, test.test_labels)  # evaluation only
    sets = font_sets(gen, mixed, np.random.default_rng([seed, 11]), n)
    return {("touching" if k == "touching" else f"heldout_{k}"): v for k, v in sets.items()}


def font_sets(
    gen: LineGenerator, mixed: LineGenerator, rng: np.random.Generator, n: int
) -> dict[str, list[tuple[np.ndarray, str]]]:
    """``n`` lines each of zip codes, separator numbers, ``word number`` fields,
    words and touching digits in ``gen``'s fonts (half the touching lines in
    ``mixed``'s MNIST digits); the sets of this benchmark and of
    ``benchmarks/left_out_fonts.py``."""
    seps = ("date", "amount", "zip4", "phone")

    def number(kind: str, spacing: str = "normal", g: LineGenerator = gen, how="font_digits"):
        return _photo(g, rng, kind=how, spacing=spacing, runs=[(number_text(rng, kind), True)])

    return {
        "zip": [number("zip") for _ in range(n)],
        "separators": [number(seps[i % 4]) for i in range(n)],
        "fields": [
            _photo(
                gen,
                rng,
                kind="font_digits",
                spacing="normal",
                runs=[(_word(rng), False), (number_text(rng), True)],
            )
            for _ in range(n)
        ],
        "words": [
            _photo(gen, rng, kind="words", runs=[(_word(rng), False) for _ in range(1 + i % 2)])
            for i in range(n)
        ],
        "touching": [
            number("zip", "touching", mixed, "digits") if i % 2 else number("zip", "touching")
            for i in range(n)
        ],
    }


def mnist_sets(
    n: int, seed: int, n_singles: int | None = None
) -> dict[str, list[tuple[np.ndarray, str]]]:
    """MNIST-test scans: single digits and 5-digit strings (as benchmarks/scans.py renders).

    ``n_singles`` (default ``n``): single digits are cheap and their goal is a
    fraction of a point, which 150 or 300 digits cannot resolve.
    """
    singles, fives = scans.test_set(n_singles=n_singles or n, n_strings=0, seed=seed, five_only=n)
    return {
        "mnist_singles": [(s.image, s.text) for s in singles],
        "mnist_5digit": [(s.image, s.text) for s in fives],
    }


def tesseract(image: np.ndarray) -> tuple[str, float]:
    """Tesseract's reading of one line (digits and separators only) and its confidence."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "line.png"
        Image.fromarray(image).save(path)
        res = subprocess.run(
            [
                "tesseract",
                str(path),
                "stdout",
                "--psm",
                "7",
                "-c",
                f"tessedit_char_whitelist={WHITELIST}",
                "tsv",
            ],
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, "OMP_THREAD_LIMIT": "1"},
        )
    words, confs = [], []
    for row in res.stdout.splitlines()[1:]:
        cols = row.split("\t")
        if len(cols) == 12 and cols[11].strip() and float(cols[10]) >= 0:
            words.append(cols[11].strip())
            confs.append(float(cols[10]) / 100)
    return " ".join(words), min(confs, default=0.0)


def evaluate(samples, reader: str) -> dict:
    """Accuracy, risk-coverage, ECE and ms per line of one reader on one set."""
    texts, confs, ms = [], [], []
    for image, _ in samples:
        t0 = time.perf_counter()
        if reader == "tesseract":
            text, conf = tesseract(image)
        else:
            name, _, only = reader.partition("+")
            r = read_line(image, reader=name, digits_only=only == "digits")
            text, conf = r.text, r.confidence
        ms.append((time.perf_counter() - t0) * 1000)
        texts.append(text)
        confs.append(conf)
    truth = [t for _, t in samples]
    correct = np.array([a == b for a, b in zip(texts, truth, strict=True)])
    out = {
        "n": len(samples),
        "accuracy": round(float(correct.mean()), 4),
        **calibrate.risk_coverage(np.array(confs), correct),
        "ece": round(calibrate.ece(np.array(confs), correct), 4),
        "ms_per_line": round(float(np.median(ms)), 2),
        "ms_mean": round(float(np.mean(ms)), 2),
    }
    if not any(truth):  # word-only lines: any digit is a failure
        out["lines_with_digits"] = int(sum(any(c.isdigit() for c in t) for t in texts))
    errors = [(b, a) for a, b in zip(texts, truth, strict=True) if a != b][:5]
    out["examples_of_errors"] = [{"truth": t, "read": r} for t, r in errors]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=300, help="Lines per set.")
    parser.add_argument(
        "--n-singles", type=int, default=1000, help="MNIST single digits (as benchmarks/read.py)."
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--readers", default="segment,ctc,combined,combined+digits,tesseract")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/lines.json"))
    args = parser.parse_args()
    sets = {**mnist_sets(args.n, args.seed, args.n_singles), **heldout_sets(args.n, args.seed)}
    readers = args.readers.split(",")
    notes = {}
    if "tesseract" in readers and shutil.which("tesseract") is None:
        readers.remove("tesseract")
        notes["tesseract"] = "skipped: the tesseract CLI is not installed"
    elif "tesseract" in readers:
        notes["tesseract"] = subprocess.run(
            ["tesseract", "--version"], capture_output=True, text=True
        ).stdout.splitlines()[0]
    for r in readers:  # warm-up: model loading is not part of the per-line time
        if r != "tesseract":
            read_line(sets["mnist_5digit"][0][0], reader=r.partition("+")[0])
    results = {
        name: {r: evaluate(s, r) for r in readers if "+" not in r or name in DIGIT_SETS}
        for name, s in sets.items()
    }
    from digitrec.lines.infer import default_line_model

    report = {
        "benchmark": "lines",
        "held_out_fonts": list(HELD_OUT_FONTS),
        "n_per_set": args.n,
        "n_mnist_singles": args.n_singles,
        "seed": args.seed,
        "readers": readers,
        "notes": notes,
        "model": {k: default_line_model().meta.get(k) for k in ("sha256", "metrics")},
        "threads": {"onnxruntime": 1, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS")},
        "machine": platform.machine(),
        "sets": results,
    }
    line = json.dumps(report)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_suffix(".part")
    tmp.write_text(line + "\n")
    os.replace(tmp, args.out)
    print(line)


if __name__ == "__main__":
    main()
