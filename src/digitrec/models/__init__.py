"""Models: the study's classifiers, KNN, and saving/loading them safely."""

from __future__ import annotations

import os
from importlib import import_module

from digitrec.models.store import SavedModel, load_saved, save_model

__all__ = ["KINDS", "SavedModel", "load_model", "load_saved", "save_model"]

#: model kind -> "module:Class" with a ``from_saved`` class method.
KINDS = {
    "knn": "digitrec.models.knn:KnnModel",
    "cnn": "digitrec.models.cnn.onnx_infer:CnnModel",
}


def load_model(spec: str | os.PathLike):
    """Load a saved model of any kind from its folder or file.

    Parameters
    ----------
    spec : path-like
        A folder written by ``digitrec train`` or its ``model.safetensors``, or
        ``"default"``: the pretrained CNN shipped in the package (onnxruntime, no torch).

    Returns
    -------
    object
        A model with ``predict``, ``predict_proba`` and ``meta``.
    """
    if str(spec) == "default":
        from digitrec.models.cnn.onnx_infer import CnnModel

        return CnnModel.load("default")
    saved = load_saved(spec)
    target = KINDS.get(saved.kind)
    if target is None:
        from digitrec.errors import ModelError

        raise ModelError(
            f"{saved.path}: unknown model kind {saved.kind!r}; expected one of "
            f"{', '.join(KINDS)} (is it from a newer digitrec?)"
        )
    module, cls = target.split(":")
    return getattr(import_module(module), cls).from_saved(saved)
