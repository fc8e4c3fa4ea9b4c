"""Inference with the CNN on onnxruntime: no torch needed to read digits.

A CNN model is a pair of files side by side: ``X.safetensors`` (weights and
metadata: temperature, metrics, data checksums) and ``X.onnx`` (the graph
exported from those weights). Loading checks both: the weights must be exactly
the tensors of the recorded architecture, and the ONNX file must record the
sha256 of that very weights file.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from digitrec.errors import InputError, ModelError
from digitrec.models.cnn.calibrate import softmax_t
from digitrec.models.cnn.spec import check_arrays, file_sha256
from digitrec.models.store import SavedModel, load_saved

__all__ = ["DEFAULT_MODEL_DIR", "CnnModel"]

#: The pretrained model shipped inside the package (``load_model("default")``).
DEFAULT_MODEL_DIR = Path(__file__).resolve().parent.parent / "weights" / "default"


class CnnModel:
    """A trained CNN running on onnxruntime, with calibrated probabilities.

    Build it with :meth:`load` (a folder from ``digitrec train cnn`` or
    ``"default"``) or :func:`digitrec.models.load_model`.

    Attributes
    ----------
    meta : dict
        The model's metadata: ``name``, ``arch``, ``temperature``, ``metrics``
        (``accuracy`` on the MNIST test set, ECE...), ``dataset`` (checksums,
        fingerprint), ``training`` (seconds, seed, history), ``code`` (version),
        plus ``sha256`` of the weights file and ``path``.
    temperature : float
        Logits are divided by it before the softmax (fitted on held-out data).
    """

    kind = "cnn"

    #: Images per onnxruntime call. onnxruntime keeps buffers sized for the largest
    #: batch it has seen: 4,096 took the process to 2.2 GB, 1,000 to 0.74 GB, as fast.
    BATCH = 1000

    def __init__(self, session, meta: dict[str, Any], batch_size: int = BATCH) -> None:
        self._session = session
        self.meta = meta
        self.temperature = float(meta.get("temperature", 1.0))
        self.batch_size = batch_size
        self._input = session.get_inputs()[0].name

    # -- loading --------------------------------------------------------------------------

    @classmethod
    def from_saved(cls, saved: SavedModel, threads: int | None = None) -> CnnModel:
        """Open the ONNX graph that belongs to ``saved`` (checked) on onnxruntime.

        Parameters
        ----------
        saved : SavedModel
            Output of :func:`~digitrec.models.store.load_saved` for a ``cnn`` model.
        threads : int, optional
            onnxruntime intra-op threads (default: onnxruntime's choice).

        Raises
        ------
        ModelError
            Wrong architecture or tensor shapes, a missing, corrupt or mismatched
            ONNX file; every message names the file.
        """
        import onnxruntime as ort

        if saved.kind != cls.kind:
            raise ModelError(f"{saved.path}: expected a 'cnn' model, found a {saved.kind!r} model")
        check_arrays(saved.path, saved.meta, saved.arrays)
        weights = Path(saved.path)
        onnx_path = weights.with_suffix(".onnx")
        if not onnx_path.is_file():
            raise ModelError(
                f"{onnx_path}: missing; a CNN needs the ONNX graph beside its weights "
                f"{weights.name}: run `digitrec export {weights.parent}` (needs the train extra)"
            )
        sha = file_sha256(weights)
        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        try:
            session = ort.InferenceSession(
                str(onnx_path), options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # onnxruntime raises its own untyped errors for bad files
            raise ModelError(
                f"{onnx_path}: onnxruntime cannot load it ({str(exc).splitlines()[0][:200]}); "
                f"the file is corrupt or truncated: re-export it with `digitrec export "
                f"{weights.parent}`"
            ) from exc
        recorded = session.get_modelmeta().custom_metadata_map.get("weights_sha256")
        if recorded != sha:
            raise ModelError(
                f"{onnx_path}: exported from weights with sha256 {recorded}, but {weights.name} "
                f"has sha256 {sha}; the two files do not belong together: re-export with "
                f"`digitrec export {weights.parent}`"
            )
        shape = session.get_inputs()[0].shape
        if len(shape) != 4 or list(shape[1:]) != [1, 28, 28]:
            raise ModelError(f"{onnx_path}: expected input (n, 1, 28, 28), found {shape}")
        meta = {**saved.meta, "sha256": sha, "path": str(weights)}
        meta.setdefault("name", weights.parent.name)
        meta["accuracy"] = meta.get("metrics", {}).get("accuracy")
        return cls(session, meta)

    @classmethod
    def load(cls, path: str | os.PathLike = "default", threads: int | None = None) -> CnnModel:
        """Load ``"default"`` (the shipped model), a model folder or its ``.safetensors``."""
        default = str(path) == "default"
        model = cls.from_saved(
            load_saved(DEFAULT_MODEL_DIR if default else path, kind=cls.kind), threads=threads
        )
        if default:  # the file keeps the name of the folder it was trained into
            model.meta["trained_as"] = model.meta.get("name")
            model.meta["name"] = "default"
        return model

    # -- inference ------------------------------------------------------------------------

    @staticmethod
    def _check(images: np.ndarray) -> np.ndarray:
        images = np.asarray(images)
        if images.ndim == 2:
            images = images[None]
        if images.ndim != 3 or images.shape[1:] != (28, 28) or images.dtype != np.uint8:
            raise InputError(
                f"images: expected uint8 of shape (n, 28, 28) (or one (28, 28) image), found "
                f"{images.dtype} of shape {images.shape}; scale to 0-255 uint8, white on black"
            )
        return images

    def logits(self, images: np.ndarray) -> np.ndarray:
        """Raw network outputs (n, 10), before temperature scaling."""
        images = self._check(images)
        out = np.empty((len(images), 10), np.float32)
        for i in range(0, len(images), self.batch_size):
            chunk = images[i : i + self.batch_size, None].astype(np.float32) / 255.0
            out[i : i + len(chunk)] = self._session.run(None, {self._input: chunk})[0]
        return out

    def predict_proba(self, images: np.ndarray) -> np.ndarray:
        """Calibrated class probabilities (n, 10): softmax(logits / temperature)."""
        return softmax_t(self.logits(images), self.temperature)

    def predict(self, images: np.ndarray) -> np.ndarray:
        """Predicted digits (n,) as uint8."""
        return self.logits(images).argmax(axis=1).astype(np.uint8)
