"""How to combine the CTC and segment readers, chosen on validation lines; prints one JSON line.

Validation data only: the last 10,000 MNIST *training* digits (never t10k) and
the training fonts (never the held-out or reserved ones), rendered as
``benchmarks/lines.py`` renders its sets (MNIST digits as scans by
:mod:`digitrec.testing.synth`, font lines by its photo renderer). Each line is
read once by ``ctc`` and once by ``segment``; each rule combines the two
readings. The rule with the best accuracy across the sets is the ``combined``
reader (see docs/lines.md)::

    DIGITREC_DATA_DIR=/path/to/mnist OMP_NUM_THREADS=1 PYTHONPATH=src \\
        python benchmarks/combine_rules.py
"""

from __future__ import annotations

import json

import numpy as np

from digitrec.data import load_mnist
from digitrec.lines.read import read_line
from digitrec.lines.spec import training_fonts
from digitrec.lines.synth import FontBank, LineGenerator
from digitrec.testing import synth as scans


def _plain(c) -> bool:
    return c.text.isdigit() and not c.skipped


def _per_digit(c, s) -> str:
    if not (_plain(c) and len(s.text) == len(c.text)):
        return c.text
    pairs = zip(c.chars, s.chars, strict=True)
    return "".join(a.char if a.confidence >= b.confidence else b.char for a, b in pairs)


def _whole(c, s) -> str:
    if not _plain(c) or s.text == c.text:
        return c.text
    return s.text if s.confidence > c.confidence else c.text


RULES = {
    "ctc": lambda c, s: c.text,
    "segment": lambda c, s: s.text,
    "segment_for_plain_runs": lambda c, s: s.text if _plain(c) else c.text,
    "segment_when_counts_agree": lambda c, s: (
        s.text if _plain(c) and len(s.text) == len(c.text) else c.text
    ),
    "more_confident_digit": _per_digit,
    "more_confident_reading": _whole,
}


def validation_sets() -> dict[str, list[tuple[np.ndarray, str]]]:
    """The five validation sets: MNIST-train singles and strings, training-font lines."""
    data = load_mnist(progress=False)
    im, lb = data.train_images[-10000:], data.train_labels[-10000:]
    gen = LineGenerator(FontBank(training_fonts()))

    def photo(seed: int, **kw) -> tuple[np.ndarray, str]:
        return scans.render_line(gen, np.random.default_rng(seed), **kw)

    def zips(i: int, step: int) -> list[tuple[str, bool]]:
        return [(f"{i * step % 100000:05d}", True)]

    return {
        "mnist_train_singles": [(s.image, s.text) for s in scans.single_digits(im, lb, 200, 91)],
        "mnist_train_5digit": [
            (s.image, s.text) for s in scans.strings(im, lb, 300, seed=92, length=5)
        ],
        "font_zip": [photo(10_000 + i, kind="font_digits", runs=zips(i, 7919)) for i in range(200)],
        "font_touching": [
            photo(20_000 + i, kind="font_digits", spacing="touching", runs=zips(i, 104729))
            for i in range(200)
        ],
        "font_numbers": [photo(30_000 + i, kind="number") for i in range(200)],
    }


def main() -> None:
    out: dict[str, dict[str, float]] = {}
    for name, samples in validation_sets().items():
        right = dict.fromkeys(RULES, 0)
        for image, truth in samples:
            c, s = read_line(image, reader="ctc"), read_line(image, reader="segment")
            for rule, combine in RULES.items():
                right[rule] += combine(c, s) == truth
        out[name] = {rule: round(v / len(samples), 4) for rule, v in right.items()}
    mean = {rule: round(float(np.mean([v[rule] for v in out.values()])), 4) for rule in RULES}
    print(json.dumps({"benchmark": "combine_rules", "sets": out, "mean": mean}))


if __name__ == "__main__":
    main()
