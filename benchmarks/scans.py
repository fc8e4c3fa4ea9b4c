"""Write the scan-like test set to a folder: images plus a labels.csv.

The rendering lives in :mod:`digitrec.testing.synth` (tests use it too); this
script only draws MNIST *test* digits with a fixed seed and saves the files::

    PYTHONPATH=src python benchmarks/scans.py --out /tmp/scans --singles 1000 --strings 500

``labels.csv`` has one row per image: ``file,kind,text`` (kind: single or string).
Files are PNG (already JPEG-degraded by the renderer, saved losslessly after).
"""

from __future__ import annotations

import argparse
import csv
import os
from pathlib import Path

from PIL import Image

from digitrec.testing.synth import test_set


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--singles", type=int, default=1000)
    parser.add_argument("--strings", type=int, default=500)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    singles, mixed = test_set(args.singles, args.strings, args.seed)
    rows = []
    for kind, samples in (("single", singles), ("string", mixed)):
        for i, s in enumerate(samples):
            name = f"{kind}-{i:05d}.png"
            tmp = args.out / (name + ".part")
            Image.fromarray(s.image).save(tmp, format="PNG")
            os.replace(tmp, args.out / name)  # no partial files
            rows.append((name, kind, s.text))
    tmp = args.out / "labels.csv.part"
    with tmp.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["file", "kind", "text"])
        w.writerows(rows)
    os.replace(tmp, args.out / "labels.csv")
    print(f"wrote {len(rows)} images and labels.csv to {args.out}")


if __name__ == "__main__":
    main()
