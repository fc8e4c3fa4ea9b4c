"""The image quantiles of ``digitrec.vision.quantile`` against numpy's, in one run.

``ink_map`` takes percentiles and medians of a ~10,000-pixel sample of every
image it reads. numpy selects them with ``partition``, slow on image data
(few distinct levels, many ties); ``digitrec.vision.quantile`` sorts once and
applies numpy's own interpolation, with bit-identical results. This prints
one JSON line: microseconds per call for each, interleaved over repeats, the
ratio, and whether every result was identical::

    PYTHONPATH=src python benchmarks/quantile.py

The inputs are the statistics' real inputs: samples of ink maps of generated
strips (float32 levels of an 8-bit image, and their smoothed values).
"""

from __future__ import annotations

import json
import os
import platform
import time
from pathlib import Path

import numpy as np

from digitrec.vision.quantile import median, percentiles

OUT = Path("benchmarks/results/quantile.json")


def samples(n: int = 40, seed: int = 0) -> list[np.ndarray]:
    """8-bit-level float32 samples (paper, ink, a lighting gradient) and smoothed ones."""
    from scipy import ndimage

    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        h, w = 100, 100
        img = np.full((h, w), 0.9) - np.linspace(0, 0.2, w)[None, :]
        ys, xs = rng.integers(0, h, 400), rng.integers(0, w, 400)
        img[ys, xs] = rng.uniform(0.05, 0.3, 400)  # ink
        img = np.round(np.clip(img + rng.normal(0, 0.02, img.shape), 0, 1) * 255) / 255
        img = img.astype(np.float32)
        out += [img, ndimage.gaussian_filter(img, 0.8)]
    return out


def _time(fn, data, repeat: int) -> float:
    t0 = time.perf_counter()
    for _ in range(repeat):
        for x in data:
            fn(x)
    return (time.perf_counter() - t0) / (repeat * len(data)) * 1e6


def main() -> None:
    data = samples()
    cases = {
        "percentiles_1_50_99": (
            lambda x: np.percentile(x, [1, 50, 99]),
            lambda x: percentiles(x, [1, 50, 99]),
        ),
        "median": (np.median, median),
    }
    report: dict = {"benchmark": "quantile", "inputs": len(data), "pixels_each": data[0].size}
    for name, (theirs, ours) in cases.items():
        same = all(np.array_equal(theirs(x), ours(x)) for x in data)
        runs = {"numpy": [], "digitrec": []}
        for _ in range(5):  # interleaved, so drift hits both alike
            runs["numpy"].append(_time(theirs, data, 5))
            runs["digitrec"].append(_time(ours, data, 5))
        us = {k: round(float(np.median(v)), 1) for k, v in runs.items()}
        report[name] = {
            "us_per_call": us,
            "speedup": round(us["numpy"] / us["digitrec"], 2),
            "identical": same,
        }
    report["numpy"] = np.__version__
    report["machine"] = platform.machine()
    report["OMP_NUM_THREADS"] = os.environ.get("OMP_NUM_THREADS")
    line = json.dumps(report)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    tmp = OUT.with_suffix(".part")
    tmp.write_text(line + "\n")
    os.replace(tmp, OUT)
    print(line)


if __name__ == "__main__":
    main()
