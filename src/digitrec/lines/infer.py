"""The line model on onnxruntime: loading (checked) and per-frame probabilities.

A line model is a folder with ``model.safetensors`` (weights and metadata:
architecture, alphabet, calibration, metrics), ``model.onnx`` (exported from
those weights; it records their sha256) and ``model.json`` (a readable card).
Loading checks that the weights are the tensors the metadata announces, that
the ONNX file belongs to them, and that the graph takes and gives what the
reader expects. Any mismatch is a :class:`~digitrec.errors.ModelError`.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from digitrec.errors import ModelError
from digitrec.lines.spec import ARCH, CLASSES, HEIGHT
from digitrec.models.cnn.spec import file_sha256
from digitrec.models.store import load_saved

__all__ = ["DEFAULT_LINES_DIR", "LineModel", "default_line_model"]

#: The line model shipped inside the package.
DEFAULT_LINES_DIR = Path(__file__).resolve().parent.parent / "models" / "weights" / "lines"


def _check_arrays(path: Path, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
    if meta.get("arch") != ARCH:
        raise ModelError(
            f"{path}: expected a line model of architecture {ARCH!r}, found "
            f"{meta.get('arch')!r}; train one with `digitrec train lines`"
        )
    if meta.get("classes") != CLASSES or meta.get("height") != HEIGHT:
        raise ModelError(
            f"{path}: expected classes {CLASSES!r} at height {HEIGHT}, found "
            f"{meta.get('classes')!r} at {meta.get('height')!r}; the model is from another "
            "digitrec version: retrain it"
        )
    shapes = meta.get("shapes")
    if not isinstance(shapes, dict) or set(shapes) != set(arrays):
        raise ModelError(f"{path}: the tensors do not match the ones its metadata lists")
    for name, shape in shapes.items():
        a = arrays[name]
        if list(a.shape) != list(shape) and not (shape == [] and a.shape == (1,)):
            raise ModelError(f"{path}: tensor {name!r} has shape {a.shape}, expected {shape}")
        if a.dtype.kind == "f" and not np.isfinite(a).all():
            raise ModelError(f"{path}: tensor {name!r} holds NaN or infinite values")


class LineModel:
    """A trained line reader running on onnxruntime (no torch).

    Attributes
    ----------
    meta : dict
        Metadata: ``calibration`` (isotonic map of the line score), ``metrics``,
        ``training``, plus ``path`` and ``sha256`` of the weights.
    """

    kind = "lines"

    def __init__(self, session, meta: dict[str, Any]) -> None:
        self._session = session
        self._input = session.get_inputs()[0].name
        self.meta = meta
        self.calibration = meta.get("calibration")

    @classmethod
    def load(cls, path: str | os.PathLike = "default", threads: int | None = 1) -> LineModel:
        """Load ``"default"`` (the shipped model) or a model folder, and check it.

        Parameters
        ----------
        path : path-like or "default"
            A folder written by ``digitrec train lines`` (or its ``.safetensors``).
        threads : int, optional
            onnxruntime intra-op threads (one line is small: 1 is fastest).

        Raises
        ------
        ModelError
            Missing, corrupt, truncated or foreign files; each message names the file.
        """
        import onnxruntime as ort

        saved = load_saved(DEFAULT_LINES_DIR if str(path) == "default" else path, kind=cls.kind)
        weights = Path(saved.path)
        _check_arrays(weights, saved.meta, saved.arrays)
        onnx_path = weights.with_name("model.onnx")
        if not onnx_path.is_file():
            raise ModelError(f"{onnx_path}: missing; a line model needs its ONNX graph")
        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
        try:
            session = ort.InferenceSession(
                str(onnx_path), options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # onnxruntime raises untyped errors for bad files
            raise ModelError(
                f"{onnx_path}: onnxruntime cannot load it ({str(exc).splitlines()[0][:200]}); "
                "the file is corrupt or truncated: retrain or restore it"
            ) from exc
        sha = file_sha256(weights)
        recorded = session.get_modelmeta().custom_metadata_map.get("weights_sha256")
        if recorded != sha:
            raise ModelError(
                f"{onnx_path}: exported from weights with sha256 {recorded}, but "
                f"{weights.name} has sha256 {sha}; the files do not belong together"
            )
        shape = session.get_inputs()[0].shape
        if len(shape) != 4 or shape[1] != 1 or shape[2] != HEIGHT:
            raise ModelError(f"{onnx_path}: expected input (n, 1, {HEIGHT}, W), found {shape}")
        return cls(session, {**saved.meta, "sha256": sha, "path": str(weights)})

    def logits(self, x: np.ndarray) -> np.ndarray:
        """Per-frame logits (W / 4, classes) of one prepared line (HEIGHT, W) in [0, 1]."""
        x = np.ascontiguousarray(x, np.float32)[None, None]
        return self._session.run(None, {self._input: x})[0][0]


@lru_cache(maxsize=1)
def default_line_model() -> LineModel:
    """The shipped line model, loaded once per process (one onnxruntime thread)."""
    return LineModel.load("default", threads=1)
