"""How fast the full MNIST loads, against the floor of simply gunzipping it.

Prints one JSON line: the median seconds of ``load_mnist`` (read, gunzip, sha256
check, parse) and of a bare ``gzip.decompress`` of the same four files, and
their ratio. Run: ``DIGITREC_DATA_DIR=... python benchmarks/idx_load.py``.
"""

from __future__ import annotations

import gzip
import json
import statistics
import time

from digitrec.data import load_mnist
from digitrec.data.fetch import fetch


def median_seconds(fn, repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    paths = list(fetch("mnist", progress=False).values())
    load = median_seconds(lambda: load_mnist(progress=False))
    gunzip = median_seconds(lambda: [gzip.decompress(p.read_bytes()) for p in paths])
    print(
        json.dumps(
            {
                "load_mnist_s": round(load, 4),
                "gunzip_only_s": round(gunzip, 4),
                "overhead_ratio": round(load / gunzip, 3),
            }
        )
    )


if __name__ == "__main__":
    main()
