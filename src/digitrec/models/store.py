"""Save and load models as safetensors: arrays plus JSON metadata, no code.

A saved model is a folder holding ``model.safetensors``. Its arrays are plain
tensors and its header carries one JSON document under the key ``digitrec``:
the model kind, its parameters and preprocessing, the checksum of the data it
was trained on, and its test metrics. Loading a model never runs code from the
file (safetensors has no pickle path), so models from anywhere are safe to open.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from digitrec._files import atomic_write
from digitrec.errors import ModelError

__all__ = ["FORMAT_VERSION", "MODEL_FILE", "SavedModel", "load_saved", "save_model"]

MODEL_FILE = "model.safetensors"
FORMAT_VERSION = 1


@dataclass
class SavedModel:
    """What a model file holds: its arrays and its metadata."""

    kind: str
    arrays: dict[str, np.ndarray]
    meta: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None


def _model_file(path: str | os.PathLike) -> Path:
    path = Path(path)
    return path / MODEL_FILE if path.is_dir() or not path.suffix else path


def save_model(
    path: str | os.PathLike, kind: str, arrays: dict[str, np.ndarray], meta: dict[str, Any]
) -> Path:
    """Write a model atomically to ``path`` (a folder, or a ``.safetensors`` file).

    Parameters
    ----------
    path : path-like
        A folder (``model.safetensors`` is written inside) or a file path.
    kind : str
        The model kind (``"knn"``, ``"cnn"``, ...), checked on load.
    arrays : dict
        Name to numpy array.
    meta : dict
        JSON-serialisable metadata.

    Returns
    -------
    pathlib.Path
        The file written.
    """
    from safetensors.numpy import save

    target = _model_file(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    header = {
        "format": FORMAT_VERSION,
        "kind": kind,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        **meta,
    }
    from digitrec import __version__

    header.setdefault("digitrec_version", __version__)
    blob = save(
        {k: np.ascontiguousarray(v) for k, v in arrays.items()},
        metadata={"digitrec": json.dumps(header)},
    )
    atomic_write(target, blob)
    return target


def load_saved(path: str | os.PathLike, kind: str | None = None) -> SavedModel:
    """Read a model file written by :func:`save_model`.

    Parameters
    ----------
    path : path-like
        The model folder or its ``.safetensors`` file.
    kind : str, optional
        If given, the kind the model must be.

    Raises
    ------
    ModelError
        If the file is missing, not a safetensors file, has no digitrec metadata,
        or is of another kind.
    """
    from safetensors import SafetensorError
    from safetensors.numpy import load

    target = _model_file(path)
    if not target.is_file():
        raise ModelError(
            f"{target}: no model file there; expected a folder written by `digitrec train` "
            f"(holding {MODEL_FILE}) or a .safetensors file"
        )
    raw = target.read_bytes()
    try:
        arrays = load(raw)
        header_len = int.from_bytes(raw[:8], "little")
        header = json.loads(raw[8 : 8 + header_len])
    except (SafetensorError, ValueError, UnicodeDecodeError, OverflowError) as exc:
        raise ModelError(
            f"{target}: expected a safetensors model file, found unreadable data ({exc}); "
            "the file is corrupt or truncated: train or download it again"
        ) from exc
    try:
        meta = json.loads(header.get("__metadata__", {})["digitrec"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelError(
            f"{target}: a safetensors file without digitrec metadata; expected a model "
            "written by digitrec"
        ) from exc
    found = meta.get("kind")
    if kind is not None and found != kind:
        raise ModelError(f"{target}: expected a {kind!r} model, found a {found!r} model")
    if meta.get("format", 0) > FORMAT_VERSION:
        raise ModelError(
            f"{target}: model format {meta.get('format')} is newer than this digitrec "
            f"understands ({FORMAT_VERSION}); upgrade digitrec"
        )
    return SavedModel(kind=found, arrays=arrays, meta=meta, path=target)
