"""Unseen hands without the held-out fonts: line models trained with ``--leave-out``.

The five held-out fonts measure the shipped reader and are never used to
choose anything. To compare training recipes on hands a model has not seen,
train each with four *training* fonts left out (``digitrec train lines
--leave-out delius --leave-out itim --leave-out sriracha --leave-out
sue-ellen-francisco``; the four drawn with
``numpy.random.default_rng(12).choice(sorted(training fonts), 4)``) and read
lines in those four fonts, and MNIST strings from the last 10,000 *training*
digits, with each model (``combined`` reader)::

    DIGITREC_DATA_DIR=/path/to/mnist PYTHONPATH=src python benchmarks/left_out_fonts.py \
        --n 300 MODEL_DIR [MODEL_DIR ...]

Prints one JSON line per model: the share of lines read exactly per set
(zip codes, numbers with separators, ``word number`` fields, touching digits,
MNIST 5-digit strings and singles; for word-only lines, the share that
yields nothing) and the mean over the sets that hold numbers.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from digitrec.data import load_mnist
from digitrec.lines.decode import expected_text
from digitrec.lines.infer import LineModel
from digitrec.lines.read import read_line
from digitrec.lines.spec import training_fonts
from digitrec.lines.synth import FontBank, LineGenerator
from digitrec.testing import synth as scans
from lines import font_sets

#: Training fonts left out of the models compared here (see the docstring).
LEFT_OUT = ("delius", "itim", "sriracha", "sue-ellen-francisco")


def sets(n: int, seed: int) -> dict[str, list[tuple[np.ndarray, str]]]:
    """Lines in the left-out fonts, and MNIST *training* strings (the last 10,000 digits)."""
    gen = LineGenerator(FontBank({k: v for k, v in training_fonts().items() if k in LEFT_OUT}))
    data = load_mnist(progress=False)
    images, labels = data.train_images[-10000:], data.train_labels[-10000:]
    mixed = LineGenerator(gen.fonts, images, labels)
    return {
        **font_sets(gen, mixed, np.random.default_rng([seed, 4242]), n),
        "mnist_train_5digit": [
            (s.image, s.text) for s in scans.strings(images, labels, n, seed=seed + 500, length=5)
        ],
        "mnist_train_singles": [
            (s.image, s.text) for s in scans.single_digits(images, labels, n, seed + 501)
        ],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("models", nargs="+", help="line model folders")
    ap.add_argument("--n", type=int, default=300, help="lines per set")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    samples = sets(args.n, args.seed)
    for folder in args.models:
        model = LineModel.load(folder, threads=1)
        res = {}
        for name, lines in samples.items():
            ok = [
                read_line(img, model=model, reader="combined").text
                == ("" if name == "words" else expected_text(text))
                for img, text in lines
            ]
            res[name] = round(100 * float(np.mean(ok)), 1)
        mean = np.mean([v for k, v in res.items() if k != "words"])
        res["mean_numbers"] = round(float(mean), 2)
        print(json.dumps({"model": str(folder), "n": args.n, **res}))


if __name__ == "__main__":
    main()
