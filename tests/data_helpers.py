"""Tiny IDX data sets for tests, written into a folder and registered under ``tiny``."""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
from pathlib import Path

import numpy as np

from digitrec.data import DATASETS, PARTS, write_idx
from digitrec.data.registry import DataFile

TINY = "tiny"


def make_tiny_arrays(n_train: int = 60, n_test: int = 20, seed: int = 0) -> dict[str, np.ndarray]:
    """Random but learnable digits: each class is a bright bar at its own row."""
    rng = np.random.default_rng(seed)
    out = {}
    for split, n in (("train", n_train), ("test", n_test)):
        labels = (np.arange(n) % 10).astype(np.uint8)
        rng.shuffle(labels)
        images = rng.integers(0, 40, size=(n, 28, 28), dtype=np.uint8)
        for i, c in enumerate(labels):
            images[i, 2 + 2 * c : 4 + 2 * c, 4:24] = 250
        out[f"{split}_images"], out[f"{split}_labels"] = images, labels
    return out


def write_tiny_dataset(folder: Path, arrays: dict[str, np.ndarray], gz: bool = True):
    """Write the four files into ``folder`` and return a matching registry entry."""
    base = DATASETS["mnist"]
    files = {}
    for part in PARTS:
        spec = base.file(part)
        content = write_idx(None, arrays[part], compress=False)
        name = spec.name if gz else spec.stem
        (folder / name).write_bytes(gzip.compress(content, mtime=0) if gz else content)
        files[part] = DataFile(
            spec.name,
            hashlib.sha256(content).hexdigest(),
            hashlib.md5(gzip.compress(content, mtime=0)).hexdigest(),
            arrays[part].shape,
        )
    return dataclasses.replace(base, name=TINY, files=files, mirrors=())
